/* Integration-test harness: see harness.h. POSIX fork/exec/pipe/poll/waitpid only. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- tracked resources ---- */

enum tracked_kind {
  T_MEM,
  T_JSON,
  T_PROC,
  T_TEXT,
  T_PATH,
  T_DIR,
  T_MOUNT,
  T_SERVER,
  T_NGINX,
  T_TMUX,
};

struct tracked {
  enum tracked_kind kind;
  void *ptr;
};

static struct tracked *tracked;
static size_t tracked_count, tracked_cap;

static void *xrealloc(void *ptr, size_t size) {
  void *p = realloc(ptr, size ? size : 1);
  if (p == NULL) {
    fprintf(stderr, "harness: out of memory\n");
    abort();
  }
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xrealloc(NULL, n), s, n);
}

static void *track(enum tracked_kind kind, void *ptr) {
  if (tracked_count == tracked_cap) {
    tracked_cap = tracked_cap ? 2 * tracked_cap : 64;
    tracked = xrealloc(tracked, tracked_cap * sizeof *tracked);
  }
  tracked[tracked_count++] = (struct tracked){kind, ptr};
  return ptr;
}

static void proc_free(struct h_proc *proc);
static void nginx_stop(struct h_nginx *nginx);
static void tmux_stop(struct h_tmux *tmux);
static void remove_dir(const char *dir);

int h_teardown(void **state) {
  (void)state;
  while (tracked_count > 0) {
    struct tracked t = tracked[--tracked_count];
    switch (t.kind) {
    case T_MEM:
      free(t.ptr);
      break;
    case T_JSON:
      cJSON_Delete(t.ptr);
      break;
    case T_PROC:
      proc_free(t.ptr);
      break;
    case T_TEXT:
      free(((struct h_buf *)t.ptr)->data);
      free(t.ptr);
      break;
    case T_PATH:
      unlink(t.ptr);
      free(t.ptr);
      break;
    case T_DIR:
      remove_dir(t.ptr);
      free(t.ptr);
      break;
    case T_MOUNT:
      /* Lazily: a child still holding a file there cannot keep the mount alive. */
      if (umount2(t.ptr, MNT_DETACH) != 0)
        fprintf(stderr, "harness: umount %s: %s\n", (char *)t.ptr, strerror(errno));
      free(t.ptr);
      break;
    case T_SERVER:
      h_server_stop(t.ptr);
      free(t.ptr);
      break;
    case T_NGINX:
      nginx_stop(t.ptr);
      free(t.ptr);
      break;
    case T_TMUX:
      tmux_stop(t.ptr);
      free(t.ptr);
      break;
    }
  }
  free(tracked);
  tracked = NULL;
  tracked_cap = 0;
  return 0;
}

/* ---- small utilities ---- */

double h_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ms_left(double deadline) {
  double left = deadline - h_now();
  if (left <= 0)
    return 0;
  return (int)(left * 1000.0) + 1;
}

static void nap_ms(int ms) { poll(NULL, 0, ms); }

static void buf_add(struct h_buf *buf, const char *bytes, size_t length) {
  if (buf->len + length + 1 > buf->cap) {
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + length + 1)
      cap *= 2;
    buf->data = xrealloc(buf->data, cap);
    buf->cap = cap;
  }
  if (length > 0)
    memcpy(buf->data + buf->len, bytes, length);
  buf->len += length;
  buf->data[buf->len] = '\0';
}

static void buf_vadd(struct h_buf *buf, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0)
    abort();
  char *tmp = xrealloc(NULL, (size_t)n + 1);
  vsnprintf(tmp, (size_t)n + 1, fmt, ap);
  buf_add(buf, tmp, (size_t)n);
  free(tmp);
}

char *h_fmt(const char *fmt, ...) {
  struct h_buf buf = {0};
  va_list ap;
  va_start(ap, fmt);
  buf_vadd(&buf, fmt, ap);
  va_end(ap);
  if (buf.data == NULL)
    buf_add(&buf, "", 0);
  return track(T_MEM, buf.data);
}

char *h_url(int port, const char *path) { return h_fmt("http://127.0.0.1:%d%s", port, path); }

void *h_calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) {
    fprintf(stderr, "harness: h_calloc(%zu, %zu) overflows\n", count, size);
    abort();
  }
  size_t bytes = count * size;
  void *p = xrealloc(NULL, bytes);
  memset(p, 0, bytes > 0 ? bytes : 1);
  return track(T_MEM, p);
}

struct h_buf *h_text(void) {
  struct h_buf *text = xrealloc(NULL, sizeof *text);
  *text = (struct h_buf){0};
  buf_add(text, "", 0);
  return track(T_TEXT, text);
}

void h_text_add(struct h_buf *text, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  buf_vadd(text, fmt, ap);
  va_end(ap);
}

void h_text_add_bytes(struct h_buf *text, const char *bytes, size_t length) {
  buf_add(text, bytes, length);
}

static const char *tmp_dir(void) {
  const char *dir = getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

const char *h_temp_file(const char *bytes, size_t length) {
  char *path = h_fmt("%s/afetch-it-XXXXXX", tmp_dir());
  int fd = mkstemp(path);
  if (fd < 0)
    fail_msg("mkstemp %s: %s", path, strerror(errno));
  track(T_PATH, xstrdup(path));
  size_t off = 0;
  while (off < length) {
    ssize_t n = write(fd, bytes + off, length - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(fd);
      fail_msg("write %s: %s", path, strerror(errno));
    }
    off += (size_t)n;
  }
  close(fd);
  return path;
}

const char *h_temp_dir(void) {
  char *path = h_fmt("%s/afetch-it-dir-XXXXXX", tmp_dir());
  if (mkdtemp(path) == NULL)
    fail_msg("mkdtemp %s: %s", path, strerror(errno));
  track(T_DIR, xstrdup(path));
  return path;
}

bool h_file_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

char *h_read_file(const char *path, size_t *length) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct h_buf buf = {0};
  buf_add(&buf, "", 0);
  for (;;) {
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      free(buf.data);
      errno = saved;
      return NULL;
    }
    if (n == 0)
      break;
    buf_add(&buf, chunk, (size_t)n);
  }
  close(fd);
  if (length != NULL)
    *length = buf.len;
  return track(T_MEM, buf.data);
}

struct path_list {
  char **paths;
  size_t count, cap;
};

/* Adds the non-directories under root/rel (rel "" for root itself) to list, recursively,
 * without following symbolic links. */
