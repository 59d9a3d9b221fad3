/* One input URL across its attempts, and the lists it waits in. */
#include "afetch/job.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "afetch/source.h"

/* True when text starts with "scheme://" (RFC 3986 scheme characters), so that a "://" later
 * in a query string does not count. */
static bool job_line_names_scheme(const char *text) {
  if (!isalpha((unsigned char)text[0]))
    return false;
  size_t i = 1;
  while (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '-' || text[i] == '.')
    i++;
  return strncmp(text + i, "://", 3) == 0;
}

struct job *job_new(const struct source_line *line) {
  /* A line without a scheme gets "http://", as curl's tool does (libcurl alone would guess
   * one from the host name). */
  static const char default_scheme[] = "http://";
  size_t prefix = job_line_names_scheme(line->text) ? 0 : sizeof default_scheme - 1;
  struct job *job = malloc(sizeof *job + prefix + line->length + 1);
  if (!job)
    return NULL;
  *job = (struct job){.index = line->index,
                      .length = prefix + line->length,
                      .scheme_added = prefix,
                      .too_long = line->too_long};
  memcpy(job->url, default_scheme, prefix);
  memcpy(job->url + prefix, line->text, line->length);
  job->url[prefix + line->length] = '\0';
  return job;
}

void job_free(struct job *job) {
  if (!job)
    return;
  free(job->output_path);
  free(job->if_none_match);
  free(job->if_modified_since);
  free(job->new_etag);
  free(job->new_last_modified);
  free(job);
}

const char *job_given_url(const struct job *job) { return job->url + job->scheme_added; }

void job_stopped_result(const struct job *job, enum result_error why,
                        struct afetch_result *result) {
  *result = (struct afetch_result){.index = job->index,
                                   .url = job->url,
                                   .error = why,
                                   .curl_code = -1,
                                   .attempts = job->attempts,
                                   .has_retry_after = job->has_retry_after,
                                   .retry_after_s = job->retry_after_s};
  if (why == RESULT_CANCELLED)
    result->error_message = "cancelled: afetch was interrupted";
}

void job_list_push_back(struct job_list *list, struct job *job) {
  job->next = NULL;
  job->prev = list->tail;
  if (list->tail)
    list->tail->next = job;
  else
    list->head = job;
  list->tail = job;
  list->count++;
}

void job_list_remove(struct job_list *list, struct job *job) {
  if (job->prev)
    job->prev->next = job->next;
  else
    list->head = job->next;
  if (job->next)
    job->next->prev = job->prev;
  else
    list->tail = job->prev;
  job->prev = job->next = NULL;
  list->count--;
}

struct job *job_list_pop_front(struct job_list *list) {
  struct job *job = list->head;
  if (job)
    job_list_remove(list, job);
  return job;
}

void job_list_take_all(struct job_list *to, struct job_list *from) {
  struct job *job;
  while ((job = job_list_pop_front(from)))
    job_list_push_back(to, job);
}
