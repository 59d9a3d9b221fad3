/* --merge: line readers over FILEs and sorted runs, a check pass, an external sort when a FILE
 * is out of order, and a k-way merge by index. */
#include "afetch/merge.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "afetch/journal.h"
#include "afetch/options.h"
#include "afetch/scheduler.h"
#include "afetch/stop_signals.h"

#define MERGE_DEFAULT_RUN_BYTES ((size_t)64 << 20)
#define MERGE_MIN_RUN_BYTES ((size_t)4096)

/* One stream of results in index order (a sorted FILE, or a run), or a FILE being checked. */
struct merge_reader {
  FILE *file;
  const char *path; /* NULL: a run (lines "INDEX JSON") */
  size_t line_number;
  char *line; /* getline's buffer */
  size_t capacity;
  uint64_t index; /* the current result */
  const char *text;
  size_t length;
  size_t order; /* ties: the lower order was first */
};

/* A bad line: the message, exit 2. */
static int merge_bad_line(const struct merge_reader *reader, const char *why) {
  fprintf(stderr, "afetch: %s, line %zu: %s\n", reader->path, reader->line_number, why);
  return -1;
}

/* The result on a FILE's line: skips blank lines, a journal's header and an array's framing.
 * 1 with index/text/length set, 0 when this line holds none, -1 for a bad line. */
static int merge_parse_file_line(struct merge_reader *reader, char *text, size_t length) {
  while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r' ||
                        text[length - 1] == ' ' || text[length - 1] == '\t'))
    length--;
  if (length > 0 && text[length - 1] == ',') /* an array's element */
    length--;
  static const char header[] = "{\"afetch_journal\":";
  if (length == 0 || (length == 1 && (text[0] == '[' || text[0] == ']')) ||
      strncmp(text, header, sizeof header - 1) == 0)
    return 0;
  const char *end = NULL;
  cJSON *result = cJSON_ParseWithLengthOpts(text, length, &end, false);
  const cJSON *index = cJSON_GetObjectItemCaseSensitive(result, "index");
  double value = cJSON_IsNumber(index) ? index->valuedouble : -1;
  bool whole = end == text + length && cJSON_IsObject(result) && value >= 0 &&
               value <= 9007199254740992.0 && floor(value) == value;
  /* A crawl journal's note (its last member) is the journal's own: the result is what stdout
   * had. Only a note at the top level is one (a header of that name is not). */
  const cJSON *last = whole ? result->child : NULL;
  while (last && last->next)
    last = last->next;
  bool noted = last && last->string && strcmp(last->string, JOURNAL_NOTE_KEY) == 0;
  cJSON_Delete(result);
  if (!whole)
    return merge_bad_line(reader, result ? "not a result object with a whole-number \"index\""
                                         : "not JSON");
  reader->index = (uint64_t)value;
  reader->text = text;
  reader->length = length;
  const char *note = noted ? journal_line_note(text, length) : NULL;
  if (note) {
    text[note - text] = '}';
    reader->length = (size_t)(note - text) + 1;
  }
  return 1;
}

/* A run's line: "INDEX JSON". */
static int merge_parse_run_line(struct merge_reader *reader, char *text, size_t length) {
  char *rest;
  reader->index = strtoull(text, &rest, 10);
  /* Written by merge_spill(): anything else is a temp file damaged under us. */
  if (rest == text || *rest != ' ' || length < 2 || text[length - 1] != '\n') {
    fprintf(stderr, "afetch: a temp file of the merge is damaged (line %zu)\n",
            reader->line_number);
    return -1;
  }
  reader->text = rest + 1;
  reader->length = length - (size_t)(rest + 1 - text) - 1; /* without its '\n' */
  return 1;
}

/* The next result: 1, 0 at the end, -1 after a message (bad line, read error). */
static int merge_next(struct merge_reader *reader) {
  for (;;) {
    ssize_t got = getline(&reader->line, &reader->capacity, reader->file);
    if (got < 0) {
      if (!ferror(reader->file))
        return 0;
      fprintf(stderr, "afetch: cannot read '%s': %s\n", reader->path ? reader->path : "a temp file",
              strerror(errno));
      return -1;
    }
    reader->line_number++;
    int found = reader->path ? merge_parse_file_line(reader, reader->line, (size_t)got)
                             : merge_parse_run_line(reader, reader->line, (size_t)got);
    if (found != 0)
      return found;
  }
}

