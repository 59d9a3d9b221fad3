/* --if-changed: the state file, held in memory in a hash table keyed by URL, read and
 * written with cJSON (written one entry at a time, sorted by URL). */
#include "afetch/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "afetch/hash_table.h"
#include "afetch/json_writer.h"
#include "afetch/replace_file.h"
#include "afetch/utf8.h"

#define STATE_VERSION 1

/* One URL: a single allocation holding the URL and its strings. `entry` points into `url`
 * ("URL\0etag\0last_modified\0file\0", absent strings left out). */
struct state_node {
  struct state_entry entry;
  char url[];
};

struct state {
  char *path;
  int lock_fd;                /* the lock file, held until state_free(); -1: none */
  size_t dropped_entry_count; /* entries refused on load (unusable validators) */
  struct hash_table nodes; /* by URL; values: struct state_node * */
  bool dirty;
  bool stale_temps_swept; /* by the first save: the periodic saves need not scan again */
};

static bool state_node_matches(const void *context, uint64_t value, const void *url,
                               size_t length) {
  (void)context;
  const char *node_url = ((const struct state_node *)(uintptr_t)value)->url;
  return strncmp(node_url, url, length) == 0 && node_url[length] == '\0';
}

/* Copies `text` (when not NULL) to `*cursor` and moves the cursor past it. */
static const char *state_copy_string(char **cursor, const char *text) {
  if (!text)
    return NULL;
  size_t length = strlen(text) + 1;
  char *copy = memcpy(*cursor, text, length);
  *cursor += length;
  return copy;
}

/* A new node holding copies of url and entry's strings. NULL when out of memory. */
static struct state_node *state_node_new(const char *url, const struct state_entry *entry) {
  size_t size = sizeof(struct state_node) + strlen(url) + 1;
  const char *strings[] = {entry->etag, entry->last_modified, entry->file};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    if (strings[i])
      size += strlen(strings[i]) + 1;
  struct state_node *node = malloc(size);
  if (!node)
    return NULL;
  char *cursor = node->url;
  state_copy_string(&cursor, url);
  node->entry.etag = state_copy_string(&cursor, entry->etag);
  node->entry.last_modified = state_copy_string(&cursor, entry->last_modified);
  node->entry.file = state_copy_string(&cursor, entry->file);
  return node;
}

