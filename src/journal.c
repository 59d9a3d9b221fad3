/* --journal: the header that names what a run was, the bitmap of what earlier runs committed,
 * and the appends of this one. */
#define _GNU_SOURCE /* flock, fdatasync */
#include "afetch/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <xxhash.h>

#include "afetch/clock.h"
#include "afetch/json_writer.h"
#include "afetch/options.h"

#define JOURNAL_VERSION 1
/* The input's identity: a hash of this many bytes at its start and at its end. */
#define JOURNAL_HASHED_BYTES 65536
/* With --journal-sync N, a second is the other bound on what a power cut can take. */
#define JOURNAL_SYNC_INTERVAL_US 1000000
/* An index beyond this is damage, not a line number (the bitmap stays within 1 GiB). */
#define JOURNAL_MAX_INDEX ((uint64_t)1 << 33)

struct journal {
  const char *path;   /* borrowed from the options */
  int fd;             /* O_APPEND, flock'ed */
  off_t size;         /* bytes of whole lines in the file */
  uint8_t *committed; /* bit i: an earlier run committed index i */
  size_t committed_bytes;
  uint64_t earlier, now; /* results of earlier runs, of this one */
  uint64_t index_end;    /* one past the largest index of an earlier run */
  off_t results_offset;  /* where the result lines start (after the header) */
  char *buffer;          /* this batch's lines */
  size_t length, capacity;
  unsigned sync_every; /* results between fdatasyncs at most; 1: --fsync */
  unsigned unsynced;   /* results written since the last fdatasync */
  int64_t synced_us;   /* when that was */
  bool failed;         /* a write failed: nothing more is taken */
};

const char *journal_path(const struct journal *journal) { return journal->path; }
uint64_t journal_earlier_results(const struct journal *journal) { return journal->earlier; }
uint64_t journal_results_now(const struct journal *journal) { return journal->now; }
uint64_t journal_index_end(const struct journal *journal) { return journal->index_end; }

bool journal_committed(const struct journal *journal, uint64_t index) {
  return index / 8 < journal->committed_bytes && (journal->committed[index / 8] >> (index % 8)) & 1;
}

/* Marks `index` committed by an earlier run: false when it was already (a duplicate) or out
 * of memory. */
static bool journal_mark(struct journal *journal, uint64_t index) {
  size_t byte = (size_t)(index / 8);
  if (byte >= journal->committed_bytes) {
    /* Grows by half at least, to the next 4 KiB past the byte: a far index costs no more
     * than it needs. */
    size_t bytes = journal->committed_bytes + journal->committed_bytes / 2;
    if (bytes <= byte)
      bytes = (byte / 4096 + 1) * 4096;
    uint8_t *grown = realloc(journal->committed, bytes);
    if (!grown)
      return false;
    memset(grown + journal->committed_bytes, 0, bytes - journal->committed_bytes);
    journal->committed = grown;
    journal->committed_bytes = bytes;
  }
  if (journal_committed(journal, index))
    return false;
  journal->committed[byte] |= (uint8_t)(1u << (index % 8));
  journal->earlier++;
  if (index >= journal->index_end)
    journal->index_end = index + 1;
  return true;
}

bool journal_line_index(const char *line, size_t length, uint64_t *index) {
  static const char prefix[] = "{\"index\":";
  size_t at = sizeof prefix - 1;
  if (length < at + 2 || memcmp(line, prefix, at) != 0 || line[length - 1] != '}')
    return false;
  uint64_t value = 0;
  size_t digits = 0;
  for (; at < length && line[at] >= '0' && line[at] <= '9' && digits < 19; at++, digits++)
    value = value * 10 + (uint64_t)(line[at] - '0');
  if (digits == 0 || at >= length || (line[at] != ',' && line[at] != '}'))
    return false;
  *index = value;
  return true;
}

/* The note's member, between the result's members and its closing '}'. */
static const char journal_note_member[] = ",\"" JOURNAL_NOTE_KEY "\":";

const char *journal_line_note(const char *line, size_t length) {
  size_t member = sizeof journal_note_member - 1;
  /* A note holds no such member of its own, and no string can hold it unescaped: the last
   * one found is the note's. */
  for (size_t at = length > member ? length - member : 0; at-- > 0;)
    if (line[at] == ',' && memcmp(line + at, journal_note_member, member) == 0)
      return line + at;
  return NULL;
}

