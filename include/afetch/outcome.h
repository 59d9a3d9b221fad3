/* An outcome: what one finished attempt (or one that never started) hands back to the
 * scheduler, as a message. It owns everything the response gave: the result as JSON text,
 * the figures --stats counts, the status, the final URL, a kept body, the links found, the
 * validators and Retry-After. A worker builds it on its own thread and gives it away whole;
 * from then on only the scheduler's thread touches it. The request it answers is never
 * written to. */
#ifndef AFETCH_OUTCOME_H
#define AFETCH_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/hash_table.h"
#include "afetch/stats.h"

/* Distinct URLs, each once: a list in document order and a table of them. */
struct url_set {
  char **urls;
  size_t count, capacity;
  struct hash_table seen; /* values: the copies in `urls` */
};

/* What a page showed: its links (--crawl) and requisites (-p), each with what asked for it
 * (requisite_vias[i], static strings, parallel to requisites.urls). */
struct page_links {
  struct url_set links;
  struct url_set requisites;
  const char **requisite_vias;
  size_t requisite_via_capacity;
};

/* Adds a link (copied) unless the page already had it. False when out of memory. */
bool page_links_add_link(struct page_links *found, const char *url);

/* -p: adds a requisite (copied; `via` static) unless the page already had it. False when out
 * of memory. */
bool page_links_add_requisite(struct page_links *found, const char *url, const char *via);

/* Frees what the page links hold and leaves them empty. */
void page_links_clear(struct page_links *found);

struct outcome {
  void *tag;                  /* the submitter's handle for the request (its job), handed back */
  struct outcome *next;       /* in a queue of outcomes */
  bool ok;                    /* the contract's "ok" */
  bool transient;             /* a failure another try may cure (retry_is_transient) */
  struct stats_sample sample; /* the figures --stats and the progress line count */
  long status;                /* the final HTTP status, 0 without a response */
  bool not_modified;          /* the response was a 304 */
  bool has_retry_after;       /* this attempt's response gave a Retry-After */
  int64_t retry_after_s;
  char *final_url; /* --crawl: after redirects, normalised (owned, may be NULL) */
  char *body;      /* the request's keep_body: the body (owned, may be NULL) */
  size_t body_length;
  struct page_links found; /* --crawl, -p */
  char *new_etag;          /* --if-changed: validators of an ok 2xx response, to record */
  char *new_last_modified;
  size_t json_length; /* 0: the result could not be made (out of memory) */
  char json[];        /* the result object */
};

/* An outcome holding `fields` (their strings and links taken over, json_length ignored) and a
 * copy of the JSON text. NULL when out of memory (the fields then stay the caller's). */
struct outcome *outcome_new(const struct outcome *fields, const char *json, size_t json_length);

void outcome_free(struct outcome *outcome);

/* A FIFO of outcomes. */
struct outcome_queue {
  struct outcome *head, *tail;
};

void outcome_queue_push(struct outcome_queue *queue, struct outcome *outcome);
struct outcome *outcome_queue_pop(struct outcome_queue *queue);
/* Moves all of `from` to the back of `to`. */
void outcome_queue_take_all(struct outcome_queue *to, struct outcome_queue *from);

#endif
