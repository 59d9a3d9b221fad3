/* -o: one body saved atomically. Bytes go to a temp file next to the target
 * (".<name>.afetch-PID-N"), which is renamed over the target only once the transfer is
 * complete and ok; otherwise it is removed, and an older file stays as it was. */
#ifndef AFETCH_DOWNLOAD_H
#define AFETCH_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>

struct download {
  const char *path; /* the target, borrowed */
  char *temp_path;  /* owned while open */
  int fd;           /* -1 when closed */
};

void download_init(struct download *download);

/* Creates the target's directories and the temp file. 0, or an errno value. */
int download_open(struct download *download, const char *path);

bool download_is_open(const struct download *download);

/* Appends bytes. 0, or an errno value (ENOSPC, EFBIG, EIO...). */
int download_write(struct download *download, const void *bytes, size_t count);

/* Closes the temp file and renames it over the target (with fsync of the file and then of
 * the directory when `durable`). 0, or an errno value: then nothing was replaced and the
 * temp file is gone. */
int download_commit(struct download *download, bool durable);

/* Closes and removes the temp file, if any. */
void download_discard(struct download *download);

#endif
