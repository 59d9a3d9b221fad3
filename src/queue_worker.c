/* --worker: the queue on Redis as a work source (queue_worker.h). */
#include "afetch/queue_worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/clock.h"
#include "afetch/commit.h"
#include "afetch/hosts.h"
#include "afetch/input_source.h"
#include "afetch/options.h"
#include "afetch/queue.h"
#include "afetch/queue_crawl.h"
#include "afetch/queue_entries.h"
#include "afetch/queue_fleet.h"
#include "afetch/queue_pace.h"
#include "afetch/queue_scripts.h"
#include "afetch/queue_worker_internal.h"
#include "afetch/redis_link.h"
#include "afetch/redis_url.h"
#include "afetch/request.h"
#include "afetch/source.h"
#include "afetch/work_source.h"

/* An empty queue is asked again after this long (doubling up to the cap while it stays so). */
#define QUEUE_POLL_FIRST_MS 50
#define QUEUE_POLL_MAX_MS 1000
/* After the run, acknowledgements are waited for at most this long (unless --redis-timeout
 * says otherwise); what is left is delivered again. */
#define QUEUE_FINISH_WAIT_MS 10000
/* "EVAL script N keys...": the worker's scripts all take QUEUE_KEY_COUNT keys. */
bool queue_args_eval(struct queue_args *args, const struct queue_worker *worker,
                     const char *script) {
  static const char key_count[] = {'0' + QUEUE_KEY_COUNT / 10, '0' + QUEUE_KEY_COUNT % 10, 0};
  bool added = queue_args_add_string(args, "EVAL") && queue_args_add_string(args, script) &&
               queue_args_add_string(args, key_count);
  for (size_t i = 0; added && i < QUEUE_KEY_COUNT; i++)
    added = queue_args_add_string(args, worker->keys[i]);
  return added;
}

bool queue_send(struct queue_worker *worker, struct queue_args *args, redisCallbackFn *fn,
                void *privdata) {
  return redis_link_command(worker->link, fn, privdata, (int)args->count, args->argv,
                            args->lengths);
}

/* ---- failing ---------------------------------------------------------------------------- */

void queue_fail(struct queue_worker *worker, const char *format, const char *detail) {
  if (worker->failed)
    return;
  worker->failed = true;
  snprintf(worker->error, sizeof worker->error, format, detail);
  work_source_wake(&worker->base);
}

/* ---- renewing the claim ----------------------------------------------------------------- */

static void queue_on_touch(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context;
  redisReply *answer = reply;
  if (answer && answer->type == REDIS_REPLY_ERROR)
    queue_fail(privdata, "Redis refused to renew the claims: %s", answer->str);
}

/* Every entry this worker holds, from its read to its acknowledgement, is claimed anew. */
static void queue_on_touch_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  struct queue_worker *worker = arg;
  if (redis_link_state(worker->link) != REDIS_LINK_READY)
    return;
  struct queue_args args = {0};
  bool built = queue_args_eval(&args, worker, queue_touch_script) &&
               queue_args_add_string(&args, QUEUE_GROUP) &&
               queue_args_add_string(&args, worker->consumer) &&
               queue_args_add_string(&args, worker->lease_ms) &&
               queue_args_entries(&args, worker->waiting.head) &&
               queue_args_entries(&args, worker->committed.head) &&
               queue_args_entries(&args, worker->writing.head) &&
               queue_args_entries(&args, worker->acking.head);
  for (struct queue_entry *entry = worker->held; built && entry; entry = entry->hh.next)
    built = queue_args_add_string(&args, queue_partition_name(entry->partition)) &&
            queue_args_add_string(&args, entry->id);
  /* Entries in an acknowledgement call are left out: they are done either way. */
  if (built)
    built = queue_send(worker, &args, queue_on_touch, worker) ||
            redis_link_state(worker->link) != REDIS_LINK_READY;
  queue_args_free(&args);
  if (!built)
    queue_fail(worker, "%s", "cannot renew the claims: out of memory");
}

