#!/bin/sh
# cli_test.sh - end-to-end tests of the firth command line: training on generated corpora with
# planted structure, determinism, formats, and bad input (clear one-line error, exit 2, no output
# file). Needs only sh, awk and coreutils. Last line: "N passed, N failed".
set -u
FIRTH=${FIRTH:-build/firth}
T=$(mktemp -d /tmp/firth-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# expect_error NAME CODE OUTPUT_PATH -- command...: the command must exit with CODE, print exactly
# one line on stderr that starts with "firth: ", and leave no file (or temp file) at OUTPUT_PATH.
expect_error() {
    name=$1 code=$2 out=$3
    shift 4
    "$@" > "$T/stdout" 2> "$T/stderr"
    rc=$?
    lines=$(wc -l < "$T/stderr")
    if [ "$rc" -ne "$code" ]; then
        bad "$name" "exit $rc, expected $code; stderr: $(head -c 300 "$T/stderr")"
    elif [ "$lines" -ne 1 ] || ! grep -q '^firth: ' "$T/stderr"; then
        bad "$name" "expected one 'firth: ...' line on stderr, got $lines: $(head -c 300 "$T/stderr")"
    elif [ -n "$out" ] && { [ -e "$out" ] || ls "$out".tmp.* > /dev/null 2>&1; }; then
        bad "$name" "left an output file behind at $out"
    else
        ok "$name ($(cat "$T/stderr"))"
    fi
}

. "$(dirname "$0")/planted.sh"

# --- basics -----------------------------------------------------------------------------------
"$FIRTH" --version | grep -q '^firth [0-9]' && ok "version" || bad "version" "no version line"
"$FIRTH" --help | grep -q 'train' && ok "help lists commands" || bad "help" "no command list"
"$FIRTH" train --help | grep -q -- '--negative' && ok "train --help" || bad "train --help" "no options"
expect_error "unknown command" 2 "" -- "$FIRTH" frobnicate

# --- planted structure, every architecture and loss ------------------------------------------
make_planted "$T/planted.txt" 30 300 7
# (sg ns runs batched by default; "sg ns off" is the per-pair path). One thread, so that the counts
# are repeatable (with two, cbow/ns once found 53/60); two threads are tested in w2v_threads.
# Counts seen with one thread: 60 59 55 60 60 60 60.
for cfg in "sg ns auto" "sg ns off" "cbow ns auto" "sg hs auto" "cbow hs auto" "sg softmax auto" "cbow softmax auto"; do
    set -- $cfg
    if "$FIRTH" train --input "$T/planted.txt" --output "$T/m_$1_$2.firth" --arch "$1" --loss "$2" \
        --batch "$3" --dim 32 --min-count 1 --sample 0 --epochs 10 --threads 1 --quiet 2> "$T/err"; then
        n=$(count_partners "$T/m_$1_$2.firth" 30)
        # 60 queries; a broken trainer finds ~0 (30 candidates + 300 context words)
        [ "$n" -ge 54 ] && ok "planted synonyms $1/$2 (batch $3): $n/60 partners are nearest" \
            || bad "planted synonyms $1/$2 (batch $3)" "only $n/60 partners nearest"
    else
        bad "train $1/$2" "$(cat "$T/err")"
    fi
done

# --- determinism: one thread and a fixed seed give byte-identical files -----------------------
"$FIRTH" train --input "$T/planted.txt" --output "$T/d1.txt" --min-count 1 --dim 16 --epochs 2 --quiet
"$FIRTH" train --input "$T/planted.txt" --output "$T/d2.txt" --min-count 1 --dim 16 --epochs 2 --quiet
"$FIRTH" train --input "$T/planted.txt" --output "$T/d3.txt" --min-count 1 --dim 16 --epochs 2 --quiet --seed 2
cmp -s "$T/d1.txt" "$T/d2.txt" && ok "same seed, same bytes" || bad "determinism" "two runs differ"
"$FIRTH" train --input "$T/planted.txt" --output "$T/p1.txt" --min-count 1 --dim 16 --epochs 2 --quiet --batch off
"$FIRTH" train --input "$T/planted.txt" --output "$T/p2.txt" --min-count 1 --dim 16 --epochs 2 --quiet --batch off
cmp -s "$T/p1.txt" "$T/p2.txt" && ok "same seed, same bytes (per-pair path)" || bad "determinism --batch off" "two runs differ"
cmp -s "$T/d1.txt" "$T/d3.txt" && bad "seed" "seed 2 gave the same vectors as seed 1" || ok "another seed, other vectors"
# the same text through standard input gives the same vectors
"$FIRTH" train --input - --output "$T/d4.txt" --min-count 1 --dim 16 --epochs 2 --quiet < "$T/planted.txt"
cmp -s "$T/d1.txt" "$T/d4.txt" && ok "stdin input equals file input" || bad "stdin" "vectors differ from file input"
# vocabulary saved and read back gives the same training
"$FIRTH" train --input "$T/planted.txt" --output "$T/d5.txt" --min-count 1 --dim 16 --epochs 2 --quiet --save-vocab "$T/vocab.txt"
"$FIRTH" train --input "$T/planted.txt" --output "$T/d6.txt" --min-count 1 --dim 16 --epochs 2 --quiet --read-vocab "$T/vocab.txt"
cmp -s "$T/d5.txt" "$T/d6.txt" && ok "--save-vocab / --read-vocab round trip" || bad "vocab round trip" "vectors differ"
# the vocabulary file: "word count" lines, most frequent first, counts that add up
awk 'NR > 1 { if ($2 > prev && NR > 2) bad = 1; prev = $2; sum += $2 } NR == 1 { eos = $2 }
     END { exit !(bad == 0 && eos == 9000 && sum == 63000) }' "$T/vocab.txt" \
    && ok "vocabulary file sorted with exact counts" || bad "vocabulary file" "$(head -3 "$T/vocab.txt")"

# --- formats ----------------------------------------------------------------------------------
V=$(wc -l < "$T/vocab.txt")
head -n 1 "$T/d1.txt" | grep -qx "$V 16" && [ "$(wc -l < "$T/d1.txt")" -eq $((V + 1)) ] \
    && ok "text format: header and $V rows" || bad "text format" "$(head -c 100 "$T/d1.txt")"
"$FIRTH" train --input "$T/planted.txt" --output "$T/b.bin" --min-count 1 --dim 16 --epochs 1 --quiet
words=$(awk '{ s += length($1) + 1 } END { print s }' "$T/vocab.txt")
expect=$(( $(printf '%s 16\n' "$V" | wc -c) + words + V * (16 * 4 + 1) ))
[ "$(wc -c < "$T/b.bin")" -eq "$expect" ] && ok "binary format size ($expect bytes)" \
    || bad "binary format" "size $(wc -c < "$T/b.bin"), expected $expect"
for f in d1.txt b.bin m_sg_ns.firth; do
    "$FIRTH" neighbors "$T/$f" a3 -k 3 > "$T/nb" 2> "$T/err" && [ "$(wc -l < "$T/nb")" -eq 3 ] \
        && ok "neighbors reads $f" || bad "neighbors $f" "$(cat "$T/err")"
done
"$FIRTH" similarity "$T/m_sg_ns.firth" a1 b1 | awk '{ exit !($1 > 0.5 && $1 <= 1.0001) }' \
    && ok "similarity of a planted pair is high" || bad "similarity" "low"
echo "a1 b1" | "$FIRTH" neighbors "$T/m_sg_ns.firth" -k 2 | grep -c . | grep -qx 2 \
    && ok "interactive neighbors reads queries from stdin" || bad "interactive neighbors" "no output"
"$FIRTH" neighbors "$T/m_sg_ns.firth" a1 --json | grep -q '^\[{"word": ' && ok "--json output" \
    || bad "--json" "not JSON"
expect_error "unknown query word named" 2 "" -- "$FIRTH" neighbors "$T/m_sg_ns.firth" nosuchword
grep -q "nosuchword" "$T/stderr" && ok "unknown word reported by name" || bad "unknown word" "$(cat "$T/stderr")"

# --- bad input --------------------------------------------------------------------------------
O="$T/out.txt"
expect_error "missing input" 2 "$O" -- "$FIRTH" train --input "$T/nope.txt" --output "$O" --quiet
: > "$T/empty.txt"
expect_error "empty input" 2 "$O" -- "$FIRTH" train --input "$T/empty.txt" --output "$O" --quiet
printf '\n\n  \n\t\n' > "$T/blank.txt"
expect_error "only white space" 2 "$O" -- "$FIRTH" train --input "$T/blank.txt" --output "$O" --quiet
printf 'one two three\n' > "$T/tiny.txt"
expect_error "no word reaches min-count" 2 "$O" -- "$FIRTH" train --input "$T/tiny.txt" --output "$O" --quiet
head -c 4096 /dev/urandom > "$T/random.bin"
printf 'abc\000def ghi\n' > "$T/nul.bin"
expect_error "binary garbage" 2 "$O" -- "$FIRTH" train --input "$T/random.bin" --output "$O" --quiet --min-count 1
expect_error "NUL byte (binary file)" 2 "$O" -- "$FIRTH" train --input "$T/nul.bin" --output "$O" --quiet --min-count 1
{ cat "$T/planted.txt"; printf 'caf\351 ok\n'; } > "$T/latin1.txt"
expect_error "invalid UTF-8" 2 "$O" -- "$FIRTH" train --input "$T/latin1.txt" --output "$O" --quiet --min-count 1
grep -q 'byte' "$T/stderr" && ok "invalid UTF-8 message gives the offset" || bad "utf8 offset" "$(cat "$T/stderr")"
"$FIRTH" train --input "$T/latin1.txt" --output "$O" --quiet --min-count 1 --invalid-utf8 replace --epochs 1 \
    && [ -s "$O" ] && ok "--invalid-utf8 replace trains" || bad "--invalid-utf8 replace" "failed"
rm -f "$O"
expect_error "input is a directory" 2 "$O" -- "$FIRTH" train --input "$T" --output "$O" --quiet
expect_error "dim 0" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --dim 0
expect_error "window 0" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --window 0
expect_error "negative < 0" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --negative -1
expect_error "ns with negative 0" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --negative 0
expect_error "epochs 0" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --epochs 0
expect_error "alpha negative" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --alpha -1
expect_error "sample > 1" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --sample 2
expect_error "ns-exponent out of range" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --ns-exponent 3
expect_error "threads 0" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --threads 0
expect_error "dim overflows" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --dim 99999999999999999999
expect_error "not a number" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --window five
expect_error "unknown option" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --windwo 5
expect_error "no --output" 2 "" -- "$FIRTH" train --input "$T/planted.txt"
expect_error "unwritable output directory" 2 "" -- "$FIRTH" train --input "$T/planted.txt" --output /nonexistent/dir/v.txt
expect_error "output is a directory" 2 "" -- "$FIRTH" train --input "$T/planted.txt" --output "$T"
# the unwritable path is found before training: the error comes at once even with many epochs
start=$(date +%s)
"$FIRTH" train --input "$T/planted.txt" --output /nonexistent/v.txt --epochs 100000 --min-count 1 2> /dev/null
[ $(( $(date +%s) - start )) -le 2 ] && ok "unwritable output reported before training" \
    || bad "unwritable output" "reported late"
# softmax above its documented vocabulary limit is refused with a hint
awk 'BEGIN { for (i = 0; i < 25000; i++) printf "w%d ", i; print "" }' > "$T/wide.txt"
expect_error "softmax vocabulary limit" 2 "$O" -- "$FIRTH" train --input "$T/wide.txt" --output "$O" --loss softmax --min-count 1 --quiet
printf 'the 5\nthe 7\n' > "$T/dupvocab.txt"
expect_error "duplicate word in --read-vocab" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --read-vocab "$T/dupvocab.txt"
printf 'the five\n' > "$T/badvocab.txt"
expect_error "malformed --read-vocab" 2 "$O" -- "$FIRTH" train --input "$T/planted.txt" --output "$O" --read-vocab "$T/badvocab.txt"
# a truncated native model
head -c 300 "$T/m_sg_ns.firth" > "$T/trunc.firth"
expect_error "truncated model" 2 "" -- "$FIRTH" neighbors "$T/trunc.firth" a1
# a word2vec text file whose header promises more rows than it has
{ echo "1000000 16"; tail -n 3 "$T/d1.txt"; } > "$T/short.txt"
expect_error "word2vec header larger than the file" 2 "" -- "$FIRTH" neighbors "$T/short.txt" a1

# a single line of 1 GiB (one enormous token, cut to --max-token bytes) is read in constant memory
free_kib=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if [ "${FIRTH_SKIP_HUGE:-0}" != 1 ] && [ "${free_kib:-0}" -lt 2097152 ]; then
    echo "SKIP 1 GiB line: less than 2 GiB free in $T"
elif [ "${FIRTH_SKIP_HUGE:-0}" != 1 ]; then
    head -c 1073741824 /dev/zero | tr '\0' 'x' > "$T/huge.txt"
    printf ' y\n' >> "$T/huge.txt"
    if "$FIRTH" train --input "$T/huge.txt" --output "$O" --min-count 1 --epochs 1 --quiet 2> "$T/err"; then
        awk 'NR == 1 && $1 == 3 { ok = 1 } END { exit !ok }' "$O" \
            && ok "1 GiB line: trained, 3 words (</s>, the cut token, y)" || bad "1 GiB line" "$(head -c 200 "$O")"
    else
        bad "1 GiB line" "$(cat "$T/err")"
    fi
    rm -f "$T/huge.txt" "$O"
fi

# an interrupted run (SIGINT) exits 130 and leaves an older file at the output path intact
awk 'BEGIN { srand(3); for (i = 0; i < 200000; i++) { printf "w%d%s", int(rand() * 1000), (i % 20 == 19 ? "\n" : " ") } }' > "$T/big.txt"
echo "old model" > "$T/keep.txt"
"$FIRTH" train --input "$T/big.txt" --output "$T/keep.txt" --epochs 100000 --quiet 2> "$T/err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] && [ "$(cat "$T/keep.txt")" = "old model" ] && ! ls "$T"/keep.txt.tmp.* > /dev/null 2>&1 \
    && ok "SIGINT: exit 130, old output intact" || bad "SIGINT" "exit $rc, file: $(head -c 50 "$T/keep.txt")"

# --checkpoint-every + SIGINT writes a checkpoint; --resume from it ends with exactly the file of
# a run never interrupted (1 thread, fixed seed), and removes the checkpoint when done
R="--input $T/big.txt --dim 20 --epochs 25 --seed 5 --quiet"
"$FIRTH" train $R --output "$T/whole.bin"
"$FIRTH" train $R --output "$T/cut.bin" --checkpoint-every 0.2 2> "$T/err" &
pid=$!
sleep 0.7
kill -INT "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 130 ] && [ -s "$T/cut.bin.ckpt" ] && [ ! -e "$T/cut.bin" ]; then
    "$FIRTH" train --resume "$T/cut.bin.ckpt" --input "$T/big.txt" --output "$T/cut.bin" --quiet 2> "$T/err2"
    if cmp -s "$T/whole.bin" "$T/cut.bin" && [ ! -e "$T/cut.bin.ckpt" ]; then
        ok "resume after SIGINT: same bytes as an uninterrupted run"
    else
        bad "resume" "files differ or checkpoint left: $(cat "$T/err2")"
    fi
else
    bad "checkpoint on SIGINT" "exit $rc; $(cat "$T/err")"
fi
expect_error "resume: training option refused" 2 "$T/r1.bin" -- "$FIRTH" train --resume "$T/whole.bin" --input "$T/big.txt" --output "$T/r1.bin" --dim 5
expect_error "resume: a model is not a checkpoint" 2 "$T/r2.bin" -- "$FIRTH" train --resume "$T/whole.bin" --input "$T/big.txt" --output "$T/r2.bin"
expect_error "resume: missing checkpoint" 2 "$T/r3.bin" -- "$FIRTH" train --resume "$T/nope.ckpt" --input "$T/big.txt" --output "$T/r3.bin"

# --- evaluation (eval-analogy, eval-similarity) -------------------------------------------------
# man (1,0,0,0) : woman (1,1,0,0) :: king (0,0,2,0) : queen (0,1,1,0); "Queen" and "rare" are
# near queen, "man" is repeated (its first row counts); the gensim comparison is gensim_test.sh
printf '9 4\n</s> 0.1 0.1 0.1 0.1\nman 1 0 0 0\nwoman 1 1 0 0\nking 0 0 2 0\nqueen 0 1 1 0\nQueen 0 1 1 0.2\napple 0 0 0 1\nman 0 0 0 1\nrare 0 1 1 0.01\n' > "$T/ev.txt"
printf ': family\nman woman king queen\nMAN WOMAN KING QUEEN\nman woman king rare\nman woman king\n: gram-other\nman woman king apple\nwoman man queen king\n' > "$T/q.txt"
if "$FIRTH" eval-analogy "$T/ev.txt" "$T/q.txt" --restrict 7 > "$T/an" 2> "$T/err"; then
    tail -n 2 "$T/an" | head -n 1 | grep -q '^Total accuracy: 75.00 %   Semantic accuracy: 100.00 %   Syntactic accuracy: 50.00 %$' \
        && tail -n 1 "$T/an" | grep -q '^Questions seen / total: 4 5   80.00 %   (1 skipped' \
        && grep -qx 'ACCURACY TOP1: 50.00 %  (1 / 2)' "$T/an" && grep -qx 'family:' "$T/an" \
        && ok "eval-analogy: compute-accuracy layout, 3 of 4 right, 1 skipped" || bad "eval-analogy" "$(cat "$T/an")"
    grep -q "1 line .* ignored (the first is line 5)" "$T/err" && ok "eval-analogy notes the malformed line" \
        || bad "eval-analogy malformed note" "$(cat "$T/err")"
else
    bad "eval-analogy" "$(cat "$T/err")"
fi
"$FIRTH" eval-analogy "$T/ev.txt" "$T/q.txt" --restrict 0 --json 2> /dev/null \
    | grep -q '"correct": 3, "incorrect": 2, "skipped": 0, "questions": 5' \
    && ok "eval-analogy --restrict 0 --json" || bad "eval-analogy --json" "$("$FIRTH" eval-analogy "$T/ev.txt" "$T/q.txt" --restrict 0 --json 2>&1)"
"$FIRTH" eval-analogy "$T/ev.txt" "$T/q.txt" --restrict 7 --case-sensitive --method mul 2> /dev/null \
    | tail -n 1 | grep -q '^Questions seen / total: 3 5 ' && ok "eval-analogy --case-sensitive --method mul" \
    || bad "eval-analogy --case-sensitive" "$("$FIRTH" eval-analogy "$T/ev.txt" "$T/q.txt" --restrict 7 --case-sensitive 2>&1)"
# cosines 0.7071 0.7071 (a tie) 0 0.5 against 1 3 2 4: rho = -1/sqrt(22.5)
printf '# word1\tword2\tscore\nman\twoman\t1\r\nKING\tqueen\t3\nman\tapple\t2\nfoo\tbar\t5\nwoman queen 4\n' > "$T/pairs.tsv"
"$FIRTH" eval-similarity "$T/ev.txt" "$T/pairs.tsv" > "$T/sim" 2> "$T/err" \
    && grep -qx 'Spearman: -0.2108' "$T/sim" && grep -q '^OOV: 20.00 %   (1 of 5 pairs skipped' "$T/sim" \
    && ok "eval-similarity: Spearman with ties, OOV share" || bad "eval-similarity" "$(cat "$T/sim" "$T/err")"
"$FIRTH" eval-analogy --help | grep -q -- '--restrict' && ok "eval-analogy --help" || bad "eval-analogy --help" "no options"
expect_error "eval-analogy: missing questions" 2 "" -- "$FIRTH" eval-analogy "$T/ev.txt" "$T/nope.txt"
expect_error "eval-analogy: missing model" 2 "" -- "$FIRTH" eval-analogy "$T/nope.txt" "$T/q.txt"
expect_error "eval-analogy: one argument" 2 "" -- "$FIRTH" eval-analogy "$T/ev.txt"
expect_error "eval-analogy: bad --method" 2 "" -- "$FIRTH" eval-analogy "$T/ev.txt" "$T/q.txt" --method div
printf 'man woman king queen\n' > "$T/nosec.txt"
expect_error "eval-analogy: question before a section" 2 "" -- "$FIRTH" eval-analogy "$T/ev.txt" "$T/nosec.txt"
expect_error "eval-analogy: not a questions file" 2 "" -- "$FIRTH" eval-analogy "$T/ev.txt" "$T/random.bin"
printf 'foo\tbar\t1\n' > "$T/oovpairs.tsv"
expect_error "eval-similarity: no known pair" 2 "" -- "$FIRTH" eval-similarity "$T/ev.txt" "$T/oovpairs.tsv"
expect_error "eval-similarity: a model that is not one" 2 "" -- "$FIRTH" eval-similarity "$T/random.bin" "$T/pairs.tsv"

# --- conversion -------------------------------------------------------------------------------
C=$T/conv
mkdir "$C"
# text -> text normalises the spelling; then text -> bin -> text and bin -> text -> bin are exact
"$FIRTH" convert "$T/d1.txt" "$C/a.txt" --quiet && "$FIRTH" convert "$C/a.txt" "$C/a.bin" --quiet \
    && "$FIRTH" convert "$C/a.bin" "$C/b.txt" --to text --quiet && "$FIRTH" convert "$C/b.txt" "$C/b.bin" --quiet \
    && cmp -s "$C/a.txt" "$C/b.txt" && cmp -s "$C/a.bin" "$C/b.bin" && cmp -s "$C/a.txt" "$T/d1.txt" \
    && ok "convert: text -> bin -> text and bin -> text -> bin are byte-identical" || bad "convert round trip" "files differ"
"$FIRTH" convert "$C/a.txt" "$C/a.vec" --quiet && cmp -s "$C/a.vec" "$C/a.txt" \
    && ok "convert --to vec writes word2vec text" || bad "convert vec" "differs from text"
# native -> bin keeps the model's vectors: the same neighbours and scores
"$FIRTH" convert "$T/m_sg_ns.firth" "$C/m.bin" 2> "$T/err" \
    && "$FIRTH" neighbors "$T/m_sg_ns.firth" a3 -k 5 > "$C/nb1" && "$FIRTH" neighbors "$C/m.bin" a3 -k 5 > "$C/nb2" \
    && cmp -s "$C/nb1" "$C/nb2" && grep -q '^converted [0-9]* words of dim 32 to' "$T/err" \
    && ok "convert native -> bin: same neighbours" || bad "convert native" "$(cat "$T/err")"
"$FIRTH" convert "$T/m_sg_ns.firth" "$C/copy.firth" --quiet && "$FIRTH" neighbors "$C/copy.firth" a3 -k 5 > "$C/nb3" \
    && cmp -s "$C/nb1" "$C/nb3" && ok "convert native -> native" || bad "convert native -> native" "differs"
"$FIRTH" convert "$C/a.bin" "$C/lim.txt" --limit 5 --quiet && head -n 1 "$C/lim.txt" | grep -qx '5 16' \
    && [ "$(wc -l < "$C/lim.txt")" -eq 6 ] && ok "convert --limit 5" || bad "convert --limit" "$(head -n 1 "$C/lim.txt")"
# TSV for the projector: V-1 rows of 16 values and V-1 words ("</s>" left out), no header
if "$FIRTH" convert "$C/a.bin" "$C/proj" --to tsv --quiet; then
    n=$(($(head -n 1 "$C/a.txt" | cut -d' ' -f1) - 1))
    awk -F'\t' -v n="$n" '{ if (NF != 16) bad = 1 } END { exit !(NR == n && !bad) }' "$C/proj/vectors.tsv" \
        && [ "$(wc -l < "$C/proj/metadata.tsv")" -eq "$n" ] && ! grep -qx '</s>' "$C/proj/metadata.tsv" \
        && tail -n +3 "$C/a.txt" | cut -d' ' -f1 | cmp -s - "$C/proj/metadata.tsv" \
        && ok "convert --to tsv: $n x 16 vectors.tsv and metadata.tsv" || bad "convert tsv" "wrong shape"
    tail -n +3 "$C/a.txt" | cut -d' ' -f2- | tr ' ' '\t' | cmp -s - "$C/proj/vectors.tsv" \
        && ok "convert --to tsv: the same values as the text file" || bad "convert tsv values" "differ"
else
    bad "convert tsv" "failed"
fi
expect_error "convert: unknown --to" 2 "$C/x.out" -- "$FIRTH" convert "$C/a.txt" "$C/x.out" --to csv
expect_error "convert: no --to, unknown extension" 2 "$C/x.out" -- "$FIRTH" convert "$C/a.txt" "$C/x.out"
expect_error "convert: missing input" 2 "$C/x.txt" -- "$FIRTH" convert "$T/nope.txt" "$C/x.txt"
expect_error "convert: input is not a vector file" 2 "$C/x.txt" -- "$FIRTH" convert "$T/random.bin" "$C/x.txt"
expect_error "convert: unwritable output" 2 "" -- "$FIRTH" convert "$C/a.txt" /nonexistent/dir/x.bin
expect_error "convert: unwritable TSV directory" 2 "" -- "$FIRTH" convert "$C/a.txt" /nonexistent/dir/proj --to tsv
expect_error "convert: word2vec to native refused" 2 "$C/x.firth" -- "$FIRTH" convert "$C/a.txt" "$C/x.firth"
expect_error "convert: --limit with native" 2 "$C/y.firth" -- "$FIRTH" convert "$T/m_sg_ns.firth" "$C/y.firth" --limit 3
expect_error "convert: one argument" 2 "" -- "$FIRTH" convert "$C/a.txt"
echo "keep" > "$C/plain"
expect_error "convert: TSV onto a plain file" 2 "" -- "$FIRTH" convert "$C/a.txt" "$C/plain" --to tsv
[ "$(cat "$C/plain")" = keep ] && ! ls "$C"/plain.tmp.* > /dev/null 2>&1 \
    && ok "convert: the plain file is left as it was" || bad "convert onto file" "file changed"
head -c 2000 "$C/a.bin" > "$C/trunc.bin"
expect_error "convert: truncated binary" 2 "$C/t.txt" -- "$FIRTH" convert "$C/trunc.bin" "$C/t.txt"

# --- projector page (the page's behaviour in a browser: tests/browser_test.sh) ------------------
P=$T/proj
mkdir "$P"
if "$FIRTH" project "$T/m_sg_ns.firth" --html "$P/page.html" --words 100 -k 5 2> "$T/err"; then
    [ "$(ls "$P")" = page.html ] && ok "project: writes one file (no temporary left)" \
        || bad "project: files" "$(ls "$P")"
    grep -Eqi 'https?:|//[a-z0-9.-]+\.[a-z]{2,}/|<link|src=|@import|url\(' "$P/page.html" \
        && bad "project: self-contained" "$(grep -Eoi 'https?:[^ ]*|<link|src=|@import|url\(' "$P/page.html" | head -3)" \
        || ok "project: no http(s), link, src, @import or url() references"
    [ "$(grep -o '<script' "$P/page.html" | wc -l)" -eq 2 ] && [ "$(grep -o '</script' "$P/page.html" | wc -l)" -eq 2 ] \
        && ok "project: the page's own two scripts only" || bad "project: scripts" "$(grep -c script "$P/page.html")"
    grep -q '^wrote .*page.html: 100 words of dim 32, 5 neighbours each' "$T/err" \
        && ok "project: summary line" || bad "project: summary" "$(cat "$T/err")"
    grep -q '"k":5,' "$P/page.html" && grep -q '"words":\["' "$P/page.html" \
        && ok "project: the data block is there" || bad "project: data" "no words or k"
else
    bad "project" "$(cat "$T/err")"
fi
"$FIRTH" project "$T/m_sg_ns.firth" --html "$P/lim.html" --words 100 --limit 20 --quiet 2> "$T/err" \
    && grep -q '"rows":20,' "$P/lim.html" && [ ! -s "$T/err" ] \
    && ok "project --limit 20: 19 words from 20 rows, --quiet" || bad "project --limit" "$(cat "$T/err")"
"$FIRTH" project --help | grep -q -- '--words' && ok "project --help" || bad "project --help" "no options"
expect_error "project: missing model" 2 "$P/x.html" -- "$FIRTH" project "$T/nope.firth" --html "$P/x.html"
expect_error "project: not a model" 2 "$P/x.html" -- "$FIRTH" project "$T/random.bin" --html "$P/x.html"
expect_error "project: --words 0" 2 "$P/x.html" -- "$FIRTH" project "$T/m_sg_ns.firth" --html "$P/x.html" --words 0
expect_error "project: --words absurd" 2 "$P/x.html" -- "$FIRTH" project "$T/m_sg_ns.firth" --html "$P/x.html" --words 10000000000
expect_error "project: --words negative" 2 "$P/x.html" -- "$FIRTH" project "$T/m_sg_ns.firth" --html "$P/x.html" --words -5
expect_error "project: -k 101" 2 "$P/x.html" -- "$FIRTH" project "$T/m_sg_ns.firth" --html "$P/x.html" -k 101
expect_error "project: unknown --method" 2 "$P/x.html" -- "$FIRTH" project "$T/m_sg_ns.firth" --html "$P/x.html" --method tsne
expect_error "project: no --html" 2 "" -- "$FIRTH" project "$T/m_sg_ns.firth"
expect_error "project: two models" 2 "$P/x.html" -- "$FIRTH" project "$T/m_sg_ns.firth" "$T/d1.txt" --html "$P/x.html"
expect_error "project: unwritable output" 2 "" -- "$FIRTH" project "$T/m_sg_ns.firth" --html /nonexistent/dir/x.html
expect_error "project: output is a directory" 2 "" -- "$FIRTH" project "$T/m_sg_ns.firth" --html "$P"
printf '2 3\n</s> 1 0 0\nonly 0 1 0\n' > "$P/one.txt"
expect_error "project: one word besides </s>" 2 "$P/x.html" -- "$FIRTH" project "$P/one.txt" --html "$P/x.html"
echo keep > "$P/keep.html"
"$FIRTH" project "$T/trunc.firth" --html "$P/keep.html" 2> /dev/null
[ "$(cat "$P/keep.html")" = keep ] && ! ls "$P"/keep.html.tmp.* > /dev/null 2>&1 \
    && ok "project: a failed run leaves an existing page as it was" || bad "project: keep" "file changed"

# --- charlm: character LSTM language model ------------------------------------------------------
# A learnable text: a fixed phrase, one of four letters at random, ". " (best loss log(4)/29).
L="$T/charlm"
mkdir -p "$L"
awk 'BEGIN { srand(5); for (i = 0; i < 800; i++) printf "the quick brown fox jumps %c. ", 97 + int(rand() * 4) }' > "$L/text.txt"
CL="--hidden 32 --seq 20 --batch 8 --lr 1e-2 --val-frac 0.1"
if "$FIRTH" charlm train --input "$L/text.txt" --output "$L/m.ckpt" $CL --steps 300 --eval-every 100 2> "$L/err"; then
    grep -q '^step 300/300  validation [0-9.]* nats/char  [0-9.]* bits/char$' "$L/err" \
        && grep -q 'chars/s' "$L/err" && ok "charlm train: progress and validation lines" \
        || bad "charlm train output" "$(tail -n 3 "$L/err")"
else
    bad "charlm train" "$(tail -n 3 "$L/err")"
fi
out=$("$FIRTH" charlm eval "$L/m.ckpt" --input "$L/text.txt" 2> /dev/null)
echo "$out" | awk '$1 == "nats/char:" && $3 == "bits/char:" && $2 < 0.4 && ($4 - $2 / log(2))^2 < 1e-10 { ok = 1 } END { exit !ok }' \
    && ok "charlm eval: $out" || bad "charlm eval" "$out"
one=$("$FIRTH" charlm eval "$L/m.ckpt" --input "$L/text.txt" --streams 1 2> /dev/null)
# one stream has one cold start instead of the batch's 8: a lower loss on this text
printf '%s\n%s\n' "$out" "$one" | awk 'NR == 1 { b = $2 } NR == 2 && $1 == "nats/char:" && $2 < b { ok = 1 } END { exit !ok }' \
    && ok "charlm eval --streams 1: $one" || bad "charlm eval --streams 1" "$one (batch: $out)"
expect_error "charlm eval: --streams 0" 2 "" -- "$FIRTH" charlm eval "$L/m.ckpt" --input "$L/text.txt" --streams 0
s1=$("$FIRTH" charlm sample "$L/m.ckpt" --prime "the quick" --length 60 --seed 7)
s2=$("$FIRTH" charlm sample "$L/m.ckpt" --prime "the quick" --length 60 --seed 7)
[ "$s1" = "$s2" ] && [ "$(printf '%s' "$s1" | wc -c)" -eq 69 ] && case "$s1" in "the quick brown fox"*) true ;; *) false ;; esac \
    && ok "charlm sample: deterministic, continues the phrase ($(printf '%s' "$s1" | head -c 40)...)" \
    || bad "charlm sample" "$s1 / $s2"
