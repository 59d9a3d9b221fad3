/* -p/--page-requisites: the URL references of CSS (a stylesheet's body, a <style> block, a
 * style="" attribute), found while the text streams in: the value of every url(...) token
 * (quoted or not) and the string of every @import rule (@import "a.css"; @import url(a.css)
 * is a url() token). Comments are skipped, and so is url( text inside a string. CSS escapes
 * in the value are decoded (\" \) \2F ...); a value cut by a newline inside a string, or an
 * unquoted one with a quote, '(' or space inside, is dropped, as CSS parsers drop bad-url
 * and bad-string tokens. Values are reported as written, not resolved: the caller resolves
 * them against the stylesheet's URL (or, for HTML, the page's base). Values longer than
 * CSS_LINKS_REFERENCE_MAX bytes (large data: URLs) are dropped.
 *
 * No allocation but the scanner itself; a scanner belongs to one text and one thread. */
#ifndef AFETCH_CSS_LINKS_H
#define AFETCH_CSS_LINKS_H

#include <stdbool.h>
#include <stddef.h>

#define CSS_LINKS_REFERENCE_MAX 8192

/* One reference as written in the CSS, escapes decoded, NUL-terminated, borrowed for the
 * call. */
typedef void (*css_reference_fn)(void *arg, const char *reference);

struct css_scanner;

/* NULL when out of memory. Free with css_scanner_free(). */
struct css_scanner *css_scanner_new(css_reference_fn on_reference, void *arg);

/* Scans the next piece of the text (cut anywhere). */
void css_scanner_feed(struct css_scanner *scanner, const char *data, size_t length);

/* Ends the text: an unquoted url( left open by the end is reported, as CSS closes it there. */
void css_scanner_finish(struct css_scanner *scanner);

/* Starts a new text with the same callback (another <style> block). */
void css_scanner_reset(struct css_scanner *scanner);

void css_scanner_free(struct css_scanner *scanner);

/* The whole of a short text at once (a style="" attribute), without allocating. */
void css_links_scan(const char *text, size_t length, css_reference_fn on_reference, void *arg);

/* True when a Content-Type names a stylesheet: text/css, with or without parameters. */
bool css_links_content_type_is_css(const char *content_type);

#endif
