/* Adaptive politeness against test-server endpoints that model servers: a host-wide pause on
 * 503 + Retry-After, --adaptive against a server with 4 workers and one that answers 429
 * beyond 3 in flight, --per-host-rate and --per-host-delay measured at the server per host.
 *
 * 127.0.0.1 and localhost name the same server as two hosts (the Host header in /arrivals
 * tells them apart). Every test has a private server: its /arrivals and models are its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* Runs afetch --ndjson over `input`, expects exit 0 and n ok results; returns them. */
static cJSON *run_ok(const char *const *args, const char *input, size_t n,
                     struct h_proc **proc_out) {
  struct h_proc *proc = h_afetch_run(args, input);
  h_expect_exit(proc, 0);
  cJSON *results = h_parse_ndjson(proc->out.data);
  h_check_results(results, n);
  *proc_out = proc;
  return results;
}

/* The arrival times of the requests whose Host header starts with `host`, oldest first. */
static size_t host_arrivals(int port, const char *host, double *times, size_t cap) {
  size_t n = 0;
  const cJSON *arrival;
  cJSON_ArrayForEach(arrival, h_arrivals(port)) {
    if (strncmp(h_string(arrival, "host"), host, strlen(host)) != 0)
      continue;
    if (n == cap)
      fail_msg("the server saw more than %zu requests for %s", cap, host);
    times[n++] = h_number(arrival, "t");
  }
  return n;
}

/* GET /model/KEY: one of the model server's counters. */
static long model_counter(int port, const char *key, const char *counter) {
  cJSON *model = h_parse_json(h_http_get(port, h_fmt("/model/%s", key)));
  return (long)h_number(model, counter);
}

