/* --crawl's frontier: the seen-set of fingerprints, the breadth-first queues by depth, and the
 * scope and filter rules. URL parts come from curl's URL API, registrable domains from libpsl. */
#include "afetch/frontier.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libpsl.h>
#include <xxhash.h>

#include "afetch/hash_table.h"
#include "afetch/url.h"

/* "scheme://host:port" of any host curl accepts fits. */
#define FRONTIER_HOST_KEY_SIZE 2048
#define SEEN_INITIAL_SLOTS 1024 /* a power of two */

/* 128 bits of a URL: XXH3's 128-bit hash. {0, 0} marks an empty slot, so a URL hashing to it
 * is stored as {0, 1}. */
struct fingerprint {
  uint64_t a, b;
};

/* Open addressing with linear probing; grows (doubling) before the load passes 1/2, so it
 * costs 16 bytes per slot = 32..64 bytes per URL (64 just after a growth, 32 just before the
 * next); at least one slot is always empty, so a probe always ends. */
struct seen_set {
  struct fingerprint *slots;
  size_t capacity; /* a power of two */
  size_t count;
};

struct queued {
  struct queued *next, *prev; /* in its depth's FIFO */
  struct frontier_entry entry;
};

struct depth_queue {
  struct queued *head, *tail;
};

struct frontier {
  enum crawl_scope scope;
  regex_t include, exclude;
  bool has_include, has_exclude;
  const psl_ctx_t *psl;  /* CRAWL_SCOPE_DOMAIN only */
  psl_ctx_t *psl_loaded; /* what psl_free() takes (psl_builtin() is static) */
  struct seen_set seen;
  struct depth_queue *queues; /* queues[d]: the FIFO of depth d, for d < depths */
  size_t depths;
  size_t lowest;  /* no queue below this depth has entries */
  size_t highest; /* no queue above this depth has entries */
  size_t queued;
  /* Every queued entry by URL (values: struct queued *), so that frontier_lower() and
   * frontier_take() find one. */
  struct hash_table index;
};

/* ---- seen-set ---- */

static struct fingerprint fingerprint_of(const char *url) {
  XXH128_hash_t hash = XXH3_128bits(url, strlen(url));
  struct fingerprint print = {hash.high64, hash.low64};
  if (print.a == 0 && print.b == 0)
    print.b = 1;
  return print;
}

static bool slot_empty(const struct fingerprint *slot) { return slot->a == 0 && slot->b == 0; }

/* The slot holding `print`, or the empty slot where it would go. The low half picks the
 * start: every bit of XXH3's output depends on every input bit. */
static size_t seen_slot(const struct seen_set *set, struct fingerprint print) {
  size_t mask = set->capacity - 1;
  size_t i = (size_t)print.b & mask;
  while (!slot_empty(&set->slots[i]) && (set->slots[i].a != print.a || set->slots[i].b != print.b))
    i = (i + 1) & mask;
  return i;
}

static bool seen_init(struct seen_set *set) {
  set->slots = calloc(SEEN_INITIAL_SLOTS, sizeof *set->slots);
  set->capacity = SEEN_INITIAL_SLOTS;
  set->count = 0;
  return set->slots != NULL;
}

static bool seen_grow(struct seen_set *set) {
  if (set->capacity > SIZE_MAX / 2 / sizeof *set->slots)
    return false;
  struct seen_set bigger = {calloc(set->capacity * 2, sizeof *set->slots), set->capacity * 2,
                            set->count};
  if (!bigger.slots)
    return false;
  for (size_t i = 0; i < set->capacity; i++)
    if (!slot_empty(&set->slots[i]))
      bigger.slots[seen_slot(&bigger, set->slots[i])] = set->slots[i];
  free(set->slots);
  *set = bigger;
  return true;
}

/* ---- scope keys ---- */

static char *host_key(const char *url) {
  char key[FRONTIER_HOST_KEY_SIZE];
  return url_host_key(url, key, sizeof key) ? strdup(key) : NULL;
}

/* The registrable domain ("example.co.uk" for "a.b.example.co.uk"); the host itself for an IP
 * address or a host with no registrable domain ("localhost", "co.uk"). Ports and schemes play
 * no part. The host is compared as curl gives it (IPv6 in brackets, an IDN host as written:
 * curl 7.88's CURLU_PUNYCODE depends on the locale), in lower case (UTF-8 aware). */
