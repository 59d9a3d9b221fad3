/* The filter in front of libxml2's HTML push parser: see html_prefilter.h. Each byte goes
 * through prefilter_byte(), a state machine whose states follow the libxml2 2.9 functions
 * they mirror (htmlParseTryOrFinish, htmlParseStartTag, htmlParseAttribute, htmlParseAttValue,
 * htmlParseHTMLAttribute, htmlParseComment, htmlParseEndTag, htmlParseScript,
 * htmlParseCharData, areBlanks, htmlCheckParagraph). */
#include "afetch/html_prefilter.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afetch/link_tags.h"

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
/* libxml2 cuts tag and attribute names at this length (HTML_PARSER_BUFFER_SIZE). */
#define PREFILTER_NAME_MAX 100
/* Output room beyond the input: the carried tag, blanks, "<!..." and separators. */
#define PREFILTER_OUT_SLACK (HTML_PREFILTER_TAG_MAX + PREFILTER_TEXT_SEGMENT + 64)

static bool prefilter_is_blank(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool prefilter_is_letter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* htmlParseHTMLName: the first byte of a name, and the bytes after it. */
static bool prefilter_is_name_start(unsigned char c) {
  return prefilter_is_letter(c) || c == '_' || c == ':' || c == '.';
}

static bool prefilter_is_name(unsigned char c) {
  return prefilter_is_name_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static char prefilter_lower(unsigned char c) {
  return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

static void prefilter_init_tables(void);
static pthread_once_t prefilter_once = PTHREAD_ONCE_INIT;

bool html_prefilter_init(struct html_prefilter *filter) {
  pthread_once(&prefilter_once, prefilter_init_tables);
  memset(filter, 0, sizeof *filter);
  filter->mode = MODE_TEXT;
  filter->tag = malloc(HTML_PREFILTER_TAG_MAX + 1);
  return filter->tag != NULL;
}

void html_prefilter_free(struct html_prefilter *filter) {
  free(filter->tag);
  free(filter->out);
  filter->tag = filter->out = NULL;
}

bool html_prefilter_passes_through(const struct html_prefilter *filter) {
  return filter->mode == MODE_PASS_THROUGH;
}

/* Room is reserved per feed (prefilter_reserve()): appends never fail. */
static void prefilter_emit(struct html_prefilter *filter, const char *bytes, size_t length) {
  memcpy(filter->out + filter->out_length, bytes, length);
  filter->out_length += length;
}

static void prefilter_emit_byte(struct html_prefilter *filter, unsigned char c) {
  filter->out[filter->out_length++] = (char)c;
}

static bool prefilter_reserve(struct html_prefilter *filter, size_t length) {
  filter->out_length = 0;
  if (length > SIZE_MAX - PREFILTER_OUT_SLACK)
    return false;
  size_t needed = length + PREFILTER_OUT_SLACK;
  if (needed <= filter->out_capacity)
    return true;
  char *grown = realloc(filter->out, needed);
  if (!grown)
    return false;
  filter->out = grown;
  filter->out_capacity = needed;
  return true;
}

/* ---- text ---- */

static void prefilter_text_start(struct html_prefilter *filter) {
  filter->mode = MODE_TEXT;
  filter->text_class = TEXT_NONE;
  filter->text_blanks = 0;
  filter->text_starts_blank = false;
}

/* The run read so far, as few bytes with the same effect; `exact` keeps every blank (the
 * run goes on unchanged, and libxml2 counts its blanks with the rest). */
static void prefilter_text_flush(struct html_prefilter *filter, bool exact) {
  if (filter->text_class == TEXT_CHARACTERS) {
    if (filter->text_starts_blank)
      prefilter_emit_byte(filter, ' ');
    prefilter_emit_byte(filter, '#');
  } else if (filter->text_class == TEXT_BLANK) {
    for (size_t i = 0; i < (exact ? filter->text_blanks : 1); i++)
      prefilter_emit_byte(filter, ' ');
  }
  filter->text_class = TEXT_NONE;
  filter->text_blanks = 0;
}

static void prefilter_text_characters(struct html_prefilter *filter) {
  if (filter->text_class == TEXT_NONE)
    filter->text_starts_blank = false;
  filter->text_class = TEXT_CHARACTERS;
}

static void prefilter_text_blank(struct html_prefilter *filter) {
  if (filter->text_class == TEXT_NONE) {
    filter->text_class = TEXT_BLANK;
    filter->text_starts_blank = true;
  }
  if (filter->text_class == TEXT_BLANK && ++filter->text_blanks >= PREFILTER_TEXT_SEGMENT)
    filter->text_class = TEXT_CHARACTERS;
}

/* From here on the run passes unchanged. */
static void prefilter_text_verbatim(struct html_prefilter *filter) {
  prefilter_text_flush(filter, true);
  filter->mode = MODE_TEXT_VERBATIM;
}

static void prefilter_text_byte(struct html_prefilter *filter, unsigned char c) {
  if (c == '<') {
    prefilter_text_flush(filter, false);
    filter->mode = MODE_LT;
  } else if (c == '&') {
    filter->mode = MODE_TEXT_AMP;
  } else if (prefilter_is_blank(c)) {
    prefilter_text_blank(filter);
  } else if (c >= 0x20) {
    prefilter_text_characters(filter);
  } else {
    /* A control byte: libxml2 drops it from the text, uncounted. */
    prefilter_text_verbatim(filter);
    prefilter_emit_byte(filter, c);
  }
}

/* After '&': an entity or a lone '&' is text to libxml2 (htmlParseReference), but "&#" with
 * no valid number is nothing: before any text, the run passes unchanged. */
static bool prefilter_text_amp_byte(struct html_prefilter *filter, unsigned char c) {
  filter->mode = MODE_TEXT;
  if (c == '#' && filter->text_class != TEXT_CHARACTERS) {
    prefilter_text_verbatim(filter);
    prefilter_emit(filter, "&#", 2);
    return true;
  }
  prefilter_text_characters(filter);
  return c == '#';
}

/* ---- giving up: what was carried goes out unchanged, then everything after it ---- */

static void prefilter_emit_carried(struct html_prefilter *filter) {
  switch (filter->mode) {
  case MODE_TEXT:
  case MODE_TEXT_AMP:
    prefilter_text_flush(filter, true);
    prefilter_emit(filter, (const char *)filter->utf8_held, filter->utf8_held_length);
    filter->utf8_held_length = 0;
    if (filter->mode == MODE_TEXT_AMP)
      prefilter_emit_byte(filter, '&');
    break;
  case MODE_LT:
    prefilter_emit_byte(filter, '<');
    break;
  case MODE_BANG:
    prefilter_emit(filter, filter->bang, filter->bang_length);
    break;
  case MODE_TAG_NAME:
  case MODE_TAG_BEFORE_ATTRIBUTE:
  case MODE_TAG_SLASH:
  case MODE_BOGUS:
  case MODE_BOGUS_SLASH:
  case MODE_ATTRIBUTE_NAME:
  case MODE_ATTRIBUTE_AFTER_NAME:
  case MODE_ATTRIBUTE_BEFORE_VALUE:
  case MODE_VALUE_QUOTED:
  case MODE_VALUE_UNQUOTED:
    if (!filter->tag_unchanged)
      prefilter_emit(filter, filter->tag, filter->tag_length);
    break;
  default:
    break;
  }
}

static void prefilter_give_up(struct html_prefilter *filter) {
  prefilter_emit_carried(filter);
  filter->mode = MODE_PASS_THROUGH;
}

/* UTF-8 as libxml2's htmlCurrentChar() reads it, stricter (no surrogates, nothing above
 * U+10FFFF, no U+FFFE or U+FFFF, no NUL): false for a byte that is not, where libxml2 would
 * change how it reads the page or drop a character. */
static bool prefilter_utf8_byte(struct html_prefilter *filter, unsigned char c) {
  if (filter->utf8_needed > 0) {
    if (c < filter->utf8_low || c > filter->utf8_high)
      return false;
    filter->utf8_low = 0x80;
    filter->utf8_high = 0xBF;
    filter->utf8_needed--;
    if (filter->utf8_nonchar == 1)
      filter->utf8_nonchar = c == 0xBF ? 2 : 0;
    else if (filter->utf8_nonchar == 2)
      return c != 0xBE && c != 0xBF;
    return true;
  }
  if (c == 0)
    return false;
  if (c < 0x80)
    return true;
  if (c < 0xC2 || c > 0xF4)
    return false;
  filter->utf8_needed = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
  filter->utf8_low = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  filter->utf8_high = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  filter->utf8_nonchar = c == 0xEF ? 1 : 0;
  return true;
}

/* A byte of a non-ASCII character in text: text, held until the character is complete. */
static void prefilter_text_utf8_byte(struct html_prefilter *filter, unsigned char c) {
  prefilter_text_characters(filter);
  if (filter->utf8_needed > 0)
    filter->utf8_held[filter->utf8_held_length++] = c;
  else
    filter->utf8_held_length = 0;
}

/* ---- after '<' ---- */

static void prefilter_tag_start(struct html_prefilter *filter, unsigned char c) {
  filter->tag[0] = '<';
  filter->tag[1] = (char)c;
  filter->tag_length = 2;
  filter->tag_unchanged = false;
  filter->name[0] = prefilter_lower(c);
  filter->name_length = 1;
  filter->kept_count = 0;
  filter->mode = MODE_TAG_NAME;
}

/* htmlParseTryOrFinish() in content: what '<' starts. False: `c` is read again. */
static bool prefilter_lt_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_letter(c)) {
    prefilter_tag_start(filter, c);
  } else if (c == '/') {
    prefilter_emit(filter, "</", 2);
    filter->mode = MODE_END_TAG_START;
  } else if (c == '!') {
    memcpy(filter->bang, "<!", 2);
    filter->bang_length = 2;
    filter->mode = MODE_BANG;
  } else if (c == '?') {
    prefilter_give_up(filter);
    prefilter_emit_byte(filter, c);
  } else {
    /* A '<' that starts nothing is text to libxml2, but no text for htmlCheckParagraph. */
    prefilter_emit_byte(filter, '<');
    prefilter_text_start(filter);
    return false;
  }
  return true;
}

/* "<!": a comment ("<!--"), a DOCTYPE (any case), else libxml2 reads a '<' and waits for
 * more bytes in ways that depend on how many follow: not modelled. */
static void prefilter_bang_byte(struct html_prefilter *filter, unsigned char c) {
  static const char doctype[] = "<!DOCTYPE";
  size_t at = filter->bang_length;
  bool dash = at > 2 && filter->bang[2] == '-';
  bool comment = c == '-' && (at == 2 || (at == 3 && dash));
  bool doctype_so_far = !dash && (unsigned char)doctype[at] == (c & ~0x20);
  if (!comment && !doctype_so_far) {
    prefilter_give_up(filter);
    prefilter_emit_byte(filter, c);
    return;
  }
  filter->bang[filter->bang_length++] = (char)c;
  if (comment && filter->bang_length == 4) {
    prefilter_emit(filter, filter->bang, 4);
    filter->comment_length = 0;
    filter->mode = MODE_COMMENT;
  } else if (doctype_so_far && filter->bang_length == sizeof doctype - 1) {
    prefilter_emit(filter, filter->bang, filter->bang_length);
    filter->mode = MODE_DOCTYPE;
  }
}

/* htmlParseComment(): the comment ends at the first "-->" or "--!>" after "<!--". */
static void prefilter_comment_byte(struct html_prefilter *filter, unsigned char c) {
  prefilter_emit_byte(filter, c);
  const char *tail = filter->comment_tail;
  size_t seen = ++filter->comment_length;
  if (c == '>' && ((seen >= 3 && tail[1] == '-' && tail[2] == '-') ||
                   (seen >= 4 && tail[0] == '-' && tail[1] == '-' && tail[2] == '!'))) {
    prefilter_text_start(filter);
    return;
  }
  filter->comment_tail[0] = tail[1];
  filter->comment_tail[1] = tail[2];
  filter->comment_tail[2] = (char)c;
}

/* htmlParseDocTypeDecl(): up to the first '>', when no quoted literal could hide one. */
static void prefilter_doctype_byte(struct html_prefilter *filter, unsigned char c) {
  prefilter_emit_byte(filter, c);
  if (c == '>')
    prefilter_text_start(filter);
  else if (c == '"' || c == '\'')
    filter->mode = MODE_PASS_THROUGH;
}

/* htmlParseEndTag(): "</" and a name end at the next '>'; "</" without a name is all libxml2
 * takes, and text follows. False: `c` is read again. */
static bool prefilter_end_tag_byte(struct html_prefilter *filter, unsigned char c) {
  if (filter->mode == MODE_END_TAG_START && !prefilter_is_name_start(c)) {
    prefilter_text_start(filter);
    return false;
  }
  filter->mode = MODE_END_TAG;
  prefilter_emit_byte(filter, c);
  if (c == '>')
    prefilter_text_start(filter);
  return true;
}

/* htmlParseScript() in recovery mode: the text ends at "</" and the element's name, in any
 * case. A longer name ("</scripts") would end the element only if it were open: not
 * modelled. */
static void prefilter_raw_byte(struct html_prefilter *filter, unsigned char c) {
  size_t name_length = strlen(filter->raw_name);
  if (filter->raw_matched == name_length + 2) {
    if (prefilter_is_name(c)) {
      filter->mode = MODE_PASS_THROUGH;
    } else {
      filter->mode = MODE_END_TAG;
      prefilter_end_tag_byte(filter, c);
      return;
    }
  } else {
    char wanted = filter->raw_matched < 2 ? "</"[filter->raw_matched]
                                          : filter->raw_name[filter->raw_matched - 2];
    if (prefilter_lower(c) == wanted)
      filter->raw_matched++;
    else
      filter->raw_matched = c == '<' ? 1 : 0;
  }
  prefilter_emit_byte(filter, c);
}

/* ---- start tags (htmlParseStartTag) ---- */

/* From here the tag passes as it came. */
static void prefilter_tag_unchanged(struct html_prefilter *filter) {
  if (!filter->tag_unchanged)
    prefilter_emit(filter, filter->tag, filter->tag_length);
  filter->tag_unchanged = true;
}

static void prefilter_tag_append(struct html_prefilter *filter, unsigned char c) {
  if (!filter->tag_unchanged && filter->tag_length == HTML_PREFILTER_TAG_MAX)
    prefilter_tag_unchanged(filter);
  if (filter->tag_unchanged)
    prefilter_emit_byte(filter, c);
  else
    filter->tag[filter->tag_length++] = (char)c;
}

/* The attribute read ends before the current byte. */
static void prefilter_attribute_end(struct html_prefilter *filter) {
  filter->mode = MODE_TAG_BEFORE_ATTRIBUTE;
  if (!filter->attribute_kept || filter->tag_unchanged)
    return;
  if (filter->kept_count == HTML_PREFILTER_KEPT_MAX) {
    prefilter_tag_unchanged(filter);
    return;
  }
  filter->kept_start[filter->kept_count] = filter->attribute_start;
  filter->kept_end[filter->kept_count++] = filter->tag_length;
}

/* The kept attributes (offsets from `base`), each after a blank, and the tag's end: "/>"
 * after a blank too, else it would end an unquoted value. */
static void prefilter_emit_kept(struct html_prefilter *filter, const char *base,
                                bool empty_element) {
  for (size_t i = 0; i < filter->kept_count; i++) {
    prefilter_emit_byte(filter, ' ');
    prefilter_emit(filter, base + filter->kept_start[i], filter->kept_end[i] - filter->kept_start[i]);
  }
  if (empty_element)
    prefilter_emit(filter, filter->kept_count > 0 ? " />" : "/>", filter->kept_count > 0 ? 3 : 2);
  else
    prefilter_emit_byte(filter, '>');
}

/* The tag's last byte was appended: "<name", the kept attributes, its end. The text of a
 * script or style element follows an end of ">". */
static void prefilter_tag_end(struct html_prefilter *filter, bool empty_element) {
  if (!filter->tag_unchanged) {
    prefilter_emit(filter, filter->tag, filter->name_end);
    prefilter_emit_kept(filter, filter->tag, empty_element);
  }
  if (filter->raw_name && !empty_element) {
    filter->mode = MODE_RAW;
    filter->raw_matched = 0;
  } else {
    prefilter_text_start(filter);
  }
}

/* The loop of htmlParseStartTag(): blanks, the end, or an attribute (bogus without a name). */
static bool prefilter_before_attribute_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_blank(c)) {
    prefilter_tag_append(filter, c);
  } else if (c == '>') {
    prefilter_tag_append(filter, c);
    prefilter_tag_end(filter, false);
  } else if (c == '/') {
    prefilter_tag_append(filter, c);
    filter->mode = MODE_TAG_SLASH;
  } else if (prefilter_is_name_start(c)) {
    filter->attribute_start = filter->tag_length;
    filter->attribute[0] = prefilter_lower(c);
    filter->attribute_length = 1;
    prefilter_tag_append(filter, c);
    filter->mode = MODE_ATTRIBUTE_NAME;
  } else {
    filter->mode = MODE_BOGUS;
    return false;
  }
  return true;
}

