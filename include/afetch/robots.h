/* --robots: one host's robots.txt, as RFC 9309 reads it. */
#ifndef AFETCH_ROBOTS_H
#define AFETCH_ROBOTS_H

#include <stdbool.h>
#include <stddef.h>

struct robots;

/* The rules of a robots.txt body for the product token `agent` (e.g. "afetch"; anything after
 * the token, as in "afetch/1.0", is ignored). The groups whose user-agent value's product token
 * (its leading letters, '_' and '-') equals the agent, ignoring case, apply, all of them
 * combined; when none does, the "*" groups, combined; when there is none either, no rules
 * (everything allowed). A group is a run of user-agent lines and the lines up to the next
 * user-agent line that follows an allow/disallow line. Lines are "key: value", keys ignore
 * case, '#' starts a comment, CR, LF and CRLF end lines, a leading UTF-8 BOM is skipped and
 * unknown keys are ignored. Only the first 500 KiB (512000 bytes) are read; a line cut by that
 * limit is dropped. `text` need not be NUL-terminated. Returns a new object the caller frees
 * with robots_free(); NULL when out of memory. */
struct robots *robots_parse(const char *text, size_t length, const char *agent);

/* Rules that allow everything (robots.txt missing: 4xx) or nothing but /robots.txt (5xx,
 * unreachable). The caller frees them with robots_free(); NULL when out of memory. */
struct robots *robots_allow_all(void);
struct robots *robots_disallow_all(void);

/* True when the rules allow `path`: the URL's path and query ("/a/b?x=1"), as it appears in
 * the URL (percent-encoded; NULL or "" counts as "/"). Patterns match from the start of the
 * path; '*' matches any run of octets and a final '$' anchors at the end of the path. Before
 * comparing, pattern and path are both put in one canonical form (RFC 9309 2.2.2): a %XX of an
 * unreserved character is decoded ("%62" matches "b"), other %XX compare with either case of
 * hex digits, and non-ASCII octets match their %XX form ("/ツ" matches "/%E3%83%84"); "%2A" and
 * "%24" in a pattern match a literal '*' and '$'. The longest matching pattern wins, counted in
 * octets of that canonical form; Allow wins a tie; no match allows. /robots.txt itself is
 * always allowed. Matching costs at most O(pattern * path) per rule, whatever the wildcards. */
bool robots_allows(const struct robots *robots, const char *path);

/* As robots_allows(); when the path is disallowed, also writes the deciding rule
 * ("Disallow: /private/") into rule_text (rule_size bytes, may be 0). */
bool robots_check(const struct robots *robots, const char *path, char *rule_text, size_t rule_size);

/* The Crawl-delay of the applying groups in seconds (a non-standard but common extension): the
 * first valid value in file order ("10", "2.5"; anything else is ignored), capped at 60 s;
 * 0 when none. */
double robots_crawl_delay(const struct robots *robots);

/* Frees `robots` (NULL is fine). */
void robots_free(struct robots *robots);

#endif
