#!/usr/bin/env bash
# `make readme-test`: runs the shell examples of README.md against the local test server, so
# that they cannot rot. Ends with one line "N passed, N failed"; exit status 0 only when
# nothing failed (3 when the test server or jq is missing).
#
# Every ```sh (or bash, shell, console) block of the README must follow, on the nearest
# non-blank line above its fence, one of these markers:
#     <!-- example -->              run it; it must exit 0
#     <!-- example: exit N -->      run it; it must exit N (1 where failures are the point)
#     <!-- not-run: REASON -->      do not run it (REASON is required)
# A block without a marker, or a marker not followed by a block, is a failure.
#
# A runnable block runs with `bash -e -o pipefail` in a fresh temporary directory holding
# urls.txt and seeds.txt (URLs of the local test server), items.json, and completions/ and
# docs/ from the repository; `afetch` on the PATH is the binary under test and `producer`
# prints urls.txt. "127.0.0.1:8080" and "localhost:8080" in a block become the test server;
# any other http(s) URL in a runnable block is a failure (the tests use no network). After
# the block, every *.json file in the directory must parse with jq.
#
# Every block, run or not, must use only options that `afetch --help` lists.
#
# Environment: AFETCH_BIN and TEST_SERVER_BIN (set by the Makefile), README (default README.md),
# EXAMPLE_TIMEOUT (seconds per block, default 20).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
readme=${README:-$root/README.md}
name=$(basename "$readme")
afetch=${AFETCH_BIN:-$root/afetch}
server=${TEST_SERVER_BIN:-$root/build/release/tests/test-server}
block_timeout=${EXAMPLE_TIMEOUT:-20}