g=$("$FIRTH" charlm sample "$L/m.ckpt" --prime "the qu" --length 20 --top-k 1 --stream)
[ "$g" = "the quick brown fox jumps " ] && ok "charlm sample --top-k 1: greedy" || bad "charlm greedy" "$g"
expect_error "charlm sample: prime character outside the vocabulary" 2 "" -- "$FIRTH" charlm sample "$L/m.ckpt" --prime "theZ"
grep -q "'Z'" "$T/stderr" && ok "charlm sample: the unknown character is named" || bad "charlm prime" "$(cat "$T/stderr")"
# resume: byte-identical to the uninterrupted run (one thread, fixed seed), dropout and weight
# drop, weight decay, locked dropout and input dropout on, the learning rate decayed from the end
# of epoch 1 (about 130 steps per epoch here), the second epoch shifted and the weight average
# kept in the checkpoint
CD="--dropout 0.2 --embed 8 --lr-decay 0.7 --lr-decay-after 1 --wdrop 0.2 --ema 0.99 --weight-decay 0.1 --dropout-locked 1 --input-dropout 0.1 --epoch-shift 1"
"$FIRTH" charlm train --input "$L/text.txt" --output "$L/a.ckpt" $CL $CD --steps 150 --eval-every 50 --quiet \
    && "$FIRTH" charlm train --input "$L/text.txt" --output "$L/b.ckpt" $CL $CD --steps 45 --quiet \
    && "$FIRTH" charlm train --resume "$L/b.ckpt" --input "$L/text.txt" --output "$L/b.ckpt" --steps 150 --quiet \
    && cmp -s "$L/a.ckpt" "$L/b.ckpt" && ok "charlm --resume: byte-identical to an uninterrupted run" \
    || bad "charlm resume" "checkpoints differ"
