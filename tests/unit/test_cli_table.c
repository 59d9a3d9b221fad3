/* cli_table.h: --help, the man page's option list (docs/afetch.1) and the bash, zsh and fish
 * completions (completions/) name exactly the options of cli_option_table, long and short; the
 * zsh and fish files are what completions/generator/completions.c writes from the table now. The files are read
 * from the source tree the Makefile names (AFETCH_SOURCE_DIR). */
#include "unit_helpers.h"

#include <ctype.h>

#include "afetch/cli.h"
#include "afetch/cli_table.h"

#include "../../completions/generator/completions.h"

#ifndef AFETCH_SOURCE_DIR
#define AFETCH_SOURCE_DIR "."
#endif

#define NAMES_MAX 256
#define NAME_SIZE 40

/* A set of option names as written on a command line: "--name" or "-x". */
struct names {
  size_t count;
  char name[NAMES_MAX][NAME_SIZE];
};

static bool names_has(const struct names *names, const char *name) {
  for (size_t i = 0; i < names->count; i++)
    if (strcmp(names->name[i], name) == 0)
      return true;
  return false;
}

static void names_add(struct names *names, const char *name, size_t length) {
  char copy[NAME_SIZE];
  assert_true(length < NAME_SIZE);
  snprintf(copy, sizeof copy, "%.*s", (int)length, name);
  if (names_has(names, copy))
    return;
  assert_true(names->count < NAMES_MAX);
  snprintf(names->name[names->count++], NAME_SIZE, "%s", copy);
}

static bool is_name_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '.'; }

/* Adds every option word of text[0, length): "--name" (letters, digits, '-' and '.', not
 * ending in '.') or "-x" (one letter or digit: -4, -6), neither inside another word. */
static void names_scan(struct names *names, const char *text, size_t length) {
  for (size_t i = 0; i + 1 < length; i++) {
    if (text[i] != '-' || (i > 0 && is_name_char(text[i - 1])))
      continue;
    if (text[i + 1] == '-' && i + 2 < length && isalnum((unsigned char)text[i + 2])) {
      size_t end = i + 2;
      while (end < length && is_name_char(text[end]))
        end++;
      while (text[end - 1] == '.')
        end--;
      names_add(names, text + i, end - i);
      i = end;
    } else if (isalnum((unsigned char)text[i + 1]) &&
               (i + 2 == length || !is_name_char(text[i + 2]))) {
      names_add(names, text + i, 2);
    }
  }
}

/* Every name of the table: each entry's "--name", and "-x" for a short letter. */
static void table_names(struct names *names) {
  names->count = 0;
  for (size_t i = 0; i < cli_option_count; i++) {
    char name[NAME_SIZE];
    snprintf(name, sizeof name, "--%s", cli_option_table[i].name);
    names_add(names, name, strlen(name));
    if (cli_option_table[i].short_name) {
      snprintf(name, sizeof name, "-%c", cli_option_table[i].short_name);
      names_add(names, name, 2);
    }
  }
}

/* The options of --help: on each indented line that starts with '-', the column before the
 * description (which starts after two spaces). */
static void help_names(const char *help, struct names *names) {
  names->count = 0;
  for (const char *line = help; *line;) {
    size_t length = strcspn(line, "\n");
    const char *first = line + strspn(line, " ");
    if (first >= line + 2 && *first == '-') {
      const char *description = strstr(first, "  ");
      size_t column =
          description && description < line + length ? (size_t)(description - line) : length;
      names_scan(names, line, column);
    }
    line += length + (line[length] ? 1 : 0);
  }
}

/* The options of the man page's OPTIONS section: the tag lines after .TP and .TQ, with
 * roff's "\-" read as "-". */
static void man_names(const char *man, struct names *names) {
  names->count = 0;
  const char *section = strstr(man, "\n.SH OPTIONS\n");
  assert_non_null(section);
  const char *section_end = strstr(section + 1, "\n.SH ");
  assert_non_null(section_end);
  bool tag_line = false;
  for (const char *line = section + 1; line < section_end;) {
    size_t length = strcspn(line, "\n");
    if (tag_line) {
      char plain[512];
      size_t used = 0;
      for (size_t i = 0; i < length && used + 1 < sizeof plain; i++)
        if (!(line[i] == '\\' && i + 1 < length && line[i + 1] == '-'))
          plain[used++] = line[i];
      names_scan(names, plain, used);
    }
    tag_line = strncmp(line, ".TP", 3) == 0 || strncmp(line, ".TQ", 3) == 0;
    line += length + 1;
  }
}

