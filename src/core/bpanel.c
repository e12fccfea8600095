/* bpanel.c - see bpanel.h. */
#include "core/bpanel.h"
#include "core/panel.h"

#include <string.h>

#if defined(__AVX512BF16__) && defined(__AVX512BW__)
#include <immintrin.h>
#define FIRTH_BF16_KERNEL 1
#endif

/* MR rows of c at a time; panels NC columns wide (as core/panel.c) */
enum { MR = 6, NC = FIRTH_PANEL_NC };

int firth_bpanel_native(void) {
#if FIRTH_BF16_KERNEL
    return 1;
#else
    return 0;
#endif
}

void firth_bf16_from_floats(const float *x, size_t n, uint16_t *out) {
    size_t i = 0;
#if FIRTH_BF16_KERNEL
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
#endif
    for (; i < n; i++) out[i] = firth_bf16_round(x[i]);
}

void firth_bpanel_pack(int k, int n, const float *w, size_t rs, size_t cs, uint16_t *p, int j_lo,
                       int j_hi) {
    const size_t k2 = firth_bf16_even((size_t)k);
    for (int j0 = j_lo; j0 < j_hi; j0 += NC) {
        const int pw = firth_panel_width(n, j0), cols = n - j0 < pw ? n - j0 : pw;
        uint16_t *dst = p + (size_t)j0 * k2;
        for (size_t l = 0; l < k2; l += 2) {
            uint16_t *d = dst + l * (size_t)pw; /* the pair (l, l + 1): 2 pw elements */
            const float *r0 = w + l * rs + (size_t)j0 * cs, *r1 = r0 + rs;
            const int two = l + 1 < (size_t)k;
            int j = 0;
#if FIRTH_BF16_KERNEL
            if (cs == 1 && two) {
                /* 16 columns of both rows rounded in one instruction, then interleaved */
                const __m512i mix = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                                     25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19,
                                                     3, 18, 2, 17, 1, 16, 0);
                for (; j + 16 <= cols; j += 16) {
                    __m512i v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r1 + j),
                                                             _mm512_loadu_ps(r0 + j));
                    _mm512_storeu_si512(d + 2 * j, _mm512_permutexvar_epi16(mix, v));
                }
            }
#endif
            for (; j < cols; j++) {
                d[2 * j] = firth_bf16_round(r0[(size_t)j * cs]);
                d[2 * j + 1] = two ? firth_bf16_round(r1[(size_t)j * cs]) : 0;
            }
            for (; j < pw; j++) d[2 * j] = d[2 * j + 1] = 0;
        }
    }
}

#if FIRTH_BF16_KERNEL

static inline __m512bh pair_of(const uint16_t *a) {
    int v;
    memcpy(&v, a, 4);
    return (__m512bh)_mm512_set1_epi32(v);
}

/* rows (1..MR) rows of a against one panel of nq (1..4) vectors of 16 columns, `pairs` pairs of
 * rows of W: each pair of a's row broadcast against the nq vectors of the panel's pair. */
