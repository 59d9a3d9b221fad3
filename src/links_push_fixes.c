/* --crawl: work-arounds for flaws of libxml2 2.9's HTML push parser, used by links.c: where
 * a piece may be cut, when a stalled look-ahead must start again, and reading on after the
 * document ended (</html>). Each one says which flaw and why; libxml2 2.11 and later need
 * none of the fix-ups that write parser fields, and get none. */
#include "afetch/links_push_fixes.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* True when `data` ends where a </script or </style end tag could be starting: "<", "</",
 * "</s" ... "</scrip", "</styl", in any case. */
static bool links_ends_in_end_tag_start(const char *data, size_t length) {
  static const char *const end_tags[] = {"</script", "</style"};
  size_t start = length;
  while (start > 0 && length - start < sizeof "</script" - 1 && data[start - 1] != '<')
    start--;
  if (start == 0 || data[start - 1] != '<')
    return false;
  size_t tail = length - start + 1;
  for (size_t i = 0; i < sizeof end_tags / sizeof end_tags[0]; i++)
    if (tail < strlen(end_tags[i]) && strncasecmp(data + start - 1, end_tags[i], tail) == 0)
      return true;
  return false;
}

/* libxml2 2.9 misreads the text of a script or style element (no markup inside, up to its
 * end tag) when a piece ends at some places in it:
 * - after "</" or in the end tag's name ("</scr" + "ipt>"): it takes the cut tag for text
 *   and goes on reading the markup after it, links included, as text up to the next end
 *   tag;
 * - just before "</" (another end tag, say "</div>" in a string): it ends the element at
 *   the end of the piece, reads the next piece's "</div>" as a real end tag and the rest
 *   of the script as markup.
 * So libxml2 gets each piece cut at a safe place: not after a possible start of an end tag,
 * not before a '<' that may begin "</" (NUL bytes, which libxml2 skips, do not count).
 * Returns how many bytes at the end of `data` to hold back for the next piece: 1 to
 * `hold_max`, or 0 when no place in reach is safe (a long run of '<'). */
size_t links_push_bytes_to_hold(const char *data, size_t length, size_t hold_max) {
  for (size_t hold = 1; hold <= length && hold <= hold_max; hold++) {
    size_t cut = length - hold;
    /* libxml2 skips NUL bytes there: "\0</" counts as "</". */
    size_t next = cut;
    while (next < length && data[next] == '\0')
      next++;
    bool before_end_tag =
        next == length || (data[next] == '<' && (next + 1 == length || data[next + 1] == '/'));
    if (!before_end_tag && !links_ends_in_end_tag_start(data, cut))
      return hold;
  }
  return 0;
}

/* libxml2 2.9 (seen in 2.9.14) remembers where a look-ahead for the end of a start tag
 * stopped (checkIndex) and whether it stopped inside a quoted attribute value, but not the
 * quote that opened the value: when a piece ends inside one, the next look-ahead never
 * finds the value's end, and nothing more is parsed until the body ends. Links would come
 * only at link_extractor_finish(), and the parser would hold the whole page. Clearing
 * checkIndex makes the look-ahead start again from the unparsed input (the start of the
 * tag), as a fresh one does: only time is lost. To keep that time linear in the page size,
 * unparsed input longer than LINKS_RESCAN_ALWAYS is rescanned only once a third as many new
 * bytes came (counted by the caller in *parsed_since_rescan). True when it cleared checkIndex: the parser should try again. libxml2 2.11
 * rewrote this look-ahead and what the fields mean: the fix-ups that write parser fields
 * are built for older versions only. */
#define LINKS_RESCAN_ALWAYS 4096

bool links_push_rescan_pending(htmlParserCtxtPtr parser, size_t *parsed_since_rescan) {
#if LIBXML_VERSION < 21100
  if (parser->instate == XML_PARSER_EOF || parser->checkIndex <= 0 || !parser->input ||
      !parser->input->cur || !parser->input->end)
    return false;
  size_t pending = (size_t)(parser->input->end - parser->input->cur);
  if (pending > LINKS_RESCAN_ALWAYS && *parsed_since_rescan * 3 < pending)
    return false;
  *parsed_since_rescan = 0;
  parser->checkIndex = 0;
  return true;
#else
  (void)parser;
  (void)parsed_since_rescan;
  return false;
#endif
}

/* libxml2 2.9's push parser ends the document when the last open element is closed
 * (</html>, or a stray end tag before any element) and then stops at the next tag or text:
 * the links after it, which browsers show (content after </html> is common), would be
 * lost. It also stops reading the piece at text after </html> that begins with a blank, and
 * a last piece (`terminate`) ends the document there, the rest unread. So the parser is put
 * back to reading content, where it opens <html> and <body> again by itself, and reads on.
 * Each round reads on (links_read_on()); a round that does not ends it. */
static bool links_stopped_early(htmlParserCtxtPtr parser) {
  if (parser->instate == XML_PARSER_EPILOG)
    return true;
  return parser->instate == XML_PARSER_EOF && !parser->disableSAX && parser->input &&
         (parser->errNo == XML_ERR_DOCUMENT_END ||
          (parser->input->cur && parser->input->cur < parser->input->end));
}

/* Where the parser is in its input. A round that changed none of it read nothing; cur alone
 * does not show it: libxml2 moves the unread bytes down when it shrinks its buffer (counting
 * them in `consumed`), and at the first byte that is not UTF-8 it converts the rest into a
 * new buffer, so after a round that read on, cur can point where it did before. */
struct links_read_mark {
  const xmlChar *cur, *base, *end;
  unsigned long consumed;
};

static struct links_read_mark links_read_mark(htmlParserCtxtPtr parser) {
  return (struct links_read_mark){parser->input->cur, parser->input->base, parser->input->end,
                                  parser->input->consumed};
}

static bool links_read_on(htmlParserCtxtPtr parser, struct links_read_mark before) {
  struct links_read_mark now = links_read_mark(parser);
  return now.cur != before.cur || now.base != before.base || now.end != before.end ||
         now.consumed != before.consumed;
}

void links_push_resume_after_document_end(htmlParserCtxtPtr parser, int terminate) {
#if LIBXML_VERSION < 21100
  while (links_stopped_early(parser)) {
    struct links_read_mark stopped_at = links_read_mark(parser);
    parser->instate = XML_PARSER_CONTENT;
    parser->errNo = XML_ERR_OK;
    parser->checkIndex = 0;
    htmlParseChunk(parser, NULL, 0, terminate);
    if (!links_read_on(parser, stopped_at))
      return;
  }
#else
  (void)parser;
  (void)terminate;
#endif
}
