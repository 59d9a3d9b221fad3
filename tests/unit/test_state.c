/* state.h: the --if-changed state file (load, lookup, update, atomic save). */
#include "unit_helpers.h"

#include "afetch/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cjson/cJSON.h>

#define LM_2015 "Wed, 21 Oct 2015 07:28:00 GMT"
#define LM_2016 "Thu, 01 Dec 2016 16:00:00 GMT"
/* Validators with every kind of byte they may hold: backslash, quote (outside an ETag's
 * quotes), obs-text. */
#define ODD_ETAG "W/\"back\\slash-\xe2\x82\xac-#!\""
#define ODD_LAST_MODIFIED "\"quoted\" \\ \xe2\x82\xac"

/* A fresh directory under /tmp; its path goes to `dir`. */
static void make_temp_dir(char dir[HELPER_PATH_SIZE]) {
  snprintf(dir, HELPER_PATH_SIZE, "/tmp/afetch-unit-state-XXXXXX");
  assert_non_null(mkdtemp(dir));
}

/* Removes `dir` and the files in it (no subdirectories are made). */
static void remove_temp_dir(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    assert_int_equal(unlink(path), 0);
  }
  closedir(d);
  assert_int_equal(rmdir(dir), 0);
}

/* The names in `dir` (no "." or ".."), sorted and joined with spaces. */
static void list_dir(const char *dir, char *out, size_t out_size) {
  struct dirent **names;
  int count = scandir(dir, &names, NULL, alphasort);
  assert_true(count >= 0);
  out[0] = '\0';
  for (int i = 0; i < count; i++) {
    if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
      if (out[0])
        strncat(out, " ", out_size - strlen(out) - 1);
      strncat(out, names[i]->d_name, out_size - strlen(out) - 1);
    }
    free(names[i]);
  }
  free(names);
}

static void write_file(const char *path, const char *text) {
  FILE *file = fopen(path, "wb");
  assert_non_null(file);
  assert_int_equal(fwrite(text, 1, strlen(text), file), strlen(text));
  assert_int_equal(fclose(file), 0);
}

/* The whole file (caller frees). */
static char *read_file(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  assert_non_null(file);
  char *text = helper_file_content(fileno(file), length);
  fclose(file);
  return text;
}

/* Removes a state file made with helper_temp_file() and the lock file loading made beside it. */
static void remove_state_file(const char *path) {
  char lock[HELPER_PATH_SIZE + 8];
  snprintf(lock, sizeof lock, "%s.lock", path);
  unlink(path);
  unlink(lock);
}

static struct state *load_ok(const char *path) {
  char errbuf[512] = "";
  struct state *state = state_load(path, errbuf, sizeof errbuf);
  if (!state)
    fail_msg("state_load: %s", errbuf);
  return state;
}

static void update(struct state *state, const char *url, const char *etag,
                   const char *last_modified, const char *file) {
  struct state_entry entry = {.etag = etag, .last_modified = last_modified, .file = file};
  assert_true(state_update(state, url, &entry));
}

/* NULL expected where `expected` is NULL, else an equal string. */
static void assert_same(const char *actual, const char *expected) {
  if (!expected)
    assert_null(actual);
  else {
    assert_non_null(actual);
    assert_string_equal(actual, expected);
  }
}

static void assert_entry(const struct state *state, const char *url, const char *etag,
                         const char *last_modified, const char *file) {
  const struct state_entry *entry = state_lookup(state, url);
  if (!entry)
    fail_msg("no entry for '%s'", url);
  assert_same(entry->etag, etag);
  assert_same(entry->last_modified, last_modified);
  assert_same(entry->file, file);
}

static void missing_file_is_an_empty_state(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], names[256];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  assert_null(state_lookup(state, "https://example.com/"));
  assert_false(state_dirty(state));
  /* Loading does not create the file (only its lock file); saving does, at the remembered
   * path. */
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "state.json.lock");
  assert_int_equal(state_save(state), 0);
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "state.json state.json.lock");
  state_free(state);
  remove_temp_dir(dir);
}

