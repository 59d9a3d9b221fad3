/* source.h: URL lines from files and standard input, read lazily. */
#include "unit_helpers.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "afetch/options.h"
#include "afetch/source.h"

#define MAX_FILES 4

struct fixture {
  struct event_base *base;
  struct source *source;
  char paths[MAX_FILES][HELPER_PATH_SIZE];
  char *path_list[MAX_FILES];
  size_t path_count;
  struct afetch_input inputs[MAX_FILES]; /* path_list as the command line gives it */
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
  if (!f || !(f->base = event_base_new())) {
    free(f);
    return -1;
  }
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

/* Adds a URL argument (an input of its own, after the paths added so far). */
static void add_url(struct fixture *f, const char *url) {
  assert_true(f->path_count < MAX_FILES);
  f->path_list[f->path_count++] = (char *)url;
}

/* Opens the source on the fixture's path list ("-": standard input, "http...": a URL
 * argument); true when that worked. */
static bool try_open_source(struct fixture *f) {
  for (size_t i = 0; i < f->path_count; i++) {
    const char *value = f->path_list[i];
    enum afetch_input_kind kind = strcmp(value, "-") == 0          ? AFETCH_INPUT_STDIN
                                  : strncmp(value, "http", 4) == 0 ? AFETCH_INPUT_URL
                                                                   : AFETCH_INPUT_FILE;
    f->inputs[i] = (struct afetch_input){.kind = kind, .value = value};
  }
  f->source =
      source_open(f->base, f->inputs, f->path_count, on_readable, f, f->errbuf, sizeof f->errbuf);
  return f->source != NULL;
}

static void open_source(struct fixture *f) {
  if (!try_open_source(f))
    fail_msg("source_open failed: %s", f->errbuf);
}

/* Opens the source on one temp file holding `content`. */
static void open_text(struct fixture *f, const char *content) {
  add_text_file(f, content);
  open_source(f);
}

/* open_text, for content the caller no longer needs. */
static void open_text_and_free(struct fixture *f, char *content) {
  open_text(f, content);
  free(content);
}

/* Expects the next line to be `text` with this index (and not too long). */
static void expect_line(struct fixture *f, const char *text, uint64_t index) {
  struct source_line line;
  memset(&line, 0, sizeof line);
  enum source_status status = source_next(f->source, &line);
  if (status != SOURCE_LINE)
    fail_msg("expected line \"%s\" (index %llu), got status %d", text, (unsigned long long)index,
             (int)status);
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

/* The argument pair (lines, count) for the expected lines of a test. */
#define LINE_LIST(...) HELPER_LIST(const char *const, __VA_ARGS__)

/* Expects these lines, with consecutive indexes from `first_index`, then the end. */
static void expect_lines_then_end(struct fixture *f, uint64_t first_index, const char *const *lines,
                                  size_t count) {
  for (size_t i = 0; i < count; i++)
    expect_line(f, lines[i], first_index + i);
  expect_status(f, SOURCE_END);
}

/* Expects the next answer to be a line, which it returns. */
static struct source_line next_line(struct fixture *f) {
  struct source_line line;
  memset(&line, 0, sizeof line);
  assert_int_equal(source_next(f->source, &line), SOURCE_LINE);
  return line;
}

/* Expects the next answer to be a line marked too long, with this index. */
static struct source_line next_too_long_line(struct fixture *f, uint64_t index) {
  struct source_line line = next_line(f);
  assert_true(line.too_long);
  assert_int_equal(line.index, index);
  return line;
}

static void expect_error_names(struct fixture *f, const char *path) {
  if (!strstr(f->errbuf, path))
    fail_msg("errbuf does not name \"%s\": \"%s\"", path, f->errbuf);
}

/* ---- regular files ---- */

static void source_returns_lines_in_order_with_consecutive_indexes(void **state) {
  struct fixture *f = *state;
  open_text(f, "http://a/\nhttp://b/\nhttp://c/\n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/", "http://b/", "http://c/"));
}

static void source_keeps_answering_end_once_exhausted(void **state) {
  struct fixture *f = *state;
  open_text(f, "http://a/\n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/"));
  expect_status(f, SOURCE_END);
}

