/* afetch as a process: usage errors, help, streaming from stdin, a closed stdout, signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

struct usage_case {
  const char *args[4];
  const char *mentions[3]; /* stderr must contain at least one of these */
  bool not_usage;          /* the command line was right (a missing file): no usage text */
};

void usage_errors_exit_2_and_fetch_nothing(void **state) {
  (void)state;
  int port = h_http->http_port;
  /* A real URL in the input: "nothing fetched" shows as no new request on the server. */
  const char *list = h_fmt("http://127.0.0.1:%d/status/200\n", port);
  const char *file = h_temp_file(list, strlen(list));
  const char *missing = "/nonexistent/afetch-missing-urls.txt";
  const struct usage_case cases[] = {
      {{"--bogus", file, NULL}, {"--bogus", NULL}, false},
      {{"-c", "0", file, NULL}, {"-c", "concurrency", NULL}, false},
      {{"-c", "abc", file, NULL}, {"abc", NULL}, false},
      {{"-t", "-1", file, NULL}, {"-1", NULL}, false},
      {{"-t", "soon", file, NULL}, {"soon", NULL}, false},
      {{file, missing, NULL}, {missing, NULL}, true},
      {{file, "-c", NULL}, {"-c", "concurrency", NULL}, false}, /* option without its value */
  };
  /* Every case is checked, and all their failures reported together. */
  struct h_buf *failures = h_text();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    long before = h_stats(port).requests;
    struct h_proc *proc = h_afetch_run(cases[i].args, list);
    if (!proc->exited || proc->exit_code != 2)
      h_text_add(failures, "\n%s: expected exit status 2, got %s", proc->cmdline,
                 proc->exited ? h_fmt("%d", proc->exit_code) : "a signal");
    if (proc->out.len != 0)
      h_text_add(failures, "\n%s: a usage error should leave stdout empty, got: %.300s",
                 proc->cmdline, proc->out.data);
    if ((strstr(proc->err.data, "Usage:") == NULL) != cases[i].not_usage)
      h_text_add(failures, "\n%s: stderr should %s a \"Usage:\" line, got: %s", proc->cmdline,
                 cases[i].not_usage ? "not include (a missing file is no usage error)" : "include",
                 proc->err.data);
    bool named = false;
    for (size_t k = 0; cases[i].mentions[k] != NULL; k++)
      named = named || strstr(proc->err.data, cases[i].mentions[k]) != NULL;
    if (!named)
      h_text_add(failures, "\n%s: stderr should name the problem (\"%s\"), got: %s", proc->cmdline,
                 cases[i].mentions[0], proc->err.data);
    long after = h_stats(port).requests;
    if (after != before)
      h_text_add(failures,
                 "\n%s: a usage error should fetch nothing, but the server got %ld "
                 "request(s)",
                 proc->cmdline, after - before);
  }
  if (failures->len != 0)
    fail_msg("usage errors:%s", failures->data);
}

