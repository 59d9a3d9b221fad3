/* partial.h: a resumable download's partial and sidecar, and what is never used as one. */
#include "unit_helpers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "afetch/partial.h"

#define URL "http://example.com/big.iso"
#define ETAG "\"abc\""

struct partial_dir {
  char path[HELPER_PATH_SIZE];
  int fd;
};

static int make_dir(void **state) {
  struct partial_dir *dir = calloc(1, sizeof *dir);
  if (!dir)
    return -1;
  snprintf(dir->path, sizeof dir->path, "/tmp/afetch-unit-part-XXXXXX");
  if (!mkdtemp(dir->path) || (dir->fd = open(dir->path, O_RDONLY | O_DIRECTORY)) < 0)
    return -1;
  *state = dir;
  return 0;
}

static int remove_dir(void **state) {
  struct partial_dir *dir = *state;
  char command[128];
  snprintf(command, sizeof command, "rm -rf '%s'", dir->path);
  close(dir->fd);
  int status = system(command);
  free(dir);
  return status == 0 ? 0 : -1;
}

static void write_at(const struct partial_dir *dir, const char *name, const char *text) {
  int fd = openat(dir->fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void read_at(const struct partial_dir *dir, const char *name, char *text, size_t size) {
  int fd = openat(dir->fd, name, O_RDONLY);
  assert_true(fd >= 0);
  ssize_t length = read(fd, text, size - 1);
  assert_true(length >= 0);
  text[length] = '\0';
  close(fd);
}

static bool exists_at(const struct partial_dir *dir, const char *name) {
  struct stat info;
  return fstatat(dir->fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A partial of URL holding `bytes`, as partial_start() and a transfer leave it. */
static void make_partial(const struct partial_dir *dir, const char *bytes) {
  int fd = -1;
  assert_int_equal(partial_start(dir->fd, "big.iso", -1, URL, ETAG, false, &fd), 0);
  assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
  close(fd);
}

static void started_partial_is_found_with_its_length_and_validator(void **state) {
  struct partial_dir *dir = *state;
  make_partial(dir, "first half");
  struct partial_found found;
  assert_true(partial_find(dir->fd, "big.iso", URL, &found));
  assert_int_equal(found.length, 10);
  assert_string_equal(found.if_range, ETAG);
  close(found.fd);
  free(found.if_range);
  /* Another URL's: not found, and left as it is. */
  assert_false(partial_find(dir->fd, "big.iso", URL "?v=2", &found));
  assert_int_equal(found.fd, -1);
  char text[64];
  read_at(dir, ".big.iso.afetch-part", text, sizeof text);
  assert_string_equal(text, "first half");
}

static void complete_partial_takes_the_name_and_its_sidecar_goes(void **state) {
  struct partial_dir *dir = *state;
  write_at(dir, "big.iso", "old file");
  make_partial(dir, "all of it");
  assert_int_equal(partial_complete(dir->fd, "big.iso"), 0);
  char text[64];
  read_at(dir, "big.iso", text, sizeof text);
  assert_string_equal(text, "all of it");
  assert_false(exists_at(dir, ".big.iso.afetch-part"));
  assert_false(exists_at(dir, ".big.iso.afetch-part.json"));
}

static void torn_missing_or_empty_sidecar_makes_no_partial(void **state) {
  struct partial_dir *dir = *state;
  make_partial(dir, "bytes");
  struct partial_found found;
  const char *sidecars[] = {"{\"afetch_partial\":1,\"url\":\"" URL "\",\"if_ran", /* torn */
                            "{\"afetch_partial\":2,\"url\":\"" URL "\",\"if_range\":\"x\"}",
                            "{\"afetch_partial\":1,\"url\":\"" URL "\",\"if_range\":\"\"}", ""};
  for (size_t i = 0; i < HELPER_COUNT(sidecars); i++) {
    write_at(dir, ".big.iso.afetch-part.json", sidecars[i]);
    assert_false(partial_find(dir->fd, "big.iso", URL, &found));
  }
  unlinkat(dir->fd, ".big.iso.afetch-part.json", 0);
  assert_false(partial_find(dir->fd, "big.iso", URL, &found));
  /* An empty partial is none either. */
  make_partial(dir, "");
  assert_false(partial_find(dir->fd, "big.iso", URL, &found));
}

static void links_at_the_partial_names_are_never_used(void **state) {
  struct partial_dir *dir = *state;
  /* A hard link to a file elsewhere (nlink 2), and a symbolic link. */
  write_at(dir, "elsewhere", "not ours");
  assert_int_equal(linkat(dir->fd, "elsewhere", dir->fd, ".big.iso.afetch-part", 0), 0);
  write_at(dir, ".big.iso.afetch-part.json",
           "{\"afetch_partial\":1,\"url\":\"" URL "\",\"if_range\":\""
           "\\\"abc\\\""
           "\"}");
  struct partial_found found;
  assert_false(partial_find(dir->fd, "big.iso", URL, &found));
  int fd = -1;
  assert_int_not_equal(partial_start(dir->fd, "big.iso", -1, URL, ETAG, false, &fd), 0);
  unlinkat(dir->fd, ".big.iso.afetch-part", 0);
  assert_int_equal(symlinkat("elsewhere", dir->fd, ".big.iso.afetch-part"), 0);
  assert_false(partial_find(dir->fd, "big.iso", URL, &found));
  assert_int_not_equal(partial_start(dir->fd, "big.iso", -1, URL, ETAG, false, &fd), 0);
  char text[64];
  read_at(dir, "elsewhere", text, sizeof text);
  assert_string_equal(text, "not ours");
  /* A sidecar that is a link to one vouching for the partial. */
  unlinkat(dir->fd, ".big.iso.afetch-part", 0);
  make_partial(dir, "bytes");
  assert_int_equal(renameat(dir->fd, ".big.iso.afetch-part.json", dir->fd, "vouch"), 0);
  assert_int_equal(symlinkat("vouch", dir->fd, ".big.iso.afetch-part.json"), 0);
  assert_false(partial_find(dir->fd, "big.iso", URL, &found));
}

static void partial_locked_by_another_holder_is_left_to_it(void **state) {
  struct partial_dir *dir = *state;
  make_partial(dir, "in use");
  /* flock() locks belong to an open file description: this one stands for another run. */
  int holder = openat(dir->fd, ".big.iso.afetch-part", O_RDWR);
  assert_true(holder >= 0);
  assert_int_equal(flock(holder, LOCK_EX | LOCK_NB), 0);
  struct partial_found found;
  assert_false(partial_find(dir->fd, "big.iso", URL, &found));
  int fd = -1;
  assert_int_equal(partial_start(dir->fd, "big.iso", -1, URL "?other", ETAG, false, &fd), EBUSY);
  assert_true(exists_at(dir, ".big.iso.afetch-part.json")); /* the holder's sidecar stays */
  close(holder);
  assert_true(partial_find(dir->fd, "big.iso", URL, &found));
  close(found.fd);
  free(found.if_range);
}

static void start_empties_a_found_partial_under_its_new_validator(void **state) {
  struct partial_dir *dir = *state;
  make_partial(dir, "old version bytes");
  struct partial_found found;
  assert_true(partial_find(dir->fd, "big.iso", URL, &found));
  int fd = -1;
  assert_int_equal(partial_start(dir->fd, "big.iso", found.fd, URL, "\"new\"", false, &fd), 0);
  assert_int_equal(fd, found.fd);
  assert_int_equal(write(fd, "new", 3), 3);
  close(fd);
  free(found.if_range);
  assert_true(partial_find(dir->fd, "big.iso", URL, &found));
  assert_int_equal(found.length, 3);
  assert_string_equal(found.if_range, "\"new\"");
  close(found.fd);
  free(found.if_range);
  partial_remove(dir->fd, "big.iso");
  assert_false(exists_at(dir, ".big.iso.afetch-part"));
  assert_false(exists_at(dir, ".big.iso.afetch-part.json"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(started_partial_is_found_with_its_length_and_validator,
                                      make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(complete_partial_takes_the_name_and_its_sidecar_goes,
                                      make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(torn_missing_or_empty_sidecar_makes_no_partial, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(links_at_the_partial_names_are_never_used, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(partial_locked_by_another_holder_is_left_to_it, make_dir,
                                      remove_dir),
      cmocka_unit_test_setup_teardown(start_empties_a_found_partial_under_its_new_validator,
                                      make_dir, remove_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