static inline __attribute__((always_inline)) void
kernel(const int rows, const int nq, size_t pairs, const uint16_t *restrict a, size_t lda,
       const uint16_t *restrict p, float *restrict c, size_t ldc, __mmask16 last, int acc) {
    __m512 s[MR][4];
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
        for (int q = 0; q < nq; q++) s[r][q] = _mm512_setzero_ps();
    for (size_t l = 0; l < pairs; l++) {
        __m512bh w[4];
#pragma GCC unroll 4
        for (int q = 0; q < nq; q++)
            w[q] = (__m512bh)_mm512_loadu_si512(p + l * 32 * (size_t)nq + 32 * (size_t)q);
#pragma GCC unroll 6
        for (int r = 0; r < rows; r++) {
            const __m512bh x = pair_of(a + (size_t)r * lda + 2 * l);
#pragma GCC unroll 4
            for (int q = 0; q < nq; q++) s[r][q] = _mm512_dpbf16_ps(s[r][q], x, w[q]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float *cr = c + (size_t)r * ldc;
        for (int q = 0; q < nq - 1; q++)
            _mm512_storeu_ps(cr + 16 * q,
                             acc ? _mm512_add_ps(s[r][q], _mm512_loadu_ps(cr + 16 * q)) : s[r][q]);
        float *cl = cr + 16 * (nq - 1);
        _mm512_mask_storeu_ps(cl, last,
                              acc ? _mm512_add_ps(s[r][nq - 1], _mm512_maskz_loadu_ps(last, cl))
                                  : s[r][nq - 1]);
    }
}

#define KERNEL_ROWS(R)                                                                           \
    case R:                                                                                      \
        switch (nq) {                                                                            \
        case 4: kernel(R, 4, pairs, a, lda, p, c, ldc, last, acc); break;                        \
        case 3: kernel(R, 3, pairs, a, lda, p, c, ldc, last, acc); break;                        \
        case 2: kernel(R, 2, pairs, a, lda, p, c, ldc, last, acc); break;                        \
        default: kernel(R, 1, pairs, a, lda, p, c, ldc, last, acc); break;                       \
        }                                                                                        \
        break;

static void block(int rows, int cols, int pw, size_t pairs, const uint16_t *a, size_t lda,
                  const uint16_t *p, float *c, size_t ldc, int acc) {
    const int nq = pw / 16, tail = cols - 16 * (nq - 1);
    const __mmask16 last = (__mmask16)(tail >= 16 ? 0xffff : (1u << tail) - 1);
    switch (rows) {
        KERNEL_ROWS(6)
        KERNEL_ROWS(5)
        KERNEL_ROWS(4)
        KERNEL_ROWS(3)
        KERNEL_ROWS(2)
        KERNEL_ROWS(1)
    }
}

#else

/* The same sums in plain C, 16 columns at a time, in the instruction's order. */
static void block(int rows, int cols, int pw, size_t pairs, const uint16_t *a, size_t lda,
                  const uint16_t *p, float *c, size_t ldc, int acc) {
    for (int q0 = 0; q0 < cols; q0 += 16) {
        float s[MR][16];
        memset(s, 0, sizeof s);
        for (size_t l = 0; l < pairs; l++) {
            const uint16_t *restrict w = p + l * 2 * (size_t)pw + 2 * (size_t)q0;
            for (int r = 0; r < rows; r++) {
                const float a0 = firth_bf16_float(a[(size_t)r * lda + 2 * l]);
                const float a1 = firth_bf16_float(a[(size_t)r * lda + 2 * l + 1]);
                for (int v = 0; v < 16; v++) {
                    s[r][v] += a1 * firth_bf16_float(w[2 * v + 1]);
                    s[r][v] += a0 * firth_bf16_float(w[2 * v]);
                }
            }
        }
        const int n = cols - q0 < 16 ? cols - q0 : 16;
        for (int r = 0; r < rows; r++) {
            float *cr = c + (size_t)r * ldc + q0;
            for (int v = 0; v < n; v++) cr[v] = acc ? cr[v] + s[r][v] : s[r][v];
        }
    }
}

#endif

void firth_bpanel_gemm(int m, int n, int k, const uint16_t *a, size_t lda, const uint16_t *p,
                       float *c, size_t ldc, int accumulate, int j_lo, int j_hi) {
    const size_t k2 = firth_bf16_even((size_t)k), pairs = k2 / 2;
    for (int j0 = j_lo; j0 < j_hi; j0 += NC) {
        const int pw = firth_panel_width(n, j0), cols = (j_hi - j0 < pw ? j_hi - j0 : pw);
        for (int i0 = 0; i0 < m; i0 += MR)
            block(m - i0 < MR ? m - i0 : MR, cols, pw, pairs, a + (size_t)i0 * lda, lda,
                  p + (size_t)j0 * k2, c + (size_t)i0 * ldc + j0, ldc, accumulate);
    }
}

/* ---- the threaded product ------------------------------------------------------------------ */

typedef struct bgemm_job {
    firth_pool *pool;
    int ta, tb, M, N, K, lda, ldb, acc, ldc;
    const float *A, *B;
    float *C;
    uint16_t *ab, *pb;
} bgemm_job;

/* Rows [lo, hi) of op(A), rounded, into ab (row stride K rounded up to even, the pad zero). */
static void round_rows(const bgemm_job *J, size_t lo, size_t hi) {
    const size_t K = (size_t)J->K, k2 = firth_bf16_even(K);
    if (!J->ta) {
        for (size_t i = lo; i < hi; i++) firth_bf16_from_floats(J->A + i * J->lda, K, J->ab + i * k2);
    } else { /* A stored K x M: blocks of 32 of its rows, so that each cache line is reused */
        for (size_t l0 = 0; l0 < K; l0 += 32) {
            const size_t l1 = l0 + 32 < K ? l0 + 32 : K;
            for (size_t i = lo; i < hi; i++)
                for (size_t l = l0; l < l1; l++)
                    J->ab[i * k2 + l] = firth_bf16_round(J->A[l * J->lda + i]);
        }
    }
    if (k2 != K)
        for (size_t i = lo; i < hi; i++) J->ab[i * k2 + K] = 0;
}

static void bgemm_part(void *ctx, int part, int parts) {
    const bgemm_job *J = ctx;
    size_t lo, hi, plo, phi;
    firth_pool_range((size_t)J->M, part, parts, &lo, &hi);
    round_rows(J, lo, hi);
    firth_pool_range(((size_t)J->N + NC - 1) / NC, part, parts, &plo, &phi);
    const int j_lo = (int)plo * NC, j_hi = (int)phi * NC < J->N ? (int)phi * NC : J->N;
    if (J->tb) /* B stored N x K: element (l, j) of op(B) at B[j ldb + l] */
        firth_bpanel_pack(J->K, J->N, J->B, 1, (size_t)J->ldb, J->pb, j_lo, j_hi);
    else
        firth_bpanel_pack(J->K, J->N, J->B, (size_t)J->ldb, 1, J->pb, j_lo, j_hi);
    if (parts > 1) firth_pool_barrier(J->pool); /* every row of op(A) rounded */
    if (j_lo < j_hi)
        firth_bpanel_gemm(J->M, J->N, J->K, J->ab, firth_bf16_even((size_t)J->K), J->pb, J->C,
                          (size_t)J->ldc, J->acc, j_lo, j_hi);
}

void firth_pool_bgemm(firth_pool *pool, int ta_trans, int tb_trans, int M, int N, int K,
                      const float *A, int lda, const float *B, int ldb, int accumulate, float *C,
                      int ldc, uint16_t *scratch) {
    if (M <= 0 || N <= 0) return;
    bgemm_job J = {pool, ta_trans, tb_trans, M, N, K, lda, ldb, accumulate, ldc, A, B, C,
                   scratch, scratch + (size_t)M * firth_bf16_even((size_t)K)};
    if (K <= 0) { /* nothing to sum: C = 0 or stays */
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    if (!pool || firth_pool_threads(pool) == 1)
        bgemm_part(&J, 0, 1);
    else
        firth_pool_run(pool, bgemm_part, &J);
}
