/* w2v.c - word2vec training: skip-gram and CBOW with negative sampling, hierarchical softmax or
 * the full softmax; many threads over shared weights without locks (Hogwild, Recht et al. 2011),
 * each with its own scratch buffers and random stream.
 *
 * Threads split the corpus into byte ranges (word2vec.c's scheme); every epoch each thread reads
 * its range again. The calling thread is the monitor: it sleeps, gathers counters, computes the
 * progress snapshot and calls the caller's callback, so callbacks never run on a worker.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/vec.h"
#include "dist/dist.h"
#include "embed/loss.h"
#include "embed/w2v_ckpt.h"
#include "embed/w2v_dist.h"
#include "embed/w2v_model.h"
#include "embed/w2v_stream.h"
#include "text/vocab.h"

firth_w2v_params firth_w2v_default_params(void) {
    firth_w2v_params p;
    p.arch = FIRTH_ARCH_SG;
    p.loss = FIRTH_LOSS_NS;
    p.dim = 100;
    p.window = 5;
    p.negative = 5;
    p.epochs = 5;
    p.alpha = 0.025;
    p.min_alpha_frac = 1e-4;
    p.sample = 1e-3;
    p.ns_exponent = 0.75;
    p.threads = 1;
    p.seed = 1;
    p.report_every_ms = 200;
    p.batch = 1;
    p.cbow_block = 1;
    p.cache_mb = 2048;
    return p;
}

firth_status firth_w2v_check_params(const firth_w2v_params *p, firth_error *err) {
    if (p->arch != FIRTH_ARCH_SG && p->arch != FIRTH_ARCH_CBOW)
        return firth_fail(err, FIRTH_ERR_PARAM, "unknown architecture %d", (int)p->arch);
    if (p->loss != FIRTH_LOSS_NS && p->loss != FIRTH_LOSS_HS && p->loss != FIRTH_LOSS_SOFTMAX)
        return firth_fail(err, FIRTH_ERR_PARAM, "unknown loss %d", (int)p->loss);
    if (p->dim < 1 || p->dim > 10000)
        return firth_fail(err, FIRTH_ERR_PARAM, "dim must be 1..10000 (got %d)", p->dim);
    if (p->window < 1 || p->window > 1000)
        return firth_fail(err, FIRTH_ERR_PARAM, "window must be 1..1000 (got %d)", p->window);
    if (p->negative < 0 || p->negative > 1000)
        return firth_fail(err, FIRTH_ERR_PARAM, "negative must be 0..1000 (got %d)", p->negative);
    if (p->loss == FIRTH_LOSS_NS && p->negative < 1)
        return firth_fail(err, FIRTH_ERR_PARAM,
                          "negative sampling needs --negative >= 1 (or choose --loss hs|softmax)");
    if (p->epochs < 1 || p->epochs > 1000000)
        return firth_fail(err, FIRTH_ERR_PARAM, "epochs must be 1..1000000 (got %d)", p->epochs);
    if (!(p->alpha > 0.0 && p->alpha <= 10.0))
        return firth_fail(err, FIRTH_ERR_PARAM, "alpha must be in (0, 10] (got %g)", p->alpha);
    if (!(p->min_alpha_frac >= 0.0 && p->min_alpha_frac <= 1.0))
        return firth_fail(err, FIRTH_ERR_PARAM, "min alpha fraction must be in [0, 1]");
    if (!(p->sample >= 0.0 && p->sample <= 1.0))
        return firth_fail(err, FIRTH_ERR_PARAM, "sample must be in [0, 1] (got %g)", p->sample);
    if (!(p->ns_exponent >= -1.0 && p->ns_exponent <= 1.0))
        return firth_fail(err, FIRTH_ERR_PARAM, "ns exponent must be in [-1, 1] (got %g)",
                          p->ns_exponent);
    if (p->threads < 1 || p->threads > 1024)
        return firth_fail(err, FIRTH_ERR_PARAM, "threads must be 1..1024 (got %d)", p->threads);
    if (p->cache_mb < 0 || p->cache_mb > ((int64_t)1 << 40))
        return firth_fail(err, FIRTH_ERR_PARAM, "cache must be 0..2^40 MiB (got %lld)",
                          (long long)p->cache_mb);
    if (p->cbow_block < 1 || p->cbow_block > 64)
        return firth_fail(err, FIRTH_ERR_PARAM, "cbow block must be 1..64 (got %d)", p->cbow_block);
    if (p->report_every_ms < 1)
        return firth_fail(err, FIRTH_ERR_PARAM, "report interval must be >= 1 ms");
    return FIRTH_OK;
}

firth_w2v *firth_w2v_alloc(firth_vocab *vocab, const firth_w2v_params *params, firth_error *err) {
    if (firth_w2v_check_params(params, err) != FIRTH_OK) {
        firth_vocab_free(vocab);
        return NULL;
    }
    size_t V = firth_vocab_size(vocab);
    if (V < 2) {
        firth_vocab_free(vocab);
        firth_fail(err, FIRTH_ERR_INPUT, "the vocabulary is empty");
        return NULL;
    }
    if (params->loss == FIRTH_LOSS_SOFTMAX && V > FIRTH_SOFTMAX_MAX_VOCAB) {
        firth_fail(err, FIRTH_ERR_PARAM,
                   "the full softmax is limited to %d words (its cost grows with the vocabulary) "
                   "but the vocabulary has %zu; use --max-vocab %d or --loss ns|hs",
                   FIRTH_SOFTMAX_MAX_VOCAB, V, FIRTH_SOFTMAX_MAX_VOCAB - 1);
        firth_vocab_free(vocab);
        return NULL;
    }
    size_t out_rows = params->loss == FIRTH_LOSS_HS ? V - 1 : V;
    size_t rows, floats, bytes;
    if (!firth_add_size(V, out_rows, &rows) || !firth_mul_size(rows, (size_t)params->dim, &floats) ||
        !firth_mul_size(floats, sizeof(float), &bytes)) {
        firth_fail(err, FIRTH_ERR_PARAM, "vocabulary %zu x dim %d overflows memory sizes", V,
                   params->dim);
        firth_vocab_free(vocab);
        return NULL;
    }
    uint64_t phys = firth_physical_memory();
    if (phys && bytes > phys) {
        firth_fail(err, FIRTH_ERR_PARAM,
                   "the model needs %.1f GiB (%zu words x dim %d x 2 matrices) but this machine "
                   "has %.1f GiB; lower --dim, --max-vocab or raise --min-count",
                   (double)bytes / 1073741824.0, V, params->dim, (double)phys / 1073741824.0);
        firth_vocab_free(vocab);
        return NULL;
    }
    firth_w2v *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->vocab = vocab;
    m->p = *params;
    m->text = firth_text_default_params();
    m->V = V;
    m->D = params->dim;
    m->out_rows = out_rows;
    m->syn0 = firth_alloc_aligned(bytes);
    if (!m->syn0) goto nomem;
    m->out = m->syn0 + V * (size_t)m->D;
    firth_sigmoid_table_init(&m->sig);
    if (params->loss == FIRTH_LOSS_HS) {
        uint64_t *counts = malloc(V * sizeof *counts);
        if (!counts) goto nomem;
        for (size_t i = 0; i < V; i++) counts[i] = firth_vocab_word_count(vocab, i);
        firth_status st = firth_huffman_build(&m->huff, counts, V, err);
        free(counts);
        if (st != FIRTH_OK) {
            firth_w2v_free(m);
            return NULL;
        }
    }
    return m;
nomem:
    if (m)
        firth_w2v_free(m);
    else
        firth_vocab_free(vocab);
    firth_fail(err, FIRTH_ERR_NOMEM, "out of memory allocating a %zu x %d model", V, params->dim);
    return NULL;
}

firth_w2v *firth_w2v_new(firth_vocab *vocab, const firth_w2v_params *params, firth_error *err) {
    firth_w2v *m = firth_w2v_alloc(vocab, params, err);
    if (!m) return NULL;
    firth_rng rng;
    firth_rng_seed(&rng, params->seed ^ 0x5EED5EED5EEDull);
    size_t n = m->V * (size_t)m->D;
    float scale = 1.0f / (float)m->D;
    for (size_t i = 0; i < n; i++) m->syn0[i] = (firth_rng_float(&rng) - 0.5f) * scale;
    memset(m->out, 0, m->out_rows * (size_t)m->D * sizeof(float));
    return m;
}

void firth_w2v_free(firth_w2v *m) {
    if (!m) return;
    firth_vocab_free(m->vocab);
    firth_free_aligned(m->syn0);
    firth_huffman_free(&m->huff);
    free(m->epoch_loss);
    free(m);
}

const firth_vocab *firth_w2v_vocab(const firth_w2v *m) { return m->vocab; }
const firth_w2v_params *firth_w2v_get_params(const firth_w2v *m) { return &m->p; }
const float *firth_w2v_vectors(const firth_w2v *m) { return m->syn0; }
const double *firth_w2v_epoch_losses(const firth_w2v *m, int *n) {
    *n = m->n_epoch_loss;
    return m->epoch_loss;
}

const char **firth_w2v_word_list(const firth_w2v *m) {
    const char **w = malloc(m->V * sizeof *w);
    if (!w) return NULL;
    for (size_t i = 0; i < m->V; i++) w[i] = firth_vocab_word(m->vocab, i);
    return w;
}

/* ---------------------------------------------------------------------------------------- */
/* Training                                                                                  */
/* ---------------------------------------------------------------------------------------- */

