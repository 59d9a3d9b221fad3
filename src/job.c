/* One request across its attempts, and the lists it waits in. */
#include "afetch/job.h"

#include <stdlib.h>

struct job *job_new(struct request *request) {
  struct job *job = malloc(sizeof *job);
  if (!job) {
    request_free(request);
    return NULL;
  }
  *job = (struct job){.request = request};
  return job;
}

void job_free(struct job *job) {
  if (!job)
    return;
  request_free(job->request);
  free(job);
}

void job_stopped_result(const struct job *job, enum result_error why,
                        struct afetch_result *result) {
  request_stopped_result(job->request, why, job->attempts, result);
  result->has_retry_after = job->has_retry_after;
  result->retry_after_s = job->retry_after_s;
  result->host_paused_ms = job->host_paused_us / 1000;
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

void job_list_insert_before(struct job_list *list, struct job *before, struct job *job) {
  if (!before) {
    job_list_push_back(list, job);
    return;
  }
  job->next = before;
  job->prev = before->prev;
  if (before->prev)
    before->prev->next = job;
  else
    list->head = job;
  before->prev = job;
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
