/* sink.h: gather (input order, incremental) and ndjson (completion order) output. */
#include "unit_helpers.h"

#include <fcntl.h>
#include <signal.h>

#include <cjson/cJSON.h>

#include "afetch/json_writer.h"
#include "afetch/result.h"
#include "afetch/sink.h"

/* Longer than any first-guess serialisation buffer: the longest accepted input line. */
#define SINK_TEST_LONG_URL 65536

struct fixture {
  struct event_base *base;
  struct sink *sink;
  int fd;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  if (!f || !(f->base = event_base_new())) {
    free(f);
    return -1;
  }
  f->fd = helper_anonymous_file();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (f->sink)
    sink_free(f->sink);
  if (f->fd >= 0)
    close(f->fd);
  event_base_free(f->base);
  free(f);
  return 0;
}

static void new_sink(struct fixture *f, enum afetch_output_mode mode, size_t window) {
  f->sink = sink_new(f->base, f->fd, mode, window);
  assert_non_null(f->sink);
  assert_int_equal(sink_error(f->sink), 0);
}

/* The argument pair (indexes, count) for a list of result indexes. */
#define INDEXES(...) HELPER_LIST(const uint64_t, __VA_ARGS__)

/* Writes the result as the workers do (result_write_json), then hands the text to the sink. */
static int emit_result(struct fixture *f, const struct afetch_result *r) {
  struct json_writer writer;
  json_writer_init(&writer);
  result_write_json(r, &writer);
  assert_false(writer.failed);
  int rc = sink_emit_json(f->sink, r->index, writer.data, writer.length);
  memset(writer.data, 'X', writer.length); /* the sink must not keep the borrowed text */
  json_writer_free(&writer);
  return rc;
}

/* A result whose url names its index ("http://h/<index>"); the url buffer is on the stack,
 * which is fine since the result is written out before emit_result returns. */
static int emit(struct fixture *f, uint64_t index) {
  char url[64];
  snprintf(url, sizeof url, "http://h/%llu", (unsigned long long)index);
  struct afetch_result r;
  memset(&r, 0, sizeof r);
  r.index = index;
  r.url = url;
  r.final_url = url;
  r.status = 200;
  r.error = RESULT_OK;
  r.curl_code = -1;
  r.http_version = "1.1";
  r.remote_ip = "127.0.0.1";
  r.attempts = 1;
  r.content_type = "text/plain";
  r.size = index;
  int rc = emit_result(f, &r);
  memset(url, 'X', sizeof url - 1); /* the sink must not keep the borrowed string */
  return rc;
}

static void emit_ok(struct fixture *f, uint64_t index) {
  if (emit(f, index) != 0)
    fail_msg("sink_emit_json(%llu) failed: errno %d", (unsigned long long)index,
             sink_error(f->sink));
}

/* emit_ok for each of these indexes, in this order. */
static void emit_all(struct fixture *f, const uint64_t *indexes, size_t count) {
  for (size_t i = 0; i < count; i++)
    emit_ok(f, indexes[i]);
}

static void loop_pass(struct fixture *f) {
  assert_true(event_base_loop(f->base, EVLOOP_NONBLOCK) >= 0);
}

/* emit_ok, then one loop pass: the sink may write what is ready. */
static void emit_and_pass(struct fixture *f, uint64_t index) {
  emit_ok(f, index);
  loop_pass(f);
}

static void finish_ok(struct fixture *f) { assert_int_equal(sink_finish(f->sink), 0); }

static char *content(struct fixture *f) { return helper_file_content(f->fd, NULL); }

