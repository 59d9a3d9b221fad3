/* links.h: the links of an HTML page, found by libxml2's push parser as the body streams in. */
#include "unit_helpers.h"

#include <pthread.h>

#include "afetch/links.h"

#define PAGE_URL "http://Example.COM:80/dir/page.html?x=1#top"

/* Every link reported, in order. */
struct collected {
  char **urls;
  size_t count, capacity;
};

static void collect(void *arg, const char *url) {
  struct collected *links = arg;
  if (links->count == links->capacity) {
    links->capacity = links->capacity ? 2 * links->capacity : 16;
    links->urls = realloc(links->urls, links->capacity * sizeof *links->urls);
    assert_non_null(links->urls);
  }
  links->urls[links->count] = strdup(url);
  assert_non_null(links->urls[links->count]);
  links->count++;
}

static void collected_free(struct collected *links) {
  for (size_t i = 0; i < links->count; i++)
    free(links->urls[i]);
  free(links->urls);
  *links = (struct collected){0};
}

/* Parses `length` bytes of `page` fed in pieces of `piece` bytes. */
static struct collected extract_pieces(const char *page_url, const char *page, size_t length,
                                       size_t piece) {
  struct collected links = {0};
  struct link_extractor *extractor = link_extractor_new(page_url, collect, &links);
  assert_non_null(extractor);
  for (size_t done = 0; done < length; done += piece)
    link_extractor_feed(extractor, page + done, length - done < piece ? length - done : piece);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  return links;
}

static struct collected extract(const char *page) {
  return extract_pieces(PAGE_URL, page, strlen(page), strlen(page) + 1);
}

/* Checks the links reported, in order, against `expected` and frees them. */
static void expect_links(struct collected *links, const char *const *expected, size_t count) {
  for (size_t i = 0; i < links->count && i < count; i++)
    assert_string_equal(links->urls[i], expected[i]);
  assert_int_equal(links->count, count);
  collected_free(links);
}

static void expect_no_links(struct collected *links) {
  for (size_t i = 0; i < links->count; i++)
    print_error("unexpected link: %s\n", links->urls[i]);
  assert_int_equal(links->count, 0);
  collected_free(links);
}

static void every_kind_of_link_is_found_and_resolved(void **state) {
  (void)state;
  struct collected links = extract("<!DOCTYPE html><html><head>"
                                   "<link rel=stylesheet href=\"style.css\">"
                                   "</head><body>"
                                   "<a href=\"other.html\">relative</a>"
                                   "<a href=\"../up.html\">parent</a>"
                                   "<a href=\"//Mirror.Example.ORG/x\">scheme-relative</a>"
                                   "<a href=\"https://secure.example.com:443/s\">absolute</a>"
                                   "<a href=\"/search?q=a+b&amp;n=2\">query</a>"
                                   "<a href=\"/doc#section-2\">fragment</a>"
                                   "<map><area href=\"/area\" alt=\"\"></map>"
                                   "<iframe src=\"/frame/inner.html\"></iframe>"
                                   "<frameset><frame src=\"frame.html\"></frameset>"
                                   "<a href=\"http://Example.com:8080/port\">port kept</a>"
                                   "</body></html>");
  expect_links(&links,
               HELPER_LIST(const char *const, "http://example.com/dir/style.css",
                           "http://example.com/dir/other.html", "http://example.com/up.html",
                           "http://mirror.example.org/x", "https://secure.example.com/s",
                           "http://example.com/search?q=a+b&n=2", "http://example.com/doc",
                           "http://example.com/area", "http://example.com/frame/inner.html",
                           "http://example.com/dir/frame.html", "http://example.com:8080/port"));
}

static void elements_without_links_report_nothing(void **state) {
  (void)state;
  /* img/script src, a without href, href on a tag that is not a link. */
  struct collected links = extract("<img src=/img.png><script src=/s.js></script>"
                                   "<a name=anchor>x</a><div href=/div>d</div>"
                                   "<form action=/post></form><iframe>no src</iframe>");
  expect_no_links(&links);
}

static void a_repeated_reference_is_reported_once(void **state) {
  (void)state;
  struct collected links = extract("<a href=/a>1</a><a href=/a>2</a><a href=\"/a#x\">3</a>"
                                   "<a href=\"/a#y\">4</a><a href=\" /a\">5</a><a href=/b>6</a>");
  expect_links(&links,
               HELPER_LIST(const char *const, "http://example.com/a", "http://example.com/b"));
}

static void different_references_to_one_url_are_each_reported(void **state) {
  (void)state;
  /* The caller dedupes URLs; the extractor only skips references it resolved already. */
  struct collected links = extract("<a href=/a>1</a><a href=\"./../a\">2</a>");
  expect_links(&links,
               HELPER_LIST(const char *const, "http://example.com/a", "http://example.com/a"));
}

static void a_rejected_fragment_does_not_hide_the_reference_without_it(void **state) {
  (void)state;
  /* curl rejects the control byte in the first one's fragment: it is a reference of its own. */
  struct collected links = extract("<a href=\"/a#\x01\">1</a><a href=/a>2</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/a"));
}

