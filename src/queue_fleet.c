/* --rate across a fleet of workers (queue_fleet.h). */
#include "afetch/queue_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "afetch/options.h"
#include "afetch/rate.h"
#include "afetch/redis_link.h"
#include "afetch/work_source.h"

/* How often a worker counts the live workers: how soon a worker that comes or goes changes
 * the others' shares. */
#define QUEUE_FLEET_EVERY_MS 1000

/* KEYS: the workers' set. ARGV: consumer, live window ms. Registers the consumer now (a
 * refused write, -OOM, still counts the others) and drops those not heard of within the
 * window; answers how many are live. */
static const char queue_fleet_script[] =
    "local time = redis.call('TIME')\n"
    "local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)\n"
    "redis.pcall('ZADD', KEYS[1], now, ARGV[1])\n"
    "redis.pcall('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))\n"
    "return redis.call('ZCARD', KEYS[1])\n";

struct queue_fleet {
  double rate;              /* --rate: the fleet's */
  long long workers;        /* live workers at the last answer; 0: none yet */
  struct rate_bucket share; /* this worker's: rate / workers */
  struct redis_link *link;  /* borrowed, once ready */
  struct work_source *source;
  struct event *count_timer, *token_timer;
  bool asking; /* a count call is out */
  char *workers_key, *consumer;
  char window_ms[24];
};

static void queue_fleet_on_count(redisAsyncContext *context, void *reply, void *privdata) {
  (void)context;
  struct queue_fleet *fleet = privdata;
  redisReply *answer = reply;
  fleet->asking = false;
  if (!answer)
    return; /* the link went: asked again once it is back */
  long long workers = answer->type == REDIS_REPLY_INTEGER && answer->integer > 0
                          ? answer->integer
                          : (fleet->workers ? fleet->workers : 1);
  if (workers != fleet->workers)
    rate_bucket_set_rate(&fleet->share, fleet->rate / (double)workers, rate_now_us());
  bool first = fleet->workers == 0;
  fleet->workers = workers;
  if (first)
    work_source_wake(fleet->source);
}

static void queue_fleet_ask(struct queue_fleet *fleet) {
  if (fleet->asking || !fleet->link || redis_link_state(fleet->link) != REDIS_LINK_READY)
    return;
  const char *argv[] = {"EVAL", queue_fleet_script, "1", fleet->workers_key, fleet->consumer,
                        fleet->window_ms};
  fleet->asking = redis_link_command(fleet->link, queue_fleet_on_count, fleet, 6, argv, NULL);
}

static void queue_fleet_on_count_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  queue_fleet_ask(arg);
}

static void queue_fleet_on_token_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  work_source_wake(((struct queue_fleet *)arg)->source);
}

struct queue_fleet *queue_fleet_new(struct event_base *base, const struct afetch_options *options,
                                    const char *workers_key, const char *consumer,
                                    struct work_source *source, bool *failed) {
  *failed = false;
  if (options->rate_per_second <= 0)
    return NULL;
  struct queue_fleet *fleet = calloc(1, sizeof *fleet);
  if (fleet) {
    fleet->rate = options->rate_per_second;
    fleet->source = source;
    rate_bucket_init(&fleet->share, fleet->rate, rate_now_us());
    snprintf(fleet->window_ms, sizeof fleet->window_ms, "%ld", options->queue.reclaim_after_ms);
    fleet->workers_key = strdup(workers_key);
    fleet->consumer = strdup(consumer);
    fleet->count_timer = event_new(base, -1, EV_PERSIST, queue_fleet_on_count_timer, fleet);
    fleet->token_timer = evtimer_new(base, queue_fleet_on_token_timer, fleet);
  }
  struct timeval every = {.tv_sec = QUEUE_FLEET_EVERY_MS / 1000,
                          .tv_usec = (QUEUE_FLEET_EVERY_MS % 1000) * 1000};
  if (!fleet || !fleet->workers_key || !fleet->consumer || !fleet->count_timer ||
      !fleet->token_timer || evtimer_add(fleet->count_timer, &every) < 0) {
    queue_fleet_free(fleet);
    *failed = true;
    return NULL;
  }
  return fleet;
}

void queue_fleet_link_ready(struct queue_fleet *fleet, struct redis_link *link) {
  fleet->link = link;
  queue_fleet_ask(fleet);
}

bool queue_fleet_take(struct queue_fleet *fleet) {
  if (!fleet->workers)
    return false; /* woken by the first answer */
  int64_t now_us = rate_now_us();
  int64_t wait_us = rate_bucket_wait_us(&fleet->share, now_us);
  if (wait_us == 0)
    return rate_bucket_take(&fleet->share, now_us);
  if (!evtimer_pending(fleet->token_timer, NULL)) {
    struct timeval delay = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(fleet->token_timer, &delay);
  }
  return false;
}

void queue_fleet_free(struct queue_fleet *fleet) {
  if (!fleet)
    return;
  if (fleet->count_timer)
    event_free(fleet->count_timer);
  if (fleet->token_timer)
    event_free(fleet->token_timer);
  free(fleet->workers_key);
  free(fleet->consumer);
  free(fleet);
}
