/* cli.h: argv -> struct afetch_options, validation, --help and --version. */
#include "unit_helpers.h"

#include <fcntl.h>

#include <curl/curl.h>

#include "afetch/cli.h"
#include "afetch/options.h"
#include "afetch/result.h"

struct fixture {
  FILE *out, *err;
  char *out_text, *err_text;
  size_t out_size, err_size;
  struct afetch_options options;
  bool options_live; /* CLI_RUN: teardown frees them */
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  f->out = open_memstream(&f->out_text, &f->out_size);
  f->err = open_memstream(&f->err_text, &f->err_size);
  if (!f->out || !f->err)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (f->options_live)
    cli_options_free(&f->options);
  fclose(f->out);
  fclose(f->err);
  free(f->out_text);
  free(f->err_text);
  free(f);
  return 0;
}

/* argv[0] is added; the array of arguments must outlive the options (it is static in each
 * test). */
static enum cli_outcome parse(struct fixture *f, int argc, char **argv) {
  enum cli_outcome outcome = cli_parse(&f->options, argc, argv, f->out, f->err);
  fflush(f->out);
  fflush(f->err);
  f->options_live = outcome == CLI_RUN;
  return outcome;
}

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)
#define PARSE(f, ...)                                                                              \
  do {                                                                                             \
    static char *argv_[] = {"afetch", __VA_ARGS__, NULL};                                          \
    outcome = parse((f), ARGC(argv_), argv_);                                                      \
  } while (0)

/* Parses argv expecting CLI_RUN, freeing options of an earlier parse in the same test. */
#define RUN(f, ...)                                                                                \
  do {                                                                                             \
    if ((f)->options_live) {                                                                       \
      cli_options_free(&(f)->options);                                                             \
      (f)->options_live = false;                                                                   \
    }                                                                                              \
    enum cli_outcome outcome;                                                                      \
    PARSE(f, __VA_ARGS__);                                                                         \
    if (outcome != CLI_RUN)                                                                        \
      fail_msg("expected CLI_RUN for " #__VA_ARGS__ ", got %d; stderr: %s", (int)outcome,          \
               (f)->err_text);                                                                     \
  } while (0)

/* Expects a usage error: exit 2 outcome, "Usage:" on err, nothing on out (freeing options of
 * an earlier parse in the same test first). */
