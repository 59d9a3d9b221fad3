/* One URL's lifecycle on a reusable easy handle, reset to the run's settings per URL. */
#include "afetch/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "afetch/body.h"
#include "afetch/easy_options.h"
#include "afetch/outcome.h"
#include "afetch/options.h"
#include "afetch/request.h"
#include "afetch/response_fields.h"
#include "afetch/source.h"
#include "afetch/transfer_options.h"

/* Times one URL's request may be sent again after curl lost it unsent (task_replay_unsent),
 * as many as curl's own retries on a fresh connection. */
#define TASK_MAX_REPLAYS 5

/* Bytes of a page parsed for links before its transfer yields to the loop's others. */
#define TASK_PARSE_BUDGET (64 * 1024)

struct task {
  CURL *easy;
  const struct afetch_options *options;
  const struct request *request; /* the URL being fetched; borrowed while the transfer runs */
  unsigned id;
  bool used;          /* the handle has been pointed at a URL since it was configured */
  unsigned replays;   /* times this URL's request was sent again (task_replay_unsent) */
  int64_t started_us; /* CLOCK_MONOTONIC when the handle was set up for this try */
  /* --if-changed: If-None-Match / If-Modified-Since, and a resumed download's If-Range, put
   * in front of the -H headers. */
  struct curl_slist conditional[3];
  uint64_t index;
  struct body body;
  _Atomic uint64_t *bytes_total; /* task_count_bytes_into(); NULL: not counted */
  bool response_started;         /* a header arrived: curl's info describes this transfer */
  bool invalid;
  bool proxy_in_environment;     /* read once: the environment does not change during a run */
  char message[CURL_ERROR_SIZE]; /* the invalid_url reason, or curl's error detail */
  /* What the response gave besides the result, until task_take_response() moves it into the
   * outcome: links and requisites found, and (--if-changed) the validators to record. */
  struct page_links found;
  char *new_etag, *new_last_modified;
  /* Parsing a page runs on the loop's thread: after TASK_PARSE_BUDGET bytes parsed the
   * transfer pauses until `resume` (a zero timer) lets the loop's other transfers run. */
  struct event *resume;
  size_t parsed_this_turn;
  bool paused;
  struct response_fields fields; /* --include-headers, --result-fields */
};

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

static int64_t task_now_us(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
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

void task_take_response(struct task *task, struct outcome *outcome) {
  outcome->found = task->found;
  task->found = (struct page_links){0};
  outcome->new_etag = task->new_etag;
  outcome->new_last_modified = task->new_last_modified;
  task->new_etag = task->new_last_modified = NULL;
}

struct task *task_of_easy(CURL *easy) {
  struct task *task = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&task);
  return task;
}

static int64_t task_microseconds(CURL *easy, CURLINFO info) {
  curl_off_t microseconds = 0;
  curl_easy_getinfo(easy, info, &microseconds);
  return (int64_t)microseconds;
}

/* What curl measured for the transfer, whatever its outcome. */
static void task_read_transfer(struct task *task, struct afetch_result *result) {
  CURL *easy = task->easy;
  char *text = NULL;
  long number = 0;
  result->url = task->request->url;
  result->attempts = 1;
  result->resumed_from = task->body.resumed_from;
  result->size = task->body.resumed_from + task->body.bytes; /* the whole file's */
  if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &text) == CURLE_OK)
    result->final_url = text;
  if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &number) == CURLE_OK)
    result->status = number;
  if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &number) == CURLE_OK)
    result->http_version = result_http_version_name(number);
  if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &text) == CURLE_OK && text && *text)
    result->remote_ip = text;
  if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &number) == CURLE_OK)
    result->redirects = number;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &text) == CURLE_OK)
    result->content_type = text;
  result->time_us.dns = task_microseconds(easy, CURLINFO_NAMELOOKUP_TIME_T);
  result->time_us.connect = task_microseconds(easy, CURLINFO_CONNECT_TIME_T);
  result->time_us.tls = task_microseconds(easy, CURLINFO_APPCONNECT_TIME_T);
  result->time_us.ttfb = task_microseconds(easy, CURLINFO_STARTTRANSFER_TIME_T);
  result->time_us.total = task_microseconds(easy, CURLINFO_TOTAL_TIME_T);
  transfer_options_read_result(easy, task->options, result);
}

