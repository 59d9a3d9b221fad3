/* argv -> struct afetch_options: the parser that walks cli_option_table (cli_table.c), the
 * checks across options and --help. */
#define _GNU_SOURCE /* getopt_long */
#include "afetch/cli.h"
#include "afetch/cli_table.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define CLI_BODY_DEFAULT_MAX_SIZE 1048576 /* --body without --max-size: 1 MiB */
/* -t's default depends on -o: a download is not failed for taking long, only for stalling. */
#define CLI_TIMEOUT_UNSET (-1)
#define CLI_DEFAULT_TIMEOUT_MS 30000
#define CLI_DOWNLOAD_SPEED_LIMIT 1 /* bytes per second: below it for ... */
#define CLI_DOWNLOAD_SPEED_TIME 30 /* ... this many seconds, a download has stalled */
/* --crawl without --max-pages: a crawl trap (pages that link to ever new pages) ends here,
 * and so does the memory the frontier takes. */
#define CLI_CRAWL_DEFAULT_MAX_PAGES 100000
/* --journal: results between two fdatasyncs at most (a second is the other bound). */
#define CLI_DEFAULT_JOURNAL_SYNC 10000

/* getopt_long's code for an operand when options and operands are returned in order. */
#define CLI_OPERAND 1
/* getopt_long's code for the long name of cli_option_table[i]: CLI_LONG_CODE + i. */
#define CLI_LONG_CODE 256
/* --help: where descriptions start. */
#define CLI_HELP_COLUMN 29

static const char cli_usage_line[] = "Usage: afetch [OPTIONS] [URL | FILE | - ...]\n";

/* --help is about one screen: at most 60 lines of at most 80 columns (test_cli checks both).
 * The option lines come from the table; related options share a line (CLI_HELP_JOIN). */
static const char cli_help_intro[] =
    "Fetch URLs concurrently; print one JSON result per URL. Arguments: URLs (with\n"
    "scheme://), FILEs of lines (a URL or a JSON object {\"url\":...} each, '#'\n"
    "comments), '-' or none for stdin; read lazily, in order.\n";

static const char *const cli_help_group_titles[] = {
    [CLI_GROUP_INPUT] = NULL, /* right under the introduction */
    [CLI_GROUP_LIMITS] = "Concurrency, time, retries:",
    [CLI_GROUP_OUTPUT] = "Output:",
    [CLI_GROUP_SAVING] = "Saving bodies:",
    [CLI_GROUP_CRAWLING] = "Crawling:",
    [CLI_GROUP_REQUESTS] = "Requests and TLS:",
    [CLI_GROUP_NETWORK] = "Network (curl's options):",
    [CLI_GROUP_CONFIG] = "Config files:",
    [CLI_GROUP_PACE] = "Per-host pace (with --per-host and --adaptive above):",
    [CLI_GROUP_QUEUE] = "Work queue on Redis (afetch(1), WORK QUEUE):",
};

static const char cli_help_exit_status[] =
    "\n"
    "Exit status: 0 all ok, 1 some results not ok, 2 usage, 3 internal or output\n"
    "error, 129/130/143 SIGHUP/SIGINT/SIGTERM. More: afetch(1)";
/* The short --help's last words: where the other options are. */
static const char cli_help_more[] = ", afetch --help all\n";

/* Options that mean nothing without another one, checked in this order once argv is read
 * (after the options that need --crawl). */
static const struct cli_dependency {
  const char *option, *needs;
} cli_dependencies[] = {
    {"show-skipped", "robots"},
    {"span-hosts", "page-requisites"},
    {"output-template", "output-dir"},
    {"fsync", "output-dir"},
    {"no-resume", "output-dir"},
};

static void cli_defaults(struct afetch_options *options) {
  *options = (struct afetch_options){
      .concurrency = 10,
      .threads = 0, /* auto */
      .timeout_ms = CLI_TIMEOUT_UNSET,
      .connect_timeout_ms = 10000,
      .output_mode = AFETCH_OUTPUT_GATHER,
      .follow_redirects = true,
      .max_redirects = 10,
      .user_agent = "afetch/" AFETCH_VERSION,
      .http_version = AFETCH_HTTP_DEFAULT,
      .retry_delay_ms = 1000,
      .retry_max_delay_ms = 30000,
      .depth = 1,
      .max_pages = CLI_CRAWL_DEFAULT_MAX_PAGES, /* 0 without --crawl: see cli_finish */
      .scope = CRAWL_SCOPE_HOST,
      .progress = AFETCH_PROGRESS_AUTO,
      .progress_interval_ms = 10000,
      .journal_sync_every = CLI_DEFAULT_JOURNAL_SYNC,
      .queue = {.idle_exit_ms = -1, .reclaim_after_ms = -1, .redis_timeout_ms = -1},
  };
}

