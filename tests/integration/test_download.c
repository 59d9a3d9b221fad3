/* Saving bodies: -o and the names of its files, atomic replacement, --if-changed, --max-size,
 * --sha256 and --body, and write errors that must end as results, never as crashes.
 *
 * The bodies come from the test server's /file/NAME (tests/server/test_server.c): file_body()
 * computes the same bytes here, and saved files are compared with them byte for byte. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "tests.h"

/* fnmatch() patterns for the hashes in file names. */
#define HEX8 "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"
#define HEX16 HEX8 HEX8

/* What the server's /file/NAME?version=V&size=N sends: the lines "NAME-V:KKKKKKKKKK\n" for
 * K = 0, 1, 2, ..., cut to N bytes (tracked). */
static const char *file_body(const char *name, unsigned long version, size_t size) {
  struct h_buf *text = h_text();
  for (unsigned long k = 0; text->len < size; k++)
    h_text_add(text, "%s-%lu:%010lu\n", name, version, k);
  text->len = size;
  text->data[size] = '\0';
  return text->data;
}

/* What the server's /binary/N sends: byte i is i % 256 (tracked). */
static const char *binary_body(size_t size) {
  struct h_buf *bytes = h_text();
  for (size_t i = 0; i < size; i++) {
    char c = (char)(unsigned char)(i % 256);
    h_text_add_bytes(bytes, &c, 1);
  }
  return bytes->data;
}

/* The result as compact JSON, cut to 600 bytes, for failure messages. */
static const char *result_text(const cJSON *r) {
  char *text = cJSON_PrintUnformatted(r);
  const char *copy = h_fmt("%.600s", text != NULL ? text : "(unprintable)");
  free(text);
  return copy;
}

static long index_of(const cJSON *r) { return (long)h_number(r, "index"); }

/* Runs afetch (gather mode) over `input` on stdin, with RLIMIT_FSIZE fsize_limit unless it is
 * negative; expects this exit status and n results, and returns them. The process goes to
 * *proc_out. */
static cJSON *run_limited(const char *const *args, const char *input, size_t n, int exit_code,
                          long long fsize_limit, struct h_proc **proc_out) {
  struct h_proc *proc =
      fsize_limit < 0 ? h_afetch_run(args, input) : h_afetch_run_limited(args, input, fsize_limit);
  h_expect_exit(proc, exit_code);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, n);
  *proc_out = proc;
  return results;
}

static cJSON *run(const char *const *args, const char *input, size_t n, int exit_code,
                  struct h_proc **proc_out) {
  return run_limited(args, input, n, exit_code, -1, proc_out);
}

/* Checks one result: ok when error is NULL, else that error.code. */
static void expect_result(const struct h_proc *proc, const cJSON *r, const char *error) {
  bool ok = h_ok(r);
  const char *code = h_error_code(r);
  if (error == NULL ? ok : !ok && strcmp(code, error) == 0)
    return;
  fail_msg("%s: index %ld: expected %s, got %s: %s", proc->cmdline, index_of(r),
           error == NULL ? "ok" : h_fmt("error \"%s\"", error),
           code == NULL ? "ok" : h_fmt("error \"%s\"", code), result_text(r));
}

/* Fails unless `file` holds exactly these bytes. */
static void expect_content(const struct h_proc *proc, const char *file, const char *bytes,
                           size_t length) {
  size_t got_length;
  const char *got = h_read_file(file, &got_length);
  if (got == NULL)
    fail_msg("%s: cannot read the saved file %s: %s", proc->cmdline, file, strerror(errno));
  size_t i = 0;
  while (i < length && i < got_length && got[i] == bytes[i])
    i++;
  if (i < length || i < got_length)
    fail_msg("%s: %s holds %zu bytes, expected the %zu bytes the server sent; the first "
             "difference is at byte %zu (got \"%.20s\", expected \"%.20s\")",
             proc->cmdline, file, got_length, length, i, i < got_length ? got + i : "(end)",
             i < length ? bytes + i : "(end)");
}

/* Fails unless the result's `file` is null. */
static void expect_no_file(const struct h_proc *proc, const cJSON *r) {
  const char *file = h_string(r, "file");
  if (file != NULL)
    fail_msg("%s: index %ld: expected \"file\": null (nothing saved), got \"%s\": %s",
             proc->cmdline, index_of(r), file, result_text(r));
}

/* Fails unless the result is ok with `file` equal to path, and path holds these bytes. */
static void expect_saved(const struct h_proc *proc, const cJSON *r, const char *path,
                         const char *bytes, size_t length) {
  expect_result(proc, r, NULL);
  const char *file = h_string(r, "file");
  if (file == NULL || strcmp(file, path) != 0)
    fail_msg("%s: index %ld: expected \"file\": \"%s\", got %s: %s", proc->cmdline, index_of(r),
             path, file == NULL ? "null" : h_fmt("\"%s\"", file), result_text(r));
  expect_content(proc, path, bytes, length);
}

/* The result's `file` relative to dir (it must be "DIR/..."), matched against the fnmatch()
 * pattern (relative to dir too; NULL: anything). */
