/* progress.h: the progress line's text, its 100 ms redraw timer, and the count of URL lines
 * behind "N/TOTAL done". */
#include "unit_helpers.h"

#include <sys/stat.h>

#include "afetch/options.h"
#include "afetch/progress.h"

static const struct progress_counts some_counts = {
    .done = 1000, .total = 10000, .in_flight = 12, .ok = 970, .failed = 30, .bytes = 12897485};

static void format_with_total_shows_eta(void **state) {
  (void)state;
  char line[256];
  progress_format(&some_counts, 100.0, line, sizeof line);
  assert_string_equal(line, "afetch: 1000/10000 done  12 in flight  970 ok  30 failed  10.0 req/s"
                            "  12.3 MiB  0:01:40  ETA 0:15:00");
}

static void format_without_total_has_no_eta(void **state) {
  (void)state;
  struct progress_counts counts = some_counts;
  counts.total = 0;
  char line[256];
  progress_format(&counts, 100.0, line, sizeof line);
  assert_string_equal(line, "afetch: 1000 done  12 in flight  970 ok  30 failed  10.0 req/s"
                            "  12.3 MiB  0:01:40");
}

static void format_shows_eta_and_elapsed_as_hours_minutes_seconds(void **state) {
  (void)state;
  struct progress_counts counts = {.done = 1, .total = 10001, .ok = 1};
  char line[256];
  progress_format(&counts, 1.0, line, sizeof line);
  assert_string_equal(line, "afetch: 1/10001 done  0 in flight  1 ok  0 failed  1.0 req/s  0 B"
                            "  0:00:01  ETA 2:46:40");
  /* A partial second of ETA is rounded up; elapsed counts whole seconds. */
  counts = (struct progress_counts){.done = 36000, .total = 36001, .ok = 36000};
  progress_format(&counts, 36000.9, line, sizeof line);
  assert_string_equal(line, "afetch: 36000/36001 done  0 in flight  36000 ok  0 failed  1.0 req/s"
                            "  0 B  10:00:00  ETA 0:00:02");
}

static void format_has_no_eta_without_rate_or_work_left(void **state) {
  (void)state;
  struct progress_counts counts = {.done = 0, .total = 50, .in_flight = 3};
  char line[256];
  progress_format(&counts, 0.0005, line, sizeof line);
  assert_string_equal(line,
                      "afetch: 0/50 done  3 in flight  0 ok  0 failed  0.0 req/s  0 B  0:00:00");
  counts = (struct progress_counts){.done = 50, .total = 50, .ok = 40, .failed = 10};
  progress_format(&counts, 5.0, line, sizeof line);
  assert_string_equal(
      line, "afetch: 50/50 done  0 in flight  40 ok  10 failed  10.0 req/s  0 B  0:00:05");
}

static void format_shows_bytes_in_binary_units(void **state) {
  (void)state;
  const struct {
    uint64_t bytes;
    const char *text;
  } cases[] = {
      {0, "  0 B  "},
      {1023, "  1023 B  "},
      {1024, "  1.0 KiB  "},
      {1536, "  1.5 KiB  "},
      {1048575, "  1.0 MiB  "}, /* 1023.999 KiB would print as 1024.0 KiB */
      {UINT64_C(3) << 29, "  1.5 GiB  "},
      {UINT64_C(5) << 40, "  5120.0 GiB  "},
  };
  for (size_t i = 0; i < HELPER_COUNT(cases); i++) {
    struct progress_counts counts = {.bytes = cases[i].bytes};
    char line[256];
    progress_format(&counts, 1.0, line, sizeof line);
    assert_non_null(strstr(line, cases[i].text));
  }
}

static void format_truncates_to_the_buffer(void **state) {
  (void)state;
  char line[12];
  progress_format(&some_counts, 100.0, line, sizeof line);
  assert_string_equal(line, "afetch: 100");
}