#define USAGE_ERROR(f, ...)                                                                        \
  do {                                                                                             \
    if ((f)->options_live) {                                                                       \
      cli_options_free(&(f)->options);                                                             \
      (f)->options_live = false;                                                                   \
    }                                                                                              \
    enum cli_outcome outcome;                                                                      \
    rewind((f)->err);                                                                              \
    PARSE(f, __VA_ARGS__);                                                                         \
    if (outcome != CLI_EXIT_USAGE)                                                                 \
      fail_msg("expected CLI_EXIT_USAGE for " #__VA_ARGS__ ", got %d", (int)outcome);              \
    if (!strstr((f)->err_text, "Usage:"))                                                          \
      fail_msg("no \"Usage:\" on err for " #__VA_ARGS__ "; err was: %s", (f)->err_text);           \
    assert_int_equal((f)->out_size, 0);                                                            \
  } while (0)

/* ---- defaults ---- */

static void cli_defaults_without_arguments(void **state) {
  struct fixture *f = *state;
  static char *argv[] = {"afetch", NULL};
  memset(&f->options, 0x5a, sizeof f->options); /* every field must be written */
  assert_int_equal(parse(f, 1, argv), CLI_RUN);
  const struct afetch_options *o = &f->options;
  assert_int_equal(o->concurrency, 10);
  assert_int_equal(o->threads, 0); /* auto */
  assert_int_equal(o->timeout_ms, 30000);
  assert_int_equal(o->connect_timeout_ms, 10000);
  assert_int_equal(o->output_mode, AFETCH_OUTPUT_GATHER);
  assert_true(o->follow_redirects);
  assert_int_equal(o->max_redirects, 10);
  /* The only header is the default User-Agent line. */
  assert_non_null(o->headers);
  assert_string_equal(o->headers->data, "User-Agent: afetch/" AFETCH_VERSION);
  assert_null(o->headers->next);
  assert_null(o->method);
  assert_null(o->data);
  assert_int_equal(o->data_length, 0);
  assert_false(o->insecure);
  assert_null(o->cacert);
  assert_int_equal(o->http_version, AFETCH_HTTP_DEFAULT);
  assert_false(o->quiet);
  assert_int_equal(o->retries, 0);
  assert_int_equal(o->retry_delay_ms, 1000);
  assert_int_equal(o->retry_max_delay_ms, 30000);
  assert_int_equal(o->per_host, 0);
  assert_true(o->rate_per_second == 0.0);
  assert_int_equal(o->deadline_ms, 0);
  assert_null(o->output_dir);
  assert_null(o->output_template);
  assert_false(o->fsync);
  assert_null(o->state_path);
  assert_false(o->sha256);
  assert_int_equal(o->max_size, 0);
  assert_false(o->body);
  assert_false(o->crawl);
  assert_int_equal(o->depth, 1);
  assert_int_equal(o->max_pages, 0);
  assert_int_equal(o->scope, CRAWL_SCOPE_HOST);
  assert_null(o->include_regex);
  assert_null(o->exclude_regex);
  assert_false(o->robots);
  assert_false(o->show_skipped);
  assert_false(o->links);
  assert_int_equal(o->progress, AFETCH_PROGRESS_AUTO);
  assert_false(o->stats);
  assert_null(o->stats_json_path);
  /* No input named: standard input. */
  assert_int_equal(o->input_count, 1);
  assert_int_equal(o->inputs[0].kind, AFETCH_INPUT_STDIN);
  assert_int_equal(o->speed_limit, 0);
  assert_int_equal(f->out_size, 0);
  assert_int_equal(f->err_size, 0);
}

/* ---- each flag ---- */

static void cli_concurrency_short_and_long_forms(void **state) {
  struct fixture *f = *state;
  RUN(f, "-c", "5");
  assert_int_equal(f->options.concurrency, 5);
  RUN(f, "--concurrency=6");
  assert_int_equal(f->options.concurrency, 6);
  RUN(f, "--concurrency", "7");
  assert_int_equal(f->options.concurrency, 7);
  RUN(f, "-c8");
  assert_int_equal(f->options.concurrency, 8);
  RUN(f, "-c", "1");
  assert_int_equal(f->options.concurrency, 1);
}

static void cli_threads_sets_the_number_of_event_loops(void **state) {
  struct fixture *f = *state;
  RUN(f, "--threads", "2");
  assert_int_equal(f->options.threads, 2);
  RUN(f, "--threads=64");
  assert_int_equal(f->options.threads, 64);
  RUN(f, "--threads", "auto");
  assert_int_equal(f->options.threads, 0);
}

/* auto: one loop per CPU, each with at least CLI_TRANSFERS_PER_THREAD transfers. */
static void cli_auto_threads_follow_cpus_and_concurrency(void **state) {
  (void)state;
  assert_int_equal(cli_auto_threads(10, 1), 1); /* one CPU */
  assert_int_equal(cli_auto_threads(1, 8), 1);  /* one transfer */
  assert_int_equal(cli_auto_threads(7, 2), 1);  /* under 4 each on two loops */
  assert_int_equal(cli_auto_threads(8, 2), 2);
  assert_int_equal(cli_auto_threads(100, 2), 2);       /* no more loops than CPUs */
  assert_int_equal(cli_auto_threads(10, 64), 2);       /* no fewer than 4 each */
  assert_int_equal(cli_auto_threads(100000, 512), 64); /* the --threads maximum */
}

static void cli_rejects_threads_out_of_range(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--threads", "0");
  USAGE_ERROR(f, "--threads", "65");
  USAGE_ERROR(f, "--threads", "two");
  USAGE_ERROR(f, "--threads", "AUTO");
}

static void cli_timeout_accepts_fractional_seconds(void **state) {
  struct fixture *f = *state;
  RUN(f, "-t", "0.5");
  assert_int_equal(f->options.timeout_ms, 500);
  RUN(f, "--timeout=2");
  assert_int_equal(f->options.timeout_ms, 2000);
  RUN(f, "--timeout", "1.25");
  assert_int_equal(f->options.timeout_ms, 1250);
}

/* -t 0 is no limit (curl's -m 0); with -o and no -t, a download is limited by its speed
 * (below 1 byte/s for 30 s: stalled), not by its length. */
static void cli_download_has_no_time_limit_but_a_stall_limit(void **state) {
  struct fixture *f = *state;
  RUN(f, "-t", "0");
  assert_int_equal(f->options.timeout_ms, 0);
  assert_int_equal(f->options.speed_limit, 0);
  RUN(f, "-o", "dir");
  assert_int_equal(f->options.timeout_ms, 0);
  assert_int_equal(f->options.speed_limit, 1);
  assert_int_equal(f->options.speed_time, 30);
  RUN(f, "-o", "dir", "-t", "60");
  assert_int_equal(f->options.timeout_ms, 60000);
  assert_int_equal(f->options.speed_limit, 0);
  RUN(f, "-o", "dir", "-Y", "1000", "-y", "5");
  assert_int_equal(f->options.timeout_ms, 0);
  assert_int_equal(f->options.speed_limit, 1000);
  assert_int_equal(f->options.speed_time, 5);
}

/* As in curl, -Y alone checks over 30 s and -y alone below 1 byte/s. */
static void cli_speed_limit_and_time_pair_up(void **state) {
  struct fixture *f = *state;
  RUN(f, "--speed-limit", "5000");
  assert_int_equal(f->options.speed_limit, 5000);
  assert_int_equal(f->options.speed_time, 30);
  assert_int_equal(f->options.timeout_ms, 30000);
  RUN(f, "-y", "7");
  assert_int_equal(f->options.speed_limit, 1);
  assert_int_equal(f->options.speed_time, 7);
  RUN(f, "--max-time", "4");
  assert_int_equal(f->options.timeout_ms, 4000);
  USAGE_ERROR(f, "-Y", "0");
  USAGE_ERROR(f, "-y", "1.5");
  USAGE_ERROR(f, "--speed-time", "x");
}

/* An operand with a scheme:// is a URL, '-' standard input, anything else a FILE; -i names
 * a FILE (or '-') and --url a URL whatever they look like; all keep their order. */
static void cli_urls_files_and_stdin_keep_their_order(void **state) {
  struct fixture *f = *state;
  RUN(f, "https://a.example/x", "list.txt", "-c", "2", "-", "--url", "b.example", "-i",
      "http://odd-file-name", "--input-file=-", "HTTP+x.y://c", "--", "ftp://d/");
  static const struct {
    enum afetch_input_kind kind;
    const char *value;
  } expected[] = {
      {AFETCH_INPUT_URL, "https://a.example/x"},
      {AFETCH_INPUT_FILE, "list.txt"},
      {AFETCH_INPUT_STDIN, "-"},
      {AFETCH_INPUT_URL, "b.example"},
      {AFETCH_INPUT_FILE, "http://odd-file-name"},
      {AFETCH_INPUT_STDIN, "-"},
      {AFETCH_INPUT_URL, "HTTP+x.y://c"},
      {AFETCH_INPUT_URL, "ftp://d/"},
  };
  assert_int_equal(f->options.input_count, sizeof expected / sizeof expected[0]);
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    assert_int_equal(f->options.inputs[i].kind, expected[i].kind);
    assert_string_equal(f->options.inputs[i].value, expected[i].value);
  }
  RUN(f, "example.com", "1http://x", "://x", "http:/x");
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(f->options.inputs[i].kind, AFETCH_INPUT_FILE);
  USAGE_ERROR(f, "http://a/\nhttp://b/");
  USAGE_ERROR(f, "--url", "http://a/\r");
  USAGE_ERROR(f, "-i");
}

static void cli_timeout_leaves_connect_timeout_alone(void **state) {
  struct fixture *f = *state;
  RUN(f, "-t", "3");
  assert_int_equal(f->options.timeout_ms, 3000);
  assert_int_equal(f->options.connect_timeout_ms, 10000);
}

static void cli_connect_timeout_accepts_fractional_seconds(void **state) {
  struct fixture *f = *state;
  RUN(f, "--connect-timeout", "2.5");
  assert_int_equal(f->options.connect_timeout_ms, 2500);
  assert_int_equal(f->options.timeout_ms, 30000);
  RUN(f, "--connect-timeout=0.1");
  assert_int_equal(f->options.connect_timeout_ms, 100);
}

static void cli_retries_short_and_long_forms(void **state) {
  struct fixture *f = *state;
  RUN(f, "-r", "3");
  assert_int_equal(f->options.retries, 3);
  RUN(f, "--retries=5");
  assert_int_equal(f->options.retries, 5);
  RUN(f, "--retries", "0");
  assert_int_equal(f->options.retries, 0);
  RUN(f, "-r1000");
  assert_int_equal(f->options.retries, 1000);
}

static void cli_retry_delay_accepts_zero_and_fractions(void **state) {
  struct fixture *f = *state;
  RUN(f, "--retry-delay", "0");
  assert_int_equal(f->options.retry_delay_ms, 0);
  RUN(f, "--retry-delay", "0.25");
  assert_int_equal(f->options.retry_delay_ms, 250);
  RUN(f, "--retry-delay=2");
  assert_int_equal(f->options.retry_delay_ms, 2000);
  assert_int_equal(f->options.retry_max_delay_ms, 30000);
}

static void cli_retry_max_delay_sets_the_backoff_cap(void **state) {
  struct fixture *f = *state;
  RUN(f, "--retry-max-delay", "5");
  assert_int_equal(f->options.retry_max_delay_ms, 5000);
  assert_int_equal(f->options.retry_delay_ms, 1000);
  RUN(f, "--retry-max-delay=0.5");
  assert_int_equal(f->options.retry_max_delay_ms, 500);
}

static void cli_per_host_sets_the_per_host_limit(void **state) {
  struct fixture *f = *state;
  RUN(f, "--per-host", "2");
  assert_int_equal(f->options.per_host, 2);
  RUN(f, "--per-host=1");
  assert_int_equal(f->options.per_host, 1);
  assert_int_equal(f->options.concurrency, 10);
}

static void cli_rate_is_stored_per_second(void **state) {
  struct fixture *f = *state;
  RUN(f, "--rate", "20/s");
  assert_true(f->options.rate_per_second == 20.0);
  RUN(f, "--rate", "90/m");
  assert_true(f->options.rate_per_second == 1.5);
  RUN(f, "--rate", "5");
  assert_true(f->options.rate_per_second == 5.0);
  RUN(f, "--rate=0.5/s");
  assert_true(f->options.rate_per_second == 0.5);
  RUN(f, "--rate", "7200/h");
  assert_true(f->options.rate_per_second == 2.0);
  RUN(f, "--rate", "43200/d");
  assert_true(f->options.rate_per_second == 0.5);
}

static void cli_deadline_accepts_fractional_seconds(void **state) {
  struct fixture *f = *state;
  RUN(f, "--deadline", "1.5");
  assert_int_equal(f->options.deadline_ms, 1500);
  RUN(f, "--deadline=60");
  assert_int_equal(f->options.deadline_ms, 60000);
  assert_int_equal(f->options.timeout_ms, 30000);
}

static void cli_ndjson_selects_line_output(void **state) {
  struct fixture *f = *state;
  RUN(f, "--ndjson");
  assert_int_equal(f->options.output_mode, AFETCH_OUTPUT_NDJSON);
}

static void cli_no_location_disables_redirects_and_L_enables_them(void **state) {
  struct fixture *f = *state;
  RUN(f, "--no-location");
  assert_false(f->options.follow_redirects);
  RUN(f, "--no-location", "-L");
  assert_true(f->options.follow_redirects);
  RUN(f, "-L");
  assert_true(f->options.follow_redirects);
  RUN(f, "--location");
  assert_true(f->options.follow_redirects);
}

static void cli_max_redirs_sets_the_limit(void **state) {
  struct fixture *f = *state;
  RUN(f, "--max-redirs", "3");
  assert_int_equal(f->options.max_redirects, 3);
  RUN(f, "--max-redirs=0");
  assert_int_equal(f->options.max_redirects, 0);
}

static void cli_max_redirs_accepts_minus_one_for_unlimited(void **state) {
  struct fixture *f = *state;
  RUN(f, "--max-redirs", "-1");
  assert_int_equal(f->options.max_redirects, -1);
}

static void cli_location_trusted_follows_and_trusts_other_hosts(void **state) {
  struct fixture *f = *state;
  RUN(f, "--no-location");
  assert_false(f->options.location_trusted);
  RUN(f, "--no-location", "--location-trusted");
  assert_true(f->options.follow_redirects);
  assert_true(f->options.location_trusted);
}

static void cli_repeated_header_builds_list_in_order(void **state) {
  struct fixture *f = *state;
  RUN(f, "-H", "X-One: 1", "--header", "X-Two: 2", "--header=X-Three: 3");
  const struct curl_slist *h = f->options.headers;
  assert_non_null(h);
  assert_string_equal(h->data, "X-One: 1");
  assert_non_null(h->next);
  assert_string_equal(h->next->data, "X-Two: 2");
  assert_non_null(h->next->next);
  assert_string_equal(h->next->next->data, "X-Three: 3");
  assert_non_null(h->next->next->next);
  assert_string_equal(h->next->next->next->data, "User-Agent: afetch/" AFETCH_VERSION);
  assert_null(h->next->next->next->next);
}

static void cli_user_agent_is_taken_from_argv(void **state) {
  struct fixture *f = *state;
  RUN(f, "-A", "probe/1.0");
  assert_non_null(f->options.user_agent);
  assert_string_equal(f->options.user_agent, "probe/1.0");
  RUN(f, "--user-agent=other/2");
  assert_string_equal(f->options.user_agent, "other/2");
}

/* The User-Agent is sent as the last -H header; one given with -H wins over -A, as in curl. */
static void cli_user_agent_becomes_a_header_unless_one_is_given(void **state) {
  struct fixture *f = *state;
  RUN(f, "-A", "probe/1.0", "-H", "X-One: 1");
  const struct curl_slist *h = f->options.headers;
  assert_string_equal(h->data, "X-One: 1");
  assert_non_null(h->next);
  assert_string_equal(h->next->data, "User-Agent: probe/1.0");
  assert_null(h->next->next);
  RUN(f, "-A", "ignored/1", "-H", "user-agent: mine/2");
  h = f->options.headers;
  assert_string_equal(h->data, "user-agent: mine/2");
  assert_null(h->next);
}

static void cli_request_sets_the_method(void **state) {
  struct fixture *f = *state;
  RUN(f, "-X", "PUT");
  assert_non_null(f->options.method);
  assert_string_equal(f->options.method, "PUT");
  RUN(f, "--request=DELETE");
  assert_string_equal(f->options.method, "DELETE");
}

static void cli_data_sets_body_and_leaves_method_unset(void **state) {
  struct fixture *f = *state;
  RUN(f, "-d", "name=value");
  assert_non_null(f->options.data);
  assert_string_equal(f->options.data, "name=value");
  assert_int_equal(f->options.data_length, strlen("name=value"));
  assert_null(f->options.method);
}

static void cli_repeated_data_is_joined_with_ampersand(void **state) {
  struct fixture *f = *state;
  RUN(f, "-d", "a", "--data", "b", "--data=c=1");
  assert_non_null(f->options.data);
  assert_string_equal(f->options.data, "a&b&c=1");
  assert_int_equal(f->options.data_length, strlen("a&b&c=1"));
}

static void cli_insecure_turns_verification_off(void **state) {
  struct fixture *f = *state;
  RUN(f, "-k");
  assert_true(f->options.insecure);
  RUN(f, "--insecure");
  assert_true(f->options.insecure);
}

static void cli_cacert_names_an_existing_file(void **state) {
  struct fixture *f = *state;
  static char path[HELPER_PATH_SIZE];
  helper_temp_file("not really a cert\n", 18, path);
  static char *argv[] = {"afetch", "--cacert", path, NULL};
  assert_int_equal(parse(f, 3, argv), CLI_RUN);
  assert_non_null(f->options.cacert);
  assert_string_equal(f->options.cacert, path);
  assert_false(f->options.insecure);
  unlink(path);
}

static void cli_http_version_flags_select_the_protocol(void **state) {
  struct fixture *f = *state;
  RUN(f, "--http1.1");
  assert_int_equal(f->options.http_version, AFETCH_HTTP_1_1);
  RUN(f, "--http2");
  assert_int_equal(f->options.http_version, AFETCH_HTTP_2);
}

static void cli_quiet_silences_diagnostics(void **state) {
  struct fixture *f = *state;
  RUN(f, "-q");
  assert_true(f->options.quiet);
  RUN(f, "--quiet");
  assert_true(f->options.quiet);
}

static void cli_progress_and_no_progress_last_one_wins(void **state) {
  struct fixture *f = *state;
  RUN(f, "--progress");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_ON);
  RUN(f, "--no-progress");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_OFF);
  RUN(f, "--progress", "--no-progress");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_OFF);
  RUN(f, "--no-progress", "--progress");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_ON);
  RUN(f, "--progress", "--no-progress", "--progress", "--no-progress");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_OFF);
}

