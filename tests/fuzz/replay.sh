#!/bin/sh
# replay.sh - replays every fuzz target's committed seed corpus (tests/fuzz/corpus/TARGET) and
# regression inputs (tests/fuzz/regress/TARGET: inputs that once crashed or broke a contract)
# through the plain-C replay build of the target (build*/fuzz-replay/TARGET, made by `make`), so
# the normal and the SAN=1 test runs catch a fixed bug coming back. No clang needed.
#   FIRTH=build/firth sh tests/fuzz/replay.sh      (the replay binaries sit beside FIRTH)
# One test per target and directory. Last line: "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
FIRTH=${FIRTH:-build/firth}
bin=$(dirname "$FIRTH")/fuzz-replay
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for src in "$here"/fuzz_*.c; do
    t=$(basename "$src" .c)
    t=${t#fuzz_}
    for kind in corpus regress; do
        dir=$here/$kind/$t
        [ -d "$dir" ] || continue
        if [ ! -x "$bin/$t" ]; then
            echo "FAIL $t: no $bin/$t (run make)"
            failed=$((failed + 1))
            break
        fi
        if "$bin/$t" "$dir" > "$log" 2>&1 < /dev/null; then
            if grep -qE 'Sanitizer|runtime error:' "$log"; then
                echo "FAIL $t $kind: sanitizer report"
                grep -m 5 -E 'ERROR|runtime error|SUMMARY' "$log"
                failed=$((failed + 1))
            else
                echo "ok   $t $kind: $(tail -n 1 "$log")"
                passed=$((passed + 1))
            fi
        else
            echo "FAIL $t $kind: exit $?"
            grep -m 5 -E 'ERROR|runtime error|SUMMARY|contract' "$log"
            failed=$((failed + 1))
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