# --threads 2: the same run on two threads, resumed there, byte-identical again; its evaluation
# on 1 and 2 threads agrees to rounding
"$FIRTH" charlm train --input "$L/text.txt" --output "$L/t2.ckpt" $CL $CD --steps 150 --threads 2 --quiet \
    && "$FIRTH" charlm train --input "$L/text.txt" --output "$L/t2b.ckpt" $CL $CD --steps 45 --threads 2 --quiet \
    && "$FIRTH" charlm train --resume "$L/t2b.ckpt" --input "$L/text.txt" --output "$L/t2b.ckpt" --steps 150 --threads 2 --quiet \
    && cmp -s "$L/t2.ckpt" "$L/t2b.ckpt" && ok "charlm --threads 2 --resume: byte-identical to an uninterrupted run" \
    || bad "charlm --threads 2 resume" "checkpoints differ"
e1=$("$FIRTH" charlm eval "$L/t2.ckpt" --input "$L/text.txt" 2> /dev/null)
e2=$("$FIRTH" charlm eval "$L/t2.ckpt" --input "$L/text.txt" --threads 2 2> /dev/null)
e0=$("$FIRTH" charlm eval "$L/a.ckpt" --input "$L/text.txt" 2> /dev/null)
printf '%s\n%s\n%s\n' "$e1" "$e2" "$e0" | awk '$1 == "nats/char:" { v[NR] = $2 } END { d = v[1] - v[2]; d0 = v[1] - v[3]; exit !(NR == 3 && d * d < 1e-10 && d0 * d0 < 1e-4) }' \
    && ok "charlm --threads 2: eval on 1 and 2 threads ${e1%% bits*} / ${e2%% bits*}, one-thread run's ${e0%% bits*}" \
    || bad "charlm --threads 2" "$e1 / $e2 / one thread: $e0"