/* The words of the completion's two option lists, _afetch_long_options='...' and
 * _afetch_short_options='...'. */
static void completion_names(const char *script, struct names *names) {
  static const char *const lists[] = {"\n_afetch_long_options='", "\n_afetch_short_options='"};
  names->count = 0;
  for (size_t i = 0; i < HELPER_COUNT(lists); i++) {
    const char *list = strstr(script, lists[i]);
    if (!list)
      fail_msg("completions/afetch.bash has no %s", lists[i] + 1);
    list += strlen(lists[i]);
    const char *end = strchr(list, '\'');
    assert_non_null(end);
    names_scan(names, list, (size_t)(end - list));
  }
}

/* The options of the zsh completion's _arguments specs: on each spec line (it has a
 * "[description]"), the names before the '[' and after an exclusion list "'(-x --name)'". */
static void zsh_names(const char *script, struct names *names) {
  names->count = 0;
  const char *specs = strstr(script, "\n  _arguments ");
  if (!specs)
    fail_msg("completions/_afetch has no _arguments call");
  for (const char *line = specs + 1; *line;) {
    size_t length = strcspn(line, "\n");
    const char *names_start = line + strspn(line, " ");
    if (strncmp(names_start, "'(", 2) == 0) /* an exclusion list: not the names themselves */
      names_start += strcspn(names_start, ")");
    const char *description = memchr(line, '[', length);
    if (description && names_start < description)
      names_scan(names, names_start, (size_t)(description - names_start));
    if (length < 2 || line[length - 1] != '\\') /* the last spec */
      break;
    line += length + 1;
  }
}

/* The options of the fish completion: "-s X" and "-l NAME" of each "complete -c afetch" line
 * (before its "-d" description). */
static void fish_names(const char *script, struct names *names) {
  static const char command[] = "complete -c afetch ";
  names->count = 0;
  for (const char *line = script; *line;) {
    size_t length = strcspn(line, "\n");
    if (strncmp(line, command, strlen(command)) == 0) {
      const char *description = strstr(line, " -d ");
      const char *end = description && description < line + length ? description : line + length;
      for (const char *at = line; (at = strstr(at, " -")) && at < end; at++) {
        size_t name_length = strcspn(at + 4, " \n");
        char name[NAME_SIZE];
        if (at[2] == 's' && at[3] == ' ')
          snprintf(name, sizeof name, "-%.*s", (int)name_length, at + 4);
        else if (at[2] == 'l' && at[3] == ' ')
          snprintf(name, sizeof name, "--%.*s", (int)name_length, at + 4);
        else
          continue;
        names_add(names, name, strlen(name));
      }
    }
    line += length + (line[length] ? 1 : 0);
  }
}

/* The 1-based number of the first line where `have` and `want` differ, or 0 when equal. */
static size_t first_different_line(const char *have, const char *want) {
  size_t line = 1;
  for (; *have && *have == *want; have++, want++)
    line += *have == '\n';
  return *have == *want ? 0 : line;
}

/* What `write` prints now (the caller frees it). */
static char *written(void (*write)(FILE *out)) {
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  assert_non_null(out);
  write(out);
  fclose(out);
  return text;
}

/* The first name of `want` that `have` lacks, or NULL. */
static const char *first_missing(const struct names *have, const struct names *want) {
  for (size_t i = 0; i < want->count; i++)
    if (!names_has(have, want->name[i]))
      return want->name[i];
  return NULL;
}

/* Fails unless `names` (read from `where`) are exactly the table's names. */
static void expect_table_names(const struct names *names, const char *where) {
  static struct names table;
  table_names(&table);
  if (table.count < 60)
    fail_msg("the table has only %zu names", table.count);
  const char *missing = first_missing(names, &table);
  if (missing)
    fail_msg("%s does not name %s", where, missing);
  const char *extra = first_missing(&table, names);
  if (extra)
    fail_msg("%s names %s, which is not in the option table", where, extra);
}

static char *read_source_file(const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", AFETCH_SOURCE_DIR, relative);
  FILE *file = fopen(path, "r");
  if (!file)
    fail_msg("cannot open %s", path);
  char *text = NULL;
  size_t size = 0;
  FILE *copy = open_memstream(&text, &size);
  assert_non_null(copy);
  int c;
  while ((c = getc(file)) != EOF)
    putc(c, copy);
  fclose(file);
  fclose(copy);
  return text;
}

