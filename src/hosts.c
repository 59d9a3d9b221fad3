/* Per-host policy: a chained hash table of host entries, reference counted by jobs, each
 * with its waiting jobs, transfers in flight, robots.txt rules and Crawl-delay. */
#include "afetch/hosts.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "afetch/outcome.h"
#include "afetch/rate.h"
#include "afetch/robots.h"
#include "afetch/url.h"

#define HOSTS_INITIAL_BUCKETS 64
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
  struct host *next_in_bucket;
  size_t hash;
  struct hosts *table; /* for the wake timer's callback */
  unsigned references; /* jobs pointing here */
  unsigned in_flight;
  struct job_list waiting; /* jobs that cannot start yet (host full, robots.txt, delay) */
  enum host_robots robots_state;
  struct robots *robots;    /* owned, once READY */
  int64_t delay_us;         /* Crawl-delay: least time between two starts */
  int64_t next_start_us;    /* no start before this (rate_now_us() clock) */
  struct event *wake_timer; /* owned: wakes a host waiting out its delay */
  char key[];               /* "scheme://host:port" */
};

struct hosts {
  unsigned limit_per_host;
  struct host **buckets;
  size_t bucket_count; /* a power of two */
  size_t entry_count;
  struct event_base *base;
  bool robots;
  size_t waiting; /* jobs parked across all hosts */
  hosts_release_fn on_release;
  void *on_release_arg;
};

static size_t hosts_hash(const char *key) {
  uint64_t hash = UINT64_C(14695981039346656037);
  for (const unsigned char *c = (const unsigned char *)key; *c; c++)
    hash = (hash ^ *c) * UINT64_C(1099511628211);
  return (size_t)hash;
}

static struct hosts *hosts_new_table(unsigned limit_per_host) {
  struct hosts *hosts = calloc(1, sizeof *hosts);
  if (!hosts)
    return NULL;
  hosts->limit_per_host = limit_per_host;
  hosts->bucket_count = HOSTS_INITIAL_BUCKETS;
  hosts->buckets = calloc(hosts->bucket_count, sizeof *hosts->buckets);
  if (!hosts->buckets) {
    free(hosts);
    return NULL;
  }
  return hosts;
}

/* Doubles the bucket array when entries outnumber buckets; on failure keeps the old one. */
static void hosts_grow(struct hosts *hosts) {
  size_t count = hosts->bucket_count * 2;
  struct host **buckets = calloc(count, sizeof *buckets);
  if (!buckets)
    return;
  for (size_t i = 0; i < hosts->bucket_count; i++) {
    struct host *host = hosts->buckets[i];
    while (host) {
      struct host *next = host->next_in_bucket;
      struct host **bucket = &buckets[host->hash & (count - 1)];
      host->next_in_bucket = *bucket;
      *bucket = host;
      host = next;
    }
  }
  free(hosts->buckets);
  hosts->buckets = buckets;
  hosts->bucket_count = count;
}

static void hosts_free_entry(struct host *host) {
  robots_free(host->robots);
  if (host->wake_timer)
    event_free(host->wake_timer);
  free(host);
}

static struct host *hosts_acquire(struct hosts *hosts, const char *key) {
  size_t hash = hosts_hash(key);
  struct host **bucket = &hosts->buckets[hash & (hosts->bucket_count - 1)];
  for (struct host *host = *bucket; host; host = host->next_in_bucket)
    if (host->hash == hash && strcmp(host->key, key) == 0) {
      host->references++;
      return host;
    }
  size_t key_length = strlen(key);
  struct host *host = calloc(1, sizeof *host + key_length + 1);
  if (!host)
    return NULL;
  host->hash = hash;
  host->references = 1;
  memcpy(host->key, key, key_length + 1);
  host->next_in_bucket = *bucket;
  *bucket = host;
  if (++hosts->entry_count > hosts->bucket_count)
    hosts_grow(hosts);
  return host;
}

