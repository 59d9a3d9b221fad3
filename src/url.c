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

char *url_host_lowercase(const char *url) {
  CURLU *parsed = curl_url();
  char *host = NULL;
  if (parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK)
    curl_url_get(parsed, CURLUPART_HOST, &host, 0);
  curl_url_cleanup(parsed);
  for (char *c = host; c && *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  return host;
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
  /* For url_base_resolve_simple(): the base in url_normalise() form (free with curl_free()),
   * NULL when it is not simple enough (see url_base_split()); the length of its
   * "scheme://host[:port]" and of the directory of its path (up to its last '/'). */
  char *normal;
  size_t origin_length, directory_end;
  /* Where url_base_resolve_simple() writes (grown as needed, free()). */
  char *resolved;
  size_t resolved_capacity;
};

/* The characters a reference or base may hold for url_base_resolve_simple(): RFC 3986's
 * unreserved and sub-delims and '/', which curl copies as they are. Not '%' (curl may encode
 * it again), ':' (a scheme), '@' (user info), spaces, controls, non-ASCII or anything else
 * curl encodes, rejects or reads in its own way. */
static bool url_is_simple_char(unsigned char c) {
  static const char others[] = "-._~!$&'()*+,;=/";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && memchr(others, c, sizeof others - 1) != NULL);
}

/* True when text[0..length) holds only simple characters, and '?' where `question_ok`. */
static bool url_all_simple(const char *text, size_t length, bool question_ok) {
  for (size_t i = 0; i < length; i++)
    if (!url_is_simple_char((unsigned char)text[i]) && !(question_ok && text[i] == '?'))
      return false;
  return true;
}

/* True when text[0..length) holds "//". */
static bool url_has_empty_segment(const char *text, size_t length) {
  for (size_t i = 1; i < length; i++)
    if (text[i] == '/' && text[i - 1] == '/')
      return true;
  return false;
}

/* True when path[0..length) is one "./" and any number of "../", the prefix curl takes off
 * a relative reference before appending the rest to the base's directory. */
static bool url_is_dot_prefix(const char *path, size_t length) {
  size_t at = length >= 2 && path[0] == '.' && path[1] == '/' ? 2 : 0;
  while (at + 3 <= length && path[at] == '.' && path[at + 1] == '.' && path[at + 2] == '/')
    at += 3;
  return at == length;
}

/* Splits base->normal for url_base_resolve_simple(), or drops it (NULL) when its path is
 * not made of simple characters, has an empty segment, or the URL has user info. */
static void url_base_split(struct url_base *base) {
  const char *normal = base->normal;
  const char *authority = normal ? strstr(normal, "://") : NULL;
  const char *path = authority ? strchr(authority + 3, '/') : NULL;
  if (path && !memchr(authority, '@', (size_t)(path - authority))) {
    size_t path_length = strcspn(path, "?");
    const char *last_slash = path;
    for (const char *c = path; c < path + path_length; c++)
      if (*c == '/')
        last_slash = c;
    if (url_all_simple(path, path_length, false) && !url_has_empty_segment(path, path_length)) {
      base->origin_length = (size_t)(path - normal);
      base->directory_end = (size_t)(last_slash + 1 - normal);
      return;
    }
  }
  curl_free(base->normal);
  base->normal = NULL;
}

struct url_base *url_base_new(const char *base) {
  struct url_base *result = calloc(1, sizeof *result);
  if (!result)
    return NULL;
  result->parsed = curl_url();
  if (!result->parsed ||
      curl_url_set(result->parsed, CURLUPART_URL, base, CURLU_URLENCODE) != CURLUE_OK) {
    url_base_free(result);
    return NULL;
  }
  CURLU *copy = curl_url_dup(result->parsed);
  result->normal = copy ? url_finish_normalising(copy) : NULL;
  url_base_split(result);
  return result;
}

/* RFC 3986 section 5.2.4 on path[0..length), which starts with '/': removes the "." and ".."
 * segments, in place (what is written never passes what is still to read). Returns the new
 * length. */
