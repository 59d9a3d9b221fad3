/* Hostile input and a hostile environment: internationalised host names in any locale, a
 * byte-order mark, a crawl trap, a low open-file limit, -d reading standard input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tests.h"

/* The result as compact JSON, cut to 600 bytes, for failure messages. */
static const char *result_text(const cJSON *result) {
  char *text = cJSON_PrintUnformatted(result);
  const char *copy = h_fmt("%.600s", text != NULL ? text : "(unprintable)");
  free(text);
  return copy;
}

/* Fails unless every result of a finished gather-mode run is ok with status 200. */
static void expect_all_ok(const struct h_proc *proc, const cJSON *results) {
  const cJSON *result;
  cJSON_ArrayForEach(result, results) {
    if (!h_ok(result) || h_status(result) != 200)
      fail_msg("%s: expected every result ok with status 200, got %s; stderr: %s", proc->cmdline,
               result_text(result), proc->err.data);
  }
}

/* An environment variable's value (tracked copy) or NULL, for putting it back. */
static const char *saved_env(const char *name) {
  const char *value = getenv(name);
  return value ? h_fmt("%s", value) : NULL;
}

static void restore_env(const char *name, const char *value) {
  if (value)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

/* Whether the server's arrival log holds a request with this Host header. */
static bool arrived_with_host(cJSON *arrivals, const char *host) {
  const cJSON *arrival;
  cJSON_ArrayForEach(arrival, arrivals) {
    const char *got = h_string(arrival, "host");
    if (got && strcmp(got, host) == 0)
      return true;
  }
  return false;
}

/* libcurl converts an internationalised host name to punycode from the locale's character
 * set: afetch reads UTF-8 input whatever locale the environment names, "C" under cron too. */
void idn_host_names_are_fetched_in_any_locale(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  /* curl resolves every *.localhost name to the loopback address itself. */
  const char *input =
      h_fmt("http://bücher.localhost:%d/any/1\nhttp://тест.localhost:%d/any/2\n", port, port);
  /* The environment as it is, LC_ALL=C, and no locale variable at all (cron). */
  const char *const variables[] = {"LC_ALL", "LC_CTYPE", "LANG"};
  const char *saved[3];
  for (size_t v = 0; v < 3; v++)
    saved[v] = saved_env(variables[v]);
  const char *const environments[] = {"as is", "LC_ALL=C", "no locale variables"};
  for (size_t i = 0; i < 3; i++) {
    if (i == 1)
      setenv("LC_ALL", "C", 1);
    for (size_t v = 0; i == 2 && v < 3; v++)
      unsetenv(variables[v]);
    h_reset(port);
    const char *args[] = {"--ndjson", NULL};
    struct h_proc *proc = h_afetch_run(args, input);
    for (size_t v = 0; v < 3; v++)
      restore_env(variables[v], saved[v]);
    const char *cmdline = h_fmt("(%s) %s", environments[i], proc->cmdline);
    cJSON *results = h_parse_ndjson(proc->out.data);
    h_check_results(results, 2);
    expect_all_ok(proc, results);
    h_expect_exit(proc, 0);
    cJSON *arrivals = h_arrivals(port);
    const char *hosts[] = {h_fmt("xn--bcher-kva.localhost:%d", port),
                           h_fmt("xn--e1aybc.localhost:%d", port)};
    for (size_t k = 0; k < 2; k++)
      if (!arrived_with_host(arrivals, hosts[k]))
        fail_msg("%s: no request with \"Host: %s\" reached the server", cmdline, hosts[k]);
  }
}

/* A UTF-8 byte-order mark (Windows editors write one) starts a FILE and standard input: both
 * first lines are fetched, not reported as invalid URLs. */
void byte_order_mark_at_input_start_is_skipped(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *in_file = h_fmt("\xEF\xBB\xBFhttp://127.0.0.1:%d/any/file\r\n", port);
  const char *file = h_temp_file(in_file, strlen(in_file));
  const char *on_stdin = h_fmt("\xEF\xBB\xBFhttp://127.0.0.1:%d/any/stdin\n", port);
  const char *args[] = {file, "-", NULL};
  struct h_proc *proc = h_afetch_run(args, on_stdin);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 2);
  expect_all_ok(proc, results);
  h_expect_exit(proc, 0);
  const char *urls[] = {h_fmt("http://127.0.0.1:%d/any/file", port),
                        h_fmt("http://127.0.0.1:%d/any/stdin", port)};
  for (long i = 0; i < 2; i++)
    if (strcmp(h_string(h_result(results, i), "url"), urls[i]) != 0)
      fail_msg("%s: result %ld has url %s, expected %s", proc->cmdline, i,
               h_string(h_result(results, i), "url"), urls[i]);
}