static void walk(const char *root, const char *rel, bool include_hidden, struct path_list *list) {
  char *dir_path = *rel ? h_fmt("%s/%s", root, rel) : h_fmt("%s", root);
  DIR *dir = opendir(dir_path);
  if (dir == NULL)
    return;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    if (name[0] == '.' && !include_hidden)
      continue;
    char *child = *rel ? h_fmt("%s/%s", rel, name) : h_fmt("%s", name);
    struct stat st;
    if (lstat(h_fmt("%s/%s", root, child), &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      walk(root, child, include_hidden, list);
      continue;
    }
    if (list->count == list->cap) {
      list->cap = list->cap ? 2 * list->cap : 16;
      list->paths = xrealloc(list->paths, list->cap * sizeof *list->paths);
    }
    list->paths[list->count++] = child;
  }
  closedir(dir);
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *h_list_files(const char *dir, bool include_hidden) {
  struct path_list list = {0};
  walk(dir, "", include_hidden, &list);
  if (list.count > 1)
    qsort(list.paths, list.count, sizeof *list.paths, compare_paths);
  struct h_buf *text = h_text();
  for (size_t i = 0; i < list.count; i++)
    h_text_add(text, "%s%s", i ? "\n" : "", list.paths[i]);
  free(list.paths);
  return text->data;
}

size_t h_count_files(const char *dir, bool include_hidden) {
  struct path_list list = {0};
  walk(dir, "", include_hidden, &list);
  free(list.paths);
  return list.count;
}

bool h_wait_for(bool (*condition)(void *arg), void *arg, int timeout_ms) {
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    if (condition(arg))
      return true;
    if (h_now() >= deadline)
      return false;
    nap_ms(10);
  }
}

bool h_mount_tmpfs(const char *dir, size_t bytes) {
  char options[64];
  snprintf(options, sizeof options, "size=%zu,mode=0755", bytes);
  if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) != 0)
    return false;
  track(T_MOUNT, xstrdup(dir));
  return true;
}

/* ---- SHA-256 (FIPS 180-4) and base64 ---- */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 =
        k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

const char *h_sha256_hex(const void *bytes, size_t length) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const unsigned char *p = bytes;
  size_t full = length / 64 * 64;
  for (size_t off = 0; off < full; off += 64)
    sha256_block(h, p + off);
  /* The tail, 0x80, zeros, and the length in bits (big-endian): one or two blocks. */
  unsigned char tail[128] = {0};
  size_t rest = length - full;
  if (rest > 0)
    memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  size_t tail_length = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++)
    tail[tail_length - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t off = 0; off < tail_length; off += 64)
    sha256_block(h, tail + off);
  char *hex = track(T_MEM, xrealloc(NULL, 65));
  for (int i = 0; i < 8; i++)
    snprintf(hex + 8 * i, 9, "%08x", (unsigned)h[i]);
  return hex;
}

static int base64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

char *h_base64_decode(const char *text, size_t *length) {
  size_t n = strlen(text);
  if (n % 4 != 0)
    return NULL;
  char *out = track(T_MEM, xrealloc(NULL, n / 4 * 3 + 1));
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; j++) {
      char c = text[i + j];
      bool last_group = i + 4 == n;
      if (c == '=' && last_group && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        v[j] = 0;
        pad++;
        continue;
      }
      if (pad > 0 || (v[j] = base64_value(c)) < 0)
        return NULL;
    }
    uint32_t group =
        (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    out[o++] = (char)(group >> 16);
    if (pad < 2)
      out[o++] = (char)(group >> 8);
    if (pad < 1)
      out[o++] = (char)group;
  }
  out[o] = '\0';
  if (length != NULL)
    *length = o;
  return out;
}

size_t h_count(const char *haystack, const char *needle) {
  size_t count = 0, n = strlen(needle);
  for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += n)
    count++;
  return count;
}

bool h_is_valid_utf8(const char *bytes, size_t length) {
  const unsigned char *s = (const unsigned char *)bytes;
  size_t i = 0;
  while (i < length) {
    unsigned char c = s[i];
    size_t extra;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= length)
      return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

/* ---- child processes ---- */

static void set_cloexec(int fd) { fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC); }

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

static char *join_cmdline(const char *const *argv) {
  struct h_buf buf = {0};
  for (size_t i = 0; argv[i] != NULL; i++) {
    if (i > 0)
      buf_add(&buf, " ", 1);
    size_t n = strlen(argv[i]);
    if (n > 200) {
      buf_add(&buf, argv[i], 60);
      buf_add(&buf, "...", 3);
    } else {
      buf_add(&buf, argv[i], n);
    }
  }
  if (buf.data == NULL)
    buf_add(&buf, "", 0);
  return buf.data;
}

/* The RLIMIT_NOFILE (soft and hard) of the next child spawn_limited() starts, when >= 0: set
 * by h_afetch_run_nofile(), used up by that one spawn. */
static long long spawn_nofile_limit = -1;

/* NAME=VALUE strings (NULL-terminated) put in the environment of the children started while
 * it is set (h_afetch_run_env()). */
static const char *const *child_environment;

/* Spawns argv[0] with stdin and stdout as pipes, and stderr a pipe too unless
 * inherit_stderr; with fsize_limit >= 0, under that RLIMIT_FSIZE (bytes; SIGXFSZ at its default
 * action, as a shell would leave it). Returns NULL (after printing why) when it cannot. Not
 * tracked. */
static struct h_proc *spawn_limited(const char *const *argv, bool inherit_stderr,
                                    long long fsize_limit) {
  long long nofile_limit = spawn_nofile_limit;
  spawn_nofile_limit = -1;
  int in[2], out[2], err[2] = {-1, -1};
  if (pipe(in) < 0)
    return NULL;
  if (pipe(out) < 0) {
    close(in[0]), close(in[1]);
    return NULL;
  }
  if (!inherit_stderr && pipe(err) < 0) {
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return NULL;
  }
  int fds[] = {in[0], in[1], out[0], out[1], err[0], err[1]};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0)
      set_cloexec(fds[i]);

  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "harness: fork: %s\n", strerror(errno));
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
      if (fds[i] >= 0)
        close(fds[i]);
    return NULL;
  }
  if (pid == 0) {
    /* The child gets the default dispositions a shell would give it: the test process
     * ignores SIGPIPE, and ignored signals would survive exec. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    if (fsize_limit >= 0) {
      struct rlimit limit = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) {
        dprintf(STDERR_FILENO, "harness: setrlimit(RLIMIT_FSIZE): %s\n", strerror(errno));
        _exit(127);
      }
    }
    if (nofile_limit >= 0) {
      struct rlimit limit = {(rlim_t)nofile_limit, (rlim_t)nofile_limit};
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        dprintf(STDERR_FILENO, "harness: setrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
        _exit(127);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (const char *const *entry = child_environment; entry && *entry; entry++)
      putenv((char *)*entry);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    if (!inherit_stderr)
      dup2(err[1], STDERR_FILENO);
    execvp(argv[0], (char *const *)argv); /* a bare name (tmux) is looked up in PATH */
    dprintf(STDERR_FILENO, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }

  close(in[0]);
  close(out[1]);
  if (err[1] >= 0)
    close(err[1]);

  struct h_proc *proc = xrealloc(NULL, sizeof *proc);
  *proc = (struct h_proc){0};
  proc->pid = pid;
  proc->cmdline = join_cmdline(argv);
  proc->in_fd = in[1];
  proc->out_fd = out[0];
  proc->err_fd = err[0];
  proc->started = h_now();
  set_nonblock(proc->in_fd);
  set_nonblock(proc->out_fd);
  if (proc->err_fd >= 0)
    set_nonblock(proc->err_fd);
  buf_add(&proc->out, "", 0);
  buf_add(&proc->err, "", 0);
  buf_add(&proc->in, "", 0);
  return proc;
}