/* '/' then '>' ends the tag ("/>"); '/' then anything else begins a bogus attribute. */
static bool prefilter_slash_byte(struct html_prefilter *filter, unsigned char c) {
  if (c == '>') {
    prefilter_tag_append(filter, c);
    prefilter_tag_end(filter, true);
    return true;
  }
  filter->mode = filter->mode == MODE_TAG_SLASH || filter->mode == MODE_BOGUS_SLASH ? MODE_BOGUS
                                                                                     : filter->mode;
  return false;
}

/* A bogus attribute, skipped up to a blank, '>' or "/>". */
static bool prefilter_bogus_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_blank(c) || c == '>') {
    filter->mode = MODE_TAG_BEFORE_ATTRIBUTE;
    return false;
  }
  prefilter_tag_append(filter, c);
  if (c == '/')
    filter->mode = MODE_BOGUS_SLASH;
  return true;
}

static bool prefilter_attribute_name_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_name(c) && filter->attribute_length < PREFILTER_NAME_MAX) {
    filter->attribute[filter->attribute_length++] = prefilter_lower(c);
    prefilter_tag_append(filter, c);
    return true;
  }
  filter->attribute[filter->attribute_length] = '\0';
  filter->attribute_kept = filter->tag_is_meta || link_attribute_is_read(filter->attribute);
  filter->mode = MODE_ATTRIBUTE_AFTER_NAME;
  return false;
}

