/* Progress on stderr, from a libevent timer (no cost per request), in one of two styles:
 * - bar: one line redrawn in place ("\r" line "\x1b[K") ten times a second, fitted to the
 *   terminal's width (read again on SIGWINCH), cleared before anything else is printed and
 *   at the end;
 * - lines: a newline-terminated status line every interval, for logs, and a summary line at
 *   the end. */
#ifndef AFETCH_PROGRESS_H
#define AFETCH_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "afetch/options.h"

struct event_base;
struct progress;

enum progress_style {
  PROGRESS_NONE,
  PROGRESS_BAR,
  PROGRESS_LINES,
};

/* The figures of one redraw, asked of the run each time. */
struct progress_counts {
  uint64_t done, total; /* total 0: unknown (stdin, a crawl) */
  uint64_t in_flight, ok, failed;
  uint64_t bytes; /* body bytes received so far, transfers in flight included */
  bool hold;      /* bar: do not draw now (the terminal's cursor is inside a line of results) */
};

typedef void (*progress_query_fn)(void *arg, struct progress_counts *counts);

/* The style --progress asks for: --no-progress / --progress=none: none; --progress=bar and
 * =lines: that one; plain --progress: bar when stderr is a terminal, else lines; no option:
 * bar when stderr is a terminal that stdout does not share and there is no -q, else none
 * (results on the terminal show the progress themselves, as with curl). */
enum progress_style progress_style_for(enum afetch_progress asked, bool quiet,
                                       bool stderr_is_terminal, bool stdout_shares_it);

/* True when both descriptors are the same terminal. */
bool progress_same_terminal(int fd, int other_fd);

/* Starts drawing on `out` (stderr) in `style` (not PROGRESS_NONE): the bar every 100 ms, a
 * status line every interval_ms. Each time calls query(arg, ...). Elapsed time counts from
 * this call (monotonic clock). `out` and `base` are borrowed and must outlive the progress.
 * NULL when out of memory. */
struct progress *progress_new(struct event_base *base, FILE *out, enum progress_style style,
                              long interval_ms, progress_query_fn query, void *arg);

/* Erases the bar now (before a warning, a write to a terminal stdout shares, or the --stats
 * table) with "\r\x1b[K", if one was drawn since the last clear; the next tick draws it
 * again. Nothing for status lines. NULL is allowed. */
void progress_clear(struct progress *progress);

/* The end of the run: clears the bar, or writes the summary line. NULL is allowed. */
void progress_finish(struct progress *progress);

/* Formats one live line (no "\r", no escape codes, ASCII only: one byte is one column) into
 * buf. In full:
 * "afetch: D/T done  N in flight  O ok  F failed  R req/s  B  S/s  H:MM:SS  ETA H:MM:SS";
 * with total 0, "D done" and no ETA. Rate: done / elapsed (0 below 1 ms); the ETA only when
 * the rate is above 0 and total > done; bytes and bytes_per_second as the --stats table shows
 * bytes ("512 B", "12.3 MiB"). With columns > 0 the line takes at most columns - 1 (a
 * terminal's last column would wrap it): fields go, least useful first (in flight, elapsed,
 * the "afetch:" prefix, bytes, ok, ETA, req/s, speed, failed), then the rest is cut. */
void progress_format(const struct progress_counts *counts, double elapsed_seconds,
                     double bytes_per_second, unsigned columns, char *buf, size_t size);

/* The last status line: "afetch: summary  D/T done  O ok  F failed  R req/s  B  S/s  H:MM:SS",
 * the speed the average over the run. */
void progress_format_summary(const struct progress_counts *counts, double elapsed_seconds,
                             char *buf, size_t size);

/* Counts the URL lines of the inputs when every one is a regular file or a URL argument (as
 * the source would read them: blank lines and '#' comments do not count); 0 when any is not
 * (standard input, a pipe) or cannot be read. */
uint64_t progress_count_lines(const struct afetch_input *inputs, size_t input_count);

/* Clears the bar, stops the timer and frees the progress. NULL is allowed. */
void progress_free(struct progress *progress);

#endif
