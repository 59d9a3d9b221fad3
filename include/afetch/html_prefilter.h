/* --crawl: a streaming filter in front of libxml2's HTML push parser (links.c) that removes
 * bytes the parser would read but link extraction never uses, so that the parser, still the
 * only HTML parser, has less to read.
 *
 * What it removes, and why the parser reports the same start tags with the same link
 * attributes afterwards (checked against the plain parser by tests/differential and
 * tests/fuzz/fuzz_prefilter.c):
 * - Text between tags: a run is replaced by one that has the same effect on libxml2 2.9's
 *   state: nothing (only blanks before '<': no implied element), "#" or " #" (text: the implied
 *   <p>, <body> libxml2 opens at the first text; the leading blank keeps libxml2's handling
 *   of text after </html>; '#' starts no name, even after "</"). A run is kept as it came
 *   from where libxml2 treats it specially: "&#", a control byte, 1000 blanks in a row.
 * - Attributes link_tags.c never reads (every attribute but href, rel, src, srcset, poster,
 *   data, style), except on <meta>. The tag is read as htmlParseStartTag() reads it (names
 *   cut at 100 bytes, bogus attributes skipped to a blank, unquoted values up to a blank or
 *   '>') and rewritten as "<name" + each kept attribute, byte for byte + its end (">" or
 *   " />").
 * - Text runs altogether once <body> is open and the last byte out is '>': libxml2 2.9
 *   reads text only for htmlCheckParagraph(), which then does nothing (the current element
 *   is <body> or one inside it, never none, html or head: head is never pushed above body,
 *   nor html at all). One run is kept ("#") every PREFILTER_TEXT_KEPT_GAP bytes out:
 *   libxml2 2.9 frees the input it read only when it reads text (SHRINK in
 *   htmlParseCharDataInternal), or comments; without any it would hold the whole page.
 * - Once <body> is open, an element of html_prefilter_drops_empty() without attributes
 *   read and with nothing between its tags ("<span></span>", nested too) when the last byte
 *   out is '>': libxml2 2.9 pushes it (it closes no element but head, never open above
 *   body, and implies none once body was), reports it and pops it, its state unchanged.
 * - The rest of a fragment-only href of <a>, <area> and <link> ("#top" becomes "#"): links.c
 *   reports no reference that begins with '#' (the page itself), so "#" reports the same
 *   nothing. <base href="#x"> is kept whole: it becomes the base.
 * Comments, end tags, DOCTYPE, and the text of script and style elements pass unchanged
 * (their ends found as libxml2 finds them). Where the filter does not model libxml2 exactly
 * it passes the rest of the page through unchanged: a NUL byte, bytes that are not UTF-8 (or
 * code points libxml2 rejects), a processing instruction "<?", "<!" other than a comment or
 * DOCTYPE, a DOCTYPE with quotes, an end tag of script or style with a longer name.
 *
 * The output does not depend on where the input is cut: what cannot be decided yet (a tag,
 * the class of a text run, the bytes after '<') is carried to the next piece; a tag longer
 * than HTML_PREFILTER_TAG_MAX passes unchanged, so the carry is bounded. */
#ifndef AFETCH_HTML_PREFILTER_H
#define AFETCH_HTML_PREFILTER_H

#include <stdbool.h>
#include <stddef.h>

/* A start tag longer than this passes unchanged. */
#define HTML_PREFILTER_TAG_MAX 4096
/* Kept attributes remembered per tag; a tag with more passes unchanged. */
#define HTML_PREFILTER_KEPT_MAX 16
/* Empty inline elements held, nested, until their end tag shows they are empty. */
#define HTML_PREFILTER_HELD_MAX 8

