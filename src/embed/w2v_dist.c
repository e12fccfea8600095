/* w2v_dist.c - one synchronisation of a word2vec model across ranks: which rows changed
 * anywhere, then an all-reduce of those rows (or of all of them) in one of two ways:
 *
 *   sum of deltas:  W = S + sum_r (W_r - S)   S: the weights after the last round (same on
 *                                             every rank), W_r: rank r's weights now
 *   average:        W = (1/R) sum_r W_r       = S + (1/R) sum_r (W_r - S)
 *
 *   row mean:       W = S + (1/c) sum_r (W_r - S)   c: how many ranks changed the row
 *
 * So averaging is summing with every rank's updates scaled by 1/R: the effective learning rate
 * falls R-fold. Summing keeps every update but adds up R ranks' steps on a frequent row, each
 * taken from the same stale S. The row mean is summing for rows one rank changed and averaging
 * for rows every rank changed. bench/RESULTS.md measures the three; docs/scaling.md says which
 * is the default and why. Summing and the row mean keep S (one more copy of the model);
 * averaging needs none. */
#include "embed/w2v_dist.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "core/status.h"
#include "dist/dist.h"

firth_w2v_dist_params firth_w2v_dist_default_params(void) {
    firth_w2v_dist_params p;
    p.sync_every = 100000;
    p.reduce = FIRTH_DIST_SUM_DELTAS;
    p.sparse_below = 0.7;
    return p;
}

void w2v_sync_free(w2v_sync *s) {
    if (!s) return;
    firth_free_aligned(s->snap);
    free(s->dirty);
    free(s->bits);
    free(s->idx);
    free(s->counts);
    firth_free_aligned(s->pack);
    memset(s, 0, sizeof *s);
}

