/* The zsh and fish completion scripts, written from cli_option_table: every option with its
 * short letter, its --help text as description, and how its value completes. A value
 * completes from the option's choices, else by its name in --help (completion_hints: FILE,
 * DIR, URL, DATA, METHOD), else it is the user's own text and nothing is offered. */
#include "completions.h"

#include <stdbool.h>
#include <string.h>

#include "afetch/cli_table.h"

enum completion_kind {
  COMPLETE_NONE,  /* no value */
  COMPLETE_TEXT,  /* the user's own value: nothing to offer */
  COMPLETE_WORDS, /* one of `words` */
  COMPLETE_FILE,
  COMPLETE_DIRECTORY,
  COMPLETE_URL,
  COMPLETE_DATA, /* free text, or @FILE */
};

/* How a value completes by its name in --help, when the option has no choices. */
static const struct completion_hint {
  const char *arg;
  enum completion_kind kind;
  const char *words;
} completion_hints[] = {
    {"FILE", COMPLETE_FILE, NULL},
    {"DIR", COMPLETE_DIRECTORY, NULL},
    {"URL", COMPLETE_URL, NULL},
    {"DATA", COMPLETE_DATA, NULL},
    {"METHOD", COMPLETE_WORDS, "GET HEAD POST PUT PATCH DELETE OPTIONS"},
};

#define COMPLETION_TEXT_SIZE 256

/* One entry of the table as a completion sees it. */
struct completion_option {
  const char *name;
  char short_name;
  const char *arg; /* the value's name in --help; NULL: no value */
  bool optional;   /* a value only after '=' */
  /* Offered again after a first use: an option of its own code that takes a value (the
   * inputs, -H, -d) adds to a list rather than setting one field. */
  bool repeatable;
  enum completion_kind kind;
  char words[COMPLETION_TEXT_SIZE]; /* COMPLETE_WORDS: separated by spaces */
  char help[COMPLETION_TEXT_SIZE];  /* its --help line's text, on one line */
};

/* Copies `text` into `buffer` on one line, with "VERSION" for afetch's version (so that the
 * scripts do not change with it). */
static void completion_copy_text(char *buffer, size_t size, const char *text) {
  size_t used = 0, version_length = strlen(AFETCH_VERSION);
  while (*text && used + 1 < size) {
    if (strncmp(text, AFETCH_VERSION, version_length) == 0) {
      used += (size_t)snprintf(buffer + used, size - used, "VERSION");
      used = used < size ? used : size - 1;
      text += version_length;
    } else {
      buffer[used++] = *text == '\n' ? ' ' : *text;
      text++;
    }
  }
  buffer[used] = '\0';
}

/* The choices of `option`, separated by spaces. */
static void completion_copy_choices(char *buffer, size_t size, const struct cli_option *option) {
  size_t used = 0;
  buffer[0] = '\0';
  for (const struct cli_choice *choice = option->choices; choice->word && used < size; choice++)
    used += (size_t)snprintf(buffer + used, size - used, "%s%s", used ? " " : "", choice->word);
}

/* Entry `index` of the table: an alias completes as the option it names, an entry that joins
 * a --help line takes that line's text. */
static void completion_option_at(size_t index, struct completion_option *out) {
  const struct cli_option *entry = &cli_option_table[index];
  size_t owner = index, described = index;
  while (owner > 0 && (cli_option_table[owner].flags & CLI_ALIAS))
    owner--;
  while (described > 0 && !cli_option_table[described].help)
    described--;
  const struct cli_option *option = &cli_option_table[owner];
  *out = (struct completion_option){.name = entry->name,
                                    .short_name = entry->short_name,
                                    .arg = option->arg,
                                    .optional = (option->flags & CLI_OPTIONAL_VALUE) != 0,
                                    .repeatable = option->value == CLI_VALUE_CUSTOM && option->arg,
                                    .kind = option->arg ? COMPLETE_TEXT : COMPLETE_NONE};
  const char *help = cli_option_table[described].help; /* test_cli_table: never NULL */
  completion_copy_text(out->help, sizeof out->help, help ? help : "");
  if (!option->arg)
    return;
  if (option->choices) {
    out->kind = COMPLETE_WORDS;
    completion_copy_choices(out->words, sizeof out->words, option);
    return;
  }
  for (size_t i = 0; i < sizeof completion_hints / sizeof completion_hints[0]; i++)
    if (strcmp(option->arg, completion_hints[i].arg) == 0) {
      out->kind = completion_hints[i].kind;
      if (completion_hints[i].words)
        completion_copy_text(out->words, sizeof out->words, completion_hints[i].words);
    }
}

/* Writes `text` for the inside of a shell word in single quotes: a quote as '\'' (ends the
 * word, an escaped quote, opens it again), and a backslash before each of `special`. */
static void completion_put_quoted(FILE *out, const char *text, const char *special) {
  for (; *text; text++) {
    if (*text == '\'')
      fputs("'\\''", out);
    else {
      if (strchr(special, *text))
        fputc('\\', out);
      fputc(*text, out);
    }
  }
}

/* ---- zsh ---- */

