/* One URL's lifecycle on a reusable easy handle, reset to the run's settings per URL: its
 * set-up, the callbacks while it runs, a replay. Reading it back is task_result.c. */
#include "afetch/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "afetch/body.h"
#include "afetch/easy_options.h"
#include "afetch/outcome.h"
#include "afetch/options.h"
#include "afetch/request.h"
#include "afetch/response_fields.h"
#include "afetch/source.h"
#include "afetch/task_internal.h"
#include "afetch/transfer_options.h"

/* Times one URL's request may be sent again after curl lost it unsent (task_replay_unsent),
 * as many as curl's own retries on a fresh connection. */
#define TASK_MAX_REPLAYS 5

/* Bytes of a page parsed for links before its transfer yields to the loop's others. */
#define TASK_PARSE_BUDGET (64 * 1024)

static void task_on_resume(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct task *task = arg;
  task->paused = false;
  task->parsed_this_turn = 0;
  curl_easy_pause(task->easy, CURLPAUSE_CONT); /* may hand over the held data at once */
}

static size_t task_on_body(char *data, size_t size, size_t count, void *arg) {
  struct task *task = arg;
  /* curl reads a socket for as long as it has data: without a pause one busy page could be
   * parsed for many milliseconds while the loop's other transfers wait for their turn. */
  if (body_parses_page(&task->body)) {
    if (task->parsed_this_turn >= TASK_PARSE_BUDGET) {
      static const struct timeval now = {0, 0};
      if (!task->paused && event_add(task->resume, &now) == 0)
        task->paused = true;
      if (task->paused)
        return CURL_WRITEFUNC_PAUSE; /* curl keeps this piece and hands it over again */
    }
    task->parsed_this_turn += size * count;
  }
  if (task->bytes_total) /* one writer: a plain load and store, no locked add */
    atomic_store_explicit(task->bytes_total,
                          atomic_load_explicit(task->bytes_total, memory_order_relaxed) +
                              size * count,
                          memory_order_relaxed);
  return body_on_data(&task->body, task->easy, data, size * count);
}

/* Marks that a response began. Until the multi handle has run a transfer, curl's info still
 * describes the handle's previous one, so a transfer stopped early must not report it. */
static size_t task_on_header(char *data, size_t size, size_t count, void *arg) {
  struct task *task = arg;
  task->response_started = true;
  response_fields_on_header(&task->fields, task->easy, data, size * count);
  return size * count;
}

/* The run's settings, the same for every request: set on a new handle and again after each
 * curl_easy_reset() (the share handle survives a reset; it is set in task_new()). */
static bool task_configure(struct task *task) {
  CURL *easy = task->easy;
  bool ok = true;
#define TASK_SET(option, value) ok = ok && curl_easy_setopt(easy, option, value) == CURLE_OK
  TASK_SET(CURLOPT_PRIVATE, task);
  TASK_SET(CURLOPT_WRITEFUNCTION, task_on_body);
  TASK_SET(CURLOPT_WRITEDATA, task);
  TASK_SET(CURLOPT_HEADERFUNCTION, task_on_header);
  TASK_SET(CURLOPT_HEADERDATA, task);
  TASK_SET(CURLOPT_ERRORBUFFER, task->message);
#undef TASK_SET
  return ok && easy_options_apply_run(easy, task->options, task->proxy_in_environment) &&
         transfer_options_apply(easy, task->options);
}

/* --crawl: a link of the page in flight. Out of memory loses the link, not the page. */
static void task_on_link(void *arg, const char *url) {
  struct task *task = arg;
  page_links_add_link(&task->found, url);
}

/* -p: a requisite of the page (or stylesheet) in flight; out of memory loses it. */
static void task_on_requisite(void *arg, const char *url, const char *via) {
  struct task *task = arg;
  page_links_add_requisite(&task->found, url, via);
}

struct task *task_new(struct event_base *base, const struct afetch_options *options, unsigned id,
                      CURLSH *share) {
  struct task *task = calloc(1, sizeof *task);
  if (!task)
    return NULL;
  task->id = id;
  task->options = options;
  response_fields_init(&task->fields, options->result_fields);
  task->proxy_in_environment = easy_options_environment_has_proxy();
  task->easy = curl_easy_init();
  task->resume = evtimer_new(base, task_on_resume, task);
  if (!body_init(&task->body, options, task_on_link, task_on_requisite, task) || !task->easy ||
      !task->resume || (share && curl_easy_setopt(task->easy, CURLOPT_SHARE, share) != CURLE_OK) ||
      !task_configure(task)) {
    task_free(task);
    return NULL;
  }
  return task;
}

static bool task_reject(struct task *task, const char *reason) {
  snprintf(task->message, sizeof task->message, "%s", reason);
  task->invalid = true;
  return false;
}

/* Points the fresh handle at the request: its URL (a line curl must not see is refused
 * here), HTTP/2 multiplexing, the conditions, the request's own options. */