bool journal_for_each_result(const struct journal *journal, journal_line_fn each, void *arg) {
  int fd = dup(journal->fd);
  FILE *file = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!file) {
    if (fd >= 0)
      close(fd);
    return false;
  }
  char *line = NULL;
  size_t capacity = 0, number = 1;
  off_t offset = journal->results_offset;
  bool ok = fseeko(file, offset, SEEK_SET) == 0;
  ssize_t got;
  /* Up to the whole lines loaded at opening: this run's appends are not earlier results. */
  while (ok && offset < journal->size && (got = getline(&line, &capacity, file)) > 0) {
    offset += got;
    if (!each(arg, line, (size_t)got - (line[got - 1] == '\n'), ++number)) {
      errno = EILSEQ;
      ok = false;
    }
  }
  ok = ok && !ferror(file);
  free(line);
  fclose(file);
  return ok;
}

/* ---- the header -------------------------------------------------------------------- */

static void journal_hex(uint64_t hash, char out[17]) { snprintf(out, 17, "%016" PRIx64, hash); }

/* XXH64 of `length` bytes at `offset`. False on a read error. */
static bool journal_hash_range(int fd, off_t offset, size_t length, char out[17]) {
  char *bytes = malloc(length ? length : 1);
  ssize_t got = bytes ? pread(fd, bytes, length, offset) : -1;
  bool ok = got == (ssize_t)length;
  if (!ok && got >= 0)
    errno = EIO; /* the file shrank since it was measured */
  if (ok)
    journal_hex(XXH64(bytes, length, 0), out);
  free(bytes);
  return ok;
}

/* One FILE input's identity: {"file","size","mtime","head_xxh64","tail_xxh64"}. NULL with a
 * message when it is no regular file or cannot be read. */
static cJSON *journal_file_identity(const char *path, char *errbuf, size_t errbuf_size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat info;
  if (fd < 0 || fstat(fd, &info) != 0) {
    snprintf(errbuf, errbuf_size, "cannot read '%s': %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  cJSON *item = NULL;
  char head[17], tail[17], mtime[48];
  size_t hashed = info.st_size < JOURNAL_HASHED_BYTES ? (size_t)info.st_size : JOURNAL_HASHED_BYTES;
  if (!S_ISREG(info.st_mode))
    snprintf(errbuf, errbuf_size,
             "--journal needs regular input files: '%s' is not one (a pipe or device cannot be "
             "read again when the run is resumed)",
             path);
  else if (!journal_hash_range(fd, 0, hashed, head) ||
           !journal_hash_range(fd, info.st_size - (off_t)hashed, hashed, tail))
    snprintf(errbuf, errbuf_size, "cannot read '%s': %s", path, strerror(errno));
  else if ((item = cJSON_CreateObject())) {
    snprintf(mtime, sizeof mtime, "%lld.%09ld", (long long)info.st_mtim.tv_sec,
             (long)info.st_mtim.tv_nsec);
    if (!cJSON_AddStringToObject(item, "file", path) ||
        !cJSON_AddNumberToObject(item, "size", (double)info.st_size) ||
        !cJSON_AddStringToObject(item, "mtime", mtime) ||
        !cJSON_AddStringToObject(item, "head_xxh64", head) ||
        !cJSON_AddStringToObject(item, "tail_xxh64", tail)) {
      cJSON_Delete(item);
      item = NULL;
    }
  }
  if (!item && S_ISREG(info.st_mode) && !*errbuf)
    snprintf(errbuf, errbuf_size, "out of memory");
  close(fd);
  return item;
}

/* The header this run would write. NULL with a message. */
static cJSON *journal_header_for(const struct afetch_options *options, char *errbuf,
                                 size_t errbuf_size) {
  cJSON *header = cJSON_CreateObject();
  cJSON *inputs = NULL; /* the magic key first: journal_resume() knows a journal by it */
  bool ok = header && cJSON_AddNumberToObject(header, "afetch_journal", JOURNAL_VERSION) &&
            (inputs = cJSON_AddArrayToObject(header, "inputs")) &&
            cJSON_AddStringToObject(header, "options",
                                    options->result_options ? options->result_options : "");
  *errbuf = '\0';
  for (size_t i = 0; ok && i < options->input_count; i++) {
    const struct afetch_input *input = &options->inputs[i];
    cJSON *item = NULL;
    if (input->kind == AFETCH_INPUT_FILE)
      item = journal_file_identity(input->value, errbuf, errbuf_size);
    else if ((item = cJSON_CreateObject()) && !cJSON_AddStringToObject(item, "url", input->value)) {
      cJSON_Delete(item);
      item = NULL;
    }
    ok = item && cJSON_AddItemToArray(inputs, item);
  }
  if (!ok) {
    if (!*errbuf)
      snprintf(errbuf, errbuf_size, "out of memory");
    cJSON_Delete(header);
    return NULL;
  }
  return header;
}

/* True when input `a` is `b` (the path may differ: the identity decides). */
static bool journal_same_input(const cJSON *a, const cJSON *b) {
  static const char *const keys[] = {"url", "size", "mtime", "head_xxh64", "tail_xxh64"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, keys[i]);
    const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, keys[i]);
    if ((x || y) && !(x && y && cJSON_Compare(x, y, true)))
      return false;
  }
  return true;
}

