/* -o names: output_name_for_url (URL + template) and output_names_claim.
 *
 * Input: [4 index bytes][URL][NUL][template]. Without a NUL the template is NULL (the default
 * layout "{host}/{path}"). The template stops at a second NUL, as a C string from the command
 * line or a JSON line's "output" would.
 *
 * Checked, for every name given out: relative (no leading '/'), no empty, "." or ".."
 * segment, no segment over 200 bytes, no control byte, DEL, backslash or byte >= 0x80 (so it
 * is ASCII), at most OUTPUT_NAME_MAX bytes; a buffer too small gives false, never a cut name;
 * a second URL claiming the same name gets another one, the first URL keeps its own, and a
 * URL claiming again gets the name it had. */
#include <stdint.h>

#include "afetch/output_name.h"
#include "fuzz_helpers.h"

#define FUZZ_SEGMENT_MAX 200

static void fuzz_check_name(const char *name) {
  size_t length = strlen(name);
  FUZZ_CHECK(length > 0 && length <= OUTPUT_NAME_MAX);
  FUZZ_CHECK(name[0] != '/');
  const char *segment = name;
  for (;;) {
    const char *slash = strchr(segment, '/');
    size_t segment_length = slash ? (size_t)(slash - segment) : strlen(segment);
    FUZZ_CHECK(segment_length > 0 && segment_length <= FUZZ_SEGMENT_MAX);
    FUZZ_CHECK(!(segment_length == 1 && segment[0] == '.'));
    FUZZ_CHECK(!(segment_length == 2 && segment[0] == '.' && segment[1] == '.'));
    if (!slash)
      break;
    segment = slash + 1;
  }
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    FUZZ_CHECK(*c >= 0x20 && *c < 0x7F && *c != '\\');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_input input = {data, size};
  uint64_t index = fuzz_take_u32(&input);
  const uint8_t *nul = memchr(input.data, '\0', input.size);
  size_t url_length = nul ? (size_t)(nul - input.data) : input.size;
  char *url = fuzz_copy_text(input.data, url_length);
  char *template = nul ? fuzz_copy_text(nul + 1, input.size - url_length - 1) : NULL;

  char name[OUTPUT_NAME_MAX + 1];
  if (!output_name_for_url(url, template, index, name, sizeof name)) {
    free(url);
    free(template);
    return 0;
  }
  fuzz_check_name(name);

  /* The same name in a buffer too small for it: refused, not cut. */
  char small[16];
  bool fits = output_name_for_url(url, template, index, small, sizeof small);
  FUZZ_CHECK(fits == (strlen(name) < sizeof small));
  if (fits)
    FUZZ_CHECK(strcmp(small, name) == 0);

  struct output_names *names = output_names_new();
  FUZZ_REQUIRE_MEMORY(names);
  char first[OUTPUT_NAME_MAX + 1], second[OUTPUT_NAME_MAX + 1], again[OUTPUT_NAME_MAX + 1];
  memcpy(first, name, sizeof name);
  FUZZ_CHECK(output_names_claim(names, url, first, sizeof first));
  FUZZ_CHECK(strcmp(first, name) == 0);

  /* Another URL wanting the same name: a suffixed one, or false when none fits. */
  size_t other_length = strlen(url) + sizeof "#other";
  char *other_url = malloc(other_length);
  FUZZ_REQUIRE_MEMORY(other_url);
  snprintf(other_url, other_length, "%s#other", url);
  memcpy(second, name, sizeof name);
  if (output_names_claim(names, other_url, second, sizeof second)) {
    fuzz_check_name(second);
    FUZZ_CHECK(strcmp(second, first) != 0);
    memcpy(again, name, sizeof name);
    FUZZ_CHECK(output_names_claim(names, other_url, again, sizeof again));
    FUZZ_CHECK(strcmp(again, second) == 0);
  } else {
    FUZZ_CHECK(strcmp(second, name) == 0); /* unchanged on failure */
  }
  memcpy(again, name, sizeof name);
  FUZZ_CHECK(output_names_claim(names, url, again, sizeof again));
  FUZZ_CHECK(strcmp(again, first) == 0);

  output_names_free(names);
  free(other_url);
  free(url);
  free(template);
  return 0;
}