#define SYNC_WORDS 10000 /* words between a thread's updates of the shared counter and alpha */

typedef struct trainer trainer;

/* Each worker is written all the time by its own thread (its RNG on every draw), so workers are
 * cache-line aligned and padded, and so is every buffer of theirs: two threads never write the
 * same line except in the shared weights themselves (false sharing cost a third of the speed of
 * two threads before). */
typedef struct worker {
    _Alignas(FIRTH_ALIGN) firth_rng rng;
    trainer *tr;
    int id;
    uint64_t begin, end; /* byte range of the corpus */
    int32_t *sent;       /* (max_sentence_words) word ids of the current sentence */
    w2v_stream stream;   /* the words of [begin, end), kept after the first epoch */
    int32_t *targets;    /* (negative + cbow_block) */
    int32_t *targets_next; /* (negative + cbow_block) the next window's or block's, batched */
    uint64_t *noise_r;   /* (negative) the random bits of the next noise draws (see next_noise) */
    int *nctx;           /* (cbow_block) context words of each centre of a CBOW block */
    float *dh;           /* (D) step for the input vector */
    float *hbuf;         /* (D) CBOW mean of the context */
    float *scores;       /* (V) softmax scratch */
    float **in_rows;     /* (2 window cbow_block) the input rows of a window or CBOW block */
    float *batch;        /* (firth_ns_batch_scratch or _cbow_scratch) batched scratch */
    /* per epoch, written by the worker before it publishes epochs_done */
    double *loss;
    uint64_t *examples;
    double *finished_at;
    atomic_int epochs_done;
    atomic_int exited;
    /* checkpoints: where the worker stands while it is parked (written before `parked`) */
    atomic_int parked;
    int32_t pos_epoch;
    uint64_t pos_offset, pos_unsynced, pos_examples;
    double pos_loss;
    float pos_alpha;
    const w2v_worker_state *from; /* the saved position to resume from, or NULL */
    /* the current epoch so far, for the progress line */
    _Atomic double run_loss;
    _Atomic uint64_t run_examples;
    firth_status status;
    firth_error err;
} worker;

struct trainer {
    firth_w2v *m;
    const firth_corpus *corpus;
    firth_text_params text;
    uint32_t *keep;      /* (V) subsampling thresholds */
    firth_alias noise;   /* NS noise distribution */
    uint64_t words_total;
    atomic_uint_fast64_t words_done; /* this rank's (all of them with one rank) */
    atomic_int stop;
    atomic_int pause; /* workers park at their next sentence boundary while it is set */
    struct timespec t0;
    uint64_t publish_every; /* words between a worker's updates of words_done (SYNC_WORDS) */
    /* distributed training (more than one rank; otherwise ranks == 1 and the rest unused) */
    int ranks, rank;
    uint8_t *dirty;                     /* (V + out_rows) rows changed since the last round */
    atomic_uint_fast64_t next_sync;     /* words_done at which a worker asks for a round */
    atomic_uint_fast64_t global_base;   /* all ranks' words at the last round */
    atomic_uint_fast64_t local_base;    /* this rank's words_done at the last round */
};