/* Checks the journal's header against this run's. False with a message. */
static bool journal_check_header(const cJSON *found, const cJSON *wanted, const char *path,
                                 char *errbuf, size_t errbuf_size) {
  const cJSON *version = cJSON_GetObjectItemCaseSensitive(found, "afetch_journal");
  const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(found, "inputs");
  const cJSON *options = cJSON_GetObjectItemCaseSensitive(found, "options");
  const cJSON *wanted_inputs = cJSON_GetObjectItemCaseSensitive(wanted, "inputs");
  if (!cJSON_IsNumber(version) || !cJSON_IsArray(inputs) || !cJSON_IsString(options)) {
    snprintf(errbuf, errbuf_size, "'%s' is not an afetch journal: left untouched", path);
    return false;
  }
  if (version->valuedouble != JOURNAL_VERSION) {
    snprintf(errbuf, errbuf_size, "the journal '%s' has version %g, this afetch reads %d", path,
             version->valuedouble, JOURNAL_VERSION);
    return false;
  }
  int count = cJSON_GetArraySize(wanted_inputs);
  if (cJSON_GetArraySize(inputs) != count) {
    snprintf(errbuf, errbuf_size,
             "the journal '%s' was written for %d input(s), this run has %d: resume with the "
             "same inputs, or use another journal",
             path, cJSON_GetArraySize(inputs), count);
    return false;
  }
  for (int i = 0; i < count; i++) {
    const cJSON *was = cJSON_GetArrayItem(inputs, i), *is = cJSON_GetArrayItem(wanted_inputs, i);
    if (!journal_same_input(was, is)) {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(is, "file");
      if (!name)
        name = cJSON_GetObjectItemCaseSensitive(is, "url");
      snprintf(errbuf, errbuf_size,
               "input %d ('%s') is not the one the journal '%s' was written for (its size, "
               "time or content changed): resuming would mix results; use another journal",
               i + 1, cJSON_IsString(name) ? name->valuestring : "?", path);
      return false;
    }
  }
  const char *now = cJSON_GetObjectItemCaseSensitive(wanted, "options")->valuestring;
  if (strcmp(options->valuestring, now) != 0) {
    snprintf(errbuf, errbuf_size,
             "the journal '%s' was written with other options that change results (then: "
             "'%s'; now: '%s'): resume with the same options, or use another journal",
             path, options->valuestring, now);
    return false;
  }
  return true;
}

/* ---- opening ----------------------------------------------------------------------- */

