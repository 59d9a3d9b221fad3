/* The concurrency semaphore. */
#include "afetch/limiter.h"

#include <assert.h>

void limiter_init(struct limiter *limiter, unsigned capacity) {
  limiter->capacity = capacity;
  limiter->in_use = 0;
}

bool limiter_try_acquire(struct limiter *limiter) {
  if (limiter->in_use >= limiter->capacity)
    return false;
  limiter->in_use++;
  return true;
}

void limiter_release(struct limiter *limiter) {
  assert(limiter->in_use > 0);
  limiter->in_use--;
}

unsigned limiter_in_use(const struct limiter *limiter) { return limiter->in_use; }

unsigned limiter_available(const struct limiter *limiter) {
  return limiter->capacity - limiter->in_use;
}