static bool written(struct fixture *f, uint64_t index) {
  char needle[64];
  snprintf(needle, sizeof needle, "\"http://h/%llu\"", (unsigned long long)index);
  char *text = content(f);
  bool found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

/* Expects the output so far to hold (or, with `expected` false, not to hold) the result of
 * each of these indexes. */
static void expect_written(struct fixture *f, bool expected, const uint64_t *indexes,
                           size_t count) {
  for (size_t i = 0; i < count; i++)
    if (written(f, indexes[i]) != expected)
      fail_msg("result %llu is %s", (unsigned long long)indexes[i],
               expected ? "not written yet" : "already written");
}

/* The whole text as one JSON value; fails the test when it is not one. */
static cJSON *parse_one_value(const char *text) {
  cJSON *value = cJSON_ParseWithOpts(text, NULL, 1);
  if (!value)
    fail_msg("not one JSON value: \"%.200s\"", text);
  return value;
}

/* Expects `element` (the i-th output) to be an object whose index is `expected`. */
static void expect_index(const cJSON *element, size_t i, uint64_t expected) {
  assert_true(cJSON_IsObject(element));
  const cJSON *index = cJSON_GetObjectItemCaseSensitive(element, "index");
  assert_true(cJSON_IsNumber(index));
  if ((uint64_t)index->valuedouble != expected)
    fail_msg("element %zu has index %.0f, expected %llu", i, index->valuedouble,
             (unsigned long long)expected);
}

static void expect_url(const cJSON *element, const char *url) {
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(element, "url");
  assert_true(cJSON_IsString(u));
  assert_string_equal(u->valuestring, url);
}

/* Parses the whole output as one JSON array and checks its elements' indexes. */
static void expect_array(struct fixture *f, const uint64_t *indexes, size_t count) {
  char *text = content(f);
  if (!helper_utf8_valid(text, strlen(text)))
    fail_msg("output is not valid UTF-8");
  cJSON *array = parse_one_value(text);
  assert_true(cJSON_IsArray(array));
  assert_int_equal(cJSON_GetArraySize(array), count);
  size_t i = 0;
  const cJSON *element;
  cJSON_ArrayForEach(element, array) {
    expect_index(element, i, indexes[i]);
    char url[64];
    snprintf(url, sizeof url, "http://h/%llu", (unsigned long long)indexes[i]);
    expect_url(element, url);
    i++;
  }
  cJSON_Delete(array);
  free(text);
}

/* expect_array for the indexes 0 to count - 1, in order. */
static void expect_array_in_order(struct fixture *f, size_t count) {
  uint64_t *indexes = malloc(count * sizeof *indexes);
  assert_non_null(indexes);
  for (size_t i = 0; i < count; i++)
    indexes[i] = i;
  expect_array(f, indexes, count);
  free(indexes);
}

/* Checks the output is `count` newline-terminated JSON objects with these indexes. */
static void expect_lines(struct fixture *f, const uint64_t *indexes, size_t count) {
  char *text = content(f);
  char *cursor = text;
  for (size_t i = 0; i < count; i++) {
    char *newline = strchr(cursor, '\n');
    if (!newline)
      fail_msg("line %zu is missing or unterminated in \"%.200s\"", i, text);
    *newline = '\0';
    cJSON *object = parse_one_value(cursor);
    expect_index(object, i, indexes[i]);
    cJSON_Delete(object);
    cursor = newline + 1;
  }
  if (*cursor != '\0')
    fail_msg("unexpected output after %zu lines: \"%.200s\"", count, cursor);
  free(text);
}

/* ---- gather ---- */

static void sink_gather_orders_out_of_order_results_by_index(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 16);
  emit_all(f, INDEXES(2, 0, 1));
  finish_ok(f);
  expect_array(f, INDEXES(0, 1, 2));
  assert_int_equal(sink_error(f->sink), 0);
}

static void sink_gather_holds_later_results_until_the_first_arrives(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 16);
  emit_and_pass(f, 2);
  expect_written(f, false, INDEXES(2));
  emit_and_pass(f, 1);
  expect_written(f, false, INDEXES(1, 2));
  char *text = content(f);
  if (strstr(text, "\"index\""))
    fail_msg("an element was written before index 0: \"%s\"", text);
  free(text);
  emit_and_pass(f, 0);
  expect_written(f, true, INDEXES(0, 1, 2));
  finish_ok(f);
  expect_array(f, INDEXES(0, 1, 2));
}