/* ---- taking entries --------------------------------------------------------------------- */

static void queue_take(struct queue_worker *worker);
static void queue_create_groups_async(struct queue_worker *worker);

/* The take's entries join `waiting`, but one this worker already holds (its claim lapsed and
 * it took it back) is not handed out twice. False when out of memory. */
static bool queue_add_taken(struct queue_worker *worker, const redisReply *entries) {
  for (size_t i = 0; i + QUEUE_TAKE_FIELDS <= entries->elements; i += QUEUE_TAKE_FIELDS) {
    struct queue_entry *entry = queue_entry_from_reply(entries->element + i);
    if (!entry)
      return false;
    struct queue_entry *held = NULL;
    HASH_FIND(hh, worker->held, &entry->index, sizeof entry->index, held);
    if (held)
      queue_entry_free(entry);
    else
      queue_list_push(&worker->waiting, entry);
  }
  return true;
}

/* Nothing new: asked again after the poll time; idle from now if the partitions hold nothing
 * (waiting or pending) either. */
static void queue_note_empty(struct queue_worker *worker, long long left) {
  int64_t now = clock_monotonic_us();
  if (left == 0 && !worker->idle_since_us)
    worker->idle_since_us = now;
  if (left > 0)
    worker->idle_since_us = 0;
  worker->next_take_us = now + worker->poll_ms * 1000;
  struct timeval wait = {.tv_sec = worker->poll_ms / 1000,
                         .tv_usec = (worker->poll_ms % 1000) * 1000};
  evtimer_add(worker->poll_timer, &wait);
  worker->poll_ms =
      worker->poll_ms * 2 > QUEUE_POLL_MAX_MS ? QUEUE_POLL_MAX_MS : worker->poll_ms * 2;
}

struct queue_take_call { /* one take call: when it went, how many entries it asked for */
  struct queue_worker *worker;
  int64_t sent_us;
  size_t asked;
};

static void queue_on_take(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context;
  struct queue_take_call call = *(struct queue_take_call *)privdata;
  free(privdata);
  struct queue_worker *worker = call.worker;
  redisReply *answer = reply;
  worker->takes_out--;
  worker->asked -= call.asked;
  if (!answer)
    return; /* the connection went: whatever it delivered is reclaimed later */
  queue_pace_answered(&worker->pace, worker->options->concurrency, call.sent_us,
                      clock_monotonic_us());
  if (answer->type != REDIS_REPLY_ARRAY || answer->elements != 3 ||
      answer->element[2]->type != REDIS_REPLY_ARRAY) {
    queue_fail(worker, "Redis refused to hand out entries: %s",
               answer->type == REDIS_REPLY_ERROR ? answer->str : "an unexpected answer");
    return;
  }
  worker->dead_lettered += (uint64_t)answer->element[1]->integer;
  const redisReply *entries = answer->element[2];
  /* A stopping worker hands nothing out: what came is reclaimed by others. */
  if (!worker->stopping && !queue_add_taken(worker, entries)) {
    queue_fail(worker, "%s", "out of memory");
    return;
  }
  if (entries->elements == 0) {
    queue_note_empty(worker, answer->element[0]->integer);
  } else {
    worker->idle_since_us = 0;
    worker->poll_ms = QUEUE_POLL_FIRST_MS;
    worker->next_take_us = 0;
  }
  work_source_wake(&worker->base);
}

/* Asks for entries when fewer than half the read-ahead (queue_pace.h) are ready or asked for,
 * fewer than QUEUE_PACE_TAKES_MAX takes are out, Redis is there, and an empty queue's poll
 * time has passed. Takes overlap: the next is sent while the last is on its way. */
