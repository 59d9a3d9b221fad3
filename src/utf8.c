/* UTF-8 validation and repair (RFC 3629 well-formedness, the table in Unicode 15 §3.9). */
#include "afetch/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence starting at s, or 0 when it is ill-formed. */
static size_t utf8_sequence_length(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return (s[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlongs */
    unsigned char hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
      return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80; /* no overlongs */
    unsigned char hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
    if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
      return 0;
    return 4;
  }
  return 0;
}

bool utf8_is_valid(const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  while (*s) {
    size_t n = utf8_sequence_length(s);
    if (n == 0)
      return false;
    s += n;
  }
  return true;
}

char *utf8_repair(const char *text) {
  static const char replacement[] = "\xEF\xBF\xBD";
  size_t length = strlen(text);
  /* Worst case: every byte becomes a 3-byte replacement. */
  char *out = malloc(length * 3 + 1);
  if (!out)
    return NULL;
  const unsigned char *s = (const unsigned char *)text;
  char *o = out;
  while (*s) {
    size_t n = utf8_sequence_length(s);
    if (n == 0) {
      memcpy(o, replacement, 3);
      o += 3;
      s++;
    } else {
      memcpy(o, s, n);
      o += n;
      s += n;
    }
  }
  *o = '\0';
  return out;
}
