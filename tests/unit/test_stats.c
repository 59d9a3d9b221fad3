/* stats.h: counters, latency quantiles, the --stats table and the --stats-json file. */
#include "unit_helpers.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "afetch/stats.h"

/* Six results: two ok, a 404, two timeouts and a refused connection (no response). */
static const struct stats_sample known_samples[] = {
    {.ok = true,
     .status = 200,
     .error = RESULT_OK,
     .total_us = 12000,
     .bytes = 1000,
     .attempts = 1},
    {.ok = true,
     .status = 200,
     .error = RESULT_OK,
     .total_us = 34000,
     .bytes = 2000,
     .attempts = 3},
    {.ok = false,
     .status = 404,
     .error = RESULT_HTTP,
     .total_us = 120000,
     .bytes = 500,
     .attempts = 1},
    {.ok = false, .status = 0, .error = RESULT_TIMEOUT, .total_us = 5000000, .attempts = 2},
    {.ok = false, .status = 0, .error = RESULT_CONNECT, .total_us = 300, .attempts = 1},
    {.ok = false, .status = 0, .error = RESULT_TIMEOUT, .total_us = 5000000, .attempts = 1},
};

static struct stats *known_stats(void) {
  struct stats *stats = stats_new();
  assert_non_null(stats);
  for (size_t i = 0; i < HELPER_COUNT(known_samples); i++)
    stats_record(stats, &known_samples[i]);
  return stats;
}

/* The table printed for `stats`, as one string; the caller frees it. */
static char *table_text(const struct stats *stats, double wall_seconds) {
  char *text = NULL;
  size_t length = 0;
  FILE *out = open_memstream(&text, &length);
  assert_non_null(out);
  stats_print_table(stats, wall_seconds, out);
  assert_int_equal(fclose(out), 0);
  return text;
}

static void counters_follow_the_samples(void **state) {
  (void)state;
  struct stats *stats = known_stats();
  assert_int_equal(stats_results(stats), 6);
  assert_int_equal(stats_ok(stats), 2);
  assert_int_equal(stats_bytes(stats), 3500);
  stats_free(stats);
}

static void percentiles_of_uniform_latencies_are_within_one_percent(void **state) {
  (void)state;
  struct stats *stats = stats_new();
  assert_non_null(stats);
  /* 1..10000 us, shuffled by a stride coprime with 10000. */
  for (int64_t i = 0; i < 10000; i++) {
    struct stats_sample sample = {
        .ok = true, .status = 200, .total_us = (i * 7919) % 10000 + 1, .attempts = 1};
    stats_record(stats, &sample);
  }
  const struct {
    double q;
    double exact;
  } cases[] = {{0.50, 5000}, {0.90, 9000}, {0.99, 9900}, {0.999, 9990}, {0.01, 100}};
  for (size_t i = 0; i < HELPER_COUNT(cases); i++) {
    double got = (double)stats_latency_us(stats, cases[i].q);
    assert_true(fabs(got - cases[i].exact) <= cases[i].exact * 0.01);
  }
  assert_true(fabs((double)stats_latency_us(stats, 0.50) - 5000.0) <= 5000.0 * 0.02);
  assert_int_equal(stats_latency_us(stats, 1.0), 10000);
  assert_int_equal(stats_latency_us(stats, 0.0001), 1); /* small values have exact buckets */
  stats_free(stats);
}

static void one_sample_is_every_quantile(void **state) {
  (void)state;
  struct stats *stats = stats_new();
  assert_non_null(stats);
  struct stats_sample sample = {.ok = true, .status = 200, .total_us = 123457, .attempts = 1};
  stats_record(stats, &sample);
  assert_int_equal(stats_latency_us(stats, 0.5), 123457);
  assert_int_equal(stats_latency_us(stats, 0.9), 123457);
  assert_int_equal(stats_latency_us(stats, 0.99), 123457);
  assert_int_equal(stats_latency_us(stats, 1.0), 123457);
  stats_free(stats);
}

