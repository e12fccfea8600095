/* test_w2v.c - word2vec training through the public API.
 *
 * References: the structure planted in generated corpora (pairs of words that are exactly
 * interchangeable must end up as each other's nearest neighbours, measured with a cosine
 * computed here), bit-for-bit repeatability with one thread, falling epoch losses, and the
 * documented parameter ranges. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/rng.h"
#include "embed/w2v_model.h"
#include "embed/w2v_stream.h"
#include "firth.h"
#include "test_util.h"
#include "text/vocab.h"

/* ---- generated corpora ---- */

/* Planted synonyms: `pairs` pairs (a<i>, b<i>) and a shared pool of `pool` context words c<k>.
 * Pair i owns a random set of `ctx` context words; each of its sentences is `side` context words
 * from that set, then a<i> or b<i> (a fair coin), then `side` more. So a<i> and b<i> have exactly
 * the same distribution of contexts, different pairs have different ones, and a context word's
 * contexts (other context words, several pairs' planted words) resemble no single planted
 * word's. Returns the file path (malloc'd). */
static char *write_pairs_corpus(const char *dir, const char *name, int pairs, int pool, int ctx,
                                int sentences_per_pair, int side, uint64_t seed) {
    firth_rng rng;
    firth_rng_seed(&rng, seed);
    int *sets = malloc((size_t)pairs * ctx * sizeof *sets);
    for (int i = 0; i < pairs; i++)
        for (int k = 0; k < ctx; k++) {
            int c, dup;
            do { /* distinct within the set */
                c = (int)firth_rng_below(&rng, (uint32_t)pool);
                dup = 0;
                for (int j = 0; j < k; j++) dup |= sets[i * ctx + j] == c;
            } while (dup);
            sets[i * ctx + k] = c;
        }
    size_t cap = (size_t)pairs * sentences_per_pair * (2 * side + 1) * 12 + 64, len = 0;
    char *text = malloc(cap);
    for (int s = 0; s < pairs * sentences_per_pair; s++) {
        int g = (int)firth_rng_below(&rng, (uint32_t)pairs);
        for (int k = 0; k < 2 * side + 1; k++) {
            if (k == side)
                len +=
                    (size_t)sprintf(text + len, "%c%d ", firth_rng_below(&rng, 2) ? 'a' : 'b', g);
            else
                len += (size_t)sprintf(text + len, "c%d ",
                                       sets[g * ctx + (int)firth_rng_below(&rng, (uint32_t)ctx)]);
        }
        text[len - 1] = '\n';
    }
    char *path = tu_path(dir, name);
    tu_write(path, text, len);
    free(text);
    free(sets);
    return path;
}

typedef struct trained {
    firth_w2v *model;
    firth_status status;
    firth_error err;
} trained;

static trained train(const char *path, const firth_w2v_params *p) {
    trained t = {NULL, FIRTH_OK, {0}};
    const char *paths[] = {path};
    firth_corpus *c = firth_corpus_open(paths, 1, &t.err);
    firth_vocab *v = c ? firth_vocab_new(&t.err) : NULL;
    firth_text_params text = firth_text_default_params();
    if (!v || firth_vocab_count(v, c, &text, &t.err) != FIRTH_OK ||
        firth_vocab_finalize(v, 1, 0, &t.err) != FIRTH_OK) {
        firth_vocab_free(v);
        firth_corpus_free(c);
        t.status = t.err.status ? t.err.status : FIRTH_ERR_INTERNAL;
        return t;
    }
    t.model = firth_w2v_new(v, p, &t.err);
    if (!t.model) {
        firth_corpus_free(c);
        t.status = t.err.status;
        return t;
    }
    t.status = firth_w2v_train(t.model, c, &text, NULL, NULL, &t.err);
    firth_corpus_free(c);
    return t;
}

/* Fraction of planted words (a<i> and b<i>) whose cosine nearest neighbour among all other
 * words is their partner. */
static double partner_rate(const firth_w2v *m, int pairs, int verbose) {
    const firth_vocab *v = firth_w2v_vocab(m);
    size_t V = firth_vocab_size(v);
    int D = firth_w2v_get_params(m)->dim;
    const float *x = firth_w2v_vectors(m);
    double *unit = malloc(V * (size_t)D * sizeof *unit);
    for (size_t i = 0; i < V; i++) {
        double n = 0.0;
        for (int d = 0; d < D; d++) n += (double)x[i * D + d] * x[i * D + d];
        n = n > 0 ? 1.0 / sqrt(n) : 0.0;
        for (int d = 0; d < D; d++) unit[i * D + d] = x[i * D + d] * n;
    }
    int hits = 0, total = 0;
    for (int g = 0; g < pairs; g++)
        for (int side = 0; side < 2; side++) {
            char w[32], partner[32];
            snprintf(w, sizeof w, "%c%d", side ? 'b' : 'a', g);
            snprintf(partner, sizeof partner, "%c%d", side ? 'a' : 'b', g);
            int64_t id = firth_vocab_find(v, w, strlen(w));
            int64_t pid = firth_vocab_find(v, partner, strlen(partner));
            total++;
            if (id < 0 || pid < 0) continue;
            size_t best = 0;
            double best_cos = -2.0;
            for (size_t j = 0; j < V; j++) {
                if ((int64_t)j == id) continue;
                double c = 0.0;
                for (int d = 0; d < D; d++) c += unit[(size_t)id * D + d] * unit[j * D + d];
                if (c > best_cos) best_cos = c, best = j;
            }
            if ((int64_t)best == pid)
                hits++;
            else if (verbose)
                fprintf(stderr, "      %s: nearest is %s (%.3f)\n", w, firth_vocab_word(v, best),
                        best_cos);
        }
    free(unit);
    return (double)hits / total;
}