static void sink_gather_writes_each_element_once_its_prefix_is_complete(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 16);
  emit_and_pass(f, 0);
  expect_written(f, true, INDEXES(0));
  emit_and_pass(f, 2);
  expect_written(f, false, INDEXES(2));
  emit_and_pass(f, 1);
  expect_written(f, true, INDEXES(1, 2));
  emit_and_pass(f, 3);
  expect_written(f, true, INDEXES(3));
  finish_ok(f);
  expect_array(f, INDEXES(0, 1, 2, 3));
}

static void sink_gather_writes_at_finish_without_a_loop_pass(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 16);
  emit_all(f, INDEXES(1, 0));
  finish_ok(f);
  expect_array(f, INDEXES(0, 1));
}

static void sink_gather_empty_run_is_an_empty_array(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 16);
  loop_pass(f);
  finish_ok(f);
  expect_array(f, NULL, 0);
}

static void sink_gather_accepts_only_indexes_within_the_window(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 4);
  for (uint64_t i = 0; i < 4; i++)
    assert_true(sink_accepts(f->sink, i));
  assert_false(sink_accepts(f->sink, 4));
  assert_false(sink_accepts(f->sink, 1000));

  emit_ok(f, 0); /* first unwritten: 1 */
  assert_true(sink_accepts(f->sink, 4));
  assert_false(sink_accepts(f->sink, 5));

  emit_ok(f, 2); /* held: first unwritten is still 1 */
  assert_true(sink_accepts(f->sink, 4));
  assert_false(sink_accepts(f->sink, 5));

  emit_ok(f, 1); /* 1 and 2 go out: first unwritten 3 */
  assert_true(sink_accepts(f->sink, 6));
  assert_false(sink_accepts(f->sink, 7));

  finish_ok(f);
  expect_array(f, INDEXES(0, 1, 2));
}

static void sink_gather_window_of_one_accepts_only_the_next_index(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 1);
  assert_true(sink_accepts(f->sink, 0));
  assert_false(sink_accepts(f->sink, 1));
  emit_ok(f, 0);
  assert_true(sink_accepts(f->sink, 1));
  assert_false(sink_accepts(f->sink, 2));
  finish_ok(f);
  expect_array(f, INDEXES(0));
}

static void sink_gather_reorders_a_full_window_in_reverse(void **state) {
  struct fixture *f = *state;
  enum { N = 1000 };
  new_sink(f, AFETCH_OUTPUT_GATHER, N);
  for (uint64_t i = N; i-- > 0;) {
    assert_true(sink_accepts(f->sink, i));
    emit_ok(f, i);
    if (i % 97 == 0)
      loop_pass(f);
  }
  finish_ok(f);
  expect_array_in_order(f, N);
}

static void sink_gather_large_output_in_order_stays_valid(void **state) {
  /* Far more than any sensible buffer: exercises the flush-when-full path. */
  struct fixture *f = *state;
  enum { N = 20000 };
  new_sink(f, AFETCH_OUTPUT_GATHER, 8);
  for (uint64_t i = 0; i < N; i++)
    emit_ok(f, i);
  finish_ok(f);
  expect_array_in_order(f, N);
}

static void sink_emits_a_result_larger_than_any_small_buffer_intact(void **state) {
  struct fixture *f = *state;
  enum { URL_LENGTH = SINK_TEST_LONG_URL };
  static char url[URL_LENGTH + 1];
  memcpy(url, "http://h/", 9);
  for (size_t i = 9; i < URL_LENGTH; i++)
    url[i] = (char)('a' + i % 26);
  url[URL_LENGTH] = '\0';
  new_sink(f, AFETCH_OUTPUT_GATHER, 4);
  struct afetch_result r;
  memset(&r, 0, sizeof r);
  r.index = 0;
  r.url = url;
  r.status = 0;
  r.error = RESULT_INVALID_URL;
  r.curl_code = -1;
  assert_int_equal(emit_result(f, &r), 0);
  finish_ok(f);
  char *text = content(f);
  cJSON *array = parse_one_value(text);
  assert_int_equal(cJSON_GetArraySize(array), 1);
  expect_url(cJSON_GetArrayItem(array, 0), url);
  cJSON_Delete(array);
  free(text);
}

