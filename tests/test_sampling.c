/* test_sampling.c - subsampling of frequent words and the alias table of negative sampling.
 *
 * References: Mikolov's keep probability worked by hand; the distribution an alias table
 * encodes, computed exactly from its columns and compared with weights / sum; and draws from it
 * with firth_rng at fixed seeds, compared with count^0.75 by a chi-square test (and, as a negative
 * control, shown to reject count^1). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alias.h"
#include "core/rng.h"
#include "firth.h"
#include "text/vocab.h"

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* Wilson-Hilferty: the standard normal deviate of a chi-square value with k degrees of freedom
 * (z = 4.5 is p ~ 3e-6 in the upper tail). */
static double chi2_z(double x, double k) {
    double a = 2.0 / (9.0 * k);
    return (cbrt(x / k) - (1.0 - a)) / sqrt(a);
}

/* Pearson's chi-square of observed counts against probabilities p (cells with p == 0 must be
 * empty and are skipped); *cells receives the number of cells used. */
static double chi2(const uint64_t *obs, const double *p, size_t n, uint64_t draws, size_t *cells) {
    double x = 0.0;
    *cells = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0.0) continue;
        double e = p[i] * (double)draws, d = (double)obs[i] - e;
        x += d * d / e;
        (*cells)++;
    }
    return x;
}

/* The exact distribution of an alias table: column c (probability 1/n) yields c with
 * prob[c] / 2^32 and alias[c] otherwise. */
static void table_distribution(const firth_alias *a, double *p) {
    for (uint32_t i = 0; i < a->n; i++) p[i] = 0.0;
    for (uint32_t c = 0; c < a->n; c++) {
        double keep = (double)a->col[c].prob / 4294967296.0;
        p[c] += keep / a->n;
        p[a->col[c].alias] += (1.0 - keep) / a->n;
    }
}

static void test_keep_probability(void) {
    /* p = (sqrt(c / t) + 1) * t / c, t = sample * train_words, capped at 1 */
    struct {
        uint64_t count, train;
        double sample, p;
    } cases[] = {
        {1000, 100000, 1e-3, 0.416227766016838}, /* t 100: (sqrt(10) + 1) * 0.1 */
        {10000, 1000000, 1e-4, 0.11},            /* t 100: (10 + 1) * 100 / 10000 */
        {400, 10000, 1e-2, 0.75},                /* t 100: (2 + 1) * 100 / 400 */
        {300, 100000, 1e-3, 0.9106836025229591}, /* (sqrt(3) + 1) / 3 */
        {200, 100000, 1e-3, 1.0},                /* (sqrt(2) + 1) / 2 > 1 */
        {50, 100000, 1e-3, 1.0},
        {5000, 100000, 0.0, 1.0}, /* sample 0: keep everything */
        {0, 100000, 1e-3, 1.0},   /* count 0 */
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        double got = firth_vocab_keep_probability(cases[i].count, cases[i].train, cases[i].sample);
        CHECK(fabs(got - cases[i].p) < 1e-12, "keep(%llu, %llu, %g) = %.15g, expected %.15g",
              (unsigned long long)cases[i].count, (unsigned long long)cases[i].train,
              cases[i].sample, got, cases[i].p);
    }
}

static firth_vocab *make_vocab(const uint64_t *counts, size_t n) {
    const char **words = malloc(n * sizeof *words);
    char(*buf)[24] = malloc(n * sizeof *buf);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "w%zu", i);
        words[i] = i ? buf[i] : FIRTH_EOS_WORD;
    }
    firth_error err = {0};
    firth_vocab *v = firth_vocab_from_list(words, counts, n, &err);
    CHECK(v != NULL, "vocab_from_list: %s", err.message);
    free(words);
    free(buf);
    return v;
}

