/* alias.c - Vose's alias method (Vose 1991, "A linear algorithm for generating random numbers
 * with a given distribution"). */
#include "core/alias.h"

#include <math.h>
#include <stdlib.h>

#include "core/status.h"

firth_status firth_alias_build(firth_alias *a, const double *w, size_t n, firth_error *err) {
    a->n = 0;
    a->col = NULL;
    if (n == 0 || n > UINT32_MAX) return firth_fail(err, FIRTH_ERR_PARAM, "alias table size %zu", n);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0) || isinf(w[i]))
            return firth_fail(err, FIRTH_ERR_PARAM, "alias weight %zu is not a finite >= 0", i);
        sum += w[i];
    }
    if (!(sum > 0.0)) return firth_fail(err, FIRTH_ERR_PARAM, "alias weights sum to zero");
    double *q = malloc(n * sizeof *q);
    uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
    a->col = malloc(n * sizeof *a->col);
    if (!q || !small || !large || !a->col) {
        free(q), free(small), free(large);
        firth_alias_free(a);
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory building a sampling table");
    }
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        q[i] = w[i] * (double)n / sum; /* mean 1 */
        if (q[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t s = small[--ns], l = large[nl - 1];
        a->col[s].prob = (uint32_t)(q[s] * 4294967296.0);
        a->col[s].alias = l;
        q[l] = (q[l] + q[s]) - 1.0;
        if (q[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    /* what is left has probability 1 up to rounding */
    while (nl > 0) {
        uint32_t l = large[--nl];
        a->col[l].prob = UINT32_MAX;
        a->col[l].alias = l;
    }
    while (ns > 0) {
        uint32_t s = small[--ns];
        a->col[s].prob = w[s] > 0.0 ? UINT32_MAX : 0;
        a->col[s].alias = s;
    }
    /* a column of weight 0 must never be drawn: if rounding left one holding itself as alias with
     * prob 0, point it at any column of positive weight */
    size_t first_positive = 0;
    while (w[first_positive] == 0.0) first_positive++;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0.0) a->col[i].prob = 0;
        if (w[a->col[i].alias] == 0.0) a->col[i].alias = (uint32_t)first_positive;
    }
    free(q), free(small), free(large);
    a->n = (uint32_t)n;
    return FIRTH_OK;
}

void firth_alias_free(firth_alias *a) {
    if (!a) return;
    free(a->col);
    a->col = NULL;
    a->n = 0;
}
