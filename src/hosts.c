/* Per-host policy: a hash table of host entries (by "scheme://host:port"), reference counted
 * by jobs, each with its waiting jobs, transfers in flight, robots.txt rules, its gap
 * (Crawl-delay, --per-host-delay), rate bucket, pause and --adaptive limit. */
#include "afetch/hosts.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "afetch/hash_table.h"
#include "afetch/host_control.h"
#include "afetch/options.h"
#include "afetch/outcome.h"
#include "afetch/rate.h"
#include "afetch/robots.h"
#include "afetch/url.h"

/* Longest "scheme://host:port" key; longer hosts go unlimited (and are rare enough). */
#define HOSTS_KEY_SIZE 512
/* robots.txt read at most (RFC 9309 asks for at least 500 KiB). */
#define HOSTS_ROBOTS_MAX_BYTES (500 * 1024)

/* Where a host's robots.txt stands. */
enum host_robots {
  HOST_ROBOTS_UNKNOWN,  /* not asked for yet */
  HOST_ROBOTS_FETCHING, /* its job is on the way: the host's pages wait */
  HOST_ROBOTS_READY,    /* `robots` holds the rules */
};

struct host {
  struct hosts *table; /* for the wake timer's callback */
  unsigned references; /* jobs pointing here */
  unsigned in_flight;
  struct job_list waiting; /* jobs that cannot start yet (host full, robots.txt, delay) */
  enum host_robots robots_state;
  struct robots *robots;    /* owned, once READY */
  bool pause_holds_reference; /* a pause keeps the entry (and so the pause) while it lasts */
  int64_t delay_us;           /* Crawl-delay, --per-host-delay: least time between two starts */
  int64_t next_start_us;      /* no start before this (the table's clock) */
  uint64_t next_ticket;       /* the last place given in `waiting` */
  struct event *wake_timer;   /* owned: wakes a host waiting out its delay or pause */
  struct host_control control; /* its pause, and its --adaptive limit */
  struct rate_bucket bucket;   /* --per-host-rate */
  char key[];               /* "scheme://host:port" */
};

struct hosts {
  struct hosts_config config; /* limit_per_host: UINT_MAX for none */
  struct hash_table entries;  /* key -> struct host * */
  size_t waiting;             /* jobs parked across all hosts */
};

static bool hosts_entry_matches(const void *context, uint64_t value, const void *key,
                                size_t length) {
  (void)context;
  const char *entry_key = ((const struct host *)(uintptr_t)value)->key;
  return strncmp(entry_key, key, length) == 0 && entry_key[length] == '\0';
}

static void hosts_free_entry(struct host *host) {
  robots_free(host->robots);
  if (host->wake_timer)
    event_free(host->wake_timer);
  free(host);
}

static struct host *hosts_acquire(struct hosts *hosts, const char *key) {
  size_t key_length = strlen(key);
  uint64_t hash = hash_string(key);
  struct host *host =
      (struct host *)(uintptr_t)hash_table_find(&hosts->entries, hash, key, key_length);
  if (host) {
    host->references++;
    return host;
  }
  host = calloc(1, sizeof *host + key_length + 1);
  if (!host)
    return NULL;
  host->table = hosts;
  host->references = 1;
  memcpy(host->key, key, key_length + 1);
  int64_t now_us = clock_now_us(&hosts->config.clock);
  host_control_init(&host->control, now_us);
  host->delay_us = hosts->config.min_gap_us;
  if (hosts->config.rate_per_host > 0)
    rate_bucket_init(&host->bucket, hosts->config.rate_per_host, now_us);
  if (!hash_table_insert(&hosts->entries, hash, (uintptr_t)host)) {
    free(host);
    return NULL;
  }
  return host;
}

static void hosts_release(struct hosts *hosts, struct host *host) {
  if (--host->references > 0)
    return;
  hash_table_remove(&hosts->entries, hash_string(host->key), (uintptr_t)host);
  hosts_free_entry(host);
}

bool hosts_policy_given(const struct afetch_options *options) {
  return options->per_host > 0 || options->robots || options->adaptive ||
         options->per_host_rate > 0 || options->per_host_delay_ms > 0;
}

bool hosts_configure(struct hosts_config *config, const struct afetch_options *options) {
  config->limit_per_host = options->per_host;
  config->robots = options->robots;
  config->rate_per_host = options->per_host_rate;
  config->min_gap_us = (int64_t)options->per_host_delay_ms * 1000;
  config->adaptive_cap = 0;
  if (options->adaptive) /* -c bounds the run anyway */
    config->adaptive_cap = options->per_host ? options->per_host : options->concurrency;
  bool per_host_policy = hosts_policy_given(options);
  /* A server's Retry-After speaks for the host, not for one URL: with retries, the other URLs
   * of that host wait too. Backoff pauses without one stay with the per-host options, which
   * a user chose to be polite with; a plain -r keeps its own --retry-delay. */
  config->advised_pauses_only = !per_host_policy && options->retries > 0;
  config->advised_pause_max_ms = options->retry_max_delay_ms;
  return per_host_policy || options->retries > 0;
}

