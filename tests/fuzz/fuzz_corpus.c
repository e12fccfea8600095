/* fuzz_corpus.c - the corpus reader and UTF-8 tokenizer (src/text/corpus.c, utf8.c), and word
 * counting on top of them (src/text/vocab.c).
 *
 * Input: byte 0 = options (bit 0 lowercase, 1 strip punctuation, 2 replace invalid UTF-8, 3-4
 * max token bytes 4/7/100/2^20, 5 split the text into two files), byte 1 = where to cut, the
 * rest = the text. Besides "no crash", it checks the tokenizer's contract from firth.h: reading
 * the corpus in three ranges gives exactly the tokens of reading it whole. */
#include <string.h>

#include "fuzz_util.h"

typedef struct tokens {
    unsigned char *b;
    size_t n, cap;
} tokens;

static void push(tokens *t, int kind, const char *w, size_t len) {
    size_t need = t->n + 1 + sizeof len + len;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < need) cap *= 2;
        unsigned char *b = realloc(t->b, cap);
        FZ_ASSERT(b);
        t->b = b, t->cap = cap;
    }
    t->b[t->n++] = (unsigned char)kind;
    memcpy(t->b + t->n, &len, sizeof len);
    t->n += sizeof len;
    if (len) memcpy(t->b + t->n, w, len);
    t->n += len;
}

/* Tokens of [begin, end) appended to `out`; the status of the first failure, or 0. */
static int read_range(const firth_corpus *c, uint64_t begin, uint64_t end,
                      const firth_text_params *p, tokens *out) {
    firth_error err = {0};
    firth_tokenizer *tok = firth_tokenizer_new(c, begin, end, p, &err);
    if (!tok) return err.status ? err.status : -100;
    int k;
    const char *w;
    size_t len;
    while ((k = firth_tokenizer_next(tok, &w, &len, &err)) > 0) {
        if (k == FIRTH_TOKEN_WORD) FZ_ASSERT(len > 0 && len <= (size_t)p->max_token_bytes);
        push(out, k, w, k == FIRTH_TOKEN_WORD ? len : 0);
    }
    if (k < 0) fz_check_error(&err, k);
    firth_tokenizer_free(tok);
    return k < 0 ? k : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    unsigned opt = data[0], cut = data[1];
    data += 2, size -= 2;
    static const int max_tok[4] = {4, 7, 100, 1 << 20};
    firth_text_params p = firth_text_default_params();
    p.lowercase = opt & 1;
    p.strip_punct = (opt >> 1) & 1;
    p.utf8 = (opt >> 2) & 1 ? FIRTH_UTF8_REPLACE : FIRTH_UTF8_STRICT;
    p.max_token_bytes = max_tok[(opt >> 3) & 3];
    size_t split = (opt >> 5) & 1 ? size * cut / 256 : size;
    char path1[32], path2[32];
    int fd1 = fz_memfile(data, split, path1), fd2 = -1;
    FZ_ASSERT(fd1 >= 0);
    const char *paths[2] = {path1, path2};
    size_t n_paths = 1;
    if (split < size) {
        fd2 = fz_memfile(data + split, size - split, path2);
        FZ_ASSERT(fd2 >= 0);
        n_paths = 2;
    }
    firth_error err = {0};
    firth_corpus *c = firth_corpus_open(paths, n_paths, &err);
    FZ_ASSERT(c);
    uint64_t total = firth_corpus_size(c);
    tokens whole = {0}, parts = {0};
    int rc = read_range(c, 0, total, &p, &whole);
    if (rc == 0) {
        /* three ranges cut at two points derived from `cut` */
        uint64_t a = total * (cut & 15) / 16, b = total * (cut >> 4) / 16;
        if (a > b) {
            uint64_t t = a;
            a = b, b = t;
        }
        FZ_ASSERT(read_range(c, 0, a, &p, &parts) == 0);
        FZ_ASSERT(read_range(c, a, b, &p, &parts) == 0);
        FZ_ASSERT(read_range(c, b, total, &p, &parts) == 0);
        FZ_ASSERT(parts.n == whole.n && (whole.n == 0 || memcmp(parts.b, whole.b, whole.n) == 0));
        /* counting the words: every counted word can be found again after finalizing */
        firth_vocab *v = firth_vocab_new(&err);
        FZ_ASSERT(v);
        firth_vocab_set_prune_at(v, 16 + cut); /* small, so that pruning runs too */
        firth_status st = firth_vocab_count(v, c, &p, &err);
        FZ_ASSERT(st == FIRTH_OK);
        st = firth_vocab_finalize(v, 1, cut & 1 ? 0 : 3, &err);
        if (st == FIRTH_OK) {
            FZ_ASSERT(firth_vocab_size(v) >= 1);
            for (size_t i = 0; i < firth_vocab_size(v); i++) {
                const char *w = firth_vocab_word(v, i);
                FZ_ASSERT(firth_vocab_find(v, w, strlen(w)) == (int64_t)i);
            }
        } else {
            fz_check_error(&err, st);
        }
        firth_vocab_free(v);
    }
    free(whole.b);
    free(parts.b);
    firth_corpus_free(c);
    close(fd1);
    if (fd2 >= 0) close(fd2);
    return 0;
}
