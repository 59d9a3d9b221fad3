/* Per-host policy: a hash table of host entries (by "scheme://host:port"), reference counted
 * by jobs, each with its waiting jobs, transfers in flight, robots.txt rules and Crawl-delay. */
#include "afetch/hosts.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "afetch/hash_table.h"
#include "afetch/outcome.h"
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
  int64_t delay_us;         /* Crawl-delay: least time between two starts */
  int64_t next_start_us;    /* no start before this (the table's clock) */
  uint64_t next_ticket;     /* the last place given in `waiting` */
  struct event *wake_timer; /* owned: wakes a host waiting out its delay */
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
}

/* Lets the host's oldest waiting job go, if any. */
static void hosts_release_one(struct hosts *hosts, struct host *host) {
  struct job *next = job_list_pop_front(&host->waiting);
  if (!next)
    return;
  hosts->waiting--;
  hosts->config.on_release(hosts->config.release_arg, next);
}

static void hosts_on_wake(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct host *host = arg;
  hosts_release_one(host->table, host);
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

/* Crawl-delay: false (after setting the host's wake-up) while the host must still wait. */
static bool hosts_delay_passed(struct hosts *hosts, struct host *host) {
  if (host->delay_us <= 0)
    return true;
  int64_t wait_us = host->next_start_us - clock_now_us(&hosts->config.clock);
  if (wait_us <= 0)
    return true;
  hosts_wake_later(hosts, host, wait_us);
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
  if (queue_first || host->in_flight >= hosts->config.limit_per_host ||
      !hosts_delay_passed(hosts, host)) {
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
  if (host->delay_us <= 0)
    return;
  host->next_start_us = clock_now_us(&hosts->config.clock) + host->delay_us;
  /* The next waiting job goes when the gap ends, not when a transfer finishes. */
  if (host->waiting.head)
    hosts_wake_later(hosts, host, host->delay_us);
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