static void merge_reader_close(struct merge_reader *reader) {
  if (reader->file)
    fclose(reader->file);
  free(reader->line);
  *reader = (struct merge_reader){0};
}

/* A FILE is read twice (checked, then merged): only a regular file reads the same again. */
static bool merge_reader_open(struct merge_reader *reader, const char *path, size_t order) {
  *reader = (struct merge_reader){.path = path, .order = order, .file = fopen(path, "r")};
  struct stat status;
  if (!reader->file) {
    fprintf(stderr, "afetch: cannot read '%s': %s\n", path, strerror(errno));
  } else if (fstat(fileno(reader->file), &status) != 0 || !S_ISREG(status.st_mode)) {
    fprintf(stderr,
            "afetch: --merge reads regular files; '%s' is not one (save a pipe's output "
            "to a file first)\n",
            path);
    fclose(reader->file);
    reader->file = NULL;
  }
  return reader->file != NULL;
}

/* ---- the check pass ---------------------------------------------------------------- */

/* Reads every FILE once: all lines good (else -1), *sorted when each is in index order. */
static int merge_check(const struct afetch_options *options, bool *sorted) {
  *sorted = true;
  for (size_t i = 0; i < options->input_count; i++) {
    struct merge_reader reader;
    if (!merge_reader_open(&reader, options->inputs[i].value, i))
      return -1;
    int got = 0;
    bool first = true;
    uint64_t last = 0;
    while (!stop_signals_caught() && (got = merge_next(&reader)) > 0) {
      if (!first && reader.index < last)
        *sorted = false;
      last = reader.index;
      first = false;
    }
    merge_reader_close(&reader);
    if (got < 0)
      return -1;
  }
  return 0;
}

/* ---- sorted runs (an external sort) -------------------------------------------------- */

struct merge_entry {
  uint64_t index, seq; /* seq: the order read, so that the first of an index stays first */
  size_t offset, length;
};

struct merge_runs {
  size_t run_bytes; /* at most this much text per run */
  char *arena;
  size_t used, arena_size;
  struct merge_entry *entries;
  size_t count, capacity;
  FILE **files; /* the runs, in the order made */
  size_t file_count;
  uint64_t seq;
};

static int merge_entry_compare(const void *a, const void *b) {
  const struct merge_entry *x = a, *y = b;
  if (x->index != y->index)
    return x->index < y->index ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A temp file in $TMPDIR, already unlinked. NULL after a message. */
static FILE *merge_temp_file(void) {
  const char *directory = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/afetch-merge-XXXXXX",
           directory && *directory ? directory : "/tmp");
  int fd = mkstemp(path);
  FILE *file = fd >= 0 ? fdopen(fd, "w+") : NULL;
  if (fd >= 0)
    unlink(path);
  if (!file) {
    fprintf(stderr, "afetch: cannot make a temp file in '%s' (TMPDIR): %s\n",
            directory && *directory ? directory : "/tmp", strerror(errno));
    if (fd >= 0)
      close(fd);
  }
  return file;
}

/* Sorts what is gathered and writes it as a run. 0 or -1 after a message. */
static int merge_spill(struct merge_runs *runs) {
  if (runs->count == 0)
    return 0;
  qsort(runs->entries, runs->count, sizeof *runs->entries, merge_entry_compare);
  FILE **grown = realloc(runs->files, (runs->file_count + 1) * sizeof *grown);
  if (!grown) {
    fprintf(stderr, "afetch: out of memory\n");
    return -1;
  }
  runs->files = grown;
  FILE *file = merge_temp_file();
  if (!file)
    return -1;
  runs->files[runs->file_count++] = file;
  for (size_t i = 0; i < runs->count; i++) {
    const struct merge_entry *entry = &runs->entries[i];
    fprintf(file, "%" PRIu64 " %.*s\n", entry->index, (int)entry->length,
            runs->arena + entry->offset);
  }
  if (fflush(file) != 0 || ferror(file) || fseek(file, 0, SEEK_SET) != 0) {
    fprintf(stderr, "afetch: cannot write a temp file: %s\n", strerror(errno));
    return -1;
  }
  runs->count = runs->used = 0;
  return 0;
}

