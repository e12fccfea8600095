/* panel.h - C = A W for a matrix W used against many small A: W (k x n) is packed once into
 * panels of 64 columns (row by row inside a panel), and every product then reads the panels as
 * they lie. This is what the LSTM's recurrent product of each time step needs: the same weights
 * for all T steps of a chunk, a new (B x k) left-hand side each step. OpenBLAS repacks both
 * operands on every call, which for these shapes (B = 64, k = 512 or 2048, n = 4 x 256) costs
 * a fifth of the product (bench/RESULTS.md, "Packed panels").
 *
 * With AVX-512 (-march=native on such a CPU) the product is an intrinsics kernel of 6 rows x 64
 * columns of C held in 24 registers, each element of A broadcast against 4 vectors of a panel
 * row; elsewhere the same loops in plain C. tests/test_pool.c checks either against a loop in
 * double. */
#ifndef FIRTH_CORE_PANEL_H
#define FIRTH_CORE_PANEL_H

#include <stddef.h>

/* Floats of the packed form of a (k x n) matrix: n rounded up to a multiple of 16, times k. */
static inline size_t firth_panel_floats(int k, int n) {
    return ((size_t)n + 15) / 16 * 16 * (size_t)k;
}

/* Columns of a full panel, of this layout and of core/bpanel.h's. */
enum { FIRTH_PANEL_NC = 64 };

/* Width of the panel that starts at column j0 (a multiple of FIRTH_PANEL_NC) of a packed matrix
 * n columns wide: FIRTH_PANEL_NC, or what is left of n rounded up to 16. */
static inline int firth_panel_width(int n, int j0) {
    const int left = (n - j0 + 15) / 16 * 16;
    return left < FIRTH_PANEL_NC ? left : FIRTH_PANEL_NC;
}

/* Packs W (k x n), element (l, j) at w[l rs + j cs], into p (firth_panel_floats(k, n) floats);
 * the columns past n of the last panel are zeros. */
void firth_panel_pack(int k, int n, const float *w, size_t rs, size_t cs, float *p);

/* c (m x n, row stride ldc) = a (m x k, row stride lda) W, W packed by firth_panel_pack(k, n,
 * ...). Writes only the m x n elements of c. */
void firth_panel_gemm(int m, int n, int k, const float *a, size_t lda, const float *p, float *c,
                      size_t ldc);

#endif
