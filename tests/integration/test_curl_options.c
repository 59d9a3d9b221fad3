/* curl's network options against the test server: -x/-U/--noproxy (the server answers
 * absolute-form requests as a proxy would), -u across hosts, --resolve, cookies and the jar,
 * --compressed, -E/--key, -I, --limit-rate, -K and the default config file, bad values. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "tests.h"

/* The one result of afetch on `url` with args (NULL-terminated, at most 12), after checking
 * the exit status. */
static const cJSON *run_one(const char *url, const char *const *extra, int exit_code) {
  const char *args[16];
  size_t n = 0;
  for (; extra && *extra && n < 12; extra++)
    args[n++] = *extra;
  args[n++] = "--body";
  args[n++] = url;
  args[n] = NULL;
  struct h_proc *proc = h_afetch_run(args, NULL);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  h_expect_exit(proc, exit_code);
  return h_result(results, 0);
}

/* The echo of /headers (the result's body), which must hold every `wanted` and no
 * `unwanted` (NULL-terminated lists, or NULL). */
static const char *expect_echo(const cJSON *result, const char *const *wanted,
                               const char *const *unwanted) {
  const char *body = h_string(result, "body");
  if (body == NULL)
    fail_msg("no body in the result");
  for (; wanted && *wanted; wanted++)
    if (strstr(body, *wanted) == NULL)
      fail_msg("the server did not see %s: %s", *wanted, body);
  for (; unwanted && *unwanted; unwanted++)
    if (strstr(body, *unwanted) != NULL)
      fail_msg("the server saw %s: %s", *unwanted, body);
  return body;
}

void proxy_option_sends_requests_through_the_proxy(void **state) {
  (void)state;
  const char *proxy = h_fmt("http://127.0.0.1:%d", h_http->http_port);
  /* The name is never resolved by afetch: the proxy gets the absolute URL. */
  const char *args[] = {"-x", proxy, "-U", "al:pw", NULL};
  const cJSON *r = run_one("http://proxied.test/headers", args, 0);
  expect_echo(r,
              (const char *const[]){"\"uri\":\"http://proxied.test/headers\"",
                                    "\"Proxy-Authorization\":\"Basic YWw6cHc=\"", NULL},
              NULL);
  /* --noproxy: straight to the server, an origin-form request. */
  const char *direct[] = {"-x", proxy, "--noproxy", "127.0.0.1", NULL};
  r = run_one(h_url(h_http->http_port, "/headers"), direct, 0);
  expect_echo(r, (const char *const[]){"\"uri\":\"/headers\"", NULL},
              (const char *const[]){"Proxy-", NULL});
}

void user_credentials_stay_with_the_first_host_unless_location_trusted(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *resolve = h_fmt("other.test:%d:127.0.0.1", port);
  const char *basic = "\"Authorization\":\"Basic YWw6cHc=\"";
  const cJSON *r = run_one(h_url(port, "/headers"), (const char *const[]){"-u", "al:pw", NULL}, 0);
  expect_echo(r, (const char *const[]){basic, NULL}, NULL);
  /* Redirected to another name (--resolve: the same server): not sent there. */
  const char *url = h_url(port, "/redirect-host/other.test");
  r = run_one(url, (const char *const[]){"-u", "al:pw", "--resolve", resolve, NULL}, 0);
  assert_string_equal(h_string(r, "final_url"), h_fmt("http://other.test:%d/headers", port));
  expect_echo(r, (const char *const[]){"\"Host\":\"other.test:", NULL},
              (const char *const[]){"Authorization", NULL});
  r = run_one(url,
              (const char *const[]){"-u", "al:pw", "--resolve", resolve, "--location-trusted",
                                    NULL},
              0);
  expect_echo(r, (const char *const[]){basic, NULL}, NULL);
  /* --connect-to reaches the server under another name and port too. */
  r = run_one("http://elsewhere.test:1/headers",
              (const char *const[]){"--connect-to", h_fmt("elsewhere.test:1:127.0.0.1:%d", port),
                                    NULL},
              0);
  expect_echo(r, (const char *const[]){"\"Host\":\"elsewhere.test:1\"", NULL}, NULL);
}

