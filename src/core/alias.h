/* alias.h - Walker/Vose alias method: O(1) draws from a discrete distribution with 2n words of
 * memory (for the noise distribution a table of n entries stays in cache, unlike word2vec.c's
 * 10^8-entry unigram table). */
#ifndef FIRTH_CORE_ALIAS_H
#define FIRTH_CORE_ALIAS_H

#include <stddef.h>
#include <stdint.h>

#include "firth.h"

/* One column: keep it when the coin is below prob (scaled to 2^32), else take alias. The two
 * halves of a column sit side by side, so a draw costs one cache miss, not two. */
typedef struct firth_alias_col {
    uint32_t prob, alias;
} firth_alias_col;

typedef struct firth_alias {
    uint32_t n;
    firth_alias_col *col; /* (n) */
} firth_alias;

/* Builds the table for P(i) = weights[i] / sum(weights). Weights must be >= 0 with a positive sum;
 * entries of weight 0 are never drawn. Free with firth_alias_free. */
firth_status firth_alias_build(firth_alias *a, const double *weights, size_t n, firth_error *err);
void firth_alias_free(firth_alias *a);

/* The column that a draw from the random bits r reads (to prefetch it ahead of the draw). */
static inline const firth_alias_col *firth_alias_column(const firth_alias *a, uint64_t r) {
    return &a->col[((r >> 32) * (uint64_t)a->n) >> 32];
}

/* One draw from 64 random bits: the high half picks a column, the low half is the coin. */
static inline uint32_t firth_alias_draw(const firth_alias *a, uint64_t r) {
    uint32_t c = (uint32_t)(firth_alias_column(a, r) - a->col);
    firth_alias_col e = a->col[c];
    return (uint32_t)r < e.prob ? c : e.alias;
}

#endif
