/* robots.txt: robots_parse, then robots_allows / robots_check / robots_crawl_delay on a few
 * paths.
 *
 * Input: [control byte][robots.txt][NUL][paths, one per line]. Control bit 0 picks the agent
 * ("afetch" as the scheduler passes it, or "Googlebot/2.1"); the paths after the first NUL
 * are asked about along with a fixed list (no NUL: the fixed list only).
 *
 * Checked: /robots.txt is always allowed; robots_check agrees with robots_allows whatever the
 * size of its rule buffer, writes a NUL-terminated rule that fits (a disallowed path's rule
 * starts with "Disallow:" when there is room) and never writes past rule_size; the crawl delay
 * is within 0..60 s; rules that allow all and disallow all answer as documented. */
#include <stdint.h>

#include "afetch/robots.h"
#include "fuzz_helpers.h"

#define FUZZ_MAX_PATHS 8
#define FUZZ_RULE_SIZE 300

static const char *const fuzz_fixed_paths[] = {
    "/", "", "/robots.txt", "/a/b?x=1", "/private/x.html", "/%E3%83%84", "/x*y$", "/index.html?",
};

/* Asks `robots` about `path` with rule buffers of several sizes; returns the verdict. */
static bool fuzz_ask(const struct robots *robots, const char *path) {
  bool allowed = robots_allows(robots, path);
  static const size_t sizes[] = {0, 1, 9, 10, 64, FUZZ_RULE_SIZE - 1};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char rule[FUZZ_RULE_SIZE + 1];
    memset(rule, 'Z', sizeof rule);
    bool checked = robots_check(robots, path, rule, sizes[i]);
    FUZZ_CHECK(checked == allowed);
    for (size_t j = sizes[i]; j < sizeof rule; j++)
      FUZZ_CHECK(rule[j] == 'Z');
    if (!allowed && sizes[i] > 0) {
      FUZZ_CHECK(memchr(rule, '\0', sizes[i]) != NULL);
      if (sizes[i] >= 10)
        FUZZ_CHECK(strncmp(rule, "Disallow:", 9) == 0);
    }
  }
  return allowed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_input input = {data, size};
  uint8_t control = fuzz_take_byte(&input);
  const char *agent = control & 1 ? "Googlebot/2.1" : "afetch";
  const uint8_t *nul = memchr(input.data, '\0', input.size);
  size_t text_length = nul ? (size_t)(nul - input.data) : input.size;
  /* Not NUL-terminated (robots.h): a copy of exactly the bytes, so ASan sees any overread. */
  char *text = malloc(text_length ? text_length : 1);
  FUZZ_REQUIRE_MEMORY(text);
  if (text_length)
    memcpy(text, input.data, text_length);

  struct robots *robots = robots_parse(text, text_length, agent);
  FUZZ_REQUIRE_MEMORY(robots);
  double delay = robots_crawl_delay(robots);
  FUZZ_CHECK(delay >= 0 && delay <= 60);
  for (size_t i = 0; i < sizeof fuzz_fixed_paths / sizeof fuzz_fixed_paths[0]; i++)
    fuzz_ask(robots, fuzz_fixed_paths[i]);
  FUZZ_CHECK(fuzz_ask(robots, "/robots.txt"));
  FUZZ_CHECK(robots_allows(robots, NULL) == robots_allows(robots, "/"));

  if (nul) {
    char *paths = fuzz_copy_text(nul + 1, input.size - text_length - 1);
    char *cursor = paths;
    for (size_t i = 0; i < FUZZ_MAX_PATHS && cursor; i++) {
      char *newline = strchr(cursor, '\n');
      if (newline)
        *newline = '\0';
      fuzz_ask(robots, cursor);
      cursor = newline ? newline + 1 : NULL;
    }
    free(paths);
  }
  robots_free(robots);
  free(text);

  if (control & 2) {
    struct robots *all = robots_allow_all();
    struct robots *none = robots_disallow_all();
    FUZZ_REQUIRE_MEMORY(all);
    FUZZ_REQUIRE_MEMORY(none);
    FUZZ_CHECK(fuzz_ask(all, "/anything") && fuzz_ask(none, "/robots.txt"));
    FUZZ_CHECK(!fuzz_ask(none, "/anything"));
    robots_free(all);
    robots_free(none);
  }
  return 0;
}
