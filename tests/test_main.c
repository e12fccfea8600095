/* test_main.c - runs every test case, or those whose name contains argv[1]. */
#include <stdio.h>
#include <string.h>

#include "check.h"

int check_failures;

/* one line per test module */
extern const test_case tests_utf8[], tests_corpus[], tests_vocab[], tests_huffman[],
    tests_sampling[], tests_loss[], tests_w2v[], tests_model_io[], tests_eval[], tests_convert[],
    tests_sampler[], tests_projector[], tests_lstm[], tests_charlm[], tests_wordlm[],
    tests_dist[], tests_pool[];

static const test_case *const suites[] = {tests_utf8,     tests_corpus, tests_vocab,
                                          tests_huffman,  tests_sampling, tests_loss,
                                          tests_w2v,      tests_model_io, tests_eval,
                                          tests_convert,  tests_sampler,  tests_projector,
                                          tests_lstm,     tests_charlm,   tests_wordlm,
                                          tests_dist,     tests_pool};

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    for (size_t s = 0; s < sizeof suites / sizeof *suites; s++)
        for (const test_case *t = suites[s]; t->name; t++) {
            if (filter && !strstr(t->name, filter)) continue;
            check_failures = 0;
            t->fn();
            if (check_failures) {
                failed++;
                printf("FAIL %s (%d failed checks)\n", t->name, check_failures);
            } else {
                passed++;
                printf("ok   %s\n", t->name);
            }
            fflush(stdout);
        }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
