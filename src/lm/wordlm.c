/* wordlm.c - the word-level online next-word model: a linear classifier over the concatenated
 * embeddings of the previous N words, trained one example at a time by SGD (one-vs-rest hinge as
 * scikit-learn's SGDClassifier, or softmax cross-entropy, full or sampled).
 *
 * Layout: W is (V, ld) row-major, one class per row, so that the scores of all classes are one
 * sgemv, a class's update is one contiguous saxpy, and evaluation is one sgemm per block of
 * examples. The L2 shrink of every step is folded into one scalar (wscale, as sklearn's
 * WeightVector), so a step costs the scores plus the rows that change, not a pass over W.
 * Gradients are written out in docs/derivations.md ("Word-level language model"). */
#include "lm/wordlm.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/atomic_file.h"
#include "core/mem.h"
#include "core/status.h"
#include "text/utf8.h"

#define MAGIC "FIRTHWLM"
#define VERSION 1u
#define ENDIAN_MARK 0x01020304u
#define HEADER_BYTES 128
#define WSCALE_MIN 1e-9 /* as sklearn: below this the scale is folded into the weights */
#define NOISE_POWER 0.75

firth_wordlm_params firth_wordlm_default_params(void) {
    firth_wordlm_params p;
    memset(&p, 0, sizeof p);
    p.loss = FIRTH_WORDLM_HINGE;
    p.context = 12;
    p.lr = 0.005;
    p.alpha = 0.0001;
    p.train_embeddings = 0;
    p.emb_lr = 0.0;
    p.negative = 0;
    p.seed = 1;
    p.min_count = 1;
    p.max_vocab = 0;
    p.lowercase = 0;
    p.strip_punct = 0;
    return p;
}

firth_status firth_wordlm_check_params(const firth_wordlm_params *p, firth_error *err) {
    if (p->loss != FIRTH_WORDLM_HINGE && p->loss != FIRTH_WORDLM_LOG)
        return firth_fail(err, FIRTH_ERR_PARAM, "unknown loss %d", (int)p->loss);
    if (p->context < 1 || p->context > FIRTH_WORDLM_MAX_CONTEXT)
        return firth_fail(err, FIRTH_ERR_PARAM, "context must be 1..%d words (got %d)",
                          FIRTH_WORDLM_MAX_CONTEXT, p->context);
    if (!(p->lr > 0) || !(p->lr <= 100))
        return firth_fail(err, FIRTH_ERR_PARAM, "learning rate must be in (0, 100] (got %g)", p->lr);
    if (!(p->alpha >= 0) || !(p->alpha < 1e3))
        return firth_fail(err, FIRTH_ERR_PARAM, "alpha must be in [0, 1000) (got %g)", p->alpha);
    if (!(p->emb_lr >= 0) || !(p->emb_lr <= 100))
        return firth_fail(err, FIRTH_ERR_PARAM, "embedding rate must be in [0, 100] (got %g)",
                          p->emb_lr);
    if (p->negative < 0 || p->negative > 100000)
        return firth_fail(err, FIRTH_ERR_PARAM, "negative must be 0..100000 (got %d)", p->negative);
    if (p->negative > 0 && p->loss != FIRTH_WORDLM_LOG)
        return firth_fail(err, FIRTH_ERR_PARAM,
                          "sampled training (negative > 0) is for the log loss; the hinge model "
                          "updates every class, as SGDClassifier does");
    if (p->min_count < 1)
        return firth_fail(err, FIRTH_ERR_PARAM, "min count must be at least 1");
    return FIRTH_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* construction                                                                                */
/* ------------------------------------------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h ^ (h >> 32);
}

void firth_wordlm_free(firth_wordlm *m) {
    if (!m) return;
    free(m->words);
    free(m->word_off);
    free(m->counts);
    free(m->slots);
    firth_free_aligned(m->E);
    firth_free_aligned(m->W);
    firth_free_aligned(m->b);
    firth_free_aligned(m->x);
    firth_free_aligned(m->s);
    firth_free_aligned(m->gx);
    free(m->samp);
    free(m->logkq);
    if (m->noise_ready) firth_alias_free(&m->noise);
    free(m); /* m->pool only exists inside firth_wordlm_train */
}

/* Allocates everything but the words for V classes, N x D; zeroes the weights. */
static firth_wordlm *alloc_model(const firth_wordlm_params *p, size_t V, int D, firth_error *err) {
    size_t F = (size_t)p->context * (size_t)D;
    if (D < 1 || F > FIRTH_WORDLM_MAX_FEATURES) {
        firth_fail(err, FIRTH_ERR_PARAM,
                   "context x dim = %d x %d is more than %d features", p->context, D,
                   FIRTH_WORDLM_MAX_FEATURES);
        return NULL;
    }
    size_t ld = (F + 15) / 16 * 16, wn, en;
    if (!firth_mul_size(V, ld, &wn) || !firth_mul_size(wn, sizeof(float), &wn) ||
        !firth_mul_size(V + 1, (size_t)D, &en) || !firth_mul_size(en, sizeof(float), &en)) {
        firth_fail(err, FIRTH_ERR_NOMEM, "a model of %zu classes x %zu features is too large", V,
                   F);
        return NULL;
    }
    firth_wordlm *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->p = *p;
    m->V = V;
    m->D = D;
    m->N = p->context;
    m->F = F;
    m->ld = ld;
    m->wscale = 1.0;
    m->threads = 1;
    firth_rng_seed(&m->rng, p->seed);
    m->counts = calloc(V, sizeof *m->counts);
    m->E = firth_alloc_aligned(en);
    m->W = firth_alloc_aligned(wn);
    m->b = firth_alloc_aligned(V * sizeof *m->b);
    m->x = firth_alloc_aligned(ld * sizeof *m->x);
    m->s = firth_alloc_aligned(V * sizeof *m->s);
    m->gx = firth_alloc_aligned(ld * sizeof *m->gx);
    if (!m->counts || !m->E || !m->W || !m->b || !m->x || !m->s || !m->gx) goto nomem;
    memset(m->E, 0, en);
    memset(m->W, 0, wn);
    memset(m->b, 0, V * sizeof *m->b);
    memset(m->x, 0, ld * sizeof *m->x);
    memset(m->gx, 0, ld * sizeof *m->gx);
    return m;
nomem:
    firth_wordlm_free(m);
    firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for a model of %zu classes x %zu features", V,
               F);
    return NULL;
}

/* Builds the word index over m->words (V words). A repeated word is an error. */
static firth_status index_words(firth_wordlm *m, firth_error *err) {
    size_t slots = 16;
    while (slots < 2 * m->V) slots *= 2;
    m->word_off = malloc(m->V * sizeof *m->word_off);
    m->slots = malloc(slots * sizeof *m->slots);
    if (!m->word_off || !m->slots) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    m->mask = slots - 1;
    memset(m->slots, 0xFF, slots * sizeof *m->slots);
    size_t off = 0;
    for (size_t i = 0; i < m->V; i++) {
        if (off >= m->words_bytes) return firth_fail(err, FIRTH_ERR_INPUT, "too few words");
        const char *w = m->words + off;
        size_t len = strnlen(w, m->words_bytes - off);
        if (len == 0 || off + len >= m->words_bytes)
            return firth_fail(err, FIRTH_ERR_INPUT, "word %zu is empty or not terminated", i);
        m->word_off[i] = off;
        size_t j = hash_bytes(w, len) & m->mask;
        while (m->slots[j] >= 0) {
            if (strcmp(m->words + m->word_off[m->slots[j]], w) == 0)
                return firth_fail(err, FIRTH_ERR_INPUT, "word '%s' appears twice", w);
            j = (j + 1) & m->mask;
        }
        m->slots[j] = (int64_t)i;
        off += len + 1;
    }
    if (off != m->words_bytes) return firth_fail(err, FIRTH_ERR_INPUT, "extra bytes after words");
    return FIRTH_OK;
}