void cookies_are_kept_for_the_run_and_written_to_the_jar(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *jar = h_fmt("%s/jar", h_temp_dir());
  /* -c 1: the second request starts after the first one's Set-Cookie. */
  struct h_buf *input = h_text();
  h_text_add(input, "%s\n%s\n%s\n", h_url(port, "/cookie-set/a/1"),
             h_url(port, "/cookie-set/b/2"), h_url(port, "/headers"));
  const char *args[] = {"-c", "1", "--body", "--cookie-jar", jar, "-", NULL};
  struct h_proc *proc = h_afetch_run(args, input->data);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 3);
  h_expect_exit(proc, 0);
  expect_echo(h_result(results, 2), (const char *const[]){"\"Cookie\":\"", "a=1", "b=2", NULL},
              NULL);
  const char *written = h_read_file(jar, NULL);
  if (!strstr(written, "# Netscape HTTP Cookie File") || !strstr(written, "\ta\t1") ||
      !strstr(written, "\tb\t2"))
    fail_msg("the jar lacks the cookies: %s", written);
  /* The next run reads it (-b FILE), and sends -b NAME=VALUE as it is. */
  const cJSON *r = run_one(h_url(port, "/headers"), (const char *const[]){"-b", jar, NULL}, 0);
  expect_echo(r, (const char *const[]){"a=1", "b=2", NULL}, NULL);
  r = run_one(h_url(port, "/headers"), (const char *const[]){"-b", "x=y", NULL}, 0);
  expect_echo(r, (const char *const[]){"\"Cookie\":\"x=y\"", NULL}, NULL);
  /* A jar that cannot be written: exit status 3, the results still out. */
  run_one(h_url(port, "/cookie-set/c/3"), (const char *const[]){"--cookie-jar", h_temp_dir(), NULL},
          3);
}

void cookie_jar_is_written_when_a_signal_ends_the_run(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *jar = h_fmt("%s/jar", h_temp_dir());
  const char *args[] = {"--ndjson", "--cookie-jar", jar, h_url(port, "/cookie-set/late/9"),
                        h_url(port, "/delay/60000"), NULL};
  struct h_proc *proc = h_afetch_start(args);
  h_close_stdin(proc);
  if (!h_wait_output(proc, "/cookie-set/late/9", 1, 10000))
    fail_msg("no result for /cookie-set: %s", proc->err.data);
  h_signal(proc, SIGTERM);
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 143);
  const char *written = h_read_file(jar, NULL);
  if (!strstr(written, "\tlate\t9"))
    fail_msg("the jar lacks the cookie after SIGTERM: %s", written);
}

/* zstd only when this libcurl offers it: the server's echo of Accept-Encoding says. */
void compressed_bodies_are_decoded_and_the_wire_size_reported(void **state) {
  (void)state;
  int port = h_http->http_port;
  static const char plain[] = "compressed body, compressed body, compressed body, compressed "
                              "body, compressed body\n";
  const char *const compressed[] = {"--compressed", NULL};
  const cJSON *r = run_one(h_url(port, "/headers"), compressed, 0);
  const char *echo = expect_echo(r, (const char *const[]){"Accept-Encoding", "gzip", NULL}, NULL);
  bool zstd = strstr(echo, "zstd") != NULL;
  struct {
    const char *kind;
    double wire;
  } encodings[] = {{"gzip", 41}, {"zstd", 38}};
  for (size_t i = 0; i < (zstd ? 2u : 1u); i++) {
    r = run_one(h_url(port, h_fmt("/encoded/%s", encodings[i].kind)), compressed, 0);
    assert_string_equal(h_string(r, "body"), plain);
    assert_int_equal((long)h_number(r, "size"), (long)strlen(plain));
    assert_int_equal((long)h_number(r, "wire_size"), (long)encodings[i].wire);
  }
  /* Without --compressed: nothing asked, the bytes as sent, no wire_size. */
  r = run_one(h_url(port, "/encoded/gzip"), NULL, 0);
  assert_int_equal((long)h_number(r, "size"), 41);
  assert_null(cJSON_GetObjectItemCaseSensitive(r, "wire_size"));
}

void client_certificate_and_head_and_limit_rate(void **state) {
  (void)state;
  /* openssl s_server demanding a client certificate (-Verify 1): -E and --key give one. */
  int port = h_unused_port();
  const char *cert = h_fmt("%s/cert.pem", h_tls->dir), *key = h_fmt("%s/key.pem", h_tls->dir);
  struct h_proc *server =
      h_spawn((const char *const[]){"openssl", "s_server", "-accept", h_fmt("127.0.0.1:%d", port),
                                    "-cert", cert, "-key", key, "-Verify", "1", "-www", NULL});
  for (const char *line; (line = h_read_line(server, 10000)) != NULL && strcmp(line, "ACCEPT");)
    ;
  const cJSON *r = run_one(h_fmt("https://127.0.0.1:%d/", port),
                           (const char *const[]){"-k", "-E", cert, "--key", key, "--cert-type",
                                                 "PEM", NULL},
                           0);
  assert_int_equal(h_status(r), 200);
  /* -I: no body, the headers only. */
  r = run_one(h_url(h_http->http_port, "/bytes/1000"), (const char *const[]){"-I", NULL}, 0);
  assert_int_equal(h_status(r), 200);
  assert_int_equal((long)h_number(r, "size"), 0);
  /* --limit-rate 1M on 3 MB: libcurl 7.88 lets about the first half through at once, then
   * holds the rest to the rate (a local server sends it all in milliseconds otherwise). */
  r = run_one(h_url(h_http->http_port, "/bytes/3072000"),
              (const char *const[]){"--limit-rate", "1M", "--max-size", "4M", NULL}, 0);
  assert_int_equal((long)h_number(r, "size"), 3072000);
  double total = h_number(h_field(r, "time"), "total");
  if (total < 1.0)
    fail_msg("3 MB at --limit-rate 1M took only %.3f s", total);
}

