/* JSON-lines input: one request object per line. */
#include "afetch/json_line.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "afetch/http_token.h"
#include "afetch/request.h"
#include "afetch/json_writer.h"
#include "afetch/options.h"
#include "afetch/source.h"

#define JSON_LINE_MAX_TIMEOUT_S 2000000.0 /* as -t: milliseconds stay inside a long */

bool json_line_is_object(const struct source_line *line) {
  return line->length > 0 && line->text[0] == '{';
}

/* A request for `url` (may be "": no usable URL) at the line's index. */
static struct request *json_line_new_request(const struct source_line *line, const char *url) {
  struct source_line url_line = {.index = line->index, .text = url, .length = strlen(url)};
  return request_new(&url_line);
}

/* What parsing a line (or one of its fields) came to. A field parser that fails stops the
 * line: only JSON_LINE_USABLE lets the next field run, so a type error can never be taken
 * for success (as a bool meaning both "rejected" and "out of memory" once was). */
enum json_line_verdict {
  JSON_LINE_USABLE,        /* the field (or line) is a usable request part */
  JSON_LINE_REJECTED,      /* request->input_error says why */
  JSON_LINE_OUT_OF_MEMORY, /* nothing to report: the caller gives up */
};

/* Marks the request as invalid input with a message naming `field`. */
static enum json_line_verdict json_line_reject(struct request *request, const char *format,
                                               const char *field) {
  char message[160];
  snprintf(message, sizeof message, format, field);
  return (request->input_error = strdup(message)) ? JSON_LINE_REJECTED : JSON_LINE_OUT_OF_MEMORY;
}

/* Length of a header line's name (up to ':'), for comparing names. */
static size_t json_line_header_name_length(const char *header) {
  const char *colon = strchr(header, ':');
  return colon ? (size_t)(colon - header) : strlen(header);
}

/* True when `object` has a member named like the header line's name (case-insensitive). */
static bool json_line_overrides(const cJSON *object, const char *header) {
  size_t length = json_line_header_name_length(header);
  const cJSON *item;
  cJSON_ArrayForEach(item, object) {
    if (strlen(item->string) == length && strncasecmp(item->string, header, length) == 0)
      return true;
  }
  return false;
}

/* Appends a copy of `text` to *list. */
static bool json_line_append_header(struct curl_slist **list, const char *text) {
  struct curl_slist *grown = curl_slist_append(*list, text);
  if (grown)
    *list = grown;
  return grown != NULL;
}

/* The object's own headers after the -H list without the names the object sets. When one is
 * unusable, *bad names it. */
static enum json_line_verdict json_line_header_list(const cJSON *object,
                                                    const struct afetch_options *options,
                                                    struct curl_slist **list, const char **bad) {
  for (const struct curl_slist *header = options->headers; header; header = header->next) {
    if (!json_line_overrides(object, header->data) && !json_line_append_header(list, header->data))
      return JSON_LINE_OUT_OF_MEMORY;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, object) {
    /* Names are HTTP tokens and values stay on their line: a CR or LF would let a line write
     * headers (or a request) of its own into the request. */
    if (!http_is_token(item->string) || !cJSON_IsString(item) ||
        strpbrk(item->valuestring, "\r\n")) {
      *bad = item->string;
      return JSON_LINE_REJECTED;
    }
    size_t size = strlen(item->string) + strlen(item->valuestring) + 3;
    char *line = malloc(size);
    if (!line)
      return JSON_LINE_OUT_OF_MEMORY;
    /* An empty value is written "Name;": curl's way to send the header with no value. */
    snprintf(line, size, item->valuestring[0] ? "%s: %s" : "%s;", item->string, item->valuestring);
    bool appended = json_line_append_header(list, line);
    free(line);
    if (!appended)
      return JSON_LINE_OUT_OF_MEMORY;
  }
  return JSON_LINE_USABLE;
}

/* "headers": an object of strings, merged over the -H list. */
static enum json_line_verdict json_line_headers(struct request *request, const cJSON *item,
                                                const struct afetch_options *options) {
  if (!cJSON_IsObject(item))
    return json_line_reject(request, "\"%s\" must be an object of strings", "headers");
  struct curl_slist *list = NULL;
  const char *bad = NULL;
  enum json_line_verdict verdict = json_line_header_list(item, options, &list, &bad);
  if (verdict == JSON_LINE_USABLE) {
    request->headers = list;
    return verdict;
  }
  curl_slist_free_all(list);
  if (verdict == JSON_LINE_OUT_OF_MEMORY)
    return verdict;
  return json_line_reject(request,
                          "header \"%s\" must be a token naming a string without line breaks", bad);
}

/* A string member copied into *target. */
static enum json_line_verdict json_line_string(struct request *request, const cJSON *item,
                                               const char *name, char **target) {
  if (!cJSON_IsString(item))
    return json_line_reject(request, "\"%s\" must be a string", name);
  return (*target = strdup(item->valuestring)) ? JSON_LINE_USABLE : JSON_LINE_OUT_OF_MEMORY;
}

static enum json_line_verdict json_line_method(struct request *request, const cJSON *item,
                                               const struct afetch_options *options) {
  (void)options;
  if (!cJSON_IsString(item) || !http_is_token(item->valuestring))
    return json_line_reject(request, "\"%s\" must be an HTTP method name", "method");
  return (request->method = strdup(item->valuestring)) ? JSON_LINE_USABLE : JSON_LINE_OUT_OF_MEMORY;
}

