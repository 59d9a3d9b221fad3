#!/usr/bin/env bash
# The work queue's cost: one afetch worker (-c 100) fetching N URLs of the test server's /any/
# through Redis, with Redis on loopback and behind a proxy adding DELAY_MS each way (a 2 x
# DELAY_MS round trip), against the same URLs fetched by one plain run. Prints requests/s.
# Usage: bench/queue_rtt.sh [N [DELAY_MS]]  (defaults 30000 and 10). Needs redis-server,
# python3 and a built afetch and test server (make; make build/release/tests/test-server).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-30000}
delay=${2:-10}
afetch=${AFETCH_BIN:-$root/afetch}
server=${TEST_SERVER_BIN:-$root/build/release/tests/test-server}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; exec 3>&-; rm -rf "$work"' EXIT
. "$root/tests/server/start.sh"
test_server_start queue_rtt.sh
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
proxy_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" &
pids+=($!)
python3 "$root/bench/delay_proxy.py" "$proxy_port" "$redis_port" "$delay" > "$work/proxy.log" &
pids+=($!)
until redis-cli -p "$redis_port" ping > /dev/null 2>&1 && grep -q ready "$work/proxy.log"; do
  sleep 0.1
done
seq 0 $((count - 1)) | sed "s|^|http://127.0.0.1:$port/any/|" > "$work/urls"
now() { date +%s.%N; }
rate() { echo "$count / ($2 - $1)" | bc; }
start=$(now)
"$afetch" -q -c 100 --ndjson "$work/urls" > /dev/null
echo "one run, no queue:             $(rate "$start" "$(now)") req/s"
for target in "$redis_port" "$proxy_port"; do
  redis-cli -p "$redis_port" flushall > /dev/null
  "$afetch" -q --redis "redis://127.0.0.1:$redis_port" --enqueue "$work/urls"
  : > "$work/out"
  start=$(now)
  # Time to the last result (the output has every line), not the --idle-exit wait after it.
  "$afetch" -q --redis "redis://127.0.0.1:$target" --worker -c 100 --idle-exit 0.5 \
    > "$work/out" &
  worker=$!
  until [ "$(wc -l < "$work/out")" -ge "$count" ]; do sleep 0.01; done
  end=$(now)
  wait "$worker"
  label=$([ "$target" = "$redis_port" ] && echo "loopback" || echo "$((2 * delay)) ms RTT")
  printf 'one worker, Redis %-12s %s req/s\n' "$label:" "$(rate "$start" "$end")"
done
