/* --crawl: the breadth-first walk over pages' links. */
#include "afetch/crawler.h"

#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include <curl/curl.h>

#include "afetch/frontier.h"
#include "afetch/json_writer.h"
#include "afetch/outcome.h"
#include "afetch/request.h"
#include "afetch/options.h"
#include "afetch/shard.h"
#include "afetch/url.h"

/* -p: an @import chain (a stylesheet importing one that imports ...) ends at this many
 * requisites from the page, as a crawl trap would. */
#define CRAWLER_REQUISITE_LEVELS 5

/* -p: a requisite waiting to be fetched. */
struct crawler_requisite {
  struct crawler_requisite *next;
  unsigned depth;
  unsigned level;  /* 1: the page's own; 2: its stylesheets' ... */
  const char *via; /* static */
  char *parent;    /* owned */
  char url[];
};

struct crawler {
  const struct afetch_options *options;
  struct frontier *frontier;
  unsigned long pages;  /* pages handed out: seeds admitted and discovered pages taken */
  unsigned long *alive; /* alive[d]: pages of depth d handed out and not yet gone */
  /* -p: requisites queued, FIFO. They go before pages, and not through the depth levels:
   * they find no pages, so no level waits for them. */
  struct crawler_requisite *requisites_head, *requisites_tail;
  size_t requisites_queued;
  /* --journal: what the last crawler_page_done() changed (crawler_last_changes()). */
  bool recording;
  struct json_writer queued, lowered, dropped; /* JSON strings, comma-separated */
  struct json_writer requisites;               /* -p: [url, via] pairs, comma-separated */
  char *final_url;                             /* marked seen by it, owned */
};

struct crawler *crawler_new(const struct afetch_options *options, struct frontier *frontier) {
  struct crawler *crawler = calloc(1, sizeof *crawler);
  if (!crawler)
    return NULL;
  crawler->options = options;
  crawler->frontier = frontier;
  json_writer_init(&crawler->queued);
  json_writer_init(&crawler->lowered);
  json_writer_init(&crawler->dropped);
  json_writer_init(&crawler->requisites);
  crawler->alive = calloc((size_t)options->depth + 1, sizeof *crawler->alive);
  if (!crawler->alive) {
    free(crawler);
    return NULL;
  }
  return crawler;
}

void crawler_record_changes(struct crawler *crawler) { crawler->recording = true; }

/* Empties the record of what a page changed. */
static void crawler_clear_changes(struct crawler *crawler) {
  json_writer_reset(&crawler->queued);
  json_writer_reset(&crawler->lowered);
  json_writer_reset(&crawler->dropped);
  json_writer_reset(&crawler->requisites);
  free(crawler->final_url);
  crawler->final_url = NULL;
}

/* Records `url` in `list` (one of the crawler's) when recording. */
static void crawler_record(const struct crawler *crawler, struct json_writer *list,
                           const char *url) {
  if (crawler->recording)
    json_writer_string(list, url);
}

bool crawler_last_changes(const struct crawler *crawler, struct crawler_changes *changes) {
  *changes = (struct crawler_changes){.queued = crawler->queued.data,
                                      .lowered = crawler->lowered.data,
                                      .dropped = crawler->dropped.data,
                                      .requisites = crawler->requisites.data,
                                      .final_url = crawler->final_url};
  return !crawler->queued.failed && !crawler->lowered.failed && !crawler->dropped.failed &&
         !crawler->requisites.failed;
}

/* Makes room in a full frontier: drops the page queued last deeper than `depth` (recorded). */
static bool crawler_drop_deeper(struct crawler *crawler, unsigned depth) {
  const char *url = frontier_last_deeper_than(crawler->frontier, depth);
  if (!url)
    return false;
  crawler_record(crawler, &crawler->dropped, url);
  return frontier_drop_last_deeper_than(crawler->frontier, depth);
}

void crawler_replay_committed(struct crawler *crawler, const char *url, bool seed) {
  char *normalised = seed ? url_normalise(NULL, url) : NULL;
  const char *page = seed ? normalised : url;
  if (page) {
    frontier_take(crawler->frontier, page);
    frontier_mark_seen(crawler->frontier, page);
  }
  curl_free(normalised);
  crawler->pages++;
}

