/* fuzz_eval_vectors.h - the fixed vectors the evaluation targets score files against: a few
 * words that upper-case alike ("Queen"/"queen", "straße"/"STRASSE", the ligature "ﬁsh"), a
 * repeated word, a zero row, all with small integer coordinates. Loaded once per process. */
#ifndef FIRTH_FUZZ_EVAL_VECTORS_H
#define FIRTH_FUZZ_EVAL_VECTORS_H

#include "fuzz_util.h"

static const firth_vectors *fz_eval_vectors(void) {
    static firth_vectors *v; /* test code: one load per process */
    if (v) return v;
    static const char text[] = "14 3\n"
                               "</s> 0 0 1\n"
                               "man 1 0 0\n"
                               "woman 1 1 0\n"
                               "king 0 0 2\n"
                               "queen 0 1 1\n"
                               "Queen 0 1 1.5\n"
                               "apple 0 0 0\n"
                               "man 3 1 4\n"
                               "stra\xc3\x9f" "e 1 5 9\n"
                               "STRASSE 2 6 5\n"
                               "\xef\xac\x81sh 3 5 8\n"
                               "FISH 9 7 9\n"
                               "\xc4\xb0stanbul 3 2 3\n"
                               "x 8 4 6\n";
    char path[32];
    int fd = fz_memfile((const uint8_t *)text, sizeof text - 1, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    v = firth_vectors_load(path, 0, &err);
    FZ_ASSERT(v);
    close(fd);
    return v;
}

#endif
