/* test_loss.c - the three output layers (negative sampling, hierarchical softmax, full softmax).
 *
 * References, in order of independence:
 *  1. known answers at h = 0 worked by hand (every logit 0: loss n log 2 or log V, and simple
 *     closed forms for the gradient);
 *  2. central finite differences of the naive double-precision loss, against its analytic
 *     gradients with respect to h and to every output row, on random cases (dim 8..16);
 *  3. the fast single-precision SGD steps against -alpha * the naive gradient, with a tolerance
 *     derived from the sigmoid table's error (|error| < 1e-3; in fact half a bin times the
 *     largest slope, 16/4096/2 * 1/4 = 4.9e-4): the step's coefficient alpha * (label - sigma)
 *     may be off by alpha * 1e-3, so each element may be off by alpha * 1e-3 * |its factor|.
 * The largest differences are printed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "embed/loss.h"
#include "embed/sigmoid.h"

#define TABLE_ERR 1e-3 /* the sigmoid table's promised bound */

static void fill(firth_rng *rng, float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * firth_rng_double(rng) - 1.0) * scale);
}

/* k distinct ids below n (partial Fisher-Yates) */
static void distinct(firth_rng *rng, int32_t *out, int k, int n) {
    int32_t *perm = malloc((size_t)n * sizeof *perm);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)firth_rng_below(rng, (uint32_t)(n - i));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        out[i] = perm[i];
    }
    free(perm);
}

/* A loss as a function of (h, output matrix), for finite differences. */
typedef struct problem {
    int kind; /* 0 NS, 1 HS, 2 softmax */
    int dim, rows;
    int n;           /* targets (NS) or path length (HS) */
    int32_t ids[16]; /* targets (NS) or points (HS) */
    uint8_t codes[16];
    int target; /* softmax */
} problem;

static double eval(const problem *pb, const float *h, const float *out, double *gh, double *gout) {
    switch (pb->kind) {
    case 0:
        return firth_ns_loss_naive(h, out, pb->ids, pb->n, pb->dim, gh, gout);
    case 1:
        return firth_hs_loss_naive(h, out, pb->ids, pb->codes, pb->n, pb->dim, gh, gout);
    default:
        return firth_softmax_loss_naive(h, out, pb->rows, pb->target, pb->dim, gh, gout);
    }
}

/* Row of the output matrix that gradient row j belongs to. */
static int grad_row(const problem *pb, int j) { return pb->kind == 2 ? j : pb->ids[j]; }
static int grad_rows(const problem *pb) { return pb->kind == 2 ? pb->rows : pb->n; }

static const char *const kind_name[] = {"NS", "HS", "softmax"};

typedef struct stats {
    double fd_max;      /* largest |finite difference - analytic gradient| */
    double step_max;    /* largest |fast step - (-alpha * naive gradient)| */
    double implied_max; /* the largest coefficient error that step difference implies */
    double loss_max;    /* largest |fast loss - naive loss| */
} stats;

/* Central differences: d loss / d x ~ (L(x + e) - L(x - e)) / (x+e - (x-e)), the denominator taken
 * from the float values actually used. */
static double central(const problem *pb, float *h, float *out, float *x, double eps) {
    float x0 = *x;
    *x = (float)(x0 + eps);
    double xp = *x, lp = eval(pb, h, out, NULL, NULL);
    *x = (float)(x0 - eps);
    double xm = *x, lm = eval(pb, h, out, NULL, NULL);
    *x = x0;
    return (lp - lm) / (xp - xm);
}

