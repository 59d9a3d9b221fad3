/* hosts.h with the politeness options, on a fake clock: a 429/503 pauses every job of its
 * host (and only its host), --per-host-rate and --per-host-delay space a host's starts, and
 * --adaptive's limit decides how many of a host's jobs run. */
#include "hosts_helpers.h"

#include "afetch/host_control.h"
#include "afetch/outcome.h"

#define T0 INT64_C(10000000) /* the fake clock's start, us */
#define MS INT64_C(1000)
#define SECOND INT64_C(1000000)

/* The pauses hosts reported. */
struct pauses {
  struct released released; /* on_release's argument must come first: they share release_arg */
  unsigned count;
  char host[64];
  int64_t added_us;
};

static void on_pause(void *arg, const char *host_key, int64_t added_us) {
  struct pauses *pauses = arg;
  pauses->count++;
  snprintf(pauses->host, sizeof pauses->host, "%s", host_key);
  pauses->added_us += added_us;
}

static struct hosts *new_polite_hosts(struct hosts_config config, struct event_base *base,
                                      struct pauses *pauses, struct fake_clock *clock) {
  config.base = base;
  config.on_release = on_release;
  config.on_pause = on_pause;
  config.release_arg = pauses;
  config.clock = (struct clock){.now_us = fake_now, .context = clock};
  struct hosts *hosts = hosts_new(&config);
  assert_non_null(hosts);
  return hosts;
}

/* Tells the hosts what the job's attempt got back, then that it finished. */
static void finish_with(struct hosts *hosts, struct job *job, long status, bool has_retry_after,
                        int64_t retry_after_s, int64_t ttfb_us) {
  struct outcome fields = {.status = status,
                           .has_retry_after = has_retry_after,
                           .retry_after_s = retry_after_s,
                           .sample = {.status = status, .ttfb_us = ttfb_us}};
  struct outcome *outcome = outcome_new(&fields, "", 0);
  assert_non_null(outcome);
  hosts_observe(hosts, job, outcome);
  hosts_finished(hosts, job);
  outcome_free(outcome);
}

static struct job *attached_job(struct hosts *hosts, uint64_t index, const char *url) {
  struct job *job = make_job(index, url);
  assert_true(hosts_attach(hosts, job));
  return job;
}

static void a_busy_answer_pauses_every_job_of_its_host_and_no_other(void **state) {
  (void)state;
  struct pauses pauses = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_polite_hosts((struct hosts_config){.limit_per_host = 4}, base,
                                         &pauses, &clock);
  struct job *jobs[3] = {attached_job(hosts, 0, "http://h/0"), attached_job(hosts, 1, "http://h/1"),
                         attached_job(hosts, 2, "http://other/")};
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  assert_int_equal(admit(hosts, jobs[1]), HOST_START);
  clock.now_us = T0 + 10 * MS;
  finish_with(hosts, jobs[0], 503, true, 1, MS); /* Retry-After: 1 */
  assert_int_equal(pauses.count, 1);
  assert_string_equal(pauses.host, "http://h:80");
  assert_int_equal(pauses.added_us, SECOND);
  /* The host has room (1 of 4 in flight) but is paused: its next job waits, another host's
   * does not. */
  assert_int_equal(admit(hosts, jobs[0]), HOST_WAIT);
  assert_int_equal(admit(hosts, jobs[2]), HOST_START);
  /* A 503 from the job that was on its way: no longer pause than Retry-After asked. Its
   * finish lets the waiting job go, to find the host still paused. */
  clock.now_us = T0 + 20 * MS;
  finish_with(hosts, jobs[1], 503, false, 0, MS);
  assert_int_equal(pauses.count, 1);
  assert_int_equal(pauses.released.count, 1);
  assert_int_equal(admit(hosts, jobs[0]), HOST_WAIT);
  clock.now_us = T0 + 10 * MS + SECOND;
  assert_ptr_equal(wait_for_release(base, &pauses.released), jobs[0]);
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  assert_int_equal(jobs[0]->host_paused_us, SECOND); /* parked from the pause's start */
  assert_int_equal(jobs[1]->host_paused_us, 0);
  hosts_finished(hosts, jobs[0]);
  hosts_finished(hosts, jobs[2]);
  drop_jobs(hosts, jobs, 3, 0);
  hosts_free(hosts);
  event_base_free(base);
}

