/* Servers and networks that misbehave below HTTP: replies curl refuses, stalled handshakes,
 * TLS alerts, proxies. Each failure gets the code that says what happened. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* Runs afetch on one URL (from standard input) with extra args (NULL-terminated, at most 8);
 * returns the single result after checking it is well formed and the exit status. */
static const cJSON *fetch_one(const char *url, const char *const *extra, int exit_code) {
  const char *args[12];
  size_t n = 0;
  args[n++] = "-r";
  args[n++] = "0";
  for (; extra && *extra && n < 10; extra++)
    args[n++] = *extra;
  args[n++] = "-";
  args[n] = NULL;
  struct h_proc *proc = h_afetch_run(args, h_fmt("%s\n", url));
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  h_expect_exit(proc, exit_code);
  return h_result(results, 0);
}

/* Fails unless the result's error has this code and curl code, and its message holds
 * `message` (NULL: any). */
static void expect_failure(const cJSON *result, const char *code, long curl_code,
                           const char *message) {
  const cJSON *error = h_field(result, "error");
  const char *got = h_error_code(result);
  const char *text = cJSON_IsObject(error) ? h_string(error, "message") : NULL;
  long got_curl = cJSON_IsObject(error) && cJSON_IsNumber(h_field(error, "curl_code"))
                      ? (long)h_number(error, "curl_code")
                      : -1;
  if (got == NULL || strcmp(got, code) != 0 || got_curl != curl_code ||
      (message && (text == NULL || strstr(text, message) == NULL)))
    fail_msg("expected error %s (curl %ld, message with \"%s\"), got %s (curl %ld): %s", code,
             curl_code, message ? message : "", got ? got : "null", got_curl,
             text ? text : "no message");
}

void http09_reply_is_a_transfer_error_not_an_invalid_url(void **state) {
  (void)state;
  /* A body without a status line: the request went out, the reply is what is wrong. */
  int port = h_raw_listener("hello\n");
  const cJSON *r = fetch_one(h_url(port, "/"), NULL, 1);
  expect_failure(r, "other", 1, "HTTP/0.9");
  assert_int_equal((long)h_number(r, "attempts"), 1);
  assert_string_equal(h_string(r, "url"), h_url(port, "/"));
  /* A redirect to a scheme afetch does not fetch is still invalid_url, after one attempt. */
  int redirecting = h_raw_listener("HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n");
  r = fetch_one(h_url(redirecting, "/"), NULL, 1);
  expect_failure(r, "invalid_url", 1, NULL);
  assert_int_equal((long)h_number(r, "attempts"), 1);
  /* A URL never sent: invalid_url, nothing attempted. */
  r = fetch_one("ftp://127.0.0.1/x", NULL, 1);
  expect_failure(r, "invalid_url", 1, "unsupported scheme");
  assert_int_equal((long)h_number(r, "attempts"), 0);
}
