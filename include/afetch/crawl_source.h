/* --crawl as a work source: first the seeds, read from another source (the input) and
 * admitted by the crawler (a repeated seed is fetched once, --max-pages ends the reading),
 * then the pages and requisites found, breadth first under the crawler's depth rule
 * (crawler.h). While the seeds' source waits (a pipe), pages found meanwhile go out. A page
 * found becomes available when a page handed out is done(), inside the pump, so this source
 * never wakes it itself. After WORK_END_AT_STREAMS (the deadline) only seeds come out, as
 * they are read, without being admitted; no page found goes out any more. */
#ifndef AFETCH_CRAWL_SOURCE_H
#define AFETCH_CRAWL_SOURCE_H

#include <stddef.h>

struct afetch_options;
struct frontier;
struct journal;
struct work_source;

/* A crawl seeded from `seeds` (an input source), which it takes over (frees with itself).
 * `options`, `frontier` and `journal` are borrowed. With a `journal` (--journal; NULL: none)
 * the crawl its earlier runs left is replayed first (crawl_journal.h): the seeds they
 * committed are passed over, the pages they queued come out, numbered after theirs; and each
 * result this run commits carries its note. NULL with a message in errbuf (a damaged
 * journal), or with "" there when out of memory; `seeds` is then still the caller's. */
struct work_source *crawl_source_new(const struct afetch_options *options,
                                     struct frontier *frontier, struct work_source *seeds,
                                     const struct journal *journal, char *errbuf,
                                     size_t errbuf_size);

#endif
