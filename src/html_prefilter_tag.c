/* The filter's start tags (html_prefilter.h), read as htmlParseStartTag(),
 * htmlParseAttribute(), htmlParseAttValue() and htmlParseHTMLAttribute() of libxml2 2.9 read
 * them: a byte at a time when a tag comes in pieces (carried in filter->tag), or whole at
 * once when its end is in the piece at hand (the common case, and the same result: the
 * differential tests feed both ways). */
#include <stdlib.h>
#include <string.h>

#include "afetch/html_prefilter_internal.h"
#include "afetch/link_tags.h"

/* Bytes of names (prefilter_is_name()). */
static bool prefilter_name_byte[256];

void prefilter_tag_start(struct html_prefilter *filter, unsigned char c) {
  filter->tag[0] = '<';
  filter->tag[1] = (char)c;
  filter->tag_length = 2;
  filter->tag_unchanged = false;
  filter->name[0] = prefilter_lower(c);
  filter->name_length = 1;
  filter->kept_count = 0;
  filter->mode = MODE_TAG_NAME;
}

/* ---- start tags (htmlParseStartTag) ---- */

/* What a start tag of body, html or head does to filter->body_open: only a <body> written
 * by the filter (so ended by '>') and not empty leaves body open: pushed, or discarded as
 * body was open already. The others may pop what is on top, or leave it open or not. */
static void prefilter_note_document_tag(struct html_prefilter *filter, bool rewritten,
                                        bool empty_element) {
  if (prefilter_is_document_tag(filter->name, filter->name_length))
    filter->body_open =
        rewritten && !empty_element && memcmp(filter->name, "body", 4) == 0;
}

