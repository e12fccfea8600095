/* test_wordlm.c - the word-level next-word model: a hand-computed SGDClassifier hinge step, a
 * fixture from real scikit-learn partial_fit (tests/ref/sgd_hinge_ref.py), finite-difference
 * gradient checks of every loss (hinge, softmax, sampled softmax; W, b and the embeddings),
 * model files (round trip, corrupt and truncated files), building from text and vectors,
 * evaluation against hand-counted figures, and the tokenizer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "lm/wordlm.h"
#include "test_util.h"

/* true weight f of class c */
static double w_true(const firth_wordlm *m, size_t c, size_t f) {
    return m->wscale * (double)m->W[c * m->ld + f];
}

/* One step worked by hand with SGDClassifier's rules (sklearn _sgd_fast.pyx, _plain_sgd):
 * p = w.x + b; w *= 1 - eta alpha; if y p <= 1: w += eta y x, b += eta y.
 * V = 4 classes, N = 1, D = 2, x = E[1] = (1, 2), target 2, eta = 0.1, alpha = 0.5:
 *   class 0: w (0.1, 0.2),   b 0    -> p =  0.5, y -1, z -0.5 <= 1: w = 0.95 w - 0.1 x
 *            = (-0.005, -0.01), b = -0.1, loss 1.5
 *   class 1: w (0.5, -0.75), b 0    -> p = -1.0, y -1, z  1.0 <= 1 (the boundary counts):
 *            w = (0.475 - 0.1, -0.7125 - 0.2) = (0.375, -0.9125), b = -0.1, loss 0
 *   class 2: w (-0.3, 0.4),  b -0.2 -> p =  0.3, y +1, z  0.3: w = (-0.285 + 0.1, 0.38 + 0.2)
 *            = (-0.185, 0.58), b = -0.1, loss 0.7
 *   class 3: w (0.5, -1.0),  b 0.1  -> p = -1.4, y -1, z  1.4 > 1: only the shrink,
 *            w = (0.475, -0.95), b = 0.1
 * total loss 2.2. */
static void test_wordlm_hinge_hand_step(void) {
    firth_wordlm_params p = firth_wordlm_default_params();
    p.context = 1;
    p.lr = 0.1;
    p.alpha = 0.5;
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_blank(&p, 4, 2, &err);
    CHECK(m != NULL, "%s", err.message);
    if (!m) return;
    const float E1[2] = {1, 2};
    memcpy(m->E + 2, E1, sizeof E1);
    const float W0[4][2] = {{0.1f, 0.2f}, {0.5f, -0.75f}, {-0.3f, 0.4f}, {0.5f, -1.0f}};
    const float b0[4] = {0, 0, -0.2f, 0.1f};
    for (int c = 0; c < 4; c++) {
        m->W[c * m->ld] = W0[c][0], m->W[c * m->ld + 1] = W0[c][1];
        m->b[c] = b0[c];
    }
    size_t ctx[1] = {1};
    double loss = 0;
    CHECK(firth_wordlm_step(m, ctx, 2, &loss, &err) == FIRTH_OK, "%s", err.message);
    const double want_w[4][2] = {{-0.005, -0.01}, {0.375, -0.9125}, {-0.185, 0.58}, {0.475, -0.95}};
    const double want_b[4] = {-0.1, -0.1, -0.1, 0.1};
    for (int c = 0; c < 4; c++) {
        CHECK_CLOSE(w_true(m, c, 0), want_w[c][0], 1e-6);
        CHECK_CLOSE(w_true(m, c, 1), want_w[c][1], 1e-6);
        CHECK_CLOSE(m->b[c], want_b[c], 1e-6);
    }
    CHECK_CLOSE(loss, 2.2, 1e-6);
    CHECK_CLOSE(m->wscale, 0.95, 1e-12);
    firth_wordlm_free(m);
}

/* Reads the fixture tests/fixtures/sgd_hinge.txt (from tests/ref/sgd_hinge_ref.py). */
static FILE *open_fixture(const char *name) {
    const char *dirs[] = {"tests/fixtures", "../tests/fixtures", "fixtures"};
    char path[512];
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        FILE *f = fopen(path, "r");
        if (f) return f;
    }
    return NULL;
}

/* The same examples through firth's hinge model and through real sklearn partial_fit: the
 * weights and intercepts must agree at every checkpoint (float32 here, float64 there). */
