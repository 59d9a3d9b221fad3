/* -o: a body streamed to a temp file and renamed into place, every directory under the output
 * directory opened without following symbolic links. */
#include "afetch/download.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afetch/partial.h"
#include "afetch/replace_file.h"

#define DOWNLOAD_SWEPT_INITIAL_SLOTS 64

void download_init(struct download *download) { *download = (struct download){.fd = -1}; }

bool download_is_open(const struct download *download) { return download->fd >= 0; }

const char *download_strerror(int error) {
  if (error == DOWNLOAD_SYMLINK)
    return "a symbolic link under the -o directory (not followed)";
  return strerror(error);
}

/* mkdir -p of the output directory itself (named by the user: links in it are followed),
 * syncing the parent of each directory made when `durable`. 0 or an errno. */
static int download_make_root(const char *root, bool durable) {
  char *path = strdup(root);
  if (!path)
    return ENOMEM;
  int error = 0;
  size_t length = strlen(path);
  for (size_t end = 1; !error && end <= length; end++) {
    if (path[end] != '/' && path[end] != '\0')
      continue;
    char kept = path[end];
    path[end] = '\0';
    if (mkdir(path, 0777) != 0) {
      if (errno != EEXIST)
        error = errno;
    } else if (durable) {
      /* The parent is what precedes the last '/': "/" or "." when that is nothing. */
      char *slash = strrchr(path, '/');
      if (slash && slash != path)
        *slash = '\0';
      int fd = open(!slash ? "." : slash == path ? "/" : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      error = fd < 0 ? errno : replace_file_sync_directory(fd);
      if (fd >= 0)
        close(fd);
      if (slash)
        *slash = '/';
    }
    path[end] = kept;
  }
  free(path);
  return error;
}

/* ---- temp files that killed runs left ------------------------------------------------ */

/* The directories swept in this run, by device and inode: an open-addressing set shared by
 * the worker threads (under the mutex), so each directory is read once, when first written. */
struct download_swept_slot {
  dev_t device;
  ino_t inode;
  bool used;
};
static pthread_mutex_t download_swept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct download_swept_slot *download_swept_slots;
static size_t download_swept_slot_count, download_swept_used;

static struct download_swept_slot *download_swept_find(struct download_swept_slot *slots,
                                                       size_t count, dev_t device, ino_t inode) {
  size_t mask = count - 1;
  uint64_t hash = ((uint64_t)inode * UINT64_C(0x9e3779b97f4a7c15)) ^ (uint64_t)device;
  for (size_t i = (size_t)(hash >> 16) & mask;; i = (i + 1) & mask)
    if (!slots[i].used || (slots[i].device == device && slots[i].inode == inode))
      return &slots[i];
}

/* Adds the directory to the swept set: true when it was not there yet (or when out of memory:
 * then it is swept again next time, which is only slower). Caller holds the mutex. */
static bool download_swept_add(dev_t device, ino_t inode) {
  if ((download_swept_used + 1) * 2 > download_swept_slot_count) {
    size_t count =
        download_swept_slot_count ? download_swept_slot_count * 2 : DOWNLOAD_SWEPT_INITIAL_SLOTS;
    struct download_swept_slot *slots = calloc(count, sizeof *slots);
    if (!slots)
      return true;
    for (size_t i = 0; i < download_swept_slot_count; i++)
      if (download_swept_slots[i].used)
        *download_swept_find(slots, count, download_swept_slots[i].device,
                             download_swept_slots[i].inode) = download_swept_slots[i];
    free(download_swept_slots);
    download_swept_slots = slots;
    download_swept_slot_count = count;
  }
  struct download_swept_slot *slot =
      download_swept_find(download_swept_slots, download_swept_slot_count, device, inode);
  if (slot->used)
    return false;
  *slot = (struct download_swept_slot){.device = device, .inode = inode, .used = true};
  download_swept_used++;
  return true;
}

void download_forget_swept(void) {
  pthread_mutex_lock(&download_swept_lock);
  free(download_swept_slots);
  download_swept_slots = NULL;
  download_swept_slot_count = download_swept_used = 0;
  pthread_mutex_unlock(&download_swept_lock);
}

/* A temp name of ours, ".<name>.afetch-<pid>-<n>": true with the pid when `name` is one. */
static bool download_temp_pid(const char *name, const void *arg, pid_t *pid) {
  (void)arg;
  const char *marker = name[0] == '.' ? strstr(name + 1, ".afetch-") : NULL;
  if (!marker || marker == name + 1)
    return false;
  /* The name itself may hold ".afetch-": the digits follow the last one. */
  for (const char *next; (next = strstr(marker + 1, ".afetch-"));)
    marker = next;
  const char *digits = marker + strlen(".afetch-");
  const char *dash = strchr(digits, '-');
  if (!dash || !replace_file_parse_pid(digits, dash, pid))
    return false;
  const char *c = dash + 1;
  while (isdigit((unsigned char)*c))
    c++;
  return c != dash + 1 && *c == '\0';
}

/* Removes temp files of dead afetch runs from the directory, once per directory and run. */
static void download_sweep_once(int dir_fd) {
  struct stat info;
  if (fstat(dir_fd, &info) != 0)
    return;
  pthread_mutex_lock(&download_swept_lock);
  bool first = download_swept_add(info.st_dev, info.st_ino);
  pthread_mutex_unlock(&download_swept_lock);
  if (first)
    replace_file_remove_stale_temps(dir_fd, download_temp_pid, NULL);
}

/* ---- the path under the output directory --------------------------------------------- */

/* Opens the directory that holds the download's target, walking from the output directory one
 * name at a time with O_NOFOLLOW: a symbolic link (or anything not a directory) on the way
 * stops the walk, so nothing is written outside the output directory. With `create`, missing
 * directories are made (and with `durable` their parents fsync'd). 0 with *dir_fd_out and
 * *made_out (when not NULL: whether that last directory was just made), or an errno
 * (DOWNLOAD_SYMLINK for a link). */
static int download_open_parent(const struct download *download, bool create, bool durable,
                                int *dir_fd_out, bool *made_out) {
  bool made = false;
  int dir_fd = open(download->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 && errno == ENOENT && create) {
    int error = download_make_root(download->root, durable);
    if (error)
      return error;
    made = true;
    dir_fd = open(download->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (dir_fd < 0)
    return errno;
  const char *name = download->relative;
  for (const char *slash; (slash = strchr(name, '/')); name = slash + 1) {
    if (slash == name)
      continue;
    char segment[NAME_MAX + 1];
    size_t length = (size_t)(slash - name);
    if (length > NAME_MAX) {
      close(dir_fd);
      return ENAMETOOLONG;
    }
    memcpy(segment, name, length);
    segment[length] = '\0';
    int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = openat(dir_fd, segment, flags);
    made = false;
    if (next < 0 && errno == ENOENT && create) {
      /* mkdirat's own reason (EROFS, ENOSPC, EACCES...) is the one to report: the open that
       * would follow could only say ENOENT again. */
      int error = 0;
      made = mkdirat(dir_fd, segment, 0777) == 0;
      if (!made)
        error = errno == EEXIST ? 0 : errno;
      else if (durable)
        error = replace_file_sync_directory(dir_fd);
      if (error) {
        close(dir_fd);
        return error;
      }
      next = openat(dir_fd, segment, flags); /* made now, or by another thread (EEXIST) */
    }
    int error = errno;
    struct stat info;
    /* O_NOFOLLOW's ELOOP, or O_DIRECTORY's ENOTDIR for a link to a non-directory. */
    if (next < 0 && (error == ELOOP || error == ENOTDIR) &&
        fstatat(dir_fd, segment, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode))
      error = DOWNLOAD_SYMLINK;
    close(dir_fd);
    if (next < 0)
      return error;
    dir_fd = next;
  }
  *dir_fd_out = dir_fd;
  if (made_out)
    *made_out = made;
  return 0;
}

/* The target's own name: the part after the last '/'. */
static const char *download_base_name(const struct download *download) {
  const char *slash = strrchr(download->relative, '/');
  return slash ? slash + 1 : download->relative;
}

/* Temp names are unique per process (pid) and per download (a counter shared by threads). */
static atomic_uint_fast64_t download_counter;

/* Closes what the download holds and points it at `path`, below `root`. 0 or an errno. */
static int download_set_target(struct download *download, const char *root, const char *path) {
  download_discard(download);
  download->path = path;
  download->root = root;
  /* `path` is root + "/" + the relative name (scheduler.c): root's trailing '/'s, then the
   * '/'s that join them, are skipped. */
  size_t root_length = strlen(root);
  while (root_length > 1 && root[root_length - 1] == '/')
    root_length--;
  if (strncmp(path, root, root_length) != 0)
    return EINVAL;
  download->relative = path + root_length;
  while (*download->relative == '/')
    download->relative++;
  return *download_base_name(download) ? 0 : EISDIR;
}

/* The target's directory, made when missing and swept of killed runs' temp files. */
static int download_open_directory(struct download *download, bool durable, int *dir_fd) {
  bool made;
  int error = download_open_parent(download, true, durable, dir_fd, &made);
  /* A directory made just now holds no killed run's files: neither read nor added to the set
   * (which would otherwise grow with every new directory of a big mirror). */
  if (!error && !made)
    download_sweep_once(*dir_fd);
  return error;
}

int download_open(struct download *download, const char *root, const char *path, bool durable) {
  int error = download_set_target(download, root, path);
  if (error)
    return error;
  const char *base = download_base_name(download);
  int dir_fd;
  error = download_open_directory(download, durable, &dir_fd);
  if (error)
    return error;
  /* ".<base>.afetch-PID-N": hidden, beside its target (rename stays in one file system), and
   * recognisably ours, with the pid that tells a later run whether its writer is gone. Not
   * mkstemp(): its 0600 would ignore the umask that files saved by curl or wget get. */
  size_t size = strlen(base) + sizeof "..afetch--" + 2 * 20;
  char *temp = malloc(size);
  if (!temp) {
    close(dir_fd);
    return ENOMEM;
  }
  int fd = -1;
  do {
    snprintf(temp, size, ".%s.afetch-%ld-%llu", base, (long)getpid(),
             (unsigned long long)atomic_fetch_add(&download_counter, 1));
    fd = openat(dir_fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    error = fd < 0 ? errno : 0;
  } while (error == EEXIST); /* left by an earlier run with our pid: take the next number */
  close(dir_fd);
  if (error) {
    free(temp);
    return error;
  }
  download->temp_name = temp;
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

/* Puts a complete partial in place of the target. On failure it is removed: what could not
 * be renamed now would fail the same way next time. */
static int download_commit_partial(struct download *download, bool durable) {
  int error = durable && fsync(download->fd) != 0 ? errno : 0;
  int dir_fd = -1;
  if (!error)
    error = download_open_parent(download, false, false, &dir_fd, NULL);
  if (!error)
    error = partial_complete(dir_fd, download_base_name(download));
  if (!error && durable)
    error = replace_file_sync_directory(dir_fd);
  if (dir_fd >= 0)
    close(dir_fd);
  if (error)
    download_drop_partial(download);
  /* Closed after the rename, so the lock covers it; close()'s own error is reported. */
  if (download->fd >= 0 && close(download->fd) != 0 && !error)
    error = errno;
  download->fd = -1;
  download_discard(download);
  return error;
}

/* Removes the temp file, found again by the same walk. */
static void download_remove_temp(struct download *download) {
  int dir_fd;
  if (download_open_parent(download, false, false, &dir_fd, NULL) == 0) {
    unlinkat(dir_fd, download->temp_name, 0);
    close(dir_fd);
  }
  free(download->temp_name);
  download->temp_name = NULL;
}

int download_commit(struct download *download, bool durable) {
  if (download->partial)
    return download_commit_partial(download, durable);
  int error = 0;
  if (durable && fsync(download->fd) != 0)
    error = errno;
  /* close() reports delayed write errors (NFS, quotas): the file is only good if it works. */
  if (close(download->fd) != 0 && !error)
    error = errno;
  download->fd = -1;
  /* The directory is walked to again rather than kept open through the transfer (a
   * descriptor per download more), which also checks that no link was planted meanwhile. */
  int dir_fd = -1;
  if (!error)
    error = download_open_parent(download, false, false, &dir_fd, NULL);
  if (!error && renameat(dir_fd, download->temp_name, dir_fd, download_base_name(download)) != 0)
    error = errno;
  if (!error && durable)
    error = replace_file_sync_directory(dir_fd);
  if (dir_fd >= 0)
    close(dir_fd);
  if (error)
    download_remove_temp(download);
  free(download->temp_name);
  download->temp_name = NULL;
  return error;
}

void download_discard(struct download *download) {
  if (download->fd >= 0) {
    close(download->fd); /* a partial's lock goes with it; its files stay */
    download->fd = -1;
  }
  if (download->temp_name)
    download_remove_temp(download);
  download->partial = false;
  download->partial_length = 0;
  free(download->if_range);
  download->if_range = NULL;
}

/* ---- resuming --------------------------------------------------------------------------- */

bool download_find_partial(struct download *download, const char *root, const char *path,
                           const char *url) {
  int dir_fd;
  if (download_set_target(download, root, path) != 0 ||
      download_open_parent(download, false, false, &dir_fd, NULL) != 0)
    return false; /* no directory yet, no partial */
  struct partial_found found;
  bool kept = partial_find(dir_fd, download_base_name(download), url, &found);
  close(dir_fd);
  if (kept) {
    download->fd = found.fd;
    download->partial = true;
    download->partial_length = found.length;
    download->if_range = found.if_range;
  }
  return kept;
}

int download_open_partial(struct download *download, const char *root, const char *path,
                          const char *url, const char *if_range, bool durable) {
  int found_fd = -1;
  if (download->partial && download->path == path) { /* the one found: reused, emptied */
    found_fd = download->fd;
    download->fd = -1;
  }
  download_discard(download);
  int dir_fd, fd = -1;
  int error = download_set_target(download, root, path);
  if (!error && !(error = download_open_directory(download, durable, &dir_fd))) {
    error =
        partial_start(dir_fd, download_base_name(download), found_fd, url, if_range, durable, &fd);
    found_fd = -1; /* partial_start() took it */
    close(dir_fd);
  }
  if (found_fd >= 0)
    close(found_fd);
  if (error) /* no partial to be had: saved as any other body */
    return download_open(download, root, path, durable);
  download->fd = fd;
  download->partial = true;
  return 0;
}

int download_continue(struct download *download) {
  off_t end = (off_t)download->partial_length;
  return lseek(download->fd, end, SEEK_SET) == end ? 0 : errno;
}

int download_read_kept(struct download *download,
                       void (*each)(void *arg, const void *bytes, size_t count), void *arg) {
  char piece[16 * 1024];
  for (uint64_t at = 0; at < download->partial_length;) {
    uint64_t left = download->partial_length - at;
    ssize_t count =
        pread(download->fd, piece, left < sizeof piece ? (size_t)left : sizeof piece, (off_t)at);
    if (count < 0 && errno == EINTR)
      continue;
    if (count <= 0)
      return count < 0 ? errno : EIO; /* shorter than it was found: someone cut it */
    each(arg, piece, (size_t)count);
    at += (uint64_t)count;
  }
  return 0;
}

void download_drop_partial(struct download *download) {
  if (!download->partial)
    return;
  int dir_fd;
  /* Removed while still locked: no other run takes it up in between. */
  if (download_open_parent(download, false, false, &dir_fd, NULL) == 0) {
    partial_remove(dir_fd, download_base_name(download));
    close(dir_fd);
  }
  download_discard(download);
}