static void saved_state_loads_back_with_the_same_entries(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  update(state, "https://a.example/", "\"abc\"", LM_2015, "mirror/a.example/index.html");
  update(state, "https://b.example/x", NULL, LM_2016, NULL);
  update(state, "https://c.example/y?q=1", "W/\"weak\"", NULL, "mirror/c.example/y-1.html");
  assert_int_equal(state_save(state), 0);
  state_free(state);

  struct state *again = load_ok(path);
  assert_false(state_dirty(again));
  assert_entry(again, "https://a.example/", "\"abc\"", LM_2015, "mirror/a.example/index.html");
  assert_entry(again, "https://b.example/x", NULL, LM_2016, NULL);
  assert_entry(again, "https://c.example/y?q=1", "W/\"weak\"", NULL, "mirror/c.example/y-1.html");
  assert_null(state_lookup(again, "https://a.example"));
  assert_null(state_lookup(again, "https://d.example/"));
  state_free(again);
  remove_temp_dir(dir);
}

static void file_lists_entries_sorted_by_url_one_per_line(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  assert_int_equal(state_save(state), 0);
  char *text = read_file(path, NULL);
  assert_string_equal(text, "{\n  \"afetch_state\": 1,\n  \"entries\": {}\n}\n");
  free(text);

  update(state, "https://b.example/", NULL, LM_2015, NULL);
  update(state, "https://a.example/", "\"a\"", NULL, "out/a.example/index.html");
  update(state, "https://c.example/", "\"c\"", LM_2016, NULL);
  assert_int_equal(state_save(state), 0);
  text = read_file(path, NULL);
  assert_string_equal(
      text,
      "{\n"
      "  \"afetch_state\": 1,\n"
      "  \"entries\": {\n"
      "    \"https://a.example/\": "
      "{\"etag\":\"\\\"a\\\"\",\"file\":\"out/a.example/index.html\"},\n"
      "    \"https://b.example/\": {\"last_modified\":\"" LM_2015 "\"},\n"
      "    \"https://c.example/\": {\"etag\":\"\\\"c\\\"\",\"last_modified\":\"" LM_2016 "\"}\n"
      "  }\n"
      "}\n");
  free(text);
  state_free(state);
  remove_temp_dir(dir);
}

static void update_replaces_the_entry_and_null_clears_a_field(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  const char *url = "https://example.com/page";
  update(state, url, "\"v1\"", LM_2015, "mirror/example.com/page");
  update(state, url, "\"v2\"", NULL, "mirror/example.com/page");
  assert_entry(state, url, "\"v2\"", NULL, "mirror/example.com/page");
  update(state, url, NULL, LM_2016, NULL);
  assert_entry(state, url, NULL, LM_2016, NULL);

  /* The caller's strings are copied. */
  char etag[16] = "\"copied\"";
  update(state, url, etag, NULL, NULL);
  strcpy(etag, "\"changed\"");
  assert_entry(state, url, "\"copied\"", NULL, NULL);

  assert_int_equal(state_save(state), 0);
  state_free(state);
  state = load_ok(path);
  assert_entry(state, url, "\"copied\"", NULL, NULL);
  state_free(state);
  remove_temp_dir(dir);
}

static void entry_without_validators_is_removed(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  update(state, "https://a.example/", "\"a\"", NULL, "mirror/a");
  update(state, "https://b.example/", "\"b\"", NULL, NULL);
  update(state, "https://a.example/", NULL, NULL, "mirror/a"); /* a file alone is not kept */
  assert_null(state_lookup(state, "https://a.example/"));
  update(state, "https://never.example/", NULL, NULL, NULL); /* removing nothing is fine */
  assert_null(state_lookup(state, "https://never.example/"));
  assert_entry(state, "https://b.example/", "\"b\"", NULL, NULL);

  assert_int_equal(state_save(state), 0);
  state_free(state);
  state = load_ok(path);
  assert_null(state_lookup(state, "https://a.example/"));
  assert_entry(state, "https://b.example/", "\"b\"", NULL, NULL);
  state_free(state);
  remove_temp_dir(dir);
}

static void expect_not_a_state_file(const char *content, const char *reason) {
  char path[HELPER_PATH_SIZE];
  helper_temp_file(content, strlen(content), path);
  char errbuf[512] = "";
  struct state *state = state_load(path, errbuf, sizeof errbuf);
  if (state)
    fail_msg("loaded: %s", content);
  char expected[512];
  snprintf(expected, sizeof expected, "cannot use state file '%s': not an afetch state file (%s)",
           path, reason);
  assert_string_equal(errbuf, expected);
  remove_state_file(path);
}