void help_and_version_exit_0(void **state) {
  (void)state;
  static const char *const help[] = {"--help", "-h"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {help[i], NULL};
    struct h_proc *proc = h_afetch_run(args, NULL);
    h_expect_exit(proc, 0);
    if (strstr(proc->out.data, "Usage:") == NULL)
      fail_msg("%s: should print usage (with \"Usage:\") on stdout, got: %s", proc->cmdline,
               proc->out.data);
    if (proc->err.len != 0)
      fail_msg("%s: stderr should be empty, got: %s", proc->cmdline, proc->err.data);
  }
  static const char *const version[] = {"--version", "-V"};
  for (size_t i = 0; i < 2; i++) {
    const char *args[] = {version[i], NULL};
    struct h_proc *proc = h_afetch_run(args, NULL);
    h_expect_exit(proc, 0);
    if (strpbrk(proc->out.data, "0123456789") == NULL)
      fail_msg("%s: should print a version number on stdout, got: %s", proc->cmdline,
               proc->out.data);
    static const char *const names[] = {
        "afetch ",  "libcurl ", "TLS: ",      "libevent ",   "cJSON ",
        "libxml2 ", "libpsl ",  "libcrypto ", "xxHash ",   "License: MIT"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
      if (strstr(proc->out.data, names[k]) == NULL)
        fail_msg("%s: should name '%s', got: %s", proc->cmdline, names[k], proc->out.data);
  }
}

static void expect_line_result(const char *line, long index, const char *url) {
  cJSON *object = h_parse_json(line);
  if (!cJSON_IsObject(object))
    fail_msg("ndjson line is not an object: %s", line);
  assert_int_equal((long)h_number(object, "index"), index);
  assert_string_equal(h_string(object, "url"), url);
  assert_true(h_ok(object));
}

void stdin_streams_results(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *first = h_url(port, "/status/200");
  const char *second = h_url(port, "/bytes/10");

  /* ndjson: the first result arrives while stdin is still open. */
  const char *ndjson[] = {"--ndjson", "-", NULL};
  struct h_proc *proc = h_afetch_start(ndjson);
  h_write_stdin(proc, h_fmt("%s\n", first));
  char *line = h_read_line(proc, 10000);
  if (line == NULL)
    fail_msg("%s: no result line within 10 s of writing one URL to its open stdin (stdout so "
             "far: %s; stderr: %s)",
             proc->cmdline, proc->out.data, proc->err.data);
  expect_line_result(line, 0, first);
  h_write_stdin(proc, h_fmt("%s\n", second));
  h_close_stdin(proc);
  line = h_read_line(proc, 10000);
  if (line == NULL)
    fail_msg("%s: no second result line (stdout: %s)", proc->cmdline, proc->out.data);
  expect_line_result(line, 1, second);
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 0);
  if (proc->out_consumed != proc->out.len)
    fail_msg("%s: unexpected output after the two results: %s", proc->cmdline,
             proc->out.data + proc->out_consumed);

  /* Gather: element 0 is written as soon as it is done, before the input ends. */
  const char *gather[] = {"-", NULL};
  proc = h_afetch_start(gather);
  h_write_stdin(proc, h_fmt("%s\n", first));
  if (!h_wait_output(proc, "\"index\"", 1, 10000))
    fail_msg("%s: the first array element did not appear within 10 s while stdin was open "
             "(stdout so far: %s)",
             proc->cmdline, proc->out.data);
  h_write_stdin(proc, h_fmt("%s\n", second));
  h_close_stdin(proc);
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 0);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 2);
  assert_string_equal(h_string(h_result(results, 1), "url"), second);
}

