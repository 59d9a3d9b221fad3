/* The time the policy modules read (hosts' Crawl-delay gap and wake-up), as a function they
 * are given: production passes nothing and gets CLOCK_MONOTONIC; a unit test passes a fake
 * clock it moves by hand, so "one microsecond early" and "exactly on time" are testable. The
 * pure decisions (rate.h, retry.h, deadline.h) take the time as an argument instead. */
#ifndef AFETCH_CLOCK_H
#define AFETCH_CLOCK_H

#include <stdint.h>

/* Microseconds since some fixed point; must never go backwards. */
typedef int64_t (*clock_now_fn)(void *context);

struct clock {
  clock_now_fn now_us; /* NULL: clock_monotonic_us() */
  void *context;       /* given to now_us */
};

/* Microseconds on CLOCK_MONOTONIC. */
int64_t clock_monotonic_us(void);

/* The clock's time; a NULL clock, or one without a function, is the monotonic clock. */
int64_t clock_now_us(const struct clock *clock);

#endif