static void cli_progress_takes_a_style(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--progress=");
  USAGE_ERROR(f, "--progress=Bar");
  if (!strstr(f->err_text, "--progress") || !strstr(f->err_text, "bar, lines or none"))
    fail_msg("err does not name --progress and its values: %s", f->err_text);
  RUN(f, "--progress=bar");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_BAR);
  RUN(f, "--progress=lines");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_LINES);
  RUN(f, "--progress=none");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_OFF);
  RUN(f, "--progress=lines", "--no-progress", "--progress=bar");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_BAR);
  /* The style only with '=': a separate word is an operand, as with any optional value. */
  RUN(f, "--progress", "lines");
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_ON);
  assert_int_equal(f->options.input_count, 1);
}

static void cli_result_fields_add_up(void **state) {
  struct fixture *f = *state;
  RUN(f, "x");
  assert_int_equal(f->options.result_fields, 0);
  RUN(f, "--include-headers");
  assert_int_equal(f->options.result_fields, RESULT_FIELD_HEADERS);
  RUN(f, "--result-fields", "location,redirects_chain", "--result-fields=method");
  assert_int_equal(f->options.result_fields,
                   RESULT_FIELD_LOCATION | RESULT_FIELD_REDIRECTS_CHAIN | RESULT_FIELD_METHOD);
  RUN(f, "--result-fields", "started_at", "--include-headers");
  assert_int_equal(f->options.result_fields, RESULT_FIELD_STARTED_AT | RESULT_FIELD_HEADERS);
  RUN(f, "--result-fields", "all");
  assert_int_equal(f->options.result_fields, RESULT_FIELDS_ALL);
  USAGE_ERROR(f, "--result-fields", "method,Headers");
  if (!strstr(f->err_text, "--result-fields") || !strstr(f->err_text, "'Headers'"))
    fail_msg("err does not name --result-fields and the bad key: %s", f->err_text);
  USAGE_ERROR(f, "--result-fields", "");
  USAGE_ERROR(f, "--result-fields", "method,");
  USAGE_ERROR(f, "--result-fields", ",method");
  USAGE_ERROR(f, "--result-fields");
}

