/* What an operator sees and feeds: the progress line on a terminal, --stats and --stats-json,
 * and JSON-lines input that sets options per request (method, headers, body, timeout, output
 * name, an id echoed back), where a bad line is a result, never an abort.
 *
 * The terminal test runs afetch inside tmux (a test dependency), so that its stderr is a real
 * TTY while the test reads the screen. */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"
#include "tests.h"

/* The result as compact JSON, cut to 600 bytes, for failure messages. */
static const char *result_text(const cJSON *r) {
  char *text = cJSON_PrintUnformatted(r);
  const char *copy = h_fmt("%.600s", text != NULL ? text : "(unprintable)");
  free(text);
  return copy;
}

static long index_of(const cJSON *r) { return (long)h_number(r, "index"); }

/* Text with control characters shown as \r, \n, \e, \xNN, cut to its last `max` bytes. */
static const char *visible(const char *text, size_t max) {
  size_t n = strlen(text);
  if (n > max)
    text += n - max;
  struct h_buf *out = h_text();
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (*p == '\r')
      h_text_add(out, "\\r");
    else if (*p == '\n')
      h_text_add(out, "\\n\n");
    else if (*p == 0x1b)
      h_text_add(out, "\\e");
    else if (*p < 0x20 || *p == 0x7f)
      h_text_add(out, "\\x%02x", *p);
    else
      h_text_add_bytes(out, (const char *)p, 1);
  }
  return out->data;
}

/* Runs afetch over `input` (stdin; NULL: none), expects this exit status and n gather results,
 * and returns them. The process goes to *proc_out. */
static cJSON *run(const char *const *args, const char *input, size_t n, int exit_code,
                  struct h_proc **proc_out) {
  struct h_proc *proc = h_afetch_run(args, input);
  h_expect_exit(proc, exit_code);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, n);
  *proc_out = proc;
  return results;
}

/* Checks one result: ok when error is NULL, else that error.code. */
static void expect_result(const struct h_proc *proc, const cJSON *r, const char *error) {
  bool ok = h_ok(r);
  const char *code = h_error_code(r);
  if (error == NULL ? ok : !ok && strcmp(code, error) == 0)
    return;
  fail_msg("%s: index %ld: expected %s, got %s: %s", proc->cmdline, index_of(r),
           error == NULL ? "ok" : h_fmt("error \"%s\"", error),
           code == NULL ? "ok" : h_fmt("error \"%s\"", code), result_text(r));
}

/* ---- the progress line ---- */

void progress_line_shows_in_a_terminal_and_is_cleared(void **state) {
  (void)state;
  enum { N = 30 };
  int port = h_http->http_port;
  struct h_buf *list = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/200\n", port);
  const char *file = h_temp_file(list->data, list->len);
  const char *out = h_fmt("%s/out.json", h_temp_dir());
  /* 10 rounds of 200 ms at -c 3: about 2 s of progress. stdout goes to a file, stderr stays
   * the pane's terminal. The sleep keeps the pane (and its last screen) until teardown. */
  const char *args[] = {"-c", "3", file, NULL};
  const char *afetch = h_afetch_shell_command(args);
  const char *command = h_fmt("%s > %s; echo EXIT=$?; exec sleep 60", afetch, h_shell_quote(out));
  struct h_tmux *tmux = h_tmux_start(command, 200, 20);

  bool found;
  const char *progress[] = {"in flight", h_fmt("/%d done", N), NULL};
  const char *screen = h_tmux_wait(tmux, progress, 10000, &found);
  if (!found)
    fail_msg("%s (stderr a terminal, in tmux): expected the progress line (\"in flight\" and "
             "\"N/%d done\") on the terminal while the %d URLs run; the screen was:\n%s",
             afetch, N, N, screen);

  const char *exited[] = {"EXIT=", NULL};
  screen = h_tmux_wait(tmux, exited, H_SAFETY_MS, &found);
  if (!found)
    fail_msg("%s (in tmux): did not exit within %d s; the screen was:\n%s", afetch,
             H_SAFETY_MS / 1000, screen);
  if (strstr(screen, "EXIT=0") == NULL)
    fail_msg("%s (in tmux): expected exit status 0 (\"EXIT=0\"); the screen was:\n%s", afetch,
             screen);
  if (strstr(screen, "in flight") != NULL || strstr(screen, "done") != NULL)
    fail_msg("%s (in tmux): expected the progress line cleared before exit (\"\\r\\e[K\"), but "
             "the terminal still shows it:\n%s",
             afetch, screen);

  char *json = h_read_file(out, NULL);
  if (json == NULL)
    fail_msg("%s (in tmux): cannot read its stdout file %s: %s", afetch, out, strerror(errno));
  cJSON *results = h_parse_json(json);
  h_check_results(results, N);
}