/* Fills an invalid_url result: the line as it was given, the reason, nothing fetched. */
static void task_invalid_result(struct task *task, long curl_code, struct afetch_result *result) {
  result->url = request_given_url(task->request);
  result->error = RESULT_INVALID_URL;
  result->error_message = task->message;
  result->curl_code = curl_code;
}

/* Longest part of a refused line quoted in its message. */
#define TASK_QUOTED_URL_MAX 100

/* curl's transfer error for a bad URL is generic ("URL using bad/illegal format"): on that
 * rare path, ask curl's URL parser why, and say which line it refused ("Bad hostname" alone
 * does not tell that the line was "not a url"). */
static void task_explain_bad_url(struct task *task) {
  CURLU *url = curl_url();
  CURLUcode why =
      url ? curl_url_set(url, CURLUPART_URL, task->request->url, 0) : CURLUE_OUT_OF_MEMORY;
  const char *given = request_given_url(task->request);
  size_t quoted = strlen(given);
  bool cut = quoted > TASK_QUOTED_URL_MAX;
  if (cut) /* at a character's start, so the cut leaves no half a character */
    for (quoted = TASK_QUOTED_URL_MAX; quoted > 0 && ((unsigned char)given[quoted] & 0xC0) == 0x80;)
      quoted--;
  snprintf(task->message, sizeof task->message, "'%.*s%s' is not a usable URL (%s)", (int)quoted,
           given, cut ? "..." : "",
           why != CURLUE_OK ? curl_url_strerror(why) : curl_easy_strerror(CURLE_URL_MALFORMAT));
  curl_url_cleanup(url);
}

/* A failed body write is curl's CURLE_WRITE_ERROR: say which limit or file it was. */
static void task_explain_body_failure(struct task *task, struct afetch_result *result) {
  const struct body *body = &task->body;
  if (body->too_large) {
    result->error = RESULT_TOO_LARGE;
    snprintf(task->message, sizeof task->message, "body larger than --max-size (%llu bytes)",
             (unsigned long long)task->options->max_size);
  } else if (body->write_error) {
    result->error = RESULT_WRITE;
    snprintf(task->message, sizeof task->message, "cannot write %s: %s",
             body->path ? body->path : "the body", download_strerror(body->write_error));
  } else {
    return;
  }
  result->error_message = task->message;
}

