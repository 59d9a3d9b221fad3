/* rate.h: the token bucket behind --rate, driven with explicit times. */
#include "unit_helpers.h"

#include "afetch/rate.h"

static void low_rate_bucket_never_starts_two_at_once(void **state) {
  (void)state;
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 10.0, 0); /* one start per 100 ms; the bucket holds 1.5 */
  assert_true(rate_bucket_take(&bucket, 0));
  assert_false(rate_bucket_take(&bucket, 0));
  assert_int_equal(rate_bucket_wait_us(&bucket, 0), 100000);
  assert_int_equal(rate_bucket_wait_us(&bucket, 60000), 40000);
  assert_false(rate_bucket_take(&bucket, 99999));
  /* A wake-up 30 ms late loses nothing: the next start is still due at 200 ms. */
  assert_true(rate_bucket_take(&bucket, 130000));
  assert_false(rate_bucket_take(&bucket, 199999));
  assert_true(rate_bucket_take(&bucket, 200000));
  /* A long idle spell stores up 1.5 tokens: never two starts at once. */
  assert_true(rate_bucket_take(&bucket, 10000000));
  assert_false(rate_bucket_take(&bucket, 10000000));
  assert_int_equal(rate_bucket_wait_us(&bucket, 10000000), 50000);
}

static void high_rate_bucket_holds_twenty_milliseconds(void **state) {
  (void)state;
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 1000.0, 0);
  int burst = 0;
  while (rate_bucket_take(&bucket, 0))
    burst++;
  assert_int_equal(burst, 20);
  assert_int_equal(rate_bucket_wait_us(&bucket, 0), 1000);
}

static void starts_over_a_window_match_the_rate(void **state) {
  (void)state;
  /* Polled every 250 us for 10 s at 37/s: 370 starts plus the first token; late polls lose
   * nothing. */
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 37.0, 0);
  int starts = 0;
  for (int64_t now = 0; now <= 10000000; now += 250)
    while (rate_bucket_take(&bucket, now))
      starts++;
  assert_in_range(starts, 370, 371);
}

static void clock_going_backwards_adds_nothing(void **state) {
  (void)state;
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 1.0, 5000000);
  assert_true(rate_bucket_take(&bucket, 5000000));
  assert_false(rate_bucket_take(&bucket, 1000000));
  assert_true(rate_bucket_wait_us(&bucket, 1000000) > 0);
}

static void tokens_accrue_by_the_microsecond_up_to_the_bucket_size(void **state) {
  (void)state;
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 4.0, 1000000); /* a token per 250 ms, from a clock at 1 s */
  assert_true(rate_bucket_take(&bucket, 1000000));
  assert_int_equal(rate_bucket_wait_us(&bucket, 1000000), 250000);
  assert_int_equal(rate_bucket_wait_us(&bucket, 1125000), 125000); /* half a token in */
  /* Rounded up, never early (the floating-point token count may cost a microsecond). */
  assert_in_range(rate_bucket_wait_us(&bucket, 1249999), 1, 2);
  assert_false(rate_bucket_take(&bucket, 1249999));
  assert_int_equal(rate_bucket_wait_us(&bucket, 1250000), 0);
  assert_true(rate_bucket_take(&bucket, 1250000));
  /* A minute idle fills the bucket to its size (1.5), no further. */
  assert_true(rate_bucket_take(&bucket, 61250000));
  assert_int_equal(rate_bucket_wait_us(&bucket, 61250000), 125000);
}

static void bucket_size_is_twenty_milliseconds_of_the_rate(void **state) {
  (void)state;
  /* 200/s: 4 tokens, all there at the start; then one per 5 ms. */
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 200.0, 0);
  for (int i = 0; i < 4; i++)
    assert_true(rate_bucket_take(&bucket, 0));
  assert_false(rate_bucket_take(&bucket, 0));
  assert_int_equal(rate_bucket_wait_us(&bucket, 0), 5000);
  /* 50 ms idle refills 4, not 10. */
  int burst = 0;
  while (rate_bucket_take(&bucket, 50000))
    burst++;
  assert_int_equal(burst, 4);
  /* 75/s and below: 1.5 tokens, one of them there at the start. */
  rate_bucket_init(&bucket, 75.0, 0);
  assert_true(rate_bucket_take(&bucket, 0));
  assert_false(rate_bucket_take(&bucket, 0));
}

/* A new rate (a worker's share of a fleet's --rate) applies from then on: the tokens earned
 * at the old rate stay, up to the new bucket's size. */
static void new_rate_keeps_tokens_earned_up_to_the_new_size(void **state) {
  (void)state;
  struct rate_bucket bucket;
  rate_bucket_init(&bucket, 20.0, 0); /* one per 50 ms */
  assert_true(rate_bucket_take(&bucket, 0));
  rate_bucket_set_rate(&bucket, 10.0, 25000); /* half a token earned at 20/s */
  assert_int_equal(rate_bucket_wait_us(&bucket, 25000), 50000); /* the other half at 10/s */
  assert_false(rate_bucket_take(&bucket, 74999));
  assert_true(rate_bucket_take(&bucket, 75000));
  /* Down from a large bucket: what it held is cut to the new size. */
  rate_bucket_init(&bucket, 1000.0, 0); /* 20 tokens */
  rate_bucket_set_rate(&bucket, 10.0, 0);
  assert_true(rate_bucket_take(&bucket, 0));
  assert_false(rate_bucket_take(&bucket, 0)); /* half a token left of 1.5 */
  assert_int_equal(rate_bucket_wait_us(&bucket, 0), 50000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(low_rate_bucket_never_starts_two_at_once),
      cmocka_unit_test(high_rate_bucket_holds_twenty_milliseconds),
      cmocka_unit_test(starts_over_a_window_match_the_rate),
      cmocka_unit_test(clock_going_backwards_adds_nothing),
      cmocka_unit_test(tokens_accrue_by_the_microsecond_up_to_the_bucket_size),
      cmocka_unit_test(bucket_size_is_twenty_milliseconds_of_the_rate),
      cmocka_unit_test(new_rate_keeps_tokens_earned_up_to_the_new_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