void progress_stays_off_when_stderr_is_not_a_terminal(void **state) {
  (void)state;
  enum { N = 6 };
  int port = h_http->http_port;
  struct h_buf *input = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(input, "http://127.0.0.1:%d/delay/200\n", port);
  struct h_proc *proc;

  /* 3 rounds of 200 ms: several 100 ms ticks, had the line been on. */
  const char *quiet[] = {"-c", "2", NULL};
  run(quiet, input->data, N, 0, &proc);
  if (strchr(proc->err.data, '\r') != NULL || strstr(proc->err.data, "in flight") != NULL)
    fail_msg("%s (stderr a pipe): expected no progress line (no \"\\r\", no \"in flight\"); "
             "stderr was:\n%s",
             proc->cmdline, visible(proc->err.data, 2000));

  /* --progress=bar forces the bar on a pipe: redraws "\r" LINE "\e[K", and a final
   * "\r\e[K" (plain --progress writes status lines there). */
  const char *forced[] = {"-c", "2", "--progress=bar", NULL};
  run(forced, input->data, N, 0, &proc);
  const char *err = proc->err.data;
  if (strchr(err, '\r') == NULL || strstr(err, " done") == NULL || strstr(err, "in flight") == NULL)
    fail_msg("%s (stderr a pipe): expected progress lines (\"\\r\", \"N done\", \"in flight\"); "
             "stderr was:\n%s",
             proc->cmdline, visible(err, 2000));
  /* stdin: the total is unknown, so no "N/TOTAL" and no ETA. */
  if (strstr(err, h_fmt("/%d done", N)) != NULL || strstr(err, "ETA") != NULL)
    fail_msg("%s (URLs on stdin): expected \"N done\" without a total and no ETA (the total is "
             "unknown); stderr was:\n%s",
             proc->cmdline, visible(err, 2000));
  const char *last_line = err;
  for (const char *p; (p = strstr(last_line, " done")) != NULL;)
    last_line = p + 1;
  if (strstr(last_line, "\r\x1b[K") == NULL)
    fail_msg("%s: expected the last progress line cleared (\"\\r\\e[K\") before exit; stderr "
             "was:\n%s",
             proc->cmdline, visible(err, 2000));
}

/* The rows of a terminal screen that hold `needle`. */
static size_t rows_with(const char *screen, const char *needle) {
  size_t count = 0;
  for (const char *row = screen; *row != '\0';) {
    const char *end = strchr(row, '\n');
    size_t length = end != NULL ? (size_t)(end - row) : strlen(row);
    const char *found = strstr(row, needle);
    count += found != NULL && found < row + length;
    row += length + (end != NULL);
  }
  return count;
}

/* The widest row of a screen (tmux leaves out trailing blanks). */
static size_t widest_row(const char *screen) {
  size_t widest = 0;
  for (const char *row = screen; *row != '\0';) {
    const char *end = strchr(row, '\n');
    size_t length = end != NULL ? (size_t)(end - row) : strlen(row);
    widest = length > widest ? length : widest;
    row += length + (end != NULL);
  }
  return widest;
}

/* The number after "PID=" on the screen. */
static pid_t pid_on_screen(const char *screen) {
  const char *at = strstr(screen, "PID=");
  long pid = at != NULL ? strtol(at + 4, NULL, 10) : 0;
  if (pid <= 0)
    fail_msg("expected \"PID=N\" on the screen; it was:\n%s", screen);
  return (pid_t)pid;
}

/* At 80 columns the full line (with an ETA, ~90 columns) would wrap, and every redraw would
 * leave a stale row: the bar drops fields to fit in 79, one row, and after a resize to 120
 * columns (SIGWINCH) shows them again; cleared at the end. stdout goes to a file. */