size_t firth_wordlm_find(const firth_wordlm *m, const char *word, size_t len) {
    size_t j = hash_bytes(word, len) & m->mask;
    while (m->slots[j] >= 0) {
        const char *w = m->words + m->word_off[m->slots[j]];
        if (strncmp(w, word, len) == 0 && w[len] == '\0') return (size_t)m->slots[j];
        j = (j + 1) & m->mask;
    }
    return FIRTH_WORDLM_UNK;
}

static firth_text_params text_params(const firth_wordlm *m) {
    firth_text_params t = firth_text_default_params();
    t.lowercase = m->p.lowercase;
    t.strip_punct = m->p.strip_punct;
    return t;
}

/* The classes of every word of the corpus, in order (line ends skipped). */
static firth_status corpus_ids(const firth_wordlm *m, const firth_corpus *corpus, size_t **out,
                               size_t *n_out, firth_error *err) {
    firth_text_params t = text_params(m);
    firth_tokenizer *tok = firth_tokenizer_new(corpus, 0, firth_corpus_size(corpus), &t, err);
    if (!tok) return err ? err->status : FIRTH_ERR_NOMEM;
    size_t n = 0, cap = 1024;
    size_t *ids = malloc(cap * sizeof *ids);
    firth_status st = ids ? FIRTH_OK : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    while (st == FIRTH_OK) {
        const char *w;
        size_t len;
        int k = firth_tokenizer_next(tok, &w, &len, err);
        if (k < 0) {
            st = (firth_status)k;
            break;
        }
        if (k == FIRTH_TOKEN_END) break;
        if (k != FIRTH_TOKEN_WORD) continue;
        if (n == cap) {
            size_t *p = realloc(ids, 2 * cap * sizeof *ids);
            if (!p) {
                st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory reading %zu words", n);
                break;
            }
            ids = p;
            cap *= 2;
        }
        ids[n++] = firth_wordlm_find(m, w, len);
    }
    firth_tokenizer_free(tok);
    if (st != FIRTH_OK) {
        free(ids);
        return st;
    }
    if (n == 0) {
        free(ids);
        return firth_fail(err, FIRTH_ERR_INPUT, "the input has no words");
    }
    *out = ids;
    *n_out = n;
    return FIRTH_OK;
}

firth_wordlm *firth_wordlm_new(const firth_vectors *vecs, const firth_corpus *corpus,
                               const firth_wordlm_params *params, size_t *n_missing,
                               firth_error *err) {
    firth_wordlm_params p = params ? *params : firth_wordlm_default_params();
    if (firth_wordlm_check_params(&p, err) != FIRTH_OK) return NULL;
    if (!vecs || firth_vectors_count(vecs) == 0) {
        firth_fail(err, FIRTH_ERR_INPUT, "no word vectors");
        return NULL;
    }
    /* count with the shared vocabulary (sorted by count, ties by bytes: deterministic) */
    firth_text_params t = firth_text_default_params();
    t.lowercase = p.lowercase;
    t.strip_punct = p.strip_punct;
    firth_vocab *voc = firth_vocab_new(err);
    if (!voc) return NULL;
    if (firth_vocab_count(voc, corpus, &t, err) != FIRTH_OK ||
        firth_vocab_finalize(voc, p.min_count, p.max_vocab ? p.max_vocab + 1 : 0, err) !=
            FIRTH_OK) {
        firth_vocab_free(voc);
        return NULL;
    }
    /* classes: "<unk>", then the vocabulary without "</s>" (id 0) and without a literal "<unk>" */
    size_t nv = firth_vocab_size(voc), V = 1, bytes = sizeof FIRTH_WORDLM_UNK_WORD;
    for (size_t i = 1; i < nv; i++) {
        const char *w = firth_vocab_word(voc, i);
        if (strcmp(w, FIRTH_WORDLM_UNK_WORD) == 0) continue;
        V++;
        bytes += strlen(w) + 1;
    }
    int D = firth_vectors_dim(vecs);
    firth_wordlm *m = alloc_model(&p, V, D, err);
    if (!m) {
        firth_vocab_free(voc);
        return NULL;
    }
    m->words = malloc(bytes);
    if (!m->words) {
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        goto fail;
    }
    m->words_bytes = bytes;
    memcpy(m->words, FIRTH_WORDLM_UNK_WORD, sizeof FIRTH_WORDLM_UNK_WORD);
    size_t off = sizeof FIRTH_WORDLM_UNK_WORD;
    for (size_t i = 1; i < nv; i++) {
        const char *w = firth_vocab_word(voc, i);
        if (strcmp(w, FIRTH_WORDLM_UNK_WORD) == 0) continue;
        size_t len = strlen(w) + 1;
        memcpy(m->words + off, w, len);
        off += len;
        /* counts start at zero: firth_wordlm_train counts the text it learns from */
    }
    firth_vocab_free(voc);
    voc = NULL;
    if (index_words(m, err) != FIRTH_OK) goto fail;

    /* embeddings: the file's vectors as stored; a word without one gets a small random vector */
    size_t missing = 0;
    firth_rng rng;
    firth_rng_seed(&rng, p.seed ^ 0x5EEDull);
    for (size_t i = 1; i < V; i++) {
        const char *w = m->words + m->word_off[i];
        int64_t id = firth_vectors_find(vecs, w);
        float *row = m->E + i * (size_t)D;
        const float *src = id >= 0 ? firth_vectors_raw(vecs, (size_t)id) : NULL;
        if (id >= 0 && !src) src = firth_vectors_unit(vecs, (size_t)id);
        if (src) {
            memcpy(row, src, (size_t)D * sizeof *row);
        } else {
            missing++;
            for (int d = 0; d < D; d++) row[d] = (firth_rng_float(&rng) - 0.5f) / (float)D;
        }
    }
    if (n_missing) *n_missing = missing;
    return m;
fail:
    firth_vocab_free(voc);
    firth_wordlm_free(m);
    return NULL;
}

