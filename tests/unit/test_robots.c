/* robots.h: RFC 9309 group selection, rule matching and Crawl-delay. */
#include "unit_helpers.h"

#include <time.h>

#include "afetch/robots.h"

/* Whether `agent` may fetch `path` under the robots.txt `text`. */
static bool allowed(const char *text, const char *agent, const char *path) {
  struct robots *robots = robots_parse(text, strlen(text), agent);
  assert_non_null(robots);
  bool result = robots_allows(robots, path);
  robots_free(robots);
  return result;
}

static double crawl_delay(const char *text, const char *agent) {
  struct robots *robots = robots_parse(text, strlen(text), agent);
  assert_non_null(robots);
  double delay = robots_crawl_delay(robots);
  robots_free(robots);
  return delay;
}

/* RFC 9309 section 5.1. */
static const char rfc_simple_example[] = "User-Agent: *\n"
                                         "Disallow: *.gif$\n"
                                         "Disallow: /example/\n"
                                         "Allow: /publications/\n"
                                         "\n"
                                         "User-Agent: foobot\n"
                                         "Disallow:/\n"
                                         "Allow:/example/page.html\n"
                                         "Allow:/example/allowed.gif\n"
                                         "\n"
                                         "User-Agent: barbot\n"
                                         "User-Agent: bazbot\n"
                                         "Disallow: /example/page.html\n"
                                         "\n"
                                         "User-Agent: quxbot\n"
                                         "\n"
                                         "EOF\n";

static void rfc_example_other_agents_follow_the_star_group(void **state) {
  (void)state;
  const char *text = rfc_simple_example;
  assert_false(allowed(text, "afetch", "/example/page.html"));
  assert_false(allowed(text, "afetch", "/images/cat.gif"));
  assert_true(allowed(text, "afetch", "/images/cat.gif?size=2"));
  assert_true(allowed(text, "afetch", "/publications/"));
  assert_true(allowed(text, "afetch", "/"));
}

static void rfc_example_foobot_may_fetch_only_its_two_pages(void **state) {
  (void)state;
  const char *text = rfc_simple_example;
  assert_true(allowed(text, "foobot", "/example/page.html"));
  assert_true(allowed(text, "foobot", "/example/allowed.gif"));
  assert_false(allowed(text, "foobot", "/example/other.html"));
  assert_false(allowed(text, "foobot", "/publications/"));
  assert_false(allowed(text, "foobot", "/"));
}

static void rfc_example_barbot_and_bazbot_share_one_group(void **state) {
  (void)state;
  const char *text = rfc_simple_example;
  assert_false(allowed(text, "barbot", "/example/page.html"));
  assert_false(allowed(text, "bazbot", "/example/page.html"));
  assert_true(allowed(text, "barbot", "/example/other.html"));
  assert_true(allowed(text, "bazbot", "/images/cat.gif"));
}

static void rfc_example_group_without_rules_allows_everything(void **state) {
  (void)state;
  const char *text = rfc_simple_example;
  assert_true(allowed(text, "quxbot", "/example/page.html"));
  assert_true(allowed(text, "quxbot", "/images/cat.gif"));
}

static void rfc_example_longest_match_wins(void **state) {
  (void)state;
  /* RFC 9309 section 5.2. */
  const char *text = "User-Agent: foobot\n"
                     "Allow: /example/page/\n"
                     "Disallow: /example/page/disallowed.gif\n";
  assert_true(allowed(text, "foobot", "/example/page/"));
  assert_true(allowed(text, "foobot", "/example/page/index.html"));
  assert_false(allowed(text, "foobot", "/example/page/disallowed.gif"));
}

static void groups_naming_the_same_agent_are_combined(void **state) {
  (void)state;
  /* RFC 9309 section 2.2.1. */
  const char *text = "user-agent: ExampleBot\n"
                     "disallow: /foo\n"
                     "disallow: /bar\n"
                     "\n"
                     "user-agent: ExampleBot\n"
                     "disallow: /baz\n"
                     "\n"
                     "user-agent: *\n"
                     "disallow: /qux\n";
  assert_false(allowed(text, "examplebot", "/foo"));
  assert_false(allowed(text, "examplebot", "/bar"));
  assert_false(allowed(text, "examplebot", "/baz"));
  assert_true(allowed(text, "examplebot", "/qux"));
}

