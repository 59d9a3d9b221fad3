/* The commit step: results into the tally, the statistics, the sink and the state; and the
 * run's reports (progress, warnings, summary). */
#include "afetch/commit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/clock.h"
#include "afetch/journal.h"
#include "afetch/json_writer.h"
#include "afetch/options.h"
#include "afetch/outcome.h"
#include "afetch/rate.h"
#include "afetch/result.h"
#include "afetch/request.h"
#include "afetch/sink.h"
#include "afetch/state.h"
#include "afetch/stats.h"

/* --if-changed: how often a changed state is saved during a run (and once at its end). */
#define COMMIT_STATE_SAVE_SECONDS 10

struct commit {
  struct event_base *base;
  const struct afetch_options *options;
  struct sink *sink;
  struct state *state;         /* --if-changed, borrowed */
  struct event *state_timer;   /* saves a changed state now and then */
  struct stats *stats;         /* --stats, --stats-json, the progress line */
  struct progress *progress;   /* the progress line, while it is drawn */
  bool progress_shares_output; /* the bar is on the terminal stdout writes to */
  uint64_t input_total;        /* URL lines in the inputs, 0: unknown */
  int64_t started_us;
  progress_query_fn in_flight; /* the scheduler's figures for the progress line */
  void *in_flight_arg;
  bool any_not_ok;
  struct json_writer json;     /* results of requests that did not run */
  struct journal *journal;     /* --journal, borrowed */
  struct event *journal_timer; /* writes and syncs a quiet journal's batch */
  bool journal_failed;         /* said once; the run stops */
  struct output_watch watch;   /* a queue's acknowledgements; NULL functions: none */
  struct event *watch_event;   /* posted at each write: watch.after once the write is over */
};

void commit_warn(const struct commit *commit, const char *format, ...) {
  if (commit->options->quiet)
    return;
  if (commit->progress)
    progress_clear(commit->progress);
  va_list args;
  va_start(args, format);
  fputs("afetch: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

/* Saves a changed state. False (after a warning) when it cannot be written. */
static bool commit_save_state(struct commit *commit) {
  if (!commit->state || !state_dirty(commit->state))
    return true;
  if (state_save(commit->state) == 0)
    return true;
  commit_warn(commit, "cannot save the state file '%s': %s", commit->options->state_path,
              strerror(errno));
  return false;
}

static void commit_on_state_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  commit_save_state(arg);
}

/* --journal: this pass's results go to the journal (and reach the disk when due). False
 * when it cannot be written (said once). */
bool commit_flush(struct commit *commit) {
  if (!commit->journal || commit->journal_failed)
    return !commit->journal_failed;
  if (journal_flush(commit->journal, false) == 0)
    return true;
  commit->journal_failed = true;
  commit_warn(commit, "cannot write the journal '%s': %s (what it holds is kept)",
              journal_path(commit->journal), strerror(errno));
  return false;
}

static void commit_on_journal_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  commit_flush(arg);
}

/* The sink's hook, before each write to stdout: the journal first (a result on stdout is in
 * the journal), then the progress bar goes if it shares the terminal. */
static bool commit_before_output(void *arg) {
  struct commit *commit = arg;
  bool journaled = commit_flush(commit);
  if (commit->progress_shares_output)
    progress_clear(commit->progress);
  if (commit->watch_event) {
    commit->watch.before(commit->watch.arg);
    event_active(commit->watch_event, EV_TIMEOUT, 0);
  }
  return journaled;
}

/* Posted from the hook: the sink writes synchronously, so its write is over by now. */
static void commit_on_written(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct commit *commit = arg;
  commit->watch.after(commit->watch.arg, sink_error(commit->sink) == 0);
}

bool commit_watch_output(struct commit *commit, const struct output_watch *watch) {
  if (!commit->watch_event &&
      !(commit->watch_event = event_new(commit->base, -1, 0, commit_on_written, commit)))
    return false;
  commit->watch = *watch;
  sink_before_write(commit->sink, commit_before_output, commit);
  return true;
}

/* Every second, what a quiet run committed is written and synced. */
static bool commit_start_journal(struct commit *commit) {
  if (!commit->journal)
    return true;
  sink_before_write(commit->sink, commit_before_output, commit);
  commit->journal_timer = event_new(commit->base, -1, EV_PERSIST, commit_on_journal_timer, commit);
  struct timeval every = {.tv_sec = 1};
  return commit->journal_timer && evtimer_add(commit->journal_timer, &every) == 0;
}

