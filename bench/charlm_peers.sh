#!/usr/bin/env bash
# charlm_peers.sh - firth charlm vs PyTorch (bench/charlm_torch.py): the same character LSTM, the
# same data pipeline, optimiser, clipping, batch and seq, on tinyshakespeare, the same number of
# threads. For each configuration it prints training characters per second of both and their
# validation loss after the same number of steps, then bench/charlm_prof.c's breakdown of the
# firth step (GFLOP/s of the products vs this machine's sgemm peak, share of the recurrent
# products).
#
#   make all && bench/charlm_peers.sh            # from the repository root
#   TEXT=... THREADS="1 2" SMALL_STEPS=1000 LARGE_STEPS=60 bench/charlm_peers.sh
#
# Both tools take their sgemm from the same OpenBLAS, so both follow OPENBLAS_CORETYPE from the
# environment (the header line says what it was; charlm_prof prints the kernels in use). Unset,
# OpenBLAS picks the kernels for this CPU itself (AVX-512 "Cooperlake" on the bench machine);
# OPENBLAS_CORETYPE=Haswell forces the AVX2 ones (bench/RESULTS.md, charlm run 3).
#
# The whole run holds /tmp/firth-bench.lock so no other benchmark overlaps it. Timings are the
# training loops only (firth: its own train-time rate, validation excluded; PyTorch: time around
# the loop). PyTorch is Debian's python3-torch (scripts/deps.sh --bench), run by /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
TEXT=${TEXT:-../shared/data/char/tinyshakespeare/input.txt}
THREADS=${THREADS:-1}
SMALL_STEPS=${SMALL_STEPS:-1000}
LARGE_STEPS=${LARGE_STEPS:-60}
FIRTH=${FIRTH:-build/firth}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
cc -O3 -march=native -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(pkg-config --cflags openblas) \
    bench/charlm_prof.c build/libfirth.a $(pkg-config --libs openblas) -lm -pthread -o build/charlm_prof

run() { # name layers hidden seq batch steps threads
    local name=$1 L=$2 H=$3 S=$4 B=$5 N=$6 t=$7
    "$FIRTH" charlm train --input "$TEXT" --output "$OUT/charlm_$name.ckpt" --layers "$L" \
        --hidden "$H" --seq "$S" --batch "$B" --steps "$N" --eval-every 0 --threads "$t" \
        --seed 1 2> "$OUT/charlm_$name.firth.log"
    local fr fv
    fr=$(sed -n 's/.*(\([0-9]*\) chars\/s); wrote.*/\1/p' "$OUT/charlm_$name.firth.log")
    fv=$(sed -n 's/.*validation \([0-9.]*\) nats\/char.*/\1/p' "$OUT/charlm_$name.firth.log" | tail -n 1)
    local tl
    tl=$(/usr/bin/python3 bench/charlm_torch.py --input "$TEXT" --layers "$L" --hidden "$H" \
        --seq "$S" --batch "$B" --steps "$N" --threads "$t" --seed 1)
    local tr tv
    tr=$(echo "$tl" | awk '{print $5}')
    tv=$(echo "$tl" | awk '{print $7}')
    printf '%-6s L%d H%-4d seq %-3d batch %-3d threads %d steps %-5d | firth %7.0f chars/s val %.4f nats | torch %7.0f chars/s val %.4f nats | speed-up %.2fx, val diff %+.4f nats\n' \
        "$name" "$L" "$H" "$S" "$B" "$t" "$N" "$fr" "$fv" "$tr" "$tv" \
        "$(echo "$fr / $tr" | bc -l)" "$(echo "$fv - $tv" | bc -l)"
}

main() {
    echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset)}"
    for t in $THREADS; do
        run small 2 128 50 50 "$SMALL_STEPS" "$t"
        run large 2 512 100 32 "$LARGE_STEPS" "$t"
    done
    for t in $THREADS; do
        build/charlm_prof "$TEXT" 2 512 100 32 5 "$t"
        build/charlm_prof "$TEXT" 2 128 50 50 20 "$t" | tail -n 2
    done
    echo "# done; load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

export -f run main
export TEXT THREADS SMALL_STEPS LARGE_STEPS FIRTH OUT
flock /tmp/firth-bench.lock bash -c main 2>&1 | tee "$OUT/charlm_peers.txt"
