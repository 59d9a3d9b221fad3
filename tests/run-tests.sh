#!/usr/bin/env bash
# Runs each cmocka test binary given as an argument, in order, carrying on after failures.
# Shows every binary's own report, adds up cmocka's summary lines and ends with exactly one
# line "N passed, N failed". Exit status 0 only when nothing failed.
#
# A binary that crashes, prints no summary, or exits non-zero although its summary reports
# no failure (a group setup that failed, a sanitizer report at exit) counts as one failure.
set -u

total_passed=0
total_failed=0
log=$(mktemp "${TMPDIR:-/tmp}/run-tests.XXXXXX") || exit 3
# No test reads the user's own config file (afetchrc): an empty config directory.
XDG_CONFIG_HOME=$(mktemp -d "${TMPDIR:-/tmp}/run-tests-config.XXXXXX") || exit 3
export XDG_CONFIG_HOME
trap 'rm -f "$log"; rm -rf "$XDG_CONFIG_HOME"' EXIT  # fish makes its own directory there

for bin in "$@"; do
  echo "=== $bin"
  if [[ ! -x $bin ]]; then
    echo "run-tests: $bin: not an executable file"
    total_failed=$((total_failed + 1))
    continue
  fi

  "$bin" >"$log" 2>&1
  status=$?
  cat "$log"

  passed=0
  failed=0
  summaries=0
  while IFS= read -r line; do
    if [[ $line =~ ^\[\ \ PASSED\ \ \]\ ([0-9]+)\ test\(s\)\.$ ]]; then
      passed=$((passed + BASH_REMATCH[1]))
      summaries=$((summaries + 1))
    elif [[ $line =~ ^\[\ \ FAILED\ \ \]\ ([0-9]+)\ test\(s\),\ listed\ below:$ ]]; then
      failed=$((failed + BASH_REMATCH[1]))
    fi
  done <"$log"

  if ((summaries == 0)); then
    if ((status > 128)); then
      echo "run-tests: $bin: killed by signal $((status - 128)) before its summary"
    else
      echo "run-tests: $bin: exited with status $status and no summary"
    fi
    failed=$((failed + 1))
  elif ((status != 0 && failed == 0)); then
    echo "run-tests: $bin: exited with status $status although no test failed"
    failed=1
  fi

  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
done

echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
