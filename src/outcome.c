/* Outcomes: one finished attempt's result and response data, as a message. */
#include "afetch/outcome.h"

#include <stdlib.h>
#include <string.h>

/* A slot's value is the URL's copy in `urls` (stable while the set lives). */
static bool url_set_match(const void *context, uint64_t value, const void *key, size_t length) {
  (void)context;
  const char *url = (const char *)(uintptr_t)value;
  return strncmp(url, key, length) == 0 && url[length] == '\0';
}

/* Adds `url` to the list unless it is there; *added says whether it was. */
static bool url_set_add(struct url_set *links, const char *url, bool *added) {
  *added = false;
  if (!links->seen.match) /* a set made with {0} */
    hash_table_init(&links->seen, url_set_match, NULL);
  size_t length = strlen(url);
  uint64_t hash = hash_bytes(url, length);
  if (hash_table_find(&links->seen, hash, url, length))
    return true;
  if (links->count == links->capacity) {
    size_t capacity = links->capacity ? links->capacity * 2 : 16;
    char **grown = realloc(links->urls, capacity * sizeof *grown);
    if (!grown)
      return false;
    links->urls = grown;
    links->capacity = capacity;
  }
  char *copy = strdup(url);
  if (!copy || !hash_table_insert(&links->seen, hash, (uintptr_t)copy)) {
    free(copy);
    return false;
  }
  links->urls[links->count++] = copy;
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
  hash_table_free(&set->seen);
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
