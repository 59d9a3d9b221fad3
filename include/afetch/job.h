/* A job: one request across its attempts, as the scheduler keeps it between reading the line
 * and committing its result. The request is immutable; the rest is attempt state that only
 * the scheduler's thread reads or writes (a worker sees the request, never the job). Also the
 * lists that hold a job while it waits (ready to start, waiting for its host, for a retry). */
#ifndef AFETCH_JOB_H
#define AFETCH_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "afetch/request.h"
#include "afetch/result.h"

struct event;
struct host;
struct retry_queue;
struct work_source;

struct job {
  struct request *request; /* owned */
  unsigned attempts;       /* transfers started */
  bool has_retry_after;    /* the latest Retry-After a response gave */
  int64_t retry_after_s;
  bool robots_checked;        /* its host's robots.txt allows it */
  struct host *host;          /* --per-host, --robots: the host it counts against */
  uint64_t host_ticket;       /* its place in its host's queue, kept when let go (0: none yet) */
  int64_t host_paused_us;     /* time it waited while its host was paused ("host_paused_ms") */
  int64_t parked_us;          /* parked by its host at this time (0: not parked) */
  int64_t started_us;         /* its latest attempt started (the hosts' clock) */
  struct host *robots_for;    /* a host's own robots.txt fetch (its host's business) */
  struct work_source *source; /* where it came from (told when it is done); NULL: a robots.txt */
  struct retry_queue *retry_queue; /* while waiting for a retry (retry_queue.h) */
  struct event *retry_timer;       /* its timer, meanwhile */
  struct job *prev, *next;         /* in at most one job_list */
};

/* A doubly linked FIFO of jobs: O(1) push, pop and removal from the middle. */
struct job_list {
  struct job *head, *tail;
  size_t count;
};

/* A job that takes over `request`, or NULL (the request freed) when out of memory. */
struct job *job_new(struct request *request);

/* Frees the job and its request. */
void job_free(struct job *job);

/* A result for a job that is not in flight and will not run (see request_stopped_result()),
 * with its tries and latest Retry-After. Strings borrowed from the job. */
void job_stopped_result(const struct job *job, enum result_error why, struct afetch_result *result);

void job_list_push_back(struct job_list *list, struct job *job);
struct job *job_list_pop_front(struct job_list *list);
void job_list_remove(struct job_list *list, struct job *job);
/* Puts `job` in front of `before` (in the list; NULL: at the back). */
void job_list_insert_before(struct job_list *list, struct job *before, struct job *job);
/* Moves every job of `from` to the back of `to`. */
void job_list_take_all(struct job_list *to, struct job_list *from);

#endif
