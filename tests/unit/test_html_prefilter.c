/* html_prefilter.h: what the filter in front of libxml2 removes and keeps, that its output
 * does not depend on where its input is cut, and that libxml2 finds the same links and
 * requisites with it as without it on the checked-in corpus of tricky pages
 * (tests/differential/corpus; `make prefilter-diff` runs the same check on real sites). */
#include "unit_helpers.h"

#include <dirent.h>

#include "afetch/html_prefilter.h"
#include "afetch/links.h"

#define CORPUS_DIR AFETCH_SOURCE_DIR "/tests/differential/corpus"

struct text {
  char *bytes;
  size_t length;
};

static void text_add(struct text *text, const char *bytes, size_t length) {
  text->bytes = realloc(text->bytes, text->length + length + 1);
  assert_non_null(text->bytes);
  memcpy(text->bytes + text->length, bytes, length);
  text->length += length;
  text->bytes[text->length] = '\0';
}

/* The filter's whole output for `page` fed in pieces of `piece` bytes. */
static struct text filter_pieces(const char *page, size_t length, size_t piece) {
  struct text output = {0};
  struct html_prefilter filter;
  assert_true(html_prefilter_init(&filter));
  const char *bytes;
  for (size_t done = 0; done < length; done += piece) {
    size_t size = length - done < piece ? length - done : piece;
    size_t got = html_prefilter_feed(&filter, page + done, size, &bytes);
    text_add(&output, bytes, got);
  }
  size_t got = html_prefilter_finish(&filter, &bytes);
  text_add(&output, bytes, got);
  html_prefilter_free(&filter);
  return output;
}

static bool text_contains(const struct text *text, const char *needle) {
  size_t length = strlen(needle);
  for (size_t at = 0; at + length <= text->length; at++)
    if (memcmp(text->bytes + at, needle, length) == 0)
      return true;
  return false;
}

static void expect_filtered(const char *page, const char *expected) {
  struct text output = filter_pieces(page, strlen(page), strlen(page) + 1);
  assert_string_equal(output.bytes, expected);
  free(output.bytes);
}

static void text_runs_become_their_class(void **state) {
  (void)state;
  expect_filtered("<p>Some words.</p>", "<p>#</p>");
  expect_filtered("<p>\n  \t</p>", "<p></p>");
  expect_filtered("<p>  words</p>", "<p> #</p>");
  expect_filtered("<p>caf\xc3\xa9 &amp; more</p>", "<p>#</p>");
  expect_filtered("only text", "#");
}

static void text_that_libxml2_treats_specially_is_kept(void **state) {
  (void)state;
  /* "&#" before any text may be no text at all: the rest of the run stays. */
  expect_filtered("<p>  &#0; x</p>", "<p>  &#0; x</p>");
  expect_filtered("<p>a\x01 b</p>", "<p>#\x01 b</p>");
  /* A '<' that starts nothing stays, and the text after it becomes its class. */
  expect_filtered("<p>a < b</p>", "<p>#< #</p>");
}

static void attributes_never_read_are_dropped(void **state) {
  (void)state;
  expect_filtered("<a class=\"reference internal\" href=\"x.html\" title='t'>X</a>",
                  "<a href=\"x.html\">#</a>");
  expect_filtered("<IMG ALT=x SRC=a.png SRCSET=\"b.png 2x\" width=3>",
                  "<IMG SRC=a.png SRCSET=\"b.png 2x\">");
  expect_filtered("<div id=d style=\"background:url(x.png)\" data-x=1 data=y>",
                  "<div style=\"background:url(x.png)\" data=y>");
  expect_filtered("<br class=x/>", "<br>");
  expect_filtered("<a href=x/>", "<a href=x/>");
  expect_filtered("<a href=x class=y/>", "<a href=x>"); /* "y/" is the value */
  expect_filtered("<a href=x class=\"y\"/>", "<a href=x />");
}

/* Whole and a byte at a time (the tag is then read across pieces). */
static void expect_filtered_in_any_piece(const char *page, const char *expected) {
  expect_filtered(page, expected);
  struct text output = filter_pieces(page, strlen(page), 1);
  assert_string_equal(output.bytes, expected);
  free(output.bytes);
}

