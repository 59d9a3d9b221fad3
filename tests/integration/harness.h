/* Integration-test harness: runs the real afetch binary against the real test server.
 *
 * Everything a test allocates through these helpers (processes, parsed JSON, strings, temp
 * files, private servers) is tracked and released by h_teardown(), which every test is
 * registered with, so a failing assertion (a longjmp out of the test) leaks nothing and never
 * leaves a child process behind. */
#ifndef AFETCH_IT_HARNESS_H
#define AFETCH_IT_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <setjmp.h> /* cmocka.h needs these four first */

#include <cjson/cJSON.h>
#include <cmocka.h>

/* Hard safety limit for one afetch run: a hang fails the test instead of stalling CI.
 * It is never used to synchronise anything. */
#define H_SAFETY_MS 30000

/* ---- child processes ---- */

struct h_buf {
  char *data; /* always NUL-terminated once allocated */
  size_t len, cap;
};

struct h_proc {
  pid_t pid;
  char *cmdline;             /* for failure messages */
  int in_fd, out_fd, err_fd; /* our ends of the pipes; -1 once closed */
  struct h_buf in;           /* bytes queued for the child's stdin */
  size_t in_off;             /* how many of them are written */
  bool close_in_when_drained;
  struct h_buf out, err; /* everything the child wrote */
  size_t out_consumed;   /* bytes of out already returned by h_read_line() */
  double started;        /* h_now() at spawn */
  /* Filled in once the child is reaped. */
  bool reaped;
  bool exited; /* exit_code is valid */
  int exit_code;
  bool signaled; /* term_signal is valid */
  int term_signal;
  bool overran;   /* the harness had to SIGKILL it */
  double seconds; /* spawn to reap */
};

/* Monotonic seconds. */
double h_now(void);

/* Starts $AFETCH_BIN with args (NULL-terminated, without argv[0]). Its stdin, stdout and
 * stderr are pipes held by the test. */
struct h_proc *h_afetch_start(const char *const *args);
/* The same under nohup(1): SIGHUP ignored when afetch starts. */
struct h_proc *h_afetch_start_nohup(const char *const *args);

/* Runs afetch to completion: writes `input` to its stdin (NULL: none) then closes it, captures
 * stdout and stderr, and reaps it. Fails the test if it outlives H_SAFETY_MS. */
struct h_proc *h_afetch_run(const char *const *args, const char *input);
/* The same with RLIMIT_FSIZE set to fsize_bytes in the child before exec (SIGXFSZ at its
 * default action, which kills: afetch has to ignore it itself). Its cmdline, in failure
 * messages, starts "(ulimit -f N bytes)". */
struct h_proc *h_afetch_run_limited(const char *const *args, const char *input,
                                    long long fsize_bytes);

/* The same with RLIMIT_NOFILE, soft and hard, set to nofile in the child before exec. Its
 * cmdline starts "(ulimit -n N)". */
struct h_proc *h_afetch_run_nofile(const char *const *args, const char *input, long long nofile);

/* h_afetch_run() with NAME=VALUE strings (NULL-terminated) added to afetch's environment. */
struct h_proc *h_afetch_run_env(const char *const *environment, const char *const *args,
                                const char *input);

/* Starts another program (looked up in PATH) with pipes as for afetch; h_teardown() kills it. */
struct h_proc *h_spawn(const char *const *argv);

/* Queues bytes for the child's stdin (sent while the harness waits on the child). */
void h_write_stdin(struct h_proc *proc, const char *text);
/* Closes stdin once everything queued is written. */
void h_close_stdin(struct h_proc *proc);
/* Closes our read end of the child's stdout now (the `| head -1` situation). */
void h_close_stdout(struct h_proc *proc);
void h_signal(struct h_proc *proc, int sig);

/* Next complete line of stdout (without '\n'), waiting at most timeout_ms; NULL on timeout or
 * end of output. The string is tracked. */
char *h_read_line(struct h_proc *proc, int timeout_ms);

/* Waits at most timeout_ms until the child's stdout holds `needle` at least `count` times. */
bool h_wait_output(struct h_proc *proc, const char *needle, size_t count, int timeout_ms);

/* The same for stderr. */
bool h_wait_stderr(struct h_proc *proc, const char *needle, size_t count, int timeout_ms);

/* Reads whatever output is available now, without waiting (for failure messages). */
void h_collect(struct h_proc *proc);

/* Waits at most timeout_ms for the child to close its output and exit; past that, kills it
 * and fails the test. Then the exit fields are valid. */
void h_wait_exit(struct h_proc *proc, int timeout_ms);

/* Fails the test (naming the command, the expectation and what happened, with stderr) unless
 * the child exited normally with this code. */
