/* fuzz_vocab.c - vocabulary files, the "word count" lines of --save-vocab / --read-vocab
 * (firth_vocab_load in src/text/vocab.c), then finalizing and looking the words up. */
#include <string.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[32];
    int fd = fz_memfile(data, size, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_vocab *v = firth_vocab_load(path, &err);
    if (!v) {
        fz_check_error(&err, err.status);
    } else {
        firth_status st = firth_vocab_finalize(v, size & 1 ? 1 : 2, size & 2 ? 0 : 4, &err);
        if (st == FIRTH_OK) {
            FZ_ASSERT(strcmp(firth_vocab_word(v, 0), FIRTH_EOS_WORD) == 0);
            for (size_t i = 0; i < firth_vocab_size(v); i++) {
                const char *w = firth_vocab_word(v, i);
                FZ_ASSERT(firth_vocab_find(v, w, strlen(w)) == (int64_t)i);
                (void)firth_vocab_word_count(v, i);
            }
            (void)firth_vocab_train_words(v);
        } else {
            fz_check_error(&err, st);
        }
        firth_vocab_free(v);
    }
    close(fd);
    return 0;
}
