/* crawler.h: the breadth-first walk within --depth and --max-pages. */
#include "unit_helpers.h"

#include "afetch/crawler.h"
#include "afetch/frontier.h"
#include "afetch/options.h"
#include "afetch/outcome.h"
#include "afetch/request.h"

struct fixture {
  struct afetch_options options;
  struct frontier *frontier;
  struct crawler *crawler;
  struct request *jobs[8];    /* freed by teardown */
  struct page_links found[8]; /* found[i]: links of jobs[i] when it comes back */
  size_t job_count;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  f->options.crawl = true;
  f->options.depth = 1000;
  f->options.scope = CRAWL_SCOPE_HOST;
  char errbuf[256];
  f->frontier = frontier_new(CRAWL_SCOPE_HOST, NULL, NULL, errbuf, sizeof errbuf);
  if (!f->frontier)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  for (size_t i = 0; i < f->job_count; i++) {
    request_free(f->jobs[i]);
    page_links_clear(&f->found[i]);
  }
  crawler_free(f->crawler);
  frontier_free(f->frontier);
  free(f);
  return 0;
}

static void start_crawler(struct fixture *f, unsigned long max_pages) {
  f->options.max_pages = max_pages;
  f->crawler = crawler_new(&f->options, f->frontier);
  assert_non_null(f->crawler);
}

static struct request *keep(struct fixture *f, struct request *job) {
  assert_non_null(job);
  assert_true(f->job_count < HELPER_COUNT(f->jobs));
  f->jobs[f->job_count++] = job;
  return job;
}

/* Where the links found on `page` go (as a worker's task collects them). */
static struct page_links *links_of(struct fixture *f, const struct request *page) {
  for (size_t i = 0; i < f->job_count; i++)
    if (f->jobs[i] == page)
      return &f->found[i];
  fail();
  return NULL;
}

/* The page's ok outcome, with the links added so far, goes to the crawler. */
static bool page_done(struct fixture *f, const struct request *page) {
  struct page_links *found = links_of(f, page);
  struct outcome *outcome = outcome_new(&(struct outcome){.ok = true, .found = *found}, "", 0);
  assert_non_null(outcome);
  *found = (struct page_links){0};
  bool done = crawler_page_done(f->crawler, page, outcome);
  outcome_free(outcome);
  return done;
}

static struct request *admit_seed(struct fixture *f, const char *url) {
  struct request *seed = keep(f, request_new_url(0, url));
  assert_true(crawler_admit_seed(f->crawler, seed));
  return seed;
}

static struct request *next_page(struct fixture *f, const char *expected_url) {
  bool failed;
  struct request *page = keep(f, crawler_next_page(f->crawler, 0, &failed));
  assert_false(failed);
  assert_string_equal(page->url, expected_url);
  return page;
}

/* The page came back ok with links http://h/PREFIX0 .. PREFIX(count-1). */
static void page_done_with_links(struct fixture *f, struct request *page, const char *prefix,
                                 unsigned count) {
  char url[64];
  for (unsigned i = 0; i < count; i++) {
    snprintf(url, sizeof url, "http://h/%s%u", prefix, i);
    assert_true(page_links_add_link(links_of(f, page), url));
  }
  assert_true(page_done(f, page));
}

static void crawler_queues_no_more_pages_than_max_pages_has_left(void **state) {
  /* A crawl trap: every page links to ever new pages. What is queued beyond the budget would
   * never be fetched, so it is neither queued nor remembered as seen. */
  struct fixture *f = *state;
  start_crawler(f, 10);
  struct request *seed = admit_seed(f, "http://h/");
  page_done_with_links(f, seed, "p", 1000);
  assert_int_equal(frontier_queued(f->frontier), 9);
  assert_true(frontier_seen(f->frontier, "http://h/p8"));
  assert_false(frontier_seen(f->frontier, "http://h/p9"));
  assert_false(frontier_seen(f->frontier, "http://h/p999"));
  struct request *page = next_page(f, "http://h/p0");
  page_done_with_links(f, page, "q", 1000);
  assert_int_equal(frontier_queued(f->frontier), 8); /* p1..p8: none deeper to give way */
}

