/* What afetch fetches and what it reports: concurrency, timeouts, ordering, URL handling,
 * errors, redirects, request shaping, TLS, and large inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* One gather-mode run over `input` (stdin), expecting `n` results and this exit status. */
static cJSON *fetch(const char *const *args, const char *input, size_t n, int exit_code) {
  struct h_proc *proc = h_afetch_run(args, input);
  h_expect_exit(proc, exit_code);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, n);
  return results;
}

/* The single result of fetching one URL with extra options. */
static const cJSON *fetch_one(const char *const *options, const char *url, int exit_code) {
  const char *args[32];
  size_t n = 0;
  for (; options != NULL && options[n] != NULL; n++)
    args[n] = options[n];
  args[n] = NULL;
  cJSON *results = fetch(args, h_fmt("%s\n", url), 1, exit_code);
  return h_result(results, 0);
}

static void expect_error(const cJSON *result, const char *code) {
  const char *got = h_error_code(result);
  if (got == NULL || strcmp(got, code) != 0) {
    char *text = cJSON_PrintUnformatted(result);
    char *copy = h_fmt("%.600s", text);
    free(text);
    fail_msg("expected error.code \"%s\", got %s%s%s in %s", code, got ? "\"" : "",
             got ? got : "null", got ? "\"" : "", copy);
  }
  assert_false(h_ok(result));
}

static void expect_ok(const cJSON *result, long status) {
  if (!h_ok(result) || h_status(result) != status) {
    char *text = cJSON_PrintUnformatted(result);
    char *copy = h_fmt("%.600s", text);
    free(text);
    fail_msg("expected ok with status %ld, got %s", status, copy);
  }
}

