/* Requests read and handed out: the work sources' requests become jobs (numbered, set up as
 * the options ask), a job's host admits it, parks it or sends its robots.txt first, --rate
 * gives a token, and a worker with a free slot gets the attempt. After the deadline, what
 * the sources have without waiting gets its "deadline" result. Part of the scheduler
 * (scheduler_internal.h), on the main thread. */
#include <event2/event.h>

#include "afetch/commit.h"
#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/rate.h"
#include "afetch/request.h"
#include "afetch/request_setup.h"
#include "afetch/retry_queue.h"
#include "afetch/scheduler_internal.h"
#include "afetch/sink.h"
#include "afetch/work_source.h"
#include "afetch/worker_pool.h"

/* ---- reading requests ---------------------------------------------------------------- */

/* Counts a new job alive and gives it what the options ask: file, validators, host. NULL
 * (the run failing) when out of memory. */
static struct job *scheduler_setup_job(struct scheduler *scheduler, struct request *request,
                                       struct work_source *source) {
  struct job *job = job_new(request);
  if (!job) {
    scheduler_fail(scheduler, "out of memory");
    return NULL;
  }
  scheduler->jobs_alive++;
  job->source = source;
  request->position = scheduler->next_position++;
  if (!request->index_set)
    request->index = request->position;
  if (scheduler->deadline_passed)
    return job;
  if (!request_setup_apply(scheduler->setup, request) ||
      (scheduler->hosts && !hosts_attach(scheduler->hosts, job))) {
    scheduler_emit_not_run(scheduler, job, RESULT_OTHER, NULL);
    scheduler_fail(scheduler, "out of memory");
    return NULL;
  }
  return job;
}

/* A new job from the first source that has a request now, or NULL (none has one, or the
 * run is stopping). */
static struct job *scheduler_pull_job(struct scheduler *scheduler) {
  for (size_t i = 0; i < scheduler->source_count && !scheduler->stop_reason; i++) {
    struct work_source *source = scheduler->sources[i];
    struct request *request;
    enum work_status status;
    while ((status = work_source_next(source, &request)) == WORK_FAILED) {
      commit_warn(scheduler->commit, "%s", work_source_error(source));
      scheduler->input_failed = true;
    }
    if (status == WORK_REQUEST)
      return scheduler_setup_job(scheduler, request, source);
    if (status == WORK_NO_MEMORY)
      scheduler_fail(scheduler, "out of memory");
  }
  return NULL;
}

/* ---- starting jobs ------------------------------------------------------------------- */

/* What a job that wants to start needs first. Returns the job to start now (it, or its
 * host's robots.txt); NULL when it was parked until its host can take it, or skipped. */
static struct job *scheduler_route(struct scheduler *scheduler, struct job *job) {
  if (job->request->input_error) {
    scheduler_emit_not_run(scheduler, job, RESULT_INVALID_INPUT, job->request->input_error);
    return NULL;
  }
  if (!scheduler->hosts)
    return job;
  struct job *robots_job = NULL;
  char rule[256];
  switch (hosts_admit(scheduler->hosts, job, &robots_job, rule, sizeof rule)) {
  case HOST_START:
    return job;
  case HOST_WAIT:
    return NULL;
  case HOST_FETCH_ROBOTS:
    if (!robots_job) {
      scheduler_fail(scheduler, "out of memory");
      return NULL;
    }
    scheduler->jobs_alive++; /* so the run waits for it, though it writes no result */
    return robots_job;
  case HOST_DISALLOWED:
    scheduler_skip_by_robots(scheduler, job, rule);
    return NULL;
  }
  return NULL;
}

/* Jobs waiting for their host or for a retry hold no slot, so without this bound a dead
 * host (or a busy one) would let reading run ahead through the whole input. */
static bool scheduler_may_read(const struct scheduler *scheduler) {
  size_t waiting = retry_queue_count(&scheduler->retrying) +
                   (scheduler->hosts ? hosts_waiting(scheduler->hosts) : 0);
  return !scheduler->stop_reason && waiting < scheduler->look_ahead_limit &&
         sink_accepts(scheduler->sink, scheduler->next_position);
}

/* The next job that may start now: one from `ready`, else a new one from the sources. Jobs whose
 * host cannot take them yet are parked, and reading goes on for another host, as far as the
 * look-ahead and the gather window allow. */
static struct job *scheduler_next_startable(struct scheduler *scheduler) {
  struct job *job;
  while (!scheduler->stop_reason && (job = job_list_pop_front(&scheduler->ready)))
    if ((job = scheduler_route(scheduler, job)))
      return job;
  while (scheduler_may_read(scheduler)) {
    if (!(job = scheduler_pull_job(scheduler)))
      return NULL;
    if ((job = scheduler_route(scheduler, job)))
      return job;
  }
  return NULL;
}

/* True when --rate lets one more request start now; otherwise the rate timer is set. */
static bool scheduler_rate_allows(struct scheduler *scheduler) {
  if (!scheduler->rate_timer)
    return true;
  int64_t wait_us = rate_bucket_wait_us(&scheduler->rate, rate_now_us());
  if (wait_us == 0)
    return true;
  if (!evtimer_pending(scheduler->rate_timer, NULL)) {
    struct timeval delay = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(scheduler->rate_timer, &delay);
  }
  return false;
}

/* Hands the job's next attempt to a worker with a free slot. */
static void scheduler_start(struct scheduler *scheduler, struct job *job) {
  if (scheduler->rate_timer)
    rate_bucket_take(&scheduler->rate, rate_now_us());
  job->attempts++;
  if (scheduler->hosts)
    hosts_started(scheduler->hosts, job);
  struct attempt attempt = {.request = job->request,
                            .tag = job,
                            .number = job->attempts,
                            .has_retry_after = job->has_retry_after,
                            .retry_after_s = job->retry_after_s,
                            .host_paused_ms = job->host_paused_us / 1000};
  if (worker_pool_submit(scheduler->workers, &attempt))
    return;
  if (scheduler->hosts)
    hosts_finished(scheduler->hosts, job);
  scheduler_drop(scheduler, job, RESULT_OTHER);
  scheduler_fail(scheduler, "cannot start a transfer: out of memory or a libcurl failure");
}

/* After the deadline: requests the sources still have without waiting get their "deadline"
 * result. */
static void scheduler_drain_after_deadline(struct scheduler *scheduler) {
  while (!scheduler->stop_reason && sink_accepts(scheduler->sink, scheduler->next_position)) {
    struct job *job = scheduler_pull_job(scheduler);
    if (!job)
      return;
    scheduler_emit_not_run(scheduler, job, RESULT_DEADLINE, NULL);
  }
}

/* Starts jobs while a slot, the rate and the hosts allow. */
void scheduler_fill_slots(struct scheduler *scheduler) {
  if (scheduler->deadline_passed) {
    scheduler_drain_after_deadline(scheduler);
    return;
  }
  while (!scheduler->stop_reason && worker_pool_has_slot(scheduler->workers)) {
    struct job *job =
        scheduler->rate_held ? scheduler->rate_held : scheduler_next_startable(scheduler);
    scheduler->rate_held = NULL;
    if (!job)
      return;
    if (!scheduler_rate_allows(scheduler)) {
      scheduler->rate_held = job;
      return;
    }
    scheduler_start(scheduler, job);
  }
}