static const char *saved_name(const struct h_proc *proc, const cJSON *r, const char *dir,
                              const char *pattern) {
  const char *file = h_string(r, "file");
  size_t n = strlen(dir);
  if (file == NULL || strncmp(file, dir, n) != 0 || file[n] != '/')
    fail_msg("%s: index %ld: expected \"file\" to be \"%s/%s\", got %s: %s", proc->cmdline,
             index_of(r), dir, pattern != NULL ? pattern : "...",
             file == NULL ? "null" : h_fmt("\"%s\"", file), result_text(r));
  const char *name = file + n + 1;
  if (pattern != NULL && fnmatch(pattern, name, FNM_PATHNAME) != 0)
    fail_msg("%s: index %ld: expected \"file\" to be \"%s/%s\", got \"%s\"", proc->cmdline,
             index_of(r), dir, pattern, file);
  return name;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names (at most 64) sorted and joined by '\n', as h_list_files() lists files. */
static const char *sorted_lines(const char **names, size_t n) {
  const char *copy[64];
  if (n > sizeof copy / sizeof copy[0])
    fail_msg("sorted_lines: %zu names, at most 64", n);
  memcpy(copy, names, n * sizeof *names);
  qsort(copy, n, sizeof *copy, compare_strings);
  struct h_buf *text = h_text();
  for (size_t i = 0; i < n; i++)
    h_text_add(text, "%s%s", i ? "\n" : "", copy[i]);
  return text->data;
}

/* Fails unless the files under dir (hidden ones included) are exactly `expected` (sorted,
 * one per line): no temp file left, nothing else written. */
static void expect_files(const struct h_proc *proc, const char *dir, const char *expected) {
  const char *got = h_list_files(dir, true);
  if (strcmp(got, expected) != 0)
    fail_msg("%s: expected exactly these files under %s:\n%s\n(end), found:\n%s\n(end)",
             proc->cmdline, dir, *expected ? expected : "(none)", *got ? got : "(none)");
}

/* Fails when a hidden (temp) file is left under dir. */
static void expect_no_temp_files(const struct h_proc *proc, const char *dir) {
  if (h_count_files(dir, true) != h_count_files(dir, false))
    fail_msg("%s: hidden (temp) files were left under %s; all files:\n%s", proc->cmdline, dir,
             h_list_files(dir, true));
}

/* A file's identity: replaced files get a new inode. */
static ino_t inode_of(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    fail_msg("stat %s: %s", path, strerror(errno));
  return st.st_ino;
}

static bool has_hidden_file(void *dir) {
  return h_count_files(dir, true) > h_count_files(dir, false);
}

/* Fails unless the result has the boolean `not_modified` equal to expected. */
static void expect_not_modified(const struct h_proc *proc, const cJSON *r, bool expected) {
  const cJSON *item = h_field(r, "not_modified");
  if (!cJSON_IsBool(item) || cJSON_IsTrue(item) != expected)
    fail_msg("%s: index %ld: expected \"not_modified\": %s, got: %s", proc->cmdline, index_of(r),
             expected ? "true" : "false", result_text(r));
}

/* Fails unless the error message contains every one of the (NULL-terminated) needles. */
static void expect_message_mentions(const struct h_proc *proc, const cJSON *r,
                                    const char *const *needles) {
  const char *message = h_string(h_field(r, "error"), "message");
  for (size_t i = 0; needles[i] != NULL; i++)
    if (message == NULL || strstr(message, needles[i]) == NULL)
      fail_msg("%s: index %ld: expected the error message to mention \"%s\": %s", proc->cmdline,
               index_of(r), needles[i], result_text(r));
}

void download_saves_bodies_into_an_empty_dir(void **state) {
  (void)state;
  int port = h_http->http_port;
  /* Two levels that do not exist yet: afetch creates them. */
  const char *dir = h_fmt("%s/new/out", h_temp_dir());
  const char *host = h_fmt("127.0.0.1_%d", port);
  struct {
    const char *url, *name; /* name: an fnmatch() pattern relative to dir */
    const char *body;
    size_t length;
  } cases[] = {
      {h_url(port, "/file/alpha"), h_fmt("%s/file/alpha", host), file_body("alpha", 1, 1000), 1000},
      {h_url(port, "/file/beta.txt?size=5000&version=3"), h_fmt("%s/file/beta-" HEX8 ".txt", host),
       file_body("beta.txt", 3, 5000), 5000},
      {h_url(port, "/file/gamma?size=300000"), h_fmt("%s/file/gamma-" HEX8, host),
       file_body("gamma", 1, 300000), 300000},
      {h_url(port, "/"), h_fmt("%s/index.html", host), "any\n", 4},
      {h_url(port, "/any/deep/er/"), h_fmt("%s/any/deep/er/index.html", host), "any\n", 4},
      {h_url(port, "/file/delta#part"), h_fmt("%s/file/delta", host), file_body("delta", 1, 1000),
       1000},
      {h_fmt("http://LocalHost:%d/file/epsilon?size=0", port),
       h_fmt("localhost_%d/file/epsilon-" HEX8, port), "", 0},
  };
  enum { N = sizeof cases / sizeof cases[0] };
  struct h_buf *input = h_text();
  for (size_t i = 0; i < N; i++)
    h_text_add(input, "%s\n", cases[i].url);

  const char *args[] = {"-o", dir, NULL};
  struct h_proc *proc;
  cJSON *results = run(args, input->data, N, 0, &proc);
  const char *names[N];
  for (size_t i = 0; i < N; i++) {
    const cJSON *r = h_result(results, (long)i);
    expect_result(proc, r, NULL);
    names[i] = saved_name(proc, r, dir, cases[i].name);
    expect_saved(proc, r, h_string(r, "file"), cases[i].body, cases[i].length);
  }
  /* Nothing else: no temp files, no stray names. */
  expect_files(proc, dir, sorted_lines(names, N));
}

/* A rerun of an --if-changed mirror in which exactly one URL is fetched again. f1 is at
 * version 2 on the server throughout (set here, since /reset forgets it). */
struct refetch {
  const char *const *args;
  const char *input;
  int port;
  size_t count;
  const char *const *names;
  const size_t *sizes;
  const char *const *paths;
  size_t refetched; /* the one index that is not a 304 */
  const char *why;
};

static void rerun_expecting_one_refetch(const struct refetch *rerun) {
  h_reset(rerun->port);
  h_http_get(rerun->port, "/setversion/f1/2");
  struct h_proc *proc;
  cJSON *results = run(rerun->args, rerun->input, rerun->count, 0, &proc);
  struct h_stats stats = h_stats(rerun->port);
  long expected_304 = (long)rerun->count - 1;
  if (stats.requests != (long)rerun->count || stats.not_modified != expected_304)
    fail_msg("%s: the server had %ld requests and sent %ld 304s; expected %zu requests and %ld "
             "304s (%s)",
             proc->cmdline, stats.requests, stats.not_modified, rerun->count, expected_304,
             rerun->why);
  for (size_t i = 0; i < rerun->count; i++) {
    const cJSON *r = h_result(results, (long)i);
    expect_not_modified(proc, r, i != rerun->refetched);
    expect_saved(proc, r, rerun->paths[i], file_body(rerun->names[i], i == 1 ? 2 : 1, rerun->sizes[i]),
                 rerun->sizes[i]);
  }
}

void if_changed_skips_unchanged_files(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *tmp = h_temp_dir();
  const char *dir = h_fmt("%s/out", tmp);
  const char *state_file = h_fmt("%s/state.json", tmp);
  const char *host = h_fmt("127.0.0.1_%d", port);
  enum { N = 5 };
  static const char *const names[N] = {"f0", "f1", "f2", "f3", "f4"};
  static const size_t sizes[N] = {100, 2000, 70000, 1, 300000};
  struct h_buf *input = h_text();
  const char *paths[N], *relative[N];
  for (size_t i = 0; i < N; i++) {
    h_text_add(input, "http://127.0.0.1:%d/file/%s?size=%zu\n", port, names[i], sizes[i]);
    relative[i] = h_fmt("%s/file/%s-" HEX8, host, names[i]);
  }
  const char *args[] = {"-o", dir, "--if-changed", state_file, NULL};
  struct h_proc *proc;
  cJSON *results;

  /* Run 1: nothing known yet, everything is fetched and saved. */
  h_reset(port);
  results = run(args, input->data, N, 0, &proc);
  for (size_t i = 0; i < N; i++) {
    const cJSON *r = h_result(results, (long)i);
    expect_result(proc, r, NULL);
    expect_not_modified(proc, r, false);
    relative[i] = saved_name(proc, r, dir, relative[i]);
    paths[i] = h_fmt("%s/%s", dir, relative[i]);
    expect_saved(proc, r, paths[i], file_body(names[i], 1, sizes[i]), sizes[i]);
  }
  expect_files(proc, dir, sorted_lines(relative, N));
  size_t state_length;
  const char *state_text = h_read_file(state_file, &state_length);
  if (state_text == NULL)
    fail_msg("%s: the state file %s was not written: %s", proc->cmdline, state_file,
             strerror(errno));
  cJSON *state_json = cJSON_ParseWithOpts(state_text, NULL, true);
  if (state_json == NULL)
    fail_msg("%s: the state file %s is not one JSON document: %.300s", proc->cmdline, state_file,
             state_text);
  cJSON_Delete(state_json);
  struct h_stats stats = h_stats(port);
  if (stats.requests != N || stats.not_modified != 0)
    fail_msg("%s: the server had %ld requests and sent %ld 304s; expected %d and 0", proc->cmdline,
             stats.requests, stats.not_modified, N);

  /* Run 2: every URL is asked conditionally; all 304, the files are kept as they are. */
  ino_t inodes[N];
  for (size_t i = 0; i < N; i++)
    inodes[i] = inode_of(paths[i]);
  h_reset(port);
  results = run(args, input->data, N, 0, &proc);
  stats = h_stats(port);
  if (stats.requests != N || stats.not_modified != N)
    fail_msg("%s: the server had %ld requests and sent %ld 304s; expected %d conditional "
             "requests, all answered 304",
             proc->cmdline, stats.requests, stats.not_modified, N);
  for (size_t i = 0; i < N; i++) {
    const cJSON *r = h_result(results, (long)i);
    expect_not_modified(proc, r, true);
    expect_saved(proc, r, paths[i], file_body(names[i], 1, sizes[i]), sizes[i]);
    if (inode_of(paths[i]) != inodes[i])
      fail_msg("%s: index %zu was not modified (304) but %s was replaced (new inode)",
               proc->cmdline, i, paths[i]);
  }
  expect_files(proc, dir, sorted_lines(relative, N));

  /* Run 3: f1 changes on the server (new ETag and Last-Modified): it alone is fetched again
   * and its file replaced. */
  struct refetch run3 = {args, input->data, port, N, names, sizes, paths, 1,
                         "all but the changed f1"};
  rerun_expecting_one_refetch(&run3);

  /* Run 4: f3's file is gone: its validators no longer describe anything on disk, so it is
   * fetched unconditionally (200) and saved again. */
  if (unlink(paths[3]) != 0)
    fail_msg("unlink %s: %s", paths[3], strerror(errno));
  struct refetch run4 = {args, input->data, port, N, names, sizes, paths, 3,
                         "all but f3, whose saved file was deleted"};
  rerun_expecting_one_refetch(&run4);
  expect_files(proc, dir, sorted_lines(relative, N));
  expect_no_temp_files(proc, tmp);

  /* A state file that is not what afetch wrote: a usage error naming it, nothing fetched. */
  const char *bad_state = h_temp_file("this is {not JSON", 17);
  const char *bad_args[] = {"-o", dir, "--if-changed", bad_state, NULL};
  h_reset(port);
  proc = h_afetch_run(bad_args, input->data);
  h_expect_exit(proc, 2);
  if (strstr(proc->err.data, bad_state) == NULL)
    fail_msg("%s: exit 2 as expected, but stderr does not name the state file %s: %s",
             proc->cmdline, bad_state, proc->err.data);
  if (h_stats(port).requests != 0)
    fail_msg("%s: the state file cannot be parsed, yet the server got %ld request(s)",
             proc->cmdline, h_stats(port).requests);
}

/* Starts afetch with args on `url`, waits until the server is streaming it and a temp file
 * has appeared under dir, then sends SIGTERM; expects exit 143 with the result cancelled and
 * no file. */
static struct h_proc *interrupt_download(const char *const *args, int port, const char *url,
                                         const char *dir) {
  struct h_proc *proc = h_afetch_start(args);
  h_write_stdin(proc, h_fmt("%s\n", url));
  h_close_stdin(proc);
  bool reached;
  struct h_stats stats = h_wait_stats(port, 1, 1, 10000, &reached);
  if (!reached) {
    h_collect(proc);
    fail_msg("%s: the server never had the request in flight (last /stats: in_flight %ld, "
             "requests %ld); stderr: %s",
             proc->cmdline, stats.in_flight, stats.requests, proc->err.data);
  }
  if (!h_wait_for(has_hidden_file, (void *)dir, 10000)) {
    h_collect(proc);
    fail_msg("%s: no temp file appeared under %s within 10 s of the download's start (files: "
             "%s); stderr: %s",
             proc->cmdline, dir, h_list_files(dir, true), proc->err.data);
  }
  h_signal(proc, SIGTERM);
  h_wait_exit(proc, 10000);
  h_expect_exit(proc, 143);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  const cJSON *r = h_result(results, 0);
  expect_result(proc, r, "cancelled");
  expect_no_file(proc, r);
  return proc;
}

void sigterm_mid_download_leaves_no_partial_file(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *tmp = h_temp_dir();
  /* 20 MB in 64 KiB pieces 50 ms apart: about 15 s, cut short by SIGTERM. */
  const char *slow = h_url(port, "/slowbytes/20000000?ms=50");

  /* Nothing there before: nothing there after (directories aside). */
  const char *dir = h_fmt("%s/a", tmp);
  const char *args[] = {"-o", dir, NULL};
  h_reset(port);
  struct h_proc *proc = interrupt_download(args, port, slow, dir);
  expect_files(proc, dir, "");

  /* A complete file from an earlier run under the same name stays as it was. */
  dir = h_fmt("%s/b", tmp);
  const char *template_args[] = {"-o", dir, "--output-template", "slow.bin", NULL};
  const char *path = h_fmt("%s/slow.bin", dir);
  const char *old = file_body("keep", 1, 5000);
  cJSON *results =
      run(template_args, h_fmt("%s\n", h_url(port, "/file/keep?size=5000")), 1, 0, &proc);
  expect_saved(proc, h_result(results, 0), path, old, 5000);
  h_reset(port);
  proc = interrupt_download(template_args, port, slow, dir);
  expect_files(proc, dir, "slow.bin");
  expect_content(proc, path, old, 5000);
}

void dropped_connection_mid_body_keeps_old_file(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = h_fmt("%s/fixed.bin", dir);
  const char *args[] = {"-o", dir, "--output-template", "fixed.bin", NULL};
  struct h_proc *proc;
  cJSON *results;
  const char *old = file_body("a", 1, 100000);
  results = run(args, h_fmt("%s\n", h_url(port, "/file/a?size=100000")), 1, 0, &proc);
  expect_saved(proc, h_result(results, 0), path, old, 100000);

  /* Each failure below would have the same name; none may touch the complete file. */
  struct {
    const char *path, *error;
  } failures[] = {
      {"/dropmid/200000", "other"}, /* half the body, then the connection drops */
      {"/lie/100000/10", "other"},  /* 10 bytes of 100000 announced, then closed */
      {"/status/500", "http"},      /* not a 2xx: never saved */
  };
  for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
    results = run(args, h_fmt("%s\n", h_url(port, failures[i].path)), 1, 1, &proc);
    const cJSON *r = h_result(results, 0);
    expect_result(proc, r, failures[i].error);
    expect_no_file(proc, r);
    expect_files(proc, dir, "fixed.bin");
    expect_content(proc, path, old, 100000);
  }

  /* Timed out halfway: 16 pieces 300 ms apart against -t 1. */
  const char *timeout_args[] = {"-o", dir, "--output-template", "fixed.bin", "-t", "1", NULL};
  results = run(timeout_args, h_fmt("%s\n", h_url(port, "/slowbytes/1000000?ms=300")), 1, 1, &proc);
  expect_result(proc, h_result(results, 0), "timeout");
  expect_no_file(proc, h_result(results, 0));
  expect_files(proc, dir, "fixed.bin");
  expect_content(proc, path, old, 100000);
}