static struct h_proc *spawn(const char *const *argv, bool inherit_stderr) {
  return spawn_limited(argv, inherit_stderr, -1);
}

static void record_status(struct h_proc *proc, int status) {
  proc->reaped = true;
  proc->seconds = h_now() - proc->started;
  if (WIFEXITED(status)) {
    proc->exited = true;
    proc->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    proc->signaled = true;
    proc->term_signal = WTERMSIG(status);
  }
}

/* Reaps the child if it has exited; waits at most timeout_ms. */
static bool reap(struct h_proc *proc, int timeout_ms) {
  if (proc->reaped)
    return true;
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    int status;
    pid_t r = waitpid(proc->pid, &status, WNOHANG);
    if (r == proc->pid) {
      record_status(proc, status);
      return true;
    }
    if (r < 0 && errno != EINTR) {
      proc->reaped = true; /* not our child any more: nothing to wait for */
      return true;
    }
    if (h_now() >= deadline)
      return false;
    nap_ms(2);
  }
}

static void kill_and_reap(struct h_proc *proc) {
  if (proc->reaped)
    return;
  kill(proc->pid, SIGKILL);
  int status;
  while (waitpid(proc->pid, &status, 0) < 0 && errno == EINTR)
    ;
  record_status(proc, status);
}

static void proc_free(struct h_proc *proc) {
  if (proc == NULL)
    return;
  close_fd(&proc->in_fd);
  close_fd(&proc->out_fd);
  close_fd(&proc->err_fd);
  kill_and_reap(proc);
  free(proc->cmdline);
  free(proc->in.data);
  free(proc->out.data);
  free(proc->err.data);
  free(proc);
}

/* A child that floods its output is killed rather than allowed to eat the test's memory. */
#define OUTPUT_LIMIT (256u << 20)

static void read_some(struct h_proc *proc, int *fd, struct h_buf *buf) {
  char chunk[65536];
  ssize_t n = read(*fd, chunk, sizeof chunk);
  if (n > 0) {
    buf_add(buf, chunk, (size_t)n);
    if (buf->len > OUTPUT_LIMIT && !proc->overran) {
      fprintf(stderr, "harness: %s wrote more than %u MiB; killing it\n", proc->cmdline,
              OUTPUT_LIMIT >> 20);
      proc->overran = true;
      kill(proc->pid, SIGKILL);
    }
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_fd(fd);
  }
}

static void write_some(struct h_proc *proc) {
  if (proc->in_off < proc->in.len) {
    ssize_t n = write(proc->in_fd, proc->in.data + proc->in_off, proc->in.len - proc->in_off);
    if (n > 0) {
      proc->in_off += (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      /* EPIPE: the child is gone or closed its stdin; the rest cannot be delivered. */
      proc->in_off = proc->in.len;
      close_fd(&proc->in_fd);
      return;
    }
  }
  if (proc->in_off == proc->in.len && proc->close_in_when_drained)
    close_fd(&proc->in_fd);
}

/* One poll over the open pipes: writes queued input, reads available output. Returns false
 * when there is nothing left to watch. */
static bool pump(struct h_proc *proc, int timeout_ms) {
  if (proc->in_fd >= 0 && proc->in_off == proc->in.len && proc->close_in_when_drained)
    close_fd(&proc->in_fd);
  struct pollfd fds[3];
  int n = 0, in_i = -1, out_i = -1, err_i = -1;
  if (proc->in_fd >= 0 && proc->in_off < proc->in.len) {
    in_i = n;
    fds[n++] = (struct pollfd){.fd = proc->in_fd, .events = POLLOUT};
  }
  if (proc->out_fd >= 0) {
    out_i = n;
    fds[n++] = (struct pollfd){.fd = proc->out_fd, .events = POLLIN};
  }
  if (proc->err_fd >= 0) {
    err_i = n;
    fds[n++] = (struct pollfd){.fd = proc->err_fd, .events = POLLIN};
  }
  if (n == 0)
    return false;
  int r = poll(fds, (nfds_t)n, timeout_ms);
  if (r < 0) {
    if (errno == EINTR)
      return true;
    fail_msg("poll: %s", strerror(errno));
  }
  if (in_i >= 0 && fds[in_i].revents)
    write_some(proc);
  if (out_i >= 0 && fds[out_i].revents)
    read_some(proc, &proc->out_fd, &proc->out);
  if (err_i >= 0 && fds[err_i].revents)
    read_some(proc, &proc->err_fd, &proc->err);
  return true;
}

static const char *env_or(const char *name, const char *fallback) {
  const char *value = getenv(name);
  return value && *value ? value : fallback;
}

/* AFETCH_TEST_ARGS (one option, e.g. "--threads=2") goes in front of every test's own
 * arguments, so the whole suite can run again in another mode of afetch. */
static struct h_proc *afetch_start_with(const char *launcher, const char *const *args,
                                        long long fsize_limit) {
  size_t n = 0;
  while (args[n] != NULL)
    n++;
  const char *mode = getenv("AFETCH_TEST_ARGS");
  size_t extra = (mode && *mode ? 1 : 0) + (launcher ? 1 : 0);
  const char **argv = xrealloc(NULL, (n + extra + 2) * sizeof *argv);
  size_t at = 0;
  if (launcher)
    argv[at++] = launcher;
  argv[at++] = env_or("AFETCH_BIN", "./afetch");
  if (mode && *mode)
    argv[at++] = mode;
  for (size_t i = 0; i <= n; i++)
    argv[at + i] = args[i];
  struct h_proc *proc = spawn_limited(argv, false, fsize_limit);
  free(argv);
  if (proc == NULL)
    fail_msg("cannot start afetch");
  return track(T_PROC, proc);
}

static struct h_proc *afetch_start(const char *const *args, long long fsize_limit) {
  return afetch_start_with(NULL, args, fsize_limit);
}

struct h_proc *h_afetch_start(const char *const *args) {
  return afetch_start(args, -1);
}

struct h_proc *h_afetch_start_nohup(const char *const *args) {
  return afetch_start_with("nohup", args, -1);
}

void h_write_stdin(struct h_proc *proc, const char *text) {
  if (proc->in_fd < 0)
    fail_msg("%s: stdin is already closed", proc->cmdline);
  buf_add(&proc->in, text, strlen(text));
  write_some(proc);
}

void h_close_stdin(struct h_proc *proc) {
  proc->close_in_when_drained = true;
  if (proc->in_fd >= 0)
    write_some(proc);
}

void h_close_stdout(struct h_proc *proc) { close_fd(&proc->out_fd); }

void h_signal(struct h_proc *proc, int sig) {
  if (proc->reaped)
    fail_msg("%s: exited before it could be sent signal %d", proc->cmdline, sig);
  kill(proc->pid, sig);
}

char *h_read_line(struct h_proc *proc, int timeout_ms) {
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    char *start = proc->out.data + proc->out_consumed;
    char *nl = memchr(start, '\n', proc->out.len - proc->out_consumed);
    if (nl != NULL) {
      size_t n = (size_t)(nl - start);
      char *line = track(T_MEM, xrealloc(NULL, n + 1));
      memcpy(line, start, n);
      line[n] = '\0';
      proc->out_consumed += n + 1;
      return line;
    }
    if (proc->out_fd < 0 || h_now() >= deadline)
      return NULL;
    pump(proc, ms_left(deadline));
  }
}

