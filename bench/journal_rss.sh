#!/usr/bin/env bash
# Peak RSS of a resumed --journal run against a fresh one, on an N-line input (default
# 1,000,000) of the local test server's /status/200. Usage: bench/journal_rss.sh [AFETCH] [N]
# [REST]. Runs, each at -c 50, gather output to /dev/null:
#   fresh          the N lines without a journal
#   journaled      the N lines with --journal (it writes the journal the next runs resume)
#   resumed        the journal cut to its header and first N-REST results (REST default
#                  100,000): the run skips N-REST committed lines and fetches REST
#   nothing left   the whole journal again: every line committed, nothing fetched
# Prints "RUN  seconds  peak RSS KB" per run (GNU time's %M). About 2 x N / 20,000 s of
# fetching on the 2-core VM; each run is cut off after 600 s. Needs `make` (the test server).
set -euo pipefail
afetch=${1:-./afetch}
lines=${2:-1000000}
rest=${3:-100000}
server=${TEST_SERVER_BIN:-build/release/tests/test-server}
[ -x "$server" ] || make -s "$server" >/dev/null
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$work"' EXIT

. "$(dirname "$0")/../tests/server/start.sh"
test_server_start journal_rss

seq 0 $((lines - 1)) | sed "s|.*|http://127.0.0.1:$port/status/200?i=&|" >"$work/urls.txt"

# run NAME ARGS...: one afetch run, its wall time and peak RSS.
run() {
  local name=$1
  shift
  timeout 600 /usr/bin/time -f "%e %M" -o "$work/time" "$afetch" -q -c 50 --no-progress "$@" \
    "$work/urls.txt" >/dev/null
  read -r seconds kb <"$work/time"
  printf '%-13s %8s s %8s KB\n' "$name" "$seconds" "$kb"
}

run fresh
run journaled --journal "$work/full.journal"
# The header and the first lines-rest results: what a kill after them would have left.
head -n $((lines - rest + 1)) "$work/full.journal" >"$work/part.journal"
run resumed --journal "$work/part.journal"
[ "$(wc -l <"$work/part.journal")" -eq $((lines + 1)) ] ||
  { echo "journal_rss: the resumed journal does not hold every line" >&2; exit 1; }
run "nothing left" --journal "$work/full.journal"
