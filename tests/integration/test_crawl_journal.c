/* --crawl --journal: a crawl of the generated site (/site/, tests/server/test_server.c) killed
 * with SIGKILL several times and resumed ends with the pages and depths of an uninterrupted
 * crawl, each page committed once, the server's arrival log bounding the refetches; a crawl
 * with nothing left exits 0 at once; changed crawl options are refused. And --merge ends its
 * array when a signal stops it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* Lines ('\n') in the file; 0 when it cannot be read. */
static size_t crawl_journal_lines(const char *path) {
  size_t length;
  char *text = h_read_file(path, &length);
  return text ? h_count(text, "\n") : 0;
}

struct crawl_journal_wait {
  const char *path;
  size_t lines;
  struct h_proc *proc; /* its stdout is drained meanwhile */
};

static bool crawl_journal_has_lines(void *arg) {
  struct crawl_journal_wait *wait = arg;
  h_collect(wait->proc);
  return crawl_journal_lines(wait->path) >= wait->lines;
}

/* The result for `url` in `results`, or NULL. */
static const cJSON *crawl_journal_find(const cJSON *results, const char *url) {
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    const char *u = h_string(r, "url");
    if (u && strcmp(u, url) == 0)
      return r;
  }
  return NULL;
}

/* Fails unless `merged` holds each page of `full` once, at the same depth, with a parent that
 * is a crawled page one level up, and nothing else. */
static void crawl_journal_expect_same_pages(const cJSON *full, const cJSON *merged) {
  h_check_results_with_gaps(merged, (size_t)cJSON_GetArraySize(full));
  const cJSON *r;
  cJSON_ArrayForEach(r, merged) {
    const char *url = h_string(r, "url");
    const cJSON *expected = crawl_journal_find(full, url);
    if (!expected)
      fail_msg("the resumed crawl committed %s, which the uninterrupted one did not fetch", url);
    if (h_number(r, "depth") != h_number(expected, "depth"))
      fail_msg("%s: depth %g after the resumes, %g uninterrupted", url, h_number(r, "depth"),
               h_number(expected, "depth"));
    const char *parent = h_string(r, "parent");
    const cJSON *up = parent ? crawl_journal_find(merged, parent) : NULL;
    if (h_number(r, "depth") > 0 && (!up || h_number(up, "depth") + 1 != h_number(r, "depth")))
      fail_msg("%s at depth %g: its parent %s is no crawled page one level up", url,
               h_number(r, "depth"), parent ? parent : "null");
  }
  /* As many results as pages, each page found: so each page once. */
}

/* Runs afetch and expects exit 2 with `words` in stderr, the journal unchanged. */
static void crawl_journal_expect_refusal(const char *const *args, const char *journal,
                                         const char *words) {
  char *before = h_read_file(journal, NULL);
  struct h_proc *run = h_afetch_run(args, NULL);
  h_expect_exit(run, 2);
  if (!strstr(run->err.data, words))
    fail_msg("%s: stderr should say '%s': %s", run->cmdline, words, run->err.data);
  char *after = h_read_file(journal, NULL);
  if (!after || strcmp(before, after) != 0)
    fail_msg("%s: the refused run changed %s", run->cmdline, journal);
}

/* Starts afetch with `args` and kills it with SIGKILL once `journal` has `kill_at` lines. */
static void crawl_journal_kill_at(const char *const *args, const char *journal, size_t kill_at) {
  struct h_proc *run = h_afetch_start(args);
  h_close_stdin(run);
  struct crawl_journal_wait wait = {journal, kill_at, run};
  if (!h_wait_for(crawl_journal_has_lines, &wait, 30000))
    fail_msg("%s: the journal never reached %zu lines (it has %zu)", run->cmdline, kill_at,
             crawl_journal_lines(journal));
  h_signal(run, SIGKILL);
  h_wait_exit(run, 10000);
  if (!run->signaled || run->term_signal != SIGKILL)
    fail_msg("%s: finished before it was killed at %zu lines", run->cmdline, kill_at);
}

/* A crawl with nothing left: exit 0 at once, an empty array, nothing fetched. */
static void crawl_journal_expect_nothing_left(int port, const char *const *args) {
  h_reset(port);
  struct h_proc *done = h_afetch_run(args, NULL);
  h_expect_exit(done, 0);
  h_check_results(h_gather_output(done), 0);
  if (h_stats(port).requests != 0)
    fail_msg("%s: a crawl with nothing left made %ld requests", done->cmdline,
             h_stats(port).requests);
}

