/* --crawl: the references a page reported already (reference_set.h). */
#include "afetch/reference_set.h"

#include <stdlib.h>
#include <string.h>

/* Keys are kept while their text stays within this... */
#define REFERENCE_SET_TEXT_MAX (1024 * 1024)
/* ... and the set holds fewer keys than this (the table's slots stay within 2 MiB too). */
#define REFERENCE_SET_KEYS_MAX (64 * 1024)

static bool reference_set_matches(const void *context, uint64_t value, const void *key,
                                  size_t length) {
  const char *kept = ((const struct reference_set *)context)->text + value - 1;
  return strncmp(kept, key, length) == 0 && kept[length] == '\0';
}

void reference_set_init(struct reference_set *seen) {
  hash_table_init(&seen->keys, reference_set_matches, seen);
}

bool reference_set_add(struct reference_set *seen, const char *key, size_t length) {
  uint64_t hash = hash_bytes(key, length);
  if (hash_table_find(&seen->keys, hash, key, length))
    return false;
  if (seen->text_length + length + 1 > REFERENCE_SET_TEXT_MAX ||
      hash_table_count(&seen->keys) >= REFERENCE_SET_KEYS_MAX)
    return true;
  if (seen->text_length + length + 1 > seen->text_capacity) {
    size_t capacity = seen->text_capacity ? seen->text_capacity : 4096;
    while (capacity < seen->text_length + length + 1)
      capacity *= 2;
    char *grown = realloc(seen->text, capacity);
    if (!grown)
      return true;
    seen->text = grown;
    seen->text_capacity = capacity;
  }
  if (!hash_table_insert(&seen->keys, hash, seen->text_length + 1))
    return true;
  memcpy(seen->text + seen->text_length, key, length);
  seen->text[seen->text_length + length] = '\0';
  seen->text_length += length + 1;
  return true;
}

void reference_set_clear(struct reference_set *seen) {
  hash_table_clear(&seen->keys);
  seen->text_length = 0;
}

void reference_set_free(struct reference_set *seen) {
  hash_table_free(&seen->keys);
  free(seen->text);
}