static void check_problem(const problem *pb, float *h, float *out, stats *st, const char *what) {
    const int D = pb->dim, R = grad_rows(pb);
    double *gh = malloc((size_t)D * sizeof *gh);
    double *gout = malloc((size_t)R * D * sizeof *gout);
    double loss = eval(pb, h, out, gh, gout);
    CHECK(isfinite(loss) && loss >= 0.0, "%s: loss %g", what, loss);
    /* gradients with NULL pointers give the same loss */
    CHECK(eval(pb, h, out, NULL, NULL) == loss, "%s: loss depends on the gradient pointers", what);
    const double eps = 2e-4, tol = 1e-6;
    int bad = 0;
    for (int d = 0; d < D; d++) {
        double num = central(pb, h, out, &h[d], eps), diff = fabs(num - gh[d]);
        if (diff > st->fd_max) st->fd_max = diff;
        if (diff > tol * (1.0 + fabs(gh[d])) && bad++ < 3)
            fprintf(stderr, "    %s: d/dh[%d]: analytic %.9g, numeric %.9g\n", what, d, gh[d], num);
    }
    for (int j = 0; j < R; j++)
        for (int d = 0; d < D; d++) {
            float *x = &out[(size_t)grad_row(pb, j) * D + d];
            double g = gout[(size_t)j * D + d], num = central(pb, h, out, x, eps);
            double diff = fabs(num - g);
            if (diff > st->fd_max) st->fd_max = diff;
            if (diff > tol * (1.0 + fabs(g)) && bad++ < 3)
                fprintf(stderr, "    %s: d/dout[%d][%d]: analytic %.9g, numeric %.9g\n", what,
                        grad_row(pb, j), d, g, num);
        }
    CHECK(bad == 0, "%s: %d gradient entries differ from finite differences", what, bad);

    /* the fast step: out rows updated in place, -alpha * grad_h added into dh */
    firth_sigmoid_table tab;
    firth_sigmoid_table_init(&tab);
    const float alpha = 0.05f;
    size_t out_n = (size_t)pb->rows * D;
    float *fout = malloc(out_n * sizeof *fout), *dh = malloc((size_t)D * sizeof *dh);
    float *dh0 = malloc((size_t)D * sizeof *dh0),
          *scores = malloc((size_t)pb->rows * sizeof *scores);
    memcpy(fout, out, out_n * sizeof *fout);
    for (int d = 0; d < D; d++) dh0[d] = dh[d] = (float)(0.01 * (d % 5) - 0.02); /* accumulates */
    float floss;
    if (pb->kind == 0)
        floss = firth_ns_step(&tab, h, fout, pb->ids, pb->n, D, alpha, dh);
    else if (pb->kind == 1)
        floss = firth_hs_step(&tab, h, fout, pb->ids, pb->codes, pb->n, D, alpha, dh);
    else
        floss = firth_softmax_step(h, fout, pb->rows, pb->target, D, alpha, dh, scores);
    /* tolerance: table error (not for softmax, which uses expf) plus float rounding */
    const double coef_err = pb->kind == 2 ? 2e-6 : TABLE_ERR;
    double loss_tol = pb->kind == 2 ? 1e-5 * (1.0 + loss) : 2e-3 * pb->n;
    double ldiff = fabs((double)floss - loss);
    if (ldiff > st->loss_max) st->loss_max = ldiff;
    CHECK(ldiff <= loss_tol, "%s: fast loss %.7g, naive %.7g (diff %.3g > %.3g)", what, floss, loss,
          ldiff, loss_tol);
    bad = 0;
    int *touched = calloc((size_t)pb->rows, sizeof *touched);
    for (int j = 0; j < R; j++) {
        int r = grad_row(pb, j);
        touched[r] = 1;
        /* grad_out row j = c_j * h, so the row's step may be off by alpha * coef_err * |h[d]| */
        for (int d = 0; d < D; d++) {
            size_t k = (size_t)r * D + d;
            double step = (double)fout[k] - (double)out[k];
            double want = -alpha * gout[(size_t)j * D + d];
            double diff = fabs(step - want);
            double bound = alpha * coef_err * fabs(h[d]) + 1e-6 * (1.0 + fabs(out[k]));
            if (diff > st->step_max) st->step_max = diff;
            if (fabs(h[d]) > 0.05) {
                double implied =
                    fmax(0.0, diff - 1e-6 * (1.0 + fabs(out[k]))) / (alpha * fabs(h[d]));
                if (implied > st->implied_max) st->implied_max = implied;
            }
            if (diff > bound && bad++ < 3)
                fprintf(stderr, "    %s: out[%d][%d] step %.9g, expected %.9g (bound %.3g)\n", what,
                        r, d, step, want, bound);
        }
    }
    for (int r = 0; r < pb->rows; r++)
        if (!touched[r] &&
            memcmp(fout + (size_t)r * D, out + (size_t)r * D, (size_t)D * sizeof(float)))
            if (bad++ < 3) fprintf(stderr, "    %s: row %d is not a target but changed\n", what, r);
    /* grad_h = sum_j c_j * out_j, so dh may be off by alpha * coef_err * sum_j |out_j[d]| */
    for (int d = 0; d < D; d++) {
        double sum_abs = 0.0;
        for (int j = 0; j < R; j++) sum_abs += fabs(out[(size_t)grad_row(pb, j) * D + d]);
        double step = (double)dh[d] - (double)dh0[d], want = -alpha * gh[d];
        double diff = fabs(step - want), bound = alpha * coef_err * sum_abs + 1e-6;
        if (diff > st->step_max) st->step_max = diff;
        if (diff > bound && bad++ < 3)
            fprintf(stderr, "    %s: dh[%d] step %.9g, expected %.9g (bound %.3g)\n", what, d, step,
                    want, bound);
    }
    CHECK(bad == 0, "%s: %d fast-step entries differ from -alpha * the naive gradient", what, bad);
    free(touched);
    free(fout);
    free(dh);
    free(dh0);
    free(scores);
    free(gh);
    free(gout);
}

