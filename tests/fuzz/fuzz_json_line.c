/* A JSON-lines request (json_line_request) with options from cli_parse, then its result line as
 * the scheduler writes it (request_stopped_result + result_write_json).
 *
 * Input: the line, as the reader hands it over (it may hold NUL bytes). Lines that do not
 * start with '{' are plain URL lines the scheduler never gives to json_line_request.
 *
 * Checked: a request comes back; a rejected line has a message, an accepted one a non-empty URL, a
 * method that is a token, header lines without CR or LF, a positive timeout when one is set;
 * "id" as echoed is one JSON value in valid UTF-8, and so is the whole result line. */
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/cli.h"
#include "afetch/http_token.h"
#include "afetch/request.h"
#include "afetch/json_line.h"
#include "afetch/json_writer.h"
#include "afetch/options.h"
#include "afetch/result.h"
#include "afetch/source.h"
#include "fuzz_helpers.h"

/* -H headers for the line's "headers" to override or join; -o and --sha256 add result keys. */
static char *fuzz_argv[] = {"afetch", "-H",  "Accept: text/plain", "-H", "X-Token: abc",
                            "-o",     "out", "--sha256",           NULL};
static struct afetch_options fuzz_options;

static void fuzz_free_options(void) { cli_options_free(&fuzz_options); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  int count = (int)(sizeof fuzz_argv / sizeof fuzz_argv[0]) - 1;
  if (cli_parse(&fuzz_options, count, fuzz_argv, stdout, stderr) != CLI_RUN)
    abort();
  atexit(fuzz_free_options);
  return 0;
}

/* The request's own invariants, whether it was accepted or not. */
static void fuzz_check_request(const struct request *request) {
  if (request->input_error) {
    FUZZ_CHECK(request->input_error[0] != '\0');
    return;
  }
  FUZZ_CHECK(request->url[0] != '\0');
  if (request->method)
    FUZZ_CHECK(http_is_token(request->method));
  for (const struct curl_slist *header = request->headers; header; header = header->next)
    FUZZ_CHECK(header->data && !strpbrk(header->data, "\r\n"));
  if (request->body)
    FUZZ_CHECK(request->body_length == strlen(request->body));
  FUZZ_CHECK(request->timeout_ms >= 0);
  if (request->id_json)
    FUZZ_CHECK(fuzz_is_json(request->id_json, strlen(request->id_json)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_copy_text(data, size);
  struct source_line line = {.index = 7, .text = text, .length = size};
  if (!json_line_is_object(&line)) {
    free(text);
    return 0;
  }
  struct request *request = json_line_request(&line, &fuzz_options);
  FUZZ_REQUIRE_MEMORY(request);
  FUZZ_CHECK(request->index == line.index);
  fuzz_check_request(request);

  /* The result line: an invalid_input one as scheduler_emit_invalid_input() writes it, else
   * the shape of a request that never ran (url, id and the optional keys all present). */
  struct afetch_result result;
  request_stopped_result(request, request->input_error ? RESULT_INVALID_INPUT : RESULT_DEADLINE, 0,
                         &result);
  result_enable_optional_keys(&result, &fuzz_options);
  if (request->input_error) {
    result.error_message = request->input_error;
    result.url = *request_given_url(request) ? request->url : NULL;
  }
  struct json_writer writer;
  json_writer_init(&writer);
  result_write_json(&result, &writer);
  FUZZ_CHECK(!writer.failed);
  FUZZ_CHECK(fuzz_is_json(writer.data, writer.length));

  json_writer_free(&writer);
  request_free(request);
  free(text);
  return 0;
}
