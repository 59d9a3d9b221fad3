/* The live progress line on stderr: redrawn from a libevent timer at most ten times a second
 * (no cost per request), cleared before anything else is printed and at the end. */
#ifndef AFETCH_PROGRESS_H
#define AFETCH_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct afetch_input;
struct event_base;
struct progress;

/* The figures of one redraw, asked of the run each time. */
struct progress_counts {
  uint64_t done, total; /* total 0: unknown (stdin, a crawl) */
  uint64_t in_flight, ok, failed, bytes;
};

typedef void (*progress_query_fn)(void *arg, struct progress_counts *counts);

/* A line drawn on `out` (stderr) every 100 ms until progress_free(): each tick calls
 * query(arg, ...) and writes "\r" + the line + "\x1b[K". Elapsed time counts from this call
 * (monotonic clock). `out` and `base` are borrowed and must outlive the progress. NULL when
 * out of memory. */
struct progress *progress_new(struct event_base *base, FILE *out, progress_query_fn query,
                              void *arg);

/* Erases the line now (before a warning or the --stats table) with "\r\x1b[K", if one was
 * drawn since the last clear; the next tick draws it again. */
void progress_clear(struct progress *progress);

/* Formats one line (no "\r", no escape codes) into buf: for the timer and for tests.
 * "afetch: D/T done  N in flight  O ok  F failed  R req/s  B  H:MM:SS  ETA H:MM:SS"; with total
 * 0, "D done" and no ETA. Rate: done / elapsed (0 below 1 ms); the ETA only when the rate is
 * above 0 and total > done; bytes as the --stats table shows them ("512 B", "12.3 MiB"). */
void progress_format(const struct progress_counts *counts, double elapsed_seconds, char *buf,
                     size_t size);

/* Counts the URL lines of the inputs when every one is a regular file or a URL argument (as
 * the source would read them: blank lines and '#' comments do not count); 0 when any is not
 * (standard input, a pipe) or cannot be read. */
uint64_t progress_count_lines(const struct afetch_input *inputs, size_t input_count);

/* Clears the line, stops the timer and frees the progress. NULL is allowed. */
void progress_free(struct progress *progress);

#endif