/* Random cases of one kind; `scale` sets the spread of the logits (2.5 pushes some beyond the
 * table's [-8, 8], where the fast step clips as word2vec.c does). */
static void run_kind(int kind, double scale, stats *st) {
    firth_rng rng;
    firth_rng_seed(&rng, 1000 + (uint64_t)kind * 10 + (uint64_t)(scale * 2));
    static const int dims[] = {8, 11, 16};
    for (int trial = 0; trial < 12; trial++) {
        problem pb;
        memset(&pb, 0, sizeof pb);
        pb.kind = kind;
        pb.dim = dims[trial % 3];
        pb.rows = kind == 2 ? 7 + trial * 3 : 20;
        if (kind == 0) {
            pb.n = 1 + (trial % 8);
            distinct(&rng, pb.ids, pb.n, pb.rows);
        } else if (kind == 1) {
            pb.n = 1 + (trial % 10);
            distinct(&rng, pb.ids, pb.n, pb.rows);
            for (int j = 0; j < pb.n; j++) pb.codes[j] = (uint8_t)firth_rng_below(&rng, 2);
        } else {
            pb.target = (int)firth_rng_below(&rng, (uint32_t)pb.rows);
        }
        float *h = malloc((size_t)pb.dim * sizeof *h);
        float *out = malloc((size_t)pb.rows * pb.dim * sizeof *out);
        fill(&rng, h, (size_t)pb.dim, scale);
        fill(&rng, out, (size_t)pb.rows * pb.dim, scale);
        char what[96];
        snprintf(what, sizeof what, "%s trial %d (dim %d, scale %.1f)", kind_name[kind], trial,
                 pb.dim, scale);
        check_problem(&pb, h, out, st, what);
        free(h);
        free(out);
    }
}

static void report(int kind, const stats *st) {
    printf("    %s: finite differences vs gradient max |diff| %.3g; fast step vs -alpha*grad max "
           "|diff| %.3g (implied coefficient error %.3g); loss max |diff| %.3g\n",
           kind_name[kind], st->fd_max, st->step_max, st->implied_max, st->loss_max);
}

static void test_kind(int kind) {
    stats st = {0};
    run_kind(kind, 1.0, &st);
    run_kind(kind, 2.5, &st);
    report(kind, &st);
    if (kind != 2) CHECK(st.implied_max < TABLE_ERR, "implied table error %.3g", st.implied_max);
}

static void test_ns(void) { test_kind(0); }
static void test_hs(void) { test_kind(1); }
static void test_softmax(void) { test_kind(2); }