firth_wordlm *firth_wordlm_blank(const firth_wordlm_params *params, size_t V, int dim,
                                 firth_error *err) {
    if (firth_wordlm_check_params(params, err) != FIRTH_OK) return NULL;
    if (V < 1 || V > 100000000) {
        firth_fail(err, FIRTH_ERR_PARAM, "1..1e8 classes");
        return NULL;
    }
    firth_wordlm *m = alloc_model(params, V, dim, err);
    if (!m) return NULL;
    size_t bytes = sizeof FIRTH_WORDLM_UNK_WORD + (V - 1) * 21;
    m->words = malloc(bytes);
    if (!m->words) {
        firth_wordlm_free(m);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(m->words, FIRTH_WORDLM_UNK_WORD, sizeof FIRTH_WORDLM_UNK_WORD);
    size_t off = sizeof FIRTH_WORDLM_UNK_WORD;
    for (size_t c = 1; c < V; c++) off += (size_t)sprintf(m->words + off, "c%zu", c) + 1;
    m->words_bytes = off;
    for (size_t c = 0; c < V; c++) m->counts[c] = 1;
    if (index_words(m, err) != FIRTH_OK) {
        firth_wordlm_free(m);
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* kernels                                                                                     */
/* ------------------------------------------------------------------------------------------ */

void firth_wordlm_features(const firth_wordlm *m, const size_t *ctx, float *x) {
    size_t D = (size_t)m->D;
    for (int k = 0; k < m->N; k++) memcpy(x + (size_t)k * D, m->E + ctx[k] * D, D * sizeof *x);
    for (size_t f = m->F; f < m->ld; f++) x[f] = 0.0f;
}

/* s = wscale * W x + b over all classes. */
static void all_scores(const firth_wordlm *m, const float *x, float *s) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m->V, (int)m->F, (float)m->wscale, m->W,
                (int)m->ld, x, 1, 0.0f, s, 1);
    for (size_t c = 0; c < m->V; c++) s[c] += m->b[c];
}

/* The L2 shrink of one step: W <- (1 - lr alpha) W, as sklearn's w.scale(max(0, ...)). */
static void shrink(firth_wordlm *m) {
    double f = 1.0 - m->p.lr * m->p.alpha;
    if (f <= 0.0) { /* sklearn sets the weights to zero rather than flip their sign */
        memset(m->W, 0, m->V * m->ld * sizeof *m->W);
        m->wscale = 1.0;
        return;
    }
    m->wscale *= f;
}

/* Folds a tiny scale into the weights (after the step's updates, as sklearn's reset_wscale). */
static void renormalise(firth_wordlm *m) {
    if (m->wscale >= WSCALE_MIN) return;
    cblas_sscal((int)(m->V * m->ld), (float)m->wscale, m->W, 1);
    m->wscale = 1.0;
}

/* E[context] -= emb_lr * gx, one slot at a time (a word twice in the context gets both). */
static void update_embeddings(firth_wordlm *m, const size_t *ctx) {
    double rate = m->p.emb_lr > 0 ? m->p.emb_lr : m->p.lr;
    size_t D = (size_t)m->D;
    for (int k = 0; k < m->N; k++)
        cblas_saxpy((int)D, (float)-rate, m->gx + (size_t)k * D, 1, m->E + ctx[k] * D, 1);
}

/* The obvious two-pass hinge step (scores by sgemv, then a saxpy per active class): the
 * reference that the fused step below is tested against (tests/test_wordlm.c). */
static double step_hinge_naive(firth_wordlm *m, const size_t *ctx, size_t target) {
    float *x = m->x, *s = m->s;
    firth_wordlm_features(m, ctx, x);
    all_scores(m, x, s);
    int emb = m->p.train_embeddings;
    float old_scale = (float)m->wscale;
    if (emb) memset(m->gx, 0, m->ld * sizeof *m->gx);
    shrink(m);
    double loss = 0.0, lr = m->p.lr;
    float up = (float)(lr / m->wscale); /* stored-units update of a class with y = +1 */
    for (size_t c = 0; c < m->V; c++) {
        double y = c == target ? 1.0 : -1.0, z = y * (double)s[c];
        if (z > 1.0) continue; /* sklearn's Hinge.dloss: -y when z <= threshold, else 0 */
        loss += 1.0 - z;
        float *row = m->W + c * m->ld;
        if (emb) /* dL/dx = -y w_c (true weights, before this step) */
            cblas_saxpy((int)m->F, (float)-y * old_scale, row, 1, m->gx, 1);
        cblas_saxpy((int)m->F, (float)y * up, x, 1, row, 1);
        m->b[c] += (float)(y * lr);
    }
    if (emb) update_embeddings(m, ctx);
    renormalise(m);
    return loss;
}

/* p = softmax(s) in place; returns log-sum-exp of the scores. */
static double softmax(float *s, size_t n) {
    float mx = s[0];
    for (size_t i = 1; i < n; i++)
        if (s[i] > mx) mx = s[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float e = expf(s[i] - mx);
        s[i] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) s[i] *= inv;
    return (double)mx + log(sum);
}

/* The obvious full-softmax step (sgemv, sgemv^T for dL/dx, sger): three passes over W; the
 * reference for the fused step below. */
static double step_log_naive(firth_wordlm *m, const size_t *ctx, size_t target) {
    float *x = m->x, *g = m->s;
    firth_wordlm_features(m, ctx, x);
    all_scores(m, x, g);
    double lse = softmax(g, m->V);
    double loss = -log(fmax((double)g[target], 1e-30));
    (void)lse;
    g[target] -= 1.0f; /* dL/ds = p - onehot */
    if (m->p.train_embeddings) /* dL/dx = W_true^T g, before W changes */
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)m->V, (int)m->F, (float)m->wscale, m->W,
                    (int)m->ld, g, 1, 0.0f, m->gx, 1);
    shrink(m);
    double lr = m->p.lr;
    cblas_sger(CblasRowMajor, (int)m->V, (int)m->F, (float)(-lr / m->wscale), g, 1, x, 1, m->W,
               (int)m->ld);
    for (size_t c = 0; c < m->V; c++) m->b[c] -= (float)(lr * g[c]);
    if (m->p.train_embeddings) update_embeddings(m, ctx);
    renormalise(m);
    return loss;
}

/* Fused kernels. A step of the full model is bound by reading and writing W (V x ld floats,
 * 11 MB for 4,554 classes x 600 features: more than L2), so the fused steps touch every row once
 * while it is in L1: the hinge step computes a class's score and, when its margin is violated,
 * its dL/dx contribution and its update in the same visit (one pass instead of two); the softmax
 * step needs all scores before any probability is known, so it makes one sgemv pass for the
 * scores and one fused pass for dL/dx and the update (two passes instead of three). The rows are
 * ld floats, zero past F (x too), so the loops run over whole 64-byte lines. */
static inline float dot_ld(const float *restrict a, const float *restrict b, size_t n) {
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc) aligned(a, b : 64)
    for (size_t f = 0; f < n; f++) acc += a[f] * b[f];
    return acc;
}

static inline void axpy_ld(float a, const float *restrict x, float *restrict y, size_t n) {
#pragma omp simd aligned(x, y : 64)
    for (size_t f = 0; f < n; f++) y[f] += a * x[f];
}

static double step_hinge(firth_wordlm *m, const size_t *ctx, size_t target) {
    double lr = m->p.lr, f = 1.0 - lr * m->p.alpha;
    if (f <= 0.0) return step_hinge_naive(m, ctx, target); /* the shrink zeroes W */
    float *x = m->x, *gx = m->gx, *b = m->b;
    size_t ld = m->ld, V = m->V;
    int emb = m->p.train_embeddings;
    firth_wordlm_features(m, ctx, x);
    if (emb) memset(gx, 0, ld * sizeof *gx);
    double old_scale = m->wscale;
    m->wscale *= f;
    float up = (float)(lr / m->wscale), gscale = (float)old_scale;
    double loss = 0.0;
    for (size_t c = 0; c < V; c++) {
        float *row = m->W + c * ld;
        float s = gscale * dot_ld(row, x, ld) + b[c];
        double y = c == target ? 1.0 : -1.0, z = y * (double)s;
        if (z > 1.0) continue; /* sklearn's Hinge.dloss: -y when z <= threshold, else 0 */
        loss += 1.0 - z;
        if (emb) axpy_ld((float)-y * gscale, row, gx, ld); /* dL/dx = -y w_c (old weights) */
        axpy_ld((float)y * up, x, row, ld);
        b[c] += (float)(y * lr);
    }
    if (emb) update_embeddings(m, ctx);
    renormalise(m);
    return loss;
}

static double step_log(firth_wordlm *m, const size_t *ctx, size_t target) {
    if (1.0 - m->p.lr * m->p.alpha <= 0.0) return step_log_naive(m, ctx, target);
    float *x = m->x, *g = m->s, *gx = m->gx, *b = m->b;
    size_t ld = m->ld, V = m->V;
    int emb = m->p.train_embeddings;
    firth_wordlm_features(m, ctx, x);
    all_scores(m, x, g);
    softmax(g, V);
    double loss = -log(fmax((double)g[target], 1e-30));
    g[target] -= 1.0f; /* dL/ds = p - onehot */
    if (emb) memset(gx, 0, ld * sizeof *gx);
    float gscale = (float)m->wscale;
    shrink(m);
    double lr = m->p.lr;
    float up = (float)(-lr / m->wscale);
    for (size_t c = 0; c < V; c++) {
        float *row = m->W + c * ld;
        if (emb) axpy_ld(gscale * g[c], row, gx, ld); /* dL/dx = W_old^T g */
        axpy_ld(up * g[c], x, row, ld);
        b[c] -= (float)(lr * g[c]);
    }
    if (emb) update_embeddings(m, ctx);
    renormalise(m);
    return loss;
}

/* Sampled softmax over the target (slot 0) and K sampled classes: o_j = s_j - log(K q_j), an
 * accidental hit of the target gets -inf. Fills o[0..K] with the gradient dL/do. */