void crawl_journal_resumes_after_sigkills_with_each_page_once(void **state) {
  (void)state;
  enum { KILLS = 4, CONCURRENCY = 8 };
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  /* A seed curl cannot parse is still one result (invalid_url), once across the runs. */
  const char *seed_lines = h_fmt("%s\nhttp://[bad\n", h_url(port, "/site/0.html"));
  const char *seeds = h_temp_file(seed_lines, strlen(seed_lines));
  const char *full_args[] = {"-q", "--crawl", "--depth", "20", "-c", "8", seeds, NULL};
  struct h_proc *full_run = h_afetch_run(full_args, NULL);
  cJSON *full = h_gather_output(full_run);
  size_t pages = (size_t)cJSON_GetArraySize(full);
  if (pages < 300)
    fail_msg("%s: the uninterrupted crawl found %zu pages", full_run->cmdline, pages);
  /* --rate (not an option the journal records) lets the kills land mid-way. */
  const char *journal = h_fmt("%s/crawl.journal", h_temp_dir());
  const char *args[] = {"-q",     "-c",  "8",         "--crawl", "--depth", "20",
                        "--rate", "300", "--journal", journal,   seeds,     NULL};
  h_reset(port);
  for (size_t k = 0; k < KILLS; k++)
    crawl_journal_kill_at(args, journal, 1 + pages * (2 * k + 1) / (2 * KILLS));
  const char *last[] = {"-q", "-c",        "8",     "--crawl", "--depth",
                        "20", "--journal", journal, seeds,     NULL};
  struct h_proc *rest = h_afetch_run(last, NULL);
  if (!rest->exited || rest->exit_code > 1)
    fail_msg("%s: exit %d: %s", rest->cmdline, rest->exit_code, rest->err.data);
  const char *merge_args[] = {"--merge", journal, NULL};
  struct h_proc *merge = h_afetch_run(merge_args, NULL);
  h_expect_exit(merge, 0);
  if (strstr(merge->out.data, "afetch_note"))
    fail_msg("%s: the merged results carry the journal's notes", merge->cmdline);
  crawl_journal_expect_same_pages(full, h_gather_output(merge));
  /* Only a top-level note is the journal's: a member of that name inside a result stays. */
  const char *nested = "{\"index\":0,\"headers\":{\"a\":\"1\",\"afetch_note\":{\"b\":2}}}\n";
  const char *nested_args[] = {"--merge", h_temp_file(nested, strlen(nested)), NULL};
  struct h_proc *nested_merge = h_afetch_run(nested_args, NULL);
  h_expect_exit(nested_merge, 0);
  if (!strstr(nested_merge->out.data, "\"afetch_note\":{\"b\":2}}}"))
    fail_msg("%s: a header named afetch_note was cut: %s", nested_merge->cmdline,
             nested_merge->out.data);
  /* Refetches: at most what each kill found in flight, plus the batch it had not written. */
  long arrivals = cJSON_GetArraySize(h_arrivals(port));
  if (arrivals < (long)pages || arrivals > (long)pages + KILLS * 2 * CONCURRENCY)
    fail_msg("the server saw %ld requests for %zu pages and %d kills at -c %d", arrivals, pages,
             KILLS, CONCURRENCY);
  crawl_journal_expect_nothing_left(port, last);
  /* Other crawl options, another seed file: refused, the journal untouched. */
  const char *deeper[] = {"-q", "--crawl", "--depth", "21", "--journal", journal, seeds, NULL};
  crawl_journal_expect_refusal(deeper, journal, "other options");
  const char *scope[] = {"-q",     "--crawl",   "--depth", "20",  "--scope",
                         "domain", "--journal", journal,   seeds, NULL};
  crawl_journal_expect_refusal(scope, journal, "other options");
  const char *other_seed = h_url(port, "/site/1.html");
  const char *other_seeds = h_temp_file(h_fmt("%s\n", other_seed), strlen(other_seed) + 1);
  const char *moved[] = {"-q", "--crawl", "--depth", "20", "--journal", journal, other_seeds, NULL};
  crawl_journal_expect_refusal(moved, journal, "is not the one");
  /* A batch journal is no crawl's. */
  const char *batch_journal = h_fmt("%s/batch.journal", h_temp_dir());
  const char *batch[] = {"-q", "--journal", batch_journal, seeds, NULL};
  h_afetch_run(batch, NULL);
  const char *as_crawl[] = {"-q", "--crawl", "--journal", batch_journal, seeds, NULL};
  crawl_journal_expect_refusal(as_crawl, batch_journal, "other options");
}

/* --merge stopped by SIGINT while its output waits in a full pipe: the array it wrote is
 * closed (valid JSON, indexes in order), exit 130. */
