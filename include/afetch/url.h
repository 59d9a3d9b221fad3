/* What afetch needs to know about a URL beyond fetching it, asked of curl's URL API. */
#ifndef AFETCH_URL_H
#define AFETCH_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Writes "scheme://host:port" (lower case, default port filled in) for the --per-host limit.
 * False when curl cannot parse the URL or the key does not fit: such a URL has no host
 * limit (it fails as invalid_url at once anyway). */
bool url_host_key(const char *url, char *key, size_t key_size);

/* The URL's host name as curl's parser gives it, ASCII letters in lower case (free with
 * curl_free()), or NULL when curl cannot parse the URL. */
char *url_host_lowercase(const char *url);

/* The crawler's form of a URL, for dedupe: resolved against `base` (NULL: `url` must be
 * absolute), scheme and host in lower case, the fragment dropped, a default port dropped.
 * Returns a new string (free with curl_free()), or NULL when curl's URL parser rejects it or
 * the scheme is not http or https (mailto:, javascript:, data: ...). */
char *url_normalise(const char *base, const char *url);

/* A base URL parsed once, to resolve many references against (a page's links). */
struct url_base;

/* NULL when curl's URL parser rejects `base` or memory runs out. */
struct url_base *url_base_new(const char *base);

/* url_normalise(base, reference), without parsing the base again: always by curl. */
char *url_base_resolve(const struct url_base *base, const char *reference);

/* The same result as url_base_resolve(base, reference), without curl, for the common
 * relative references ("page.html", "../dir/", "/path?q=1#frag"): reference[0..length) made
 * of RFC 3986's unreserved and sub-delims characters, '/', '?' and one '#', on a base whose
 * path is made of those. The base is copied and the reference merged and rid of its dot
 * segments (RFC 3986 section 5.2). Returns a string owned by `base`, valid until the next
 * call; NULL when the reference is not that simple (then ask url_base_resolve()) or memory
 * runs out. tests/unit/test_url.c and tests/fuzz/fuzz_resolve.c check it against curl (the
 * libcurl linked in: a new version is checked again by the same tests). It writes into
 * `base`: one base belongs to one thread (each page's extractor has its own). */
const char *url_base_resolve_simple(struct url_base *base, const char *reference, size_t length);

/* How much of reference[0..length) decides what it resolves to: all of it, or the part
 * before a fragment made of the characters url_base_resolve_simple() takes (curl drops
 * such a fragment without looking at it; a fragment with other bytes may make curl reject
 * the whole reference). For deduplicating references before resolving them. */
size_t url_reference_key_length(const char *reference, size_t length);

void url_base_free(struct url_base *base);

/* The path and query of a URL ("/a/b?x=1") as written in it, for robots.txt rules. A new
 * string (free()), or NULL when curl's URL parser rejects the URL. */
char *url_path_and_query(const char *url);

#endif
