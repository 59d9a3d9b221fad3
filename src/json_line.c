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
#include "afetch/job.h"
#include "afetch/options.h"
#include "afetch/source.h"

#define JSON_LINE_MAX_TIMEOUT_S 2000000.0 /* as -t: milliseconds stay inside a long */

bool json_line_is_object(const struct source_line *line) {
  return line->length > 0 && line->text[0] == '{';
}

/* A job for `url` (may be "": no usable URL) at the line's index. */
static struct job *json_line_new_job(const struct source_line *line, const char *url) {
  struct source_line url_line = {.index = line->index, .text = url, .length = strlen(url)};
  return job_new(&url_line);
}

/* Marks the job as invalid input; false when out of memory. */
static bool json_line_reject(struct job *job, const char *format, const char *field) {
  char message[160];
  snprintf(message, sizeof message, format, field);
  return (job->input_error = strdup(message)) != NULL;
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

/* "headers": the -H list without the names the object sets, then the object's. False with
 * input_error set (or out of memory). */
static bool json_line_headers(struct job *job, const cJSON *object,
                              const struct afetch_options *options) {
  if (!cJSON_IsObject(object))
    return json_line_reject(job, "\"%s\" must be an object of strings", "headers");
  struct curl_slist *list = NULL;
  for (const struct curl_slist *header = options->headers; header; header = header->next) {
    if (json_line_overrides(object, header->data))
      continue;
    struct curl_slist *grown = curl_slist_append(list, header->data);
    if (!grown)
      goto out_of_memory;
    list = grown;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, object) {
    /* Names are HTTP tokens and values stay on their line: a CR or LF would let a line write
     * headers (or a request) of its own into the request. */
    if (!http_is_token(item->string) || !cJSON_IsString(item) ||
        strpbrk(item->valuestring, "\r\n")) {
      curl_slist_free_all(list);
      return json_line_reject(
          job, "header \"%s\" must be a token naming a string without line breaks", item->string);
    }
    size_t size = strlen(item->string) + strlen(item->valuestring) + 3;
    char *line = malloc(size);
    if (!line)
      goto out_of_memory;
    /* An empty value is written "Name;": curl's way to send the header with no value. */
    snprintf(line, size, item->valuestring[0] ? "%s: %s" : "%s;", item->string, item->valuestring);
    struct curl_slist *grown = curl_slist_append(list, line);
    free(line);
    if (!grown)
      goto out_of_memory;
    list = grown;
  }
  job->headers = list;
  return true;
out_of_memory:
  curl_slist_free_all(list);
  return false;
}

/* A string member copied into *target. False with input_error set when it is not a string. */
static bool json_line_string(struct job *job, const cJSON *item, const char *name, char **target) {
  if (!cJSON_IsString(item))
    return json_line_reject(job, "\"%s\" must be a string", name);
  return (*target = strdup(item->valuestring)) != NULL;
}

/* The settings besides "url" and "id". False when out of memory; a bad field sets
 * input_error and returns true. */
static bool json_line_settings(struct job *job, const cJSON *root,
                               const struct afetch_options *options) {
  const cJSON *item;
  if ((item = cJSON_GetObjectItemCaseSensitive(root, "method"))) {
    if (!cJSON_IsString(item) || !http_is_token(item->valuestring))
      return json_line_reject(job, "\"%s\" must be an HTTP method name", "method");
    if (!(job->method = strdup(item->valuestring)))
      return false;
  }
  if ((item = cJSON_GetObjectItemCaseSensitive(root, "headers")) &&
      !json_line_headers(job, item, options))
    return job->input_error != NULL;
  if ((item = cJSON_GetObjectItemCaseSensitive(root, "body"))) {
    if (!json_line_string(job, item, "body", &job->body))
      return job->input_error != NULL;
    job->body_length = strlen(job->body);
  }
  if ((item = cJSON_GetObjectItemCaseSensitive(root, "output")) &&
      !json_line_string(job, item, "output", &job->output_name))
    return job->input_error != NULL;
  if ((item = cJSON_GetObjectItemCaseSensitive(root, "timeout"))) {
    double seconds = cJSON_IsNumber(item) ? item->valuedouble : -1;
    if (!(seconds > 0 && seconds <= JSON_LINE_MAX_TIMEOUT_S))
      return json_line_reject(job, "\"%s\" must be a number of seconds greater than 0", "timeout");
    job->timeout_ms = (long)ceil(seconds * 1000.0);
  }
  return true;
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

struct job *json_line_job(const struct source_line *line, const struct afetch_options *options) {
  cJSON *root = json_line_parse(line);
  const cJSON *url = root ? cJSON_GetObjectItemCaseSensitive(root, "url") : NULL;
  struct job *job = json_line_new_job(line, cJSON_IsString(url) ? url->valuestring : "");
  if (!job) {
    cJSON_Delete(root);
    return NULL;
  }
  bool ok = true;
  const cJSON *id = root ? cJSON_GetObjectItemCaseSensitive(root, "id") : NULL;
  if (id && !(job->id_json = cJSON_PrintUnformatted(id)))
    ok = false;
  if (!root)
    ok = json_line_reject(job, "%s",
                          line->too_long ? "line too long for a JSON object" : "not valid JSON");
  else if (!cJSON_IsObject(root))
    ok = json_line_reject(job, "%s", "not a JSON object");
  else if (!url)
    ok = json_line_reject(job, "no \"%s\" member", "url");
  else if (!cJSON_IsString(url) || !url->valuestring[0])
    ok = json_line_reject(job, "\"%s\" must be a non-empty string", "url");
  else
    ok = json_line_settings(job, root, options);
  cJSON_Delete(root);
  if (!ok) {
    job_free(job);
    return NULL;
  }
  return job;
}
