/* The files afetch writes in a hostile or careless environment: --stats-json and the
 * --if-changed state on devices, FIFOs and symbolic links; -o below a directory where links
 * were planted; temp files that killed runs left; two runs on one state file; validators in a
 * hand-edited state file. The tests run as root in CI, so they may mknod. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tests.h"

/* Fails unless path is a character device with these numbers. */
static void expect_char_device(const struct h_proc *proc, const char *path, unsigned major_number,
                               unsigned minor_number) {
  struct stat info;
  if (lstat(path, &info) != 0)
    fail_msg("%s: %s is gone: %s", proc->cmdline, path, strerror(errno));
  if (!S_ISCHR(info.st_mode) || major(info.st_rdev) != major_number ||
      minor(info.st_rdev) != minor_number)
    fail_msg("%s: %s is no longer the character device %u:%u (mode %o)", proc->cmdline, path,
             major_number, minor_number, (unsigned)info.st_mode);
}

/* Fails unless path is still a symbolic link. */
static void expect_link(const struct h_proc *proc, const char *path) {
  struct stat info;
  if (lstat(path, &info) != 0 || !S_ISLNK(info.st_mode))
    fail_msg("%s: %s is no longer a symbolic link", proc->cmdline, path);
}

/* Fails unless path holds one JSON object with a "results" member (a --stats-json file). */
static void expect_stats_file(const struct h_proc *proc, const char *path) {
  const char *text = h_read_file(path, NULL);
  if (text == NULL)
    fail_msg("%s: cannot read %s: %s", proc->cmdline, path, strerror(errno));
  cJSON *json = cJSON_Parse(text);
  bool ok = cJSON_IsObject(json) && cJSON_GetObjectItemCaseSensitive(json, "results");
  cJSON_Delete(json);
  if (!ok)
    fail_msg("%s: %s does not hold the statistics: %.300s", proc->cmdline, path, text);
}

static void make_node(const char *path, mode_t mode, dev_t device) {
  if (mknod(path, mode, device) != 0)
    fail_msg("mknod %s: %s (the tests run as root)", path, strerror(errno));
}

