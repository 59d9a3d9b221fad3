/* One URL's outcome, as plain data, and its JSON form (the contract's result object). */
#ifndef AFETCH_RESULT_H
#define AFETCH_RESULT_H

#include <stdbool.h>
#include <stdint.h>

struct json_writer;

enum result_error {
  RESULT_OK = 0,
  RESULT_INVALID_URL,
  RESULT_DNS,
  RESULT_CONNECT,
  RESULT_TLS,
  RESULT_TIMEOUT,
  RESULT_HTTP,
  RESULT_TOO_MANY_REDIRECTS,
  RESULT_TOO_LARGE,
  RESULT_WRITE,
  RESULT_CANCELLED,
  RESULT_DEADLINE,
  RESULT_OTHER,
};

/* Strings are borrowed: they must stay valid until result_to_json() returns. NULL strings
 * and negative numbers marked "or -1" become JSON null. */
struct afetch_result {
  uint64_t index;
  const char *url;
  const char *final_url;
  long status; /* final HTTP status; 0 = no response */
  enum result_error error;
  const char *error_message; /* human text; NULL = derived from the code */
  long curl_code;            /* CURLcode behind the error, or -1 */
  const char *http_version;  /* "1.0", "1.1", "2", "3" */
  const char *remote_ip;
  long redirects;
  unsigned attempts;     /* transfers started for the URL */
  bool has_retry_after;  /* a response carried Retry-After: the key "retry_after" is written */
  int64_t retry_after_s; /* its wait in seconds (the latest one) */
  const char *content_type;
  uint64_t size; /* body bytes received */
  struct {
    int64_t dns, connect, tls, ttfb, total; /* microseconds, as curl measures them */
  } time_us;
};

/* The contract's "ok": completed without error and final status 100..399. */
bool result_is_ok(const struct afetch_result *result);

/* Stable code strings for error.code ("timeout", "invalid_url", ...); NULL for RESULT_OK. */
const char *result_error_name(enum result_error error);

/* Appends the result object (compact, one line) to the writer. Invalid UTF-8 in any string is
 * replaced with U+FFFD, so the text is always valid JSON. */
void result_write_json(const struct afetch_result *result, struct json_writer *writer);

#endif