static void results_without_response_have_no_latency(void **state) {
  (void)state;
  struct stats *stats = stats_new();
  assert_non_null(stats);
  struct stats_sample no_response = {
      .status = 0, .error = RESULT_TIMEOUT, .total_us = 9000000, .attempts = 1};
  stats_record(stats, &no_response);
  assert_int_equal(stats_latency_us(stats, 0.5), -1);
  assert_int_equal(stats_latency_us(stats, 1.0), -1);
  struct stats_sample answered = {.ok = true, .status = 204, .total_us = 2000, .attempts = 1};
  stats_record(stats, &answered);
  stats_record(stats, &no_response);
  assert_int_equal(stats_latency_us(stats, 0.99), 2000);
  assert_int_equal(stats_latency_us(stats, 1.0), 2000);
  assert_int_equal(stats_results(stats), 3);
  stats_free(stats);
}

static void very_long_latencies_keep_an_exact_maximum(void **state) {
  (void)state;
  struct stats *stats = stats_new();
  assert_non_null(stats);
  struct stats_sample sample = {.ok = true, .status = 200, .total_us = INT64_C(1) << 40};
  stats_record(stats, &sample);
  sample.total_us = 1000;
  stats_record(stats, &sample);
  assert_int_equal(stats_latency_us(stats, 1.0), INT64_C(1) << 40);
  /* 1000 us lies in [512, 1024): buckets 8 us wide, 1000's is [1000, 1008). */
  assert_int_equal(stats_latency_us(stats, 0.5), 1004);
  stats_free(stats);
}

static void table_shows_every_figure(void **state) {
  (void)state;
  struct stats *stats = known_stats();
  char *text = table_text(stats, 2.5);
  assert_string_equal(text, "results     6  (ok 2, failed 4)\n"
                            "status      2xx 2  4xx 1  none 3\n"
                            "errors      timeout 2  connect 1  http 1\n"
                            "latency     p50 0.034 s  p90 0.120 s  p99 0.120 s  max 0.120 s\n"
                            "bytes       3.4 KiB\n"
                            "retries     3\n"
                            "wall        2.500 s  (2.4 req/s)\n");
  free(text);
  stats_free(stats);
}

static void table_of_an_empty_run_has_no_errors_and_no_latency(void **state) {
  (void)state;
  struct stats *stats = stats_new();
  assert_non_null(stats);
  char *text = table_text(stats, 0.0);
  assert_string_equal(text, "results     0  (ok 0, failed 0)\n"
                            "latency     none\n"
                            "bytes       0 B\n"
                            "retries     0\n"
                            "wall        0.000 s  (0.0 req/s)\n");
  free(text);
  struct stats_sample sample = {
      .ok = true, .status = 200, .total_us = 1500000, .bytes = UINT64_C(3) << 30, .attempts = 1};
  stats_record(stats, &sample);
  text = table_text(stats, 1.0);
  assert_string_equal(text, "results     1  (ok 1, failed 0)\n"
                            "status      2xx 1\n"
                            "latency     p50 1.500 s  p90 1.500 s  p99 1.500 s  max 1.500 s\n"
                            "bytes       3.0 GiB\n"
                            "retries     0\n"
                            "wall        1.000 s  (1.0 req/s)\n");
  free(text);
  stats_free(stats);
}

/* A new temp directory; its name goes to `path`. */
static void temp_directory(char path[HELPER_PATH_SIZE]) {
  snprintf(path, HELPER_PATH_SIZE, "/tmp/afetch-unit-XXXXXX");
  assert_non_null(mkdtemp(path));
}

/* How many entries (besides . and ..) a directory holds. */
static int directory_entries(const char *path) {
  DIR *dir = opendir(path);
  assert_non_null(dir);
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)))
    count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
  closedir(dir);
  return count;
}

static cJSON *read_json_file(const char *path) {
  FILE *file = fopen(path, "r");
  assert_non_null(file);
  char *text = helper_file_content(fileno(file), NULL);
  fclose(file);
  assert_non_null(strchr(text, '\n'));
  assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
  cJSON *root = cJSON_Parse(text);
  free(text);
  assert_non_null(root);
  return root;
}

