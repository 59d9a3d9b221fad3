#!/usr/bin/env bash
# `make demo`: start the local test server, fetch a small list against it with afetch, stop the
# server. Works offline. AFETCH_BIN and TEST_SERVER_BIN are set by the Makefile.
set -euo pipefail
afetch=${AFETCH_BIN:-./afetch}
server=${TEST_SERVER_BIN:-build/release/tests/test-server}
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$work"' EXIT

. "$(dirname "$0")/server/start.sh"
test_server_start demo

base="http://127.0.0.1:$port"
cat >"$work/urls.txt" <<URLS
# A demo list: fast and slow pages, a redirect chain, an error status, a body, bad lines.
$base/delay/300
$base/status/200
$base/redirect/3
$base/status/404
$base/bytes/100000
$base/delay/2500
127.0.0.1:$port/status/204
ftp://example.com/not-http
http://
URLS

echo "\$ afetch -c 10 -t 2 urls.txt    # the list:"
sed 's/^/    /' "$work/urls.txt"
echo
status=0
"$afetch" -c 10 -t 2 "$work/urls.txt" || status=$?
echo
echo "afetch exited with status $status (1 = finished, some results not ok)."
[ "$status" -le 1 ]
