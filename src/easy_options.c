/* The libcurl options of a transfer: the run's (the same for every request) and a request's
 * own. */
#include "afetch/easy_options.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "afetch/options.h"
#include "afetch/request.h"
#include "afetch/result.h"

/* CURLOPT_BUFFERSIZE with -o (curl's default is 16 KiB). */
#define EASY_OPTIONS_DOWNLOAD_BUFFER_SIZE (256L * 1024)

/* True when the environment names a proxy curl would use for http or https. */
bool easy_options_environment_has_proxy(void) {
  static const char *const names[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                      "ALL_PROXY"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *value = getenv(names[i]);
    if (value && *value)
      return true;
  }
  return false;
}

#define EASY_SET(option, value) ok = ok && curl_easy_setopt(easy, option, value) == CURLE_OK

/* What every transfer needs: protocols, timeouts, redirects, the proxy rule. */
static bool easy_options_apply_transfer(CURL *easy, const struct afetch_options *options,
                                        bool proxy_in_environment) {
  bool ok = true;
  EASY_SET(CURLOPT_NOSIGNAL, 1L);
  EASY_SET(CURLOPT_PROTOCOLS_STR, "http,https");
  EASY_SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  EASY_SET(CURLOPT_TIMEOUT_MS, options->timeout_ms);
  EASY_SET(CURLOPT_CONNECTTIMEOUT_MS, options->connect_timeout_ms);
  if (options->speed_limit) {
    EASY_SET(CURLOPT_LOW_SPEED_LIMIT, options->speed_limit);
    EASY_SET(CURLOPT_LOW_SPEED_TIME, options->speed_time);
  }
  EASY_SET(CURLOPT_FOLLOWLOCATION, options->follow_redirects ? 1L : 0L);
  EASY_SET(CURLOPT_MAXREDIRS, options->max_redirects);
  /* curl drops Authorization and Cookie headers on a redirect to another host unless told;
   * other -H headers go to every host of the chain, as with curl. */
  if (options->location_trusted)
    EASY_SET(CURLOPT_UNRESTRICTED_AUTH, 1L);
  /* The User-Agent travels in options->headers (see cli.c). */
  /* Without proxy variables, say "no proxy" (and an empty no_proxy list) once rather than
   * let curl read the environment again for every request (docs/design.md, "Measured
   * choices"). With them, curl applies them (and no_proxy) as usual. */
  if (!proxy_in_environment) {
    EASY_SET(CURLOPT_PROXY, "");
    EASY_SET(CURLOPT_NOPROXY, "");
  }
  /* "redirects_chain" records the server's responses from the header callback: a proxy's
   * answer to CONNECT is not one of them. */
  if (options->result_fields & RESULT_FIELD_REDIRECTS_CHAIN)
    EASY_SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  return ok;
}

/* What the options ask of every request and its response: headers, method, data, body
 * size, TLS, HTTP version. */
static bool easy_options_apply_request_defaults(CURL *easy, const struct afetch_options *options) {
  bool ok = true;
  if (options->headers)
    EASY_SET(CURLOPT_HTTPHEADER, options->headers);
  if (options->data) {
    EASY_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)options->data_length);
    EASY_SET(CURLOPT_POSTFIELDS, options->data);
  }
  if (options->method) {
    /* As curl's own advice goes: HEAD means "no body", not a custom verb that then waits
     * for a body that never comes. */
    if (strcasecmp(options->method, "HEAD") == 0)
      EASY_SET(CURLOPT_NOBODY, 1L);
    else
      EASY_SET(CURLOPT_CUSTOMREQUEST, options->method);
  }
  /* Saving bodies: bigger reads, so a 1 MiB body takes a few reads and polls instead of 64
   * (curl's own tool also raises it; docs/design.md, "Measured choices"). Memory: this much
   * per handle, so only with -o. */
  if (options->output_dir)
    EASY_SET(CURLOPT_BUFFERSIZE, EASY_OPTIONS_DOWNLOAD_BUFFER_SIZE);
  /* A Content-Length over --max-size fails at once; bodies without one (or lying) are
   * counted as they arrive (body.c). */
  if (options->max_size)
    EASY_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)options->max_size);
  if (options->insecure) {
    EASY_SET(CURLOPT_SSL_VERIFYPEER, 0L);
    EASY_SET(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (options->cacert)
    EASY_SET(CURLOPT_CAINFO, options->cacert);
  if (options->http_version == AFETCH_HTTP_1_1)
    EASY_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  else if (options->http_version == AFETCH_HTTP_2)
    EASY_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_0);
  return ok;
}

bool easy_options_apply_run(CURL *easy, const struct afetch_options *options,
                            bool proxy_in_environment) {
  return easy_options_apply_transfer(easy, options, proxy_in_environment) &&
         easy_options_apply_request_defaults(easy, options);
}

/* --if-changed's If-None-Match / If-Modified-Since and a resumed download's If-Range go in
 * front of the run's own header list (shared, never copied: these nodes live in the task). */
bool easy_options_set_conditions(CURL *easy, const struct afetch_options *options,
                                 const struct request *request, uint64_t resume_offset,
                                 const char *if_range_line, struct curl_slist conditional[3]) {
  struct curl_slist *list = request->headers ? request->headers : options->headers;
  /* curl's list nodes hold a char *: none of these lines is ever written through it. */
  char *lines[] = {request->if_modified_since, request->if_none_match, (char *)if_range_line};
  for (size_t i = 0; i < 3; i++)
    if (lines[i]) {
      conditional[i] = (struct curl_slist){.data = lines[i], .next = list};
      list = &conditional[i];
    }
  if (list != options->headers)
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  if (!resume_offset)
    return true;
  char range[32];
  snprintf(range, sizeof range, "%llu-", (unsigned long long)resume_offset);
  return curl_easy_setopt(easy, CURLOPT_RANGE, range) == CURLE_OK; /* curl copies it */
}

/* A JSON line's method, body and timeout, over the run's (which the handle holds). */
void easy_options_apply_request(CURL *easy, const struct afetch_options *options,
                                const struct request *request) {
  if (!request->method && !request->body && !request->timeout_ms)
    return;
  if (request->body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body);
  }
  /* The method after the body: POSTFIELDS turns a HEAD back into a POST. */
  const char *method = request->method ? request->method : options->method;
  if (method && strcasecmp(method, "HEAD") == 0) {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
  }
  if (request->timeout_ms)
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request->timeout_ms);
}

const char *easy_options_method(const struct afetch_options *options,
                                const struct request *request) {
  if (request && request->method)
    return request->method;
  if (options->method)
    return options->method;
  return (request && request->body) || options->data ? "POST" : "GET";
}
