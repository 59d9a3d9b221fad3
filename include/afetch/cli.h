/* Command line -> struct afetch_options: parsing, validation, --help and --version. */
#ifndef AFETCH_CLI_H
#define AFETCH_CLI_H

#include <stdio.h>

#include "afetch/options.h"

enum cli_outcome {
  CLI_RUN,        /* options are valid: go fetch */
  CLI_EXIT_OK,    /* --help or --version was printed to `out` */
  CLI_EXIT_USAGE, /* a message and the usage line were printed to `err`: exit 2 */
};

/* Fills `options` (defaults first, then argv). On CLI_RUN the caller owns what the options
 * own and frees it with cli_options_free(); on the other outcomes nothing is left to free.
 * Borrowed strings point into argv, which must outlive the options. */
enum cli_outcome cli_parse(struct afetch_options *options, int argc, char **argv, FILE *out,
                           FILE *err);

void cli_options_free(struct afetch_options *options);

/* --threads auto: one event loop per usable CPU, with at least CLI_TRANSFERS_PER_THREAD
 * transfers each (so -c below twice that stays on one loop). */
#define CLI_TRANSFERS_PER_THREAD 4
unsigned cli_auto_threads(unsigned concurrency, unsigned cpus);

/* The usage line and a pointer to --help, after a usage error found outside cli_parse (an
 * unreadable input file). */
void cli_print_usage_hint(FILE *err);

#endif
