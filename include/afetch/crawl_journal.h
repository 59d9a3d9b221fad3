/* --crawl --journal: what makes a crawl resumable. Every page's result line in the journal
 * carries a note (journal.h's JOURNAL_NOTE_KEY) saying what committing the page changed in
 * the frontier:
 *
 *   {"url":U,"depth":D,"seed":LINE,"via":V,"level":L,"scope":K,"final":F,"dropped":[...],
 *    "lowered":[...],"queued":[...],"requisites":[[R,VIA],...]}
 *
 * U the URL as handed out, D its depth, LINE (seeds only) the input line it was read from, V
 * and L (-p requisites only) what asked for it and its requisite level, K its scope key, F
 * its final URL when that was new to the seen-set, then the links it queued at D+1 (with U as
 * parent), moved up to D+1, and dropped to make room (--max-pages), and the requisites it
 * queued (-p); every member but url and depth only when there is something to say. The lines
 * are written in commit order, and a page (or requisite) is committed after the page that
 * queued it, so any prefix of the journal (what a kill leaves) replays, in order, into the
 * seen-set and queues the crawl had then, with the pages in flight back in the queue (a
 * committed requisite leaves the requisites' queue by URL): nothing else needs saving.
 * robots.txt is fetched again, once per host, by the resumed run, on purpose (design.md).
 *
 * Threading: the scheduler's thread only. */
#ifndef AFETCH_CRAWL_JOURNAL_H
#define AFETCH_CRAWL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crawler;
struct frontier;
struct journal;
struct json_writer;
struct request;

/* Writes the note of `page` (a seed: no parent; `seed_line` its input line) into `note`,
 * with what crawler_page_done() changed for it when `changed` (else it did not run). False
 * when out of memory. */
bool crawl_journal_note(struct json_writer *note, const struct request *page, uint64_t seed_line,
                        const struct crawler *crawler, bool changed);

/* What a resumed crawl knows once the journal is replayed. */
struct crawl_resume {
  uint8_t *seed_lines; /* bit i: the seed read from input line i was committed */
  size_t seed_line_bytes;
  uint64_t next_index; /* the first index this run gives */
};

/* Replays the notes of the journal's earlier results into the crawler and its frontier, in
 * order; fills *resume (free with crawl_resume_free()). False with a message in errbuf (a line
 * without a note, a damaged note: "damaged"; "" when out of memory). */
bool crawl_journal_replay(const struct journal *journal, struct crawler *crawler,
                          struct frontier *frontier, struct crawl_resume *resume, char *errbuf,
                          size_t errbuf_size);

/* True when the seed on input line `line` was committed (input_skip_fn's shape). */
bool crawl_resume_seed_committed(const void *resume, uint64_t line);

void crawl_resume_free(struct crawl_resume *resume);

#endif