static void test_wordlm_hinge_matches_sklearn(void) {
    FILE *f = open_fixture("sgd_hinge.txt");
    CHECK(f != NULL, "cannot open tests/fixtures/sgd_hinge.txt (run from the repository root)");
    if (!f) return;
    char magic[32];
    int version = 0, V = 0, D = 0, N = 0, n = 0;
    double eta = 0, alpha = 0;
    int ok = fscanf(f, "%31s %d %d %d %d %d %lf %lf", magic, &version, &V, &D, &N, &n, &eta,
                    &alpha) == 8;
    ok = ok && strcmp(magic, "FIRTH-SGD-HINGE") == 0 && version == 1 && V > 1 && V < 100 &&
         D > 0 && D < 100 && N > 0 && N < 10 && n > 0 && n < 10000;
    CHECK(ok, "bad fixture header");
    if (!ok) {
        fclose(f);
        return;
    }
    firth_wordlm_params p = firth_wordlm_default_params();
    p.context = N;
    p.lr = eta;
    p.alpha = alpha;
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_blank(&p, (size_t)V, D, &err);
    size_t *ctx = malloc((size_t)n * N * sizeof *ctx), *tgt = malloc((size_t)n * sizeof *tgt);
    for (int i = 0; ok && i < (V + 1) * D; i++) {
        double v;
        ok = fscanf(f, "%lf", &v) == 1;
        m->E[i] = (float)v;
    }
    for (int i = 0; ok && i < n; i++) {
        for (int k = 0; ok && k < N; k++) ok = fscanf(f, "%zu", &ctx[i * N + k]) == 1;
        ok = ok && fscanf(f, "%zu", &tgt[i]) == 1;
    }
    CHECK(ok, "bad fixture body");
    int done = 0, checkpoints = 0;
    double worst = 0;
    char word[16];
    int k;
    while (ok && fscanf(f, "%15s %d", word, &k) == 2 && strcmp(word, "step") == 0 && k <= n) {
        for (; done < k; done++)
            CHECK(firth_wordlm_step(m, ctx + (size_t)done * N, tgt[done], NULL, &err) == FIRTH_OK,
                  "%s", err.message);
        for (int c = 0; c < V; c++)
            for (int j = 0; j < N * D; j++) {
                double want;
                ok = ok && fscanf(f, "%lf", &want) == 1;
                double got = w_true(m, (size_t)c, (size_t)j);
                if (fabs(got - want) > worst) worst = fabs(got - want);
                CHECK(fabs(got - want) <= 1e-5, "step %d coef[%d][%d]: firth %.8f sklearn %.8f",
                      k, c, j, got, want);
            }
        for (int c = 0; c < V; c++) {
            double want;
            ok = ok && fscanf(f, "%lf", &want) == 1;
            CHECK(fabs(m->b[c] - want) <= 1e-5, "step %d intercept[%d]: firth %.8f sklearn %.8f",
                  k, c, m->b[c], want);
        }
        checkpoints++;
    }
    CHECK(checkpoints >= 3 && done == n, "read %d checkpoints up to step %d of %d", checkpoints,
          done, n);
    printf("    sklearn partial_fit fixture: %d checkpoints, %d steps, largest difference %.2e\n",
           checkpoints, done, worst);
    free(ctx);
    free(tgt);
    firth_wordlm_free(m);
    fclose(f);
}

/* A random model (V classes, N = 2, D = 3) with W, b, E ~ U(-scale, scale). */
static firth_wordlm *random_model(firth_wordlm_loss loss, int train_emb, size_t V, uint64_t seed,
                                  float scale) {
    firth_wordlm_params p = firth_wordlm_default_params();
    p.loss = loss;
    p.context = 2;
    p.lr = 1.0; /* one step then moves every parameter by exactly minus its gradient */
    p.alpha = 0.0;
    p.train_embeddings = train_emb;
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_blank(&p, V, 3, &err);
    if (!m) return NULL;
    firth_rng r;
    firth_rng_seed(&r, seed);
    for (size_t i = 0; i < (V + 1) * 3; i++) m->E[i] = scale * (2 * firth_rng_float(&r) - 1);
    for (size_t c = 0; c < V; c++) {
        for (size_t f = 0; f < m->F; f++) m->W[c * m->ld + f] = scale * (2 * firth_rng_float(&r) - 1);
        m->b[c] = scale * (2 * firth_rng_float(&r) - 1);
    }
    return m;
}

