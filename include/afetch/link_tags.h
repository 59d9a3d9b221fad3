/* --crawl: the HTML tags and attributes link extraction reads (links.c), told apart with a
 * look at a name's first letter and the few wanted names that share it: a page's other
 * elements, nearly all of them, cost no more than that. Names compare without case (ASCII
 * letters only, as strcasecmp() in the C locale); libxml2 passes them in lower case anyway.
 *
 * link_tags_init() once before the first link_tag_of() (links.c calls it with libxml2's
 * set-up); after that every function is safe from any thread. */
#ifndef AFETCH_LINK_TAGS_H
#define AFETCH_LINK_TAGS_H

#include <stdbool.h>

/* The tags whose attributes are read; LINK_TAG_OTHER: any other. */
enum link_tag {
  LINK_TAG_OTHER,
  LINK_TAG_A,
  LINK_TAG_AREA,
  LINK_TAG_AUDIO,
  LINK_TAG_BASE,
  LINK_TAG_EMBED,
  LINK_TAG_FRAME,
  LINK_TAG_IFRAME,
  LINK_TAG_IMG,
  LINK_TAG_LINK,
  LINK_TAG_OBJECT,
  LINK_TAG_SCRIPT,
  LINK_TAG_SOURCE,
  LINK_TAG_STYLE,
  LINK_TAG_TRACK,
  LINK_TAG_VIDEO,
  LINK_TAG_COUNT
};

/* The attributes read. */
enum link_attribute {
  LINK_ATTRIBUTE_HREF,
  LINK_ATTRIBUTE_REL,
  LINK_ATTRIBUTE_SRC,
  LINK_ATTRIBUTE_SRCSET,
  LINK_ATTRIBUTE_POSTER,
  LINK_ATTRIBUTE_DATA,
  LINK_ATTRIBUTE_STYLE,
  LINK_ATTRIBUTE_COUNT
};

void link_tags_init(void);

/* The tag named `name`, or LINK_TAG_OTHER. */
enum link_tag link_tag_of(const char *name);

/* The name of `tag` in lower case ("a", "img" ...); NULL for LINK_TAG_OTHER. Static. */
const char *link_tag_name(enum link_tag tag);

/* The name of `attribute` in lower case ("href" ...). Static. */
const char *link_attribute_name(enum link_attribute attribute);

/* True when `name` (any case) is one of the attributes read. */
bool link_attribute_is_read(const char *name);

/* The values of the attributes read, from NULL-terminated name/value pairs (libxml2's
 * startElement `attributes`, xmlChar being unsigned char; NULL for none): values[k] is NULL when
 * attribute k is absent, "" when present without a value; the first one of a name counts. Borrowed
 * from `attributes`. */
void link_attributes_read(const unsigned char *const *attributes,
                          const char *values[LINK_ATTRIBUTE_COUNT]);

#endif