static void corrupt_file_is_refused_with_a_message_naming_it(void **unused) {
  (void)unused;
  expect_not_a_state_file("", "invalid JSON at line 1");
  expect_not_a_state_file("https://example.com/\n", "invalid JSON at line 1");
  expect_not_a_state_file(
      "{\n  \"afetch_state\": 1,\n  \"entries\": {\n    \"u\": {\"etag\": \"x\n",
      "invalid JSON at line 4");
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": {}} trailing",
                          "invalid JSON at line 1");
  expect_not_a_state_file("[]", "not a JSON object");
  expect_not_a_state_file("[{\"afetch_state\": 1, \"entries\": {}}]", "not a JSON object");
  expect_not_a_state_file("{\"entries\": {}}", "no \"afetch_state\" version number");
  expect_not_a_state_file("{\"afetch_state\": \"1\", \"entries\": {}}",
                          "no \"afetch_state\" version number");
  expect_not_a_state_file("{\"afetch_state\": 2, \"entries\": {}}", "version 2 is not supported");
  expect_not_a_state_file("{\"afetch_state\": 1}", "no \"entries\" object");
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": []}", "no \"entries\" object");
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": null}", "no \"entries\" object");
}

static void unreadable_file_is_refused_with_the_reason(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE];
  make_temp_dir(dir);
  char errbuf[512] = "", expected[512];
  /* A directory where the file should be: opens, but reading fails. */
  assert_null(state_load(dir, errbuf, sizeof errbuf));
  snprintf(expected, sizeof expected, "cannot use state file '%s': %s", dir, strerror(EISDIR));
  assert_string_equal(errbuf, expected);
  /* A path through a regular file. */
  char path[HELPER_PATH_SIZE], through[128];
  helper_temp_file("x", 1, path);
  snprintf(through, sizeof through, "%s/state.json", path);
  assert_null(state_load(through, errbuf, sizeof errbuf));
  snprintf(expected, sizeof expected, "cannot use state file '%s': %s", through, strerror(ENOTDIR));
  assert_string_equal(errbuf, expected);
  remove_state_file(path);
  remove_temp_dir(dir);
}

static void entries_with_fields_of_other_types_are_skipped(void **unused) {
  (void)unused;
  const char *content =
      "{\"afetch_state\": 1, \"comment\": \"extra keys are ignored\",\n"
      " \"entries\": {\n"
      "  \"https://good.example/\": {\"etag\": \"\\\"g\\\"\", \"future\": 3},\n"
      "  \"https://null.example/\": {\"etag\": null, \"last_modified\": \"" LM_2015 "\"},\n"
      "  \"https://number.example/\": {\"etag\": 42},\n"
      "  \"https://file.example/\": {\"etag\": \"\\\"f\\\"\", \"file\": false},\n"
      "  \"https://array.example/\": [\"\\\"a\\\"\"],\n"
      "  \"https://string.example/\": \"\\\"s\\\"\",\n"
      "  \"https://novalidator.example/\": {\"file\": \"mirror/x\"}\n"
      "}}\n";
  char path[HELPER_PATH_SIZE];
  helper_temp_file(content, strlen(content), path);
  struct state *state = load_ok(path);
  assert_entry(state, "https://good.example/", "\"g\"", NULL, NULL);
  assert_entry(state, "https://null.example/", NULL, LM_2015, NULL);
  assert_null(state_lookup(state, "https://number.example/"));
  assert_null(state_lookup(state, "https://file.example/"));
  assert_null(state_lookup(state, "https://array.example/"));
  assert_null(state_lookup(state, "https://string.example/"));
  assert_null(state_lookup(state, "https://novalidator.example/"));
  assert_false(state_dirty(state));
  state_free(state);
  remove_state_file(path);
}

static void duplicate_url_in_the_file_keeps_the_last(void **unused) {
  (void)unused;
  const char *content = "{\"afetch_state\": 1, \"entries\": {"
                        "\"https://a.example/\": {\"etag\": \"\\\"1\\\"\"},"
                        "\"https://a.example/\": {\"etag\": \"\\\"2\\\"\"}}}";
  char path[HELPER_PATH_SIZE];
  helper_temp_file(content, strlen(content), path);
  struct state *state = load_ok(path);
  assert_entry(state, "https://a.example/", "\"2\"", NULL, NULL);
  state_free(state);
  remove_state_file(path);
}

static void failed_save_in_a_missing_directory_reports_errno(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[160], names[256];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/no-such-dir/state.json", dir);
  struct state *state = load_ok(path);
  update(state, "https://a.example/", "\"a\"", NULL, NULL);
  errno = 0;
  assert_int_equal(state_save(state), -1);
  assert_int_equal(errno, ENOENT);
  assert_true(state_dirty(state)); /* still to be saved */
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "");
  state_free(state);
  remove_temp_dir(dir);
}

