/* --worker --crawl: a page's links into the queue (queue_crawl.h). */
#include "afetch/queue_crawl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <xxhash.h>

#include "afetch/frontier.h"
#include "afetch/options.h"
#include "afetch/outcome.h"
#include "afetch/queue.h"
#include "afetch/queue_entries.h"
#include "afetch/queue_scripts.h"
#include "afetch/redis_link.h"
#include "afetch/request.h"
#include "afetch/shard.h"
#include "afetch/url.h"

/* Links per script call. */
#define QUEUE_CRAWL_BATCH 256
/* A batch Redis refused (an error reply: -OOM, -BUSY...) is sent again after this long,
 * doubling up to the cap while Redis keeps refusing. */
#define QUEUE_CRAWL_FIRST_BACKOFF_MS 100
#define QUEUE_CRAWL_MAX_BACKOFF_MS 5000

/* Links to add: QUEUE_ADD_ARGS owned strings each. */
struct queue_link_batch {
  struct queue_link_batch *next;
  uint64_t id;   /* batches are numbered in the order they are made */
  bool sent;     /* in a script call not answered yet */
  char *values[QUEUE_CRAWL_BATCH * QUEUE_ADD_ARGS];
  size_t count; /* values used */
};

struct queue_crawl {
  const struct afetch_options *options;
  struct frontier *frontier;
  char keys[2 + QUEUE_PARTITIONS][QUEUE_KEY_MAX]; /* seen, index, the partitions */
  char max_pages[24];                             /* the add script's cap: "0" for none */
  /* Every batch not accepted by Redis yet, in the order made (unsent, or sent and not
   * answered): the first one's number bounds the pages whose links are all in Redis. */
  struct queue_link_batch *batches, *tail;
  uint64_t next_id;
  queue_crawl_changed_fn changed;
  void *arg;
  struct event *retry_timer;
  long backoff_ms;
  bool refused; /* the last answer was an error: sending waits for the retry timer */
  bool waiting; /* ... which is set */
};

/* A batch sent, until Redis answers. */
struct queue_crawl_call {
  struct queue_crawl *crawl;
  struct queue_link_batch *batch;
};

static void queue_link_batch_free(struct queue_link_batch *batch) {
  for (size_t i = 0; i < batch->count; i++)
    free(batch->values[i]);
  free(batch);
}

static void queue_crawl_on_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  struct queue_crawl *crawl = arg;
  crawl->waiting = false;
  crawl->changed(crawl->arg);
}

struct queue_crawl *queue_crawl_new(const struct afetch_options *options,
                                    struct frontier *frontier, struct event_base *base,
                                    queue_crawl_changed_fn changed, void *arg) {
  struct queue_crawl *crawl = calloc(1, sizeof *crawl);
  if (!crawl)
    return NULL;
  crawl->options = options;
  crawl->frontier = frontier;
  crawl->changed = changed;
  crawl->arg = arg;
  crawl->backoff_ms = QUEUE_CRAWL_FIRST_BACKOFF_MS;
  snprintf(crawl->max_pages, sizeof crawl->max_pages, "%lu", options->max_pages);
  bool fits = queue_key(crawl->keys[0], QUEUE_KEY_MAX, options->queue.name, "seen") &&
              queue_key(crawl->keys[1], QUEUE_KEY_MAX, options->queue.name, "index");
  for (unsigned partition = 0; fits && partition < QUEUE_PARTITIONS; partition++)
    fits = queue_partition_key(crawl->keys[2 + partition], QUEUE_KEY_MAX, options->queue.name,
                               partition);
  if (!fits || !(crawl->retry_timer = evtimer_new(base, queue_crawl_on_retry, crawl))) {
    free(crawl);
    return NULL;
  }
  return crawl;
}

bool queue_crawl_prepare(struct queue_crawl *crawl, const struct queue_entry *entry,
                         struct request *request) {
  if (request->input_error)
    return true;
  if (!entry->found) {
    request->scope_key = frontier_scope_key(crawl->frontier, request->url);
    return true; /* a seed curl cannot parse has no scope: its links are not followed */
  }
  request->depth = entry->depth;
  request->parent = strdup(entry->parent);
  request->scope_key = strdup(entry->scope);
  return request->parent && request->scope_key;
}

