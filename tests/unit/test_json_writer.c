/* json_writer.h: the hot-path JSON writer, checked against cJSON as the reference parser. */
#include "unit_helpers.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "afetch/json_writer.h"

/* Writes one string value and returns what cJSON parses back (caller frees). */
static char *write_and_parse_string(const char *text, char **raw) {
  struct json_writer writer;
  json_writer_init(&writer);
  json_writer_string(&writer, text);
  assert_false(writer.failed);
  if (!helper_utf8_valid(writer.data, writer.length))
    fail_msg("writer output is not valid UTF-8: %s", writer.data);
  cJSON *parsed = cJSON_ParseWithOpts(writer.data, NULL, 1);
  if (!parsed || !cJSON_IsString(parsed))
    fail_msg("writer output does not parse as a string: %s", writer.data);
  char *value = strdup(parsed->valuestring);
  cJSON_Delete(parsed);
  if (raw)
    *raw = strdup(writer.data);
  json_writer_free(&writer);
  return value;
}

static void expect_text(void (*write)(struct json_writer *, int64_t), int64_t value,
                        const char *expected) {
  struct json_writer writer;
  json_writer_init(&writer);
  write(&writer, value);
  assert_string_equal(writer.data, expected);
  json_writer_free(&writer);
}

static void write_int(struct json_writer *writer, int64_t value) { json_writer_int(writer, value); }
static void write_seconds(struct json_writer *writer, int64_t value) {
  json_writer_seconds(writer, value);
}

static void json_writer_prints_integers_exactly(void **state) {
  (void)state;
  expect_text(write_int, 0, "0");
  expect_text(write_int, 7, "7");
  expect_text(write_int, -42, "-42");
  expect_text(write_int, INT64_MIN, "-9223372036854775808");
  expect_text(write_int, INT64_MAX, "9223372036854775807");
  struct json_writer writer;
  json_writer_init(&writer);
  json_writer_uint(&writer, UINT64_MAX);
  assert_string_equal(writer.data, "18446744073709551615");
  json_writer_free(&writer);
}

static void json_writer_prints_microseconds_as_exact_seconds(void **state) {
  (void)state;
  expect_text(write_seconds, 0, "0");
  expect_text(write_seconds, 1, "0.000001");
  expect_text(write_seconds, 100, "0.0001");
  expect_text(write_seconds, 51300, "0.0513");
  expect_text(write_seconds, 1000000, "1");
  expect_text(write_seconds, 2002540, "2.00254");
  expect_text(write_seconds, 123456789, "123.456789");
  expect_text(write_seconds, -1500000, "-1.5");
}

static void json_writer_seconds_parse_back_to_the_same_value(void **state) {
  (void)state;
  for (int64_t us = 0; us < 3000000; us += 997) {
    struct json_writer writer;
    json_writer_init(&writer);
    json_writer_seconds(&writer, us);
    cJSON *parsed = cJSON_Parse(writer.data);
    assert_non_null(parsed);
    assert_true(cJSON_IsNumber(parsed));
    assert_true(parsed->valuedouble == (double)us / 1e6 ||
                (long long)(parsed->valuedouble * 1e6 + 0.5) == us);
    cJSON_Delete(parsed);
    json_writer_free(&writer);
  }
}

static void json_writer_escapes_quotes_backslashes_and_controls(void **state) {
  (void)state;
  char *raw = NULL;
  char *back = write_and_parse_string("a\"b\\c\n\r\t\b\f\x01\x1f/", &raw);
  assert_string_equal(back, "a\"b\\c\n\r\t\b\f\x01\x1f/");
  assert_string_equal(raw, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\"");
  free(back);
  free(raw);
}

static void json_writer_keeps_valid_utf8(void **state) {
  (void)state;
  const char *text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF";
  char *back = write_and_parse_string(text, NULL);
  assert_string_equal(back, text);
  free(back);
}

static void json_writer_replaces_each_ill_formed_byte(void **state) {
  (void)state;
  /* A lone continuation byte, a cut-short sequence, an overlong '/', a surrogate, a byte
   * above U+10FFFF: each bad byte becomes one U+FFFD. */
  const struct {
    const char *in, *out;
  } cases[] = {
      {"a\x80z", "a\xEF\xBF\xBDz"},
      {"a\xC3", "a\xEF\xBF\xBD"},
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xF5\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"ok\xFF\xFEok", "ok\xEF\xBF\xBD\xEF\xBF\xBDok"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *back = write_and_parse_string(cases[i].in, NULL);
    assert_string_equal(back, cases[i].out);
    free(back);
  }
}

/* cJSON copies ill-formed bytes into its text as they are; json_print_valid_utf8 must give
 * the same text as json_writer_string would for every string and member name. */
