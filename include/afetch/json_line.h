/* JSON-lines input: a line starting with '{' is one request with its own settings
 * ({"url", "method", "headers", "body", "output", "timeout", "id"}), parsed with cJSON. */
#ifndef AFETCH_JSON_LINE_H
#define AFETCH_JSON_LINE_H

#include <stdbool.h>

struct afetch_options;
struct request;
struct source_line;

/* True when the line is a JSON object line (it starts with '{'). */
bool json_line_is_object(const struct source_line *line);

/* The request for a JSON line: its URL and settings, or, when the line is not a usable request
 * (bad JSON, no "url", a field of the wrong type), a request whose input_error says why (its url
 * is the "url" string when there was one, else empty). `options` gives the -H headers the
 * line's own merge into. NULL only when out of memory. */
struct request *json_line_request(const struct source_line *line,
                                  const struct afetch_options *options);

#endif