void merge_ends_its_array_on_a_signal(void **state) {
  (void)state;
  enum { RESULTS = 20000 };
  struct h_buf *text = h_text();
  for (size_t i = 0; i < RESULTS; i++)
    h_text_add(text, "{\"index\":%zu,\"url\":\"http://127.0.0.1/%0200zu\"}\n", i, i);
  const char *file = h_temp_file(text->data, text->len);
  const char *args[] = {"--merge", file, NULL};
  struct h_proc *merge = h_afetch_start(args);
  h_close_stdin(merge);
  /* The first results are out; the rest (4 MB) cannot be until the pipe is read again. */
  if (!h_wait_output(merge, "\"index\":", 10, 10000))
    fail_msg("%s: no results came out", merge->cmdline);
  h_signal(merge, SIGINT);
  h_wait_exit(merge, 10000);
  h_expect_exit(merge, 130);
  cJSON *results = h_parse_json(merge->out.data);
  if (!cJSON_IsArray(results))
    fail_msg("%s: the output is no JSON array after SIGINT: ...%s", merge->cmdline,
             merge->out.data + (merge->out.len > 200 ? merge->out.len - 200 : 0));
  int count = cJSON_GetArraySize(results);
  if (count == 0 || count >= RESULTS)
    fail_msg("%s: %d results after SIGINT: it should stop mid-way", merge->cmdline, count);
  for (int i = 0; i < count; i++)
    if (h_number(cJSON_GetArrayItem(results, i), "index") != i)
      fail_msg("%s: result %d has index %g", merge->cmdline, i,
               h_number(cJSON_GetArrayItem(results, i), "index"));
}

/* --crawl -p --journal: a crawl of the generated site and of the requisites' site (/req/),
 * killed while requisites are queued, in flight and committed, and resumed: the pages and
 * requisites of an uninterrupted -p crawl, each committed once. */
void crawl_journal_resumes_page_requisites_once(void **state) {
  (void)state;
  enum { CONCURRENCY = 4 };
  static const size_t kill_points[] = {3, 6, 10, 15, 40, 200};
  size_t kills = sizeof kill_points / sizeof *kill_points;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *seed_lines =
      h_fmt("%s\n%s\n", h_url(port, "/req/index.html"), h_url(port, "/site/0.html"));
  const char *seeds = h_temp_file(seed_lines, strlen(seed_lines));
  const char *full_args[] = {"-q", "--crawl", "-p", "--depth", "20", "-c", "4", seeds, NULL};
  struct h_proc *full_run = h_afetch_run(full_args, NULL);
  cJSON *full = h_gather_output(full_run);
  size_t pages = (size_t)cJSON_GetArraySize(full);
  if (pages < 300 || !crawl_journal_find(full, h_url(port, "/req/img/from-import.png")))
    fail_msg("%s: the uninterrupted crawl found %zu pages and requisites", full_run->cmdline,
             pages);
  const char *journal = h_fmt("%s/requisites.journal", h_temp_dir());
  const char *args[] = {"-q",     "-c",  "4",         "--crawl", "-p",  "--depth", "20",
                        "--rate", "200", "--journal", journal,   seeds, NULL};
  h_reset(port);
  for (size_t k = 0; k < kills; k++)
    crawl_journal_kill_at(args, journal, kill_points[k]);
  const char *last[] = {"-q", "-c",        "4",     "--crawl", "-p", "--depth",
                        "20", "--journal", journal, seeds,     NULL};
  struct h_proc *rest = h_afetch_run(last, NULL);
  if (!rest->exited || rest->exit_code > 1)
    fail_msg("%s: exit %d: %s", rest->cmdline, rest->exit_code, rest->err.data);
  const char *merge_args[] = {"--merge", journal, NULL};
  struct h_proc *merge = h_afetch_run(merge_args, NULL);
  h_expect_exit(merge, 0);
  cJSON *merged = h_gather_output(merge);
  crawl_journal_expect_same_pages(full, merged);
  const cJSON *r;
  cJSON_ArrayForEach(r, full) {
    if (!crawl_journal_find(merged, h_string(r, "url")))
      fail_msg("the resumed crawls lost %s", h_string(r, "url"));
  }
  long arrivals = cJSON_GetArraySize(h_arrivals(port));
  if (arrivals > (long)pages + (long)kills * 2 * CONCURRENCY)
    fail_msg("the server saw %ld requests for %zu results and %zu kills at -c %d", arrivals, pages,
             kills, CONCURRENCY);
  crawl_journal_expect_nothing_left(port, last);
  /* Without -p it is another crawl: refused, the journal untouched. */
  const char *no_requisites[] = {"-q",        "--crawl", "--depth", "20",
                                 "--journal", journal,   seeds,     NULL};
  crawl_journal_expect_refusal(no_requisites, journal, "other options");
}
