/* Jobs waiting for their next try, each on a libevent timer. When a timer fires, its job
 * leaves the queue and goes to `on_due`, which only records and posts (the pump starts it).
 * Caller's thread only. */
#ifndef AFETCH_RETRY_QUEUE_H
#define AFETCH_RETRY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/job.h"

struct event_base;

typedef void (*retry_due_fn)(void *arg, struct job *job);

/* Embedded in its owner; the fields are the module's. */
struct retry_queue {
  struct event_base *base;
  struct job_list waiting;
  retry_due_fn on_due;
  void *arg;
};

void retry_queue_init(struct retry_queue *queue, struct event_base *base, retry_due_fn on_due,
                      void *arg);

/* Queues the job until `wait_ms` from now. False (the job not queued) when the timer cannot
 * be made. */
bool retry_queue_add(struct retry_queue *queue, struct job *job, int64_t wait_ms);

/* Jobs waiting. */
size_t retry_queue_count(const struct retry_queue *queue);

/* Moves every waiting job, oldest first, to the back of `into`, their timers freed. */
void retry_queue_take_all(struct retry_queue *queue, struct job_list *into);

#endif
