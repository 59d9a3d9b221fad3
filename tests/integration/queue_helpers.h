/* The queue tests' helpers (test_queue.c): a real redis-server, --enqueue, workers. */
#ifndef AFETCH_TESTS_QUEUE_HELPERS_H
#define AFETCH_TESTS_QUEUE_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "harness.h"

struct h_proc;

struct redis {
  struct h_proc *proc;
  int port;
  const char *url;
};

/* A worker writing its results to a file of its own (so that no worker waits on a pipe the
 * test is not reading). */
struct worker {
  struct h_proc *proc;
  const char *output;
};

struct lines_wait {
  const struct worker *worker;
  size_t lines;
};

/* `full`, or a fifth of it in the inline and threaded runs. */
size_t queue_urls(size_t full);
/* A redis-server on `port` (dir: with an append-only file there), ready for commands. */
struct redis start_redis_on(int port, const char *dir);
struct redis start_redis(void);
/* redis-cli's answer (raw) to one command (NULL-terminated words). */
const char *redis_cli(const struct redis *redis, const char *const *command);
/* Lines /delay/MS?i=N for N in 0..count-1. */
const char *numbered_urls(int port, size_t count, int delay_ms);
/* --status's figure `key`. */
double queue_figure(const struct redis *redis, const char *key);
/* --enqueue of `input`, which must say `said`. */
void enqueue(const struct redis *redis, const char *input, const char *said);
/* A worker with `extra` options (NULL-terminated). */
struct worker start_worker(const struct redis *redis, const char *const *extra);
size_t output_lines(const struct worker *worker);
/* h_wait_for() condition: a lines_wait's worker wrote that many lines. */
bool has_lines(void *arg);
/* Counts the workers' results by index into `seen` (`count` entries), checking each URL is
 * the one numbered_urls() gave that index (and, with `ok`, that it is ok): how many. */
size_t tally(const struct worker *workers, size_t worker_count, unsigned *seen, size_t count,
             int port, bool ok);
/* The union of the workers' results (each exits with `exit_code`); a URL fetched twice
 * fails the test. The caller deletes it. */
cJSON *results_once(const struct worker *workers, size_t count, int exit_code);
/* The final URLs of a run's ok results, each once, sorted, one a line. */
const char *final_urls(cJSON *results);

#endif
