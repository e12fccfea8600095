/* projector.c - principal component analysis (BLAS + LAPACK, and the slow Jacobi reference it is
 * tested against) and the self-contained HTML page of `firth project`.
 *
 * The page's HTML, CSS and JavaScript live in projector_page.html beside this file, which the
 * build turns into the C string `projector_page` (scripts/embed_text.sh), so the library needs no
 * file at run time and the page can be edited as the HTML it is. */
#include "embed/projector.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/mem.h"
#include "core/status.h"
#include "embed/knn.h"
#include "projector_page.h" /* generated: $(BUILD)/gen/projector_page.h */
#include "text/utf8.h"

/* ---------------------------------------------------------------------------------------- */
/* PCA                                                                                        */
/* ---------------------------------------------------------------------------------------- */

static firth_status check_pca_args(const float *x, size_t n, int dim, int n_comp,
                                   firth_error *err) {
    if (n < 2) return firth_fail(err, FIRTH_ERR_PARAM, "PCA needs at least 2 rows (got %zu)", n);
    if (dim < 1 || n_comp < 1 || n_comp > dim)
        return firth_fail(err, FIRTH_ERR_PARAM,
                          "PCA of %d-dimensional rows cannot have %d components", dim, n_comp);
    size_t nd;
    if (n > INT_MAX || !firth_mul_size(n, (size_t)dim, &nd))
        return firth_fail(err, FIRTH_ERR_PARAM, "PCA of %zu rows: too many for BLAS", n);
    for (size_t i = 0; i < nd; i++)
        if (!isfinite(x[i]))
            return firth_fail(err, FIRTH_ERR_INPUT, "PCA input row %zu is not finite (%g)",
                              i / (size_t)dim, (double)x[i]);
    return FIRTH_OK;
}

/* Flips v so that its entry of largest magnitude (the first such) is positive: eigenvectors are
 * defined up to sign, and this makes the output deterministic and comparable. */
static void fix_sign(double *v, int dim) {
    int m = 0;
    for (int d = 1; d < dim; d++)
        if (fabs(v[d]) > fabs(v[m])) m = d;
    if (v[m] < 0)
        for (int d = 0; d < dim; d++) v[d] = -v[d];
}

firth_status firth_pca(const float *x, size_t n, int dim, int n_comp, float *axes,
                       double *variance, double *total, float *proj, firth_error *err) {
    firth_status st = check_pca_args(x, n, dim, n_comp, err);
    if (st != FIRTH_OK) return st;
    const size_t D = (size_t)dim, C = (size_t)n_comp;
    size_t dd;
    if (!firth_mul_size(D, D, &dd) || dd > SIZE_MAX / sizeof(double))
        return firth_fail(err, FIRTH_ERR_PARAM, "PCA of dimension %d: too large", dim);
    double *mean = calloc(D, sizeof *mean);
    float *xc = firth_alloc_aligned(n * D * sizeof *xc); /* (n, D) centred rows */
    float *cov = firth_alloc_aligned(dd * sizeof *cov);  /* (D, D) upper triangle */
    double *a = malloc(dd * sizeof *a);                  /* (D, D) for LAPACK, overwritten */
    double *w = malloc(D * sizeof *w);                   /* (D) eigenvalues, ascending */
    double *z = malloc(D * C * sizeof *z);               /* (D, C) eigenvectors in columns */
    double *v = malloc(D * sizeof *v);
    float *ax = malloc(C * D * sizeof *ax);              /* (C, D) axes as floats */
    lapack_int *isuppz = malloc(2 * C * sizeof *isuppz);
    if (!mean || !xc || !cov || !a || !w || !z || !v || !ax || !isuppz) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for the PCA of %zu x %d", n, dim);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < D; d++) mean[d] += x[i * D + d];
    for (size_t d = 0; d < D; d++) mean[d] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < D; d++) xc[i * D + d] = (float)((double)x[i * D + d] - mean[d]);
    /* cov = xc^T xc / (n - 1), upper triangle (row-major: cov[i][j], j >= i) */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, (int)n, (float)(1.0 / (double)(n - 1)),
                xc, dim, 0.0f, cov, dim);
    double tr = 0.0;
    for (size_t i = 0; i < D; i++) {
        tr += cov[i * D + i];
        for (size_t j = 0; j < D; j++) a[i * D + j] = j >= i ? cov[i * D + j] : cov[j * D + i];
    }
    /* the n_comp largest eigenpairs: indices dim - n_comp + 1 .. dim (1-based, ascending) */
    lapack_int m = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', dim, a, dim, 0.0, 0.0,
                                     dim - n_comp + 1, dim, 0.0, &m, w, z, n_comp, isuppz);
    if (info != 0 || m != n_comp) {
        st = firth_fail(err, FIRTH_ERR_INTERNAL,
                        "LAPACK dsyevr failed on the %d x %d covariance (info %d, %d of %d "
                        "eigenvalues)", dim, dim, (int)info, (int)m, n_comp);
        goto out;
    }
    for (size_t c = 0; c < C; c++) {
        size_t col = C - 1 - c; /* largest first */
        for (size_t d = 0; d < D; d++) v[d] = z[d * C + col];
        fix_sign(v, dim);
        for (size_t d = 0; d < D; d++) ax[c * D + d] = (float)v[d];
        if (variance) variance[c] = w[col] > 0.0 ? w[col] : 0.0;
    }
    if (axes) memcpy(axes, ax, C * D * sizeof *ax);
    if (total) *total = tr > 0.0 ? tr : 0.0;
    if (proj) /* (n, C) = xc (n, D) . ax^T (D, C) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, n_comp, dim, 1.0f, xc, dim,
                    ax, dim, 0.0f, proj, n_comp);
out:
    free(mean);
    firth_free_aligned(xc);
    firth_free_aligned(cov);
    free(a);
    free(w);
    free(z);
    free(v);
    free(ax);
    free(isuppz);
    return st;
}

/* Cyclic Jacobi: rotates the symmetric (n, n) `a` to diagonal form (its eigenvalues end on the
 * diagonal) and accumulates the rotations in `v`, whose columns become the eigenvectors. Each
 * rotation zeroes a[p][q] (Golub and Van Loan, Algorithm 8.5.3; Numerical Recipes' jacobi). */
