/* link_tags.h: the tags and attributes link extraction reads, told apart by first letter. */
#include "unit_helpers.h"

#include "afetch/link_tags.h"

static int set_up(void **state) {
  (void)state;
  link_tags_init();
  return 0;
}

static void every_tag_is_found_by_its_name_in_any_case(void **state) {
  (void)state;
  for (int tag = LINK_TAG_OTHER + 1; tag < LINK_TAG_COUNT; tag++) {
    const char *name = link_tag_name((enum link_tag)tag);
    assert_non_null(name);
    assert_int_equal(link_tag_of(name), tag);
    char upper[16];
    size_t length = strlen(name);
    assert_true(length < sizeof upper);
    for (size_t i = 0; i <= length; i++)
      upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
    assert_int_equal(link_tag_of(upper), tag);
  }
  assert_string_equal(link_tag_name(LINK_TAG_IMG), "img");
  assert_int_equal(link_tag_of("IfRaMe"), LINK_TAG_IFRAME);
  assert_null(link_tag_name(LINK_TAG_OTHER));
  assert_null(link_tag_name(LINK_TAG_COUNT));
}

/* Names that share a first letter, a prefix or all but one letter with a wanted one. */
static void other_names_are_other_tags(void **state) {
  (void)state;
  static const char *const others[] = {
      "",       "abbr",  "address", "areas",  "are",     "b",       "bas",    "basefont",
      "div",    "em",    "embeds",  "frames", "iframes", "i",       "im",     "imgs",
      "lin",    "links", "object1", "s",      "scrip",   "scripts", "span",   "sourc",
      "styles", "t",     "td",      "track-", "v",       "vide",    "videos", "\xe1",
      "a\xe1",  "@",     "A ",      "img\t",  "1a",
  };
  for (size_t i = 0; i < sizeof others / sizeof *others; i++)
    if (link_tag_of(others[i]) != LINK_TAG_OTHER)
      fail_msg("\"%s\" taken for a tag read", others[i]);
}

#define U(text) ((const unsigned char *)(text))

static void wanted_attributes_are_read_in_any_case(void **state) {
  (void)state;
  const unsigned char *attributes[] = {
      U("class"), U("x"),     U("HREF"),   U("/h"),         U("Rel"),    U("next"),
      U("src"),   U("/s"),    U("srcSet"), U("a 1x"),       U("poster"), U("p.jpg"),
      U("DATA"),  U("o.svg"), U("style"),  U("color: red"), NULL,        NULL,
  };
  const char *values[LINK_ATTRIBUTE_COUNT];
  link_attributes_read(attributes, values);
  assert_string_equal(values[LINK_ATTRIBUTE_HREF], "/h");
  assert_string_equal(values[LINK_ATTRIBUTE_REL], "next");
  assert_string_equal(values[LINK_ATTRIBUTE_SRC], "/s");
  assert_string_equal(values[LINK_ATTRIBUTE_SRCSET], "a 1x");
  assert_string_equal(values[LINK_ATTRIBUTE_POSTER], "p.jpg");
  assert_string_equal(values[LINK_ATTRIBUTE_DATA], "o.svg");
  assert_string_equal(values[LINK_ATTRIBUTE_STYLE], "color: red");
}

/* The first of a name counts; a name without a value reads as ""; lookalikes are not read. */
static void first_value_counts_and_lookalikes_are_skipped(void **state) {
  (void)state;
  const unsigned char *attributes[] = {
      U("hrefx"), U("/x"),      U("data-src"), U("/d"),  U("sr"), U("/sr"), U("href"), NULL,
      U("href"),  U("/second"), U("srcsets"),  U("/ss"), U("s"),  U("/s"),  NULL,      NULL,
  };
  const char *values[LINK_ATTRIBUTE_COUNT];
  link_attributes_read(attributes, values);
  assert_string_equal(values[LINK_ATTRIBUTE_HREF], "");
  for (int k = 0; k < LINK_ATTRIBUTE_COUNT; k++)
    if (k != LINK_ATTRIBUTE_HREF)
      assert_null(values[k]);
  link_attributes_read(NULL, values);
  for (int k = 0; k < LINK_ATTRIBUTE_COUNT; k++)
    assert_null(values[k]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_tag_is_found_by_its_name_in_any_case),
      cmocka_unit_test(other_names_are_other_tags),
      cmocka_unit_test(wanted_attributes_are_read_in_any_case),
      cmocka_unit_test(first_value_counts_and_lookalikes_are_skipped),
  };
  return cmocka_run_group_tests(tests, set_up, NULL);
}