static double seconds_between(const struct timespec *a, const struct timespec *b) {
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static double seconds_since(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* All ranks' words done, from this rank's count `done`: exact at a round, and in between each
 * rank assumes that the others go as fast as itself. */
static uint64_t global_words(const trainer *tr, uint64_t done) {
    if (tr->ranks <= 1) return done;
    uint64_t lb = atomic_load_explicit(&tr->local_base, memory_order_relaxed);
    uint64_t gb = atomic_load_explicit(&tr->global_base, memory_order_relaxed);
    uint64_t g = gb + (done > lb ? done - lb : 0) * (uint64_t)tr->ranks;
    return g < tr->words_total ? g : tr->words_total;
}

static float current_alpha(const trainer *tr, uint64_t done) {
    const firth_w2v_params *p = &tr->m->p;
    done = global_words(tr, done);
    double frac = 1.0 - (double)done / ((double)tr->words_total + 1.0);
    if (frac < p->min_alpha_frac) frac = p->min_alpha_frac;
    return (float)(p->alpha * frac);
}

/* Marks the output rows `targets` as changed for the next distributed round (MPI only). */
static inline void mark_out_dirty(worker *w, const int32_t *targets, int n) {
    if (!w->tr->dirty) return;
    uint8_t *out_dirty = w->tr->dirty + w->tr->m->V;
    for (int i = 0; i < n; i++) out_dirty[targets[i]] = 1;
}

/* One prediction of `target` from input vector h; adds the input's step to dh. */
static inline float predict(worker *w, const float *h, int32_t target, float alpha) {
    firth_w2v *m = w->tr->m;
    int D = m->D;
    switch (m->p.loss) {
    case FIRTH_LOSS_NS: {
        int n = 0;
        w->targets[n++] = target;
        for (int k = 0; k < m->p.negative; k++) {
            int32_t t = (int32_t)firth_alias_draw(&w->tr->noise, firth_rng_next(&w->rng));
            if (t != target) w->targets[n++] = t; /* skipped, not redrawn, as word2vec.c */
        }
        mark_out_dirty(w, w->targets, n);
        return firth_ns_step(&m->sig, h, m->out, w->targets, n, D, alpha, w->dh);
    }
    case FIRTH_LOSS_HS: {
        uint64_t a = m->huff.offsets[target], b = m->huff.offsets[target + 1];
        mark_out_dirty(w, m->huff.points + a, (int)(b - a));
        return firth_hs_step(&m->sig, h, m->out, m->huff.points + a, m->huff.codes + a,
                             (int)(b - a), D, alpha, w->dh);
    }
    default:
        return firth_softmax_step(h, m->out, (int)m->V, target, D, alpha, w->dh, w->scores);
    }
}

/* The noise draws of a batched sentence take their random bits one window or block ahead, so
 * that the alias column each will read is prefetched while the current one computes (the
 * column's load was a stall of its own on the way to the rows' prefetches: 5-6 % of the time,
 * bench/RESULTS.md run O). start_noise draws the bits of a sentence's first draws; the bits
 * left over at its end are dropped, so a checkpoint between sentences needs only the RNG. */
static inline void fresh_noise_bits(worker *w, int i) {
    w->noise_r[i] = firth_rng_next(&w->rng);
    __builtin_prefetch(firth_alias_column(&w->tr->noise, w->noise_r[i]));
}
static inline void start_noise(worker *w) {
    for (int i = 0; i < w->tr->m->p.negative; i++) fresh_noise_bits(w, i);
}
static inline int32_t next_noise(worker *w, int i) {
    int32_t t = (int32_t)firth_alias_draw(&w->tr->noise, w->noise_r[i]);
    fresh_noise_bits(w, i);
    return t;
}

/* Fills targets with `target` and the noise words drawn for it (a draw equal to the target is
 * skipped, as word2vec.c); returns how many. */
static inline int draw_targets(worker *w, int32_t target, int32_t *targets) {
    int n = 0, k = w->tr->m->p.negative;
    targets[n++] = target;
    for (int i = 0; i < k; i++) {
        int32_t t = next_noise(w, i);
        if (t != target) targets[n++] = t;
    }
    mark_out_dirty(w, targets, n);
    return n;
}

static inline void prefetch_row(const float *row, int D) {
    const char *p = (const char *)row;
    for (size_t b = 0; b < (size_t)D * sizeof(float); b += 64) __builtin_prefetch(p + b, 1, 3);
}

/* A CBOW block's targets: its m centre words in targets[0 .. m), then k noise words drawn into
 * targets[m .. m + k) (one equal to a centre word is skipped by the kernel for that centre);
 * marks their rows for a distributed round. */
static inline void draw_block(worker *w, const int32_t *words, int m, int32_t *targets) {
    int k = w->tr->m->p.negative;
    memcpy(targets, words, (size_t)m * sizeof *targets);
    for (int i = 0; i < k; i++) targets[m + i] = next_noise(w, i);
    mark_out_dirty(w, targets, m + k);
}

/* Negative sampling, batched, skip-gram (HogBatch): each centre word's whole window of context
 * rows against one shared set of noise words, as one block step. The noise words of the next
 * window are drawn one step ahead so that their rows (random, mostly not in cache) are fetched
 * while this window computes. len >= 2. */
static double train_sentence_sg_batch(worker *w, int len, float alpha, uint64_t *examples) {
    firth_w2v *m = w->tr->m;
    const int D = m->D, window = m->p.window;
    const int32_t *sent = w->sent;
    int32_t *cur = w->targets, *next = w->targets_next;
    start_noise(w);
    int ncur = draw_targets(w, sent[0], cur), nnext = 0;
    for (int t = 0; t < ncur; t++) prefetch_row(m->out + (size_t)cur[t] * D, D);
    double loss = 0.0;
    for (int i = 0; i < len; i++) {
        if (i + 1 < len) {
            nnext = draw_targets(w, sent[i + 1], next);
            for (int t = 0; t < nnext; t++) prefetch_row(m->out + (size_t)next[t] * D, D);
            if (i + 1 + window < len) prefetch_row(m->syn0 + (size_t)sent[i + 1 + window] * D, D);
        }
        int reach = window - (int)firth_rng_below(&w->rng, (uint32_t)window); /* 1..window */
        int lo = i - reach < 0 ? 0 : i - reach;
        int hi = i + reach >= len ? len - 1 : i + reach;
        int nin = 0;
        for (int c = lo; c <= hi; c++)
            if (c != i) w->in_rows[nin++] = m->syn0 + (size_t)sent[c] * D;
        loss += firth_ns_batch_step(&m->sig, w->in_rows, nin, m->out, cur, ncur, D, alpha,
                                    w->batch);
        *examples += (uint64_t)nin;
        int32_t *tmp = cur;
        cur = next, next = tmp;
        ncur = nnext;
    }
    return loss;
}

/* Negative sampling, batched, CBOW: blocks of cbow_block consecutive centre words, each predicted
 * from the mean of its own window against its own word and the block's shared noise words
 * (firth_ns_cbow_step; a block of one is word2vec.c's CBOW). The next block's noise words are
 * drawn, and their rows prefetched, one block ahead. len >= 2, so every centre has context. */
static double train_sentence_cbow_batch(worker *w, int len, float alpha, uint64_t *examples) {
    firth_w2v *m = w->tr->m;
    const int D = m->D, window = m->p.window, B = m->p.cbow_block, k = m->p.negative;
    const int32_t *sent = w->sent;
    int32_t *cur = w->targets, *next = w->targets_next;
    int mcur = len < B ? len : B, mnext = 0;
    start_noise(w);
    draw_block(w, sent, mcur, cur);
    for (int t = 0; t < mcur + k; t++) prefetch_row(m->out + (size_t)cur[t] * D, D);
    double loss = 0.0;
    for (int i0 = 0; i0 < len; i0 += B) {
        int i1 = i0 + mcur; /* this block: centres [i0, i1) */
        if (i1 < len) {
            mnext = len - i1 < B ? len - i1 : B;
            draw_block(w, sent + i1, mnext, next);
            for (int t = 0; t < mnext + k; t++) prefetch_row(m->out + (size_t)next[t] * D, D);
            for (int c = i1 + window; c < i1 + mnext + window && c < len; c++)
                prefetch_row(m->syn0 + (size_t)sent[c] * D, D);
        }
        int nin = 0;
        for (int i = i0; i < i1; i++) {
            int reach = window - (int)firth_rng_below(&w->rng, (uint32_t)window); /* 1..window */
            int lo = i - reach < 0 ? 0 : i - reach;
            int hi = i + reach >= len ? len - 1 : i + reach;
            int before = nin;
            for (int c = lo; c <= hi; c++)
                if (c != i) w->in_rows[nin++] = m->syn0 + (size_t)sent[c] * D;
            w->nctx[i - i0] = nin - before;
        }
        loss += firth_ns_cbow_step(&m->sig, w->in_rows, w->nctx, mcur, m->out, cur, k, D, alpha,
                                   w->batch);
        *examples += (uint64_t)mcur;
        int32_t *tmp = cur;
        cur = next, next = tmp;
        mcur = mnext;
    }
    return loss;
}

/* Trains on one sentence; returns the loss sum and adds the number of predictions. */
static double train_sentence(worker *w, int len, float alpha, uint64_t *examples) {
    firth_w2v *m = w->tr->m;
    if (m->p.loss == FIRTH_LOSS_NS && m->p.batch)
        return m->p.arch == FIRTH_ARCH_SG ? train_sentence_sg_batch(w, len, alpha, examples)
                                          : train_sentence_cbow_batch(w, len, alpha, examples);
    const int D = m->D, window = m->p.window;
    const int32_t *sent = w->sent;
    double loss = 0.0;
    for (int i = 0; i < len; i++) {
        int reach = window - (int)firth_rng_below(&w->rng, (uint32_t)window); /* 1..window */
        int lo = i - reach < 0 ? 0 : i - reach;
        int hi = i + reach >= len ? len - 1 : i + reach;
        if (m->p.arch == FIRTH_ARCH_SG) {
            /* each context word's input vector predicts the centre word (word2vec.c's order) */
            for (int c = lo; c <= hi; c++) {
                if (c == i) continue;
                float *h = m->syn0 + (size_t)sent[c] * D;
                firth_zero(w->dh, D);
                loss += predict(w, h, sent[i], alpha);
                firth_axpy(1.0f, w->dh, h, D);
                (*examples)++;
            }
        } else {
            int cw = 0;
            firth_zero(w->hbuf, D);
            for (int c = lo; c <= hi; c++) {
                if (c == i) continue;
                firth_axpy(1.0f, m->syn0 + (size_t)sent[c] * D, w->hbuf, D);
                cw++;
            }
            if (cw == 0) continue;
            float inv = 1.0f / (float)cw;
            firth_scale(inv, w->hbuf, D);
            firth_zero(w->dh, D);
            loss += predict(w, w->hbuf, sent[i], alpha);
            /* h is the mean of the context vectors. The exact gradient would give each of them
             * 1/cw of h's step; like word2vec.c, gensim (cbow_mean=1) and fastText, each receives
             * the whole step, which is what word2vec.c's CBOW default alpha 0.05 is tuned for. */
            for (int c = lo; c <= hi; c++)
                if (c != i) firth_axpy(1.0f, w->dh, m->syn0 + (size_t)sent[c] * D, D);
            (*examples)++;
        }
    }
    return loss;
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}
static void sleep_ms(int ms) { sleep_us((long)ms * 1000L); }

static void *worker_main(void *arg) {
    worker *w = arg;
    trainer *tr = w->tr;
    firth_w2v *m = tr->m;
    const int max_len = tr->text.max_sentence_words;
    int e = w->from ? w->from->epoch : 0;
    for (; e < m->p.epochs && !atomic_load(&tr->stop); e++) {
        uint64_t unsynced = 0, examples = 0, from = w->begin;
        double loss = 0.0;
        float alpha = current_alpha(tr, atomic_load(&tr->words_done));
        if (w->from && e == w->from->epoch) { /* resuming inside this epoch */
            from = w->from->offset;
            unsynced = w->from->unsynced;
            examples = w->from->run_examples;
            loss = w->from->run_loss;
            alpha = w->from->alpha;
        }
        /* the text is read (and recorded, when an epoch follows) or the record replayed */
        if (w2v_stream_start(&w->stream, from, e + 1 < m->p.epochs, &w->err) != FIRTH_OK) {
            w->status = w->err.status;
            atomic_store(&tr->stop, 1);
            break;
        }
        int kind = FIRTH_TOKEN_WORD;
        while (kind != FIRTH_TOKEN_END && !atomic_load_explicit(&tr->stop, memory_order_relaxed)) {
            int len = 0;
            while (len < max_len) {
                int32_t id = 0;
                kind = w2v_stream_next(&w->stream, &id, &w->err);
                if (kind < 0) {
                    w->status = (firth_status)kind;
                    atomic_store(&tr->stop, 1);
                    break;
                }
                if (kind != FIRTH_TOKEN_WORD) break;
                unsynced++;
                uint32_t keep = tr->keep[id];
                if (keep != UINT32_MAX && (uint32_t)firth_rng_next(&w->rng) >= keep) continue;
                w->sent[len++] = (int32_t)id;
            }
            if (kind < 0) break;
            if (len > 1) {
                if (tr->dirty) /* every word of the sentence is some word's context */
                    for (int i = 0; i < len; i++) tr->dirty[w->sent[i]] = 1;
                loss += train_sentence(w, len, alpha, &examples);
            }
            if (unsynced >= tr->publish_every) {
                uint64_t done = atomic_fetch_add(&tr->words_done, unsynced) + unsynced;
                unsynced = 0;
                /* distributed: this rank has read its share until the next round */
                if (tr->ranks > 1 && done >= atomic_load(&tr->next_sync))
                    atomic_store(&tr->pause, 1);
                alpha = current_alpha(tr, done);
                atomic_store_explicit(&w->run_loss, loss, memory_order_relaxed);
                atomic_store_explicit(&w->run_examples, examples, memory_order_relaxed);
            }
            /* between sentences: nothing of the last one is pending, so this is a point a
             * checkpoint can resume from exactly */
            if (kind != FIRTH_TOKEN_END &&
                atomic_load_explicit(&tr->pause, memory_order_relaxed)) {
                w->pos_epoch = e;
                if (w2v_stream_offset(&w->stream, &w->pos_offset, &w->err) != FIRTH_OK) {
                    w->status = w->err.status;
                    kind = w->status;
                    atomic_store(&tr->stop, 1);
                    break;
                }
                w->pos_unsynced = unsynced;
                w->pos_examples = examples;
                w->pos_loss = loss;
                w->pos_alpha = alpha;
                atomic_store_explicit(&w->parked, 1, memory_order_release);
                while (atomic_load_explicit(&tr->pause, memory_order_acquire))
                    sleep_us(tr->ranks > 1 ? 100 : 1000);
                atomic_store_explicit(&w->parked, 0, memory_order_release);
                if (tr->ranks > 1) /* after a round: the global count has moved */
                    alpha = current_alpha(tr, atomic_load(&tr->words_done));
            }
        }
        w2v_stream_finish(&w->stream, kind == FIRTH_TOKEN_END);
        atomic_fetch_add(&tr->words_done, unsynced);
        if (w->status != FIRTH_OK) break;
        w->loss[e] = loss;
        w->examples[e] = examples;
        w->finished_at[e] = seconds_since(&tr->t0);
        atomic_store_explicit(&w->run_loss, 0.0, memory_order_relaxed);
        atomic_store_explicit(&w->run_examples, 0, memory_order_relaxed);
        if (atomic_load(&tr->stop)) break; /* an interrupted epoch is not reported as finished */
        atomic_store_explicit(&w->epochs_done, e + 1, memory_order_release);
    }
    w->pos_epoch = e; /* == epochs after a full run */
    w->pos_offset = w->end;
    w->pos_unsynced = w->pos_examples = 0;
    w->pos_loss = 0.0;
    atomic_store_explicit(&w->exited, 1, memory_order_release);
    return NULL;
}

static void free_workers(worker *ws, int n) {
    if (!ws) return;
    for (int i = 0; i < n; i++) {
        w2v_stream_free(&ws[i].stream);
        firth_free_aligned(ws[i].sent);
        firth_free_aligned(ws[i].targets);
        firth_free_aligned(ws[i].targets_next);
        firth_free_aligned(ws[i].noise_r);
        firth_free_aligned(ws[i].dh);
        firth_free_aligned(ws[i].hbuf);
        free(ws[i].scores);
        firth_free_aligned(ws[i].in_rows);
        firth_free_aligned(ws[i].nctx);
        firth_free_aligned(ws[i].batch);
        free(ws[i].loss);
        free(ws[i].examples);
        free(ws[i].finished_at);
    }
    firth_free_aligned(ws);
}

static void fill_progress(const trainer *tr, const worker *ws, int n, firth_progress *pg) {
    const firth_w2v *m = tr->m;
    memset(pg, 0, sizeof *pg);
    uint64_t local = atomic_load(&tr->words_done);
    pg->words_done = global_words(tr, local); /* == local with one rank */
    pg->words_total = tr->words_total;
    pg->fraction = tr->words_total ? (double)pg->words_done / (double)tr->words_total : 1.0;
    if (pg->fraction > 1.0) pg->fraction = 1.0;
    pg->elapsed_s = seconds_since(&tr->t0);
    pg->words_per_s = pg->elapsed_s > 0 ? (double)pg->words_done / pg->elapsed_s : 0.0;
    pg->words_per_s_thread = pg->words_per_s / n / tr->ranks;
    pg->eta_s = pg->words_per_s > 0 && pg->fraction > 0.001
                    ? (double)(tr->words_total - (pg->words_done < tr->words_total
                                                      ? pg->words_done
                                                      : tr->words_total)) /
                          pg->words_per_s
                    : -1.0;
    pg->alpha = current_alpha(tr, local);
    double l = 0.0;
    uint64_t ex = 0;
    int min_epoch = m->p.epochs;
    for (int i = 0; i < n; i++) {
        l += atomic_load_explicit(&ws[i].run_loss, memory_order_relaxed);
        ex += atomic_load_explicit(&ws[i].run_examples, memory_order_relaxed);
        int d = atomic_load_explicit(&ws[i].epochs_done, memory_order_acquire);
        if (d < min_epoch) min_epoch = d;
    }
    pg->loss = ex ? l / (double)ex : NAN;
    pg->epoch = min_epoch < m->p.epochs ? min_epoch + 1 : m->p.epochs;
    pg->epochs = m->p.epochs;
    pg->threads = n * tr->ranks;
}

/* Parks every worker at a sentence boundary, writes the model and where each worker stands to
 * ck->path, and lets them go on. Workers that have finished all epochs count as parked. */
static firth_status write_checkpoint(trainer *tr, worker *ws, int n, int reported,
                                     const firth_w2v_checkpoints *ck, uint64_t fingerprint,
                                     firth_error *err) {
    firth_w2v *m = tr->m;
    atomic_store(&tr->pause, 1);
    for (;;) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= atomic_load_explicit(&ws[i].parked, memory_order_acquire) ||
                   atomic_load_explicit(&ws[i].exited, memory_order_acquire);
        if (all) break;
        sleep_ms(1);
    }
    firth_status st = FIRTH_OK;
    firth_w2v_resume *s = w2v_resume_new(n, m->p.epochs);
    if (!s) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory writing a checkpoint");
        goto out;
    }
    s->reported = reported;
    s->text = tr->text;
    s->corpus_size = firth_corpus_size(tr->corpus);
    s->corpus_fingerprint = fingerprint;
    s->words_done = atomic_load(&tr->words_done);
    s->words_total = tr->words_total;
    s->elapsed_s = seconds_since(&tr->t0);
    memcpy(s->epoch_loss, m->epoch_loss, (size_t)reported * sizeof *s->epoch_loss);
    for (int i = 0; i < n; i++) {
        const worker *w = &ws[i];
        w2v_worker_state *o = &s->w[i];
        o->begin = w->begin;
        o->end = w->end;
        o->offset = w->pos_offset;
        o->rng = w->rng.state;
        o->unsynced = w->pos_unsynced;
        o->run_examples = w->pos_examples;
        o->run_loss = w->pos_loss;
        o->alpha = w->pos_alpha;
        o->epoch = w->pos_epoch;
        o->epochs_done = atomic_load(&w->epochs_done);
        memcpy(o->loss, w->loss, (size_t)o->epochs_done * sizeof *o->loss);
        memcpy(o->examples, w->examples, (size_t)o->epochs_done * sizeof *o->examples);
        memcpy(o->finished_at, w->finished_at, (size_t)o->epochs_done * sizeof *o->finished_at);
    }
    /* A diverged run is not saved: its checkpoint could never be loaded (the loader refuses
     * non-finite weights), and the older checkpoint at the path stays (found by
     * tests/fuzz/fuzz_w2v_ckpt.c). */
    size_t nin = firth_vocab_size(m->vocab) * (size_t)m->p.dim, nout = m->out_rows * (size_t)m->p.dim;
    int finite = 1;
    for (size_t i = 0; i < nin && finite; i++) finite = isfinite(m->syn0[i]);
    for (size_t i = 0; i < nout && finite; i++) finite = isfinite(m->out[i]);
    if (!finite) {
        st = firth_fail(err, FIRTH_ERR_DIVERGED,
                        "training diverged (the weights are no longer finite); no checkpoint "
                        "written, try a smaller --alpha");
        goto out;
    }
    st = w2v_checkpoint_write(m, s, ck->path, err);
out:
    firth_w2v_resume_free(s);
    atomic_store(&tr->pause, 0);
    return st;
}