static void fragment_hrefs_of_links_become_a_hash(void **state) {
  (void)state;
  expect_filtered_in_any_piece("<a class=x href=\"#top\" rel=nofollow>", "<a href=\"#\" rel=nofollow>");
  expect_filtered_in_any_piece("<AREA HREF = '#x y'><link href=#a.css>",
                               "<AREA HREF = '#'><link href=#>");
  expect_filtered_in_any_piece("<a href=#x/>", "<a href=#>");
  /* Not a fragment, not an href of a, area or link, or no value: as it came. */
  expect_filtered_in_any_piece("<a href=\" #x\" src=\"#y\"><a href=\"&#35;x\">",
                               "<a href=\" #x\" src=\"#y\"><a href=\"&#35;x\">");
  expect_filtered_in_any_piece("<base href=\"#b\"><img src=\"#i\"><abbr href=\"#c\"><a href>",
                               "<base href=\"#b\"><img src=\"#i\"><abbr href=\"#c\"><a href>");
  expect_filtered_in_any_piece("<a href=\"\"><a href=>", "<a href=\"\"><a href=>");
}

/* Once <body> is open, text after a tag is nothing to libxml2 and goes; until what may
 * close it (an end tag of body, html or head, <body/>, <head>, <html>), and not where
 * libxml2 treats text specially ("&#"). */
static void text_in_an_open_body_goes(void **state) {
  (void)state;
  expect_filtered_in_any_piece("<p>a</p><body><p>x <q>y</q></p>&#187; z</body>t<BODY >u<a>v</a>"
                               "<body/>w<p>y<HEAD>z<body>a</Body x>b<body>c</htmlx>d</html>e",
                               "<p>#</p><body><p><q></q></p>&#187; z</body>#<BODY><a></a>"
                               "<body/>#<p>#<HEAD>#<body></Body x>#<body></htmlx></html>#");
}

/* One text run in PREFILTER_TEXT_KEPT_GAP (256) bytes out stays in an open body (libxml2 frees
 * what it read only at text), wherever the page is cut. */
static void text_in_an_open_body_is_kept_now_and_then(void **state) {
  (void)state;
  struct text page = {0};
  text_add(&page, "<body>", 6);
  for (int i = 0; i < 200; i++)
    text_add(&page, "<p>x</p>", 8);
  struct text whole = filter_pieces(page.bytes, page.length, page.length);
  struct text bytes = filter_pieces(page.bytes, page.length, 1);
  assert_string_equal(whole.bytes, bytes.bytes);
  size_t kept = 0, last = 0;
  for (size_t at = 0; at < whole.length; at++)
    if (whole.bytes[at] == '#') {
      assert_true(kept == 0 || at - last >= 256);
      kept++;
      last = at;
    }
  assert_in_range(kept, 4, whole.length / 256); /* 1,406 bytes out */
  free(page.bytes);
  free(whole.bytes);
  free(bytes.bytes);
}

/* In an open body, "<span></span>" and the like go, nested too, when the last byte out is
 * '>'; a pair with anything between or around them stays. */
static void empty_inline_pairs_in_an_open_body_go(void **state) {
  (void)state;
  expect_filtered_in_any_piece("<span>a</span><body><p><span class=x>a</span><CODE><Span>b</sPan>"
                               "c</code><em>d<a href=x>e</a></em>",
                               "<span>#</span><body><p><em><a href=x></a></em>");
  expect_filtered_in_any_piece("<body><p><span>a</span >b<span>c</spanx><i/>d<b style=x>e</b>",
                               "<body><p><span></span ><span></spanx><i/><b style=x></b>");
  expect_filtered_in_any_piece("<body><p><span>&#1;</span><code><!--x--></code><b>< </b>",
                               "<body><p><span>&#1;</span><code><!--x--></code><b><</b>");
  expect_filtered_in_any_piece("<body><span><code>a</code>", "<body><span>");
  expect_filtered_in_any_piece("<body><span><code></body>", "<body><span><code></body>");
  expect_filtered_in_any_piece("<body>x <i>", "<body><i>");
  expect_filtered_in_any_piece("<body><em></em></Em></EM\n>", "<body></Em></EM\n>");
  expect_filtered_in_any_piece("<body><b></b\xff>", "<body><b></b\xff>");
}