static void crawler_without_max_pages_queues_every_link(void **state) {
  struct fixture *f = *state;
  start_crawler(f, 0);
  struct request *seed = admit_seed(f, "http://h/");
  page_done_with_links(f, seed, "p", 1000);
  assert_int_equal(frontier_queued(f->frontier), 1000);
}

static void crawler_gives_a_shallow_link_found_late_the_place_of_a_deeper_one(void **state) {
  /* Breadth first: a depth-1 link found after depth-2 ones filled the budget is fetched
   * before them, as it would be without the cap. */
  struct fixture *f = *state;
  start_crawler(f, 4);
  struct request *first = admit_seed(f, "http://h/s1");
  struct request *second = admit_seed(f, "http://h/s2");
  page_done_with_links(f, first, "a", 1);
  struct request *a0 = next_page(f, "http://h/a0");
  page_done_with_links(f, a0, "b", 2); /* b0 fills the budget: 3 pages out, 1 queued */
  assert_int_equal(frontier_queued(f->frontier), 1);
  assert_false(frontier_seen(f->frontier, "http://h/b1"));
  page_done_with_links(f, second, "c", 1); /* c0 takes b0's place */
  assert_int_equal(frontier_queued(f->frontier), 1);
  crawler_page_gone(f->crawler, first);
  crawler_page_gone(f->crawler, second);
  next_page(f, "http://h/c0");
  assert_false(crawler_has_budget(f->crawler));
}

static void crawler_records_what_each_page_changed_and_replays_a_committed_one(void **state) {
  /* --journal: the links a page queued and the ones it dropped to make room are recorded,
   * and a page committed earlier is taken out of the queue and counted when replayed. */
  struct fixture *f = *state;
  start_crawler(f, 4);
  crawler_record_changes(f->crawler);
  struct request *first = admit_seed(f, "http://h/s1");
  struct request *second = admit_seed(f, "http://h/s2");
  page_done_with_links(f, first, "a", 1);
  struct crawler_changes changes;
  assert_true(crawler_last_changes(f->crawler, &changes));
  assert_string_equal(changes.queued, "\"http://h/a0\"");
  assert_true(!changes.dropped || !*changes.dropped);
  struct request *a0 = next_page(f, "http://h/a0");
  page_done_with_links(f, a0, "b", 2);
  page_done_with_links(f, second, "c", 1); /* c0 takes b0's place */
  assert_true(crawler_last_changes(f->crawler, &changes));
  assert_string_equal(changes.queued, "\"http://h/c0\"");
  assert_string_equal(changes.dropped, "\"http://h/b0\"");
  assert_true(!changes.lowered || !*changes.lowered);
  assert_null(changes.final_url);
  crawler_replay_committed(f->crawler, "http://h/c0", false);
  assert_int_equal(frontier_queued(f->frontier), 0);
  assert_true(frontier_seen(f->frontier, "http://h/c0"));
  assert_false(crawler_has_budget(f->crawler)); /* 3 handed out and 1 replayed */
}

/* The page came back ok with this one link. */
static void page_done_with_link(struct fixture *f, struct request *page, const char *url) {
  assert_true(page_links_add_link(links_of(f, page), url));
  assert_true(page_done(f, page));
}

