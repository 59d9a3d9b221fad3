/* curl's network options (-x, -u, -b, --resolve, -E, --compressed, --limit-rate ...) on every
 * easy handle, and the run's cookie store: one share handle for every handle of every worker
 * thread, so that a cookie set by one response goes with the next request to that host,
 * whichever thread sends it. */
#ifndef AFETCH_TRANSFER_OPTIONS_H
#define AFETCH_TRANSFER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>

#include "afetch/options.h"
#include "afetch/result.h"

/* Sets the options' network settings on `easy`, after task.c's own (and again after each
 * curl_easy_reset). False when libcurl refuses one. */
bool transfer_options_apply(CURL *easy, const struct afetch_options *options);

/* With --compressed: the body's size on the wire (result key "wire_size"). */
void transfer_options_read_result(CURL *easy, const struct afetch_options *options,
                                  struct afetch_result *result);

/* The run's cookies (-b, --cookie-jar): a share handle holding cookies, DNS and TLS sessions,
 * with a lock per kind of data for worker threads. */
struct transfer_share;

/* True when the options need a run-wide share (cookies are on). */
bool transfer_share_wanted(const struct afetch_options *options);

/* The share, with -b's file (if it is one, and exists) loaded. NULL after printing why. */
struct transfer_share *transfer_share_new(const struct afetch_options *options, FILE *err);

/* The handle to give every easy handle (CURLOPT_SHARE); NULL for a NULL share. */
CURLSH *transfer_share_handle(const struct transfer_share *share);

/* Writes every cookie of the run to `path` in the Netscape format curl reads, replacing the
 * file atomically (replace_file.c). False after printing why. */
bool transfer_share_save_cookies(struct transfer_share *share, const char *path, FILE *err);

void transfer_share_free(struct transfer_share *share);

#endif
