/* --crawl: link extraction with libxml2's HTML push parser. Each fed piece goes through
 * html_prefilter.h's filter (what the parser would read for nothing taken out) to
 * htmlParseChunk(); a SAX startElement callback looks at the tags as the parser meets them.
 * No tree is built and libxml2 never prints: its errors go to no-op handlers. Flaws of
 * libxml2 2.9's push parser are worked around by links_push_fixes.h: what to hold back of
 * a piece and when to rescan (else where a piece ends could change the links found), and
 * reading on after </html> (else little after it would be read). */
#include "afetch/links.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "afetch/css_links.h"
#include "afetch/html_prefilter.h"
#include "afetch/link_tags.h"
#include "afetch/links_push_fixes.h"
#include "afetch/reference_set.h"
#include "afetch/url.h"

/* Bytes held back at the end of a piece, at most. */
#define LINKS_HELD_MAX 32

struct link_extractor {
  htmlParserCtxtPtr parser;
  /* What the parser reads, less what it never needs to (html_prefilter.h); off: it reads
   * the body as it came. */
  struct html_prefilter prefilter;
  bool prefiltering;
  /* The page's URL in url_normalise() form (free with curl_free()); NULL when it does not
   * parse as http(s): then only absolute links resolve. */
  char *page_url;
  /* The first <base href>, resolved against page_url (free with curl_free()); NULL: none
   * yet, or it did not resolve, and links resolve against page_url. */
  char *base_url;
  struct url_base *base; /* base_url, else page_url, parsed once for all links */
  bool base_seen;        /* only the first <base href> counts, even one that did not resolve */
  bool finished;
  /* The end of the last piece, held back until the next one: see links_push_bytes_to_hold(). */
  char held[LINKS_HELD_MAX];
  size_t held_length;
  /* held + the next piece, contiguous (grown as needed, free()). */
  char *joined;
  size_t joined_capacity;
  size_t parsed_since_rescan; /* see links_push_rescan_pending() */
  struct reference_set seen;
  /* -p: the requisites reported, apart from the links: an <a href=x> must not hide an
   * <img src=x> (nor the other way round). */
  struct reference_set requisites_seen;
  /* The attribute value being reported, cleaned (grown as needed, free()): one buffer for
   * all of them. */
  char *reference;
  size_t reference_capacity;
  link_found_fn on_link;
  void *arg;
  /* -p (link_extractor_find_requisites()); NULL: links only. */
  requisite_found_fn on_requisite;
  struct css_scanner *style; /* the text of <style> blocks, made at the first one */
  bool in_style;             /* the script or style text libxml2 passes now is a <style>'s */
};

static pthread_once_t links_once = PTHREAD_ONCE_INIT;

static void links_init(void) {
  xmlInitParser();
  link_tags_init();
}

static void links_ignore_error(void *context, const char *message, ...) {
  (void)context;
  (void)message;
}

static void links_ignore_structured_error(void *context, xmlErrorPtr error) {
  (void)context;
  (void)error;
}

/* libxml2 reports some errors (out of memory, the I/O layer's) without a parser context,
 * through per-thread handlers that print on stderr by default. Set them for the calling
 * thread before every call into the parser: a page may be fed from any thread. */
static void links_silence_thread(void) {
  xmlSetGenericErrorFunc(NULL, links_ignore_error);
  xmlSetStructuredErrorFunc(NULL, links_ignore_structured_error);
}

static bool links_is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* An attribute value as a URL reference: leading and trailing whitespace (and C0 controls)
 * trimmed and every tab and newline removed, as HTML and the WHATWG URL standard do. Written
 * to extractor->reference; its length goes to *length. NULL when out of memory. */
size_t links_clean_reference_into(const char *value, char *out) {
  while (*value && (unsigned char)*value <= 0x20)
    value++;
  size_t end = strlen(value);
  while (end > 0 && (unsigned char)value[end - 1] <= 0x20)
    end--;
  size_t length = 0;
  for (size_t i = 0; i < end; i++)
    if (value[i] != '\t' && value[i] != '\n' && value[i] != '\r')
      out[length++] = value[i];
  out[length] = '\0';
  return length;
}

