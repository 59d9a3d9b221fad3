/* Config files in curl's syntax (-K FILE, and the default afetchrc): one long option per
 * line, "name value", "name = value", "name: value" or "name \"quoted value\"", a leading
 * "--" optional, '#' comment lines. Read into arguments that go in front of argv's own. */
#include "afetch/cli_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLI_CONFIG_MAX_WORDS 100000 /* a config file is a handful of lines */

static bool cli_is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool cli_words_add(struct cli_words *words, char *word) {
  if (!word)
    return false;
  if (words->count + 2 > words->capacity) {
    size_t capacity = words->capacity ? 2 * words->capacity : 16;
    char **grown = capacity <= CLI_CONFIG_MAX_WORDS
                       ? realloc(words->word, capacity * sizeof *grown)
                       : NULL;
    if (!grown) {
      free(word);
      return false;
    }
    words->word = grown;
    words->capacity = capacity;
  }
  words->word[words->count++] = word;
  words->word[words->count] = NULL;
  return true;
}

void cli_words_free(struct cli_words *words) {
  for (size_t i = 0; i < words->count; i++)
    free(words->word[i]);
  free(words->word);
  *words = (struct cli_words){0};
}

const char *cli_config_default_path(char *buffer, size_t size) {
  const char *base = getenv("XDG_CONFIG_HOME");
  if (base && *base)
    snprintf(buffer, size, "%s/afetch/afetchrc", base);
  else if ((base = getenv("HOME")) && *base)
    snprintf(buffer, size, "%s/.config/afetch/afetchrc", base);
  else
    return NULL;
  return buffer;
}

/* The table's option for a config line's name: "name", "--name" or "-x". */
static const struct cli_option *cli_config_option(const char *name) {
  const struct cli_option *found = NULL;
  if (name[0] == '-' && name[1] != '-' && name[1] && !name[2]) {
    for (size_t i = 0; i < cli_option_count && !found; i++)
      if (cli_option_table[i].short_name == name[1])
        found = &cli_option_table[i];
  } else {
    if (strncmp(name, "--", 2) == 0)
      name += 2;
    for (size_t i = 0; i < cli_option_count && !found; i++)
      if (strcmp(cli_option_table[i].name, name) == 0)
        found = &cli_option_table[i];
  }
  while (found && (found->flags & CLI_ALIAS))
    found--;
  return found;
}

/* The value at *p: "quoted" (with curl's escapes \t \n \r \v, and \x for any other x) or up
 * to the next space. Written over the line itself; NULL when a quote is not closed. */
static char *cli_config_value(char **p) {
  char *value = *p, *out = *p, *in = *p;
  if (*in != '"') {
    while (*in && !cli_is_space(*in))
      in++;
    if (*in)
      *in++ = '\0';
    *p = in;
    return value;
  }
  for (in++; *in && *in != '"'; in++) {
    if (*in == '\\' && in[1]) {
      in++;
      *out++ = *in == 't' ? '\t' : *in == 'n' ? '\n' : *in == 'r' ? '\r' : *in == 'v' ? '\v' : *in;
    } else {
      *out++ = *in;
    }
  }
  if (*in != '"')
    return NULL;
  *out = '\0';
  *p = in + 1;
  return value;
}

/* One line (comments and blank lines already skipped) into words; NULL, or why not. */
static const char *cli_config_line(char *line, struct cli_words *words) {
  char *name = line;
  while (*line && !cli_is_space(*line) && *line != '=' && *line != ':')
    line++;
  char *name_end = line;
  while (*line && (cli_is_space(*line) || *line == '=' || *line == ':'))
    line++;
  *name_end = '\0';
  const struct cli_option *option = cli_config_option(name);
  if (!option)
    return "unknown option";
  if (option->apply && option->group == CLI_GROUP_CONFIG)
    return "-K and --disable go on the command line only";
  bool takes_value = option->arg != NULL;
  char *value = *line ? cli_config_value(&line) : NULL;
  while (*line && cli_is_space(*line))
    line++;
  if (*line && *line != '#')
    return "text after the value (quote a value with spaces)";
  if (takes_value && !value && !(option->flags & CLI_OPTIONAL_VALUE))
    return "a value is missing";
  if (!takes_value && value)
    return "this option takes no value";
  size_t length = strlen(option->name) + 4 + (value ? strlen(value) : 0);
  char *word = malloc(length);
  if (word && value && (option->flags & CLI_OPTIONAL_VALUE))
    snprintf(word, length, "--%s=%s", option->name, value);
  else if (word)
    snprintf(word, length, "--%s", option->name);
  if (!cli_words_add(words, word))
    return "out of memory";
  if (value && !(option->flags & CLI_OPTIONAL_VALUE) && !cli_words_add(words, strdup(value)))
    return "out of memory";
  return NULL;
}

bool cli_config_read(const char *path, bool missing_ok, struct cli_words *words, FILE *err) {
  FILE *file = fopen(path, "r");
  if (!file) {
    if (missing_ok && errno == ENOENT)
      return true;
    fprintf(err, "afetch: cannot read config file '%s': %s\n", path, strerror(errno));
    return false;
  }
  char *line = NULL;
  size_t size = 0;
  const char *why = NULL;
  unsigned long number = 0;
  while (!why && getline(&line, &size, file) >= 0) {
    number++;
    char *start = line;
    while (cli_is_space(*start))
      start++;
    if (*start && *start != '#')
      why = cli_config_line(start, words);
  }
  if (!why && ferror(file))
    why = strerror(errno);
  if (why)
    fprintf(err, "afetch: %s:%lu: %s\n", path, number, why);
  free(line);
  fclose(file);
  return why == NULL;
}