static void cli_progress_interval_is_seconds_above_zero(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--progress-interval", "0");
  USAGE_ERROR(f, "--progress-interval", "-1");
  USAGE_ERROR(f, "--progress-interval", "soon");
  if (!strstr(f->err_text, "--progress-interval"))
    fail_msg("err does not name --progress-interval: %s", f->err_text);
  USAGE_ERROR(f, "--progress-interval");
  RUN(f, "urls.txt");
  assert_int_equal(f->options.progress_interval_ms, 10000);
  RUN(f, "--progress-interval", "2.5");
  assert_int_equal(f->options.progress_interval_ms, 2500);
  RUN(f, "--progress-interval=0.0001");
  assert_int_equal(f->options.progress_interval_ms, 1);
}

/* -q leaves progress at its setting: whether --progress wins over -q is the runner's rule. */
static void cli_quiet_and_progress_are_kept_apart(void **state) {
  struct fixture *f = *state;
  RUN(f, "-q", "--progress");
  assert_true(f->options.quiet);
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_ON);
  RUN(f, "-q");
  assert_true(f->options.quiet);
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_AUTO);
}

static void cli_stats_turns_the_summary_table_on(void **state) {
  struct fixture *f = *state;
  RUN(f, "--stats");
  assert_true(f->options.stats);
  assert_null(f->options.stats_json_path);
  assert_int_equal(f->options.progress, AFETCH_PROGRESS_AUTO);
}

static void cli_stats_json_names_the_file_without_turning_stats_on(void **state) {
  struct fixture *f = *state;
  /* The file need not exist: it is written at the end of the run. */
  RUN(f, "--stats-json", "/nonexistent-afetch-dir/stats.json");
  assert_non_null(f->options.stats_json_path);
  assert_string_equal(f->options.stats_json_path, "/nonexistent-afetch-dir/stats.json");
  assert_false(f->options.stats);
  RUN(f, "--stats-json=run.json", "--stats", "urls.txt");
  assert_string_equal(f->options.stats_json_path, "run.json");
  assert_true(f->options.stats);
  assert_int_equal(f->options.input_count, 1);
  assert_string_equal(f->options.inputs[0].value, "urls.txt");
}

static void cli_rejects_empty_or_missing_stats_json(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--stats-json", "");
  if (!strstr(f->err_text, "--stats-json"))
    fail_msg("err does not name --stats-json: %s", f->err_text);
  USAGE_ERROR(f, "--stats-json=");
  USAGE_ERROR(f, "--stats-json");
}

static void cli_rejects_values_for_flag_options(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--progress=yes");
  USAGE_ERROR(f, "--no-progress=1");
  USAGE_ERROR(f, "--stats=table");
}

static void cli_operands_are_collected_in_order(void **state) {
  struct fixture *f = *state;
  RUN(f, "a.txt", "-", "b.txt");
  assert_int_equal(f->options.input_count, 3);
  assert_non_null(f->options.inputs);
  assert_string_equal(f->options.inputs[0].value, "a.txt");
  assert_string_equal(f->options.inputs[1].value, "-");
  assert_string_equal(f->options.inputs[2].value, "b.txt");
}

static void cli_options_may_follow_operands(void **state) {
  struct fixture *f = *state;
  RUN(f, "urls.txt", "-c", "3", "more.txt", "--ndjson");
  assert_int_equal(f->options.concurrency, 3);
  assert_int_equal(f->options.output_mode, AFETCH_OUTPUT_NDJSON);
  assert_int_equal(f->options.input_count, 2);
  assert_string_equal(f->options.inputs[0].value, "urls.txt");
  assert_string_equal(f->options.inputs[1].value, "more.txt");
}

static void cli_double_dash_ends_options(void **state) {
  struct fixture *f = *state;
  RUN(f, "--", "-c");
  assert_int_equal(f->options.input_count, 1);
  assert_string_equal(f->options.inputs[0].value, "-c");
  assert_int_equal(f->options.concurrency, 10);
}

static void cli_output_dir_short_and_long_forms(void **state) {
  struct fixture *f = *state;
  RUN(f, "-o", "mirror/");
  assert_non_null(f->options.output_dir);
  assert_string_equal(f->options.output_dir, "mirror/");
  RUN(f, "--output-dir=out");
  assert_string_equal(f->options.output_dir, "out");
  RUN(f, "-odir");
  assert_string_equal(f->options.output_dir, "dir");
  assert_null(f->options.output_template);
  assert_false(f->options.fsync);
}

static void cli_output_template_and_fsync_go_with_output_dir(void **state) {
  struct fixture *f = *state;
  RUN(f, "-o", "out", "--output-template", "{host}/{index}-{name}", "--fsync");
  assert_string_equal(f->options.output_dir, "out");
  assert_non_null(f->options.output_template);
  assert_string_equal(f->options.output_template, "{host}/{index}-{name}");
  assert_true(f->options.fsync);
  /* -o may come after them: the check runs once all options are read. */
  RUN(f, "--fsync", "--output-template={url_hash}", "--output-dir", "d");
  assert_true(f->options.fsync);
  assert_string_equal(f->options.output_template, "{url_hash}");
}

static void cli_if_changed_names_the_state_file(void **state) {
  struct fixture *f = *state;
  /* The file need not exist: the state module reports unreadable or corrupt files. */
  RUN(f, "--if-changed", "/nonexistent-afetch-dir/state.json");
  assert_non_null(f->options.state_path);
  assert_string_equal(f->options.state_path, "/nonexistent-afetch-dir/state.json");
  assert_null(f->options.output_dir);
  RUN(f, "--if-changed=state.json", "-o", "mirror");
  assert_string_equal(f->options.state_path, "state.json");
}

static void cli_sha256_turns_digests_on(void **state) {
  struct fixture *f = *state;
  RUN(f, "--sha256");
  assert_true(f->options.sha256);
  assert_int_equal(f->options.max_size, 0);
}

static void cli_max_size_accepts_binary_suffixes(void **state) {
  struct fixture *f = *state;
  RUN(f, "--max-size", "123");
  assert_int_equal(f->options.max_size, 123);
  RUN(f, "--max-size", "10k");
  assert_int_equal(f->options.max_size, 10240);
  RUN(f, "--max-size=10K");
  assert_int_equal(f->options.max_size, 10240);
  RUN(f, "--max-size", "2M");
  assert_int_equal(f->options.max_size, 2 * 1048576);
  RUN(f, "--max-size", "1G");
  assert_int_equal(f->options.max_size, 1073741824);
  RUN(f, "--max-size", "1");
  assert_int_equal(f->options.max_size, 1);
  assert_false(f->options.body);
}

static void cli_max_size_accepts_the_largest_value(void **state) {
  struct fixture *f = *state;
  RUN(f, "--max-size", "9223372036854775807"); /* 2^63 - 1 */
  assert_true(f->options.max_size == UINT64_C(9223372036854775807));
  RUN(f, "--max-size", "8589934591G"); /* (2^33 - 1) GiB */
  assert_true(f->options.max_size == UINT64_C(8589934591) << 30);
}

static void cli_body_alone_limits_bodies_to_one_mebibyte(void **state) {
  struct fixture *f = *state;
  RUN(f, "--body");
  assert_true(f->options.body);
  assert_int_equal(f->options.max_size, 1048576);
}

static void cli_body_keeps_an_explicit_max_size(void **state) {
  struct fixture *f = *state;
  RUN(f, "--body", "--max-size", "5");
  assert_true(f->options.body);
  assert_int_equal(f->options.max_size, 5);
  RUN(f, "--max-size", "3G", "--body");
  assert_int_equal(f->options.max_size, UINT64_C(3) << 30);
}

