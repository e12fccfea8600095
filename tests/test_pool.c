/* test_pool.c - the thread pool (src/core/pool.c).
 *
 * References: firth_pool_sgemm against a plain triple loop in double for all four transpose
 * cases, shapes cut by rows and by columns (and ones with fewer rows or columns than threads),
 * on 1, 2, 3 and 5 threads; firth_pool_for's ranges cover [0, n) once, cut at multiples of
 * `align`; the barrier: no part gets past a barrier before every part has reached it, over many
 * phases; firth_panel_gemm (core/panel.c) against a triple loop in double, for row counts that
 * leave part of the last panel empty and column counts cut into 64-column blocks and a remainder;
 * rounding to bfloat16 against frexp/nearbyint/ldexp, and firth_pool_bgemm (core/bpanel.c) on
 * the rounded operands against a triple loop in double, all four transpose cases, odd k, with and
 * without accumulation, on 1, 2 and 3 threads. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/bpanel.h"
#include "core/panel.h"
#include "core/pool.h"
#include "core/rng.h"

#undef I

static void fill(firth_rng *rng, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * firth_rng_double(rng) - 1.0);
}

static void test_pool_sgemm(void) {
    const int shapes[][3] = {{37, 5, 9}, {4, 41, 7}, {2, 3, 16}, {64, 64, 33}, {1, 1, 1}};
    const int counts[] = {1, 2, 3, 5};
    openblas_set_num_threads(1);
    firth_rng rng;
    firth_rng_seed(&rng, 11);
    double worst = 0;
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        firth_pool *pool = NULL;
        firth_error err = {0};
        CHECK(firth_pool_new(counts[c], &pool, &err) == FIRTH_OK, "%s", err.message);
        if (!pool) return;
        CHECK(firth_pool_threads(pool) == counts[c], "threads %d", firth_pool_threads(pool));
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int tr = 0; tr < 4; tr++) {
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                const int ta = tr & 1, tb = tr >> 1;
                /* stored shapes, with a leading dimension larger than needed */
                const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
                float *A = malloc((size_t)(ta ? K : M) * lda * sizeof(float));
                float *B = malloc((size_t)(tb ? N : K) * ldb * sizeof(float));
                float *C = malloc((size_t)M * ldc * sizeof(float));
                fill(&rng, A, (size_t)(ta ? K : M) * lda);
                fill(&rng, B, (size_t)(tb ? N : K) * ldb);
                fill(&rng, C, (size_t)M * ldc);
                float *C0 = malloc((size_t)M * ldc * sizeof(float));
                memcpy(C0, C, (size_t)M * ldc * sizeof(float));
                firth_pool_sgemm(pool, ta ? CblasTrans : CblasNoTrans,
                                 tb ? CblasTrans : CblasNoTrans, M, N, K, 0.5f, A, lda, B, ldb,
                                 2.0f, C, ldc);
                double e = 0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < ldc; j++) {
                        double want = C0[(size_t)i * ldc + j];
                        if (j < N) {
                            double s2 = 0;
                            for (int k = 0; k < K; k++) {
                                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                                s2 += (double)a * b;
                            }
                            want = 0.5 * s2 + 2.0 * want;
                        }
                        double d = fabs(C[(size_t)i * ldc + j] - want);
                        e = d > e ? d : e; /* the padding column must stay as it was */
                    }
                worst = e > worst ? e : worst;
                CHECK(e < 1e-4, "%d threads, %dx%dx%d, trans %d %d: off by %g", counts[c], M, N,
                      K, ta, tb, e);
                free(A), free(B), free(C), free(C0);
            }
        firth_pool_free(pool);
    }
    printf("    sgemm on 1, 2, 3, 5 threads, 4 transpose cases: largest difference %.3g\n", worst);
}

typedef struct cover {
    unsigned char *hits;
    size_t align, n;
    int bad_cut;
    int parts_seen[8];
} cover;

