#!/usr/bin/python3
"""make_seeds.py - writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

    /usr/bin/python3 tests/fuzz/make_seeds.py build/firth

Small valid files and near-valid variants (truncated, wrong counts, odd spacing, invalid UTF-8).
The native models come from `firth train` on a tiny generated text (the firth binary is the only
argument). The committed corpus is this script's output; rerun it after a format change."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIRTH = sys.argv[1] if len(sys.argv) > 1 else "build/firth"


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def reset(target):
    shutil.rmtree(os.path.join(HERE, "corpus", target), ignore_errors=True)


# --- corpus: byte 0 options, byte 1 cut, then the text -------------------------------------
reset("corpus")
put("corpus", "plain", b"\x00\x80the quick brown fox\njumps over the lazy dog\n")
put("corpus", "unicode_lower_strip", b"\x03\x35Caf\xc3\xa9, na\xc3\xafve R\xc3\xa9SUM\xc3\xa9!\n"
    b"\xce\x91\xce\x92\xce\x93 \xce\xb4\xe2\x80\xa8next\xc2\x85line\xe2\x80\xa9\xe3\x80\x80x\n")
put("corpus", "invalid_replace", b"\x04\x11abc\xff\xfe def\xc3\nend\xe2\x82")
put("corpus", "invalid_strict", b"\x00\x11abc\xff\xfe def\n")
put("corpus", "long_token", b"\x08\x99abcdefghijklmnop \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 q\n")
put("corpus", "two_files", b"\x20\x80one two\nthree four")
put("corpus", "nul", b"\x00\x10ab\x00cd\n")
put("corpus", "spaces", b"\x1b\xf1 \t\r\n\x0b\x0c a\r\nb\t\tc  \n\n\n")
put("corpus", "empty", b"\x00\x00")
put("corpus", "no_final_newline", b"\x18\x47w1 w2 w3 w1 w2 w1")

# --- vocab: "word count" lines -----------------------------------------------------------------
reset("vocab")
put("vocab", "valid", "</s> 3\nthe 10\nof 7\nand 7\ncaf\u00e9 2\n")
put("vocab", "tabs_crlf", "the\t5\r\nof\t3\r\n\r\n")
put("vocab", "max_count", "big 18446744073709551615\nsmall 1\n")
put("vocab", "overflow", "big 18446744073709551616\n")
put("vocab", "negative", "neg -1\n")
put("vocab", "duplicate", "the 5\nthe 7\n")
put("vocab", "three_fields", "the 5 6\n")
put("vocab", "invalid_utf8", b"caf\xe9 5\n")
put("vocab", "zeros", "a 0\nb 0\n")
put("vocab", "long_line", "w" * 5000 + " 1\n")

# --- word2vec text / .vec ----------------------------------------------------------------------
reset("w2v_text")
put("w2v_text", "valid", "4 3\n</s> 0.1 0.2 0.3\nman 1 0 0\nwoman 1 1 0\nking -0.5 2e-3 1.5E+1\n")
put("w2v_text", "fasttext_vec", "3 2 \nthe 0.1 -0.2 \nof 0.3 0.4 \n, 0.5 0.6 \n")
put("w2v_text", "crlf", "2 2\r\na 1 2\r\nb 3 4\r\n")
put("w2v_text", "limit2", "3 1\na 1\nb 2\nc 3\n# 2")
put("w2v_text", "too_few_rows", "5 2\na 1 2\nb 3 4\n")
put("w2v_text", "too_few_values", "2 3\na 1 2\nb 3 4 5\n")
put("w2v_text", "too_many_values", "2 1\na 1 2\nb 3\n")
put("w2v_text", "nan", "2 2\na nan 1\nb 1 inf\n")
put("w2v_text", "overflow_float", "1 1\na 1e39\n")
put("w2v_text", "huge_header", "18446744073709551615 100000\na 1\n")
put("w2v_text", "dim_zero", "1 0\na\n")
put("w2v_text", "unicode_words", "2 2\n\u00e9t\u00e9 1 2\n\u6f22\u5b57 3 4\n")
put("w2v_text", "duplicate_word", "3 1\na 1\na 2\nb 3\n")
put("w2v_text", "short_row_then_word", "2 1\na 0\nb 1\n")

# --- word2vec binary: byte 0 = V-1, byte 1 = dim-1, then the rows -------------------------------
reset("w2v_bin")


def bin_rows(rows):
    return b"".join(w.encode() + b" " + struct.pack("<%df" % len(v), *v) + b"\n" for w, v in rows)


rows = [("</s>", [0.1, 0.2, 0.3]), ("man", [1, 0, 0]), ("woman", [1, 1, 0]), ("king", [0, 0, 2])]
put("w2v_bin", "valid", bytes([3, 2]) + bin_rows(rows))
put("w2v_bin", "limit1", bytes([0x80 | 3, 2]) + bin_rows(rows))
put("w2v_bin", "no_newlines", bytes([1, 1]) + b"a " + struct.pack("<2f", 1, 2) + b"b " +
    struct.pack("<2f", 3, 4))
put("w2v_bin", "truncated", bytes([3, 2]) + bin_rows(rows)[:-7])
put("w2v_bin", "nan", bytes([0, 1]) + b"a " + struct.pack("<2f", float("nan"), 1) + b"\n")
put("w2v_bin", "inf", bytes([0, 0]) + b"a " + struct.pack("<f", float("inf")) + b"\n")
put("w2v_bin", "zero_row", bytes([1, 3]) + bin_rows([("z", [0, 0, 0, 0]), ("y", [1, 2, 3, 4])]))
put("w2v_bin", "dim16", bytes([0, 15]) + bin_rows([("w", [i / 7 for i in range(16)])]))

# --- native models -----------------------------------------------------------------------------
reset("model")
tmp = tempfile.mkdtemp()
try:
    text = os.path.join(tmp, "t.txt")
    with open(text, "w") as f:
        for i in range(60):
            f.write("a b c d e a b a %s\n" % ("x" if i % 2 else "y"))
    for name, args in [("sg_ns", ["--dim", "3"]), ("cbow_hs", ["--arch", "cbow", "--loss", "hs", "--dim", "2"]),
                       ("sg_softmax_seed2", ["--loss", "softmax", "--dim", "2", "--seed", "2"])]:
        out = os.path.join(tmp, name + ".firth")
        subprocess.run([FIRTH, "train", "--input", text, "--output", out, "--min-count", "1", "--epochs", "1",
                        "--quiet"] + args, check=True)
        data = open(out, "rb").read()
        put("model", name, data)
    data = open(os.path.join(tmp, "sg_ns.firth"), "rb").read()
    put("model", "truncated", data[:len(data) - 5])
    put("model", "header_only", data[:112])
    bad = bytearray(data)
    bad[112 + 2] ^= 0xFF  # a word byte: checksum and UTF-8
    put("model", "bad_word", bytes(bad))
    bad = bytearray(data)
    struct.pack_into("<Q", bad, 72, 2**62)  # V
    put("model", "huge_vocab", bytes(bad))
    bad = bytearray(data)
    struct.pack_into("<I", bad, 24, 0xFFFFFFFF)  # dim
    put("model", "huge_dim", bytes(bad))
finally:
    shutil.rmtree(tmp)

# --- analogy questions: the last byte also picks the parameters --------------------------------
reset("eval_analogy")
q = ": family\nman woman king queen\nMAN WOMAN KING QUEEN\nman woman king\n: gram\nqueen king woman man\n"
put("eval_analogy", "valid", q)
put("eval_analogy", "valid_mul_case", q + "\x03")
put("eval_analogy", "restrict3", q + "\x04")
put("eval_analogy", "unicode_upper", ": u\nstra\u00dfe STRASSE \ufb01sh FISH\n\u0130stanbul x man woman\n")
put("eval_analogy", "no_section", "man woman king queen\n")
put("eval_analogy", "only_sections", ": a\n: b\n:c\n")
put("eval_analogy", "crlf_blank", ": s\r\n\r\nman woman king queen\r\n\u3000\n")
put("eval_analogy", "oov", ": s\nfoo bar baz qux\n")

# --- word pairs --------------------------------------------------------------------------------
reset("eval_pairs")
put("eval_pairs", "valid_tabs", "# comment\nman\twoman\t1\nking\tqueen\t3\nman\tapple\t2\nwoman queen 4\n")
put("eval_pairs", "python_floats", "man woman 1_0\nking queen  +.5e1 \nman apple inf\nQueen queen nan\n"
    "x man \u00a01.5\u2003\n")
put("eval_pairs", "cr_only", "man woman 1\rking queen 2\rman apple 3\r")
put("eval_pairs", "ties", "man woman 1\nking queen 1\nman apple 1\n")
put("eval_pairs", "malformed", "man\twoman\nman\twoman\t1\t2\nman woman x\n")
put("eval_pairs", "oov", "foo bar 1\n")
put("eval_pairs", "case_restrict", "MAN WOMAN 1\nKING QUEEN 2\nstra\u00dfe STRASSE 3\n\x05")

# --- the CLI option parser: arguments separated by NUL -----------------------------------------
reset("cli")
put("cli", "all_kinds", b"--flag\0--int\0005\0pos\0--u64=7\0--double\0-0.5\0--str\0s\0--list\0a\0--list=b\0--choice\0hs")
put("cli", "double_dash", b"--\0--flag\0-\0-3")
put("cli", "errors", b"--int\0abc")
put("cli", "missing_value", b"--str")
put("cli", "flag_value", b"--flag=1")
put("cli", "help", b"pos\0--help")
put("cli", "empty_choice", b"--choice=")
put("cli", "big_double", b"--double=1e299")
put("cli", "short_k", b"-k\x001000000\0-k=0")
print("seed corpus written to", os.path.join(HERE, "corpus"))
