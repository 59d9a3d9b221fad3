/* How many queue entries a worker holds ready (--worker): enough to cover a round trip to
 * Redis at the rate the slots use them, so that a distant Redis does not starve the slots.
 * Pure bookkeeping: the caller gives the time. */
#ifndef AFETCH_QUEUE_PACE_H
#define AFETCH_QUEUE_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Takes out at once, at most: enough to keep reading while a slow answer is on its way. */
#define QUEUE_PACE_TAKES_MAX 4

struct queue_pace {
  int64_t round_trip_us; /* smoothed time from sending a take to its answer; 0: none yet */
  double per_second;     /* smoothed entries handed out a second; 0: not measured yet */
  uint64_t handed;       /* entries handed out so far */
  uint64_t handed_then;  /* ... at since_us */
  int64_t since_us;      /* the start of the rate's current window; 0: not started */
  size_t floor;          /* the read-ahead at least: raised when slots wait for entries */
  bool starved;          /* a slot waited for an entry since the last answer */
};

/* One entry handed out at now_us (the rate's windows close here). */
void queue_pace_handed(struct queue_pace *pace, int64_t now_us);

/* A slot found no entry ready while a take was out: the read-ahead is too small for now (the
 * rate it held the slots down to is no guide to what they can do). */
void queue_pace_starved(struct queue_pace *pace);

/* A take sent at sent_us was answered at now_us. A starved worker's read-ahead doubles; one
 * that was not loses an eighth of its floor, down to what the rate asks for. */
void queue_pace_answered(struct queue_pace *pace, unsigned concurrency, int64_t sent_us,
                         int64_t now_us);

/* The entries to hold, ready or asked for: four round trips' worth at the measured rate, or
 * the floor if more, at least 4 x concurrency, at most 32 x concurrency. */
size_t queue_pace_read_ahead(const struct queue_pace *pace, unsigned concurrency);

/* How many entries to ask for now (0: none), given `ready` entries held and `asked` in takes
 * still out (`takes_out` of them): the read-ahead's shortfall once it reaches half of it. */
size_t queue_pace_take_size(const struct queue_pace *pace, unsigned concurrency, size_t ready,
                            size_t asked, unsigned takes_out);

#endif
