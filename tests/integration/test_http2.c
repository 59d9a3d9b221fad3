/* Connection reuse over HTTP/2: many requests to one host share one multiplexed connection.
 * Needs Debian's nginx (the test server speaks HTTP/1.1 only). */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* 200 URLs to one HTTPS host at -c 20 with extra options; returns the connections nginx
 * accepted for them, after checking every result is ok over the expected HTTP version. */
static long connections_for_run(const struct h_nginx *nginx, const char *option,
                                const char *http_version) {
  struct h_buf *list = h_text();
  for (int i = 0; i < 200; i++)
    h_text_add(list, "https://127.0.0.1:%d/item/%d\n", nginx->https_port, i);
  const char *file = h_temp_file(list->data, list->len);
  long before = h_nginx_connections(nginx);
  const char *args[] = {"-k", "-c", "20", option, file, NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  h_expect_exit(proc, 0);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 200);
  for (long i = 0; i < 200; i++) {
    const char *version = h_string(h_result(results, i), "http_version");
    if (!h_ok(h_result(results, i)) || version == NULL || strcmp(version, http_version) != 0)
      fail_msg("%s: result %ld is not ok over HTTP/%s (got %s)", proc->cmdline, i, http_version,
               version ? version : "null");
  }
  /* Each h_nginx_connections() leaves out its own query, not the earlier one: -1 for that. */
  return h_nginx_connections(nginx) - before - 1;
}

void http2_multiplexes_requests_on_one_connection(void **state) {
  (void)state;
  struct h_nginx *nginx = h_private_nginx();
  /* HTTP/1.1 needs a connection per request in flight: about 20 (the control). */
  long http1 = connections_for_run(nginx, "--http1.1", "1.1");
  /* HTTP/2: requests wait for their loop's first connection and share it (one per event
   * loop: the suite also runs with --threads=2). */
  long http2 = connections_for_run(nginx, "--http2", "2");
  if (http2 > 4 || http1 < 10)
    fail_msg("200 requests at -c 20 opened %ld connections over HTTP/2 (expected 1 per event "
             "loop, at most 4) and %ld over HTTP/1.1 (expected about 20)",
             http2, http1);
}

/* nginx ends every connection with a GOAWAY after 3 requests: the streams it refused are sent
 * again on a fresh connection, by curl or by afetch, never reported (libcurl 7.88 counted
 * those retries per easy handle for the whole run, and lost requests opened on a connection
 * whose GOAWAY had just arrived). Without retries (-r 0), so a lost request shows. */
void http2_goaway_loses_no_request(void **state) {
  (void)state;
  struct h_nginx *nginx = h_private_nginx_with("keepalive_requests 3;");
  enum { URLS = 1500 };
  struct h_buf *list = h_text();
  for (int i = 0; i < URLS; i++)
    h_text_add(list, "https://127.0.0.1:%d/goaway/%d\n", nginx->https_port, i);
  const char *file = h_temp_file(list->data, list->len);
  const char *args[] = {"-k", "-r", "0", "--http2", "-c", "10", file, NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, URLS);
  long failed = 0, first_failed = -1;
  for (long i = 0; i < URLS; i++)
    if (!h_ok(h_result(results, i)) && failed++ == 0)
      first_failed = i;
  if (failed > 0) {
    const cJSON *error = h_field(h_result(results, first_failed), "error");
    fail_msg("%s: %ld of %d requests failed behind GOAWAYs; the first, %ld: %s (%s)",
             proc->cmdline, failed, URLS, first_failed, h_error_code(h_result(results, first_failed)),
             cJSON_IsObject(error) ? h_string(error, "message") : "no error");
  }
  h_expect_exit(proc, 0);
  /* The GOAWAYs happened: about one connection per 3 requests. */
  long connections = h_nginx_connections(nginx);
  if (connections < URLS / 3)
    fail_msg("nginx accepted %ld connections for %d requests: no GOAWAY every 3 requests?",
             connections, URLS);
}
