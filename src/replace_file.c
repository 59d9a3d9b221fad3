/* Atomic replacement of a small file: temp file, fsync, rename, directory fsync. */
#include "afetch/replace_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The mode for the new file: the old file's, or 0666 less the umask (mkstemp makes 0600).
 * The umask is read from /proc, as umask() would change it for every thread; without /proc
 * the file stays 0600. */
static bool replace_file_mode(const char *path, mode_t *mode) {
  struct stat info;
  if (stat(path, &info) == 0 && S_ISREG(info.st_mode)) {
    *mode = info.st_mode & 07777;
    return true;
  }
  FILE *status = fopen("/proc/self/status", "r");
  if (!status)
    return false;
  char line[256];
  bool found = false;
  while (!found && fgets(line, sizeof line, status)) {
    unsigned mask;
    if (sscanf(line, "Umask: %o", &mask) == 1) {
      *mode = 0666 & ~(mode_t)mask;
      found = true;
    }
  }
  fclose(status);
  return found;
}

/* fsync of a directory. Filesystems that cannot sync one (EINVAL) count as done. */
static int replace_file_sync_directory(const char *directory) {
  int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int error = fsync(fd) != 0 && errno != EINVAL ? errno : 0;
  close(fd);
  return error;
}

/* Writes through `temp` (a mkstemp() template) and renames it to `path`. 0 or an errno. */
static int replace_file_via(const char *path, char *temp, replace_file_write_fn write, void *arg) {
  int fd = mkstemp(temp);
  if (fd < 0)
    return errno;
  FILE *file = fdopen(fd, "w");
  if (!file) {
    int error = errno;
    close(fd);
    unlink(temp);
    return error;
  }
  int error = 0;
  mode_t mode;
  errno = 0;
  if (!write(file, arg) || fflush(file) != 0 ||
      (replace_file_mode(path, &mode) && fchmod(fd, mode) != 0) || fsync(fd) != 0)
    error = errno ? errno : EIO;
  if (fclose(file) != 0 && !error)
    error = errno ? errno : EIO;
  if (!error && rename(temp, path) != 0)
    error = errno;
  if (error)
    unlink(temp);
  return error;
}

int replace_file_sync_directory_of(const char *path) {
  const char *slash = strrchr(path, '/');
  char *directory = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
  if (!directory)
    return ENOMEM;
  int error = replace_file_sync_directory(directory);
  free(directory);
  return error;
}

int replace_file(const char *path, replace_file_write_fn write, void *arg) {
  /* "<dir>/.<base>.tmp-XXXXXX" beside the file, so rename() stays in one filesystem. */
  const char *slash = strrchr(path, '/');
  size_t directory_length = slash ? (size_t)(slash - path) : 0;
  const char *base = slash ? slash + 1 : path;
  char *directory = slash ? strndup(path, directory_length ? directory_length : 1) : strdup(".");
  size_t temp_size = directory_length + strlen(base) + 16;
  char *temp = malloc(temp_size);
  int error = ENOMEM;
  if (directory && temp) {
    snprintf(temp, temp_size, "%.*s%s.%s.tmp-XXXXXX", (int)directory_length, path, slash ? "/" : "",
             base);
    error = replace_file_via(path, temp, write, arg);
    /* Renamed: the new file is in place; only its durability is left to ensure. */
    if (!error)
      error = replace_file_sync_directory(directory);
  }
  free(directory);
  free(temp);
  if (error) {
    errno = error;
    return -1;
  }
  return 0;
}