/* htmlParseAttribute() after the name: blanks, then '=' and a value, or no value. */
static bool prefilter_after_name_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_blank(c)) {
    prefilter_tag_append(filter, c);
  } else if (c == '=' && filter->mode == MODE_ATTRIBUTE_AFTER_NAME) {
    prefilter_tag_append(filter, c);
    filter->mode = MODE_ATTRIBUTE_BEFORE_VALUE;
  } else if (filter->mode == MODE_ATTRIBUTE_BEFORE_VALUE) {
    if (c == '"' || c == '\'') {
      filter->quote = (char)c;
      prefilter_tag_append(filter, c);
      filter->mode = MODE_VALUE_QUOTED;
      return true;
    }
    filter->mode = MODE_VALUE_UNQUOTED;
    return false;
  } else {
    prefilter_attribute_end(filter);
    return false;
  }
  return true;
}

/* htmlParseAttValue(): a quoted value up to its quote, else up to a blank or '>'. */
static bool prefilter_value_byte(struct html_prefilter *filter, unsigned char c) {
  if (filter->mode == MODE_VALUE_UNQUOTED && (prefilter_is_blank(c) || c == '>')) {
    prefilter_attribute_end(filter);
    return false;
  }
  prefilter_tag_append(filter, c);
  if (filter->mode == MODE_VALUE_QUOTED && c == (unsigned char)filter->quote)
    prefilter_attribute_end(filter);
  return true;
}