static void source_trims_spaces_tabs_and_trailing_carriage_return(void **state) {
  struct fixture *f = *state;
  open_text(f, "  http://a/ \t\r\n\thttp://b/\r\n \t http://c/\t \n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/", "http://b/", "http://c/"));
}

static void source_keeps_inner_blanks_of_a_line(void **state) {
  struct fixture *f = *state;
  open_text(f, "  http://a/ b\tc  \n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/ b\tc"));
}

static void source_skips_comments_and_blank_lines(void **state) {
  struct fixture *f = *state;
  open_text(f, "# header comment\n"
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
  expect_lines_then_end(f, 0, LINE_LIST("http://one/", "http://two/"));
}

static void source_keeps_hash_that_is_not_at_line_start(void **state) {
  struct fixture *f = *state;
  open_text(f, "http://a/#frag\n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/#frag"));
}

static void source_returns_last_line_without_trailing_newline(void **state) {
  struct fixture *f = *state;
  open_text(f, "http://a/\nhttp://last/");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/", "http://last/"));
}

static void source_trims_last_line_without_trailing_newline(void **state) {
  struct fixture *f = *state;
  open_text(f, "  http://last/ \r");
  expect_lines_then_end(f, 0, LINE_LIST("http://last/"));
}

static void source_empty_file_ends_at_once(void **state) {
  struct fixture *f = *state;
  open_text(f, "");
  expect_status(f, SOURCE_END);
}

static void source_file_of_only_comments_ends_without_a_line(void **state) {
  struct fixture *f = *state;
  open_text(f, "# a\n\n  \n# b\n");
  expect_status(f, SOURCE_END);
}

static void source_numbers_lines_across_files_in_order(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://f1-a/\nhttp://f1-b/\n");
  add_text_file(f, "# only a comment\n\n");
  add_text_file(f, "# c\nhttp://f3-a/\n");
  add_text_file(f, "http://f4-a/"); /* no trailing newline before the next file */
  open_source(f);
  expect_lines_then_end(f, 0,
                        LINE_LIST("http://f1-a/", "http://f1-b/", "http://f3-a/", "http://f4-a/"));
}

static void source_does_not_join_unterminated_last_line_with_next_file(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://first/");
  add_text_file(f, "http://second/\n");
  open_source(f);
  expect_lines_then_end(f, 0, LINE_LIST("http://first/", "http://second/"));
}

/* ---- a UTF-8 byte-order mark ---- */

#define BOM "\xEF\xBB\xBF"

static void source_skips_a_byte_order_mark_at_the_start_of_a_file(void **state) {
  struct fixture *f = *state;
  open_text(f, BOM "http://a/\nhttp://b/\n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/", "http://b/"));
}

static void source_skips_a_byte_order_mark_before_a_comment(void **state) {
  struct fixture *f = *state;
  open_text(f, BOM "# list\nhttp://a/");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/"));
}

static void source_skips_a_byte_order_mark_at_the_start_of_each_file(void **state) {
  struct fixture *f = *state;
  add_text_file(f, BOM "http://f1/\n");
  add_text_file(f, BOM);
  add_text_file(f, BOM "http://f3/");
  open_source(f);
  expect_lines_then_end(f, 0, LINE_LIST("http://f1/", "http://f3/"));
}

static void source_keeps_a_byte_order_mark_that_is_not_at_the_start(void **state) {
  /* Only the first bytes of an input can be a mark; elsewhere the bytes are the line's (and
   * make its URL invalid, as any stray bytes would). */
  struct fixture *f = *state;
  open_text(f, "http://a/\n" BOM "http://b/\n " BOM "http://c/\n");
  expect_lines_then_end(f, 0, LINE_LIST("http://a/", BOM "http://b/", BOM "http://c/"));
}

static void source_keeps_the_start_of_a_mark_that_is_not_one(void **state) {
  struct fixture *f = *state;
  open_text(f, "\xEF\xBBhttp://a/\n");
  expect_lines_then_end(f, 0, LINE_LIST("\xEF\xBBhttp://a/"));
}

static void source_keeps_a_cut_off_mark_at_the_end_of_a_file(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "\xEF\xBB");
  add_text_file(f, "http://b/\n");
  open_source(f);
  expect_lines_then_end(f, 0, LINE_LIST("\xEF\xBB", "http://b/"));
}

