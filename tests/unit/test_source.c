/* source.h: URL lines from files and standard input, read lazily. */
#include "unit_helpers.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "afetch/source.h"

#define MAX_FILES 4

struct fixture {
  struct event_base *base;
  struct source *source;
  char paths[MAX_FILES][HELPER_PATH_SIZE];
  char *path_list[MAX_FILES];
  size_t path_count;
  char errbuf[512];
  int readable_calls;
  bool replaced_stdin; /* a test put a pipe on fd 0 */
  int saved_stdin;     /* the original fd 0 while it is replaced */
};

static void on_readable(void *arg) {
  struct fixture *f = arg;
  f->readable_calls++;
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  f->base = event_base_new();
  if (!f->base)
    return -1;
  f->saved_stdin = -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (f->source)
    source_close(f->source);
  for (size_t i = 0; i < f->path_count; i++)
    if (f->path_list[i] == f->paths[i])
      unlink(f->paths[i]);
  if (f->replaced_stdin) {
    dup2(f->saved_stdin, STDIN_FILENO);
    close(f->saved_stdin);
  }
  event_base_free(f->base);
  free(f);
  return 0;
}

/* Adds a temp file holding `length` bytes of `content` to the fixture's path list. */
static void add_file(struct fixture *f, const char *content, size_t length) {
  assert_true(f->path_count < MAX_FILES);
  helper_temp_file(content, length, f->paths[f->path_count]);
  f->path_list[f->path_count] = f->paths[f->path_count];
  f->path_count++;
}

static void add_text_file(struct fixture *f, const char *content) {
  add_file(f, content, strlen(content));
}

static void add_path(struct fixture *f, const char *path) {
  assert_true(f->path_count < MAX_FILES);
  f->path_list[f->path_count++] = (char *)path;
}

static void open_source(struct fixture *f) {
  f->source = source_open(f->base, f->path_list, f->path_count, on_readable, f, f->errbuf,
                          sizeof f->errbuf);
  if (!f->source)
    fail_msg("source_open failed: %s", f->errbuf);
}

/* Expects the next line to be `text` with this index (and not too long). */
static void expect_line(struct fixture *f, const char *text, uint64_t index) {
  struct source_line line;
  memset(&line, 0, sizeof line);
  enum source_status status = source_next(f->source, &line);
  if (status != SOURCE_LINE)
    fail_msg("expected line \"%s\" (index %llu), got status %d", text,
             (unsigned long long)index, (int)status);
  assert_non_null(line.text);
  assert_int_equal(line.length, strlen(text));
  assert_memory_equal(line.text, text, strlen(text));
  assert_int_equal(line.text[line.length], '\0');
  assert_int_equal(line.index, index);
  assert_false(line.too_long);
}

static void expect_status(struct fixture *f, enum source_status expected) {
  struct source_line line;
  memset(&line, 0, sizeof line);
  enum source_status status = source_next(f->source, &line);
  if (status != expected)
    fail_msg("expected status %d, got %d (line \"%.80s\")", (int)expected, (int)status,
             status == SOURCE_LINE && line.text ? line.text : "");
}

/* ---- regular files ---- */

static void source_returns_lines_in_order_with_consecutive_indexes(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\nhttp://b/\nhttp://c/\n");
  open_source(f);
  expect_line(f, "http://a/", 0);
  expect_line(f, "http://b/", 1);
  expect_line(f, "http://c/", 2);
  expect_status(f, SOURCE_END);
}

static void source_keeps_answering_end_once_exhausted(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\n");
  open_source(f);
  expect_line(f, "http://a/", 0);
  expect_status(f, SOURCE_END);
  expect_status(f, SOURCE_END);
}

static void source_trims_spaces_tabs_and_trailing_carriage_return(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "  http://a/ \t\r\n\thttp://b/\r\n \t http://c/\t \n");
  open_source(f);
  expect_line(f, "http://a/", 0);
  expect_line(f, "http://b/", 1);
  expect_line(f, "http://c/", 2);
  expect_status(f, SOURCE_END);
}

static void source_keeps_inner_blanks_of_a_line(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "  http://a/ b\tc  \n");
  open_source(f);
  expect_line(f, "http://a/ b\tc", 0);
  expect_status(f, SOURCE_END);
}

static void source_skips_comments_and_blank_lines(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "# header comment\n"
                   "\n"
                   "   \n"
                   "\t\r\n"
                   "\r\n"
                   "  # indented comment\n"
                   "http://one/\n"
                   "#http://commented-out/\n"
                   "\n"
                   "http://two/\n"
                   "# trailing comment");
  open_source(f);
  expect_line(f, "http://one/", 0);
  expect_line(f, "http://two/", 1);
  expect_status(f, SOURCE_END);
}

