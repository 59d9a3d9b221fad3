/* The HTML pre-filter (html_prefilter.h) against libxml2 alone, on one page.
 *
 * Input: [control byte][4 seed bytes][page]. Control bit 0 asks for requisites too (in the
 * optional check below); bits 1-3 the number of cuts (0 to 7) of the filter's input, where
 * the seed says.
 *
 * Checked, aborting on a difference:
 * - what the filter promises: libxml2's HTML push parser, with links.c's options, fed the
 *   page in one piece, reports the same start tags (implied ones too) with the same values of
 *   the attributes link_tags.c reads, and the same script and style text, as when fed the
 *   filter's output in one piece (after </html> it is put back to reading, as links.c does);
 *   but for what links.c reads the same way: an href of a, area or link that begins with '#'
 *   (the page itself, never reported) counts as "#", which the filter may write instead, and
 *   start tags of html_prefilter_drops_empty() elements without attributes read (links.c
 *   reads nothing of them) do not count: the filter drops empty pairs of them;
 * - the filter's output is the same whether its input comes whole or cut.
 * With FUZZ_PREFILTER_EXTRACTOR=1 in the environment, also the links and requisites of the
 * link extractor with and without the filter, each fed the page whole: not by default, as
 * links.c hands libxml2 a page in two pieces (it holds the end back) and libxml2 2.9 reads
 * some malformed tags differently depending on where a piece ends, which the filter moves
 * (fuzz_links.c says the same of cuts). */
#include <stdint.h>

#include <libxml/HTMLparser.h>

#include "afetch/html_prefilter.h"
#include "afetch/link_tags.h"
#include "afetch/links.h"
#include "fuzz_helpers.h"

#define FUZZ_MAX_CUTS 7

static bool fuzz_compare_extractor;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *compare = getenv("FUZZ_PREFILTER_EXTRACTOR");
  fuzz_compare_extractor = compare && strcmp(compare, "1") == 0;
  link_tags_init();
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

/* SAX startElement: the name and the values read, one line. */
static void fuzz_on_element(void *context, const xmlChar *name, const xmlChar **attributes) {
  struct fuzz_text *events = context;
  const char *values[LINK_ATTRIBUTE_COUNT];
  link_attributes_read(attributes, values);
  enum link_tag tag = link_tag_of((const char *)name);
  bool link_href = tag == LINK_TAG_A || tag == LINK_TAG_AREA || tag == LINK_TAG_LINK;
  if (link_href && values[LINK_ATTRIBUTE_HREF] && values[LINK_ATTRIBUTE_HREF][0] == '#')
    values[LINK_ATTRIBUTE_HREF] = "#";
  bool any_read = false;
  for (size_t k = 0; k < LINK_ATTRIBUTE_COUNT; k++)
    any_read = any_read || values[k];
  if (!any_read && html_prefilter_drops_empty((const char *)name))
    return;
  fuzz_text_add(events, "<", 1);
  fuzz_text_add(events, (const char *)name, strlen((const char *)name));
  for (size_t k = 0; k < LINK_ATTRIBUTE_COUNT; k++) {
    fuzz_text_add(events, " ", 1);
    if (values[k])
      fuzz_text_add(events, values[k], strlen(values[k]) + 1); /* its NUL: "" is not absent */
  }
  fuzz_text_add(events, "\n", 1);
}

/* SAX cdataBlock: script and style text (only the bytes count, not how they are cut). */
static void fuzz_on_raw_text(void *context, const xmlChar *text, int length) {
  fuzz_text_add(context, (const char *)text, (size_t)length);
}

static void fuzz_ignore_error(void *context, xmlErrorPtr error) {
  (void)context;
  (void)error;
}

/* libxml2's events for `page` fed in one piece, read on after </html> as links.c does. */
static void fuzz_parse(const char *page, size_t length, struct fuzz_text *events) {
  htmlSAXHandler sax;
  memset(&sax, 0, sizeof sax);
  sax.startElement = fuzz_on_element;
  sax.cdataBlock = fuzz_on_raw_text;
  sax.initialized = XML_SAX2_MAGIC;
  sax.serror = fuzz_ignore_error;
  htmlParserCtxtPtr parser =
      htmlCreatePushParserCtxt(&sax, events, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
  FUZZ_REQUIRE_MEMORY(parser);
  htmlCtxtUseOptions(parser, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                 HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC);
  htmlParseChunk(parser, page, (int)length, 1);
  while (!parser->disableSAX && parser->input && parser->input->cur &&
         parser->input->cur < parser->input->end) {
    /* Not input->cur alone: as in links.c (links_read_on()), libxml2 can move its buffer
     * (a shrink, the switch to ISO-8859-1) in a round that reads on. */
    const xmlChar *cur = parser->input->cur, *base = parser->input->base;
    const xmlChar *end = parser->input->end;
    unsigned long consumed = parser->input->consumed;
    parser->instate = XML_PARSER_CONTENT;
    parser->errNo = XML_ERR_OK;
    parser->checkIndex = 0;
    htmlParseChunk(parser, NULL, 0, 1);
    if (parser->input->cur == cur && parser->input->base == base && parser->input->end == end &&
        parser->input->consumed == consumed)
      break;
  }
  htmlFreeParserCtxt(parser);
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

  struct fuzz_text whole = {0}, pieces = {0}, plain_events = {0}, filtered_events = {0};
  fuzz_filter(page, length, NULL, 0, &whole);
  fuzz_filter(page, length, cuts, cut_count, &pieces);
  fuzz_check_same(&whole, &pieces);
  fuzz_parse(page, length, &plain_events);
  fuzz_parse(whole.bytes ? whole.bytes : "", whole.length, &filtered_events);
  fuzz_check_same(&plain_events, &filtered_events);
  if (fuzz_compare_extractor) {
    struct fuzz_text plain = {0}, filtered = {0};
    fuzz_extract(page, length, NULL, 0, false, requisites, &plain);
    fuzz_extract(page, length, NULL, 0, true, requisites, &filtered);
    fuzz_check_same(&plain, &filtered);
    free(plain.bytes);
    free(filtered.bytes);
  }
  free(whole.bytes);
  free(pieces.bytes);
  free(plain_events.bytes);
  free(filtered_events.bytes);
  return 0;
}