static double json_number(const cJSON *object, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  assert_true(cJSON_IsNumber(item));
  return item->valuedouble;
}

static void json_file_holds_every_figure(void **state) {
  (void)state;
  char dir[HELPER_PATH_SIZE], path[HELPER_PATH_SIZE + 16];
  temp_directory(dir);
  snprintf(path, sizeof path, "%s/stats.json", dir);
  struct stats *stats = known_stats();
  assert_int_equal(stats_write_json(stats, 2.5, path), 0);
  assert_int_equal(directory_entries(dir), 1); /* no temp file left */
  cJSON *root = read_json_file(path);
  assert_true(json_number(root, "results") == 6);
  assert_true(json_number(root, "ok") == 2);
  assert_true(json_number(root, "failed") == 4);
  const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
  assert_int_equal(cJSON_GetArraySize(status), 3);
  assert_true(json_number(status, "2xx") == 2);
  assert_true(json_number(status, "4xx") == 1);
  assert_true(json_number(status, "none") == 3);
  const cJSON *errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
  assert_int_equal(cJSON_GetArraySize(errors), 3);
  assert_string_equal(errors->child->string, "timeout"); /* most frequent first */
  assert_true(json_number(errors, "timeout") == 2);
  assert_true(json_number(errors, "connect") == 1);
  assert_true(json_number(errors, "http") == 1);
  const cJSON *latency = cJSON_GetObjectItemCaseSensitive(root, "latency");
  assert_true(fabs(json_number(latency, "p50") - 0.034) <= 0.034 * 0.01);
  assert_true(json_number(latency, "p90") == 0.12);
  assert_true(json_number(latency, "p99") == 0.12);
  assert_true(json_number(latency, "max") == 0.12);
  assert_true(json_number(root, "bytes") == 3500);
  assert_true(json_number(root, "retries") == 3);
  assert_true(json_number(root, "wall") == 2.5);
  assert_true(json_number(root, "requests_per_second") == 2.4);
  cJSON_Delete(root);
  stats_free(stats);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

static void json_latency_is_null_without_responses(void **state) {
  (void)state;
  char dir[HELPER_PATH_SIZE], path[HELPER_PATH_SIZE + 16];
  temp_directory(dir);
  snprintf(path, sizeof path, "%s/stats.json", dir);
  struct stats *stats = stats_new();
  assert_non_null(stats);
  struct stats_sample sample = {.status = 0, .error = RESULT_DNS, .attempts = 1};
  stats_record(stats, &sample);
  /* Replaces an older file. */
  assert_int_equal(stats_write_json(stats, 0.5, path), 0);
  assert_int_equal(stats_write_json(stats, 0.5, path), 0);
  assert_int_equal(directory_entries(dir), 1);
  cJSON *root = read_json_file(path);
  const cJSON *latency = cJSON_GetObjectItemCaseSensitive(root, "latency");
  const char *keys[] = {"p50", "p90", "p99", "max"};
  for (size_t i = 0; i < HELPER_COUNT(keys); i++)
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(latency, keys[i])));
  assert_true(json_number(cJSON_GetObjectItemCaseSensitive(root, "errors"), "dns") == 1);
  assert_true(json_number(root, "requests_per_second") == 2);
  cJSON_Delete(root);
  stats_free(stats);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

static void json_to_an_unwritable_path_fails_and_leaves_nothing(void **state) {
  (void)state;
  char file[HELPER_PATH_SIZE], path[HELPER_PATH_SIZE + 16];
  helper_temp_file("x", 1, file);
  snprintf(path, sizeof path, "%s/stats.json", file); /* a directory under a regular file */
  struct stats *stats = known_stats();
  errno = 0;
  assert_int_equal(stats_write_json(stats, 1.0, path), -1);
  assert_int_equal(errno, ENOTDIR);
  struct stat info;
  assert_int_equal(stat(file, &info), 0);
  assert_true(S_ISREG(info.st_mode));
  assert_int_equal(info.st_size, 1);
  stats_free(stats);
  assert_int_equal(unlink(file), 0);
}