static void crawler_moves_a_link_up_when_a_shallower_page_finds_it_late(void **state) {
  /* index -> {slow, fast}, fast -> m, m -> x, slow -> x: m comes back before slow and finds x
   * at depth 3; x must wait for slow (depth 1), which finds it at depth 2. */
  struct fixture *f = *state;
  start_crawler(f, 0);
  struct request *seed = admit_seed(f, "http://h/");
  assert_true(page_links_add_link(links_of(f, seed), "http://h/slow"));
  page_done_with_link(f, seed, "http://h/fast");
  struct request *slow = next_page(f, "http://h/slow");
  struct request *fast = next_page(f, "http://h/fast");
  crawler_page_gone(f->crawler, seed);
  page_done_with_link(f, fast, "http://h/m");
  crawler_page_gone(f->crawler, fast);
  struct request *m = next_page(f, "http://h/m");
  assert_int_equal(m->depth, 2);
  page_done_with_link(f, m, "http://h/x");
  crawler_page_gone(f->crawler, m);
  bool failed;
  assert_null(crawler_next_page(f->crawler, 0, &failed)); /* depth 3 waits for slow */
  assert_false(failed);
  page_done_with_link(f, slow, "http://h/x");
  crawler_page_gone(f->crawler, slow);
  struct request *x = next_page(f, "http://h/x");
  assert_int_equal(x->depth, 2);
  assert_string_equal(x->parent, "http://h/slow");
  /* A seed read after a page linked to it is still a seed. */
  struct request *late = keep(f, request_new_url(0, "http://h/y"));
  page_done_with_link(f, x, "http://h/y");
  assert_int_equal(frontier_queued(f->frontier), 1);
  assert_true(crawler_admit_seed(f->crawler, late));
  assert_int_equal(frontier_queued(f->frontier), 0);
  assert_int_equal(late->depth, 0);
}

static void assert_no_page_yet(struct fixture *f) {
  bool failed;
  assert_null(crawler_next_page(f->crawler, 0, &failed));
  assert_false(failed);
}

static void crawler_hands_out_levels_in_order_behind_the_depth_barrier(void **state) {
  /* Lowest depth first, in the order found; depth d waits only for pages below d-1. */
  struct fixture *f = *state;
  start_crawler(f, 0);
  struct request *seed = admit_seed(f, "http://h/");
  page_done_with_links(f, seed, "a", 2);
  struct request *a0 = next_page(f, "http://h/a0");
  struct request *a1 = next_page(f, "http://h/a1");
  page_done_with_links(f, a0, "b", 2);
  assert_no_page_yet(f); /* depth 2 waits while the seed (depth 0) is alive */
  crawler_page_gone(f->crawler, seed);
  struct request *b0 = next_page(f, "http://h/b0"); /* a1 (depth 1) holds nothing back */
  assert_int_equal(b0->depth, 2);
  assert_string_equal(b0->parent, "http://h/a0");
  page_done_with_links(f, b0, "c", 1);
  struct request *b1 = next_page(f, "http://h/b1"); /* depth 2 before depth 3 */
  assert_no_page_yet(f);                            /* c0 (depth 3) waits for a0 and a1 */
  crawler_page_gone(f->crawler, a0);
  assert_no_page_yet(f);
  crawler_page_gone(f->crawler, a1);
  struct request *c0 = next_page(f, "http://h/c0");
  assert_int_equal(c0->depth, 3);
  (void)b1;
}

static void crawler_keeps_each_url_once_at_the_shallowest_depth(void **state) {
  struct fixture *f = *state;
  start_crawler(f, 0);
  struct request *seed = admit_seed(f, "http://h/");
  assert_true(page_links_add_link(links_of(f, seed), "http://h/a"));
  assert_true(page_links_add_link(links_of(f, seed), "http://h/b"));
  assert_true(page_links_add_link(links_of(f, seed), "http://h/a")); /* twice on one page */
  assert_true(page_done(f, seed));
  assert_int_equal(frontier_queued(f->frontier), 2);
  struct request *a = next_page(f, "http://h/a");
  struct request *b = next_page(f, "http://h/b");
  crawler_page_gone(f->crawler, seed);
  /* Links back to the seed and to a page already handed out are not queued again. */
  assert_true(page_links_add_link(links_of(f, a), "http://h/"));
  assert_true(page_links_add_link(links_of(f, a), "http://h/b"));
  page_done_with_link(f, a, "http://h/c");
  page_done_with_link(f, b, "http://h/c"); /* found twice at depth 2: queued once */
  assert_int_equal(frontier_queued(f->frontier), 1);
  struct request *c = next_page(f, "http://h/c");
  assert_int_equal(c->depth, 2);
  assert_string_equal(c->parent, "http://h/a"); /* the first page that found it */
  assert_no_page_yet(f);
}

