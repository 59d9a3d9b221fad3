#!/usr/bin/env bash
# --adaptive against the test server's model servers (docs/design.md, "Adaptive politeness"):
#   workers: N URLs of /workers/w/4?ms=MS (4 workers, MS ms each, a queue beyond 4) with fixed
#            --per-host values and with --adaptive: wall time, mean time.total, the most in
#            flight the server saw, and the mean in flight (Little's law: sum of totals / wall)
#   limit:   N/2 URLs of /limit/l/3?ms=MS (429 beyond 3 in flight), -r 8, plain, with
#            --per-host 8 and with --adaptive: wall time and the 429s the server sent
# Usage: bench/adaptive_bench.sh [AFETCH] [N] [MS] [ROUNDS]. Prints markdown tables; each row
# is the median wall time of ROUNDS runs (its other figures from that run). Needs jq.
set -euo pipefail
afetch=${1:-./afetch}
requests=${2:-400}
service_ms=${3:-20}
rounds=${4:-3}
. "$(dirname "$0")/../tests/server/start.sh"
test_server_with_work adaptive_bench
get() { curl -s "http://127.0.0.1:$port$1"; }

for ((i = 0; i < requests; i++)); do
  echo "http://127.0.0.1:$port/workers/w/4?ms=$service_ms&i=$i"
done >"$work/workers.txt"
for ((i = 0; i < requests / 2; i++)); do
  echo "http://127.0.0.1:$port/limit/l/3?ms=$service_ms&i=$i"
done >"$work/limit.txt"

# run KEY LIST FLAGS...: one run; prints "wall mean_total max_in_flight rejected".
run() {
  local key=$1 list=$2
  shift 2
  get /reset >/dev/null
  local start end
  start=$(date +%s.%N)
  "$afetch" -q --ndjson "$@" "$work/$list" >"$work/out.json" || true
  end=$(date +%s.%N)
  local mean model
  mean=$(jq -s '[.[].time.total] | add / length' "$work/out.json")
  model=$(get "/model/$key")
  echo "$(echo "$end - $start" | bc -l) $mean $(jq .max_in_flight <<<"$model") $(jq .rejected <<<"$model")"
}

# median KEY LIST FLAGS...: the run of median wall time among ROUNDS.
median() {
  for ((r = 0; r < rounds; r++)); do run "$@"; done | sort -n | sed -n "$(((rounds + 1) / 2))p"
}

echo "workers: $requests URLs, 4 workers of $service_ms ms, -c 32"
echo
echo "| options | wall s | mean time.total ms | max in flight | mean in flight |"
echo "|---|--:|--:|--:|--:|"
for flags in "--per-host 1" "--per-host 2" "--per-host 4" "--per-host 8" "--per-host 16" \
  "--per-host 32" "--adaptive" "--adaptive --per-host 16"; do
  read -r wall mean most _ < <(median w workers.txt -c 32 $flags)
  awk -v f="$flags" -v w="$wall" -v m="$mean" -v x="$most" -v n="$requests" \
    'BEGIN { printf "| `%s` | %.2f | %.1f | %d | %.1f |\n", f, w, m * 1000, x, n * m / w }'
done
echo
echo "limit: $((requests / 2)) URLs, 429 beyond 3 in flight, $service_ms ms, -c 8 -r 8"
echo
echo "| options | wall s | 429s | max in flight |"
echo "|---|--:|--:|--:|"
for flags in "" "--per-host 8" "--adaptive"; do
  read -r wall _ most rejected < <(median l limit.txt -c 8 -r 8 --retry-delay 0.05 $flags)
  awk -v f="${flags:-(none)}" -v w="$wall" -v r="$rejected" -v x="$most" \
    'BEGIN { printf "| `%s` | %.2f | %d | %d |\n", f, w, r, x }'
done
