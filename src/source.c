/* URL input: files and standard input, read lazily, split into URL lines. */
#include "afetch/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "afetch/options.h"

#define SOURCE_READ_CHUNK 65536

struct source_input {
  const char *name; /* for messages; borrowed from argv */
  const char *url;  /* a URL argument: the input's one line; NULL for files and stdin */
  int fd;           /* -1 for a URL argument */
  bool owns_fd;
  /* Regular files (and devices epoll refuses, like /dev/null) are read when a line is
   * wanted; pipes, sockets and terminals only once libevent says they are readable. */
  bool read_on_demand;
};

struct source {
  struct source_input *inputs;
  size_t input_count;
  size_t current;
  bool current_at_eof;
  bool stopped;
  bool end_at_streams; /* source_end_at_streams(): a pipe or terminal ends the input */
  struct evbuffer *buffer;
  struct event *read_event; /* on the current input when it is watched */
  bool read_event_armed;
  bool discarding;     /* skipping the rest of a too-long line */
  bool at_input_start; /* nothing of the current input taken yet: a byte-order mark may come */
  uint64_t next_index;
  source_readable_fn on_readable;
  void *on_readable_arg;
  char error[256];
  char line[SOURCE_MAX_LINE + 2]; /* room for a trailing '\r' and the NUL */
};

static void source_on_readable(evutil_socket_t fd, short what, void *arg);

/* True when a missing FILE's name reads like a URL without its scheme ("example.com/a"):
 * a host-like first segment, and not a name lists of URLs usually have. */
static bool source_name_looks_like_host(const char *path) {
  static const char *const list_suffixes[] = {".txt", ".json", ".jsonl", ".ndjson",
                                              ".csv", ".lst",  ".list"};
  size_t length = strlen(path);
  for (size_t i = 0; i < sizeof list_suffixes / sizeof list_suffixes[0]; i++) {
    size_t suffix = strlen(list_suffixes[i]);
    if (length >= suffix && strcmp(path + length - suffix, list_suffixes[i]) == 0)
      return false;
  }
  size_t host = strcspn(path, "/:");
  const char *dot = memchr(path, '.', host);
  return path[0] != '.' && path[0] != '/' && dot && dot + 1 < path + host && !strchr(path, ' ');
}

/* Why a FILE operand cannot be opened, with a hint when it was meant as a URL. */
static void source_explain_open_failure(const char *path, int error, char *errbuf,
                                        size_t errbuf_size) {
  bool maybe_url = error == ENOENT && source_name_looks_like_host(path);
  snprintf(errbuf, errbuf_size, "cannot read '%s': %s%s%s%s", path, strerror(error),
           maybe_url ? " (a URL argument needs its scheme: http://" : "", maybe_url ? path : "",
           maybe_url ? ", or use --url)" : "");
}

static bool source_open_input(struct source_input *input, const struct afetch_input *given,
                              char *errbuf, size_t errbuf_size) {
  input->name = given->value;
  if (given->kind == AFETCH_INPUT_URL) {
    input->url = given->value;
    input->fd = -1;
    input->read_on_demand = true;
    return true;
  }
  if (given->kind == AFETCH_INPUT_STDIN) {
    input->name = "standard input";
    input->fd = STDIN_FILENO;
    input->owns_fd = false;
  } else {
    input->fd = open(given->value, O_RDONLY | O_CLOEXEC);
    if (input->fd < 0) {
      source_explain_open_failure(given->value, errno, errbuf, errbuf_size);
      return false;
    }
    input->owns_fd = true;
  }
  struct stat info;
  if (fstat(input->fd, &info) < 0) {
    snprintf(errbuf, errbuf_size, "cannot read '%s': %s", input->name, strerror(errno));
    return false;
  }
  if (S_ISDIR(info.st_mode)) {
    snprintf(errbuf, errbuf_size, "cannot read '%s': %s", input->name, strerror(EISDIR));
    return false;
  }
  /* epoll watches pipes, sockets and terminals; other devices (/dev/null) are read like
   * files. */
  input->read_on_demand = !(S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode) ||
                            (S_ISCHR(info.st_mode) && isatty(input->fd)));
  return true;
}