/* Central differences of the loss against the step's update (lr = 1, alpha = 0: the update is
 * minus the gradient) for every entry of W, b and the embeddings used by the context. */
static void gradient_check(firth_wordlm_loss loss, const size_t *samples, size_t K,
                           const char *what) {
    const size_t V = 6, target = 4;
    const size_t ctx[2] = {2, 6}; /* a word and the padding vector */
    firth_wordlm *m = NULL;
    /* the hinge is not differentiable at margin 1: draw until every margin is well away */
    for (uint64_t seed = 1; seed < 200; seed++) {
        firth_wordlm_free(m);
        m = random_model(loss, 1, V, seed, 0.6f);
        if (!m || loss != FIRTH_WORDLM_HINGE) break;
        float s[6];
        firth_wordlm_scores(m, ctx, 2, s, NULL);
        double closest = 1e9;
        for (size_t c = 0; c < V; c++) {
            double y = c == target ? 1 : -1;
            closest = fmin(closest, fabs(1 - y * s[c]));
        }
        if (closest > 0.05) break;
    }
    CHECK(m != NULL, "no model");
    if (!m) return;
    if (samples) {
        m->p.negative = (int)K;
        firth_error err = {0};
        CHECK(firth_wordlm_prepare_noise(m, &err) == FIRTH_OK, "%s", err.message);
    }
    size_t nw = V * m->ld, ne = (V + 1) * 3;
    float *W0 = malloc(nw * sizeof *W0), *b0 = malloc(V * sizeof *b0), *E0 = malloc(ne * sizeof *E0);
    memcpy(W0, m->W, nw * sizeof *W0);
    memcpy(b0, m->b, V * sizeof *b0);
    memcpy(E0, m->E, ne * sizeof *E0);
    if (samples)
        firth_wordlm_step_sampled(m, ctx, target, samples, K);
    else
        firth_wordlm_step(m, ctx, target, NULL, NULL);
    float *gW = malloc(nw * sizeof *gW), *gb = malloc(V * sizeof *gb), *gE = malloc(ne * sizeof *gE);
    for (size_t i = 0; i < nw; i++) gW[i] = W0[i] - m->W[i]; /* wscale stays 1 with alpha 0 */
    for (size_t i = 0; i < V; i++) gb[i] = b0[i] - m->b[i];
    for (size_t i = 0; i < ne; i++) gE[i] = E0[i] - m->E[i];
    memcpy(m->W, W0, nw * sizeof *W0);
    memcpy(m->b, b0, V * sizeof *b0);
    memcpy(m->E, E0, ne * sizeof *E0);
    const float h = 1e-2f;
    double worst = 0;
    int checked = 0;
#define FD(arr, i, grad)                                                                         \
    do {                                                                                         \
        float keep = arr[i];                                                                     \
        arr[i] = keep + h;                                                                       \
        double lp = firth_wordlm_example_loss(m, ctx, target, samples, K);                       \
        arr[i] = keep - h;                                                                       \
        double lm = firth_wordlm_example_loss(m, ctx, target, samples, K);                       \
        arr[i] = keep;                                                                           \
        double num = (lp - lm) / (2.0 * h), dd = fabs(num - (double)(grad));                     \
        if (dd > worst) worst = dd;                                                              \
        checked++;                                                                               \
        CHECK(dd <= 2e-3 * fmax(1.0, fabs(num)), "%s: %s[%zu]: analytic %.6f, numeric %.6f", what, \
              #arr, (size_t)(i), (double)(grad), num);                                           \
    } while (0)
    for (size_t c = 0; c < V; c++)
        for (size_t f = 0; f < m->F; f++) FD(m->W, c * m->ld + f, gW[c * m->ld + f]);
    for (size_t c = 0; c < V; c++) FD(m->b, c, gb[c]);
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < 3; j++) FD(m->E, ctx[k] * 3 + j, gE[ctx[k] * 3 + j]);
#undef FD
    printf("    %s: %d partial derivatives, largest difference %.2e\n", what, checked, worst);
    free(W0), free(b0), free(E0), free(gW), free(gb), free(gE);
    firth_wordlm_free(m);
}

