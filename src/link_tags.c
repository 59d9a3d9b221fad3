/* The tags and attributes link extraction reads, told apart by first letter: see
 * link_tags.h. */
#include "afetch/link_tags.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Lower case, as libxml2 passes names. Names with the same first letter are next to each
 * other: link_tag_of() looks only there. */
static const char *const link_tag_names[LINK_TAG_COUNT] = {
    [LINK_TAG_A] = "a",           [LINK_TAG_AREA] = "area",     [LINK_TAG_AUDIO] = "audio",
    [LINK_TAG_BASE] = "base",     [LINK_TAG_EMBED] = "embed",   [LINK_TAG_FRAME] = "frame",
    [LINK_TAG_IFRAME] = "iframe", [LINK_TAG_IMG] = "img",       [LINK_TAG_LINK] = "link",
    [LINK_TAG_OBJECT] = "object", [LINK_TAG_SCRIPT] = "script", [LINK_TAG_SOURCE] = "source",
    [LINK_TAG_STYLE] = "style",   [LINK_TAG_TRACK] = "track",   [LINK_TAG_VIDEO] = "video",
};

static const char *const link_attribute_names[LINK_ATTRIBUTE_COUNT] = {
    [LINK_ATTRIBUTE_HREF] = "href",     [LINK_ATTRIBUTE_REL] = "rel",
    [LINK_ATTRIBUTE_SRC] = "src",       [LINK_ATTRIBUTE_SRCSET] = "srcset",
    [LINK_ATTRIBUTE_POSTER] = "poster", [LINK_ATTRIBUTE_DATA] = "data",
    [LINK_ATTRIBUTE_STYLE] = "style",
};

/* link_tag_first[c]: the first tag whose name begins with byte c, else LINK_TAG_OTHER. */
static unsigned char link_tag_first[UCHAR_MAX + 1];

void link_tags_init(void) {
  for (size_t tag = LINK_TAG_COUNT - 1; tag > LINK_TAG_OTHER; tag--)
    link_tag_first[(unsigned char)link_tag_names[tag][0]] = (unsigned char)tag;
}

static unsigned char link_tags_lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True when `name` is `wanted` (lower case) but for the case of ASCII letters. */
static bool link_tags_name_is(const char *name, const char *wanted) {
  for (; *wanted; name++, wanted++)
    if (link_tags_lower((unsigned char)*name) != (unsigned char)*wanted)
      return false;
  return *name == '\0';
}

enum link_tag link_tag_of(const char *name) {
  unsigned char initial = link_tags_lower((unsigned char)name[0]);
  size_t tag = link_tag_first[initial];
  if (tag == LINK_TAG_OTHER)
    return LINK_TAG_OTHER;
  for (; tag < LINK_TAG_COUNT && (unsigned char)link_tag_names[tag][0] == initial; tag++)
    if (link_tags_name_is(name + 1, link_tag_names[tag] + 1))
      return (enum link_tag)tag;
  return LINK_TAG_OTHER;
}

const char *link_tag_name(enum link_tag tag) {
  return tag > LINK_TAG_OTHER && tag < LINK_TAG_COUNT ? link_tag_names[tag] : NULL;
}

/* The attribute named `name`, else LINK_ATTRIBUTE_COUNT. Few names are wanted: the first
 * letter is compared before the rest. */
static size_t link_attribute_of(const char *name) {
  unsigned char initial = link_tags_lower((unsigned char)name[0]);
  for (size_t k = 0; k < LINK_ATTRIBUTE_COUNT; k++)
    if ((unsigned char)link_attribute_names[k][0] == initial &&
        link_tags_name_is(name + 1, link_attribute_names[k] + 1))
      return k;
  return LINK_ATTRIBUTE_COUNT;
}

const char *link_attribute_name(enum link_attribute attribute) {
  return link_attribute_names[attribute];
}

bool link_attribute_is_read(const char *name) {
  return link_attribute_of(name) < LINK_ATTRIBUTE_COUNT;
}

void link_attributes_read(const unsigned char *const *attributes,
                          const char *values[LINK_ATTRIBUTE_COUNT]) {
  for (size_t k = 0; k < LINK_ATTRIBUTE_COUNT; k++)
    values[k] = NULL;
  for (size_t i = 0; attributes && attributes[i]; i += 2) {
    size_t k = link_attribute_of((const char *)attributes[i]);
    if (k < LINK_ATTRIBUTE_COUNT && !values[k])
      values[k] = attributes[i + 1] ? (const char *)attributes[i + 1] : "";
  }
}