static void cli_crawl_turns_crawling_on_with_default_settings(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "seeds.txt");
  const struct afetch_options *o = &f->options;
  assert_true(o->crawl);
  assert_int_equal(o->depth, 1);
  assert_int_equal(o->max_pages, 100000); /* a safety cap: a crawl trap ends */
  assert_int_equal(o->scope, CRAWL_SCOPE_HOST);
  assert_null(o->include_regex);
  assert_null(o->exclude_regex);
  assert_false(o->robots);
  assert_false(o->show_skipped);
  assert_false(o->links);
  assert_int_equal(o->input_count, 1);
  assert_string_equal(o->inputs[0].value, "seeds.txt");
}

static void cli_depth_accepts_zero_to_one_thousand(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "--depth", "0");
  assert_int_equal(f->options.depth, 0);
  RUN(f, "--crawl", "--depth=3");
  assert_int_equal(f->options.depth, 3);
  RUN(f, "--depth", "1000", "--crawl");
  assert_int_equal(f->options.depth, 1000);
}

static void cli_max_pages_sets_the_page_limit(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "--max-pages", "1");
  assert_int_equal(f->options.max_pages, 1);
  RUN(f, "--crawl", "--max-pages=500");
  assert_int_equal(f->options.max_pages, 500);
  RUN(f, "--crawl", "--max-pages", "9223372036854775807"); /* LONG_MAX */
  assert_true(f->options.max_pages == 9223372036854775807UL);
}

static void cli_scope_names_host_domain_or_prefix(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "--scope", "domain");
  assert_int_equal(f->options.scope, CRAWL_SCOPE_DOMAIN);
  RUN(f, "--crawl", "--scope=prefix");
  assert_int_equal(f->options.scope, CRAWL_SCOPE_PREFIX);
  RUN(f, "--crawl", "--scope", "host");
  assert_int_equal(f->options.scope, CRAWL_SCOPE_HOST);
}

static void cli_include_and_exclude_are_taken_from_argv(void **state) {
  struct fixture *f = *state;
  /* Not compiled here: the frontier reports a bad pattern. */
  RUN(f, "--crawl", "--include", "/docs/", "--exclude=\\.(pdf|zip)$");
  assert_non_null(f->options.include_regex);
  assert_string_equal(f->options.include_regex, "/docs/");
  assert_non_null(f->options.exclude_regex);
  assert_string_equal(f->options.exclude_regex, "\\.(pdf|zip)$");
  RUN(f, "--crawl", "--exclude", "[");
  assert_null(f->options.include_regex);
  assert_string_equal(f->options.exclude_regex, "[");
}

static void cli_robots_show_skipped_and_links_are_flags(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "--robots");
  assert_true(f->options.robots);
  assert_false(f->options.show_skipped);
  RUN(f, "--show-skipped", "--robots", "--crawl");
  assert_true(f->options.robots);
  assert_true(f->options.show_skipped);
  assert_false(f->options.links);
  RUN(f, "--crawl", "--links");
  assert_true(f->options.links);
  assert_false(f->options.robots);
}

static void cli_crawl_options_combine_with_the_others(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "--depth", "2", "--scope", "host", "-c", "20", "--max-pages", "100", "--robots",
      "--per-host", "2", "--ndjson", "seeds.txt");
  const struct afetch_options *o = &f->options;
  assert_true(o->crawl);
  assert_int_equal(o->depth, 2);
  assert_int_equal(o->max_pages, 100);
  assert_int_equal(o->concurrency, 20);
  assert_int_equal(o->per_host, 2);
  assert_true(o->robots);
  assert_int_equal(o->output_mode, AFETCH_OUTPUT_NDJSON);
  assert_int_equal(o->input_count, 1);
}

static void cli_combined_flags_all_apply(void **state) {
  struct fixture *f = *state;
  RUN(f, "-c", "4", "-t", "1.5", "--ndjson", "--no-location", "-H", "A: b", "-k", "-q", "--http2",
      "list.txt");
  const struct afetch_options *o = &f->options;
  assert_int_equal(o->concurrency, 4);
  assert_int_equal(o->timeout_ms, 1500);
  assert_int_equal(o->output_mode, AFETCH_OUTPUT_NDJSON);
  assert_false(o->follow_redirects);
  assert_string_equal(o->headers->data, "A: b");
  assert_true(o->insecure);
  assert_true(o->quiet);
  assert_int_equal(o->http_version, AFETCH_HTTP_2);
  assert_int_equal(o->input_count, 1);
  assert_string_equal(o->inputs[0].value, "list.txt");
}

/* ---- usage errors ---- */

static void cli_rejects_unknown_flag_and_names_it(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--bogus-flag");
  if (!strstr(f->err_text, "bogus-flag"))
    fail_msg("err does not name the unknown flag: %s", f->err_text);
}

static void cli_rejects_unknown_short_flag(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-Z");
}

static void cli_rejects_zero_concurrency(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-c", "0");
}

static void cli_rejects_negative_concurrency(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-c", "-1");
}

static void cli_rejects_non_numeric_concurrency(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-c", "abc");
}

static void cli_rejects_concurrency_with_trailing_garbage(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-c", "5x");
}

static void cli_rejects_empty_concurrency(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--concurrency=");
}

static void cli_rejects_concurrency_that_overflows(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-c", "99999999999999999999999");
}

static void cli_rejects_negative_timeout(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-t", "-1");
}

static void cli_rejects_nan_timeout(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-t", "nan");
}

static void cli_rejects_non_numeric_timeout(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-t", "abc");
}

static void cli_rejects_infinite_or_huge_timeout(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-t", "inf");
  USAGE_ERROR(f, "-t", "1e300");
}

static void cli_rejects_bad_connect_timeout(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--connect-timeout", "0");
  USAGE_ERROR(f, "--connect-timeout", "-2");
  USAGE_ERROR(f, "--connect-timeout", "soon");
}

/* Expects a usage error whose message names the option: err starts "afetch: NAME wants"
 * (compared at the start: USAGE_ERROR rewinds err, so older text may follow the new). */
#define USAGE_ERROR_NAMING(f, name, ...)                                                           \
  do {                                                                                             \
    static const char prefix_[] = "afetch: " name " wants";                                        \
    USAGE_ERROR(f, __VA_ARGS__);                                                                   \
    if (strncmp((f)->err_text, prefix_, sizeof prefix_ - 1) != 0)                                  \
      fail_msg("err does not name " name " for " #__VA_ARGS__ ": %s", (f)->err_text);              \
  } while (0)

static void cli_rejects_bad_retries(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "-r", "-r", "-1");
  USAGE_ERROR_NAMING(f, "-r", "-r", "x");
  USAGE_ERROR_NAMING(f, "--retries", "--retries", "1001");
  USAGE_ERROR_NAMING(f, "--retries", "--retries=2.5");
}

static void cli_rejects_bad_retry_delays(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--retry-delay", "--retry-delay", "-1");
  USAGE_ERROR_NAMING(f, "--retry-delay", "--retry-delay", "soon");
  USAGE_ERROR_NAMING(f, "--retry-max-delay", "--retry-max-delay", "0");
  USAGE_ERROR_NAMING(f, "--retry-max-delay", "--retry-max-delay", "-5");
}

static void cli_rejects_per_host_out_of_range(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--per-host", "--per-host", "0");
  USAGE_ERROR_NAMING(f, "--per-host", "--per-host", "100001");
  USAGE_ERROR_NAMING(f, "--per-host", "--per-host", "two");
}

static void cli_rejects_bad_rates(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "0/s");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "5/w"); /* /h is an hour now; /w no unit */
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "5/hour");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "abc");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "-3");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "/s");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "5/");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "inf");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "nan/s");
  USAGE_ERROR_NAMING(f, "--rate", "--rate", "2e6");
}

