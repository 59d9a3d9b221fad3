/* Every option of the command line, once, in --help order; and the few options whose value
 * is more than a field to fill (inputs, -H, -d, --cacert, --location-trusted, -h, -V). */
#include "afetch/cli_table.h"
#include "afetch/http_token.h"
#include "afetch/result.h"
#include "afetch/shard.h"
#include "afetch/version.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#define CLI_MAX_CONCURRENCY 100000
#define CLI_MAX_RETRIES 1000
#define CLI_MAX_DEPTH 1000
#define CLI_MAX_SPEED_LIMIT ((long)INT32_MAX) /* -Y: bytes per second */
#define CLI_MAX_SPEED_TIME 2000000            /* -y: seconds, as CLI_MAX_SECONDS */
#define CLI_MAX_JOURNAL_SYNC 100000000
#define CLI_MAX_DELIVERIES 1000000

/* 1 when the field of struct afetch_options has type `type`, else -1: as an array size, a
 * compile-time error. */
#define CLI_TYPE_CHECK(field, type)                                                                \
  _Generic(((struct afetch_options *)0)->field, type : 1, default : -1)
/* .target and .store for a field of struct afetch_options of type `type`. */
#define CLI_FIELD(field, type, store_kind)                                                         \
  .target =                                                                                        \
      offsetof(struct afetch_options, field) + 0 * sizeof(char[CLI_TYPE_CHECK(field, type)]),      \
  .store = store_kind
#define CLI_BOOL(field) CLI_FIELD(field, bool, CLI_STORE_BOOL)
#define CLI_UNSIGNED(field) CLI_FIELD(field, unsigned, CLI_STORE_UNSIGNED)
#define CLI_LONG(field) CLI_FIELD(field, long, CLI_STORE_LONG)
#define CLI_ULONG(field) CLI_FIELD(field, unsigned long, CLI_STORE_ULONG)
#define CLI_UINT64(field) CLI_FIELD(field, uint64_t, CLI_STORE_UINT64)
#define CLI_DOUBLE(field) CLI_FIELD(field, double, CLI_STORE_DOUBLE)
#define CLI_STRING(field) CLI_FIELD(field, const char *, CLI_STORE_STRING)
/* Enums are stored as an int: refused unless the enum has an int's size. */
#define CLI_ENUM(field, type)                                                                      \
  CLI_FIELD(field, type, CLI_STORE_ENUM) + 0 * sizeof(char[sizeof(type) == sizeof(int) ? 1 : -1])

static const struct cli_choice cli_threads_choices[] = {{"auto", 0}, {NULL, 0}};
static const struct cli_choice cli_progress_choices[] = {{"bar", AFETCH_PROGRESS_BAR},
                                                         {"lines", AFETCH_PROGRESS_LINES},
                                                         {"none", AFETCH_PROGRESS_OFF},
                                                         {NULL, 0}};
static const struct cli_choice cli_scope_choices[] = {{"host", CRAWL_SCOPE_HOST},
                                                      {"domain", CRAWL_SCOPE_DOMAIN},
                                                      {"prefix", CRAWL_SCOPE_PREFIX},
                                                      {NULL, 0}};

static const struct cli_choice cli_cert_type_choices[] = {
    {"PEM", 0}, {"DER", 0}, {"P12", 0}, {NULL, 0}};
/* --result-fields: the keys by their JSON names, and all of them. */
static const struct cli_choice cli_result_field_choices[] = {
    {"headers", RESULT_FIELD_HEADERS},
    {"location", RESULT_FIELD_LOCATION},
    {"redirects_chain", RESULT_FIELD_REDIRECTS_CHAIN},
    {"method", RESULT_FIELD_METHOD},
    {"started_at", RESULT_FIELD_STARTED_AT},
    {"all", RESULT_FIELDS_ALL},
    {NULL, 0}};
static const struct cli_choice cli_shard_choices[] = {{"env", 0}, {NULL, 0}};
static const struct cli_choice cli_shard_by_choices[] = {
    {"host", SHARD_BY_HOST}, {"line", SHARD_BY_LINE}, {NULL, 0}};

static bool cli_is_not_empty(const char *value) { return value[0] != '\0'; }

/* --cert-type: one of curl's names, as libcurl takes them. */
static bool cli_is_cert_type(const char *value) {
  for (const struct cli_choice *choice = cli_cert_type_choices; choice->word; choice++)
    if (strcmp(choice->word, value) == 0)
      return true;
  return false;
}

/* -u, -U: "user:password" (curl's tool would ask for a missing password; afetch does not). */
static bool cli_is_credentials(const char *value) { return strchr(value, ':') != NULL; }

