/* --enqueue: the producer. Blocking Redis calls: it runs no event loop of its own work, only
 * the input reader's (source.c) to wait for a pipe. */
#include "afetch/queue_enqueue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <xxhash.h>

#include "afetch/options.h"
#include "afetch/queue.h"
#include "afetch/queue_scripts.h"
#include "afetch/scheduler.h"
#include "afetch/source.h"

/* Lines per script call: one round trip for this many lines, and a script that holds Redis
 * for well under a millisecond. */
#define QUEUE_ENQUEUE_BATCH 256

/* One batch of lines as the script's arguments (the strings owned). */
struct queue_batch {
  const char *argv[4 + 2 + QUEUE_PARTITIONS + QUEUE_ADD_ARGS * QUEUE_ENQUEUE_BATCH];
  size_t argv_length[4 + 2 + QUEUE_PARTITIONS + QUEUE_ADD_ARGS * QUEUE_ENQUEUE_BATCH];
  char keys[2 + QUEUE_PARTITIONS][QUEUE_KEY_MAX];
  char fingerprints[QUEUE_ENQUEUE_BATCH][33];
  char partitions[QUEUE_ENQUEUE_BATCH][12];
  char *lines[QUEUE_ENQUEUE_BATCH];
  size_t count;
  uint64_t added, read;
};

static void queue_batch_clear(struct queue_batch *batch) {
  for (size_t i = 0; i < batch->count; i++)
    free(batch->lines[i]);
  batch->count = 0;
}

static bool queue_batch_keys(struct queue_batch *batch, const char *name) {
  bool fits = queue_key(batch->keys[0], QUEUE_KEY_MAX, name, "seen") &&
              queue_key(batch->keys[1], QUEUE_KEY_MAX, name, "index");
  for (unsigned partition = 0; fits && partition < QUEUE_PARTITIONS; partition++)
    fits = queue_partition_key(batch->keys[2 + partition], QUEUE_KEY_MAX, name, partition);
  return fits;
}

/* Sends the batch to the script; false after a message when Redis fails or refuses. */
static bool queue_batch_send(redisContext *redis, struct queue_batch *batch) {
  if (batch->count == 0)
    return true;
  size_t argc = 0;
  char key_count[8];
  snprintf(key_count, sizeof key_count, "%d", 2 + QUEUE_PARTITIONS);
  const char *head[] = {"EVAL", queue_add_script, key_count};
  for (size_t i = 0; i < 3; i++)
    batch->argv[argc] = head[i], batch->argv_length[argc++] = strlen(head[i]);
  for (size_t i = 0; i < 2 + QUEUE_PARTITIONS; i++)
    batch->argv[argc] = batch->keys[i], batch->argv_length[argc++] = strlen(batch->keys[i]);
  batch->argv[argc] = "0", batch->argv_length[argc++] = 1; /* no cap on the input's lines */
  for (size_t i = 0; i < batch->count; i++) {
    const char *line = batch->lines[i];
    bool cut = line[strlen(line) + 1] == '1'; /* the flag after the line's NUL */
    const char *parts[QUEUE_ADD_ARGS] = {
        batch->fingerprints[i], batch->partitions[i], line, cut ? "1" : "0", "", "", ""};
    for (size_t j = 0; j < QUEUE_ADD_ARGS; j++)
      batch->argv[argc] = parts[j], batch->argv_length[argc++] = strlen(parts[j]);
  }
  redisReply *reply = redisCommandArgv(redis, (int)argc, batch->argv, batch->argv_length);
  bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
  if (ok)
    batch->added += (uint64_t)reply->integer;
  else
    fprintf(stderr, "afetch: cannot add to the queue: %s\n", reply ? reply->str : redis->errstr);
  if (reply)
    freeReplyObject(reply);
  queue_batch_clear(batch);
  return ok;
}

/* Adds one line to the batch: its fingerprint, partition, text and cut flag. */
static int queue_batch_add(struct queue_batch *batch, const struct source_line *line,
                           const struct afetch_options *options) {
  int partition = queue_partition_of(line, options);
  char *copy = partition >= 0 ? malloc(line->length + 2) : NULL;
  if (!copy)
    return -1;
  memcpy(copy, line->text, line->length);
  copy[line->length] = '\0';
  copy[line->length + 1] = line->too_long ? '1' : '0';
  XXH128_hash_t hash = XXH3_128bits(line->text, line->length);
  size_t i = batch->count++;
  snprintf(batch->fingerprints[i], sizeof batch->fingerprints[i], "%016" PRIx64 "%016" PRIx64,
           (uint64_t)hash.high64, (uint64_t)hash.low64);
  snprintf(batch->partitions[i], sizeof batch->partitions[i], "%d", partition);
  batch->lines[i] = copy;
  batch->read++;
  return 0;
}

/* Every line of the input into the queue: the exit status. */
static int queue_enqueue_lines(redisContext *redis, struct source *lines, struct event_base *base,
                               struct queue_batch *batch, const struct afetch_options *options) {
  for (;;) {
    struct source_line line;
    switch (source_next(lines, &line)) {
    case SOURCE_PENDING:
      if (!queue_batch_send(redis, batch)) /* what came so far goes while the pipe is quiet */
        return AFETCH_EXIT_INTERNAL;
      event_base_loop(base, EVLOOP_ONCE);
      continue;
    case SOURCE_END:
      return queue_batch_send(redis, batch) ? AFETCH_EXIT_ALL_OK : AFETCH_EXIT_INTERNAL;
    case SOURCE_ERROR:
      fprintf(stderr, "afetch: %s\n", source_error(lines));
      return queue_batch_send(redis, batch) ? AFETCH_EXIT_USAGE : AFETCH_EXIT_INTERNAL;
    case SOURCE_LINE:
      break;
    }
    if (queue_batch_add(batch, &line, options) < 0) {
      fprintf(stderr, "afetch: out of memory\n");
      return AFETCH_EXIT_INTERNAL;
    }
    if (batch->count == QUEUE_ENQUEUE_BATCH && !queue_batch_send(redis, batch))
      return AFETCH_EXIT_INTERNAL;
  }
}

static void queue_on_readable(void *arg) { (void)arg; }

int queue_enqueue_run(const struct afetch_options *options) {
  char error[512];
  struct event_base *base = event_base_new();
  struct queue_batch *batch = calloc(1, sizeof *batch);
  if (!base || !batch || !queue_batch_keys(batch, options->queue.name)) {
    fprintf(stderr, "afetch: cannot start: out of memory\n");
    free(batch);
    if (base)
      event_base_free(base);
    return AFETCH_EXIT_INTERNAL;
  }
  int status = AFETCH_EXIT_INTERNAL;
  struct source *lines = source_open(base, options->inputs, options->input_count, queue_on_readable,
                                     NULL, error, sizeof error);
  redisContext *redis = lines ? queue_connect(options) : NULL;
  if (!lines) {
    fprintf(stderr, "afetch: %s\n", error);
    status = AFETCH_EXIT_USAGE;
  } else if (redis && queue_create_groups(redis, options)) {
    status = queue_enqueue_lines(redis, lines, base, batch, options);
    if (!options->quiet)
      fprintf(stderr,
              "afetch: %" PRIu64 " of %" PRIu64 " lines added to queue '%s' (the rest "
              "were there before)\n",
              batch->added, batch->read, options->queue.name);
  }
  if (redis)
    redisFree(redis);
  queue_batch_clear(batch);
  free(batch);
  source_close(lines);
  event_base_free(base);
  return status;
}
