/* result.h: the contract's result object, and "ok". */
#include "unit_helpers.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "afetch/json_writer.h"
#include "afetch/result.h"

static struct afetch_result sample_ok(void) {
  struct afetch_result r;
  memset(&r, 0, sizeof r);
  r.index = 7;
  r.url = "http://127.0.0.1:8080/a";
  r.final_url = "http://127.0.0.1:8080/b";
  r.status = 200;
  r.error = RESULT_OK;
  r.error_message = NULL;
  r.curl_code = -1;
  r.http_version = "1.1";
  r.remote_ip = "127.0.0.1";
  r.redirects = 1;
  r.attempts = 1;
  r.content_type = "text/html; charset=utf-8";
  r.size = 5120;
  r.time_us.dns = 100;
  r.time_us.connect = 200;
  r.time_us.tls = 0;
  r.time_us.ttfb = 51300;
  r.time_us.total = 51800;
  return r;
}

/* The writer's text must be valid UTF-8, one line, and parse (with cJSON) as one object. */
static cJSON *to_json(const struct afetch_result *r) {
  struct json_writer writer;
  json_writer_init(&writer);
  result_write_json(r, &writer);
  assert_false(writer.failed);
  assert_int_equal(strlen(writer.data), writer.length);
  if (!helper_utf8_valid(writer.data, writer.length))
    fail_msg("result JSON is not valid UTF-8: %s", writer.data);
  assert_null(strchr(writer.data, '\n'));
  cJSON *json = cJSON_ParseWithOpts(writer.data, NULL, 1);
  if (!json)
    fail_msg("result JSON does not parse: %s", writer.data);
  json_writer_free(&writer);
  assert_true(cJSON_IsObject(json));
  return json;
}

static cJSON *key(const cJSON *object, const char *name) {
  cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
  if (!item)
    fail_msg("key \"%s\" is missing", name);
  return item;
}

static void json_expect_string(const cJSON *object, const char *name, const char *value) {
  cJSON *item = key(object, name);
  if (!cJSON_IsString(item))
    fail_msg("key \"%s\" is not a string", name);
  assert_string_equal(item->valuestring, value);
}

static void json_expect_number(const cJSON *object, const char *name, double value) {
  cJSON *item = key(object, name);
  if (!cJSON_IsNumber(item))
    fail_msg("key \"%s\" is not a number", name);
  assert_true(item->valuedouble == value);
}

static void json_expect_null(const cJSON *object, const char *name) {
  cJSON *item = key(object, name);
  if (!cJSON_IsNull(item))
    fail_msg("key \"%s\" is not null", name);
}

/* Printed form must be valid UTF-8 and parse back; returns the parsed copy. */
static cJSON *print_and_reparse(const cJSON *json) {
  char *text = cJSON_PrintUnformatted(json);
  assert_non_null(text);
  if (!helper_utf8_valid(text, strlen(text)))
    fail_msg("printed JSON is not valid UTF-8: %s", text);
  cJSON *back = cJSON_ParseWithOpts(text, NULL, 1);
  if (!back)
    fail_msg("printed JSON does not parse: %s", text);
  cJSON_free(text);
  return back;
}

static const char *const contract_keys[] = {
    "index",     "url",       "final_url", "ok",           "status", "error", "http_version",
    "remote_ip", "redirects", "attempts",  "content_type", "size",   "time",
};

static const char *const time_keys[] = {"dns", "connect", "tls", "ttfb", "total"};

/* ---- shape ---- */

static void result_json_has_every_contract_key_with_its_type(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  cJSON *json = to_json(&r);
  for (size_t i = 0; i < sizeof contract_keys / sizeof contract_keys[0]; i++)
    key(json, contract_keys[i]);
  json_expect_number(json, "index", 7);
  json_expect_string(json, "url", "http://127.0.0.1:8080/a");
  json_expect_string(json, "final_url", "http://127.0.0.1:8080/b");
  assert_true(cJSON_IsTrue(key(json, "ok")));
  json_expect_number(json, "status", 200);
  json_expect_null(json, "error");
  json_expect_string(json, "http_version", "1.1");
  json_expect_string(json, "remote_ip", "127.0.0.1");
  json_expect_number(json, "redirects", 1);
  json_expect_number(json, "attempts", 1);
  json_expect_string(json, "content_type", "text/html; charset=utf-8");
  json_expect_number(json, "size", 5120);
  cJSON_Delete(json);
}

