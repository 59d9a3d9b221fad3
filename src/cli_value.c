/* One reader per kind of option value (integer, seconds, size, rate, choice, string), as curl's
 * opt_unum and opt_secs, and the one message each gives for a bad value. */
#include "afetch/cli_table.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_RATE 1e6                   /* request starts per second */
#define CLI_MAX_SIZE ((uint64_t)INT64_MAX) /* --max-size: bytes, below 2^63 */

/* Whole decimal integer in [min, max]. */
static bool cli_parse_integer(const char *text, long min, long max, long *value) {
  char *end;
  errno = 0;
  long parsed = strtol(text, &end, 10);
  if (errno || end == text || *end != '\0' || parsed < min || parsed > max)
    return false;
  *value = parsed;
  return true;
}

/* Seconds greater than 0 (or 0 too with allow_zero), fractions allowed, as milliseconds
 * rounded up: any positive value gives at least 1. */
static bool cli_parse_seconds(const char *text, bool allow_zero, long *milliseconds) {
  char *end;
  errno = 0;
  double seconds = strtod(text, &end);
  if (errno || end == text || *end != '\0' || !isfinite(seconds) || seconds < 0 ||
      (seconds == 0 && !allow_zero) || seconds > CLI_MAX_SECONDS)
    return false;
  double ms = ceil(seconds * 1000.0);
  *milliseconds = seconds > 0 && ms < 1 ? 1 : (long)ms;
  return true;
}

/* --rate: N, N/s, N/m, N/h or N/d with N > 0, as starts per second. Also refuses rates above
 * CLI_MAX_RATE, and rates so low that one start interval would not fit CLI_MAX_SECONDS. */
static bool cli_parse_rate(const char *text, double *per_second) {
  char *end;
  errno = 0;
  double rate = strtod(text, &end);
  if (errno || end == text || !isfinite(rate) || rate <= 0)
    return false;
  static const struct {
    const char *suffix;
    double seconds;
  } units[] = {{"", 1}, {"/s", 1}, {"/m", 60}, {"/h", 3600}, {"/d", 86400}};
  size_t unit = 0;
  while (unit < sizeof units / sizeof *units && strcmp(end, units[unit].suffix) != 0)
    unit++;
  if (unit == sizeof units / sizeof *units)
    return false;
  rate /= units[unit].seconds;
  if (rate > CLI_MAX_RATE || rate < 1.0 / CLI_MAX_SECONDS)
    return false;
  *per_second = rate;
  return true;
}

/* --max-size: a whole number of bytes >= 1, optionally followed by k/K (KiB), M (MiB) or G
 * (GiB); refused when the product exceeds CLI_MAX_SIZE. Digits only: no sign, no spaces. */
static bool cli_parse_size(const char *text, uint64_t *bytes) {
  uint64_t value = 0;
  const char *p = text;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned digit = (unsigned)(*p - '0');
    if (value > (CLI_MAX_SIZE - digit) / 10)
      return false;
    value = value * 10 + digit;
  }
  if (p == text || value == 0)
    return false;
  uint64_t unit = 1;
  if (*p == 'k' || *p == 'K')
    unit = UINT64_C(1) << 10;
  else if (*p == 'M')
    unit = UINT64_C(1) << 20;
  else if (*p == 'G')
    unit = UINT64_C(1) << 30;
  if (unit > 1)
    p++;
  if (*p != '\0' || value > CLI_MAX_SIZE / unit)
    return false;
  *bytes = value * unit;
  return true;
}

/* The value of the choice named `text`; false when no choice has that name. */
static bool cli_find_choice(const struct cli_choice *choices, const char *text, int *value) {
  for (; choices && choices->word; choices++)
    if (strcmp(choices->word, text) == 0) {
      *value = choices->value;
      return true;
    }
  return false;
}

