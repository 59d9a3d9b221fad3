/* host_control.h: a host's pause (429/503, Retry-After, runs of unreached tries) and the
 * --adaptive limit (AIMD on latency and errors), on explicit times. */
#include "unit_helpers.h"

#include "afetch/host_control.h"

#define T0 INT64_C(100000000) /* a start time, us */
#define SECOND INT64_C(1000000)
#define MS INT64_C(1000)
#define BASE_US (50 * MS) /* the model host's latency when not loaded */
#define CAP 32

static struct host_control fresh_control(void) {
  struct host_control control;
  host_control_init(&control, T0);
  return control;
}

static struct host_observation answer(int64_t latency_us, int64_t started_us, unsigned in_flight) {
  return (struct host_observation){.signal = HOST_SIGNAL_ANSWER,
                                   .latency_us = latency_us,
                                   .started_us = started_us,
                                   .in_flight = in_flight};
}

static struct host_observation busy(int64_t started_us, bool has_retry_after, int64_t seconds) {
  return (struct host_observation){.signal = HOST_SIGNAL_BUSY,
                                   .started_us = started_us,
                                   .has_retry_after = has_retry_after,
                                   .retry_after_s = seconds};
}

static struct host_observation unreached(int64_t started_us) {
  return (struct host_observation){.signal = HOST_SIGNAL_UNREACHED, .started_us = started_us};
}

/* An answer at the baseline from a host using its whole limit. */
static void answer_at_baseline(struct host_control *control, int64_t now_us, unsigned cap) {
  struct host_observation seen = answer(BASE_US, now_us - BASE_US, host_control_limit(control, cap));
  assert_int_equal(host_control_observe(control, &seen, now_us, cap), 0);
}

static void retry_after_pauses_for_it_and_is_capped(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  struct host_observation seen = busy(T0, true, 2);
  assert_int_equal(host_control_observe(&control, &seen, T0 + MS, 0), T0 + MS + 2 * SECOND);
  /* A shorter one asks for nothing more; a longer one extends, up to the cap. */
  seen = busy(T0, true, 1);
  assert_int_equal(host_control_observe(&control, &seen, T0 + 2 * MS, 0), 0);
  seen = busy(T0, true, 1000000000);
  assert_int_equal(host_control_observe(&control, &seen, T0 + 3 * MS, 0),
                   T0 + 3 * MS + HOST_CONTROL_PAUSE_MAX_US);
  /* Retry-After: 0 asks for no pause. */
  struct host_control other = fresh_control();
  seen = busy(T0, true, 0);
  assert_int_equal(host_control_observe(&other, &seen, T0, 0), 0);
}

static void busy_without_retry_after_doubles_until_an_answer(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  int64_t now = T0;
  struct host_observation seen = busy(now, false, 0);
  assert_int_equal(host_control_observe(&control, &seen, now, 0), now + SECOND);
  /* An attempt that was on its way when the pause was set is old news: no further step. */
  seen = busy(now - 1, false, 0);
  assert_int_equal(host_control_observe(&control, &seen, now + MS, 0), 0);
  now += SECOND;
  seen = busy(now, false, 0);
  assert_int_equal(host_control_observe(&control, &seen, now + 10, 0), now + 10 + 2 * SECOND);
  now += 3 * SECOND;
  seen = busy(now, false, 0);
  assert_int_equal(host_control_observe(&control, &seen, now + 10, 0), now + 10 + 4 * SECOND);
  /* An answer resets the backoff. */
  now += 5 * SECOND;
  seen = answer(BASE_US, now, 1);
  assert_int_equal(host_control_observe(&control, &seen, now + BASE_US, 0), 0);
  seen = busy(now + SECOND, false, 0);
  assert_int_equal(host_control_observe(&control, &seen, now + 2 * SECOND, 0),
                   now + 3 * SECOND);
}

static void the_backoff_stops_at_the_cap(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  int64_t now = T0, until = 0;
  for (int i = 0; i < 10; i++) {
    struct host_observation seen = busy(now, false, 0);
    until = host_control_observe(&control, &seen, now, 0);
    assert_true(until > now);
    now = until;
  }
  struct host_observation seen = busy(now, false, 0);
  assert_int_equal(host_control_observe(&control, &seen, now, 0), now + HOST_CONTROL_PAUSE_MAX_US);
}

static void a_run_of_unreached_tries_pauses(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  struct host_observation seen = unreached(T0);
  assert_int_equal(host_control_observe(&control, &seen, T0 + 1, 0), 0);
  assert_int_equal(host_control_observe(&control, &seen, T0 + 2, 0), 0);
  /* An answer between breaks the run. */
  struct host_observation ok = answer(BASE_US, T0, 1);
  assert_int_equal(host_control_observe(&control, &ok, T0 + 3, 0), 0);
  for (int i = 1; i < HOST_CONTROL_UNREACHED_RUN; i++)
    assert_int_equal(host_control_observe(&control, &seen, T0 + 3 + i, 0), 0);
  int64_t at = T0 + 3 + HOST_CONTROL_UNREACHED_RUN;
  assert_int_equal(host_control_observe(&control, &seen, at, 0), at + SECOND);
}

