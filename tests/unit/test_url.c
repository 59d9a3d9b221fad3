/* url.h: url_base_resolve_simple() against curl (url_base_resolve()), on the hrefs of a real
 * documentation site (python3-doc's HTML, when installed), on hostile references, and on
 * many generated ones; and url_reference_key_length(), whose dropped fragment must not change
 * what curl makes of a reference. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "unit_helpers.h"

#include <ftw.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>

#include "afetch/url.h"

/* Where python3-doc puts its HTML on Debian; AFETCH_DOC_HTML names another tree. */
#define DOC_HTML_DEFAULT "/usr/share/doc/python3/html"

static const char *const test_bases[] = {
    "http://example.com/dir/page.html?x=1",
    "http://Example.COM:80/",
    "https://example.com:8443/a/b/c/",
    "http://example.com",
    "http://[::1]:8080/deep/er/index.html",
    "http://example.com/a;b=c/d(e)/f~g.html",
    "http://user:pw@example.com/dir/x", /* user info: never the simple way */
    "http://example.com/%7Euser/x.html", /* '%' in the base: never the simple way */
};

struct differential {
  size_t references;  /* compared */
  size_t simple;      /* resolved by url_base_resolve_simple() */
  size_t keys;        /* with a fragment url_reference_key_length() drops */
  size_t mismatches;
};

/* Compares url_base_resolve_simple() with curl for one reference and checks the dedupe key. */
static void compare_one(struct url_base *base, const char *reference,
                        struct differential *result) {
  size_t length = strlen(reference);
  char *by_curl = url_base_resolve(base, reference);
  const char *simple = url_base_resolve_simple(base, reference, length);
  result->references++;
  if (simple) {
    result->simple++;
    if (!by_curl || strcmp(simple, by_curl) != 0) {
      result->mismatches++;
      print_error("simple and curl differ for \"%s\": \"%s\" vs \"%s\"\n", reference, simple,
                  by_curl ? by_curl : "(rejected)");
    }
  }
  size_t key_length = url_reference_key_length(reference, length);
  assert_true(key_length <= length);
  if (key_length < length) {
    result->keys++;
    char *key = strndup(reference, key_length);
    assert_non_null(key);
    char *key_by_curl = url_base_resolve(base, key);
    bool same = (!key_by_curl && !by_curl) ||
                (key_by_curl && by_curl && strcmp(key_by_curl, by_curl) == 0);
    if (!same) {
      result->mismatches++;
      print_error("the key \"%s\" resolves apart from \"%s\"\n", key, reference);
    }
    curl_free(key_by_curl);
    free(key);
  }
  curl_free(by_curl);
}

static void compare_on_every_base(const char *reference, struct differential *result) {
  for (size_t i = 0; i < HELPER_COUNT(test_bases); i++) {
    struct url_base *base = url_base_new(test_bases[i]);
    assert_non_null(base);
    compare_one(base, reference, result);
    url_base_free(base);
  }
}

static void simple_resolution_of_common_references_matches_curl(void **state) {
  (void)state;
  static const char *const references[] = {
      "other.html", "../up.html", "/abs/path", "sub/dir/", "./here", "?q=1", "?", "?a=b&c=d",
      "x.html#frag", "x.html?y#z", "/doc#section-2", "a/b/../c", "a/./b", ".", "./", "..",
      "../", "../../../../x", "/..", "/../a", "/./a", "a/..", "a/../", "a/.", "..a", "a..",
      ".a/", "a?b/../c", "a?../", "?a#b?c", "a//b", "//", "///x", "~user/", "(x)", "a;b=c",
      "*", "!$&'()*+,;=", "-._~", "a/.../b", "a/.b/..c/", "/", "#", "", "#a", "./?x", "../?x", "./../?x", "././?x",
      "../../?x#y", "./.?x", "..?x", "/.?x", "/..?x",
  };
  struct differential result = {0};
  for (size_t i = 0; i < HELPER_COUNT(references); i++)
    compare_on_every_base(references[i], &result);
  assert_int_equal(result.mismatches, 0);
  /* The usual relative links do go the simple way. */
  assert_true(result.simple > result.references / 2);
}

static void unusual_references_are_left_to_curl(void **state) {
  (void)state;
  static const char *const references[] = {
      "//other.example/x", "http://example.com/", "HTTP://X/", "mailto:a@b", "a:b", "./a:b",
      "@x", "a\\b", "a b", "a%2e", "%2e%2e/", "%zz", "\x01", "a\x7f", "\xc3\xa9.html",
      "a#b#c", "a#b c", "a#\x01", "#", "", "#only", "a\tb", "a\nb", "a<b>", "a\"b", "a`b",
      "a{b}", "a|b", "a^b", "a[b]",
  };
  struct differential result = {0};
  struct url_base *base = url_base_new("http://example.com/dir/page.html");
  assert_non_null(base);
  for (size_t i = 0; i < HELPER_COUNT(references); i++) {
    assert_null(url_base_resolve_simple(base, references[i], strlen(references[i])));
    compare_on_every_base(references[i], &result);
  }
  url_base_free(base);
  assert_int_equal(result.simple, 0);
  assert_int_equal(result.mismatches, 0);
}