static bool state_same_string(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static bool state_same_entry(const struct state_entry *a, const struct state_entry *b) {
  return state_same_string(a->etag, b->etag) &&
         state_same_string(a->last_modified, b->last_modified) &&
         state_same_string(a->file, b->file);
}

/* url's node, or NULL; *hash is set to the URL's. */
static struct state_node *state_find(const struct state *state, const char *url, uint64_t *hash) {
  size_t length = strlen(url);
  *hash = hash_bytes(url, length);
  return (struct state_node *)(uintptr_t)hash_table_find(&state->nodes, *hash, url, length);
}

/* Sets url's entry; the work of state_update() without the dirty flag. Changed (when not
 * NULL) says whether the table differs afterwards. False when out of memory (table unchanged). */
static bool state_set(struct state *state, const char *url, const struct state_entry *entry,
                      bool *changed) {
  uint64_t hash;
  struct state_node *old = state_find(state, url, &hash);
  bool keep = entry->etag || entry->last_modified;
  if (changed)
    *changed = old ? !keep || !state_same_entry(&old->entry, entry) : keep;
  if (old && keep && state_same_entry(&old->entry, entry))
    return true;
  if (!keep) {
    if (old) {
      hash_table_remove(&state->nodes, hash, (uintptr_t)old);
      free(old);
    }
    return true;
  }
  struct state_node *node = state_node_new(url, entry);
  bool placed = node && (old ? hash_table_replace(&state->nodes, hash, (uintptr_t)old,
                                                  (uintptr_t)node)
                             : hash_table_insert(&state->nodes, hash, (uintptr_t)node));
  if (!placed) {
    free(node);
    if (changed)
      *changed = false;
    return false;
  }
  free(old);
  return true;
}

static struct state *state_new(const char *path) {
  struct state *state = calloc(1, sizeof *state);
  if (!state)
    return NULL;
  state->path = strdup(path);
  state->lock_fd = -1;
  hash_table_init(&state->nodes, state_node_matches, NULL);
  if (!state->path) {
    state_free(state);
    return NULL;
  }
  return state;
}

/* The whole file, NUL-terminated (caller frees), its length in *length_out. NULL with errno
 * set when it cannot be read. */
static char *state_read_file(FILE *file, size_t *length_out) {
  struct stat info;
  size_t capacity = 65536;
  if (fstat(fileno(file), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0 &&
      (uintmax_t)info.st_size < SIZE_MAX / 2)
    capacity = (size_t)info.st_size + 2; /* +1 for the NUL, +1 to see EOF without growing */
  char *buffer = malloc(capacity);
  if (!buffer)
    return NULL;
  size_t length = 0;
  for (;;) {
    if (capacity - length < 2) {
      char *bigger = capacity < SIZE_MAX / 2 ? realloc(buffer, capacity * 2) : NULL;
      if (!bigger) {
        free(buffer);
        errno = ENOMEM;
        return NULL;
      }
      buffer = bigger;
      capacity *= 2;
    }
    size_t n = fread(buffer + length, 1, capacity - length - 1, file);
    length += n;
    if (n == 0 || feof(file) || ferror(file))
      break;
  }
  if (ferror(file)) {
    int error = errno;
    free(buffer);
    errno = error ? error : EIO;
    return NULL;
  }
  buffer[length] = '\0';
  *length_out = length;
  return buffer;
}

/* The 1-based line of byte `offset` in text, for parse error messages. */
static size_t state_line_of(const char *text, size_t offset) {
  size_t line = 1;
  for (size_t i = 0; i < offset; i++)
    line += text[i] == '\n';
  return line;
}

/* A string member of an entry object: *out is its value or NULL when absent or null. False when
 * present with another type. */
static bool state_string_member(const cJSON *object, const char *name, const char **out) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
  *out = NULL;
  if (!item || cJSON_IsNull(item))
    return true;
  if (!cJSON_IsString(item) || !item->valuestring)
    return false;
  *out = item->valuestring;
  return true;
}

/* A byte that must not reach a header: a control byte (CR and LF above all) or DEL. */
static bool state_has_control_byte(const char *text) {
  for (const unsigned char *c = (const unsigned char *)text; *c; c++)
    if (*c < 0x20 || *c == 0x7F)
      return true;
  return false;
}

/* RFC 9110's entity-tag: an optional "W/", then a quoted string of etagc (0x21, 0x23-0x7E and
 * obs-text: no space, no quote, no control byte). */
static bool state_etag_is_valid(const char *etag) {
  if (strncmp(etag, "W/", 2) == 0)
    etag += 2;
  size_t length = strlen(etag);
  if (length < 2 || etag[0] != '"' || etag[length - 1] != '"')
    return false;
  for (size_t i = 1; i + 1 < length; i++) {
    unsigned char c = (unsigned char)etag[i];
    if (c < 0x21 || c == '"' || c == 0x7F)
      return false;
  }
  return true;
}

/* True when the text can be written into the JSON file and read back unchanged. */
static bool state_is_utf8(const char *text) { return !text || !text[utf8_valid_prefix(text)]; }

bool state_validators_are_valid(const struct state_entry *entry) {
  return (!entry->etag || state_etag_is_valid(entry->etag)) &&
         (!entry->last_modified || !state_has_control_byte(entry->last_modified));
}

/* One entry of "entries" into the table. Skipped: a value that is not an object, a field that
 * is not a string, and (counted) validators that could not be sent. False when out of memory. */
static bool state_add_entry(struct state *state, const char *url, const cJSON *item) {
  struct state_entry entry;
  if (!cJSON_IsObject(item) || !state_string_member(item, "etag", &entry.etag) ||
      !state_string_member(item, "last_modified", &entry.last_modified) ||
      !state_string_member(item, "file", &entry.file))
    return true;
  /* They become request header text: a CR or LF in a hand-edited file would start a header of
   * its own. Text that is not UTF-8 (cJSON takes it) would not be saved back unchanged. */
  if (!state_validators_are_valid(&entry) || !state_is_utf8(url) || !state_is_utf8(entry.file) ||
      !state_is_utf8(entry.etag) || !state_is_utf8(entry.last_modified)) {
    state->dropped_entry_count++;
    return true;
  }
  return state_set(state, url, &entry, NULL);
}

/* The document is walked one member at a time, cJSON parsing every key and value, so that
 * only one entry's tree exists at a time: a tree of the whole file costs several times its
 * size, on top of the table. `at` is where the walk is, or where it found an error. */
struct state_reader {
  const char *text;
  size_t length, at;
};

static void state_skip_space(struct state_reader *reader) {
  while (reader->at < reader->length && reader->text[reader->at] != '\0' &&
         (unsigned char)reader->text[reader->at] <= ' ')
    reader->at++;
}

/* True (and past it) when the next byte after white space is `c`. */
static bool state_accept(struct state_reader *reader, char c) {
  state_skip_space(reader);
  if (reader->at >= reader->length || reader->text[reader->at] != c)
    return false;
  reader->at++;
  return true;
}

/* The next JSON value, owned; NULL when it is not valid JSON (or out of memory). */
static cJSON *state_next_value(struct state_reader *reader) {
  state_skip_space(reader);
  const char *end = NULL;
  cJSON *item = cJSON_ParseWithLengthOpts(reader->text + reader->at, reader->length - reader->at,
                                          &end, false);
  if (end && end >= reader->text + reader->at && end <= reader->text + reader->length)
    reader->at = (size_t)(end - reader->text);
  return item;
}

/* The next object key and its ':'; NULL when there is none. */
static cJSON *state_next_key(struct state_reader *reader) {
  cJSON *key = state_next_value(reader);
  if (cJSON_IsString(key) && state_accept(reader, ':'))
    return key;
  cJSON_Delete(key);
  return NULL;
}

/* What walking a part of the document found. */
enum state_read { STATE_READ_OK, STATE_READ_NOT_OBJECT, STATE_READ_INVALID, STATE_READ_NO_MEMORY };

/* "entries": each member into the table as it is read. */
static enum state_read state_read_entries(struct state *state, struct state_reader *reader) {
  state_skip_space(reader);
  if (reader->at >= reader->length || reader->text[reader->at] != '{') {
    cJSON *other = state_next_value(reader);
    enum state_read read = other ? STATE_READ_NOT_OBJECT : STATE_READ_INVALID;
    cJSON_Delete(other);
    return read;
  }
  reader->at++;
  if (state_accept(reader, '}'))
    return STATE_READ_OK;
  do {
    cJSON *key = state_next_key(reader);
    cJSON *item = key ? state_next_value(reader) : NULL;
    bool added = item && state_add_entry(state, key->valuestring, item);
    cJSON_Delete(key);
    cJSON_Delete(item);
    if (!item)
      return STATE_READ_INVALID;
    if (!added)
      return STATE_READ_NO_MEMORY;
  } while (state_accept(reader, ','));
  return state_accept(reader, '}') ? STATE_READ_OK : STATE_READ_INVALID;
}

/* Fills the table from the file's text (NUL-terminated). False with the reason in `why` when it
 * is not a state file, or with errno ENOMEM (and `why` empty) when out of memory. */
static bool state_fill(struct state *state, const char *text, size_t length, char *why,
                       size_t why_size) {
  why[0] = '\0';
  struct state_reader reader = {.text = text, .length = length};
  enum state_read read = STATE_READ_OK, entries = STATE_READ_NOT_OBJECT;
  bool entries_seen = false;
  cJSON *version = NULL; /* the first "afetch_state", as a whole-tree lookup would find */
  if (!state_accept(&reader, '{')) {
    /* Not an object: cJSON's parse of the whole says whether it is JSON at all. */
    cJSON *root = state_next_value(&reader);
    state_skip_space(&reader);
    read = root && reader.at == length ? STATE_READ_NOT_OBJECT : STATE_READ_INVALID;
    cJSON_Delete(root);
  } else if (!state_accept(&reader, '}')) {
    do {
      cJSON *key = state_next_key(&reader);
      if (!key) {
        read = STATE_READ_INVALID;
      } else if (!entries_seen && strcmp(key->valuestring, "entries") == 0) {
        entries_seen = true;
        entries = state_read_entries(state, &reader);
        read = entries == STATE_READ_NOT_OBJECT ? STATE_READ_OK : entries;
      } else {
        cJSON *value = state_next_value(&reader);
        if (!value)
          read = STATE_READ_INVALID;
        else if (!version && strcmp(key->valuestring, "afetch_state") == 0)
          version = value;
        else
          cJSON_Delete(value);
      }
      cJSON_Delete(key);
    } while (read == STATE_READ_OK && state_accept(&reader, ','));
    if (read == STATE_READ_OK && !state_accept(&reader, '}'))
      read = STATE_READ_INVALID;
  }
  state_skip_space(&reader);
  if (read == STATE_READ_OK && reader.at != length)
    read = STATE_READ_INVALID; /* trailing bytes, or a NUL byte inside */
  if (read == STATE_READ_INVALID)
    snprintf(why, why_size, "invalid JSON at line %zu", state_line_of(text, reader.at));
  else if (read == STATE_READ_NOT_OBJECT)
    snprintf(why, why_size, "not a JSON object");
  else if (read == STATE_READ_NO_MEMORY)
    errno = ENOMEM;
  else if (!cJSON_IsNumber(version))
    snprintf(why, why_size, "no \"afetch_state\" version number");
  else if (version->valuedouble != STATE_VERSION)
    snprintf(why, why_size, "version %g is not supported", version->valuedouble);
  else if (entries != STATE_READ_OK)
    snprintf(why, why_size, "no \"entries\" object");
  cJSON_Delete(version);
  return read == STATE_READ_OK && !why[0];
}

/* Takes the lock file "<target>.lock" beside the state file's final target (so that runs
 * naming it through different links share it), without waiting: runs from cron must not pile
 * up. Only a regular file (or none yet) is locked: a device or a FIFO is written in place,
 * and a lock file beside /dev/null would litter /dev. Where the lock file does not exist and
 * cannot be made (a read-only or missing directory) none is needed: no run can save the state
 * there. One that exists is used even when this user may not write it (another user's), as
 * flock needs no write access: else a second run would go on unlocked. False with the message
 * in errbuf. */
static bool state_lock(struct state *state, char *errbuf, size_t errbuf_size) {
  char *target = replace_file_target(state->path);
  struct stat info;
  int error = 0;
  bool lockable = false;
  if (!target)
    error = errno;
  else if (stat(target, &info) == 0) {
    error = S_ISDIR(info.st_mode) ? EISDIR : 0;
    lockable = S_ISREG(info.st_mode);
  } else if (errno == ENOENT)
    lockable = true;
  else
    error = errno;
  char *lock_path = NULL;
  if (lockable && !(lock_path = malloc(strlen(target) + sizeof ".lock")))
    error = ENOMEM;
  bool held = false;
  if (lock_path) {
    snprintf(lock_path, strlen(target) + sizeof ".lock", "%s.lock", target);
    /* Read-write first: NFS emulates flock with byte-range locks, whose exclusive kind needs
     * a file open for writing. Read-only (without O_CREAT, which the kernel refuses on another
     * user's file in a sticky directory such as /tmp) for a lock this user may not write. */
    state->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (state->lock_fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
      state->lock_fd = open(lock_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (state->lock_fd < 0 && errno != ENOENT)
      error = errno;
    else if (state->lock_fd >= 0 && flock(state->lock_fd, LOCK_EX | LOCK_NB) != 0)
      error = errno;
    held = error == EWOULDBLOCK;
  }
  if (held)
    snprintf(errbuf, errbuf_size,
             "cannot use state file '%s': another afetch run is using it (it holds the lock "
             "'%s')",
             state->path, lock_path);
  else if (error)
    snprintf(errbuf, errbuf_size, "cannot use state file '%s': %s", state->path, strerror(error));
  free(target);
  free(lock_path);
  return !error;
}

struct state *state_load(const char *path, char *errbuf, size_t errbuf_size) {
  struct state *state = state_new(path);
  if (!state) {
    snprintf(errbuf, errbuf_size, "cannot use state file '%s': %s", path, strerror(ENOMEM));
    return NULL;
  }
  if (!state_lock(state, errbuf, errbuf_size)) {
    state_free(state);
    return NULL;
  }
  FILE *file = fopen(path, "rb");
  if (!file) {
    if (errno == ENOENT)
      return state;
    snprintf(errbuf, errbuf_size, "cannot use state file '%s': %s", path, strerror(errno));
    state_free(state);
    return NULL;
  }
  size_t length = 0;
  char *text = state_read_file(file, &length);
  int read_error = errno;
  fclose(file);
  if (!text) {
    snprintf(errbuf, errbuf_size, "cannot use state file '%s': %s", path, strerror(read_error));
    state_free(state);
    return NULL;
  }
  char why[128];
  bool ok = state_fill(state, text, length, why, sizeof why);
  free(text);
  if (!ok) {
    if (why[0])
      snprintf(errbuf, errbuf_size, "cannot use state file '%s': not an afetch state file (%s)",
               path, why);
    else
      snprintf(errbuf, errbuf_size, "cannot use state file '%s': %s", path, strerror(ENOMEM));
    state_free(state);
    return NULL;
  }
  return state;
}

const struct state_entry *state_lookup(const struct state *state, const char *url) {
  uint64_t hash;
  struct state_node *node = state_find(state, url, &hash);
  return node ? &node->entry : NULL;
}

bool state_update(struct state *state, const char *url, const struct state_entry *entry) {
  /* What the file could not hold as it is (JSON text is UTF-8) or the next load would refuse
   * is not kept: the URL is fetched in full instead. */
  if (!state_is_utf8(url) || !state_is_utf8(entry->file))
    return true;
  struct state_entry usable = *entry;
  if (usable.etag && (!state_etag_is_valid(usable.etag) || !state_is_utf8(usable.etag)))
    usable.etag = NULL;
  if (usable.last_modified &&
      (state_has_control_byte(usable.last_modified) || !state_is_utf8(usable.last_modified)))
    usable.last_modified = NULL;
  bool changed = false;
  if (!state_set(state, url, &usable, &changed))
    return false;
  if (changed)
    state->dirty = true;
  return true;
}

bool state_dirty(const struct state *state) { return state->dirty; }

size_t state_dropped_entries(const struct state *state) { return state->dropped_entry_count; }

static int state_compare_nodes(const void *a, const void *b) {
  const struct state_node *const *x = a;
  const struct state_node *const *y = b;
  return strcmp((*x)->url, (*y)->url);
}

/* The nodes sorted by URL (caller frees the array). NULL when out of memory. */
static struct state_node **state_sorted(const struct state *state) {
  size_t count = hash_table_count(&state->nodes);
  struct state_node **nodes = malloc((count ? count : 1) * sizeof *nodes);
  if (!nodes)
    return NULL;
  size_t cursor = 0;
  for (size_t i = 0; i < count; i++)
    nodes[i] = (struct state_node *)(uintptr_t)hash_table_next(&state->nodes, &cursor);
  qsort(nodes, count, sizeof *nodes, state_compare_nodes);
  return nodes;
}

/* Writes item (NULL: its creation failed) as compact JSON to file; the caller keeps it.
 * False with errno set on failure. */
static bool state_write_json(FILE *file, cJSON *item) {
  if (!item) {
    errno = ENOMEM;
    return false;
  }
  char *text = json_print_valid_utf8(item);
  if (!text) {
    errno = ENOMEM;
    return false;
  }
  bool ok = fputs(text, file) >= 0;
  free(text);
  return ok;
}

/* One entry on its own line: `"URL": {"etag":"...","last_modified":"...","file":"..."}`. */
static bool state_write_entry(FILE *file, const struct state_node *node, bool first) {
  cJSON *key = cJSON_CreateString(node->url);
  bool ok = fputs(first ? "\n    " : ",\n    ", file) >= 0 && state_write_json(file, key);
  cJSON_Delete(key);
  if (!ok)
    return false;
  const struct state_entry *entry = &node->entry;
  cJSON *object = cJSON_CreateObject();
  if (object && ((entry->etag && !cJSON_AddStringToObject(object, "etag", entry->etag)) ||
                 (entry->last_modified &&
                  !cJSON_AddStringToObject(object, "last_modified", entry->last_modified)) ||
                 (entry->file && !cJSON_AddStringToObject(object, "file", entry->file)))) {
    cJSON_Delete(object);
    errno = ENOMEM;
    return false;
  }
  ok = fputs(": ", file) >= 0 && state_write_json(file, object);
  cJSON_Delete(object);
  return ok;
}

/* The whole document to file, entries sorted by URL (byte order) so that successive files
 * diff well. False with errno set on failure. */
static bool state_write(const struct state *state, FILE *file) {
  struct state_node **nodes = state_sorted(state);
  if (!nodes) {
    errno = ENOMEM;
    return false;
  }
  bool ok = fprintf(file, "{\n  \"afetch_state\": %d,\n  \"entries\": {", STATE_VERSION) > 0;
  size_t count = hash_table_count(&state->nodes);
  for (size_t i = 0; ok && i < count; i++)
    ok = state_write_entry(file, nodes[i], i == 0);
  ok = ok && fputs(count ? "\n  }\n}\n" : "}\n}\n", file) >= 0;
  free(nodes);
  return ok;
}

static bool state_write_file(FILE *file, void *arg) { return state_write(arg, file); }

int state_save(struct state *state) {
  if (replace_file(state->path, state_write_file, state, &state->stale_temps_swept) != 0)
    return -1;
  state->dirty = false;
  return 0;
}

void state_free(struct state *state) {
  if (!state)
    return;
  size_t cursor = 0;
  for (uint64_t node; (node = hash_table_next(&state->nodes, &cursor));)
    free((struct state_node *)(uintptr_t)node);
  hash_table_free(&state->nodes);
  free(state->path);
  if (state->lock_fd >= 0)
    close(state->lock_fd); /* releases the lock */
  free(state);
}
