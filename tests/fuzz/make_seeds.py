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

# --- word2vec checkpoints: made on the corpus that fuzz_w2v_ckpt.c generates --------------------
def corpus_text():
    """fuzz_w2v_ckpt.c's fz_corpus_text(): 60 lines of 9 of 16 words."""
    words = ["the", "cat", "dog", "sat", "on", "mat", "a", "big", "red", "ran", "fast", "home",
             "\u00e9t\u00e9", "na\u00efve", "x", "y"]
    return "".join(" ".join(words[(i * i + 3 * j + i * j) % 16] for j in range(9)) + "\n"
                   for i in range(60)).encode()


def fnv1a(b):
    h = 0xCBF29CE484222325
    for c in b:
        h = ((h ^ c) * 0x100000001B3) % 2**64
    return h


def parse_ckpt(b):
    """The training state of a FIRTHCKP file (docs/formats.md) as a dict, and the model bytes."""
    threads, epochs = struct.unpack_from("<II", b, 16)
    s = {"head": bytearray(b[:112]), "threads": threads, "epochs": epochs}
    off = 112
    s["epoch_loss"] = list(struct.unpack_from("<%dd" % epochs, b, off))
    off += 8 * epochs
    s["w"] = []
    for _ in range(threads):
        w = {}
        (w["begin"], w["end"], w["offset"], w["rng"], w["unsynced"], w["run_examples"], w["run_loss"],
         w["alpha"], w["epoch"], w["epochs_done"]) = struct.unpack_from("<6Qdfii", b, off)
        off += 68
        w["loss"] = list(struct.unpack_from("<%dd" % epochs, b, off))
        w["examples"] = list(struct.unpack_from("<%dQ" % epochs, b, off + 8 * epochs))
        w["finished_at"] = list(struct.unpack_from("<%dd" % epochs, b, off + 16 * epochs))
        off += 24 * epochs
        s["w"].append(w)
    assert struct.unpack_from("<Q", b, off)[0] == fnv1a(b[:off]), "checksum"
    return s, bytearray(b[off + 8:])


def write_ckpt(s, model, flags=0):
    E = s["epochs"]
    head = bytearray(s["head"])
    struct.pack_into("<II", head, 16, s["threads"], E)
    struct.pack_into("<I", head, 52, flags)
    out = bytearray(head)
    out += struct.pack("<%dd" % E, *s["epoch_loss"][:E])
    for w in s["w"]:
        out += struct.pack("<6Qdfii", w["begin"], w["end"], w["offset"], w["rng"], w["unsynced"],
                           w["run_examples"], w["run_loss"], w["alpha"], w["epoch"], w["epochs_done"])
        out += struct.pack("<%dd" % E, *w["loss"][:E])
        out += struct.pack("<%dQ" % E, *w["examples"][:E])
        out += struct.pack("<%dd" % E, *w["finished_at"][:E])
    out += struct.pack("<Q", fnv1a(out))
    model = bytearray(model)
    struct.pack_into("<I", model, 36, E)  # the native model's epochs (the header is not summed)
    return bytes(out + model)


