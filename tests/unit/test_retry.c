/* retry.h: which failures are retried, and the full-jitter backoff. */
#include "unit_helpers.h"

#include <curl/curl.h>

#include "afetch/options.h"
#include "afetch/retry.h"

static struct afetch_result failure(enum result_error error, long status, long curl_code) {
  return (struct afetch_result){.error = error, .status = status, .curl_code = curl_code};
}

static void no_retry_once_the_tries_are_used_up(void **state) {
  (void)state;
  struct afetch_options options = {.retries = 2, .retry_delay_ms = 100, .retry_max_delay_ms = 1000};
  uint64_t random_state = 1;
  assert_true(retry_wait_ms(&options, 2, false, 0, &random_state) >= 0);
  assert_int_equal(retry_wait_ms(&options, 3, false, 0, &random_state), -1);
  assert_int_equal(retry_wait_ms(&options, 3, true, 0, &random_state), -1);
}

static void retry_after_replaces_the_backoff_up_to_the_cap(void **state) {
  (void)state;
  struct afetch_options options = {.retries = 5, .retry_delay_ms = 100, .retry_max_delay_ms = 3000};
  uint64_t random_state = 1;
  assert_int_equal(retry_wait_ms(&options, 1, true, 3, &random_state), 3000);
  assert_int_equal(retry_wait_ms(&options, 1, true, 0, &random_state), 0);
  assert_int_equal(retry_wait_ms(&options, 1, true, 4, &random_state), -1);
}

static void retry_wait_without_retry_after_is_the_backoff(void **state) {
  (void)state;
  struct afetch_options options = {.retries = 5, .retry_delay_ms = 100, .retry_max_delay_ms = 250};
  uint64_t random_state = 7, expected_state = 7;
  for (unsigned attempts = 1; attempts <= 5; attempts++) {
    int64_t expected = retry_backoff_ms(attempts, 100, 250, retry_random(&expected_state));
    int64_t wait = retry_wait_ms(&options, attempts, false, 0, &random_state);
    assert_int_equal(wait, expected);
    assert_true(wait >= 0 && wait <= 250);
  }
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(network_failures_are_transient),
      cmocka_unit_test(only_listed_statuses_are_transient),
      cmocka_unit_test(permanent_failures_are_not_retried),
      cmocka_unit_test(backoff_ceiling_doubles_up_to_the_cap),
      cmocka_unit_test(proxy_refusals_are_transient_only_for_transient_statuses),
      cmocka_unit_test(backoff_is_spread_over_the_whole_range),
      cmocka_unit_test(no_retry_once_the_tries_are_used_up),
      cmocka_unit_test(retry_after_replaces_the_backoff_up_to_the_cap),
      cmocka_unit_test(retry_wait_without_retry_after_is_the_backoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