/* From here the tag passes as it came. */
static void prefilter_tag_unchanged(struct html_prefilter *filter) {
  if (!filter->tag_unchanged)
    prefilter_note_document_tag(filter, false, false);
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

static bool prefilter_name_is(const struct html_prefilter *filter, const char *wanted,
                              size_t length) {
  return filter->name_length == length && memcmp(filter->name, wanted, length) == 0;
}

/* What the tag's name (lower case, in filter->name) makes of it: <meta> keeps every
 * attribute, script and style have raw text. */
static void prefilter_classify_tag(struct html_prefilter *filter) {
  filter->tag_is_meta = prefilter_name_is(filter, "meta", 4);
  filter->raw_name = prefilter_name_is(filter, "script", 6)  ? "script"
                     : prefilter_name_is(filter, "style", 5) ? "style"
                                                             : NULL;
  filter->tag_has_link_href =
      (filter->name[0] == 'a' || filter->name[0] == 'l') &&
      (prefilter_name_is(filter, "a", 1) || prefilter_name_is(filter, "area", 4) ||
       prefilter_name_is(filter, "link", 4));
}

/* Where the value of the attribute just read (lower case, in filter->attribute), from
 * base[value] to base[end], is to be written as "#": an href of a, area or link whose value
 * begins with '#' (after its quote). 0 otherwise, and when it has no value. */
static size_t prefilter_fragment_value(const struct html_prefilter *filter, const char *base,
                                       size_t value, size_t end) {
  if (!filter->tag_has_link_href || value == 0 || value >= end ||
      strcmp(filter->attribute, "href") != 0)
    return 0;
  bool quoted = base[value] == '"' || base[value] == '\'';
  return value + quoted < end && base[value + quoted] == '#' ? value : 0;
}

/* The first letters of the attributes link_tags.c reads. */
static bool prefilter_read_initial[256];

void prefilter_tag_init_tables(void) {
  for (int c = 0; c < 256; c++)
    prefilter_name_byte[c] = prefilter_is_name((unsigned char)c);
  for (int k = 0; k < LINK_ATTRIBUTE_COUNT; k++)
    prefilter_read_initial[(unsigned char)link_attribute_name((enum link_attribute)k)[0]] = true;
}

/* True when the attribute just read (lower case, in filter->attribute) is kept: the first
 * letter rules out most names (class, id, title ...) without a call. */
static bool prefilter_attribute_is_kept(const struct html_prefilter *filter) {
  return filter->tag_is_meta || (prefilter_read_initial[(unsigned char)filter->attribute[0]] &&
                                 link_attribute_is_read(filter->attribute));
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
  filter->kept_fragment[filter->kept_count] =
      prefilter_fragment_value(filter, filter->tag, filter->value_start, filter->tag_length);
  filter->kept_end[filter->kept_count++] = filter->tag_length;
}

/* A kept attribute from `base`: as it came, or up to its value and then "#" (quoted as it
 * was). */
static void prefilter_emit_attribute(struct html_prefilter *filter, const char *base, size_t i) {
  size_t start = filter->kept_start[i], fragment = filter->kept_fragment[i];
  if (fragment == 0) {
    prefilter_emit(filter, base + start, filter->kept_end[i] - start);
    return;
  }
  prefilter_emit(filter, base + start, fragment - start);
  char quote = base[fragment];
  if (quote == '"' || quote == '\'') {
    char quoted[3] = {quote, '#', quote};
    prefilter_emit(filter, quoted, 3);
  } else {
    prefilter_emit_byte(filter, '#');
  }
}

/* The kept attributes (offsets from `base`), each after a blank, and the tag's end: "/>"
 * after a blank too, else it would end an unquoted value. */
static void prefilter_emit_kept(struct html_prefilter *filter, const char *base,
                                bool empty_element) {
  for (size_t i = 0; i < filter->kept_count; i++) {
    prefilter_emit_byte(filter, ' ');
    prefilter_emit_attribute(filter, base, i);
  }
  if (empty_element)
    prefilter_emit(filter, filter->kept_count > 0 ? " />" : "/>", filter->kept_count > 0 ? 3 : 2);
  else
    prefilter_emit_byte(filter, '>');
}

/* html_prefilter_drops_empty() of a name of `length` bytes, lower case. */
static bool prefilter_drops_empty(const char *name, size_t length) {
  switch (length) {
  case 1:
    return name[0] == 'b' || name[0] == 'i';
  case 2:
    return name[0] == 'e' && name[1] == 'm';
  case 4:
    return memcmp(name, "span", 4) == 0 || memcmp(name, "code", 4) == 0;
  case 6:
    return memcmp(name, "strong", 6) == 0;
  default:
    return false;
  }
}

bool html_prefilter_drops_empty(const char *name) {
  return prefilter_drops_empty(name, strlen(name));
}

/* Holds the start tag just read (its name as it came at `name`) instead of writing it, when
 * its pair may go (html_prefilter.h): true when held. */
static bool prefilter_hold_tag(struct html_prefilter *filter, const char *name, bool empty_element) {
  if (!filter->body_open || empty_element || filter->kept_count > 0 ||
      filter->held_count == HTML_PREFILTER_HELD_MAX ||
      !prefilter_drops_empty(filter->name, filter->name_length) ||
      prefilter_last_out(filter) != '>')
    return false;
  memcpy(filter->held_names[filter->held_count], name, filter->name_length);
  filter->held_lengths[filter->held_count++] = filter->name_length;
  return true;
}

void prefilter_write_held(struct html_prefilter *filter) {
  size_t count = filter->held_count;
  filter->held_count = 0; /* prefilter_emit() writes them out otherwise */
  for (size_t i = 0; i < count; i++) {
    prefilter_emit_byte(filter, '<');
    prefilter_emit(filter, filter->held_names[i], filter->held_lengths[i]);
    prefilter_emit_byte(filter, '>');
  }
}

/* The tag's last byte was appended: "<name", the kept attributes, its end. The text of a
 * script or style element follows an end of ">". */
static void prefilter_tag_end(struct html_prefilter *filter, bool empty_element) {
  if (!filter->tag_unchanged) {
    prefilter_note_document_tag(filter, true, empty_element);
    if (!prefilter_hold_tag(filter, filter->tag + 1, empty_element)) {
      prefilter_emit(filter, filter->tag, filter->name_end);
      prefilter_emit_kept(filter, filter->tag, empty_element);
    }
  }
  if (filter->raw_name && !empty_element) {
    filter->mode = MODE_RAW;
    filter->raw_matched = 0;
  } else {
    prefilter_text_start(filter);
  }
}

/* The loop of htmlParseStartTag(): blanks, the end, or an attribute (bogus without a name). */
bool prefilter_before_attribute_byte(struct html_prefilter *filter, unsigned char c) {
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
    filter->value_start = 0;
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
bool prefilter_slash_byte(struct html_prefilter *filter, unsigned char c) {
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
bool prefilter_bogus_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_blank(c) || c == '>') {
    filter->mode = MODE_TAG_BEFORE_ATTRIBUTE;
    return false;
  }
  prefilter_tag_append(filter, c);
  if (c == '/')
    filter->mode = MODE_BOGUS_SLASH;
  return true;
}

bool prefilter_attribute_name_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_name(c) && filter->attribute_length < PREFILTER_NAME_MAX) {
    filter->attribute[filter->attribute_length++] = prefilter_lower(c);
    prefilter_tag_append(filter, c);
    return true;
  }
  filter->attribute[filter->attribute_length] = '\0';
  filter->attribute_kept = prefilter_attribute_is_kept(filter);
  filter->mode = MODE_ATTRIBUTE_AFTER_NAME;
  return false;
}

