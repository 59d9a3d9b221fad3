/* --redis: a work queue on a real redis-server (started here on a free port, no persistence,
 * stopped by h_teardown()) shared by several afetch processes. redis-server is a test
 * dependency (.ci/install-deps.sh): a machine without it fails these tests, never skips them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "queue_helpers.h"
#include "tests.h"

/* The inline and threaded runs of the suite (AFETCH_TEST_ARGS set) use fewer URLs: the same
 * paths, a third of the time. */
size_t queue_urls(size_t full) {
  const char *variant = getenv("AFETCH_TEST_ARGS");
  return variant && *variant ? full / 5 : full;
}

/* A redis-server on `port`, ready for commands: without persistence, or with `dir` (non-NULL)
 * its append-only file synced at every write, so that a restart finds everything again. */
struct redis start_redis_on(int port, const char *dir) {
  struct redis redis = {.port = port};
  const char *argv[] = {"redis-server",
                        "--port",
                        h_fmt("%d", port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--protected-mode",
                        "no",
                        "--appendonly",
                        dir ? "yes" : "no",
                        "--appendfsync",
                        "always",
                        "--dir",
                        dir ? dir : "/",
                        NULL};
  redis.proc = h_spawn(argv);
  if (!h_wait_output(redis.proc, "Ready to accept connections", 1, 10000))
    fail_msg("redis-server did not start (it is a test dependency: .ci/install-deps.sh "
             "installs it); its output: %s %s",
             redis.proc->out.data ? redis.proc->out.data : "",
             redis.proc->err.data ? redis.proc->err.data : "");
  redis.url = h_fmt("redis://127.0.0.1:%d", redis.port);
  return redis;
}

struct redis start_redis(void) { return start_redis_on(h_unused_port(), NULL); }

/* redis-cli's answer (raw, one value a line) to one command. */
const char *redis_cli(const struct redis *redis, const char *const *command) {
  const char *argv[24] = {"redis-cli", "--raw", "-p", h_fmt("%d", redis->port)};
  size_t argc = 4;
  for (size_t i = 0; command[i] && argc < 23; i++)
    argv[argc++] = command[i];
  argv[argc] = NULL;
  struct h_proc *proc = h_spawn(argv);
  h_close_stdin(proc);
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 0);
  return proc->out.data ? proc->out.data : "";
}

