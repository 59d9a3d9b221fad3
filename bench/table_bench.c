/* The in-memory tables on a unit-level workload, for before/after comparisons of the hash
 * table code (docs/benchmarks.md, "Hash tables"). Uses only the modules' public APIs, so the
 * same file builds against older trees. Prints one line per workload: its name and the
 * fastest of ROUNDS (argv[1], default 5) wall times in milliseconds. argv[2] names one
 * workload to run alone: under callgrind, `table_bench 1 frontier` counts its instructions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afetch/frontier.h"
#include "afetch/links.h"
#include "afetch/output_name.h"
#include "afetch/state.h"

#define URLS 1000000u
#define STATE_URLS 1000000u
#define NAMES 200000u
#define PAGES 200u
#define LINKS_PER_PAGE 2000u

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void url_of(char *url, size_t size, unsigned i) {
  snprintf(url, size, "https://host%u.example.com/section/%u/page-%u.html?q=%u", i % 97, i % 1013,
           i, i % 7);
}

/* A crawl's frontier: every URL marked seen and pushed (a tenth deeper), a lookup for a
 * shallower path to each of a third of them, then popped in order. */
static void bench_frontier(void) {
  struct frontier *frontier = frontier_new(CRAWL_SCOPE_HOST, NULL, NULL, NULL, 0);
  char url[128];
  for (unsigned i = 0; i < URLS; i++) {
    url_of(url, sizeof url, i);
    if (frontier_mark_seen(frontier, url))
      frontier_push(frontier, url, i % 10 == 0 ? 3 : 2, "https://host.example.com/", NULL);
  }
  for (unsigned i = 0; i < URLS; i += 3) {
    url_of(url, sizeof url, i);
    frontier_mark_seen(frontier, url);
    frontier_seen(frontier, url);
    frontier_lower(frontier, url, 1, "https://host.example.com/", NULL); /* no scope: no move */
  }
  for (unsigned i = 0; i < URLS; i += 5) {
    url_of(url, sizeof url, i + 1);
    frontier_take(frontier, url);
  }
  struct frontier_entry entry;
  while (frontier_pop(frontier, &entry))
    frontier_entry_free(&entry);
  frontier_free(frontier);
}

/* An --if-changed run's state: every URL updated, looked up twice, a tenth removed. */
static void bench_state(void) {
  char errbuf[256], path[64];
  snprintf(path, sizeof path, "/tmp/afetch-table-bench-%ld.state", (long)getpid()); /* none */
  struct state *state = state_load(path, errbuf, sizeof errbuf);
  if (!state) {
    fprintf(stderr, "%s\n", errbuf);
    exit(1);
  }
  char url[128];
  struct state_entry entry = {.etag = "\"abcdef\"", .file = "host/section/page.html"};
  for (unsigned i = 0; i < STATE_URLS; i++) {
    url_of(url, sizeof url, i);
    state_update(state, url, &entry);
  }
  unsigned found = 0;
  for (unsigned round = 0; round < 2; round++)
    for (unsigned i = 0; i < STATE_URLS; i++) {
      url_of(url, sizeof url, i * 7 % STATE_URLS);
      found += state_lookup(state, url) != NULL;
    }
  struct state_entry none = {0};
  for (unsigned i = 0; i < STATE_URLS; i += 10) {
    url_of(url, sizeof url, i);
    state_update(state, url, &none);
  }
  if (found != 2 * STATE_URLS)
    fprintf(stderr, "state: %u found\n", found);
  state_free(state);
  snprintf(path, sizeof path, "/tmp/afetch-table-bench-%ld.state.lock", (long)getpid());
  unlink(path);
}

static void count_link(void *arg, const char *url) {
  (void)url;
  (*(unsigned *)arg)++;
}

/* Pages of links, most repeated (navigation), fed to the extractor in 16 KiB pieces. */
static void bench_links(const char *page, size_t length) {
  unsigned links = 0;
  for (unsigned p = 0; p < PAGES; p++) {
    struct link_extractor *extractor =
        link_extractor_new("https://example.com/docs/index.html", count_link, &links);
    for (size_t at = 0; at < length; at += 16384)
      link_extractor_feed(extractor, page + at, length - at < 16384 ? length - at : 16384);
    link_extractor_finish(extractor);
    link_extractor_free(extractor);
  }
}

static char *make_page(size_t *length) {
  size_t capacity = LINKS_PER_PAGE * 64 + 64, used = 0;
  char *page = malloc(capacity);
  used += (size_t)snprintf(page, capacity, "<html><body>");
  for (unsigned i = 0; i < LINKS_PER_PAGE; i++)
    used += (size_t)snprintf(page + used, capacity - used, "<a href=\"p%u.html#s%u\">x</a>\n",
                             i % 500, i);
  *length = used;
  return page;
}

/* -o names: many URLs, a fifth of them claiming a name another URL took. */
static void bench_output_names(void) {
  struct output_names *names = output_names_new();
  char url[128], name[OUTPUT_NAME_MAX + 1];
  for (unsigned i = 0; i < NAMES; i++) {
    url_of(url, sizeof url, i);
    snprintf(name, sizeof name, "host/section/page-%u.html", i % 5 == 0 ? i + 1 : i);
    output_names_claim(names, url, name, sizeof name);
  }
  output_names_free(names);
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
  size_t page_length;
  char *page = make_page(&page_length);
  const char *names[] = {"frontier", "state", "links", "output_names"};
  for (size_t w = 0; w < 4; w++) {
    if (argc > 2 && strcmp(argv[2], names[w]) != 0)
      continue;
    double best = 0;
    for (unsigned r = 0; r < rounds; r++) {
      double start = now_ms();
      switch (w) {
      case 0: bench_frontier(); break;
      case 1: bench_state(); break;
      case 2: bench_links(page, page_length); break;
      default: bench_output_names(); break;
      }
      double took = now_ms() - start;
      if (r == 0 || took < best)
        best = took;
    }
    printf("%-13s %9.1f ms\n", names[w], best);
  }
  free(page);
  return 0;
}