/* Distributed training's side of one run: the group, its parameters, the model's
 * synchronisation state and the global per-epoch sums (only with more than one rank). */
typedef struct dist_run {
    const firth_dist *dist;
    firth_w2v_dist_params dp;
    firth_w2v_dist_stats *stats;
    w2v_sync sync;
    uint64_t *hdr; /* (4 + E) all ranks' words, running workers, examples now, examples per epoch */
    double *lhdr;  /* (1 + E) loss now, loss per epoch */
    double wait_s, reduce_s;
} dist_run;

/* One synchronisation round, collective; every worker of this rank is parked or has exited.
 * First the ranks agree on a status (so an error or a cancel on one rank stops all of them at
 * once, with its message), then they sum their counters and per-epoch sums, then the model.
 * *running gets the number of workers still running on all ranks. */
static firth_status sync_round(trainer *tr, worker *ws, int n, dist_run *dr, firth_status st,
                               uint64_t *running, uint64_t *min_epochs, firth_error *err) {
    const int E = tr->m->p.epochs;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n && st == FIRTH_OK; i++) /* a worker's error (invalid UTF-8, I/O) */
        if (atomic_load_explicit(&ws[i].exited, memory_order_acquire) &&
            ws[i].status != FIRTH_OK) {
            st = ws[i].status;
            if (err) *err = ws[i].err;
        }
    st = firth_dist_agree(dr->dist, st, err);
    if (st != FIRTH_OK) return st;
    uint64_t *h = dr->hdr;
    double *l = dr->lhdr;
    memset(h, 0, (4 + (size_t)E) * sizeof *h);
    memset(l, 0, (1 + (size_t)E) * sizeof *l);
    uint64_t local = atomic_load(&tr->words_done), mine = (uint64_t)E;
    h[0] = local;
    for (int i = 0; i < n; i++) {
        const worker *w = &ws[i];
        int done = atomic_load_explicit(&w->epochs_done, memory_order_acquire);
        if ((uint64_t)done < mine) mine = (uint64_t)done;
        h[1] += !atomic_load_explicit(&w->exited, memory_order_acquire);
        h[2] += atomic_load_explicit(&w->run_examples, memory_order_relaxed);
        l[0] += atomic_load_explicit(&w->run_loss, memory_order_relaxed);
        for (int e = 0; e < done; e++) h[4 + e] += w->examples[e], l[1 + e] += w->loss[e];
    }
    h[3] = mine;
    *min_epochs = mine;
    if ((st = dist_allreduce_u64(dr->dist, h, 3, DIST_SUM, err)) != FIRTH_OK ||
        (st = dist_allreduce_u64(dr->dist, &h[3], 1, DIST_MIN, err)) != FIRTH_OK ||
        (st = dist_allreduce_u64(dr->dist, &h[4], (size_t)E, DIST_SUM, err)) != FIRTH_OK ||
        (st = dist_allreduce_f64(dr->dist, l, 1 + (size_t)E, DIST_SUM, err)) != FIRTH_OK)
        return st;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if ((st = w2v_sync_model(&dr->sync, tr->m, err)) != FIRTH_OK) return st;
    struct timespec t2;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    dr->wait_s += seconds_between(&t0, &t1);
    dr->reduce_s += seconds_between(&t1, &t2);
    atomic_store(&tr->global_base, h[0]);
    atomic_store(&tr->local_base, local);
    atomic_store(&tr->next_sync, local + dr->dp.sync_every);
    *running = h[1];
    *min_epochs = h[3];
    return FIRTH_OK;
}