static const char completions_zsh_head[] =
    "#compdef afetch\n"
    "# zsh completion for afetch(1): every option with its --help text, the fixed values of\n"
    "# options such as --scope and -X, directories for DIR values, files for FILE values and\n"
    "# operands, -d @FILE.\n"
    "# Written from the option table (src/cli_table.c) by completions/generator/: do not edit;\n"
    "# run `make completions` (tests/unit/test_cli_table.c fails until this file is current).\n"
    "# `make install` puts it in $(PREFIX)/share/zsh/vendor-completions/_afetch; or add this\n"
    "# directory to $fpath before compinit runs, or source this file after it.\n"
    "\n"
    "# -d's value: data of the user's own, or @FILE.\n"
    "_afetch_data() {\n"
    "  if compset -P @; then\n"
    "    _files\n"
    "  else\n"
    "    _message 'DATA, or @FILE'\n"
    "  fi\n"
    "}\n"
    "\n"
    "_afetch() {\n"
    "  _arguments -s -S : \\\n";

static const char completions_zsh_tail[] =
    "    '*:FILE (a list of URLs) or URL:_files'\n"
    "}\n"
    "\n"
    "# Autoloaded by compinit, this file is _afetch's body: complete. Sourced: register.\n"
    "if [ \"$funcstack[1]\" = _afetch ]; then\n"
    "  _afetch \"$@\"\n"
    "else\n"
    "  compdef _afetch afetch\n"
    "fi\n";

/* The action of an _arguments spec for a value of `kind`. */
static void completion_zsh_action(FILE *out, const struct completion_option *option) {
  switch (option->kind) {
  case COMPLETE_WORDS:
    fputc('(', out);
    completion_put_quoted(out, option->words, "():\\");
    fputc(')', out);
    break;
  case COMPLETE_FILE:
    fputs("_files", out);
    break;
  case COMPLETE_DIRECTORY:
    fputs("_files -/", out);
    break;
  case COMPLETE_URL:
    fputs("_urls", out);
    break;
  case COMPLETE_DATA:
    fputs("_afetch_data", out);
    break;
  default:
    fputc(' ', out); /* _arguments: show the message, offer nothing */
    break;
  }
}

/* One _arguments spec: '(-c --concurrency)'{-c+,--concurrency=}'[help]:N: ' */
static void completion_zsh_option(FILE *out, const struct completion_option *option) {
  const char *long_suffix = !option->arg ? "" : option->optional ? "=-" : "=";
  const char *short_suffix = !option->arg ? "" : option->optional ? "-" : "+";
  fputs("    '", out);
  if (option->repeatable)
    fputc('*', out); /* offered again after a first use */
  else if (option->short_name)
    fprintf(out, "(-%c --%s)", option->short_name, option->name); /* one of the two, once */
  if (option->short_name)
    fprintf(out, "'{-%c%s,--%s%s}'", option->short_name, short_suffix, option->name, long_suffix);
  else
    fprintf(out, "--%s%s", option->name, long_suffix);
  fputc('[', out);
  completion_put_quoted(out, option->help, "[]\\");
  fputc(']', out);
  if (option->arg) {
    fputc(':', out);
    completion_put_quoted(out, option->arg, ":\\");
    fputc(':', out);
    completion_zsh_action(out, option);
  }
  fputs("' \\\n", out);
}

void completions_write_zsh(FILE *out) {
  fputs(completions_zsh_head, out);
  for (size_t i = 0; i < cli_option_count; i++) {
    struct completion_option option;
    completion_option_at(i, &option);
    completion_zsh_option(out, &option);
  }
  fputs(completions_zsh_tail, out);
}

/* ---- fish ---- */

static const char completions_fish_head[] =
    "# fish completion for afetch(1): every option with its --help text, the fixed values of\n"
    "# options such as --scope and -X, directories for DIR values, files for FILE values and\n"
    "# operands, -d @FILE.\n"
    "# Written from the option table (src/cli_table.c) by completions/generator/: do not edit;\n"
    "# run `make completions` (tests/unit/test_cli_table.c fails until this file is current).\n"
    "# `make install` puts it in $(PREFIX)/share/fish/vendor_completions.d/afetch.fish; or\n"
    "# source this file.\n"
    "\n"
    "# -d's value: data of the user's own, or @FILE.\n"
    "function __afetch_data\n"
    "    set -l token (string replace -r -- '^--[^=]*=' '' (commandline -ct)) # --data=@F\n"
    "    string match -q -- '@*' $token; or return\n"
    "    __fish_complete_path (string sub -s 2 -- $token) | string replace -r '^' @\n"
    "end\n"
    "\n";

/* -r (a value), -f (no files), -F (files) and -a (what to offer) for a value of `kind`. */
static void completion_fish_value(FILE *out, const struct completion_option *option) {
  /* An optional value (--name=VALUE) is not the next word: no -r. */
  fputs(option->optional ? " -f" : option->kind == COMPLETE_FILE ? " -r -F" : " -x", out);
  switch (option->kind) {
  case COMPLETE_WORDS:
    fputs(" -a '", out);
    completion_put_quoted(out, option->words, "\\");
    fputc('\'', out);
    break;
  case COMPLETE_DIRECTORY:
    fputs(" -a '(__fish_complete_directories (commandline -ct))'", out);
    break;
  case COMPLETE_DATA:
    fputs(" -a '(__afetch_data)'", out);
    break;
  default: /* FILE: -F; URL and TEXT: nothing to offer */
    break;
  }
}

void completions_write_fish(FILE *out) {
  fputs(completions_fish_head, out);
  for (size_t i = 0; i < cli_option_count; i++) {
    struct completion_option option;
    completion_option_at(i, &option);
    fputs("complete -c afetch", out);
    if (option.short_name)
      fprintf(out, " -s %c", option.short_name);
    fprintf(out, " -l %s", option.name);
    if (option.arg)
      completion_fish_value(out, &option);
    fputs(" -d '", out);
    completion_put_quoted(out, option.help, "\\");
    fputs("'\n", out);
  }
}
