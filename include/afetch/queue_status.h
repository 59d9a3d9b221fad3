/* afetch --redis URL --status: the queue's figures as one JSON object on stdout. */
#ifndef AFETCH_QUEUE_STATUS_H
#define AFETCH_QUEUE_STATUS_H

struct afetch_options;

/* Writes {"queue", "enqueued", "waiting", "pending", "consumers": {NAME: pending},
 * "dead_letters"}: lines ever added, entries not delivered yet, delivered and not
 * acknowledged (in total and per worker), and dead letters. The exit status: 0, or 3 when
 * Redis cannot be reached or stdout not written. */
int queue_status_run(const struct afetch_options *options);

#endif
