/* One URL's lifecycle on a reusable easy handle. */
#include "afetch/task.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "afetch/body.h"
#include "afetch/job.h"
#include "afetch/options.h"
#include "afetch/source.h"

/* robots.txt read at most (RFC 9309 asks for at least 500 KiB). */
#define TASK_ROBOTS_MAX_BYTES (500 * 1024)
/* CURLOPT_BUFFERSIZE with -o (curl's default is 16 KiB). */
#define TASK_DOWNLOAD_BUFFER_SIZE (256L * 1024)

struct task {
  CURL *easy;
  const struct afetch_options *options;
  struct job *job; /* the URL being fetched; borrowed while the transfer runs */
  unsigned id;
  bool pipewait; /* CURLOPT_PIPEWAIT is on */
  /* --if-changed: If-None-Match / If-Modified-Since put in front of the -H headers. */
  struct curl_slist conditional[2];
  bool conditional_on; /* the handle has a header list other than the run's -H list */
  bool customized;     /* the handle has a JSON line's method, body or timeout */
  uint64_t index;
  struct body body;
  _Atomic uint64_t *bytes_total; /* task_count_bytes_into(); NULL: not counted */
  bool response_started;         /* a header arrived: curl's info describes this transfer */
  bool invalid;
  char message[CURL_ERROR_SIZE]; /* the invalid_url reason, or curl's error detail */
};

static size_t task_on_body(char *data, size_t size, size_t count, void *arg) {
  struct task *task = arg;
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
  (void)data;
  struct task *task = arg;
  task->response_started = true;
  return size * count;
}

/* True when the environment names a proxy curl would use for http or https. */
static bool task_environment_has_proxy(void) {
  static const char *const names[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                      "ALL_PROXY"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *value = getenv(names[i]);
    if (value && *value)
      return true;
  }
  return false;
}

/* Settings that are the same for every request, set once per handle. */
static bool task_configure(struct task *task, const struct afetch_options *options, CURLSH *share) {
  CURL *easy = task->easy;
  bool ok = true;
#define TASK_SET(option, value) ok = ok && curl_easy_setopt(easy, option, value) == CURLE_OK
  TASK_SET(CURLOPT_PRIVATE, task);
  if (share)
    TASK_SET(CURLOPT_SHARE, share);
  TASK_SET(CURLOPT_WRITEFUNCTION, task_on_body);
  TASK_SET(CURLOPT_WRITEDATA, task);
  TASK_SET(CURLOPT_HEADERFUNCTION, task_on_header);
  TASK_SET(CURLOPT_HEADERDATA, task);
  TASK_SET(CURLOPT_ERRORBUFFER, task->message);
  TASK_SET(CURLOPT_NOSIGNAL, 1L);
  TASK_SET(CURLOPT_PROTOCOLS_STR, "http,https");
  TASK_SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  TASK_SET(CURLOPT_TIMEOUT_MS, options->timeout_ms);
  TASK_SET(CURLOPT_CONNECTTIMEOUT_MS, options->connect_timeout_ms);
  TASK_SET(CURLOPT_FOLLOWLOCATION, options->follow_redirects ? 1L : 0L);
  TASK_SET(CURLOPT_MAXREDIRS, options->max_redirects);
  /* The User-Agent travels in options->headers (see cli.c). */
  /* Without proxy variables, say "no proxy" (and an empty no_proxy list) once rather than
   * let curl read the environment again for every request (no_proxy alone cost two getenv
   * calls, ~650 instructions). With them, curl applies them (and no_proxy) as usual. */
  if (!task_environment_has_proxy()) {
    TASK_SET(CURLOPT_PROXY, "");
    TASK_SET(CURLOPT_NOPROXY, "");
  }
  if (options->headers)
    TASK_SET(CURLOPT_HTTPHEADER, options->headers);
  if (options->data) {
    TASK_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)options->data_length);
    TASK_SET(CURLOPT_POSTFIELDS, options->data);
  }
  if (options->method) {
    /* As curl's own advice goes: HEAD means "no body", not a custom verb that then waits
     * for a body that never comes. */
    if (strcasecmp(options->method, "HEAD") == 0)
      TASK_SET(CURLOPT_NOBODY, 1L);
    else
      TASK_SET(CURLOPT_CUSTOMREQUEST, options->method);
  }
  /* Saving bodies: bigger reads, so a 1 MiB body takes a few reads and polls instead of 64
   * (D1 benchmark: afetch/curl 0.78 -> 0.98; curl's own tool also raises it). Memory: this
   * much per handle, so only with -o. */
  if (options->output_dir)
    TASK_SET(CURLOPT_BUFFERSIZE, TASK_DOWNLOAD_BUFFER_SIZE);
  /* A Content-Length over --max-size fails at once; bodies without one (or lying) are
   * counted as they arrive (body.c). */
  if (options->max_size)
    TASK_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)options->max_size);
  if (options->insecure) {
    TASK_SET(CURLOPT_SSL_VERIFYPEER, 0L);
    TASK_SET(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (options->cacert)
    TASK_SET(CURLOPT_CAINFO, options->cacert);
  if (options->http_version == AFETCH_HTTP_1_1)
    TASK_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  else if (options->http_version == AFETCH_HTTP_2)
    TASK_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_0);
#undef TASK_SET
  return ok;
}

