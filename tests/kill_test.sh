#!/bin/sh
# kill_test.sh - SIGKILL firth at random moments, including during a save, and check what is
# left behind. Three parts:
#
# 1. `firth train` into each output format (native, word2vec binary, text). The output path
#    must hold the older model that stood there, byte for byte (killed before the rename), or a
#    complete new model that loads (firth neighbors; the native loader checks every size and the
#    payload checksum), never anything in between. The model is made large enough (KILL_VOCAB
#    words x KILL_DIM) that its save takes measurable time.
# 2. `firth train --checkpoint-every` (a chain: a fresh run, then `--resume` from whatever
#    checkpoint the last killed run left, again and again). After each kill the checkpoint must
#    be absent or loadable, and resuming a copy of it must finish with exactly the model of an
#    uninterrupted run (one thread: bit for bit); a finished output must be that model too.
# 3. `firth charlm train --checkpoint-every 1`, resuming the checkpoint at the output path each
#    time. The path must hold the older checkpoint byte for byte or a new one that loads (firth
#    charlm sample); at the end the chain is resumed to the last step and must equal an
#    uninterrupted run from the first checkpoint, bit for bit.
#
# In every part a run that is not killed must leave no temporary file; a run killed while saving
# may leave one NAME.tmp.XXXXXX (never renamed, never read by firth; docs/reliability.md). Odd
# runs are killed after a delay drawn uniformly over 0..1.3x the duration of an unkilled run;
# even runs as soon as a save's temporary file has bytes, plus 0..1/3 of that duration (so that
# many kills land inside a save whatever the machine's speed).
#   sh tests/kill_test.sh                  short: 6 runs per format and part (part of make test)
#   KILL_RUNS=100 KILL_VOCAB=50000 KILL_DIM=300 sh tests/kill_test.sh     the long version
#   KILL_PARTS="2 3" ...                   only some parts
# Last line: "N passed, N failed".
set -u
FIRTH=${FIRTH:-build/firth}
: "${KILL_RUNS:=6}" "${KILL_VOCAB:=10000}" "${KILL_DIM:=64}" "${KILL_SEED:=$$}"
: "${KILL_PARTS:=1 2 3}" "${KILL_EPOCHS:=10}" "${KILL_CKPT_EVERY:=0.05}" "${KILL_LM_HIDDEN:=128}" "${KILL_LM_STEPS:=30}"
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

