#!/usr/bin/env bash
# charlm_30min.sh - issue 6's quality target: a 2 x 512 character LSTM trained on tinyshakespeare
# for 30 minutes on this machine, then `charlm eval` on the validation split (the last 5 % of
# the text) read as the batch's BATCH streams (as training's validation) and as one stream. The
# recipe is bench/RESULTS.md's best so far: dropout between layers, weight drop on the recurrent
# matrices, AdamW's weight decay 0.25 and Adam's beta2 0.99 (ARGS; the forty-second to
# forty-fourth runs: better on average over three seeds, not on each), the LSTM's products in
# bfloat16 (ARGS' --bf16, from the forty-fifth run: 1.6x the steps in the 30 minutes on a CPU
# with AVX512_BF16; without it they run in plain C, far slower: drop it from ARGS there), Adam's rate held at LR and then brought down
# linearly to zero over the last WARMDOWN of the time by `--time-limit --warmdown` (the
# twenty-sixth run; SCHEDULE=steps: held for HOLD steps, then --resume phases of PHASE steps at
# the rates in RATES), all under one `timeout -s INT` (an interrupted phase still writes its
# checkpoint).
#
#   make all && bench/charlm_30min.sh                      # about 30 minutes, both cores
#   SECONDS_LIMIT=60 HIDDEN=128 PHASE=100 bench/charlm_30min.sh    # smoke test
#
# Environment: TEXT (tinyshakespeare), FIRTH (build/firth), OUT (bench/out), NAME (charlm_30min),
# SECONDS_LIMIT (1800), LAYERS (2), HIDDEN (512), SEQ (50), BATCH (64), LR (2.5e-3; the twenty-fourth run: 2e-3 with RATES /1.25 is the nineteenth), DROPOUT, WDROP,
# WARMUP (0: steps over which the rate rises linearly from LR / WARMUP to LR; `--warmup`),
# HOLD, PHASE (400), RATES, ARGS (more options for the first phase, which later ones keep;
# default "--weight-decay 0.25 --beta2 0.99 --bf16", ARGS= for none), LATE (more options for every later phase, e.g. LATE="--dropout 0.35":
# the sixteenth run), THREADS (2), SEED (1), SCHEDULE (time, the default since the twenty-sixth
# run: one run under `--time-limit SECONDS_LIMIT-20 --warmdown WARMDOWN`, the rate held and then
# taken down linearly to 0 by the clock, so the whole budget is used whatever the machine's
# speed; HOLD, RATES and LATE do not apply, PHASE spaces the evaluations; steps: the phases
# above), WARMDOWN (0.52, the share of the time the steps schedule spends decaying). Unset
# OPENBLAS_CORETYPE to let OpenBLAS pick
# this CPU's kernels (AVX-512 on the bench machine). Holds /tmp/firth-bench.lock, as the other
# benchmarks do; nothing else should run beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
TEXT=${TEXT:-../shared/data/char/tinyshakespeare/input.txt}
FIRTH=${FIRTH:-build/firth}
OUT=${OUT:-bench/out}
NAME=${NAME:-charlm_30min}
SECONDS_LIMIT=${SECONDS_LIMIT:-1800}
LAYERS=${LAYERS:-2}
HIDDEN=${HIDDEN:-512}
SEQ=${SEQ:-50}
BATCH=${BATCH:-64}
LR=${LR:-2.5e-3}
DROPOUT=${DROPOUT:-0.25}
WDROP=${WDROP:-0.1}
HOLD=${HOLD:-2600}
PHASE=${PHASE:-400}
RATES=${RATES:-"2.25e-3 1.84e-3 1.41e-3 1e-3 5.9e-4 1.9e-4 6.3e-5"}
ARGS=${ARGS---weight-decay 0.25 --beta2 0.99 --bf16}
WARMUP=${WARMUP:-0}
LATE=${LATE:-}
THREADS=${THREADS:-2}
SEED=${SEED:-1}
SCHEDULE=${SCHEDULE:-time}
WARMDOWN=${WARMDOWN:-0.52}
case "$SCHEDULE" in steps|time) ;; *) echo "charlm_30min.sh: SCHEDULE is steps or time" >&2; exit 1 ;; esac