static void a_reference_repeated_after_base_resolves_against_the_base(void **state) {
  (void)state;
  struct collected links = extract("<a href=x.html>1</a><base href=\"/other/\">"
                                   "<a href=x.html>2</a><a href=x.html>3</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/dir/x.html",
                                   "http://example.com/other/x.html"));
}

static void base_href_changes_resolution_for_later_links_only(void **state) {
  (void)state;
  struct collected links = extract("<html><head><link href=early.css>"
                                   "<base href=\"../other/base/\" target=_top>"
                                   "<base href=\"http://ignored.example/\">"
                                   "</head><body><a href=\"late.html\">late</a>"
                                   "<a href=\"/root\">root</a>"
                                   "<a href=\"http://abs.example/\">absolute</a></body></html>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/dir/early.css",
                                   "http://example.com/other/base/late.html",
                                   "http://example.com/root", "http://abs.example/"));
}

static void base_on_another_host_moves_relative_links_there(void **state) {
  (void)state;
  struct collected links =
      extract("<base href=\"HTTPS://CDN.example.net/v2/\"><a href=\"page?id=7\">p</a>");
  expect_links(&links, HELPER_LIST(const char *const, "https://cdn.example.net/v2/page?id=7"));
}

static void base_without_href_or_unusable_leaves_the_page_url(void **state) {
  (void)state;
  /* <base target> has no href: it does not count, the next one does. */
  struct collected links =
      extract("<base target=_blank><base href=\"/b/\"><base href=/c/><a href=x>x</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/b/x"));
  /* A first <base href> that is not http(s) is used up: links keep the page's URL. */
  links = extract("<base href=\"javascript:void(0)\"><base href=/c/><a href=x>x</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/dir/x"));
}

static void nofollow_is_skipped_and_other_rels_kept(void **state) {
  (void)state;
  struct collected links = extract("<a href=/nf rel=nofollow>1</a>"
                                   "<a href=/nf2 rel=\"noopener  NoFollow\">2</a>"
                                   "<a href=/nf3 rel=\"\tnoreferrer\nnofollow \">3</a>"
                                   "<link rel=\"nofollow\" href=/nf4>"
                                   "<area rel=nofollow href=/nf5>"
                                   "<a href=/alt rel=alternate>4</a>"
                                   "<link rel=\"alternate\" hreflang=de href=/de>"
                                   "<a href=/nofollowing rel=\"nofollowing\">5</a>"
                                   "<a href=/ugc rel=\"ugc sponsored\">6</a>");
  expect_links(&links,
               HELPER_LIST(const char *const, "http://example.com/alt", "http://example.com/de",
                           "http://example.com/nofollowing", "http://example.com/ugc"));
}

static void non_http_schemes_are_skipped(void **state) {
  (void)state;
  struct collected links = extract("<a href=\"mailto:someone@example.com\">m</a>"
                                   "<a href=\"javascript:void(0)\">j</a>"
                                   "<a href=\" JavaScript:alert(1)\">j2</a>"
                                   "<a href=\"data:text/html,<p>hi\">d</a>"
                                   "<a href=\"ftp://ftp.example.com/file\">f</a>"
                                   "<a href=\"tel:+15550100\">t</a>"
                                   "<iframe src=\"about:blank\"></iframe>"
                                   "<a href=\"https://kept.example/\">kept</a>");
  expect_links(&links, HELPER_LIST(const char *const, "https://kept.example/"));
}

static void references_to_the_page_itself_are_skipped(void **state) {
  (void)state;
  struct collected links = extract("<a href=\"\">empty</a><a href=\"   \">blank</a><a href>none</a>"
                                   "<a href=\"#top\">fragment</a><a href=\" #x \">fragment</a>"
                                   "<a href=\"?page=2\">query</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/dir/page.html?page=2"));
}

static void whitespace_around_and_newlines_inside_urls_are_removed(void **state) {
  (void)state;
  /* As the URL standard: tabs and newlines go wherever they are, spaces only at the ends. */
  struct collected links = extract("<a href=\"  \n\t/padded  \r\n\">p</a>"
                                   "<a href=\"/long/\r\n\tpath.html\">wrapped</a>"
                                   "<a href=\"/a%20b/c d.html\">space inside</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/padded",
                                   "http://example.com/long/path.html",
                                   "http://example.com/a%20b/c%20d.html"));
}

static void broken_markup_still_yields_the_links(void **state) {
  (void)state;
  struct collected links = extract("<html><body><div><p>unclosed <b>bold <i>italic"
                                   "<a href=unquoted.html>no quotes</a>"
                                   "<a href='single.html'>single quotes</a>"
                                   "<p>a stray < in text and a < b > c"
                                   "<a href=\"after-stray.html\">after</a>"
                                   "<table><tr><td><a href=/in-table>t</td></form></span>"
                                   "</div></div></div><a href=/after-close>c</a>"
                                   "<<<>>><a<a href=/nested-garbage>g</a>"
                                   "<a href=/unterminated-a>never closed"
                                   "<li><ul><a href=/mis-nested></li></ul>"
                                   "<a href=/cut-by-the-end");
  expect_links(&links,
               HELPER_LIST(const char *const, "http://example.com/dir/unquoted.html",
                           "http://example.com/dir/single.html",
                           "http://example.com/dir/after-stray.html", "http://example.com/in-table",
                           "http://example.com/after-close", "http://example.com/nested-garbage",
                           "http://example.com/unterminated-a", "http://example.com/mis-nested",
                           "http://example.com/cut-by-the-end"));
}

