/* The input as a work source: the line reader (source.c) and JSON lines (json_line.c). */
#include "afetch/input_source.h"

#include <stdio.h>
#include <stdlib.h>

#include "afetch/json_line.h"
#include "afetch/options.h"
#include "afetch/request.h"
#include "afetch/shard.h"
#include "afetch/source.h"
#include "afetch/work_source.h"

struct input_source {
  struct work_source base;
  const struct afetch_options *options;
  struct source *lines;
  bool ended;         /* the reader said SOURCE_END or SOURCE_ERROR (once) */
  input_skip_fn skip; /* lines passed over (NULL: none) */
  const void *skip_arg;
};

/* Lines passed over (committed in a journal, of another shard) are read and dropped, keeping
 * their numbers. So that a long run of them does not hold the loop, the pump is woken to come
 * back after this many. */
#define INPUT_SOURCE_SKIPS_PER_CALL 4096

struct request *input_line_request(const struct source_line *line,
                                   const struct afetch_options *options) {
  return json_line_is_object(line) ? json_line_request(line, options) : request_new(line);
}

static enum work_status input_source_next(struct work_source *base, struct request **request) {
  struct input_source *input = (struct input_source *)base;
  if (input->ended)
    return WORK_EXHAUSTED;
  struct source_line line;
  unsigned skipped = 0;
  do {
    if (skipped++ == INPUT_SOURCE_SKIPS_PER_CALL) {
      work_source_wake(base);
      return WORK_WAIT;
    }
    switch (source_next(input->lines, &line)) {
    case SOURCE_PENDING:
      return WORK_WAIT;
    case SOURCE_END:
      input->ended = true;
      return WORK_EXHAUSTED;
    case SOURCE_ERROR:
      input->ended = true;
      return WORK_FAILED;
    case SOURCE_LINE:
      break;
    }
  } while (input->skip && input->skip(input->skip_arg, line.index));
  *request = input_line_request(&line, input->options);
  if (!*request)
    return WORK_NO_MEMORY;
  (*request)->index_set = true; /* the line's number */
  return WORK_REQUEST;
}

static enum work_status input_source_next_in_shard(struct work_source *base,
                                                   struct request **request) {
  const struct shard_spec *shard = &((struct input_source *)base)->options->shard;
  for (unsigned skipped = 0; skipped < INPUT_SOURCE_SKIPS_PER_CALL; skipped++) {
    enum work_status status = input_source_next(base, request);
    if (status != WORK_REQUEST)
      return status;
    /* A line with an invalid_input or invalid_url result goes by its number. */
    bool usable = !(*request)->input_error && !(*request)->too_long;
    if (shard_takes(shard, usable ? (*request)->url : NULL, (*request)->index))
      return WORK_REQUEST;
    request_free(*request);
    *request = NULL;
  }
  work_source_wake(base);
  return WORK_WAIT;
}

/* A line's request needs nothing back. */
static bool input_source_done(struct work_source *base, const struct request *request,
                              const struct outcome *outcome) {
  (void)base;
  (void)request;
  (void)outcome;
  return true;
}

static bool input_source_idle(const struct work_source *base) {
  return ((const struct input_source *)base)->ended;
}

static void input_source_end(struct work_source *base, enum work_end how) {
  struct input_source *input = (struct input_source *)base;
  if (how == WORK_END_AT_STREAMS) {
    source_end_at_streams(input->lines);
    return;
  }
  source_stop(input->lines);
  input->ended = true;
}

static const char *input_source_error(const struct work_source *base) {
  return source_error(((const struct input_source *)base)->lines);
}

static void input_source_free(struct work_source *base) {
  struct input_source *input = (struct input_source *)base;
  source_close(input->lines);
  free(input);
}

static const struct work_source_ops input_source_ops = {
    .next = input_source_next_in_shard,
    .done = input_source_done,
    .idle = input_source_idle,
    .end = input_source_end,
    .error = input_source_error,
    .free = input_source_free,
};

/* The reader's callback: input arrived on a pipe or terminal. */
static void input_source_on_readable(void *arg) { work_source_wake(arg); }

struct work_source *input_source_open(struct event_base *base, const struct afetch_options *options,
                                      struct event *wake, char *errbuf, size_t errbuf_size) {
  struct input_source *input = calloc(1, sizeof *input);
  if (!input) {
    snprintf(errbuf, errbuf_size, "out of memory");
    return NULL;
  }
  input->base = (struct work_source){.ops = &input_source_ops, .wake = wake};
  input->options = options;
  input->lines = source_open(base, options->inputs, options->input_count, input_source_on_readable,
                             &input->base, errbuf, errbuf_size);
  if (!input->lines) {
    free(input);
    return NULL;
  }
  return &input->base;
}

void input_source_skip_if(struct work_source *source, input_skip_fn skip, const void *arg) {
  struct input_source *input = (struct input_source *)source;
  input->skip = skip;
  input->skip_arg = arg;
}
