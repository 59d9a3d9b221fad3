/* --worker --crawl: a crawl across workers. The pages a worker fetches give their links to the
 * queue, each added once cluster-wide (the queue's seen set, in the add script), with its
 * depth, parent and seed's scope key in the entry; every worker fetches what the queue holds.
 * A page's entry is acknowledged only once Redis accepted the batches its links are in
 * (queue_crawl_take_accepted()), so neither a crash nor a refused batch (an error reply such
 * as -OOM under maxmemory, sent again with backoff) loses them.
 *
 * Threading: the scheduler's thread (queue_worker.c's). */
#ifndef AFETCH_QUEUE_CRAWL_H
#define AFETCH_QUEUE_CRAWL_H

#include <stdbool.h>
#include <stdint.h>

struct afetch_options;
struct event_base;
struct frontier;
struct outcome;
struct queue_crawl;
struct queue_entry;
struct queue_list;
struct redis_link;
struct request;

/* Called when a batch was accepted (pages may be acknowledged) or a refused one may be sent
 * again (queue_crawl_flush()). */
typedef void (*queue_crawl_changed_fn)(void *arg);

/* `options` and `frontier` (scope, --include/--exclude, and this worker's own seen set, which
 * saves sending a link twice) are borrowed; the retry timer is on `base`. NULL when out of
 * memory. */
struct queue_crawl *queue_crawl_new(const struct afetch_options *options,
                                    struct frontier *frontier, struct event_base *base,
                                    queue_crawl_changed_fn changed, void *arg);

/* Gives the entry's request its crawl fields: a page's depth, parent and scope key, or a
 * seed's scope key. False when out of memory. */
bool queue_crawl_prepare(struct queue_crawl *crawl, const struct queue_entry *entry,
                         struct request *request);

/* A page is done: its links in scope (and under --depth) are kept to be added. False when out
 * of memory. */
bool queue_crawl_collect(struct queue_crawl *crawl, const struct request *page,
                         const struct outcome *outcome);

/* Sends what was kept (one script call a batch) when `link` is ready. False when some is still
 * to be sent (the link is down, or Redis refused and the backoff runs). */
bool queue_crawl_flush(struct queue_crawl *crawl, struct redis_link *link);

/* The mark of a page collected now: its links are in the batches made before it. */
uint64_t queue_crawl_mark(const struct queue_crawl *crawl);

/* Moves the entries at the head of `from` whose links_mark Redis has accepted every batch
 * before to the end of `to` (the marks grow along `from`: the order pages were done in). */
void queue_crawl_take_accepted(const struct queue_crawl *crawl, struct queue_list *from,
                               struct queue_list *to);

/* True when nothing is kept nor waiting for Redis' answer. */
bool queue_crawl_settled(const struct queue_crawl *crawl);

void queue_crawl_free(struct queue_crawl *crawl);

#endif
