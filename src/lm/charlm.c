/* charlm.c - character-level LSTM language model: model, training loop, evaluation, generation
 * and checkpoints. The layers are in lstm.c; the layout of the parameters is in charlm.h; the
 * checkpoint layout is described above charlm_save; the gradients in docs/derivations.md. */
#include "lm/charlm.h"

#include "core/bpanel.h"
#include "core/pool.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/atomic_file.h"
#include "core/mem.h"
#include "core/status.h"
#include "core/vmath.h"
#include "text/utf8.h"

#define MAX_VOCAB 0x110000
#define REPLACEMENT_CHAR 0xFFFDu

firth_charlm_params firth_charlm_default_params(void) {
    firth_charlm_params p = {.layers = 2, .hidden = 256, .embed = 0, .seq = 100, .batch = 32,
                             .lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                             .dropout = 0.0, .clip = 5.0, .val_frac = 0.05, .lr_decay = 1.0,
                             .lr_decay_after = 10, .wdrop = 0.0, .ema = 0.0,
                             .weight_decay = 0.0, .dropout_locked = 0, .input_dropout = 0.0,
                             .epoch_shift = 0, .seed = 1};
    return p;
}

firth_status firth_charlm_check_params(const firth_charlm_params *p, firth_error *err) {
    if (p->layers < 1 || p->layers > FIRTH_CHARLM_MAX_LAYERS)
        return firth_fail(err, FIRTH_ERR_PARAM, "layers must be in 1..%d, not %d",
                          FIRTH_CHARLM_MAX_LAYERS, p->layers);
    if (p->hidden < 1 || p->hidden > 16384)
        return firth_fail(err, FIRTH_ERR_PARAM, "hidden must be in 1..16384, not %d", p->hidden);
    if (p->embed < 0 || p->embed > 16384)
        return firth_fail(err, FIRTH_ERR_PARAM, "embed must be in 0..16384, not %d", p->embed);
    if (p->seq < 1 || p->seq > 100000)
        return firth_fail(err, FIRTH_ERR_PARAM, "seq must be in 1..100000, not %d", p->seq);
    if (p->batch < 1 || p->batch > 100000)
        return firth_fail(err, FIRTH_ERR_PARAM, "batch must be in 1..100000, not %d", p->batch);
    if ((double)p->seq * p->batch > 1e8)
        return firth_fail(err, FIRTH_ERR_PARAM, "seq * batch = %.0f is too large (at most 1e8)",
                          (double)p->seq * p->batch);
    if (!(p->lr > 0 && p->lr <= 10))
        return firth_fail(err, FIRTH_ERR_PARAM, "lr must be in (0, 10], not %g", p->lr);
    if (!(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "Adam's betas must be in [0, 1)");
    if (!(p->eps > 0 && p->eps < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "Adam's eps must be in (0, 1)");
    if (!(p->dropout >= 0 && p->dropout < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "dropout must be in [0, 1), not %g", p->dropout);
    if (!(p->clip >= 0 && p->clip < 1e30))
        return firth_fail(err, FIRTH_ERR_PARAM, "clip must be >= 0 (0 = off), not %g", p->clip);
    if (!(p->val_frac >= 0 && p->val_frac <= 0.5))
        return firth_fail(err, FIRTH_ERR_PARAM, "val-frac must be in [0, 0.5], not %g",
                          p->val_frac);
    if (!(p->lr_decay > 0 && p->lr_decay <= 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "lr-decay must be in (0, 1], not %g",
                          p->lr_decay);
    if (!(p->wdrop >= 0 && p->wdrop < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "wdrop must be in [0, 1), not %g", p->wdrop);
    if (!(p->ema >= 0 && p->ema < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "ema must be in [0, 1) (0 = off), not %g",
                          p->ema);
    if (!(p->weight_decay >= 0 && p->lr * p->weight_decay < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "weight-decay must be >= 0 with lr x "
                          "weight-decay < 1, not %g (lr %g)", p->weight_decay, p->lr);
    if (!(p->input_dropout >= 0 && p->input_dropout < 1))
        return firth_fail(err, FIRTH_ERR_PARAM, "input-dropout must be in [0, 1), not %g",
                          p->input_dropout);
    if (p->dropout_locked != 0 && p->dropout_locked != 1)
        return firth_fail(err, FIRTH_ERR_PARAM, "dropout-locked must be 0 or 1, not %d",
                          p->dropout_locked);
    if (p->epoch_shift != 0 && p->epoch_shift != 1)
        return firth_fail(err, FIRTH_ERR_PARAM, "epoch-shift must be 0 or 1, not %d",
                          p->epoch_shift);
    if (p->lr_decay_after < 0 || p->lr_decay_after > 1000000000)
        return firth_fail(err, FIRTH_ERR_PARAM, "lr-decay-after must be in 0..1e9, not %d",
                          p->lr_decay_after);
    return FIRTH_OK;
}

/* ---- layout and allocation ------------------------------------------------------------------ */

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Offsets of every tensor; 0 when the total would overflow (then off->n == 0). */
static void layout(charlm_offsets *o, const firth_charlm_params *p, int V) {
    size_t H = (size_t)p->hidden, G = 4 * H, E = (size_t)p->embed, n = 0;
    memset(o, 0, sizeof *o);
    o->emb = n;
    n += round16(E * (size_t)V);
    for (int l = 0; l < p->layers; l++) {
        size_t in = l ? H : (E ? E : (size_t)V);
        o->wx[l] = n, n += round16(in * G);
        o->wh[l] = n, n += round16(H * G);
        o->b[l] = n, n += round16(G);
    }
    o->wy = n, n += round16(H * (size_t)V);
    o->by = n, n += round16((size_t)V);
    o->n = n; /* sizes are bounded by check_params (16384^2 * 4 * 64 < 2^40) */
}

static size_t state_floats(const firth_charlm *m, int B) {
    return (size_t)m->p.layers * 2 * (size_t)B * (size_t)m->p.hidden;
}

static int layer_in(const firth_charlm *m, int l) {
    return l ? m->p.hidden : (m->p.embed ? m->p.embed : m->V);
}

/* Frees the scratch (the buffers sized by work_T x work_B). */
static void free_work(firth_charlm *m) {
    if (m->acts)
        for (int l = 0; l < m->p.layers; l++) {
            firth_lstm_acts *a = &m->acts[l];
            firth_free_aligned(a->gates), firth_free_aligned(a->c), firth_free_aligned(a->h);
            firth_free_aligned(a->tc), firth_free_aligned(a->dgates), firth_free_aligned(a->dhc);
            firth_free_aligned(a->par), firth_free_aligned(a->bpar);
        }
    free(m->acts);
    firth_free_aligned(m->xemb), firth_free_aligned(m->dxemb);
    firth_free_aligned(m->xin), firth_free_aligned(m->mask), firth_free_aligned(m->imask);
    firth_free_aligned(m->dbuf[0]), firth_free_aligned(m->dbuf[1]);
    firth_free_aligned(m->logits);
    free(m->ids), free(m->tgt);
    firth_free_aligned(m->eval_state);
    m->eval_state = NULL;
    firth_free_aligned(m->bscr);
    m->bscr = NULL;
    m->acts = NULL, m->xemb = m->dxemb = m->xin = m->mask = m->imask = NULL;
    m->dbuf[0] = m->dbuf[1] = m->logits = NULL;
    m->ids = m->tgt = NULL;
    m->work_T = m->work_B = 0;
}

void firth_charlm_free(firth_charlm *m) {
    if (!m) return;
    free_work(m);
    firth_pool_free(m->pool);
    free(m->vocab);
    firth_free_aligned(m->params);
    firth_free_aligned(m->grads);
    firth_free_aligned(m->m);
    firth_free_aligned(m->v);
    firth_free_aligned(m->avg);
    firth_free_aligned(m->wmask), firth_free_aligned(m->whd), firth_free_aligned(m->gwhd);
    firth_free_aligned(m->state);
    firth_free_aligned(m->gen_state);
    free(m);
}

static float *zalloc(size_t floats, int *fail) {
    if (!floats) return NULL;
    float *p = firth_alloc_aligned(floats * sizeof(float));
    if (p)
        memset(p, 0, floats * sizeof(float));
    else
        *fail = 1;
    return p;
}

/* Bytes of the weights, gradients, two moments, the average and the training and generation
 * states. */
static double model_bytes(const firth_charlm *m) {
    double BH = (double)m->p.batch * m->p.hidden, L = m->p.layers;
    return 4.0 * ((m->p.ema > 0 ? 5.0 : 4.0) * (double)m->off.n + L * 2.0 * (BH + m->p.hidden));
}

/* Bytes of the scratch for T steps x B streams (the evaluation state of B streams included). */
static double work_bytes(const firth_charlm *m, int T, int B) {
    double TB = (double)T * B, H = m->p.hidden, G = 4.0 * H, E = m->p.embed, L = m->p.layers;
    double par = (double)firth_lstm_par_floats(B, m->p.hidden, firth_pool_threads(m->pool));
    return 4.0 * (L * (TB * (2.0 * G + H) + ((double)T + 1) * B * 2.0 * H + 4.0 * B * H + par) +
                  TB * (2.0 * E + 2.0 * H + (double)m->V + 2.0 * L * H) +
                  3.0 * TB);
}

static firth_status too_big(double need, firth_error *err) {
    uint64_t phys = firth_physical_memory();
    if (phys && need > (double)phys)
        return firth_fail(err, FIRTH_ERR_PARAM, "the model would need %.1f GiB of memory, more "
                          "than this machine's %.1f GiB; use a smaller --hidden, --layers, --seq "
                          "or --batch", need / 1073741824.0, (double)phys / 1073741824.0);
    return FIRTH_OK;
}

firth_status firth_charlm_work(firth_charlm *m, int T, int B, firth_error *err) {
    if (T <= m->work_T && B <= m->work_B) return FIRTH_OK;
    if (T < m->work_T) T = m->work_T; /* grow, never shrink */
    if (B < m->work_B) B = m->work_B;
    firth_status st = too_big(model_bytes(m) + work_bytes(m, T, B), err);
    if (st != FIRTH_OK) return st;
    free_work(m);
    size_t Tz = (size_t)T, Bz = (size_t)B, TB = Tz * Bz, H = (size_t)m->p.hidden, G = 4 * H;
    size_t E = (size_t)m->p.embed, L = (size_t)m->p.layers;
    int fail = 0;
    m->acts = calloc(L, sizeof *m->acts);
    fail |= !m->acts;
    for (size_t l = 0; m->acts && l < L; l++) {
        firth_lstm_acts *a = &m->acts[l];
        a->gates = zalloc(TB * G, &fail), a->dgates = zalloc(TB * G, &fail);
        a->c = zalloc((Tz + 1) * Bz * H, &fail), a->h = zalloc((Tz + 1) * Bz * H, &fail);
        a->tc = zalloc(TB * H, &fail), a->dhc = zalloc(2 * Bz * H, &fail);
        a->pool = m->pool; /* NULL for one thread */
        a->par = zalloc(firth_lstm_par_floats(B, (int)H, firth_pool_threads(m->pool)), &fail);
    }
    if (E) m->xemb = zalloc(TB * E, &fail), m->dxemb = zalloc(TB * E, &fail);
    /* dropout: slot l > 0 the input of layer l, slot 0 the top layer's output */
    m->xin = zalloc(L * TB * H, &fail), m->mask = zalloc(L * TB * H, &fail);
    m->imask = zalloc(TB, &fail);
    m->dbuf[0] = zalloc(TB * H, &fail), m->dbuf[1] = zalloc(TB * H, &fail);
    m->logits = zalloc(TB * (size_t)m->V, &fail);
    m->ids = calloc(TB, sizeof *m->ids), m->tgt = calloc(TB, sizeof *m->tgt);
    fail |= !m->ids || !m->tgt;
    m->eval_state = zalloc(L * 2 * Bz * H, &fail);
    if (fail) {
        free_work(m);
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for the model's activations "
                          "(%.0f MiB for %d steps x %d streams)",
                          work_bytes(m, T, B) / 1048576.0, T, B);
    }
    m->work_T = T, m->work_B = B;
    return FIRTH_OK;
}

firth_status firth_charlm_set_threads(firth_charlm *m, int threads, firth_error *err) {
    if (threads < 1 || threads > FIRTH_CHARLM_MAX_THREADS)
        return firth_fail(err, FIRTH_ERR_PARAM, "threads must be 1..%d, not %d",
                          FIRTH_CHARLM_MAX_THREADS, threads);
    if (threads == firth_pool_threads(m->pool)) return FIRTH_OK;
    firth_pool *pool = NULL;
    if (threads > 1) {
        firth_status st = firth_pool_new(threads, &pool, err);
        if (st != FIRTH_OK) return st;
    }
    free_work(m); /* remade as needed, with or without the scratch of the threads */
    firth_pool_free(m->pool);
    m->pool = pool;
    return FIRTH_OK;
}

/* The bfloat16 scratch of each layer and the shared one, for (work_T, work_B). */
static firth_status work_bf16(firth_charlm *m, firth_error *err) {
    const int L = m->p.layers, H = m->p.hidden, parts = firth_pool_threads(m->pool);
    size_t scr = 0;
    double bytes = 0;
    for (int l = 0; l < L; l++) {
        const int in = layer_in(m, l), dense = l > 0 || m->p.embed > 0;
        size_t e = firth_lstm_bscr_elems(m->work_T, m->work_B, dense ? in : 0, H);
        scr = e > scr ? e : scr;
        bytes += 2.0 * (double)firth_lstm_bpar_elems(m->work_B, H, parts);
    }
    firth_status st = too_big(model_bytes(m) + work_bytes(m, m->work_T, m->work_B) + bytes +
                                  2.0 * (double)scr, err);
    if (st != FIRTH_OK) return st;
    int fail = 0;
    m->bscr = firth_alloc_aligned(scr * sizeof(uint16_t));
    fail |= !m->bscr;
    for (int l = 0; l < L; l++) {
        firth_lstm_acts *a = &m->acts[l];
        a->bpar = firth_alloc_aligned(firth_lstm_bpar_elems(m->work_B, H, parts) * sizeof(uint16_t));
        a->bscr = m->bscr;
        fail |= !a->bpar;
    }
    if (fail) {
        for (int l = 0; l < L; l++) firth_free_aligned(m->acts[l].bpar), m->acts[l].bpar = NULL;
        firth_free_aligned(m->bscr), m->bscr = NULL;
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for the bfloat16 products' "
                          "scratch (%.0f MiB)", (bytes + 2.0 * (double)scr) / 1048576.0);
    }
    return FIRTH_OK;
}

firth_status firth_charlm_work_train(firth_charlm *m, firth_error *err) {
    firth_status st = firth_charlm_work(m, m->p.seq, m->p.batch, err);
    if (st == FIRTH_OK && m->bf16 && !m->bscr) st = work_bf16(m, err);
    if (st != FIRTH_OK || m->p.wdrop <= 0 || m->whd) return st;
    const size_t HG = (size_t)m->p.hidden * 4 * (size_t)m->p.hidden, n = m->p.layers * HG;
    if ((st = too_big(model_bytes(m) + work_bytes(m, m->work_T, m->work_B) + 12.0 * (double)n,
                      err)) != FIRTH_OK)
        return st;
    int fail = 0;
    m->wmask = zalloc(n, &fail), m->whd = zalloc(n, &fail), m->gwhd = zalloc(n, &fail);
    if (fail) {
        firth_free_aligned(m->wmask), firth_free_aligned(m->whd), firth_free_aligned(m->gwhd);
        m->wmask = m->whd = m->gwhd = NULL;
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for weight drop (%.0f MiB)",
                          12.0 * (double)n / 1048576.0);
    }
    return FIRTH_OK;
}

/* A model with p and V set, the weights, moments and states allocated and zeroed (vocab not
 * filled; no scratch: firth_charlm_work). */
static firth_charlm *alloc_model(const firth_charlm_params *p, int V, firth_error *err) {
    firth_charlm *m = calloc(1, sizeof *m);
    if (!m) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory"), NULL;
    m->p = *p;
    m->V = V;
    layout(&m->off, p, V);
    /* refuse what cannot fit before trying */
    if (too_big(model_bytes(m), err) != FIRTH_OK) {
        firth_charlm_free(m);
        return NULL;
    }
    int fail = 0;
    m->vocab = calloc((size_t)V, sizeof *m->vocab);
    fail |= !m->vocab;
    m->params = zalloc(m->off.n, &fail), m->grads = zalloc(m->off.n, &fail);
    m->m = zalloc(m->off.n, &fail), m->v = zalloc(m->off.n, &fail);
    if (p->ema > 0) m->avg = zalloc(m->off.n, &fail);
    m->state = zalloc(state_floats(m, p->batch), &fail);
    m->gen_state = zalloc(state_floats(m, 1), &fail);
    if (fail) {
        double mib = (double)m->off.n * 16.0 / 1048576.0;
        firth_charlm_free(m);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for the model (%.0f MiB of weights, "
                   "gradients and Adam moments)", mib);
        return NULL;
    }
    return m;
}

/* ---- text ------------------------------------------------------------------------------------ */

/* Decodes UTF-8 into code points (invalid bytes -> U+FFFD, one each); returns the count written
 * to out (capacity len, which always suffices). */
static size_t decode_text(const char *text, size_t len, uint32_t *out) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t cp;
        int k = firth_utf8_decode(s + i, len - i, &cp);
        if (k <= 0) cp = REPLACEMENT_CHAR, k = 1;
        out[n++] = cp;
        i += (size_t)k;
    }
    return n;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int64_t firth_charlm_vocab_find(const firth_charlm *m, uint32_t cp) {
    size_t lo = 0, hi = (size_t)m->V;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->vocab[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < (size_t)m->V && m->vocab[lo] == cp ? (int64_t)lo : -1;
}

static void describe_char(uint32_t cp, char *buf, size_t cap) {
    unsigned char u[5] = {0};
    if (cp >= 0x20 && cp != 0x7F && cp != '\'' && !(cp >= 0x80 && cp < 0xA0)) {
        u[firth_utf8_encode(cp, u)] = 0;
        snprintf(buf, cap, "'%s' (U+%04X)", (const char *)u, (unsigned)cp);
    } else {
        snprintf(buf, cap, "U+%04X", (unsigned)cp);
    }
}

/* Text -> class ids (malloc'd, *n of them). FIRTH_ERR_INPUT names the first unknown character
 * and its character offset. */
static int32_t *text_to_ids(const firth_charlm *m, const char *text, size_t len, size_t *n,
                            const char *what, firth_error *err) {
    uint32_t *cps = malloc((len ? len : 1) * sizeof *cps);
    if (!cps) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for the text"), NULL;
    size_t k = decode_text(text, len, cps);
    int32_t *ids = (int32_t *)cps; /* same size, converted in place */
    for (size_t i = 0; i < k; i++) {
        int64_t id = firth_charlm_vocab_find(m, cps[i]);
        if (id < 0) {
            char d[32];
            describe_char(cps[i], d, sizeof d);
            firth_fail(err, FIRTH_ERR_INPUT,
                       "character %s at character %zu of the %s is not in the model's "
                       "vocabulary of %d characters", d, i, what, m->V);
            free(cps);
            return NULL;
        }
        ids[i] = (int32_t)id;
    }
    *n = k;
    return ids;
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h;
}

/* ---- initialisation -------------------------------------------------------------------------- */

static void fill_uniform(firth_rng *rng, float *x, size_t n, double k) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((2.0 * firth_rng_double(rng) - 1.0) * k);
}

static void fill_normal(firth_rng *rng, float *x, size_t n) {
    for (size_t i = 0; i < n; i += 2) { /* Box-Muller */
        double u1 = 1.0 - firth_rng_double(rng), u2 = firth_rng_double(rng);
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(2 * M_PI * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(2 * M_PI * u2));
    }
}

firth_charlm *firth_charlm_new(const char *text, size_t len, const firth_charlm_params *p,
                               firth_error *err) {
    if (firth_charlm_check_params(p, err) != FIRTH_OK) return NULL;
    if (len == 0) return firth_fail(err, FIRTH_ERR_INPUT, "the text is empty"), NULL;
    uint32_t *cps = malloc(len * sizeof *cps);
    if (!cps) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for the text"), NULL;
    size_t n = decode_text(text, len, cps);
    qsort(cps, n, sizeof *cps, cmp_u32);
    size_t V = 0;
    for (size_t i = 0; i < n; i++)
        if (V == 0 || cps[i] != cps[V - 1]) cps[V++] = cps[i];
    firth_charlm *m = alloc_model(p, (int)V, err);
    if (!m) return free(cps), NULL;
    if (firth_charlm_work(m, p->seq, p->batch, err) != FIRTH_OK) { /* a new model is trained */
        free(cps);
        firth_charlm_free(m);
        return NULL;
    }
    memcpy(m->vocab, cps, V * sizeof *cps);
    free(cps);
    firth_rng_seed(&m->rng, p->seed);
    const charlm_offsets *o = &m->off;
    size_t H = (size_t)p->hidden, G = 4 * H;
    double k = 1.0 / sqrt((double)H);
    if (p->embed) fill_normal(&m->rng, m->params + o->emb, (size_t)p->embed * V);
    for (int l = 0; l < p->layers; l++) {
        fill_uniform(&m->rng, m->params + o->wx[l], (size_t)layer_in(m, l) * G, k);
        fill_uniform(&m->rng, m->params + o->wh[l], H * G, k);
        fill_uniform(&m->rng, m->params + o->b[l], G, k);
        for (size_t j = 0; j < H; j++) m->params[o->b[l] + H + j] = 1.0f; /* forget gate */
    }
    fill_uniform(&m->rng, m->params + o->wy, H * V, k);
    fill_uniform(&m->rng, m->params + o->by, V, k);
    if (m->avg) memcpy(m->avg, m->params, o->n * sizeof(float));
    return m;
}

const firth_charlm_params *firth_charlm_get_params(const firth_charlm *m) { return &m->p; }
uint64_t firth_charlm_steps_done(const firth_charlm *m) { return m->step; }
size_t firth_charlm_vocab_size(const firth_charlm *m) { return (size_t)m->V; }
uint32_t firth_charlm_vocab_char(const firth_charlm *m, size_t id) { return m->vocab[id]; }

int firth_charlm_vocab_utf8(const firth_charlm *m, size_t id, char out[4]) {
    return firth_utf8_encode(m->vocab[id], (unsigned char *)out);
}

firth_status firth_charlm_set_optim(firth_charlm *m, const firth_charlm_params *p,
                                    firth_error *err) {
    const firth_charlm_params *o = &m->p;
    if (p->layers != o->layers || p->hidden != o->hidden || p->embed != o->embed ||
        p->seq != o->seq || p->batch != o->batch || p->beta1 != o->beta1 ||
        p->beta2 != o->beta2 || p->eps != o->eps || p->val_frac != o->val_frac ||
        p->ema != o->ema || p->seed != o->seed)
        return firth_fail(err, FIRTH_ERR_PARAM, "only lr, lr-decay, lr-decay-after, dropout, "
                          "dropout-locked, input-dropout, wdrop, weight-decay, clip and "
                          "epoch-shift can change on a trained model");
    if (firth_charlm_check_params(p, err) != FIRTH_OK) return err ? err->status : FIRTH_ERR_PARAM;
    m->p = *p;
    return FIRTH_OK;
}

double firth_charlm_lr_at(const firth_charlm_params *p, uint64_t epoch) {
    /* char-rnn decays when epoch k (1-based) ends with k >= after: before 0-based epoch e,
     * epochs 1..e have ended */
    uint64_t first = p->lr_decay_after > 1 ? (uint64_t)p->lr_decay_after : 1;
    if (p->lr_decay >= 1 || epoch < first) return p->lr;
    return p->lr * pow(p->lr_decay, (double)(epoch - first + 1));
}

/* ---- forward / backward ---------------------------------------------------------------------- */

/* Layer l's weights within the block P (the weights or their average); with weight drop on
 * (wd) the recurrent ones are this step's dropped copy. */
static firth_lstm_weights layer_weights(const firth_charlm *m, const float *P, int l, int wd) {
    const size_t HG = (size_t)m->p.hidden * 4 * (size_t)m->p.hidden;
    firth_lstm_weights w = {P + m->off.wx[l], wd ? m->whd + (size_t)l * HG : P + m->off.wh[l],
                            P + m->off.b[l]};
    return w;
}

/* Weight drop: draws this step's mask over every layer's Wh and writes the dropped copy. A
 * weight is dropped when a 16-bit uniform u (four from each 64-bit draw: the mask costs a quarter
 * of the draws) is below wdrop x 2^16, rounded: the rate is wdrop to within 2^-17. */
/* The random draws below are SplitMix64's, each computed from its index (firth_rng_at): the
 * same numbers, in the same places, as one thread drawing them in turn, whatever the threads. */

typedef struct wdrop_job {
    firth_charlm *m;
    firth_rng at; /* the stream before the first draw */
    uint32_t cut;
    float keep_scale;
} wdrop_job;

/* Elements [lo, hi) of all layers' Wh, one after the other; one draw for four weights. */
static void weight_drop_part(void *ctx, size_t lo, size_t hi, int part) {
    const wdrop_job *J = ctx;
    firth_charlm *m = J->m;
    const size_t HG = (size_t)m->p.hidden * 4 * (size_t)m->p.hidden;
    for (size_t k = lo; k < hi; k += 4) { /* lo, hi and HG = 4 H^2 are multiples of 4 */
        const size_t l = k / HG, e = k % HG;
        const float *wh = m->params + m->off.wh[l] + e;
        float *mask = m->wmask + k, *whd = m->whd + k;
        uint64_t r = firth_rng_at(&J->at, k / 4);
        for (int j = 0; j < 4; j++, r >>= 16) {
            mask[j] = (uint32_t)(r & 0xFFFF) < J->cut ? 0.0f : J->keep_scale;
            whd[j] = wh[j] * mask[j];
        }
    }
}

static void weight_drop(firth_charlm *m) {
    const size_t n = (size_t)m->p.layers * (size_t)m->p.hidden * 4 * (size_t)m->p.hidden;
    wdrop_job J = {m, m->rng, (uint32_t)lround(m->p.wdrop * 65536.0),
                   (float)(1.0 / (1.0 - m->p.wdrop))};
    firth_pool_for(m->pool, n, 64, weight_drop_part, &J);
    firth_rng_skip(&m->rng, n / 4);
}

typedef struct dropout_job {
    firth_rng at;
    uint64_t cut; /* dropped where a draw's top 53 bits are below this */
    float keep_scale;
    const float *h;
    float *xin, *mask;
    size_t drawn;
} dropout_job;

/* Draws mask[k] for k in [lo, hi) (all below drawn) and applies it. A draw r drops its element
 * when the uniform u = (r >> 11) 2^-53 is below p, that is when the integer r >> 11 is below
 * ceil(p 2^53) (p 2^53 is exact in a double): the same masks as comparing u, and a loop of
 * integer operations that the compiler vectorises. */
static void dropout_part(void *ctx, size_t lo, size_t hi, int part) {
    const dropout_job *J = ctx;
    const uint64_t cut = J->cut;
    const float keep = J->keep_scale;
    float *restrict mask = J->mask, *restrict xin = J->xin;
    const float *restrict h = J->h;
#pragma omp simd
    for (size_t k = lo; k < hi; k++) {
        const float v = (firth_rng_at(&J->at, k) >> 11) < cut ? 0.0f : keep;
        mask[k] = v;
        xin[k] = h[k] * v;
    }
}

/* Elements drawn + [lo, hi): the drawn mask repeated. */
static void dropout_repeat_part(void *ctx, size_t lo, size_t hi, int part) {
    const dropout_job *J = ctx;
    for (size_t k = J->drawn + lo; k < J->drawn + hi; k++) {
        J->mask[k] = J->mask[k % J->drawn];
        J->xin[k] = J->h[k] * J->mask[k];
    }
}

/* Dropout on n activations h, with mask slot `slot` (slot l > 0: the input of layer l; slot 0:
 * the top layer's output): draws the mask (0 or 1 / (1 - p)) and returns h x mask. The first
 * `drawn` elements of the mask are drawn and the rest repeat them (drawn = B H for locked
 * dropout: the mask of the first time step held for all of them; drawn = n otherwise). */
static const float *dropout_fwd(firth_charlm *m, int slot, const float *h, size_t n,
                                size_t drawn, float keep_scale) {
    dropout_job J = {m->rng, (uint64_t)ceil(m->p.dropout * 9007199254740992.0), keep_scale, h,
                     m->xin + (size_t)slot * n, m->mask + (size_t)slot * n, drawn};
    firth_pool_for(m->pool, drawn, 64, dropout_part, &J); /* the drawn ones first: */
    if (n > drawn) firth_pool_for(m->pool, n - drawn, 64, dropout_repeat_part, &J);
    firth_rng_skip(&m->rng, drawn);
    return J.xin;
}

typedef struct mask_job {
    const float *mask;
    float *d;
} mask_job;

static void dropout_bwd_part(void *ctx, size_t lo, size_t hi, int part) {
    const mask_job *J = ctx;
    for (size_t k = lo; k < hi; k++) J->d[k] *= J->mask[k];
}

/* The gradient through the same mask, in place. */
static void dropout_bwd(const firth_charlm *m, int slot, float *d, size_t n) {
    mask_job J = {m->mask + (size_t)slot * n, d};
    firth_pool_for(m->pool, n, 16, dropout_bwd_part, &J);
}

typedef struct softmax_job {
    firth_charlm *m;
    const int32_t *targets;
    float inv;
    int train;
    double loss[FIRTH_CHARLM_MAX_THREADS]; /* each thread's rows' sum */
} softmax_job;

/* Each row's log-sum-exp in float with firth_vexp (vectorised; relative error ~1e-7, far below
 * the 1e-4 the PyTorch fixture asks), the loss summed in double. */
static void softmax_part(void *ctx, size_t lo, size_t hi, int part) {
    softmax_job *S = ctx;
    const int V = S->m->V;
    const float inv = S->inv;
    double loss = 0.0;
    for (size_t r = lo; r < hi; r++) {
        float *z = S->m->logits + r * V;
        float mx = z[0];
        for (int k = 1; k < V; k++) mx = z[k] > mx ? z[k] : mx;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int k = 0; k < V; k++) s += firth_vexp(z[k] - mx);
        const float lse = mx + logf(s);
        loss += (double)lse - (double)z[S->targets[r]];
        if (S->train) {
#pragma omp simd
            for (int k = 0; k < V; k++) z[k] = firth_vexp(z[k] - lse) * inv;
            z[S->targets[r]] -= inv;
        }
    }
    S->loss[part] = loss;
}

double firth_charlm_forward_backward(firth_charlm *m, int T, int B, const int32_t *ids,
                                     const int32_t *targets, float *state, int train) {
    const int L = m->p.layers, H = m->p.hidden, E = m->p.embed, V = m->V;
    const size_t TB = (size_t)T * B, BH = (size_t)B * H;
    const int drop = train && m->p.dropout > 0, wd = train && m->p.wdrop > 0;
    const int idrop = train && m->p.input_dropout > 0;
    const float keep_scale = drop ? (float)(1.0 / (1.0 - m->p.dropout)) : 1.0f;
    const size_t drawn = m->p.dropout_locked ? BH : TB * (size_t)H; /* of each dropout mask */
    const charlm_offsets *o = &m->off;
    /* training reads the weights; evaluation and generation their average when kept */
    const float *P = !train && m->avg ? m->avg : m->params;

    if (wd) weight_drop(m);
    /* input dropout: each input character (its one-hot or embedding row) dropped or scaled */
    const float *iscale = NULL;
    if (idrop) {
        const float ks = (float)(1.0 / (1.0 - m->p.input_dropout));
        for (size_t r = 0; r < TB; r++)
            m->imask[r] = firth_rng_double(&m->rng) < m->p.input_dropout ? 0.0f : ks;
        iscale = m->imask;
    }
    if (E)
        for (size_t r = 0; r < TB; r++) {
            float *x = m->xemb + r * E;
            memcpy(x, P + o->emb + (size_t)ids[r] * E, E * sizeof(float));
            if (iscale)
                for (int k = 0; k < E; k++) x[k] *= iscale[r];
        }
    /* x_l: the input of layer l (NULL with ids for one-hot) */
    const float *xs[FIRTH_CHARLM_MAX_LAYERS];
    for (int l = 0; l < L; l++) {
        firth_lstm_acts *a = &m->acts[l];
        a->bf16 = train && m->bf16 && a->bpar && a->bscr; /* evaluation stays in float */
        memcpy(a->h, state + (size_t)(2 * l) * BH, BH * sizeof(float));
        memcpy(a->c, state + (size_t)(2 * l + 1) * BH, BH * sizeof(float));
        const float *x;
        if (l == 0) {
            x = E ? m->xemb : NULL;
        } else if (drop) {
            x = dropout_fwd(m, l, m->acts[l - 1].h + BH, TB * (size_t)H, drawn, keep_scale);
        } else {
            x = m->acts[l - 1].h + BH;
        }
        xs[l] = x;
        firth_lstm_weights w = layer_weights(m, P, l, wd);
        firth_lstm_forward(T, B, layer_in(m, l), H, x, x ? NULL : ids, x ? NULL : iscale, &w, a);
        memcpy(state + (size_t)(2 * l) * BH, a->h + (size_t)T * BH, BH * sizeof(float));
        memcpy(state + (size_t)(2 * l + 1) * BH, a->c + (size_t)T * BH, BH * sizeof(float));
    }
    /* logits = h_top Wy + by; with dropout, h_top through the mask of slot 0 (char-rnn) */
    const float *top = m->acts[L - 1].h + BH; /* (T B, H) */
    if (drop) top = dropout_fwd(m, 0, top, TB * (size_t)H, drawn, keep_scale);
    for (size_t r = 0; r < TB; r++)
        memcpy(m->logits + r * V, P + o->by, (size_t)V * sizeof(float));
    firth_pool_sgemm(m->pool, CblasNoTrans, CblasNoTrans, (int)TB, V, H, 1.0f, top, H,
                     P + o->wy, V, 1.0f, m->logits, V);
    if (!targets) return 0.0;

    /* softmax cross-entropy; with train the rows become d loss / d logits of the mean loss */
    softmax_job S = {m, targets, 1.0f / (float)TB, train, {0}};
    firth_pool_for(m->pool, TB, 1, softmax_part, &S);
    double loss = 0.0;
    for (int t = 0; t < firth_pool_threads(m->pool); t++) loss += S.loss[t];
    if (!train) return loss;

    float *g = m->grads;
    firth_pool_sgemm(m->pool, CblasTrans, CblasNoTrans, H, V, (int)TB, 1.0f, top, H, m->logits,
                     V, 1.0f, g + o->wy, V);
    for (size_t r = 0; r < TB; r++)
        for (int k = 0; k < V; k++) g[o->by + k] += m->logits[r * V + k];
    float *dh = m->dbuf[0], *dbelow = m->dbuf[1];
    firth_pool_sgemm(m->pool, CblasNoTrans, CblasTrans, (int)TB, H, V, 1.0f, m->logits, V,
                     m->params + o->wy, V, 0.0f, dh, H);
    if (drop) dropout_bwd(m, 0, dh, TB * (size_t)H);
    const size_t HG = (size_t)H * 4 * (size_t)H;
    for (int l = L - 1; l >= 0; l--) {
        firth_lstm_weights w = layer_weights(m, P, l, wd);
        float *gwh = wd ? m->gwhd + (size_t)l * HG : g + o->wh[l];
        if (wd) memset(gwh, 0, HG * sizeof(float));
        firth_lstm_grads lg = {g + o->wx[l], gwh, g + o->b[l]};
        float *dx = l > 0 ? dbelow : (E ? m->dxemb : NULL);
        firth_lstm_backward(T, B, layer_in(m, l), H, xs[l], xs[l] ? NULL : ids,
                            xs[l] ? NULL : iscale, &w, &m->acts[l], dh, &lg, dx, NULL, NULL);
        if (wd) { /* d loss / d Wh = d loss / d (Wh x mask) x mask */
            const float *mask = m->wmask + (size_t)l * HG;
            float *dst = g + o->wh[l];
            for (size_t k = 0; k < HG; k++) dst[k] += gwh[k] * mask[k];
        }
        if (l > 0) {
            if (drop) dropout_bwd(m, l, dbelow, TB * (size_t)H);
            float *t = dh;
            dh = dbelow, dbelow = t;
        }
    }
    if (E)
        for (size_t r = 0; r < TB; r++) {
            float *dst = g + o->emb + (size_t)ids[r] * E;
            const float *src = m->dxemb + r * E;
            const float s = iscale ? iscale[r] : 1.0f; /* the row went in times s */
            for (int k = 0; k < E; k++) dst[k] += s * src[k];
        }
    return loss;
}

double firth_charlm_clip(float *grads, size_t n, double max_norm) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)grads[i] * grads[i];
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) { /* as torch.nn.utils.clip_grad_norm_ */
        float c = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < n; i++) grads[i] *= c;
    }
    return norm;
}

