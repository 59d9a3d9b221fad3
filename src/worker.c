/* Transfers on one event loop (over several curl multi handles), inline on the caller's
 * event base or in a thread of their own. */
#include "afetch/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/easy_options.h"
#include "afetch/hash_table.h"
#include "afetch/json_writer.h"
#include "afetch/loop.h"
#include "afetch/options.h"
#include "afetch/request.h"
#include "afetch/retry.h"
#include "afetch/transfer_options.h"
#include "afetch/task.h"
#include "afetch/url.h"

/* Transfers per curl multi handle. libcurl 7.88 picks a connection to reuse by walking every
 * connection to the host in its cache, busy ones included (~50 instructions each): at
 * -c 1000 on one host that walk alone cost 27,000 instructions per request (callgrind). So a
 * worker runs ceil(capacity / 64) multi handles ("shards") on its event base, each with its
 * own connection cache, and keeps at most this many transfers in each while another has
 * room. At -c 1000: 137k -> 108k instructions per request; smaller shards gained no more. */
#define WORKER_SHARD_TRANSFERS 64

/* What a shard costs in descriptors besides its connections: libcurl 7.88's multi handle
 * keeps a socket pair for curl_multi_wakeup. A threaded worker adds its event base (epoll,
 * its own notification pair) and two eventfds; counted with room to spare. */
#define WORKER_FDS_PER_SHARD 2
#define WORKER_FDS_PER_THREAD 8

/* One multi handle, how many of the worker's transfers run on it, and how many may: at most
 * WORKER_SHARD_TRANSFERS, and never more than its connection cache holds (else each finished
 * transfer's idle connection would be closed to make room, and none reused). */
struct worker_shard {
  struct loop *loop;
  unsigned in_flight;
  unsigned limit;
};

struct worker {
  const struct afetch_options *options;
  unsigned capacity;
  bool threaded;
  worker_notify_fn outcomes_ready;
  void *outcomes_ready_arg;

  /* The transfer side: used only by the thread that runs `run_base`. */
  struct event_base *run_base;
  bool owns_run_base;
  struct worker_shard *shards;
  unsigned shard_count;
  CURLSH *share; /* TLS sessions and DNS, shared by every shard's handles (one thread) */
  /* Up to `capacity` tasks, created as needed and reused (a handle may run on any shard);
   * busy[i] says tasks[i] is in flight, on shards[shard_of[i]]; idle[] is a stack of the
   * others. */
  struct task **tasks;
  bool *busy;
  unsigned *shard_of;
  struct attempt *attempt_of; /* attempt_of[i]: what tasks[i] runs */
  unsigned last_freed_shard;  /* where a transfer ended last: it has room */
  unsigned task_count;
  struct task **idle;
  unsigned idle_count;
  struct json_writer json;
  _Atomic uint64_t body_bytes; /* written by the transfer side only, read by any thread */

  /* Outcomes not yet taken by the caller; guarded by `lock` when threaded. */
  struct outcome_queue outbox;

  /* Threaded only. `lock` guards the inbox, the outbox and the request flags. */
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t lock;
  struct attempt *inbox; /* ring of `capacity` */
  unsigned inbox_head, inbox_count;
  bool stop_requested;
  enum result_error stop_why;
  bool shutdown_requested;
  int inbox_fd;               /* eventfd: wakes the worker thread */
  int outbox_fd;              /* eventfd: wakes the caller */
  struct event *inbox_event;  /* on run_base */
  struct event *outbox_event; /* on the caller's base */
  /* Scratch copies taken out of the inbox, so transfers start without the lock held. */
  struct attempt *taken_attempts;
};

static void worker_wake(int fd) {
  uint64_t one = 1;
  while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
    ;
}

static void worker_clear_wakeup(int fd) {
  uint64_t count;
  while (read(fd, &count, sizeof count) < 0 && errno == EINTR)
    ;
}

/* ---- the transfer side ---------------------------------------------------------------- */

/* --crawl: the final URL the crawler needs back, and the result's crawl keys. */
static void worker_describe_crawl(const struct request *request, struct outcome *fields,
                                  struct afetch_result *result) {
  char *final_url = result->final_url ? url_normalise(NULL, result->final_url) : NULL;
  fields->final_url = final_url ? strdup(final_url) : NULL; /* outcome strings are free()d */
  curl_free(final_url);
  result->depth = request->depth;
  result->parent = request->parent;
  result->links = fields->found.links.count;
  result->link_urls = fields->found.links.urls;
  result->requisite = request->requisite_via;
}