/* The cleaned reference: `value` itself when it holds no byte up to 0x20 (nothing to trim
 * or remove, the common case), else a copy cleaned into extractor->reference. */
static const char *links_clean_reference(struct link_extractor *extractor, const char *value,
                                         size_t *length) {
  size_t at = 0;
  while ((unsigned char)value[at] > 0x20)
    at++;
  if (value[at] == '\0') {
    *length = at;
    return value;
  }
  size_t needed = at + strlen(value + at) + 1;
  if (needed > extractor->reference_capacity) {
    size_t capacity = extractor->reference_capacity ? extractor->reference_capacity : 256;
    while (capacity < needed)
      capacity *= 2;
    char *grown = realloc(extractor->reference, capacity);
    if (!grown)
      return NULL;
    extractor->reference = grown;
    extractor->reference_capacity = capacity;
  }
  *length = links_clean_reference_into(value, extractor->reference);
  return extractor->reference;
}

/* True when a rel attribute holds `token` (tokens split on whitespace, compared without
 * case). */
static bool links_rel_has_token(const char *rel, const char *token) {
  size_t token_length = strlen(token);
  const char *p = rel;
  while (*p) {
    while (links_is_space(*p))
      p++;
    const char *start = p;
    while (*p && !links_is_space(*p))
      p++;
    if ((size_t)(p - start) == token_length && strncasecmp(start, token, token_length) == 0)
      return true;
  }
  return false;
}

/* Hands `url` to the extractor's callback for links or, with a `via`, for requisites. */
static void links_emit(struct link_extractor *extractor, const char *url, const char *via) {
  if (via)
    extractor->on_requisite(extractor->arg, url, via);
  else
    extractor->on_link(extractor->arg, url);
}

/* Reports `value` resolved against the current base (as a requisite when `via` is given),
 * unless it names the page itself ("", "#fragment"), is not http(s), does not parse, or was
 * reported before from this page (`seen`: the same reference but for a fragment that cannot
 * change the result: see url_reference_key_length()). Common relative references are
 * resolved without curl. */
static void links_resolve_once(struct link_extractor *extractor, struct reference_set *seen,
                               const char *value, const char *via) {
  size_t length;
  const char *reference = links_clean_reference(extractor, value, &length);
  if (!reference || reference[0] == '\0' || reference[0] == '#' ||
      !reference_set_add(seen, reference, url_reference_key_length(reference, length)))
    return;
  const char *simple =
      extractor->base ? url_base_resolve_simple(extractor->base, reference, length) : NULL;
  if (simple) {
    links_emit(extractor, simple, via);
    return;
  }
  char *url = extractor->base ? url_base_resolve(extractor->base, reference)
                              : url_normalise(NULL, reference);
  if (url)
    links_emit(extractor, url, via);
  curl_free(url);
}

static void links_report(struct link_extractor *extractor, const char *value) {
  links_resolve_once(extractor, &extractor->seen, value, NULL);
}

static void links_on_base(struct link_extractor *extractor, const char *href) {
  if (!href || extractor->base_seen)
    return;
  extractor->base_seen = true;
  size_t length;
  const char *reference = links_clean_reference(extractor, href, &length);
  if (reference && reference[0] != '\0')
    extractor->base_url = url_normalise(extractor->page_url, reference);
  if (extractor->base_url) {
    url_base_free(extractor->base);
    extractor->base = url_base_new(extractor->base_url);
    reference_set_clear(&extractor->seen);
    reference_set_clear(&extractor->requisites_seen);
  }
}

/* ---- -p: page requisites ---- */

/* Reports `value` as a requisite, resolved as links are. */
static void links_report_requisite(struct link_extractor *extractor, const char *value,
                                   const char *via) {
  links_resolve_once(extractor, &extractor->requisites_seen, value, via);
}

/* The URLs of a srcset ("a.png 1x, b.png 2x"), as HTML splits them: candidates separated by
 * commas, each a URL (a run without whitespace; commas at its end end the candidate) and
 * descriptors up to the next comma outside parentheses. */
