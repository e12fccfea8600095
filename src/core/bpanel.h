/* bpanel.h - products in bfloat16 with float sums: C (+)= A W where A and W are rounded to
 * bfloat16 (8 bits of mantissa; round to nearest even) and every product is summed in float.
 * The products of two bfloat16 values are exact in float, so the only rounding besides the
 * operands' is that of the float sums, as in an sgemm. This is the "mixed precision" of training
 * on accelerators (Kalamkar et al., "A Study of BFLOAT16 for Deep Learning Training", 2019):
 * the weights stay in float and only the operands of the products are rounded.
 *
 * W (k x n) is packed as core/panel.h packs floats, but in pairs of rows: panels of 64 columns,
 * and within a panel, for each pair of rows (2l, 2l + 1), the two values of each column side by
 * side. A (m x k) is bfloat16 row-major with an even row stride of at least k rounded up to even
 * (the odd column of padding multiplies the zeros of the packed W's padding row).
 *
 * With AVX512_BF16 (-march=native on a CPU that has it, e.g. AMD Zen 4/5, Intel Cooper Lake and
 * Sapphire Rapids) the product is a kernel of 6 rows x 64 columns of sums in 24 registers, one
 * `vdpbf16ps` per pair of rows of W; it does twice the multiply-adds per instruction of a float
 * FMA. Elsewhere the same sums in plain C (the instruction's order: the odd row's product is
 * added first). tests/test_pool.c checks either against a loop in double over the rounded
 * operands. */
#ifndef FIRTH_CORE_BPANEL_H
#define FIRTH_CORE_BPANEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

/* k rounded up to even: the row stride of a bfloat16 A, the pairs of rows of a packed W. */
static inline size_t firth_bf16_even(size_t k) { return (k + 1) & ~(size_t)1; }

/* Elements (uint16_t) of the packed form of a (k x n) W: n rounded up to 16, times k rounded up
 * to even. */
static inline size_t firth_bpanel_elems(int k, int n) {
    return ((size_t)n + 15) / 16 * 16 * firth_bf16_even((size_t)k);
}

/* float -> bfloat16, round to nearest even (NaN stays NaN). */
static inline uint16_t firth_bf16_round(float x) {
    uint32_t u;
    __builtin_memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float firth_bf16_float(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float x;
    __builtin_memcpy(&x, &u, 4);
    return x;
}

/* Non-zero when this build has the AVX512_BF16 kernel (else the plain C one). */
int firth_bpanel_native(void);

/* n floats -> bfloat16. */
void firth_bf16_from_floats(const float *x, size_t n, uint16_t *out);

/* Packs W (k x n), element (l, j) at w[l rs + j cs], rounded to bfloat16, into p
 * (firth_bpanel_elems(k, n) elements); padding columns and the padding row are zeros. Only the
 * panels that hold columns [j_lo, j_hi) are written (both multiples of 64, or j_hi = n): a part of
 * a split product packs its own. */
void firth_bpanel_pack(int k, int n, const float *w, size_t rs, size_t cs, uint16_t *p, int j_lo,
                       int j_hi);

/* c (m x n, row stride ldc) = a W, or c += a W when accumulate is non-zero: a (m x k, bfloat16,
 * even row stride lda >= firth_bf16_even(k)), W packed by firth_bpanel_pack(k, n, ...). Columns
 * [j_lo, j_hi) only (j_lo a multiple of 64). */
void firth_bpanel_gemm(int m, int n, int k, const uint16_t *a, size_t lda, const uint16_t *p,
                       float *c, size_t ldc, int accumulate, int j_lo, int j_hi);

/* Uint16 elements of scratch firth_pool_bgemm needs for an (M x N x K) product. */
static inline size_t firth_bgemm_elems(int M, int N, int K) {
    return (size_t)M * firth_bf16_even((size_t)K) + firth_bpanel_elems(K, N);
}

/* C (M x N, row-major, stride ldc) = op(A) op(B), or += with accumulate, in bfloat16 with float
 * sums, as cblas_sgemm with alpha 1 and beta 0 or 1: op(A) is A (M x K, stride lda) or, with
 * ta_trans, A^T of A stored (K x M); op(B) is B (K x N, stride ldb) or, with tb_trans, B^T of B
 * stored (N x K). The threads of pool (NULL: the caller) round their rows of op(A) and pack their
 * panels of op(B) into scratch (firth_bgemm_elems(M, N, K) elements), then each computes its
 * columns. */
void firth_pool_bgemm(firth_pool *pool, int ta_trans, int tb_trans, int M, int N, int K,
                      const float *A, int lda, const float *B, int ldb, int accumulate, float *C,
                      int ldc, uint16_t *scratch);

#endif
