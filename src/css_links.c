/* -p: url() and @import references in CSS, by a byte-at-a-time state machine that follows
 * CSS Syntax Level 3's tokenizer only as far as these two need (comments, strings, escapes,
 * url tokens), so that a piece may end anywhere. */
#include "afetch/css_links.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum css_state {
  CSS_NORMAL,
  CSS_SLASH,            /* a '/' that may open a comment */
  CSS_COMMENT,          /* inside a comment */
  CSS_COMMENT_STAR,     /* a '*' inside a comment, which may close it */
  CSS_STRING,           /* inside a quoted string (collected when `collecting`) */
  CSS_URL_SPACE,        /* after "url(", before its value */
  CSS_URL_UNQUOTED,     /* inside an unquoted url( value */
  CSS_URL_UNQUOTED_END, /* whitespace after it: only ')' may follow */
  CSS_BAD_URL,          /* a malformed url(: skipped up to its ')' */
};

/* Where an escape (backslash) stands: none, just after the '\', or in its hex digits. */
enum css_escape { CSS_ESCAPE_NONE, CSS_ESCAPE_START, CSS_ESCAPE_HEX };

/* The longest word looked at: "@import". */
#define CSS_WORD_MAX 7

struct css_scanner {
  css_reference_fn on_reference;
  void *arg;
  enum css_state state;
  char quote;          /* the quote that opened the string */
  bool collecting;     /* the string is a reference (an @import's or a url("...")'s) */
  bool import_pending; /* "@import" came last: its string, if next, is a reference */
  char word[CSS_WORD_MAX];
  size_t word_length; /* CSS_WORD_MAX + 1: a longer word */
  enum css_escape escape;
  uint32_t escape_value;
  unsigned escape_digits;
  bool overflow; /* the value outgrew CSS_LINKS_REFERENCE_MAX: dropped */
  size_t value_length;
  char value[CSS_LINKS_REFERENCE_MAX + 1];
};

static void css_scanner_init(struct css_scanner *scanner, css_reference_fn on_reference,
                             void *arg) {
  scanner->on_reference = on_reference;
  scanner->arg = arg;
  css_scanner_reset(scanner);
}

void css_scanner_reset(struct css_scanner *scanner) {
  scanner->state = CSS_NORMAL;
  scanner->collecting = false;
  scanner->import_pending = false;
  scanner->word_length = 0;
  scanner->escape = CSS_ESCAPE_NONE;
  scanner->overflow = false;
  scanner->value_length = 0;
}

struct css_scanner *css_scanner_new(css_reference_fn on_reference, void *arg) {
  struct css_scanner *scanner = malloc(sizeof *scanner);
  if (scanner)
    css_scanner_init(scanner, on_reference, arg);
  return scanner;
}

void css_scanner_free(struct css_scanner *scanner) { free(scanner); }

static bool css_is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool css_is_newline(unsigned char c) { return c == '\n' || c == '\r' || c == '\f'; }

static int css_hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* CSS identifier characters (an escape, which may also be one, ends the word here). */
static bool css_is_word_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c >= 0x80;
}

static void css_append(struct css_scanner *scanner, const char *bytes, size_t count) {
  if (scanner->overflow || scanner->value_length + count > CSS_LINKS_REFERENCE_MAX) {
    scanner->overflow = true;
    return;
  }
  memcpy(scanner->value + scanner->value_length, bytes, count);
  scanner->value_length += count;
}

/* Appends a decoded escape as UTF-8: NUL, surrogates and values beyond Unicode become
 * U+FFFD, as CSS says. */
