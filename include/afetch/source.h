/* URL input: URL arguments, FILE operands and/or standard input, read lazily, one line at a
 * time.
 *
 * Regular files are read on demand. Pipes and terminals are read only when libevent says
 * they are readable, so a slow producer never blocks the transfers in flight: source_next()
 * then answers SOURCE_PENDING and calls `on_readable` once more input has arrived. */
#ifndef AFETCH_SOURCE_H
#define AFETCH_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct afetch_input;
struct event_base;
struct source;

/* Longest URL line accepted; a longer one comes back flagged too_long (an invalid_url result). */
#define SOURCE_MAX_LINE 65536

enum source_status {
  SOURCE_LINE,    /* *line is filled */
  SOURCE_PENDING, /* nothing buffered yet: wait for on_readable */
  SOURCE_END,     /* every input is exhausted */
  SOURCE_ERROR,   /* a read failed: source_error() says why */
};

struct source_line {
  uint64_t index;   /* position among URL lines (comments and blank lines do not count) */
  const char *text; /* trimmed, NUL-terminated; borrowed until the next source_next() */
  size_t length;    /* bytes in text (text may hold a NUL byte, which makes it invalid) */
  bool too_long;    /* longer than SOURCE_MAX_LINE: text holds its first bytes only */
};

typedef void (*source_readable_fn)(void *arg);

/* Opens every input now, so that an unreadable file is reported before anything is fetched;
 * a URL argument is read as an input holding that one line. Returns NULL and writes a message
 * naming the file into errbuf on failure. */
struct source *source_open(struct event_base *base, const struct afetch_input *inputs,
                           size_t input_count, source_readable_fn on_readable, void *arg,
                           char *errbuf, size_t errbuf_size);

enum source_status source_next(struct source *source, struct source_line *line);

/* Stops watching pipes; later calls answer SOURCE_END. */
void source_stop(struct source *source);

/* From now on the input ends where it would wait for a pipe or terminal: lines already
 * buffered and regular files still come out, an unbounded stream is not waited for (the
 * --deadline rule). */
void source_end_at_streams(struct source *source);

/* Borrowed message for the last SOURCE_ERROR. */
const char *source_error(const struct source *source);

void source_close(struct source *source);

#endif