static bool prefilter_tag_name_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_name(c) && filter->name_length < PREFILTER_NAME_MAX) {
    filter->name[filter->name_length++] = prefilter_lower(c);
    prefilter_tag_append(filter, c);
    return true;
  }
  filter->name[filter->name_length] = '\0';
  filter->name_end = filter->tag_length;
  filter->tag_is_meta = strcmp(filter->name, "meta") == 0;
  filter->raw_name = strcmp(filter->name, "script") == 0  ? "script"
                     : strcmp(filter->name, "style") == 0 ? "style"
                                                          : NULL;
  filter->mode = MODE_TAG_BEFORE_ATTRIBUTE;
  return false;
}

/* ---- one byte ---- */

/* False: `c` is read again, in the mode set. */
static bool prefilter_mode_byte(struct html_prefilter *filter, unsigned char c) {
  switch (filter->mode) {
  case MODE_TEXT:
    if (c >= 0x80)
      prefilter_text_utf8_byte(filter, c);
    else
      prefilter_text_byte(filter, c);
    return true;
  case MODE_TEXT_AMP:
    return prefilter_text_amp_byte(filter, c);
  case MODE_TEXT_VERBATIM:
    if (c == '<')
      filter->mode = MODE_LT;
    else
      prefilter_emit_byte(filter, c);
    return true;
  case MODE_LT:
    return prefilter_lt_byte(filter, c);
  case MODE_BANG:
    prefilter_bang_byte(filter, c);
    return true;
  case MODE_COMMENT:
    prefilter_comment_byte(filter, c);
    return true;
  case MODE_DOCTYPE:
    prefilter_doctype_byte(filter, c);
    return true;
  case MODE_END_TAG_START:
  case MODE_END_TAG:
    return prefilter_end_tag_byte(filter, c);
  case MODE_RAW:
    prefilter_raw_byte(filter, c);
    return true;
  case MODE_TAG_NAME:
    return prefilter_tag_name_byte(filter, c);
  case MODE_TAG_BEFORE_ATTRIBUTE:
    return prefilter_before_attribute_byte(filter, c);
  case MODE_TAG_SLASH:
  case MODE_BOGUS_SLASH:
    return prefilter_slash_byte(filter, c);
  case MODE_BOGUS:
    return prefilter_bogus_byte(filter, c);
  case MODE_ATTRIBUTE_NAME:
    return prefilter_attribute_name_byte(filter, c);
  case MODE_ATTRIBUTE_AFTER_NAME:
  case MODE_ATTRIBUTE_BEFORE_VALUE:
    return prefilter_after_name_byte(filter, c);
  case MODE_VALUE_QUOTED:
  case MODE_VALUE_UNQUOTED:
    return prefilter_value_byte(filter, c);
  default:
    prefilter_emit_byte(filter, c);
    return true;
  }
}

