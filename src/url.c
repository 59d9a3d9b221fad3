/* URL facts from curl's URL API (CURLU): no URL parsing of our own. */
#include "afetch/url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

bool url_host_key(const char *url, char *key, size_t key_size) {
  CURLU *parsed = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  bool ok = parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) {
    int written = snprintf(key, key_size, "%s://%s:%s", scheme, host, port);
    ok = written > 0 && (size_t)written < key_size;
  }
  /* Host names compare without case (curl keeps them as written). */
  for (char *c = key; ok && *c; c++)
    *c = (char)tolower((unsigned char)*c);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(parsed);
  return ok;
}

/* The normalised URL of a parsed one: http(s) only, host in lower case, no fragment, no
 * default port. Takes `parsed` (cleaned up here); NULL when it does not qualify. */
static char *url_finish_normalising(CURLU *parsed) {
  char *scheme = NULL, *host = NULL, *result = NULL;
  bool ok = curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
            curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK;
  if (ok) {
    bool upper = false;
    for (char *c = host; *c; c++)
      if (isupper((unsigned char)*c)) {
        *c = (char)tolower((unsigned char)*c);
        upper = true;
      }
    ok = (!upper || curl_url_set(parsed, CURLUPART_HOST, host, 0) == CURLUE_OK) &&
         curl_url_set(parsed, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
         curl_url_get(parsed, CURLUPART_URL, &result, CURLU_NO_DEFAULT_PORT) == CURLUE_OK;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(parsed);
  return ok ? result : NULL;
}

char *url_normalise(const char *base, const char *url) {
  CURLU *parsed = curl_url();
  if (!parsed)
    return NULL;
  /* With a base set first, curl_url_set() resolves a relative reference against it
   * (RFC 3986 section 5), dot segments included. */
  /* CURLU_URLENCODE: curl encodes spaces and non-ASCII of a relative reference but refuses or
   * keeps them in an absolute one; encoding both gives one form per page for the seen-set. */
  if ((base && curl_url_set(parsed, CURLUPART_URL, base, CURLU_URLENCODE) != CURLUE_OK) ||
      curl_url_set(parsed, CURLUPART_URL, url, CURLU_URLENCODE) != CURLUE_OK) {
    curl_url_cleanup(parsed);
    return NULL;
  }
  return url_finish_normalising(parsed);
}

struct url_base {
  CURLU *parsed;
};

struct url_base *url_base_new(const char *base) {
  struct url_base *result = malloc(sizeof *result);
  if (!result)
    return NULL;
  result->parsed = curl_url();
  if (!result->parsed ||
      curl_url_set(result->parsed, CURLUPART_URL, base, CURLU_URLENCODE) != CURLUE_OK) {
    url_base_free(result);
    return NULL;
  }
  return result;
}

char *url_base_resolve(const struct url_base *base, const char *reference) {
  /* A copy of the parsed base costs far less than parsing it again for every link. */
  CURLU *parsed = curl_url_dup(base->parsed);
  if (!parsed)
    return NULL;
  if (curl_url_set(parsed, CURLUPART_URL, reference, CURLU_URLENCODE) != CURLUE_OK) {
    curl_url_cleanup(parsed);
    return NULL;
  }
  return url_finish_normalising(parsed);
}

void url_base_free(struct url_base *base) {
  if (!base)
    return;
  curl_url_cleanup(base->parsed);
  free(base);
}

char *url_path_and_query(const char *url) {
  CURLU *parsed = curl_url();
  char *path = NULL, *query = NULL, *result = NULL;
  if (parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(parsed, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    curl_url_get(parsed, CURLUPART_QUERY, &query, 0); /* absent: CURLUE_NO_QUERY */
    size_t size = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
    if ((result = malloc(size)))
      snprintf(result, size, "%s%s%s", path, query ? "?" : "", query ? query : "");
  }
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(parsed);
  return result;
}
