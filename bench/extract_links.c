/* Link extraction alone, for profiles (callgrind, perf) and differential checks: feeds each
 * HTML file named on the command line to a link extractor in pieces of PIECE bytes, as a
 * transfer would, and prints how many links (and with -p, requisites) were found and one hash
 * of all of them in order: a change that keeps the hash on a whole site found the same URLs.
 *
 *   extract_links [-p] PIECE FILE...
 *
 * The page URL of FILE is http://127.0.0.1/doc/FILE, so run it from the top of the tree. See
 * docs/benchmarks.md (C2). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afetch/links.h"

struct tally {
  unsigned long links, requisites;
  uint64_t hash; /* FNV-1a over every URL and `via`, in the order reported */
};

static void tally_text(struct tally *tally, const char *text) {
  for (const char *p = text; *p; p++)
    tally->hash = (tally->hash ^ (unsigned char)*p) * 0x100000001b3u;
  tally->hash = (tally->hash ^ '\n') * 0x100000001b3u;
}

static void on_link(void *arg, const char *url) {
  struct tally *tally = arg;
  tally->links++;
  tally_text(tally, url);
}

static void on_requisite(void *arg, const char *url, const char *via) {
  struct tally *tally = arg;
  tally->requisites++;
  tally_text(tally, via);
  tally_text(tally, url);
}

/* The whole file, malloc()ed, its size in *length; NULL when unreadable. */
static char *read_file(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  size_t capacity = 1 << 16, used = 0;
  char *data = malloc(capacity);
  for (size_t got; data && (got = fread(data + used, 1, capacity - used, file)) > 0;) {
    used += got;
    if (used == capacity) {
      char *grown = realloc(data, capacity *= 2);
      if (!grown)
        free(data);
      data = grown;
    }
  }
  fclose(file);
  *length = used;
  return data;
}

static int extract_file(const char *path, size_t piece, int requisites, struct tally *tally) {
  size_t length;
  char *page = read_file(path, &length);
  if (!page) {
    fprintf(stderr, "extract_links: cannot read %s\n", path);
    return 1;
  }
  char url[4096];
  snprintf(url, sizeof url, "http://127.0.0.1/doc/%s", path);
  struct link_extractor *extractor = link_extractor_new(url, on_link, tally);
  if (!extractor) {
    free(page);
    return 1;
  }
  if (requisites)
    link_extractor_find_requisites(extractor, on_requisite);
  for (size_t done = 0; done < length; done += piece)
    link_extractor_feed(extractor, page + done, length - done < piece ? length - done : piece);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  free(page);
  return 0;
}

int main(int argc, char **argv) {
  int first = 1, requisites = 0;
  if (argc > 1 && strcmp(argv[1], "-p") == 0) {
    requisites = 1;
    first++;
  }
  long piece = argc > first ? strtol(argv[first], NULL, 10) : 0;
  if (piece <= 0 || argc <= first + 1) {
    fprintf(stderr, "usage: extract_links [-p] PIECE FILE...\n");
    return 2;
  }
  struct tally tally = {.hash = 0xcbf29ce484222325u};
  int failed = 0;
  for (int i = first + 1; i < argc; i++)
    failed |= extract_file(argv[i], (size_t)piece, requisites, &tally);
  printf("links %lu requisites %lu hash %016llx\n", tally.links, tally.requisites,
         (unsigned long long)tally.hash);
  return failed;
}