static void star_groups_are_combined_too(void **state) {
  (void)state;
  const char *text = "user-agent: *\ndisallow: /a\n"
                     "user-agent: other\ndisallow: /b\n"
                     "user-agent: *\ndisallow: /c\n";
  assert_false(allowed(text, "afetch", "/a"));
  assert_true(allowed(text, "afetch", "/b"));
  assert_false(allowed(text, "afetch", "/c"));
}

static void agent_group_is_matched_ignoring_case(void **state) {
  (void)state;
  const char *text = "User-agent: AFetch\nDisallow: /private\n";
  assert_false(allowed(text, "afetch", "/private"));
  assert_false(allowed(text, "AFETCH", "/private"));
  assert_true(allowed(text, "afetch", "/public"));
}

static void agent_value_with_version_matches_its_product_token(void **state) {
  (void)state;
  assert_false(allowed("User-agent: afetch/1.0\nDisallow: /x\n", "afetch", "/x"));
  assert_false(
      allowed("User-agent: afetch (+https://example.com)\nDisallow: /x\n", "afetch", "/x"));
  /* The caller's agent is reduced to its token as well. */
  assert_false(allowed("User-agent: afetch\nDisallow: /x\n", "afetch/2.1", "/x"));
}

static void agent_must_match_the_whole_token(void **state) {
  (void)state;
  const char *text = "User-agent: afetchbot\nDisallow: /\n"
                     "User-agent: afetc\nDisallow: /\n"
                     "User-agent: *\nDisallow: /star-only\n";
  assert_true(allowed(text, "afetch", "/page"));
  assert_false(allowed(text, "afetch", "/star-only"));
}

static void star_group_applies_when_no_group_names_the_agent(void **state) {
  (void)state;
  const char *text = "User-agent: googlebot\nDisallow: /g\n"
                     "User-agent: *\nDisallow: /s\n";
  assert_true(allowed(text, "afetch", "/g"));
  assert_false(allowed(text, "afetch", "/s"));
}

static void named_group_replaces_the_star_group(void **state) {
  (void)state;
  /* Google's robots_test.cc: the most specific group for FooBot allows /x/page implicitly. */
  const char *text = "User-agent: *\nDisallow: /x/\n"
                     "User-agent: FooBot\nDisallow: /y/\n";
  assert_true(allowed(text, "FooBot", "/x/page"));
  assert_false(allowed(text, "FooBot", "/y/page"));
}

static void no_group_for_the_agent_and_no_star_group_allows_everything(void **state) {
  (void)state;
  assert_true(allowed("User-agent: otherbot\nDisallow: /\n", "afetch", "/anything"));
  assert_true(allowed("", "afetch", "/anything"));
  assert_true(allowed("Disallow: /\n", "afetch", "/anything"));
}

static void rules_before_the_first_user_agent_are_ignored(void **state) {
  (void)state;
  const char *text = "Disallow: /orphan\nUser-agent: *\nDisallow: /private\n";
  assert_true(allowed(text, "afetch", "/orphan"));
  assert_false(allowed(text, "afetch", "/private"));
}

static void user_agent_after_rules_starts_a_new_group(void **state) {
  (void)state;
  const char *text = "User-agent: afetch\nDisallow: /a\n"
                     "User-agent: other\nDisallow: /b\n";
  assert_false(allowed(text, "afetch", "/a"));
  assert_true(allowed(text, "afetch", "/b"));
  assert_true(allowed(text, "other", "/a"));
  assert_false(allowed(text, "other", "/b"));
}

static void other_records_do_not_split_a_group(void **state) {
  (void)state;
  const char *text = "User-agent: other\n"
                     "Sitemap: https://example.com/sitemap.xml\n"
                     "Crawl-delay: 3\n"
                     "User-agent: afetch\n"
                     "Disallow: /shared\n";
  assert_false(allowed(text, "other", "/shared"));
  assert_false(allowed(text, "afetch", "/shared"));
}