static void test_wordlm_gradcheck_hinge(void) {
    gradient_check(FIRTH_WORDLM_HINGE, NULL, 0, "one-vs-rest hinge");
}
static void test_wordlm_gradcheck_softmax(void) {
    gradient_check(FIRTH_WORDLM_LOG, NULL, 0, "softmax cross-entropy");
}
static void test_wordlm_gradcheck_sampled(void) {
    /* a repeated class and an accidental hit of the target (4), which must be left out */
    const size_t samples[5] = {1, 3, 3, 4, 0};
    gradient_check(FIRTH_WORDLM_LOG, samples, 5, "sampled softmax");
}

/* Without embedding training, the embeddings never move; with alpha the shrink is exact. */
static void test_wordlm_frozen_embeddings_and_shrink(void) {
    firth_wordlm *m = random_model(FIRTH_WORDLM_LOG, 0, 5, 3, 0.5f);
    if (!m) return;
    m->p.alpha = 0.01;
    m->p.lr = 0.1;
    size_t ne = 6 * 3;
    float E0[18];
    memcpy(E0, m->E, sizeof E0);
    const size_t ctx[2] = {1, 2};
    for (int i = 0; i < 50; i++) firth_wordlm_step(m, ctx, (size_t)(i % 5), NULL, NULL);
    CHECK(memcmp(E0, m->E, ne * sizeof *E0) == 0, "embeddings changed without train_embeddings");
    CHECK_CLOSE(m->wscale, pow(1 - 0.1 * 0.01, 50), 1e-9);
    CHECK(firth_wordlm_steps(m) == 50, "steps %llu", (unsigned long long)firth_wordlm_steps(m));
    firth_wordlm_free(m);
}

