/* The URL input reader (source_open / source_next) on one to three input files.
 *
 * Input: [control byte][pad byte][payload]. Control bits 0-1: the payload is split into
 * 1 + (bits % 3) files at points drawn from the pad byte; bit 2: the first file starts with
 * a run of 'a' a few bytes short of or over SOURCE_MAX_LINE (the pad byte picks how many), so
 * small inputs reach the too-long paths and the read-chunk boundary.
 *
 * Checked: every line is trimmed, non-empty, NUL-terminated, not a comment, indexed 0, 1, 2...;
 * only a line longer than SOURCE_MAX_LINE is flagged too_long. When no raw line is longer than
 * SOURCE_MAX_LINE and no file starts with a byte-order mark, the lines are exactly those of a
 * plain model of the format (split on LF, end of file ends a line, trim spaces, tabs and a
 * final CR, skip blank and '#' lines). */
#include <stdint.h>

#include <event2/event.h>

#include "afetch/options.h"
#include "afetch/source.h"
#include "fuzz_helpers.h"

#define FUZZ_MAX_FILES 3
#define FUZZ_PAD_SPREAD 48 /* the run of 'a' is SOURCE_MAX_LINE - 24 .. + 23 bytes */

static struct event_base *fuzz_base;

static void fuzz_never_readable(void *arg) { (void)arg; }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_base = event_base_new();
  FUZZ_REQUIRE_MEMORY(fuzz_base);
  return 0;
}

/* One expected URL line of the model. */
struct fuzz_expected {
  const char *text;
  size_t length;
};

/* The model's URL lines of one file, appended to `out` (room for every line is there).
 * Returns false when a raw line exceeds SOURCE_MAX_LINE (the model then says nothing). */
static bool fuzz_model_file(const char *bytes, size_t size, struct fuzz_expected *out,
                            size_t *count) {
  size_t start = 0;
  while (start < size) {
    const char *newline = memchr(bytes + start, '\n', size - start);
    size_t end = newline ? (size_t)(newline - bytes) : size;
    if (end - start > SOURCE_MAX_LINE)
      return false;
    size_t first = start, last = end;
    while (first < last && (bytes[first] == ' ' || bytes[first] == '\t'))
      first++;
    while (last > first &&
           (bytes[last - 1] == ' ' || bytes[last - 1] == '\t' || bytes[last - 1] == '\r'))
      last--;
    if (last > first && bytes[first] != '#')
      out[(*count)++] = (struct fuzz_expected){bytes + first, last - first};
    start = end + 1;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_input input = {data, size};
  uint8_t control = fuzz_take_byte(&input);
  uint8_t pad = fuzz_take_byte(&input);
  size_t file_count = 1 + (control & 3) % FUZZ_MAX_FILES;
  size_t pad_length = control & 4 ? SOURCE_MAX_LINE - FUZZ_PAD_SPREAD / 2 + pad % FUZZ_PAD_SPREAD
                                  : 0;

  /* The whole text the reader sees: the run of 'a', then the payload. */
  size_t text_size = pad_length + input.size;
  char *text = malloc(text_size ? text_size : 1);
  FUZZ_REQUIRE_MEMORY(text);
  memset(text, 'a', pad_length);
  if (input.size)
    memcpy(text + pad_length, input.data, input.size);

  /* Split points inside the payload, in order. */
  size_t bounds[FUZZ_MAX_FILES + 1] = {0};
  uint32_t seed = pad * 0x01010101u + control;
  for (size_t i = 1; i < file_count; i++)
    bounds[i] = pad_length + (input.size ? fuzz_next_random(&seed) % (input.size + 1) : 0);
  for (size_t i = 1; i < file_count; i++) /* insertion sort: at most three */
    for (size_t j = i; j > 1 && bounds[j] < bounds[j - 1]; j--) {
      size_t swap = bounds[j];
      bounds[j] = bounds[j - 1];
      bounds[j - 1] = swap;
    }
  bounds[file_count] = text_size;

  char paths[FUZZ_MAX_FILES][300];
  struct afetch_input inputs[FUZZ_MAX_FILES];
  struct fuzz_expected *expected = malloc((text_size + FUZZ_MAX_FILES) * sizeof *expected);
  FUZZ_REQUIRE_MEMORY(expected);
  size_t expected_count = 0;
  bool model_applies = true;
  for (size_t i = 0; i < file_count; i++) {
    char name[16];
    snprintf(name, sizeof name, "input%zu", i);
    size_t length = bounds[i + 1] - bounds[i];
    fuzz_write_file(name, text + bounds[i], length, paths[i], sizeof paths[i]);
    inputs[i] = (struct afetch_input){.kind = AFETCH_INPUT_FILE, .value = paths[i]};
    if (length >= 3 && memcmp(text + bounds[i], "\xEF\xBB\xBF", 3) == 0)
      model_applies = false; /* whether a BOM is skipped is not this model's business */
    if (model_applies)
      model_applies = fuzz_model_file(text + bounds[i], length, expected, &expected_count);
  }

  char errbuf[512];
  struct source *source =
      source_open(fuzz_base, inputs, file_count, fuzz_never_readable, NULL, errbuf, sizeof errbuf);
  FUZZ_CHECK(source != NULL);
  struct source_line line;
  enum source_status status;
  uint64_t count = 0;
  while ((status = source_next(source, &line)) == SOURCE_LINE) {
    FUZZ_CHECK(line.index == count);
    FUZZ_CHECK(line.length > 0 && line.text[line.length] == '\0');
    FUZZ_CHECK(!memchr(line.text, '\n', line.length));
    FUZZ_CHECK(line.text[0] != ' ' && line.text[0] != '\t' && line.text[0] != '#');
    char last = line.text[line.length - 1];
    FUZZ_CHECK(last != ' ' && last != '\t' && last != '\r');
    FUZZ_CHECK(line.length <= SOURCE_MAX_LINE + 1);
    if (!line.too_long)
      FUZZ_CHECK(line.length <= SOURCE_MAX_LINE);
    if (model_applies) {
      FUZZ_CHECK(count < expected_count);
      FUZZ_CHECK(!line.too_long);
      FUZZ_CHECK(line.length == expected[count].length);
      FUZZ_CHECK(memcmp(line.text, expected[count].text, line.length) == 0);
    }
    count++;
  }
  /* Regular files are read on demand: the reader never waits and never fails on them. */
  FUZZ_CHECK(status == SOURCE_END);
  if (model_applies)
    FUZZ_CHECK(count == expected_count);
  source_close(source);
  free(expected);
  free(text);
  return 0;
}
