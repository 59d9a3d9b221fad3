/* --worker --crawl: a crawl across workers. The pages a worker fetches give their links to the
 * queue, each added once cluster-wide (the queue's seen set, in the add script), with its
 * depth, parent and seed's scope key in the entry; every worker fetches what the queue holds.
 * A page's links are sent to Redis before the page's entry is acknowledged (on the same
 * connection, so in that order), so a crash never loses them.
 *
 * Threading: the scheduler's thread (queue_worker.c's). */
#ifndef AFETCH_QUEUE_CRAWL_H
#define AFETCH_QUEUE_CRAWL_H

#include <stdbool.h>

struct afetch_options;
struct frontier;
struct outcome;
struct queue_crawl;
struct queue_entry;
struct redis_link;
struct request;

/* `options` and `frontier` (scope, --include/--exclude, and this worker's own seen set, which
 * saves sending a link twice) are borrowed. NULL when out of memory. */
struct queue_crawl *queue_crawl_new(const struct afetch_options *options,
                                    struct frontier *frontier);

/* Gives the entry's request its crawl fields: a page's depth, parent and scope key, or a
 * seed's scope key. False when out of memory. */
bool queue_crawl_prepare(struct queue_crawl *crawl, const struct queue_entry *entry,
                         struct request *request);

/* A page is done: its links in scope (and under --depth) are kept to be added. False when out
 * of memory. */
bool queue_crawl_collect(struct queue_crawl *crawl, const struct request *page,
                         const struct outcome *outcome);

/* Sends what was kept (one script call a batch) when `link` is ready. False when some is still
 * to be sent (the link is down): acknowledgements must wait. */
bool queue_crawl_flush(struct queue_crawl *crawl, struct redis_link *link);

/* True when nothing is kept nor waiting for Redis' answer. */
bool queue_crawl_settled(const struct queue_crawl *crawl);

void queue_crawl_free(struct queue_crawl *crawl);

#endif
