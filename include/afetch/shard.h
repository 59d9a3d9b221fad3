/* --shard K/N: which input lines this run takes, so that N runs on N machines split one input
 * between them, each line to exactly one run. Pure functions: nothing here reads input.
 *
 * The split (docs/afetch.1, SHARDING, has the test vectors; tests/unit/test_shard.c checks
 * them), reproducible by any tool:
 * - by host (the default): a line whose URL has a host goes to shard
 *     jump(XXH3_64bits(host), N) + 1
 *   where host is the URL's host name as curl's URL parser returns it (CURLUPART_HOST: IPv4
 *   in dotted form, IPv6 in brackets), ASCII letters lower-cased; XXH3_64bits with seed 0;
 *   jump() is Lamping and Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent
 *   Hash Algorithm", 2014), which moves only 1/(N+1) of the hosts when N grows by one.
 *   The host name only, not --per-host's scheme+host+port: http and https (and every port) of
 *   a host are one server to be polite to, and a host name is all another tool needs.
 * - a line that is no usable request or whose URL curl cannot parse (an invalid_input or
 *   invalid_url result), and every line with --shard-by line: shard index % N + 1, where
 *   index is the line's result "index" (0-based among URL lines). */
#ifndef AFETCH_SHARD_H
#define AFETCH_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most shards: Kubernetes allows 100000 completions to an Indexed Job, Slurm arrays stay
 * below its MaxArraySize; a million leaves room and keeps N well inside jump()'s int32. */
#define SHARD_MAX_COUNT 1000000u

enum shard_by {
  SHARD_BY_UNSET, /* --shard-by not given: by host */
  SHARD_BY_HOST,
  SHARD_BY_LINE,
};

struct shard_spec {
  unsigned index; /* K, from 1 to count */
  unsigned count; /* N; 0: no sharding, every line is taken */
  enum shard_by by;
};

/* The environment as shard_parse() reads it: getenv in the program, a table in the tests. */
typedef char *(*shard_getenv_fn)(const char *name);

/* Reads --shard's value into spec->index and spec->count (spec->by is left alone): "K/N"
 * with 1 <= K <= N <= SHARD_MAX_COUNT, or "env":
 * - JOB_COMPLETION_INDEX set (a Kubernetes Indexed Job, 0-based): K = it + 1, N from
 *   AFETCH_SHARD_COUNT (Kubernetes does not tell a pod the Job's completions);
 * - else SLURM_ARRAY_TASK_ID set (a Slurm job array): K = it - SLURM_ARRAY_TASK_MIN + 1,
 *   N = SLURM_ARRAY_TASK_COUNT (an array of consecutive IDs: --array=0-7 or 1-8, no step).
 * False, with a message (no "afetch: " prefix) in errbuf, when the value or a variable is
 * missing or out of range; nothing is written then. */
bool shard_parse(const char *value, shard_getenv_fn lookup, struct shard_spec *spec, char *errbuf,
                 size_t errbuf_size);

/* Lamping and Veach's jump consistent hash: the bucket (0..count-1) of key; count >= 1. */
unsigned shard_jump(uint64_t key, unsigned count);

/* The shard (1..count) of a host name, given exactly as hashed (lower case already). */
unsigned shard_of_host(const char *host, size_t length, unsigned count);

/* The shard (1..count) of a line by its index. */
unsigned shard_of_line(uint64_t index, unsigned count);

/* The shard (1..count) of the line with this index and URL (NULL: the line is no usable
 * request), by the rules above. */
unsigned shard_of(const struct shard_spec *spec, const char *url, uint64_t index);

/* True when the line belongs to this run (always, without sharding). */
bool shard_takes(const struct shard_spec *spec, const char *url, uint64_t index);

/* True when this run fetches a URL a crawl found: its host is this shard's (by host), or
 * always without sharding. A URL curl cannot parse is not taken. */
bool shard_takes_link(const struct shard_spec *spec, const char *url);

#endif
