/* One input URL across its attempts: what the scheduler keeps between reading the line and
 * writing its result (the URL text, tries so far, its host), and the lists that hold it
 * while it waits (ready to start, waiting for its host, waiting for a retry). */
#ifndef AFETCH_JOB_H
#define AFETCH_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/result.h"

struct curl_slist;
struct event;
struct host;
struct scheduler;
struct source_line;

/* The links of one page, each once: a list in document order and a set of their hashes. */
struct job_links {
  char **urls;
  size_t count, capacity;
  uint64_t *hashes; /* open addressing, 0 = empty slot */
  size_t hash_slots;
};

struct job {
  uint64_t index;
  size_t length;       /* bytes in url */
  size_t scheme_added; /* bytes of "http://" put in front of the line */
  bool too_long;       /* the line was cut at SOURCE_MAX_LINE */
  unsigned attempts;   /* transfers started */
  bool has_retry_after;
  int64_t retry_after_s;        /* the latest Retry-After a response gave */
  unsigned retry_after_attempt; /* the attempt whose response gave it */
  struct host *host;            /* --per-host, --robots */
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
  /* Crawling (owned, NULL/0 when unused). The worker fills links, final_url, status and
   * captured while the job is in flight; the scheduler reads them when it comes back. */
  unsigned depth;         /* links followed from the seed */
  char *parent;           /* the page that linked it; NULL for a seed */
  char *scope_key;        /* its seed's scope (frontier_scope_key()) */
  bool is_robots;         /* a host's robots.txt: no result line, its body is kept */
  bool robots_checked;    /* its host's robots.txt allows it */
  struct job_links links; /* distinct links found on the page, in document order */
  /* -p: distinct requisites found on the page (or stylesheet), in document order, and what
   * asked for each (requisite_vias[i], static strings, parallel to requisites.urls). */
  struct job_links requisites;
  const char **requisite_vias;
  size_t requisite_via_capacity;
  const char *requisite_via; /* a requisite: what asked for it (static); NULL: a page */
  unsigned requisite_level;  /* a requisite: 1 for a page's, 2 for those of its CSS ... */
  char *final_url;           /* after redirects, normalised */
  long status;               /* the final HTTP status, 0 without a response */
  char *captured;            /* is_robots: the body (at most ROBOTS_MAX_BYTES) */
  size_t captured_length;
  /* JSON-lines input (owned; NULL/0 for a plain URL line). */
  char *id_json;              /* "id" as JSON text, echoed into the result */
  char *method;               /* "method" */
  struct curl_slist *headers; /* -H headers with "headers" merged in (replacing same names) */
  char *body;                 /* "body" */
  size_t body_length;
  long timeout_ms;   /* "timeout"; 0: -t */
  char *output_name; /* "output": the name under -o, sanitised like a template */
  char *input_error; /* why the line is no usable request: an invalid_input result */
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

/* Adds a link (copied) unless the page already had it. False when out of memory. */
bool job_add_link(struct job *job, const char *url);

/* -p: adds a requisite (copied; `via` static) unless the page already had it. False when out
 * of memory. */
bool job_add_requisite(struct job *job, const char *url, const char *via);

/* A job for a host's robots.txt (`origin` is "scheme://host:port"). NULL when out of memory. */
struct job *job_new_robots(const char *origin);

/* A job for a URL the crawler found (copied), or NULL when out of memory. */
struct job *job_new_url(uint64_t index, const char *url);

void job_list_push_back(struct job_list *list, struct job *job);
struct job *job_list_pop_front(struct job_list *list);
void job_list_remove(struct job_list *list, struct job *job);
/* Moves every job of `from` to the back of `to`. */
void job_list_take_all(struct job_list *to, struct job_list *from);

#endif
