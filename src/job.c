/* One input URL across its attempts, and the lists it waits in. */
#include "afetch/job.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "afetch/source.h"

/* True when text starts with "scheme://" (RFC 3986 scheme characters), so that a "://" later
 * in a query string does not count. */
static bool job_line_names_scheme(const char *text) {
  if (!isalpha((unsigned char)text[0]))
    return false;
  size_t i = 1;
  while (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '-' || text[i] == '.')
    i++;
  return strncmp(text + i, "://", 3) == 0;
}

struct job *job_new(const struct source_line *line) {
  /* A line without a scheme gets "http://", as curl's tool does (libcurl alone would guess
   * one from the host name). */
  static const char default_scheme[] = "http://";
  size_t prefix = job_line_names_scheme(line->text) ? 0 : sizeof default_scheme - 1;
  struct job *job = malloc(sizeof *job + prefix + line->length + 1);
  if (!job)
    return NULL;
  *job = (struct job){.index = line->index,
                      .length = prefix + line->length,
                      .scheme_added = prefix,
                      .too_long = line->too_long};
  memcpy(job->url, default_scheme, prefix);
  memcpy(job->url + prefix, line->text, line->length);
  job->url[prefix + line->length] = '\0';
  return job;
}

struct job *job_new_url(uint64_t index, const char *url) {
  struct source_line line = {.index = index, .text = url, .length = strlen(url)};
  return job_new(&line);
}

struct job *job_new_robots(const char *origin) {
  size_t size = strlen(origin) + sizeof "/robots.txt";
  char *url = malloc(size);
  if (!url)
    return NULL;
  snprintf(url, size, "%s/robots.txt", origin);
  struct job *job = job_new_url(0, url);
  free(url);
  if (job)
    job->is_robots = true;
  return job;
}

/* FNV-1a, never 0 (0 marks an empty slot). */
static uint64_t job_link_hash(const char *url) {
  uint64_t hash = UINT64_C(14695981039346656037);
  for (const unsigned char *c = (const unsigned char *)url; *c; c++)
    hash = (hash ^ *c) * UINT64_C(1099511628211);
  return hash ? hash : 1;
}

/* Doubles the hash slots (kept at most half full). */
static bool job_links_grow_set(struct job_links *links) {
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
static bool job_links_add(struct job_links *links, const char *url, bool *added) {
  *added = false;
  if (2 * (links->count + 1) > links->hash_slots && !job_links_grow_set(links))
    return false;
  uint64_t hash = job_link_hash(url);
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

bool job_add_link(struct job *job, const char *url) {
  bool added;
  return job_links_add(&job->links, url, &added);
}

bool job_add_requisite(struct job *job, const char *url, const char *via) {
  struct job_links *requisites = &job->requisites;
  /* Room for one more via first, so that a failure leaves the two lists as they were. */
  if (requisites->count + 1 > job->requisite_via_capacity) {
    size_t capacity = job->requisite_via_capacity ? 2 * job->requisite_via_capacity : 16;
    const char **vias = realloc(job->requisite_vias, capacity * sizeof *vias);
    if (!vias)
      return false;
    job->requisite_vias = vias;
    job->requisite_via_capacity = capacity;
  }
  bool added;
  if (!job_links_add(requisites, url, &added))
    return false;
  if (added)
    job->requisite_vias[requisites->count - 1] = via;
  return true;
}

void job_free(struct job *job) {
  if (!job)
    return;
  for (size_t i = 0; i < job->links.count; i++)
    free(job->links.urls[i]);
  free(job->links.urls);
  free(job->links.hashes);
  for (size_t i = 0; i < job->requisites.count; i++)
    free(job->requisites.urls[i]);
  free(job->requisites.urls);
  free(job->requisites.hashes);
  free(job->requisite_vias);
  free(job->id_json);
  free(job->method);
  curl_slist_free_all(job->headers);
  free(job->body);
  free(job->output_name);
  free(job->input_error);
  free(job->parent);
  free(job->scope_key);
  free(job->final_url);
  free(job->captured);
  free(job->output_path);
  free(job->if_none_match);
  free(job->if_modified_since);
  free(job->new_etag);
  free(job->new_last_modified);
  free(job);
}

const char *job_given_url(const struct job *job) { return job->url + job->scheme_added; }

void job_stopped_result(const struct job *job, enum result_error why,
                        struct afetch_result *result) {
  *result = (struct afetch_result){.index = job->index,
                                   .url = job->url,
                                   .error = why,
                                   .curl_code = -1,
                                   .attempts = job->attempts,
                                   .has_retry_after = job->has_retry_after,
                                   .retry_after_s = job->retry_after_s,
                                   .depth = job->depth,
                                   .id_json = job->id_json,
                                   .parent = job->parent,
                                   .requisite = job->requisite_via};
  if (why == RESULT_CANCELLED)
    result->error_message = "cancelled: afetch was interrupted";
}

void job_list_push_back(struct job_list *list, struct job *job) {
  job->next = NULL;
  job->prev = list->tail;
  if (list->tail)
    list->tail->next = job;
  else
    list->head = job;
  list->tail = job;
  list->count++;
}

void job_list_remove(struct job_list *list, struct job *job) {
  if (job->prev)
    job->prev->next = job->next;
  else
    list->head = job->next;
  if (job->next)
    job->next->prev = job->prev;
  else
    list->tail = job->prev;
  job->prev = job->next = NULL;
  list->count--;
}

struct job *job_list_pop_front(struct job_list *list) {
  struct job *job = list->head;
  if (job)
    job_list_remove(list, job);
  return job;
}

void job_list_take_all(struct job_list *to, struct job_list *from) {
  struct job *job;
  while ((job = job_list_pop_front(from)))
    job_list_push_back(to, job);
}
