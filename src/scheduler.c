/* The run: requests from the work sources -> a worker with a free slot -> the commit step, with
 * retries, per-host policy, a rate, a deadline, signals and shutdown.
 *
 * Every request becomes a job when it is read and stays one until its result is committed.
 * A job waits in exactly one place: `ready` (may start: a retry that came due, or a job its
 * host let go), its host's queue (hosts.c), `retrying` (a timer is set), or a worker (in
 * flight). Only jobs in flight hold a slot.
 *
 * One pump per loop pass: event handlers (input readable, outcomes arrived, a timer, a
 * signal) only record what happened and activate the pump event; the pump takes the
 * outcomes, commits them and starts work, once per pass. Nothing calls back into it.
 *
 * Reading requests and starting jobs is scheduler_dispatch.c; taking outcomes and reporting
 * jobs that did not run, scheduler_outcome.c (their shared state: scheduler_internal.h). */
#include "afetch/scheduler.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/commit.h"
#include "afetch/deadline.h"
#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/open_files.h"
#include "afetch/options.h"
#include "afetch/rate.h"
#include "afetch/request_setup.h"
#include "afetch/retry_queue.h"
#include "afetch/scheduler_internal.h"
#include "afetch/sink.h"
#include "afetch/state.h"
#include "afetch/stop_signals.h"
#include "afetch/work_source.h"
#include "afetch/worker_pool.h"

/* Asks for one pump in this loop pass (or the next): what every event handler does. */
static void scheduler_post_pump(struct scheduler *scheduler) {
  event_active(scheduler->pump_event, EV_TIMEOUT, 0);
}

static void scheduler_end_sources(struct scheduler *scheduler, enum work_end how) {
  for (size_t i = 0; i < scheduler->source_count; i++)
    work_source_end(scheduler->sources[i], how);
}

/* The run is stopping early: nothing more is pulled. The rest is done where the pump next
 * looks (nothing half done). */
void scheduler_mark_stopping(struct scheduler *scheduler, enum afetch_exit reason) {
  if (scheduler->stop_reason)
    return;
  scheduler->stop_reason = reason;
  scheduler_end_sources(scheduler, WORK_END_STOP);
}

/* A failure: warn, and stop the run. */
void scheduler_fail(struct scheduler *scheduler, const char *what) {
  if (scheduler->stop_reason)
    return;
  commit_warn(scheduler->commit, "%s", what);
  scheduler_mark_stopping(scheduler, AFETCH_EXIT_INTERNAL);
}

/* No source has anything to hand out, nor expects anything but results still to come. */
static bool scheduler_sources_idle(const struct scheduler *scheduler) {
  for (size_t i = 0; i < scheduler->source_count; i++)
    if (!work_source_idle(scheduler->sources[i]))
      return false;
  return true;
}

/* Closes the output once nothing is left to come back. */
static void scheduler_finish_if_done(struct scheduler *scheduler) {
  if (scheduler->finished || scheduler->jobs_alive > 0 ||
      !(scheduler->stop_reason || scheduler_sources_idle(scheduler)))
    return;
  scheduler->finished = true;
  scheduler_end_sources(scheduler, WORK_END_STOP);
  if (sink_finish(scheduler->sink) < 0)
    scheduler_mark_stopping(scheduler, AFETCH_EXIT_INTERNAL);
  event_base_loopbreak(scheduler->base);
}

/* Every job that is not in a worker (ready, waiting for its host, waiting for a retry) is
 * reported with `why`. */
static void scheduler_flush_waiting_jobs(struct scheduler *scheduler, enum result_error why) {
  struct job_list stopped = {0};
  if (scheduler->rate_held)
    job_list_push_back(&stopped, scheduler->rate_held);
  scheduler->rate_held = NULL;
  job_list_take_all(&stopped, &scheduler->ready);
  if (scheduler->hosts)
    hosts_take_all_waiting(scheduler->hosts, &stopped);
  retry_queue_take_all(&scheduler->retrying, &stopped);
  struct job *job;
  /* Ready, then parked, then retrying: gather output holds any that come early. */
  while ((job = job_list_pop_front(&stopped)))
    scheduler_drop(scheduler, job, why);
}

static void scheduler_stop_workers(struct scheduler *scheduler, enum result_error why) {
  if (scheduler->workers_stopped)
    return;
  scheduler->workers_stopped = true;
  worker_pool_stop_all(scheduler->workers, why);
}

/* Stops reading and cancels everything unfinished; the run ends when the cancelled outcomes
 * are back (inline workers queue them at once: the pump takes them in this pass). */
static void scheduler_stop(struct scheduler *scheduler, enum afetch_exit reason) {
  scheduler_mark_stopping(scheduler, reason);
  scheduler_flush_waiting_jobs(scheduler, RESULT_CANCELLED);
  scheduler_stop_workers(scheduler, RESULT_CANCELLED);
}