/* xorshift32, a fixed seed: the same references on every run. */
static uint32_t next_random(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

static void generated_references_resolve_as_curl_does(void **state) {
  (void)state;
  /* Pieces that matter to resolution, and single bytes from the whole range. */
  static const char *const pieces[] = {
      "a", "b.html", "/", "/", "..", ".", "?", "#", "=", "&", "%", "%2e", ":", "@", " ",
      "\\", "//", ";", "~", "\x01", "\xc3\xa9", "-", "_", "(", "'", "!", "+", "*", ",", "$",
  };
  struct differential result = {0};
  uint32_t seed = 0x2545F491u;
  char reference[64];
  struct url_base *bases[HELPER_COUNT(test_bases)];
  for (size_t i = 0; i < HELPER_COUNT(test_bases); i++)
    assert_non_null(bases[i] = url_base_new(test_bases[i]));
  for (int round = 0; round < 40000; round++) {
    size_t used = 0;
    size_t count = next_random(&seed) % 8;
    for (size_t i = 0; i < count; i++) {
      uint32_t draw = next_random(&seed);
      char byte[2] = {(char)(draw >> 8 & 0xFF), '\0'};
      const char *piece = draw % 8 == 0 ? byte : pieces[draw % HELPER_COUNT(pieces)];
      size_t piece_length = strlen(piece);
      if (used + piece_length >= sizeof reference)
        break;
      memcpy(reference + used, piece, piece_length);
      used += piece_length;
    }
    reference[used] = '\0';
    compare_one(bases[round % HELPER_COUNT(bases)], reference, &result);
  }
  for (size_t i = 0; i < HELPER_COUNT(bases); i++)
    url_base_free(bases[i]);
  assert_int_equal(result.mismatches, 0);
  assert_true(result.simple > 1000);
  assert_true(result.keys > 1000);
}

/* ---- every href and src of the python3-doc pages, each against its own page URL ---- */

static struct differential doc_result;
static struct url_base *doc_base;
static size_t doc_pages;

static void doc_on_start_element(void *context, const xmlChar *name, const xmlChar **attributes) {
  (void)context;
  (void)name;
  for (size_t i = 0; attributes && attributes[i]; i += 2)
    if (attributes[i + 1] && (xmlStrcasecmp(attributes[i], BAD_CAST "href") == 0 ||
                              xmlStrcasecmp(attributes[i], BAD_CAST "src") == 0))
      compare_one(doc_base, (const char *)attributes[i + 1], &doc_result);
}

static void doc_ignore_error(void *context, xmlErrorPtr error) {
  (void)context;
  (void)error;
}

static const char *doc_root;

static int doc_visit(const char *path, const struct stat *info, int type, struct FTW *where) {
  (void)info;
  (void)where;
  size_t length = strlen(path);
  if (type != FTW_F || length < 5 || strcmp(path + length - 5, ".html") != 0)
    return 0;
  char page_url[4096];
  snprintf(page_url, sizeof page_url, "http://127.0.0.1:8080/html%s", path + strlen(doc_root));
  doc_base = url_base_new(page_url);
  assert_non_null(doc_base);
  htmlSAXHandler sax;
  memset(&sax, 0, sizeof sax);
  sax.startElement = doc_on_start_element;
  sax.initialized = XML_SAX2_MAGIC;
  sax.serror = doc_ignore_error;
  htmlDocPtr document = htmlSAXParseFile(path, "utf-8", &sax, NULL);
  if (document)
    xmlFreeDoc(document);
  url_base_free(doc_base);
  doc_pages++;
  return 0;
}

static void every_href_of_the_python_docs_resolves_as_curl_does(void **state) {
  (void)state;
  const char *root = getenv("AFETCH_DOC_HTML");
  root = root ? root : DOC_HTML_DEFAULT;
  char resolved_root[4096];
  if (!realpath(root, resolved_root)) {
    print_message("skipped: no %s (apt-get install python3-doc)\n", root);
    skip();
  }
  doc_root = resolved_root;
  xmlSetStructuredErrorFunc(NULL, doc_ignore_error);
  assert_int_equal(nftw(resolved_root, doc_visit, 16, FTW_PHYS), 0);
  print_message("%zu pages, %zu references, %zu resolved the simple way, %zu keys\n", doc_pages,
                doc_result.references, doc_result.simple, doc_result.keys);
  assert_true(doc_pages > 0);
  assert_int_equal(doc_result.mismatches, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(simple_resolution_of_common_references_matches_curl),
      cmocka_unit_test(unusual_references_are_left_to_curl),
      cmocka_unit_test(generated_references_resolve_as_curl_does),
      cmocka_unit_test(every_href_of_the_python_docs_resolves_as_curl_does),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