static void failed_write_leaves_the_old_file_byte_identical(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], names[256];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  update(state, "https://old.example/", "\"old\"", LM_2015, "mirror/old");
  assert_int_equal(state_save(state), 0);
  size_t old_length;
  char *old = read_file(path, &old_length);

  /* A file size limit (as a full disk would) makes the bigger new file fail part way. */
  char url[64];
  for (int i = 0; i < 2000; i++) {
    snprintf(url, sizeof url, "https://new.example/%d", i);
    update(state, url, "\"new\"", LM_2016, NULL);
  }
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = {.rlim_cur = 8192, .rlim_max = saved.rlim_max};
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  errno = 0;
  int rc = state_save(state);
  int error = errno;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_equal(rc, -1);
  assert_int_equal(error, EFBIG);
  assert_true(state_dirty(state));

  size_t now_length;
  char *now = read_file(path, &now_length);
  assert_int_equal(now_length, old_length);
  assert_memory_equal(now, old, old_length);
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "state.json state.json.lock"); /* the temp file is gone */
  free(now);

  /* Without the limit the same save works. */
  assert_int_equal(state_save(state), 0);
  assert_false(state_dirty(state));
  state_free(state);
  state = load_ok(path);
  assert_entry(state, "https://old.example/", "\"old\"", LM_2015, "mirror/old");
  assert_entry(state, "https://new.example/1999", "\"new\"", LM_2016, NULL);
  state_free(state);
  free(old);
  remove_temp_dir(dir);
}

static void save_leaves_no_temp_file_and_keeps_the_mode(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], names[256];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  write_file(path, "{\"afetch_state\": 1, \"entries\": {}}");
  assert_int_equal(chmod(path, 0640), 0);
  struct state *state = load_ok(path);
  for (int round = 0; round < 3; round++) {
    char url[64];
    snprintf(url, sizeof url, "https://example.com/%d", round);
    update(state, url, "\"e\"", NULL, NULL);
    assert_int_equal(state_save(state), 0);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "state.json state.json.lock");
  }
  struct stat info;
  assert_int_equal(stat(path, &info), 0);
  assert_int_equal(info.st_mode & 07777, 0640);
  state_free(state);
  remove_temp_dir(dir);
}

static void new_file_gets_the_umask_mode(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  mode_t old_mask = umask(027);
  struct state *state = load_ok(path);
  assert_int_equal(state_save(state), 0);
  umask(old_mask);
  struct stat info;
  assert_int_equal(stat(path, &info), 0);
  assert_int_equal(info.st_mode & 07777, 0640);
  state_free(state);
  remove_temp_dir(dir);
}

static void relative_path_saves_in_the_current_directory(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], names[256], cwd[4096];
  make_temp_dir(dir);
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  struct state *state = load_ok("state.json");
  update(state, "https://a.example/", "\"a\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  state_free(state);
  state = load_ok("state.json");
  assert_entry(state, "https://a.example/", "\"a\"", NULL, NULL);
  state_free(state);
  assert_int_equal(chdir(cwd), 0);
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "state.json state.json.lock");
  remove_temp_dir(dir);
}

static void twenty_thousand_entries_round_trip(void **unused) {
  (void)unused;
  enum { COUNT = 20000 };
  char dir[HELPER_PATH_SIZE], path[128], url[96], etag[32], file[96];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  for (int i = 0; i < COUNT; i++) {
    snprintf(url, sizeof url, "https://host-%d.example/path/%d", i % 97, i);
    snprintf(etag, sizeof etag, "\"%x\"", (unsigned)i * 2654435761u);
    snprintf(file, sizeof file, "mirror/host-%d.example/path/%d", i % 97, i);
    update(state, url, etag, i % 3 ? LM_2015 : NULL, i % 5 ? file : NULL);
  }
  /* Every third one removed again. */
  for (int i = 0; i < COUNT; i += 3) {
    snprintf(url, sizeof url, "https://host-%d.example/path/%d", i % 97, i);
    update(state, url, NULL, NULL, NULL);
  }
  assert_int_equal(state_save(state), 0);
  state_free(state);

  state = load_ok(path);
  for (int i = 0; i < COUNT; i++) {
    snprintf(url, sizeof url, "https://host-%d.example/path/%d", i % 97, i);
    if (i % 3 == 0) {
      assert_null(state_lookup(state, url));
      continue;
    }
    snprintf(etag, sizeof etag, "\"%x\"", (unsigned)i * 2654435761u);
    snprintf(file, sizeof file, "mirror/host-%d.example/path/%d", i % 97, i);
    assert_entry(state, url, etag, LM_2015, i % 5 ? file : NULL);
  }
  assert_null(state_lookup(state, "https://host-0.example/path/20000"));
  state_free(state);
  remove_temp_dir(dir);
}