/* The collective checks and set-up before the workers start. */
static firth_status dist_start(trainer *tr, dist_run *dr, firth_error *err) {
    firth_w2v *m = tr->m;
    const firth_w2v_params *p = &m->p;
    /* the same model everywhere: vocabulary, settings, corpus */
    uint64_t ph = DIST_HASH_INIT;
    ph = dist_hash(ph, &p->arch, sizeof p->arch);
    ph = dist_hash(ph, &p->loss, sizeof p->loss);
    ph = dist_hash(ph, &p->dim, sizeof p->dim);
    ph = dist_hash(ph, &p->window, sizeof p->window);
    ph = dist_hash(ph, &p->negative, sizeof p->negative);
    ph = dist_hash(ph, &p->epochs, sizeof p->epochs);
    ph = dist_hash(ph, &p->alpha, sizeof p->alpha);
    ph = dist_hash(ph, &p->min_alpha_frac, sizeof p->min_alpha_frac);
    ph = dist_hash(ph, &p->sample, sizeof p->sample);
    ph = dist_hash(ph, &p->ns_exponent, sizeof p->ns_exponent);
    ph = dist_hash(ph, &p->threads, sizeof p->threads);
    ph = dist_hash(ph, &p->seed, sizeof p->seed);
    ph = dist_hash(ph, &p->batch, sizeof p->batch);
    ph = dist_hash(ph, &p->cbow_block, sizeof p->cbow_block);
    ph = dist_hash(ph, &dr->dp, sizeof dr->dp.sync_every + sizeof dr->dp.reduce);
    const firth_text_params *t = &tr->text;
    uint64_t th = DIST_HASH_INIT;
    th = dist_hash(th, &t->lowercase, sizeof t->lowercase);
    th = dist_hash(th, &t->strip_punct, sizeof t->strip_punct);
    th = dist_hash(th, &t->utf8, sizeof t->utf8);
    th = dist_hash(th, &t->max_token_bytes, sizeof t->max_token_bytes);
    th = dist_hash(th, &t->max_sentence_words, sizeof t->max_sentence_words);
    uint64_t fp = 0;
    firth_status st = firth_corpus_fingerprint(tr->corpus, &fp, err);
    if ((st = firth_dist_agree(dr->dist, st, err)) != FIRTH_OK) return st;
    if ((st = dist_check_same(dr->dist, ph, "the training parameters", err)) != FIRTH_OK ||
        (st = dist_check_same(dr->dist, th, "the tokenizer settings", err)) != FIRTH_OK ||
        (st = firth_vocab_check_dist(m->vocab, dr->dist, NULL, err)) != FIRTH_OK ||
        (st = dist_check_same(dr->dist, firth_corpus_size(tr->corpus), "the corpus size",
                              err)) != FIRTH_OK ||
        (st = dist_check_same(dr->dist, fp, "the corpus (its fingerprint)", err)) != FIRTH_OK)
        return st;
    /* rank 0's weights everywhere, and the rows' change map */
    if ((st = w2v_sync_init(&dr->sync, m, dr->dist, &dr->dp, err)) != FIRTH_OK) return st;
    tr->dirty = dr->sync.dirty;
    atomic_store(&tr->next_sync, dr->dp.sync_every);
    /* words_done is published often enough to notice the round's threshold on time */
    uint64_t every = dr->dp.sync_every / (4 * (uint64_t)p->threads);
    tr->publish_every = every < 100 ? 100 : every < SYNC_WORDS ? every : SYNC_WORDS;
    return FIRTH_OK;
}

