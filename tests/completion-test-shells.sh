#!/usr/bin/env bash
# Checks completions/_afetch in zsh and completions/afetch.fish in fish, as
# tests/completion-test.sh checks the bash one: each loads, offers every option (the bash
# completion's lists, which test_cli_table holds to the option table, like these two files) and
# completes values: fixed choices, directories for -o, files for FILE values and operands,
# -d @FILE. fish answers `complete --do-complete`; zsh runs on a pseudo-terminal
# (tests/completion-capture.zsh). A shell that is not installed is skipped, said so.
# Ends with "N passed, N failed" and exits 0 only when nothing failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/completion-lib.sh
source "$root/tests/completion-lib.sh"
# shellcheck source=/dev/null
source "$root/completions/afetch.bash" || exit 3
table_long=$_afetch_long_options
table_short=$_afetch_short_options

work=$(mktemp -d) || exit 3
trap 'rm -rf "$work"' EXIT
mkdir "$work/mirror dir" "$work/other"
touch "$work/urls.txt" "$work/ca.pem" "$work/body.txt"
cd "$work" || exit 3

# fish LINE: COMPREPLY is what fish offers for "afetch LINE" (without the descriptions).
fish_completes() {
  mapfile -t COMPREPLY < <(fish --no-config -c 'source $argv[1]; complete --do-complete=$argv[2]' \
    "$root/completions/afetch.fish" "afetch $1" | cut -f1)
}

# zsh LINE: COMPREPLY is what zsh offers for "afetch LINE", each match once.
zsh_completes() {
  mapfile -t COMPREPLY < <(timeout 20 zsh -f "$root/tests/completion-capture.zsh" \
    "$root/completions" "afetch $1" | sort -u)
}

# within WORD...: every reply (less a trailing '=') is one of the WORDs.
within() {
  local have
  for have in "${COMPREPLY[@]}"; do
    [[ " $* " == *" ${have%=} "* ]] || {
      echo "  '$have' is not one of the options"
      return 1
    }
  done
}

# The cases both shells complete alike: complete_in SHELL LINE, then a check.
# shellcheck disable=SC2086 # one option per word
common_cases() {
  local shell=$1 complete=${1}_completes
  $complete "--"
  check "$shell: every long option" offers $table_long
  $complete "-"
  check "$shell: every short option" offers $table_short
  check "$shell: no option beyond the table" within $table_short $table_long
  $complete "--con"
  check "$shell: --con" offers_only --concurrency --config --connect-timeout --connect-to
  $complete "--no-"
  check "$shell: --no-" offers_only --no-progress --no-location --no-resume
  $complete "--scope "
  check "$shell: --scope values" offers_only host domain prefix
  $complete "--scope d"
  check "$shell: --scope d" offers_only domain
  $complete "--progress=l"
  check "$shell: --progress=l" offers_only --progress=lines
  $complete "--threads "
  check "$shell: --threads auto" offers_only auto
  $complete "-X P"
  check "$shell: -X P" offers_only POST PUT PATCH
  $complete "--cacert c"
  check "$shell: --cacert FILE" offers_only ca.pem
  $complete "-d @b"
  check "$shell: -d @FILE" offers_only @body.txt
  $complete "-c 5 u"
  check "$shell: FILE operand" offers_only urls.txt
  $complete "-c "
  check "$shell: -c N: nothing" offers_nothing
}

if command -v fish >/dev/null; then
  check "fish: parses" fish --no-execute "$root/completions/afetch.fish"
  common_cases fish
  fish_completes "-o "
  check "fish: -o: directories only" offers_only "mirror dir/" other/
  fish_completes "--data=@b"
  check "fish: --data=@FILE" offers_only --data=@body.txt
  fish_completes "--dead"
  check "fish: descriptions" offers_only --deadline
  [[ $(fish --no-config -c 'source $argv[1]; complete --do-complete="afetch --dead"' \
    "$root/completions/afetch.fish") == --deadline$'\t'"stop the whole run"* ]] ||
    check "fish: --deadline's description" false
else
  echo "SKIPPED: fish is not installed (apt-get install fish)"
fi

if command -v zsh >/dev/null && zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
  check "zsh: parses" zsh -n "$root/completions/_afetch"
  check "zsh: compinit finds it in \$fpath" zsh -fc "fpath=('$root/completions' \$fpath)
    autoload -U compinit && compinit -u -D && [[ \$_comps[afetch] == _afetch ]]"
  check "zsh: sourced after compinit" zsh -fc "autoload -U compinit && compinit -u -D &&
    source '$root/completions/_afetch' && [[ \$_comps[afetch] == _afetch ]]"
  common_cases zsh
  zsh_completes "-o "
  check "zsh: -o: directories only" offers_only "mirror\\ dir" other
  zsh_completes "--progress="
  check "zsh: --progress= values" offers_only --progress=bar --progress=lines --progress=none
else
  echo "SKIPPED: zsh (with zsh/zpty) is not installed (apt-get install zsh)"
fi

summary
