/* The --redis tests' helpers (test_queue.c), shared with test_queue_failures.c. */
#ifndef QUEUE_HELPERS_H
#define QUEUE_HELPERS_H

#include "harness.h"

struct redis {
  struct h_proc *proc;
  int port;
  const char *url;
};

/* A worker writing its results to a file of its own (so that no worker waits on a pipe the
 * test is not reading), with `extra` options. */
struct worker {
  struct h_proc *proc;
  const char *output;
};

/* A redis-server on a free port, without persistence, ready for commands. */
struct redis start_redis(void);
/* redis-cli's answer (raw, one value a line) to one command (NULL-terminated). */
const char *redis_cli(const struct redis *redis, const char *const *command);
/* --status's figure `key`. */
double queue_figure(const struct redis *redis, const char *key);
/* --enqueue of `input`; its message must contain `said`. */
void enqueue(const struct redis *redis, const char *input, const char *said);
struct worker start_worker(const struct redis *redis, const char *const *extra);

#endif
