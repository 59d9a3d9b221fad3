/* Private to the scheduler's three files: scheduler.c (the run: stopping, the pump, the event
 * handlers, set-up), scheduler_dispatch.c (requests read and handed to a worker's free slot)
 * and scheduler_outcome.c (how a job ends: an outcome's retry or commit, or a result without
 * a run). The run's state and the functions they share, all on the main thread. Nothing else
 * includes this. */
#ifndef AFETCH_SCHEDULER_INTERNAL_H
#define AFETCH_SCHEDULER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/deadline.h"
#include "afetch/job.h"
#include "afetch/rate.h"
#include "afetch/result.h"
#include "afetch/retry_queue.h"
#include "afetch/scheduler.h"

struct commit;
struct hosts;
struct request_setup;
struct stop_signals;
struct worker_pool;

struct scheduler {
  struct event_base *base;
  const struct afetch_options *options;
  struct sink *sink;
  struct work_source *const *sources; /* pulled in this order; borrowed */
  size_t source_count;
  struct commit *commit;
  struct request_setup *setup;
  struct worker_pool *workers;
  struct event *pump_event;     /* activated by every handler; runs scheduler_on_pump */
  bool outcomes_posted;         /* a worker's outcome queue turned non-empty */
  enum afetch_exit signal_exit; /* a stop signal arrived: the pump stops the run */
  bool deadline_fired;          /* the deadline timer fired: the pump acts on it */
  unsigned long jobs_alive;     /* requests read whose result is not committed yet */
  struct job_list ready;        /* may start now */
  struct retry_queue retrying;  /* waiting for their retry timer */
  struct hosts *hosts;          /* --per-host, --robots */
  size_t look_ahead_limit;      /* at most this many parked or retrying before reading pauses */
  struct rate_bucket rate;      /* --rate */
  struct event *rate_timer;     /* wakes the pump when the bucket has a token again */
  /* --rate: the next job to start, taken and routed but waiting for a token. Taking it
   * before the token is there shows when the sources have run dry, so the run ends with its
   * last result instead of at the next token. */
  struct job *rate_held;
  struct event *deadline_timer;
  struct deadline deadline; /* --deadline, from scheduler_run() on */
  struct state *state;      /* --if-changed, borrowed */
  struct stop_signals *signals;
  uint64_t random_state;  /* backoff jitter */
  uint64_t next_position; /* position (sink order) the next request will get */
  bool input_failed;      /* a source failed: exit 3 once the rest is done */
  bool workers_stopped;
  bool deadline_passed; /* nothing starts any more; every unfinished URL gets "deadline" */
  bool finished;
  enum afetch_exit stop_reason; /* set when a signal or failure stops the run early */
  enum afetch_exit drained_by;  /* a queue worker's SIGTERM: nothing more pulled, the rest ends */
};

/* scheduler.c: the run stops early (nothing more is pulled); a failure warns and stops it. */
void scheduler_mark_stopping(struct scheduler *scheduler, enum afetch_exit reason);
void scheduler_fail(struct scheduler *scheduler, const char *what);

/* scheduler_dispatch.c: starts jobs while a slot, the rate and the hosts allow. */
void scheduler_fill_slots(struct scheduler *scheduler);

/* scheduler_outcome.c: every outcome the workers queued, to a retry or the commit; a job that
 * will not run (any more) reported with `why`, a robots.txt fetch dropped quietly; a page
 * robots.txt disallows. */
void scheduler_take_outcomes(struct scheduler *scheduler);
void scheduler_emit_not_run(struct scheduler *scheduler, struct job *job, enum result_error why,
                            const char *message);
void scheduler_drop(struct scheduler *scheduler, struct job *job, enum result_error why);
void scheduler_skip_by_robots(struct scheduler *scheduler, struct job *job, const char *rule);

#endif