/* A word2vec text file and a text; new() + train + eval + save/load. */
static void test_wordlm_build_eval_and_files(void) {
    char *dir = tu_mkdtemp();
    if (!dir) return;
    char *vec = tu_path(dir, "v.txt"), *txt = tu_path(dir, "t.txt"), *lm = tu_path(dir, "m.lm");
    /* "d" has no vector (gets a random one) */
    tu_write_str(vec, "4 2\na 1 0\nb 0 1\nc 1 1\nz -1 0\n");
    /* counts: a 4, b 3, c 2, d 1 (10 tokens) */
    tu_write_str(txt, "A b c a\nb a c\nd a b\n");
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load_raw(vec, 0, &err);
    const char *paths[] = {txt};
    firth_corpus *corpus = firth_corpus_open(paths, 1, &err);
    CHECK(v && corpus, "%s", err.message);
    firth_wordlm_params p = firth_wordlm_default_params();
    p.context = 2;
    p.lowercase = 1;
    p.loss = FIRTH_WORDLM_LOG;
    p.lr = 0.2;
    size_t missing = 99;
    firth_wordlm *m = v && corpus ? firth_wordlm_new(v, corpus, &p, &missing, &err) : NULL;
    CHECK(m != NULL, "%s", err.message);
    if (!m) goto out;
    CHECK(firth_wordlm_vocab_size(m) == 5, "V = %zu", firth_wordlm_vocab_size(m));
    CHECK(missing == 1, "missing %zu", missing);
    CHECK(strcmp(firth_wordlm_word(m, 0), "<unk>") == 0 && strcmp(firth_wordlm_word(m, 1), "a") == 0 &&
              strcmp(firth_wordlm_word(m, 4), "d") == 0, "word order");
    CHECK(m->E[1 * 2] == 1.0f && m->E[1 * 2 + 1] == 0.0f && m->E[3 * 2] == 1.0f, "vectors as stored");
    CHECK(firth_wordlm_train(m, corpus, 30, NULL, NULL, &err) == FIRTH_OK, "%s", err.message);
    CHECK(firth_wordlm_word_count(m, 1) == 4, "count of a %llu",
          (unsigned long long)firth_wordlm_word_count(m, 1));
    firth_wordlm_eval_result r;
    CHECK(firth_wordlm_eval(m, corpus, &r, &err) == FIRTH_OK, "%s", err.message);
    /* unigram baseline by hand: always "a" (4 of 10 targets right); top-5 covers all 4 words;
     * perplexity exp(-(4 ln .4 + 3 ln .3 + 2 ln .2 + ln .1) / 10) */
    CHECK(r.examples == 10 && r.oov_targets == 0, "examples %llu", (unsigned long long)r.examples);
    CHECK_CLOSE(r.unigram_top1, 0.4, 1e-12);
    CHECK_CLOSE(r.unigram_top5, 1.0, 1e-12);
    CHECK_CLOSE(r.unigram_perplexity,
                exp(-(4 * log(.4) + 3 * log(.3) + 2 * log(.2) + log(.1)) / 10), 1e-9);
    CHECK(r.top1 > 0.4 && r.perplexity < r.unigram_perplexity, "trained model top1 %.3f ppl %.3f",
          r.top1, r.perplexity);

    /* round trip: same scores, same settings */
    CHECK(firth_wordlm_save(m, lm, &err) == FIRTH_OK, "%s", err.message);
    firth_wordlm *m2 = firth_wordlm_load(lm, &err);
    CHECK(m2 != NULL, "%s", err.message);
    if (m2) {
        size_t ids[3] = {1, 2, 0};
        float s1[5], s2[5];
        firth_wordlm_scores(m, ids, 3, s1, NULL);
        firth_wordlm_scores(m2, ids, 3, s2, NULL);
        for (int c = 0; c < 5; c++) CHECK_CLOSE(s1[c], s2[c], 1e-5);
        CHECK(firth_wordlm_get_params(m2)->lowercase == 1 &&
                  firth_wordlm_get_params(m2)->loss == FIRTH_WORDLM_LOG &&
                  firth_wordlm_steps(m2) == firth_wordlm_steps(m), "settings round trip");
        size_t *tk = NULL, nt = 0, unk = 0;
        CHECK(firth_wordlm_tokenize(m2, "  B  QQ\ta\n", &tk, &nt, &unk, &err) == FIRTH_OK, "%s",
              err.message);
        CHECK(nt == 3 && tk[0] == 2 && tk[1] == 0 && tk[2] == 1 && unk == 1, "tokenize: %zu", nt);
        free(tk);
        CHECK(firth_wordlm_tokenize(m2, "a \xff b", &tk, &nt, &unk, &err) == FIRTH_ERR_INPUT,
              "invalid UTF-8 accepted");
    }
    firth_wordlm_free(m2);

    /* corrupt files: every one refused with FIRTH_ERR_INPUT, never a crash */
    size_t n = 0;
    unsigned char *bytes = tu_read(lm, &n);
    char *bad = tu_path(dir, "bad.lm");
    if (bytes) {
        size_t cuts[] = {0, 7, 100, 128, n / 2, n - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            tu_write(bad, bytes, cuts[i]);
            firth_error e = {0};
            firth_wordlm *x = firth_wordlm_load(bad, &e);
            CHECK(!x && e.status == FIRTH_ERR_INPUT, "truncated at %zu: status %d", cuts[i], e.status);
            firth_wordlm_free(x);
        }
        unsigned char *c = malloc(n);
        memcpy(c, bytes, n);
        c[0] = 'X'; /* magic */
        tu_write(bad, c, n);
        firth_error e = {0};
        CHECK(!firth_wordlm_load(bad, &e) && strstr(e.message, "magic"), "magic: %s", e.message);
        memcpy(c, bytes, n);
        memset(c + 48, 0xFF, 8); /* V */
        tu_write(bad, c, n);
        CHECK(!firth_wordlm_load(bad, &e) && e.status == FIRTH_ERR_INPUT, "huge V: %s", e.message);
        memcpy(c, bytes, n);
        float nanv = NAN;
        memcpy(c + n - 4, &nanv, 4); /* last intercept */
        tu_write(bad, c, n);
        CHECK(!firth_wordlm_load(bad, &e) && strstr(e.message, "non-finite"), "NaN: %s", e.message);
        memcpy(c, bytes, n);
        c[128 + 3] = 'x'; /* "<unk>" -> "<unx>" */
        tu_write(bad, c, n);
        CHECK(!firth_wordlm_load(bad, &e) && e.status == FIRTH_ERR_INPUT, "first word: %s", e.message);
        /* every truncation, and every single bit of the header and of the words flipped: either
         * refused with FIRTH_ERR_INPUT or (a flip in a field that stays valid, e.g. the learning
         * rate) a model that scores and tokenizes without fault (ASan/UBSan watch this one) */
        size_t refused = 0, loaded = 0, words_end = 128 + (size_t)m->words_bytes;
        for (size_t cut = 0; cut < n; cut++) {
            tu_write(bad, bytes, cut);
            firth_error e2 = {0};
            firth_wordlm *x = firth_wordlm_load(bad, &e2);
            CHECK(!x && e2.status == FIRTH_ERR_INPUT, "truncated at %zu of %zu: status %d", cut, n,
                  e2.status);
            firth_wordlm_free(x);
        }
        for (size_t bit = 0; bit < 8 * words_end; bit++) {
            memcpy(c, bytes, n);
            c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            tu_write(bad, c, n);
            firth_error e2 = {0};
            firth_wordlm *x = firth_wordlm_load(bad, &e2);
            if (!x) {
                refused++;
                CHECK(e2.status == FIRTH_ERR_INPUT && e2.message[0], "bit %zu: status %d", bit,
                      e2.status);
                continue;
            }
            loaded++;
            size_t V = firth_wordlm_vocab_size(x), ids[3] = {1, 2, 0}, *tk = NULL, nt = 0;
            float *sc = malloc(V * sizeof *sc);
            CHECK(sc && firth_wordlm_scores(x, ids, 3, sc, &e2) == FIRTH_OK, "bit %zu: scores", bit);
            free(sc);
            if (firth_wordlm_tokenize(x, "a b QQ c", &tk, &nt, NULL, &e2) == FIRTH_OK) free(tk);
            firth_wordlm_free(x);
        }
        printf("    %zu truncations refused; %zu bit flips in header and words: %zu refused, %zu "
               "still a valid model\n",
               n, 8 * words_end, refused, loaded);
        free(c);
        free(bytes);
    }
    free(bad);
out:
    firth_wordlm_free(m);
    firth_corpus_free(corpus);
    firth_vectors_free(v);
    free(vec), free(txt), free(lm);
    tu_rmdir(dir);
}