static void uppercase_tags_and_attributes_are_found(void **state) {
  (void)state;
  struct collected links = extract("<HTML><BODY><A HREF=\"/upper\">u</A>"
                                   "<LINK REL=\"ALTERNATE\" HREF=\"/feed\">"
                                   "<A HREF=/nf REL=NOFOLLOW>n</A>"
                                   "<IFRAME SRC=\"/if\"></IFRAME><Area Href=/mixed>"
                                   "<BASE HREF=\"/based/\"><a HrEf=\"x\">x</a></BODY></HTML>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/upper",
                                   "http://example.com/feed", "http://example.com/if",
                                   "http://example.com/mixed", "http://example.com/based/x"));
}

static void links_in_scripts_styles_and_comments_are_not_reported(void **state) {
  (void)state;
  struct collected links = extract("<script>document.write('<a href=\"/from-script\">x</a>');"
                                   "var s = \"<iframe src='/script-frame'>\";</script>"
                                   "<script type=\"text/template\"><a href=/template></script>"
                                   "<style>/* <a href=/style> */ a { color: red }</style>"
                                   "<!-- <a href=\"/commented\">old</a> -->"
                                   "<!--<a href=/c2>--><a href=/real>real</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/real"));
}

/* A page with every kind of link, some markup errors and multi-byte text: the same links
 * whatever the pieces. */
static const char mixed_page[] =
    "<!DOCTYPE html>\n<html lang=fr><head><meta charset=\"utf-8\"><title>Caf\xc3\xa9</title>"
    "<link rel=stylesheet href=/s.css><base href=\"/base/\"></head>\n<body>"
    "<!-- <a href=/no> --><script>if (a < b) { x = '<a href=/no2>'; }</script>"
    "<p>\xe2\x82\xac \xf0\x9f\x98\x80 <a href=\"caf\xc3\xa9.html\">caf\xc3\xa9</a>"
    "<a HREF='../q?a=1&amp;b=2#frag'>q</a><a href=/nf rel=nofollow>nf</a>"
    "<a href=mailto:x@y.z>m</a><div><a href=//other.example/o>o</a>"
    "<iframe src=\"/f\"></iframe><a href=un quoted>u</a></body></html>\n";

static void page_fed_byte_by_byte_gives_the_same_links_as_whole(void **state) {
  (void)state;
  size_t length = sizeof mixed_page - 1;
  struct collected whole = extract_pieces(PAGE_URL, mixed_page, length, length);
  assert_int_equal(whole.count, 6);
  assert_string_equal(whole.urls[1], "http://example.com/base/caf%c3%a9.html");
  assert_string_equal(whole.urls[2], "http://example.com/q?a=1&b=2");
  const size_t pieces[] = {1, 2, 3, 7, 64};
  for (size_t p = 0; p < HELPER_COUNT(pieces); p++) {
    struct collected split = extract_pieces(PAGE_URL, mixed_page, length, pieces[p]);
    assert_int_equal(split.count, whole.count);
    for (size_t i = 0; i < whole.count; i++)
      assert_string_equal(split.urls[i], whole.urls[i]);
    collected_free(&split);
  }
  collected_free(&whole);
}

static void every_cut_into_three_pieces_gives_the_same_links(void **state) {
  (void)state;
  /* libxml2 2.9 misreads script text cut inside or just before an end tag: the extractor
   * holds such cuts back until the next piece. */
  static const char page[] =
      "<div><script>var s = '</scr' + 'ipt>'; if (a < b) x = '</b>';</script ><a href=/a>a</a>"
      "<style>p:after { content: '</a>' }</STYLE\n><a href=/b>b</a><script></script>"
      "<a href=/c>c</a><!-- </script> <a href=/no> --><a href=/d>d</a><script>x</sCrIpT>"
      "<script>document.write('</div><a href=/no2>');</script></div><a href=/e>e</a>"
      "<div><script></div>x</div><a href=/no3></script><a href=/f>f</a>"
      "<div><script></>\0</div><a href=/no4></script></div><a href=/g>g</a>";
  const size_t length = sizeof page - 1;
  const char *const expected[] = {"http://example.com/a", "http://example.com/b",
                                  "http://example.com/c", "http://example.com/d",
                                  "http://example.com/e", "http://example.com/f",
                                  "http://example.com/g"};
  for (size_t first = 1; first < length; first++) {
    for (size_t second = first; second < length && second < first + 12; second++) {
      struct collected links = {0};
      struct link_extractor *extractor = link_extractor_new(PAGE_URL, collect, &links);
      assert_non_null(extractor);
      link_extractor_feed(extractor, page, first);
      link_extractor_feed(extractor, page + first, second - first);
      link_extractor_feed(extractor, page + second, length - second);
      link_extractor_finish(extractor);
      link_extractor_free(extractor);
      expect_links(&links, expected, HELPER_COUNT(expected));
    }
  }
}

