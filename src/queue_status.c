/* --status: what an operator watches, from XLEN and XPENDING's summary of each partition. */
#include "afetch/queue_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "afetch/options.h"
#include "afetch/queue.h"
#include "afetch/scheduler.h"

/* Adds a partition's XPENDING summary ([count, first, last, [[consumer, count]...]]) to the
 * total and the per-consumer counts. */
static void queue_status_add_pending(const redisReply *summary, double *pending, cJSON *consumers) {
  if (summary->type != REDIS_REPLY_ARRAY || summary->elements < 4)
    return;
  *pending += (double)summary->element[0]->integer;
  const redisReply *list = summary->element[3];
  for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
    const redisReply *pair = list->element[i];
    if (pair->type != REDIS_REPLY_ARRAY || pair->elements < 2)
      continue;
    double count = strtod(pair->element[1]->str, NULL);
    cJSON *known = cJSON_GetObjectItemCaseSensitive(consumers, pair->element[0]->str);
    if (known)
      cJSON_SetNumberValue(known, known->valuedouble + count);
    else
      cJSON_AddNumberToObject(consumers, pair->element[0]->str, count);
  }
}

/* An integer reply's value (0 for anything else: a key not there yet). */
static double queue_status_number(redisReply *reply) {
  double value = reply && reply->type == REDIS_REPLY_INTEGER  ? (double)reply->integer
                 : reply && reply->type == REDIS_REPLY_STRING ? strtod(reply->str, NULL)
                                                              : 0;
  if (reply)
    freeReplyObject(reply);
  return value;
}

/* The figures, pipelined: two commands per partition, then the counter, the dead letters
 * and the entries given back after a failure (their last errors). NULL when Redis fails. */
static cJSON *queue_status_read(redisContext *redis, const char *name) {
  char key[QUEUE_KEY_MAX];
  for (unsigned partition = 0; partition < QUEUE_PARTITIONS; partition++) {
    queue_partition_key(key, sizeof key, name, partition);
    redisAppendCommand(redis, "XLEN %s", key);
    redisAppendCommand(redis, "XPENDING %s %s", key, QUEUE_GROUP);
  }
  cJSON *status = cJSON_CreateObject();
  cJSON *consumers = cJSON_CreateObject();
  double length = 0, pending = 0;
  bool answered = true;
  for (unsigned partition = 0; partition < QUEUE_PARTITIONS; partition++) {
    redisReply *reply = NULL;
    answered = answered && redisGetReply(redis, (void **)&reply) == REDIS_OK;
    length += queue_status_number(reply);
    reply = NULL;
    answered = answered && redisGetReply(redis, (void **)&reply) == REDIS_OK;
    if (reply) {
      queue_status_add_pending(reply, &pending, consumers);
      freeReplyObject(reply);
    }
  }
  queue_key(key, sizeof key, name, "index");
  double enqueued = answered ? queue_status_number(redisCommand(redis, "GET %s", key)) : 0;
  queue_key(key, sizeof key, name, "dead");
  double dead = answered ? queue_status_number(redisCommand(redis, "XLEN %s", key)) : 0;
  queue_key(key, sizeof key, name, "errors");
  double redelivering = answered ? queue_status_number(redisCommand(redis, "HLEN %s", key)) : 0;
  cJSON_AddStringToObject(status, "queue", name);
  cJSON_AddNumberToObject(status, "enqueued", enqueued);
  cJSON_AddNumberToObject(status, "waiting", length - pending);
  cJSON_AddNumberToObject(status, "pending", pending);
  cJSON_AddItemToObject(status, "consumers", consumers);
  cJSON_AddNumberToObject(status, "redelivering", redelivering);
  cJSON_AddNumberToObject(status, "dead_letters", dead);
  if (!answered || redis->err) {
    fprintf(stderr, "afetch: Redis failed: %s\n", redis->errstr);
    cJSON_Delete(status);
    return NULL;
  }
  return status;
}

int queue_status_run(const struct afetch_options *options) {
  redisContext *redis = queue_connect(options);
  if (!redis)
    return AFETCH_EXIT_INTERNAL;
  cJSON *status = queue_status_read(redis, options->queue.name);
  redisFree(redis);
  char *text = status ? cJSON_PrintUnformatted(status) : NULL;
  cJSON_Delete(status);
  bool written = text && printf("%s\n", text) > 0 && fflush(stdout) == 0;
  free(text);
  return written ? AFETCH_EXIT_ALL_OK : AFETCH_EXIT_INTERNAL;
}
