/* test_lstm.c - the LSTM layer.
 *
 * References:
 *  1. the vectorised sigmoid and tanh against libm (double) on a dense grid over [-30, 30];
 *  2. the fast layer (batched sgemm, fused gates) against the naive loops, dense and one-hot
 *     input (one-hot also with per-row input scales, as input dropout), odd sizes (vector
 *     remainders), non-zero initial state: activations, states and every gradient;
 *  2b. the same fast layer on 2, 3 and 8 threads (acts.pool: each step split by hidden units,
 *     some parts empty when there are more threads than units) against the naive loops, and
 *     a second run on as many threads against the first (repeatable to the bit);
 *  2c. the fast layer with bfloat16 products (acts.bf16) on 1, 2 and 3 threads against a
 *     reference in double written here that rounds the operands of every product to bfloat16
 *     (frexp / nearbyint) and nothing else; it must be far closer to that than to float;
 *  3. central finite differences of a loss sum_t r_t . h_t (r random) computed from the FAST
 *     forward, against the fast backward: every weight, bias, input and initial-state gradient.
 * The PyTorch comparison of the whole model is in test_charlm.c. Largest differences printed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/bpanel.h"
#include "core/pool.h"
#include "core/rng.h"
#include "lm/lstm.h"

#undef I /* complex.h's, through cblas.h; the layer below has a field I */

static void fill(firth_rng *rng, float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * firth_rng_double(rng) - 1.0) * scale);
}

