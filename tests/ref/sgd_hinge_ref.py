#!/usr/bin/python3
"""sgd_hinge_ref.py - the reference for firth's hinge word model: real scikit-learn
SGDClassifier(loss="hinge", learning_rate="constant") fed one sample at a time by partial_fit,
on a tiny problem laid out as a word model (test_wordlm.c reads the fixture).

The problem: V = 5 classes, embeddings E of (V + 1) x D = 6 x 3 (row 5 is the padding vector),
context N = 2, so every example's features are concat(E[a], E[b]) (F = 6). 80 examples, a large
learning rate and alpha so that the hinge margins and the L2 shrink both matter.

Regenerate the committed fixture (needs Debian's python3-sklearn, scripts/deps.sh --test):
    /usr/bin/python3 tests/ref/sgd_hinge_ref.py > tests/fixtures/sgd_hinge.txt

Fixture layout (text, whitespace separated):
    FIRTH-SGD-HINGE 1
    V D N n eta alpha
    E: (V + 1) * D values
    n lines "a b target"
    then for each checkpoint step k in CHECKPOINTS: "step k" then V * (N * D) coef_ values and
    V intercept_ values, as sklearn holds them after k partial_fit calls
"""
import sys

import numpy as np
from sklearn.linear_model import SGDClassifier

V, D, N, n = 5, 3, 2, 80
ETA, ALPHA = 0.1, 0.05
CHECKPOINTS = [1, 2, 7, 30, 80]


def main():
    rng = np.random.default_rng(20240501)
    E = rng.normal(size=(V + 1, D)).round(4)
    ctx = rng.integers(0, V + 1, size=(n, N))
    # targets depend on the context (so the problem is learnable), with some noise
    target = (ctx[:, 0] + 2 * ctx[:, 1]) % V
    noise = rng.random(n) < 0.2
    target[noise] = rng.integers(0, V, size=noise.sum())
    X = np.concatenate([E[ctx[:, k]] for k in range(N)], axis=1)
    clf = SGDClassifier(loss="hinge", learning_rate="constant", eta0=ETA, alpha=ALPHA,
                        max_iter=1, tol=None, shuffle=True, random_state=0)
    out = sys.stdout
    out.write("FIRTH-SGD-HINGE 1\n")
    out.write(f"{V} {D} {N} {n} {ETA!r} {ALPHA!r}\n")
    out.write(" ".join(repr(float(v)) for v in E.ravel()) + "\n")
    for i in range(n):
        out.write(f"{ctx[i, 0]} {ctx[i, 1]} {target[i]}\n")
    for i in range(n):
        clf.partial_fit(X[i:i + 1], target[i:i + 1], classes=np.arange(V))
        if i + 1 in CHECKPOINTS:
            out.write(f"step {i + 1}\n")
            out.write(" ".join(repr(float(v)) for v in clf.coef_.ravel()) + "\n")
            out.write(" ".join(repr(float(v)) for v in clf.intercept_.ravel()) + "\n")


if __name__ == "__main__":
    main()