static void json_print_valid_utf8_repairs_strings_and_names(void **state) {
  (void)state;
  cJSON *tree = cJSON_CreateObject();
  cJSON *list = cJSON_AddArrayToObject(tree, "k\xFE");
  cJSON_AddItemToArray(list, cJSON_CreateString("a\x80z"));
  cJSON_AddItemToArray(list, cJSON_CreateString("caf\xC3\xA9"));
  cJSON_AddNumberToObject(tree, "n", 1.5);
  char *text = json_print_valid_utf8(tree);
  assert_non_null(text);
  assert_string_equal(text, "{\"k\xEF\xBF\xBD\":[\"a\xEF\xBF\xBDz\",\"caf\xC3\xA9\"],\"n\":1.5}");
  free(text);
  /* Already valid text comes back unchanged. */
  cJSON *plain = cJSON_CreateString("plain \xE2\x82\xAC");
  text = json_print_valid_utf8(plain);
  assert_string_equal(text, "\"plain \xE2\x82\xAC\"");
  free(text);
  cJSON_Delete(plain);
  cJSON_Delete(tree);
}

static void json_print_valid_utf8_of_random_strings_is_valid(void **state) {
  (void)state;
  srand(4321);
  for (int round = 0; round < 2000; round++) {
    char text[64];
    size_t length = (size_t)(rand() % 63);
    for (size_t i = 0; i < length; i++)
      text[i] = (char)(1 + rand() % 255);
    text[length] = '\0';
    cJSON *item = cJSON_CreateString(text);
    char *printed = json_print_valid_utf8(item);
    if (!helper_utf8_valid(printed, strlen(printed)))
      fail_msg("not valid UTF-8: %s", printed);
    char *reference = write_and_parse_string(text, NULL);
    cJSON *parsed = cJSON_Parse(printed);
    assert_non_null(parsed);
    assert_string_equal(parsed->valuestring, reference);
    cJSON_Delete(parsed);
    free(reference);
    free(printed);
    cJSON_Delete(item);
  }
}

static void json_writer_random_bytes_always_give_valid_json(void **state) {
  (void)state;
  srand(12345);
  for (int round = 0; round < 2000; round++) {
    char text[64];
    size_t length = (size_t)(rand() % 63);
    for (size_t i = 0; i < length; i++)
      text[i] = (char)(1 + rand() % 255); /* any byte but NUL */
    text[length] = '\0';
    free(write_and_parse_string(text, NULL));
  }
}

static void json_writer_separates_members_and_nests(void **state) {
  (void)state;
  struct json_writer writer;
  json_writer_init(&writer);
  json_writer_object_begin(&writer);
  json_writer_key(&writer, "a");
  json_writer_uint(&writer, 1);
  json_writer_key(&writer, "inner");
  json_writer_object_begin(&writer);
  json_writer_key(&writer, "b");
  json_writer_null(&writer);
  json_writer_key(&writer, "c");
  json_writer_bool(&writer, false);
  json_writer_object_end(&writer);
  json_writer_key(&writer, "s");
  json_writer_string(&writer, NULL);
  json_writer_key(&writer, "t");
  json_writer_bool(&writer, true);
  json_writer_object_end(&writer);
  assert_string_equal(writer.data,
                      "{\"a\":1,\"inner\":{\"b\":null,\"c\":false},\"s\":null,\"t\":true}");
  json_writer_reset(&writer);
  assert_int_equal(writer.length, 0);
  json_writer_object_begin(&writer);
  json_writer_object_end(&writer);
  assert_string_equal(writer.data, "{}");
  json_writer_free(&writer);
}

static void json_writer_grows_for_long_strings(void **state) {
  (void)state;
  size_t length = 200000;
  char *text = malloc(length + 1);
  assert_non_null(text);
  memset(text, 'x', length);
  text[length] = '\0';
  text[length / 2] = '"';
  char *back = write_and_parse_string(text, NULL);
  assert_string_equal(back, text);
  free(back);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(json_writer_prints_integers_exactly),
      cmocka_unit_test(json_writer_prints_microseconds_as_exact_seconds),
      cmocka_unit_test(json_writer_seconds_parse_back_to_the_same_value),
      cmocka_unit_test(json_writer_escapes_quotes_backslashes_and_controls),
      cmocka_unit_test(json_writer_keeps_valid_utf8),
      cmocka_unit_test(json_writer_replaces_each_ill_formed_byte),
      cmocka_unit_test(json_writer_random_bytes_always_give_valid_json),
      cmocka_unit_test(json_print_valid_utf8_repairs_strings_and_names),
      cmocka_unit_test(json_print_valid_utf8_of_random_strings_is_valid),
      cmocka_unit_test(json_writer_separates_members_and_nests),
      cmocka_unit_test(json_writer_grows_for_long_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