passed=0
failed=0
skipped=0
fail() { # fail WHERE MESSAGE [DETAILS]
  failed=$((failed + 1))
  echo "FAILED: $1: $2"
  [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/    /'
  return 0
}

for tool in "$afetch" "$server"; do
  [ -x "$tool" ] || { echo "readme-examples: $tool: not an executable file" >&2; exit 3; }
done
command -v jq >/dev/null || { echo "readme-examples: the README's examples need jq" >&2; exit 3; }
afetch=$(cd "$(dirname "$afetch")" && pwd)/$(basename "$afetch")

work=$(mktemp -d "${TMPDIR:-/tmp}/readme-examples.XXXXXX") || exit 3
server_pid=
server_in=
cleanup() {
  # The server exits when its standard input closes.
  [ -n "$server_in" ] && eval "exec $server_in>&-"
  [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The server prints "http PORT" then "ready", and exits when its standard input closes
# (bash keeps the coprocess's pipes out of the examples' subshells).
coproc SERVER { exec "$server"; }
server_pid=$!
server_in=${SERVER[1]}
port=
while read -r -t 15 word value <&"${SERVER[0]}"; do
  [ "$word" = http ] && port=$value
  [ "$word" = ready ] && break
done
[ -n "$port" ] || { echo "readme-examples: the test server did not start" >&2; exit 3; }
base="http://127.0.0.1:$port"

# The options afetch has, from its --help all, to check every block's afetch commands against.
known_options=" $("$afetch" --help all | grep -oE -- '(^|[^a-z0-9-])--?[a-zA-Z0-9][a-z0-9.-]*' |
  sed 's/^[^-]*//' | sort -u | tr '\n' ' ') "

# Checks that each afetch command of block $2 (from line $1) uses only known options: the
# words after "afetch" up to the next |, ;, &, > or <.
check_options() {
  local where=$1 line word bad=
  local -a words
  while IFS= read -r line; do
    while [[ $line =~ (^|[^a-zA-Z0-9_./-])afetch[[:space:]]([^|;&<>]*)(.*) ]]; do
      read -ra words <<<"${BASH_REMATCH[2]}"
      line=${BASH_REMATCH[3]}
      for word in "${words[@]}"; do
        word=${word%%=*}
        [[ $word =~ ^--?[a-zA-Z0-9] ]] || continue
        if [[ $word == --* ]]; then
          [[ $known_options == *" $word "* ]] || bad+=" $word"
        else # short options, possibly bundled or with a value attached (-c5)
          [[ $known_options == *" ${word:0:2} "* ]] || bad+=" $word"
        fi
      done
    done
  done <<<"$2"
  [ -z "$bad" ] || fail "$where" "unknown afetch option(s):$bad"
  [ -z "$bad" ]
}

# The files an example finds in its directory.
make_fixtures() {
  local dir=$1
  mkdir -p "$dir/bin"
  ln -s "$afetch" "$dir/bin/afetch"
  ln -s "$root/completions" "$dir/completions"
  ln -s "$root/docs" "$dir/docs"
  cat >"$dir/urls.txt" <<URLS
# README example list: every URL is on the local test server and answers 2xx.
$base/status/200
$base/redirect/2
$base/delay/200
$base/file/report.txt?size=2000
$base/bytes/5000
127.0.0.1:$port/any/no-scheme
URLS
  echo "$base/site/0.html" >"$dir/seeds.txt"
  cat >"$dir/items.json" <<ITEMS
{"key": "a", "link": "$base/status/200"}
{"key": "b", "link": "$base/file/b.txt"}
ITEMS
}

# run_example WHERE EXPECTED_STATUS BLOCK
run_example() {
  local where=$1 expected=$2 block=$3 dir status output bad_urls
  block=${block//127.0.0.1:8080/127.0.0.1:$port}
  block=${block//localhost:8080/127.0.0.1:$port}
  bad_urls=$(grep -oE 'https?://[^ "'\'')]+' <<<"$block" | grep -vF "$base" || true)
  if [ -n "$bad_urls" ]; then
    fail "$where" "a runnable example must not use the network:" "$bad_urls"
    return
  fi
  dir=$(mktemp -d "$work/example.XXXXXX")
  make_fixtures "$dir"
  output=$(cd "$dir" && PATH="$dir/bin:$PATH" timeout "$block_timeout" \
    bash -e -o pipefail -c "producer() { cat urls.txt; }
$block" </dev/null 2>&1)
  status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "$where" "exited with status $status, expected $expected; its output:" "$block
--
$output"
    return
  fi
  local json
  while IFS= read -r -d '' json; do
    if ! jq empty "$json" >/dev/null 2>&1; then
      fail "$where" "wrote ${json#"$dir"/}, which is not valid JSON" "$(head -c 400 "$json")"
      return
    fi
  done < <(find "$dir" -name '*.json' -type f -print0)
  passed=$((passed + 1))
  echo "ok: $where"
}

# Walks the README: markers, fences, blocks.
line_number=0
marker=       # the marker of the nearest non-blank line above, if it was one
marker_line=0
in_block=false
block_lang=
block=
block_line=0
while IFS= read -r line || [ -n "$line" ]; do
  line_number=$((line_number + 1))
  if $in_block; then
    if [[ $line =~ ^\`\`\`[[:space:]]*$ ]]; then
      in_block=false
      if [ -n "$block_lang" ]; then
        where="$name:$block_line"
        if [[ $block_marker =~ ^\<!--\ not-run:\ *([^ ].*[^ ])\ *--\>$ ]]; then
          reason=${BASH_REMATCH[1]}
          if check_options "$where" "$block"; then
            skipped=$((skipped + 1))
            echo "not run: $where ($reason)"
          fi
        elif [[ $block_marker =~ ^\<!--\ example(:\ exit\ ([0-9]+))?\ --\>$ ]]; then
          expected=${BASH_REMATCH[2]:-0}
          check_options "$where" "$block" && run_example "$where" "$expected" "$block"
        else
          fail "$where" "a \`\`\`$block_lang block needs <!-- example --> or <!-- not-run: reason --> above it"
        fi
      fi
    else
      block+=$line$'\n'
    fi
    continue
  fi
  if [[ $line =~ ^\`\`\`([a-z]*) ]]; then
    in_block=true
    block=
    block_line=$line_number
    block_lang=
    case ${BASH_REMATCH[1]} in sh | bash | shell | console) block_lang=${BASH_REMATCH[1]} ;; esac
    block_marker=$marker
    if [ -n "$marker" ] && [ -z "$block_lang" ]; then
      fail "$name:$marker_line" "marker above a \`\`\`${BASH_REMATCH[1]} block, not a sh block"
    fi
    marker=
    continue
  fi
  [[ $line =~ ^[[:space:]]*$ ]] && continue
  if [ -n "$marker" ]; then
    fail "$name:$marker_line" "marker not followed by a \`\`\`sh block"
  fi
  marker=
  if [[ $line =~ ^\<!--\ (example|not-run) ]]; then
    marker=$line
    marker_line=$line_number
  fi
done <"$readme"
$in_block && fail "$name:$block_line" "the block is not closed"
[ -n "$marker" ] && fail "$name:$marker_line" "marker not followed by a \`\`\`sh block"
[ $((passed + failed)) -gt 0 ] || fail "$name" "no example found"

echo "($skipped not run)"
# cmocka's summary lines too, so that tests/run-tests.sh can count this script like a suite.
echo "[  PASSED  ] $passed test(s)."
((failed == 0)) || echo "[  FAILED  ] $failed test(s), listed below:"
echo "$passed passed, $failed failed"
((failed == 0))