void stats_json_writes_devices_in_place_and_follows_links(void **state) {
  (void)state;
  const char *url = h_fmt("%s\n", h_url(h_http->http_port, "/"));
  const char *tmp = h_temp_dir();

  /* A node like /dev/null: written, and still the device. */
  const char *null_node = h_fmt("%s/null", tmp);
  make_node(null_node, S_IFCHR | 0666, makedev(1, 3));
  const char *null_args[] = {"-q", "--stats-json", null_node, NULL};
  struct h_proc *proc = h_afetch_run(null_args, url);
  h_expect_exit(proc, 0);
  expect_char_device(proc, null_node, 1, 3);

  /* Like /dev/full: the write error is reported (exit 3), the node stays. */
  const char *full_node = h_fmt("%s/full", tmp);
  make_node(full_node, S_IFCHR | 0666, makedev(1, 7));
  const char *full_args[] = {"-q", "--stats-json", full_node, NULL};
  proc = h_afetch_run(full_args, url);
  h_expect_exit(proc, 3);
  if (strstr(proc->err.data, full_node) == NULL || strstr(proc->err.data, strerror(ENOSPC)) == NULL)
    fail_msg("%s: stderr should name %s and say \"%s\": %s", proc->cmdline, full_node,
             strerror(ENOSPC), proc->err.data);
  expect_char_device(proc, full_node, 1, 7);

  /* A FIFO with a reader gets the statistics through it. */
  const char *fifo = h_fmt("%s/fifo", tmp);
  if (mkfifo(fifo, 0666) != 0)
    fail_msg("mkfifo %s: %s", fifo, strerror(errno));
  int reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (reader < 0)
    fail_msg("open %s: %s", fifo, strerror(errno));
  const char *fifo_args[] = {"-q", "--stats-json", fifo, NULL};
  proc = h_afetch_run(fifo_args, url);
  char got[4096];
  ssize_t n = read(reader, got, sizeof got - 1);
  close(reader);
  h_expect_exit(proc, 0);
  got[n > 0 ? n : 0] = '\0';
  if (strstr(got, "\"results\":1") == NULL)
    fail_msg("%s: the FIFO's reader got %s", proc->cmdline, got);
  struct stat info;
  if (lstat(fifo, &info) != 0 || !S_ISFIFO(info.st_mode))
    fail_msg("%s: %s is no longer a FIFO", proc->cmdline, fifo);

  /* Links, relative and absolute, one of them dangling: the target is written, the link kept. */
  if (mkdir(h_fmt("%s/real", tmp), 0777) != 0)
    fail_msg("mkdir: %s", strerror(errno));
  const char *relative_link = h_fmt("%s/relative.json", tmp);
  const char *absolute_link = h_fmt("%s/absolute.json", tmp);
  const char *chained_link = h_fmt("%s/chained.json", tmp);
  if (symlink("real/stats.json", relative_link) != 0 ||
      symlink(h_fmt("%s/real/other.json", tmp), absolute_link) != 0 ||
      symlink("relative.json", chained_link) != 0)
    fail_msg("symlink: %s", strerror(errno));
  const char *links[] = {relative_link, absolute_link, chained_link};
  const char *targets[] = {h_fmt("%s/real/stats.json", tmp), h_fmt("%s/real/other.json", tmp),
                           h_fmt("%s/real/stats.json", tmp)};
  for (size_t i = 0; i < 3; i++) {
    const char *args[] = {"-q", "--stats-json", links[i], NULL};
    proc = h_afetch_run(args, url);
    h_expect_exit(proc, 0);
    expect_link(proc, links[i]);
    expect_stats_file(proc, targets[i]);
  }
  /* Nothing else was made: no temp file, no regular file in a link's place. */
  const char *files = h_list_files(tmp, true);
  const char *expected = "absolute.json\nchained.json\nfifo\nfull\nnull\nreal/other.json\n"
                         "real/stats.json\nrelative.json";
  if (strcmp(files, expected) != 0)
    fail_msg("%s: expected exactly these files under %s:\n%s\nfound:\n%s", proc->cmdline, tmp,
             expected, files);
}

void if_changed_state_through_a_symlink_updates_its_target(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *tmp = h_temp_dir();
  const char *target = h_fmt("%s/state.json", tmp);
  const char *link = h_fmt("%s/link.json", tmp);
  if (symlink("state.json", link) != 0)
    fail_msg("symlink: %s", strerror(errno));
  const char *args[] = {"-q", "--if-changed", link, NULL};
  for (int round = 0; round < 2; round++) {
    const char *input = h_fmt("%s\n", h_url(port, h_fmt("/file/link%d", round)));
    struct h_proc *proc = h_afetch_run(args, input);
    h_expect_exit(proc, 0);
    expect_link(proc, link);
    const char *text = h_read_file(target, NULL);
    if (text == NULL)
      fail_msg("%s: the link's target %s was not written: %s", proc->cmdline, target,
               strerror(errno));
    for (int seen = 0; seen <= round; seen++)
      if (strstr(text, h_fmt("/file/link%d", seen)) == NULL)
        fail_msg("%s: the state in %s lacks /file/link%d: %s", proc->cmdline, target, seen, text);
  }
}

