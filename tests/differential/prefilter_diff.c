/* The differential proof of html_prefilter.h: for each HTML file (named, or found under a
 * named directory), the links and requisites found with the filter in front of libxml2 must
 * be the ones found by libxml2 alone, in the same order, fed in pieces of 1, 7, 4096 and
 * 65536 bytes, whole, and in pieces of random sizes; and the filter's output must not depend
 * on where its input was cut.
 *
 *   prefilter_diff [--seed N] [--max-single SIZE] PATH...
 *
 * Pieces of 1 byte are tried on files up to SIZE bytes (default: all): libxml2 alone is slow
 * fed a byte at a time. Prints one line per difference and a summary; exits 1 on any. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afetch/html_prefilter.h"
#include "afetch/links.h"

struct found {
  char *text; /* "via url\n" per link ("a" for links), in order */
  size_t length, capacity;
};

static void found_add(struct found *found, const char *via, const char *url) {
  size_t needed = found->length + strlen(via) + strlen(url) + 3;
  if (needed > found->capacity) {
    size_t capacity = found->capacity ? found->capacity : 4096;
    while (capacity < needed)
      capacity *= 2;
    found->text = realloc(found->text, capacity);
    if (!found->text) {
      perror("prefilter_diff");
      exit(2);
    }
    found->capacity = capacity;
  }
  found->length += (size_t)sprintf(found->text + found->length, "%s %s\n", via, url);
}

static void on_link(void *arg, const char *url) { found_add(arg, "link", url); }

static void on_requisite(void *arg, const char *url, const char *via) { found_add(arg, via, url); }

static unsigned long files, runs, differences, links_total, files_passed_through;
static unsigned long long bytes_in, bytes_out;

static uint64_t random_state = 0x9e3779b97f4a7c15u;

static size_t random_below(size_t bound) {
  random_state ^= random_state << 13;
  random_state ^= random_state >> 7;
  random_state ^= random_state << 17;
  return (size_t)(random_state % bound);
}

/* piece 0: random sizes (1 to 8192); SIZE_MAX: whole. */
static size_t piece_size(size_t piece) { return piece == 0 ? 1 + random_below(8192) : piece; }

static void extract(const char *page, size_t length, size_t piece, bool filtered,
                    struct found *found) {
  found->length = 0;
  struct link_extractor *extractor =
      link_extractor_new("http://127.0.0.1/doc/dir/page.html", on_link, found);
  if (!extractor) {
    perror("prefilter_diff");
    exit(2);
  }
  link_extractor_use_prefilter(extractor, filtered);
  link_extractor_find_requisites(extractor, on_requisite);
  for (size_t done = 0; done < length;) {
    size_t size = piece_size(piece);
    size = size > length - done ? length - done : size;
    link_extractor_feed(extractor, page + done, size);
    done += size;
  }
  link_extractor_finish(extractor);
  link_extractor_free(extractor);
}

/* The filter's whole output, fed in pieces of `piece` bytes. */
static void filter_all(const char *page, size_t length, size_t piece, struct found *out) {
  struct html_prefilter filter;
  if (!html_prefilter_init(&filter)) {
    perror("prefilter_diff");
    exit(2);
  }
  out->length = 0;
  const char *bytes;
  for (size_t done = 0; done <= length;) {
    size_t got;
    if (done == length) {
      if (piece == SIZE_MAX)
        files_passed_through += html_prefilter_passes_through(&filter);
      got = html_prefilter_finish(&filter, &bytes);
      done++;
    } else {
      size_t size = piece_size(piece);
      size = size > length - done ? length - done : size;
      got = html_prefilter_feed(&filter, page + done, size, &bytes);
      done += size;
    }
    if (out->length + got + 1 > out->capacity) {
      out->capacity = (out->length + got + 1) * 2;
      out->text = realloc(out->text, out->capacity);
      if (!out->text) {
        perror("prefilter_diff");
        exit(2);
      }
    }
    memcpy(out->text + out->length, bytes, got);
    out->length += got;
  }
  if (piece == SIZE_MAX) {
    bytes_in += length;
    bytes_out += out->length;
  }
  html_prefilter_free(&filter);
}

