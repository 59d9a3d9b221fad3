/* UTF-8 well-formedness, byte by byte. */
#include "afetch/utf8.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_sequence_length(const unsigned char *s) {
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

size_t utf8_valid_prefix(const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  size_t length;
  while (*s && (length = utf8_sequence_length(s)) != 0)
    s += length;
  return (size_t)(s - (const unsigned char *)text);
}

char *utf8_repaired(char *text) {
  size_t valid = utf8_valid_prefix(text);
  if (!text[valid])
    return text;
  /* Each ill-formed byte becomes the 3 bytes of U+FFFD. */
  size_t rest = strlen(text + valid);
  char *repaired = malloc(valid + 3 * rest + 1);
  if (!repaired) {
    free(text);
    return NULL;
  }
  memcpy(repaired, text, valid);
  char *out = repaired + valid;
  const unsigned char *s = (const unsigned char *)text + valid;
  while (*s) {
    size_t length = utf8_sequence_length(s);
    if (length) {
      memcpy(out, s, length);
      out += length;
      s += length;
    } else {
      memcpy(out, "\xEF\xBF\xBD", 3);
      out += 3;
      s++;
    }
  }
  *out = '\0';
  free(text);
  return repaired;
}