/* An alias's meaning is the option it follows. */
static const struct cli_option *cli_resolve_alias(const struct cli_option *option) {
  while (option->flags & CLI_ALIAS)
    option--;
  return option;
}

static const struct cli_option *cli_find_option(const char *name) {
  for (size_t i = 0; i < cli_option_count; i++)
    if (strcmp(cli_option_table[i].name, name) == 0)
      return &cli_option_table[i];
  return NULL;
}

/* Options that change how a run goes, not what its results say: a resumed run may change
 * them (the inputs are recorded apart). Any other option is part of result_options. */
static const char *const cli_result_neutral[] = {
    "input-file", "url",         "concurrency", "threads",           "rate",
    "per-host",   "deadline",    "quiet",       "progress",          "no-progress",
    "progress-interval",         "stats",       "stats-json",        "ndjson",
    "journal",    "journal-sync", "fsync",      "merge",             "no-resume",
};

/* Appends " --name[=value]" to result_options unless the option is neutral. */
static bool cli_record_result_option(struct afetch_options *options,
                                     const struct cli_option *option, const char *value) {
  for (size_t i = 0; i < sizeof cli_result_neutral / sizeof cli_result_neutral[0]; i++)
    if (strcmp(option->name, cli_result_neutral[i]) == 0)
      return true;
  size_t old = options->result_options ? strlen(options->result_options) : 0;
  size_t added = (old ? 1 : 0) + 2 + strlen(option->name) + (value ? 1 + strlen(value) : 0);
  char *grown = realloc(options->result_options, old + added + 1);
  if (!grown)
    return false;
  snprintf(grown + old, added + 1, "%s--%s%s%s", old ? " " : "", option->name, value ? "=" : "",
           value ? value : "");
  options->result_options = grown;
  return true;
}

/* Applies one option of argv, given as `name`. */
static enum cli_outcome cli_apply_value(struct cli_parse *parse, const struct cli_option *option,
                                  const char *value, const char *name) {
  if ((option->flags & CLI_NEEDS_CRAWL) && !parse->first_crawl_option)
    parse->first_crawl_option = option;
  if (option->value == CLI_VALUE_CUSTOM)
    return option->apply(parse, value, name);
  /* CLI_ONCE is for string options: given once, the field is no longer NULL. */
  if ((option->flags & CLI_ONCE) && *(const char **)((char *)parse->options + option->target)) {
    fprintf(parse->err, "afetch: %s may be given once\n", name);
    return CLI_EXIT_USAGE;
  }
  if (!cli_read_value(parse->options, option, value)) {
    char wanted[128];
    fprintf(parse->err, "afetch: %s wants %s, not '%s'\n", name,
            cli_wanted(option, wanted, sizeof wanted), value);
    return CLI_EXIT_USAGE;
  }
  return CLI_RUN;
}

/* Applies one option of argv and records it for a journal. */
static enum cli_outcome cli_apply(struct cli_parse *parse, const struct cli_option *option,
                                  const char *value, const char *name) {
  enum cli_outcome outcome = cli_apply_value(parse, option, value, name);
  if (outcome == CLI_RUN && !cli_record_result_option(parse->options, option, value)) {
    fprintf(parse->err, "afetch: out of memory\n");
    return CLI_EXIT_USAGE;
  }
  return outcome;
}

/* True when the option was given (only for the flags and strings the dependencies name). */
static bool cli_option_given(const struct afetch_options *options,
                             const struct cli_option *option) {
  const void *field = (const char *)options + option->target;
  if (option->store == CLI_STORE_BOOL)
    return *(const bool *)field;
  return option->store == CLI_STORE_STRING && *(const char *const *)field;
}

/* "--name", or "-n/--name" for an option with a short letter. */
static const char *cli_display_name(const struct cli_option *option, char *buffer, size_t size) {
  if (option->short_name)
    snprintf(buffer, size, "-%c/--%s", option->short_name, option->name);
  else
    snprintf(buffer, size, "--%s", option->name);
  return buffer;
}