static void longest_match_wins(void **state) {
  (void)state;
  /* Google's robots_test.cc, ID_LongestMatch. */
  assert_true(allowed("user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/\n", "FooBot", "/x/"));
  assert_false(allowed("user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/\n", "FooBot",
                       "/x/page.html"));
  assert_true(allowed("user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n", "FooBot",
                      "/x/page.html"));
  assert_false(
      allowed("user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n", "FooBot", "/x/"));
  const char *text = "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n";
  assert_false(allowed(text, "FooBot", "/page.html"));
  assert_true(allowed(text, "FooBot", "/page"));
  text = "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n";
  assert_true(allowed(text, "FooBot", "/x/page.html"));
  assert_false(allowed(text, "FooBot", "/x/y.html"));
  text = "user-agent: FooBot\ndisallow: /\nallow: /$\n";
  assert_true(allowed(text, "FooBot", "/"));
  assert_false(allowed(text, "FooBot", "/x"));
}

static void allow_wins_a_tie(void **state) {
  (void)state;
  assert_true(allowed("user-agent: FooBot\ndisallow: \nallow: \n", "FooBot", "/x"));
  assert_true(allowed("user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/page.html\n", "FooBot",
                      "/x/page.html"));
  assert_true(allowed("user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/page.html\n", "FooBot",
                      "/x/page.html"));
  /* Same length, different patterns, both matching. */
  assert_true(allowed("user-agent: *\ndisallow: /a*c\nallow: /ab*\n", "afetch", "/abc"));
}

static void star_matches_any_sequence(void **state) {
  (void)state;
  const char *text = "User-agent: *\nDisallow: /fish*\n";
  assert_false(allowed(text, "afetch", "/fish"));
  assert_false(allowed(text, "afetch", "/fish.html"));
  assert_false(allowed(text, "afetch", "/fishheads/yummy.html"));
  assert_false(allowed(text, "afetch", "/fish.php?id=anything"));
  assert_true(allowed(text, "afetch", "/Fish.asp"));
  assert_true(allowed(text, "afetch", "/catfish"));
  text = "User-agent: *\nDisallow: /*.php\n";
  assert_false(allowed(text, "afetch", "/index.php"));
  assert_false(allowed(text, "afetch", "/folder/any.php.file.html"));
  assert_true(allowed(text, "afetch", "/windows.PHP"));
  text = "user-agent: FooBot\ndisallow: /foo/bar/quz\nallow: /foo/*/qux\n";
  assert_false(allowed(text, "FooBot", "/foo/bar/quz"));
  assert_true(allowed(text, "FooBot", "/foo/quz"));
  assert_true(allowed(text, "FooBot", "/foo//quz"));
  assert_true(allowed(text, "FooBot", "/foo/bax/quz"));
}

static void dollar_anchors_the_pattern_at_the_end(void **state) {
  (void)state;
  const char *text = "User-agent: *\nDisallow: /*.php$\n";
  assert_false(allowed(text, "afetch", "/filename.php"));
  assert_false(allowed(text, "afetch", "/folder/filename.php"));
  assert_true(allowed(text, "afetch", "/filename.php?parameters"));
  assert_true(allowed(text, "afetch", "/filename.php/"));
  assert_true(allowed(text, "afetch", "/filename.php5"));
  assert_true(allowed(text, "afetch", "/windows.PHP"));
  text = "User-agent: *\nDisallow: /this/path/exactly$\n";
  assert_false(allowed(text, "afetch", "/this/path/exactly"));
  assert_true(allowed(text, "afetch", "/this/path/exactly/not"));
  /* A '$' anywhere else is a literal character. */
  text = "User-agent: *\nDisallow: /a$b\n";
  assert_false(allowed(text, "afetch", "/a$b"));
  assert_false(allowed(text, "afetch", "/a%24bc"));
  assert_true(allowed(text, "afetch", "/a"));
}

static void empty_disallow_allows_everything(void **state) {
  (void)state;
  assert_true(allowed("User-agent: *\nDisallow:\n", "afetch", "/anything"));
  assert_true(allowed("User-agent: *\nDisallow:   # nothing\n", "afetch", "/anything"));
  /* It still makes a group for the agent, which replaces the "*" group. */
  const char *text = "User-agent: *\nDisallow: /\n\nUser-agent: afetch\nDisallow:\n";
  assert_true(allowed(text, "afetch", "/anything"));
  assert_false(allowed(text, "other", "/anything"));
}

