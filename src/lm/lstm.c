/* lstm.c - LSTM layer forward/backward: the fast version (batched sgemm + fused gate pass) and the
 * naive reference. See lstm.h for shapes and docs/derivations.md for the gradients. */
#include "lm/lstm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/bpanel.h"
#include "core/panel.h"
#include "core/pool.h"
#include "core/vmath.h"

/* ---- vectorisable sigmoid, tanh (e^x: core/vmath.h) ---------------------------------- */

static inline float v_sigmoid(float x) { return 1.0f / (1.0f + firth_vexp(-x)); }

/* tanh |x| = (1 - e^-2|x|) / (1 + e^-2|x|); below 1/8 the subtraction would lose relative
 * precision, so there the Taylor series to x^7 (next term < 2e-9 relative) is used instead. */
static inline float v_tanh(float x) {
    float ax = fabsf(x);
    float e = firth_vexp(-2.0f * ax);
    float t = (1.0f - e) / (1.0f + e);
    float x2 = x * x;
    float p = ax * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f))));
    t = ax < 0.125f ? p : t;
    return copysignf(t, x);
}

void firth_lstm_sigmoid(float *x, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) x[i] = v_sigmoid(x[i]);
}

void firth_lstm_tanh(float *x, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) x[i] = v_tanh(x[i]);
}

/* ---- fast ----------------------------------------------------------------------------------- */

/* One unit: from its four pre-activations and c_{t-1}, the activations into a[0], a[H], a[2H],
 * a[3H] and c_t, tanh c_t, h_t. */
static inline void cell_forward(int H, float *restrict a, float ai, float af, float ao, float ag,
                                float cp, float *restrict c, float *restrict tc,
                                float *restrict h) {
    float i = v_sigmoid(ai), f = v_sigmoid(af), o = v_sigmoid(ao), g = v_tanh(ag);
    float cj = f * cp + i * g;
    float t = v_tanh(cj);
    a[0] = i, a[H] = f, a[2 * H] = o, a[3 * H] = g;
    *c = cj, *tc = t, *h = o * t;
}

/* One row: pre-activations in `row` (4H) become activations; c, tc, h (H) of this step. */
static inline void gate_row_forward(int H, float *restrict row, const float *restrict cprev,
                                    float *restrict c, float *restrict tc, float *restrict h) {
    float *ri = row, *rf = row + H, *ro = row + 2 * H, *rg = row + 3 * H;
#pragma omp simd
    for (int j = 0; j < H; j++)
        cell_forward(H, row + j, ri[j], rf[j], ro[j], rg[j], cprev[j], c + j, tc + j, h + j);
}

/* ---- the row-wise passes over a whole chunk, split between the threads ------------------- */

typedef struct rows_job {
    size_t G;
    const int32_t *ids;
    const float *id_scale;
    const firth_lstm_weights *w;
    firth_lstm_acts *a;
    firth_lstm_grads *g;
    size_t TB;
} rows_job;

/* Rows [lo, hi) of the gates: the bias. */
static void bias_rows_part(void *ctx, size_t lo, size_t hi, int part) {
    const rows_job *R = ctx;
    for (size_t r = lo; r < hi; r++) memcpy(R->a->gates + r * R->G, R->w->b, R->G * sizeof(float));
}

/* Rows [lo, hi) of the gates: the bias plus the (scaled) row of Wx of the row's id. */
static void input_rows_part(void *ctx, size_t lo, size_t hi, int part) {
    const rows_job *R = ctx;
    const size_t G = R->G;
    bias_rows_part(ctx, lo, hi, part);
    for (size_t r = lo; r < hi; r++) {
        float *restrict dst = R->a->gates + r * G;
        const float *restrict src = R->w->wx + (size_t)R->ids[r] * G;
        const float s = R->id_scale ? R->id_scale[r] : 1.0f;
        if (s == 0.0f) continue; /* a dropped input */
#pragma omp simd
        for (size_t k = 0; k < G; k++) dst[k] += s * src[k];
    }
}

