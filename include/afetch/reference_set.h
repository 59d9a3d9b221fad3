/* The references a page reported already, each kept once: a link repeated on a page (a
 * navigation bar, an index pointing at many fragments of one page) is resolved once. The keys
 * live end to end in one arena, `text` (one allocation, not one per key); the table's values
 * are a key's offset + 1. Past a cap (reference_set.c: 1 MiB of text or 64K keys) later
 * references are reported new without being kept, so a page's memory stays bounded whatever
 * it holds. One thread at a time; the set must not move once initialised (the table's match
 * function holds its address). */
#ifndef AFETCH_REFERENCE_SET_H
#define AFETCH_REFERENCE_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "afetch/hash_table.h"

struct reference_set {
  struct hash_table keys; /* its match function's context is this struct */
  char *text;
  size_t text_length, text_capacity;
};

void reference_set_init(struct reference_set *seen);

/* False when key[0..length) was added before; else adds it (when there is room) and returns
 * true. */
bool reference_set_add(struct reference_set *seen, const char *key, size_t length);

/* Forgets every key (a page's base changed: the same reference may now resolve elsewhere). */
void reference_set_clear(struct reference_set *seen);

void reference_set_free(struct reference_set *seen);

#endif
