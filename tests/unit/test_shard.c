/* shard.h: the split of the input between runs (--shard K/N, --shard env, --shard-by). The
 * host table is the one in docs/afetch.1 (SHARDING) and README.md: change them together. */
#include "unit_helpers.h"

#include <xxhash.h>

#include "afetch/cli.h"
#include "afetch/options.h"
#include "afetch/shard.h"

/* ---- the hash ---- */

/* The jump function is the paper's: the vectors other implementations publish (ClickHouse's
 * jumpConsistentHash tests, the Rust jump-consistent-hash crate's examples). */
static void jump_matches_published_vectors(void **state) {
  (void)state;
  assert_int_equal(shard_jump(1, 1), 0);
  assert_int_equal(shard_jump(42, 57), 43);
  assert_int_equal(shard_jump(256, 1024), 520);
  assert_int_equal(shard_jump(3735883980u, 1), 0);
  assert_int_equal(shard_jump(3735883980u, 666), 361);
  assert_int_equal(shard_jump(16045690984833335023ull, 255), 237);
  assert_int_equal(shard_jump(0, 60), 0);
  assert_int_equal(shard_jump(1, 60), 55);
  assert_int_equal(shard_jump(2, 60), 46);
}

/* The documented table: (host, N) -> K, with XXH3_64bits of the host as the key. */
static void host_table_matches_the_documentation(void **state) {
  (void)state;
  /* XXH3_64bits itself, seed 0: the empty input's published value. */
  assert_true(XXH3_64bits("", 0) == 0x2d06800538d394c2ull);
  static const struct {
    const char *host;
    uint64_t hash;
    unsigned shard[5]; /* for N = 1, 2, 3, 10, 1000 */
  } table[] = {
      {"example.com", 0x8b66107e8045bb73ull, {1, 1, 1, 5, 235}},
      {"www.example.org", 0x0cf6d8fa63263a52ull, {1, 2, 2, 5, 469}},
      {"localhost", 0x1613c5534ea9f563ull, {1, 2, 3, 4, 492}},
      {"127.0.0.1", 0x9a071d171774168cull, {1, 1, 1, 1, 896}},
      {"[::1]", 0xf0cecd338db81e1cull, {1, 1, 1, 1, 869}},
  };
  static const unsigned counts[5] = {1, 2, 3, 10, 1000};
  for (size_t i = 0; i < HELPER_COUNT(table); i++) {
    size_t length = strlen(table[i].host);
    assert_true(XXH3_64bits(table[i].host, length) == table[i].hash);
    for (size_t n = 0; n < 5; n++)
      if (shard_of_host(table[i].host, length, counts[n]) != table[i].shard[n])
        fail_msg("%s with N=%u: shard %u, the table says %u", table[i].host, counts[n],
                 shard_of_host(table[i].host, length, counts[n]), table[i].shard[n]);
  }
}

/* A URL's host is taken as curl reads it, in lower case: scheme, port, path, user and case
 * do not move a line to another shard. */
static void url_shard_is_its_lower_case_host_name(void **state) {
  (void)state;
  struct shard_spec spec = {.index = 1, .count = 10, .by = SHARD_BY_UNSET};
  const char *same_host[] = {"http://example.com/", "https://example.com:8443/a?b#c",
                             "HTTP://Example.COM/x", "http://user:pw@EXAMPLE.com:80/"};
  for (size_t i = 0; i < HELPER_COUNT(same_host); i++)
    assert_int_equal(shard_of(&spec, same_host[i], 7), 5); /* the table's example.com, N=10 */
  spec.count = 1000;
  /* curl writes IPv4 addresses in dotted form and keeps IPv6 ones in brackets. */
  assert_int_equal(shard_of(&spec, "http://127.1:8080/", 0), 896);
  assert_int_equal(shard_of(&spec, "http://[::1]:8080/", 0), 869);
  spec.by = SHARD_BY_HOST;
  assert_int_equal(shard_of(&spec, "https://LocalHost/", 0), 492);
}

