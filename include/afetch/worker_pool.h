/* The workers of a run and their shares of -c: one inline worker, or --threads workers
 * splitting -c (and the connection budget) between them. A slot is taken when an attempt is
 * submitted and freed when its outcome is taken, so the free slots say how many more
 * attempts may start. Caller's thread only (the workers' own threads stay behind worker.h). */
#ifndef AFETCH_WORKER_POOL_H
#define AFETCH_WORKER_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "afetch/worker.h"

struct afetch_options;
struct event_base;
struct worker_pool;

/* `connections` is the connection budget to split (open_files_connection_budget()).
 * `outcomes_ready` is each worker's (worker.h): it only records and posts. Options are
 * borrowed. NULL when out of memory or when a worker cannot start. */
struct worker_pool *worker_pool_new(struct event_base *base, const struct afetch_options *options,
                                    unsigned connections, worker_notify_fn outcomes_ready,
                                    void *arg);

/* True when some worker has a free slot. */
bool worker_pool_has_slot(const struct worker_pool *pool);

/* Starts the attempt on the worker with the most free slots (there must be one), taking a
 * slot. False, the slot given back, when worker_submit() fails. */
bool worker_pool_submit(struct worker_pool *pool, const struct attempt *attempt);

/* The next outcome queued (each worker's in the order it queued them, worker by worker), its
 * slot free again; the caller owns it. NULL when none is left in this round; the next call
 * starts a new round. */
struct outcome *worker_pool_take_outcome(struct worker_pool *pool);

/* Stops every transfer of every worker (worker_stop_all()). */
void worker_pool_stop_all(struct worker_pool *pool, enum result_error why);

/* Attempts submitted whose outcome is not taken, and the body bytes received so far. */
void worker_pool_count(const struct worker_pool *pool, uint64_t *in_flight, uint64_t *bytes);

void worker_pool_free(struct worker_pool *pool);

#endif
