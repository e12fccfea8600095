/* charlm_prof.c - where the time of a firth charlm training step goes, and what it sustains.
 *
 *   cc -O3 -march=native -Iinclude -Isrc $(pkg-config --cflags openblas) bench/charlm_prof.c \
 *      build/libfirth.a $(pkg-config --libs openblas) -lm -pthread -o build/charlm_prof
 *   build/charlm_prof TEXT LAYERS HIDDEN SEQ BATCH STEPS THREADS [bf16]
 *
 * Prints: this machine's OpenBLAS sgemm peak (best of a few 2048^3 products), the GFLOP/s of one
 * whole training step (forward, backward, clipping, Adam) counting only the matrix products'
 * flops, and the share of the step spent in the recurrent products (h_{t-1} Wh forward and
 * da_t Wh^T backward, T of each per layer, timed alone with the same shapes). With `bf16` the
 * step's LSTM products run in bfloat16 (charlm train --bf16); the GFLOP/s still count them. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "lm/charlm.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *randbuf(size_t n) {
    float *p = firth_alloc_aligned(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)((double)(i * 2654435761u % 1000) / 1000.0 - 0.5);
    return p;
}

int main(int argc, char **argv) {
    if (argc != 8 && !(argc == 9 && strcmp(argv[8], "bf16") == 0)) {
        fprintf(stderr, "usage: charlm_prof TEXT LAYERS HIDDEN SEQ BATCH STEPS THREADS [bf16]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) return perror(argv[1]), 2;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) return 2;
    fclose(f);
    firth_charlm_params p = firth_charlm_default_params();
    p.layers = atoi(argv[2]), p.hidden = atoi(argv[3]), p.seq = atoi(argv[4]);
    p.batch = atoi(argv[5]);
    /* THREADS > 0: firth's threads (firth_charlm_set_threads), OpenBLAS on one; THREADS < 0:
     * -THREADS OpenBLAS threads and none of firth's (how charlm ran before it had threads) */
    int steps = atoi(argv[6]), threads = atoi(argv[7]), pool = threads > 0;
    threads = threads < 0 ? -threads : threads < 1 ? 1 : threads;
    openblas_set_num_threads(threads);

    /* sgemm peak */
    const int N = 2048;
    float *A = randbuf((size_t)N * N), *Bm = randbuf((size_t)N * N), *C = randbuf((size_t)N * N);
    double best = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, A, N, Bm, N, 0.0f,
                    C, N);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    double peak = 2.0 * N * N * (double)N / best / 1e9;
    printf("sgemm peak (%dx%dx%d, %d threads): %.1f GFLOP/s (OpenBLAS kernels: %s)\n", N, N, N,
           threads, peak, openblas_get_corename());

    firth_error err = {0};
    firth_charlm *m = firth_charlm_new(text, (size_t)len, &p, &err);
    if (!m) return fprintf(stderr, "%s\n", err.message), 1;
    m->bf16 = argc == 9;
    if (pool) {
        openblas_set_num_threads(1);
        if (firth_charlm_set_threads(m, threads, &err) != FIRTH_OK)
            return fprintf(stderr, "%s\n", err.message), 1;
    }
    if (firth_charlm_work_train(m, &err) != FIRTH_OK) return fprintf(stderr, "%s\n", err.message), 1;
    const int T = p.seq, B = p.batch, H = p.hidden, L = p.layers, V = m->V;
    const double TB = (double)T * B, G = 4.0 * H;
    /* flops of the matrix products of one step */
    double fl = 3 * 2 * TB * H * V; /* output: forward, dWy, dh */
    for (int l = 0; l < L; l++) {
        double in = l ? H : (p.embed ? p.embed : 0); /* one-hot input: a gather, no product */
        fl += 2 * TB * H * G * 3;                     /* recurrent forward, dh backward, dWh */
        if (in > 0) fl += 2 * TB * in * G * (l ? 3 : 2); /* input projection, dWx, (dx) */
    }
    for (size_t r = 0; r < (size_t)T * B; r++) {
        m->ids[r] = (int32_t)(r * 7 % (size_t)V);
        m->tgt[r] = (int32_t)(r * 11 % (size_t)V);
    }
    double t_step = 1e30;
    for (int s = 0; s < steps; s++) {
        double t0 = now();
        memset(m->grads, 0, m->off.n * sizeof(float));
        firth_charlm_forward_backward(m, T, B, m->ids, m->tgt, m->state, 1);
        firth_charlm_clip(m->grads, m->off.n, p.clip);
        firth_charlm_adam(m->params, m->grads, m->m, m->v, m->off.n, p.lr, p.beta1, p.beta2,
                          p.eps, (uint64_t)s + 1);
        double t = now() - t0;
        if (s > 0 || steps == 1) t_step = t < t_step ? t : t_step; /* first step warms up */
    }
    printf("config layers %d hidden %d seq %d batch %d vocab %d, %d %s threads%s\n", L, H, T, B,
           V, threads, pool ? "firth" : "OpenBLAS", m->bf16 ? ", bfloat16 products" : "");
    printf("step (best of %d): %.1f ms, %.2f GFLOP of products -> %.1f GFLOP/s = %.0f%% of the "
           "sgemm peak; %.0f chars/s\n", steps, t_step * 1e3, fl / 1e9, fl / t_step / 1e9,
           100 * fl / t_step / 1e9 / peak, TB / t_step);
    /* the recurrent products alone, same shapes, as one call each on OpenBLAS's threads */
    openblas_set_num_threads(threads);
    float *h = randbuf((size_t)B * H), *g = randbuf((size_t)B * 4 * H), *wh = randbuf((size_t)H * 4 * H);
    double t_rec = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (int l = 0; l < L; l++)
            for (int t = 0; t < T; t++) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, 4 * H, H, 1.0f, h, H, wh,
                            4 * H, 1.0f, g, 4 * H);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, 4 * H, 1.0f, g, 4 * H,
                            wh, 4 * H, 0.0f, h, H);
            }
        double t = now() - t0;
        t_rec = t < t_rec ? t : t_rec;
    }
    double rec_fl = 2.0 * L * T * 2.0 * B * H * G;
    printf("recurrent products on %d OpenBLAS threads: %.1f ms per step = %.0f%% of the step "
           "(%.1f GFLOP/s on (%d x %d) "
           "x (%d x %d)); everything else %.1f ms\n", threads, t_rec * 1e3, 100 * t_rec / t_step,
           rec_fl / t_rec / 1e9, B, H, H, 4 * H, (t_step - t_rec) * 1e3);
    firth_charlm_free(m);
    firth_free_aligned(A), firth_free_aligned(Bm), firth_free_aligned(C);
    firth_free_aligned(h), firth_free_aligned(g), firth_free_aligned(wh);
    free(text);
    return 0;
}