static bool cli_is_method(const char *value) { return http_is_token(value); }

static bool cli_append_input(struct afetch_options *options, enum afetch_input_kind kind,
                             const char *value, FILE *err) {
  /* A URL is one input line: a line break would make it two. */
  if (kind == AFETCH_INPUT_URL && strpbrk(value, "\r\n")) {
    fprintf(err, "afetch: a URL argument cannot hold a line break\n");
    return false;
  }
  options->inputs[options->input_count++] = (struct afetch_input){.kind = kind, .value = value};
  return true;
}

/* True when the argument starts with a URL scheme and "://" (RFC 3986: a letter, then
 * letters, digits, '+', '-' or '.'): such an operand is a URL, any other one a FILE. */
static bool cli_looks_like_url(const char *argument) {
  const char *p = argument;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
    return false;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '-' || *p == '.')
    p++;
  return strncmp(p, "://", 3) == 0;
}

bool cli_add_operand(struct afetch_options *options, const char *value, FILE *err) {
  enum afetch_input_kind kind = cli_looks_like_url(value) ? AFETCH_INPUT_URL
                                : strcmp(value, "-") == 0 ? AFETCH_INPUT_STDIN
                                                          : AFETCH_INPUT_FILE;
  return cli_append_input(options, kind, value, err);
}

static enum cli_outcome cli_opt_input_file(struct cli_parse *parse, const char *value,
                                           const char *name) {
  (void)name; /* also when the name looks like a URL */
  enum afetch_input_kind kind = strcmp(value, "-") == 0 ? AFETCH_INPUT_STDIN : AFETCH_INPUT_FILE;
  return cli_append_input(parse->options, kind, value, parse->err) ? CLI_RUN : CLI_EXIT_USAGE;
}

static enum cli_outcome cli_opt_url(struct cli_parse *parse, const char *value, const char *name) {
  (void)name; /* also without a scheme */
  return cli_append_input(parse->options, AFETCH_INPUT_URL, value, parse->err) ? CLI_RUN
                                                                               : CLI_EXIT_USAGE;
}

static enum cli_outcome cli_opt_header(struct cli_parse *parse, const char *value,
                                       const char *name) {
  (void)name;
  struct curl_slist *grown = curl_slist_append(parse->options->headers, value);
  if (!grown) {
    fprintf(parse->err, "afetch: out of memory\n");
    return CLI_EXIT_USAGE;
  }
  parse->options->headers = grown;
  return CLI_RUN;
}

/* -d values wait until every input is known (see cli_add_data). */
static enum cli_outcome cli_opt_data(struct cli_parse *parse, const char *value, const char *name) {
  (void)name;
  parse->data_values[parse->data_count++] = value;
  return CLI_RUN;
}

static enum cli_outcome cli_opt_cacert(struct cli_parse *parse, const char *value,
                                       const char *name) {
  (void)name;
  if (access(value, R_OK) != 0) {
    fprintf(parse->err, "afetch: cannot read CA file '%s': %s\n", value, strerror(errno));
    return CLI_EXIT_USAGE;
  }
  parse->options->cacert = value;
  return CLI_RUN;
}

/* As curl's: it implies -L. */
static enum cli_outcome cli_opt_location_trusted(struct cli_parse *parse, const char *value,
                                                 const char *name) {
  (void)value, (void)name;
  parse->options->follow_redirects = true;
  parse->options->location_trusted = true;
  return CLI_RUN;
}

/* --resolve and --connect-to: curl_slists of "A:B:C" (resolve) or "A:B:C:D" (connect-to). */
static enum cli_outcome cli_opt_host_list(struct cli_parse *parse, const char *value,
                                          const char *name) {
  bool resolve = strcmp(name, "--resolve") == 0;
  size_t colons = 0;
  for (const char *c = value; *c; c++)
    colons += *c == ':';
  if (colons < (resolve ? 2u : 3u)) {
    fprintf(parse->err, "afetch: %s wants %s, not '%s'\n", name,
            resolve ? "HOST:PORT:ADDRESS[,ADDRESS]..." : "HOST1:PORT1:HOST2:PORT2", value);
    return CLI_EXIT_USAGE;
  }
  struct curl_slist **list = resolve ? &parse->options->resolve : &parse->options->connect_to;
  struct curl_slist *grown = curl_slist_append(*list, value);
  if (!grown) {
    fprintf(parse->err, "afetch: out of memory\n");
    return CLI_EXIT_USAGE;
  }
  *list = grown;
  return CLI_RUN;
}

