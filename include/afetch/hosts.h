/* The --per-host limit's table: one entry per scheme+host+port that some live job names,
 * counting its transfers in flight and holding the jobs that wait for it. An entry lives
 * while a job refers to it, so the table is bounded by the jobs alive, not by the input;
 * with --robots a host's entry (and its rules) stays for the run: one per host crawled. */
#ifndef AFETCH_HOSTS_H
#define AFETCH_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "afetch/job.h"

/* --robots: where a host's robots.txt stands. */
enum host_robots {
  HOST_ROBOTS_UNKNOWN,  /* not asked for yet */
  HOST_ROBOTS_FETCHING, /* its job is on the way: the host's pages wait */
  HOST_ROBOTS_READY,    /* `robots` holds the rules */
};

struct host {
  struct host *next_in_bucket;
  size_t hash;
  unsigned references; /* jobs pointing here */
  unsigned in_flight;
  struct job_list waiting; /* jobs that cannot start yet (host full, robots.txt, delay) */
  enum host_robots robots_state;
  struct robots *robots;    /* owned, once READY */
  int64_t delay_us;         /* Crawl-delay: least time between two starts */
  int64_t next_start_us;    /* no start before this (rate_now_us() clock) */
  struct event *wake_timer; /* owned: wakes a host waiting out its delay */
  void *owner;              /* the scheduler, for the timer's callback */
  char key[];               /* "scheme://host:port" */
};

struct hosts;

/* NULL when out of memory. */
struct hosts *hosts_new(unsigned limit_per_host);

/* The entry for key, created when new, with one more reference. NULL when out of memory. */
struct host *hosts_acquire(struct hosts *hosts, const char *key);

/* Drops a reference taken by hosts_acquire(); the entry goes when the last one does. */
void hosts_release(struct hosts *hosts, struct host *host);

/* True when one more transfer to the host may start. */
bool hosts_has_room(const struct hosts *hosts, const struct host *host);

/* Moves every waiting job of every host to the back of `into` (for a stop). */
void hosts_take_all_waiting(struct hosts *hosts, struct job_list *into);

/* The table must be empty of references (every job released). */
void hosts_free(struct hosts *hosts);

#endif
