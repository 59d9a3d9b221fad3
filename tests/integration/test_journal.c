/* Durable runs: --journal survives SIGKILL with every input line's result exactly once,
 * repairs a torn last line, refuses what it must, fails on a full disk keeping whole lines;
 * --merge orders journals, NDJSON and arrays. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "tests.h"

/* A URL file of n lines against the port: /delay/10..30 with each line's number. */
static const char *journal_url_file(int port, size_t n) {
  struct h_buf *text = h_text();
  for (size_t i = 0; i < n; i++)
    h_text_add(text, "%s\n", h_url(port, h_fmt("/delay/%zu?line=%zu", 10 + i % 3 * 10, i)));
  return h_temp_file(text->data, text->len);
}

/* Lines ('\n') in the file; 0 when it cannot be read. */
static size_t journal_lines(const char *path) {
  size_t length;
  char *text = h_read_file(path, &length);
  return text ? h_count(text, "\n") : 0;
}

struct journal_wait {
  const char *path;
  size_t lines;
  struct h_proc *proc; /* its stdout is drained meanwhile */
};

static bool journal_has_lines(void *arg) {
  struct journal_wait *wait = arg;
  h_collect(wait->proc);
  return journal_lines(wait->path) >= wait->lines;
}

/* --merge of the journal as a parsed array, checked: n results, indexes 0..n-1 once each. */
static cJSON *journal_merged(const char *journal, size_t n) {
  const char *args[] = {"--merge", journal, NULL};
  struct h_proc *merge = h_afetch_run(args, NULL);
  h_expect_exit(merge, 0);
  cJSON *results = h_gather_output(merge);
  h_check_results(results, n);
  return results;
}

