/* Append-only JSON text for results: exact numbers without printf, strings escaped in one pass. */
#include "afetch/json_writer.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "afetch/utf8.h"

#define JSON_WRITER_INITIAL_CAPACITY 1024

void json_writer_init(struct json_writer *writer) { *writer = (struct json_writer){0}; }

void json_writer_reset(struct json_writer *writer) {
  writer->length = 0;
  writer->failed = false;
  writer->need_comma = false;
  if (writer->data)
    writer->data[0] = '\0';
}

void json_writer_free(struct json_writer *writer) {
  free(writer->data);
  json_writer_init(writer);
}

/* Makes room for `extra` more bytes plus the NUL; false (and `failed`) when it cannot. */
static bool json_writer_reserve(struct json_writer *writer, size_t extra) {
  if (writer->failed)
    return false;
  size_t needed = writer->length + extra + 1;
  if (needed <= writer->capacity)
    return true;
  size_t capacity = writer->capacity ? writer->capacity : JSON_WRITER_INITIAL_CAPACITY;
  while (capacity < needed)
    capacity *= 2;
  char *grown = realloc(writer->data, capacity);
  if (!grown) {
    writer->failed = true;
    return false;
  }
  writer->data = grown;
  writer->capacity = capacity;
  return true;
}

static void json_writer_append(struct json_writer *writer, const char *bytes, size_t count) {
  if (!json_writer_reserve(writer, count))
    return;
  memcpy(writer->data + writer->length, bytes, count);
  writer->length += count;
  writer->data[writer->length] = '\0';
}

static void json_writer_separate(struct json_writer *writer) {
  if (writer->need_comma)
    json_writer_append(writer, ",", 1);
}

void json_writer_object_begin(struct json_writer *writer) {
  json_writer_separate(writer);
  json_writer_append(writer, "{", 1);
  writer->need_comma = false;
}

void json_writer_object_end(struct json_writer *writer) {
  json_writer_append(writer, "}", 1);
  writer->need_comma = true;
}

void json_writer_raw(struct json_writer *writer, const char *json) {
  json_writer_separate(writer);
  json_writer_append(writer, json, strlen(json));
  writer->need_comma = true;
}

void json_writer_array_begin(struct json_writer *writer) {
  json_writer_separate(writer);
  json_writer_append(writer, "[", 1);
  writer->need_comma = false;
}

void json_writer_array_end(struct json_writer *writer) {
  json_writer_append(writer, "]", 1);
  writer->need_comma = true;
}

void json_writer_key(struct json_writer *writer, const char *key) {
  json_writer_separate(writer);
  size_t length = strlen(key);
  if (!json_writer_reserve(writer, length + 3))
    return;
  char *out = writer->data + writer->length;
  out[0] = '"';
  memcpy(out + 1, key, length);
  out[length + 1] = '"';
  out[length + 2] = ':';
  writer->length += length + 3;
  writer->data[writer->length] = '\0';
  writer->need_comma = false; /* the value comes next, without a comma */
}

void json_writer_null(struct json_writer *writer) {
  json_writer_separate(writer);
  json_writer_append(writer, "null", 4);
  writer->need_comma = true;
}

void json_writer_bool(struct json_writer *writer, bool value) {
  json_writer_separate(writer);
  json_writer_append(writer, value ? "true" : "false", value ? 4 : 5);
  writer->need_comma = true;
}

/* Writes the decimal digits of value into the end of buf; returns where they start. */
static char *json_writer_digits(uint64_t value, char *end) {
  char *p = end;
  do {
    *--p = (char)('0' + value % 10);
    value /= 10;
  } while (value);
  return p;
}

void json_writer_uint(struct json_writer *writer, uint64_t value) {
  char buffer[24];
  char *end = buffer + sizeof buffer;
  char *start = json_writer_digits(value, end);
  json_writer_separate(writer);
  json_writer_append(writer, start, (size_t)(end - start));
  writer->need_comma = true;
}

void json_writer_int(struct json_writer *writer, int64_t value) {
  char buffer[24];
  char *end = buffer + sizeof buffer;
  uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
  char *start = json_writer_digits(magnitude, end);
  if (value < 0)
    *--start = '-';
  json_writer_separate(writer);
  json_writer_append(writer, start, (size_t)(end - start));
  writer->need_comma = true;
}

void json_writer_seconds(struct json_writer *writer, int64_t microseconds) {
  char buffer[32];
  char *end = buffer + sizeof buffer;
  bool negative = microseconds < 0;
  uint64_t magnitude = negative ? 0 - (uint64_t)microseconds : (uint64_t)microseconds;
  uint64_t fraction = magnitude % 1000000;
  char *start = end;
  if (fraction) {
    /* Six fraction digits, trailing zeros dropped: 51300 us -> ".0513". */
    int digits = 6;
    while (fraction % 10 == 0) {
      fraction /= 10;
      digits--;
    }
    for (int i = 0; i < digits; i++) {
      *--start = (char)('0' + fraction % 10);
      fraction /= 10;
    }
    *--start = '.';
  }
  start = json_writer_digits(magnitude / 1000000, start);
  if (negative)
    *--start = '-';
  json_writer_separate(writer);
  json_writer_append(writer, start, (size_t)(end - start));
  writer->need_comma = true;
}

/* The escape for a byte below 0x20, or for '"' and '\\'; NULL for bytes copied as they are. */
static const char *json_writer_escape(unsigned char c, char scratch[7]) {
  static const char hex[] = "0123456789abcdef";
  switch (c) {
  case '"':
    return "\\\"";
  case '\\':
    return "\\\\";
  case '\b':
    return "\\b";
  case '\f':
    return "\\f";
  case '\n':
    return "\\n";
  case '\r':
    return "\\r";
  case '\t':
    return "\\t";
  default:
    if (c >= 0x20)
      return NULL;
    memcpy(scratch, "\\u00", 4);
    scratch[4] = hex[c >> 4];
    scratch[5] = hex[c & 0xF];
    scratch[6] = '\0';
    return scratch;
  }
}

/* Bytes that can be copied into a JSON string as they are: printable ASCII but '"' and '\\'. */
static bool json_writer_is_plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void json_writer_string(struct json_writer *writer, const char *text) {
  if (!text) {
    json_writer_null(writer);
    return;
  }
  static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
  json_writer_separate(writer);
  json_writer_append(writer, "\"", 1);
  const unsigned char *s = (const unsigned char *)text;
  for (;;) {
    /* Copy the longest plain run in one go: URLs and headers are nearly all plain. */
    const unsigned char *run = s;
    while (json_writer_is_plain(*s))
      s++;
    json_writer_append(writer, (const char *)run, (size_t)(s - run));
    if (!*s)
      break;
    char scratch[7];
    if (*s < 0x80) {
      const char *escape = json_writer_escape(*s, scratch);
      json_writer_append(writer, escape, strlen(escape));
      s++;
      continue;
    }
    size_t length = utf8_sequence_length(s);
    if (length) {
      json_writer_append(writer, (const char *)s, length);
      s += length;
    } else {
      json_writer_append(writer, replacement, 3);
      s++;
    }
  }
  json_writer_append(writer, "\"", 1);
  writer->need_comma = true;
}

char *json_print_valid_utf8(const cJSON *item) {
  char *text = cJSON_PrintUnformatted(item);
  return text ? utf8_repaired(text) : NULL;
}
