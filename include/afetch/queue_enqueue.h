/* afetch --redis URL --enqueue [FILE...]: the input's lines into the queue (queue.h). */
#ifndef AFETCH_QUEUE_ENQUEUE_H
#define AFETCH_QUEUE_ENQUEUE_H

struct afetch_options;

/* Reads the inputs as a run would (the same lines, comments and blanks skipped) and adds each
 * line not added before (by its fingerprint, checked and added atomically with the entry by
 * one Lua script per batch). Says on stderr how many were added, unless -q. Returns the exit
 * status: 0, 2 (an unreadable input) or 3 (Redis unreachable, refusing, or out of memory). */
int queue_enqueue_run(const struct afetch_options *options);

#endif
