/* --stats, --stats-json and the progress line's figures: counters and a latency histogram
 * over the results written. Fixed size, whatever the number of results. */
#ifndef AFETCH_STATS_H
#define AFETCH_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "afetch/result.h"

/* What one written result adds. */
struct stats_sample {
  bool ok;
  long status; /* 0: no response */
  enum result_error error;
  int64_t total_us; /* time.total, microseconds */
  int64_t ttfb_us;  /* time.ttfb: the host's latency (--adaptive) */
  uint64_t bytes;   /* size */
  unsigned attempts;
};

/* The sample of a result. */
static inline struct stats_sample stats_sample_of(const struct afetch_result *result) {
  return (struct stats_sample){.ok = result_is_ok(result),
                               .status = result->status,
                               .error = result->error,
                               .total_us = result->time_us.total,
                               .ttfb_us = result->time_us.ttfb,
                               /* this run's: not what a kept partial held */
                               .bytes = result->size - result->resumed_from,
                               .attempts = result->attempts};
}

struct stats;

/* Empty statistics (about 16 KiB, fixed); NULL when out of memory. Free with stats_free(). */
struct stats *stats_new(void);

/* Counts one result: its status class ("none" for status 0 or outside 100..599), its error
 * code, its bytes, its retries (attempts - 1), and its latency when it had a response. */
void stats_record(struct stats *stats, const struct stats_sample *sample);

uint64_t stats_results(const struct stats *stats);
uint64_t stats_ok(const struct stats *stats);
uint64_t stats_bytes(const struct stats *stats);

/* The latency quantile q (0 < q <= 1) in microseconds over results with a response, -1 when
 * there were none: the midpoint of the histogram bucket holding the ceil(q * n)-th smallest
 * value (within 0.8% of it), clamped to the exact minimum and maximum; q == 1 is the exact
 * maximum. */
int64_t stats_latency_us(const struct stats *stats, double q);

/* The --stats table (see the README), for a run of wall_seconds. The "status" line is left
 * out when there were no results, the "errors" line when there were no errors (codes most
 * frequent first); "latency     none" when no result had a response. */
void stats_print_table(const struct stats *stats, double wall_seconds, FILE *out);

/* The --stats-json object, one line, written to `path` atomically: "<dir>/.<base>.tmp-XXXXXX",
 * fsync, rename (the temp file removed on failure). Counts are integers, seconds numbers
 * (latency to the microsecond), latency values null when no result had a response. 0, or -1
 * with errno set. */
int stats_write_json(const struct stats *stats, double wall_seconds, const char *path);

/* --journal: the --stats-json object gets "journal": {"earlier": results committed by earlier
 * runs, "now": by this one, "total"}. */
void stats_set_journal(struct stats *stats, uint64_t earlier, uint64_t now);

/* --worker: a transient failure was given back to the queue to be delivered again (no result
 * is written for it). The table and the JSON ("given_back") show how many, when any. */
void stats_record_given_back(struct stats *stats);

/* A host ("scheme://host:port") was paused for `added_us` more (hosts.h). The table and the
 * JSON show the pauses, their time, and the STATS_PAUSED_HOSTS hosts paused longest (when
 * more hosts pause, one that falls out of the list and comes back restarts its count). */
#define STATS_PAUSED_HOSTS 10
void stats_record_host_pause(struct stats *stats, const char *host_key, int64_t added_us);

/* NULL is allowed. */
/* Bytes for people: "512 B", "12.3 MiB" (the table's and the progress line's unit). */
void stats_format_bytes(uint64_t bytes, char *buf, size_t size);

void stats_free(struct stats *stats);

#endif
