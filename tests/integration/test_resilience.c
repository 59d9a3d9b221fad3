/* Staying useful when servers misbehave or the run is bounded: retries and their backoff,
 * Retry-After, per-host limits, a request rate, a run-wide deadline, connection reuse.
 *
 * Every test has a private server: they read its /stats and /arrivals, and its /flaky
 * counters must start fresh. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* "Do not check this" for expect_result()'s status and attempts. */
#define ANY LONG_MIN

static bool has_arg(const char *const *args, const char *arg) {
  for (size_t i = 0; args[i] != NULL; i++)
    if (strcmp(args[i], arg) == 0)
      return true;
  return false;
}

/* Runs afetch over `input` (stdin; NULL: none), expects this exit status and n results, and
 * returns them: the gather array, or with --ndjson the lines' objects in output order. The
 * process goes to *proc_out. */
static cJSON *run(const char *const *args, const char *input, size_t n, int exit_code,
                  struct h_proc **proc_out) {
  struct h_proc *proc = h_afetch_run(args, input);
  h_expect_exit(proc, exit_code);
  cJSON *results =
      has_arg(args, "--ndjson") ? h_parse_ndjson(proc->out.data) : h_gather_output(proc);
  h_check_results(results, n);
  *proc_out = proc;
  return results;
}

/* The result of fetching one URL. */
static const cJSON *run_one(const char *const *args, const char *url, int exit_code,
                            struct h_proc **proc_out) {
  return h_result(run(args, h_fmt("%s\n", url), 1, exit_code, proc_out), 0);
}

static const char *describe_status(long status) {
  return status == ANY ? "any" : status == -1 ? "null" : h_fmt("%ld", status);
}

/* Checks one result: ok when error is NULL, else that error.code; status (-1: null) and
 * attempts unless ANY. */
static void expect_result(const struct h_proc *proc, const cJSON *r, const char *error, long status,
                          long attempts) {
  bool ok = h_ok(r);
  const char *code = h_error_code(r);
  long got_status = h_status(r);
  long got_attempts = (long)h_number(r, "attempts");
  bool matches = (error == NULL ? ok : !ok && code != NULL && strcmp(code, error) == 0) &&
                 (status == ANY || got_status == status) &&
                 (attempts == ANY || got_attempts == attempts);
  if (!matches) {
    char *text = cJSON_PrintUnformatted(r);
    char *copy = h_fmt("%.600s", text);
    free(text);
    fail_msg("%s: index %ld: expected %s, status %s, attempts %s; got %s, status %s, attempts "
             "%ld: %s",
             proc->cmdline, (long)h_number(r, "index"),
             error == NULL ? "ok" : h_fmt("error \"%s\"", error), describe_status(status),
             attempts == ANY ? "any" : h_fmt("%ld", attempts),
             code == NULL ? "ok" : h_fmt("error \"%s\"", code), describe_status(got_status),
             got_attempts, copy);
  }
}

/* Checks that the result carries "retry_after" within [min, max] seconds. */
static void expect_retry_after(const struct h_proc *proc, const cJSON *r, double min, double max) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(r, "retry_after");
  if (!cJSON_IsNumber(item) || item->valuedouble < min || item->valuedouble > max) {
    char *text = cJSON_PrintUnformatted(r);
    char *copy = h_fmt("%.600s", text);
    free(text);
    fail_msg("%s: expected \"retry_after\" between %g and %g (the response's Retry-After), "
             "got %s in %s",
             proc->cmdline, min, max,
             item == NULL           ? "no such key"
             : cJSON_IsNumber(item) ? h_fmt("%g", item->valuedouble)
                                    : "a non-number",
             copy);
  }
}

/* Fails unless the server has had exactly `expected` requests since its last /reset. */
static void expect_requests(const struct h_proc *proc, int port, long expected) {
  long got = h_stats(port).requests;
  if (got != expected)
    fail_msg("%s: the server got %ld request(s); expected %ld (one per attempt)", proc->cmdline,
             got, expected);
}

/* The server-clock arrival times of the requests for `path` (NULL: all) since the last
 * /reset, oldest first, into times[0..cap); returns how many there were (fails above cap). */
static size_t arrival_times(int port, const char *path, double *times, size_t cap) {
  const cJSON *arrival;
  size_t n = 0;
  cJSON_ArrayForEach(arrival, h_arrivals(port)) {
    if (path != NULL && strcmp(h_string(arrival, "path"), path) != 0)
      continue;
    if (n == cap)
      fail_msg("the server saw more than %zu requests%s%s", cap, path ? " for " : "",
               path ? path : "");
    times[n++] = h_number(arrival, "t");
  }
  return n;
}

