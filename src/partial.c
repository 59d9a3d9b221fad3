/* -o: the partial of a download and its sidecar, found, started, completed, removed. */
#include "afetch/partial.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "afetch/replace_file.h"

/* A sidecar holds a URL (an input line: 64 KiB at most) and a header value. */
#define PARTIAL_SIDECAR_MAX (256 * 1024)
#define PARTIAL_FORMAT 1

/* ".NAME.afetch-part" and ".NAME.afetch-part.json": false when they would be too long. */
static bool partial_names(const char *base, char part[NAME_MAX + 1], char sidecar[NAME_MAX + 1]) {
  int length = snprintf(sidecar, NAME_MAX + 1, ".%s.afetch-part.json", base);
  if (length < 0 || length > NAME_MAX)
    return false;
  snprintf(part, NAME_MAX + 1, ".%s.afetch-part", base);
  return true;
}

/* Opens `name` without following a link (O_NONBLOCK: a FIFO planted there must not block
 * the open), and keeps it only if it is a regular file with no other name. */
static int partial_open_regular(int dir_fd, const char *name, int flags) {
  int fd = openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0666);
  if (fd < 0)
    return -errno;
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_nlink != 1) {
    close(fd);
    return -EPERM;
  }
  return fd;
}

/* The partial, open read-write and locked: the lock is taken on what the name still is (a
 * holder that removed it meanwhile leaves an unlinked file, which must not be written). */
static int partial_open_locked(int dir_fd, const char *part, bool create) {
  int fd = partial_open_regular(dir_fd, part, O_RDWR | (create ? O_CREAT : 0));
  if (fd < 0)
    return fd;
  struct stat opened, named;
  int error = 0;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    error = errno == EWOULDBLOCK ? EBUSY : errno;
  else if (fstat(fd, &opened) != 0 || fstatat(dir_fd, part, &named, AT_SYMLINK_NOFOLLOW) != 0)
    error = errno;
  else if (opened.st_dev != named.st_dev || opened.st_ino != named.st_ino)
    error = EBUSY;
  if (error) {
    close(fd);
    return -error;
  }
  return fd;
}

/* The validator the sidecar records for `url`, owned; NULL when it is missing, damaged, not
 * a regular file, or about another URL. */
static char *partial_read_sidecar(int dir_fd, const char *sidecar, const char *url) {
  int fd = partial_open_regular(dir_fd, sidecar, O_RDONLY);
  if (fd < 0)
    return NULL;
  struct stat info = {0};
  char *text = NULL;
  ssize_t length = -1;
  if (fstat(fd, &info) == 0 && info.st_size > 0 && info.st_size <= PARTIAL_SIDECAR_MAX &&
      (text = malloc((size_t)info.st_size)))
    length = pread(fd, text, (size_t)info.st_size, 0);
  close(fd);
  char *if_range = NULL;
  cJSON *root = length == info.st_size ? cJSON_ParseWithLength(text, (size_t)length) : NULL;
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "afetch_partial");
  const char *named = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "url"));
  const char *value = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "if_range"));
  if (cJSON_IsNumber(format) && format->valuedouble == PARTIAL_FORMAT && named &&
      strcmp(named, url) == 0 && value && *value)
    if_range = strdup(value);
  cJSON_Delete(root);
  free(text);
  return if_range;
}

bool partial_find(int dir_fd, const char *base, const char *url, struct partial_found *found) {
  *found = (struct partial_found){.fd = -1};
  char part[NAME_MAX + 1], sidecar[NAME_MAX + 1];
  if (!partial_names(base, part, sidecar))
    return false;
  int fd = partial_open_locked(dir_fd, part, false);
  if (fd < 0)
    return false;
  struct stat info;
  char *if_range = NULL;
  if (fstat(fd, &info) != 0 || info.st_size <= 0 ||
      !(if_range = partial_read_sidecar(dir_fd, sidecar, url))) {
    close(fd);
    return false;
  }
  *found = (struct partial_found){.fd = fd, .length = (uint64_t)info.st_size, .if_range = if_range};
  return true;
}

/* Writes the sidecar anew (its old one is gone). 0 or an errno. */
static int partial_write_sidecar(int dir_fd, const char *sidecar, const char *url,
                                 const char *if_range, bool durable) {
  cJSON *root = cJSON_CreateObject();
  char *text = NULL;
  if (root && cJSON_AddNumberToObject(root, "afetch_partial", PARTIAL_FORMAT) &&
      cJSON_AddStringToObject(root, "url", url) &&
      cJSON_AddStringToObject(root, "if_range", if_range))
    text = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!text)
    return ENOMEM;
  int error = 0;
  int fd = openat(dir_fd, sidecar, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) {
    error = errno;
  } else {
    size_t length = strlen(text);
    ssize_t written = write(fd, text, length);
    if (written < 0 || (size_t)written != length)
      error = written < 0 ? errno : EIO;
    if (!error && durable && fsync(fd) != 0)
      error = errno;
    if (close(fd) != 0 && !error)
      error = errno;
  }
  cJSON_free(text);
  return error;
}

int partial_start(int dir_fd, const char *base, int fd, const char *url, const char *if_range,
                  bool durable, int *fd_out) {
  char part[NAME_MAX + 1], sidecar[NAME_MAX + 1];
  if (!partial_names(base, part, sidecar)) {
    if (fd >= 0)
      close(fd);
    return ENAMETOOLONG;
  }
  if (fd < 0 && (fd = partial_open_locked(dir_fd, part, true)) < 0)
    return -fd; /* nothing of ours there: another run's partial, or not a file to touch */
  /* The old sidecar goes before the old bytes: a kill in between leaves a partial no sidecar
   * vouches for, never old bytes under the new validator. */
  int error = 0;
  if (unlinkat(dir_fd, sidecar, 0) != 0 && errno != ENOENT)
    error = errno;
  if (!error && (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0))
    error = errno;
  if (!error)
    error = partial_write_sidecar(dir_fd, sidecar, url, if_range, durable);
  if (!error && durable)
    error = replace_file_sync_directory(dir_fd);
  if (error) {
    partial_remove(dir_fd, base);
    close(fd);
    return error;
  }
  *fd_out = fd;
  return 0;
}

int partial_complete(int dir_fd, const char *base) {
  char part[NAME_MAX + 1], sidecar[NAME_MAX + 1];
  if (!partial_names(base, part, sidecar))
    return ENAMETOOLONG;
  if (renameat(dir_fd, part, dir_fd, base) != 0)
    return errno;
  unlinkat(dir_fd, sidecar, 0); /* left behind, it names a partial that is no more: unused */
  return 0;
}

void partial_remove(int dir_fd, const char *base) {
  char part[NAME_MAX + 1], sidecar[NAME_MAX + 1];
  if (!partial_names(base, part, sidecar))
    return;
  unlinkat(dir_fd, sidecar, 0);
  unlinkat(dir_fd, part, 0);
}