static bool cli_complain_needs(FILE *err, const struct cli_option *option,
                               const struct cli_option *needed) {
  char name[64];
  fprintf(err, "afetch: --%s needs %s\n", option->name,
          cli_display_name(needed, name, sizeof name));
  return false;
}

/* The options given without one they need: the first crawling option without --crawl, then
 * cli_dependencies. */
static bool cli_check_dependencies(const struct cli_parse *parse) {
  const struct afetch_options *options = parse->options;
  if (parse->first_crawl_option && !options->crawl)
    return cli_complain_needs(parse->err, parse->first_crawl_option, cli_find_option("crawl"));
  for (size_t i = 0; i < sizeof cli_dependencies / sizeof cli_dependencies[0]; i++) {
    const struct cli_option *option = cli_find_option(cli_dependencies[i].option);
    const struct cli_option *needed = cli_find_option(cli_dependencies[i].needs);
    bool journal_fsync = options->journal_path && strcmp(option->name, "fsync") == 0;
    if (cli_option_given(options, option) && !cli_option_given(options, needed) && !journal_fsync)
      return cli_complain_needs(parse->err, option, needed);
  }
  return true;
}

/* --shard-by means nothing without --shard; the pages a crawl finds have no line to split by. */
static bool cli_check_shard(const struct cli_parse *parse) {
  const struct shard_spec *shard = &parse->options->shard;
  if (shard->by != SHARD_BY_UNSET && shard->count == 0)
    return cli_complain_needs(parse->err, cli_find_option("shard-by"), cli_find_option("shard"));
  if (shard->by == SHARD_BY_LINE && parse->options->crawl) {
    fprintf(parse->err, "afetch: --shard-by line cannot split a crawl (the pages it finds have "
                        "no line): use --shard-by host\n");
    return false;
  }
  return true;
}

/* Defaults that depend on other options: -t, -Y and -y for downloads, and curl's pairing
 * of -Y and -y (either one alone takes the other's default). */
static void cli_resolve_time_limits(struct afetch_options *options) {
  bool download_guard = false;
  if (options->timeout_ms == CLI_TIMEOUT_UNSET) {
    download_guard = options->output_dir != NULL;
    options->timeout_ms = download_guard ? 0 : CLI_DEFAULT_TIMEOUT_MS;
  }
  if (options->speed_limit || options->speed_time || download_guard) {
    if (!options->speed_limit)
      options->speed_limit = CLI_DOWNLOAD_SPEED_LIMIT;
    if (!options->speed_time)
      options->speed_time = CLI_DOWNLOAD_SPEED_TIME;
  }
}

/* Sends the User-Agent as one of the -H headers: given to CURLOPT_USERAGENT, libcurl 7.88
 * formats its header anew for every request (docs/benchmarks.md). A -H "User-Agent: ..." wins
 * over -A, as in curl. */
static bool cli_add_user_agent_header(struct afetch_options *options, FILE *err) {
  static const char name[] = "User-Agent:";
  for (const struct curl_slist *header = options->headers; header; header = header->next)
    if (strncasecmp(header->data, name, sizeof name - 1) == 0)
      return true;
  size_t length = sizeof name + 1 + strlen(options->user_agent);
  char *line = malloc(length);
  struct curl_slist *grown = NULL;
  if (line) {
    snprintf(line, length, "%s %s", name, options->user_agent);
    grown = curl_slist_append(options->headers, line);
    free(line);
  }
  if (!grown) {
    fprintf(err, "afetch: out of memory\n");
    return false;
  }
  options->headers = grown;
  return true;
}

/* getopt_long's tables, built from cli_option_table. */
struct cli_getopt {
  struct option *long_options; /* in table order, then a zeroed end */
  char *short_options;
};

static void cli_getopt_free(struct cli_getopt *tables) {
  free(tables->long_options);
  free(tables->short_options);
}