static void jacobi(double *a, double *v, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) v[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, all = 0.0;
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++) {
                double s = a[p * n + q] * a[p * n + q];
                all += s;
                if (p != q) off += s;
            }
        if (off <= 1e-30 * all) break;
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0.0) continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; k++) { /* columns: A J */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* rows: J^T A */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
}

firth_status firth_pca_naive(const float *x, size_t n, int dim, int n_comp, float *axes,
                             double *variance, double *total, float *proj, firth_error *err) {
    firth_status st = check_pca_args(x, n, dim, n_comp, err);
    if (st != FIRTH_OK) return st;
    const size_t D = (size_t)dim, C = (size_t)n_comp;
    double *mean = calloc(D, sizeof *mean), *cov = calloc(D * D, sizeof *cov);
    double *vec = malloc(D * D * sizeof *vec), *ax = malloc(C * D * sizeof *ax);
    int *taken = calloc(D, sizeof *taken);
    if (!mean || !cov || !vec || !ax || !taken) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < D; d++) mean[d] += x[i * D + d];
    for (size_t d = 0; d < D; d++) mean[d] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < D; p++)
            for (size_t q = p; q < D; q++)
                cov[p * D + q] += (x[i * D + p] - mean[p]) * (x[i * D + q] - mean[q]);
    double tr = 0.0;
    for (size_t p = 0; p < D; p++) {
        for (size_t q = p; q < D; q++) cov[q * D + p] = cov[p * D + q] /= (double)(n - 1);
        tr += cov[p * D + p];
    }
    jacobi(cov, vec, dim);
    for (size_t c = 0; c < C; c++) { /* the c-th largest eigenvalue not taken yet */
        size_t best = D;
        for (size_t d = 0; d < D; d++)
            if (!taken[d] && (best == D || cov[d * D + d] > cov[best * D + best])) best = d;
        taken[best] = 1;
        for (size_t d = 0; d < D; d++) ax[c * D + d] = vec[d * D + best];
        fix_sign(ax + c * D, dim);
        if (variance) variance[c] = cov[best * D + best] > 0.0 ? cov[best * D + best] : 0.0;
        if (axes)
            for (size_t d = 0; d < D; d++) axes[c * D + d] = (float)ax[c * D + d];
    }
    if (total) *total = tr > 0.0 ? tr : 0.0;
    if (proj)
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < C; c++) {
                double s = 0.0;
                for (size_t d = 0; d < D; d++) s += (x[i * D + d] - mean[d]) * ax[c * D + d];
                proj[i * C + c] = (float)s;
            }
out:
    free(mean);
    free(cov);
    free(vec);
    free(ax);
    free(taken);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Escaping                                                                                   */
/* ---------------------------------------------------------------------------------------- */

