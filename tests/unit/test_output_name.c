/* output_name.h: the file name a URL is saved under (-o, --output-template) and the names
 * claimed in one run. */
#include "unit_helpers.h"

#include <ctype.h>

#include "afetch/output_name.h"

/* The name for `url` under `template`, which must succeed; returns a static buffer. */
static const char *name_of(const char *url, const char *template, uint64_t index) {
  static char name[OUTPUT_NAME_MAX + 1];
  if (!output_name_for_url(url, template, index, name, sizeof name))
    fail_msg("no name for %s", url);
  return name;
}

/* What every name must be: relative, no empty, "." or ".." segment, no segment longer than
 * 200 bytes, only printable ASCII other than backslash, at most OUTPUT_NAME_MAX bytes. */
static void assert_name_safe(const char *name) {
  size_t length = strlen(name);
  if (length == 0 || length > OUTPUT_NAME_MAX)
    fail_msg("name length %zu: %s", length, name);
  for (const char *segment = name;;) {
    const char *slash = strchr(segment, '/');
    size_t segment_length = slash ? (size_t)(slash - segment) : strlen(segment);
    if (segment_length == 0 || segment_length > 200 || (segment_length == 1 && segment[0] == '.') ||
        (segment_length == 2 && segment[0] == '.' && segment[1] == '.'))
      fail_msg("unsafe segment of length %zu in %s", segment_length, name);
    if (!slash)
      break;
    segment = slash + 1;
  }
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    if (*c < 0x20 || *c >= 0x7F || *c == '\\')
      fail_msg("byte 0x%02x in %s", *c, name);
}

/* True when `text` has `count` lower-case hex digits at `at`. */
static bool hex_at(const char *text, size_t at, size_t count) {
  if (strlen(text) < at + count)
    return false;
  for (size_t i = at; i < at + count; i++)
    if (!isxdigit((unsigned char)text[i]) || isupper((unsigned char)text[i]))
      return false;
  return true;
}

/* True when `name` is `prefix` + `digits` lower-case hex digits + `suffix`. */
static bool matches_hash(const char *name, const char *prefix, size_t digits, const char *suffix) {
  size_t prefix_length = strlen(prefix), suffix_length = strlen(suffix);
  return strlen(name) == prefix_length + digits + suffix_length &&
         strncmp(name, prefix, prefix_length) == 0 && hex_at(name, prefix_length, digits) &&
         strcmp(name + prefix_length + digits, suffix) == 0;
}

static void default_name_is_lower_case_host_then_path(void **state) {
  (void)state;
  assert_string_equal(name_of("http://Example.COM/a/b.html", NULL, 0), "example.com/a/b.html");
  assert_string_equal(name_of("https://example.com/A/B.TXT", NULL, 0), "example.com/A/B.TXT");
  assert_string_equal(name_of("http://example.com/a/b.html#part", NULL, 0), "example.com/a/b.html");
}

static void non_default_port_becomes_underscore_port(void **state) {
  (void)state;
  assert_string_equal(name_of("http://example.com:8080/a/b.html", NULL, 0),
                      "example.com_8080/a/b.html");
  assert_string_equal(name_of("https://example.com:443/x", NULL, 0), "example.com/x");
  assert_string_equal(name_of("http://example.com:80/x", NULL, 0), "example.com/x");
  assert_string_equal(name_of("https://example.com:8443/x", NULL, 0), "example.com_8443/x");
  assert_string_equal(name_of("https://example.com:80/x", NULL, 0), "example.com_80/x");
}

static void root_and_directory_paths_end_in_index_html(void **state) {
  (void)state;
  assert_string_equal(name_of("http://example.com/", NULL, 0), "example.com/index.html");
  assert_string_equal(name_of("http://example.com", NULL, 0), "example.com/index.html");
  assert_string_equal(name_of("http://example.com/dir/", NULL, 0), "example.com/dir/index.html");
  assert_string_equal(name_of("http://example.com//a//b", NULL, 0), "example.com/a/b");
}

static void query_hash_goes_before_the_extension(void **state) {
  (void)state;
  assert_true(matches_hash(name_of("http://h/a/page.php?id=3", NULL, 0), "h/a/page-", 8, ".php"));
  assert_true(matches_hash(name_of("http://h/?x=1", NULL, 0), "h/index-", 8, ".html"));
  assert_true(matches_hash(name_of("http://h/a/b?q", NULL, 0), "h/a/b-", 8, ""));
  assert_true(matches_hash(name_of("http://h/a.tar.gz?v=1", NULL, 0), "h/a.tar-", 8, ".gz"));
  /* A leading dot starts no extension. */
  assert_true(matches_hash(name_of("http://h/.profile?v=1", NULL, 0), "h/.profile-", 8, ""));
}