struct html_prefilter {
  int mode;  /* enum prefilter_mode (html_prefilter.c) */
  int after; /* the mode a re-dispatched byte continues in */
  /* The text run being read: its class, blank count, whether it began with a blank. */
  int text_class;
  size_t text_blanks;
  bool text_starts_blank;
  /* UTF-8 being checked: continuation bytes still expected, the allowed range of the next
   * one, and the bytes of an incomplete character in text (held until it is complete). */
  int utf8_needed;
  unsigned char utf8_low, utf8_high;
  unsigned char utf8_held[4];
  size_t utf8_held_length;
  int utf8_nonchar; /* how much of EF BF BE/BF (U+FFFE, U+FFFF) matched */
  /* "<!" and the bytes after it, until a comment or DOCTYPE can be told. */
  char bang[9];
  size_t bang_length;
  /* Comment: how many bytes after "<!--", and the last three. */
  size_t comment_length;
  char comment_tail[3];
  /* The start tag being read, as it came (malloc()ed, HTML_PREFILTER_TAG_MAX + 1). */
  char *tag;
  size_t tag_length;
  bool tag_unchanged; /* longer than the cap, or too many kept attributes: passes as is */
  size_t name_end;    /* where "<name" ends in tag */
  char name[101];     /* the tag's name in lower case, as libxml2 reads it */
  size_t name_length;
  bool tag_is_meta;    /* every attribute of <meta> is kept */
  char attribute[101]; /* the attribute name being read, lower case */
  size_t attribute_length;
  size_t attribute_start;
  bool attribute_kept;
  char quote;
  size_t kept_start[HTML_PREFILTER_KEPT_MAX], kept_end[HTML_PREFILTER_KEPT_MAX];
  /* Where a kept value written as "#" begins (its quote, if any), else 0. */
  size_t kept_fragment[HTML_PREFILTER_KEPT_MAX];
  size_t kept_count;
  bool tag_has_link_href; /* a, area, link: an href of "#..." is written "#" */
  size_t value_start;     /* where the value of the attribute being read begins, else 0 */
  /* script or style (set with the tag's name, else NULL): its name, and how much of
   * "</name" matched in its text. */
  const char *raw_name;
  size_t raw_matched;
  /* libxml2 has <body> open (on its element stack) at this point of the output: then text
   * changes nothing in it (see prefilter_text_flush()). Set by a <body> start tag, cleared
   * by what may pop it: an end tag of body, html or head, <body/>, a start tag of html or
   * head, any of the three passed unchanged. */
  bool body_open;
  /* The name of the end tag being read byte by byte, lower case (up to 5 bytes, enough to
   * tell body, html and head), and whether it ended. */
  char end_name[5];
  size_t end_name_length;
  bool end_name_done;
  char last_out;     /* the last byte output by an earlier feed, '\0' before any */
  size_t out_before;  /* bytes output by earlier feeds */
  size_t text_kept_at; /* where a text run in an open body was last kept (see below) */
  /* Start tags of html_prefilter_drops_empty() elements, without attributes, held back (in
   * the case they came, innermost last): if "</name>" follows, the pair goes; anything else
   * output first writes them out. */
  char held_names[HTML_PREFILTER_HELD_MAX][8];
  size_t held_lengths[HTML_PREFILTER_HELD_MAX];
  size_t held_count;
  /* After "</" with tags held: the bytes read so far, while they spell the innermost's name. */
  char end_held[8];
  size_t end_held_length;
  /* The output of one feed (malloc()ed, grown as needed). */
  char *out;
  size_t out_length, out_capacity;
  bool out_failed; /* out of memory: the rest passes unchanged */
};

/* Initialises `filter`. False when out of memory. */
bool html_prefilter_init(struct html_prefilter *filter);

void html_prefilter_free(struct html_prefilter *filter);

/* Filters the next piece of the page; the bytes for the parser are at *out (borrowed until
 * the next call), their number the return value. Out of memory, the rest of the page passes
 * unchanged, still in order. */
size_t html_prefilter_feed(struct html_prefilter *filter, const char *data, size_t length,
                           const char **out);

/* Ends the page: what was carried, in *out as for html_prefilter_feed(). */
size_t html_prefilter_finish(struct html_prefilter *filter, const char **out);

/* True for the elements whose empty pairs the filter drops in an open body (span, code, em,
 * strong, b, i): their start tag closes only head in libxml2 2.9 (htmlStartClose), and none is
 * empty, raw text, or treated apart by htmlParseStartTag() or htmlCheckImplied(). `name` in
 * lower case. */
bool html_prefilter_drops_empty(const char *name);

/* True when the filter has given up and passes everything through unchanged. */
bool html_prefilter_passes_through(const struct html_prefilter *filter);

#endif