static void unusual_bytes_round_trip(void **unused) {
  (void)unused;
  static const char *const urls[] = {
      "https://example.com/\"quoted\"",
      "https://example.com/back\\slash\\\\",
      "https://example.com/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80",
      "https://example.com/control\x01\x1f\t\n\r\x7f",
      "https://example.com/slash\\/u\\u0041",
      "",
  };
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  for (size_t i = 0; i < HELPER_COUNT(urls); i++)
    update(state, urls[i], ODD_ETAG, ODD_LAST_MODIFIED, urls[i]);
  assert_int_equal(state_save(state), 0);
  state_free(state);

  /* Valid JSON to cJSON, with the values as given. */
  size_t length;
  char *text = read_file(path, &length);
  cJSON *root = cJSON_ParseWithLength(text, length);
  assert_non_null(root);
  cJSON_Delete(root);
  free(text);

  state = load_ok(path);
  for (size_t i = 0; i < HELPER_COUNT(urls); i++)
    assert_entry(state, urls[i], ODD_ETAG, ODD_LAST_MODIFIED, urls[i]);
  state_free(state);
  remove_temp_dir(dir);
}

/* JSON text is UTF-8: a URL (or file) that is not could not be written back unchanged, so it is
 * not recorded (it is fetched in full every run), and such a validator is not kept. */
static void bytes_that_are_not_utf8_are_not_recorded(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  update(state, "https://example.com/latin1-\xe9-not-utf8", "\"a\"", NULL, "f");
  update(state, "https://example.com/ok", "\"caf\xe9\"", "Thu, 01 Jan 2026 00:00:00 GMT", "g");
  assert_null(state_lookup(state, "https://example.com/latin1-\xe9-not-utf8"));
  assert_int_equal(state_save(state), 0);
  state_free(state);
  size_t length;
  char *text = read_file(path, &length);
  if (!helper_utf8_valid(text, length))
    fail_msg("the state file is not valid UTF-8: %s", text);
  free(text);
  state = load_ok(path);
  assert_entry(state, "https://example.com/ok", NULL, "Thu, 01 Jan 2026 00:00:00 GMT", "g");
  state_free(state);
  remove_temp_dir(dir);
}

static void dirty_means_changed_since_the_last_save(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  assert_false(state_dirty(state));
  update(state, "https://a.example/", "\"a\"", NULL, "mirror/a");
  assert_true(state_dirty(state));
  assert_int_equal(state_save(state), 0);
  assert_false(state_dirty(state));

  /* The same values again (a 304 recorded anew) change nothing. */
  update(state, "https://a.example/", "\"a\"", NULL, "mirror/a");
  assert_false(state_dirty(state));
  /* Nor does removing what is not there. */
  update(state, "https://absent.example/", NULL, NULL, NULL);
  assert_false(state_dirty(state));
  /* A different field does; so does removing. */
  update(state, "https://a.example/", "\"a\"", NULL, "mirror/a-2");
  assert_true(state_dirty(state));
  assert_int_equal(state_save(state), 0);
  update(state, "https://a.example/", NULL, NULL, "mirror/a-2");
  assert_true(state_dirty(state));
  assert_int_equal(state_save(state), 0);
  assert_false(state_dirty(state));
  state_free(state);

  /* A loaded state starts clean. */
  state = load_ok(path);
  assert_false(state_dirty(state));
  state_free(state);
  remove_temp_dir(dir);
}

