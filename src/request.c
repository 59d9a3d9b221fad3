/* A request: the URL line and its settings, immutable once its first attempt starts. */
#include "afetch/request.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "afetch/source.h"

/* True when text starts with "scheme://" (RFC 3986 scheme characters), so that a "://" later
 * in a query string does not count. */
static bool request_line_names_scheme(const char *text) {
  if (!isalpha((unsigned char)text[0]))
    return false;
  size_t i = 1;
  while (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '-' || text[i] == '.')
    i++;
  return strncmp(text + i, "://", 3) == 0;
}

struct request *request_new(const struct source_line *line) {
  /* A line without a scheme gets "http://", as curl's tool does (libcurl alone would guess
   * one from the host name). */
  static const char default_scheme[] = "http://";
  size_t prefix = request_line_names_scheme(line->text) ? 0 : sizeof default_scheme - 1;
  struct request *request = malloc(sizeof *request + prefix + line->length + 1);
  if (!request)
    return NULL;
  *request = (struct request){.index = line->index,
                              .length = prefix + line->length,
                              .scheme_added = prefix,
                              .too_long = line->too_long};
  memcpy(request->url, default_scheme, prefix);
  memcpy(request->url + prefix, line->text, line->length);
  request->url[prefix + line->length] = '\0';
  return request;
}

struct request *request_new_url(uint64_t index, const char *url) {
  struct source_line line = {.index = index, .text = url, .length = strlen(url)};
  return request_new(&line);
}

void request_free(struct request *request) {
  if (!request)
    return;
  free(request->id_json);
  free(request->method);
  curl_slist_free_all(request->headers);
  free(request->body);
  free(request->output_name);
  free(request->input_error);
  free(request->parent);
  free(request->scope_key);
  free(request->output_path);
  free(request->if_none_match);
  free(request->if_modified_since);
  free(request);
}

const char *request_given_url(const struct request *request) {
  return request->url + request->scheme_added;
}

void request_stopped_result(const struct request *request, enum result_error why, unsigned attempts,
                            struct afetch_result *result) {
  *result = (struct afetch_result){.index = request->index,
                                   .url = request->url,
                                   .error = why,
                                   .curl_code = -1,
                                   .attempts = attempts,
                                   .depth = request->depth,
                                   .id_json = request->id_json,
                                   .parent = request->parent,
                                   .requisite = request->requisite_via};
  if (why == RESULT_CANCELLED)
    result->error_message = "cancelled: afetch was interrupted";
}