void firth_json_write_string(FILE *fp, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    putc('"', fp);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\')
                putc('\\', fp), putc(c, fp);
            else if (c == '\n')
                fputs("\\n", fp);
            else if (c == '\t')
                fputs("\\t", fp);
            else if (c < 0x20 || c == 0x7F || c == '<' || c == '>' || c == '&')
                fprintf(fp, "\\u%04x", c); /* '<' '>' '&': no "</script>", "<!--" or entity */
            else
                putc(c, fp);
            i++;
            continue;
        }
        uint32_t cp;
        int l = firth_utf8_decode(u + i, len - i, &cp);
        if (l <= 0) { /* not UTF-8: one replacement character per byte */
            fputs("\\ufffd", fp);
            i++;
        } else {
            if (cp == 0x2028 || cp == 0x2029) /* line terminators in older JavaScript */
                fprintf(fp, "\\u%04x", (unsigned)cp);
            else
                fwrite(u + i, 1, (size_t)l, fp);
            i += (size_t)l;
        }
    }
    putc('"', fp);
}

/* Text for an HTML element's content: & < > " ' as character references, control characters
 * as spaces, bytes that are not UTF-8 as U+FFFD. */
static void write_html_text(FILE *fp, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c < 0x80) {
            switch (c) {
            case '&': fputs("&amp;", fp); break;
            case '<': fputs("&lt;", fp); break;
            case '>': fputs("&gt;", fp); break;
            case '"': fputs("&quot;", fp); break;
            case '\'': fputs("&#39;", fp); break;
            default: putc(c < 0x20 || c == 0x7F ? ' ' : c, fp);
            }
            i++;
            continue;
        }
        uint32_t cp;
        int l = firth_utf8_decode(u + i, len - i, &cp);
        if (l <= 0) {
            fputs("\xEF\xBF\xBD", fp);
            i++;
        } else {
            fwrite(u + i, 1, (size_t)l, fp);
            i += (size_t)l;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The page                                                                                   */
/* ---------------------------------------------------------------------------------------- */

firth_projector_params firth_projector_default_params(void) {
    firth_projector_params p = {5000, 10, NULL};
    return p;
}

/* The page's data as one JSON object (see projector_page.html for its use):
 *   title, dim, k, rows (rows of the file the words come from), variance [PC1, PC2], total,
 *   words (n), x (n), y (n), nn (n * k point indices, -1 when fewer), sim (n * k cosines). */
static void write_data(FILE *fp, const char *title, int dim, size_t n, size_t kk, size_t n_rows,
                       const double *var, double total, const firth_vectors *v,
                       const size_t *ids, const float *proj, int nc, const int32_t *nn,
                       const float *sim) {
    fputs("{\"title\":", fp);
    firth_json_write_string(fp, title, strlen(title));
    fprintf(fp, ",\"dim\":%d,\"k\":%zu,\"rows\":%zu,\"variance\":[%.9g,%.9g],\"total\":%.9g,",
            dim, kk, n_rows, var[0], var[1], total);
    fputs("\n\"words\":[", fp);
    for (size_t i = 0; i < n; i++) {
        const char *w = firth_vectors_word(v, ids[i]);
        if (i) fputs(i % 16 ? "," : "\n,", fp);
        firth_json_write_string(fp, w, strlen(w));
    }
    for (int axis = 0; axis < 2; axis++) {
        fprintf(fp, "],\n\"%c\":[", axis ? 'y' : 'x');
        for (size_t i = 0; i < n; i++)
            fprintf(fp, i ? (i % 16 ? ",%.6g" : "\n,%.6g") : "%.6g",
                    axis < nc ? (double)proj[i * (size_t)nc + (size_t)axis] : 0.0);
    }
    fputs("],\n\"nn\":[", fp);
    for (size_t i = 0; i < n * kk; i++)
        fprintf(fp, i ? (i % 32 ? ",%d" : "\n,%d") : "%d", (int)nn[i]);
    fputs("],\n\"sim\":[", fp);
    for (size_t i = 0; i < n * kk; i++)
        fprintf(fp, i ? (i % 32 ? ",%.4f" : "\n,%.4f") : "%.4f", (double)sim[i]);
    fputs("]}", fp);
}

firth_status firth_projector_write_html(const firth_vectors *v, const char *path,
                                        const firth_projector_params *params,
                                        firth_error *err) {
    const firth_projector_params def = firth_projector_default_params();
    const firth_projector_params *p = params ? params : &def;
    if (p->words < 1 || p->words > FIRTH_PROJECTOR_MAX_WORDS)
        return firth_fail(err, FIRTH_ERR_PARAM, "the page shows 1 to %d words (asked for %zu)",
                          FIRTH_PROJECTOR_MAX_WORDS, p->words);
    if (p->k < 0 || p->k > 100)
        return firth_fail(err, FIRTH_ERR_PARAM, "neighbours per word must be 0 to 100 (got %d)",
                          p->k);
    const char *title = p->title ? p->title : "firth projector";
    const size_t V = firth_vectors_count(v), D = (size_t)firth_vectors_dim(v);
    const size_t cap = p->words < V ? p->words : V;
    size_t *ids = malloc((cap ? cap : 1) * sizeof *ids); /* shown rows, in file order */
    size_t n = 0, n_rows = 0, n_eos = 0;
    float *x = NULL, *proj = NULL, *sim = NULL;
    int32_t *nn = NULL, *point = NULL;
    int64_t *excl = NULL;
    firth_hit *hits = NULL;
    firth_atomic_file *f = NULL;
    firth_status st = FIRTH_OK;
    if (!ids) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < V && n < p->words; i++) {
        if (strcmp(firth_vectors_word(v, i), FIRTH_EOS_WORD) == 0)
            n_eos++;
        else
            ids[n++] = i;
    }
    if (n < 2) {
        st = firth_fail(err, FIRTH_ERR_INPUT,
                        "a projector page needs at least 2 words besides '%s' (found %zu)",
                        FIRTH_EOS_WORD, n);
        goto out;
    }
    n_rows = ids[n - 1] + 1;
    const size_t kk = (size_t)p->k < n - 1 ? (size_t)p->k : n - 1;
    const int nc = D >= 2 ? 2 : 1;
    x = firth_alloc_aligned(n * D * sizeof *x); /* (n, D) unit rows of the shown words */
    proj = malloc(n * (size_t)nc * sizeof *proj); /* (n, nc) */
    point = malloc(n_rows * sizeof *point);       /* row -> point, -1 for "</s>" */
    nn = malloc((n * kk + 1) * sizeof *nn); /* (n, kk) */
    sim = malloc((n * kk + 1) * sizeof *sim);
    excl = malloc((1 + n_eos) * sizeof *excl);
    hits = malloc((kk ? kk : 1) * sizeof *hits);
    if (!x || !proj || !point || !nn || !sim || !excl || !hits) {
        st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for a page of %zu words", n);
        goto out;
    }
    for (size_t r = 0; r < n_rows; r++) point[r] = -1;
    for (size_t i = 0, e = 1; i < n_rows; i++)
        if (strcmp(firth_vectors_word(v, i), FIRTH_EOS_WORD) == 0) excl[e++] = (int64_t)i;
    for (size_t i = 0; i < n; i++) {
        const float *u = firth_vectors_unit(v, ids[i]);
        point[ids[i]] = (int32_t)i;
        for (size_t d = 0; d < D; d++) {
            if (!isfinite(u[d])) {
                st = firth_fail(err, FIRTH_ERR_INPUT, "the vector of '%s' (row %zu) is not finite",
                                firth_vectors_word(v, ids[i]), ids[i]);
                goto out;
            }
            x[i * D + d] = u[d];
        }
    }
    double var[2] = {0.0, 0.0}, total = 0.0;
    st = firth_pca(x, n, (int)D, nc, NULL, var, &total, proj, err);
    if (st != FIRTH_OK) goto out;
    /* the neighbours: the same query and candidates as `firth neighbors --limit n_rows` */
    for (size_t i = 0; i < n && kk > 0; i++) {
        excl[0] = (int64_t)ids[i];
        size_t got = firth_vectors_nearest_prefix(v, n_rows, firth_vectors_unit(v, ids[i]), kk,
                                                  excl, 1 + n_eos, hits);
        if (got < kk) { /* every candidate has a finite score, so only a failed malloc */
            st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory finding neighbours");
            goto out;
        }
        for (size_t j = 0; j < kk; j++) {
            nn[i * kk + j] = point[hits[j].id];
            sim[i * kk + j] = hits[j].score;
        }
    }
    f = firth_atomic_open(path, err);
    if (!f) {
        st = err ? err->status : FIRTH_ERR_OUTPUT;
        goto out;
    }
    FILE *fp = firth_atomic_stream(f);
    const char *page = projector_page, *mt = strstr(page, "@@TITLE@@"),
               *md = strstr(page, "@@DATA@@");
    fwrite(page, 1, (size_t)(mt - page), fp);
    write_html_text(fp, title);
    mt += strlen("@@TITLE@@");
    fwrite(mt, 1, (size_t)(md - mt), fp);
    write_data(fp, title, (int)D, n, kk, n_rows, var, total, v, ids, proj, nc, nn, sim);
    fputs(md + strlen("@@DATA@@"), fp);
    st = firth_atomic_commit(f, err);
    f = NULL;
out:
    firth_atomic_abort(f);
    free(ids);
    firth_free_aligned(x);
    free(proj);
    free(point);
    free(nn);
    free(sim);
    free(excl);
    free(hits);
    return st;
}