/* Columns [lo, hi) of db (and of dWx with one-hot input) summed over all rows, in row order. */
static void column_sums_part(void *ctx, size_t lo, size_t hi, int part) {
    const rows_job *R = ctx;
    const size_t G = R->G;
    for (size_t r = 0; r < R->TB; r++) {
        const float *restrict src = R->a->dgates + r * G;
        if (R->ids) {
            float *restrict dst = R->g->wx + (size_t)R->ids[r] * G;
            const float s = R->id_scale ? R->id_scale[r] : 1.0f;
            if (s != 0.0f) {
#pragma omp simd
                for (size_t k = lo; k < hi; k++) dst[k] += s * src[k];
            }
        }
        float *restrict db = R->g->b;
#pragma omp simd
        for (size_t k = lo; k < hi; k++) db[k] += src[k];
    }
}

/* ---- fast, on packed panels (one thread or several: acts->pool) -------------------------- */

typedef struct step_job {
    int T, B, H;
    const firth_lstm_weights *w;
    firth_lstm_acts *a;
    const float *dh; /* backward: d loss / d h_t from above */
    float *dh0;      /* backward: NULL or d loss / d h_0 */
} step_job;

/* The steps on packed panels (forward_part, backward_part): with several threads, and on one
 * whenever there is scratch for them and more than one step to share a packing of the weights
 * or the products are in bfloat16 (a single float step, as in generation, is one OpenBLAS
 * call). */
static int use_panels(const firth_lstm_acts *a, int T) {
    return firth_pool_threads(a->pool) > 1 || (a->par && (T > 1 || a->bf16));
}

/* Part p's hidden units [*u0, *u0 + *nu). */
static void part_units(int H, int part, int parts, int *u0, int *nu) {
    size_t lo, hi;
    firth_pool_range((size_t)H, part, parts, &lo, &hi);
    *u0 = (int)lo, *nu = (int)(hi - lo);
}

/* acts->par for B streams, carved: */
typedef struct par_layout {
    float *panels; /* per part: its columns of Wh packed (core/panel.h), for forward the 4 gates'
                    * nu columns in turn (H x nu each), for backward its nu rows transposed
                    * (4H x nu), 4 firth_panel_floats(H, nu) floats either way */
    float *rt;     /* per part from 4 u0 B: (B, 4 nu) this step's h_{t-1} Wh, its gates' columns */
    float *dht;    /* (B, H) d loss / d h_{t-1}, each part writing its own units' columns */
} par_layout;

/* Where part `upto`'s panels start: floats (core/panel.h) or, with bf16, bfloat16 elements
 * (core/bpanel.h, acts->bpar below). */
static size_t panel_part(int H, int parts, int upto, int bf16) {
    size_t n = 0;
    for (int p = 0; p < upto; p++) {
        int u0, nu;
        part_units(H, p, parts, &u0, &nu);
        n += 4 * (bf16 ? firth_bpanel_elems(H, nu) : firth_panel_floats(H, nu));
    }
    return n;
}

size_t firth_lstm_par_floats(int B, int H, int parts) {
    return panel_part(H, parts, parts, 0) + 5 * (size_t)H * (size_t)B;
}

/* acts->bpar, the bfloat16 form of the same: per part 4 firth_bpanel_elems(H, nu) elements of
 * panels (forward: the 4 gates' H x nu; backward: 4H x nu, no more), then two (B, H rounded up
 * to even) buffers of h_t in bfloat16 (forward, alternating by step: the parts write h_{t+1}
 * while others may still read h_t), then two (B, 4H) of d loss / d a_t (backward, the same). */
typedef struct bpar_layout {
    uint16_t *panels, *hb, *db;
} bpar_layout;

size_t firth_lstm_bpar_elems(int B, int H, int parts) {
    return panel_part(H, parts, parts, 1) + 2 * (size_t)B * firth_bf16_even((size_t)H) +
           2 * (size_t)B * 4 * (size_t)H;
}