/* The 0-based ndjson line holding the result with this index. */
static int line_of(const cJSON *lines, long index) {
  int line = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, lines) {
    if ((long)h_number(r, "index") == index)
      return line;
    line++;
  }
  fail_msg("no ndjson line has index %ld", index);
  return -1;
}

/* The indexes of the ndjson lines in output order, for failure messages. */
static const char *line_indexes(const cJSON *lines) {
  struct h_buf *text = h_text();
  const cJSON *r;
  cJSON_ArrayForEach(r, lines) {
    h_text_add(text, "%s%ld", text->len ? " " : "", (long)h_number(r, "index"));
  }
  return text->data;
}

void retries_recover_transient_failures(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;
  const cJSON *r;

  /* Two 503s, then 200: the third attempt succeeds. */
  h_reset(port);
  const char *three[] = {"-r", "3", "--retry-delay", "0.01", NULL};
  r = run_one(three, h_url(port, "/flaky/a/2"), 0, &proc);
  expect_result(proc, r, NULL, 200, 3);
  expect_requests(proc, port, 3);

  /* Five 503s: -r 2 gives up after three attempts and reports the last response. */
  h_reset(port);
  const char *two[] = {"-r", "2", "--retry-delay", "0.01", NULL};
  r = run_one(two, h_url(port, "/flaky/b/5"), 1, &proc);
  expect_result(proc, r, "http", 503, 3);
  expect_requests(proc, port, 3);

  /* A 404 is final: never retried. */
  h_reset(port);
  const char *three_default_delay[] = {"-r", "3", NULL};
  r = run_one(three_default_delay, h_url(port, "/status/404"), 1, &proc);
  expect_result(proc, r, "http", 404, 1);
  expect_requests(proc, port, 1);

  /* A refused connection is retried. */
  r = run_one(two, h_url(h_unused_port(), "/"), 1, &proc);
  expect_result(proc, r, "connect", -1, 3);

  /* An invalid URL is never attempted at all. */
  r = run_one(three, "http://exa mple.com/", 1, &proc);
  expect_result(proc, r, "invalid_url", -1, 0);

  /* -r 0: one attempt only. */
  h_reset(port);
  const char *none[] = {"-r", "0", NULL};
  r = run_one(none, h_url(port, "/flaky/c/1"), 1, &proc);
  expect_result(proc, r, "http", 503, 1);
  expect_requests(proc, port, 1);
}

/* Fetches `path` (a /flaky URL failing once, with a Retry-After) with `args`, and returns the
 * server-clock gap between its two requests. */
static double retried_gap(const char *const *args, const char *path, struct h_proc **proc_out,
                          const cJSON **result) {
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  *result = run_one(args, h_url(port, path), 0, proc_out);
  expect_result(*proc_out, *result, NULL, 200, 2);
  double t[2];
  size_t n = arrival_times(port, path, t, 2);
  if (n != 2)
    fail_msg("%s: the server got %zu request(s) for %s; expected 2", (*proc_out)->cmdline, n, path);
  return t[1] - t[0];
}

void retry_after_seconds_is_honoured(void **state) {
  (void)state;
  struct h_proc *proc;
  const cJSON *r;
  /* --retry-delay 0.01: without Retry-After the retry would come within 0.01 s. */
  const char *args[] = {"-r", "1", "--retry-delay", "0.01", NULL};
  double gap = retried_gap(args, "/flaky/d/1?status=429&retry_after=1", &proc, &r);
  expect_retry_after(proc, r, 1, 1);
  if (gap < 0.9)
    fail_msg("%s: the retry reached the server %.3f s after the 429 with \"Retry-After: 1\"; "
             "expected >= 0.9 s",
             proc->cmdline, gap);
}

void retry_after_date_is_honoured(void **state) {
  (void)state;
  struct h_proc *proc;
  const cJSON *r;
  const char *args[] = {"-r", "1", "--retry-delay", "0.01", NULL};
  double gap = retried_gap(args, "/flaky/e/1?status=503&retry_after_date=2", &proc, &r);
  /* An HTTP date has a resolution of 1 s: "now + 2 s" is 1 to 2 s away when it is read. */
  expect_retry_after(proc, r, 0.5, 2.5);
  if (gap < 0.5)
    fail_msg("%s: the retry reached the server %.3f s after the 503 with a Retry-After date 2 s "
             "ahead; expected >= 0.5 s",
             proc->cmdline, gap);
}