static void links_report_srcset(struct link_extractor *extractor, const char *srcset,
                                const char *via) {
  const char *p = srcset;
  for (;;) {
    while (links_is_space(*p) || *p == ',')
      p++;
    if (*p == '\0')
      return;
    const char *start = p;
    while (*p && !links_is_space(*p))
      p++;
    const char *end = p;
    bool has_descriptors = end[-1] != ',';
    while (end > start && end[-1] == ',')
      end--;
    char *candidate = strndup(start, (size_t)(end - start));
    if (candidate)
      links_report_requisite(extractor, candidate, via);
    free(candidate);
    for (int parentheses = 0; has_descriptors && *p && (*p != ',' || parentheses > 0); p++)
      parentheses += *p == '(' ? 1 : *p == ')' && parentheses > 0 ? -1 : 0;
  }
}

/* css_reference_fn for <style> text and style="" attributes. */
static void links_on_style_reference(void *arg, const char *reference) {
  links_report_requisite(arg, reference, "style");
}

/* True when a rel attribute holds a token that makes link[href] something the page shows
 * with: "stylesheet" or "icon" ("shortcut icon" too), as wget takes them. */
static bool links_rel_is_requisite(const char *rel) {
  return links_rel_has_token(rel, "stylesheet") || links_rel_has_token(rel, "icon");
}

/* Element attributes that name what the page shows with (srcset: a list of them). */
static const struct {
  enum link_tag tag;
  enum link_attribute attribute;
} links_requisite_attributes[] = {
    {LINK_TAG_IMG, LINK_ATTRIBUTE_SRC},      {LINK_TAG_IMG, LINK_ATTRIBUTE_SRCSET},
    {LINK_TAG_SCRIPT, LINK_ATTRIBUTE_SRC},   {LINK_TAG_VIDEO, LINK_ATTRIBUTE_SRC},
    {LINK_TAG_VIDEO, LINK_ATTRIBUTE_POSTER}, {LINK_TAG_AUDIO, LINK_ATTRIBUTE_SRC},
    {LINK_TAG_SOURCE, LINK_ATTRIBUTE_SRC},   {LINK_TAG_SOURCE, LINK_ATTRIBUTE_SRCSET},
    {LINK_TAG_TRACK, LINK_ATTRIBUTE_SRC},    {LINK_TAG_OBJECT, LINK_ATTRIBUTE_DATA},
    {LINK_TAG_EMBED, LINK_ATTRIBUTE_SRC},
};

/* The requisites of one start tag, and where <style> text begins. */
static void links_on_requisite_element(struct link_extractor *extractor, enum link_tag tag,
                                       const char *const values[LINK_ATTRIBUTE_COUNT]) {
  if (extractor->in_style)
    css_scanner_finish(extractor->style);
  extractor->in_style = tag == LINK_TAG_STYLE;
  if (extractor->in_style && !extractor->style)
    extractor->style = css_scanner_new(links_on_style_reference, extractor);
  extractor->in_style = extractor->in_style && extractor->style;
  for (size_t i = 0; i < sizeof links_requisite_attributes / sizeof *links_requisite_attributes;
       i++) {
    if (links_requisite_attributes[i].tag != tag)
      continue;
    enum link_attribute attribute = links_requisite_attributes[i].attribute;
    const char *value = values[attribute];
    if (value && attribute == LINK_ATTRIBUTE_SRCSET)
      links_report_srcset(extractor, value, link_tag_name(tag));
    else if (value)
      links_report_requisite(extractor, value, link_tag_name(tag));
  }
  const char *rel = values[LINK_ATTRIBUTE_REL], *href = values[LINK_ATTRIBUTE_HREF];
  if (tag == LINK_TAG_LINK && rel && href && links_rel_is_requisite(rel))
    links_report_requisite(extractor, href, "link");
  const char *style = values[LINK_ATTRIBUTE_STYLE];
  if (style)
    css_links_scan(style, strlen(style), links_on_style_reference, extractor);
}

/* SAX cdataBlock: the text of a script or style element, in one or more calls. */
static void links_on_raw_text(void *context, const xmlChar *text, int length) {
  struct link_extractor *extractor = context;
  if (extractor->in_style && length > 0)
    css_scanner_feed(extractor->style, (const char *)text, (size_t)length);
}

