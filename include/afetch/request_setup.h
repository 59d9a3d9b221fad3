/* What the options add to a request before its first attempt: its file under -o (a name
 * claimed once in the run) and the --if-changed validators to send. Scheduler's thread. */
#ifndef AFETCH_REQUEST_SETUP_H
#define AFETCH_REQUEST_SETUP_H

#include <stdbool.h>

struct afetch_options;
struct request;
struct state;

struct request_setup;

/* Options and state (NULL without --if-changed) are borrowed. NULL when out of memory. */
struct request_setup *request_setup_new(const struct afetch_options *options,
                                        const struct state *state);

/* Fills the request's output_path, if_none_match and if_modified_since as the options ask.
 * False when out of memory. */
bool request_setup_apply(struct request_setup *setup, struct request *request);

void request_setup_free(struct request_setup *setup);

#endif
