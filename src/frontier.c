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

#include "afetch/url.h"

/* "scheme://host:port" of any host curl accepts fits. */
#define FRONTIER_HOST_KEY_SIZE 2048
#define SEEN_INITIAL_SLOTS 1024 /* a power of two */
#define SEEN_MURMUR_SEED UINT64_C(0x9e3779b97f4a7c15)

/* 128 bits of a URL: FNV-1a and MurmurHash64A, two unrelated 64-bit hashes. {0, 0} marks an
 * empty slot, so a URL hashing to it is stored as {0, 1}. */
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
  struct queued *same_bucket; /* the next entry in its bucket of the queued index */
  uint64_t hash;              /* hash_fnv1a() of entry.url */
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
  /* Every queued entry by URL, chained by hash, so that frontier_lower() and frontier_take()
   * find one: 8 bytes per bucket, at most as many buckets as twice the entries. */
  struct queued **index;
  size_t index_buckets; /* a power of two, or 0 before the first push */
};

/* ---- seen-set ---- */

static uint64_t hash_fnv1a(const char *text, size_t length) {
  uint64_t hash = UINT64_C(0xcbf29ce484222325);
  for (size_t i = 0; i < length; i++) {
    hash ^= (unsigned char)text[i];
    hash *= UINT64_C(0x100000001b3);
  }
  return hash;
}

/* Austin Appleby's MurmurHash64A (public domain), byte order as the machine's. */
static uint64_t hash_murmur64a(const char *text, size_t length, uint64_t seed) {
  const uint64_t m = UINT64_C(0xc6a4a7935bd1e995);
  const int r = 47;
  uint64_t hash = seed ^ (length * m);
  size_t blocks = length / 8;
  for (size_t i = 0; i < blocks; i++) {
    uint64_t k;
    memcpy(&k, text + 8 * i, sizeof k);
    k *= m;
    k ^= k >> r;
    k *= m;
    hash ^= k;
    hash *= m;
  }
  const unsigned char *tail = (const unsigned char *)text + 8 * blocks;
  switch (length & 7) {
  case 7:
    hash ^= (uint64_t)tail[6] << 48;
    /* fall through */
  case 6:
    hash ^= (uint64_t)tail[5] << 40;
    /* fall through */
  case 5:
    hash ^= (uint64_t)tail[4] << 32;
    /* fall through */
  case 4:
    hash ^= (uint64_t)tail[3] << 24;
    /* fall through */
  case 3:
    hash ^= (uint64_t)tail[2] << 16;
    /* fall through */
  case 2:
    hash ^= (uint64_t)tail[1] << 8;
    /* fall through */
  case 1:
    hash ^= (uint64_t)tail[0];
    hash *= m;
  }
  hash ^= hash >> r;
  hash *= m;
  hash ^= hash >> r;
  return hash;
}

static struct fingerprint fingerprint_of(const char *url) {
  size_t length = strlen(url);
  struct fingerprint print = {hash_fnv1a(url, length),
                              hash_murmur64a(url, length, SEEN_MURMUR_SEED)};
  if (print.a == 0 && print.b == 0)
    print.b = 1;
  return print;
}

static bool slot_empty(const struct fingerprint *slot) { return slot->a == 0 && slot->b == 0; }

/* The slot holding `print`, or the empty slot where it would go. The murmur half picks the
 * start: its finaliser mixes every input bit into the low bits. */
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

/* ---- the queued index ---- */

#define INDEX_INITIAL_BUCKETS 256 /* a power of two */

static uint64_t index_hash(const char *url) { return hash_fnv1a(url, strlen(url)); }

static struct queued **index_bucket(const struct frontier *frontier, uint64_t hash) {
  return &frontier->index[hash & (frontier->index_buckets - 1)];
}

/* Keeps at least one bucket per entry (doubling); false when out of memory. */
static bool index_make_room(struct frontier *frontier) {
  if (frontier->queued < frontier->index_buckets)
    return true;
  size_t buckets = frontier->index_buckets ? frontier->index_buckets * 2 : INDEX_INITIAL_BUCKETS;
  if (buckets > SIZE_MAX / sizeof *frontier->index)
    return false;
  struct queued **index = calloc(buckets, sizeof *index);
  if (!index)
    return false;
  for (size_t b = 0; b < frontier->index_buckets; b++) {
    struct queued *node = frontier->index[b];
    while (node) {
      struct queued *next = node->same_bucket;
      node->same_bucket = index[node->hash & (buckets - 1)];
      index[node->hash & (buckets - 1)] = node;
      node = next;
    }
  }
  free(frontier->index);
  frontier->index = index;
  frontier->index_buckets = buckets;
  return true;
}

static struct queued *index_find(const struct frontier *frontier, const char *url) {
  if (!frontier->index_buckets)
    return NULL;
  uint64_t hash = index_hash(url);
  for (struct queued *node = *index_bucket(frontier, hash); node; node = node->same_bucket)
    if (node->hash == hash && strcmp(node->entry.url, url) == 0)
      return node;
  return NULL;
}

static void index_remove(struct frontier *frontier, struct queued *node) {
  struct queued **link = index_bucket(frontier, node->hash);
  while (*link != node)
    link = &(*link)->same_bucket;
  *link = node->same_bucket;
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
  if (!index_make_room(frontier))
    return false;
  struct queued *node = malloc(sizeof *node);
  if (!node)
    return false;
  bool ok = true;
  node->entry.depth = depth;
  node->entry.url = copy_or_null(url, &ok);
  node->entry.parent = copy_or_null(parent, &ok);
  node->entry.scope_key = copy_or_null(scope_key, &ok);
  if (!ok) {
    frontier_entry_free(&node->entry);
    free(node);
    return false;
  }
  queue_append(frontier, node);
  node->hash = index_hash(node->entry.url);
  struct queued **bucket = index_bucket(frontier, node->hash);
  node->same_bucket = *bucket;
  *bucket = node;
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

bool frontier_drop_last_deeper_than(struct frontier *frontier, unsigned depth) {
  while (frontier->highest > depth && frontier->highest < frontier->depths &&
         !frontier->queues[frontier->highest].tail)
    frontier->highest--;
  if (frontier->highest <= depth || frontier->highest >= frontier->depths)
    return false;
  queue_discard(frontier, frontier->queues[frontier->highest].tail);
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
  free(frontier->index);
  free(frontier->seen.slots);
  if (frontier->has_include)
    regfree(&frontier->include);
  if (frontier->has_exclude)
    regfree(&frontier->exclude);
  psl_free(frontier->psl_loaded);
  free(frontier);
}
