#!/bin/sh
# run.sh - the bad-input battery: hostile files and arguments for every command that reads
# outside data (train, neighbors, analogy, similarity, eval-analogy, eval-similarity, convert).
# Each case must end with exit status 1 or 2, exactly one line on stderr starting "firth: ", no
# sanitizer report, no hang (timeout), no output file (and no temporary file) where none stood,
# and an older file at the output path left byte-for-byte as it was.
#   FIRTH=build/firth sh tests/bad_input/run.sh       (also under build-san/, see tests/run.sh)
# The 1 GiB-line cases are generated on the fly and skipped when /tmp has less than 2 GiB free or
# FIRTH_SKIP_HUGE=1. The cases of tests/cli_test.sh (about 40: missing/empty/blank input, NUL,
# Latin-1, bad option values, unwritable outputs, ...) are not repeated here; docs/reliability.md
# lists both. Last line: "N passed, N failed".
set -u
FIRTH=${FIRTH:-build/firth}
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/firth-bad-XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
: "${BAD_TIMEOUT:=120}"

ok() { passed=$((passed + 1)); [ -n "${QUIET_OK:-}" ] || echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# check NAME OUT KEEP -- command...
#   OUT:  a path that must not exist afterwards (nor OUT.tmp.*), or ""
#   KEEP: an existing file that must be byte-identical afterwards (nor KEEP.tmp.* left), or ""
check() {
    name=$1 out=$2 keep=$3
    shift 4
    [ -n "$keep" ] && cp "$keep" "$T/keep.ref"
    timeout -k 5 "$BAD_TIMEOUT" "$@" > "$T/stdout" 2> "$T/stderr" < /dev/null
    rc=$?
    lines=$(wc -l < "$T/stderr")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        bad "$name" "no answer within ${BAD_TIMEOUT}s (hang?)"
    elif grep -qE 'Sanitizer|runtime error:|AddressSanitizer|LeakSanitizer' "$T/stderr"; then
        bad "$name" "sanitizer report: $(grep -m 3 -E 'ERROR|runtime error|SUMMARY' "$T/stderr")"
    elif [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
        bad "$name" "exit $rc, expected 1 or 2; stderr: $(head -c 300 "$T/stderr")"
    elif [ "$lines" -ne 1 ] || ! grep -q '^firth: ' "$T/stderr"; then
        bad "$name" "expected one 'firth: ...' line on stderr, got $lines: $(head -c 300 "$T/stderr")"
    elif [ -n "$out" ] && { [ -e "$out" ] || ls "$out".tmp.* > /dev/null 2>&1; }; then
        bad "$name" "left an output file behind at $out"
    elif [ -n "$keep" ] && { ! cmp -s "$keep" "$T/keep.ref" || ls "$keep".tmp.* > /dev/null 2>&1; }; then
        bad "$name" "the older file at $keep was changed or a temporary file was left"
    else
        ok "$name ($(cut -c 1-150 "$T/stderr"))"
    fi
}

# patch FILE OFFSET OCTAL_BYTES: overwrite bytes in place (printf's octal escapes, e.g. '\377')
patch() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2> /dev/null; }

O=$T/out.txt
echo "an older file that must survive" > "$T/old.txt"
OLD=$T/old.txt

# --- fixtures: a small valid model in every format --------------------------------------------
printf 'a b c a b a\nb c a d\n' > "$T/s.txt"
"$FIRTH" train --input "$T/s.txt" --output "$T/m.firth" --min-count 1 --dim 2 --epochs 1 --quiet
"$FIRTH" train --input "$T/s.txt" --output "$T/m.bin" --min-count 1 --dim 2 --epochs 1 --quiet
# hand-written text model: the last value has no sign or exponent, so each of its prefixes is a
# number (see the truncation cases)
printf '3 2\n</s> 0.5 0.25\na 1 0\nb 0.75 0.125\n' > "$T/m.txt"
for f in m.firth m.bin m.txt; do
    [ -s "$T/$f" ] || { bad "fixture $f" "not created"; echo "$passed passed, $failed failed"; exit 1; }
done
printf ': s\na b a b\n' > "$T/q.txt"
printf 'a\tb\t1\n' > "$T/p.tsv"

# --- train: corpora -----------------------------------------------------------------------------
printf '\377\376\375 \200\201\n' > "$T/c_invalid.txt"
check "train: only invalid UTF-8 bytes" "$O" "" -- "$FIRTH" train --input "$T/c_invalid.txt" --output "$O" --min-count 1 --quiet
printf 'ok \300\257 x\n' > "$T/c_overlong.txt"
check "train: overlong UTF-8 (C0 AF)" "$O" "" -- "$FIRTH" train --input "$T/c_overlong.txt" --output "$O" --min-count 1 --quiet
printf 'ok \355\240\200 x\n' > "$T/c_surrogate.txt"
check "train: UTF-8 surrogate (ED A0 80)" "$O" "" -- "$FIRTH" train --input "$T/c_surrogate.txt" --output "$O" --min-count 1 --quiet
printf 'ok \364\220\200\200 x\n' > "$T/c_above.txt"
check "train: code point above U+10FFFF" "$O" "" -- "$FIRTH" train --input "$T/c_above.txt" --output "$O" --min-count 1 --quiet
printf 'ok x euro \342\202' > "$T/c_cut.txt"
check "train: UTF-8 cut at the end of the file" "$O" "" -- "$FIRTH" train --input "$T/c_cut.txt" --output "$O" --min-count 1 --quiet
printf '\377\376h\000e\000l\000l\000o\000 \000w\000\n\000' > "$T/c_utf16.txt"
check "train: UTF-16 text with BOM" "$O" "" -- "$FIRTH" train --input "$T/c_utf16.txt" --output "$O" --min-count 1 --quiet --invalid-utf8 replace
awk 'BEGIN { for (i = 0; i < 100000; i++) print "w" i % 100 " x y" }' > "$T/c_latenul.txt"
printf 'tail\000\n' >> "$T/c_latenul.txt"
check "train: NUL byte after 1 MB of text" "$O" "" -- "$FIRTH" train --input "$T/c_latenul.txt" --output "$O" --min-count 1 --quiet --epochs 1
gzip -c "$T/c_latenul.txt" > "$T/c.gz"
check "train: a gzip file" "$O" "" -- "$FIRTH" train --input "$T/c.gz" --output "$O" --min-count 1 --quiet
check "train: /dev/null as corpus (empty device)" "$O" "" -- "$FIRTH" train --input /dev/null --output "$O" --quiet
check "train: a good file then a missing one" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --input "$T/nope.txt" --output "$O" --min-count 1 --quiet
check "train: stdin twice" "$O" "" -- "$FIRTH" train --input - --input - --output "$O" --quiet
check "train: error keeps the older output" "" "$OLD" -- "$FIRTH" train --input "$T/c_invalid.txt" --output "$OLD" --min-count 1 --quiet
check "train: output under a plain file" "" "" -- "$FIRTH" train --input "$T/s.txt" --output "$T/s.txt/x.txt" --min-count 1 --quiet
check "train: --save-vocab unwritable" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --save-vocab /nonexistent/v.txt --min-count 1 --quiet
head -n 20000 "$T/c_latenul.txt" > "$T/c_plain.txt"
check "train: learning rate 10 diverges (NaN loss)" "$O" "" -- "$FIRTH" train --input "$T/c_plain.txt" --output "$O" --alpha 10 --min-count 1 --quiet
# a model larger than the machine's memory is refused before anything is allocated
awk 'BEGIN { for (i = 0; i < 400000; i++) printf "u%d%s", i, (i % 16 == 15 ? "\n" : " ") }' > "$T/c_wide.txt"
check "train: model larger than physical memory" "$O" "" -- "$FIRTH" train --input "$T/c_wide.txt" --output "$O" --min-count 1 --dim 10000 --quiet

# --- train: vocabulary files (--read-vocab) ------------------------------------------------------
: > "$T/v_empty.txt"
check "read-vocab: empty file" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_empty.txt" --quiet
head -c 2048 /dev/urandom > "$T/v_random.bin"
check "read-vocab: binary garbage" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_random.bin" --quiet
printf 'a 18446744073709551616\n' > "$T/v_over.txt"
check "read-vocab: count overflows 64 bits" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_over.txt" --quiet
printf 'a -3\n' > "$T/v_neg.txt"
check "read-vocab: negative count" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_neg.txt" --quiet
awk 'BEGIN { s = ""; for (i = 0; i < 5000; i++) s = s "w"; print s " 3" }' > "$T/v_long.txt"
check "read-vocab: 5000-byte word" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_long.txt" --quiet
printf 'caf\351 3\n' > "$T/v_latin1.txt"
check "read-vocab: invalid UTF-8 word" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_latin1.txt" --quiet
printf 'a 1\000\n' > "$T/v_nul.txt"
check "read-vocab: NUL byte" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_nul.txt" --quiet
printf 'a 0\nb 0\n' > "$T/v_zero.txt"
check "read-vocab: every count below --min-count" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/v_zero.txt" --quiet

# --- option values -----------------------------------------------------------------------------
check "train: --seed above 2^64" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --seed 18446744073709551616
check "train: --min-count -5" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --min-count -5
check "train: --alpha nan" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --alpha nan
check "train: --alpha inf" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --alpha inf
check "train: --max-token 2^31" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --max-token 2147483648
check "train: --dim with trailing garbage" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --dim 10x
check "train: --threads with no value" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --threads
check "neighbors: -k 0" "" "" -- "$FIRTH" neighbors "$T/m.txt" a -k 0
check "neighbors: -k 2^31" "" "" -- "$FIRTH" neighbors "$T/m.txt" a -k 2147483648
check "neighbors: --limit -1" "" "" -- "$FIRTH" neighbors "$T/m.txt" a --limit -1
check "neighbors: invalid UTF-8 query word" "" "" -- "$FIRTH" neighbors "$T/m.txt" "$(printf '\377')"
check "analogy: two words only" "" "" -- "$FIRTH" analogy "$T/m.txt" a b
check "analogy: --method unknown" "" "" -- "$FIRTH" analogy "$T/m.txt" a b a --method div
check "similarity: three words" "" "" -- "$FIRTH" similarity "$T/m.txt" a b a
check "convert: --limit above 10^15" "$T/x.txt" "" -- "$FIRTH" convert "$T/m.txt" "$T/x.txt" --limit 10000000000000000

# --- word2vec text / .vec headers and rows ------------------------------------------------------
vec() { # name contents: neighbors on a text vector file
    printf -- "$2" > "$T/vec_$1.txt"
    check "neighbors: $1" "" "" -- "$FIRTH" neighbors "$T/vec_$1.txt" a
}
vec "empty file" ''
vec "header only" '3 2\n'
vec "zero words" '0 2\n'
vec "zero dim" '1 0\na\n'
vec "negative count" '-1 2\na 1 2\n'
vec "negative dim" '1 -2\na 1 2\n'
vec "count overflows 64 bits" '99999999999999999999 2\na 1 2\n'
vec "count 2^64-1" '18446744073709551615 2\na 1 2\n'
vec "dim above 100000" '1 100001\na 1\n'
vec "dim 2^32+1 (wraps to 1 in 32 bits)" '1 4294967297\na 1\n'
vec "header words" 'words dim\na 1 2\n'
vec "no line end after the header" '1 2'
vec "NaN value" '1 2\na nan 1\n'
vec "infinite value" '1 2\na inf 1\n'
vec "value overflows float" '1 2\na 1e39 1\n'
# (a row like "a one two" is not an error: its bytes are a valid word2vec binary row)
vec "not a number" '2 2\na 1 x\nb 3 4\n'
vec "too few values" '2 2\na 1 2\nb 3\n'
vec "too many values" '2 2\na 1 2 3\nb 3 4\n'
vec "too few rows" '3 2\na 1 2\nb 3 4\n'
vec "row without values" '1 2\na\n'
awk 'BEGIN { s = ""; for (i = 0; i < 5000; i++) s = s "w"; print "1 1"; print s " 1" }' > "$T/vec_longword.txt"
check "neighbors: 5000-byte word" "" "" -- "$FIRTH" neighbors "$T/vec_longword.txt" a
head -c 4096 /dev/urandom > "$T/random.bin"
check "neighbors: binary garbage" "" "" -- "$FIRTH" neighbors "$T/random.bin" a
check "analogy: binary garbage" "" "" -- "$FIRTH" analogy "$T/random.bin" a b a
check "similarity: binary garbage" "" "" -- "$FIRTH" similarity "$T/random.bin" a b
check "neighbors: a directory" "" "" -- "$FIRTH" neighbors "$T" a
check "neighbors: a character device" "" "" -- "$FIRTH" neighbors /dev/null a
check "neighbors: gzip of a model" "" "" -- sh -c "gzip -c '$T/m.txt' > '$T/m.txt.gz' && exec '$FIRTH' neighbors '$T/m.txt.gz' a"

# --- word2vec binary ----------------------------------------------------------------------------
printf '2 2\na \000\000\200\177\000\000\000\000\nb \000\000\200?\000\000\000\000\n' > "$T/bin_inf.bin"
check "neighbors: binary row with infinity" "" "" -- "$FIRTH" neighbors "$T/bin_inf.bin" a
printf '2 2\na\000b \000\000\200?\000\000\000\000\nb \000\000\200?\000\000\000\000\n' > "$T/bin_nul.bin"
check "neighbors: binary word with NUL" "" "" -- "$FIRTH" neighbors "$T/bin_nul.bin" b
{ printf '1000000 2\n'; tail -c +5 "$T/m.bin"; } > "$T/bin_short.bin"
check "neighbors: binary header larger than the file" "" "" -- "$FIRTH" neighbors "$T/bin_short.bin" a
{ printf '4 100000\n'; tail -c +5 "$T/m.bin"; } > "$T/bin_dim.bin"
check "neighbors: binary dim 100000 in a 50-byte file" "" "" -- "$FIRTH" neighbors "$T/bin_dim.bin" a

# --- native model: header fields ----------------------------------------------------------------
native() { # name offset octal-bytes
    cp "$T/m.firth" "$T/n.firth"
    patch "$T/n.firth" "$2" "$3"
    check "native: $1" "$T/n2.firth" "" -- "$FIRTH" convert "$T/n.firth" "$T/n2.firth"
}
native "wrong magic" 0 'FIRTHX2V'
native "version 2" 8 '\002\000\000\000'
native "other byte order" 12 '\001\002\003\004'
native "unknown architecture" 16 '\007\000\000\000'
native "unknown loss" 20 '\003\000\000\000'
native "dim 0" 24 '\000\000\000\000'
native "dim 2^32-1" 24 '\377\377\377\377'
native "window 0" 28 '\000\000\000\000'
native "alpha NaN" 48 '\000\000\000\000\000\000\370\177'
native "sample -1" 56 '\000\000\000\000\000\000\360\277'
native "vocabulary 2^62 words" 72 '\000\000\000\000\000\000\000\100'
native "vocabulary 2^64-1 words" 72 '\377\377\377\377\377\377\377\377'
native "word block 2^63 bytes" 80 '\000\000\000\000\000\000\000\200'
native "output rows off by one" 88 '\004\000\000\000\000\000\000\000'
native "checksum wrong" 104 '\000'
native "weight bytes changed" 200 '\377\377'
native "word bytes changed" 113 '\000'
cp "$T/m.firth" "$T/n.firth"
printf 'extra' >> "$T/n.firth"
check "native: bytes after the end" "" "" -- "$FIRTH" neighbors "$T/n.firth" a

# --- evaluation files ---------------------------------------------------------------------------
: > "$T/e_empty.txt"
check "eval-analogy: empty questions file" "" "" -- "$FIRTH" eval-analogy "$T/m.txt" "$T/e_empty.txt"
printf ': s\n: t\n' > "$T/e_sections.txt"
check "eval-analogy: sections without questions" "" "" -- "$FIRTH" eval-analogy "$T/m.txt" "$T/e_sections.txt"
printf ': s\na b a b b\na b\n' > "$T/e_fields.txt"
check "eval-analogy: only malformed questions" "" "" -- "$FIRTH" eval-analogy "$T/m.txt" "$T/e_fields.txt"
check "eval-analogy: the questions file is a directory" "" "" -- "$FIRTH" eval-analogy "$T/m.txt" "$T"
check "eval-analogy: a truncated model" "" "" -- sh -c "head -c 100 '$T/m.firth' > '$T/e_trunc.firth' && exec '$FIRTH' eval-analogy '$T/e_trunc.firth' '$T/q.txt'"
check "eval-similarity: empty pairs file" "" "" -- "$FIRTH" eval-similarity "$T/m.txt" "$T/e_empty.txt"
printf '# only\n# comments\n' > "$T/e_comments.tsv"
check "eval-similarity: only comments" "" "" -- "$FIRTH" eval-similarity "$T/m.txt" "$T/e_comments.tsv"
printf 'a\tb\n\tb\t1\na\tb\tone\n' > "$T/e_malformed.tsv"
check "eval-similarity: only malformed pairs" "" "" -- "$FIRTH" eval-similarity "$T/m.txt" "$T/e_malformed.tsv"
check "eval-similarity: binary garbage" "" "" -- "$FIRTH" eval-similarity "$T/m.txt" "$T/random.bin"

# --- convert: outputs ---------------------------------------------------------------------------
check "convert: failed load keeps the older output" "" "$OLD" -- "$FIRTH" convert "$T/random.bin" "$OLD" --to text
check "convert: to /dev/full (disk full)" "" "" -- "$FIRTH" convert "$T/m.txt" /dev/full --to text
check "convert: output in a missing directory" "" "" -- "$FIRTH" convert "$T/m.txt" "$T/no/such/dir.txt"

# --- outputs that are not plain files (not errors: checked here with the write-path fixes) ------
# a symbolic link: the file it points to is replaced, the link stays a link
cp "$OLD" "$T/target.txt"
ln -s target.txt "$T/link.txt"
"$FIRTH" convert "$T/m.txt" "$T/link.txt" --to text --quiet 2> "$T/stderr" \
    && [ -L "$T/link.txt" ] && cmp -s "$T/m.txt" "$T/target.txt" \
    && ok "output through a symbolic link replaces its target" || bad "output symlink" "$(cat "$T/stderr"; ls -l "$T/link.txt")"
# a pipe (/dev/stdout) and a FIFO are written directly
"$FIRTH" convert "$T/m.txt" /dev/stdout --to text --quiet 2> "$T/stderr" | cmp -s - "$T/m.txt" \
    && ok "output to /dev/stdout on a pipe" || bad "output /dev/stdout" "$(cat "$T/stderr")"
mkfifo "$T/fifo"
cat "$T/fifo" > "$T/from_fifo" &
"$FIRTH" convert "$T/m.txt" "$T/fifo" --to text --quiet 2> "$T/stderr"
rc=$?
wait
[ "$rc" -eq 0 ] && [ -p "$T/fifo" ] && cmp -s "$T/m.txt" "$T/from_fifo" && ! ls "$T"/fifo.tmp.* > /dev/null 2>&1 \
    && ok "output to a FIFO" || bad "output FIFO" "exit $rc $(cat "$T/stderr")"

# --- disk full (ENOSPC) -------------------------------------------------------------------------
# /dev/full fails every write with ENOSPC: the error must come out as one line, exit 1 (an I/O
# failure, not the user's input), and /dev/full must still be the device afterwards (firth writes
# to an existing device directly instead of renaming a temporary file over it).
check "train: --output /dev/full" "" "" -- "$FIRTH" train --input "$T/s.txt" --output /dev/full --min-count 1 --dim 2 --epochs 1 --quiet
check "train: --save-vocab /dev/full" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --save-vocab /dev/full --min-count 1 --dim 2 --epochs 1 --quiet
check "convert: native to /dev/full" "" "" -- "$FIRTH" convert "$T/m.firth" /dev/full --to native
check "convert: binary to /dev/full" "" "" -- "$FIRTH" convert "$T/m.txt" /dev/full --to bin
[ -c /dev/full ] && ok "/dev/full is still a character device" || bad "/dev/full" "was replaced: $(ls -l /dev/full)"
# A tiny tmpfs (needs root and mount; skipped otherwise): an older model fills most of it, the
# new one does not fit. The older model must survive byte for byte, with no temporary file left.
D=$T/tiny
mkdir "$D"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256k tmpfs "$D" 2> /dev/null; then
    awk 'BEGIN { for (i = 0; i < 3000; i++) printf "t%d%s", i % 600, (i % 10 == 9 ? "\n" : " ") }' > "$T/c600.txt"
    "$FIRTH" train --input "$T/c600.txt" --output "$D/model.txt" --min-count 1 --dim 16 --epochs 1 --quiet
    check "tmpfs full: train keeps the older model" "" "$D/model.txt" -- "$FIRTH" train --input "$T/c600.txt" --output "$D/model.txt" --min-count 1 --dim 64 --epochs 1 --quiet
    check "tmpfs full: convert keeps the older model" "" "$D/model.txt" -- "$FIRTH" convert "$D/model.txt" "$D/model.txt" --to text --limit 0
    cp "$D/model.txt" "$T/model.ref"
    check "tmpfs full: native model does not fit" "$D/model.firth" "" -- "$FIRTH" train --input "$T/c600.txt" --output "$D/model.firth" --min-count 1 --dim 64 --epochs 1 --quiet
    check "tmpfs full: projector TSV does not fit" "$D/proj" "" -- "$FIRTH" convert "$T/model.ref" "$D/proj" --to tsv
    umount "$D"
else
    echo "SKIP tiny tmpfs: needs root and mount"
fi

# --- truncated at every offset ------------------------------------------------------------------
# Every prefix of a small model, converted over an older file: a prefix that is not a whole model
# must fail cleanly and leave the older file alone. Prefixes that are complete models in their
# own right are expected to load: for word2vec binary the file without its final line end, for
# text the prefixes ending inside the last number ("0", "0.", "0.1", "0.12"), which are numbers.
truncations() { # file format-name complete-from (first offset that is a whole model)
    size=$(wc -c < "$1")
    off=0 n_ok=0 n_bad=0
    while [ "$off" -lt "$size" ]; do
        head -c "$off" "$1" > "$T/cut"
        cp "$OLD" "$T/cut_out.txt"
        if [ "$off" -ge "$3" ]; then
            if "$FIRTH" convert "$T/cut" "$T/cut_out.txt" --to text --quiet 2> "$T/stderr" \
                && [ ! -s "$T/stderr" ] && ! cmp -s "$OLD" "$T/cut_out.txt"; then
                n_ok=$((n_ok + 1))
            else
                bad "$2 cut at $off of $size" "a complete model did not convert: $(cat "$T/stderr")"
                n_bad=$((n_bad + 1))
            fi
        else
            before=$failed
            QUIET_OK=1 check "$2 cut at $off of $size" "" "$T/cut_out.txt" -- "$FIRTH" convert "$T/cut" "$T/cut_out.txt" --to text
            [ "$failed" -eq "$before" ] && n_ok=$((n_ok + 1)) || n_bad=$((n_bad + 1))
            continue_counted=1
        fi
        off=$((off + 1))
    done
    echo "     ($2: $size prefixes, $n_ok as expected, $n_bad not)"
}
truncations "$T/m.firth" "native model" 1000000000
truncations "$T/m.bin" "word2vec binary" $(($(wc -c < "$T/m.bin") - 1))
truncations "$T/m.txt" "word2vec text" $(($(wc -c < "$T/m.txt") - 5))

# --- train --resume: checkpoints that are damaged, cut short or not checkpoints -------------------
# a real checkpoint: 200 epochs of 18,000 words take long enough (about 2 s) for a SIGINT to land
# inside training, which then writes the checkpoint and exits 130
awk 'BEGIN { for (i = 0; i < 2000; i++) print "a b c d e a b a " (i % 2 ? "x" : "y") }' > "$T/k.txt"
for attempt in 1 2 3 4 5 6 7 8; do
    "$FIRTH" train --input "$T/k.txt" --output "$T/k.firth" --min-count 1 --dim 2 --epochs 200 \
        --sample 0 --checkpoint "$T/k.ckpt" --quiet 2> /dev/null &
    pid=$!
    sleep "0.$((attempt + 1))"
    kill -INT "$pid" 2> /dev/null
    wait "$pid"
    [ -s "$T/k.ckpt" ] && break
done
if [ -s "$T/k.ckpt" ]; then
    resume() { # name checkpoint-file [corpus]: train --resume must fail and write nothing
        check "train --resume: $1" "$T/r.firth" "" -- "$FIRTH" train --resume "$2" --input "${3:-$T/k.txt}" --output "$T/r.firth" --quiet
    }
    resume "a missing checkpoint" "$T/nope.ckpt"
    resume "an empty file" "$T/e_empty.txt"
    resume "binary garbage" "$T/random.bin"
    resume "a finished native model" "$T/m.firth"
    resume "a word2vec text model" "$T/m.txt"
    resume "a directory" "$T"
    cp "$T/k.ckpt" "$T/kd.ckpt"
    patch "$T/kd.ckpt" 120 '\377'
    resume "a damaged training state (checksum)" "$T/kd.ckpt"
    cp "$T/k.ckpt" "$T/kd.ckpt"
    size=$(wc -c < "$T/k.ckpt")
    patch "$T/kd.ckpt" $((size - 20)) '\377\377'
    resume "a damaged model part (checksum)" "$T/kd.ckpt"
    cp "$T/k.ckpt" "$T/kd.ckpt"
    patch "$T/kd.ckpt" 20 '\377\377\377\177'
    resume "epochs 2^31-1" "$T/kd.ckpt"
    cp "$T/k.ckpt" "$T/kd.ckpt"
    patch "$T/kd.ckpt" 8 '\002'
    resume "version 2" "$T/kd.ckpt"
    head -c $((size / 2)) "$T/k.ckpt" > "$T/kd.ckpt"
    resume "cut in half" "$T/kd.ckpt"
    cp "$T/k.ckpt" "$T/kd.ckpt"
    printf 'x' >> "$T/kd.ckpt"
    resume "a byte too many" "$T/kd.ckpt"
    resume "another corpus" "$T/k.ckpt" "$T/s.txt"
    check "train --resume: an option the checkpoint fixes (--dim)" "$T/r.firth" "" -- "$FIRTH" train --resume "$T/k.ckpt" --input "$T/k.txt" --output "$T/r.firth" --dim 5
    check "train --resume: failure keeps the older output" "" "$OLD" -- "$FIRTH" train --resume "$T/kd.ckpt" --input "$T/k.txt" --output "$OLD" --quiet
    [ -s "$T/k.ckpt" ] && ok "train --resume: the checkpoint survived every refusal" || bad "train --resume" "the checkpoint was removed"
else
    bad "train --resume fixture" "no checkpoint from an interrupted run"
fi

# --- charlm: texts, checkpoints, options --------------------------------------------------------
printf 'hello world, the cat sat on the mat.\n%.0s' 1 2 3 4 5 6 > "$T/lm.txt"
"$FIRTH" charlm train --input "$T/lm.txt" --output "$T/lm.clm" --layers 1 --hidden 2 --seq 4 --batch 2 --steps 2 --quiet
[ -s "$T/lm.clm" ] || bad "fixture lm.clm" "not created"
lm() { # name, then the arguments of firth charlm train (output $T/c.clm must not appear)
    name=$1; shift
    check "charlm train: $name" "$T/c.clm" "" -- "$FIRTH" charlm train --output "$T/c.clm" --quiet "$@"
}
lm "empty text" --input "$T/e_empty.txt"
lm "text shorter than batch x (seq + 1)" --input "$T/lm.txt" --seq 100 --batch 32
lm "missing text" --input "$T/nope.txt"
lm "a directory as text" --input "$T"
lm "--seq 0" --input "$T/lm.txt" --seq 0
lm "--hidden 100000" --input "$T/lm.txt" --hidden 100000
lm "--lr nan" --input "$T/lm.txt" --lr nan
lm "--val-frac 0.9" --input "$T/lm.txt" --val-frac 0.9
lm "--steps and --epochs" --input "$T/lm.txt" --steps 3 --epochs 1
lm "model larger than physical memory" --input "$T/lm.txt" --layers 64 --hidden 16384 --seq 1 --batch 1
lm "validation split of 1 character" --input "$T/lm.txt" --val-frac 0.004 --seq 4 --batch 2
lm "resume a missing checkpoint" --input "$T/lm.txt" --resume "$T/nope.clm"
lm "resume a word2vec checkpoint" --input "$T/lm.txt" --resume "$T/k.ckpt"
lm "resume binary garbage" --input "$T/lm.txt" --resume "$T/random.bin"
cp "$T/lm.clm" "$T/lmd.clm"
patch "$T/lmd.clm" 300 '\177'
lm "resume a damaged checkpoint (checksum)" --input "$T/lm.txt" --resume "$T/lmd.clm"
head -c 1000 "$T/lm.clm" > "$T/lmt.clm"
lm "resume a truncated checkpoint" --input "$T/lm.txt" --resume "$T/lmt.clm"
lm "resume on another text" --input "$T/s.txt" --resume "$T/lm.clm"
lm "resume with another --hidden" --input "$T/lm.txt" --resume "$T/lm.clm" --hidden 3
check "charlm train: failure keeps the older checkpoint" "" "$OLD" -- "$FIRTH" charlm train --input "$T/e_empty.txt" --output "$OLD" --quiet
check "charlm train: --output /dev/full" "" "" -- "$FIRTH" charlm train --input "$T/lm.txt" --output /dev/full --layers 1 --hidden 2 --seq 4 --batch 2 --steps 1 --quiet
check "charlm sample: a missing checkpoint" "" "" -- "$FIRTH" charlm sample "$T/nope.clm"
check "charlm sample: an empty file" "" "" -- "$FIRTH" charlm sample "$T/e_empty.txt"
check "charlm sample: binary garbage" "" "" -- "$FIRTH" charlm sample "$T/random.bin"
check "charlm sample: a word model" "" "" -- "$FIRTH" charlm sample "$T/m.firth"
check "charlm sample: a damaged checkpoint" "" "" -- "$FIRTH" charlm sample "$T/lmd.clm"
check "charlm sample: a prime with characters outside the vocabulary" "" "" -- "$FIRTH" charlm sample "$T/lm.clm" --prime 'xyz'
check "charlm sample: a prime of invalid UTF-8" "" "" -- "$FIRTH" charlm sample "$T/lm.clm" --prime "$(printf '\377')"
check "charlm sample: --top-p 0" "" "" -- "$FIRTH" charlm sample "$T/lm.clm" --top-p 0
check "charlm sample: --temperature -1" "" "" -- "$FIRTH" charlm sample "$T/lm.clm" --temperature -1
check "charlm eval: a text outside the vocabulary" "" "" -- "$FIRTH" charlm eval "$T/lm.clm" --input "$T/s.txt"
check "charlm eval: a one-character text" "" "" -- sh -c "printf h > '$T/h.txt' && exec '$FIRTH' charlm eval '$T/lm.clm' --input '$T/h.txt'"
check "charlm eval: a truncated checkpoint" "" "" -- "$FIRTH" charlm eval "$T/lmt.clm" --input "$T/lm.txt"
check "charlm: unknown subcommand" "" "" -- "$FIRTH" charlm fit

# --- wordlm and complete ------------------------------------------------------------------------
awk 'BEGIN { for (i = 0; i < 30; i++) print "the cat sat on the mat . a dog ran home !" }' > "$T/w.txt"
"$FIRTH" train --input "$T/w.txt" --output "$T/wv.txt" --min-count 1 --dim 3 --epochs 1 --quiet
"$FIRTH" wordlm train --vectors "$T/wv.txt" --input "$T/w.txt" --output "$T/w.wlm" --context 2 --epochs 1 --quiet
[ -s "$T/w.wlm" ] || bad "fixture w.wlm" "not created"
wl() { # name, then arguments of firth wordlm train (output $T/c.wlm must not appear)
    name=$1; shift
    check "wordlm train: $name" "$T/c.wlm" "" -- "$FIRTH" wordlm train --output "$T/c.wlm" --quiet "$@"
}
wl "missing vectors" --vectors "$T/nope.txt" --input "$T/w.txt"
wl "vectors of binary garbage" --vectors "$T/random.bin" --input "$T/w.txt"
wl "a character model as vectors" --vectors "$T/lm.clm" --input "$T/w.txt"
wl "empty text" --vectors "$T/wv.txt" --input "$T/e_empty.txt"
printf ' \n\t \r\n\n' > "$T/blank.txt"
wl "text of white space only" --vectors "$T/wv.txt" --input "$T/blank.txt"
wl "invalid UTF-8 text" --vectors "$T/wv.txt" --input "$T/c_invalid.txt"
wl "--context 0" --vectors "$T/wv.txt" --input "$T/w.txt" --context 0
wl "--context 257" --vectors "$T/wv.txt" --input "$T/w.txt" --context 257
wl "--negative with the hinge loss" --vectors "$T/wv.txt" --input "$T/w.txt" --negative 5
wl "--lr 0" --vectors "$T/wv.txt" --input "$T/w.txt" --lr 0
wl "--lr 100 with embedding training diverges" --vectors "$T/wv.txt" --input "$T/w.txt" --lr 100 --train-embeddings --emb-lr 100 --epochs 20
# the last update overflowing the weights unseen wrote a model its own loader refused (fixed)
wl "weights overflow in the last update" --vectors "$T/wv.txt" --input "$T/w.txt" --lr 100 --loss log --train-embeddings --emb-lr 100 --alpha 0 --epochs 20
printf '3 2\nthe 1e30 1e30\ncat -1e30 1e30\nsat 1e30 -1e30\n' > "$T/wbig.txt"
wl "vectors of 1e30 diverge" --vectors "$T/wbig.txt" --input "$T/w.txt" --epochs 2
check "wordlm train: --output /dev/full" "" "" -- "$FIRTH" wordlm train --vectors "$T/wv.txt" --input "$T/w.txt" --output /dev/full --quiet
cp "$T/w.wlm" "$T/wu.wlm"
check "wordlm update: invalid UTF-8 keeps the model" "" "$T/wu.wlm" -- "$FIRTH" wordlm update "$T/wu.wlm" --input "$T/c_invalid.txt" --quiet
check "wordlm update: an empty text keeps the model" "" "$T/wu.wlm" -- "$FIRTH" wordlm update "$T/wu.wlm" --input "$T/e_empty.txt" --quiet
check "wordlm update: a missing model" "$T/nope.wlm" "" -- "$FIRTH" wordlm update "$T/nope.wlm" --input "$T/w.txt" --quiet
check "wordlm update: a word2vec model" "" "$T/m.firth" -- "$FIRTH" wordlm update "$T/m.firth" --input "$T/w.txt" --quiet
head -c 300 "$T/w.wlm" > "$T/wt.wlm"
check "wordlm update: a truncated model" "" "$T/wt.wlm" -- "$FIRTH" wordlm update "$T/wt.wlm" --input "$T/w.txt" --quiet
cp "$T/w.wlm" "$T/wn.wlm"
size=$(wc -c < "$T/w.wlm")
patch "$T/wn.wlm" $((size - 4)) '\000\000\300\177'
check "wordlm update: a NaN weight" "" "$T/wn.wlm" -- "$FIRTH" wordlm update "$T/wn.wlm" --input "$T/w.txt" --quiet
cp "$T/w.wlm" "$T/wv.wlm"
patch "$T/wv.wlm" 48 '\377\377\377\377\377\377\377\377'
check "wordlm eval: vocabulary 2^64-1" "" "" -- "$FIRTH" wordlm eval "$T/wv.wlm" --input "$T/w.txt"
check "wordlm eval: binary garbage" "" "" -- "$FIRTH" wordlm eval "$T/random.bin" --input "$T/w.txt"
check "wordlm eval: an empty text" "" "" -- "$FIRTH" wordlm eval "$T/w.wlm" --input "$T/e_empty.txt"
check "wordlm eval: invalid UTF-8 text" "" "" -- "$FIRTH" wordlm eval "$T/w.wlm" --input "$T/c_invalid.txt"
check "wordlm: unknown subcommand" "" "" -- "$FIRTH" wordlm fit
check "complete: a missing model" "" "" -- "$FIRTH" complete "$T/nope.wlm" "the cat"
check "complete: a word2vec model" "" "" -- "$FIRTH" complete "$T/m.firth" "the cat"
check "complete: a character model" "" "" -- "$FIRTH" complete "$T/lm.clm" "the cat"
check "complete: a truncated model" "" "" -- "$FIRTH" complete "$T/wt.wlm" "the cat"
check "complete: a seed of invalid UTF-8" "" "" -- "$FIRTH" complete "$T/w.wlm" "$(printf 'the \377')"
check "complete: --length 0" "" "" -- "$FIRTH" complete "$T/w.wlm" "the cat" --length 0
check "complete: --top-p 0" "" "" -- "$FIRTH" complete "$T/w.wlm" "the cat" --top-p 0
check "complete: --temperature -1" "" "" -- "$FIRTH" complete "$T/w.wlm" "the cat" --temperature -1
check "complete: no seed" "" "" -- "$FIRTH" complete "$T/w.wlm"

# --- project ------------------------------------------------------------------------------------
H=$T/p.html
check "project: a missing model" "$H" "" -- "$FIRTH" project "$T/nope.txt" --html "$H"
check "project: binary garbage" "$H" "" -- "$FIRTH" project "$T/random.bin" --html "$H"
check "project: a character model" "$H" "" -- "$FIRTH" project "$T/lm.clm" --html "$H"
printf '1 2\nword 1 2\n' > "$T/one.txt"
check "project: one word" "$H" "" -- "$FIRTH" project "$T/one.txt" --html "$H"
check "project: a NaN vector" "$H" "" -- "$FIRTH" project "$T/vec_NaN value.txt" --html "$H"
check "project: --words 0" "$H" "" -- "$FIRTH" project "$T/m.txt" --html "$H" --words 0
check "project: --words 50001" "$H" "" -- "$FIRTH" project "$T/m.txt" --html "$H" --words 50001
check "project: -k 101" "$H" "" -- "$FIRTH" project "$T/m.txt" --html "$H" -k 101
check "project: --method tsne" "$H" "" -- "$FIRTH" project "$T/m.txt" --html "$H" --method tsne
check "project: no --html" "" "" -- "$FIRTH" project "$T/m.txt"
check "project: --html in a missing directory" "" "" -- "$FIRTH" project "$T/m.txt" --html "$T/no/dir/p.html"
check "project: --html /dev/full" "" "" -- "$FIRTH" project "$T/m.txt" --html /dev/full
check "project: failure keeps the older page" "" "$OLD" -- "$FIRTH" project "$T/random.bin" --html "$OLD"

# --- the newer formats cut short ---------------------------------------------------------------
# a tiny file of each kind (charlm checkpoint, word model, word2vec checkpoint), cut at every
# offset below 256 and every 7th above: every prefix must be refused by the command that reads
# it, with nothing written
cuts() { # file name command... (the command reads $T/cut, and must not create $T/cut_out)
    # the checks of `check`, with fewer processes per prefix (thousands of them): exit 1 or 2,
    # one line starting "firth: ", no sanitizer report, no output, no hang
    f=$1 cname=$2
    shift 2
    size=$(wc -c < "$f")
    off=0 n_ok=0 n_bad=0
    while [ "$off" -lt "$size" ]; do
        head -c "$off" "$f" > "$T/cut"
        timeout -k 5 "$BAD_TIMEOUT" "$@" > /dev/null 2> "$T/stderr" < /dev/null
        rc=$?
        l1= l2=
        { IFS= read -r l1; IFS= read -r l2; } < "$T/stderr"
        why=
        case $rc in 1 | 2) ;; *) why="exit $rc" ;; esac
        case $l1 in "firth: "*) ;; *) why="$why; first line: $l1" ;; esac
        [ -n "$l2" ] && why="$why; more than one line: $l2"
        [ -e "$T/cut_out" ] && why="$why; wrote an output" && rm -f "$T/cut_out"
        if [ -n "$why" ]; then
            n_bad=$((n_bad + 1))
            bad "$cname cut at $off of $size" "$why"
        else
            n_ok=$((n_ok + 1))
            passed=$((passed + 1))
        fi
        # every offset in the headers (and the first rows); further on, every 7th (all
        # residues mod 4 and 8 come round: floats and u64s cut at each of their bytes)
        off=$((off < 256 ? off + 1 : off + 7))
    done
    echo "     ($cname: $size bytes, $n_ok prefixes refused cleanly, $n_bad not)"
}
printf 'ab ba ab\n' > "$T/ab.txt"
"$FIRTH" charlm train --input "$T/ab.txt" --output "$T/ab.clm" --layers 1 --hidden 1 --seq 1 --batch 1 --steps 1 --val-frac 0 --quiet
cuts "$T/ab.clm" "charlm checkpoint" "$FIRTH" charlm train --resume "$T/cut" --input "$T/ab.txt" --output "$T/cut_out" --quiet
printf 'a b a b b a\n' > "$T/ab2.txt"
"$FIRTH" train --input "$T/ab2.txt" --output "$T/ab.vec" --min-count 1 --dim 1 --epochs 1 --quiet
"$FIRTH" wordlm train --vectors "$T/ab.vec" --input "$T/ab2.txt" --output "$T/ab.wlm" --context 1 --epochs 1 --quiet
cuts "$T/ab.wlm" "word model" "$FIRTH" wordlm update "$T/cut" --input "$T/ab2.txt" --output "$T/cut_out" --quiet
# the fuzz seed of a one-epoch, one-thread checkpoint (tests/fuzz/make_seeds.py), on this
# battery's corpus: every prefix fails to load, and the whole file names another corpus
cuts "$here/../fuzz/corpus/w2v_ckpt/sg_ns_e1_start_run" "word2vec checkpoint" "$FIRTH" train --resume "$T/cut" --input "$T/k.txt" --output "$T/cut_out" --quiet