/* A request's kept body (robots.txt), copied out of the task's capture. */
static void worker_keep_body(const struct afetch_result *result, struct outcome *fields) {
  if (!result->body || !(fields->body = malloc(result->body_length + 1)))
    return;
  memcpy(fields->body, result->body, result->body_length + 1);
  fields->body_length = result->body_length;
}

/* Queues an outcome for the caller; `outcomes_ready` when the queue was empty. */
static void worker_post(struct worker *worker, struct outcome *outcome) {
  if (!worker->threaded) {
    bool was_empty = !worker->outbox.head;
    outcome_queue_push(&worker->outbox, outcome);
    if (was_empty)
      worker->outcomes_ready(worker->outcomes_ready_arg);
    return;
  }
  pthread_mutex_lock(&worker->lock);
  bool was_empty = !worker->outbox.head;
  outcome_queue_push(&worker->outbox, outcome);
  pthread_mutex_unlock(&worker->lock);
  if (was_empty)
    worker_wake(worker->outbox_fd);
}

/* Makes the attempt's outcome: the result as JSON, and what the response gave (from `task`,
 * when one ran). The attempt carries what spans tries (the try count, the latest
 * Retry-After). */
static void worker_deliver(struct worker *worker, const struct attempt *attempt, struct task *task,
                           struct afetch_result *result) {
  const struct request *request = attempt->request;
  struct outcome fields = {.tag = attempt->tag,
                           .status = result->status,
                           .not_modified = result->not_modified,
                           .has_retry_after = result->has_retry_after,
                           .retry_after_s = result->retry_after_s};
  if (result->attempts > 0)
    result->attempts = attempt->number;
  if (!result->has_retry_after && attempt->has_retry_after) {
    result->has_retry_after = true;
    result->retry_after_s = attempt->retry_after_s;
  }
  result->host_paused_ms = attempt->host_paused_ms;
  result_enable_optional_keys(result, worker->options);
  result->id_json = request->id_json;
  if (!result->method) /* no response told which method went out last */
    result->method = easy_options_method(worker->options, request);
  if (task)
    task_take_response(task, &fields);
  if (worker->options->crawl)
    worker_describe_crawl(request, &fields, result);
  if (request->keep_body)
    worker_keep_body(result, &fields);
  json_writer_reset(&worker->json);
  result_write_json(result, &worker->json);
  fields.ok = result_is_ok(result);
  fields.transient =
      !fields.ok && (worker->options->retry_all_errors ? retry_is_any_transfer_error(result)
                                                       : retry_is_transient(result));
  fields.sample = stats_sample_of(result);
  struct outcome *outcome = outcome_new(&fields, worker->json.data, worker->json.length);
  if (!outcome) /* the caller reports the lost result as an output failure */
    outcome = outcome_new(&fields, "", 0);
  if (!outcome) {
    fputs("afetch: out of memory\n", stderr);
    abort(); /* the request would never come back: the run could not end */
  }
  worker_post(worker, outcome);
}

static struct task *worker_take_idle_task(struct worker *worker) {
  if (worker->idle_count > 0)
    return worker->idle[--worker->idle_count];
  if (worker->task_count >= worker->capacity)
    return NULL;
  struct task *task = task_new(
      worker->run_base, worker->options, worker->task_count,
      worker->share ? worker->share : transfer_share_handle(worker->options->transfer_share));
  if (!task)
    return NULL;
  task_count_bytes_into(task, &worker->body_bytes);
  worker->tasks[worker->task_count++] = task;
  return task;
}

static struct worker_shard *worker_shard_of_task(struct worker *worker, const struct task *task) {
  return &worker->shards[worker->shard_of[task_id(task)]];
}

static void worker_return_task(struct worker *worker, struct task *task) {
  if (worker->busy[task_id(task)]) {
    worker_shard_of_task(worker, task)->in_flight--;
    worker->last_freed_shard = worker->shard_of[task_id(task)];
  }
  worker->busy[task_id(task)] = false;
  worker->idle[worker->idle_count++] = task;
}

/* A hash of what follows the URL's "://" up to its path (userinfo, host, port; its first
 * WORKER_AUTHORITY_MAX bytes), case folded, so that one host keeps to one shard, where its idle
 * connections are (http and https to one host share it: harmless). A hint, not a parse. */
#define WORKER_AUTHORITY_MAX 256

