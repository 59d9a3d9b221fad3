/* The semaphore: at most `capacity` transfers hold a slot at once. The scheduler keeps one
 * per worker: its count is the one count of that worker's attempts in flight. */
#ifndef AFETCH_LIMITER_H
#define AFETCH_LIMITER_H

#include <stdbool.h>

struct limiter {
  unsigned capacity;
  unsigned in_use;
};

void limiter_init(struct limiter *limiter, unsigned capacity);
bool limiter_try_acquire(struct limiter *limiter);
void limiter_release(struct limiter *limiter);
unsigned limiter_in_use(const struct limiter *limiter);
/* Slots free now. */
unsigned limiter_available(const struct limiter *limiter);

#endif