static void queue_take(struct queue_worker *worker) {
  size_t ready = worker->waiting.count;
  size_t count = queue_pace_take_size(&worker->pace, worker->options->concurrency, ready,
                                      worker->asked, worker->takes_out);
  int64_t now = clock_monotonic_us();
  if (!count || worker->stopping || worker->failed || now < worker->next_take_us ||
      redis_link_state(worker->link) != REDIS_LINK_READY)
    return;
  char numbers[4][24];
  int64_t reclaim_every_us = worker->options->queue.reclaim_after_ms * 250; /* a quarter */
  bool reclaim = now - worker->last_reclaim_us >= reclaim_every_us;
  snprintf(numbers[0], sizeof numbers[0], "%zu", count);
  snprintf(numbers[1], sizeof numbers[1], "%ld", worker->options->queue.reclaim_after_ms);
  snprintf(numbers[2], sizeof numbers[2], "%u", worker->options->queue.max_deliveries);
  snprintf(numbers[3], sizeof numbers[3], "%u", worker->first_partition);
  worker->first_partition = (worker->first_partition + 1) % QUEUE_PARTITIONS;
  struct queue_take_call *call = malloc(sizeof *call);
  if (call)
    *call = (struct queue_take_call){.worker = worker, .sent_us = now, .asked = count};
  struct queue_args args = {0};
  bool built =
      call && queue_args_eval(&args, worker, queue_take_script) &&
      queue_args_add_string(&args, QUEUE_GROUP) && queue_args_add_string(&args, worker->consumer) &&
      queue_args_add_string(&args, numbers[0]) && queue_args_add_string(&args, numbers[1]) &&
      queue_args_add_string(&args, numbers[2]) &&
      queue_args_add_string(&args, reclaim ? "1" : "0") &&
      queue_args_add_string(&args, numbers[3]) && queue_args_add_string(&args, worker->lease_ms) &&
      queue_send(worker, &args, queue_on_take, call);
  queue_args_free(&args);
  if (!built) {
    free(call);
    queue_fail(worker, "%s", "cannot ask Redis for entries: out of memory");
    return;
  }
  worker->takes_out++;
  worker->asked += count;
  if (reclaim)
    worker->last_reclaim_us = now;
}

static void queue_on_poll_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  struct queue_worker *worker = arg;
  worker->next_take_us = 0; /* the timer may fire a little before the time it was set for */
  queue_take(worker);
  work_source_wake(&worker->base); /* --idle-exit may have come */
}

/* The link came up (take and acknowledge what waited), went down, or was given up. */
static void queue_on_link(void *arg) {
  struct queue_worker *worker = arg;
  switch (redis_link_state(worker->link)) {
  case REDIS_LINK_READY:
    worker->next_take_us = 0;
    queue_create_groups_async(worker);
    if (worker->fleet)
      queue_fleet_link_ready(worker->fleet, worker->link);
    queue_flush_acks(worker);
    queue_take(worker);
    break;
  case REDIS_LINK_DOWN:
    break;
  case REDIS_LINK_FAILED:
    queue_fail(worker, "%s", redis_link_error(worker->link));
    break;
  }
}

/* After a (re)connect: the groups, should Redis have lost them (a restart without
 * persistence). An error (BUSYGROUP: there already) is what is expected. */
static void queue_on_group(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context, (void)reply, (void)privdata;
}

static void queue_create_groups_async(struct queue_worker *worker) {
  for (unsigned partition = 0; partition < QUEUE_PARTITIONS; partition++) {
    const char *argv[] = {"XGROUP",    "CREATE", worker->keys[1 + partition],
                          QUEUE_GROUP, "0",      "MKSTREAM"};
    redis_link_command(worker->link, queue_on_group, worker, 6, argv, NULL);
  }
}

/* ---- the work source -------------------------------------------------------------------- */

/* --idle-exit: the queue had nothing new nor pending that long, and this worker holds
 * nothing. */
static bool queue_idle_long_enough(const struct queue_worker *worker) {
  long idle_exit_ms = worker->options->queue.idle_exit_ms;
  return idle_exit_ms >= 0 && worker->idle_since_us && !worker->held && !worker->waiting.head &&
         clock_monotonic_us() - worker->idle_since_us >= (int64_t)idle_exit_ms * 1000;
}