static void different_queries_give_different_names(void **state) {
  (void)state;
  char first[OUTPUT_NAME_MAX + 1], second[OUTPUT_NAME_MAX + 1], again[OUTPUT_NAME_MAX + 1];
  assert_true(output_name_for_url("http://h/page.php?id=1", NULL, 0, first, sizeof first));
  assert_true(output_name_for_url("http://h/page.php?id=2", NULL, 0, second, sizeof second));
  assert_true(output_name_for_url("http://h/page.php?id=1#x", NULL, 5, again, sizeof again));
  assert_string_not_equal(first, second);
  assert_string_equal(first, again);
  assert_string_not_equal(first, name_of("http://h/page.php", NULL, 0));
}

static void dot_dot_segments_stay_inside(void **state) {
  (void)state;
  const char *name = name_of("http://h/../../etc/passwd", NULL, 0);
  assert_name_safe(name);
  assert_string_equal(name, "h/etc/passwd");
  assert_name_safe(name_of("http://h/a/./b/../../../../c/", NULL, 0));
  /* curl decodes "%2e%2e" in the host: the ".." segment is dropped. */
  assert_name_safe(name_of("http://%2e%2e/x", NULL, 0));
}

static void percent_encoded_dots_stay_inside(void **state) {
  (void)state;
  /* curl may or may not decode "%2e": whatever it returns, no segment is "." or "..". */
  const char *name = name_of("http://h/a/%2e%2e/%2e%2e/x", NULL, 0);
  assert_name_safe(name);
  assert_true(name[0] != '/');
  assert_name_safe(name_of("http://h/%2e/%2E%2E/.%2e/", NULL, 0));
}

static void backslash_and_high_bytes_are_percent_encoded(void **state) {
  (void)state;
  assert_string_equal(name_of("http://h/a\\b", NULL, 0), "h/a%5Cb");
  assert_string_equal(name_of("http://h/caf\xc3\xa9.html", NULL, 0), "h/caf%C3%A9.html");
  /* Escapes already in the URL stay as written. */
  assert_string_equal(name_of("http://h/%01%5c%2F", NULL, 0), "h/%01%5c%2F");
  assert_name_safe(name_of("http://h/..\\..\\x", NULL, 0));
}

static void control_bytes_are_percent_encoded(void **state) {
  (void)state;
  /* curl refuses raw control bytes in a URL; a template can still carry them. */
  char name[OUTPUT_NAME_MAX + 1];
  assert_false(output_name_for_url("http://h/a\x01z", NULL, 0, name, sizeof name));
  const char *templated = name_of("http://h/b.html", "x\x01y\x7f\x1f/\t{name}", 0);
  assert_string_equal(templated, "x%01y%7F%1F/%09b.html");
  assert_name_safe(templated);
}

static void long_segment_is_cut_with_a_hash(void **state) {
  (void)state;
  char url[1100], name[OUTPUT_NAME_MAX + 1];
  memcpy(url, "http://h/", 9);
  memset(url + 9, 'a', 1000);
  url[1009] = '\0';
  assert_true(output_name_for_url(url, NULL, 0, name, sizeof name));
  assert_name_safe(name);
  assert_int_equal(strlen(name), 2 + 200);
  assert_int_equal(name[2 + 191], '-');
  assert_true(hex_at(name, 2 + 192, 8));
  /* Another segment with the same first 999 bytes gets another name. */
  char other[OUTPUT_NAME_MAX + 1];
  url[1008] = 'b';
  assert_true(output_name_for_url(url, NULL, 0, other, sizeof other));
  assert_name_safe(other);
  assert_string_not_equal(name, other);
}

static void overlong_path_stays_within_the_limit(void **state) {
  (void)state;
  enum { SEGMENTS = 400 };
  static char url[16 + SEGMENTS * 9 + 8];
  size_t length = (size_t)snprintf(url, sizeof url, "http://h");
  for (int i = 0; i < SEGMENTS; i++)
    length += (size_t)snprintf(url + length, sizeof url - length, "/%08d", i);
  char name[OUTPUT_NAME_MAX + 1], other[OUTPUT_NAME_MAX + 1];
  assert_true(output_name_for_url(url, NULL, 0, name, sizeof name));
  assert_name_safe(name);
  assert_true(strlen(name) <= OUTPUT_NAME_MAX);
  url[length - 1] = 'x'; /* only the last segment differs: the names still differ */
  assert_true(output_name_for_url(url, NULL, 0, other, sizeof other));
  assert_name_safe(other);
  assert_string_not_equal(name, other);
  /* Long segments too: the last one stays within 200 bytes after the cut. */
  length = (size_t)snprintf(url, sizeof url, "http://h");
  for (int i = 0; i < 12; i++) {
    url[length++] = '/';
    memset(url + length, 'a' + i, 250);
    length += 250;
  }
  url[length] = '\0';
  assert_true(output_name_for_url(url, NULL, 0, name, sizeof name));
  assert_name_safe(name);
}