void progress_bar_fits_the_terminal_width(void **state) {
  (void)state;
  int port = h_http->http_port;
  /* Three quick results and three held: "3/6 done", a rate and an ETA, while the held three
   * wait for the test's SIGTERM. */
  struct h_buf *list = h_text();
  for (int i = 0; i < 3; i++)
    h_text_add(list, "http://127.0.0.1:%d/status/200\n", port);
  for (int i = 0; i < 3; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/%d\n", port, H_SAFETY_MS);
  const char *file = h_temp_file(list->data, list->len);
  const char *out = h_fmt("%s/out.json", h_temp_dir());
  const char *args[] = {"-c", "6", file, NULL};
  const char *afetch = h_afetch_shell_command(args);
  const char *command = h_fmt("%s > %s & echo PID=$!; wait $!; echo EXIT=$?; exec sleep 60", afetch,
                              h_shell_quote(out));
  struct h_tmux *tmux = h_tmux_start(command, 80, 20);

  bool found;
  const char *progress[] = {"3/6 done", "ETA", "B/s", NULL};
  const char *screen = h_tmux_wait(tmux, progress, 10000, &found);
  if (!found)
    fail_msg("%s (in tmux, 80 columns): expected the bar (\"3/6 done\", \"ETA\", a speed in "
             "\"B/s\"); the screen was:\n%s",
             afetch, screen);
  pid_t pid = pid_on_screen(screen);
  /* Several redraws: a wrapping line would have left a stale row by now. */
  const char *later[] = {"3/6 done", "0:00:01", NULL};
  screen = h_tmux_wait(tmux, later, 10000, &found);
  if (!found || rows_with(screen, "done") != 1 || widest_row(screen) > 79)
    fail_msg("%s (in tmux, 80 columns): expected the bar on one row of at most 79 columns, "
             "redrawn in place; the screen was:\n%s",
             afetch, screen);
  if (strstr(screen, "in flight") != NULL)
    fail_msg("%s (in tmux, 80 columns): expected \"in flight\" left out to fit (it goes "
             "first); the screen was:\n%s",
             afetch, screen);

  h_tmux_resize(tmux, 120, 20);
  const char *wider[] = {"3 in flight", NULL};
  screen = h_tmux_wait(tmux, wider, 10000, &found);
  if (!found || rows_with(screen, "done") != 1 || widest_row(screen) > 119)
    fail_msg("%s (in tmux, resized to 120 columns): expected the whole bar, \"3 in flight\" "
             "back, on one row; the screen was:\n%s",
             afetch, screen);

  if (kill(pid, SIGTERM) != 0)
    fail_msg("kill(%d, SIGTERM): %s", (int)pid, strerror(errno));
  const char *exited[] = {"EXIT=", NULL};
  screen = h_tmux_wait(tmux, exited, H_SAFETY_MS, &found);
  if (!found || strstr(screen, "EXIT=143") == NULL)
    fail_msg("%s (in tmux): expected exit status 143 after SIGTERM; the screen was:\n%s", afetch,
             screen);
  if (strstr(screen, "done") != NULL || strstr(screen, "B/s") != NULL)
    fail_msg("%s (in tmux): expected the bar cleared before exit; the screen was:\n%s", afetch,
             screen);
}

/* The rows of the screen from the one after `from` (NULL: the first) up to the one holding
 * `to`, joined without newlines: JSON that the terminal wrapped, whole again. */
static char *screen_between(const char *screen, const char *from, const char *to) {
  const char *start = screen;
  if (from != NULL) {
    start = strstr(screen, from);
    if (start == NULL || (start = strchr(start, '\n')) == NULL)
      fail_msg("expected \"%s\" on the screen; it was:\n%s", from, screen);
    start++;
  }
  const char *end = strstr(start, to);
  if (end == NULL)
    fail_msg("expected \"%s\" on the screen; it was:\n%s", to, screen);
  struct h_buf *joined = h_text();
  for (const char *p = start; p < end; p++)
    if (*p != '\n')
      h_text_add_bytes(joined, p, 1);
  return joined->data;
}

/* stdout on the terminal stderr is on (make demo, the first try): no bar unless asked for, so
 * the results are clean JSON; with --progress the bar is cleared before each write of
 * results and drawn only between whole lines. 80 columns, rows enough for all the output. */
void progress_never_mixes_with_results_on_the_same_terminal(void **state) {
  (void)state;
  enum { N = 8 };
  int port = h_http->http_port;
  struct h_buf *list = h_text();
  for (int i = 0; i < N; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/300\n", port);
  const char *file = h_temp_file(list->data, list->len);
  /* Four rounds of 300 ms at -c 2: the bar's timer ticks a dozen times in each run. */
  const char *plain[] = {"-c", "2", file, NULL};
  const char *forced[] = {"-c", "2", "--progress", "--ndjson", file, NULL};
  const char *first = h_afetch_shell_command(plain), *second = h_afetch_shell_command(forced);
  const char *command = h_fmt("%s; echo EXIT1=$?; %s; echo EXIT2=$?; exec sleep 60", first, second);
  struct h_tmux *tmux = h_tmux_start(command, 80, 200);

  bool found;
  const char *exited[] = {"EXIT2=", NULL};
  const char *screen = h_tmux_wait(tmux, exited, 2 * H_SAFETY_MS, &found);
  if (!found || strstr(screen, "EXIT1=0") == NULL || strstr(screen, "EXIT2=0") == NULL)
    fail_msg("%s; %s (in tmux): expected both to exit 0; the screen was:\n%s", first, second,
             screen);
  if (strstr(screen, "afetch") != NULL || strstr(screen, "done") != NULL)
    fail_msg("%s; %s (in tmux, stdout on the terminal): expected no progress text among the "
             "results; the screen was:\n%s",
             first, second, screen);

  cJSON *results = h_parse_json(screen_between(screen, NULL, "EXIT1="));
  h_check_results(results, N);

  /* The forced run's results: one JSON object per line, each whole. */
  const char *start = strstr(screen, "EXIT1=");
  start = strchr(start, '\n') + 1;
  const char *end = strstr(start, "EXIT2=");
  size_t objects = 0;
  for (const char *p = start; p < end && (p = strstr(p, "{\"index\"")) != NULL && p < end; p++)
    objects++;
  if (objects != N)
    fail_msg("%s (in tmux): expected %d result lines; the screen was:\n%s", second, N, screen);
  char *lines = screen_between(screen, "EXIT1=", "EXIT2=");
  /* Joined, the lines are objects back to back: "}{" between them, nothing else. */
  struct h_buf *array = h_text();
  h_text_add(array, "[");
  for (const char *p = lines; *p != '\0'; p++) {
    if (p[0] == '}' && p[1] == '{') {
      h_text_add(array, "},");
      continue;
    }
    h_text_add_bytes(array, p, 1);
  }
  h_text_add(array, "]");
  results = h_parse_json(array->data);
  h_check_results(results, N);
}

/* For logs: --progress with stderr not a terminal writes whole status lines (no "\r", no
 * escape), every --progress-interval, with the bytes of transfers still in flight, and a
 * summary line at the end. */
void progress_lines_for_logs_end_with_newlines(void **state) {
  (void)state;
  int port = h_http->http_port;
  /* A body trickling 64 KiB a second, and a slow reply: both in flight until SIGTERM. */
  const char *input = h_fmt("http://127.0.0.1:%d/slowbytes/%d?ms=1000\n"
                            "http://127.0.0.1:%d/delay/%d\n",
                            port, 1 << 30, port, H_SAFETY_MS);
  const char *args[] = {"-c", "2", "--progress", "--progress-interval", "0.1", NULL};
  struct h_proc *proc = h_afetch_start(args);
  h_write_stdin(proc, input);
  h_close_stdin(proc);
  /* The first 64 KiB counted while nothing is done; then two more lines. */
  if (!h_wait_stderr(proc, "0 done  2 in flight  0 ok  0 failed  0.0 req/s  64.0 KiB  ", 1, 10000))
    fail_msg("%s (stderr a pipe): expected a status line with the 64 KiB received so far by a "
             "transfer in flight; stderr was:\n%s",
             proc->cmdline, visible(proc->err.data, 2000));
  size_t lines = h_count(proc->err.data, "\n");
  if (!h_wait_stderr(proc, "\n", lines + 2, 10000))
    fail_msg("%s: expected a status line every 0.1 s; stderr was:\n%s", proc->cmdline,
             visible(proc->err.data, 2000));
  h_signal(proc, SIGTERM);
  h_wait_exit(proc, H_SAFETY_MS);
  h_expect_exit(proc, 143);

  const char *err = proc->err.data;
  size_t length = strlen(err);
  if (strchr(err, '\r') != NULL || strchr(err, '\x1b') != NULL || length == 0 ||
      err[length - 1] != '\n')
    fail_msg("%s (stderr a pipe): expected whole lines, no \"\\r\" and no escape; stderr "
             "was:\n%s",
             proc->cmdline, visible(err, 2000));
  /* Every line is afetch's; the last is the summary. */
  const char *last = err;
  for (const char *line = err; *line != '\0'; line = strchr(line, '\n') + 1) {
    if (strncmp(line, "afetch: ", 8) != 0)
      fail_msg("%s: a line of stderr is not afetch's: %s", proc->cmdline, visible(err, 2000));
    last = line;
  }
  if (strncmp(last, "afetch: summary  2 done  0 ok  2 failed  ", 41) != 0 ||
      strstr(last, "B/s  ") == NULL)
    fail_msg("%s: expected the summary last (\"afetch: summary  2 done  0 ok  2 failed ... "
             "B/s ...\"); stderr was:\n%s",
             proc->cmdline, visible(err, 2000));
}

/* ---- statistics ---- */

/* True when some line of text starts (after spaces) with the word. */
static bool has_line_starting(const char *text, const char *word) {
  size_t n = strlen(word);
  for (const char *line = text; line != NULL && *line != '\0';) {
    while (*line == ' ' || *line == '\t')
      line++;
    if (strncmp(line, word, n) == 0 && (line[n] == ' ' || line[n] == '\t'))
      return true;
    line = strchr(line, '\n');
    if (line != NULL)
      line++;
  }
  return false;
}

/* A member of an object of counts ("status", "errors"): its value, 0 when absent. */
static long count_in(const struct h_proc *proc, const cJSON *object, const char *key,
                     const char *text) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (item == NULL)
    return 0;
  if (!cJSON_IsNumber(item))
    fail_msg("%s: --stats-json: \"%s\" should be a number: %s", proc->cmdline, key, text);
  return (long)item->valuedouble;
}

/* Compares an object of counts in the stats file with what the results add up to: every key
 * either side must agree (a missing key counts 0). */
static void expect_counts(const struct h_proc *proc, const cJSON *stats, const char *name,
                          const cJSON *expected, const char *text) {
  const cJSON *got = cJSON_GetObjectItemCaseSensitive(stats, name);
  if (!cJSON_IsObject(got))
    fail_msg("%s: --stats-json: expected \"%s\" to be an object: %s", proc->cmdline, name, text);
  const cJSON *item;
  cJSON_ArrayForEach(item, expected) {
    long want = (long)item->valuedouble, have = count_in(proc, got, item->string, text);
    if (want != have)
      fail_msg("%s: --stats-json: expected %s.%s = %ld (counted from the results), got %ld: %s",
               proc->cmdline, name, item->string, want, have, text);
  }
  cJSON_ArrayForEach(item, got) {
    long have = count_in(proc, got, item->string, text);
    if (have != 0 && cJSON_GetObjectItemCaseSensitive(expected, item->string) == NULL)
      fail_msg("%s: --stats-json: %s.%s = %ld, but no result counts there: %s", proc->cmdline, name,
               item->string, have, text);
  }
}

/* Adds 1 to counts[key]. */
static void bump(cJSON *counts, const char *key) {
  cJSON *item = cJSON_GetObjectItemCaseSensitive(counts, key);
  if (item == NULL)
    cJSON_AddNumberToObject(counts, key, 1);
  else
    cJSON_SetNumberValue(item, item->valuedouble + 1);
}

static double stats_number(const struct h_proc *proc, const cJSON *object, const char *key,
                           const char *text) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item))
    fail_msg("%s: --stats-json: expected a number \"%s\": %s", proc->cmdline, key, text);
  return item->valuedouble;
}