/* The entry's request, numbered with the entry's index (NULL when out of memory). */
static struct request *queue_request_of(const struct queue_worker *worker,
                                        const struct queue_entry *entry) {
  struct source_line line = {.index = entry->index,
                             .text = entry->line,
                             .length = entry->length,
                             .too_long = entry->too_long};
  struct request *request = input_line_request(&line, worker->options);
  if (request && worker->crawl && !queue_crawl_prepare(worker->crawl, entry, request)) {
    request_free(request);
    return NULL;
  }
  if (request)
    request->index_set = true;
  return request;
}

static enum work_status queue_next(struct work_source *base, struct request **request) {
  struct queue_worker *worker = (struct queue_worker *)base;
  if (worker->failed && !worker->failure_said) {
    worker->failure_said = true;
    worker->exhausted = true;
    return WORK_FAILED;
  }
  if (worker->exhausted || worker->stopping)
    return WORK_EXHAUSTED;
  if (worker->fleet && worker->waiting.head && !queue_fleet_take(worker->fleet))
    return WORK_WAIT; /* the fleet's --rate: woken when this worker's share allows */
  struct queue_entry *entry = queue_list_pop(&worker->waiting);
  queue_take(worker);
  if (!entry) {
    if (worker->takes_out)
      queue_pace_starved(&worker->pace);
    if (!queue_idle_long_enough(worker))
      return WORK_WAIT;
    worker->exhausted = true;
    return WORK_EXHAUSTED;
  }
  if (!(*request = queue_request_of(worker, entry))) {
    queue_entry_free(entry);
    return WORK_NO_MEMORY;
  }
  HASH_ADD(hh, worker->held, index, sizeof entry->index, entry);
  queue_pace_handed(&worker->pace, clock_monotonic_us());
  return WORK_REQUEST;
}

/* Done: committed (acknowledged once written), or cut short by a stop: left to be delivered
 * again (the "cancelled" result is this run's, the entry is not done). An invalid line is
 * done: its invalid_input result stands. */
static bool queue_done(struct work_source *base, const struct request *request,
                       const struct outcome *outcome) {
  struct queue_worker *worker = (struct queue_worker *)base;
  struct queue_entry *entry = NULL;
  HASH_FIND(hh, worker->held, &request->index, sizeof request->index, entry);
  if (!entry)
    return true;
  HASH_DEL(worker->held, entry);
  if (!outcome && !request->input_error && worker->stopping) {
    queue_entry_free(entry);
    return true;
  }
  queue_list_push(&worker->committed, entry);
  if (!worker->crawl)
    return true;
  if (!queue_crawl_collect(worker->crawl, request, outcome))
    return false;
  entry->links_mark = queue_crawl_mark(worker->crawl);
  if (redis_link_state(worker->link) == REDIS_LINK_READY)
    queue_crawl_flush(worker->crawl, worker->link);
  return true;
}

/* A transient failure before the entry's last delivery is released to be delivered again
 * (queue_settle.c): no result is written for it. */
static bool queue_take_back(struct work_source *base, const struct request *request,
                            const struct outcome *outcome) {
  struct queue_worker *worker = (struct queue_worker *)base;
  struct queue_entry *entry = NULL;
  HASH_FIND(hh, worker->held, &request->index, sizeof request->index, entry);
  return entry && !request->input_error && queue_release_or_bury(worker, entry, outcome);
}

static bool queue_idle(const struct work_source *base) {
  const struct queue_worker *worker = (const struct queue_worker *)base;
  return worker->exhausted || worker->stopping;
}

static void queue_end(struct work_source *base, enum work_end how) {
  (void)how; /* a queue has no "what needs no waiting": the deadline stops it too */
  struct queue_worker *worker = (struct queue_worker *)base;
  worker->stopping = true;
  evtimer_del(worker->poll_timer);
  /* What was read and not handed out is no longer renewed: another worker reclaims it after
   * --reclaim-after. */
  queue_list_free(&worker->waiting);
}

