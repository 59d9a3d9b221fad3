#!/usr/bin/env bash
# Runs libFuzzer harnesses built by `make fuzz-build`: tests/fuzz/run.sh BUILD_DIR SECONDS NAME...
# SECONDS > 0: fuzzes each harness that long on a copy of its seed corpus,
#   BUILD_DIR/corpus-NAME (new inputs stay there, never in the tree; later runs go on from it).
# SECONDS 0: replays each seed corpus once (a regression run, no mutation).
# A crash, leak, UB report, timeout or broken invariant lands in BUILD_DIR/artifacts/NAME-*;
# the script prints its stack and the command that replays it, and exits 1 at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 3 ]; then
  echo "usage: $0 BUILD_DIR SECONDS NAME..." >&2
  exit 2
fi
build=$1
seconds=$2
shift 2

# Longest input: room for what each harness reads (robots groups, pages with several tags,
# names over OUTPUT_NAME_MAX; the reader's harness makes its own long lines), small enough to
# keep executions fast.
max_len() {
  case $1 in
    links | prefilter) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
failed=()
for name in "$@"; do
  binary=$build/fuzz_$name
  seeds=tests/fuzz/corpus/$name
  log=$build/fuzz_$name.log
  args=(-max_len="$(max_len "$name")" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$build/artifacts/$name-")
  if [ -f "tests/fuzz/$name.dict" ]; then
    args+=(-dict="tests/fuzz/$name.dict")
  fi
  if [ "$seconds" = 0 ]; then
    "$binary" "${args[@]}" -runs=0 "$seeds" >"$log" 2>&1
  else
    corpus=$build/corpus-$name
    mkdir -p "$corpus"
    cp -n "$seeds"/* "$corpus"/
    "$binary" "${args[@]}" -max_total_time="$seconds" "$corpus" >"$log" 2>&1
  fi
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
  if [ "$status" -eq 0 ]; then
    echo "fuzz_$name: ok, ${runs:-?} runs, ${speed:-?} exec/s, ${coverage:-no coverage line}"
  else
    echo "fuzz_$name: FAILED (exit $status), log: $log"
    grep -E '^(==[0-9]+==|    #|SUMMARY|.*invariant broken|.*runtime error)' "$log" |
      grep -v -E 'in (fuzzer::|__sanitizer_print_stack_trace|_start|__libc_start|main )' | head -n 40
    for artifact in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
      echo "  replay: $binary $artifact"
    done
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} harness(es) failed: ${failed[*]}"
fi
echo "fuzz: $(($# - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