void journal_resumes_after_sigkills_with_each_line_once(void **state) {
  (void)state;
  enum { LINES = 2000, CONCURRENCY = 20, KILLS = 4 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *urls = journal_url_file(port, LINES);
  const char *journal = h_fmt("%s/run.journal", h_temp_dir());
  const char *args[] = {"-q", "-c", "20", "--journal", journal, urls, NULL};
  h_reset(port);
  size_t kill_at[KILLS] = {300, 700, 1100, 1500};
  for (size_t k = 0; k < KILLS; k++) {
    struct h_proc *run = h_afetch_start(args);
    h_close_stdin(run);
    struct journal_wait wait = {journal, kill_at[k], run};
    if (!h_wait_for(journal_has_lines, &wait, 20000))
      fail_msg("%s: the journal never reached %zu lines (it has %zu)", run->cmdline, kill_at[k],
               journal_lines(journal));
    h_signal(run, SIGKILL);
    h_wait_exit(run, 10000);
    if (!run->signaled || run->term_signal != SIGKILL)
      fail_msg("%s: finished before it was killed at %zu lines", run->cmdline, kill_at[k]);
  }
  const char *stats = h_fmt("%s/stats.json", h_temp_dir());
  const char *last[] = {"-q", "-c", "20", "--journal", journal, "--stats-json", stats, urls, NULL};
  struct h_proc *rest = h_afetch_run(last, NULL);
  h_expect_exit(rest, 0);
  if (journal_lines(journal) != LINES + 1)
    fail_msg("the journal has %zu lines, not a header and %d results", journal_lines(journal),
             LINES);
  journal_merged(journal, LINES);
  /* Refetches: at most what each kill found in flight, plus the batch it had not written. */
  long arrivals = cJSON_GetArraySize(h_arrivals(port));
  if (arrivals < LINES || arrivals > LINES + KILLS * 2 * CONCURRENCY)
    fail_msg("the server saw %ld requests for %d lines and %d kills at -c %d", arrivals, LINES,
             KILLS, CONCURRENCY);
  const cJSON *counts = h_field(h_parse_json(h_read_file(stats, NULL)), "journal");
  if (h_number(counts, "total") != LINES ||
      h_number(counts, "earlier") < kill_at[KILLS - 1] - 1 || /* lines less the header */
      h_number(counts, "earlier") + h_number(counts, "now") != LINES)
    fail_msg("--stats-json's journal counts are wrong: %s", h_read_file(stats, NULL));
}

void journal_torn_last_line_is_cut_and_refetched(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *urls = journal_url_file(port, 50);
  const char *journal = h_fmt("%s/torn.journal", h_temp_dir());
  const char *args[] = {"--journal", journal, urls, NULL};
  h_expect_exit(h_afetch_run(args, NULL), 0);
  size_t length;
  h_read_file(journal, &length);
  if (truncate(journal, (off_t)length - 20) != 0) /* a kill in mid-write */
    fail_msg("cannot truncate %s", journal);
  h_reset(port);
  struct h_proc *again = h_afetch_run(args, NULL);
  h_expect_exit(again, 0);
  if (!strstr(again->err.data, "torn"))
    fail_msg("%s: stderr should say the last line was torn: %s", again->cmdline, again->err.data);
  if (h_stats(port).requests != 1)
    fail_msg("%s: %ld requests, only the torn line's URL should be fetched again", again->cmdline,
             h_stats(port).requests);
  /* This run's output: the one result, under its line's index. */
  if (cJSON_GetArraySize(h_gather_output(again)) != 1)
    fail_msg("%s: the output should hold one result: %s", again->cmdline, again->out.data);
  journal_merged(journal, 50);
}

/* Runs afetch and expects exit 2 with `words` in stderr, the journal unchanged. */
static void journal_expect_refusal(const char *const *args, const char *input, const char *journal,
                                   const char *words) {
  char *before = h_read_file(journal, NULL);
  struct h_proc *run = h_afetch_run(args, input);
  h_expect_exit(run, 2);
  if (!strstr(run->err.data, words))
    fail_msg("%s: stderr should say '%s': %s", run->cmdline, words, run->err.data);
  char *after = h_read_file(journal, NULL);
  if (before && (!after || strcmp(before, after) != 0))
    fail_msg("%s: the refused run changed %s", run->cmdline, journal);
}

void journal_refuses_other_inputs_options_stdin_and_foreign_files(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *urls = journal_url_file(port, 20);
  const char *dir = h_temp_dir();
  const char *journal = h_fmt("%s/j", dir);
  const char *args[] = {"-q", "--journal", journal, urls, NULL};
  h_expect_exit(h_afetch_run(args, NULL), 0);
  h_reset(port);
  /* Nothing left: exit 0 at once, nothing fetched, the counts say where results came from. */
  const char *stats = h_fmt("%s/stats.json", dir);
  const char *again[] = {"-q", "--journal", journal, "--stats-json", stats, urls, NULL};
  struct h_proc *done = h_afetch_run(again, NULL);
  h_expect_exit(done, 0);
  h_check_results(h_gather_output(done), 0);
  const cJSON *counts = h_field(h_parse_json(h_read_file(stats, NULL)), "journal");
  if (h_number(counts, "earlier") != 20 || h_number(counts, "now") != 0)
    fail_msg("--stats-json should count 20 earlier and 0 now: %s", h_read_file(stats, NULL));
  const char *header[] = {"-q", "-H", "X-A: 1", "--journal", journal, urls, NULL};
  journal_expect_refusal(header, NULL, journal, "other options");
  const char *from_stdin[] = {"-q", "--journal", journal, "-", NULL};
  journal_expect_refusal(from_stdin, h_url(port, "/file/x"), journal, "standard input");
  const char *changed = h_temp_file(h_read_file(urls, NULL), strlen(h_read_file(urls, NULL)));
  const char *other_input[] = {"-q", "--journal", journal, changed, NULL};
  journal_expect_refusal(other_input, NULL, journal, "is not the one");
  const char *foreign = h_temp_file("{\"not\": \"a journal\"}\n", 21);
  const char *not_ours[] = {"-q", "--journal", foreign, urls, NULL};
  journal_expect_refusal(not_ours, NULL, foreign, "not an afetch journal");
  if (h_stats(port).requests != 0)
    fail_msg("a refused run fetched something");
}

void journal_on_a_full_disk_exits_3_and_keeps_whole_lines(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *urls = journal_url_file(port, 100);
  const char *journal = h_fmt("%s/full.journal", h_temp_dir());
  const char *args[] = {"-q", "--journal", journal, urls, NULL};
  /* The header and a few dozen results fit. */
  struct h_proc *full = h_afetch_run_limited(args, NULL, 12000);
  h_expect_exit(full, 3);
  size_t length;
  char *text = h_read_file(journal, &length);
  if (!text || length == 0 || length > 12000 || text[length - 1] != '\n')
    fail_msg("%s: the journal should end with a whole line (%zu bytes)", full->cmdline, length);
  struct h_proc *rest = h_afetch_run(args, NULL);
  h_expect_exit(rest, 0);
  journal_merged(journal, 100);
}

void merge_orders_unsorted_inputs_through_small_runs(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *urls = journal_url_file(port, 300);
  const char *journal = h_fmt("%s/m.journal", h_temp_dir());
  const char *args[] = {"-q", "-c", "30", "--journal", journal, urls, NULL};
  struct h_proc *run = h_afetch_run(args, NULL);
  h_expect_exit(run, 0);
  journal_merged(journal, 300);
  const char *merge_args[] = {"--merge", journal, NULL};
  const char *expected = h_afetch_run(merge_args, NULL)->out.data;
  /* The same results backwards, split in two files: NDJSON lines and an array; the lines
   * once more in a third file (repeated indexes). */
  char *text = h_read_file(journal, NULL);
  struct h_buf *lines_text = h_text(), *array_text = h_text();
  h_text_add(array_text, "[\n");
  char *line_end = strrchr(text, '\n');
  for (size_t i = 0; line_end && line_end > text; i++) {
    *line_end = '\0';
    char *start = strrchr(text, '\n');
    const char *line = start ? start + 1 : text;
    if (strncmp(line, "{\"index\"", 8) != 0)
      break; /* the header */
    if (i % 2)
      h_text_add(lines_text, "%s\n", line);
    else
      h_text_add(array_text, "%s%s", array_text->len > 2 ? ",\n" : "", line);
    line_end = start;
  }
  h_text_add(array_text, "\n]\n");
  const char *odd_file = h_temp_file(lines_text->data, lines_text->len);
  const char *even_file = h_temp_file(array_text->data, array_text->len);
  const char *twice = h_temp_file(lines_text->data, lines_text->len);
  const char *environment[] = {"AFETCH_MERGE_RUN_BYTES=4096", NULL};
  const char *merge_unsorted[] = {"--merge", odd_file, even_file, twice, NULL};
  struct h_proc *merged = h_afetch_run_env(environment, merge_unsorted, NULL);
  h_expect_exit(merged, 0);
  if (strcmp(merged->out.data, expected) != 0)
    fail_msg("%s: unsorted inputs merged differently from the journal alone", merged->cmdline);
  if (!strstr(merged->err.data, "already merged"))
    fail_msg("%s: stderr should warn about repeated indexes: %s", merged->cmdline,
             merged->err.data);
  /* A gather-mode array merges to itself; --ndjson gives the same results as lines. */
  const char *array = h_temp_file(expected, strlen(expected));
  const char *merge_array[] = {"--merge", array, NULL};
  struct h_proc *again = h_afetch_run(merge_array, NULL);
  h_expect_exit(again, 0);
  if (strcmp(again->out.data, expected) != 0)
    fail_msg("%s: an array did not merge to itself", again->cmdline);
  const char *merge_lines[] = {"--merge", "--ndjson", array, NULL};
  struct h_proc *lines = h_afetch_run(merge_lines, NULL);
  h_expect_exit(lines, 0);
  h_check_results(h_parse_ndjson(lines->out.data), 300);
  /* A bad line: exit 2, naming the file and the line, nothing written. */
  const char *bad = h_temp_file("{\"index\":0}\nnot json\n", 21);
  const char *merge_bad[] = {"--merge", bad, NULL};
  struct h_proc *refused = h_afetch_run(merge_bad, NULL);
  h_expect_exit(refused, 2);
  if (!strstr(refused->err.data, h_fmt("%s, line 2", bad)) || refused->out.len != 0)
    fail_msg("%s: should name %s, line 2 and write nothing: %s", refused->cmdline, bad,
             refused->err.data);
}

/* --merge reads each FILE twice (checked, then merged): a pipe would come back empty the second
 * time, so it is refused with exit 2 and nothing is written. */
void merge_refuses_a_pipe(void **state) {
  (void)state;
  const char *args[] = {"--merge", "/dev/stdin", NULL};
  struct h_proc *proc = h_afetch_run(args, "{\"index\":0,\"url\":\"http://a/\"}\n");
  h_expect_exit(proc, 2);
  if (proc->out.data[0] != '\0' || strstr(proc->err.data, "regular file") == NULL)
    fail_msg("%s: expected no output and a message naming regular files, got out '%s' err '%s'",
             proc->cmdline, proc->out.data, proc->err.data);
}
