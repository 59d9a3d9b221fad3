/* limiter.h: the semaphore behind -c. */
#include "unit_helpers.h"

#include "afetch/limiter.h"

static void limiter_starts_with_no_slot_in_use(void **state) {
  (void)state;
  struct limiter limiter;
  memset(&limiter, 0x5a, sizeof limiter);
  limiter_init(&limiter, 4);
  assert_int_equal(limiter_in_use(&limiter), 0);
}

static void limiter_grants_exactly_capacity_slots(void **state) {
  (void)state;
  struct limiter limiter;
  limiter_init(&limiter, 3);
  for (unsigned i = 0; i < 3; i++) {
    assert_true(limiter_try_acquire(&limiter));
    assert_int_equal(limiter_in_use(&limiter), i + 1);
  }
  assert_false(limiter_try_acquire(&limiter));
  assert_int_equal(limiter_in_use(&limiter), 3);
}

static void limiter_refusal_does_not_count_as_in_use(void **state) {
  (void)state;
  struct limiter limiter;
  limiter_init(&limiter, 2);
  assert_true(limiter_try_acquire(&limiter));
  assert_true(limiter_try_acquire(&limiter));
  for (int i = 0; i < 5; i++)
    assert_false(limiter_try_acquire(&limiter));
  assert_int_equal(limiter_in_use(&limiter), 2);
}

static void limiter_release_frees_exactly_one_slot(void **state) {
  (void)state;
  struct limiter limiter;
  limiter_init(&limiter, 3);
  for (int i = 0; i < 3; i++)
    assert_true(limiter_try_acquire(&limiter));
  limiter_release(&limiter);
  assert_int_equal(limiter_in_use(&limiter), 2);
  assert_true(limiter_try_acquire(&limiter));
  assert_false(limiter_try_acquire(&limiter));
  assert_int_equal(limiter_in_use(&limiter), 3);
}

static void limiter_release_all_returns_to_zero(void **state) {
  (void)state;
  struct limiter limiter;
  limiter_init(&limiter, 5);
  for (int i = 0; i < 5; i++)
    assert_true(limiter_try_acquire(&limiter));
  for (int i = 5; i > 0; i--) {
    limiter_release(&limiter);
    assert_int_equal(limiter_in_use(&limiter), i - 1);
  }
  for (int i = 0; i < 5; i++)
    assert_true(limiter_try_acquire(&limiter));
  assert_false(limiter_try_acquire(&limiter));
}

static void limiter_of_capacity_one_is_a_mutex(void **state) {
  (void)state;
  struct limiter limiter;
  limiter_init(&limiter, 1);
  assert_true(limiter_try_acquire(&limiter));
  assert_false(limiter_try_acquire(&limiter));
  limiter_release(&limiter);
  assert_int_equal(limiter_in_use(&limiter), 0);
  assert_true(limiter_try_acquire(&limiter));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(limiter_starts_with_no_slot_in_use),
      cmocka_unit_test(limiter_grants_exactly_capacity_slots),
      cmocka_unit_test(limiter_refusal_does_not_count_as_in_use),
      cmocka_unit_test(limiter_release_frees_exactly_one_slot),
      cmocka_unit_test(limiter_release_all_returns_to_zero),
      cmocka_unit_test(limiter_of_capacity_one_is_a_mutex),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
