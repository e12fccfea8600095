/* test_sampler.c - the shared next-token sampler (temperature, top-k, top-p).
 *
 * References: softmax computed here in double from the definition; the top-k set found by
 * sorting a copy; top-p sets worked by hand on a distribution with round probabilities; draws
 * compared with the sampler's own distribution by a chi-square test (and, as a negative
 * control, shown to reject a distribution that differs from it). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "firth.h"

#define N_OF(a) (sizeof(a) / sizeof *(a))

static firth_sampler_params params(float t, int k, float p) {
    firth_sampler_params sp;
    firth_sampler_default_params(&sp);
    sp.temperature = t;
    sp.top_k = k;
    sp.top_p = p;
    return sp;
}

static void random_logits(float *z, size_t n, uint64_t seed) {
    firth_rng r;
    firth_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) z[i] = 4.0f * (firth_rng_float(&r) - 0.5f);
}

static void test_sampler_defaults(void) {
    firth_sampler_params p;
    firth_sampler_default_params(&p);
    CHECK(p.temperature == 1.0f && p.top_k == 0 && p.top_p == 1.0f, "defaults %g %d %g",
          p.temperature, p.top_k, p.top_p);
}

/* No filter: the distribution is softmax(z / T) for T = 1 and T = 2.5. */
static void test_sampler_softmax(void) {
    enum { N = 40 };
    float z[N], probs[N];
    random_logits(z, N, 7);
    firth_error err = {0};
    firth_sampler *s = firth_sampler_create(N, 1, &err);
    CHECK(s != NULL, "%s", err.message);
    if (!s) return;
    const float temps[] = {1.0f, 2.5f, 0.3f};
    for (size_t t = 0; t < N_OF(temps); t++) {
        firth_sampler_params p = params(temps[t], 0, 1.0f);
        CHECK(firth_sampler_distribution(s, z, N, &p, probs, &err) == FIRTH_OK, "%s",
              err.message);
        double sum = 0.0, ref[N];
        for (int i = 0; i < N; i++) sum += ref[i] = exp((double)z[i] / temps[t]);
        double worst = 0.0;
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs(probs[i] - ref[i] / sum));
        CHECK(worst < 1e-6, "T=%g: largest difference from softmax %.3g", temps[t], worst);
    }
    firth_sampler_free(s);
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* top-k never returns a class outside the k best (found by sorting a copy), and gives each of
 * the k a share proportional to exp(z). */
static void test_sampler_top_k(void) {
    enum { N = 200, K = 7, DRAWS = 20000 };
    float z[N], sorted[N], probs[N];
    random_logits(z, N, 11);
    memcpy(sorted, z, sizeof z);
    qsort(sorted, N, sizeof *sorted, cmp_desc);
    float kth = sorted[K - 1];
    firth_error err = {0};
    firth_sampler *s = firth_sampler_create(N, 5, &err);
    if (!s) return;
    firth_sampler_params p = params(1.0f, K, 1.0f);
    int outside = 0;
    for (int d = 0; d < DRAWS; d++) {
        size_t pick = N;
        CHECK(firth_sampler_pick(s, z, N, &p, &pick, &err) == FIRTH_OK, "%s", err.message);
        if (pick >= N || z[pick] < kth) outside++;
    }
    CHECK(outside == 0, "%d of %d draws outside the top %d", outside, DRAWS, K);
    CHECK(firth_sampler_distribution(s, z, N, &p, probs, &err) == FIRTH_OK, "%s", err.message);
    double sum = 0.0;
    for (int i = 0; i < K; i++) sum += exp(sorted[i]);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        if (z[i] >= kth) {
            kept++;
            CHECK_CLOSE(probs[i], exp(z[i]) / sum, 1e-6);
        } else {
            CHECK(probs[i] == 0.0f, "class %d outside the top %d has probability %g", i, K,
                  probs[i]);
        }
    }
    CHECK(kept == K, "%d classes kept", kept);
    firth_sampler_free(s);
}

