/* The open-file budget: descriptors per run, -c fitted to the hard limit, the soft limit
 * raised for the connection cache. */
#include "afetch/open_files.h"

#include <sys/resource.h>

#include "afetch/cli.h"
#include "afetch/options.h"
#include "afetch/worker.h"

/* Descriptors we may need beyond connections and the workers' own (worker_descriptors):
 * stdio, input files, the main event base, a file being downloaded, spares. */
#define OPEN_FILES_SPARE 64

unsigned open_files_worker_count(unsigned concurrency, unsigned threads) {
  unsigned count = threads < concurrency ? threads : concurrency;
  return count ? count : 1;
}

unsigned open_files_worker_part(unsigned total, unsigned parts, unsigned i) {
  return total / parts + (i < total % parts);
}

/* Descriptors the workers of such a run keep open besides their connections. */
static unsigned open_files_of_workers(unsigned concurrency, unsigned threads) {
  unsigned count = open_files_worker_count(concurrency, threads);
  unsigned fds = 0;
  for (unsigned i = 0; i < count; i++)
    fds += worker_descriptors(open_files_worker_part(concurrency, count, i), threads > 1);
  return fds;
}

/* Descriptors a run at this -c needs beyond one connection per transfer: the workers', a
 * file per transfer that saves its body (-o), and the spares. */
static rlim_t open_files_reserved(const struct afetch_options *options, unsigned concurrency,
                                  unsigned threads) {
  return (rlim_t)open_files_of_workers(concurrency, threads) + OPEN_FILES_SPARE +
         (options->output_dir ? (rlim_t)concurrency : 0);
}

unsigned long open_files_fit(struct afetch_options *options, unsigned usable_cpus) {
  unsigned fixed_threads = options->threads;
  struct rlimit limit;
  unsigned fitting = options->concurrency;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max != RLIM_INFINITY) {
    /* What -c needs grows with -c (threads and shards included): the largest that fits. */
    unsigned low = 1, high = options->concurrency;
    while (low < high) {
      unsigned middle = low + (high - low + 1) / 2;
      unsigned threads = fixed_threads ? fixed_threads : cli_auto_threads(middle, usable_cpus);
      if ((rlim_t)middle + open_files_reserved(options, middle, threads) <= limit.rlim_max)
        low = middle;
      else
        high = middle - 1;
    }
    fitting = low;
  }
  bool lowered = fitting < options->concurrency;
  options->concurrency = fitting;
  if (!fixed_threads)
    options->threads = cli_auto_threads(fitting, usable_cpus);
  return lowered ? (unsigned long)limit.rlim_max : 0;
}

unsigned open_files_connection_budget(const struct afetch_options *options, unsigned long *short_of,
                                      unsigned long *limit_now) {
  *short_of = *limit_now = 0;
  unsigned concurrency = options->concurrency;
  rlim_t reserved = open_files_reserved(options, concurrency, options->threads);
  rlim_t wanted = 2 * (rlim_t)concurrency + reserved;
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return concurrency;
  if (limit.rlim_cur < wanted) {
    rlim_t previous = limit.rlim_cur;
    limit.rlim_cur =
        limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= wanted ? wanted : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
      limit.rlim_cur = previous;
  }
  if (limit.rlim_cur < (rlim_t)concurrency + reserved) {
    *limit_now = (unsigned long)limit.rlim_cur;
    *short_of = (unsigned long)(concurrency + reserved);
    return concurrency;
  }
  rlim_t budget = limit.rlim_cur - reserved;
  return budget >= 2 * (rlim_t)concurrency ? 2 * concurrency : (unsigned)budget;
}
