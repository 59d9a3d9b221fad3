/* One input URL across its attempts: what the scheduler keeps between reading the line and
 * writing its result (the URL text, tries so far, its host), and the lists that hold it
 * while it waits (ready to start, waiting for its host, waiting for a retry). */
#ifndef AFETCH_JOB_H
#define AFETCH_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/result.h"

struct event;
struct host;
struct scheduler;
struct source_line;

struct job {
  uint64_t index;
  size_t length;       /* bytes in url */
  size_t scheme_added; /* bytes of "http://" put in front of the line */
  bool too_long;       /* the line was cut at SOURCE_MAX_LINE */
  unsigned attempts;   /* transfers started */
  bool has_retry_after;
  int64_t retry_after_s;        /* the latest Retry-After a response gave */
  unsigned retry_after_attempt; /* the attempt whose response gave it */
  struct host *host;            /* --per-host only */
  struct scheduler *owner;      /* for the retry timer's callback */
  struct event *retry_timer;    /* while waiting for a retry */
  struct job *prev, *next;      /* in at most one job_list */
  /* Bodies (all owned, NULL when unused). */
  char *output_path;       /* -o: DIR/name, also reported as "file" */
  char *if_none_match;     /* --if-changed: header lines to send */
  char *if_modified_since; /* (the state knew validators for the URL) */
  char *new_etag;          /* --if-changed: validators of an ok 2xx response, to record */
  char *new_last_modified;
  bool not_modified; /* the response was a 304 */
  char url[];        /* the URL as fetched: the line, "http://" added without scheme */
};

/* A doubly linked FIFO of jobs: O(1) push, pop and removal from the middle. */
struct job_list {
  struct job *head, *tail;
  size_t count;
};

/* A job for the line (copied), or NULL when out of memory. Free with job_free(). */
struct job *job_new(const struct source_line *line);
void job_free(struct job *job);

/* The URL as the user gave it (without a scheme afetch added). */
const char *job_given_url(const struct job *job);

/* A result for a job that is not in flight and will not run: stopped by a signal
 * (RESULT_CANCELLED) or by the deadline (RESULT_DEADLINE). Strings borrowed from the job. */
void job_stopped_result(const struct job *job, enum result_error why, struct afetch_result *result);

void job_list_push_back(struct job_list *list, struct job *job);
struct job *job_list_pop_front(struct job_list *list);
void job_list_remove(struct job_list *list, struct job *job);
/* Moves every job of `from` to the back of `to`. */
void job_list_take_all(struct job_list *to, struct job_list *from);

#endif
