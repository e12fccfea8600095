/* knn.c - keyed vectors: loading embeddings of any supported format, cosine neighbours and
 * analogies with BLAS (one sgemv per query, partial selection of the top k with a heap). */
#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/status.h"
#include "embed/format_w2v.h"
#include "embed/knn.h"
#include "embed/w2v_model.h"
#include "text/vocab.h"

struct firth_vectors {
    size_t V;
    int D;
    char *words;      /* V NUL-terminated words, back to back */
    size_t *word_off; /* (V) offset of each word in `words` */
    float *unit;      /* (V, D) L2-normalised rows, 64-byte aligned */
    float *raw;       /* (V, D) rows as stored in the file (firth_vectors_load_raw), or NULL */
    int64_t *slots;   /* hash table of ids: mask + 1 entries, -1 empty */
    size_t mask;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h ^ (h >> 32);
}

void firth_vectors_free(firth_vectors *v) {
    if (!v) return;
    free(v->words);
    free(v->word_off);
    firth_free_aligned(v->unit);
    firth_free_aligned(v->raw);
    free(v->slots);
    free(v);
}

/* row *= inv. A float factor is used whenever it is a normal float (the results stay those of
 * float arithmetic); for a row of subnormal values 1/|row| exceeds FLT_MAX (and for a row near
 * FLT_MAX it is subnormal), so there the product is taken in double: a float factor turned such
 * a row into infinities (found by tests/fuzz/fuzz_w2v_bin; regression in tests/fuzz/regress/). */
static void scale_row(float *row, int D, double inv) {
    if (inv >= FLT_MIN && inv <= FLT_MAX) {
        float f = (float)inv;
        for (int d = 0; d < D; d++) row[d] *= f;
    } else {
        for (int d = 0; d < D; d++) row[d] = (float)(row[d] * inv);
    }
}

/* Normalises the rows and builds the word index. Takes `words`, `word_off` and `m`. A repeated
 * word keeps its first row for lookups (as gensim does). With `keep_raw`, a copy of the rows as
 * they were is kept too. */
static firth_vectors *assemble(size_t V, int D, char *words, size_t *word_off, float *m,
                               int keep_raw, firth_error *err) {
    firth_vectors *v = calloc(1, sizeof *v);
    size_t slots = 16;
    while (slots < 2 * V) slots *= 2;
    if (v) v->slots = malloc(slots * sizeof *v->slots);
    if (v && keep_raw) {
        v->raw = firth_alloc_aligned(V * (size_t)D * sizeof *v->raw); /* size checked by loaders */
        if (v->raw) memcpy(v->raw, m, V * (size_t)D * sizeof *v->raw);
    }
    if (!v || !v->slots || (keep_raw && !v->raw)) {
        if (v) firth_free_aligned(v->raw), free(v->slots);
        free(v);
        free(words);
        free(word_off);
        firth_free_aligned(m);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory indexing %zu words", V);
        return NULL;
    }
    v->V = V;
    v->D = D;
    v->words = words;
    v->word_off = word_off;
    v->unit = m;
    v->mask = slots - 1;
    memset(v->slots, 0xFF, slots * sizeof *v->slots);
    for (size_t i = 0; i < V; i++) {
        float *row = m + i * (size_t)D;
        double ss = 0.0;
        for (int d = 0; d < D; d++) ss += (double)row[d] * row[d];
        if (ss > 0.0) scale_row(row, D, 1.0 / sqrt(ss));
        const char *w = words + word_off[i];
        size_t j = hash_str(w) & v->mask;
        int dup = 0;
        while (v->slots[j] >= 0) {
            if (strcmp(words + word_off[v->slots[j]], w) == 0) {
                dup = 1;
                break;
            }
            j = (j + 1) & v->mask;
        }
        if (!dup) v->slots[j] = (int64_t)i;
    }
    return v;
}