/* --capath: a directory that can be read. */
static enum cli_outcome cli_opt_capath(struct cli_parse *parse, const char *value,
                                       const char *name) {
  (void)name;
  if (access(value, R_OK | X_OK) != 0) {
    fprintf(parse->err, "afetch: cannot read CA directory '%s': %s\n", value, strerror(errno));
    return CLI_EXIT_USAGE;
  }
  parse->options->capath = value;
  return CLI_RUN;
}

/* -I: as -X HEAD, which afetch already reads as curl's -I (headers only). */
static enum cli_outcome cli_opt_head(struct cli_parse *parse, const char *value, const char *name) {
  (void)value, (void)name;
  parse->options->method = "HEAD";
  return CLI_RUN;
}

/* -K and the default config file were read before argv (cli_config.c): here, nothing. */
static enum cli_outcome cli_opt_read_already(struct cli_parse *parse, const char *value,
                                             const char *name) {
  (void)parse, (void)value, (void)name;
  return CLI_RUN;
}

static enum cli_outcome cli_opt_include_headers(struct cli_parse *parse, const char *value,
                                                const char *name) {
  (void)value, (void)name;
  parse->options->result_fields |= RESULT_FIELD_HEADERS;
  return CLI_RUN;
}

/* A comma-separated list of cli_result_field_choices; repeated options add up. */
static enum cli_outcome cli_opt_result_fields(struct cli_parse *parse, const char *value,
                                              const char *name) {
  unsigned fields = 0;
  for (const char *item = value;; item++) {
    size_t length = strcspn(item, ",");
    const struct cli_choice *choice = cli_result_field_choices;
    while (choice->word &&
           !(strlen(choice->word) == length && !strncmp(choice->word, item, length)))
      choice++;
    if (!choice->word) {
      fprintf(parse->err,
              "afetch: %s wants a comma-separated list of headers, location, redirects_chain, "
              "method, started_at or all, not '%.*s'\n",
              name, (int)length, item);
      return CLI_EXIT_USAGE;
    }
    fields |= (unsigned)choice->value;
    item += length;
    if (!*item)
      break;
  }
  parse->options->result_fields |= fields;
  return CLI_RUN;
}

static enum cli_outcome cli_opt_help(struct cli_parse *parse, const char *value, const char *name) {
  (void)value, (void)name;
  /* curl's "--help all": the next argument, when it is "all". */
  bool all =
      parse->next_argument && *parse->next_argument && strcmp(*parse->next_argument, "all") == 0;
  cli_print_help(parse->out, all);
  return CLI_EXIT_OK;
}

static enum cli_outcome cli_opt_version(struct cli_parse *parse, const char *value,
                                        const char *name) {
  (void)value, (void)name;
  version_print(parse->out);
  return CLI_EXIT_OK;
}

/* --shard K/N or env (shard.h): read when given, so that a bad variable is a usage error. */
static enum cli_outcome cli_opt_shard(struct cli_parse *parse, const char *value,
                                      const char *name) {
  (void)name;
  char message[256];
  if (!shard_parse(value, getenv, &parse->options->shard, message, sizeof message)) {
    fprintf(parse->err, "afetch: %s\n", message);
    return CLI_EXIT_USAGE;
  }
  return CLI_RUN;
}

