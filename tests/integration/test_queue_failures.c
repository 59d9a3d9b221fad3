/* --worker: what becomes of a failing URL across the fleet. A transient failure (as -r
 * judges it) before the entry's --max-deliveries-th delivery writes nothing: the entry is
 * delivered again (to any worker) after a backoff, its error remembered; on the last delivery
 * its failure is written and the entry goes to the dead letters with that error. Any other
 * failure is written at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "queue_helpers.h"
#include "tests.h"

/* The results for `url` in the workers' outputs, the last one in *last (tracked). */
static size_t results_for(const struct worker *workers, size_t count, const char *url,
                          const cJSON **last) {
  size_t found = 0;
  for (size_t w = 0; w < count; w++) {
    char *text = h_read_file(workers[w].output, NULL);
    if (!text)
      fail_msg("worker %zu wrote no output file", w);
    const cJSON *result;
    cJSON_ArrayForEach(result, h_parse_ndjson(text)) {
      if (strcmp(h_string(result, "url"), url) != 0)
        continue;
      found++;
      *last = result;
    }
  }
  return found;
}

/* Requests the server saw for `path` since its last /reset. */
static size_t server_requests(int port, const char *path) {
  size_t count = 0;
  const cJSON *arrival;
  cJSON_ArrayForEach(arrival, h_arrivals(port)) {
    if (strcmp(h_string(arrival, "path"), path) == 0)
      count++;
  }
  return count;
}

static const char *dead_letters(const struct redis *redis) {
  const char *range[] = {"XRANGE", "{afetch}:dead", "-", "+", NULL};
  return redis_cli(redis, range);
}

/* No error is left remembered once every entry is done. */
static void expect_no_errors_left(const struct redis *redis) {
  const char *exists[] = {"EXISTS", "{afetch}:errors", NULL};
  assert_string_equal(redis_cli(redis, exists), "0\n");
  assert_int_equal((long)queue_figure(redis, "pending"), 0);
  assert_int_equal((long)queue_figure(redis, "waiting"), 0);
}

/* Waits for the workers' exits (0, or 1 for the one that wrote a failure); their stderr. */
static const char *wait_workers(const struct worker *workers, size_t count) {
  struct h_buf *said = h_text();
  for (size_t w = 0; w < count; w++) {
    h_wait_exit(workers[w].proc, 60000);
    if (workers[w].proc->exit_code != 0 && workers[w].proc->exit_code != 1)
      fail_msg("worker %zu exited %d: %s", w, workers[w].proc->exit_code,
               workers[w].proc->err.data);
    h_text_add(said, "%s", workers[w].proc->err.data ? workers[w].proc->err.data : "");
  }
  return said->data ? said->data : "";
}

/* Good URLs, one always answering 503 and one on a closed port, 2 workers, --max-deliveries
 * 3: each failing URL is delivered 3 times (the server sees 3 requests), has one result in
 * the union of the outputs (its failure), and ends in the dead letters with deliveries 3 and
 * its last error; each good URL has one ok result. */
void queue_failing_url_ends_in_the_dead_letters(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  struct redis redis = start_redis();
  const char *failing_path = "/flaky/always/1000000?status=503";
  const char *failing = h_url(port, failing_path);
  const char *closed = h_url(h_unused_port(), "/closed");
  struct h_buf *input = h_text();
  for (int i = 0; i < 10; i++)
    h_text_add(input, "%s\n", h_url(port, h_fmt("/delay/0?i=%d", i)));
  h_text_add(input, "%s\n%s\n", failing, closed);
  enqueue(&redis, input->data, "12 of 12 lines added");
  const char *extra[] = {"--max-deliveries", "3", "--reclaim-after", "1", "--idle-exit", "1", NULL};
  struct worker workers[2] = {start_worker(&redis, extra), start_worker(&redis, extra)};
  const char *said = wait_workers(workers, 2);
  const cJSON *result = NULL;
  for (int i = 0; i < 10; i++) {
    assert_int_equal(results_for(workers, 2, h_url(port, h_fmt("/delay/0?i=%d", i)), &result), 1);
    assert_true(h_ok(result));
  }
  assert_int_equal(results_for(workers, 2, failing, &result), 1);
  assert_string_equal(h_error_code(result), "http");
  assert_int_equal((long)h_number(result, "status"), 503);
  assert_int_equal(results_for(workers, 2, closed, &result), 1);
  assert_string_equal(h_error_code(result), "connect");
  assert_int_equal(server_requests(port, failing_path), 3);

  const char *letters = dead_letters(&redis);
  if (h_count(letters, "\ndeliveries\n3\n") != 2 || !strstr(letters, failing) ||
      !strstr(letters, closed) || !strstr(letters, "\nerror\nhttp 503\n") ||
      !strstr(letters, "\nerror\nconnect: "))
    fail_msg("the dead letters are %s", letters);
  assert_int_equal((long)queue_figure(&redis, "dead_letters"), 2);
  expect_no_errors_left(&redis);
  if (!strstr(said, "given back to be delivered again") || !strstr(said, "to the dead letters"))
    fail_msg("the workers said %s", said);
}

