/* --crawl: seeds in, pages' links out, breadth first, each URL once, within --depth,
 * --max-pages, the scope and the filters. The scheduler asks it for the next discovered
 * page and tells it about every page that comes back; robots.txt and per-host timing stay
 * with the scheduler's host table. */
#ifndef AFETCH_CRAWLER_H
#define AFETCH_CRAWLER_H

#include <stdbool.h>
#include <stdint.h>

struct afetch_options;
struct frontier;
struct crawler;
struct outcome;
struct request;

/* `frontier` is borrowed (main makes it, to report a bad --include/--exclude as a usage
 * error). NULL when out of memory. */
struct crawler *crawler_new(const struct afetch_options *options, struct frontier *frontier);

/* A seed read from the input: records it as seen and gives it its scope. False when it was
 * seen already (a repeated seed is fetched once) or --max-pages is used up; a URL that only
 * waits in the queue (a page linked to it) is taken out of it and is a seed. */
bool crawler_admit_seed(struct crawler *crawler, struct request *seed);

/* True when --max-pages still allows a page. */
bool crawler_has_budget(const struct crawler *crawler);

/* The next discovered page as a new request with this index, or NULL (none queued, budget used,
 * its depth not open yet while shallower pages are in flight, or out of memory: *failed
 * says which). */
struct request *crawler_next_page(struct crawler *crawler, uint64_t index, bool *failed);

/* True when discovered pages wait and the budget allows one. */
bool crawler_has_pages(const struct crawler *crawler);

/* A page handed out (a seed admitted or a page taken) has its result written, or was
 * dropped: the next depth may open. */
void crawler_page_gone(struct crawler *crawler, const struct request *page);

/* A page's outcome came back: its final URL counts as seen, and when it was ok its links within
 * depth, scope and filters are queued, as many as --max-pages has left room for (shallower
 * links first); a link still queued deeper moves up to this page's depth + 1. False when out
 * of memory. */
bool crawler_page_done(struct crawler *crawler, const struct request *page,
                       const struct outcome *outcome);

/* --journal: from now on crawler_page_done() records what it changes in the frontier, so that
 * a resumed crawl can replay it (crawl_journal.h). */
void crawler_record_changes(struct crawler *crawler);

/* What the last crawler_page_done() changed, borrowed until the next one: the links it queued
 * (at the page's depth + 1, with the page as parent), moved up to that depth and dropped to
 * make room (each a list of JSON strings separated by commas; NULL or "" for none), and the final
 * URL it marked seen (NULL: none, or seen already); -p: the requisites it queued, as [url, via]
 * JSON arrays separated by commas. False when recording ran out of memory. */
struct crawler_changes {
  const char *queued, *lowered, *dropped, *requisites;
  const char *final_url;
};
bool crawler_last_changes(const struct crawler *crawler, struct crawler_changes *changes);

/* A resumed crawl: a page an earlier run committed (`url` as handed out; a seed's as read) is
 * taken out of the queue if it waits there, counts as seen and as one of --max-pages. */
void crawler_replay_committed(struct crawler *crawler, const char *url, bool seed);

/* -p, a resumed crawl: page `parent` (of `depth` and requisite level `level`) queued requisite
 * `url` found through `via` (static). Nothing when it is seen already; false when out of
 * memory. */
bool crawler_replay_requisite(struct crawler *crawler, const char *parent, unsigned depth,
                              unsigned level, const char *url, const char *via);

/* -p, a resumed crawl: a requisite an earlier run committed leaves the requisites' queue and
 * counts as one of --max-pages. */
void crawler_replay_requisite_committed(struct crawler *crawler, const char *url);

void crawler_free(struct crawler *crawler);

#endif
