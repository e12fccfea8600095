/* test_charlm.c - the character LSTM language model.
 *
 * References:
 *  1. PyTorch (nn.LSTM, nn.Linear, cross_entropy in float64) on a tiny model with fixed weights,
 *     one-hot and embedded input: logits, loss, every gradient and the final state, from the
 *     fixtures written by tests/ref/charlm_torch_ref.py (regenerate with
 *     `/usr/bin/python3 tests/ref/charlm_torch_ref.py tests/fixtures`); to 1e-4 relative;
 *  2. central finite differences of the whole model's loss against its gradient, every parameter;
 *  3. Adam against Kingma and Ba's Algorithm 1 computed by hand in double; clipping on a 5-12-13
 *     triangle;
 *  4. known answers: all-zero weights predict uniformly, so the loss is log V exactly;
 *  5. checkpoints: round trip bit for bit, resume byte-identical to an uninterrupted run (with
 *     dropout, across an epoch boundary), truncated/corrupt files refused cleanly, divergence
 *     leaves the last checkpoint in place;
 *  6. training with bfloat16 products close to float's and repeatable (the products themselves
 *     against double references in test_lstm.c and test_pool.c). */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "lm/charlm.h"
#include "test_util.h"

/* ---- PyTorch fixtures ------------------------------------------------------------------------ */

typedef struct fixture {
    unsigned char *buf;
    size_t n, pos;
    int bad;
} fixture;

static const void *take(fixture *f, size_t bytes) {
    if (f->pos + bytes > f->n) {
        f->bad = 1;
        return NULL;
    }
    const void *p = f->buf + f->pos;
    f->pos += bytes;
    return p;
}

static char *fixture_path(const char *name) {
    /* __FILE__ is tests/test_charlm.c as the Makefile compiles it from the repository root */
    const char *env = getenv("FIRTH_FIXTURES");
    char dir[1024];
    if (env) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        snprintf(dir, sizeof dir, "%s", __FILE__);
        char *slash = strrchr(dir, '/');
        if (slash)
            strcpy(slash, "/fixtures");
        else
            strcpy(dir, "fixtures");
    }
    return tu_path(dir, name);
}

/* Relative difference as CHECK_CLOSE measures it: |a - b| / max(1, |a|, |b|). */
static double rel(double a, double b) {
    double s = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) / (s > 1 ? s : 1);
}

/* The largest |a[i] - b[i]| over n floats. */
static double max_abs_diff(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        worst = d > worst ? d : worst;
    }
    return worst;
}

static double max_rel(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = rel(a[i], b[i]) > m ? rel(a[i], b[i]) : m;
    return m;
}

static firth_charlm *tiny_model(int V, int E, int L, int H, int T, int B) {
    char text[64];
    for (int i = 0; i < V; i++) text[i] = (char)('a' + i); /* vocabulary a.. in id order */
    firth_charlm_params p = firth_charlm_default_params();
    p.layers = L, p.hidden = H, p.embed = E, p.seq = T, p.batch = B;
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, (size_t)V, &p, &err);
    CHECK(m != NULL, "firth_charlm_new: %s", err.message);
    return m;
}

static void torch_case(const char *name) {
    char *path = fixture_path(name);
    fixture f = {0};
    f.buf = tu_read(path, &f.n);
    CHECK(f.buf != NULL, "cannot read the fixture %s", path);
    if (!f.buf) return free(path);
    const uint32_t *hd = take(&f, 8 + 7 * 4);
    CHECK(hd && memcmp(f.buf, "FIRTHCLR", 8) == 0 && hd[2] == 1, "%s: bad magic or version",
          path);
    uint32_t dims[6];
    memcpy(dims, f.buf + 12, sizeof dims);
    int V = (int)dims[0], E = (int)dims[1], L = (int)dims[2], H = (int)dims[3], T = (int)dims[4],
        B = (int)dims[5];
    firth_charlm *m = tiny_model(V, E, L, H, T, B);
    if (!m) return free(f.buf), free(path);
    const charlm_offsets *o = &m->off;
    size_t G = 4 * (size_t)H, TB = (size_t)T * B, BH = (size_t)B * H;
    /* the tensors in the fixture's order */
    size_t offs[2 + 3 * FIRTH_CHARLM_MAX_LAYERS + 2], lens[sizeof offs / sizeof *offs];
    int nt = 0;
    if (E) offs[nt] = o->emb, lens[nt++] = (size_t)V * E;
    for (int l = 0; l < L; l++) {
        offs[nt] = o->wx[l], lens[nt++] = (size_t)(l ? H : (E ? E : V)) * G;
        offs[nt] = o->wh[l], lens[nt++] = (size_t)H * G;
        offs[nt] = o->b[l], lens[nt++] = G;
    }
    offs[nt] = o->wy, lens[nt++] = (size_t)H * V;
    offs[nt] = o->by, lens[nt++] = (size_t)V;
    for (int k = 0; k < nt; k++) {
        const float *src = take(&f, lens[k] * 4);
        if (src) memcpy(m->params + offs[k], src, lens[k] * 4);
    }
    int32_t *ids = malloc(TB * 4), *tgt = malloc(TB * 4);
    const void *pi = take(&f, TB * 4), *pt = take(&f, TB * 4);
    if (pi) memcpy(ids, pi, TB * 4);
    if (pt) memcpy(tgt, pt, TB * 4);
    const float *h0 = take(&f, (size_t)L * BH * 4), *c0 = take(&f, (size_t)L * BH * 4);
    const float *logits = take(&f, TB * (size_t)V * 4);
    const void *loss_at = take(&f, 8);
    double loss_ref[1] = {0}; /* not 8-byte aligned in the file */
    if (loss_at) memcpy(loss_ref, loss_at, 8);
    const float *grads[sizeof offs / sizeof *offs];
    for (int k = 0; k < nt; k++) grads[k] = take(&f, lens[k] * 4);
    const float *hT = take(&f, (size_t)L * BH * 4), *cT = take(&f, (size_t)L * BH * 4);
    CHECK(!f.bad && f.pos == f.n, "%s: size does not match its header", path);
    if (f.bad) goto done;

    float *state = malloc((size_t)L * 2 * BH * 4);
    for (int l = 0; l < L; l++) {
        memcpy(state + (size_t)(2 * l) * BH, h0 + (size_t)l * BH, BH * 4);
        memcpy(state + (size_t)(2 * l + 1) * BH, c0 + (size_t)l * BH, BH * 4);
    }
    float *state2 = malloc((size_t)L * 2 * BH * 4);
    memcpy(state2, state, (size_t)L * 2 * BH * 4);
    double loss = firth_charlm_forward_backward(m, T, B, ids, tgt, state, 0) / (double)TB;
    double worst = 0, e;
    e = max_rel(m->logits, logits, TB * V);
    worst = e > worst ? e : worst;
    CHECK(e < 1e-4, "%s: logits differ by %.3g", name, e);
    e = rel(loss, *loss_ref);
    worst = e > worst ? e : worst;
    CHECK(e < 1e-4, "%s: loss %.9g vs PyTorch %.9g", name, loss, *loss_ref);
    for (int l = 0; l < L; l++) {
        e = max_rel(state + (size_t)(2 * l) * BH, hT + (size_t)l * BH, BH);
        worst = e > worst ? e : worst;
        CHECK(e < 1e-4, "%s: final h of layer %d differs by %.3g", name, l, e);
        e = max_rel(state + (size_t)(2 * l + 1) * BH, cT + (size_t)l * BH, BH);
        worst = e > worst ? e : worst;
        CHECK(e < 1e-4, "%s: final c of layer %d differs by %.3g", name, l, e);
    }
    memset(m->grads, 0, m->off.n * 4);
    double loss2 = firth_charlm_forward_backward(m, T, B, ids, tgt, state2, 1) / (double)TB;
    CHECK(loss2 == loss, "%s: the training pass gives another loss", name);
    double gmax = 0;
    for (int k = 0; k < nt; k++) {
        e = max_rel(m->grads + offs[k], grads[k], lens[k]);
        for (size_t i = 0; i < lens[k]; i++) gmax = fabs(grads[k][i]) > gmax ? fabs(grads[k][i]) : gmax;
        worst = e > worst ? e : worst;
        CHECK(e < 1e-4, "%s: gradient of tensor %d differs by %.3g", name, k, e);
    }
    printf("    %s: largest difference from PyTorch %.3g (loss %.7f, PyTorch %.7f, largest "
           "gradient %.3g)\n", name, worst, loss, *loss_ref, gmax);
    CHECK(gmax > 0.01, "%s: gradients too small to test anything", name);
    free(state), free(state2);
done:
    free(ids), free(tgt);
    firth_charlm_free(m);
    free(f.buf), free(path);
}

static void test_charlm_torch_onehot(void) { torch_case("charlm_torch_onehot.bin"); }
static void test_charlm_torch_embed(void) { torch_case("charlm_torch_embed.bin"); }

/* ---- finite differences of the whole model ------------------------------------------------- */

/* Random weights in +-0.7 and T B random inputs and targets of V classes, from rng seeded with
 * seed (left where it stands for the caller's further draws). */
static void random_case(firth_charlm *m, firth_rng *rng, uint64_t seed, int V, int TB,
                        int32_t *ids, int32_t *tgt) {
    firth_rng_seed(rng, seed);
    for (size_t i = 0; i < m->off.n; i++)
        m->params[i] = (float)((2 * firth_rng_double(rng) - 1) * 0.7);
    for (int i = 0; i < TB; i++)
        ids[i] = (int32_t)firth_rng_below(rng, V), tgt[i] = (int32_t)firth_rng_below(rng, V);
}