static bool found_equal(const struct found *a, const struct found *b) {
  return a->length == b->length && memcmp(a->text, b->text, a->length) == 0;
}

static size_t max_single = SIZE_MAX;
static struct found plain, filtered, whole_output, piece_output;

static char *read_all(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  size_t capacity = 1 << 16, used = 0;
  char *data = malloc(capacity);
  for (size_t got; data && (got = fread(data + used, 1, capacity - used, file)) > 0;) {
    used += got;
    if (used == capacity) {
      char *grown = realloc(data, capacity *= 2);
      if (!grown)
        free(data);
      data = grown;
    }
  }
  fclose(file);
  *length = used;
  return data;
}

/* Reports the first line where two lists differ. */
static void report(const char *path, const char *what, const struct found *a,
                   const struct found *b) {
  size_t at = 0;
  while (at < a->length && at < b->length && a->text[at] == b->text[at])
    at++;
  while (at > 0 && a->text[at - 1] != '\n')
    at--;
  fprintf(stderr, "DIFFERENT %s %s: plain \"%.120s\" filtered \"%.120s\"\n", path, what,
          a->text + at, b->text + at);
  differences++;
}

static void check_file(const char *path) {
  static const size_t pieces[] = {SIZE_MAX, 65536, 4096, 7, 1, 0};
  static const char *const names[] = {"whole", "65536", "4096", "7", "1", "random"};
  size_t length;
  char *page = read_all(path, &length);
  if (!page) {
    fprintf(stderr, "prefilter_diff: cannot read %s\n", path);
    differences++;
    return;
  }
  files++;
  filter_all(page, length, SIZE_MAX, &whole_output);
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
    if (pieces[i] == 1 && length > max_single)
      continue;
    uint64_t state = random_state;
    extract(page, length, pieces[i], false, &plain);
    random_state = state; /* the same random pieces for both */
    extract(page, length, pieces[i], true, &filtered);
    runs++;
    if (!found_equal(&plain, &filtered))
      report(path, names[i], &plain, &filtered);
    if (i == 0)
      for (const char *p = plain.text; p && p < plain.text + plain.length; p++)
        links_total += *p == '\n';
    if (i == 0)
      continue;
    filter_all(page, length, pieces[i], &piece_output);
    if (!found_equal(&whole_output, &piece_output)) {
      fprintf(stderr, "DIFFERENT %s: the filter's output fed in pieces of %s\n", path, names[i]);
      differences++;
    }
  }
  free(page);
}

static int visit(const char *path, const struct stat *info, int type, struct FTW *where) {
  (void)info;
  (void)where;
  size_t length = strlen(path);
  if (type == FTW_F && ((length > 5 && strcmp(path + length - 5, ".html") == 0) ||
                        (length > 4 && strcmp(path + length - 4, ".htm") == 0)))
    check_file(path);
  return 0;
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (strcmp(argv[i], "--seed") == 0)
      random_state = strtoull(argv[i + 1], NULL, 10) | 1;
    else if (strcmp(argv[i], "--max-single") == 0)
      max_single = strtoull(argv[i + 1], NULL, 10);
    else
      break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: prefilter_diff [--seed N] [--max-single SIZE] PATH...\n");
    return 2;
  }
  for (; i < argc; i++) {
    struct stat info;
    if (stat(argv[i], &info) == 0 && S_ISDIR(info.st_mode))
      nftw(argv[i], visit, 16, 0);
    else
      check_file(argv[i]);
  }
  printf("prefilter_diff: %lu files, %lu runs of each path, %lu links and requisites in all "
         "fed whole, the filter kept %llu of %llu bytes, %lu files passed through from some "
         "point; %lu differences\n",
         files, runs, links_total, bytes_out, bytes_in, files_passed_through, differences);
  free(plain.text);
  free(filtered.text);
  free(whole_output.text);
  free(piece_output.text);
  return differences ? 1 : 0;
}
