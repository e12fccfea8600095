#!/bin/bash
# w2v_mpi.sh - firth word2vec on one process vs several MPI processes: speed and quality.
#
#   bench/w2v_mpi.sh                      # en-prose.txt: 1 process x 2 threads, 2 processes x 1
#   RUNS="1x2 2x1:sum:1000000" bench/w2v_mpi.sh
#
# Every run trains skip-gram (or ARCH=cbow) with the settings of bench/w2v_peers.sh (dim 100,
# window 5, 5 noise words, sample 1e-3, min-count 5, 5 epochs, alpha 0.025, seed 1) and is
# evaluated with bench/w2v_eval.py (gensim's evaluators: analogies over the 30,000 most frequent
# words, WordSim-353 Spearman). A run is PxT[:REDUCE[:SYNC_EVERY[:ROWS]]]: P processes (P = 1:
# no mpirun) of T threads, the --sync-reduce mode (sum|average|row-mean), --sync-every words per
# process and --sync-rows (auto|all). words/s = `wc -w` of the corpus x epochs / wall seconds of
# the whole command (mpirun's start, counting and writing included), as in w2v_peers.sh.
#
# Timed runs hold /tmp/firth-bench.lock (flock), so that benchmarks never overlap; so does the
# evaluation (CPU-heavy, not timed). Results: $OUT/results.tsv and a markdown table on stdout.
#
# Environment: CORPUS (default ../shared/data/corpus/en-prose.txt), RUNS, ARCH (sg), EPOCHS (5),
# DIM (100), OUT (bench/out-mpi), FIRTH (build/firth), MPIRUN (mpirun), KEEP_VECTORS (0).
set -eu
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
DATA="$REPO/../shared/data"
PY=/usr/bin/python3
CORPUS=${CORPUS:-$DATA/corpus/en-prose.txt}
RUNS=${RUNS:-1x2 2x1:sum:1000000 2x1:average:1000000 2x1:row-mean:1000000}
ARCH=${ARCH:-sg}
EPOCHS=${EPOCHS:-5}
DIM=${DIM:-100}
OUT=${OUT:-$HERE/out-mpi}
FIRTH=${FIRTH:-$REPO/build/firth}
MPIRUN=${MPIRUN:-mpirun}
KEEP_VECTORS=${KEEP_VECTORS:-0}
LOCK=/tmp/firth-bench.lock

die() { echo "w2v_mpi.sh: $*" >&2; exit 2; }
[ -r "$CORPUS" ] || die "corpus '$CORPUS' not readable"
[ -x "$FIRTH" ] || die "$FIRTH not built (make)"
"$FIRTH" train --help | grep -q 'MPI: built in' || die "$FIRTH was built without MPI (scripts/deps.sh --mpi; make)"
"$PY" -c 'import gensim' 2>/dev/null || die "$PY cannot import gensim (apt-get install python3-gensim)"
MPIFLAGS="--oversubscribe --bind-to none"
[ "$(id -u)" -eq 0 ] && MPIFLAGS="$MPIFLAGS --allow-run-as-root"
if [ "$ARCH" = cbow ]; then ALPHA=0.05; else ALPHA=0.025; fi

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
CORPUS=$(realpath "$CORPUS")
WORDS=$(wc -w <"$CORPUS")
export OPENBLAS_NUM_THREADS=1
TSV="$OUT/results.tsv"
printf 'run\tprocs\tthreads\treduce\tsync_every\trows\twall_s\twords_per_s\tanalogy_pct\tanalogy_n\tws353\tsync_pct\trounds\trows_sent_pct\tmb_per_round\n' >"$TSV"
echo "corpus $CORPUS ($WORDS words), $ARCH, dim $DIM, $EPOCHS epochs; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

for run in $RUNS; do
    IFS=: read -r shape reduce every rows <<<"$run"
    procs=${shape%x*} threads=${shape#*x}
    reduce=${reduce:-sum} every=${every:-1000000} rows=${rows:-auto}
    name="$ARCH-${procs}x$threads-$reduce-$every-$rows"
    [ "$procs" -gt 1 ] || name="$ARCH-${procs}x$threads"
    vec="$OUT/$name.bin" log="$OUT/$name.log"
    args=(train --input "$CORPUS" --output "$vec" --arch "$ARCH" --loss ns --dim "$DIM" --window 5
        --negative 5 --sample 1e-3 --min-count 5 --epochs "$EPOCHS" --alpha "$ALPHA"
        --threads "$threads" --seed 1)
    if [ "$procs" -gt 1 ]; then
        # shellcheck disable=SC2086
        cmd=("$MPIRUN" $MPIFLAGS -np "$procs" "$FIRTH" "${args[@]}" --sync-every "$every"
            --sync-reduce "$reduce" --sync-rows "$rows")
    else
        cmd=("$FIRTH" "${args[@]}")
        reduce=- every=- rows=-
    fi
    echo "== $name: ${cmd[*]}" | tee "$log"
    wall=$(flock "$LOCK" bash -c 't0=$(date +%s.%N); "$@" >>"'"$log"'" 2>&1 || exit 1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.2f\", b - a }"' _ "${cmd[@]}") ||
        { echo "   failed: see $log"; continue; }
    wps=$(awk -v w="$WORDS" -v e="$EPOCHS" -v s="$wall" 'BEGIN { printf "%.0f", w * e / s }')
    flock "$LOCK" "$PY" "$HERE/w2v_eval.py" "$vec" >"$OUT/$name.eval" 2>>"$log"
    acc=$(sed -n 's/^analogy_acc=//p' "$OUT/$name.eval")
    an=$(sed -n 's/^analogy_n=//p' "$OUT/$name.eval")
    ws=$(sed -n 's/^ws_spearman=//p' "$OUT/$name.eval")
    # firth's own line: "mpi: R rounds (...), S of them ...; P% of the rows, M MB per round; rank 0
    # waited Ws for the others and As in the all-reduce, of Ts (X%)"
    mline=$(grep '^mpi: [0-9]* rounds' "$log" || true)
    syncpct=$(echo "$mline" | sed -n 's/.*of [0-9.]*s (\([0-9.]*\)%).*/\1/p')
    rounds=$(echo "$mline" | sed -n 's/^mpi: \([0-9]*\) rounds.*/\1/p')
    rowsp=$(echo "$mline" | sed -n 's/.*; \([0-9.]*\)% of the rows.*/\1/p')
    mb=$(echo "$mline" | sed -n 's/.*rows, \([0-9.]*\) MB per round.*/\1/p')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$procs" "$threads" \
        "$reduce" "$every" "$rows" "$wall" "$wps" "$acc" "$an" "$ws" "${syncpct:--}" "${rounds:--}" \
        "${rowsp:--}" "${mb:--}" >>"$TSV"
    echo "   wall ${wall}s, $wps words/s, analogy $acc% ($an), WS353 $ws ${mline:+; $mline}"
    [ "$KEEP_VECTORS" = 1 ] || rm -f "$vec"
done

echo
echo "| procs x threads | reduce | sync every | rows | wall s | words/s | analogy % | (n) | WS353 | sync % of time | rounds | rows sent % | MB/round |"
echo "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
tail -n +2 "$TSV" | awk -F'\t' '{ printf "| %s x %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 }'