static void name_that_does_not_fit_the_buffer_is_refused(void **state) {
  (void)state;
  char name[12];
  assert_false(output_name_for_url("http://example.com/a/b.html", NULL, 0, name, sizeof name));
  assert_true(output_name_for_url("http://h/a.html", NULL, 0, name, sizeof name));
  assert_string_equal(name, "h/a.html");
}

static void invalid_url_is_refused(void **state) {
  (void)state;
  char name[OUTPUT_NAME_MAX + 1];
  assert_false(output_name_for_url("http://exa mple/", NULL, 0, name, sizeof name));
  assert_false(output_name_for_url("", NULL, 0, name, sizeof name));
  assert_false(output_name_for_url("no scheme here", NULL, 0, name, sizeof name));
}

static void template_tokens_are_filled_in(void **state) {
  (void)state;
  assert_string_equal(name_of("http://h/a/b.html", "{index}-{name}", 7), "7-b.html");
  assert_string_equal(name_of("http://Ex.COM:81/a/b.html", "{host}-{path}", 0),
                      "ex.com_81-a/b.html");
  assert_true(matches_hash(name_of("http://h/a/b.html", "{host}/{url_hash}", 0), "h/", 16, ""));
  char first[OUTPUT_NAME_MAX + 1];
  snprintf(first, sizeof first, "%s", name_of("http://h/a/b.html", "{url_hash}", 0));
  assert_string_not_equal(first, name_of("http://h/a/c.html", "{url_hash}", 0));
  assert_true(matches_hash(name_of("http://h/p.php?x=1", "{name}", 0), "p-", 8, ".php"));
  assert_string_equal(name_of("http://h/", "{name}", 0), "index.html");
}

static void template_literal_text_stays_and_unknown_tokens_stay_literal(void **state) {
  (void)state;
  assert_string_equal(name_of("http://h/a/b.html", "saved/{name}.bak", 0), "saved/b.html.bak");
  assert_string_equal(name_of("http://h/a/b.html", "{nope}/{name}", 0), "{nope}/b.html");
  assert_string_equal(name_of("http://h/a/b.html", "{{name}}", 0), "{b.html}");
  assert_string_equal(name_of("http://h/a/b.html", "{name", 0), "{name");
}

static void template_cannot_leave_the_output_directory(void **state) {
  (void)state;
  assert_string_equal(name_of("http://h/a/b.html", "../{name}", 0), "b.html");
  assert_string_equal(name_of("http://h/a/b.html", "/abs//./{name}/..", 0), "abs/b.html");
  assert_string_equal(name_of("http://h/a/b.html", "../..", 0), "index.html");
  assert_string_equal(name_of("http://h/a/b.html", "", 0), "index.html");
}

/* Claims `name` for `url` and returns the name as claimed (a static buffer). */
static const char *claim(struct output_names *names, const char *url, const char *name) {
  static char buffer[OUTPUT_NAME_MAX + 1];
  snprintf(buffer, sizeof buffer, "%s", name);
  if (!output_names_claim(names, url, buffer, sizeof buffer))
    fail_msg("%s could not claim %s", url, name);
  return buffer;
}

static void same_url_claims_its_name_again(void **state) {
  (void)state;
  struct output_names *names = output_names_new();
  assert_non_null(names);
  assert_string_equal(claim(names, "http://h/a.html", "h/a.html"), "h/a.html");
  assert_string_equal(claim(names, "http://h/a.html", "h/a.html"), "h/a.html");
  output_names_free(names);
}

static void later_urls_get_a_number_before_the_extension(void **state) {
  (void)state;
  struct output_names *names = output_names_new();
  assert_string_equal(claim(names, "http://h/a.html", "h/a.html"), "h/a.html");
  assert_string_equal(claim(names, "http://h/a.html#2", "h/a.html"), "h/a-2.html");
  assert_string_equal(claim(names, "http://h/a.html#3", "h/a.html"), "h/a-3.html");
  /* Each URL keeps its own name when listed again. */
  assert_string_equal(claim(names, "http://h/a.html#3", "h/a.html"), "h/a-3.html");
  assert_string_equal(claim(names, "http://h/a.html#2", "h/a.html"), "h/a-2.html");
  assert_string_equal(claim(names, "http://h/a.html", "h/a.html"), "h/a.html");
  /* A URL whose own name is "a-2.html" does not take the second URL's file. */
  assert_string_equal(claim(names, "http://h/a-2.html", "h/a-2.html"), "h/a-2-2.html");
  output_names_free(names);
}

