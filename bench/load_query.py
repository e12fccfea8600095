#!/usr/bin/python3
"""load_query.py - helper for bench/load_query.sh (issue 3: load time and queries/s vs gensim).

Two sub-commands, both run with /usr/bin/python3 (Debian's python3-gensim lives only there):

  gen DIR [--words 1000000] [--small 100000] [--dim 300] [--seed 1] [--queries-big 100]
          [--queries-small 1000]
      Writes, with numpy (random normal float32, fixed seed, words w0..w{V-1}):
        DIR/vec-1000000x300.bin   word2vec binary: "V D\\n", then per word: word, ' ', D <f4, '\\n'
        DIR/vec-100000x300.bin    the same first 100000 words (same vectors) as its own file
        DIR/queries-1000000.txt   --queries-big random existing words, one a line
        DIR/queries-100000.txt    --queries-small random existing words of the small file

  gensim FILE QUERIES
      Times, in this one process: KeyedVectors.load_word2vec_format(FILE, binary=True), then
      kv.fill_norms() (gensim normalises lazily; reported apart), then one warm-up
      most_similar (reported apart), then most_similar(word, topn=10) for every line of QUERIES.
      Prints one JSON line: load_s, rss_load_mib (peak RSS after loading), norms_s, warmup_s,
      queries, query_s, qps, rss_mib (peak RSS at the end, i.e. vectors + norms).

  report RAW.tsv --md OUT.md [--dim 300] [--cpu S] [--nproc N] [--command S] [--firth PATH]
      Reads the raw measurements written by load_query.sh, takes medians over the repetitions,
      prints the table and writes it (with machine, date and command) as markdown to OUT.md.
"""
import json
import os
import resource
import sys
import time


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def write_w2v_bin(path, vecs_chunks, words_total, dim):
    """Writes word2vec binary; vecs_chunks yields (first_index, float32 array (n, dim))."""
    with open(path, "wb", buffering=16 << 20) as f:
        f.write(b"%d %d\n" % (words_total, dim))
        for first, chunk in vecs_chunks:
            parts = []
            for i in range(chunk.shape[0]):
                parts.append(b"w%d " % (first + i))
                parts.append(chunk[i].tobytes())
                parts.append(b"\n")
            f.write(b"".join(parts))