/* Fails unless the saved name (relative to the output dir) is a tidy relative path: no
 * empty, "." or ".." segment, no control byte, backslash or byte >= 0x80, segments of at most
 * 255 bytes, at most 1024 bytes in all. */
static void expect_tidy_name(const struct h_proc *proc, const cJSON *r, const char *name) {
  const char *why = NULL;
  if (strlen(name) > 1024)
    why = "longer than 1024 bytes";
  for (const unsigned char *p = (const unsigned char *)name; *p != '\0' && why == NULL; p++)
    if (*p < 0x20 || *p == 0x7F || *p == '\\' || *p >= 0x80)
      why = h_fmt("has the byte 0x%02X", *p);
  const char *segment = name;
  while (why == NULL) {
    const char *end = strchr(segment, '/');
    size_t n = end != NULL ? (size_t)(end - segment) : strlen(segment);
    if (n == 0 || (n == 1 && segment[0] == '.') || (n == 2 && strncmp(segment, "..", 2) == 0))
      why = h_fmt("has the segment \"%.*s\"", (int)n, segment);
    else if (n > 255)
      why = h_fmt("has a segment of %zu bytes", n);
    if (end == NULL)
      break;
    segment = end + 1;
  }
  if (why != NULL)
    fail_msg("%s: index %ld: the saved name \"%s\" %s: %s", proc->cmdline, index_of(r), name, why,
             result_text(r));
}

