/* The run: pulls requests from its work sources while a worker has a free slot and the hosts
 * allow, hands each attempt to a worker, passes every outcome through the commit step, and
 * stops cleanly on SIGHUP/SIGINT/SIGTERM or a failed output. Everything runs on the caller's
 * thread, in one pump per event loop pass (see scheduler.c, scheduler_dispatch.c and
 * scheduler_outcome.c). */
#ifndef AFETCH_SCHEDULER_H
#define AFETCH_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>

struct afetch_options;
struct event;
struct event_base;
struct journal;
struct output_watch;
struct scheduler;
struct sink;
struct state;
struct work_source;

/* The contract's exit statuses. */
enum afetch_exit {
  AFETCH_EXIT_ALL_OK = 0,
  AFETCH_EXIT_SOME_FAILED = 1,
  AFETCH_EXIT_USAGE = 2,
  AFETCH_EXIT_INTERNAL = 3,
  AFETCH_EXIT_SIGHUP = 129,
  AFETCH_EXIT_SIGINT = 130,
  AFETCH_EXIT_SIGTERM = 143,
};

/* Everything passed in is borrowed and must outlive the scheduler; `state` is the loaded
 * --if-changed state (NULL without it), saved now and then and at the end of the run;
 * `journal` the opened --journal (NULL without it), written once per pass. NULL when out of
 * memory or when libcurl cannot start. */
struct scheduler *scheduler_new(struct event_base *base, const struct afetch_options *options,
                                struct sink *sink, struct state *state, struct journal *journal);

/* The event a work source activates when it has requests again (work_source.h, "Waking");
 * owned by the scheduler. */
struct event *scheduler_wake_event(struct scheduler *scheduler);

/* commit_watch_output() on the run's commit step (commit.h). False when out of memory. */
bool scheduler_watch_output(struct scheduler *scheduler, const struct output_watch *watch);

/* Runs until every source is exhausted and every request pulled has its result, or a signal
 * or an output failure stops it. The sources are pulled in this order; the array and the
 * sources are borrowed. */
enum afetch_exit scheduler_run(struct scheduler *scheduler, struct work_source *const *sources,
                               size_t source_count);

void scheduler_free(struct scheduler *scheduler);

#endif
