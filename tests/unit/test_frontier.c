/* frontier.h: the crawler's seen-set, breadth-first queues, scopes and filters. */
#include "unit_helpers.h"

#include "afetch/frontier.h"

static struct frontier *make_frontier(enum crawl_scope scope, const char *include_regex,
                                      const char *exclude_regex) {
  char errbuf[256] = "";
  struct frontier *frontier =
      frontier_new(scope, include_regex, exclude_regex, errbuf, sizeof errbuf);
  if (!frontier)
    fail_msg("frontier_new: %s", errbuf);
  return frontier;
}

/* The seed's scope key, checked against `expected`; the caller frees it. */
static char *scope_key(const struct frontier *frontier, const char *seed, const char *expected) {
  char *key = frontier_scope_key(frontier, seed);
  assert_non_null(key);
  assert_string_equal(key, expected);
  return key;
}

static void seen_set_reports_a_url_new_once(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, NULL);
  assert_false(frontier_seen(frontier, "http://example.com/"));
  assert_true(frontier_mark_seen(frontier, "http://example.com/"));
  assert_true(frontier_seen(frontier, "http://example.com/"));
  assert_false(frontier_mark_seen(frontier, "http://example.com/"));
  assert_false(frontier_seen(frontier, "http://example.com/a"));
  assert_false(frontier_seen(frontier, ""));
  assert_true(frontier_mark_seen(frontier, ""));
  assert_true(frontier_seen(frontier, ""));
  frontier_free(frontier);
}

static void seen_set_holds_a_million_urls(void **state) {
  (void)state;
  enum { URLS = 1000000, STEP = 97 };
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, NULL);
  char url[96];
  for (unsigned i = 0; i < URLS; i++) {
    snprintf(url, sizeof url, "http://example.com/page/%u?q=%u", i, i % 7);
    assert_true(frontier_mark_seen(frontier, url));
  }
  for (unsigned i = 0; i < URLS; i++) {
    snprintf(url, sizeof url, "http://example.com/page/%u?q=%u", i, i % 7);
    assert_true(frontier_seen(frontier, url));
  }
  /* Distinct URLs, many of them one character away from a stored one, are not seen. */
  for (unsigned i = 0; i < URLS; i += STEP) {
    snprintf(url, sizeof url, "http://example.com/page/%u?q=%u", i, i % 7 + 1);
    assert_false(frontier_seen(frontier, url));
    snprintf(url, sizeof url, "http://example.com/page/%u?q=%u", i + URLS, i % 7);
    assert_false(frontier_seen(frontier, url));
    snprintf(url, sizeof url, "http://example.org/page/%u?q=%u", i, i % 7);
    assert_true(frontier_mark_seen(frontier, url));
  }
  /* Stored URLs stay found after the insertions above. */
  for (unsigned i = 0; i < URLS; i += STEP) {
    snprintf(url, sizeof url, "http://example.com/page/%u?q=%u", i, i % 7);
    assert_false(frontier_mark_seen(frontier, url));
  }
  frontier_free(frontier);
}

static void expect_pop(struct frontier *frontier, const char *url, unsigned depth,
                       const char *parent, const char *key) {
  struct frontier_entry entry;
  assert_true(frontier_pop(frontier, &entry));
  assert_string_equal(entry.url, url);
  assert_int_equal(entry.depth, depth);
  if (parent)
    assert_string_equal(entry.parent, parent);
  else
    assert_null(entry.parent);
  assert_string_equal(entry.scope_key, key);
  frontier_entry_free(&entry);
}