firth_status w2v_sync_init(w2v_sync *s, firth_w2v *m, const firth_dist *dist,
                           const firth_w2v_dist_params *dp, firth_error *err) {
    memset(s, 0, sizeof *s);
    s->dist = dist;
    s->ranks = firth_dist_size(dist);
    s->reduce = dp->reduce;
    s->sparse_below = dp->sparse_below;
    s->rows = m->V + m->out_rows;
    s->D = m->D;
    size_t floats = s->rows * (size_t)s->D; /* fits: the model itself was allocated */
    firth_status st = FIRTH_OK;
    s->dirty = calloc(s->rows, 1);
    s->bits = calloc(s->rows / 64 + 1, sizeof *s->bits);
    s->idx = malloc(s->rows * sizeof *s->idx);
    int need_snap = s->reduce != FIRTH_DIST_AVERAGE;
    if (need_snap) s->snap = firth_alloc_aligned(floats * sizeof(float));
    if (s->reduce == FIRTH_DIST_ROW_MEAN) s->counts = malloc(s->rows * sizeof *s->counts);
    if (!s->dirty || !s->bits || !s->idx || (need_snap && !s->snap) ||
        (s->reduce == FIRTH_DIST_ROW_MEAN && !s->counts))
        st = firth_fail(err, FIRTH_ERR_NOMEM,
                        "out of memory for distributed training (it needs another copy of the "
                        "model, %.1f MiB)",
                        (double)floats * 4.0 / 1048576.0);
    if ((st = firth_dist_agree(dist, st, err)) == FIRTH_OK)
        st = dist_bcast(dist, m->syn0, floats * sizeof(float), 0, err);
    if (st == FIRTH_OK && s->snap) memcpy(s->snap, m->syn0, floats * sizeof(float));
    if (st != FIRTH_OK) w2v_sync_free(s);
    return st;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The all-reduces of a round, timed. */
static firth_status timed_f32(w2v_sync *s, float *buf, size_t n, firth_error *err) {
    double t0 = now_s();
    firth_status st = dist_allreduce_f32(s->dist, buf, n, DIST_SUM, err);
    s->comm_s += now_s() - t0;
    return st;
}

/* Row kernels over plain pointers (restrict: the rows never overlap), so that they vectorise. */
static inline void row_sub(float *restrict out, const float *restrict a, const float *restrict b,
                           size_t D) {
    for (size_t j = 0; j < D; j++) out[j] = a[j] - b[j];
}
/* w = s = s + c * sum: the round's result, also kept as the next round's start */
static inline void row_apply(float *restrict w, float *restrict s, const float *restrict sum,
                             float c, size_t D) {
    for (size_t j = 0; j < D; j++) {
        float x = s[j] + c * sum[j];
        s[j] = x;
        w[j] = x;
    }
}
static inline void row_scale_to(float *restrict w, const float *restrict sum, float c, size_t D) {
    for (size_t j = 0; j < D; j++) w[j] = c * sum[j];
}
/* the same in place, for rounds that send every row (the sums arrive in W itself) */
static inline void row_sub_in(float *restrict w, const float *restrict b, size_t D) {
    for (size_t j = 0; j < D; j++) w[j] -= b[j];
}
static inline void row_apply_in(float *restrict w, float *restrict s, float c, size_t D) {
    for (size_t j = 0; j < D; j++) {
        float x = s[j] + c * w[j];
        s[j] = x;
        w[j] = x;
    }
}
static inline void row_scale_in(float *restrict w, float c, size_t D) {
    for (size_t j = 0; j < D; j++) w[j] *= c;
}

/* The weight of the summed deltas of row i: 1 (sum), 1/R (average), 1/c_i (row mean). */
static inline float row_scale(const w2v_sync *s, size_t i) {
    switch (s->reduce) {
    case FIRTH_DIST_AVERAGE: return 1.0f / (float)s->ranks;
    case FIRTH_DIST_ROW_MEAN: return s->counts[i] > 1 ? 1.0f / (float)s->counts[i] : 1.0f;
    default: return 1.0f;
    }
}

firth_status w2v_sync_model(w2v_sync *s, firth_w2v *m, firth_error *err) {
    const size_t rows = s->rows, D = (size_t)s->D, nb = rows / 64 + 1;
    float *W = m->syn0; /* (rows, D): syn0 then the output rows */
    firth_status st;
    if (m->p.loss == FIRTH_LOSS_SOFTMAX) memset(s->dirty + m->V, 1, m->out_rows);
    /* the rows that changed on any rank (row mean: on how many) */
    size_t k = 0;
    if (s->counts) {
        for (size_t i = 0; i < rows; i++) s->counts[i] = s->dirty[i];
        double t0 = now_s();
        st = dist_allreduce_u32(s->dist, s->counts, rows, DIST_SUM, err);
        s->comm_s += now_s() - t0;
        if (st != FIRTH_OK) return st;
        memset(s->bits, 0, nb * sizeof *s->bits);
        for (size_t i = 0; i < rows; i++)
            if (s->counts[i]) s->bits[i >> 6] |= 1ull << (i & 63), k++;
    } else {
        memset(s->bits, 0, nb * sizeof *s->bits);
        for (size_t i = 0; i < rows; i++)
            if (s->dirty[i]) s->bits[i >> 6] |= 1ull << (i & 63);
        double t0 = now_s();
        st = dist_allreduce_u64(s->dist, s->bits, nb, DIST_BOR, err);
        s->comm_s += now_s() - t0;
        if (st != FIRTH_OK) return st;
        for (size_t b = 0; b < nb; b++) k += (size_t)__builtin_popcountll(s->bits[b]);
    }
    memset(s->dirty, 0, rows);
    s->rounds++;
    if (k == 0) return FIRTH_OK;
    const int delta = s->snap != NULL; /* send W - S (sum, row mean) or W (average) */
    if (!((double)k < s->sparse_below * (double)rows)) { /* every row */
        size_t n = rows * D;
        if (delta) row_sub_in(W, s->snap, n); /* W holds this rank's delta */
        s->bytes_sent += (double)n * sizeof(float);
        s->rows_sent += 1.0;
        if ((st = timed_f32(s, W, n, err)) != FIRTH_OK) return st;
        for (size_t i = 0; i < rows; i++) {
            float *w = W + i * D, c = row_scale(s, i);
            if (delta) row_apply_in(w, s->snap + i * D, c, D);
            else row_scale_in(w, c, D);
        }
        return FIRTH_OK;
    }
    /* only the changed rows, packed */
    s->sparse_rounds++;
    if (k > s->pack_rows) {
        firth_free_aligned(s->pack);
        s->pack_rows = 0;
        size_t want = k + k / 4 < rows ? k + k / 4 : rows; /* room to grow */
        s->pack = firth_alloc_aligned(want * D * sizeof(float));
        if (!s->pack) st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory packing rows");
        else s->pack_rows = want;
    }
    /* one rank out of memory must not leave the others waiting in the all-reduce */
    if ((st = firth_dist_agree(s->dist, st, err)) != FIRTH_OK) return st;
    size_t n = 0;
    for (size_t b = 0; b < nb; b++)
        for (uint64_t x = s->bits[b]; x; x &= x - 1)
            s->idx[n++] = (uint32_t)(b * 64 + (size_t)__builtin_ctzll(x));
    for (size_t r = 0; r < k; r++) {
        const float *w = W + (size_t)s->idx[r] * D;
        if (delta) row_sub(s->pack + r * D, w, s->snap + (size_t)s->idx[r] * D, D);
        else memcpy(s->pack + r * D, w, D * sizeof *w);
    }
    s->bytes_sent += (double)(k * D) * sizeof(float);
    s->rows_sent += (double)k / (double)rows;
    if ((st = timed_f32(s, s->pack, k * D, err)) != FIRTH_OK) return st;
    for (size_t r = 0; r < k; r++) {
        float *w = W + (size_t)s->idx[r] * D, c = row_scale(s, s->idx[r]);
        if (delta) row_apply(w, s->snap + (size_t)s->idx[r] * D, s->pack + r * D, c, D);
        else row_scale_to(w, s->pack + r * D, c, D);
    }
    return FIRTH_OK;
}

uint64_t w2v_model_hash(const firth_w2v *m) {
    return dist_hash(DIST_HASH_INIT, m->syn0, (m->V + m->out_rows) * (size_t)m->D * sizeof(float));
}