void h_expect_exit(const struct h_proc *proc, int code);

/* ---- the test server ---- */

struct h_server {
  struct h_proc *proc;
  int http_port;
  int https_port; /* 0 without TLS */
  char dir[64];   /* temp dir holding cert.pem and key.pem (TLS only) */
  char cert[128];
};

/* Starts $TEST_SERVER_BIN (with TLS: generates a certificate first with
 * $AFETCH_TESTS_DIR/tls/gen-cert.sh, default tests/tls/gen-cert.sh). 0, or -1 after printing
 * why. */
int h_server_start(struct h_server *server, bool tls);
void h_server_stop(struct h_server *server);

/* A server of the test's own, stopped by h_teardown(): for tests that need exact /stats, or
 * that leave slow requests behind on the server. */
struct h_server *h_private_server(bool tls);

struct h_stats {
  long in_flight, max_in_flight, requests, connections;
  long not_modified; /* 304 replies from /file */
  long robots;       /* /robots.txt requests */
};

/* GET /stats and /reset over a plain socket (not through afetch). Fail the test on error. */
struct h_stats h_stats(int port);
void h_reset(int port);
/* GET /setrobots/KIND: what the server's /robots.txt answers until the next /reset
 * ("default", "missing", "error" or "delay"; tests/server/test_server.c). */
void h_set_robots(int port, const char *kind);
/* Polls /stats every 10 ms, at most timeout_ms, until in_flight and requests have these
 * values (-1: any). Returns the last stats seen; *reached tells whether they matched. */
struct h_stats h_wait_stats(int port, long in_flight, long requests, int timeout_ms, bool *reached);

/* GET /arrivals: the server's log of counted requests since its last /reset, oldest first, as
 * a borrowed array (its document is tracked) of {"t": arrival in the server's CLOCK_MONOTONIC
 * seconds, "host": the Host header, "path": the request URI, "range" and "if_range": those
 * headers or null}. Fails the test on errors, and
 * when the server's log overflowed (it dropped entries). */
cJSON *h_arrivals(int port);

/* Debian's nginx ($NGINX_BIN, default /usr/sbin/nginx), run as the test's own child with a
 * prefix, config and self-signed certificate in a temp dir, stopped by h_teardown(): for
 * what the test server does not speak (HTTP/2). Skips the test when nginx is missing. */
struct h_nginx {
  struct h_proc *proc;
  int https_port;  /* TLS with HTTP/2 and HTTP/1.1 (ALPN); every path answers 200 "ok\n" */
  int status_port; /* plain HTTP: /status is nginx's stub_status */
  char dir[64];
};
struct h_nginx *h_private_nginx(void);
/* The same with nginx directives added to the HTTPS server block; a "%s" in them stands for
 * the directory holding cert.pem and key.pem (e.g. "ssl_client_certificate %s/cert.pem;"). */
struct h_nginx *h_private_nginx_with(const char *directives);
/* TCP connections nginx has accepted so far, not counting the query's own. */
long h_nginx_connections(const struct h_nginx *nginx);

/* GET path over a plain socket; returns the body (tracked), fails the test on error. */
char *h_http_get(int port, const char *path);

/* A raw TCP listener on 127.0.0.1, in a child process killed by h_teardown(); returns its
 * port. It answers each connection with the bytes of `reply` once the request head (up to a
 * blank line) has arrived, then closes it; with reply NULL it accepts connections and holds
 * them open, never reading or answering (a server that stalls). */
int h_raw_listener(const char *reply);

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int h_unused_port(void);

/* ---- a terminal (tmux) ---- */

/* A tmux server of the test's own ($TMUX_BIN, default tmux from PATH; its socket in a temp
 * dir; no user configuration) with one detached session of columns x rows whose only pane runs
 * `command` with /bin/sh in the current directory: its stdin, stdout and stderr are the pane's
 * terminal unless the command redirects them. h_teardown() kills the server and whatever still
 * runs in the pane. When the command exits, the pane (and with it the server) goes away: end it
 * with e.g. "; exec sleep 60" to keep its last screen readable. Fails the test when tmux cannot
 * start: it is a test dependency (Debian package tmux, installed by .ci/install-deps.sh). */
struct h_tmux;
struct h_tmux *h_tmux_start(const char *command, int columns, int rows);
/* The pane's visible text now, one line per row (tracked). Fails the test on error. */
const char *h_tmux_screen(struct h_tmux *tmux);
/* Reads the pane every 50 ms, at most timeout_ms, until its text holds every one of the
 * NULL-terminated needles; returns the last text read (tracked), *found whether it matched. */
const char *h_tmux_wait(struct h_tmux *tmux, const char *const *needles, int timeout_ms,
                        bool *found);