/* Fails unless path's real path is under dir_real. */
static void expect_inside(const struct h_proc *proc, const cJSON *r, const char *path,
                          const char *dir_real) {
  char real[PATH_MAX];
  if (realpath(path, real) == NULL)
    fail_msg("%s: index %ld: the saved file %s: %s: %s", proc->cmdline, index_of(r), path,
             strerror(errno), result_text(r));
  size_t n = strlen(dir_real);
  if (strncmp(real, dir_real, n) != 0 || real[n] != '/')
    fail_msg("%s: index %ld: the saved file %s is really %s, outside the output directory %s",
             proc->cmdline, index_of(r), path, real, dir_real);
}

void hostile_urls_stay_inside_the_output_dir(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *tmp = h_temp_dir();
  const char *dir = h_fmt("%s/out", tmp);
  const char *host = h_fmt("127.0.0.1_%d", port);
  const char *evil = h_fmt("afetch-evil-%ld", (long)getpid());
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL)
    fail_msg("getcwd: %s", strerror(errno));
  const char *outside[] = {h_fmt("/tmp/%s", evil), h_fmt("%s/%s", tmp, evil),
                           h_fmt("%s/%s", cwd, evil), h_fmt("/%s", evil)};
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
    if (h_file_exists(outside[i]))
      fail_msg("%s exists before the test: remove it", outside[i]);

  struct h_buf *long_path = h_text(); /* 10 segments of 150 bytes: 1500 bytes */
  for (int i = 0; i < 10; i++)
    h_text_add(long_path, "/%c%0149d", 'a' + i, 0);
  const char *segment300 = h_fmt("%0300d", 0);
  struct {
    const char *url;
    bool must_be_ok;     /* else it may also fail (a server or curl may refuse the URL) */
    const char *pattern; /* NULL: any tidy name */
  } cases[] = {
      /* curl resolves the dot segments: the server sees /tmp/EVIL?any=1. */
      {h_url(port, h_fmt("/../../../../tmp/%s?any=1", evil)), true,
       h_fmt("%s/tmp/%s-" HEX8, host, evil)},
      {h_url(port, h_fmt("/any/%%2e%%2e/%%2e%%2e/%%2E%%2E/%s", evil)), true, NULL},
      {h_url(port, h_fmt("/any/a/..%%2f..%%2f..%%2f%s", evil)), true, NULL},
      {h_url(port, h_fmt("/any/..%%5c..%%5c%s", evil)), true, NULL},
      /* Percent sequences stay as written. */
      {h_url(port, "/any/ctl%01%1f%7f/back%5cslash%00"), true,
       h_fmt("%s/any/ctl%%01%%1f%%7f/back%%5cslash%%00", host)},
      /* Raw bytes: a backslash, UTF-8, and a server or curl that may refuse them. */
      {h_url(port, h_fmt("/any/..\\..\\%s", evil)), false, NULL},
      {h_url(port, "/any/caf\xc3\xa9/\xff"), false, NULL},
      /* 300 bytes: cut to 191 + "-" + 8 hex digits. */
      {h_url(port, h_fmt("/any/%s", segment300)), true,
       h_fmt("%s/any/%.191s-" HEX8, host, segment300)},
      {h_url(port, h_fmt("/any%s", long_path->data)), true, NULL},
      {h_url(port, "/any/./x/.././/y/"), true, NULL},
      {h_url(port, h_fmt("/any/x/..?any=1#/../../%s", evil)), true, NULL},
  };
  enum { N = sizeof cases / sizeof cases[0] };
  struct h_buf *input = h_text();
  for (size_t i = 0; i < N; i++)
    h_text_add(input, "%s\n", cases[i].url);

  const char *args[] = {"-o", dir, NULL};
  struct h_proc *proc = h_afetch_run(args, input->data);
  if (!proc->exited || (proc->exit_code != 0 && proc->exit_code != 1))
    h_expect_exit(proc, 1);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, N);
  char dir_real[PATH_MAX];
  if (realpath(dir, dir_real) == NULL)
    fail_msg("%s: the output directory %s: %s", proc->cmdline, dir, strerror(errno));
  const char *names[N];
  size_t saved = 0;
  for (size_t i = 0; i < N; i++) {
    const cJSON *r = h_result(results, (long)i);
    if (cases[i].must_be_ok)
      expect_result(proc, r, NULL);
    if (!h_ok(r)) {
      expect_no_file(proc, r);
      continue;
    }
    const char *name = saved_name(proc, r, dir, cases[i].pattern);
    expect_tidy_name(proc, r, name);
    expect_inside(proc, r, h_string(r, "file"), dir_real);
    expect_content(proc, h_string(r, "file"), "any\n", 4);
    bool seen = false;
    for (size_t k = 0; k < saved; k++)
      seen = seen || strcmp(names[k], name) == 0;
    if (!seen)
      names[saved++] = name;
  }
  /* Nothing was written anywhere else. */
  expect_files(proc, dir, sorted_lines(names, saved));
  const char *everything = h_list_files(tmp, true);
  for (const char *line = everything; *line != '\0';) {
    if (strncmp(line, "out/", 4) != 0)
      fail_msg("%s: found files outside the output directory %s in %s:\n%s", proc->cmdline, dir,
               tmp, everything);
    line = strchr(line, '\n');
    line = line != NULL ? line + 1 : "";
  }
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
    if (h_file_exists(outside[i]))
      fail_msg("%s: created %s, outside the output directory %s", proc->cmdline, outside[i], dir);
}