/* The first `limit` (0: all) input vectors of a model. */
static firth_vectors *from_model(const firth_w2v *model, size_t limit, int keep_raw,
                                 firth_error *err) {
    size_t bytes;
    const char *block = firth_vocab_word_block(model->vocab, &bytes);
    size_t V = limit > 0 && limit < model->V ? limit : model->V, n = V * (size_t)model->D;
    char *words = malloc(bytes);
    size_t *off = malloc(V * sizeof *off);
    float *m = firth_alloc_aligned(n * sizeof *m);
    if (!words || !off || !m) {
        free(words);
        free(off);
        firth_free_aligned(m);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory copying %zu vectors", V);
        return NULL;
    }
    memcpy(words, block, bytes);
    for (size_t i = 0, o = 0; i < V; i++) {
        off[i] = o;
        o += strlen(words + o) + 1;
    }
    memcpy(m, model->syn0, n * sizeof *m);
    return assemble(V, model->D, words, off, m, keep_raw, err);
}

firth_vectors *firth_vectors_from_w2v(const firth_w2v *model, firth_error *err) {
    return from_model(model, 0, 0, err);
}

static firth_vectors *load(const char *path, size_t limit, int keep_raw, firth_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open '%s'", path);
        return NULL;
    }
    char magic[8] = {0};
    size_t got = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    if (got == sizeof magic && memcmp(magic, "FIRTHW2V", 8) == 0) {
        firth_w2v *m = firth_w2v_load(path, err);
        if (!m) return NULL;
        firth_vectors *v = from_model(m, limit, keep_raw, err);
        firth_w2v_free(m);
        return v;
    }
    firth_w2v_table t;
    if (firth_read_w2v(path, limit, &t, err) != FIRTH_OK) return NULL;
    return assemble(t.V, t.dim, t.words, t.word_off, t.m, keep_raw, err);
}

firth_vectors *firth_vectors_load(const char *path, size_t limit, firth_error *err) {
    return load(path, limit, 0, err);
}

firth_vectors *firth_vectors_load_raw(const char *path, size_t limit, firth_error *err) {
    return load(path, limit, 1, err);
}

const float *firth_vectors_raw(const firth_vectors *v, size_t id) {
    return v->raw && id < v->V ? v->raw + id * (size_t)v->D : NULL;
}

size_t firth_vectors_count(const firth_vectors *v) { return v->V; }
int firth_vectors_dim(const firth_vectors *v) { return v->D; }
const char *firth_vectors_word(const firth_vectors *v, size_t id) {
    return id < v->V ? v->words + v->word_off[id] : NULL;
}
const float *firth_vectors_unit(const firth_vectors *v, size_t id) {
    return v->unit + id * (size_t)v->D;
}

int64_t firth_vectors_find(const firth_vectors *v, const char *word) {
    size_t j = hash_str(word) & v->mask;
    for (;;) {
        int64_t id = v->slots[j];
        if (id < 0) return -1;
        if (strcmp(v->words + v->word_off[id], word) == 0) return id;
        j = (j + 1) & v->mask;
    }
}

float firth_vectors_similarity(const firth_vectors *v, size_t a, size_t b) {
    const float *x = firth_vectors_unit(v, a), *y = firth_vectors_unit(v, b);
    double s = 0.0;
    for (int d = 0; d < v->D; d++) s += (double)x[d] * y[d];
    return (float)s;
}

/* ---------------------------------------------------------------------------------------- */

/* Min-heap on score (ties: larger id is "smaller", so the result prefers lower ids). */
static int worse(const firth_hit *a, const firth_hit *b) {
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void sift_down(firth_hit *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m])) m = l;
        if (r < n && worse(&h[r], &h[m])) m = r;
        if (m == i) return;
        firth_hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The k best of scores[0..n) (NaN and -inf never chosen), best first. */
static size_t top_k(const float *scores, size_t n, size_t k, firth_hit *out) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        float s = scores[i];
        if (!(s > -INFINITY)) continue;
        firth_hit x = {(int64_t)i, s};
        if (m < k) {
            out[m++] = x;
            if (m == k)
                for (size_t j = k / 2 + 1; j-- > 0;) sift_down(out, m, j);
        } else if (worse(&out[0], &x)) {
            out[0] = x;
            sift_down(out, m, 0);
        }
    }
    if (m < k)
        for (size_t j = m / 2 + 1; j-- > 0;) sift_down(out, m, j);
    /* heap sort: repeatedly move the worst to the end */
    for (size_t end = m; end > 1; end--) {
        firth_hit t = out[0];
        out[0] = out[end - 1];
        out[end - 1] = t;
        sift_down(out, end - 1, 0);
    }
    return m;
}

