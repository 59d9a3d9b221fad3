/* -o: the file name a URL's body is saved under, and the names claimed in one run. Every URL
 * part comes from curl's URL API (CURLU): no URL parsing of our own. */
#include "afetch/output_name.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "afetch/hash_table.h"

#define SEGMENT_MAX 200     /* bytes in one segment of a name */
#define SEGMENT_KEEP 191    /* a longer segment keeps this many, then "-" + 8 hex digits */
#define LONG_HASH_LENGTH 17 /* "-" + 16 hex digits, appended to a name cut to OUTPUT_NAME_MAX */
#define DEFAULT_TEMPLATE "{host}/{path}"
#define EMPTY_NAME "index.html"

/* The 8 hex digits of the spec: the 64-bit FNV-1a hash folded to 32 bits (high half XOR low
 * half), so every input byte reaches every digit. */
static uint32_t output_name_short_hash(const char *bytes, size_t length) {
  uint64_t hash = hash_fnv1a64(bytes, length);
  return (uint32_t)(hash >> 32) ^ (uint32_t)hash;
}

/* A growing byte string, always NUL-terminated once anything was appended. After an
 * allocation failure `failed` is set and further appends do nothing. */
struct text {
  char *data;
  size_t length, capacity;
  bool failed;
};

static void text_append(struct text *text, const char *bytes, size_t length) {
  if (text->failed)
    return;
  if (text->capacity - text->length <= length) {
    size_t capacity = text->capacity ? text->capacity : 256;
    while (capacity - text->length <= length)
      capacity *= 2;
    char *data = realloc(text->data, capacity);
    if (!data) {
      text->failed = true;
      return;
    }
    text->data = data;
    text->capacity = capacity;
  }
  memcpy(text->data + text->length, bytes, length);
  text->length += length;
  text->data[text->length] = '\0';
}

static void text_append_string(struct text *text, const char *string) {
  text_append(text, string, strlen(string));
}

/* Moves the end back to `length` (no more than what is there). */
static void text_truncate(struct text *text, size_t length) {
  if (text->failed || length >= text->length)
    return;
  text->length = length;
  text->data[length] = '\0';
}

/* The last '/' among the first `length` bytes, or NULL (memrchr is not POSIX). */
static const char *output_name_last_slash(const char *bytes, size_t length) {
  while (length > 0)
    if (bytes[--length] == '/')
      return bytes + length;
  return NULL;
}

/* "", "." and ".." never become a directory or file name. */
static bool output_name_segment_dropped(const char *segment, size_t length) {
  return length == 0 || (length == 1 && segment[0] == '.') ||
         (length == 2 && segment[0] == '.' && segment[1] == '.');
}

/* Where a segment's extension starts (its last '.', unless that is its first byte), or
 * `length` when it has none. */
static size_t output_name_extension(const char *segment, size_t length) {
  for (size_t i = length; i > 1; i--)
    if (segment[i - 1] == '.')
      return i - 1;
  return length;
}

/* Appends `bytes` with control bytes, DEL, backslash and bytes >= 0x80 as "%XX"; a '%' in
 * the input stays as written, so encoding twice changes nothing. */
static void output_name_append_encoded(struct text *out, const char *bytes, size_t length) {
  static const char hex[] = "0123456789ABCDEF";
  size_t plain = 0; /* start of the run of bytes copied as they are */
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)bytes[i];
    if (c >= 0x20 && c < 0x7F && c != '\\')
      continue;
    text_append(out, bytes + plain, i - plain);
    char escape[3] = {'%', hex[c >> 4], hex[c & 0x0F]};
    text_append(out, escape, sizeof escape);
    plain = i + 1;
  }
  text_append(out, bytes + plain, length - plain);
}

/* Cuts the segment that starts at `start` (and runs to the end of `out`) to SEGMENT_KEEP
 * bytes + "-" + 8 hex digits of its hash when it is longer than SEGMENT_MAX. A segment cut
 * once is SEGMENT_MAX long, so cutting again changes nothing. */
static void output_name_finish_segment(struct text *out, size_t start) {
  if (out->failed || out->length - start <= SEGMENT_MAX)
    return;
  uint32_t hash = output_name_short_hash(out->data + start, out->length - start);
  text_truncate(out, start + SEGMENT_KEEP);
  char tail[16];
  snprintf(tail, sizeof tail, "-%08" PRIx32, hash);
  text_append_string(out, tail);
}

/* {path}: the URL path's segments sanitised, "index.html" for an empty path or a trailing
 * "/", and "-" + 8 hex digits of the query's hash before the last segment's extension. */