void stats_match_the_results(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct {
    const char *path;
    int count;
    const char *error; /* NULL: ok */
  } mix[] = {
      {"/status/200", 5, NULL},   {"/status/404", 2, "http"},
      {"/status/503", 1, "http"}, {NULL, 1, "connect"}, /* a closed port */
      {"/delay/50", 2, NULL},
  };
  int closed = h_unused_port();
  struct h_buf *input = h_text();
  size_t n = 0;
  for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
    for (int k = 0; k < mix[i].count; k++, n++)
      h_text_add(input, "%s\n",
                 mix[i].path ? h_url(port, mix[i].path) : h_url(closed, "/status/200"));
  const char *stats_path = h_fmt("%s/stats.json", h_temp_dir());
  const char *args[] = {"-r",       "1", "--retry-delay", "0.01", "--stats", "--stats-json",
                        stats_path, NULL};
  struct h_proc *proc;
  cJSON *results = run(args, input->data, n, 1, &proc);
  n = 0;
  for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++)
    for (int k = 0; k < mix[i].count; k++, n++)
      expect_result(proc, h_result(results, (long)n), mix[i].error);

  /* What the results add up to. */
  cJSON *counted = h_parse_json("{\"status\": {}, \"errors\": {}}");
  cJSON *status = cJSON_GetObjectItemCaseSensitive(counted, "status");
  cJSON *errors = cJSON_GetObjectItemCaseSensitive(counted, "errors");
  long ok = 0, failed = 0, retries = 0;
  double bytes = 0, min_total = INFINITY, max_total = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    if (h_ok(r))
      ok++;
    else
      failed++;
    long code = h_status(r);
    bump(status, code < 0 ? "none" : h_fmt("%ldxx", code / 100));
    if (!h_ok(r))
      bump(errors, h_error_code(r));
    bytes += h_number(r, "size");
    long attempts = (long)h_number(r, "attempts");
    if (attempts > 0)
      retries += attempts - 1;
    if (code >= 0) {
      double total = h_number(h_field(r, "time"), "total");
      min_total = total < min_total ? total : min_total;
      max_total = total > max_total ? total : max_total;
    }
  }

  char *text = h_read_file(stats_path, NULL);
  if (text == NULL)
    fail_msg("%s: cannot read the --stats-json file %s: %s", proc->cmdline, stats_path,
             strerror(errno));
  cJSON *stats = cJSON_Parse(text);
  if (!cJSON_IsObject(stats)) {
    cJSON_Delete(stats);
    fail_msg("%s: the --stats-json file is not one JSON object: %.500s", proc->cmdline, text);
  }
  cJSON_AddItemToObject(counted, "file", stats); /* freed with the tracked document */

  struct {
    const char *key;
    double expected;
  } numbers[] = {
      {"results", (double)n}, {"ok", (double)ok},           {"failed", (double)failed},
      {"bytes", bytes},       {"retries", (double)retries},
  };
  for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
    double got = stats_number(proc, stats, numbers[i].key, text);
    if (got != numbers[i].expected)
      fail_msg("%s: --stats-json: expected \"%s\": %.0f (from the results), got %.0f: %s",
               proc->cmdline, numbers[i].key, numbers[i].expected, got, text);
  }
  expect_counts(proc, stats, "status", status, text);
  expect_counts(proc, stats, "errors", errors, text);

  const cJSON *latency = cJSON_GetObjectItemCaseSensitive(stats, "latency");
  if (!cJSON_IsObject(latency))
    fail_msg("%s: --stats-json: expected \"latency\" to be an object: %s", proc->cmdline, text);
  double p50 = stats_number(proc, latency, "p50", text);
  double p90 = stats_number(proc, latency, "p90", text);
  double p99 = stats_number(proc, latency, "p99", text);
  double max = stats_number(proc, latency, "max", text);
  if (fabs(max - max_total) > 0.02 * max_total + 1e-6)
    fail_msg("%s: --stats-json: expected latency.max within 2%% of %.6f s (the largest "
             "time.total of the results with a status), got %.6f: %s",
             proc->cmdline, max_total, max, text);
  if (p50 < min_total * 0.98 || p50 > max_total * 1.02 || p50 > p90 || p90 > p99 ||
      p99 > max * 1.02)
    fail_msg("%s: --stats-json: expected min %.6f <= p50 <= p90 <= p99 <= max %.6f (s, within "
             "2%%), got p50 %.6f, p90 %.6f, p99 %.6f, max %.6f: %s",
             proc->cmdline, min_total, max_total, p50, p90, p99, max, text);
  double wall = stats_number(proc, stats, "wall", text);
  double rate = stats_number(proc, stats, "requests_per_second", text);
  if (wall <= 0 || wall > proc->seconds + 0.05)
    fail_msg("%s: --stats-json: expected 0 < wall <= %.3f s (the run's length), got %.6f: %s",
             proc->cmdline, proc->seconds, wall, text);
  if (fabs(rate - (double)n / wall) > 0.05 * rate + 0.1)
    fail_msg("%s: --stats-json: expected requests_per_second about %zu / %.3f = %.1f, got %.1f: "
             "%s",
             proc->cmdline, n, wall, (double)n / wall, rate, text);

  static const char *const lines[] = {"results", "latency", "wall"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    if (!has_line_starting(proc->err.data, lines[i]))
      fail_msg("%s: expected a \"%s ...\" line in the --stats table on stderr; stderr was:\n%s",
               proc->cmdline, lines[i], visible(proc->err.data, 2000));

  /* A stats file that cannot be written: exit 3, saying where; the results are still out. */
  const char *blocker = h_temp_file("x", 1);
  const char *bad_path = h_fmt("%s/sub/stats.json", blocker);
  const char *bad_args[] = {"--stats-json", bad_path, NULL};
  results = run(bad_args, h_fmt("%s\n", h_url(port, "/status/200")), 1, 3, &proc);
  expect_result(proc, h_result(results, 0), NULL);
  if (strstr(proc->err.data, bad_path) == NULL)
    fail_msg("%s: expected a message on stderr naming %s (it cannot be written: %s is a "
             "regular file); stderr was:\n%s",
             proc->cmdline, bad_path, blocker, visible(proc->err.data, 2000));
}