/* A line with no usable URL, and every line with --shard-by line, goes by its index. */
static void lines_without_a_host_go_by_their_index(void **state) {
  (void)state;
  struct shard_spec spec = {.index = 1, .count = 3, .by = SHARD_BY_HOST};
  assert_int_equal(shard_of(&spec, NULL, 0), 1);
  assert_int_equal(shard_of(&spec, NULL, 4), 2);
  assert_int_equal(shard_of(&spec, "http://exa mple.com/", 5), 3); /* curl rejects it */
  assert_int_equal(shard_of(&spec, "file:///etc/hosts", 6), 1);    /* no host */
  spec.by = SHARD_BY_LINE;
  for (uint64_t index = 0; index < 9; index++)
    assert_int_equal(shard_of(&spec, "http://example.com/", index), index % 3 + 1);
  assert_int_equal(shard_of_line(UINT64_MAX, 1000), UINT64_MAX % 1000 + 1);
}

/* Each host in exactly one of N shards, spread evenly; without sharding every line is taken.
 * Growing N by one moves a host only to the new shard (the point of the jump hash). */
static void each_host_belongs_to_one_shard(void **state) {
  (void)state;
  struct shard_spec none = {0};
  assert_true(shard_takes(&none, NULL, 0));
  assert_true(shard_takes_link(&none, "not a url"));
  enum { HOSTS = 3000, N = 3 };
  unsigned per_shard[N + 1] = {0};
  unsigned moved = 0;
  for (unsigned h = 0; h < HOSTS; h++) {
    char url[64];
    snprintf(url, sizeof url, "http://host%u.example/", h);
    unsigned takers = 0;
    for (unsigned k = 1; k <= N; k++) {
      struct shard_spec spec = {.index = k, .count = N, .by = SHARD_BY_HOST};
      if (shard_takes(&spec, url, h)) {
        takers++;
        per_shard[k]++;
        assert_true(shard_takes_link(&spec, url));
      } else {
        assert_false(shard_takes_link(&spec, url));
      }
    }
    assert_int_equal(takers, 1);
    const char *host = url + strlen("http://");
    size_t length = strlen(host) - 1; /* without the '/' */
    unsigned before = shard_of_host(host, length, N), after = shard_of_host(host, length, N + 1);
    assert_true(after == before || after == N + 1);
    moved += after != before;
  }
  for (unsigned k = 1; k <= N; k++)
    assert_true(per_shard[k] > HOSTS / N * 9 / 10 && per_shard[k] < HOSTS / N * 11 / 10);
  assert_true(moved > HOSTS / (N + 1) * 8 / 10 && moved < HOSTS / (N + 1) * 12 / 10);
  struct shard_spec spec = {.index = 1, .count = 2};
  assert_false(shard_takes_link(&spec, "http://exa mple.com/"));
}

/* ---- --shard K/N ---- */

static char *no_variables(const char *name) {
  (void)name;
  return NULL;
}

static void k_of_n_is_parsed_within_its_range(void **state) {
  (void)state;
  static const struct {
    const char *text;
    unsigned index, count;
  } good[] = {{"1/1", 1, 1},
              {"3/3", 3, 3},
              {"2/8", 2, 8},
              {"1000000/1000000", 1000000, 1000000},
              {"07/010", 7, 10}};
  for (size_t i = 0; i < HELPER_COUNT(good); i++) {
    struct shard_spec spec = {.by = SHARD_BY_LINE};
    char message[256];
    assert_true(shard_parse(good[i].text, no_variables, &spec, message, sizeof message));
    assert_int_equal(spec.index, good[i].index);
    assert_int_equal(spec.count, good[i].count);
    assert_int_equal(spec.by, SHARD_BY_LINE); /* --shard-by's, left alone */
  }
  static const char *const bad[] = {"0/3",  "4/3",           "1/0",   "3",    "/3",   "1/",
                                    "a/b",  "1/3x",          " 1/3",  "+1/3", "-1/3", "1/1000001",
                                    "1//3", "99999999999/3", "1/3/3", "",     "ENV"};
  for (size_t i = 0; i < HELPER_COUNT(bad); i++) {
    struct shard_spec spec = {.index = 9, .count = 9};
    char message[256] = "";
    if (shard_parse(bad[i], no_variables, &spec, message, sizeof message))
      fail_msg("--shard '%s' was taken as %u/%u", bad[i], spec.index, spec.count);
    assert_int_equal(spec.index, 9);
    assert_int_equal(spec.count, 9);
    assert_non_null(strstr(message, "--shard wants K/N"));
  }
}