struct hosts *hosts_new(const struct hosts_config *config) {
  struct hosts *hosts = calloc(1, sizeof *hosts);
  if (!hosts)
    return NULL;
  hosts->config = *config;
  if (!config->limit_per_host)
    hosts->config.limit_per_host = UINT_MAX;
  hash_table_init(&hosts->entries, hosts_entry_matches, NULL);
  return hosts;
}

bool hosts_attach(struct hosts *hosts, struct job *job) {
  char key[HOSTS_KEY_SIZE];
  if (!url_host_key(job->request->url, key, sizeof key))
    return true;
  job->host = hosts_acquire(hosts, key);
  return job->host != NULL;
}

void hosts_detach(struct hosts *hosts, struct job *job) {
  if (job->host && !job->robots_for)
    hosts_release(hosts, job->host);
  job->host = NULL;
}

/* Keeps a job until its host lets it go, in the order jobs came: a job let go that must wait
 * again takes back its place (its ticket) ahead of those that came after it. */
static void hosts_park(struct hosts *hosts, struct host *host, struct job *job) {
  struct job *before = NULL;
  if (!job->host_ticket)
    job->host_ticket = ++host->next_ticket;
  else
    for (before = host->waiting.head; before && before->host_ticket < job->host_ticket;)
      before = before->next;
  job_list_insert_before(&host->waiting, before, job);
  hosts->waiting++;
  job->parked_us = clock_now_us(&hosts->config.clock);
}

/* Lets the host's oldest waiting job go, if any. */
static void hosts_release_one(struct hosts *hosts, struct host *host) {
  struct job *next = job_list_pop_front(&host->waiting);
  if (!next)
    return;
  hosts->waiting--;
  hosts->config.on_release(hosts->config.release_arg, next);
}

/* The host's limit on transfers in flight: --per-host, or its --adaptive one. */
static unsigned hosts_limit(const struct hosts *hosts, const struct host *host) {
  return hosts->config.adaptive_cap
             ? host_control_limit(&host->control, hosts->config.adaptive_cap)
             : hosts->config.limit_per_host;
}

/* Lets as many waiting jobs go as the host has room for (at least one: it may be waiting
 * for its delay, not for room). */
static void hosts_release_room(struct hosts *hosts, struct host *host) {
  unsigned limit = hosts_limit(hosts, host);
  unsigned room = host->in_flight < limit ? limit - host->in_flight : 1;
  while (room-- > 0 && host->waiting.head)
    hosts_release_one(hosts, host);
}

static void hosts_wake_later(struct hosts *hosts, struct host *host, int64_t wait_us);

static void hosts_on_wake(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct host *host = arg;
  struct hosts *hosts = host->table;
  if (!host->pause_holds_reference) { /* a gap ended: the next job's turn */
    hosts_release_one(hosts, host);
    return;
  }
  int64_t left_us = host->control.pause_until_us - clock_now_us(&hosts->config.clock);
  if (left_us > 0) { /* a gap's timer, set before the pause */
    hosts_wake_later(hosts, host, left_us);
    return;
  }
  host->pause_holds_reference = false;
  hosts_release_room(hosts, host); /* the pause ended: as many as may run */
  hosts_release(hosts, host);      /* last: it may free the host */
}

/* Sets the host's wake-up timer for `wait_us` from now, unless it is set already. */
static void hosts_wake_later(struct hosts *hosts, struct host *host, int64_t wait_us) {
  if (!host->wake_timer)
    host->wake_timer = evtimer_new(hosts->config.base, hosts_on_wake, host);
  if (host->wake_timer && !evtimer_pending(host->wake_timer, NULL)) {
    struct timeval delay = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(host->wake_timer, &delay);
  }
}

/* Crawl-delay, --per-host-delay and --per-host-rate: false (after setting the host's wake-up)
 * while the host must still wait. */
static bool hosts_delay_passed(struct hosts *hosts, struct host *host) {
  if (host->delay_us <= 0 && hosts->config.rate_per_host <= 0)
    return true;
  int64_t now_us = clock_now_us(&hosts->config.clock);
  int64_t wait_us = host->delay_us > 0 ? host->next_start_us - now_us : 0;
  if (hosts->config.rate_per_host > 0) {
    int64_t token_wait_us = rate_bucket_wait_us(&host->bucket, now_us);
    if (token_wait_us > wait_us)
      wait_us = token_wait_us;
  }
  if (wait_us <= 0)
    return true;
  hosts_wake_later(hosts, host, wait_us);
  return false;
}