/* The training of firth_w2v_train_resumable and firth_w2v_train_dist (dr: NULL, or more than
 * one rank). Every failure before the workers start is agreed on by the ranks, so that none
 * waits for the others in a collective call they never make. */
/* Records the mean loss of the next finished epoch and reports it (progress's epoch call); a
 * non-finite mean stops the training with FIRTH_ERR_DIVERGED, reported once. */
static firth_status finish_epoch(trainer *tr, int *reported, double mean, double seconds,
                                 const firth_progress *pg, firth_progress_fn progress, void *user,
                                 int *cancel, firth_error *err) {
    firth_w2v *m = tr->m;
    m->epoch_loss[*reported] = mean;
    m->n_epoch_loss = ++*reported;
    if (!isfinite(mean)) {
        atomic_store(&tr->stop, 1);
        return firth_fail(err, FIRTH_ERR_DIVERGED,
                          "training diverged: the loss of epoch %d is %g; try a smaller --alpha",
                          *reported, mean);
    }
    if (progress) {
        firth_progress ep = *pg;
        ep.epoch_finished = *reported;
        ep.epoch_loss = mean;
        ep.epoch_seconds = seconds;
        if (progress(&ep, user)) *cancel = 1;
    }
    return FIRTH_OK;
}

static firth_status train(firth_w2v *m, const firth_corpus *corpus, const firth_text_params *text,
                          const firth_w2v_checkpoints *ck, dist_run *dr,
                          firth_progress_fn progress, void *user, firth_error *err) {
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.m = m;
    tr.corpus = corpus;
    tr.ranks = dr ? firth_dist_size(dr->dist) : 1;
    tr.rank = dr ? firth_dist_rank(dr->dist) : 0;
    tr.publish_every = SYNC_WORDS;
    const int n = m->p.threads, E = m->p.epochs;
    worker *ws = NULL;
    pthread_t *tids = NULL;
    const firth_w2v_resume *rs = ck ? ck->resume : NULL;
    const char *ck_path = ck && ck->path ? ck->path : NULL;
    uint64_t fingerprint = 0;
    int reported = 0; /* epochs reported through the callback */
    firth_status st = firth_w2v_check_params(&m->p, err);
    if (st != FIRTH_OK) goto setup_failed;
    if (ck && !(ck->every_s >= 0.0)) {
        st = firth_fail(err, FIRTH_ERR_PARAM, "the checkpoint interval must be >= 0 seconds");
        goto setup_failed;
    }
    if ((ck_path || rs) && (st = firth_corpus_fingerprint(corpus, &fingerprint, err)) != FIRTH_OK)
        goto setup_failed;
    if (rs) {
        if (rs->threads != m->p.threads || rs->epochs != m->p.epochs) {
            st = firth_fail(err, FIRTH_ERR_PARAM,
                            "the model and the training state do not belong together");
            goto setup_failed;
        }
        if (rs->corpus_size != firth_corpus_size(corpus) || rs->corpus_fingerprint != fingerprint) {
            st = firth_fail(err, FIRTH_ERR_INPUT,
                            "the corpus differs from the one the checkpoint was made on "
                            "(%llu bytes then, %llu now); give the same --input files in "
                            "the same order",
                            (unsigned long long)rs->corpus_size,
                            (unsigned long long)firth_corpus_size(corpus));
            goto setup_failed;
        }
        text = &rs->text;
    }
    tr.text = text ? *text : firth_text_default_params();
    if (tr.text.max_sentence_words < 1 || tr.text.max_sentence_words > 10000000) {
        st = firth_fail(err, FIRTH_ERR_PARAM, "max sentence length must be 1..10000000 words");
        goto setup_failed;
    }
    m->text = tr.text;
    uint64_t per_epoch = firth_vocab_train_words(m->vocab);
    if (per_epoch == 0) per_epoch = 1; /* a vocabulary file with zero counts: unknown length */
    tr.words_total = per_epoch * (uint64_t)m->p.epochs;
    if (rs && rs->words_total != tr.words_total) {
        st = firth_fail(err, FIRTH_ERR_INPUT,
                        "the checkpoint's word count does not match its vocabulary");
        goto setup_failed;
    }
    tr.keep = firth_vocab_keep_table(m->vocab, m->p.sample);
    if (!tr.keep) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory (subsampling table)");
        goto setup_failed;
    }
    if (m->p.loss == FIRTH_LOSS_NS &&
        (st = firth_vocab_noise(m->vocab, m->p.ns_exponent, &tr.noise, err)) != FIRTH_OK)
        goto setup_failed;
    ws = firth_alloc_aligned((size_t)n * sizeof *ws);
    if (ws) memset(ws, 0, (size_t)n * sizeof *ws);
    free(m->epoch_loss);
    m->epoch_loss = calloc((size_t)E, sizeof *m->epoch_loss);
    m->n_epoch_loss = 0;
    if (dr) {
        dr->hdr = calloc(4 + (size_t)E, sizeof *dr->hdr);
        dr->lhdr = calloc(1 + (size_t)E, sizeof *dr->lhdr);
    }
    if (!ws || !m->epoch_loss || (dr && (!dr->hdr || !dr->lhdr))) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory starting training");
        goto setup_failed;
    }
    uint64_t parts = (uint64_t)tr.ranks * (uint64_t)n;
    for (int i = 0; i < n; i++) {
        worker *w = &ws[i];
        w->tr = &tr;
        w->id = i;
        /* worker i of rank r reads part r * threads + i (with one rank: part i of n) */
        uint64_t part = (uint64_t)tr.rank * (uint64_t)n + (uint64_t)i;
        firth_corpus_part(corpus, part, parts, &w->begin, &w->end);
        firth_rng_seed(&w->rng, m->p.seed + part);
        if (rs) {
            w->from = &rs->w[i];
            w->begin = w->from->begin;
            w->end = w->from->end;
            w->rng.state = w->from->rng;
        }
        w2v_stream_init(&w->stream, corpus, &tr.text, m->vocab, w->begin, w->end,
                        (size_t)m->p.cache_mb * ((size_t)1 << 20) / (size_t)n);
        w->sent = firth_alloc_aligned((size_t)tr.text.max_sentence_words * sizeof *w->sent);
        const int cb = m->p.cbow_block;
        size_t nt = (size_t)m->p.negative + (size_t)cb, win = 2 * (size_t)m->p.window;
        w->targets = firth_alloc_aligned(nt * sizeof *w->targets);
        w->dh = firth_alloc_aligned((size_t)m->D * sizeof(float));
        w->hbuf = firth_alloc_aligned((size_t)m->D * sizeof(float));
        w->scores = m->p.loss == FIRTH_LOSS_SOFTMAX ? malloc(m->V * sizeof(float)) : NULL;
        w->in_rows = firth_alloc_aligned(win * (size_t)cb * sizeof *w->in_rows);
        w->nctx = firth_alloc_aligned((size_t)cb * sizeof *w->nctx);
        w->targets_next = firth_alloc_aligned(nt * sizeof *w->targets_next);
        w->noise_r = firth_alloc_aligned(((size_t)m->p.negative + 1) * sizeof *w->noise_r);
        size_t sg_scratch = firth_ns_batch_scratch((int)win, m->p.negative + 1, m->D);
        size_t cb_scratch = firth_ns_cbow_scratch(cb, m->p.negative, m->D);
        w->batch = firth_alloc_aligned((sg_scratch > cb_scratch ? sg_scratch : cb_scratch) *
                                       sizeof(float));
        w->loss = calloc((size_t)E, sizeof *w->loss);
        w->examples = calloc((size_t)E, sizeof *w->examples);
        w->finished_at = calloc((size_t)E, sizeof *w->finished_at);
        if (!w->sent || !w->targets || !w->dh || !w->hbuf || !w->loss || !w->examples ||
            !w->in_rows || !w->nctx || !w->batch || !w->targets_next || !w->noise_r ||
            !w->finished_at || (m->p.loss == FIRTH_LOSS_SOFTMAX && !w->scores)) {
            st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory starting training");
            goto setup_failed;
        }
        if (rs) {
            size_t k = (size_t)w->from->epochs_done;
            memcpy(w->loss, w->from->loss, k * sizeof *w->loss);
            memcpy(w->examples, w->from->examples, k * sizeof *w->examples);
            memcpy(w->finished_at, w->from->finished_at, k * sizeof *w->finished_at);
            atomic_store(&w->epochs_done, w->from->epochs_done);
        }
    }
    if (rs) {
        atomic_store(&tr.words_done, rs->words_done);
        reported = rs->reported;
        memcpy(m->epoch_loss, rs->epoch_loss, (size_t)reported * sizeof *m->epoch_loss);
        m->n_epoch_loss = reported;
    }
    tids = malloc((size_t)n * sizeof *tids);
    if (!tids) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory starting threads");
        goto setup_failed;
    }
