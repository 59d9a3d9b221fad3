/* -o: a body streamed to a temp file and renamed into place. */
#include "afetch/download.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afetch/replace_file.h"

void download_init(struct download *download) { *download = (struct download){.fd = -1}; }

bool download_is_open(const struct download *download) { return download->fd >= 0; }

/* mkdir -p for every directory above `path` (its last segment is the file). */
static int download_make_parents(char *path) {
  for (char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    int failed = mkdir(path, 0777) != 0 && errno != EEXIST;
    int error = errno;
    *slash = '/';
    if (failed)
      return error;
  }
  return 0;
}

/* Temp names are unique per process (pid) and per download (a counter shared by threads). */
static atomic_uint_fast64_t download_counter;

int download_open(struct download *download, const char *path) {
  download_discard(download);
  download->path = path;
  const char *slash = strrchr(path, '/');
  size_t dir_length = slash ? (size_t)(slash - path + 1) : 0;
  const char *base = path + dir_length;
  /* "<dir>/.<base>.afetch-PID-N": hidden, beside its target (rename stays in one file
   * system), and recognisably ours if a crash ever leaves one. Not mkstemp(): its 0600 would
   * ignore the umask that files saved by curl or wget get. */
  size_t size = strlen(path) + sizeof "/..afetch--" + 2 * 20;
  char *temp = malloc(size);
  if (!temp)
    return ENOMEM;
  int error = 0, fd = -1;
  do {
    snprintf(temp, size, "%.*s.%s.afetch-%ld-%llu", (int)dir_length, path, base, (long)getpid(),
             (unsigned long long)atomic_fetch_add(&download_counter, 1));
    fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    error = fd < 0 ? errno : 0;
    /* The directories usually exist already: make them only when the open says they
     * do not (one failed open instead of a mkdir per level and file). */
    if (error == ENOENT && !(error = download_make_parents(temp))) {
      fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      error = fd < 0 ? errno : 0;
    }
  } while (error == EEXIST); /* left by an earlier run with our pid: take the next number */
  if (error) {
    free(temp);
    return error;
  }
  download->temp_path = temp;
  download->fd = fd;
  return 0;
}

int download_write(struct download *download, const void *bytes, size_t count) {
  const char *at = bytes;
  while (count > 0) {
    ssize_t written = write(download->fd, at, count);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    at += written;
    count -= (size_t)written;
  }
  return 0;
}

int download_commit(struct download *download, bool durable) {
  int error = 0;
  if (durable && fsync(download->fd) != 0)
    error = errno;
  /* close() reports delayed write errors (NFS, quotas): the file is only good if it works. */
  if (close(download->fd) != 0 && !error)
    error = errno;
  download->fd = -1;
  if (!error && rename(download->temp_path, download->path) != 0)
    error = errno;
  if (!error && durable)
    error = replace_file_sync_directory_of(download->path);
  if (error && download->temp_path)
    unlink(download->temp_path);
  free(download->temp_path);
  download->temp_path = NULL;
  return error;
}

void download_discard(struct download *download) {
  if (download->fd >= 0) {
    close(download->fd);
    download->fd = -1;
  }
  if (download->temp_path) {
    unlink(download->temp_path);
    free(download->temp_path);
    download->temp_path = NULL;
  }
}
