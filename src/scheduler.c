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
 * outcomes, commits them and starts work, once per pass. Nothing calls back into it. */
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
#include "afetch/outcome.h"
#include "afetch/rate.h"
#include "afetch/request_setup.h"
#include "afetch/retry.h"
#include "afetch/retry_queue.h"
#include "afetch/sink.h"
#include "afetch/state.h"
#include "afetch/stop_signals.h"
#include "afetch/work_source.h"
#include "afetch/worker_pool.h"

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
static void scheduler_mark_stopping(struct scheduler *scheduler, enum afetch_exit reason) {
  if (scheduler->stop_reason)
    return;
  scheduler->stop_reason = reason;
  scheduler_end_sources(scheduler, WORK_END_STOP);
}

/* A failure: warn, and stop the run. */
static void scheduler_fail(struct scheduler *scheduler, const char *what) {
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

/* ---- results ------------------------------------------------------------------------- */

/* The job is finished: its source is told (`outcome` NULL: it did not run), before its
 * result is committed, so that the note the source keeps beside it in the journal (the
 * links a crawled page queued) goes into the same line. Returns that note, or NULL. */
static const char *scheduler_acknowledge(struct scheduler *scheduler, struct job *job,
                                         const struct outcome *outcome) {
  if (!job->source)
    return NULL;
  if (!work_source_done(job->source, job->request, outcome))
    scheduler_fail(scheduler, "out of memory");
  return work_source_journal_note(job->source);
}

/* The job is gone, its result committed: its host reference and its memory go. */
static void scheduler_release(struct scheduler *scheduler, struct job *job) {
  if (scheduler->hosts)
    hosts_detach(scheduler->hosts, job);
  job_free(job);
  scheduler->jobs_alive--;
}

/* Reports a job that will not run (any more): cancelled by a signal, past the deadline,
 * blocked by robots.txt or no usable request. `message` NULL: the error's usual text. */
static void scheduler_emit_not_run(struct scheduler *scheduler, struct job *job,
                                   enum result_error why, const char *message) {
  struct afetch_result result;
  job_stopped_result(job, why, &result);
  if (message)
    result.error_message = message;
  if (why == RESULT_INVALID_INPUT) /* its "url" only if it gave one */
    result.url = *request_given_url(job->request) ? job->request->url : NULL;
  const char *note = scheduler_acknowledge(scheduler, job, NULL);
  if (!commit_not_run(scheduler->commit, job->request->position, &result, why != RESULT_ROBOTS,
                      note))
    scheduler_mark_stopping(scheduler, AFETCH_EXIT_INTERNAL);
  scheduler_release(scheduler, job);
}

/* A job that will not run: a robots.txt fetch goes quietly (its host keeps its entry). */
static void scheduler_drop(struct scheduler *scheduler, struct job *job, enum result_error why) {
  if (!hosts_is_robots_job(job)) {
    scheduler_emit_not_run(scheduler, job, why, NULL);
    return;
  }
  job_free(job);
  scheduler->jobs_alive--;
}

/* --robots: a page its host's rules disallow. Reported only with --show-skipped, and never
 * counted against the exit status. */
static void scheduler_skip_by_robots(struct scheduler *scheduler, struct job *job,
                                     const char *rule) {
  if (!scheduler->options->show_skipped) {
    scheduler_acknowledge(scheduler, job, NULL);
    commit_skip(scheduler->commit, job->request->position);
    scheduler_release(scheduler, job);
    return;
  }
  char message[300];
  snprintf(message, sizeof message, "robots.txt disallows it (%s)", rule);
  bool any_not_ok = commit_any_not_ok(scheduler->commit);
  scheduler_emit_not_run(scheduler, job, RESULT_ROBOTS, message);
  commit_set_any_not_ok(scheduler->commit, any_not_ok);
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
static void scheduler_fill_slots(struct scheduler *scheduler) {
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

/* ---- outcomes ------------------------------------------------------------------------ */

/* A job's last attempt is back: a robots.txt sets its host's rules; every other job commits
 * its result (and its source gets the outcome: a page's links for the crawl). */
static void scheduler_finish_job(struct scheduler *scheduler, struct job *job,
                                 const struct outcome *outcome) {
  if (hosts_is_robots_job(job)) {
    scheduler->jobs_alive--;
    if (scheduler->stop_reason)
      job_free(job);
    else if (!hosts_robots_done(scheduler->hosts, job, outcome))
      scheduler_fail(scheduler, "out of memory");
    return;
  }
  if (job->source && outcome->transient &&
      work_source_take_back(job->source, job->request, outcome)) {
    commit_given_back(scheduler->commit, job->request->position);
    scheduler_release(scheduler, job);
    return;
  }
  const char *note = scheduler_acknowledge(scheduler, job, outcome);
  if (!commit_result(scheduler->commit, job->request->position, outcome->ok, outcome->json,
                     outcome->json_length, &outcome->sample, note))
    scheduler_mark_stopping(scheduler, AFETCH_EXIT_INTERNAL);
  scheduler_release(scheduler, job);
}

/* One outcome: the slot and the host are free again; then a retry, or the commit. */
static void scheduler_take_outcome(struct scheduler *scheduler, struct outcome *outcome) {
  struct job *job = outcome->tag;
  if (scheduler->hosts) {
    hosts_observe(scheduler->hosts, job, outcome);
    hosts_finished(scheduler->hosts, job);
  }
  if (outcome->has_retry_after) {
    job->has_retry_after = true;
    job->retry_after_s = outcome->retry_after_s;
  }
  if (!commit_validators(scheduler->commit, job->request, outcome))
    scheduler_fail(scheduler, "out of memory");
  const struct afetch_options *options = scheduler->options;
  struct retry_policy policy = {options->retries, options->retry_delay_ms,
                                options->retry_max_delay_ms};
  int64_t wait_ms = outcome->transient
                        ? retry_wait_ms(&policy, job->attempts, outcome->has_retry_after,
                                        outcome->retry_after_s, &scheduler->random_state)
                        : -1;
  /* A stop or the deadline came first in this pass: a job that would wait for its retry ends
   * as those waiting do ("cancelled", "deadline"), whether its outcome was taken before or
   * after. */
  if (wait_ms >= 0 && (scheduler->stop_reason || scheduler->deadline_passed))
    scheduler_drop(scheduler, job, scheduler->stop_reason ? RESULT_CANCELLED : RESULT_DEADLINE);
  else if (wait_ms < 0 || !retry_queue_add(&scheduler->retrying, job, wait_ms))
    scheduler_finish_job(scheduler, job, outcome);
  outcome_free(outcome);
}

/* Every outcome the workers have queued, in the order each worker queued them. */
static void scheduler_take_outcomes(struct scheduler *scheduler) {
  struct outcome *outcome;
  while ((outcome = worker_pool_take_outcome(scheduler->workers)))
    scheduler_take_outcome(scheduler, outcome);
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