/* One option per entry, packed by hand to read as a table. */
/* clang-format off */
const struct cli_option cli_option_table[] = {
    /* Input: under the introduction of --help. */
    {.name = "input-file", .short_name = 'i', .value = CLI_VALUE_CUSTOM,
     .apply = cli_opt_input_file, .group = CLI_GROUP_INPUT, .arg = "FILE",
     .help = "name a FILE / a URL explicitly"},
    {.name = "url", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_CUSTOM, .apply = cli_opt_url,
     .group = CLI_GROUP_INPUT, .arg = "URL"},
    {.name = "shard", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_shard,
     .choices = cli_shard_choices, .group = CLI_GROUP_INPUT, .arg = "K/N|env",
     .help = "take only part K of N of the input"},
    {.name = "shard-by", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_CHOICE,
     CLI_ENUM(shard.by, enum shard_by), .choices = cli_shard_by_choices,
     .group = CLI_GROUP_INPUT, .arg = "host|line"},
    {.name = "redis", .value = CLI_VALUE_STRING, CLI_STRING(queue.redis_url),
     .check = cli_is_not_empty, .wants = "a redis:// URL", .group = CLI_GROUP_INPUT,
     .arg = "URL", .help = "a queue on Redis"},
    {.name = "enqueue", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(queue.enqueue),
     .set_to = true, .group = CLI_GROUP_INPUT},
    {.name = "worker", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(queue.worker),
     .set_to = true, .group = CLI_GROUP_INPUT},
    {.name = "status", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(queue.status),
     .set_to = true, .group = CLI_GROUP_INPUT},

    {.name = "concurrency", .short_name = 'c', .value = CLI_VALUE_INTEGER,
     CLI_UNSIGNED(concurrency), .min = 1, .max = CLI_MAX_CONCURRENCY, .group = CLI_GROUP_LIMITS,
     .arg = "N", .help = "at most N requests in flight (default 10)"},
    {.name = "timeout", .short_name = 't', .value = CLI_VALUE_SECONDS, CLI_LONG(timeout_ms),
     .min = 0, .wants = "a number of seconds, 0 (no limit) or more", .group = CLI_GROUP_LIMITS,
     .arg = "SEC", .help = "per request, 0: none (30; with -o: none)"},
    {.name = "max-time", .flags = CLI_ALIAS, .group = CLI_GROUP_LIMITS},
    {.name = "connect-timeout", .value = CLI_VALUE_SECONDS, CLI_LONG(connect_timeout_ms), .min = 1,
     .group = CLI_GROUP_LIMITS, .arg = "SEC", .help = "per connection (default 10)"},
    {.name = "speed-limit", .short_name = 'Y', .value = CLI_VALUE_INTEGER, CLI_LONG(speed_limit),
     .min = 1, .max = CLI_MAX_SPEED_LIMIT, .group = CLI_GROUP_LIMITS, .arg = "B",
     .help = "fail below B bytes/s for SEC s"},
    {.name = "speed-time", .short_name = 'y', .flags = CLI_HELP_JOIN, .value = CLI_VALUE_INTEGER,
     CLI_LONG(speed_time), .min = 1, .max = CLI_MAX_SPEED_TIME, .group = CLI_GROUP_LIMITS,
     .arg = "SEC"},
    {.name = "threads", .value = CLI_VALUE_INTEGER, CLI_UNSIGNED(threads), .min = 1,
     .max = CLI_MAX_THREADS, .choices = cli_threads_choices, .group = CLI_GROUP_LIMITS,
     .arg = "N|auto", .help = "event loops sharing -c (auto: one per CPU)"},
    {.name = "retries", .short_name = 'r', .value = CLI_VALUE_INTEGER, CLI_UNSIGNED(retries),
     .min = 0, .max = CLI_MAX_RETRIES, .group = CLI_GROUP_LIMITS, .arg = "N",
     .help = "retry transient failures N times (default 0)"},
    {.name = "retry-delay", .value = CLI_VALUE_SECONDS, CLI_LONG(retry_delay_ms), .min = 0,
     .group = CLI_GROUP_LIMITS, .arg = "SEC", .help = "backoff start / cap (1 / 30)"},
    {.name = "retry-max-delay", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_SECONDS,
     CLI_LONG(retry_max_delay_ms), .min = 1, .group = CLI_GROUP_LIMITS, .arg = "SEC"},
    {.name = "per-host", .value = CLI_VALUE_INTEGER, CLI_UNSIGNED(per_host), .min = 1,
     .max = CLI_MAX_CONCURRENCY, .group = CLI_GROUP_LIMITS, .arg = "N",
     .help = "in flight per host: at most N / AIMD"},
    {.name = "adaptive", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(adaptive),
     .set_to = true, .group = CLI_GROUP_LIMITS},
    {.name = "rate", .value = CLI_VALUE_RATE, CLI_DOUBLE(rate_per_second),
     .group = CLI_GROUP_LIMITS, .arg = "N[/s|/m|/h|/d]",
     .help = "start at most N requests per second (or m, h, d)"},
    {.name = "deadline", .value = CLI_VALUE_SECONDS, CLI_LONG(deadline_ms), .min = 1,
     .group = CLI_GROUP_LIMITS, .arg = "SEC",
     .help = "stop the whole run after SEC; unfinished: deadline"},

    {.name = "ndjson", .value = CLI_VALUE_NONE, CLI_ENUM(output_mode, enum afetch_output_mode),
     .set_to = AFETCH_OUTPUT_NDJSON, .group = CLI_GROUP_OUTPUT,
     .help = "JSON lines in completion order (default: an array)"},
    {.name = "quiet", .short_name = 'q', .value = CLI_VALUE_NONE, CLI_BOOL(quiet), .set_to = true,
     .group = CLI_GROUP_OUTPUT, .help = "no diagnostics on standard error"},
    /* --progress and --no-progress: the last one wins. */
    {.name = "progress", .flags = CLI_OPTIONAL_VALUE, .value = CLI_VALUE_CHOICE,
     CLI_ENUM(progress, enum afetch_progress), .set_to = AFETCH_PROGRESS_ON,
     .choices = cli_progress_choices, .group = CLI_GROUP_OUTPUT, .arg = "bar|lines",
     .help = "bar (tty default) or status lines"},
    {.name = "no-progress", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE,
     CLI_ENUM(progress, enum afetch_progress), .set_to = AFETCH_PROGRESS_OFF,
     .group = CLI_GROUP_OUTPUT},
    {.name = "progress-interval", .value = CLI_VALUE_SECONDS, CLI_LONG(progress_interval_ms),
     .min = 1, .group = CLI_GROUP_OUTPUT, .arg = "SEC",
     .help = "seconds between status lines (default 10)"},
    {.name = "stats", .value = CLI_VALUE_NONE, CLI_BOOL(stats), .set_to = true,
     .group = CLI_GROUP_OUTPUT, .help = "summary at the end: stderr table / JSON file"},
    {.name = "stats-json", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_STRING,
     CLI_STRING(stats_json_path), .check = cli_is_not_empty, .wants = "a file name",
     .group = CLI_GROUP_OUTPUT, .arg = "FILE"},
    {.name = "include-headers", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_include_headers,
     .group = CLI_GROUP_OUTPUT, .help = "add headers / these result keys"},
    {.name = "result-fields", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_CUSTOM,
     .apply = cli_opt_result_fields, .choices = cli_result_field_choices,
     .group = CLI_GROUP_OUTPUT, .arg = "KEYS"},

    {.name = "output-dir", .short_name = 'o', .value = CLI_VALUE_STRING, CLI_STRING(output_dir),
     .check = cli_is_not_empty, .wants = "a directory", .group = CLI_GROUP_SAVING, .arg = "DIR",
     .help = "save each 2xx body to DIR/host/path, atomically"},
    {.name = "output-template", .value = CLI_VALUE_STRING, CLI_STRING(output_template),
     .check = cli_is_not_empty, .wants = "a file name template", .group = CLI_GROUP_SAVING,
     .arg = "T", .help = "names: {host} {path} {name} {index} {url_hash}"},
    {.name = "fsync", .value = CLI_VALUE_NONE, CLI_BOOL(fsync), .set_to = true,
     .group = CLI_GROUP_SAVING, .help = "fsync saved files / never resume a download (-o)"},
    {.name = "no-resume", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(no_resume),
     .set_to = true, .group = CLI_GROUP_SAVING},
    {.name = "if-changed", .value = CLI_VALUE_STRING, CLI_STRING(state_path),
     .check = cli_is_not_empty, .wants = "a state file path", .group = CLI_GROUP_SAVING,
     .arg = "FILE", .help = "conditional requests; validators kept in FILE"},
    {.name = "sha256", .value = CLI_VALUE_NONE, CLI_BOOL(sha256), .set_to = true,
     .group = CLI_GROUP_SAVING, .help = "add the body's SHA-256 / the body to each result"},
    {.name = "body", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(body),
     .set_to = true, .group = CLI_GROUP_SAVING},
    {.name = "max-size", .value = CLI_VALUE_SIZE, CLI_UINT64(max_size), .group = CLI_GROUP_SAVING,
     .arg = "BYTES", .help = "fail larger bodies (k/M/G; --body alone: 1M)"},

    {.name = "crawl", .value = CLI_VALUE_NONE, CLI_BOOL(crawl), .set_to = true,
     .group = CLI_GROUP_CRAWLING, .help = "input URLs are seeds: fetch the pages they link to"},
    {.name = "depth", .flags = CLI_NEEDS_CRAWL, .value = CLI_VALUE_INTEGER, CLI_UNSIGNED(depth),
     .min = 0, .max = CLI_MAX_DEPTH, .group = CLI_GROUP_CRAWLING, .arg = "N",
     .help = "depth / pages at most (1 / 100000, 0: no limit)"},
    {.name = "max-pages", .flags = CLI_NEEDS_CRAWL | CLI_HELP_JOIN, .value = CLI_VALUE_INTEGER,
     CLI_ULONG(max_pages), .min = 0, .max = LONG_MAX, .wants = "a whole number, 0 for no limit",
     .group = CLI_GROUP_CRAWLING, .arg = "N"},
    {.name = "scope", .flags = CLI_NEEDS_CRAWL, .value = CLI_VALUE_CHOICE,
     CLI_ENUM(scope, enum crawl_scope), .choices = cli_scope_choices,
     .group = CLI_GROUP_CRAWLING, .arg = "S",
     .help = "S: the seed's host, domain or prefix (default host)"},
    /* Compiled later, by the frontier. */
    {.name = "include", .flags = CLI_NEEDS_CRAWL | CLI_ONCE, .value = CLI_VALUE_STRING,
     CLI_STRING(include_regex), .check = cli_is_not_empty, .wants = "a regular expression",
     .group = CLI_GROUP_CRAWLING, .arg = "REGEX", .help = "follow only / never matching URLs"},
    {.name = "exclude", .flags = CLI_NEEDS_CRAWL | CLI_ONCE | CLI_HELP_JOIN,
     .value = CLI_VALUE_STRING, CLI_STRING(exclude_regex), .check = cli_is_not_empty,
     .wants = "a regular expression", .group = CLI_GROUP_CRAWLING, .arg = "REGEX"},
    {.name = "robots", .flags = CLI_NEEDS_CRAWL, .value = CLI_VALUE_NONE, CLI_BOOL(robots),
     .set_to = true, .group = CLI_GROUP_CRAWLING,
     .help = "honour robots.txt / results for blocked URLs"},
    {.name = "show-skipped", .flags = CLI_NEEDS_CRAWL | CLI_HELP_JOIN, .value = CLI_VALUE_NONE,
     CLI_BOOL(show_skipped), .set_to = true, .group = CLI_GROUP_CRAWLING},
    {.name = "links", .flags = CLI_NEEDS_CRAWL, .value = CLI_VALUE_NONE, CLI_BOOL(links),
     .set_to = true, .group = CLI_GROUP_CRAWLING,
     .help = "add each page's links to its result (link_urls)"},
    {.name = "page-requisites", .short_name = 'p', .flags = CLI_NEEDS_CRAWL,
     .value = CLI_VALUE_NONE, CLI_BOOL(page_requisites), .set_to = true,
     .group = CLI_GROUP_CRAWLING, .help = "also fetch what pages show with (img, css, ...)"},
    {.name = "span-hosts", .flags = CLI_NEEDS_CRAWL, .value = CLI_VALUE_NONE,
     CLI_BOOL(span_hosts), .set_to = true, .group = CLI_GROUP_CRAWLING,
     .help = "requisites from any host (default: the page's)"},

    {.name = "location", .short_name = 'L', .value = CLI_VALUE_NONE, CLI_BOOL(follow_redirects),
     .set_to = true, .group = CLI_GROUP_REQUESTS, .help = "follow redirects (default) / do not"},
    {.name = "no-location", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE,
     CLI_BOOL(follow_redirects), .set_to = false, .group = CLI_GROUP_REQUESTS},
    {.name = "max-redirs", .value = CLI_VALUE_INTEGER, CLI_LONG(max_redirects), .min = -1,
     .max = INT_MAX, .wants = "a whole number, -1 for no limit", .group = CLI_GROUP_REQUESTS,
     .arg = "N", .help = "at most N redirects, -1 for no limit (default 10)"},
    {.name = "header", .short_name = 'H', .value = CLI_VALUE_CUSTOM, .apply = cli_opt_header,
     .group = CLI_GROUP_REQUESTS, .arg = "'K: V'", .help = "add a request header (repeatable)"},
    {.name = "user-agent", .short_name = 'A', .value = CLI_VALUE_STRING, CLI_STRING(user_agent),
     .group = CLI_GROUP_REQUESTS, .arg = "S",
     .help = "User-Agent header (default afetch/" AFETCH_VERSION ")"},
    {.name = "request", .short_name = 'X', .value = CLI_VALUE_STRING, CLI_STRING(method),
     .check = cli_is_method, .wants = "an HTTP method name", .group = CLI_GROUP_REQUESTS,
     .arg = "METHOD", .help = "request method (HEAD: headers only, like curl -I)"},
    {.name = "data", .short_name = 'd', .value = CLI_VALUE_CUSTOM, .apply = cli_opt_data,
     .group = CLI_GROUP_REQUESTS, .arg = "DATA",
     .help = "POST DATA (@FILE reads it; several -d joined by &)"},
    {.name = "insecure", .short_name = 'k', .value = CLI_VALUE_NONE, CLI_BOOL(insecure),
     .set_to = true, .group = CLI_GROUP_REQUESTS,
     .help = "no certificate check / trust FILE's CAs"},
    {.name = "cacert", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_CUSTOM, .apply = cli_opt_cacert,
     .group = CLI_GROUP_REQUESTS, .arg = "FILE"},
    {.name = "http1.1", .value = CLI_VALUE_NONE,
     CLI_ENUM(http_version, enum afetch_http_version), .set_to = AFETCH_HTTP_1_1,
     .group = CLI_GROUP_REQUESTS, .help = "HTTP version (default: libcurl's choice)"},
    {.name = "http2", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE,
     CLI_ENUM(http_version, enum afetch_http_version), .set_to = AFETCH_HTTP_2,
     .group = CLI_GROUP_REQUESTS},
    {.name = "help", .short_name = 'h', .value = CLI_VALUE_CUSTOM, .apply = cli_opt_help,
     .group = CLI_GROUP_REQUESTS, .help = "this text / versions of afetch and its libraries"},
    {.name = "version", .short_name = 'V', .flags = CLI_HELP_JOIN, .value = CLI_VALUE_CUSTOM,
     .apply = cli_opt_version, .group = CLI_GROUP_REQUESTS},

    /* curl's network options, under --help all. */
    {.name = "location-trusted", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_location_trusted,
     .group = CLI_GROUP_NETWORK, .help = "send Authorization and Cookie to other hosts too"},
    {.name = "retry-all-errors", .value = CLI_VALUE_NONE, CLI_BOOL(retry_all_errors),
     .set_to = true, .group = CLI_GROUP_NETWORK,
     .help = "with -r: retry every failed transfer (any status)"},
    {.name = "proxy", .short_name = 'x', .value = CLI_VALUE_STRING, CLI_STRING(proxy),
     .group = CLI_GROUP_NETWORK, .arg = "URL",
     .help = "proxy: http(s)://, socks4(a)://, socks5(h)://"},
    {.name = "noproxy", .value = CLI_VALUE_STRING, CLI_STRING(noproxy), .group = CLI_GROUP_NETWORK,
     .arg = "LIST", .help = "hosts (comma-separated, * for all) not proxied"},
    {.name = "proxy-user", .short_name = 'U', .value = CLI_VALUE_STRING, CLI_STRING(proxy_user),
     .check = cli_is_credentials, .wants = "USER:PASSWORD", .group = CLI_GROUP_NETWORK,
     .arg = "U:P", .help = "the proxy's user and password"},
    {.name = "user", .short_name = 'u', .value = CLI_VALUE_STRING, CLI_STRING(user),
     .check = cli_is_credentials, .wants = "USER:PASSWORD", .group = CLI_GROUP_NETWORK,
     .arg = "U:P", .help = "server user and password (Basic; not to other hosts)"},
    {.name = "cookie", .short_name = 'b', .value = CLI_VALUE_STRING, CLI_STRING(cookie),
     .check = cli_is_not_empty, .wants = "'NAME=VALUE[; ...]' or a file",
     .group = CLI_GROUP_NETWORK, .arg = "S|FILE",
     .help = "cookies to send: 'N=V; ...' or a file; kept\nfor the run / all written to FILE at the end"},
    {.name = "cookie-jar", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_STRING,
     CLI_STRING(cookie_jar), .check = cli_is_not_empty, .wants = "a file name",
     .group = CLI_GROUP_NETWORK, .arg = "FILE"},
    {.name = "resolve", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_host_list,
     .group = CLI_GROUP_NETWORK, .arg = "H:P:ADDR", .help = "use ADDR for host H, port P"},
    {.name = "connect-to", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_host_list,
     .group = CLI_GROUP_NETWORK, .arg = "H:P:H2:P2", .help = "connect to H2:P2 for H:P"},
    {.name = "ipv4", .short_name = '4', .value = CLI_VALUE_NONE, CLI_ENUM(ip_version, int),
     .set_to = 4, .group = CLI_GROUP_NETWORK, .help = "IPv4 / IPv6 addresses only"},
    {.name = "ipv6", .short_name = '6', .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE,
     CLI_ENUM(ip_version, int), .set_to = 6, .group = CLI_GROUP_NETWORK},
    {.name = "interface", .value = CLI_VALUE_STRING, CLI_STRING(interface),
     .check = cli_is_not_empty, .wants = "an interface, address or host name",
     .group = CLI_GROUP_NETWORK, .arg = "NAME", .help = "send from this interface or address"},
    {.name = "cert", .short_name = 'E', .value = CLI_VALUE_STRING, CLI_STRING(cert),
     .check = cli_is_not_empty, .wants = "a certificate file", .group = CLI_GROUP_NETWORK,
     .arg = "FILE", .help = "client certificate / its private key"},
    {.name = "key", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_STRING, CLI_STRING(key),
     .check = cli_is_not_empty, .wants = "a key file", .group = CLI_GROUP_NETWORK, .arg = "FILE"},
    {.name = "cert-type", .value = CLI_VALUE_STRING, CLI_STRING(cert_type),
     .check = cli_is_cert_type, .wants = "PEM, DER or P12", .group = CLI_GROUP_NETWORK,
     .arg = "T", .help = "-E's format: PEM (default), DER or P12"},
    {.name = "capath", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_capath,
     .group = CLI_GROUP_NETWORK, .arg = "DIR", .help = "trust the CAs of DIR (c_rehash'd)"},
    {.name = "compressed", .value = CLI_VALUE_NONE, CLI_BOOL(compressed), .set_to = true,
     .group = CLI_GROUP_NETWORK, .help = "ask for compressed bodies, decode them; adds wire_size"},
    {.name = "limit-rate", .value = CLI_VALUE_SIZE, CLI_UINT64(limit_rate),
     .group = CLI_GROUP_NETWORK, .arg = "B", .help = "receive at most B bytes/s per transfer (k/M/G)"},
    {.name = "head", .short_name = 'I', .value = CLI_VALUE_CUSTOM, .apply = cli_opt_head,
     .group = CLI_GROUP_NETWORK, .help = "HEAD requests (as -X HEAD)"},

    {.name = "config", .short_name = 'K', .value = CLI_VALUE_CUSTOM, .apply = cli_opt_read_already,
     .group = CLI_GROUP_CONFIG, .arg = "FILE", .help = "read options from FILE (curl's syntax)"},
    {.name = "disable", .value = CLI_VALUE_CUSTOM, .apply = cli_opt_read_already,
     .group = CLI_GROUP_CONFIG, .help = "first: skip ~/.config/afetch/afetchrc"},
    {.name = "journal", .value = CLI_VALUE_STRING, CLI_STRING(journal_path),
     .check = cli_is_not_empty, .wants = "a journal file path", .group = CLI_GROUP_REQUESTS,
     .arg = "FILE", .help = "resume, sync each N / merge"},
    {.name = "journal-sync", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_INTEGER,
     CLI_UNSIGNED(journal_sync_every), .min = 1, .max = CLI_MAX_JOURNAL_SYNC,
     .group = CLI_GROUP_REQUESTS, .arg = "N"},
    {.name = "merge", .flags = CLI_HELP_JOIN, .value = CLI_VALUE_NONE, CLI_BOOL(merge),
     .set_to = true, .group = CLI_GROUP_REQUESTS},

    {.name = "per-host-rate", .value = CLI_VALUE_RATE, CLI_DOUBLE(per_host_rate),
     .group = CLI_GROUP_PACE, .arg = "N[/s|/m|/h|/d]",
     .help = "as --rate, for each scheme+host+port"},
    {.name = "per-host-delay", .value = CLI_VALUE_SECONDS, CLI_LONG(per_host_delay_ms), .min = 0,
     .group = CLI_GROUP_PACE, .arg = "SEC", .help = "at least SEC between starts to a host"},
    {.name = "queue", .value = CLI_VALUE_STRING, CLI_STRING(queue.name), .check = cli_is_not_empty,
     .wants = "a queue name", .group = CLI_GROUP_QUEUE, .arg = "NAME",
     .help = "the queue's name (default afetch)"},
    {.name = "idle-exit", .value = CLI_VALUE_SECONDS, CLI_LONG(queue.idle_exit_ms), .min = 0,
     .wants = "a number of seconds, 0 or more", .group = CLI_GROUP_QUEUE, .arg = "SEC",
     .help = "--worker: exit once the queue was empty SEC"},
    {.name = "reclaim-after", .value = CLI_VALUE_SECONDS, CLI_LONG(queue.reclaim_after_ms),
     .min = 1, .group = CLI_GROUP_QUEUE, .arg = "SEC",
     .help = "take a silent worker's entries after SEC (30)"},
    {.name = "max-deliveries", .value = CLI_VALUE_INTEGER, CLI_UNSIGNED(queue.max_deliveries),
     .min = 1, .max = CLI_MAX_DELIVERIES, .group = CLI_GROUP_QUEUE, .arg = "N",
     .help = "then dead-letter an entry (default 5)"},
    {.name = "redis-timeout", .value = CLI_VALUE_SECONDS, CLI_LONG(queue.redis_timeout_ms),
     .min = 1, .group = CLI_GROUP_QUEUE, .arg = "SEC",
     .help = "--worker: exit 3 after SEC without Redis"},
};
/* clang-format on */

const size_t cli_option_count = sizeof cli_option_table / sizeof cli_option_table[0];