static void result_json_has_no_keys_beyond_the_contract_by_default(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  cJSON *json = to_json(&r);
  int count = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, json) {
    bool known = false;
    for (size_t i = 0; i < sizeof contract_keys / sizeof contract_keys[0]; i++)
      known = known || strcmp(item->string, contract_keys[i]) == 0;
    if (!known)
      fail_msg("unexpected key \"%s\"", item->string);
    count++;
  }
  assert_int_equal(count, sizeof contract_keys / sizeof contract_keys[0]);
  cJSON_Delete(json);
}

static void result_json_time_is_an_object_of_five_numbers(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  cJSON *json = to_json(&r);
  cJSON *time = key(json, "time");
  assert_true(cJSON_IsObject(time));
  assert_int_equal(cJSON_GetArraySize(time), 5);
  for (size_t i = 0; i < 5; i++)
    assert_true(cJSON_IsNumber(key(time, time_keys[i])));
  json_expect_number(time, "dns", 0.0001);
  json_expect_number(time, "connect", 0.0002);
  json_expect_number(time, "tls", 0.0);
  json_expect_number(time, "ttfb", 0.0513);
  json_expect_number(time, "total", 0.0518);
  cJSON_Delete(json);
}

static void result_json_numbers_survive_printing(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  /* Beyond 32 bits, still within cJSON's 15 printed significant digits. */
  r.index = 4294967297ull;
  r.size = 5368709120ull; /* 5 GiB */
  cJSON *json = to_json(&r);
  cJSON *back = print_and_reparse(json);
  json_expect_number(back, "index", 4294967297.0);
  json_expect_number(back, "size", 5368709120.0);
  json_expect_number(key(back, "time"), "ttfb", 0.0513);
  cJSON_Delete(back);
  cJSON_Delete(json);
}

/* ---- ok, status, error ---- */

static void result_json_http_404_is_not_ok_with_http_error(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.status = 404;
  r.error = RESULT_HTTP;
  r.curl_code = -1;
  r.error_message = "HTTP 404";
  cJSON *json = to_json(&r);
  assert_true(cJSON_IsFalse(key(json, "ok")));
  json_expect_number(json, "status", 404);
  cJSON *error = key(json, "error");
  assert_true(cJSON_IsObject(error));
  json_expect_string(error, "code", "http");
  json_expect_string(error, "message", "HTTP 404");
  json_expect_null(error, "curl_code");
  cJSON_Delete(json);
}

static void result_json_status_is_null_without_a_response(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.status = 0;
  r.error = RESULT_CONNECT;
  r.error_message = "Failed to connect to 127.0.0.1 port 1";
  r.curl_code = 7;
  r.final_url = NULL;
  r.http_version = NULL;
  r.content_type = NULL;
  cJSON *json = to_json(&r);
  json_expect_null(json, "status");
  assert_true(cJSON_IsFalse(key(json, "ok")));
  cJSON *error = key(json, "error");
  assert_true(cJSON_IsObject(error));
  assert_int_equal(cJSON_GetArraySize(error), 3);
  json_expect_string(error, "code", "connect");
  json_expect_string(error, "message", "Failed to connect to 127.0.0.1 port 1");
  json_expect_number(error, "curl_code", 7);
  cJSON_Delete(json);
}

static void result_json_error_without_message_gets_a_derived_one(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.status = 0;
  r.error = RESULT_TIMEOUT;
  r.error_message = NULL;
  r.curl_code = 28;
  cJSON *json = to_json(&r);
  cJSON *message = key(key(json, "error"), "message");
  assert_true(cJSON_IsString(message));
  assert_true(strlen(message->valuestring) > 0);
  cJSON_Delete(json);
}