[ -f "$TEXT" ] || { echo "charlm_30min.sh: no text at $TEXT (set TEXT=...)" >&2; exit 1; }
[ -x "$FIRTH" ] || { echo "charlm_30min.sh: no $FIRTH (run make all)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "charlm_30min.sh: no /usr/bin/time (scripts/deps.sh --bench)" >&2; exit 1; }
mkdir -p "$OUT"
# no other benchmark beside this one (they all take this lock)
exec 9> /tmp/firth-bench.lock
flock 9
ckpt=$OUT/$NAME.ckpt
log=$OUT/$NAME.log
val=$OUT/$NAME.val.txt
rm -f "$ckpt"

# The schedule, as one script under one timeout: the first phase creates the model, every later
# one resumes it with the next rate. A phase cut by the timeout writes its checkpoint on SIGINT.
schedule=$(mktemp)
trap 'rm -f "$schedule"' EXIT
# The first command's way to end: the clock (20 s of the limit left for the last validation pass
# and checkpoint) or HOLD steps followed by one --resume phase per rate.
if [ "$SCHEDULE" = time ]; then
    until="--time-limit $((SECONDS_LIMIT > 40 ? SECONDS_LIMIT - 20 : SECONDS_LIMIT / 2)) --warmdown $WARMDOWN"
    sched="lr $LR held, then down to 0 over the last $WARMDOWN of the time"
else
    until="--steps $HOLD"
    sched="lr $LR to step $HOLD then $RATES every $PHASE steps${LATE:+ with $LATE}"
fi
{
    echo 'set -e'
    printf '%q charlm train --input %q --output %q --layers %s --hidden %s --seq %s --batch %s' \
        "$FIRTH" "$TEXT" "$ckpt" "$LAYERS" "$HIDDEN" "$SEQ" "$BATCH"
    printf ' --lr %s --dropout %s --wdrop %s --lr-decay 1 %s --eval-every %s' \
        "$LR" "$DROPOUT" "$WDROP" "$until" "$PHASE"
    printf ' --checkpoint-every %s --threads %s --seed %s --warmup %s %s\n' "$PHASE" "$THREADS" "$SEED" \
        "$WARMUP" "$ARGS"
    if [ "$SCHEDULE" = steps ]; then
        # --bf16 is not kept in the checkpoint: every phase needs it again
        case " $ARGS " in *" --bf16 "*) LATE="$LATE --bf16" ;; esac
        s=$HOLD
        for lr in $RATES; do
            s=$((s + PHASE))
            printf '%q charlm train --resume %q --input %q --output %q --lr %s --steps %s' \
                "$FIRTH" "$ckpt" "$TEXT" "$ckpt" "$lr" "$s"
            printf ' --eval-every %s --checkpoint-every %s --threads %s --warmup %s %s\n' \
                "$PHASE" "$PHASE" "$THREADS" "$WARMUP" "$LATE"
        done
    fi
} > "$schedule"

echo "charlm_30min: $LAYERS x $HIDDEN, seq $SEQ x batch $BATCH, dropout $DROPOUT, wdrop $WDROP${ARGS:+, $ARGS}, warm-up $WARMUP steps," \
    "$sched; limit ${SECONDS_LIMIT} s; log $log"
rc=0
/usr/bin/time -v timeout -s INT "$SECONDS_LIMIT" sh "$schedule" > "$log" 2>&1 || rc=$?
# 124: the limit stopped a phase (it wrote its checkpoint on SIGINT); anything else is a failure
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
    echo "charlm_30min: training failed (exit $rc); last lines of $log:" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
[ -f "$ckpt" ] || { echo "charlm_30min: no checkpoint written" >&2; exit 1; }

{ grep 'validation' "$log" || true; } | sed 's/^/  /'
# every phase ends with "trained to step N" or, cut by the limit, "interrupted at step N"
step=$(sed -n 's/.*\(trained to\|interrupted at\) step \([0-9]*\).*/\2/p' "$log" | tail -n 1)
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
echo "trained $wall (limit ${SECONDS_LIMIT} s) to step ${step:-?}$([ "$rc" -eq 124 ] && echo ', stopped by the limit')"
sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/peak RSS: \1 kB (largest phase)/p' "$log"

# The validation split exactly as train holds it out: the last --val-frac (0.05) of the code
# points. charlm eval reads it as BATCH streams (each from a zero state, as training's validation
# passes do), then as one.
python3 - "$TEXT" "$val" <<'PY'
import sys
text = open(sys.argv[1], encoding='utf-8', errors='replace').read()
n = len(text)
open(sys.argv[2], 'w', encoding='utf-8').write(text[n - int(n * 0.05):])
PY
"$FIRTH" charlm eval "$ckpt" --input "$val" --streams "$BATCH" | sed "s/^/$BATCH streams: /"
"$FIRTH" charlm eval "$ckpt" --input "$val" --streams 1 | sed 's/^/one stream: /'
