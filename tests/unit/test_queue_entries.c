/* queue_entries.h: a take script's entry read from its reply (with its delivery count), and
 * the ack script's (partition, id, how) arguments. */
#include "unit_helpers.h"

#include "afetch/queue_entries.h"
#include "afetch/queue_scripts.h"

static redisReply string_reply(const char *text) {
  return (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)text, .len = strlen(text)};
}

static redisReply integer_reply(long long value) {
  return (redisReply){.type = REDIS_REPLY_INTEGER, .integer = value};
}

/* An entry of partition 3 with this delivery count reply. */
static struct queue_entry *entry_with(redisReply deliveries) {
  redisReply items[QUEUE_TAKE_FIELDS] = {integer_reply(3),          string_reply("1700000000000-0"),
                                         string_reply("http://a/"), string_reply("42"),
                                         string_reply("0"),         deliveries,
                                         string_reply(""),          string_reply(""),
                                         string_reply("")};
  redisReply *pointers[QUEUE_TAKE_FIELDS];
  for (size_t i = 0; i < QUEUE_TAKE_FIELDS; i++)
    pointers[i] = &items[i];
  return queue_entry_from_reply(pointers);
}

static void entry_keeps_its_delivery_count(void **state) {
  (void)state;
  struct queue_entry *entry = entry_with(integer_reply(4));
  assert_non_null(entry);
  assert_int_equal(entry->partition, 3);
  assert_string_equal(entry->id, "1700000000000-0");
  assert_int_equal(entry->index, 42);
  assert_int_equal(entry->deliveries, 4);
  assert_null(entry->dead_error);
  queue_entry_free(entry);
  /* An answer without a count (not an integer) is a first delivery. */
  entry = entry_with(string_reply("x"));
  assert_int_equal(entry->deliveries, 1);
  queue_entry_free(entry);
}

/* "" for a first delivery, "-" for a later one (its remembered error goes), the error text
 * for a dead letter. */
static void acks_say_how_each_entry_leaves(void **state) {
  (void)state;
  struct queue_list list = {0};
  struct queue_entry *first = entry_with(integer_reply(1));
  struct queue_entry *again = entry_with(integer_reply(2));
  struct queue_entry *dead = entry_with(integer_reply(5));
  dead->dead_error = strdup("http 503");
  queue_list_push(&list, first);
  queue_list_push(&list, again);
  queue_list_push(&list, dead);
  struct queue_args args = {0};
  assert_true(queue_args_acks(&args, list.head));
  assert_int_equal(args.count, 9);
  const char *expected[] = {"3", "1700000000000-0", "",        "3", "1700000000000-0", "-",
                            "3", "1700000000000-0", "http 503"};
  for (size_t i = 0; i < args.count; i++) {
    assert_int_equal(args.lengths[i], strlen(expected[i]));
    assert_memory_equal(args.argv[i], expected[i], args.lengths[i]);
  }
  queue_args_free(&args);
  queue_list_free(&list); /* frees the dead letter's error too (ASan checks) */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(entry_keeps_its_delivery_count),
      cmocka_unit_test(acks_say_how_each_entry_leaves),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
