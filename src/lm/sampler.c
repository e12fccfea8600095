/* sampler.c - drawing the next token from a model's scores: temperature, top-k, top-p.
 *
 * The kept classes are found in O(n log k) with a size-k min-heap when top-k is on, by one sort
 * when only top-p is on (it needs the classes in order of score), and not at all when neither is
 * (then the draw walks the classes in index order). Probabilities are exp((z - max) / T) in
 * double, so a temperature of 1e-3 on scores of order 10 neither overflows nor loses the
 * runners-up to rounding before they are compared. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/rng.h"
#include "core/status.h"
#include "firth.h"

typedef struct cand {
    double w;   /* unnormalised probability */
    float z;    /* score */
    uint32_t i; /* class index */
} cand;

struct firth_sampler {
    size_t cap;
    firth_rng rng;
    cand *c; /* (cap) the kept classes */
};

void firth_sampler_default_params(firth_sampler_params *params) {
    params->temperature = 1.0f;
    params->top_k = 0;
    params->top_p = 1.0f;
}

firth_sampler *firth_sampler_create(size_t n_classes, uint64_t seed, firth_error *err) {
    if (n_classes == 0 || n_classes > UINT32_MAX) {
        firth_fail(err, FIRTH_ERR_PARAM, "a sampler needs between 1 and %u classes, not %zu",
                   UINT32_MAX, n_classes);
        return NULL;
    }
    firth_sampler *s = calloc(1, sizeof *s);
    if (s) s->c = malloc(n_classes * sizeof *s->c);
    if (!s || !s->c) {
        free(s);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for a sampler over %zu classes",
                   n_classes);
        return NULL;
    }
    s->cap = n_classes;
    firth_rng_seed(&s->rng, seed);
    return s;
}

void firth_sampler_free(firth_sampler *s) {
    if (!s) return;
    free(s->c);
    free(s);
}

/* a ranks before b: higher score, then lower index. */
static int better(const cand *a, const cand *b) {
    return a->z > b->z || (a->z == b->z && a->i < b->i);
}

static int cmp_rank(const void *pa, const void *pb) {
    const cand *a = pa, *b = pb;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Min-heap on rank (the root is the worst kept class). */
static void sift_down(cand *h, size_t n, size_t at) {
    for (;;) {
        size_t l = 2 * at + 1, r = l + 1, w = at;
        if (l < n && better(&h[w], &h[l])) w = l;
        if (r < n && better(&h[w], &h[r])) w = r;
        if (w == at) return;
        cand t = h[at];
        h[at] = h[w];
        h[w] = t;
        at = w;
    }
}

static int greedy(const firth_sampler_params *p) {
    return p->top_k == 1 || p->temperature <= 1e-6f;
}

static firth_status check_args(const firth_sampler *s, const float *logits, size_t n,
                               const firth_sampler_params *p, firth_error *err) {
    if (n == 0 || n > s->cap)
        return firth_fail(err, FIRTH_ERR_PARAM, "the sampler was made for %zu classes, not %zu",
                          s->cap, n);
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
        return firth_fail(err, FIRTH_ERR_PARAM, "temperature must be a finite number >= 0");
    if (p->top_k < 0) return firth_fail(err, FIRTH_ERR_PARAM, "top-k must be >= 0");
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return firth_fail(err, FIRTH_ERR_PARAM, "top-p must be in (0, 1]");
    int finite = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(logits[i]) || logits[i] == INFINITY)
            return firth_fail(err, FIRTH_ERR_PARAM, "score %zu is %s", i,
                              isnan(logits[i]) ? "NaN" : "infinite");
        finite |= logits[i] != -INFINITY;
    }
    if (!finite) return firth_fail(err, FIRTH_ERR_PARAM, "every score is -infinity");
    return FIRTH_OK;
}

static size_t argmax(const float *z, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (z[i] > z[best]) best = i; /* strict: the lowest index wins a tie */
    return best;
}

/* Fills s->c[0..*kept) with the classes that survive the filters and their weights. The
 * classes are in rank order when a filter was on, in index order when none was. Returns the
 * total weight. */
static double select_classes(firth_sampler *s, const float *z, size_t n,
                             const firth_sampler_params *p, size_t *kept) {
    cand *c = s->c;
    size_t m = n;
    if (p->top_k > 0 && (size_t)p->top_k < n) {
        m = (size_t)p->top_k;
        for (size_t i = 0; i < m; i++) c[i] = (cand){0.0, z[i], (uint32_t)i};
        for (size_t i = m / 2; i-- > 0;) sift_down(c, m, i);
        for (size_t i = m; i < n; i++) {
            cand x = {0.0, z[i], (uint32_t)i};
            if (better(&x, &c[0])) {
                c[0] = x;
                sift_down(c, m, 0);
            }
        }
        qsort(c, m, sizeof *c, cmp_rank);
    } else {
        for (size_t i = 0; i < n; i++) c[i] = (cand){0.0, z[i], (uint32_t)i};
        if (p->top_p < 1.0f) qsort(c, m, sizeof *c, cmp_rank);
    }
    float zmax = -INFINITY;
    for (size_t i = 0; i < m; i++) zmax = c[i].z > zmax ? c[i].z : zmax;
    double inv_t = 1.0 / (double)p->temperature, total = 0.0;
    for (size_t i = 0; i < m; i++) {
        c[i].w = c[i].z == -INFINITY ? 0.0 : exp(((double)c[i].z - zmax) * inv_t);
        total += c[i].w;
    }
    if (p->top_p < 1.0f) { /* c is in rank order here */
        double goal = (double)p->top_p * total, cum = 0.0;
        size_t keep = 0;
        while (keep < m && (keep == 0 || cum < goal)) cum += c[keep++].w;
        m = keep;
        total = cum;
    }
    *kept = m;
    return total;
}

firth_status firth_sampler_distribution(firth_sampler *s, const float *logits, size_t n,
                                        const firth_sampler_params *p, float *probs,
                                        firth_error *err) {
    firth_status st = check_args(s, logits, n, p, err);
    if (st != FIRTH_OK) return st;
    memset(probs, 0, n * sizeof *probs);
    if (greedy(p)) {
        probs[argmax(logits, n)] = 1.0f;
        return FIRTH_OK;
    }
    size_t m;
    double total = select_classes(s, logits, n, p, &m);
    for (size_t i = 0; i < m; i++) probs[s->c[i].i] = (float)(s->c[i].w / total);
    return FIRTH_OK;
}

firth_status firth_sampler_pick(firth_sampler *s, const float *logits, size_t n,
                                const firth_sampler_params *p, size_t *out, firth_error *err) {
    firth_status st = check_args(s, logits, n, p, err);
    if (st != FIRTH_OK) return st;
    if (greedy(p)) {
        *out = argmax(logits, n);
        return FIRTH_OK;
    }
    size_t m;
    double total = select_classes(s, logits, n, p, &m);
    double u = firth_rng_double(&s->rng) * total, cum = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < m; i++) {
        if (s->c[i].w <= 0.0) continue;
        last = i;
        cum += s->c[i].w;
        if (u < cum) break;
    }
    *out = s->c[last].i; /* rounding can leave u == total: the last class with weight */
    return FIRTH_OK;
}
