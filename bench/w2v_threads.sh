#!/usr/bin/env bash
# w2v_threads.sh - how much a second (third, ...) thread gives firth's word2vec training, measured
# in interleaved rounds, because this machine's own speed moves by a third within minutes.
#
# Each round runs, for every arch, `firth train` with every thread count in turn (same corpus,
# the bench settings of w2v_peers.sh: dim 100, window 5, negative 5, sample 1e-3, min-count 5,
# alpha 0.025 sg / 0.05 cbow, seed 1), timing the whole command (vocabulary pass, training and
# writing the vectors). It prints one line per run, then per arch the ratio of the first thread
# count's time to each other's: per round, over the sums of all rounds, and the median of the
# per-round ratios.
#
# Usage: [ROUNDS=3] [EPOCHS=5] [ARCHS="sg cbow"] [THREADS="1 2"] [CORPUS=...] [FIRTH=build/firth]
#        bench/w2v_threads.sh
# Run nothing else meanwhile. OpenBLAS is not used by training; its variables do not matter here.
set -eu
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
CORPUS=${CORPUS:-$REPO/../shared/data/corpus/en-prose.txt}
ROUNDS=${ROUNDS:-3}
EPOCHS=${EPOCHS:-5}
ARCHS=${ARCHS:-sg cbow}
THREADS=${THREADS:-1 2}
FIRTH=${FIRTH:-$REPO/build/firth}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

[ -r "$CORPUS" ] || { echo "w2v_threads.sh: cannot read the corpus $CORPUS" >&2; exit 2; }
[ -x "$FIRTH" ] || { echo "w2v_threads.sh: no firth binary at $FIRTH (make first)" >&2; exit 2; }

echo "# w2v_threads.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), build $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# corpus $CORPUS, epochs $EPOCHS, rounds $ROUNDS, archs $ARCHS, threads $THREADS"
printf '%s\t%s\t%s\t%s\n' round arch threads seconds
for r in $(seq 1 "$ROUNDS"); do
    for arch in $ARCHS; do
        alpha=0.025
        [ "$arch" = cbow ] && alpha=0.05
        for t in $THREADS; do
            s0=$(date +%s.%N)
            "$FIRTH" train --input "$CORPUS" --output "$TMP/v.bin" --arch "$arch" --loss ns \
                --dim 100 --window 5 --negative 5 --sample 1e-3 --min-count 5 --alpha "$alpha" \
                --epochs "$EPOCHS" --threads "$t" --seed 1 --quiet
            s1=$(date +%s.%N)
            sec=$(echo "$s1 - $s0" | bc -l)
            printf '%d\t%s\t%d\t%.2f\n' "$r" "$arch" "$t" "$sec" | tee -a "$TMP/times.tsv"
        done
    done
done

first=${THREADS%% *}
echo
echo "# ratios: time with $first thread(s) / time with t threads"
for arch in $ARCHS; do
    for t in $THREADS; do
        [ "$t" = "$first" ] && continue
        awk -v a="$arch" -v f="$first" -v t="$t" '
            $1 > maxr { maxr = $1 }
            $2 == a && $3 == f { base[$1] = $4; sb += $4 }
            $2 == a && $3 == t { cur[$1] = $4; sc += $4 }
            END {
                n = 0; line = ""
                for (r = 1; r <= maxr; r++) if ((r in base) && (r in cur)) q[++n] = base[r] / cur[r]
                for (i = 1; i <= n; i++) line = line sprintf(" %.2fx", q[i])
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (q[j] < q[i]) { x = q[i]; q[i] = q[j]; q[j] = x }
                med = n % 2 ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
                printf "%s %d vs %d threads: rounds%s | sum %.2f / %.2f s = %.2fx | median %.2fx\n", a, f, t, line, sb, sc, sb / sc, med
            }' "$TMP/times.tsv"
    done
done