void planted_symlinks_under_the_output_dir_are_not_followed(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *tmp = h_temp_dir();
  const char *dir = h_fmt("%s/out", tmp);
  const char *elsewhere = h_fmt("%s/elsewhere", tmp);
  const char *deeper_elsewhere = h_fmt("%s/deeper-elsewhere", tmp);
  const char *good_host = h_fmt("%s/localhost_%d", dir, port);
  if (mkdir(dir, 0777) != 0 || mkdir(elsewhere, 0777) != 0 || mkdir(deeper_elsewhere, 0777) != 0 ||
      mkdir(good_host, 0777) != 0)
    fail_msg("mkdir: %s", strerror(errno));
  /* The host's directory itself, and a directory below a real one. */
  if (symlink(elsewhere, h_fmt("%s/127.0.0.1_%d", dir, port)) != 0 ||
      symlink("../../deeper-elsewhere", h_fmt("%s/any", good_host)) != 0)
    fail_msg("symlink: %s", strerror(errno));
  const char *input =
      h_fmt("%s\n%s\n%s\n", h_url(port, "/file/planted"),
            h_fmt("http://localhost:%d/any/x/y", port), h_fmt("http://localhost:%d/file/ok", port));
  const char *args[] = {"-o", dir, NULL};
  struct h_proc *proc = h_afetch_run(args, input);
  h_expect_exit(proc, 1);
  cJSON *results = h_gather_output(proc);
  h_check_results(results, 3);
  for (long i = 0; i < 2; i++) {
    const cJSON *r = h_result(results, i);
    const char *code = h_error_code(r);
    const char *message = h_string(h_field(r, "error"), "message");
    if (h_ok(r) || code == NULL || strcmp(code, "write") != 0 || message == NULL ||
        strstr(message, "symbolic link") == NULL)
      fail_msg("%s: index %ld: expected a write error naming the symbolic link: %s", proc->cmdline,
               i, cJSON_PrintUnformatted(r));
  }
  if (!h_ok(h_result(results, 2)))
    fail_msg("%s: index 2, in a real directory, should be saved", proc->cmdline);
  if (h_count_files(elsewhere, true) != 0 || h_count_files(deeper_elsewhere, true) != 0)
    fail_msg("%s: files landed outside %s through a link:\n%s\n%s", proc->cmdline, dir,
             h_list_files(elsewhere, true), h_list_files(deeper_elsewhere, true));
}

/* A pid that no process has: a child's, once it has exited and been reaped. */
static pid_t dead_pid(void) {
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0)
    _exit(0);
  if (waitpid(pid, NULL, 0) != pid)
    fail_msg("waitpid: %s", strerror(errno));
  return pid;
}

static void write_text(const char *path, const char *text) {
  FILE *file = fopen(path, "w");
  if (file == NULL || fputs(text, file) < 0 || fclose(file) != 0)
    fail_msg("cannot write %s: %s", path, strerror(errno));
}

void stale_temp_files_of_killed_runs_are_removed(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *tmp = h_temp_dir();
  const char *dir = h_fmt("%s/out", tmp);
  const char *written = h_fmt("%s/127.0.0.1_%d/file", dir, port);
  const char *untouched = h_fmt("%s/127.0.0.1_%d/other", dir, port);
  if (mkdir(dir, 0777) != 0 || mkdir(h_fmt("%s/127.0.0.1_%d", dir, port), 0777) != 0 ||
      mkdir(written, 0777) != 0 || mkdir(untouched, 0777) != 0)
    fail_msg("mkdir: %s", strerror(errno));
  long dead = (long)dead_pid();
  /* What kill -9 leaves: -o temp files, and the state file's. pid 1 is alive. */
  const char *stale[] = {h_fmt("%s/.stale.afetch-%ld-3", written, dead),
                         h_fmt("%s/.state.json.tmp-%ld-Ab12Cd", tmp, dead)};
  const char *kept[] = {h_fmt("%s/.live.afetch-1-3", written),
                        h_fmt("%s/.state.json.tmp-1-Ab12Cd", tmp),
                        h_fmt("%s/.elsewhere.afetch-%ld-3", untouched, dead)};
  for (size_t i = 0; i < 2; i++)
    write_text(stale[i], "partial");
  for (size_t i = 0; i < 3; i++)
    write_text(kept[i], "partial");
  const char *state_file = h_fmt("%s/state.json", tmp);
  const char *args[] = {"-q", "-o", dir, "--if-changed", state_file, NULL};
  struct h_proc *proc = h_afetch_run(args, h_fmt("%s\n", h_url(port, "/file/new")));
  h_expect_exit(proc, 0);
  for (size_t i = 0; i < 2; i++)
    if (h_file_exists(stale[i]))
      fail_msg("%s: the dead run's temp file %s is still there", proc->cmdline, stale[i]);
  for (size_t i = 0; i < 3; i++)
    if (!h_file_exists(kept[i]))
      fail_msg("%s: %s was removed (a live pid's, or in a directory the run did not write)",
               proc->cmdline, kept[i]);
}

