/* UTF-8 well-formedness (RFC 3629; Unicode 15, table 3-7): servers and input files may send
 * any bytes, and JSON text must be valid UTF-8. */
#ifndef AFETCH_UTF8_H
#define AFETCH_UTF8_H

#include <stddef.h>

/* Length of the well-formed sequence starting at s (1 to 4), or 0 when the bytes there are
 * ill-formed: overlong, a surrogate, above U+10FFFF, or cut short. s is NUL-terminated. */
size_t utf8_sequence_length(const unsigned char *s);

/* Length of the longest well-formed start of the NUL-terminated text. */
size_t utf8_valid_prefix(const char *text);

/* `text` (malloc'd, consumed) with every ill-formed byte replaced by U+FFFD: the same
 * pointer when it is already well-formed, a new one otherwise; NULL when out of memory. */
char *utf8_repaired(char *text);

#endif
