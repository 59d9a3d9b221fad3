/* version.h: the --version text names afetch's version, every library with the version loaded
 * at run time, the TLS backend and the license. */
#include "unit_helpers.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpsl.h>
#include <xxhash.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>

#include "afetch/version.h"

/* The text version_print() writes. The caller frees it. */
static char *version_text(void) {
  char *text = NULL;
  size_t length = 0;
  FILE *out = open_memstream(&text, &length);
  assert_non_null(out);
  version_print(out);
  assert_int_equal(fclose(out), 0);
  return text;
}

static void version_first_line_is_name_and_version(void **state) {
  (void)state;
  char *text = version_text();
  char first[64];
  snprintf(first, sizeof first, "afetch %s\n", AFETCH_VERSION);
  assert_memory_equal(text, first, strlen(first));
  free(text);
}

static void version_names_each_library_with_its_run_time_version(void **state) {
  (void)state;
  char *text = version_text();
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  char expected[7][128];
  snprintf(expected[0], sizeof expected[0], "libcurl %s", curl->version);
  snprintf(expected[1], sizeof expected[1], "(TLS: %s)",
           curl->ssl_version ? curl->ssl_version : "none");
  snprintf(expected[2], sizeof expected[2], "libevent %s", event_get_version());
  snprintf(expected[3], sizeof expected[3], "cJSON %s", cJSON_Version());
  snprintf(expected[4], sizeof expected[4], "libpsl %s", psl_get_version());
  snprintf(expected[5], sizeof expected[5], "libcrypto %s",
           OpenSSL_version(OPENSSL_VERSION_STRING));
  unsigned xxhash = XXH_versionNumber();
  snprintf(expected[6], sizeof expected[6], "xxHash %u.%u.%u", xxhash / 10000,
           xxhash / 100 % 100, xxhash % 100);
  for (size_t i = 0; i < HELPER_COUNT(expected); i++)
    if (!strstr(text, expected[i]))
      fail_msg("'%s' missing from:\n%s", expected[i], text);
  free(text);
}

/* libxml2 says "20914"; the text says 2.9.14. */
static void version_gives_libxml2_dotted(void **state) {
  (void)state;
  char *text = version_text();
  const char *libxml2 = strstr(text, "libxml2 ");
  assert_non_null(libxml2);
  unsigned major, minor, patch;
  assert_int_equal(sscanf(libxml2, "libxml2 %u.%u.%u", &major, &minor, &patch), 3);
  assert_int_equal(major * 10000 + minor * 100 + patch, strtoul(xmlParserVersion, NULL, 10));
  free(text);
}

static void version_names_the_license(void **state) {
  (void)state;
  char *text = version_text();
  assert_non_null(strstr(text, "License: MIT"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_first_line_is_name_and_version),
      cmocka_unit_test(version_names_each_library_with_its_run_time_version),
      cmocka_unit_test(version_gives_libxml2_dotted),
      cmocka_unit_test(version_names_the_license),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
