/* A request: what one input line (a URL, or a JSON object), a page the crawler found or a
 * host's robots.txt asks to fetch. Built by its source and completed by the scheduler before
 * the first attempt (the -o path, the --if-changed validators); from then on nobody changes
 * it, so a worker thread may read it while the scheduler holds the job around it. */
#ifndef AFETCH_REQUEST_H
#define AFETCH_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "afetch/result.h"

struct curl_slist;
struct source_line;

struct request {
  /* The result's "index". A source may number its requests (index_set: an input line keeps
   * its line's number even when lines before it are not fetched in this run); otherwise the
   * scheduler gives the position. */
  uint64_t index;
  bool index_set;
  /* The order the scheduler took it in (every request it takes gets the next one): where
   * the output sink places its result. */
  uint64_t position;
  size_t length;       /* bytes in url */
  size_t scheme_added; /* bytes of "http://" put in front of the line */
  bool too_long;       /* the line was cut at SOURCE_MAX_LINE */
  /* Fetched for afetch's own use (a host's robots.txt): no result line, not crawled, no
   * validators recorded; its body is kept in the outcome, up to keep_body bytes. */
  bool internal;
  size_t keep_body;
  /* What the options ask for the body (owned, NULL when unused). */
  char *output_path;       /* -o: DIR/name, also reported as "file" */
  char *if_none_match;     /* --if-changed: header lines to send */
  char *if_modified_since; /* (the state knew validators for the URL) */
  bool may_resume;         /* -o: a partial kept for the URL may be continued (partial.h) */
  /* Crawling (owned, NULL/0 when unused). */
  unsigned depth;            /* links followed from the seed */
  char *parent;              /* the page that linked it; NULL for a seed */
  char *scope_key;           /* its seed's scope (frontier_scope_key()) */
  const char *requisite_via; /* a requisite: what asked for it (static); NULL: a page */
  unsigned requisite_level;  /* a requisite: 1 for a page's, 2 for those of its CSS ... */
  uint64_t seed_line;        /* a seed: the input line it was read from (index: the crawl's) */
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

/* A request for the line (copied), or NULL when out of memory. Free with request_free(). */
struct request *request_new(const struct source_line *line);

/* A request for a URL (copied), or NULL when out of memory. */
struct request *request_new_url(uint64_t index, const char *url);

void request_free(struct request *request);

/* The URL as the user gave it (without a scheme afetch added). */
const char *request_given_url(const struct request *request);

/* A result for a request that will not run (any more): stopped by a signal (RESULT_CANCELLED)
 * or by the deadline (RESULT_DEADLINE), after `attempts` tries. Strings borrowed from the
 * request. */
void request_stopped_result(const struct request *request, enum result_error why, unsigned attempts,
                            struct afetch_result *result);

#endif