static void source_keeps_hash_that_is_not_at_line_start(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/#frag\n");
  open_source(f);
  expect_line(f, "http://a/#frag", 0);
  expect_status(f, SOURCE_END);
}

static void source_returns_last_line_without_trailing_newline(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\nhttp://last/");
  open_source(f);
  expect_line(f, "http://a/", 0);
  expect_line(f, "http://last/", 1);
  expect_status(f, SOURCE_END);
}

static void source_trims_last_line_without_trailing_newline(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "  http://last/ \r");
  open_source(f);
  expect_line(f, "http://last/", 0);
  expect_status(f, SOURCE_END);
}

static void source_empty_file_ends_at_once(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "");
  open_source(f);
  expect_status(f, SOURCE_END);
}

static void source_file_of_only_comments_ends_without_a_line(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "# a\n\n  \n# b\n");
  open_source(f);
  expect_status(f, SOURCE_END);
}

static void source_numbers_lines_across_files_in_order(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://f1-a/\nhttp://f1-b/\n");
  add_text_file(f, "# only a comment\n\n");
  add_text_file(f, "# c\nhttp://f3-a/\n");
  add_text_file(f, "http://f4-a/"); /* no trailing newline before the next file */
  open_source(f);
  expect_line(f, "http://f1-a/", 0);
  expect_line(f, "http://f1-b/", 1);
  expect_line(f, "http://f3-a/", 2);
  expect_line(f, "http://f4-a/", 3);
  expect_status(f, SOURCE_END);
}

static void source_does_not_join_unterminated_last_line_with_next_file(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://first/");
  add_text_file(f, "http://second/\n");
  open_source(f);
  expect_line(f, "http://first/", 0);
  expect_line(f, "http://second/", 1);
  expect_status(f, SOURCE_END);
}

static void source_counts_embedded_nul_in_length(void **state) {
  struct fixture *f = *state;
  static const char content[] = "http://a\0b/\nhttp://c/\n";
  add_file(f, content, sizeof content - 1);
  open_source(f);
  struct source_line line;
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_int_equal(line.length, 11);
  assert_memory_equal(line.text, "http://a\0b/", 11);
  assert_int_equal(line.index, 0);
  expect_line(f, "http://c/", 1);
}

/* ---- line length ---- */

static char *repeated(char c, size_t count, const char *suffix) {
  size_t suffix_length = strlen(suffix);
  char *text = malloc(count + suffix_length + 1);
  assert_non_null(text);
  memset(text, c, count);
  memcpy(text + count, suffix, suffix_length + 1);
  return text;
}

static void source_accepts_line_of_exactly_max_length(void **state) {
  struct fixture *f = *state;
  char *content = repeated('x', SOURCE_MAX_LINE, "\nhttp://next/\n");
  add_text_file(f, content);
  open_source(f);
  struct source_line line;
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_false(line.too_long);
  assert_int_equal(line.index, 0);
  assert_int_equal(line.length, SOURCE_MAX_LINE);
  assert_memory_equal(line.text, content, SOURCE_MAX_LINE);
  expect_line(f, "http://next/", 1);
  expect_status(f, SOURCE_END);
  free(content);
}

static void source_marks_line_one_byte_over_max_as_too_long(void **state) {
  struct fixture *f = *state;
  char *content = repeated('y', SOURCE_MAX_LINE + 1, "\nhttp://next/\n");
  add_text_file(f, content);
  open_source(f);
  struct source_line line;
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_true(line.too_long);
  assert_int_equal(line.index, 0);
  assert_non_null(line.text);
  assert_true(line.length <= SOURCE_MAX_LINE + 1);
  assert_true(line.length > 0);
  assert_int_equal(line.text[0], 'y');
  expect_line(f, "http://next/", 1);
  expect_status(f, SOURCE_END);
  free(content);
}

static void source_discards_rest_of_a_very_long_line_and_reads_the_next(void **state) {
  struct fixture *f = *state;
  char *long_line = repeated('z', 5 * SOURCE_MAX_LINE + 123, "\n");
  size_t long_length = strlen(long_line);
  const char *before = "http://before/\n";
  const char *after = "  http://after/\r\n";
  size_t total = strlen(before) + long_length + strlen(after);
  char *content = malloc(total + 1);
  assert_non_null(content);
  snprintf(content, total + 1, "%s%s%s", before, long_line, after);
  add_text_file(f, content);
  open_source(f);
  expect_line(f, "http://before/", 0);
  struct source_line line;
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_true(line.too_long);
  assert_int_equal(line.index, 1);
  assert_true(line.length <= SOURCE_MAX_LINE + 1);
  assert_int_equal(line.text[0], 'z');
  expect_line(f, "http://after/", 2);
  expect_status(f, SOURCE_END);
  free(long_line);
  free(content);
}