static double sampled_grad(const firth_wordlm *m, const float *x, size_t target,
                           const size_t *samples, size_t K, float *o) {
    size_t n = K + 1;
    for (size_t j = 0; j < n; j++) {
        size_t c = j == 0 ? target : samples[j - 1];
        if (j > 0 && c == target) {
            o[j] = -INFINITY;
            continue;
        }
        float dot = cblas_sdot((int)m->F, m->W + c * m->ld, 1, x, 1);
        o[j] = (float)m->wscale * dot + m->b[c] - m->logkq[c];
    }
    float mx = o[0];
    for (size_t j = 1; j < n; j++)
        if (o[j] > mx) mx = o[j];
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) sum += exp((double)(o[j] - mx));
    double loss = (double)mx + log(sum) - (double)o[0];
    for (size_t j = 0; j < n; j++) o[j] = (float)(exp((double)(o[j] - mx)) / sum);
    o[0] -= 1.0f;
    return loss;
}

double firth_wordlm_step_sampled(firth_wordlm *m, const size_t *ctx, size_t target,
                                 const size_t *samples, size_t K) {
    float *x = m->x, *g = m->s; /* g: K + 1 floats of scratch (prepare_noise makes room) */
    firth_wordlm_features(m, ctx, x);
    double loss = sampled_grad(m, x, target, samples, K, g);
    if (m->p.train_embeddings) {
        memset(m->gx, 0, m->ld * sizeof *m->gx);
        for (size_t j = 0; j <= K; j++) {
            size_t c = j == 0 ? target : samples[j - 1];
            if (g[j] != 0.0f)
                cblas_saxpy((int)m->F, (float)m->wscale * g[j], m->W + c * m->ld, 1, m->gx, 1);
        }
    }
    shrink(m);
    double lr = m->p.lr;
    float up = (float)(-lr / m->wscale);
    for (size_t j = 0; j <= K; j++) {
        size_t c = j == 0 ? target : samples[j - 1];
        if (g[j] == 0.0f) continue;
        cblas_saxpy((int)m->F, up * g[j], x, 1, m->W + c * m->ld, 1);
        m->b[c] -= (float)(lr * g[j]);
    }
    if (m->p.train_embeddings) update_embeddings(m, ctx);
    renormalise(m);
    return loss;
}

double firth_wordlm_example_loss(const firth_wordlm *m, const size_t *ctx, size_t target,
                         const size_t *samples, size_t K) {
    float *x = firth_alloc_aligned(m->ld * sizeof *x);
    float *s = firth_alloc_aligned((m->V > K + 1 ? m->V : K + 1) * sizeof *s);
    double loss = NAN;
    if (x && s) {
        firth_wordlm_features(m, ctx, x);
        if (samples) {
            loss = sampled_grad(m, x, target, samples, K, s);
        } else {
            all_scores(m, x, s);
            if (m->p.loss == FIRTH_WORDLM_HINGE) {
                loss = 0.0;
                for (size_t c = 0; c < m->V; c++) {
                    double y = c == target ? 1.0 : -1.0, z = y * (double)s[c];
                    if (z < 1.0) loss += 1.0 - z;
                }
            } else {
                double mx = s[0], sum = 0.0;
                for (size_t c = 1; c < m->V; c++) mx = fmax(mx, (double)s[c]);
                for (size_t c = 0; c < m->V; c++) sum += exp((double)s[c] - mx);
                loss = mx + log(sum) - (double)s[target];
            }
        }
    }
    firth_free_aligned(x);
    firth_free_aligned(s);
    return loss;
}