static void meta_keeps_every_attribute(void **state) {
  (void)state;
  expect_filtered("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\">",
                  "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\">");
}

static void comments_scripts_and_end_tags_pass_unchanged(void **state) {
  (void)state;
  const char *page = "<!-- <a href=x> -- --><script>if (a<b) x='</div>'</script ><style>"
                     "p{background:url(y)}</style></p >";
  expect_filtered(page, page);
}

static void what_is_not_modelled_passes_through(void **state) {
  (void)state;
  static const char nul[] = "<p>a\0b<a class=c href=x>", pi[] = "<?xml x?><p class=c>t",
                    cdata[] = "<![CDATA[x]]><p class=c>",
                    doctype[] = "<!DOCTYPE x \"y\"><p class=c>", not_utf8[] = "<p>\xff<a class=c>";
  const struct {
    const char *page;
    size_t length;
  } pages[] = {{nul, sizeof nul - 1},
               {pi, sizeof pi - 1},
               {cdata, sizeof cdata - 1},
               {doctype, sizeof doctype - 1},
               {not_utf8, sizeof not_utf8 - 1}};
  for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
    struct text output = filter_pieces(pages[i].page, pages[i].length, pages[i].length);
    /* The attribute never read is still there: the filter gave up. */
    assert_true(text_contains(&output, " class=c"));
    free(output.bytes);
  }
}

static void a_long_tag_passes_unchanged(void **state) {
  (void)state;
  size_t length = HTML_PREFILTER_TAG_MAX + 100;
  char *page = malloc(length + 1);
  assert_non_null(page);
  memcpy(page, "<a title=\"", 10);
  memset(page + 10, 'x', length - 10);
  memcpy(page + length - 12, "\" href=y>z", 10);
  page[length - 2] = '\0';
  struct text output = filter_pieces(page, strlen(page), 100);
  page[strlen(page) - 1] = '#'; /* the text after it, as any */
  assert_string_equal(output.bytes, page);
  free(output.bytes);
  free(page);
}

/* Kept attributes with no blank between them each get one: the output outgrows the input
 * (room the filter must reserve; SANITIZE=1 checks it). */
static void dense_kept_attributes_grow_the_output(void **state) {
  (void)state;
  static const char tag[] = "<a src=\"\"src=\"\"src=\"\"src=\"\"/>";
  size_t count = 20000, length = count * (sizeof tag - 1);
  char *page = malloc(length + 1);
  assert_non_null(page);
  for (size_t i = 0; i < count; i++)
    memcpy(page + i * (sizeof tag - 1), tag, sizeof tag - 1);
  struct text output = filter_pieces(page, length, length);
  /* "<a" + 4 x " src=\"\"" + " />": 4 bytes more per tag. */
  assert_int_equal(output.length, length + 4 * count);
  free(output.bytes);
  free(page);
}

/* Every link and requisite of `page`, "via url" per line, fed in pieces of `piece`. */
static struct text extract(const char *page, size_t length, size_t piece, bool filtered);

static void on_link(void *arg, const char *url) {
  text_add(arg, "link ", 5);
  text_add(arg, url, strlen(url));
  text_add(arg, "\n", 1);
}

static void on_requisite(void *arg, const char *url, const char *via) {
  text_add(arg, via, strlen(via));
  text_add(arg, " ", 1);
  text_add(arg, url, strlen(url));
  text_add(arg, "\n", 1);
}

static struct text extract(const char *page, size_t length, size_t piece, bool filtered) {
  struct text found = {0};
  text_add(&found, "", 0);
  struct link_extractor *extractor =
      link_extractor_new("http://example.com/dir/page.html", on_link, &found);
  assert_non_null(extractor);
  link_extractor_use_prefilter(extractor, filtered);
  link_extractor_find_requisites(extractor, on_requisite);
  for (size_t done = 0; done < length; done += piece)
    link_extractor_feed(extractor, page + done, length - done < piece ? length - done : piece);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  return found;
}