bool crawler_has_budget(const struct crawler *crawler) {
  return !crawler->options->max_pages || crawler->pages < crawler->options->max_pages;
}

/* The pages handed out and the pages (and requisites) queued make up --max-pages. */
static bool crawler_frontier_full(const struct crawler *crawler) {
  unsigned long max_pages = crawler->options->max_pages;
  return max_pages &&
         crawler->pages + frontier_queued(crawler->frontier) + crawler->requisites_queued >=
             max_pages;
}

bool crawler_admit_seed(struct crawler *crawler, struct request *seed) {
  if (!crawler_has_budget(crawler))
    return false;
  /* A seed curl cannot parse is still fetched: it becomes its invalid_url result. */
  char *normalised = url_normalise(NULL, seed->url);
  if (normalised) {
    /* A page that links to a seed read later queued it: it is still a seed, of depth 0. */
    bool fresh = frontier_mark_seen(crawler->frontier, normalised) ||
                 frontier_take(crawler->frontier, normalised);
    if (fresh)
      seed->scope_key = frontier_scope_key(crawler->frontier, normalised);
    curl_free(normalised);
    if (!fresh)
      return false;
  }
  crawler->pages++;
  crawler->alive[0]++;
  return true;
}

void crawler_page_gone(struct crawler *crawler, const struct request *page) {
  if (page->requisite_via)
    return; /* not counted in alive[] */
  if (page->depth <= crawler->options->depth && crawler->alive[page->depth] > 0)
    crawler->alive[page->depth]--;
}

/* The depth rule (README, "Depth is exact"). A page of depth d may start only once no page of
 * depth below d-1 is alive (handed out and not yet gone, i.e. not yet parsed), and a link found
 * on a page of depth d-1 to a URL still queued deeper moves it up to depth d
 * (crawler_page_done()). Then every page starts at its shortest distance from a seed.
 * Proof sketch: say page u starts at depth r while a path of t < r links reaches it, through
 * page v at distance t-1 <= r-2. By induction on k, every page at distance k <= r-2 was parsed
 * at depth k before u started: its predecessor at distance k-1 was, and queued it at depth k
 * or moved it up (or it had started already, at depth k by induction on start order); the
 * queues hand out the lowest depth first, so it started before u, and since k <= r-2 this
 * rule made u wait until it was gone. So v, parsed first, moved u up to depth t: a
 * contradiction. Seeds are all admitted first (input before found pages; a seed found as a
 * link before it was read is taken back out of the queue: crawler_admit_seed()).
 * What it costs: a slow page of depth d holds back depth d+2 (never d+1), so slots stay busy
 * across one level boundary; and the frontier indexes its queued URLs. */
static bool crawler_level_open(const struct crawler *crawler, unsigned depth) {
  for (unsigned d = 0; d + 1 < depth; d++)
    if (crawler->alive[d] > 0)
      return false;
  return true;
}

bool crawler_has_pages(const struct crawler *crawler) {
  return crawler_has_budget(crawler) &&
         (frontier_queued(crawler->frontier) > 0 || crawler->requisites_queued > 0);
}

/* -p: the oldest requisite queued as a new request, or NULL (none, or out of memory: *failed). */
static struct request *crawler_next_requisite(struct crawler *crawler, uint64_t index,
                                              bool *failed) {
  struct crawler_requisite *requisite = crawler->requisites_head;
  if (!requisite)
    return NULL;
  struct request *page = request_new_url(index, requisite->url);
  if (!page) {
    *failed = true;
    return NULL;
  }
  crawler->requisites_head = requisite->next;
  if (!crawler->requisites_head)
    crawler->requisites_tail = NULL;
  crawler->requisites_queued--;
  page->depth = requisite->depth;
  page->parent = requisite->parent; /* the request takes it over */
  page->requisite_via = requisite->via;
  page->requisite_level = requisite->level;
  free(requisite);
  crawler->pages++;
  return page;
}

