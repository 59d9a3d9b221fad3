/* JSON out: gather (one array in input order, written as soon as a prefix is complete) or
 * ndjson (one object per line as each result completes).
 *
 * Gather holds the results that finished ahead of an earlier one, in a window of
 * `window` entries; sink_accepts() tells the scheduler not to start index i before
 * i - first-unwritten < window, so memory stays bounded by the window, not by the input.
 * Output is buffered and flushed once per event-loop pass (and when the buffer fills). */
#ifndef AFETCH_SINK_H
#define AFETCH_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/options.h"

struct event_base;
struct sink;

/* The gather window for a concurrency: wide enough that one slow request does not stall the
 * others for long, small enough to stay a few MB. */
size_t sink_window_for(unsigned concurrency);

/* Writes to fd (not closed by the sink). Returns NULL when out of memory. */
struct sink *sink_new(struct event_base *base, int fd, enum afetch_output_mode mode, size_t window);

/* True when the result with this index may start now (always true for ndjson). */
bool sink_accepts(const struct sink *sink, uint64_t index);

/* Places one result, already written as JSON text (borrowed for the call). Returns 0, or -1
 * once the output has failed (sink_error() tells why; later calls do nothing). */
int sink_emit_json(struct sink *sink, uint64_t index, const char *json, size_t length);

/* An index that will have no result (a crawled page robots.txt blocks): gather output goes on
 * past it. */
void sink_skip(struct sink *sink, uint64_t index);

/* Closes the array (gather) and writes everything out. Returns 0 or -1 as sink_emit_json(). */
int sink_finish(struct sink *sink);

/* Calls before_write(arg) before each write to the output (NULL: nothing): a progress bar on
 * the terminal the output shares is cleared first, the journal written. When it returns
 * false (the journal failed) nothing more is written: the sink fails with EIO. */
void sink_before_write(struct sink *sink, bool (*before_write)(void *arg), void *arg);

/* True when what was written since sink_before_write() set a hook ends with a newline (or
 * nothing was written): a terminal's cursor is then at the start of a line. Tracked only
 * while a hook is set. */
bool sink_at_line_start(const struct sink *sink);

/* errno of the failed write (EPIPE for a closed pipe), 0 while the output is healthy. */
int sink_error(const struct sink *sink);

void sink_free(struct sink *sink);

#endif
