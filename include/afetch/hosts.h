/* Per-host policy (--per-host, --robots, Crawl-delay, --per-host-rate, --per-host-delay,
 * --adaptive, pauses): one entry per scheme+host+port that some live job names, answering
 * "may this job start now?" and holding the jobs that wait. A host owns its waiting queue,
 * its transfers in flight, its robots.txt (the fetch and the rules), its gap and rate bucket,
 * its pause and --adaptive limit (host_control.h), and the timer that wakes it. An entry
 * lives while a job refers to it, so the table is bounded by the jobs alive, not by the
 * input; with --robots a host's entry (and its rules) stays for the run: one per host
 * crawled; a paused host's entry stays until its pause ends.
 *
 * Threading: the scheduler's thread only. Timers run on the event base given to hosts_new();
 * a job a host lets go is handed to `on_release`, which only records it (it may run inside
 * hosts_finished() and hosts_robots_done()). */
#ifndef AFETCH_HOSTS_H
#define AFETCH_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/clock.h"
#include "afetch/job.h"

struct afetch_options;
struct event_base;
struct hosts;
struct outcome;

enum host_verdict {
  HOST_START,        /* may start now */
  HOST_WAIT,         /* parked: its host lets it go through on_release later */
  HOST_FETCH_ROBOTS, /* parked; *robots_job (the host's robots.txt) is to start first */
  HOST_DISALLOWED,   /* robots.txt disallows it: the deciding rule is in `rule` */
};

/* A parked job may try again (its host has room, its delay passed, its rules arrived). */
typedef void (*hosts_release_fn)(void *arg, struct job *job);

/* A host was paused (a 429/503 or a run of connect failures and timeouts) for `added_us` more
 * than it already was: what --stats counts per host. */
typedef void (*hosts_pause_fn)(void *arg, const char *host_key, int64_t added_us);

struct hosts_config {
  struct event_base *base;     /* runs the hosts' wake-up timers */
  unsigned limit_per_host;     /* transfers in flight per host; 0: no limit */
  bool robots;                 /* honour robots.txt */
  hosts_release_fn on_release; /* given every job a host lets go, with release_arg */
  void *release_arg;
  struct clock clock; /* the Crawl-delay gaps' time; zero: the monotonic clock */
  double rate_per_host;  /* --per-host-rate: starts per second per host; 0: none */
  int64_t min_gap_us;    /* --per-host-delay: least time between two starts (with Crawl-delay:
                            the larger) */
  unsigned adaptive_cap; /* --adaptive: each host's limit moves between 1 and this; 0: off */
  hosts_pause_fn on_pause; /* may be NULL; given release_arg */
  /* -r with no per-host option: only a Retry-After the retries would honour (at most
   * advised_pause_max_ms) pauses a host; false: every sign of trouble may (per-host options). */
  bool advised_pauses_only;
  long advised_pause_max_ms;
};

/* Whether a per-host option (--per-host, --robots, --per-host-rate, --per-host-delay,
 * --adaptive) is given: a policy that holds for each host as a whole. */
bool hosts_policy_given(const struct afetch_options *options);

/* Sets the policy fields of `config` from the per-host options (--per-host, --robots,
 * --per-host-rate, --per-host-delay, --adaptive) and -r (a Retry-After pauses its host); false
 * when none is given: then no table is needed, and no URL pays for its host's lookup. */
bool hosts_configure(struct hosts_config *config, const struct afetch_options *options);

/* A table that keeps what `config` says (copied). NULL when out of memory. */
struct hosts *hosts_new(const struct hosts_config *config);

/* Points job->host at the entry for its URL's scheme://host:port (created when new). A URL
 * with no such key (unparsable, or a host too long) has no host and no limit. False when out
 * of memory. */
bool hosts_attach(struct hosts *hosts, struct job *job);

/* Drops the job's reference (if any); the entry goes when the last one does. */
void hosts_detach(struct hosts *hosts, struct job *job);

/* Whether the job may start now. On HOST_FETCH_ROBOTS, *robots_job is a new job (of no
 * result line, keeping its host's entry for the run) the caller starts; NULL when out of
 * memory. */
enum host_verdict hosts_admit(struct hosts *hosts, struct job *job, struct job **robots_job,
                              char *rule, size_t rule_size);

/* When a job its host parked for the Crawl-delay gap may start (a time of the hosts' clock,
 * when the wake-up timer lets one of its host's jobs go), or 0 when nothing but room or
 * robots.txt holds its host back. */
int64_t hosts_wake_time_us(const struct hosts *hosts, const struct job *job);

/* The job's transfer starts / its outcome is back (a retry is admitted again). */
void hosts_started(struct hosts *hosts, struct job *job);
void hosts_finished(struct hosts *hosts, struct job *job);

/* What the job's finished attempt says about its host, before hosts_finished(): a 429 or 503
 * (its Retry-After, capped, else a backoff) or a run of connect failures and timeouts pauses
 * the host, every job of it; with --adaptive the host's limit follows the latency and errors
 * (host_control.h). */
void hosts_observe(struct hosts *hosts, struct job *job, const struct outcome *outcome);

/* --adaptive: the job's host's limit now (0 for a job without a host). */
unsigned hosts_limit_of(const struct hosts *hosts, const struct job *job);

/* True for a host's robots.txt fetch. */
bool hosts_is_robots_job(const struct job *job);

/* The robots.txt fetch came back: the host's rules (RFC 9309), and its pages go on. The job
 * is freed. False when out of memory. */
bool hosts_robots_done(struct hosts *hosts, struct job *robots_job, const struct outcome *outcome);

/* Jobs parked across all hosts / host entries alive. */
size_t hosts_waiting(const struct hosts *hosts);
size_t hosts_entries(const struct hosts *hosts);

/* Moves every waiting job of every host to the back of `into` (for a stop). */
void hosts_take_all_waiting(struct hosts *hosts, struct job_list *into);

/* Every job must be detached first (robots.txt jobs excepted). */
void hosts_free(struct hosts *hosts);

#endif
