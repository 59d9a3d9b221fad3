/* The workers of a run and their shares of -c. */
#include "afetch/worker_pool.h"

#include <stdlib.h>

#include "afetch/limiter.h"
#include "afetch/open_files.h"
#include "afetch/options.h"

/* A worker and its share of -c: the slots it may fill (its transfers in flight). */
struct worker_pool_member {
  struct worker *worker;
  struct limiter slots;
};

struct worker_pool {
  struct worker_pool_member *members;
  unsigned count;
  struct outcome_queue arrived; /* taken from members[taking - 1], not handed out yet */
  unsigned taking;              /* the member the round takes from next */
};

struct worker_pool *worker_pool_new(struct event_base *base, const struct afetch_options *options,
                                    unsigned connections, worker_notify_fn outcomes_ready,
                                    void *arg) {
  unsigned count = open_files_worker_count(options->concurrency, options->threads);
  bool threaded = options->threads > 1;
  struct worker_pool *pool = calloc(1, sizeof *pool);
  if (!pool || !(pool->members = calloc(count, sizeof *pool->members))) {
    free(pool);
    return NULL;
  }
  for (unsigned i = 0; i < count; i++) {
    struct worker_pool_member *member = &pool->members[i];
    unsigned share = open_files_worker_part(options->concurrency, count, i);
    unsigned connection_share = open_files_worker_part(connections, count, i);
    limiter_init(&member->slots, share);
    member->worker =
        worker_new(base, options, share, connection_share, threaded, outcomes_ready, arg);
    if (!member->worker) {
      worker_pool_free(pool);
      return NULL;
    }
    pool->count = i + 1;
  }
  return pool;
}

/* The member with the most free slots, or NULL when every slot is taken. */
static struct worker_pool_member *worker_pool_pick(const struct worker_pool *pool) {
  struct worker_pool_member *best = NULL;
  unsigned best_free = 0;
  for (unsigned i = 0; i < pool->count; i++) {
    unsigned free_slots = limiter_available(&pool->members[i].slots);
    if (free_slots > best_free) {
      best = &pool->members[i];
      best_free = free_slots;
    }
  }
  return best;
}

bool worker_pool_has_slot(const struct worker_pool *pool) { return worker_pool_pick(pool); }

bool worker_pool_submit(struct worker_pool *pool, const struct attempt *attempt) {
  struct worker_pool_member *target = worker_pool_pick(pool);
  limiter_try_acquire(&target->slots);
  if (worker_submit(target->worker, attempt))
    return true;
  limiter_release(&target->slots);
  return false;
}

struct outcome *worker_pool_take_outcome(struct worker_pool *pool) {
  struct outcome *outcome;
  while (!(outcome = outcome_queue_pop(&pool->arrived))) {
    if (pool->taking == pool->count) {
      pool->taking = 0;
      return NULL;
    }
    worker_take_outcomes(pool->members[pool->taking++].worker, &pool->arrived);
  }
  limiter_release(&pool->members[pool->taking - 1].slots);
  return outcome;
}

void worker_pool_stop_all(struct worker_pool *pool, enum result_error why) {
  for (unsigned i = 0; i < pool->count; i++)
    worker_stop_all(pool->members[i].worker, why);
}

void worker_pool_count(const struct worker_pool *pool, uint64_t *in_flight, uint64_t *bytes) {
  *in_flight = *bytes = 0;
  for (unsigned i = 0; i < pool->count; i++) {
    *in_flight += limiter_in_use(&pool->members[i].slots);
    *bytes += worker_body_bytes(pool->members[i].worker);
  }
}

void worker_pool_free(struct worker_pool *pool) {
  if (!pool)
    return;
  for (unsigned i = 0; i < pool->count; i++)
    worker_free(pool->members[i].worker);
  struct outcome *outcome;
  while ((outcome = outcome_queue_pop(&pool->arrived)))
    outcome_free(outcome);
  free(pool->members);
  free(pool);
}