static void content_after_the_end_of_html_is_read(void **state) {
  (void)state;
  /* libxml2 2.9's push parser would stop at the first tag after </html>, or after an end
   * tag that closes nothing at the top. */
  struct collected links = extract("<html><body><a href=/in>in</a></body></html>\n"
                                   "<script>track()</script><a href=/after>after</a></html>"
                                   "text<a href=/again>again</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/in",
                                   "http://example.com/after", "http://example.com/again"));
  links = extract("</p></div><a href=/stray>s</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/stray"));
  links = extract("<!DOCTYPE html></head></html><a href=/x>x</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/x"));
  static const char cut[] = "<p>x</p></body></html>  \n<a href=/late>l</a>";
  for (size_t first = 1; first < sizeof cut - 1; first++) {
    links = (struct collected){0};
    struct link_extractor *extractor = link_extractor_new(PAGE_URL, collect, &links);
    link_extractor_feed(extractor, cut, first);
    link_extractor_feed(extractor, cut + first, sizeof cut - 1 - first);
    link_extractor_finish(extractor);
    link_extractor_free(extractor);
    expect_links(&links, HELPER_LIST(const char *const, "http://example.com/late"));
  }
}

/* A 2 MB page: text, comments and scripts between 20000 links. */
static char *big_page(size_t *length_out, size_t *links_out) {
  size_t capacity = 2500000, length = 0, links = 0;
  char *page = malloc(capacity);
  assert_non_null(page);
  length += (size_t)snprintf(page, capacity, "<html><body>\n");
  while (length < 2000000) {
    length += (size_t)snprintf(page + length, capacity - length,
                               "<p>Paragraph %zu, some text to pad the page out a little more "
                               "&amp; entities &lt;b&gt;</p><!-- <a href=/c%zu> -->"
                               "<script>var x%zu = '<a href=/s>';</script>"
                               "<a href=\"/item/%zu?ref=list\">item %zu</a>\n",
                               links, links, links, links, links);
    links++;
  }
  length += (size_t)snprintf(page + length, capacity - length, "</body></html>\n");
  *length_out = length;
  *links_out = links;
  return page;
}

static void two_megabyte_page_in_16_kib_pieces_yields_every_link(void **state) {
  (void)state;
  size_t length, count;
  char *page = big_page(&length, &count);
  struct collected links = extract_pieces(PAGE_URL, page, length, 16384);
  assert_int_equal(links.count, count);
  char expected[64];
  for (size_t i = 0; i < count; i++) {
    snprintf(expected, sizeof expected, "http://example.com/item/%zu?ref=list", i);
    assert_string_equal(links.urls[i], expected);
  }
  collected_free(&links);
  free(page);
}

static void invalid_utf8_and_nul_bytes_do_not_stop_extraction(void **state) {
  (void)state;
  static const char page[] = "<html><body><a href=/before>b</a>"
                             "<p>bad bytes: \xff\xfe\xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80"
                             " and a NUL: \0 in text</p><a href=/after-bad>a</a>"
                             "<a href=\"/nul\0ignored\">n</a><p>\x80\x80</p>"
                             "<a href=/end>e</a></body></html>";
  struct collected links = extract_pieces(PAGE_URL, page, sizeof page - 1, sizeof page);
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/before",
                                   "http://example.com/after-bad", "http://example.com/nul",
                                   "http://example.com/end"));
  /* The same fed a byte at a time. */
  links = extract_pieces(PAGE_URL, page, sizeof page - 1, 1);
  assert_int_equal(links.count, 4);
  assert_string_equal(links.urls[3], "http://example.com/end");
  collected_free(&links);
}

static void bytes_invalid_in_the_declared_charset_do_not_stop_extraction(void **state) {
  (void)state;
  /* 0x81 0x8D 0x8F 0x90 0x9D have no character in windows-1252; 0xFF 0xFF is no Shift_JIS. */
  static const char *const pages[] = {
      "<head><meta charset=windows-1252></head><body><a href=/one>\x81\x8d\x8f</a>"
      "<p>\x90\x9d</p><a href=/two>2</a></body>",
      "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">"
      "<a href=/one>\xff\xff\x81</a><p>\xa0\x80</p><a href=/two>2</a>",
      "<meta charset=\"x-no-such-charset\"><a href=/one>\xe9</a><a href=/two>2</a>",
      "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a href=/one>1</a><a href=/two>2</a>",
  };
  for (size_t i = 0; i < HELPER_COUNT(pages); i++) {
    for (size_t piece = 1; piece <= 4096; piece *= 4096) {
      struct collected links = extract_pieces(PAGE_URL, pages[i], strlen(pages[i]), piece);
      expect_links(&links, HELPER_LIST(const char *const, "http://example.com/one",
                                       "http://example.com/two"));
    }
  }
}

