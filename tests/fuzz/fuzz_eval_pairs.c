/* fuzz_eval_pairs.c - word-similarity files (WordSim-353 / SimLex-999 / MEN layouts;
 * firth_eval_pairs in src/embed/eval.c: tab or white-space fields, Python's float(), "\r" line
 * ends, comments, ranks with ties) and Python-float parsing on its own. The last byte of the
 * input picks the parameters as in fuzz_eval_analogy. */
#include <math.h>

#include "embed/eval.h"
#include "fuzz_eval_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const firth_vectors *v = fz_eval_vectors();
    double x;
    (void)firth_parse_py_float((const char *)data, size, &x);
    firth_eval_params p = firth_eval_pairs_default_params();
    unsigned opt = size ? data[size - 1] : 0;
    static const size_t restrict_to[4] = {0, 3, 8, 300000};
    p.case_sensitive = opt & 1;
    p.restrict_vocab = restrict_to[(opt >> 2) & 3];
    char path[32];
    int fd = fz_memfile(data, size, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_pairs_result r;
    firth_status st = firth_eval_pairs(v, path, &p, &r, &err);
    if (st != FIRTH_OK) {
        fz_check_error(&err, st);
    } else {
        FZ_ASSERT(r.used > 0);
        FZ_ASSERT(isnan(r.spearman) || (r.spearman >= -1.0000001 && r.spearman <= 1.0000001));
        FZ_ASSERT(isnan(r.pearson) || (r.pearson >= -1.0 && r.pearson <= 1.0));
        FZ_ASSERT(r.oov_percent >= 0 && r.oov_percent < 100);
    }
    close(fd);
    return 0;
}