/* An inputs array and its length, as progress_count_lines() takes them. */
#define INPUTS(...)                                                                                \
  (struct afetch_input[]){__VA_ARGS__},                                                            \
      sizeof((struct afetch_input[]){__VA_ARGS__}) / sizeof(struct afetch_input)
#define FILE_INPUT(path) ((struct afetch_input){.kind = AFETCH_INPUT_FILE, .value = (path)})
#define URL_INPUT(url) ((struct afetch_input){.kind = AFETCH_INPUT_URL, .value = (url)})

/* progress_count_lines() of one file holding `content`. */
static uint64_t count_of(const char *content) {
  char path[HELPER_PATH_SIZE];
  helper_temp_file(content, strlen(content), path);
  uint64_t count = progress_count_lines(INPUTS(FILE_INPUT(path)));
  assert_int_equal(unlink(path), 0);
  return count;
}

static void count_skips_blank_lines_and_comments(void **state) {
  (void)state;
  assert_int_equal(count_of("http://a/\n"
                            "\n"
                            "# a comment\n"
                            "   \t \n"
                            "  \t# an indented comment\n"
                            "\thttp://b/  \n"
                            "{\"url\": \"http://c/\"}\n"),
                   3);
  assert_int_equal(count_of(""), 0);
  assert_int_equal(count_of("\n\n#\n"), 0);
}

static void count_handles_crlf_and_a_last_line_without_newline(void **state) {
  (void)state;
  assert_int_equal(count_of("http://a/\r\n\r\n \r\n# c\r\nhttp://b/\r\nhttp://c/"), 3);
  assert_int_equal(count_of("http://a/"), 1);
  assert_int_equal(count_of("# only a comment"), 0);
}

static void count_sums_two_files(void **state) {
  (void)state;
  char first[HELPER_PATH_SIZE], second[HELPER_PATH_SIZE];
  helper_temp_file("http://a/\nhttp://b/\n", 20, first);
  helper_temp_file("# c\nhttp://c/", 13, second);
  assert_int_equal(progress_count_lines(INPUTS(FILE_INPUT(first), FILE_INPUT(second))), 3);
  /* A URL argument is one line. */
  assert_int_equal(
      progress_count_lines(INPUTS(URL_INPUT("http://x/"), FILE_INPUT(first), URL_INPUT("y.z"))), 4);
  assert_int_equal(unlink(first), 0);
  assert_int_equal(unlink(second), 0);
}

static void count_is_zero_for_stdin_a_fifo_or_a_missing_file(void **state) {
  (void)state;
  char file[HELPER_PATH_SIZE];
  helper_temp_file("http://a/\n", 10, file);
  char dir[HELPER_PATH_SIZE];
  snprintf(dir, sizeof dir, "/tmp/afetch-unit-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char fifo[HELPER_PATH_SIZE + 8], missing[HELPER_PATH_SIZE + 8];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  snprintf(missing, sizeof missing, "%s/none", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);

  struct afetch_input standard_input = {.kind = AFETCH_INPUT_STDIN, .value = "-"};
  assert_int_equal(progress_count_lines(INPUTS(FILE_INPUT(file), standard_input)), 0);
  /* returns without blocking */
  assert_int_equal(progress_count_lines(INPUTS(FILE_INPUT(fifo), FILE_INPUT(file))), 0);
  assert_int_equal(progress_count_lines(INPUTS(FILE_INPUT(file), FILE_INPUT(missing))), 0);
  assert_int_equal(progress_count_lines(INPUTS(FILE_INPUT(dir))), 0);
  assert_int_equal(progress_count_lines(NULL, 0), 0);
  assert_int_equal(progress_count_lines(INPUTS(FILE_INPUT(file))), 1);

  assert_int_equal(unlink(fifo), 0);
  assert_int_equal(rmdir(dir), 0);
  assert_int_equal(unlink(file), 0);
}

/* The figures the timer asks for; counts the calls. */
struct fake_run {
  int queries;
};

static void fake_query(void *arg, struct progress_counts *counts) {
  struct fake_run *run = arg;
  run->queries++;
  *counts = (struct progress_counts){.done = 3, .total = 10, .in_flight = 2, .ok = 3};
}

static void exit_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  event_base_loopexit(arg, NULL);
}