static void source_skips_a_comment_longer_than_max_without_an_index(void **state) {
  struct fixture *f = *state;
  char *comment = repeated('#', 3 * SOURCE_MAX_LINE, "\nhttp://after-comment/\n");
  add_text_file(f, comment);
  open_source(f);
  expect_line(f, "http://after-comment/", 0);
  expect_status(f, SOURCE_END);
  free(comment);
}

static void source_skips_a_blank_line_longer_than_max_without_an_index(void **state) {
  struct fixture *f = *state;
  char *blank = repeated(' ', 2 * SOURCE_MAX_LINE, "\nhttp://after-blank/\n");
  add_text_file(f, blank);
  open_source(f);
  expect_line(f, "http://after-blank/", 0);
  expect_status(f, SOURCE_END);
  free(blank);
}

static void source_reports_consecutive_too_long_lines_each_with_its_index(void **state) {
  struct fixture *f = *state;
  char *one = repeated('a', SOURCE_MAX_LINE + 10, "\n");
  char *two = repeated('b', 3 * SOURCE_MAX_LINE, "\n");
  size_t total = strlen(one) + strlen(two) + 32;
  char *content = malloc(total);
  assert_non_null(content);
  snprintf(content, total, "%s%shttp://ok/\n", one, two);
  add_text_file(f, content);
  open_source(f);
  struct source_line line;
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_true(line.too_long);
  assert_int_equal(line.index, 0);
  assert_int_equal(line.text[0], 'a');
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_true(line.too_long);
  assert_int_equal(line.index, 1);
  assert_int_equal(line.text[0], 'b');
  expect_line(f, "http://ok/", 2);
  expect_status(f, SOURCE_END);
  free(one);
  free(two);
  free(content);
}

static void source_marks_too_long_unterminated_last_line(void **state) {
  struct fixture *f = *state;
  char *content = repeated('w', 2 * SOURCE_MAX_LINE, "");
  add_text_file(f, content);
  open_source(f);
  struct source_line line;
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  assert_true(line.too_long);
  assert_int_equal(line.index, 0);
  expect_status(f, SOURCE_END);
  free(content);
}

/* ---- failures to open ---- */

static void source_open_fails_on_missing_file_and_names_it(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\n");
  add_path(f, "/nonexistent-afetch-dir/missing-urls.txt");
  f->errbuf[0] = '\0';
  f->source = source_open(f->base, f->path_list, f->path_count, on_readable, f, f->errbuf,
                          sizeof f->errbuf);
  assert_null(f->source);
  if (!strstr(f->errbuf, "/nonexistent-afetch-dir/missing-urls.txt"))
    fail_msg("errbuf does not name the missing file: \"%s\"", f->errbuf);
}

static void source_open_fails_on_missing_first_file_before_reading_others(void **state) {
  struct fixture *f = *state;
  add_path(f, "/nonexistent-afetch-dir/first.txt");
  add_text_file(f, "http://a/\n");
  f->source = source_open(f->base, f->path_list, f->path_count, on_readable, f, f->errbuf,
                          sizeof f->errbuf);
  assert_null(f->source);
  assert_non_null(strstr(f->errbuf, "/nonexistent-afetch-dir/first.txt"));
}

static void source_open_fails_on_unreadable_file_and_names_it(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\n");
  assert_int_equal(chmod(f->paths[0], 0), 0);
  /* Root reads a mode-000 file anyway: open it as "nobody" for the moment. */
  bool was_root = geteuid() == 0;
  if (was_root)
    assert_int_equal(seteuid(65534), 0);
  f->source = source_open(f->base, f->path_list, f->path_count, on_readable, f, f->errbuf,
                          sizeof f->errbuf);
  if (was_root)
    assert_int_equal(seteuid(0), 0);
  assert_null(f->source);
  if (!strstr(f->errbuf, f->paths[0]))
    fail_msg("errbuf does not name the unreadable file: \"%s\"", f->errbuf);
}

static void source_open_fails_on_a_directory_and_names_it(void **state) {
  struct fixture *f = *state;
  add_path(f, "/tmp");
  f->source = source_open(f->base, f->path_list, f->path_count, on_readable, f, f->errbuf,
                          sizeof f->errbuf);
  if (f->source) {
    /* Accepting it at open time is tolerable only if reading then fails. */
    struct source_line line;
    enum source_status status = source_next(f->source, &line);
    fail_msg("source_open accepted a directory; source_next then said %d", (int)status);
  }
  assert_non_null(strstr(f->errbuf, "/tmp"));
}