expect_error "charlm train: --threads 0" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --threads 0
# SIGINT writes a checkpoint that resumes
"$FIRTH" charlm train --input "$L/text.txt" --output "$L/int.ckpt" $CL --steps 100000000 --quiet 2> "$L/err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] && grep -q 'interrupted at step [0-9]*; checkpoint written' "$L/err" \
    && "$FIRTH" charlm eval "$L/int.ckpt" --input "$L/text.txt" > /dev/null 2>&1 \
    && ok "charlm SIGINT: exit 130 and a loadable checkpoint" || bad "charlm SIGINT" "exit $rc: $(cat "$L/err")"
# bad input
: > "$L/empty.txt"
printf 'abc' > "$L/short.txt"
expect_error "charlm train: empty text" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/empty.txt" --output "$L/x.ckpt"
expect_error "charlm train: text too short for the batch" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/short.txt" --output "$L/x.ckpt"
expect_error "charlm train: missing input" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/nope.txt" --output "$L/x.ckpt"
expect_error "charlm train: unwritable output" 2 "" -- "$FIRTH" charlm train --input "$L/text.txt" --output /nonexistent/x.ckpt
expect_error "charlm train: --resume changes --hidden" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --resume "$L/m.ckpt" --input "$L/text.txt" --output "$L/x.ckpt" --hidden 64
expect_error "charlm train: --resume on another text" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --resume "$L/m.ckpt" --input "$T/big.txt" --output "$L/x.ckpt" --steps 400
expect_error "charlm train: bad --dropout" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --dropout 1.5
expect_error "charlm train: bad --input-dropout" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --input-dropout 1
expect_error "charlm train: bad --epoch-shift" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --epoch-shift 2
expect_error "charlm train: bad --wdrop" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --wdrop 1
expect_error "charlm train: --weight-decay with lr x weight decay >= 1" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --weight-decay 500
expect_error "charlm train: bad --ema" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --ema 1
expect_error "charlm train: --resume changes --ema" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --resume "$L/a.ckpt" --input "$L/text.txt" --output "$L/x.ckpt" --ema 0.5
# Adam's betas: stored in the checkpoint header (docs/formats.md: f64 beta1, beta2 at bytes 48, 56)
if "$FIRTH" charlm train --input "$L/text.txt" --output "$L/b.ckpt" $CL --steps 2 --eval-every 0 --beta1 0.5 --beta2 0.99 2> "$L/err"; then
    betas=$(od -A n -t f8 -j 48 -N 16 "$L/b.ckpt" | tr -s ' ' | sed 's/^ //; s/ $//')
    [ "$betas" = "0.5 0.99" ] && ok "charlm train --beta1 0.5 --beta2 0.99: the checkpoint holds $betas" \
        || bad "charlm --beta1/--beta2 in the checkpoint" "$betas"
    betas=$(od -A n -t f8 -j 48 -N 16 "$L/m.ckpt" | tr -s ' ' | sed 's/^ //; s/ $//')
    [ "$betas" = "0.9 0.999" ] && ok "charlm train without them: the defaults $betas" \
        || bad "charlm default betas in the checkpoint" "$betas"
