/* A queue worker's entry lists and script arguments (queue_entries.h). */
#include "afetch/queue_entries.h"

#include <stdlib.h>
#include <string.h>

#include "afetch/queue.h"
#include "afetch/queue_scripts.h"

/* ---- lists ------------------------------------------------------------------------------ */

void queue_entry_free(struct queue_entry *entry) {
  if (entry)
    free(entry->dead_error);
  free(entry);
}

void queue_list_push(struct queue_list *list, struct queue_entry *entry) {
  entry->next = NULL;
  if (list->tail)
    list->tail->next = entry;
  else
    list->head = entry;
  list->tail = entry;
  list->count++;
}

struct queue_entry *queue_list_pop(struct queue_list *list) {
  struct queue_entry *entry = list->head;
  if (!entry)
    return NULL;
  list->head = entry->next;
  if (!list->head)
    list->tail = NULL;
  list->count--;
  return entry;
}

void queue_list_splice(struct queue_list *to, struct queue_list *from) {
  if (!from->head)
    return;
  if (to->tail)
    to->tail->next = from->head;
  else
    to->head = from->head;
  to->tail = from->tail;
  to->count += from->count;
  *from = (struct queue_list){0};
}

void queue_list_free(struct queue_list *list) {
  struct queue_entry *entry;
  while ((entry = queue_list_pop(list)))
    queue_entry_free(entry);
}

/* ---- command arguments ------------------------------------------------------------------ */

bool queue_args_add(struct queue_args *args, const char *value, size_t length) {
  if (args->count == args->capacity) {
    size_t capacity = args->capacity ? args->capacity * 2 : 64;
    const char **argv = realloc(args->argv, capacity * sizeof *argv);
    if (argv)
      args->argv = argv;
    size_t *lengths = argv ? realloc(args->lengths, capacity * sizeof *lengths) : NULL;
    if (!lengths)
      return false;
    args->lengths = lengths;
    args->capacity = capacity;
  }
  args->argv[args->count] = value;
  args->lengths[args->count++] = length;
  return true;
}

bool queue_args_add_string(struct queue_args *args, const char *value) {
  return queue_args_add(args, value, strlen(value));
}

void queue_args_free(struct queue_args *args) {
  free(args->argv);
  free(args->lengths);
}

static const char *const queue_partition_names[QUEUE_PARTITIONS] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"};

/* Appends (partition, id) of every entry of the list. */
bool queue_args_entries(struct queue_args *args, const struct queue_entry *entry) {
  for (; entry; entry = entry->next)
    if (!queue_args_add_string(args, queue_partition_name(entry->partition)) ||
        !queue_args_add_string(args, entry->id))
      return false;
  return true;
}

bool queue_args_acks(struct queue_args *args, const struct queue_entry *entry) {
  for (; entry; entry = entry->next) {
    const char *how = entry->dead_error ? entry->dead_error : entry->deliveries > 1 ? "-" : "";
    if (!queue_args_add_string(args, queue_partition_name(entry->partition)) ||
        !queue_args_add_string(args, entry->id) || !queue_args_add_string(args, how))
      return false;
  }
  return true;
}

const char *queue_partition_name(unsigned partition) { return queue_partition_names[partition]; }

struct queue_entry *queue_entry_from_reply(redisReply **item) {
  if (item[0]->type != REDIS_REPLY_INTEGER || item[1]->type != REDIS_REPLY_STRING ||
      item[2]->type != REDIS_REPLY_STRING || item[3]->type != REDIS_REPLY_STRING ||
      item[1]->len >= sizeof((struct queue_entry *)0)->id || item[0]->integer < 0 ||
      item[0]->integer >= QUEUE_PARTITIONS)
    return NULL;
  for (size_t i = 6; i < QUEUE_TAKE_FIELDS; i++)
    if (item[i]->type != REDIS_REPLY_STRING)
      return NULL;
  struct queue_entry *entry =
      calloc(1, sizeof *entry + item[2]->len + item[7]->len + item[8]->len + 3);
  if (!entry)
    return NULL;
  entry->partition = (unsigned)item[0]->integer;
  memcpy(entry->id, item[1]->str, item[1]->len);
  memcpy(entry->line, item[2]->str, item[2]->len);
  entry->length = item[2]->len;
  entry->index = strtoull(item[3]->str, NULL, 10);
  entry->too_long = item[4]->type == REDIS_REPLY_STRING && item[4]->str[0] == '1';
  entry->deliveries = item[5]->type == REDIS_REPLY_INTEGER ? (unsigned)item[5]->integer : 1;
  /* A page a crawl found: its depth, parent and scope key, after the line. */
  entry->found = item[6]->len > 0;
  entry->depth = (unsigned)strtoul(item[6]->str, NULL, 10);
  entry->parent = entry->line + entry->length + 1;
  memcpy(entry->parent, item[7]->str, item[7]->len);
  entry->scope = entry->parent + item[7]->len + 1;
  memcpy(entry->scope, item[8]->str, item[8]->len);
  return entry;
}
