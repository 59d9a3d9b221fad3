/* How a job ends: an outcome from a worker frees its slot and host, then becomes a retry (on
 * the retry queue's timer) or, the source told, the job's committed result; a job that will
 * not run (cancelled, past the deadline, an unusable line, robots.txt) gets its result here
 * too. Part of the scheduler (scheduler_internal.h), on the main thread. */
#include <stdio.h>

#include "afetch/commit.h"
#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/options.h"
#include "afetch/outcome.h"
#include "afetch/request.h"
#include "afetch/retry.h"
#include "afetch/retry_queue.h"
#include "afetch/scheduler_internal.h"
#include "afetch/work_source.h"
#include "afetch/worker_pool.h"

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
void scheduler_emit_not_run(struct scheduler *scheduler, struct job *job, enum result_error why,
                            const char *message) {
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
void scheduler_drop(struct scheduler *scheduler, struct job *job, enum result_error why) {
  if (!hosts_is_robots_job(job)) {
    scheduler_emit_not_run(scheduler, job, why, NULL);
    return;
  }
  job_free(job);
  scheduler->jobs_alive--;
}

/* --robots: a page its host's rules disallow. Reported only with --show-skipped, and never
 * counted against the exit status. */
void scheduler_skip_by_robots(struct scheduler *scheduler, struct job *job, const char *rule) {
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
void scheduler_take_outcomes(struct scheduler *scheduler) {
  struct outcome *outcome;
  while ((outcome = worker_pool_take_outcome(scheduler->workers)))
    scheduler_take_outcome(scheduler, outcome);
}
