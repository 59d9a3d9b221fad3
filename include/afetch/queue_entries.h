/* The entries a queue worker holds (queue_worker.c), in lists from their read to their
 * acknowledgement, and the arguments of the script calls that name them. */
#ifndef AFETCH_QUEUE_ENTRIES_H
#define AFETCH_QUEUE_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <uthash.h>

/* One queue entry, from its read to its acknowledgement. */
struct queue_entry {
  struct queue_entry *next; /* in one list (struct queue_list) of its worker */
  UT_hash_handle hh;        /* in a worker's held entries, by index */
  uint64_t index;
  unsigned partition;
  bool too_long;
  bool found;          /* a page a crawl found (else a line of the input): */
  unsigned depth;      /* its depth, */
  char *parent;        /* the page that linked it, */
  char *scope;         /* its seed's scope key (both in the same allocation, after the line) */
  unsigned deliveries; /* this one included (the group's count when it was taken) */
  char *dead_error;    /* its last delivery failed: the dead letter's error (owned); or NULL */
  char id[48];
  uint64_t links_mark; /* --crawl: its page's links are in the batches before this one */
  size_t length;
  char line[];
};

struct queue_list {
  struct queue_entry *head, *tail;
  size_t count;
};

/* The arguments of one EVAL, grown as needed. */
struct queue_args {
  const char **argv;
  size_t *lengths;
  size_t count, capacity;
};

/* An entry of the take script's answer (queue_scripts.h): QUEUE_TAKE_FIELDS replies from
 * `item` on. NULL when out of memory or when they are not an entry. */
struct queue_entry *queue_entry_from_reply(redisReply **item);

/* Frees the entry and what it owns. */
void queue_entry_free(struct queue_entry *entry);

void queue_list_push(struct queue_list *list, struct queue_entry *entry);
/* The first entry, taken off the list; NULL when it is empty. */
struct queue_entry *queue_list_pop(struct queue_list *list);
/* Moves every entry of `from` to the end of `to`. */
void queue_list_splice(struct queue_list *to, struct queue_list *from);
/* Frees every entry; the list is empty after. */
void queue_list_free(struct queue_list *list);

/* Appends one argument (borrowed: it must outlive the call it is sent with). False when out
 * of memory. */
bool queue_args_add(struct queue_args *args, const char *value, size_t length);
bool queue_args_add_string(struct queue_args *args, const char *value);
/* Appends (partition, id) of every entry from `entry` on. */
bool queue_args_entries(struct queue_args *args, const struct queue_entry *entry);
/* Appends the ack script's (partition, id, how) of every entry from `entry` on
 * (queue_scripts.h). */
bool queue_args_acks(struct queue_args *args, const struct queue_entry *entry);
/* The partition number's text. */
const char *queue_partition_name(unsigned partition);
void queue_args_free(struct queue_args *args);

#endif