static void test_lstm_activations(void) {
    double es = 0, et = 0;
    enum { N = 600001 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    for (int i = 0; i < N; i++) a[i] = b[i] = (float)(-30.0 + 60.0 * i / (N - 1));
    a[N / 2] = b[N / 2] = 1e-30f; /* tiny values keep their relative precision */
    firth_lstm_sigmoid(a, N);
    firth_lstm_tanh(b, N);
    double tiny_rel = 0;
    for (int i = 0; i < N; i++) {
        double x = (double)((i == N / 2) ? 1e-30f : (float)(-30.0 + 60.0 * i / (N - 1)));
        double s = 1.0 / (1.0 + exp(-x)), t = tanh(x);
        double rs = fabs(a[i] - s) / s;
        es = rs > es ? rs : es;
        et = fabs(b[i] - t) > et ? fabs(b[i] - t) : et;
        if (fabs(x) < 0.125 && x != 0) {
            double r = fabs(b[i] - t) / fabs(t);
            tiny_rel = r > tiny_rel ? r : tiny_rel;
        }
    }
    printf("    sigmoid: largest relative error %.3g; tanh: largest absolute error %.3g, "
           "relative below 1/8 %.3g\n", es, et, tiny_rel);
    CHECK(es < 1e-6, "sigmoid relative error %g", es);
    CHECK(et < 2e-7, "tanh absolute error %g", et);
    CHECK(tiny_rel < 1e-6, "tanh relative error near 0: %g", tiny_rel);
    free(a), free(b);
}

/* A layer problem with its own buffers. */
typedef struct layer {
    int T, B, I, H, onehot;
    float *x, *wx, *wh, *b, *h0, *c0, *dh;
    int32_t *ids;
    float *scale; /* one-hot mode 2: the rows' input scales (input dropout), else NULL */
    firth_lstm_acts a;
    float *gwx, *gwh, *gb, *dx, *dh0, *dc0;
} layer;

static void layer_init(layer *L, int T, int B, int I, int H, int onehot, uint64_t seed) {
    firth_rng rng;
    firth_rng_seed(&rng, seed);
    memset(L, 0, sizeof *L);
    L->T = T, L->B = B, L->I = I, L->H = H, L->onehot = onehot;
    size_t G = 4 * (size_t)H, TB = (size_t)T * B, BH = (size_t)B * H;
    L->x = malloc(TB * I * sizeof(float)), L->ids = malloc(TB * sizeof(int32_t));
    L->wx = malloc((size_t)I * G * sizeof(float)), L->wh = malloc((size_t)H * G * sizeof(float));
    L->b = malloc(G * sizeof(float));
    L->h0 = malloc(BH * sizeof(float)), L->c0 = malloc(BH * sizeof(float));
    L->dh = malloc(TB * H * sizeof(float));
    fill(&rng, L->x, TB * I, 1.0), fill(&rng, L->wx, (size_t)I * G, 0.6);
    fill(&rng, L->wh, (size_t)H * G, 0.6), fill(&rng, L->b, G, 0.5);
    fill(&rng, L->h0, BH, 0.8), fill(&rng, L->c0, BH, 1.5), fill(&rng, L->dh, TB * H, 1.0);
    for (size_t r = 0; r < TB; r++) L->ids[r] = (int32_t)firth_rng_below(&rng, (uint32_t)I);
    L->scale = NULL;
    if (onehot == 2) { /* dropped (0) or kept and scaled by 1 / (1 - 0.3), a third dropped */
        L->scale = malloc(TB * sizeof(float));
        for (size_t r = 0; r < TB; r++)
            L->scale[r] = firth_rng_below(&rng, 3) == 0 ? 0.0f : (float)(1.0 / 0.7);
    }
    L->a.gates = calloc(TB * G, sizeof(float)), L->a.dgates = calloc(TB * G, sizeof(float));
    L->a.c = calloc((T + 1) * BH, sizeof(float)), L->a.h = calloc((T + 1) * BH, sizeof(float));
    L->a.tc = calloc(TB * H, sizeof(float)), L->a.dhc = calloc(2 * BH, sizeof(float));
    L->gwx = calloc((size_t)I * G, sizeof(float)), L->gwh = calloc((size_t)H * G, sizeof(float));
    L->gb = calloc(G, sizeof(float)), L->dx = calloc(TB * I, sizeof(float));
    L->dh0 = calloc(BH, sizeof(float)), L->dc0 = calloc(BH, sizeof(float));
}

/* The scratch of the threaded steps, for a pool of `threads`. */
static void layer_threads(layer *L, firth_pool *pool) {
    size_t n = firth_lstm_par_floats(L->B, L->H, firth_pool_threads(pool));
    L->a.pool = pool;
    /* filled with NaN: nothing may depend on what the scratch holds on entry (a NaN read from
     * there before being written would show in the results) */
    L->a.par = malloc(n * sizeof(float));
    if (L->a.par) memset(L->a.par, 0xff, n * sizeof(float));
}

static void layer_free(layer *L) {
    free(L->a.par);
    free(L->x), free(L->ids), free(L->wx), free(L->wh), free(L->b), free(L->h0), free(L->c0);
    free(L->dh), free(L->a.gates), free(L->a.dgates), free(L->a.c), free(L->a.h), free(L->a.tc);
    free(L->a.dhc), free(L->gwx), free(L->gwh), free(L->gb), free(L->dx), free(L->dh0);
    free(L->dc0), free(L->scale);
}

static void run_forward(layer *L, int naive) {
    size_t BH = (size_t)L->B * L->H;
    memcpy(L->a.h, L->h0, BH * sizeof(float));
    memcpy(L->a.c, L->c0, BH * sizeof(float));
    firth_lstm_weights w = {L->wx, L->wh, L->b};
    (naive ? firth_lstm_forward_naive : firth_lstm_forward)(
        L->T, L->B, L->I, L->H, L->onehot ? NULL : L->x, L->onehot ? L->ids : NULL, L->scale, &w,
        &L->a);
}

static void run_backward(layer *L, int naive) {
    size_t G = 4 * (size_t)L->H;
    memset(L->gwx, 0, (size_t)L->I * G * sizeof(float));
    memset(L->gwh, 0, (size_t)L->H * G * sizeof(float));
    memset(L->gb, 0, G * sizeof(float));
    firth_lstm_weights w = {L->wx, L->wh, L->b};
    firth_lstm_grads g = {L->gwx, L->gwh, L->gb};
    (naive ? firth_lstm_backward_naive : firth_lstm_backward)(
        L->T, L->B, L->I, L->H, L->onehot ? NULL : L->x, L->onehot ? L->ids : NULL, L->scale, &w,
        &L->a, L->dh, &g, L->onehot ? NULL : L->dx, L->dh0, L->dc0);
}

static double maxdiff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double s = fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) : fabs(b[i]);
        double d = fabs(a[i] - b[i]) / (s > 1 ? s : 1);
        m = d > m ? d : m;
    }
    return m;
}