static void result_json_null_strings_become_null(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.url = NULL;
  r.final_url = NULL;
  r.http_version = NULL;
  r.remote_ip = NULL;
  r.content_type = NULL;
  r.status = 0;
  r.error = RESULT_INVALID_URL;
  r.curl_code = -1;
  cJSON *json = to_json(&r);
  json_expect_null(json, "url");
  json_expect_null(json, "final_url");
  json_expect_null(json, "http_version");
  json_expect_null(json, "remote_ip");
  json_expect_null(json, "content_type");
  json_expect_null(key(json, "error"), "curl_code");
  cJSON_Delete(json);
}

static void result_json_error_code_is_the_stable_name_for_every_error(void **state) {
  (void)state;
  for (int e = RESULT_INVALID_URL; e <= RESULT_OTHER; e++) {
    struct afetch_result r = sample_ok();
    r.status = e == RESULT_HTTP ? 500 : 0;
    r.error = (enum result_error)e;
    r.curl_code = e == RESULT_HTTP ? -1 : 6;
    cJSON *json = to_json(&r);
    assert_true(cJSON_IsFalse(key(json, "ok")));
    cJSON *error = key(json, "error");
    assert_true(cJSON_IsObject(error));
    json_expect_string(error, "code", result_error_name((enum result_error)e));
    cJSON_Delete(json);
  }
}

static void result_error_name_gives_the_contract_strings(void **state) {
  (void)state;
  assert_null(result_error_name(RESULT_OK));
  assert_string_equal(result_error_name(RESULT_INVALID_URL), "invalid_url");
  assert_string_equal(result_error_name(RESULT_DNS), "dns");
  assert_string_equal(result_error_name(RESULT_CONNECT), "connect");
  assert_string_equal(result_error_name(RESULT_TLS), "tls");
  assert_string_equal(result_error_name(RESULT_TIMEOUT), "timeout");
  assert_string_equal(result_error_name(RESULT_HTTP), "http");
  assert_string_equal(result_error_name(RESULT_TOO_MANY_REDIRECTS), "too_many_redirects");
  assert_string_equal(result_error_name(RESULT_TOO_LARGE), "too_large");
  assert_string_equal(result_error_name(RESULT_WRITE), "write");
  assert_string_equal(result_error_name(RESULT_CANCELLED), "cancelled");
  assert_string_equal(result_error_name(RESULT_DEADLINE), "deadline");
  assert_string_equal(result_error_name(RESULT_OTHER), "other");
}

/* ---- result_is_ok ---- */

static void result_is_ok_for_status_100_to_399_without_error(void **state) {
  (void)state;
  static const long statuses[] = {100, 101, 200, 204, 206, 301, 304, 399};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    struct afetch_result r = sample_ok();
    r.status = statuses[i];
    if (!result_is_ok(&r))
      fail_msg("status %ld should be ok", statuses[i]);
    cJSON *json = to_json(&r);
    assert_true(cJSON_IsTrue(key(json, "ok")));
    cJSON_Delete(json);
  }
}

static void result_is_not_ok_for_status_400_and_above(void **state) {
  (void)state;
  static const long statuses[] = {400, 404, 429, 500, 503, 599, 999};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    struct afetch_result r = sample_ok();
    r.status = statuses[i];
    r.error = RESULT_HTTP;
    if (result_is_ok(&r))
      fail_msg("status %ld should not be ok", statuses[i]);
  }
}

static void result_is_not_ok_for_status_400_even_without_error_code(void **state) {
  (void)state;
  static const long statuses[] = {400, 404, 500};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    struct afetch_result r = sample_ok();
    r.status = statuses[i];
    r.error = RESULT_OK;
    if (result_is_ok(&r))
      fail_msg("status %ld without an error code should not be ok", statuses[i]);
  }
}

static void result_is_not_ok_without_a_response(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.status = 0;
  assert_false(result_is_ok(&r));
  r.status = 99;
  assert_false(result_is_ok(&r));
}

static void result_is_not_ok_with_any_error_even_after_200(void **state) {
  (void)state;
  for (int e = RESULT_INVALID_URL; e <= RESULT_OTHER; e++) {
    struct afetch_result r = sample_ok();
    r.status = 200;
    r.error = (enum result_error)e;
    r.curl_code = 0;
    if (result_is_ok(&r))
      fail_msg("error %d with status 200 should not be ok", e);
    cJSON *json = to_json(&r);
    assert_true(cJSON_IsFalse(key(json, "ok")));
    cJSON_Delete(json);
  }
}

