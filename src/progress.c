/* The live progress line: a 100 ms libevent timer that asks the run for its figures and
 * redraws one line in place; and the count of URL lines behind "N/TOTAL done". */
#include "afetch/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/options.h"
#include "afetch/stats.h"

#define PROGRESS_INTERVAL_MS 100
#define PROGRESS_LINE_SIZE 256

/* An ETA beyond this (about 31 years) is shown as this: keeps the conversion defined. */
#define PROGRESS_MAX_SECONDS 999999999.0

struct progress {
  struct event *timer;
  FILE *out;
  progress_query_fn query;
  void *query_arg;
  struct timespec started; /* CLOCK_MONOTONIC */
  bool drawn;              /* a line is on screen: progress_clear() has something to erase */
};

static double progress_elapsed(const struct progress *progress) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - progress->started.tv_sec) +
         (double)(now.tv_nsec - progress->started.tv_nsec) / 1e9;
}

static void progress_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct progress *progress = arg;
  struct progress_counts counts = {0};
  progress->query(progress->query_arg, &counts);
  char line[PROGRESS_LINE_SIZE];
  progress_format(&counts, progress_elapsed(progress), line, sizeof line);
  fprintf(progress->out, "\r%s\x1b[K", line);
  fflush(progress->out);
  progress->drawn = true;
}

struct progress *progress_new(struct event_base *base, FILE *out, progress_query_fn query,
                              void *arg) {
  struct progress *progress = calloc(1, sizeof *progress);
  if (!progress)
    return NULL;
  progress->out = out;
  progress->query = query;
  progress->query_arg = arg;
  clock_gettime(CLOCK_MONOTONIC, &progress->started);
  progress->timer = event_new(base, -1, EV_PERSIST, progress_tick, progress);
  struct timeval interval = {0, PROGRESS_INTERVAL_MS * 1000};
  if (!progress->timer || event_add(progress->timer, &interval) != 0) {
    if (progress->timer)
      event_free(progress->timer);
    free(progress);
    return NULL;
  }
  return progress;
}

void progress_clear(struct progress *progress) {
  if (!progress || !progress->drawn)
    return;
  fputs("\r\x1b[K", progress->out);
  fflush(progress->out);
  progress->drawn = false;
}

void progress_free(struct progress *progress) {
  if (!progress)
    return;
  progress_clear(progress);
  event_free(progress->timer);
  free(progress);
}

/* H:MM:SS of whole seconds (negative counts as 0). */
static void progress_format_duration(double seconds, char *buf, size_t size) {
  if (!(seconds > 0.0))
    seconds = 0.0;
  if (seconds > PROGRESS_MAX_SECONDS)
    seconds = PROGRESS_MAX_SECONDS;
  uint64_t whole = (uint64_t)seconds;
  snprintf(buf, size, "%" PRIu64 ":%02u:%02u", whole / 3600, (unsigned)(whole / 60 % 60),
           (unsigned)(whole % 60));
}

void progress_format(const struct progress_counts *counts, double elapsed_seconds, char *buf,
                     size_t size) {
  if (size == 0)
    return;
  double rate = elapsed_seconds >= 0.001 ? (double)counts->done / elapsed_seconds : 0.0;
  char done[48], bytes[32], elapsed[32], eta[40] = "";
  if (counts->total > 0)
    snprintf(done, sizeof done, "%" PRIu64 "/%" PRIu64, counts->done, counts->total);
  else
    snprintf(done, sizeof done, "%" PRIu64, counts->done);
  stats_format_bytes(counts->bytes, bytes, sizeof bytes);
  progress_format_duration(elapsed_seconds, elapsed, sizeof elapsed);
  if (counts->total > counts->done && rate > 0.0) {
    char remaining[32];
    progress_format_duration(ceil((double)(counts->total - counts->done) / rate), remaining,
                             sizeof remaining);
    snprintf(eta, sizeof eta, "  ETA %s", remaining);
  }
  snprintf(buf, size,
           "afetch: %s done  %" PRIu64 " in flight  %" PRIu64 " ok  %" PRIu64
           " failed  %.1f req/s  %s  %s%s",
           done, counts->in_flight, counts->ok, counts->failed, rate, bytes, elapsed, eta);
}

/* Counts the URL lines of one regular file, read in blocks: a line counts when it holds
 * something besides blanks, tabs and CR, and its first character after the leading blanks and
 * tabs is not '#' (the source's rules). false when the path is not a regular file or cannot be
 * read. */
static bool progress_count_file(const char *path, uint64_t *count) {
  struct stat info;
  if (strcmp(path, "-") == 0 || stat(path, &info) != 0 || !S_ISREG(info.st_mode))
    return false;
  /* O_NONBLOCK: should the path turn into a FIFO after stat(), open() does not wait. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  bool at_start = true;     /* only blanks and tabs so far on this line */
  bool has_content = false; /* something besides blanks, tabs and CR */
  bool comment = false;     /* the first character after the leading blanks is '#' */
  char buffer[65536];
  while (ok) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      ok = false;
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++) {
      char c = buffer[i];
      if (c == '\n') {
        *count += has_content && !comment;
        at_start = true, has_content = false, comment = false;
        continue;
      }
      if (c == ' ' || c == '\t')
        continue;
      if (at_start)
        comment = c == '#';
      at_start = false;
      if (c != '\r')
        has_content = true;
    }
  }
  *count += has_content && !comment; /* a last line without a newline */
  close(fd);
  return ok;
}

uint64_t progress_count_lines(const struct afetch_input *inputs, size_t input_count) {
  uint64_t count = 0;
  for (size_t i = 0; i < input_count; i++) {
    if (inputs[i].kind == AFETCH_INPUT_URL)
      count++;
    else if (inputs[i].kind == AFETCH_INPUT_STDIN || !progress_count_file(inputs[i].value, &count))
      return 0;
  }
  return count;
}
