/* The zsh and fish completions of afetch, written from the option table (src/cli_table.c):
 * completions/generator/gen_completions.c prints them into completions/ (`make completions`), and
 * tests/unit/test_cli_table.c checks that the files there are what they print now. */
#ifndef AFETCH_TOOLS_COMPLETIONS_H
#define AFETCH_TOOLS_COMPLETIONS_H

#include <stdio.h>

/* completions/_afetch: a zsh function for compinit (`#compdef afetch`, _arguments). */
void completions_write_zsh(FILE *out);

/* completions/afetch.fish: `complete -c afetch ...` lines. */
void completions_write_fish(FILE *out);

#endif