void firth_charlm_adam(float *restrict params, const float *restrict grads, float *restrict m,
                       float *restrict v, size_t n, double lr, double beta1, double beta2,
                       double eps, uint64_t t) {
    /* torch.optim.Adam: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
    const double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
    const float step = (float)(lr / bc1), isb2 = (float)(1.0 / sqrt(bc2)), fe = (float)eps;
    const float b1 = (float)beta1, b2 = (float)beta2, c1 = (float)(1.0 - beta1),
                c2 = (float)(1.0 - beta2);
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float gi = grads[i];
        float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi, v[i] = vi;
        params[i] -= step * mi / (sqrtf(vi) * isb2 + fe);
    }
}

static void scale(float *restrict x, size_t n, float f) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) x[i] *= f;
}

/* AdamW's decoupled decay (torch.optim.AdamW): the matrices' weights times 1 - lr x wd before
 * the Adam step; the biases (b of each layer, by) stay. */
static void decay_matrices(firth_charlm *m, double lr, size_t lo, size_t hi) {
    const float f = (float)(1.0 - lr * m->p.weight_decay);
    const charlm_offsets *o = &m->off;
    size_t seg[FIRTH_CHARLM_MAX_LAYERS + 2][2];
    int ns = 0;
    seg[ns][0] = o->emb, seg[ns++][1] = o->wx[0]; /* the embedding (none with one-hot) */
    for (int l = 0; l < m->p.layers; l++) /* wx and wh, which lie before b */
        seg[ns][0] = o->wx[l], seg[ns++][1] = o->b[l];
    seg[ns][0] = o->wy, seg[ns++][1] = o->by;
    for (int k = 0; k < ns; k++) { /* the part of each in [lo, hi) */
        size_t a = seg[k][0] > lo ? seg[k][0] : lo, b = seg[k][1] < hi ? seg[k][1] : hi;
        if (b > a) scale(m->params + a, b - a, f);
    }
}

/* After step t (1-based): avg <- d avg + (1 - d) params, d = min(ema, (1 + t) / (10 + t)). */
static void ema_update(float *restrict avg, const float *restrict params, size_t n, double ema,
                       uint64_t t) {
    double d = (1.0 + (double)t) / (10.0 + (double)t);
    const float df = (float)(d < ema ? d : ema), cf = 1.0f - df;
#pragma omp simd
    for (size_t i = 0; i < n; i++) avg[i] = df * avg[i] + cf * params[i];
}

/* ---- one optimiser step, split between the threads ------------------------------------- */

typedef struct update_job {
    firth_charlm *m;
    double lr, clip_scale;
    double sumsq[FIRTH_CHARLM_MAX_THREADS];
} update_job;

static void zero_part(void *ctx, size_t lo, size_t hi, int part) {
    const update_job *J = ctx;
    memset(J->m->grads + lo, 0, (hi - lo) * sizeof(float));
}

static void sumsq_part(void *ctx, size_t lo, size_t hi, int part) {
    update_job *J = ctx;
    double s = 0.0;
    for (size_t i = lo; i < hi; i++) s += (double)J->m->grads[i] * J->m->grads[i];
    J->sumsq[part] = s;
}

static void clip_part(void *ctx, size_t lo, size_t hi, int part) {
    const update_job *J = ctx;
    const float c = (float)J->clip_scale;
    for (size_t i = lo; i < hi; i++) J->m->grads[i] *= c;
}

/* AdamW's decay, Adam and the weight average on [lo, hi): element by element, so the same bits
 * however the range is cut. */
static void update_part(void *ctx, size_t lo, size_t hi, int part) {
    const update_job *J = ctx;
    firth_charlm *m = J->m;
    if (m->p.weight_decay > 0) decay_matrices(m, J->lr, lo, hi);
    firth_charlm_adam(m->params + lo, m->grads + lo, m->m + lo, m->v + lo, hi - lo, J->lr,
                      m->p.beta1, m->p.beta2, m->p.eps, m->step);
    if (m->avg) ema_update(m->avg + lo, m->params + lo, hi - lo, m->p.ema, m->step);
}

static void zero_grads(firth_charlm *m) {
    update_job J = {.m = m};
    firth_pool_for(m->pool, m->off.n, 16, zero_part, &J);
}

/* firth_charlm_clip on the threads: the same bits on one (one range, summed in order); on
 * several the sum of squares adds each thread's part in turn. */
static double clip_grads(firth_charlm *m) {
    update_job J = {.m = m};
    firth_pool_for(m->pool, m->off.n, 16, sumsq_part, &J);
    double s = 0.0;
    for (int t = 0; t < firth_pool_threads(m->pool); t++) s += J.sumsq[t];
    double norm = sqrt(s);
    if (m->p.clip > 0 && norm > m->p.clip) {
        J.clip_scale = m->p.clip / (norm + 1e-6);
        firth_pool_for(m->pool, m->off.n, 16, clip_part, &J);
    }
    return norm;
}

static void update(firth_charlm *m, double lr) {
    update_job J = {.m = m, .lr = lr};
    firth_pool_for(m->pool, m->off.n, 16, update_part, &J);
}

/* ---- evaluation -------------------------------------------------------------------------------- */

/* Mean nats per prediction over ids[0..n) as the public eval describes, in B streams (at most
 * n - 1). */
static double eval_ids(firth_charlm *m, const int32_t *ids, size_t n, int B, uint64_t *count) {
    const int T = m->p.seq;
    if ((size_t)B > n - 1) B = (int)(n - 1);
    const size_t Ls = (n - 1) / (size_t)B;
    memset(m->eval_state, 0, state_floats(m, B) * sizeof(float));
    double sum = 0.0;
    for (size_t s = 0; s < Ls; s += (size_t)T) {
        int Tc = (int)(Ls - s < (size_t)T ? Ls - s : (size_t)T);
        for (int t = 0; t < Tc; t++)
            for (int b = 0; b < B; b++) {
                size_t pos = (size_t)b * Ls + s + (size_t)t;
                m->ids[(size_t)t * B + b] = ids[pos];
                m->tgt[(size_t)t * B + b] = ids[pos + 1];
            }
        sum += firth_charlm_forward_backward(m, Tc, B, m->ids, m->tgt, m->eval_state, 0);
    }
    *count = (uint64_t)Ls * (uint64_t)B;
    return sum / (double)*count;
}

firth_status firth_charlm_eval(firth_charlm *m, const char *text, size_t len, double *nats,
                               uint64_t *chars, firth_error *err) {
    return firth_charlm_eval_streams(m, text, len, 0, nats, chars, err);
}

firth_status firth_charlm_eval_streams(firth_charlm *m, const char *text, size_t len,
                                       int streams, double *nats, uint64_t *chars,
                                       firth_error *err) {
    if (streams < 0)
        return firth_fail(err, FIRTH_ERR_PARAM, "streams must be 0 (the model's batch) or more");
    size_t n = 0;
    int32_t *ids = text_to_ids(m, text, len, &n, "text", err);
    if (!ids) return err ? err->status : FIRTH_ERR_INPUT;
    if (n < 2) {
        free(ids);
        return firth_fail(err, FIRTH_ERR_INPUT, "the text has %zu characters; evaluating needs "
                          "at least 2", n);
    }
    /* eval_ids reads min(seq, stream length) steps of min(streams, n - 1) streams */
    const size_t want = streams ? (size_t)streams : (size_t)m->p.batch;
    size_t B = want < n - 1 ? want : n - 1;
    size_t T = (n - 1) / B < (size_t)m->p.seq ? (n - 1) / B : (size_t)m->p.seq;
    firth_status st = firth_charlm_work(m, (int)T, (int)B, err);
    if (st != FIRTH_OK) {
        free(ids);
        return st;
    }
    uint64_t c = 0;
    double v = eval_ids(m, ids, n, (int)B, &c);
    free(ids);
    if (isnan(v)) /* weights so large that a logit overflows (found by tests/fuzz/fuzz_charlm.c) */
        return firth_fail(err, FIRTH_ERR_DIVERGED, "the model's loss on this text is NaN (its "
                          "weights overflow: the checkpoint is from a diverged run or damaged)");
    if (nats) *nats = v;
    if (chars) *chars = c;
    return FIRTH_OK;
}

/* ---- generation ------------------------------------------------------------------------------ */

void firth_charlm_reset(firth_charlm *m) {
    memset(m->gen_state, 0, state_floats(m, 1) * sizeof(float));
}

firth_status firth_charlm_feed(firth_charlm *m, size_t id, float *logits, firth_error *err) {
    if (id >= (size_t)m->V)
        return firth_fail(err, FIRTH_ERR_PARAM, "class %zu is outside the vocabulary of %d", id,
                          m->V);
    firth_status st = firth_charlm_work(m, 1, 1, err);
    if (st != FIRTH_OK) return st;
    int32_t x = (int32_t)id;
    firth_charlm_forward_backward(m, 1, 1, &x, NULL, m->gen_state, 0);
    if (logits) memcpy(logits, m->logits, (size_t)m->V * sizeof(float));
    return FIRTH_OK;
}

firth_status firth_charlm_feed_text(firth_charlm *m, const char *text, size_t len, float *logits,
                                    firth_error *err) {
    size_t n = 0;
    int32_t *ids = text_to_ids(m, text, len, &n, "prime text", err);
    if (!ids) return err ? err->status : FIRTH_ERR_INPUT;
    firth_status st = FIRTH_OK;
    for (size_t i = 0; i < n && st == FIRTH_OK; i++)
        st = firth_charlm_feed(m, (size_t)ids[i], logits, err);
    free(ids);
    return st;
}

/* ---- training ----------------------------------------------------------------------------------- */

/* Weights and both moments finite, second moments >= 0: what firth_charlm_load accepts. */
static int all_finite_adam(const firth_charlm *m) {
    for (size_t i = 0; i < m->off.n; i++)
        if (!isfinite(m->params[i]) || !isfinite(m->m[i]) || !isfinite(m->v[i]) || m->v[i] < 0 ||
            (m->avg && !isfinite(m->avg[i])))
            return 0;
    return 1;
}

/* Where the streams of 0-based `epoch` start in their slices: 0 without epoch_shift and in the
 * first epoch, else in [0, seq), from the seed and the epoch alone (so a resumed run agrees). */
static size_t epoch_offset(const firth_charlm *m, uint64_t epoch) {
    if (!m->p.epoch_shift || epoch == 0) return 0;
    firth_rng r;
    firth_rng_seed(&r, m->p.seed ^ (epoch * 0xA24BAED4963EE407ull));
    return firth_rng_below(&r, (uint32_t)m->p.seq);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int firth_charlm_bf16_native(void) { return firth_bpanel_native(); }

firth_status firth_charlm_train(firth_charlm *m, const char *text, size_t len,
                                const firth_charlm_train_opts *opts,
                                firth_charlm_progress_fn progress, void *user, firth_error *err) {
    uint64_t h = hash_bytes(text, len);
    if (m->text_bytes && (m->text_bytes != len || m->text_hash != h))
        return firth_fail(err, FIRTH_ERR_INPUT,
                          "this is not the text the model was trained on (%llu bytes, hash "
                          "%016llx; the model's: %llu bytes, hash %016llx); resume with the same "
                          "--input",
                          (unsigned long long)len, (unsigned long long)h,
                          (unsigned long long)m->text_bytes, (unsigned long long)m->text_hash);
    size_t n = 0;
    int32_t *ids = text_to_ids(m, text, len, &n, "training text", err);
    if (!ids) return err ? err->status : FIRTH_ERR_INPUT;
    const int T = m->p.seq, B = m->p.batch;
    m->bf16 = opts->bf16 != 0;
    firth_status st = firth_charlm_work_train(m, err);
    if (st != FIRTH_OK) {
        free(ids);
        return st;
    }
    size_t n_val = (size_t)floor((double)n * m->p.val_frac);
    size_t n_tr = n - n_val;
    size_t Ls = n_tr / (size_t)B; /* each stream's slice */
    /* steps per epoch: a stream reads T characters a step and predicts the one after each; with
     * epoch_shift it starts up to T - 1 characters into its slice */
    const size_t lead = m->p.epoch_shift ? (size_t)T - 1 : 0;
    uint64_t cpe = Ls > lead ? (Ls - 1 - lead) / (size_t)T : 0;
    if (cpe == 0) {
        st = firth_fail(err, FIRTH_ERR_INPUT,
                        "the training part of the text has %zu characters, too few for batch %d "
                        "x (seq %d + %zu) = %zu; use a smaller --batch or --seq", n_tr, B, T,
                        lead + 1, (size_t)B * ((size_t)T + lead + 1));
        goto out;
    }
    if (m->p.val_frac > 0 && n_val < 2) {
        st = firth_fail(err, FIRTH_ERR_INPUT,
                        "the validation split (--val-frac %g of %zu characters) has fewer than 2 "
                        "characters; use a larger --val-frac or --val-frac 0", m->p.val_frac, n);
        goto out;
    }
    const double tl = opts->time_limit, wd = opts->warmdown;
    if (!(tl >= 0 && tl <= 1e12) || !(wd >= 0 && wd <= 1) || (wd > 0 && tl == 0)) {
        st = firth_fail(err, FIRTH_ERR_PARAM,
                        "time limit %g s with warmdown %g: the limit must be in [0, 1e12] "
                        "seconds and the warmdown in [0, 1], a warmdown only with a limit",
                        tl, wd);
        goto out;
    }
    if (opts->warmup > 1000000000) {
        st = firth_fail(err, FIRTH_ERR_PARAM, "warm-up of %llu steps: at most 1e9",
                        (unsigned long long)opts->warmup);
        goto out;
    }
    uint64_t total = opts->steps;
    if (!total) {
        double e = ceil(opts->epochs * (double)cpe);
        total = e > 0 ? (uint64_t)e : 0;
        if (tl > 0 && !(opts->epochs > 0)) total = UINT64_MAX; /* the clock alone stops it */
    }
    m->text_hash = h, m->text_bytes = len;
    const uint64_t start_step = m->step;
    const double t0 = now_s();
    double t_eval = 0; /* seconds spent in validation passes, left out of the rates */
    firth_charlm_progress pr = {0};
    pr.steps = total;
    pr.val_nats = NAN;
    const size_t TB = (size_t)T * B;
    while (m->step < total) {
        if (m->chunk >= cpe) { /* new epoch: from the start, with a fresh state */
            m->chunk = 0, m->epoch++;
            memset(m->state, 0, state_floats(m, B) * sizeof(float));
        }
        const size_t first = epoch_offset(m, m->epoch) + m->chunk * (size_t)T;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
                size_t pos = (size_t)b * Ls + first + (size_t)t;
                m->ids[(size_t)t * B + b] = ids[pos];
                m->tgt[(size_t)t * B + b] = ids[pos + 1];
            }
        zero_grads(m);
        const double step_t0 = now_s() - t0;
        double loss = firth_charlm_forward_backward(m, T, B, m->ids, m->tgt, m->state, 1) /
                      (double)TB;
        double norm = isfinite(loss) ? clip_grads(m) : NAN;
        if (!isfinite(loss) || !isfinite(norm)) {
            st = firth_fail(err, FIRTH_ERR_DIVERGED,
                            "training diverged at step %llu: the %s is %s (the last checkpoint "
                            "written stays as it was; try a lower --lr or a smaller --clip)",
                            (unsigned long long)m->step + 1,
                            isfinite(loss) ? "gradient norm" : "loss",
                            isnan(isfinite(loss) ? norm : loss) ? "NaN" : "infinite");
            goto out;
        }
        m->step++, m->chunk++;
        double lr = firth_charlm_lr_at(&m->p, m->epoch);
        if (wd > 0) { /* the warmdown: the rate of the time this step started */
            double left = (tl - step_t0) / (wd * tl);
            lr *= left >= 1 ? 1 : left > 0 ? left : 0;
        }
        if (m->step < opts->warmup) lr *= (double)m->step / (double)opts->warmup;
        update(m, lr);
        double el = now_s() - t0, tr = el - t_eval;
        pr.step = m->step, pr.epoch = m->epoch, pr.loss = loss, pr.lr = lr, pr.elapsed_s = el;
        pr.chars_per_s = tr > 0 ? (double)(m->step - start_step) * (double)TB / tr : 0;
        pr.eta_s = tr / (double)(m->step - start_step) * (double)(total - m->step);
        if (tl > 0 && tl - el < pr.eta_s) pr.eta_s = tl - el > 0 ? tl - el : 0;
        pr.evaluated = 0, pr.checkpointed = 0, pr.val_nats = NAN;
        int last = m->step == total || (tl > 0 && el >= tl);
        if (last) pr.steps = m->step; /* the clock may end the run before `total` */
        int stop = progress ? progress(&pr, user) : 0;
        if (!stop && n_val >= 2 &&
            (last || (opts->eval_every && m->step % opts->eval_every == 0))) {
            uint64_t c;
            double te = now_s();
            pr.val_nats = eval_ids(m, ids + n_tr, n_val, m->p.batch, &c);
            t_eval += now_s() - te;
            pr.evaluated = 1;
            if (progress) stop = progress(&pr, user);
            pr.evaluated = 0, pr.val_nats = NAN;
        }
        if (opts->checkpoint &&
            (stop || last || (opts->checkpoint_every && m->step % opts->checkpoint_every == 0))) {
            /* the loss was finite before this step's update, but the update itself can
             * overflow (Adam's moments near the float limit): never write what the loader
             * would refuse (found by tests/fuzz/fuzz_charlm.c) */
            if (!all_finite_adam(m)) {
                st = firth_fail(err, FIRTH_ERR_DIVERGED,
                                "training diverged at step %llu: the weights or Adam's moments "
                                "overflowed (the last checkpoint written stays as it was; try a "
                                "lower --lr)", (unsigned long long)m->step);
                goto out;
            }
            if ((st = firth_charlm_save(m, opts->checkpoint, err)) != FIRTH_OK) goto out;
            pr.checkpointed = 1; /* a stop asked for now finds the checkpoint up to date */
            if (progress && !stop) stop = progress(&pr, user);
            pr.checkpointed = 0;
        }
        if (stop) {
            st = firth_fail(err, FIRTH_ERR_CANCELLED, "training stopped at step %llu%s%s",
                            (unsigned long long)m->step,
                            opts->checkpoint ? "; checkpoint written to " : "",
                            opts->checkpoint ? opts->checkpoint : "");
            goto out;
        }
        if (last) break; /* the steps are done, or the clock ended the run */
    }
    if (m->step == start_step && opts->checkpoint) /* nothing to do: still write the output */
        st = firth_charlm_save(m, opts->checkpoint, err);
out:
    free(ids);
    return st;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/*
 * Checkpoint layout (machine byte order: little-endian on x86-64 and AArch64; the endian mark
 * lets a loader on another byte order refuse the file; docs/formats.md):
 *   char[8] "FIRTHCLM"; u32 version; u32 endian mark 0x01020304
 *   u32 V, layers, hidden, embed, seq, batch
 *   f64 lr, beta1, beta2, eps, dropout, clip, val_frac, lr_decay, lr_decay_after, wdrop, ema,
 *       weight_decay, dropout_locked (0 or 1), input_dropout, epoch_shift (0 or 1)
 *                                   (version 5: no epoch_shift: read as 0;
 *                                   version 4 also no input_dropout: read as 0;
 *                                   version 3 also no weight_decay, dropout_locked: read as 0;
 *                                   version 2 also no wdrop, ema: read as 0; version 1 also no
 *                                   lr_decay, lr_decay_after: read as 1 and 10)
 *   u64 seed, step, epoch, chunk, rng state, text bytes, text hash, n_params
 *   u32 vocab[V]                      code points, ascending
 *   f32 params[n], adam_m[n], adam_v[n]
 *   f32 avg[n]                        only when ema > 0: the moving average of params
 *   f32 state[L][2][batch][hidden]    the carried training state (h, c of each layer)
 *   u64 checksum of every byte before it
 */
#define CKPT_MAGIC "FIRTHCLM"
#define CKPT_VERSION 6u
#define CKPT_ENDIAN 0x01020304u
#define CKPT_F64 15
/* f64 settings in the header of each version (index = version) */
static const int ckpt_f64_of[CKPT_VERSION + 1] = {0, 7, 9, 11, 13, 14, CKPT_F64};
#define CKPT_HEADER (8 + 4 * 2 + 4 * 6 + 8 * CKPT_F64 + 8 * 8)
#define CKPT_HEADER_V1 (CKPT_HEADER - 8 * (CKPT_F64 - 7))

typedef struct sum_writer {
    FILE *f;
    uint64_t h;
    int bad;
} sum_writer;

static void sum_update(uint64_t *h, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t x = *h;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        x = (x ^ v) * 0x100000001B3ull;
        x ^= x >> 29;
        p += 8, n -= 8;
    }
    while (n--) x = (x ^ *p++) * 0x100000001B3ull;
    *h = x;
}

static void put(sum_writer *w, const void *data, size_t n) {
    if (!n || w->bad) return;
    sum_update(&w->h, data, n);
    if (fwrite(data, 1, n, w->f) != n) w->bad = 1;
}

static void put_header(unsigned char *hd, const firth_charlm *m) {
    unsigned char *p = hd;
#define PUT(v) (memcpy(p, &(v), sizeof(v)), p += sizeof(v))
    memcpy(p, CKPT_MAGIC, 8), p += 8;
    uint32_t u32[8] = {CKPT_VERSION, CKPT_ENDIAN, (uint32_t)m->V, (uint32_t)m->p.layers,
                       (uint32_t)m->p.hidden, (uint32_t)m->p.embed, (uint32_t)m->p.seq,
                       (uint32_t)m->p.batch};
    for (int i = 0; i < 8; i++) PUT(u32[i]);
    double f64[CKPT_F64] = {m->p.lr,       m->p.beta1,    m->p.beta2,
                            m->p.eps,      m->p.dropout,  m->p.clip,
                            m->p.val_frac, m->p.lr_decay, (double)m->p.lr_decay_after,
                            m->p.wdrop,    m->p.ema,      m->p.weight_decay,
                            (double)m->p.dropout_locked, m->p.input_dropout,
                            (double)m->p.epoch_shift};
    for (int i = 0; i < CKPT_F64; i++) PUT(f64[i]);
    uint64_t u64[8] = {m->p.seed,    m->step,       m->epoch,     m->chunk,
                       m->rng.state, m->text_bytes, m->text_hash, (uint64_t)m->off.n};
    for (int i = 0; i < 8; i++) PUT(u64[i]);
#undef PUT
}

firth_status firth_charlm_save(const firth_charlm *m, const char *path, firth_error *err) {
    firth_atomic_file *af = firth_atomic_open(path, err);
    if (!af) return err ? err->status : FIRTH_ERR_OUTPUT;
    sum_writer w = {firth_atomic_stream(af), 0xCBF29CE484222325ull, 0};
    unsigned char hd[CKPT_HEADER];
    put_header(hd, m);
    put(&w, hd, sizeof hd);
    put(&w, m->vocab, (size_t)m->V * sizeof *m->vocab);
    put(&w, m->params, m->off.n * sizeof(float));
    put(&w, m->m, m->off.n * sizeof(float));
    put(&w, m->v, m->off.n * sizeof(float));
    if (m->avg) put(&w, m->avg, m->off.n * sizeof(float));
    put(&w, m->state, state_floats(m, m->p.batch) * sizeof(float));
    uint64_t sum = w.h;
    if (!w.bad && fwrite(&sum, sizeof sum, 1, w.f) != 1) w.bad = 1;
    if (w.bad) {
        int e = errno;
        firth_atomic_abort(af);
        return firth_fail_errno(err, FIRTH_ERR_IO, e, "cannot write '%s'", path);
    }
    return firth_atomic_commit(af, err);
}

typedef struct reader {
    FILE *f;
    uint64_t h;
} reader;

static int get(reader *r, void *data, size_t n) {
    if (!n) return 1;
    if (fread(data, 1, n, r->f) != n) return 0;
    sum_update(&r->h, data, n);
    return 1;
}

firth_charlm *firth_charlm_load(const char *path, firth_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open '%s'", path), NULL;
    struct stat sb;
    firth_charlm *m = NULL;
    reader r = {f, 0xCBF29CE484222325ull};
    unsigned char hd[CKPT_HEADER];
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a regular file", path);
        goto fail;
    }
    if ((uint64_t)sb.st_size < 8 || fread(hd, 1, 8, f) != 8 || memcmp(hd, CKPT_MAGIC, 8) != 0) {
        firth_fail(err, FIRTH_ERR_INPUT,
                   "'%s' is not a firth character-model checkpoint (no FIRTHCLM magic; "
                   "checkpoints come from 'firth charlm train')", path);
        goto fail;
    }
    uint32_t ver = 0, endian = 0;
    if ((uint64_t)sb.st_size < CKPT_HEADER_V1 || fread(hd + 8, 1, 8, f) != 8) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is truncated: %lld bytes, shorter than any "
                   "checkpoint header (%d bytes)", path, (long long)sb.st_size, CKPT_HEADER_V1);
        goto fail;
    }
    memcpy(&ver, hd + 8, 4), memcpy(&endian, hd + 12, 4);
    if (endian != CKPT_ENDIAN) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' was written on a machine of another byte order",
                   path);
        goto fail;
    }
    if (ver < 1 || ver > CKPT_VERSION) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is a version %u checkpoint; this firth reads "
                   "versions 1 to %u", path, ver, CKPT_VERSION);
        goto fail;
    }
    const int nf = ckpt_f64_of[ver];
    const size_t hsize = CKPT_HEADER - 8 * (size_t)(CKPT_F64 - nf);
    if ((uint64_t)sb.st_size < hsize || fread(hd + 16, 1, hsize - 16, f) != hsize - 16) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is truncated: %lld bytes, shorter than the "
                   "%zu-byte header", path, (long long)sb.st_size, hsize);
        goto fail;
    }
    sum_update(&r.h, hd, hsize);
    const unsigned char *p = hd + 8;
    uint32_t u32[8];
    double f64[CKPT_F64] = {0};
    uint64_t u64[8];
    memcpy(u32, p, sizeof u32), p += sizeof u32;
    memcpy(f64, p, (size_t)nf * 8), p += (size_t)nf * 8;
    memcpy(u64, p, sizeof u64);
    if (ver == 1) f64[7] = 1.0, f64[8] = 10.0; /* no decay in version 1 */
    /* f64[9], f64[10] (wdrop, ema) stay 0 before version 3, f64[11], f64[12] (weight_decay,
     * dropout_locked) before 4, f64[13] (input_dropout) before 5, f64[14] (epoch_shift)
     * before 6 */
    firth_charlm_params prm = {.layers = (int)u32[3], .hidden = (int)u32[4],
                               .embed = (int)u32[5], .seq = (int)u32[6], .batch = (int)u32[7],
                               .lr = f64[0], .beta1 = f64[1], .beta2 = f64[2], .eps = f64[3],
                               .dropout = f64[4], .clip = f64[5], .val_frac = f64[6],
                               .lr_decay = f64[7], .wdrop = f64[9], .ema = f64[10],
                               .weight_decay = f64[11], .input_dropout = f64[13],
                               .seed = u64[0]};
    uint32_t V = u32[2];
    firth_error perr;
    int after_ok = f64[8] >= 0 && f64[8] <= 1e9 && f64[8] == floor(f64[8]);
    if (after_ok) prm.lr_decay_after = (int)f64[8];
    const int locked_ok = f64[12] == 0 || f64[12] == 1;
    if (locked_ok) prm.dropout_locked = (int)f64[12];
    const int shift_ok = f64[14] == 0 || f64[14] == 1;
    if (shift_ok) prm.epoch_shift = (int)f64[14];
    if (u32[3] > FIRTH_CHARLM_MAX_LAYERS || u32[4] > 16384 || u32[5] > 16384 ||
        u32[6] > 100000 || u32[7] > 100000 || V < 1 || V > MAX_VOCAB || !after_ok || !locked_ok ||
        !shift_ok || firth_charlm_check_params(&prm, &perr) != FIRTH_OK) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is corrupt: its header holds impossible sizes "
                   "or settings", path);
        goto fail;
    }
    charlm_offsets o;
    layout(&o, &prm, (int)V);
    uint64_t state_n = (uint64_t)prm.layers * 2 * (uint64_t)prm.batch * (uint64_t)prm.hidden;
    uint64_t expect = hsize + 4ull * V + (prm.ema > 0 ? 16ull : 12ull) * o.n + 4ull * state_n + 8;
    if (u64[7] != o.n || expect != (uint64_t)sb.st_size) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is truncated or corrupt: its header implies "
                   "%llu bytes, the file has %lld", path, (unsigned long long)expect,
                   (long long)sb.st_size);
        goto fail;
    }
    m = alloc_model(&prm, (int)V, err);
    if (!m) goto fail;
    m->step = u64[1], m->epoch = u64[2], m->chunk = u64[3], m->rng.state = u64[4];
    m->text_bytes = u64[5], m->text_hash = u64[6];
    uint64_t sum = 0;
    if (!get(&r, m->vocab, 4ull * V) || !get(&r, m->params, 4 * o.n) ||
        !get(&r, m->m, 4 * o.n) || !get(&r, m->v, 4 * o.n) ||
        (m->avg && !get(&r, m->avg, 4 * o.n)) || !get(&r, m->state, 4 * state_n) ||
        fread(&sum, 8, 1, f) != 1) {
        firth_fail(err, FIRTH_ERR_INPUT, "cannot read '%s' (truncated while reading?)", path);
        goto fail;
    }
    if (sum != r.h) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is corrupt: its checksum does not match", path);
        goto fail;
    }
    /* A checkpoint is only written from finite weights (training stops on divergence before
     * saving), and Adam's second moments are sums of squares: anything else is a damaged or
     * made-up file, which would otherwise sample from NaN scores or "diverge" on resuming
     * (found by tests/fuzz/fuzz_charlm.c). */
    if (!all_finite_adam(m)) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is corrupt: it holds a non-finite weight or "
                   "optimizer moment", path);
        goto fail;
    }
    for (uint64_t i = 0; i < state_n; i++)
        if (!isfinite(m->state[i])) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' is corrupt: its carried state is not finite",
                       path);
            goto fail;
        }
    for (uint32_t i = 0; i < V; i++)
        if (m->vocab[i] >= MAX_VOCAB || (i && m->vocab[i] <= m->vocab[i - 1])) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' is corrupt: its vocabulary is not a sorted "
                       "list of code points", path);
            goto fail;
        }
    fclose(f);
    return m;
fail:
    firth_charlm_free(m);
    fclose(f);
    return NULL;
}
