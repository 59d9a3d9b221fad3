/* Replacing a small file (the --if-changed state, --stats-json) without clobbering what is not
 * ours. A regular file (or a missing one) is replaced atomically: written to a temp file beside
 * it (".<name>.tmp-<pid>-XXXXXX"), fsync'd, renamed over it, its directory fsync'd; a reader,
 * or a crash, sees the old file or the new one, never a mix. A symbolic link is followed and its
 * final target replaced that way (the link stays). A character device (/dev/null) or a FIFO is
 * written in place, as a shell's ">" would. */
#ifndef AFETCH_REPLACE_FILE_H
#define AFETCH_REPLACE_FILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* Writes the new content; false when a write failed (errno set). */
typedef bool (*replace_file_write_fn)(FILE *file, void *arg);

/* Replaces `path` with what `write` puts in the file. The new file keeps the old one's mode,
 * or gets 0666 less the umask. Before that, temp files of this name left by killed runs (their
 * pid is no process's) are removed, unless *stale_temps_swept says that was done already in
 * this run (it is then set; NULL: every time): a file saved again and again scans its
 * directory once. 0, or -1 with errno set: then the old file is untouched
 * (unless only the final directory fsync failed: the new file is in place) and no temp file is
 * left. errno EISDIR for a directory, ENXIO for a socket or a FIFO without a reader, ENOTSUP
 * for a block device (never written); a device's own write error as it comes (ENOSPC from
 * /dev/full). */
int replace_file(const char *path, replace_file_write_fn write, void *arg, bool *stale_temps_swept);

/* Where replace_file() writes for `path`: its symbolic links followed (a dangling link's
 * target, which is then created). Owned; NULL with errno set (ELOOP, ENOMEM...). */
char *replace_file_target(const char *path);

/* ---- shared with download.c's temp files (-o) -------------------------------------- */

/* Says whether `name` is a temp file name of one kind (arg: what that kind needs to know), and
 * then whose: the pid of the process that writes it. */
typedef bool (*replace_file_temp_pid_fn)(const char *name, const void *arg, pid_t *pid);

/* Removes from the open directory the temp files that `temp_pid` recognises whose writer is
 * gone: no process has their pid (kill() says ESRCH; EPERM is another user's live process).
 * This process's own are kept. Best effort: errors are ignored. */
void replace_file_remove_stale_temps(int dir_fd, replace_file_temp_pid_fn temp_pid,
                                     const void *arg);

/* The decimal pid that is all of [digits, end): true with *pid when it is one (positive, no
 * sign, no overflow). */
bool replace_file_parse_pid(const char *digits, const char *end, pid_t *pid);

/* fsync of an open directory; file systems that cannot sync one (EINVAL) count as done. 0 or
 * an errno. */
int replace_file_sync_directory(int dir_fd);

#endif
