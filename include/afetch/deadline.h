/* --deadline: the whole run's time limit, counted from the run's start. The scheduler sets
 * its deadline timer for deadline_wait_us() and, once the timer fires, starts nothing more,
 * retries nothing, reports every unfinished URL as "deadline" and stops the transfers in
 * flight. Times are microseconds on the monotonic clock, passed in so the arithmetic is
 * testable. */
#ifndef AFETCH_DEADLINE_H
#define AFETCH_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

struct deadline {
  int64_t at_us; /* when it passes */
  bool set;      /* false: no deadline */
};

/* A deadline `limit_ms` after `now_us`; none when limit_ms <= 0. */
void deadline_init(struct deadline *deadline, long limit_ms, int64_t now_us);

/* Microseconds left until it passes: 0 from its own microsecond on, -1 when there is none.
 * The deadline timer checks it when it fires, and waits out the rest if it fired early (a
 * loop's cached time may lag the clock). */
int64_t deadline_wait_us(const struct deadline *deadline, int64_t now_us);

#endif