/* ---- --shard env ---- */

/* The environment a test sets: NAME=VALUE strings, NULL-terminated. */
static const char *const *test_environment;

static char *test_getenv(const char *name) {
  size_t length = strlen(name);
  for (const char *const *variable = test_environment; *variable; variable++)
    if (strncmp(*variable, name, length) == 0 && (*variable)[length] == '=')
      return (char *)*variable + length + 1;
  return NULL;
}

/* Parses "env" with these variables: true when taken (K/N in *spec), else the message. */
static bool parse_env(const char *const *environment, struct shard_spec *spec, char *message,
                      size_t size) {
  test_environment = environment;
  *spec = (struct shard_spec){0};
  message[0] = '\0';
  return shard_parse("env", test_getenv, spec, message, size);
}

#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_env_shard(const char *const *environment, unsigned index, unsigned count) {
  struct shard_spec spec;
  char message[256];
  if (!parse_env(environment, &spec, message, sizeof message))
    fail_msg("expected %u/%u, got: %s", index, count, message);
  assert_int_equal(spec.index, index);
  assert_int_equal(spec.count, count);
}

static void expect_env_error(const char *const *environment, const char *words) {
  struct shard_spec spec;
  char message[256];
  if (parse_env(environment, &spec, message, sizeof message))
    fail_msg("expected an error saying '%s', got %u/%u", words, spec.index, spec.count);
  if (!strstr(message, words))
    fail_msg("expected a message saying '%s', got: %s", words, message);
}

/* Kubernetes: JOB_COMPLETION_INDEX from 0, the count from AFETCH_SHARD_COUNT. */
static void kubernetes_index_counts_from_zero(void **state) {
  (void)state;
  expect_env_shard(ENV("JOB_COMPLETION_INDEX=0", "AFETCH_SHARD_COUNT=4"), 1, 4);
  expect_env_shard(ENV("JOB_COMPLETION_INDEX=3", "AFETCH_SHARD_COUNT=4"), 4, 4);
  /* Kubernetes first when both are set. */
  expect_env_shard(ENV("SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=2",
                       "SLURM_ARRAY_TASK_MIN=0", "JOB_COMPLETION_INDEX=2", "AFETCH_SHARD_COUNT=5"),
                   3, 5);
  expect_env_error(ENV("JOB_COMPLETION_INDEX=4", "AFETCH_SHARD_COUNT=4"),
                   "JOB_COMPLETION_INDEX is '4', not a whole number from 0 to 3");
  expect_env_error(ENV("JOB_COMPLETION_INDEX=0"), "AFETCH_SHARD_COUNT is not");
  expect_env_error(ENV("JOB_COMPLETION_INDEX=0", "AFETCH_SHARD_COUNT=0"),
                   "AFETCH_SHARD_COUNT is '0'");
  expect_env_error(ENV("JOB_COMPLETION_INDEX=x", "AFETCH_SHARD_COUNT=2"),
                   "JOB_COMPLETION_INDEX is 'x'");
  expect_env_error(ENV("JOB_COMPLETION_INDEX=", "AFETCH_SHARD_COUNT=2"),
                   "JOB_COMPLETION_INDEX is ''");
  expect_env_error(ENV("JOB_COMPLETION_INDEX=0", "AFETCH_SHARD_COUNT=1000001"),
                   "AFETCH_SHARD_COUNT is '1000001'");
}

