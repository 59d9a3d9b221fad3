/* The one hash table: open addressing with linear probing over (hash, value) slots; XXH3 for
 * keys (libxxhash). */
#include "afetch/hash_table.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#define HASH_TABLE_INITIAL_CAPACITY 16 /* a power of two */

uint64_t hash_bytes(const void *key, size_t length) { return XXH3_64bits(key, length); }

uint64_t hash_string(const char *key) { return XXH3_64bits(key, strlen(key)); }

uint64_t hash_fnv1a64(const void *bytes, size_t length) {
  const unsigned char *byte = bytes;
  uint64_t hash = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < length; i++)
    hash = (hash ^ byte[i]) * UINT64_C(1099511628211);
  return hash;
}

void hash_table_init(struct hash_table *table, hash_table_match_fn match, const void *context) {
  *table = (struct hash_table){.match = match, .context = context};
}

static size_t hash_table_mask(const struct hash_table *table) { return table->capacity - 1; }

uint64_t hash_table_find(const struct hash_table *table, uint64_t hash, const void *key,
                         size_t length) {
  if (!table->capacity)
    return 0;
  size_t mask = hash_table_mask(table);
  for (size_t i = (size_t)hash & mask; table->slots[i].value; i = (i + 1) & mask) {
    const struct hash_slot *slot = &table->slots[i];
    if (slot->hash == hash &&
        (!table->match || table->match(table->context, slot->value, key, length)))
      return slot->value;
  }
  return 0;
}

/* The index of the slot holding `value` under `hash`, or the capacity when none does. */
static size_t hash_table_index_of(const struct hash_table *table, uint64_t hash, uint64_t value) {
  if (!table->capacity)
    return 0;
  size_t mask = hash_table_mask(table);
  for (size_t i = (size_t)hash & mask; table->slots[i].value; i = (i + 1) & mask)
    if (table->slots[i].hash == hash && table->slots[i].value == value)
      return i;
  return table->capacity;
}

/* Puts the pair in the first empty slot of its probe sequence (there always is one). */
static void hash_table_place(struct hash_slot *slots, size_t mask, uint64_t hash,
                             uint64_t value) {
  size_t i = (size_t)hash & mask;
  while (slots[i].value)
    i = (i + 1) & mask;
  slots[i] = (struct hash_slot){hash, value};
}

static bool hash_table_grow(struct hash_table *table) {
  size_t capacity = table->capacity ? table->capacity * 2 : HASH_TABLE_INITIAL_CAPACITY;
  if (capacity > SIZE_MAX / sizeof *table->slots)
    return false;
  struct hash_slot *slots = calloc(capacity, sizeof *slots);
  if (!slots)
    return false;
  for (size_t i = 0; i < table->capacity; i++)
    if (table->slots[i].value)
      hash_table_place(slots, capacity - 1, table->slots[i].hash, table->slots[i].value);
  free(table->slots);
  table->slots = slots;
  table->capacity = capacity;
  return true;
}

bool hash_table_insert(struct hash_table *table, uint64_t hash, uint64_t value) {
  /* At most 3/4 full: probes stay short, and a probe always meets an empty slot. */
  if ((table->count + 1) * 4 > table->capacity * 3 && !hash_table_grow(table))
    return false;
  hash_table_place(table->slots, hash_table_mask(table), hash, value);
  table->count++;
  return true;
}

bool hash_table_replace(struct hash_table *table, uint64_t hash, uint64_t old_value,
                        uint64_t new_value) {
  size_t i = hash_table_index_of(table, hash, old_value);
  if (i >= table->capacity)
    return false;
  table->slots[i].value = new_value;
  return true;
}

/* Backward-shift deletion: the slots after the hole move back into it while their probe
 * sequence allows, so that no later lookup stops early at the hole. */
bool hash_table_remove(struct hash_table *table, uint64_t hash, uint64_t value) {
  size_t hole = hash_table_index_of(table, hash, value);
  if (hole >= table->capacity)
    return false;
  size_t mask = hash_table_mask(table);
  for (size_t i = (hole + 1) & mask; table->slots[i].value; i = (i + 1) & mask) {
    size_t home = (size_t)table->slots[i].hash & mask;
    /* The slot at i may move back to the hole when its home is not within (hole, i]. */
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      table->slots[hole] = table->slots[i];
      hole = i;
    }
  }
  table->slots[hole] = (struct hash_slot){0, 0};
  table->count--;
  return true;
}

uint64_t hash_table_next(const struct hash_table *table, size_t *cursor) {
  while (*cursor < table->capacity) {
    uint64_t value = table->slots[(*cursor)++].value;
    if (value)
      return value;
  }
  return 0;
}

size_t hash_table_count(const struct hash_table *table) { return table->count; }

void hash_table_clear(struct hash_table *table) {
  if (table->slots)
    memset(table->slots, 0, table->capacity * sizeof *table->slots);
  table->count = 0;
}

void hash_table_free(struct hash_table *table) {
  free(table->slots);
  table->slots = NULL;
  table->capacity = 0;
  table->count = 0;
}