/* --if-changed: keeps the response's validators, for the state file. */
static void task_keep_validators(struct task *task) {
  static const char *const names[] = {"ETag", "Last-Modified"};
  char **kept[] = {&task->new_etag, &task->new_last_modified};
  for (size_t i = 0; i < 2; i++) {
    struct curl_header *header = NULL;
    if (curl_easy_header(task->easy, names[i], 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
        header->value[0]) {
      free(*kept[i]);
      *kept[i] = strdup(header->value);
    }
  }
}

/* The body's fate once the transfer ended: the file put in place (or the temp file
 * removed), the digest, the capture, the 304, and the keys describing them. */
static void task_finish_body(struct task *task, CURLcode code, struct afetch_result *result) {
  struct body *body = &task->body;
  if (code == CURLE_FILESIZE_EXCEEDED) /* curl read a Content-Length over the limit */
    body->too_large = true;
  if (code == CURLE_WRITE_ERROR || code == CURLE_FILESIZE_EXCEEDED)
    task_explain_body_failure(task, result);
  bool succeeded = code == CURLE_OK && result->status >= 200 && result->status <= 299;
  int error = body_finish(body, succeeded, result->status);
  if (error) {
    body->write_error = error;
    task_explain_body_failure(task, result);
  }
  const struct request *request = task->request;
  result->not_modified = code == CURLE_OK && result->status == 304;
  if (body->saved || (result->not_modified && body->path && access(body->path, F_OK) == 0))
    result->file = body->path;
  if (body->has_sha256)
    result->sha256 = body->sha256;
  if ((task->options->body || request->keep_body) &&
      (body->status_checked || (code == CURLE_OK && result->status))) {
    result->body = body->captured ? body->captured : "";
    result->body_length = body->captured_length;
  }
  if (task->options->state_path && succeeded && !error && !request->internal)
    task_keep_validators(task);
}

/* Request bytes curl sent in this transfer, redirects included (curl counts them per
 * transfer). A URL curl refused before connecting sent none. */
static long task_request_bytes(struct task *task) {
  long bytes = 0;
  curl_easy_getinfo(task->easy, CURLINFO_REQUEST_SIZE, &bytes);
  return bytes;
}

/* After a request went out, CURLE_UNSUPPORTED_PROTOCOL means either that a redirect led to a
 * scheme other than http(s) (the URL curl gave up at is that target), or that curl refused
 * the reply itself (an HTTP/0.9 answer: a body without a status line). */
static bool task_redirect_refused(struct task *task) {
  char *url = NULL;
  curl_easy_getinfo(task->easy, CURLINFO_EFFECTIVE_URL, &url);
  return url && strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0;
}

/* True when a read or write failed because the server sent a fatal TLS alert before any
 * response: a refusal at the TLS level, not a broken connection. With TLS 1.3 the server
 * checks the client's certificate after the handshake has completed on the client's side,
 * so "certificate required" arrives as an SSL_read error (CURLE_RECV_ERROR) where TLS 1.2
 * fails the handshake (CURLE_SSL_CONNECT_ERROR). curl puts OpenSSL's error text in its
 * message, and OpenSSL names every alert received "<version> alert <description>" in its
 * SSL library reasons; "unexpected eof" and other transport failures name no alert. */
static bool task_tls_alert(const struct task *task, CURLcode code) {
  return (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR) && !task->response_started &&
         strstr(task->message, "SSL routines:") && strstr(task->message, " alert ");
}

/* A timeout before any response. curl's timers and message describe the last step it began:
 * a transfer that waited for another transfer's connection to its host (PIPEWAIT, for
 * HTTP/2) and timed out with it starts resolving only then, so curl said "Failed to resolve
 * host ... after 0 ms" with a total of 0 after the whole -t; a stalled TLS handshake is
 * "Connection timed out" or "SSL connection timeout". The wait as afetch measured it, and
 * the step that did not finish. */
static void task_explain_timeout(struct task *task, struct afetch_result *result) {
  int64_t waited_us = task_now_us() - task->started_us;
  bool clock_restarted = result->time_us.total < waited_us / 2;
  if (result->time_us.total < waited_us)
    result->time_us.total = waited_us;
  if (task->response_started)
    return; /* curl's "Operation timed out after N ms with M bytes received" */
  long waited_ms = (long)(waited_us / 1000);
  const char *url = result->final_url ? result->final_url : result->url;
  if (result->remote_ip && result->time_us.tls == 0 && strncasecmp(url, "https://", 8) == 0)
    snprintf(task->message, sizeof task->message, "TLS handshake with %s timed out after %ld ms",
             result->remote_ip, waited_ms);
  else if (!result->remote_ip && clock_restarted)
    snprintf(task->message, sizeof task->message,
             "timed out after %ld ms waiting for a connection to the host (another request's "
             "connection to it was still being set up)",
             waited_ms);
  else
    return;
  result->error_message = task->message;
}

/* The proxy variable curl reads for a URL (its name in *name), or NULL: https_proxy (or
 * HTTPS_PROXY) for https, http_proxy for http, else all_proxy (or ALL_PROXY). Only to explain
 * a failure: curl itself chooses the proxy (and applies no_proxy). */
static const char *task_proxy_variable(const char *url, const char **name) {
  bool https = strncasecmp(url, "https://", 8) == 0;
  const char *const names[] = {https ? "https_proxy" : "http_proxy", https ? "HTTPS_PROXY" : NULL,
                               "all_proxy", "ALL_PROXY"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *value = names[i] ? getenv(names[i]) : NULL;
    if (value && *value) {
      *name = names[i];
      return value;
    }
  }
  return NULL;
}

/* True when curl's connect failure ("Failed to connect to HOST port N ...") names the proxy's
 * host and port, not the URL's: the proxy could not be reached. */
static bool task_failed_at_proxy(const char *message, const char *proxy) {
  CURLU *parsed = curl_url();
  char *host = NULL, *port = NULL;
  bool at_proxy = false;
  if (parsed &&
      curl_url_set(parsed, CURLUPART_URL, proxy, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
          CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    char expected[CURL_ERROR_SIZE];
    curl_url_get(parsed, CURLUPART_PORT, &port, 0); /* none: curl's default proxy port */
    snprintf(expected, sizeof expected, "Failed to connect to %s port %s", host, port ? port : "");
    at_proxy = strncmp(message, expected, strlen(expected)) == 0;
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(parsed);
  return at_proxy;
}

/* An HTTP proxy (from the environment) that refused the CONNECT tunnel, or could not be
 * reached: curl says "CONNECT tunnel failed, response 403" (curl 56, like a dropped
 * connection) and names the proxy's address as if it were the server's. The message names
 * the variable, not its value, which may hold a password. */
static void task_explain_proxy_failure(struct task *task, CURLcode code,
                                       struct afetch_result *result) {
  long tunnel_status = 0;
  const char *name = NULL, *proxy = NULL;
  if (code != CURLE_COULDNT_CONNECT &&
      curl_easy_getinfo(task->easy, CURLINFO_HTTP_CONNECTCODE, &tunnel_status) == CURLE_OK &&
      tunnel_status >= 300) {
    result->error = RESULT_CONNECT;
    result->proxy_status = tunnel_status;
    snprintf(task->message, sizeof task->message, "proxy refused CONNECT: HTTP %ld", tunnel_status);
  } else if (code == CURLE_COULDNT_CONNECT && task->proxy_in_environment &&
             (proxy = task_proxy_variable(result->final_url ? result->final_url : result->url,
                                          &name)) &&
             task_failed_at_proxy(task->message, proxy)) {
    /* In front of curl's message, which goes on as it was (cut at the buffer's end). */
    char prefix[CURL_ERROR_SIZE];
    int length = snprintf(prefix, sizeof prefix, "cannot connect to the proxy (%s): ", name);
    size_t kept = sizeof task->message - 1 - (size_t)length;
    memmove(task->message + length, task->message, kept);
    memcpy(task->message, prefix, (size_t)length);
    task->message[sizeof task->message - 1] = '\0';
  } else {
    return;
  }
  result->error_message = task->message;
}

/* The contract's keys of task_result(). */
static void task_describe(struct task *task, CURLcode code, struct afetch_result *result) {
  *result = (struct afetch_result){.index = task->index, .curl_code = -1};
  if (task->invalid) {
    task_invalid_result(task, CURLE_URL_MALFORMAT, result);
    return;
  }
  enum result_error error = result_error_of_curl(code);
  if (error == RESULT_INVALID_URL && task_request_bytes(task) == 0) {
    /* curl refused the URL itself before sending anything. */
    if (code == CURLE_URL_MALFORMAT)
      task_explain_bad_url(task);
    else if (code == CURLE_UNSUPPORTED_PROTOCOL)
      snprintf(task->message, sizeof task->message,
               "unsupported scheme: afetch fetches http:// and https:// URLs");
    if (!task->message[0])
      snprintf(task->message, sizeof task->message, "%s", curl_easy_strerror(code));
    task_invalid_result(task, code, result);
    return;
  }
  if (code == CURLE_UNSUPPORTED_PROTOCOL && !task_redirect_refused(task))
    error = RESULT_OTHER; /* a reply curl would not take; its message says which */
  else if (task_tls_alert(task, code))
    error = RESULT_TLS;
  task_read_transfer(task, result);
  if (code != CURLE_OK) {
    result->error = error;
    result->curl_code = code;
    /* curl's error buffer has the detail ("Failed to connect to ... port ..."). */
    result->error_message = task->message[0] ? task->message : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT)
      task_explain_timeout(task, result);
    else
      task_explain_proxy_failure(task, code, result);
  } else if (result->status >= 400) {
    result->error = RESULT_HTTP;
    /* 429 and 503 (and others) may say when to come back; 0 is curl's "no header". */
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(task->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after > 0) {
      result->has_retry_after = true;
      result->retry_after_s = (int64_t)retry_after;
    }
    snprintf(task->message, sizeof task->message, "HTTP status %ld", result->status);
    result->error_message = task->message;
  }
  task_finish_body(task, code, result);
}

void task_result(struct task *task, CURLcode code, struct afetch_result *result) {
  task_describe(task, code, result);
  response_fields_read(&task->fields, task->easy, task->response_started && !task->invalid,
                       result);
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

void task_stopped_result(struct task *task, enum result_error why, struct afetch_result *result) {
  *result = (struct afetch_result){.index = task->index, .curl_code = -1};
  if (task->response_started) {
    task_read_transfer(task, result);
  } else {
    result->url = task->request->url;
    result->attempts = 1;
  }
  result->error = why;
  result->error_message = why == RESULT_CANCELLED ? "cancelled: afetch was interrupted" : NULL;
  response_fields_read(&task->fields, task->easy, task->response_started, result);
  body_discard(&task->body);
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