static void cover_part(void *ctx, size_t lo, size_t hi, int part) {
    cover *c = ctx;
    for (size_t i = lo; i < hi; i++) c->hits[i]++;
    if (lo % c->align || (hi % c->align && hi != c->n)) c->bad_cut = 1;
    c->parts_seen[part]++;
}

static void test_pool_for(void) {
    const size_t ns[] = {1, 7, 64, 1000, 1003};
    const size_t aligns[] = {1, 4, 16};
    for (int threads = 1; threads <= 4; threads++) {
        firth_pool *pool = NULL;
        firth_error err = {0};
        CHECK(firth_pool_new(threads, &pool, &err) == FIRTH_OK, "%s", err.message);
        for (size_t a = 0; a < 3; a++)
            for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
                cover c = {calloc(ns[k], 1), aligns[a], ns[k], 0, {0}};
                firth_pool_for(pool, ns[k], aligns[a], cover_part, &c);
                int once = 1;
                for (size_t i = 0; i < ns[k]; i++) once &= c.hits[i] == 1;
                CHECK(once && !c.bad_cut, "%d threads, n %zu, align %zu: %s", threads, ns[k],
                      aligns[a], once ? "a cut off the alignment" : "not each index once");
                for (int p = 0; p < threads; p++)
                    CHECK(c.parts_seen[p] <= 1, "part %d ran %d times", p, c.parts_seen[p]);
                free(c.hits);
            }
        firth_pool_free(pool);
    }
}

enum { PHASES = 200 };

typedef struct phases {
    firth_pool *pool;
    atomic_int arrived[PHASES];
    atomic_int early; /* parts that saw a phase not complete after its barrier */
} phases;

static void phases_part(void *ctx, int part, int parts) {
    phases *P = ctx;
    for (int k = 0; k < PHASES; k++) {
        atomic_fetch_add(&P->arrived[k], 1);
        firth_pool_barrier(P->pool);
        if (atomic_load(&P->arrived[k]) != parts) atomic_fetch_add(&P->early, 1);
    }
}

static void test_pool_barrier(void) {
    for (int threads = 2; threads <= 3; threads++) {
        firth_pool *pool = NULL;
        firth_error err = {0};
        CHECK(firth_pool_new(threads, &pool, &err) == FIRTH_OK, "%s", err.message);
        phases *P = calloc(1, sizeof *P);
        P->pool = pool;
        for (int rep = 0; rep < 3; rep++) { /* the pool's jobs one after another */
            for (int k = 0; k < PHASES; k++) atomic_store(&P->arrived[k], 0);
            firth_pool_run(pool, phases_part, P);
        }
        CHECK(atomic_load(&P->early) == 0, "%d threads: %d parts passed a barrier early", threads,
              atomic_load(&P->early));
        free(P);
        firth_pool_free(pool);
    }
    firth_pool *pool = NULL;
    firth_error err = {0};
    CHECK(firth_pool_new(0, &pool, &err) == FIRTH_ERR_PARAM && !pool, "0 threads accepted");
}

/* a (m x k, row stride lda) times W (k x n) read with strides (rs, cs) from a larger matrix and
 * packed: every element of c against the sum in double; c's row past m and its columns past n
 * (up to ldc) untouched. Row counts that leave the last block of 6 short, column counts cut into
 * panels of 64 and a remainder (also not a multiple of 16), k long and short. */