/* At h = 0 every logit is 0: sigma = 1/2, softmax uniform. */
static void test_known_at_zero(void) {
    enum { D = 4, R = 6 };
    float h[D] = {0};
    float out[R * D];
    for (int i = 0; i < R * D; i++) out[i] = (float)(i % 7) * 0.25f - 0.5f;
    double gh[D], gout[R * D];
    /* NS, targets 2 (positive), 0, 5: loss 3 log 2; grad_h = -1/2 o_2 + 1/2 (o_0 + o_5) */
    const int32_t t[3] = {2, 0, 5};
    double l = firth_ns_loss_naive(h, out, t, 3, D, gh, gout);
    CHECK_CLOSE(l, 3.0 * log(2.0), 1e-12);
    for (int d = 0; d < D; d++) {
        CHECK_CLOSE(gh[d], -0.5 * out[2 * D + d] + 0.5 * (out[0 * D + d] + out[5 * D + d]), 1e-12);
        for (int j = 0; j < 3; j++) CHECK(gout[j * D + d] == 0.0, "grad_out is h-scaled: 0");
    }
    /* HS, points 4, 1 with codes 0, 1: labels 1, 0: grad_h = -1/2 o_4 + 1/2 o_1 */
    const int32_t pts[2] = {4, 1};
    const uint8_t codes[2] = {0, 1};
    l = firth_hs_loss_naive(h, out, pts, codes, 2, D, gh, gout);
    CHECK_CLOSE(l, 2.0 * log(2.0), 1e-12);
    for (int d = 0; d < D; d++)
        CHECK_CLOSE(gh[d], -0.5 * out[4 * D + d] + 0.5 * out[1 * D + d], 1e-12);
    /* softmax over 6 rows, target 3: loss log 6; grad_h = mean(W) - W_3 */
    l = firth_softmax_loss_naive(h, out, R, 3, D, gh, gout);
    CHECK_CLOSE(l, log((double)R), 1e-12);
    for (int d = 0; d < D; d++) {
        double mean = 0.0;
        for (int i = 0; i < R; i++) mean += out[i * D + d] / (double)R;
        CHECK_CLOSE(gh[d], mean - out[3 * D + d], 1e-12);
    }
    /* a hand-computed non-zero case: NS with one target, h = (1, 0), o = (2, 5): f = 2,
     * loss = log(1 + e^-2), grad_h = (sigma(2) - 1) o, grad_o = (sigma(2) - 1) h */
    float h2[2] = {1.0f, 0.0f}, o2[2] = {2.0f, 5.0f};
    const int32_t t0[1] = {0};
    double g2[2], go2[2];
    l = firth_ns_loss_naive(h2, o2, t0, 1, 2, g2, go2);
    double s2 = 1.0 / (1.0 + exp(-2.0));
    CHECK_CLOSE(l, log1p(exp(-2.0)), 1e-12);
    CHECK_CLOSE(g2[0], (s2 - 1.0) * 2.0, 1e-12);
    CHECK_CLOSE(g2[1], (s2 - 1.0) * 5.0, 1e-12);
    CHECK_CLOSE(go2[0], s2 - 1.0, 1e-12);
    CHECK(go2[1] == 0.0, "grad_o[1] = %g", go2[1]);
}

/* The table itself: within 1e-3 of sigma and of log sigma over [-8, 8], clipped outside. */
static void test_sigmoid_table(void) {
    firth_sigmoid_table tab;
    firth_sigmoid_table_init(&tab);
    double worst_s = 0.0, worst_l = 0.0;
    for (int i = -80000; i <= 80000; i++) {
        float x = (float)(i * 1e-4);
        double s = 1.0 / (1.0 + exp(-(double)x));
        double es = fabs(firth_sigmoid(&tab, x) - s);
        double el = fabs(firth_neg_logsig(&tab, x) - (-log(s)));
        if (i > -80000 && i < 80000) {
            if (es > worst_s) worst_s = es;
            if (el > worst_l) worst_l = el;
        }
    }
    printf("    sigmoid table: max |error| %.3g (sigma), %.3g (-log sigma)\n", worst_s, worst_l);
    CHECK(worst_s < 1e-3, "sigmoid table error %.3g", worst_s);
    CHECK(worst_l < 2.5e-3, "log-sigmoid table error %.3g", worst_l);
    CHECK(firth_sigmoid(&tab, 9.0f) == 1.0f && firth_sigmoid(&tab, -9.0f) == 0.0f, "clipping");
    CHECK(firth_sigmoid(&tab, NAN) == 0.0f, "NaN maps to 0");
    CHECK(isnan(firth_neg_logsig(&tab, NAN)), "NaN loss stays NaN");
    CHECK_CLOSE(firth_neg_logsig(&tab, -20.0f), 20.0, 1e-6);
    CHECK(firth_neg_logsig(&tab, 20.0f) == 0.0f, "-log sigma(20) ~ 0");
}

/* Compares the rows after a step: the naive kernel's against start + ref (the independent
 * reference's step) to 1e-6, the fast kernel's against the naive one's to tol_fast; keeps the
 * largest differences seen. */
