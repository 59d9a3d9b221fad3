/* hash_table.h: find, insert, replace, remove, growth, collisions, iteration, and the hash
 * functions (FNV-1a's digits are fixed by the -o contract). */
#include "unit_helpers.h"

#include "afetch/hash_table.h"

/* Entries the tests own: keys are bytes (NUL included), values are pointers to entries. */
struct item {
  char key[40];
  size_t length;
};

static bool item_matches(const void *context, uint64_t value, const void *key, size_t length) {
  (void)context;
  const struct item *item = (const struct item *)(uintptr_t)value;
  return item->length == length && memcmp(item->key, key, length) == 0;
}

static uint64_t value_of(const struct item *item) { return (uint64_t)(uintptr_t)item; }

static void set_key(struct item *item, unsigned i) {
  item->length = (size_t)snprintf(item->key, sizeof item->key, "https://example.com/%u", i);
}

static uint64_t find_item(const struct hash_table *table, const struct item *item) {
  return hash_table_find(table, hash_bytes(item->key, item->length), item->key, item->length);
}

static void inserted_keys_are_found_and_others_not(void **state) {
  (void)state;
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  struct item a = {"alpha", 5}, b = {"beta", 4}, absent = {"gamma", 5};
  assert_int_equal(find_item(&table, &a), 0); /* empty, nothing allocated */
  assert_true(hash_table_insert(&table, hash_bytes(a.key, a.length), value_of(&a)));
  assert_true(hash_table_insert(&table, hash_bytes(b.key, b.length), value_of(&b)));
  assert_int_equal(find_item(&table, &a), value_of(&a));
  assert_int_equal(find_item(&table, &b), value_of(&b));
  assert_int_equal(find_item(&table, &absent), 0);
  assert_int_equal(hash_table_count(&table), 2);
  assert_int_equal(hash_string("alpha"), hash_bytes("alpha", 5));
  hash_table_free(&table);
  assert_int_equal(hash_table_count(&table), 0);
  assert_int_equal(find_item(&table, &a), 0);
}

static void removed_keys_are_gone_and_can_come_back(void **state) {
  (void)state;
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  struct item a = {"alpha", 5}, again = {"alpha", 5};
  uint64_t hash = hash_bytes(a.key, a.length);
  assert_false(hash_table_remove(&table, hash, value_of(&a)));
  assert_true(hash_table_insert(&table, hash, value_of(&a)));
  assert_true(hash_table_remove(&table, hash, value_of(&a)));
  assert_false(hash_table_remove(&table, hash, value_of(&a)));
  assert_int_equal(find_item(&table, &a), 0);
  assert_int_equal(hash_table_count(&table), 0);
  assert_true(hash_table_insert(&table, hash, value_of(&again)));
  assert_int_equal(find_item(&table, &a), value_of(&again));
  hash_table_free(&table);
}

static void replace_swaps_the_value_of_a_key(void **state) {
  (void)state;
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  struct item old = {"key", 3}, new = {"key", 3}, other = {"other", 5};
  uint64_t hash = hash_bytes("key", 3);
  assert_false(hash_table_replace(&table, hash, value_of(&old), value_of(&new)));
  assert_true(hash_table_insert(&table, hash, value_of(&old)));
  assert_false(hash_table_replace(&table, hash, value_of(&other), value_of(&new)));
  assert_true(hash_table_replace(&table, hash, value_of(&old), value_of(&new)));
  assert_int_equal(find_item(&table, &old), value_of(&new));
  assert_int_equal(hash_table_count(&table), 1);
  hash_table_free(&table);
}

