/* redis_url.h: --redis URL read with curl's URL parser; queue.h: the queue's keys and a line's
 * host partition. */
#include "unit_helpers.h"

#include "afetch/options.h"
#include "afetch/queue.h"
#include "afetch/redis_url.h"
#include "afetch/shard.h"
#include "afetch/source.h"

static void full_url_gives_every_part(void **state) {
  (void)state;
  struct redis_address address;
  char error[256];
  assert_true(
      redis_url_parse("redis://:s%40cret@cache.example:6380/3", &address, error, sizeof error));
  assert_string_equal(address.host, "cache.example");
  assert_int_equal(address.port, 6380);
  assert_null(address.user);
  assert_string_equal(address.password, "s@cret");
  assert_int_equal(address.db, 3);
  redis_address_free(&address);
  assert_true(redis_url_parse("redis://afetch:pw@[::1]", &address, error, sizeof error));
  assert_string_equal(address.host, "::1");
  assert_int_equal(address.port, 6379);
  assert_string_equal(address.user, "afetch");
  assert_string_equal(address.password, "pw");
  assert_int_equal(address.db, 0);
  redis_address_free(&address);
  assert_true(redis_url_parse("redis://127.0.0.1/", &address, error, sizeof error));
  assert_null(address.password);
  assert_int_equal(address.db, 0);
  redis_address_free(&address);
}

static void malformed_urls_are_refused_with_a_reason(void **state) {
  (void)state;
  static const char *const refused[] = {
      "http://127.0.0.1:6379", "127.0.0.1:6379",        "redis://",
      "redis://h:99999",       "redis://h:6379/x",      "redis://h/-1",
      "redis://h/2000000",     "redis://h/1?timeout=3", "rediss://h",
  };
  for (size_t i = 0; i < HELPER_COUNT(refused); i++) {
    struct redis_address address;
    char error[256] = "";
    if (redis_url_parse(refused[i], &address, error, sizeof error))
      fail_msg("'%s' was taken", refused[i]);
    assert_non_null(strstr(error, "--redis wants redis://"));
    assert_null(address.host);
  }
}

static void a_refused_url_does_not_show_its_password(void **state) {
  (void)state;
  static const char *const refused[] = {"redis://:s3cret@h:99999", "rediss://u:s3cret@h/0",
                                        "redis://:s3cret@h/1?x=1", "redis://:s3cr@t@h/x"};
  for (size_t i = 0; i < HELPER_COUNT(refused); i++) {
    struct redis_address address;
    char error[512] = "";
    assert_false(redis_url_parse(refused[i], &address, error, sizeof error));
    if (strstr(error, "s3cr"))
      fail_msg("the message for '%s' shows the password: %s", refused[i], error);
    assert_non_null(strstr(error, "***@h"));
  }
}

static void keys_carry_the_name_as_hash_tag(void **state) {
  (void)state;
  char key[QUEUE_KEY_MAX];
  assert_true(queue_key(key, sizeof key, "afetch", "seen"));
  assert_string_equal(key, "{afetch}:seen");
  assert_true(queue_partition_key(key, sizeof key, "jobs", 15));
  assert_string_equal(key, "{jobs}:p:15");
  assert_false(queue_key(key, 8, "afetch", "seen"));
}

/* A line's partition is its host's shard of QUEUE_PARTITIONS (shard.h), minus one; a line
 * without a usable host goes to partition 0. */
static void lines_go_to_their_host_partition(void **state) {
  (void)state;
  struct afetch_options options = {0};
  static const char *const lines[] = {"http://Example.COM/a", "https://example.com:8443/b",
                                      "{\"url\": \"http://example.com/c\"}"};
  unsigned expected = shard_of_host("example.com", 11, QUEUE_PARTITIONS) - 1;
  for (size_t i = 0; i < HELPER_COUNT(lines); i++) {
    struct source_line line = {.text = lines[i], .length = strlen(lines[i])};
    assert_int_equal(queue_partition_of(&line, &options), (int)expected);
  }
  struct source_line invalid = {.text = "{\"url\": 5}", .length = 10};
  assert_int_equal(queue_partition_of(&invalid, &options), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(full_url_gives_every_part),
      cmocka_unit_test(malformed_urls_are_refused_with_a_reason),
      cmocka_unit_test(a_refused_url_does_not_show_its_password),
      cmocka_unit_test(keys_carry_the_name_as_hash_tag),
      cmocka_unit_test(lines_go_to_their_host_partition),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