/* A URL failing (503) on its first 2 deliveries and then answering ends with one ok result,
 * 3 requests at the server, no dead letter and no error left in Redis; the workers'
 * --stats-json count the 2 failures given back. With --per-host the partitions are leased:
 * the holder of the URL's partition takes it again. */
void queue_failure_then_success_is_one_ok_result(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  struct redis redis = start_redis();
  const char *path = "/flaky/twice/2?status=503";
  const char *url = h_url(port, path);
  enqueue(&redis, h_fmt("%s\n", url), "1 of 1 lines added");
  const char *stats[2];
  struct worker workers[2];
  for (size_t w = 0; w < 2; w++) {
    stats[w] = h_fmt("%s/stats.json", h_temp_dir());
    const char *extra[] = {"--reclaim-after", "1",      "--idle-exit", "1", "--per-host", "1",
                           "--stats-json",    stats[w], NULL};
    workers[w] = start_worker(&redis, extra);
  }
  wait_workers(workers, 2);
  h_expect_exit(workers[0].proc, 0);
  h_expect_exit(workers[1].proc, 0);
  double given_back = 0; /* --stats-json counts the two failures given back to the queue */
  for (size_t w = 0; w < 2; w++) {
    const cJSON *count =
        cJSON_GetObjectItemCaseSensitive(h_parse_json(h_read_file(stats[w], NULL)), "given_back");
    given_back += count ? cJSON_GetNumberValue(count) : 0;
  }
  assert_int_equal((long)given_back, 2);
  const cJSON *result = NULL;
  assert_int_equal(results_for(workers, 2, url, &result), 1);
  assert_true(h_ok(result));
  assert_int_equal((long)h_number(result, "status"), 200);
  assert_int_equal(server_requests(port, path), 3);
  assert_int_equal((long)queue_figure(&redis, "dead_letters"), 0);
  expect_no_errors_left(&redis);
}

/* A 404 is no transient failure: written at the first delivery, one request, no dead letter.
 * With --max-deliveries 1 there is no redelivery: a 503 is written at once and its entry
 * dead-lettered with deliveries 1. */
void queue_final_failures_are_written_at_once(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  struct redis redis = start_redis();
  const char *missing = h_url(port, "/status/404");
  enqueue(&redis, h_fmt("%s\n", missing), "1 of 1 lines added");
  const char *extra[] = {
      "--max-deliveries", "3", "--reclaim-after", "1", "--idle-exit", "0.5", NULL};
  struct worker worker = start_worker(&redis, extra);
  h_wait_exit(worker.proc, 30000);
  h_expect_exit(worker.proc, 1);
  const cJSON *result = NULL;
  assert_int_equal(results_for(&worker, 1, missing, &result), 1);
  assert_int_equal((long)h_number(result, "status"), 404);
  assert_int_equal(server_requests(port, "/status/404"), 1);
  assert_int_equal((long)queue_figure(&redis, "dead_letters"), 0);
  assert_null(strstr(worker.proc->err.data, "given back"));

  const char *path = "/flaky/once/1000000?status=503";
  const char *failing = h_url(port, path);
  enqueue(&redis, h_fmt("%s\n", failing), "1 of 1 lines added");
  const char *once[] = {"--max-deliveries", "1", "--idle-exit", "0.5", NULL};
  worker = start_worker(&redis, once);
  h_wait_exit(worker.proc, 30000);
  h_expect_exit(worker.proc, 1);
  assert_int_equal(results_for(&worker, 1, failing, &result), 1);
  assert_int_equal((long)h_number(result, "status"), 503);
  assert_int_equal(server_requests(port, path), 1);
  const char *letters = dead_letters(&redis);
  if (h_count(letters, "\ndeliveries\n1\n") != 1 || !strstr(letters, "\nerror\nhttp 503\n"))
    fail_msg("the dead letters are %s", letters);
  expect_no_errors_left(&redis);
}

static bool one_redelivering(void *arg) { return queue_figure(arg, "redelivering") == 1; }

/* While a failed entry waits to be delivered again (a long --reclaim-after: the backoff is
 * 1 s, its reclaim a quarter of 60 s away), nothing is written for it: a worker stopped
 * then (SIGTERM) has written no result, and --status shows the entry pending and
 * redelivering. */
void queue_failure_given_back_writes_nothing(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  struct redis redis = start_redis();
  const char *path = "/flaky/waiting/1000000?status=503";
  enqueue(&redis, h_fmt("%s\n", h_url(port, path)), "1 of 1 lines added");
  const char *extra[] = {"--reclaim-after", "60", NULL};
  struct worker worker = start_worker(&redis, extra);
  if (!h_wait_for(one_redelivering, &redis, 30000))
    fail_msg("the failure was not given back: %s", worker.proc->err.data);
  h_signal(worker.proc, SIGTERM);
  h_wait_exit(worker.proc, 30000);
  h_expect_exit(worker.proc, 143);
  assert_int_equal(h_count(h_read_file(worker.output, NULL), "\n"), 0);
  assert_int_equal(server_requests(port, path), 1);
  assert_int_equal((long)queue_figure(&redis, "pending"), 1);
  assert_int_equal((long)queue_figure(&redis, "dead_letters"), 0);
  const char *error[] = {"HVALS", "{afetch}:errors", NULL};
  assert_string_equal(redis_cli(&redis, error), "http 503\n");
}