/* The batch links go into: the last one while it is unsent and has room. */
static struct queue_link_batch *queue_crawl_batch(struct queue_crawl *crawl) {
  struct queue_link_batch *batch = crawl->tail;
  if (batch && !batch->sent && batch->count + QUEUE_ADD_ARGS <= QUEUE_CRAWL_BATCH * QUEUE_ADD_ARGS)
    return batch;
  if (!(batch = calloc(1, sizeof *batch)))
    return NULL;
  batch->id = crawl->next_id++;
  if (crawl->tail)
    crawl->tail->next = batch;
  else
    crawl->batches = batch;
  crawl->tail = batch;
  return batch;
}

/* One link as the add script's values (`seen_only`: its fingerprint only). False when out of
 * memory. */
static bool queue_crawl_keep(struct queue_crawl *crawl, const struct request *page,
                             const char *link, bool seen_only) {
  struct queue_link_batch *batch = queue_crawl_batch(crawl);
  if (!batch)
    return false;
  char fingerprint[33], partition[12], depth[12];
  XXH128_hash_t hash = XXH3_128bits(link, strlen(link));
  snprintf(fingerprint, sizeof fingerprint, "%016" PRIx64 "%016" PRIx64, (uint64_t)hash.high64,
           (uint64_t)hash.low64);
  char *host = url_host_lowercase(link);
  snprintf(partition, sizeof partition, "%u",
           host ? shard_of_host(host, strlen(host), QUEUE_PARTITIONS) - 1 : 0);
  if (seen_only)
    strcpy(partition, "-");
  curl_free(host);
  snprintf(depth, sizeof depth, "%u", page->depth + 1);
  const char *values[QUEUE_ADD_ARGS] = {fingerprint, partition, link,           "0",
                                        depth,       page->url, page->scope_key};
  for (size_t i = 0; i < QUEUE_ADD_ARGS; i++)
    if (!(batch->values[batch->count++] = strdup(values[i])))
      return false;
  return true;
}

bool queue_crawl_collect(struct queue_crawl *crawl, const struct request *page,
                         const struct outcome *outcome) {
  if (!outcome || !page->scope_key)
    return true;
  /* A redirect's target is seen, as a one-process crawl has it: a link to it is not fetched
   * again. */
  if (outcome->final_url && strcmp(outcome->final_url, page->url) != 0 &&
      frontier_mark_seen(crawl->frontier, outcome->final_url) &&
      !queue_crawl_keep(crawl, page, outcome->final_url, true))
    return false;
  if (!outcome->ok || page->depth >= crawl->options->depth)
    return true;
  const struct url_set *links = &outcome->found.links;
  for (size_t i = 0; i < links->count; i++) {
    const char *link = links->urls[i];
    /* This worker's seen set first: a link it sent already is not sent again. */
    if (frontier_seen(crawl->frontier, link) ||
        !frontier_accepts(crawl->frontier, page->scope_key, link) ||
        !frontier_mark_seen(crawl->frontier, link))
      continue;
    if (!queue_crawl_keep(crawl, page, link, false))
      return false;
  }
  return true;
}

/* Takes an accepted batch out of the list (most often its first). */
static void queue_crawl_unlink(struct queue_crawl *crawl, struct queue_link_batch *batch) {
  struct queue_link_batch **at = &crawl->batches, *previous = NULL;
  while (*at != batch)
    previous = *at, at = &(*at)->next;
  *at = batch->next;
  if (crawl->tail == batch)
    crawl->tail = previous;
  queue_link_batch_free(batch);
}

/* Redis refused a batch: it is sent again after the backoff, said once per streak of
 * refusals (the pages it came from stay unacknowledged until then). */