/* A host's pause: false (the host's wake-up set) while it lasts. The time the job was parked
 * while its host was paused (the latest pause) counts as its "host_paused_ms". */
static bool hosts_pause_passed(struct hosts *hosts, struct host *host, struct job *job) {
  int64_t until_us = host->control.pause_until_us;
  if (!until_us)
    return true;
  int64_t now_us = clock_now_us(&hosts->config.clock);
  if (job->parked_us) {
    int64_t from_us = job->parked_us > host->control.pause_started_us
                          ? job->parked_us
                          : host->control.pause_started_us;
    int64_t to_us = now_us < until_us ? now_us : until_us;
    if (to_us > from_us)
      job->host_paused_us += to_us - from_us;
  }
  if (now_us >= until_us)
    return true;
  hosts_wake_later(hosts, host, until_us - now_us);
  return false;
}

/* The job that fetches a host's robots.txt (no result line of its own), or NULL when out of
 * memory. */
static struct job *hosts_robots_job(struct host *host) {
  size_t size = strlen(host->key) + sizeof "/robots.txt";
  char *url = malloc(size);
  if (!url)
    return NULL;
  snprintf(url, size, "%s/robots.txt", host->key);
  struct request *request = request_new_url(0, url);
  free(url);
  struct job *job = request ? job_new(request) : NULL;
  if (!job)
    return NULL;
  request->internal = true;
  request->keep_body = HOSTS_ROBOTS_MAX_BYTES; /* RFC 9309 asks for at least 500 KiB */
  host->robots_state = HOST_ROBOTS_FETCHING;
  /* This reference is never dropped: the host's rules stay for the whole run (one entry
   * per host crawled), so robots.txt is fetched once even when the host falls idle. */
  host->references++;
  job->host = job->robots_for = host;
  return job;
}

bool hosts_is_robots_job(const struct job *job) { return job->robots_for != NULL; }

/* True when the host's robots.txt allows the job; else the deciding rule is in `rule`. */
static bool hosts_robots_allow(const struct host *host, const struct job *job, char *rule,
                               size_t rule_size) {
  char *path = url_path_and_query(job->request->url);
  bool allowed = !path || robots_check(host->robots, path, rule, rule_size);
  free(path);
  return allowed;
}

enum host_verdict hosts_admit(struct hosts *hosts, struct job *job, struct job **robots_job,
                              char *rule, size_t rule_size) {
  struct host *host = job->host;
  if (!host || job->robots_for)
    return HOST_START;
  if (hosts->config.robots) {
    if (host->robots_state == HOST_ROBOTS_UNKNOWN) {
      hosts_park(hosts, host, job);
      *robots_job = hosts_robots_job(host);
      return HOST_FETCH_ROBOTS;
    }
    if (host->robots_state == HOST_ROBOTS_FETCHING) {
      hosts_park(hosts, host, job);
      return HOST_WAIT;
    }
    if (!job->robots_checked) {
      if (!hosts_robots_allow(host, job, rule, rule_size))
        return HOST_DISALLOWED;
      job->robots_checked = true;
    }
  }
  /* A job not queued before goes behind those waiting (they may be waiting out the gap). */
  bool queue_first = !job->host_ticket && host->waiting.head;
  bool paused = !hosts_pause_passed(hosts, host, job);
  job->parked_us = 0;
  if (paused || queue_first ||
      host->in_flight >= hosts_limit(hosts, host) || !hosts_delay_passed(hosts, host)) {
    hosts_park(hosts, host, job);
    return HOST_WAIT;
  }
  return HOST_START;
}

int64_t hosts_wake_time_us(const struct hosts *hosts, const struct job *job) {
  (void)hosts;
  const struct host *host = job->host;
  return host && host->delay_us > 0 ? host->next_start_us : 0;
}

void hosts_started(struct hosts *hosts, struct job *job) {
  struct host *host = job->host;
  if (!host)
    return;
  host->in_flight++;
  job->host_ticket = 0; /* a retry queues anew */
  job->started_us = clock_now_us(&hosts->config.clock);
  if (hosts->config.rate_per_host > 0)
    rate_bucket_take(&host->bucket, job->started_us);
  if (host->delay_us <= 0)
    return;
  host->next_start_us = job->started_us + host->delay_us;
  /* The next waiting job goes when the gap ends, not when a transfer finishes. */
  if (host->waiting.head)
    hosts_wake_later(hosts, host, host->delay_us);
}

