/* Link extraction alone, for profiles (callgrind, perf) and differential checks: feeds each
 * HTML file named on the command line to a link extractor in pieces of PIECE bytes, as a
 * transfer would, and prints how many links (and with -p, requisites) were found and one hash
 * of all of them in order: a change that keeps the hash on a whole site found the same URLs.
 *
 *   extract_links [--no-prefilter] [-p | --parser-only] PIECE FILE...
 *
 * --parser-only feeds libxml2's HTML push parser alone, with the options links.c uses and an
 * empty startElement: the floor of link extraction built on it. --no-prefilter feeds the
 * link extractor's parser the page as it came (html_prefilter.h), as before the filter.
 *
 * The page URL of FILE is http://127.0.0.1/doc/FILE, so run it from the top of the tree. See
 * docs/benchmarks.md (C2). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>

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

static void on_element(void *context, const xmlChar *name, const xmlChar **attributes) {
  struct tally *tally = context;
  (void)name;
  (void)attributes;
  tally->links++;
}

static void ignore_error(void *context, xmlErrorPtr error) {
  (void)context;
  (void)error;
}

/* The parser alone: `tally->links` counts start tags. */
static void parse_only(const char *page, size_t length, size_t piece, struct tally *tally) {
  htmlSAXHandler sax;
  memset(&sax, 0, sizeof sax);
  sax.startElement = on_element;
  sax.initialized = XML_SAX2_MAGIC;
  sax.serror = ignore_error;
  htmlParserCtxtPtr parser =
      htmlCreatePushParserCtxt(&sax, tally, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
  if (!parser)
    return;
  htmlCtxtUseOptions(parser, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                 HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC);
  for (size_t done = 0; done < length; done += piece)
    htmlParseChunk(parser, page + done, (int)(length - done < piece ? length - done : piece), 0);
  htmlParseChunk(parser, NULL, 0, 1);
  htmlFreeParserCtxt(parser);
}

static bool prefilter = true;

/* mode: 0 links, 1 links and requisites, 2 the parser alone. */
static int extract_file(const char *path, size_t piece, int mode, struct tally *tally) {
  size_t length;
  char *page = read_file(path, &length);
  if (!page) {
    fprintf(stderr, "extract_links: cannot read %s\n", path);
    return 1;
  }
  if (mode == 2) {
    parse_only(page, length, piece, tally);
    free(page);
    return 0;
  }
  char url[4096];
  snprintf(url, sizeof url, "http://127.0.0.1/doc/%s", path);
  struct link_extractor *extractor = link_extractor_new(url, on_link, tally);
  if (!extractor) {
    free(page);
    return 1;
  }
  link_extractor_use_prefilter(extractor, prefilter);
  if (mode == 1)
    link_extractor_find_requisites(extractor, on_requisite);
  for (size_t done = 0; done < length; done += piece)
    link_extractor_feed(extractor, page + done, length - done < piece ? length - done : piece);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  free(page);
  return 0;
}

int main(int argc, char **argv) {
  int first = 1, mode = 0;
  if (argc > 1 && strcmp(argv[1], "--no-prefilter") == 0) {
    prefilter = false;
    first++;
  }
  if (argc > first &&
      (strcmp(argv[first], "-p") == 0 || strcmp(argv[first], "--parser-only") == 0)) {
    mode = strcmp(argv[first], "-p") == 0 ? 1 : 2;
    first++;
  }
  long piece = argc > first ? strtol(argv[first], NULL, 10) : 0;
  if (piece <= 0 || piece > INT_MAX || argc <= first + 1) {
    fprintf(stderr, "usage: extract_links [--no-prefilter] [-p | --parser-only] PIECE FILE...\n");
    return 2;
  }
  struct tally tally = {.hash = 0xcbf29ce484222325u};
  int failed = 0;
  for (int i = first + 1; i < argc; i++)
    failed |= extract_file(argv[i], (size_t)piece, mode, &tally);
  printf("links %lu requisites %lu hash %016llx\n", tally.links, tally.requisites,
         (unsigned long long)tally.hash);
  return failed;
}