static void adaptive_starts_small_and_doubles_per_round_until_a_decrease(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  assert_int_equal(host_control_limit(&control, CAP), HOST_CONTROL_START_LIMIT);
  int64_t now = T0 + BASE_US;
  for (unsigned round = 0; round < 3; round++) {
    unsigned limit = host_control_limit(&control, CAP);
    for (unsigned i = 0; i < limit; i++)
      answer_at_baseline(&control, now, CAP);
    assert_int_equal(host_control_limit(&control, CAP), 2 * limit);
    now += BASE_US;
  }
  /* Never above the cap, and not at all without the option. */
  struct host_control capped = fresh_control();
  for (int i = 0; i < 100; i++)
    answer_at_baseline(&capped, now, 10);
  assert_int_equal(host_control_limit(&capped, 10), 10);
  assert_true(capped.limit <= 10.0f);
  struct host_control off = fresh_control();
  answer_at_baseline(&off, now, 0);
  assert_int_equal(host_control_limit(&off, CAP), HOST_CONTROL_START_LIMIT);
}

static void adaptive_grows_only_while_the_host_uses_its_limit(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  struct host_observation seen = answer(BASE_US, T0, 1); /* 1 in flight of 2: no evidence */
  assert_int_equal(host_control_observe(&control, &seen, T0 + BASE_US, CAP), 0);
  assert_int_equal(host_control_limit(&control, CAP), 2);
  /* An answer without a measured time neither grows the limit nor becomes the baseline. */
  seen = answer(0, T0, 2);
  assert_int_equal(host_control_observe(&control, &seen, T0 + BASE_US, CAP), 0);
  assert_int_equal(host_control_limit(&control, CAP), 2);
  assert_int_equal(host_control_baseline_us(&control), BASE_US);
}

static void latency_well_above_the_baseline_shrinks_once_per_round(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  int64_t now = T0 + BASE_US;
  while (host_control_limit(&control, CAP) < 8)
    answer_at_baseline(&control, now += MS, CAP);
  assert_int_equal(host_control_baseline_us(&control), BASE_US);
  /* Near the baseline (1.2 x + 1 ms) it still grows; between that and 1.5 x + 2 ms it holds. */
  struct host_observation seen = answer(BASE_US * 13 / 10, now - BASE_US, 8);
  host_control_observe(&control, &seen, now, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 8);
  /* Well above: x 0.75, once for the attempts started before the decrease. */
  int64_t decreased_at = now + MS;
  seen = answer(2 * BASE_US, now - BASE_US, 8);
  host_control_observe(&control, &seen, decreased_at, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 6);
  seen = answer(2 * BASE_US, decreased_at - 1, 8);
  host_control_observe(&control, &seen, decreased_at + MS, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 6);
  seen = answer(2 * BASE_US, decreased_at, 6);
  host_control_observe(&control, &seen, decreased_at + 2 * BASE_US, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 4);
  /* After a decrease the growth is additive (+1/limit per answer): 4.5 takes three answers
   * to pass 5, where slow start took one. */
  now = decreased_at + 3 * BASE_US;
  for (int i = 0; i < 2; i++)
    answer_at_baseline(&control, now += MS, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 4);
  answer_at_baseline(&control, now += MS, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 5);
}

static void busy_halves_and_the_level_that_failed_is_probed_seldom(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  int64_t now = T0 + BASE_US;
  answer_at_baseline(&control, now, CAP);
  answer_at_baseline(&control, now, CAP);
  assert_int_equal(host_control_limit(&control, CAP), 4);
  struct host_observation seen = busy(now, false, 0);
  assert_true(host_control_observe(&control, &seen, now + MS, CAP) > 0);
  assert_int_equal(host_control_limit(&control, CAP), 2);
  /* Back to 3 in a few answers, then slowly towards the 4 that drew the 429. */
  now += 2 * SECOND;
  unsigned answers = 0;
  while (host_control_limit(&control, CAP) < 3)
    answer_at_baseline(&control, now += MS, CAP), answers++;
  assert_true(answers <= 4);
  answers = 0;
  while (host_control_limit(&control, CAP) < 4)
    answer_at_baseline(&control, now += MS, CAP), answers++;
  assert_true(answers >= 16);
}

static void errors_shrink_to_the_floor_of_one(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  int64_t now = T0;
  for (int i = 0; i < 10; i++) {
    struct host_observation seen = unreached(now);
    host_control_observe(&control, &seen, now + 1, CAP);
    now += SECOND;
  }
  assert_int_equal(host_control_limit(&control, CAP), 1);
}

static void the_baseline_forgets_minima_two_windows_old(void **state) {
  (void)state;
  struct host_control control = fresh_control();
  struct host_observation seen = answer(10 * MS, T0, 1);
  host_control_observe(&control, &seen, T0 + 10 * MS, CAP);
  assert_int_equal(host_control_baseline_us(&control), 10 * MS);
  seen = answer(80 * MS, T0, 1);
  host_control_observe(&control, &seen, T0 + 11 * SECOND, CAP); /* the next window */
  assert_int_equal(host_control_baseline_us(&control), 10 * MS);
  host_control_observe(&control, &seen, T0 + 22 * SECOND, CAP); /* one more: 10 ms is gone */
  assert_int_equal(host_control_baseline_us(&control), 80 * MS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(retry_after_pauses_for_it_and_is_capped),
      cmocka_unit_test(busy_without_retry_after_doubles_until_an_answer),
      cmocka_unit_test(the_backoff_stops_at_the_cap),
      cmocka_unit_test(a_run_of_unreached_tries_pauses),
      cmocka_unit_test(adaptive_starts_small_and_doubles_per_round_until_a_decrease),
      cmocka_unit_test(adaptive_grows_only_while_the_host_uses_its_limit),
      cmocka_unit_test(latency_well_above_the_baseline_shrinks_once_per_round),
      cmocka_unit_test(busy_halves_and_the_level_that_failed_is_probed_seldom),
      cmocka_unit_test(errors_shrink_to_the_floor_of_one),
      cmocka_unit_test(the_baseline_forgets_minima_two_windows_old),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
