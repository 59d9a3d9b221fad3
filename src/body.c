/* A response body's bytes: count, limit, digest, capture, file. */
#include "afetch/body.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "afetch/css_links.h"
#include "afetch/options.h"
#include "afetch/url.h"

/* -o: bodies announced smaller than this are not kept to be resumed (body_open_file). */
#define BODY_RESUME_MIN_BYTES (1024 * 1024)

bool body_init(struct body *body, const struct afetch_options *options, link_found_fn on_link,
               requisite_found_fn on_requisite, void *on_link_arg) {
  *body = (struct body){.options = options,
                        .on_link = on_link,
                        .on_requisite = on_requisite,
                        .on_link_arg = on_link_arg};
  download_init(&body->download);
  if (options->sha256 && !(body->digest = EVP_MD_CTX_new()))
    return false;
  return true;
}

void body_start(struct body *body, const char *path, const char *resume_url, size_t capture_max,
                bool find_links, bool find_requisites) {
  body_discard(body);
  body->capture_max = capture_max;
  body->find_links = find_links;
  body->find_requisites = find_requisites;
  body->bytes = 0;
  body->too_large = false;
  body->write_error = 0;
  body->status_checked = false;
  body->keep = false;
  body->has_sha256 = false;
  body->captured_length = 0;
  if (body->captured)
    body->captured[0] = '\0';
  body->path = path;
  body->saved = false;
  body->resume_url = path ? resume_url : NULL;
  body->file_opened = false;
  body->resumed_from = 0;
  body->resume_refused = false;
  if (body->digest)
    EVP_DigestInit_ex(body->digest, EVP_sha256(), NULL);
  free(body->if_range_line);
  body->if_range_line = NULL;
  if (body->resume_url &&
      download_find_partial(&body->download, body->options->output_dir, path, resume_url)) {
    size_t size = sizeof "If-Range: " + strlen(body->download.if_range);
    if ((body->if_range_line = malloc(size)))
      snprintf(body->if_range_line, size, "If-Range: %s", body->download.if_range);
    else /* out of memory: the partial stays for another try */
      download_discard(&body->download);
  }
}

uint64_t body_resume_offset(const struct body *body, const char **if_range_line) {
  *if_range_line = body->if_range_line;
  return body->if_range_line ? body->download.partial_length : 0;
}

bool body_resume_refused(struct body *body, CURL *easy, CURLcode code) {
  long status = 0;
  if (code == CURLE_OK && body->download.partial_length > 0)
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status == 416) {
    download_drop_partial(&body->download);
    body->resume_refused = true;
  }
  return body->resume_refused;
}

/* The validator a later request's If-Range can name: a strong ETag, else Last-Modified
 * (owned); NULL when there is none, or the server said it takes no ranges. */