static size_t count_char(const char *text, char c) {
  size_t count = 0;
  for (; *text; text++)
    count += *text == c;
  return count;
}

static void timer_redraws_the_line_and_free_clears_it(void **state) {
  (void)state;
  struct event_base *base = event_base_new();
  assert_non_null(base);
  FILE *out = tmpfile();
  assert_non_null(out);
  struct fake_run run = {0};
  struct progress *progress = progress_new(base, out, fake_query, &run);
  assert_non_null(progress);
  struct event *stop = evtimer_new(base, exit_cb, base);
  assert_non_null(stop);
  struct timeval after = {0, 250000};
  assert_int_equal(evtimer_add(stop, &after), 0);
  assert_int_equal(event_base_dispatch(base), 0);

  char *text = helper_file_content(fileno(out), NULL);
  size_t redraws = count_char(text, '\r');
  assert_true(redraws >= 2);
  assert_int_equal(run.queries, (int)redraws);
  const char *prefix = "\rafetch: 3/10 done  2 in flight  3 ok  0 failed  ";
  assert_memory_equal(text, prefix, strlen(prefix));
  assert_non_null(strstr(text, "\x1b[K\rafetch: 3/10 done"));
  size_t length = strlen(text);
  assert_memory_equal(text + length - 3, "\x1b[K", 3);
  free(text);

  progress_free(progress);
  text = helper_file_content(fileno(out), &length);
  assert_int_equal(count_char(text, '\r'), redraws + 1);
  assert_true(length >= 4);
  assert_string_equal(text + length - 4, "\r\x1b[K");
  free(text);
  event_free(stop);
  fclose(out);
  event_base_free(base);
}

static void clear_erases_only_a_drawn_line(void **state) {
  (void)state;
  struct event_base *base = event_base_new();
  assert_non_null(base);
  FILE *out = tmpfile();
  assert_non_null(out);
  struct fake_run run = {0};
  struct progress *progress = progress_new(base, out, fake_query, &run);
  assert_non_null(progress);
  progress_clear(progress); /* nothing drawn yet */
  char *text = helper_file_content(fileno(out), NULL);
  assert_string_equal(text, "");
  free(text);

  assert_false(helper_loop_once(base, 1000)); /* the first tick, after 100 ms */
  assert_int_equal(run.queries, 1);
  progress_clear(progress);
  progress_clear(progress);
  progress_free(progress); /* cleared already: writes nothing more */
  size_t length;
  text = helper_file_content(fileno(out), &length);
  assert_int_equal(count_char(text, '\r'), 2);
  assert_string_equal(text + length - 4, "\r\x1b[K");
  free(text);
  progress_free(NULL);
  fclose(out);
  event_base_free(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(format_with_total_shows_eta),
      cmocka_unit_test(format_without_total_has_no_eta),
      cmocka_unit_test(format_shows_eta_and_elapsed_as_hours_minutes_seconds),
      cmocka_unit_test(format_has_no_eta_without_rate_or_work_left),
      cmocka_unit_test(format_shows_bytes_in_binary_units),
      cmocka_unit_test(format_truncates_to_the_buffer),
      cmocka_unit_test(count_skips_blank_lines_and_comments),
      cmocka_unit_test(count_handles_crlf_and_a_last_line_without_newline),
      cmocka_unit_test(count_sums_two_files),
      cmocka_unit_test(count_is_zero_for_stdin_a_fifo_or_a_missing_file),
      cmocka_unit_test(timer_redraws_the_line_and_free_clears_it),
      cmocka_unit_test(clear_erases_only_a_drawn_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