static firth_w2v_params small_params(void) {
    firth_w2v_params p = firth_w2v_default_params();
    p.dim = 32;
    p.window = 3;
    p.epochs = 5;
    p.sample = 0.0; /* every word is frequent here; subsampling is tested on its own */
    p.threads = 1;
    p.seed = 7;
    return p;
}

/* ---- tests ---- */

static void test_determinism(void) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "c.txt", 10, 30, 5, 60, 3, 1);
    firth_w2v_params p = small_params();
    p.epochs = 2;
    p.sample = 1e-2; /* exercise the subsampling draws too */
    static const struct {
        firth_arch arch;
        firth_loss loss;
    } kinds[] = {{FIRTH_ARCH_SG, FIRTH_LOSS_NS},
                 {FIRTH_ARCH_CBOW, FIRTH_LOSS_NS},
                 {FIRTH_ARCH_SG, FIRTH_LOSS_HS},
                 {FIRTH_ARCH_CBOW, FIRTH_LOSS_SOFTMAX}};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        p.arch = kinds[k].arch;
        p.loss = kinds[k].loss;
        p.seed = 7;
        trained a = train(path, &p), b = train(path, &p);
        p.seed = 8;
        trained c = train(path, &p);
        CHECK(a.status == FIRTH_OK && b.status == FIRTH_OK && c.status == FIRTH_OK,
              "kind %zu: training failed: %s %s %s", k, a.err.message, b.err.message,
              c.err.message);
        if (a.model && b.model && c.model) {
            size_t V = firth_vocab_size(firth_w2v_vocab(a.model));
            size_t bytes = V * (size_t)p.dim * sizeof(float);
            CHECK(firth_vocab_size(firth_w2v_vocab(b.model)) == V, "same vocabulary");
            CHECK(memcmp(firth_w2v_vectors(a.model), firth_w2v_vectors(b.model), bytes) == 0,
                  "kind %zu: two runs with seed 7 differ", k);
            CHECK(memcmp(firth_w2v_vectors(a.model), firth_w2v_vectors(c.model), bytes) != 0,
                  "kind %zu: seeds 7 and 8 give the same vectors", k);
            int na, nb;
            const double *la = firth_w2v_epoch_losses(a.model, &na);
            const double *lb = firth_w2v_epoch_losses(b.model, &nb);
            CHECK(na == nb && la && lb && memcmp(la, lb, (size_t)na * sizeof *la) == 0,
                  "kind %zu: epoch losses differ between identical runs", k);
        }
        firth_w2v_free(a.model);
        firth_w2v_free(b.model);
        firth_w2v_free(c.model);
    }
    free(path);
    tu_rmdir(dir);
}

/* Trains one architecture/loss on the planted-pairs corpus and checks the neighbours and the
 * losses. */
static void check_structure(const char *what, firth_arch arch, firth_loss loss, int pairs,
                            int sentences, double alpha, int epochs) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "pairs.txt", pairs, 50, 6, sentences, 3, 11);
    firth_w2v_params p = small_params();
    p.arch = arch;
    p.loss = loss;
    p.alpha = alpha;
    p.epochs = epochs;
    trained t = train(path, &p);
    CHECK(t.status == FIRTH_OK, "%s: training failed: %s", what, t.err.message);
    if (t.model) {
        double rate = partner_rate(t.model, pairs, 0);
        int n = 0;
        const double *l = firth_w2v_epoch_losses(t.model, &n);
        printf("    %s: %.1f%% of %d planted words have their partner as nearest neighbour; "
               "epoch loss %.4f -> %.4f\n",
               what, 100.0 * rate, 2 * pairs, l && n ? l[0] : NAN, l && n ? l[n - 1] : NAN);
        CHECK(rate >= 0.9, "%s: only %.1f%% of planted words find their partner", what,
              100.0 * rate);
        if (rate < 0.9) partner_rate(t.model, pairs, 1);
        CHECK(l != NULL && n == epochs, "%s: %d epoch losses, expected %d", what, n, epochs);
        int finite = 1;
        for (int e = 0; l && e < n; e++) finite &= isfinite(l[e]) && l[e] > 0.0;
        CHECK(finite, "%s: epoch losses are not all finite and positive", what);
        if (l && n >= 2)
            CHECK(l[n - 1] < l[0], "%s: last epoch loss %.5f is not below the first %.5f", what,
                  l[n - 1], l[0]);
    }
    firth_w2v_free(t.model);
    free(path);
    tu_rmdir(dir);
}

static void test_sg_ns(void) {
    check_structure("skip-gram + NS", FIRTH_ARCH_SG, FIRTH_LOSS_NS, 40, 200, 0.025, 5);
}
static void test_cbow_ns(void) {
    check_structure("CBOW + NS", FIRTH_ARCH_CBOW, FIRTH_LOSS_NS, 40, 200, 0.05, 5);
}
static void test_sg_hs(void) {
    check_structure("skip-gram + HS", FIRTH_ARCH_SG, FIRTH_LOSS_HS, 40, 200, 0.025, 5);
}
static void test_sg_softmax(void) {
    check_structure("skip-gram + softmax", FIRTH_ARCH_SG, FIRTH_LOSS_SOFTMAX, 10, 150, 0.025, 5);
}

