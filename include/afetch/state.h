/* --if-changed: the state file, validators (ETag, Last-Modified) and saved file per URL,
 * kept across runs. Loaded whole at start into a hash table (an entry costs its strings plus
 * 45..70 bytes: a 24-byte header and its table slot), saved atomically (temp file in the same directory, fsync, rename), so an
 * interrupted run leaves either the old file or the new one.
 *
 * The file is JSON, one entry per line, sorted by URL (byte order) so successive files diff
 * well; every field of an entry is optional:
 *   {
 *     "afetch_state": 1,
 *     "entries": {
 *       "https://a.example/": {"etag":"\"abc\"","file":"mirror/a.example/index.html"},
 *       "https://b.example/x": {"last_modified":"Wed, 21 Oct 2015 07:28:00 GMT"}
 *     }
 *   }
 * Strings are written as given (bytes >= 0x80 unchanged), so a URL that is not UTF-8 makes a
 * file only lenient parsers such as cJSON read back. */
#ifndef AFETCH_STATE_H
#define AFETCH_STATE_H

#include <stdbool.h>
#include <stddef.h>

struct state;

/* What the state knows about one URL; any string may be NULL. */
struct state_entry {
  const char *etag;          /* the ETag header's value, quotes included */
  const char *last_modified; /* the Last-Modified header's value */
  const char *file;          /* where -o saved the body (path as reported in "file") */
};

/* Locks and reads `path` (a missing file, ENOENT, is an empty state that will be saved there).
 * The lock is an flock() on "<target>.lock" beside the file (its symbolic links followed),
 * created when missing and held until state_free(); it is not waited for. NULL, with "cannot
 * use state file 'PATH': ..." in errbuf, when another process holds the lock ("another afetch
 * run is using it ..."), when the file cannot be read or is not a state file (not JSON, no
 * "afetch_state": 1, no "entries" object). Entries that are not objects, have a field that is
 * not a string (null counts as absent) or have no validator are skipped, and so are entries
 * whose validators could not be sent as they are (state_validators_are_valid()), which
 * state_dropped_entries() counts; other keys are ignored. Returns an owned state: state_free()
 * it. */
struct state *state_load(const char *path, char *errbuf, size_t errbuf_size);

/* The entry for `url`, or NULL. Borrowed until the next state_update() or state_free(). */
const struct state_entry *state_lookup(const struct state *state, const char *url);

/* Sets the entry for `url` to `entry` as a whole (strings copied; NULL clears that field; a
 * validator that is not valid, see state_validators_are_valid(), counts as NULL). An entry
 * with neither validator is removed. Marks the state dirty only when this changes it.
 * False when out of memory (the old entry stays). */
bool state_update(struct state *state, const char *url, const struct state_entry *entry);

/* True when both validators, where present, can be sent as header text: the ETag an RFC 9110
 * entity-tag (optional "W/", then a quoted string without space, quote or control byte), the
 * Last-Modified without control bytes (CR, LF, ...). */
bool state_validators_are_valid(const struct state_entry *entry);

/* How many entries state_load() dropped because their validators were not valid. */
size_t state_dropped_entries(const struct state *state);

/* True when updates changed the state since it was loaded or last saved. */
bool state_dirty(const struct state *state);

/* Writes the state to its path with replace_file() (atomically, through symbolic links to
 * their target; temp files of killed runs removed by the first save of this state) and clears
 * the dirty flag. The file keeps the old file's mode (a new one: 0666 less the umask). Prints
 * nothing. -1 with errno set on failure: the temp file is removed and the old file intact,
 * except when only the directory's fsync failed (the new file is then in place but perhaps
 * not durable). Either way the state stays dirty. */
int state_save(struct state *state);

void state_free(struct state *state);

#endif
