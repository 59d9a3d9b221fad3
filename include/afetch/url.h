/* What afetch needs to know about a URL beyond fetching it, asked of curl's URL API. */
#ifndef AFETCH_URL_H
#define AFETCH_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Writes "scheme://host:port" (lower case, default port filled in) for the --per-host limit.
 * False when curl cannot parse the URL or the key does not fit: such a URL has no host
 * limit (it fails as invalid_url at once anyway). */
bool url_host_key(const char *url, char *key, size_t key_size);

#endif