static char *domain_key(const struct frontier *frontier, const char *url) {
  CURLU *parsed = curl_url();
  char *host = NULL, *lower = NULL, *key = NULL;
  if (parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    if (psl_str_to_utf8lower(host, "utf-8", NULL, &lower) != PSL_SUCCESS) {
      lower = strdup(host); /* not UTF-8: ASCII case folding only */
      for (char *c = lower; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    }
    struct in_addr ipv4;
    const char *domain = NULL;
    if (lower && lower[0] != '[' && inet_pton(AF_INET, lower, &ipv4) != 1)
      domain = psl_registrable_domain(frontier->psl, lower); /* points into lower */
    if (lower)
      key = strdup(domain ? domain : lower);
  }
  free(lower);
  curl_free(host);
  curl_url_cleanup(parsed);
  return key;
}

/* The normalised URL up to and including the last '/' of its path, the query dropped. */
static char *prefix_key(const char *url) {
  char *normal = url_normalise(NULL, url);
  CURLU *parsed = curl_url();
  char *path = NULL, *prefix = NULL, *key = NULL;
  if (normal && parsed && curl_url_set(parsed, CURLUPART_URL, normal, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    char *slash = strrchr(path, '/');
    if (slash)
      slash[1] = '\0';
    if (curl_url_set(parsed, CURLUPART_PATH, slash ? path : "/", 0) == CURLUE_OK &&
        curl_url_set(parsed, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_URL, &prefix, CURLU_NO_DEFAULT_PORT) == CURLUE_OK)
      key = strdup(prefix);
  }
  curl_free(prefix);
  curl_free(path);
  curl_url_cleanup(parsed);
  curl_free(normal);
  return key;
}

/* ---- the queued index ---- */

static bool queued_matches(const void *context, uint64_t value, const void *url, size_t length) {
  (void)context;
  const char *queued_url = ((const struct queued *)(uintptr_t)value)->entry.url;
  return strncmp(queued_url, url, length) == 0 && queued_url[length] == '\0';
}

static struct queued *index_find(const struct frontier *frontier, const char *url) {
  size_t length = strlen(url);
  return (struct queued *)(uintptr_t)hash_table_find(&frontier->index, hash_bytes(url, length),
                                                     url, length);
}

static void index_remove(struct frontier *frontier, struct queued *node) {
  hash_table_remove(&frontier->index, hash_string(node->entry.url), (uintptr_t)node);
}

/* ---- the frontier ---- */

static bool compile_filter(regex_t *regex, bool *compiled, const char *option, const char *pattern,
                           char *errbuf, size_t errbuf_size) {
  if (!pattern)
    return true;
  int code = regcomp(regex, pattern, REG_EXTENDED | REG_NOSUB);
  if (code == 0) {
    *compiled = true;
    return true;
  }
  char reason[256];
  regerror(code, regex, reason, sizeof reason);
  if (errbuf && errbuf_size)
    snprintf(errbuf, errbuf_size, "%s: %s", option, reason);
  return false;
}

/* psl_latest(NULL) takes the newer of the distribution's list (/usr/share/publicsuffix, the
 * publicsuffix package) and libpsl's built-in copy; psl_builtin() is the fallback. */
static bool load_public_suffixes(struct frontier *frontier, char *errbuf, size_t errbuf_size) {
  frontier->psl_loaded = psl_latest(NULL);
  frontier->psl = frontier->psl_loaded ? frontier->psl_loaded : psl_builtin();
  if (!frontier->psl && errbuf && errbuf_size)
    snprintf(errbuf, errbuf_size, "--scope domain: no public suffix list (libpsl has none)");
  return frontier->psl != NULL;
}

struct frontier *frontier_new(enum crawl_scope scope, const char *include_regex,
                              const char *exclude_regex, char *errbuf, size_t errbuf_size) {
  struct frontier *frontier = calloc(1, sizeof *frontier);
  if (!frontier) {
    if (errbuf && errbuf_size)
      snprintf(errbuf, errbuf_size, "out of memory");
    return NULL;
  }
  frontier->scope = scope;
  hash_table_init(&frontier->index, queued_matches, NULL);
  bool ok = compile_filter(&frontier->include, &frontier->has_include, "--include", include_regex,
                           errbuf, errbuf_size) &&
            compile_filter(&frontier->exclude, &frontier->has_exclude, "--exclude", exclude_regex,
                           errbuf, errbuf_size) &&
            (scope != CRAWL_SCOPE_DOMAIN || load_public_suffixes(frontier, errbuf, errbuf_size));
  if (ok && !seen_init(&frontier->seen)) {
    if (errbuf && errbuf_size)
      snprintf(errbuf, errbuf_size, "out of memory");
    ok = false;
  }
  if (!ok) {
    frontier_free(frontier);
    return NULL;
  }
  return frontier;
}

bool frontier_mark_seen(struct frontier *frontier, const char *url) {
  struct seen_set *set = &frontier->seen;
  struct fingerprint print = fingerprint_of(url);
  size_t slot = seen_slot(set, print);
  if (!slot_empty(&set->slots[slot]))
    return false;
  if ((set->count + 1) * 2 > set->capacity) {
    /* Without memory to grow, the table fills further; once it would fill up, new URLs are
     * refused (reported as seen, so they are not fetched). */
    if (seen_grow(set))
      slot = seen_slot(set, print);
    else if (set->count + 2 > set->capacity)
      return false;
  }
  set->slots[slot] = print;
  set->count++;
  return true;
}

bool frontier_seen(const struct frontier *frontier, const char *url) {
  const struct seen_set *set = &frontier->seen;
  return !slot_empty(&set->slots[seen_slot(set, fingerprint_of(url))]);
}

char *frontier_scope_key(const struct frontier *frontier, const char *seed_url) {
  switch (frontier->scope) {
  case CRAWL_SCOPE_HOST:
    return host_key(seed_url);
  case CRAWL_SCOPE_DOMAIN:
    return domain_key(frontier, seed_url);
  case CRAWL_SCOPE_PREFIX:
    return prefix_key(seed_url);
  }
  return NULL;
}

bool frontier_accepts(const struct frontier *frontier, const char *scope_key, const char *url) {
  if (!scope_key)
    return false;
  char *normal = url_normalise(NULL, url);
  if (!normal)
    return false;
  bool accepted;
  if (frontier->scope == CRAWL_SCOPE_PREFIX) {
    accepted = strncmp(normal, scope_key, strlen(scope_key)) == 0;
  } else {
    char *key = frontier_scope_key(frontier, normal);
    accepted = key && strcmp(key, scope_key) == 0;
    free(key);
  }
  accepted = accepted &&
             (!frontier->has_include || regexec(&frontier->include, normal, 0, NULL, 0) == 0) &&
             (!frontier->has_exclude || regexec(&frontier->exclude, normal, 0, NULL, 0) != 0);
  curl_free(normal);
  return accepted;
}

bool frontier_excludes(const struct frontier *frontier, const char *url) {
  if (!frontier->has_exclude)
    return false;
  char *normal = url_normalise(NULL, url);
  bool excluded = normal && regexec(&frontier->exclude, normal, 0, NULL, 0) == 0;
  curl_free(normal);
  return excluded;
}

static char *copy_or_null(const char *text, bool *ok) {
  if (!text)
    return NULL;
  char *copy = strdup(text);
  *ok = *ok && copy;
  return copy;
}

/* Takes the node out of its depth's FIFO (not out of the index). */
static void queue_unlink(struct frontier *frontier, struct queued *node) {
  struct depth_queue *queue = &frontier->queues[node->entry.depth];
  if (node->prev)
    node->prev->next = node->next;
  else
    queue->head = node->next;
  if (node->next)
    node->next->prev = node->prev;
  else
    queue->tail = node->prev;
}

/* Appends the node to its depth's FIFO. */
static void queue_append(struct frontier *frontier, struct queued *node) {
  unsigned depth = node->entry.depth;
  struct depth_queue *queue = &frontier->queues[depth];
  node->next = NULL;
  node->prev = queue->tail;
  if (queue->tail)
    queue->tail->next = node;
  else
    queue->head = node;
  queue->tail = node;
  if (depth < frontier->lowest)
    frontier->lowest = depth;
  if (depth > frontier->highest)
    frontier->highest = depth;
}

bool frontier_push(struct frontier *frontier, const char *url, unsigned depth, const char *parent,
                   const char *scope_key) {
  if (depth >= frontier->depths) {
    size_t depths = frontier->depths ? frontier->depths : 8;
    while (depths <= depth)
      depths *= 2;
    struct depth_queue *queues = realloc(frontier->queues, depths * sizeof *queues);
    if (!queues)
      return false;
    memset(queues + frontier->depths, 0, (depths - frontier->depths) * sizeof *queues);
    frontier->queues = queues;
    frontier->depths = depths;
  }
  struct queued *node = malloc(sizeof *node);
  if (!node)
    return false;
  bool ok = true;
  node->entry.depth = depth;
  node->entry.url = copy_or_null(url, &ok);
  node->entry.parent = copy_or_null(parent, &ok);
  node->entry.scope_key = copy_or_null(scope_key, &ok);
  if (!ok || !hash_table_insert(&frontier->index, hash_string(url), (uintptr_t)node)) {
    frontier_entry_free(&node->entry);
    free(node);
    return false;
  }
  queue_append(frontier, node);
  frontier->queued++;
  return true;
}

/* Takes `node` out of its queue and the index; the caller owns it then. */
static void queue_detach(struct frontier *frontier, struct queued *node) {
  queue_unlink(frontier, node);
  index_remove(frontier, node);
  frontier->queued--;
}

/* Takes `node` out and frees it with its entry. */
static void queue_discard(struct frontier *frontier, struct queued *node) {
  queue_detach(frontier, node);
  frontier_entry_free(&node->entry);
  free(node);
}

bool frontier_pop(struct frontier *frontier, struct frontier_entry *entry) {
  while (frontier->lowest < frontier->depths && !frontier->queues[frontier->lowest].head)
    frontier->lowest++;
  if (frontier->lowest >= frontier->depths)
    return false;
  struct queued *node = frontier->queues[frontier->lowest].head;
  queue_detach(frontier, node);
  *entry = node->entry;
  free(node);
  return true;
}

/* The entry frontier_pop() would take last, when its depth is greater than `depth`. */
static struct queued *last_deeper_than(struct frontier *frontier, unsigned depth) {
  while (frontier->highest > depth && frontier->highest < frontier->depths &&
         !frontier->queues[frontier->highest].tail)
    frontier->highest--;
  if (frontier->highest <= depth || frontier->highest >= frontier->depths)
    return NULL;
  return frontier->queues[frontier->highest].tail;
}

const char *frontier_last_deeper_than(struct frontier *frontier, unsigned depth) {
  struct queued *node = last_deeper_than(frontier, depth);
  return node ? node->entry.url : NULL;
}

bool frontier_drop_last_deeper_than(struct frontier *frontier, unsigned depth) {
  struct queued *node = last_deeper_than(frontier, depth);
  if (!node)
    return false;
  queue_discard(frontier, node);
  return true;
}

int frontier_lower(struct frontier *frontier, const char *url, unsigned depth, const char *parent,
                   const char *scope_key) {
  /* Most links are of pages seen already; while nothing deeper waits (no overlap between
   * levels) they cost no lookup here. */
  while (frontier->highest > depth && frontier->highest < frontier->depths &&
         !frontier->queues[frontier->highest].head)
    frontier->highest--;
  if (frontier->highest <= depth || frontier->highest >= frontier->depths)
    return 0;
  struct queued *node = index_find(frontier, url);
  if (!node || node->entry.depth <= depth || !frontier_accepts(frontier, scope_key, url))
    return 0;
  bool ok = true;
  char *new_parent = copy_or_null(parent, &ok);
  char *new_scope_key = copy_or_null(scope_key, &ok);
  if (!ok) {
    free(new_parent);
    free(new_scope_key);
    return -1;
  }
  free(node->entry.parent);
  free(node->entry.scope_key);
  node->entry.parent = new_parent;
  node->entry.scope_key = new_scope_key;
  queue_unlink(frontier, node);
  node->entry.depth = depth;
  queue_append(frontier, node);
  return 1;
}

bool frontier_take(struct frontier *frontier, const char *url) {
  struct queued *node = index_find(frontier, url);
  if (!node)
    return false;
  queue_discard(frontier, node);
  return true;
}

size_t frontier_queued(const struct frontier *frontier) { return frontier->queued; }

unsigned frontier_next_depth(struct frontier *frontier) {
  while (frontier->lowest < frontier->depths && !frontier->queues[frontier->lowest].head)
    frontier->lowest++;
  return (unsigned)frontier->lowest;
}

void frontier_entry_free(struct frontier_entry *entry) {
  free(entry->url);
  free(entry->parent);
  free(entry->scope_key);
  entry->url = entry->parent = entry->scope_key = NULL;
}

void frontier_free(struct frontier *frontier) {
  if (!frontier)
    return;
  for (size_t d = 0; d < frontier->depths; d++) {
    struct queued *node = frontier->queues[d].head;
    while (node) {
      struct queued *next = node->next;
      frontier_entry_free(&node->entry);
      free(node);
      node = next;
    }
  }
  free(frontier->queues);
  hash_table_free(&frontier->index);
  free(frontier->seen.slots);
  if (frontier->has_include)
    regfree(&frontier->include);
  if (frontier->has_exclude)
    regfree(&frontier->exclude);
  psl_free(frontier->psl_loaded);
  free(frontier);
}