struct request *crawler_next_page(struct crawler *crawler, uint64_t index, bool *failed) {
  *failed = false;
  if (crawler_has_budget(crawler) && crawler->requisites_head)
    return crawler_next_requisite(crawler, index, failed);
  struct frontier_entry entry;
  if (!crawler_has_pages(crawler) ||
      !crawler_level_open(crawler, frontier_next_depth(crawler->frontier)) ||
      !frontier_pop(crawler->frontier, &entry))
    return NULL;
  struct request *page = request_new_url(index, entry.url);
  if (!page) {
    frontier_entry_free(&entry);
    *failed = true;
    return NULL;
  }
  page->depth = entry.depth;
  page->parent = entry.parent; /* the request takes these two over */
  page->scope_key = entry.scope_key;
  entry.parent = entry.scope_key = NULL;
  frontier_entry_free(&entry);
  crawler->pages++;
  crawler->alive[page->depth]++;
  return page;
}

/* -p: the requisites' own scope: the host of the page that asked for them (any scheme or
 * port, as wget's), or any host with --span-hosts; never a URL --exclude matches. */
static bool crawler_accepts_requisite(const struct crawler *crawler, const char *page_host,
                                      const char *url) {
  if (frontier_excludes(crawler->frontier, url) || !shard_takes_link(&crawler->options->shard, url))
    return false;
  if (crawler->options->span_hosts)
    return true;
  char *host = url_host_lowercase(url);
  bool same = host && page_host && strcmp(host, page_host) == 0;
  curl_free(host);
  return same;
}

/* -p: queues requisite `url` of page `parent` (of depth `depth` and requisite level `level`). */
static bool crawler_push_requisite(struct crawler *crawler, const char *parent, unsigned depth,
                                   unsigned level, const char *url, const char *via) {
  size_t length = strlen(url);
  struct crawler_requisite *requisite = malloc(sizeof *requisite + length + 1);
  if (!requisite)
    return false;
  *requisite = (struct crawler_requisite){
      .depth = depth + 1, .level = level + 1, .via = via, .parent = strdup(parent)};
  if (!requisite->parent) {
    free(requisite);
    return false;
  }
  memcpy(requisite->url, url, length + 1);
  if (crawler->requisites_tail)
    crawler->requisites_tail->next = requisite;
  else
    crawler->requisites_head = requisite;
  crawler->requisites_tail = requisite;
  crawler->requisites_queued++;
  return true;
}

bool crawler_replay_requisite(struct crawler *crawler, const char *parent, unsigned depth,
                              unsigned level, const char *url, const char *via) {
  return !frontier_mark_seen(crawler->frontier, url) ||
         crawler_push_requisite(crawler, parent, depth, level, url, via);
}

void crawler_replay_requisite_committed(struct crawler *crawler, const char *url) {
  /* The requisites queued wait little (they go before pages), so the one committed is near the
   * head. */
  struct crawler_requisite *previous = NULL;
  for (struct crawler_requisite *requisite = crawler->requisites_head; requisite;
       previous = requisite, requisite = requisite->next) {
    if (strcmp(requisite->url, url) != 0)
      continue;
    if (previous)
      previous->next = requisite->next;
    else
      crawler->requisites_head = requisite->next;
    if (crawler->requisites_tail == requisite)
      crawler->requisites_tail = previous;
    crawler->requisites_queued--;
    free(requisite->parent);
    free(requisite);
    break;
  }
  frontier_mark_seen(crawler->frontier, url);
  crawler->pages++;
}

/* -p: queues the requisites of a page (or stylesheet) that came back, whatever its depth. A
 * full frontier (--max-pages) makes room by dropping a page queued deeper than this one, as
 * for links; else the rest are left out. */
