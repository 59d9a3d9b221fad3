/* The result object of the contract, as JSON text. */
#include "afetch/result.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "afetch/json_writer.h"
#include "afetch/options.h"
#include "afetch/utf8.h"

/* Per error: the stable code string, and the message for errors that carry none. */
static const struct {
  const char *name;
  const char *text;
} result_errors[] = {
    [RESULT_OK] = {NULL, NULL},
    [RESULT_INVALID_URL] = {"invalid_url", "invalid URL"},
    [RESULT_INVALID_INPUT] = {"invalid_input", "not a usable JSON request line"},
    [RESULT_DNS] = {"dns", "could not resolve host"},
    [RESULT_CONNECT] = {"connect", "could not connect"},
    [RESULT_TLS] = {"tls", "TLS handshake or certificate verification failed"},
    [RESULT_TIMEOUT] = {"timeout", "timed out"},
    [RESULT_HTTP] = {"http", "HTTP error status"},
    [RESULT_TOO_MANY_REDIRECTS] = {"too_many_redirects", "too many redirects"},
    [RESULT_TOO_LARGE] = {"too_large", "body larger than the limit"},
    [RESULT_WRITE] = {"write", "could not write the body"},
    [RESULT_CANCELLED] = {"cancelled", "cancelled before it finished"},
    [RESULT_DEADLINE] = {"deadline", "the run's deadline passed"},
    [RESULT_ROBOTS] = {"robots", "robots.txt disallows it"},
    [RESULT_OTHER] = {"other", "transfer failed"},
};

const char *result_error_name(enum result_error error) {
  if ((size_t)error >= sizeof result_errors / sizeof *result_errors)
    return "other";
  return result_errors[error].name;
}

void result_enable_optional_keys(struct afetch_result *result,
                                 const struct afetch_options *options) {
  result->has_file = options->output_dir != NULL;
  result->has_sha256 = options->sha256;
  result->has_not_modified = options->state_path != NULL;
  result->has_body = options->body;
  result->has_crawl = options->crawl;
  result->has_link_urls = options->crawl && options->links;
  result->has_requisite = options->crawl && options->page_requisites;
  result->fields = options->result_fields;
}

bool result_is_ok(const struct afetch_result *result) {
  return result->error == RESULT_OK && result->status >= 100 && result->status <= 399;
}

static void result_write_error(const struct afetch_result *result, struct json_writer *writer) {
  json_writer_key(writer, "error");
  if (result->error == RESULT_OK) {
    json_writer_null(writer);
    return;
  }
  const char *message = result->error_message;
  if (!message || !*message)
    message = result_errors[result->error].text;
  json_writer_object_begin(writer);
  json_writer_key(writer, "code");
  json_writer_string(writer, result_error_name(result->error));
  json_writer_key(writer, "message");
  json_writer_string(writer, message);
  json_writer_key(writer, "curl_code");
  if (result->curl_code >= 0)
    json_writer_int(writer, result->curl_code);
  else
    json_writer_null(writer);
  json_writer_object_end(writer);
}

static void result_write_times(const struct afetch_result *result, struct json_writer *writer) {
  json_writer_key(writer, "time");
  json_writer_object_begin(writer);
  json_writer_key(writer, "dns");
  json_writer_seconds(writer, result->time_us.dns);
  json_writer_key(writer, "connect");
  json_writer_seconds(writer, result->time_us.connect);
  json_writer_key(writer, "tls");
  json_writer_seconds(writer, result->time_us.tls);
  json_writer_key(writer, "ttfb");
  json_writer_seconds(writer, result->time_us.ttfb);
  json_writer_key(writer, "total");
  json_writer_seconds(writer, result->time_us.total);
  json_writer_object_end(writer);
}

/* True when the bytes are well-formed UTF-8 without NUL: they can be a JSON string as is. */
static bool result_is_text(const char *bytes, size_t length) {
  const unsigned char *s = (const unsigned char *)bytes, *end = s + length;
  while (s < end) {
    if (*s == 0)
      return false;
    size_t sequence = *s < 0x80 ? 1 : utf8_sequence_length(s);
    if (sequence == 0)
      return false;
    s += sequence;
  }
  return true;
}

/* --body: the body as text, or base64 (OpenSSL's encoder) when it is not UTF-8. */
static void result_write_body(const struct afetch_result *result, struct json_writer *writer) {
  const char *encoding = NULL;
  char *encoded = NULL;
  json_writer_key(writer, "body");
  if (!result->body) {
    json_writer_null(writer);
  } else if (result_is_text(result->body, result->body_length)) {
    json_writer_string(writer, result->body);
    encoding = "utf-8";
  } else if (result->body_length <= INT_MAX / 2 &&
             (encoded = malloc(4 * ((result->body_length + 2) / 3) + 1))) {
    EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)result->body,
                    (int)result->body_length);
    json_writer_string(writer, encoded);
    encoding = "base64";
    free(encoded);
  } else {
    writer->failed = true;
  }
  json_writer_key(writer, "body_encoding");
  json_writer_string(writer, encoding);
}

/* "started_at": RFC 3339 in UTC, with milliseconds ("2024-05-01T12:00:00.123Z"). */
static void result_write_started_at(const struct afetch_result *result,
                                    struct json_writer *writer) {
  json_writer_key(writer, "started_at");
  struct tm utc;
  time_t seconds = (time_t)(result->started_at_ms / 1000);
  char text[64];
  if (result->started_at_ms <= 0 || !gmtime_r(&seconds, &utc) ||
      !strftime(text, sizeof text - 5, "%Y-%m-%dT%H:%M:%S", &utc)) {
    json_writer_null(writer);
    return;
  }
  size_t length = strlen(text);
  snprintf(text + length, sizeof text - length, ".%03dZ", (int)(result->started_at_ms % 1000));
  json_writer_string(writer, text);
}

