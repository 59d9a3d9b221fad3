/* hosts.h and job.h: per-host admission (--per-host, --robots, Crawl-delay) on a fake clock,
 * the waiting queues it keeps, and the job lists. */
#include "hosts_helpers.h"

#include <event2/event.h>

#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/outcome.h"
#include "afetch/source.h"
#include "afetch/url.h"

static void same_key_shares_one_entry_until_released(void **state) {
  (void)state;
  struct released released = {0};
  struct hosts *hosts = new_hosts(NULL, 2, false, &released, NULL);
  struct job *a = make_job(0, "http://a/1"), *again = make_job(1, "http://A:80/2");
  struct job *b = make_job(2, "http://b/"), *third = make_job(3, "http://a/3");
  struct job *jobs[] = {a, again, b, third};
  for (size_t i = 0; i < 4; i++)
    assert_true(hosts_attach(hosts, jobs[i]));
  assert_ptr_equal(a->host, again->host);
  assert_ptr_not_equal(a->host, b->host);
  assert_int_equal(admit(hosts, a), HOST_START);
  assert_int_equal(admit(hosts, again), HOST_START);
  assert_int_equal(admit(hosts, b), HOST_START); /* another host: its own count */
  assert_int_equal(admit(hosts, third), HOST_WAIT);
  assert_int_equal(hosts_waiting(hosts), 1);
  hosts_finished(hosts, a);
  assert_int_equal(released.count, 1);
  assert_ptr_equal(released.jobs[0], third);
  assert_int_equal(admit(hosts, third), HOST_START);
  for (size_t i = 0; i < 4; i++) {
    if (jobs[i] != a)
      hosts_finished(hosts, jobs[i]);
    hosts_detach(hosts, jobs[i]);
    assert_null(jobs[i]->host);
  }
  /* Gone with its last reference: a new entry starts from scratch. */
  struct job *fresh = make_job(4, "http://a/");
  assert_true(hosts_attach(hosts, fresh));
  assert_int_equal(hosts_entries(hosts), 1);
  assert_int_equal(admit(hosts, fresh), HOST_START);
  hosts_finished(hosts, fresh);
  hosts_detach(hosts, fresh);
  assert_int_equal(hosts_entries(hosts), 0);
  for (size_t i = 0; i < 4; i++)
    job_free(jobs[i]);
  job_free(fresh);
  hosts_free(hosts);
}

static void many_hosts_stay_distinct_as_the_table_grows(void **state) {
  (void)state;
  struct released released = {0};
  struct hosts *hosts = new_hosts(NULL, 1, false, &released, NULL);
  enum { COUNT = 5000 };
  struct job **first = calloc(COUNT, sizeof *first), **second = calloc(COUNT, sizeof *second);
  char url[64];
  for (int i = 0; i < COUNT; i++) {
    snprintf(url, sizeof url, "https://host-%d.example/", i);
    first[i] = make_job((uint64_t)i, url);
    assert_true(hosts_attach(hosts, first[i]));
    assert_int_equal(admit(hosts, first[i]), HOST_START);
  }
  assert_int_equal(hosts_entries(hosts), COUNT);
  for (int i = 0; i < COUNT; i++) {
    snprintf(url, sizeof url, "https://host-%d.example/again", i);
    second[i] = make_job((uint64_t)i, url);
    assert_true(hosts_attach(hosts, second[i]));
    assert_ptr_equal(second[i]->host, first[i]->host);
    assert_int_equal(admit(hosts, second[i]), HOST_WAIT);
  }
  for (int i = 0; i < COUNT; i++) {
    released.count = 0;
    hosts_finished(hosts, first[i]); /* lets exactly its own host's job go */
    assert_int_equal(released.count, 1);
    assert_ptr_equal(released.jobs[0], second[i]);
    hosts_detach(hosts, first[i]);
    hosts_detach(hosts, second[i]);
    job_free(first[i]);
    job_free(second[i]);
  }
  assert_int_equal(hosts_entries(hosts), 0);
  free(first);
  free(second);
  hosts_free(hosts);
}