/* The fused kernels of firth_wordlm_step against the obvious BLAS ones (firth_wordlm_step_naive)
 * over many steps: both losses, with and without embedding training, an L2 shrink small enough
 * to pass WSCALE_MIN (so the fold into W is exercised), F = 15 (rows padded to 16). */
static void test_wordlm_fused_matches_naive(void) {
    for (int loss = 0; loss < 2; loss++)
        for (int emb = 0; emb < 2; emb++) {
            firth_wordlm_params p = firth_wordlm_default_params();
            p.loss = loss ? FIRTH_WORDLM_LOG : FIRTH_WORDLM_HINGE;
            p.context = 3;
            p.lr = 0.5;
            p.alpha = 0.04; /* wscale falls by 0.98 a step: below 1e-9 after ~1030 steps */
            p.train_embeddings = emb;
            p.emb_lr = 0.01;
            firth_error err = {0};
            const size_t V = 37;
            firth_wordlm *a = firth_wordlm_blank(&p, V, 5, &err), *b = firth_wordlm_blank(&p, V, 5, &err);
            CHECK(a && b, "%s", err.message);
            if (!a || !b) {
                firth_wordlm_free(a), firth_wordlm_free(b);
                return;
            }
            firth_rng r;
            firth_rng_seed(&r, 99);
            for (size_t i = 0; i < (V + 1) * 5; i++) a->E[i] = b->E[i] = firth_rng_float(&r) - 0.5f;
            size_t ids[1200];
            for (size_t i = 0; i < 1200; i++) ids[i] = 1 + firth_rng_next(&r) % (V - 1);
            double worst_loss = 0;
            uint64_t folds = 0;
            for (size_t i = 3; i < 1200; i++) {
                double before = a->wscale, la = 0;
                CHECK(firth_wordlm_step(a, ids + i - 3, ids[i], &la, &err) == FIRTH_OK, "%s",
                      err.message);
                double lb = firth_wordlm_step_naive(b, ids + i - 3, ids[i]);
                folds += a->wscale > before;
                worst_loss = fmax(worst_loss, fabs(la - lb) / fmax(1.0, fabs(lb)));
            }
            double worst = 0;
            for (size_t c = 0; c < V; c++) {
                for (size_t f = 0; f < a->ld; f++) {
                    double wa = w_true(a, c, f), wb = w_true(b, c, f);
                    worst = fmax(worst, fabs(wa - wb) / fmax(1e-3, fabs(wb)));
                }
                worst = fmax(worst, fabs(a->b[c] - b->b[c]) / fmax(1e-3, fabs(b->b[c])));
            }
            double worst_e = 0;
            for (size_t i = 0; i < (V + 1) * 5; i++) worst_e = fmax(worst_e, fabs(a->E[i] - b->E[i]));
            CHECK(worst < 1e-3 && worst_e < 1e-4 && worst_loss < 1e-4,
                  "%s%s: weights %.2e, embeddings %.2e, loss %.2e", loss ? "log" : "hinge",
                  emb ? " + embeddings" : "", worst, worst_e, worst_loss);
            CHECK(folds > 0, "the scale was never folded into W");
            printf("    %s%s: 1197 steps, largest relative difference W/b %.2e, E %.2e, loss %.2e\n",
                   loss ? "softmax" : "hinge", emb ? " + embeddings" : "", worst, worst_e, worst_loss);
            firth_wordlm_free(a);
            firth_wordlm_free(b);
        }
}

