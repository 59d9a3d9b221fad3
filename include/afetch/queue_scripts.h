/* The Lua scripts a worker runs on the queue (queue.h), each one round trip for a batch.
 * KEYS of all three: the dead-letter stream, then partitions 0..QUEUE_PARTITIONS-1. */
#ifndef AFETCH_QUEUE_SCRIPTS_H
#define AFETCH_QUEUE_SCRIPTS_H

/* ARGV: group, consumer, want, reclaim-after ms, max deliveries, reclaim (1/0), first
 * partition. With reclaim, entries idle longer than reclaim-after are claimed first
 * (XAUTOCLAIM), and one delivered more than max deliveries goes to the dead-letter stream
 * (fields line, index, partition, id, deliveries, error) and out of its partition instead;
 * then new entries (XREADGROUP), the partitions taken in turn from the first one, up to
 * `want` in all. Answers {pending in the group in all, dead-lettered now, {partition, id,
 * line, index, long, deliveries}...} (flat). */
extern const char queue_take_script[];

/* ARGV: group, then (partition, id) pairs: XACK and XDEL each. Answers how many were. */
extern const char queue_ack_script[];

/* ARGV: group, consumer, then (partition, id) pairs: each entry still this consumer's gets
 * its idle time reset (XCLAIM ... JUSTID: the delivery count stays), so that no other
 * worker reclaims it while this one works on it. Answers how many were renewed. */
extern const char queue_touch_script[];

#endif
