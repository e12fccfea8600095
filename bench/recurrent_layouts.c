/* recurrent_layouts.c - the recurrent product of one LSTM step, (B x H) x (H x 4H), in the
 * layouts that charlm could use, on two threads: OpenBLAS's own two threads on the one product
 * (how charlm ran before it had threads of its own), or two threads of ours each running one
 * single-threaded product on half the gate rows (how lm/lstm.c ran a step with a pool of 2 up to
 * 3c16560's parent), or each of our two threads multiplying against half of Wh packed once into
 * panels (src/core/panel.c: how lm/lstm.c runs it since then; the packing is outside the timing,
 * as lstm.c packs once per chunk of 50 steps).
 *
 *   cc -O2 -march=native -Isrc bench/recurrent_layouts.c src/core/panel.c \
 *      $(pkg-config --cflags --libs openblas) -pthread -o build/recurrent_layouts
 *   build/recurrent_layouts [B [H]]        # default 64 512, the 30-minute recipe's shape
 *
 * Prints microseconds and GFLOP/s per product (best of three passes of 400). */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/panel.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

enum { REPS = 400 };
static int B = 64, H = 512, G = 2048, mode;
static float *h, *w, *wt, *out, *d, *dh, *pf[2], *pb[2];
static atomic_int go, done;

/* Half `id` of the product in layout `mode` on the calling thread. */
static void half(int id) {
    const int h2 = H / 2, g2 = G / 2;
    switch (mode) {
    case 0: /* forward, gates^T rows: (2H x H) rows of Wh^T times h^T, output (4H x B) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g2, B, H, 1.0f,
                    wt + (size_t)id * g2 * H, H, h, H, 0.0f, out + (size_t)id * g2 * B, B);
        break;
    case 1: /* forward, gates columns: h times half the columns of Wh, output (B x 4H) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, g2, H, 1.0f, h, H,
                    w + (size_t)id * g2, G, 0.0f, out + (size_t)id * g2, G);
        break;
    case 2: /* backward, dh^T rows: half the rows of Wh times da^T (da B x 4H), output (H x B) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, h2, B, G, 1.0f,
                    w + (size_t)id * h2 * G, G, d, G, 0.0f, dh + (size_t)id * h2 * B, B);
        break;
    case 3: /* backward, dh columns: da times half the rows of Wh, transposed, output (B x H) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, h2, G, 1.0f, d, G,
                    w + (size_t)id * h2 * G, G, 0.0f, dh + id * h2, H);
        break;
    case 4: /* forward, packed: h times the half's 4 gate blocks of H/2 columns, (B x 4H) */
        for (int q = 0; q < 4; q++)
            firth_panel_gemm(B, h2, H, h, H, pf[id] + q * firth_panel_floats(H, h2),
                             out + (size_t)id * g2 + q * h2, G);
        break;
    default: /* backward, packed: da times half the rows of Wh, transposed, (B x H) */
        firth_panel_gemm(B, h2, G, d, G, pb[id], dh + id * h2, H);
        break;
    }
}

static void *worker(void *arg) {
    (void)arg;
    int seen = 0;
    for (;;) {
        int g;
        while ((g = atomic_load(&go)) == seen) {}
        if (g < 0) return NULL;
        seen = g;
        half(1);
        atomic_fetch_add(&done, 1);
    }
}

static float *buf(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(i % 97) * 0.001f;
    return p;
}

int main(int argc, char **argv) {
    if (argc > 1) B = atoi(argv[1]);
    if (argc > 2) H = atoi(argv[2]), G = 4 * H;
    h = buf((size_t)B * H), w = buf((size_t)H * G), wt = buf((size_t)H * G);
    out = buf((size_t)B * G), d = buf((size_t)B * G), dh = buf((size_t)B * H);
    for (int id = 0; id < 2; id++) { /* the panels lm/lstm.c packs for part id of 2 */
        pf[id] = buf(4 * firth_panel_floats(H, H / 2));
        pb[id] = buf(firth_panel_floats(G, H / 2));
        for (int q = 0; q < 4; q++)
            firth_panel_pack(H, H / 2, w + (size_t)q * H + id * (H / 2), G, 1,
                             pf[id] + q * firth_panel_floats(H, H / 2));
        firth_panel_pack(G, H / 2, w + (size_t)id * (H / 2) * G, 1, G, pb[id]);
    }
    const double fl = 2.0 * B * H * G;
    double best;
    openblas_set_num_threads(2);
    for (int k = 0; k < 2; k++) {
        best = 1e30;
        for (int pass = 0; pass < 3; pass++) {
            double t0 = now();
            for (int r = 0; r < REPS; r++)
                if (k == 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, G, H, 1.0f, h, H, w,
                                G, 0.0f, out, G);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, G, 1.0f, d, G, w,
                                G, 0.0f, dh, H);
            double t = (now() - t0) / REPS;
            best = t < best ? t : best;
        }
        printf("OpenBLAS, 2 threads, one product, %-34s %7.1f us %5.0f GFLOP/s\n",
               k ? "backward da Wh^T (B x H)" : "forward h Wh (B x 4H)", best * 1e6,
               fl / best / 1e9);
    }
    openblas_set_num_threads(1);
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    const char *names[] = {"forward Wh^T h^T (4H x B)", "forward h Wh (B x 4H)",
                           "backward Wh da^T (H x B)", "backward da Wh^T (B x H)",
                           "forward h Wh packed (B x 4H), used", "backward da Wh^T packed, used"};
    for (mode = 0; mode < 6; mode++) {
        best = 1e30;
        for (int pass = 0; pass < 3; pass++) {
            double t0 = now();
            for (int r = 0; r < REPS; r++) {
                atomic_store(&done, 0);
                atomic_fetch_add(&go, 1);
                half(0);
                while (atomic_load(&done) < 1) {}
            }
            double t = (now() - t0) / REPS;
            best = t < best ? t : best;
        }
        printf("2 threads of ours, a half each, %-40s %7.1f us %5.0f GFLOP/s\n", names[mode],
               best * 1e6, fl / best / 1e9);
    }
    atomic_store(&go, -1);
    pthread_join(th, NULL);
    return 0;
}
