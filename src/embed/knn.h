/* knn.h - the parts of the keyed-vector queries (knn.c) that other modules use but the public API
 * does not offer. */
#ifndef FIRTH_EMBED_KNN_H
#define FIRTH_EMBED_KNN_H

#include "firth.h"

/* As firth_vectors_nearest, among the first `n_rows` rows only (all when n_rows >= the count):
 * the same computation as firth_vectors_nearest on vectors loaded with limit = n_rows, so the
 * scores and the order (ties to the lower id) are the same bit for bit. */
size_t firth_vectors_nearest_prefix(const firth_vectors *vecs, size_t n_rows, const float *query,
                                    size_t k, const int64_t *exclude, size_t n_exclude,
                                    firth_hit *out);

#endif
