/* fuzz_wordlm.c - firth's word model files (firth_wordlm_load in src/lm/wordlm.c) and what
 * `firth complete` and `firth wordlm eval` do with a model that loads: the word index, scores
 * after a context, the tokenizer. The file has no checksum, so mutants reach every check.
 * Seeds: tests/fuzz/corpus/wordlm/, small models made by
 *   printf '3 3\nthe 1 0 0\ncat 0 1 0\nsat 0 0 1\n' > v.txt
 *   printf 'The cat sat. the cat sat on the mat\n' > t.txt
 *   firth wordlm train --vectors v.txt --input t.txt --output hinge.lm --context 2 --epochs 2
 *   firth wordlm train --vectors v.txt --input t.txt --output log.lm --context 3 --epochs 2 \
 *       --loss log --train-embeddings --lowercase --strip-punct
 * and hinge-cut.lm, hinge.lm without its last 5 bytes. Scores may be infinite or NaN for a
 * mutant with huge (finite) weights: the sampler refuses those (firth complete says so). */
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[32];
    int fd = fz_memfile(data, size, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_load(path, &err);
    if (!m) {
        fz_check_error(&err, err.status);
        close(fd);
        return 0;
    }
    size_t V = firth_wordlm_vocab_size(m);
    FZ_ASSERT(V >= 1 && firth_wordlm_dim(m) >= 1);
    FZ_ASSERT(strcmp(firth_wordlm_word(m, FIRTH_WORDLM_UNK), FIRTH_WORDLM_UNK_WORD) == 0);
    for (size_t i = 1; i < V; i++) {
        const char *w = firth_wordlm_word(m, i);
        FZ_ASSERT(w && firth_wordlm_find(m, w, strlen(w)) == i);
    }
    FZ_ASSERT(firth_wordlm_word(m, V) == NULL);
    float *s = malloc(V * sizeof *s);
    FZ_ASSERT(s);
    size_t ids[3] = {V > 1 ? 1 : 0, 0, V - 1};
    for (size_t n = 0; n <= 3; n++) {
        FZ_ASSERT(firth_wordlm_scores(m, ids, n, s, &err) == FIRTH_OK);
    }
    free(s);
    size_t *tk = NULL, nt = 0, unk = 0;
    if (firth_wordlm_tokenize(m, "the Cat  sat. <unk> qq", &tk, &nt, &unk, &err) == FIRTH_OK) {
        FZ_ASSERT(nt == 5 && unk <= nt);
        for (size_t i = 0; i < nt; i++) FZ_ASSERT(tk[i] < V);
        free(tk);
    } else {
        fz_check_error(&err, err.status);
    }
    firth_wordlm_free(m);
    close(fd);
    return 0;
}