static void comments_are_ignored(void **state) {
  (void)state;
  const char *text = "# robots.txt for example.com\n"
                     "User-agent: * # everyone\n"
                     "Disallow: /private # not this\n"
                     "# Disallow: /commented\n"
                     "Allow: / # comment on a rule\n";
  assert_false(allowed(text, "afetch", "/private"));
  assert_false(allowed(text, "afetch", "/private%20"));
  assert_true(allowed(text, "afetch", "/commented"));
  assert_true(allowed(text, "afetch", "/public"));
  assert_false(allowed(text, "afetch", "/privateer"));
}

static void keys_ignore_case_and_whitespace_is_optional(void **state) {
  (void)state;
  const char *text = "  USER-AGENT  :afetch\n"
                     "DISALLOW:/a\n"
                     "\tdisAllow \t:\t /b \t\n"
                     "ALLOW: /a/ok\n";
  assert_false(allowed(text, "afetch", "/a"));
  assert_false(allowed(text, "afetch", "/b"));
  assert_true(allowed(text, "afetch", "/a/ok"));
}

static void unknown_keys_and_malformed_lines_are_ignored(void **state) {
  (void)state;
  const char *text = "User-agent: *\n"
                     "Disallow /no-colon\n"
                     "Noindex: /x\n"
                     "Host: example.com\n"
                     "just some text\n"
                     "Disallow: /real\n";
  assert_true(allowed(text, "afetch", "/no-colon"));
  assert_true(allowed(text, "afetch", "/x"));
  assert_false(allowed(text, "afetch", "/real"));
}

static void crlf_and_cr_end_lines(void **state) {
  (void)state;
  const char *crlf = "User-agent: afetch\r\nDisallow: /a\r\nDisallow: /b\r\n";
  assert_false(allowed(crlf, "afetch", "/a"));
  assert_false(allowed(crlf, "afetch", "/b"));
  assert_true(allowed(crlf, "afetch", "/c"));
  const char *cr = "User-agent: afetch\rDisallow: /a\rDisallow: /b";
  assert_false(allowed(cr, "afetch", "/a"));
  assert_false(allowed(cr, "afetch", "/b"));
  const char *mixed = "User-agent: other\nDisallow: /x\r\rUser-agent: afetch\r\nDisallow: /y";
  assert_true(allowed(mixed, "afetch", "/x"));
  assert_false(allowed(mixed, "afetch", "/y"));
}

static void utf8_bom_is_ignored(void **state) {
  (void)state;
  const char *text = "\xEF\xBB\xBFUser-agent: afetch\nDisallow: /a\n";
  assert_false(allowed(text, "afetch", "/a"));
  assert_true(allowed(text, "afetch", "/b"));
}

static void text_need_not_be_nul_terminated(void **state) {
  (void)state;
  const char text[] = "User-agent: *\nDisallow: /ab";
  /* Only "Disallow: /a" is within the length given. */
  struct robots *robots = robots_parse(text, sizeof text - 2, "afetch");
  assert_non_null(robots);
  assert_false(robots_allows(robots, "/ax"));
  robots_free(robots);
}

static void percent_encoding_case_does_not_matter(void **state) {
  (void)state;
  assert_false(allowed("User-agent: *\nDisallow: /a%aa\n", "afetch", "/a%AA"));
  assert_false(allowed("User-agent: *\nDisallow: /a%AA\n", "afetch", "/a%aa/b"));
  assert_false(allowed("User-agent: *\nDisallow: /a%2fb\n", "afetch", "/a%2Fb"));
  assert_true(allowed("User-agent: *\nDisallow: /a%2Fb\n", "afetch", "/a/b"));
}

static void rfc_percent_encoding_examples(void **state) {
  (void)state;
  /* RFC 9309 section 2.2.2. */
  assert_false(allowed("User-agent: *\nDisallow: /foo/bar?baz=quz\n", "a", "/foo/bar?baz=quz"));
  assert_false(
      allowed("User-agent: *\nDisallow: /foo/bar/\xE3\x83\x84\n", "a", "/foo/bar/%E3%83%84"));
  assert_false(allowed("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n", "a", "/foo/bar/%E3%83%84"));
  assert_false(allowed("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n", "a", "/foo/bar/%e3%83%84"));
  /* An encoded unreserved character is the character itself, in either direction. */
  assert_false(allowed("User-agent: *\nDisallow: /foo/bar/%62%61%7A\n", "a", "/foo/bar/baz"));
  assert_false(allowed("User-agent: *\nDisallow: /foo/bar/baz\n", "a", "/foo/bar/%62%61%7A"));
  assert_false(allowed("User-agent: *\nDisallow: /foo/bar?baz=https%3A%2F%2Ffoo.bar\n", "a",
                       "/foo/bar?baz=https%3a%2f%2ffoo.bar"));
  /* A stray '%' is compared as "%25". */
  assert_false(allowed("User-agent: *\nDisallow: /100%\n", "a", "/100%25"));
  assert_false(allowed("User-agent: *\nDisallow: /100%\n", "a", "/100%"));
}