/* The config test's environment: XDG_CONFIG_HOME for every afetch it starts. */
static void set_config_home(const char *dir) {
  if (dir)
    setenv("XDG_CONFIG_HOME", dir, 1);
  else
    unsetenv("XDG_CONFIG_HOME");
}

void config_files_are_read_and_the_command_line_wins(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *saved = getenv("XDG_CONFIG_HOME");
  char *before = saved ? strdup(saved) : NULL;
  const char *home = h_temp_dir();
  const char *dir = h_fmt("%s/afetch", home);
  assert_int_equal(mkdir(dir, 0700), 0);
  const char *rc = "# the default file\nheader = \"X-Default: yes\"\nuser-agent: from-rc\n";
  FILE *file = fopen(h_fmt("%s/afetchrc", dir), "w");
  assert_non_null(file);
  fputs(rc, file);
  fclose(file);
  const char *k = "  # -K's\n--header \"X-Quoted: a \\\"b\\\" c\"\nmax-redirs 3\ncompressed\n";
  const char *k_file = h_temp_file(k, strlen(k));
  set_config_home(home);
  const char *url = h_url(port, "/headers");
  const cJSON *r = run_one(url, (const char *const[]){"-K", k_file, NULL}, 0);
  expect_echo(r,
              (const char *const[]){"\"X-Default\":\"yes\"", "\"X-Quoted\":\"a \\\"b\\\" c\"",
                                    "\"User-Agent\":\"from-rc\"", "gzip", NULL},
              NULL);
  /* The command line wins over both files. */
  r = run_one(url, (const char *const[]){"-A", "from-argv", "-K", k_file, NULL}, 0);
  expect_echo(r, (const char *const[]){"\"User-Agent\":\"from-argv\"", NULL}, NULL);
  /* --disable, first: no default file (run without the harness's mode option in front). */
  struct h_proc *proc = h_spawn((const char *const[]){getenv("AFETCH_BIN"), "--disable", "--body",
                                                      "--ndjson", url, NULL});
  h_close_stdin(proc);
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 0);
  if (strstr(proc->out.data, "X-Default") || !strstr(proc->out.data, "afetch/"))
    fail_msg("--disable: the default file was read: %s", proc->out.data);
  /* A bad line: exit 2, naming the file and line, and the usage line. */
  const char *bad = "compressed\nno-such-option 1\n";
  const char *bad_file = h_temp_file(bad, strlen(bad));
  proc = h_afetch_run((const char *const[]){"-K", bad_file, url, NULL}, NULL);
  h_wait_exit(proc, 10000);
  set_config_home(before);
  free(before);
  h_expect_exit(proc, 2);
  if (!strstr(proc->err.data, h_fmt("%s:2: unknown option", bad_file)) ||
      !strstr(proc->err.data, "Usage:"))
    fail_msg("a bad config line: %s", proc->err.data);
}

void bad_network_option_values_exit_2_with_a_usage_line(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"-u", "no-colon"},    {"-U", "no-colon"},        {"--resolve", "host:1"},
      {"--connect-to", "a:1:b"}, {"--cert-type", "XYZ"}, {"--limit-rate", "0"},
      {"--rate", "5/w"},     {"--capath", "/nonexistent/dir"}, {"-K", "/nonexistent/rc"},
      {"-b", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct h_proc *proc =
        h_afetch_run((const char *const[]){cases[i][0], cases[i][1], "http://127.0.0.1:1/", NULL},
                     NULL);
    h_wait_exit(proc, 10000);
    if (!proc->exited || proc->exit_code != 2 || !strstr(proc->err.data, "Usage:"))
      fail_msg("%s '%s': expected exit 2 with a usage line, got %d: %s", cases[i][0],
               cases[i][1], proc->exit_code, proc->err.data);
  }
}