static void test_charlm_finite_differences(void) {
    const int V = 5, E = 3, L = 2, H = 4, T = 3, B = 2;
    for (int onehot = 0; onehot < 2; onehot++) {
        firth_charlm *m = tiny_model(V, onehot ? 0 : E, L, H, T, B);
        if (!m) return;
        firth_rng rng;
        int32_t ids[6], tgt[6];
        random_case(m, &rng, 3, V, T * B, ids, tgt);
        size_t sn = (size_t)L * 2 * B * H;
        float *s0 = malloc(sn * 4), *s = malloc(sn * 4);
        for (size_t i = 0; i < sn; i++) s0[i] = (float)((2 * firth_rng_double(&rng) - 1) * 0.5);
        memcpy(s, s0, sn * 4);
        memset(m->grads, 0, m->off.n * 4);
        firth_charlm_forward_backward(m, T, B, ids, tgt, s, 1);
        float *g = malloc(m->off.n * 4);
        for (size_t i = 0; i < m->off.n; i++) g[i] = m->grads[i] * (float)(T * B); /* of the sum */
        double worst = 0;
        int bad = 0, tested = 0;
        for (size_t i = 0; i < m->off.n; i++) {
            float p0 = m->params[i];
            const float eps = 4e-3f;
            m->params[i] = p0 + eps;
            float up = m->params[i];
            memcpy(s, s0, sn * 4);
            double lp = firth_charlm_forward_backward(m, T, B, ids, tgt, s, 0);
            m->params[i] = p0 - eps;
            float dn = m->params[i];
            memcpy(s, s0, sn * 4);
            double lm = firth_charlm_forward_backward(m, T, B, ids, tgt, s, 0);
            m->params[i] = p0;
            double fd = (lp - lm) / ((double)up - (double)dn), e = rel(fd, g[i]);
            if (fd == 0 && g[i] == 0) continue; /* padding between tensors */
            tested++;
            worst = e > worst ? e : worst;
            bad += e > 5e-4;
        }
        printf("    model finite differences (%s): %d parameters, largest difference %.3g\n",
               onehot ? "one-hot" : "embedding", tested, worst);
        CHECK(bad == 0 && tested > 100, "%d of %d gradients differ by more than 5e-4 (worst %g)",
              bad, tested, worst);
        free(g), free(s), free(s0);
        firth_charlm_free(m);
    }
}

/* With dropout the masks come from the model's RNG: resetting it before each forward pass keeps
 * the same masks, so the masked loss is a fixed function of the weights and its gradient can be
 * checked the same way (one and two layers: the top layer's output and the inputs of the layers
 * above the first are dropped). Also: with dropout 0 the training pass gives the evaluation
 * pass's loss, with dropout it does not, and some but not all of the top layer's mask is zero.
 * The same for weight drop (a mask over each layer's recurrent weights, drawn per pass), alone
 * and with dropout: a dropped weight's gradient is exactly 0. And for locked dropout, whose
 * masks repeat the first time step's at every later one. And for input dropout (one-hot and
 * embedded input), alone and with dropout: some but not all input characters are dropped. */
static void test_charlm_dropout_gradients(void) {
    const int V = 5, H = 4, T = 3, B = 2;
    const struct { int L; double dropout, wdrop; int locked; double idrop; int E; } cases[] = {
        {1, 0.3, 0, 0, 0, 0}, {2, 0.3, 0, 0, 0, 0}, {1, 0, 0.4, 0, 0, 0}, {2, 0, 0.4, 0, 0, 0},
        {2, 0.3, 0.4, 0, 0, 0}, {2, 0.3, 0, 1, 0, 0}, {3, 0.4, 0.4, 1, 0, 0},
        {1, 0, 0, 0, 0.4, 0}, {2, 0.3, 0, 0, 0.4, 0}, {2, 0.3, 0, 0, 0.4, 3}};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const int L = cases[ci].L, E = cases[ci].E;
        firth_charlm *m = tiny_model(V, E, L, H, T, B);
        if (!m) return;
        firth_rng rng;
        int32_t ids[6], tgt[6];
        random_case(m, &rng, 11, V, T * B, ids, tgt);
        size_t sn = (size_t)L * 2 * B * H;
        float *s = calloc(sn, 4);
        double plain = firth_charlm_forward_backward(m, T, B, ids, tgt, s, 0);
        memset(s, 0, sn * 4);
        double same = firth_charlm_forward_backward(m, T, B, ids, tgt, s, 1);
        CHECK(same == plain, "dropout 0: training loss %.17g, evaluation loss %.17g", same, plain);
        firth_charlm_params q = m->p;
        q.dropout = cases[ci].dropout, q.wdrop = cases[ci].wdrop;
        q.dropout_locked = cases[ci].locked, q.input_dropout = cases[ci].idrop;
        firth_error err = {0};
        CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_OK &&
                  firth_charlm_work_train(m, &err) == FIRTH_OK,
              "%s", err.message);
        const firth_rng r0 = m->rng;
        memset(s, 0, sn * 4);
        memset(m->grads, 0, m->off.n * 4);
        double masked = firth_charlm_forward_backward(m, T, B, ids, tgt, s, 1);
        CHECK(masked != plain, "%d layer(s), dropout %g, wdrop %g, input dropout %g: the loss "
              "stayed as it was", L, q.dropout, q.wdrop, q.input_dropout);
        int zeros = 0, wzeros = 0, wgrad0 = 0, wn = q.wdrop > 0 ? L * H * 4 * H : 0, izeros = 0;
        if (q.input_dropout > 0) {
            for (int k = 0; k < T * B; k++) izeros += m->imask[k] == 0.0f;
            CHECK(izeros > 0 && izeros < T * B, "input mask: %d of %d zero", izeros, T * B);
        }
        if (q.dropout > 0) {
            for (int k = 0; k < T * B * H; k++) zeros += m->mask[k] == 0.0f; /* slot 0: top */
            CHECK(zeros > 0 && zeros < T * B * H, "top-layer mask: %d of %d zero", zeros,
                  T * B * H);
            /* every slot (0: top, l > 0: input of layer l): time step t's mask is step 0's
             * when locked; without, some element differs */
            int repeats = 1;
            for (int slot = 0; slot < L; slot++)
                for (int k = B * H; k < T * B * H; k++)
                    repeats &= m->mask[(size_t)slot * T * B * H + k] ==
                               m->mask[(size_t)slot * T * B * H + k % (B * H)];
            CHECK(repeats == q.dropout_locked, "locked %d: masks %s over time", q.dropout_locked,
                  repeats ? "repeat" : "do not repeat");
        }
        for (int l = 0; l < L && wn; l++)
            for (int k = 0; k < H * 4 * H; k++) {
                int dropped = m->wmask[(size_t)l * H * 4 * H + k] == 0.0f;
                wzeros += dropped;
                wgrad0 += dropped && m->grads[m->off.wh[l] + (size_t)k] != 0.0f;
            }
        CHECK(!wn || (wzeros > wn / 5 && wzeros < wn * 3 / 5 && wgrad0 == 0),
              "weight mask: %d of %d zero (rate 0.4); %d dropped weights with a gradient",
              wzeros, wn, wgrad0);
        float *g = malloc(m->off.n * 4);
        for (size_t i = 0; i < m->off.n; i++) g[i] = m->grads[i] * (float)(T * B);
        double worst = 0;
        int bad = 0, tested = 0;
        for (size_t i = 0; i < m->off.n; i++) {
            float p0 = m->params[i];
            const float eps = 4e-3f;
            double l2[2];
            float at[2];
            for (int k = 0; k < 2; k++) {
                m->params[i] = p0 + (k ? -eps : eps);
                at[k] = m->params[i];
                m->rng = r0;
                memset(s, 0, sn * 4);
                l2[k] = firth_charlm_forward_backward(m, T, B, ids, tgt, s, 1);
            }
            m->params[i] = p0;
            double fd = (l2[0] - l2[1]) / ((double)at[0] - (double)at[1]), e = rel(fd, g[i]);
            if (fd == 0 && g[i] == 0) continue; /* padding, or rows only dropped units reach */
            tested++;
            worst = e > worst ? e : worst;
            bad += e > 5e-4;
        }
        printf("    dropout %g%s, wdrop %g, input dropout %g, %d layer(s), embed %d: %d "
               "parameters, largest difference %.3g; top mask %d of %d zero, weight mask %d of "
               "%d, input mask %d of %d\n", q.dropout, q.dropout_locked ? " (locked)" : "",
               q.wdrop, q.input_dropout, L, E, tested, worst, zeros, T * B * H, wzeros, wn,
               izeros, T * B);
        CHECK(bad == 0 && tested > 50, "%d of %d gradients differ by more than 5e-4 (worst %g)",
              bad, tested, worst);
        free(g), free(s);
        firth_charlm_free(m);
    }
}

/* ---- optimiser -------------------------------------------------------------------------------- */