/* "--help all" (every option), or the short "--help". */
static char *help_text(bool all) {
  static char *argv[] = {"afetch", "--help", "all", NULL};
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  assert_non_null(out);
  struct afetch_options options;
  assert_int_equal(cli_parse(&options, all ? 3 : 2, argv, out, stderr), CLI_EXIT_OK);
  fclose(out);
  return text;
}

/* `text` with its first `from` replaced by `to` (the caller frees it). */
static char *replaced(const char *text, const char *from, const char *to) {
  const char *at = strstr(text, from);
  assert_non_null(at);
  size_t before = (size_t)(at - text);
  char *result = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
  assert_non_null(result);
  sprintf(result, "%.*s%s%s", (int)before, text, to, at + strlen(from));
  return result;
}

static void help_names_every_option_of_the_table_and_no_other(void **state) {
  (void)state;
  char *help = help_text(true);
  static struct names names;
  help_names(help, &names);
  expect_table_names(&names, "--help all");
  free(help);
}

/* The short --help: the table's options of the groups before the network one, and only
 * them; then a pointer to --help all. */
static void short_help_names_the_common_options_only(void **state) {
  (void)state;
  char *help = help_text(false);
  static struct names names, common;
  help_names(help, &names);
  common.count = 0;
  for (size_t i = 0; i < cli_option_count; i++) {
    const struct cli_option *option = &cli_option_table[i];
    char name[NAME_SIZE];
    snprintf(name, sizeof name, "--%s", option->name);
    if (option->group >= CLI_GROUP_NETWORK) {
      if (names_has(&names, name))
        fail_msg("the short --help names %s", name);
      continue;
    }
    names_add(&common, name, strlen(name));
    if (option->short_name) {
      snprintf(name, sizeof name, "-%c", option->short_name);
      names_add(&common, name, 2);
    }
  }
  assert_null(first_missing(&names, &common));
  assert_null(first_missing(&common, &names));
  assert_non_null(strstr(help, "afetch --help all"));
  free(help);
}

static void man_page_lists_every_option_of_the_table_and_no_other(void **state) {
  (void)state;
  char *man = read_source_file("docs/afetch.1");
  static struct names names;
  man_names(man, &names);
  expect_table_names(&names, "docs/afetch.1 (OPTIONS)");
  free(man);
}

static void completion_offers_every_option_of_the_table_and_no_other(void **state) {
  (void)state;
  char *script = read_source_file("completions/afetch.bash");
  static struct names names;
  completion_names(script, &names);
  expect_table_names(&names, "completions/afetch.bash");
  free(script);
}

/* The readers above must see an option that is missing or one too many. */
static void the_checks_see_a_missing_and_an_extra_option(void **state) {
  (void)state;
  static struct names table, names;
  table_names(&table);
  char *help = help_text(true);
  char *doctored = replaced(help, "--deadline SEC", "--dead-line SEC");
  help_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "--deadline");
  assert_string_equal(first_missing(&table, &names), "--dead-line");
  free(doctored);
  free(help);

  char *man = read_source_file("docs/afetch.1");
  doctored = replaced(man, "\n.SS Other\n", "\n.TP\n.BR \\-Z \", \" \\-\\-bogus\n.SS Other\n");
  man_names(doctored, &names);
  assert_null(first_missing(&names, &table));
  assert_string_equal(first_missing(&table, &names), "-Z");
  free(doctored);
  doctored = replaced(man, ".B \\-\\-sha256\n", ".B \\-\\-sha\n");
  man_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "--sha256");
  free(doctored);
  free(man);

  char *script = read_source_file("completions/afetch.bash");
  doctored = replaced(script, " --http2 ", " ");
  completion_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "--http2");
  assert_null(first_missing(&table, &names));
  free(doctored);
  free(script);
}

static void zsh_completion_offers_every_option_of_the_table_and_no_other(void **state) {
  (void)state;
  char *script = read_source_file("completions/_afetch");
  static struct names names;
  zsh_names(script, &names);
  expect_table_names(&names, "completions/_afetch");
  free(script);
}

static void fish_completion_offers_every_option_of_the_table_and_no_other(void **state) {
  (void)state;
  char *script = read_source_file("completions/afetch.fish");
  static struct names names;
  fish_names(script, &names);
  expect_table_names(&names, "completions/afetch.fish");
  free(script);
}

/* Fails unless the file `relative` is what `write` prints from the table now. */
static void expect_generated(const char *relative, void (*write)(FILE *out)) {
  char *file = read_source_file(relative);
  char *now = written(write);
  size_t line = first_different_line(file, now);
  if (line)
    fail_msg("%s differs from completions/generator/completions.c's output from line %zu: run `make "
             "completions`",
             relative, line);
  free(now);
  free(file);
}