static void source_counts_embedded_nul_in_length(void **state) {
  struct fixture *f = *state;
  static const char content[] = "http://a\0b/\nhttp://c/\n";
  add_file(f, content, sizeof content - 1);
  open_source(f);
  struct source_line line = next_line(f);
  assert_int_equal(line.length, 11);
  assert_memory_equal(line.text, "http://a\0b/", 11);
  assert_int_equal(line.index, 0);
  expect_line(f, "http://c/", 1);
}

/* ---- line length ---- */

/* `prefix`, then `count` copies of `c`, then `suffix`; the caller frees it. */
static char *text_with_run(const char *prefix, char c, size_t count, const char *suffix) {
  size_t prefix_length = strlen(prefix), suffix_length = strlen(suffix);
  char *text = malloc(prefix_length + count + suffix_length + 1);
  assert_non_null(text);
  memcpy(text, prefix, prefix_length);
  memset(text + prefix_length, c, count);
  memcpy(text + prefix_length + count, suffix, suffix_length + 1);
  return text;
}

static void source_accepts_line_of_exactly_max_length(void **state) {
  struct fixture *f = *state;
  char *content = text_with_run("", 'x', SOURCE_MAX_LINE, "\nhttp://next/\n");
  open_text(f, content);
  struct source_line line = next_line(f);
  assert_false(line.too_long);
  assert_int_equal(line.index, 0);
  assert_int_equal(line.length, SOURCE_MAX_LINE);
  assert_memory_equal(line.text, content, SOURCE_MAX_LINE);
  expect_lines_then_end(f, 1, LINE_LIST("http://next/"));
  free(content);
}

static void source_marks_line_one_byte_over_max_as_too_long(void **state) {
  struct fixture *f = *state;
  open_text_and_free(f, text_with_run("", 'y', SOURCE_MAX_LINE + 1, "\nhttp://next/\n"));
  struct source_line line = next_too_long_line(f, 0);
  assert_non_null(line.text);
  assert_true(line.length <= SOURCE_MAX_LINE + 1);
  assert_true(line.length > 0);
  assert_int_equal(line.text[0], 'y');
  expect_lines_then_end(f, 1, LINE_LIST("http://next/"));
}

static void source_discards_rest_of_a_very_long_line_and_reads_the_next(void **state) {
  struct fixture *f = *state;
  open_text_and_free(f, text_with_run("http://before/\n", 'z', 5 * SOURCE_MAX_LINE + 123,
                                      "\n  http://after/\r\n"));
  expect_line(f, "http://before/", 0);
  struct source_line line = next_too_long_line(f, 1);
  assert_true(line.length <= SOURCE_MAX_LINE + 1);
  assert_int_equal(line.text[0], 'z');
  expect_lines_then_end(f, 2, LINE_LIST("http://after/"));
}

static void source_skips_a_comment_longer_than_max_without_an_index(void **state) {
  struct fixture *f = *state;
  open_text_and_free(f, text_with_run("", '#', 3 * SOURCE_MAX_LINE, "\nhttp://after-comment/\n"));
  expect_lines_then_end(f, 0, LINE_LIST("http://after-comment/"));
}

static void source_skips_a_blank_line_longer_than_max_without_an_index(void **state) {
  struct fixture *f = *state;
  open_text_and_free(f, text_with_run("", ' ', 2 * SOURCE_MAX_LINE, "\nhttp://after-blank/\n"));
  expect_lines_then_end(f, 0, LINE_LIST("http://after-blank/"));
}

static void source_reports_consecutive_too_long_lines_each_with_its_index(void **state) {
  struct fixture *f = *state;
  char *one = text_with_run("", 'a', SOURCE_MAX_LINE + 10, "\n");
  open_text_and_free(f, text_with_run(one, 'b', 3 * SOURCE_MAX_LINE, "\nhttp://ok/\n"));
  free(one);
  assert_int_equal(next_too_long_line(f, 0).text[0], 'a');
  assert_int_equal(next_too_long_line(f, 1).text[0], 'b');
  expect_lines_then_end(f, 2, LINE_LIST("http://ok/"));
}