struct source *source_open(struct event_base *base, const struct afetch_input *inputs,
                           size_t input_count, source_readable_fn on_readable, void *arg,
                           char *errbuf, size_t errbuf_size) {
  struct source *source = calloc(1, sizeof *source);
  if (!source) {
    snprintf(errbuf, errbuf_size, "out of memory");
    return NULL;
  }
  source->on_readable = on_readable;
  source->on_readable_arg = arg;
  source->at_input_start = true;
  source->inputs = calloc(input_count, sizeof *source->inputs);
  source->buffer = evbuffer_new();
  source->read_event = event_new(base, -1, 0, NULL, NULL);
  if (!source->inputs || !source->buffer || !source->read_event) {
    snprintf(errbuf, errbuf_size, "out of memory");
    source_close(source);
    return NULL;
  }
  for (size_t i = 0; i < input_count; i++) {
    source->input_count = i + 1;
    if (!source_open_input(&source->inputs[i], &inputs[i], errbuf, errbuf_size)) {
      source_close(source);
      return NULL;
    }
  }
  return source;
}

/* Reads one chunk from the current input into the buffer: 1 read, 0 end of input, -1 error. */
static int source_read_chunk(struct source *source) {
  struct source_input *input = &source->inputs[source->current];
  if (input->url) {
    /* A URL argument is read as a file holding that one line. */
    source->current_at_eof = true;
    return evbuffer_add(source->buffer, input->url, strlen(input->url)) == 0 ? 1 : -1;
  }
  for (;;) {
    int n = evbuffer_read(source->buffer, input->fd, SOURCE_READ_CHUNK);
    if (n > 0)
      return 1;
    if (n == 0) {
      source->current_at_eof = true;
      return 0;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 1; /* nothing yet: the caller waits for readability again */
    snprintf(source->error, sizeof source->error, "cannot read '%s': %s", input->name,
             strerror(errno));
    return -1;
  }
}

/* Asks libevent to tell us when the current (watched) input is readable. False when epoll
 * cannot watch it, e.g. /dev/null: then it is read on demand like a file. */
static bool source_watch_current(struct source *source) {
  if (source->read_event_armed)
    return true;
  struct source_input *input = &source->inputs[source->current];
  struct event_base *base = event_get_base(source->read_event);
  if (event_assign(source->read_event, base, input->fd, EV_READ, source_on_readable, source) < 0 ||
      event_add(source->read_event, NULL) < 0) {
    input->read_on_demand = true;
    return false;
  }
  source->read_event_armed = true;
  return true;
}

static void source_on_readable(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct source *source = arg;
  source->read_event_armed = false;
  if (source->stopped)
    return;
  if (source_read_chunk(source) < 0)
    source->current_at_eof = true; /* reported by source_next via source->error */
  source->on_readable(source->on_readable_arg);
}

/* Trims the line copied into source->line; returns its length, 0 for a line to skip. */
static size_t source_trim(struct source *source, size_t length) {
  char *text = source->line;
  size_t start = 0;
  while (start < length && (text[start] == ' ' || text[start] == '\t'))
    start++;
  size_t end = length;
  while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
    end--;
  if (end == start || text[start] == '#')
    return 0;
  memmove(text, text + start, end - start);
  text[end - start] = '\0';
  return end - start;
}

/* Drops a UTF-8 byte-order mark (which editors on Windows write) at the start of the
 * current input; until enough bytes are buffered to tell, at_input_start stays set. */
static void source_skip_byte_order_mark(struct source *source) {
  static const unsigned char mark[] = {0xEF, 0xBB, 0xBF};
  unsigned char start[sizeof mark];
  ev_ssize_t copied = evbuffer_copyout(source->buffer, start, sizeof start);
  size_t buffered = copied > 0 ? (size_t)copied : 0;
  size_t matching = 0;
  while (matching < buffered && start[matching] == mark[matching])
    matching++;
  if (matching == sizeof mark)
    evbuffer_drain(source->buffer, sizeof mark);
  else if (matching == buffered && !source->current_at_eof)
    return; /* the start of a mark, or nothing yet */
  source->at_input_start = false;
}

/* Takes the first `length` bytes of the buffer (plus `eol_length` bytes of line end) as a
 * line. Returns true when it is a URL line, filling *line. */
static bool source_take_line(struct source *source, size_t length, size_t eol_length,
                             struct source_line *line) {
  size_t copied = length < sizeof source->line - 1 ? length : sizeof source->line - 1;
  evbuffer_remove(source->buffer, source->line, copied);
  evbuffer_drain(source->buffer, length - copied + eol_length);
  source->line[copied] = '\0';
  size_t trimmed = source_trim(source, copied);
  if (trimmed == 0)
    return false;
  line->index = source->next_index++;
  line->text = source->line;
  line->length = trimmed;
  line->too_long = trimmed > SOURCE_MAX_LINE || copied < length;
  return true;
}

/* Drops what is buffered of the current input and moves on to the next one. */
static void source_go_to_next_input(struct source *source) {
  evbuffer_drain(source->buffer, evbuffer_get_length(source->buffer));
  source->discarding = false;
  source->current++;
  source->current_at_eof = false;
  source->at_input_start = true;
}

enum source_status source_next(struct source *source, struct source_line *line) {
  while (!source->stopped && source->current < source->input_count) {
    if (source->error[0])
      return SOURCE_ERROR;
    if (source->at_input_start)
      source_skip_byte_order_mark(source);
    size_t eol_length = 0;
    struct evbuffer_ptr eol =
        evbuffer_search_eol(source->buffer, NULL, &eol_length, EVBUFFER_EOL_LF);
    if (eol.pos >= 0) {
      if (source->discarding) {
        evbuffer_drain(source->buffer, (size_t)eol.pos + eol_length);
        source->discarding = false;
        continue;
      }
      if (source_take_line(source, (size_t)eol.pos, eol_length, line))
        return SOURCE_LINE;
      continue;
    }
    size_t buffered = evbuffer_get_length(source->buffer);
    if (source->discarding) {
      evbuffer_drain(source->buffer, buffered);
    } else if (buffered > SOURCE_MAX_LINE + 1) {
      /* No line end within the limit: report the line now, skip its rest as it arrives. */
      source->discarding = true;
      if (source_take_line(source, buffered, 0, line)) {
        line->too_long = true;
        return SOURCE_LINE;
      }
      continue;
    }
    if (source->current_at_eof) {
      /* The last line without a line end; the input ends on the next call. */
      bool had_tail = buffered > 0 && !source->discarding;
      if (had_tail && source_take_line(source, buffered, 0, line)) {
        evbuffer_drain(source->buffer, evbuffer_get_length(source->buffer));
        return SOURCE_LINE;
      }
      source_go_to_next_input(source);
      continue;
    }
    struct source_input *input = &source->inputs[source->current];
    if (!input->read_on_demand && source->end_at_streams) {
      /* Not waited for: what this stream has not sent is dropped, and later inputs (files)
       * are still read. */
      if (source->read_event_armed) {
        event_del(source->read_event);
        source->read_event_armed = false;
      }
      source_go_to_next_input(source);
      continue;
    }
    if (!input->read_on_demand && source_watch_current(source))
      return SOURCE_PENDING;
    if (source_read_chunk(source) < 0)
      return SOURCE_ERROR;
  }
  return SOURCE_END;
}

void source_stop(struct source *source) {
  source->stopped = true;
  if (source->read_event_armed) {
    event_del(source->read_event);
    source->read_event_armed = false;
  }
}

void source_end_at_streams(struct source *source) { source->end_at_streams = true; }

const char *source_error(const struct source *source) { return source->error; }

void source_close(struct source *source) {
  if (!source)
    return;
  if (source->read_event) {
    event_del(source->read_event);
    event_free(source->read_event);
  }
  for (size_t i = 0; i < source->input_count; i++)
    if (source->inputs[i].owns_fd)
      close(source->inputs[i].fd);
  free(source->inputs);
  if (source->buffer)
    evbuffer_free(source->buffer);
  free(source);
}