void long_retry_after_ends_retries(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;
  h_reset(port);
  const char *args[] = {"-r", "3", "--retry-max-delay", "1", NULL};
  const cJSON *r = run_one(args, h_url(port, "/flaky/f/1?status=503&retry_after=100"), 1, &proc);
  expect_result(proc, r, "http", 503, 1);
  expect_retry_after(proc, r, 100, 100);
  expect_requests(proc, port, 1);
  if (proc->seconds >= 10.0)
    fail_msg("%s: took %.2f s; a Retry-After of 100 s over --retry-max-delay 1 should end the "
             "retries at once",
             proc->cmdline, proc->seconds);
}

void waiting_retry_holds_no_slot(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;
  struct h_buf *input = h_text();
  h_text_add(input, "http://127.0.0.1:%d/flaky/g/1?retry_after=1\n", port);
  for (int i = 0; i < 3; i++)
    h_text_add(input, "http://127.0.0.1:%d/delay/10\n", port);
  const char *args[] = {"-c", "1", "-r", "1", "--ndjson", NULL};
  cJSON *lines = run(args, input->data, 4, 0, &proc);
  /* At -c 1 the /delay URLs can only run during the flaky one's 1 s wait if it gave its slot
   * up: then they finish first. */
  if (line_of(lines, 0) != 3)
    fail_msg("%s: ndjson index order is %s; expected the 3 /delay results (1 2 3) before the "
             "retried one (0), which waits 1 s without a slot",
             proc->cmdline, line_indexes(lines));
  expect_result(proc, h_result(lines, 0), NULL, 200, 2);
}

void per_host_limit_has_no_head_of_line_blocking(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;

  /* 40 URLs for 127.0.0.1, then 10 for localhost (the same server under another host name).
   * Without per-host scheduling the localhost ones would wait behind all 40 and come last. */
  struct h_buf *input = h_text();
  for (int i = 0; i < 40; i++)
    h_text_add(input, "http://127.0.0.1:%d/delay/100\n", port);
  for (int i = 0; i < 10; i++)
    h_text_add(input, "http://localhost:%d/delay/100\n", port);
  h_reset(port);
  const char *mixed[] = {"-c", "10", "--per-host", "2", "--ndjson", NULL};
  cJSON *lines = run(mixed, input->data, 50, 0, &proc);
  for (long i = 0; i < 50; i++)
    expect_result(proc, h_result(lines, i), NULL, 200, ANY);
  for (long index = 40; index < 50; index++)
    if (line_of(lines, index) >= 30)
      fail_msg("%s: localhost index %ld is ndjson line %d; expected every localhost result "
               "among the first 30 lines (index order: %s)",
               proc->cmdline, index, line_of(lines, index) + 1, line_indexes(lines));
  struct h_stats stats = h_stats(port);
  if (stats.max_in_flight > 4 || stats.max_in_flight < 3)
    fail_msg("%s: the server saw up to %ld requests at once; expected 3 or 4 (2 per host, 2 "
             "hosts)",
             proc->cmdline, stats.max_in_flight);

  /* One host only: --per-host, not -c, is the bound. */
  input = h_text();
  for (int i = 0; i < 40; i++)
    h_text_add(input, "http://127.0.0.1:%d/delay/100\n", port);
  h_reset(port);
  const char *one_host[] = {"-c", "10", "--per-host", "2", NULL};
  run(one_host, input->data, 40, 0, &proc);
  stats = h_stats(port);
  if (stats.max_in_flight != 2 || stats.requests != 40)
    fail_msg("%s: the server saw max_in_flight %ld (expected exactly 2) over %ld requests "
             "(expected 40)",
             proc->cmdline, stats.max_in_flight, stats.requests);
}

/* Fails unless the n arrivals in t span at least min_span seconds. */
static void expect_span(const struct h_proc *proc, const double *t, size_t n, double min_span) {
  double span = t[n - 1] - t[0];
  if (span < min_span)
    fail_msg("%s: the %zu requests reached the server within %.3f s; expected the rate to "
             "spread them over >= %.3f s",
             proc->cmdline, n, span, min_span);
}