static uint64_t worker_authority_hash(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  char authority[WORKER_AUTHORITY_MAX];
  size_t length = 0;
  for (; length < sizeof authority && *p && *p != '/' && *p != '?' && *p != '#'; p++)
    authority[length++] = *p >= 'A' && *p <= 'Z' ? (char)(*p + ('a' - 'A')) : *p;
  return hash_bytes(authority, length);
}

static unsigned worker_shard_room(const struct worker_shard *shard) {
  return shard->in_flight < shard->limit ? shard->limit - shard->in_flight : 0;
}

/* The URL's host's own shard while it has room, else the one where a transfer ended last
 * (in a busy run, the slot this attempt is taking), else the one with the most room: a host
 * with many transfers in flight spreads over every shard. The limits add up to at least
 * the capacity, so some shard has room whenever a task is free. */
static struct worker_shard *worker_pick_shard(struct worker *worker, const char *url) {
  if (worker->shard_count == 1)
    return &worker->shards[0];
  struct worker_shard *best = &worker->shards[worker_authority_hash(url) % worker->shard_count];
  if (worker_shard_room(best) > 0)
    return best;
  if (worker_shard_room(&worker->shards[worker->last_freed_shard]) > 0)
    return &worker->shards[worker->last_freed_shard];
  for (unsigned i = 0; i < worker->shard_count; i++)
    if (worker_shard_room(&worker->shards[i]) > worker_shard_room(best))
      best = &worker->shards[i];
  return best;
}

/* Starts one attempt's transfer, or reports it as invalid at once. */
static bool worker_start_attempt(struct worker *worker, const struct attempt *attempt) {
  struct task *task = worker_take_idle_task(worker);
  if (!task)
    return false;
  if (!task_prepare(task, attempt->request)) {
    struct afetch_result result;
    task_result(task, CURLE_OK, &result);
    worker_deliver(worker, attempt, task, &result);
    worker_return_task(worker, task);
    return true;
  }
  worker->attempt_of[task_id(task)] = *attempt;
  struct worker_shard *shard = worker_pick_shard(worker, attempt->request->url);
  if (loop_add(shard->loop, task_easy(task)) != CURLM_OK) {
    worker_return_task(worker, task);
    return false;
  }
  worker->busy[task_id(task)] = true;
  worker->shard_of[task_id(task)] = (unsigned)(shard - worker->shards);
  shard->in_flight++;
  return true;
}

static void worker_on_transfer_done(void *arg, CURL *easy, CURLcode code) {
  struct worker *worker = arg;
  struct task *task = task_of_easy(easy);
  if (task_replay_unsent(task, code) &&
      loop_add(worker_shard_of_task(worker, task)->loop, easy) == CURLM_OK)
    return; /* the same slot and shard: nothing was sent, nothing to report */
  struct afetch_result result;
  task_result(task, code, &result);
  worker_deliver(worker, &worker->attempt_of[task_id(task)], task, &result);
  worker_return_task(worker, task);
}

static void worker_cancel_transfers(struct worker *worker, enum result_error why) {
  for (unsigned i = 0; i < worker->task_count; i++) {
    if (!worker->busy[i])
      continue;
    struct task *task = worker->tasks[i];
    loop_remove(worker_shard_of_task(worker, task)->loop, task_easy(task));
    struct afetch_result result;
    task_stopped_result(task, why, &result);
    worker_deliver(worker, &worker->attempt_of[i], NULL, &result);
    worker_return_task(worker, task);
  }
}

/* Reports an attempt that was never started (a stop came first) with `why`. */
static void worker_report_unstarted(struct worker *worker, const struct attempt *attempt,
                                    enum result_error why) {
  struct afetch_result result;
  request_stopped_result(attempt->request, why, attempt->number - 1, &result);
  result.has_retry_after = attempt->has_retry_after;
  result.retry_after_s = attempt->retry_after_s;
  worker_deliver(worker, attempt, NULL, &result);
}

