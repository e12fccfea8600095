#!/usr/bin/python3
"""w2v_gensim.py - train gensim's Word2Vec the way bench/w2v_peers.sh trains the other tools.

Run it with /usr/bin/python3 (Debian's python3-gensim); the python3 first on PATH may be another
interpreter without gensim. Only the Word2Vec(...) call (vocabulary scan + training) is timed;
loading gensim and saving the vectors are not. The time is printed as `train_seconds=S` on
stdout for the benchmark script to pick up.

    /usr/bin/python3 bench/w2v_gensim.py --corpus C --output V.bin --arch sg --dim 100 \
        --epochs 5 --alpha 0.025 --workers 1
"""
import argparse
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="plain text, one sentence/paragraph per line")
    ap.add_argument("--output", required=True, help="vectors file (word2vec format)")
    ap.add_argument("--format", choices=["bin", "text"], default="bin")
    ap.add_argument("--arch", choices=["sg", "cbow"], default="sg")
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=None,
                    help="start learning rate (default: 0.025 sg, 0.05 cbow, as word2vec.c)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sentences", action="store_true",
                    help="feed the corpus as a LineSentence iterable (gensim's job queue, whose "
                         "learning rate decays over the whole run's words at any worker count) "
                         "instead of corpus_file (whose workers each decay it over their own share "
                         "of every epoch: bench/RESULTS.md, run M)")
    a = ap.parse_args()

    from gensim.models import Word2Vec  # imported here so that --help works without gensim
    from gensim.models.word2vec import LineSentence

    alpha = a.alpha if a.alpha is not None else (0.025 if a.arch == "sg" else 0.05)
    t0 = time.perf_counter()
    # corpus_file mode: gensim's fast multi-threaded path that reads the file itself (whitespace
    # tokens, one sentence per line), the closest match to how word2vec.c/fastText/firth read.
    source = {"sentences": LineSentence(a.corpus)} if a.sentences else {"corpus_file": a.corpus}
    model = Word2Vec(
        **source,
        vector_size=a.dim,
        window=a.window,
        negative=a.negative,
        hs=0,
        sample=a.sample,
        min_count=a.min_count,
        epochs=a.epochs,
        workers=a.workers,
        sg=1 if a.arch == "sg" else 0,
        alpha=alpha,
        seed=a.seed,
    )
    secs = time.perf_counter() - t0
    print(f"train_seconds={secs:.3f}", flush=True)
    print(f"vocab={len(model.wv)} alpha={alpha} workers={a.workers} "
          f"input={'sentences' if a.sentences else 'corpus_file'}", flush=True)
    # save_word2vec_format writes the vocabulary in index order, which gensim sorts by frequency.
    model.wv.save_word2vec_format(a.output, binary=(a.format == "bin"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
