/* The HTML pre-filter (html_prefilter.h) against libxml2 alone, on one page.
 *
 * Input: [control byte][4 seed bytes][page]. Control bit 0 asks for requisites too; bits 1-3
 * the number of cuts (0 to 7) of the filter's input, where the seed says.
 *
 * Checked: the links and requisites found with the filter (the page fed whole) are the ones
 * libxml2 alone finds, in the same order; the filter's output is the same whether its input
 * comes whole or cut. With FUZZ_PREFILTER_CUTS=1 in the environment, also that the extractor
 * fed cut finds what it finds fed whole: not by default, as libxml2 2.9's push parser reads
 * some malformed markup differently in pieces with or without the filter (fuzz_links.c). */
#include <stdint.h>

#include "afetch/html_prefilter.h"
#include "afetch/links.h"
#include "fuzz_helpers.h"

#define FUZZ_MAX_CUTS 7

static bool fuzz_compare_cuts;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *compare = getenv("FUZZ_PREFILTER_CUTS");
  fuzz_compare_cuts = compare && strcmp(compare, "1") == 0;
  return 0;
}

struct fuzz_text {
  char *bytes;
  size_t length, capacity;
};

static void fuzz_text_add(struct fuzz_text *text, const char *bytes, size_t length) {
  if (text->length + length + 1 > text->capacity) {
    text->capacity = (text->length + length + 1) * 2;
    text->bytes = realloc(text->bytes, text->capacity);
    FUZZ_REQUIRE_MEMORY(text->bytes);
  }
  memcpy(text->bytes + text->length, bytes, length);
  text->length += length;
  text->bytes[text->length] = '\0';
}

static void fuzz_on_link(void *arg, const char *url) {
  fuzz_text_add(arg, url, strlen(url));
  fuzz_text_add(arg, "\n", 1);
}

static void fuzz_on_requisite(void *arg, const char *url, const char *via) {
  fuzz_text_add(arg, via, strlen(via));
  fuzz_text_add(arg, " ", 1);
  fuzz_on_link(arg, url);
}

/* The links (and requisites) of `page` fed at `cuts`, with or without the filter. */
static void fuzz_extract(const char *page, size_t length, const size_t *cuts, size_t cut_count,
                         bool filtered, bool requisites, struct fuzz_text *found) {
  struct link_extractor *extractor =
      link_extractor_new("http://example.com/dir/page.html", fuzz_on_link, found);
  FUZZ_REQUIRE_MEMORY(extractor);
  link_extractor_use_prefilter(extractor, filtered);
  if (requisites)
    link_extractor_find_requisites(extractor, fuzz_on_requisite);
  size_t start = 0;
  for (size_t i = 0; i <= cut_count; i++) {
    size_t end = i < cut_count ? cuts[i] : length;
    link_extractor_feed(extractor, page + start, end - start);
    start = end;
  }
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
}

/* The filter's whole output for `page` fed at `cuts`. */
static void fuzz_filter(const char *page, size_t length, const size_t *cuts, size_t cut_count,
                        struct fuzz_text *output) {
  struct html_prefilter filter;
  FUZZ_REQUIRE_MEMORY(html_prefilter_init(&filter));
  const char *bytes;
  size_t start = 0;
  for (size_t i = 0; i <= cut_count; i++) {
    size_t end = i < cut_count ? cuts[i] : length;
    size_t got = html_prefilter_feed(&filter, page + start, end - start, &bytes);
    fuzz_text_add(output, bytes, got);
    start = end;
  }
  size_t got = html_prefilter_finish(&filter, &bytes);
  fuzz_text_add(output, bytes, got);
  html_prefilter_free(&filter);
}

static void fuzz_check_same(const struct fuzz_text *a, const struct fuzz_text *b) {
  FUZZ_CHECK(a->length == b->length);
  FUZZ_CHECK(a->length == 0 || memcmp(a->bytes, b->bytes, a->length) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_input input = {data, size};
  uint8_t control = fuzz_take_byte(&input);
  uint32_t seed = fuzz_take_u32(&input);
  bool requisites = control & 1;
  size_t cut_count = (control >> 1) % (FUZZ_MAX_CUTS + 1);
  const char *page = (const char *)input.data;
  size_t length = input.size;
  size_t cuts[FUZZ_MAX_CUTS];
  for (size_t i = 0; i < cut_count; i++)
    cuts[i] = fuzz_next_random(&seed) % (length + 1);
  for (size_t i = 1; i < cut_count; i++)
    for (size_t j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
      size_t swap = cuts[j];
      cuts[j] = cuts[j - 1];
      cuts[j - 1] = swap;
    }

  struct fuzz_text plain = {0}, filtered = {0}, whole = {0}, pieces = {0}, cut = {0};
  fuzz_extract(page, length, NULL, 0, false, requisites, &plain);
  fuzz_extract(page, length, NULL, 0, true, requisites, &filtered);
  fuzz_check_same(&plain, &filtered);
  fuzz_filter(page, length, NULL, 0, &whole);
  fuzz_filter(page, length, cuts, cut_count, &pieces);
  fuzz_check_same(&whole, &pieces);
  if (fuzz_compare_cuts) {
    fuzz_extract(page, length, cuts, cut_count, true, requisites, &cut);
    fuzz_check_same(&filtered, &cut);
  }
  free(plain.bytes);
  free(filtered.bytes);
  free(whole.bytes);
  free(pieces.bytes);
  free(cut.bytes);
  return 0;
}