# sleep_ms MS
sleep_ms() { sleep "$(awk -v d="$1" 'BEGIN { printf "%.3f", d / 1000 }')"; }
# wait_for_save PID GLOB: returns when a file matching GLOB has bytes or PID has exited (in the
# shell, no forks, so that the kill can follow closely)
wait_for_save() {
    while kill -0 "$1" 2> /dev/null; do
        for f in $2; do [ -s "$f" ] && return; done
    done
}
part() { case " $KILL_PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- part 1: firth train into each output format ---------------------------------------------
part 1 && for fmt in firth bin txt; do
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

# ---- part 2: firth train --checkpoint-every, killed and resumed -------------------------------
if part 2; then
    C=$T/ckpt
    mkdir -p "$C"
    out=$C/model.firth
    ck=$out.ckpt # the default checkpoint path of --output model.firth
    every=$KILL_CKPT_EVERY # seconds between checkpoints: many saves per run
    set -- --input "$T/corpus.txt" --min-count 1 --dim "$KILL_DIM" --epochs "$KILL_EPOCHS" \
        --sample 0 --negative 2 --window 2 --quiet --seed 11
    # the model of an uninterrupted run (checkpoints do not change it: the workers stop between
    # sentences while one is written), and the duration of the fastest of two such runs
    ref_ok=1
    full_ms=999999
    for r in 1 2; do
        t0=$(now_ms)
        "$FIRTH" train "$@" --output "$C/ref$r.firth" --checkpoint-every "$every" 2> "$T/err" \
            || { bad "checkpoints: uninterrupted run" "$(cat "$T/err")"; ref_ok=0; break; }
        t1=$(now_ms)
        [ $((t1 - t0)) -lt "$full_ms" ] && full_ms=$((t1 - t0))
    done
    if [ "$ref_ok" = 1 ]; then
        cmp -s "$C/ref1.firth" "$C/ref2.firth" || bad "checkpoints: two uninterrupted runs" "differ"
        ls "$C"/ref*.ckpt "$C"/*.tmp.* > /dev/null 2>&1 && bad "checkpoints: uninterrupted run" "left a checkpoint or a temporary file"
        n_none=0 n_resumed=0 n_done=0 n_tmp=0 n_bad=0 n_fresh=0
        i=0
        while [ "$i" -lt "$KILL_RUNS" ]; do
            i=$((i + 1))
            next_rand
            if [ -f "$ck" ]; then # go on from what the last killed run left
                (exec "$FIRTH" train --resume "$ck" --input "$T/corpus.txt" --output "$out" \
                    --checkpoint-every "$every" --quiet 2> /dev/null) &
                how="resumed run"
            else
                (exec "$FIRTH" train "$@" --output "$out" --checkpoint-every "$every" 2> /dev/null) &
                how="fresh run"
                n_fresh=$((n_fresh + 1))
            fi
            pid=$!
            if [ $((i % 2)) -eq 1 ]; then
                delay=$((rnd % (full_ms * 13 / 10 + 1)))
                where="$how after $delay ms"
            else
                delay=$((rnd % (full_ms / 3 + 1)))
                where="$how, $delay ms into a checkpoint"
                wait_for_save "$pid" "$ck.tmp.*"
            fi
            sleep_ms "$delay"
            kill -KILL "$pid" 2> /dev/null
            wait "$pid" 2> /dev/null
            tmps=$(ls "$ck".tmp.* "$out".tmp.* 2> /dev/null | wc -l)
            if [ "$tmps" -gt 1 ]; then bad "checkpoints: killed $where" "$tmps temporary files"; fi
            n_tmp=$((n_tmp + tmps))
            rm -f "$ck".tmp.* "$out".tmp.*
            # a finished model can only be the uninterrupted run's
            if [ -e "$out" ] && ! cmp -s "$out" "$C/ref1.firth"; then
                n_bad=$((n_bad + 1))
                bad "checkpoints: killed $where" "the output differs from the uninterrupted run's"
            fi
            if [ -e "$ck" ]; then # loadable, and resuming a copy of it gives the same model
                cp "$ck" "$C/try.ckpt"
                rm -f "$C/try.firth"
                if "$FIRTH" train --resume "$C/try.ckpt" --input "$T/corpus.txt" \
                    --output "$C/try.firth" --quiet 2> "$T/err" && cmp -s "$C/try.firth" "$C/ref1.firth"; then
                    n_resumed=$((n_resumed + 1))
                else
                    n_bad=$((n_bad + 1))
                    bad "checkpoints: killed $where" "resuming the checkpoint left: $(cat "$T/err")$(cmp "$C/try.firth" "$C/ref1.firth" 2>&1)"
                    rm -f "$ck"
                fi
                rm -f "$C/try.ckpt" "$C"/try.*
            elif [ ! -e "$out" ]; then
                n_none=$((n_none + 1)) # killed before the first checkpoint
            fi
            if [ -e "$out" ]; then # finished (the checkpoint, if any, was about to be removed)
                n_done=$((n_done + 1))
                rm -f "$out" "$ck"
            fi
        done
        [ "$n_bad" -eq 0 ] && ok "checkpoints: $KILL_RUNS kills of train --checkpoint-every $every over 0..$((full_ms * 13 / 10)) ms ($n_fresh fresh runs, the rest resumed; a full run: $full_ms ms, model $(wc -c < "$C/ref1.firth") bytes): no checkpoint yet $n_none, checkpoint resumed to the identical model $n_resumed, finished with the identical model $n_done, killed while saving (one temporary file left) $n_tmp, corrupt 0"
    fi
fi

# ---- part 3: firth charlm train, killed and resumed -------------------------------------------
if part 3; then
    L=$T/lm
    mkdir -p "$L"
    # a text of short words over 20 letters
    awk 'BEGIN { srand(3); for (i = 0; i < 6000; i++)
        printf "%s%s", substr("the cat sat on a mat and ran off to see big red dogs", 1 + int(rand() * 40),
            1 + int(rand() * 6)), (i % 10 == 9 ? ".\n" : " ") }' > "$L/text.txt"
    p=$L/lm.clm
    "$FIRTH" charlm train --input "$L/text.txt" --output "$p" --layers 2 --hidden "$KILL_LM_HIDDEN" \
        --seq 64 --batch 16 --eval-every 0 --threads 1 --steps 2 --quiet 2> "$T/err" \
        || bad "charlm: first checkpoint" "$(cat "$T/err")"
    if [ -s "$p" ]; then
        cp "$p" "$L/first.clm"
        resume() { # resumes $1 to KILL_LM_STEPS steps, a checkpoint after every step
            "$FIRTH" charlm train --resume "$1" --input "$L/text.txt" --output "$1" \
                --steps "$KILL_LM_STEPS" --checkpoint-every 1 --eval-every 0 --threads 1 --quiet
        }
        full_ms=999999
        for r in 1 2; do
            cp "$L/first.clm" "$L/ref.clm"
            t0=$(now_ms)
            resume "$L/ref.clm" 2> "$T/err" || bad "charlm: uninterrupted run" "$(cat "$T/err")"
            t1=$(now_ms)
            [ $((t1 - t0)) -lt "$full_ms" ] && full_ms=$((t1 - t0))
        done
        ls "$L"/*.tmp.* > /dev/null 2>&1 && bad "charlm: uninterrupted run" "left a temporary file"
        cp "$L/first.clm" "$p"
        cp "$p" "$L/old"
        n_old=0 n_new=0 n_tmp=0 n_bad=0 n_done=0
        i=0
        while [ "$i" -lt "$KILL_RUNS" ]; do
            i=$((i + 1))
            next_rand
            (exec "$FIRTH" charlm train --resume "$p" --input "$L/text.txt" --output "$p" \
                --steps "$KILL_LM_STEPS" --checkpoint-every 1 --eval-every 0 --threads 1 \
                --quiet 2> /dev/null) &
            pid=$!
            if [ $((i % 2)) -eq 1 ]; then
                delay=$((rnd % (full_ms * 13 / 10 + 1)))
                where="after $delay ms"
            else
                delay=$((rnd % (full_ms / 3 + 1)))
                where="$delay ms into a save"
                wait_for_save "$pid" "$p.tmp.*"
            fi
            sleep_ms "$delay"
            kill -KILL "$pid" 2> /dev/null
            wait "$pid" 2> /dev/null
            tmps=$(ls "$p".tmp.* 2> /dev/null | wc -l)
            if [ "$tmps" -gt 1 ]; then bad "charlm: killed $where" "$tmps temporary files"; fi
            n_tmp=$((n_tmp + tmps))
            rm -f "$p".tmp.*
            if cmp -s "$p" "$L/old"; then
                n_old=$((n_old + 1))
            elif "$FIRTH" charlm sample "$p" --length 1 > /dev/null 2> "$T/err"; then
                n_new=$((n_new + 1))
                cp "$p" "$L/old"
            else
                n_bad=$((n_bad + 1))
                bad "charlm: killed $where" "neither the older checkpoint nor a loadable one: $(cat "$T/err")"
                cp "$L/old" "$p"
            fi
            if cmp -s "$p" "$L/ref.clm"; then # the run had finished: start the chain again
                n_done=$((n_done + 1))
                cp "$L/first.clm" "$p"
                cp "$p" "$L/old"
            fi
        done
        # what the kills left, resumed to the end, is the uninterrupted run's checkpoint
        if resume "$p" 2> "$T/err" && cmp -s "$p" "$L/ref.clm"; then
            [ "$n_bad" -eq 0 ] && ok "charlm: $KILL_RUNS kills of charlm train --checkpoint-every 1 over 0..$((full_ms * 13 / 10)) ms (a full run: $full_ms ms, $((KILL_LM_STEPS - 2)) steps, checkpoint $(wc -c < "$p") bytes): older checkpoint intact $n_old, complete new checkpoint $n_new (the run had finished: $n_done), killed while saving (one temporary file left) $n_tmp, corrupt 0; resumed to step $KILL_LM_STEPS: identical to the uninterrupted run"
        else
            bad "charlm: resuming what the kills left" "$(cat "$T/err") $(cmp "$p" "$L/ref.clm" 2>&1)"
        fi
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