else
    bad "charlm train --beta1 --beta2" "$(cat "$L/err")"
fi
expect_error "charlm train: bad --beta2" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --beta2 1
expect_error "charlm train: --resume changes --beta2" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --resume "$L/b.ckpt" --input "$L/text.txt" --output "$L/x.ckpt" --beta2 0.999
ema_out=$("$FIRTH" charlm eval "$L/a.ckpt" --input "$L/text.txt" 2> /dev/null)
case "$ema_out" in "nats/char: "*) ok "charlm eval of a model with a weight average: $ema_out" ;;
    *) bad "charlm eval (ema)" "$ema_out" ;; esac
# a time limit ends the run (validated and checkpointed), the warmdown takes the rate to near 0
if "$FIRTH" charlm train --input "$L/text.txt" --output "$L/tl.ckpt" $CL --time-limit 1 --warmdown 0.5 --eval-every 0 2> "$L/err" \
    && grep -q '^trained to step' "$L/err" && grep -q 'validation' "$L/err" \
    && "$FIRTH" charlm eval "$L/tl.ckpt" --input "$L/text.txt" > /dev/null 2>&1; then
    lr_end=$(grep -o 'lr [0-9.e+-]*' "$L/err" | tail -n 1 | cut -d' ' -f2)
    awk -v x="$lr_end" 'BEGIN { exit !(x < 1e-2 / 4) }' \
        && ok "charlm train --time-limit 1 --warmdown 0.5: stopped by the clock, last rate $lr_end" \
        || bad "charlm warmdown" "last rate $lr_end (of 1e-2)"