firth_status firth_wordlm_prepare_noise(firth_wordlm *m, firth_error *err) {
    if (m->noise_ready || m->p.negative <= 0) return FIRTH_OK;
    double *w = malloc(m->V * sizeof *w);
    m->logkq = malloc(m->V * sizeof *m->logkq);
    m->samp = malloc((size_t)m->p.negative * sizeof *m->samp);
    /* The sampled step keeps K + 1 logits in s, made for V: with more samples than classes it
     * wrote past its end (found by tests/fuzz/fuzz_wordlm.c and by the wordlm tests; reachable
     * with 'wordlm train --loss log --negative K' and a vocabulary of at most K words). */
    if ((size_t)m->p.negative + 1 > m->V) {
        firth_free_aligned(m->s);
        m->s = firth_alloc_aligned(((size_t)m->p.negative + 1) * sizeof *m->s);
    }
    if (!w || !m->logkq || !m->samp || !m->s) {
        free(w);
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    }
    double total = 0.0;
    for (size_t c = 0; c < m->V; c++) total += w[c] = pow((double)m->counts[c], NOISE_POWER);
    if (!(total > 0)) { /* no counts (cannot happen after firth_wordlm_new): uniform */
        for (size_t c = 0; c < m->V; c++) w[c] = 1.0;
        total = (double)m->V;
    }
    for (size_t c = 0; c < m->V; c++)
        m->logkq[c] = w[c] > 0 ? (float)log((double)m->p.negative * w[c] / total) : 0.0f;
    firth_status st = firth_alias_build(&m->noise, w, m->V, err);
    free(w);
    if (st == FIRTH_OK) m->noise_ready = 1;
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* worker threads: the classes of each full step split between the threads                    */
/* ------------------------------------------------------------------------------------------ */

/* Each thread owns a contiguous block of classes (rows of W, entries of b and s) for the whole
 * training call; per step the main thread publishes the example and every thread runs the
 * fused kernel over its rows, with its own partial dL/dx and loss, which the main thread sums in
 * thread order (so a run is repeatable for a given thread count). The hinge step is one phase
 * (classes are independent); the softmax step is two: scores and a local max and sum, then,
 * with the global normaliser, the update. Workers spin on a generation counter between phases
 * and yield the core while they wait (steps are ~0.1 ms: a sleep and wake-up would cost more
 * than the step). */
enum { PH_QUIT = 1, PH_HINGE, PH_LOG_SCORES, PH_LOG_UPDATE };

typedef struct wlm_worker {
    struct wlm_pool *pool;
    int id;
    size_t c0, c1;  /* rows [c0, c1) */
    float *gx;      /* (ld) partial dL/dx (thread 0 uses m->gx) */
    double loss;
    float mx;       /* log: max score over the rows */
    double sum;     /* log: sum of exp(s - mx) over the rows */
    pthread_t th;
    int started;
} wlm_worker;

struct wlm_pool {
    firth_wordlm *m;
    int T;
    atomic_uint gen;    /* bumped by the main thread to start a phase */
    atomic_int pending; /* workers 1..T-1 still in the phase */
    int phase;
    /* the step's constants, written before gen is bumped */
    size_t target;
    float gscale, up, gmx;
    double lr, ginv;
    wlm_worker w[];
};

static void spin_pause(unsigned *n) {
    if (++*n < 256) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

static void phase_hinge(struct wlm_pool *P, wlm_worker *w) {
    firth_wordlm *m = P->m;
    const float *x = m->x;
    float *b = m->b, gscale = P->gscale, up = P->up;
    size_t ld = m->ld;
    int emb = m->p.train_embeddings;
    double loss = 0.0, lr = P->lr;
    if (emb) memset(w->gx, 0, ld * sizeof *w->gx);
    for (size_t c = w->c0; c < w->c1; c++) {
        float *row = m->W + c * ld;
        float sc = gscale * dot_ld(row, x, ld) + b[c];
        double y = c == P->target ? 1.0 : -1.0, z = y * (double)sc;
        if (z > 1.0) continue;
        loss += 1.0 - z;
        if (emb) axpy_ld((float)-y * gscale, row, w->gx, ld);
        axpy_ld((float)y * up, x, row, ld);
        b[c] += (float)(y * lr);
    }
    w->loss = loss;
}

static void phase_log_scores(struct wlm_pool *P, wlm_worker *w) {
    firth_wordlm *m = P->m;
    const float *x = m->x, *b = m->b;
    float *s = m->s, gscale = P->gscale, mx = -INFINITY;
    size_t ld = m->ld;
    for (size_t c = w->c0; c < w->c1; c++) {
        s[c] = gscale * dot_ld(m->W + c * ld, x, ld) + b[c];
        if (s[c] > mx) mx = s[c];
    }
    double sum = 0.0;
    for (size_t c = w->c0; c < w->c1; c++) sum += expf(s[c] - mx);
    w->mx = mx;
    w->sum = sum;
}

static void phase_log_update(struct wlm_pool *P, wlm_worker *w) {
    firth_wordlm *m = P->m;
    const float *x = m->x, *s = m->s;
    float *b = m->b, gscale = P->gscale, up = P->up, gmx = P->gmx, inv = (float)P->ginv;
    size_t ld = m->ld;
    int emb = m->p.train_embeddings;
    double lr = P->lr;
    if (emb) memset(w->gx, 0, ld * sizeof *w->gx);
    for (size_t c = w->c0; c < w->c1; c++) {
        float g = expf(s[c] - gmx) * inv - (c == P->target ? 1.0f : 0.0f); /* p - onehot */
        float *row = m->W + c * ld;
        if (emb) axpy_ld(gscale * g, row, w->gx, ld);
        axpy_ld(up * g, x, row, ld);
        b[c] -= (float)(lr * g);
    }
}

static void run_phase(struct wlm_pool *P, wlm_worker *w) {
    switch (P->phase) {
    case PH_HINGE: phase_hinge(P, w); break;
    case PH_LOG_SCORES: phase_log_scores(P, w); break;
    case PH_LOG_UPDATE: phase_log_update(P, w); break;
    default: break;
    }
}

static void *worker_main(void *arg) {
    wlm_worker *w = arg;
    struct wlm_pool *P = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned n = 0, g;
        while ((g = atomic_load_explicit(&P->gen, memory_order_acquire)) == seen) spin_pause(&n);
        seen = g;
        if (P->phase == PH_QUIT) return NULL;
        run_phase(P, w);
        atomic_fetch_sub_explicit(&P->pending, 1, memory_order_release);
    }
}

/* Runs one phase on every thread (the caller is thread 0) and waits for all of them. */
static void pool_phase(struct wlm_pool *P, int phase) {
    P->phase = phase;
    atomic_store_explicit(&P->pending, P->T - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&P->gen, 1, memory_order_release);
    if (phase == PH_QUIT) return;
    run_phase(P, &P->w[0]);
    unsigned n = 0;
    while (atomic_load_explicit(&P->pending, memory_order_acquire) > 0) spin_pause(&n);
}

static void pool_free(struct wlm_pool *P) {
    if (!P) return;
    int any = 0;
    for (int t = 1; t < P->T; t++) any |= P->w[t].started;
    if (any) {
        P->phase = PH_QUIT;
        atomic_fetch_add_explicit(&P->gen, 1, memory_order_release);
        for (int t = 1; t < P->T; t++)
            if (P->w[t].started) pthread_join(P->w[t].th, NULL);
    }
    for (int t = 1; t < P->T; t++) firth_free_aligned(P->w[t].gx);
    free(P);
}

/* Threads for the full steps of a training call, or NULL (one thread, or a model too small
 * to be worth splitting: under 2^16 weights). */
static firth_status pool_start(firth_wordlm *m, struct wlm_pool **out, firth_error *err) {
    *out = NULL;
    int T = m->threads;
    if (T > (int)m->V) T = (int)m->V;
    if (T <= 1 || m->V * m->ld < (1u << 16) ||
        (m->p.loss == FIRTH_WORDLM_LOG && m->p.negative > 0))
        return FIRTH_OK;
    struct wlm_pool *P = calloc(1, sizeof *P + (size_t)T * sizeof(wlm_worker));
    if (!P) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for %d threads", T);
    P->m = m;
    P->T = T;
    atomic_init(&P->gen, 0u);
    atomic_init(&P->pending, 0);
    for (int t = 0; t < T; t++) {
        wlm_worker *w = &P->w[t];
        w->pool = P;
        w->id = t;
        w->c0 = m->V * (size_t)t / (size_t)T;
        w->c1 = m->V * (size_t)(t + 1) / (size_t)T;
        w->gx = t == 0 ? m->gx : firth_alloc_aligned(m->ld * sizeof *w->gx);
        if (!w->gx) {
            pool_free(P);
            return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for %d threads", T);
        }
        memset(w->gx, 0, m->ld * sizeof *w->gx);
    }
    for (int t = 1; t < T; t++) {
        if (pthread_create(&P->w[t].th, NULL, worker_main, &P->w[t]) != 0) {
            pool_free(P);
            return firth_fail(err, FIRTH_ERR_NOMEM, "cannot start %d threads", T);
        }
        P->w[t].started = 1;
    }
    *out = P;
    return FIRTH_OK;
}

/* Sums the threads' partial dL/dx into m->gx (thread 0's), in thread order. */
static void pool_reduce_gx(struct wlm_pool *P) {
    float *gx = P->m->gx;
    for (int t = 1; t < P->T; t++) axpy_ld(1.0f, P->w[t].gx, gx, P->m->ld);
}

static double step_hinge_pool(firth_wordlm *m, struct wlm_pool *P, const size_t *ctx,
                              size_t target) {
    double lr = m->p.lr, f = 1.0 - lr * m->p.alpha;
    if (f <= 0.0) return step_hinge_naive(m, ctx, target);
    firth_wordlm_features(m, ctx, m->x);
    P->gscale = (float)m->wscale;
    m->wscale *= f;
    P->up = (float)(lr / m->wscale);
    P->lr = lr;
    P->target = target;
    pool_phase(P, PH_HINGE);
    double loss = 0.0;
    for (int t = 0; t < P->T; t++) loss += P->w[t].loss;
    if (m->p.train_embeddings) {
        pool_reduce_gx(P);
        update_embeddings(m, ctx);
    }
    renormalise(m);
    return loss;
}

static double step_log_pool(firth_wordlm *m, struct wlm_pool *P, const size_t *ctx,
                            size_t target) {
    if (1.0 - m->p.lr * m->p.alpha <= 0.0) return step_log_naive(m, ctx, target);
    firth_wordlm_features(m, ctx, m->x);
    P->gscale = (float)m->wscale;
    P->target = target;
    pool_phase(P, PH_LOG_SCORES);
    float gmx = P->w[0].mx;
    for (int t = 1; t < P->T; t++)
        if (P->w[t].mx > gmx) gmx = P->w[t].mx;
    double sum = 0.0;
    for (int t = 0; t < P->T; t++) sum += P->w[t].sum * exp((double)P->w[t].mx - (double)gmx);
    double loss = (double)gmx + log(sum) - (double)m->s[target];
    shrink(m);
    P->gmx = gmx;
    P->ginv = 1.0 / sum;
    P->lr = m->p.lr;
    P->up = (float)(-m->p.lr / m->wscale);
    pool_phase(P, PH_LOG_UPDATE);
    if (m->p.train_embeddings) {
        pool_reduce_gx(P);
        update_embeddings(m, ctx);
    }
    renormalise(m);
    return loss;
}

firth_status firth_wordlm_set_threads(firth_wordlm *m, int threads, firth_error *err) {
    if (threads < 1 || threads > FIRTH_WORDLM_MAX_THREADS)
        return firth_fail(err, FIRTH_ERR_PARAM, "threads must be 1..%d (got %d)",
                          FIRTH_WORDLM_MAX_THREADS, threads);
    m->threads = threads;
    return FIRTH_OK;
}

double firth_wordlm_step_naive(firth_wordlm *m, const size_t *ctx, size_t target) {
    double l = m->p.loss == FIRTH_WORDLM_HINGE ? step_hinge_naive(m, ctx, target)
                                               : step_log_naive(m, ctx, target);
    m->steps++;
    return l;
}

firth_status firth_wordlm_step(firth_wordlm *m, const size_t *ctx, size_t target, double *loss,
                               firth_error *err) {
    if (target >= m->V) return firth_fail(err, FIRTH_ERR_PARAM, "class %zu out of range", target);
    for (int k = 0; k < m->N; k++)
        if (ctx[k] > m->V) return firth_fail(err, FIRTH_ERR_PARAM, "context id out of range");
    double l;
    if (m->p.loss == FIRTH_WORDLM_HINGE) {
        l = m->pool ? step_hinge_pool(m, m->pool, ctx, target) : step_hinge(m, ctx, target);
    } else if (m->p.negative > 0) {
        firth_status st = firth_wordlm_prepare_noise(m, err);
        if (st != FIRTH_OK) return st;
        size_t K = (size_t)m->p.negative;
        for (size_t j = 0; j < K; j++)
            m->samp[j] = firth_alias_draw(&m->noise, firth_rng_next(&m->rng));
        l = firth_wordlm_step_sampled(m, ctx, target, m->samp, K);
    } else {
        l = m->pool ? step_log_pool(m, m->pool, ctx, target) : step_log(m, ctx, target);
    }
    m->steps++;
    if (loss) *loss = l;
    if (!isfinite(l))
        return firth_fail(err, FIRTH_ERR_DIVERGED,
                          "training diverged (loss %g at step %llu); lower the learning rate", l,
                          (unsigned long long)m->steps);
    return FIRTH_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* training and evaluation over a corpus                                                       */
/* ------------------------------------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The context of position i: ids[i-N .. i-1], padding before the start. */
static void context_at(const firth_wordlm *m, const size_t *ids, size_t i, size_t *ctx) {
    for (int k = 0; k < m->N; k++) {
        size_t back = (size_t)(m->N - k);
        ctx[k] = i >= back ? ids[i - back] : m->V;
    }
}

static int all_finite(const float *a, size_t n);

firth_status firth_wordlm_train(firth_wordlm *m, const firth_corpus *corpus, int epochs,
                                firth_progress_fn progress, void *user, firth_error *err) {
    if (epochs < 1 || epochs > 100000)
        return firth_fail(err, FIRTH_ERR_PARAM, "epochs must be 1..100000 (got %d)", epochs);
    size_t *ids, n;
    firth_status st = corpus_ids(m, corpus, &ids, &n, err);
    if (st != FIRTH_OK) return st;
    for (size_t i = 0; i < n; i++) m->counts[ids[i]]++;
    if (m->steps == 0 && m->p.loss == FIRTH_WORDLM_LOG) {
        /* Softmax intercepts start at the log unigram probabilities (add-1/2 smoothed), so the
         * untrained model is the unigram baseline and SGD spends its steps on the context. The
         * hinge model starts at zero, as SGDClassifier. */
        double total = 0.0;
        for (size_t c = 0; c < m->V; c++) total += (double)m->counts[c] + 0.5;
        for (size_t c = 0; c < m->V; c++)
            m->b[c] = (float)log(((double)m->counts[c] + 0.5) / total);
    }
    if (m->p.negative > 0 && (st = firth_wordlm_prepare_noise(m, err)) != FIRTH_OK) {
        free(ids);
        return st;
    }
    if ((st = pool_start(m, &m->pool, err)) != FIRTH_OK) {
        free(ids);
        return st;
    }
    size_t ctx[FIRTH_WORDLM_MAX_CONTEXT];
    double t0 = now_s(), last = t0;
    firth_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.words_total = (uint64_t)epochs * n;
    pr.epochs = epochs;
    pr.threads = m->pool ? m->pool->T : 1;
    for (int e = 1; e <= epochs && st == FIRTH_OK; e++) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            context_at(m, ids, i, ctx);
            double l;
            if ((st = firth_wordlm_step(m, ctx, ids[i], &l, err)) != FIRTH_OK) break;
            sum += l;
            if (progress && (i & 63) == 63) {
                double t = now_s();
                if (t - last >= 0.2) {
                    last = t;
                    pr.words_done = (uint64_t)(e - 1) * n + i + 1;
                    pr.fraction = (double)pr.words_done / (double)pr.words_total;
                    pr.elapsed_s = t - t0;
                    pr.words_per_s = (double)pr.words_done / pr.elapsed_s;
                    pr.words_per_s_thread = pr.words_per_s / pr.threads;
                    pr.eta_s = (double)(pr.words_total - pr.words_done) / pr.words_per_s;
                    pr.alpha = m->p.lr;
                    pr.loss = sum / (double)(i + 1);
                    pr.epoch = e;
                    pr.epoch_finished = 0;
                    if (progress(&pr, user)) {
                        st = firth_fail(err, FIRTH_ERR_CANCELLED, "training cancelled");
                        break;
                    }
                }
            }
        }
        if (st != FIRTH_OK || !progress) continue;
        double t = now_s();
        pr.words_done = (uint64_t)e * n;
        pr.fraction = (double)e / epochs;
        pr.elapsed_s = t - t0;
        pr.words_per_s = pr.elapsed_s > 0 ? (double)pr.words_done / pr.elapsed_s : 0.0;
        pr.words_per_s_thread = pr.words_per_s / pr.threads;
        pr.eta_s = pr.words_per_s > 0 ? (double)(pr.words_total - pr.words_done) / pr.words_per_s
                                      : -1.0;
        pr.alpha = m->p.lr;
        pr.epoch = e;
        pr.loss = pr.epoch_loss = sum / (double)n;
        pr.epoch_finished = e;
        pr.epoch_seconds = pr.elapsed_s;
        if (progress(&pr, user)) st = firth_fail(err, FIRTH_ERR_CANCELLED, "training cancelled");
    }
    pool_free(m->pool);
    m->pool = NULL;
    free(ids);
    /* Each step checks the loss before its update, so the last update of a run can overflow the
     * weights unseen; such a model would be saved and then refused by the loader (found by
     * tests/fuzz/fuzz_wordlm.c). W's padding columns are zero, so checking whole rows is fine. */
    if (st == FIRTH_OK && (!all_finite(m->W, m->V * m->ld) || !all_finite(m->b, m->V) ||
                           !all_finite(m->E, (m->V + 1) * (size_t)m->D)))
        st = firth_fail(err, FIRTH_ERR_DIVERGED,
                        "training diverged (the weights overflowed at step %llu); lower the "
                        "learning rate", (unsigned long long)m->steps);
    return st;
}

