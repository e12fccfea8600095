/* loss_ns.c - negative sampling (Mikolov et al. 2013, "Distributed Representations of Words and
 * Phrases and their Compositionality"). Derivation: docs/derivations.md#negative-sampling. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "embed/loss.h"

float firth_ns_step(const firth_sigmoid_table *tab, const float *h, float *out,
                    const int32_t *targets, int n_targets, int dim, float alpha, float *dh) {
    float loss = 0.0f;
    for (int j = 0; j < n_targets; j++) {
        float *o = out + (size_t)targets[j] * (size_t)dim;
        float f = firth_dot(h, o, dim);
        float label = j == 0 ? 1.0f : 0.0f;
        /* d loss / d f = s(f) - label; the step is alpha * (label - s(f)) */
        float g = (label - firth_sigmoid(tab, f)) * alpha;
        loss += firth_neg_logsig(tab, j == 0 ? f : -f);
        firth_axpy(g, o, dh, dim); /* uses o before its own update */
        firth_axpy(g, h, o, dim);
    }
    return loss;
}

static double log_sigmoid(double x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

double firth_ns_loss_naive(const float *h, const float *out, const int32_t *targets,
                           int n_targets, int dim, double *grad_h, double *grad_out) {
    double loss = 0.0;
    if (grad_h)
        for (int d = 0; d < dim; d++) grad_h[d] = 0.0;
    for (int j = 0; j < n_targets; j++) {
        const float *o = out + (size_t)targets[j] * (size_t)dim;
        double f = 0.0;
        for (int d = 0; d < dim; d++) f += (double)h[d] * (double)o[d];
        double label = j == 0 ? 1.0 : 0.0;
        loss -= j == 0 ? log_sigmoid(f) : log_sigmoid(-f);
        double df = sigmoid(f) - label;
        for (int d = 0; d < dim; d++) {
            if (grad_h) grad_h[d] += df * o[d];
            if (grad_out) grad_out[(size_t)j * dim + d] = df * h[d];
        }
    }
    return loss;
}

/* ---------------------------------------------------------------------------------------- */
/* Batched (HogBatch) step: one window's context rows against one shared set of targets.      */
/* The arithmetic equals m separate firth_ns_step calls; the gain is memory traffic: each       */
/* target row is read and written once per window instead of once per (context, target) pair,  */
/* and one set of noise words (random rows, cache misses) serves the whole window.             */
/* ---------------------------------------------------------------------------------------- */

/* 16 floats, 64 bytes: GCC/Clang lower it to one AVX-512 register, or two AVX2 / four SSE ones,
 * whatever -march allows. */
typedef float v16 __attribute__((vector_size(64), aligned(64)));
#define LANES 16

typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

/* Sum of the 16 lanes as a tree (4 levels of independent adds), not a chain of 15. */
static inline float hsum16(v16 v) {
    v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
           __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
    return (b[0] + b[2]) + (b[1] + b[3]);
}

size_t firth_ns_batch_scratch(int m, int n, int dim) {
    size_t dp = ((size_t)dim + LANES - 1) / LANES * LANES;
    return 2 * ((size_t)m + (size_t)n) * dp + (size_t)m * n + LANES; /* + LANES: alignment */
}

static inline float dot16(const v16 *a, const v16 *b, int nc) {
    v16 acc = a[0] * b[0];
    for (int c = 1; c < nc; c++) acc += a[c] * b[c];
    return hsum16(acc);
}

/* Copies the n output rows `targets` into zero-padded vectors (n, nc) at dst. */
static void load_rows(v16 *dst, const float *out, const int32_t *targets, int n, int dim, int nc) {
    const size_t dp = (size_t)nc * LANES;
    for (int t = 0; t < n; t++) {
        float *d = (float *)(dst + (size_t)t * nc);
        memcpy(d, out + (size_t)targets[t] * (size_t)dim, (size_t)dim * sizeof(float));
        memset(d + dim, 0, (dp - (size_t)dim) * sizeof(float));
    }
}

/* Adds the steps (n, nc) to the output rows `targets` (adding: a row named twice gets both). */
static void add_rows(float *out, const v16 *step, const int32_t *targets, int n, int dim, int nc) {
    for (int t = 0; t < n; t++)
        firth_axpy(1.0f, (const float *)(step + (size_t)t * nc), out + (size_t)targets[t] * (size_t)dim, dim);
}

/* The kernels' bodies are inlined into their public functions once with the sizes as arguments
 * and again with the defaults' sizes fixed (dim 100 and 300, 5 noise words, CBOW blocks of 1 and
 * 2), so that for those the compiler unrolls the short loops over vectors, rows and targets and
 * copies rows with straight moves: a fifth less time per CBOW step and a tenth per skip-gram
 * window for the defaults (bench/RESULTS.md, run N). */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The rows are copied into zero-padded, aligned local blocks so that every inner loop runs over
 * whole 16-float vectors held in registers; the steps are computed into local blocks and added
 * to the shared rows at the end (adding, not copying back, so a row that appears twice gets both
 * steps, and other threads' concurrent updates are not overwritten wholesale). */
ALWAYS_INLINE float batch_step(const firth_sigmoid_table *tab, float *const *in_rows, int m,
                               float *out, const int32_t *targets, int n, int dim, float alpha,
                               float *scratch) {
    const int nc = (dim + LANES - 1) / LANES; /* vectors per row */
    const size_t dp = (size_t)nc * LANES;
    v16 *I = (v16 *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); /* (m, nc) */
    v16 *O = I + (size_t)m * nc;                                   /* (n, nc) */
    v16 *dI = O + (size_t)n * nc;                                  /* (m, nc) */
    v16 *dO = dI + (size_t)m * nc;                                 /* (n, nc) */
    float *G = (float *)(dO + (size_t)n * nc);                     /* (m, n) */
    for (int j = 0; j < m; j++) {
        float *dst = (float *)(I + (size_t)j * nc);
        memcpy(dst, in_rows[j], (size_t)dim * sizeof(float));
        memset(dst + dim, 0, (dp - (size_t)dim) * sizeof(float));
    }
    load_rows(O, out, targets, n, dim, nc);
    /* scores and G = alpha (label - sigma(score)) */
    float loss = 0.0f;
    float *S = G; /* the scores first, then G in place */
    for (int j = 0; j < m; j++) {
        const v16 *x = I + (size_t)j * nc;
        int t = 0;
        for (; t + 3 <= n; t += 3) { /* three targets at once: x is loaded once for three */
            const v16 *o0 = O + (size_t)t * nc, *o1 = o0 + nc, *o2 = o1 + nc;
            v16 a0 = x[0] * o0[0], a1 = x[0] * o1[0], a2 = x[0] * o2[0];
            for (int c = 1; c < nc; c++) {
                a0 += x[c] * o0[c];
                a1 += x[c] * o1[c];
                a2 += x[c] * o2[c];
            }
            S[j * n + t] = hsum16(a0);
            S[j * n + t + 1] = hsum16(a1);
            S[j * n + t + 2] = hsum16(a2);
        }
        for (; t < n; t++) S[j * n + t] = dot16(x, O + (size_t)t * nc, nc);
    }
    for (int j = 0; j < m; j++)
        for (int t = 0; t < n; t++) {
            float f = S[j * n + t];
            G[j * n + t] = ((t == 0 ? 1.0f : 0.0f) - firth_sigmoid(tab, f)) * alpha;
            loss += firth_neg_logsig(tab, t == 0 ? f : -f);
        }
    /* dI_j = sum_t G[j,t] O_t and dO_t = sum_j G[j,t] I_j, one register per vector */
    for (int j = 0; j < m; j++)
        for (int c = 0; c < nc; c++) {
            v16 acc = G[j * n] * O[c];
            for (int t = 1; t < n; t++) acc += G[j * n + t] * O[(size_t)t * nc + c];
            dI[(size_t)j * nc + c] = acc;
        }
    for (int t = 0; t < n; t++)
        for (int c = 0; c < nc; c++) {
            v16 acc = G[t] * I[c];
            for (int j = 1; j < m; j++) acc += G[j * n + t] * I[(size_t)j * nc + c];
            dO[(size_t)t * nc + c] = acc;
        }
    add_rows(out, dO, targets, n, dim, nc);
    for (int j = 0; j < m; j++) firth_axpy(1.0f, (const float *)(dI + (size_t)j * nc), in_rows[j], dim);
    return loss;
}

float firth_ns_batch_step(const firth_sigmoid_table *tab, float *const *in_rows, int m,
                          float *out, const int32_t *targets, int n, int dim, float alpha,
                          float *scratch) {
#define FIXED(D, N)                                                                              \
    if (dim == (D) && n == (N)) return batch_step(tab, in_rows, m, out, targets, N, D, alpha, scratch)
    FIXED(100, 6); /* a target and 5 noise words */
    FIXED(300, 6);
#undef FIXED
    return batch_step(tab, in_rows, m, out, targets, n, dim, alpha, scratch);
}

double firth_ns_batch_step_naive(float *const *in_rows, int m, float *out,
                                 const int32_t *targets, int n, int dim, double alpha) {
    double loss = 0.0;
    double *G = malloc((size_t)m * n * sizeof *G);
    double *din = calloc((size_t)m * dim, sizeof *din);
    double *dout = calloc((size_t)n * dim, sizeof *dout);
    if (!G || !din || !dout) {
        free(G), free(din), free(dout);
        return NAN;
    }
    for (int j = 0; j < m; j++)
        for (int t = 0; t < n; t++) {
            const float *o = out + (size_t)targets[t] * dim;
            double f = 0.0;
            for (int d = 0; d < dim; d++) f += (double)in_rows[j][d] * o[d];
            double label = t == 0 ? 1.0 : 0.0;
            G[j * n + t] = alpha * (label - sigmoid(f));
            loss -= t == 0 ? log_sigmoid(f) : log_sigmoid(-f);
        }
    for (int j = 0; j < m; j++)
        for (int t = 0; t < n; t++)
            for (int d = 0; d < dim; d++) {
                din[(size_t)j * dim + d] += G[j * n + t] * out[(size_t)targets[t] * dim + d];
                dout[(size_t)t * dim + d] += G[j * n + t] * in_rows[j][d];
            }
    for (int j = 0; j < m; j++)
        for (int d = 0; d < dim; d++) in_rows[j][d] += (float)din[(size_t)j * dim + d];
    for (int t = 0; t < n; t++)
        for (int d = 0; d < dim; d++) out[(size_t)targets[t] * dim + d] += (float)dout[(size_t)t * dim + d];
    free(G), free(din), free(dout);
    return loss;
}

/* ---------------------------------------------------------------------------------------- */
/* CBOW block: m consecutive centre words, each predicted from the mean of its own context    */
/* rows, against its own word and k noise words shared by the block (docs/derivations.md).    */
/* ---------------------------------------------------------------------------------------- */

size_t firth_ns_cbow_scratch(int m, int k, int dim) {
    size_t dp = ((size_t)dim + LANES - 1) / LANES * LANES;
    return 2 * (2 * (size_t)m + (size_t)k) * dp + (size_t)m * ((size_t)k + 1) + LANES;
}

ALWAYS_INLINE float cbow_step(const firth_sigmoid_table *tab, float *const *ctx, const int *nctx,
                              int m, float *out, const int32_t *targets, int k, int dim,
                              float alpha, float *scratch) {
    const int nc = (dim + LANES - 1) / LANES, n = m + k, g = k + 1;
    const size_t dp = (size_t)nc * LANES;
    v16 *H = (v16 *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); /* (m, nc) context means */
    v16 *O = H + (size_t)m * nc;                                   /* (n, nc) target rows */
    v16 *dH = O + (size_t)n * nc;                                  /* (m, nc) */
    v16 *dO = dH + (size_t)m * nc;                                 /* (n, nc) */
    float *G = (float *)(dO + (size_t)n * nc); /* (m, k + 1): own word, then the noise words */
    float *const *row = ctx;
    for (int j = 0; j < m; j++) {
        float *h = (float *)(H + (size_t)j * nc);
        memset(h, 0, dp * sizeof(float));
        for (int r = 0; r < nctx[j]; r++) firth_axpy(1.0f, row[r], h, dim);
        firth_scale(1.0f / (float)nctx[j], h, dim);
        row += nctx[j];
    }
    load_rows(O, out, targets, n, dim, nc);
    float loss = 0.0f;
    for (int j = 0; j < m; j++) {
        const v16 *h = H + (size_t)j * nc;
        float f = dot16(h, O + (size_t)j * nc, nc);
        G[j * g] = (1.0f - firth_sigmoid(tab, f)) * alpha;
        loss += firth_neg_logsig(tab, f);
        for (int t = 0; t < k; t++) {
            if (targets[m + t] == targets[j]) { /* a noise word equal to the centre is skipped */
                G[j * g + 1 + t] = 0.0f;
                continue;
            }
            f = dot16(h, O + (size_t)(m + t) * nc, nc);
            G[j * g + 1 + t] = -firth_sigmoid(tab, f) * alpha;
            loss += firth_neg_logsig(tab, -f);
        }
    }
    /* dH_j = G[j,0] O_j + sum_t G[j,1+t] O_{m+t};  dO_j = G[j,0] H_j;  dO_{m+t} = sum_j G[j,1+t] H_j */
    for (int j = 0; j < m; j++)
        for (int c = 0; c < nc; c++) {
            v16 acc = G[j * g] * O[(size_t)j * nc + c];
            for (int t = 0; t < k; t++) acc += G[j * g + 1 + t] * O[(size_t)(m + t) * nc + c];
            dH[(size_t)j * nc + c] = acc;
            dO[(size_t)j * nc + c] = G[j * g] * H[(size_t)j * nc + c];
        }
    for (int t = 0; t < k; t++)
        for (int c = 0; c < nc; c++) {
            v16 acc = G[1 + t] * H[c];
            for (int j = 1; j < m; j++) acc += G[j * g + 1 + t] * H[(size_t)j * nc + c];
            dO[(size_t)(m + t) * nc + c] = acc;
        }
    add_rows(out, dO, targets, n, dim, nc);
    /* every context row of centre j receives h_j's whole step, as word2vec.c, gensim and fastText */
    row = ctx;
    for (int j = 0; j < m; j++) {
        for (int r = 0; r < nctx[j]; r++)
            firth_axpy(1.0f, (const float *)(dH + (size_t)j * nc), row[r], dim);
        row += nctx[j];
    }
    return loss;
}

float firth_ns_cbow_step(const firth_sigmoid_table *tab, float *const *ctx, const int *nctx,
                         int m, float *out, const int32_t *targets, int k, int dim, float alpha,
                         float *scratch) {
#define FIXED(D, M, K)                                                                           \
    if (dim == (D) && m == (M) && k == (K))                                                      \
    return cbow_step(tab, ctx, nctx, M, out, targets, K, D, alpha, scratch)
    FIXED(100, 1, 5);
    FIXED(100, 2, 5);
    FIXED(300, 1, 5);
    FIXED(300, 2, 5);
#undef FIXED
    return cbow_step(tab, ctx, nctx, m, out, targets, k, dim, alpha, scratch);
}

double firth_ns_cbow_step_naive(float *const *ctx, const int *nctx, int m, float *out,
                                const int32_t *targets, int k, int dim, double alpha) {
    int n = m + k;
    double *h = calloc((size_t)m * dim, sizeof *h);
    double *dh = calloc((size_t)m * dim, sizeof *dh);
    double *dout = calloc((size_t)n * dim, sizeof *dout);
    if (!h || !dh || !dout) {
        free(h), free(dh), free(dout);
        return NAN;
    }
    double loss = 0.0;
    for (int j = 0, r0 = 0; j < m; r0 += nctx[j], j++) {
        double *hj = h + (size_t)j * dim;
        for (int r = r0; r < r0 + nctx[j]; r++)
            for (int d = 0; d < dim; d++) hj[d] += ctx[r][d];
        for (int d = 0; d < dim; d++) hj[d] /= nctx[j];
        /* column j is this centre's word (label 1); columns m.. the shared noise words (label 0,
         * skipped when equal to the centre word); the other centres' words are not its targets */
        for (int t = 0; t < n; t++) {
            if (t < m && t != j) continue;
            if (t >= m && targets[t] == targets[j]) continue;
            const float *o = out + (size_t)targets[t] * dim;
            double f = 0.0;
            for (int d = 0; d < dim; d++) f += hj[d] * o[d];
            double label = t == j ? 1.0 : 0.0, gj = alpha * (label - sigmoid(f));
            loss -= t == j ? log_sigmoid(f) : log_sigmoid(-f);
            for (int d = 0; d < dim; d++) {
                dh[(size_t)j * dim + d] += gj * o[d];
                dout[(size_t)t * dim + d] += gj * hj[d];
            }
        }
    }
    for (int t = 0; t < n; t++)
        for (int d = 0; d < dim; d++) out[(size_t)targets[t] * dim + d] += (float)dout[(size_t)t * dim + d];
    for (int j = 0, r0 = 0; j < m; r0 += nctx[j], j++)
        for (int r = r0; r < r0 + nctx[j]; r++)
            for (int d = 0; d < dim; d++) ctx[r][d] += (float)dh[(size_t)j * dim + d];
    free(h), free(dh), free(dout);
    return loss;
}
