/* Requests completed from the options: -o file names (and whether a partial may be resumed)
 * and --if-changed validators. */
#include "afetch/request_setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "afetch/options.h"
#include "afetch/output_name.h"
#include "afetch/request.h"
#include "afetch/state.h"

struct request_setup {
  const struct afetch_options *options;
  const struct state *state;         /* --if-changed */
  struct output_names *output_names; /* -o: names claimed in this run */
};

struct request_setup *request_setup_new(const struct afetch_options *options,
                                        const struct state *state) {
  struct request_setup *setup = calloc(1, sizeof *setup);
  if (!setup)
    return NULL;
  *setup = (struct request_setup){.options = options, .state = state};
  if (options->output_dir && !(setup->output_names = output_names_new())) {
    free(setup);
    return NULL;
  }
  return setup;
}

/* "Name: value" in a new string, or NULL when out of memory. */
static char *request_setup_header_line(const char *name, const char *value) {
  size_t size = strlen(name) + 2 + strlen(value) + 1;
  char *line = malloc(size);
  if (line)
    snprintf(line, size, "%s: %s", name, value);
  return line;
}

/* -o: where the request's body goes. A URL curl cannot parse gets no file (it fails anyway). */
static bool request_setup_output_path(struct request_setup *setup, struct request *request) {
  const struct afetch_options *options = setup->options;
  char name[OUTPUT_NAME_MAX + 32];
  /* A JSON line's "output" names its file like a template (and is sanitised as one). */
  const char *template = request->output_name ? request->output_name : options->output_template;
  if (!output_name_for_url(request->url, template, request->index, name, sizeof name))
    return true;
  if (!output_names_claim(setup->output_names, request->url, name, sizeof name))
    return false;
  size_t dir_length = strlen(options->output_dir);
  while (dir_length > 1 && options->output_dir[dir_length - 1] == '/')
    dir_length--;
  size_t size = dir_length + 1 + strlen(name) + 1;
  if (!(request->output_path = malloc(size)))
    return false;
  snprintf(request->output_path, size, "%.*s/%s", (int)dir_length, options->output_dir, name);
  return true;
}

/* --if-changed: the validators to send, when the state has them and (with -o) the file they
 * describe is still there to keep. */
static bool request_setup_validators(struct request_setup *setup, struct request *request) {
  const struct state_entry *entry = state_lookup(setup->state, request->url);
  if (!entry)
    return true;
  if (request->output_path && (access(request->output_path, F_OK) != 0 ||
                               (entry->file && strcmp(entry->file, request->output_path) != 0)))
    return true;
  if (entry->etag &&
      !(request->if_none_match = request_setup_header_line("If-None-Match", entry->etag)))
    return false;
  if (entry->last_modified && !(request->if_modified_since = request_setup_header_line(
                                    "If-Modified-Since", entry->last_modified)))
    return false;
  return true;
}

/* -o: whether a Range may be asked for the rest of a kept partial. Not for a method other
 * than GET or a request body (a Range means nothing there), the user's own Range header, or
 * --compressed (curl decodes, so the bytes kept are not the encoded ones a Range counts). */
static bool request_setup_may_resume(const struct afetch_options *options,
                                     const struct request *request) {
  const char *method = request->method ? request->method : options->method;
  if (!request->output_path || request->internal || options->no_resume || options->compressed ||
      request->body || options->data || (method && strcmp(method, "GET") != 0))
    return false;
  const struct curl_slist *header = request->headers ? request->headers : options->headers;
  for (; header; header = header->next)
    if (strncasecmp(header->data, "Range:", 6) == 0)
      return false;
  return true;
}

bool request_setup_apply(struct request_setup *setup, struct request *request) {
  if (setup->output_names && !request_setup_output_path(setup, request))
    return false;
  request->may_resume = request_setup_may_resume(setup->options, request);
  return !setup->state || request_setup_validators(setup, request);
}

void request_setup_free(struct request_setup *setup) {
  if (!setup)
    return;
  output_names_free(setup->output_names);
  free(setup);
}