static void undeclared_latin1_link_text_is_read_as_latin1(void **state) {
  (void)state;
  /* Not UTF-8 and no charset: libxml2 reads the rest as ISO-8859-1, so é is U+00E9. */
  struct collected links = extract("<p>r\xe9sum\xe9</p><a href=\"caf\xe9.html\">c</a>");
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/dir/caf%c3%a9.html"));
}

static void empty_and_unfinished_pages_are_harmless(void **state) {
  (void)state;
  struct collected links = extract("");
  expect_no_links(&links);
  /* Freed without finish (a failed transfer): no crash, no leak; a feed after finish is
   * ignored. */
  struct link_extractor *extractor = link_extractor_new(PAGE_URL, collect, &links);
  assert_non_null(extractor);
  link_extractor_feed(extractor, "<a href=/x>", 11);
  link_extractor_free(extractor);
  collected_free(&links);
  extractor = link_extractor_new(PAGE_URL, collect, &links);
  link_extractor_finish(extractor);
  link_extractor_feed(extractor, "<a href=/late>", 14);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  expect_no_links(&links);
  link_extractor_free(NULL);
}

static void unparsable_page_url_reports_only_absolute_links(void **state) {
  (void)state;
  static const char page[] = "<a href=relative>r</a><a href=\"http://abs.example/a\">a</a>";
  struct collected links = extract_pieces("not a url", page, sizeof page - 1, sizeof page);
  expect_links(&links, HELPER_LIST(const char *const, "http://abs.example/a"));
  links = extract_pieces("ftp://example.com/", page, sizeof page - 1, sizeof page);
  expect_links(&links, HELPER_LIST(const char *const, "http://abs.example/a"));
}

static void link_found_while_its_piece_is_fed(void **state) {
  (void)state;
  struct collected links = {0};
  struct link_extractor *extractor = link_extractor_new(PAGE_URL, collect, &links);
  assert_non_null(extractor);
  const char *first = "<html><body><a href=\"/early\">early</a><p>";
  link_extractor_feed(extractor, first, strlen(first));
  /* Reported before the body ends: libxml2 may hold back only an unfinished tag. */
  assert_int_equal(links.count, 1);
  assert_string_equal(links.urls[0], "http://example.com/early");
  link_extractor_feed(extractor, "more text", 9);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/early"));
}

static void piece_cut_inside_a_quoted_value_does_not_hold_back_later_links(void **state) {
  (void)state;
  /* libxml2 2.9 loses track of the quote when a piece ends inside a quoted attribute value
   * and parses nothing more until the end: the extractor makes it look again. */
  struct collected links = {0};
  struct link_extractor *extractor = link_extractor_new(PAGE_URL, collect, &links);
  assert_non_null(extractor);
  const char *const pieces[] = {"<p><a title=\"a > b\" href=\"/fi", "rst\">1</a><p>text",
                                "<a href='/sec", "ond' rel=\"no", "ne\">2</a><p>"};
  for (size_t i = 0; i < HELPER_COUNT(pieces); i++)
    link_extractor_feed(extractor, pieces[i], strlen(pieces[i]));
  assert_int_equal(links.count, 2);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  expect_links(&links, HELPER_LIST(const char *const, "http://example.com/first",
                                   "http://example.com/second"));
}

static void links_of_a_big_page_come_while_it_is_fed(void **state) {
  (void)state;
  size_t length, count;
  char *page = big_page(&length, &count);
  struct collected links = {0};
  struct link_extractor *extractor = link_extractor_new(PAGE_URL, collect, &links);
  assert_non_null(extractor);
  for (size_t done = 0; done < length; done += 16384)
    link_extractor_feed(extractor, page + done, length - done < 16384 ? length - done : 16384);
  /* All found before the end: the parser keeps up, so it holds little of the page. */
  assert_int_equal(links.count, count);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  assert_int_equal(links.count, count);
  collected_free(&links);
  free(page);
}

/* Runs `run` with stderr sent to a temp file; returns what was written there. */
static char *stderr_of(void (*run)(void)) {
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  int capture = helper_anonymous_file();
  assert_true(dup2(capture, STDERR_FILENO) >= 0);
  run();
  fflush(stderr);
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  char *text = helper_file_content(capture, NULL);
  close(capture);
  return text;
}

