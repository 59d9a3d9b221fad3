/* --shard: the split of the input between runs (shard.h has the rules). */
#include "afetch/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <xxhash.h>

#include "afetch/url.h"

/* A whole number in [min, max] written with decimal digits only (no sign, no blanks). */
static bool shard_read_number(const char *text, size_t length, unsigned long min, unsigned long max,
                              unsigned long *number) {
  if (length == 0 || length > 10 || strspn(text, "0123456789") < length)
    return false;
  char digits[11];
  memcpy(digits, text, length);
  digits[length] = '\0';
  errno = 0;
  unsigned long value = strtoul(digits, NULL, 10);
  if (errno || value < min || value > max)
    return false;
  *number = value;
  return true;
}

/* The variable `name` as a whole number in [min, max]; false with a message when it is
 * missing or not one. */
static bool shard_env_number(shard_getenv_fn lookup, const char *name, unsigned long min,
                             unsigned long max, unsigned long *number, char *errbuf,
                             size_t errbuf_size) {
  const char *value = lookup(name);
  if (!value) {
    snprintf(errbuf, errbuf_size, "--shard env: %s is not set", name);
    return false;
  }
  if (!shard_read_number(value, strlen(value), min, max, number)) {
    snprintf(errbuf, errbuf_size, "--shard env: %s is '%.40s', not a whole number from %lu to %lu",
             name, value, min, max);
    return false;
  }
  return true;
}

/* A Kubernetes Indexed Job: the pod's 0-based index, the count given by the user. */
static bool shard_from_kubernetes(shard_getenv_fn lookup, struct shard_spec *spec, char *errbuf,
                                  size_t errbuf_size) {
  unsigned long index, count;
  if (!lookup("AFETCH_SHARD_COUNT")) {
    snprintf(errbuf, errbuf_size,
             "--shard env: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but "
             "AFETCH_SHARD_COUNT is not: set it to the Job's completions");
    return false;
  }
  if (!shard_env_number(lookup, "AFETCH_SHARD_COUNT", 1, SHARD_MAX_COUNT, &count, errbuf,
                        errbuf_size) ||
      !shard_env_number(lookup, "JOB_COMPLETION_INDEX", 0, count - 1, &index, errbuf, errbuf_size))
    return false;
  spec->index = (unsigned)index + 1;
  spec->count = (unsigned)count;
  return true;
}

/* A Slurm job array of consecutive task IDs: MIN, MIN+1, ... MIN+COUNT-1. */
static bool shard_from_slurm(shard_getenv_fn lookup, struct shard_spec *spec, char *errbuf,
                             size_t errbuf_size) {
  unsigned long id, min, count, max;
  if (!shard_env_number(lookup, "SLURM_ARRAY_TASK_COUNT", 1, SHARD_MAX_COUNT, &count, errbuf,
                        errbuf_size) ||
      !shard_env_number(lookup, "SLURM_ARRAY_TASK_MIN", 0, 4294967295ul, &min, errbuf,
                        errbuf_size) ||
      !shard_env_number(lookup, "SLURM_ARRAY_TASK_ID", min, min + count - 1, &id, errbuf,
                        errbuf_size))
    return false;
  /* A step (--array=0-15:4) or a list (--array=1,3,5) leaves out IDs: some shards would have
   * no task. */
  const char *step = lookup("SLURM_ARRAY_TASK_STEP");
  bool gaps = step && strcmp(step, "1") != 0;
  if (!gaps && lookup("SLURM_ARRAY_TASK_MAX"))
    gaps = !shard_env_number(lookup, "SLURM_ARRAY_TASK_MAX", min + count - 1, min + count - 1, &max,
                             errbuf, errbuf_size);
  if (gaps) {
    snprintf(errbuf, errbuf_size,
             "--shard env: the Slurm array's task IDs are not consecutive (a step or a list): "
             "use --array=0-%lu",
             count - 1);
    return false;
  }
  spec->index = (unsigned)(id - min) + 1;
  spec->count = (unsigned)count;
  return true;
}

bool shard_parse(const char *value, shard_getenv_fn lookup, struct shard_spec *spec, char *errbuf,
                 size_t errbuf_size) {
  if (strcmp(value, "env") == 0) {
    if (lookup("JOB_COMPLETION_INDEX"))
      return shard_from_kubernetes(lookup, spec, errbuf, errbuf_size);
    if (lookup("SLURM_ARRAY_TASK_ID"))
      return shard_from_slurm(lookup, spec, errbuf, errbuf_size);
    snprintf(errbuf, errbuf_size,
             "--shard env: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor "
             "SLURM_ARRAY_TASK_ID (a Slurm job array) is set");
    return false;
  }
  const char *slash = strchr(value, '/');
  unsigned long index, count;
  if (!slash || !shard_read_number(slash + 1, strlen(slash + 1), 1, SHARD_MAX_COUNT, &count) ||
      !shard_read_number(value, (size_t)(slash - value), 1, count, &index)) {
    snprintf(errbuf, errbuf_size, "--shard wants K/N with 1 <= K <= N <= %u, or env, not '%.40s'",
             SHARD_MAX_COUNT, value);
    return false;
  }
  spec->index = (unsigned)index;
  spec->count = (unsigned)count;
  return true;
}

/* As published (Lamping and Veach 2014, figure 1), with the same double arithmetic. */
unsigned shard_jump(uint64_t key, unsigned count) {
  int64_t bucket = -1, next = 0;
  while (next < (int64_t)count) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    next = (int64_t)((double)(bucket + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
  }
  return (unsigned)bucket;
}

unsigned shard_of_host(const char *host, size_t length, unsigned count) {
  return shard_jump(XXH3_64bits(host, length), count) + 1;
}

unsigned shard_of_line(uint64_t index, unsigned count) { return (unsigned)(index % count) + 1; }

unsigned shard_of(const struct shard_spec *spec, const char *url, uint64_t index) {
  char *host = spec->by != SHARD_BY_LINE && url ? url_host_lowercase(url) : NULL;
  unsigned shard = host && *host ? shard_of_host(host, strlen(host), spec->count)
                                 : shard_of_line(index, spec->count);
  curl_free(host);
  return shard;
}

bool shard_takes(const struct shard_spec *spec, const char *url, uint64_t index) {
  return spec->count == 0 || shard_of(spec, url, index) == spec->index;
}

bool shard_takes_link(const struct shard_spec *spec, const char *url) {
  if (spec->count == 0)
    return true;
  char *host = url_host_lowercase(url);
  bool takes = host && *host && shard_of_host(host, strlen(host), spec->count) == spec->index;
  curl_free(host);
  return takes;
}