void too_large_is_enforced_without_content_length(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *host = h_fmt("127.0.0.1_%d", port);
  struct {
    const char *path;
    bool ok;
    const char *pattern; /* the saved name when ok */
  } cases[] = {
      {"/file/a?size=5000", false, NULL}, /* Content-Length above the limit */
      {"/nolength/5000", false, NULL},    /* no length: close-delimited */
      {"/chunked/5000", false, NULL},     /* no length: chunked */
      {"/nolength/1001", false, NULL},    /* one byte too many */
      {"/file/b?size=500", true, h_fmt("%s/file/b-" HEX8, host)},
      {"/file/c?size=1000", true, h_fmt("%s/file/c-" HEX8, host)},
      {"/nolength/1000", true, h_fmt("%s/nolength/1000", host)},
      {"/chunked/999", true, h_fmt("%s/chunked/999", host)},
  };
  enum { N = sizeof cases / sizeof cases[0] };
  struct h_buf *input = h_text();
  for (size_t i = 0; i < N; i++)
    h_text_add(input, "%s\n", h_url(port, cases[i].path));
  const char *args[] = {"--max-size", "1000", "-o", dir, NULL};
  struct h_proc *proc;
  cJSON *results = run(args, input->data, N, 1, &proc);
  const char *names[N];
  size_t saved = 0;
  for (size_t i = 0; i < N; i++) {
    const cJSON *r = h_result(results, (long)i);
    expect_result(proc, r, cases[i].ok ? NULL : "too_large");
    if (!cases[i].ok) {
      expect_no_file(proc, r);
      continue;
    }
    names[saved++] = saved_name(proc, r, dir, cases[i].pattern);
    size_t length;
    const char *content = h_read_file(h_string(r, "file"), &length);
    if (content == NULL || length != (size_t)h_number(r, "size"))
      fail_msg("%s: index %zu: the saved file has %s bytes; the result's size is %.0f",
               proc->cmdline, i, content == NULL ? "no" : h_fmt("%zu", length),
               h_number(r, "size"));
  }
  expect_files(proc, dir, sorted_lines(names, saved));

  /* The suffixes: k is 1024, M is 1048576. */
  struct {
    const char *max, *path;
    bool ok;
  } suffixes[] = {
      {"1k", "/file/d?size=1024", true}, {"1k", "/chunked/1025", false},
      {"1M", "/nolength/1048576", true}, {"1M", "/file/e?size=1048577", false},
      {"2G", "/file/f?size=100", true},
  };
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    const char *suffix_args[] = {"--max-size", suffixes[i].max, NULL};
    results = run(suffix_args, h_fmt("%s\n", h_url(port, suffixes[i].path)), 1,
                  suffixes[i].ok ? 0 : 1, &proc);
    expect_result(proc, h_result(results, 0), suffixes[i].ok ? NULL : "too_large");
  }
}