/* top-p keeps the smallest set of best classes whose mass reaches p, worked by hand on
 * probabilities 0.5 0.2 0.15 0.1 0.05 (given out of order). */
static void test_sampler_top_p(void) {
    const double p0[5] = {0.1, 0.5, 0.05, 0.2, 0.15};
    float z[5], probs[5];
    for (int i = 0; i < 5; i++) z[i] = (float)log(p0[i]);
    firth_error err = {0};
    firth_sampler *s = firth_sampler_create(5, 3, &err);
    if (!s) return;
    struct {
        float top_p;
        int keep[5]; /* 1 where kept */
        double mass;
    } cases[] = {
        {0.45f, {0, 1, 0, 0, 0}, 0.5},  {0.6f, {0, 1, 0, 1, 0}, 0.7},
        {0.8f, {0, 1, 0, 1, 1}, 0.85},  {0.9f, {1, 1, 0, 1, 1}, 0.95},
        {0.99f, {1, 1, 1, 1, 1}, 1.0},  {1.0f, {1, 1, 1, 1, 1}, 1.0},
    };
    for (size_t c = 0; c < N_OF(cases); c++) {
        firth_sampler_params p = params(1.0f, 0, cases[c].top_p);
        CHECK(firth_sampler_distribution(s, z, 5, &p, probs, &err) == FIRTH_OK, "%s",
              err.message);
        for (int i = 0; i < 5; i++) {
            double want = cases[c].keep[i] ? p0[i] / cases[c].mass : 0.0;
            CHECK(fabs(probs[i] - want) < 1e-6, "top-p %g class %d: %g, want %g",
                  cases[c].top_p, i, probs[i], want);
        }
    }
    /* top-k first, then top-p within the k: k = 3 keeps .5 .2 .15 (mass .85); p = .8 of that
     * is .68, reached by .5 + .2. */
    firth_sampler_params p = params(1.0f, 3, 0.8f);
    CHECK(firth_sampler_distribution(s, z, 5, &p, probs, &err) == FIRTH_OK, "%s", err.message);
    CHECK(fabs(probs[1] - 0.5 / 0.7) < 1e-6 && fabs(probs[3] - 0.2 / 0.7) < 1e-6 &&
              probs[0] == 0 && probs[2] == 0 && probs[4] == 0,
          "k=3 p=0.8: %g %g %g %g %g", probs[0], probs[1], probs[2], probs[3], probs[4]);
    firth_sampler_free(s);
}

/* Temperature towards 0 gives the argmax; top-k 1 is greedy; ties go to the lower index. */
static void test_sampler_greedy(void) {
    enum { N = 100 };
    float z[N], probs[N];
    random_logits(z, N, 13);
    size_t best = 0;
    for (size_t i = 1; i < N; i++)
        if (z[i] > z[best]) best = i;
    firth_error err = {0};
    firth_sampler *s = firth_sampler_create(N, 9, &err);
    if (!s) return;
    const firth_sampler_params ps[] = {params(0.0f, 0, 1.0f), params(1e-7f, 0, 1.0f),
                                       params(1.0f, 1, 1.0f), params(1e-7f, 0, 0.5f)};
    for (size_t c = 0; c < N_OF(ps); c++)
        for (int d = 0; d < 50; d++) {
            size_t pick = N;
            CHECK(firth_sampler_pick(s, z, N, &ps[c], &pick, &err) == FIRTH_OK, "%s",
                  err.message);
            CHECK(pick == best, "case %zu: picked %zu, argmax %zu", c, pick, best);
        }
    /* a small but positive temperature concentrates the distribution on the argmax: at a
     * tenth of the gap to the runner-up, p(argmax) >= 1 / (1 + (N - 1) e^-10) > 0.99 */
    float gap = INFINITY;
    for (size_t i = 0; i < N; i++)
        if (i != best && z[best] - z[i] < gap) gap = z[best] - z[i];
    firth_sampler_params cold = params(gap / 10.0f, 0, 1.0f);
    CHECK(firth_sampler_distribution(s, z, N, &cold, probs, &err) == FIRTH_OK, "%s",
          err.message);
    CHECK(probs[best] > 0.99f, "T=%g: p(argmax) = %g", cold.temperature, probs[best]);
    float tie[4] = {1.0f, 3.0f, 3.0f, 2.0f};
    size_t pick = 9;
    firth_sampler_params g = params(1.0f, 1, 1.0f);
    CHECK(firth_sampler_pick(s, tie, 4, &g, &pick, &err) == FIRTH_OK && pick == 1,
          "tie picked %zu", pick);
    firth_sampler_params k2 = params(1.0f, 2, 1.0f);
    CHECK(firth_sampler_distribution(s, tie, 4, &k2, probs, &err) == FIRTH_OK &&
              fabs(probs[1] - 0.5) < 1e-6 && fabs(probs[2] - 0.5) < 1e-6,
          "k=2 with a tie: %g %g %g %g", probs[0], probs[1], probs[2], probs[3]);
    firth_sampler_free(s);
}