static void output_name_path(struct text *out, const char *path, const char *query) {
  size_t length = strlen(path);
  const char *last = path;
  size_t last_length = length;
  const char *slash = output_name_last_slash(path, length);
  if (slash) {
    last = slash + 1;
    last_length = (size_t)(path + length - last);
  }
  /* Every segment before the last one. */
  for (const char *segment = path; segment < last;) {
    const char *end = memchr(segment, '/', (size_t)(last - segment));
    size_t segment_length = (size_t)(end - segment);
    if (!output_name_segment_dropped(segment, segment_length)) {
      size_t start = out->length;
      output_name_append_encoded(out, segment, segment_length);
      output_name_finish_segment(out, start);
      text_append(out, "/", 1);
    }
    segment = end + 1;
  }
  if (output_name_segment_dropped(last, last_length)) {
    last = EMPTY_NAME;
    last_length = strlen(EMPTY_NAME);
  }
  size_t start = out->length;
  size_t extension = output_name_extension(last, last_length);
  output_name_append_encoded(out, last, extension);
  if (query && *query) {
    char tag[16];
    snprintf(tag, sizeof tag, "-%08" PRIx32, output_name_short_hash(query, strlen(query)));
    text_append_string(out, tag);
  }
  output_name_append_encoded(out, last + extension, last_length - extension);
  output_name_finish_segment(out, start);
}

/* The final name from an expanded template: segment by segment, sanitised, without empty,
 * "." and ".." segments; "index.html" when nothing is left. */
static void output_name_sanitise(struct text *out, const char *name, size_t length) {
  const char *end = name + length;
  for (const char *segment = name;;) {
    const char *slash = memchr(segment, '/', (size_t)(end - segment));
    const char *segment_end = slash ? slash : end;
    size_t segment_length = (size_t)(segment_end - segment);
    if (!output_name_segment_dropped(segment, segment_length)) {
      if (out->length > 0)
        text_append(out, "/", 1);
      size_t start = out->length;
      output_name_append_encoded(out, segment, segment_length);
      output_name_finish_segment(out, start);
    }
    if (!slash)
      break;
    segment = slash + 1;
  }
  if (out->length == 0)
    text_append_string(out, EMPTY_NAME);
}

/* A name longer than OUTPUT_NAME_MAX is cut and gets "-" + 16 hex digits of the whole
 * name's hash, so two long names that share their first kilobyte still differ. The cut
 * keeps the last segment within SEGMENT_MAX. */
static void output_name_limit(struct text *out) {
  if (out->failed || out->length <= OUTPUT_NAME_MAX)
    return;
  uint64_t hash = hash_fnv1a64(out->data, out->length);
  size_t keep = OUTPUT_NAME_MAX - LONG_HASH_LENGTH;
  const char *slash = output_name_last_slash(out->data, keep);
  size_t segment_start = slash ? (size_t)(slash - out->data) + 1 : 0;
  if (keep - segment_start > SEGMENT_MAX - LONG_HASH_LENGTH)
    keep = segment_start + SEGMENT_MAX - LONG_HASH_LENGTH;
  text_truncate(out, keep);
  char tail[24];
  snprintf(tail, sizeof tail, "-%016" PRIx64, hash);
  text_append_string(out, tail);
}

/* The URL parts the tokens need, from curl. */
struct url_parts {
  char *host, *port, *path, *query;
};