void second_run_on_a_locked_state_file_exits_2(void **state) {
  (void)state;
  struct h_server *server = h_private_server(false);
  int port = server->http_port;
  const char *tmp = h_temp_dir();
  const char *state_file = h_fmt("%s/state.json", tmp);
  const char *args[] = {"-q", "--if-changed", state_file, NULL};
  /* The first run holds the lock while the server holds its request. */
  struct h_proc *first = h_afetch_start(args);
  h_write_stdin(first, h_fmt("%s\n", h_url(port, "/delay/20000")));
  h_close_stdin(first);
  bool reached;
  h_wait_stats(port, 1, 1, 10000, &reached);
  if (!reached)
    fail_msg("%s: the server never had the first run's request in flight", first->cmdline);
  struct h_proc *second = h_afetch_run(args, h_fmt("%s\n", h_url(port, "/file/second")));
  h_expect_exit(second, 2);
  if (strstr(second->err.data, state_file) == NULL ||
      strstr(second->err.data, "another afetch run") == NULL)
    fail_msg("%s: stderr should name %s and say another afetch run holds it: %s", second->cmdline,
             state_file, second->err.data);
  if (h_stats(port).requests != 1)
    fail_msg("%s: the refused run fetched something", second->cmdline);
  h_signal(first, SIGTERM);
  h_wait_exit(first, 10000);
  h_expect_exit(first, 143);
  /* Released with the first run: the next one works. */
  struct h_proc *third = h_afetch_run(args, h_fmt("%s\n", h_url(port, "/file/third")));
  h_expect_exit(third, 0);
}

void state_validators_cannot_inject_headers(void **state) {
  (void)state;
  int port = h_http->http_port;
  const char *bad = h_url(port, "/headers?case=bad");
  const char *good = h_url(port, "/headers?case=good");
  const char *text = h_fmt("{\"afetch_state\": 1, \"entries\": {\n"
                           "\"%s\": {\"etag\": \"\\\"x\\\"\\r\\nX-Injected: 1\"},\n"
                           "\"%s\": {\"etag\": \"\\\"good\\\"\"}\n}}\n",
                           bad, good);
  const char *tmp = h_temp_dir();
  const char *state_file = h_fmt("%s/state.json", tmp);
  write_text(state_file, text);
  const char *args[] = {"--body", "--if-changed", state_file, NULL};
  struct h_proc *proc = h_afetch_run(args, h_fmt("%s\n%s\n", bad, good));
  h_expect_exit(proc, 0);
  if (strstr(proc->out.data, "X-Injected") != NULL)
    fail_msg("%s: the state file's CR LF became a request header: %s", proc->cmdline,
             proc->out.data);
  if (h_count(proc->out.data, "If-None-Match") != 1 ||
      strstr(proc->out.data, "good\\\\\\\"") == NULL)
    fail_msg("%s: the valid ETag (only) should have been sent: %s", proc->cmdline, proc->out.data);
  if (h_count(proc->err.data, "afetch: ") != 1 || strstr(proc->err.data, state_file) == NULL ||
      strstr(proc->err.data, "1 entry") == NULL)
    fail_msg("%s: expected one warning naming %s and its 1 entry: %s", proc->cmdline, state_file,
             proc->err.data);
}