/* ---- text ---- */

static void expect_replaced(const cJSON *object, const char *name, const char *valid_prefix) {
  cJSON *item = key(object, name);
  assert_true(cJSON_IsString(item));
  const char *s = item->valuestring;
  if (!helper_utf8_valid(s, strlen(s)))
    fail_msg("\"%s\" is not valid UTF-8 after replacement", name);
  if (strncmp(s, valid_prefix, strlen(valid_prefix)) != 0)
    fail_msg("\"%s\" lost its valid prefix \"%s\": \"%s\"", name, valid_prefix, s);
  if (!strstr(s, "\xEF\xBF\xBD"))
    fail_msg("\"%s\" has no U+FFFD where the invalid bytes were: \"%s\"", name, s);
}

static void result_json_replaces_invalid_utf8_in_every_string(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.url = "http://a/\xff\xfe-x";
  r.final_url = "http://b/\x80";
  r.http_version = "1.\xc0";
  r.remote_ip = "10.0.0.\xfe";
  r.content_type = "text/html; charset=\xc3"; /* truncated two-byte sequence at the end */
  r.status = 0;
  r.error = RESULT_OTHER;
  r.error_message = "bad \xe2\x82 bytes"; /* truncated three-byte sequence inside */
  r.curl_code = 56;
  cJSON *json = to_json(&r);
  cJSON *back = print_and_reparse(json);
  expect_replaced(back, "url", "http://a/");
  expect_replaced(back, "final_url", "http://b/");
  expect_replaced(back, "http_version", "1.");
  expect_replaced(back, "remote_ip", "10.0.0.");
  expect_replaced(back, "content_type", "text/html; charset=");
  expect_replaced(key(back, "error"), "message", "bad ");
  assert_non_null(strstr(key(key(back, "error"), "message")->valuestring, " bytes"));
  assert_non_null(strstr(key(back, "url")->valuestring, "-x"));
  cJSON_Delete(back);
  cJSON_Delete(json);
}

static void result_json_replaces_overlong_and_surrogate_sequences(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.url = "http://a/\xc0\xaf";               /* overlong '/' */
  r.content_type = "x\xed\xa0\x80y";         /* UTF-16 surrogate D800 */
  r.final_url = "http://b/\xf4\x90\x80\x80"; /* above U+10FFFF */
  cJSON *json = to_json(&r);
  cJSON *back = print_and_reparse(json);
  expect_replaced(back, "url", "http://a/");
  expect_replaced(back, "content_type", "x");
  expect_replaced(back, "final_url", "http://b/");
  cJSON_Delete(back);
  cJSON_Delete(json);
}

static void curl_codes_map_to_the_contract_errors(void **state) {
  (void)state;
  assert_int_equal(result_error_of_curl(CURLE_OK), RESULT_OK);
  assert_int_equal(result_error_of_curl(CURLE_URL_MALFORMAT), RESULT_INVALID_URL);
  assert_int_equal(result_error_of_curl(CURLE_UNSUPPORTED_PROTOCOL), RESULT_INVALID_URL);
  assert_int_equal(result_error_of_curl(CURLE_COULDNT_RESOLVE_HOST), RESULT_DNS);
  assert_int_equal(result_error_of_curl(CURLE_COULDNT_CONNECT), RESULT_CONNECT);
  assert_int_equal(result_error_of_curl(CURLE_OPERATION_TIMEDOUT), RESULT_TIMEOUT);
  assert_int_equal(result_error_of_curl(CURLE_TOO_MANY_REDIRECTS), RESULT_TOO_MANY_REDIRECTS);
  assert_int_equal(result_error_of_curl(CURLE_FILESIZE_EXCEEDED), RESULT_TOO_LARGE);
  assert_int_equal(result_error_of_curl(CURLE_WRITE_ERROR), RESULT_WRITE);
  assert_int_equal(result_error_of_curl(CURLE_PEER_FAILED_VERIFICATION), RESULT_TLS);
  assert_int_equal(result_error_of_curl(CURLE_RECV_ERROR), RESULT_OTHER);
}

