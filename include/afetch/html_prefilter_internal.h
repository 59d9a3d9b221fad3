/* Private to html_prefilter.c (the text, comments, end tags, raw text and the driving
 * loop) and html_prefilter_tag.c (start tags): the modes of the filter's state machine and
 * the helpers both use. Nothing else includes this. */
#ifndef AFETCH_HTML_PREFILTER_INTERNAL_H
#define AFETCH_HTML_PREFILTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "afetch/html_prefilter.h"

enum prefilter_mode {
  MODE_TEXT,          /* between markup: a text run, kept as its class */
  MODE_TEXT_AMP,      /* text, after '&' */
  MODE_TEXT_VERBATIM, /* the rest of a text run, unchanged, up to '<' */
  MODE_LT,            /* after '<' */
  MODE_BANG,          /* "<!" and up to 7 bytes after it */
  MODE_COMMENT,
  MODE_DOCTYPE,
  MODE_END_TAG_START, /* after "</" */
  MODE_END_TAG,       /* "</name", up to '>' */
  MODE_END_TAG_HELD,  /* after "</" with start tags held: does the innermost's end follow? */
  MODE_TAG_NAME,
  MODE_TAG_BEFORE_ATTRIBUTE,
  MODE_TAG_SLASH, /* '/' where an attribute may start: "/>" ends the tag */
  MODE_BOGUS,     /* an attribute without a name: skipped up to a blank, '>' or "/>" */
  MODE_BOGUS_SLASH,
  MODE_ATTRIBUTE_NAME,
  MODE_ATTRIBUTE_AFTER_NAME,
  MODE_ATTRIBUTE_BEFORE_VALUE,
  MODE_VALUE_QUOTED,
  MODE_VALUE_UNQUOTED,
  MODE_RAW, /* the text of script or style, up to "</script" or "</style" */
  MODE_PASS_THROUGH,
};

enum text_class { TEXT_NONE, TEXT_BLANK, TEXT_CHARACTERS };

/* libxml2 reads text in segments of this many bytes (HTML_PARSER_BIG_BUFFER_SIZE); a
 * segment of only blanks that fills it counts as text. */
#define PREFILTER_TEXT_SEGMENT 1000
/* At most this many bytes out between text runs kept in an open body: libxml2 2.9 frees the
 * input it read at a text run that begins less than 2 * INPUT_CHUNK (500) bytes before the
 * end of what it was given, so every piece it is given ends near one. */
#define PREFILTER_TEXT_KEPT_GAP 256
/* libxml2 cuts tag and attribute names at this length (HTML_PARSER_BUFFER_SIZE). */
#define PREFILTER_NAME_MAX 100
/* Output room beyond the input: a rewritten tag may grow (a blank before each kept
 * attribute, at least 3 bytes long, and before "/>"): by half its length at most; then the
 * carried tag, blanks and "<!...". */
#define PREFILTER_OUT_SLACK (2 * HTML_PREFILTER_TAG_MAX + PREFILTER_TEXT_SEGMENT + 64)

static inline bool prefilter_is_blank(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool prefilter_is_letter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* htmlParseHTMLName: the first byte of a name, and the bytes after it. */
static inline bool prefilter_is_name_start(unsigned char c) {
  return prefilter_is_letter(c) || c == '_' || c == ':' || c == '.';
}

static inline bool prefilter_is_name(unsigned char c) {
  return prefilter_is_name_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static inline char prefilter_lower(unsigned char c) {
  return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* html_prefilter_tag.c: writes out the start tags held (before any other output). */
void prefilter_write_held(struct html_prefilter *filter);

/* Room is reserved per feed (html_prefilter.c): appends never fail. */
static inline void prefilter_emit(struct html_prefilter *filter, const char *bytes, size_t length) {
  if (filter->held_count > 0)
    prefilter_write_held(filter);
  memcpy(filter->out + filter->out_length, bytes, length);
  filter->out_length += length;
}

static inline void prefilter_emit_byte(struct html_prefilter *filter, unsigned char c) {
  if (filter->held_count > 0)
    prefilter_write_held(filter);
  filter->out[filter->out_length++] = (char)c;
}

/* The last byte out so far; held start tags end in '>'. */
static inline char prefilter_last_out(const struct html_prefilter *filter) {
  if (filter->held_count > 0)
    return '>';
  return filter->out_length > 0 ? filter->out[filter->out_length - 1] : filter->last_out;
}

/* How many bytes from `data` are ASCII, not NUL and not `stop`: bytes no mode needs to look
 * at one by one but for their value. */
#define PREFILTER_ONES UINT64_C(0x0101010101010101)
#define PREFILTER_HIGHS UINT64_C(0x8080808080808080)

/* Eight bytes of `data` as one word (memcpy: no alignment needed, one load). */
static inline uint64_t prefilter_word(const unsigned char *data) {
  uint64_t word;
  memcpy(&word, data, sizeof word);
  return word;
}

/* Non-zero when some byte of `word` is 0 (exact, whatever the byte order). */
static inline uint64_t prefilter_word_has_zero(uint64_t word) {
  return (word - PREFILTER_ONES) & ~word & PREFILTER_HIGHS;
}

/* How many bytes from `data` are ASCII, not NUL and not `stop`: bytes no mode needs to look
 * at one by one but for their value. Eight at a time while a word holds none of them: the
 * runs are long (attribute values, text passed unchanged). */
static inline size_t prefilter_plain_span(const unsigned char *data, size_t length,
                                          unsigned char stop) {
  uint64_t stops = PREFILTER_ONES * stop;
  size_t i = 0;
  while (length - i >= 8) {
    uint64_t word = prefilter_word(data + i);
    if ((word & PREFILTER_HIGHS) || prefilter_word_has_zero(word) ||
        prefilter_word_has_zero(word ^ stops))
      break;
    i += 8;
  }
  while (i < length && data[i] != stop && data[i] - 1u < 0x7Fu)
    i++;
  return i;
}

/* True when `name` (`length` bytes, lower case) is body, html or head: what <body> and
 * the body_open flag depend on. */
static inline bool prefilter_is_document_tag(const char *name, size_t length) {
  return length == 4 && (memcmp(name, "body", 4) == 0 || memcmp(name, "html", 4) == 0 ||
                         memcmp(name, "head", 4) == 0);
}

/* html_prefilter.c */
void prefilter_text_start(struct html_prefilter *filter);

/* html_prefilter_tag.c: start tags, a byte at a time (false: read the byte again, in the
 * mode set), runs of bytes, or whole at once (0: left to the byte-at-a-time reading). */
void prefilter_tag_init_tables(void);
void prefilter_tag_start(struct html_prefilter *filter, unsigned char c);
bool prefilter_tag_name_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_before_attribute_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_slash_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_bogus_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_attribute_name_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_after_name_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_value_byte(struct html_prefilter *filter, unsigned char c);
bool prefilter_tag_append_run(struct html_prefilter *filter, const unsigned char *data,
                              size_t length);
size_t prefilter_name_run(struct html_prefilter *filter, const unsigned char *data, size_t length,
                          char *name, size_t *name_length);
size_t prefilter_fast_tag(struct html_prefilter *filter, const unsigned char *data, size_t length);
size_t prefilter_fast_end_tag(struct html_prefilter *filter, const unsigned char *data,
                              size_t length);

#endif
