/* pool.h - a few threads that run one job together, with a barrier between its phases, and a
 * row-major sgemm split between them.
 *
 * The calling thread is part 0 of every job; parts 1 .. n-1 are threads the pool owns. Between
 * jobs the workers spin briefly, then sleep, so a pool costs nothing while the caller works
 * alone (or while OpenBLAS's own threads run). Each part calls OpenBLAS itself: run OpenBLAS
 * single-threaded (openblas_set_num_threads(1)) beside a pool, or the two kinds of threads
 * compete for the cores. The split of every job is fixed by n, so results are repeatable for a
 * given thread count. */
#ifndef FIRTH_CORE_POOL_H
#define FIRTH_CORE_POOL_H

#include <cblas.h>

#include "firth.h"

typedef struct firth_pool firth_pool;

/* The job of part `part` of `parts`; parts of one job may meet at firth_pool_barrier. */
typedef void (*firth_pool_fn)(void *ctx, int part, int parts);

/* A pool of `threads` >= 1 (the caller included: threads - 1 are started). */
firth_status firth_pool_new(int threads, firth_pool **out, firth_error *err);
void firth_pool_free(firth_pool *pool);
/* Threads of the pool, 1 for NULL. */
int firth_pool_threads(const firth_pool *pool);
/* Runs fn(ctx, p, n) on every part p and returns when all have. A NULL pool runs fn(ctx, 0, 1).
 * Not from inside a job (fn must not run another job of the same pool). */
void firth_pool_run(firth_pool *pool, firth_pool_fn fn, void *ctx);
/* Inside a job: waits until every part of it has arrived here. */
void firth_pool_barrier(firth_pool *pool);

/* [lo, hi) of part p when n items are split into `parts` near-equal ranges. */
static inline void firth_pool_range(size_t n, int part, int parts, size_t *lo, size_t *hi) {
    *lo = n * (size_t)part / (size_t)parts;
    *hi = n * (size_t)(part + 1) / (size_t)parts;
}

/* Runs fn(ctx, lo, hi, part) over [0, n) cut into one range per thread, the cuts at multiples
 * of `align` (>= 1). */
typedef void (*firth_pool_for_fn)(void *ctx, size_t lo, size_t hi, int part);
void firth_pool_for(firth_pool *pool, size_t n, size_t align, firth_pool_for_fn fn, void *ctx);

/* C = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm; with a pool the rows of C (or its
 * columns, when it has more of those) are split between the threads, each one product. */
void firth_pool_sgemm(firth_pool *pool, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N,
                      int K, float alpha, const float *A, int lda, const float *B, int ldb,
                      float beta, float *C, int ldc);

#endif
