/* queue_pace.h: how many queue entries a worker holds, driven with explicit times. */
#include "unit_helpers.h"

#include "afetch/queue_pace.h"

/* Hands out `count` entries evenly over [from_us, to_us). */
static void hand_out(struct queue_pace *pace, int count, int64_t from_us, int64_t to_us) {
  for (int i = 0; i < count; i++)
    queue_pace_handed(pace, from_us + (to_us - from_us) * i / count);
}

static void unmeasured_pace_holds_four_per_slot(void **state) {
  (void)state;
  struct queue_pace pace = {0};
  assert_int_equal(queue_pace_read_ahead(&pace, 100), 400);
  /* Nothing ready, nothing asked: the whole read-ahead is asked for. */
  assert_int_equal(queue_pace_take_size(&pace, 100, 0, 0, 0), 400);
  /* Half or more ready or asked for: nothing. */
  assert_int_equal(queue_pace_take_size(&pace, 100, 150, 50, 1), 0);
  assert_int_equal(queue_pace_take_size(&pace, 100, 199, 0, 0), 201);
  /* No more than QUEUE_PACE_TAKES_MAX takes out at once. */
  assert_int_equal(queue_pace_take_size(&pace, 100, 0, 0, QUEUE_PACE_TAKES_MAX), 0);
  assert_int_equal(queue_pace_take_size(&pace, 100, 0, 0, QUEUE_PACE_TAKES_MAX - 1), 400);
}

static void read_ahead_covers_four_round_trips(void **state) {
  (void)state;
  struct queue_pace pace = {0};
  /* 10,000 entries a second over two 100 ms windows, 20 ms round trips. */
  hand_out(&pace, 2001, 0, 200100);
  assert_true(pace.per_second > 9900 && pace.per_second < 10100);
  queue_pace_answered(&pace, 100, 0, 20000);
  assert_int_equal(pace.round_trip_us, 20000);
  size_t read_ahead = queue_pace_read_ahead(&pace, 100); /* 4 x 10,000/s x 20 ms */
  assert_true(read_ahead >= 790 && read_ahead <= 810);
  /* A loopback round trip asks for no more than the least. */
  struct queue_pace near = pace;
  near.round_trip_us = 500;
  assert_int_equal(queue_pace_read_ahead(&near, 100), 400);
  /* A very slow Redis: bounded by 32 per slot. */
  struct queue_pace far = pace;
  far.round_trip_us = 5000000;
  assert_int_equal(queue_pace_read_ahead(&far, 100), 3200);
}

static void round_trip_is_smoothed(void **state) {
  (void)state;
  struct queue_pace pace = {0};
  queue_pace_answered(&pace, 10, 1000, 21000);
  assert_int_equal(pace.round_trip_us, 20000);
  queue_pace_answered(&pace, 10, 100000, 140000); /* one slow answer: half-way */
  assert_int_equal(pace.round_trip_us, 30000);
  queue_pace_answered(&pace, 10, 200000, 200000); /* no time: not a sample */
  assert_int_equal(pace.round_trip_us, 30000);
}

static void starved_slots_double_the_read_ahead_up_to_the_cap(void **state) {
  (void)state;
  struct queue_pace pace = {0};
  queue_pace_starved(&pace);
  queue_pace_answered(&pace, 10, 0, 1000);
  assert_int_equal(queue_pace_read_ahead(&pace, 10), 80);
  queue_pace_starved(&pace);
  queue_pace_answered(&pace, 10, 0, 1000);
  assert_int_equal(queue_pace_read_ahead(&pace, 10), 160);
  for (int i = 0; i < 5; i++) {
    queue_pace_starved(&pace);
    queue_pace_answered(&pace, 10, 0, 1000);
  }
  assert_int_equal(queue_pace_read_ahead(&pace, 10), 320);
  /* Fed again: the floor shrinks an eighth an answer, back to the least. */
  queue_pace_answered(&pace, 10, 0, 1000);
  assert_int_equal(queue_pace_read_ahead(&pace, 10), 280);
  for (int i = 0; i < 40; i++)
    queue_pace_answered(&pace, 10, 0, 1000);
  assert_int_equal(queue_pace_read_ahead(&pace, 10), 40);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unmeasured_pace_holds_four_per_slot),
      cmocka_unit_test(read_ahead_covers_four_round_trips),
      cmocka_unit_test(round_trip_is_smoothed),
      cmocka_unit_test(starved_slots_double_the_read_ahead_up_to_the_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