/* A state file with one entry per case; the URL says the case. */
static void validators_that_could_inject_headers_are_dropped_on_load(void **unused) {
  (void)unused;
  char path[HELPER_PATH_SIZE];
  const char *text =
      "{\"afetch_state\": 1, \"entries\": {\n"
      "\"https://ok/strong\": {\"etag\": \"\\\"abc\\\"\"},\n"
      "\"https://ok/weak\": {\"etag\": \"W/\\\"abc\\\"\", \"last_modified\": \"" LM_2015 "\"},\n"
      "\"https://ok/empty-tag\": {\"etag\": \"\\\"\\\"\"},\n"
      "\"https://bad/crlf-etag\": {\"etag\": \"\\\"a\\\"\\r\\nX-Injected: 1\"},\n"
      "\"https://bad/lf-inside\": {\"etag\": \"\\\"a\\nb\\\"\"},\n"
      "\"https://bad/unquoted\": {\"etag\": \"abc\"},\n"
      "\"https://bad/space\": {\"etag\": \"\\\"a b\\\"\"},\n"
      "\"https://bad/lower-w\": {\"etag\": \"w/\\\"a\\\"\"},\n"
      "\"https://bad/crlf-date\": {\"etag\": \"\\\"ok\\\"\", \"last_modified\": "
      "\"x\\r\\nX-Injected: 1\"},\n"
      "\"https://bad/tab-date\": {\"last_modified\": \"Wed,\\t21\"},\n"
      "\"https://bad/del\": {\"last_modified\": \"\\u007f\"},\n"
      "\"https://bad/latin1-\xe9\": {\"file\": \"f\"},\n"
      "\"https://bad/file\": {\"file\": \"f\xff\"}\n"
      "}}";
  helper_temp_file(text, strlen(text), path);
  struct state *state = load_ok(path);
  assert_entry(state, "https://ok/strong", "\"abc\"", NULL, NULL);
  assert_entry(state, "https://ok/weak", "W/\"abc\"", LM_2015, NULL);
  assert_entry(state, "https://ok/empty-tag", "\"\"", NULL, NULL);
  static const char *const dropped[] = {"https://bad/crlf-etag",   "https://bad/lf-inside",
                                        "https://bad/unquoted",    "https://bad/space",
                                        "https://bad/lower-w",     "https://bad/crlf-date",
                                        "https://bad/tab-date",    "https://bad/del",
                                        "https://bad/latin1-\xe9", "https://bad/file"};
  for (size_t i = 0; i < HELPER_COUNT(dropped); i++)
    if (state_lookup(state, dropped[i]))
      fail_msg("the entry for %s was loaded", dropped[i]);
  assert_int_equal(state_dropped_entries(state), HELPER_COUNT(dropped));
  state_free(state);
  remove_state_file(path);
}

static void update_keeps_no_validator_that_could_not_be_sent(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  struct state *state = load_ok(path);
  update(state, "https://a/", "unquoted", LM_2015, NULL);
  assert_entry(state, "https://a/", NULL, LM_2015, NULL);
  update(state, "https://b/", "\"b\"", "x\r\nY: 1", NULL);
  assert_entry(state, "https://b/", "\"b\"", NULL, NULL);
  update(state, "https://c/", "\"c\nd\"", "\n", NULL);
  assert_null(state_lookup(state, "https://c/"));
  state_free(state);
  remove_temp_dir(dir);
}

static void a_second_load_is_refused_while_the_first_holds_the_lock(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], link[128], errbuf[512] = "", expected[512];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  snprintf(link, sizeof link, "%s/link.json", dir);
  assert_int_equal(symlink("state.json", link), 0);
  struct state *first = load_ok(path);
  assert_null(state_load(path, errbuf, sizeof errbuf));
  snprintf(expected, sizeof expected,
           "cannot use state file '%s': another afetch run is using it (it holds the lock "
           "'%s.lock')",
           path, path);
  assert_string_equal(errbuf, expected);
  /* The same file through a link shares the lock. */
  assert_null(state_load(link, errbuf, sizeof errbuf));
  state_free(first);
  struct state *second = load_ok(link);
  state_free(second);
  unlink(link);
  remove_temp_dir(dir);
}

static void save_through_a_symlink_replaces_the_target_and_keeps_the_link(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], link[128], names[256];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  snprintf(link, sizeof link, "%s/link.json", dir);
  /* A dangling link first: its target is created. */
  assert_int_equal(symlink("state.json", link), 0);
  struct state *state = load_ok(link);
  update(state, "https://a/", "\"a\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  update(state, "https://b/", "\"b\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  state_free(state);
  struct stat info;
  assert_int_equal(lstat(link, &info), 0);
  assert_true(S_ISLNK(info.st_mode));
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "link.json state.json state.json.lock");
  state = load_ok(path);
  assert_entry(state, "https://a/", "\"a\"", NULL, NULL);
  assert_entry(state, "https://b/", "\"b\"", NULL, NULL);
  state_free(state);
  remove_temp_dir(dir);
}