static void css_append_code_point(struct css_scanner *scanner, uint32_t code) {
  if (code == 0 || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)
    code = 0xFFFD;
  char bytes[4];
  size_t count;
  if (code < 0x80) {
    bytes[0] = (char)code;
    count = 1;
  } else if (code < 0x800) {
    bytes[0] = (char)(0xC0 | (code >> 6));
    bytes[1] = (char)(0x80 | (code & 0x3F));
    count = 2;
  } else if (code < 0x10000) {
    bytes[0] = (char)(0xE0 | (code >> 12));
    bytes[1] = (char)(0x80 | ((code >> 6) & 0x3F));
    bytes[2] = (char)(0x80 | (code & 0x3F));
    count = 3;
  } else {
    bytes[0] = (char)(0xF0 | (code >> 18));
    bytes[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    bytes[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    bytes[3] = (char)(0x80 | (code & 0x3F));
    count = 4;
  }
  css_append(scanner, bytes, count);
}

static void css_start_value(struct css_scanner *scanner) {
  scanner->value_length = 0;
  scanner->overflow = false;
}

static void css_report(struct css_scanner *scanner) {
  if (scanner->overflow)
    return;
  scanner->value[scanner->value_length] = '\0';
  scanner->on_reference(scanner->arg, scanner->value);
}

/* A byte after a backslash inside a string or an unquoted url(. True when it is used up;
 * false when the escape ended before it and it is to be read as usual. */
static bool css_escape_step(struct css_scanner *scanner, unsigned char c) {
  int digit = css_hex_value(c);
  if (scanner->escape == CSS_ESCAPE_START) {
    scanner->escape = CSS_ESCAPE_NONE;
    if (digit >= 0) {
      scanner->escape = CSS_ESCAPE_HEX;
      scanner->escape_value = (uint32_t)digit;
      scanner->escape_digits = 1;
    } else if (css_is_newline(c)) {
      /* In a string, an escaped newline continues the line; in url( it is malformed. */
      if (scanner->state != CSS_STRING)
        scanner->state = CSS_BAD_URL;
    } else {
      css_append(scanner, (const char *)&c, 1);
    }
    return true;
  }
  if (digit >= 0 && scanner->escape_digits < 6) {
    scanner->escape_value = scanner->escape_value * 16 + (uint32_t)digit;
    scanner->escape_digits++;
    return true;
  }
  scanner->escape = CSS_ESCAPE_NONE;
  css_append_code_point(scanner, scanner->escape_value);
  return css_is_space(c); /* one whitespace byte after hex digits belongs to the escape */
}

/* A byte outside strings, comments and url(: tracks the word before it ("url", "@import"). */
static void css_normal_step(struct css_scanner *scanner, unsigned char c) {
  bool word_char = css_is_word_char(c) || (c == '@' && scanner->word_length == 0);
  if (word_char) {
    if (scanner->word_length < CSS_WORD_MAX)
      scanner->word[scanner->word_length] = (char)c;
    if (scanner->word_length <= CSS_WORD_MAX)
      scanner->word_length++;
    return;
  }
  size_t length = scanner->word_length;
  scanner->word_length = 0;
  if (length == 7 && strncasecmp(scanner->word, "@import", 7) == 0)
    scanner->import_pending = true;
  else if (length > 0)
    scanner->import_pending = false;
  if (c == '(' && length == 3 && strncasecmp(scanner->word, "url", 3) == 0) {
    scanner->import_pending = false;
    scanner->state = CSS_URL_SPACE;
  } else if (c == '"' || c == '\'') {
    scanner->state = CSS_STRING;
    scanner->quote = (char)c;
    scanner->collecting = scanner->import_pending;
    scanner->import_pending = false;
    css_start_value(scanner);
  } else if (c == '/') {
    scanner->state = CSS_SLASH;
  } else if (c == '@') {
    scanner->word[0] = '@'; /* "a@import" is not a word, but "@import" starts one */
    scanner->word_length = 1;
  } else if (!css_is_space(c)) {
    scanner->import_pending = false;
  }
}

/* One byte of the text. True when it is used up; false when a state ended before it and it
 * is to be read again in the new state. */
/* Inside a quoted string (a url("...") or an @import "..." value, or any other string). */
static void css_string_step(struct css_scanner *scanner, unsigned char c) {
  if (c == (unsigned char)scanner->quote) {
    if (scanner->collecting)
      css_report(scanner);
    scanner->state = CSS_NORMAL;
  } else if (c == '\\') {
    scanner->escape = CSS_ESCAPE_START;
  } else if (css_is_newline(c)) {
    scanner->state = CSS_NORMAL; /* a bad string: dropped */
  } else if (scanner->collecting) {
    css_append(scanner, (const char *)&c, 1);
  }
}

/* After "url(" and its spaces: a quoted value, an unquoted one, or nothing. False when `c`
 * is to be looked at again in the new state. */
static bool css_url_space_step(struct css_scanner *scanner, unsigned char c) {
  if (css_is_space(c))
    return true;
  if (c == '"' || c == '\'') {
    scanner->state = CSS_STRING;
    scanner->quote = (char)c;
    scanner->collecting = true;
    css_start_value(scanner);
    return true;
  }
  if (c == ')') {
    scanner->state = CSS_NORMAL; /* url(): nothing */
    return true;
  }
  scanner->state = CSS_URL_UNQUOTED;
  css_start_value(scanner);
  return false;
}

/* An unquoted url(...) value, the spaces after it, or a bad one skipped to its ')'. */
static void css_url_step(struct css_scanner *scanner, unsigned char c) {
  switch (scanner->state) {
  case CSS_URL_UNQUOTED:
    if (c == ')') {
      css_report(scanner);
      scanner->state = CSS_NORMAL;
    } else if (css_is_space(c)) {
      scanner->state = CSS_URL_UNQUOTED_END;
    } else if (c == '\\') {
      scanner->escape = CSS_ESCAPE_START;
    } else if (c == '"' || c == '\'' || c == '(' || c < 0x20 || c == 0x7F) {
      scanner->state = CSS_BAD_URL;
    } else {
      css_append(scanner, (const char *)&c, 1);
    }
    return;
  case CSS_URL_UNQUOTED_END:
    if (c == ')') {
      css_report(scanner);
      scanner->state = CSS_NORMAL;
    } else if (!css_is_space(c)) {
      scanner->state = CSS_BAD_URL;
    }
    return;
  default: /* CSS_BAD_URL */
    if (c == ')')
      scanner->state = CSS_NORMAL;
    else if (c == '\\')
      scanner->escape = CSS_ESCAPE_START; /* "\)" does not end it */
    return;
  }
}

static bool css_step(struct css_scanner *scanner, unsigned char c) {
  if (scanner->escape != CSS_ESCAPE_NONE)
    return css_escape_step(scanner, c);
  switch (scanner->state) {
  case CSS_NORMAL:
    css_normal_step(scanner, c);
    return true;
  case CSS_SLASH:
    if (c == '*') {
      scanner->state = CSS_COMMENT;
      return true;
    }
    scanner->state = CSS_NORMAL;
    return false;
  case CSS_COMMENT:
    if (c == '*')
      scanner->state = CSS_COMMENT_STAR;
    return true;
  case CSS_COMMENT_STAR:
    scanner->state = c == '/' ? CSS_NORMAL : c == '*' ? CSS_COMMENT_STAR : CSS_COMMENT;
    return true;
  case CSS_STRING:
    css_string_step(scanner, c);
    return true;
  case CSS_URL_SPACE:
    return css_url_space_step(scanner, c);
  case CSS_URL_UNQUOTED:
  case CSS_URL_UNQUOTED_END:
  case CSS_BAD_URL:
    css_url_step(scanner, c);
    return true;
  }
  return true;
}

void css_scanner_feed(struct css_scanner *scanner, const char *data, size_t length) {
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)data[i];
    while (!css_step(scanner, c))
      ;
  }
}

void css_scanner_finish(struct css_scanner *scanner) {
  if (scanner->escape == CSS_ESCAPE_HEX)
    css_append_code_point(scanner, scanner->escape_value);
  scanner->escape = CSS_ESCAPE_NONE;
  /* The end of the text closes an open url( or string, as CSS's tokenizer does. */
  if (scanner->state == CSS_URL_UNQUOTED || scanner->state == CSS_URL_UNQUOTED_END ||
      (scanner->state == CSS_STRING && scanner->collecting))
    css_report(scanner);
  css_scanner_reset(scanner);
}

void css_links_scan(const char *text, size_t length, css_reference_fn on_reference, void *arg) {
  struct css_scanner scanner;
  css_scanner_init(&scanner, on_reference, arg);
  css_scanner_feed(&scanner, text, length);
  css_scanner_finish(&scanner);
}

bool css_links_content_type_is_css(const char *content_type) {
  static const char type[] = "text/css";
  if (!content_type)
    return false;
  while (*content_type == ' ' || *content_type == '\t')
    content_type++;
  if (strncasecmp(content_type, type, sizeof type - 1) != 0)
    return false;
  const char *rest = content_type + sizeof type - 1;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  return *rest == '\0' || *rest == ';';
}