static void cli_rejects_bad_deadlines(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--deadline", "--deadline", "0");
  USAGE_ERROR_NAMING(f, "--deadline", "--deadline", "-1");
  USAGE_ERROR_NAMING(f, "--deadline", "--deadline", "1e300");
}

static void cli_rejects_bad_max_sizes(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "0");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "0k");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "-5");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "+5");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", " 5");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "1T");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "1.5M");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "abc");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "k");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "5kk");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "5m");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size=");
}

static void cli_rejects_max_size_past_two_to_the_63(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "99999999999G");
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "9223372036854775808"); /* 2^63 */
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "8589934592G");         /* 2^63 */
  USAGE_ERROR_NAMING(f, "--max-size", "--max-size", "99999999999999999999999");
  if (!strstr(f->err_text, "suffix k, M or G allowed"))
    fail_msg("err does not mention the suffixes: %s", f->err_text);
}

static void cli_rejects_bad_depths(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--depth", "--crawl", "--depth", "1001");
  USAGE_ERROR_NAMING(f, "--depth", "--crawl", "--depth", "-1");
  USAGE_ERROR_NAMING(f, "--depth", "--crawl", "--depth", "x");
  USAGE_ERROR_NAMING(f, "--depth", "--crawl", "--depth", "1.5");
  USAGE_ERROR_NAMING(f, "--depth", "--crawl", "--depth=");
}

static void cli_max_pages_zero_means_no_limit(void **state) {
  struct fixture *f = *state;
  RUN(f, "--crawl", "--max-pages", "0");
  assert_int_equal(f->options.max_pages, 0);
  RUN(f, "--max-pages=0", "--crawl");
  assert_int_equal(f->options.max_pages, 0);
}

static void cli_rejects_bad_max_pages(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--max-pages", "--crawl", "--max-pages", "-3");
  USAGE_ERROR_NAMING(f, "--max-pages", "--crawl", "--max-pages", "ten");
  USAGE_ERROR_NAMING(f, "--max-pages", "--crawl", "--max-pages", "99999999999999999999999");
}

static void cli_rejects_unknown_scopes(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--scope", "--crawl", "--scope", "site");
  if (!strstr(f->err_text, "host, domain or prefix"))
    fail_msg("err does not list the scopes: %s", f->err_text);
  USAGE_ERROR_NAMING(f, "--scope", "--crawl", "--scope", "HOST");
  USAGE_ERROR_NAMING(f, "--scope", "--crawl", "--scope=");
}

static void cli_rejects_empty_crawl_patterns(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "--include", "--crawl", "--include", "");
  USAGE_ERROR_NAMING(f, "--exclude", "--crawl", "--exclude=");
}

/* Expects a usage error whose message starts with `message` (a whole line). */
#define USAGE_ERROR_SAYING(f, message, ...)                                                        \
  do {                                                                                             \
    USAGE_ERROR(f, __VA_ARGS__);                                                                   \
    if (strncmp((f)->err_text, message, strlen(message)) != 0)                                     \
      fail_msg("expected \"%s\" for " #__VA_ARGS__ ", got: %s", message, (f)->err_text);           \
  } while (0)

static void cli_rejects_repeated_include_or_exclude(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_SAYING(f, "afetch: --include may be given once\n", "--crawl", "--include", "a",
                     "--include", "b");
  USAGE_ERROR_SAYING(f, "afetch: --exclude may be given once\n", "--crawl", "--exclude=a",
                     "--exclude=a");
}

static void cli_rejects_crawl_options_without_crawl_naming_the_first(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_SAYING(f, "afetch: --depth needs --crawl\n", "--depth", "2", "urls.txt");
  USAGE_ERROR_SAYING(f, "afetch: --max-pages needs --crawl\n", "--max-pages", "5");
  USAGE_ERROR_SAYING(f, "afetch: --scope needs --crawl\n", "--scope", "domain");
  USAGE_ERROR_SAYING(f, "afetch: --include needs --crawl\n", "--include", "x");
  USAGE_ERROR_SAYING(f, "afetch: --exclude needs --crawl\n", "--exclude", "x");
  USAGE_ERROR_SAYING(f, "afetch: --robots needs --crawl\n", "--robots");
  USAGE_ERROR_SAYING(f, "afetch: --links needs --crawl\n", "--links");
  USAGE_ERROR_SAYING(f, "afetch: --show-skipped needs --crawl\n", "--show-skipped", "--robots");
  USAGE_ERROR_SAYING(f, "afetch: --links needs --crawl\n", "--links", "--depth", "2", "--robots");
}

static void cli_rejects_show_skipped_without_robots(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_SAYING(f, "afetch: --show-skipped needs --robots\n", "--crawl", "--show-skipped");
}

static void cli_rejects_empty_output_names(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR_NAMING(f, "-o", "-o", "");
  USAGE_ERROR_NAMING(f, "--output-dir", "--output-dir=");
  USAGE_ERROR_NAMING(f, "--output-template", "-o", "d", "--output-template", "");
  USAGE_ERROR_NAMING(f, "--if-changed", "--if-changed=");
}

static void cli_rejects_output_template_without_output_dir(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--output-template", "{host}/{name}");
  if (strncmp(f->err_text, "afetch: --output-template needs -o/--output-dir\n",
              strlen("afetch: --output-template needs -o/--output-dir\n")) != 0)
    fail_msg("err does not say --output-template needs -o: %s", f->err_text);
}

static void cli_rejects_fsync_without_output_dir(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--fsync", "urls.txt");
  if (strncmp(f->err_text, "afetch: --fsync needs -o/--output-dir\n",
              strlen("afetch: --fsync needs -o/--output-dir\n")) != 0)
    fail_msg("err does not say --fsync needs -o: %s", f->err_text);
}

static void cli_no_resume_goes_with_output_dir(void **state) {
  struct fixture *f = *state;
  RUN(f, "-o", "out");
  assert_false(f->options.no_resume);
  RUN(f, "--no-resume", "-o", "out");
  assert_true(f->options.no_resume);
  USAGE_ERROR(f, "--no-resume", "urls.txt");
  if (strncmp(f->err_text, "afetch: --no-resume needs -o/--output-dir\n",
              strlen("afetch: --no-resume needs -o/--output-dir\n")) != 0)
    fail_msg("err does not say --no-resume needs -o: %s", f->err_text);
}

static void cli_missing_output_dir_after_allocating_options_leaks_nothing(void **state) {
  /* The -o check runs after -H and -d allocated; ASan reports a leak if they stay. */
  struct fixture *f = *state;
  USAGE_ERROR(f, "-H", "A: 1", "-d", "x", "--fsync");
}

static void cli_rejects_max_redirs_below_minus_one(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--max-redirs", "-2");
}

static void cli_rejects_non_numeric_max_redirs(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--max-redirs", "many");
}

static void cli_rejects_missing_option_argument(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-c");
}

static void cli_rejects_missing_long_option_argument(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--timeout");
}

static void cli_rejects_missing_cacert_file_and_names_it(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "--cacert", "/nonexistent-afetch-dir/ca.pem");
  if (!strstr(f->err_text, "/nonexistent-afetch-dir/ca.pem"))
    fail_msg("err does not name the missing file: %s", f->err_text);
}

static void cli_usage_error_after_valid_options_leaks_nothing(void **state) {
  /* -H and -d allocate before the bad flag is seen; ASan reports a leak if they stay. */
  struct fixture *f = *state;
  USAGE_ERROR(f, "-H", "A: 1", "-d", "x", "-d", "y", "-c", "0");
}