/* char-rnn's schedule: lr x decay at the end of every epoch k (1-based) with k >= after. */
static void test_charlm_lr_decay_schedule(void) {
    firth_charlm_params p = firth_charlm_default_params();
    p.lr = 1.0, p.lr_decay = 0.5, p.lr_decay_after = 2;
    const double want2[] = {1, 1, 0.5, 0.25, 0.125};
    for (int e = 0; e < 5; e++) CHECK_CLOSE(firth_charlm_lr_at(&p, (uint64_t)e), want2[e], 1e-15);
    for (int after = 0; after <= 1; after++) { /* the first decay is at the end of epoch 1 */
        p.lr_decay_after = after;
        const double want[] = {1, 0.5, 0.25};
        for (int e = 0; e < 3; e++)
            CHECK_CLOSE(firth_charlm_lr_at(&p, (uint64_t)e), want[e], 1e-15);
    }
    p.lr_decay = 1.0;
    CHECK(firth_charlm_lr_at(&p, 1000) == 1.0, "decay 1 is constant");
    CHECK(firth_charlm_default_params().lr_decay == 1.0 &&
              firth_charlm_default_params().lr_decay_after == 10,
          "defaults: constant, char-rnn's epoch 10");
    firth_error err = {0};
    p.lr_decay = 0;
    CHECK(firth_charlm_check_params(&p, &err) == FIRTH_ERR_PARAM, "lr_decay 0 refused");
    p.lr_decay = 1.5;
    CHECK(firth_charlm_check_params(&p, &err) == FIRTH_ERR_PARAM, "lr_decay 1.5 refused");
    p.lr_decay = 0.5, p.lr_decay_after = -1;
    CHECK(firth_charlm_check_params(&p, &err) == FIRTH_ERR_PARAM, "lr_decay_after -1 refused");
}

static void test_charlm_adam(void) {
    enum { N = 6 };
    float p[N] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f, -0.25f}, m[N] = {0}, v[N] = {0};
    double pd[N], md[N] = {0}, vd[N] = {0}, p0[N];
    for (int i = 0; i < N; i++) pd[i] = p0[i] = p[i];
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double worst = 0;
    for (int t = 1; t <= 4; t++) {
        float g[N];
        for (int i = 0; i < N; i++) g[i] = (float)((i - 2.5) * 0.3 * t + (i == 3 ? 1e-3 : 0));
        firth_charlm_adam(p, g, m, v, N, lr, b1, b2, eps, (uint64_t)t);
        for (int i = 0; i < N; i++) { /* Kingma & Ba 2015, Algorithm 1 */
            md[i] = b1 * md[i] + (1 - b1) * g[i];
            vd[i] = b2 * vd[i] + (1 - b2) * (double)g[i] * g[i];
            double mh = md[i] / (1 - pow(b1, t)), vh = vd[i] / (1 - pow(b2, t));
            pd[i] -= lr * mh / (sqrt(vh) + eps);
            if (t == 1) /* the first step moves every weight by lr against its gradient's sign */
                CHECK_CLOSE(p[i], p0[i] - (g[i] > 0 ? lr : -lr), 1e-5);
            worst = rel(p[i], pd[i]) > worst ? rel(p[i], pd[i]) : worst;
            CHECK_CLOSE(p[i], pd[i], 1e-6);
        }
    }
    printf("    Adam vs Algorithm 1 by hand: largest difference %.3g\n", worst);
}

/* AdamW's decoupled weight decay as torch.optim.AdamW defines it: p <- p (1 - lr wd), then the
 * Adam step. From the same start and the same batch, one step with weight decay wd and one
 * without differ by exactly -lr wd p0 on every weight of the matrices (the gradients and so the
 * Adam steps are the same), and not at all on the biases. */
static char *make_text(size_t n, uint64_t seed);

static void test_charlm_weight_decay(void) {
    char *text = make_text(600, 9);
    size_t n = strlen(text);
    const double lr = 0.01, wd = 3.0;
    firth_charlm *a = NULL, *b = NULL;
    for (int embed = 0; embed <= 5; embed += 5) {
        firth_charlm_params p = firth_charlm_default_params();
        p.layers = 2, p.hidden = 6, p.embed = embed, p.seq = 5, p.batch = 3, p.lr = lr;
        firth_error err = {0};
        a = firth_charlm_new(text, n, &p, &err);
        p.weight_decay = wd;
        b = firth_charlm_new(text, n, &p, &err);
        CHECK(a && b, "new: %s", err.message);
        if (!a || !b) break;
        float *p0 = malloc(a->off.n * sizeof(float));
        memcpy(p0, b->params, a->off.n * sizeof(float));
        CHECK(memcmp(p0, a->params, a->off.n * 4) == 0, "same seed, different weights");
        firth_charlm_train_opts o = {.steps = 1};
        CHECK(firth_charlm_train(a, text, n, &o, NULL, NULL, &err) == FIRTH_OK &&
                  firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK,
              "%s", err.message);
        const charlm_offsets *f = &a->off;
        double worst = 0;
        size_t decayed = 0, kept = 0;
        for (size_t i = 0; i < f->n; i++) {
            int bias = i >= f->by;
            for (int l = 0; l < p.layers; l++)
                bias |= i >= f->b[l] && i < f->b[l] + 4 * (size_t)p.hidden;
            double want = bias ? a->params[i] : a->params[i] - lr * wd * p0[i];
            double d = fabs(b->params[i] - want);
            worst = d > worst ? d : worst;
            CHECK(d <= 1e-6, "embed %d, weight %zu (%s): %g, want %g", embed, i,
                  bias ? "bias" : "matrix", b->params[i], want);
            if (bias) kept += b->params[i] == a->params[i];
            else decayed += p0[i] != 0;
        }
        printf("    weight decay, embed %d: %zu matrix weights moved by -lr wd p0, %zu biases "
               "as without decay; largest difference %.3g\n", embed, decayed, kept, worst);
        CHECK(decayed > 100 && kept >= 2 * 4 * 6, "decayed %zu, kept %zu", decayed, kept);
        free(p0);
        firth_charlm_free(a), firth_charlm_free(b);
        a = b = NULL;
    }
    firth_charlm_free(a), firth_charlm_free(b);
    free(text);
}

static void test_charlm_clip(void) {
    float g[3] = {3.0f, 4.0f, 12.0f}; /* norm 13 */
    double n = firth_charlm_clip(g, 3, 6.5);
    CHECK_CLOSE(n, 13.0, 1e-12);
    CHECK_CLOSE(g[0], 1.5, 1e-6);
    CHECK_CLOSE(g[1], 2.0, 1e-6);
    CHECK_CLOSE(g[2], 6.0, 1e-6);
    float h[2] = {0.3f, 0.4f};
    n = firth_charlm_clip(h, 2, 5.0);
    CHECK(h[0] == 0.3f && h[1] == 0.4f, "clipping changed a gradient below the limit");
    CHECK_CLOSE(n, 0.5, 1e-7);
    float k[2] = {30.0f, 40.0f};
    firth_charlm_clip(k, 2, 0.0);
    CHECK(k[0] == 30.0f && k[1] == 40.0f, "clip 0 must be off");
}

/* ---- known answers and training ---------------------------------------------------------------- */

static char *make_text(size_t n, uint64_t seed) {
    /* a learnable text: a fixed phrase, then one of four letters at random, then ". " */
    static const char *phrase = "the quick brown fox jumps ";
    firth_rng rng;
    firth_rng_seed(&rng, seed);
    char *s = malloc(n + 1);
    size_t pl = strlen(phrase), period = pl + 3;
    for (size_t i = 0; i < n; i++) {
        size_t k = i % period;
        s[i] = k < pl ? phrase[k] : k == pl ? (char)('a' + firth_rng_below(&rng, 4))
                                            : k == pl + 1 ? '.' : ' ';
    }
    s[n] = 0;
    return s;
}

static void test_charlm_uniform_known_answer(void) {
    char *text = make_text(500, 1);
    firth_charlm_params p = firth_charlm_default_params();
    p.hidden = 8, p.seq = 7, p.batch = 3;
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, strlen(text), &p, &err);
    CHECK(m != NULL, "%s", err.message);
    if (m) {
        memset(m->params, 0, m->off.n * 4);
        double nats = 0;
        uint64_t chars = 0;
        CHECK(firth_charlm_eval(m, text, strlen(text), &nats, &chars, &err) == FIRTH_OK, "%s",
              err.message);
        CHECK_CLOSE(nats, log((double)firth_charlm_vocab_size(m)), 1e-6);
        CHECK(chars == 499 / 3 * 3, "predictions: %llu", (unsigned long long)chars);
    }
    firth_charlm_free(m);
    free(text);
}

