#!/usr/bin/env bash
# Installs what building and testing afetch needs, from Debian's packages (nginx-light: the
# HTTP/2 test's server; tmux: the progress-line test's terminal; jq: the README examples;
# clang, libclang-rt-dev (libFuzzer and the sanitizer runtimes, only recommended by clang) and
# llvm (llvm-symbolizer, for readable crash stacks): `make fuzz`; zsh and fish: the completion
# test of their completions; libhiredis-dev: --redis; redis-server: the queue tests).
# Runs apt-get directly as root, through sudo otherwise. Used by the README's first command
# and by .ci/run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends \
  build-essential pkg-config ca-certificates openssl curl \
  libcurl4-openssl-dev libevent-dev libcjson-dev libcmocka-dev libssl-dev libxml2-dev \
  libpsl-dev libxxhash-dev libhiredis-dev redis-server publicsuffix nginx-light tmux jq clang \
  libclang-rt-dev llvm \
  zsh fish
