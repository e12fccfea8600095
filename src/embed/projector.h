/* projector.h - the parts of the projector (projector.c) that the tests use beside the public
 * firth_pca and firth_projector_write_html. */
#ifndef FIRTH_EMBED_PROJECTOR_H
#define FIRTH_EMBED_PROJECTOR_H

#include <stdio.h>

#include "firth.h"

/* The slow obvious PCA that firth_pca is tested against: the same contract and outputs, but the
 * mean and covariance in double with plain loops and all eigenpairs by the cyclic Jacobi method
 * (no BLAS, no LAPACK). O(n dim^2 + sweeps * dim^3): for tests, dim up to a few hundred. */
firth_status firth_pca_naive(const float *x, size_t n, int dim, int n_comp, float *axes,
                             double *variance, double *total, float *proj, firth_error *err);

/* Writes the `len` bytes of `s` as a JSON string (with its quotes) that is also safe inside an
 * HTML <script> element: '"' and '\\' escaped, control characters (U+0000..U+001F, U+007F),
 * '<', '>', '&', U+2028 and U+2029 as \uXXXX, and every byte that is not part of valid UTF-8 as
 * \ufffd. Other characters are copied as UTF-8. */
void firth_json_write_string(FILE *fp, const char *s, size_t len);

#endif