static void test_charlm_learns(void) {
    openblas_set_num_threads(1);
    char *text = make_text(6000, 2);
    firth_charlm_params p = firth_charlm_default_params();
    p.hidden = 32, p.seq = 20, p.batch = 8, p.lr = 1e-2, p.val_frac = 0.1;
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, strlen(text), &p, &err);
    CHECK(m != NULL, "%s", err.message);
    if (!m) return free(text);
    double before = 0, after = 0;
    size_t n = strlen(text), nv = n / 10;
    firth_charlm_eval(m, text + n - nv, nv, &before, NULL, &err);
    firth_charlm_train_opts o = {.steps = 600};
    CHECK(firth_charlm_train(m, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s", err.message);
    firth_charlm_eval(m, text + n - nv, nv, &after, NULL, &err);
    /* one character in 29 is 1 of 4 letters at random, the rest follow: the best possible loss
     * is log(4) / 29 = 0.048 nats per character; the unigram entropy is about 2.7 */
    printf("    validation loss %.3f -> %.3f nats/char after 600 steps\n", before, after);
    CHECK(after < 0.3 && before > 2.0, "loss %.3f -> %.3f", before, after);
    /* feeding characters one at a time gives the scores of the chunked forward pass */
    firth_charlm_reset(m);
    float *lg = malloc(firth_charlm_vocab_size(m) * 4);
    CHECK(firth_charlm_feed_text(m, text, 15, lg, &err) == FIRTH_OK, "%s", err.message);
    size_t sn = (size_t)p.layers * 2 * p.hidden;
    float *st = calloc(sn, 4);
    int32_t ids[15];
    for (int i = 0; i < 15; i++) ids[i] = (int32_t)firth_charlm_vocab_find(m, (uint8_t)text[i]);
    firth_charlm_forward_backward(m, 15, 1, ids, NULL, st, 0);
    double e = max_rel(lg, m->logits + 14 * firth_charlm_vocab_size(m), firth_charlm_vocab_size(m));
    CHECK(e < 1e-5, "step-by-step scores differ from the chunked ones by %g", e);
    /* one stream: the mean of -log p(next) over the text fed one character at a time */
    {
        const char *vt = text + n - nv;
        size_t V = firth_charlm_vocab_size(m);
        double ref = 0.0;
        firth_charlm_reset(m);
        for (size_t i = 0; i + 1 < nv; i++) {
            firth_charlm_feed(m, (size_t)firth_charlm_vocab_find(m, (uint8_t)vt[i]), lg, &err);
            double mx = lg[0], z = 0.0;
            for (size_t k = 1; k < V; k++) mx = lg[k] > mx ? lg[k] : mx;
            for (size_t k = 0; k < V; k++) z += exp((double)lg[k] - mx);
            ref += mx + log(z) - lg[firth_charlm_vocab_find(m, (uint8_t)vt[i + 1])];
        }
        ref /= (double)(nv - 1);
        double one = 0, many = 0, batch = 0;
        uint64_t c1 = 0, cm = 0;
        CHECK(firth_charlm_eval_streams(m, vt, nv, 1, &one, &c1, &err) == FIRTH_OK, "%s",
              err.message);
        CHECK(c1 == nv - 1, "one stream: %llu predictions, expected %zu", (unsigned long long)c1,
              nv - 1);
        CHECK(fabs(one - ref) <= 1e-5 * ref, "one stream: %.8f, fed one at a time: %.8f", one,
              ref);
        /* more streams than characters: one character per stream, nothing to carry */
        CHECK(firth_charlm_eval_streams(m, vt, nv, (int)nv + 5, &many, &cm, &err) == FIRTH_OK &&
                  cm == nv - 1,
              "n streams: %s", err.message);
        firth_charlm_eval_streams(m, vt, nv, 0, &batch, NULL, &err);
        CHECK(batch == after, "streams 0 (%.8f) is the batch's eval (%.8f)", batch, after);
        printf("    validation loss in 1 / %d / %zu streams: %.4f / %.4f / %.4f nats/char\n",
               p.batch, nv - 1, one, batch, many);
        CHECK(one < batch && batch < many, "a longer context should predict better here");
        CHECK(firth_charlm_eval_streams(m, vt, nv, -1, &one, NULL, &err) == FIRTH_ERR_PARAM,
              "negative streams accepted");
    }
    CHECK(firth_charlm_feed_text(m, "the Z", 5, lg, &err) == FIRTH_ERR_INPUT &&
              strstr(err.message, "'Z'"),
          "unknown character: %s", err.message);
    free(st), free(lg);
    firth_charlm_free(m);
    free(text);
}

static void test_charlm_invalid_utf8(void) {
    const char text[] = "ab\xff" "c\xc3\xa9" "d\xe2\x82"; /* invalid byte, é, truncated euro */
    firth_charlm_params p = firth_charlm_default_params();
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, sizeof text - 1, &p, &err);
    CHECK(m != NULL, "%s", err.message);
    if (!m) return;
    CHECK(firth_charlm_vocab_size(m) == 6, "vocab %zu", firth_charlm_vocab_size(m));
    CHECK(firth_charlm_vocab_find(m, 0xFFFD) >= 0, "invalid bytes must map to U+FFFD");
    CHECK(firth_charlm_vocab_find(m, 0xE9) >= 0, "é must be one character");
    firth_charlm_free(m);
}

/* ---- checkpoints ------------------------------------------------------------------------------- */

static firth_charlm_params ckpt_params(void) {
    firth_charlm_params p = firth_charlm_default_params();
    p.hidden = 12, p.seq = 10, p.batch = 4, p.embed = 6, p.dropout = 0.25, p.val_frac = 0.1;
    p.lr_decay = 0.8, p.lr_decay_after = 1; /* the resume test crosses an epoch: decay acts */
    p.wdrop = 0.2, p.ema = 0.9; /* weight masks from the RNG; the average in the checkpoint */
    p.weight_decay = 0.1, p.dropout_locked = 1, p.input_dropout = 0.15;
    p.epoch_shift = 1; /* the resume test's second epoch starts elsewhere */
    return p;
}