def cmd_gen(argv):
    import argparse
    import numpy as np

    ap = argparse.ArgumentParser(prog="load_query.py gen")
    ap.add_argument("dir")
    ap.add_argument("--words", type=int, default=1000000)
    ap.add_argument("--small", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries-big", type=int, default=100)
    ap.add_argument("--queries-small", type=int, default=1000)
    a = ap.parse_args(argv)
    assert 0 < a.small <= a.words

    chunk = 100000
    rng = np.random.default_rng(a.seed)
    big = os.path.join(a.dir, "vec-%dx%d.bin" % (a.words, a.dim))
    small = os.path.join(a.dir, "vec-%dx%d.bin" % (a.small, a.dim))
    t0 = time.perf_counter()

    def chunks():
        for first in range(0, a.words, chunk):
            n = min(chunk, a.words - first)
            yield first, rng.standard_normal((n, a.dim), dtype=np.float32).astype("<f4")

    # The small file holds exactly the first a.small rows of the big one: write the big file,
    # keeping the first rows in memory, then the small file from them.
    kept = []

    def chunks_keep():
        for first, c in chunks():
            if first < a.small:
                kept.append((first, c[: a.small - first]))
            yield first, c

    write_w2v_bin(big, chunks_keep(), a.words, a.dim)
    write_w2v_bin(small, iter(kept), a.small, a.dim)

    qrng = np.random.default_rng(a.seed + 1)
    for v, n in ((a.words, a.queries_big), (a.small, a.queries_small)):
        idx = qrng.integers(0, v, size=n)
        with open(os.path.join(a.dir, "queries-%d.txt" % v), "w") as f:
            f.write("".join("w%d\n" % i for i in idx))
    print("generated %s and %s in %.1f s" % (big, small, time.perf_counter() - t0),
          file=sys.stderr)


def cmd_gensim(argv):
    from gensim.models import KeyedVectors

    path, qpath = argv
    words = [l.strip() for l in open(qpath) if l.strip()]
    out = {"threads": os.environ.get("OPENBLAS_NUM_THREADS", "")}

    t = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(path, binary=True)
    out["load_s"] = time.perf_counter() - t
    out["rss_load_mib"] = peak_rss_mib()
    out["vocab"] = len(kv.index_to_key)

    t = time.perf_counter()
    kv.fill_norms()
    out["norms_s"] = time.perf_counter() - t

    t = time.perf_counter()
    kv.most_similar(words[0], topn=10)
    out["warmup_s"] = time.perf_counter() - t

    t = time.perf_counter()
    for w in words:
        kv.most_similar(w, topn=10)
    out["query_s"] = time.perf_counter() - t
    out["queries"] = len(words)
    out["qps"] = len(words) / out["query_s"]
    out["rss_mib"] = peak_rss_mib()
    print(json.dumps(out))


def cmd_report(argv):
    import argparse
    import datetime
    import platform
    import statistics

    ap = argparse.ArgumentParser(prog="load_query.py report")
    ap.add_argument("raw")
    ap.add_argument("--md", required=True)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--cpu", default=platform.processor())
    ap.add_argument("--nproc", default=str(os.cpu_count()))
    ap.add_argument("--command", default="bench/load_query.sh")
    ap.add_argument("--firth", default="build/firth")
    a = ap.parse_args(argv)
    med = statistics.median

    firth, gensim = {}, {}
    for line in open(a.raw):
        f = line.rstrip("\n").split("\t")
        key = (int(f[1]), int(f[2]))
        if f[0] == "firth":
            t1, rss1, tn, rssn, n = float(f[4]), int(f[5]), float(f[6]), int(f[7]), int(f[8])
            firth.setdefault(key, []).append((t1, rss1, tn, rssn, n))
        else:
            gensim.setdefault(key, []).append(json.loads(f[4]))

    head = ["V", "D", "tool", "threads", "load s (median)", "peak RSS MiB", "queries/s",
            "norms+warm-up s", "load: gensim/firth", "q/s: firth/gensim"]
    rows = []
    for key in sorted(set(firth) | set(gensim)):
        v, t = key
        fr, gr = firth.get(key, []), gensim.get(key, [])
        fl = fq = gl = gq = None
        if fr:
            fl = med(r[0] for r in fr)
            tn = med(r[2] for r in fr)
            n = fr[0][4]
            fq = n / (tn - fl) if tn > fl else float("inf")
            frss = max(r[1] for r in fr) / 1024.0
        if gr:
            gl = med(r["load_s"] for r in gr)
            gq = med(r["qps"] for r in gr)
            gn = med(r["norms_s"] + r["warmup_s"] for r in gr)
            grss0 = max(r["rss_load_mib"] for r in gr)
            grss1 = max(r["rss_mib"] for r in gr)
        lr = "%.2fx" % (gl / fl) if fl and gl else "-"
        qr = "%.2fx" % (fq / gq) if fq and gq else "-"
        if fr:
            rows.append([str(v), str(a.dim), "firth", str(t), "%.3f" % fl, "%.0f" % frss,
                         "%.1f" % fq, "-", lr, qr])
        if gr:
            rows.append([str(v), str(a.dim), "gensim", str(t), "%.3f" % gl,
                         "%.0f (%.0f)" % (grss0, grss1), "%.1f" % gq, "%.3f" % gn, "", ""])

    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))
    print(fmt(head))
    for r in rows:
        print(fmt(r))

    nq = {k: v[0][4] for k, v in firth.items()}
    md = ["# Load time and queries/s: firth vs gensim (issue 3)", "",
          "- machine: %s, nproc %s (taken before setting thread variables)" % (a.cpu, a.nproc),
          "- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
          "- command: `%s`" % a.command,
          "- firth: `%s`; gensim %s under /usr/bin/python3" % (a.firth, _gensim_version()),
          "- files: word2vec binary, D = %d, random normal float32 (numpy, seed 1); the 100k file "
          "is the first 100k rows of the 1M one, as its own file (no --limit); page cache warm"
          % a.dim,
          "- queries per run: %s" % ", ".join("V=%d: %d" % (k[0], n)
                                               for k, n in sorted(nq.items()) if k[1] == 1),
          "- firth load s = median wall of `firth neighbors FILE w0 -k 1` (whole process, incl. "
          "one query); queries/s = N / (median t_N - median t_1), t_N = the same process fed N "
          "words on stdin. gensim load s = `load_word2vec_format(binary=True)` only; queries/s = "
          "N / time of N `most_similar(w, topn=10)` after `fill_norms()` and one warm-up query "
          "(their time is the norms+warm-up column).",
          "- peak RSS: firth = GNU time max RSS of the load+1-query process; gensim = process "
          "peak after loading (in parentheses: at the end, with the norms).",
          "- ratios: load gensim/firth > 1 and q/s firth/gensim > 1 mean firth is faster.",
          "- threads: OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = threads, for both tools.", "",
          "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    with open(a.md, "w") as f:
        f.write("\n".join(md) + "\n")
    print("wrote %s" % a.md, file=sys.stderr)


def _gensim_version():
    try:
        import gensim
        return gensim.__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("gen", "gensim", "report"):
        sys.exit(__doc__)
    {"gen": cmd_gen, "gensim": cmd_gensim, "report": cmd_report}[sys.argv[1]](sys.argv[2:])
