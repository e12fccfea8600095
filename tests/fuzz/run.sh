#!/bin/sh
# run.sh - builds the libFuzzer targets (make fuzz-build, clang) and runs each for FUZZ_SECONDS
# (default 60) on its committed seed corpus and regression inputs, one target at a time, at the
# lowest CPU priority. New inputs the fuzzer finds go to build-fuzz/work/TARGET (the committed
# corpus is never written); a crash leaves its input in build-fuzz/artifacts/TARGET/ and makes
# the script fail.
#   sh tests/fuzz/run.sh                  every target (CI: FUZZ_SECONDS=30)
#   FUZZ_SECONDS=600 sh tests/fuzz/run.sh corpus model     only these targets
#   FUZZ_BIN=DIR ...   run the binaries in DIR (a copy, for long runs while the tree changes)
# Prints one line per target: executions, executions per second, coverage (edges), features,
# corpus size; then "N passed, N failed". Logs: build-fuzz/logs/TARGET.log.
set -u
cd "$(dirname "$0")/../.."
: "${FUZZ_SECONDS:=60}" "${MAKE:=make}" "${FUZZ_BIN:=build-fuzz}"
if [ "$FUZZ_BIN" = build-fuzz ] && ! $MAKE --no-print-directory fuzz-build > build-fuzz.make.log 2>&1; then
    cat build-fuzz.make.log
    echo "fuzz targets did not build (clang and libclang-rt-14-dev: scripts/deps.sh --fuzz)"
    echo "0 passed, 1 failed"
    rm -f build-fuzz.make.log
    exit 1
fi
rm -f build-fuzz.make.log
targets=${*:-$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')}
passed=0 failed=0
mkdir -p build-fuzz/logs
for t in $targets; do
    bin=$FUZZ_BIN/fuzz_$t
    [ -x "$bin" ] || { echo "FAIL $t: no $bin"; failed=$((failed + 1)); continue; }
    mkdir -p "build-fuzz/work/$t" "build-fuzz/artifacts/$t"
    dirs="build-fuzz/work/$t tests/fuzz/corpus/$t"
    [ -d "tests/fuzz/regress/$t" ] && dirs="$dirs tests/fuzz/regress/$t"
    # the CLI target prints usage errors on stderr by design: close both streams for it
    mask=1
    [ "$t" = cli ] && mask=3
    log=build-fuzz/logs/$t.log
    # shellcheck disable=SC2086
    nice -n 19 "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2560 \
        -close_fd_mask=$mask -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
        $dirs > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    line="$t: ${FUZZ_SECONDS}s, ${execs:-?} execs, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
    if [ "$rc" -eq 0 ]; then
        echo "ok   $line"
        passed=$((passed + 1))
    else
        echo "FAIL $line: exit $rc; input(s): $(ls "build-fuzz/artifacts/$t" | tr '\n' ' ')"
        grep -E 'ERROR|runtime error|contract violated|SUMMARY' "$log" | head -n 5
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
