/* -r: which failures are worth another try, and how long to wait before it. */
#ifndef AFETCH_RETRY_H
#define AFETCH_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "afetch/result.h"

/* Transient: DNS and connect errors, timeouts, a connection closed or reset before a whole
 * reply (curl codes 18, 52, 55, 56), and HTTP 408, 429, 500, 502, 503, 504 (from the server,
 * or from a proxy refusing CONNECT). Not: other statuses, TLS failures, invalid URLs,
 * redirect loops, stopped transfers. */
bool retry_is_transient(const struct afetch_result *result);

/* --retry-all-errors (curl's): every failure of the transfer or the server is worth another
 * try, any HTTP status, TLS and redirect failures included. Not: what the input or afetch
 * decided (invalid URL or input, a body over --max-size, a failed write, a stop, robots). */
bool retry_is_any_transfer_error(const struct afetch_result *result);

/* "Full jitter" backoff after `attempts` tries: uniform in [0, min(max_ms, first_ms *
 * 2^(attempts-1))], drawn from `random`. */
int64_t retry_backoff_ms(unsigned attempts, long first_ms, long max_ms, uint64_t random);

/* -r and its waits. */
struct retry_policy {
  unsigned retries; /* tries after the first */
  long first_ms;    /* --retry-delay: the backoff's first ceiling */
  long max_ms;      /* --retry-max-delay: the backoff's cap, and the longest Retry-After */
};

/* The wait in milliseconds before the next try of a request whose `attempts` tries so far
 * ended in a transient failure, or -1 for none: the tries are used up, or the last response's
 * Retry-After (`has_retry_after`: `retry_after_s` seconds; curl turns an HTTP date into the
 * seconds from now) asks for longer than max_ms. A Retry-After replaces the backoff;
 * otherwise the backoff draws from *random_state. */
int64_t retry_wait_ms(const struct retry_policy *policy, unsigned attempts, bool has_retry_after,
                      int64_t retry_after_s, uint64_t *random_state);

/* The next number of a splitmix64 sequence kept in *state. */
uint64_t retry_random(uint64_t *state);

#endif
