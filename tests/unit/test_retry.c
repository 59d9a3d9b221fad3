/* retry.h: which failures are retried, the full-jitter backoff, and the wait before a try
 * (tries, Retry-After, caps) with a seeded random sequence. */
#include "unit_helpers.h"

#include <curl/curl.h>

#include "afetch/retry.h"

static struct afetch_result failure(enum result_error error, long status, long curl_code) {
  return (struct afetch_result){.error = error, .status = status, .curl_code = curl_code};
}

static void network_failures_are_transient(void **state) {
  (void)state;
  const enum result_error transient[] = {RESULT_DNS, RESULT_CONNECT, RESULT_TIMEOUT};
  for (size_t i = 0; i < HELPER_COUNT(transient); i++) {
    struct afetch_result result = failure(transient[i], 0, CURLE_COULDNT_CONNECT);
    assert_true(retry_is_transient(&result));
  }
  const long dropped[] = {CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_ERROR,
                          CURLE_RECV_ERROR};
  for (size_t i = 0; i < HELPER_COUNT(dropped); i++) {
    struct afetch_result result = failure(RESULT_OTHER, 0, dropped[i]);
    assert_true(retry_is_transient(&result));
  }
  struct afetch_result other = failure(RESULT_OTHER, 0, CURLE_ABORTED_BY_CALLBACK);
  assert_false(retry_is_transient(&other));
}

/* --retry-all-errors: every failure of the transfer or the server; never what the input or
 * afetch itself decided. */
static void all_errors_take_in_every_transfer_failure(void **state) {
  (void)state;
  const enum result_error retried[] = {RESULT_DNS,     RESULT_CONNECT, RESULT_TLS,
                                       RESULT_TIMEOUT, RESULT_HTTP,    RESULT_TOO_MANY_REDIRECTS,
                                       RESULT_OTHER};
  for (size_t i = 0; i < HELPER_COUNT(retried); i++) {
    struct afetch_result result = failure(retried[i], retried[i] == RESULT_HTTP ? 404 : 0, -1);
    if (!retry_is_any_transfer_error(&result))
      fail_msg("error %d should be retried with --retry-all-errors", (int)retried[i]);
  }
  const enum result_error final[] = {RESULT_OK,        RESULT_INVALID_URL, RESULT_INVALID_INPUT,
                                     RESULT_TOO_LARGE, RESULT_WRITE,       RESULT_CANCELLED,
                                     RESULT_DEADLINE,  RESULT_ROBOTS};
  for (size_t i = 0; i < HELPER_COUNT(final); i++) {
    struct afetch_result result = failure(final[i], 0, -1);
    if (retry_is_any_transfer_error(&result))
      fail_msg("error %d must never be retried", (int) final[i]);
  }
}

static void only_listed_statuses_are_transient(void **state) {
  (void)state;
  for (long status = 400; status <= 599; status++) {
    struct afetch_result result = failure(RESULT_HTTP, status, -1);
    bool expected = status == 408 || status == 429 || status == 500 || status == 502 ||
                    status == 503 || status == 504;
    if (retry_is_transient(&result) != expected)
      fail_msg("status %ld: transient should be %d", status, expected);
  }
}

static void permanent_failures_are_not_retried(void **state) {
  (void)state;
  const enum result_error permanent[] = {
      RESULT_OK,        RESULT_INVALID_URL, RESULT_TLS,       RESULT_TOO_MANY_REDIRECTS,
      RESULT_TOO_LARGE, RESULT_WRITE,       RESULT_CANCELLED, RESULT_DEADLINE};
  for (size_t i = 0; i < HELPER_COUNT(permanent); i++) {
    struct afetch_result result = failure(permanent[i], 0, 35);
    assert_false(retry_is_transient(&result));
  }
}

static void proxy_refusals_are_transient_only_for_transient_statuses(void **state) {
  (void)state;
  for (long status = 300; status <= 599; status++) {
    struct afetch_result result = failure(RESULT_CONNECT, 0, CURLE_RECV_ERROR);
    result.proxy_status = status;
    bool expected = status == 408 || status == 429 || status == 500 || status == 502 ||
                    status == 503 || status == 504;
    if (retry_is_transient(&result) != expected)
      fail_msg("proxy status %ld: transient should be %d", status, expected);
  }
}

static void backoff_ceiling_doubles_up_to_the_cap(void **state) {
  (void)state;
  /* The largest draw gives the ceiling itself: 100, 200, 400, 800, then the cap of 1000. */
  const int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (unsigned attempts = 1; attempts <= HELPER_COUNT(ceilings); attempts++) {
    int64_t ceiling = ceilings[attempts - 1];
    assert_int_equal(retry_backoff_ms(attempts, 100, 1000, (uint64_t)ceiling), ceiling);
    assert_int_equal(retry_backoff_ms(attempts, 100, 1000, 0), 0);
  }
  /* Huge attempt counts neither overflow nor pass the cap. */
  assert_int_equal(retry_backoff_ms(1000, 100, 30000, 30000), 30000);
  assert_int_equal(retry_backoff_ms(3, 0, 30000, 12345), 0);
}