typedef struct count_id {
    uint64_t count;
    size_t id;
} count_id;

static int by_count_desc(const void *a, const void *b) {
    const count_id *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Rank of each class under the unigram baseline (count descending, ties by id), "<unk>" last. */
static size_t *unigram_ranks(const firth_wordlm *m) {
    size_t *rank = malloc(m->V * sizeof *rank);
    count_id *pr = malloc(m->V * sizeof *pr);
    if (!rank || !pr) {
        free(rank);
        free(pr);
        return NULL;
    }
    size_t n = 0;
    for (size_t c = 1; c < m->V; c++) pr[n].count = m->counts[c], pr[n++].id = c;
    qsort(pr, n, sizeof *pr, by_count_desc);
    for (size_t i = 0; i < n; i++) rank[pr[i].id] = i;
    rank[FIRTH_WORDLM_UNK] = n;
    free(pr);
    return rank;
}

#define EVAL_BLOCK 256

firth_status firth_wordlm_eval(const firth_wordlm *m, const firth_corpus *corpus,
                               firth_wordlm_eval_result *out, firth_error *err) {
    memset(out, 0, sizeof *out);
    size_t *ids, n;
    firth_status st = corpus_ids(m, corpus, &ids, &n, err);
    if (st != FIRTH_OK) return st;
    size_t B = EVAL_BLOCK, V = m->V;
    float *X = firth_alloc_aligned(B * m->ld * sizeof *X);
    float *S = firth_alloc_aligned(B * V * sizeof *S);
    size_t *urank = unigram_ranks(m);
    if (!X || !S || !urank) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory evaluating");
        goto done;
    }
    uint64_t total = 0;
    for (size_t c = 0; c < V; c++) total += m->counts[c];
    size_t ctx[FIRTH_WORDLM_MAX_CONTEXT];
    uint64_t top1 = 0, top5 = 0, u1 = 0, u5 = 0, scored = 0, oov = 0;
    double nll = 0.0, unll = 0.0;
    int is_log = m->p.loss == FIRTH_WORDLM_LOG;
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t nb = n - i0 < B ? n - i0 : B;
        for (size_t r = 0; r < nb; r++) {
            context_at(m, ids, i0 + r, ctx);
            firth_wordlm_features(m, ctx, X + r * m->ld);
        }
        /* S (nb, V) = wscale * X (nb, F) W^T (F, V) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)V, (int)m->F,
                    (float)m->wscale, X, (int)m->ld, m->W, (int)m->ld, 0.0f, S, (int)V);
        for (size_t r = 0; r < nb; r++) {
            size_t t = ids[i0 + r];
            if (t == FIRTH_WORDLM_UNK) {
                oov++;
                continue;
            }
            float *s = S + r * V;
            for (size_t c = 0; c < V; c++) s[c] += m->b[c];
            float st_ = s[t];
            size_t rank = 0;
            for (size_t c = 1; c < V; c++) rank += s[c] > st_ || (s[c] == st_ && c < t);
            top1 += rank == 0;
            top5 += rank < 5;
            if (is_log) {
                double mx = s[0], sum = 0.0;
                for (size_t c = 1; c < V; c++) mx = fmax(mx, (double)s[c]);
                for (size_t c = 0; c < V; c++) sum += exp((double)s[c] - mx);
                nll += mx + log(sum) - (double)st_;
            }
            u1 += urank[t] == 0;
            u5 += urank[t] < 5;
            unll -= log((double)m->counts[t] / (double)total);
            scored++;
        }
    }
    out->examples = scored;
    out->oov_targets = oov;
    if (scored == 0) {
        st = firth_fail(err, FIRTH_ERR_INPUT,
                        "none of the %zu words of the input is in the model's vocabulary", n);
        goto done;
    }
    out->top1 = (double)top1 / (double)scored;
    out->top5 = (double)top5 / (double)scored;
    out->perplexity = is_log ? exp(nll / (double)scored) : NAN;
    out->unigram_top1 = (double)u1 / (double)scored;
    out->unigram_top5 = (double)u5 / (double)scored;
    out->unigram_perplexity = exp(unll / (double)scored);
done:
    free(ids);
    firth_free_aligned(X);
    firth_free_aligned(S);
    free(urank);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* generation helpers                                                                          */
/* ------------------------------------------------------------------------------------------ */

firth_status firth_wordlm_scores(const firth_wordlm *m, const size_t *ids, size_t n,
                                 float *scores, firth_error *err) {
    size_t ctx[FIRTH_WORDLM_MAX_CONTEXT];
    for (int k = 0; k < m->N; k++) {
        size_t back = (size_t)(m->N - k);
        ctx[k] = n >= back ? ids[n - back] : m->V;
        if (ctx[k] > m->V) return firth_fail(err, FIRTH_ERR_PARAM, "word id out of range");
    }
    float *x = firth_alloc_aligned(m->ld * sizeof *x);
    if (!x) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    firth_wordlm_features(m, ctx, x);
    all_scores(m, x, scores);
    firth_free_aligned(x);
    return FIRTH_OK;
}

firth_status firth_wordlm_tokenize(const firth_wordlm *m, const char *text, size_t **ids_out,
                                   size_t *n_out, size_t *n_unknown, firth_error *err) {
    size_t len = strlen(text), n = 0, unk = 0, cap = 16;
    size_t *ids = malloc(cap * sizeof *ids);
    char tok[4 * 100 + 4];
    size_t tl = 0;
    int truncated = 0;
    if (!ids) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i <= len;) {
        uint32_t cp = ' ';
        int k = 1;
        if (i < len) {
            k = firth_utf8_decode((const unsigned char *)text + i, len - i, &cp);
            if (k <= 0) {
                free(ids);
                return firth_fail(err, FIRTH_ERR_INPUT, "invalid UTF-8 at byte %zu of the text", i);
            }
        }
        i += (size_t)k;
        if (firth_utf8_is_space(cp) || firth_utf8_is_line_end(cp) || cp == 0) {
            if (tl > 0) {
                if (n == cap) {
                    size_t *p = realloc(ids, 2 * cap * sizeof *ids);
                    if (!p) {
                        free(ids);
                        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
                    }
                    ids = p;
                    cap *= 2;
                }
                size_t id = firth_wordlm_find(m, tok, tl);
                unk += id == FIRTH_WORDLM_UNK;
                ids[n++] = id;
            }
            tl = 0;
            truncated = 0;
            if (i > len) break;
            continue;
        }
        if (m->p.strip_punct && firth_utf8_is_punct(cp)) continue;
        if (m->p.lowercase) cp = firth_utf8_lower(cp);
        unsigned char enc[4];
        int e = firth_utf8_encode(cp, enc);
        if (truncated || tl + (size_t)e > 100) { /* the corpus tokenizer's 100-byte cut */
            truncated = 1;
            continue;
        }
        memcpy(tok + tl, enc, (size_t)e);
        tl += (size_t)e;
    }
    if (n == 0) {
        free(ids);
        ids = NULL;
    }
    *ids_out = ids;
    *n_out = n;
    if (n_unknown) *n_unknown = unk;
    return FIRTH_OK;
}

