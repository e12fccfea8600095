/* fuzz_eval_analogy.c - analogy question files in the layout of questions-words.txt
 * (firth_eval_analogy in src/embed/eval.c: Python-compatible splitting and upper-casing,
 * sections, batches). The last byte of the input picks the parameters: bit 0 case-sensitive,
 * bit 1 3CosMul, bits 2-3 restrict_vocab 0 / 3 / 8 / the default. */
#include "fuzz_eval_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const firth_vectors *v = fz_eval_vectors();
    firth_eval_params p = firth_eval_analogy_default_params();
    unsigned opt = size ? data[size - 1] : 0;
    static const size_t restrict_to[4] = {0, 3, 8, 30000};
    p.case_sensitive = opt & 1;
    p.method = opt & 2 ? FIRTH_ANALOGY_MUL : FIRTH_ANALOGY_ADD;
    p.restrict_vocab = restrict_to[(opt >> 2) & 3];
    char path[32];
    int fd = fz_memfile(data, size, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_analogy_result *r = firth_eval_analogy(v, path, &p, &err);
    if (!r) {
        fz_check_error(&err, err.status);
    } else {
        size_t c = 0, i = 0, s = 0;
        for (size_t k = 0; k < r->n_sections; k++) {
            FZ_ASSERT(r->sections[k].name);
            c += r->sections[k].correct, i += r->sections[k].incorrect;
            s += r->sections[k].skipped;
        }
        FZ_ASSERT(c == r->correct && i == r->incorrect && s == r->skipped);
        FZ_ASSERT(c + i + s > 0);
        FZ_ASSERT((r->malformed == 0) == (r->first_malformed == 0));
        firth_analogy_result_free(r);
    }
    close(fd);
    return 0;
}