static float *dup(const float *x, size_t n) {
    float *y = malloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    return y;
}

static void test_lstm_fast_vs_naive(void) {
    const int shapes[][5] = {{5, 3, 7, 6, 0}, {4, 2, 9, 33, 0}, {6, 4, 11, 17, 1}, {1, 1, 3, 5, 0},
                             {3, 5, 20, 64, 1}, {5, 4, 9, 19, 2}};
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int *d = shapes[s];
        layer F, N;
        layer_init(&F, d[0], d[1], d[2], d[3], d[4], 100 + s);
        layer_init(&N, d[0], d[1], d[2], d[3], d[4], 100 + s);
        run_forward(&F, 0), run_forward(&N, 1);
        run_backward(&F, 0), run_backward(&N, 1);
        size_t G = 4 * (size_t)d[3], TB = (size_t)d[0] * d[1], BH = (size_t)d[1] * d[3];
        struct { const char *name; const float *a, *b; size_t n; } cmp[] = {
            {"gates", F.a.gates, N.a.gates, TB * G},
            {"h", F.a.h, N.a.h, (TB + d[1]) * d[3]},
            {"c", F.a.c, N.a.c, (TB + d[1]) * d[3]},
            {"dgates", F.a.dgates, N.a.dgates, TB * G},
            {"dWx", F.gwx, N.gwx, (size_t)d[2] * G},
            {"dWh", F.gwh, N.gwh, (size_t)d[3] * G},
            {"db", F.gb, N.gb, G},
            {"dx", F.dx, N.dx, d[4] ? 0 : TB * d[2]},
            {"dh0", F.dh0, N.dh0, BH},
            {"dc0", F.dc0, N.dc0, BH},
        };
        for (size_t k = 0; k < sizeof cmp / sizeof *cmp; k++) {
            double e = maxdiff(cmp[k].a, cmp[k].b, cmp[k].n);
            worst = e > worst ? e : worst;
            CHECK(e < 2e-5, "shape T%d B%d I%d H%d %s: %s differs by %.3g", d[0], d[1], d[2],
                  d[3], d[4] == 2 ? "one-hot scaled" : d[4] ? "one-hot" : "dense", cmp[k].name, e);
        }
        layer_free(&F), layer_free(&N);
    }
    printf("    fast vs naive: largest relative difference %.3g\n", worst);
}

