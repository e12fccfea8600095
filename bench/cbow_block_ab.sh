#!/usr/bin/env bash
# cbow_block_ab.sh - what --cbow-block costs in quality and gains in speed: firth CBOW (negative
# sampling, dim 100, window 5, negative 5, sample 1e-3, min-count 5, alpha 0.05, seed 1) on the
# bench corpus at each block size in BLOCKS, REPS rounds interleaved, the same settings as
# bench/w2v_peers.sh; each model evaluated with bench/w2v_eval.py (analogies over the top 30k
# words, WordSim-353). Holds /tmp/firth-bench.lock. Prints one line per run.
#
#   BLOCKS="1 2 4 8" REPS=1 THREADS=1 EPOCHS=5 bench/cbow_block_ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/corpus/en-prose.txt}
BLOCKS=${BLOCKS:-1 2 4 8}
REPS=${REPS:-1}
THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-5}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
words=$(wc -w < "$CORPUS")
exec 9> /tmp/firth-bench.lock
flock 9
echo "# $(date -u +%FT%TZ) $(git describe --always --dirty) load $(cut -d' ' -f1-3 /proc/loadavg); corpus $CORPUS ($words words), threads $THREADS, epochs $EPOCHS"
for rep in $(seq "$REPS"); do
    for b in $BLOCKS; do
        vec="$OUT/cbow_block$b.bin"
        t0=$(date +%s.%N)
        build/firth train --input "$CORPUS" --output "$vec" --format bin --arch cbow --loss ns \
            --dim 100 --window 5 --negative 5 --sample 1e-3 --min-count 5 --epochs "$EPOCHS" \
            --alpha 0.05 --threads "$THREADS" --seed 1 --cbow-block "$b" --quiet
        t1=$(date +%s.%N)
        ev=$(/usr/bin/python3 bench/w2v_eval.py "$vec" --questions ../shared/data/eval/questions-words.txt \
            --wordsim ../shared/data/eval/wordsim353.tsv 2>/dev/null)
        acc=$(echo "$ev" | sed -n 's/^analogy_acc=//p')
        ws=$(echo "$ev" | sed -n 's/^ws_spearman=//p')
        printf 'block %-2s rep %s  %7.2f s  %9.0f words/s  analogy %s  ws353 %s\n' "$b" "$rep" \
            "$(echo "$t1 - $t0" | bc -l)" "$(echo "$words * $EPOCHS / ($t1 - $t0)" | bc -l)" "$acc" "$ws"
    done
done
