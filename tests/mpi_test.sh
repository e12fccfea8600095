#!/bin/sh
# mpi_test.sh - training on several MPI processes (mpirun --oversubscribe -np 2 and -np 3 on this
# machine): the result loads and has the structure a single-process run finds (planted synonyms
# are each other's nearest neighbours), the vocabulary is the single-process one byte for byte,
# two processes of one thread are deterministic and the sparse round equals the dense one bit for
# bit, a failure on one rank stops all of them with its message said once, and what MPI cannot do
# is refused clearly. Also runs the C unit tests of the group (tests/test_dist.c) on 3 ranks.
# Skips (nothing counted) when firth was built without MPI or mpirun is missing.
# Last line: "N passed, N failed".
set -u
FIRTH=${FIRTH:-build/firth}
FIRTH_TESTS=${FIRTH_TESTS:-build/firth_tests}
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

if ! "$FIRTH" train --help 2>/dev/null | grep -q 'MPI: built in'; then
    echo "skip: $FIRTH was built without MPI (scripts/deps.sh --mpi, then make)"
    echo "0 passed, 0 failed"
    exit 0
fi
if ! command -v mpirun > /dev/null 2>&1; then
    echo "skip: mpirun not found (Debian: openmpi-bin)"
    echo "0 passed, 0 failed"
    exit 0
fi
T=$(mktemp -d /tmp/firth-mpi-XXXXXX)
trap 'rm -rf "$T"' EXIT
MPIRUN="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
# Sanitizer builds: Open MPI keeps some memory until exit on purpose, in components it unloads at
# MPI_Finalize, so LeakSanitizer reports them from "<unknown module>", where no suppression can
# name them: leak checking is off under mpirun (the memory checks stay on). firth's own code on
# these paths is leak-checked in the single-process tests (test_dist.c runs as a group of one).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

. "$(dirname "$0")/planted.sh"

# --- the group's C unit tests on 3 ranks -------------------------------------------------------
if $MPIRUN -np 3 "$FIRTH_TESTS" dist_ > "$T/unit" 2>&1 &&
    [ "$(grep -c '^2 passed, 0 failed' "$T/unit")" -eq 3 ]; then
    ok "unit tests of the group on 3 ranks (collectives, merged vocabulary, sync rounds)"
else
    bad "unit tests of the group on 3 ranks" "$(grep -v '^ok' "$T/unit" | head -c 600)"
fi

# --- the same structure as one process ---------------------------------------------------------
make_planted "$T/planted.txt" 30 300 7
COMMON="--dim 32 --min-count 1 --sample 0 --epochs 10 --window 5"
"$FIRTH" train --input "$T/planted.txt" --output "$T/single.firth" $COMMON --threads 1 --quiet \
    --save-vocab "$T/single.vocab"
ns=$(count_partners "$T/single.firth" 30)
for np in 2 3; do
    name="mpirun -np $np"
    if $MPIRUN -np "$np" "$FIRTH" train --input "$T/planted.txt" --output "$T/m$np.firth" $COMMON \
        --threads 1 --sync-every 400 --save-vocab "$T/m$np.vocab" > "$T/out" 2> "$T/err"; then
        n=$(count_partners "$T/m$np.firth" 30)
        # a broken trainer finds ~0 of 60; the single process finds $ns
        [ "$n" -ge 54 ] && ok "$name: $n/60 planted partners are nearest (one process: $ns/60)" ||
            bad "$name" "only $n/60 partners nearest (one process: $ns/60)"
        cmp -s "$T/single.vocab" "$T/m$np.vocab" && ok "$name: the vocabulary is the one-process one" ||
            bad "$name" "vocabulary differs from the single-process count"
        grep -q "the vocabulary is identical on every process" "$T/err" &&
            grep -q "weights identical on every process" "$T/err" &&
            ok "$name: vocabulary and weights identical on every rank" ||
            bad "$name" "no identity report: $(grep '^mpi' "$T/err")"
        [ "$(grep -c '^epoch 10/10' "$T/err")" -eq 1 ] && ok "$name: only rank 0 reports" ||
            bad "$name" "progress printed $(grep -c '^epoch 10/10' "$T/err") times"
        ls "$T"/m$np.firth.tmp* > /dev/null 2>&1 && bad "$name" "temporary file left" ||
            ok "$name: one output, no temporary file left"
    else
        bad "$name" "exit $?: $(head -c 600 "$T/err")"
    fi
done

# every reduction learns the structure (averaging less: each rank's updates count 1/R)
for red in average row-mean; do
    if $MPIRUN -np 2 "$FIRTH" train --input "$T/planted.txt" --output "$T/r.firth" $COMMON \
        --threads 1 --sync-every 400 --sync-reduce "$red" --quiet 2> "$T/err"; then
        n=$(count_partners "$T/r.firth" 30)
        [ "$n" -ge 40 ] && ok "--sync-reduce $red: $n/60 partners nearest" ||
            bad "--sync-reduce $red" "only $n/60 partners nearest"
    else
        bad "--sync-reduce $red" "$(head -c 600 "$T/err")"
    fi