static void http_versions_have_their_contract_names(void **state) {
  (void)state;
  assert_string_equal(result_http_version_name(CURL_HTTP_VERSION_1_0), "1.0");
  assert_string_equal(result_http_version_name(CURL_HTTP_VERSION_1_1), "1.1");
  assert_string_equal(result_http_version_name(CURL_HTTP_VERSION_2_0), "2");
  assert_string_equal(result_http_version_name(CURL_HTTP_VERSION_3), "3");
  assert_null(result_http_version_name(0));
}

static void result_json_keeps_valid_utf8_and_ascii_unchanged(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.url = "http://example.com/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80";
  r.final_url = "http://example.com/plain?q=1&r=2";
  r.content_type = "text/plain; charset=\xe2\x82\xac";
  r.status = 500;
  r.error = RESULT_HTTP;
  r.error_message = "server said \xc2\xbfqu\xc3\xa9?";
  cJSON *json = to_json(&r);
  cJSON *back = print_and_reparse(json);
  json_expect_string(back, "url", r.url);
  json_expect_string(back, "final_url", r.final_url);
  json_expect_string(back, "content_type", r.content_type);
  json_expect_string(key(back, "error"), "message", r.error_message);
  cJSON_Delete(back);
  cJSON_Delete(json);
}

static void result_json_escapes_quotes_backslashes_and_controls(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.url = "http://a/\"quoted\"\\back\tslash\n\x01";
  cJSON *json = to_json(&r);
  cJSON *back = print_and_reparse(json);
  json_expect_string(back, "url", r.url);
  cJSON_Delete(back);
  cJSON_Delete(json);
}

static void result_json_optional_keys_appear_only_when_enabled(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.has_retry_after = true;
  r.retry_after_s = 7;
  r.has_file = true;
  r.file = "mirror/example.com/index.html";
  r.has_sha256 = true;
  r.sha256 = NULL; /* the transfer failed: null, but the key is there */
  r.has_not_modified = true;
  r.not_modified = true;
  cJSON *json = to_json(&r);
  json_expect_number(json, "retry_after", 7);
  json_expect_string(json, "file", "mirror/example.com/index.html");
  json_expect_null(json, "sha256");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "not_modified")));
  assert_null(cJSON_GetObjectItemCaseSensitive(json, "body"));
  cJSON_Delete(json);
}

static void result_json_body_is_text_when_utf8_else_base64(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.has_body = true;
  r.body = "{\"caf\xc3\xa9\": 1}\n";
  r.body_length = strlen(r.body);
  cJSON *json = to_json(&r);
  json_expect_string(json, "body", "{\"caf\xc3\xa9\": 1}\n");
  json_expect_string(json, "body_encoding", "utf-8");
  cJSON_Delete(json);

  /* Invalid UTF-8, or a NUL byte: base64 of the exact bytes. */
  static const char binary[] = {'\x00', '\xff', 'A', '\x80'};
  r.body = binary;
  r.body_length = sizeof binary;
  json = to_json(&r);
  json_expect_string(json, "body", "AP9BgA==");
  json_expect_string(json, "body_encoding", "base64");
  cJSON_Delete(json);

  /* No body arrived: both null. */
  r.body = NULL;
  r.body_length = 0;
  json = to_json(&r);
  json_expect_null(json, "body");
  json_expect_null(json, "body_encoding");
  cJSON_Delete(json);
}

/* ---- --include-headers, --result-fields ---- */