def with_epochs(s, E, where):
    """The state s rewritten for a run of E epochs: every worker at the start of an epoch
    ("start"), at the first line start past the middle of its range in epoch 1 ("mid"), or
    finished ("done")."""
    s = {k: (list(v) if isinstance(v, list) else v) for k, v in s.items()}
    per_epoch = struct.unpack_from("<Q", s["head"], 104)[0] // s["epochs"]
    text = corpus_text()
    s["w"] = [dict(w) for w in s["w"]]
    s["epochs"] = E
    e = {"start": 0, "mid": min(1, E - 1), "done": E}[where]
    for w in s["w"]:
        w["epoch"] = w["epochs_done"] = e
        mid = text.find(b"\n", (w["begin"] + w["end"]) // 2) + 1
        w["offset"] = {"start": w["begin"], "mid": mid if 0 < mid < w["end"] else w["begin"],
                       "done": w["end"]}[where]
        w["unsynced"] = w["run_examples"] = 0
        w["run_loss"] = 0.0
        w["loss"] = (w["loss"] + [0.0] * E)[:E]
        w["examples"] = (w["examples"] + [0] * E)[:E]
        w["finished_at"] = (w["finished_at"] + [0.0] * E)[:E]
    s["epoch_loss"] = (s["epoch_loss"] + [0.0] * E)[:E]
    head = bytearray(s["head"])
    struct.pack_into("<I", head, 24, e)  # epochs reported
    struct.pack_into("<QQ", head, 96, per_epoch * e + per_epoch // 2 * (where == "mid"),
                     per_epoch * E)  # words done, total
    s["head"] = head
    return s


reset("w2v_ckpt")
tmp = tempfile.mkdtemp()
try:
    text = os.path.join(tmp, "t.txt")
    with open(text, "wb") as f:
        f.write(corpus_text())
    states = {}
    for name, args in [("sg_ns", ["--dim", "4"]),
                       ("cbow_hs_2threads", ["--arch", "cbow", "--loss", "hs", "--dim", "3", "--threads", "2"]),
                       ("softmax_lower_strip", ["--loss", "softmax", "--dim", "2", "--lowercase", "--strip-punct",
                                                "--invalid-utf8", "replace", "--max-token", "6", "--batch", "off"])]:
        ck = os.path.join(tmp, name + ".ckpt")
        # a checkpoint at every poll of the trainer, and a final save that fails (/dev/full), so
        # that the last checkpoint is not removed: deterministic, unlike a well-timed SIGINT
        r = subprocess.run([FIRTH, "train", "--input", text, "--output", "/dev/full", "--min-count", "1",
                            "--epochs", "300", "--sample", "0", "--checkpoint", ck, "--checkpoint-every", "1e-6",
                            "--quiet"] + args, stderr=subprocess.DEVNULL)
        if r.returncode != 1 or not os.path.exists(ck):
            sys.exit("no checkpoint from the run of %s (exit %d)" % (name, r.returncode))
        data = open(ck, "rb").read()
        states[name] = parse_ckpt(data)
        s, model = states[name]
        put("w2v_ckpt", name + "_e300_written", data)
        put("w2v_ckpt", name + "_e300_mid", write_ckpt(with_epochs(s, 300, "mid"), model, 0))
    # the same states as runs of a few epochs, which the target can finish (flag bit 3)
    for name, (s, model) in states.items():
        put("w2v_ckpt", name + "_e3_mid_run", write_ckpt(with_epochs(s, 3, "mid"), model, 8))
        put("w2v_ckpt", name + "_e1_start_run", write_ckpt(with_epochs(s, 1, "start"), model, 8))
        put("w2v_ckpt", name + "_e2_done", write_ckpt(with_epochs(s, 2, "done"), model, 8))
        put("w2v_ckpt", name + "_e2_mid_cancel", write_ckpt(with_epochs(s, 2, "mid"), model, 0))
    s, model = states["sg_ns"]
    small = write_ckpt(with_epochs(s, 2, "mid"), model, 8)
    put("w2v_ckpt", "truncated_state", small[:200])
    put("w2v_ckpt", "truncated_model", small[:len(small) - 9])
    w = with_epochs(s, 2, "mid")
    struct.pack_into("<Q", w["head"], 88, 12345)  # another corpus's fingerprint, kept (flag bit 0)
    put("w2v_ckpt", "other_corpus", write_ckpt(w, model, 1 | 8))
    bad = bytearray(write_ckpt(with_epochs(s, 2, "mid"), model, 2 | 8))
    bad[120] ^= 1  # an epoch loss byte, checksum not fixed
    put("w2v_ckpt", "state_checksum", bytes(bad))
    put("w2v_ckpt", "finished_model", bytes(model))
    w = with_epochs(s, 2, "mid")
    w["w"][0]["offset"] = w["w"][0]["end"] + 1
    put("w2v_ckpt", "offset_past_end", write_ckpt(w, model, 8))
finally:
    shutil.rmtree(tmp)

def native_sum(h, block):
    """The multiply-xor checksum of native models and charlm checkpoints over one block."""
    n8 = len(block) // 8 * 8
    for i in range(0, n8, 8):
        h = ((h ^ int.from_bytes(block[i:i + 8], "little")) * 0x100000001B3) % 2**64
        h ^= h >> 29
    for c in block[n8:]:
        h = ((h ^ c) * 0x100000001B3) % 2**64
    return h


# --- character-model checkpoints (firth charlm train) ------------------------------------------
CLM_HEADER = 224  # version 6; version 5's has no epoch_shift (152..160), version 4's no
                  # input_dropout either (144..152), version 3's no weight_decay,
                  # dropout_locked either (128..144), version 2's no wdrop, ema either
                  # (112..128), version 1's no lr_decay, lr_decay_after (96..112)

def charlm_old(data, version):
    """A version 6 checkpoint without a weight average, weight decay, locked or input dropout
    or the epoch shift rewritten as version 1, 2, 3, 4 or 5 (which loaders still read)."""
    V = struct.unpack_from("<I", data, 16)[0]
    n = struct.unpack_from("<Q", data, CLM_HEADER - 8)[0]
    head = bytearray(data[:{1: 96, 2: 112, 3: 128, 4: 144, 5: 152}[version]] + data[160:CLM_HEADER])
    struct.pack_into("<I", head, 8, version)
    body = data[CLM_HEADER:len(data) - 8]
    sizes = [4 * V, 4 * n, 4 * n, 4 * n, len(body) - 4 * V - 12 * n]
    h, pos = native_sum(0xCBF29CE484222325, bytes(head)), 0
    for size in sizes:
        h = native_sum(h, body[pos:pos + size])
        pos += size
    return bytes(head) + body + struct.pack("<Q", h)

reset("charlm")
tmp = tempfile.mkdtemp()
try:
    text = os.path.join(tmp, "c.txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write("hello world, the cat sat on the mat.\n" * 12 + "caf\u00e9 \u6f22\u5b57 \U0001f600\n" * 3)
    for name, args in [("one_layer", ["--layers", "1", "--hidden", "4", "--seq", "4", "--batch", "2"]),
                       ("two_layers_embed", ["--layers", "2", "--hidden", "3", "--embed", "2", "--seq", "3",
                                             "--batch", "3", "--dropout", "0.2"]),
                       ("no_validation", ["--layers", "1", "--hidden", "2", "--seq", "5", "--batch", "1",
                                          "--val-frac", "0"]),
                       ("seed2_checksum_kept", ["--layers", "1", "--hidden", "2", "--seq", "2", "--batch", "2",
                                                "--seed", "2"]),
                       ("wdrop_ema", ["--layers", "2", "--hidden", "3", "--seq", "3", "--batch", "2",
                                      "--wdrop", "0.3", "--ema", "0.9"]),
                       ("weight_decay", ["--layers", "1", "--hidden", "3", "--seq", "3", "--batch", "2",
                                         "--weight-decay", "0.5", "--dropout", "0.3",
                                         "--dropout-locked", "1"]),
                       ("input_dropout", ["--layers", "1", "--hidden", "3", "--embed", "2", "--seq", "3",
                                          "--batch", "2", "--input-dropout", "0.2"]),
                       ("epoch_shift", ["--layers", "1", "--hidden", "3", "--seq", "4", "--batch", "2",
                                        "--epoch-shift", "1"])]:
        out = os.path.join(tmp, name + ".clm")
        subprocess.run([FIRTH, "charlm", "train", "--input", text, "--output", out, "--steps", "3",
                        "--eval-every", "2", "--quiet"] + args, check=True)
        put("charlm", name, open(out, "rb").read())
    data = open(os.path.join(tmp, "one_layer.clm"), "rb").read()
    put("charlm", "truncated", data[:len(data) - 5])
    put("charlm", "header_only", data[:CLM_HEADER])
    put("charlm", "version1", charlm_old(data, 1))
    put("charlm", "version2", charlm_old(data, 2))
    put("charlm", "version3", charlm_old(data, 3))
    put("charlm", "version4", charlm_old(data, 4))
    put("charlm", "version5", charlm_old(data, 5))
    bad = bytearray(data)
    struct.pack_into("<I", bad, 32, 100000)  # seq (the file's length does not depend on it)
    put("charlm", "huge_seq", bytes(bad))
    # 9 KB naming 10^8 characters per step (seq 100000 x batch 1000, hidden 1, one character):
    # loading and sampling must cost memory in proportion to the file, not to seq x batch
    n, B = 80, 1000
    head = (b"FIRTHCLM" + struct.pack("<8I", 1, 0x01020304, 1, 1, 1, 0, 100000, B) +
            struct.pack("<7d", 2e-3, 0.9, 0.999, 1e-8, 0, 5, 0.05) + struct.pack("<8Q", 1, 5, 0, 0, 1, 100, 1, n))
    blocks = [head, struct.pack("<I", ord("a")), bytes(4 * n), bytes(4 * n), bytes(4 * n), bytes(8 * B)]
    h = 0xCBF29CE484222325
    for blk in blocks:
        h = native_sum(h, blk)
    put("charlm", "seq_batch_1e8_in_9k", b"".join(blocks) + struct.pack("<Q", h))
    bad = bytearray(data)
    struct.pack_into("<f", bad, CLM_HEADER + 4 * struct.unpack_from("<I", data, 16)[0], float("nan"))
    put("charlm", "nan_weight", bytes(bad))
    bad = bytearray(data)
    struct.pack_into("<Q", bad, CLM_HEADER - 40, 2**63)  # chunk (the u64 block: seed, step, epoch, chunk, ...)
    put("charlm", "chunk_far", bytes(bad))
    bad = bytearray(data)
    struct.pack_into("<II", bad, CLM_HEADER, 0x62, 0x61)  # vocabulary out of order
    put("charlm", "vocab_unsorted", bytes(bad))
finally:
    shutil.rmtree(tmp)

# --- word models (firth wordlm train) -----------------------------------------------------------
reset("wordlm")
tmp = tempfile.mkdtemp()
try:
    text = os.path.join(tmp, "w.txt")
    with open(text, "w", encoding="utf-8") as f:
        for i in range(40):
            f.write("the cat sat on the mat . a dog ran %s home !\n" % ("fast" if i % 3 else "caf\u00e9"))
    vec = os.path.join(tmp, "v.txt")
    subprocess.run([FIRTH, "train", "--input", text, "--output", vec, "--min-count", "1", "--dim", "3",
                    "--epochs", "1", "--quiet"], check=True)
    for name, args in [("hinge", ["--context", "2"]),
                       ("log_full", ["--context", "3", "--loss", "log"]),
                       ("log_sampled_emb", ["--context", "1", "--loss", "log", "--negative", "3",
                                            "--train-embeddings"]),
                       ("lower_strip_maxvocab", ["--context", "2", "--lowercase", "--strip-punct",
                                                 "--max-vocab", "5"])]:
        out = os.path.join(tmp, name + ".wlm")
        subprocess.run([FIRTH, "wordlm", "train", "--vectors", vec, "--input", text, "--output", out,
                        "--epochs", "1", "--quiet"] + args, check=True)
        put("wordlm", name, open(out, "rb").read())
    data = open(os.path.join(tmp, "hinge.wlm"), "rb").read()
    put("wordlm", "truncated", data[:len(data) - 3])
    put("wordlm", "header_only", data[:128])
    bad = bytearray(data)
    struct.pack_into("<Q", bad, 48, 2**40)  # V
    put("wordlm", "huge_vocab", bytes(bad))
    bad = bytearray(data)
    bad[len(bad) - 1] = 0x7F; bad[len(bad) - 2] = 0xC0  # the last bias: NaN
    put("wordlm", "nan_bias", bytes(bad))
    bad = bytearray(data)
    bad[128:133] = b"<unk\x01"  # the first word is not <unk>
    put("wordlm", "first_word", bytes(bad))
finally:
    shutil.rmtree(tmp)

# --- firth project: a vector file, its last byte picks k and the number of words --------------
reset("project")
put("project", "plain", "4 3\n</s> 0.1 0.2 0.3\nman 1 0 0\nwoman 1 1 0\nking -0.5 2e-3 1.5E+1\n\x21")
put("project", "hostile_words", b"6 2\n</script> 1 0\n<!--x 0 1\n\xe2\x80\xa8ls 1 1\n\"q\\\\ 2 1\n"
    b"a&amp;\x01\x7f 1 2\n\xff\xfe\xc3 -1 1\n\x05")
put("project", "title_tags", b"<title></title>\n3 2\na 1 0\nb 0 1\nc 1 1\n\x0b")
put("project", "equal_rows", "3 2\na 1 1\nb 1 1\nc 1 1\n\x00")
put("project", "huge_values", "3 2\na 3e38 -3e38\nb -3e38 3e38\nc 1e-38 3e38\n\x37")
put("project", "tiny_values", "3 2\na 1e-45 0\nb 0 1e-45\nc 1e-40 1e-40\n\x16")
put("project", "zero_rows", "3 3\na 0 0 0\nb 0 0 0\nc 1 0 0\n\x42")
put("project", "one_word", "1 2\na 1 2\n\x01")
# found by the target in its first minute: a U+2029 in the title, harmless in the page's text
# (the contract was too strict; kept as a seed)
put("project", "title_with_line_separator", b'4 3\n<\xf4x\t\xe2\x80\xa9\x00\x00ripT0\n"sim":1 0 0\nwoma, 1 1 0\n'
    b'king -0.5 2e-3 1.5E+1\n!3\nipt0\n"sim":1 0 0\nwoma, 1 1 0\nking -0.5 2e-3')
put("project", "eos_only", "2 2\n</s> 1 2\na 1 2\n\x01")
put("project", "binary", b"3 2\na " + struct.pack("<2f", 1, 2) + b"\nb " + struct.pack("<2f", 2, 1) +
    b"\nc " + struct.pack("<2f", -1, 3) + b"\n\x2c")
for name in ("sg_ns", "cbow_hs"):
    src = os.path.join(HERE, "corpus", "model", name)
    put("project", "native_" + name, open(src, "rb").read() + b"\x8f")

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
