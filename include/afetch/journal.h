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

/* The key of a note a work source keeps with a result in the journal (journal_append()): the
 * last member of the line's object, never on stdout; --merge drops it. */
#define JOURNAL_NOTE_KEY "afetch_note"

/* Adds one result (`json`, one object without its '\n') to the buffer; `note` (JSON text,
 * NULL: none) goes into the line as its last member, JOURNAL_NOTE_KEY. False when out of
 * memory. */
bool journal_append(struct journal *journal, const char *json, size_t length, const char *note);

/* One past the largest index an earlier run committed; 0 when none did. */
uint64_t journal_index_end(const struct journal *journal);

/* Calls `each` with every result line earlier runs committed (without its '\n'; the buffer
 * is the callee's to change, valid for the call), in the order written, and its line number.
 * Stops at the first false: false then; false also on a read error, with errno set
 * (EILSEQ: `each` refused a line). */
typedef bool (*journal_line_fn)(void *arg, char *line, size_t length, size_t number);
bool journal_for_each_result(const struct journal *journal, journal_line_fn each, void *arg);

/* Where a result line's note starts (the ',' before JOURNAL_NOTE_KEY), or NULL: it has none.
 * Cutting the line there and closing it with '}' gives the result as stdout had it. */
const char *journal_line_note(const char *line, size_t length);

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
