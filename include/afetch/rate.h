/* --rate: a token bucket on request starts. Tokens refill continuously at the rate; the
 * bucket holds 1.5 tokens (one start at a time, with slack for late timers), or 20 ms worth
 * at rates above 75/s (so a loop that wakes once a millisecond can keep up); it starts with
 * its whole tokens. Times are microseconds on a monotonic clock, passed in so the arithmetic
 * is testable. */
#ifndef AFETCH_RATE_H
#define AFETCH_RATE_H

#include <stdbool.h>
#include <stdint.h>

struct rate_bucket {
  double tokens_per_us;
  double capacity;
  double tokens;
  int64_t updated_us;
};

void rate_bucket_init(struct rate_bucket *bucket, double per_second, int64_t now_us);

/* A new rate from now on (--worker's share of a fleet's --rate): the tokens earned so far
 * stay, up to the new size. */
void rate_bucket_set_rate(struct rate_bucket *bucket, double per_second, int64_t now_us);

/* Microseconds until a token is there: 0 when one is there now. */
int64_t rate_bucket_wait_us(struct rate_bucket *bucket, int64_t now_us);

/* Takes a token if there is one. */
bool rate_bucket_take(struct rate_bucket *bucket, int64_t now_us);

/* The scheduler's clock for the bucket: clock_monotonic_us() (clock.h). */
int64_t rate_now_us(void);

#endif