/* Wilson-Hilferty normal deviate of a chi-square value with k degrees of freedom. */
static double chi2_z(double x, double k) {
    double a = 2.0 / (9.0 * k);
    return (cbrt(x / k) - (1.0 - a)) / sqrt(a);
}

static double chi2(const long *obs, const float *p, size_t n, long draws) {
    double x = 0.0;
    for (size_t i = 0; i < n; i++)
        if (p[i] > 0) {
            double e = p[i] * (double)draws, d = (double)obs[i] - e;
            x += d * d / e;
        }
    return x;
}

/* Draws follow the distribution (top-k + top-p + temperature together), and a perturbed
 * distribution is rejected (the test has power). */
static void test_sampler_draws(void) {
    enum { N = 30, DRAWS = 200000 };
    float z[N], probs[N], wrong[N];
    random_logits(z, N, 17);
    firth_error err = {0};
    firth_sampler *s = firth_sampler_create(N, 21, &err);
    if (!s) return;
    firth_sampler_params p = params(0.8f, 20, 0.95f);
    CHECK(firth_sampler_distribution(s, z, N, &p, probs, &err) == FIRTH_OK, "%s", err.message);
    long obs[N] = {0};
    for (int d = 0; d < DRAWS; d++) {
        size_t pick = 0;
        firth_sampler_pick(s, z, N, &p, &pick, &err);
        obs[pick]++;
    }
    int cells = 0;
    for (int i = 0; i < N; i++) {
        cells += probs[i] > 0;
        CHECK(probs[i] > 0 || obs[i] == 0, "class %d drawn %ld times with probability 0", i,
              obs[i]);
    }
    double zs = chi2_z(chi2(obs, probs, N, DRAWS), cells - 1);
    CHECK(zs < 4.5, "chi-square deviate %.2f over %d cells", zs, cells);
    /* negative control: move 2% of the mass from the best kept class to the worst kept one */
    memcpy(wrong, probs, sizeof probs);
    int hi = 0, lo = -1;
    for (int i = 0; i < N; i++) {
        if (probs[i] > probs[hi]) hi = i;
        if (probs[i] > 0 && (lo < 0 || probs[i] < probs[lo])) lo = i;
    }
    wrong[hi] -= 0.02f;
    wrong[lo] += 0.02f;
    double zw = chi2_z(chi2(obs, wrong, N, DRAWS), cells - 1);
    CHECK(zw > 4.5, "the perturbed distribution was not rejected (deviate %.2f)", zw);
    firth_sampler_free(s);
}