struct commit *commit_new(struct event_base *base, const struct afetch_options *options,
                          struct sink *sink, struct state *state, struct journal *journal) {
  struct commit *commit = calloc(1, sizeof *commit);
  if (!commit)
    return NULL;
  *commit = (struct commit){
      .base = base, .options = options, .sink = sink, .state = state, .journal = journal};
  json_writer_init(&commit->json);
  if (!commit_start_journal(commit)) {
    commit_free(commit);
    return NULL;
  }
  if (state) {
    commit->state_timer = event_new(base, -1, EV_PERSIST, commit_on_state_timer, commit);
    struct timeval every = {.tv_sec = COMMIT_STATE_SAVE_SECONDS};
    if (!commit->state_timer || evtimer_add(commit->state_timer, &every) < 0) {
      commit_free(commit);
      return NULL;
    }
  }
  return commit;
}

/* A result that stands (not cut short by a signal or the deadline) is the journal's. */
static bool commit_stands(enum result_error error) {
  return error != RESULT_CANCELLED && error != RESULT_DEADLINE;
}

/* commit_result(), with `stands` saying whether the journal takes it. */
static bool commit_emit(struct commit *commit, uint64_t position, bool ok, const char *json,
                        size_t length, const struct stats_sample *sample, bool stands,
                        const char *note) {
  if (commit->journal && stands && json && length > 0 && !commit->journal_failed &&
      !journal_append(commit->journal, json, length, note)) {
    commit_warn(commit, "out of memory");
    return false;
  }
  if (!ok)
    commit->any_not_ok = true;
  if (commit->stats && sample)
    stats_record(commit->stats, sample);
  if (json && length > 0 && sink_emit_json(commit->sink, position, json, length) == 0)
    return !commit->journal_failed; /* the run stops: the journal takes nothing more */
  int error = json && length > 0 ? sink_error(commit->sink) : ENOMEM;
  if (error != EPIPE) /* a closed pipe (`| head`) ends the run quietly */
    commit_warn(commit, "cannot write results: %s", strerror(error));
  return false;
}

bool commit_result(struct commit *commit, uint64_t position, bool ok, const char *json,
                   size_t length, const struct stats_sample *sample, const char *note) {
  return commit_emit(commit, position, ok, json, length, sample,
                     !sample || commit_stands(sample->error), note);
}

bool commit_not_run(struct commit *commit, uint64_t position, struct afetch_result *result,
                    bool counted, const char *note) {
  result_enable_optional_keys(result, commit->options);
  struct stats_sample sample = stats_sample_of(result);
  json_writer_reset(&commit->json);
  result_write_json(result, &commit->json);
  return commit_emit(commit, position, false, commit->json.data, commit->json.length,
                     counted ? &sample : NULL, commit_stands(result->error), note);
}

void commit_warn_unusable_state(const struct commit *commit) {
  size_t dropped = commit->state ? state_dropped_entries(commit->state) : 0;
  if (dropped)
    commit_warn(commit,
                "the state file '%s' has %zu entr%s with an ETag or Last-Modified that cannot "
                "be sent as a header: ignored, those URLs are fetched in full",
                commit->options->state_path, dropped, dropped == 1 ? "y" : "ies");
}

void commit_skip(struct commit *commit, uint64_t position) { sink_skip(commit->sink, position); }

void commit_given_back(struct commit *commit, uint64_t position) {
  sink_skip(commit->sink, position);
  if (commit->stats)
    stats_record_given_back(commit->stats);
}

bool commit_validators(struct commit *commit, const struct request *request,
                       const struct outcome *outcome) {
  if (!commit->state || !(outcome->new_etag || outcome->new_last_modified))
    return true;
  struct state_entry entry = {.etag = outcome->new_etag,
                              .last_modified = outcome->new_last_modified,
                              .file = request->output_path};
  return state_update(commit->state, request->url, &entry);
}

void commit_host_paused(struct commit *commit, const char *host_key, int64_t added_us) {
  if (commit->stats)
    stats_record_host_pause(commit->stats, host_key, added_us);
}

