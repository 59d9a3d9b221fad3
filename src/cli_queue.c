/* --redis and its modes: which options go together (the queue itself is queue.h's). */
#include "afetch/cli_table.h"
#include "afetch/redis_url.h"

#include <stdio.h>
#include <string.h>

#define CLI_QUEUE_DEFAULT_NAME "afetch"
#define CLI_QUEUE_DEFAULT_RECLAIM_MS 30000
#define CLI_QUEUE_DEFAULT_MAX_DELIVERIES 5
#define CLI_QUEUE_MAX_NAME 200 /* its keys stay within QUEUE_KEY_MAX */

/* The mode --redis asks for, or the refusal: none or more than one. */
static const char *cli_queue_mode(struct queue_options *queue) {
  int modes = queue->enqueue + queue->worker + queue->status;
  if (!queue->redis_url)
    return modes ? "--enqueue, --worker and --status need --redis URL" : NULL;
  if (modes != 1)
    return "--redis needs one of --enqueue, --worker or --status";
  queue->mode = queue->enqueue  ? QUEUE_MODE_ENQUEUE
                : queue->worker ? QUEUE_MODE_WORKER
                                : QUEUE_MODE_STATUS;
  return NULL;
}

/* Options that only a worker reads, and what a worker cannot combine yet. */
static const char *cli_queue_worker_refusal(const struct afetch_options *options,
                                            bool inputs_given) {
  const struct queue_options *queue = &options->queue;
  bool worker_options = queue->idle_exit_ms >= 0 || queue->reclaim_after_ms >= 0 ||
                        queue->redis_timeout_ms >= 0 || queue->max_deliveries > 0;
  if (queue->mode != QUEUE_MODE_WORKER)
    return worker_options ? "--idle-exit, --reclaim-after, --max-deliveries and "
                            "--redis-timeout need --worker"
                          : NULL;
  if (inputs_given)
    return "--worker reads its URLs from the queue: no FILE or URL (add them with --enqueue)";
  if (options->page_requisites)
    return "--worker cannot fetch page requisites (-p) yet";
  if (options->journal_path || options->merge)
    return "--worker cannot be used with --journal or --merge (the queue keeps what is done)";
  if (options->shard.count)
    return "--worker cannot be used with --shard (the queue shares the work)";
  return NULL;
}

static const char *cli_queue_refusal(struct afetch_options *options, bool inputs_given) {
  struct queue_options *queue = &options->queue;
  const char *refusal = cli_queue_mode(queue);
  if (refusal)
    return refusal;
  if (queue->mode == QUEUE_MODE_NONE && queue->name)
    return "--queue needs --redis URL";
  /* Without --redis too, a worker's options are refused rather than ignored. */
  if ((refusal = cli_queue_worker_refusal(options, inputs_given)) ||
      queue->mode == QUEUE_MODE_NONE)
    return refusal;
  if (queue->name && strlen(queue->name) > CLI_QUEUE_MAX_NAME)
    return "--queue wants a name of at most 200 bytes";
  if (queue->mode == QUEUE_MODE_STATUS && inputs_given)
    return "--status reads no FILE or URL";
  if (queue->mode != QUEUE_MODE_WORKER &&
      (options->merge || options->crawl || options->journal_path))
    return "--enqueue and --status cannot be used with --merge, --crawl or --journal";
  return NULL;
}

bool cli_check_queue(struct afetch_options *options, bool inputs_given, FILE *err) {
  struct queue_options *queue = &options->queue;
  const char *refusal = cli_queue_refusal(options, inputs_given);
  if (refusal) {
    fprintf(err, "afetch: %s\n", refusal);
    return false;
  }
  if (queue->mode == QUEUE_MODE_NONE)
    return true;
  char message[512];
  struct redis_address address;
  if (!redis_url_parse(queue->redis_url, &address, message, sizeof message)) {
    fprintf(err, "afetch: %s\n", message);
    return false;
  }
  redis_address_free(&address);
  if (!queue->name)
    queue->name = CLI_QUEUE_DEFAULT_NAME;
  if (queue->reclaim_after_ms < 0)
    queue->reclaim_after_ms = CLI_QUEUE_DEFAULT_RECLAIM_MS;
  if (queue->max_deliveries == 0)
    queue->max_deliveries = CLI_QUEUE_DEFAULT_MAX_DELIVERIES;
  if (queue->mode == QUEUE_MODE_WORKER)
    options->output_mode = AFETCH_OUTPUT_NDJSON; /* acknowledged as written, not held for order */
  return true;
}
