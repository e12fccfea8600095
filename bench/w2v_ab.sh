#!/usr/bin/env bash
# w2v_ab.sh - A/B of firth training builds or options, for differences smaller than this
# machine's run-to-run spread (whole 5-epoch runs move by 15-30 % between identical runs).
#
# Each variant is "LABEL|COMMAND" (a firth binary and its `train` options); the variants run in
# turn, ROUNDS times, so that a slow spell of the machine hits all of them alike. Every run trains
# on a slice of the corpus with the full corpus's vocabulary (counted once, then --read-vocab), so
# the model has its real size (random rows miss the cache as in a full run) while a run takes
# seconds. The figure is firth's own "trained ... in S s"; the summary gives min and median per
# variant. Holds /tmp/firth-bench.lock. bench/RESULTS.md run N used it (as /tmp/abt.sh).
#
#   ROUNDS=5 bench/w2v_ab.sh "main|/tmp/firth_main train --arch cbow" "new|build/firth train --arch cbow"
#   ROUNDS=5 EPOCHS=3 bench/w2v_ab.sh "t1|build/firth train --arch sg --threads 1" \
#                                     "t2|build/firth train --arch sg --threads 2"
#
#   CORPUS   full corpus (default ../shared/data/corpus/en-prose.txt)
#   SLICE_MB the slice trained on: its first SLICE_MB MB (default 30, 5.5 M words of en-prose)
#   EPOCHS   2 (the first reads the text, the rest replay the record)   ROUNDS 5
#   OUT      bench/out/ab (gitignored): the vocabulary, the slice, raw.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-../shared/data/corpus/en-prose.txt}
SLICE_MB=${SLICE_MB:-30}
EPOCHS=${EPOCHS:-2}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-bench/out/ab}
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
mkdir -p "$OUT"
exec 9> /tmp/firth-bench.lock
flock 9
vocab="$OUT/vocab.txt" slice="$OUT/slice-${SLICE_MB}mb.txt"
if [ ! -s "$vocab" ] || [ "$CORPUS" -nt "$vocab" ]; then
    build/firth train --input "$CORPUS" --output "$OUT/vocab-run.bin" --epochs 1 --arch cbow \
        --save-vocab "$vocab" > /dev/null 2>&1
    rm -f "$OUT/vocab-run.bin"
fi
[ -s "$slice" ] || head -c "$((SLICE_MB * 1000000))" "$CORPUS" > "$slice"
echo "# $(date -u +%FT%TZ) $(git describe --always --dirty); slice $slice ($(wc -w < "$slice") words)," \
     "vocabulary of $CORPUS ($(wc -l < "$vocab") words), epochs $EPOCHS, rounds $ROUNDS"
: > "$OUT/raw.tsv"
for r in $(seq "$ROUNDS"); do
    for v in "$@"; do
        label=${v%%|*} cmd=${v#*|}
        s=$($cmd --input "$slice" --read-vocab "$vocab" --output "$OUT/ab.bin" --epochs "$EPOCHS" 2>&1 |
            sed -n 's/.*words in \([0-9.]*\)s.*/\1/p')
        [ -n "$s" ] || { echo "FAILED: $cmd" >&2; exit 1; }
        printf '%s\t%s\t%s\n' "$r" "$label" "$s" | tee -a "$OUT/raw.tsv"
    done
done
rm -f "$OUT/ab.bin"
awk -F'\t' '{ n[$2]++; v[$2, n[$2]] = $3; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
    END {
        for (i = 1; i <= k; i++) {
            l = order[i]; c = n[l]
            for (a = 1; a <= c; a++) x[a] = v[l, a]
            for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
            med = c % 2 ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
            printf "%-16s n=%d  min %.2f  median %.2f  max %.2f s\n", l, c, x[1], med, x[c]
        }
    }' "$OUT/raw.tsv"
