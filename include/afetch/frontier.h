/* --crawl: which URLs to fetch next, breadth first, each once. A compact seen-set for dedupe,
 * FIFO queues by depth with an index of the queued URLs (so that a shorter path found later
 * moves one up), and the scope and filter rules (--scope host|domain|prefix, --include,
 * --exclude).
 *
 * The seen-set keeps no URLs, only a 128-bit fingerprint of each (XXH3's 128-bit hash of the
 * string) in an open-addressing table of 16-byte slots that doubles before it is half full:
 * 32..64 bytes per URL, plus a moment of 96 while it grows. When two URLs share a fingerprint
 * the second counts as seen and is skipped: this happens with a probability of about
 * n^2 / 2^129 for n URLs: below 10^-20 for a billion.
 *
 * Why the seen-set is not a hash_table.h table: it holds every URL a crawl ever met, most of
 * them never queued, so it cannot keep their strings to compare keys; the fingerprint itself is
 * the key, and 128 bits of it are needed (hash_table.h's 64-bit hashes would make collisions
 * likely at a few billion). The queued index, whose entries hold their URLs, is one. */
#ifndef AFETCH_FRONTIER_H
#define AFETCH_FRONTIER_H

#include <stdbool.h>
#include <stddef.h>

enum crawl_scope {
  CRAWL_SCOPE_HOST,   /* the seed's scheme, host and port: key "http://example.com:80" */
  CRAWL_SCOPE_DOMAIN, /* the seed's registrable domain (libpsl), any scheme or port: key
                         "example.co.uk"; an IP address or a host without one: the host */
  CRAWL_SCOPE_PREFIX, /* URLs starting with the seed's normalised URL up to the last '/' of its
                         path, query dropped: key "http://example.com/docs/" */
};

struct frontier;

/* A discovered URL waiting to be fetched. */
struct frontier_entry {
  char *url;       /* url_normalise() form, owned */
  unsigned depth;  /* links followed from a seed */
  char *parent;    /* the page it was found on, owned */
  char *scope_key; /* its seed's scope key (frontier_scope_key()), owned */
};

/* NULL, with a message in errbuf ("--include: <regerror text>", without an "afetch: "
 * prefix), when a regex does not compile or memory runs out. The regexes (POSIX extended,
 * NULL = none) are matched anywhere in the normalised URL. CRAWL_SCOPE_DOMAIN loads the
 * public-suffix list: psl_latest(NULL), the newer of /usr/share/publicsuffix and libpsl's
 * built-in copy. The caller frees the frontier with frontier_free(). */
struct frontier *frontier_new(enum crawl_scope scope, const char *include_regex,
                              const char *exclude_regex, char *errbuf, size_t errbuf_size);

/* Records `url` (normalised: the same URL must always be given in the same form) as seen.
 * True when it was new. Out of memory, once the table is full, a new URL is reported as
 * seen (false), so it is dropped rather than fetched twice. */
bool frontier_mark_seen(struct frontier *frontier, const char *url);

/* True when `url` was marked seen. */
bool frontier_seen(const struct frontier *frontier, const char *url);

/* The scope key of a seed (see enum crawl_scope; the seed need not be normalised), a new
 * string (free()), or NULL when the URL cannot be parsed or memory runs out. */
char *frontier_scope_key(const struct frontier *frontier, const char *seed_url);

/* True when `url` (absolute; normalised here) is http(s), inside the scope `scope_key` (from
 * frontier_scope_key(); NULL: false) stands for, matches --include (if given) and does not
 * match --exclude (if given). Seeds are not meant to go through this. */
bool frontier_accepts(const struct frontier *frontier, const char *scope_key, const char *url);

/* -p: true when `url` (absolute; normalised here) matches --exclude: a requisite, which
 * --scope and --include do not bind, is still not fetched then. False when it does not
 * parse. */
bool frontier_excludes(const struct frontier *frontier, const char *url);

/* Queues a URL at `depth` (copies the strings; `parent` and `scope_key` may be NULL). False
 * when out of memory. */
bool frontier_push(struct frontier *frontier, const char *url, unsigned depth, const char *parent,
                   const char *scope_key);

/* Takes the oldest entry of the lowest depth into *entry: the caller owns its strings and
 * frees them with frontier_entry_free(). False when the frontier is empty. */
bool frontier_pop(struct frontier *frontier, struct frontier_entry *entry);

/* Drops the entry frontier_pop() would take last, when its depth is greater than `depth`:
 * room for a shallower one in a frontier kept to a size (--max-pages). True when one was
 * dropped. Its URL stays seen. */
bool frontier_drop_last_deeper_than(struct frontier *frontier, unsigned depth);

/* The URL frontier_drop_last_deeper_than() would drop (borrowed until the frontier changes),
 * or NULL: none is deeper. */
const char *frontier_last_deeper_than(struct frontier *frontier, unsigned depth);

/* When `url` waits in the queues at a depth greater than `depth` and is within `scope_key`'s
 * scope and the filters (frontier_accepts()), moves it to the end of the queue of `depth`
 * with this parent and scope key (copied): a shorter path to it was found before it started.
 * 1 when it moved, 0 when not, -1 when out of memory (it stays as it was). */
int frontier_lower(struct frontier *frontier, const char *url, unsigned depth, const char *parent,
                   const char *scope_key);

/* Removes the entry of `url` from the queues, when one waits there (it stays seen): a seed
 * read after a page linked to it. True when there was one. */
bool frontier_take(struct frontier *frontier, const char *url);

/* How many entries wait in the queues. */
size_t frontier_queued(const struct frontier *frontier);

/* The depth of the entry frontier_pop() would take (meaningful while entries are queued). */
unsigned frontier_next_depth(struct frontier *frontier);

/* Frees the entry's strings and sets them to NULL (the struct itself is the caller's). */
void frontier_entry_free(struct frontier_entry *entry);

/* Frees the frontier with any entries still queued. NULL is ignored. */
void frontier_free(struct frontier *frontier);

#endif