/* Bytes of text that only make a run text (1) or keep it blank (2); 0: the rest ('<', '&',
 * control bytes, non-ASCII), read one at a time. */
static unsigned char prefilter_text_kind[256];
/* Bytes of names (prefilter_is_name()). */
static bool prefilter_name_byte[256];

static void prefilter_init_tables(void) {
  for (int c = 0; c < 256; c++)
    prefilter_name_byte[c] = prefilter_is_name((unsigned char)c);
  for (int c = 0x20; c < 0x80; c++)
    prefilter_text_kind[c] = 1;
  prefilter_text_kind['<'] = prefilter_text_kind['&'] = 0;
  prefilter_text_kind[' '] = prefilter_text_kind['\t'] = prefilter_text_kind['\n'] =
      prefilter_text_kind['\r'] = 2;
}

/* Text between tags, the bulk of a page, a run at a time. */
static size_t prefilter_text_run(struct html_prefilter *filter, const unsigned char *data,
                                 size_t length) {
  size_t i = 0;
  while (i < length && filter->text_class != TEXT_CHARACTERS) {
    unsigned char kind = prefilter_text_kind[data[i]];
    if (kind == 0)
      return i;
    if (kind == 2)
      prefilter_text_blank(filter);
    else
      prefilter_text_characters(filter);
    i++;
  }
  while (i < length && prefilter_text_kind[data[i]] != 0)
    i++;
  return i;
}

