/* The commit step: every result passes through here, in one place and in this order: the
 * run's tally (any not ok), the statistics (--stats, the progress line), the output sink,
 * the --if-changed state's validators. What a run leaves behind (a resume journal, a queue
 * acknowledgement) is added here, not in the scheduler. It also owns what reports on the
 * run: the progress line, warnings (which clear it first) and the summary at the end.
 *
 * Threading: the scheduler's thread only. */
#ifndef AFETCH_COMMIT_H
#define AFETCH_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/progress.h"

struct afetch_options;
struct afetch_result;
struct event_base;
struct journal;
struct outcome;
struct request;
struct sink;
struct state;
struct stats_sample;

struct commit;

/* Everything is borrowed and must outlive the commit; `state` may be NULL (no --if-changed):
 * else it is saved now and then from a timer and at commit_finish(); `journal` may be NULL
 * (no --journal): else every result that stands (not "cancelled" nor "deadline") is appended
 * to it, written at commit_flush() and before stdout is written, synced when due and at
 * commit_finish(). NULL when out of memory. */
struct commit *commit_new(struct event_base *base, const struct afetch_options *options,
                          struct sink *sink, struct state *state, struct journal *journal);

/* The end of a batch (one scheduler pass): --journal's lines are written. False when they
 * cannot be (after a warning): the run must stop with exit status 3. */
bool commit_flush(struct commit *commit);

/* Starts what --stats, --stats-json and the progress line need; `in_flight` gives the
 * figures only the scheduler knows (in flight, body bytes). False when out of memory. */
bool commit_start_reporting(struct commit *commit, progress_query_fn in_flight, void *arg);

/* One result: `json` (NULL or empty: it could not be made) at the request's position, `sample`
 * (NULL: not counted, as a robots.txt skip), `note` (NULL: none) what its work source keeps
 * beside it in the journal (journal_append()). False when the output failed: the run must
 * stop (a warning was given unless the pipe was closed). */
bool commit_result(struct commit *commit, uint64_t position, bool ok, const char *json,
                   size_t length, const struct stats_sample *sample, const char *note);

/* A request that did not run (cut short, skipped by robots.txt, an invalid line): `result`,
 * completed with the keys the options ask for, is written as its result (commit_result());
 * `counted` false leaves it out of the statistics (a robots.txt skip). */
bool commit_not_run(struct commit *commit, uint64_t position, struct afetch_result *result,
                    bool counted, const char *note);

/* A request that writes no result (disallowed by robots.txt without --show-skipped). */
void commit_skip(struct commit *commit, uint64_t position);

/* A request its work source took back to run again later (work_source.h): no result, counted
 * by --stats as given back. */
void commit_given_back(struct commit *commit, uint64_t position);

/* --if-changed: records the validators an outcome brought. False when out of memory. */
bool commit_validators(struct commit *commit, const struct request *request,
                       const struct outcome *outcome);

/* Marks the run as not all ok (the deadline passed) / whether any result was not ok. */
/* A host was paused for `added_us` more: --stats counts it (hosts.h). */
void commit_host_paused(struct commit *commit, const char *host_key, int64_t added_us);

void commit_mark_not_ok(struct commit *commit);
bool commit_any_not_ok(const struct commit *commit);
/* Sets whether any was not ok (a robots.txt skip does not count against the exit status). */
void commit_set_any_not_ok(struct commit *commit, bool any_not_ok);

/* Warns when the --if-changed state dropped entries whose validators cannot be sent. */
void commit_warn_unusable_state(const struct commit *commit);

/* A warning on stderr ("afetch: ..."), unless -q; the progress bar is cleared first. */
void commit_warn(const struct commit *commit, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* What a queue needs to acknowledge only what is on the output: before(arg) is called just
 * before each write to it (every result committed so far is in that write), after(arg,
 * written) once that write is over, `written` false when it failed. */
struct output_watch {
  void (*before)(void *arg);
  void (*after)(void *arg, bool written);
  void *arg;
};

/* Sets the watch (copied; its arg borrowed). False when out of memory. */
bool commit_watch_output(struct commit *commit, const struct output_watch *watch);

/* At the end: saves the state, ends the progress line, writes the summary. False when a file
 * could not be written (after a message). */
bool commit_finish(struct commit *commit);

void commit_free(struct commit *commit);

#endif
