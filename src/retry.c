/* The retry policy: what is transient, and the backoff. */
#include "afetch/retry.h"

#include <curl/curl.h>

/* A status that says "later" rather than "no", from the server or from a proxy. */
static bool retry_status_is_transient(long status) {
  switch (status) {
  case 408:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    return true;
  default:
    return false;
  }
}

bool retry_is_transient(const struct afetch_result *result) {
  switch (result->error) {
  case RESULT_DNS:
  case RESULT_TIMEOUT:
    return true;
  case RESULT_CONNECT:
    return result->proxy_status == 0 || retry_status_is_transient(result->proxy_status);
  case RESULT_HTTP:
    return retry_status_is_transient(result->status);
  case RESULT_OTHER:
    return result->curl_code == CURLE_PARTIAL_FILE || result->curl_code == CURLE_GOT_NOTHING ||
           result->curl_code == CURLE_SEND_ERROR || result->curl_code == CURLE_RECV_ERROR;
  default:
    return false;
  }
}

bool retry_is_any_transfer_error(const struct afetch_result *result) {
  switch (result->error) {
  case RESULT_DNS:
  case RESULT_CONNECT:
  case RESULT_TLS:
  case RESULT_TIMEOUT:
  case RESULT_HTTP:
  case RESULT_TOO_MANY_REDIRECTS:
  case RESULT_OTHER:
    return true;
  default:
    return false;
  }
}

int64_t retry_backoff_ms(unsigned attempts, long first_ms, long max_ms, uint64_t random) {
  int64_t ceiling = first_ms;
  for (unsigned i = 1; i < attempts && ceiling < max_ms; i++)
    ceiling = ceiling > INT64_MAX / 2 ? INT64_MAX : ceiling * 2;
  if (ceiling > max_ms)
    ceiling = max_ms;
  if (ceiling <= 0)
    return 0;
  return (int64_t)(random % ((uint64_t)ceiling + 1));
}

int64_t retry_wait_ms(const struct retry_policy *policy, unsigned attempts, bool has_retry_after,
                      int64_t retry_after_s, uint64_t *random_state) {
  if (attempts > policy->retries)
    return -1;
  if (has_retry_after) /* compared in seconds: a huge Retry-After must not overflow */
    return retry_after_s <= policy->max_ms / 1000 ? retry_after_s * 1000 : -1;
  return retry_backoff_ms(attempts, policy->first_ms, policy->max_ms, retry_random(random_state));
}

uint64_t retry_random(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}