static bpar_layout bpar_of(uint16_t *bpar, int B, int H, int parts) {
    bpar_layout L;
    L.panels = bpar;
    L.hb = bpar + panel_part(H, parts, parts, 1);
    L.db = L.hb + 2 * (size_t)B * firth_bf16_even((size_t)H);
    return L;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

size_t firth_lstm_bscr_elems(int T, int B, int I_, int H) {
    const int TB = T * B, G = 4 * H;
    size_t n = firth_bgemm_elems(H, G, TB); /* dWh */
    if (I_ > 0) {
        n = max_size(n, firth_bgemm_elems(TB, G, I_)); /* x Wx */
        n = max_size(n, firth_bgemm_elems(I_, G, TB)); /* dWx */
        n = max_size(n, firth_bgemm_elems(TB, I_, G)); /* dx */
    }
    return n;
}

/* Units [u0, u0 + nu) of the B rows of v (row stride H) into bfloat16 rows of stride ld. */
static void round_units(int B, int H, int u0, int nu, const float *v, uint16_t *out, size_t ld) {
    for (int b = 0; b < B; b++)
        firth_bf16_from_floats(v + (size_t)b * H + u0, (size_t)nu, out + (size_t)b * ld + u0);
}

static par_layout par_of(float *par, int B, int H, int parts) {
    par_layout L;
    L.panels = par;
    L.rt = par + panel_part(H, parts, parts, 0);
    L.dht = L.rt + 4 * (size_t)H * (size_t)B; /* + H B: the 5 H B of firth_lstm_par_floats */
    return L;
}

/* gate_row_forward for nu units of one row, the recurrent term added here: row (the units'
 * x Wx + b), r (their recurrent terms, gate blocks s apart), cprev, c, tc, h start at the first
 * unit. */
static inline void gate_part_forward(int H, int nu, size_t s, float *restrict row,
                                     const float *restrict r, const float *restrict cprev,
                                     float *restrict c, float *restrict tc, float *restrict h) {
    float *ri = row, *rf = row + H, *ro = row + 2 * H, *rg = row + 3 * H;
#pragma omp simd
    for (int j = 0; j < nu; j++)
        cell_forward(H, row + j, ri[j] + r[j], rf[j] + r[s + j], ro[j] + r[2 * s + j],
                     rg[j] + r[3 * s + j], cprev[j], c + j, tc + j, h + j);
}

static void forward_part(void *ctx, int part, int parts) {
    const step_job *J = ctx;
    const int H = J->H, B = J->B;
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H;
    firth_lstm_acts *a = J->a;
    int u0, nu;
    part_units(H, part, parts, &u0, &nu);
    if (!nu) { /* more parts than units: nothing but the barriers */
        for (int t = 0; t < J->T + (a->bf16 != 0); t++) firth_pool_barrier(a->pool);
        return;
    }
    const par_layout L = par_of(a->par, B, H, parts);
    const size_t P = firth_panel_floats(H, nu), R = 4 * (size_t)nu;
    float *pan = L.panels + panel_part(H, parts, part, 0), *rt = L.rt + 4 * (size_t)u0 * B;
    /* bfloat16: the panels and h_t in bf.hb[t & 1] (row stride H2), h_0's columns first */
    const bpar_layout bf = a->bf16 ? bpar_of(a->bpar, B, H, parts) : (bpar_layout){0};
    const size_t BP = firth_bpanel_elems(H, nu), H2 = firth_bf16_even((size_t)H);
    uint16_t *bpan = a->bf16 ? bf.panels + panel_part(H, parts, part, 1) : NULL;
    for (int q = 0; q < 4; q++) { /* gate q of the part's units: H x nu of Wh */
        if (a->bf16)
            firth_bpanel_pack(H, nu, J->w->wh + (size_t)q * H + u0, G, 1, bpan + q * BP, 0, nu);
        else
            firth_panel_pack(H, nu, J->w->wh + (size_t)q * H + u0, G, 1, pan + q * P);
    }
    if (a->bf16) {
        round_units(B, H, u0, nu, a->h, bf.hb, H2);
        firth_pool_barrier(a->pool); /* h_0 whole */
    }
    for (int t = 0; t < J->T; t++) {
        const float *hprev = a->h + (size_t)t * BH;
        for (int q = 0; q < 4; q++) {
            if (a->bf16)
                firth_bpanel_gemm(B, nu, H, bf.hb + (size_t)(t & 1) * B * H2, H2, bpan + q * BP,
                                  rt + q * (size_t)nu, R, 0, 0, nu);
            else
                firth_panel_gemm(B, nu, H, hprev, (size_t)H, pan + q * P, rt + q * (size_t)nu, R);
        }
        float *gt = a->gates + (size_t)t * B * G + u0;
        const size_t prev = (size_t)t * BH + u0, next = prev + BH;
        for (int b = 0; b < B; b++) {
            const size_t o = (size_t)b * H;
            gate_part_forward(H, nu, nu, gt + (size_t)b * G, rt + (size_t)b * R, a->c + prev + o,
                              a->c + next + o, a->tc + prev + o, a->h + next + o);
        }
        if (a->bf16)
            round_units(B, H, u0, nu, a->h + (size_t)(t + 1) * BH,
                        bf.hb + (size_t)((t + 1) & 1) * B * H2, H2);
        firth_pool_barrier(a->pool); /* h_t whole before any part's next product */
    }
}

/* One row backward for nu units: from the activations (row: i, f, o, g blocks H apart), tanh c_t,
 * c_{t-1}, the incoming dh (dh_up from above plus dh_next from step t + 1) and dc_next (from step
 * t + 1, updated in place to d loss / d c_{t-1}), writes d loss / d a_t into drow (blocks H
 * apart). */
static inline void gate_part_backward(int H, int nu, const float *restrict row,
                                      const float *restrict tc, const float *restrict cprev,
                                      const float *restrict dh_up, const float *restrict dh_next,
                                      float *restrict dc_next, float *restrict drow) {
    const float *ri = row, *rf = row + H, *ro = row + 2 * H, *rg = row + 3 * H;
    float *di = drow, *df = drow + H, *dout = drow + 2 * H, *dg = drow + 3 * H;
#pragma omp simd
    for (int j = 0; j < nu; j++) {
        float i = ri[j], f = rf[j], o = ro[j], g = rg[j], t = tc[j];
        float dh = dh_up[j] + dh_next[j];
        float dc = dc_next[j] + dh * o * (1.0f - t * t);
        dout[j] = dh * t * o * (1.0f - o);
        di[j] = dc * g * i * (1.0f - i);
        df[j] = dc * cprev[j] * f * (1.0f - f);
        dg[j] = dc * i * (1.0f - g * g);
        dc_next[j] = dc * f;
    }
}

static void backward_part(void *ctx, int part, int parts) {
    const step_job *J = ctx;
    const int H = J->H, B = J->B;
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H;
    firth_lstm_acts *a = J->a;
    int u0, nu;
    part_units(H, part, parts, &u0, &nu);
    if (!nu) {
        for (int t = 0; t < J->T; t++) firth_pool_barrier(a->pool);
        return;
    }
    const par_layout L = par_of(a->par, B, H, parts);
    float *pan = L.panels + panel_part(H, parts, part, 0);
    float *dht = L.dht + u0, *dc_next = a->dhc + BH + u0;
    const bpar_layout bf = a->bf16 ? bpar_of(a->bpar, B, H, parts) : (bpar_layout){0};
    uint16_t *bpan = a->bf16 ? bf.panels + panel_part(H, parts, part, 1) : NULL;
    /* the part's rows of Wh, transposed: 4H x nu, element (g, j) at Wh[u0 + j][g] */
    if (a->bf16)
        firth_bpanel_pack((int)G, nu, J->w->wh + (size_t)u0 * G, 1, G, bpan, 0, nu);
    else
        firth_panel_pack((int)G, nu, J->w->wh + (size_t)u0 * G, 1, G, pan);
    for (int b = 0; b < B; b++) {
        memset(dht + (size_t)b * H, 0, (size_t)nu * sizeof(float));
        memset(dc_next + (size_t)b * H, 0, (size_t)nu * sizeof(float));
    }
    for (int t = J->T - 1; t >= 0; t--) {
        const size_t st = (size_t)t * BH + u0;
        float *dgt = a->dgates + (size_t)t * B * G;
        for (int b = 0; b < B; b++) {
            const size_t o = (size_t)b * H, row = ((size_t)t * B + b) * G + u0;
            gate_part_backward(H, nu, a->gates + row, a->tc + st + o, a->c + st + o,
                               J->dh + st + o, dht + o, dc_next + o, a->dgates + row);
            if (a->bf16) /* the part's 4 blocks of the row in bfloat16 */
                for (int q = 0; q < 4; q++)
                    firth_bf16_from_floats(a->dgates + row + (size_t)q * H, (size_t)nu,
                                           bf.db + (size_t)(t & 1) * B * G + (size_t)b * G +
                                               (size_t)q * H + u0);
        }
        firth_pool_barrier(a->pool); /* d loss / d a_t whole before the product reads it */
        if ((t > 0 || J->dh0) && a->bf16)
            firth_bpanel_gemm(B, nu, (int)G, bf.db + (size_t)(t & 1) * B * G, G, bpan, dht,
                              (size_t)H, 0, 0, nu);
        else if (t > 0 || J->dh0) /* the part's columns of dh_{t-1} = da_t Wh^T */
            firth_panel_gemm(B, nu, (int)G, dgt, G, pan, dht, (size_t)H);
    }
    if (J->dh0)
        for (int b = 0; b < B; b++)
            memcpy(J->dh0 + (size_t)b * H + u0, dht + (size_t)b * H, (size_t)nu * sizeof(float));
}

void firth_lstm_forward(int T, int B, int NI, int H, const float *x, const int32_t *ids,
                        const float *id_scale, const firth_lstm_weights *w, firth_lstm_acts *a) {
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H, TB = (size_t)T * B;
    /* a = b + x Wx for all T steps at once */
    rows_job R = {G, ids, id_scale, w, a, NULL, TB};
    firth_pool_for(a->pool, TB, 1, ids ? input_rows_part : bias_rows_part, &R);
    if (!ids && a->bf16)
        firth_pool_bgemm(a->pool, 0, 0, (int)TB, (int)G, NI, x, NI, w->wx, (int)G, 1, a->gates,
                         (int)G, a->bscr);
    else if (!ids)
        firth_pool_sgemm(a->pool, CblasNoTrans, CblasNoTrans, (int)TB, (int)G, NI, 1.0f, x, NI,
                         w->wx, (int)G, 1.0f, a->gates, (int)G);
    if (use_panels(a, T)) {
        if (a->bf16 && H % 2) { /* the padding column of both buffers of h_t */
            uint16_t *hb = bpar_of(a->bpar, B, H, firth_pool_threads(a->pool)).hb;
            for (size_t r = 0; r < 2 * (size_t)B; r++) hb[r * (H + 1) + H] = 0;
        }
        step_job J = {T, B, H, w, a, NULL, NULL};
        firth_pool_run(a->pool, forward_part, &J);
        return;
    }
    for (int t = 0; t < T; t++) {
        float *gt = a->gates + (size_t)t * B * G;
        const float *hprev = a->h + (size_t)t * BH;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, (int)G, H, 1.0f, hprev, H,
                    w->wh, (int)G, 1.0f, gt, (int)G);
        for (int b = 0; b < B; b++) {
            size_t o = (size_t)b * H;
            gate_row_forward(H, gt + (size_t)b * G, a->c + (size_t)t * BH + o,
                             a->c + (size_t)(t + 1) * BH + o, a->tc + (size_t)t * BH + o,
                             a->h + (size_t)(t + 1) * BH + o);
        }
    }
}