else
    bad "charlm train --time-limit" "$(tail -n 3 "$L/err")"
fi
# a warm-up: step 3 of 1000 at 3/1000 of the rate
if "$FIRTH" charlm train --input "$L/text.txt" --output "$L/wu.ckpt" $CL --steps 3 --warmup 1000 --eval-every 0 2> "$L/err"; then
    lr_end=$(grep -o 'lr [0-9.e+-]*' "$L/err" | tail -n 1 | cut -d' ' -f2)
    awk -v x="$lr_end" 'BEGIN { exit !(x > 2.99e-5 && x < 3.01e-5) }' \
        && ok "charlm train --warmup 1000: step 3 at rate $lr_end" \
        || bad "charlm warmup" "rate $lr_end at step 3 (want 3e-05)"
else
    bad "charlm train --warmup" "$(tail -n 3 "$L/err")"
fi
# bfloat16 products: trains, and ends near the same loss as float after the same 20 steps
if "$FIRTH" charlm train --input "$L/text.txt" --output "$L/bf.ckpt" $CL --steps 20 --eval-every 0 --threads 2 --bf16 2> "$L/err" \
    && "$FIRTH" charlm train --input "$L/text.txt" --output "$L/fl.ckpt" $CL --steps 20 --eval-every 0 --threads 2 2> /dev/null; then
    v_bf=$("$FIRTH" charlm eval "$L/bf.ckpt" --input "$L/text.txt" 2> /dev/null | cut -d' ' -f2)
    v_fl=$("$FIRTH" charlm eval "$L/fl.ckpt" --input "$L/text.txt" 2> /dev/null | cut -d' ' -f2)
    awk -v a="$v_bf" -v b="$v_fl" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && b > 0 && a != b && d < 0.05) }' \
        && ok "charlm train --bf16: $v_bf nats/char after 20 steps (float: $v_fl)" \
        || bad "charlm --bf16" "$v_bf vs float $v_fl nats/char"
