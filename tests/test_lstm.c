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
 *  3. central finite differences of a loss sum_t r_t . h_t (r random) computed from the FAST
 *     forward, against the fast backward: every weight, bias, input and initial-state gradient.
 * The PyTorch comparison of the whole model is in test_charlm.c. Largest differences printed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
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
    {"lstm_finite_differences", test_lstm_finite_differences},
    TEST_END,
};