static void test_lstm_threads_vs_naive(void) {
    const int shapes[][5] = {{5, 3, 7, 6, 0}, {4, 2, 9, 33, 0}, {6, 4, 11, 17, 1}, {1, 1, 3, 5, 0},
                             {3, 5, 20, 64, 1}, {5, 4, 9, 19, 2}, {7, 16, 40, 48, 0}, {3, 70, 5, 13, 1}};
    const int counts[] = {1, 2, 3, 8}; /* 1: the packed steps on the caller alone */
    double worst = 0;
    openblas_set_num_threads(1); /* each of the pool's threads calls OpenBLAS on its own */
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        firth_pool *pool = NULL;
        firth_error err = {0};
        CHECK(firth_pool_new(counts[c], &pool, &err) == FIRTH_OK, "pool: %s", err.message);
        if (!pool) return;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            const int *d = shapes[s];
            layer F, R, N;
            layer_init(&F, d[0], d[1], d[2], d[3], d[4], 300 + s);
            layer_init(&R, d[0], d[1], d[2], d[3], d[4], 300 + s);
            layer_init(&N, d[0], d[1], d[2], d[3], d[4], 300 + s);
            layer_threads(&F, pool), layer_threads(&R, pool);
            run_forward(&F, 0), run_forward(&R, 0), run_forward(&N, 1);
            run_backward(&F, 0), run_backward(&R, 0), run_backward(&N, 1);
            size_t G = 4 * (size_t)d[3], TB = (size_t)d[0] * d[1], BH = (size_t)d[1] * d[3];
            struct { const char *name; const float *a, *r, *b; size_t n; } cmp[] = {
                {"gates", F.a.gates, R.a.gates, N.a.gates, TB * G},
                {"h", F.a.h, R.a.h, N.a.h, (TB + d[1]) * d[3]},
                {"c", F.a.c, R.a.c, N.a.c, (TB + d[1]) * d[3]},
                {"dgates", F.a.dgates, R.a.dgates, N.a.dgates, TB * G},
                {"dWx", F.gwx, R.gwx, N.gwx, (size_t)d[2] * G},
                {"dWh", F.gwh, R.gwh, N.gwh, (size_t)d[3] * G},
                {"db", F.gb, R.gb, N.gb, G},
                {"dx", F.dx, R.dx, N.dx, d[4] ? 0 : TB * d[2]},
                {"dh0", F.dh0, R.dh0, N.dh0, BH},
                {"dc0", F.dc0, R.dc0, N.dc0, BH},
            };
            for (size_t k = 0; k < sizeof cmp / sizeof *cmp; k++) {
                double e = maxdiff(cmp[k].a, cmp[k].b, cmp[k].n);
                worst = e > worst ? e : worst;
                CHECK(e < 2e-5, "%d threads, T%d B%d I%d H%d: %s differs from naive by %.3g",
                      counts[c], d[0], d[1], d[2], d[3], cmp[k].name, e);
                CHECK(memcmp(cmp[k].a, cmp[k].r, cmp[k].n * sizeof(float)) == 0,
                      "%d threads, T%d B%d I%d H%d: %s not repeatable", counts[c], d[0], d[1],
                      d[2], d[3], cmp[k].name);
            }
            layer_free(&F), layer_free(&R), layer_free(&N);
        }
        firth_pool_free(pool);
    }
    printf("    1, 2, 3, 8 threads vs naive: largest relative difference %.3g\n", worst);
}

/* x rounded to bfloat16 (8 significant bits, ties to even), by other means than core/bpanel.h */
static double r8(double x) {
    float f = (float)x;
    if (f == 0.0f) return 0.0;
    int e;
    double m = frexp((double)f, &e);
    return ldexp(nearbyint(ldexp(m, 8)), e - 8);
}