/* More sampled classes than classes (K + 1 > V) works: the scratch grows (ASan would see an
 * overflow otherwise), and the step still moves the target's score up. */
static void test_wordlm_sampled_more_than_vocab(void) {
    firth_wordlm *m = random_model(FIRTH_WORDLM_LOG, 1, 4, 5, 0.3f);
    if (!m) return;
    m->p.negative = 50;
    const size_t ctx[2] = {1, 2};
    float s0[4], s1[4];
    firth_wordlm_scores(m, ctx, 2, s0, NULL);
    m->p.lr = 0.1;
    firth_error err = {0};
    double loss = 0;
    CHECK(firth_wordlm_step(m, ctx, 3, &loss, &err) == FIRTH_OK && isfinite(loss), "%s",
          err.message);
    firth_wordlm_scores(m, ctx, 2, s1, NULL);
    CHECK(s1[3] > s0[3], "target score %g -> %g", s0[3], s1[3]);
    firth_wordlm_free(m);
}

static int count_threads(const firth_progress *p, void *user) {
    *(int *)user = p->threads;
    return 0;
}

/* firth_wordlm_train with the classes split between 2 and 3 threads against 1 thread: the hinge
 * model (no embedding training) bit for bit (each class's arithmetic is the same, whichever
 * thread does it), the others to float rounding (dL/dx and the softmax normaliser are summed in
 * another order). 1,500 classes x 64 floats: large enough for the pool to start. */