bool h_wait_output(struct h_proc *proc, const char *needle, size_t count, int timeout_ms) {
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    if (h_count(proc->out.data, needle) >= count)
      return true;
    if (proc->out_fd < 0 || h_now() >= deadline)
      return false;
    pump(proc, ms_left(deadline));
  }
}

bool h_wait_stderr(struct h_proc *proc, const char *needle, size_t count, int timeout_ms) {
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    if (h_count(proc->err.data, needle) >= count)
      return true;
    if (proc->err_fd < 0 || h_now() >= deadline)
      return false;
    pump(proc, ms_left(deadline));
  }
}

void h_collect(struct h_proc *proc) {
  for (int i = 0; i < 64 && pump(proc, 0); i++)
    ;
}

static const char *describe_end(const struct h_proc *proc) {
  static char text[128];
  if (proc->overran)
    snprintf(text, sizeof text, "still running after the harness's limit (killed)");
  else if (proc->exited)
    snprintf(text, sizeof text, "exit status %d", proc->exit_code);
  else if (proc->signaled)
    snprintf(text, sizeof text, "killed by signal %d (%s)", proc->term_signal,
             strsignal(proc->term_signal));
  else
    snprintf(text, sizeof text, "not reaped");
  return text;
}

static const char *tail_of(const struct h_buf *buf, size_t max) {
  if (buf->data == NULL)
    return "";
  return buf->len > max ? buf->data + buf->len - max : buf->data;
}

void h_wait_exit(struct h_proc *proc, int timeout_ms) {
  double deadline = h_now() + timeout_ms / 1000.0;
  while (h_now() < deadline && pump(proc, ms_left(deadline)))
    ;
  if (!reap(proc, ms_left(deadline))) {
    proc->overran = true;
    kill_and_reap(proc);
  }
  /* Whatever the child wrote before it went away (bounded: a grandchild could hold a pipe). */
  double drain_deadline = h_now() + 1.0;
  while (h_now() < drain_deadline && pump(proc, ms_left(drain_deadline)))
    ;
  close_fd(&proc->in_fd);
  close_fd(&proc->out_fd);
  close_fd(&proc->err_fd);
  if (proc->overran)
    fail_msg("%s: killed by the harness (still running after %.1f s, or flooding its output); "
             "stderr: %s",
             proc->cmdline, timeout_ms / 1000.0, tail_of(&proc->err, 2000));
}

/* Feeds input (NULL: none), closes stdin and waits for the end. */
static struct h_proc *run_to_end(struct h_proc *proc, const char *input) {
  if (input != NULL)
    h_write_stdin(proc, input);
  h_close_stdin(proc);
  h_wait_exit(proc, H_SAFETY_MS);
  return proc;
}

struct h_proc *h_afetch_run(const char *const *args, const char *input) {
  return run_to_end(h_afetch_start(args), input);
}

struct h_proc *h_afetch_run_limited(const char *const *args, const char *input,
                                    long long fsize_bytes) {
  struct h_proc *proc = run_to_end(afetch_start(args, fsize_bytes), input);
  char *cmdline = h_fmt("(ulimit -f %lld bytes) %s", fsize_bytes, proc->cmdline);
  free(proc->cmdline);
  proc->cmdline = xstrdup(cmdline);
  return proc;
}

struct h_proc *h_afetch_run_nofile(const char *const *args, const char *input, long long nofile) {
  spawn_nofile_limit = nofile;
  struct h_proc *proc = run_to_end(afetch_start(args, -1), input);
  char *cmdline = h_fmt("(ulimit -n %lld) %s", nofile, proc->cmdline);
  free(proc->cmdline);
  proc->cmdline = xstrdup(cmdline);
  return proc;
}

struct h_proc *h_afetch_run_env(const char *const *environment, const char *const *args,
                                const char *input) {
  child_environment = environment;
  struct h_proc *proc = h_afetch_start(args);
  child_environment = NULL;
  return run_to_end(proc, input);
}

struct h_proc *h_spawn(const char *const *argv) {
  struct h_proc *proc = spawn(argv, false);
  if (proc == NULL)
    fail_msg("cannot start %s", argv[0]);
  return track(T_PROC, proc);
}

void h_expect_exit(const struct h_proc *proc, int code) {
  if (!proc->exited || proc->exit_code != code)
    fail_msg("%s: expected exit status %d, got %s; stderr: %s\nstdout (end): %s", proc->cmdline,
             code, describe_end(proc), tail_of(&proc->err, 2000), tail_of(&proc->out, 1500));
}

/* ---- the test server ---- */

/* Runs argv to completion with empty stdin, capturing its output; past timeout_ms it is killed
 * (overran set). NULL when it cannot be started. Not tracked. */
static struct h_proc *run_program(const char *const *argv, int timeout_ms) {
  struct h_proc *proc = spawn(argv, false);
  if (proc == NULL)
    return NULL;
  double deadline = h_now() + timeout_ms / 1000.0;
  proc->close_in_when_drained = true;
  while (h_now() < deadline && pump(proc, ms_left(deadline)))
    ;
  if (!reap(proc, ms_left(deadline))) {
    proc->overran = true;
    kill_and_reap(proc);
  }
  return proc;
}

static int run_quietly(const char *const *argv, int timeout_ms) {
  struct h_proc *proc = run_program(argv, timeout_ms);
  if (proc == NULL)
    return -1;
  int ok = proc->exited && proc->exit_code == 0 ? 0 : -1;
  if (ok != 0)
    fprintf(stderr, "harness: %s: %s\n%s%s", proc->cmdline, describe_end(proc), proc->out.data,
            proc->err.data);
  proc_free(proc);
  return ok;
}

static void remove_dir(const char *dir) {
  const char *argv[] = {"/bin/rm", "-rf", dir, NULL};
  run_quietly(argv, 10000);
}

static int parse_port(const char *line, const char *name) {
  size_t n = strlen(name);
  if (strncmp(line, name, n) != 0 || line[n] != ' ')
    return 0;
  int port = atoi(line + n + 1);
  return port > 0 && port < 65536 ? port : 0;
}

