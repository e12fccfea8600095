#!/usr/bin/env bash
# w2v_seeds.sh - quality (and time) of word2vec variants over several seeds, interleaved.
#
# One run's analogy accuracy moves by ~0.5-0.8 points and its WordSim-353 Spearman by ~0.01 from
# seed to seed (bench/RESULTS.md run O), as much as the 1-point margins the targets ask for, so
# quality is compared as a mean over seeds. Each variant is "LABEL|TOOL ARGS": TOOL is `firth`
# (ARGS go to `$FIRTH train`) or `gensim` (ARGS go to bench/w2v_gensim.py). Every variant trains on
# the whole CORPUS with the settings of bench/w2v_peers.sh (dim 100, window 5, negative 5, sample
# 1e-3, min-count 5, 5 epochs, alpha 0.05 for CBOW / 0.025 for skip-gram, by --arch in ARGS) and
# --seed S; for each seed the variants run in turn, so a slow spell of the machine hits all of them
# alike. Per run: the training command's wall seconds (gensim: its Word2Vec(...) call, as
# w2v_peers.sh), analogy accuracy and WordSim-353 Spearman (bench/w2v_eval.py); at the end, per
# variant, the mean and sample standard deviation of both and the median time.
#
#   SEEDS="1 2 3" bench/w2v_seeds.sh "b1|firth --arch cbow --threads 2 --cbow-block 1" \
#                                    "gensim|gensim --arch cbow --workers 2"
#
#   SEEDS    "1 2 3"        CORPUS   ../shared/data/corpus/en-prose.txt
#   FIRTH    build/firth    OUT      bench/out/seeds (gitignored): logs and raw.tsv
#   QUESTIONS, WORDSIM   evaluation sets (default ../shared/data/eval/...)
# Needs what w2v_peers.sh needs (scripts/deps.sh --bench). Holds /tmp/firth-bench.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's python with python3-gensim; never the python3 on PATH
DATA=../shared/data
SEEDS=${SEEDS:-1 2 3}
CORPUS=${CORPUS:-$DATA/corpus/en-prose.txt}
FIRTH=${FIRTH:-build/firth}
OUT=${OUT:-bench/out/seeds}
QUESTIONS=${QUESTIONS:-$DATA/eval/questions-words.txt}
WORDSIM=${WORDSIM:-$DATA/eval/wordsim353.tsv}
[ $# -ge 1 ] || { sed -n '2,22p' "$0"; exit 2; }
for f in "$CORPUS" "$QUESTIONS" "$WORDSIM"; do
    [ -s "$f" ] || { echo "w2v_seeds.sh: missing $f" >&2; exit 2; }
done
mkdir -p "$OUT"
exec 9> /tmp/firth-bench.lock
flock 9
common=(--dim 100 --window 5 --negative 5 --sample 1e-3 --min-count 5 --epochs 5)
echo "# $(date -u +%FT%TZ) $(git describe --always --dirty); corpus $CORPUS; seeds $SEEDS"
: > "$OUT/raw.tsv"
for s in $SEEDS; do
    for v in "$@"; do
        label=${v%%|*} rest=${v#*|}
        tool=${rest%% *} args=${rest#"$tool"}
        alpha=0.025
        case " $args " in *" --arch cbow "*) alpha=0.05 ;; esac
        vec="$OUT/$label-s$s.bin" log="$OUT/$label-s$s.log"
        case $tool in
        firth) cmd=("$FIRTH" train --input "$CORPUS" --output "$vec" --format bin --loss ns) ;;
        gensim) cmd=("$PY" bench/w2v_gensim.py --corpus "$CORPUS" --output "$vec" --format bin) ;;
        *) echo "w2v_seeds.sh: unknown tool '$tool' in '$v'" >&2; exit 2 ;;
        esac
        # shellcheck disable=SC2206 # ARGS are split on spaces on purpose
        cmd+=("${common[@]}" --alpha "$alpha" --seed "$s" $args)
        t0=$(date +%s.%N)
        "${cmd[@]}" > "$log" 2>&1 || { echo "FAILED ($log): ${cmd[*]}" >&2; exit 1; }
        t1=$(date +%s.%N)
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
        if [ "$tool" = gensim ]; then wall=$(sed -n 's/^train_seconds=//p' "$log"); fi
        ev=$("$PY" bench/w2v_eval.py "$vec" --questions "$QUESTIONS" --wordsim "$WORDSIM" 2>/dev/null)
        acc=$(sed -n 's/^analogy_acc=//p' <<< "$ev") ws=$(sed -n 's/^ws_spearman=//p' <<< "$ev")
        [ -n "$acc" ] && [ -n "$ws" ] || { echo "FAILED evaluating $vec" >&2; exit 1; }
        rm -f "$vec"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$label" "$wall" "$acc" "$ws" "$(date -u +%T)" |
            tee -a "$OUT/raw.tsv"
    done
done
echo "# variant: n, analogy mean (sd), WS-353 mean (sd), median wall s"
awk -F'\t' '{ l = $2; n[l]++; t[l, n[l]] = $3; a[l] += $4; aa[l] += $4 * $4; w[l] += $5; ww[l] += $5 * $5
              if (!(l in seen)) { seen[l] = 1; order[++k] = l } }
    function sd(s, ss, c) { return c > 1 ? sqrt((ss - s * s / c) / (c - 1)) : 0 }
    END {
        for (i = 1; i <= k; i++) {
            l = order[i]; c = n[l]
            for (j = 1; j <= c; j++) x[j] = t[l, j]
            for (p = 1; p <= c; p++) for (q = p + 1; q <= c; q++) if (x[q] < x[p]) { z = x[p]; x[p] = x[q]; x[q] = z }
            med = c % 2 ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
            printf "%-16s n=%d  analogy %.2f (%.2f)  WS-353 %.4f (%.4f)  median %.2f s\n", l, c,
                   a[l] / c, sd(a[l], aa[l], c), w[l] / c, sd(w[l], ww[l], c), med
        }
    }' "$OUT/raw.tsv"
