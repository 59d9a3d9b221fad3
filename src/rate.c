/* The --rate token bucket. */
#include "afetch/rate.h"

#include <math.h>

#include "afetch/clock.h"

/* The bucket's size: 20 ms of requests, at least 1.5 tokens. Never two starts at once below
 * 75/s, and half a token of slack: a timer that wakes a little late loses no time (with a
 * bucket of exactly one, every late wake-up would lower the rate). */
#define RATE_BURST_SECONDS 0.02
#define RATE_MIN_CAPACITY 1.5

void rate_bucket_init(struct rate_bucket *bucket, double per_second, int64_t now_us) {
  double burst = per_second * RATE_BURST_SECONDS;
  bucket->tokens_per_us = per_second / 1e6;
  bucket->capacity = burst > RATE_MIN_CAPACITY ? burst : RATE_MIN_CAPACITY;
  /* Whole tokens only: below 100/s (one token) the first two starts are a full interval
   * apart, as all later ones; above, the bucket's whole tokens may start at once. */
  bucket->tokens = floor(bucket->capacity);
  bucket->updated_us = now_us;
}

static void rate_bucket_refill(struct rate_bucket *bucket, int64_t now_us) {
  if (now_us > bucket->updated_us) {
    bucket->tokens += (double)(now_us - bucket->updated_us) * bucket->tokens_per_us;
    if (bucket->tokens > bucket->capacity)
      bucket->tokens = bucket->capacity;
  }
  bucket->updated_us = now_us;
}

void rate_bucket_set_rate(struct rate_bucket *bucket, double per_second, int64_t now_us) {
  rate_bucket_refill(bucket, now_us);
  double tokens = bucket->tokens;
  rate_bucket_init(bucket, per_second, now_us);
  bucket->tokens = tokens < bucket->capacity ? tokens : bucket->capacity;
}

int64_t rate_bucket_wait_us(struct rate_bucket *bucket, int64_t now_us) {
  rate_bucket_refill(bucket, now_us);
  if (bucket->tokens >= 1.0)
    return 0;
  return (int64_t)ceil((1.0 - bucket->tokens) / bucket->tokens_per_us);
}

bool rate_bucket_take(struct rate_bucket *bucket, int64_t now_us) {
  rate_bucket_refill(bucket, now_us);
  if (bucket->tokens < 1.0)
    return false;
  bucket->tokens -= 1.0;
  return true;
}

int64_t rate_now_us(void) { return clock_monotonic_us(); }