void concurrency_is_bounded_and_used(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;

  /* 40 slow URLs at -c 8: the server must see exactly 8 at once, never more. */
  struct h_buf *list = h_text();
  for (int i = 0; i < 40; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/300\n", port);
  const char *file = h_temp_file(list->data, list->len);
  h_reset(port);
  const char *bounded[] = {"-c", "8", file, NULL};
  struct h_proc *proc = h_afetch_run(bounded, NULL);
  h_expect_exit(proc, 0);
  h_check_results(h_gather_output(proc), 40);
  struct h_stats stats = h_stats(port);
  if (stats.max_in_flight != 8 || stats.requests != 40)
    fail_msg("%s: the server saw max_in_flight %ld (expected exactly 8) over %ld requests "
             "(expected 40)",
             proc->cmdline, stats.max_in_flight, stats.requests);
  if (proc->seconds >= 6.0)
    fail_msg("%s: took %.2f s; 5 rounds of 0.3 s at -c 8 should take about 1.5 s", proc->cmdline,
             proc->seconds);

  /* 20 URLs of 0.5 s at -c 20: all at once, so far faster than the serial 10 s. */
  list = h_text();
  for (int i = 0; i < 20; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/500\n", port);
  file = h_temp_file(list->data, list->len);
  h_reset(port);
  const char *wide[] = {"-c", "20", file, NULL};
  proc = h_afetch_run(wide, NULL);
  h_expect_exit(proc, 0);
  h_check_results(h_gather_output(proc), 20);
  stats = h_stats(port);
  if (stats.max_in_flight != 20 || stats.requests != 20)
    fail_msg("%s: the server saw max_in_flight %ld (expected 20) over %ld requests "
             "(expected 20)",
             proc->cmdline, stats.max_in_flight, stats.requests);
  if (proc->seconds >= 3.0)
    fail_msg("%s: took %.2f s; 20 x 0.5 s at -c 20 should take about 0.5 s (serial: 10 s)",
             proc->cmdline, proc->seconds);

  /* Without -c: the default of 10. */
  list = h_text();
  for (int i = 0; i < 20; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/300\n", port);
  file = h_temp_file(list->data, list->len);
  h_reset(port);
  const char *by_default[] = {file, NULL};
  proc = h_afetch_run(by_default, NULL);
  h_expect_exit(proc, 0);
  h_check_results(h_gather_output(proc), 20);
  stats = h_stats(port);
  if (stats.max_in_flight != 10 || stats.requests != 20)
    fail_msg("%s: the server saw max_in_flight %ld (expected the default 10) over %ld requests "
             "(expected 20)",
             proc->cmdline, stats.max_in_flight, stats.requests);
}

void timeout_is_per_request(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *input = h_fmt("http://127.0.0.1:%d/delay/3000\n"
                            "http://127.0.0.1:%d/delay/10\n"
                            "http://127.0.0.1:%d/delay/3000\n"
                            "http://127.0.0.1:%d/delay/10\n",
                            port, port, port, port);

  /* In parallel: the slow ones time out after 0.5 s, the fast ones are fine. */
  const char *parallel[] = {"-t", "0.5", "-c", "4", NULL};
  struct h_proc *proc = h_afetch_run(parallel, input);
  h_expect_exit(proc, 1);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 4);
  for (long i = 0; i < 4; i++) {
    const cJSON *r = h_result(results, i);
    if (i % 2 == 0) {
      expect_error(r, "timeout");
      assert_int_equal(h_status(r), -1); /* no response arrived */
      double total = h_number(h_field(r, "time"), "total");
      if (total < 0.4 || total > 2.0)
        fail_msg("a request timed out at -t 0.5 reports time.total %.3f s", total);
    } else {
      expect_ok(r, 200);
    }
  }
  if (proc->seconds >= 2.5)
    fail_msg("%s: took %.2f s; with -t 0.5 it should not wait for the 3 s responses", proc->cmdline,
             proc->seconds);

  /* One at a time: each request gets its own 0.5 s (a run-wide clock would fail the last
   * fast one, which starts about 1 s into the run). */
  const char *serial[] = {"-t", "0.5", "-c", "1", NULL};
  proc = h_afetch_run(serial, input);
  h_expect_exit(proc, 1);
  results = h_gather_output(proc);
  h_check_results(results, 4);
  expect_error(h_result(results, 0), "timeout");
  expect_ok(h_result(results, 1), 200);
  expect_error(h_result(results, 2), "timeout");
  expect_ok(h_result(results, 3), 200);
  if (proc->seconds < 0.9 || proc->seconds >= 2.8)
    fail_msg("%s: took %.2f s; two sequential 0.5 s timeouts should take about 1 s", proc->cmdline,
             proc->seconds);
}

static const char *descending_delays(int port) {
  return h_fmt("http://127.0.0.1:%d/delay/600\n"
               "http://127.0.0.1:%d/delay/400\n"
               "http://127.0.0.1:%d/delay/200\n"
               "http://127.0.0.1:%d/delay/0\n",
               port, port, port, port);
}

static const int delays[] = {600, 400, 200, 0};

void gather_keeps_input_order(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *args[] = {"-c", "4", NULL};
  cJSON *results = fetch(args, descending_delays(port), 4, 0);
  for (int i = 0; i < 4; i++) {
    const cJSON *r = cJSON_GetArrayItem(results, i);
    long index = (long)h_number(r, "index");
    const char *url = h_string(r, "url");
    char *want = h_fmt("http://127.0.0.1:%d/delay/%d", port, delays[i]);
    if (index != i || strcmp(url, want) != 0)
      fail_msg("array element %d is index %ld (%s); expected index %d (%s)", i, index, url, i,
               want);
    expect_ok(r, 200);
  }
}

void ndjson_emits_in_completion_order(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *args[] = {"-c", "4", "--ndjson", NULL};
  struct h_proc *proc = h_afetch_run(args, descending_delays(port));
  h_expect_exit(proc, 0);
  cJSON *results = h_parse_ndjson(proc->out.data);
  h_check_results(results, 4);
  for (int line = 0; line < 4; line++) {
    const cJSON *r = cJSON_GetArrayItem(results, line);
    long index = (long)h_number(r, "index");
    if (index != 3 - line)
      fail_msg("%s: ndjson line %d is index %ld; completion order is 3, 2, 1, 0\n%s", proc->cmdline,
               line + 1, index, proc->out.data);
    char *want = h_fmt("http://127.0.0.1:%d/delay/%d", port, delays[index]);
    assert_string_equal(h_string(r, "url"), want);
    expect_ok(r, 200);
  }
}

void invalid_urls_become_error_results(void **state) {
  (void)state;
  int port = h_http->http_port;
  struct h_buf *input = h_text();
  h_text_add(input, "http://127.0.0.1:%d/status/200\n", port); /* 0 */
  h_text_add(input, "# a comment\n");
  h_text_add(input, "\n");
  h_text_add(input, "   \t \n");
  h_text_add(input, "http://\n");                  /* 1 */
  h_text_add(input, "ht tp://bad\n");              /* 2 */
  h_text_add(input, "ftp://x/y\n");                /* 3 */
  h_text_add(input, "http://127.0.0.1:%d/", port); /* 4: over 64 KiB */
  for (int i = 0; i < 70000; i++)
    h_text_add_bytes(input, "a", 1);
  h_text_add(input, "\n");
  h_text_add(input, "http://127.0.0.1:%d/status/201\r\n", port); /* 5: CRLF */
  h_text_add(input, "#http://127.0.0.1:%d/status/500\n", port);
  h_text_add(input, "  127.0.0.1:%d/status/202\t\n", port);  /* 6: no scheme, blanks */
  h_text_add(input, "127.0.0.1:%d/status/204?next=http://x\n", port); /* 7: "://" in query */
  h_text_add(input, "http://127.0.0.1:%d/status/203", port); /* 8: no final newline */

  /* The same input from a file and from standard input. */
  const char *file = h_temp_file(input->data, input->len);
  for (int from_file = 0; from_file < 2; from_file++) {
    const char *args[] = {from_file ? file : "-", NULL};
    cJSON *results = fetch(args, from_file ? NULL : input->data, 9, 1);
    expect_ok(h_result(results, 0), 200);
    assert_string_equal(h_string(h_result(results, 0), "url"), h_url(port, "/status/200"));
    static const char *const invalid[] = {"http://", "ht tp://bad", "ftp://x/y"};
    for (long i = 1; i <= 3; i++) {
      const cJSON *r = h_result(results, i);
      expect_error(r, "invalid_url");
      assert_int_equal(h_status(r), -1);
      assert_string_equal(h_string(r, "url"), invalid[i - 1]);
    }
    /* The message says which line was refused, not only curl's reason. */
    const char *message = h_string(h_field(h_result(results, 2), "error"), "message");
    if (message == NULL || strstr(message, "'ht tp://bad'") == NULL)
      fail_msg("the invalid_url message should quote the line 'ht tp://bad', got: %s",
               message ? message : "null");
    expect_error(h_result(results, 4), "invalid_url");
    assert_int_equal(h_status(h_result(results, 4)), -1);

    const cJSON *crlf = h_result(results, 5);
    expect_ok(crlf, 201);
    assert_string_equal(h_string(crlf, "url"), h_url(port, "/status/201"));
    const cJSON *schemeless = h_result(results, 6);
    expect_ok(schemeless, 202);
    assert_string_equal(h_string(schemeless, "url"), h_url(port, "/status/202"));
    const cJSON *query = h_result(results, 7);
    expect_ok(query, 204);
    assert_string_equal(h_string(query, "url"), h_url(port, "/status/204?next=http://x"));
    const cJSON *last = h_result(results, 8);
    expect_ok(last, 203);
    assert_string_equal(h_string(last, "url"), h_url(port, "/status/203"));
  }
}

void connection_refused_is_connect_error(void **state) {
  (void)state;
  const char *url = h_url(h_unused_port(), "/");
  const cJSON *r = fetch_one(NULL, url, 1);
  expect_error(r, "connect");
  assert_int_equal(h_status(r), -1);
  assert_string_equal(h_string(r, "url"), url);

  /* -q: the failure is in the JSON, nothing on stderr. */
  const char *quiet[] = {"-q", NULL};
  struct h_proc *proc = h_afetch_run(quiet, h_fmt("%s\n", url));
  h_expect_exit(proc, 1);
  h_check_results(h_gather_output(proc), 1);
  if (proc->err.len != 0)
    fail_msg("%s: -q should keep stderr empty, got: %s", proc->cmdline, proc->err.data);
}

void redirects_are_followed_and_counted(void **state) {
  (void)state;
  int port = h_http->http_port;

  const cJSON *r = fetch_one(NULL, h_url(port, "/redirect/3"), 0);
  expect_ok(r, 200);
  assert_int_equal((long)h_number(r, "redirects"), 3);
  assert_string_equal(h_string(r, "url"), h_url(port, "/redirect/3"));
  assert_string_equal(h_string(r, "final_url"), h_url(port, "/redirect/0"));

  r = fetch_one(NULL, h_url(port, "/absredirect/2"), 0);
  expect_ok(r, 200);
  assert_int_equal((long)h_number(r, "redirects"), 2);
  const char *final_url = h_string(r, "final_url");
  assert_non_null(final_url);
  if (strcmp(final_url, h_url(port, "/absredirect/2")) == 0)
    fail_msg("final_url of /absredirect/2 should be where the redirects led, not the start");

  /* The default limit is 10. */
  r = fetch_one(NULL, h_url(port, "/redirect/10"), 0);
  expect_ok(r, 200);
  assert_int_equal((long)h_number(r, "redirects"), 10);
  r = fetch_one(NULL, h_url(port, "/redirect/11"), 1);
  expect_error(r, "too_many_redirects");

  const char *two[] = {"--max-redirs", "2", NULL};
  r = fetch_one(two, h_url(port, "/redirect/5"), 1);
  expect_error(r, "too_many_redirects");
  r = fetch_one(two, h_url(port, "/redirect/2"), 0);
  expect_ok(r, 200);

  const char *no_follow[] = {"--no-location", NULL};
  r = fetch_one(no_follow, h_url(port, "/redirect/1"), 0);
  expect_ok(r, 302);
  assert_int_equal((long)h_number(r, "redirects"), 0);
  assert_string_equal(h_string(r, "final_url"), h_url(port, "/redirect/1"));
}

void http_error_status_is_not_ok(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *input = h_fmt("http://127.0.0.1:%d/status/404\n"
                            "http://127.0.0.1:%d/status/500\n"
                            "http://127.0.0.1:%d/status/200\n",
                            port, port, port);
  const char *none[] = {NULL};
  cJSON *results = fetch(none, input, 3, 1);
  const cJSON *r = h_result(results, 0);
  expect_error(r, "http");
  assert_int_equal(h_status(r), 404);
  r = h_result(results, 1);
  expect_error(r, "http");
  assert_int_equal(h_status(r), 500);
  expect_ok(h_result(results, 2), 200);

  r = fetch_one(NULL, h_url(port, "/status/204"), 0);
  expect_ok(r, 204);
  assert_int_equal((long)h_number(r, "size"), 0);
}

/* The size of the /headers echo for one request shaped by `options`. */
static long echo_size(const char *const *options) {
  const cJSON *r = fetch_one(options, h_url(h_http->http_port, "/headers"), 0);
  return (long)h_number(r, "size");
}

/* afetch does not print bodies yet, so the server's echo is observed through its size: making
 * one value k bytes longer must make the echo exactly k bytes longer. */
static void expect_growth(const char *what, const char *const *shorter, const char *const *longer,
                          long growth) {
  long a = echo_size(shorter), b = echo_size(longer);
  if (b - a != growth)
    fail_msg("%s: the /headers echo grew by %ld bytes, expected %ld (%ld -> %ld): the value does "
             "not reach the server as sent",
             what, b - a, growth, a, b);
}

void request_shaping_reaches_the_server(void **state) {
  (void)state;
  const char *h1[] = {"-H", "X-Probe: v", NULL};
  const char *h10[] = {"-H", "X-Probe: vvvvvvvvvv", NULL};
  expect_growth("-H", h1, h10, 9);
  const char *two_headers[] = {"-H", "X-Probe: v", "-H", "X-Other: vvvvvvvvvv", NULL};
  long one = echo_size(h1), both = echo_size(two_headers);
  if (both <= one + 10)
    fail_msg("a second -H should reach the server too (echo %ld -> %ld bytes)", one, both);

  const char *ua1[] = {"-A", "u", NULL};
  const char *ua12[] = {"-A", "uuuuuuuuuuuu", NULL};
  expect_growth("-A", ua1, ua12, 11);

  const char *put[] = {"-X", "PUT", NULL};
  const char *patch[] = {"-X", "PATCH", NULL};
  expect_growth("-X", put, patch, 2);

  const char *d1[] = {"-d", "x", NULL};
  const char *d5[] = {"-d", "xxxxx", NULL};
  expect_growth("-d", d1, d5, 4);
}

void result_fields_describe_the_transfer(void **state) {
  (void)state;
  const char *url = h_url(h_http->http_port, "/bytes/1000");
  const char *http11[] = {"--http1.1", NULL};
  const cJSON *r = fetch_one(http11, url, 0);
  expect_ok(r, 200);
  assert_string_equal(h_string(r, "url"), url);
  assert_string_equal(h_string(r, "final_url"), url);
  assert_int_equal((long)h_number(r, "size"), 1000);
  assert_string_equal(h_string(r, "http_version"), "1.1");
  assert_string_equal(h_string(r, "remote_ip"), "127.0.0.1");
  assert_int_equal((long)h_number(r, "redirects"), 0);
  assert_int_equal((long)h_number(r, "attempts"), 1);
  const cJSON *time = h_field(r, "time");
  double ttfb = h_number(time, "ttfb"), total = h_number(time, "total");
  if (!(total > 0 && total >= ttfb && ttfb >= h_number(time, "connect")))
    fail_msg("time should be curl's cumulative timers (connect <= ttfb <= total, total > 0): "
             "connect %g, ttfb %g, total %g",
             h_number(time, "connect"), ttfb, total);
}

void tls_verifies_unless_told_otherwise(void **state) {
  (void)state;
  if (h_tls == NULL)
    fail_msg("the TLS test server could not be started (see stderr)");
  const char *url = h_fmt("https://127.0.0.1:%d/status/200", h_tls->https_port);

  const char *cacert[] = {"--cacert", h_tls->cert, NULL};
  const cJSON *r = fetch_one(cacert, url, 0);
  expect_ok(r, 200);
  const char *version = h_string(r, "http_version");
  if (version == NULL || *version == '\0')
    fail_msg("http_version should be set for a TLS transfer");
  if (!(h_number(h_field(r, "time"), "tls") > 0))
    fail_msg("time.tls should be > 0 for an https transfer");

  r = fetch_one(NULL, url, 1);
  expect_error(r, "tls");
  assert_int_equal(h_status(r), -1);

  const char *insecure[] = {"-k", NULL};
  r = fetch_one(insecure, url, 0);
  expect_ok(r, 200);
}

void invalid_utf8_from_server_yields_valid_utf8_json(void **state) {
  (void)state;
  const char *none[] = {NULL};
  struct h_proc *proc = h_afetch_run(none, h_fmt("%s\n", h_url(h_http->http_port, "/badutf8")));
  h_expect_exit(proc, 0);
  if (!h_is_valid_utf8(proc->out.data, proc->out.len))
    fail_msg("%s: stdout is not valid UTF-8: %s", proc->cmdline, proc->out.data);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  const char *content_type = h_string(h_result(results, 0), "content_type");
  if (content_type == NULL || *content_type == '\0')
    fail_msg("content_type should carry the (repaired) header: %s", proc->out.data);
}

void empty_reply_is_other_error(void **state) {
  (void)state;
  const cJSON *r = fetch_one(NULL, h_url(h_http->http_port, "/close"), 1);
  expect_error(r, "other");
  assert_int_equal(h_status(r), -1);
}

void many_urls_stream_through(void **state) {
  (void)state;
  enum { N = 2000 };
  int port = h_http->http_port;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/status/200?i=%d\n", port, i);
  const char *args[] = {"-c", "50", NULL};
  cJSON *results = fetch(args, input->data, N, 0);
  for (int i = 0; i < N; i++) {
    const cJSON *r = cJSON_GetArrayItem(results, i);
    if ((long)h_number(r, "index") != i || !h_ok(r))
      fail_msg("array element %d: index %ld, ok %d", i, (long)h_number(r, "index"), h_ok(r));
    const char *url = h_string(r, "url");
    const char *query = strrchr(url, '=');
    if (query == NULL || atoi(query + 1) != i)
      fail_msg("array element %d has the URL of another line: %s", i, url);
  }
}
