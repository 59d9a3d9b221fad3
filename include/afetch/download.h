/* -o: one body saved atomically. Bytes go to a temp file next to the target
 * (".<name>.afetch-PID-N"), which is renamed over the target only once the transfer is
 * complete and ok; otherwise it is removed, and an older file stays as it was.
 *
 * Below the output directory nothing is followed: every directory on the way is opened with
 * O_NOFOLLOW from its parent (made when missing), so a symbolic link planted there cannot send
 * a file elsewhere. The first time a run writes into a directory it did not make, it removes
 * the temp files that killed runs left there (their pid is no process's). Safe to use from
 * several threads. */
#ifndef AFETCH_DOWNLOAD_H
#define AFETCH_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The error for a symbolic link (or a link to a non-directory) found under the output
 * directory: negative, so no errno value. download_strerror() says what it is. */
#define DOWNLOAD_SYMLINK (-1)

struct download {
  const char *path;     /* the target, borrowed */
  const char *root;     /* the output directory, borrowed */
  const char *relative; /* the target below root: points into path */
  char *temp_name;      /* the temp file's name in the target's directory; owned while open */
  int fd;               /* -1 when closed */
  /* A resumable download writes the target's partial (partial.h) instead of a temp file. */
  bool partial;            /* fd is the partial: kept when the download stops unfinished */
  uint64_t partial_length; /* bytes it held when found (download_find_partial), else 0 */
  char *if_range;          /* their validator, owned; NULL when none was found */
};

void download_init(struct download *download);

/* Opens a temp file for `path`, which is `root` (the -o directory, whose own links are
 * followed) + "/" + a relative name. Makes the missing directories (with `durable`, fsyncs the
 * parent of each one made). 0, or an errno value, or DOWNLOAD_SYMLINK. */
int download_open(struct download *download, const char *root, const char *path, bool durable);

bool download_is_open(const struct download *download);

/* Appends bytes. 0, or an errno value (ENOSPC, EFBIG, EIO...). */
int download_write(struct download *download, const void *bytes, size_t count);

/* Closes the temp file and renames it over the target (with fsync of the file and then of
 * the directory when `durable`). 0, or an errno value, or DOWNLOAD_SYMLINK: then nothing was
 * replaced and the temp file is gone. */
int download_commit(struct download *download, bool durable);

/* Closes the file: a temp file is removed, a partial kept for the next try or run. */
void download_discard(struct download *download);

/* ---- resuming (partial.h) ---- */

/* Before a transfer to `path` (under `root`, as download_open): looks for the partial that an
 * earlier try or run kept for `url`. True when there is one: it is open and locked, holding
 * partial_length bytes of the response if_range names. */
bool download_find_partial(struct download *download, const char *root, const char *path,
                           const char *url);

/* download_open() for a response from byte 0 that a later try may continue: its bytes go to
 * the target's partial, tied to `url` and `if_range` (the partial found is emptied). When the
 * partial cannot be had (another run holds it, something not ours sits at its name), a temp
 * file as download_open() gives. 0 or an errno. */
int download_open_partial(struct download *download, const char *root, const char *path,
                          const char *url, const char *if_range, bool durable);

/* The partial found goes on: bytes are appended after its partial_length. 0 or an errno. */
int download_continue(struct download *download);

/* Hands the partial's first partial_length bytes to `each`, a piece at a time (--sha256 of the
 * whole file). 0 or an errno. */
int download_read_kept(struct download *download,
                       void (*each)(void *arg, const void *bytes, size_t count), void *arg);

/* Removes the partial (found or being written) and its sidecar: its bytes are of no use. */
void download_drop_partial(struct download *download);

/* The text for an error of download_open() or download_commit(). */
const char *download_strerror(int error);

/* Forgets which directories were swept of stale temp files (and frees that set), so the next
 * download into each sweeps it again: for tests. */
void download_forget_swept(void);

#endif