static void test_panel_gemm(void) {
    const int shapes[][3] = {{1, 1, 1},   {6, 16, 5},    {7, 33, 13}, {13, 48, 64},
                             {64, 64, 33}, {11, 80, 7},  {5, 150, 20}, {12, 100, 9},
                             {7, 31, 300}, {64, 256, 512}};
    firth_rng rng;
    firth_rng_seed(&rng, 12);
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int tr = 0; tr < 2; tr++) {
            /* tr 0: W stored row-major with a longer row; tr 1: W^T stored (rs = 1) */
            const size_t rs = tr ? 1 : (size_t)n + 3, cs = tr ? (size_t)k + 2 : 1;
            const size_t lda = (size_t)k + 5, ldc = (size_t)n + 7;
            const size_t wn = (size_t)k * rs + (size_t)n * cs;
            float *a = malloc((size_t)m * lda * sizeof(float)), *w = malloc(wn * sizeof(float));
            float *p = malloc(firth_panel_floats(k, n) * sizeof(float));
            float *c = malloc(((size_t)m + 1) * ldc * sizeof(float));
            if (!a || !w || !p || !c) {
                CHECK(0, "out of memory");
                free(a), free(w), free(p), free(c);
                return;
            }
            fill(&rng, a, (size_t)m * lda);
            fill(&rng, w, wn);
            for (size_t i = 0; i < ((size_t)m + 1) * ldc; i++) c[i] = 1234.5f;
            firth_panel_pack(k, n, w, rs, cs, p);
            firth_panel_gemm(m, n, k, a, lda, p, c, ldc);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double r = 0, mag = 0;
                    for (int l = 0; l < k; l++) {
                        double t = (double)a[(size_t)i * lda + l] * w[(size_t)l * rs + (size_t)j * cs];
                        r += t, mag += fabs(t);
                    }
                    /* relative to the sum of the magnitudes: float summation of k terms is off by
                     * at most k units of rounding (6e-8) of that */
                    double e = fabs(c[(size_t)i * ldc + j] - r) / (mag > 0 ? mag : 1.0);
                    worst = e > worst ? e : worst;
                    CHECK(e < 6e-8 * k + 1e-7, "m %d n %d k %d tr %d: c[%d][%d] = %g, expected %g",
                          m, n, k, tr, i, j, c[(size_t)i * ldc + j], r);
                }
                for (size_t j = (size_t)n; j < ldc; j++)
                    CHECK(c[(size_t)i * ldc + j] == 1234.5f, "m %d n %d: column %zu written", m,
                          n, j);
            }
            for (size_t j = 0; j < ldc; j++)
                CHECK(c[(size_t)m * ldc + j] == 1234.5f, "m %d n %d: row %d written", m, n, m);
            free(a), free(w), free(p), free(c);
        }
    }
    printf("    packed panels vs double loops: largest error %.3g of the sum of magnitudes\n", worst);
}

/* x to 8 significant bits, ties to even (the default rounding mode of nearbyint). */
static float round8(float x) {
    if (x == 0.0f) return x;
    int e;
    double m = frexp((double)x, &e); /* 0.5 <= |m| < 1 */
    return (float)ldexp(nearbyint(ldexp(m, 8)), e - 8);
}

static void test_bf16_round(void) {
    firth_rng rng;
    firth_rng_seed(&rng, 13);
    enum { N = 1000 };
    float x[N];
    uint16_t b[N];
    for (int i = 0; i < N; i++) x[i] = (float)((2.0 * firth_rng_double(&rng) - 1.0) * ldexp(1.0, i % 40 - 20));
    /* exact ties: 1 + 2^-8 rounds down to 1 (even), 1 + 3 2^-8 up to 1 + 2^-6 */
    x[0] = 1.0f + 0x1p-8f, x[1] = 1.0f + 3 * 0x1p-8f, x[2] = -(1.0f + 0x1p-8f), x[3] = 0.0f;
    firth_bf16_from_floats(x, N, b);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += firth_bf16_float(b[i]) != round8(x[i]);
    CHECK(bad == 0, "%d of %d values rounded differently from nearbyint", bad, N);
    CHECK(firth_bf16_float(b[0]) == 1.0f && firth_bf16_float(b[1]) == 1.0f + 0x1p-6f,
          "ties: %g %g", firth_bf16_float(b[0]), firth_bf16_float(b[1]));
    CHECK(firth_bf16_round(NAN) != firth_bf16_round(INFINITY) &&
              isnan(firth_bf16_float(firth_bf16_round(NAN))), "NaN not kept");
}