/* ---- ndjson ---- */

static void sink_ndjson_writes_one_line_per_result_in_completion_order(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_NDJSON, 16);
  emit_all(f, INDEXES(2, 0, 1));
  finish_ok(f);
  expect_lines(f, INDEXES(2, 0, 1));
}

static void sink_ndjson_flushes_each_result_on_a_loop_pass(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_NDJSON, 16);
  emit_and_pass(f, 5);
  expect_lines(f, INDEXES(5));
  emit_and_pass(f, 3);
  expect_lines(f, INDEXES(5, 3));
  finish_ok(f);
}

static void sink_ndjson_finish_adds_nothing(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_NDJSON, 16);
  emit_and_pass(f, 0);
  char *before = content(f);
  finish_ok(f);
  char *after = content(f);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

static void sink_ndjson_empty_run_writes_nothing(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_NDJSON, 16);
  finish_ok(f);
  size_t length;
  char *text = helper_file_content(f->fd, &length);
  assert_int_equal(length, 0);
  free(text);
}

static void sink_ndjson_accepts_any_index(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_NDJSON, 1);
  assert_true(sink_accepts(f->sink, 0));
  assert_true(sink_accepts(f->sink, 1));
  assert_true(sink_accepts(f->sink, 1000000));
  emit_ok(f, 7);
  assert_true(sink_accepts(f->sink, 0));
  assert_true(sink_accepts(f->sink, UINT64_MAX / 2));
  finish_ok(f);
}

/* ---- failed output ---- */

/* Replaces the fixture's file with the write end of a new pipe; returns the read end. */
static int use_pipe(struct fixture *f) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  close(f->fd);
  f->fd = fds[1];
  return fds[0];
}

/* A sink in this mode on the write end of a pipe whose read end is closed. */
static void new_sink_on_broken_pipe(struct fixture *f, enum afetch_output_mode mode) {
  signal(SIGPIPE, SIG_IGN);
  close(use_pipe(f));
  new_sink(f, mode, 16);
}

/* After the sink has seen EPIPE: it refuses further results and fails at finish. */
static void expect_epipe_refuses_and_fails_finish(struct fixture *f) {
  assert_int_equal(sink_error(f->sink), EPIPE);
  assert_int_equal(emit(f, 1), -1);
  assert_int_equal(sink_finish(f->sink), -1);
  assert_int_equal(sink_error(f->sink), EPIPE);
}

static void expect_finish_fails_with_epipe(struct fixture *f) {
  assert_int_equal(sink_finish(f->sink), -1);
  assert_int_equal(sink_error(f->sink), EPIPE);
}

static void sink_gather_reports_epipe_when_the_reader_is_gone(void **state) {
  struct fixture *f = *state;
  new_sink_on_broken_pipe(f, AFETCH_OUTPUT_GATHER);
  emit(f, 0); /* may succeed: the output may still be buffered */
  loop_pass(f);
  expect_epipe_refuses_and_fails_finish(f);
}

static void sink_ndjson_reports_epipe_after_a_loop_pass(void **state) {
  struct fixture *f = *state;
  new_sink_on_broken_pipe(f, AFETCH_OUTPUT_NDJSON);
  emit(f, 0);
  loop_pass(f);
  expect_epipe_refuses_and_fails_finish(f);
}

static void sink_gather_to_broken_pipe_fails_at_finish_without_a_loop_pass(void **state) {
  struct fixture *f = *state;
  new_sink_on_broken_pipe(f, AFETCH_OUTPUT_GATHER);
  emit(f, 1);
  emit(f, 0);
  expect_finish_fails_with_epipe(f);
}

static void sink_gather_empty_run_to_broken_pipe_fails_at_finish(void **state) {
  struct fixture *f = *state;
  new_sink_on_broken_pipe(f, AFETCH_OUTPUT_GATHER);
  expect_finish_fails_with_epipe(f);
}

