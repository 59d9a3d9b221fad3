/* --redis URL: redis://[[user]:password@]host[:port][/db], read with curl's URL parser. */
#ifndef AFETCH_REDIS_URL_H
#define AFETCH_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

struct redis_address {
  char *host;     /* owned; IPv6 without brackets */
  int port;       /* 6379 when not given */
  char *user;     /* owned; NULL: AUTH with the password only (Redis before 6, "default") */
  char *password; /* owned; NULL: no AUTH */
  int db;         /* SELECT db when not 0 */
};

/* Reads `url` into `address`. False, with a message (no "afetch: " prefix) in errbuf, when it
 * is no redis:// URL or its port or database number is out of range; nothing to free then. */
bool redis_url_parse(const char *url, struct redis_address *address, char *errbuf,
                     size_t errbuf_size);

void redis_address_free(struct redis_address *address);

#endif