static void a_pause_outlives_the_last_job_of_its_host(void **state) {
  (void)state;
  struct pauses pauses = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts =
      new_polite_hosts((struct hosts_config){.limit_per_host = 2}, base, &pauses, &clock);
  struct job *first = attached_job(hosts, 0, "http://h/0");
  assert_int_equal(admit(hosts, first), HOST_START);
  finish_with(hosts, first, 429, false, 0, MS); /* no Retry-After: the first backoff step */
  assert_int_equal(pauses.added_us, HOST_CONTROL_PAUSE_FIRST_US);
  drop_jobs(hosts, &first, 1, 0);
  assert_int_equal(hosts_entries(hosts), 1); /* the pause keeps the entry */
  struct job *later = attached_job(hosts, 1, "http://h/1");
  clock.now_us = T0 + HOST_CONTROL_PAUSE_FIRST_US / 2;
  assert_int_equal(admit(hosts, later), HOST_WAIT);
  clock.now_us = T0 + HOST_CONTROL_PAUSE_FIRST_US;
  assert_ptr_equal(wait_for_release(base, &pauses.released), later);
  assert_int_equal(admit(hosts, later), HOST_START);
  assert_int_equal(later->host_paused_us, HOST_CONTROL_PAUSE_FIRST_US / 2);
  drop_jobs(hosts, &later, 1, 1);
  assert_int_equal(hosts_entries(hosts), 0); /* the pause over, the entry goes with its jobs */
  hosts_free(hosts);
  event_base_free(base);
}

static void connect_failures_in_a_row_pause_the_host(void **state) {
  (void)state;
  struct pauses pauses = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts =
      new_polite_hosts((struct hosts_config){.limit_per_host = 8}, base, &pauses, &clock);
  struct job *jobs[4];
  for (size_t i = 0; i < 4; i++) {
    jobs[i] = attached_job(hosts, i, "http://h/");
    assert_int_equal(admit(hosts, jobs[i]), HOST_START);
  }
  struct outcome fields = {.sample = {.error = RESULT_CONNECT}};
  struct outcome *outcome = outcome_new(&fields, "", 0);
  assert_non_null(outcome);
  for (unsigned i = 0; i < HOST_CONTROL_UNREACHED_RUN; i++) {
    assert_int_equal(pauses.count, 0);
    hosts_observe(hosts, jobs[i], outcome);
    hosts_finished(hosts, jobs[i]);
  }
  outcome_free(outcome);
  assert_int_equal(pauses.count, 1);
  drop_jobs(hosts, jobs + 3, 1, 1);
  drop_jobs(hosts, jobs, 3, 0);
  hosts_free(hosts);
  event_base_free(base);
}

static void per_host_rate_spaces_a_host_s_starts(void **state) {
  (void)state;
  struct pauses pauses = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts =
      new_polite_hosts((struct hosts_config){.rate_per_host = 20}, base, &pauses, &clock);
  struct job *jobs[3] = {attached_job(hosts, 0, "http://h/0"), attached_job(hosts, 1, "http://h/1"),
                         attached_job(hosts, 2, "http://other/")};
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  clock.now_us = T0 + 50 * MS - 1; /* one microsecond short of the next token */
  assert_int_equal(admit(hosts, jobs[1]), HOST_WAIT);
  assert_int_equal(admit(hosts, jobs[2]), HOST_START); /* a bucket per host */
  clock.now_us = T0 + 50 * MS;
  assert_ptr_equal(wait_for_release(base, &pauses.released), jobs[1]);
  assert_int_equal(admit(hosts, jobs[1]), HOST_START);
  drop_jobs(hosts, jobs, 3, 3);
  hosts_free(hosts);
  event_base_free(base);
}