void host_pause_holds_every_url_of_its_host_only(void **state) {
  (void)state;
  enum { SAME = 5, OTHER = 12 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_buf *input = h_text();
  h_text_add(input, "http://127.0.0.1:%d/flaky/pause/1?status=503&retry_after=2\n", port);
  for (int i = 0; i < SAME; i++)
    h_text_add(input, "http://127.0.0.1:%d/delay/10?i=%d\n", port, i);
  for (int i = 0; i < OTHER; i++)
    h_text_add(input, "http://localhost:%d/delay/200?i=%d\n", port, i);
  const char *stats_path = h_fmt("%s/stats.json", h_temp_dir());
  const char *args[] = {"--per-host", "1", "-r", "1", "--ndjson", "--stats-json", stats_path,
                        NULL};
  h_reset(port);
  struct h_proc *proc;
  cJSON *results = run_ok(args, input->data, 1 + SAME + OTHER, &proc);

  double paused[SAME + 2], other[OTHER];
  size_t n = host_arrivals(port, "127.0.0.1:", paused, SAME + 2);
  if (n != SAME + 2)
    fail_msg("%s: 127.0.0.1 got %zu requests; expected %d", proc->cmdline, n, SAME + 2);
  if (paused[1] - paused[0] < 1.95)
    fail_msg("%s: 127.0.0.1's next request came %.3f s after its 503 with Retry-After: 2; "
             "expected none for 2 s",
             proc->cmdline, paused[1] - paused[0]);
  size_t m = host_arrivals(port, "localhost:", other, OTHER), during = 0;
  for (size_t i = 0; i < m; i++)
    during += other[i] > paused[0] && other[i] < paused[0] + 1.9;
  if (during < 5)
    fail_msg("%s: localhost got %zu requests while 127.0.0.1 was paused; expected it to go on "
             "(>= 5 at one per 0.2 s)",
             proc->cmdline, during);
  for (long index = 1; index <= SAME; index++) {
    const cJSON *waited = cJSON_GetObjectItemCaseSensitive(h_result(results, index),
                                                           "host_paused_ms");
    if (!cJSON_IsNumber(waited) || waited->valuedouble < 1500 || waited->valuedouble > 2100)
      fail_msg("%s: result %ld's host_paused_ms is %s; expected about 2000", proc->cmdline,
               index, cJSON_IsNumber(waited) ? h_fmt("%.0f", waited->valuedouble) : "missing");
  }
  if (cJSON_GetObjectItemCaseSensitive(h_result(results, 1 + SAME), "host_paused_ms"))
    fail_msg("%s: a localhost result has host_paused_ms; its host was never paused",
             proc->cmdline);
  cJSON *stats = h_parse_json(h_read_file(stats_path, NULL));
  const cJSON *pauses = h_field(stats, "host_pauses");
  const cJSON *first = cJSON_GetArrayItem(h_field(pauses, "hosts"), 0);
  if (h_number(pauses, "pauses") != 1 || h_number(pauses, "seconds") != 2 || !first ||
      strcmp(h_string(first, "host"), h_fmt("http://127.0.0.1:%d", port)) != 0)
    fail_msg("%s: --stats-json host_pauses is %s; expected one pause of 2 s of 127.0.0.1",
             proc->cmdline, cJSON_PrintUnformatted(pauses));
}

void adaptive_settles_below_a_429_limit(void **state) {
  (void)state;
  enum { N = 60 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/limit/three/3?ms=20&i=%d\n", port, i);
  struct h_proc *proc;
  const char *plain[] = {"-c", "8", "-r", "8", "--retry-delay", "0.05", "--ndjson", NULL};
  h_reset(port);
  run_ok(plain, input->data, N, &proc);
  long plain_429s = model_counter(port, "three", "rejected");
  if (plain_429s < 20)
    fail_msg("%s: the server sent %ld 429s; expected many (>= 20) without --adaptive",
             proc->cmdline, plain_429s);
  const char *adaptive[] = {"-c", "8", "-r", "8", "--retry-delay", "0.05", "--adaptive",
                            "--ndjson", NULL};
  h_reset(port);
  run_ok(adaptive, input->data, N, &proc);
  long adaptive_429s = model_counter(port, "three", "rejected");
  if (adaptive_429s > 6)
    fail_msg("%s: the server sent %ld 429s (%ld without --adaptive); expected few (<= 6)",
             proc->cmdline, adaptive_429s, plain_429s);
}

/* The mean time.total of the results. */
static double mean_total(const cJSON *results) {
  double sum = 0;
  int n = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    sum += h_number(h_field(r, "time"), "total");
    n++;
  }
  return sum / n;
}

void adaptive_follows_a_server_with_four_workers(void **state) {
  (void)state;
  enum { N = 150 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/workers/four/4?ms=20&i=%d\n", port, i);
  struct h_proc *proc;
  const char *fixed_4[] = {"-c", "32", "--per-host", "4", "--ndjson", NULL};
  const char *fixed_16[] = {"-c", "32", "--per-host", "16", "--ndjson", NULL};
  const char *adaptive[] = {"-c", "32", "--per-host", "16", "--adaptive", "--ndjson", NULL};
  h_reset(port);
  double best = mean_total(run_ok(fixed_4, input->data, N, &proc));
  h_reset(port);
  double high = mean_total(run_ok(fixed_16, input->data, N, &proc));
  if (high < 2.5 * best)
    fail_msg("%s: mean latency %.3f s, with --per-host 4 %.3f s; expected the model server's "
             "queue to make it explode (>= 2.5x)",
             proc->cmdline, high, best);
  h_reset(port);
  double followed = mean_total(run_ok(adaptive, input->data, N, &proc));
  long most = model_counter(port, "four", "max_in_flight");
  if (followed > 2 * best || most > 10)
    fail_msg("%s: mean latency %.3f s (--per-host 4: %.3f s, 16: %.3f s), at most %ld in flight "
             "at the server; expected near its 4 workers (<= 2x the latency, <= 10 in flight)",
             proc->cmdline, followed, best, high, most);
}

/* Fails unless each host's consecutive arrivals are at least min_gap apart and no window of
 * 0.5 s holds more than most of them. */
/* afetch spaces the starts; the server sees arrivals, which a new connection or a loaded
 * machine delays by a few milliseconds more for one request than for the next. A gap may look
 * that much shorter, but the delays do not add up: the whole span is checked too. */
#define ARRIVAL_JITTER_S 0.03

static void expect_spacing(const struct h_proc *proc, const char *host, const double *t, size_t n,
                           double min_gap, double min_span, size_t most) {
  for (size_t i = 0; i + 1 < n; i++)
    if (t[i + 1] - t[i] < min_gap - ARRIVAL_JITTER_S)
      fail_msg("%s: %s got requests %zu and %zu %.3f s apart; expected >= %.3f s",
               proc->cmdline, host, i + 1, i + 2, t[i + 1] - t[i], min_gap);
  if (n > 1 && t[n - 1] - t[0] < min_span - ARRIVAL_JITTER_S)
    fail_msg("%s: %s got %zu requests in %.3f s; expected them spread over >= %.3f s",
             proc->cmdline, host, n, t[n - 1] - t[0], min_span);
  for (size_t i = 0; i < n; i++) {
    size_t in_window = 0;
    for (size_t j = i; j < n && t[j] < t[i] + 0.5; j++)
      in_window++;
    if (in_window > most)
      fail_msg("%s: %s got %zu requests within 0.5 s; expected at most %zu", proc->cmdline,
               host, in_window, most);
  }
}

void per_host_rate_and_delay_space_each_host(void **state) {
  (void)state;
  enum { N = 8 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++) {
    h_text_add(input, "http://127.0.0.1:%d/any/%d\n", port, i);
    h_text_add(input, "http://localhost:%d/any/%d\n", port, i);
  }
  const char *hosts[] = {"127.0.0.1:", "localhost:"};
  const char *rate[] = {"-c", "8", "--per-host-rate", "10/s", "--ndjson", NULL};
  const char *delay[] = {"-c", "8", "--per-host-delay", "0.1", "--ndjson", NULL};
  const char *const *runs[] = {rate, delay};
  for (size_t run = 0; run < 2; run++) {
    struct h_proc *proc;
    h_reset(port);
    run_ok(runs[run], input->data, 2 * N, &proc);
    double t[2][N];
    for (size_t h = 0; h < 2; h++) {
      size_t n = host_arrivals(port, hosts[h], t[h], N);
      if (n != N)
        fail_msg("%s: %s got %zu requests; expected %d", proc->cmdline, hosts[h], n, N);
      /* Within 0.5 s: 5 gaps of 0.1 s (6 starts at the window's edges); the rate's bucket
       * holds 1.5 tokens, so a late start may be followed by a quicker one (one more). */
      /* Spans: --per-host-delay 0.1, 7 gaps; the rate's 1.5 tokens let the second start
       * after 0.05 s, then one each 0.1 s. */
      expect_spacing(proc, hosts[h], t[h], n, run == 0 ? 0.045 : 0.095,
                     run == 0 ? 0.05 + (N - 2) * 0.1 : (N - 1) * 0.1, run == 0 ? 7 : 6);
    }
    /* Per host: the two hosts run side by side, not one after the other. */
    double start = t[0][0] < t[1][0] ? t[0][0] : t[1][0];
    double end = t[0][N - 1] > t[1][N - 1] ? t[0][N - 1] : t[1][N - 1];
    if (end - start > (N - 1) * 0.1 * 1.5)
      fail_msg("%s: the 2 x %d requests took %.3f s; expected the hosts side by side (~%.1f s)",
               proc->cmdline, N, end - start, (N - 1) * 0.1);
  }
}

void connect_failures_in_a_row_pause_their_host(void **state) {
  (void)state;
  enum { N = 5 };
  int dead = h_unused_port();
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/%d\n", dead, i);
  const char *stats_path = h_fmt("%s/stats.json", h_temp_dir());
  const char *args[] = {"--per-host", "1", "--ndjson", "--stats-json", stats_path, NULL};
  struct h_proc *proc = h_afetch_run(args, input->data);
  h_expect_exit(proc, 1);
  cJSON *results = h_parse_ndjson(proc->out.data);
  h_check_results(results, N);
  /* Three refused connections, then the host waits out a pause of 1 s. */
  for (long index = 0; index < N; index++) {
    const cJSON *r = h_result(results, index);
    const cJSON *waited = cJSON_GetObjectItemCaseSensitive(r, "host_paused_ms");
    double ms = cJSON_IsNumber(waited) ? waited->valuedouble : 0;
    if (strcmp(h_error_code(r), "connect") != 0 || (index < 3 && ms > 0) ||
        (index >= 3 && (ms < 900 || ms > 1100)))
      fail_msg("%s: result %ld is %s with host_paused_ms %.0f; expected a connect error, "
               "and for the 4th on a pause of about 1000 ms",
               proc->cmdline, index, h_error_code(r), ms);
  }
  if (proc->seconds < 0.9)
    fail_msg("%s: the run took %.3f s; expected the host's pause of 1 s", proc->cmdline,
             proc->seconds);
  cJSON *stats = h_parse_json(h_read_file(stats_path, NULL));
  if (h_number(h_field(stats, "host_pauses"), "pauses") < 1)
    fail_msg("%s: --stats-json counts no host pause", proc->cmdline);
}

/* The 127.0.0.1 arrivals of a run of `args` over a 503 for 127.0.0.1 (with `advice`) followed
 * by SAME of its URLs, interleaved with OTHER slow localhost URLs. */
static size_t plain_retry_run(struct h_server *server, const char *advice, const char *const *args,
                              double *times, size_t cap, size_t *other_during_first_2s) {
  enum { SAME = 4, OTHER = 8 };
  int port = server->http_port;
  struct h_buf *input = h_text();
  h_text_add(input, "http://127.0.0.1:%d/flaky/plain/1?status=503%s\n", port, advice);
  for (int i = 0; i < OTHER; i++) {
    h_text_add(input, "http://localhost:%d/delay/200?i=%d\n", port, i);
    if (i < SAME)
      h_text_add(input, "http://127.0.0.1:%d/delay/10?i=%d\n", port, i);
  }
  h_reset(port);
  struct h_proc *proc;
  run_ok(args, input->data, 1 + SAME + OTHER, &proc);
  size_t n = host_arrivals(port, "127.0.0.1:", times, cap);
  double other[OTHER];
  size_t m = host_arrivals(port, "localhost:", other, OTHER);
  *other_during_first_2s = 0;
  for (size_t i = 0; i < m; i++)
    *other_during_first_2s += other[i] > times[0] && other[i] < times[0] + 1.9;
  return n;
}

void retry_after_pauses_its_host_with_plain_retries(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  const char *const args[] = {"-r", "1", "--retry-delay", "0.05", "-c", "2", "--ndjson", NULL};
  double times[8];
  size_t during;
  size_t n = plain_retry_run(server, "&retry_after=2", args, times, 8, &during);
  if (n != 6)
    fail_msg("127.0.0.1 got %zu requests; expected 6 (a 503, its retry, 4 others)", n);
  if (times[1] - times[0] < 1.95)
    fail_msg("with -r, 127.0.0.1's next request came %.3f s after a 503 with Retry-After: 2; "
             "expected none of its URLs for 2 s",
             times[1] - times[0]);
  if (during < 3)
    fail_msg("localhost got %zu requests while 127.0.0.1 was paused; expected it to go on",
             during);
  /* Without Retry-After a plain -r keeps its own --retry-delay: no host pause. */
  n = plain_retry_run(server, "", args, times, 8, &during);
  if (n != 6 || times[1] - times[0] > 0.9)
    fail_msg("a 503 without Retry-After and -r: 127.0.0.1's next request came %.3f s later "
             "(%zu requests); expected no host pause",
             times[1] - times[0], n);
}
