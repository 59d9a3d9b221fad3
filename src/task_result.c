/* A finished (or stopped) transfer read back into its result: what curl measured, the
 * failure explained (a bad URL, a timeout, a proxy, a body limit or write), the body's fate,
 * and what the response gave besides (links, validators) moved into the outcome. */
#include "afetch/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "afetch/body.h"
#include "afetch/outcome.h"
#include "afetch/options.h"
#include "afetch/request.h"
#include "afetch/response_fields.h"
#include "afetch/task_internal.h"
#include "afetch/transfer_options.h"

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

void task_take_response(struct task *task, struct outcome *outcome) {
  outcome->found = task->found;
  task->found = (struct page_links){0};
  outcome->new_etag = task->new_etag;
  outcome->new_last_modified = task->new_last_modified;
  task->new_etag = task->new_last_modified = NULL;
}
