/* A work source: where the scheduler pulls requests from. Today the input reader
 * (input_source.h: URL lines and JSON lines) and the crawl (crawl_source.h: the seeds it reads
 * from the input, then the pages found); a new kind of source (a queue shared by many
 * processes, a resumed journal) is a new file that fills in `struct work_source_ops`.
 *
 * Threading: every operation is called on the scheduler's thread, one at a time, from the
 * scheduler's pump; an operation never calls the scheduler. A source whose requests arrive on
 * another thread or a socket watches them with an event of its own on the scheduler's event
 * base (worker.c's eventfd is the model) and, in that event's callback, wakes the pump.
 *
 * Waking: a source is made with the scheduler's wake event (scheduler_wake_event()). When it
 * answered WORK_WAIT and has requests again, it calls work_source_wake(): that only activates
 * the event; the pump runs once in this loop pass and pulls again. A source that waits only
 * for the results of requests it handed out (the crawl) need not wake anyone: those results
 * reach it through done(), inside the pump, which pulls again after them.
 *
 * Order: the scheduler pulls from its sources in the order they were given, taking the first
 * request one has; it numbers requests in the order it takes them (request->index, the order
 * gather mode writes results in), so a source leaves the index alone. The scheduler pulls only
 * while it may hold another request (free slots, the gather window, the look-ahead bound),
 * so a source reads ahead no further than that.
 *
 * Ownership: a request handed out is the caller's (the scheduler frees it with the job); the
 * source keeps nothing of it. A source given to the scheduler stays the caller's, who frees
 * it after the run (work_source_free()). */
#ifndef AFETCH_WORK_SOURCE_H
#define AFETCH_WORK_SOURCE_H

#include <stdbool.h>

#include <event2/event.h>

struct outcome;
struct request;
struct work_source;

enum work_status {
  WORK_REQUEST,   /* *request is a new request, now the caller's */
  WORK_WAIT,      /* none now; more may come (the source wakes the pump, or done() brings it) */
  WORK_EXHAUSTED, /* none, ever again (it says so from now on) */
  WORK_FAILED,    /* the source broke (error() says why): exhausted from now on, and the run
                     ends with exit status 3 once what was pulled is done */
  WORK_NO_MEMORY, /* out of memory: the run fails */
};

/* How the run ends early for the sources (end()). */
enum work_end {
  WORK_END_STOP,       /* a signal or a failure: hand out nothing more, stop watching */
  WORK_END_AT_STREAMS, /* the deadline: hand out only what needs no waiting (buffered lines,
                          regular files), then answer WORK_EXHAUSTED; every request handed out
                          from now on is reported as not run ("deadline") */
};

struct work_source_ops {
  enum work_status (*next)(struct work_source *source, struct request **request);
  /* A request it handed out is finished and will not run again: its result is committed
   * right after this returns (or it was skipped). `outcome` is its last attempt's, NULL when
   * it did not run (cut short by a signal, the deadline, robots.txt or an invalid line). The
   * acknowledgement a queue needs; the crawl queues the page's links. False when out of
   * memory (the run fails). The request is freed after the commit. */
  bool (*done)(struct work_source *source, const struct request *request,
               const struct outcome *outcome);
  /* Optional (NULL: never). Asked first about a request whose last attempt failed with a
   * transient failure (retry_is_transient(), -r's tries used up): true when the source takes
   * it back to hand it out again later (a queue: to any worker, after a backoff); then
   * done() is not called and no result is written for it. */
  bool (*take_back)(struct work_source *source, const struct request *request,
                    const struct outcome *outcome);
  /* Optional (NULL: none). After done(): what the source keeps beside that request's result
   * in a --journal (JSON text, the source's, valid until its next done()), or NULL: the crawl's
   * record of what the page changed, which a resumed crawl replays. */
  const char *(*journal_note)(const struct work_source *source);
  /* True when it has nothing to hand out and expects nothing but the results of requests it
   * handed out (done()). The run ends when no request is unfinished and every source is
   * idle. */
  bool (*idle)(const struct work_source *source);
  void (*end)(struct work_source *source, enum work_end how);
  /* Borrowed message for WORK_FAILED. */
  const char *(*error)(const struct work_source *source);
  void (*free)(struct work_source *source);
};

/* The first member of every source's own struct. */
struct work_source {
  const struct work_source_ops *ops;
  struct event *wake; /* the scheduler's, borrowed: see "Waking" */
};

static inline void work_source_wake(struct work_source *source) {
  event_active(source->wake, EV_READ, 0);
}

static inline enum work_status work_source_next(struct work_source *source,
                                                struct request **request) {
  return source->ops->next(source, request);
}

static inline bool work_source_done(struct work_source *source, const struct request *request,
                                    const struct outcome *outcome) {
  return source->ops->done(source, request, outcome);
}

static inline bool work_source_take_back(struct work_source *source, const struct request *request,
                                         const struct outcome *outcome) {
  return source->ops->take_back && source->ops->take_back(source, request, outcome);
}

static inline const char *work_source_journal_note(const struct work_source *source) {
  return source->ops->journal_note ? source->ops->journal_note(source) : NULL;
}

static inline bool work_source_idle(const struct work_source *source) {
  return source->ops->idle(source);
}

static inline void work_source_end(struct work_source *source, enum work_end how) {
  source->ops->end(source, how);
}

static inline const char *work_source_error(const struct work_source *source) {
  return source->ops->error(source);
}

static inline void work_source_free(struct work_source *source) {
  if (source)
    source->ops->free(source);
}

#endif