/* ---- JSON-lines input ---- */

/* The /headers echo in the result's body (--body), parsed. */
static const cJSON *echo_of(const struct h_proc *proc, const cJSON *r) {
  expect_result(proc, r, NULL);
  const char *body = h_string(r, "body");
  if (body == NULL)
    fail_msg("%s: index %ld: expected the /headers echo in \"body\": %s", proc->cmdline,
             index_of(r), result_text(r));
  return h_parse_json(body);
}

/* Fails unless the echo's headers hold name: value (case-insensitive name), or, with value
 * NULL, no such header. */
static void expect_echo_header(const struct h_proc *proc, const cJSON *r, const cJSON *echo,
                               const char *name, const char *value) {
  const cJSON *headers = h_field(echo, "headers");
  const cJSON *item, *found = NULL;
  cJSON_ArrayForEach(item, headers) {
    if (strcasecmp(item->string, name) == 0)
      found = item;
  }
  bool matches = value == NULL ? found == NULL
                               : cJSON_IsString(found) && strcmp(found->valuestring, value) == 0;
  if (!matches)
    fail_msg("%s: index %ld: expected the server to see %s, it saw %s: %s", proc->cmdline,
             index_of(r),
             value == NULL ? h_fmt("no %s header", name) : h_fmt("%s: %s", name, value),
             cJSON_IsString(found) ? h_fmt("%s: %s", name, found->valuestring)
                                   : h_fmt("no %s header", name),
             result_text(r));
}