/* Opens (or creates) the FILE and locks it: a regular file, held by no other run. */
static bool journal_lock(struct journal *journal, char *errbuf, size_t errbuf_size) {
  struct stat info;
  journal->fd = open(journal->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (journal->fd < 0 || fstat(journal->fd, &info) != 0) {
    snprintf(errbuf, errbuf_size, "cannot open the journal '%s': %s", journal->path,
             strerror(errno));
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    snprintf(errbuf, errbuf_size, "the journal '%s' is not a regular file: left untouched",
             journal->path);
    return false;
  }
  if (flock(journal->fd, LOCK_EX | LOCK_NB) != 0) {
    snprintf(errbuf, errbuf_size, "the journal '%s' is in use by another afetch run%s",
             journal->path, errno == EWOULDBLOCK ? "" : " (it cannot be locked)");
    return false;
  }
  journal->size = info.st_size;
  return true;
}

/* Writes `text` whole at the end of the file. 0, or -1 with errno set. */
static int journal_write_all(int fd, const char *text, size_t length) {
  for (size_t done = 0; done < length;) {
    ssize_t wrote = write(fd, text + done, length - done);
    if (wrote == 0)
      errno = EIO; /* no progress and no error: do not spin */
    if (wrote == 0 || (wrote < 0 && errno != EINTR))
      return -1;
    if (wrote > 0)
      done += (size_t)wrote;
  }
  return 0;
}

/* A new journal: the header, on disk before anything is fetched. */
static bool journal_start(struct journal *journal, const cJSON *header, char *errbuf,
                          size_t errbuf_size) {
  char *text = json_print_valid_utf8(header);
  size_t length = text ? strlen(text) : 0;
  if (text)
    text[length++] = '\n'; /* in place of the NUL: the write below takes a length */
  int written =
      text && ftruncate(journal->fd, 0) == 0 ? journal_write_all(journal->fd, text, length) : -1;
  if (written == 0)
    written = fdatasync(journal->fd);
  int error = text ? errno : ENOMEM;
  free(text);
  if (written != 0) {
    snprintf(errbuf, errbuf_size, "cannot write the journal '%s': %s", journal->path,
             strerror(error));
    return false;
  }
  journal->size = journal->results_offset = (off_t)length;
  return true;
}

/* The result lines after the header: their indices into the bitmap. A last line without its
 * '\n' is torn (a kill in mid-write) and cut off; any other bad line is damage. */
static bool journal_load_results(struct journal *journal, FILE *file, off_t offset,
                                 const struct afetch_options *options, char *errbuf,
                                 size_t errbuf_size) {
  char *line = NULL;
  size_t capacity = 0, number = 1;
  ssize_t got;
  bool ok = true;
  while (ok && (got = getline(&line, &capacity, file)) > 0) {
    number++;
    uint64_t index;
    if (line[got - 1] != '\n') {
      ok = ftruncate(journal->fd, offset) == 0;
      if (!ok)
        snprintf(errbuf, errbuf_size, "cannot repair the journal '%s': %s", journal->path,
                 strerror(errno));
      else if (!options->quiet)
        fprintf(stderr,
                "afetch: the journal '%s' ended in a torn line (line %zu; a run was "
                "killed while writing it): cut off, that URL is fetched again\n",
                journal->path, number);
      break;
    }
    if (!journal_line_index(line, (size_t)got - 1, &index) || index > JOURNAL_MAX_INDEX ||
        !journal_mark(journal, index)) {
      snprintf(errbuf, errbuf_size,
               "the journal '%s' is damaged at line %zu (not a result, or a repeated index): "
               "left untouched",
               journal->path, number);
      ok = false;
    }
    offset += got;
  }
  free(line);
  journal->size = offset;
  return ok;
}

/* An existing journal: its header must be this run's; then its results are loaded. */
static bool journal_resume(struct journal *journal, const cJSON *wanted,
                           const struct afetch_options *options, char *errbuf, size_t errbuf_size) {
  int fd = dup(journal->fd);
  FILE *file = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!file) {
    if (fd >= 0)
      close(fd);
    snprintf(errbuf, errbuf_size, "cannot read the journal '%s': %s", journal->path,
             strerror(errno));
    return false;
  }
  char *line = NULL;
  size_t capacity = 0;
  ssize_t got = getline(&line, &capacity, file);
  static const char magic[] = "{\"afetch_journal\":";
  bool ours = got > 0 && strncmp(line, magic, sizeof magic - 1) == 0;
  bool ok;
  if (ours && line[got - 1] != '\n' && got == journal->size) {
    ok = journal_start(journal, wanted, errbuf, errbuf_size); /* killed while creating it */
  } else {
    cJSON *found = ours ? cJSON_ParseWithLength(line, (size_t)got - 1) : NULL;
    if (!found)
      snprintf(errbuf, errbuf_size, "'%s' is not an afetch journal: left untouched", journal->path);
    journal->results_offset = got;
    ok = found && journal_check_header(found, wanted, journal->path, errbuf, errbuf_size) &&
         journal_load_results(journal, file, got, options, errbuf, errbuf_size);
    cJSON_Delete(found);
  }
  free(line);
  fclose(file);
  return ok;
}

