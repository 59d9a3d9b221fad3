/* --crawl: the links of an HTML page, found while its body streams in. libxml2's HTML push
 * parser (htmlCreatePushParserCtxt) with SAX callbacks reads each chunk as it arrives: no
 * whole-page buffer, no tree, tolerant of broken markup, silent (nothing on stderr).
 *
 * Links are a[href], link[href], area[href], iframe[src] and frame[src], in document order;
 * a, link and area with the rel token "nofollow" are skipped. A reference reported once is
 * not reported again from the same page and base (nor with another fragment of printable
 * ASCII); different references to one URL each are ("a", "./a"): the caller dedupes URLs.
 * Inside script, style and comments nothing is a link. The first <base href>, resolved against
 * the page URL, is the base of the links after it. Each value is trimmed
 * of surrounding whitespace (tabs and newlines inside are dropped, as URL parsers do), then
 * resolved and normalised by url_normalise(); values naming the page itself ("" or
 * "#fragment"), other schemes than http(s) and unparsable ones are skipped.
 *
 * The body is read as UTF-8, or from its first byte that is not UTF-8 on as ISO-8859-1; a
 * declared charset is ignored, so no byte can stop the parse. Links written with raw
 * non-ASCII characters in pages in other legacy charsets (Shift_JIS ...) come out wrong.
 *
 * No global set-up: the first link_extractor_new() initialises libxml2, once, safely from
 * any thread. An extractor belongs to one page and is used by one thread at a time. */
#ifndef AFETCH_LINKS_H
#define AFETCH_LINKS_H

#include <stdbool.h>
#include <stddef.h>

struct link_extractor;

/* One link: an absolute http(s) URL in url_normalise() form, borrowed for the call. Called
 * from inside link_extractor_feed() and link_extractor_finish(). */
typedef void (*link_found_fn)(void *arg, const char *url);

/* An extractor for one page whose final URL is `page_url` (copied; when it is not an http(s)
 * URL, only absolute links are reported). NULL when out of memory. Free it with
 * link_extractor_free(). */
struct link_extractor *link_extractor_new(const char *page_url, link_found_fn on_link, void *arg);

/* Parses the next piece of the body (any bytes, any length, cut anywhere); the links in it
 * are reported at once, apart from a tag cut by the piece's end or ending in its last few
 * bytes, which come with the next piece or link_extractor_finish(). Ignored after
 * link_extractor_finish(). */
void link_extractor_feed(struct link_extractor *extractor, const char *data, size_t length);

/* -p: one page requisite, what the page needs to be shown: an absolute http(s) URL in
 * url_normalise() form, borrowed for the call, and `via`, a static string naming what asked
 * for it: the element ("img", "script", "link", "video", "audio", "source", "track",
 * "object", "embed") or "style" (a url() or @import in a <style> block or a style=""
 * attribute). */
typedef void (*requisite_found_fn)(void *arg, const char *url, const char *via);

/* Makes the extractor also report the page's requisites to `on_requisite` (with the arg
 * given to link_extractor_new()), before the first link_extractor_feed(): img[src],
 * img[srcset], script[src], link[href] whose rel holds "stylesheet" or "icon",
 * video[src], video[poster], audio[src], source[src], source[srcset], track[src],
 * object[data], embed[src], and the url() and @import references (css_links.h) of <style>
 * blocks and style="" attributes of any element. They are resolved as links are, in
 * document order, duplicates included; a link[href] that is a requisite is reported as a
 * link too. */
void link_extractor_find_requisites(struct link_extractor *extractor,
                                    requisite_found_fn on_requisite);

/* Whether the parser reads the body through html_prefilter.h's filter (the default) or as
 * it came (for differential tests), set before the first link_extractor_feed(). */
void link_extractor_use_prefilter(struct link_extractor *extractor, bool on);

/* Ends the body: the parser flushes what it held back (a tag cut by the end counts). */
void link_extractor_finish(struct link_extractor *extractor);

/* Frees the extractor, finished or not (a failed transfer need not finish it). NULL is
 * ignored. */
void link_extractor_free(struct link_extractor *extractor);

/* True when a Content-Type names a page to parse: text/html or application/xhtml+xml, in any
 * case, with or without parameters ("text/html; charset=utf-8"). False for NULL. */
bool links_content_type_is_html(const char *content_type);

/* An attribute value (or CSS url()) as a reference, the way HTML takes it: surrounding
 * whitespace trimmed, tabs and newlines inside dropped. `out` has room for strlen(value) + 1
 * bytes; returns the length written (NUL-terminated). */
size_t links_clean_reference_into(const char *value, char *out);

#endif
