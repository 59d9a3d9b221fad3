/* deadline.h: when --deadline passes, on explicit times. */
#include "unit_helpers.h"

#include "afetch/deadline.h"

static void passes_exactly_at_its_microsecond(void **state) {
  (void)state;
  struct deadline deadline;
  deadline_init(&deadline, 1500, 7000000); /* --deadline 1.5, the run started at 7 s */
  assert_true(deadline.set);
  assert_int_equal(deadline_wait_us(&deadline, 7000000), 1500000);
  assert_int_equal(deadline_wait_us(&deadline, 8499999), 1);
  assert_int_equal(deadline_wait_us(&deadline, 8500000), 0);
  assert_int_equal(deadline_wait_us(&deadline, 9000000), 0); /* stays passed */
}

static void a_timer_that_fires_early_waits_out_the_rest(void **state) {
  (void)state;
  /* The timer's wake-up, 3 ms short by a lagging loop clock: 3 ms are left. */
  struct deadline deadline;
  deadline_init(&deadline, 200, 0);
  assert_int_equal(deadline_wait_us(&deadline, 197000), 3000);
}

static void no_deadline_never_passes(void **state) {
  (void)state;
  struct deadline deadline;
  deadline_init(&deadline, 0, 5);
  assert_false(deadline.set);
  assert_int_equal(deadline_wait_us(&deadline, 0), -1);
  assert_int_equal(deadline_wait_us(&deadline, INT64_MAX), -1);
  deadline_init(&deadline, -1, 5);
  assert_int_equal(deadline_wait_us(&deadline, 5), -1);
}

static void a_long_deadline_is_kept_in_microseconds(void **state) {
  (void)state;
  /* A year of milliseconds: more than a 32-bit count of microseconds holds. */
  struct deadline deadline;
  deadline_init(&deadline, 31536000000L, 1000000);
  assert_int_equal(deadline_wait_us(&deadline, 1000000), INT64_C(31536000000000));
  assert_int_equal(deadline_wait_us(&deadline, INT64_C(31536001000000)), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(passes_exactly_at_its_microsecond),
      cmocka_unit_test(a_timer_that_fires_early_waits_out_the_rest),
      cmocka_unit_test(no_deadline_never_passes),
      cmocka_unit_test(a_long_deadline_is_kept_in_microseconds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