static void cli_data_at_file_reads_the_file_without_line_ends(void **state) {
  /* curl's -d @FILE, as the --help text promises. */
  struct fixture *f = *state;
  static char path[HELPER_PATH_SIZE];
  static char argument[HELPER_PATH_SIZE + 1];
  helper_temp_file("a=1\r\nb=2\n", strlen("a=1\r\nb=2\n"), path);
  snprintf(argument, sizeof argument, "@%s", path);
  static char *argv[] = {"afetch", "-d", "x=0", "-d", argument, NULL};
  assert_int_equal(parse(f, 5, argv), CLI_RUN);
  unlink(path);
  assert_non_null(f->options.data);
  assert_string_equal(f->options.data, "x=0&a=1b=2");
  assert_int_equal(f->options.data_length, strlen("x=0&a=1b=2"));
}

static void cli_rejects_data_from_a_missing_file_and_names_it(void **state) {
  struct fixture *f = *state;
  USAGE_ERROR(f, "-d", "@/nonexistent-afetch-dir/body.txt");
  if (!strstr(f->err_text, "/nonexistent-afetch-dir/body.txt"))
    fail_msg("err does not name the missing file: %s", f->err_text);
}

/* Puts a pipe holding `text` (then closed) on fd 0 for one test; returns the saved fd 0 for
 * restore_stdin(). */
static int stdin_from_text(const char *text) {
  int saved = dup(STDIN_FILENO);
  assert_true(saved >= 0);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
  close(fds[1]);
  assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  close(fds[0]);
  return saved;
}

static void restore_stdin(int saved) {
  dup2(saved, STDIN_FILENO);
  close(saved);
  clearerr(stdin); /* a test read stdin to its end */
}

static void cli_data_at_dash_reads_standard_input_when_urls_come_from_files(void **state) {
  struct fixture *f = *state;
  int saved = stdin_from_text("a=1\r\nb=2\n");
  enum cli_outcome outcome;
  PARSE(f, "-d", "x=0", "-d", "@-", "urls.txt");
  restore_stdin(saved);
  if (outcome != CLI_RUN)
    fail_msg("expected CLI_RUN, got %d; err: %s", (int)outcome, f->err_text);
  assert_string_equal(f->options.data, "x=0&a=1b=2");
}

/* Expects a usage error saying that the data would be read from the URLs' standard input. */
#define USAGE_ERROR_DATA_FROM_URL_STDIN(f, ...)                                                    \
  do {                                                                                             \
    int saved_ = stdin_from_text("http://a/\n");                                                   \
    USAGE_ERROR(f, __VA_ARGS__);                                                                   \
    restore_stdin(saved_);                                                                         \
    if (!strstr((f)->err_text, "standard input, which carries the URLs"))                          \
      fail_msg("err does not say why for " #__VA_ARGS__ ": %s", (f)->err_text);                    \
  } while (0)

static void cli_refuses_data_from_the_standard_input_that_carries_the_urls(void **state) {
  /* Reading the data would eat the URL list: afetch printed [] and exited 0. */
  struct fixture *f = *state;
  USAGE_ERROR_DATA_FROM_URL_STDIN(f, "-d", "@-");
  USAGE_ERROR_DATA_FROM_URL_STDIN(f, "-d", "@/dev/stdin");
  USAGE_ERROR_DATA_FROM_URL_STDIN(f, "-d", "@/proc/self/fd/0", "-");
  USAGE_ERROR_DATA_FROM_URL_STDIN(f, "-d", "@-", "urls.txt", "-");
  USAGE_ERROR_DATA_FROM_URL_STDIN(f, "-d", "@-", "/dev/stdin");
}

static void cli_refuses_a_data_file_larger_than_64_mib(void **state) {
  /* An endless data file (/dev/zero) must not take all memory. */
  struct fixture *f = *state;
  USAGE_ERROR(f, "-d", "@/dev/zero");
  if (!strstr(f->err_text, "/dev/zero") || !strstr(f->err_text, "64 MiB"))
    fail_msg("err does not name the file and the limit: %s", f->err_text);
}

static void cli_help_after_allocating_options_leaks_nothing(void **state) {
  /* -H and -d allocate; --help must free them (ASan reports a leak otherwise). */
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "-H", "A: 1", "-d", "x", "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  assert_non_null(strstr(f->out_text, "--ndjson"));
}

/* ---- --help and --version ---- */

static void cli_help_prints_usage_to_out(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  assert_non_null(f->out_text);
  assert_non_null(strstr(f->out_text, "Usage:"));
  assert_non_null(strstr(f->out_text, "--concurrency"));
  assert_non_null(strstr(f->out_text, "--ndjson"));
  assert_non_null(strstr(f->out_text, "--timeout"));
  assert_non_null(strstr(f->out_text, "--per-host"));
  assert_non_null(strstr(f->out_text, "--deadline"));
  assert_non_null(strstr(f->out_text, "--output-dir"));
  assert_non_null(strstr(f->out_text, "--if-changed"));
  assert_non_null(strstr(f->out_text, "--crawl"));
  assert_int_equal(f->err_size, 0);
}

static void cli_help_lists_saving_options_within_80_columns(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  const char *group = strstr(f->out_text, "Saving bodies:\n");
  assert_non_null(group);
  const char *group_end = strstr(group, "\n\n");
  assert_non_null(group_end);
  static const char *const names[] = {
      "-o, --output-dir", "--output-template", "--fsync", "--if-changed",
      "--sha256",         "--max-size",        "--body",  "--no-resume"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *found = strstr(group, names[i]);
    if (!found || found > group_end)
      fail_msg("\"Saving bodies:\" does not list %s", names[i]);
  }
  for (const char *line = group; line < group_end;) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    if (length > 80)
      fail_msg("help line longer than 80 columns: %.*s", (int)length, line);
    line += length + (end ? 1 : 0);
  }
}

static void cli_help_lists_crawling_options_in_their_group(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  const char *group = strstr(f->out_text, "Crawling:\n");
  assert_non_null(group);
  const char *group_end = strstr(group, "\n\n");
  assert_non_null(group_end);
  static const char *const names[] = {"--crawl",  "--depth",        "--max-pages",
                                      "--scope",  "--include",      "--exclude",
                                      "--robots", "--show-skipped", "--links"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *found = strstr(group, names[i]);
    if (!found || found > group_end)
      fail_msg("\"Crawling:\" does not list %s", names[i]);
  }
}

/* About one screen: every line within 80 columns, the whole text within 60 lines. */
static void cli_help_fits_one_screen(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  size_t lines = 0;
  for (const char *line = f->out_text; *line;) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    if (length > 80)
      fail_msg("help line longer than 80 columns: %.*s", (int)length, line);
    lines++;
    line += length + (end ? 1 : 0);
  }
  if (lines > 60)
    fail_msg("help is %zu lines long, more than 60", lines);
}

/* True when `text` names `option` ("--stats") as a whole word: not as the start of a longer
 * one ("--stats-json") nor as the end of one. */
static bool names_option(const char *text, const char *option) {
  size_t length = strlen(option);
  for (const char *at = strstr(text, option); at; at = strstr(at + 1, option)) {
    char before = at == text ? ' ' : at[-1];
    char after = at[length];
    bool name_char_before = before == '-' || (before >= 'a' && before <= 'z');
    bool name_char_after = after == '-' || after == '.' || (after >= 'a' && after <= 'z') ||
                           (after >= '0' && after <= '9');
    if (!name_char_before && !name_char_after)
      return true;
  }
  return false;
}

static void cli_help_lists_output_options_in_their_group(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  const char *group = strstr(f->out_text, "Output:\n");
  assert_non_null(group);
  const char *group_end = strstr(group, "\n\n");
  assert_non_null(group_end);
  size_t length = (size_t)(group_end - group);
  char *text = strndup(group, length);
  assert_non_null(text);
  static const char *const names[] = {
      "--ndjson", "--quiet",     "--progress", "--no-progress", "--progress-interval",
      "--stats",  "--stats-json"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!names_option(text, names[i])) {
      free(text);
      fail_msg("\"Output:\" does not list %s", names[i]);
    }
  free(text);
}

