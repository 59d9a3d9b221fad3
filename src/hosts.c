/* The --per-host table: a chained hash table of host entries, reference counted by jobs. */
#include "afetch/hosts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "afetch/robots.h"

#define HOSTS_INITIAL_BUCKETS 64

struct hosts {
  unsigned limit_per_host;
  struct host **buckets;
  size_t bucket_count; /* a power of two */
  size_t entry_count;
};

/* FNV-1a: short keys, no adversary to speak of (a hostile list only slows its own run). */
static size_t hosts_hash(const char *key) {
  uint64_t hash = UINT64_C(14695981039346656037);
  for (const unsigned char *c = (const unsigned char *)key; *c; c++)
    hash = (hash ^ *c) * UINT64_C(1099511628211);
  return (size_t)hash;
}

struct hosts *hosts_new(unsigned limit_per_host) {
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

struct host *hosts_acquire(struct hosts *hosts, const char *key) {
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

void hosts_release(struct hosts *hosts, struct host *host) {
  if (--host->references > 0)
    return;
  struct host **link = &hosts->buckets[host->hash & (hosts->bucket_count - 1)];
  while (*link != host)
    link = &(*link)->next_in_bucket;
  *link = host->next_in_bucket;
  hosts->entry_count--;
  hosts_free_entry(host);
}

bool hosts_has_room(const struct hosts *hosts, const struct host *host) {
  return host->in_flight < hosts->limit_per_host;
}

void hosts_take_all_waiting(struct hosts *hosts, struct job_list *into) {
  for (size_t i = 0; i < hosts->bucket_count; i++)
    for (struct host *host = hosts->buckets[i]; host; host = host->next_in_bucket)
      job_list_take_all(into, &host->waiting);
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
