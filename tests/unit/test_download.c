/* download.h: a body saved through a temp file that replaces its target only on commit. */
#include "unit_helpers.h"

#include <dirent.h>
#include <sys/stat.h>

#include "afetch/download.h"

/* A fresh directory for one test, removed (with what is left in it) at its end. */
static int make_dir(void **state) {
  char *dir = strdup("/tmp/afetch-unit-dl-XXXXXX");
  if (!dir || !mkdtemp(dir))
    return -1;
  *state = dir;
  return 0;
}

static int remove_dir(void **state) {
  char command[128];
  snprintf(command, sizeof command, "rm -rf '%s'", (char *)*state);
  int status = system(command);
  free(*state);
  return status == 0 ? 0 : -1;
}

/* Entries of dir (not . and ..), recursively. */
static size_t count_entries(const char *dir) {
  DIR *handle = opendir(dir);
  assert_non_null(handle);
  size_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(handle))) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
      continue;
    count++;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    struct stat info;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
      count += count_entries(path);
  }
  closedir(handle);
  return count;
}

static void write_file(const char *path, const char *text) {
  FILE *file = fopen(path, "w");
  assert_non_null(file);
  fputs(text, file);
  fclose(file);
}

static void expect_file(const char *path, const char *text) {
  FILE *file = fopen(path, "r");
  if (!file)
    fail_msg("%s does not exist", path);
  char got[256] = {0};
  size_t n = fread(got, 1, sizeof got - 1, file);
  fclose(file);
  got[n] = '\0';
  assert_string_equal(got, text);
}

static void commit_creates_directories_and_replaces_the_target(void **state) {
  const char *dir = *state;
  char path[256];
  snprintf(path, sizeof path, "%s/host/a/b/file.txt", dir);
  struct download download;
  download_init(&download);
  assert_int_equal(download_open(&download, dir, path, false), 0);
  assert_int_equal(download_write(&download, "new ", 4), 0);
  assert_int_equal(download_write(&download, "body", 4), 0);
  /* Until the commit the target does not exist: only the hidden temp file does. */
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(download_commit(&download, true), 0);
  expect_file(path, "new body");
  assert_int_equal(count_entries(dir), 4); /* host, a, b, file.txt: no temp file left */

  /* A second download replaces it whole. */
  assert_int_equal(download_open(&download, dir, path, false), 0);
  assert_int_equal(download_write(&download, "v2", 2), 0);
  assert_int_equal(download_commit(&download, false), 0);
  expect_file(path, "v2");
  assert_int_equal(count_entries(dir), 4);
}

static void discard_keeps_the_old_file_and_leaves_no_temp_file(void **state) {
  const char *dir = *state;
  char path[256];
  snprintf(path, sizeof path, "%s/keep.txt", dir);
  write_file(path, "old");
  struct download download;
  download_init(&download);
  assert_int_equal(download_open(&download, dir, path, false), 0);
  assert_true(download_is_open(&download));
  assert_int_equal(download_write(&download, "half a bo", 9), 0);
  assert_int_equal(count_entries(dir), 2); /* the target and the temp file */
  download_discard(&download);
  assert_false(download_is_open(&download));
  expect_file(path, "old");
  assert_int_equal(count_entries(dir), 1);
  download_discard(&download); /* twice is harmless */
}

static void unusable_directory_is_an_errno_not_a_crash(void **state) {
  const char *dir = *state;
  char blocker[256], path[300];
  snprintf(blocker, sizeof blocker, "%s/plain-file", dir);
  write_file(blocker, "x");
  snprintf(path, sizeof path, "%s/sub/name", blocker); /* a directory under a file */
  struct download download;
  download_init(&download);
  assert_int_equal(download_open(&download, dir, path, false), ENOTDIR);
  assert_false(download_is_open(&download));
  assert_int_equal(count_entries(dir), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(commit_creates_directories_and_replaces_the_target, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(discard_keeps_the_old_file_and_leaves_no_temp_file, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(unusable_directory_is_an_errno_not_a_crash, make_dir,
                                      remove_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