/* The gap a host's robots.txt Crawl-delay of 0.05 s and --per-host-delay set together. */
static int64_t gap_with(int64_t min_gap_us, bool robots) {
  struct pauses pauses = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts = new_polite_hosts(
      (struct hosts_config){.min_gap_us = min_gap_us, .robots = robots}, base, &pauses, &clock);
  struct job *job = attached_job(hosts, 0, "http://h/");
  if (robots) {
    struct job *robots_job = NULL;
    char rule[64];
    assert_int_equal(hosts_admit(hosts, job, &robots_job, rule, sizeof rule), HOST_FETCH_ROBOTS);
    hosts_started(hosts, robots_job);
    hosts_finished(hosts, robots_job);
    const char text[] = "User-agent: *\nCrawl-delay: 0.05\n";
    struct outcome fields = {
        .ok = true, .status = 200, .body = strdup(text), .body_length = strlen(text)};
    struct outcome *outcome = outcome_new(&fields, "", 0);
    assert_non_null(outcome);
    assert_true(hosts_robots_done(hosts, robots_job, outcome));
    outcome_free(outcome);
  }
  clock.now_us = T0 + SECOND; /* past the gap the robots.txt fetch began */
  assert_int_equal(admit(hosts, job), HOST_START);
  int64_t gap = hosts_wake_time_us(hosts, job) - clock.now_us;
  drop_jobs(hosts, &job, 1, 1);
  hosts_free(hosts);
  event_base_free(base);
  return gap;
}

static void per_host_delay_and_crawl_delay_the_larger_wins(void **state) {
  (void)state;
  assert_int_equal(gap_with(80 * MS, false), 80 * MS);
  assert_int_equal(gap_with(80 * MS, true), 80 * MS);
  assert_int_equal(gap_with(20 * MS, true), 50 * MS);
}

static void adaptive_limit_decides_how_many_of_a_host_s_jobs_run(void **state) {
  (void)state;
  struct pauses pauses = {0};
  struct fake_clock clock = {.now_us = T0};
  struct event_base *base = event_base_new();
  struct hosts *hosts =
      new_polite_hosts((struct hosts_config){.adaptive_cap = 8}, base, &pauses, &clock);
  struct job *jobs[4];
  for (size_t i = 0; i < 4; i++)
    jobs[i] = attached_job(hosts, i, "http://h/");
  assert_int_equal(admit(hosts, jobs[0]), HOST_START);
  assert_int_equal(admit(hosts, jobs[1]), HOST_START);
  assert_int_equal(admit(hosts, jobs[2]), HOST_WAIT); /* it starts at 2 */
  assert_int_equal(admit(hosts, jobs[3]), HOST_WAIT);
  assert_int_equal(hosts_limit_of(hosts, jobs[0]), HOST_CONTROL_START_LIMIT);
  /* An answer at the baseline with the limit in use: 3, and room for the two waiting. */
  clock.now_us = T0 + 50 * MS;
  finish_with(hosts, jobs[0], 200, false, 0, 50 * MS);
  assert_int_equal(hosts_limit_of(hosts, jobs[1]), 3);
  assert_int_equal(pauses.released.count, 2);
  assert_int_equal(admit(hosts, jobs[2]), HOST_START);
  assert_int_equal(admit(hosts, jobs[3]), HOST_START);
  /* A 429 halves it (and pauses the host). */
  finish_with(hosts, jobs[1], 429, false, 0, MS);
  assert_int_equal(hosts_limit_of(hosts, jobs[2]), 1);
  assert_int_equal(pauses.count, 1);
  drop_jobs(hosts, jobs + 2, 2, 2);
  drop_jobs(hosts, jobs, 2, 0);
  hosts_free(hosts);
  event_base_free(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_busy_answer_pauses_every_job_of_its_host_and_no_other),
      cmocka_unit_test(a_pause_outlives_the_last_job_of_its_host),
      cmocka_unit_test(connect_failures_in_a_row_pause_the_host),
      cmocka_unit_test(per_host_rate_spaces_a_host_s_starts),
      cmocka_unit_test(per_host_delay_and_crawl_delay_the_larger_wins),
      cmocka_unit_test(adaptive_limit_decides_how_many_of_a_host_s_jobs_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
