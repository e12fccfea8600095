/* fuzz_vectors.h - the body shared by fuzz_w2v_text.c and fuzz_w2v_bin.c: loads a file with
 * firth_vectors_load_raw (format detection, word2vec text / fastText .vec / word2vec binary
 * readers in src/embed/format_w2v.c, indexing in src/embed/knn.c) and, when it loads, runs the
 * queries the CLI runs on it. */
#ifndef FIRTH_FUZZ_VECTORS_H
#define FIRTH_FUZZ_VECTORS_H

#include <string.h>

#include "fuzz_util.h"

static void fz_vectors_file(const uint8_t *data, size_t size, size_t limit) {
    char path[32];
    int fd = fz_memfile(data, size, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load_raw(path, limit, &err);
    if (!v) {
        fz_check_error(&err, err.status);
        close(fd);
        return;
    }
    size_t V = firth_vectors_count(v);
    int D = firth_vectors_dim(v);
    FZ_ASSERT(V >= 1 && D >= 1 && (limit == 0 || V <= limit));
    firth_format f;
    FZ_ASSERT(firth_detect_format(path, &f, &err) == FIRTH_OK);
    for (size_t i = 0; i < V; i++) {
        const char *w = firth_vectors_word(v, i);
        FZ_ASSERT(w && *w);
        int64_t id = firth_vectors_find(v, w); /* a repeated word finds its first row */
        FZ_ASSERT(id >= 0 && (size_t)id <= i && strcmp(firth_vectors_word(v, (size_t)id), w) == 0);
        const float *raw = firth_vectors_raw(v, i), *unit = firth_vectors_unit(v, i);
        double ss = 0;
        for (int d = 0; d < D; d++) {
            FZ_ASSERT(raw[d] == raw[d]);
            ss += (double)unit[d] * unit[d];
        }
        FZ_ASSERT(ss == 0 || (ss > 0.99 && ss < 1.01));
    }
    firth_hit hits[4];
    int64_t ex = 0;
    size_t n = firth_vectors_nearest(v, firth_vectors_raw(v, 0), 4, &ex, 1, hits);
    FZ_ASSERT(n <= 4 && n <= V - 1);
    for (size_t i = 0; i < n; i++) FZ_ASSERT(hits[i].id > 0 && (size_t)hits[i].id < V);
    if (V >= 3) {
        for (int m = 0; m < 2; m++) {
            long got = firth_vectors_analogy(v, 0, 1, 2, (firth_analogy_method)m, 4, hits, &err);
            FZ_ASSERT(got >= 0 && got <= 4);
        }
    }
    float s = firth_vectors_similarity(v, 0, V - 1);
    FZ_ASSERT(!(s > 1.01f) && !(s < -1.01f));
    firth_vectors_free(v);
    close(fd);
}

#endif