/* A hard open-file limit below what -c needs: -c is lowered to fit, said once on stderr (not
 * with -q), and no URL fails for want of a descriptor. */
void low_open_file_limit_lowers_concurrency(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  struct h_buf *list = h_text();
  for (int i = 0; i < 400; i++)
    h_text_add(list, "http://127.0.0.1:%d/delay/20\n", port);
  const char *file = h_temp_file(list->data, list->len);
  const long limit = 128;

  h_reset(port);
  const char *args[] = {"-c", "200", file, NULL};
  struct h_proc *proc = h_afetch_run_nofile(args, NULL, limit);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 400);
  expect_all_ok(proc, results);
  h_expect_exit(proc, 0);
  if (h_count(proc->err.data, "open-file limit") != 1 || !strstr(proc->err.data, "-c 200") ||
      !strstr(proc->err.data, "running with -c"))
    fail_msg("%s: expected one line on stderr saying -c 200 was lowered, got: %s", proc->cmdline,
             proc->err.data);
  struct h_stats stats = h_stats(port);
  if (stats.requests != 400 || stats.max_in_flight >= limit)
    fail_msg("%s: the server saw %ld requests (expected 400), at most %ld at once (expected "
             "fewer than the limit of %ld)",
             proc->cmdline, stats.requests, stats.max_in_flight, limit);

  const char *quiet[] = {"-q", "-c", "200", file, NULL};
  proc = h_afetch_run_nofile(quiet, NULL, limit);
  h_check_results(h_gather_output(proc), 400);
  h_expect_exit(proc, 0);
  if (proc->err.len != 0)
    fail_msg("%s: -q should leave stderr empty, got: %s", proc->cmdline, proc->err.data);
}

/* A crawl trap (every page links to ten new ones, without end) at --depth 1000 ends at
 * --max-pages, and a crawl without --max-pages has a cap of its own (checked in --help: a
 * test cannot wait for 100000 pages). */
void crawl_trap_ends_at_max_pages(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  const char *args[] = {"--crawl", "--depth", "1000", "--max-pages", "50", "-c", "4", NULL};
  struct h_proc *proc = h_afetch_run(args, h_fmt("http://127.0.0.1:%d/trap/0\n", port));
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 50);
  expect_all_ok(proc, results);
  h_expect_exit(proc, 0);
  struct h_stats stats = h_stats(port);
  if (stats.requests != 50)
    fail_msg("%s: the server saw %ld requests, expected the 50 of --max-pages", proc->cmdline,
             stats.requests);

  const char *help[] = {"--help", NULL};
  proc = h_afetch_run(help, NULL);
  h_expect_exit(proc, 0);
  if (!strstr(proc->out.data, "--max-pages N") || !strstr(proc->out.data, "100000, 0: no limit"))
    fail_msg("%s: the help text does not give --max-pages's default: %s", proc->cmdline,
             proc->out.data);
}

/* -d @/dev/stdin (or @-) while standard input carries the URLs would eat the URL list (afetch
 * printed [] and exited 0): a usage error. With the URLs in a FILE, -d @- reads standard input.
 * An endless data file is refused instead of filling memory. */
void data_from_stdin_never_eats_the_url_list(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  h_reset(port);
  const char *urls = h_fmt("http://127.0.0.1:%d/any/1\n", port);
  const char *eats[] = {"-d", "@/dev/stdin", NULL};
  struct h_proc *proc = h_afetch_run(eats, urls);
  h_expect_exit(proc, 2);
  if (proc->out.len != 0 || !strstr(proc->err.data, "carries the URLs"))
    fail_msg("%s: expected an empty stdout and a message saying why, got stdout: %s stderr: %s",
             proc->cmdline, proc->out.data, proc->err.data);
  if (h_stats(port).requests != 0)
    fail_msg("%s: a usage error must fetch nothing", proc->cmdline);

  const char *list = h_fmt("http://127.0.0.1:%d/headers\n", port);
  const char *file = h_temp_file(list, strlen(list));
  const char *data_on_stdin[] = {"-d", "@-", "--body", file, NULL};
  proc = h_afetch_run(data_on_stdin, "name=value\r\n");
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  expect_all_ok(proc, results);
  h_expect_exit(proc, 0);
  const char *echo = h_string(h_result(results, 0), "body");
  if (!echo || !strstr(echo, "\"method\":\"POST\"") || !strstr(echo, "\"body\":\"name=value\""))
    fail_msg("%s: the server did not get the POST body from standard input: %s", proc->cmdline,
             echo ? echo : "(no body)");

  const char *endless[] = {"-d", "@/dev/zero", file, NULL};
  proc = h_afetch_run(endless, NULL);
  h_expect_exit(proc, 2);
  if (!strstr(proc->err.data, "64 MiB"))
    fail_msg("%s: expected a message naming the limit, got: %s", proc->cmdline, proc->err.data);
}