static char *body_validator(CURL *easy) {
  struct curl_header *header = NULL;
  if (curl_easy_header(easy, "Accept-Ranges", 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
      strcasecmp(header->value, "none") == 0)
    return NULL;
  /* A weak ETag ("W/...") cannot be an If-Range (RFC 9110, 13.1.5). */
  if (curl_easy_header(easy, "ETag", 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
      header->value[0] == '"')
    return strdup(header->value);
  if (curl_easy_header(easy, "Last-Modified", 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
      header->value[0])
    return strdup(header->value);
  return NULL;
}

/* The decimal number at *text (digits only), *text moved past it; false when there is none. */
static bool body_range_number(const char **text, unsigned long long *number) {
  if (!isdigit((unsigned char)**text))
    return false;
  char *end = NULL;
  errno = 0;
  *number = strtoull(*text, &end, 10);
  *text = end;
  return errno == 0;
}

/* True when the 206's Content-Range ("bytes FIRST-LAST/LENGTH") starts at `offset` and runs
 * to the end of the body: a server may send less than the rest asked for, and those bytes
 * alone would be saved as the whole file. */
static bool body_range_starts_at(CURL *easy, uint64_t offset) {
  struct curl_header *header = NULL;
  if (curl_easy_header(easy, "Content-Range", 0, CURLH_HEADER, -1, &header) != CURLHE_OK ||
      strncasecmp(header->value, "bytes ", 6) != 0)
    return false;
  const char *at = header->value + 6;
  unsigned long long first, last, length;
  return body_range_number(&at, &first) && *at++ == '-' && body_range_number(&at, &last) &&
         *at++ == '/' && body_range_number(&at, &length) && *at == '\0' && first == offset &&
         last < length && last + 1 == length;
}

/* True when the response's validator is still `expected`: a server that honours Range but
 * ignores If-Range would otherwise splice a changed file onto the kept bytes. */
static bool body_validator_is(CURL *easy, const char *expected) {
  char *validator = body_validator(easy);
  bool same = validator && strcmp(validator, expected) == 0;
  free(validator);
  return same;
}

/* -o: the file a 2xx body goes to, chosen at its first byte (body.h). False when the transfer
 * is to stop: write_error or resume_refused says why. */
static bool body_open_file(struct body *body, CURL *easy, long status) {
  struct download *download = &body->download;
  const struct afetch_options *options = body->options;
  body->file_opened = true;
  if (download->partial_length > 0 && status == 206) {
    if (!body_range_starts_at(easy, download->partial_length) ||
        !body_validator_is(easy, download->if_range)) {
      download_drop_partial(download);
      body->resume_refused = true;
      return false;
    }
    body->resumed_from = download->partial_length;
    body->write_error = download_continue(download);
    return !body->write_error;
  }
  /* Any other 2xx is the whole body: the server takes no ranges, or the validator changed.
   * A body announced smaller than BODY_RESUME_MIN_BYTES goes to a temp file: fetching it
   * again costs less than a partial's bookkeeping (a sidecar, a lock) costs every file. */
  curl_off_t announced = -1;
  curl_easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
  bool worth_keeping = body->resume_url && !(announced >= 0 && announced < BODY_RESUME_MIN_BYTES);
  char *validator = worth_keeping ? body_validator(easy) : NULL;
  if (validator) {
    body->write_error = download_open_partial(download, options->output_dir, body->path,
                                              body->resume_url, validator, options->fsync);
  } else {
    download_drop_partial(download);
    body->write_error = download_open(download, options->output_dir, body->path, options->fsync);
  }
  free(validator);
  return !body->write_error;
}

/* --body, robots.txt: appends to the capture, up to capture_max bytes. */
static bool body_capture(struct body *body, const char *data, size_t count) {
  if (body->captured_length + count > body->capture_max)
    count = body->capture_max - body->captured_length;
  if (count == 0)
    return true;
  size_t needed = body->captured_length + count + 1;
  if (needed > body->captured_capacity) {
    size_t capacity = body->captured_capacity ? body->captured_capacity : 4096;
    while (capacity < needed)
      capacity *= 2;
    char *grown = realloc(body->captured, capacity);
    if (!grown)
      return false;
    body->captured = grown;
    body->captured_capacity = capacity;
  }
  memcpy(body->captured + body->captured_length, data, count);
  body->captured_length += count;
  body->captured[body->captured_length] = '\0';
  return true;
}

/* -p: a url() or @import of the stylesheet, resolved against its URL. */
static void body_on_css_reference(void *arg, const char *value) {
  struct body *body = arg;
  /* Cleaned as in a page's <style>, so that a stylesheet means the same in either place. */
  char *reference = malloc(strlen(value) + 1);
  if (!reference)
    return;
  links_clean_reference_into(value, reference);
  char *url =
      reference[0] && reference[0] != '#' ? url_base_resolve(body->css_base, reference) : NULL;
  if (url)
    body->on_requisite(body->on_link_arg, url, "css");
  curl_free(url);
  free(reference);
}

/* -p: a scanner for this body, if it is a stylesheet. Out of memory, none. */
static void body_start_css(struct body *body, const char *content_type, const char *url) {
  if (!css_links_content_type_is_css(content_type))
    return;
  body->css_base = url_base_new(url);
  if (body->css_base)
    body->css = css_scanner_new(body_on_css_reference, body);
}

/* --crawl: an extractor for this page, if it is HTML (-p: a scanner, if it is CSS). */
static void body_start_links(struct body *body, CURL *easy) {
  char *content_type = NULL, *page_url = NULL;
  curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type);
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &page_url);
  if (!page_url)
    return;
  if (body->find_links && links_content_type_is_html(content_type)) {
    body->links = link_extractor_new(page_url, body->on_link, body->on_link_arg);
    if (body->links && body->find_requisites)
      link_extractor_find_requisites(body->links, body->on_requisite);
  } else if (body->find_requisites) {
    body_start_css(body, content_type, page_url);
  }
}

static void body_stop_css(struct body *body) {
  css_scanner_free(body->css);
  body->css = NULL;
  url_base_free(body->css_base);
  body->css_base = NULL;
}

bool body_parses_page(const struct body *body) { return body->links || body->css; }

/* What every byte of the body goes through besides its file: the link extractor or the
 * stylesheet scanner, the digest, the capture. False when the capture ran out of memory. */
static bool body_consume(struct body *body, const char *data, size_t count) {
  if (body->links)
    link_extractor_feed(body->links, data, count);
  if (body->css)
    css_scanner_feed(body->css, data, count);
  if (body->digest)
    EVP_DigestUpdate(body->digest, data, count);
  /* --body keeps any final response's body (an API's error text is worth seeing); -o saves
   * only a 2xx. */
  return !body->capture_max || body_capture(body, data, count);
}

static void body_consume_kept(void *arg, const void *bytes, size_t count) {
  struct body *body = arg;
  if (!body_consume(body, bytes, count))
    body->write_error = ENOMEM;
}

/* A continued partial: its kept bytes go through body_consume() first, so that the digest,
 * the links and the capture are the whole file's. False when that failed (write_error). */
static bool body_consume_partial(struct body *body) {
  if (!body->links && !body->css && !body->digest && !body->capture_max)
    return true;
  int error = download_read_kept(&body->download, body_consume_kept, body);
  if (error)
    body->write_error = error;
  return !body->write_error;
}

size_t body_on_data(struct body *body, CURL *easy, const char *data, size_t count) {
  body->bytes += count;
  const struct afetch_options *options = body->options;
  if (!body->status_checked) {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    body->keep = status >= 200 && status <= 299;
    body->status_checked = true;
    if (body->keep && body->path && !body_open_file(body, easy, status))
      return 0;
    if (body->keep && (body->find_links || body->find_requisites))
      body_start_links(body, easy);
    if (body->resumed_from > 0 && !body_consume_partial(body))
      return 0;
  }
  /* The limit is the whole file's, the kept bytes included. */
  if (options->max_size && body->resumed_from + body->bytes > options->max_size) {
    body->too_large = true;
    return 0;
  }
  if (!body_consume(body, data, count)) {
    body->write_error = ENOMEM;
    return 0;
  }
  if (body->keep && body->path &&
      (body->write_error = download_write(&body->download, data, count)))
    return 0;
  return count;
}

int body_finish(struct body *body, bool succeeded, long status) {
  if (body->links) {
    if (succeeded)
      link_extractor_finish(body->links);
    link_extractor_free(body->links);
    body->links = NULL;
  }
  if (body->css && succeeded)
    css_scanner_finish(body->css);
  body_stop_css(body);
  if (body->digest) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(body->digest, digest, &length);
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < length && i < 32; i++) {
      body->sha256[2 * i] = hex[digest[i] >> 4];
      body->sha256[2 * i + 1] = hex[digest[i] & 15];
    }
    body->sha256[64] = '\0';
    body->has_sha256 = succeeded;
  }
  bool save = succeeded && body->path && status >= 200 && status <= 299;
  if (!save) {
    /* A partial over the limit would only grow past it again; after a write error (a full
     * disk, the file size limit) its end is in doubt, and its space is wanted back. */
    if (body->too_large || body->write_error)
      download_drop_partial(&body->download);
    body_discard(body);
    return 0;
  }
  if (!body->file_opened) /* no byte came: a partial found holds nothing of this response */
    download_drop_partial(&body->download);
  int error = body->file_opened ? 0
                                : download_open(&body->download, body->options->output_dir,
                                                body->path, body->options->fsync);
  if (!error)
    error = download_commit(&body->download, body->options->fsync);
  body->saved = !error;
  return error;
}

void body_discard(struct body *body) {
  download_discard(&body->download);
  if (body->links) {
    link_extractor_free(body->links);
    body->links = NULL;
  }
  body_stop_css(body);
}

void body_free(struct body *body) {
  body_discard(body);
  if (body->digest)
    EVP_MD_CTX_free(body->digest);
  free(body->captured);
  free(body->if_range_line);
}