else
    bad "charlm train --bf16" "$(tail -n 3 "$L/err")"
fi
expect_error "charlm train: bad --warmup" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --warmup 1000000001
expect_error "charlm train: --warmdown without --time-limit" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --warmdown 0.5
expect_error "charlm train: bad --warmdown" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --time-limit 5 --warmdown 1.5
expect_error "charlm train: bad --lr-decay" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --lr-decay 0
expect_error "charlm train: bad --lr-decay-after" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --lr-decay-after -1
head -c 3000 "$L/m.ckpt" > "$L/trunc.ckpt"
expect_error "charlm eval: truncated checkpoint" 2 "" -- "$FIRTH" charlm eval "$L/trunc.ckpt" --input "$L/text.txt"
head -c 5000 /dev/urandom > "$L/random.ckpt"
expect_error "charlm sample: random bytes as checkpoint" 2 "" -- "$FIRTH" charlm sample "$L/random.ckpt"
expect_error "charlm eval: missing checkpoint" 2 "" -- "$FIRTH" charlm eval "$L/nope.ckpt" --input "$L/text.txt"
expect_error "charlm eval: text with an unknown character" 2 "" -- "$FIRTH" charlm eval "$L/m.ckpt" --input "$T/big.txt"
expect_error "charlm: unknown command" 2 "" -- "$FIRTH" charlm fly
expect_error "charlm train: a model larger than the memory" 2 "$L/x.ckpt" -- "$FIRTH" charlm train --input "$L/text.txt" --output "$L/x.ckpt" --hidden 16384 --layers 64
# resuming a run that is already done still writes the output (the same checkpoint)
"$FIRTH" charlm train --resume "$L/m.ckpt" --input "$L/text.txt" --output "$L/same.ckpt" --steps 300 --quiet \
    && cmp -s "$L/m.ckpt" "$L/same.ckpt" && ok "charlm --resume with nothing left to do: output = input" \
    || bad "charlm resume done" "differs or missing"

# --- wordlm / complete ------------------------------------------------------------------------
W=$T/wordlm
mkdir -p "$W"
# A generated grammar: ten subjects, each with its own verb and object ("alice eats pears ."),
# sentences in random order. Given the previous sentence and a subject, the rest of the sentence
# is determined, so a correct model completes every subject perfectly with --top-k 1.
awk 'BEGIN { srand(3); split("alice bob carol dave erin frank grace heidi ivan judy", S, " ")
    split("likes hates eats sees wants", V, " "); split("apples pears plums figs limes dates kiwis", O, " ")
    for (i = 1; i <= 10; i++) { v[i] = V[1 + int(rand() * 5)]; o[i] = O[1 + int(rand() * 7)] }
    for (n = 0; n < 600; n++) { i = 1 + int(rand() * 10); printf "%s %s %s .%s", S[i], v[i], o[i], (n % 7 == 6 ? "\n" : " ") }
    for (i = 1; i <= 10; i++) print S[i], v[i], o[i], "." > "'"$W"'/answers.txt" }' > "$W/g.txt"
# random 24-dimensional vectors for its words, in word2vec text format
tr ' ' '\n' < "$W/g.txt" | grep -v '^$' | sort -u | awk 'BEGIN { srand(5) } { w[NR] = $0 }
    END { print NR, 24; for (i = 1; i <= NR; i++) { l = w[i]; for (d = 0; d < 24; d++) l = l " " sprintf("%.4f", rand() * 2 - 1); print l } }' > "$W/g.vec"
grammar_score() { # model: how many of the 10 subjects are completed exactly
    n=0
    while read -r s v o dot; do
        got=$("$FIRTH" complete "$1" "dave eats kiwis . $s" --length 3 --top-k 1 2> /dev/null | cut -d' ' -f5-)
        [ "$got" = "$s $v $o ." ] && n=$((n + 1))
    done < "$W/answers.txt"
    echo "$n"
}
for cfg in "hinge 0.01" "log 0.05" "log 0.05 --train-embeddings" "log 0.05 --negative 5"; do
    set -- $cfg
    name=$(echo "$cfg" | tr -d ' -')
    if "$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/g.txt" --output "$W/$name.lm" --context 4 \
        --epochs 10 --loss "$1" --lr "$2" ${3:-} ${4:-} --quiet 2> "$T/err"; then
        n=$(grammar_score "$W/$name.lm")
        [ "$n" -eq 10 ] && ok "wordlm $cfg: completes the grammar perfectly with --top-k 1 (10/10)" \
            || bad "wordlm $cfg" "completed $n of 10 subjects"
    else
        bad "wordlm train $cfg" "$(cat "$T/err")"
    fi
done
"$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/g.txt" --output "$W/t2.lm" --context 4 --epochs 2 \
    --loss hinge --lr 0.01 --threads 2 --quiet && "$FIRTH" wordlm eval "$W/t2.lm" --input "$W/g.txt" > /dev/null \
    && ok "wordlm train --threads 2" || bad "wordlm --threads 2" "failed"
L=$W/log0.05.lm
"$FIRTH" complete "$L" "alice" --length 30 --top-k 5 --seed 7 > "$W/c1" && \
    "$FIRTH" complete "$L" "alice" --length 30 --top-k 5 --seed 7 --stream > "$W/c2" && cmp -s "$W/c1" "$W/c2" \
    && [ "$(wc -w < "$W/c1")" -eq 31 ] && ok "complete: same seed, same text (streamed or not)" || bad "complete seed" "$(cat "$W/c1")"
