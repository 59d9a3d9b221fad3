/* URL facts from curl's URL API (CURLU): no URL parsing of our own. */
#include "afetch/url.h"

#include <ctype.h>
#include <stdio.h>

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