static bool url_parts_get(struct url_parts *parts, const char *url) {
  CURLU *parsed = curl_url();
  bool ok = parsed && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(parsed, CURLUPART_PATH, &parts->path, 0) == CURLUE_OK;
  if (ok) {
    /* Absent parts stay NULL: no host (file:), the scheme's default port, no query. */
    if (curl_url_get(parsed, CURLUPART_HOST, &parts->host, 0) != CURLUE_OK)
      parts->host = NULL;
    if (curl_url_get(parsed, CURLUPART_PORT, &parts->port, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
      parts->port = NULL;
    if (curl_url_get(parsed, CURLUPART_QUERY, &parts->query, 0) != CURLUE_OK)
      parts->query = NULL;
  }
  curl_url_cleanup(parsed);
  return ok;
}

static void url_parts_free(struct url_parts *parts) {
  curl_free(parts->host);
  curl_free(parts->port);
  curl_free(parts->path);
  curl_free(parts->query);
}

/* Expands the tokens of `template` into `out`; unknown "{...}" stays as written. */
static void output_name_expand(struct text *out, const char *template, const char *url,
                               const struct url_parts *parts, uint64_t index) {
  struct text host = {0}, path = {0};
  text_append(&host, "", 0);
  if (parts->host)
    for (const char *c = parts->host; *c; c++) {
      char lower = (char)tolower((unsigned char)*c);
      text_append(&host, &lower, 1);
    }
  if (parts->port) {
    text_append(&host, "_", 1);
    text_append_string(&host, parts->port);
  }
  output_name_path(&path, parts->path, parts->query);
  if (host.failed || path.failed) {
    out->failed = true;
  } else {
    const char *name = strrchr(path.data, '/');
    name = name ? name + 1 : path.data;
    for (const char *c = template; *c;) {
      char number[24];
      if (strncmp(c, "{host}", 6) == 0) {
        text_append(out, host.data, host.length);
        c += 6;
      } else if (strncmp(c, "{path}", 6) == 0) {
        text_append(out, path.data, path.length);
        c += 6;
      } else if (strncmp(c, "{name}", 6) == 0) {
        text_append_string(out, name);
        c += 6;
      } else if (strncmp(c, "{index}", 7) == 0) {
        snprintf(number, sizeof number, "%" PRIu64, index);
        text_append_string(out, number);
        c += 7;
      } else if (strncmp(c, "{url_hash}", 10) == 0) {
        snprintf(number, sizeof number, "%016" PRIx64, hash_fnv1a64(url, strlen(url)));
        text_append_string(out, number);
        c += 10;
      } else {
        const char *brace = strchr(c + 1, '{');
        size_t literal = brace ? (size_t)(brace - c) : strlen(c);
        text_append(out, c, literal);
        c += literal;
      }
    }
  }
  free(host.data);
  free(path.data);
}

bool output_name_for_url(const char *url, const char *template, uint64_t index, char *name,
                         size_t name_size) {
  if (!url || !name || name_size == 0)
    return false;
  struct url_parts parts = {0};
  if (!url_parts_get(&parts, url)) {
    url_parts_free(&parts);
    return false;
  }
  struct text expanded = {0}, final = {0};
  text_append(&expanded, "", 0);
  output_name_expand(&expanded, template ? template : DEFAULT_TEMPLATE, url, &parts, index);
  url_parts_free(&parts);
  if (!expanded.failed)
    output_name_sanitise(&final, expanded.data, expanded.length);
  output_name_limit(&final);
  bool ok = !expanded.failed && !final.failed && final.length < name_size;
  if (ok)
    memcpy(name, final.data, final.length + 1);
  free(expanded.data);
  free(final.data);
  return ok;
}

/* The claimed names: a table of name fingerprints (the hash is the key) whose values are the
 * fingerprints of the URLs that claimed them. */
struct output_names {
  struct hash_table claimed;
};

/* A URL's fingerprint: never 0, the table's empty value. */
static uint64_t output_names_url_fingerprint(const char *url) {
  uint64_t fingerprint = hash_string(url);
  return fingerprint ? fingerprint : 1;
}

struct output_names *output_names_new(void) {
  struct output_names *names = calloc(1, sizeof *names);
  if (names)
    hash_table_init(&names->claimed, NULL, NULL);
  return names;
}

enum output_names_outcome { NAME_FREE, NAME_OURS, NAME_TAKEN, NAME_NO_MEMORY };

/* Claims name[0..length) for the URL of fingerprint `url` when it is free; says whose it is
 * otherwise. */
static enum output_names_outcome output_names_try(struct output_names *names, const char *name,
                                                  size_t length, uint64_t url) {
  uint64_t fingerprint = hash_bytes(name, length);
  uint64_t owner = hash_table_find(&names->claimed, fingerprint, NULL, 0);
  if (owner)
    return owner == url ? NAME_OURS : NAME_TAKEN;
  return hash_table_insert(&names->claimed, fingerprint, url) ? NAME_FREE : NAME_NO_MEMORY;
}

bool output_names_claim(struct output_names *names, const char *url, char *name, size_t name_size) {
  uint64_t url_fingerprint = output_names_url_fingerprint(url);
  size_t length = strlen(name);
  switch (output_names_try(names, name, length, url_fingerprint)) {
  case NAME_FREE:
  case NAME_OURS:
    return true;
  case NAME_NO_MEMORY:
    return false;
  case NAME_TAKEN:
    break;
  }
  /* "dir/stem.ext" -> "dir/stem-N.ext", the last segment kept within SEGMENT_MAX. */
  const char *slash = strrchr(name, '/');
  size_t segment = slash ? (size_t)(slash - name) + 1 : 0;
  size_t extension = segment + output_name_extension(name + segment, length - segment);
  char candidate[OUTPUT_NAME_MAX + 1];
  for (uint64_t n = 2;; n++) {
    char suffix[24];
    int suffix_length = snprintf(suffix, sizeof suffix, "-%" PRIu64, n);
    size_t room = SEGMENT_MAX - (size_t)suffix_length; /* stem + extension */
    size_t stem_end = extension, tail_start = extension;
    if (length - extension > room) /* no room for the extension: the suffix goes last */
      stem_end = tail_start = length;
    if (stem_end - segment + (length - tail_start) > room)
      stem_end = segment + room - (length - tail_start);
    size_t total = stem_end + (size_t)suffix_length + (length - tail_start);
    if (total > OUTPUT_NAME_MAX || total >= name_size)
      return false;
    memcpy(candidate, name, stem_end);
    memcpy(candidate + stem_end, suffix, (size_t)suffix_length);
    memcpy(candidate + stem_end + suffix_length, name + tail_start, length - tail_start);
    candidate[total] = '\0';
    switch (output_names_try(names, candidate, total, url_fingerprint)) {
    case NAME_FREE:
    case NAME_OURS:
      memcpy(name, candidate, total + 1);
      return true;
    case NAME_NO_MEMORY:
      return false;
    case NAME_TAKEN:
      break;
    }
  }
}

void output_names_free(struct output_names *names) {
  if (!names)
    return;
  hash_table_free(&names->claimed);
  free(names);
}