static void encoded_star_and_dollar_in_a_pattern_are_literals(void **state) {
  (void)state;
  /* RFC 9309 section 2.2.3. */
  const char *text = "User-agent: *\nDisallow: /path/file-with-a-%2A.html\n";
  assert_false(allowed(text, "a", "/path/file-with-a-*.html"));
  assert_false(allowed(text, "a", "/path/file-with-a-%2a.html"));
  assert_true(allowed(text, "a", "/path/file-with-a-x.html"));
  text = "User-agent: *\nDisallow: /path/foo-%24\n";
  assert_false(allowed(text, "a", "/path/foo-$"));
  assert_false(allowed(text, "a", "/path/foo-%24"));
  assert_true(allowed(text, "a", "/path/foo-"));
}

static void specificity_counts_octets_of_the_canonical_pattern(void **state) {
  (void)state;
  /* The two rules are one pattern spelled two ways: a tie, which Allow wins. */
  const char *text = "User-agent: *\n"
                     "Disallow: /foo/bar/%E3%83%84\n"
                     "Allow: /foo/bar/\xE3\x83\x84\n";
  assert_true(allowed(text, "a", "/foo/bar/%E3%83%84"));
  text = "User-agent: *\nAllow: /x/%62%61%7A\nDisallow: /x/baz\n";
  assert_true(allowed(text, "a", "/x/baz"));
}

static void query_string_is_part_of_the_path(void **state) {
  (void)state;
  const char *text = "User-agent: *\n"
                     "Disallow: /*?sort=\n"
                     "Disallow: /search?\n"
                     "Allow: /search?q=public\n";
  assert_false(allowed(text, "a", "/list?sort=asc"));
  assert_true(allowed(text, "a", "/list?order=asc"));
  assert_true(allowed(text, "a", "/list"));
  assert_false(allowed(text, "a", "/search?q=secret"));
  assert_true(allowed(text, "a", "/search?q=public&page=2"));
  assert_true(allowed(text, "a", "/search"));
}

static void robots_txt_is_always_allowed(void **state) {
  (void)state;
  const char *text = "User-agent: *\nDisallow: /\nDisallow: /robots.txt\n";
  assert_true(allowed(text, "afetch", "/robots.txt"));
  assert_true(allowed(text, "afetch", "/robots.txt?x=1"));
  assert_false(allowed(text, "afetch", "/robots.txt.bak"));
  assert_false(allowed(text, "afetch", "/"));
}

static void empty_path_counts_as_the_root(void **state) {
  (void)state;
  const char *text = "User-agent: *\nDisallow: /$\n";
  assert_false(allowed(text, "afetch", ""));
  assert_false(allowed(text, "afetch", "/"));
  assert_true(allowed(text, "afetch", "/a"));
}

static void crawl_delay_comes_from_the_applying_group(void **state) {
  (void)state;
  const char *text = "User-agent: *\nCrawl-delay: 7\nDisallow: /s\n"
                     "User-agent: afetch\nCrawl-delay: 2.5\nDisallow: /x\n"
                     "User-agent: other\nCrawl-delay: 9\n";
  assert_true(crawl_delay(text, "afetch") == 2.5);
  assert_true(crawl_delay(text, "AFetch/3") == 2.5);
  assert_true(crawl_delay(text, "somebot") == 7.0);
  assert_true(crawl_delay(text, "other") == 9.0);
  assert_true(crawl_delay("User-agent: *\nDisallow: /\n", "afetch") == 0.0);
  assert_true(crawl_delay("Crawl-delay: 5\nUser-agent: *\nDisallow:\n", "afetch") == 0.0);
  assert_true(crawl_delay("User-agent: *\ncrawl-delay: .5\n", "afetch") == 0.5);
}

