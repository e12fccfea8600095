/* fuzz_wordlm.c - word-model files, "FIRTHWLM" (firth_wordlm_load in src/lm/wordlm.c), and what
 * `firth complete`, `firth wordlm eval` and `firth wordlm update` do with a loaded one.
 *
 * The format has no checksum: every mutant reaches the loader's checks. After a successful load:
 * every word is found again by its lookup (the first is "<unk>"); a seed text of the model's own
 * words (and an unknown one) tokenizes to classes in range; the sampler picks a class of the
 * vocabulary from its scores or fails with one line (finite weights near the float limit, which
 * the loader accepts, can make scores infinite or NaN; docs/reliability.md); evaluating and one epoch of online training on that text
 * work or fail with one line; and the model written after training loads again with the steps
 * counted. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

#define MAX_TEXT 4096

static struct {
    char dir[64], out[96];
} fz;

static void cleanup(void) {
    if (fz.out[0]) unlink(fz.out);
    if (fz.dir[0]) rmdir(fz.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    struct stat st;
    snprintf(fz.dir, sizeof fz.dir, "%s/firth-fuzz-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                 ? "/dev/shm"
                 : "/tmp");
    FZ_ASSERT(mkdtemp(fz.dir));
    snprintf(fz.out, sizeof fz.out, "%s/updated.wlm", fz.dir);
    atexit(cleanup);
    return 0;
}

/* Up to 12 of the model's words (ids 1, 2, ...; repeated), an unknown word, a line end. */
static size_t make_text(const firth_wordlm *m, char *buf) {
    size_t V = firth_wordlm_vocab_size(m), n = 0;
    for (size_t i = 0; i < 12 && V > 1; i++) {
        const char *w = firth_wordlm_word(m, 1 + i % (V - 1));
        size_t l = strlen(w);
        if (n + l + 2 >= MAX_TEXT / 2) break;
        memcpy(buf + n, w, l);
        n += l;
        buf[n++] = i == 5 ? '\n' : ' ';
    }
    memcpy(buf + n, "zz-not-a-word\n", 14);
    return n + 14;
}

static void check_scores(const firth_wordlm *m, const size_t *ids, size_t n) {
    size_t V = firth_wordlm_vocab_size(m);
    float *scores = malloc(V * sizeof *scores);
    FZ_ASSERT(scores);
    firth_error err = {0};
    FZ_ASSERT(firth_wordlm_scores(m, ids, n, scores, &err) == FIRTH_OK);
    if (V > 1) { /* `complete` draws among classes 1..V-1 */
        firth_sampler *s = firth_sampler_create(V - 1, 1, &err);
        FZ_ASSERT(s);
        firth_sampler_params sp;
        firth_sampler_default_params(&sp);
        sp.top_k = 5;
        size_t pick;
        firth_status st = firth_sampler_pick(s, scores + 1, V - 1, &sp, &pick, &err);
        if (st == FIRTH_OK)
            FZ_ASSERT(pick < V - 1);
        else
            fz_check_error(&err, st);
        firth_sampler_free(s);
    }
    free(scores);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[32];
    int fd = fz_memfile(data, size, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_load(path, &err);
    close(fd);
    if (!m) {
        fz_check_error(&err, err.status);
        return 0;
    }
    size_t V = firth_wordlm_vocab_size(m);
    FZ_ASSERT(V >= 1 && firth_wordlm_dim(m) >= 1);
    FZ_ASSERT(strcmp(firth_wordlm_word(m, 0), FIRTH_WORDLM_UNK_WORD) == 0);
    FZ_ASSERT(firth_wordlm_word(m, V) == NULL);
    for (size_t i = 1; i < V; i++) {
        const char *w = firth_wordlm_word(m, i);
        FZ_ASSERT(w && w[0]);
        FZ_ASSERT(firth_wordlm_find(m, w, strlen(w)) == i);
        (void)firth_wordlm_word_count(m, i);
    }

    /* `complete LM "seed"`: tokenize, score, sample */
    static char text[MAX_TEXT];
    size_t len = make_text(m, text);
    text[len] = 0;
    size_t *ids = NULL, n = 0, unknown = 0;
    firth_status st = firth_wordlm_tokenize(m, text, &ids, &n, &unknown, &err);
    if (st == FIRTH_OK) {
        FZ_ASSERT(unknown <= n);
        for (size_t i = 0; i < n; i++) FZ_ASSERT(ids[i] < V);
        check_scores(m, ids, n);
        check_scores(m, ids, 0); /* no seed words: all padding */
    } else {
        fz_check_error(&err, st); /* a word that is not UTF-8 */
    }
    free(ids);

    /* `wordlm eval` and `wordlm update` on the same text */
    char cpath[32];
    int cfd = fz_memfile((const uint8_t *)text, len, cpath);
    FZ_ASSERT(cfd >= 0);
    const char *paths[1] = {cpath};
    firth_corpus *corpus = firth_corpus_open(paths, 1, &err);
    FZ_ASSERT(corpus);
    firth_wordlm_eval_result r;
    st = firth_wordlm_eval(m, corpus, &r, &err);
    if (st == FIRTH_OK) {
        FZ_ASSERT(r.top1 >= 0 && r.top1 <= r.top5 && r.top5 <= 1);
    } else {
        fz_check_error(&err, st);
    }
    uint64_t before = firth_wordlm_steps(m);
    st = firth_wordlm_train(m, corpus, 1, NULL, NULL, &err);
    if (st == FIRTH_OK) {
        FZ_ASSERT(firth_wordlm_steps(m) > before);
        st = firth_wordlm_save(m, fz.out, &err);
        FZ_ASSERT(st == FIRTH_OK);
        firth_wordlm *m2 = firth_wordlm_load(fz.out, &err);
        if (!m2) fprintf(stderr, "reloading the updated model: %s\n", err.message);
        FZ_ASSERT(m2);
        FZ_ASSERT(firth_wordlm_steps(m2) == firth_wordlm_steps(m));
        FZ_ASSERT(firth_wordlm_vocab_size(m2) == V);
        firth_wordlm_free(m2);
        unlink(fz.out);
    } else {
        fz_check_error(&err, st); /* e.g. diverged */
    }
    firth_corpus_free(corpus);
    close(cfd);
    firth_wordlm_free(m);
    return 0;
}