/* --crawl: a link of the page in flight. Out of memory loses the link, not the page. */
static void task_on_link(void *arg, const char *url) {
  struct task *task = arg;
  job_add_link(task->job, url);
}

struct task *task_new(const struct afetch_options *options, unsigned id, CURLSH *share) {
  struct task *task = calloc(1, sizeof *task);
  if (!task)
    return NULL;
  task->id = id;
  task->options = options;
  task->easy = curl_easy_init();
  if (!body_init(&task->body, options, task_on_link, task) || !task->easy ||
      !task_configure(task, options, share)) {
    task_free(task);
    return NULL;
  }
  return task;
}

/* --if-changed: the job's If-None-Match / If-Modified-Since lines go in front of the run's
 * own header list (shared, never copied: these two nodes live in the task). */
static void task_set_conditional_headers(struct task *task, struct job *job) {
  struct curl_slist *list = job->headers ? job->headers : task->options->headers;
  char *lines[] = {job->if_modified_since, job->if_none_match};
  for (size_t i = 0; i < 2; i++)
    if (lines[i]) {
      task->conditional[i] = (struct curl_slist){.data = lines[i], .next = list};
      list = &task->conditional[i];
    }
  bool conditional = list != task->options->headers;
  if (conditional || task->conditional_on)
    curl_easy_setopt(task->easy, CURLOPT_HTTPHEADER, list);
  task->conditional_on = conditional;
}

/* A JSON line's method, body and timeout, or the run's again after such a line. */
static void task_apply_request_settings(struct task *task, const struct job *job) {
  bool custom = job->method || job->body || job->timeout_ms;
  if (!custom && !task->customized)
    return;
  const struct afetch_options *options = task->options;
  CURL *easy = task->easy;
  if (job->body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_length);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, job->body);
  } else if (options->data) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)options->data_length);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, options->data);
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L); /* also undoes NOBODY */
  }
  const char *method = job->method ? job->method : options->method;
  curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, (char *)NULL);
  if (method && strcasecmp(method, "HEAD") == 0)
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  else if (method)
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   job->timeout_ms ? job->timeout_ms : options->timeout_ms);
  task->customized = custom;
}

static bool task_reject(struct task *task, const char *reason) {
  snprintf(task->message, sizeof task->message, "%s", reason);
  task->invalid = true;
  return false;
}

bool task_prepare(struct task *task, struct job *job) {
  task->job = job;
  task->index = job->index;
  /* robots.txt: RFC 9309 asks crawlers to read at least 500 KiB of it. */
  size_t capture_max = job->is_robots        ? TASK_ROBOTS_MAX_BYTES
                       : task->options->body ? (size_t)task->options->max_size
                                             : 0;
  body_start(&task->body, job->output_path, capture_max, task->options->crawl && !job->is_robots);
  task->response_started = false;
  task->invalid = false;
  task->message[0] = '\0';
  if (job->too_long) {
    char reason[96];
    snprintf(reason, sizeof reason, "line longer than %d bytes", SOURCE_MAX_LINE);
    return task_reject(task, reason);
  }
  if (memchr(job->url, '\0', job->length))
    return task_reject(task, "line contains a NUL byte");
  /* curl's URL parser judges the rest when the transfer starts (CURLE_URL_MALFORMAT, or
   * CURLE_UNSUPPORTED_PROTOCOL outside http/https): parsing here as well would double the
   * parse on the hot path. */
  const char *url = job->url; /* a pointer, not the flexible array: curl's type checks */
  if (curl_easy_setopt(task->easy, CURLOPT_URL, url) != CURLE_OK)
    return task_reject(task, "out of memory");
  /* Where HTTP/2 may be spoken (https, or --http2), a transfer waits for a connection being
   * set up to its host and multiplexes on it, rather than opening a connection of its own.
   * Not for plain HTTP/1.1: there the wait only costs (measured: 2.5x the instructions). */
  enum afetch_http_version version = task->options->http_version;
  bool may_multiplex = version != AFETCH_HTTP_1_1 &&
                       (version == AFETCH_HTTP_2 || strncasecmp(url, "https://", 8) == 0);
  if (may_multiplex != task->pipewait) {
    curl_easy_setopt(task->easy, CURLOPT_PIPEWAIT, may_multiplex ? 1L : 0L);
    task->pipewait = may_multiplex;
  }
  task_set_conditional_headers(task, job);
  task_apply_request_settings(task, job);
  return true;
}

CURL *task_easy(struct task *task) { return task->easy; }

unsigned task_id(const struct task *task) { return task->id; }

void task_count_bytes_into(struct task *task, _Atomic uint64_t *total) {
  task->bytes_total = total;
}