void hosts_finished(struct hosts *hosts, struct job *job) {
  struct host *host = job->host;
  if (!host)
    return;
  host->in_flight--;
  if (hosts->config.adaptive_cap) /* its limit may have grown */
    hosts_release_room(hosts, host);
  else
    hosts_release_one(hosts, host);
}

/* What an outcome says about its host. */
static void hosts_observation_of(const struct job *job, const struct outcome *outcome,
                                 struct host_observation *seen) {
  const struct stats_sample *sample = &outcome->sample;
  *seen = (struct host_observation){.signal = HOST_SIGNAL_NONE,
                                    .latency_us = sample->ttfb_us,
                                    .started_us = job->started_us,
                                    .in_flight = job->host->in_flight,
                                    .has_retry_after = outcome->has_retry_after,
                                    .retry_after_s = outcome->retry_after_s};
  if (outcome->status == 429 || outcome->status == 503)
    seen->signal = HOST_SIGNAL_BUSY;
  else if (sample->error == RESULT_CONNECT || sample->error == RESULT_TIMEOUT)
    seen->signal = HOST_SIGNAL_UNREACHED;
  else if (outcome->status > 0)
    seen->signal = HOST_SIGNAL_ANSWER;
}

/* The host pauses until `until_us`: its jobs wait (a parked one is woken then), and the entry
 * stays while the pause lasts, so a job of it that comes later waits too. */
static void hosts_pause(struct hosts *hosts, struct host *host, int64_t until_us, int64_t now_us,
                        int64_t added_us) {
  if (!host->pause_holds_reference) {
    host->pause_holds_reference = true;
    host->references++;
  }
  hosts_wake_later(hosts, host, until_us - now_us);
  if (hosts->config.on_pause)
    hosts->config.on_pause(hosts->config.release_arg, host->key, added_us);
}

void hosts_observe(struct hosts *hosts, struct job *job, const struct outcome *outcome) {
  struct host *host = job->host;
  if (!host)
    return;
  struct host_observation seen;
  hosts_observation_of(job, outcome, &seen);
  if (hosts->config.advised_pauses_only && seen.signal != HOST_SIGNAL_ANSWER &&
      !(seen.signal == HOST_SIGNAL_BUSY && seen.has_retry_after &&
        seen.retry_after_s <= hosts->config.advised_pause_max_ms / 1000))
    return;
  if (seen.signal == HOST_SIGNAL_NONE)
    return;
  int64_t now_us = clock_now_us(&hosts->config.clock);
  int64_t was_until_us = host->control.pause_until_us;
  int64_t until_us = host_control_observe(&host->control, &seen, now_us, hosts->config.adaptive_cap);
  if (until_us)
    hosts_pause(hosts, host, until_us, now_us,
                until_us - (was_until_us > now_us ? was_until_us : now_us));
}

unsigned hosts_limit_of(const struct hosts *hosts, const struct job *job) {
  return job->host ? hosts_limit(hosts, job->host) : 0;
}

bool hosts_robots_done(struct hosts *hosts, struct job *robots_job, const struct outcome *outcome) {
  struct host *host = robots_job->robots_for;
  job_free(robots_job);
  /* RFC 9309: 4xx allows all, anything else that is not a 2xx disallows all. */
  if (outcome->ok && outcome->status >= 200 && outcome->status <= 299)
    host->robots = robots_parse(outcome->body ? outcome->body : "", outcome->body_length, "afetch");
  else if (outcome->status >= 400 && outcome->status <= 499)
    host->robots = robots_allow_all();
  else
    host->robots = robots_disallow_all();
  if (!host->robots)
    return false;
  host->robots_state = HOST_ROBOTS_READY;
  host->delay_us = (int64_t)(robots_crawl_delay(host->robots) * 1e6);
  if (host->delay_us < hosts->config.min_gap_us) /* the larger gap wins */
    host->delay_us = hosts->config.min_gap_us;
  while (host->waiting.head)
    hosts_release_one(hosts, host);
  return true;
}

size_t hosts_waiting(const struct hosts *hosts) { return hosts->waiting; }

size_t hosts_entries(const struct hosts *hosts) { return hash_table_count(&hosts->entries); }

void hosts_take_all_waiting(struct hosts *hosts, struct job_list *into) {
  size_t cursor = 0;
  for (uint64_t host; (host = hash_table_next(&hosts->entries, &cursor));)
    job_list_take_all(into, &((struct host *)(uintptr_t)host)->waiting);
  hosts->waiting = 0;
}

void hosts_free(struct hosts *hosts) {
  if (!hosts)
    return;
  size_t cursor = 0;
  for (uint64_t host; (host = hash_table_next(&hosts->entries, &cursor));)
    hosts_free_entry((struct host *)(uintptr_t)host);
  hash_table_free(&hosts->entries);
  free(hosts);
}