/* Fails unless the result's `sha256` is the hex SHA-256 of these bytes. */
static void expect_sha256(const struct h_proc *proc, const cJSON *r, const char *bytes,
                          size_t length) {
  const char *expected = h_sha256_hex(bytes, length);
  const char *got = h_string(r, "sha256");
  if (got == NULL || strcmp(got, expected) != 0)
    fail_msg("%s: index %ld: expected \"sha256\": \"%s\" (the SHA-256 of the %zu bytes served), "
             "got %s: %s",
             proc->cmdline, index_of(r), expected, length,
             got == NULL ? "null" : h_fmt("\"%s\"", got), result_text(r));
}

/* Fails unless the result's body decodes (per body_encoding, which must be `encoding`) to
 * these bytes. */
static void expect_body(const struct h_proc *proc, const cJSON *r, const char *encoding,
                        const char *bytes, size_t length) {
  const char *got_encoding = h_string(r, "body_encoding");
  const char *body = h_string(r, "body");
  if (got_encoding == NULL || strcmp(got_encoding, encoding) != 0 || body == NULL)
    fail_msg("%s: index %ld: expected a body with \"body_encoding\": \"%s\": %s", proc->cmdline,
             index_of(r), encoding, result_text(r));
  size_t got_length = strlen(body);
  const char *decoded = body;
  if (strcmp(encoding, "base64") == 0 && (decoded = h_base64_decode(body, &got_length)) == NULL)
    fail_msg("%s: index %ld: \"body\" is not valid base64: %s", proc->cmdline, index_of(r),
             result_text(r));
  if (got_length != length || memcmp(decoded, bytes, length) != 0)
    fail_msg("%s: index %ld: \"body\" (%s) decodes to %zu bytes that differ from the %zu served: "
             "%s",
             proc->cmdline, index_of(r), encoding, got_length, length, result_text(r));
}