static bool cli_getopt_build(struct cli_getopt *tables) {
  tables->long_options = calloc(cli_option_count + 1, sizeof *tables->long_options);
  /* '-' first: operands come back in order among the options (as CLI_OPERAND), so that
   * URLs, FILEs, -i and --url keep the order they were given in. ':' for a missing value. */
  tables->short_options = calloc(2 * cli_option_count + 3, 1);
  if (!tables->long_options || !tables->short_options)
    return false;
  char *next_short = tables->short_options;
  *next_short++ = '-';
  *next_short++ = ':';
  for (size_t i = 0; i < cli_option_count; i++) {
    const struct cli_option *option = cli_resolve_alias(&cli_option_table[i]);
    int has_arg = option->flags & CLI_OPTIONAL_VALUE ? optional_argument
                  : option->arg                      ? required_argument
                                                     : no_argument;
    tables->long_options[i] = (struct option){
        .name = cli_option_table[i].name, .has_arg = has_arg, .val = CLI_LONG_CODE + (int)i};
    if (cli_option_table[i].short_name) {
      *next_short++ = cli_option_table[i].short_name;
      if (has_arg == required_argument)
        *next_short++ = ':';
    }
  }
  return true;
}

/* The table's option for what getopt_long returned. */
static const struct cli_option *cli_option_for_code(int code) {
  if (code >= CLI_LONG_CODE)
    return &cli_option_table[code - CLI_LONG_CODE];
  for (size_t i = 0; i < cli_option_count; i++)
    if (cli_option_table[i].short_name == code)
      return &cli_option_table[i];
  return NULL;
}

/* An unknown option, a value where none goes, or a value missing. */
static void cli_report_bad_option(int code, char **argv, FILE *err) {
  const char *given = argv[optind - 1];
  if (code == ':')
    fprintf(err, "afetch: option '%s' needs a value\n", given);
  /* glibc sets optopt for a short option, and to the option's value for a long one given
   * "=value" that takes none. */
  else if (strncmp(given, "--", 2) == 0 && strchr(given, '='))
    fprintf(err, "afetch: option '%.*s' takes no value\n", (int)strcspn(given, "="), given);
  else if (optopt > 0 && optopt < 256 && strncmp(given, "--", 2) != 0)
    fprintf(err, "afetch: unknown option '-%c'\n", optopt);
  else
    fprintf(err, "afetch: unknown option '%s'\n", given);
}

/* The options and operands before any "--", in order. */
static enum cli_outcome cli_parse_arguments(struct cli_parse *parse, int argc, char **argv) {
  struct cli_getopt tables;
  if (!cli_getopt_build(&tables)) {
    cli_getopt_free(&tables);
    fprintf(parse->err, "afetch: out of memory\n");
    return CLI_EXIT_USAGE;
  }
  optind = 0; /* glibc: a full re-initialisation, so cli_parse can run more than once */
  opterr = 0; /* our own messages, on `err` */
  enum cli_outcome outcome = CLI_RUN;
  while (outcome == CLI_RUN) {
    int long_index = -1;
    int code = getopt_long(argc, argv, tables.short_options, tables.long_options, &long_index);
    if (code == -1)
      break;
    if (code == '?' || code == ':') {
      cli_report_bad_option(code, argv, parse->err);
      outcome = CLI_EXIT_USAGE;
    } else if (code == CLI_OPERAND) {
      if (!cli_add_operand(parse->options, optarg, parse->err))
        outcome = CLI_EXIT_USAGE;
    } else {
      const struct cli_option *given = cli_option_for_code(code);
      parse->next_argument = optind < argc ? &argv[optind] : NULL;
      char name[64]; /* as the user wrote it, for messages */
      if (long_index >= 0)
        snprintf(name, sizeof name, "--%s", given->name);
      else
        snprintf(name, sizeof name, "-%c", code);
      outcome = cli_apply(parse, cli_resolve_alias(given), optarg, name);
    }
  }
  cli_getopt_free(&tables);
  return outcome;
}

/* The -K FILEs of argv, found by getopt_long itself (so abbreviations and bundles read as in
 * the real pass), read into `words`. Other errors are left to the real pass. */
static bool cli_collect_config_files(int argc, char **argv, struct cli_words *words, FILE *err) {
  struct cli_getopt tables;
  bool ok = cli_getopt_build(&tables);
  if (!ok)
    fprintf(err, "afetch: out of memory\n");
  optind = 0;
  opterr = 0;
  for (int code; ok && (code = getopt_long(argc, argv, tables.short_options, tables.long_options,
                                           NULL)) != -1;) {
    const struct cli_option *given =
        code == '?' || code == ':' || code == CLI_OPERAND ? NULL : cli_option_for_code(code);
    if (given && strcmp(given->name, "config") == 0)
      ok = cli_config_read(optarg, false, words, err);
  }
  cli_getopt_free(&tables);
  return ok;
}

/* The default config file (unless argv starts with --disable, curl's rule) and the -K FILEs,
 * in front of argv's own arguments: the command line wins. *argv becomes owned by options. */
