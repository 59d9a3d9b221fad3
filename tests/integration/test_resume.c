/* Resuming -o downloads: a partial kept after a kill or a dropped connection is continued with
 * Range + If-Range, by a retry in the same run or by the next run; a server that ignores the
 * range, or a changed validator, gets a whole fetch; a partial that is not afetch's own for the
 * URL (another URL's, a symbolic link) is never continued or followed.
 *
 * The bodies come from the test server's /file/NAME (tests/server/test_server.c), whose
 * cut=stall sends half the body and then nothing (the run is killed there), and cut=drop half
 * and then closes the connection; its /arrivals log shows each request's Range and If-Range. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "tests.h"

#define RESUME_NAME "big"
#define RESUME_SIZE 4000000
#define RESUME_HALF (RESUME_SIZE / 2)

/* What /file/NAME?size=N sends at version V (tracked). */
static const char *resume_body(unsigned long version) {
  struct h_buf *text = h_text();
  for (unsigned long k = 0; text->len < RESUME_SIZE; k++)
    h_text_add(text, "%s-%lu:%010lu\n", RESUME_NAME, version, k);
  text->len = RESUME_SIZE;
  text->data[RESUME_SIZE] = '\0';
  return text->data;
}

/* The ETag /file/NAME?size=N sends at version V: FNV-1a of "NAME/V/N" (tracked). */
static const char *resume_etag(unsigned long version) {
  const char *key = h_fmt("%s/%lu/%d", RESUME_NAME, version, RESUME_SIZE);
  unsigned long long hash = 0xcbf29ce484222325ULL;
  for (const char *c = key; *c; c++)
    hash = (hash ^ (unsigned char)*c) * 0x100000001b3ULL;
  return h_fmt("\"%016llx\"", hash);
}

/* The one result of a finished run, which must have exited 0. */
static const cJSON *resume_result(const struct h_proc *proc) {
  h_expect_exit(proc, 0);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 1);
  const cJSON *r = h_result(results, 0);
  if (!h_ok(r))
    fail_msg("%s: expected an ok result: %s", proc->cmdline, proc->out.data);
  return r;
}

/* Fails unless the result saved the whole version-V body with its right sha256, and (when
 * resumed_from > 0) says it continued that many kept bytes, else says nothing of resuming. */
static void expect_whole_file(const struct h_proc *proc, const cJSON *r, unsigned long version,
                              long resumed_from) {
  const char *body = resume_body(version);
  size_t length = 0;
  const char *file = h_string(r, "file");
  const char *saved = file ? h_read_file(file, &length) : NULL;
  if (!saved || length != RESUME_SIZE || memcmp(saved, body, RESUME_SIZE) != 0)
    fail_msg("%s: %s should hold the %d bytes of version %lu (it holds %zu%s)", proc->cmdline,
             file ? file : "(no file)", RESUME_SIZE, version, length,
             saved && length >= 20 ? h_fmt(", starting \"%.16s\"", saved) : "");
  const char *expected = h_sha256_hex(body, RESUME_SIZE);
  if (strcmp(h_string(r, "sha256"), expected) != 0 || h_number(r, "size") != RESUME_SIZE)
    fail_msg("%s: expected sha256 %s and size %d (the whole file): %s", proc->cmdline, expected,
             RESUME_SIZE, proc->out.data);
  const cJSON *from = cJSON_GetObjectItemCaseSensitive(r, "resumed_from");
  if (resumed_from > 0 ? !cJSON_IsNumber(from) || from->valuedouble != resumed_from : from != NULL)
    fail_msg("%s: expected %s: %s", proc->cmdline,
             resumed_from > 0 ? h_fmt("\"resumed_from\": %ld", resumed_from)
                              : "no \"resumed_from\"",
             proc->out.data);
}

/* The arrival at `at` in the server's log since its last /reset, checked to be for `path`. */
static const cJSON *resume_arrival(int port, int at, int count, const char *path) {
  const cJSON *log = h_arrivals(port);
  if (cJSON_GetArraySize(log) != count)
    fail_msg("the server saw %d requests, expected %d", cJSON_GetArraySize(log), count);
  const cJSON *arrival = cJSON_GetArrayItem(log, at);
  if (strcmp(h_string(arrival, "path"), path) != 0)
    fail_msg("request %d was for %s, expected %s", at, h_string(arrival, "path"), path);
  return arrival;
}