static void parse_very_broken_pages(void) {
  static const char *const pages[] = {
      "<html><<<!DOCTYPE><!DOCTYPE html PUBLIC \"x\"><html><html><body><body>"
      "<a href=\"unclosed <b =x =y><p <div></span></span></html></html>&bogus; &#xFFFFFFFF; "
      "&#0; <!-- unterminated comment <![CDATA[ x ]]> <?pi ?> </ > <a/b/c>",
      "<meta charset=windows-1252><a href=/x>\x81\x8d\x8f\x90\x9d</a>",
      "<meta charset=\"no-such-charset\"><p>\xff\xfe\x00\x00</p>",
      "<?xml version=\"1.0\" encoding=\"EBCDIC-XX\"?><html><a href=/x>\xc3\x28</a>",
      "<meta http-equiv=content-type content=\"text/html; charset=ISO-2022-JP\">\x1b$B\xff\xff",
      "\xff\xfe<\0a\0 \0h\0r\0e\0f\0=\0x\0>\0\xd8\0",
      "<table><td><tr><th><caption><colgroup><col><frameset><frame><noframes></table>",
      "<svg><math><foreignObject><a xlink:href=/svg>s</a></foreignObject></math></svg>",
  };
  for (size_t i = 0; i < HELPER_COUNT(pages); i++) {
    size_t length = strlen(pages[i]) + (i == 5 ? 22 : 0);
    struct collected links = extract_pieces(PAGE_URL, pages[i], length, 1);
    collected_free(&links);
    links = extract_pieces(PAGE_URL, pages[i], length, length);
    collected_free(&links);
  }
}

static void nothing_is_printed_on_stderr(void **state) {
  (void)state;
  char *printed = stderr_of(parse_very_broken_pages);
  assert_string_equal(printed, "");
  free(printed);
}

struct thread_run {
  const char *page;
  size_t length, piece;
  struct collected links;
};

static void *extract_on_thread(void *arg) {
  struct thread_run *run = arg;
  run->links = extract_pieces(PAGE_URL, run->page, run->length, run->piece);
  return NULL;
}

static void extractors_on_several_threads_work_at_once(void **state) {
  (void)state;
  size_t length, count;
  char *page = big_page(&length, &count);
  struct thread_run runs[4];
  pthread_t threads[HELPER_COUNT(runs)];
  for (size_t i = 0; i < HELPER_COUNT(runs); i++) {
    runs[i] = (struct thread_run){.page = page, .length = length, .piece = 1000 + 3000 * i};
    assert_int_equal(pthread_create(&threads[i], NULL, extract_on_thread, &runs[i]), 0);
  }
  for (size_t i = 0; i < HELPER_COUNT(runs); i++) {
    assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(runs[i].links.count, count);
    assert_string_equal(runs[i].links.urls[count - 1], runs[0].links.urls[count - 1]);
  }
  for (size_t i = 0; i < HELPER_COUNT(runs); i++)
    collected_free(&runs[i].links);
  free(page);
}

static void html_content_types_are_recognised(void **state) {
  (void)state;
  assert_true(links_content_type_is_html("text/html"));
  assert_true(links_content_type_is_html("text/html; charset=utf-8"));
  assert_true(links_content_type_is_html("Text/HTML;charset=ISO-8859-1"));
  assert_true(links_content_type_is_html("TEXT/HTML"));
  assert_true(links_content_type_is_html(" text/html ; charset=utf-8"));
  assert_true(links_content_type_is_html("text/html "));
  assert_true(links_content_type_is_html("application/xhtml+xml"));
  assert_true(links_content_type_is_html("Application/XHTML+XML; charset=utf-8"));
}

static void other_content_types_are_not_html(void **state) {
  (void)state;
  assert_false(links_content_type_is_html(NULL));
  assert_false(links_content_type_is_html(""));
  assert_false(links_content_type_is_html("text/plain"));
  assert_false(links_content_type_is_html("text/htmlx"));
  assert_false(links_content_type_is_html("text/html-sandboxed"));
  assert_false(links_content_type_is_html("text/xml"));
  assert_false(links_content_type_is_html("application/xml"));
  assert_false(links_content_type_is_html("application/json"));
  assert_false(links_content_type_is_html("image/svg+xml"));
  assert_false(links_content_type_is_html("html"));
  assert_false(links_content_type_is_html("text/ html"));
  assert_false(links_content_type_is_html("x-text/html"));
}

/* ---- -p: requisites ---- */

/* Requisites as "via url" lines, and the links, of a page fed in pieces of `piece` bytes. */
struct requisites {
  struct collected found; /* "via url" */
  struct collected links;
};

static void collect_requisite(void *arg, const char *url, const char *via) {
  struct requisites *requisites = arg;
  char line[4096];
  snprintf(line, sizeof line, "%s %s", via, url);
  collect(&requisites->found, line);
}

static void collect_link_of_requisites(void *arg, const char *url) {
  struct requisites *requisites = arg;
  collect(&requisites->links, url);
}

static struct requisites extract_requisites_pieces(const char *page, size_t piece) {
  struct requisites requisites = {0};
  struct link_extractor *extractor =
      link_extractor_new(PAGE_URL, collect_link_of_requisites, &requisites);
  assert_non_null(extractor);
  link_extractor_find_requisites(extractor, collect_requisite);
  size_t length = strlen(page);
  for (size_t done = 0; done < length; done += piece)
    link_extractor_feed(extractor, page + done, length - done < piece ? length - done : piece);
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
  return requisites;
}

static struct requisites extract_requisites(const char *page) {
  return extract_requisites_pieces(page, strlen(page) + 1);
}