void sha256_and_body_are_reported(void **state) {
  (void)state;
  int port = h_http->http_port;
  struct h_proc *proc;
  cJSON *results;

  /* Text, binary, and a failure. */
  const char *text = file_body("a", 1, 100);
  const char *binary = binary_body(300);
  const char *input = h_fmt("%s\n%s\n%s\n", h_url(port, "/file/a?size=100"),
                            h_url(port, "/binary/300"), h_url(h_unused_port(), "/"));
  const char *args[] = {"--sha256", "--body", NULL};
  results = run(args, input, 3, 1, &proc);
  const cJSON *r = h_result(results, 0);
  expect_result(proc, r, NULL);
  expect_sha256(proc, r, text, 100);
  expect_body(proc, r, "utf-8", text, 100);
  r = h_result(results, 1);
  expect_result(proc, r, NULL);
  expect_sha256(proc, r, binary, 300);
  expect_body(proc, r, "base64", binary, 300);
  r = h_result(results, 2);
  expect_result(proc, r, "connect");
  if (h_string(r, "sha256") != NULL || h_string(r, "body") != NULL ||
      h_string(r, "body_encoding") != NULL)
    fail_msg("%s: index 2 failed to connect: expected \"sha256\", \"body\" and "
             "\"body_encoding\" null: %s",
             proc->cmdline, result_text(r));

  /* A streamed body of 3 MB is hashed as it arrives (and saved unchanged alongside). */
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *sha_args[] = {"--sha256", "-o", dir, "--output-template", "big", NULL};
  const char *big = file_body("big", 1, 3000000);
  results = run(sha_args, h_fmt("%s\n", h_url(port, "/file/big?size=3000000")), 1, 0, &proc);
  expect_sha256(proc, h_result(results, 0), big, 3000000);
  expect_saved(proc, h_result(results, 0), h_fmt("%s/big", dir), big, 3000000);

  /* --body alone allows 1 MiB. */
  const char *mib = file_body("m", 1, 1048576);
  const char *body_args[] = {"--body", NULL};
  results = run(
      body_args,
      h_fmt("%s\n%s\n", h_url(port, "/file/m?size=1048576"), h_url(port, "/file/m?size=1048577")),
      2, 1, &proc);
  expect_result(proc, h_result(results, 0), NULL);
  expect_body(proc, h_result(results, 0), "utf-8", mib, 1048576);
  expect_result(proc, h_result(results, 1), "too_large");

  /* With --max-size, that is the limit instead. */
  const char *limited_args[] = {"--body", "--max-size", "2000", NULL};
  results = run(limited_args,
                h_fmt("%s\n%s\n", h_url(port, "/file/n?size=2000"), h_url(port, "/nolength/2001")),
                2, 1, &proc);
  expect_body(proc, h_result(results, 0), "utf-8", file_body("n", 1, 2000), 2000);
  expect_result(proc, h_result(results, 1), "too_large");
}

