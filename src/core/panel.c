/* panel.c - see panel.h. */
#include "core/panel.h"

#include <math.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* MR rows of c at a time; panels NC columns wide */
enum { MR = 6, NC = FIRTH_PANEL_NC };

void firth_panel_pack(int k, int n, const float *w, size_t rs, size_t cs, float *p) {
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int pw = firth_panel_width(n, j0), cols = n - j0 < pw ? n - j0 : pw;
        float *dst = p + (size_t)j0 * (size_t)k;
        for (int l = 0; l < k; l++) {
            const float *src = w + (size_t)l * rs + (size_t)j0 * cs;
            int j = 0;
            for (; j < cols; j++) dst[(size_t)l * pw + j] = src[(size_t)j * cs];
            for (; j < pw; j++) dst[(size_t)l * pw + j] = 0.0f;
        }
    }
}

#if defined(__AVX512F__)

/* rows (1..MR) rows of a against one panel of nq (1..4) vectors of 16 columns: rows x 16 nq sums
 * in registers, each a[r][l] broadcast against the nq vectors of panel row l. Inlined with
 * constant rows and nq, the loops unroll and the sums stay in registers. The last vector's
 * columns are stored under `last` (the columns of c that exist). */
static inline __attribute__((always_inline)) void
kernel(const int rows, const int nq, int k, const float *restrict a, size_t lda,
       const float *restrict p, float *restrict c, size_t ldc, __mmask16 last) {
    /* the unroll pragmas: without them gcc -O2 keeps s in memory (half the speed) */
    __m512 s[MR][4];
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
        for (int q = 0; q < nq; q++) s[r][q] = _mm512_setzero_ps();
    for (int l = 0; l < k; l++) {
        __m512 w[4];
#pragma GCC unroll 4
        for (int q = 0; q < nq; q++) w[q] = _mm512_loadu_ps(p + (size_t)l * 16 * nq + 16 * q);
#pragma GCC unroll 6
        for (int r = 0; r < rows; r++) {
            const __m512 x = _mm512_set1_ps(a[(size_t)r * lda + l]);
#pragma GCC unroll 4
            for (int q = 0; q < nq; q++) s[r][q] = _mm512_fmadd_ps(x, w[q], s[r][q]);
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int q = 0; q < nq - 1; q++) _mm512_storeu_ps(c + (size_t)r * ldc + 16 * q, s[r][q]);
        _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * (nq - 1), last, s[r][nq - 1]);
    }
}

#define KERNEL_ROWS(R)                                                                           \
    case R:                                                                                      \
        switch (nq) {                                                                            \
        case 4: kernel(R, 4, k, a, lda, p, c, ldc, last); break;                                 \
        case 3: kernel(R, 3, k, a, lda, p, c, ldc, last); break;                                 \
        case 2: kernel(R, 2, k, a, lda, p, c, ldc, last); break;                                 \
        default: kernel(R, 1, k, a, lda, p, c, ldc, last); break;                                \
        }                                                                                        \
        break;

/* rows x cols of c (cols <= the panel's width) from one panel. */
static void block(int rows, int cols, int pw, int k, const float *a, size_t lda, const float *p,
                  float *c, size_t ldc) {
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

/* The same sums in plain C, 16 columns at a time. */
static void block(int rows, int cols, int pw, int k, const float *a, size_t lda, const float *p,
                  float *c, size_t ldc) {
    for (int q0 = 0; q0 < cols; q0 += 16) {
        float s[MR][16];
        memset(s, 0, sizeof s);
        for (int l = 0; l < k; l++) {
            const float *restrict w = p + (size_t)l * pw + q0;
            for (int r = 0; r < rows; r++) {
                const float x = a[(size_t)r * lda + l];
                /* fused, as the AVX-512 kernel's: the same sums to the bit */
#pragma omp simd
                for (int v = 0; v < 16; v++) s[r][v] = fmaf(x, w[v], s[r][v]);
            }
        }
        const int n = cols - q0 < 16 ? cols - q0 : 16;
        for (int r = 0; r < rows; r++) memcpy(c + (size_t)r * ldc + q0, s[r], n * sizeof(float));
    }
}

#endif

/* Panel by panel (one panel, 64 x k floats, stays in the L2 cache while every row of a passes). */
void firth_panel_gemm(int m, int n, int k, const float *a, size_t lda, const float *p, float *c,
                      size_t ldc) {
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int pw = firth_panel_width(n, j0), cols = n - j0 < pw ? n - j0 : pw;
        for (int i0 = 0; i0 < m; i0 += MR)
            block(m - i0 < MR ? m - i0 : MR, cols, pw, k, a + (size_t)i0 * lda, lda,
                  p + (size_t)j0 * (size_t)k, c + (size_t)i0 * ldc + j0, ldc);
    }
}
