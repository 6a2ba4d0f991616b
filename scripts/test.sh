#!/usr/bin/env bash
# Runs the test suites and prints one closing line, "N passed, N failed".
#   scripts/test.sh          unit + http, then both again under ASan+UBSan
#   scripts/test.sh unit     unit tests only (normal build)
#   scripts/test.sh http     http integration tests only (normal build)
# Expects `make` to have built what it runs (the Makefile's test targets do).
set -u
cd "$(dirname "$0")/.."

what=${1:-all}
passed=0 failed=0 broken=()

run_unit() {   # $1: directory of test binaries, $2: label
  local dir=$1 label=$2 t out p f
  for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); local rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0} f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi    # crashed before cmocka could count
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
      broken+=("$label $(basename "$t")"); printf '%s\n' "$out"
    else
      echo "ok   $label $(basename "$t") ($p)"
    fi
  done
}

run_http() {   # $1: binary, $2: label
  local bin=$1 label=$2 out rc p f
  out=$(FM_BIN=$bin python3 tests/http/run.py 2>&1); rc=$?
  local last
  last=$(printf '%s\n' "$out" | tail -1)
  p=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
  f=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
  p=${p:-0} f=${f:-0}
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    broken+=("$label http"); printf '%s\n' "$out" | grep -v '^ok '
  else
    echo "ok   $label http ($p)"
    printf '%s\n' "$out" | grep '^skip ' || true
  fi
}

run_tck() {    # $1: dmn_tck binary, $2: label. Known failures don't count; regressions do.
  local bin=$1 label=$2 out rc last p
  [ -x "$bin" ] || return 0
  out=$("$bin" ../shared/conformance/dmn-tck tests/conformance/dmn-tck-known-failures.txt 2>&1); rc=$?
  last=$(printf '%s\n' "$out" | tail -1)
  p=$(printf '%s' "$last" | sed -n 's/^\([0-9]*\) passed, .*/\1/p')
  passed=$((passed + ${p:-0}))
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1)); broken+=("$label dmn-tck")
    printf '%s\n' "$out" | grep -v '^known '
  else
    echo "ok   $label dmn-tck ($last)"
  fi
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

case $what in
  unit) run_unit build/tests unit; run_tck build/tests/dmn_tck unit ;;
  http) run_http build/flowmaster plain ;;
  all)
    run_unit build/tests unit
    run_tck build/tests/dmn_tck unit
    run_http build/flowmaster plain
    run_unit build/tests-asan asan-unit
    run_tck build/tests-asan/dmn_tck asan-unit
    run_http build/asan/flowmaster asan
    ;;
  *) echo "usage: $0 [unit|http]" >&2; exit 2 ;;
esac

for b in "${broken[@]+"${broken[@]}"}"; do echo "FAILED: $b"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