static const char *queue_error(const struct work_source *base) {
  return ((const struct queue_worker *)base)->error;
}

static void queue_free(struct work_source *base) {
  struct queue_worker *worker = (struct queue_worker *)base;
  redis_link_free(worker->link); /* first: what its callbacks hand back is freed below */
  queue_crawl_free(worker->crawl);
  queue_fleet_free(worker->fleet);
  if (worker->poll_timer)
    event_free(worker->poll_timer);
  if (worker->touch_timer)
    event_free(worker->touch_timer);
  queue_list_free(&worker->waiting);
  queue_list_free(&worker->committed);
  queue_list_free(&worker->writing);
  queue_list_free(&worker->acking);
  struct queue_entry *entry, *next;
  HASH_ITER(hh, worker->held, entry, next) {
    HASH_DEL(worker->held, entry);
    queue_entry_free(entry);
  }
  free(worker);
}

static const struct work_source_ops queue_worker_ops = {
    .next = queue_next,
    .done = queue_done,
    .take_back = queue_take_back,
    .idle = queue_idle,
    .end = queue_end,
    .error = queue_error,
    .free = queue_free,
};

/* ---- making and finishing --------------------------------------------------------------- */

static bool queue_name_keys(struct queue_worker *worker, const char *name) {
  bool fits = queue_key(worker->keys[QUEUE_KEY_DEAD], QUEUE_KEY_MAX, name, "dead") &&
              queue_key(worker->keys[QUEUE_KEY_WORKERS], QUEUE_KEY_MAX, name, "workers") &&
              queue_key(worker->keys[QUEUE_KEY_ERRORS], QUEUE_KEY_MAX, name, "errors");
  for (unsigned partition = 0; fits && partition < QUEUE_PARTITIONS; partition++) {
    char lease[32];
    snprintf(lease, sizeof lease, "lease:%u", partition);
    fits = queue_partition_key(worker->keys[1 + partition], QUEUE_KEY_MAX, name, partition) &&
           queue_key(worker->keys[1 + QUEUE_PARTITIONS + partition], QUEUE_KEY_MAX, name, lease);
  }
  /* Per-host policies hold across the fleet only if one worker at a time reads a host's
   * partition: leases, for as long as a silent worker keeps its entries. */
  const struct afetch_options *options = worker->options;
  snprintf(worker->lease_ms, sizeof worker->lease_ms, "%ld",
           hosts_policy_given(options) ? options->queue.reclaim_after_ms : 0);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  snprintf(worker->consumer, sizeof worker->consumer, "%s:%ld", host, (long)getpid());
  return fits;
}

/* The timers and the link. False when out of memory. */
static bool queue_start(struct queue_worker *worker, const struct redis_address *address) {
  worker->poll_timer = evtimer_new(worker->event_base, queue_on_poll_timer, worker);
  worker->touch_timer = event_new(worker->event_base, -1, EV_PERSIST, queue_on_touch_timer, worker);
  long every_ms = worker->options->queue.reclaim_after_ms / 3;
  struct timeval every = {.tv_sec = every_ms / 1000, .tv_usec = (every_ms % 1000) * 1000};
  if (!worker->poll_timer || !worker->touch_timer || evtimer_add(worker->touch_timer, &every) < 0)
    return false;
  bool fleet_failed;
  worker->fleet = queue_fleet_new(worker->event_base, worker->options,
                                  worker->keys[QUEUE_KEY_WORKERS], worker->consumer,
                                  &worker->base, &fleet_failed);
  if (fleet_failed)
    return false;
  worker->link =
      redis_link_new(worker->event_base, address, worker->options->queue.redis_timeout_ms,
                     worker->options->quiet, queue_on_link, worker);
  return worker->link != NULL;
}