int h_server_start(struct h_server *server, bool tls) {
  *server = (struct h_server){0};
  const char *bin = env_or("TEST_SERVER_BIN", "build/release/tests/test-server");
  char key[128];
  const char *argv[] = {bin, NULL, NULL, NULL, NULL};
  if (tls) {
    snprintf(server->dir, sizeof server->dir, "%s/afetch-tls-XXXXXX", tmp_dir());
    if (mkdtemp(server->dir) == NULL) {
      fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
      server->dir[0] = '\0';
      return -1;
    }
    char script[512];
    snprintf(script, sizeof script, "%s/tls/gen-cert.sh", env_or("AFETCH_TESTS_DIR", "tests"));
    const char *gen[] = {"/bin/sh", script, server->dir, NULL};
    if (run_quietly(gen, 60000) != 0) {
      h_server_stop(server);
      return -1;
    }
    snprintf(server->cert, sizeof server->cert, "%s/cert.pem", server->dir);
    snprintf(key, sizeof key, "%s/key.pem", server->dir);
    argv[1] = "--tls";
    argv[2] = server->cert;
    argv[3] = key;
  }

  /* The server's stderr is ours: its diagnostics show in the test log and can never fill a
   * pipe nobody reads. */
  server->proc = spawn(argv, true);
  if (server->proc == NULL) {
    h_server_stop(server);
    return -1;
  }
  double deadline = h_now() + 15.0;
  for (;;) {
    char *line = NULL;
    struct h_proc *p = server->proc;
    char *nl = memchr(p->out.data + p->out_consumed, '\n', p->out.len - p->out_consumed);
    if (nl != NULL) {
      *nl = '\0';
      line = p->out.data + p->out_consumed;
      p->out_consumed = (size_t)(nl - p->out.data) + 1;
    }
    if (line != NULL) {
      if (strcmp(line, "ready") == 0)
        break;
      int port;
      if ((port = parse_port(line, "http")) != 0)
        server->http_port = port;
      else if ((port = parse_port(line, "https")) != 0)
        server->https_port = port;
      continue;
    }
    if (p->out_fd < 0 || h_now() >= deadline) {
      fprintf(stderr, "harness: %s did not say \"ready\" (output so far: %s)\n", p->cmdline,
              p->out.data);
      h_server_stop(server);
      return -1;
    }
    pump(p, ms_left(deadline));
  }
  if (server->http_port == 0 || (tls && server->https_port == 0)) {
    fprintf(stderr, "harness: %s said ready without its ports\n", server->proc->cmdline);
    h_server_stop(server);
    return -1;
  }
  return 0;
}

void h_server_stop(struct h_server *server) {
  if (server->proc != NULL) {
    struct h_proc *p = server->proc;
    close_fd(&p->in_fd); /* EOF on its stdin: the server exits */
    if (!reap(p, 5000)) {
      fprintf(stderr, "harness: test server ignored EOF on stdin; sending SIGTERM\n");
      kill(p->pid, SIGTERM);
      if (!reap(p, 2000))
        kill_and_reap(p);
    }
    proc_free(p);
    server->proc = NULL;
  }
  if (server->dir[0] != '\0') {
    remove_dir(server->dir);
    server->dir[0] = '\0';
  }
}

struct h_server *h_private_server(bool tls) {
  struct h_server *server = xrealloc(NULL, sizeof *server);
  if (h_server_start(server, tls) != 0) {
    free(server);
    fail_msg("cannot start a test server");
  }
  return track(T_SERVER, server);
}

static int http_get(int port, const char *path, char **body);

/* ---- nginx ---- */

static void nginx_stop(struct h_nginx *nginx) {
  if (nginx->proc != NULL) {
    kill(nginx->proc->pid, SIGTERM); /* nginx's fast shutdown */
    if (!reap(nginx->proc, 5000))
      kill_and_reap(nginx->proc);
    proc_free(nginx->proc);
    nginx->proc = NULL;
  }
  if (nginx->dir[0] != '\0')
    remove_dir(nginx->dir);
}

/* nginx's configuration: one worker in the foreground, everything under dir; `directives`
 * go into the HTTPS server block. */
static void nginx_write_config(const struct h_nginx *nginx, const char *path,
                               const char *directives) {
  FILE *file = fopen(path, "w");
  if (file == NULL)
    fail_msg("cannot write %s: %s", path, strerror(errno));
  const char *d = nginx->dir;
  fprintf(file,
          "daemon off;\nmaster_process off;\nworker_processes 1;\n"
          "pid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
          "events { worker_connections 1024; }\n"
          "http {\n  access_log off;\n"
          "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
          "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
          "  keepalive_requests 100000;\n"
          "  server {\n    listen 127.0.0.1:%d ssl http2;\n"
          "    ssl_certificate %s/cert.pem;\n    ssl_certificate_key %s/key.pem;\n    %s\n"
          "    location / { return 200 \"ok\\n\"; }\n  }\n"
          "  server {\n    listen 127.0.0.1:%d;\n    location = /status { stub_status; }\n  }\n"
          "}\n",
          d, d, d, d, d, d, d, nginx->https_port, d, d, directives, nginx->status_port);
  fclose(file);
}

struct h_nginx *h_private_nginx(void) { return h_private_nginx_with(""); }

struct h_nginx *h_private_nginx_with(const char *directives) {
  const char *bin = env_or("NGINX_BIN", "/usr/sbin/nginx");
  if (access(bin, X_OK) != 0) {
    fprintf(stderr, "harness: %s is not installed (Debian: nginx-light); skipping\n", bin);
    skip();
  }
  struct h_nginx *nginx = track(T_NGINX, xrealloc(NULL, sizeof(struct h_nginx)));
  *nginx = (struct h_nginx){0};
  snprintf(nginx->dir, sizeof nginx->dir, "%s/afetch-nginx-XXXXXX", tmp_dir());
  if (mkdtemp(nginx->dir) == NULL) {
    nginx->dir[0] = '\0';
    fail_msg("mkdtemp: %s", strerror(errno));
  }
  char script[512], config[128], tmp[128];
  snprintf(script, sizeof script, "%s/tls/gen-cert.sh", env_or("AFETCH_TESTS_DIR", "tests"));
  const char *gen[] = {"/bin/sh", script, nginx->dir, NULL};
  if (run_quietly(gen, 60000) != 0)
    fail_msg("cannot make a certificate for nginx");
  snprintf(tmp, sizeof tmp, "%s/tmp", nginx->dir);
  mkdir(tmp, 0700);
  nginx->https_port = h_unused_port();
  nginx->status_port = h_unused_port();
  snprintf(config, sizeof config, "%s/nginx.conf", nginx->dir);
  nginx_write_config(nginx, config, h_fmt(directives, nginx->dir));
  const char *argv[] = {bin, "-p", nginx->dir, "-c", config, NULL};
  nginx->proc = spawn(argv, true);
  if (nginx->proc == NULL)
    fail_msg("cannot start %s", bin);
  /* Ready when its status port answers. */
  double deadline = h_now() + 10.0;
  for (;;) {
    char *body = NULL;
    int got = http_get(nginx->status_port, "/status", &body);
    free(body);
    if (got == 0)
      return nginx;
    if (reap(nginx->proc, 0))
      fail_msg("%s exited at start (%s); see %s/error.log", nginx->proc->cmdline,
               describe_end(nginx->proc), nginx->dir);
    if (h_now() >= deadline)
      fail_msg("%s did not answer on port %d within 10 s", nginx->proc->cmdline,
               nginx->status_port);
    nap_ms(10);
  }
}