static void save_removes_temp_files_of_killed_runs_only(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], names[512];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  long dead = (long)helper_dead_pid();
  char temp[256];
  const char *formats[] = {
      "%s/.state.json.tmp-%ld-a1B2c3",   /* dead: removed */
      "%s/.state.json.tmp-1-a1B2c3",     /* pid 1 lives: kept */
      "%s/.other.json.tmp-%ld-a1B2c3",   /* another file's: kept */
      "%s/.state.json.tmp-%ld-a1B2c3.x", /* not our pattern: kept */
  };
  for (size_t i = 0; i < HELPER_COUNT(formats); i++) {
    snprintf(temp, sizeof temp, formats[i], dir, dead);
    write_file(temp, "partial");
  }
  struct state *state = load_ok(path);
  update(state, "https://a/", "\"a\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  state_free(state);
  list_dir(dir, names, sizeof names);
  char expected[512];
  snprintf(expected, sizeof expected,
           ".other.json.tmp-%ld-a1B2c3 .state.json.tmp-1-a1B2c3 .state.json.tmp-%ld-a1B2c3.x "
           "state.json state.json.lock",
           dead, dead);
  assert_string_equal(names, expected);
  remove_temp_dir(dir);
}

/* The periodic saves of one run scan the directory for a killed run's temp files only once:
 * one left later stays until the next run (state) saves. */
static void only_the_first_save_of_a_state_sweeps_stale_temps(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], path[128], temp[256];
  make_temp_dir(dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  snprintf(temp, sizeof temp, "%s/.state.json.tmp-%ld-a1B2c3", dir, (long)helper_dead_pid());
  struct state *state = load_ok(path);
  update(state, "https://a/", "\"a\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  write_file(temp, "partial");
  update(state, "https://b/", "\"b\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  assert_int_equal(access(temp, F_OK), 0);
  state_free(state);
  state = load_ok(path);
  update(state, "https://c/", "\"c\"", NULL, NULL);
  assert_int_equal(state_save(state), 0);
  assert_int_not_equal(access(temp, F_OK), 0);
  state_free(state);
  remove_temp_dir(dir);
}

/* The loader reads member by member: what it accepts and refuses is what a parse of the whole
 * document would give. */
static void members_load_in_any_order_as_a_whole_parse_would(void **unused) {
  (void)unused;
  char path[HELPER_PATH_SIZE];
  const char *text =
      " \n{ \"other\": [1, {\"entries\": 5}, \"}\"],\n\"entries\" : {\"u\" : {\"etag\":"
      "\"\\\"1\\\"\"} , \"v\": 7, \"u\": {\"etag\": \"\\\"2\\\"\"}},\n"
      "\"entries\": {\"w\": {\"etag\": \"\\\"3\\\"\"}},"
      "\"afetch_state\" : 1, \"afetch_state\": 2 }\n\n";
  helper_temp_file(text, strlen(text), path);
  struct state *state = load_ok(path);
  assert_entry(state, "u", "\"2\"", NULL, NULL); /* the later duplicate wins */
  assert_null(state_lookup(state, "v"));         /* not an object */
  assert_null(state_lookup(state, "w"));         /* only the first "entries" counts */
  state_free(state);
  remove_state_file(path);
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": {\"u\": {}},\n\"x\": [1,]}",
                          "invalid JSON at line 2");
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": {\"u\" {}}}",
                          "invalid JSON at line 1");
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": {}", "invalid JSON at line 1");
  expect_not_a_state_file("{\"afetch_state\": 1, \"entries\": {},}", "invalid JSON at line 1");
  expect_not_a_state_file("{\"entries\": {}, 3: 1}", "invalid JSON at line 1");
  expect_not_a_state_file("\"text\"", "not a JSON object");
}

/* What state_load(path) does in a child running as user `name`: 0 loaded, 1 refused because
 * another run holds the lock, 2 refused for another reason. */
static int load_as(const char *name, const char *path) {
  struct passwd *user = getpwnam(name);
  if (!user)
    fail_msg("no user %s", name);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(user->pw_gid) != 0 || setuid(user->pw_uid) != 0)
      _exit(3);
    char errbuf[512] = "";
    struct state *state = state_load(path, errbuf, sizeof errbuf);
    bool loaded = state != NULL;
    state_free(state);
    _exit(loaded ? 0 : strstr(errbuf, "another afetch run") ? 1 : 2);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_not_equal(WEXITSTATUS(status), 3);
  return WEXITSTATUS(status);
}

