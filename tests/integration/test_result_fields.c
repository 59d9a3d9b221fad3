/* The opt-in result keys: --include-headers (headers) and --result-fields (location,
 * redirects_chain, method, started_at), in gather and ndjson output; and their absence
 * without the options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "tests.h"

/* The single result of one URL, in gather mode and in ndjson mode (`results[0]`, `[1]`). */
static void fetch_both(const char *const *options, const char *url, int exit_code,
                       const cJSON *results[2]) {
  for (int mode = 0; mode < 2; mode++) {
    const char *args[32];
    size_t n = 0;
    if (mode == 1)
      args[n++] = "--ndjson";
    for (size_t i = 0; options && options[i]; i++)
      args[n++] = options[i];
    args[n++] = url;
    args[n] = NULL;
    struct h_proc *proc = h_afetch_run(args, NULL);
    h_expect_exit(proc, exit_code);
    cJSON *all = mode == 0 ? h_gather_output(proc) : h_parse_ndjson(proc->out.data);
    h_check_results(all, 1);
    results[mode] = h_result(all, 0);
  }
}

static const char *printed(const cJSON *item) {
  char *text = cJSON_PrintUnformatted(item);
  const char *copy = h_fmt("%.800s", text ? text : "(null)");
  free(text);
  return copy;
}

/* The array `key` of `object`, failing unless it is one. */
static const cJSON *array_of(const cJSON *object, const char *key) {
  const cJSON *array = h_field(object, key);
  if (!cJSON_IsArray(array))
    fail_msg("\"%s\" should be an array in %s", key, printed(object));
  return array;
}

/* Fails unless the header `name` has exactly these values, in this order. */
static void expect_header(const cJSON *headers, const char *name, const char *const *values,
                          int count) {
  const cJSON *got = cJSON_GetObjectItemCaseSensitive(headers, name);
  if (!cJSON_IsArray(got) || cJSON_GetArraySize(got) != count)
    fail_msg("headers[\"%s\"] should be an array of %d values in %s", name, count,
             printed(headers));
  for (int i = 0; i < count; i++) {
    const cJSON *value = cJSON_GetArrayItem(got, i);
    if (!cJSON_IsString(value) || strcmp(value->valuestring, values[i]) != 0)
      fail_msg("headers[\"%s\"][%d] should be \"%s\" in %s", name, i, values[i],
               printed(headers));
  }
}

/* Without the options, each result has the contract's keys and no other, in both modes. */
void result_fields_are_absent_without_their_options(void **state) {
  (void)state;
  int port = h_http->http_port;
  static const char *const contract[] = {"index",        "url",      "final_url", "ok",
                                         "status",       "error",    "http_version",
                                         "remote_ip",    "redirects", "attempts",
                                         "content_type", "size",     "time"};
  const char *paths[] = {"/manyheaders/2", "/redirect/2"};
  const char *no_follow[] = {"--no-location", NULL};
  for (size_t p = 0; p < 2; p++)
    for (int follow = 0; follow < 2; follow++) {
      const cJSON *results[2];
      fetch_both(follow ? NULL : no_follow, h_url(port, paths[p]), 0, results);
      for (int mode = 0; mode < 2; mode++) {
        int count = 0;
        const cJSON *item;
        cJSON_ArrayForEach(item, results[mode]) {
          if (count >= 13 || strcmp(item->string, contract[count]) != 0)
            fail_msg("key %d should be \"%s\", not \"%s\" in %s", count,
                     count < 13 ? contract[count] : "(none)", item->string,
                     printed(results[mode]));
          count++;
        }
        assert_int_equal(count, 13);
      }
    }
}