static void pop_takes_the_lowest_depth_first_in_push_order(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, NULL);
  struct frontier_entry entry;
  assert_false(frontier_pop(frontier, &entry));
  char url[32], parent[32];
  strcpy(url, "http://h/deep");
  strcpy(parent, "http://h/p1");
  assert_true(frontier_push(frontier, url, 2, parent, "http://h:80"));
  /* Entries own copies: the caller's buffers may change. */
  strcpy(url, "http://h/one");
  strcpy(parent, "http://h/");
  assert_true(frontier_push(frontier, url, 1, parent, "http://h:80"));
  assert_true(frontier_push(frontier, "http://h/two", 1, "http://h/", "http://h:80"));
  strcpy(url, "overwritten");
  strcpy(parent, "overwritten");
  assert_int_equal(frontier_queued(frontier), 3);
  expect_pop(frontier, "http://h/one", 1, "http://h/", "http://h:80");
  /* A late seed at depth 0 goes before everything queued. */
  assert_true(frontier_push(frontier, "http://h/seed", 0, NULL, "http://h:80"));
  expect_pop(frontier, "http://h/seed", 0, NULL, "http://h:80");
  expect_pop(frontier, "http://h/two", 1, "http://h/", "http://h:80");
  expect_pop(frontier, "http://h/deep", 2, "http://h/p1", "http://h:80");
  assert_int_equal(frontier_queued(frontier), 0);
  assert_false(frontier_pop(frontier, &entry));
  /* Depths beyond the first allocation, and entries still queued at free(). */
  assert_true(frontier_push(frontier, "http://h/far", 1000, "http://h/", "http://h:80"));
  assert_true(frontier_push(frontier, "http://h/near", 3, "http://h/", "http://h:80"));
  assert_true(frontier_push(frontier, "http://h/left", 3, "http://h/", "http://h:80"));
  expect_pop(frontier, "http://h/near", 3, "http://h/", "http://h:80");
  assert_int_equal(frontier_queued(frontier), 2);
  frontier_free(frontier);
}

static void drop_takes_the_last_entry_of_the_deepest_queue(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, "k");
  assert_false(frontier_drop_last_deeper_than(frontier, 0)); /* nothing queued yet */
  assert_true(frontier_push(frontier, "http://h/a1", 1, NULL, "k"));
  assert_true(frontier_push(frontier, "http://h/b1", 2, NULL, "k"));
  assert_true(frontier_push(frontier, "http://h/c1", 3, NULL, "k"));
  assert_true(frontier_push(frontier, "http://h/c2", 3, NULL, "k"));
  assert_true(frontier_push(frontier, "http://h/a2", 1, NULL, "k"));
  assert_false(frontier_drop_last_deeper_than(frontier, 3)); /* none deeper than 3 */
  assert_null(frontier_last_deeper_than(frontier, 3));
  assert_string_equal(frontier_last_deeper_than(frontier, 1), "http://h/c2");
  assert_true(frontier_drop_last_deeper_than(frontier, 1)); /* c2 */
  assert_string_equal(frontier_last_deeper_than(frontier, 2), "http://h/c1");
  assert_true(frontier_drop_last_deeper_than(frontier, 2)); /* c1 */
  assert_false(frontier_drop_last_deeper_than(frontier, 2));
  assert_int_equal(frontier_queued(frontier), 3);
  /* The queues stay usable at both ends. */
  assert_true(frontier_push(frontier, "http://h/c3", 3, NULL, "k"));
  expect_pop(frontier, "http://h/a1", 1, NULL, "k");
  assert_true(frontier_drop_last_deeper_than(frontier, 0)); /* c3 */
  assert_true(frontier_drop_last_deeper_than(frontier, 0)); /* b1 */
  assert_true(frontier_drop_last_deeper_than(frontier, 0)); /* a2 */
  assert_int_equal(frontier_queued(frontier), 0);
  assert_false(frontier_drop_last_deeper_than(frontier, 0));
  struct frontier_entry entry;
  assert_false(frontier_pop(frontier, &entry));
  assert_true(frontier_push(frontier, "http://h/again", 2, NULL, "k"));
  expect_pop(frontier, "http://h/again", 2, NULL, "k");
  frontier_free(frontier);
}

