/* fuzz_model.c - firth's native model files (firth_w2v_load in src/embed/model_io.c), and the
 * keyed vectors made from them (firth_vectors_load's native branch in src/embed/knn.c).
 *
 * The file ends in a checksum of its payload, which random mutation almost never gets right,
 * so most mutants would stop at the checksum. When the header's `seed` field is odd (the seed
 * has no bearing on loading) and the header's sizes match the file's length, the target writes
 * the correct checksum into the header first, so the checks after it (non-finite weights, the
 * vectors built from the model) are fuzzed too; even seeds keep the checksum as it is. */
#include <string.h>

#include "fuzz_util.h"

#define OFF_SEED 64

/* the checksum is fixed only for odd seeds, so that even ones test the checksum check */
static void fix_checksum(uint8_t *f, size_t size) {
    if (size >= 112 && (fz_get64(f + OFF_SEED) & 1)) (void)fz_fix_native_checksum(f, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *file = malloc(size ? size : 1);
    FZ_ASSERT(file);
    memcpy(file, data, size);
    fix_checksum(file, size);
    char path[32];
    int fd = fz_memfile(file, size, path);
    FZ_ASSERT(fd >= 0);
    free(file);
    firth_error err = {0};
    firth_w2v *m = firth_w2v_load(path, &err);
    if (!m) {
        fz_check_error(&err, err.status);
        close(fd);
        return 0;
    }
    const firth_vocab *voc = firth_w2v_vocab(m);
    size_t V = firth_vocab_size(voc);
    int D = firth_w2v_get_params(m)->dim;
    FZ_ASSERT(V >= 2 && D >= 1);
    FZ_ASSERT(strcmp(firth_vocab_word(voc, 0), FIRTH_EOS_WORD) == 0);
    for (size_t i = 0; i < V; i++) {
        const char *w = firth_vocab_word(voc, i);
        FZ_ASSERT(firth_vocab_find(voc, w, strlen(w)) == (int64_t)i);
    }
    firth_vectors *v = firth_vectors_from_w2v(m, &err);
    FZ_ASSERT(v);
    FZ_ASSERT(firth_vectors_count(v) == V && firth_vectors_dim(v) == D);
    firth_hit hits[3];
    (void)firth_vectors_nearest(v, firth_w2v_vectors(m), 3, NULL, 0, hits);
    firth_vectors_free(v);
    firth_w2v_free(m);
    /* the path the query commands take: detection, then the native branch with a limit */
    v = firth_vectors_load(path, 1 + size % 3, &err);
    FZ_ASSERT(v);
    FZ_ASSERT(firth_vectors_count(v) <= V);
    firth_vectors_free(v);
    close(fd);
    return 0;
}