static void check_step(const char *what, const float *start, const double *ref, const float *naive,
                       const float *fast, int n, double tol_fast, double *max_ref, double *max_fast) {
    for (int i = 0; i < n; i++) {
        double want = start[i] + ref[i];
        double e1 = fabs(naive[i] - want), e2 = fabs(fast[i] - naive[i]);
        if (e1 > *max_ref) *max_ref = e1;
        if (e2 > *max_fast) *max_fast = e2;
        CHECK(e1 <= 1e-6, "naive %s %d: %g vs %g", what, i, naive[i], want);
        CHECK(e2 <= tol_fast, "fast %s %d: %g vs %g", what, i, fast[i], naive[i]);
    }
}

/* The batched (HogBatch) step: (1) its naive version equals the sum, over the window's input rows,
 * of -alpha * the per-pair naive gradients (firth_ns_loss_naive, itself checked against finite
 * differences above), all taken at the values before the step; (2) the fast kernel equals the
 * naive one within the sigmoid table's error. Rows repeat on both sides (a word twice in a
 * window, a noise word drawn twice). */
static void test_ns_batch(void) {
    firth_rng rng;
    firth_rng_seed(&rng, 77);
    firth_sigmoid_table *tab = malloc(sizeof *tab);
    firth_sigmoid_table_init(tab);
    const int rows_in = 12, rows_out = 20, m = 6;
    const double alpha = 0.05;
    double max_ref = 0.0, max_fast = 0.0;
    /* trials 10..13: the sizes the kernel has copies for (dim 100 and 300, 6 targets) */
    for (int trial = 0; trial < 14; trial++) {
        const int dim = trial < 10 ? 13 : trial < 12 ? 100 : 300, n = trial < 10 ? 5 : 6;
        float *in0 = malloc(sizeof(float) * rows_in * dim), *out0 = malloc(sizeof(float) * rows_out * dim);
        float *inA = malloc(sizeof(float) * rows_in * dim), *outA = malloc(sizeof(float) * rows_out * dim);
        float *inB = malloc(sizeof(float) * rows_in * dim), *outB = malloc(sizeof(float) * rows_out * dim);
        double *ref_in = calloc((size_t)rows_in * dim, sizeof(double));
        double *ref_out = calloc((size_t)rows_out * dim, sizeof(double));
        double *gh = malloc(sizeof(double) * dim), *go = malloc(sizeof(double) * n * dim);
        float *scratch = malloc(sizeof(float) * firth_ns_batch_scratch(m, n, dim));
        const double scale = trial < 10 ? (trial < 5 ? 0.5 : 2.0) : (trial % 2 ? 2.0 : 0.5);
        fill(&rng, in0, (size_t)rows_in * dim, scale);
        fill(&rng, out0, (size_t)rows_out * dim, scale);
        int idx[6] = {3, 7, 3, 0, 11, 5};           /* row 3 twice */
        int32_t targets[6] = {9, 2, 17, 2, 14, 4}; /* noise word 2 twice */
        targets[0] = (int32_t)(9 + trial % 5);
        /* reference: per-pair gradients summed, from the values before the step */
        double loss_ref = 0.0;
        for (int j = 0; j < m; j++) {
            loss_ref += firth_ns_loss_naive(in0 + idx[j] * dim, out0, targets, n, dim, gh, go);
            for (int d = 0; d < dim; d++) ref_in[idx[j] * dim + d] -= alpha * gh[d];
            for (int t = 0; t < n; t++)
                for (int d = 0; d < dim; d++) ref_out[targets[t] * dim + d] -= alpha * go[t * dim + d];
        }
        memcpy(inA, in0, sizeof(float) * rows_in * dim), memcpy(outA, out0, sizeof(float) * rows_out * dim);
        memcpy(inB, in0, sizeof(float) * rows_in * dim), memcpy(outB, out0, sizeof(float) * rows_out * dim);
        float *rowsA[6], *rowsB[6];
        for (int j = 0; j < m; j++) rowsA[j] = inA + idx[j] * dim, rowsB[j] = inB + idx[j] * dim;
        double loss_naive = firth_ns_batch_step_naive(rowsB, m, outB, targets, n, dim, alpha);
        float loss_fast = firth_ns_batch_step(tab, rowsA, m, outA, targets, n, dim, (float)alpha, scratch);
        CHECK_CLOSE(loss_naive, loss_ref, 1e-9);
        CHECK_CLOSE(loss_fast, loss_ref, m * n * 2e-3);
        check_step("batch input", in0, ref_in, inB, inA, rows_in * dim, alpha * TABLE_ERR * n * 2.0 * 2,
                   &max_ref, &max_fast);
        check_step("batch output", out0, ref_out, outB, outA, rows_out * dim,
                   alpha * TABLE_ERR * m * 2.0 * 2, &max_ref, &max_fast);
        free(in0), free(out0), free(inA), free(outA), free(inB), free(outB);
        free(ref_in), free(ref_out), free(gh), free(go), free(scratch);
    }
    printf("    ns batch: naive vs summed per-pair gradients max diff %.3g, fast vs naive %.3g\n",
           max_ref, max_fast);
    free(tab);
}