static void every_kind_of_requisite_is_found_with_what_asked_for_it(void **state) {
  (void)state;
  struct requisites found = extract_requisites(
      "<html><head><link rel=stylesheet href=\"s.css\">"
      "<link rel=\"shortcut icon\" href=\"/favicon.ico\">"
      "<link rel=\"alternate stylesheet\" href=\"alt.css\">"
      "<link rel=next href=\"next.html\">"
      "<script src=\"app.js\"></script><script>var x = '<img src=no.png>';</script>"
      "</head><body><a href=\"page.html\">p</a><img src=\"i.png\" alt=x>"
      "<video src=\"v.mp4\" poster=\"poster.jpg\"><source src=\"v.webm\">"
      "<track src=\"sub.vtt\"></video><audio src=\"a.ogg\"></audio>"
      "<object data=\"o.svg\"></object><embed src=\"e.swf\">"
      "<img src=\"mailto:x@y\"><img src=\"#top\"><img src=\"\"><img>"
      "<!-- <img src=\"comment.png\"> --></body></html>");
  expect_links(
      &found.found,
      HELPER_LIST(const char *const, "link http://example.com/dir/s.css",
                  "link http://example.com/favicon.ico", "link http://example.com/dir/alt.css",
                  "script http://example.com/dir/app.js", "img http://example.com/dir/i.png",
                  "video http://example.com/dir/v.mp4", "video http://example.com/dir/poster.jpg",
                  "source http://example.com/dir/v.webm", "track http://example.com/dir/sub.vtt",
                  "audio http://example.com/dir/a.ogg", "object http://example.com/dir/o.svg",
                  "embed http://example.com/dir/e.swf"));
  /* The links are those of a run without -p: link[href] of any rel, a[href]. */
  expect_links(&found.links,
               HELPER_LIST(const char *const, "http://example.com/dir/s.css",
                           "http://example.com/favicon.ico", "http://example.com/dir/alt.css",
                           "http://example.com/dir/next.html", "http://example.com/dir/page.html"));
}

/* Tag and attribute names are told apart by more than their first letter or a prefix, in
 * any case: <abbr>, <span>, <sourcex>, <tr> and data-src, hrefx, srcsetx name nothing. */
static void names_that_only_begin_like_wanted_ones_are_not_read(void **state) {
  (void)state;
  struct requisites found =
      extract_requisites("<abbr href=/abbr src=/abbr><areax href=/areax><AREA HREF=/area>"
                         "<span src=/span><sourcex src=/sourcex><SOURCE SRC=/source><tr src=/tr>"
                         "<Track SRC=/track><styles>x</styles><baser href=/baser/>"
                         "<img data-src=/data-src srcx=/srcx srcsetx=/srcsetx src=/img>"
                         "<a hrefx=/hrefx href=/a><video posterx=/px POSTER=/poster></video>"
                         "<object datax=/dx DATA=/data></object><a rel=nofollowx href=/kept>k</a>"
                         "<EMBED SRC=/embed><iFrame sRc=/iframe></iFrame>");
  expect_links(&found.found,
               HELPER_LIST(const char *const, "source http://example.com/source",
                           "track http://example.com/track", "img http://example.com/img",
                           "video http://example.com/poster", "object http://example.com/data",
                           "embed http://example.com/embed"));
  expect_links(&found.links,
               HELPER_LIST(const char *const, "http://example.com/area", "http://example.com/a",
                           "http://example.com/kept", "http://example.com/iframe"));
}

static void srcset_candidates_are_split_as_html_does(void **state) {
  (void)state;
  struct requisites found = extract_requisites(
      "<img srcset=\"a.png 1x, b.png 2x,c.png,, d.png 100w , e,f.png 3x\">"
      "<picture><source srcset=\"g.png (max-width: 1px, 2px) 1x, h.png\"></picture>"
      "<img srcset=\" , \">");
  expect_links(&found.found,
               HELPER_LIST(const char *const, "img http://example.com/dir/a.png",
                           "img http://example.com/dir/b.png", "img http://example.com/dir/c.png",
                           "img http://example.com/dir/d.png", "img http://example.com/dir/e,f.png",
                           "source http://example.com/dir/g.png",
                           "source http://example.com/dir/h.png"));
  collected_free(&found.links);
}

static void style_blocks_and_attributes_give_their_urls(void **state) {
  (void)state;
  static const char page[] = "<html><head><base href=\"http://example.com/base/\">"
                             "<style>@import \"imp.css\"; body{background:url(bg.png)}\n"
                             "/* url(no.png) */ p{content:\"url(no2.png)\"}</style>"
                             "<script>var s = 'url(no3.png)';</script>"
                             "<style>h1{background:url( '/h1.png' )}</style></head>"
                             "<body><div style=\"background-image: url(&quot;div.png&quot;)\">"
                             "<p style=\"color:red\">url(no4.png)</p></div>"
                             "<style>i{background:url(last.png</style></body></html>";
  static const char *const expected[] = {
      "style http://example.com/base/imp.css", "style http://example.com/base/bg.png",
      "style http://example.com/h1.png", "style http://example.com/base/div.png",
      "style http://example.com/base/last.png"};
  struct requisites whole = extract_requisites(page);
  expect_links(&whole.found, expected, HELPER_COUNT(expected));
  collected_free(&whole.links);
  for (size_t piece = 1; piece <= 7; piece += 3) {
    struct requisites pieces = extract_requisites_pieces(page, piece);
    expect_links(&pieces.found, expected, HELPER_COUNT(expected));
    collected_free(&pieces.links);
  }
}

