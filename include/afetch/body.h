/* What happens to a response body's bytes as they arrive: counted, checked against
 * --max-size, hashed (--sha256), kept for the result (--body), saved to a file (-o). Only
 * the final response's body is seen (curl skips redirect bodies); only a 2xx body is saved. Nothing
 * is held whole except a --body capture, which --max-size bounds. */
#ifndef AFETCH_BODY_H
#define AFETCH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/download.h"
#include "afetch/links.h"

struct css_scanner;
struct url_base;

struct afetch_options;
struct evp_md_ctx_st;

struct body {
  const struct afetch_options *options;
  uint64_t bytes; /* received in this transfer */
  bool too_large; /* more than --max-size arrived */
  int write_error;
  bool status_checked; /* the first byte checked the status */
  bool keep;           /* a 2xx: saved */
  struct evp_md_ctx_st *digest;
  char sha256[65]; /* hex, filled by body_finish() */
  bool has_sha256;
  char *captured; /* --body, robots.txt: NUL-terminated, owned */
  size_t captured_length, captured_capacity;
  size_t capture_max; /* bytes kept at most in this transfer (0: none) */
  bool find_links;    /* --crawl: parse a 2xx HTML body for links */
  bool find_requisites; /* -p: also for requisites, and a 2xx CSS body for url()/@import */
  struct link_extractor *links;
  struct css_scanner *css;   /* a stylesheet's scanner, while one streams in */
  struct url_base *css_base; /* its URL, to resolve its references against */
  link_found_fn on_link;
  requisite_found_fn on_requisite;
  void *on_link_arg; /* for both */
  struct download download;
  const char *path; /* -o target of this transfer, borrowed; NULL: not saved */
  bool saved;       /* body_finish() put the file in place */
  /* Resuming (partial.h): the URL a partial is kept for (borrowed; NULL: none is). */
  const char *resume_url;
  bool file_opened;      /* a 2xx body chose its file (at its first byte) */
  uint64_t resumed_from; /* bytes of the file a kept partial gave (a 206 continued it) */
  bool resume_refused;   /* a 206 that does not continue the partial (which is gone) */
  char *if_range_line;   /* "If-Range: VALIDATOR" for the partial found, owned; NULL: none */
};

/* Once per task; links found in pages go to on_link, requisites (-p) to on_requisite. False
 * when out of memory. */
bool body_init(struct body *body, const struct afetch_options *options, link_found_fn on_link,
               requisite_found_fn on_requisite, void *on_link_arg);

/* Before each transfer: `path` is where -o saves this one (NULL: nowhere); with
 * `resume_url`, a partial kept for that URL is looked for (body_resume_offset()), and a 2xx
 * body with a validator is saved so that it can be continued (see body_on_data()); the first
 * `capture_max` bytes are kept (0: none; more are dropped, --max-size is the error limit);
 * `find_links` parses an HTML 2xx body for links; `find_requisites` also for requisites, and
 * scans a CSS 2xx body (text/css) for its url() and @import references, reported as
 * requisites with via "css". */
void body_start(struct body *body, const char *path, const char *resume_url, size_t capture_max,
                bool find_links, bool find_requisites);

/* The bytes a kept partial holds (ask for the rest, Range: bytes=N-), 0 for none; the header
 * line naming its validator in *if_range_line ("If-Range: ...", borrowed until the next
 * body_start()). */
uint64_t body_resume_offset(const struct body *body, const char **if_range_line);

/* After a transfer (curl's `code`) that asked for the rest of a partial: true when the answer
 * showed the partial cannot be continued (a 206 from another offset or validator, a 416),
 * which is then removed: the request is to be made again from byte 0. */
bool body_resume_refused(struct body *body, CURL *easy, CURLcode code);

/* True while the body is being parsed for links or requisites (an HTML page, a stylesheet). */
bool body_parses_page(const struct body *body);

/* curl's write callback's work: returns `count`, or 0 to abort the transfer (too large, a
 * write failed, a 206 that does not continue the partial: see too_large, write_error,
 * resume_refused). A 2xx body's first byte chooses its file: after the partial's bytes for a
 * 206 that continues them (Content-Range from where they end, and the partial's validator
 * again; those bytes are read back first for --sha256, --body and a page's links); for any
 * other 2xx, the partial when the response has a validator (a strong ETag, else
 * Last-Modified), does not say "Accept-Ranges: none" and is not announced under 1 MiB, else
 * a temp file. */
size_t body_on_data(struct body *body, CURL *easy, const char *data, size_t count);

/* After the transfer: puts the file in place when `succeeded` (complete and 2xx), removes
 * the temp file otherwise (a partial is kept for the next try, unless the body was too large
 * or a write failed); fills sha256. An empty 2xx body still makes an (empty) file.
 * Returns 0 or the errno of a failed save. */
int body_finish(struct body *body, bool succeeded, long status);

/* Drops the temp file of a stopped transfer. */
void body_discard(struct body *body);

void body_free(struct body *body);

#endif