static bool crawler_queue_requisites(struct crawler *crawler, const struct request *page,
                                     const struct outcome *outcome) {
  struct frontier *frontier = crawler->frontier;
  const struct page_links *found = &outcome->found;
  if (found->requisites.count == 0 || page->requisite_level >= CRAWLER_REQUISITE_LEVELS)
    return true;
  char *page_host = url_host_lowercase(outcome->final_url ? outcome->final_url : page->url);
  bool ok = true;
  for (size_t i = 0; ok && i < found->requisites.count; i++) {
    if (!crawler_has_budget(crawler))
      break;
    const char *url = found->requisites.urls[i];
    if (frontier_seen(frontier, url) || !crawler_accepts_requisite(crawler, page_host, url))
      continue;
    if (crawler_frontier_full(crawler) && !crawler_drop_deeper(crawler, page->depth))
      break;
    if (!frontier_mark_seen(frontier, url))
      continue;
    const char *via = found->requisite_vias[i];
    ok = crawler_push_requisite(crawler, page->url, page->depth, page->requisite_level, url, via);
    if (ok && crawler->recording) {
      json_writer_array_begin(&crawler->requisites);
      json_writer_string(&crawler->requisites, url);
      json_writer_string(&crawler->requisites, via);
      json_writer_array_end(&crawler->requisites);
    }
  }
  curl_free(page_host);
  return ok;
}

bool crawler_page_done(struct crawler *crawler, const struct request *page,
                       const struct outcome *outcome) {
  struct frontier *frontier = crawler->frontier;
  bool ok = outcome->ok;
  crawler_clear_changes(crawler);
  /* A requisite's redirect target (a missing image sent to an HTML page, say) stays free to
   * be crawled as a page when one links to it. */
  if (outcome->final_url && !page->requisite_via &&
      frontier_mark_seen(frontier, outcome->final_url) && crawler->recording &&
      !(crawler->final_url = strdup(outcome->final_url)))
    return false;
  /* Requisites first: a stylesheet that is also a link is fetched as a requisite. */
  if (ok && !crawler_queue_requisites(crawler, page, outcome))
    return false;
  if (!ok || page->depth >= crawler->options->depth || !page->scope_key)
    return true;
  /* The frontier holds no more pages than --max-pages has left, so that a crawl trap grows
   * neither it nor the seen-set without bound. When it is full, a link takes the place of
   * the deepest page queued last, which breadth first would be the one left out; when no
   * queued page is deeper, this page's links are all left out, and not marked seen. */
  unsigned link_depth = page->depth + 1;
  for (size_t i = 0; i < outcome->found.links.count; i++) {
    if (!crawler_has_budget(crawler))
      break;
    const char *link = outcome->found.links.urls[i];
    /* Most links point at pages seen already: that hash lookup is far cheaper than the scope
     * check, which parses the URL. A seen one may still wait deeper, found by a deeper page
     * first (the depth rule above). */
    if (frontier_seen(frontier, link)) {
      int lowered = frontier_lower(frontier, link, link_depth, page->url, page->scope_key);
      if (lowered < 0)
        return false;
      if (lowered)
        crawler_record(crawler, &crawler->lowered, link);
      continue;
    }
    /* --shard: a host of another shard is that shard's to crawl. */
    if (!frontier_accepts(frontier, page->scope_key, link) ||
        !shard_takes_link(&crawler->options->shard, link))
      continue;
    if (crawler_frontier_full(crawler) && !crawler_drop_deeper(crawler, link_depth))
      break;
    if (!frontier_mark_seen(frontier, link))
      continue;
    if (!frontier_push(frontier, link, link_depth, page->url, page->scope_key))
      return false;
    crawler_record(crawler, &crawler->queued, link);
  }
  return true;
}

void crawler_free(struct crawler *crawler) {
  if (!crawler)
    return;
  while (crawler->requisites_head) {
    struct crawler_requisite *next = crawler->requisites_head->next;
    free(crawler->requisites_head->parent);
    free(crawler->requisites_head);
    crawler->requisites_head = next;
  }
  crawler_clear_changes(crawler);
  json_writer_free(&crawler->queued);
  json_writer_free(&crawler->lowered);
  json_writer_free(&crawler->dropped);
  json_writer_free(&crawler->requisites);
  free(crawler->alive);
  free(crawler);
}
