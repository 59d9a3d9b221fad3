/* A JSON-lines request (json_line_job) with options from cli_parse, then its result line as
 * the scheduler writes it (job_stopped_result + result_write_json).
 *
 * Input: the line, as the reader hands it over (it may hold NUL bytes). Lines that do not
 * start with '{' are plain URL lines the scheduler never gives to json_line_job.
 *
 * Checked: a job comes back; a rejected line has a message, an accepted one a non-empty URL, a
 * method that is a token, header lines without CR or LF, a positive timeout when one is set;
 * "id" as echoed is one JSON value in valid UTF-8, and so is the whole result line. */
#include <stdint.h>

#include <curl/curl.h>

#include "afetch/cli.h"
#include "afetch/http_token.h"
#include "afetch/job.h"
#include "afetch/json_line.h"
#include "afetch/json_writer.h"
#include "afetch/options.h"
#include "afetch/result.h"
#include "afetch/source.h"
#include "fuzz_helpers.h"

/* -H headers for the line's "headers" to override or join; -o and --sha256 add result keys. */
static char *fuzz_argv[] = {"afetch", "-H", "Accept: text/plain", "-H", "X-Token: abc",
                            "-o", "out", "--sha256", NULL};
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

/* The job's own invariants, whether it was accepted or not. */
static void fuzz_check_job(const struct job *job) {
  if (job->input_error) {
    FUZZ_CHECK(job->input_error[0] != '\0');
    return;
  }
  FUZZ_CHECK(job->url[0] != '\0');
  if (job->method)
    FUZZ_CHECK(http_is_token(job->method));
  for (const struct curl_slist *header = job->headers; header; header = header->next)
    FUZZ_CHECK(header->data && !strpbrk(header->data, "\r\n"));
  if (job->body)
    FUZZ_CHECK(job->body_length == strlen(job->body));
  FUZZ_CHECK(job->timeout_ms >= 0);
  if (job->id_json)
    FUZZ_CHECK(fuzz_is_json(job->id_json, strlen(job->id_json)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_copy_text(data, size);
  struct source_line line = {.index = 7, .text = text, .length = size};
  if (!json_line_is_object(&line)) {
    free(text);
    return 0;
  }
  struct job *job = json_line_job(&line, &fuzz_options);
  FUZZ_REQUIRE_MEMORY(job);
  FUZZ_CHECK(job->index == line.index);
  fuzz_check_job(job);

  /* The result line: an invalid_input one as scheduler_emit_invalid_input() writes it, else
   * the shape of a job that never ran (url, id and the optional keys all present). */
  struct afetch_result result;
  job_stopped_result(job, job->input_error ? RESULT_INVALID_INPUT : RESULT_DEADLINE, &result);
  result_enable_optional_keys(&result, &fuzz_options);
  if (job->input_error) {
    result.error_message = job->input_error;
    result.url = *job_given_url(job) ? job->url : NULL;
  }
  struct json_writer writer;
  json_writer_init(&writer);
  result_write_json(&result, &writer);
  FUZZ_CHECK(!writer.failed);
  FUZZ_CHECK(fuzz_is_json(writer.data, writer.length));

  json_writer_free(&writer);
  job_free(job);
  free(text);
  return 0;
}