/* A stop signal stops the run: what is in flight is "cancelled". A queue worker's first
 * SIGTERM drains instead (what a fleet's scheduler sends before its SIGKILL): nothing more is
 * pulled, what was pulled finishes and is acknowledged; another signal stops. */
static void scheduler_take_signal(struct scheduler *scheduler) {
  enum afetch_exit signal = scheduler->signal_exit;
  if (scheduler->options->queue.mode != QUEUE_MODE_WORKER || signal != AFETCH_EXIT_SIGTERM ||
      scheduler->drained_by || scheduler->stop_reason) {
    scheduler_stop(scheduler, signal);
    return;
  }
  scheduler->drained_by = signal;
  scheduler->signal_exit = 0; /* the next one stops */
  commit_warn(scheduler->commit, "SIGTERM: finishing the requests in flight (another signal "
                                 "cancels them)");
  scheduler_end_sources(scheduler, WORK_END_STOP);
}

/* --deadline: stop everything, report what is unfinished, and read what can be read without
 * waiting (regular files) to report it too (scheduler_fill_slots). */
static void scheduler_pass_deadline(struct scheduler *scheduler) {
  if (scheduler->stop_reason || scheduler->finished)
    return;
  scheduler->deadline_passed = true;
  commit_mark_not_ok(scheduler->commit); /* the run did not finish: exit 1 whatever came back */
  commit_warn(scheduler->commit,
              "the deadline of %.3g s passed: unfinished URLs are reported as \"deadline\"",
              (double)scheduler->options->deadline_ms / 1000.0);
  scheduler_end_sources(scheduler, WORK_END_AT_STREAMS);
  scheduler_flush_waiting_jobs(scheduler, RESULT_DEADLINE);
  scheduler_stop_workers(scheduler, RESULT_DEADLINE);
}

/* ---- the pump and the event handlers ------------------------------------------------- */

/* Once per loop pass: act on a signal or the deadline, commit the outcomes, start work, and
 * end the run when nothing is left. Outcomes an inline worker queues meanwhile (lines it
 * found invalid, transfers a stop cancelled) are taken in the same pass. */
static void scheduler_on_pump(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct scheduler *scheduler = arg;
  if (scheduler->signal_exit)
    scheduler_take_signal(scheduler);
  if (scheduler->deadline_fired) {
    scheduler->deadline_fired = false;
    scheduler_pass_deadline(scheduler);
  }
  do {
    scheduler->outcomes_posted = false;
    scheduler_take_outcomes(scheduler);
    scheduler_fill_slots(scheduler);
    if (!commit_flush(scheduler->commit)) /* the batch into the journal */
      scheduler_mark_stopping(scheduler, AFETCH_EXIT_INTERNAL);
    /* A failure marked on the way (the output, memory) stops the run here, where nothing of
     * a result is half committed. */
    if (scheduler->stop_reason && !scheduler->workers_stopped)
      scheduler_stop(scheduler, scheduler->stop_reason);
  } while (scheduler->outcomes_posted);
  scheduler_finish_if_done(scheduler);
}

static void scheduler_on_outcomes(void *arg) {
  struct scheduler *scheduler = arg;
  scheduler->outcomes_posted = true;
  scheduler_post_pump(scheduler);
}

struct event *scheduler_wake_event(struct scheduler *scheduler) {
  return scheduler->pump_event;
}

static void scheduler_on_signal(void *arg, int exit_status) {
  struct scheduler *scheduler = arg;
  if (!scheduler->signal_exit)
    scheduler->signal_exit = (enum afetch_exit)exit_status;
  scheduler_post_pump(scheduler);
}

static void scheduler_on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  scheduler_post_pump(arg);
}

static void scheduler_on_deadline(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct scheduler *scheduler = arg;
  int64_t wait_us = deadline_wait_us(&scheduler->deadline, rate_now_us());
  if (wait_us > 0) {
    struct timeval rest = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(scheduler->deadline_timer, &rest);
    return;
  }
  scheduler->deadline_fired = true;
  scheduler_post_pump(scheduler);
}

/* A job that may start again: its host let it go (room again, a delay passed, robots.txt
 * arrived), or its retry came due. */
static void scheduler_on_job_ready(void *arg, struct job *job) {
  struct scheduler *scheduler = arg;
  job_list_push_back(&scheduler->ready, job);
  scheduler_post_pump(scheduler);
}

static void scheduler_on_host_pause(void *arg, const char *host_key, int64_t added_us) {
  struct scheduler *scheduler = arg;
  commit_host_paused(scheduler->commit, host_key, added_us);
}

/* ---- set-up -------------------------------------------------------------------------- */

/* One inline worker, or --threads workers splitting -c between them. */
static bool scheduler_start_workers(struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  unsigned long short_of, limit;
  unsigned connections = open_files_connection_budget(options, &short_of, &limit);
  if (short_of)
    commit_warn(scheduler->commit,
                "open-file limit %lu is below the %lu that -c %u needs; some connections "
                "may fail",
                limit, short_of, options->concurrency);
  scheduler->workers =
      worker_pool_new(scheduler->base, options, connections, scheduler_on_outcomes, scheduler);
  return scheduler->workers != NULL;
}

