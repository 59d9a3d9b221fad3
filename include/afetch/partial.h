/* -o: the resumable part of a download, kept between tries and between runs. Beside the
 * target NAME, in its directory:
 *
 *   .NAME.afetch-part        the body's first bytes, exactly as they arrived
 *   .NAME.afetch-part.json   {"afetch_partial":1,"url":URL,"if_range":VALIDATOR}
 *
 * The sidecar says whose bytes the partial holds: the URL as fetched and the response's
 * validator (a strong ETag, else its Last-Modified), sent back as If-Range. It is removed
 * before a partial is emptied for another response and written before its first byte, so a
 * partial is only ever continued for the URL and validator its bytes came with; a sidecar cut
 * short by a kill does not parse, and its partial is not used.
 *
 * Every name is opened relative to the target's directory (opened without following links,
 * download.c) with O_NOFOLLOW; only a regular file with a single link is read or written, so a
 * symbolic or hard link planted there leads nowhere. An exclusive flock(2) on the partial,
 * held while a transfer uses it, keeps a second afetch run off it (that run saves through a
 * temp file instead). These names are not the pid-named temp files a later run sweeps away:
 * a partial stays until its download completes, or a response makes it useless. */
#ifndef AFETCH_PARTIAL_H
#define AFETCH_PARTIAL_H

#include <stdbool.h>
#include <stdint.h>

/* A partial found for a URL. */
struct partial_found {
  int fd;          /* open read-write and locked; -1: none */
  uint64_t length; /* bytes it holds (> 0) */
  char *if_range;  /* the validator of those bytes, owned */
};

/* Looks in dir_fd for the partial of `url` saved for the target `base`. True with *found
 * filled when there is one (non-empty, its sidecar naming exactly `url`, not locked by another
 * process); false otherwise, *found then holding nothing. */
bool partial_find(int dir_fd, const char *base, const char *url, struct partial_found *found);

/* Makes the partial ready for a response's body from byte 0: the sidecar naming `url` and
 * `if_range`, the partial empty, open and locked. `fd` is the partial found for this target
 * (partial_find), reused, or -1 to open (create) it. 0 with *fd_out, or an errno: then no
 * partial is left for the target and `fd` is closed. */
int partial_start(int dir_fd, const char *base, int fd, const char *url, const char *if_range,
                  bool durable, int *fd_out);

/* Renames the complete partial over `base` and removes its sidecar. 0 or an errno. */
int partial_complete(int dir_fd, const char *base);

/* Removes the partial and its sidecar (best effort). */
void partial_remove(int dir_fd, const char *base);

#endif