static void check_many_headers(const cJSON *r) {
  const cJSON *headers = h_field(r, "headers");
  if (!cJSON_IsObject(headers))
    fail_msg("\"headers\" should be an object in %s", printed(r));
  static const char *const cookies[] = {"a=1", "b=2"}, *const yes[] = {"Yes"},
                           *const length[] = {"5"}, *const type[] = {"text/plain"};
  expect_header(headers, "set-cookie", cookies, 2);
  expect_header(headers, "x-mixed-case", yes, 1);
  expect_header(headers, "content-length", length, 1);
  expect_header(headers, "content-type", type, 1);
  const cJSON *many = array_of(headers, "x-many");
  assert_int_equal(cJSON_GetArraySize(many), 2);
  for (int i = 0; i < 2; i++) {
    const char *value = cJSON_GetArrayItem(many, i)->valuestring;
    assert_int_equal(strlen(value), 1000);
    assert_true(strncmp(value, h_fmt("%d-x", i), 3) == 0);
  }
  /* Names as curl's %{header_json}: lower case only, the first one first. */
  const cJSON *item;
  cJSON_ArrayForEach(item, headers) {
    for (const char *c = item->string; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        fail_msg("header name \"%s\" is not in lower case", item->string);
  }
  assert_string_equal(headers->child->string, "set-cookie");
  assert_null(cJSON_GetObjectItemCaseSensitive(r, "headers_truncated"));
  assert_null(cJSON_GetObjectItemCaseSensitive(r, "location"));
}

/* --include-headers: the final response's headers, repeated names kept, in both modes. */
void include_headers_keeps_repeated_names_in_lower_case(void **state) {
  (void)state;
  int port = h_http->http_port;
  const cJSON *results[2];
  const char *include[] = {"--include-headers", NULL};
  fetch_both(include, h_url(port, "/manyheaders/2"), 0, results);
  check_many_headers(results[0]);
  check_many_headers(results[1]);
  const char *by_list[] = {"--result-fields", "headers", NULL};
  fetch_both(by_list, h_url(port, "/manyheaders/2"), 0, results);
  check_many_headers(results[0]);
  check_many_headers(results[1]);

  /* After redirects: the last hop's headers only (the 302s' Location is not among them). */
  fetch_both(include, h_url(port, "/redirect/2"), 0, results);
  for (int mode = 0; mode < 2; mode++) {
    const cJSON *headers = h_field(results[mode], "headers");
    static const char *const length[] = {"5"};
    expect_header(headers, "content-length", length, 1);
    if (cJSON_GetObjectItemCaseSensitive(headers, "location"))
      fail_msg("headers of a followed redirect should be the final response's: %s",
               printed(headers));
  }
  /* No response: an empty object. */
  fetch_both(include, h_fmt("http://127.0.0.1:%d/", h_unused_port()), 1, results);
  for (int mode = 0; mode < 2; mode++) {
    const cJSON *headers = h_field(results[mode], "headers");
    if (!cJSON_IsObject(headers) || headers->child)
      fail_msg("headers without a response should be {}: %s", printed(results[mode]));
  }
}

/* At most 100 KiB of names and values are kept: the names that do not fit are left out, and
 * headers_truncated says so. */
void include_headers_is_capped_at_100_kib(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *include[] = {"--include-headers", NULL};
  const cJSON *results[2];
  fetch_both(include, h_url(port, "/manyheaders/150"), 0, results);
  for (int mode = 0; mode < 2; mode++) {
    const cJSON *r = results[mode];
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "headers_truncated")))
      fail_msg("150 KB of headers should set headers_truncated: %.300s", printed(r));
    const cJSON *headers = h_field(r, "headers");
    static const char *const cookies[] = {"a=1", "b=2"};
    expect_header(headers, "set-cookie", cookies, 2);
    assert_null(cJSON_GetObjectItemCaseSensitive(headers, "x-many"));
    char *text = cJSON_PrintUnformatted(headers);
    assert_true(strlen(text) <= 100 * 1024 + 4096);
    free(text);
  }
  /* 50 KB fits whole. */
  fetch_both(include, h_url(port, "/manyheaders/50"), 0, results);
  for (int mode = 0; mode < 2; mode++) {
    assert_null(cJSON_GetObjectItemCaseSensitive(results[mode], "headers_truncated"));
    assert_int_equal(cJSON_GetArraySize(array_of(h_field(results[mode], "headers"), "x-many")),
                     50);
  }
}

