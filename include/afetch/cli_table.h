/* The command line's one table of options (src/cli_table.c), as curl's tool_getparam keeps it:
 * long name, short letter, value type and range, target field, help group and text. cli.c
 * parses argv and prints --help from it; tests/unit/test_cli_table.c holds --help, the man
 * page's option list and the bash completion to it. Internal to cli.c and the tests. */
#ifndef AFETCH_CLI_TABLE_H
#define AFETCH_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "afetch/cli.h"
#include "afetch/options.h"

#define CLI_MAX_THREADS 64
#define CLI_MAX_SECONDS 2000000.0 /* ~23 days: keeps milliseconds inside a long */

/* How an option's value is read; each kind has one message for a bad value. */
enum cli_value {
  CLI_VALUE_NONE,    /* no value: stores `set_to` */
  CLI_VALUE_INTEGER, /* a whole number in [min, max], or one of `choices` */
  CLI_VALUE_SECONDS, /* seconds, fractions allowed, as milliseconds; min 0 allows 0 */
  CLI_VALUE_SIZE,    /* bytes >= 1, suffix k, M or G allowed */
  CLI_VALUE_RATE,    /* N, N/s, N/m, N/h or N/d with N > 0: starts per second */
  CLI_VALUE_CHOICE,  /* one of `choices` (or `set_to` when an optional value is left out) */
  CLI_VALUE_STRING,  /* borrowed from argv, refused when `check` says no */
  CLI_VALUE_CUSTOM,  /* `apply` does it all */
};

/* The type of the field an option writes (checked at compile time by the table's macros). */
enum cli_store {
  CLI_STORE_NOTHING, /* CLI_VALUE_CUSTOM */
  CLI_STORE_BOOL,
  CLI_STORE_ENUM, /* an enum the size of an int */
  CLI_STORE_UNSIGNED,
  CLI_STORE_LONG,
  CLI_STORE_ULONG,
  CLI_STORE_UINT64,
  CLI_STORE_DOUBLE,
  CLI_STORE_STRING, /* const char *, borrowed from argv */
};

/* The groups of --help, in their order. */
enum cli_help_group {
  CLI_GROUP_INPUT, /* right under the introduction, without a title */
  CLI_GROUP_LIMITS,
  CLI_GROUP_OUTPUT,
  CLI_GROUP_SAVING,
  CLI_GROUP_CRAWLING,
  CLI_GROUP_REQUESTS,
  CLI_GROUP_NETWORK, /* this group and the next ones: only in "--help all" */
  CLI_GROUP_CONFIG,
  CLI_GROUP_PACE,
  CLI_GROUP_QUEUE,
};

/* Flags of an option. */
#define CLI_OPTIONAL_VALUE 0x01 /* --name[=VALUE]: a value only after '=' */
#define CLI_NEEDS_CRAWL 0x02    /* a usage error without --crawl */
#define CLI_ONCE 0x04           /* a usage error when given twice */
#define CLI_ALIAS 0x08          /* another long name of the option before it */
#define CLI_HELP_JOIN 0x10      /* on the --help line of the option before it, after " / " */

struct cli_choice {
  const char *word;
  int value;
};

struct cli_parse; /* the parse under way (cli.c), for `apply` */

struct cli_option {
  const char *name; /* the long name, without "--" */
  char short_name;  /* 0: none */
  unsigned flags;
  enum cli_value value;
  enum cli_store store;
  size_t target; /* offset of the field in struct afetch_options */
  long min, max; /* CLI_VALUE_INTEGER; CLI_VALUE_SECONDS: min 0 or 1 */
  int set_to;    /* CLI_VALUE_NONE, and CLI_VALUE_CHOICE without its optional value */
  const struct cli_choice *choices; /* ends with a NULL word */
  bool (*check)(const char *value); /* CLI_VALUE_STRING: NULL takes any */
  const char *wants; /* "afetch: --name wants WANTS, not 'x'"; NULL: the value kind's own */
  /* CLI_VALUE_CUSTOM: CLI_RUN to go on, CLI_EXIT_USAGE after printing why, CLI_EXIT_OK when
   * the run is over (--help). */
  enum cli_outcome (*apply)(struct cli_parse *parse, const char *value, const char *name);
  enum cli_help_group group;
  const char *arg;  /* the value's name in --help ("N", "SEC"); NULL: no value */
  const char *help; /* the --help description; "\n" continues it on the next line */
};

extern const struct cli_option cli_option_table[];
extern const size_t cli_option_count;

/* The state of one cli_parse, for the table's `apply` functions. */
struct cli_parse {
  struct afetch_options *options;
  FILE *out, *err;
  const char **data_values; /* -d values, read once the inputs are known (room for argc) */
  size_t data_count;
  const struct cli_option *first_crawl_option; /* the first CLI_NEEDS_CRAWL one given */
  char **next_argument; /* argv after the option being applied (--help all) */
};

/* Reads `value` (NULL: an optional value left out) as the option's kind into its field of
 * `options` (cli_value.c). False when the value does not fit; nothing is written then. Not for
 * CLI_VALUE_CUSTOM. */
bool cli_read_value(struct afetch_options *options, const struct cli_option *option,
                    const char *value);

/* What a bad value should have been, for "afetch: --name wants WANTED, not 'x'": the option's
 * `wants`, or its kind's own words (written into `buffer` when they need numbers). */
const char *cli_wanted(const struct cli_option *option, char *buffer, size_t size);

/* "--help" (cli.c): the common options; with `all` ("--help all", as curl's), every one.
 * "--version" is version_print() (version.c). */
void cli_print_help(FILE *out, bool all);

/* Appends an operand (a URL when it has a scheme://, else a FILE or '-') to the inputs, in
 * command-line order with -i and --url (cli_table.c). False after printing why not. */
bool cli_add_operand(struct afetch_options *options, const char *value, FILE *err);

/* Appends one -d value, joined to earlier ones with '&' as curl does; -d @FILE reads FILE
 * (cli_data.c). Called once every input is known: @- is refused when standard input carries
 * the URLs. False after printing why not. */
bool cli_add_data(struct afetch_options *options, const char *value, FILE *err);

/* The words of config files (-K, the default file) as arguments: "--name" and its value. */
struct cli_words {
  char **word; /* owned, NULL-terminated once any word is in */
  size_t count, capacity;
};

/* Appends the options of config file `path`, in curl's syntax, to `words`. A missing file is
 * no error when `missing_ok`. False after printing why (cli_config.c). */
bool cli_config_read(const char *path, bool missing_ok, struct cli_words *words, FILE *err);

/* The default config file: $XDG_CONFIG_HOME/afetch/afetchrc, else
 * $HOME/.config/afetch/afetchrc; NULL when neither variable is set. */
const char *cli_config_default_path(char *buffer, size_t size);

void cli_words_free(struct cli_words *words);

/* --redis and its modes (cli_queue.c): exactly one mode, options only where they mean
 * something, a readable URL, and the defaults; `inputs_given`: FILEs or URLs were named. False after printing why not. */
bool cli_check_queue(struct afetch_options *options, bool inputs_given, FILE *err);

#endif
