/* download.h: a body saved through a temp file that replaces its target only on commit. */
#include "unit_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

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

/* remove_dir() after unmounting what a test mounted on the directory (if anything). */
static int unmount_and_remove_dir(void **state) {
  umount2(*state, MNT_DETACH);
  return remove_dir(state);
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

/* fsync() as download.c sees it: this definition in the test program takes the place of
 * libc's, records which inode each call synced, then does the real call. */
#define SYNCED_MAX 64
static ino_t synced_inodes[SYNCED_MAX];
static size_t synced_count;

int fsync(int fd) {
  struct stat info;
  if (fstat(fd, &info) == 0 && synced_count < SYNCED_MAX)
    synced_inodes[synced_count++] = info.st_ino;
  return (int)syscall(SYS_fsync, fd);
}

static bool was_synced(const char *path) {
  struct stat info;
  assert_int_equal(stat(path, &info), 0);
  for (size_t i = 0; i < synced_count; i++)
    if (synced_inodes[i] == info.st_ino)
      return true;
  return false;
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

static void durable_save_syncs_the_parent_of_every_directory_made(void **state) {
  const char *dir = *state;
  char root[256], path[512];
  snprintf(root, sizeof root, "%s/new/out", dir); /* the output directory does not exist yet */
  snprintf(path, sizeof path, "%s/host/a/file.txt", root);
  struct download download;
  download_init(&download);
  synced_count = 0;
  assert_int_equal(download_open(&download, root, path, true), 0);
  assert_int_equal(download_write(&download, "x", 1), 0);
  assert_int_equal(download_commit(&download, true), 0);
  /* The file, and each directory that got a new entry: dir (new), new (out), out (host),
   * host (a), a (file.txt). */
  const char *const synced[] = {path, dir, "new", "new/out", "new/out/host", "new/out/host/a"};
  for (size_t i = 0; i < HELPER_COUNT(synced); i++) {
    char full[512];
    snprintf(full, sizeof full, "%s/%s", dir, synced[i]);
    if (!was_synced(i < 2 ? synced[i] : full))
      fail_msg("%s was not fsync'd", i < 2 ? synced[i] : full);
  }
}

/* Fails unless `dir` holds no entry at all. */
static void expect_empty(const char *dir) {
  if (count_entries(dir) != 0)
    fail_msg("something was written into %s", dir);
}

static void symbolic_links_under_the_root_are_not_followed(void **state) {
  const char *dir = *state;
  char root[256], elsewhere[256], link[512], path[512];
  snprintf(root, sizeof root, "%s/out", dir);
  snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
  assert_int_equal(mkdir(root, 0777), 0);
  assert_int_equal(mkdir(elsewhere, 0777), 0);
  struct download download;
  download_init(&download);

  /* A link as the first directory. */
  snprintf(link, sizeof link, "%s/host", root);
  assert_int_equal(symlink(elsewhere, link), 0);
  snprintf(path, sizeof path, "%s/host/file.txt", root);
  assert_int_equal(download_open(&download, root, path, false), DOWNLOAD_SYMLINK);
  snprintf(path, sizeof path, "%s/host/new/file.txt", root);
  assert_int_equal(download_open(&download, root, path, false), DOWNLOAD_SYMLINK);
  assert_false(download_is_open(&download));

  /* A link deeper down, to a directory and to a file; the root's own links are followed. */
  snprintf(link, sizeof link, "%s/real", root);
  assert_int_equal(mkdir(link, 0777), 0);
  snprintf(link, sizeof link, "%s/real/sub", root);
  assert_int_equal(symlink("../../elsewhere", link), 0);
  snprintf(path, sizeof path, "%s/real/sub/deeper/file.txt", root);
  assert_int_equal(download_open(&download, root, path, false), DOWNLOAD_SYMLINK);
  snprintf(link, sizeof link, "%s/real/file-link", root);
  assert_int_equal(symlink("/etc/hostname", link), 0);
  snprintf(path, sizeof path, "%s/real/file-link/x", root);
  assert_int_equal(download_open(&download, root, path, false), DOWNLOAD_SYMLINK);
  expect_empty(elsewhere);
  assert_non_null(strstr(download_strerror(DOWNLOAD_SYMLINK), "symbolic link"));

  /* A link planted after the open, before the commit: nothing moves through it. */
  snprintf(path, sizeof path, "%s/real/later/file.txt", root);
  assert_int_equal(download_open(&download, root, path, false), 0);
  assert_int_equal(download_write(&download, "body", 4), 0);
  char moved[512];
  snprintf(link, sizeof link, "%s/real/later", root);
  snprintf(moved, sizeof moved, "%s/moved", dir);
  assert_int_equal(rename(link, moved), 0);
  assert_int_equal(symlink(elsewhere, link), 0);
  assert_int_equal(download_commit(&download, false), DOWNLOAD_SYMLINK);
  expect_empty(elsewhere);

  /* A link as the target itself is replaced, not written through. */
  snprintf(path, sizeof path, "%s/real/target-link", root);
  char outside_file[512];
  snprintf(outside_file, sizeof outside_file, "%s/outside.txt", elsewhere);
  assert_int_equal(symlink(outside_file, path), 0);
  assert_int_equal(download_open(&download, root, path, false), 0);
  assert_int_equal(download_write(&download, "new", 3), 0);
  assert_int_equal(download_commit(&download, false), 0);
  expect_file(path, "new");
  struct stat info;
  assert_int_equal(lstat(path, &info), 0);
  assert_true(S_ISREG(info.st_mode));
  expect_empty(elsewhere);
}

static void first_open_in_a_directory_removes_temp_files_of_dead_runs(void **state) {
  const char *dir = *state;
  char sub[256], other[256], name[128], path[512];
  snprintf(sub, sizeof sub, "%s/host", dir);
  snprintf(other, sizeof other, "%s/other", dir);
  assert_int_equal(mkdir(sub, 0777), 0);
  assert_int_equal(mkdir(other, 0777), 0);
  long dead = (long)helper_dead_pid();
  const char *const stale[] = {".a.afetch-%ld-0", ".b.c.afetch-x.afetch-%ld-17"};
  const char *const kept[] = {".a.afetch-1-0",       /* pid 1 lives */
                              "a.afetch-%ld-0",      /* not hidden: not ours */
                              ".a.afetch-%ld-0.txt", /* not the pattern */
                              ".afetch-%ld-0",       /* no name */
                              ".a.afetch-%ld-"};
  for (size_t i = 0; i < HELPER_COUNT(stale); i++) {
    snprintf(name, sizeof name, stale[i], dead);
    snprintf(path, sizeof path, "%s/%s", sub, name);
    write_file(path, "x");
    snprintf(path, sizeof path, "%s/%s", other, name); /* not written into: kept */
    write_file(path, "x");
  }
  for (size_t i = 0; i < HELPER_COUNT(kept); i++) {
    snprintf(name, sizeof name, kept[i], dead);
    snprintf(path, sizeof path, "%s/%s", sub, name);
    write_file(path, "x");
  }
  download_forget_swept();
  struct download download;
  download_init(&download);
  snprintf(path, sizeof path, "%s/host/file.txt", dir);
  assert_int_equal(download_open(&download, dir, path, false), 0);
  assert_int_equal(download_commit(&download, false), 0);
  for (size_t i = 0; i < HELPER_COUNT(stale); i++) {
    snprintf(name, sizeof name, stale[i], dead);
    snprintf(path, sizeof path, "%s/%s", sub, name);
    if (access(path, F_OK) == 0)
      fail_msg("%s was left", path);
    snprintf(path, sizeof path, "%s/%s", other, name);
    if (access(path, F_OK) != 0)
      fail_msg("%s was removed, in a directory the download did not write into", path);
  }
  for (size_t i = 0; i < HELPER_COUNT(kept); i++) {
    snprintf(name, sizeof name, kept[i], dead);
    snprintf(path, sizeof path, "%s/%s", sub, name);
    if (access(path, F_OK) != 0)
      fail_msg("%s was removed", path);
  }
  /* Swept once per run: a stale file made now stays until the next run. */
  snprintf(name, sizeof name, stale[0], dead);
  snprintf(path, sizeof path, "%s/%s", sub, name);
  write_file(path, "x");
  snprintf(name, sizeof name, "%s/host/file.txt", dir);
  assert_int_equal(download_open(&download, dir, name, false), 0);
  download_discard(&download);
  assert_int_equal(access(path, F_OK), 0);
  download_forget_swept();
}

/* A directory made by the download holds no dead run's files: it is not read then, nor taken
 * as swept, so the set of swept directories does not grow with every new one. A dead run's
 * temp file that shows up later is removed by the next download into it. */
static void directory_made_by_the_download_is_not_taken_as_swept(void **state) {
  const char *dir = *state;
  char path[256], stale[300];
  snprintf(path, sizeof path, "%s/new/file.txt", dir);
  snprintf(stale, sizeof stale, "%s/new/.old.afetch-%ld-0", dir, (long)helper_dead_pid());
  download_forget_swept();
  struct download download;
  download_init(&download);
  assert_int_equal(download_open(&download, dir, path, false), 0);
  assert_int_equal(download_commit(&download, false), 0);
  write_file(stale, "x");
  assert_int_equal(download_open(&download, dir, path, false), 0);
  assert_int_equal(download_commit(&download, false), 0);
  if (access(stale, F_OK) == 0)
    fail_msg("%s was left: the new directory counted as swept when it was made", stale);
  download_forget_swept();
}

/* A directory under the output directory that cannot be made is reported with mkdir's reason,
 * not the ENOENT of the open after it. Root passes permission checks, so the file system
 * refuses: read-only, then out of inodes. */
static void directory_that_cannot_be_made_reports_why(void **state) {
  const char *dir = *state;
  char path[256];
  snprintf(path, sizeof path, "%s/host/file.txt", dir);
  struct download download;
  download_init(&download);
  if (mount("tmpfs", dir, "tmpfs", MS_RDONLY, "size=64k") != 0) {
    print_message("cannot mount a tmpfs on %s (%s): skipped\n", dir, strerror(errno));
    skip();
  }
  assert_int_equal(download_open(&download, dir, path, false), EROFS);
  assert_int_equal(umount(dir), 0);
  /* The root directory is the one inode there is. */
  assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=64k,nr_inodes=1"), 0);
  assert_int_equal(download_open(&download, dir, path, true), ENOSPC);
  assert_false(download_is_open(&download));
}

#define PARTIAL_URL "http://example.com/big"

static void partial_is_kept_by_discard_and_continued_by_the_next_download(void **state) {
  const char *dir = *state;
  char path[256];
  snprintf(path, sizeof path, "%s/host/big", dir);
  struct download first;
  download_init(&first);
  assert_false(download_find_partial(&first, dir, path, PARTIAL_URL)); /* no directory yet */
  assert_int_equal(download_open_partial(&first, dir, path, PARTIAL_URL, "\"v1\"", false), 0);
  assert_true(first.partial);
  assert_int_equal(download_write(&first, "first ", 6), 0);
  download_discard(&first); /* a failed try: the bytes stay */
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(count_entries(dir), 3); /* host, the partial, its sidecar */

  struct download other_url;
  download_init(&other_url);
  assert_false(download_find_partial(&other_url, dir, path, PARTIAL_URL "?other"));
  download_discard(&other_url);

  struct download next;
  download_init(&next);
  assert_true(download_find_partial(&next, dir, path, PARTIAL_URL));
  assert_int_equal(next.partial_length, 6);
  assert_string_equal(next.if_range, "\"v1\"");
  assert_int_equal(download_continue(&next), 0);
  assert_int_equal(download_write(&next, "second", 6), 0);
  assert_int_equal(download_commit(&next, true), 0);
  expect_file(path, "first second");
  assert_int_equal(count_entries(dir), 2); /* host, big: the sidecar went with the partial */
}

static void partial_held_by_another_download_leaves_it_a_temp_file(void **state) {
  const char *dir = *state;
  char path[256];
  snprintf(path, sizeof path, "%s/big", dir);
  struct download holder, second;
  download_init(&holder);
  download_init(&second);
  assert_int_equal(download_open_partial(&holder, dir, path, PARTIAL_URL, "\"v1\"", false), 0);
  assert_int_equal(download_write(&holder, "held", 4), 0);
  /* The same name at once (a URL listed twice, another run): not the held partial. */
  assert_false(download_find_partial(&second, dir, path, PARTIAL_URL));
  assert_int_equal(download_open_partial(&second, dir, path, PARTIAL_URL, "\"v1\"", false), 0);
  assert_false(second.partial);
  assert_int_equal(download_write(&second, "whole", 5), 0);
  assert_int_equal(download_commit(&second, false), 0);
  expect_file(path, "whole");
  download_discard(&holder);
  struct download later;
  download_init(&later);
  assert_true(download_find_partial(&later, dir, path, PARTIAL_URL));
  assert_int_equal(later.partial_length, 4);
  download_drop_partial(&later);
  assert_int_equal(count_entries(dir), 1); /* big alone */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(commit_creates_directories_and_replaces_the_target, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(discard_keeps_the_old_file_and_leaves_no_temp_file, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(unusable_directory_is_an_errno_not_a_crash, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(durable_save_syncs_the_parent_of_every_directory_made,
                                      make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(symbolic_links_under_the_root_are_not_followed, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(first_open_in_a_directory_removes_temp_files_of_dead_runs,
                                      make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(directory_that_cannot_be_made_reports_why, make_dir,
                                      unmount_and_remove_dir),
      cmocka_unit_test_setup_teardown(directory_made_by_the_download_is_not_taken_as_swept,
                                      make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(partial_is_kept_by_discard_and_continued_by_the_next_download,
                                      make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(partial_held_by_another_download_leaves_it_a_temp_file,
                                      make_dir, remove_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
