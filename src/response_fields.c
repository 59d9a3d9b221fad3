/* The opt-in result keys read from a transfer (see response_fields.h). */
#include "afetch/response_fields.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "afetch/result.h"

void response_fields_init(struct response_fields *fields, unsigned wanted) {
  *fields = (struct response_fields){.wanted = wanted};
  json_writer_init(&fields->chain);
  json_writer_init(&fields->headers);
}

void response_fields_start(struct response_fields *fields) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  fields->started_at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  fields->hop_pending = false;
  fields->chain_url_bytes = 0;
  if (fields->wanted & RESULT_FIELD_REDIRECTS_CHAIN) {
    json_writer_reset(&fields->chain);
    json_writer_array_begin(&fields->chain);
  }
}

static bool response_fields_is_blank(const char *line, size_t length) {
  return (length == 2 && line[0] == '\r' && line[1] == '\n') || (length == 1 && line[0] == '\n');
}

/* curl's own record of the hop, asked while its response's headers end: the URL it requested
 * (curl moves it on only when it follows the Location) and the status it got. A URL that no
 * longer fits in RESPONSE_FIELDS_MAX_BYTES is left out, with the hops after it. */
static void response_fields_add_hop(struct response_fields *fields, CURL *easy) {
  long status = 0;
  char *url = NULL;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
  if (status < 200 || !url) /* a 1xx: the response proper follows */
    return;
  size_t url_bytes = strlen(url);
  if (fields->chain_url_bytes + url_bytes > RESPONSE_FIELDS_MAX_BYTES) {
    fields->chain_url_bytes = RESPONSE_FIELDS_MAX_BYTES;
    return;
  }
  fields->chain_url_bytes += url_bytes;
  json_writer_object_begin(&fields->chain);
  json_writer_key(&fields->chain, "url");
  json_writer_string(&fields->chain, url);
  json_writer_key(&fields->chain, "status");
  json_writer_int(&fields->chain, status);
  json_writer_object_end(&fields->chain);
}

void response_fields_on_header(struct response_fields *fields, CURL *easy, const char *line,
                               size_t length) {
  if (!(fields->wanted & RESULT_FIELD_REDIRECTS_CHAIN))
    return;
  /* A status line starts a response ("HTTP/2 200" too: curl writes one for HTTP/2 and 3); no
   * header or trailer name can contain a '/'. Proxy CONNECT responses are kept from the
   * callback (CURLOPT_SUPPRESS_CONNECT_HEADERS, easy_options.c). */
  if (length >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    fields->hop_pending = true;
  } else if (fields->hop_pending && response_fields_is_blank(line, length)) {
    fields->hop_pending = false;
    response_fields_add_hop(fields, easy);
  }
}

/* The name in lower case (as curl's %{header_json}), in `buffer` (grown as needed). */
static const char *response_fields_lower(const char *name, char **buffer, size_t *size) {
  size_t length = strlen(name);
  if (length + 1 > *size) {
    char *grown = realloc(*buffer, length + 1);
    if (!grown)
      return NULL;
    *buffer = grown;
    *size = length + 1;
  }
  for (size_t i = 0; i <= length; i++)
    (*buffer)[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + ('a' - 'A')) : name[i];
  return *buffer;
}

/* The bytes of the name and of all its values in the last response. */
static size_t response_fields_header_bytes(CURL *easy, const struct curl_header *first) {
  size_t bytes = strlen(first->name), amount = first->amount;
  struct curl_header *same = NULL;
  for (size_t i = 0; i < amount; i++)
    if (curl_easy_header(easy, first->name, i, CURLH_HEADER, -1, &same) == CURLHE_OK)
      bytes += strlen(same->value);
  return bytes;
}

/* Writes one name with all its values, in the order they came. */
static void response_fields_write_header(struct json_writer *writer, CURL *easy, const char *key,
                                         const char *name, size_t amount) {
  json_writer_key(writer, key);
  json_writer_array_begin(writer);
  struct curl_header *same = NULL;
  for (size_t i = 0; i < amount; i++)
    if (curl_easy_header(easy, name, i, CURLH_HEADER, -1, &same) == CURLHE_OK)
      json_writer_string(writer, same->value);
  json_writer_array_end(writer);
}

/* "headers": the last response's headers (not 1xx, CONNECT or trailers), each name once, in
 * lower case, with its values in an array: curl's %{header_json}. Names are kept in the order
 * they first came until RESPONSE_FIELDS_MAX_BYTES; the rest is left out, and said. */
static void response_fields_read_headers(struct response_fields *fields, CURL *easy,
                                         struct afetch_result *result) {
  struct json_writer *writer = &fields->headers;
  json_writer_reset(writer);
  json_writer_object_begin(writer);
  char *lower = NULL;
  size_t lower_size = 0, kept = 0;
  struct curl_header *header = NULL, previous;
  while ((header = curl_easy_nextheader(easy, CURLH_HEADER, -1, header))) {
    /* curl_easy_header() may reuse the struct it points to: keep its place in the list. */
    previous = *header;
    header = &previous;
    if (previous.index != 0) /* written with the first of its name */
      continue;
    size_t bytes = response_fields_header_bytes(easy, &previous);
    if (kept + bytes > RESPONSE_FIELDS_MAX_BYTES) {
      result->headers_truncated = true;
      break;
    }
    kept += bytes;
    const char *key = response_fields_lower(previous.name, &lower, &lower_size);
    if (!key) {
      writer->failed = true;
      break;
    }
    response_fields_write_header(writer, easy, key, previous.name, previous.amount);
  }
  free(lower);
  json_writer_object_end(writer);
  result->headers_json = writer->failed ? NULL : writer->data;
}

void response_fields_read(struct response_fields *fields, CURL *easy, bool responded,
                          struct afetch_result *result) {
  result->started_at_ms = fields->started_at_ms;
  if (!responded)
    return;
  char *text = NULL;
  if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_METHOD, &text) == CURLE_OK && text)
    result->method = text;
  if ((fields->wanted & RESULT_FIELD_LOCATION) &&
      curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &text) == CURLE_OK && text)
    result->location = text;
  if (fields->wanted & RESULT_FIELD_REDIRECTS_CHAIN) {
    json_writer_array_end(&fields->chain);
    result->chain_json = fields->chain.failed ? NULL : fields->chain.data;
  }
  if (fields->wanted & RESULT_FIELD_HEADERS)
    response_fields_read_headers(fields, easy, result);
}

void response_fields_free(struct response_fields *fields) {
  json_writer_free(&fields->chain);
  json_writer_free(&fields->headers);
}