/* Worker thread: new attempts, a stop or a shutdown have arrived. */
static void worker_on_inbox(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct worker *worker = arg;
  worker_clear_wakeup(worker->inbox_fd);
  pthread_mutex_lock(&worker->lock);
  unsigned count = worker->inbox_count;
  for (unsigned i = 0; i < count; i++)
    worker->taken_attempts[i] = worker->inbox[(worker->inbox_head + i) % worker->capacity];
  worker->inbox_head = (worker->inbox_head + count) % worker->capacity;
  worker->inbox_count = 0;
  bool stop = worker->stop_requested, shutdown = worker->shutdown_requested;
  enum result_error why = worker->stop_why;
  pthread_mutex_unlock(&worker->lock);

  for (unsigned i = 0; i < count; i++) {
    const struct attempt *attempt = &worker->taken_attempts[i];
    if (stop || !worker_start_attempt(worker, attempt))
      worker_report_unstarted(worker, attempt, stop ? why : RESULT_OTHER);
  }
  if (stop)
    worker_cancel_transfers(worker, why);
  if (shutdown)
    event_base_loopbreak(worker->run_base);
}

static void *worker_thread_main(void *arg) {
  struct worker *worker = arg;
  event_base_dispatch(worker->run_base);
  return NULL;
}

/* ---- the caller side ------------------------------------------------------------------ */

/* Caller thread: outcomes have arrived. */
static void worker_on_outbox(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct worker *worker = arg;
  worker_clear_wakeup(worker->outbox_fd);
  worker->outcomes_ready(worker->outcomes_ready_arg);
}

void worker_take_outcomes(struct worker *worker, struct outcome_queue *into) {
  if (!worker->threaded) {
    outcome_queue_take_all(into, &worker->outbox);
    return;
  }
  pthread_mutex_lock(&worker->lock);
  outcome_queue_take_all(into, &worker->outbox);
  pthread_mutex_unlock(&worker->lock);
}

uint64_t worker_body_bytes(const struct worker *worker) {
  return atomic_load_explicit(&worker->body_bytes, memory_order_relaxed);
}

bool worker_submit(struct worker *worker, const struct attempt *attempt) {
  if (!worker->threaded)
    return worker_start_attempt(worker, attempt);
  pthread_mutex_lock(&worker->lock);
  bool was_empty = worker->inbox_count == 0;
  worker->inbox[(worker->inbox_head + worker->inbox_count++) % worker->capacity] = *attempt;
  pthread_mutex_unlock(&worker->lock);
  if (was_empty)
    worker_wake(worker->inbox_fd);
  return true;
}

void worker_stop_all(struct worker *worker, enum result_error why) {
  if (!worker->threaded) {
    worker_cancel_transfers(worker, why);
    return;
  }
  pthread_mutex_lock(&worker->lock);
  worker->stop_requested = true;
  worker->stop_why = why;
  pthread_mutex_unlock(&worker->lock);
  worker_wake(worker->inbox_fd);
}

/* The rings, eventfds, events and thread of a threaded worker. */
static bool worker_start_thread(struct worker *worker, struct event_base *caller_base) {
  worker->inbox = calloc(worker->capacity, sizeof *worker->inbox);
  worker->taken_attempts = calloc(worker->capacity, sizeof *worker->taken_attempts);
  worker->inbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  worker->outbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!worker->inbox || !worker->taken_attempts || worker->inbox_fd < 0 || worker->outbox_fd < 0)
    return false;
  worker->inbox_event =
      event_new(worker->run_base, worker->inbox_fd, EV_READ | EV_PERSIST, worker_on_inbox, worker);
  worker->outbox_event =
      event_new(caller_base, worker->outbox_fd, EV_READ | EV_PERSIST, worker_on_outbox, worker);
  if (!worker->inbox_event || !worker->outbox_event || event_add(worker->inbox_event, NULL) < 0 ||
      event_add(worker->outbox_event, NULL) < 0)
    return false;
  /* The thread inherits a mask blocking every signal: SIGINT and SIGTERM are the caller's
   * to handle, and the worker's system calls are never interrupted. */
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  worker->thread_started = pthread_create(&worker->thread, NULL, worker_thread_main, worker) == 0;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  return worker->thread_started;
}

static unsigned worker_shard_count(unsigned capacity) {
  unsigned count = (capacity + WORKER_SHARD_TRANSFERS - 1) / WORKER_SHARD_TRANSFERS;
  return count ? count : 1;
}

unsigned worker_descriptors(unsigned capacity, bool threaded) {
  return worker_shard_count(capacity) * WORKER_FDS_PER_SHARD +
         (threaded ? WORKER_FDS_PER_THREAD : 0);
}