static void test_wordlm_threads_match_one(void) {
    char *dir = tu_mkdtemp();
    if (!dir) return;
    char *vec = tu_path(dir, "v.txt"), *txt = tu_path(dir, "t.txt");
    tu_write_str(vec, "1 16\nnone 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    /* 6,000 words over 1,500 distinct ones, with structure: w(i) depends on w(i - 1) */
    FILE *f = fopen(txt, "w");
    firth_rng r;
    firth_rng_seed(&r, 4);
    size_t prev = 0;
    for (int i = 0; i < 6000; i++) {
        prev = (prev * 7 + (firth_rng_next(&r) % 4 == 0 ? firth_rng_next(&r) % 1500 : 3)) % 1500;
        fprintf(f, "w%zu%c", i < 1500 ? (size_t)i : prev, i % 20 == 19 ? '\n' : ' ');
    }
    fclose(f);
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load_raw(vec, 0, &err);
    const char *paths[] = {txt};
    firth_corpus *corpus = firth_corpus_open(paths, 1, &err);
    CHECK(v && corpus, "%s", err.message);
    for (int cfg = 0; v && corpus && cfg < 4; cfg++) {
        firth_wordlm_params p = firth_wordlm_default_params();
        p.context = 4;
        p.loss = cfg < 2 ? FIRTH_WORDLM_HINGE : FIRTH_WORDLM_LOG;
        p.train_embeddings = cfg % 2;
        p.lr = cfg < 2 ? 0.01 : 0.05;
        p.emb_lr = 0.01;
        firth_wordlm *m[3] = {NULL, NULL, NULL};
        int seen[3] = {0, 0, 0};
        for (int t = 0; t < 3; t++) {
            m[t] = firth_wordlm_new(v, corpus, &p, NULL, &err);
            CHECK(m[t] && firth_wordlm_set_threads(m[t], t + 1, &err) == FIRTH_OK, "%s",
                  err.message);
            if (!m[t]) continue;
            CHECK(firth_wordlm_train(m[t], corpus, 2, count_threads, &seen[t], &err) == FIRTH_OK,
                  "%s", err.message);
            CHECK(seen[t] == t + 1, "trained with %d threads, asked for %d", seen[t], t + 1);
        }
        if (m[0] && m[1] && m[2]) {
            size_t V = m[0]->V, nw = V * m[0]->ld, ne = (V + 1) * 16;
            CHECK(V >= 1500 && nw >= (1u << 16), "V = %zu: too small for the pool", V);
            for (int t = 1; t < 3; t++) {
                double worst = 0;
                for (size_t i = 0; i < nw; i++)
                    worst = fmax(worst, fabs(m[t]->wscale * m[t]->W[i] - m[0]->wscale * m[0]->W[i]));
                for (size_t i = 0; i < V; i++) worst = fmax(worst, fabs(m[t]->b[i] - m[0]->b[i]));
                for (size_t i = 0; i < ne; i++) worst = fmax(worst, fabs(m[t]->E[i] - m[0]->E[i]));
                if (cfg == 0)
                    CHECK(worst == 0 && m[t]->wscale == m[0]->wscale,
                          "hinge, %d threads: differs from 1 thread by %.3g", t + 1, worst);
                else
                    CHECK(worst < (cfg % 2 ? 1e-3 : 1e-5), "%s%s, %d threads: differs from 1 thread by %.3g",
                          cfg < 2 ? "hinge" : "log", cfg % 2 ? " + embeddings" : "", t + 1, worst);
                printf("    %s%s, %d threads vs 1: largest difference %.2e\n", cfg < 2 ? "hinge" : "log",
                       cfg % 2 ? " + embeddings" : "", t + 1, worst);
            }
        }
        for (int t = 0; t < 3; t++) firth_wordlm_free(m[t]);
    }
    firth_error e2 = {0};
    firth_wordlm_params p = firth_wordlm_default_params();
    firth_wordlm *b = firth_wordlm_blank(&p, 3, 2, &e2);
    CHECK(b && firth_wordlm_set_threads(b, 0, &e2) == FIRTH_ERR_PARAM &&
              firth_wordlm_set_threads(b, FIRTH_WORDLM_MAX_THREADS + 1, &e2) == FIRTH_ERR_PARAM,
          "bad thread counts accepted");
    firth_wordlm_free(b);
    firth_corpus_free(corpus);
    firth_vectors_free(v);
    free(vec), free(txt);
    tu_rmdir(dir);
}

static void test_wordlm_bad_params(void) {
    firth_wordlm_params p = firth_wordlm_default_params();
    firth_error err = {0};
    CHECK(firth_wordlm_check_params(&p, &err) == FIRTH_OK, "%s", err.message);
    p.negative = 5; /* hinge + sampling */
    CHECK(firth_wordlm_check_params(&p, &err) == FIRTH_ERR_PARAM, "hinge with negative");
    p = firth_wordlm_default_params();
    p.context = 0;
    CHECK(firth_wordlm_check_params(&p, &err) == FIRTH_ERR_PARAM, "context 0");
    p = firth_wordlm_default_params();
    p.lr = NAN;
    CHECK(firth_wordlm_check_params(&p, &err) == FIRTH_ERR_PARAM, "lr NaN");
}

const test_case tests_wordlm[] = {
    {"wordlm_hinge_hand_step", test_wordlm_hinge_hand_step},
    {"wordlm_hinge_matches_sklearn", test_wordlm_hinge_matches_sklearn},
    {"wordlm_gradcheck_hinge", test_wordlm_gradcheck_hinge},
    {"wordlm_gradcheck_softmax", test_wordlm_gradcheck_softmax},
    {"wordlm_gradcheck_sampled", test_wordlm_gradcheck_sampled},
    {"wordlm_frozen_embeddings_and_shrink", test_wordlm_frozen_embeddings_and_shrink},
    {"wordlm_build_eval_and_files", test_wordlm_build_eval_and_files},
    {"wordlm_fused_matches_naive", test_wordlm_fused_matches_naive},
    {"wordlm_sampled_more_than_vocab", test_wordlm_sampled_more_than_vocab},
    {"wordlm_threads_match_one", test_wordlm_threads_match_one},
    {"wordlm_bad_params", test_wordlm_bad_params},
    TEST_END,
};
