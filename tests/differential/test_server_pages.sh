#!/usr/bin/env bash
# The test server's HTML pages as files, for prefilter_diff: tests/differential/test_server_pages.sh
# TEST_SERVER_BIN DIR fetches them (the generated /site, the /req pages of -p, a /graph page, a
# padded page) into DIR with curl.
set -euo pipefail
server=$1
dir=$2
cd "$(dirname "$0")/../.."
. tests/server/start.sh
trap 'exec 3>&-' EXIT
test_server_start test_server_pages
mkdir -p "$dir"
paths=(/req/index.html /req/page1.html /req/page2.html /req/obj/frame.html
  /graph/0-1-2_500-2_0/0.html /padded/64.html /site/nofollow.html /site/comment.html
  /site/script.html)
for n in $(seq 0 299); do
  paths+=("/site/$n.html")
done
for path in "${paths[@]}"; do
  curl -sf "http://127.0.0.1:$port$path" -o "$dir/$(echo "${path#/}" | tr / _)"
done
echo "test_server_pages: ${#paths[@]} pages in $dir"