static void backoff_is_spread_over_the_whole_range(void **state) {
  (void)state;
  uint64_t random_state = 42;
  int64_t lowest = INT64_MAX, highest = -1;
  double sum = 0;
  const int draws = 10000;
  for (int i = 0; i < draws; i++) {
    int64_t wait = retry_backoff_ms(2, 500, 30000, retry_random(&random_state));
    assert_in_range(wait, 0, 1000);
    lowest = wait < lowest ? wait : lowest;
    highest = wait > highest ? wait : highest;
    sum += (double)wait;
  }
  /* Full jitter: uniform over [0, 1000], so the extremes are reached and the mean is ~500. */
  assert_true(lowest < 20);
  assert_true(highest > 980);
  double mean = sum / draws;
  if (mean < 470 || mean > 530)
    fail_msg("mean wait %.1f ms, expected about 500", mean);
}

static const struct retry_policy two_retries = {.retries = 2, .first_ms = 1000, .max_ms = 30000};

static void tries_run_out_after_the_retries(void **state) {
  (void)state;
  uint64_t random_state = 7;
  assert_in_range(retry_wait_ms(&two_retries, 1, false, 0, &random_state), 0, 1000);
  assert_in_range(retry_wait_ms(&two_retries, 2, false, 0, &random_state), 0, 2000);
  assert_int_equal(retry_wait_ms(&two_retries, 3, false, 0, &random_state), -1);
  assert_int_equal(retry_wait_ms(&two_retries, 3, true, 1, &random_state), -1);
  const struct retry_policy none = {.retries = 0, .first_ms = 1000, .max_ms = 30000};
  assert_int_equal(retry_wait_ms(&none, 1, false, 0, &random_state), -1);
}

static void backoff_wait_is_the_seeded_draw(void **state) {
  (void)state;
  /* The wait is the backoff of the next number of the caller's sequence: same seed, same
   * waits; and the sequence moves on only when the backoff is used. */
  uint64_t seeded = 12345, mirror = 12345;
  for (unsigned attempts = 1; attempts <= 2; attempts++) {
    int64_t expected = retry_backoff_ms(attempts, 1000, 30000, retry_random(&mirror));
    assert_int_equal(retry_wait_ms(&two_retries, attempts, false, 0, &seeded), expected);
  }
  uint64_t before = seeded;
  assert_int_equal(retry_wait_ms(&two_retries, 1, true, 3, &seeded), 3000);
  assert_int_equal(seeded, before);
}

static void retry_after_replaces_the_backoff_up_to_the_cap(void **state) {
  (void)state;
  uint64_t random_state = 1;
  /* Seconds as curl gives them (an HTTP date already turned into seconds from now). */
  assert_int_equal(retry_wait_ms(&two_retries, 1, true, 1, &random_state), 1000);
  assert_int_equal(retry_wait_ms(&two_retries, 2, true, 29, &random_state), 29000);
  /* Exactly the cap is still waited; a second more ends the retries. */
  assert_int_equal(retry_wait_ms(&two_retries, 1, true, 30, &random_state), 30000);
  assert_int_equal(retry_wait_ms(&two_retries, 1, true, 31, &random_state), -1);
  /* A cap that is not whole seconds: 30.5 s allows 30 s, not 31. */
  const struct retry_policy odd_cap = {.retries = 1, .first_ms = 100, .max_ms = 30500};
  assert_int_equal(retry_wait_ms(&odd_cap, 1, true, 30, &random_state), 30000);
  assert_int_equal(retry_wait_ms(&odd_cap, 1, true, 31, &random_state), -1);
  /* An absurd Retry-After neither overflows nor waits. */
  assert_int_equal(retry_wait_ms(&two_retries, 1, true, INT64_MAX, &random_state), -1);
  assert_int_equal(retry_wait_ms(&two_retries, 1, true, INT64_MAX / 1000 + 1, &random_state), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(network_failures_are_transient),
      cmocka_unit_test(only_listed_statuses_are_transient),
      cmocka_unit_test(permanent_failures_are_not_retried),
      cmocka_unit_test(backoff_ceiling_doubles_up_to_the_cap),
      cmocka_unit_test(proxy_refusals_are_transient_only_for_transient_statuses),
      cmocka_unit_test(backoff_is_spread_over_the_whole_range),
      cmocka_unit_test(tries_run_out_after_the_retries),
      cmocka_unit_test(all_errors_take_in_every_transfer_failure),
      cmocka_unit_test(backoff_wait_is_the_seeded_draw),
      cmocka_unit_test(retry_after_replaces_the_backoff_up_to_the_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
