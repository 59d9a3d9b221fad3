/* hosts.h and job.h: the --per-host table and the job lists it keeps. */
#include "unit_helpers.h"

#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/source.h"
#include "afetch/url.h"

static struct job *make_job(uint64_t index, const char *text) {
  struct source_line line = {.index = index, .text = text, .length = strlen(text)};
  struct job *job = job_new(&line);
  assert_non_null(job);
  return job;
}

static void same_key_shares_one_entry_until_released(void **state) {
  (void)state;
  struct hosts *hosts = hosts_new(2);
  assert_non_null(hosts);
  struct host *a = hosts_acquire(hosts, "http://a:80");
  struct host *again = hosts_acquire(hosts, "http://a:80");
  struct host *b = hosts_acquire(hosts, "http://b:80");
  assert_ptr_equal(a, again);
  assert_ptr_not_equal(a, b);
  assert_int_equal(a->references, 2);
  a->in_flight = 1;
  assert_true(hosts_has_room(hosts, a));
  a->in_flight = 2;
  assert_false(hosts_has_room(hosts, a));
  a->in_flight = 0;
  hosts_release(hosts, a);
  hosts_release(hosts, again);
  /* Gone with its last reference: a new entry starts from scratch. */
  struct host *fresh = hosts_acquire(hosts, "http://a:80");
  assert_int_equal(fresh->references, 1);
  assert_int_equal(fresh->in_flight, 0);
  hosts_release(hosts, fresh);
  hosts_release(hosts, b);
  hosts_free(hosts);
}

static void many_hosts_stay_distinct_as_the_table_grows(void **state) {
  (void)state;
  struct hosts *hosts = hosts_new(1);
  enum { COUNT = 5000 };
  struct host **entries = calloc(COUNT, sizeof *entries);
  char key[64];
  for (int i = 0; i < COUNT; i++) {
    snprintf(key, sizeof key, "https://host-%d.example:443", i);
    entries[i] = hosts_acquire(hosts, key);
    assert_non_null(entries[i]);
    entries[i]->in_flight = (unsigned)i;
  }
  for (int i = 0; i < COUNT; i++) {
    snprintf(key, sizeof key, "https://host-%d.example:443", i);
    struct host *found = hosts_acquire(hosts, key);
    assert_ptr_equal(found, entries[i]);
    assert_int_equal(found->in_flight, i);
    hosts_release(hosts, found);
    hosts_release(hosts, entries[i]);
  }
  free(entries);
  hosts_free(hosts);
}

static void waiting_jobs_are_taken_in_order(void **state) {
  (void)state;
  struct hosts *hosts = hosts_new(1);
  struct host *host = hosts_acquire(hosts, "http://a:80");
  for (uint64_t i = 0; i < 3; i++)
    job_list_push_back(&host->waiting, make_job(i, "a/x"));
  struct job_list all = {0};
  hosts_take_all_waiting(hosts, &all);
  assert_int_equal(host->waiting.count, 0);
  assert_int_equal(all.count, 3);
  for (uint64_t i = 0; i < 3; i++) {
    struct job *job = job_list_pop_front(&all);
    assert_int_equal(job->index, i);
    job_free(job);
  }
  assert_null(job_list_pop_front(&all));
  hosts_release(hosts, host);
  hosts_free(hosts);
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
  assert_string_equal(bare->url, "http://example.com/a?u=http://x");
  assert_string_equal(job_given_url(bare), "example.com/a?u=http://x");
  struct job *full = make_job(1, "HTTPS://example.com/");
  assert_string_equal(full->url, "HTTPS://example.com/");
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
      cmocka_unit_test(job_list_removes_from_anywhere),
      cmocka_unit_test(job_adds_http_only_when_the_line_names_no_scheme),
      cmocka_unit_test(host_key_is_scheme_host_and_port),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
