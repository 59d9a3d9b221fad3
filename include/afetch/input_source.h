/* The input as a work source: URL arguments, FILEs and standard input (source.h), each line a
 * request (a URL line, or a JSON object line: json_line.h). A line that is no usable request
 * is still handed out, with its input_error set (an invalid_input result); invalid URLs are
 * left to curl (an invalid_url result). Lines come out in input order; on a pipe with nothing
 * buffered it answers WORK_WAIT and wakes the pump when the pipe is readable. */
#ifndef AFETCH_INPUT_SOURCE_H
#define AFETCH_INPUT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct afetch_options;
struct event;
struct request;
struct source_line;
struct event_base;
struct work_source;

/* Opens every input of `options` now, so that an unreadable file is reported before anything
 * is fetched. `wake` is the scheduler's (scheduler_wake_event()); `options` is borrowed (the
 * -H headers JSON lines merge into). NULL, with a message naming the file in errbuf, when an
 * input cannot be opened or memory is short. Free with work_source_free(). */
struct work_source *input_source_open(struct event_base *base, const struct afetch_options *options,
                                      struct event *wake, char *errbuf, size_t errbuf_size);

/* Says whether the input line numbered `index` is passed over. */
typedef bool (*input_skip_fn)(const void *arg, uint64_t index);

/* From now on, lines for which skip(arg, index) is true are read and passed over; the lines
 * after them keep their numbers (a --journal's earlier results). `arg` is borrowed. */
void input_source_skip_if(struct work_source *source, input_skip_fn skip, const void *arg);

/* The request of one input line, as a run reads it: a JSON object line (its headers merged
 * into the -H ones of `options`) or a URL line. NULL when out of memory. */
struct request *input_line_request(const struct source_line *line,
                                   const struct afetch_options *options);

#endif
