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

/* `openssl s_server` on 127.0.0.1 with the suite's certificate, demanding a client
 * certificate (-Verify 1 fails the connection without one), speaking only this TLS version
 * (e.g. "-tls1_3"); returns its port once it accepts. */
static int client_certificate_server(const char *version) {
  int port = h_unused_port();
  const char *argv[] = {"openssl", "s_server", "-accept", h_fmt("127.0.0.1:%d", port),
                        "-cert", h_fmt("%s/cert.pem", h_tls->dir), "-key",
                        h_fmt("%s/key.pem", h_tls->dir), "-Verify", "1", version, "-www", NULL};
  struct h_proc *server = h_spawn(argv);
  for (const char *line; (line = h_read_line(server, 10000)) != NULL;)
    if (strcmp(line, "ACCEPT") == 0)
      return port;
  fail_msg("%s did not start: %s", server->cmdline, server->err.data);
  return -1;
}

void tls_client_certificate_required_is_tls_and_not_retried(void **state) {
  (void)state;
  static const char *const versions[] = {"-tls1_3", "-tls1_2"};
  for (size_t i = 0; i < 2; i++) {
    int port = client_certificate_server(versions[i]);
    const char *extra[] = {"-k", "-r", "2", "--retry-delay", "0.01", NULL};
    const cJSON *r = fetch_one(h_fmt("https://127.0.0.1:%d/", port), extra, 1);
    const cJSON *error = h_field(r, "error");
    const char *code = h_error_code(r);
    if (code == NULL || strcmp(code, "tls") != 0 || h_number(r, "attempts") != 1)
      fail_msg("%s without a client certificate: expected tls after 1 attempt, got %s after %g "
               "(%s)",
               versions[i], code ? code : "null", h_number(r, "attempts"),
               cJSON_IsObject(error) ? h_string(error, "message") : "no error");
  }
}

void stalled_tls_handshake_reports_the_real_wait(void **state) {
  (void)state;
  /* Accepts and never answers: the TLS handshake stalls. Several URLs to that host, so that
   * some wait for the first one's connection (HTTP/2 may multiplex on it) rather than open
   * their own. */
  int port = h_raw_listener(NULL);
  struct h_buf *input = h_text();
  enum { URLS = 6 };
  for (int i = 0; i < URLS; i++)
    h_text_add(input, "https://127.0.0.1:%d/%d\n", port, i);
  const char *args[] = {"-k", "-r", "0", "-t", "1", "-", NULL};
  struct h_proc *proc = h_afetch_run(args, input->data);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, URLS);
  h_expect_exit(proc, 1);
  int handshakes = 0;
  for (long i = 0; i < URLS; i++) {
    const cJSON *r = h_result(results, i);
    const cJSON *error = h_field(r, "error");
    const char *code = h_error_code(r);
    const char *message = cJSON_IsObject(error) ? h_string(error, "message") : NULL;
    double total = h_number(h_field(r, "time"), "total");
    if (code == NULL || strcmp(code, "timeout") != 0 || message == NULL ||
        strstr(message, "timed out after") == NULL || total < 0.9)
      fail_msg("result %ld: expected a timeout that says what timed out and a time.total of "
               "the 1 s waited, got %s, \"%s\", total %g",
               i, code ? code : "null", message ? message : "", total);
    handshakes += strstr(message, "TLS handshake") != NULL;
  }
  if (handshakes == 0)
    fail_msg("no result says its TLS handshake timed out:\n%s", proc->out.data);
}

/* One https URL through https_proxy=PROXY (no_proxy empty), retried up to twice. */
static const cJSON *fetch_through_proxy(const char *proxy) {
  const char *environment[] = {h_fmt("https_proxy=%s", proxy), "HTTPS_PROXY=", "all_proxy=",
                               "ALL_PROXY=", "no_proxy=", "NO_PROXY=", NULL};
  const char *args[] = {"-k", "-r", "2", "--retry-delay", "0.01", "-", NULL};
  char *url = h_fmt("https://127.0.0.1:%d/status/200\n", h_tls->https_port);
  struct h_proc *proc = h_afetch_run_env(environment, args, url);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  h_expect_exit(proc, 1);
  return h_result(results, 0);
}

void proxy_failures_name_the_proxy_and_retry_only_transient_refusals(void **state) {
  (void)state;
  /* A proxy that refuses the tunnel for good: connect, its status, not retried. */
  int refusing = h_raw_listener("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  const cJSON *r = fetch_through_proxy(h_fmt("http://127.0.0.1:%d", refusing));
  expect_failure(r, "connect", 56, "proxy refused CONNECT: HTTP 403");
  assert_int_equal((long)h_number(r, "attempts"), 1);
  assert_int_equal(h_status(r), -1);
  /* For now (502): retried. */
  int failing = h_raw_listener("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
  r = fetch_through_proxy(h_fmt("http://127.0.0.1:%d", failing));
  expect_failure(r, "connect", 56, "proxy refused CONNECT: HTTP 502");
  assert_int_equal((long)h_number(r, "attempts"), 3);
  /* Nothing listens at the proxy's address: the message says it was the proxy. */
  r = fetch_through_proxy(h_fmt("http://127.0.0.1:%d", h_unused_port()));
  expect_failure(r, "connect", 7, "cannot connect to the proxy (https_proxy)");
}

/* The body the test server's /headers echoed after a redirect from 127.0.0.1 to localhost
 * (another host to curl), for -H lines plus extra options. */
static const char *headers_after_cross_host_redirect(const char *extra) {
  int redirecting = h_raw_listener(h_fmt("HTTP/1.1 302 Found\r\nLocation: "
                                         "http://localhost:%d/headers\r\nContent-Length: 0\r\n"
                                         "Connection: close\r\n\r\n",
                                         h_http->http_port));
  const char *args[] = {"--body", "-H", "Authorization: Bearer secret-token", "-H",
                        "X-Api-Key: api-key-value", extra, NULL};
  const cJSON *r = fetch_one(h_url(redirecting, "/"), args, 0);
  assert_int_equal((long)h_number(r, "redirects"), 1);
  const char *body = h_string(r, "body");
  if (body == NULL || strstr(body, "api-key-value") == NULL)
    fail_msg("no echo of the request headers from localhost: %s", body ? body : "null");
  return body;
}

void authorization_goes_to_another_host_only_with_location_trusted(void **state) {
  (void)state;
  /* curl's rule: Authorization (and Cookie) stay with the first host; other -H headers go
   * to every host of the chain (documented). */
  const char *body = headers_after_cross_host_redirect(NULL);
  if (strstr(body, "secret-token") != NULL)
    fail_msg("Authorization was sent to another host on a redirect: %s", body);
  body = headers_after_cross_host_redirect("--location-trusted");
  if (strstr(body, "secret-token") == NULL)
    fail_msg("--location-trusted: Authorization was not sent after the redirect: %s", body);
}