/* Another user's lock file, which this user may not write, still keeps two runs apart. */
static void a_lock_file_this_user_cannot_write_still_locks(void **unused) {
  (void)unused;
  if (geteuid() != 0 || !getpwnam("nobody")) {
    print_message("needs root and a user nobody: skipped\n");
    skip();
  }
  char dir[HELPER_PATH_SIZE], path[128], lock[136], names[256];
  make_temp_dir(dir);
  assert_int_equal(chmod(dir, 0755), 0);
  snprintf(path, sizeof path, "%s/state.json", dir);
  snprintf(lock, sizeof lock, "%s.lock", path);
  struct state *first = load_ok(path);
  assert_int_equal(chmod(lock, 0644), 0);
  assert_int_equal(load_as("nobody", path), 1);
  state_free(first);
  assert_int_equal(load_as("nobody", path), 0); /* free again: taken through a read-only open */
  /* No lock file, and a directory this user cannot write: no lock is needed. */
  assert_int_equal(unlink(lock), 0);
  assert_int_equal(load_as("nobody", path), 0);
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "");
  remove_temp_dir(dir);
}

/* A device or a FIFO is written in place, so no lock file is made beside it (as root,
 * --if-changed /dev/null must not leave /dev/null.lock). */
static void a_device_or_fifo_state_file_gets_no_lock_file(void **unused) {
  (void)unused;
  char dir[HELPER_PATH_SIZE], null[128], fifo[128], names[256], errbuf[512] = "";
  make_temp_dir(dir);
  snprintf(null, sizeof null, "%s/null", dir);
  if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0) {
    print_message("mknod %s: %s: skipped\n", null, strerror(errno));
    remove_temp_dir(dir);
    skip();
  }
  assert_null(state_load(null, errbuf, sizeof errbuf)); /* empty: not a state file */
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  const char *text = "{\"afetch_state\": 1, \"entries\": {\"u\": {\"etag\": \"\\\"1\\\"\"}}}";
  pid_t writer = fork();
  assert_true(writer >= 0);
  if (writer == 0) {
    int fd = open(fifo, O_WRONLY); /* waits for the reader */
    _exit(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : 1);
  }
  struct state *state = state_load(fifo, errbuf, sizeof errbuf);
  /* Releases the writer if state_load() never opened the FIFO. */
  int unblock = open(fifo, O_RDONLY | O_NONBLOCK);
  if (unblock >= 0)
    close(unblock);
  int status;
  assert_int_equal(waitpid(writer, &status, 0), writer);
  if (!state)
    fail_msg("state_load: %s", errbuf);
  assert_entry(state, "u", "\"1\"", NULL, NULL);
  state_free(state);
  list_dir(dir, names, sizeof names);
  assert_string_equal(names, "fifo null");
  remove_temp_dir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(missing_file_is_an_empty_state),
      cmocka_unit_test(saved_state_loads_back_with_the_same_entries),
      cmocka_unit_test(file_lists_entries_sorted_by_url_one_per_line),
      cmocka_unit_test(update_replaces_the_entry_and_null_clears_a_field),
      cmocka_unit_test(entry_without_validators_is_removed),
      cmocka_unit_test(corrupt_file_is_refused_with_a_message_naming_it),
      cmocka_unit_test(unreadable_file_is_refused_with_the_reason),
      cmocka_unit_test(entries_with_fields_of_other_types_are_skipped),
      cmocka_unit_test(duplicate_url_in_the_file_keeps_the_last),
      cmocka_unit_test(failed_save_in_a_missing_directory_reports_errno),
      cmocka_unit_test(failed_write_leaves_the_old_file_byte_identical),
      cmocka_unit_test(save_leaves_no_temp_file_and_keeps_the_mode),
      cmocka_unit_test(new_file_gets_the_umask_mode),
      cmocka_unit_test(relative_path_saves_in_the_current_directory),
      cmocka_unit_test(twenty_thousand_entries_round_trip),
      cmocka_unit_test(unusual_bytes_round_trip),
      cmocka_unit_test(bytes_that_are_not_utf8_are_not_recorded),
      cmocka_unit_test(dirty_means_changed_since_the_last_save),
      cmocka_unit_test(validators_that_could_inject_headers_are_dropped_on_load),
      cmocka_unit_test(update_keeps_no_validator_that_could_not_be_sent),
      cmocka_unit_test(a_second_load_is_refused_while_the_first_holds_the_lock),
      cmocka_unit_test(save_through_a_symlink_replaces_the_target_and_keeps_the_link),
      cmocka_unit_test(save_removes_temp_files_of_killed_runs_only),
      cmocka_unit_test(members_load_in_any_order_as_a_whole_parse_would),
      cmocka_unit_test(a_lock_file_this_user_cannot_write_still_locks),
      cmocka_unit_test(a_device_or_fifo_state_file_gets_no_lock_file),
      cmocka_unit_test(only_the_first_save_of_a_state_sweeps_stale_temps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