static void result_json_writes_the_fields_asked_for_after_the_contract_keys(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.fields = RESULT_FIELDS_ALL;
  r.method = "POST";
  r.started_at_ms = 1714564800123; /* 2024-05-01T12:00:00.123Z */
  r.location = "http://127.0.0.1:8080/next";
  r.chain_json = "[{\"url\":\"http://127.0.0.1:8080/a\",\"status\":302}]";
  r.headers_json = "{\"set-cookie\":[\"a=1\",\"b=2\"]}";
  cJSON *json = to_json(&r);
  json_expect_string(json, "method", "POST");
  json_expect_string(json, "started_at", "2024-05-01T12:00:00.123Z");
  json_expect_string(json, "location", "http://127.0.0.1:8080/next");
  const cJSON *chain = key(json, "redirects_chain");
  assert_int_equal(cJSON_GetArraySize(chain), 1);
  json_expect_number(cJSON_GetArrayItem(chain, 0), "status", 302);
  const cJSON *cookies = key(key(json, "headers"), "set-cookie");
  assert_int_equal(cJSON_GetArraySize(cookies), 2);
  assert_null(cJSON_GetObjectItemCaseSensitive(json, "headers_truncated"));
  /* The contract's keys come first, unchanged. */
  const cJSON *item = json->child;
  for (size_t i = 0; i < sizeof contract_keys / sizeof contract_keys[0]; i++, item = item->next)
    assert_string_equal(item->string, contract_keys[i]);
  cJSON_Delete(json);
}

static void result_fields_without_values_are_null_or_empty(void **state) {
  (void)state;
  struct afetch_result r = sample_ok();
  r.fields = RESULT_FIELDS_ALL;
  r.headers_truncated = true;
  cJSON *json = to_json(&r);
  json_expect_null(json, "method");
  json_expect_null(json, "started_at");
  json_expect_null(json, "location");
  assert_true(cJSON_IsArray(key(json, "redirects_chain")));
  assert_null(key(json, "redirects_chain")->child);
  assert_true(cJSON_IsObject(key(json, "headers")));
  assert_null(key(json, "headers")->child);
  assert_true(cJSON_IsTrue(key(json, "headers_truncated")));
  cJSON_Delete(json);
  /* Only the keys asked for. */
  r.fields = RESULT_FIELD_STARTED_AT;
  r.started_at_ms = 86400000 + 5; /* 1970-01-02T00:00:00.005Z */
  json = to_json(&r);
  json_expect_string(json, "started_at", "1970-01-02T00:00:00.005Z");
  assert_int_equal(cJSON_GetArraySize(json), sizeof contract_keys / sizeof contract_keys[0] + 1);
  cJSON_Delete(json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(result_json_has_every_contract_key_with_its_type),
      cmocka_unit_test(result_json_has_no_keys_beyond_the_contract_by_default),
      cmocka_unit_test(result_json_time_is_an_object_of_five_numbers),
      cmocka_unit_test(result_json_numbers_survive_printing),
      cmocka_unit_test(result_json_http_404_is_not_ok_with_http_error),
      cmocka_unit_test(result_json_status_is_null_without_a_response),
      cmocka_unit_test(result_json_error_without_message_gets_a_derived_one),
      cmocka_unit_test(result_json_null_strings_become_null),
      cmocka_unit_test(result_json_error_code_is_the_stable_name_for_every_error),
      cmocka_unit_test(result_error_name_gives_the_contract_strings),
      cmocka_unit_test(result_json_optional_keys_appear_only_when_enabled),
      cmocka_unit_test(result_json_body_is_text_when_utf8_else_base64),
      cmocka_unit_test(result_is_ok_for_status_100_to_399_without_error),
      cmocka_unit_test(result_is_not_ok_for_status_400_and_above),
      cmocka_unit_test(result_is_not_ok_for_status_400_even_without_error_code),
      cmocka_unit_test(result_is_not_ok_without_a_response),
      cmocka_unit_test(result_is_not_ok_with_any_error_even_after_200),
      cmocka_unit_test(result_json_replaces_invalid_utf8_in_every_string),
      cmocka_unit_test(result_json_replaces_overlong_and_surrogate_sequences),
      cmocka_unit_test(result_json_keeps_valid_utf8_and_ascii_unchanged),
      cmocka_unit_test(result_json_escapes_quotes_backslashes_and_controls),
      cmocka_unit_test(curl_codes_map_to_the_contract_errors),
      cmocka_unit_test(http_versions_have_their_contract_names),
      cmocka_unit_test(result_json_writes_the_fields_asked_for_after_the_contract_keys),
      cmocka_unit_test(result_fields_without_values_are_null_or_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