static size_t url_remove_dot_segments(char *path, size_t length) {
  size_t in = 0, out = 0;
  while (in < length) {
    /* Here path[in] == '/'. */
    size_t left = length - in;
    const char *p = path + in;
    bool dot = left >= 2 && p[1] == '.';
    bool dot_dot = dot && left >= 3 && p[2] == '.';
    if (dot && (left == 2 || p[2] == '/')) {
      /* "/./" or a final "/." becomes "/" */
      in += 1;
      if (left == 2)
        path[in] = '/';
      else
        in++;
      continue;
    }
    if (dot_dot && (left == 3 || p[3] == '/')) {
      /* "/../" or a final "/.." becomes "/", and the last segment written goes */
      in += 2;
      if (left == 3)
        path[in] = '/';
      else
        in++;
      while (out > 0 && path[out - 1] != '/')
        out--;
      if (out > 0)
        out--;
      continue;
    }
    size_t end = in + 1;
    while (end < length && path[end] != '/')
      end++;
    memmove(path + out, path + in, end - in);
    out += end - in;
    in = end;
  }
  return out;
}

const char *url_base_resolve_simple(struct url_base *base, const char *reference,
                                    size_t length) {
  if (!base->normal)
    return NULL;
  size_t path_length = 0;
  while (path_length < length && reference[path_length] != '?' && reference[path_length] != '#')
    path_length++;
  size_t query_end = path_length;
  while (query_end < length && reference[query_end] != '#')
    query_end++;
  const char *fragment = reference + query_end;
  size_t fragment_length = length - query_end;
  /* Left to curl, which does not read them as RFC 3986 does: an empty path without a query
   * ("", "#x"), an empty query ("x?"), empty segments ("a//b", and "//host", another host),
   * a query after only "./" and "../" ("./?x": curl drops the directory's final '/'). */
  if ((path_length == 0 && query_end == 0) || query_end - path_length == 1 ||
      (query_end > path_length && url_is_dot_prefix(reference, path_length)) ||
      url_has_empty_segment(reference, path_length) ||
      !url_all_simple(reference, path_length, false) ||
      !url_all_simple(reference + path_length, query_end - path_length, true) ||
      (fragment_length > 0 && !url_all_simple(fragment + 1, fragment_length - 1, true)))
    return NULL;
  /* At most the base (its whole path for "?query") and the reference: dot segments only
   * shorten it. */
  size_t needed = strlen(base->normal) + length + 1;
  if (needed > base->resolved_capacity) {
    char *grown = realloc(base->resolved, needed);
    if (!grown)
      return NULL;
    base->resolved = grown;
    base->resolved_capacity = needed;
  }
  char *out = base->resolved;
  memcpy(out, base->normal, base->origin_length);
  char *path = out + base->origin_length;
  size_t merged;
  if (path_length == 0) {
    /* "?query": the base's path with this query */
    merged = strcspn(base->normal + base->origin_length, "?");
    memcpy(path, base->normal + base->origin_length, merged);
  } else if (reference[0] == '/') {
    merged = path_length;
    memcpy(path, reference, path_length);
  } else {
    size_t directory = base->directory_end - base->origin_length;
    memcpy(path, base->normal + base->origin_length, directory);
    memcpy(path + directory, reference, path_length);
    merged = directory + path_length;
  }
  merged = url_remove_dot_segments(path, merged);
  size_t query_length = query_end - path_length;
  memcpy(path + merged, reference + path_length, query_length);
  path[merged + query_length] = '\0';
  return out;
}

size_t url_reference_key_length(const char *reference, size_t length) {
  const char *hash = memchr(reference, '#', length);
  if (!hash || hash == reference)
    return length;
  size_t fragment_length = length - (size_t)(hash - reference) - 1;
  return url_all_simple(hash + 1, fragment_length, true) ? (size_t)(hash - reference) : length;
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
  curl_free(base->normal);
  free(base->resolved);
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