static double sgm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* What the layer computes with bfloat16 products, one step at a time, in double: every operand
 * of a matrix product rounded to bfloat16 (the one-hot input's row of Wx is a gather, not a
 * product: not rounded). Each step starts from the fast layer's own float results of the step
 * before (F's h, c, gates, dgates), so that the rounding of an operand is the same value on both
 * sides: a value within a float rounding of a bfloat16 tie, rounded from a double computed
 * here, could go the other way and move the whole next step by a bfloat16 step. Out: gates
 * (T B 4H, after the non-linearities), h and c ((T + 1) B H, from step 1), da (T B 4H), the
 * weight gradients, dx (dense input only), dh0, dc0. */
typedef struct bref {
    double *gates, *h, *c, *da, *gwx, *gwh, *gb, *dx, *dh0, *dc0;
} bref;

static void bf16_reference(const layer *L, bref *R) {
    const int T = L->T, B = L->B, I = L->I, H = L->H, G = 4 * H;
    const size_t BH = (size_t)B * H;
    const float *fh = L->a.h, *fc = L->a.c, *fg = L->a.gates, *fda = L->a.dgates;
    double *dcn = calloc(BH, sizeof(double));
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)t * B + b;
            double *a = R->gates + r * G;
            for (int k = 0; k < G; k++) {
                double s = L->b[k];
                if (L->onehot)
                    s += (L->scale ? L->scale[r] : 1.0) * L->wx[(size_t)L->ids[r] * G + k];
                else
                    for (int i = 0; i < I; i++)
                        s += r8(L->x[r * I + i]) * r8(L->wx[(size_t)i * G + k]);
                for (int j = 0; j < H; j++)
                    s += r8(fh[(size_t)t * BH + (size_t)b * H + j]) * r8(L->wh[(size_t)j * G + k]);
                a[k] = k < 3 * H ? sgm(s) : tanh(s);
            }
            const float *g = fg + r * G;
            for (int j = 0; j < H; j++) {
                const size_t p = (size_t)t * BH + (size_t)b * H + j;
                R->c[p + BH] = (double)g[H + j] * fc[p] + (double)g[j] * g[3 * H + j];
                R->h[p + BH] = g[2 * H + j] * tanh((double)fc[p + BH]);
            }
        }
    for (int t = T - 1; t >= 0; t--)
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)t * B + b;
            const float *a = fg + r * G;
            double *d = R->da + r * G;
            for (int j = 0; j < H; j++) {
                const size_t p = (size_t)t * BH + (size_t)b * H + j, q = (size_t)b * H + j;
                double dhn = 0; /* from step t + 1: its da (the fast layer's) times Wh^T */
                if (t + 1 < T)
                    for (int k = 0; k < G; k++)
                        dhn += r8(fda[(r + B) * G + k]) * r8(L->wh[(size_t)j * G + k]);
                double i = a[j], f = a[H + j], o = a[2 * H + j], g = a[3 * H + j];
                double tc = tanh((double)fc[p + BH]), dh = L->dh[p] + dhn;
                double dc = dcn[q] + dh * o * (1 - tc * tc);
                d[2 * H + j] = dh * tc * o * (1 - o);
                d[j] = dc * g * i * (1 - i);
                d[H + j] = dc * fc[p] * f * (1 - f);
                d[3 * H + j] = dc * i * (1 - g * g);
                dcn[q] = dc * f;
            }
        }
    for (int b = 0; b < B; b++) /* dh_0 = da_0 Wh^T */
        for (int j = 0; j < H; j++) {
            double s = 0;
            for (int k = 0; k < G; k++) s += r8(fda[(size_t)b * G + k]) * r8(L->wh[(size_t)j * G + k]);
            R->dh0[(size_t)b * H + j] = s, R->dc0[(size_t)b * H + j] = dcn[(size_t)b * H + j];
        }
    memset(R->gwx, 0, (size_t)I * G * sizeof(double));
    memset(R->gwh, 0, (size_t)H * G * sizeof(double));
    memset(R->gb, 0, (size_t)G * sizeof(double));
    for (size_t r = 0; r < (size_t)T * B; r++) {
        const float *d = fda + r * G;
        for (int k = 0; k < G; k++) {
            R->gb[k] += d[k];
            for (int j = 0; j < H; j++) R->gwh[(size_t)j * G + k] += r8(fh[r * H + j]) * r8(d[k]);
            if (L->onehot)
                R->gwx[(size_t)L->ids[r] * G + k] += (L->scale ? L->scale[r] : 1.0) * d[k];
            else
                for (int i = 0; i < I; i++) R->gwx[(size_t)i * G + k] += r8(L->x[r * I + i]) * r8(d[k]);
        }
        if (!L->onehot)
            for (int i = 0; i < I; i++) {
                double s = 0;
                for (int k = 0; k < G; k++) s += r8(d[k]) * r8(L->wx[(size_t)i * G + k]);
                R->dx[r * I + i] = s;
            }
    }
    free(dcn);
}

/* Largest |a - r| relative to max(1, |r|), and ||a - b|| / ||b|| (2-norms; 0 for a zero b). */
static double maxdiff_d(const float *a, const double *r, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - r[i]) / (fabs(r[i]) > 1 ? fabs(r[i]) : 1);
        m = d > m ? d : m;
    }
    return m;
}

static double normdiff_f(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), s += (double)b[i] * b[i];
    return s > 0 ? sqrt(d / s) : 0;
}

