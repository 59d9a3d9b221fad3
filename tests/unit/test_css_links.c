/* css_links.h: url() and @import references of CSS, found as the text streams in. */
#include "unit_helpers.h"

#include "afetch/css_links.h"

/* The references reported, joined by '|' (each followed by one). */
struct found {
  char text[4096];
  size_t length;
};

static void collect(void *arg, const char *reference) {
  struct found *found = arg;
  size_t length = strlen(reference);
  assert_true(found->length + length + 2 <= sizeof found->text);
  memcpy(found->text + found->length, reference, length);
  found->length += length;
  found->text[found->length++] = '|';
  found->text[found->length] = '\0';
}

/* Scans `css` whole with css_links_scan(). */
static const char *scan(struct found *found, const char *css) {
  *found = (struct found){0};
  css_links_scan(css, strlen(css), collect, found);
  return found->text;
}

/* Scans `css` in pieces of `piece` bytes with a scanner. */
static const char *scan_pieces(struct found *found, const char *css, size_t piece) {
  *found = (struct found){0};
  struct css_scanner *scanner = css_scanner_new(collect, found);
  assert_non_null(scanner);
  size_t length = strlen(css);
  for (size_t done = 0; done < length; done += piece)
    css_scanner_feed(scanner, css + done, length - done < piece ? length - done : piece);
  css_scanner_finish(scanner);
  css_scanner_free(scanner);
  return found->text;
}

static void url_tokens_quoted_and_unquoted_are_found(void **state) {
  (void)state;
  struct found found;
  assert_string_equal(scan(&found, "body{background:url(a.png)}"
                                   ".b{background:URL( \"b c.png\" ) no-repeat}"
                                   ".c{background:url('c.png')}"
                                   "@font-face{src:url( d.woff2 )format('woff2'),url(e.woff)}"),
                      "a.png|b c.png|c.png|d.woff2|e.woff|");
}

static void import_strings_and_import_urls_are_found(void **state) {
  (void)state;
  struct found found;
  assert_string_equal(scan(&found, "@import \"one.css\";\n@import 'two.css' screen;\n"
                                   "@IMPORT url(three.css);@import/**/\"four.css\";"
                                   "@import'five.css';"),
                      "one.css|two.css|three.css|four.css|five.css|");
}

static void other_strings_comments_and_lookalikes_are_not_references(void **state) {
  (void)state;
  struct found found;
  assert_string_equal(scan(&found, "a::after{content:\"url(no1.png)\"}"
                                   "/* url(no2.png) @import 'no3.css'; */"
                                   "b{font-family:'url(no4)'} c{x:myurl(no5.png)}"
                                   "d{x:\"@import 'no6.css'\"} @media print{}"
                                   "@importx 'no7.css'; @charset \"utf-8\";"
                                   "e{background:url(yes.png)}"),
                      "yes.png|");
}

static void escapes_are_decoded(void **state) {
  (void)state;
  struct found found;
  assert_string_equal(scan(&found, "a{b:url(p\\(1\\).png)} c{d:url(\"q\\\"r.png\")}"
                                   "e{f:url(\\2F s.png)} g{h:url('t\\\nu.png')}"
                                   "i{j:url(\\E9 .png)}"),
                      "p(1).png|q\"r.png|/s.png|tu.png|\xC3\xA9.png|");
}

static void malformed_urls_and_strings_are_dropped(void **state) {
  (void)state;
  struct found found;
  assert_string_equal(scan(&found, "a{b:url(bad one.png)} c{d:url(bad\"2.png)}"
                                   "e{f:url(bad(3).png)} g{h:url(ok.png)}"),
                      "ok.png|");
  /* A newline ends a string as a bad one; the rest of the line is read as CSS again. */
  assert_string_equal(scan(&found, "@import \"bad\n4.css;\ng{h:url(ok.png)}"), "ok.png|");
  /* An empty url() reports nothing; url("") reports the empty string, which the caller
   * skips like an empty href. */
  assert_string_equal(scan(&found, "a{b:url()} c{d:url(\"\")}"), "|");
}

static void end_of_text_closes_an_open_url(void **state) {
  (void)state;
  struct found found;
  assert_string_equal(scan(&found, "a{b:url(open.png"), "open.png|");
  assert_string_equal(scan(&found, "@import \"open.css"), "open.css|");
  assert_string_equal(scan(&found, "a{b:url(\\41"), "A|");
  assert_string_equal(scan(&found, "a{b:\"url(no.png"), "");
}

static void values_too_long_are_dropped(void **state) {
  (void)state;
  size_t length = CSS_LINKS_REFERENCE_MAX + 100;
  char *css = malloc(length + 64);
  assert_non_null(css);
  strcpy(css, "a{b:url(data:image/png;base64,");
  size_t used = strlen(css);
  memset(css + used, 'A', length);
  strcpy(css + used + length, ")} c{d:url(after.png)}");
  struct found found;
  assert_string_equal(scan(&found, css), "after.png|");
  free(css);
}

static void every_piece_size_gives_the_same_references(void **state) {
  (void)state;
  static const char css[] = "@import url( \"x.css\" );/* c */@import 'y.css';"
                            "a{b:url(  p\\(1\\).png  )} c{d:url(\"q\\2F r.png\")}"
                            "e{content:\"url(no)\"} f{g:url(z.png)}";
  struct found whole, pieces;
  scan(&whole, css);
  assert_string_equal(whole.text, "x.css|y.css|p(1).png|q/r.png|z.png|");
  for (size_t piece = 1; piece <= sizeof css; piece++)
    assert_string_equal(scan_pieces(&pieces, css, piece), whole.text);
}

static void reset_starts_a_new_text(void **state) {
  (void)state;
  struct found found = {0};
  struct css_scanner *scanner = css_scanner_new(collect, &found);
  assert_non_null(scanner);
  css_scanner_feed(scanner, "/* open comment url(no.png)", 27);
  css_scanner_reset(scanner);
  css_scanner_feed(scanner, "a{b:url(yes.png)}", 17);
  css_scanner_finish(scanner);
  css_scanner_free(scanner);
  assert_string_equal(found.text, "yes.png|");
}

static void css_content_types_are_recognised(void **state) {
  (void)state;
  assert_true(css_links_content_type_is_css("text/css"));
  assert_true(css_links_content_type_is_css("Text/CSS; charset=utf-8"));
  assert_true(css_links_content_type_is_css(" text/css ;x=y"));
  assert_false(css_links_content_type_is_css(NULL));
  assert_false(css_links_content_type_is_css("text/cssx"));
  assert_false(css_links_content_type_is_css("text/html"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(url_tokens_quoted_and_unquoted_are_found),
      cmocka_unit_test(import_strings_and_import_urls_are_found),
      cmocka_unit_test(other_strings_comments_and_lookalikes_are_not_references),
      cmocka_unit_test(escapes_are_decoded),
      cmocka_unit_test(malformed_urls_and_strings_are_dropped),
      cmocka_unit_test(end_of_text_closes_an_open_url),
      cmocka_unit_test(values_too_long_are_dropped),
      cmocka_unit_test(every_piece_size_gives_the_same_references),
      cmocka_unit_test(reset_starts_a_new_text),
      cmocka_unit_test(css_content_types_are_recognised),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