static void expect_location(const cJSON *r, const char *location) {
  const char *got = h_string(r, "location");
  if (location == NULL ? got != NULL : got == NULL || strcmp(got, location) != 0)
    fail_msg("location should be %s in %s", location ? location : "null", printed(r));
}

/* "location": the absolute URL of a 3xx not followed; null otherwise. */
void location_is_given_for_a_redirect_not_followed(void **state) {
  (void)state;
  int port = h_http->http_port;
  const cJSON *results[2];
  const char *no_follow[] = {"--no-location", "--result-fields", "location", NULL};
  fetch_both(no_follow, h_url(port, "/redirect/2"), 0, results);
  for (int mode = 0; mode < 2; mode++) {
    assert_int_equal(h_status(results[mode]), 302);
    expect_location(results[mode], h_url(port, "/redirect/1")); /* the server's is relative */
  }
  const char *limited[] = {"--max-redirs", "1", "--result-fields", "location", NULL};
  fetch_both(limited, h_url(port, "/redirect/3"), 1, results);
  for (int mode = 0; mode < 2; mode++) {
    assert_string_equal(h_error_code(results[mode]), "too_many_redirects");
    expect_location(results[mode], h_url(port, "/redirect/1"));
  }
  const char *followed[] = {"--result-fields", "location", NULL};
  fetch_both(followed, h_url(port, "/redirect/2"), 0, results);
  for (int mode = 0; mode < 2; mode++)
    expect_location(results[mode], NULL);
  fetch_both(no_follow, h_url(port, "/status/404"), 1, results);
  for (int mode = 0; mode < 2; mode++)
    expect_location(results[mode], NULL);
}

/* Fails unless the chain is these URLs (paths on `port`) with these statuses. */
static void expect_chain(const cJSON *r, int port, const char *const *paths, const long *statuses,
                         int count) {
  const cJSON *chain = array_of(r, "redirects_chain");
  if (cJSON_GetArraySize(chain) != count)
    fail_msg("redirects_chain should have %d hops in %s", count, printed(r));
  for (int i = 0; i < count; i++) {
    const cJSON *hop = cJSON_GetArrayItem(chain, i);
    const char *url = h_string(hop, "url");
    if (!url || strcmp(url, h_url(port, paths[i])) != 0 ||
        (long)h_number(hop, "status") != statuses[i])
      fail_msg("hop %d should be %s with %ld in %s", i, h_url(port, paths[i]), statuses[i],
               printed(r));
  }
}

/* "redirects_chain": each response's URL and status, the final one last. */
void redirects_chain_lists_every_hop(void **state) {
  (void)state;
  int port = h_http->http_port;
  const cJSON *results[2];
  const char *chain[] = {"--result-fields", "redirects_chain", NULL};
  fetch_both(chain, h_url(port, "/redirect/2"), 0, results);
  static const char *const three[] = {"/redirect/2", "/redirect/1", "/redirect/0"};
  static const long statuses[] = {302, 302, 200};
  for (int mode = 0; mode < 2; mode++) {
    expect_chain(results[mode], port, three, statuses, 3);
    assert_int_equal((long)h_number(results[mode], "redirects"), 2);
  }
  static const char *const absolute[] = {"/absredirect/1", "/absredirect/0"};
  static const long absolute_statuses[] = {302, 200};
  fetch_both(chain, h_url(port, "/absredirect/1"), 0, results);
  for (int mode = 0; mode < 2; mode++)
    expect_chain(results[mode], port, absolute, absolute_statuses, 2);

  const char *no_follow[] = {"--no-location", "--result-fields", "redirects_chain", NULL};
  fetch_both(no_follow, h_url(port, "/redirect/2"), 0, results);
  for (int mode = 0; mode < 2; mode++)
    expect_chain(results[mode], port, three, statuses, 1);
  static const char *const missing[] = {"/status/404"};
  static const long not_found[] = {404};
  fetch_both(chain, h_url(port, "/status/404"), 1, results);
  for (int mode = 0; mode < 2; mode++)
    expect_chain(results[mode], port, missing, not_found, 1);
  fetch_both(chain, h_fmt("http://127.0.0.1:%d/", h_unused_port()), 1, results);
  for (int mode = 0; mode < 2; mode++)
    expect_chain(results[mode], port, NULL, NULL, 0);
}