static void expect_echo_string(const struct h_proc *proc, const cJSON *r, const cJSON *echo,
                               const char *key, const char *expected) {
  const char *got = h_string(echo, key);
  if (got == NULL || strcmp(got, expected) != 0)
    fail_msg("%s: index %ld: expected the server to see %s \"%s\", it saw %s: %s", proc->cmdline,
             index_of(r), key, expected, got == NULL ? "null" : h_fmt("\"%s\"", got),
             result_text(r));
}

/* Fails unless the result's "id" is exactly the JSON `expected` (NULL: no "id" key). */
static void expect_id(const struct h_proc *proc, const cJSON *r, const char *expected) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
  if (expected == NULL) {
    if (id != NULL)
      fail_msg("%s: index %ld: expected no \"id\" key (its line had none): %s", proc->cmdline,
               index_of(r), result_text(r));
    return;
  }
  const cJSON *want = h_parse_json(expected);
  if (id == NULL || !cJSON_Compare(id, want, true))
    fail_msg("%s: index %ld: expected \"id\": %s echoed verbatim: %s", proc->cmdline, index_of(r),
             expected, result_text(r));
}

void json_lines_input_sets_per_request_options(void **state) {
  (void)state;
  /* Its own server: the timed-out /delay stays behind on it. */
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *headers = h_url(port, "/headers");
  struct h_buf *input = h_text();
  h_text_add(input,
             "{\"url\": \"%s\", \"method\": \"PUT\", \"headers\": {\"X-Test\": \"yes\"}, "
             "\"body\": \"hello\", \"id\": 42}\n",
             headers);
  h_text_add(input, "  {\"url\": \"%s\", \"id\": {\"k\": [1, 2]}}\n", headers);
  h_text_add(input, "{\"url\": \"%s\", \"timeout\": 0.2, \"id\": \"slow\"}\n",
             h_url(port, "/delay/3000"));
  h_text_add(input, "%s\n", headers);
  h_text_add(input, "{\"url\": \"%s\"}\n", headers);
  /* -H applies to every line; a JSON line's header of the same name replaces it. */
  const char *args[] = {"--body", "-H", "X-Test: no", "-H", "X-Other: kept", NULL};
  struct h_proc *proc;
  cJSON *results = run(args, input->data, 5, 1, &proc);
  const cJSON *r;

  long index = 0;
  cJSON_ArrayForEach(r, results) {
    if (index_of(r) != index)
      fail_msg("%s: result %ld has index %ld: expected gather output in input order", proc->cmdline,
               index, index_of(r));
    index++;
  }

  r = h_result(results, 0);
  const cJSON *echo = echo_of(proc, r);
  expect_echo_string(proc, r, echo, "method", "PUT");
  expect_echo_string(proc, r, echo, "body", "hello");
  expect_echo_header(proc, r, echo, "X-Test", "yes");
  expect_echo_header(proc, r, echo, "X-Other", "kept");
  expect_id(proc, r, "42");

  r = h_result(results, 1);
  echo = echo_of(proc, r);
  expect_echo_string(proc, r, echo, "method", "GET");
  expect_echo_string(proc, r, echo, "body", "");
  expect_echo_header(proc, r, echo, "X-Test", "no");
  expect_id(proc, r, "{\"k\":[1,2]}");

  r = h_result(results, 2);
  expect_result(proc, r, "timeout");
  expect_id(proc, r, "\"slow\"");
  double total = h_number(h_field(r, "time"), "total");
  if (total > 2.0)
    fail_msg("%s: index 2: its line's \"timeout\": 0.2 should end it at about 0.2 s, but it ran "
             "%.3f s: %s",
             proc->cmdline, total, result_text(r));

  for (long i = 3; i < 5; i++) {
    r = h_result(results, i);
    echo = echo_of(proc, r);
    expect_echo_string(proc, r, echo, "method", "GET");
    expect_echo_header(proc, r, echo, "X-Test", "no");
    expect_id(proc, r, NULL);
  }
}

