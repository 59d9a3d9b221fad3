#!/usr/bin/env bash
# The work queue's scale-out row: N URLs of the test server's /any/ fetched by one plain run
# (-c 100, no Redis), then through Redis on loopback by 1, 2 and 4 worker processes (-c 100
# each) at once. Prints a markdown table: requests/s (to the last result line), afetch CPU
# per request (user + sys of every process, GNU time), Redis' CPU per request (INFO cpu, the
# fetch alone: not the --enqueue) and the afetch CPU over the plain run's.
# Usage: bench/queue_scale.sh [N [ROUNDS]]  (defaults 40000 and 3; the medians are printed).
# Needs redis-server, redis-cli, python3, /usr/bin/time and a built afetch and test server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-40000}
rounds=${2:-3}
afetch=${AFETCH_BIN:-$root/afetch}
server=${TEST_SERVER_BIN:-$root/build/release/tests/test-server}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; exec 3>&-; rm -rf "$work"' EXIT
. "$root/tests/server/start.sh"
test_server_start queue_scale.sh
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" &
pids+=($!)
until redis-cli -p "$redis_port" ping > /dev/null 2>&1; do sleep 0.1; done
seq 0 $((count - 1)) | sed "s|^|http://127.0.0.1:$port/any/|" > "$work/urls"
now() { date +%s.%N; }
redis_cpu() {
  redis-cli -p "$redis_port" info cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(user|sys):/ { total += $2 } END { printf "%.3f", total }'
}
# CPU seconds (user + sys) in the GNU time files given.
cpu_of() { awk '{ total += $1 + $2 } END { printf "%.3f", total }' "$@"; }
# One row's figures, "req/s afetch_cpu_s redis_cpu_s": plain when $1 is 0, else $1 workers.
run_once() {
  local workers=$1 start end redis_before
  rm -f "$work"/out.* "$work"/time.*
  if [ "$workers" = 0 ]; then
    start=$(now)
    /usr/bin/time -f '%U %S' -o "$work/time.0" "$afetch" -q -c 100 --ndjson "$work/urls" > /dev/null
    echo "$(echo "$count / ($(now) - $start)" | bc) $(cpu_of "$work/time.0") 0"
    return
  fi
  redis-cli -p "$redis_port" flushall > /dev/null
  "$afetch" -q --redis "redis://127.0.0.1:$redis_port" --enqueue "$work/urls"
  redis_before=$(redis_cpu)
  start=$(now)
  local worker_pids=()
  for w in $(seq 1 "$workers"); do
    : > "$work/out.$w"
    /usr/bin/time -f '%U %S' -o "$work/time.$w" "$afetch" -q --redis \
      "redis://127.0.0.1:$redis_port" --worker -c 100 --idle-exit 0.5 > "$work/out.$w" &
    worker_pids+=($!)
  done
  until [ "$(cat "$work"/out.* | wc -l)" -ge "$count" ]; do sleep 0.01; done
  end=$(now)
  wait "${worker_pids[@]}"
  local redis_used
  redis_used=$(echo "$(redis_cpu) - $redis_before" | bc)
  echo "$(echo "$count / ($end - $start)" | bc) $(cpu_of "$work"/time.*) $redis_used"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A rate cpu redis
for round in $(seq 1 "$rounds"); do
  for workers in 0 1 2 4; do
    read -r r c d < <(run_once "$workers")
    rate[$workers]+="$r "
    cpu[$workers]+="$c "
    redis[$workers]+="$d "
    echo "round $round, workers $workers: $r req/s, $c s afetch CPU, $d s Redis CPU" >&2
  done
done
us_per_request() { echo "scale=1; $1 * 1000000 / $count" | bc; }
plain_cpu=$(echo "${cpu[0]}" | tr ' ' '\n' | grep . | median)
echo "| run | req/s (median of $rounds) | afetch CPU µs/request | Redis CPU µs/request | afetch CPU vs plain |"
echo "|---|--:|--:|--:|--:|"
for workers in 0 1 2 4; do
  r=$(echo "${rate[$workers]}" | tr ' ' '\n' | grep . | median)
  c=$(echo "${cpu[$workers]}" | tr ' ' '\n' | grep . | median)
  d=$(echo "${redis[$workers]}" | tr ' ' '\n' | grep . | median)
  label=$([ "$workers" = 0 ] && echo "one plain process" || echo "$workers worker(s)")
  over=$(echo "scale=4; ($c / $plain_cpu - 1) * 100" | bc | xargs printf "%.1f")
  echo "| $label | $r | $(us_per_request "$c") | $(us_per_request "$d") | ${over}% |"
done