const firth_wordlm_params *firth_wordlm_get_params(const firth_wordlm *m) { return &m->p; }
size_t firth_wordlm_vocab_size(const firth_wordlm *m) { return m->V; }
int firth_wordlm_dim(const firth_wordlm *m) { return m->D; }
const char *firth_wordlm_word(const firth_wordlm *m, size_t id) {
    return id < m->V ? m->words + m->word_off[id] : NULL;
}
uint64_t firth_wordlm_word_count(const firth_wordlm *m, size_t id) {
    return id < m->V ? m->counts[id] : 0;
}
uint64_t firth_wordlm_steps(const firth_wordlm *m) { return m->steps; }

/* ------------------------------------------------------------------------------------------ */
/* model files                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * Layout (little-endian), docs/formats.md:
 *   header, HEADER_BYTES bytes:
 *     char[8] "FIRTHWLM"; u32 version; u32 endian mark 0x01020304;
 *     u32 loss, context, dim, train_embeddings, negative, lowercase, strip_punct, reserved;
 *     u64 classes V, word bytes, steps, seed, min_count, max_vocab;
 *     f64 lr, alpha, emb_lr; zero padding to HEADER_BYTES
 *   words: V NUL-terminated words ("<unk>" first), `word bytes` in all
 *   u64 counts[V]; f32 E[(V + 1) * dim]; f32 W[V * context * dim] (true weights); f32 b[V]
 */
typedef struct header {
    uint32_t version, endian, loss, context, dim, train_emb, negative, lowercase, strip_punct;
    uint64_t V, word_bytes, steps, seed, min_count, max_vocab;
    double lr, alpha, emb_lr;
} header;

static void put32(unsigned char **p, uint32_t v) { memcpy(*p, &v, 4), *p += 4; }
static void put64(unsigned char **p, uint64_t v) { memcpy(*p, &v, 8), *p += 8; }
static void putf64(unsigned char **p, double v) { memcpy(*p, &v, 8), *p += 8; }
static uint32_t get32(const unsigned char **p) {
    uint32_t v;
    memcpy(&v, *p, 4), *p += 4;
    return v;
}
static uint64_t get64(const unsigned char **p) {
    uint64_t v;
    memcpy(&v, *p, 8), *p += 8;
    return v;
}
static double getf64(const unsigned char **p) {
    double v;
    memcpy(&v, *p, 8), *p += 8;
    return v;
}

