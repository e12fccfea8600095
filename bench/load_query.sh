#!/usr/bin/env bash
# load_query.sh - issue 3 benchmark: load time of a word2vec BINARY file and nearest-neighbour
# queries/s, firth vs gensim (Debian python3-gensim 4.2), side by side in one run.
#
# What it does
#   1. bench/load_query.py gen: writes (numpy, random normal float32, fixed seed, words w0..)
#      DIR/vec-1000000x300.bin and DIR/vec-100000x300.bin (the first 100k rows of the big one, as
#      a file of its own, so both tools load a whole file with a matching header), plus
#      N_BIG / N_SMALL random existing query words.
#   2. The files are read once (cat > /dev/null) so every timed run reads from the page cache.
#   3. For every V (100k, 1M) and thread count (OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = 1, 2,
#      the same for both tools), REPS times each:
#        firth  t1 = `firth neighbors FILE w0 -k 1`          (load + one query; = "load s")
#               tN = `firth neighbors FILE < QUERIES`          (load + N queries, interactive mode)
#               whole process timed with /usr/bin/time -v (wall, max RSS); stdout -> /dev/null
#               queries/s = N / (median tN - median t1)
#        gensim load_query.py gensim FILE QUERIES, one process per repetition: times
#               load_word2vec_format(binary=True), fill_norms() and one warm-up most_similar
#               (reported apart), then most_similar(w, topn=10) for the same N words.
#   4. load_query.py report: medians, table on stdout and OUT/load_query.md (machine, date,
#      command); raw measurements in OUT/load_query.raw.tsv, GNU time logs in OUT/load_query.logs/.
#
# Usage (environment variables):
#   bench/load_query.sh
#   REPS=3  THREADS="1 2"  N_BIG=100  N_SMALL=1000  DIR=/tmp/firth-load-query  OUT=bench/out
#   FIRTH=build/firth  KEEP=0 (1: keep the generated files in DIR; existing files are reused)
#
# Notes: firth's "load s" includes one k=1 query (a few ms at 1M x 300); gensim's load s is the
# load_word2vec_format call only, inside an already started interpreter with gensim imported.
# firth's peak RSS is the whole process (t1 run); gensim's is the process peak right after
# loading, and (in parentheses in the table) at the end, once the norms exist.
set -eu
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3                      # the python with Debian's python3-gensim
SCRIPT="$HERE/load_query.py"
FIRTH=${FIRTH:-$ROOT/build/firth}
DIR=${DIR:-/tmp/firth-load-query}
OUT=${OUT:-$ROOT/bench/out}
REPS=${REPS:-3}
THREADS=${THREADS:-"1 2"}
N_BIG=${N_BIG:-100}
N_SMALL=${N_SMALL:-1000}
KEEP=${KEEP:-0}
D=300
SIZES="100000 1000000"

# Machine facts, taken before any thread variable is set.
NPROC=$(nproc)
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
CMD="$0 (REPS=$REPS THREADS=\"$THREADS\" N_BIG=$N_BIG N_SMALL=$N_SMALL DIR=$DIR)"

[ -x "$FIRTH" ] || { echo "no $FIRTH: run make build/firth" >&2; exit 1; }
"$PY" -c 'import gensim, numpy' || { echo "$PY lacks gensim/numpy (apt python3-gensim)" >&2; exit 1; }

mkdir -p "$DIR" "$OUT" "$OUT/load_query.logs"
LOGS="$OUT/load_query.logs"
RAW="$OUT/load_query.raw.tsv"
: > "$RAW"

cleanup() { if [ "$KEEP" != 1 ]; then rm -rf "$DIR"; fi; }
trap cleanup EXIT

# 1. Test files (about 1.3 GB): check the space, generate unless already there.
BIG="$DIR/vec-1000000x${D}.bin"
if [ ! -s "$BIG" ] || [ ! -s "$DIR/queries-1000000.txt" ]; then
    avail_kib=$(df -Pk "$DIR" | awk 'NR==2 {print $4}')
    if [ "$avail_kib" -lt $((2 * 1024 * 1024)) ]; then
        echo "need ~1.3 GB free in $DIR, have $((avail_kib / 1024)) MiB" >&2; exit 1
    fi
    "$PY" "$SCRIPT" gen "$DIR" --dim "$D" --queries-big "$N_BIG" --queries-small "$N_SMALL"
fi

# 2. Warm the page cache so both tools read the file from memory.
for v in $SIZES; do cat "$DIR/vec-${v}x${D}.bin" > /dev/null; done

# Runs "$@" under GNU time -v; prints "wall_seconds max_rss_kib". Log kept in $LOGS/$tag.time.
timed() {
    local tag=$1 stdin=$2; shift 2
    /usr/bin/time -v -o "$LOGS/$tag.time" "$@" < "$stdin" > /dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
                                           for (i = 1; i <= n; i++) s = s * 60 + p[i]; w = s }
                /Maximum resident set size/ { r = $2 }
                END { printf "%.3f %d\n", w, r }' "$LOGS/$tag.time"
}

# 3. The measurements.
for v in $SIZES; do
    file="$DIR/vec-${v}x${D}.bin"
    queries="$DIR/queries-${v}.txt"
    n=$(wc -l < "$queries")
    for t in $THREADS; do
        export OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t
        for r in $(seq 1 "$REPS"); do
            # firth: load + 1 query, then load + n queries from stdin (interactive mode).
            read -r t1 rss1 < <(timed "firth-$v-t$t-r$r-q1" /dev/null "$FIRTH" neighbors "$file" w0 -k 1)
            read -r tn rssn < <(timed "firth-$v-t$t-r$r-qN" "$queries" "$FIRTH" neighbors "$file")
            printf 'firth\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$t" "$r" "$t1" "$rss1" "$tn" "$rssn" "$n" >> "$RAW"
            echo "firth  V=$v threads=$t rep $r: t1 ${t1}s (${rss1} KiB)  t$n ${tn}s" >&2
            # gensim: one fresh process per repetition; prints a JSON line.
            json=$("$PY" "$SCRIPT" gensim "$file" "$queries")
            printf 'gensim\t%s\t%s\t%s\t%s\n' "$v" "$t" "$r" "$json" >> "$RAW"
            echo "gensim V=$v threads=$t rep $r: $json" >&2
        done
    done
done
unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS

# 4. Medians, table, markdown.
"$PY" "$SCRIPT" report "$RAW" --md "$OUT/load_query.md" --dim "$D" \
    --cpu "$CPU" --nproc "$NPROC" --command "$CMD" --firth "$FIRTH"