/* ceil(capacity / WORKER_SHARD_TRANSFERS) multi handles, sharing the connection budget. */
static bool worker_start_shards(struct worker *worker, unsigned connections) {
  unsigned count = worker_shard_count(worker->capacity);
  worker->shards = calloc(count, sizeof *worker->shards);
  if (!worker->shards)
    return false;
  worker->shard_count = count;
  for (unsigned i = 0; i < count; i++) {
    unsigned cache = connections / count + (i < connections % count);
    worker->shards[i].limit = cache < WORKER_SHARD_TRANSFERS ? cache : WORKER_SHARD_TRANSFERS;
    worker->shards[i].loop = loop_new(worker->run_base, cache, worker_on_transfer_done, worker);
    if (!worker->shards[i].loop)
      return false;
  }
  return true;
}

struct worker *worker_new(struct event_base *base, const struct afetch_options *options,
                          unsigned capacity, unsigned connections, bool threaded,
                          worker_notify_fn outcomes_ready, void *arg) {
  struct worker *worker = calloc(1, sizeof *worker);
  if (!worker)
    return NULL;
  worker->options = options;
  worker->capacity = capacity;
  worker->threaded = threaded;
  worker->outcomes_ready = outcomes_ready;
  worker->outcomes_ready_arg = arg;
  worker->inbox_fd = worker->outbox_fd = -1;
  pthread_mutex_init(&worker->lock, NULL);
  json_writer_init(&worker->json);
  worker->run_base = base;
  if (threaded) {
    worker->run_base = event_base_new();
    worker->owns_run_base = worker->run_base != NULL;
  }
  worker->tasks = calloc(capacity, sizeof *worker->tasks);
  worker->busy = calloc(capacity, sizeof *worker->busy);
  worker->idle = calloc(capacity, sizeof *worker->idle);
  worker->shard_of = calloc(capacity, sizeof *worker->shard_of);
  worker->attempt_of = calloc(capacity, sizeof *worker->attempt_of);
  bool shards_ok = worker->run_base &&
                   worker_start_shards(worker, connections > capacity ? connections : capacity);
  /* TLS sessions, and the DNS cache, so that a host spread over several shards is resolved
   * once. Connections stay per shard: that is the point of shards. */
  worker->share = options->transfer_share ? NULL : curl_share_init(); /* NULL: the run's */
  if (worker->share &&
      (curl_share_setopt(worker->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
           CURLSHE_OK ||
       curl_share_setopt(worker->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
    curl_share_cleanup(worker->share);
    worker->share = NULL; /* TLS sessions then resume per handle, DNS is cached per shard */
  }
  if (!worker->tasks || !worker->busy || !worker->idle || !worker->shard_of ||
      !worker->attempt_of || !shards_ok || (threaded && !worker_start_thread(worker, base))) {
    worker_free(worker);
    return NULL;
  }
  return worker;
}

void worker_free(struct worker *worker) {
  if (!worker)
    return;
  if (worker->thread_started) {
    pthread_mutex_lock(&worker->lock);
    worker->shutdown_requested = true;
    pthread_mutex_unlock(&worker->lock);
    worker_wake(worker->inbox_fd);
    pthread_join(worker->thread, NULL);
  }
  /* After the join this thread may touch the worker's side: handles leave the multi handle
   * before it is cleaned up, and the loop goes before its event base. */
  for (unsigned i = 0; i < worker->task_count; i++)
    if (worker->busy[i])
      loop_remove(worker_shard_of_task(worker, worker->tasks[i])->loop,
                  task_easy(worker->tasks[i]));
  for (unsigned i = 0; worker->shards && i < worker->shard_count; i++)
    loop_free(worker->shards[i].loop);
  free(worker->shards);
  for (unsigned i = 0; i < worker->task_count; i++)
    task_free(worker->tasks[i]);
  if (worker->share)
    curl_share_cleanup(worker->share);
  if (worker->inbox_event)
    event_free(worker->inbox_event);
  if (worker->outbox_event)
    event_free(worker->outbox_event);
  struct outcome *left;
  while ((left = outcome_queue_pop(&worker->outbox)))
    outcome_free(left);
  if (worker->owns_run_base)
    event_base_free(worker->run_base);
  if (worker->inbox_fd >= 0)
    close(worker->inbox_fd);
  if (worker->outbox_fd >= 0)
    close(worker->outbox_fd);
  free(worker->inbox);
  free(worker->taken_attempts);
  free(worker->tasks);
  free(worker->busy);
  free(worker->idle);
  free(worker->shard_of);
  free(worker->attempt_of);
  json_writer_free(&worker->json);
  pthread_mutex_destroy(&worker->lock);
  free(worker);
}