static void test_keep_table(void) {
    const uint64_t counts[] = {500, 50000, 20000, 5000, 1000, 100, 10};
    firth_vocab *v = make_vocab(counts, N_OF(counts));
    if (!v) return;
    const double sample = 1e-3, t = sample * 76110.0; /* train_words excludes "</s>" */
    CHECK(firth_vocab_train_words(v) == 76110, "train_words %llu",
          (unsigned long long)firth_vocab_train_words(v));
    uint32_t *keep = firth_vocab_keep_table(v, sample);
    CHECK(keep[0] == UINT32_MAX, "</s> is always kept");
    firth_rng rng;
    firth_rng_seed(&rng, 99);
    const int N = 1000000;
    double worst = 0.0;
    for (size_t i = 1; i < N_OF(counts); i++) {
        double c = (double)counts[i], p = (sqrt(c / t) + 1.0) * t / c;
        if (p >= 1.0) {
            CHECK(keep[i] == UINT32_MAX, "word %zu (count %llu) is always kept", i,
                  (unsigned long long)counts[i]);
            continue;
        }
        CHECK(fabs(keep[i] / 4294967296.0 - p) < 1e-9, "keep[%zu] = %.9f, expected %.9f", i,
              keep[i] / 4294967296.0, p);
        /* the trainer keeps a word when 32 random bits fall below keep[i] */
        int kept = 0;
        for (int k = 0; k < N; k++) kept += (uint32_t)firth_rng_next(&rng) < keep[i];
        double rate = (double)kept / N, sd = sqrt(p * (1 - p) / N), z = fabs(rate - p) / sd;
        if (z > worst) worst = z;
        CHECK(z < 5.0, "word %zu: kept %.5f of %d draws, probability %.5f (%.1f sd)", i, rate, N, p,
              z);
    }
    printf("    subsampling: largest deviation of the keep rate %.2f sd\n", worst);
    free(keep);
    keep = firth_vocab_keep_table(v, 0.0);
    for (size_t i = 0; i < N_OF(counts); i++)
        CHECK(keep[i] == UINT32_MAX, "sample 0 keeps word %zu", i);
    free(keep);
    firth_vocab_free(v);
}

static void test_noise_chi2(void) {
    enum { V = 61 };
    uint64_t counts[V];
    counts[0] = 10000000; /* "</s>" is often the most frequent token; it must never be drawn */
    for (int i = 1; i < V; i++) counts[i] = (uint64_t)(1e6 / pow(i, 1.1)) + (uint64_t)i;
    firth_vocab *v = make_vocab(counts, V);
    if (!v) return;
    firth_alias a;
    firth_error err = {0};
    CHECK(firth_vocab_noise(v, 0.75, &a, &err) == FIRTH_OK, "noise: %s", err.message);
    double p[V], p1[V], tab[V], s = 0.0, s1 = 0.0;
    p[0] = p1[0] = 0.0;
    for (int i = 1; i < V; i++) {
        p[i] = pow((double)counts[i], 0.75), s += p[i];
        p1[i] = (double)counts[i], s1 += p1[i];
    }
    for (int i = 1; i < V; i++) p[i] /= s, p1[i] /= s1;
    /* the table itself encodes count^0.75 exactly (up to 2^-32 per column) */
    table_distribution(&a, tab);
    double worst = 0.0;
    for (int i = 0; i < V; i++)
        if (fabs(tab[i] - p[i]) > worst) worst = fabs(tab[i] - p[i]);
    CHECK(worst < 1e-9, "the alias table's distribution differs from count^0.75 by %.3g", worst);
    CHECK(tab[0] == 0.0, "</s> has probability %.3g in the table", tab[0]);
    /* draws */
    firth_rng rng;
    firth_rng_seed(&rng, 2024);
    const uint64_t N = 1000000;
    uint64_t obs[V] = {0};
    for (uint64_t k = 0; k < N; k++) obs[firth_alias_draw(&a, firth_rng_next(&rng))]++;
    CHECK(obs[0] == 0, "</s> was drawn %llu times", (unsigned long long)obs[0]);
    size_t cells;
    double x = chi2(obs, p, V, N, &cells), z = chi2_z(x, (double)cells - 1);
    printf("    noise draws vs count^0.75: chi2 %.1f with %zu dof (z %.2f)\n", x, cells - 1, z);
    CHECK(z < 4.5, "chi-square %.1f (%zu dof, z %.2f): draws do not follow count^0.75", x,
          cells - 1, z);
    /* negative control: the same draws clearly reject the plain unigram distribution */
    double x1 = chi2(obs, p1, V, N, &cells);
    CHECK(chi2_z(x1, (double)cells - 1) > 20.0, "the test cannot tell ^0.75 from ^1 (chi2 %.1f)",
          x1);
    firth_alias_free(&a);
    firth_vocab_free(v);
}

static void test_alias_reject(void) {
    firth_alias a;
    firth_error err;
    const double zero[] = {0.0, 0.0, 0.0};
    const double neg[] = {1.0, -1.0, 2.0};
    const double nan_w[] = {1.0, NAN, 2.0};
    const double inf_w[] = {1.0, INFINITY};
    const double ok[] = {1.0};
    struct {
        const double *w;
        size_t n;
        const char *what;
    } cases[] = {{zero, 3, "zero sum"},
                 {neg, 3, "negative weight"},
                 {nan_w, 3, "NaN weight"},
                 {inf_w, 2, "infinite weight"},
                 {ok, 0, "no weights"}};
    for (size_t i = 0; i < N_OF(cases); i++) {
        err = (firth_error){0};
        firth_status st = firth_alias_build(&a, cases[i].w, cases[i].n, &err);
        CHECK(st == FIRTH_ERR_PARAM && err.status == FIRTH_ERR_PARAM,
              "%s: status %d, expected FIRTH_ERR_PARAM", cases[i].what, st);
        CHECK(a.col == NULL && a.n == 0, "%s: table left empty", cases[i].what);
        firth_alias_free(&a);
    }
}