/* With two threads the result is not bit-for-bit repeatable, but training must still work. */
static void test_threads(void) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "pairs.txt", 20, 50, 6, 150, 3, 5);
    firth_w2v_params p = small_params();
    p.threads = 2;
    trained t = train(path, &p);
    CHECK(t.status == FIRTH_OK, "two threads: %s", t.err.message);
    if (t.model) {
        double rate = partner_rate(t.model, 20, 0);
        printf("    two threads: %.1f%% partners\n", 100.0 * rate);
        CHECK(rate >= 0.9, "two threads: %.1f%% partners", 100.0 * rate);
    }
    firth_w2v_free(t.model);
    free(path);
    tu_rmdir(dir);
}

/* A corpus far smaller than the number of threads (most byte ranges hold no word), short
 * sentences, every architecture and loss: training must finish cleanly (the sanitizer build
 * checks the memory accesses). With max_sentence_words 1 no word has a context, so the vectors
 * must stay exactly as initialised. */
static void test_tiny_corpus(void) {
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, "tiny.txt");
    tu_write_str(path, "a b c a b\nc a\n");
    const char *paths[] = {path};
    firth_error err = {0};
    for (int threads = 1; threads <= 8; threads *= 8)
        for (int msw = 1; msw <= 2; msw++)
            for (int loss = 0; loss < 3; loss++)
                for (int arch = 0; arch < 2; arch++) {
                    firth_corpus *c = firth_corpus_open(paths, 1, &err);
                    firth_vocab *v = firth_vocab_new(&err);
                    firth_text_params tp = firth_text_default_params();
                    tp.max_sentence_words = msw;
                    firth_vocab_count(v, c, &tp, &err);
                    firth_vocab_finalize(v, 1, 0, &err);
                    firth_w2v_params p = small_params();
                    p.threads = threads;
                    p.dim = 4;
                    p.loss = (firth_loss)loss;
                    p.arch = (firth_arch)arch;
                    p.epochs = 3;
                    firth_w2v *m = firth_w2v_new(v, &p, &err);
                    float before[4 * 4];
                    memcpy(before, firth_w2v_vectors(m), sizeof before);
                    firth_status st = firth_w2v_train(m, c, &tp, NULL, NULL, &err);
                    int n = 0;
                    const double *l = firth_w2v_epoch_losses(m, &n);
                    CHECK(st == FIRTH_OK && n == 3 && l && isfinite(l[0]) && isfinite(l[2]),
                          "threads %d, max_sentence_words %d, loss %d, arch %d: status %d (%s)",
                          threads, msw, loss, arch, st, err.message);
                    if (msw == 1)
                        CHECK(memcmp(before, firth_w2v_vectors(m), sizeof before) == 0,
                              "one-word sentences changed the vectors (loss %d, arch %d)", loss,
                              arch);
                    else if (threads == 1)
                        CHECK(memcmp(before, firth_w2v_vectors(m), sizeof before) != 0,
                              "two-word sentences did not train (loss %d, arch %d)", loss, arch);
                    firth_w2v_free(m);
                    firth_corpus_free(c);
                }
    free(path);
    tu_rmdir(dir);
}

/* The progress callback: epochs reported in order, and returning non-zero cancels. */
typedef struct progress_log {
    int calls, finished[16], n_finished, cancel_at;
    double last_fraction;
} progress_log;

static int on_progress(const firth_progress *pg, void *user) {
    progress_log *log = user;
    log->calls++;
    log->last_fraction = pg->fraction;
    if (pg->epoch_finished && log->n_finished < 16)
        log->finished[log->n_finished++] = pg->epoch_finished;
    return log->cancel_at && pg->epoch_finished == log->cancel_at;
}

static void test_progress_cancel(void) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "c.txt", 10, 30, 5, 60, 3, 2);
    const char *paths[] = {path};
    firth_error err = {0};
    firth_text_params text = firth_text_default_params();
    for (int cancel = 0; cancel <= 1; cancel++) {
        firth_corpus *c = firth_corpus_open(paths, 1, &err);
        firth_vocab *v = firth_vocab_new(&err);
        firth_vocab_count(v, c, &text, &err);
        firth_vocab_finalize(v, 1, 0, &err);
        firth_w2v_params p = small_params();
        p.epochs = 4;
        firth_w2v *m = firth_w2v_new(v, &p, &err);
        progress_log log = {0};
        log.cancel_at = cancel ? 2 : 0;
        firth_status st = firth_w2v_train(m, c, &text, on_progress, &log, &err);
        if (!cancel) {
            CHECK(st == FIRTH_OK, "training: %s", err.message);
            CHECK(log.n_finished == 4, "%d finished epochs reported", log.n_finished);
            for (int e = 0; e < log.n_finished; e++)
                CHECK(log.finished[e] == e + 1, "epoch %d reported as %d", e + 1, log.finished[e]);
            CHECK(log.last_fraction == 1.0, "last progress fraction %g", log.last_fraction);
        } else {
            CHECK(st == FIRTH_ERR_CANCELLED, "cancel: status %d", st);
            CHECK(log.n_finished == 2, "cancelled after epoch 2, but %d reported", log.n_finished);
        }
        firth_w2v_free(m);
        firth_corpus_free(c);
    }
    free(path);
    tu_rmdir(dir);
}

