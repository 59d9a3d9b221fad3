/* What becomes of a queue worker's entry once its request is done (queue_worker_internal.h):
 * acknowledged once its result is on the output, with it into the dead letters when it was
 * a transient failure on its last delivery, or released to be delivered again (to any
 * worker) after a backoff when it was a transient failure before that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "afetch/options.h"
#include "afetch/outcome.h"
#include "afetch/queue_crawl.h"
#include "afetch/queue_scripts.h"
#include "afetch/queue_worker_internal.h"

/* Acknowledgement calls out at once, at most: what is written meanwhile goes in the next,
 * so a distant Redis gets fewer, larger calls (and the acks stay in commit order). */
#define QUEUE_ACK_CALLS_MAX 2
/* A released entry is delivered again after this long, doubling with each delivery, at most
 * half of --reclaim-after (plus up to the quarter of it between a worker's reclaims). */
#define QUEUE_REDELIVERY_FIRST_MS 1000

/* ---- acknowledging ---------------------------------------------------------------------- */

/* Entries in one acknowledgement call. */
struct queue_ack_call {
  struct queue_worker *worker;
  struct queue_list entries;
};

static void queue_on_ack(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context;
  struct queue_ack_call *call = privdata;
  struct queue_worker *worker = call->worker;
  redisReply *answer = reply;
  worker->acks_in_flight -= call->entries.count;
  worker->ack_calls_out--;
  bool acked = answer && answer->type == REDIS_REPLY_INTEGER;
  if (acked) {
    queue_list_free(&call->entries);
  } else {
    /* The connection went (or Redis refused): tried again once it is back. */
    if (answer)
      queue_fail(worker, "Redis refused an acknowledgement: %s", answer->str);
    queue_list_splice(&call->entries, &worker->acking);
    worker->acking = call->entries;
  }
  free(call);
  if (acked) /* what waited for this call goes now; a failed one waits for the link */
    queue_flush_acks(worker);
}

void queue_flush_acks(struct queue_worker *worker) {
  if (redis_link_state(worker->link) != REDIS_LINK_READY)
    return;
  if (worker->crawl)
    queue_crawl_flush(worker->crawl, worker->link);
  if (worker->ack_calls_out >= QUEUE_ACK_CALLS_MAX || !worker->acking.head)
    return;
  struct queue_list ready = {0};
  if (worker->crawl)
    queue_crawl_take_accepted(worker->crawl, &worker->acking, &ready);
  else
    queue_list_splice(&ready, &worker->acking);
  if (!ready.head)
    return;
  struct queue_ack_call *call = malloc(sizeof *call);
  struct queue_args args = {0};
  bool built = call && queue_args_eval(&args, worker, queue_ack_script) &&
               queue_args_add_string(&args, QUEUE_GROUP) && queue_args_acks(&args, ready.head);
  if (built) {
    *call = (struct queue_ack_call){.worker = worker, .entries = ready};
    built = queue_send(worker, &args, queue_on_ack, call);
  }
  queue_args_free(&args);
  if (!built) {
    free(call);
    queue_list_splice(&ready, &worker->acking);
    worker->acking = ready;
    queue_fail(worker, "%s", "cannot send an acknowledgement: out of memory");
    return;
  }
  worker->acks_in_flight += ready.count;
  worker->ack_calls_out++;
}

/* --crawl: a links batch was accepted, or a refused one may go again. */
void queue_on_crawl_changed(void *arg) { queue_flush_acks(arg); }

void queue_on_before_output(void *arg) {
  struct queue_worker *worker = arg;
  queue_list_splice(&worker->writing, &worker->committed);
}

/* A failed write leaves its entries to be delivered again (the run stops). */
void queue_on_after_output(void *arg, bool written) {
  struct queue_worker *worker = arg;
  if (written)
    queue_list_splice(&worker->acking, &worker->writing);
  else
    queue_list_free(&worker->writing);
  queue_flush_acks(worker);
}

/* ---- releasing -------------------------------------------------------------------------- */

/* The failure in a few words, from the result's "error" ("http 503", "connect: Couldn't
 * connect to server"): what the dead letter and the errors' Hash keep. NULL when out of
 * memory. */
static char *queue_failure_text(const struct outcome *outcome) {
  cJSON *result = cJSON_ParseWithLength(outcome->json, outcome->json_length);
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(result, "error");
  const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "code"));
  const char *message = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "message"));
  char text[512];
  if (code && strcmp(code, "http") == 0)
    snprintf(text, sizeof text, "http %ld", outcome->status);
  else if (code)
    snprintf(text, sizeof text, "%s: %s", code, message ? message : "");
  else
    snprintf(text, sizeof text, "a transient failure (status %ld)", outcome->status);
  cJSON_Delete(result);
  return strdup(text);
}

static void queue_on_release(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context;
  struct queue_worker *worker = privdata;
  redisReply *answer = reply;
  worker->releases_out--;
  if (answer && answer->type == REDIS_REPLY_ERROR)
    queue_fail(worker, "Redis refused to release an entry: %s", answer->str);
}

/* The entry's claim is set to lapse after the backoff (its idle time set so that the next
 * reclaim after it takes it) and its error remembered. Without Redis now, it is only no
 * longer renewed: reclaimed after --reclaim-after, its error not remembered. */
static void queue_release(struct queue_worker *worker, const struct queue_entry *entry,
                          const char *error) {
  long reclaim_ms = worker->options->queue.reclaim_after_ms;
  long backoff_ms = QUEUE_REDELIVERY_FIRST_MS;
  for (unsigned i = 1; i < entry->deliveries && backoff_ms < reclaim_ms; i++)
    backoff_ms *= 2;
  if (backoff_ms > reclaim_ms / 2)
    backoff_ms = reclaim_ms / 2;
  char idle_ms[24];
  snprintf(idle_ms, sizeof idle_ms, "%ld", reclaim_ms - backoff_ms);
  if (redis_link_state(worker->link) != REDIS_LINK_READY)
    return;
  struct queue_args args = {0};
  bool sent =
      queue_args_eval(&args, worker, queue_release_script) &&
      queue_args_add_string(&args, QUEUE_GROUP) && queue_args_add_string(&args, worker->consumer) &&
      queue_args_add_string(&args, queue_partition_name(entry->partition)) &&
      queue_args_add_string(&args, entry->id) && queue_args_add_string(&args, idle_ms) &&
      queue_args_add_string(&args, error) && queue_send(worker, &args, queue_on_release, worker);
  queue_args_free(&args);
  if (sent)
    worker->releases_out++;
}

bool queue_release_or_bury(struct queue_worker *worker, struct queue_entry *entry,
                           const struct outcome *outcome) {
  if (outcome->ok || !outcome->transient)
    return false;
  char *error = queue_failure_text(outcome);
  if (!error)
    return false; /* out of memory: its failure is written */
  if (entry->deliveries >= worker->options->queue.max_deliveries) {
    entry->dead_error = error;
    worker->dead_lettered++;
    return false;
  }
  HASH_DEL(worker->held, entry);
  queue_release(worker, entry, error);
  free(error);
  queue_entry_free(entry);
  worker->released++;
  return true;
}