static void source_reads_dev_null_as_an_empty_input(void **state) {
  struct fixture *f = *state;
  add_path(f, "/dev/null");
  add_text_file(f, "http://after-null/\n");
  open_source(f);
  expect_line(f, "http://after-null/", 0);
  expect_status(f, SOURCE_END);
}

/* ---- volume ---- */

static void source_streams_a_million_line_file(void **state) {
  struct fixture *f = *state;
  enum { LINES = 1000000 };
  f->paths[0][0] = '\0';
  snprintf(f->paths[0], HELPER_PATH_SIZE, "/tmp/afetch-unit-XXXXXX");
  int fd = mkstemp(f->paths[0]);
  assert_true(fd >= 0);
  f->path_list[0] = f->paths[0];
  f->path_count = 1;
  FILE *out = fdopen(fd, "w");
  assert_non_null(out);
  for (unsigned i = 0; i < LINES; i++) {
    if (i % 100000 == 0)
      fputs("# progress comment\n\n", out);
    fprintf(out, "http://host/%u\n", i);
  }
  assert_int_equal(fclose(out), 0);
  open_source(f);

  uint64_t count = 0;
  struct source_line line;
  enum source_status status;
  char expected[64];
  while ((status = source_next(f->source, &line)) == SOURCE_LINE) {
    if (line.index != count)
      fail_msg("line %llu has index %llu", (unsigned long long)count,
               (unsigned long long)line.index);
    if (count % 99991 == 0 || count == LINES - 1) {
      snprintf(expected, sizeof expected, "http://host/%llu", (unsigned long long)count);
      assert_string_equal(line.text, expected);
    }
    count++;
  }
  assert_int_equal(status, SOURCE_END);
  assert_int_equal(count, LINES);
}

/* ---- standard input (a pipe) ---- */

