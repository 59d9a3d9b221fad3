/* Prints a completion script written from the option table: `gen_completions zsh` the zsh
 * one (completions/_afetch), `gen_completions fish` the fish one (completions/afetch.fish).
 * `make completions` runs it. */
#include <stdio.h>
#include <string.h>

#include "completions.h"

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "zsh") == 0)
    completions_write_zsh(stdout);
  else if (argc == 2 && strcmp(argv[1], "fish") == 0)
    completions_write_fish(stdout);
  else {
    fprintf(stderr, "usage: %s zsh|fish\n", argv[0]);
    return 2;
  }
  return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