/* Gathers one result, spilling a run first when it would not fit. */
static int merge_gather(struct merge_runs *runs, const struct merge_reader *reader) {
  if (runs->count > 0 && runs->used + reader->length > runs->run_bytes && merge_spill(runs) != 0)
    return -1;
  if (runs->used + reader->length > runs->arena_size) {
    size_t size = runs->run_bytes > reader->length ? runs->run_bytes : reader->length;
    char *arena = realloc(runs->arena, size);
    if (!arena)
      goto no_memory;
    runs->arena = arena;
    runs->arena_size = size;
  }
  if (runs->count == runs->capacity) {
    size_t capacity = runs->capacity ? 2 * runs->capacity : 1024;
    struct merge_entry *entries = realloc(runs->entries, capacity * sizeof *entries);
    if (!entries)
      goto no_memory;
    runs->entries = entries;
    runs->capacity = capacity;
  }
  memcpy(runs->arena + runs->used, reader->text, reader->length);
  runs->entries[runs->count++] = (struct merge_entry){
      .index = reader->index, .seq = runs->seq++, .offset = runs->used, .length = reader->length};
  runs->used += reader->length;
  return 0;
no_memory:
  fprintf(stderr, "afetch: out of memory\n");
  return -1;
}

/* Every FILE into sorted runs. 0 or -1 after a message. */
static int merge_make_runs(const struct afetch_options *options, struct merge_runs *runs) {
  const char *asked = getenv("AFETCH_MERGE_RUN_BYTES");
  runs->run_bytes = asked && *asked ? strtoull(asked, NULL, 10) : MERGE_DEFAULT_RUN_BYTES;
  if (runs->run_bytes < MERGE_MIN_RUN_BYTES)
    runs->run_bytes = MERGE_MIN_RUN_BYTES;
  for (size_t i = 0; i < options->input_count; i++) {
    struct merge_reader reader;
    if (!merge_reader_open(&reader, options->inputs[i].value, i))
      return -1;
    int got = 0;
    while (!stop_signals_caught() && (got = merge_next(&reader)) > 0 &&
           merge_gather(runs, &reader) == 0)
      ;
    merge_reader_close(&reader);
    if (got != 0)
      return -1;
  }
  int spilled = merge_spill(runs);
  free(runs->arena);
  free(runs->entries);
  runs->arena = NULL;
  runs->entries = NULL;
  return spilled;
}

/* ---- the k-way merge ----------------------------------------------------------------- */

struct merge_output {
  FILE *out;
  bool ndjson;
  bool any;            /* a result was written */
  uint64_t last;       /* its index */
  uint64_t duplicates; /* results dropped for an index already written */
  uint64_t first_duplicate;
};

static void merge_emit(struct merge_output *output, const struct merge_reader *reader) {
  if (output->any && reader->index == output->last) {
    if (output->duplicates++ == 0)
      output->first_duplicate = reader->index;
    return;
  }
  if (!output->ndjson)
    fputs(output->any ? ",\n" : "", output->out);
  fwrite(reader->text, 1, reader->length, output->out);
  if (output->ndjson)
    fputc('\n', output->out);
  output->any = true;
  output->last = reader->index;
}

static bool merge_before(const struct merge_reader *a, const struct merge_reader *b) {
  return a->index < b->index || (a->index == b->index && a->order < b->order);
}

/* The heap property from `at` down. */
static void merge_sift_down(struct merge_reader **heap, size_t count, size_t at) {
  for (;;) {
    size_t least = at, left = 2 * at + 1, right = left + 1;
    if (left < count && merge_before(heap[left], heap[least]))
      least = left;
    if (right < count && merge_before(heap[right], heap[least]))
      least = right;
    if (least == at)
      return;
    struct merge_reader *swap = heap[at];
    heap[at] = heap[least];
    heap[least] = swap;
    at = least;
  }
}

