/* The filter in front of libxml2's HTML push parser: see html_prefilter.h. Each byte goes
 * through prefilter_mode_byte(), a state machine whose states follow the libxml2 2.9
 * functions they mirror (htmlParseTryOrFinish, htmlParseCharData, areBlanks,
 * htmlCheckParagraph, htmlParseReference, htmlParseComment, htmlParseEndTag,
 * htmlParseScript; start tags: html_prefilter_tag.c), unless a run of bytes can be taken at
 * once (prefilter_bulk()). */
#include "afetch/html_prefilter.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afetch/html_prefilter_internal.h"

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

static bool prefilter_reserve(struct html_prefilter *filter, size_t length) {
  filter->out_length = 0;
  if (length > (SIZE_MAX - PREFILTER_OUT_SLACK) / 2)
    return false;
  size_t needed = length + length / 2 + PREFILTER_OUT_SLACK;
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

void prefilter_text_start(struct html_prefilter *filter) {
  filter->mode = MODE_TEXT;
  filter->text_class = TEXT_NONE;
  filter->text_blanks = 0;
  filter->text_starts_blank = false;
}

/* The run read so far, as few bytes with the same effect; `exact` keeps every blank (the
 * run goes on unchanged, and libxml2 counts its blanks with the rest). A run of blanks alone
 * ends at '<' and changes nothing in libxml2 2.9's state (areBlanks() or
 * htmlCheckParagraph() with an element open): it goes, unless `exact`. */
static void prefilter_text_flush(struct html_prefilter *filter, bool exact) {
  /* In an open body after '>', the run is nothing to libxml2 (html_prefilter.h) and the next
   * bytes out begin markup of their own, as they did after it: it goes, but for one in
   * PREFILTER_TEXT_KEPT_GAP bytes out. */
  bool droppable = filter->text_class == TEXT_CHARACTERS && !exact && filter->body_open &&
                   prefilter_last_out(filter) == '>';
  size_t at = filter->out_before + filter->out_length;
  if (droppable && at - filter->text_kept_at < PREFILTER_TEXT_KEPT_GAP) {
    /* gone */
  } else if (droppable) {
    prefilter_emit_byte(filter, '#');
    filter->text_kept_at = filter->out_before + filter->out_length;
  } else if (filter->text_class == TEXT_CHARACTERS) {
    if (filter->text_starts_blank)
      prefilter_emit_byte(filter, ' ');
    prefilter_emit_byte(filter, '#');
  } else if (filter->text_class == TEXT_BLANK && exact) {
    for (size_t i = 0; i < filter->text_blanks; i++)
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

/* From here on the run passes unchanged. */
static void prefilter_text_verbatim(struct html_prefilter *filter) {
  prefilter_text_flush(filter, true);
  filter->mode = MODE_TEXT_VERBATIM;
}

/* A blank. A run of as many blanks as libxml2 reads in one segment is text in content (the
 * segment ends on a blank, not before '<') but nothing before the first tag (skipped):
 * such a run passes unchanged. */
static void prefilter_text_blank(struct html_prefilter *filter) {
  if (filter->text_class == TEXT_NONE) {
    filter->text_class = TEXT_BLANK;
    filter->text_starts_blank = true;
  }
  if (filter->text_class == TEXT_BLANK && ++filter->text_blanks >= PREFILTER_TEXT_SEGMENT)
    prefilter_text_verbatim(filter);
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
  case MODE_END_TAG_HELD:
    prefilter_emit(filter, "</", 2);
    prefilter_emit(filter, filter->end_held, filter->end_held_length);
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
  prefilter_write_held(filter);
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

/* A byte of a non-ASCII character in text, held until the character is complete: then it is
 * text. Until then it counts for nothing: a sequence libxml2 decodes to a character it
 * drops (a surrogate) makes the filter give up, and the run before it goes out as it was. */
static void prefilter_text_utf8_byte(struct html_prefilter *filter, unsigned char c) {
  if (filter->utf8_needed > 0) {
    filter->utf8_held[filter->utf8_held_length++] = c;
    return;
  }
  filter->utf8_held_length = 0;
  prefilter_text_characters(filter);
}

/* ---- after '<' ---- */

/* htmlParseTryOrFinish() in content: what '<' starts. False: `c` is read again. */
static bool prefilter_lt_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_letter(c)) {
    prefilter_tag_start(filter, c);
  } else if (c == '/' && filter->held_count > 0) {
    filter->end_held_length = 0;
    filter->mode = MODE_END_TAG_HELD;
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
  if (filter->mode == MODE_END_TAG_START) {
    filter->end_name_length = 0;
    filter->end_name_done = false;
  }
  if (!filter->end_name_done && prefilter_is_name(c)) {
    if (filter->end_name_length < sizeof filter->end_name)
      filter->end_name[filter->end_name_length] = prefilter_lower(c);
    filter->end_name_length++;
  } else if (!filter->end_name_done) {
    filter->end_name_done = true;
    if (prefilter_is_document_tag(filter->end_name, filter->end_name_length))
      filter->body_open = false;
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
      filter->end_name_done = true; /* script or style */
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

static bool prefilter_mode_byte(struct html_prefilter *filter, unsigned char c);

/* After "</" with start tags held: the innermost's name and '>' drop the pair; anything else
 * writes the held tags out and "</" and the bytes read go on as an end tag. False: `c` is
 * read again. */
static bool prefilter_end_tag_held_byte(struct html_prefilter *filter, unsigned char c) {
  size_t innermost = filter->held_count - 1, at = filter->end_held_length;
  const char *name = filter->held_names[innermost];
  size_t length = filter->held_lengths[innermost];
  if (at < length && prefilter_lower(c) == prefilter_lower((unsigned char)name[at])) {
    filter->end_held[filter->end_held_length++] = (char)c;
    return true;
  }
  if (at == length && c == '>') {
    filter->held_count--;
    prefilter_text_start(filter);
    return true;
  }
  char read[sizeof filter->end_held];
  memcpy(read, filter->end_held, at);
  prefilter_emit(filter, "</", 2);
  filter->mode = MODE_END_TAG_START;
  for (size_t i = 0; i < at; i++)
    while (!prefilter_mode_byte(filter, (unsigned char)read[i]))
      ;
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
  case MODE_END_TAG_HELD:
    return prefilter_end_tag_held_byte(filter, c);
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

static void prefilter_init_tables(void) {
  prefilter_tag_init_tables();
  for (int c = 0x20; c < 0x80; c++)
    prefilter_text_kind[c] = 1;
  prefilter_text_kind['<'] = prefilter_text_kind['&'] = 0;
  prefilter_text_kind[' '] = prefilter_text_kind['\t'] = prefilter_text_kind['\n'] =
      prefilter_text_kind['\r'] = 2;
}

/* How many bytes from `data` are text that only makes a run text or keeps it blank: eight at
 * a time while a word holds no '<', '&', byte below 0x20 or non-ASCII byte, else one at a
 * time for the next eight (newlines and tabs are read there). */
static size_t prefilter_text_span(const unsigned char *data, size_t length) {
  size_t i = 0;
  for (;;) {
    while (length - i >= 8) {
      uint64_t word = prefilter_word(data + i);
      if ((word & PREFILTER_HIGHS) || prefilter_word_has_zero(word ^ (PREFILTER_ONES * '<')) ||
          prefilter_word_has_zero(word ^ (PREFILTER_ONES * '&')) ||
          ((word - PREFILTER_ONES * 0x20) & ~word & PREFILTER_HIGHS))
        break;
      i += 8;
    }
    size_t stop = length - i < 8 ? length : i + 8;
    for (; i < stop; i++)
      if (prefilter_text_kind[data[i]] == 0)
        return i;
    if (i == length)
      return i;
  }
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
    if (filter->mode != MODE_TEXT)
      return i;
  }
  return i + prefilter_text_span(data + i, length - i);
}

/* The modes that pass or carry long runs of bytes unchanged, a run at a time: the bytes read,
 * 0 when the next byte must be read on its own. */
static size_t prefilter_bulk(struct html_prefilter *filter, const unsigned char *data,
                             size_t length) {
  size_t span;
  switch (filter->mode) {
  case MODE_TEXT:
    return prefilter_text_run(filter, data, length);
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
    return prefilter_name_run(filter, data, length, filter->attribute, &filter->attribute_length);
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
    /* Runs are ASCII: none starts inside a character. */
    if (filter->utf8_needed == 0)
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
  if (filter->out_length > 0)
    filter->last_out = filter->out[filter->out_length - 1];
  filter->out_before += filter->out_length;
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
