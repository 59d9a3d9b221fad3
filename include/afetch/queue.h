/* The work queue on Redis (--redis): its key layout, shared by the producer (--enqueue,
 * queue_enqueue.c), the workers (--worker, queue_worker.c) and --status (queue_status.c).
 *
 * Keys, all with the queue's name as Redis Cluster hash tag so that one Lua script may use
 * them together ("{afetch}:..." for --queue afetch):
 *   {Q}:p:K    K = 0..QUEUE_PARTITIONS-1: a Stream per host partition; an entry has the
 *              fields "line" (the input line, as afetch reads it) and "index" (its number
 *              in the queue: the result's "index"), and "long" "1" when the line was cut
 *              at SOURCE_MAX_LINE. The partition is shard.h's host hash, jump(XXH3(host),
 *              QUEUE_PARTITIONS) (an unusable line goes to partition 0): one host's lines
 *              share a partition, what a leased owner per partition needs for politeness
 *              across workers.
 *   {Q}:seen   Set of fingerprints of the lines ever added (XXH3-128 of the line, hex).
 *   {Q}:index  the counter the indexes come from.
 *   {Q}:dead   Stream of dead letters: entries delivered more than --max-deliveries times
 *              without a result, or failing transiently on the last of them.
 *   {Q}:lease:K   the worker that owns partition K (with --per-host or --robots: one worker
 *              at a time reads a host's partition), expiring after --reclaim-after.
 *   {Q}:workers   Sorted Set of the live workers (scored by when they were last heard of),
 *              to share the partitions between them.
 *   {Q}:errors    Hash "partition/id" -> the last error of an entry given back after a
 *              transient failure, until it is acknowledged or dead-lettered.
 * Every partition has the consumer group QUEUE_GROUP; a worker is the consumer
 * "hostname:pid". An entry is removed (XACK and XDEL) once its result is on the output. */
#ifndef AFETCH_QUEUE_H
#define AFETCH_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

struct afetch_options;
struct source_line;

#define QUEUE_PARTITIONS 16
#define QUEUE_GROUP "afetch"
/* Longest key: "{" NAME "}:" suffix. */
#define QUEUE_KEY_MAX 512

/* Writes the key "{name}:suffix" into key. False when it does not fit. */
bool queue_key(char *key, size_t size, const char *name, const char *suffix);

/* The partition key "{name}:p:K". */
bool queue_partition_key(char *key, size_t size, const char *name, unsigned partition);

/* The partition of an input line (afetch's own reading of it: a URL or a JSON line). -1
 * when out of memory. */
int queue_partition_of(const struct source_line *line, const struct afetch_options *options);

/* Connects to --redis (blocking: for --enqueue and --status, which run no event loop), AUTH
 * and SELECT done. NULL after a message on stderr when Redis cannot be reached or refuses. */
redisContext *queue_connect(const struct afetch_options *options);

/* Creates the consumer group of every partition (and the streams), if not there yet. False
 * after a message on stderr. */
bool queue_create_groups(redisContext *redis, const struct afetch_options *options);

#endif
