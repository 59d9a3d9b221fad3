/* The result object of the contract, built with cJSON. */
#include "afetch/result.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

#include "afetch/utf8.h"

static const char *const result_error_names[] = {
    [RESULT_OK] = NULL,
    [RESULT_INVALID_URL] = "invalid_url",
    [RESULT_DNS] = "dns",
    [RESULT_CONNECT] = "connect",
    [RESULT_TLS] = "tls",
    [RESULT_TIMEOUT] = "timeout",
    [RESULT_HTTP] = "http",
    [RESULT_TOO_MANY_REDIRECTS] = "too_many_redirects",
    [RESULT_TOO_LARGE] = "too_large",
    [RESULT_WRITE] = "write",
    [RESULT_CANCELLED] = "cancelled",
    [RESULT_DEADLINE] = "deadline",
    [RESULT_OTHER] = "other",
};

/* Fallback texts for errors that carry no message of their own. */
static const char *const result_error_texts[] = {
    [RESULT_OK] = NULL,
    [RESULT_INVALID_URL] = "invalid URL",
    [RESULT_DNS] = "could not resolve host",
    [RESULT_CONNECT] = "could not connect",
    [RESULT_TLS] = "TLS handshake or certificate verification failed",
    [RESULT_TIMEOUT] = "timed out",
    [RESULT_HTTP] = "HTTP error status",
    [RESULT_TOO_MANY_REDIRECTS] = "too many redirects",
    [RESULT_TOO_LARGE] = "body larger than the limit",
    [RESULT_WRITE] = "could not write the body",
    [RESULT_CANCELLED] = "cancelled before it finished",
    [RESULT_DEADLINE] = "the run's deadline passed",
    [RESULT_OTHER] = "transfer failed",
};

const char *result_error_name(enum result_error error) {
  if ((size_t)error >= sizeof result_error_names / sizeof *result_error_names)
    return "other";
  return result_error_names[error];
}

bool result_is_ok(const struct afetch_result *result) {
  return result->error == RESULT_OK && result->status >= 100 && result->status <= 399;
}

/* Adds text as a JSON string (null for NULL), repairing invalid UTF-8 first. */
static bool result_add_text(cJSON *object, const char *key, const char *text) {
  if (!text)
    return cJSON_AddNullToObject(object, key) != NULL;
  if (utf8_is_valid(text))
    return cJSON_AddStringToObject(object, key, text) != NULL;
  char *repaired = utf8_repair(text);
  if (!repaired)
    return false;
  bool added = cJSON_AddStringToObject(object, key, repaired) != NULL;
  free(repaired);
  return added;
}

static bool result_add_error(cJSON *object, const struct afetch_result *result) {
  if (result->error == RESULT_OK)
    return cJSON_AddNullToObject(object, "error") != NULL;
  cJSON *error = cJSON_AddObjectToObject(object, "error");
  if (!error)
    return false;
  const char *message = result->error_message;
  if (!message || !*message)
    message = result_error_texts[result->error];
  bool added = cJSON_AddStringToObject(error, "code", result_error_name(result->error)) &&
               result_add_text(error, "message", message);
  if (result->curl_code >= 0)
    added = added && cJSON_AddNumberToObject(error, "curl_code", (double)result->curl_code);
  else
    added = added && cJSON_AddNullToObject(error, "curl_code");
  return added;
}

static bool result_add_times(cJSON *object, const struct afetch_result *result) {
  cJSON *time = cJSON_AddObjectToObject(object, "time");
  return time && cJSON_AddNumberToObject(time, "dns", result->time.dns) &&
         cJSON_AddNumberToObject(time, "connect", result->time.connect) &&
         cJSON_AddNumberToObject(time, "tls", result->time.tls) &&
         cJSON_AddNumberToObject(time, "ttfb", result->time.ttfb) &&
         cJSON_AddNumberToObject(time, "total", result->time.total);
}

struct cJSON *result_to_json(const struct afetch_result *result) {
  cJSON *object = cJSON_CreateObject();
  if (!object)
    return NULL;
  bool built =
      cJSON_AddNumberToObject(object, "index", (double)result->index) &&
      result_add_text(object, "url", result->url) &&
      result_add_text(object, "final_url", result->final_url) &&
      cJSON_AddBoolToObject(object, "ok", result_is_ok(result)) &&
      (result->status > 0 ? cJSON_AddNumberToObject(object, "status", (double)result->status)
                          : cJSON_AddNullToObject(object, "status")) &&
      result_add_error(object, result) &&
      result_add_text(object, "http_version", result->http_version) &&
      result_add_text(object, "remote_ip", result->remote_ip) &&
      cJSON_AddNumberToObject(object, "redirects", (double)result->redirects) &&
      cJSON_AddNumberToObject(object, "attempts", (double)result->attempts) &&
      result_add_text(object, "content_type", result->content_type) &&
      cJSON_AddNumberToObject(object, "size", (double)result->size) &&
      result_add_times(object, result);
  if (!built) {
    cJSON_Delete(object);
    return NULL;
  }
  return object;
}