static firth_vocab *vocab_of_size(size_t n) {
    const char **words = malloc(n * sizeof *words);
    char *buf = malloc(n * 24);
    uint64_t *counts = malloc(n * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + 24 * i, 24, "w%zu", i);
        words[i] = i ? buf + 24 * i : FIRTH_EOS_WORD;
        counts[i] = n - i;
    }
    firth_error err = {0};
    firth_vocab *v = firth_vocab_from_list(words, counts, n, &err);
    CHECK(v != NULL, "vocab_from_list(%zu): %s", n, err.message);
    free(words);
    free(buf);
    free(counts);
    return v;
}

static void test_params(void) {
    firth_error err;
    firth_w2v_params ok = firth_w2v_default_params();
    err = (firth_error){0};
    CHECK(firth_w2v_check_params(&ok, &err) == FIRTH_OK, "defaults are valid: %s", err.message);
    struct {
        const char *what;
        firth_w2v_params p;
    } bad[8];
    int n = 0;
    for (int i = 0; i < 8; i++) bad[i].p = ok;
    bad[n].what = "dim 0", bad[n++].p.dim = 0;
    bad[n].what = "window 0", bad[n++].p.window = 0;
    bad[n].what = "negative -1", bad[n++].p.negative = -1;
    bad[n].what = "NS with negative 0", bad[n++].p.negative = 0;
    bad[n].what = "epochs 0", bad[n++].p.epochs = 0;
    bad[n].what = "alpha 0", bad[n++].p.alpha = 0.0;
    bad[n].what = "threads 0", bad[n++].p.threads = 0;
    bad[n].what = "sample -1", bad[n++].p.sample = -1.0;
    for (int i = 0; i < n; i++) {
        err = (firth_error){0};
        CHECK(firth_w2v_check_params(&bad[i].p, &err) == FIRTH_ERR_PARAM,
              "%s should be refused with FIRTH_ERR_PARAM", bad[i].what);
        CHECK(err.status == FIRTH_ERR_PARAM && err.message[0], "%s: error filled", bad[i].what);
        /* the constructor refuses it too, and frees the vocabulary it was given (ASan) */
        err = (firth_error){0};
        firth_w2v *m = firth_w2v_new(vocab_of_size(10), &bad[i].p, &err);
        CHECK(m == NULL && err.status == FIRTH_ERR_PARAM, "%s: firth_w2v_new status %d",
              bad[i].what, err.status);
        firth_w2v_free(m);
    }
    /* HS and softmax need no noise words */
    firth_w2v_params hs = ok;
    hs.loss = FIRTH_LOSS_HS;
    hs.negative = 0;
    CHECK(firth_w2v_check_params(&hs, NULL) == FIRTH_OK, "HS with negative 0 is valid");
    /* the full softmax: up to FIRTH_SOFTMAX_MAX_VOCAB words */
    firth_w2v_params sm = ok;
    sm.loss = FIRTH_LOSS_SOFTMAX;
    sm.dim = 2;
    err = (firth_error){0};
    firth_w2v *m = firth_w2v_new(vocab_of_size(FIRTH_SOFTMAX_MAX_VOCAB), &sm, &err);
    CHECK(m != NULL, "softmax over exactly %d words is allowed: %s", FIRTH_SOFTMAX_MAX_VOCAB,
          err.message);
    firth_w2v_free(m);
    err = (firth_error){0};
    m = firth_w2v_new(vocab_of_size(FIRTH_SOFTMAX_MAX_VOCAB + 1), &sm, &err);
    CHECK(m == NULL && err.status == FIRTH_ERR_PARAM,
          "softmax over %d words must be refused with FIRTH_ERR_PARAM (status %d)",
          FIRTH_SOFTMAX_MAX_VOCAB + 1, err.status);
    firth_w2v_free(m);
    /* NS over the same large vocabulary is fine */
    sm.loss = FIRTH_LOSS_NS;
    m = firth_w2v_new(vocab_of_size(FIRTH_SOFTMAX_MAX_VOCAB + 1), &sm, &err);
    CHECK(m != NULL, "NS over %d words: %s", FIRTH_SOFTMAX_MAX_VOCAB + 1, err.message);
    if (m) {
        /* initial vectors: uniform in [-0.5/dim, 0.5/dim) */
        const float *x = firth_w2v_vectors(m);
        size_t cnt = (size_t)(FIRTH_SOFTMAX_MAX_VOCAB + 1) * 2, out_of_range = 0;
        double mean = 0.0;
        for (size_t i = 0; i < cnt; i++) {
            out_of_range += !(x[i] >= -0.25f && x[i] < 0.25f);
            mean += x[i];
        }
        mean /= (double)cnt;
        CHECK(out_of_range == 0, "%zu initial weights outside [-0.5/dim, 0.5/dim)", out_of_range);
        /* mean of n uniforms on [-0.25, 0.25): sd 0.5 / sqrt(12 n) */
        CHECK(fabs(mean) < 5 * 0.5 / sqrt(12.0 * (double)cnt), "initial mean %g", mean);
        int ne = 1;
        CHECK(firth_w2v_epoch_losses(m, &ne) == NULL && ne == 0, "no losses before training");
    }
    firth_w2v_free(m);
}


/* ---- checkpoints and resuming ---- */

typedef struct cancel_at_fraction {
    double at; /* cancel on the first periodic call at or past this fraction */
    int cancelled;
    double wait_s; /* cancel_after_the_end: how long to wait in the callback */
} cancel_at_fraction;

