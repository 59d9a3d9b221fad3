/* RFC 9110 tokens: what a method or a header name may be made of. */
#ifndef AFETCH_HTTP_TOKEN_H
#define AFETCH_HTTP_TOKEN_H

#include <stdbool.h>
#include <string.h>

/* True when `text` is a non-empty token: letters, digits and !#$%&'*+-.^_`|~ only (no
 * spaces, separators or line breaks to smuggle into a request). */
static inline bool http_is_token(const char *text) {
  static const char symbols[] = "!#$%&'*+-.^_`|~";
  if (!text || !*text)
    return false;
  for (const char *c = text; *c; c++) {
    bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
    if (!alnum && !strchr(symbols, *c))
      return false;
  }
  return true;
}

#endif