static void source_marks_too_long_unterminated_last_line(void **state) {
  struct fixture *f = *state;
  open_text_and_free(f, text_with_run("", 'w', 2 * SOURCE_MAX_LINE, ""));
  next_too_long_line(f, 0);
  expect_status(f, SOURCE_END);
}

/* ---- failures to open ---- */

static void source_open_fails_on_missing_file_and_names_it(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\n");
  add_path(f, "/nonexistent-afetch-dir/missing-urls.txt");
  f->errbuf[0] = '\0';
  assert_false(try_open_source(f));
  expect_error_names(f, "/nonexistent-afetch-dir/missing-urls.txt");
}

static void source_open_fails_on_missing_first_file_before_reading_others(void **state) {
  struct fixture *f = *state;
  add_path(f, "/nonexistent-afetch-dir/first.txt");
  add_text_file(f, "http://a/\n");
  assert_false(try_open_source(f));
  expect_error_names(f, "/nonexistent-afetch-dir/first.txt");
}

static void source_open_fails_on_unreadable_file_and_names_it(void **state) {
  struct fixture *f = *state;
  add_text_file(f, "http://a/\n");
  assert_int_equal(chmod(f->paths[0], 0), 0);
  /* Root reads a mode-000 file anyway: open it as "nobody" for the moment. */
  bool was_root = geteuid() == 0;
  if (was_root)
    assert_int_equal(seteuid(65534), 0);
  bool opened = try_open_source(f);
  if (was_root)
    assert_int_equal(seteuid(0), 0);
  assert_false(opened);
  expect_error_names(f, f->paths[0]);
}

static void source_open_fails_on_a_directory_and_names_it(void **state) {
  struct fixture *f = *state;
  add_path(f, "/tmp");
  if (try_open_source(f)) {
    /* Accepting it at open time is tolerable only if reading then fails. */
    struct source_line line;
    enum source_status status = source_next(f->source, &line);
    fail_msg("source_open accepted a directory; source_next then said %d", (int)status);
  }
  expect_error_names(f, "/tmp");
}

