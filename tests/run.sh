#!/bin/sh
# run.sh - runs every test group and sums them up. The last line is "N passed, N failed".
#   FIRTH=build/firth FIRTH_TESTS=build/firth_tests sh tests/run.sh
# Groups: the C unit tests, the command-line tests, the gensim interoperability tests, the
# projector page in headless Chromium, the fuzz corpus and regression replays, the bad-input
# battery, the kill test (docs/reliability.md), training on several MPI processes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${FIRTH:=build/firth}" "${FIRTH_TESTS:=build/firth_tests}"
export FIRTH FIRTH_TESTS
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

group() { # name, command...
    name=$1; shift
    echo "== $name"
    "$@" > "$log" 2>&1
    status=$?
    cat "$log"
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$last" ]; then
        echo "FAIL $name: no summary line (exit status $status)"
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $name: exit status $status"; fi
    passed=$((passed + p)); failed=$((failed + f))
}

group "unit tests" "$FIRTH_TESTS"
group "command line" sh "$here/cli_test.sh"
group "gensim interoperability" sh "$here/gensim_test.sh"
group "projector page in a browser" sh "$here/browser_test.sh"
group "fuzz corpus replay" sh "$here/fuzz/replay.sh"
group "bad input" sh "$here/bad_input/run.sh"
group "kill test" sh "$here/kill_test.sh"
group "MPI training" sh "$here/mpi_test.sh"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
