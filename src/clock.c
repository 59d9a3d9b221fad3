/* The policy modules' clock. */
#include "afetch/clock.h"

#include <stddef.h>
#include <time.h>

int64_t clock_monotonic_us(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

int64_t clock_now_us(const struct clock *clock) {
  return clock && clock->now_us ? clock->now_us(clock->context) : clock_monotonic_us();
}
