/* Replacing a small file: atomically (temp file, fsync, rename, directory fsync) when it is a
 * regular file, in place when it is a character device or a FIFO. */
#include "afetch/replace_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Links followed at most, as the kernel's own limit for a path (ELOOP beyond). */
#define REPLACE_FILE_MAX_LINKS 40

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

int replace_file_sync_directory(int dir_fd) {
  return fsync(dir_fd) != 0 && errno != EINVAL ? errno : 0;
}

/* The directory part of `path` ("." when it has none), owned; NULL when out of memory. */
static char *replace_file_directory_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
}

char *replace_file_target(const char *path) {
  char *current = strdup(path);
  for (int links = 0; current; links++) {
    struct stat info;
    if (lstat(current, &info) != 0 || !S_ISLNK(info.st_mode))
      return current; /* not a link (or missing: it is created there) */
    char target[PATH_MAX];
    ssize_t length = links < REPLACE_FILE_MAX_LINKS ? readlink(current, target, sizeof target) : -1;
    int error = links < REPLACE_FILE_MAX_LINKS ? errno : ELOOP;
    if (length >= (ssize_t)sizeof target) {
      length = -1;
      error = ENAMETOOLONG;
    }
    if (length < 0) {
      free(current);
      errno = error;
      return NULL;
    }
    target[length] = '\0';
    /* A relative link is relative to the directory that holds it. */
    const char *slash = strrchr(current, '/');
    size_t keep = target[0] == '/' || !slash ? 0 : (size_t)(slash - current) + 1;
    char *next = malloc(keep + (size_t)length + 1);
    if (next) {
      memcpy(next, current, keep);
      memcpy(next + keep, target, (size_t)length + 1);
    }
    free(current);
    current = next;
  }
  errno = ENOMEM;
  return NULL;
}

bool replace_file_parse_pid(const char *digits, const char *end, pid_t *pid) {
  long value = 0;
  const char *c = digits;
  for (; c < end && isdigit((unsigned char)*c) && value < INT_MAX / 10; c++)
    value = value * 10 + (*c - '0');
  if (c != end || c == digits || value <= 0)
    return false;
  *pid = (pid_t)value;
  return true;
}

/* A temp name of ours for `base` (arg), ".<base>.tmp-<pid>-XXXXXX": true with the pid when
 * `name` is one (six characters from mkstemp's alphabet at the end, a decimal pid before). */
static bool replace_file_temp_pid(const char *name, const void *arg, pid_t *pid) {
  const char *base = arg;
  size_t base_length = strlen(base), length = strlen(name);
  if (length < 1 + base_length + 5 || name[0] != '.' || memcmp(name + 1, base, base_length) != 0 ||
      memcmp(name + 1 + base_length, ".tmp-", 5) != 0)
    return false;
  const char *digits = name + 1 + base_length + 5;
  const char *end = name + length;
  if (end - digits < 8 || end[-7] != '-')
    return false;
  for (const char *c = end - 6; c < end; c++)
    if (!isalnum((unsigned char)*c))
      return false;
  return replace_file_parse_pid(digits, end - 7, pid);
}

void replace_file_remove_stale_temps(int dir_fd, replace_file_temp_pid_fn temp_pid,
                                     const void *arg) {
  /* A descriptor of its own for the DIR, which closes it. */
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *handle = fd >= 0 ? fdopendir(fd) : NULL;
  if (!handle) {
    if (fd >= 0)
      close(fd);
    return;
  }
  for (struct dirent *entry; (entry = readdir(handle));) {
    pid_t pid;
    if (temp_pid(entry->d_name, arg, &pid) && pid != getpid() && kill(pid, 0) != 0 &&
        errno == ESRCH)
      unlinkat(dir_fd, entry->d_name, 0);
  }
  closedir(handle);
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

/* A regular file (or none yet) at `path`, not a link: temp file beside it, renamed over it. */
static int replace_file_atomically(const char *path, replace_file_write_fn write, void *arg,
                                   bool *stale_temps_swept) {
  /* "<dir>/.<base>.tmp-<pid>-XXXXXX" beside the file, so rename() stays in one filesystem and
   * a later run can tell a killed run's temp file from a live one's. */
  const char *slash = strrchr(path, '/');
  size_t directory_length = slash ? (size_t)(slash - path) : 0;
  const char *base = slash ? slash + 1 : path;
  char *directory = replace_file_directory_of(path);
  size_t temp_size = directory_length + strlen(base) + 48;
  char *temp = malloc(temp_size);
  int error = ENOMEM;
  if (directory && temp) {
    int dir_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int open_error = dir_fd < 0 ? errno : 0;
    if (dir_fd >= 0 && !(stale_temps_swept && *stale_temps_swept)) {
      replace_file_remove_stale_temps(dir_fd, replace_file_temp_pid, base);
      if (stale_temps_swept)
        *stale_temps_swept = true;
    }
    snprintf(temp, temp_size, "%.*s%s.%s.tmp-%ld-XXXXXX", (int)directory_length, path,
             slash ? "/" : "", base, (long)getpid());
    error = replace_file_via(path, temp, write, arg);
    /* Renamed: the new file is in place; only its durability is left to ensure. */
    if (!error)
      error = dir_fd >= 0 ? replace_file_sync_directory(dir_fd) : open_error;
    if (dir_fd >= 0)
      close(dir_fd);
  }
  free(directory);
  free(temp);
  return error;
}

/* A character device or a FIFO: written as a shell's ">" would, without creating, renaming
 * or syncing anything (a device cannot be replaced, and /dev/null must stay /dev/null). A FIFO
 * without a reader is ENXIO rather than a hang. 0, or an errno; -1 when `path` turned out to
 * be a regular file after all (replaced meanwhile): the caller replaces it atomically. */
static int replace_file_in_place(const char *path, replace_file_write_fn write, void *arg) {
  int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return errno;
  struct stat info;
  int flags = fcntl(fd, F_GETFL);
  int error = fstat(fd, &info) != 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0
                  ? errno
                  : 0;
  if (!error && S_ISREG(info.st_mode)) {
    close(fd);
    return -1;
  }
  FILE *file = error ? NULL : fdopen(fd, "w");
  if (!file) {
    error = error ? error : errno;
    close(fd);
    return error;
  }
  errno = 0;
  if (!write(file, arg) || fflush(file) != 0)
    error = errno ? errno : EIO;
  if (fclose(file) != 0 && !error)
    error = errno ? errno : EIO;
  return error;
}

int replace_file(const char *path, replace_file_write_fn write, void *arg,
                 bool *stale_temps_swept) {
  char *target = replace_file_target(path);
  if (!target)
    return -1;
  struct stat info;
  int error = 0;
  if (stat(target, &info) != 0) {
    error =
        errno == ENOENT ? replace_file_atomically(target, write, arg, stale_temps_swept) : errno;
  } else if (S_ISREG(info.st_mode)) {
    error = replace_file_atomically(target, write, arg, stale_temps_swept);
  } else if (S_ISCHR(info.st_mode) || S_ISFIFO(info.st_mode)) {
    error = replace_file_in_place(target, write, arg);
    if (error == -1)
      error = replace_file_atomically(target, write, arg, stale_temps_swept);
  } else {
    /* A directory, a socket, or a block device (whose content a summary would destroy). */
    error = S_ISDIR(info.st_mode) ? EISDIR : S_ISSOCK(info.st_mode) ? ENXIO : ENOTSUP;
  }
  free(target);
  if (error) {
    errno = error;
    return -1;
  }
  return 0;
}
