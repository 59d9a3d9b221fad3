/* The Lua scripts a worker runs on the queue (queue.h), each one round trip for a batch.
 * KEYS of the worker's: the dead-letter stream, partitions 0..QUEUE_PARTITIONS-1, their leases in
 * the same order, the workers' set, the errors' Hash (an entry's last error while it waits to
 * be delivered again, by "partition/id"). */
#ifndef AFETCH_QUEUE_SCRIPTS_H
#define AFETCH_QUEUE_SCRIPTS_H

/* Adds lines to the queue. KEYS: seen, index, partitions 0..QUEUE_PARTITIONS-1. ARGV: the
 * cap on the queue's entries ever added (the index counter; "0": none; a line over it is
 * dropped, not marked seen: --max-pages for a fleet), then per line QUEUE_ADD_ARGS values: fingerprint, partition, line, cut ("1": cut at 64 KiB), and for
 * a page a crawl found its depth, parent and scope key ("" for a line of the input). A line
 * whose fingerprint is new gets the next index and goes to its partition's stream (partition
 * "-": the fingerprint is only marked seen: a redirect's target); the answer is how many were
 * added. */
#define QUEUE_ADD_ARGS 7
extern const char queue_add_script[];

/* ARGV: group, consumer, want, reclaim-after ms, max deliveries, reclaim (1/0), first
 * partition, lease ms (0: no leases). With leases the worker reads only the partitions it
 * holds the lease of (one owner per host partition: what keeps --per-host and robots.txt
 * local to one process); it renews them, takes free ones up to its share (partitions over
 * live workers, a worker being live while in the workers' set, scored by its last take),
 * and gives up the rest once nothing in them is pending for it. With reclaim, entries idle
 * longer than reclaim-after are claimed first (XAUTOCLAIM), and one delivered more than max
 * deliveries goes to the dead-letter stream (fields line, index, partition, id, deliveries,
 * error: with its last error if one was remembered) and out of its partition instead; then new
 * entries (XREADGROUP), the partitions taken in turn from the first one, up to `want` in all.
 * Answers {entries left in the partitions (waiting or pending), dead-lettered now, {partition, id,
 * line, index, long, deliveries, depth, parent, scope}...} (flat: QUEUE_TAKE_FIELDS each). */
#define QUEUE_TAKE_FIELDS 9
extern const char queue_take_script[];

/* ARGV: group, then (partition, id, how) triples: XACK and XDEL each. `how`: "" the entry
 * was delivered once; "-" it was delivered again: its remembered error goes too; any other
 * text: the entry goes to the dead-letter stream with that text as its error (its result,
 * a failure on its last delivery, is written). Answers how many were. */
extern const char queue_ack_script[];

/* ARGV: group, consumer, lease ms (0: none), then (partition, id) pairs: each entry still
 * this consumer's gets its idle time reset (XCLAIM ... JUSTID: the delivery count stays),
 * so that no other worker reclaims it while this one works on it; so do its leases. Answers
 * how many entries were renewed. */
extern const char queue_touch_script[];

/* ARGV: group, consumer, then (partition, id, idle ms, error) quadruples: each entry still
 * this consumer's gets that idle time (XCLAIM ... IDLE ... JUSTID: the delivery count stays)
 * so that the next reclaim (XAUTOCLAIM, which counts a delivery) after reclaim-after - idle
 * takes it, and its error is remembered. Answers how many were released. */
extern const char queue_release_script[];

/* ARGV: consumer. Gives up its leases and leaves the workers' set (a worker that ends). */
extern const char queue_leave_script[];

#endif