static void test_lstm_bf16(void) {
    const int shapes[][5] = {{5, 3, 7, 6, 0}, {4, 2, 9, 33, 0}, {6, 4, 11, 17, 1}, {1, 1, 3, 5, 0},
                             {3, 5, 20, 64, 1}, {5, 4, 9, 19, 2}, {7, 16, 40, 48, 0}};
    const int counts[] = {1, 2, 3};
    double worst = 0, closest_float = 1e30;
    openblas_set_num_threads(1);
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        firth_pool *pool = NULL;
        firth_error err = {0};
        if (counts[c] > 1) {
            CHECK(firth_pool_new(counts[c], &pool, &err) == FIRTH_OK, "pool: %s", err.message);
            if (!pool) return;
        }
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            const int *d = shapes[s], T = d[0], B = d[1], I = d[2], H = d[3];
            const size_t G = 4 * (size_t)H, TB = (size_t)T * B, BH = (size_t)B * H;
            layer F, N;
            layer_init(&F, T, B, I, H, d[4], 500 + s);
            layer_init(&N, T, B, I, H, d[4], 500 + s);
            layer_threads(&F, pool);
            /* the bfloat16 scratch filled with NaN patterns too */
            size_t np = firth_lstm_bpar_elems(B, H, firth_pool_threads(pool));
            size_t ns = firth_lstm_bscr_elems(T, B, d[4] ? 0 : I, H);
            F.a.bpar = malloc(np * sizeof(uint16_t)), F.a.bscr = malloc(ns * sizeof(uint16_t));
            if (F.a.bpar) memset(F.a.bpar, 0xff, np * sizeof(uint16_t));
            if (F.a.bscr) memset(F.a.bscr, 0xff, ns * sizeof(uint16_t));
            F.a.bf16 = 1;
            run_forward(&F, 0), run_forward(&N, 1);
            run_backward(&F, 0), run_backward(&N, 1);
            bref R;
            R.gates = malloc(TB * G * sizeof(double)), R.da = malloc(TB * G * sizeof(double));
            R.h = malloc((TB + B) * H * sizeof(double)), R.c = malloc((TB + B) * H * sizeof(double));
            R.gwx = malloc((size_t)I * G * sizeof(double)), R.gwh = malloc((size_t)H * G * sizeof(double));
            R.gb = malloc(G * sizeof(double)), R.dx = malloc(TB * I * sizeof(double));
            R.dh0 = malloc(BH * sizeof(double)), R.dc0 = malloc(BH * sizeof(double));
            bf16_reference(&F, &R);
            struct { const char *name; const float *a, *f; const double *r; size_t n; } cmp[] = {
                {"gates", F.a.gates, N.a.gates, R.gates, TB * G},
                {"h", F.a.h + BH, N.a.h + BH, R.h + BH, TB * H},
                {"c", F.a.c + BH, N.a.c + BH, R.c + BH, TB * H},
                {"dgates", F.a.dgates, N.a.dgates, R.da, TB * G},
                {"dWx", F.gwx, N.gwx, R.gwx, (size_t)I * G},
                {"dWh", F.gwh, N.gwh, R.gwh, (size_t)H * G},
                {"db", F.gb, N.gb, R.gb, G},
                {"dx", F.dx, N.dx, R.dx, d[4] ? 0 : TB * I},
                {"dh0", F.dh0, N.dh0, R.dh0, BH},
                {"dc0", F.dc0, N.dc0, R.dc0, BH},
            };
            double vs_ref = 0, vs_float = 0;
            for (size_t k = 0; k < sizeof cmp / sizeof *cmp; k++) {
                double e = maxdiff_d(cmp[k].a, cmp[k].r, cmp[k].n);
                double ef = normdiff_f(cmp[k].a, cmp[k].f, cmp[k].n);
                vs_ref = e > vs_ref ? e : vs_ref;
                vs_float = ef > vs_float ? ef : vs_float;
                CHECK(e < 1e-5, "%d threads, T%d B%d I%d H%d: bfloat16 %s differs from the "
                      "reference by %.3g", counts[c], T, B, I, H, cmp[k].name, e);
            }
            /* the bfloat16 path did run: its results are a bfloat16 step (~1e-3) from float's,
             * norm-wise, and within float's rounding of its reference */
            CHECK(vs_float > 1e-4 && vs_float > 20 * vs_ref, "%d threads, T%d B%d I%d H%d: %.3g from float, %.3g "
                  "from the bfloat16 reference", counts[c], T, B, I, H, vs_float, vs_ref);
            worst = vs_ref > worst ? vs_ref : worst;
            closest_float = vs_float < closest_float ? vs_float : closest_float;
            free(R.gates), free(R.da), free(R.h), free(R.c), free(R.gwx), free(R.gwh), free(R.gb), free(R.dx), free(R.dh0);
            free(R.dc0);
            free(F.a.bpar), free(F.a.bscr);
            layer_free(&F), layer_free(&N);
        }
        firth_pool_free(pool);
    }
    printf("    bfloat16 products on 1, 2, 3 threads: largest relative difference %.3g from the "
           "double reference with rounded operands; norm-wise %.3g at least from float\n", worst,
           closest_float);
}