/* The keys of --include-headers and --result-fields, each when asked for. */
static void result_write_fields(const struct afetch_result *result, struct json_writer *writer) {
  if (result->fields & RESULT_FIELD_METHOD) {
    json_writer_key(writer, "method");
    json_writer_string(writer, result->method);
  }
  if (result->fields & RESULT_FIELD_STARTED_AT)
    result_write_started_at(result, writer);
  if (result->fields & RESULT_FIELD_LOCATION) {
    json_writer_key(writer, "location");
    json_writer_string(writer, result->location);
  }
  if (result->fields & RESULT_FIELD_REDIRECTS_CHAIN) {
    json_writer_key(writer, "redirects_chain");
    json_writer_raw(writer, result->chain_json ? result->chain_json : "[]");
  }
  if (result->fields & RESULT_FIELD_HEADERS) {
    json_writer_key(writer, "headers");
    json_writer_raw(writer, result->headers_json ? result->headers_json : "{}");
    if (result->headers_truncated) {
      json_writer_key(writer, "headers_truncated");
      json_writer_bool(writer, true);
    }
  }
}

static void result_write_optional(const struct afetch_result *result, struct json_writer *writer) {
  if (result->id_json) {
    json_writer_key(writer, "id");
    json_writer_raw(writer, result->id_json);
  }
  if (result->has_file) {
    json_writer_key(writer, "file");
    json_writer_string(writer, result->file);
  }
  if (result->has_sha256) {
    json_writer_key(writer, "sha256");
    json_writer_string(writer, result->sha256);
  }
  if (result->resumed_from) {
    json_writer_key(writer, "resumed_from");
    json_writer_uint(writer, result->resumed_from);
  }
  if (result->has_not_modified) {
    json_writer_key(writer, "not_modified");
    json_writer_bool(writer, result->not_modified);
  }
  if (result->has_crawl) {
    json_writer_key(writer, "depth");
    json_writer_uint(writer, result->depth);
    json_writer_key(writer, "parent");
    json_writer_string(writer, result->parent);
    json_writer_key(writer, "links");
    json_writer_uint(writer, result->links);
  }
  if (result->has_requisite) {
    json_writer_key(writer, "requisite");
    json_writer_string(writer, result->requisite);
  }
  if (result->has_link_urls) {
    json_writer_key(writer, "link_urls");
    json_writer_array_begin(writer);
    for (size_t i = 0; i < result->links; i++)
      json_writer_string(writer, result->link_urls[i]);
    json_writer_array_end(writer);
  }
  result_write_fields(result, writer);
  if (result->has_body)
    result_write_body(result, writer);
}

void result_write_json(const struct afetch_result *result, struct json_writer *writer) {
  json_writer_object_begin(writer);
  json_writer_key(writer, "index");
  json_writer_uint(writer, result->index);
  json_writer_key(writer, "url");
  json_writer_string(writer, result->url);
  json_writer_key(writer, "final_url");
  json_writer_string(writer, result->final_url);
  json_writer_key(writer, "ok");
  json_writer_bool(writer, result_is_ok(result));
  json_writer_key(writer, "status");
  if (result->status > 0)
    json_writer_int(writer, result->status);
  else
    json_writer_null(writer);
  result_write_error(result, writer);
  json_writer_key(writer, "http_version");
  json_writer_string(writer, result->http_version);
  json_writer_key(writer, "remote_ip");
  json_writer_string(writer, result->remote_ip);
  json_writer_key(writer, "redirects");
  json_writer_int(writer, result->redirects);
  json_writer_key(writer, "attempts");
  json_writer_uint(writer, result->attempts);
  if (result->has_retry_after) {
    json_writer_key(writer, "retry_after");
    json_writer_int(writer, result->retry_after_s);
  }
  if (result->host_paused_ms > 0) {
    json_writer_key(writer, "host_paused_ms");
    json_writer_int(writer, result->host_paused_ms);
  }
  json_writer_key(writer, "content_type");
  json_writer_string(writer, result->content_type);
  json_writer_key(writer, "size");
  json_writer_uint(writer, result->size);
  if (result->has_wire_size) {
    json_writer_key(writer, "wire_size");
    json_writer_uint(writer, result->wire_size);
  }
  result_write_times(result, writer);
  result_write_optional(result, writer);
  json_writer_object_end(writer);
}

enum result_error result_error_of_curl(long curl_code) {
  switch (curl_code) {
  case CURLE_OK:
    return RESULT_OK;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return RESULT_INVALID_URL;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return RESULT_DNS;
  case CURLE_COULDNT_CONNECT:
    return RESULT_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return RESULT_TIMEOUT;
  case CURLE_TOO_MANY_REDIRECTS:
    return RESULT_TOO_MANY_REDIRECTS;
  case CURLE_FILESIZE_EXCEEDED:
    return RESULT_TOO_LARGE;
  case CURLE_WRITE_ERROR:
    return RESULT_WRITE;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return RESULT_TLS;
  default:
    return RESULT_OTHER;
  }
}

const char *result_http_version_name(long curl_http_version) {
  switch (curl_http_version) {
  case CURL_HTTP_VERSION_1_0:
    return "1.0";
  case CURL_HTTP_VERSION_1_1:
    return "1.1";
  case CURL_HTTP_VERSION_2_0:
    return "2";
  case CURL_HTTP_VERSION_3:
    return "3";
  default:
    return NULL;
  }
}