setup_failed:
    if (dr) {
        st = firth_dist_agree(dr->dist, st, err);
        if (st == FIRTH_OK) st = dist_start(&tr, dr, err);
    }
    if (st != FIRTH_OK) goto done;
    clock_gettime(CLOCK_MONOTONIC, &tr.t0);
    if (rs) { /* the clock goes on from the checkpoint's elapsed time (ETA, epoch times) */
        double back = rs->elapsed_s;
        tr.t0.tv_sec -= (time_t)back;
        tr.t0.tv_nsec -= (long)((back - (double)(time_t)back) * 1e9);
        if (tr.t0.tv_nsec < 0) tr.t0.tv_nsec += 1000000000L, tr.t0.tv_sec--;
    }
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&tids[started], NULL, worker_main, &ws[started]) != 0) break;
    if (started < n) {
        atomic_store(&tr.stop, 1);
        st = firth_fail(err, FIRTH_ERR_INTERNAL, "cannot start thread %d", started + 1);
    }

    /* the monitor */
    double last_report = 0.0, last_checkpoint = seconds_since(&tr.t0);
    int cancel = 0; /* the callback asked to stop */
    for (;;) {
        int all_exited = 1, all_parked = 1;
        for (int i = 0; i < started; i++) {
            int gone = atomic_load_explicit(&ws[i].exited, memory_order_acquire);
            all_exited &= gone;
            all_parked &= gone || atomic_load_explicit(&ws[i].parked, memory_order_acquire);
        }
        firth_progress pg;
        fill_progress(&tr, ws, n, &pg);
        if (dr && (all_exited || (all_parked && atomic_load(&tr.pause)))) {
            /* a round: every rank gets here, by its words or because all its workers ended */
            uint64_t running = 0, min_epochs = 0;
            firth_status rst = sync_round(&tr, ws, started, dr, st, &running, &min_epochs, err);
            if (rst != FIRTH_OK) {
                st = rst;
                atomic_store(&tr.stop, 1);
            }
            fill_progress(&tr, ws, n, &pg);
            /* epochs every rank has finished, with the sums over all ranks */
            while (st == FIRTH_OK && reported < (int)min_epochs) {
                uint64_t ex = dr->hdr[4 + reported];
                double mean = ex ? dr->lhdr[1 + reported] / (double)ex : 0.0;
                /* a non-finite mean is the same on every rank: all stop at the next round */
                st = finish_epoch(&tr, &reported, mean, pg.elapsed_s, &pg, progress, user,
                                  &cancel, err);
            }
            if (rst != FIRTH_OK || running == 0) {
                atomic_store(&tr.pause, 0);
                break; /* every rank ends here, in the same round */
            }
            atomic_store(&tr.pause, 0);
        }
        /* finished epochs, in order (with several ranks: at the rounds, above) */
        int min_done = E;
        for (int i = 0; i < n && !dr; i++) {
            int d = atomic_load_explicit(&ws[i].epochs_done, memory_order_acquire);
            if (d < min_done) min_done = d;
        }
        while (!dr && reported < min_done && st == FIRTH_OK && !cancel) {
            double l = 0.0, t = 0.0;
            uint64_t ex = 0;
            for (int i = 0; i < n; i++) {
                l += ws[i].loss[reported];
                ex += ws[i].examples[reported];
                if (ws[i].finished_at[reported] > t) t = ws[i].finished_at[reported];
            }
            double mean = ex ? l / (double)ex : 0.0;
            st = finish_epoch(&tr, &reported, mean, t, &pg, progress, user, &cancel, err);
        }
        if (st == FIRTH_OK && pg.loss == pg.loss && !isfinite(pg.loss)) {
            st = firth_fail(err, FIRTH_ERR_DIVERGED,
                            "training diverged: the loss became %g in epoch %d; try a smaller "
                            "--alpha",
                            pg.loss, pg.epoch);
            atomic_store(&tr.stop, 1);
        }
        if (st == FIRTH_OK && !all_exited && progress &&
            pg.elapsed_s - last_report >= m->p.report_every_ms * 1e-3) {
            last_report = pg.elapsed_s;
            if (progress(&pg, user)) cancel = 1;
        }
        /* A cancel can come from an epoch report after every worker has exited: the state is
         * then complete (each worker at the end of its range), and is still saved. Not after a
         * worker failed (tr.stop): the others stopped inside their epochs, no point to resume
         * from. */
        if (st == FIRTH_OK && ck_path && !atomic_load(&tr.stop) &&
            (cancel || (ck->every_s > 0 && pg.elapsed_s - last_checkpoint >= ck->every_s))) {
            st = write_checkpoint(&tr, ws, started, reported, ck, fingerprint, err);
            last_checkpoint = seconds_since(&tr.t0);
            if (st != FIRTH_OK) atomic_store(&tr.stop, 1);
        }
        if (st == FIRTH_OK && cancel) {
            st = firth_fail(err, FIRTH_ERR_CANCELLED, "training cancelled");
            atomic_store(&tr.stop, 1);
        }
        /* with several ranks the loop ends only at a round, which every rank reaches */
        if (all_exited && !dr) break;
        sleep_ms(dr ? 1 : m->p.report_every_ms < 20 ? m->p.report_every_ms : 20);
    }
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    /* a worker's failure comes before a cancel that met it (no checkpoint was written then) */
    for (int i = 0; i < n && (st == FIRTH_OK || st == FIRTH_ERR_CANCELLED); i++)
        if (ws[i].status != FIRTH_OK) {
            st = ws[i].status;
            if (err) *err = ws[i].err;
        }
    if (st == FIRTH_OK && reported < E)
        st = firth_fail(err, FIRTH_ERR_INTERNAL, "training stopped after %d of %d epochs",
                        reported, E);
    if (dr && dr->stats) {
        firth_w2v_dist_stats *o = dr->stats;
        o->ranks = tr.ranks;
        o->rounds = dr->sync.rounds;
        o->sparse_rounds = dr->sync.sparse_rounds;
        o->rows_sent = dr->sync.rounds ? dr->sync.rows_sent / (double)dr->sync.rounds : 0.0;
        o->bytes_per_round = dr->sync.rounds ? dr->sync.bytes_sent / (double)dr->sync.rounds : 0.0;
        o->wait_s = dr->wait_s;
        o->reduce_s = dr->reduce_s;
        o->allreduce_s = dr->sync.comm_s;
        o->train_s = seconds_since(&tr.t0);
    }
    if (dr && st == FIRTH_OK) { /* every rank holds the same weights? */
        uint64_t hash = w2v_model_hash(m), lo = hash, hi = hash;
        if ((st = dist_allreduce_u64(dr->dist, &lo, 1, DIST_MIN, err)) == FIRTH_OK &&
            (st = dist_allreduce_u64(dr->dist, &hi, 1, DIST_MAX, err)) == FIRTH_OK &&
            dr->stats) {
            dr->stats->model_hash = hash;
            dr->stats->identical = lo == hi;
        }
    }
    if (st == FIRTH_OK && progress) {
        firth_progress pg;
        fill_progress(&tr, ws, n, &pg);
        pg.fraction = 1.0;
        pg.eta_s = 0.0;
        pg.loss = m->epoch_loss[E - 1];
        progress(&pg, user);
    }