/* The CBOW block step: (1) its naive version equals, for each centre, -alpha * the per-pair naive
 * gradient (firth_ns_loss_naive, checked against finite differences above) at the mean of its
 * context rows, against its own word and the shared noise words other than its word, all taken at
 * the values before the step, with h's step added to every context row; (2) the fast kernel
 * equals the naive one within the sigmoid table's error. Rows repeat: a context row shared by two
 * centres and twice in one, a centre word twice in the block, a noise word equal to one centre's
 * word (skipped for that centre only) and drawn twice. */
static void test_ns_cbow(void) {
    firth_rng rng;
    firth_rng_seed(&rng, 78);
    firth_sigmoid_table *tab = malloc(sizeof *tab);
    firth_sigmoid_table_init(tab);
    const int rows_in = 12, rows_out = 20;
    const int nctx[3] = {2, 4, 3};
    const int idx[9] = {3, 7, 3, 0, 3, 5, 11, 5, 1};
    const double alpha = 0.05;
    double max_ref = 0.0, max_fast = 0.0;
    /* trials 10..17: the sizes the kernel has copies for (dim 100 and 300, blocks of 1 and 2,
     * 5 noise words) */
    for (int trial = 0; trial < 18; trial++) {
        const int dim = trial < 10 ? (trial % 2 ? 37 : 13) : trial < 14 ? 100 : 300;
        const int m = trial < 10 ? 3 : 1 + trial % 2, k = trial < 10 ? 4 : 5;
        float *in0 = malloc(sizeof(float) * rows_in * dim), *out0 = malloc(sizeof(float) * rows_out * dim);
        float *inA = malloc(sizeof(float) * rows_in * dim), *outA = malloc(sizeof(float) * rows_out * dim);
        float *inB = malloc(sizeof(float) * rows_in * dim), *outB = malloc(sizeof(float) * rows_out * dim);
        double *ref_in = calloc((size_t)rows_in * dim, sizeof(double));
        double *ref_out = calloc((size_t)rows_out * dim, sizeof(double));
        double *gh = malloc(sizeof(double) * dim), *go = malloc(sizeof(double) * (k + 1) * dim);
        float *h = malloc(sizeof(float) * dim);
        float *scratch = malloc(sizeof(float) * firth_ns_cbow_scratch(m, k, dim));
        const double scale = trial < 10 ? (trial < 5 ? 0.5 : 2.0) : (trial % 4 < 2 ? 0.5 : 2.0);
        fill(&rng, in0, (size_t)rows_in * dim, scale);
        fill(&rng, out0, (size_t)rows_out * dim, scale);
        /* m = 3: centres' words 9, 2, 9 (+ trial); noise 17, 2, 14, 17.
         * m = 2: centres 9, 2; noise 17, 2, 14, 17, 9.  m = 1: centre 9; noise 17, 9, 14, 17, 3 */
        static const int32_t by_m[4][8] = {
            {0}, {9, 17, 9, 14, 17, 3}, {9, 2, 17, 2, 14, 17, 9}, {9, 2, 9, 17, 2, 14, 17}};
        int32_t targets[8];
        memcpy(targets, by_m[m], sizeof targets);
        targets[0] = (int32_t)(9 + trial % 5);
        if (m == 3) targets[2] = targets[0];
        double loss_ref = 0.0;
        for (int j = 0, r0 = 0; j < m; r0 += nctx[j], j++) {
            for (int d = 0; d < dim; d++) {
                double s = 0.0;
                for (int r = r0; r < r0 + nctx[j]; r++) s += in0[idx[r] * dim + d];
                h[d] = (float)(s / nctx[j]);
            }
            int32_t tj[6];
            int n = 0;
            tj[n++] = targets[j];
            for (int t = 0; t < k; t++)
                if (targets[m + t] != targets[j]) tj[n++] = targets[m + t];
            loss_ref += firth_ns_loss_naive(h, out0, tj, n, dim, gh, go);
            for (int r = r0; r < r0 + nctx[j]; r++)
                for (int d = 0; d < dim; d++) ref_in[idx[r] * dim + d] -= alpha * gh[d];
            for (int t = 0; t < n; t++)
                for (int d = 0; d < dim; d++) ref_out[tj[t] * dim + d] -= alpha * go[t * dim + d];
        }
        memcpy(inA, in0, sizeof(float) * rows_in * dim), memcpy(outA, out0, sizeof(float) * rows_out * dim);
        memcpy(inB, in0, sizeof(float) * rows_in * dim), memcpy(outB, out0, sizeof(float) * rows_out * dim);
        float *rowsA[9], *rowsB[9];
        for (int r = 0; r < 9; r++) rowsA[r] = inA + idx[r] * dim, rowsB[r] = inB + idx[r] * dim;
        double loss_naive = firth_ns_cbow_step_naive(rowsB, nctx, m, outB, targets, k, dim, alpha);
        float loss_fast = firth_ns_cbow_step(tab, rowsA, nctx, m, outA, targets, k, dim, (float)alpha, scratch);
        CHECK_CLOSE(loss_naive, loss_ref, 1e-5);
        CHECK_CLOSE(loss_fast, loss_ref, m * (k + 1) * 2e-3);
        check_step("cbow input", in0, ref_in, inB, inA, rows_in * dim,
                   alpha * TABLE_ERR * (k + 1) * 2.0 * 3, &max_ref, &max_fast);
        check_step("cbow output", out0, ref_out, outB, outA, rows_out * dim,
                   alpha * TABLE_ERR * m * 2.0 * 2, &max_ref, &max_fast);
        free(in0), free(out0), free(inA), free(outA), free(inB), free(outB), free(h);
        free(ref_in), free(ref_out), free(gh), free(go), free(scratch);
    }
    printf("    ns cbow block: naive vs per-centre per-pair gradients max diff %.3g, fast vs naive %.3g\n",
           max_ref, max_fast);
    free(tab);
}

