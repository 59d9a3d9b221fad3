/* The one hash table of afetch, and its hash functions.
 *
 * An open-addressing table (linear probing, removal by backward shift, no tombstones) of
 * 16-byte slots: a key's 64-bit hash and a value of the caller's, never 0 (0 marks an empty
 * slot): a pointer to an entry the caller owns, an offset + 1 into an arena, a number. The
 * table keeps no keys: it asks the caller's match function to compare, and only for a slot
 * whose stored hash equals the one sought. Without a match function the 64-bit hash is the
 * whole key (fingerprints, ids). The slot array doubles before it is 3/4 full.
 *
 * Why not uthash: it costs an allocation of its own or a ~56-byte handle in every entry and
 * chains them, where the state file (millions of URLs) and a page's seen references (kept end
 * to end in one arena) need 16 bytes a key in one array. Entries here stay wherever the caller
 * keeps them, and a key may be any bytes (NUL included) the match function can compare.
 *
 * Keys are hashed with XXH3 (hash_bytes()); the inputs are the user's own lists and the pages
 * they lead to, so a hostile page can at worst slow its own crawl, and its references are
 * capped (links.c). Not thread-safe: a table belongs to one thread at a time.
 *
 * A map of `name -> struct entry *`: hash = hash_string(name), value = (uintptr_t)entry,
 * match compares the name inside the entry. A map of `id -> struct entry *`: hash = id, no
 * match function. */
#ifndef AFETCH_HASH_TABLE_H
#define AFETCH_HASH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the key of the entry `value` stands for is key[0..length). */
typedef bool (*hash_table_match_fn)(const void *context, uint64_t value, const void *key,
                                    size_t length);

struct hash_slot {
  uint64_t hash;
  uint64_t value; /* 0: empty */
};

/* Embedded in its owner and set up with hash_table_init(); the fields are the module's. */
struct hash_table {
  struct hash_slot *slots;
  size_t capacity; /* a power of two, or 0 before the first insertion */
  size_t count;
  hash_table_match_fn match;
  const void *context;
};

/* XXH3 64-bit hash of key[0..length). */
uint64_t hash_bytes(const void *key, size_t length);

/* hash_bytes() of a NUL-terminated string, without the NUL. */
uint64_t hash_string(const char *key);

/* The 64-bit FNV-1a hash of bytes[0..length): fixed by the CLI contract for -o names
 * ({url_hash} and the 8-hex-digit suffixes, output_name.h), whose digits must not change from
 * one version to the next. Not for tables: use hash_bytes(). */
uint64_t hash_fnv1a64(const void *bytes, size_t length);

/* An empty table that allocates nothing until its first insertion. `match` (NULL: the hash is
 * the key) gets `context` with every call. */
void hash_table_init(struct hash_table *table, hash_table_match_fn match, const void *context);

/* The value stored under `hash` whose key is key[0..length), or 0. */
uint64_t hash_table_find(const struct hash_table *table, uint64_t hash, const void *key,
                         size_t length);

/* Adds `value` (not 0) under `hash`. The caller knows its key is not in the table (a second
 * entry of one key would be found only once the first is removed). False when out of memory
 * (the table is then unchanged). */
bool hash_table_insert(struct hash_table *table, uint64_t hash, uint64_t value);

/* Puts `new_value` (not 0) in the place of `old_value` under `hash` (same key). False when
 * old_value is not there. */
bool hash_table_replace(struct hash_table *table, uint64_t hash, uint64_t old_value,
                        uint64_t new_value);

/* Removes `value`, stored under `hash`. False when it is not there. */
bool hash_table_remove(struct hash_table *table, uint64_t hash, uint64_t value);

/* The next value from *cursor on (start at 0), or 0 when there are no more. The table must not
 * change during the walk. Order: the slots', not insertion's. */
uint64_t hash_table_next(const struct hash_table *table, size_t *cursor);

/* How many values the table holds. */
size_t hash_table_count(const struct hash_table *table);

/* Empties the table, keeping its slot array. */
void hash_table_clear(struct hash_table *table);

/* Frees the slot array (not the entries: walk them with hash_table_next() first); the table is
 * empty and usable again. */
void hash_table_free(struct hash_table *table);

#endif