/* htmlParseAttribute() after the name: blanks, then '=' and a value, or no value. */
bool prefilter_after_name_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_blank(c)) {
    prefilter_tag_append(filter, c);
  } else if (c == '=' && filter->mode == MODE_ATTRIBUTE_AFTER_NAME) {
    prefilter_tag_append(filter, c);
    filter->mode = MODE_ATTRIBUTE_BEFORE_VALUE;
  } else if (filter->mode == MODE_ATTRIBUTE_BEFORE_VALUE) {
    filter->value_start = filter->tag_length;
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
bool prefilter_value_byte(struct html_prefilter *filter, unsigned char c) {
  if (filter->mode == MODE_VALUE_UNQUOTED && (prefilter_is_blank(c) || c == '>')) {
    prefilter_attribute_end(filter);
    return false;
  }
  prefilter_tag_append(filter, c);
  if (filter->mode == MODE_VALUE_QUOTED && c == (unsigned char)filter->quote)
    prefilter_attribute_end(filter);
  return true;
}

bool prefilter_tag_name_byte(struct html_prefilter *filter, unsigned char c) {
  if (prefilter_is_name(c) && filter->name_length < PREFILTER_NAME_MAX) {
    filter->name[filter->name_length++] = prefilter_lower(c);
    prefilter_tag_append(filter, c);
    return true;
  }
  filter->name[filter->name_length] = '\0';
  filter->name_end = filter->tag_length;
  prefilter_classify_tag(filter);
  filter->mode = MODE_TAG_BEFORE_ATTRIBUTE;
  return false;
}

/* Appends `length` bytes of the tag at once, when there is room for them. */
bool prefilter_tag_append_run(struct html_prefilter *filter, const unsigned char *data,
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
size_t prefilter_name_run(struct html_prefilter *filter, const unsigned char *data, size_t length,
                          char *name, size_t *name_length) {
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
    /* Most names (class, id, title ...) are ruled out by their first letter: then they are
     * only skipped, not copied. */
    bool maybe_kept =
        filter->tag_is_meta || prefilter_read_initial[(unsigned char)prefilter_lower(data[i])];
    if (maybe_kept && prefilter_fast_name(data, length, &i, filter->attribute) == 0)
      return 0;
    while (!maybe_kept && i < length && prefilter_name_byte[data[i]] &&
           i - start < PREFILTER_NAME_MAX)
      i++;
    if (!maybe_kept && i - start == PREFILTER_NAME_MAX)
      return 0;
    size_t after_name = prefilter_fast_blanks(data, length, i), value = 0;
    if (after_name < length && data[after_name] == '=') {
      i = value = prefilter_fast_blanks(data, length, after_name + 1);
      if (!prefilter_fast_value(data, length, &i))
        return 0;
    } else {
      i = after_name;
    }
    if (maybe_kept && prefilter_attribute_is_kept(filter)) {
      if (filter->kept_count == HTML_PREFILTER_KEPT_MAX)
        return 0;
      filter->kept_start[filter->kept_count] = start;
      filter->kept_fragment[filter->kept_count] =
          prefilter_fragment_value(filter, (const char *)data, value, i);
      filter->kept_end[filter->kept_count++] = i;
    }
    *at = i;
  }
}

/* A start tag whose end is in `data` (which begins after its '<'), read and written out at
 * once, as the byte-at-a-time reading would: the bytes read, 0 to leave it to that. */
size_t prefilter_fast_tag(struct html_prefilter *filter, const unsigned char *data, size_t length) {
  size_t at = 0;
  filter->name_length = prefilter_fast_name(data, length, &at, filter->name);
  if (filter->name_length == 0 || at == length)
    return 0;
  prefilter_classify_tag(filter);
  filter->kept_count = 0;
  size_t name_end = at;
  size_t ending = prefilter_fast_attributes(filter, data, length, &at);
  if (ending == 0 || at + ending + 1 > HTML_PREFILTER_TAG_MAX)
    return 0;
  if (!prefilter_hold_tag(filter, (const char *)data, ending == 2)) {
    prefilter_emit_byte(filter, '<');
    prefilter_emit(filter, (const char *)data, name_end);
    prefilter_emit_kept(filter, (const char *)data, ending == 2);
  }
  prefilter_note_document_tag(filter, true, ending == 2);
  filter->tag_unchanged = true; /* written out: prefilter_tag_end() only sets the mode */
  prefilter_tag_end(filter, ending == 2);
  return at + ending;
}

/* An end tag "</name ... >" whose '>' is in `data` (which begins after its '<'), passed at
 * once: the bytes read, 0 to leave it to the byte-at-a-time reading. */
size_t prefilter_fast_end_tag(struct html_prefilter *filter, const unsigned char *data,
                              size_t length) {
  if (length < 3 || !prefilter_is_name_start(data[1]))
    return 0;
  size_t end = 1 + prefilter_plain_span(data + 1, length - 1, '>');
  if (end == length || data[end] != '>')
    return 0;
  if (filter->held_count > 0) {
    size_t innermost = filter->held_count - 1, name_length = filter->held_lengths[innermost];
    const char *name = filter->held_names[innermost];
    size_t i = 0;
    while (i < name_length && prefilter_lower(data[1 + i]) == prefilter_lower((unsigned char)name[i]))
      i++;
    if (i == name_length && end == 1 + name_length) {
      filter->held_count--;
      prefilter_text_start(filter);
      return end + 1;
    }
  }
  /* Only body, html and head matter: most names are ruled out by their first letter. */
  unsigned char initial = (unsigned char)prefilter_lower(data[1]);
  if (filter->body_open && (initial == 'b' || initial == 'h')) {
    size_t name_end = 1;
    while (prefilter_name_byte[data[name_end]])
      name_end++;
    char name[4];
    for (size_t i = 0; i < 4 && i + 1 < name_end; i++)
      name[i] = prefilter_lower(data[i + 1]);
    if (prefilter_is_document_tag(name, name_end - 1))
      filter->body_open = false;
  }
  prefilter_emit_byte(filter, '<');
  prefilter_emit(filter, (const char *)data, end + 1);
  prefilter_text_start(filter);
  return end + 1;
}