static void cli_short_help_prints_usage_to_out(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "-h");
  assert_int_equal(outcome, CLI_EXIT_OK);
  assert_non_null(strstr(f->out_text, "--concurrency"));
}

static void cli_help_wins_over_operands(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "urls.txt", "--help");
  assert_int_equal(outcome, CLI_EXIT_OK);
  assert_non_null(strstr(f->out_text, "--ndjson"));
}

static void cli_version_prints_name_and_version(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "--version");
  assert_int_equal(outcome, CLI_EXIT_OK);
  assert_non_null(strstr(f->out_text, "afetch"));
  assert_non_null(strstr(f->out_text, AFETCH_VERSION));
  assert_int_equal(f->err_size, 0);
}

static void cli_short_version_prints_name_and_version(void **state) {
  struct fixture *f = *state;
  enum cli_outcome outcome;
  PARSE(f, "-V");
  assert_int_equal(outcome, CLI_EXIT_OK);
  assert_non_null(strstr(f->out_text, "afetch"));
  assert_non_null(strstr(f->out_text, AFETCH_VERSION));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  /* The -d @- tests put a pipe on fd 0 and restore it: it must be open (CI may close it). */
  if (fcntl(STDIN_FILENO, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != STDIN_FILENO)
    return 1;
  const struct CMUnitTest tests[] = {
      T(cli_defaults_without_arguments),
      T(cli_concurrency_short_and_long_forms),
      T(cli_threads_sets_the_number_of_event_loops),
      T(cli_rejects_threads_out_of_range),
      T(cli_auto_threads_follow_cpus_and_concurrency),
      T(cli_timeout_accepts_fractional_seconds),
      T(cli_timeout_leaves_connect_timeout_alone),
      T(cli_download_has_no_time_limit_but_a_stall_limit),
      T(cli_speed_limit_and_time_pair_up),
      T(cli_urls_files_and_stdin_keep_their_order),
      T(cli_connect_timeout_accepts_fractional_seconds),
      T(cli_retries_short_and_long_forms),
      T(cli_retry_delay_accepts_zero_and_fractions),
      T(cli_retry_max_delay_sets_the_backoff_cap),
      T(cli_per_host_sets_the_per_host_limit),
      T(cli_rate_is_stored_per_second),
      T(cli_deadline_accepts_fractional_seconds),
      T(cli_ndjson_selects_line_output),
      T(cli_no_location_disables_redirects_and_L_enables_them),
      T(cli_max_redirs_sets_the_limit),
      T(cli_max_redirs_accepts_minus_one_for_unlimited),
      T(cli_location_trusted_follows_and_trusts_other_hosts),
      T(cli_repeated_header_builds_list_in_order),
      T(cli_user_agent_is_taken_from_argv),
      T(cli_user_agent_becomes_a_header_unless_one_is_given),
      T(cli_request_sets_the_method),
      T(cli_data_sets_body_and_leaves_method_unset),
      T(cli_repeated_data_is_joined_with_ampersand),
      T(cli_insecure_turns_verification_off),
      T(cli_cacert_names_an_existing_file),
      T(cli_http_version_flags_select_the_protocol),
      T(cli_quiet_silences_diagnostics),
      T(cli_progress_and_no_progress_last_one_wins),
      T(cli_progress_takes_a_style),
      T(cli_progress_interval_is_seconds_above_zero),
      T(cli_quiet_and_progress_are_kept_apart),
      T(cli_stats_turns_the_summary_table_on),
      T(cli_stats_json_names_the_file_without_turning_stats_on),
      T(cli_rejects_empty_or_missing_stats_json),
      T(cli_rejects_values_for_flag_options),
      T(cli_operands_are_collected_in_order),
      T(cli_options_may_follow_operands),
      T(cli_double_dash_ends_options),
      T(cli_output_dir_short_and_long_forms),
      T(cli_output_template_and_fsync_go_with_output_dir),
      T(cli_if_changed_names_the_state_file),
      T(cli_sha256_turns_digests_on),
      T(cli_max_size_accepts_binary_suffixes),
      T(cli_max_size_accepts_the_largest_value),
      T(cli_body_alone_limits_bodies_to_one_mebibyte),
      T(cli_body_keeps_an_explicit_max_size),
      T(cli_crawl_turns_crawling_on_with_default_settings),
      T(cli_depth_accepts_zero_to_one_thousand),
      T(cli_max_pages_sets_the_page_limit),
      T(cli_scope_names_host_domain_or_prefix),
      T(cli_include_and_exclude_are_taken_from_argv),
      T(cli_robots_show_skipped_and_links_are_flags),
      T(cli_crawl_options_combine_with_the_others),
      T(cli_combined_flags_all_apply),
      T(cli_rejects_unknown_flag_and_names_it),
      T(cli_rejects_unknown_short_flag),
      T(cli_rejects_zero_concurrency),
      T(cli_rejects_negative_concurrency),
      T(cli_rejects_non_numeric_concurrency),
      T(cli_rejects_concurrency_with_trailing_garbage),
      T(cli_rejects_empty_concurrency),
      T(cli_rejects_concurrency_that_overflows),
      T(cli_rejects_negative_timeout),
      T(cli_rejects_nan_timeout),
      T(cli_rejects_non_numeric_timeout),
      T(cli_rejects_infinite_or_huge_timeout),
      T(cli_rejects_bad_connect_timeout),
      T(cli_rejects_bad_retries),
      T(cli_rejects_bad_retry_delays),
      T(cli_rejects_per_host_out_of_range),
      T(cli_rejects_bad_rates),
      T(cli_rejects_bad_deadlines),
      T(cli_rejects_bad_max_sizes),
      T(cli_rejects_max_size_past_two_to_the_63),
      T(cli_rejects_bad_depths),
      T(cli_max_pages_zero_means_no_limit),
      T(cli_rejects_bad_max_pages),
      T(cli_rejects_unknown_scopes),
      T(cli_rejects_empty_crawl_patterns),
      T(cli_rejects_repeated_include_or_exclude),
      T(cli_rejects_crawl_options_without_crawl_naming_the_first),
      T(cli_rejects_show_skipped_without_robots),
      T(cli_rejects_empty_output_names),
      T(cli_rejects_output_template_without_output_dir),
      T(cli_rejects_fsync_without_output_dir),
      T(cli_no_resume_goes_with_output_dir),
      T(cli_missing_output_dir_after_allocating_options_leaks_nothing),
      T(cli_rejects_max_redirs_below_minus_one),
      T(cli_rejects_non_numeric_max_redirs),
      T(cli_rejects_missing_option_argument),
      T(cli_rejects_missing_long_option_argument),
      T(cli_rejects_missing_cacert_file_and_names_it),
      T(cli_usage_error_after_valid_options_leaks_nothing),
      T(cli_data_at_file_reads_the_file_without_line_ends),
      T(cli_rejects_data_from_a_missing_file_and_names_it),
      T(cli_data_at_dash_reads_standard_input_when_urls_come_from_files),
      T(cli_refuses_data_from_the_standard_input_that_carries_the_urls),
      T(cli_refuses_a_data_file_larger_than_64_mib),
      T(cli_help_after_allocating_options_leaks_nothing),
      T(cli_help_prints_usage_to_out),
      T(cli_help_lists_saving_options_within_80_columns),
      T(cli_help_lists_crawling_options_in_their_group),
      T(cli_help_fits_one_screen),
      T(cli_result_fields_add_up),
      T(cli_help_lists_output_options_in_their_group),
      T(cli_short_help_prints_usage_to_out),
      T(cli_help_wins_over_operands),
      T(cli_version_prints_name_and_version),
      T(cli_short_version_prints_name_and_version),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
