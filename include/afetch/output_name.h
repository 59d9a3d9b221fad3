/* -o: where a URL's body is saved, as a path relative to the output directory, and the
 * names claimed in this run (so two URLs never write one file). */
#ifndef AFETCH_OUTPUT_NAME_H
#define AFETCH_OUTPUT_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest relative name written (bytes, without the NUL). */
#define OUTPUT_NAME_MAX 1024

/* Writes the relative file name for `url` into `name` (NUL-terminated, at most
 * OUTPUT_NAME_MAX bytes; the caller owns the buffer). `template` NULL is the default layout
 * "{host}/{path}"; `index` fills {index}. The URL's parts come from curl's URL API:
 *   {host}     host lower-cased, "_port" appended when the port is not the scheme's default
 *   {path}     the path's segments sanitised (see below); "index.html" for an empty path or a
 *              trailing "/"; a non-empty query adds "-" + 8 hex digits of its hash before the
 *              last segment's extension (from its last '.', unless that is its first byte)
 *   {name}     the last segment of {path}
 *   {index}    `index` in decimal
 *   {url_hash} 16 hex digits of the 64-bit FNV-1a hash of `url` as given
 * Other text, unknown "{...}" included, is literal. The expanded name is then sanitised
 * segment by segment: empty, "." and ".." segments are dropped; control bytes, DEL,
 * backslash and bytes >= 0x80 become "%XX" ('%' already there stays); a segment longer than
 * 200 bytes keeps 191 bytes + "-" + 8 hex digits of its hash; nothing left is "index.html".
 * A name longer than OUTPUT_NAME_MAX is cut and gets "-" + 16 hex digits of the whole name's
 * hash. So the name is relative, has no "." / ".." / empty segment, no control byte, and no
 * segment over 200 bytes. "8 hex digits" is 64-bit FNV-1a folded to 32 bits (high ^ low).
 * The FNV-1a digits are fixed by the CLI contract (hash_fnv1a64()): names stay the same from
 * one version to the next.
 * False when curl's URL parser rejects the URL (raw control bytes or spaces, for one), when
 * out of memory, or when the name does not fit in name_size. */
bool output_name_for_url(const char *url, const char *template, uint64_t index, char *name,
                         size_t name_size);

/* Names claimed in this run: a 16-byte hash table slot per claimed name (two 64-bit
 * fingerprints, hash_table.h). */
struct output_names;

/* An empty set; the caller frees it with output_names_free. NULL when out of memory. */
struct output_names *output_names_new(void);

/* Claims `name` (in place, in a buffer of name_size) for `url`. The same URL may claim its
 * name again (a repeated line overwrites its own file). A name another URL claimed earlier
 * gets a "-2", "-3", ... suffix before its extension (at the end when it has none) until it
 * is free or already this URL's; the last segment is shortened to stay within 200 bytes.
 * Names and URLs are compared by 64-bit fingerprints. False when out of memory or the
 * suffixed name does not fit (name_size or OUTPUT_NAME_MAX); `name` is then unchanged. */
bool output_names_claim(struct output_names *names, const char *url, char *name, size_t name_size);

void output_names_free(struct output_names *names);

#endif