long h_nginx_connections(const struct h_nginx *nginx) {
  char *body = h_http_get(nginx->status_port, "/status");
  /* "Active connections: 1 \nserver accepts handled requests\n 12 12 40 \n..." */
  const char *numbers = strstr(body, "requests\n");
  long accepts = -1;
  if (numbers == NULL || sscanf(numbers + strlen("requests\n"), "%ld", &accepts) != 1)
    fail_msg("nginx stub_status not understood: %s", body);
  return accepts - 1; /* this query's own connection */
}

/* GET over a plain socket; returns 0 with the body in *body (malloc'd), or -1 with *body a
 * malloc'd message. */
static int http_get(int port, const char *path, char **body) {
  struct h_buf buf = {0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    *body = xstrdup("socket failed");
    return -1;
  }
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    *body = xstrdup(strerror(errno));
    return -1;
  }
  char request[256];
  int n =
      snprintf(request, sizeof request,
               "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
  if (send(fd, request, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    *body = xstrdup("send failed");
    return -1;
  }
  buf_add(&buf, "", 0);
  for (;;) {
    char chunk[4096];
    ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      close(fd);
      free(buf.data);
      *body = xstrdup("recv failed or timed out");
      return -1;
    }
    if (got == 0)
      break;
    buf_add(&buf, chunk, (size_t)got);
  }
  close(fd);
  char *end = strstr(buf.data, "\r\n\r\n");
  if (strncmp(buf.data, "HTTP/1.", 7) != 0 || end == NULL || strncmp(buf.data + 8, " 200", 4)) {
    *body = xstrdup(buf.data);
    free(buf.data);
    return -1;
  }
  *body = xstrdup(end + 4);
  free(buf.data);
  return 0;
}

char *h_http_get(int port, const char *path) {
  char *body;
  if (http_get(port, path, &body) != 0) {
    track(T_MEM, body);
    fail_msg("GET %s from the test server failed: %s", path, body);
  }
  return track(T_MEM, body);
}

static long stat_field(const cJSON *json, const char *key, const char *text) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, key);
  if (!cJSON_IsNumber(item))
    fail_msg("test server /stats has no number \"%s\": %s", key, text);
  return (long)item->valuedouble;
}

struct h_stats h_stats(int port) {
  char *body = h_http_get(port, "/stats");
  cJSON *json = track(T_JSON, cJSON_Parse(body));
  if (json == NULL)
    fail_msg("test server /stats is not JSON: %s", body);
  return (struct h_stats){
      .in_flight = stat_field(json, "in_flight", body),
      .max_in_flight = stat_field(json, "max_in_flight", body),
      .requests = stat_field(json, "requests", body),
      .connections = stat_field(json, "connections", body),
      .not_modified = stat_field(json, "not_modified", body),
      .robots = stat_field(json, "robots", body),
  };
}

void h_reset(int port) { h_http_get(port, "/reset"); }

void h_set_robots(int port, const char *kind) { h_http_get(port, h_fmt("/setrobots/%s", kind)); }

cJSON *h_arrivals(int port) {
  char *body = h_http_get(port, "/arrivals");
  cJSON *json = track(T_JSON, cJSON_Parse(body));
  const cJSON *dropped = cJSON_GetObjectItemCaseSensitive(json, "dropped");
  cJSON *arrivals = cJSON_GetObjectItemCaseSensitive(json, "arrivals");
  if (!cJSON_IsNumber(dropped) || !cJSON_IsArray(arrivals))
    fail_msg("test server /arrivals should be {\"dropped\":N,\"arrivals\":[...]}, got: %.300s",
             body);
  if (dropped->valuedouble != 0)
    fail_msg("test server /arrivals dropped %.0f entries (its log is full): /reset it first",
             dropped->valuedouble);
  return arrivals;
}

struct h_stats h_wait_stats(int port, long in_flight, long requests, int timeout_ms,
                            bool *reached) {
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    /* Plain (untracked) GET: this loop may run hundreds of times. */
    char *body;
    struct h_stats stats = {-1, -1, -1, -1, -1, -1};
    if (http_get(port, "/stats", &body) == 0) {
      cJSON *json = cJSON_Parse(body);
      const cJSON *a = cJSON_GetObjectItemCaseSensitive(json, "in_flight");
      const cJSON *b = cJSON_GetObjectItemCaseSensitive(json, "max_in_flight");
      const cJSON *c = cJSON_GetObjectItemCaseSensitive(json, "requests");
      const cJSON *d = cJSON_GetObjectItemCaseSensitive(json, "connections");
      const cJSON *e = cJSON_GetObjectItemCaseSensitive(json, "not_modified");
      const cJSON *f = cJSON_GetObjectItemCaseSensitive(json, "robots");
      if (cJSON_IsNumber(a) && cJSON_IsNumber(b) && cJSON_IsNumber(c) && cJSON_IsNumber(d) &&
          cJSON_IsNumber(e) && cJSON_IsNumber(f))
        stats = (struct h_stats){(long)a->valuedouble, (long)b->valuedouble, (long)c->valuedouble,
                                 (long)d->valuedouble, (long)e->valuedouble, (long)f->valuedouble};
      cJSON_Delete(json);
    }
    free(body);
    if ((in_flight < 0 || stats.in_flight == in_flight) &&
        (requests < 0 || stats.requests == requests) && stats.in_flight >= 0) {
      *reached = true;
      return stats;
    }
    if (h_now() >= deadline) {
      *reached = false;
      return stats;
    }
    nap_ms(10);
  }
}

/* The listener child's loop: answers each connection once its request head is in, or holds
 * every connection open unanswered when reply is NULL. Never returns. */
static void raw_listener_serve(int listener, const char *reply) {
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0 || reply == NULL)
      continue; /* held: the descriptor stays open until the child is killed */
    char head[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof head - 1 && (n = read(fd, head + got, sizeof head - 1 - got)) > 0) {
      got += (size_t)n;
      head[got] = '\0';
      if (strstr(head, "\r\n\r\n") != NULL)
        break;
    }
    for (size_t sent = 0, length = strlen(reply); sent < length;) {
      n = write(fd, reply + sent, length - sent);
      if (n <= 0)
        break;
      sent += (size_t)n;
    }
    close(fd);
  }
}

int h_raw_listener(const char *reply) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(fd, 64) != 0 || getsockname(fd, (struct sockaddr *)&address, &length) != 0)
    fail_msg("raw listener: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
    signal(SIGPIPE, SIG_IGN);
    raw_listener_serve(fd, reply);
  }
  close(fd);
  /* Listening already: connections wait in the backlog until the child accepts them. */
  struct h_proc *proc = xrealloc(NULL, sizeof *proc);
  *proc = (struct h_proc){.pid = pid, .in_fd = -1, .out_fd = -1, .err_fd = -1};
  proc->cmdline = xstrdup("raw listener");
  track(T_PROC, proc);
  return ntohs(address.sin_port);
}

