#!/usr/bin/env bash
# Checks completions/afetch.bash: it parses, it offers every option of its lists (which
# test_cli_table holds to src/cli_table.c's table) and no other, and it completes values
# (--scope, --result-fields lists, -o directories, FILE arguments, -d @FILE). Run from
# anywhere; ends with "N passed, N failed" and exits 0 only when nothing failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
script=$root/completions/afetch.bash
# shellcheck source=tests/completion-lib.sh
source "$root/tests/completion-lib.sh"

# complete WORD...: COMP_WORDS is "afetch WORD...", the cursor on the last word.
complete_words() {
  COMP_WORDS=(afetch "$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  _afetch
}

check "bash -n" bash -n "$script"
# shellcheck source=/dev/null
source "$script" || exit 3
check "registered for afetch" bash -c "source '$script' && complete -p afetch | grep -q _afetch"

# The completion's two option lists. tests/unit/test_cli_table.c holds them to the option table
# of src/cli_table.c (no name missing, none extra), so here they stand for the table.
table_long=$_afetch_long_options
table_short=$_afetch_short_options
check "read the long options" test "$(wc -w <<<"$table_long")" -ge 45
check "read the short options" test "$(wc -w <<<"$table_short")" -ge 13
complete_words "--"
# shellcheck disable=SC2086 # one option per word
check "every long option" offers $table_long
complete_words "-"
# shellcheck disable=SC2086
check "every short option" offers $table_short $table_long
# shellcheck disable=SC2086
check "no option beyond the table" offers_only $table_short $table_long

complete_words "--con"
check "--con" offers_only --concurrency --connect-timeout --connect-to --config
complete_words "--stats"
check "--stats" offers_only --stats --stats-json
complete_words "--no-"
check "--no-" offers_only --no-progress --no-location --no-resume

complete_words "--scope" ""
check "--scope values" offers_only host domain prefix
complete_words "--scope" "d"
check "--scope d" offers_only domain
complete_words "--scope" "=" "p"
check "--scope=p (split at =)" offers_only prefix
complete_words "--scope" "="
check "--scope= (split at =)" offers_only host domain prefix
complete_words "--scope=h"
check "--scope=h (one word)" offers_only --scope=host
complete_words "-X" "P"
check "-X P" offers POST PUT PATCH
complete_words "--progress" "=" ""
check "--progress= (split at =)" offers_only bar lines none
complete_words "--progress=l"
check "--progress=l (one word)" offers_only --progress=lines
complete_words "--result-fields" ""
check "--result-fields keys" offers_only headers location redirects_chain method started_at all
complete_words "--result-fields" "headers,m"
check "--result-fields: the list's last item" offers_only headers,method
complete_words "--result-fields=location,redirects_chain,s"
check "--result-fields=LIST (one word)" offers_only --result-fields=location,redirects_chain,started_at

work=$(mktemp -d) || exit 3
trap 'rm -rf "$work"' EXIT
mkdir "$work/mirror dir" "$work/other"
touch "$work/urls.txt" "$work/ca.pem" "$work/body.txt"
cd "$work" || exit 3

complete_words "-o" ""
check "-o: directories only" offers_only "mirror dir" other
complete_words "--output-dir" "mi"
check "--output-dir mi" offers_only "mirror dir"
complete_words "--cacert" "c"
check "--cacert FILE" offers_only ca.pem
complete_words "--if-changed" ""
check "--if-changed FILE" offers urls.txt ca.pem "mirror dir"
complete_words "--stats-json" "b"
check "--stats-json FILE" offers_only body.txt
complete_words "--progress" "b"
check "--progress FILE (no value without =)" offers_only body.txt
complete_words "-d" "@b"
check "-d @FILE" offers_only @body.txt
complete_words "-d" "a=1"
check "-d DATA: nothing" offers_nothing
complete_words "-c" ""
check "-c N: nothing" offers_nothing
complete_words "-c" "5" "u"
check "FILE operand" offers_only urls.txt
complete_words "--" "-"
check "after --: files" offers_nothing

summary