/* How many bytes from `data` are ASCII, not NUL and not `stop`: bytes no mode needs to look
 * at one by one but for their value. */
static size_t prefilter_plain_span(const unsigned char *data, size_t length, unsigned char stop) {
  size_t i = 0;
  while (i < length && data[i] != stop && data[i] - 1u < 0x7Fu)
    i++;
  return i;
}

/* Appends `length` bytes of the tag at once, when there is room for them. */
static bool prefilter_tag_append_run(struct html_prefilter *filter, const unsigned char *data,
                                     size_t length) {
  if (filter->tag_unchanged) {
    prefilter_emit(filter, (const char *)data, length);
  } else if (filter->tag_length + length <= HTML_PREFILTER_TAG_MAX) {
    memcpy(filter->tag + filter->tag_length, data, length);
    filter->tag_length += length;
  } else {
    return false;
  }
  return true;
}

/* The bytes of a tag or attribute name, lower-cased into `name`, up to its 100th byte. */
static size_t prefilter_name_run(struct html_prefilter *filter, const unsigned char *data,
                                 size_t length, char *name, size_t *name_length) {
  size_t room = PREFILTER_NAME_MAX - *name_length, i = 0;
  while (i < length && i < room && prefilter_name_byte[data[i]]) {
    name[*name_length + i] = prefilter_lower(data[i]);
    i++;
  }
  if (!prefilter_tag_append_run(filter, data, i))
    return 0;
  *name_length += i;
  return i;
}