static void test_charlm_checkpoint_round_trip(void) {
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "m.ckpt");
    char *text = make_text(2000, 3);
    firth_charlm_params p = ckpt_params();
    firth_error err = {0};
    firth_charlm *a = firth_charlm_new(text, strlen(text), &p, &err);
    firth_charlm_train_opts o = {.steps = 7, .checkpoint = path};
    CHECK(a && firth_charlm_train(a, text, strlen(text), &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    firth_charlm *b = firth_charlm_load(path, &err);
    CHECK(b != NULL, "load: %s", err.message);
    if (a && b) {
        const firth_charlm_params *x = &a->p, *y = &b->p;
        CHECK(x->layers == y->layers && x->hidden == y->hidden && x->embed == y->embed &&
                  x->seq == y->seq && x->batch == y->batch && x->lr == y->lr &&
                  x->beta1 == y->beta1 && x->beta2 == y->beta2 && x->eps == y->eps &&
                  x->dropout == y->dropout && x->clip == y->clip && x->val_frac == y->val_frac &&
                  x->lr_decay == y->lr_decay && x->lr_decay_after == y->lr_decay_after &&
                  x->wdrop == y->wdrop && x->ema == y->ema &&
                  x->weight_decay == y->weight_decay &&
                  x->dropout_locked == y->dropout_locked &&
                  x->input_dropout == y->input_dropout && x->epoch_shift == y->epoch_shift &&
                  x->seed == y->seed,
              "settings differ");
        CHECK(a->V == b->V && memcmp(a->vocab, b->vocab, (size_t)a->V * 4) == 0, "vocab");
        CHECK(a->off.n == b->off.n && memcmp(a->params, b->params, a->off.n * 4) == 0 &&
                  memcmp(a->m, b->m, a->off.n * 4) == 0 && memcmp(a->v, b->v, a->off.n * 4) == 0,
              "weights or moments differ");
        double nats = 0;
        CHECK(firth_charlm_eval(b, text, strlen(text), &nats, NULL, &err) == FIRTH_OK &&
                  b->whd == NULL,
              "evaluating a model with weight drop must not allocate its buffers: %s",
              err.message);
        CHECK(a->avg && b->avg && memcmp(a->avg, b->avg, a->off.n * 4) == 0 &&
                  memcmp(a->avg, a->params, a->off.n * 4) != 0,
              "the weight average differs (or equals the weights)");
        size_t sn = (size_t)p.layers * 2 * p.batch * p.hidden;
        CHECK(memcmp(a->state, b->state, sn * 4) == 0, "state differs");
        CHECK(a->step == 7 && b->step == 7 && a->epoch == b->epoch && a->chunk == b->chunk &&
                  a->rng.state == b->rng.state && a->text_hash == b->text_hash,
              "position differs");
    }
    firth_charlm_free(a), firth_charlm_free(b);
    free(text), free(path), tu_rmdir(dir);
}

static void test_charlm_resume_identical(void) {
    openblas_set_num_threads(1);
    char *dir = tu_mkdtemp(), *pa = tu_path(dir, "a.ckpt"), *pb = tu_path(dir, "b.ckpt");
    char *text = make_text(1500, 4); /* 1350 training chars / 4 streams, shifted: 32 steps per
                                      * epoch */
    size_t n = strlen(text);
    firth_charlm_params p = ckpt_params();
    firth_error err = {0};
    firth_charlm *a = firth_charlm_new(text, n, &p, &err);
    firth_charlm_train_opts o = {.steps = 45, .eval_every = 10, .checkpoint = pa};
    CHECK(a && firth_charlm_train(a, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    CHECK(a && a->epoch == 1, "the run should cross an epoch boundary");
    firth_charlm_free(a);
    firth_charlm *b = firth_charlm_new(text, n, &p, &err);
    o.checkpoint = pb, o.steps = 20, o.eval_every = 7;
    CHECK(b && firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    firth_charlm_free(b);
    b = firth_charlm_load(pb, &err);
    o.steps = 45;
    CHECK(b && firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    firth_charlm_free(b);
    size_t na = 0, nb = 0;
    unsigned char *ba = tu_read(pa, &na), *bb = tu_read(pb, &nb);
    CHECK(ba && bb && na == nb && memcmp(ba, bb, na) == 0,
          "resumed checkpoint differs from the uninterrupted one (%zu vs %zu bytes)", na, nb);
    printf("    resumed at step 20 of 45: checkpoints byte-identical (%zu bytes)\n", na);
    /* another text is refused on resume */
    b = firth_charlm_load(pb, &err);
    text[5] ^= 1;
    o.steps = 50;
    CHECK(b && firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_ERR_INPUT,
          "resuming on another text must fail");
    firth_charlm_free(b);
    free(ba), free(bb), free(text), free(pa), free(pb), tu_rmdir(dir);
}

/* Threads (firth_charlm_set_threads): the same run on 1 and on 3 threads ends with the same
 * weights up to float rounding (the parts add in another order) and the same validation loss;
 * on 3 threads it is repeatable to the bit, and resuming on 3 threads gives the checkpoint of
 * the uninterrupted run. */
static void test_charlm_threads(void) {
    openblas_set_num_threads(1);
    char *dir = tu_mkdtemp(), *pa = tu_path(dir, "a.ckpt"), *pb = tu_path(dir, "b.ckpt");
    char *pc = tu_path(dir, "c.ckpt");
    char *text = make_text(1500, 4);
    size_t n = strlen(text);
    firth_charlm_params p = ckpt_params();
    p.hidden = 20; /* 7 units for two of the three threads, 6 for the third */
    firth_error err = {0};
    firth_charlm_train_opts o = {.steps = 24, .eval_every = 10};
    firth_charlm *m[3] = {NULL, NULL, NULL};
    const int threads[3] = {1, 3, 3};
    const char *paths[3] = {pc, pa, NULL};
    for (int k = 0; k < 3; k++) {
        m[k] = firth_charlm_new(text, n, &p, &err);
        o.checkpoint = paths[k];
        CHECK(m[k] && firth_charlm_set_threads(m[k], threads[k], &err) == FIRTH_OK &&
                  firth_charlm_train(m[k], text, n, &o, NULL, NULL, &err) == FIRTH_OK,
              "%s", err.message);
    }
    if (!m[0] || !m[1] || !m[2]) goto out;
    size_t np = m[0]->off.n;
    double worst = max_abs_diff(m[0]->params, m[1]->params, np);
    double v1 = 0, v3 = 0;
    const size_t cut = n - n / 10;
    CHECK(firth_charlm_eval(m[0], text + cut, n - cut, &v1, NULL, &err) == FIRTH_OK &&
              firth_charlm_eval(m[1], text + cut, n - cut, &v3, NULL, &err) == FIRTH_OK,
          "%s", err.message);
    printf("    24 steps on 1 vs 3 threads: weights differ by at most %.3g; validation %.6f vs "
           "%.6f nats/char\n", worst, v1, v3);
    CHECK(worst < 1e-3, "1 and 3 threads: weights differ by %g", worst);
    CHECK(fabs(v1 - v3) < 1e-3, "1 and 3 threads: validation %.6f vs %.6f", v1, v3);
    CHECK(memcmp(m[1]->params, m[2]->params, np * sizeof(float)) == 0,
          "two runs on 3 threads differ");
    /* resumed on 3 threads at step 10 */
    firth_charlm *b = firth_charlm_new(text, n, &p, &err);
    o.checkpoint = pb, o.steps = 10;
    CHECK(b && firth_charlm_set_threads(b, 3, &err) == FIRTH_OK &&
              firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK,
          "%s", err.message);
    firth_charlm_free(b);
    b = firth_charlm_load(pb, &err);
    o.steps = 24;
    CHECK(b && firth_charlm_set_threads(b, 3, &err) == FIRTH_OK &&
              firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK,
          "%s", err.message);
    firth_charlm_free(b);
    size_t na = 0, nb = 0;
    unsigned char *ba = tu_read(pa, &na), *bb = tu_read(pb, &nb);
    CHECK(ba && bb && na == nb && memcmp(ba, bb, na) == 0,
          "3 threads: resumed checkpoint differs from the uninterrupted one");
    free(ba), free(bb);
    CHECK(firth_charlm_set_threads(m[0], 0, &err) == FIRTH_ERR_PARAM &&
              firth_charlm_set_threads(m[0], FIRTH_CHARLM_MAX_THREADS + 1, &err) ==
                  FIRTH_ERR_PARAM,
          "thread counts out of range must be refused");
out:
    for (int k = 0; k < 3; k++) firth_charlm_free(m[k]);
    free(text), free(pa), free(pb), free(pc), tu_rmdir(dir);
}

static void expect_refused(const char *path, const char *what, const char *needle) {
    firth_error err = {0};
    firth_charlm *m = firth_charlm_load(path, &err);
    CHECK(m == NULL && err.status == FIRTH_ERR_INPUT && strstr(err.message, needle),
          "%s: status %d, message '%s'", what, err.status, err.message);
    firth_charlm_free(m);
}

static void test_charlm_checkpoint_corrupt(void) {
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "m.ckpt"), *bad = tu_path(dir, "bad.ckpt");
    char *text = make_text(1000, 5);
    firth_charlm_params p = ckpt_params();
    firth_error err = {0};
    firth_charlm *a = firth_charlm_new(text, strlen(text), &p, &err);
    CHECK(a && firth_charlm_save(a, path, &err) == FIRTH_OK, "%s", err.message);
    firth_charlm_free(a);
    size_t n = 0;
    unsigned char *buf = tu_read(path, &n);
    if (!buf) goto out;
    size_t cuts[] = {0, 5, 8, 12, 100, 171, 175, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        tu_write(bad, buf, cuts[i]);
        expect_refused(bad, "truncated", cuts[i] < 8 ? "not a firth" : "truncated");
    }
    unsigned char *c = malloc(n + 8);
    memcpy(c, buf, n);
    c[n / 2] ^= 0x10; /* a flipped bit in the weights */
    tu_write(bad, c, n);
    expect_refused(bad, "flipped bit", "checksum");
    memcpy(c, buf, n);
    memset(c + n, 0, 8); /* trailing garbage */
    tu_write(bad, c, n + 8);
    expect_refused(bad, "longer file", "truncated or corrupt");
    memcpy(c, buf, n);
    uint32_t huge = 0x7fffffff;
    memcpy(c + 8 + 8 + 4 * 2, &huge, 4); /* hidden */
    tu_write(bad, c, n);
    expect_refused(bad, "huge hidden size", "corrupt");
    memcpy(c, buf, n);
    double half = 0.5;
    memcpy(c + 40 + 8 * 14, &half, 8); /* epoch_shift, 0 or 1 */
    tu_write(bad, c, n);
    expect_refused(bad, "epoch shift 0.5", "corrupt");
    memcpy(c, buf, n);
    c[8] = 9; /* version */
    tu_write(bad, c, n);
    expect_refused(bad, "version", "version");
    tu_write(bad, "FIRTHW2V and more bytes here", 28);
    expect_refused(bad, "another magic", "not a firth");
    free(c);
out:
    free(buf), free(text), free(path), free(bad), tu_rmdir(dir);
}

/* Training with lr_decay 0.5 from epoch 1 equals training one epoch at lr, then changing the
 * model's lr to lr / 2 by hand and training on: the decay reaches Adam, at the epoch boundary. */
static void test_charlm_lr_decay_trains(void) {
    openblas_set_num_threads(1);
    char *text = make_text(1500, 4); /* 1350 training chars / 4 streams: 33 steps per epoch */
    size_t n = strlen(text);
    firth_charlm_params p = ckpt_params();
    p.lr_decay = 0.5, p.lr_decay_after = 1, p.epoch_shift = 0;
    firth_error err = {0};
    firth_charlm *a = firth_charlm_new(text, n, &p, &err);
    firth_charlm_train_opts o = {.steps = 40};
    CHECK(a && firth_charlm_train(a, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    p.lr_decay = 1.0;
    firth_charlm *b = firth_charlm_new(text, n, &p, &err);
    o.steps = 33;
    CHECK(b && firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    if (a && b) {
        CHECK(a->epoch == 1 && b->epoch == 0, "epochs %llu, %llu", (unsigned long long)a->epoch,
              (unsigned long long)b->epoch);
        firth_charlm_params q = b->p;
        q.lr = p.lr / 2;
        CHECK(firth_charlm_set_optim(b, &q, &err) == FIRTH_OK, "%s", err.message);
        o.steps = 40;
        CHECK(firth_charlm_train(b, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
              err.message);
        CHECK(memcmp(a->params, b->params, a->off.n * 4) == 0 &&
                  memcmp(a->v, b->v, a->off.n * 4) == 0,
              "decayed run differs from the run with the rate halved by hand");
        q.hidden++;
        CHECK(firth_charlm_set_optim(b, &q, &err) == FIRTH_ERR_PARAM, "set_optim: shape change");
    }
    /* with the rate left at lr the weights differ (the check above can fail) */
    firth_charlm *c = firth_charlm_new(text, n, &p, &err);
    CHECK(c && firth_charlm_train(c, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    if (a && c) CHECK(memcmp(a->params, c->params, a->off.n * 4) != 0, "decay had no effect");
    firth_charlm_free(a), firth_charlm_free(b), firth_charlm_free(c);
    free(text);
}

/* Checkpoints of earlier versions, from the firth of their time, with
 *   firth charlm train --input T --output charlm_vN.clm --layers 1 --hidden 4 --seq 5 --batch 2
 *       --steps 3 --quiet --seed 7 [ARGS]
 * where T is OLD_LINE 20 times:
 *   tests/fixtures/charlm_v1.clm: version 1, firth 0340519 (before lr decay and the top layer's
 *     dropout), no ARGS;
 *   tests/fixtures/charlm_v2.clm: version 2, firth a1fc9f3 (before weight drop and the weight
 *     average), ARGS --dropout 0.1 --lr-decay 0.9 --lr-decay-after 1;
 *   tests/fixtures/charlm_v3.clm: version 3, firth 8e734c5 (before weight decay), ARGS
 *     --dropout 0.1 --lr-decay 0.9 --lr-decay-after 1 --wdrop 0.2;
 *   tests/fixtures/charlm_v4.clm: version 4, firth da991ca (before input dropout), ARGS
 *     --dropout 0.1 --lr-decay 0.9 --lr-decay-after 1 --wdrop 0.2 --weight-decay 0.1
 *     --dropout-locked 1;
 *   tests/fixtures/charlm_v5.clm: version 5, firth de56927 (before the epoch shift), ARGS
 *     --dropout 0.1 --lr-decay 0.9 --lr-decay-after 1 --wdrop 0.2 --weight-decay 0.1
 *     --dropout-locked 1 --input-dropout 0.15.
 * Each loads with the settings it was trained with (and no epoch shift; versions 1-4 no input
 * dropout; versions 1-3 no weight decay, no locked dropout; versions 1 and 2 wdrop 0, no average;
 * version 1 no decay); training the same 3 steps now gives the same weights and moments (bit
 * for bit until the softmax took firth_vexp; now within 2e-7) and the same random state, and it
 * trains on and saves as the current version. */
#define OLD_LINE "the cat sat on the mat. a dog ran.\n"
static void old_checkpoint(const char *name, double dropout, double decay, int after,
                           double wdrop, double weight_decay, int locked, double idrop) {
    openblas_set_num_threads(1);
    char *path = fixture_path(name);
    char *dir = tu_mkdtemp(), *out = tu_path(dir, "now.clm");
    size_t ll = strlen(OLD_LINE), n = 20 * ll;
    char *text = malloc(n + 1);
    for (int i = 0; i < 20; i++) memcpy(text + i * ll, OLD_LINE, ll);
    text[n] = 0;
    firth_error err = {0};
    firth_charlm *old = firth_charlm_load(path, &err);
    CHECK(old != NULL, "%s: %s", name, err.message);
    firth_charlm_params p = firth_charlm_default_params();
    p.layers = 1, p.hidden = 4, p.seq = 5, p.batch = 2, p.seed = 7;
    p.dropout = dropout, p.lr_decay = decay, p.lr_decay_after = after, p.wdrop = wdrop;
    p.weight_decay = weight_decay, p.dropout_locked = locked, p.input_dropout = idrop;
    firth_charlm *now = firth_charlm_new(text, n, &p, &err);
    firth_charlm_train_opts o = {.steps = 3};
    CHECK(now && firth_charlm_train(now, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    if (old && now) {
        CHECK(old->p.lr_decay == decay && old->p.lr_decay_after == after &&
                  old->p.dropout == dropout && old->p.wdrop == wdrop && old->p.ema == 0 &&
                  old->p.weight_decay == weight_decay && old->p.dropout_locked == locked &&
                  old->p.input_dropout == idrop && old->p.epoch_shift == 0 && !old->avg &&
                  old->p.hidden == 4 && old->step == 3,
              "%s settings: decay %g after %d, dropout %g, wdrop %g, ema %g, weight decay %g, "
              "locked %d, input dropout %g, epoch shift %d, step %llu", name, old->p.lr_decay,
              old->p.lr_decay_after, old->p.dropout, old->p.wdrop, old->p.ema,
              old->p.weight_decay, old->p.dropout_locked, old->p.input_dropout,
              old->p.epoch_shift, (unsigned long long)old->step);
        /* the same up to the softmax's float e^x (since it replaced libm's double exp): each
         * weight and first moment within 2e-7 of the old one's, where 3 Adam steps of 2e-3 move
         * the weights by up to 6e-3 */
        double dp = 1.0, dm = 1.0, moved = 0.0;
        if (old->off.n == now->off.n) {
            dp = max_abs_diff(old->params, now->params, now->off.n);
            dm = max_abs_diff(old->m, now->m, now->off.n);
            firth_charlm *init = firth_charlm_new(text, n, &p, &err);
            if (init) moved = max_abs_diff(init->params, now->params, now->off.n);
            firth_charlm_free(init);
        }
        printf("    %s: 3 steps now vs then: weights differ by at most %.3g (moved by up to "
               "%.3g), first moments by %.3g\n", name, dp, moved, dm);
        CHECK(old->off.n == now->off.n && dp <= 2e-7 && dm <= 2e-7 && moved > 1e-3 &&
                  old->rng.state == now->rng.state,
              "3 steps now differ from the %s checkpoint's: %g / %g", name, dp, dm);
        o.steps = 5, o.checkpoint = out;
        CHECK(firth_charlm_train(old, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
              err.message);
        firth_charlm *back = firth_charlm_load(out, &err);
        size_t bytes = 0;
        unsigned char *b = tu_read(out, &bytes);
        uint32_t ver = 0;
        if (b && bytes > 12) memcpy(&ver, b + 8, 4);
        CHECK(back && back->step == 5 && ver == 6, "%s resaved: version %u, %s", name, ver,
              back ? "" : err.message);
        firth_charlm_free(back), free(b);
    }
    firth_charlm_free(old), firth_charlm_free(now);
    free(text), free(path), free(out), tu_rmdir(dir);
}

static void test_charlm_version1_checkpoint(void) {
    old_checkpoint("charlm_v1.clm", 0, 1, 10, 0, 0, 0, 0);
}
static void test_charlm_version2_checkpoint(void) {
    old_checkpoint("charlm_v2.clm", .1, .9, 1, 0, 0, 0, 0);
}
static void test_charlm_version3_checkpoint(void) {
    old_checkpoint("charlm_v3.clm", .1, .9, 1, .2, 0, 0, 0);
}
static void test_charlm_version4_checkpoint(void) {
    old_checkpoint("charlm_v4.clm", .1, .9, 1, .2, .1, 1, 0);
}
static void test_charlm_version5_checkpoint(void) {
    old_checkpoint("charlm_v5.clm", .1, .9, 1, .2, .1, 1, .15);
}

/* The average against its definition, computed here in double from the weights after each step
 * (d = min(ema, (1 + t) / (10 + t)), starting from the initial weights); evaluation and
 * generation use it: the loss of the model equals the loss of the average put in as weights, and
 * differs from the raw weights'. The average cannot be switched on or off on a trained model;
 * weight drop can (its buffers appear when needed). */
static void test_charlm_ema(void) {
    openblas_set_num_threads(1);
    char *text = make_text(1500, 8);
    size_t n = strlen(text);
    firth_charlm_params p = ckpt_params();
    p.ema = 0.5, p.wdrop = 0; /* d: 2/11, 3/12, ... up to 0.5 from step 8 on */
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, n, &p, &err);
    CHECK(m && m->avg, "new model with ema: %s", err.message);
    if (!m || !m->avg) return free(text);
    const size_t N = m->off.n;
    double *want = malloc(N * sizeof *want);
    for (size_t i = 0; i < N; i++) want[i] = m->params[i];
    for (uint64_t t = 1; t <= 12; t++) {
        firth_charlm_train_opts o = {.steps = t};
        CHECK(firth_charlm_train(m, text, n, &o, NULL, NULL, &err) == FIRTH_OK, "%s",
              err.message);
        double d = (1.0 + (double)t) / (10.0 + (double)t);
        d = d < p.ema ? d : p.ema;
        for (size_t i = 0; i < N; i++) want[i] = d * want[i] + (1 - d) * m->params[i];
    }
    double worst = 0, moved = 0;
    for (size_t i = 0; i < N; i++) {
        double e = fabs(want[i] - m->avg[i]), dw = fabs(m->avg[i] - m->params[i]);
        worst = e > worst ? e : worst;
        moved = dw > moved ? dw : moved;
    }
    printf("    average after 12 steps: largest difference from the definition %.3g (weights "
           "differ from it by up to %.3g)\n", worst, moved);
    CHECK(worst < 1e-6 && moved > 1e-4, "average off by %g (weights differ by %g)", worst, moved);
    double nats_avg = 0, nats_raw = 0, nats_swapped = 0;
    CHECK(firth_charlm_eval(m, text, n, &nats_avg, NULL, &err) == FIRTH_OK, "%s", err.message);
    float *avg = m->avg, *raw = m->params;
    m->avg = NULL;
    CHECK(firth_charlm_eval(m, text, n, &nats_raw, NULL, &err) == FIRTH_OK, "%s", err.message);
    m->params = avg;
    CHECK(firth_charlm_eval(m, text, n, &nats_swapped, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    m->params = raw, m->avg = avg;
    CHECK(nats_avg == nats_swapped && nats_avg != nats_raw,
          "eval: %.9g with the average, %.9g with it as weights, %.9g raw", nats_avg,
          nats_swapped, nats_raw);
    float *la = malloc((size_t)m->V * 4), *lb = malloc((size_t)m->V * 4);
    firth_charlm_reset(m);
    CHECK(firth_charlm_feed(m, 1, la, &err) == FIRTH_OK, "%s", err.message);
    m->avg = NULL, m->params = avg;
    firth_charlm_reset(m);
    CHECK(firth_charlm_feed(m, 1, lb, &err) == FIRTH_OK, "%s", err.message);
    m->params = raw, m->avg = avg;
    CHECK(memcmp(la, lb, (size_t)m->V * 4) == 0, "generation does not use the average");
    free(la), free(lb);
    firth_charlm_params q = m->p;
    q.ema = 0;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_ERR_PARAM, "switching ema off accepted");
    q = m->p, q.wdrop = 0.3, q.weight_decay = 0.2, q.dropout_locked = 1, q.input_dropout = 0.2;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_OK && m->p.input_dropout == 0.2, "%s",
          err.message);
    q.input_dropout = 1;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_ERR_PARAM, "input dropout 1 accepted");
    q.input_dropout = 0.2;
    q.weight_decay = 1.0 / q.lr; /* the factor 1 - lr x wd would be 0 */
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_ERR_PARAM, "lr x weight decay 1 accepted");
    q.weight_decay = -0.1;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_ERR_PARAM, "weight decay < 0 accepted");
    q.weight_decay = 0.2, q.dropout_locked = 2;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_ERR_PARAM, "dropout_locked 2 accepted");
    q.dropout_locked = 1, q.epoch_shift = 2;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_ERR_PARAM, "epoch_shift 2 accepted");
    q.epoch_shift = 1;
    CHECK(firth_charlm_set_optim(m, &q, &err) == FIRTH_OK && m->p.epoch_shift == 1, "%s",
          err.message);
    firth_charlm_train_opts o = {.steps = 14};
    CHECK(firth_charlm_train(m, text, n, &o, NULL, NULL, &err) == FIRTH_OK && m->whd &&
              m->step == 14,
          "training on with weight drop switched on: %s", err.message);
    free(want);
    firth_charlm_free(m);
    free(text);
}

static void test_charlm_diverged(void) {
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "m.ckpt");
    char *text = make_text(1000, 6);
    firth_charlm_params p = ckpt_params();
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, strlen(text), &p, &err);
    firth_charlm_train_opts o = {.steps = 3, .checkpoint = path};
    CHECK(m && firth_charlm_train(m, text, strlen(text), &o, NULL, NULL, &err) == FIRTH_OK, "%s",
          err.message);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = tu_read(path, &n0);
    if (m) m->params[m->off.wy + 3] = NAN;
    o.steps = 10;
    firth_status st = m ? firth_charlm_train(m, text, strlen(text), &o, NULL, NULL, &err) : 0;
    CHECK(st == FIRTH_ERR_DIVERGED && strstr(err.message, "NaN") && strstr(err.message, "step 4"),
          "status %d: %s", st, err.message);
    unsigned char *after = tu_read(path, &n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0,
          "the last good checkpoint must stay");
    free(before), free(after);
    firth_charlm_free(m);
    free(text), free(path), tu_rmdir(dir);
}

static int stop_at_5(const firth_charlm_progress *pr, void *user) {
    (void)user;
    return pr->step >= 5;
}

static void test_charlm_cancel_writes_checkpoint(void) {
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "m.ckpt");
    char *text = make_text(1000, 7);
    firth_charlm_params p = ckpt_params();
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, strlen(text), &p, &err);
    firth_charlm_train_opts o = {.steps = 100, .checkpoint = path};
    firth_status st = m ? firth_charlm_train(m, text, strlen(text), &o, stop_at_5, NULL, &err) : 0;
    CHECK(st == FIRTH_ERR_CANCELLED, "status %d: %s", st, err.message);
    firth_charlm *b = firth_charlm_load(path, &err);
    CHECK(b && b->step == 5, "checkpoint after a stop: %s", b ? "wrong step" : err.message);
    firth_charlm_free(b), firth_charlm_free(m);
    free(text), free(path), tu_rmdir(dir);
}


/* The epoch shift against what it promises, from what each step was fed: step k of an epoch
 * reads, in stream b, the seq characters from b x slice + o + k x seq on (slice = training
 * characters / batch) and predicts the ones after them, with o = 0 in the first epoch and,
 * without the shift, in every epoch; with it o lies in [0, seq), the same for a whole epoch, and
 * moves between epochs. After every step (in the progress callback) the model's input and
 * target ids of that step are compared with the text at every candidate o: exactly one must
 * match (the text is random over 8 letters, so two windows agree by chance with probability
 * 8^-60). Also the steps per epoch: (slice - 1) / seq without the shift, (slice - seq) / seq with
 * it. */
typedef struct shift_log {
    const firth_charlm *m;
    const char *text;
    size_t slice, n, bad_steps;
    int offset[400];
    uint64_t epoch[400];
} shift_log;

static int log_offsets(const firth_charlm_progress *pr, void *user) {
    shift_log *t = user;
    if (pr->evaluated || pr->checkpointed || t->n == sizeof t->offset / sizeof *t->offset) return 0;
    const firth_charlm *m = t->m;
    const int T = m->p.seq, B = m->p.batch;
    const size_t chunk = (size_t)m->chunk - 1; /* the step just taken */
    int found = -1, matches = 0;
    for (int o = 0; o < T; o++) {
        int same = 1;
        for (int tt = 0; tt < T && same; tt++)
            for (int b = 0; b < B && same; b++) {
                size_t pos = (size_t)b * t->slice + (size_t)o + chunk * (size_t)T + (size_t)tt;
                same = m->ids[(size_t)tt * B + b] ==
                           (int32_t)firth_charlm_vocab_find(m, (unsigned char)t->text[pos]) &&
                       m->tgt[(size_t)tt * B + b] ==
                           (int32_t)firth_charlm_vocab_find(m, (unsigned char)t->text[pos + 1]);
            }
        if (same) matches++, found = o;
    }
    if (matches != 1) t->bad_steps++;
    t->offset[t->n] = found, t->epoch[t->n] = pr->epoch;
    t->n++;
    return 0;
}

static void test_charlm_epoch_shift(void) {
    openblas_set_num_threads(1);
    enum { B = 3, T = 10, LS = 405, EPOCHS = 6 };
    size_t n = (size_t)B * LS;
    char *text = malloc(n + 1);
    firth_rng rng;
    firth_rng_seed(&rng, 31);
    for (size_t i = 0; i < n; i++) text[i] = (char)('a' + firth_rng_below(&rng, 8));
    text[n] = 0;
    shift_log *t = calloc(1, sizeof *t);
    for (int shift = 0; shift <= 1; shift++) {
        firth_charlm_params p = firth_charlm_default_params();
        p.layers = 1, p.hidden = 4, p.seq = T, p.batch = B, p.val_frac = 0, p.seed = 5;
        p.epoch_shift = shift;
        firth_error err = {0};
        firth_charlm *m = firth_charlm_new(text, n, &p, &err);
        const uint64_t cpe = shift ? (LS - T) / T : (LS - 1) / T; /* 39 or 40 */
        firth_charlm_train_opts o = {.steps = EPOCHS * cpe};
        memset(t, 0, sizeof *t);
        t->m = m, t->text = text, t->slice = LS;
        CHECK(m && firth_charlm_train(m, text, n, &o, log_offsets, t, &err) == FIRTH_OK, "%s",
              err.message);
        CHECK(t->n == EPOCHS * cpe && t->bad_steps == 0,
              "shift %d: %zu steps logged, %zu of them fed no window or several", shift, t->n,
              t->bad_steps);
        if (!m || t->n != EPOCHS * cpe) {
            firth_charlm_free(m);
            continue;
        }
        int offs[EPOCHS], moved = 0;
        size_t off_epoch = 0, mixed = 0;
        for (size_t k = 0; k < t->n; k++) {
            if (t->epoch[k] != k / cpe) off_epoch++;
            if (t->offset[k] != t->offset[k / cpe * cpe]) mixed++;
        }
        CHECK(off_epoch == 0, "shift %d: %zu steps in another epoch than step / %llu", shift,
              off_epoch, (unsigned long long)cpe);
        CHECK(mixed == 0, "shift %d: %zu steps read at another offset than their epoch's first",
              shift, mixed);
        for (int e = 0; e < EPOCHS; e++) {
            offs[e] = t->offset[(size_t)e * cpe];
            if (e && offs[e] != offs[e - 1]) moved = 1;
        }
        CHECK(offs[0] == 0, "shift %d: the first epoch starts at %d, not 0", shift, offs[0]);
        if (!shift)
            for (int e = 1; e < EPOCHS; e++)
                CHECK(offs[e] == 0, "no shift: epoch %d starts at %d", e, offs[e]);
        else
            CHECK(moved, "with the shift the offsets never moved");
        printf("    shift %d: %llu steps per epoch, each fed the windows at offset", shift,
               (unsigned long long)cpe);
        for (int e = 0; e < EPOCHS; e++) printf(" %d", offs[e]);
        printf(" (one per epoch)\n");
        firth_charlm_free(m);
    }
    free(t), free(text);
}

/* --time-limit and --warmdown: the run stops after the step that crosses the limit, and every
 * step's rate is the schedule's times min(1, (S - e) / (F S)) at the time e the step started,
 * which lies between the elapsed times reported after the step before it and after it. */
typedef struct time_log {
    double lr[1 << 16], el[1 << 16];
    uint64_t step[1 << 16];
    size_t n;
    int evaluated;
} time_log;

static int log_time(const firth_charlm_progress *pr, void *user) {
    time_log *t = user;
    if (pr->evaluated) t->evaluated = 1;
    if (pr->evaluated || pr->checkpointed || t->n == sizeof t->lr / sizeof *t->lr) return 0;
    t->lr[t->n] = pr->lr, t->el[t->n] = pr->elapsed_s, t->step[t->n] = pr->step;
    t->n++;
    return 0;
}

static double warm_factor(double S, double F, double e) {
    double x = (S - e) / (F * S);
    return x >= 1 ? 1 : x > 0 ? x : 0;
}

static void test_charlm_time_limit(void) {
    char *dir = tu_mkdtemp(), *path = tu_path(dir, "m.ckpt");
    char *text = make_text(3000, 11);
    size_t n = strlen(text);
    firth_charlm_params p = firth_charlm_default_params();
    p.layers = 1, p.hidden = 16, p.seq = 8, p.batch = 4, p.lr = 3e-3;
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, n, &p, &err);
    CHECK(m != NULL, "%s", err.message);
    const double S = 0.4, F = 0.5;
    time_log *t = calloc(1, sizeof *t);
    firth_charlm_train_opts o = {.checkpoint = path, .time_limit = S, .warmdown = F};
    firth_status st = m ? firth_charlm_train(m, text, n, &o, log_time, t, &err) : FIRTH_ERR_PARAM;
    CHECK(st == FIRTH_OK, "status %d: %s", st, err.message);
    CHECK(t->n >= 10 && t->n < sizeof t->lr / sizeof *t->lr, "%zu steps in %g s", t->n, S);
    if (st == FIRTH_OK && t->n >= 10) {
        size_t k = t->n - 1;
        CHECK(t->el[k] >= S && t->el[k - 1] < S,
              "stopped at %g s (the step before: %g s), limit %g", t->el[k], t->el[k - 1], S);
        CHECK(t->evaluated, "no validation pass at the end");
        CHECK(t->lr[0] == p.lr, "first step's rate %g, not %g", t->lr[0], p.lr);
        size_t bad = 0, down = 0;
        for (size_t i = 0; i < t->n; i++) {
            double hi = p.lr * warm_factor(S, F, i ? t->el[i - 1] : 0);
            double lo = p.lr * warm_factor(S, F, t->el[i]);
            if (t->lr[i] > hi * (1 + 1e-12) || t->lr[i] < lo * (1 - 1e-12)) bad++;
            if (i && t->lr[i] > t->lr[i - 1]) bad++;
            if (t->lr[i] < p.lr / 4) down++;
            if (t->step[i] != i + 1) bad++;
        }
        CHECK(bad == 0, "%zu steps off the warmdown schedule", bad);
        CHECK(down > 0, "the rate never fell below a quarter of %g", p.lr);
        firth_charlm *b = firth_charlm_load(path, &err);
        CHECK(b && b->step == t->step[k], "checkpoint at step %llu, last step %llu",
              b ? (unsigned long long)b->step : 0ULL, (unsigned long long)t->step[k]);
        firth_charlm_free(b);
    }
    /* --steps still bounds a time-limited run */
    firth_charlm_train_opts o2 = {.steps = (m ? m->step : 0) + 3, .time_limit = 1000};
    CHECK(m && firth_charlm_train(m, text, n, &o2, NULL, NULL, &err) == FIRTH_OK &&
              m->step == o2.steps, "steps with a time limit: %s", err.message);
    /* settings out of range */
    const double bad_opts[][2] = {{0, 0.5}, {1, 1.5}, {-1, 0}, {1, -0.1}, {NAN, 0}};
    for (size_t i = 0; m && i < sizeof bad_opts / sizeof *bad_opts; i++) {
        firth_charlm_train_opts ob = {.steps = m->step + 1, .time_limit = bad_opts[i][0],
                                      .warmdown = bad_opts[i][1]};
        CHECK(firth_charlm_train(m, text, n, &ob, NULL, NULL, &err) == FIRTH_ERR_PARAM,
              "time limit %g warmdown %g accepted", bad_opts[i][0], bad_opts[i][1]);
    }
    firth_charlm_free(m);
    free(t), free(text), free(path), tu_rmdir(dir);
}

/* --warmup N: step s (1-based, counted from the model's first step) uses lr x min(1, s / N);
 * a run resumed inside the warm-up goes on from where it was. */
static void test_charlm_warmup(void) {
    char *text = make_text(3000, 12);
    size_t n = strlen(text);
    firth_charlm_params p = firth_charlm_default_params();
    p.layers = 1, p.hidden = 8, p.seq = 6, p.batch = 3, p.lr = 4e-3;
    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, n, &p, &err);
    CHECK(m != NULL, "%s", err.message);
    time_log *t = calloc(1, sizeof *t);
    const double want[] = {1e-3, 2e-3, 3e-3, 4e-3, 4e-3, 4e-3}; /* N = 4 */
    firth_charlm_train_opts o = {.steps = 2, .warmup = 4};
    CHECK(m && firth_charlm_train(m, text, n, &o, log_time, t, &err) == FIRTH_OK, "%s",
          err.message);
    o.steps = 6; /* the same model again: steps 3..6 */
    CHECK(m && firth_charlm_train(m, text, n, &o, log_time, t, &err) == FIRTH_OK, "%s",
          err.message);
    CHECK(t->n == 6, "%zu steps logged", t->n);
    for (size_t i = 0; i < t->n && i < 6; i++)
        CHECK(t->step[i] == i + 1 && fabs(t->lr[i] - want[i]) <= 1e-15,
              "step %llu: rate %.17g, want %g", (unsigned long long)t->step[i], t->lr[i], want[i]);
    /* a warm-up longer than the run: every step below the full rate */
    t->n = 0;
    firth_charlm_train_opts o2 = {.steps = 8, .warmup = 1000};
    CHECK(m && firth_charlm_train(m, text, n, &o2, log_time, t, &err) == FIRTH_OK, "%s",
          err.message);
    CHECK(t->n == 2 && fabs(t->lr[0] - 7 * 4e-6) < 1e-15 && fabs(t->lr[1] - 8 * 4e-6) < 1e-15,
          "%zu steps, rates %g %g (want 2.8e-05 3.2e-05)", t->n, t->n ? t->lr[0] : 0,
          t->n > 1 ? t->lr[1] : 0);
    firth_charlm_train_opts ob = {.steps = 9, .warmup = 1000000001};
    CHECK(m && firth_charlm_train(m, text, n, &ob, NULL, NULL, &err) == FIRTH_ERR_PARAM,
          "warm-up of 1e9 + 1 steps accepted");
    firth_charlm_free(m);
    free(t), free(text);
}

/* Training with bfloat16 products (train_opts.bf16): the products' own arithmetic is checked in
 * test_lstm.c and test_pool.c against references in double; here the model's plumbing: the same
 * 24 steps as test_charlm_threads, in float and in bfloat16 on 1 and 3 threads. bfloat16 must
 * move the weights (it ran) by little (a bfloat16 rounding, ~4e-3 relative, per product), end at
 * nearly the same validation loss, and repeat to the bit on 3 threads. */
static void test_charlm_bf16(void) {
    openblas_set_num_threads(1);
    char *text = make_text(1500, 4);
    size_t n = strlen(text);
    firth_charlm_params p = ckpt_params();
    p.hidden = 20;
    firth_error err = {0};
    firth_charlm *m[4] = {NULL, NULL, NULL, NULL};
    const int threads[4] = {1, 1, 3, 3}, bf16[4] = {0, 1, 1, 1};
    for (int k = 0; k < 4; k++) {
        firth_charlm_train_opts o = {.steps = 24, .eval_every = 10, .bf16 = bf16[k]};
        m[k] = firth_charlm_new(text, n, &p, &err);
        CHECK(m[k] && firth_charlm_set_threads(m[k], threads[k], &err) == FIRTH_OK &&
                  firth_charlm_train(m[k], text, n, &o, NULL, NULL, &err) == FIRTH_OK,
              "%s", err.message);
    }
    if (!m[0] || !m[1] || !m[2] || !m[3]) goto out;
    CHECK(m[1]->bscr && m[1]->acts[0].bpar && !m[0]->bscr, "bfloat16 scratch only with bf16");
    const size_t np = m[0]->off.n;
    double d_f = max_abs_diff(m[0]->params, m[1]->params, np);
    double d_t = max_abs_diff(m[1]->params, m[2]->params, np);
    double v[3] = {0, 0, 0};
    const size_t cut = n - n / 10;
    for (int k = 0; k < 3; k++)
        CHECK(firth_charlm_eval(m[k], text + cut, n - cut, &v[k], NULL, &err) == FIRTH_OK, "%s",
              err.message);
    printf("    24 steps, float vs bfloat16 products: weights differ by at most %.3g (bfloat16 on "
           "1 vs 3 threads: %.3g); validation %.6f (float), %.6f, %.6f nats/char\n", d_f, d_t,
           v[0], v[1], v[2]);
    CHECK(d_f > 1e-5 && d_f < 2e-2, "float vs bfloat16: weights differ by %g", d_f);
    CHECK(d_t < 1e-3, "bfloat16 on 1 vs 3 threads: weights differ by %g", d_t);
    CHECK(fabs(v[0] - v[1]) < 0.02 && fabs(v[1] - v[2]) < 1e-3,
          "validation %.6f (float) vs %.6f, %.6f (bfloat16)", v[0], v[1], v[2]);
    CHECK(memcmp(m[2]->params, m[3]->params, np * sizeof(float)) == 0,
          "two bfloat16 runs on 3 threads differ");
out:
    for (int k = 0; k < 4; k++) firth_charlm_free(m[k]);
    free(text);
}

const test_case tests_charlm[] = {
    {"charlm_torch_onehot", test_charlm_torch_onehot},
    {"charlm_torch_embed", test_charlm_torch_embed},
    {"charlm_finite_differences", test_charlm_finite_differences},
    {"charlm_dropout_gradients", test_charlm_dropout_gradients},
    {"charlm_lr_decay_schedule", test_charlm_lr_decay_schedule},
    {"charlm_lr_decay_trains", test_charlm_lr_decay_trains},
    {"charlm_version1_checkpoint", test_charlm_version1_checkpoint},
    {"charlm_version2_checkpoint", test_charlm_version2_checkpoint},
    {"charlm_version3_checkpoint", test_charlm_version3_checkpoint},
    {"charlm_version4_checkpoint", test_charlm_version4_checkpoint},
    {"charlm_version5_checkpoint", test_charlm_version5_checkpoint},
    {"charlm_ema", test_charlm_ema},
    {"charlm_adam", test_charlm_adam},
    {"charlm_weight_decay", test_charlm_weight_decay},
    {"charlm_clip", test_charlm_clip},
    {"charlm_uniform_known_answer", test_charlm_uniform_known_answer},
    {"charlm_learns", test_charlm_learns},
    {"charlm_invalid_utf8", test_charlm_invalid_utf8},
    {"charlm_checkpoint_round_trip", test_charlm_checkpoint_round_trip},
    {"charlm_resume_identical", test_charlm_resume_identical},
    {"charlm_checkpoint_corrupt", test_charlm_checkpoint_corrupt},
    {"charlm_diverged", test_charlm_diverged},
    {"charlm_cancel_writes_checkpoint", test_charlm_cancel_writes_checkpoint},
    {"charlm_time_limit", test_charlm_time_limit},
    {"charlm_warmup", test_charlm_warmup},
    {"charlm_epoch_shift", test_charlm_epoch_shift},
    {"charlm_threads", test_charlm_threads},
    {"charlm_bf16", test_charlm_bf16},
    TEST_END,
};
