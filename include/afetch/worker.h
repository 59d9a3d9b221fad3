/* A worker runs transfers on its own loop (one libcurl multi handle) and hands back each
 * result as finished JSON text.
 *
 * Inline workers live on the caller's event base and call back synchronously: the
 * single-threaded default. Threaded workers (--threads) each run an event loop in a thread of
 * their own; jobs go in and results come out through two bounded queues, with an eventfd to
 * wake the other side only when a queue turns non-empty, so a busy run pays for few wake-ups.
 * The caller never submits more than `capacity` lines that have not come back, which bounds
 * both queues. */
#ifndef AFETCH_WORKER_H
#define AFETCH_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/result.h"
#include "afetch/stats.h"

struct afetch_options;
struct event_base;
struct job;
struct worker;

/* One finished transfer (or one that never started), back on the caller's thread. */
struct worker_outcome {
  struct job *job;  /* the submitted job, back in the caller's hands */
  bool ok;          /* the contract's "ok" */
  bool transient;   /* a failure another try may cure (retry_is_transient) */
  const char *json; /* the result object, borrowed for the call; NULL when out of memory */
  size_t length;
  struct stats_sample sample; /* the figures --stats and the progress line count */
};

typedef void (*worker_result_fn)(void *arg, const struct worker_outcome *outcome);

/* `base` is the caller's event base: an inline worker runs its transfers on it; a threaded
 * one uses it to deliver results. At most `capacity` transfers run at once; `connections`
 * (at least `capacity`) bounds the connections kept open, busy or idle. Options are borrowed
 * and must outlive the worker. NULL when out of memory or when the thread cannot start. */
struct worker *worker_new(struct event_base *base, const struct afetch_options *options,
                          unsigned capacity, unsigned connections, bool threaded,
                          worker_result_fn on_result, void *arg);

/* Descriptors a worker of `capacity` transfers holds besides its connections: each curl
 * multi handle's wake-up socket pair, and for a threaded worker its event base and eventfds.
 * The caller sizes the open-file limit with it. */
unsigned worker_descriptors(unsigned capacity, bool threaded);

/* Starts the job's transfer (or reports it invalid). The worker borrows the job until it
 * comes back in an outcome. False when out of memory or when curl refuses the handle: the
 * job then stays the caller's, with no outcome. */
bool worker_submit(struct worker *worker, struct job *job);

/* Body bytes the worker's transfers have received so far, those in flight included (all
 * attempts, robots.txt too). Any thread may ask. */
uint64_t worker_body_bytes(const struct worker *worker);

/* Stops every transfer the worker holds; each is reported with `why`. Inline: before this
 * returns. Threaded: soon after, through on_result. */
void worker_stop_all(struct worker *worker, enum result_error why);

/* Ends the thread (if any) and frees everything. Call after every submitted line came back
 * or after worker_stop_all's results arrived. */
void worker_free(struct worker *worker);

#endif
