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
#include "embed/loss.h"
#include "embed/w2v_ckpt.h"
#include "embed/w2v_model.h"
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
    int32_t *targets;    /* (negative + 1) */
    int32_t *targets_next; /* (negative + 1) the next window's, batched skip-gram */
    float *dh;           /* (D) step for the input vector */
    float *hbuf;         /* (D) CBOW mean of the context */
    float *scores;       /* (V) softmax scratch */
    float **in_rows;     /* (2 window) the window's input rows, batched skip-gram */
    float *batch;        /* (firth_ns_batch_scratch) batched skip-gram scratch */
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
    atomic_uint_fast64_t words_done;
    atomic_int stop;
    atomic_int pause; /* workers park at their next sentence boundary while it is set */
    struct timespec t0;
};

static double seconds_since(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) * 1e-9;
}

static float current_alpha(const trainer *tr, uint64_t done) {
    const firth_w2v_params *p = &tr->m->p;
    double frac = 1.0 - (double)done / ((double)tr->words_total + 1.0);
    if (frac < p->min_alpha_frac) frac = p->min_alpha_frac;
    return (float)(p->alpha * frac);
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
        return firth_ns_step(&m->sig, h, m->out, w->targets, n, D, alpha, w->dh);
    }
    case FIRTH_LOSS_HS: {
        uint64_t a = m->huff.offsets[target], b = m->huff.offsets[target + 1];
        return firth_hs_step(&m->sig, h, m->out, m->huff.points + a, m->huff.codes + a,
                             (int)(b - a), D, alpha, w->dh);
    }
    default:
        return firth_softmax_step(h, m->out, (int)m->V, target, D, alpha, w->dh, w->scores);
    }
}

/* Fills targets with `target` and the noise words drawn for it (a draw equal to the target is
 * skipped, as word2vec.c); returns how many. */
static inline int draw_targets(worker *w, int32_t target, int32_t *targets) {
    int n = 0, k = w->tr->m->p.negative;
    targets[n++] = target;
    for (int i = 0; i < k; i++) {
        int32_t t = (int32_t)firth_alias_draw(&w->tr->noise, firth_rng_next(&w->rng));
        if (t != target) targets[n++] = t;
    }
    return n;
}

static inline void prefetch_row(const float *row, int D) {
    const char *p = (const char *)row;
    for (size_t b = 0; b < (size_t)D * sizeof(float); b += 64) __builtin_prefetch(p + b, 1, 3);
}

/* Negative sampling, batched. Skip-gram (HogBatch): each centre word's whole window of context
 * rows against one shared set of noise words, as one block step. CBOW: the mean of the window
 * against the centre word and its noise words through the same kernel (one input row), its step
 * then added to every context row, as word2vec.c does. The noise words of the next window are
 * drawn one step ahead so that their rows (random, mostly not in cache) are fetched while this
 * window computes. len >= 2. */
static double train_sentence_ns_batch(worker *w, int len, float alpha, uint64_t *examples) {
    firth_w2v *m = w->tr->m;
    const int D = m->D, window = m->p.window, sg = m->p.arch == FIRTH_ARCH_SG;
    const int32_t *sent = w->sent;
    int32_t *cur = w->targets, *next = w->targets_next;
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
        if (sg) {
            loss += firth_ns_batch_step(&m->sig, w->in_rows, nin, m->out, cur, ncur, D, alpha,
                                        w->batch);
            *examples += (uint64_t)nin;
        } else {
            float *h = w->hbuf, *h0 = w->dh;
            firth_zero(h, D);
            for (int j = 0; j < nin; j++) firth_axpy(1.0f, w->in_rows[j], h, D);
            firth_scale(1.0f / (float)nin, h, D);
            memcpy(h0, h, (size_t)D * sizeof *h);
            loss += firth_ns_batch_step(&m->sig, &h, 1, m->out, cur, ncur, D, alpha, w->batch);
            for (int d = 0; d < D; d++) h[d] -= h0[d]; /* h's step */
            for (int j = 0; j < nin; j++) firth_axpy(1.0f, h, w->in_rows[j], D);
            (*examples)++;
        }
        int32_t *tmp = cur;
        cur = next, next = tmp;
        ncur = nnext;
    }
    return loss;
}

