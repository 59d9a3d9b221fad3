/* --worker across a fleet: a crawl's links when Redis refuses writes, --max-pages and --rate
 * for the whole fleet, a --redis host name resolved without blocking. A real redis-server, as
 * test_queue.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "queue_helpers.h"
#include "tests.h"

/* The union of the workers' results (each exits with `exit_code`); a URL fetched twice
 * fails the test. The caller deletes it. */
static cJSON *results_once(const struct worker *workers, size_t count, int exit_code) {
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

static void redis_config(const struct redis *redis, const char *name, const char *value) {
  const char *set[] = {"CONFIG", "SET", name, value, NULL};
  if (!strstr(redis_cli(redis, set), "OK"))
    fail_msg("CONFIG SET %s %s was refused", name, value);
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
  const char *refused = "Redis refused a page's links: OOM";
  if (!h_wait_stderr(workers[0].proc, refused, 1, 60000) &&
      !h_wait_stderr(workers[1].proc, refused, 1, 1000))
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
