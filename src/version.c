/* --version: afetch's version, its libraries' and its license. */
#include "afetch/version.h"

#include <stdlib.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <libpsl.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <xxhash.h>

/* libxml2 gives its run-time version as a number in a string, "20914" for 2.9.14. */
static void version_print_libxml2(FILE *out) {
  long number = strtol(xmlParserVersion, NULL, 10);
  fprintf(out, "libxml2 %ld.%ld.%ld", number / 10000, number / 100 % 100, number % 100);
}

void version_print(FILE *out) {
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  fprintf(out, "afetch %s\n", AFETCH_VERSION);
  fprintf(out, "Libraries: libcurl %s (TLS: %s), libevent %s, cJSON %s,\n  ", curl->version,
          curl->ssl_version ? curl->ssl_version : "none", event_get_version(), cJSON_Version());
  version_print_libxml2(out);
  unsigned xxhash = XXH_versionNumber(); /* 801 for 0.8.1 */
  fprintf(out, ", libpsl %s, libcrypto %s, xxHash %u.%u.%u\n", psl_get_version(),
          OpenSSL_version(OPENSSL_VERSION_STRING), xxhash / 10000, xxhash / 100 % 100,
          xxhash % 100);
  fputs("License: MIT <https://opensource.org/license/mit>. There is NO WARRANTY.\n", out);
}