static void lower_moves_a_queued_entry_up_with_its_new_parent(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, "skip");
  char *key = scope_key(frontier, "http://h/", "http://h:80");
  /* Nothing queued deeper: no lookup, nothing moves. */
  assert_int_equal(frontier_lower(frontier, "http://h/x", 1, "http://h/", key), 0);
  assert_true(frontier_push(frontier, "http://h/a", 2, "http://h/p", key));
  assert_true(frontier_push(frontier, "http://h/x", 3, "http://h/m", key));
  assert_true(frontier_push(frontier, "http://h/b", 2, "http://h/p", key));
  assert_true(frontier_push(frontier, "http://h/skip", 3, "http://h/m", key));
  /* Only to a smaller depth, only when queued, only within the scope and filters. */
  assert_int_equal(frontier_lower(frontier, "http://h/x", 3, "http://h/s", key), 0);
  assert_int_equal(frontier_lower(frontier, "http://h/x", 4, "http://h/s", key), 0);
  assert_int_equal(frontier_lower(frontier, "http://h/y", 2, "http://h/s", key), 0);
  assert_int_equal(frontier_lower(frontier, "http://h/x", 2, "http://h/s", "http://o:80"), 0);
  assert_int_equal(frontier_lower(frontier, "http://h/skip", 2, "http://h/s", key), 0);
  assert_int_equal(frontier_lower(frontier, "http://h/x", 2, "http://h/s", key), 1);
  assert_int_equal(frontier_queued(frontier), 4);
  /* At the end of its new depth's queue, with the new parent. */
  expect_pop(frontier, "http://h/a", 2, "http://h/p", key);
  expect_pop(frontier, "http://h/b", 2, "http://h/p", key);
  expect_pop(frontier, "http://h/x", 2, "http://h/s", key);
  /* Once handed out it is gone from the index. */
  assert_int_equal(frontier_lower(frontier, "http://h/x", 1, "http://h/t", key), 0);
  expect_pop(frontier, "http://h/skip", 3, "http://h/m", key);
  assert_int_equal(frontier_queued(frontier), 0);
  free(key);
  frontier_free(frontier);
}

static void take_removes_a_queued_entry_among_many(void **state) {
  (void)state;
  enum { URLS = 5000 };
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, NULL);
  char url[64];
  /* Enough entries for the index to grow several times. */
  for (unsigned i = 0; i < URLS; i++) {
    snprintf(url, sizeof url, "http://h/%u", i);
    assert_true(frontier_push(frontier, url, 1 + i % 3, "http://h/", "http://h:80"));
  }
  assert_true(frontier_take(frontier, "http://h/4999"));
  assert_false(frontier_take(frontier, "http://h/4999"));
  assert_false(frontier_take(frontier, "http://h/5000"));
  assert_true(frontier_take(frontier, "http://h/0"));
  /* 4997 moves from depth 3 to 1; then the last of depth 3 is 4994. */
  assert_int_equal(frontier_lower(frontier, "http://h/4997", 1, "http://h/s", "http://h:80"), 1);
  assert_true(frontier_drop_last_deeper_than(frontier, 1));
  assert_false(frontier_take(frontier, "http://h/4994"));
  assert_int_equal(frontier_queued(frontier), URLS - 3);
  /* Every other entry is handed out once, the moved one last of depth 1. */
  struct frontier_entry entry;
  size_t popped = 0;
  char last_of_depth_1[64] = "";
  while (frontier_pop(frontier, &entry)) {
    popped++;
    if (entry.depth == 1)
      snprintf(last_of_depth_1, sizeof last_of_depth_1, "%s", entry.url);
    frontier_entry_free(&entry);
  }
  assert_int_equal(popped, URLS - 3);
  assert_string_equal(last_of_depth_1, "http://h/4997");
  for (unsigned i = 3; i < 60; i += 3) {
    snprintf(url, sizeof url, "http://h/%u", i);
    assert_false(frontier_take(frontier, url));
  }
  frontier_free(frontier);
}

