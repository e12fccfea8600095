/* fuzz_w2v_text.c - word2vec text and fastText .vec files, as they come: the whole input is the
 * file ("V dim" header included). Seeds: valid and near-valid text files (tests/fuzz/corpus/). */
#include "fuzz_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* limit: 0 (all rows) for most inputs, 2 when the file ends in '2' (gensim's limit=) */
    fz_vectors_file(data, size, size && data[size - 1] == '2' ? 2 : 0);
    return 0;
}