/* The same seed gives the same draws; another seed gives other draws. */
static void test_sampler_seed(void) {
    enum { N = 50, DRAWS = 200 };
    float z[N];
    random_logits(z, N, 23);
    firth_error err = {0};
    firth_sampler *a = firth_sampler_create(N, 42, &err), *b = firth_sampler_create(N, 42, &err),
                  *c = firth_sampler_create(N, 43, &err);
    if (!a || !b || !c) return;
    firth_sampler_params p = params(1.0f, 0, 0.9f);
    int same_ab = 1, same_ac = 1;
    for (int d = 0; d < DRAWS; d++) {
        size_t x = 0, y = 0, w = 0;
        firth_sampler_pick(a, z, N, &p, &x, &err);
        firth_sampler_pick(b, z, N, &p, &y, &err);
        firth_sampler_pick(c, z, N, &p, &w, &err);
        same_ab &= x == y;
        same_ac &= x == w;
    }
    CHECK(same_ab, "two samplers with seed 42 drew different classes");
    CHECK(!same_ac, "seeds 42 and 43 drew the same %d classes", DRAWS);
    firth_sampler_free(a);
    firth_sampler_free(b);
    firth_sampler_free(c);
}

static void test_sampler_errors(void) {
    firth_error err = {0};
    CHECK(firth_sampler_create(0, 1, &err) == NULL && err.status == FIRTH_ERR_PARAM,
          "0 classes accepted");
    firth_sampler *s = firth_sampler_create(4, 1, &err);
    if (!s) return;
    float z[5] = {0, 1, 2, 3, 4}, probs[5];
    size_t out;
    firth_sampler_params ok = params(1.0f, 0, 1.0f);
    CHECK(firth_sampler_pick(s, z, 5, &ok, &out, &err) == FIRTH_ERR_PARAM, "n > capacity");
    const firth_sampler_params bad[] = {params(-1.0f, 0, 1.0f), params(NAN, 0, 1.0f),
                                        params(INFINITY, 0, 1.0f), params(1.0f, -2, 1.0f),
                                        params(1.0f, 0, 0.0f), params(1.0f, 0, 1.5f),
                                        params(1.0f, 0, NAN)};
    for (size_t i = 0; i < N_OF(bad); i++)
        CHECK(firth_sampler_pick(s, z, 4, &bad[i], &out, &err) == FIRTH_ERR_PARAM,
              "bad parameters %zu accepted", i);
    float nan_z[4] = {0, NAN, 1, 2}, inf_z[4] = {0, INFINITY, 1, 2};
    float none[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    CHECK(firth_sampler_pick(s, nan_z, 4, &ok, &out, &err) == FIRTH_ERR_PARAM, "NaN accepted");
    CHECK(firth_sampler_pick(s, inf_z, 4, &ok, &out, &err) == FIRTH_ERR_PARAM, "+inf accepted");
    CHECK(firth_sampler_distribution(s, none, 4, &ok, probs, &err) == FIRTH_ERR_PARAM,
          "all -inf accepted");
    /* -inf marks a class that must never be drawn */
    float masked[4] = {5.0f, -INFINITY, 5.0f, -INFINITY};
    for (int d = 0; d < 200; d++) {
        CHECK(firth_sampler_pick(s, masked, 4, &ok, &out, &err) == FIRTH_OK, "%s", err.message);
        CHECK(out == 0 || out == 2, "drew masked class %zu", out);
    }
    firth_sampler_free(s);
    firth_sampler_free(NULL);
}

const test_case tests_sampler[] = {
    {"sampler_defaults", test_sampler_defaults},
    {"sampler_softmax", test_sampler_softmax},
    {"sampler_top_k", test_sampler_top_k},
    {"sampler_top_p", test_sampler_top_p},
    {"sampler_greedy", test_sampler_greedy},
    {"sampler_draws", test_sampler_draws},
    {"sampler_seed", test_sampler_seed},
    {"sampler_errors", test_sampler_errors},
    {NULL, NULL},
};
