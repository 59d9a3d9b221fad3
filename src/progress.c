/* Progress on stderr: the bar redrawn in place on a terminal, fitted to its width, or status
 * lines for logs; and the count of URL lines behind "N/TOTAL done". */
#include "afetch/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/options.h"
#include "afetch/stats.h"

#define PROGRESS_BAR_INTERVAL_MS 100
#define PROGRESS_LINE_SIZE 512
/* The bar's speed is over its last this many redraws (5 s): steady, yet it shows a stall. */
#define PROGRESS_SPEED_SAMPLES 50
/* A terminal that reports no width (0 columns) is taken to be this wide. */
#define PROGRESS_DEFAULT_COLUMNS 80

/* An ETA beyond this (about 31 years) is shown as this: keeps the conversion defined. */
#define PROGRESS_MAX_SECONDS 999999999.0

/* Bytes received by a moment of the run: the speed is the difference of two. */
struct progress_sample {
  double elapsed;
  uint64_t bytes;
};

struct progress {
  struct event *timer;
  struct event *resized; /* SIGWINCH, for a bar on a terminal */
  FILE *out;
  enum progress_style style;
  progress_query_fn query;
  void *query_arg;
  struct timespec started; /* CLOCK_MONOTONIC */
  unsigned columns;        /* the bar's terminal width; 0: not a terminal, no limit */
  bool drawn;              /* a bar is on screen: progress_clear() has something to erase */
  /* The last samples, oldest at `next` once the ring is full: the bar keeps
   * PROGRESS_SPEED_SAMPLES, status lines one (the speed since the previous line). */
  struct progress_sample samples[PROGRESS_SPEED_SAMPLES];
  unsigned sample_capacity, sample_count, sample_next;
};

enum progress_style progress_style_for(enum afetch_progress asked, bool quiet,
                                       bool stderr_is_terminal, bool stdout_shares_it) {
  switch (asked) {
  case AFETCH_PROGRESS_OFF:
    return PROGRESS_NONE;
  case AFETCH_PROGRESS_BAR:
    return PROGRESS_BAR;
  case AFETCH_PROGRESS_LINES:
    return PROGRESS_LINES;
  case AFETCH_PROGRESS_ON:
    return stderr_is_terminal ? PROGRESS_BAR : PROGRESS_LINES;
  case AFETCH_PROGRESS_AUTO:
    break;
  }
  return !quiet && stderr_is_terminal && !stdout_shares_it ? PROGRESS_BAR : PROGRESS_NONE;
}

bool progress_same_terminal(int fd, int other_fd) {
  struct stat one, other;
  return isatty(fd) && isatty(other_fd) && fstat(fd, &one) == 0 && fstat(other_fd, &other) == 0 &&
         one.st_rdev == other.st_rdev;
}

static double progress_elapsed(const struct progress *progress) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - progress->started.tv_sec) +
         (double)(now.tv_nsec - progress->started.tv_nsec) / 1e9;
}

/* Bytes per second from the oldest sample kept to this one, which then joins the ring. */
static double progress_speed(struct progress *progress, double elapsed, uint64_t bytes) {
  double speed = 0.0;
  if (progress->sample_count > 0) {
    unsigned oldest =
        progress->sample_count < progress->sample_capacity ? 0 : progress->sample_next;
    const struct progress_sample *then = &progress->samples[oldest];
    if (elapsed - then->elapsed >= 0.001 && bytes >= then->bytes)
      speed = (double)(bytes - then->bytes) / (elapsed - then->elapsed);
  }
  progress->samples[progress->sample_next] = (struct progress_sample){elapsed, bytes};
  progress->sample_next = (progress->sample_next + 1) % progress->sample_capacity;
  if (progress->sample_count < progress->sample_capacity)
    progress->sample_count++;
  return speed;
}

/* The terminal's width now; 0 when `out` is not a terminal. */
static unsigned progress_columns(FILE *out) {
  struct winsize size;
  if (!isatty(fileno(out)))
    return 0;
  if (ioctl(fileno(out), TIOCGWINSZ, &size) != 0 || size.ws_col == 0)
    return PROGRESS_DEFAULT_COLUMNS;
  return size.ws_col;
}

static void progress_on_resize(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct progress *progress = arg;
  progress->columns = progress_columns(progress->out);
}

