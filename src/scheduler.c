/* The run: source -> a worker with a free slot -> sink, plus signals and shutdown. */
#include "afetch/scheduler.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "afetch/limiter.h"
#include "afetch/options.h"
#include "afetch/sink.h"
#include "afetch/source.h"
#include "afetch/worker.h"

/* Descriptors we may need beyond one socket per transfer: stdio, input files, epoll, spares. */
#define SCHEDULER_SPARE_FDS 64

struct scheduler;

/* A worker and its share of -c: the semaphore slots it may fill. */
struct scheduler_worker {
  struct scheduler *scheduler;
  struct worker *worker;
  struct limiter slots;
};

struct scheduler {
  struct event_base *base;
  const struct afetch_options *options;
  struct sink *sink;
  struct source *source;
  struct scheduler_worker *workers;
  unsigned worker_count;
  unsigned in_flight; /* lines submitted whose result has not come back */
  struct event *sigint_event;
  struct event *sigterm_event;
  uint64_t next_index; /* index the next URL line will get */
  bool input_done;
  bool input_failed; /* a read error ended the input early: exit 3 once the rest is done */
  bool pumping;      /* scheduler_pump is on the stack: a nested call only asks for a rerun */
  bool pump_again;
  bool workers_stopped;
  bool finished;
  bool any_not_ok;
  enum afetch_exit stop_reason; /* set when a signal or failure stops the run early */
};

static void scheduler_warn(const struct scheduler *scheduler, const char *format, ...) {
  if (scheduler->options->quiet)
    return;
  va_list args;
  va_start(args, format);
  fputs("afetch: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
}

/* One socket per transfer: make sure the descriptor limit does not cap -c. */
static void scheduler_raise_fd_limit(const struct scheduler *scheduler) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return;
  rlim_t wanted = (rlim_t)scheduler->options->concurrency + SCHEDULER_SPARE_FDS;
  if (limit.rlim_cur >= wanted)
    return;
  limit.rlim_cur =
      limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= wanted ? wanted : limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < wanted)
    scheduler_warn(scheduler, "open-file limit %lu is below -c %u; some connections may fail",
                   (unsigned long)limit.rlim_cur, scheduler->options->concurrency);
}

/* Closes the output once nothing is left to come back. */
static void scheduler_finish_if_done(struct scheduler *scheduler) {
  if (scheduler->finished || scheduler->in_flight > 0 ||
      !(scheduler->input_done || scheduler->stop_reason))
    return;
  scheduler->finished = true;
  source_stop(scheduler->source);
  if (sink_finish(scheduler->sink) < 0 && !scheduler->stop_reason)
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  event_base_loopbreak(scheduler->base);
}

/* Stops reading and cancels what is in flight; the run ends when the cancelled results are
 * back (at once for inline workers). */
static void scheduler_stop(struct scheduler *scheduler, enum afetch_exit reason) {
  if (!scheduler->stop_reason)
    scheduler->stop_reason = reason;
  scheduler->input_done = true;
  source_stop(scheduler->source);
  if (!scheduler->workers_stopped) {
    scheduler->workers_stopped = true;
    for (unsigned i = 0; i < scheduler->worker_count; i++)
      worker_stop_all(scheduler->workers[i].worker, RESULT_CANCELLED);
  }
  scheduler_finish_if_done(scheduler);
}

/* The worker with the most free slots, or NULL when every slot is taken. */
static struct scheduler_worker *scheduler_pick_worker(struct scheduler *scheduler) {
  struct scheduler_worker *best = NULL;
  unsigned best_free = 0;
  for (unsigned i = 0; i < scheduler->worker_count; i++) {
    struct limiter *slots = &scheduler->workers[i].slots;
    unsigned free_slots = slots->capacity - limiter_in_use(slots);
    if (free_slots > best_free) {
      best = &scheduler->workers[i];
      best_free = free_slots;
    }
  }
  return best;
}

/* Submits lines while a slot is free and the gather window allows. */
static void scheduler_fill_slots(struct scheduler *scheduler) {
  while (!scheduler->input_done && !scheduler->stop_reason) {
    struct scheduler_worker *target = scheduler_pick_worker(scheduler);
    if (!target || !sink_accepts(scheduler->sink, scheduler->next_index))
      return;
    struct source_line line;
    enum source_status status = source_next(scheduler->source, &line);
    if (status == SOURCE_PENDING)
      return;
    if (status == SOURCE_ERROR) {
      scheduler_warn(scheduler, "%s", source_error(scheduler->source));
      scheduler->input_failed = true;
    }
    if (status != SOURCE_LINE) {
      scheduler->input_done = true;
      return;
    }
    scheduler->next_index = line.index + 1;
    /* Take the slot first: an inline worker may hand the result back before returning. */
    limiter_try_acquire(&target->slots);
    scheduler->in_flight++;
    if (!worker_submit(target->worker, &line)) {
      limiter_release(&target->slots);
      scheduler->in_flight--;
      scheduler_warn(scheduler, "cannot start a transfer: out of memory or a libcurl failure");
      scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
      return;
    }
  }
}