static int cancel_mid_run(const firth_progress *pg, void *user) {
    cancel_at_fraction *c = user;
    if (!pg->epoch_finished && pg->fraction >= c->at && !c->cancelled) c->cancelled = 1;
    return c->cancelled;
}

/* Cancels in the report of epoch 1, but only after waiting long enough for the workers of a
 * small run to finish every epoch (several times as long as the whole reference run took): the
 * cancel then comes when no worker is left running. */
static int cancel_after_the_end(const firth_progress *pg, void *user) {
    cancel_at_fraction *c = user;
    if (pg->epoch_finished == 1 && !c->cancelled) {
        struct timespec ts = {(time_t)c->wait_s, (long)((c->wait_s - (double)(time_t)c->wait_s) * 1e9)};
        nanosleep(&ts, NULL);
        c->cancelled = 1;
    }
    return c->cancelled;
}

/* A run cut at about `at` of the way (a checkpoint written on cancel), resumed from the file
 * with checkpoints every few milliseconds on the way, ends bit-for-bit where a run that was never
 * interrupted ends: input and output weights and every epoch's loss. at < 0: the cut comes after
 * every worker has finished (cancel_after_the_end). */
static void check_resume(const char *what, firth_arch arch, firth_loss loss, int batch,
                         double at) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "c.txt", 20, 60, 6, 500, 3, 5);
    char *ckpt = tu_path(dir, "run.ckpt"), *ckpt2 = tu_path(dir, "run2.ckpt");
    firth_w2v_params p = small_params();
    p.arch = arch;
    p.loss = loss;
    p.batch = batch;
    p.epochs = 3;
    p.sample = 1e-2; /* subsampling draws are part of the random stream too */
    p.report_every_ms = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    trained ref = train(path, &p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(ref.status == FIRTH_OK, "%s: reference run: %s", what, ref.err.message);
    double ref_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);

    const char *paths[] = {path};
    firth_error err = {0};
    firth_text_params text = firth_text_default_params();
    firth_corpus *c = firth_corpus_open(paths, 1, &err);
    firth_status st = FIRTH_OK;
    /* On a loaded machine the monitor thread may not run before the worker has finished the
     * whole (small) run, which then ends well, uncut: such a try is repeated (up to 5). */
    for (int attempt = 0; attempt < 5 && st == FIRTH_OK; attempt++) {
        firth_vocab *v = firth_vocab_new(&err);
        firth_vocab_count(v, c, &text, &err);
        firth_vocab_finalize(v, 1, 0, &err);
        firth_w2v *m = firth_w2v_new(v, &p, &err);
        cancel_at_fraction cut = {at, 0, 0.3 + 4.0 * ref_s};
        firth_w2v_checkpoints ck = {ckpt, 0.0, NULL};
        st = firth_w2v_train_resumable(m, c, &text, &ck,
                                       at < 0 ? cancel_after_the_end : cancel_mid_run, &cut,
                                       &err);
        firth_w2v_free(m);
    }
    CHECK(st == FIRTH_ERR_CANCELLED, "%s: cut run: status %d (%s)", what, st, err.message);

    firth_w2v_resume *rs = NULL;
    firth_w2v *r = firth_w2v_load_checkpoint(ckpt, &rs, &err);
    CHECK(r && rs, "%s: loading the checkpoint: %s", what, err.message);
    if (r && rs && ref.model) {
        uint64_t done, total;
        int epochs_finished;
        firth_w2v_resume_position(rs, &done, &total, &epochs_finished);
        if (at >= 0)
            CHECK(done > 0 && done < total, "%s: the cut was not mid-run (%llu of %llu words)",
                  what, (unsigned long long)done, (unsigned long long)total);
        else
            CHECK(epochs_finished == 1 && done == total,
                  "%s: expected a cut after the end, reported %d epochs, %llu of %llu words",
                  what, epochs_finished, (unsigned long long)done, (unsigned long long)total);
        firth_w2v_checkpoints again = {ckpt2, 0.002, rs};
        st = firth_w2v_train_resumable(r, c, NULL, &again, NULL, NULL, &err);
        CHECK(st == FIRTH_OK, "%s: resumed run: %s", what, err.message);
        size_t V = firth_vocab_size(firth_w2v_vocab(r));
        CHECK(V == firth_vocab_size(firth_w2v_vocab(ref.model)), "%s: vocabulary size", what);
        size_t in = V * (size_t)p.dim * sizeof(float), out = r->out_rows * (size_t)p.dim * sizeof(float);
        CHECK(memcmp(r->syn0, ref.model->syn0, in) == 0, "%s: input vectors differ (cut at %llu)",
              what, (unsigned long long)done);
        CHECK(memcmp(r->out, ref.model->out, out) == 0, "%s: output vectors differ", what);
        int na, nb;
        const double *la = firth_w2v_epoch_losses(r, &na), *lb = firth_w2v_epoch_losses(ref.model, &nb);
        CHECK(na == 3 && nb == 3 && la && lb && memcmp(la, lb, 3 * sizeof *la) == 0,
              "%s: epoch losses differ (%d, %d epochs)", what, na, nb);
    }
    firth_w2v_free(r);
    firth_w2v_resume_free(rs);
    firth_corpus_free(c);
    firth_w2v_free(ref.model);
    free(path);
    free(ckpt);
    free(ckpt2);
    tu_rmdir(dir);
}

