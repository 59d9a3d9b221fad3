/* Replacing a small file atomically (the --if-changed state, --stats-json): written to a
 * temp file beside it (".<name>.tmp-XXXXXX"), fsync'd, renamed over it, its directory
 * fsync'd. A reader, or a crash, sees the old file or the new one, never a mix. */
#ifndef AFETCH_REPLACE_FILE_H
#define AFETCH_REPLACE_FILE_H

#include <stdbool.h>
#include <stdio.h>

/* Writes the new content; false when a write failed (errno set). */
typedef bool (*replace_file_write_fn)(FILE *file, void *arg);

/* Replaces `path` with what `write` puts in the file. The new file keeps the old one's mode,
 * or gets 0666 less the umask. 0, or -1 with errno set: then the old file is untouched (unless
 * only the final directory fsync failed: the new file is in place) and no temp file is left. */
int replace_file(const char *path, replace_file_write_fn write, void *arg);

/* fsync of the directory holding `path`, so that a rename into it is on disk. Filesystems that
 * cannot sync a directory (EINVAL) count as done. 0, or an errno value. */
int replace_file_sync_directory_of(const char *path);

#endif