/* ---- whole tags at once ---- */

/* A name from data[*at]: its length (0 when it reaches PREFILTER_NAME_MAX: left to the
 * byte-at-a-time reading), lower-cased into `name`. */
static size_t prefilter_fast_name(const unsigned char *data, size_t length, size_t *at,
                                  char *name) {
  size_t start = *at;
  while (*at < length && prefilter_name_byte[data[*at]] && *at - start < PREFILTER_NAME_MAX) {
    name[*at - start] = prefilter_lower(data[*at]);
    (*at)++;
  }
  size_t name_length = *at - start;
  if (name_length == PREFILTER_NAME_MAX)
    return 0;
  name[name_length] = '\0';
  return name_length;
}

static size_t prefilter_fast_blanks(const unsigned char *data, size_t length, size_t at) {
  while (at < length && prefilter_is_blank(data[at]))
    at++;
  return at;
}

/* An attribute's value from data[*at] (after '=' and blanks); false where the
 * byte-at-a-time reading must decide (the input ends, a byte is not ASCII or is NUL). */
static bool prefilter_fast_value(const unsigned char *data, size_t length, size_t *at) {
  size_t i = *at;
  if (i < length && (data[i] == '"' || data[i] == '\'')) {
    unsigned char quote = data[i++];
    i += prefilter_plain_span(data + i, length - i, quote);
    if (i == length || data[i] != quote)
      return false;
    *at = i + 1;
    return true;
  }
  while (i < length && data[i] - 1u < 0x7Fu && data[i] != '>' && !prefilter_is_blank(data[i]))
    i++;
  if (i == length || data[i] - 1u >= 0x7Fu)
    return false;
  *at = i;
  return true;
}

/* The attributes of a start tag from data[*at] up to its end, the kept ones recorded as in
 * prefilter_attribute_end(): the length of the end ("/>" 2, ">" 1), 0 where the
 * byte-at-a-time reading must decide (a bogus attribute, a long name, too many kept, the
 * input ends). */
static size_t prefilter_fast_attributes(struct html_prefilter *filter, const unsigned char *data,
                                        size_t length, size_t *at) {
  for (;;) {
    size_t i = prefilter_fast_blanks(data, length, *at);
    if (i == length)
      return 0;
    if (data[i] == '>' || (data[i] == '/' && i + 1 < length && data[i + 1] == '>')) {
      *at = i;
      return data[i] == '>' ? 1 : 2;
    }
    if (!prefilter_is_name_start(data[i]))
      return 0;
    size_t start = i;
    if (prefilter_fast_name(data, length, &i, filter->attribute) == 0)
      return 0;
    size_t after_name = prefilter_fast_blanks(data, length, i);
    if (after_name < length && data[after_name] == '=') {
      i = prefilter_fast_blanks(data, length, after_name + 1);
      if (!prefilter_fast_value(data, length, &i))
        return 0;
    } else {
      i = after_name;
    }
    if (filter->tag_is_meta || link_attribute_is_read(filter->attribute)) {
      if (filter->kept_count == HTML_PREFILTER_KEPT_MAX)
        return 0;
      filter->kept_start[filter->kept_count] = start;
      filter->kept_end[filter->kept_count++] = i;
    }
    *at = i;
  }
}

/* A start tag whose end is in `data` (which begins after its '<'), read and written out at
 * once, as the byte-at-a-time reading would: the bytes read, 0 to leave it to that. */
static size_t prefilter_fast_tag(struct html_prefilter *filter, const unsigned char *data,
                                 size_t length) {
  size_t at = 0;
  filter->name_length = prefilter_fast_name(data, length, &at, filter->name);
  if (filter->name_length == 0 || at == length)
    return 0;
  filter->tag_is_meta = strcmp(filter->name, "meta") == 0;
  filter->kept_count = 0;
  size_t name_end = at;
  size_t ending = prefilter_fast_attributes(filter, data, length, &at);
  if (ending == 0 || at + ending + 1 > HTML_PREFILTER_TAG_MAX)
    return 0;
  prefilter_emit_byte(filter, '<');
  prefilter_emit(filter, (const char *)data, name_end);
  prefilter_emit_kept(filter, (const char *)data, ending == 2);
  filter->raw_name = strcmp(filter->name, "script") == 0  ? "script"
                     : strcmp(filter->name, "style") == 0 ? "style"
                                                          : NULL;
  filter->tag_unchanged = true; /* written out: prefilter_tag_end() only sets the mode */
  prefilter_tag_end(filter, ending == 2);
  return at + ending;
}

