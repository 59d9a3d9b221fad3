# Shared by tests/completion-test*.sh (bash): counting checks and comparing the completion's
# replies, which each script puts into the array COMPREPLY, with what is wanted.
passed=0
failed=0

check() { # check NAME COMMAND...: one test, passed when COMMAND succeeds
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}

# offers WORD...: COMPREPLY holds each WORD.
offers() {
  local want have
  for want in "$@"; do
    for have in "${COMPREPLY[@]}"; do
      [[ $have == "$want" ]] && continue 2
    done
    echo "  COMPREPLY (${COMPREPLY[*]}) lacks '$want'"
    return 1
  done
}

# offers_only WORD...: COMPREPLY is exactly the WORDs, in any order.
offers_only() {
  offers "$@" || return 1
  if ((${#COMPREPLY[@]} != $#)); then
    echo "  COMPREPLY (${COMPREPLY[*]}) is not just ($*)"
    return 1
  fi
}

offers_nothing() {
  ((${#COMPREPLY[@]} == 0)) || {
    echo "  COMPREPLY should be empty: (${COMPREPLY[*]})"
    return 1
  }
}

# The closing lines, cmocka's summary lines too, so that tests/run-tests.sh can count a script
# like a suite. Status 0 only when nothing failed.
summary() {
  echo "[  PASSED  ] $passed test(s)."
  ((failed == 0)) || echo "[  FAILED  ] $failed test(s), listed below:"
  echo "$passed passed, $failed failed"
  ((failed == 0))
}