/* Fails unless the arrival asked for the rest after `from` bytes with If-Range `etag`, or
 * (from 0) asked for no range at all. */
static void expect_range(const cJSON *arrival, long from, const char *etag) {
  const char *range = h_string(arrival, "range"), *if_range = h_string(arrival, "if_range");
  if (from == 0 ? range || if_range
                : !range || strcmp(range, h_fmt("bytes=%ld-", from)) != 0 || !if_range ||
                      strcmp(if_range, etag) != 0)
    fail_msg("request for %s: expected %s, got Range %s, If-Range %s", h_string(arrival, "path"),
             from == 0 ? "no Range" : h_fmt("Range bytes=%ld- and If-Range %s", from, etag),
             range ? range : "(none)", if_range ? if_range : "(none)");
}

/* A file under dir (recursively) whose name ends in ".afetch-part", as a tracked path; NULL
 * when there is none. */
static const char *find_partial(const char *dir) {
  DIR *stream = opendir(dir);
  if (!stream)
    return NULL;
  const char *found = NULL;
  for (struct dirent *entry; !found && (entry = readdir(stream));) {
    const char *name = entry->d_name;
    size_t length = strlen(name);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    const char *path = h_fmt("%s/%s", dir, name);
    struct stat info;
    if (lstat(path, &info) != 0)
      continue;
    if (S_ISDIR(info.st_mode))
      found = find_partial(path);
    else if (length > 12 && strcmp(name + length - 12, ".afetch-part") == 0)
      found = path;
  }
  closedir(stream);
  return found;
}

static bool half_is_kept(void *arg) {
  const char *partial = find_partial(arg);
  struct stat info;
  return partial && stat(partial, &info) == 0 && info.st_size >= RESUME_HALF;
}

/* Starts afetch on the URL, waits until its partial holds the half the server sent before
 * stalling, and kills it with SIGKILL. */
static void run_killed_at_half(const char *const *args, const char *dir) {
  struct h_proc *first = h_afetch_start(args);
  h_close_stdin(first);
  if (!h_wait_for(half_is_kept, (void *)dir, 20000))
    fail_msg("%s: no partial with %d bytes appeared under %s: %s", first->cmdline, RESUME_HALF, dir,
             h_list_files(dir, true));
  h_signal(first, SIGKILL);
  h_wait_exit(first, 10000);
  if (!first->signaled || first->term_signal != SIGKILL)
    fail_msg("%s: ended before it was killed", first->cmdline);
}

void download_killed_at_half_resumes_with_range_and_if_range(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&cut=stall";
  const char *args[] = {"-q", "-o", dir, "--sha256", h_url(port, path), NULL};
  run_killed_at_half(args, dir);
  const char *stats = h_fmt("%s/stats.json", h_temp_dir());
  const char *rerun_args[] = {"-q", "-o", dir, "--sha256", "--stats-json", stats, h_url(port, path),
                              NULL};
  struct h_proc *rerun = h_afetch_run(rerun_args, NULL);
  expect_whole_file(rerun, resume_result(rerun), 1, RESUME_HALF);
  expect_range(resume_arrival(port, 1, 2, path), RESUME_HALF, resume_etag(1));
  /* --stats counts the bytes this run received, not the kept ones. */
  const char *stats_text = h_read_file(stats, NULL);
  if (!stats_text || h_number(h_parse_json(stats_text), "bytes") != RESUME_HALF)
    fail_msg("%s: --stats-json should count %d bytes: %s", rerun->cmdline, RESUME_HALF,
             stats_text ? stats_text : strerror(errno));
  if (h_count_files(dir, true) != 1)
    fail_msg("%s: expected the file alone under %s (no partial, no sidecar): %s", rerun->cmdline,
             dir, h_list_files(dir, true));
}