void commit_mark_not_ok(struct commit *commit) { commit->any_not_ok = true; }
bool commit_any_not_ok(const struct commit *commit) { return commit->any_not_ok; }
void commit_set_any_not_ok(struct commit *commit, bool any_not_ok) {
  commit->any_not_ok = any_not_ok;
}

/* ---- progress and statistics -------------------------------------------------------- */

static void commit_count_progress(void *arg, struct progress_counts *counts) {
  struct commit *commit = arg;
  commit->in_flight(commit->in_flight_arg, counts);
  uint64_t done = stats_results(commit->stats), ok = stats_ok(commit->stats);
  counts->done = done;
  counts->total = commit->input_total;
  counts->ok = ok;
  counts->failed = done - ok;
  counts->hold = commit->progress_shares_output && !sink_at_line_start(commit->sink);
}

/* The sink's hook: a bar on the terminal the results go to is cleared before they are. */
static bool commit_clear_progress(void *arg) {
  struct commit *commit = arg;
  progress_clear(commit->progress);
  return true;
}

bool commit_start_reporting(struct commit *commit, progress_query_fn in_flight, void *arg) {
  const struct afetch_options *options = commit->options;
  commit->started_us = clock_monotonic_us();
  commit->in_flight = in_flight;
  commit->in_flight_arg = arg;
  bool shares = progress_same_terminal(STDOUT_FILENO, STDERR_FILENO);
  enum progress_style style =
      progress_style_for(options->progress, options->quiet, isatty(STDERR_FILENO), shares);
  bool progress = style != PROGRESS_NONE;
  if (!progress && !options->stats && !options->stats_json_path)
    return true;
  if (!(commit->stats = stats_new()))
    return false;
  if (progress) {
    /* A regular file's lines can be counted up front; a pipe's or a crawl's cannot. */
    if (!options->crawl)
      commit->input_total = progress_count_lines(options->inputs, options->input_count);
    commit->progress = progress_new(commit->base, stderr, style, options->progress_interval_ms,
                                    commit_count_progress, commit);
    if (!commit->progress)
      return false;
    commit->progress_shares_output = style == PROGRESS_BAR && shares;
    if (commit->progress_shares_output && !commit->journal && !commit->watch_event)
      sink_before_write(commit->sink, commit_clear_progress, commit);
  }
  return true;
}

/* The line goes; the summary comes (--stats on stderr, --stats-json to its file). False
 * when the file cannot be written. */
static bool commit_finish_reporting(struct commit *commit) {
  sink_before_write(commit->sink, NULL, NULL);
  if (commit->stats && commit->journal)
    stats_set_journal(commit->stats, journal_earlier_results(commit->journal),
                      journal_results_now(commit->journal));
  progress_finish(commit->progress);
  progress_free(commit->progress);
  commit->progress = NULL;
  if (!commit->stats)
    return true;
  const struct afetch_options *options = commit->options;
  double wall = (double)(clock_monotonic_us() - commit->started_us) / 1e6;
  if (options->stats)
    stats_print_table(commit->stats, wall, stderr);
  if (options->stats_json_path &&
      stats_write_json(commit->stats, wall, options->stats_json_path) != 0) {
    fprintf(stderr, "afetch: cannot write the statistics to '%s': %s\n", options->stats_json_path,
            strerror(errno));
    return false;
  }
  return true;
}

/* --journal: the rest of the batch, on disk. */
static bool commit_finish_journal(struct commit *commit) {
  if (!commit->journal || commit->journal_failed)
    return !commit->journal_failed;
  if (journal_flush(commit->journal, true) == 0)
    return true;
  commit->journal_failed = true;
  commit_warn(commit, "cannot write the journal '%s': %s (what it holds is kept)",
              journal_path(commit->journal), strerror(errno));
  return false;
}

bool commit_finish(struct commit *commit) {
  /* What finished is recorded, also after a signal. */
  bool saved = commit_save_state(commit);
  saved = commit_finish_journal(commit) && saved;
  return commit_finish_reporting(commit) && saved;
}

void commit_free(struct commit *commit) {
  if (!commit)
    return;
  if (commit->state_timer)
    event_free(commit->state_timer);
  if (commit->journal_timer)
    event_free(commit->journal_timer);
  if (commit->watch_event)
    event_free(commit->watch_event);
  progress_free(commit->progress);
  stats_free(commit->stats);
  json_writer_free(&commit->json);
  free(commit);
}