static void zsh_and_fish_completions_are_written_from_the_table(void **state) {
  (void)state;
  expect_generated("completions/_afetch", completions_write_zsh);
  expect_generated("completions/afetch.fish", completions_write_fish);
}

/* The zsh and fish readers see a missing and an extra option, and a changed file is seen. */
static void the_completion_checks_see_a_change(void **state) {
  (void)state;
  static struct names table, names;
  table_names(&table);
  char *zsh = read_source_file("completions/_afetch");
  char *doctored = replaced(zsh, "    '--http2[", "    '--http-two[");
  zsh_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "--http2");
  assert_string_equal(first_missing(&table, &names), "--http-two");
  assert_int_not_equal(first_different_line(zsh, doctored), 0);
  free(doctored);
  doctored = replaced(zsh, "(-k --insecure)'{-k,", "(-k --insecure)'{-Z,");
  zsh_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "-k");
  assert_string_equal(first_missing(&table, &names), "-Z");
  free(doctored);
  free(zsh);

  char *fish = read_source_file("completions/afetch.fish");
  doctored = replaced(fish, "complete -c afetch -l http2 ", "complete -c afetch -l http-two ");
  fish_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "--http2");
  assert_string_equal(first_missing(&table, &names), "--http-two");
  free(doctored);
  doctored = replaced(fish, "complete -c afetch -s k ", "complete -c afetch -s Z ");
  fish_names(doctored, &names);
  assert_string_equal(first_missing(&names, &table), "-k");
  assert_string_equal(first_missing(&table, &names), "-Z");
  free(doctored);
  /* A description naming an option is not an option. */
  doctored = replaced(fish, "-d 'add a request header", "-d '-Z / --bogus: add a request header");
  fish_names(doctored, &names);
  assert_null(first_missing(&table, &names));
  size_t header_line = 1;
  for (const char *c = fish; c < strstr(fish, "-s H -l header"); c++)
    header_line += *c == '\n';
  assert_int_equal(first_different_line(fish, doctored), header_line);
  assert_int_equal(first_different_line(fish, fish), 0);
  free(doctored);
  free(fish);
}

/* Every table entry is well formed: a unique name, a value kind that fits its fields. */
static void table_entries_are_well_formed(void **state) {
  (void)state;
  for (size_t i = 0; i < cli_option_count; i++) {
    const struct cli_option *option = &cli_option_table[i];
    for (size_t j = 0; j < i; j++) {
      if (strcmp(option->name, cli_option_table[j].name) == 0)
        fail_msg("--%s is in the table twice", option->name);
      if (option->short_name && option->short_name == cli_option_table[j].short_name)
        fail_msg("-%c is in the table twice", option->short_name);
    }
    if (option->flags & CLI_ALIAS) {
      if (i == 0 || option->short_name || option->help)
        fail_msg("--%s: an alias follows its option and has no letter or text", option->name);
      continue;
    }
    if ((option->value == CLI_VALUE_CUSTOM) != (option->apply != NULL))
      fail_msg("--%s: apply goes with CLI_VALUE_CUSTOM, and only with it", option->name);
    if ((option->value == CLI_VALUE_NONE) != (option->arg == NULL) &&
        option->value != CLI_VALUE_CUSTOM)
      fail_msg("--%s: only an option without a value has no ARG in --help", option->name);
    if ((option->help == NULL) != ((option->flags & CLI_HELP_JOIN) != 0))
      fail_msg("--%s: an option has its own help text unless it joins a line", option->name);
    if ((option->value == CLI_VALUE_CHOICE) && !option->choices)
      fail_msg("--%s: a choice without choices", option->name);
    if ((option->flags & CLI_ONCE) && option->store != CLI_STORE_STRING)
      fail_msg("--%s: only a string option can be refused a second time", option->name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(help_names_every_option_of_the_table_and_no_other),
      cmocka_unit_test(short_help_names_the_common_options_only),
      cmocka_unit_test(man_page_lists_every_option_of_the_table_and_no_other),
      cmocka_unit_test(completion_offers_every_option_of_the_table_and_no_other),
      cmocka_unit_test(the_checks_see_a_missing_and_an_extra_option),
      cmocka_unit_test(zsh_completion_offers_every_option_of_the_table_and_no_other),
      cmocka_unit_test(fish_completion_offers_every_option_of_the_table_and_no_other),
      cmocka_unit_test(zsh_and_fish_completions_are_written_from_the_table),
      cmocka_unit_test(the_completion_checks_see_a_change),
      cmocka_unit_test(table_entries_are_well_formed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