struct work_source *queue_worker_new(struct event_base *base, const struct afetch_options *options,
                                     struct frontier *frontier, struct event *wake,
                                     struct output_watch *watch, char *errbuf, size_t errbuf_size) {
  struct redis_address address;
  if (!redis_url_parse(options->queue.redis_url, &address, errbuf, errbuf_size))
    return NULL;
  struct queue_worker *worker = calloc(1, sizeof *worker);
  if (worker) {
    worker->base = (struct work_source){.ops = &queue_worker_ops, .wake = wake};
    worker->options = options;
    worker->event_base = base;
    worker->poll_ms = QUEUE_POLL_FIRST_MS;
  }
  bool started = worker && queue_name_keys(worker, options->queue.name) &&
                 (!frontier || (worker->crawl = queue_crawl_new(options, frontier, base,
                                                             queue_on_crawl_changed, worker))) &&
                 queue_start(worker, &address);
  redis_address_free(&address);
  if (!started) {
    snprintf(errbuf, errbuf_size, "cannot start the worker: out of memory");
    if (worker)
      queue_free(&worker->base);
    return NULL;
  }
  *watch = (struct output_watch){
      .before = queue_on_before_output, .after = queue_on_after_output, .arg = worker};
  return &worker->base;
}

static void queue_on_leave(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context, (void)reply;
  ((struct queue_worker *)privdata)->leaving = false;
}

/* A worker that ends gives its leases up at once rather than after they expire. */
static void queue_leave(struct queue_worker *worker, struct event_base *base, int64_t give_up_us) {
  struct queue_args args = {0};
  worker->leaving = queue_args_eval(&args, worker, queue_leave_script) &&
                    queue_args_add_string(&args, worker->consumer) &&
                    queue_send(worker, &args, queue_on_leave, worker);
  queue_args_free(&args);
  while (worker->leaving && redis_link_state(worker->link) == REDIS_LINK_READY &&
         clock_monotonic_us() < give_up_us)
    event_base_loop(base, EVLOOP_ONCE);
}

bool queue_worker_finish(struct work_source *source, struct event_base *base, bool output_ok) {
  struct queue_worker *worker = (struct queue_worker *)source;
  evtimer_del(worker->poll_timer);
  /* The run is over: every result committed was written by its end (or the output failed). */
  if (output_ok) {
    queue_list_splice(&worker->acking, &worker->writing);
    queue_list_splice(&worker->acking, &worker->committed);
  }
  queue_flush_acks(worker);
  long wait_ms = worker->options->queue.redis_timeout_ms;
  int64_t give_up_us =
      clock_monotonic_us() + (wait_ms >= 0 ? wait_ms : QUEUE_FINISH_WAIT_MS) * 1000;
  while ((worker->acking.head || worker->acks_in_flight || worker->releases_out ||
          (worker->crawl && !queue_crawl_settled(worker->crawl))) &&
         redis_link_state(worker->link) != REDIS_LINK_FAILED && clock_monotonic_us() < give_up_us)
    event_base_loop(base, EVLOOP_ONCE);
  bool all = !worker->acking.head && !worker->acks_in_flight;
  if (all && !worker->held && (strcmp(worker->lease_ms, "0") != 0 || worker->fleet))
    queue_leave(worker, base, give_up_us);
  if (!all && !worker->options->quiet)
    fprintf(stderr, "afetch: %zu results could not be acknowledged: they will be delivered again\n",
            worker->acking.count + worker->acks_in_flight);
  if (worker->released && !worker->options->quiet)
    fprintf(stderr, "afetch: %" PRIu64 " failures were given back to be delivered again\n",
            worker->released);
  if (worker->dead_lettered && !worker->options->quiet)
    fprintf(stderr, "afetch: %" PRIu64 " entries went to the dead letters ('%s')\n",
            worker->dead_lettered, worker->keys[QUEUE_KEY_DEAD]);
  return all;
}