static void host_scope_is_the_seed_host_and_port(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, NULL);
  char *key = scope_key(frontier, "http://Example.COM/docs/index.html", "http://example.com:80");
  assert_true(frontier_accepts(frontier, key, "http://example.com/other/page?x=1"));
  assert_true(frontier_accepts(frontier, key, "http://example.com:80/"));
  assert_true(frontier_accepts(frontier, key, "HTTP://EXAMPLE.com/Case"));
  assert_false(frontier_accepts(frontier, key, "http://example.com:8080/"));
  assert_false(frontier_accepts(frontier, key, "https://example.com/"));
  assert_false(frontier_accepts(frontier, key, "http://www.example.com/"));
  assert_false(frontier_accepts(frontier, key, "http://other.org/"));
  assert_false(frontier_accepts(frontier, key, "mailto:someone@example.com"));
  assert_false(frontier_accepts(frontier, key, "not a url"));
  assert_false(frontier_accepts(frontier, NULL, "http://example.com/"));
  free(key);
  key = scope_key(frontier, "https://example.com:8443/", "https://example.com:8443");
  assert_true(frontier_accepts(frontier, key, "https://example.com:8443/a"));
  assert_false(frontier_accepts(frontier, key, "https://example.com/a"));
  free(key);
  assert_null(frontier_scope_key(frontier, "http://exa mple.com/"));
  frontier_free(frontier);
}

static void domain_scope_is_the_registrable_domain(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_DOMAIN, NULL, NULL);
  char *key = scope_key(frontier, "http://a.example.co.uk/", "example.co.uk");
  assert_true(frontier_accepts(frontier, key, "http://b.example.co.uk/x"));
  assert_true(frontier_accepts(frontier, key, "https://example.co.uk:8443/"));
  assert_false(frontier_accepts(frontier, key, "http://other.co.uk/"));
  assert_false(frontier_accepts(frontier, key, "http://co.uk/"));
  free(key);

  key = scope_key(frontier, "http://www.Example.com/", "example.com");
  assert_true(frontier_accepts(frontier, key, "http://example.com/"));
  assert_true(frontier_accepts(frontier, key, "https://deep.sub.EXAMPLE.com/")); /* scheme too */
  assert_false(frontier_accepts(frontier, key, "http://example.org/"));
  assert_false(frontier_accepts(frontier, key, "http://notexample.com/"));
  free(key);
  key = scope_key(frontier, "http://www.BÜCHER.de/", "bücher.de"); /* UTF-8 case folding */
  assert_true(frontier_accepts(frontier, key, "http://shop.bücher.de/"));
  free(key);
  key = scope_key(frontier, "http://example.org/", "example.org");
  assert_false(frontier_accepts(frontier, key, "http://example.com/"));
  free(key);

  /* An IP address is its own domain (libpsl alone would call 127.0.0.1's "0.1"). */
  key = scope_key(frontier, "http://127.0.0.1:8080/", "127.0.0.1");
  assert_true(frontier_accepts(frontier, key, "http://127.0.0.1:9090/a"));
  assert_false(frontier_accepts(frontier, key, "http://10.0.0.1:8080/"));
  assert_false(frontier_accepts(frontier, key, "http://127.0.0.2:8080/"));
  free(key);
  key = scope_key(frontier, "http://[::1]:8080/", "[::1]");
  assert_true(frontier_accepts(frontier, key, "http://[::1]/"));
  assert_false(frontier_accepts(frontier, key, "http://[::2]:8080/"));
  free(key);
  /* So is a host without a registrable domain. */
  key = scope_key(frontier, "http://LocalHost:8080/", "localhost");
  assert_true(frontier_accepts(frontier, key, "http://localhost:9/"));
  assert_false(frontier_accepts(frontier, key, "http://example.com/"));
  free(key);
  frontier_free(frontier);
}

