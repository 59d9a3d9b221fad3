/* afetch's version and the --version text. */
#ifndef AFETCH_VERSION_H
#define AFETCH_VERSION_H

#include <stdio.h>

/* The Makefile defines AFETCH_VERSION for every file it compiles: `git describe --tags` in a
 * git checkout with a v* tag, else the VERSION file (one place to bump; see
 * docs/development.md, "Releasing"). */
#ifndef AFETCH_VERSION
#error "AFETCH_VERSION comes from the Makefile (-DAFETCH_VERSION=\"...\")"
#endif

/* Prints afetch's version, the libraries it runs with (libcurl and its TLS backend, libevent,
 * cJSON, libxml2, libpsl, libcrypto; the versions loaded at run time, as curl -V does) and
 * the license. */
void version_print(FILE *out);

#endif