done

# --- determinism, and the sparse round against the dense one ------------------------------------
# A larger vocabulary (a pool of 3000 context words) and short intervals, so that a round changes
# few rows and goes sparse. Two processes of one thread are deterministic; adding two ranks'
# deltas is commutative, so sending only the changed rows must give the very same bytes.
make_planted "$T/wide.txt" 60 60 3 3000
W="--dim 16 --min-count 1 --sample 0 --epochs 2 --threads 1 --sync-every 200"
$MPIRUN -np 2 "$FIRTH" train --input "$T/wide.txt" --output "$T/w1.txt" $W 2> "$T/err1" &&
    $MPIRUN -np 2 "$FIRTH" train --input "$T/wide.txt" --output "$T/w2.txt" $W --quiet &&
    $MPIRUN -np 2 "$FIRTH" train --input "$T/wide.txt" --output "$T/w3.txt" $W --sync-rows all \
        2> "$T/err3"
rc=$?
sparse=$(sed -n 's/.* \([0-9]*\) of them with only the changed rows.*/\1/p' "$T/err1")
dense=$(sed -n 's/.* \([0-9]*\) of them with only the changed rows.*/\1/p' "$T/err3")
if [ "$rc" -ne 0 ]; then
    bad "sparse rounds" "a run failed: $(head -c 600 "$T/err1")"
else
    cmp -s "$T/w1.txt" "$T/w2.txt" && ok "2 ranks x 1 thread: two runs give the same bytes" ||
        bad "determinism" "two runs of 2 x 1 differ"
    [ "${sparse:-0}" -gt 0 ] && [ "${dense:-1}" -eq 0 ] &&
        ok "sparse rounds taken ($sparse; --sync-rows all: $dense)" ||
        bad "sparse rounds" "sparse ${sparse:-?}, with --sync-rows all ${dense:-?}"
    cmp -s "$T/w1.txt" "$T/w3.txt" && ok "sparse rounds give the bytes of dense ones" ||
        bad "sparse vs dense" "the vectors differ"
fi

# --- failures --------------------------------------------------------------------------------
# expect_fail NAME PATTERN OUTPUT -- command: non-zero exit, exactly one "firth: " line (rank 0's;
# mpirun may add its own banner) matching PATTERN, no output file
expect_fail() {
    name=$1 pattern=$2 out=$3
    shift 4
    "$@" > "$T/out" 2> "$T/err"
    rc=$?
    lines=$(grep -c '^firth: ' "$T/err")
    if [ "$rc" -eq 0 ]; then
        bad "$name" "exit 0"
    elif [ "$lines" -ne 1 ] || ! grep '^firth: ' "$T/err" | grep -q -- "$pattern"; then
        bad "$name" "expected one 'firth: ...$pattern...' line, got: $(grep '^firth' "$T/err" | head -c 400)"
    elif [ -n "$out" ] && { [ -e "$out" ] || ls "$out".tmp* > /dev/null 2>&1; }; then
        bad "$name" "left an output file behind at $out"
    else
        ok "$name ($(grep '^firth: ' "$T/err"))"
    fi
}
O="$T/never.txt"
# invalid UTF-8 in the second half: only rank 1 reads it, every rank stops, rank 0 says it
{ head -n 4000 "$T/planted.txt"; printf 'caf\351 ok\n'; tail -n 200 "$T/planted.txt"; } > "$T/bad.txt"
expect_fail "invalid UTF-8 seen by rank 1 only" "rank 1: .*UTF-8" "$O" -- \
    $MPIRUN -np 2 "$FIRTH" train --input "$T/bad.txt" --output "$O" --min-count 1
expect_fail "--resume with 2 processes" "not available with more than one MPI process" "$O" -- \
    $MPIRUN -np 2 "$FIRTH" train --input "$T/planted.txt" --output "$O" --resume "$T/x.ckpt"
expect_fail "--checkpoint-every with 2 processes" "not available with more than one" "$O" -- \
    $MPIRUN -np 2 "$FIRTH" train --input "$T/planted.txt" --output "$O" --checkpoint-every 10
expect_fail "standard input with 2 processes" "standard input" "$O" -- \
    $MPIRUN -np 2 "$FIRTH" train --input - --output "$O" < "$T/planted.txt"
# each rank a different corpus (the rank's number picks the file)
head -n 3000 "$T/planted.txt" > "$T/c0.txt"
head -n 3100 "$T/planted.txt" > "$T/c1.txt"
expect_fail "a different corpus on each rank" "corpus size differs between rank 0 and rank 1" "$O" -- \
    $MPIRUN -np 2 sh -c 'exec "$0" train --input "$1/c$OMPI_COMM_WORLD_RANK.txt" --output "$2" --min-count 1' \
    "$FIRTH" "$T" "$O"
# an output directory that rank 0 cannot write: refused before any training, by every rank
expect_fail "unwritable output" "" "$T/nodir/x.txt" -- \
    $MPIRUN -np 2 "$FIRTH" train --input "$T/planted.txt" --output "$T/nodir/x.txt" --min-count 1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
