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

char *url_normalise(const char *base, const char *url) {
  CURLU *parsed = curl_url();
  if (!parsed)
    return NULL;
  char *scheme = NULL, *host = NULL, *result = NULL;
  /* With a base set first, curl_url_set() resolves a relative reference against it
   * (RFC 3986 section 5), dot segments included. */
  bool ok = (!base || curl_url_set(parsed, CURLUPART_URL, base, 0) == CURLUE_OK) &&
            curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
            curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK;
  if (ok) {
    for (char *c = host; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    ok = curl_url_set(parsed, CURLUPART_HOST, host, 0) == CURLUE_OK &&
         curl_url_set(parsed, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
         curl_url_get(parsed, CURLUPART_URL, &result, CURLU_NO_DEFAULT_PORT) == CURLUE_OK;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(parsed);
  return ok ? result : NULL;
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
