/* pool.c - see pool.h. */
#include "core/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/status.h"

typedef struct pool_worker {
    firth_pool *pool;
    int part;
    int started;
    pthread_t th;
} pool_worker;

struct firth_pool {
    int n;
    firth_pool_fn fn;
    void *ctx;
    int quit;
    atomic_uint gen;     /* bumped once per job */
    atomic_int pending;  /* workers still in the current job */
    atomic_uint bar_gen; /* barrier: bumped when the last part arrives */
    atomic_int bar_count;
    pthread_mutex_t mu;  /* with cv: sleeping workers wait for gen to move */
    pthread_cond_t cv;
    pool_worker w[];
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* One wait of a spin: a pause, and after a while a yield, so that a thread waiting for one
 * that is not running (more threads than free cores) gives it the core. */
static inline void spin_wait(unsigned *n) {
    if (++*n < 1024) cpu_relax();
    else sched_yield();
}

/* Spins this many times for a new job before sleeping (some tens of microseconds). */
#define POOL_SPINS 4096

static void *worker_main(void *arg) {
    pool_worker *w = arg;
    firth_pool *P = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&P->gen, memory_order_acquire)) == seen &&
               spins < POOL_SPINS)
            cpu_relax(), spins++;
        if (g == seen) {
            pthread_mutex_lock(&P->mu);
            while ((g = atomic_load_explicit(&P->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&P->cv, &P->mu);
            pthread_mutex_unlock(&P->mu);
        }
        seen = g;
        if (P->quit) return NULL;
        P->fn(P->ctx, w->part, P->n);
        atomic_fetch_sub_explicit(&P->pending, 1, memory_order_release);
    }
}

static void wake(firth_pool *P) {
    pthread_mutex_lock(&P->mu);
    atomic_fetch_add_explicit(&P->gen, 1, memory_order_release);
    pthread_cond_broadcast(&P->cv);
    pthread_mutex_unlock(&P->mu);
}

void firth_pool_free(firth_pool *P) {
    if (!P) return;
    P->quit = 1;
    wake(P);
    for (int t = 1; t < P->n; t++)
        if (P->w[t].started) pthread_join(P->w[t].th, NULL);
    pthread_cond_destroy(&P->cv);
    pthread_mutex_destroy(&P->mu);
    free(P);
}

firth_status firth_pool_new(int threads, firth_pool **out, firth_error *err) {
    *out = NULL;
    if (threads < 1 || threads > 1024)
        return firth_fail(err, FIRTH_ERR_PARAM, "threads must be 1..1024, not %d", threads);
    firth_pool *P = calloc(1, sizeof *P + (size_t)threads * sizeof(pool_worker));
    if (!P) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory for %d threads", threads);
    P->n = threads;
    atomic_init(&P->gen, 0u), atomic_init(&P->pending, 0);
    atomic_init(&P->bar_gen, 0u), atomic_init(&P->bar_count, 0);
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->cv, NULL);
    for (int t = 0; t < threads; t++) P->w[t].pool = P, P->w[t].part = t;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&P->w[t].th, NULL, worker_main, &P->w[t]) != 0) {
            firth_pool_free(P);
            return firth_fail(err, FIRTH_ERR_NOMEM, "cannot start %d threads", threads);
        }
        P->w[t].started = 1;
    }
    *out = P;
    return FIRTH_OK;
}

int firth_pool_threads(const firth_pool *P) { return P ? P->n : 1; }

void firth_pool_run(firth_pool *P, firth_pool_fn fn, void *ctx) {
    if (!P || P->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    P->fn = fn, P->ctx = ctx;
    atomic_store_explicit(&P->pending, P->n - 1, memory_order_relaxed);
    wake(P);
    fn(ctx, 0, P->n);
    unsigned n = 0;
    while (atomic_load_explicit(&P->pending, memory_order_acquire) > 0) spin_wait(&n);
}

void firth_pool_barrier(firth_pool *P) {
    if (!P || P->n == 1) return;
    unsigned g = atomic_load_explicit(&P->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&P->bar_count, 1, memory_order_acq_rel) == P->n - 1) {
        atomic_store_explicit(&P->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&P->bar_gen, 1, memory_order_release);
    } else {
        unsigned n = 0;
        while (atomic_load_explicit(&P->bar_gen, memory_order_acquire) == g) spin_wait(&n);
    }
}

/* ---- ranges --------------------------------------------------------------------------------- */

typedef struct for_job {
    size_t n, align;
    firth_pool_for_fn fn;
    void *ctx;
} for_job;

static size_t cut_at(const for_job *j, int part, int parts) {
    if (part >= parts) return j->n;
    size_t c = j->n / j->align * (size_t)part / (size_t)parts * j->align;
    return c < j->n ? c : j->n;
}

static void for_part(void *ctx, int part, int parts) {
    const for_job *j = ctx;
    size_t lo = cut_at(j, part, parts), hi = cut_at(j, part + 1, parts);
    if (hi > lo) j->fn(j->ctx, lo, hi, part);
}

void firth_pool_for(firth_pool *P, size_t n, size_t align, firth_pool_for_fn fn, void *ctx) {
    if (n == 0) return;
    for_job j = {n, align ? align : 1, fn, ctx};
    firth_pool_run(P, for_part, &j);
}

/* ---- split sgemm ---------------------------------------------------------------------------- */

typedef struct sgemm_job {
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc, by_rows;
    float alpha, beta;
    const float *A, *B;
    float *C;
} sgemm_job;

static void sgemm_part(void *ctx, int part, int parts) {
    const sgemm_job *j = ctx;
    size_t lo, hi;
    if (j->by_rows) { /* rows of C: rows of op(A) */
        firth_pool_range((size_t)j->M, part, parts, &lo, &hi);
        if (hi == lo) return;
        const float *A = j->A + (j->ta == CblasNoTrans ? lo * (size_t)j->lda : lo);
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, (int)(hi - lo), j->N, j->K, j->alpha, A, j->lda,
                    j->B, j->ldb, j->beta, j->C + lo * (size_t)j->ldc, j->ldc);
    } else { /* columns of C: columns of op(B) */
        firth_pool_range((size_t)j->N, part, parts, &lo, &hi);
        if (hi == lo) return;
        const float *B = j->B + (j->tb == CblasNoTrans ? lo : lo * (size_t)j->ldb);
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->M, (int)(hi - lo), j->K, j->alpha, j->A,
                    j->lda, B, j->ldb, j->beta, j->C + lo, j->ldc);
    }
}

void firth_pool_sgemm(firth_pool *P, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                      float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                      float *C, int ldc) {
    if (!P || P->n == 1 || M <= 0 || N <= 0) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    sgemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, M >= N, alpha, beta, A, B, C};
    firth_pool_run(P, sgemm_part, &j);
}