size_t firth_vectors_nearest(const firth_vectors *v, const float *query, size_t k,
                             const int64_t *exclude, size_t n_exclude, firth_hit *out) {
    return firth_vectors_nearest_prefix(v, v->V, query, k, exclude, n_exclude, out);
}

size_t firth_vectors_nearest_prefix(const firth_vectors *v, size_t n_rows, const float *query,
                                    size_t k, const int64_t *exclude, size_t n_exclude,
                                    firth_hit *out) {
    if (n_rows > v->V) n_rows = v->V;
    if (k == 0 || n_rows == 0) return 0;
    float *scores = malloc(n_rows * sizeof *scores);
    float *q = malloc((size_t)v->D * sizeof *q);
    if (!scores || !q) {
        free(scores);
        free(q);
        return 0;
    }
    double ss = 0.0;
    for (int d = 0; d < v->D; d++) ss += (double)query[d] * query[d];
    memcpy(q, query, (size_t)v->D * sizeof *q);
    if (ss > 0.0) scale_row(q, v->D, 1.0 / sqrt(ss)); /* a zero query stays zero */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n_rows, v->D, 1.0f, v->unit, v->D, q, 1,
                0.0f, scores, 1);
    for (size_t i = 0; i < n_exclude; i++)
        if (exclude[i] >= 0 && (size_t)exclude[i] < n_rows) scores[exclude[i]] = -INFINITY;
    size_t n = top_k(scores, n_rows, k, out);
    free(scores);
    free(q);
    return n;
}

long firth_vectors_analogy(const firth_vectors *v, size_t a, size_t b, size_t c,
                           firth_analogy_method method, size_t k, firth_hit *out,
                           firth_error *err) {
    const int D = v->D;
    const int64_t ex[3] = {(int64_t)a, (int64_t)b, (int64_t)c};
    if (method == FIRTH_ANALOGY_ADD) {
        float *q = malloc((size_t)D * sizeof *q);
        if (!q) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        const float *ua = firth_vectors_unit(v, a), *ub = firth_vectors_unit(v, b),
                    *uc = firth_vectors_unit(v, c);
        for (int d = 0; d < D; d++) q[d] = ub[d] - ua[d] + uc[d];
        size_t n = firth_vectors_nearest(v, q, k, ex, 3, out);
        free(q);
        return (long)n;
    }
    /* 3CosMul: the cosines with a, b and c for every row in one product (V x D) (D x 3) */
    float *abc = malloc((size_t)D * 3 * sizeof *abc);
    float *cos = malloc(v->V * 3 * sizeof *cos);
    float *scores = malloc(v->V * sizeof *scores);
    if (!abc || !cos || !scores) {
        free(abc), free(cos), free(scores);
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    }
    memcpy(abc, firth_vectors_unit(v, a), (size_t)D * sizeof *abc);
    memcpy(abc + D, firth_vectors_unit(v, b), (size_t)D * sizeof *abc);
    memcpy(abc + 2 * D, firth_vectors_unit(v, c), (size_t)D * sizeof *abc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)v->V, 3, D, 1.0f, v->unit, D, abc,
                D, 0.0f, cos, 3);
    for (size_t i = 0; i < v->V; i++) {
        float ca = (cos[3 * i] + 1.0f) * 0.5f, cb = (cos[3 * i + 1] + 1.0f) * 0.5f,
              cc = (cos[3 * i + 2] + 1.0f) * 0.5f;
        scores[i] = cb * cc / (ca + 1e-3f);
    }
    for (int i = 0; i < 3; i++) scores[ex[i]] = -INFINITY;
    size_t n = top_k(scores, v->V, k, out);
    free(abc), free(cos), free(scores);
    return (long)n;
}