# --stream really streams: with 0.1 s after each of 1000 words the whole text takes 100 s, but
# the first 20 bytes reach a reader at once (unflushed, they would wait in stdio's 4 KiB buffer
# for ~700 words, 70 s); the reader then leaves and the next write ends firth (SIGPIPE).
t0=$(date +%s)
first=$(timeout 90 sh -c '"$1" complete "$2" "alice" --length 1000 --delay-ms 100 --stream | head -c 20' sh "$FIRTH" "$L")
t1=$(date +%s)
[ "${#first}" -eq 20 ] && [ $((t1 - t0)) -lt 30 ] && ok "complete --stream: the first words arrive while it is still writing ($((t1 - t0)) s)" \
    || bad "complete --stream" "got '$first' after $((t1 - t0)) s"
"$FIRTH" complete "$L" "dave eats kiwis ." --length 12 --top-k 1 > "$W/c3" \
    && awk '{ for (i = 2; i <= NF; i++) if ($(i-1) == "." && $i !~ /^[A-Z]/) bad = 1; if (NF != 16) bad = 1 } END { exit bad }' "$W/c3" \
    && grep -q ' \. [A-Z]' "$W/c3" && ok "complete: a word after a full stop is capitalised ($(cat "$W/c3"))" \
    || bad "complete capitals" "$(cat "$W/c3")"
"$FIRTH" complete "$L" "Zyzzy qwerty" --length 4 > "$W/c4" 2> "$T/err" && [ "$(wc -w < "$W/c4")" -eq 6 ] \
    && grep -q 'not in the model' "$T/err" && ok "complete: unknown seed words are read as <unk>" \
    || bad "complete unknown" "$(cat "$T/err")"
"$FIRTH" wordlm eval "$L" --input "$W/g.txt" > "$W/ev" 2> "$T/err" \
    && awk -F'\t' '{ v[$1] = $2 } END { exit !(v["top1"] > v["unigram_top1"] && v["top5"] > v["unigram_top5"] && v["perplexity"] < v["unigram_perplexity"] && v["examples"] == 2400) }' "$W/ev" \
    && ok "wordlm eval: log model beats the unigram baseline on its grammar" || bad "wordlm eval" "$(cat "$W/ev" "$T/err")"
"$FIRTH" wordlm eval "$W/hinge0.01.lm" --input "$W/g.txt" --json | grep -q '"perplexity": null' \
    && ok "wordlm eval --json: no perplexity for hinge" || bad "eval json" "no null perplexity"
cp "$L" "$W/up.lm"
printf 'alice eats pears . newword bob hates figs .\n' > "$W/new.txt"
"$FIRTH" wordlm update "$W/up.lm" --input "$W/new.txt" 2> "$T/err" && grep -q 'steps in all' "$T/err" \
    && ! cmp -s "$L" "$W/up.lm" && "$FIRTH" complete "$W/up.lm" "alice" --length 2 > /dev/null \
    && ok "wordlm update: learns from new text with an unknown word" || bad "wordlm update" "$(cat "$T/err")"
cat "$W/new.txt" | "$FIRTH" wordlm update "$W/up.lm" --output "$W/up2.lm" --quiet \
    && "$FIRTH" wordlm eval "$W/up2.lm" --input "$W/g.txt" > /dev/null && ok "wordlm update from stdin" \
    || bad "wordlm update stdin" "failed"
: > "$W/empty.txt"
head -c 100 "$L" > "$W/trunc.lm"
head -c $(($(wc -c < "$L") - 3)) "$L" > "$W/trunc2.lm"
expect_error "wordlm train: empty input" 2 "$W/x.lm" -- "$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/empty.txt" --output "$W/x.lm" --quiet
expect_error "wordlm train: missing vectors" 2 "$W/x.lm" -- "$FIRTH" wordlm train --vectors "$W/nope.vec" --input "$W/g.txt" --output "$W/x.lm"
expect_error "wordlm train: binary garbage as vectors" 2 "$W/x.lm" -- "$FIRTH" wordlm train --vectors "$T/random.bin" --input "$W/g.txt" --output "$W/x.lm"
expect_error "wordlm train: hinge with --negative" 2 "$W/x.lm" -- "$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/g.txt" --output "$W/x.lm" --negative 5
expect_error "wordlm train: no --output" 2 "" -- "$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/g.txt"
expect_error "wordlm train: unwritable output" 2 "" -- "$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/g.txt" --output /nonexistent/x.lm
expect_error "wordlm eval: empty held-out text" 2 "" -- "$FIRTH" wordlm eval "$L" --input "$W/empty.txt"
expect_error "wordlm eval: truncated model" 2 "" -- "$FIRTH" wordlm eval "$W/trunc.lm" --input "$W/g.txt"
expect_error "wordlm eval: model missing its last bytes" 2 "" -- "$FIRTH" wordlm eval "$W/trunc2.lm" --input "$W/g.txt"
expect_error "wordlm eval: vectors instead of a model" 2 "" -- "$FIRTH" wordlm eval "$W/g.vec" --input "$W/g.txt"
expect_error "complete: garbage model" 2 "" -- "$FIRTH" complete "$T/random.bin" "alice"
expect_error "complete: empty model file" 2 "" -- "$FIRTH" complete "$W/empty.txt" "alice"
expect_error "complete: no seed" 2 "" -- "$FIRTH" complete "$L"
expect_error "complete: bad --top-p" 2 "" -- "$FIRTH" complete "$L" "alice" --top-p 0
cp "$W/up.lm" "$W/up.before"
expect_error "wordlm update: empty new text" 2 "" -- "$FIRTH" wordlm update "$W/up.lm" --input "$W/empty.txt"
expect_error "wordlm: unknown subcommand" 2 "" -- "$FIRTH" wordlm frob
expect_error "wordlm train: --threads 0" 2 "$W/x.lm" -- "$FIRTH" wordlm train --vectors "$W/g.vec" --input "$W/g.txt" --output "$W/x.lm" --threads 0
cmp -s "$W/up.lm" "$W/up.before" && "$FIRTH" complete "$W/up.lm" "alice" --length 1 > /dev/null \
    && ok "wordlm update: a failed update leaves the model as it was" || bad "update failed" "model damaged"
# The committed SGDClassifier fixture is what real sklearn produces (Debian's python3-sklearn).
if /usr/bin/python3 -c 'import sklearn' 2> /dev/null; then
    here=$(cd "$(dirname "$0")" && pwd)
    /usr/bin/python3 "$here/ref/sgd_hinge_ref.py" > "$W/sgd.txt" 2> /dev/null \
        && tr -s ' ' '\n' < "$W/sgd.txt" > "$W/sgd.a" && tr -s ' ' '\n' < "$here/fixtures/sgd_hinge.txt" > "$W/sgd.b" \
        && [ "$(wc -l < "$W/sgd.a")" -eq "$(wc -l < "$W/sgd.b")" ] && paste -d' ' "$W/sgd.a" "$W/sgd.b" \
        | awk '{ d = $1 - $2; if ($1 != $2 && !(d < 1e-12 && d > -1e-12)) bad = 1 } END { exit bad }' \
        && ok "sklearn reproduces tests/fixtures/sgd_hinge.txt" || bad "sklearn fixture" "regenerated fixture differs"
else
    echo "skip sklearn fixture check: python3-sklearn is not installed (scripts/deps.sh --test)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
