/* The open-file budget: how many descriptors a run at -c needs (connections, the workers'
 * own, files being saved, spares), lowering -c to what the hard limit allows and raising the
 * soft limit to what the connection cache wants; and how -c is split between workers. */
#ifndef AFETCH_OPEN_FILES_H
#define AFETCH_OPEN_FILES_H

struct afetch_options;

/* Workers for -c `concurrency` on `threads` event loops: at most one per transfer. */
unsigned open_files_worker_count(unsigned concurrency, unsigned threads);

/* Worker i's part of `total` split as evenly as can be between `parts` workers. */
unsigned open_files_worker_part(unsigned total, unsigned parts, unsigned i);

/* Before anything is sized by -c: lowers options->concurrency to what the hard open-file
 * limit (RLIMIT_NOFILE) leaves room for (a connection per transfer, its file with -o, the
 * workers' own descriptors and spares), and resolves --threads auto (0) for `usable_cpus`.
 * Returns the hard limit when it lowered -c, else 0. */
unsigned long open_files_fit(struct afetch_options *options, unsigned usable_cpus);

/* How many connections the run may keep open, busy or idle: one socket per transfer, and as
 * many again for idle keep-alive connections, so that with many hosts the next URL's host
 * often still has one. Raises the descriptor limit to match, plus the descriptors reserved
 * for other things, as far as the hard limit allows; never fewer than -c (open_files_fit
 * lowered -c to fit). When even -c connections do not fit, *short_of is the number of
 * descriptors -c needs and *limit the limit (else both 0). */
unsigned open_files_connection_budget(const struct afetch_options *options, unsigned long *short_of,
                                      unsigned long *limit);

#endif
