/* Outcomes: one finished attempt's result and response data, as a message. */
#include "afetch/outcome.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, never 0 (0 marks an empty slot). */
static uint64_t url_set_hash(const char *url) {
  uint64_t hash = UINT64_C(14695981039346656037);
  for (const unsigned char *c = (const unsigned char *)url; *c; c++)
    hash = (hash ^ *c) * UINT64_C(1099511628211);
  return hash ? hash : 1;
}

/* Doubles the hash slots (kept at most half full). */
static bool url_set_grow(struct url_set *links) {
  size_t slots = links->hash_slots ? links->hash_slots * 2 : 64;
  uint64_t *hashes = calloc(slots, sizeof *hashes);
  if (!hashes)
    return false;
  for (size_t i = 0; i < links->hash_slots; i++) {
    if (!links->hashes[i])
      continue;
    size_t slot = links->hashes[i] & (slots - 1);
    while (hashes[slot])
      slot = (slot + 1) & (slots - 1);
    hashes[slot] = links->hashes[i];
  }
  free(links->hashes);
  links->hashes = hashes;
  links->hash_slots = slots;
  return true;
}

/* Adds `url` to the list unless it is there; *added says whether it was. */
static bool url_set_add(struct url_set *links, const char *url, bool *added) {
  *added = false;
  if (2 * (links->count + 1) > links->hash_slots && !url_set_grow(links))
    return false;
  uint64_t hash = url_set_hash(url);
  size_t slot = hash & (links->hash_slots - 1);
  for (; links->hashes[slot]; slot = (slot + 1) & (links->hash_slots - 1))
    if (links->hashes[slot] == hash) {
      /* Same hash: the same link, unless a rare collision (then compare the text). */
      for (size_t i = 0; i < links->count; i++)
        if (strcmp(links->urls[i], url) == 0)
          return true;
    }
  if (links->count == links->capacity) {
    size_t capacity = links->capacity ? links->capacity * 2 : 16;
    char **grown = realloc(links->urls, capacity * sizeof *grown);
    if (!grown)
      return false;
    links->urls = grown;
    links->capacity = capacity;
  }
  char *copy = strdup(url);
  if (!copy)
    return false;
  links->urls[links->count++] = copy;
  links->hashes[slot] = hash;
  *added = true;
  return true;
}

bool page_links_add_link(struct page_links *found, const char *url) {
  bool added;
  return url_set_add(&found->links, url, &added);
}

bool page_links_add_requisite(struct page_links *found, const char *url, const char *via) {
  struct url_set *requisites = &found->requisites;
  /* Room for one more via first, so that a failure leaves the two lists as they were. */
  if (requisites->count + 1 > found->requisite_via_capacity) {
    size_t capacity = found->requisite_via_capacity ? 2 * found->requisite_via_capacity : 16;
    const char **vias = realloc(found->requisite_vias, capacity * sizeof *vias);
    if (!vias)
      return false;
    found->requisite_vias = vias;
    found->requisite_via_capacity = capacity;
  }
  bool added;
  if (!url_set_add(requisites, url, &added))
    return false;
  if (added)
    found->requisite_vias[requisites->count - 1] = via;
  return true;
}

static void url_set_clear(struct url_set *set) {
  for (size_t i = 0; i < set->count; i++)
    free(set->urls[i]);
  free(set->urls);
  free(set->hashes);
  *set = (struct url_set){0};
}

void page_links_clear(struct page_links *found) {
  url_set_clear(&found->links);
  url_set_clear(&found->requisites);
  free(found->requisite_vias);
  *found = (struct page_links){0};
}

struct outcome *outcome_new(const struct outcome *fields, const char *json, size_t json_length) {
  struct outcome *outcome = malloc(sizeof *outcome + json_length + 1);
  if (!outcome)
    return NULL;
  memcpy(outcome, fields, sizeof *outcome);
  outcome->json_length = json_length;
  memcpy(outcome->json, json, json_length);
  outcome->json[json_length] = '\0';
  return outcome;
}

void outcome_free(struct outcome *outcome) {
  if (!outcome)
    return;
  free(outcome->final_url);
  free(outcome->body);
  page_links_clear(&outcome->found);
  free(outcome->new_etag);
  free(outcome->new_last_modified);
  free(outcome);
}

void outcome_queue_push(struct outcome_queue *queue, struct outcome *outcome) {
  outcome->next = NULL;
  if (queue->tail)
    queue->tail->next = outcome;
  else
    queue->head = outcome;
  queue->tail = outcome;
}

struct outcome *outcome_queue_pop(struct outcome_queue *queue) {
  struct outcome *outcome = queue->head;
  if (outcome && !(queue->head = outcome->next))
    queue->tail = NULL;
  return outcome;
}

void outcome_queue_take_all(struct outcome_queue *to, struct outcome_queue *from) {
  if (!from->head)
    return;
  if (to->tail)
    to->tail->next = from->head;
  else
    to->head = from->head;
  to->tail = from->tail;
  *from = (struct outcome_queue){0};
}