void closed_stdout_ends_quietly(void **state) {
  (void)state;
  int port = h_http->http_port;
  /* 100 x 0.3 s at -c 5 would take 6 s: the run must end at the first failed write. */
  struct h_buf *list = h_text();
  for (int i = 0; i < 100; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/300\n", port);
  const char *file = h_temp_file(list->data, list->len);

  for (int ndjson = 0; ndjson < 2; ndjson++) {
    const char *args[] = {"-c", "5", file, ndjson ? "--ndjson" : NULL, NULL};
    struct h_proc *proc = h_afetch_start(args);
    /* Like `afetch ... | head -1`: take the first result, then go away. */
    bool got =
        ndjson ? h_read_line(proc, 10000) != NULL : h_wait_output(proc, "\"index\"", 1, 10000);
    if (!got)
      fail_msg("%s: no first result within 10 s (stdout: %s; stderr: %s)", proc->cmdline,
               proc->out.data, proc->err.data);
    h_close_stdout(proc);
    double closed = h_now();
    h_wait_exit(proc, 15000);
    if (proc->signaled)
      fail_msg("%s: killed by signal %d (%s) after its stdout was closed; expected exit 3",
               proc->cmdline, proc->term_signal, strsignal(proc->term_signal));
    h_expect_exit(proc, 3);
    if (proc->err.len != 0)
      fail_msg("%s: a closed stdout should end the run quietly, but stderr says: %s", proc->cmdline,
               proc->err.data);
    double after = proc->started + proc->seconds - closed;
    if (after >= 3.0)
      fail_msg("%s: exited %.2f s after its stdout was closed; expected at the next result "
               "(about 0.3 s)",
               proc->cmdline, after);
  }
}

/* Fast (F) and slow (S) URLs: F S F F S F S. With -c 3 the three slow ones end up holding
 * every slot, so once the server has seen all 7 requests with exactly 3 in flight, afetch has
 * necessarily finished every fast one (finishing is what freed the slots the later slow ones
 * took). Fast ones after a slow one sit in gather's reorder window until the signal. */
static const bool slow_at[7] = {false, true, false, false, true, false, true};

static struct h_proc *start_and_wait_for_slow(struct h_server *server,
                                              const char *const *extra_args) {
  int port = server->http_port;
  struct h_buf *list = h_text();
  /* The fast ones are versioned files: they carry validators for --if-changed. */
  for (int i = 0; i < 7; i++)
    h_text_add(list, "http://127.0.0.1:%d%s\n", port,
               slow_at[i] ? "/delay/20000" : h_fmt("/file/fast%d", i));
  const char *file = h_temp_file(list->data, list->len);
  h_reset(port);
  const char *args[16] = {"-c", "3", file};
  size_t count = 3;
  for (size_t i = 0; extra_args[i] && count + 1 < sizeof args / sizeof args[0]; i++)
    args[count++] = extra_args[i];
  args[count] = NULL;
  struct h_proc *proc = h_afetch_start(args);
  bool reached;
  struct h_stats stats = h_wait_stats(port, 3, 7, 15000, &reached);
  if (!reached) {
    h_collect(proc);
    fail_msg("%s: the server never had all 7 requests with the 3 slow ones in flight (last "
             "/stats: in_flight %ld, requests %ld, max_in_flight %ld); afetch %s; stderr: %s",
             proc->cmdline, stats.in_flight, stats.requests, stats.max_in_flight,
             proc->out_fd < 0 && proc->err_fd < 0 ? "has exited" : "is running", proc->err.data);
  }
  if (stats.max_in_flight > 3)
    fail_msg("%s: -c 3 but the server saw %ld requests in flight", proc->cmdline,
             stats.max_in_flight);
  return proc;
}

static void expect_cancelled_run(struct h_proc *proc, const cJSON *results, int sig,
                                 double signalled) {
  double after = proc->started + proc->seconds - signalled;
  if (after >= 5.0)
    fail_msg("%s: exited %.2f s after signal %d; expected promptly", proc->cmdline, after, sig);
  h_check_results(results, 7);
  for (long i = 0; i < 7; i++) {
    const cJSON *r = h_result(results, i);
    const char *code = h_error_code(r);
    if (slow_at[i]) {
      if (code == NULL || strcmp(code, "cancelled") != 0 || h_status(r) != -1)
        fail_msg("%s: in-flight index %ld should be error \"cancelled\" with status null, got "
                 "error %s, status %ld",
                 proc->cmdline, i, code ? code : "null", h_status(r));
    } else if (!h_ok(r) || h_status(r) != 200) {
      fail_msg("%s: index %ld finished before the signal and should be ok with status 200, got "
               "error %s, status %ld",
               proc->cmdline, i, code ? code : "null", h_status(r));
    }
  }
}

void sigint_mid_run_leaves_valid_json(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  const char *no_args[] = {NULL};
  struct h_proc *proc = start_and_wait_for_slow(server, no_args);
  /* Element 0 precedes every slow one: it is already written. */
  if (!h_wait_output(proc, "\"index\"", 1, 5000))
    fail_msg("%s: element 0 was done but not written (stdout: %s)", proc->cmdline, proc->out.data);
  h_signal(proc, SIGINT);
  double signalled = h_now();
  h_wait_exit(proc, 15000);
  h_expect_exit(proc, 130);
  cJSON *results = h_gather_output(proc);
  for (int i = 0; i < 7; i++)
    assert_int_equal((long)h_number(cJSON_GetArrayItem(results, i), "index"), i);
  expect_cancelled_run(proc, results, SIGINT, signalled);
}

void sigterm_mid_run_leaves_valid_ndjson(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  const char *ndjson[] = {"--ndjson", NULL};
  struct h_proc *proc = start_and_wait_for_slow(server, ndjson);
  /* The four fast results were flushed as they completed. */
  if (!h_wait_output(proc, "\n", 4, 5000))
    fail_msg("%s: 4 results were done but not all written (stdout: %s)", proc->cmdline,
             proc->out.data);
  h_signal(proc, SIGTERM);
  double signalled = h_now();
  h_wait_exit(proc, 15000);
  h_expect_exit(proc, 143);
  cJSON *results = h_parse_ndjson(proc->out.data);
  expect_cancelled_run(proc, results, SIGTERM, signalled);
}

/* A closed terminal or a dropped ssh session sends SIGHUP: the run ends as on SIGTERM, with
 * valid JSON, the state and the statistics saved, and its own exit status. */
void sighup_mid_run_leaves_valid_json_and_saved_state(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  const char *tmp = h_temp_dir();
  const char *state_file = h_fmt("%s/state.json", tmp);
  const char *stats_file = h_fmt("%s/stats.json", tmp);
  const char *args[] = {"--if-changed", state_file, "--stats-json", stats_file, NULL};
  struct h_proc *proc = start_and_wait_for_slow(server, args);
  if (!h_wait_output(proc, "\"index\"", 1, 5000))
    fail_msg("%s: element 0 was done but not written (stdout: %s)", proc->cmdline, proc->out.data);
  h_signal(proc, SIGHUP);
  double signalled = h_now();
  h_wait_exit(proc, 15000);
  h_expect_exit(proc, 129);
  cJSON *results = h_gather_output(proc);
  expect_cancelled_run(proc, results, SIGHUP, signalled);

  const char *saved = h_read_file(state_file, NULL);
  cJSON *saved_state = saved ? h_parse_json(saved) : NULL;
  for (int i = 0; i < 7; i++) {
    const char *url = h_fmt("http://127.0.0.1:%d/file/fast%d", server->http_port, i);
    bool recorded = saved && strstr(saved, url) != NULL;
    if (!saved_state || recorded == slow_at[i])
      fail_msg("%s: after SIGHUP the state file should record the validators of each finished "
               "URL and none of the cancelled ones (%s: %s); it holds: %s",
               proc->cmdline, url, recorded ? "recorded" : "missing", saved ? saved : "(no file)");
  }
  const char *stats = h_read_file(stats_file, NULL);
  cJSON *stats_json = stats ? h_parse_json(stats) : NULL;
  if (!stats_json || h_number(stats_json, "results") != 7)
    fail_msg("%s: after SIGHUP --stats-json should sum up the 7 results, it holds: %s",
             proc->cmdline, stats ? stats : "(no file)");
}

/* Under nohup (SIGHUP ignored when afetch starts) a hang-up changes nothing: a signal that
 * was ignored at start stays ignored, as the user asked. */
void nohup_run_ignores_sighup(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *args[] = {"--ndjson", NULL};
  struct h_proc *proc = h_afetch_start_nohup(args);
  h_write_stdin(proc, h_fmt("http://127.0.0.1:%d/status/200\n", port));
  if (!h_read_line(proc, 10000))
    fail_msg("%s: no result for the first URL (stderr: %s)", proc->cmdline, proc->err.data);
  h_signal(proc, SIGHUP);
  /* Sent after the signal: a run that took the hang-up would cancel it or never read it. */
  h_write_stdin(proc, h_fmt("http://127.0.0.1:%d/status/201\n", port));
  h_close_stdin(proc);
  h_wait_exit(proc, 15000);
  h_expect_exit(proc, 0);
  cJSON *results = h_parse_ndjson(proc->out.data);
  h_check_results(results, 2);
  if (h_status(h_result(results, 1)) != 201)
    fail_msg("%s: the URL written after SIGHUP should be fetched (status 201): %s", proc->cmdline,
             proc->out.data);
}

/* An argument with a scheme:// is a URL, '-' is standard input, any other argument a FILE;
 * -i and --url name a FILE and a URL explicitly. Results come in that order. */
void url_arguments_mix_with_files_and_stdin(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *list = h_fmt("http://127.0.0.1:%d/status/201\n# comment\n"
                           "http://127.0.0.1:%d/status/202\n",
                           port, port);
  const char *file = h_temp_file(list, strlen(list));
  const char *first = h_url(port, "/status/200");
  const char *middle = h_url(port, "/status/203");
  const char *last = h_fmt("127.0.0.1:%d/status/205", port); /* --url: no scheme needed */
  const char *args[] = {first, file, middle, "-", "--url", last, "-i", file, NULL};
  const char *stdin_text = h_fmt("http://127.0.0.1:%d/status/204\n", port);
  struct h_proc *proc = h_afetch_run(args, stdin_text);
  h_expect_exit(proc, 0);
  if (proc->err.len != 0)
    fail_msg("%s: expected nothing on stderr (stdin is no terminal), got: %s", proc->cmdline,
             proc->err.data);
  cJSON *results = h_gather_output(proc);
  static const long statuses[] = {200, 201, 202, 203, 204, 205, 201, 202};
  enum { N = sizeof statuses / sizeof statuses[0] };
  h_check_results(results, N);
  for (long i = 0; i < N; i++)
    if (h_status(h_result(results, i)) != statuses[i])
      fail_msg("%s: index %ld should have status %ld (inputs in command-line order), got %ld; "
               "stdout: %s",
               proc->cmdline, i, statuses[i], h_status(h_result(results, i)), proc->out.data);
}

/* Without input on the command line and stdin a terminal, afetch says once where it reads
 * from instead of waiting in silence. */
void reading_a_terminal_says_so(void **state) {
  (void)state;
  const char *out = h_fmt("%s/out.json", h_temp_dir());
  const char *no_args[] = {NULL};
  const char *afetch = h_afetch_shell_command(no_args);
  struct h_tmux *tmux = h_tmux_start(h_fmt("%s > %s", afetch, h_shell_quote(out)), 80, 10);
  bool found;
  const char *notice[] = {"reading URLs from standard input", NULL};
  const char *screen = h_tmux_wait(tmux, notice, 10000, &found);
  if (!found)
    fail_msg("%s (stdin a terminal, in tmux): expected a notice that URLs are read from standard "
             "input; the screen was:\n%s",
             afetch, screen);
  if (h_count(screen, "reading URLs") != 1)
    fail_msg("%s (in tmux): the notice should appear once; the screen was:\n%s", afetch, screen);
}

/* -Y/-y (curl's --speed-limit/--speed-time): a transfer slower than B bytes/s for SEC seconds
 * fails as "timeout", long before -t would end it. */
void speed_limit_fails_a_trickling_transfer(void **state) {
  (void)state;
  /* 64 KiB at once, then 64 KiB every 1.5 s: about 43 KB/s, all of it in about 23 s. */
  const char *url = h_url(h_http->http_port, "/slowbytes/1048576?ms=1500");
  const char *args[] = {"--speed-limit", "100000", "--speed-time", "1", url, NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  h_expect_exit(proc, 1);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  const cJSON *r = h_result(results, 0);
  const char *code = h_error_code(r);
  if (code == NULL || strcmp(code, "timeout") != 0 || h_number(r, "size") >= 1048576)
    fail_msg("%s: expected error \"timeout\" before the whole body, got: %s", proc->cmdline,
             proc->out.data);
  if (proc->seconds > 15)
    fail_msg("%s: the speed limit should end the transfer within seconds, it took %.1f s",
             proc->cmdline, proc->seconds);
}
