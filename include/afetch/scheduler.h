/* The run: pulls requests from the source while a worker has a free slot and the hosts
 * allow, hands each attempt to a worker, passes every outcome through the commit step, and
 * stops cleanly on SIGHUP/SIGINT/SIGTERM or a failed output. Everything runs on the caller's
 * thread, in one pump per event loop pass (see scheduler.c). */
#ifndef AFETCH_SCHEDULER_H
#define AFETCH_SCHEDULER_H

struct afetch_options;
struct event_base;
struct scheduler;
struct frontier;
struct sink;
struct source;
struct state;

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
 * `frontier` is --crawl's (NULL without it). NULL when out of memory or when libcurl cannot
 * start. */
struct scheduler *scheduler_new(struct event_base *base, const struct afetch_options *options,
                                struct sink *sink, struct state *state, struct frontier *frontier);

/* Pass as the source's on_readable callback, with the scheduler as its argument. */
void scheduler_input_ready(void *scheduler);

/* Runs until every input line has a result, or a signal or an output failure stops it.
 * The source is borrowed. */
enum afetch_exit scheduler_run(struct scheduler *scheduler, struct source *source);

void scheduler_free(struct scheduler *scheduler);

#endif