static char *read_corpus_file(const char *name, size_t *length) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, name);
  FILE *file = fopen(path, "rb");
  assert_non_null(file);
  char *page = malloc(1 << 20);
  assert_non_null(page);
  *length = fread(page, 1, 1 << 20, file);
  fclose(file);
  return page;
}

/* One corpus page: links with and without the filter, and the filter's output, in pieces of
 * 1, 7 and 4096 bytes and whole. */
static void check_corpus_page(const char *name) {
  static const size_t pieces[] = {1, 7, 4096, 1 << 20};
  size_t length;
  char *page = read_corpus_file(name, &length);
  struct text whole_output = filter_pieces(page, length, 1 << 20);
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
    struct text plain = extract(page, length, pieces[i], false);
    struct text filtered = extract(page, length, pieces[i], true);
    if (strcmp(plain.bytes, filtered.bytes) != 0)
      fail_msg("%s in pieces of %zu: plain\n%s\nfiltered\n%s", name, pieces[i], plain.bytes,
               filtered.bytes);
    struct text output = filter_pieces(page, length, pieces[i]);
    assert_int_equal(output.length, whole_output.length);
    assert_memory_equal(output.bytes, whole_output.bytes, output.length);
    free(plain.bytes);
    free(filtered.bytes);
    free(output.bytes);
  }
  free(whole_output.bytes);
  free(page);
}

static void the_corpus_gives_the_same_links_with_and_without_the_filter(void **state) {
  (void)state;
  DIR *directory = opendir(CORPUS_DIR);
  assert_non_null(directory);
  size_t pages = 0;
  for (struct dirent *entry; (entry = readdir(directory));) {
    if (entry->d_name[0] == '.')
      continue;
    check_corpus_page(entry->d_name);
    pages++;
  }
  closedir(directory);
  assert_true(pages >= 30);
}

/* A few corpus pages whose links are known: the comparison above is not between two empty
 * lists. */
static void the_corpus_pages_have_the_links_expected(void **state) {
  (void)state;
  static const struct {
    const char *name, *link;
  } expected[] = {
      {"comment-gt.html", "link http://example.com/after-comment\n"},
      {"script-end-tags.html", "link http://example.com/after-upper\n"},
      {"entities.html", "link http://example.com/a?x=1&y=2\n"},
      {"base.html", "link http://example.com/sub/up\n"},
      {"srcset.html", "source http://example.com/dir/b.webp\n"},
      {"style-attribute.html", "style http://example.com/s.png\n"},
      {"end-tag-oddities.html", "link http://example.com/e2\n"},
      {"fuzz-text-after-second-html-end.html", "link http://example.com/after-sa\n"},
  };
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
    size_t length;
    char *page = read_corpus_file(expected[i].name, &length);
    struct text found = extract(page, length, length, true);
    if (!strstr(found.bytes, expected[i].link))
      fail_msg("%s: no \"%s\" in\n%s", expected[i].name, expected[i].link, found.bytes);
    free(found.bytes);
    free(page);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(text_runs_become_their_class),
      cmocka_unit_test(text_that_libxml2_treats_specially_is_kept),
      cmocka_unit_test(attributes_never_read_are_dropped),
      cmocka_unit_test(fragment_hrefs_of_links_become_a_hash),
      cmocka_unit_test(text_in_an_open_body_goes),
      cmocka_unit_test(empty_inline_pairs_in_an_open_body_go),
      cmocka_unit_test(text_in_an_open_body_is_kept_now_and_then),
      cmocka_unit_test(meta_keeps_every_attribute),
      cmocka_unit_test(comments_scripts_and_end_tags_pass_unchanged),
      cmocka_unit_test(what_is_not_modelled_passes_through),
      cmocka_unit_test(a_long_tag_passes_unchanged),
      cmocka_unit_test(dense_kept_attributes_grow_the_output),
      cmocka_unit_test(the_corpus_gives_the_same_links_with_and_without_the_filter),
      cmocka_unit_test(the_corpus_pages_have_the_links_expected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