void download_dropped_at_half_is_resumed_by_the_retry(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&cut=drop";
  const char *args[] = {
      "-q", "-o", dir, "--sha256", "-r", "1", "--retry-delay", "0.01", h_url(port, path), NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  const cJSON *r = resume_result(proc);
  expect_whole_file(proc, r, 1, RESUME_HALF);
  if (h_number(r, "attempts") != 2)
    fail_msg("%s: expected 2 attempts: %s", proc->cmdline, proc->out.data);
  expect_range(resume_arrival(port, 0, 2, path), 0, NULL);
  expect_range(resume_arrival(port, 1, 2, path), RESUME_HALF, resume_etag(1));
  /* --body holds the whole body too: the kept bytes are read back into it. */
  h_reset(port);
  const char *with_body[] = {"-q",
                             "-o",
                             h_fmt("%s/again", h_temp_dir()),
                             "--body",
                             "--max-size",
                             "5000000",
                             "-r",
                             "1",
                             "--retry-delay",
                             "0.01",
                             h_url(port, path),
                             NULL};
  proc = h_afetch_run(with_body, NULL);
  r = resume_result(proc);
  const char *body = h_string(r, "body");
  if (h_number(r, "resumed_from") != RESUME_HALF || !body || strlen(body) != RESUME_SIZE ||
      strcmp(body, resume_body(1)) != 0)
    fail_msg("%s: expected the whole %d-byte body in \"body\" of a resumed result, got %zu bytes",
             proc->cmdline, RESUME_SIZE, body ? strlen(body) : 0);
}

void download_from_a_server_without_ranges_is_fetched_whole(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&cut=stall&ranges=0";
  const char *args[] = {"-q", "-o", dir, "--sha256", h_url(port, path), NULL};
  run_killed_at_half(args, dir);
  struct h_proc *rerun = h_afetch_run(args, NULL);
  expect_whole_file(rerun, resume_result(rerun), 1, 0);
  /* Asked (nothing said the server takes no ranges); it answered 200 with the whole body. */
  expect_range(resume_arrival(port, 1, 2, path), RESUME_HALF, resume_etag(1));
  if (h_count_files(dir, true) != 1)
    fail_msg("%s: expected the file alone under %s: %s", rerun->cmdline, dir,
             h_list_files(dir, true));
}

void download_whose_validator_changed_is_fetched_whole(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&cut=stall";
  const char *args[] = {"-q", "-o", dir, "--sha256", h_url(port, path), NULL};
  run_killed_at_half(args, dir);
  h_http_get(port, "/setversion/" RESUME_NAME "/2");
  struct h_proc *rerun = h_afetch_run(args, NULL);
  expect_whole_file(rerun, resume_result(rerun), 2, 0);
  expect_range(resume_arrival(port, 1, 2, path), RESUME_HALF, resume_etag(1));
}

static void write_bytes(const char *path, const char *bytes) {
  FILE *file = fopen(path, "w");
  if (!file || fputs(bytes, file) < 0 || fclose(file) != 0)
    fail_msg("cannot write %s: %s", path, strerror(errno));
}

static void make_symlink(const char *target, const char *path) {
  if (symlink(target, path) != 0)
    fail_msg("symlink %s: %s", path, strerror(errno));
}

/* Plants at the target's partial and sidecar names what `plant` (0, 1, 2) says, reruns and
 * checks that the whole file was fetched without a Range and nothing planted was written. */
static void expect_planted_partial_unused(int port, const char *dir, const char *file, int plant) {
  const char *url = h_url(port, "/file/" RESUME_NAME "?size=4000000");
  const char *slash = strrchr(file, '/');
  const char *base = h_fmt("%.*s/.%s", (int)(slash - file), file, slash + 1);
  const char *part = h_fmt("%s.afetch-part", base), *sidecar = h_fmt("%s.afetch-part.json", base);
  const char *victim = h_fmt("%s/victim", h_temp_dir());
  unlink(part); /* what the last plant left (a link is not ours to write through) */
  unlink(sidecar);
  const char *junk = "not this file's bytes\n";
  const char *vouch = h_fmt("{\"afetch_partial\":1,\"url\":\"%s\",\"if_range\":\"%s\"}", url,
                            h_fmt("\\\"%.16s\\\"", resume_etag(1) + 1));
  if (plant == 0) { /* another URL's partial, with this URL's validator */
    write_bytes(part, junk);
    write_bytes(sidecar,
                h_fmt("{\"afetch_partial\":1,\"url\":\"%s\",\"if_range\":\"%s\"}",
                      h_url(port, "/file/other"), h_fmt("\\\"%.16s\\\"", resume_etag(1) + 1)));
  } else if (plant == 1) { /* the partial a symbolic link to a file elsewhere */
    write_bytes(victim, junk);
    make_symlink(victim, part);
    write_bytes(sidecar, vouch);
  } else { /* the sidecar a symbolic link to one that vouches for the partial */
    write_bytes(part, junk);
    write_bytes(victim, vouch);
    make_symlink(victim, sidecar);
  }
  h_reset(port);
  const char *args[] = {"-q", "-o", dir, "--sha256", url, NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  expect_whole_file(proc, resume_result(proc), 1, 0);
  expect_range(resume_arrival(port, 0, 1, "/file/" RESUME_NAME "?size=4000000"), 0, NULL);
  if (plant != 0) {
    size_t length = 0;
    const char *kept = h_read_file(victim, &length);
    if (!kept || strcmp(kept, plant == 1 ? junk : vouch) != 0)
      fail_msg("%s: the link's target %s was written to: %s", proc->cmdline, victim,
               kept ? kept : strerror(errno));
  }
}

/* Where -o saves the URL of /file/big?size=N under dir: a first run saves it there. */
static const char *saved_file(int port, const char *dir) {
  const char *args[] = {"-q", "-o", dir, h_url(port, "/file/" RESUME_NAME "?size=4000000"), NULL};
  struct h_proc *first = h_afetch_run(args, NULL);
  return h_string(resume_result(first), "file");
}

void partial_of_another_url_or_behind_a_symlink_is_never_used(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *file = saved_file(port, dir);
  /* Another target's partial in the same directory is left alone, by the sweep of temp files
   * of killed runs too. */
  const char *slash = strrchr(file, '/');
  const char *other = h_fmt("%.*s/.other.afetch-part", (int)(slash - file), file);
  write_bytes(other, "another download's first bytes\n");
  write_bytes(h_fmt("%s.json", other), "{}");
  for (int plant = 0; plant < 3; plant++) {
    if (unlink(file) != 0)
      fail_msg("unlink %s: %s", file, strerror(errno));
    expect_planted_partial_unused(port, dir, file, plant);
    if (!h_file_exists(other) || !h_file_exists(h_fmt("%s.json", other)))
      fail_msg("another target's partial %s (or its sidecar) was removed", other);
  }
}

/* Plants beside `file` a partial of the URL of `path` holding `bytes` of version 1, with its
 * sidecar. */
static void plant_partial(int port, const char *file, const char *path, size_t bytes) {
  const char *slash = strrchr(file, '/');
  const char *part = h_fmt("%.*s/.%s.afetch-part", (int)(slash - file), file, slash + 1);
  FILE *out = fopen(part, "w");
  if (!out || fwrite(resume_body(1), 1, bytes, out) != bytes || fclose(out) != 0)
    fail_msg("cannot write %s: %s", part, strerror(errno));
  write_bytes(h_fmt("%s.json", part),
              h_fmt("{\"afetch_partial\":1,\"url\":\"%s\",\"if_range\":\"\\\"%.16s\\\"\"}",
                    h_url(port, path), resume_etag(1) + 1));
}

void partial_that_cannot_be_continued_is_fetched_whole(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *file = saved_file(port, dir);
  const char *path = "/file/" RESUME_NAME "?size=4000000";
  const char *args[] = {"-q", "-o", dir, "--sha256", h_url(port, path), NULL};
  /* All of the body kept (a kill before the rename): 416, then the whole body at once. */
  plant_partial(port, file, path, RESUME_SIZE);
  h_reset(port);
  struct h_proc *proc = h_afetch_run(args, NULL);
  const cJSON *r = resume_result(proc);
  expect_whole_file(proc, r, 1, 0);
  if (h_number(r, "attempts") != 1)
    fail_msg("%s: the whole fetch should be the same attempt: %s", proc->cmdline, proc->out.data);
  expect_range(resume_arrival(port, 0, 2, path), RESUME_SIZE, resume_etag(1));
  expect_range(resume_arrival(port, 1, 2, path), 0, NULL);
  /* --compressed: no Range (curl decodes, a range counts encoded bytes); the partial is
   * left for a run that can use it. */
  plant_partial(port, file, path, RESUME_HALF);
  h_reset(port);
  const char *compressed[] = {"-q", "-o", dir, "--sha256", "--compressed", h_url(port, path), NULL};
  proc = h_afetch_run(compressed, NULL);
  expect_whole_file(proc, resume_result(proc), 1, 0);
  expect_range(resume_arrival(port, 0, 1, path), 0, NULL);
  if (h_count_files(dir, true) != 3)
    fail_msg("%s: expected the file, the partial and its sidecar under %s: %s", proc->cmdline, dir,
             h_list_files(dir, true));
}

void server_ignoring_if_range_cannot_splice_two_versions(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&cut=stall&ifrange=0";
  const char *args[] = {"-q", "-o", dir, "--sha256", h_url(port, path), NULL};
  run_killed_at_half(args, dir);
  h_http_get(port, "/setversion/" RESUME_NAME "/2");
  struct h_proc *rerun = h_afetch_run(args, NULL);
  const cJSON *r = resume_result(rerun);
  expect_whole_file(rerun, r, 2, 0);
  /* The 206 came with version 2's ETag: not the kept bytes' version, so the whole body. */
  expect_range(resume_arrival(port, 1, 3, path), RESUME_HALF, resume_etag(1));
  expect_range(resume_arrival(port, 2, 3, path), 0, NULL);
}

void no_resume_keeps_no_partial_and_asks_no_range(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&cut=drop";
  /* A kept partial of the URL is not continued (nor removed: it is left as it is)... */
  if (mkdir(dir, 0777) != 0)
    fail_msg("mkdir %s: %s", dir, strerror(errno));
  plant_partial(port, h_fmt("%s/" RESUME_NAME, dir), path, RESUME_HALF);
  const char *args[] = {
      "-q",          "-o", dir, "--output-template", RESUME_NAME, "--sha256",
      "--no-resume", "-r", "1", "--retry-delay",     "0.01",      h_url(port, path),
      NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  const cJSON *r = resume_result(proc);
  /* ... and a body dropped at half is fetched again whole, from the first byte. */
  if (h_number(r, "attempts") != 2)
    fail_msg("%s: expected 2 attempts: %s", proc->cmdline, proc->out.data);
  expect_range(resume_arrival(port, 0, 2, path), 0, NULL);
  expect_range(resume_arrival(port, 1, 2, path), 0, NULL);
  const char *saved = h_string(r, "file");
  size_t length = 0;
  const char *bytes = h_read_file(saved, &length);
  if (!bytes || length != RESUME_SIZE || memcmp(bytes, resume_body(1), RESUME_SIZE) != 0 ||
      cJSON_GetObjectItemCaseSensitive(r, "resumed_from"))
    fail_msg("%s: expected the whole file in %s, not resumed: %s", proc->cmdline, saved,
             proc->out.data);
  /* The run's own download kept no partial: the planted one (and its sidecar) and the file
   * are all there is. */
  if (h_count_files(dir, true) != 3)
    fail_msg("%s: expected the file, the planted partial and its sidecar under %s: %s",
             proc->cmdline, dir, h_list_files(dir, true));
}

void small_body_is_fetched_again_not_resumed(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  /* Under 1 MiB by its Content-Length: dropped at half, the retry asks for all of it. */
  const char *path = "/file/small?size=1000000&cut=drop";
  const char *args[] = {"-q", "-o", dir, "-r", "1", "--retry-delay", "0.01", h_url(port, path),
                        NULL};
  struct h_proc *proc = h_afetch_run(args, NULL);
  const cJSON *r = resume_result(proc);
  expect_range(resume_arrival(port, 0, 2, path), 0, NULL);
  expect_range(resume_arrival(port, 1, 2, path), 0, NULL);
  if (h_number(r, "size") != 1000000 || cJSON_GetObjectItemCaseSensitive(r, "resumed_from") ||
      h_count_files(dir, true) != 1)
    fail_msg("%s: expected the whole body saved, not resumed, and nothing else under %s: %s (%s)",
             proc->cmdline, dir, proc->out.data, h_list_files(dir, true));
}

/* A 206 that starts at the kept length but stops before the end (a server that sends less
 * than the rest asked for) is not saved as the whole file: the partial goes, and the whole
 * body is fetched at once. */
void short_range_answer_is_not_saved_as_the_whole_file(void **state) {
  (void)state;
  int port = h_private_server(false)->http_port;
  const char *dir = h_fmt("%s/out", h_temp_dir());
  const char *path = "/file/" RESUME_NAME "?size=4000000&rangemax=1000";
  const char *args[] = {"-q", "-o", dir, "--sha256", h_url(port, path), NULL};
  const char *file = h_string(resume_result(h_afetch_run(args, NULL)), "file"); /* its name */
  plant_partial(port, file, path, RESUME_HALF);
  h_reset(port);
  struct h_proc *proc = h_afetch_run(args, NULL);
  expect_range(resume_arrival(port, 0, 2, path), RESUME_HALF, resume_etag(1));
  expect_whole_file(proc, resume_result(proc), 1, 0);
  expect_range(resume_arrival(port, 1, 2, path), 0, NULL);
}