void write_errors_are_results_not_crashes(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *host = h_fmt("127.0.0.1_%d", port);
  /* small first, one at a time: a full disk must not be full already because of big. */
  const char *input =
      h_fmt("%s\n%s\n", h_url(port, "/file/small?size=100"), h_url(port, "/file/big?size=1000000"));
  const char *small_name = h_fmt("%s/file/small-" HEX8, host);
  const char *small = file_body("small", 1, 100);
  struct h_proc *proc;
  cJSON *results;

  /* (a) RLIMIT_FSIZE of 100 KiB: big cannot be written (EFBIG; SIGXFSZ must not kill). */
  const char *tmp = h_temp_dir();
  const char *dir = h_fmt("%s/out", tmp);
  const char *args[] = {"-c", "1", "-o", dir, NULL};
  results = run_limited(args, input, 2, 1, 100 * 1024, &proc);
  const cJSON *r = h_result(results, 0);
  const char *name = saved_name(proc, r, dir, small_name);
  expect_saved(proc, r, h_string(r, "file"), small, 100);
  r = h_result(results, 1);
  expect_result(proc, r, "write");
  expect_no_file(proc, r);
  const char *efbig[] = {"big", strerror(EFBIG), NULL};
  expect_message_mentions(proc, r, efbig);
  expect_files(proc, dir, name);

  /* (b) The output directory cannot be created: its "parent" is a regular file. */
  const char *blocker = h_temp_file("x", 1);
  const char *bad_dir = h_fmt("%s/sub", blocker);
  const char *bad_args[] = {"-o", bad_dir, NULL};
  results = run(bad_args, input, 2, 1, &proc);
  for (long i = 0; i < 2; i++) {
    r = h_result(results, i);
    expect_result(proc, r, "write");
    expect_no_file(proc, r);
  }
  if (h_file_exists(bad_dir))
    fail_msg("%s: %s exists", proc->cmdline, bad_dir);

  /* (c) A full disk: a 64 KiB tmpfs (needs the right to mount; skipped without it). */
  const char *mount_point = h_fmt("%s/full", tmp);
  if (mkdir(mount_point, 0755) != 0)
    fail_msg("mkdir %s: %s", mount_point, strerror(errno));
  if (!h_mount_tmpfs(mount_point, 64 * 1024)) {
    fprintf(stderr,
            "write_errors_are_results_not_crashes: cannot mount a tmpfs on %s (%s); "
            "the full-disk part is skipped\n",
            mount_point, strerror(errno));
    return;
  }
  dir = h_fmt("%s/out", mount_point);
  const char *full_args[] = {"-c", "1", "-o", dir, NULL};
  results = run(full_args, input, 2, 1, &proc);
  r = h_result(results, 0);
  name = saved_name(proc, r, dir, small_name);
  expect_saved(proc, r, h_string(r, "file"), small, 100);
  r = h_result(results, 1);
  expect_result(proc, r, "write");
  expect_no_file(proc, r);
  const char *enospc[] = {"big", strerror(ENOSPC), NULL};
  expect_message_mentions(proc, r, enospc);
  expect_files(proc, dir, name);
}

void output_template_names_files(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *tmp = h_temp_dir();
  const char *host = h_fmt("127.0.0.1_%d", port);
  const char *input = h_fmt("%s\n%s\n", h_url(port, "/file/a"), h_url(port, "/file/b.txt?x=1"));
  const char *a = file_body("a", 1, 1000), *b = file_body("b.txt", 1, 1000);
  struct {
    const char *template;
    const char *pattern[2]; /* the saved names of /file/a and /file/b.txt?x=1 */
  } cases[] = {
      {"{index}-{name}", {"0-a", "1-b-" HEX8 ".txt"}},
      {"{host}/x/{path}", {h_fmt("%s/x/file/a", host), h_fmt("%s/x/file/b-" HEX8 ".txt", host)}},
      {"{url_hash}.bin", {HEX16 ".bin", HEX16 ".bin"}},
      /* ".." and "." segments are dropped: still inside. */
      {"../../{index}/./{name}", {"0/a", "1/b-" HEX8 ".txt"}},
  };
  struct h_proc *proc;
  cJSON *results;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *dir = h_fmt("%s/t%zu", tmp, i);
    const char *args[] = {"-o", dir, "--output-template", cases[i].template, NULL};
    results = run(args, input, 2, 0, &proc);
    const char *names[2];
    for (long k = 0; k < 2; k++) {
      const cJSON *r = h_result(results, k);
      names[k] = saved_name(proc, r, dir, cases[i].pattern[k]);
      expect_saved(proc, r, h_string(r, "file"), k == 0 ? a : b, 1000);
    }
    if (strcmp(names[0], names[1]) == 0)
      fail_msg("%s: two different URLs saved under one name %s", proc->cmdline, names[0]);
    expect_files(proc, dir, sorted_lines(names, 2));
  }

  /* One name for everything: the second URL gets "-2" before the extension; the first URL,
   * listed again, keeps its own name. */
  const char *dir = h_fmt("%s/same", tmp);
  const char *args[] = {"-c", "1", "-o", dir, "--output-template", "same.txt", NULL};
  results = run(args, h_fmt("%s%s\n", input, h_url(port, "/file/a")), 3, 0, &proc);
  expect_saved(proc, h_result(results, 0), h_fmt("%s/same.txt", dir), a, 1000);
  expect_saved(proc, h_result(results, 1), h_fmt("%s/same-2.txt", dir), b, 1000);
  expect_saved(proc, h_result(results, 2), h_fmt("%s/same.txt", dir), a, 1000);
  expect_files(proc, dir, "same-2.txt\nsame.txt");

  /* Nothing left of the template: "index.html". */
  dir = h_fmt("%s/empty", tmp);
  const char *empty_args[] = {"-o", dir, "--output-template", "./", NULL};
  results = run(empty_args, h_fmt("%s\n", h_url(port, "/file/a")), 1, 0, &proc);
  expect_saved(proc, h_result(results, 0), h_fmt("%s/index.html", dir), a, 1000);
}
