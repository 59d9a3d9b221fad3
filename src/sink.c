/* JSON out: gather (input order, incremental) and ndjson (completion order). */
#include "afetch/sink.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* Write out early once this much is buffered, rather than waiting for the loop pass to end. */
#define SINK_FLUSH_THRESHOLD (64 * 1024)

struct sink_held {
  char *json; /* a finished result waiting for an earlier index; NULL when empty */
  size_t length;
};

struct sink {
  int fd;
  enum afetch_output_mode mode;
  struct evbuffer *pending; /* serialised, not yet written */
  struct event *flush_event;
  bool flush_scheduled;
  int error; /* errno of the failed write, 0 while healthy */
  bool (*before_write)(void *arg);
  void *before_write_arg;
  bool at_line_start; /* the last byte written was '\n', or none was written */
  /* gather only */
  uint64_t next_index;    /* the first index not yet written */
  struct sink_held *held; /* ring of `window` entries, slot = index % window */
  size_t window;
  bool array_has_element;
};

static void sink_on_flush(evutil_socket_t fd, short what, void *arg);

size_t sink_window_for(unsigned concurrency) {
  size_t window = (size_t)concurrency * 16;
  return window < 1024 ? 1024 : window;
}

struct sink *sink_new(struct event_base *base, int fd, enum afetch_output_mode mode,
                      size_t window) {
  struct sink *sink = calloc(1, sizeof *sink);
  if (!sink)
    return NULL;
  sink->fd = fd;
  sink->mode = mode;
  sink->at_line_start = true;
  sink->window = window ? window : 1;
  sink->pending = evbuffer_new();
  sink->flush_event = event_new(base, -1, 0, sink_on_flush, sink);
  if (mode == AFETCH_OUTPUT_GATHER)
    sink->held = calloc(sink->window, sizeof *sink->held);
  if (!sink->pending || !sink->flush_event || (mode == AFETCH_OUTPUT_GATHER && !sink->held)) {
    sink_free(sink);
    return NULL;
  }
  if (mode == AFETCH_OUTPUT_GATHER)
    evbuffer_add(sink->pending, "[\n", 2);
  return sink;
}

/* Waits until a non-blocking stdout can take more: back-pressure, as a blocking one gives. */
static void sink_wait_writable(int fd) {
  struct pollfd pfd = {.fd = fd, .events = POLLOUT};
  while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
    ;
}

/* Writes everything pending. Blocking on a slow reader is deliberate: it is back-pressure. */
static int sink_write_pending(struct sink *sink) {
  size_t length = evbuffer_get_length(sink->pending);
  /* The hook: the journal first, and a progress bar on the same terminal (then the last byte
   * tells whether the output ends a line). */
  if (length > 0 && !sink->error && sink->before_write) {
    /* A result on the output is one the journal holds: when it failed, none goes out. */
    if (!sink->before_write(sink->before_write_arg))
      sink->error = EIO;
    struct evbuffer_ptr last;
    char byte = '\0';
    if (evbuffer_ptr_set(sink->pending, &last, length - 1, EVBUFFER_PTR_SET) == 0)
      evbuffer_copyout_from(sink->pending, &last, &byte, 1);
    sink->at_line_start = byte == '\n';
  }
  while (!sink->error && evbuffer_get_length(sink->pending) > 0) {
    int written = evbuffer_write(sink->pending, sink->fd);
    if (written >= 0)
      continue;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      sink_wait_writable(sink->fd);
      continue;
    }
    sink->error = errno;
  }
  if (sink->error) {
    evbuffer_drain(sink->pending, evbuffer_get_length(sink->pending));
    return -1;
  }
  return 0;
}

static void sink_on_flush(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct sink *sink = arg;
  sink->flush_scheduled = false;
  sink_write_pending(sink);
}

/* Flushes at the end of this loop pass, so results finishing together share one write. */
static int sink_schedule_flush(struct sink *sink) {
  if (evbuffer_get_length(sink->pending) >= SINK_FLUSH_THRESHOLD)
    return sink_write_pending(sink);
  if (!sink->flush_scheduled) {
    sink->flush_scheduled = true;
    event_active(sink->flush_event, 0, 0);
  }
  return 0;
}

static void sink_append_element(struct sink *sink, const char *json, size_t length) {
  if (sink->mode == AFETCH_OUTPUT_NDJSON) {
    evbuffer_add(sink->pending, json, length);
    evbuffer_add(sink->pending, "\n", 1);
    return;
  }
  if (sink->array_has_element)
    evbuffer_add(sink->pending, ",\n", 2);
  evbuffer_add(sink->pending, json, length);
  sink->array_has_element = true;
}

/* Marks a held slot whose index has no result (sink_skip()): released without output. */
static char sink_skipped[1];

/* Appends every held result that is now next in order. */
static void sink_release_held(struct sink *sink) {
  for (;;) {
    struct sink_held *slot = &sink->held[sink->next_index % sink->window];
    if (!slot->json)
      return;
    if (slot->json != sink_skipped) {
      sink_append_element(sink, slot->json, slot->length);
      free(slot->json);
    }
    slot->json = NULL;
    sink->next_index++;
  }
}

void sink_skip(struct sink *sink, uint64_t index) {
  if (sink->error || sink->mode == AFETCH_OUTPUT_NDJSON)
    return;
  if (index == sink->next_index) {
    sink->next_index++;
    sink_release_held(sink);
    sink_schedule_flush(sink);
  } else {
    sink->held[index % sink->window].json = sink_skipped;
  }
}

bool sink_accepts(const struct sink *sink, uint64_t index) {
  return sink->mode == AFETCH_OUTPUT_NDJSON || index < sink->next_index + sink->window;
}

int sink_emit_json(struct sink *sink, uint64_t index, const char *json, size_t length) {
  if (sink->error)
    return -1;
  if (sink->mode == AFETCH_OUTPUT_NDJSON) {
    sink_append_element(sink, json, length);
  } else if (index == sink->next_index) {
    sink_append_element(sink, json, length);
    sink->next_index++;
    sink_release_held(sink);
  } else {
    /* The scheduler only starts indexes inside the window, so the slot is free. */
    struct sink_held *slot = &sink->held[index % sink->window];
    slot->json = malloc(length + 1);
    if (!slot->json) {
      sink->error = ENOMEM;
      return -1;
    }
    memcpy(slot->json, json, length);
    slot->json[length] = '\0';
    slot->length = length;
  }
  return sink_schedule_flush(sink);
}

int sink_finish(struct sink *sink) {
  if (sink->error)
    return -1;
  if (sink->mode == AFETCH_OUTPUT_GATHER)
    evbuffer_add(sink->pending, sink->array_has_element ? "\n]\n" : "]\n",
                 sink->array_has_element ? 3 : 2);
  return sink_write_pending(sink);
}

int sink_error(const struct sink *sink) { return sink->error; }

void sink_before_write(struct sink *sink, bool (*before_write)(void *arg), void *arg) {
  sink->before_write = before_write;
  sink->before_write_arg = arg;
}

bool sink_at_line_start(const struct sink *sink) { return sink->at_line_start; }

void sink_free(struct sink *sink) {
  if (!sink)
    return;
  if (sink->held) {
    for (size_t i = 0; i < sink->window; i++)
      if (sink->held[i].json != sink_skipped)
        free(sink->held[i].json);
    free(sink->held);
  }
  if (sink->flush_event)
    event_free(sink->flush_event);
  if (sink->pending)
    evbuffer_free(sink->pending);
  free(sink);
}