/* The T steps of backward on the caller alone: a->dhc holds dh and dc flowing back (zero). */
static void backward_steps(int T, int B, int H, const firth_lstm_weights *w, firth_lstm_acts *a,
                           const float *dh, int dh0_wanted) {
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H;
    float *dh_next = a->dhc, *dc_next = a->dhc + BH;
    for (int t = T - 1; t >= 0; t--) {
        const float *gt = a->gates + (size_t)t * B * G;
        float *dgt = a->dgates + (size_t)t * B * G;
        for (int b = 0; b < B; b++) {
            size_t o = (size_t)b * H;
            gate_part_backward(H, H, gt + (size_t)b * G, a->tc + (size_t)t * BH + o,
                               a->c + (size_t)t * BH + o, dh + (size_t)t * BH + o, dh_next + o,
                               dc_next + o, dgt + (size_t)b * G);
        }
        if (t > 0 || dh0_wanted) /* dh_{t-1} = da_t Wh^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, (int)G, 1.0f, dgt,
                        (int)G, w->wh, (int)G, 0.0f, dh_next, H);
    }
}

void firth_lstm_backward(int T, int B, int NI, int H, const float *x, const int32_t *ids,
                         const float *id_scale, const firth_lstm_weights *w, firth_lstm_acts *a,
                         const float *dh, firth_lstm_grads *g, float *dx, float *dh0, float *dc0) {
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H, TB = (size_t)T * B;
    float *dh_next = a->dhc, *dc_next = a->dhc + BH;
    if (use_panels(a, T)) {
        step_job J = {T, B, H, w, a, dh, dh0};
        firth_pool_run(a->pool, backward_part, &J);
    } else {
        memset(a->dhc, 0, 2 * BH * sizeof(float));
        backward_steps(T, B, H, w, a, dh, dh0 != NULL);
        if (dh0) memcpy(dh0, dh_next, BH * sizeof(float));
    }
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(float));
    /* dWh += [h_0 .. h_{T-1}]^T da: the hidden states before each step are contiguous */
    if (a->bf16)
        firth_pool_bgemm(a->pool, 1, 0, H, (int)G, (int)TB, a->h, H, a->dgates, (int)G, 1, g->wh,
                         (int)G, a->bscr);
    else
        firth_pool_sgemm(a->pool, CblasTrans, CblasNoTrans, H, (int)G, (int)TB, 1.0f, a->h, H,
                         a->dgates, (int)G, 1.0f, g->wh, (int)G);
    rows_job R = {G, ids, id_scale, w, a, g, TB};
    /* db and, with one-hot input, dWx: the rows in order, the columns split */
    firth_pool_for(a->pool, G, 16, column_sums_part, &R);
    if (!ids && a->bf16) {
        firth_pool_bgemm(a->pool, 1, 0, NI, (int)G, (int)TB, x, NI, a->dgates, (int)G, 1, g->wx,
                         (int)G, a->bscr);
        if (dx)
            firth_pool_bgemm(a->pool, 0, 1, (int)TB, NI, (int)G, a->dgates, (int)G, w->wx, (int)G,
                             0, dx, NI, a->bscr);
    } else if (!ids) {
        firth_pool_sgemm(a->pool, CblasTrans, CblasNoTrans, NI, (int)G, (int)TB, 1.0f, x, NI,
                         a->dgates, (int)G, 1.0f, g->wx, (int)G);
        if (dx)
            firth_pool_sgemm(a->pool, CblasNoTrans, CblasTrans, (int)TB, NI, (int)G, 1.0f,
                             a->dgates, (int)G, w->wx, (int)G, 0.0f, dx, NI);
    }
}

/* ---- naive ---------------------------------------------------------------------------------- */

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

void firth_lstm_forward_naive(int T, int B, int NI, int H, const float *x, const int32_t *ids,
                              const float *id_scale, const firth_lstm_weights *w,
                              firth_lstm_acts *a) {
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *row = a->gates + ((size_t)t * B + b) * G;
            const float *hprev = a->h + (size_t)t * BH + (size_t)b * H;
            for (size_t k = 0; k < G; k++) {
                float s = w->b[k];
                if (ids)
                    s += (id_scale ? id_scale[(size_t)t * B + b] : 1.0f) *
                         w->wx[(size_t)ids[(size_t)t * B + b] * G + k];
                else
                    for (int m = 0; m < NI; m++)
                        s += x[((size_t)t * B + b) * NI + m] * w->wx[(size_t)m * G + k];
                for (int m = 0; m < H; m++) s += hprev[m] * w->wh[(size_t)m * G + k];
                row[k] = s;
            }
            for (int j = 0; j < H; j++) {
                float i = sigm(row[j]), f = sigm(row[H + j]), o = sigm(row[2 * H + j]);
                float gg = tanhf(row[3 * H + j]);
                size_t o_prev = (size_t)t * BH + (size_t)b * H + j, o_now = o_prev + BH;
                float c = f * a->c[o_prev] + i * gg;
                a->c[o_now] = c;
                a->tc[o_prev] = tanhf(c);
                a->h[o_now] = o * tanhf(c);
                row[j] = i, row[H + j] = f, row[2 * H + j] = o, row[3 * H + j] = gg;
            }
        }
}