static void sink_writes_to_a_pipe_reader(void **state) {
  struct fixture *f = *state;
  int reader = use_pipe(f);
  assert_int_equal(fcntl(reader, F_SETFL, O_NONBLOCK), 0); /* never hang the test */
  new_sink(f, AFETCH_OUTPUT_NDJSON, 16);
  emit_and_pass(f, 4);
  char buffer[4096];
  ssize_t n = read(reader, buffer, sizeof buffer - 1);
  assert_true(n > 0);
  buffer[n] = '\0';
  assert_non_null(strstr(buffer, "\"http://h/4\""));
  assert_int_equal(buffer[n - 1], '\n');
  finish_ok(f);
  close(reader);
}

/* The hook counts its calls and checks nothing new is on the output yet. */
struct write_watch {
  struct fixture *f;
  int calls;
  size_t length_at_last_call;
};

static bool before_write(void *arg) {
  struct write_watch *watch = arg;
  watch->calls++;
  size_t length;
  free(helper_file_content(watch->f->fd, &length));
  watch->length_at_last_call = length;
  return true;
}

/* The hook runs before each write (a progress bar on the same terminal is cleared first), and
 * the sink says whether the output ends a line: a JSON array's element does not until the
 * next one or the end. */
static void sink_calls_the_hook_before_each_write_and_tracks_line_ends(void **state) {
  struct fixture *f = *state;
  new_sink(f, AFETCH_OUTPUT_GATHER, 8);
  struct write_watch watch = {.f = f};
  sink_before_write(f->sink, before_write, &watch);
  assert_true(sink_at_line_start(f->sink)); /* nothing written */
  loop_pass(f);
  assert_int_equal(watch.calls, 0);
  emit_and_pass(f, 0); /* "[\n{...}" */
  assert_int_equal(watch.calls, 1);
  assert_int_equal(watch.length_at_last_call, 0);
  assert_false(sink_at_line_start(f->sink));
  loop_pass(f);
  assert_int_equal(watch.calls, 1); /* nothing pending, no call */
  size_t length;
  free(helper_file_content(f->fd, &length));
  finish_ok(f); /* "\n]\n" */
  assert_int_equal(watch.calls, 2);
  assert_int_equal(watch.length_at_last_call, length);
  assert_true(sink_at_line_start(f->sink));

  sink_free(f->sink);
  f->sink = NULL;
  new_sink(f, AFETCH_OUTPUT_NDJSON, 8);
  watch.calls = 0;
  sink_before_write(f->sink, before_write, &watch);
  emit_and_pass(f, 3);
  assert_int_equal(watch.calls, 1);
  assert_true(sink_at_line_start(f->sink)); /* each line ends with '\n' */
  sink_before_write(f->sink, NULL, NULL);
  emit_and_pass(f, 4);
  assert_int_equal(watch.calls, 1);
  finish_ok(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(sink_gather_orders_out_of_order_results_by_index),
      T(sink_gather_holds_later_results_until_the_first_arrives),
      T(sink_gather_writes_each_element_once_its_prefix_is_complete),
      T(sink_gather_writes_at_finish_without_a_loop_pass),
      T(sink_gather_empty_run_is_an_empty_array),
      T(sink_gather_accepts_only_indexes_within_the_window),
      T(sink_gather_window_of_one_accepts_only_the_next_index),
      T(sink_gather_reorders_a_full_window_in_reverse),
      T(sink_gather_large_output_in_order_stays_valid),
      T(sink_emits_a_result_larger_than_any_small_buffer_intact),
      T(sink_ndjson_writes_one_line_per_result_in_completion_order),
      T(sink_ndjson_flushes_each_result_on_a_loop_pass),
      T(sink_ndjson_finish_adds_nothing),
      T(sink_ndjson_empty_run_writes_nothing),
      T(sink_ndjson_accepts_any_index),
      T(sink_gather_reports_epipe_when_the_reader_is_gone),
      T(sink_ndjson_reports_epipe_after_a_loop_pass),
      T(sink_gather_to_broken_pipe_fails_at_finish_without_a_loop_pass),
      T(sink_gather_empty_run_to_broken_pipe_fails_at_finish),
      T(sink_writes_to_a_pipe_reader),
      T(sink_calls_the_hook_before_each_write_and_tracks_line_ends),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
