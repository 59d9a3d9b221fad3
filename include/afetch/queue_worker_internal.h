/* The queue worker's state (queue_worker.h), shared by its two files: queue_worker.c (taking
 * entries, renewing the claims, the work source) and queue_settle.c (what becomes of an entry
 * once its request is done: acknowledged when its result is written, dead-lettered with it,
 * or released to be delivered again). Everything runs on the scheduler's thread. */
#ifndef AFETCH_QUEUE_WORKER_INTERNAL_H
#define AFETCH_QUEUE_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "afetch/queue.h"
#include "afetch/queue_entries.h"
#include "afetch/queue_pace.h"
#include "afetch/redis_link.h"
#include "afetch/work_source.h"

struct afetch_options;
struct outcome;
struct queue_crawl;
struct queue_fleet;

/* The scripts' keys: dead letters, the partitions, their leases, the workers' set, the
 * errors. */
#define QUEUE_KEY_COUNT (3 + 2 * QUEUE_PARTITIONS)
#define QUEUE_KEY_DEAD 0
#define QUEUE_KEY_WORKERS (QUEUE_KEY_COUNT - 2)
#define QUEUE_KEY_ERRORS (QUEUE_KEY_COUNT - 1)

struct queue_worker {
  struct work_source base;
  const struct afetch_options *options;
  struct event_base *event_base;
  struct redis_link *link;
  struct queue_crawl *crawl; /* --crawl: the links of pages fetched into the queue; NULL: none */
  struct queue_fleet *fleet; /* --rate: this worker's share of the fleet's; NULL: none */
  char keys[QUEUE_KEY_COUNT][QUEUE_KEY_MAX]; /* see QUEUE_KEY_COUNT */
  char lease_ms[24];           /* the scripts' lease argument: "0" without a per-host option */
  char consumer[300];          /* hostname:pid */
  struct queue_list waiting;   /* read, not handed out */
  struct queue_entry *held;    /* handed out, not done (uthash by index) */
  struct queue_list committed; /* done: their results are in the output's buffer */
  struct queue_list writing;   /* in the write under way */
  struct queue_list acking;    /* on the output, to acknowledge */
  size_t acks_in_flight;       /* entries in acknowledgement calls not answered yet */
  unsigned ack_calls_out;      /* those calls */
  unsigned releases_out;       /* release calls not answered yet */
  unsigned takes_out;          /* take calls not answered yet */
  size_t asked;                /* entries those asked for */
  struct queue_pace pace;      /* the round trip and the rate: how many entries to hold */
  int64_t next_take_us;        /* an empty queue is not asked again before this */
  long poll_ms;
  int64_t last_reclaim_us;
  unsigned first_partition; /* the take's turn */
  int64_t idle_since_us;    /* the queue held nothing, waiting nor pending, since; 0: it did */
  struct event *poll_timer, *touch_timer;
  bool stopping, exhausted, failed, failure_said;
  bool leaving;           /* the leave script is out (queue_worker_finish()) */
  uint64_t dead_lettered; /* by this worker's takes (no result) and acks (a last failure) */
  uint64_t released;      /* failures given back to be delivered again */
  char error[300];
};

/* queue_worker.c: "EVAL script N keys...", with the worker's keys. False when out of
 * memory. */
bool queue_args_eval(struct queue_args *args, const struct queue_worker *worker,
                     const char *script);
/* Sends a built command on the link. False when it could not be sent. */
bool queue_send(struct queue_worker *worker, struct queue_args *args, redisCallbackFn *fn,
                void *privdata);
/* The source breaks (Redis refused a script, out of memory, --redis-timeout): next() says
 * so once, the run ends with exit status 3 when what is in flight is done. */
void queue_fail(struct queue_worker *worker, const char *format, const char *detail);

/* queue_settle.c: acknowledges what is on the output, in one call (at most
 * QUEUE_ACK_CALLS_MAX out at once); with --crawl, only the pages whose links Redis accepted. */
void queue_flush_acks(struct queue_worker *worker);
/* --crawl: a links batch was accepted, or a refused one may go again. */
void queue_on_crawl_changed(void *arg);
/* The output watch (commit.h): what was committed is in this write ... */
void queue_on_before_output(void *arg);
/* ... and is on the output now (acknowledged), or failed (delivered again). */
void queue_on_after_output(void *arg, bool written);
/* The held entry's request failed with `outcome`: true when it is released (taken out of
 * `held` and freed) to be delivered again, with no result written; false when its result
 * is to be written (not transient, its last delivery: then marked for the dead letters, or
 * out of memory). */
bool queue_release_or_bury(struct queue_worker *worker, struct queue_entry *entry,
                           const struct outcome *outcome);

#endif
