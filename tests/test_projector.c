/* test_projector.c - the projector: PCA and the HTML page of `firth project`.
 *
 * References:
 *  - numpy's SVD of the centred rows (tests/fixtures/pca_ref.bin, written by
 *    tests/ref/gen_pca.py; rerun: /usr/bin/python3 tests/ref/gen_pca.py tests/fixtures/pca_ref.bin)
 *  - a planted anisotropic Gaussian: known axes and variances, recovered up to sampling error
 *  - firth_pca_naive (double-precision loops and Jacobi rotations, no BLAS or LAPACK)
 *  - hand-written JSON escapes, a small strict JSON parser written here that reads the page's
 *    data back, and brute-force double-precision cosines for the neighbours.
 * The fixture is read from the working directory (the repository root, as `make test` runs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "embed/projector.h"
#include "firth.h"
#include "test_util.h"

/* Standard normal (Box-Muller). */
static double gauss(firth_rng *r) {
    double u = firth_rng_double(r), v = firth_rng_double(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Sign of the dot product of two axes (to compare eigenvectors defined up to sign). */
static double align(const float *a, const double *b, int dim) {
    double s = 0.0;
    for (int d = 0; d < dim; d++) s += a[d] * b[d];
    return s < 0 ? -1.0 : 1.0;
}

/* The entry of largest magnitude of each axis must be positive (the documented sign rule). */
static int sign_rule_holds(const float *axes, int n_comp, int dim) {
    for (int c = 0; c < n_comp; c++) {
        int m = 0;
        for (int d = 1; d < dim; d++)
            if (fabsf(axes[c * dim + d]) > fabsf(axes[c * dim + m])) m = d;
        if (axes[c * dim + m] < 0) return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------- */

typedef struct pca_fixture {
    uint32_t n, dim, nc;
    float *x;
    double *axes, *var, total, *proj;
} pca_fixture;

static int load_fixture(const char *path, pca_fixture *f) {
    size_t len;
    unsigned char *b = tu_read(path, &len);
    if (!b) return 0;
    uint32_t h[4];
    if (len < 24 || memcmp(b, "FIRTHPCA", 8) != 0) goto bad;
    memcpy(h, b + 8, sizeof h);
    if (h[0] != 1 || h[1] > 100000 || h[2] > 1000 || h[3] > h[2]) goto bad;
    f->n = h[1], f->dim = h[2], f->nc = h[3];
    size_t nx = (size_t)f->n * f->dim, na = (size_t)f->nc * f->dim, np = (size_t)f->n * f->nc;
    size_t want = 24 + nx * 4 + (na + f->nc + 1 + np) * 8;
    if (len != want) goto bad;
    f->x = malloc(nx * 4), f->axes = malloc(na * 8), f->var = malloc(f->nc * 8);
    f->proj = malloc(np * 8);
    const unsigned char *p = b + 24;
    memcpy(f->x, p, nx * 4), p += nx * 4;
    memcpy(f->axes, p, na * 8), p += na * 8;
    memcpy(f->var, p, f->nc * 8), p += f->nc * 8;
    memcpy(&f->total, p, 8), p += 8;
    memcpy(f->proj, p, np * 8);
    free(b);
    return 1;
bad:
    free(b);
    return 0;
}

typedef firth_status (*pca_fn)(const float *, size_t, int, int, float *, double *, double *,
                               float *, firth_error *);

/* Runs `fn` on the fixture and returns the largest differences (axes up to sign). */
static void pca_vs_numpy(pca_fn fn, const char *name, double tol_axes, double tol_var,
                         double tol_proj) {
    pca_fixture f = {0};
    CHECK(load_fixture("tests/fixtures/pca_ref.bin", &f),
          "cannot read tests/fixtures/pca_ref.bin (run from the repository root)");
    if (!f.x) return;
    const int D = (int)f.dim, C = (int)f.nc;
    float *axes = malloc((size_t)C * D * sizeof *axes), *proj = malloc((size_t)f.n * C * 4);
    double var[16], total = 0;
    firth_error err = {0};
    CHECK(fn(f.x, f.n, D, C, axes, var, &total, proj, &err) == FIRTH_OK, "%s: %s", name,
          err.message);
    double dax = 0, dvar = 0, dproj = 0, pscale = 0;
    for (int c = 0; c < C; c++) {
        double s = align(axes + c * D, f.axes + c * D, D);
        for (int d = 0; d < D; d++) dax = fmax(dax, fabs(s * axes[c * D + d] - f.axes[c * D + d]));
        dvar = fmax(dvar, fabs(var[c] - f.var[c]) / f.var[c]);
        for (uint32_t i = 0; i < f.n; i++) {
            dproj = fmax(dproj, fabs(s * proj[i * C + c] - f.proj[i * C + c]));
            pscale = fmax(pscale, fabs(f.proj[i * C + c]));
        }
    }
    printf("    %s vs numpy SVD (%u x %d, %d axes): max |axis diff| %.3g, max relative "
           "variance diff %.3g, max |proj diff| %.3g (proj up to %.3g), total %.9g vs %.9g\n",
           name, f.n, D, C, dax, dvar, dproj, pscale, total, f.total);
    CHECK(dax <= tol_axes, "%s: axes differ from numpy by %.3g", name, dax);
    CHECK(dvar <= tol_var, "%s: variances differ from numpy by %.3g (relative)", name, dvar);
    CHECK(dproj <= tol_proj * pscale, "%s: projections differ from numpy by %.3g", name, dproj);
    CHECK_CLOSE(total, f.total, tol_var);
    CHECK(sign_rule_holds(axes, C, D), "%s: an axis's largest entry is negative", name);
    free(axes), free(proj), free(f.x), free(f.axes), free(f.var), free(f.proj);
}

static void test_pca_numpy(void) {
    pca_vs_numpy(firth_pca, "firth_pca", 2e-5, 2e-6, 2e-6);
    pca_vs_numpy(firth_pca_naive, "firth_pca_naive", 2e-7, 1e-12, 2e-7);
}

/* Known axes: x = mean + sum_j sd_j g_j q_j with an orthonormal basis q (Gram-Schmidt of
 * Gaussian vectors). The first axes and variances must come back up to sampling error. */
static void test_pca_planted(void) {
    enum { N = 6000, D = 40, C = 3 };
    firth_rng r;
    firth_rng_seed(&r, 99);
    double *q = malloc(sizeof(double) * D * D), sd[D];
    for (int j = 0; j < D; j++) {
        for (int d = 0; d < D; d++) q[j * D + d] = gauss(&r);
        for (int i = 0; i < j; i++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += q[j * D + d] * q[i * D + d];
            for (int d = 0; d < D; d++) q[j * D + d] -= s * q[i * D + d];
        }
        double nrm = 0;
        for (int d = 0; d < D; d++) nrm += q[j * D + d] * q[j * D + d];
        for (int d = 0; d < D; d++) q[j * D + d] /= sqrt(nrm);
        sd[j] = j == 0 ? 5.0 : j == 1 ? 3.0 : j == 2 ? 2.0 : 0.5;
    }
    float *x = malloc(sizeof(float) * N * D);
    for (int i = 0; i < N; i++) {
        double row[D];
        for (int d = 0; d < D; d++) row[d] = 10.0 + d; /* a mean far from 0 */
        for (int j = 0; j < D; j++) {
            double g = sd[j] * gauss(&r);
            for (int d = 0; d < D; d++) row[d] += g * q[j * D + d];
        }
        for (int d = 0; d < D; d++) x[i * D + d] = (float)row[d];
    }
    float axes[C * D];
    double var[C], total;
    firth_error err = {0};
    CHECK(firth_pca(x, N, D, C, axes, var, &total, NULL, &err) == FIRTH_OK, "%s", err.message);
    double want_total = 25 + 9 + 4 + (D - 3) * 0.25;
    for (int c = 0; c < C; c++) {
        double cosang = 0;
        for (int d = 0; d < D; d++) cosang += axes[c * D + d] * q[c * D + d];
        printf("    planted axis %d: |cos| with the true axis %.5f, variance %.4f (true %.4f)\n",
               c, fabs(cosang), var[c], sd[c] * sd[c]);
        CHECK(fabs(cosang) > 0.995, "axis %d: |cos| %.5f with the planted axis", c, fabs(cosang));
        /* the relative standard error of a variance estimate is sqrt(2 / N) = 1.8 % */
        CHECK(fabs(var[c] / (sd[c] * sd[c]) - 1) < 0.08, "variance %d: %.4f, planted %.4f", c,
              var[c], sd[c] * sd[c]);
    }
    CHECK(fabs(total / want_total - 1) < 0.05, "total variance %.4f, planted %.4f", total,
          want_total);
    free(q), free(x);
}

/* firth_pca against the slow reference on several shapes, all components included. */
static void test_pca_fast_vs_naive(void) {
    static const int shapes[][3] = {{50, 7, 7}, {1000, 64, 2}, {300, 1, 1}, {3, 5, 2},
                                    {500, 100, 5}};
    firth_rng r;
    firth_rng_seed(&r, 5);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int n = shapes[s][0], D = shapes[s][1], C = shapes[s][2];
        float *x = malloc(sizeof(float) * n * D);
        for (int i = 0; i < n; i++) /* correlated columns with decaying scales */
            for (int d = 0; d < D; d++)
                x[i * D + d] = (float)(gauss(&r) * (1.0 + 3.0 / (d + 1)) +
                                       (d ? 0.5 * x[i * D + d - 1] : 1.0));
        float *a1 = malloc(sizeof(float) * C * D), *a2 = malloc(sizeof(float) * C * D);
        float *p1 = malloc(sizeof(float) * n * C), *p2 = malloc(sizeof(float) * n * C);
        double v1[8], v2[8], t1, t2;
        firth_error err = {0};
        CHECK(firth_pca(x, n, D, C, a1, v1, &t1, p1, &err) == FIRTH_OK, "%s", err.message);
        CHECK(firth_pca_naive(x, n, D, C, a2, v2, &t2, p2, &err) == FIRTH_OK, "%s", err.message);
        double dax = 0, dv = 0, dp = 0, ps = 0;
        for (int c = 0; c < C; c++) {
            /* near-equal variances make axes ill-defined; every shape here has a clear gap */
            double sgn = 0;
            for (int d = 0; d < D; d++) sgn += (double)a1[c * D + d] * a2[c * D + d];
            sgn = sgn < 0 ? -1 : 1;
            for (int d = 0; d < D; d++) dax = fmax(dax, fabs(sgn * a1[c * D + d] - a2[c * D + d]));
            dv = fmax(dv, fabs(v1[c] - v2[c]) / fmax(v2[0], 1e-30));
            for (int i = 0; i < n; i++) {
                dp = fmax(dp, fabs(sgn * p1[i * C + c] - p2[i * C + c]));
                ps = fmax(ps, fabs(p2[i * C + c]));
            }
        }
        printf("    %d x %d, %d axes: fast vs naive max |axis diff| %.3g, variance %.3g, "
               "proj %.3g (of %.3g)\n", n, D, C, dax, dv, dp, ps);
        CHECK(dax < 5e-4, "%d x %d: axes differ by %.3g", n, D, dax);
        CHECK(dv < 1e-5, "%d x %d: variances differ by %.3g", n, D, dv);
        CHECK(dp <= 1e-4 * fmax(ps, 1e-30), "%d x %d: projections differ by %.3g", n, D, dp);
        CHECK_CLOSE(t1, t2, 1e-5);
        CHECK(sign_rule_holds(a1, C, D) && sign_rule_holds(a2, C, D), "sign rule");
        free(x), free(a1), free(a2), free(p1), free(p2);
    }
}

static void test_pca_edges(void) {
    float x[12] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3};
    float axes[6], proj[8];
    double var[2], total;
    firth_error err = {0};
    /* identical rows: no variance, but a clean answer (unit axes, zero coordinates) */
    CHECK(firth_pca(x, 4, 3, 2, axes, var, &total, proj, &err) == FIRTH_OK, "%s", err.message);
    CHECK(var[0] == 0 && var[1] == 0 && total == 0, "variances %g %g total %g", var[0], var[1],
          total);
    for (int c = 0; c < 2; c++) {
        double nrm = 0;
        for (int d = 0; d < 3; d++) nrm += axes[c * 3 + d] * axes[c * 3 + d];
        CHECK_CLOSE(nrm, 1.0, 1e-6);
    }
    for (int i = 0; i < 8; i++) CHECK(proj[i] == 0, "proj[%d] = %g", i, proj[i]);
    CHECK(firth_pca(x, 1, 3, 1, axes, var, NULL, NULL, &err) == FIRTH_ERR_PARAM, "one row");
    CHECK(firth_pca(x, 4, 3, 4, axes, var, NULL, NULL, &err) == FIRTH_ERR_PARAM, "n_comp > dim");
    CHECK(firth_pca(x, 4, 3, 0, axes, var, NULL, NULL, &err) == FIRTH_ERR_PARAM, "n_comp 0");
    CHECK(firth_pca(x, 4, 0, 1, axes, var, NULL, NULL, &err) == FIRTH_ERR_PARAM, "dim 0");
    x[7] = NAN;
    CHECK(firth_pca(x, 4, 3, 1, axes, var, NULL, NULL, &err) == FIRTH_ERR_INPUT &&
              strstr(err.message, "row 2"), "NaN: %s", err.message);
    CHECK(firth_pca_naive(x, 4, 3, 1, axes, var, NULL, NULL, &err) == FIRTH_ERR_INPUT, "NaN");
    x[7] = INFINITY;
    CHECK(firth_pca(x, 4, 3, 1, axes, var, NULL, NULL, &err) == FIRTH_ERR_INPUT, "inf");
}

/* ---------------------------------------------------------------------------------------- */
/* JSON                                                                                       */

static char *escape(const char *s, size_t len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    firth_json_write_string(fp, s, len);
    fclose(fp);
    return buf;
}

static void test_json_escape(void) {
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"</script>", 9, "\"\\u003c/script\\u003e\""},
        {"<!--x-->", 8, "\"\\u003c!--x--\\u003e\""},
        {"a&amp;b", 7, "\"a\\u0026amp;b\""},
        {"say \"hi\"", 8, "\"say \\\"hi\\\"\""},
        {"back\\slash", 10, "\"back\\\\slash\""},
        {"t\tn\nr\r", 6, "\"t\\tn\\nr\\u000d\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""},
        {"nul\0in", 6, "\"nul\\u0000in\""},
        {"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80", 17,
         "\"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\""},
        {"ls\xE2\x80\xA8ps\xE2\x80\xA9", 10, "\"ls\\u2028ps\\u2029\""},
        {"bad\xFF\xC3", 5, "\"bad\\ufffd\\ufffd\""},          /* invalid, truncated */
        {"\xE2\x80", 2, "\"\\ufffd\\ufffd\""},                /* truncated 3-byte sequence */
        {"\xED\xA0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},     /* a UTF-8 encoded surrogate */
        {"\xC0\xAF", 2, "\"\\ufffd\\ufffd\""},                /* over-long '/' */
        {"", 0, "\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = escape(cases[i].in, cases[i].len);
        CHECK(got && strcmp(got, cases[i].want) == 0, "case %zu: got %s, want %s", i, got,
              cases[i].want);
        free(got);
    }
}

/* A small strict JSON parser (RFC 8259) for reading the page's data back. */
typedef struct jv {
    char type; /* 'o' object, 'a' array, 's' string, 'n' number, 'b' true/false, 'z' null */
    double num;
    char *str; /* decoded UTF-8 (may hold NUL: see len) */
    size_t len, n;
    char **keys;
    struct jv *items;
} jv;

static void jv_free(jv *v) {
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        if (v->keys) free(v->keys[i]);
        jv_free(&v->items[i]);
    }
    free(v->keys);
    free(v->items);
}

static void skip_ws(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

static int put_utf8(char *out, size_t *n, unsigned cp) {
    if (cp < 0x80) out[(*n)++] = (char)cp;
    else if (cp < 0x800) out[(*n)++] = (char)(0xC0 | cp >> 6), out[(*n)++] = (char)(0x80 | (cp & 63));
    else if (cp < 0x10000)
        out[(*n)++] = (char)(0xE0 | cp >> 12), out[(*n)++] = (char)(0x80 | (cp >> 6 & 63)),
        out[(*n)++] = (char)(0x80 | (cp & 63));
    else
        out[(*n)++] = (char)(0xF0 | cp >> 18), out[(*n)++] = (char)(0x80 | (cp >> 12 & 63)),
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 63)), out[(*n)++] = (char)(0x80 | (cp & 63));
    return 1;
}

static int hex4(const char *p, unsigned *out) {
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned h = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 99;
        if (h > 15) return 0;
        *out = *out * 16 + h;
    }
    return 1;
}

