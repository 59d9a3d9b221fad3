/* afetch --redis URL --worker: the queue (queue.h) as a work source (work_source.h).
 *
 * Entries are taken in batches by one Lua script per read (reclaim, dead letters, new
 * entries, the queue's pending count: one round trip), held while in flight and
 * acknowledged (XACK and XDEL, one script call per batch) only once their result is on the
 * output: the commit step's output watch (commit.h) says when. A live worker renews its
 * claim on what it holds every third of --reclaim-after, so only a silent worker's entries
 * go to another. A transient failure before an entry's --max-deliveries-th delivery is given
 * back (no result written) to be delivered again after a backoff; on that delivery it is
 * written and the entry dead-lettered with it (queue_settle.c). Everything runs on the
 * scheduler's event base (redis_link.h). */
#ifndef AFETCH_QUEUE_WORKER_H
#define AFETCH_QUEUE_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct afetch_options;
struct event;
struct event_base;
struct frontier;
struct output_watch;
struct work_source;

/* The source, connecting at once (it waits for Redis, trying again, until --redis-timeout).
 * `frontier` (--crawl, borrowed; NULL: no crawl) gives the scope and filters of the links the
 * pages add (queue_crawl.h). `watch` is filled in for scheduler_watch_output(). NULL after a
 * message in errbuf. */
struct work_source *queue_worker_new(struct event_base *base, const struct afetch_options *options,
                                     struct frontier *frontier, struct event *wake,
                                     struct output_watch *watch, char *errbuf, size_t errbuf_size);

/* After the run: runs the event base until every result on the output is acknowledged, Redis
 * is given up (--redis-timeout) or a while has passed. `output_ok`: every result committed
 * reached the output (else what was not acknowledged yet is left to be delivered again).
 * False when some could not be acknowledged. */
bool queue_worker_finish(struct work_source *source, struct event_base *base, bool output_ok);

#endif