/* "started_at" is RFC 3339 UTC with milliseconds, within the run; back to seconds since 1970. */
static double started_at_seconds(const cJSON *r) {
  const char *text = h_string(r, "started_at");
  struct tm utc = {0};
  int milliseconds = -1, consumed = 0;
  if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &utc.tm_year, &utc.tm_mon,
                      &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &milliseconds,
                      &consumed) != 7 ||
      strlen(text) != 24 || consumed != 24)
    fail_msg("started_at should be like 2025-05-01T12:00:00.123Z in %s", printed(r));
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return (double)timegm(&utc) + milliseconds / 1000.0;
}

static double wall_clock(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (double)now.tv_sec + now.tv_nsec / 1e9;
}

static void expect_method(const cJSON *r, const char *method) {
  const char *got = h_string(r, "method");
  if (!got || strcmp(got, method) != 0)
    fail_msg("method should be %s in %s", method, printed(r));
}

/* "method": the last request's, or the one it would have been sent with; "started_at": when
 * the attempt began. */
void method_and_started_at_describe_the_attempt(void **state) {
  (void)state;
  int port = h_http->http_port;
  const cJSON *results[2];
  double before = wall_clock();
  const char *post[] = {"--result-fields", "method,started_at", "-d", "x", NULL};
  fetch_both(post, h_url(port, "/headers"), 0, results);
  double after = wall_clock();
  for (int mode = 0; mode < 2; mode++) {
    expect_method(results[mode], "POST");
    double started = started_at_seconds(results[mode]);
    if (started < before - 0.002 || started > after + 0.002)
      fail_msg("started_at %.3f is outside the run (%.3f to %.3f)", started, before, after);
  }
  /* curl turns a POST into a GET after a 302, as curl does. */
  fetch_both(post, h_url(port, "/redirect/1"), 0, results);
  for (int mode = 0; mode < 2; mode++)
    expect_method(results[mode], "GET");
  const char *put[] = {"--result-fields", "all", "-X", "PUT", NULL};
  fetch_both(put, h_fmt("http://127.0.0.1:%d/", h_unused_port()), 1, results);
  for (int mode = 0; mode < 2; mode++) {
    expect_method(results[mode], "PUT"); /* no response: the method it was sent with */
    started_at_seconds(results[mode]);
  }
  const char *head[] = {"--result-fields", "method", "-X", "HEAD", NULL};
  fetch_both(head, h_url(port, "/status/200"), 0, results);
  for (int mode = 0; mode < 2; mode++) {
    expect_method(results[mode], "HEAD");
    assert_null(cJSON_GetObjectItemCaseSensitive(results[mode], "started_at"));
  }
}

/* A bad --result-fields list is a usage error that names the bad item. */
void result_fields_rejects_unknown_keys(void **state) {
  (void)state;
  const char *bad[] = {"--result-fields", "headers,bogus", "http://127.0.0.1:1/", NULL};
  struct h_proc *proc = h_afetch_run(bad, NULL);
  h_expect_exit(proc, 2);
  if (!strstr(proc->err.data, "'bogus'") || proc->out.len != 0)
    fail_msg("%s: expected a usage error naming 'bogus', got: %s", proc->cmdline, proc->err.data);
  const char *empty[] = {"--result-fields", "method,", "http://127.0.0.1:1/", NULL};
  proc = h_afetch_run(empty, NULL);
  h_expect_exit(proc, 2);
}