done:
    free(tids);
    free_workers(ws, n);
    free(tr.keep);
    firth_alias_free(&tr.noise);
    if (dr) {
        w2v_sync_free(&dr->sync);
        free(dr->hdr);
        free(dr->lhdr);
    }
    return st;
}

firth_status firth_w2v_train(firth_w2v *m, const firth_corpus *corpus,
                             const firth_text_params *text, firth_progress_fn progress,
                             void *user, firth_error *err) {
    return train(m, corpus, text, NULL, NULL, progress, user, err);
}

firth_status firth_w2v_train_resumable(firth_w2v *m, const firth_corpus *corpus,
                                       const firth_text_params *text,
                                       const firth_w2v_checkpoints *ck,
                                       firth_progress_fn progress, void *user,
                                       firth_error *err) {
    return train(m, corpus, text, ck, NULL, progress, user, err);
}

firth_status firth_w2v_train_dist(firth_w2v *m, const firth_corpus *corpus,
                                  const firth_text_params *text, const firth_dist *dist,
                                  const firth_w2v_dist_params *dp, firth_progress_fn progress,
                                  void *user, firth_w2v_dist_stats *stats, firth_error *err) {
    dist_run dr;
    memset(&dr, 0, sizeof dr);
    dr.dist = dist;
    dr.dp = dp ? *dp : firth_w2v_dist_default_params();
    dr.stats = stats;
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->ranks = firth_dist_size(dist);
        stats->identical = 1;
    }
    firth_status st = FIRTH_OK;
    if (dr.dp.sync_every < 1)
        st = firth_fail(err, FIRTH_ERR_PARAM, "the synchronisation interval must be >= 1 word");
    else if (dr.dp.reduce != FIRTH_DIST_SUM_DELTAS && dr.dp.reduce != FIRTH_DIST_AVERAGE &&
             dr.dp.reduce != FIRTH_DIST_ROW_MEAN)
        st = firth_fail(err, FIRTH_ERR_PARAM, "unknown reduction %d", (int)dr.dp.reduce);
    else if (!(dr.dp.sparse_below >= 0.0 && dr.dp.sparse_below <= 1.0))
        st = firth_fail(err, FIRTH_ERR_PARAM, "sparse_below must be in [0, 1]");
    if (firth_dist_size(dist) <= 1) {
        if (st != FIRTH_OK) return st;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        st = train(m, corpus, text, NULL, NULL, progress, user, err);
        if (stats) {
            stats->train_s = seconds_since(&t0);
            stats->model_hash = w2v_model_hash(m);
        }
        return st;
    }
    if ((st = firth_dist_agree(dist, st, err)) != FIRTH_OK) return st;
    return train(m, corpus, text, NULL, &dr, progress, user, err);
}
