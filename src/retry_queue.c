/* Jobs waiting for their next try. */
#include "afetch/retry_queue.h"

#include <event2/event.h>

void retry_queue_init(struct retry_queue *queue, struct event_base *base, retry_due_fn on_due,
                      void *arg) {
  *queue = (struct retry_queue){.base = base, .on_due = on_due, .arg = arg};
}

static void retry_queue_on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct job *job = arg;
  struct retry_queue *queue = job->retry_queue;
  job_list_remove(&queue->waiting, job);
  event_free(job->retry_timer);
  job->retry_timer = NULL;
  job->retry_queue = NULL;
  queue->on_due(queue->arg, job);
}

bool retry_queue_add(struct retry_queue *queue, struct job *job, int64_t wait_ms) {
  job->retry_timer = evtimer_new(queue->base, retry_queue_on_timer, job);
  struct timeval delay = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
  if (!job->retry_timer || evtimer_add(job->retry_timer, &delay) < 0) {
    if (job->retry_timer)
      event_free(job->retry_timer);
    job->retry_timer = NULL;
    return false;
  }
  job->retry_queue = queue;
  job_list_push_back(&queue->waiting, job);
  return true;
}

size_t retry_queue_count(const struct retry_queue *queue) { return queue->waiting.count; }

void retry_queue_take_all(struct retry_queue *queue, struct job_list *into) {
  struct job *job;
  while ((job = job_list_pop_front(&queue->waiting))) {
    event_free(job->retry_timer);
    job->retry_timer = NULL;
    job->retry_queue = NULL;
    job_list_push_back(into, job);
  }
}
