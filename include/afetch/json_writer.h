/* A small append-only JSON writer for the hot path: one result per request.
 *
 * cJSON builds a tree (a malloc per node and key) and prints every number with sprintf and
 * then sscanf to check the round trip, a large share of afetch's cost per request
 * (docs/design.md, "Measured choices"). This writes the same text straight into one reused buffer.
 * cJSON stays the parser (tests, JSON-lines input) and the reference the unit tests check this
 * writer's output against. */
#ifndef AFETCH_JSON_WRITER_H
#define AFETCH_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

struct json_writer {
  char *data; /* NUL-terminated after every call, owned */
  size_t length;
  size_t capacity;
  bool failed;     /* an allocation failed: the text is incomplete */
  bool need_comma; /* a value was written at the current nesting level */
};

void json_writer_init(struct json_writer *writer);
/* Empties the text, keeping the buffer for reuse. */
void json_writer_reset(struct json_writer *writer);
void json_writer_free(struct json_writer *writer);

void json_writer_object_begin(struct json_writer *writer);
void json_writer_object_end(struct json_writer *writer);
void json_writer_array_begin(struct json_writer *writer);
void json_writer_array_end(struct json_writer *writer);
/* A value that is already JSON text (cJSON's output), copied as is. */
void json_writer_raw(struct json_writer *writer, const char *json);
/* A member name (a plain ASCII literal: it is not escaped). */
void json_writer_key(struct json_writer *writer, const char *key);

/* Escaped per RFC 8259, ill-formed UTF-8 replaced by U+FFFD; NULL writes null. */
void json_writer_string(struct json_writer *writer, const char *text);
void json_writer_uint(struct json_writer *writer, uint64_t value);
void json_writer_int(struct json_writer *writer, int64_t value);
void json_writer_bool(struct json_writer *writer, bool value);
void json_writer_null(struct json_writer *writer);
/* Microseconds as exact decimal seconds: 51300 -> 0.0513. */
void json_writer_seconds(struct json_writer *writer, int64_t microseconds);

/* cJSON's unformatted text of `item` with ill-formed UTF-8 (which cJSON copies as it is, in
 * strings and member names) replaced by U+FFFD: the one way afetch prints a cJSON tree, so
 * whatever bytes came in, what goes out is valid JSON. malloc'd; NULL when out of memory. */
char *json_print_valid_utf8(const struct cJSON *item);

#endif
