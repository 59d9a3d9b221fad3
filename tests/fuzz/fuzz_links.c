/* The HTML link extractor (link_extractor_new / feed / finish / free) on one page, fed twice:
 * whole, then cut into pieces at points drawn from the input.
 *
 * Input: [control byte][4 seed bytes][page]. Control bits 0-1 pick the page URL (an ordinary
 * one, one with a port and query, an IPv6 one, one that is not a URL); bits 2-4 the number of
 * cuts (0 to 7); the seed, where they fall (1 in 4 cuts lands near a '<' or '>'); bit 5 asks
 * for the page's requisites too (link_extractor_find_requisites(), which runs the CSS scanner
 * on <style> text and style="" attributes).
 *
 * Checked: every link and requisite is an absolute http(s) URL without spaces or control
 * bytes, and in url_normalise() form already (normalising it again changes nothing); every
 * requisite's `via` is one of the names links.h lists. With FUZZ_LINKS_CUTS=1
 * in the environment, also that the pieces give the same links, in the same order, as the
 * whole page: not by default, because libxml2 2.9's push parser still reads some malformed
 * start tags differently when they arrive in pieces (docs/benchmarks.md, "Fuzzing"). */
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/links.h"
#include "afetch/url.h"
#include "fuzz_helpers.h"

#define FUZZ_MAX_CUTS 7

static bool fuzz_compare_cuts;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *compare = getenv("FUZZ_LINKS_CUTS");
  fuzz_compare_cuts = compare && strcmp(compare, "1") == 0;
  return 0;
}

static const char *const fuzz_page_urls[] = {
    "http://example.com/dir/page.html",
    "https://Example.COM:8443/a/b/c?x=1&y=2#top",
    "http://[::1]:8080/",
    "not a url",
};

struct fuzz_links {
  char **urls;
  size_t count, capacity;
};

static void fuzz_check_url(const char *url) {
  FUZZ_CHECK(url != NULL);
  FUZZ_CHECK(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
  for (const unsigned char *c = (const unsigned char *)url; *c; c++)
    FUZZ_CHECK(*c > 0x20 && *c != 0x7F);
  char *again = url_normalise(NULL, url);
  FUZZ_CHECK(again != NULL && strcmp(again, url) == 0);
  curl_free(again);
}

static void fuzz_on_link(void *arg, const char *url) {
  struct fuzz_links *links = arg;
  fuzz_check_url(url);
  if (links->count == links->capacity) {
    links->capacity = links->capacity ? links->capacity * 2 : 16;
    links->urls = realloc(links->urls, links->capacity * sizeof *links->urls);
    FUZZ_REQUIRE_MEMORY(links->urls);
  }
  links->urls[links->count] = strdup(url);
  FUZZ_REQUIRE_MEMORY(links->urls[links->count]);
  links->count++;
}

static void fuzz_links_free(struct fuzz_links *links) {
  for (size_t i = 0; i < links->count; i++)
    free(links->urls[i]);
  free(links->urls);
}

static void fuzz_on_requisite(void *arg, const char *url, const char *via) {
  static const char *const vias[] = {"img",    "script", "link",  "video", "audio",
                                     "source", "track",  "object", "embed", "style"};
  bool known = false;
  for (size_t i = 0; i < sizeof vias / sizeof *vias; i++)
    known = known || (via && strcmp(via, vias[i]) == 0);
  FUZZ_CHECK(known);
  /* Requisites and links share the list: both must come out the same from the pieces. */
  fuzz_on_link(arg, url);
}

/* Feeds `page` cut at `cuts` (ascending offsets, `cut_count` of them), then finishes. */
static void fuzz_extract(const char *page_url, const char *page, size_t length, const size_t *cuts,
                         size_t cut_count, bool requisites, struct fuzz_links *links) {
  struct link_extractor *extractor = link_extractor_new(page_url, fuzz_on_link, links);
  FUZZ_REQUIRE_MEMORY(extractor);
  if (requisites)
    link_extractor_find_requisites(extractor, fuzz_on_requisite);
  size_t start = 0;
  for (size_t i = 0; i <= cut_count; i++) {
    size_t end = i < cut_count ? cuts[i] : length;
    link_extractor_feed(extractor, page + start, end - start);
    start = end;
  }
  link_extractor_finish(extractor);
  /* Ignored after finish (links.h): no link may come out of it. */
  size_t count = links->count;
  link_extractor_feed(extractor, "<a href=\"/late\">", 16);
  FUZZ_CHECK(links->count == count);
  link_extractor_free(extractor);
}

/* A cut near a tag boundary when the draw says so: where parsers keep state across pieces. */
static size_t fuzz_cut(const char *page, size_t length, uint32_t draw) {
  size_t cut = draw % (length + 1);
  if ((draw >> 24) % 4 == 0) {
    const char *tag = memchr(page + cut, (draw >> 23) & 1 ? '<' : '>', length - cut);
    if (tag)
      cut = (size_t)(tag - page) + (draw >> 20) % 3;
    if (cut > length)
      cut = length;
  }
  return cut;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_input input = {data, size};
  uint8_t control = fuzz_take_byte(&input);
  uint32_t seed = fuzz_take_u32(&input);
  const char *page_url = fuzz_page_urls[control & 3];
  size_t cut_count = (control >> 2) % (FUZZ_MAX_CUTS + 1);
  bool requisites = (control >> 5) & 1;
  const char *page = (const char *)input.data;
  size_t length = input.size;

  size_t cuts[FUZZ_MAX_CUTS];
  for (size_t i = 0; i < cut_count; i++)
    cuts[i] = fuzz_cut(page, length, fuzz_next_random(&seed));
  for (size_t i = 1; i < cut_count; i++)
    for (size_t j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
      size_t swap = cuts[j];
      cuts[j] = cuts[j - 1];
      cuts[j - 1] = swap;
    }

  struct fuzz_links whole = {0}, pieces = {0};
  fuzz_extract(page_url, page, length, NULL, 0, requisites, &whole);
  if (cut_count > 0) {
    fuzz_extract(page_url, page, length, cuts, cut_count, requisites, &pieces);
    if (fuzz_compare_cuts) {
      FUZZ_CHECK(pieces.count == whole.count);
      for (size_t i = 0; i < whole.count; i++)
        FUZZ_CHECK(strcmp(pieces.urls[i], whole.urls[i]) == 0);
    }
  }
  fuzz_links_free(&whole);
  fuzz_links_free(&pieces);
  return 0;
}