static void test_pool_bgemm(void) {
    const int shapes[][3] = {{1, 1, 1},  {6, 16, 5},   {7, 33, 13},  {13, 48, 64}, {2, 150, 9},
                             {64, 65, 33}, {37, 130, 21}, {5, 7, 300}, {64, 256, 512}};
    const int counts[] = {1, 2, 3};
    firth_rng rng;
    firth_rng_seed(&rng, 14);
    double worst = 0;
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        firth_pool *pool = NULL;
        firth_error err = {0};
        if (counts[c] > 1) {
            CHECK(firth_pool_new(counts[c], &pool, &err) == FIRTH_OK, "%s", err.message);
            if (!pool) return;
        }
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int v = 0; v < 8; v++) {
                const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                const int ta = v & 1, tb = (v >> 1) & 1, acc = v >> 2;
                const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
                const size_t an = (size_t)(ta ? K : M) * lda, bn = (size_t)(tb ? N : K) * ldb;
                float *A = malloc(an * sizeof(float)), *B = malloc(bn * sizeof(float));
                float *C = malloc(((size_t)M + 1) * ldc * sizeof(float));
                uint16_t *scr = malloc(firth_bgemm_elems(M, N, K) * sizeof(uint16_t));
                if (!A || !B || !C || !scr) {
                    CHECK(0, "out of memory");
                    free(A), free(B), free(C), free(scr);
                    firth_pool_free(pool);
                    return;
                }
                fill(&rng, A, an);
                fill(&rng, B, bn);
                for (size_t i = 0; i < ((size_t)M + 1) * ldc; i++) C[i] = 0.25f;
                firth_pool_bgemm(pool, ta, tb, M, N, K, A, lda, B, ldb, acc, C, ldc, scr);
                for (int i = 0; i < M; i++) {
                    for (int j = 0; j < N; j++) {
                        double r = acc ? 0.25 : 0.0, mag = 0;
                        for (int l = 0; l < K; l++) {
                            float a = ta ? A[(size_t)l * lda + i] : A[(size_t)i * lda + l];
                            float b = tb ? B[(size_t)j * ldb + l] : B[(size_t)l * ldb + j];
                            double t = (double)round8(a) * round8(b);
                            r += t, mag += fabs(t);
                        }
                        double e = fabs(C[(size_t)i * ldc + j] - r) / (mag > 0 ? mag : 1.0);
                        worst = e > worst ? e : worst;
                        CHECK(e < 6e-8 * (K + 1) + 1e-7,
                              "threads %d M %d N %d K %d ta %d tb %d acc %d: C[%d][%d] = %g, "
                              "expected %g", counts[c], M, N, K, ta, tb, acc, i, j,
                              C[(size_t)i * ldc + j], r);
                    }
                    for (int j = N; j < ldc; j++)
                        CHECK(C[(size_t)i * ldc + j] == 0.25f, "M %d N %d: column %d written", M,
                              N, j);
                }
                for (int j = 0; j < ldc; j++)
                    CHECK(C[(size_t)M * ldc + j] == 0.25f, "M %d N %d: row %d written", M, N, M);
                free(A), free(B), free(C), free(scr);
            }
        firth_pool_free(pool);
    }
    printf("    bfloat16 products vs double loops on the rounded operands: largest error %.3g of "
           "the sum of magnitudes\n", worst);
}

const test_case tests_pool[] = {
    {"pool_sgemm", test_pool_sgemm},
    {"pool_for", test_pool_for},
    {"pool_barrier", test_pool_barrier},
    {"panel_gemm", test_panel_gemm},
    {"bf16_round", test_bf16_round},
    {"pool_bgemm", test_pool_bgemm},
    TEST_END,
};