static void name_without_extension_gets_the_number_at_the_end(void **state) {
  (void)state;
  struct output_names *names = output_names_new();
  assert_string_equal(claim(names, "http://h/b?1", "h.x/b"), "h.x/b");
  assert_string_equal(claim(names, "http://h/b?2", "h.x/b"), "h.x/b-2");
  assert_string_equal(claim(names, "http://h/b?1", "h/.profile"), "h/.profile");
  assert_string_equal(claim(names, "http://h/b?2", "h/.profile"), "h/.profile-2");
  output_names_free(names);
}

static void numbered_name_keeps_its_segment_within_200_bytes(void **state) {
  (void)state;
  struct output_names *names = output_names_new();
  char name[OUTPUT_NAME_MAX + 1] = "d/";
  memset(name + 2, 'x', 196);
  memcpy(name + 198, ".gz", 4); /* a last segment of 199 bytes */
  claim(names, "http://one/", name);
  const char *second = claim(names, "http://two/", name);
  assert_name_safe(second);
  assert_int_equal(strlen(second), 2 + 200);
  assert_string_equal(second + strlen(second) - 5, "-2.gz");
  /* An extension too long to keep: the number goes last. */
  memset(name + 2, 'y', 200);
  name[3] = '.';
  name[202] = '\0';
  claim(names, "http://one/", name);
  second = claim(names, "http://two/", name);
  assert_name_safe(second);
  assert_string_equal(second + strlen(second) - 2, "-2");
  output_names_free(names);
}

static void numbered_name_that_does_not_fit_is_refused(void **state) {
  (void)state;
  struct output_names *names = output_names_new();
  char name[8] = "h/a.txt";
  assert_true(output_names_claim(names, "http://h/1", name, sizeof name));
  assert_false(output_names_claim(names, "http://h/2", name, sizeof name));
  assert_string_equal(name, "h/a.txt");
  output_names_free(names);
}

static void many_distinct_names_are_all_claimable(void **state) {
  (void)state;
  enum { COUNT = 100000 };
  struct output_names *names = output_names_new();
  char url[64], name[OUTPUT_NAME_MAX + 1];
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < COUNT; i++) {
      snprintf(url, sizeof url, "http://h/file-%d.txt", i);
      snprintf(name, sizeof name, "h/file-%d.txt", i);
      assert_true(output_names_claim(names, url, name, sizeof name));
      snprintf(url, sizeof url, "h/file-%d.txt", i);
      assert_string_equal(name, url);
    }
  assert_string_equal(claim(names, "http://other/", "h/file-0.txt"), "h/file-0-2.txt");
  output_names_free(names);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(default_name_is_lower_case_host_then_path),
      cmocka_unit_test(non_default_port_becomes_underscore_port),
      cmocka_unit_test(root_and_directory_paths_end_in_index_html),
      cmocka_unit_test(query_hash_goes_before_the_extension),
      cmocka_unit_test(different_queries_give_different_names),
      cmocka_unit_test(dot_dot_segments_stay_inside),
      cmocka_unit_test(percent_encoded_dots_stay_inside),
      cmocka_unit_test(backslash_and_high_bytes_are_percent_encoded),
      cmocka_unit_test(control_bytes_are_percent_encoded),
      cmocka_unit_test(long_segment_is_cut_with_a_hash),
      cmocka_unit_test(overlong_path_stays_within_the_limit),
      cmocka_unit_test(name_that_does_not_fit_the_buffer_is_refused),
      cmocka_unit_test(invalid_url_is_refused),
      cmocka_unit_test(template_tokens_are_filled_in),
      cmocka_unit_test(template_literal_text_stays_and_unknown_tokens_stay_literal),
      cmocka_unit_test(template_cannot_leave_the_output_directory),
      cmocka_unit_test(same_url_claims_its_name_again),
      cmocka_unit_test(later_urls_get_a_number_before_the_extension),
      cmocka_unit_test(name_without_extension_gets_the_number_at_the_end),
      cmocka_unit_test(numbered_name_keeps_its_segment_within_200_bytes),
      cmocka_unit_test(numbered_name_that_does_not_fit_is_refused),
      cmocka_unit_test(many_distinct_names_are_all_claimable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
