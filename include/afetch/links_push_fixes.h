/* --crawl: work-arounds for flaws of libxml2 2.9's HTML push parser (links_push_fixes.c). */
#ifndef AFETCH_LINKS_PUSH_FIXES_H
#define AFETCH_LINKS_PUSH_FIXES_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/HTMLparser.h>

/* How many bytes at the end of `data` to hold back for the next piece, so that libxml2 gets
 * each piece cut where it reads script and style text right: 1 to `hold_max`, or 0 when no
 * place in reach is safe. */
size_t links_push_bytes_to_hold(const char *data, size_t length, size_t hold_max);

/* After htmlParseChunk(): true when a stalled look-ahead was made to start again (the caller
 * parses on with no new bytes). *parsed_since_rescan counts the bytes fed since the last
 * rescan; it is reset here. */
bool links_push_rescan_pending(htmlParserCtxtPtr parser, size_t *parsed_since_rescan);

/* After htmlParseChunk(): puts a parser that ended the document early (</html>) back to
 * reading, as long as it reads on. */
void links_push_resume_after_document_end(htmlParserCtxtPtr parser, int terminate);

#endif
