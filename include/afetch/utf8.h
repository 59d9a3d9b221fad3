/* UTF-8 repair for text that goes into JSON: servers and input files may send any bytes. */
#ifndef AFETCH_UTF8_H
#define AFETCH_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the NUL-terminated string is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_is_valid(const char *text);

/* Returns a new NUL-terminated copy with every ill-formed sequence replaced by U+FFFD; the
 * caller frees it. NULL when out of memory. */
char *utf8_repair(const char *text);

#endif
