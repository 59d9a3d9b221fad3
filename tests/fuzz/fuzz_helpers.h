/* Shared by the libFuzzer harnesses: invariant checks that abort (so libFuzzer keeps the input
 * as a crash), strict UTF-8 and JSON checks, a reader that takes control bytes off the front
 * of an input, and temp files for the modules that read paths. Everything here is static:
 * each harness is one translation unit. */
#ifndef AFETCH_FUZZ_HELPERS_H
#define AFETCH_FUZZ_HELPERS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "afetch/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* abort() rather than assert(): checks stay on whatever NDEBUG says, and libFuzzer saves the
 * input that broke one. */
#define FUZZ_CHECK(condition)                                                                   \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition);         \
      abort();                                                                                  \
    }                                                                                           \
  } while (0)

/* Out of memory is not a finding: the harness gives up on the input. */
#define FUZZ_REQUIRE_MEMORY(pointer)                                                            \
  do {                                                                                          \
    if (!(pointer)) {                                                                           \
      fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);                             \
      abort();                                                                                  \
    }                                                                                           \
  } while (0)

/* True when the NUL-terminated text is well-formed UTF-8 (afetch's own definition). */
static inline bool fuzz_utf8_is_valid(const char *text) {
  const unsigned char *byte = (const unsigned char *)text;
  while (*byte) {
    size_t length = utf8_sequence_length(byte);
    if (length == 0)
      return false;
    byte += length;
  }
  return true;
}

/* True when `text` is exactly one JSON value (only whitespace after it) in valid UTF-8. */
static inline bool fuzz_is_json(const char *text, size_t length) {
  if (strlen(text) != length || !fuzz_utf8_is_valid(text))
    return false;
  const char *end = NULL;
  cJSON *value = cJSON_ParseWithLengthOpts(text, length, &end, false);
  bool whole = value && end && strspn(end, " \t\r\n") == (size_t)(text + length - end);
  cJSON_Delete(value);
  return whole;
}

/* An input read from the front: control bytes first, the rest is the payload. A byte asked
 * for past the end is 0, so every input means something. */
struct fuzz_input {
  const uint8_t *data;
  size_t size;
};

static inline uint8_t fuzz_take_byte(struct fuzz_input *input) {
  if (input->size == 0)
    return 0;
  input->size--;
  return *input->data++;
}

static inline uint32_t fuzz_take_u32(struct fuzz_input *input) {
  uint32_t value = 0;
  for (int i = 0; i < 4; i++)
    value = value << 8 | fuzz_take_byte(input);
  return value;
}

/* A NUL-terminated copy of `length` bytes (malloc'd). */
static inline char *fuzz_copy_text(const uint8_t *bytes, size_t length) {
  char *text = malloc(length + 1);
  FUZZ_REQUIRE_MEMORY(text);
  if (length)
    memcpy(text, bytes, length);
  text[length] = '\0';
  return text;
}

/* xorshift32: split points and choices derived from a seed the input carries, so mutating
 * the payload does not move them. */
static inline uint32_t fuzz_next_random(uint32_t *state) {
  uint32_t x = *state ? *state : 0x9E3779B9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

/* A private directory for a harness's files: under $TMPDIR, else /dev/shm (memory, so the
 * loaders' fsync costs nothing), else /tmp. Removed, with its files, at exit. */
static char fuzz_dir_path[256];

static void fuzz_remove_dir(void) {
  DIR *dir = opendir(fuzz_dir_path);
  if (dir) {
    struct dirent *entry;
    char path[512];
    while ((entry = readdir(dir)))
      if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir_path, entry->d_name);
        unlink(path);
      }
    closedir(dir);
  }
  rmdir(fuzz_dir_path);
}

static inline const char *fuzz_dir(void) {
  if (fuzz_dir_path[0])
    return fuzz_dir_path;
  const char *candidates[] = {getenv("TMPDIR"), "/dev/shm", "/tmp"};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    if (!candidates[i] || !candidates[i][0] || access(candidates[i], W_OK) != 0)
      continue;
    snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/afetch-fuzz-XXXXXX", candidates[i]);
    if (mkdtemp(fuzz_dir_path)) {
      atexit(fuzz_remove_dir);
      return fuzz_dir_path;
    }
  }
  fprintf(stderr, "fuzz: cannot create a temp directory\n");
  abort();
}

/* Writes `size` bytes to `name` in the harness's directory (replacing it); the path goes to
 * `path`. */
static inline void fuzz_write_file(const char *name, const void *bytes, size_t size, char *path,
                                   size_t path_size) {
  snprintf(path, path_size, "%s/%s", fuzz_dir(), name);
  FILE *file = fopen(path, "wb");
  if (!file || (size && fwrite(bytes, 1, size, file) != size) || fclose(file) != 0) {
    perror(path);
    abort();
  }
}

/* The whole content of a file (malloc'd, NUL-terminated), its length in *length. */
static inline char *fuzz_read_file(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  FUZZ_CHECK(file != NULL);
  size_t capacity = 4096, used = 0;
  char *text = malloc(capacity);
  FUZZ_REQUIRE_MEMORY(text);
  size_t n;
  while ((n = fread(text + used, 1, capacity - used - 1, file)) > 0) {
    used += n;
    if (capacity - used < 2) {
      capacity *= 2;
      text = realloc(text, capacity);
      FUZZ_REQUIRE_MEMORY(text);
    }
  }
  fclose(file);
  text[used] = '\0';
  *length = used;
  return text;
}

#endif
