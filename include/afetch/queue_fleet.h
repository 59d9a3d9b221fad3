/* --rate for a fleet of --worker processes: each worker starts its share of the entries, N
 * over the live workers. A worker registers in the queue's workers' set ({Q}:workers, the
 * one the leases use) and reads how many are live (heard of within --reclaim-after) once a
 * second, in one script call of its own: no round trip per request. Until the first answer
 * it hands nothing out; an error answer keeps the share it had (the whole rate at first).
 * A worker that ends leaves the set (queue_leave_script), so the others speed up at their
 * next call; one that died counts until --reclaim-after has passed.
 *
 * Threading: the scheduler's thread (queue_worker.c's). */
#ifndef AFETCH_QUEUE_FLEET_H
#define AFETCH_QUEUE_FLEET_H

#include <stdbool.h>

struct afetch_options;
struct event_base;
struct queue_fleet;
struct redis_link;
struct work_source;

/* NULL without --rate, or when out of memory (*failed then). `workers_key` and `consumer`
 * are copied; `source` is woken (work_source_wake()) when a start it was refused may go. */
struct queue_fleet *queue_fleet_new(struct event_base *base, const struct afetch_options *options,
                                    const char *workers_key, const char *consumer,
                                    struct work_source *source, bool *failed);

/* The link is ready (or back): the count is asked for now, and every second after. `link` is
 * borrowed until queue_fleet_free(). */
void queue_fleet_link_ready(struct queue_fleet *fleet, struct redis_link *link);

/* True, and a token taken, when this worker's share lets one more entry start now; false
 * otherwise (the source is woken when one may). */
bool queue_fleet_take(struct queue_fleet *fleet);

void queue_fleet_free(struct queue_fleet *fleet);

#endif
