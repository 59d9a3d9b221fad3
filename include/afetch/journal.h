/* --journal FILE: the record of a durable batch run. FILE is one header line (a JSON object:
 * {"afetch_journal":1,"inputs":[...],"options":"..."}: the input's identity and the options
 * that change results), then one committed result per line, the same JSON as the result on
 * stdout. A rerun of the same command opens the journal again: the results it holds are not
 * fetched again (journal_committed()), and this run's are appended.
 *
 * Opening refuses (NULL, a message; exit 2): a FILE that is not a regular file, that another
 * run holds (flock), that is not afetch's journal or is damaged beyond a torn last line
 * (never written to then); an input that is standard input or no regular file; a different
 * input (size, mtime, a hash of its first and last 64 KiB) or different result options. A
 * torn last line (no '\n', a kill in mid-write) is cut off.
 *
 * Writing: journal_append() buffers; journal_flush() writes the buffer with one write(2) and
 * fdatasyncs when `sync_every` results or a second went by since the last one (or always,
 * `--fsync`). A failed write cuts the file back to its last whole line.
 *
 * Memory: the committed indices of earlier runs are one bit each (a bitmap up to the largest
 * index), the buffer holds one batch.
 *
 * Threading: the scheduler's thread only. */
#ifndef AFETCH_JOURNAL_H
#define AFETCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct afetch_options;
struct journal;

/* Opens or creates options->journal_path for a run of `options`. NULL with a message in
 * errbuf (a refusal: exit 2). Free with journal_close(). */
struct journal *journal_open(const struct afetch_options *options, char *errbuf,
                             size_t errbuf_size);

/* True when an earlier run committed the result of input line `index`. */
bool journal_committed(const struct journal *journal, uint64_t index);

/* Results committed by earlier runs / appended by this one. */
uint64_t journal_earlier_results(const struct journal *journal);
uint64_t journal_results_now(const struct journal *journal);

/* Adds one result (`json`, one line without its '\n') to the buffer. False when out of
 * memory. */
bool journal_append(struct journal *journal, const char *json, size_t length);

/* Writes what is buffered; fdatasyncs when due (`force_sync`: now). 0, or -1 with errno
 * set: the journal keeps only whole lines and takes nothing more. */
int journal_flush(struct journal *journal, bool force_sync);

/* The FILE, for messages. */
const char *journal_path(const struct journal *journal);

/* Closes (NULL allowed); journal_flush(journal, true) first to keep what is buffered. */
void journal_close(struct journal *journal);

/* The index of a result line that starts as afetch writes results ({"index":N,...}): true
 * with *index, else false. */
bool journal_line_index(const char *line, size_t length, uint64_t *index);

#endif
