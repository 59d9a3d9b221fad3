# fish completion for afetch(1): every option with its --help text, the fixed values of
# options such as --scope and -X, directories for DIR values, files for FILE values and
# operands, -d @FILE.
# Written from the option table (src/cli_table.c) by completions/generator/: do not edit;
# run `make completions` (tests/unit/test_cli_table.c fails until this file is current).
# `make install` puts it in $(PREFIX)/share/fish/vendor_completions.d/afetch.fish; or
# source this file.

# -d's value: data of the user's own, or @FILE.
function __afetch_data
    set -l token (string replace -r -- '^--[^=]*=' '' (commandline -ct)) # --data=@F
    string match -q -- '@*' $token; or return
    __fish_complete_path (string sub -s 2 -- $token) | string replace -r '^' @
end

complete -c afetch -s i -l input-file -r -F -d 'name a FILE / a URL explicitly'
complete -c afetch -l url -x -d 'name a FILE / a URL explicitly'
complete -c afetch -l shard -x -a 'env' -d 'take only part K of N of the input'
complete -c afetch -l shard-by -x -a 'host line' -d 'take only part K of N of the input'
complete -c afetch -s c -l concurrency -x -d 'at most N requests in flight (default 10)'
complete -c afetch -s t -l timeout -x -d 'per request, 0: none (30; with -o: none)'
complete -c afetch -l max-time -x -d 'per request, 0: none (30; with -o: none)'
complete -c afetch -l connect-timeout -x -d 'per connection (default 10)'
complete -c afetch -s Y -l speed-limit -x -d 'fail below B bytes/s for SEC seconds (with -o and no -t: 1 and 30)'
complete -c afetch -s y -l speed-time -x -d 'fail below B bytes/s for SEC seconds (with -o and no -t: 1 and 30)'
complete -c afetch -l threads -x -a 'auto' -d 'event loops sharing -c (auto: one per CPU)'
complete -c afetch -s r -l retries -x -d 'retry transient failures N times (default 0)'
complete -c afetch -l retry-delay -x -d 'backoff start / cap (1 / 30)'
complete -c afetch -l retry-max-delay -x -d 'backoff start / cap (1 / 30)'
complete -c afetch -l per-host -x -d 'at most N in flight per scheme+host+port'
complete -c afetch -l rate -x -d 'start at most N requests per second (or minute)'
complete -c afetch -l deadline -x -d 'stop the whole run after SEC; unfinished: deadline'
complete -c afetch -l ndjson -d 'JSON lines in completion order (default: an array)'
complete -c afetch -s q -l quiet -d 'no diagnostics on standard error'
complete -c afetch -l progress -f -a 'bar lines none' -d 'progress bar (on a tty by default) or status lines'
complete -c afetch -l no-progress -d 'progress bar (on a tty by default) or status lines'
complete -c afetch -l progress-interval -x -d 'seconds between status lines (default 10)'
complete -c afetch -l stats -d 'summary at the end: stderr table / JSON file'
complete -c afetch -l stats-json -r -F -d 'summary at the end: stderr table / JSON file'
complete -c afetch -s o -l output-dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'save each 2xx body to DIR/host/path, atomically'
complete -c afetch -l output-template -x -d 'names: {host} {path} {name} {index} {url_hash}'
complete -c afetch -l fsync -d 'fsync saved files and their directory (needs -o)'
complete -c afetch -l if-changed -r -F -d 'conditional requests; validators kept in FILE'
complete -c afetch -l sha256 -d 'add the body'\''s SHA-256 / the body to each result'
complete -c afetch -l body -d 'add the body'\''s SHA-256 / the body to each result'
complete -c afetch -l max-size -x -d 'fail larger bodies (k/M/G; --body alone: 1M)'
complete -c afetch -l crawl -d 'input URLs are seeds: fetch the pages they link to'
complete -c afetch -l depth -x -d 'depth / pages at most (1 / 100000, 0: no limit)'
complete -c afetch -l max-pages -x -d 'depth / pages at most (1 / 100000, 0: no limit)'
complete -c afetch -l scope -x -a 'host domain prefix' -d 'S: the seed'\''s host, domain or prefix (default host)'
complete -c afetch -l include -x -d 'follow only / never matching URLs'
complete -c afetch -l exclude -x -d 'follow only / never matching URLs'
complete -c afetch -l robots -d 'honour robots.txt / results for blocked URLs'
complete -c afetch -l show-skipped -d 'honour robots.txt / results for blocked URLs'
complete -c afetch -l links -d 'add each page'\''s links to its result (link_urls)'
complete -c afetch -s p -l page-requisites -d 'also fetch what pages show with (img, css, ...)'
complete -c afetch -l span-hosts -d 'requisites from any host (default: the page'\''s)'
complete -c afetch -s L -l location -d 'follow redirects (default) / do not'
complete -c afetch -l no-location -d 'follow redirects (default) / do not'
complete -c afetch -l max-redirs -x -d 'at most N redirects, -1 for no limit (default 10)'
complete -c afetch -l location-trusted -d 'send Authorization and Cookie to other hosts too'
complete -c afetch -s H -l header -x -d 'add a request header (repeatable)'
complete -c afetch -s A -l user-agent -x -d 'User-Agent header (default afetch/VERSION)'
complete -c afetch -s X -l request -x -a 'GET HEAD POST PUT PATCH DELETE OPTIONS' -d 'request method (HEAD: headers only, like curl -I)'
complete -c afetch -s d -l data -x -a '(__afetch_data)' -d 'POST DATA (@FILE reads it; several -d joined by &)'
complete -c afetch -s k -l insecure -d 'no certificate check / trust FILE'\''s CAs'
complete -c afetch -l cacert -r -F -d 'no certificate check / trust FILE'\''s CAs'
complete -c afetch -l http1.1 -d 'HTTP version (default: libcurl'\''s choice)'
complete -c afetch -l http2 -d 'HTTP version (default: libcurl'\''s choice)'
complete -c afetch -s h -l help -d 'this text / versions of afetch and its libraries'
complete -c afetch -s V -l version -d 'this text / versions of afetch and its libraries'