static bool cli_expand_config(struct cli_parse *parse, int *argc, char ***argv) {
  struct cli_words words = {0};
  char path[4096];
  bool ok = true;
  if (!(*argc > 1 && strcmp((*argv)[1], "--disable") == 0) &&
      cli_config_default_path(path, sizeof path))
    ok = cli_config_read(path, true, &words, parse->err);
  ok = ok && cli_collect_config_files(*argc, *argv, &words, parse->err);
  char **expanded = ok && words.count ? calloc((size_t)*argc + words.count + 1, sizeof *expanded)
                                      : NULL;
  if (!ok || !expanded) {
    if (ok && words.count)
      fprintf(parse->err, "afetch: out of memory\n");
    bool done = ok && !words.count;
    cli_words_free(&words);
    return done;
  }
  expanded[0] = (*argv)[0];
  memcpy(expanded + 1, words.word, words.count * sizeof *expanded);
  memcpy(expanded + 1 + words.count, *argv + 1, (size_t)(*argc - 1) * sizeof *expanded);
  parse->options->config_argv = expanded;
  parse->options->config_words = words.word;
  *argc += (int)words.count;
  *argv = expanded;
  return true;
}

/* --journal and --merge: what each can work with (the rest of the rules are journal_open's:
 * the inputs must be regular files). */
static bool cli_check_durable(const struct afetch_options *options, FILE *err) {
  const char *refusal = NULL;
  if (options->merge && options->journal_path)
    refusal = "--merge and --journal cannot be used together";
  else if (options->merge && options->crawl)
    refusal = "--merge cannot be used with --crawl";
  for (size_t i = 0; !refusal && i < options->input_count; i++) {
    enum afetch_input_kind kind = options->inputs[i].kind;
    if (options->merge && kind != AFETCH_INPUT_FILE)
      refusal = "--merge reads FILEs of results (no URL, no standard input)";
    else if (options->journal_path && kind == AFETCH_INPUT_STDIN)
      refusal = "--journal needs input FILEs or URL arguments: standard input cannot be read "
                "again when the run is resumed";
  }
  if (refusal)
    fprintf(err, "afetch: %s\n", refusal);
  return refusal == NULL;
}

/* What comes once argv is read: the checks across options, defaults that depend on other
 * options, the operands after "--", and the -d values. */
static enum cli_outcome cli_finish(struct cli_parse *parse, int argc, char **argv) {
  struct afetch_options *options = parse->options;
  if (!cli_check_dependencies(parse))
    return CLI_EXIT_USAGE;
  if (!cli_check_shard(parse))
    return CLI_EXIT_USAGE;
  if (!options->crawl)
    options->max_pages = 0;
  if (options->body && options->max_size == 0)
    options->max_size = CLI_BODY_DEFAULT_MAX_SIZE;
  for (int i = optind; i < argc; i++)
    if (!cli_add_operand(options, argv[i], parse->err))
      return CLI_EXIT_USAGE;
  bool inputs_given = options->input_count > 0;
  if (!inputs_given)
    options->inputs[options->input_count++] =
        (struct afetch_input){.kind = AFETCH_INPUT_STDIN, .value = "-"};
  if (!cli_check_durable(options, parse->err) ||
      !cli_check_queue(options, inputs_given, parse->err))
    return CLI_EXIT_USAGE;
  cli_resolve_time_limits(options);
  for (size_t i = 0; i < parse->data_count; i++)
    if (!cli_add_data(options, parse->data_values[i], parse->err))
      return CLI_EXIT_USAGE;
  return CLI_RUN;
}

enum cli_outcome cli_parse(struct afetch_options *options, int argc, char **argv, FILE *out,
                           FILE *err) {
  cli_defaults(options);
  struct cli_parse parse = {.options = options, .out = out, .err = err};
  if (!cli_expand_config(&parse, &argc, &argv)) {
    cli_print_usage_hint(err);
    cli_options_free(options);
    return CLI_EXIT_USAGE;
  }
  /* Every argument could be an input or a -d value: neither array grows. */
  options->inputs = calloc((size_t)argc + 1, sizeof *options->inputs);
  parse.data_values = calloc((size_t)argc + 1, sizeof *parse.data_values);
  if (!options->inputs || !parse.data_values) {
    fprintf(err, "afetch: out of memory\n");
    free(parse.data_values);
    cli_options_free(options);
    return CLI_EXIT_USAGE;
  }
  enum cli_outcome outcome = cli_parse_arguments(&parse, argc, argv);
  if (outcome == CLI_RUN)
    outcome = cli_finish(&parse, argc, argv);
  if (outcome == CLI_EXIT_USAGE) /* under the message that said why */
    cli_print_usage_hint(err);
  if (outcome == CLI_RUN && !cli_add_user_agent_header(options, err))
    outcome = CLI_EXIT_USAGE; /* out of memory: no usage error */
  free(parse.data_values);
  if (outcome != CLI_RUN)
    cli_options_free(options);
  return outcome;
}

