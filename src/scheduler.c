/* The run: source -> limiter -> task on the loop -> sink, plus signals and shutdown. */
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
#include "afetch/loop.h"
#include "afetch/options.h"
#include "afetch/result.h"
#include "afetch/sink.h"
#include "afetch/source.h"
#include "afetch/task.h"

/* Descriptors we may need beyond one socket per transfer: stdio, input files, epoll, spares. */
#define SCHEDULER_SPARE_FDS 64

struct scheduler {
  struct event_base *base;
  const struct afetch_options *options;
  struct sink *sink;
  struct source *source;
  struct loop *loop;
  struct limiter limiter;
  /* Up to `concurrency` tasks, created as needed and reused; busy[i] says tasks[i] is in
   * flight. idle[] is a stack of the others. */
  struct task **tasks;
  bool *busy;
  unsigned task_count;
  struct task **idle;
  unsigned idle_count;
  struct event *sigint_event;
  struct event *sigterm_event;
  uint64_t next_index; /* index the next URL line will get */
  bool input_done;
  bool input_failed; /* a read error ended the input early: exit 3 once the rest is done */
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

static void scheduler_finish(struct scheduler *scheduler) {
  if (scheduler->finished)
    return;
  scheduler->finished = true;
  source_stop(scheduler->source);
  if (sink_finish(scheduler->sink) < 0 && !scheduler->stop_reason)
    scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  event_base_loopbreak(scheduler->base);
}

/* Hands a result to the sink; a failed output stops the run. */
static void scheduler_emit(struct scheduler *scheduler, const struct afetch_result *result) {
  if (!result_is_ok(result))
    scheduler->any_not_ok = true;
  if (sink_emit(scheduler->sink, result) == 0 || scheduler->stop_reason)
    return;
  scheduler->stop_reason = AFETCH_EXIT_INTERNAL;
  int error = sink_error(scheduler->sink);
  if (error != EPIPE) /* a closed pipe (`| head`) ends the run quietly */
    scheduler_warn(scheduler, "cannot write results: %s", strerror(error));
}

static struct task *scheduler_take_idle_task(struct scheduler *scheduler) {
  if (scheduler->idle_count > 0)
    return scheduler->idle[--scheduler->idle_count];
  if (scheduler->task_count >= scheduler->options->concurrency)
    return NULL;
  struct task *task = task_new(scheduler->options, scheduler->task_count);
  if (task)
    scheduler->tasks[scheduler->task_count++] = task;
  return task;
}

static void scheduler_return_task(struct scheduler *scheduler, struct task *task) {
  scheduler->busy[task_id(task)] = false;
  scheduler->idle[scheduler->idle_count++] = task;
}

/* Stops every transfer in flight, reporting each with `why` (nothing when the output is
 * already broken: it could not be written anyway). */
static void scheduler_stop_transfers(struct scheduler *scheduler, enum result_error why) {
  for (unsigned i = 0; i < scheduler->task_count; i++) {
    if (!scheduler->busy[i])
      continue;
    struct task *task = scheduler->tasks[i];
    loop_remove(scheduler->loop, task_easy(task));
    struct afetch_result result;
    task_stopped_result(task, why, &result);
    scheduler_emit(scheduler, &result);
    scheduler_return_task(scheduler, task);
    limiter_release(&scheduler->limiter);
  }
}

static void scheduler_stop(struct scheduler *scheduler, enum afetch_exit reason) {
  if (!scheduler->stop_reason)
    scheduler->stop_reason = reason;
  scheduler->input_done = true;
  source_stop(scheduler->source);
  scheduler_stop_transfers(scheduler, RESULT_CANCELLED);
  scheduler_finish(scheduler);
}

/* Starts as many lines as the limiter and the gather window allow, then finishes the run if
 * nothing is left. */
static void scheduler_pump(struct scheduler *scheduler) {
  while (!scheduler->input_done && !scheduler->stop_reason) {
    if (scheduler->limiter.in_use >= scheduler->limiter.capacity ||
        !sink_accepts(scheduler->sink, scheduler->next_index))
      break;
    struct source_line line;
    enum source_status status = source_next(scheduler->source, &line);
    if (status == SOURCE_PENDING)
      break;
    if (status == SOURCE_ERROR) {
      scheduler_warn(scheduler, "%s", source_error(scheduler->source));
      scheduler->input_failed = true;
    }
    if (status != SOURCE_LINE) {
      scheduler->input_done = true;
      break;
    }
    scheduler->next_index = line.index + 1;
    struct task *task = scheduler_take_idle_task(scheduler);
    if (!task) {
      scheduler_warn(scheduler, "out of memory");
      scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
      return;
    }
    if (!task_prepare(task, &line)) {
      struct afetch_result result;
      task_result(task, CURLE_OK, &result);
      scheduler_emit(scheduler, &result);
      scheduler_return_task(scheduler, task);
      continue;
    }
    CURLMcode added = loop_add(scheduler->loop, task_easy(task));
    if (added != CURLM_OK) {
      scheduler_warn(scheduler, "cannot start a transfer: %s", curl_multi_strerror(added));
      scheduler_return_task(scheduler, task);
      scheduler_stop(scheduler, AFETCH_EXIT_INTERNAL);
      return;
    }
    limiter_try_acquire(&scheduler->limiter);
    scheduler->busy[task_id(task)] = true;
  }
  if (scheduler->stop_reason && !scheduler->finished) {
    scheduler_stop(scheduler, scheduler->stop_reason);
    return;
  }
  if (scheduler->input_done && limiter_in_use(&scheduler->limiter) == 0)
    scheduler_finish(scheduler);
}

static void scheduler_on_transfer_done(void *arg, CURL *easy, CURLcode code) {
  struct scheduler *scheduler = arg;
  struct task *task = task_of_easy(easy);
  struct afetch_result result;
  task_result(task, code, &result);
  scheduler_emit(scheduler, &result);
  scheduler_return_task(scheduler, task);
  limiter_release(&scheduler->limiter);
  scheduler_pump(scheduler);
}

void scheduler_input_ready(void *arg) { scheduler_pump(arg); }

static void scheduler_on_signal(evutil_socket_t signal_number, short what, void *arg) {
  (void)what;
  struct scheduler *scheduler = arg;
  scheduler_stop(scheduler, signal_number == SIGINT ? AFETCH_EXIT_SIGINT : AFETCH_EXIT_SIGTERM);
}

struct scheduler *scheduler_new(struct event_base *base, const struct afetch_options *options,
                                struct sink *sink) {
  struct scheduler *scheduler = calloc(1, sizeof *scheduler);
  if (!scheduler)
    return NULL;
  scheduler->base = base;
  scheduler->options = options;
  scheduler->sink = sink;
  limiter_init(&scheduler->limiter, options->concurrency);
  scheduler->tasks = calloc(options->concurrency, sizeof *scheduler->tasks);
  scheduler->busy = calloc(options->concurrency, sizeof *scheduler->busy);
  scheduler->idle = calloc(options->concurrency, sizeof *scheduler->idle);
  scheduler->loop = loop_new(base, scheduler_on_transfer_done, scheduler);
  scheduler->sigint_event = evsignal_new(base, SIGINT, scheduler_on_signal, scheduler);
  scheduler->sigterm_event = evsignal_new(base, SIGTERM, scheduler_on_signal, scheduler);
  if (!scheduler->tasks || !scheduler->busy || !scheduler->idle || !scheduler->loop ||
      !scheduler->sigint_event || !scheduler->sigterm_event ||
      evsignal_add(scheduler->sigint_event, NULL) < 0 ||
      evsignal_add(scheduler->sigterm_event, NULL) < 0) {
    scheduler_free(scheduler);
    return NULL;
  }
  scheduler_raise_fd_limit(scheduler);
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
  if (scheduler->sigint_event)
    event_free(scheduler->sigint_event);
  if (scheduler->sigterm_event)
    event_free(scheduler->sigterm_event);
  /* Handles leave the multi handle before it is cleaned up, and the loop goes before the
   * event base (the caller's) does. */
  for (unsigned i = 0; i < scheduler->task_count; i++) {
    if (scheduler->busy[i])
      loop_remove(scheduler->loop, task_easy(scheduler->tasks[i]));
  }
  loop_free(scheduler->loop);
  for (unsigned i = 0; i < scheduler->task_count; i++)
    task_free(scheduler->tasks[i]);
  free(scheduler->tasks);
  free(scheduler->busy);
  free(scheduler->idle);
  free(scheduler);
}
