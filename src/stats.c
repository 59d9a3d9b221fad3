/* --stats and --stats-json: counters and a log-linear latency histogram over the results
 * written. */
#include "afetch/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "afetch/json_writer.h"
#include "afetch/replace_file.h"

/* The latency histogram: values below 2^STATS_SUB_BITS us have a bucket each; above, every
 * power of two [2^e, 2^(e+1)) is cut into STATS_SUB_BUCKETS equal buckets, up to 2^STATS_MAX_EXP
 * us (19 hours; longer times share the last bucket). A bucket is at most 1/64 of its lower
 * bound wide, so its midpoint is within 0.8% of any value in it. 1,984 buckets: 15.5 KiB. */
#define STATS_SUB_BITS 6
#define STATS_SUB_BUCKETS (1 << STATS_SUB_BITS)
#define STATS_MAX_EXP 36
#define STATS_BUCKETS (STATS_SUB_BUCKETS * (STATS_MAX_EXP - STATS_SUB_BITS + 1))

/* Status classes: "1xx".."5xx", then "none" (no response, or a status outside 100..599). */
#define STATS_CLASS_NONE 5
#define STATS_CLASSES 6

/* One more than the highest enum result_error value. */
#define STATS_ERRORS (RESULT_OTHER + 1)

/* A host's key as the pause list keeps it (longer ones are cut). */
#define STATS_HOST_KEY_SIZE 128

struct stats_paused_host {
  char host[STATS_HOST_KEY_SIZE];
  uint64_t pauses;
  int64_t paused_us;
};

struct stats {
  uint64_t results, ok, bytes, retries;
  uint64_t given_back; /* --worker: transient failures given back to the queue (no result) */
  bool journaled; /* --journal: the results of earlier runs and of this one */
  uint64_t journal_earlier, journal_now;
  uint64_t by_class[STATS_CLASSES];
  uint64_t by_error[STATS_ERRORS];
  uint64_t latency_count; /* results with a response */
  int64_t latency_min, latency_max;
  uint64_t latency[STATS_BUCKETS];
  uint64_t pauses; /* host pauses, and their time (hosts.h) */
  int64_t paused_us;
  size_t paused_host_count; /* the hosts paused longest, longest first */
  struct stats_paused_host paused_hosts[STATS_PAUSED_HOSTS];
};

static const char *const stats_class_names[STATS_CLASSES] = {"1xx", "2xx", "3xx",
                                                             "4xx", "5xx", "none"};

struct stats *stats_new(void) {
  return calloc(1, sizeof(struct stats));
}

void stats_free(struct stats *stats) { free(stats); }

static size_t stats_bucket_of(int64_t us) {
  uint64_t value = us > 0 ? (uint64_t)us : 0;
  if (value < STATS_SUB_BUCKETS)
    return (size_t)value;
  unsigned exponent = 63 - (unsigned)__builtin_clzll(value);
  if (exponent > STATS_MAX_EXP - 1)
    return STATS_BUCKETS - 1;
  uint64_t sub = (value >> (exponent - STATS_SUB_BITS)) - STATS_SUB_BUCKETS;
  return STATS_SUB_BUCKETS * (exponent - STATS_SUB_BITS + 1) + (size_t)sub;
}

/* The midpoint of a bucket, in microseconds. */
static int64_t stats_bucket_middle(size_t bucket) {
  if (bucket < STATS_SUB_BUCKETS)
    return (int64_t)bucket;
  unsigned exponent = (unsigned)(bucket / STATS_SUB_BUCKETS) - 1 + STATS_SUB_BITS;
  uint64_t width = (uint64_t)1 << (exponent - STATS_SUB_BITS);
  uint64_t low = ((uint64_t)STATS_SUB_BUCKETS + bucket % STATS_SUB_BUCKETS) * width;
  return (int64_t)(low + width / 2);
}

