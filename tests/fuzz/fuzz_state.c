/* The --if-changed state file: state_load on the input as a file, then the save/load round
 * trip (state_save, state_load again).
 *
 * Input: the file's bytes. It is written to a private temp directory (tmpfs when /dev/shm is
 * there), because state_load reads a path and state_save replaces the file beside it.
 *
 * Checked: a refused file gives a "cannot use state file" message; a loaded state answers
 * lookups with entries that have a validator, and takes updates (dirty only when something
 * changed); what state_save writes is valid UTF-8 JSON that state_load accepts, and saving
 * what was loaded from a saved file writes the same bytes again (a fixed point after one
 * round, since the first save may repair ill-formed UTF-8). */
#include <stdint.h>

#include "afetch/state.h"
#include "fuzz_helpers.h"

static const char *const fuzz_urls[] = {
    "https://a.example/", "https://b.example/x", "http://example.com/", "", "\xff",
};

/* Loads `path`, which must be a state file, and saves it back; returns what was saved. */
static char *fuzz_load_and_save(const char *path, size_t *length) {
  char errbuf[512];
  struct state *state = state_load(path, errbuf, sizeof errbuf);
  if (!state) {
    fprintf(stderr, "%s\n", errbuf);
    FUZZ_CHECK(!"a saved state file loads again");
  }
  FUZZ_CHECK(!state_dirty(state));
  FUZZ_CHECK(state_save(state) == 0);
  state_free(state);
  return fuzz_read_file(path, length);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[512];
  fuzz_write_file("state.json", data, size, path, sizeof path);
  char errbuf[512];
  errbuf[0] = '\0';
  struct state *state = state_load(path, errbuf, sizeof errbuf);
  if (!state) {
    FUZZ_CHECK(strncmp(errbuf, "cannot use state file", 21) == 0);
    return 0;
  }
  FUZZ_CHECK(!state_dirty(state));
  for (size_t i = 0; i < sizeof fuzz_urls / sizeof fuzz_urls[0]; i++) {
    const struct state_entry *entry = state_lookup(state, fuzz_urls[i]);
    if (entry)
      FUZZ_CHECK(entry->etag || entry->last_modified);
  }
  /* The same entry twice: the second update changes nothing. */
  struct state_entry update = {.etag = "\"fuzz\"", .file = "fuzz/index.html"};
  FUZZ_CHECK(state_update(state, "https://fuzz.example/", &update));
  FUZZ_CHECK(state_dirty(state));
  const struct state_entry *stored = state_lookup(state, "https://fuzz.example/");
  FUZZ_CHECK(stored && strcmp(stored->etag, update.etag) == 0 && !stored->last_modified);
  FUZZ_CHECK(state_save(state) == 0);
  FUZZ_CHECK(!state_dirty(state));
  FUZZ_CHECK(state_update(state, "https://fuzz.example/", &update));
  FUZZ_CHECK(!state_dirty(state));
  state_free(state);

  size_t first_length, second_length, third_length;
  char *first = fuzz_read_file(path, &first_length);
  FUZZ_CHECK(fuzz_is_json(first, first_length));
  char *second = fuzz_load_and_save(path, &second_length);
  char *third = fuzz_load_and_save(path, &third_length);
  FUZZ_CHECK(second_length == third_length && memcmp(second, third, second_length) == 0);
  free(first);
  free(second);
  free(third);
  return 0;
}