firth_status firth_wordlm_save(const firth_wordlm *m, const char *path, firth_error *err) {
    unsigned char hb[HEADER_BYTES] = {0}, *p = hb;
    memcpy(p, MAGIC, 8), p += 8;
    put32(&p, VERSION);
    put32(&p, ENDIAN_MARK);
    put32(&p, (uint32_t)m->p.loss);
    put32(&p, (uint32_t)m->N);
    put32(&p, (uint32_t)m->D);
    put32(&p, (uint32_t)m->p.train_embeddings);
    put32(&p, (uint32_t)m->p.negative);
    put32(&p, (uint32_t)m->p.lowercase);
    put32(&p, (uint32_t)m->p.strip_punct);
    put32(&p, 0);
    put64(&p, m->V);
    put64(&p, m->words_bytes);
    put64(&p, m->steps);
    put64(&p, m->p.seed);
    put64(&p, m->p.min_count);
    put64(&p, m->p.max_vocab);
    putf64(&p, m->p.lr);
    putf64(&p, m->p.alpha);
    putf64(&p, m->p.emb_lr);
    float *row = malloc(m->F * sizeof *row);
    if (!row) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    firth_atomic_file *af = firth_atomic_open(path, err);
    if (!af) {
        free(row);
        return err ? err->status : FIRTH_ERR_OUTPUT;
    }
    FILE *fp = firth_atomic_stream(af);
    fwrite(hb, 1, sizeof hb, fp);
    fwrite(m->words, 1, m->words_bytes, fp);
    fwrite(m->counts, sizeof *m->counts, m->V, fp);
    fwrite(m->E, sizeof *m->E, (m->V + 1) * (size_t)m->D, fp);
    for (size_t c = 0; c < m->V; c++) {
        const float *w = m->W + c * m->ld;
        for (size_t f = 0; f < m->F; f++) row[f] = (float)(m->wscale * w[f]);
        fwrite(row, sizeof *row, m->F, fp);
    }
    fwrite(m->b, sizeof *m->b, m->V, fp);
    free(row);
    return firth_atomic_commit(af, err);
}

static int all_finite(const float *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

static firth_wordlm *corrupt(firth_error *err, const char *path, const char *why) {
    firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a valid firth word model: %s", path, why);
    return NULL;
}

firth_wordlm *firth_wordlm_load(const char *path, firth_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open '%s'", path);
        return NULL;
    }
    struct stat stt;
    if (fstat(fileno(fp), &stt) != 0 || !S_ISREG(stt.st_mode)) {
        fclose(fp);
        return corrupt(err, path, "not a regular file");
    }
    uint64_t fsize = (uint64_t)stt.st_size;
    unsigned char hb[HEADER_BYTES];
    if (fsize < HEADER_BYTES || fread(hb, 1, HEADER_BYTES, fp) != HEADER_BYTES) {
        fclose(fp);
        return corrupt(err, path, "shorter than its header (truncated or empty)");
    }
    if (memcmp(hb, MAGIC, 8) != 0) {
        fclose(fp);
        return corrupt(err, path, "wrong magic number (word models come from 'firth wordlm "
                                  "train')");
    }
    const unsigned char *p = hb + 8;
    header h;
    h.version = get32(&p);
    h.endian = get32(&p);
    h.loss = get32(&p);
    h.context = get32(&p);
    h.dim = get32(&p);
    h.train_emb = get32(&p);
    h.negative = get32(&p);
    h.lowercase = get32(&p);
    h.strip_punct = get32(&p);
    (void)get32(&p);
    h.V = get64(&p);
    h.word_bytes = get64(&p);
    h.steps = get64(&p);
    h.seed = get64(&p);
    h.min_count = get64(&p);
    h.max_vocab = get64(&p);
    h.lr = getf64(&p);
    h.alpha = getf64(&p);
    h.emb_lr = getf64(&p);
    if (h.version != VERSION) {
        fclose(fp);
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' has word-model version %u; this firth reads %u",
                   path, h.version, VERSION);
        return NULL;
    }
    if (h.endian != ENDIAN_MARK) {
        fclose(fp);
        return corrupt(err, path, "written on a machine of the other byte order");
    }
    firth_wordlm_params prm = firth_wordlm_default_params();
    prm.loss = (firth_wordlm_loss)h.loss;
    prm.context = h.context > FIRTH_WORDLM_MAX_CONTEXT ? -1 : (int)h.context;
    prm.train_embeddings = h.train_emb != 0;
    prm.negative = h.negative > 100000 ? -1 : (int)h.negative;
    prm.lowercase = h.lowercase != 0;
    prm.strip_punct = h.strip_punct != 0;
    prm.seed = h.seed;
    prm.min_count = h.min_count;
    prm.max_vocab = h.max_vocab;
    prm.lr = h.lr;
    prm.alpha = h.alpha;
    prm.emb_lr = h.emb_lr;
    firth_error perr;
    if (h.loss > 1 || firth_wordlm_check_params(&prm, &perr) != FIRTH_OK) {
        fclose(fp);
        return corrupt(err, path, "bad hyper-parameters in the header");
    }
    if (h.dim < 1 || h.dim > FIRTH_WORDLM_MAX_FEATURES ||
        (uint64_t)h.context * h.dim > FIRTH_WORDLM_MAX_FEATURES || h.V < 1 ||
        h.V > fsize / 4 || h.word_bytes > fsize || h.word_bytes < 2 * h.V) {
        fclose(fp);
        return corrupt(err, path, "impossible sizes in the header");
    }
    /* expected length, in 128-bit arithmetic so that no product can overflow */
    unsigned __int128 F = (unsigned __int128)h.context * h.dim;
    unsigned __int128 need = HEADER_BYTES + (unsigned __int128)h.word_bytes + 8 * (__int128)h.V +
                             4 * (unsigned __int128)(h.V + 1) * h.dim + 4 * F * h.V + 4 * h.V;
    if (need != fsize) {
        fclose(fp);
        firth_fail(err, FIRTH_ERR_INPUT,
                   "'%s' is not a valid firth word model: its header promises %llu bytes but the "
                   "file has %llu (truncated or corrupt)",
                   path, (unsigned long long)(need > UINT64_MAX ? UINT64_MAX : (uint64_t)need),
                   (unsigned long long)fsize);
        return NULL;
    }
    firth_wordlm *m = alloc_model(&prm, (size_t)h.V, (int)h.dim, err);
    if (!m) {
        fclose(fp);
        return NULL;
    }
    m->steps = h.steps;
    m->words_bytes = (size_t)h.word_bytes;
    m->words = malloc(m->words_bytes);
    float *row = malloc(m->F * sizeof *row);
    int ok = m->words && row;
    ok = ok && fread(m->words, 1, m->words_bytes, fp) == m->words_bytes;
    ok = ok && fread(m->counts, sizeof *m->counts, m->V, fp) == m->V;
    ok = ok && fread(m->E, sizeof *m->E, (m->V + 1) * (size_t)m->D, fp) == (m->V + 1) * (size_t)m->D;
    for (size_t c = 0; ok && c < m->V; c++) {
        ok = fread(row, sizeof *row, m->F, fp) == m->F;
        if (ok) memcpy(m->W + c * m->ld, row, m->F * sizeof *row);
    }
    ok = ok && fread(m->b, sizeof *m->b, m->V, fp) == m->V;
    free(row);
    fclose(fp);
    if (!ok) {
        firth_wordlm_free(m);
        if (err && err->status == FIRTH_ERR_NOMEM) return NULL;
        return corrupt(err, path, "read failed");
    }
    firth_error ierr;
    if (index_words(m, &ierr) != FIRTH_OK) {
        char why[600];
        snprintf(why, sizeof why, "bad vocabulary (%s)", ierr.message);
        firth_wordlm_free(m);
        return corrupt(err, path, why);
    }
    if (strcmp(m->words, FIRTH_WORDLM_UNK_WORD) != 0) {
        firth_wordlm_free(m);
        return corrupt(err, path, "the first word is not \"<unk>\"");
    }
    if (!all_finite(m->E, (m->V + 1) * (size_t)m->D) || !all_finite(m->W, m->V * m->ld) ||
        !all_finite(m->b, m->V)) {
        firth_wordlm_free(m);
        return corrupt(err, path, "non-finite weights");
    }
    return m;
}
