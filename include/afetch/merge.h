/* afetch --merge FILE...: the results in FILEs (journals, --ndjson outputs of shards or runs,
 * afetch's JSON arrays) as one JSON array in index order (or --ndjson lines), each index once.
 *
 * Streaming, memory flat in the input size: a first pass checks every line (a result object
 * with a whole-number "index"; a journal's header and an array's "[", "]" and "," framing are
 * passed over) and whether each FILE is in index order. Sorted FILEs are merged as they are
 * (a k-way merge); otherwise sorted runs of at most AFETCH_MERGE_RUN_BYTES (default 64 MiB)
 * are written to temp files in $TMPDIR (removed at once, kept open) and merged. The same index
 * twice: the first (in FILE order, then line order) is kept, and a warning says how many were
 * dropped. A bad line: a message naming FILE and line, exit 2, nothing written. */
#ifndef AFETCH_MERGE_H
#define AFETCH_MERGE_H

struct afetch_options;

/* Merges options->inputs (FILEs) to stdout in options->output_mode: the exit status (0; 2
 * for a bad or unreadable FILE; 3 when stdout or a temp file cannot be written). */
int merge_run(const struct afetch_options *options);

#endif