/* Pauses of hosts "h0".."h11", host i paused (i + 1) x 100 ms in one or two pieces. */
static struct stats *paused_stats(void) {
  struct stats *stats = stats_new();
  assert_non_null(stats);
  for (int i = 0; i < 12; i++) {
    char host[8];
    snprintf(host, sizeof host, "h%d", i);
    if (i % 2) {
      stats_record_host_pause(stats, host, 50000);
      stats_record_host_pause(stats, host, (int64_t)(i + 1) * 100000 - 50000);
    } else {
      stats_record_host_pause(stats, host, (int64_t)(i + 1) * 100000);
    }
  }
  return stats;
}

static void host_pauses_keep_the_ten_hosts_paused_longest(void **state) {
  (void)state;
  struct stats *stats = paused_stats();
  char *text = table_text(stats, 1.0);
  /* 18 pauses, 7.8 s; h11..h2 longest first; h0 and h1 (0.1 s, 0.2 s) left out. h11's
   * first 50 ms came while ten longer ones were listed: it counts from its second pause. */
  assert_non_null(strstr(text, "\npaused      18 pauses, 7.800 s: h11 1.150 s, h10 1.100 s, "
                               "h9 1.000 s, h8 0.900 s, h7 0.800 s, h6 0.700 s, h5 0.600 s, "
                               "h4 0.500 s, h3 0.400 s, h2 0.300 s\nwall"));
  free(text);
  char dir[HELPER_PATH_SIZE], path[HELPER_PATH_SIZE + 16];
  temp_directory(dir);
  snprintf(path, sizeof path, "%s/stats.json", dir);
  assert_int_equal(stats_write_json(stats, 1.0, path), 0);
  cJSON *root = read_json_file(path);
  const cJSON *pauses = cJSON_GetObjectItemCaseSensitive(root, "host_pauses");
  assert_true(json_number(pauses, "pauses") == 18);
  assert_true(json_number(pauses, "seconds") == 7.8);
  const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(pauses, "hosts");
  assert_int_equal(cJSON_GetArraySize(hosts), 10);
  const cJSON *first = cJSON_GetArrayItem(hosts, 0);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "host")->valuestring, "h11");
  assert_true(json_number(first, "pauses") == 1);
  assert_true(json_number(first, "seconds") == 1.15);
  const cJSON *second = cJSON_GetArrayItem(hosts, 1);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(second, "host")->valuestring, "h10");
  assert_true(json_number(second, "seconds") == 1.1);
  cJSON_Delete(root);
  stats_free(stats);
  /* Without pauses neither the line nor the key. */
  stats = known_stats();
  text = table_text(stats, 1.0);
  assert_null(strstr(text, "paused"));
  free(text);
  assert_int_equal(stats_write_json(stats, 1.0, path), 0);
  root = read_json_file(path);
  assert_null(cJSON_GetObjectItemCaseSensitive(root, "host_pauses"));
  cJSON_Delete(root);
  stats_free(stats);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(counters_follow_the_samples),
      cmocka_unit_test(percentiles_of_uniform_latencies_are_within_one_percent),
      cmocka_unit_test(one_sample_is_every_quantile),
      cmocka_unit_test(results_without_response_have_no_latency),
      cmocka_unit_test(very_long_latencies_keep_an_exact_maximum),
      cmocka_unit_test(table_shows_every_figure),
      cmocka_unit_test(table_of_an_empty_run_has_no_errors_and_no_latency),
      cmocka_unit_test(json_file_holds_every_figure),
      cmocka_unit_test(json_latency_is_null_without_responses),
      cmocka_unit_test(json_to_an_unwritable_path_fails_and_leaves_nothing),
      cmocka_unit_test(host_pauses_keep_the_ten_hosts_paused_longest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