static void waiting_jobs_are_taken_in_order(void **state) {
  (void)state;
  struct released released = {0};
  struct hosts *hosts = new_hosts(NULL, 1, false, &released, NULL);
  struct job *running = make_job(9, "a/x");
  assert_true(hosts_attach(hosts, running));
  assert_int_equal(admit(hosts, running), HOST_START);
  for (uint64_t i = 0; i < 3; i++) {
    struct job *job = make_job(i, "a/x");
    assert_true(hosts_attach(hosts, job));
    assert_int_equal(admit(hosts, job), HOST_WAIT);
  }
  struct job_list all = {0};
  hosts_take_all_waiting(hosts, &all);
  assert_int_equal(hosts_waiting(hosts), 0);
  assert_int_equal(all.count, 3);
  for (uint64_t i = 0; i < 3; i++) {
    struct job *job = job_list_pop_front(&all);
    assert_int_equal(job->request->index, i);
    hosts_detach(hosts, job);
    job_free(job);
  }
  assert_null(job_list_pop_front(&all));
  hosts_finished(hosts, running);
  assert_int_equal(released.count, 0); /* nobody waits any more */
  hosts_detach(hosts, running);
  job_free(running);
  hosts_free(hosts);
}

static void robots_txt_comes_first_and_its_rules_decide(void **state) {
  (void)state;
  struct released released = {0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_hosts(base, 0, true, &released, NULL);
  struct job *open = make_job(0, "http://h/open"), *closed = make_job(1, "http://h/private/x");
  assert_true(hosts_attach(hosts, open));
  assert_true(hosts_attach(hosts, closed));
  struct job *robots_job = NULL;
  char rule[64];
  assert_int_equal(hosts_admit(hosts, open, &robots_job, rule, sizeof rule), HOST_FETCH_ROBOTS);
  assert_non_null(robots_job);
  assert_true(hosts_is_robots_job(robots_job));
  assert_false(hosts_is_robots_job(open));
  assert_string_equal(robots_job->request->url, "http://h:80/robots.txt");
  assert_true(robots_job->request->internal);
  assert_int_equal(hosts_admit(hosts, robots_job, &robots_job, rule, sizeof rule), HOST_START);
  struct job *fetching = NULL;
  assert_int_equal(hosts_admit(hosts, closed, &fetching, rule, sizeof rule), HOST_WAIT);
  assert_null(fetching);
  static const char text[] = "User-agent: *\nDisallow: /private\n";
  struct outcome fields = {
      .ok = true, .status = 200, .body = strdup(text), .body_length = sizeof text - 1};
  struct outcome *outcome = outcome_new(&fields, "", 0);
  assert_non_null(outcome);
  hosts_started(hosts, robots_job);
  hosts_finished(hosts, robots_job);
  assert_true(hosts_robots_done(hosts, robots_job, outcome));
  outcome_free(outcome);
  assert_int_equal(released.count, 2); /* both pages go on, in the order they came */
  assert_ptr_equal(released.jobs[0], open);
  assert_ptr_equal(released.jobs[1], closed);
  assert_int_equal(admit(hosts, open), HOST_START);
  assert_int_equal(hosts_admit(hosts, closed, &fetching, rule, sizeof rule), HOST_DISALLOWED);
  assert_string_equal(rule, "Disallow: /private");
  hosts_finished(hosts, open);
  hosts_detach(hosts, open);
  hosts_detach(hosts, closed);
  job_free(open);
  job_free(closed);
  hosts_free(hosts);
  event_base_free(base);
}
/* Detaches and frees jobs, finishing first those that started. */
static void per_host_limit_counts_transfers_until_they_finish(void **state) {
  (void)state;
  struct released released = {0};
  struct hosts *hosts = new_hosts(NULL, 2, false, &released, NULL);
  struct job *jobs[5];
  for (size_t i = 0; i < 5; i++) {
    jobs[i] = make_job(i, "http://h/");
    assert_true(hosts_attach(hosts, jobs[i]));
  }
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  assert_int_equal(admit(hosts, jobs[1]), HOST_START);
  assert_int_equal(admit(hosts, jobs[2]), HOST_WAIT);
  assert_int_equal(admit(hosts, jobs[3]), HOST_WAIT);
  assert_int_equal(hosts_waiting(hosts), 2);
  assert_int_equal(released.count, 0);
  /* A retry: the attempt's outcome gives its place back, the next try queues again. */
  hosts_finished(hosts, jobs[0]);
  assert_int_equal(released.count, 1);
  assert_ptr_equal(released.jobs[0], jobs[2]);
  assert_int_equal(admit(hosts, jobs[2]), HOST_START);
  assert_int_equal(admit(hosts, jobs[0]), HOST_WAIT);
  /* Two finish: the two oldest waiting go, one each. */
  hosts_finished(hosts, jobs[1]);
  hosts_finished(hosts, jobs[2]);
  assert_int_equal(released.count, 3);
  assert_ptr_equal(released.jobs[1], jobs[3]);
  assert_ptr_equal(released.jobs[2], jobs[0]);
  assert_int_equal(hosts_waiting(hosts), 0);
  assert_int_equal(admit(hosts, jobs[3]), HOST_START);
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  assert_int_equal(admit(hosts, jobs[4]), HOST_WAIT); /* two in flight again */
  hosts_finished(hosts, jobs[3]);
  assert_ptr_equal(released.jobs[3], jobs[4]);
  assert_int_equal(admit(hosts, jobs[4]), HOST_START);
  hosts_finished(hosts, jobs[0]);
  hosts_finished(hosts, jobs[4]);
  assert_int_equal(released.count, 4); /* nobody left to let go */
  drop_jobs(hosts, jobs, 5, 0);
  assert_int_equal(hosts_entries(hosts), 0);
  hosts_free(hosts);
}

static void each_host_lets_its_own_waiting_jobs_go_in_order(void **state) {
  (void)state;
  struct released released = {0};
  struct hosts *hosts = new_hosts(NULL, 1, false, &released, NULL);
  const char *urls[] = {"http://a/0", "http://b/0", "http://a/1", "http://b/1",
                        "http://a/2", "http://b/2", "http://a/3"};
  struct job *jobs[HELPER_COUNT(urls)];
  for (size_t i = 0; i < HELPER_COUNT(urls); i++) {
    jobs[i] = make_job(i, urls[i]);
    assert_true(hosts_attach(hosts, jobs[i]));
    assert_int_equal(admit(hosts, jobs[i]), i < 2 ? HOST_START : HOST_WAIT);
  }
  /* Host a: 0 runs, 2, 4, 6 wait; host b: 1 runs, 3, 5 wait. */
  const size_t a_order[] = {2, 4, 6}, b_order[] = {3, 5};
  struct job *a_running = jobs[0], *b_running = jobs[1];
  for (size_t step = 0; step < 3; step++) {
    released.count = 0;
    hosts_finished(hosts, a_running);
    assert_int_equal(released.count, 1);
    assert_ptr_equal(released.jobs[0], jobs[a_order[step]]);
    a_running = released.jobs[0];
    assert_int_equal(admit(hosts, a_running), HOST_START);
    if (step < 2) {
      released.count = 0;
      hosts_finished(hosts, b_running);
      assert_ptr_equal(released.jobs[0], jobs[b_order[step]]);
      b_running = released.jobs[0];
      assert_int_equal(admit(hosts, b_running), HOST_START);
    }
  }
  hosts_finished(hosts, a_running);
  hosts_finished(hosts, b_running);
  drop_jobs(hosts, jobs, HELPER_COUNT(jobs), 0);
  hosts_free(hosts);
}

/* Gives the host of `first` (attached, not admitted yet) the robots.txt `text`: `first` is
 * parked while it is fetched, then let go. */
static void serve_robots(struct hosts *hosts, struct job *first, const char *text,
                         struct released *released) {
  struct job *robots_job = NULL;
  char rule[64];
  released->count = 0;
  assert_int_equal(hosts_admit(hosts, first, &robots_job, rule, sizeof rule), HOST_FETCH_ROBOTS);
  assert_non_null(robots_job);
  hosts_started(hosts, robots_job);
  hosts_finished(hosts, robots_job);
  struct outcome fields = {
      .ok = true, .status = 200, .body = strdup(text), .body_length = strlen(text)};
  struct outcome *outcome = outcome_new(&fields, "", 0);
  assert_non_null(outcome);
  assert_true(hosts_robots_done(hosts, robots_job, outcome));
  outcome_free(outcome);
  assert_int_equal(released->count, 1);
  assert_ptr_equal(released->jobs[0], first);
  released->count = 0;
}

/* Short, since a wake-up timer set for a whole gap runs on the real clock. */
static const char crawl_delay[] = "User-agent: *\nCrawl-delay: 0.05\n";
#define T0 10000000 /* the fake clock's start, us */
#define GAP 50000   /* the Crawl-delay, us */

static void crawl_delay_gap_ends_exactly_on_time(void **state) {
  (void)state;
  struct released released = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_hosts(base, 0, true, &released, &clock);
  struct job *jobs[3] = {make_job(0, "http://h/0"), make_job(1, "http://h/1"),
                         make_job(2, "http://other/")};
  for (size_t i = 0; i < 3; i++)
    assert_true(hosts_attach(hosts, jobs[i]));
  serve_robots(hosts, jobs[0], crawl_delay, &released);
  assert_int_equal(hosts_wake_time_us(hosts, jobs[0]), 0); /* no start yet: nothing to wait */
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  assert_int_equal(hosts_wake_time_us(hosts, jobs[0]), T0 + GAP);
  clock.now_us = T0 + GAP - 1; /* one microsecond short of the gap */
  assert_int_equal(admit(hosts, jobs[1]), HOST_WAIT);
  assert_int_equal(hosts_wake_time_us(hosts, jobs[1]), T0 + GAP);
  assert_int_equal(hosts_waiting(hosts), 1);
  /* The wake-up timer is set for what the clock says is left (1 us), and lets it go. */
  assert_ptr_equal(wait_for_release(base, &released), jobs[1]);
  clock.now_us = T0 + GAP;
  assert_int_equal(admit(hosts, jobs[1]), HOST_START);
  assert_int_equal(hosts_wake_time_us(hosts, jobs[1]), T0 + 2 * GAP);
  /* The gap is per host: another host's first page starts at once. */
  serve_robots(hosts, jobs[2], crawl_delay, &released);
  assert_int_equal(admit(hosts, jobs[2]), HOST_START);
  drop_jobs(hosts, jobs, 3, 3);
  assert_int_equal(released.count, 0);
  hosts_free(hosts);
  event_base_free(base);
}

static void a_job_let_go_keeps_its_place_in_the_queue(void **state) {
  (void)state;
  struct released released = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_hosts(base, 0, true, &released, &clock);
  struct job *jobs[4];
  for (size_t i = 0; i < 4; i++) {
    jobs[i] = make_job(i, "http://h/");
    assert_true(hosts_attach(hosts, jobs[i]));
  }
  serve_robots(hosts, jobs[0], crawl_delay, &released);
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  for (size_t i = 1; i < 4; i++)
    assert_int_equal(admit(hosts, jobs[i]), HOST_WAIT);
  /* The first page comes back well within the gap: the oldest waiting one is let go, finds
   * the gap still running and waits again, first in line. */
  clock.now_us = T0 + GAP / 10;
  hosts_finished(hosts, jobs[0]);
  assert_int_equal(released.count, 1);
  assert_ptr_equal(released.jobs[0], jobs[1]);
  assert_int_equal(admit(hosts, jobs[1]), HOST_WAIT);
  struct job_list order = {0};
  hosts_take_all_waiting(hosts, &order);
  for (size_t i = 1; i < 4; i++)
    assert_ptr_equal(job_list_pop_front(&order), jobs[i]);
  drop_jobs(hosts, jobs, 4, 0);
  hosts_free(hosts);
  event_base_free(base);
}

static void a_new_job_does_not_overtake_waiting_ones(void **state) {
  (void)state;
  struct released released = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_hosts(base, 0, true, &released, &clock);
  struct job *jobs[3];
  for (size_t i = 0; i < 3; i++) {
    jobs[i] = make_job(i, "http://h/");
    assert_true(hosts_attach(hosts, jobs[i]));
  }
  serve_robots(hosts, jobs[0], crawl_delay, &released);
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  clock.now_us = T0 + GAP - 1;
  assert_int_equal(admit(hosts, jobs[1]), HOST_WAIT);
  /* The gap is over before the wake-up timer has run: a job read now queues behind. */
  clock.now_us = T0 + GAP;
  assert_int_equal(admit(hosts, jobs[2]), HOST_WAIT);
  assert_ptr_equal(wait_for_release(base, &released), jobs[1]);
  assert_int_equal(admit(hosts, jobs[1]), HOST_START);
  /* The next gap: the timer lets the last one go at its end, with the first still running. */
  clock.now_us = T0 + 2 * GAP;
  assert_ptr_equal(wait_for_release(base, &released), jobs[2]);
  assert_int_equal(admit(hosts, jobs[2]), HOST_START);
  drop_jobs(hosts, jobs, 3, 3);
  hosts_free(hosts);
  event_base_free(base);
}

static void a_disallowed_page_takes_no_place(void **state) {
  (void)state;
  struct released released = {0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_hosts(base, 1, true, &released, NULL);
  struct job *open = make_job(0, "http://h/open"), *closed = make_job(1, "http://h/private");
  struct job *later = make_job(2, "http://h/later");
  struct job *jobs[] = {open, later, closed};
  for (size_t i = 0; i < 3; i++)
    assert_true(hosts_attach(hosts, jobs[i]));
  serve_robots(hosts, closed, "User-agent: afetch\nDisallow: /private\n", &released);
  char rule[64];
  struct job *robots_job = NULL;
  assert_int_equal(hosts_admit(hosts, closed, &robots_job, rule, sizeof rule), HOST_DISALLOWED);
  assert_string_equal(rule, "Disallow: /private");
  assert_int_equal(hosts_waiting(hosts), 0);
  assert_int_equal(admit(hosts, open), HOST_START); /* the host's one slot is still free */
  assert_int_equal(admit(hosts, later), HOST_WAIT);
  drop_jobs(hosts, jobs, 3, 1);
  assert_int_equal(released.count, 1); /* `open` finishing let `later` go */
  assert_ptr_equal(released.jobs[0], later);
  hosts_free(hosts);
  event_base_free(base);
}

static void job_list_removes_from_anywhere(void **state) {
  (void)state;
  struct job_list list = {0};
  struct job *jobs[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = make_job((uint64_t)i, "example.com/");
    job_list_push_back(&list, jobs[i]);
  }
  job_list_remove(&list, jobs[2]); /* middle */
  job_list_remove(&list, jobs[0]); /* head */
  job_list_remove(&list, jobs[3]); /* tail */
  assert_int_equal(list.count, 1);
  assert_ptr_equal(list.head, jobs[1]);
  assert_ptr_equal(list.tail, jobs[1]);
  assert_ptr_equal(job_list_pop_front(&list), jobs[1]);
  assert_null(list.head);
  assert_null(list.tail);
  for (int i = 0; i < 4; i++)
    job_free(jobs[i]);
}

static void job_adds_http_only_when_the_line_names_no_scheme(void **state) {
  (void)state;
  struct job *bare = make_job(0, "example.com/a?u=http://x");
  assert_string_equal(bare->request->url, "http://example.com/a?u=http://x");
  assert_string_equal(request_given_url(bare->request), "example.com/a?u=http://x");
  struct job *full = make_job(1, "HTTPS://example.com/");
  assert_string_equal(full->request->url, "HTTPS://example.com/");
  job_free(bare);
  job_free(full);
}

static void host_key_is_scheme_host_and_port(void **state) {
  (void)state;
  char key[128];
  assert_true(url_host_key("http://Example.COM/a", key, sizeof key));
  assert_string_equal(key, "http://example.com:80");
  assert_true(url_host_key("https://example.com:8443/?q", key, sizeof key));
  assert_string_equal(key, "https://example.com:8443");
  assert_true(url_host_key("https://example.com/", key, sizeof key));
  assert_string_equal(key, "https://example.com:443");
  assert_false(url_host_key("http://exa mple.com/", key, sizeof key));
  assert_false(url_host_key("http://example.com/", key, 8)); /* does not fit */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_key_shares_one_entry_until_released),
      cmocka_unit_test(many_hosts_stay_distinct_as_the_table_grows),
      cmocka_unit_test(waiting_jobs_are_taken_in_order),
      cmocka_unit_test(robots_txt_comes_first_and_its_rules_decide),
      cmocka_unit_test(per_host_limit_counts_transfers_until_they_finish),
      cmocka_unit_test(each_host_lets_its_own_waiting_jobs_go_in_order),
      cmocka_unit_test(crawl_delay_gap_ends_exactly_on_time),
      cmocka_unit_test(a_job_let_go_keeps_its_place_in_the_queue),
      cmocka_unit_test(a_new_job_does_not_overtake_waiting_ones),
      cmocka_unit_test(a_disallowed_page_takes_no_place),
      cmocka_unit_test(job_list_removes_from_anywhere),
      cmocka_unit_test(job_adds_http_only_when_the_line_names_no_scheme),
      cmocka_unit_test(host_key_is_scheme_host_and_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