/* Slurm: the task's place among consecutive IDs from SLURM_ARRAY_TASK_MIN. */
static void slurm_task_counts_from_the_array_minimum(void **state) {
  (void)state;
  expect_env_shard(
      ENV("SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_COUNT=3"), 1, 3);
  expect_env_shard(ENV("SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_MIN=5",
                       "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MAX=7",
                       "SLURM_ARRAY_TASK_STEP=1"),
                   3, 3);
  expect_env_error(
      ENV("SLURM_ARRAY_TASK_ID=8", "SLURM_ARRAY_TASK_MIN=5", "SLURM_ARRAY_TASK_COUNT=3"),
      "SLURM_ARRAY_TASK_ID is '8', not a whole number from 5 to 7");
  expect_env_error(
      ENV("SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_MIN=5", "SLURM_ARRAY_TASK_COUNT=3"),
      "SLURM_ARRAY_TASK_ID is '4'");
  expect_env_error(ENV("SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0"),
                   "SLURM_ARRAY_TASK_COUNT is not set");
  expect_env_error(ENV("SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=2"),
                   "SLURM_ARRAY_TASK_MIN is not set");
  /* --array=0-6:2 and --array=1,3,5: IDs left out. */
  expect_env_error(ENV("SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=0",
                       "SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_MAX=6",
                       "SLURM_ARRAY_TASK_STEP=2"),
                   "not consecutive");
  expect_env_error(ENV("SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=1",
                       "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MAX=5"),
                   "use --array=0-2");
  expect_env_error(ENV("PATH=/bin"), "neither JOB_COMPLETION_INDEX");
}

/* ---- the command line ---- */

static enum cli_outcome parse_args(int argc, char **argv, struct afetch_options *options,
                                   char **errors) {
  size_t size;
  FILE *out = fopen("/dev/null", "w"), *err = open_memstream(errors, &size);
  assert_non_null(out);
  assert_non_null(err);
  enum cli_outcome outcome = cli_parse(options, argc, argv, out, err);
  fclose(out);
  fclose(err);
  return outcome;
}

static void shard_options_reach_the_options(void **state) {
  (void)state;
  struct afetch_options options;
  char *errors = NULL;
  static char *sharded[] = {"afetch", "--shard-by", "line", "--shard", "2/5", NULL};
  assert_int_equal(parse_args(5, sharded, &options, &errors), CLI_RUN);
  assert_int_equal(options.shard.index, 2);
  assert_int_equal(options.shard.count, 5);
  assert_int_equal(options.shard.by, SHARD_BY_LINE);
  cli_options_free(&options);
  free(errors);

  static char *by_alone[] = {"afetch", "--shard-by", "host", NULL};
  assert_int_equal(parse_args(3, by_alone, &options, &errors), CLI_EXIT_USAGE);
  assert_non_null(strstr(errors, "--shard-by needs --shard"));
  free(errors);
  static char *crawl_by_line[] = {"afetch",     "--crawl", "--shard", "1/2",
                                  "--shard-by", "line",    NULL};
  assert_int_equal(parse_args(6, crawl_by_line, &options, &errors), CLI_EXIT_USAGE);
  assert_non_null(strstr(errors, "cannot split a crawl"));
  free(errors);
  static char *bad[] = {"afetch", "--shard", "4/3", NULL};
  assert_int_equal(parse_args(3, bad, &options, &errors), CLI_EXIT_USAGE);
  assert_non_null(strstr(errors, "afetch: --shard wants K/N"));
  assert_non_null(strstr(errors, "Usage: afetch"));
  free(errors);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(jump_matches_published_vectors),
      cmocka_unit_test(host_table_matches_the_documentation),
      cmocka_unit_test(url_shard_is_its_lower_case_host_name),
      cmocka_unit_test(lines_without_a_host_go_by_their_index),
      cmocka_unit_test(each_host_belongs_to_one_shard),
      cmocka_unit_test(k_of_n_is_parsed_within_its_range),
      cmocka_unit_test(kubernetes_index_counts_from_zero),
      cmocka_unit_test(slurm_task_counts_from_the_array_minimum),
      cmocka_unit_test(shard_options_reach_the_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
