# Sourced by scripts that need the test server (tests/demo.sh, bench/callgrind_per_request.sh,
# bench/adaptive_bench.sh).
# test_server_start NAME: starts $server (the test-server binary) as a coprocess, sets `port`,
# and keeps its standard input open on fd 3: the server exits when fd 3 closes (the caller's
# EXIT trap closes it). NAME names the caller in the error message.

# The server prints "http PORT" then "ready", and exits when its standard input closes.
test_server_start() {
  coproc SERVER { "$server"; }
  exec 3>&"${SERVER[1]}"
  port=
  while read -r word value <&"${SERVER[0]}"; do
    [ "$word" = http ] && port=$value
    [ "$word" = ready ] && break
  done
  [ -n "$port" ] || { echo "$1: the test server did not start" >&2; exit 1; }
}

# test_server_with_work NAME: as test_server_start, building $server (default: the release
# test server) when it is missing, with a new temporary directory in `work`; an EXIT trap
# stops the server and removes the directory.
test_server_with_work() {
  server=${TEST_SERVER_BIN:-build/release/tests/test-server}
  [ -x "$server" ] || make -s "$server" >/dev/null
  work=$(mktemp -d)
  trap 'exec 3>&- 2>/dev/null; rm -rf "$work"' EXIT
  test_server_start "$1"
}
