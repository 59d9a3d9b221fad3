/* The queue's key layout (queue.h), and the blocking connection --enqueue and --status use. */
#include "afetch/queue.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "afetch/input_source.h"
#include "afetch/options.h"
#include "afetch/redis_url.h"
#include "afetch/request.h"
#include "afetch/shard.h"
#include "afetch/source.h"
#include "afetch/url.h"

/* How long --enqueue and --status wait for Redis to answer. */
#define QUEUE_CONNECT_TIMEOUT_S 5

bool queue_key(char *key, size_t size, const char *name, const char *suffix) {
  int length = snprintf(key, size, "{%s}:%s", name, suffix);
  return length > 0 && (size_t)length < size;
}

bool queue_partition_key(char *key, size_t size, const char *name, unsigned partition) {
  char suffix[32];
  snprintf(suffix, sizeof suffix, "p:%u", partition);
  return queue_key(key, size, name, suffix);
}

int queue_partition_of(const struct source_line *line, const struct afetch_options *options) {
  struct request *request = input_line_request(line, options);
  if (!request)
    return -1;
  int partition = 0;
  char *host = request->input_error || request->too_long ? NULL : url_host_lowercase(request->url);
  if (host)
    partition = (int)shard_of_host(host, strlen(host), QUEUE_PARTITIONS) - 1;
  curl_free(host);
  request_free(request);
  return partition;
}

/* Sends one command; false after a message when it fails or Redis answers with an error. */
static bool queue_command_ok(redisContext *redis, const char *what, redisReply *reply) {
  bool ok = reply && reply->type != REDIS_REPLY_ERROR;
  if (!ok)
    fprintf(stderr, "afetch: Redis refused %s: %s\n", what, reply ? reply->str : redis->errstr);
  if (reply)
    freeReplyObject(reply);
  return ok;
}

static bool queue_log_in(redisContext *redis, const struct redis_address *address) {
  if (address->password &&
      !queue_command_ok(redis, "AUTH",
                        address->user
                            ? redisCommand(redis, "AUTH %s %s", address->user, address->password)
                            : redisCommand(redis, "AUTH %s", address->password)))
    return false;
  return address->db == 0 ||
         queue_command_ok(redis, "SELECT", redisCommand(redis, "SELECT %d", address->db));
}

redisContext *queue_connect(const struct afetch_options *options) {
  char message[512];
  struct redis_address address;
  if (!redis_url_parse(options->queue.redis_url, &address, message, sizeof message)) {
    fprintf(stderr, "afetch: %s\n", message);
    return NULL;
  }
  struct timeval timeout = {.tv_sec = QUEUE_CONNECT_TIMEOUT_S};
  redisContext *redis = redisConnectWithTimeout(address.host, address.port, timeout);
  bool usable = redis && !redis->err;
  if (!usable)
    fprintf(stderr, "afetch: cannot reach Redis at %s:%d: %s\n", address.host, address.port,
            redis ? redis->errstr : "out of memory");
  else
    usable = redisSetTimeout(redis, timeout) == REDIS_OK && queue_log_in(redis, &address);
  redis_address_free(&address);
  if (!usable && redis) {
    redisFree(redis);
    redis = NULL;
  }
  return redis;
}

bool queue_create_groups(redisContext *redis, const struct afetch_options *options) {
  for (unsigned partition = 0; partition < QUEUE_PARTITIONS; partition++) {
    char key[QUEUE_KEY_MAX];
    if (!queue_partition_key(key, sizeof key, options->queue.name, partition)) {
      fprintf(stderr, "afetch: --queue name too long\n");
      return false;
    }
    redisReply *reply = redisCommand(redis, "XGROUP CREATE %s %s 0 MKSTREAM", key, QUEUE_GROUP);
    bool exists =
        reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) == 0;
    if (exists) {
      freeReplyObject(reply);
      continue;
    }
    if (!queue_command_ok(redis, "XGROUP CREATE", reply))
      return false;
  }
  return true;
}
