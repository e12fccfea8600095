#!/bin/sh
# kill_test.sh - SIGKILL `firth train` at random moments, including during the save, and check
# what is left at the output path:
#   - the older model that stood there, byte for byte (killed before the rename), or
#   - a complete new model that loads (firth neighbors; the native loader checks every size and
#     the payload checksum), never anything in between;
#   - no temporary file after a run that was not killed; a run killed while saving may leave one
#     NAME.tmp.XXXXXX (it was never renamed, firth never reads it; docs/reliability.md).
# The model is made large enough (KILL_VOCAB words x KILL_DIM) that its save takes measurable
# time. Odd runs are killed after a delay drawn uniformly over 0..1.3x the duration of an
# unkilled run; even runs as soon as the save's temporary file has bytes, plus 0..1/3 of that
# duration (so that many kills land inside the save whatever the machine's speed).
#   sh tests/kill_test.sh                           short: 6 runs per format (part of make test)
#   KILL_RUNS=100 KILL_VOCAB=50000 KILL_DIM=300 sh tests/kill_test.sh     the long version
# Last line: "N passed, N failed".
set -u
FIRTH=${FIRTH:-build/firth}
: "${KILL_RUNS:=6}" "${KILL_VOCAB:=10000}" "${KILL_DIM:=64}" "${KILL_SEED:=$$}"
T=$(mktemp -d /tmp/firth-kill-XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# a corpus where every one of KILL_VOCAB words occurs 4 times, so the vocabulary (and the file)
# is large while an epoch stays short
awk -v V="$KILL_VOCAB" 'BEGIN { srand(1); for (r = 0; r < 4; r++) for (i = 0; i < V; i++)
    printf "w%d%s", int(rand() * V), (i % 12 == 11 ? "\n" : " ") ; print "" }' > "$T/corpus.txt"

now_ms() { date +%s%N | cut -c 1-13; }
# delays: a small LCG seeded by KILL_SEED, so a failing run can be repeated
rnd=$KILL_SEED
next_rand() { rnd=$(( (rnd * 1103515245 + 12345) % 2147483648 )); }

for fmt in firth bin txt; do
    out=$T/model.$fmt
    train() { # seed: trains into $out; with a second argument "bg", in the background with
        # $! naming firth itself (exec), so that the SIGKILL reaches firth and not a subshell
        if [ "${2:-}" = bg ]; then
            (exec "$FIRTH" train --input "$T/corpus.txt" --output "$out" --min-count 1 \
                --dim "$KILL_DIM" --epochs 1 --sample 0 --negative 2 --window 2 --quiet \
                --seed "$1" 2> /dev/null) &
            return
        fi
        "$FIRTH" train --input "$T/corpus.txt" --output "$out" --min-count 1 --dim "$KILL_DIM" \
            --epochs 1 --sample 0 --negative 2 --window 2 --quiet --seed "$1"
    }
    # the older model, and how long an unkilled run takes (training + save)
    train 7 || { bad "$fmt: first training" "failed"; continue; }
    cp "$out" "$T/old"
    # the fastest of two unkilled runs (the machine is shared; a slow outlier would put most
    # kills after the end)
    full_ms=999999
    for s in 8 9; do
        t0=$(now_ms)
        train $s 2> "$T/err" || { bad "$fmt: timed run" "$(cat "$T/err")"; continue 2; }
        t1=$(now_ms)
        [ $((t1 - t0)) -lt "$full_ms" ] && full_ms=$((t1 - t0))
    done
    if ls "$out".tmp.* > /dev/null 2>&1; then bad "$fmt: unkilled run" "left a temporary file"; fi
    cmp -s "$out" "$T/old" && bad "$fmt: seeds" "seed 9 wrote the same bytes as seed 7"
    "$FIRTH" neighbors "$out" w1 -k 1 > /dev/null 2>&1 || bad "$fmt: unkilled run" "model does not load"
    cp "$T/old" "$out"
    n_old=0 n_new=0 n_tmp=0 n_bad=0
    i=0
    while [ "$i" -lt "$KILL_RUNS" ]; do
        i=$((i + 1))
        next_rand
        train $((100 + i)) bg
        pid=$!
        if [ $((i % 2)) -eq 1 ]; then # anywhere in the run
            delay=$((rnd % (full_ms * 13 / 10 + 1)))
            where="after $delay ms"
        else # during the save: wait (in the shell, no forks) for the save's temporary file to
            # have bytes (firth_check_writable's probe at the start is empty), then a little more
            delay=$((rnd % (full_ms / 3 + 1)))
            where="$delay ms into the save"
            while kill -0 "$pid" 2> /dev/null; do
                for f in "$out".tmp.*; do [ -s "$f" ] && break 2; done
            done
        fi
        sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
        kill -KILL "$pid" 2> /dev/null
        wait "$pid" 2> /dev/null
        tmps=$(ls "$out".tmp.* 2> /dev/null | wc -l)
        if cmp -s "$out" "$T/old"; then
            n_old=$((n_old + 1))
        elif "$FIRTH" neighbors "$out" w1 -k 1 > /dev/null 2> "$T/err"; then
            n_new=$((n_new + 1))
            cp "$out" "$T/old" # the new model is the one to keep from now on
        else
            n_bad=$((n_bad + 1))
            bad "$fmt: killed $where" "neither the older model nor a loadable one: $(cat "$T/err")"
            cp "$T/old" "$out"
        fi
        if [ "$tmps" -gt 1 ]; then bad "$fmt: killed $where" "$tmps temporary files"; fi
        n_tmp=$((n_tmp + tmps))
        rm -f "$out".tmp.*
    done
    [ "$n_bad" -eq 0 ] && ok "$fmt: $KILL_RUNS kills over 0..$((full_ms * 13 / 10)) ms (a full run: $full_ms ms, $(wc -c < "$out") bytes): older model intact $n_old, complete new model $n_new, killed while saving (one temporary file left) $n_tmp, corrupt 0"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