void cli_print_usage_hint(FILE *err) {
  fputs(cli_usage_line, err);
  fputs("Try 'afetch --help' for more information.\n", err);
}

/* Prints "-n, --name ARG" for table[first], its aliases after ", " and the options that join
 * its line after " / ". Returns the columns printed; *next is the table index after them. */
static int cli_print_help_names(FILE *out, size_t first, size_t *next) {
  int columns = 0;
  size_t i = first;
  do {
    const struct cli_option *option = &cli_option_table[i];
    columns += fprintf(out, "%s", i > first ? " / " : "");
    if (option->short_name)
      columns += fprintf(out, "-%c, ", option->short_name);
    columns += fprintf(out, "--%s", option->name);
    while (++i < cli_option_count && (cli_option_table[i].flags & CLI_ALIAS))
      columns += fprintf(out, ", --%s", cli_option_table[i].name);
    if (option->arg)
      columns += fprintf(out, option->flags & CLI_OPTIONAL_VALUE ? "[=%s]" : " %s", option->arg);
  } while (i < cli_option_count && (cli_option_table[i].flags & CLI_HELP_JOIN));
  *next = i;
  return columns;
}

/* One line of --help (or two, when the description goes on); returns the next table index. */
static size_t cli_print_help_line(FILE *out, size_t first) {
  const struct cli_option *option = &cli_option_table[first];
  size_t next;
  int column = fprintf(out, option->short_name ? "  " : "      ");
  column += cli_print_help_names(out, first, &next);
  fprintf(out, "%*s", column + 2 <= CLI_HELP_COLUMN ? CLI_HELP_COLUMN - column : 2, "");
  for (const char *c = option->help; *c; c++)
    if (*c == '\n')
      fprintf(out, "\n%*s", CLI_HELP_COLUMN, "");
    else
      putc(*c, out);
  putc('\n', out);
  return next;
}

void cli_print_help(FILE *out, bool all) {
  fputs(cli_usage_line, out);
  fputs(cli_help_intro, out);
  enum cli_help_group group = CLI_GROUP_INPUT;
  for (size_t i = 0; i < cli_option_count;) {
    if (!all && cli_option_table[i].group >= CLI_GROUP_NETWORK) {
      i++;
      continue;
    }
    if (cli_option_table[i].group != group) {
      group = cli_option_table[i].group;
      fprintf(out, "\n%s\n", cli_help_group_titles[group]);
    }
    i = cli_print_help_line(out, i);
  }
  fputs(cli_help_exit_status, out);
  fputs(all ? ".\n" : cli_help_more, out);
}

void cli_options_free(struct afetch_options *options) {
  free(options->inputs);
  options->inputs = NULL;
  options->input_count = 0;
  curl_slist_free_all(options->headers);
  options->headers = NULL;
  free(options->data);
  options->data = NULL;
  curl_slist_free_all(options->resolve);
  options->resolve = NULL;
  curl_slist_free_all(options->connect_to);
  options->connect_to = NULL;
  free(options->config_argv);
  options->config_argv = NULL;
  struct cli_words words = {.word = options->config_words};
  while (words.word && words.word[words.count])
    words.count++;
  cli_words_free(&words);
  options->config_words = NULL;
  free(options->result_options);
  options->result_options = NULL;
}

/* Below CLI_TRANSFERS_PER_THREAD transfers a loop, handing work between threads costs more
 * than a second core gains (docs/design.md, Threads). */
unsigned cli_auto_threads(unsigned concurrency, unsigned cpus) {
  unsigned threads = concurrency / CLI_TRANSFERS_PER_THREAD;
  if (threads > cpus)
    threads = cpus;
  if (threads > CLI_MAX_THREADS)
    threads = CLI_MAX_THREADS;
  return threads ? threads : 1;
}
