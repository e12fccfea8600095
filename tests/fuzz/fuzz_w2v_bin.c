/* fuzz_w2v_bin.c - word2vec binary files. The fuzzer spends its effort on the rows: bytes 0 and
 * 1 give V (1..8) and dim (1..16), the file is "V dim\n" followed by the rest of the input (the
 * header parser itself is fuzzed by fuzz_w2v_text, which shares the reader). Seeds: valid and
 * near-valid binary files in this layout. */
#include "fuzz_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    char head[16];
    int hl = snprintf(head, sizeof head, "%d %d\n", 1 + data[0] % 8, 1 + data[1] % 16);
    uint8_t *file = malloc((size_t)hl + size - 2 + 1);
    FZ_ASSERT(file);
    memcpy(file, head, (size_t)hl);
    memcpy(file + hl, data + 2, size - 2);
    fz_vectors_file(file, (size_t)hl + size - 2, data[0] & 0x80 ? 1 : 0);
    free(file);
    return 0;
}