static int parse_string(const char **p, char **out, size_t *len) {
    if (**p != '"') return 0;
    const char *s = ++*p;
    char *buf = malloc(strlen(s) * 2 + 8);
    size_t n = 0;
    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') break;
        if (c < 0x20) return free(buf), 0; /* raw control characters are not JSON */
        if (c != '\\') {
            buf[n++] = (char)c, s++;
            continue;
        }
        s++;
        char e = *s++;
        unsigned cp;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u':
            if (!hex4(s, &cp)) return free(buf), 0;
            s += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                unsigned lo;
                if (s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return free(buf), 0;
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return free(buf), 0;
            }
            put_utf8(buf, &n, cp);
            break;
        default: return free(buf), 0;
        }
    }
    *p = s + 1;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 1;
}

static int parse_value(const char **p, jv *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (depth > 32) return 0;
    char c = **p;
    if (c == '"') {
        v->type = 's';
        return parse_string(p, &v->str, &v->len);
    }
    if (c == '{' || c == '[') {
        v->type = c == '{' ? 'o' : 'a';
        (*p)++;
        skip_ws(p);
        size_t cap = 0;
        if (**p == (c == '{' ? '}' : ']')) return (*p)++, 1;
        for (;;) {
            if (v->n == cap) {
                cap = cap ? 2 * cap : 16;
                v->items = realloc(v->items, cap * sizeof *v->items);
                if (c == '{') v->keys = realloc(v->keys, cap * sizeof *v->keys);
            }
            skip_ws(p);
            if (c == '{') {
                size_t kl;
                if (!parse_string(p, &v->keys[v->n], &kl)) return 0;
                skip_ws(p);
                if (**p != ':') return free(v->keys[v->n]), 0;
                (*p)++;
            }
            if (!parse_value(p, &v->items[v->n], depth + 1)) {
                if (c == '{') free(v->keys[v->n]);
                jv_free(&v->items[v->n]);
                return 0;
            }
            v->n++;
            skip_ws(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == (c == '{' ? '}' : ']')) return (*p)++, 1;
            return 0;
        }
    }
    if (strncmp(*p, "true", 4) == 0 || strncmp(*p, "null", 4) == 0)
        return v->type = (*p)[0] == 't' ? 'b' : 'z', *p += 4, 1;
    if (strncmp(*p, "false", 5) == 0) return v->type = 'b', *p += 5, 1;
    /* number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *s = *p;
    if (*s == '-') s++;
    if (*s == '0') s++;
    else if (*s >= '1' && *s <= '9') while (*s >= '0' && *s <= '9') s++;
    else return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!(*s >= '0' && *s <= '9')) return 0;
        while (*s >= '0' && *s <= '9') s++;
    }
    v->type = 'n';
    v->num = strtod(*p, NULL);
    *p = s;
    return 1;
}

static const jv *jv_get(const jv *o, const char *key) {
    for (size_t i = 0; o->type == 'o' && i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return &o->items[i];
    return NULL;
}

static size_t count_substr(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* The words of the test file, and what the page must show for each after JSON decoding. */
static const char *const TRICKY[][2] = {
    {"</script>", "</script>"},
    {"<!--", "<!--"},
    {"say\"hi\"", "say\"hi\""},
    {"back\\slash", "back\\slash"},
    {"ctl\x01\x7f", "ctl\x01\x7f"},
    {"caf\xC3\xA9", "caf\xC3\xA9"},
    {"\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC"},
    {"ls\xE2\x80\xA8", "ls\xE2\x80\xA8"},
    {"bad\xFF", "bad\xEF\xBF\xBD"},
    {"a&b", "a&b"},
    {"</SCRIPT", "</SCRIPT"},
    {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
};
enum { N_TRICKY = sizeof TRICKY / sizeof *TRICKY, PD = 6 };

/* A word2vec text file: "</s>", the tricky words, then plain words w0, w1, ... (all random). */
static char *write_test_vectors(const char *dir, int n_plain, float *rows) {
    char *path = tu_path(dir, "v.txt");
    FILE *fp = fopen(path, "wb");
    int V = 1 + N_TRICKY + n_plain;
    fprintf(fp, "%d %d\n", V, PD);
    firth_rng r;
    firth_rng_seed(&r, 17);
    for (int i = 0; i < V; i++) {
        if (i == 0) fputs("</s>", fp);
        else if (i <= N_TRICKY) fputs(TRICKY[i - 1][0], fp);
        else fprintf(fp, "w%d", i - 1 - N_TRICKY);
        for (int d = 0; d < PD; d++) {
            float x = (float)(gauss(&r) * (d + 1));
            rows[i * PD + d] = x;
            fprintf(fp, " %.9g", x);
        }
        fputc('\n', fp);
    }
    fclose(fp);
    return path;
}

static void test_projector_page(void) {
    char *dir = tu_mkdtemp();
    enum { PLAIN = 40, WORDS = 30, K = 4 };
    float rows[(1 + N_TRICKY + PLAIN) * PD];
    char *vpath = write_test_vectors(dir, PLAIN, rows), *html = tu_path(dir, "p.html");
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load(vpath, 0, &err);
    CHECK(v != NULL, "%s", err.message);
    if (!v) goto out;
    firth_projector_params p = firth_projector_default_params();
    CHECK(p.words == 5000 && p.k == 10 && p.title == NULL, "defaults");
    p.words = WORDS;
    p.k = K;
    p.title = "a <b>&\"title\"</b>";
    CHECK(firth_projector_write_html(v, html, &p, &err) == FIRTH_OK, "%s", err.message);
    size_t len;
    char *page = (char *)tu_read(html, &len);
    CHECK(page != NULL, "no page");
    if (!page) goto out;
    /* self-contained: no resource from elsewhere, and only the page's own two scripts */
    CHECK(!strstr(page, "http://") && !strstr(page, "https://") && !strstr(page, "src=") &&
              !strstr(page, "<link") && !strstr(page, "@import") && !strstr(page, "url("),
          "the page refers to an outside resource");
    CHECK(count_substr(page, "<script") == 2 && count_substr(page, "</script") == 2,
          "%zu <script, %zu </script", count_substr(page, "<script"),
          count_substr(page, "</script"));
    CHECK(!strstr(page, "@@"), "a template marker was left");
    CHECK(strstr(page, "<title>a &lt;b&gt;&amp;&quot;title&quot;&lt;/b&gt;</title>") != NULL,
          "title not HTML-escaped");
    /* the page is the template with the markers filled: compare with the source file */
    size_t tl;
    char *tmpl = (char *)tu_read("src/embed/projector_page.html", &tl);
    CHECK(tmpl != NULL, "cannot read src/embed/projector_page.html");
    if (tmpl) {
        const char *m = strstr(tmpl, "@@TITLE@@");
        CHECK(m && strncmp(page, tmpl, (size_t)(m - tmpl)) == 0,
              "the page does not start as projector_page.html");
        const char *tail = strstr(tmpl, "@@DATA@@");
        size_t tail_len = tail ? strlen(tail + 8) : 0;
        CHECK(tail && len >= tail_len && strcmp(page + len - tail_len, tail + 8) == 0,
              "the page does not end as projector_page.html");
        free(tmpl);
    }
    /* the data block parses as strict JSON and holds the right words */
    const char *open = "<script type=\"application/json\" id=\"firth-data\">";
    char *d = strstr(page, open), *end = d ? strstr(d, "</script>") : NULL;
    CHECK(d && end, "no data block");
    if (!d || !end) goto out_page;
    *end = '\0';
    for (const char *c = d; *c; c++)
        CHECK((unsigned char)*c >= 0x20 || *c == '\n', "raw control byte in the data");
    const char *q = d + strlen(open);
    jv root;
    int ok = parse_value(&q, &root, 0);
    skip_ws(&q);
    CHECK(ok && *q == '\0', "the data is not JSON (stopped at '%.20s')", q);
    if (!ok) goto out_page;
    const jv *words = jv_get(&root, "words"), *x = jv_get(&root, "x"), *y = jv_get(&root, "y"),
             *nn = jv_get(&root, "nn"), *sim = jv_get(&root, "sim"), *k = jv_get(&root, "k"),
             *title = jv_get(&root, "title"), *var = jv_get(&root, "variance"),
             *total = jv_get(&root, "total");
    CHECK(words && x && y && nn && sim && k && title && var && total, "keys missing");
    if (!(words && x && y && nn && sim && k && title && var && total)) goto out_json;
    CHECK(strcmp(title->str, p.title) == 0, "title %s", title->str);
    CHECK(words->n == WORDS && x->n == WORDS && y->n == WORDS && k->num == K &&
              nn->n == WORDS * K && sim->n == WORDS * K,
          "sizes: %zu words, %zu x, %zu nn, k %g", words->n, x->n, nn->n, k->num);
    if (words->n != WORDS || nn->n != WORDS * K || x->n != WORDS) goto out_json;
    for (int i = 0; i < WORDS; i++) { /* "</s>" (row 0) is left out: point i is row i + 1 */
        char want[32];
        const char *w = i < N_TRICKY ? TRICKY[i][1] : want;
        snprintf(want, sizeof want, "w%d", i - N_TRICKY);
        CHECK(words->items[i].len == strlen(w) && memcmp(words->items[i].str, w, strlen(w)) == 0,
              "word %d decodes to '%s', expected '%s'", i, words->items[i].str, w);
    }
    /* neighbours: brute force, double-precision cosines among the shown rows 1..WORDS */
    double unit[WORDS][PD];
    for (int i = 0; i < WORDS; i++) {
        double s = 0;
        for (int dd = 0; dd < PD; dd++) s += (double)rows[(i + 1) * PD + dd] * rows[(i + 1) * PD + dd];
        for (int dd = 0; dd < PD; dd++) unit[i][dd] = rows[(i + 1) * PD + dd] / sqrt(s);
    }
    int nn_bad = 0;
    double sim_diff = 0;
    for (int i = 0; i < WORDS; i++) {
        int used[WORDS] = {0};
        used[i] = 1;
        for (int j = 0; j < K; j++) {
            int best = -1;
            double bs = -2;
            for (int c = 0; c < WORDS; c++) {
                if (used[c]) continue;
                double s = 0;
                for (int dd = 0; dd < PD; dd++) s += unit[i][dd] * unit[c][dd];
                if (s > bs) bs = s, best = c;
            }
            used[best] = 1;
            nn_bad += (int)nn->items[i * K + j].num != best;
            sim_diff = fmax(sim_diff, fabs(sim->items[i * K + j].num - bs));
        }
    }
    CHECK(nn_bad == 0, "%d neighbours differ from brute force", nn_bad);
    CHECK(sim_diff <= 6e-5, "cosines differ from brute force by %.3g", sim_diff);
    /* coordinates: the naive PCA of the unit rows (printed with 6 significant digits) */
    float xs[WORDS * PD], proj[WORDS * 2];
    for (int i = 0; i < WORDS; i++)
        for (int dd = 0; dd < PD; dd++) xs[i * PD + dd] = (float)unit[i][dd];
    double nv[2], nt;
    CHECK(firth_pca_naive(xs, WORDS, PD, 2, NULL, nv, &nt, proj, &err) == FIRTH_OK, "naive");
    double dxy = 0;
    for (int i = 0; i < WORDS; i++)
        dxy = fmax(dxy, fmax(fabs(x->items[i].num - proj[2 * i]),
                             fabs(y->items[i].num - proj[2 * i + 1])));
    printf("    page: %zu bytes, %d words, coordinates within %.3g of the naive PCA\n", len, WORDS,
           dxy);
    CHECK(dxy < 1e-4, "coordinates differ from the naive PCA by %.3g", dxy);
    CHECK_CLOSE(var->items[0].num, nv[0], 1e-5);
    CHECK_CLOSE(var->items[1].num, nv[1], 1e-5);
    CHECK_CLOSE(total->num, nt, 1e-5);
out_json:
    jv_free(&root);
out_page:
    free(page);
out:
    firth_vectors_free(v);
    free(vpath), free(html);
    tu_rmdir(dir);
}

static void test_projector_bad(void) {
    char *dir = tu_mkdtemp();
    float rows[(1 + N_TRICKY + 3) * PD];
    char *vpath = write_test_vectors(dir, 3, rows), *html = tu_path(dir, "p.html");
    char *two = tu_path(dir, "two.txt");
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load(vpath, 0, &err);
    CHECK(v != NULL, "%s", err.message);
    if (!v) goto out;
    firth_projector_params p = firth_projector_default_params();
    p.words = 0;
    CHECK(firth_projector_write_html(v, html, &p, &err) == FIRTH_ERR_PARAM, "words 0");
    p.words = FIRTH_PROJECTOR_MAX_WORDS + 1;
    CHECK(firth_projector_write_html(v, html, &p, &err) == FIRTH_ERR_PARAM, "words too many");
    p = firth_projector_default_params();
    p.k = 101;
    CHECK(firth_projector_write_html(v, html, &p, &err) == FIRTH_ERR_PARAM, "k 101");
    p.k = -1;
    CHECK(firth_projector_write_html(v, html, &p, &err) == FIRTH_ERR_PARAM, "k -1");
    p = firth_projector_default_params();
    p.words = 1;
    CHECK(firth_projector_write_html(v, html, &p, &err) == FIRTH_ERR_INPUT, "one word");
    CHECK(tu_file_size(html) < 0, "a page was written");
    char *bad = tu_path(dir, "no/such/dir/p.html");
    p = firth_projector_default_params();
    CHECK(firth_projector_write_html(v, bad, &p, &err) == FIRTH_ERR_OUTPUT, "unwritable: %s",
          err.message);
    free(bad);
    /* k larger than the words there are: each word gets all the others */
    tu_write_str(two, "3 2\n</s> 1 0\na 1 0\nb 0 1\n");
    firth_vectors *v2 = firth_vectors_load(two, 0, &err);
    CHECK(v2 && firth_projector_write_html(v2, html, &p, &err) == FIRTH_OK, "%s", err.message);
    size_t len;
    char *page = (char *)tu_read(html, &len);
    CHECK(page && strstr(page, "\"k\":1,") && strstr(page, "\"nn\":[1,0]"),
          "two words: k clamped to 1");
    free(page);
    firth_vectors_free(v2);
out:
    firth_vectors_free(v);
    free(vpath), free(html), free(two);
    tu_rmdir(dir);
}

const test_case tests_projector[] = {
    {"pca_vs_numpy_svd", test_pca_numpy},
    {"pca_planted_axes", test_pca_planted},
    {"pca_fast_vs_naive", test_pca_fast_vs_naive},
    {"pca_edge_cases", test_pca_edges},
    {"projector_json_escape", test_json_escape},
    {"projector_page_data", test_projector_page},
    {"projector_bad_input", test_projector_bad},
    TEST_END,
};