int h_unused_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    fail_msg("socket: %s", strerror(errno));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
    close(fd);
    fail_msg("bind/getsockname: %s", strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

/* ---- a terminal: tmux ---- */

struct h_tmux {
  char socket[192]; /* tmux -S SOCKET: a server of the test's own, in its temp dir */
  bool started;     /* new-session ran: kill-server in tmux_stop() */
};

/* Runs `tmux -S SOCKET` with the arguments after it (NULL-terminated); not tracked. */
static struct h_proc *tmux_run(const struct h_tmux *tmux, const char *const *args) {
  const char *argv[24] = {env_or("TMUX_BIN", "tmux"), "-S", tmux->socket};
  size_t n = 3;
  for (size_t i = 0; args[i] != NULL; i++) {
    if (n + 1 >= sizeof argv / sizeof argv[0])
      fail_msg("harness: too many tmux arguments");
    argv[n++] = args[i];
  }
  argv[n] = NULL;
  return run_program(argv, 10000);
}

static void tmux_stop(struct h_tmux *tmux) {
  if (!tmux->started)
    return;
  /* Ends the server and every process in its panes (SIGHUP). */
  const char *args[] = {"kill-server", NULL};
  proc_free(tmux_run(tmux, args));
  tmux->started = false;
}

char *h_shell_quote(const char *text) {
  struct h_buf *quoted = h_text();
  buf_add(quoted, "'", 1);
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '\'')
      buf_add(quoted, "'\\''", 4);
    else
      buf_add(quoted, p, 1);
  }
  buf_add(quoted, "'", 1);
  return quoted->data;
}

const char *h_afetch_shell_command(const char *const *args) {
  struct h_buf *command = h_text();
  h_text_add(command, "%s", h_shell_quote(env_or("AFETCH_BIN", "./afetch")));
  const char *mode = getenv("AFETCH_TEST_ARGS");
  if (mode != NULL && *mode != '\0')
    h_text_add(command, " %s", h_shell_quote(mode));
  for (size_t i = 0; args[i] != NULL; i++)
    h_text_add(command, " %s", h_shell_quote(args[i]));
  return command->data;
}

struct h_tmux *h_tmux_start(const char *command, int columns, int rows) {
  const char *dir = h_temp_dir();
  struct h_tmux *tmux = track(T_TMUX, xrealloc(NULL, sizeof *tmux));
  *tmux = (struct h_tmux){0};
  if ((size_t)snprintf(tmux->socket, sizeof tmux->socket, "%s/tmux.sock", dir) >=
      sizeof tmux->socket)
    fail_msg("harness: the temp dir %s is too long for a tmux socket path", dir);
  /* No user configuration; sh runs the command; no status line (the pane is the window).
   * remain-on-exit stays off: tmux 3.3 scrolls a dead pane's text to show "Pane is dead". */
  const char *config = "set -g default-shell /bin/sh\nset -g status off\n";
  const char *config_path = h_fmt("%s/tmux.conf", dir);
  FILE *file = fopen(config_path, "w");
  if (file == NULL || fputs(config, file) == EOF || fclose(file) != 0)
    fail_msg("harness: cannot write %s: %s", config_path, strerror(errno));
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL)
    fail_msg("harness: getcwd: %s", strerror(errno));
  /* A tmux inside tmux would otherwise talk to the outer one's server about nesting. */
  unsetenv("TMUX");
  const char *columns_text = h_fmt("%d", columns), *rows_text = h_fmt("%d", rows);
  const char *args[] = {"-f",         config_path, "new-session", "-d", "-s", "afetch", "-x",
                        columns_text, "-y",        rows_text,     "-c", cwd,  command,  NULL};
  tmux->started = true; /* from here on a server may exist: teardown kills it */
  struct h_proc *proc = tmux_run(tmux, args);
  if (proc == NULL)
    fail_msg("harness: cannot start tmux: the terminal tests need it (Debian package tmux, "
             "installed by .ci/install-deps.sh)");
  if (!proc->exited || proc->exit_code != 0) {
    const char *why = h_fmt("%s: %s; output: %s%s", proc->cmdline, describe_end(proc),
                            proc->out.data, proc->err.data);
    proc_free(proc);
    fail_msg("harness: cannot start a tmux session (%s); the terminal tests need tmux (Debian "
             "package tmux, installed by .ci/install-deps.sh)",
             why);
  }
  proc_free(proc);
  return tmux;
}

/* The pane's screen (malloc'd), or NULL with *error (tracked) saying why. */
static char *tmux_capture(const struct h_tmux *tmux, const char **error) {
  const char *args[] = {"capture-pane", "-p", "-t", "afetch", NULL};
  struct h_proc *proc = tmux_run(tmux, args);
  if (proc == NULL) {
    *error = "cannot run tmux";
    return NULL;
  }
  char *screen = NULL;
  if (proc->exited && proc->exit_code == 0)
    screen = xstrdup(proc->out.data);
  else
    *error = h_fmt("%s: %s; stderr: %s", proc->cmdline, describe_end(proc), proc->err.data);
  proc_free(proc);
  return screen;
}

const char *h_tmux_screen(struct h_tmux *tmux) {
  const char *error;
  char *screen = tmux_capture(tmux, &error);
  if (screen == NULL)
    fail_msg("harness: cannot read the tmux pane: %s", error);
  return track(T_MEM, screen);
}

const char *h_tmux_wait(struct h_tmux *tmux, const char *const *needles, int timeout_ms,
                        bool *found) {
  double deadline = h_now() + timeout_ms / 1000.0;
  for (;;) {
    const char *error;
    char *screen = tmux_capture(tmux, &error);
    if (screen == NULL)
      fail_msg("harness: cannot read the tmux pane: %s", error);
    bool all = true;
    for (size_t i = 0; needles[i] != NULL; i++)
      all = all && strstr(screen, needles[i]) != NULL;
    if (all || h_now() >= deadline) {
      *found = all;
      return track(T_MEM, screen);
    }
    free(screen);
    nap_ms(50);
  }
}

void h_tmux_resize(struct h_tmux *tmux, int columns, int rows) {
  const char *columns_text = h_fmt("%d", columns), *rows_text = h_fmt("%d", rows);
  const char *args[] = {"resize-window", "-t", "afetch", "-x", columns_text, "-y", rows_text, NULL};
  struct h_proc *proc = tmux_run(tmux, args);
  if (proc == NULL)
    fail_msg("harness: cannot run tmux resize-window");
  if (!proc->exited || proc->exit_code != 0) {
    const char *why = h_fmt("%s: %s; output: %s%s", proc->cmdline, describe_end(proc),
                            proc->out.data, proc->err.data);
    proc_free(proc);
    fail_msg("harness: cannot resize the tmux window (%s)", why);
  }
  proc_free(proc);
}

/* ---- JSON ---- */

cJSON *h_parse_json(const char *text) {
  const char *end = NULL;
  cJSON *json = cJSON_ParseWithOpts(text, &end, true);
  if (json == NULL) {
    size_t off = end ? (size_t)(end - text) : 0;
    fail_msg("output is not one valid JSON document (error at byte %zu of %zu, near \"%.80s\"); "
             "output starts: %.300s",
             off, strlen(text), end ? end : "", text);
  }
  return track(T_JSON, json);
}

