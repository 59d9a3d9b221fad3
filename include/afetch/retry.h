/* -r: which failures are worth another try, and how long to wait before it. */
#ifndef AFETCH_RETRY_H
#define AFETCH_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "afetch/result.h"

struct afetch_options;

/* Transient: DNS and connect errors, timeouts, a connection closed or reset before a whole
 * reply (curl codes 18, 52, 55, 56), and HTTP 408, 429, 500, 502, 503, 504 (from the server,
 * or from a proxy refusing CONNECT). Not: other statuses, TLS failures, invalid URLs,
 * redirect loops, stopped transfers. */
bool retry_is_transient(const struct afetch_result *result);

/* "Full jitter" backoff after `attempts` tries: uniform in [0, min(max_ms, first_ms *
 * 2^(attempts-1))], drawn from `random`. */
int64_t retry_backoff_ms(unsigned attempts, long first_ms, long max_ms, uint64_t random);

/* The next number of a splitmix64 sequence kept in *state. */
uint64_t retry_random(uint64_t *state);

/* The wait before the next try after `attempts` tries, in milliseconds, or -1 for no retry:
 * -r used up, or a Retry-After (has_retry_after: this attempt's response asked for
 * retry_after_s seconds) longer than --retry-max-delay. A Retry-After replaces the backoff;
 * the backoff's jitter comes from *random_state (retry_random()). */
int64_t retry_wait_ms(const struct afetch_options *options, unsigned attempts, bool has_retry_after,
                      int64_t retry_after_s, uint64_t *random_state);

#endif