void stats_record(struct stats *stats, const struct stats_sample *sample) {
  stats->results++;
  if (sample->ok)
    stats->ok++;
  stats->bytes += sample->bytes;
  if (sample->attempts > 0)
    stats->retries += sample->attempts - 1;
  if ((unsigned)sample->error < STATS_ERRORS && sample->error != RESULT_OK)
    stats->by_error[sample->error]++;
  else if (sample->error != RESULT_OK)
    stats->by_error[RESULT_OTHER]++;
  bool has_class = sample->status >= 100 && sample->status <= 599;
  stats->by_class[has_class ? sample->status / 100 - 1 : STATS_CLASS_NONE]++;
  if (sample->status == 0)
    return;
  int64_t us = sample->total_us > 0 ? sample->total_us : 0;
  if (stats->latency_count == 0 || us < stats->latency_min)
    stats->latency_min = us;
  if (stats->latency_count == 0 || us > stats->latency_max)
    stats->latency_max = us;
  stats->latency_count++;
  stats->latency[stats_bucket_of(us)]++;
}

void stats_record_host_pause(struct stats *stats, const char *host_key, int64_t added_us) {
  stats->pauses++;
  stats->paused_us += added_us;
  struct stats_paused_host *hosts = stats->paused_hosts;
  size_t at = 0;
  while (at < stats->paused_host_count && strncmp(hosts[at].host, host_key, STATS_HOST_KEY_SIZE - 1))
    at++;
  if (at == stats->paused_host_count) { /* new: in a free place, else instead of the last */
    if (at == STATS_PAUSED_HOSTS && hosts[--at].paused_us >= added_us)
      return;
    hosts[at] = (struct stats_paused_host){0};
    snprintf(hosts[at].host, sizeof hosts[at].host, "%s", host_key);
    if (stats->paused_host_count < STATS_PAUSED_HOSTS)
      stats->paused_host_count++;
  }
  hosts[at].pauses++;
  hosts[at].paused_us += added_us;
  for (; at > 0 && hosts[at - 1].paused_us < hosts[at].paused_us; at--) { /* longest first */
    struct stats_paused_host moved = hosts[at - 1];
    hosts[at - 1] = hosts[at];
    hosts[at] = moved;
  }
}

uint64_t stats_results(const struct stats *stats) { return stats->results; }

uint64_t stats_ok(const struct stats *stats) { return stats->ok; }

uint64_t stats_bytes(const struct stats *stats) { return stats->bytes; }

int64_t stats_latency_us(const struct stats *stats, double q) {
  if (stats->latency_count == 0)
    return -1;
  if (!(q < 1.0)) /* also NaN */
    return stats->latency_max;
  if (q <= 0.0)
    return stats->latency_min;
  /* The rank of the quantile: the smallest count reaching q*n (less a hair of rounding, so
   * 0.9 * 10 is rank 9, not 10). */
  double exact = ceil(q * (double)stats->latency_count - 1e-9);
  uint64_t rank = exact < 1.0 ? 1 : (uint64_t)exact;
  uint64_t seen = 0;
  size_t bucket = 0;
  for (; bucket < STATS_BUCKETS - 1; bucket++) {
    seen += stats->latency[bucket];
    if (seen >= rank)
      break;
  }
  int64_t value = stats_bucket_middle(bucket);
  if (value < stats->latency_min)
    value = stats->latency_min;
  if (value > stats->latency_max)
    value = stats->latency_max;
  return value;
}

/* "512 B", "12.3 MiB": bytes in the largest unit (up to GiB) that keeps the figure below
 * 1024 once rounded to one decimal. */
void stats_format_bytes(uint64_t bytes, char *buf, size_t size) {
  static const char *const units[] = {"KiB", "MiB", "GiB"};
  if (bytes < 1024) {
    snprintf(buf, size, "%" PRIu64 " B", bytes);
    return;
  }
  double value = (double)bytes / 1024.0;
  size_t unit = 0;
  while (unit < 2 && value >= 1023.95) {
    value /= 1024.0;
    unit++;
  }
  snprintf(buf, size, "%.1f %s", value, units[unit]);
}

/* The error codes with a nonzero count, most frequent first (ties in enum order). Returns how
 * many were written to `order`. */