/* A link and a requisite to the same URL are each reported (the crawl decides what the URL
 * is); a requisite repeated on the page is reported once. */
static void a_link_does_not_hide_a_requisite_to_the_same_url(void **state) {
  (void)state;
  struct requisites found = extract_requisites("<a href=\"x.png\">x</a><img src=\"x.png\">"
                                               "<img src=\"x.png#a\"><a href=\"x.png\">again</a>");
  expect_links(&found.found, HELPER_LIST(const char *const, "img http://example.com/dir/x.png"));
  expect_links(&found.links, HELPER_LIST(const char *const, "http://example.com/dir/x.png"));
}

/* What a fetched stylesheet's url() goes through too (body.c), as in a page's <style>. */
static void references_are_cleaned_as_html_does(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(links_clean_reference_into(" \t a b\n.png\r ", out), 7);
  assert_string_equal(out, "a b.png");
  assert_int_equal(links_clean_reference_into("\f \v", out), 0);
  assert_string_equal(out, "");
}

static void requisites_are_not_reported_unless_asked(void **state) {
  (void)state;
  struct collected links = extract("<img src=\"i.png\"><script src=\"s.js\"></script>"
                                   "<div style=\"background:url(d.png)\"></div>"
                                   "<style>a{b:url(s.png)}</style>");
  expect_no_links(&links);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_kind_of_link_is_found_and_resolved),
      cmocka_unit_test(elements_without_links_report_nothing),
      cmocka_unit_test(a_repeated_reference_is_reported_once),
      cmocka_unit_test(different_references_to_one_url_are_each_reported),
      cmocka_unit_test(a_rejected_fragment_does_not_hide_the_reference_without_it),
      cmocka_unit_test(a_reference_repeated_after_base_resolves_against_the_base),
      cmocka_unit_test(base_href_changes_resolution_for_later_links_only),
      cmocka_unit_test(base_on_another_host_moves_relative_links_there),
      cmocka_unit_test(base_without_href_or_unusable_leaves_the_page_url),
      cmocka_unit_test(nofollow_is_skipped_and_other_rels_kept),
      cmocka_unit_test(non_http_schemes_are_skipped),
      cmocka_unit_test(references_to_the_page_itself_are_skipped),
      cmocka_unit_test(whitespace_around_and_newlines_inside_urls_are_removed),
      cmocka_unit_test(broken_markup_still_yields_the_links),
      cmocka_unit_test(uppercase_tags_and_attributes_are_found),
      cmocka_unit_test(links_in_scripts_styles_and_comments_are_not_reported),
      cmocka_unit_test(page_fed_byte_by_byte_gives_the_same_links_as_whole),
      cmocka_unit_test(every_cut_into_three_pieces_gives_the_same_links),
      cmocka_unit_test(content_after_the_end_of_html_is_read),
      cmocka_unit_test(two_megabyte_page_in_16_kib_pieces_yields_every_link),
      cmocka_unit_test(invalid_utf8_and_nul_bytes_do_not_stop_extraction),
      cmocka_unit_test(bytes_invalid_in_the_declared_charset_do_not_stop_extraction),
      cmocka_unit_test(undeclared_latin1_link_text_is_read_as_latin1),
      cmocka_unit_test(empty_and_unfinished_pages_are_harmless),
      cmocka_unit_test(unparsable_page_url_reports_only_absolute_links),
      cmocka_unit_test(link_found_while_its_piece_is_fed),
      cmocka_unit_test(piece_cut_inside_a_quoted_value_does_not_hold_back_later_links),
      cmocka_unit_test(links_of_a_big_page_come_while_it_is_fed),
      cmocka_unit_test(nothing_is_printed_on_stderr),
      cmocka_unit_test(extractors_on_several_threads_work_at_once),
      cmocka_unit_test(html_content_types_are_recognised),
      cmocka_unit_test(other_content_types_are_not_html),
      cmocka_unit_test(every_kind_of_requisite_is_found_with_what_asked_for_it),
      cmocka_unit_test(srcset_candidates_are_split_as_html_does),
      cmocka_unit_test(style_blocks_and_attributes_give_their_urls),
      cmocka_unit_test(a_link_does_not_hide_a_requisite_to_the_same_url),
      cmocka_unit_test(references_are_cleaned_as_html_does),
      cmocka_unit_test(requisites_are_not_reported_unless_asked),
      cmocka_unit_test(names_that_only_begin_like_wanted_ones_are_not_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