static void queue_crawl_refused(struct queue_crawl *crawl, const char *why) {
  if (!crawl->refused && !crawl->options->quiet)
    fprintf(stderr, "afetch: Redis refused a page's links: %s; trying again (the page stays in "
                    "the queue until they are in)\n",
            why);
  crawl->refused = true;
  if (crawl->waiting)
    return;
  struct timeval wait = {.tv_sec = crawl->backoff_ms / 1000,
                         .tv_usec = (crawl->backoff_ms % 1000) * 1000};
  crawl->waiting = evtimer_add(crawl->retry_timer, &wait) == 0;
  crawl->backoff_ms = crawl->backoff_ms * 2 > QUEUE_CRAWL_MAX_BACKOFF_MS
                          ? QUEUE_CRAWL_MAX_BACKOFF_MS
                          : crawl->backoff_ms * 2;
}

static void queue_crawl_on_added(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context;
  struct queue_crawl_call *call = privdata;
  struct queue_crawl *crawl = call->crawl;
  struct queue_link_batch *batch = call->batch;
  redisReply *answer = reply;
  free(call);
  if (answer && answer->type == REDIS_REPLY_INTEGER) {
    queue_crawl_unlink(crawl, batch);
    if (crawl->refused && !crawl->options->quiet)
      fprintf(stderr, "afetch: Redis takes the links again\n");
    crawl->refused = false;
    crawl->backoff_ms = QUEUE_CRAWL_FIRST_BACKOFF_MS;
    crawl->changed(crawl->arg); /* pages may be acknowledged now */
    return;
  }
  /* Sent again (adding twice adds once): after the backoff when refused, once the link is
   * back when it went (no reply). */
  batch->sent = false;
  if (answer)
    queue_crawl_refused(crawl, answer->type == REDIS_REPLY_ERROR ? answer->str
                                                                  : "an unexpected answer");
}

/* Sends one batch. False when it cannot be (the link is down, or out of memory). */
static bool queue_crawl_send(struct queue_crawl *crawl, struct redis_link *link,
                             struct queue_link_batch *batch) {
  struct queue_args args = {0};
  char key_count[8];
  snprintf(key_count, sizeof key_count, "%d", 2 + QUEUE_PARTITIONS);
  bool built = queue_args_add_string(&args, "EVAL") &&
               queue_args_add_string(&args, queue_add_script) &&
               queue_args_add_string(&args, key_count);
  for (size_t i = 0; built && i < 2 + QUEUE_PARTITIONS; i++)
    built = queue_args_add_string(&args, crawl->keys[i]);
  built = built && queue_args_add_string(&args, crawl->max_pages);
  for (size_t i = 0; built && i < batch->count; i++)
    built = queue_args_add_string(&args, batch->values[i]);
  struct queue_crawl_call *call = built ? malloc(sizeof *call) : NULL;
  if (call) {
    *call = (struct queue_crawl_call){crawl, batch};
    built = redis_link_command(link, queue_crawl_on_added, call, (int)args.count, args.argv,
                               args.lengths);
    if (!built)
      free(call);
  }
  queue_args_free(&args);
  return built && call;
}

bool queue_crawl_flush(struct queue_crawl *crawl, struct redis_link *link) {
  if (crawl->refused && crawl->waiting)
    return false;
  for (struct queue_link_batch *batch = crawl->batches; batch; batch = batch->next) {
    if (batch->sent)
      continue;
    if (!queue_crawl_send(crawl, link, batch))
      return false;
    batch->sent = true;
  }
  return true;
}

uint64_t queue_crawl_mark(const struct queue_crawl *crawl) { return crawl->next_id; }

void queue_crawl_take_accepted(const struct queue_crawl *crawl, struct queue_list *from,
                               struct queue_list *to) {
  uint64_t first_out = crawl->batches ? crawl->batches->id : crawl->next_id;
  while (from->head && from->head->links_mark <= first_out)
    queue_list_push(to, queue_list_pop(from));
}

bool queue_crawl_settled(const struct queue_crawl *crawl) { return !crawl->batches; }

void queue_crawl_free(struct queue_crawl *crawl) {
  if (!crawl)
    return;
  while (crawl->batches) {
    struct queue_link_batch *next = crawl->batches->next;
    queue_link_batch_free(crawl->batches);
    crawl->batches = next;
  }
  if (crawl->retry_timer)
    event_free(crawl->retry_timer);
  free(crawl);
}
