/* A worker runs transfers on its own loop (curl multi handles) and hands back each finished
 * attempt as an outcome message (outcome.h).
 *
 * Inline workers run their transfers on the caller's event base; threaded workers (--threads)
 * each run an event loop in a thread of their own, and attempts cross to them through a
 * bounded queue, with an eventfd to wake the thread only when the queue turns non-empty.
 * Both deliver outcomes the same way: into the worker's outcome queue, calling
 * `outcomes_ready` on the caller's thread when the queue turns non-empty. That callback only
 * records and posts (it may run inside worker_submit() or worker_stop_all()); the caller takes
 * the outcomes with worker_take_outcomes() when it is ready for them. The caller never has
 * more than `capacity` attempts submitted whose outcome it has not taken. */
#ifndef AFETCH_WORKER_H
#define AFETCH_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/outcome.h"
#include "afetch/result.h"

struct afetch_options;
struct event_base;
struct request;
struct worker;

/* One try of a request, as the caller hands it over. */
struct attempt {
  const struct request *request; /* borrowed, unchanged until its outcome is taken */
  void *tag;                     /* handed back as the outcome's tag */
  unsigned number;               /* 1 for the first try */
  bool has_retry_after;          /* an earlier try's Retry-After, reported if this one */
  int64_t retry_after_s;         /* gives none */
  int64_t host_paused_ms;        /* its host's pauses it waited out ("host_paused_ms") */
};

typedef void (*worker_notify_fn)(void *arg);

/* `base` is the caller's event base: an inline worker runs its transfers on it; a threaded
 * one uses it to signal outcomes. At most `capacity` transfers run at once; `connections`
 * (at least `capacity`) bounds the connections kept open, busy or idle. Options are borrowed
 * and must outlive the worker. NULL when out of memory or when the thread cannot start. */
struct worker *worker_new(struct event_base *base, const struct afetch_options *options,
                          unsigned capacity, unsigned connections, bool threaded,
                          worker_notify_fn outcomes_ready, void *arg);

/* Descriptors a worker of `capacity` transfers holds besides its connections: each curl
 * multi handle's wake-up socket pair, and for a threaded worker its event base and eventfds.
 * The caller sizes the open-file limit with it. */
unsigned worker_descriptors(unsigned capacity, bool threaded);

/* Starts the attempt's transfer (or reports it invalid). False when out of memory or when
 * curl refuses the handle (inline only): no outcome then comes for it. */
bool worker_submit(struct worker *worker, const struct attempt *attempt);

/* Moves the outcomes that have arrived, oldest first, to the back of `into`; the caller
 * owns them. Caller's thread only. */
void worker_take_outcomes(struct worker *worker, struct outcome_queue *into);

/* Body bytes the worker's transfers have received so far, those in flight included (all
 * attempts, robots.txt too). Any thread may ask. */
uint64_t worker_body_bytes(const struct worker *worker);

/* Stops every transfer the worker holds; each is reported with `why`, as an outcome. Inline:
 * queued before this returns. Threaded: soon after. */
void worker_stop_all(struct worker *worker, enum result_error why);

/* Ends the thread (if any) and frees everything, outcomes not taken included. */
void worker_free(struct worker *worker);

#endif
