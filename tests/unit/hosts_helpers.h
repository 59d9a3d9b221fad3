/* What the hosts unit tests share: jobs from URL text, the jobs hosts let go, a fake clock,
 * admitting (and starting) a job, running the loop until a job is let go. */
#ifndef AFETCH_HOSTS_HELPERS_H
#define AFETCH_HOSTS_HELPERS_H

#include "unit_helpers.h"

#include "afetch/hosts.h"
#include "afetch/job.h"
#include "afetch/source.h"

static inline struct job *make_job(uint64_t index, const char *text) {
  struct source_line line = {.index = index, .text = text, .length = strlen(text)};
  struct job *job = job_new(request_new(&line));
  assert_non_null(job);
  return job;
}

/* The jobs hosts let go, in order. */
struct released {
  struct job *jobs[16];
  size_t count;
};

static inline void on_release(void *arg, struct job *job) {
  struct released *released = arg;
  assert_true(released->count < HELPER_COUNT(released->jobs));
  released->jobs[released->count++] = job;
}

/* A clock the test moves by hand. */
struct fake_clock {
  int64_t now_us;
};

static inline int64_t fake_now(void *context) { return ((struct fake_clock *)context)->now_us; }

static inline struct hosts *new_hosts(struct event_base *base, unsigned limit, bool robots,
                               struct released *released, struct fake_clock *clock) {
  struct hosts_config config = {.base = base,
                                .limit_per_host = limit,
                                .robots = robots,
                                .on_release = on_release,
                                .release_arg = released,
                                .clock = {.now_us = clock ? fake_now : NULL, .context = clock}};
  struct hosts *hosts = hosts_new(&config);
  assert_non_null(hosts);
  return hosts;
}

static inline enum host_verdict admit(struct hosts *hosts, struct job *job) {
  struct job *robots_job = NULL;
  char rule[64];
  enum host_verdict verdict = hosts_admit(hosts, job, &robots_job, rule, sizeof rule);
  assert_null(robots_job);
  if (verdict == HOST_START)
    hosts_started(hosts, job);
  return verdict;
}

/* Runs the loop until the hosts let a job go (their wake-up timer fired). */
static inline struct job *wait_for_release(struct event_base *base, struct released *released) {
  released->count = 0;
  for (int pass = 0; pass < 100 && released->count == 0; pass++)
    assert_false(helper_loop_once(base, 5000));
  assert_int_equal(released->count, 1);
  return released->jobs[0];
}

static inline void drop_jobs(struct hosts *hosts, struct job **jobs, size_t count, size_t started) {
  for (size_t i = 0; i < count; i++) {
    if (i < started)
      hosts_finished(hosts, jobs[i]);
    hosts_detach(hosts, jobs[i]);
    job_free(jobs[i]);
  }
}

#endif
