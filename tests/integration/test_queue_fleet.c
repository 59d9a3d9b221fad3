/* --worker across a fleet: a crawl's links when Redis refuses writes, --max-pages and --rate
 * for the whole fleet, a --redis host name resolved without blocking. A real redis-server, as
 * test_queue.c's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "queue_helpers.h"
#include "tests.h"

static void redis_config(const struct redis *redis, const char *name, const char *value) {
  const char *set[] = {"CONFIG", "SET", name, value, NULL};
  if (!strstr(redis_cli(redis, set), "OK"))
    fail_msg("CONFIG SET %s %s was refused", name, value);
}

/* Either of two workers said Redis refused its links. */
static bool a_worker_was_refused(void *arg) {
  struct worker *workers = arg;
  for (size_t w = 0; w < 2; w++) {
    h_collect(workers[w].proc);
    const char *said = workers[w].proc->err.data;
    if (said && strstr(said, "Redis refused a page's links: OOM"))
      return true;
  }
  return false;
}

/* Redis refuses writes mid-crawl (maxmemory with noeviction: the add script's SADD gets -OOM,
 * while XACK and XDEL, which free memory, still pass): a page whose links were refused stays
 * in the queue, its links are sent again with backoff, and once Redis takes writes again the
 * crawl ends with a one-process crawl's pages, each once. Each worker says so once. */
void queue_crawl_keeps_links_redis_refused(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *seed = h_fmt("%s\n", h_url(port, "/site/0.html"));
  const char *alone[] = {"--crawl", "--depth", "1000", "--ndjson", "-", NULL};
  struct h_proc *one = h_afetch_run(alone, seed);
  cJSON *one_results = h_parse_ndjson(one->out.data);
  struct redis redis = start_redis();
  redis_config(&redis, "maxmemory-policy", "noeviction");
  enqueue(&redis, seed, "1 of 1 lines added");
  const char *extra[] = {"--crawl", "--depth", "1000", "--idle-exit", "1", NULL};
  struct worker workers[2] = {start_worker(&redis, extra), start_worker(&redis, extra)};
  struct lines_wait wait = {&workers[0], 3};
  if (!h_wait_for(has_lines, &wait, 60000))
    fail_msg("the first worker wrote no %zu results", wait.lines);
  redis_config(&redis, "maxmemory", "1");
  if (!h_wait_for(a_worker_was_refused, workers, 60000))
    fail_msg("no worker said Redis refused the links: %s | %s", workers[0].proc->err.data,
             workers[1].proc->err.data);
  redis_config(&redis, "maxmemory", "0");
  cJSON *union_results = results_once(workers, 2, one->exit_code);
  assert_int_equal(cJSON_GetArraySize(union_results), cJSON_GetArraySize(one_results));
  assert_string_equal(final_urls(union_results), final_urls(one_results));
  for (size_t w = 0; w < 2; w++) {
    const char *said = workers[w].proc->err.data ? workers[w].proc->err.data : "";
    assert_true(h_count(said, "refused a page's links") <= 1);
    assert_int_equal(h_count(said, "refused a page's links"),
                     h_count(said, "Redis takes the links again"));
  }
  cJSON_Delete(union_results);
}

/* --max-pages 20 with 3 workers crawling: the add script refuses links once the queue has
 * had 20 entries (the seed included), so the fleet fetches 20 pages in all, each once,
 * numbered 0..19. */
void queue_crawl_max_pages_holds_for_the_fleet(void **state) {
  (void)state;
  struct redis redis = start_redis();
  enqueue(&redis, h_fmt("%s\n", h_url(h_http->http_port, "/site/0.html")), "1 of 1 lines added");
  const char *extra[] = {"--crawl", "--depth", "1000", "--max-pages", "20", "--idle-exit", "1",
                         NULL};
  struct worker workers[3];
  for (size_t w = 0; w < 3; w++)
    workers[w] = start_worker(&redis, extra);
  cJSON *union_results = results_once(workers, 3, 0);
  assert_int_equal(cJSON_GetArraySize(union_results), 20);
  const cJSON *result;
  cJSON_ArrayForEach(result, union_results) {
    assert_true(h_ok(result));
    assert_true(h_number(result, "index") >= 0 && h_number(result, "index") < 20);
  }
  const char *counter[] = {"GET", "{afetch}:index", NULL};
  assert_string_equal(redis_cli(&redis, counter), "20\n");
  cJSON_Delete(union_results);
}

struct registered_wait {
  const struct redis *redis;
  size_t workers;
  double since_ms; /* 0: until `workers` are in the set; else until each scored after it */
};

/* The workers' set holds `workers`, each heard of after since_ms (set to the newest score
 * when it is 0). */