static void test_resume_sg_ns(void) { check_resume("sg ns batched", FIRTH_ARCH_SG, FIRTH_LOSS_NS, 1, 0.45); }
static void test_resume_cbow_ns(void) { check_resume("cbow ns", FIRTH_ARCH_CBOW, FIRTH_LOSS_NS, 1, 0.7); }
static void test_resume_sg_hs(void) { check_resume("sg hs", FIRTH_ARCH_SG, FIRTH_LOSS_HS, 0, 0.2); }
static void test_resume_after_end(void) { check_resume("cut after the end", FIRTH_ARCH_SG, FIRTH_LOSS_NS, 1, -1.0); }

/* A checkpoint is refused for another corpus, when truncated anywhere, and when it is a finished
 * model; a damaged byte in the state fails its checksum. */
static void test_resume_errors(void) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "c.txt", 20, 60, 6, 300, 3, 5);
    char *other = write_pairs_corpus(dir, "d.txt", 20, 60, 6, 300, 3, 6);
    char *ckpt = tu_path(dir, "run.ckpt"), *cut = tu_path(dir, "cut.ckpt"),
         *model = tu_path(dir, "m.firth");
    firth_w2v_params p = small_params();
    p.epochs = 4;
    p.report_every_ms = 1;
    const char *paths[] = {path}, *others[] = {other};
    firth_error err = {0};
    firth_text_params text = firth_text_default_params();
    firth_corpus *c = firth_corpus_open(paths, 1, &err);
    firth_vocab *v = firth_vocab_new(&err);
    firth_vocab_count(v, c, &text, &err);
    firth_vocab_finalize(v, 1, 0, &err);
    firth_w2v *m = firth_w2v_new(v, &p, &err);
    cancel_at_fraction stop = {0.3, 0, 0.0};
    firth_w2v_checkpoints ck = {ckpt, 0.0, NULL};
    CHECK(firth_w2v_train_resumable(m, c, &text, &ck, cancel_mid_run, &stop, &err) ==
              FIRTH_ERR_CANCELLED, "cut run: %s", err.message);
    CHECK(firth_w2v_save(m, model, FIRTH_FORMAT_NATIVE, &err) == FIRTH_OK, "%s", err.message);
    firth_w2v_free(m);

    firth_w2v_resume *rs = NULL;
    firth_w2v *r = firth_w2v_load_checkpoint(ckpt, &rs, &err);
    CHECK(r != NULL, "%s", err.message);
    firth_corpus *d = firth_corpus_open(others, 1, &err);
    if (r && d) {
        firth_w2v_checkpoints again = {NULL, 0.0, rs};
        firth_status st = firth_w2v_train_resumable(r, d, NULL, &again, NULL, NULL, &err);
        CHECK(st == FIRTH_ERR_INPUT && strstr(err.message, "corpus differs"),
              "another corpus: status %d, '%s'", st, err.message);
    }
    firth_w2v_free(r);
    firth_w2v_resume_free(rs);
    firth_corpus_free(d);

    size_t n = 0;
    unsigned char *bytes = tu_read(ckpt, &n);
    int accepted = 0, tried = 0;
    for (size_t len = 0; bytes && len < n; len += len < 600 ? 1 : 997) {
        tu_write(cut, bytes, len);
        firth_w2v_resume *s2 = NULL;
        firth_w2v *x = firth_w2v_load_checkpoint(cut, &s2, &err);
        tried++;
        if (x || s2 || err.status != FIRTH_ERR_INPUT) accepted++;
        firth_w2v_free(x);
        firth_w2v_resume_free(s2);
    }
    CHECK(accepted == 0, "%d of %d truncated checkpoints accepted", accepted, tried);
    if (bytes && n > 200) {
        bytes[150] ^= 0x40; /* inside a worker's state */
        tu_write(cut, bytes, n);
        firth_w2v_resume *s2 = NULL;
        firth_w2v *x = firth_w2v_load_checkpoint(cut, &s2, &err);
        CHECK(!x && strstr(err.message, "checksum"), "a damaged state: '%s'", err.message);
        firth_w2v_free(x);
        firth_w2v_resume_free(s2);
        bytes[150] ^= 0x40;
    }
    /* States that training could not finish from, with their checksum made right (FNV-1a over
     * the state, docs/formats.md): a worker whose finished epochs are not the ones before its
     * position, and epochs reported that a worker has not finished. */
    for (int k = 0; k < 2 && bytes && n > 200; k++) {
        unsigned char *b = malloc(n);
        memcpy(b, bytes, n);
        uint32_t threads, epochs, epoch, done;
        memcpy(&threads, b + 16, 4);
        memcpy(&epochs, b + 20, 4);
        size_t w0 = 112 + 8 * (size_t)epochs, state = w0 + threads * (68 + 24 * (size_t)epochs) + 8;
        memcpy(&epoch, b + w0 + 60, 4);
        memcpy(&done, b + w0 + 64, 4);
        CHECK(epoch == done && epoch < epochs, "worker 0: epoch %u, %u done", epoch, done);
        if (k == 0) {
            done = epochs; /* as if at the end, its epoch unfinished */
            memcpy(b + w0 + 60, &done, 4);
        } else {
            uint32_t reported = done + 1;
            memcpy(b + 24, &reported, 4);
        }
        uint64_t h = 0xCBF29CE484222325ull;
        for (size_t i = 0; i + 8 < state; i++) h = (h ^ b[i]) * 0x100000001B3ull;
        memcpy(b + state - 8, &h, 8);
        tu_write(cut, b, n);
        firth_w2v_resume *s2 = NULL;
        firth_w2v *x = firth_w2v_load_checkpoint(cut, &s2, &err);
        CHECK(!x && !s2 && strstr(err.message, "out of range"), "state %d: '%s'", k,
              x ? "accepted" : err.message);
        firth_w2v_free(x);
        firth_w2v_resume_free(s2);
        free(b);
    }
    firth_w2v_resume *s3 = NULL;
    firth_w2v *y = firth_w2v_load_checkpoint(model, &s3, &err);
    CHECK(!y && strstr(err.message, "finished model"), "a model as checkpoint: '%s'", err.message);
    firth_w2v_free(y);
    free(bytes);
    firth_corpus_free(c);
    free(path);
    free(other);
    free(ckpt);
    free(cut);
    free(model);
    tu_rmdir(dir);
}