static bool task_set_request(struct task *task, const struct request *request) {
  if (request->too_long) {
    char reason[96];
    snprintf(reason, sizeof reason, "line longer than %d bytes", SOURCE_MAX_LINE);
    return task_reject(task, reason);
  }
  if (memchr(request->url, '\0', request->length))
    return task_reject(task, "line contains a NUL byte");
  /* curl's URL parser judges the rest when the transfer starts (CURLE_URL_MALFORMAT, or
   * CURLE_UNSUPPORTED_PROTOCOL outside http/https): parsing here as well would double the
   * parse on the hot path. */
  const char *url = request->url; /* a pointer, not the flexible array: curl's type checks */
  if (curl_easy_setopt(task->easy, CURLOPT_URL, url) != CURLE_OK)
    return task_reject(task, "out of memory");
  /* Where HTTP/2 may be spoken (https, or --http2), a transfer waits for a connection being
   * set up to its host and multiplexes on it, rather than opening a connection of its own.
   * Not for plain HTTP/1.1: there the wait only costs (measured: 2.5x the instructions). */
  enum afetch_http_version version = task->options->http_version;
  bool may_multiplex = version != AFETCH_HTTP_1_1 &&
                       (version == AFETCH_HTTP_2 || strncasecmp(url, "https://", 8) == 0);
  if (may_multiplex)
    curl_easy_setopt(task->easy, CURLOPT_PIPEWAIT, 1L);
  /* A kept partial: only the bytes after it, if the response is still the one it holds. */
  const char *if_range_line = NULL;
  uint64_t resume_offset = body_resume_offset(&task->body, &if_range_line);
  if (!easy_options_set_conditions(task->easy, task->options, request, resume_offset, if_range_line,
                                   task->conditional))
    return task_reject(task, "out of memory");
  easy_options_apply_request(task->easy, task->options, request);
  return true;
}

/* Sets the handle up for the request's transfer, from a fresh handle. */
static bool task_start(struct task *task, const struct request *request) {
  event_del(task->resume); /* a paused transfer that ended another way */
  task->paused = false;
  task->parsed_this_turn = 0;
  task->request = request;
  task->index = request->index;
  page_links_clear(&task->found);
  size_t capture_max = request->keep_body    ? request->keep_body
                       : task->options->body ? (size_t)task->options->max_size
                                             : 0;
  /* A requisite is not parsed for links; only a stylesheet for its own requisites. */
  bool crawled = task->options->crawl && !request->internal;
  body_start(&task->body, request->output_path, request->may_resume ? request->url : NULL,
             capture_max, crawled && !request->requisite_via,
             crawled && task->options->page_requisites);
  task->response_started = false;
  task->invalid = false;
  task->message[0] = '\0';
  task->started_us = task_now_us();
  response_fields_start(&task->fields);
  /* A handle keeps per-transfer state that outlives its transfer: libcurl 7.88 (before 8.17)
   * counts "connection died, retry on a fresh connection" (a GOAWAY, a refused HTTP/2 stream,
   * a keep-alive connection closed under us) per handle and never clears it, so a long-lived
   * handle failed its sixth such retry in the run with "Connection died, tried 5 times".
   * curl_easy_reset() is the one call that clears it: every URL starts from a handle as fresh
   * as a new one, holding the run's settings. */
  if (task->used && (curl_easy_reset(task->easy), !task_configure(task)))
    return task_reject(task, "out of memory");
  task->used = true;
  return task_set_request(task, request);
}

bool task_prepare(struct task *task, const struct request *request) {
  task->replays = 0;
  return task_start(task, request);
}

CURL *task_easy(struct task *task) { return task->easy; }

unsigned task_id(const struct task *task) { return task->id; }

void task_count_bytes_into(struct task *task, _Atomic uint64_t *total) {
  task->bytes_total = total;
}

const struct request *task_request(const struct task *task) { return task->request; }

struct task *task_of_easy(CURL *easy) {
  struct task *task = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&task);
  return task;
}

/* True when sending the request a second time cannot do what the first did twice: it
 * sent no byte, or it is a GET or HEAD without a body (RFC 9110 safe methods). */
static bool task_may_resend(struct task *task) {
  const struct request *request = task->request;
  const char *method = request->method ? request->method : task->options->method;
  bool safe = !request->body && !task->options->data &&
              (!method || strcasecmp(method, "GET") == 0 || strcasecmp(method, "HEAD") == 0);
  return safe || task_request_bytes(task) == 0;
}

bool task_replay_unsent(struct task *task, CURLcode code) {
  /* libcurl 7.88 loses requests to an HTTP/2 connection that received a GOAWAY: a stream
   * nghttp2 closed as refused (opened after the GOAWAY arrived, or above its last stream id)
   * fails with CURLE_HTTP2 and no message when the session has nothing left to do, where
   * curl retries a refused stream on a fresh connection (curl -Z loses these too). Such a
   * request was not processed (RFC 9113 section 8.7). Every other CURLE_HTTP2 carries a
   * message; a stream the server reset is CURLE_PARTIAL_FILE. */
  bool lost_unsent = code == CURLE_HTTP2 && !task->message[0];
  /* curl's own retries of a refused stream ran out ("Connection died, tried 5 times before
   * giving up", as a send or a receive error): with many transfers in flight on connections a
   * server closes after a few requests, one transfer can be refused on every new connection
   * it tries. */
  bool retries_ran_out = (code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR) &&
                         strncmp(task->message, "Connection died, tried", 22) == 0;
  /* -o: the answer to a Range showed that the kept partial cannot be continued: the request
   * is made again at once, for the whole body. */
  bool whole_body_needed = body_resume_refused(&task->body, task->easy, code);
  if (task->replays >= TASK_MAX_REPLAYS ||
      (!whole_body_needed &&
       (!(lost_unsent || retries_ran_out) || task->response_started || !task_may_resend(task))))
    return false;
  task->replays++;
  if (task_start(task, task->request))
    return true;
  task->invalid = false; /* out of memory: report curl's code */
  return false;
}

void task_free(struct task *task) {
  if (!task)
    return;
  if (task->easy)
    curl_easy_cleanup(task->easy);
  if (task->resume)
    event_free(task->resume);
  body_free(&task->body);
  page_links_clear(&task->found);
  response_fields_free(&task->fields);
  free(task->new_etag);
  free(task->new_last_modified);
  free(task);
}