/* Fails unless the error message contains `needle` (case-insensitive). */
static void expect_message_mentions(const struct h_proc *proc, const cJSON *r, const char *needle) {
  const char *message = h_string(h_field(r, "error"), "message");
  if (message != NULL) {
    size_t n = strlen(needle);
    for (const char *p = message; *p != '\0'; p++)
      if (strncasecmp(p, needle, n) == 0)
        return;
  }
  fail_msg("%s: index %ld: expected the error message to mention \"%s\": %s", proc->cmdline,
           index_of(r), needle, result_text(r));
}

void json_lines_bad_input_is_an_error_result(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *good = h_url(port, "/status/200");
  struct {
    const char *line;
    const char *mentions; /* what the message names */
    const char *url;      /* the result's url; NULL: null */
    const char *id;       /* the echoed id as JSON; NULL: no "id" */
  } cases[] = {
      {"{not json", "json", NULL, NULL},
      {"{\"nourl\": 1}", "url", NULL, NULL},
      {"{\"url\": 5}", "url", NULL, NULL},
      {h_fmt("{\"url\": \"%s\", \"timeout\": \"x\", \"id\": 7}", good), "timeout", good, "7"},
      {h_fmt("{\"url\": \"%s\", \"headers\": {\"X-A\": 1}}", good), "header", good, NULL},
  };
  enum { BAD = sizeof cases / sizeof cases[0] };
  struct h_buf *input = h_text();
  for (size_t i = 0; i < BAD; i++)
    h_text_add(input, "%s\n", cases[i].line);
  h_text_add(input, "{\"url\": \"%s\", \"id\": \"good\"}\n", good);
  h_text_add(input, "%s\n", good);
  const char *no_args[] = {NULL};
  struct h_proc *proc;
  cJSON *results = run(no_args, input->data, BAD + 2, 1, &proc);

  for (size_t i = 0; i < BAD; i++) {
    const cJSON *r = h_result(results, (long)i);
    expect_result(proc, r, "invalid_input");
    if (h_number(r, "attempts") != 0)
      fail_msg("%s: index %zu (line %s): expected \"attempts\": 0 (never fetched): %s",
               proc->cmdline, i, cases[i].line, result_text(r));
    expect_message_mentions(proc, r, cases[i].mentions);
    const char *url = h_string(r, "url");
    if (cases[i].url == NULL ? url != NULL : url == NULL || strcmp(url, cases[i].url) != 0)
      fail_msg("%s: index %zu (line %s): expected \"url\": %s, got %s", proc->cmdline, i,
               cases[i].line, cases[i].url ? h_fmt("\"%s\"", cases[i].url) : "null",
               result_text(r));
    expect_id(proc, r, cases[i].id);
  }
  const cJSON *r = h_result(results, BAD);
  expect_result(proc, r, NULL);
  expect_id(proc, r, "\"good\"");
  r = h_result(results, BAD + 1);
  expect_result(proc, r, NULL);
  expect_id(proc, r, NULL);
}

/* A field of the wrong type (null is what jq writes for a missing one) is one invalid_input
 * result naming the first bad field, never a crash that loses the results held for gather. */
void json_lines_wrong_types_are_error_results(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *good = h_url(port, "/status/200");
  static const char *const wrong_values[] = {"5", "null", "true", "{}", "[]"};
  static const char *const string_fields[] = {"body", "output", "method"};
  struct h_buf *input = h_text();
  /* Held back in gather's window by nothing: index 0 is ok and must still be written. */
  h_text_add(input, "%s\n", good);
  size_t count = 1;
  for (size_t f = 0; f < sizeof string_fields / sizeof string_fields[0]; f++)
    for (size_t v = 0; v < sizeof wrong_values / sizeof wrong_values[0]; v++, count++)
      h_text_add(input, "{\"url\": \"%s\", \"%s\": %s}\n", good, string_fields[f], wrong_values[v]);
  const struct {
    const char *members;  /* after "url" */
    const char *mentions; /* the first bad field */
  } mixed[] = {
      {"\"headers\": {\"X-A\": 1}, \"output\": 5", "X-A"},
      {"\"output\": 5, \"headers\": {\"X-A\": 1}", "output"},
      {"\"headers\": null", "headers"},
      {"\"timeout\": null, \"body\": 5", "timeout"},
      {"\"body\": \"a\", \"body\": 5", "body"},
  };
  enum { MIXED = sizeof mixed / sizeof mixed[0] };
  size_t first_mixed = count;
  for (size_t i = 0; i < MIXED; i++, count++)
    h_text_add(input, "{\"url\": \"%s\", %s}\n", good, mixed[i].members);
  h_text_add(input, "%s\n", good);
  count++;

  const char *no_args[] = {NULL};
  struct h_proc *proc;
  cJSON *results = run(no_args, input->data, count, 1, &proc);
  expect_result(proc, h_result(results, 0), NULL);
  expect_result(proc, h_result(results, (long)count - 1), NULL);
  size_t index = 1;
  for (size_t f = 0; f < sizeof string_fields / sizeof string_fields[0]; f++)
    for (size_t v = 0; v < sizeof wrong_values / sizeof wrong_values[0]; v++, index++) {
      const cJSON *r = h_result(results, (long)index);
      expect_result(proc, r, "invalid_input");
      expect_message_mentions(proc, r, string_fields[f]);
    }
  for (size_t i = 0; i < MIXED; i++) {
    const cJSON *r = h_result(results, (long)(first_mixed + i));
    expect_result(proc, r, "invalid_input");
    expect_message_mentions(proc, r, mixed[i].mentions);
  }
}