struct journal *journal_open(const struct afetch_options *options, char *errbuf,
                             size_t errbuf_size) {
  cJSON *wanted = journal_header_for(options, errbuf, errbuf_size);
  struct journal *journal = wanted ? calloc(1, sizeof *journal) : NULL;
  if (!journal) {
    if (wanted)
      snprintf(errbuf, errbuf_size, "out of memory");
    cJSON_Delete(wanted);
    return NULL;
  }
  journal->path = options->journal_path;
  journal->sync_every = options->fsync ? 1 : options->journal_sync_every;
  bool ok = journal_lock(journal, errbuf, errbuf_size) &&
            (journal->size == 0 ? journal_start(journal, wanted, errbuf, errbuf_size)
                                : journal_resume(journal, wanted, options, errbuf, errbuf_size));
  cJSON_Delete(wanted);
  if (!ok) {
    journal_close(journal);
    return NULL;
  }
  journal->synced_us = clock_monotonic_us();
  return journal;
}

/* ---- writing ----------------------------------------------------------------------- */

bool journal_append(struct journal *journal, const char *json, size_t length, const char *note) {
  size_t note_length = note ? sizeof journal_note_member - 1 + strlen(note) : 0;
  size_t line = length + note_length + 1;
  if (journal->length + line > journal->capacity) {
    size_t capacity = journal->capacity ? journal->capacity : 65536;
    while (capacity < journal->length + line)
      capacity *= 2;
    char *grown = realloc(journal->buffer, capacity);
    if (!grown)
      return false;
    journal->buffer = grown;
    journal->capacity = capacity;
  }
  char *at = journal->buffer + journal->length;
  if (note && length > 0 && json[length - 1] == '}') {
    memcpy(at, json, length - 1);
    at += length - 1;
    memcpy(at, journal_note_member, sizeof journal_note_member - 1);
    at += sizeof journal_note_member - 1;
    memcpy(at, note, note_length - (sizeof journal_note_member - 1));
    at += note_length - (sizeof journal_note_member - 1);
    *at++ = '}';
  } else {
    memcpy(at, json, length);
    at += length;
  }
  *at++ = '\n';
  journal->length = (size_t)(at - journal->buffer);
  journal->now++;
  journal->unsynced++;
  return true;
}

int journal_flush(struct journal *journal, bool force_sync) {
  if (journal->failed) {
    errno = EIO;
    return -1;
  }
  if (journal->length > 0) {
    if (journal_write_all(journal->fd, journal->buffer, journal->length) != 0) {
      int error = errno;
      /* Only whole lines stay: the next run fetches this batch again. */
      if (ftruncate(journal->fd, journal->size) != 0) {
        /* Cannot cut it either: the next run cuts the torn line. */
      }
      journal->failed = true;
      errno = error;
      return -1;
    }
    journal->size += (off_t)journal->length;
    journal->length = 0;
  }
  int64_t now_us = clock_monotonic_us();
  if (journal->unsynced > 0 && (force_sync || journal->unsynced >= journal->sync_every ||
                                now_us - journal->synced_us >= JOURNAL_SYNC_INTERVAL_US)) {
    if (fdatasync(journal->fd) != 0) {
      journal->failed = true;
      return -1;
    }
    journal->unsynced = 0;
    journal->synced_us = now_us;
  }
  return 0;
}

void journal_close(struct journal *journal) {
  if (!journal)
    return;
  if (journal->fd >= 0)
    close(journal->fd); /* and its lock */
  free(journal->committed);
  free(journal->buffer);
  free(journal);
}