static void hosts_release(struct hosts *hosts, struct host *host) {
  if (--host->references > 0)
    return;
  struct host **link = &hosts->buckets[host->hash & (hosts->bucket_count - 1)];
  while (*link != host)
    link = &(*link)->next_in_bucket;
  *link = host->next_in_bucket;
  hosts->entry_count--;
  hosts_free_entry(host);
}

struct hosts *hosts_new(struct event_base *base, unsigned limit_per_host, bool robots,
                        hosts_release_fn on_release, void *arg) {
  struct hosts *hosts = hosts_new_table(limit_per_host ? limit_per_host : UINT_MAX);
  if (!hosts)
    return NULL;
  hosts->base = base;
  hosts->robots = robots;
  hosts->on_release = on_release;
  hosts->on_release_arg = arg;
  return hosts;
}

bool hosts_attach(struct hosts *hosts, struct job *job) {
  char key[HOSTS_KEY_SIZE];
  if (!url_host_key(job->request->url, key, sizeof key))
    return true;
  job->host = hosts_acquire(hosts, key);
  if (job->host)
    job->host->table = hosts;
  return job->host != NULL;
}

void hosts_detach(struct hosts *hosts, struct job *job) {
  if (job->host && !job->robots_for)
    hosts_release(hosts, job->host);
  job->host = NULL;
}

/* Keeps a job until its host lets it go. */
static void hosts_park(struct hosts *hosts, struct host *host, struct job *job) {
  job_list_push_back(&host->waiting, job);
  hosts->waiting++;
}

/* Lets the host's oldest waiting job go, if any. */
static void hosts_release_one(struct hosts *hosts, struct host *host) {
  struct job *next = job_list_pop_front(&host->waiting);
  if (!next)
    return;
  hosts->waiting--;
  hosts->on_release(hosts->on_release_arg, next);
}

static void hosts_on_wake(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct host *host = arg;
  hosts_release_one(host->table, host);
}

/* Crawl-delay: false (after setting the host's wake-up) while the host must still wait. */
static bool hosts_delay_passed(struct hosts *hosts, struct host *host) {
  if (host->delay_us <= 0)
    return true;
  int64_t wait_us = host->next_start_us - rate_now_us();
  if (wait_us <= 0)
    return true;
  if (!host->wake_timer)
    host->wake_timer = evtimer_new(hosts->base, hosts_on_wake, host);
  if (host->wake_timer && !evtimer_pending(host->wake_timer, NULL)) {
    struct timeval delay = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
    evtimer_add(host->wake_timer, &delay);
  }
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
  if (hosts->robots) {
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
  if (host->in_flight >= hosts->limit_per_host || !hosts_delay_passed(hosts, host)) {
    hosts_park(hosts, host, job);
    return HOST_WAIT;
  }
  return HOST_START;
}

void hosts_started(struct hosts *hosts, struct job *job) {
  (void)hosts;
  struct host *host = job->host;
  if (!host)
    return;
  host->in_flight++;
  if (host->delay_us > 0)
    host->next_start_us = rate_now_us() + host->delay_us;
}

void hosts_finished(struct hosts *hosts, struct job *job) {
  struct host *host = job->host;
  if (!host)
    return;
  host->in_flight--;
  hosts_release_one(hosts, host);
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
  while (host->waiting.head)
    hosts_release_one(hosts, host);
  return true;
}

size_t hosts_waiting(const struct hosts *hosts) { return hosts->waiting; }

size_t hosts_entries(const struct hosts *hosts) { return hosts->entry_count; }

void hosts_take_all_waiting(struct hosts *hosts, struct job_list *into) {
  for (size_t i = 0; i < hosts->bucket_count; i++)
    for (struct host *host = hosts->buckets[i]; host; host = host->next_in_bucket)
      job_list_take_all(into, &host->waiting);
  hosts->waiting = 0;
}

void hosts_free(struct hosts *hosts) {
  if (!hosts)
    return;
  for (size_t i = 0; i < hosts->bucket_count; i++) {
    struct host *host = hosts->buckets[i];
    while (host) {
      struct host *next = host->next_in_bucket;
      hosts_free_entry(host);
      host = next;
    }
  }
  free(hosts->buckets);
  free(hosts);
}