static void prefix_scope_is_the_seed_up_to_its_last_slash(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_PREFIX, NULL, NULL);
  char *key = scope_key(frontier, "http://h/docs/", "http://h/docs/");
  assert_true(frontier_accepts(frontier, key, "http://h/docs/a"));
  assert_true(frontier_accepts(frontier, key, "http://H:80/docs/sub/b?x=1#top"));
  assert_false(frontier_accepts(frontier, key, "http://h/other"));
  assert_false(frontier_accepts(frontier, key, "http://h/docs"));
  assert_false(frontier_accepts(frontier, key, "http://h:8080/docs/a"));
  assert_false(frontier_accepts(frontier, key, "https://h/docs/a"));
  free(key);
  free(scope_key(frontier, "http://h/docs/index.html", "http://h/docs/"));
  free(scope_key(frontier, "HTTP://H:80/docs/index.html?page=2#intro", "http://h/docs/"));
  free(scope_key(frontier, "http://h:8080/a/b/c", "http://h:8080/a/b/"));
  free(scope_key(frontier, "https://h", "https://h/"));
  free(scope_key(frontier, "https://h/?q=1", "https://h/"));
  assert_null(frontier_scope_key(frontier, "mailto:someone@h"));
  frontier_free(frontier);
}

static void include_must_match_and_exclude_must_not(void **state) {
  (void)state;
  struct frontier *frontier = make_frontier(CRAWL_SCOPE_HOST, "^http://h/(docs|api)/", "\\.pdf$");
  char *key = scope_key(frontier, "http://h/", "http://h:80");
  assert_true(frontier_accepts(frontier, key, "http://h/docs/a.html"));
  assert_true(frontier_accepts(frontier, key, "HTTP://H/api/v1#x")); /* matched once normalised */
  assert_false(frontier_accepts(frontier, key, "http://h/docs/manual.pdf"));
  assert_false(frontier_accepts(frontier, key, "http://h/blog/"));
  assert_false(frontier_accepts(frontier, key, "http://other/docs/a.html")); /* scope first */
  free(key);
  frontier_free(frontier);

  frontier = make_frontier(CRAWL_SCOPE_HOST, NULL, "logout|[?&]sort=");
  key = scope_key(frontier, "http://h/", "http://h:80");
  assert_true(frontier_accepts(frontier, key, "http://h/list"));
  assert_false(frontier_accepts(frontier, key, "http://h/list?page=2&sort=name"));
  assert_false(frontier_accepts(frontier, key, "http://h/logout"));
  free(key);
  frontier_free(frontier);
}

static void bad_regex_is_an_error_naming_the_option(void **state) {
  (void)state;
  char errbuf[256] = "";
  assert_null(frontier_new(CRAWL_SCOPE_HOST, "(unclosed", NULL, errbuf, sizeof errbuf));
  assert_true(strncmp(errbuf, "--include: ", 11) == 0);
  assert_true(strlen(errbuf) > 11);
  errbuf[0] = '\0';
  assert_null(frontier_new(CRAWL_SCOPE_DOMAIN, "ok", "[a-", errbuf, sizeof errbuf));
  assert_true(strncmp(errbuf, "--exclude: ", 11) == 0);
  assert_true(strlen(errbuf) > 11);
  /* A small buffer gets a truncated message, not an overflow. */
  char tiny[6];
  assert_null(frontier_new(CRAWL_SCOPE_HOST, "a(", NULL, tiny, sizeof tiny));
  assert_string_equal(tiny, "--inc");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(seen_set_reports_a_url_new_once),
      cmocka_unit_test(seen_set_holds_a_million_urls),
      cmocka_unit_test(pop_takes_the_lowest_depth_first_in_push_order),
      cmocka_unit_test(drop_takes_the_last_entry_of_the_deepest_queue),
      cmocka_unit_test(host_scope_is_the_seed_host_and_port),
      cmocka_unit_test(domain_scope_is_the_registrable_domain),
      cmocka_unit_test(prefix_scope_is_the_seed_up_to_its_last_slash),
      cmocka_unit_test(include_must_match_and_exclude_must_not),
      cmocka_unit_test(bad_regex_is_an_error_naming_the_option),
      cmocka_unit_test(lower_moves_a_queued_entry_up_with_its_new_parent),
      cmocka_unit_test(take_removes_a_queued_entry_among_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