/* Writes a CLI_VALUE_NONE, _INTEGER or _CHOICE value to the option's field. */
static void cli_store_number(struct afetch_options *options, const struct cli_option *option,
                             long number) {
  void *field = (char *)options + option->target;
  switch (option->store) {
  case CLI_STORE_BOOL:
    *(bool *)field = number != 0;
    break;
  case CLI_STORE_ENUM:
    *(int *)field = (int)number;
    break;
  case CLI_STORE_UNSIGNED:
    *(unsigned *)field = (unsigned)number;
    break;
  case CLI_STORE_LONG:
    *(long *)field = number;
    break;
  case CLI_STORE_ULONG:
    *(unsigned long *)field = (unsigned long)number;
    break;
  default: /* the table's other value kinds store their own type */
    break;
  }
}

/* Reads `value` as the option's kind and stores it. False when the value does not fit. */
bool cli_read_value(struct afetch_options *options, const struct cli_option *option,
                    const char *value) {
  void *field = (char *)options + option->target;
  long number;
  int choice;
  switch (option->value) {
  case CLI_VALUE_NONE:
    cli_store_number(options, option, option->set_to);
    return true;
  case CLI_VALUE_INTEGER:
    if (cli_find_choice(option->choices, value, &choice))
      number = choice;
    else if (!cli_parse_integer(value, option->min, option->max, &number))
      return false;
    cli_store_number(options, option, number);
    return true;
  case CLI_VALUE_SECONDS:
    return cli_parse_seconds(value, option->min == 0, (long *)field);
  case CLI_VALUE_SIZE:
    return cli_parse_size(value, (uint64_t *)field);
  case CLI_VALUE_RATE:
    return cli_parse_rate(value, (double *)field);
  case CLI_VALUE_CHOICE:
    if (!value) /* an optional value left out */
      choice = option->set_to;
    else if (!cli_find_choice(option->choices, value, &choice))
      return false;
    cli_store_number(options, option, choice);
    return true;
  case CLI_VALUE_STRING:
    if (option->check && !option->check(value))
      return false;
    *(const char **)field = value;
    return true;
  case CLI_VALUE_CUSTOM:
    break;
  }
  return false;
}

/* snprintf at buffer[*used], *used kept inside the buffer when the text is cut short. */
__attribute__((format(printf, 4, 5))) static void
cli_append(char *buffer, size_t size, size_t *used, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  int written = vsnprintf(buffer + *used, size - *used, format, arguments);
  va_end(arguments);
  if (written > 0)
    *used += (size_t)written < size - *used ? (size_t)written : size - *used - 1;
}

/* What a bad value should have been, for "afetch: --name wants WANTED, not 'x'". */
const char *cli_wanted(const struct cli_option *option, char *buffer, size_t size) {
  if (option->wants)
    return option->wants;
  size_t used = 0;
  buffer[0] = '\0';
  switch (option->value) {
  case CLI_VALUE_INTEGER: /* "'auto' or a whole number from 1 to 64" */
    for (const struct cli_choice *choice = option->choices; choice && choice->word; choice++)
      cli_append(buffer, size, &used, "'%s' or ", choice->word);
    cli_append(buffer, size, &used, "a whole number from %ld to %ld", option->min, option->max);
    return buffer;
  case CLI_VALUE_SECONDS:
    return option->min == 0 ? "a number of seconds, 0 or more"
                            : "a number of seconds greater than 0";
  case CLI_VALUE_SIZE:
    return "a number of bytes (suffix k, M or G allowed)";
  case CLI_VALUE_RATE:
    cli_append(buffer, size, &used, "N/s, N/m, N/h or N/d with N > 0 (at most %.0f/s)",
               CLI_MAX_RATE);
    return buffer;
  case CLI_VALUE_CHOICE: /* "a, b or c" */
    for (const struct cli_choice *choice = option->choices; choice->word; choice++)
      cli_append(buffer, size, &used, "%s%s",
                 choice == option->choices ? ""
                 : choice[1].word          ? ", "
                                           : " or ",
                 choice->word);
    return buffer;
  default:
    return "another value";
  }
}