/* Replaces fd 0 with the read end of a new pipe; returns the write end. */
static int stdin_pipe(struct fixture *f) {
  f->saved_stdin = dup(STDIN_FILENO); /* main() made sure fd 0 is open */
  assert_true(f->saved_stdin >= 0);
  f->replaced_stdin = true;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_true(dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
  close(fds[0]);
  return fds[1];
}

static void write_all(int fd, const char *text) {
  size_t length = strlen(text);
  assert_int_equal(write(fd, text, length), (ssize_t)length);
}

/* Runs loop passes (each bounded) until on_readable has been called once more. */
static void wait_readable(struct fixture *f) {
  int before = f->readable_calls;
  for (int pass = 0; pass < 5 && f->readable_calls == before; pass++)
    helper_loop_once(f->base, 2000);
  if (f->readable_calls == before)
    fail_msg("on_readable was not called after input arrived");
}

static void source_reads_dash_as_standard_input_pipe(void **state) {
  struct fixture *f = *state;
  int writer = stdin_pipe(f);
  add_path(f, "-");
  open_source(f);

  expect_status(f, SOURCE_PENDING);
  assert_int_equal(f->readable_calls, 0);

  write_all(writer, "  http://p1/\r\n# comment\n\nhttp://p2/\n");
  wait_readable(f);
  expect_line(f, "http://p1/", 0);
  expect_line(f, "http://p2/", 1);
  expect_status(f, SOURCE_PENDING);

  write_all(writer, "http://p3/\n");
  wait_readable(f);
  expect_line(f, "http://p3/", 2);
  expect_status(f, SOURCE_PENDING);

  close(writer);
  wait_readable(f);
  expect_status(f, SOURCE_END);
}

static void source_reads_standard_input_when_no_path_is_given(void **state) {
  struct fixture *f = *state;
  int writer = stdin_pipe(f);
  f->source = source_open(f->base, NULL, 0, on_readable, f, f->errbuf, sizeof f->errbuf);
  assert_non_null(f->source);
  expect_status(f, SOURCE_PENDING);
  write_all(writer, "http://only/\n");
  close(writer);
  wait_readable(f);
  expect_line(f, "http://only/", 0);
  /* EOF may already have been seen, or need one more readable event. */
  struct source_line line;
  enum source_status status = source_next(f->source, &line);
  if (status == SOURCE_PENDING) {
    wait_readable(f);
    status = source_next(f->source, &line);
  }
  assert_int_equal(status, SOURCE_END);
}

static void source_does_not_return_a_partial_line_from_a_pipe(void **state) {
  struct fixture *f = *state;
  int writer = stdin_pipe(f);
  add_path(f, "-");
  open_source(f);
  expect_status(f, SOURCE_PENDING);

  write_all(writer, "http://par");
  /* The source may or may not call on_readable for half a line: just give it a pass. */
  helper_loop_once(f->base, 200);
  expect_status(f, SOURCE_PENDING);

  write_all(writer, "tial/\nhttp://unterminated/");
  wait_readable(f);
  expect_line(f, "http://partial/", 0);
  expect_status(f, SOURCE_PENDING);

  close(writer);
  wait_readable(f);
  expect_line(f, "http://unterminated/", 1);
  expect_status(f, SOURCE_END);
}

static void source_reads_files_then_standard_input_in_operand_order(void **state) {
  struct fixture *f = *state;
  int writer = stdin_pipe(f);
  add_text_file(f, "http://file-a/\n");
  add_path(f, "-");
  add_text_file(f, "http://file-b/\n");
  open_source(f);

  expect_line(f, "http://file-a/", 0);
  expect_status(f, SOURCE_PENDING);
  write_all(writer, "http://stdin/\n");
  close(writer);
  wait_readable(f);
  expect_line(f, "http://stdin/", 1);
  struct source_line line;
  enum source_status status = source_next(f->source, &line);
  if (status == SOURCE_PENDING) {
    wait_readable(f);
    status = source_next(f->source, &line);
  }
  assert_int_equal(status, SOURCE_LINE);
  assert_string_equal(line.text, "http://file-b/");
  assert_int_equal(line.index, 2);
  expect_status(f, SOURCE_END);
}

static void source_stop_makes_later_calls_answer_end(void **state) {
  struct fixture *f = *state;
  int writer = stdin_pipe(f);
  add_path(f, "-");
  open_source(f);
  expect_status(f, SOURCE_PENDING);
  source_stop(f->source);
  write_all(writer, "http://after-stop/\n");
  /* Nothing watches the pipe any more: the bounded pass must end by its time limit. */
  assert_true(helper_loop_once(f->base, 200));
  assert_int_equal(f->readable_calls, 0);
  expect_status(f, SOURCE_END);
  close(writer);
}

static void source_stop_on_a_file_answers_end(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\nhttp://b/\n");
  open_source(f);
  expect_line(f, "http://a/", 0);
  source_stop(f->source);
  expect_status(f, SOURCE_END);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  /* Run without standard input (CI), fd 0 would go to the first descriptor a test opens,
   * such as the event base's epoll: give it /dev/null so the stdin tests own fd 0 alone. */
  if (fcntl(STDIN_FILENO, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != STDIN_FILENO)
    return 1;
  const struct CMUnitTest tests[] = {
      T(source_returns_lines_in_order_with_consecutive_indexes),
      T(source_keeps_answering_end_once_exhausted),
      T(source_trims_spaces_tabs_and_trailing_carriage_return),
      T(source_keeps_inner_blanks_of_a_line),
      T(source_skips_comments_and_blank_lines),
      T(source_keeps_hash_that_is_not_at_line_start),
      T(source_returns_last_line_without_trailing_newline),
      T(source_trims_last_line_without_trailing_newline),
      T(source_empty_file_ends_at_once),
      T(source_file_of_only_comments_ends_without_a_line),
      T(source_numbers_lines_across_files_in_order),
      T(source_does_not_join_unterminated_last_line_with_next_file),
      T(source_counts_embedded_nul_in_length),
      T(source_accepts_line_of_exactly_max_length),
      T(source_marks_line_one_byte_over_max_as_too_long),
      T(source_discards_rest_of_a_very_long_line_and_reads_the_next),
      T(source_skips_a_comment_longer_than_max_without_an_index),
      T(source_skips_a_blank_line_longer_than_max_without_an_index),
      T(source_reports_consecutive_too_long_lines_each_with_its_index),
      T(source_marks_too_long_unterminated_last_line),
      T(source_open_fails_on_missing_file_and_names_it),
      T(source_open_fails_on_missing_first_file_before_reading_others),
      T(source_open_fails_on_unreadable_file_and_names_it),
      T(source_open_fails_on_a_directory_and_names_it),
      T(source_reads_dev_null_as_an_empty_input),
      T(source_streams_a_million_line_file),
      T(source_reads_dash_as_standard_input_pipe),
      T(source_reads_standard_input_when_no_path_is_given),
      T(source_does_not_return_a_partial_line_from_a_pipe),
      T(source_reads_files_then_standard_input_in_operand_order),
      T(source_stop_makes_later_calls_answer_end),
      T(source_stop_on_a_file_answers_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