/* Whatever bytes a line's "id" holds (in a string or in a member name), the output is valid
 * UTF-8 JSON: ill-formed bytes come back as U+FFFD. */
void json_lines_invalid_utf8_id_comes_back_valid(void **state) {
  (void)state;
  const char *good = h_url(h_http->http_port, "/status/200");
  struct h_buf *input = h_text();
  h_text_add(input,
             "{\"url\": \"%s\", \"id\": \"a\xff"
             "b\xc3\"}\n",
             good);
  h_text_add(input, "{\"url\": \"%s\", \"id\": {\"k\xfe\": [\"\xed\xa0\x80\"]}}\n", good);
  h_text_add(input, "{\"url\": \"%s\", \"id\": \"caf\xc3\xa9\"}\n", good);
  h_text_add(input, "{\"url\": \"%s\", \"id\": \"\xe2\x82\", \"body\": 5}\n", good);
  const char *modes[] = {NULL, "--ndjson"};
  for (size_t m = 0; m < 2; m++) {
    const char *args[] = {modes[m], NULL};
    struct h_proc *proc = h_afetch_run(args, input->data);
    h_expect_exit(proc, 1);
    if (!h_is_valid_utf8(proc->out.data, proc->out.len))
      fail_msg("%s: stdout is not valid UTF-8: %s", proc->cmdline, visible(proc->out.data, 400));
    cJSON *results = m == 0 ? h_gather_output(proc) : h_parse_ndjson(proc->out.data);
    h_check_results(results, 4);
    expect_id(proc, h_result(results, 0),
              "\"a\xef\xbf\xbd"
              "b\xef\xbf\xbd\"");
    expect_id(proc, h_result(results, 1),
              "{\"k\xef\xbf\xbd\": [\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"]}");
    expect_id(proc, h_result(results, 2), "\"caf\xc3\xa9\"");
    expect_id(proc, h_result(results, 3), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
  }
}

void json_lines_output_names_the_file(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *tmp = h_temp_dir();
  const char *dir = h_fmt("%s/x/y/out", tmp);
  struct h_buf *input = h_text();
  h_text_add(input, "{\"url\": \"%s\", \"output\": \"custom/name.txt\"}\n",
             h_url(port, "/status/200"));
  h_text_add(input, "{\"url\": \"%s\", \"output\": \"../../evil\"}\n", h_url(port, "/status/201"));
  h_text_add(input, "{\"url\": \"%s\", \"output\": \"%s/x/evil-absolute\"}\n",
             h_url(port, "/status/202"), tmp);
  const char *args[] = {"-o", dir, NULL};
  struct h_proc *proc = h_afetch_run(args, input->data);
  if (!proc->exited || (proc->exit_code != 0 && proc->exit_code != 1))
    h_expect_exit(proc, 0);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 3);

  const cJSON *r = h_result(results, 0);
  expect_result(proc, r, NULL);
  const char *path = h_fmt("%s/custom/name.txt", dir);
  const char *file = h_string(r, "file");
  if (file == NULL || strcmp(file, path) != 0)
    fail_msg("%s: index 0: its line's \"output\": \"custom/name.txt\" should save to %s, "
             "\"file\" is %s: %s",
             proc->cmdline, path, file ? h_fmt("\"%s\"", file) : "null", result_text(r));
  const char *content = h_read_file(path, NULL);
  if (content == NULL || strcmp(content, "status 200\n") != 0)
    fail_msg("%s: %s should hold the body \"status 200\\n\", %s", proc->cmdline, path,
             content ? h_fmt("it holds \"%.100s\"", content)
                     : h_fmt("it cannot be read: %s", strerror(errno)));

  /* Hostile names: whatever becomes of them, nothing lands outside dir. */
  for (long i = 1; i < 3; i++) {
    r = h_result(results, i);
    file = h_string(r, "file");
    size_t n = strlen(dir);
    if (file != NULL && (strncmp(file, dir, n) != 0 || file[n] != '/' ||
                         strstr(file + n, "/../") != NULL || !h_file_exists(file)))
      fail_msg("%s: index %ld: expected \"file\" null or an existing file under %s/ without "
               "\"..\": %s",
               proc->cmdline, i, dir, result_text(r));
  }
  const char *all = h_list_files(tmp, true);
  const char *prefix = "x/y/out/";
  for (const char *line = all; *line != '\0';) {
    if (strncmp(line, prefix, strlen(prefix)) != 0)
      fail_msg("%s: a hostile \"output\" escaped the output directory %s: the files under %s "
               "are:\n%s",
               proc->cmdline, dir, tmp, all);
    const char *nl = strchr(line, '\n');
    line = nl ? nl + 1 : line + strlen(line);
  }
}