/* ---- the recorded word stream (src/embed/w2v_stream.c) ---- */

/* The reference: a tokenizer and vocabulary lookups, as an epoch reads the text. Entries are word
 * ids (> 0) and -1 for a line end; offs[i] is the tokenizer's offset after entry i. */
typedef struct stream_ref {
    int32_t *ids;
    uint64_t *offs;
    size_t n;
} stream_ref;

static stream_ref read_reference(const firth_corpus *c, const firth_vocab *v, uint64_t begin,
                                 uint64_t end) {
    stream_ref r = {0};
    firth_text_params text = firth_text_default_params();
    firth_error err = {0};
    firth_tokenizer *t = firth_tokenizer_new(c, begin, end, &text, &err);
    size_t cap = 1 << 16;
    r.ids = malloc(cap * sizeof *r.ids);
    r.offs = malloc(cap * sizeof *r.offs);
    for (;;) {
        const char *w;
        size_t len;
        int kind = firth_tokenizer_next(t, &w, &len, &err);
        if (kind <= 0) break;
        int32_t id = -1;
        if (kind == FIRTH_TOKEN_WORD) {
            int64_t f = firth_vocab_find(v, w, len);
            if (f <= 0) continue;
            id = (int32_t)f;
        }
        if (r.n == cap) {
            cap *= 2;
            r.ids = realloc(r.ids, cap * sizeof *r.ids);
            r.offs = realloc(r.offs, cap * sizeof *r.offs);
        }
        r.ids[r.n] = id;
        r.offs[r.n++] = firth_tokenizer_offset(t);
    }
    firth_tokenizer_free(t);
    return r;
}

/* Reads one epoch from `from` (the reference's entry `first` on) and compares every entry, and
 * the offset every `every` entries, with the reference. Returns the mismatches. */
static int stream_epoch(w2v_stream *s, const stream_ref *r, uint64_t from, size_t first,
                        int record, size_t every, int *replayed) {
    firth_error err = {0};
    int bad = 0;
    CHECK(w2v_stream_start(s, from, record, &err) == FIRTH_OK, "start: %s", err.message);
    *replayed = s->replaying;
    size_t i = first;
    for (;; i++) {
        int32_t id = 0;
        int kind = w2v_stream_next(s, &id, &err);
        if (kind == FIRTH_TOKEN_END || kind < 0) {
            bad += kind < 0;
            break;
        }
        int32_t got = kind == FIRTH_TOKEN_EOS ? -1 : id > 0 ? id : -2;
        if (i >= r->n || got != r->ids[i]) {
            bad++;
            break;
        }
        if ((i - first) % every == 0 || i + 1 == r->n) {
            uint64_t off = 0;
            if (w2v_stream_offset(s, &off, &err) != FIRTH_OK || off != r->offs[i]) bad++;
        }
    }
    bad += i != r->n;
    w2v_stream_finish(s, 1);
    return bad;
}

/* A replayed epoch yields what reading the text yields (known words' ids, line ends; unknown
 * words skipped) and reports the offsets the text has there, within a middle part of a corpus
 * with long lines, empty lines and unknown words; a record over its budget is given up; an
 * epoch that starts mid-range neither records nor replays. Reference: the tokenizer itself. */
