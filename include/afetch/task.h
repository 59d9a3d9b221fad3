/* One URL's lifecycle: a reusable easy handle, reset to the run's settings and pointed at a
 * new URL per task, and read back into a struct afetch_result when done. */
#ifndef AFETCH_TASK_H
#define AFETCH_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/result.h"

struct afetch_options;
struct outcome;
struct request;
struct event_base;
struct task;

/* A task with its easy handle configured from options (borrowed; must outlive the task).
 * `base` is the event loop its transfers run on. `id` is the owner's number for it (task_id()
 * gives it back). `share` (may be NULL) is the loop's CURLSH: TLS sessions reused across
 * handles. NULL when out of memory. */
struct task *task_new(struct event_base *base, const struct afetch_options *options, unsigned id,
                      CURLSH *share);

unsigned task_id(const struct task *task);

/* Adds every body byte curl hands over, in all the task's transfers, to *total (for the
 * progress). Only the thread that runs the task's transfers may write *total: it is the
 * one writer, others may read it. */
void task_count_bytes_into(struct task *task, _Atomic uint64_t *total);

/* The request given to the last task_prepare(). */
const struct request *task_request(const struct task *task);

/* Points the task at the request's URL (the request is borrowed until the result is taken).
 * False when the line is not a usable http(s) URL: the task then describes an invalid_url
 * result and must not be started. */
bool task_prepare(struct task *task, const struct request *request);

CURL *task_easy(struct task *task);

/* The task that owns this easy handle. */
struct task *task_of_easy(CURL *easy);

/* Fills `result` after a finished transfer with curl's code, or after task_prepare() failed.
 * The result's strings are borrowed from the request, the task and the easy handle: valid
 * until the next task_prepare() or task_free(). `attempts` is 1, or 0 when nothing was sent. */
void task_result(struct task *task, CURLcode code, struct afetch_result *result);

/* Moves what the response gave besides the result (links, requisites, validators) into the
 * outcome. After task_result(). */
void task_take_response(struct task *task, struct outcome *outcome);

/* After a transfer ended with `code`: when curl lost the request before sending any of it
 * (an HTTP/2 GOAWAY race in libcurl 7.88), or when the answer to a resumed download's Range
 * showed its partial cannot be continued (body_resume_refused()), sets the task up to send it
 * again (then for the whole body) and returns true; the caller starts the handle again. False
 * when the result stands (task_result()). */
bool task_replay_unsent(struct task *task, CURLcode code);

/* As task_result() for a transfer stopped before it finished (RESULT_CANCELLED or
 * RESULT_DEADLINE): what curl measured so far, with the status if a response had begun. */
void task_stopped_result(struct task *task, enum result_error why, struct afetch_result *result);

void task_free(struct task *task);

#endif