static void many_keys_grow_the_table_and_stay_found(void **state) {
  (void)state;
  enum { COUNT = 200000 };
  struct item *items = calloc(COUNT, sizeof *items);
  assert_non_null(items);
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  for (unsigned i = 0; i < COUNT; i++) {
    set_key(&items[i], i);
    assert_true(hash_table_insert(&table, hash_bytes(items[i].key, items[i].length),
                                  value_of(&items[i])));
  }
  assert_int_equal(hash_table_count(&table), COUNT);
  assert_true(table.capacity >= COUNT * 4 / 3);
  for (unsigned i = 0; i < COUNT; i++)
    assert_int_equal(find_item(&table, &items[i]), value_of(&items[i]));
  struct item absent;
  set_key(&absent, COUNT);
  assert_int_equal(find_item(&table, &absent), 0);
  /* Every other key removed: the rest stay found, the removed ones are gone. */
  for (unsigned i = 0; i < COUNT; i += 2)
    assert_true(hash_table_remove(&table, hash_bytes(items[i].key, items[i].length),
                                  value_of(&items[i])));
  for (unsigned i = 0; i < COUNT; i++)
    assert_int_equal(find_item(&table, &items[i]), i % 2 ? value_of(&items[i]) : 0);
  assert_int_equal(hash_table_count(&table), COUNT / 2);
  hash_table_free(&table);
  free(items);
}

/* Key i's hash in colliding_keys_are_told_apart(): the odd keys share one whole hash, the
 * even ones only its home slot, the last of `capacity` (so the cluster wraps around). */
static uint64_t colliding_hash(unsigned i, size_t capacity) {
  return i % 2 ? UINT64_C(0xabc) * capacity + capacity - 1 : (uint64_t)i * capacity + capacity - 1;
}

static void colliding_keys_are_told_apart(void **state) {
  (void)state;
  enum { COUNT = 12 };
  struct item items[COUNT];
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  assert_true(hash_table_insert(&table, 1, value_of(&items[0]))); /* allocates the slots */
  assert_true(hash_table_remove(&table, 1, value_of(&items[0])));
  size_t capacity = table.capacity;
  for (unsigned i = 0; i < COUNT; i++) {
    set_key(&items[i], i);
    assert_true(hash_table_insert(&table, colliding_hash(i, capacity), value_of(&items[i])));
  }
  assert_int_equal(table.capacity, capacity); /* 12 of 16: no growth yet */
  for (unsigned i = 0; i < COUNT; i++)
    assert_int_equal(
        hash_table_find(&table, colliding_hash(i, capacity), items[i].key, items[i].length),
        value_of(&items[i]));
  /* Removals inside the cluster (keys 1, 5, 9); all others stay found. */
  for (unsigned r = 1; r < COUNT; r += 4)
    assert_true(hash_table_remove(&table, colliding_hash(r, capacity), value_of(&items[r])));
  for (unsigned i = 0; i < COUNT; i++)
    assert_int_equal(
        hash_table_find(&table, colliding_hash(i, capacity), items[i].key, items[i].length),
        i % 4 == 1 ? 0 : value_of(&items[i]));
  assert_int_equal(hash_table_count(&table), COUNT - 3);
  hash_table_free(&table);
}

/* Random inserts and removals on few home slots, checked against a plain array after each. */
static void random_removals_and_reinsertions_match_a_model(void **state) {
  (void)state;
  enum { KEYS = 300, STEPS = 20000 };
  static struct item items[KEYS];
  bool present[KEYS] = {false};
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  unsigned seed = 12345;
  for (unsigned i = 0; i < KEYS; i++)
    set_key(&items[i], i);
  for (unsigned step = 0; step < STEPS; step++) {
    seed = seed * 1103515245u + 12345u;
    unsigned k = (seed >> 8) % KEYS;
    uint64_t hash = k % 37; /* 37 home values: long clusters */
    if (present[k])
      assert_true(hash_table_remove(&table, hash, value_of(&items[k])));
    else
      assert_true(hash_table_insert(&table, hash, value_of(&items[k])));
    present[k] = !present[k];
    if (step % 97 == 0 || step + 1 == STEPS) {
      size_t count = 0;
      for (unsigned i = 0; i < KEYS; i++) {
        assert_int_equal(hash_table_find(&table, i % 37, items[i].key, items[i].length),
                         present[i] ? value_of(&items[i]) : 0);
        count += present[i];
      }
      assert_int_equal(hash_table_count(&table), count);
    }
  }
  hash_table_free(&table);
}