static void first_valid_crawl_delay_wins(void **state) {
  (void)state;
  const char *text = "User-agent: afetch\nCrawl-delay: 3\nDisallow: /\n"
                     "User-agent: afetch\nCrawl-delay: 8\n";
  assert_true(crawl_delay(text, "afetch") == 3.0);
}

static void invalid_crawl_delays_are_ignored(void **state) {
  (void)state;
  const char *invalid[] = {"",     "abc",  "-1",  "+2",    "1e3", "inf", "nan",
                           "0x10", "1.5s", "1,5", "1.2.3", ".",   "5 6"};
  char text[128];
  for (size_t i = 0; i < HELPER_COUNT(invalid); i++) {
    snprintf(text, sizeof text, "User-agent: *\nCrawl-delay: %s\n", invalid[i]);
    assert_true(crawl_delay(text, "afetch") == 0.0);
    snprintf(text, sizeof text, "User-agent: *\nCrawl-delay: %s\nCrawl-delay: 4\n", invalid[i]);
    assert_true(crawl_delay(text, "afetch") == 4.0);
  }
}

static void crawl_delay_is_capped_at_sixty_seconds(void **state) {
  (void)state;
  assert_true(crawl_delay("User-agent: *\nCrawl-delay: 60\n", "afetch") == 60.0);
  assert_true(crawl_delay("User-agent: *\nCrawl-delay: 60.5\n", "afetch") == 60.0);
  assert_true(crawl_delay("User-agent: *\nCrawl-delay: 86400\n", "afetch") == 60.0);
  assert_true(crawl_delay("User-agent: *\nCrawl-delay: 99999999999999999999999999999999999999\n",
                          "afetch") == 60.0);
}

/* A robots.txt of `size` bytes: "User-agent: *", comment lines, and `last` as its final line
 * starting at byte size - strlen(last). */
static char *padded_robots(size_t size, const char *last) {
  char *text = malloc(size + 1);
  assert_non_null(text);
  const char *head = "User-agent: *\n";
  size_t head_length = strlen(head), last_length = strlen(last);
  assert_true(size > head_length + last_length + 2);
  memcpy(text, head, head_length);
  size_t pad_end = size - last_length;
  memset(text + head_length, '#', pad_end - head_length);
  for (size_t i = head_length + 99; i < pad_end - 1; i += 100)
    text[i] = '\n';
  text[pad_end - 1] = '\n';
  memcpy(text + pad_end, last, last_length);
  text[size] = '\0';
  return text;
}

static void only_the_first_500_kib_are_read(void **state) {
  (void)state;
  /* A rule ending exactly at byte 512000 counts; one starting after it does not. */
  char *text = padded_robots(512000, "Disallow: /in\n");
  struct robots *robots = robots_parse(text, 512000, "afetch");
  assert_non_null(robots);
  assert_false(robots_allows(robots, "/in"));
  robots_free(robots);
  free(text);

  text = padded_robots(512000 + 20, "Disallow: /beyond\n");
  robots = robots_parse(text, 512000 + 20, "afetch");
  assert_non_null(robots);
  assert_true(robots_allows(robots, "/beyond"));
  robots_free(robots);
  free(text);

  /* A line cut by the limit is dropped, not read as a shorter pattern. */
  text = padded_robots(512000 + 4, "Disallow: /abcdef\n");
  robots = robots_parse(text, 512000 + 4, "afetch");
  assert_non_null(robots);
  assert_true(robots_allows(robots, "/abc"));
  robots_free(robots);
  free(text);

  /* Without its line end, the last line within the limit still counts. */
  text = padded_robots(512000 + 1, "Disallow: /at-the-limit\n");
  robots = robots_parse(text, 512000 + 1, "afetch");
  assert_non_null(robots);
  assert_false(robots_allows(robots, "/at-the-limit"));
  robots_free(robots);
  free(text);
}