/* SAX startElement: libxml2's HTML parser passes tag and attribute names in lower case.
 * Nearly every element of a page is none of those read: it costs a look at its name. */
static void links_on_start_element(void *context, const xmlChar *name, const xmlChar **attributes) {
  struct link_extractor *extractor = context;
  if (!name)
    return;
  enum link_tag tag = link_tag_of((const char *)name);
  if (tag == LINK_TAG_OTHER && !extractor->on_requisite)
    return;
  const char *values[LINK_ATTRIBUTE_COUNT];
  link_attributes_read(attributes, values);
  if (extractor->on_requisite)
    links_on_requisite_element(extractor, tag, values);
  const char *rel = values[LINK_ATTRIBUTE_REL];
  switch (tag) {
  case LINK_TAG_A:
  case LINK_TAG_LINK:
  case LINK_TAG_AREA:
    if (values[LINK_ATTRIBUTE_HREF] && !(rel && links_rel_has_token(rel, "nofollow")))
      links_report(extractor, values[LINK_ATTRIBUTE_HREF]);
    break;
  case LINK_TAG_IFRAME:
  case LINK_TAG_FRAME:
    if (values[LINK_ATTRIBUTE_SRC])
      links_report(extractor, values[LINK_ATTRIBUTE_SRC]);
    break;
  case LINK_TAG_BASE:
    links_on_base(extractor, values[LINK_ATTRIBUTE_HREF]);
    break;
  default:
    break;
  }
}

/* htmlParseChunk() and the work-arounds after it. */
static void links_parse_chunk(struct link_extractor *extractor, const char *data, int length,
                              int terminate) {
  htmlParseChunk(extractor->parser, data, length, terminate);
  extractor->parsed_since_rescan += (size_t)length;
  if (!terminate && links_push_rescan_pending(extractor->parser, &extractor->parsed_since_rescan))
    htmlParseChunk(extractor->parser, NULL, 0, 0);
  links_push_resume_after_document_end(extractor->parser, terminate);
}

static void links_parse(struct link_extractor *extractor, const char *data, size_t length) {
  while (length > 0) {
    int piece = length > INT_MAX ? INT_MAX : (int)length;
    links_parse_chunk(extractor, data, piece, 0);
    data += piece;
    length -= (size_t)piece;
  }
}

/* Puts the held-back bytes in front of `*data`, in extractor->joined. Out of memory, they
 * are parsed on their own instead (as libxml2 would have had them). */
static void links_join_held(struct link_extractor *extractor, const char **data, size_t *length) {
  size_t total = extractor->held_length + *length;
  if (total > extractor->joined_capacity) {
    size_t capacity = extractor->joined_capacity ? extractor->joined_capacity : 256;
    while (capacity < total)
      capacity *= 2;
    char *grown = realloc(extractor->joined, capacity);
    if (!grown) {
      links_parse(extractor, extractor->held, extractor->held_length);
      extractor->held_length = 0;
      return;
    }
    extractor->joined = grown;
    extractor->joined_capacity = capacity;
  }
  memcpy(extractor->joined, extractor->held, extractor->held_length);
  memcpy(extractor->joined + extractor->held_length, *data, *length);
  extractor->held_length = 0;
  *data = extractor->joined;
  *length = total;
}

/* A push parser that only calls links_on_start_element() and never prints. The body is
 * read as UTF-8 whatever it declares (HTML_PARSE_IGNORE_ENC): at its first byte that is not
 * UTF-8, libxml2 reads the rest as ISO-8859-1. A charset converter would stop the parse for
 * good at a byte invalid in the declared charset; this way no byte stops it, and the links
 * (nearly always ASCII) come out the same; only raw non-ASCII characters in links of pages
 * in other legacy charsets (Shift_JIS, KOI8-R ...) come out wrong. NULL when out of memory. */