/* Writes the results of `count` sorted readers in index order. 0 or -1 after a message. */
static int merge_readers(struct merge_reader *readers, size_t count, struct merge_output *output) {
  struct merge_reader **heap = calloc(count ? count : 1, sizeof *heap);
  if (!heap) {
    fprintf(stderr, "afetch: out of memory\n");
    return -1;
  }
  size_t live = 0;
  int got = 0;
  for (size_t i = 0; i < count && got >= 0; i++)
    if ((got = merge_next(&readers[i])) > 0)
      heap[live++] = &readers[i];
  for (size_t i = live / 2; i-- > 0;)
    merge_sift_down(heap, live, i);
  while (live > 0 && got >= 0 && !stop_signals_caught()) {
    merge_emit(output, heap[0]);
    if ((got = merge_next(heap[0])) == 0)
      heap[0] = heap[--live];
    merge_sift_down(heap, live, 0);
  }
  free(heap);
  return got < 0 ? -1 : 0;
}

/* The readers to merge: the FILEs themselves when sorted, else runs made from them. NULL
 * after a message. */
static struct merge_reader *merge_open_readers(const struct afetch_options *options, bool sorted,
                                               size_t *count) {
  struct merge_runs runs = {0};
  if (!sorted && merge_make_runs(options, &runs) != 0) {
    for (size_t i = 0; i < runs.file_count; i++)
      fclose(runs.files[i]);
    free(runs.files);
    return NULL;
  }
  *count = sorted ? options->input_count : runs.file_count;
  struct merge_reader *readers = calloc(*count ? *count : 1, sizeof *readers);
  bool ok = readers != NULL;
  for (size_t i = 0; i < *count; i++) {
    if (!sorted && readers)
      readers[i] = (struct merge_reader){.file = runs.files[i], .order = i};
    else if (!sorted)
      fclose(runs.files[i]);
    else if (ok)
      ok = merge_reader_open(&readers[i], options->inputs[i].value, i);
  }
  free(runs.files);
  if (!ok) {
    for (size_t i = 0; readers && i < *count; i++)
      merge_reader_close(&readers[i]);
    free(readers);
    if (!readers)
      fprintf(stderr, "afetch: out of memory\n");
    return NULL;
  }
  return readers;
}

/* The end of the output: the array closed (also after a signal: valid JSON for what was
 * written, as a fetch run's), flushed. False when stdout failed (said, unless a closed pipe). */
static bool merge_finish_output(const struct merge_output *output, bool started, bool closing) {
  if (!output->ndjson && closing)
    fputs(!started ? "[\n]\n" : output->any ? "\n]\n" : "]\n", stdout);
  if (fflush(stdout) == 0 && !ferror(stdout))
    return true;
  if (errno != EPIPE)
    fprintf(stderr, "afetch: cannot write results: %s\n", strerror(errno));
  return false;
}

int merge_run(const struct afetch_options *options) {
  stop_signals_catch_plain();
  struct merge_output output = {.out = stdout,
                                .ndjson = options->output_mode == AFETCH_OUTPUT_NDJSON};
  bool sorted;
  if (merge_check(options, &sorted) != 0)
    return AFETCH_EXIT_USAGE;
  size_t count = 0;
  struct merge_reader *readers =
      stop_signals_caught() ? NULL : merge_open_readers(options, sorted, &count);
  if (!readers && !stop_signals_caught())
    return AFETCH_EXIT_INTERNAL;
  if (!output.ndjson && readers)
    fputs("[\n", stdout);
  bool started = readers != NULL;
  int merged = readers ? merge_readers(readers, count, &output) : 0;
  for (size_t i = 0; i < count; i++)
    merge_reader_close(&readers[i]);
  free(readers);
  if (!merge_finish_output(&output, started, merged == 0))
    return AFETCH_EXIT_INTERNAL;
  if (output.duplicates && !options->quiet)
    fprintf(stderr,
            "afetch: %" PRIu64 " result(s) had an index already merged (the first at index %" PRIu64
            "): the first one of each was kept\n",
            output.duplicates, output.first_duplicate);
  if (stop_signals_caught() && merged == 0)
    return stop_signals_caught();
  return merged == 0 ? AFETCH_EXIT_ALL_OK : AFETCH_EXIT_INTERNAL;
}