static void many_wildcards_do_not_make_matching_exponential(void **state) {
  (void)state;
  size_t length = 100000;
  char *path = malloc(length + 1);
  assert_non_null(path);
  path[0] = '/';
  memset(path + 1, 'a', length - 1);
  path[length] = '\0';
  const char *text = "User-agent: *\n"
                     "Disallow: /a*a*a*a*a*a*a*a*b\n"
                     "Disallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*$b\n"
                     "Allow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a$\n";
  struct robots *robots = robots_parse(text, strlen(text), "afetch");
  assert_non_null(robots);
  clock_t start = clock();
  assert_true(robots_allows(robots, path));
  path[length - 1] = 'b';
  assert_false(robots_allows(robots, path));
  double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
  assert_true(seconds < 5.0);
  robots_free(robots);
  free(path);
}

static void allow_all_allows_everything(void **state) {
  (void)state;
  struct robots *robots = robots_allow_all();
  assert_non_null(robots);
  assert_true(robots_allows(robots, "/"));
  assert_true(robots_allows(robots, "/private?x=1"));
  assert_true(robots_crawl_delay(robots) == 0.0);
  robots_free(robots);
}

static void disallow_all_disallows_everything_but_robots_txt(void **state) {
  (void)state;
  struct robots *robots = robots_disallow_all();
  assert_non_null(robots);
  assert_false(robots_allows(robots, "/"));
  assert_false(robots_allows(robots, "/page?x=1"));
  assert_true(robots_allows(robots, "/robots.txt"));
  assert_true(robots_crawl_delay(robots) == 0.0);
  robots_free(robots);
  robots_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rfc_example_other_agents_follow_the_star_group),
      cmocka_unit_test(rfc_example_foobot_may_fetch_only_its_two_pages),
      cmocka_unit_test(rfc_example_barbot_and_bazbot_share_one_group),
      cmocka_unit_test(rfc_example_group_without_rules_allows_everything),
      cmocka_unit_test(rfc_example_longest_match_wins),
      cmocka_unit_test(groups_naming_the_same_agent_are_combined),
      cmocka_unit_test(star_groups_are_combined_too),
      cmocka_unit_test(agent_group_is_matched_ignoring_case),
      cmocka_unit_test(agent_value_with_version_matches_its_product_token),
      cmocka_unit_test(agent_must_match_the_whole_token),
      cmocka_unit_test(star_group_applies_when_no_group_names_the_agent),
      cmocka_unit_test(named_group_replaces_the_star_group),
      cmocka_unit_test(no_group_for_the_agent_and_no_star_group_allows_everything),
      cmocka_unit_test(rules_before_the_first_user_agent_are_ignored),
      cmocka_unit_test(user_agent_after_rules_starts_a_new_group),
      cmocka_unit_test(other_records_do_not_split_a_group),
      cmocka_unit_test(longest_match_wins),
      cmocka_unit_test(allow_wins_a_tie),
      cmocka_unit_test(star_matches_any_sequence),
      cmocka_unit_test(dollar_anchors_the_pattern_at_the_end),
      cmocka_unit_test(empty_disallow_allows_everything),
      cmocka_unit_test(comments_are_ignored),
      cmocka_unit_test(keys_ignore_case_and_whitespace_is_optional),
      cmocka_unit_test(unknown_keys_and_malformed_lines_are_ignored),
      cmocka_unit_test(crlf_and_cr_end_lines),
      cmocka_unit_test(utf8_bom_is_ignored),
      cmocka_unit_test(text_need_not_be_nul_terminated),
      cmocka_unit_test(percent_encoding_case_does_not_matter),
      cmocka_unit_test(rfc_percent_encoding_examples),
      cmocka_unit_test(encoded_star_and_dollar_in_a_pattern_are_literals),
      cmocka_unit_test(specificity_counts_octets_of_the_canonical_pattern),
      cmocka_unit_test(query_string_is_part_of_the_path),
      cmocka_unit_test(robots_txt_is_always_allowed),
      cmocka_unit_test(empty_path_counts_as_the_root),
      cmocka_unit_test(crawl_delay_comes_from_the_applying_group),
      cmocka_unit_test(first_valid_crawl_delay_wins),
      cmocka_unit_test(invalid_crawl_delays_are_ignored),
      cmocka_unit_test(crawl_delay_is_capped_at_sixty_seconds),
      cmocka_unit_test(only_the_first_500_kib_are_read),
      cmocka_unit_test(many_wildcards_do_not_make_matching_exponential),
      cmocka_unit_test(allow_all_allows_everything),
      cmocka_unit_test(disallow_all_disallows_everything_but_robots_txt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