static htmlParserCtxtPtr links_new_parser(struct link_extractor *extractor) {
  htmlSAXHandler sax;
  memset(&sax, 0, sizeof sax);
  sax.startElement = links_on_start_element;
  /* XML_SAX2_MAGIC makes the parser send its own errors to serror. */
  sax.initialized = XML_SAX2_MAGIC;
  sax.serror = links_ignore_structured_error;
  htmlParserCtxtPtr parser =
      htmlCreatePushParserCtxt(&sax, extractor, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
  if (parser)
    htmlCtxtUseOptions(parser, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                   HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC);
  return parser;
}

struct link_extractor *link_extractor_new(const char *page_url, link_found_fn on_link, void *arg) {
  pthread_once(&links_once, links_init);
  links_silence_thread();
  struct link_extractor *extractor = calloc(1, sizeof *extractor);
  if (!extractor)
    return NULL;
  extractor->page_url = page_url ? url_normalise(NULL, page_url) : NULL;
  extractor->base = extractor->page_url ? url_base_new(extractor->page_url) : NULL;
  extractor->on_link = on_link;
  extractor->arg = arg;
  reference_set_init(&extractor->seen);
  reference_set_init(&extractor->requisites_seen);
  extractor->prefiltering = html_prefilter_init(&extractor->prefilter);
  extractor->parser = links_new_parser(extractor);
  if (!extractor->parser || !extractor->prefiltering) {
    link_extractor_free(extractor);
    return NULL;
  }
  return extractor;
}

/* Feeds the parser `data` (already filtered), holding back the end for the next piece. */
static void links_feed_parser(struct link_extractor *extractor, const char *data, size_t length) {
  if (length == 0)
    return;
  if (extractor->held_length > 0)
    links_join_held(extractor, &data, &length);
  size_t hold = links_push_bytes_to_hold(data, length, LINKS_HELD_MAX);
  links_parse(extractor, data, length - hold);
  memcpy(extractor->held, data + length - hold, hold);
  extractor->held_length = hold;
}

void link_extractor_feed(struct link_extractor *extractor, const char *data, size_t length) {
  if (extractor->finished || length == 0)
    return;
  links_silence_thread();
  if (extractor->prefiltering)
    length = html_prefilter_feed(&extractor->prefilter, data, length, &data);
  links_feed_parser(extractor, data, length);
}

void link_extractor_finish(struct link_extractor *extractor) {
  if (extractor->finished)
    return;
  extractor->finished = true;
  links_silence_thread();
  if (extractor->prefiltering) {
    const char *rest;
    size_t length = html_prefilter_finish(&extractor->prefilter, &rest);
    links_feed_parser(extractor, rest, length);
  }
  links_parse(extractor, extractor->held, extractor->held_length);
  extractor->held_length = 0;
  links_parse_chunk(extractor, NULL, 0, 1);
  if (extractor->in_style)
    css_scanner_finish(extractor->style);
  extractor->in_style = false;
}

void link_extractor_free(struct link_extractor *extractor) {
  if (!extractor)
    return;
  if (extractor->parser)
    htmlFreeParserCtxt(extractor->parser);
  curl_free(extractor->base_url);
  curl_free(extractor->page_url);
  url_base_free(extractor->base);
  reference_set_free(&extractor->seen);
  reference_set_free(&extractor->requisites_seen);
  free(extractor->reference);
  free(extractor->joined);
  css_scanner_free(extractor->style);
  html_prefilter_free(&extractor->prefilter);
  free(extractor);
}

void link_extractor_find_requisites(struct link_extractor *extractor,
                                    requisite_found_fn on_requisite) {
  extractor->on_requisite = on_requisite;
  /* The parser works on its own copy of the SAX handler. */
  extractor->parser->sax->cdataBlock = links_on_raw_text;
}

void link_extractor_use_prefilter(struct link_extractor *extractor, bool on) {
  extractor->prefiltering = on;
}

bool links_content_type_is_html(const char *content_type) {
  static const char *const types[] = {"text/html", "application/xhtml+xml"};
  if (!content_type)
    return false;
  while (*content_type == ' ' || *content_type == '\t')
    content_type++;
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t length = strlen(types[i]);
    if (strncasecmp(content_type, types[i], length) != 0)
      continue;
    const char *rest = content_type + length;
    while (*rest == ' ' || *rest == '\t')
      rest++;
    return *rest == '\0' || *rest == ';';
  }
  return false;
}