static void iteration_visits_every_value_once(void **state) {
  (void)state;
  enum { COUNT = 1000 };
  static struct item items[COUNT];
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  size_t cursor = 0;
  assert_int_equal(hash_table_next(&table, &cursor), 0);
  for (unsigned i = 0; i < COUNT; i++) {
    set_key(&items[i], i);
    assert_true(hash_table_insert(&table, hash_bytes(items[i].key, items[i].length),
                                  value_of(&items[i])));
  }
  unsigned visits[COUNT] = {0};
  cursor = 0;
  for (uint64_t value; (value = hash_table_next(&table, &cursor));)
    visits[(const struct item *)(uintptr_t)value - items]++;
  for (unsigned i = 0; i < COUNT; i++)
    assert_int_equal(visits[i], 1);
  hash_table_clear(&table);
  assert_int_equal(hash_table_count(&table), 0);
  cursor = 0;
  assert_int_equal(hash_table_next(&table, &cursor), 0);
  assert_int_equal(find_item(&table, &items[0]), 0);
  hash_table_free(&table);
}

static void keys_with_nul_bytes_differ_by_length_and_content(void **state) {
  (void)state;
  struct item short_key = {{'a', '\0'}, 1}, long_key = {{'a', '\0'}, 2},
              other = {{'a', '\0', 'b'}, 3}, same = {{'a', '\0', 'c'}, 3};
  struct hash_table table;
  hash_table_init(&table, item_matches, NULL);
  struct item *all[] = {&short_key, &long_key, &other};
  for (size_t i = 0; i < HELPER_COUNT(all); i++)
    assert_true(
        hash_table_insert(&table, hash_bytes(all[i]->key, all[i]->length), value_of(all[i])));
  for (size_t i = 0; i < HELPER_COUNT(all); i++)
    assert_int_equal(find_item(&table, all[i]), value_of(all[i]));
  assert_int_equal(find_item(&table, &same), 0);
  assert_int_not_equal(hash_bytes("a\0b", 3), hash_bytes("a\0c", 3));
  hash_table_free(&table);
}

/* Without a match function the hash is the key: a map of ids or fingerprints. */
static void ids_are_keys_without_a_match_function(void **state) {
  (void)state;
  struct hash_table table;
  hash_table_init(&table, NULL, NULL);
  for (uint64_t id = 0; id < 5000; id++)
    assert_true(hash_table_insert(&table, id, id * 3 + 1));
  for (uint64_t id = 0; id < 5000; id++)
    assert_int_equal(hash_table_find(&table, id, NULL, 0), id * 3 + 1);
  assert_int_equal(hash_table_find(&table, 5000, NULL, 0), 0);
  assert_true(hash_table_remove(&table, 0, 1));
  assert_int_equal(hash_table_find(&table, 0, NULL, 0), 0);
  assert_int_equal(hash_table_find(&table, 4096, NULL, 0), 4096 * 3 + 1);
  hash_table_free(&table);
}

/* The -o contract's digits: FNV-1a's published test vectors. */
static void fnv1a64_gives_the_published_values(void **state) {
  (void)state;
  assert_int_equal(hash_fnv1a64("", 0), UINT64_C(0xcbf29ce484222325));
  assert_int_equal(hash_fnv1a64("a", 1), UINT64_C(0xaf63dc4c8601ec8c));
  assert_int_equal(hash_fnv1a64("foobar", 6), UINT64_C(0x85944171f73967e8));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(inserted_keys_are_found_and_others_not),
      cmocka_unit_test(removed_keys_are_gone_and_can_come_back),
      cmocka_unit_test(replace_swaps_the_value_of_a_key),
      cmocka_unit_test(many_keys_grow_the_table_and_stay_found),
      cmocka_unit_test(colliding_keys_are_told_apart),
      cmocka_unit_test(random_removals_and_reinsertions_match_a_model),
      cmocka_unit_test(iteration_visits_every_value_once),
      cmocka_unit_test(keys_with_nul_bytes_differ_by_length_and_content),
      cmocka_unit_test(ids_are_keys_without_a_match_function),
      cmocka_unit_test(fnv1a64_gives_the_published_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
