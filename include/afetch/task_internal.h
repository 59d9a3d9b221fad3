/* Private to task.c (a transfer's set-up on the reusable handle, its callbacks, replays) and
 * task_result.c (a finished transfer read back into its result): the task's fields and the
 * helpers both use. A task is used only on the thread of the worker that runs it (bytes_total
 * aside: task.h). Nothing else includes this. */
#ifndef AFETCH_TASK_INTERNAL_H
#define AFETCH_TASK_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "afetch/body.h"
#include "afetch/outcome.h"
#include "afetch/response_fields.h"

struct afetch_options;
struct event;
struct request;

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

static inline int64_t task_now_us(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* Request bytes curl sent in this transfer, redirects included (curl counts them per
 * transfer). A URL curl refused before connecting sent none. */
static inline long task_request_bytes(struct task *task) {
  long bytes = 0;
  curl_easy_getinfo(task->easy, CURLINFO_REQUEST_SIZE, &bytes);
  return bytes;
}

#endif