/* An end tag "</name ... >" whose '>' is in `data` (which begins after its '<'), passed at
 * once: the bytes read, 0 to leave it to the byte-at-a-time reading. */
static size_t prefilter_fast_end_tag(struct html_prefilter *filter, const unsigned char *data,
                                     size_t length) {
  if (length < 3 || !prefilter_is_name_start(data[1]))
    return 0;
  size_t end = 1 + prefilter_plain_span(data + 1, length - 1, '>');
  if (end == length || data[end] != '>')
    return 0;
  prefilter_emit_byte(filter, '<');
  prefilter_emit(filter, (const char *)data, end + 1);
  prefilter_text_start(filter);
  return end + 1;
}

/* The modes that pass or carry long runs of bytes unchanged, a run at a time: the bytes read,
 * 0 when the next byte must be read on its own. */
static size_t prefilter_bulk(struct html_prefilter *filter, const unsigned char *data,
                             size_t length) {
  size_t span;
  switch (filter->mode) {
  case MODE_TEXT:
    return filter->utf8_needed == 0 ? prefilter_text_run(filter, data, length) : 0;
  case MODE_VALUE_QUOTED:
    span = prefilter_plain_span(data, length, (unsigned char)filter->quote);
    return prefilter_tag_append_run(filter, data, span) ? span : 0;
  case MODE_VALUE_UNQUOTED:
    for (span = 0; span < length && data[span] - 1u < 0x7Fu && data[span] != '>' &&
                   !prefilter_is_blank(data[span]);
         span++)
      ;
    return prefilter_tag_append_run(filter, data, span) ? span : 0;
  case MODE_TAG_NAME:
    return prefilter_name_run(filter, data, length, filter->name, &filter->name_length);
  case MODE_ATTRIBUTE_NAME:
    return prefilter_name_run(filter, data, length, filter->attribute,
                              &filter->attribute_length);
  case MODE_TEXT_VERBATIM:
    span = prefilter_plain_span(data, length, '<');
    prefilter_emit(filter, (const char *)data, span);
    return span;
  case MODE_RAW:
    if (filter->raw_matched > 0)
      return 0;
    span = prefilter_plain_span(data, length, '<');
    prefilter_emit(filter, (const char *)data, span);
    return span;
  case MODE_LT:
    if (prefilter_is_letter(data[0]))
      return prefilter_fast_tag(filter, data, length);
    return data[0] == '/' ? prefilter_fast_end_tag(filter, data, length) : 0;
  default:
    return 0;
  }
}

size_t html_prefilter_feed(struct html_prefilter *filter, const char *data, size_t length,
                           const char **out) {
  if (filter->mode == MODE_PASS_THROUGH) {
    *out = data;
    return length;
  }
  if (!prefilter_reserve(filter, length)) {
    /* What was carried is lost; the rest passes unchanged. */
    filter->mode = MODE_PASS_THROUGH;
    *out = data;
    return length;
  }
  const unsigned char *bytes = (const unsigned char *)data;
  for (size_t i = 0; i < length; i++) {
    i += prefilter_bulk(filter, bytes + i, length - i);
    if (i == length)
      break;
    unsigned char c = bytes[i];
    if (filter->mode == MODE_PASS_THROUGH) {
      prefilter_emit(filter, data + i, length - i);
      break;
    }
    if ((c - 1u >= 0x7Fu || filter->utf8_needed > 0) && !prefilter_utf8_byte(filter, c)) {
      prefilter_give_up(filter);
      prefilter_emit(filter, data + i, length - i);
      break;
    }
    while (!prefilter_mode_byte(filter, c))
      ;
  }
  *out = filter->out;
  return filter->out_length;
}

size_t html_prefilter_finish(struct html_prefilter *filter, const char **out) {
  *out = "";
  if (filter->mode == MODE_PASS_THROUGH || !prefilter_reserve(filter, 0))
    return 0;
  prefilter_give_up(filter);
  *out = filter->out;
  return filter->out_length;
}
