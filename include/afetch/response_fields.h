/* The opt-in result keys that describe a transfer beyond the contract's defaults (--include-
 * headers, --result-fields): the final response's headers, the hops of its redirects, the
 * Location not followed, the method and the attempt's start. One per task: the header
 * callback feeds it while the transfer runs, and it is read back into the result at the end.
 * Used by the thread that runs the task's transfers only. */
#ifndef AFETCH_RESPONSE_FIELDS_H
#define AFETCH_RESPONSE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/json_writer.h"

struct afetch_result;

/* Bytes of header names and values kept per result ("headers"), and of hop URLs kept
 * ("redirects_chain"): as much as libcurl allows for one header line (CURL_MAX_HTTP_HEADER).
 * Memory stays bounded whatever a server or a redirect loop sends. */
#define RESPONSE_FIELDS_MAX_BYTES (100 * 1024)

struct response_fields {
  unsigned wanted;          /* RESULT_FIELD_* bits (result.h) */
  int64_t started_at_ms;    /* wall clock at the attempt's start, milliseconds since 1970 */
  struct json_writer chain; /* "redirects_chain": the hops so far, an open array */
  size_t chain_url_bytes;
  bool hop_pending;           /* a status line came: its hop is recorded at the headers' end */
  struct json_writer headers; /* "headers", built by response_fields_read() */
};

void response_fields_init(struct response_fields *fields, unsigned wanted);

/* An attempt begins: forgets the previous one, notes the wall clock. */
void response_fields_start(struct response_fields *fields);

/* The header callback's line (a status line, a header, or the blank line that ends a
 * response's headers). With "redirects_chain": records a hop (the URL curl requested, the
 * status it got) at the end of each final (not 1xx) response's headers. */
void response_fields_on_header(struct response_fields *fields, CURL *easy, const char *line,
                               size_t length);

/* Fills the result's opt-in keys from the handle. `responded`: curl's info describes this
 * attempt (a response began); else only started_at is known (the method is then the
 * request's, easy_options_method()). The result's strings are borrowed from `fields` and the
 * handle, valid until the next response_fields_start(). */
void response_fields_read(struct response_fields *fields, CURL *easy, bool responded,
                          struct afetch_result *result);

void response_fields_free(struct response_fields *fields);

#endif