static bool workers_registered(void *arg) {
  struct registered_wait *wait = arg;
  const char *range[] = {"ZRANGE", "{afetch}:workers", "0", "-1", "WITHSCORES", NULL};
  char *text = h_fmt("%s", redis_cli(wait->redis, range));
  size_t count = 0;
  double oldest = 0, newest = 0;
  /* Member and score on lines of their own: every second line is a score. */
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (!(line = strtok(NULL, "\n")))
      break;
    double score = atof(line);
    oldest = count == 0 || score < oldest ? score : oldest;
    newest = score > newest ? score : newest;
    count++;
  }
  if (count != wait->workers)
    return false;
  if (wait->since_ms == 0) {
    wait->since_ms = newest;
    return false;
  }
  return oldest > wait->since_ms;
}

/* --rate 20/s with 2 workers: each starts its share (10/s), so the server sees the fleet's
 * starts at 20/s at most: 60 URLs take at least 56 / 20 s (each worker's bucket may start
 * one at once, and the arrival times jitter), and no stretch has more than 20/s plus that
 * burst. The workers first both count each other (their set's scores), then the URLs come. */
void queue_rate_is_shared_by_the_fleet(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  struct redis redis = start_redis();
  const char *extra[] = {"-c", "1", "--rate", "20/s", NULL}; /* each holds 32 at most */
  struct worker workers[2] = {start_worker(&redis, extra), start_worker(&redis, extra)};
  struct registered_wait registered = {&redis, 2, 0};
  if (!h_wait_for(workers_registered, &registered, 30000))
    fail_msg("the two workers did not both count each other");
  h_reset(server->http_port);
  size_t count = 60;
  enqueue(&redis, numbered_urls(server->http_port, count, 0), h_fmt("%zu of %zu", count, count));
  bool reached = false;
  h_wait_stats(server->http_port, 0, (long)count, 60000, &reached);
  if (!reached)
    fail_msg("the server did not see %zu requests", count);
  for (size_t w = 0; w < 2; w++) {
    h_signal(workers[w].proc, SIGTERM);
    h_wait_exit(workers[w].proc, 30000);
    h_expect_exit(workers[w].proc, 143);
  }
  double times[60];
  size_t n = 0;
  const cJSON *arrival;
  cJSON_ArrayForEach(arrival, h_arrivals(server->http_port)) if (n < count) times[n++] =
      h_number(arrival, "t");
  assert_int_equal(n, count);
  if (times[count - 1] - times[0] < (double)(count - 4) / 20 - 0.1)
    fail_msg("60 starts in %.3f s: faster than 20/s", times[count - 1] - times[0]);
  for (size_t i = 0; i < count; i++)
    for (size_t j = i + 1; j < count; j++)
      if ((double)(j - i) > 20 * 1.05 * (times[j] - times[i]) + 4)
        fail_msg("%zu starts in %.3f s", j - i + 1, times[j] - times[i]);
  unsigned seen[60] = {0};
  assert_int_equal(tally(workers, 2, seen, count, server->http_port, true), count);
}

/* --redis redis://localhost:PORT: the worker looks the name up without blocking (evdns) before
 * each connect, also after Redis was SIGKILLed and started again (its append-only file keeps
 * the queue): every URL gets its result (twice at most: an acknowledgement Redis lost), and
 * the messages name the host as given. */
void queue_worker_reaches_redis_by_host_name(void **state) {
  (void)state;
  const char *dir = h_temp_dir();
  struct redis redis = start_redis_on(h_unused_port(), dir);
  size_t count = queue_urls(1000);
  int port = h_http->http_port;
  enqueue(&redis, numbered_urls(port, count, 2), h_fmt("%zu of %zu", count, count));
  struct redis by_name = redis;
  by_name.url = h_fmt("redis://localhost:%d", redis.port);
  const char *extra[] = {"-c", "5", "--idle-exit", "1", "--reclaim-after", "1", NULL};
  struct worker worker = start_worker(&by_name, extra);
  struct lines_wait wait = {&worker, count / 10};
  if (!h_wait_for(has_lines, &wait, 60000))
    fail_msg("the worker wrote no %zu results: %s", wait.lines, worker.proc->err.data);
  h_signal(redis.proc, SIGKILL);
  h_wait_exit(redis.proc, 10000);
  start_redis_on(redis.port, dir);
  h_wait_exit(worker.proc, 120000);
  h_expect_exit(worker.proc, 0);
  if (!strstr(worker.proc->err.data, h_fmt("Redis at localhost:%d", redis.port)) ||
      !strstr(worker.proc->err.data, "is back"))
    fail_msg("the worker did not see Redis at localhost go and come back: %s",
             worker.proc->err.data);
  unsigned *seen = h_calloc(count, sizeof *seen);
  size_t results = tally(&worker, 1, seen, count, port, true);
  for (size_t i = 0; i < count; i++)
    if (seen[i] == 0 || seen[i] > 2)
      fail_msg("index %zu has %u results", i, seen[i]);
  assert_true(results - count <= 5 + 20); /* its slots and read-ahead */
}