/* Resizes the pane's window (its program gets SIGWINCH). Fails the test on error. */
void h_tmux_resize(struct h_tmux *tmux, int columns, int rows);

/* text in single quotes for /bin/sh (tracked). */
char *h_shell_quote(const char *text);
/* The shell command running afetch as h_afetch_start() would: $AFETCH_BIN, then
 * $AFETCH_TEST_ARGS, then args, each quoted (tracked). */
const char *h_afetch_shell_command(const char *const *args);

/* ---- strings and files ---- */

/* printf into a tracked string. */
char *h_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "http://127.0.0.1:PORT" PATH */
char *h_url(int port, const char *path);
/* Zeroed memory for count objects of size bytes (tracked). */
void *h_calloc(size_t count, size_t size);

/* A growable tracked string. */
struct h_buf *h_text(void);
void h_text_add(struct h_buf *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void h_text_add_bytes(struct h_buf *text, const char *bytes, size_t length);

/* Writes bytes to a new temp file (removed by h_teardown()); returns its path. */
const char *h_temp_file(const char *bytes, size_t length);
/* Creates a new empty temp directory; h_teardown() removes it with everything in it (after
 * unmounting what h_mount_tmpfs() mounted in it). Returns its path (tracked). */
const char *h_temp_dir(void);
/* True when something (anything, even a dangling symbolic link) exists at path. */
bool h_file_exists(const char *path);
/* The whole file, NUL-terminated (tracked), its length in *length (may be NULL); NULL with errno
 * set when it cannot be read. */
char *h_read_file(const char *path, size_t *length);
/* The non-directories under dir, recursively (symbolic links not followed), as paths relative
 * to dir, sorted, one per line (tracked; "" for none): for failure messages. Hidden entries
 * (names starting with '.', e.g. afetch's ".NAME.afetch-PID-N" temp files) and everything in
 * hidden directories only with include_hidden. */
const char *h_list_files(const char *dir, bool include_hidden);
/* How many entries h_list_files() would list. A missing dir has none. */
size_t h_count_files(const char *dir, bool include_hidden);
/* Calls condition(arg) every 10 ms, at most timeout_ms, until it returns true; returns
 * whether it did. For polls on files; the server's state has h_wait_stats(). */
bool h_wait_for(bool (*condition)(void *arg), void *arg, int timeout_ms);
/* Mounts a tmpfs of `bytes` bytes on the existing directory dir, unmounted by h_teardown().
 * False (errno set) when mounting is not allowed (not root, in a container, ...). */
bool h_mount_tmpfs(const char *dir, size_t bytes);

/* Lower-case hex SHA-256 of the bytes (tracked). */
const char *h_sha256_hex(const void *bytes, size_t length);
/* Decodes standard base64 (with '=' padding, no line breaks) into a tracked NUL-terminated
 * buffer, its length in *length (may be NULL); NULL when text is not valid base64. */
char *h_base64_decode(const char *text, size_t *length);

size_t h_count(const char *haystack, const char *needle);
bool h_is_valid_utf8(const char *bytes, size_t length);

/* ---- JSON ---- */

/* Parses exactly one JSON document (trailing whitespace allowed); fails the test otherwise. */
cJSON *h_parse_json(const char *text);
/* Parses ndjson: every line one JSON object, output ends with '\n'. Returns an array of them in
 * output order. */
cJSON *h_parse_ndjson(const char *text);

/* Fails unless `results` is an array of n result objects, each with every contract key of the
 * right type, and whose indexes are 0..n-1 each exactly once. */
void h_check_results(const cJSON *results, size_t n);
/* As h_check_results() for crawls with --robots and without --show-skipped, where blocked
 * pages keep their numbers: n results in strictly increasing index order, gaps allowed. */
void h_check_results_with_gaps(const cJSON *results, size_t n);
/* The element whose "index" is `index` (fails if there is none). */
const cJSON *h_result(const cJSON *results, long index);

/* Field access that fails the test on a missing key or a wrong type. */
const cJSON *h_field(const cJSON *object, const char *key);
bool h_ok(const cJSON *result);
long h_status(const cJSON *result);                         /* -1 for null */
const char *h_string(const cJSON *object, const char *key); /* NULL for null */
double h_number(const cJSON *object, const char *key);
/* error.code, or NULL when error is null. */
const char *h_error_code(const cJSON *result);

/* Convenience: the parsed output of a finished gather-mode run (fails if invalid). */
cJSON *h_gather_output(const struct h_proc *proc);

/* ---- per-test cleanup ---- */

int h_teardown(void **state);

/* The servers the group setup started (tests/integration/suite.c). */
extern struct h_server *h_http;
extern struct h_server *h_tls;

#endif