cJSON *h_parse_ndjson(const char *text) {
  cJSON *array = track(T_JSON, cJSON_CreateArray());
  size_t len = strlen(text);
  if (len > 0 && text[len - 1] != '\n')
    fail_msg("ndjson output does not end with a newline: ...%s",
             text + (len > 200 ? len - 200 : 0));
  const char *line = text;
  size_t number = 0;
  while (*line != '\0') {
    const char *nl = strchr(line, '\n');
    size_t n = (size_t)(nl - line);
    char *copy = xrealloc(NULL, n + 1);
    memcpy(copy, line, n);
    copy[n] = '\0';
    number++;
    cJSON *object = cJSON_ParseWithOpts(copy, NULL, true);
    if (!cJSON_IsObject(object)) {
      cJSON_Delete(object);
      track(T_MEM, copy);
      fail_msg("ndjson line %zu is not one JSON object: %.300s", number, copy);
    }
    free(copy);
    cJSON_AddItemToArray(array, object);
    line = nl + 1;
  }
  return array;
}

const cJSON *h_field(const cJSON *object, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (item == NULL) {
    char *text = track(T_MEM, cJSON_PrintUnformatted(object));
    fail_msg("key \"%s\" missing in %.500s", key, text);
  }
  return item;
}

static void type_failure(const cJSON *object, const char *key, const char *wanted) {
  char *text = track(T_MEM, cJSON_PrintUnformatted(object));
  fail_msg("\"%s\" should be %s in %.500s", key, wanted, text);
}

bool h_ok(const cJSON *result) {
  const cJSON *item = h_field(result, "ok");
  if (!cJSON_IsBool(item))
    type_failure(result, "ok", "a boolean");
  return cJSON_IsTrue(item);
}

long h_status(const cJSON *result) {
  const cJSON *item = h_field(result, "status");
  if (cJSON_IsNull(item))
    return -1;
  if (!cJSON_IsNumber(item))
    type_failure(result, "status", "a number or null");
  return (long)item->valuedouble;
}

const char *h_string(const cJSON *object, const char *key) {
  const cJSON *item = h_field(object, key);
  if (cJSON_IsNull(item))
    return NULL;
  if (!cJSON_IsString(item))
    type_failure(object, key, "a string or null");
  return item->valuestring;
}

double h_number(const cJSON *object, const char *key) {
  const cJSON *item = h_field(object, key);
  if (!cJSON_IsNumber(item))
    type_failure(object, key, "a number");
  return item->valuedouble;
}

const char *h_error_code(const cJSON *result) {
  const cJSON *error = h_field(result, "error");
  if (cJSON_IsNull(error))
    return NULL;
  if (!cJSON_IsObject(error))
    type_failure(result, "error", "null or an object");
  const char *code = h_string(error, "code");
  if (code == NULL)
    type_failure(result, "error.code", "a string");
  return code;
}

static const char *const error_codes[] = {
    "invalid_url", "dns",   "connect",   "tls",      "timeout", "http",   "too_many_redirects",
    "too_large",   "write", "cancelled", "deadline", "other",   "robots", "invalid_input",
};

/* Every contract key, with the right type; ok <=> error is null. */
static void check_shape(const cJSON *r) {
  if (!cJSON_IsObject(r))
    fail_msg("a result is not a JSON object");
  double index = h_number(r, "index");
  if (index < 0 || index != (double)(long)index)
    type_failure(r, "index", "a non-negative integer");
  const char *url = h_string(r, "url");
  h_string(r, "final_url");
  bool ok = h_ok(r);
  h_status(r);
  const char *code = h_error_code(r);
  /* Only a JSON-lines input line without a usable "url" has none. */
  if (url == NULL && (code == NULL || strcmp(code, "invalid_input") != 0))
    type_failure(r, "url", "a string (null only with error \"invalid_input\")");
  if (ok != (code == NULL))
    type_failure(r, "error", ok ? "null when ok is true" : "an object when ok is false");
  if (code != NULL) {
    bool known = false;
    for (size_t i = 0; i < sizeof error_codes / sizeof error_codes[0]; i++)
      known = known || strcmp(code, error_codes[i]) == 0;
    if (!known)
      type_failure(r, "error.code", "one of the contract's codes");
    const cJSON *error = h_field(r, "error");
    if (h_string(error, "message") == NULL)
      type_failure(r, "error.message", "a string");
    const cJSON *curl_code = h_field(error, "curl_code");
    if (!cJSON_IsNumber(curl_code) && !cJSON_IsNull(curl_code))
      type_failure(r, "error.curl_code", "a number or null");
  }
  h_string(r, "http_version");
  h_string(r, "remote_ip");
  if (h_number(r, "redirects") < 0)
    type_failure(r, "redirects", "a non-negative number");
  if (h_number(r, "attempts") < 0)
    type_failure(r, "attempts", "a non-negative number");
  h_string(r, "content_type");
  if (h_number(r, "size") < 0)
    type_failure(r, "size", "a non-negative number");
  const cJSON *time = h_field(r, "time");
  if (!cJSON_IsObject(time))
    type_failure(r, "time", "an object");
  static const char *const timers[] = {"dns", "connect", "tls", "ttfb", "total"};
  for (size_t i = 0; i < 5; i++)
    if (h_number(time, timers[i]) < 0)
      type_failure(r, "time.*", "non-negative numbers");
}

void h_check_results(const cJSON *results, size_t n) {
  if (!cJSON_IsArray(results))
    fail_msg("the output is not a JSON array");
  size_t size = (size_t)cJSON_GetArraySize(results);
  if (size != n)
    fail_msg("expected %zu results, got %zu", n, size);
  unsigned char *seen = track(T_MEM, xrealloc(NULL, n ? n : 1));
  memset(seen, 0, n ? n : 1);
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    check_shape(r);
    double index = h_number(r, "index");
    if (index >= (double)n)
      fail_msg("result index %.0f is out of range 0..%zu", index, n - 1);
    if (seen[(size_t)index]++)
      fail_msg("result index %.0f appears more than once", index);
  }
}

void h_check_results_with_gaps(const cJSON *results, size_t n) {
  if (!cJSON_IsArray(results))
    fail_msg("the output is not a JSON array");
  size_t size = (size_t)cJSON_GetArraySize(results);
  if (size != n)
    fail_msg("expected %zu results, got %zu", n, size);
  double previous = -1;
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    check_shape(r);
    double index = h_number(r, "index");
    if (index <= previous)
      fail_msg("result index %.0f follows index %.0f: gather output must be in index order", index,
               previous);
    previous = index;
  }
}

const cJSON *h_result(const cJSON *results, long index) {
  const cJSON *r;
  cJSON_ArrayForEach(r, results) {
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(r, "index");
    if (cJSON_IsNumber(i) && (long)i->valuedouble == index)
      return r;
  }
  fail_msg("no result with index %ld", index);
  return NULL;
}

cJSON *h_gather_output(const struct h_proc *proc) {
  cJSON *json = h_parse_json(proc->out.data);
  if (!cJSON_IsArray(json))
    fail_msg("%s: output is JSON but not an array: %.300s", proc->cmdline, proc->out.data);
  return json;
}