/* loss = sum_t sum_b r . h_t, in double from the fast forward; the layer's dh holds r. */
static double fd_loss(layer *L) {
    run_forward(L, 0);
    size_t BH = (size_t)L->B * L->H, TB = (size_t)L->T * L->B;
    double s = 0;
    for (size_t k = 0; k < TB * (size_t)L->H; k++) s += (double)L->dh[k] * L->a.h[BH + k];
    return s;
}

/* Central difference of the loss in *p against the analytic gradient value `an`. */
static double fd_one(layer *L, float *p, double an, double *worst_abs) {
    const float eps = 4e-3f;
    float p0 = *p;
    *p = p0 + eps;
    float up = *p;
    double lp = fd_loss(L);
    *p = p0 - eps;
    float dn = *p;
    double lm = fd_loss(L);
    *p = p0;
    double fd = (lp - lm) / ((double)up - (double)dn);
    double e = fabs(fd - an) / (fabs(an) > 1 ? fabs(an) : 1);
    if (e > *worst_abs) *worst_abs = e;
    return e;
}

static void test_lstm_finite_differences(void) {
    for (int onehot = 0; onehot < 3; onehot++) {
        layer L;
        layer_init(&L, 4, 3, 5, 4, onehot, 7 + onehot);
        run_forward(&L, 0);
        run_backward(&L, 0);
        size_t G = 16, BH = 12;
        float *gwx = dup(L.gwx, 5 * G), *gwh = dup(L.gwh, 4 * G), *gb = dup(L.gb, G);
        float *dx = dup(L.dx, 60), *dh0 = dup(L.dh0, BH), *dc0 = dup(L.dc0, BH);
        double worst = 0;
        int bad = 0;
        const double tol = 5e-4;
        for (size_t k = 0; k < 5 * G; k++) bad += fd_one(&L, &L.wx[k], gwx[k], &worst) > tol;
        for (size_t k = 0; k < 4 * G; k++) bad += fd_one(&L, &L.wh[k], gwh[k], &worst) > tol;
        for (size_t k = 0; k < G; k++) bad += fd_one(&L, &L.b[k], gb[k], &worst) > tol;
        if (!onehot)
            for (size_t k = 0; k < 60; k++) bad += fd_one(&L, &L.x[k], dx[k], &worst) > tol;
        for (size_t k = 0; k < BH; k++) bad += fd_one(&L, &L.h0[k], dh0[k], &worst) > tol;
        for (size_t k = 0; k < BH; k++) bad += fd_one(&L, &L.c0[k], dc0[k], &worst) > tol;
        printf("    finite differences (%s input): largest difference %.3g (tolerance %.0e)\n",
               onehot == 2 ? "one-hot scaled" : onehot ? "one-hot" : "dense", worst, tol);
        CHECK(bad == 0, "%d gradients differ from finite differences by more than %g (worst %g)",
              bad, tol, worst);
        free(gwx), free(gwh), free(gb), free(dx), free(dh0), free(dc0);
        layer_free(&L);
    }
}

const test_case tests_lstm[] = {
    {"lstm_activations", test_lstm_activations},
    {"lstm_fast_vs_naive", test_lstm_fast_vs_naive},
    {"lstm_threads_vs_naive", test_lstm_threads_vs_naive},
    {"lstm_bf16", test_lstm_bf16},
    {"lstm_finite_differences", test_lstm_finite_differences},
    TEST_END,
};