/* Fills free slots, then ends the run if nothing is left. Results that come back while it
 * runs (inline workers, invalid lines) call it again: that nested call only asks for one more
 * pass, so a long run of invalid lines is a loop, not a recursion. */
static void scheduler_pump(struct scheduler *scheduler) {
  if (scheduler->pumping) {
    scheduler->pump_again = true;
    return;
  }
  scheduler->pumping = true;
  do {
    scheduler->pump_again = false;
    scheduler_fill_slots(scheduler);
  } while (scheduler->pump_again && !scheduler->input_done && !scheduler->stop_reason);
  scheduler->pumping = false;
  scheduler_finish_if_done(scheduler);
}

static void scheduler_on_result(void *arg, uint64_t index, bool ok, const char *json,
                                size_t length) {
  struct scheduler_worker *from = arg;
  struct scheduler *scheduler = from->scheduler;
  limiter_release(&from->slots);
  scheduler->in_flight--;
  if (!ok)
    scheduler->any_not_ok = true;
  bool written = json && length > 0 && sink_emit_json(scheduler->sink, index, json, length) == 0;
  if (!written && !scheduler->stop_reason) {
    int error = json && length > 0 ? sink_error(scheduler->sink) : ENOMEM;
    if (error != EPIPE) /* a closed pipe (`| head`) ends the run quietly */
      scheduler_warn(scheduler, "cannot write results: %s", strerror(error));
    scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
  }
  scheduler_pump(scheduler);
}

void scheduler_input_ready(void *arg) { scheduler_pump(arg); }

static void scheduler_on_signal(evutil_socket_t signal_number, short what, void *arg) {
  (void)what;
  struct scheduler *scheduler = arg;
  scheduler_stop(scheduler, signal_number == SIGINT ? AFETCH_EXIT_SIGINT : AFETCH_EXIT_SIGTERM);
}

/* One inline worker, or --threads workers splitting -c between them. */
static bool scheduler_start_workers(struct scheduler *scheduler) {
  const struct afetch_options *options = scheduler->options;
  unsigned count =
      options->threads < options->concurrency ? options->threads : options->concurrency;
  if (count == 0)
    count = 1;
  bool threaded = options->threads > 1;
  scheduler->workers = calloc(count, sizeof *scheduler->workers);
  if (!scheduler->workers)
    return false;
  for (unsigned i = 0; i < count; i++) {
    struct scheduler_worker *slot = &scheduler->workers[i];
    unsigned share = options->concurrency / count + (i < options->concurrency % count);
    slot->scheduler = scheduler;
    limiter_init(&slot->slots, share);
    slot->worker = worker_new(scheduler->base, options, share, threaded, scheduler_on_result, slot);
    if (!slot->worker)
      return false;
    scheduler->worker_count = i + 1;
  }
  return true;
}

struct scheduler *scheduler_new(struct event_base *base, const struct afetch_options *options,
                                struct sink *sink) {
  struct scheduler *scheduler = calloc(1, sizeof *scheduler);
  if (!scheduler)
    return NULL;
  scheduler->base = base;
  scheduler->options = options;
  scheduler->sink = sink;
  scheduler_raise_fd_limit(scheduler);
  scheduler->sigint_event = evsignal_new(base, SIGINT, scheduler_on_signal, scheduler);
  scheduler->sigterm_event = evsignal_new(base, SIGTERM, scheduler_on_signal, scheduler);
  if (!scheduler->sigint_event || !scheduler->sigterm_event ||
      evsignal_add(scheduler->sigint_event, NULL) < 0 ||
      evsignal_add(scheduler->sigterm_event, NULL) < 0 || !scheduler_start_workers(scheduler)) {
    scheduler_free(scheduler);
    return NULL;
  }
  return scheduler;
}

enum afetch_exit scheduler_run(struct scheduler *scheduler, struct source *source) {
  scheduler->source = source;
  scheduler_pump(scheduler);
  if (!scheduler->finished)
    event_base_dispatch(scheduler->base);
  if (scheduler->stop_reason)
    return scheduler->stop_reason;
  if (scheduler->input_failed)
    return AFETCH_EXIT_INTERNAL;
  return scheduler->any_not_ok ? AFETCH_EXIT_SOME_FAILED : AFETCH_EXIT_ALL_OK;
}

void scheduler_free(struct scheduler *scheduler) {
  if (!scheduler)
    return;
  for (unsigned i = 0; i < scheduler->worker_count; i++)
    worker_free(scheduler->workers[i].worker);
  free(scheduler->workers);
  if (scheduler->sigint_event)
    event_free(scheduler->sigint_event);
  if (scheduler->sigterm_event)
    event_free(scheduler->sigterm_event);
  free(scheduler);
}