static enum json_line_verdict json_line_body(struct request *request, const cJSON *item,
                                             const struct afetch_options *options) {
  (void)options;
  enum json_line_verdict verdict = json_line_string(request, item, "body", &request->body);
  if (verdict == JSON_LINE_USABLE)
    request->body_length = strlen(request->body);
  return verdict;
}

static enum json_line_verdict json_line_output(struct request *request, const cJSON *item,
                                               const struct afetch_options *options) {
  (void)options;
  return json_line_string(request, item, "output", &request->output_name);
}

static enum json_line_verdict json_line_timeout(struct request *request, const cJSON *item,
                                                const struct afetch_options *options) {
  (void)options;
  double seconds = cJSON_IsNumber(item) ? item->valuedouble : -1;
  if (!(seconds > 0 && seconds <= JSON_LINE_MAX_TIMEOUT_S))
    return json_line_reject(request, "\"%s\" must be a number of seconds greater than 0",
                            "timeout");
  request->timeout_ms = (long)ceil(seconds * 1000.0);
  return JSON_LINE_USABLE;
}

/* "url" is read before the request exists (it names the request) and "id" is echoed whatever its
 * type; both are checked here only for being given twice. */
static enum json_line_verdict json_line_taken_earlier(struct request *request, const cJSON *item,
                                                      const struct afetch_options *options) {
  (void)request, (void)item, (void)options;
  return JSON_LINE_USABLE;
}

/* The members a line may set, each parsed by its own function. Unknown members are ignored,
 * so lines written for a later afetch still run. */
static const struct json_line_field {
  const char *name;
  enum json_line_verdict (*parse)(struct request *request, const cJSON *item,
                                  const struct afetch_options *options);
} json_line_fields[] = {
    {"url", json_line_taken_earlier}, {"id", json_line_taken_earlier}, {"method", json_line_method},
    {"headers", json_line_headers},   {"body", json_line_body},        {"output", json_line_output},
    {"timeout", json_line_timeout},
};
enum { JSON_LINE_FIELD_COUNT = sizeof json_line_fields / sizeof json_line_fields[0] };

static const struct json_line_field *json_line_field_named(const char *name) {
  for (size_t i = 0; i < JSON_LINE_FIELD_COUNT; i++)
    if (strcmp(json_line_fields[i].name, name) == 0)
      return &json_line_fields[i];
  return NULL;
}

/* Every known member in the line's order: the first bad one is the one reported. A member
 * given twice is refused (which one counts would depend on the parser). */
static enum json_line_verdict json_line_settings(struct request *request, const cJSON *root,
                                                 const struct afetch_options *options) {
  bool seen[JSON_LINE_FIELD_COUNT] = {false};
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    const struct json_line_field *field = json_line_field_named(item->string);
    if (!field)
      continue;
    size_t slot = (size_t)(field - json_line_fields);
    if (seen[slot])
      return json_line_reject(request, "\"%s\" is given more than once", field->name);
    seen[slot] = true;
    enum json_line_verdict verdict = field->parse(request, item, options);
    if (verdict != JSON_LINE_USABLE)
      return verdict;
  }
  return JSON_LINE_USABLE;
}

/* The line as exactly one JSON value (the line is trimmed: nothing may follow it). */
static cJSON *json_line_parse(const struct source_line *line) {
  if (line->too_long)
    return NULL;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(line->text, line->length, &end, false);
  if (root && end != line->text + line->length) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

/* Checks the parsed line and fills the request's settings. */
static enum json_line_verdict json_line_fill(struct request *request,
                                             const struct source_line *line, const cJSON *root,
                                             const cJSON *url,
                                             const struct afetch_options *options) {
  const cJSON *id = root ? cJSON_GetObjectItemCaseSensitive(root, "id") : NULL;
  /* The id is echoed as JSON text: whatever bytes its strings hold, the text is UTF-8. */
  if (id && !(request->id_json = json_print_valid_utf8(id)))
    return JSON_LINE_OUT_OF_MEMORY;
  if (!root)
    return json_line_reject(request, "%s",
                            line->too_long ? "line too long for a JSON object" : "not valid JSON");
  if (!cJSON_IsObject(root))
    return json_line_reject(request, "%s", "not a JSON object");
  if (!url)
    return json_line_reject(request, "no \"%s\" member", "url");
  if (!cJSON_IsString(url) || !url->valuestring[0])
    return json_line_reject(request, "\"%s\" must be a non-empty string", "url");
  return json_line_settings(request, root, options);
}

struct request *json_line_request(const struct source_line *line,
                                  const struct afetch_options *options) {
  cJSON *root = json_line_parse(line);
  const cJSON *url = root ? cJSON_GetObjectItemCaseSensitive(root, "url") : NULL;
  struct request *request =
      json_line_new_request(line, cJSON_IsString(url) ? url->valuestring : "");
  if (request && json_line_fill(request, line, root, url, options) == JSON_LINE_OUT_OF_MEMORY) {
    request_free(request);
    request = NULL;
  }
  cJSON_Delete(root);
  return request;
}