double queue_figure(const struct redis *redis, const char *key) {
  const char *args[] = {"--redis", redis->url, "--status", NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  h_expect_exit(proc, 0);
  return h_number(h_parse_json(proc->out.data), key);
}

/* Lines /delay/MS?i=N for N in 0..count-1. */
const char *numbered_urls(int port, size_t count, int delay_ms) {
  struct h_buf *text = h_text();
  for (size_t i = 0; i < count; i++)
    h_text_add(text, "http://127.0.0.1:%d/delay/%d?i=%zu\n", port, delay_ms, i);
  return text->data;
}

void enqueue(const struct redis *redis, const char *input, const char *said) {
  const char *args[] = {"--redis", redis->url, "--enqueue", NULL};
  struct h_proc *proc = h_afetch_run(args, input);
  h_expect_exit(proc, 0);
  if (!strstr(proc->err.data, said))
    fail_msg("--enqueue said '%s', not '%s'", proc->err.data, said);
}

struct worker start_worker(const struct redis *redis, const char *const *extra) {
  const char *args[24] = {"--redis", redis->url, "--worker"};
  size_t argc = 3;
  for (size_t i = 0; extra[i] && argc < 23; i++)
    args[argc++] = extra[i];
  args[argc] = NULL;
  struct worker worker = {.output = h_fmt("%s/out", h_temp_dir())};
  const char *command =
      h_fmt("exec %s > %s", h_afetch_shell_command(args), h_shell_quote(worker.output));
  const char *argv[] = {"sh", "-c", command, NULL};
  worker.proc = h_spawn(argv);
  h_close_stdin(worker.proc);
  return worker;
}

/* Lines in a worker's output so far. */
size_t output_lines(const struct worker *worker) {
  char *text = h_read_file(worker->output, NULL);
  return text ? h_count(text, "\n") : 0;
}

bool has_lines(void *arg) {
  const struct lines_wait *wait = arg;
  return output_lines(wait->worker) >= wait->lines;
}

/* Counts every result of the workers' outputs by index (into `seen`, `count` entries), checks
 * its URL is the one enqueued under that index and, with `ok`, that it is ok. The number of
 * results. */
size_t tally(const struct worker *workers, size_t worker_count, unsigned *seen, size_t count,
                    int port, bool ok) {
  size_t results = 0;
  for (size_t w = 0; w < worker_count; w++) {
    char *text = h_read_file(workers[w].output, NULL);
    if (!text)
      fail_msg("worker %zu wrote no output file", w);
    const cJSON *result;
    cJSON *parsed = h_parse_ndjson(text);
    cJSON_ArrayForEach(result, parsed) {
      long index = (long)h_number(result, "index");
      if (index < 0 || (size_t)index >= count)
        fail_msg("worker %zu: index %ld is out of range", w, index);
      const char *url = h_string(result, "url");
      if (!strstr(url, h_fmt(":%d/", port)) || !strstr(url, h_fmt("?i=%ld", index)) ||
          strlen(strstr(url, "?i=")) != strlen(h_fmt("?i=%ld", index)))
        fail_msg("worker %zu: index %ld has the URL %s", w, index, url);
      if (ok && !h_ok(result))
        fail_msg("worker %zu: index %ld is not ok", w, index);
      seen[index]++;
      results++;
    }
  }
  return results;
}

/* 3 workers x 10,000 URLs (2,000 in the inline and threaded runs): every URL's result exactly
 * once in the union of their outputs, under the index --enqueue gave it; a second --enqueue
 * of the same lines adds none; the queue is empty afterwards. */
void queue_workers_fetch_each_entry_once(void **state) {
  (void)state;
  struct redis redis = start_redis();
  size_t count = queue_urls(10000);
  const char *input = numbered_urls(h_http->http_port, count, 0);
  enqueue(&redis, input, h_fmt("%zu of %zu lines added", count, count));
  enqueue(&redis, input, h_fmt("0 of %zu lines added", count));
  assert_int_equal((long)queue_figure(&redis, "waiting"), (long)count);
  struct worker workers[3];
  const char *extra[] = {"-c", "30", "--idle-exit", "1", NULL};
  for (size_t w = 0; w < 3; w++)
    workers[w] = start_worker(&redis, extra);
  for (size_t w = 0; w < 3; w++) {
    h_wait_exit(workers[w].proc, 120000);
    h_expect_exit(workers[w].proc, 0);
  }
  unsigned *seen = h_calloc(count, sizeof *seen);
  assert_int_equal(tally(workers, 3, seen, count, h_http->http_port, true), count);
  for (size_t i = 0; i < count; i++)
    if (seen[i] != 1)
      fail_msg("index %zu has %u results", i, seen[i]);
  assert_int_equal((long)queue_figure(&redis, "waiting"), 0);
  assert_int_equal((long)queue_figure(&redis, "pending"), 0);
}

/* A worker SIGKILLed mid-run: its entries are reclaimed after --reclaim-after, so every URL
 * still gets a result; a URL with two results is one the killed worker had written (and not
 * yet acknowledged), and there are at most what it held (its slots and its read-ahead). A
 * worker's SIGTERM drains: it exits 143 with no "cancelled" result. */
void queue_survives_a_killed_worker(void **state) {
  (void)state;
  struct redis redis = start_redis();
  size_t count = queue_urls(3000);
  int port = h_http->http_port;
  enqueue(&redis, numbered_urls(port, count, 5), h_fmt("%zu of %zu", count, count));
  const char *extra[] = {"-c", "10", "--idle-exit", "1", "--reclaim-after", "1", NULL};
  struct worker workers[3];
  for (size_t w = 0; w < 3; w++)
    workers[w] = start_worker(&redis, extra);
  struct lines_wait wait = {&workers[0], count / 10};
  if (!h_wait_for(has_lines, &wait, 60000))
    fail_msg("the first worker wrote no %zu results", wait.lines);
  h_signal(workers[0].proc, SIGKILL);
  h_wait_exit(workers[0].proc, 10000);
  wait = (struct lines_wait){&workers[1], count / 5};
  if (!h_wait_for(has_lines, &wait, 60000))
    fail_msg("the second worker wrote no %zu results", wait.lines);
  h_signal(workers[1].proc, SIGTERM);
  h_wait_exit(workers[1].proc, 30000);
  h_expect_exit(workers[1].proc, 143);
  h_wait_exit(workers[2].proc, 120000);
  h_expect_exit(workers[2].proc, 0);
  unsigned *seen = h_calloc(count, sizeof *seen);
  size_t results = tally(workers, 3, seen, count, port, true); /* "cancelled" is not ok */
  unsigned *killed = h_calloc(count, sizeof *killed);
  tally(workers, 1, killed, count, port, true);
  size_t duplicates = 0;
  for (size_t i = 0; i < count; i++) {
    if (seen[i] == 0)
      fail_msg("index %zu has no result", i);
    if (seen[i] > 1 && (seen[i] > 2 || !killed[i]))
      fail_msg("index %zu has %u results, %u of them the killed worker's", i, seen[i], killed[i]);
    duplicates += seen[i] - 1;
  }
  assert_int_equal(results, count + duplicates);
  assert_true(duplicates <= 2 * 10 + 10); /* its slots, its read-ahead, a write's worth */
  assert_int_equal((long)queue_figure(&redis, "pending"), 0);
}

/* redis-server SIGSTOPped mid-run: the workers take nothing new (they finish what they hold)
 * and go on once it is SIGCONTed, nothing lost nor doubled. A worker with --redis-timeout
 * gives up on a stopped Redis with exit status 3. */
void queue_waits_for_a_stopped_redis(void **state) {
  (void)state;
  struct redis redis = start_redis();
  size_t count = queue_urls(2000);
  int port = h_http->http_port;
  enqueue(&redis, numbered_urls(port, count, 2), h_fmt("%zu of %zu", count, count));
  const char *extra[] = {"-c", "10", "--idle-exit", "1", NULL};
  struct worker workers[2] = {start_worker(&redis, extra), start_worker(&redis, extra)};
  struct lines_wait wait = {&workers[0], count / 10};
  if (!h_wait_for(has_lines, &wait, 60000))
    fail_msg("the first worker wrote no %zu results", wait.lines);
  h_signal(redis.proc, SIGSTOP);
  const char *timeout_extra[] = {"--redis-timeout", "1", NULL};
  struct worker giving_up = start_worker(&redis, timeout_extra);
  h_wait_exit(giving_up.proc, 20000);
  h_expect_exit(giving_up.proc, 3);
  /* While stopped, at most what they held comes out: their slots and read-ahead. */
  size_t during[2] = {output_lines(&workers[0]), output_lines(&workers[1])};
  size_t stopped_total = during[0] + during[1];
  assert_true(stopped_total < count);
  h_signal(redis.proc, SIGCONT);
  for (size_t w = 0; w < 2; w++) {
    h_wait_exit(workers[w].proc, 120000);
    h_expect_exit(workers[w].proc, 0);
  }
  unsigned *seen = h_calloc(count, sizeof *seen);
  assert_int_equal(tally(workers, 2, seen, count, port, true), count);
  for (size_t i = 0; i < count; i++)
    if (seen[i] != 1)
      fail_msg("index %zu has %u results", i, seen[i]);
}

/* A queue entry that is no usable request gets its invalid_input result and is acknowledged;
 * one delivered more than --max-deliveries times (to workers that vanished: here redis-cli
 * reads it three times) goes to the dead letters with its last error. */
void queue_invalid_entries_and_dead_letters(void **state) {
  (void)state;
  struct redis redis = start_redis();
  const char *key = "{afetch}:p:0";
  const char *group[] = {"XGROUP", "CREATE", key, "afetch", "0", "MKSTREAM", NULL};
  redis_cli(&redis, group);
  const char *invalid[] = {"XADD", key, "1-1", "line", "{\"url\": 5}", "index", "7", NULL};
  redis_cli(&redis, invalid);
  const char *extra[] = {"--idle-exit", "0.5", NULL};
  struct worker worker = start_worker(&redis, extra);
  h_wait_exit(worker.proc, 30000);
  h_expect_exit(worker.proc, 1);
  cJSON *results = h_parse_ndjson(h_read_file(worker.output, NULL));
  assert_int_equal(cJSON_GetArraySize(results), 1);
  assert_int_equal((long)h_number(cJSON_GetArrayItem(results, 0), "index"), 7);
  assert_string_equal(h_error_code(cJSON_GetArrayItem(results, 0)), "invalid_input");
  assert_int_equal((long)queue_figure(&redis, "pending"), 0);
  assert_int_equal((long)queue_figure(&redis, "waiting"), 0);

  const char *poison[] = {"XADD",  key, "2-1", "line", h_url(h_http->http_port, "/any/dead"),
                          "index", "8", NULL};
  redis_cli(&redis, poison);
  const char *read[] = {"XREADGROUP", "GROUP", "afetch", "ghost", "STREAMS", key, ">", NULL};
  redis_cli(&redis, read);
  const char *claim[] = {"XCLAIM", key, "afetch", "ghost", "0", "2-1", NULL};
  redis_cli(&redis, claim);
  redis_cli(&redis, claim); /* delivered three times */
  const char *dead_extra[] = {"--idle-exit", "0.5", "--reclaim-after", "1", "--max-deliveries",
                              "3",           NULL};
  worker = start_worker(&redis, dead_extra);
  h_wait_exit(worker.proc, 30000);
  h_expect_exit(worker.proc, 0);
  assert_int_equal(h_count(h_read_file(worker.output, NULL), "\n"), 0);
  assert_int_equal((long)queue_figure(&redis, "dead_letters"), 1);
  assert_int_equal((long)queue_figure(&redis, "pending"), 0);
  const char *dead[] = {"XRANGE", "{afetch}:dead", "-", "+", NULL};
  const char *letter = redis_cli(&redis, dead);
  if (!strstr(letter, "/any/dead") || !strstr(letter, "delivered 4 times"))
    fail_msg("the dead letter is %s", letter);
}

/* Usage errors exit 2 with a message, before anything is fetched; an unreachable Redis is
 * exit status 3 for --enqueue and --status. */
void queue_refusals_exit_2_and_unreachable_redis_3(void **state) {
  (void)state;
  static const char *const refused[][6] = {
      {"--redis", "http://127.0.0.1:6379", "--worker", NULL},
      {"--redis", "redis://127.0.0.1:99999", "--worker", NULL},
      {"--redis", "redis://127.0.0.1:6379/x", "--worker", NULL},
      {"--redis", "redis:///", "--status", NULL},
      {"--redis", "redis://127.0.0.1", "--worker", "--enqueue", NULL},
      {"--redis", "redis://127.0.0.1", NULL},
      {"--worker", NULL},
      {"--redis", "redis://127.0.0.1", "--worker", "urls.txt", NULL},
      {"--redis", "redis://127.0.0.1", "--enqueue", "--idle-exit", "1", NULL},
      {"--queue", "q", "http://127.0.0.1/", NULL},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    struct h_proc *proc = h_afetch_run(refused[i], "");
    h_expect_exit(proc, 2);
    if (!strstr(proc->err.data, "afetch: "))
      fail_msg("%s: no message", proc->cmdline);
  }
  const char *url = h_fmt("redis://127.0.0.1:%d", h_unused_port());
  const char *enqueue_args[] = {"--redis", url, "--enqueue", NULL};
  struct h_proc *proc = h_afetch_run(enqueue_args, "http://127.0.0.1/\n");
  h_expect_exit(proc, 3);
  assert_non_null(strstr(proc->err.data, "cannot reach Redis"));
  const char *status_args[] = {"--redis", url, "--status", NULL};
  h_expect_exit(h_afetch_run(status_args, NULL), 3);
}

/* redis-server SIGKILLed mid-run and started again (its append-only file keeps the queue):
 * the workers reconnect, take up the queue again, and every URL gets its result; a result
 * twice is one whose acknowledgement Redis lost with its death. */
void queue_reconnects_when_redis_restarts(void **state) {
  (void)state;
  const char *dir = h_temp_dir();
  struct redis redis = start_redis_on(h_unused_port(), dir);
  size_t count = queue_urls(2000);
  int port = h_http->http_port;
  enqueue(&redis, numbered_urls(port, count, 2), h_fmt("%zu of %zu", count, count));
  const char *extra[] = {"-c", "10", "--idle-exit", "1", "--reclaim-after", "1", NULL};
  struct worker workers[2] = {start_worker(&redis, extra), start_worker(&redis, extra)};
  struct lines_wait wait = {&workers[0], count / 10};
  if (!h_wait_for(has_lines, &wait, 60000))
    fail_msg("the first worker wrote no %zu results", wait.lines);
  h_signal(redis.proc, SIGKILL);
  h_wait_exit(redis.proc, 10000);
  start_redis_on(redis.port, dir);
  for (size_t w = 0; w < 2; w++) {
    h_wait_exit(workers[w].proc, 120000);
    h_expect_exit(workers[w].proc, 0);
  }
  /* The first worker was connected (it had written results); the second may have been
   * starting still. */
  if (!strstr(workers[0].proc->err.data, "trying again") ||
      !strstr(workers[0].proc->err.data, "is back"))
    fail_msg("the first worker did not see Redis go and come back: %s",
             workers[0].proc->err.data);
  unsigned *seen = h_calloc(count, sizeof *seen);
  size_t results = tally(workers, 2, seen, count, port, true);
  for (size_t i = 0; i < count; i++)
    if (seen[i] == 0 || seen[i] > 2)
      fail_msg("index %zu has %u results", i, seen[i]);
  assert_true(results - count <= 2 * (10 + 10)); /* what the two held */
  assert_int_equal((long)queue_figure(&redis, "pending"), 0);
  assert_int_equal((long)queue_figure(&redis, "waiting"), 0);
}

/* --per-host 2 with 3 workers: a host's partition is leased to one worker at a time, so the
 * server never sees more than 2 requests of the host in flight, and each URL is fetched
 * once. */
void queue_per_host_holds_across_workers(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  struct redis redis = start_redis();
  size_t count = 120;
  enqueue(&redis, numbered_urls(server->http_port, count, 20), h_fmt("%zu of %zu", count, count));
  h_reset(server->http_port);
  const char *extra[] = {"-c", "10", "--per-host", "2", "--idle-exit", "1", "--reclaim-after",
                         "2",  NULL};
  struct worker workers[3];
  for (size_t w = 0; w < 3; w++)
    workers[w] = start_worker(&redis, extra);
  for (size_t w = 0; w < 3; w++) {
    h_wait_exit(workers[w].proc, 120000);
    h_expect_exit(workers[w].proc, 0);
  }
  unsigned *seen = h_calloc(count, sizeof *seen);
  assert_int_equal(tally(workers, 3, seen, count, server->http_port, true), count);
  struct h_stats stats = h_stats(server->http_port);
  assert_int_equal(stats.requests, (long)count);
  if (stats.max_in_flight > 2)
    fail_msg("the server saw %ld requests of its one host in flight at once", stats.max_in_flight);
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The final URLs of a run's ok results, each once, sorted, one a line (tracked). */
const char *final_urls(cJSON *results) {
  size_t count = (size_t)cJSON_GetArraySize(results), kept = 0;
  const char **urls = h_calloc(count + 1, sizeof *urls);
  const cJSON *result;
  cJSON_ArrayForEach(result, results) if (h_ok(result)) urls[kept++] =
      h_string(result, "final_url");
  qsort(urls, kept, sizeof *urls, compare_strings);
  struct h_buf *text = h_text();
  for (size_t i = 0; i < kept; i++)
    if (i == 0 || strcmp(urls[i], urls[i - 1]) != 0)
      h_text_add(text, "%s\n", urls[i]);
  return text->data ? text->data : "";
}

/* The union of the workers' results (each exits with `exit_code`); a URL fetched twice
 * fails the test. The caller deletes it. */
cJSON *results_once(const struct worker *workers, size_t count, int exit_code) {
  cJSON *union_results = cJSON_CreateArray();
  struct h_buf *urls = h_text();
  for (size_t w = 0; w < count; w++) {
    h_wait_exit(workers[w].proc, 120000);
    h_expect_exit(workers[w].proc, exit_code);
    cJSON *part = h_parse_ndjson(h_read_file(workers[w].output, NULL));
    const cJSON *result;
    cJSON_ArrayForEach(result, part) {
      const char *url = h_fmt("\n%s\n", h_string(result, "url"));
      if (urls->data && strstr(urls->data, url))
        fail_msg("%s was fetched twice", h_string(result, "url"));
      h_text_add(urls, "%s", url);
      cJSON_AddItemToArray(union_results, cJSON_Duplicate(result, true));
    }
  }
  return union_results;
}

/* A crawl of the generated site across 3 workers (--crawl: each page's links go to the queue,
 * each once cluster-wide) fetches each URL once, and the pages it reaches are a one-process
 * crawl's. */
void queue_crawl_across_workers_equals_one_process(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *seed = h_fmt("%s\n", h_url(port, "/site/0.html"));
  const char *alone[] = {"--crawl", "--depth", "1000", "--ndjson", "-", NULL};
  struct h_proc *one = h_afetch_run(alone, seed);
  cJSON *one_results = h_parse_ndjson(one->out.data);
  struct redis redis = start_redis();
  enqueue(&redis, seed, "1 of 1 lines added");
  const char *extra[] = {"--crawl", "--depth", "1000", "--idle-exit", "1", NULL};
  struct worker workers[3];
  for (size_t w = 0; w < 3; w++)
    workers[w] = start_worker(&redis, extra);
  cJSON *union_results = results_once(workers, 3, one->exit_code);
  assert_int_equal(cJSON_GetArraySize(union_results), cJSON_GetArraySize(one_results));
  assert_true(cJSON_GetArraySize(one_results) > 300);
  assert_string_equal(final_urls(union_results), final_urls(one_results));
  cJSON_Delete(union_results);
}

/* A worker's options without --redis --worker are refused (exit 2), not ignored: a user who
 * forgot --worker must not get a plain run that never exits on --idle-exit. */
void queue_worker_options_without_a_worker_exit_2(void **state) {
  (void)state;
  static const char *const refused[][4] = {
      {"--idle-exit", "1", "http://127.0.0.1:1/", NULL},
      {"--reclaim-after", "5", "http://127.0.0.1:1/", NULL},
      {"--max-deliveries", "3", "http://127.0.0.1:1/", NULL},
      {"--redis-timeout", "5", "http://127.0.0.1:1/", NULL},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    struct h_proc *proc = h_afetch_run(refused[i], "");
    h_expect_exit(proc, 2);
    if (!strstr(proc->err.data, "need --worker"))
      fail_msg("%s: no message naming --worker: %s", proc->cmdline, proc->err.data);
    assert_non_null(strstr(proc->err.data, "Usage: afetch"));
  }
}