/* Trains on one sentence; returns the loss sum and adds the number of predictions. */
static double train_sentence(worker *w, int len, float alpha, uint64_t *examples) {
    firth_w2v *m = w->tr->m;
    if (m->p.loss == FIRTH_LOSS_NS && m->p.batch)
        return train_sentence_ns_batch(w, len, alpha, examples);
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

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

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
        firth_tokenizer *tok = firth_tokenizer_new(tr->corpus, from, w->end, &tr->text, &w->err);
        if (!tok) {
            w->status = w->err.status;
            break;
        }
        int kind = FIRTH_TOKEN_WORD;
        while (kind != FIRTH_TOKEN_END && !atomic_load_explicit(&tr->stop, memory_order_relaxed)) {
            int len = 0;
            while (len < max_len) {
                const char *word;
                size_t wl;
                kind = firth_tokenizer_next(tok, &word, &wl, &w->err);
                if (kind < 0) {
                    w->status = (firth_status)kind;
                    atomic_store(&tr->stop, 1);
                    break;
                }
                if (kind != FIRTH_TOKEN_WORD) break;
                int64_t id = firth_vocab_find(m->vocab, word, wl);
                if (id <= 0) continue; /* unknown word (or a literal "</s>") */
                unsynced++;
                uint32_t keep = tr->keep[id];
                if (keep != UINT32_MAX && (uint32_t)firth_rng_next(&w->rng) >= keep) continue;
                w->sent[len++] = (int32_t)id;
            }
            if (kind < 0) break;
            if (len > 1) loss += train_sentence(w, len, alpha, &examples);
            if (unsynced >= SYNC_WORDS) {
                uint64_t done = atomic_fetch_add(&tr->words_done, unsynced) + unsynced;
                unsynced = 0;
                alpha = current_alpha(tr, done);
                atomic_store_explicit(&w->run_loss, loss, memory_order_relaxed);
                atomic_store_explicit(&w->run_examples, examples, memory_order_relaxed);
            }
            /* between sentences: nothing of the last one is pending, so this is a point a
             * checkpoint can resume from exactly */
            if (kind != FIRTH_TOKEN_END &&
                atomic_load_explicit(&tr->pause, memory_order_relaxed)) {
                w->pos_epoch = e;
                w->pos_offset = firth_tokenizer_offset(tok);
                w->pos_unsynced = unsynced;
                w->pos_examples = examples;
                w->pos_loss = loss;
                w->pos_alpha = alpha;
                atomic_store_explicit(&w->parked, 1, memory_order_release);
                while (atomic_load_explicit(&tr->pause, memory_order_acquire)) sleep_ms(1);
                atomic_store_explicit(&w->parked, 0, memory_order_release);
            }
        }
        firth_tokenizer_free(tok);
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
        firth_free_aligned(ws[i].sent);
        firth_free_aligned(ws[i].targets);
        firth_free_aligned(ws[i].targets_next);
        firth_free_aligned(ws[i].dh);
        firth_free_aligned(ws[i].hbuf);
        free(ws[i].scores);
        firth_free_aligned(ws[i].in_rows);
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
    pg->words_done = atomic_load(&tr->words_done);
    pg->words_total = tr->words_total;
    pg->fraction = tr->words_total ? (double)pg->words_done / (double)tr->words_total : 1.0;
    if (pg->fraction > 1.0) pg->fraction = 1.0;
    pg->elapsed_s = seconds_since(&tr->t0);
    pg->words_per_s = pg->elapsed_s > 0 ? (double)pg->words_done / pg->elapsed_s : 0.0;
    pg->words_per_s_thread = pg->words_per_s / n;
    pg->eta_s = pg->words_per_s > 0 && pg->fraction > 0.001
                    ? (double)(tr->words_total - (pg->words_done < tr->words_total
                                                      ? pg->words_done
                                                      : tr->words_total)) /
                          pg->words_per_s
                    : -1.0;
    pg->alpha = current_alpha(tr, pg->words_done);
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
    pg->threads = n;
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

firth_status firth_w2v_train(firth_w2v *m, const firth_corpus *corpus,
                             const firth_text_params *text, firth_progress_fn progress,
                             void *user, firth_error *err) {
    return firth_w2v_train_resumable(m, corpus, text, NULL, progress, user, err);
}

firth_status firth_w2v_train_resumable(firth_w2v *m, const firth_corpus *corpus,
                                       const firth_text_params *text,
                                       const firth_w2v_checkpoints *ck,
                                       firth_progress_fn progress, void *user,
                                       firth_error *err) {
    firth_status st = firth_w2v_check_params(&m->p, err);
    if (st != FIRTH_OK) return st;
    const firth_w2v_resume *rs = ck ? ck->resume : NULL;
    const char *ck_path = ck && ck->path ? ck->path : NULL;
    if (ck && !(ck->every_s >= 0.0))
        return firth_fail(err, FIRTH_ERR_PARAM, "the checkpoint interval must be >= 0 seconds");
    uint64_t fingerprint = 0;
    if ((ck_path || rs) && (st = firth_corpus_fingerprint(corpus, &fingerprint, err)) != FIRTH_OK)
        return st;
    if (rs) {
        if (rs->threads != m->p.threads || rs->epochs != m->p.epochs)
            return firth_fail(err, FIRTH_ERR_PARAM,
                              "the model and the training state do not belong together");
        if (rs->corpus_size != firth_corpus_size(corpus) || rs->corpus_fingerprint != fingerprint)
            return firth_fail(err, FIRTH_ERR_INPUT,
                              "the corpus differs from the one the checkpoint was made on "
                              "(%llu bytes then, %llu now); give the same --input files in "
                              "the same order",
                              (unsigned long long)rs->corpus_size,
                              (unsigned long long)firth_corpus_size(corpus));
        text = &rs->text;
    }
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.m = m;
    tr.corpus = corpus;
    tr.text = text ? *text : firth_text_default_params();
    if (tr.text.max_sentence_words < 1 || tr.text.max_sentence_words > 10000000)
        return firth_fail(err, FIRTH_ERR_PARAM, "max sentence length must be 1..10000000 words");
    m->text = tr.text;
    uint64_t per_epoch = firth_vocab_train_words(m->vocab);
    if (per_epoch == 0) per_epoch = 1; /* a vocabulary file with zero counts: unknown length */
    tr.words_total = per_epoch * (uint64_t)m->p.epochs;
    if (rs && rs->words_total != tr.words_total)
        return firth_fail(err, FIRTH_ERR_INPUT,
                          "the checkpoint's word count does not match its vocabulary");
    tr.keep = firth_vocab_keep_table(m->vocab, m->p.sample);
    if (!tr.keep) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory (subsampling table)");
    if (m->p.loss == FIRTH_LOSS_NS &&
        (st = firth_vocab_noise(m->vocab, m->p.ns_exponent, &tr.noise, err)) != FIRTH_OK) {
        free(tr.keep);
        return st;
    }
    const int n = m->p.threads, E = m->p.epochs;
    worker *ws = firth_alloc_aligned((size_t)n * sizeof *ws);
    if (ws) memset(ws, 0, (size_t)n * sizeof *ws);
    free(m->epoch_loss);
    m->epoch_loss = calloc((size_t)E, sizeof *m->epoch_loss);
    m->n_epoch_loss = 0;
    if (!ws || !m->epoch_loss) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory starting training");
        goto done;
    }
    uint64_t size = firth_corpus_size(corpus);
    for (int i = 0; i < n; i++) {
        worker *w = &ws[i];
        w->tr = &tr;
        w->id = i;
        w->begin = size / (uint64_t)n * (uint64_t)i;
        w->end = i == n - 1 ? size : size / (uint64_t)n * (uint64_t)(i + 1);
        firth_rng_seed(&w->rng, m->p.seed + (uint64_t)i);
        if (rs) {
            w->from = &rs->w[i];
            w->begin = w->from->begin;
            w->end = w->from->end;
            w->rng.state = w->from->rng;
        }
        w->sent = firth_alloc_aligned((size_t)tr.text.max_sentence_words * sizeof *w->sent);
        w->targets = firth_alloc_aligned(((size_t)m->p.negative + 1) * sizeof *w->targets);
        w->dh = firth_alloc_aligned((size_t)m->D * sizeof(float));
        w->hbuf = firth_alloc_aligned((size_t)m->D * sizeof(float));
        w->scores = m->p.loss == FIRTH_LOSS_SOFTMAX ? malloc(m->V * sizeof(float)) : NULL;
        size_t nt = (size_t)m->p.negative + 1, win = 2 * (size_t)m->p.window;
        w->in_rows = firth_alloc_aligned(win * sizeof *w->in_rows);
        w->targets_next = firth_alloc_aligned(nt * sizeof *w->targets_next);
        w->batch = firth_alloc_aligned(
            firth_ns_batch_scratch((int)win, (int)nt, m->D) * sizeof(float));
        w->loss = calloc((size_t)E, sizeof *w->loss);
        w->examples = calloc((size_t)E, sizeof *w->examples);
        w->finished_at = calloc((size_t)E, sizeof *w->finished_at);
        if (!w->sent || !w->targets || !w->dh || !w->hbuf || !w->loss || !w->examples ||
            !w->in_rows || !w->batch || !w->targets_next ||
            !w->finished_at || (m->p.loss == FIRTH_LOSS_SOFTMAX && !w->scores)) {
            st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory starting training");
            goto done;
        }
        if (rs) {
            size_t k = (size_t)w->from->epochs_done;
            memcpy(w->loss, w->from->loss, k * sizeof *w->loss);
            memcpy(w->examples, w->from->examples, k * sizeof *w->examples);
            memcpy(w->finished_at, w->from->finished_at, k * sizeof *w->finished_at);
            atomic_store(&w->epochs_done, w->from->epochs_done);
        }
    }
    int reported = 0;
    if (rs) {
        atomic_store(&tr.words_done, rs->words_done);
        reported = rs->reported;
        memcpy(m->epoch_loss, rs->epoch_loss, (size_t)reported * sizeof *m->epoch_loss);
        m->n_epoch_loss = reported;
    }
    pthread_t *tids = malloc((size_t)n * sizeof *tids);
    if (!tids) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory starting threads");
        goto done;
    }
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
        int all_exited = 1;
        for (int i = 0; i < started; i++)
            all_exited &= atomic_load_explicit(&ws[i].exited, memory_order_acquire);
        firth_progress pg;
        fill_progress(&tr, ws, n, &pg);
        /* finished epochs, in order */
        int min_done = E;
        for (int i = 0; i < n; i++) {
            int d = atomic_load_explicit(&ws[i].epochs_done, memory_order_acquire);
            if (d < min_done) min_done = d;
        }
        while (reported < min_done && st == FIRTH_OK && !cancel) {
            double l = 0.0, t = 0.0;
            uint64_t ex = 0;
            for (int i = 0; i < n; i++) {
                l += ws[i].loss[reported];
                ex += ws[i].examples[reported];
                if (ws[i].finished_at[reported] > t) t = ws[i].finished_at[reported];
            }
            double mean = ex ? l / (double)ex : 0.0;
            m->epoch_loss[reported] = mean;
            m->n_epoch_loss = ++reported;
            if (!isfinite(mean)) {
                st = firth_fail(err, FIRTH_ERR_DIVERGED,
                                "training diverged: the loss of epoch %d is %g; try a smaller "
                                "--alpha",
                                reported, mean);
                atomic_store(&tr.stop, 1);
                break;
            }
            if (progress) {
                firth_progress ep = pg;
                ep.epoch_finished = reported;
                ep.epoch_loss = mean;
                ep.epoch_seconds = t;
                if (progress(&ep, user)) cancel = 1;
            }
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
         * then complete (each worker at the end of its range), and is still saved. */
        if (st == FIRTH_OK && ck_path &&
            (cancel || (ck->every_s > 0 && pg.elapsed_s - last_checkpoint >= ck->every_s))) {
            st = write_checkpoint(&tr, ws, started, reported, ck, fingerprint, err);
            last_checkpoint = seconds_since(&tr.t0);
            if (st != FIRTH_OK) atomic_store(&tr.stop, 1);
        }
        if (st == FIRTH_OK && cancel) {
            st = firth_fail(err, FIRTH_ERR_CANCELLED, "training cancelled");
            atomic_store(&tr.stop, 1);
        }
        if (all_exited) break;
        sleep_ms(m->p.report_every_ms < 20 ? m->p.report_every_ms : 20);
    }
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    free(tids);
    for (int i = 0; i < n && st == FIRTH_OK; i++)
        if (ws[i].status != FIRTH_OK) {
            st = ws[i].status;
            if (err) *err = ws[i].err;
        }
    if (st == FIRTH_OK && reported < E)
        st = firth_fail(err, FIRTH_ERR_INTERNAL, "training stopped after %d of %d epochs",
                        reported, E);
    if (st == FIRTH_OK && progress) {
        firth_progress pg;
        fill_progress(&tr, ws, n, &pg);
        pg.fraction = 1.0;
        pg.eta_s = 0.0;
        pg.loss = m->epoch_loss[E - 1];
        progress(&pg, user);
    }
done:
    free_workers(ws, n);
    free(tr.keep);
    firth_alias_free(&tr.noise);
    return st;
}
