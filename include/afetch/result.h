/* One URL's outcome, as plain data, and its JSON form (the contract's result object). */
#ifndef AFETCH_RESULT_H
#define AFETCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct afetch_options;
struct json_writer;

enum result_error {
  RESULT_OK = 0,
  RESULT_INVALID_URL,
  RESULT_INVALID_INPUT, /* a JSON line that is not a usable request */
  RESULT_DNS,
  RESULT_CONNECT,
  RESULT_TLS,
  RESULT_TIMEOUT,
  RESULT_HTTP,
  RESULT_TOO_MANY_REDIRECTS,
  RESULT_TOO_LARGE,
  RESULT_WRITE,
  RESULT_CANCELLED,
  RESULT_DEADLINE,
  RESULT_ROBOTS, /* --robots --show-skipped: robots.txt disallows it */
  RESULT_OTHER,
};

/* The opt-in keys (--include-headers, --result-fields): bits of afetch_options' result_fields
 * and of a result's `fields`. */
enum result_field {
  RESULT_FIELD_HEADERS = 1 << 0,         /* "headers" (and "headers_truncated") */
  RESULT_FIELD_LOCATION = 1 << 1,        /* "location" */
  RESULT_FIELD_REDIRECTS_CHAIN = 1 << 2, /* "redirects_chain" */
  RESULT_FIELD_METHOD = 1 << 3,          /* "method" */
  RESULT_FIELD_STARTED_AT = 1 << 4,      /* "started_at" */
};
#define RESULT_FIELDS_ALL 0x1f

/* Strings are borrowed: they must stay valid until result_to_json() returns. NULL strings
 * and negative numbers marked "or -1" become JSON null. */
struct afetch_result {
  uint64_t index;
  const char *url;
  const char *final_url;
  long status; /* final HTTP status; 0 = no response */
  enum result_error error;
  const char *error_message; /* human text; NULL = derived from the code */
  long curl_code;            /* CURLcode behind the error, or -1 */
  const char *http_version;  /* "1.0", "1.1", "2", "3" */
  const char *remote_ip;
  long redirects;
  unsigned attempts;     /* transfers started for the URL */
  bool has_retry_after;  /* a response carried Retry-After: the key "retry_after" is written */
  int64_t retry_after_s; /* its wait in seconds (the latest one) */
  int64_t host_paused_ms; /* > 0: "host_paused_ms", the time it waited out its host's pauses */
  const char *content_type;
  uint64_t size;         /* body bytes received (decoded, with --compressed); a resumed
                          * download's whole file */
  uint64_t resumed_from; /* -o: bytes a kept partial gave; > 0 writes "resumed_from" */
  bool has_wire_size;    /* --compressed: "wire_size" */
  uint64_t wire_size;    /* the body's bytes as they came, before decoding */
  long proxy_status;     /* a proxy's answer to CONNECT when it refused the tunnel; 0: none */
  /* Keys written only when their option is on (the has_ flag), null when the value is. */
  bool has_file; /* -o */
  const char *file;
  bool has_sha256; /* --sha256 */
  const char *sha256;
  bool has_not_modified; /* --if-changed */
  bool not_modified;
  const char *id_json; /* JSON-lines "id", as JSON text: the key "id" when not NULL */
  bool has_crawl;      /* --crawl: "depth", "parent", "links" */
  unsigned depth;
  const char *parent;
  size_t links;
  bool has_requisite;    /* -p: "requisite" */
  const char *requisite; /* what asked for it ("img", "css" ...); NULL: a page */
  bool has_link_urls;    /* --links */
  char *const *link_urls;
  bool has_body;    /* --body: "body" and "body_encoding" */
  const char *body; /* NUL-terminated, body_length bytes; NULL: none */
  size_t body_length;
  struct {
    int64_t dns, connect, tls, ttfb, total; /* microseconds, as curl measures them */
  } time_us;
  unsigned fields;          /* RESULT_FIELD_* bits: the opt-in keys written */
  const char *method;       /* "method"; NULL: null */
  int64_t started_at_ms;    /* "started_at", milliseconds since 1970 (UTC); 0: null */
  const char *location;     /* "location": a 3xx's Location not followed; NULL: null */
  const char *chain_json;   /* "redirects_chain" as JSON text; NULL: [] */
  const char *headers_json; /* "headers" as JSON text; NULL: {} */
  bool headers_truncated;   /* "headers_truncated": true, written only when true */
};

/* The contract's "ok": completed without error and final status 100..399. */
bool result_is_ok(const struct afetch_result *result);

/* Turns on the optional keys the options ask for (file, sha256, not_modified, body, and the
 * --result-fields ones). */
void result_enable_optional_keys(struct afetch_result *result,
                                 const struct afetch_options *options);

/* Stable code strings for error.code ("timeout", "invalid_url", ...); NULL for RESULT_OK. */
const char *result_error_name(enum result_error error);

/* Appends the result object (compact, one line) to the writer. Invalid UTF-8 in any string is
 * replaced with U+FFFD, so the text is always valid JSON. */
void result_write_json(const struct afetch_result *result, struct json_writer *writer);

/* The error a curl code (CURLcode) stands for; CURLE_OK is RESULT_OK, a code not listed
 * RESULT_OTHER. */
enum result_error result_error_of_curl(long curl_code);

/* "1.0", "1.1", "2" or "3" for CURLINFO_HTTP_VERSION's value; NULL for another. */
const char *result_http_version_name(long curl_http_version);

#endif