static void progress_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct progress *progress = arg;
  struct progress_counts counts = {0};
  progress->query(progress->query_arg, &counts);
  double elapsed = progress_elapsed(progress);
  double speed = progress_speed(progress, elapsed, counts.bytes);
  char line[PROGRESS_LINE_SIZE];
  if (progress->style == PROGRESS_LINES) {
    progress_format(&counts, elapsed, speed, 0, line, sizeof line);
    fprintf(progress->out, "%s\n", line);
  } else if (counts.hold) {
    return; /* drawn again once the results' line is complete */
  } else {
    progress_format(&counts, elapsed, speed, progress->columns, line, sizeof line);
    fprintf(progress->out, "\r%s\x1b[K", line);
    progress->drawn = true;
  }
  fflush(progress->out);
}

struct progress *progress_new(struct event_base *base, FILE *out, enum progress_style style,
                              long interval_ms, progress_query_fn query, void *arg) {
  struct progress *progress = calloc(1, sizeof *progress);
  if (!progress)
    return NULL;
  progress->out = out;
  progress->style = style;
  progress->query = query;
  progress->query_arg = arg;
  progress->sample_capacity = style == PROGRESS_BAR ? PROGRESS_SPEED_SAMPLES : 1;
  clock_gettime(CLOCK_MONOTONIC, &progress->started);
  progress_speed(progress, 0.0, 0); /* nothing received at the start */
  if (style == PROGRESS_BAR) {
    interval_ms = PROGRESS_BAR_INTERVAL_MS;
    progress->columns = progress_columns(out);
    /* The width is read again when the terminal is resized, not on every redraw. */
    if (progress->columns > 0 &&
        (!(progress->resized = evsignal_new(base, SIGWINCH, progress_on_resize, progress)) ||
         event_add(progress->resized, NULL) != 0)) {
      progress_free(progress);
      return NULL;
    }
  }
  progress->timer = event_new(base, -1, EV_PERSIST, progress_tick, progress);
  struct timeval interval = {.tv_sec = interval_ms / 1000, .tv_usec = interval_ms % 1000 * 1000};
  if (!progress->timer || event_add(progress->timer, &interval) != 0) {
    progress_free(progress);
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

void progress_finish(struct progress *progress) {
  if (!progress)
    return;
  if (progress->style == PROGRESS_BAR) {
    progress_clear(progress);
    return;
  }
  struct progress_counts counts = {0};
  progress->query(progress->query_arg, &counts);
  char line[PROGRESS_LINE_SIZE];
  progress_format_summary(&counts, progress_elapsed(progress), line, sizeof line);
  fprintf(progress->out, "%s\n", line);
  fflush(progress->out);
}

void progress_free(struct progress *progress) {
  if (!progress)
    return;
  progress_clear(progress);
  if (progress->timer)
    event_free(progress->timer);
  if (progress->resized)
    event_free(progress->resized);
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

/* "1.2 MiB/s" */
static void progress_format_speed(double bytes_per_second, char *buf, size_t size) {
  if (!(bytes_per_second > 0.0))
    bytes_per_second = 0.0;
  if (bytes_per_second > (double)UINT64_MAX / 2)
    bytes_per_second = (double)UINT64_MAX / 2;
  stats_format_bytes((uint64_t)bytes_per_second, buf, size);
  size_t used = strlen(buf);
  snprintf(buf + used, size - used, "/s");
}

/* The line's fields in the order shown. */
enum progress_field {
  PROGRESS_FIELD_PREFIX,
  PROGRESS_FIELD_DONE,
  PROGRESS_FIELD_IN_FLIGHT,
  PROGRESS_FIELD_OK,
  PROGRESS_FIELD_FAILED,
  PROGRESS_FIELD_RATE,
  PROGRESS_FIELD_BYTES,
  PROGRESS_FIELD_SPEED,
  PROGRESS_FIELD_ELAPSED,
  PROGRESS_FIELD_ETA,
  PROGRESS_FIELD_COUNT,
};

/* What a narrow terminal loses first. "done" stays: the line is about it. */
static const enum progress_field progress_drop_order[] = {
    PROGRESS_FIELD_IN_FLIGHT, PROGRESS_FIELD_ELAPSED, PROGRESS_FIELD_PREFIX,
    PROGRESS_FIELD_BYTES,     PROGRESS_FIELD_OK,      PROGRESS_FIELD_ETA,
    PROGRESS_FIELD_RATE,      PROGRESS_FIELD_SPEED,   PROGRESS_FIELD_FAILED,
};

struct progress_fields {
  char text[PROGRESS_FIELD_COUNT][64]; /* "" when absent */
};

/* Joins the fields present: two spaces between fields, one after the prefix. */
static size_t progress_join(const struct progress_fields *fields, char *buf, size_t size) {
  size_t length = 0;
  bool after_prefix = false;
  for (unsigned i = 0; i < PROGRESS_FIELD_COUNT; i++) {
    const char *text = fields->text[i];
    if (!*text)
      continue;
    const char *separator = length == 0 ? "" : after_prefix ? " " : "  ";
    bool room = buf && length < size;
    int n = snprintf(room ? buf + length : NULL, room ? size - length : 0, "%s%s", separator, text);
    length += (size_t)n;
    after_prefix = i == PROGRESS_FIELD_PREFIX;
  }
  return length;
}

static void progress_fill(struct progress_fields *fields, const struct progress_counts *counts,
                          double elapsed_seconds, double bytes_per_second) {
  double rate = elapsed_seconds >= 0.001 ? (double)counts->done / elapsed_seconds : 0.0;
  snprintf(fields->text[PROGRESS_FIELD_PREFIX], sizeof fields->text[0], "afetch:");
  if (counts->total > 0)
    snprintf(fields->text[PROGRESS_FIELD_DONE], sizeof fields->text[0],
             "%" PRIu64 "/%" PRIu64 " done", counts->done, counts->total);
  else
    snprintf(fields->text[PROGRESS_FIELD_DONE], sizeof fields->text[0], "%" PRIu64 " done",
             counts->done);
  snprintf(fields->text[PROGRESS_FIELD_IN_FLIGHT], sizeof fields->text[0], "%" PRIu64 " in flight",
           counts->in_flight);
  snprintf(fields->text[PROGRESS_FIELD_OK], sizeof fields->text[0], "%" PRIu64 " ok", counts->ok);
  snprintf(fields->text[PROGRESS_FIELD_FAILED], sizeof fields->text[0], "%" PRIu64 " failed",
           counts->failed);
  snprintf(fields->text[PROGRESS_FIELD_RATE], sizeof fields->text[0], "%.1f req/s", rate);
  stats_format_bytes(counts->bytes, fields->text[PROGRESS_FIELD_BYTES], sizeof fields->text[0]);
  progress_format_speed(bytes_per_second, fields->text[PROGRESS_FIELD_SPEED],
                        sizeof fields->text[0]);
  progress_format_duration(elapsed_seconds, fields->text[PROGRESS_FIELD_ELAPSED],
                           sizeof fields->text[0]);
  if (counts->total > counts->done && rate > 0.0) {
    char remaining[32];
    progress_format_duration(ceil((double)(counts->total - counts->done) / rate), remaining,
                             sizeof remaining);
    snprintf(fields->text[PROGRESS_FIELD_ETA], sizeof fields->text[0], "ETA %s", remaining);
  }
}

void progress_format(const struct progress_counts *counts, double elapsed_seconds,
                     double bytes_per_second, unsigned columns, char *buf, size_t size) {
  if (size == 0)
    return;
  struct progress_fields fields = {0};
  progress_fill(&fields, counts, elapsed_seconds, bytes_per_second);
  if (columns > 0) {
    size_t room = columns - 1;
    for (size_t i = 0; i < sizeof progress_drop_order / sizeof *progress_drop_order &&
                       progress_join(&fields, NULL, 0) > room;
         i++)
      fields.text[progress_drop_order[i]][0] = '\0';
    if (room < size)
      size = room + 1; /* what is left is cut */
  }
  progress_join(&fields, buf, size);
}

void progress_format_summary(const struct progress_counts *counts, double elapsed_seconds,
                             char *buf, size_t size) {
  if (size == 0)
    return;
  double speed = elapsed_seconds >= 0.001 ? (double)counts->bytes / elapsed_seconds : 0.0;
  struct progress_fields fields = {0};
  progress_fill(&fields, counts, elapsed_seconds, speed);
  snprintf(fields.text[PROGRESS_FIELD_PREFIX], sizeof fields.text[0], "afetch: summary ");
  fields.text[PROGRESS_FIELD_IN_FLIGHT][0] = '\0';
  fields.text[PROGRESS_FIELD_ETA][0] = '\0';
  progress_join(&fields, buf, size);
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
