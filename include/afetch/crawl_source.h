/* --crawl as a work source: first the seeds, read from another source (the input) and
 * admitted by the crawler (a repeated seed is fetched once, --max-pages ends the reading),
 * then the pages and requisites found, breadth first under the crawler's depth rule
 * (crawler.h). While the seeds' source waits (a pipe), pages found meanwhile go out. A page
 * found becomes available when a page handed out is done(), inside the pump, so this source
 * never wakes it itself. After WORK_END_AT_STREAMS (the deadline) only seeds come out, as
 * they are read, without being admitted; no page found goes out any more. */
#ifndef AFETCH_CRAWL_SOURCE_H
#define AFETCH_CRAWL_SOURCE_H

struct afetch_options;
struct frontier;
struct work_source;

/* A crawl seeded from `seeds`, which it takes over (frees with itself). `options` and
 * `frontier` are borrowed. NULL when out of memory (`seeds` is then still the caller's). */
struct work_source *crawl_source_new(const struct afetch_options *options,
                                     struct frontier *frontier, struct work_source *seeds);

#endif