static void source_reads_dev_null_as_an_empty_input(void **state) {
  struct fixture *f = *state;
  add_path(f, "/dev/null");
  add_text_file(f, "http://after-null/\n");
  open_source(f);
  expect_lines_then_end(f, 0, LINE_LIST("http://after-null/"));
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

/* Opens the source on "-" with fd 0 a new, empty pipe, and expects it to be pending; returns
 * the pipe's write end. */
static int open_stdin_pipe_source(struct fixture *f) {
  int writer = stdin_pipe(f);
  add_path(f, "-");
  open_source(f);
  expect_status(f, SOURCE_PENDING);
  return writer;
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

/* Writes `text` to the pipe and waits until the source says it is readable. */
static void feed(struct fixture *f, int writer, const char *text) {
  write_all(writer, text);
  wait_readable(f);
}

/* Closes the pipe and waits until the source says it is readable. */
static void close_and_wait(struct fixture *f, int writer) {
  close(writer);
  wait_readable(f);
}

/* The next answer, after one more readable event if the source is still pending (EOF may
 * already have been seen, or need one more readable event). */
static enum source_status next_after_pending(struct fixture *f, struct source_line *line) {
  enum source_status status = source_next(f->source, line);
  if (status == SOURCE_PENDING) {
    wait_readable(f);
    status = source_next(f->source, line);
  }
  return status;
}

static void source_reads_dash_as_standard_input_pipe(void **state) {
  struct fixture *f = *state;
  int writer = open_stdin_pipe_source(f);
  assert_int_equal(f->readable_calls, 0);

  feed(f, writer, "  http://p1/\r\n# comment\n\nhttp://p2/\n");
  expect_line(f, "http://p1/", 0);
  expect_line(f, "http://p2/", 1);
  expect_status(f, SOURCE_PENDING);

  feed(f, writer, "http://p3/\n");
  expect_line(f, "http://p3/", 2);
  expect_status(f, SOURCE_PENDING);

  close_and_wait(f, writer);
  expect_status(f, SOURCE_END);
}

static void source_with_no_inputs_ends_at_once(void **state) {
  struct fixture *f = *state;
  open_source(f);
  expect_status(f, SOURCE_END);
}

/* URL arguments are inputs of one line each, numbered in order with the files' lines. */
static void source_reads_url_arguments_among_files_in_order(void **state) {
  struct fixture *f = *state;
  add_url(f, "http://first/");
  add_text_file(f, "http://a/\n# comment\nhttp://b/\n");
  add_url(f, "http://last/");
  open_source(f);
  expect_line(f, "http://first/", 0);
  expect_line(f, "http://a/", 1);
  expect_line(f, "http://b/", 2);
  expect_line(f, "http://last/", 3);
  expect_status(f, SOURCE_END);
}

static void source_open_failure_hints_at_a_url_without_scheme(void **state) {
  struct fixture *f = *state;
  add_path(f, "example.invalid/page");
  assert_false(try_open_source(f));
  if (!strstr(f->errbuf, "example.invalid/page") || !strstr(f->errbuf, "http://example.invalid"))
    fail_msg("the message should name the argument and suggest its URL: %s", f->errbuf);
  f->path_count = 0;
  add_path(f, "/nonexistent/urls.txt");
  assert_false(try_open_source(f));
  if (strstr(f->errbuf, "http://"))
    fail_msg("a missing list file is not a URL: %s", f->errbuf);
}

static void source_does_not_return_a_partial_line_from_a_pipe(void **state) {
  struct fixture *f = *state;
  int writer = open_stdin_pipe_source(f);

  write_all(writer, "http://par");
  /* The source may or may not call on_readable for half a line: just give it a pass. */
  helper_loop_once(f->base, 200);
  expect_status(f, SOURCE_PENDING);

  feed(f, writer, "tial/\nhttp://unterminated/");
  expect_line(f, "http://partial/", 0);
  expect_status(f, SOURCE_PENDING);

  close_and_wait(f, writer);
  expect_lines_then_end(f, 1, LINE_LIST("http://unterminated/"));
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
  close_and_wait(f, writer);
  expect_line(f, "http://stdin/", 1);
  struct source_line line;
  assert_int_equal(next_after_pending(f, &line), SOURCE_LINE);
  assert_string_equal(line.text, "http://file-b/");
  assert_int_equal(line.index, 2);
  expect_status(f, SOURCE_END);
}

static void source_skips_a_byte_order_mark_arriving_in_pieces_on_a_pipe(void **state) {
  struct fixture *f = *state;
  int writer = open_stdin_pipe_source(f);
  feed(f, writer, "\xEF");
  expect_status(f, SOURCE_PENDING);
  feed(f, writer, "\xBB");
  expect_status(f, SOURCE_PENDING);
  feed(f, writer, "\xBFhttp://p1/\n" BOM "http://p2/\n");
  expect_line(f, "http://p1/", 0);
  expect_line(f, BOM "http://p2/", 1);
  expect_status(f, SOURCE_PENDING);
  close_and_wait(f, writer);
  expect_status(f, SOURCE_END);
}

static void source_stop_makes_later_calls_answer_end(void **state) {
  struct fixture *f = *state;
  int writer = open_stdin_pipe_source(f);
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
  open_text(f, "http://a/\nhttp://b/\n");
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
      T(source_skips_a_byte_order_mark_at_the_start_of_a_file),
      T(source_skips_a_byte_order_mark_before_a_comment),
      T(source_skips_a_byte_order_mark_at_the_start_of_each_file),
      T(source_keeps_a_byte_order_mark_that_is_not_at_the_start),
      T(source_keeps_the_start_of_a_mark_that_is_not_one),
      T(source_keeps_a_cut_off_mark_at_the_end_of_a_file),
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
      T(source_with_no_inputs_ends_at_once),
      T(source_reads_url_arguments_among_files_in_order),
      T(source_open_failure_hints_at_a_url_without_scheme),
      T(source_does_not_return_a_partial_line_from_a_pipe),
      T(source_reads_files_then_standard_input_in_operand_order),
      T(source_skips_a_byte_order_mark_arriving_in_pieces_on_a_pipe),
      T(source_stop_makes_later_calls_answer_end),
      T(source_stop_on_a_file_answers_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