static size_t stats_error_order(const struct stats *stats, enum result_error order[STATS_ERRORS]) {
  size_t count = 0;
  for (int error = RESULT_OK + 1; error < STATS_ERRORS; error++) {
    if (stats->by_error[error] == 0)
      continue;
    size_t at = count++;
    while (at > 0 && stats->by_error[order[at - 1]] < stats->by_error[error]) {
      order[at] = order[at - 1];
      at--;
    }
    order[at] = (enum result_error)error;
  }
  return count;
}

static double stats_rate(const struct stats *stats, double wall_seconds) {
  return wall_seconds > 0.0 ? (double)stats->results / wall_seconds : 0.0;
}

void stats_print_table(const struct stats *stats, double wall_seconds, FILE *out) {
  fprintf(out, "results     %" PRIu64 "  (ok %" PRIu64 ", failed %" PRIu64 ")\n", stats->results,
          stats->ok, stats->results - stats->ok);
  if (stats->results > 0) {
    const char *separator = "status      ";
    for (size_t i = 0; i < STATS_CLASSES; i++) {
      if (stats->by_class[i] > 0) {
        fprintf(out, "%s%s %" PRIu64, separator, stats_class_names[i], stats->by_class[i]);
        separator = "  ";
      }
    }
    fputs("\n", out);
  }
  enum result_error order[STATS_ERRORS];
  size_t error_count = stats_error_order(stats, order);
  if (error_count > 0) {
    fputs("errors      ", out);
    for (size_t i = 0; i < error_count; i++)
      fprintf(out, "%s%s %" PRIu64, i ? "  " : "", result_error_name(order[i]),
              stats->by_error[order[i]]);
    fputs("\n", out);
  }
  if (stats->latency_count == 0) {
    fputs("latency     none\n", out);
  } else {
    fprintf(out, "latency     p50 %.3f s  p90 %.3f s  p99 %.3f s  max %.3f s\n",
            (double)stats_latency_us(stats, 0.50) / 1e6,
            (double)stats_latency_us(stats, 0.90) / 1e6,
            (double)stats_latency_us(stats, 0.99) / 1e6, (double)stats->latency_max / 1e6);
  }
  char bytes[32];
  stats_format_bytes(stats->bytes, bytes, sizeof bytes);
  fprintf(out, "bytes       %s\n", bytes);
  fprintf(out, "retries     %" PRIu64 "\n", stats->retries);
  if (stats->given_back > 0)
    fprintf(out, "given back  %" PRIu64 " (to the queue, to be delivered again)\n",
            stats->given_back);
  if (stats->pauses > 0) {
    fprintf(out, "paused      %" PRIu64 " pauses, %.3f s:", stats->pauses,
            (double)stats->paused_us / 1e6);
    for (size_t i = 0; i < stats->paused_host_count; i++)
      fprintf(out, "%s %s %.3f s", i ? "," : "", stats->paused_hosts[i].host,
              (double)stats->paused_hosts[i].paused_us / 1e6);
    fputs("\n", out);
  }
  fprintf(out, "wall        %.3f s  (%.1f req/s)\n", wall_seconds, stats_rate(stats, wall_seconds));
}

/* A count as an exact JSON integer (a cJSON number is a double: exact only up to 2^53). */
static bool stats_add_count(cJSON *object, const char *key, uint64_t count) {
  char text[24];
  snprintf(text, sizeof text, "%" PRIu64, count);
  return cJSON_AddRawToObject(object, key, text) != NULL;
}

/* Seconds, rounded to microseconds; null for a negative value (no latency). */
static bool stats_add_seconds(cJSON *object, const char *key, int64_t us) {
  if (us < 0)
    return cJSON_AddNullToObject(object, key) != NULL;
  return cJSON_AddNumberToObject(object, key, (double)us / 1e6) != NULL;
}

/* "host_pauses": {"pauses", "seconds", "hosts": [{"host", "pauses", "seconds"}, ...]}, the
 * hosts paused longest first. False when out of memory. */
