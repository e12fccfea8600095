"""gen_pca.py - writes tests/fixtures/pca_ref.bin: data and numpy's PCA of it, for test_projector.c.

The data: N = 200 rows of D = 16 float32 values with a non-zero mean and a planted spectrum
(standard deviations 4, 2.5, 1.5, 1, then 0.5 .. 0.1 along a random orthonormal basis), seeded.
The reference is numpy's SVD of the centred rows in float64 (the float32 values widened
exactly): axes = the first C right singular vectors, variance = S**2 / (N - 1), total = the sum
of all S**2 / (N - 1), proj = the centred rows times the axes. Each axis's sign is fixed as
firth_pca fixes it: its entry of largest magnitude (the first such) is positive.

Rerun (Debian's interpreter, which has python3-numpy):
    /usr/bin/python3 tests/ref/gen_pca.py tests/fixtures/pca_ref.bin

Layout, little-endian: "FIRTHPCA", u32 version (1), u32 N, u32 D, u32 C,
    f32 x[N][D], f64 axes[C][D], f64 variance[C], f64 total, f64 proj[N][C].
"""
import struct
import sys

import numpy as np

SEED = 20240917
N, D, C = 200, 16, 3

rng = np.random.default_rng(SEED)
q, _ = np.linalg.qr(rng.standard_normal((D, D)))
sd = np.array([4.0, 2.5, 1.5, 1.0] + list(np.linspace(0.5, 0.1, D - 4)))
mean = rng.uniform(-3, 3, D)
x = (mean + (rng.standard_normal((N, D)) * sd) @ q.T).astype(np.float32)

xd = x.astype(np.float64)
xc = xd - xd.mean(axis=0)
_, s, vt = np.linalg.svd(xc, full_matrices=False)
axes = vt[:C].copy()
for c in range(C):
    m = int(np.argmax(np.abs(axes[c])))  # the first entry of largest magnitude
    if axes[c, m] < 0:
        axes[c] = -axes[c]
var = s ** 2 / (N - 1)
proj = xc @ axes.T

with open(sys.argv[1], "wb") as f:
    f.write(b"FIRTHPCA" + struct.pack("<4I", 1, N, D, C))
    f.write(x.astype("<f4").tobytes())
    f.write(axes.astype("<f8").tobytes())
    f.write(var[:C].astype("<f8").tobytes())
    f.write(struct.pack("<d", var.sum()))
    f.write(proj.astype("<f8").tobytes())
print(f"wrote {sys.argv[1]}: {N} x {D}, variances {var[:C].round(4)} of {var.sum():.4f}",
      file=sys.stderr)