/* The pump, the host table, the rate bucket and the deadline timer, as the options ask. */
static bool scheduler_start_policies(struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  struct event_base *base = scheduler->base;
  scheduler->look_ahead_limit = sink_window_for(options->concurrency);
  scheduler->random_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  if (!(scheduler->pump_event = event_new(base, -1, 0, scheduler_on_pump, scheduler)))
    return false;
  struct hosts_config hosts_config = {.base = base,
                                      .on_release = scheduler_on_job_ready,
                                      .on_pause = scheduler_on_host_pause,
                                      .release_arg = scheduler};
  if (hosts_configure(&hosts_config, options) && !(scheduler->hosts = hosts_new(&hosts_config)))
    return false;
  if (options->rate_per_second > 0) {
    rate_bucket_init(&scheduler->rate, options->rate_per_second, rate_now_us());
    if (!(scheduler->rate_timer = evtimer_new(base, scheduler_on_timer, scheduler)))
      return false;
  }
  if (options->deadline_ms > 0 &&
      !(scheduler->deadline_timer = evtimer_new(base, scheduler_on_deadline, scheduler)))
    return false;
  return (scheduler->setup = request_setup_new(options, scheduler->state)) != NULL;
}

struct scheduler *scheduler_new(struct event_base *base, const struct afetch_options *options,
                                struct sink *sink, struct state *state, struct journal *journal) {
  struct scheduler *scheduler = calloc(1, sizeof *scheduler);
  if (!scheduler)
    return NULL;
  scheduler->base = base;
  scheduler->options = options;
  scheduler->sink = sink;
  scheduler->state = state;
  retry_queue_init(&scheduler->retrying, base, scheduler_on_job_ready, scheduler);
  if (!(scheduler->commit = commit_new(base, options, sink, state, journal)) ||
      !(scheduler->signals = stop_signals_catch(base, scheduler_on_signal, scheduler)) ||
      !scheduler_start_policies(scheduler) || !scheduler_start_workers(scheduler)) {
    scheduler_free(scheduler);
    return NULL;
  }
  return scheduler;
}

/* The progress line's figures only the scheduler knows. */
static void scheduler_count_in_flight(void *arg, struct progress_counts *counts) {
  struct scheduler *scheduler = arg;
  uint64_t in_flight, bytes;
  worker_pool_count(scheduler->workers, &in_flight, &bytes);
  *counts = (struct progress_counts){.in_flight = in_flight, .bytes = bytes};
}

bool scheduler_watch_output(struct scheduler *scheduler, const struct output_watch *watch) {
  return commit_watch_output(scheduler->commit, watch);
}

enum afetch_exit scheduler_run(struct scheduler *scheduler, struct work_source *const *sources,
                               size_t source_count) {
  scheduler->sources = sources;
  scheduler->source_count = source_count;
  if (!commit_start_reporting(scheduler->commit, scheduler_count_in_flight, scheduler)) {
    commit_warn(scheduler->commit, "out of memory");
    return AFETCH_EXIT_INTERNAL;
  }
  commit_warn_unusable_state(scheduler->commit);
  if (scheduler->deadline_timer) {
    deadline_init(&scheduler->deadline, scheduler->options->deadline_ms, rate_now_us());
    scheduler_on_deadline(-1, EV_TIMEOUT, scheduler); /* sets the timer */
  }
  scheduler_post_pump(scheduler);
  event_base_dispatch(scheduler->base);
  if (!commit_finish(scheduler->commit) && !scheduler->stop_reason)
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  if (scheduler->stop_reason || scheduler->drained_by)
    return scheduler->stop_reason ? scheduler->stop_reason : scheduler->drained_by;
  if (scheduler->input_failed)
    return AFETCH_EXIT_INTERNAL;
  return commit_any_not_ok(scheduler->commit) ? AFETCH_EXIT_SOME_FAILED : AFETCH_EXIT_ALL_OK;
}

void scheduler_free(struct scheduler *scheduler) {
  if (!scheduler)
    return;
  worker_pool_free(scheduler->workers);
  /* Jobs left only after an early failure: free them with their timers. */
  struct job_list left = {0};
  job_list_take_all(&left, &scheduler->ready);
  retry_queue_take_all(&scheduler->retrying, &left);
  if (scheduler->hosts)
    hosts_take_all_waiting(scheduler->hosts, &left);
  struct job *job;
  while ((job = job_list_pop_front(&left)))
    job_free(job);
  hosts_free(scheduler->hosts);
  if (scheduler->pump_event)
    event_free(scheduler->pump_event);
  if (scheduler->rate_timer)
    event_free(scheduler->rate_timer);
  if (scheduler->deadline_timer)
    event_free(scheduler->deadline_timer);
  request_setup_free(scheduler->setup);
  commit_free(scheduler->commit);
  stop_signals_free(scheduler->signals);
  free(scheduler);
}