/* Regression: for the largest float below 8, x + 8 rounds up to 16 and the table bin would be one
 * past the end (sigma read as log sigma(-8) ~ -8). Near both edges the values must be right. */
static void test_sigmoid_edges(void) {
    firth_sigmoid_table *tab = malloc(sizeof *tab);
    firth_sigmoid_table_init(tab);
    float top = nextafterf(8.0f, 0.0f), bottom = nextafterf(-8.0f, 0.0f);
    CHECK(firth_sig_bin(top) >= 0 && firth_sig_bin(top) < FIRTH_SIG_BINS, "bin %d", firth_sig_bin(top));
    CHECK_CLOSE(firth_sigmoid(tab, top), 1.0 / (1.0 + exp(-8.0)), 1e-3);
    CHECK_CLOSE(firth_neg_logsig(tab, top), log1p(exp(-8.0)), 1e-3);
    CHECK_CLOSE(firth_sigmoid(tab, bottom), 1.0 / (1.0 + exp(8.0)), 1e-3);
    CHECK_CLOSE(firth_neg_logsig(tab, bottom), 8.0 + log1p(exp(-8.0)), 2e-3);
    free(tab);
}

const test_case tests_loss[] = {
    {"loss_known_at_zero", test_known_at_zero},
    {"loss_sigmoid_table", test_sigmoid_table},
    {"loss_ns_gradients", test_ns},
    {"loss_hs_gradients", test_hs},
    {"loss_softmax_gradients", test_softmax},
    {"loss_ns_batch", test_ns_batch},
    {"loss_ns_cbow_block", test_ns_cbow},
    {"loss_sigmoid_edges", test_sigmoid_edges},
    TEST_END,
};
