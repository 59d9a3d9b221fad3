/* The libcurl options of a transfer, set on a task's easy handle: the run's, the same for
 * every request (set again after each curl_easy_reset()), and what one request adds (a JSON
 * line's method, body and timeout; --if-changed's conditional headers). Called on the thread
 * that runs the handle; the options and the request are only read. */
#ifndef AFETCH_EASY_OPTIONS_H
#define AFETCH_EASY_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

struct afetch_options;
struct request;

/* True when the environment names a proxy curl would use for http or https: read once per
 * handle, since the environment does not change during a run. */
bool easy_options_environment_has_proxy(void);

/* The run's settings (not the handle's callbacks, which are its owner's). False when curl
 * refuses one (out of memory). */
bool easy_options_apply_run(CURL *easy, const struct afetch_options *options,
                            bool proxy_in_environment);

/* --if-changed: the request's If-None-Match / If-Modified-Since lines, and a resumed
 * download's If-Range line (`if_range_line`, NULL: none; with Range: bytes=resume_offset-),
 * go in front of the run's own header list (shared, never copied), as nodes of `conditional`;
 * the lines and the nodes must live as long as the transfer. False when out of memory. */
bool easy_options_set_conditions(CURL *easy, const struct afetch_options *options,
                                 const struct request *request, uint64_t resume_offset,
                                 const char *if_range_line, struct curl_slist conditional[3]);

/* A JSON line's method, body and timeout, over the run's (which the handle holds). */
void easy_options_apply_request(CURL *easy, const struct afetch_options *options,
                                const struct request *request);

/* The method the request is sent with first, as curl will name it: the JSON line's, else -X,
 * else POST with a body, else GET. Static or borrowed from the request or the options. */
const char *easy_options_method(const struct afetch_options *options,
                                const struct request *request);

#endif