struct job *task_job(const struct task *task) {
  return task->job;
}

struct task *task_of_easy(CURL *easy) {
  struct task *task = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&task);
  return task;
}

static enum result_error task_classify(CURLcode code) {
  switch (code) {
  case CURLE_OK:
    return RESULT_OK;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return RESULT_INVALID_URL;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return RESULT_DNS;
  case CURLE_COULDNT_CONNECT:
    return RESULT_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return RESULT_TIMEOUT;
  case CURLE_TOO_MANY_REDIRECTS:
    return RESULT_TOO_MANY_REDIRECTS;
  case CURLE_FILESIZE_EXCEEDED:
    return RESULT_TOO_LARGE;
  case CURLE_WRITE_ERROR:
    return RESULT_WRITE;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return RESULT_TLS;
  default:
    return RESULT_OTHER;
  }
}

static const char *task_http_version_name(long version) {
  switch (version) {
  case CURL_HTTP_VERSION_1_0:
    return "1.0";
  case CURL_HTTP_VERSION_1_1:
    return "1.1";
  case CURL_HTTP_VERSION_2_0:
    return "2";
  case CURL_HTTP_VERSION_3:
    return "3";
  default:
    return NULL;
  }
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
  result->url = task->job->url;
  result->attempts = 1;
  result->size = task->body.bytes;
  if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &text) == CURLE_OK)
    result->final_url = text;
  if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &number) == CURLE_OK)
    result->status = number;
  if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &number) == CURLE_OK)
    result->http_version = task_http_version_name(number);
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
}

/* Fills an invalid_url result: the line as it was given, the reason, nothing fetched. */
static void task_invalid_result(struct task *task, long curl_code, struct afetch_result *result) {
  result->url = job_given_url(task->job);
  result->error = RESULT_INVALID_URL;
  result->error_message = task->message;
  result->curl_code = curl_code;
}

/* curl's transfer error for a bad URL is generic ("URL using bad/illegal format"): on that
 * rare path, ask curl's URL parser why, for the message. */
static void task_explain_bad_url(struct task *task) {
  CURLU *url = curl_url();
  CURLUcode why = url ? curl_url_set(url, CURLUPART_URL, task->job->url, 0) : CURLUE_OUT_OF_MEMORY;
  if (why != CURLUE_OK)
    snprintf(task->message, sizeof task->message, "%s", curl_url_strerror(why));
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
             body->path ? body->path : "the body", strerror(body->write_error));
  } else {
    return;
  }
  result->error_message = task->message;
}

/* --if-changed: keeps the response's validators in the job, for the state file. */
static void task_keep_validators(struct task *task) {
  static const char *const names[] = {"ETag", "Last-Modified"};
  char **kept[] = {&task->job->new_etag, &task->job->new_last_modified};
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
  struct job *job = task->job;
  job->not_modified = code == CURLE_OK && result->status == 304;
  result->not_modified = job->not_modified;
  if (body->saved || (job->not_modified && body->path && access(body->path, F_OK) == 0))
    result->file = body->path;
  if (body->has_sha256)
    result->sha256 = body->sha256;
  if ((task->options->body || job->is_robots) &&
      (body->status_checked || (code == CURLE_OK && result->status))) {
    result->body = body->captured ? body->captured : "";
    result->body_length = body->captured_length;
  }
  if (task->options->state_path && succeeded && !error && !job->is_robots)
    task_keep_validators(task);
}

void task_result(struct task *task, CURLcode code, struct afetch_result *result) {
  *result = (struct afetch_result){.index = task->index, .curl_code = -1};
  if (task->invalid) {
    task_invalid_result(task, CURLE_URL_MALFORMAT, result);
    return;
  }
  enum result_error error = task_classify(code);
  long redirects = 0;
  if (error == RESULT_INVALID_URL) /* a refused redirect target still fetched the first URL */
    curl_easy_getinfo(task->easy, CURLINFO_REDIRECT_COUNT, &redirects);
  if (error == RESULT_INVALID_URL && redirects == 0) {
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
  task_read_transfer(task, result);
  if (code != CURLE_OK) {
    result->error = error;
    result->curl_code = code;
    /* curl's error buffer has the detail ("Failed to connect to ... port ..."). */
    result->error_message = task->message[0] ? task->message : curl_easy_strerror(code);
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

void task_stopped_result(struct task *task, enum result_error why, struct afetch_result *result) {
  *result = (struct afetch_result){.index = task->index, .curl_code = -1};
  if (task->response_started) {
    task_read_transfer(task, result);
  } else {
    result->url = task->job->url;
    result->attempts = 1;
  }
  result->error = why;
  result->error_message = why == RESULT_CANCELLED ? "cancelled: afetch was interrupted" : NULL;
  body_discard(&task->body);
}

void task_free(struct task *task) {
  if (!task)
    return;
  if (task->easy)
    curl_easy_cleanup(task->easy);
  body_free(&task->body);
  free(task);
}