static bool stats_add_pauses(cJSON *root, const struct stats *stats) {
  cJSON *pauses = cJSON_AddObjectToObject(root, "host_pauses");
  bool ok = pauses && stats_add_count(pauses, "pauses", stats->pauses) &&
            stats_add_seconds(pauses, "seconds", stats->paused_us);
  cJSON *hosts = ok ? cJSON_AddArrayToObject(pauses, "hosts") : NULL;
  ok = hosts != NULL;
  for (size_t i = 0; ok && i < stats->paused_host_count; i++) {
    const struct stats_paused_host *host = &stats->paused_hosts[i];
    cJSON *entry = cJSON_CreateObject();
    ok = entry && cJSON_AddItemToArray(hosts, entry) &&
         cJSON_AddStringToObject(entry, "host", host->host) &&
         stats_add_count(entry, "pauses", host->pauses) &&
         stats_add_seconds(entry, "seconds", host->paused_us);
  }
  return ok;
}

/* The --stats-json object; NULL when out of memory. The caller deletes it. */
static cJSON *stats_to_json(const struct stats *stats, double wall_seconds) {
  cJSON *root = cJSON_CreateObject();
  bool ok = root && stats_add_count(root, "results", stats->results) &&
            stats_add_count(root, "ok", stats->ok) &&
            stats_add_count(root, "failed", stats->results - stats->ok);
  cJSON *status = ok ? cJSON_AddObjectToObject(root, "status") : NULL;
  ok = status != NULL;
  for (size_t i = 0; ok && i < STATS_CLASSES; i++)
    if (stats->by_class[i] > 0)
      ok = stats_add_count(status, stats_class_names[i], stats->by_class[i]);
  cJSON *errors = ok ? cJSON_AddObjectToObject(root, "errors") : NULL;
  ok = errors != NULL;
  enum result_error order[STATS_ERRORS];
  size_t error_count = stats_error_order(stats, order);
  for (size_t i = 0; ok && i < error_count; i++)
    ok = stats_add_count(errors, result_error_name(order[i]), stats->by_error[order[i]]);
  cJSON *latency = ok ? cJSON_AddObjectToObject(root, "latency") : NULL;
  ok = latency && stats_add_seconds(latency, "p50", stats_latency_us(stats, 0.50)) &&
       stats_add_seconds(latency, "p90", stats_latency_us(stats, 0.90)) &&
       stats_add_seconds(latency, "p99", stats_latency_us(stats, 0.99)) &&
       stats_add_seconds(latency, "max", stats_latency_us(stats, 1.0)) &&
       stats_add_count(root, "bytes", stats->bytes) &&
       stats_add_count(root, "retries", stats->retries) &&
       (!stats->given_back || stats_add_count(root, "given_back", stats->given_back)) &&
       cJSON_AddNumberToObject(root, "wall", round(wall_seconds * 1e6) / 1e6) &&
       cJSON_AddNumberToObject(root, "requests_per_second",
                               round(stats_rate(stats, wall_seconds) * 1e3) / 1e3);
  cJSON *journal = ok && stats->journaled ? cJSON_AddObjectToObject(root, "journal") : NULL;
  if (stats->journaled)
    ok = journal && stats_add_count(journal, "earlier", stats->journal_earlier) &&
         stats_add_count(journal, "now", stats->journal_now) &&
         stats_add_count(journal, "total", stats->journal_earlier + stats->journal_now);
  if (ok && stats->pauses > 0)
    ok = stats_add_pauses(root, stats);
  if (!ok) {
    cJSON_Delete(root);
    return NULL;
  }
  return root;
}

void stats_record_given_back(struct stats *stats) { stats->given_back++; }

void stats_set_journal(struct stats *stats, uint64_t earlier, uint64_t now) {
  stats->journaled = true;
  stats->journal_earlier = earlier;
  stats->journal_now = now;
}

static bool stats_write_text(FILE *file, void *arg) {
  return fputs(arg, file) >= 0 && fputc('\n', file) != EOF;
}

int stats_write_json(const struct stats *stats, double wall_seconds, const char *path) {
  cJSON *root = stats_to_json(stats, wall_seconds);
  char *json = root ? json_print_valid_utf8(root) : NULL;
  cJSON_Delete(root);
  if (!json) {
    errno = ENOMEM;
    return -1;
  }
  int result = replace_file(path, stats_write_text, json, NULL);
  int error = errno;
  free(json);
  errno = error;
  return result;
}
