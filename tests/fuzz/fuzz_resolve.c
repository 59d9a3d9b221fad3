/* url_base_resolve_simple(), the resolution of common relative references without curl,
 * against curl's (url_base_resolve()); and url_reference_key_length(), the dedupe key of the
 * link extractor, whose dropped fragment must not change what curl makes of a reference.
 *
 * Input: [control byte][reference]. The control byte picks the base URL. Checked: when the
 * simple way answers, curl gives the same URL; a reference and its key resolve alike (both
 * rejected, or to the same URL). */
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/url.h"
#include "fuzz_helpers.h"

static const char *const fuzz_bases[] = {
    "http://example.com/dir/page.html?x=1",
    "http://Example.COM:80/",
    "https://example.com:8443/a/b/c/",
    "http://example.com",
    "http://[::1]:8080/deep/er/index.html",
    "http://example.com/a;b=c/d(e)/f~g.html",
    "http://user:pw@example.com/dir/x",
    "http://example.com/%7Euser/x.html",
};

static struct url_base *fuzz_parsed_bases[sizeof fuzz_bases / sizeof fuzz_bases[0]];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  for (size_t i = 0; i < sizeof fuzz_bases / sizeof fuzz_bases[0]; i++) {
    fuzz_parsed_bases[i] = url_base_new(fuzz_bases[i]);
    FUZZ_REQUIRE_MEMORY(fuzz_parsed_bases[i]);
  }
  return 0;
}

static bool fuzz_same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_input input = {data, size};
  uint8_t control = fuzz_take_byte(&input);
  struct url_base *base =
      fuzz_parsed_bases[control % (sizeof fuzz_bases / sizeof fuzz_bases[0])];
  char *reference = fuzz_copy_text(input.data, input.size);
  /* The extractor hands over C strings: a NUL ends the reference. */
  size_t length = strlen(reference);

  char *by_curl = url_base_resolve(base, reference);
  const char *simple = url_base_resolve_simple(base, reference, length);
  if (simple) {
    if (!by_curl || strcmp(simple, by_curl) != 0)
      fprintf(stderr, "reference \"%s\": simple \"%s\", curl \"%s\"\n", reference, simple,
              by_curl ? by_curl : "(rejected)");
    FUZZ_CHECK(by_curl != NULL && strcmp(simple, by_curl) == 0);
  }

  size_t key_length = url_reference_key_length(reference, length);
  FUZZ_CHECK(key_length <= length);
  if (key_length < length) {
    FUZZ_CHECK(key_length > 0 && reference[key_length] == '#');
    reference[key_length] = '\0';
    char *key_by_curl = url_base_resolve(base, reference);
    FUZZ_CHECK(fuzz_same(key_by_curl, by_curl));
    curl_free(key_by_curl);
  }
  curl_free(by_curl);
  free(reference);
  return 0;
}
