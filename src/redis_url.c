/* --redis URL, through curl's URL parser (CURLU): scheme, credentials, host, port, database. */
#include "afetch/redis_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define REDIS_DEFAULT_PORT 6379
#define REDIS_MAX_DB 1000000 /* Redis' "databases" setting is an int; far more than any use */

/* A copy of a part of the URL (NULL when it has none), or false when out of memory. */
static bool redis_url_part(CURLU *parts, CURLUPart which, char **copy) {
  char *value = NULL;
  *copy = NULL;
  if (curl_url_get(parts, which, &value, CURLU_URLDECODE) != CURLUE_OK || !value)
    return true;
  *copy = value[0] ? strdup(value) : NULL;
  bool copied = !value[0] || *copy;
  curl_free(value);
  return copied;
}

/* The path: empty or "/" (database 0) or "/N". */
static bool redis_url_db(CURLU *parts, int *db) {
  char *path = NULL;
  *db = 0;
  if (curl_url_get(parts, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    return true;
  bool usable = true;
  if (path[0] == '/' && path[1]) {
    char *end;
    errno = 0;
    long number = strtol(path + 1, &end, 10);
    usable = errno == 0 && *end == '\0' && end != path + 1 && number >= 0 &&
             number <= REDIS_MAX_DB && path[1] != '+' && path[1] != '-';
    *db = usable ? (int)number : 0;
  }
  curl_free(path);
  return usable;
}

/* The host, without the brackets of an IPv6 address (hiredis wants it bare). */
static bool redis_url_host(CURLU *parts, char **host) {
  if (!redis_url_part(parts, CURLUPART_HOST, host) || !*host)
    return false;
  size_t length = strlen(*host);
  if (length >= 2 && (*host)[0] == '[' && (*host)[length - 1] == ']') {
    memmove(*host, *host + 1, length - 2);
    (*host)[length - 2] = '\0';
  }
  return true;
}

static const char *redis_url_read(CURLU *parts, const char *url, struct redis_address *address) {
  if (curl_url_set(parts, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return "is no URL";
  char *scheme = NULL;
  bool is_redis = curl_url_get(parts, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                  strcmp(scheme, "redis") == 0;
  curl_free(scheme);
  if (!is_redis)
    return "must start with redis://";
  if (!redis_url_host(parts, &address->host))
    return "has no host";
  char *port = NULL;
  address->port = REDIS_DEFAULT_PORT;
  if (curl_url_get(parts, CURLUPART_PORT, &port, 0) == CURLUE_OK) {
    address->port = atoi(port); /* curl checked it: 1 to 65535 digits only */
    curl_free(port);
  }
  if (!redis_url_db(parts, &address->db))
    return "has a database that is no number from 0 to 1000000 (redis://host:port/DB)";
  if (!redis_url_part(parts, CURLUPART_USER, &address->user) ||
      !redis_url_part(parts, CURLUPART_PASSWORD, &address->password))
    return "cannot be read: out of memory";
  char *query = NULL;
  bool has_query = curl_url_get(parts, CURLUPART_QUERY, &query, 0) == CURLUE_OK;
  curl_free(query);
  return has_query ? "has a query, which afetch does not read" : NULL;
}

/* `url` for a message: whatever comes before the last '@' of its authority (the password,
 * as "redis://:PASSWORD@host" puts it) shown as "***", so that a typo does not print a secret
 * to a terminal or a log. */
static void redis_url_masked(const char *url, char *shown, size_t shown_size) {
  const char *authority = strstr(url, "://");
  authority = authority ? authority + 3 : url;
  size_t authority_length = strcspn(authority, "/?#");
  const char *at = NULL;
  for (const char *c = authority; c < authority + authority_length; c++)
    if (*c == '@')
      at = c;
  if (!at) {
    snprintf(shown, shown_size, "%s", url);
    return;
  }
  snprintf(shown, shown_size, "%.*s***%s", (int)(authority - url), url, at);
}

bool redis_url_parse(const char *url, struct redis_address *address, char *errbuf,
                     size_t errbuf_size) {
  *address = (struct redis_address){0};
  CURLU *parts = curl_url();
  const char *problem =
      parts ? redis_url_read(parts, url, address) : "cannot be read: out of memory";
  curl_url_cleanup(parts);
  if (!problem)
    return true;
  char shown[512];
  redis_url_masked(url, shown, sizeof shown);
  snprintf(errbuf, errbuf_size, "--redis wants redis://[:password@]host[:port][/db], and '%s' %s",
           shown, problem);
  redis_address_free(address);
  return false;
}

void redis_address_free(struct redis_address *address) {
  free(address->host);
  free(address->user);
  free(address->password);
  *address = (struct redis_address){0};
}