# --- lines of 1 GiB -----------------------------------------------------------------------------
free_kib=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
if [ "${FIRTH_SKIP_HUGE:-0}" = 1 ]; then
    echo "SKIP 1 GiB lines: FIRTH_SKIP_HUGE=1"
elif [ "${free_kib:-0}" -lt 2097152 ]; then
    echo "SKIP 1 GiB lines: less than 2 GiB free in $T"
else
    gig() { head -c 1073741824 /dev/zero | tr '\0' "$1"; }
    { gig x; printf '\000\n'; } > "$T/huge"
    check "train: 1 GiB line ending in a NUL byte" "$O" "" -- "$FIRTH" train --input "$T/huge" --output "$O" --min-count 1 --quiet
    check "read-vocab: 1 GiB line" "$O" "" -- "$FIRTH" train --input "$T/s.txt" --output "$O" --read-vocab "$T/huge" --quiet
    { printf ': s\n'; gig x; printf '\n'; } > "$T/huge"
    check "eval-analogy: 1 GiB line" "" "" -- "$FIRTH" eval-analogy "$T/m.txt" "$T/huge"
    check "eval-similarity: 1 GiB line" "" "" -- "$FIRTH" eval-similarity "$T/m.txt" "$T/huge"
    { printf '1 2\na '; gig 0; printf '\n'; } > "$T/huge"
    check "neighbors: a row of 1 GiB" "" "" -- "$FIRTH" neighbors "$T/huge" a
    rm -f "$T/huge"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