static void crawler_follows_links_only_within_depth_and_from_ok_pages(void **state) {
  struct fixture *f = *state;
  f->options.depth = 1;
  start_crawler(f, 0);
  struct request *seed = admit_seed(f, "http://h/");
  page_done_with_links(f, seed, "a", 2);
  struct request *a0 = next_page(f, "http://h/a0");
  struct request *a1 = next_page(f, "http://h/a1");
  page_done_with_links(f, a0, "b", 3); /* depth 1 is the last: its links go nowhere */
  assert_int_equal(frontier_queued(f->frontier), 0);
  assert_false(frontier_seen(f->frontier, "http://h/b0"));
  /* A failed page's links are not followed either. */
  f->options.depth = 1000;
  crawler_free(f->crawler);
  start_crawler(f, 0);
  struct request *other = admit_seed(f, "http://h/other");
  assert_true(page_links_add_link(links_of(f, other), "http://h/z"));
  struct outcome *failed = outcome_new(&(struct outcome){.ok = false, .status = 500,
                                                         .found = *links_of(f, other)},
                                       "", 0);
  assert_non_null(failed);
  *links_of(f, other) = (struct page_links){0};
  assert_true(crawler_page_done(f->crawler, other, failed));
  outcome_free(failed);
  assert_int_equal(frontier_queued(f->frontier), 0);
  (void)a1;
}

static void crawler_records_requisites_and_replays_them_once(void **state) {
  /* -p --journal: the requisites a page queued are recorded with what asked for them; a
   * replayed one is queued again (once), and a committed one leaves the queue by URL. */
  struct fixture *f = *state;
  start_crawler(f, 0);
  crawler_record_changes(f->crawler);
  struct request *seed = admit_seed(f, "http://h/s1");
  assert_true(page_links_add_requisite(links_of(f, seed), "http://h/r0", "img"));
  assert_true(page_links_add_requisite(links_of(f, seed), "http://h/r1", "css"));
  assert_true(page_done(f, seed));
  struct crawler_changes changes;
  assert_true(crawler_last_changes(f->crawler, &changes));
  assert_string_equal(changes.requisites,
                      "[\"http://h/r0\",\"img\"],[\"http://h/r1\",\"css\"]");
  assert_true(crawler_replay_requisite(f->crawler, "http://h/s1", 0, 0, "http://h/r0", "img"));
  assert_true(crawler_replay_requisite(f->crawler, "http://h/s1", 0, 1, "http://h/r2", "css"));
  crawler_replay_requisite_committed(f->crawler, "http://h/r0");
  struct request *r1 = next_page(f, "http://h/r1");
  assert_string_equal(r1->requisite_via, "css");
  struct request *r2 = next_page(f, "http://h/r2");
  assert_int_equal(r2->depth, 1);
  assert_int_equal(r2->requisite_level, 2);
  assert_string_equal(r2->parent, "http://h/s1");
  assert_false(crawler_has_pages(f->crawler)); /* r0 once: committed, not queued again */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(crawler_queues_no_more_pages_than_max_pages_has_left),
      T(crawler_without_max_pages_queues_every_link),
      T(crawler_records_what_each_page_changed_and_replays_a_committed_one),
      T(crawler_gives_a_shallow_link_found_late_the_place_of_a_deeper_one),
      T(crawler_moves_a_link_up_when_a_shallower_page_finds_it_late),
      T(crawler_hands_out_levels_in_order_behind_the_depth_barrier),
      T(crawler_keeps_each_url_once_at_the_shallowest_depth),
      T(crawler_follows_links_only_within_depth_and_from_ok_pages),
      T(crawler_records_requisites_and_replays_them_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
