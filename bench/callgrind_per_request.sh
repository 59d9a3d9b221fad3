#!/usr/bin/env bash
# Instructions (callgrind Ir) afetch spends per request: 5,000 requests to the local test server
# on 127.0.0.1 at -c 100 on one thread. Usage: bench/callgrind_per_request.sh [AFETCH] [N] [FLAG...]
# FLAGs are extra afetch options for the run (e.g. --per-host 100). Prints "requests N  Ir TOTAL  Ir/request X". Needs valgrind and `make` (for the test server).
set -euo pipefail
afetch=${1:-./afetch}
requests=${2:-5000}
shift $(($# < 2 ? $# : 2))
extra_flags=("$@")
. "$(dirname "$0")/../tests/server/start.sh"
test_server_with_work callgrind_per_request

for ((i = 0; i < requests; i++)); do echo "http://127.0.0.1:$port/status/200?i=$i"; done \
  >"$work/urls.txt"
timeout 600 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$afetch" -q -c 100 --threads 1 --no-progress ${extra_flags[@]+"${extra_flags[@]}"} "$work/urls.txt" >"$work/out.json" 2>"$work/vg.log" \
  || { tail -5 "$work/vg.log" >&2; exit 1; }
ok=$(grep -o '"ok":true' "$work/out.json" | wc -l)
[ "$ok" -eq "$requests" ] || { echo "callgrind_per_request: only $ok of $requests ok" >&2; exit 1; }
total=$(sed -n 's/^summary: //p' "$work/callgrind.out")
awk -v n="$requests" -v t="$total" 'BEGIN { printf "requests %d  Ir %d  Ir/request %.0f\n", n, t, t / n }'
