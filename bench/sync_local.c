/* sync_local.c - the local work of one synchronisation round (finding the changed rows, packing
 * them, applying the sums), without the network: w2v_sync_model on a group of one, where the
 * all-reduce calls return at once. For docs/scaling.md's LOCAL term. Run by bench/mpi_scaling.sh:
 *
 *   cc -O3 -march=native -Iinclude -Isrc bench/sync_local.c build/libfirth.a ... -o build/sync_local
 *   build/sync_local V DIM SHARE...      e.g. 74638 100 0.2 0.53 1.0
 *
 * For each share of changed rows (rows drawn at random), the median of 20 rounds in each mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "embed/w2v_dist.h"
#include "embed/w2v_model.h"
#include "text/vocab.h"
#include "firth.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: sync_local V DIM SHARE...\n");
        return 2;
    }
    size_t V = (size_t)atol(argv[1]);
    int dim = atoi(argv[2]);
    firth_error err = {0};
    char **words = malloc(V * sizeof *words);
    uint64_t *counts = malloc(V * sizeof *counts);
    for (size_t i = 0; i < V; i++) {
        words[i] = malloc(16);
        snprintf(words[i], 16, i ? "w%zu" : FIRTH_EOS_WORD, i);
        counts[i] = V - i;
    }
    firth_vocab *v = firth_vocab_from_list((const char *const *)words, counts, V, &err);
    firth_w2v_params p = firth_w2v_default_params();
    p.dim = dim;
    firth_w2v *m = v ? firth_w2v_new(v, &p, &err) : NULL;
    firth_dist *d = firth_dist_init(NULL, NULL, &err);
    if (!m || !d) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    size_t rows = m->V + m->out_rows;
    printf("# V %zu, dim %d: %zu rows, %.1f MB\n# mode share_changed median_ms\n", V, dim, rows,
           (double)rows * dim * 4 / 1e6);
    static const char *const names[] = {"sum", "average", "row-mean"};
    firth_rng rng;
    firth_rng_seed(&rng, 1);
    for (int a = 3; a < argc; a++) {
        double share = atof(argv[a]);
        for (int mode = 0; mode < 3; mode++) {
            firth_w2v_dist_params dp = firth_w2v_dist_default_params();
            dp.reduce = (firth_dist_reduce)mode;
            w2v_sync s;
            if (w2v_sync_init(&s, m, d, &dp, &err) != FIRTH_OK) {
                fprintf(stderr, "%s\n", err.message);
                return 1;
            }
            double t[20];
            for (int r = 0; r < 20; r++) {
                for (size_t i = 0; i < rows; i++)
                    s.dirty[i] = (double)firth_rng_below(&rng, 1u << 20) < share * (1u << 20);
                double t0 = now();
                w2v_sync_model(&s, m, &err);
                t[r] = now() - t0;
            }
            qsort(t, 20, sizeof *t, by_value);
            printf("%s %.2f %.2f\n", names[mode], share, t[10] * 1e3);
            w2v_sync_free(&s);
        }
    }
    firth_w2v_free(m);
    firth_dist_free(d);
    for (size_t i = 0; i < V; i++) free(words[i]);
    free(words), free(counts);
    return 0;
}
