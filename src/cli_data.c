/* -d DATA: the values joined with '&' as curl does, -d @FILE read once the inputs are known. */
#include "afetch/cli_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLI_MAX_DATA_FILE_BYTES (64 << 20) /* -d @FILE: bytes read at most */

/* Reads -d @FILE as curl does: the bytes with carriage returns and newlines removed, at most
 * CLI_MAX_DATA_FILE_BYTES of them (else errno EFBIG: /dev/zero must not take all memory).
 * Returns a new string (caller frees) or NULL with errno set. */
static char *cli_read_data(FILE *file, size_t *length) {
  size_t capacity = 4096, used = 0, read = 0;
  char *data = malloc(capacity);
  int c, failure = 0;
  while (data && (c = getc(file)) != EOF) {
    if (++read > CLI_MAX_DATA_FILE_BYTES) {
      failure = EFBIG;
      break;
    }
    if (c == '\r' || c == '\n')
      continue;
    if (used + 1 >= capacity) {
      char *grown = realloc(data, capacity *= 2);
      if (!grown) {
        failure = ENOMEM;
        break;
      }
      data = grown;
    }
    data[used++] = (char)c;
  }
  if (!data)
    failure = ENOMEM;
  else if (!failure && ferror(file))
    failure = errno ? errno : EIO;
  if (failure) {
    free(data);
    errno = failure;
    return NULL;
  }
  data[used] = '\0';
  *length = used;
  return data;
}

/* True when `path` names the same file as descriptor `fd` (device and inode): /dev/stdin,
 * /proc/self/fd/0, or the file or FIFO standard input was redirected from. */
static bool cli_same_file(const char *path, int fd) {
  struct stat by_path, by_fd;
  return stat(path, &by_path) == 0 && fstat(fd, &by_fd) == 0 && by_path.st_dev == by_fd.st_dev &&
         by_path.st_ino == by_fd.st_ino;
}

/* True when URLs are read from standard input: a "-" (or no input named), or a FILE that is
 * standard input under another name. */
static bool cli_urls_on_stdin(const struct afetch_options *options) {
  for (size_t i = 0; i < options->input_count; i++) {
    const struct afetch_input *input = &options->inputs[i];
    if (input->kind == AFETCH_INPUT_STDIN ||
        (input->kind == AFETCH_INPUT_FILE && cli_same_file(input->value, STDIN_FILENO)))
      return true;
  }
  return false;
}

/* Appends one -d value, joined to earlier ones with '&' as curl does. @- reads standard
 * input, refused (like any name for it) when standard input carries the URLs: reading it
 * for the data would leave no URLs. */
bool cli_add_data(struct afetch_options *options, const char *value, FILE *err) {
  char *loaded = NULL;
  size_t length = strlen(value);
  if (value[0] == '@') {
    const char *path = value + 1;
    bool from_stdin = strcmp(path, "-") == 0;
    if ((from_stdin || cli_same_file(path, STDIN_FILENO)) && cli_urls_on_stdin(options)) {
      fprintf(err,
              "afetch: -d %s would read standard input, which carries the URLs; give the URLs "
              "as FILE operands, or the data in a file\n",
              value);
      return false;
    }
    FILE *file = from_stdin ? stdin : fopen(path, "rb");
    if (file) {
      loaded = cli_read_data(file, &length);
      int read_errno = errno;
      if (!from_stdin)
        fclose(file);
      errno = read_errno;
    }
    if (!loaded && errno == EFBIG) {
      fprintf(err, "afetch: data file '%s' is larger than %d MiB, the most -d @FILE reads\n",
              from_stdin ? "standard input" : path, CLI_MAX_DATA_FILE_BYTES >> 20);
      return false;
    }
    if (!loaded) {
      fprintf(err, "afetch: cannot read data file '%s': %s\n", from_stdin ? "standard input" : path,
              strerror(errno));
      return false;
    }
    value = loaded;
  }
  size_t old = options->data ? options->data_length + 1 : 0;
  char *joined = realloc(options->data, old + length + 1);
  if (!joined) {
    free(loaded);
    fprintf(err, "afetch: out of memory\n");
    return false;
  }
  if (old)
    joined[old - 1] = '&';
  memcpy(joined + old, value, length);
  joined[old + length] = '\0';
  options->data = joined;
  options->data_length = old + length;
  free(loaded);
  return true;
}