static void test_alias_zero_weights(void) {
    const double w[] = {0, 3, 0, 1, 0, 0, 2, 0};
    enum { n = N_OF(w) };
    firth_alias a;
    firth_error err = {0};
    CHECK(firth_alias_build(&a, w, n, &err) == FIRTH_OK, "build: %s", err.message);
    double tab[n], p[n];
    table_distribution(&a, tab);
    for (int i = 0; i < n; i++) {
        p[i] = w[i] / 6.0;
        CHECK(fabs(tab[i] - p[i]) < 1e-9, "entry %d: table probability %.9f, expected %.9f", i,
              tab[i], p[i]);
        if (w[i] == 0.0) CHECK(tab[i] == 0.0, "weight-0 entry %d has probability %.3g", i, tab[i]);
    }
    firth_rng rng;
    firth_rng_seed(&rng, 1);
    const uint64_t N = 1000000;
    uint64_t obs[n] = {0};
    for (uint64_t k = 0; k < N; k++) obs[firth_alias_draw(&a, firth_rng_next(&rng))]++;
    for (int i = 0; i < n; i++)
        if (w[i] == 0.0)
            CHECK(obs[i] == 0, "weight-0 entry %d drawn %llu times", i, (unsigned long long)obs[i]);
    size_t cells;
    double x = chi2(obs, p, n, N, &cells), z = chi2_z(x, (double)cells - 1);
    CHECK(z < 4.5, "chi-square %.2f (%zu dof, z %.2f)", x, cells - 1, z);
    firth_alias_free(&a);

    /* a single positive weight: every draw is that entry */
    const double one[] = {0, 0, 5, 0};
    CHECK(firth_alias_build(&a, one, 4, &err) == FIRTH_OK, "build: %s", err.message);
    int other = 0;
    for (int k = 0; k < 100000; k++) other += firth_alias_draw(&a, firth_rng_next(&rng)) != 2;
    CHECK(other == 0, "%d draws were not the only positive entry", other);
    /* extreme draws: all-zero and all-one random bits */
    CHECK(firth_alias_draw(&a, 0) == 2 && firth_alias_draw(&a, UINT64_MAX) == 2,
          "extreme random values");
    firth_alias_free(&a);

    /* random weight vectors with zeros, ties and a wide dynamic range: the table is exact */
    double worst = 0.0;
    for (int trial = 0; trial < 200; trial++) {
        size_t m = 1 + firth_rng_below(&rng, 300);
        double *ww = malloc(m * sizeof *ww), *pt = malloc(m * sizeof *pt), sum = 0.0;
        for (size_t i = 0; i < m; i++) {
            uint32_t r = firth_rng_below(&rng, 4);
            ww[i] = r == 0   ? 0.0
                    : r == 1 ? 1.0
                             : ldexp(firth_rng_double(&rng), -(int)firth_rng_below(&rng, 60));
            sum += ww[i];
        }
        if (sum == 0.0) ww[0] = 1.0, sum = 1.0;
        CHECK(firth_alias_build(&a, ww, m, &err) == FIRTH_OK, "trial %d: %s", trial, err.message);
        table_distribution(&a, pt);
        for (size_t i = 0; i < m; i++) {
            double d = fabs(pt[i] - ww[i] / sum);
            if (d > worst) worst = d;
            if (ww[i] == 0.0) {
                CHECK(pt[i] == 0.0, "trial %d: weight-0 entry %zu has probability %.3g", trial, i,
                      pt[i]);
                CHECK(a.col[i].prob == 0 && ww[a.col[i].alias] > 0.0,
                      "trial %d: weight-0 column %zu must always go to a positive alias", trial, i);
            }
        }
        firth_alias_free(&a);
        free(ww);
        free(pt);
    }
    CHECK(worst < 1e-9, "random tables differ from their weights by up to %.3g", worst);
}

const test_case tests_sampling[] = {
    {"sampling_keep_probability", test_keep_probability},
    {"sampling_keep_table", test_keep_table},
    {"sampling_noise_chi2", test_noise_chi2},
    {"sampling_alias_reject", test_alias_reject},
    {"sampling_alias_zero_weights", test_alias_zero_weights},
    TEST_END,
};