void rate_limit_spaces_request_starts(void **state) {
  (void)state;
  enum { N = 30 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/status/200\n", port);

  h_reset(port);
  const char *per_second[] = {"-c", "10", "--rate", "20/s", NULL};
  run(per_second, input->data, N, 0, &proc);
  double t[N];
  size_t n = arrival_times(port, NULL, t, N);
  if (n != N)
    fail_msg("%s: the server got %zu requests; expected %d", proc->cmdline, n, N);
  expect_span(proc, t, n, (N - 1) / 20.0 * 0.9);
  /* 20/s: 10 starts per 0.5 s, plus the bucket's 1 token, plus 1 for the window's edges,
   * plus 1 for a server stall that bunches two arrivals' stamps. */
  for (size_t i = 0; i < n; i++) {
    size_t in_window = 0;
    for (size_t j = i; j < n && t[j] < t[i] + 0.5; j++)
      in_window++;
    if (in_window > 13)
      fail_msg("%s: %zu requests reached the server within 0.5 s of request %zu; at 20/s "
               "expected at most 13",
               proc->cmdline, in_window, i + 1);
  }

  /* Per minute: 120/m is one start every 0.5 s. */
  input = h_text();
  for (int i = 0; i < 5; i++)
    h_text_add(input, "http://127.0.0.1:%d/status/200\n", port);
  h_reset(port);
  const char *per_minute[] = {"-c", "10", "--rate", "120/m", NULL};
  run(per_minute, input->data, 5, 0, &proc);
  n = arrival_times(port, NULL, t, N);
  if (n != 5)
    fail_msg("%s: the server got %zu requests; expected 5", proc->cmdline, n);
  expect_span(proc, t, n, 4 / 2.0 * 0.9);
}

void deadline_stops_unfinished_urls(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  /* 0, 1 finish at once; 2, 3 take both slots past the deadline; 4..8 never start. */
  struct h_buf *list = h_text();
  for (int i = 0; i < 2; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/10\n", port);
  for (int i = 0; i < 2; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/5000\n", port);
  for (int i = 0; i < 5; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/10\n", port);
  const char *file = h_temp_file(list->data, list->len);
  /* 2 s: room for start-up under sanitizers before the first two finish; the 5 s requests
   * still outlast it. */
  const char *args[] = {"-c", "2", "--deadline", "2", file, NULL};
  struct h_proc *proc;
  cJSON *results = run(args, NULL, 9, 1, &proc);
  for (long i = 0; i < 2; i++)
    expect_result(proc, h_result(results, i), NULL, 200, 1);
  for (long i = 2; i < 4; i++)
    expect_result(proc, h_result(results, i), "deadline", ANY, 1);
  for (long i = 4; i < 9; i++)
    expect_result(proc, h_result(results, i), "deadline", ANY, 0);
  if (proc->seconds >= 4.5)
    fail_msg("%s: took %.2f s; --deadline 2 should end the run at about 2 s", proc->cmdline,
             proc->seconds);
}

void deadline_ends_an_open_stdin_stream(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *args[] = {"--ndjson", "--deadline", "2", "-", NULL};
  struct h_proc *proc = h_afetch_start(args);
  h_write_stdin(proc, h_fmt("http://127.0.0.1:%d/delay/10\n"
                            "http://127.0.0.1:%d/delay/10\n"
                            "http://127.0.0.1:%d/delay/5000\n",
                            port, port, port));
  /* stdin stays open: the deadline alone must end the run. */
  h_wait_exit(proc, 6000);
  h_expect_exit(proc, 1);
  cJSON *lines = h_parse_ndjson(proc->out.data);
  h_check_results(lines, 3);
  expect_result(proc, h_result(lines, 0), NULL, 200, 1);
  expect_result(proc, h_result(lines, 1), NULL, 200, 1);
  expect_result(proc, h_result(lines, 2), "deadline", ANY, 1);
}

void deadline_reaches_urls_waiting_to_retry(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;
  h_reset(port);
  /* The Retry-After of 5 s is honoured (<= 10): the URL waits past the deadline. */
  const char *args[] = {"-r", "1", "--retry-max-delay", "10", "--deadline", "2", NULL};
  const cJSON *r = run_one(args, h_url(port, "/flaky/h/1?retry_after=5"), 1, &proc);
  expect_result(proc, r, "deadline", ANY, 1);
  expect_requests(proc, port, 1);
  if (proc->seconds >= 4.5)
    fail_msg("%s: took %.2f s; the deadline at 2 s should end the 5 s wait for the retry",
             proc->cmdline, proc->seconds);
}

void sigterm_reports_waiting_retry_as_cancelled(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  const char *args[] = {"-r", "1", "--retry-max-delay", "10", NULL};
  struct h_proc *proc = h_afetch_start(args);
  h_write_stdin(proc, h_fmt("http://127.0.0.1:%d/flaky/i/1?retry_after=5\n", port));
  h_close_stdin(proc);
  /* The 503 is fully sent: afetch is waiting 5 s for the retry, or about to (nothing it
   * prints tells the two apart). Either way the URL must end "cancelled" after 1 attempt. */
  bool reached;
  struct h_stats stats = h_wait_stats(port, 0, 1, 10000, &reached);
  if (!reached) {
    h_collect(proc);
    fail_msg("%s: the server never had its 1 request answered (last /stats: in_flight %ld, "
             "requests %ld); stderr: %s",
             proc->cmdline, stats.in_flight, stats.requests, proc->err.data);
  }
  h_signal(proc, SIGTERM);
  double signalled = h_now();
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 143);
  double after = proc->started + proc->seconds - signalled;
  if (after >= 3.0)
    fail_msg("%s: exited %.2f s after SIGTERM; expected promptly, not after the retry's wait",
             proc->cmdline, after);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  expect_result(proc, h_result(results, 0), "cancelled", ANY, 1);
  expect_requests(proc, port, 1);
}

void connections_are_reused(void **state) {
  (void)state;
  enum { N = 1000 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/status/200\n", port);
  h_reset(port);
  const char *args[] = {"-c", "10", NULL};
  struct h_proc *proc;
  cJSON *results = run(args, input->data, N, 0, &proc);
  for (long i = 0; i < N; i++)
    expect_result(proc, h_result(results, i), NULL, 200, 1);
  struct h_stats stats = h_stats(port);
  if (stats.requests != N || stats.connections > 20)
    fail_msg("%s: the server got %ld requests (expected %d) over %ld connections (expected at "
             "most 20 at -c 10: connections should be reused)",
             proc->cmdline, stats.requests, N, stats.connections);
}

/* --rate at a slow rate (1/h, 1/d): the run ends with its last result, not at the next token
 * (which the last request never needs); a signal still ends a run that waits for a token. */
void rate_run_ends_with_its_last_result(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *rates[] = {"1/h", "1/d"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {"--ndjson", "--rate", rates[i], h_url(port, "/status/200"), NULL};
    struct h_proc *proc = h_afetch_run(args, NULL);
    h_expect_exit(proc, 0);
    cJSON *results = h_parse_ndjson(proc->out.data);
    if (cJSON_GetArraySize(results) != 1 || h_number(h_result(results, 0), "status") != 200)
      fail_msg("%s: expected one 200 result, got %s", proc->cmdline, proc->out.data);
  }
  /* The second URL waits an hour for its token: SIGTERM ends the run, the first result and a
   * "cancelled" one for the second are written. */
  const char *waiting[] = {
      "--ndjson", "--rate", "1/h", h_url(port, "/status/200"), h_url(port, "/status/201"), NULL};
  struct h_proc *proc = h_afetch_start(waiting);
  if (!h_wait_output(proc, "\n", 1, H_SAFETY_MS))
    fail_msg("%s: expected the first result at once", proc->cmdline);
  h_signal(proc, SIGTERM);
  h_wait_exit(proc, H_SAFETY_MS);
  h_expect_exit(proc, 143);
  cJSON *results = h_parse_ndjson(proc->out.data);
  const cJSON *second = h_result(results, 1);
  const cJSON *error = second ? h_field(second, "error") : NULL;
  const char *code = error ? h_string(error, "code") : NULL;
  if (cJSON_GetArraySize(results) != 2 || code == NULL || strcmp(code, "cancelled") != 0)
    fail_msg("%s: expected the first result and a cancelled second, got %s", proc->cmdline,
             proc->out.data);
}

/* --retry-all-errors: a 404 is retried like a 503 (curl's option); without it, never. An
 * invalid URL is not retried either way. */
void retry_all_errors_retries_any_status(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_proc *proc;
  h_reset(port);
  const char *all[] = {"-r", "2", "--retry-delay", "0.01", "--retry-all-errors", NULL};
  const cJSON *r = run_one(all, h_url(port, "/status/404"), 1, &proc);
  expect_result(proc, r, "http", 404, 3);
  expect_requests(proc, port, 3);
  h_reset(port);
  const char *transient_only[] = {"-r", "2", "--retry-delay", "0.01", NULL};
  r = run_one(transient_only, h_url(port, "/status/404"), 1, &proc);
  expect_result(proc, r, "http", 404, 1);
  expect_requests(proc, port, 1);
  r = run_one(all, "http://exa mple.invalid/", 1, &proc);
  expect_result(proc, r, "invalid_url", ANY, 0);
}
