/* The run: pulls URL lines from the source while the limiter has a slot, starts a task for
 * each on the loop, hands every result to the sink, and stops cleanly on SIGHUP/SIGINT/SIGTERM or a
 * failed output. */
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

/* Before anything is sized by -c: lowers options->concurrency to what the hard open-file
 * limit (RLIMIT_NOFILE) leaves room for (a connection per transfer, its file with -o, the
 * workers' own descriptors and spares), and resolves --threads auto (0) for `usable_cpus`.
 * Returns the hard limit when it lowered -c, else 0. */
unsigned long scheduler_fit_open_files(struct afetch_options *options, unsigned usable_cpus);

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
