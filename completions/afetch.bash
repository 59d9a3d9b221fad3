# bash completion for afetch(1): options, --scope, --progress=, --result-fields and -X
# values, files and directories.
# `make install` puts it in $(PREFIX)/share/bash-completion/completions/afetch, where
# bash-completion loads it on demand; or source it from ~/.bashrc.
# Self-contained: it does not need bash-completion's helpers.

# Every option of src/cli_table.c's table (tests/unit/test_cli_table.c checks that none is
# missing and none is extra).
_afetch_long_options='--input-file --url --shard --shard-by --concurrency --timeout --max-time --speed-limit
  --speed-time --connect-timeout --threads --retries
  --retry-delay --retry-max-delay --retry-all-errors --per-host --per-host-rate --per-host-delay --adaptive
  --rate --deadline --ndjson --quiet --progress
  --no-progress --progress-interval --stats --stats-json --include-headers --result-fields
  --output-dir --output-template --fsync --no-resume --if-changed
  --sha256 --max-size --body --crawl --depth --max-pages --scope --include --exclude --robots
  --show-skipped --links --page-requisites --span-hosts --location --no-location --location-trusted --max-redirs --header
  --user-agent
  --request --data --insecure --cacert --http1.1 --http2 --help --version
  --proxy --noproxy --proxy-user --user --cookie --cookie-jar --resolve --connect-to --ipv4
  --ipv6 --interface --cert --key --cert-type --capath --compressed --limit-rate --head
  --config --disable --journal --journal-sync --merge --redis --enqueue --worker --status --queue
  --idle-exit --reclaim-after --max-deliveries --redis-timeout'
_afetch_short_options='-i -c -t -Y -y -r -q -o -p -L -H -A -X -d -k -h -V -x -U -u -b -4 -6 -E
  -I -K'

# Sets COMPREPLY to the lines of compgen's output ($1...: compgen's arguments), so that names
# with spaces stay whole.
_afetch_compgen() {
  mapfile -t COMPREPLY < <(compgen "$@")
}

# Completes the value of option $1 from $2 into COMPREPLY. Status 1 when $1 takes no value.
_afetch_value() {
  local option=$1 cur=$2
  case $option in
  --scope) _afetch_compgen -W 'host domain prefix' -- "$cur" ;;
  --shard) _afetch_compgen -W 'env' -- "$cur" ;; # or K/N, the user's own
  --shard-by) _afetch_compgen -W 'host line' -- "$cur" ;;
  --progress) # its value only after '=': "--progress lines" is a FILE operand
    [[ -n $with_equals ]] || return 1
    _afetch_compgen -W 'bar lines none' -- "$cur"
    ;;
  --result-fields) # a comma-separated list: completes its last item
    _afetch_compgen -W 'headers location redirects_chain method started_at all' \
      -P "${cur%"${cur##*,}"}" -- "${cur##*,}"
    ;;
  -X | --request) _afetch_compgen -W 'GET HEAD POST PUT PATCH DELETE OPTIONS' -- "$cur" ;;
  -o | --output-dir)
    compopt -o filenames 2>/dev/null
    _afetch_compgen -d -- "$cur"
    ;;
  --cert-type) _afetch_compgen -W 'PEM DER P12' -- "$cur" ;;
  --capath)
    compopt -o filenames 2>/dev/null
    _afetch_compgen -d -- "$cur"
    ;;
  -i | --input-file | --cacert | --if-changed | --stats-json | -b | --cookie | --cookie-jar | \
    -E | --cert | --key | -K | --config | --journal)
    compopt -o filenames 2>/dev/null
    _afetch_compgen -f -- "$cur"
    ;;
  -d | --data)
    # Only -d @FILE names a file; other data is free text.
    if [[ $cur == @* ]]; then
      compopt -o filenames 2>/dev/null
      _afetch_compgen -f -P @ -- "${cur#@}"
    fi
    ;;
  --url | -c | --concurrency | -t | --timeout | --max-time | -Y | --speed-limit | -y | \
    --speed-time | --connect-timeout | --threads | -r | --retries | \
    --retry-delay | --retry-max-delay | --per-host | --per-host-rate | --per-host-delay | --rate | \
    --deadline | --output-template | \
    --max-size | --depth | --max-pages | --include | --exclude | --max-redirs | -H | --header | \
    -A | --user-agent | --progress-interval | -x | --proxy | --noproxy | -U | --proxy-user | \
    -u | --user | --resolve | --connect-to | --interface | --limit-rate | --journal-sync | \
    --redis | --queue | --idle-exit | --reclaim-after | --max-deliveries | --redis-timeout) ;;
  *) return 1 ;;
  esac
  return 0
}

_afetch() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  local joined= # "--opt=" when the value shares its word with the option
  local with_equals= # the value follows '=' (an optional value must)
  # "--scope=d": readline splits at '=' into "--scope" "=" "d" (COMP_WORDBREAKS).
  if [[ $cur == = && $prev == --* ]]; then
    cur=
    with_equals=1
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
    with_equals=1
  elif [[ $cur == --*=* ]]; then # COMP_WORDBREAKS without '=': one word
    prev=${cur%%=*}
    joined=$prev=
    cur=${cur#*=}
    with_equals=1
  fi
  COMPREPLY=()

  if _afetch_value "$prev" "$cur"; then
    [[ -n $joined ]] && COMPREPLY=("${COMPREPLY[@]/#/$joined}")
    return 0
  fi

  # After "--" every word is a FILE.
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} == -- ]]; then
      compopt -o filenames 2>/dev/null
      _afetch_compgen -f -- "$cur"
      return 0
    fi
  done

  if [[ $cur == --* ]]; then
    _afetch_compgen -W "$_afetch_long_options" -- "$cur"
  elif [[ $cur == -* ]]; then
    _afetch_compgen -W "$_afetch_short_options $_afetch_long_options" -- "$cur"
  else
    compopt -o filenames 2>/dev/null
    _afetch_compgen -f -- "$cur" # FILE operands: URL lists
  fi
  return 0
}

complete -F _afetch afetch
