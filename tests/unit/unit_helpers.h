/* Small helpers shared by the unit tests: temp files, reading a descriptor back, a strict
 * UTF-8 validator, and one bounded event-loop pass. */
#ifndef AFETCH_UNIT_HELPERS_H
#define AFETCH_UNIT_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define HELPER_PATH_SIZE 64

/* How many elements an array (not a pointer) has. */
#define HELPER_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* A function's argument pair (array, count) from a list of values of `type`, as in
 * expect(f, HELPER_LIST(const int, 1, 2, 3)). */
#define HELPER_LIST(type, ...) (type[]){__VA_ARGS__}, HELPER_COUNT(((type[]){__VA_ARGS__}))

/* Writes `length` bytes into a new temp file; its name goes to `path`. */
static inline void helper_temp_file(const void *content, size_t length,
                                    char path[HELPER_PATH_SIZE]) {
  snprintf(path, HELPER_PATH_SIZE, "/tmp/afetch-unit-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *bytes = content;
  size_t done = 0;
  while (done < length) {
    ssize_t n = write(fd, bytes + done, length - done);
    assert_true(n > 0);
    done += (size_t)n;
  }
  assert_int_equal(close(fd), 0);
}

/* An empty temp file, opened read/write and already unlinked: the caller closes it. */
static inline int helper_anonymous_file(void) {
  char path[HELPER_PATH_SIZE];
  snprintf(path, sizeof path, "/tmp/afetch-unit-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(unlink(path), 0);
  return fd;
}

/* The whole content of a regular file, read from offset 0 without moving the file offset.
 * NUL-terminated; the caller frees it. */
static inline char *helper_file_content(int fd, size_t *length_out) {
  size_t capacity = 4096, length = 0;
  char *buffer = malloc(capacity);
  assert_non_null(buffer);
  for (;;) {
    if (capacity - length < 4096) {
      capacity *= 2;
      buffer = realloc(buffer, capacity);
      assert_non_null(buffer);
    }
    ssize_t n = pread(fd, buffer + length, capacity - length - 1, (off_t)length);
    assert_true(n >= 0);
    if (n == 0)
      break;
    length += (size_t)n;
  }
  buffer[length] = '\0';
  if (length_out)
    *length_out = length;
  return buffer;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static inline bool helper_utf8_valid(const char *text, size_t length) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (i < length) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (length - i <= need)
      return false;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += need + 1;
  }
  return true;
}

/* The pid of a child that has exited and been reaped: no process has it (until the kernel
 * hands it out again, which takes a wrap-around of the pid space). */
static inline pid_t helper_dead_pid(void) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(0);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  return pid;
}

static inline void helper_timeout_cb(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  *(bool *)arg = true;
}

/* One blocking pass of the loop (EVLOOP_ONCE), but never longer than `ms`: returns true when
 * the time limit, not some other event, ended it. */
static inline bool helper_loop_once(struct event_base *base, long ms) {
  bool timed_out = false;
  struct event *timer = evtimer_new(base, helper_timeout_cb, &timed_out);
  assert_non_null(timer);
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  assert_int_equal(evtimer_add(timer, &tv), 0);
  assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
  event_free(timer);
  return timed_out;
}

#endif