static void test_stream_replay(void) {
    char *dir = tu_mkdtemp();
    firth_rng rng;
    firth_rng_seed(&rng, 11);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    for (int line = 0; line < 3000; line++) {
        int words = line % 50 == 0 ? 700 : (int)firth_rng_below(&rng, 40);
        for (int k = 0; k < words; k++) {
            uint32_t a = firth_rng_below(&rng, 400), b = firth_rng_below(&rng, 400);
            len += (size_t)sprintf(text + len, "%sw%u%s", k ? (k % 7 ? " " : ",  ") : "",
                                   a < b ? a : b, k % 13 == 12 ? "." : "");
        }
        text[len++] = '\n';
    }
    char *path = tu_path(dir, "c.txt");
    tu_write(path, text, len);
    free(text);
    const char *paths[] = {path};
    firth_error err = {0};
    firth_text_params tp = firth_text_default_params();
    firth_corpus *c = firth_corpus_open(paths, 1, &err);
    firth_vocab *v = firth_vocab_new(&err);
    CHECK(c && v && firth_vocab_count(v, c, &tp, &err) == FIRTH_OK &&
              firth_vocab_finalize(v, 20, 0, &err) == FIRTH_OK, "%s", err.message);
    uint64_t begin, end;
    firth_corpus_part(c, 1, 3, &begin, &end);
    stream_ref r = read_reference(c, v, begin, end);
    size_t unknown = 0;
    { /* the part must hold unknown words and many marks' worth of entries */
        firth_tokenizer *t = firth_tokenizer_new(c, begin, end, &tp, &err);
        const char *w;
        size_t wl;
        int kind;
        while ((kind = firth_tokenizer_next(t, &w, &wl, &err)) > 0)
            unknown += kind == FIRTH_TOKEN_WORD && firth_vocab_find(v, w, wl) <= 0;
        firth_tokenizer_free(t);
    }
    CHECK(begin > 0 && r.n > 3 * 4096 && unknown > 100, "fixture: begin %llu, %zu entries, %zu unknown",
          (unsigned long long)begin, r.n, unknown);

    w2v_stream s;
    w2v_stream_init(&s, c, &tp, v, begin, end, (size_t)1 << 30);
    int replayed = 0;
    CHECK(stream_epoch(&s, &r, begin, 0, 1, 97, &replayed) == 0 && !replayed,
          "the reading epoch differs from the tokenizer");
    CHECK(s.complete && s.n == r.n, "the record holds %zu of %zu entries", s.n, r.n);
    for (int epoch = 0; epoch < 2; epoch++)
        CHECK(stream_epoch(&s, &r, begin, 0, 1, epoch ? 4096 : 89, &replayed) == 0 && replayed,
              "replayed epoch %d differs from the text (replayed %d)", epoch, replayed);
    size_t k = r.n / 2; /* a resumed epoch: from the offset after entry k */
    CHECK(stream_epoch(&s, &r, r.offs[k], k + 1, 1, 53, &replayed) == 0 && !replayed,
          "an epoch from the middle differs");
    w2v_stream_free(&s);

    w2v_stream_init(&s, c, &tp, v, begin, end, 4 * 1000); /* room for 1000 entries */
    CHECK(stream_epoch(&s, &r, r.offs[k], k + 1, 1, 101, &replayed) == 0 && !replayed &&
              !s.complete && s.n == 0, "a mid-range epoch recorded");
    CHECK(stream_epoch(&s, &r, begin, 0, 1, 101, &replayed) == 0 && !s.complete && s.n == 0 &&
              s.ids == NULL, "a record over its budget was kept (%zu entries)", s.n);
    CHECK(stream_epoch(&s, &r, begin, 0, 1, 101, &replayed) == 0 && !replayed,
          "the epoch after giving up differs");
    w2v_stream_free(&s);

    /* a stopped epoch keeps no record */
    w2v_stream_init(&s, c, &tp, v, begin, end, (size_t)1 << 30);
    CHECK(w2v_stream_start(&s, begin, 1, &err) == FIRTH_OK, "%s", err.message);
    int32_t id;
    for (int i = 0; i < 5000; i++) w2v_stream_next(&s, &id, &err);
    w2v_stream_finish(&s, 0);
    CHECK(!s.complete && s.n == 0, "a stopped epoch's record was kept");
    w2v_stream_free(&s);

    free(r.ids);
    free(r.offs);
    firth_vocab_free(v);
    firth_corpus_free(c);
    free(path);
    tu_rmdir(dir);
}

/* The vectors do not depend on the record: 3 epochs with cache_mb 0 (the text every epoch) and
 * with the default (epochs 2 and 3 replayed) give the same bytes, for CBOW and skip-gram HS. */
static void test_stream_same_vectors(void) {
    char *dir = tu_mkdtemp();
    char *path = write_pairs_corpus(dir, "c.txt", 20, 60, 6, 300, 3, 5);
    for (int arch = 0; arch < 2; arch++) {
        firth_w2v_params p = small_params();
        p.arch = arch ? FIRTH_ARCH_CBOW : FIRTH_ARCH_SG;
        p.loss = arch ? FIRTH_LOSS_NS : FIRTH_LOSS_HS;
        p.epochs = 3;
        p.sample = 1e-2;
        trained a = train(path, &p);
        p.cache_mb = 0;
        trained b = train(path, &p);
        CHECK(a.status == FIRTH_OK && b.status == FIRTH_OK, "training failed");
        if (a.model && b.model) {
            size_t V = firth_vocab_size(firth_w2v_vocab(a.model));
            CHECK(memcmp(a.model->syn0, b.model->syn0, V * (size_t)p.dim * sizeof(float)) == 0 &&
                      memcmp(a.model->out, b.model->out,
                             a.model->out_rows * (size_t)p.dim * sizeof(float)) == 0,
                  "arch %d: the vectors differ with and without the record", arch);
        }
        firth_w2v_free(a.model);
        firth_w2v_free(b.model);
    }
    free(path);
    tu_rmdir(dir);
}

const test_case tests_w2v[] = {
    {"w2v_determinism", test_determinism},
    {"w2v_sg_ns_structure", test_sg_ns},
    {"w2v_cbow_ns_structure", test_cbow_ns},
    {"w2v_sg_hs_structure", test_sg_hs},
    {"w2v_sg_softmax_structure", test_sg_softmax},
    {"w2v_threads", test_threads},
    {"w2v_tiny_corpus", test_tiny_corpus},
    {"w2v_progress_cancel", test_progress_cancel},
    {"w2v_params", test_params},
    {"w2v_resume_sg_ns", test_resume_sg_ns},
    {"w2v_resume_cbow_ns", test_resume_cbow_ns},
    {"w2v_resume_sg_hs", test_resume_sg_hs},
    {"w2v_resume_after_end", test_resume_after_end},
    {"w2v_resume_errors", test_resume_errors},
    {"w2v_stream_replay", test_stream_replay},
    {"w2v_stream_same_vectors", test_stream_same_vectors},
    TEST_END,
};