void firth_lstm_backward_naive(int T, int B, int NI, int H, const float *x, const int32_t *ids,
                               const float *id_scale, const firth_lstm_weights *w,
                               firth_lstm_acts *a, const float *dh, firth_lstm_grads *g, float *dx,
                               float *dh0, float *dc0) {
    const size_t G = 4 * (size_t)H, BH = (size_t)B * H;
    float *dh_next = a->dhc, *dc_next = a->dhc + BH;
    memset(a->dhc, 0, 2 * BH * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < B; b++) {
            const float *row = a->gates + ((size_t)t * B + b) * G;
            float *drow = a->dgates + ((size_t)t * B + b) * G;
            for (int j = 0; j < H; j++) {
                size_t s = (size_t)t * BH + (size_t)b * H + j, n = (size_t)b * H + j;
                float i = row[j], f = row[H + j], o = row[2 * H + j], gg = row[3 * H + j];
                float tch = a->tc[s];
                float dhj = dh[s] + dh_next[n];
                float dc = dc_next[n] + dhj * o * (1.0f - tch * tch);
                drow[j] = dc * gg * i * (1.0f - i);
                drow[H + j] = dc * a->c[s] * f * (1.0f - f);
                drow[2 * H + j] = dhj * tch * o * (1.0f - o);
                drow[3 * H + j] = dc * i * (1.0f - gg * gg);
                dc_next[n] = dc * f;
            }
        }
        /* dh_{t-1} = da_t Wh^T; weight gradients of this step */
        for (int b = 0; b < B; b++) {
            const float *drow = a->dgates + ((size_t)t * B + b) * G;
            const float *hprev = a->h + (size_t)t * BH + (size_t)b * H;
            for (int m = 0; m < H; m++) {
                float s = 0.0f;
                for (size_t k = 0; k < G; k++) {
                    s += drow[k] * w->wh[(size_t)m * G + k];
                    g->wh[(size_t)m * G + k] += hprev[m] * drow[k];
                }
                dh_next[(size_t)b * H + m] = s;
            }
            for (size_t k = 0; k < G; k++) g->b[k] += drow[k];
            if (ids) {
                float sc = id_scale ? id_scale[(size_t)t * B + b] : 1.0f;
                for (size_t k = 0; k < G; k++)
                    g->wx[(size_t)ids[(size_t)t * B + b] * G + k] += sc * drow[k];
            } else {
                const float *xr = x + ((size_t)t * B + b) * NI;
                for (int m = 0; m < NI; m++) {
                    float s = 0.0f;
                    for (size_t k = 0; k < G; k++) {
                        s += drow[k] * w->wx[(size_t)m * G + k];
                        g->wx[(size_t)m * G + k] += xr[m] * drow[k];
                    }
                    if (dx) dx[((size_t)t * B + b) * NI + m] = s;
                }
            }
        }
    }
    if (dh0) memcpy(dh0, dh_next, BH * sizeof(float));
    if (dc0) memcpy(dc0, dc_next, BH * sizeof(float));
}
