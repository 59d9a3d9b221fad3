/* How many queue entries a worker holds ready (queue_pace.h). */
#include "afetch/queue_pace.h"

/* The rate is measured over windows at least this long. */
#define QUEUE_PACE_WINDOW_US 100000
#define QUEUE_PACE_MIN_PER_SLOT 4
#define QUEUE_PACE_MAX_PER_SLOT 32

/* A new sample weighs half: a rate held down by too small a read-ahead doubles the
 * read-ahead each window, so a worker reaches its pace within a few windows. */
static double queue_pace_smooth(double old, double sample) {
  return old > 0 ? (old + sample) / 2 : sample;
}

void queue_pace_handed(struct queue_pace *pace, int64_t now_us) {
  pace->handed++;
  if (!pace->since_us) {
    pace->since_us = now_us;
    pace->handed_then = pace->handed;
    return;
  }
  int64_t elapsed_us = now_us - pace->since_us;
  if (elapsed_us < QUEUE_PACE_WINDOW_US)
    return;
  double sample = (double)(pace->handed - pace->handed_then) * 1e6 / (double)elapsed_us;
  pace->per_second = queue_pace_smooth(pace->per_second, sample);
  pace->since_us = now_us;
  pace->handed_then = pace->handed;
}

void queue_pace_starved(struct queue_pace *pace) { pace->starved = true; }

void queue_pace_answered(struct queue_pace *pace, unsigned concurrency, int64_t sent_us,
                         int64_t now_us) {
  if (now_us > sent_us)
    pace->round_trip_us =
        (int64_t)queue_pace_smooth((double)pace->round_trip_us, (double)(now_us - sent_us));
  size_t most = (size_t)QUEUE_PACE_MAX_PER_SLOT * concurrency;
  if (pace->starved) {
    size_t doubled = 2 * queue_pace_read_ahead(pace, concurrency);
    pace->floor = doubled < most ? doubled : most;
  } else {
    pace->floor -= pace->floor / 8;
  }
  pace->starved = false;
}

size_t queue_pace_read_ahead(const struct queue_pace *pace, unsigned concurrency) {
  size_t least = (size_t)QUEUE_PACE_MIN_PER_SLOT * concurrency;
  size_t most = (size_t)QUEUE_PACE_MAX_PER_SLOT * concurrency;
  /* Half is asked for when half is left: that half must outlast a round trip, with room for
   * a slower one. */
  double wanted = 4 * pace->per_second * (double)pace->round_trip_us / 1e6;
  if (wanted < (double)pace->floor)
    wanted = (double)pace->floor;
  if (wanted <= (double)least)
    return least;
  return wanted >= (double)most ? most : (size_t)wanted;
}

size_t queue_pace_take_size(const struct queue_pace *pace, unsigned concurrency, size_t ready,
                            size_t asked, unsigned takes_out) {
  size_t want = queue_pace_read_ahead(pace, concurrency);
  size_t have = ready + asked;
  if (takes_out >= QUEUE_PACE_TAKES_MAX || have * 2 >= want)
    return 0;
  return want - have;
}
