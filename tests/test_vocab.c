/* test_vocab.c - counting, finalizing, pruning, saving and loading vocabularies.
 *
 * References: counts of small texts done by hand; for random inputs, the expected order from
 * qsort with the documented comparison (count descending, then bytes), and an independent
 * simulation of word2vec.c's ReduceVocab (drop words with count <= min_reduce, then raise it)
 * written here over a plain array. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "firth.h"
#include "test_util.h"
#include "text/vocab.h"

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* Counts one text (written to dir/name) into a new vocabulary. */
static firth_vocab *count_text(const char *dir, const char *text, const firth_text_params *p,
                               firth_error *err) {
    char *path = tu_path(dir, "corpus.txt");
    tu_write_str(path, text);
    const char *paths[] = {path};
    firth_corpus *c = firth_corpus_open(paths, 1, err);
    free(path);
    if (!c) return NULL;
    firth_vocab *v = firth_vocab_new(err);
    if (v && firth_vocab_count(v, c, p, err) != FIRTH_OK) {
        firth_vocab_free(v);
        v = NULL;
    }
    firth_corpus_free(c);
    return v;
}

typedef struct wc {
    const char *word;
    uint64_t count;
} wc;

/* Checks that a finalized vocabulary holds exactly `e` in this order. */
static void expect_vocab(const firth_vocab *v, const wc *e, size_t n, const char *what) {
    CHECK(firth_vocab_size(v) == n, "%s: size %zu, expected %zu", what, firth_vocab_size(v), n);
    for (size_t i = 0; i < n && i < firth_vocab_size(v); i++) {
        const char *w = firth_vocab_word(v, i);
        CHECK(w && strcmp(w, e[i].word) == 0, "%s: word %zu is '%s', expected '%s'", what, i,
              w ? w : "(null)", e[i].word);
        CHECK(firth_vocab_word_count(v, i) == e[i].count,
              "%s: count of '%s' is %llu, expected %llu", what, e[i].word,
              (unsigned long long)firth_vocab_word_count(v, i), (unsigned long long)e[i].count);
        CHECK(firth_vocab_find(v, e[i].word, strlen(e[i].word)) == (int64_t)i,
              "%s: find('%s') = %lld, expected %zu", what, e[i].word,
              (long long)firth_vocab_find(v, e[i].word, strlen(e[i].word)), i);
    }
}

/* The count of word w in a finalized vocabulary, 0 when it is not there. */
static uint64_t count_of(const firth_vocab *v, const char *w) {
    int64_t id = firth_vocab_find(v, w, strlen(w));
    return id > 0 ? firth_vocab_word_count(v, (size_t)id) : 0;
}

static const char *small_text = "the cat sat on the mat\nthe dog sat\n";

static void test_count_known(void) {
    char *dir = tu_mkdtemp();
    firth_error err = {0};
    firth_text_params p = firth_text_default_params();
    firth_vocab *v = count_text(dir, small_text, &p, &err);
    CHECK(v != NULL, "count: %s", err.message);
    if (v) {
        CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
        /* "</s>": the two '\n' of the file (it ends with one, so none is added). Ties (count 1)
         * in byte order: cat < dog < mat < on. */
        const wc e[] = {{"</s>", 2}, {"the", 3}, {"sat", 2}, {"cat", 1},
                        {"dog", 1},  {"mat", 1}, {"on", 1}};
        expect_vocab(v, e, N_OF(e), "small text");
        CHECK(firth_vocab_train_words(v) == 9, "train_words %llu, expected 9",
              (unsigned long long)firth_vocab_train_words(v));
        CHECK(firth_vocab_find(v, "cow", 3) == -1, "find of an absent word");
        CHECK(firth_vocab_find(v, "th", 2) == -1, "find of a prefix");
        CHECK(firth_vocab_find(v, "thee", 4) == -1, "find of an extension");
        CHECK(firth_vocab_word(v, 7) == NULL, "word beyond the end is NULL");
        CHECK(firth_vocab_word_count(v, 7) == 0, "count beyond the end is 0");
    }
    firth_vocab_free(v);
    tu_rmdir(dir);
}

static void test_min_count_max_vocab(void) {
    char *dir = tu_mkdtemp();
    firth_error err = {0};
    firth_text_params p = firth_text_default_params();
    firth_vocab *v = count_text(dir, small_text, &p, &err);
    if (v) {
        CHECK(firth_vocab_finalize(v, 2, 0, &err) == FIRTH_OK, "min_count 2: %s", err.message);
        const wc e[] = {{"</s>", 2}, {"the", 3}, {"sat", 2}};
        expect_vocab(v, e, N_OF(e), "min_count 2");
        CHECK(firth_vocab_train_words(v) == 5, "train_words %llu, expected 5",
              (unsigned long long)firth_vocab_train_words(v));
        CHECK(firth_vocab_find(v, "cat", 3) == -1, "a dropped word is not found");
    }
    firth_vocab_free(v);
    v = count_text(dir, small_text, &p, &err);
    if (v) {
        CHECK(firth_vocab_finalize(v, 1, 3, &err) == FIRTH_OK, "max_vocab 3: %s", err.message);
        const wc e[] = {{"</s>", 2}, {"the", 3}, {"sat", 2}, {"cat", 1}};
        expect_vocab(v, e, N_OF(e), "max_vocab 3 (plus </s>)");
    }
    firth_vocab_free(v);
    v = count_text(dir, small_text, &p, &err);
    if (v) {
        err = (firth_error){0};
        CHECK(firth_vocab_finalize(v, 4, 0, &err) == FIRTH_ERR_INPUT,
              "min_count above every count must fail with FIRTH_ERR_INPUT (%d)", err.status);
        CHECK(strstr(err.message, "3 times") != NULL, "message gives the top count: %s",
              err.message);
    }
    firth_vocab_free(v);
    v = count_text(dir, "\n\n  \n", &p, &err);
    if (v) {
        err = (firth_error){0};
        CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_ERR_INPUT,
              "a text without words must fail with FIRTH_ERR_INPUT (%d)", err.status);
    }
    firth_vocab_free(v);
    /* text parameters reach the counter */
    p.lowercase = p.strip_punct = 1;
    v = count_text(dir, "The THE the, \"the\" cat.", &p, &err);
    if (v) {
        firth_vocab_finalize(v, 1, 0, &err);
        const wc e[] = {{"</s>", 1}, {"the", 4}, {"cat", 1}};
        expect_vocab(v, e, N_OF(e), "lowercase + strip-punct counts");
    }
    firth_vocab_free(v);
    tu_rmdir(dir);
}

/* Sorting of a random vocabulary: count descending, ties in byte order (unsigned bytes, shorter
 * prefix first), independent of the order words were added. */
typedef struct item {
    char word[16];
    uint64_t count;
} item;

static int ref_cmp(const void *pa, const void *pb) {
    const item *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return strcmp(a->word, b->word); /* strcmp compares as unsigned char (C11 7.24.4) */
}

static void test_sort_order(void) {
    firth_rng rng;
    firth_rng_seed(&rng, 3);
    enum { N = 600 };
    item *items = calloc(N, sizeof *items);
    static const char *const parts[] = {"a", "b", "ab", "\xC3\xA9", "z", "\xE2\x82\xAC", "A", "0"};
    size_t n = 0;
    while (n < N) {
        item it = {{0}, 1 + firth_rng_below(&rng, 6)};
        int k = 1 + (int)firth_rng_below(&rng, 4);
        for (int j = 0; j < k; j++) strcat(it.word, parts[firth_rng_below(&rng, N_OF(parts))]);
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++) dup = strcmp(items[i].word, it.word) == 0;
        if (!dup) items[n++] = it;
        if (n >= 300 && firth_rng_below(&rng, 50) == 0) break; /* fewer distinct words exist */
    }
    firth_error err = {0};
    firth_vocab *v = firth_vocab_new(&err);
    /* add each word's count in two parts, in a shuffled order */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            size_t j = (i * 7919 + (size_t)pass * 13) % n;
            uint64_t c = pass == 0 ? items[j].count / 2 : items[j].count - items[j].count / 2;
            if (c)
                CHECK(firth_vocab_add(v, items[j].word, strlen(items[j].word), c, &err) == 0,
                      "add: %s", err.message);
        }
    firth_vocab_add(v, "</s>", 4, 17, &err);
    CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
    qsort(items, n, sizeof *items, ref_cmp);
    wc *e = malloc((n + 1) * sizeof *e);
    e[0] = (wc){"</s>", 17};
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        e[i + 1] = (wc){items[i].word, items[i].count};
        total += items[i].count;
    }
    expect_vocab(v, e, n + 1, "random vocabulary order");
    CHECK(firth_vocab_train_words(v) == total, "train_words %llu, expected %llu",
          (unsigned long long)firth_vocab_train_words(v), (unsigned long long)total);
    firth_vocab_free(v);
    free(e);
    free(items);
}

/* Enough distinct words to grow the hash table and the word arena several times: every count is
 * exact, every word is found, and the order is non-increasing in count with ties in byte order
 * (checked pairwise, independently of any sort). */
static void test_many_words(void) {
    enum { N = 150000 };
    firth_error err = {0};
    firth_vocab *v = firth_vocab_new(&err);
    char w[32];
    unsigned char *adds = calloc(N, 1); /* how often word k was added */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N; i++) {
            if (pass == 1 && i % 3) continue; /* every third word a second time */
            adds[(i * 7919) % N]++;
            snprintf(w, sizeof w, "word-%d-\xC3\xA9", (i * 7919) % N);
            CHECK(firth_vocab_add(v, w, strlen(w), (uint64_t)(1 + (i * 7919) % N % 5), &err) == 0,
                  "add: %s", err.message);
        }
    CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
    CHECK(firth_vocab_size(v) == N + 1, "size %zu, expected %d", firth_vocab_size(v), N + 1);
    int bad = 0;
    uint64_t total = 0;
    for (int k = 0; k < N; k++) {
        snprintf(w, sizeof w, "word-%d-\xC3\xA9", k);
        /* word k was added adds[k] times with count 1 + k % 5 */
        int64_t id = firth_vocab_find(v, w, strlen(w));
        uint64_t c = id > 0 ? firth_vocab_word_count(v, (size_t)id) : 0;
        if (c != (uint64_t)adds[k] * (uint64_t)(1 + k % 5)) bad++;
        total += c;
    }
    CHECK(bad == 0, "%d words have wrong counts or are missing", bad);
    CHECK(firth_vocab_train_words(v) == total, "train_words %llu, sum %llu",
          (unsigned long long)firth_vocab_train_words(v), (unsigned long long)total);
    int order = 0;
    for (size_t i = 2; i < firth_vocab_size(v); i++) {
        uint64_t a = firth_vocab_word_count(v, i - 1), b = firth_vocab_word_count(v, i);
        if (a < b || (a == b && strcmp(firth_vocab_word(v, i - 1), firth_vocab_word(v, i)) >= 0))
            order++;
    }
    CHECK(order == 0, "%d adjacent pairs out of order", order);
    free(adds);
    firth_vocab_free(v);
}

/* ---- pruning against a reference simulation ---- */

typedef struct ref_vocab {
    char (*w)[16];
    uint64_t *c;
    size_t n;
    uint64_t min_reduce, passes;
} ref_vocab;

static void ref_add(ref_vocab *r, const char *w, uint64_t c, size_t prune_at) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->w[i], w) == 0) {
            r->c[i] += c;
            return;
        }
    strcpy(r->w[r->n], w);
    r->c[r->n++] = c;
    if (r->n > prune_at) { /* ReduceVocab: "</s>" is never dropped */
        if (r->min_reduce == 0) r->min_reduce = 1;
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->c[i] > r->min_reduce || strcmp(r->w[i], "</s>") == 0) {
                memmove(r->w[k], r->w[i], sizeof r->w[i]);
                r->c[k++] = r->c[i];
            }
        r->n = k;
        r->min_reduce++;
        r->passes++;
    }
}

static void test_prune(void) {
    firth_rng rng;
    firth_rng_seed(&rng, 11);
    const size_t prune_at = 16;
    ref_vocab r = {malloc(4096 * 16), malloc(4096 * sizeof(uint64_t)), 0, 0, 0};
    firth_error err = {0};
    firth_vocab *v = firth_vocab_new(&err);
    firth_vocab_set_prune_at(v, prune_at);
    /* ten frequent words f0..f9 (about 2800 times each, one at a time) among 1500 rare ones
     * r0.. (once each, some twice), and "</s>" now and then */
    char w[16];
    uint64_t rare = 0, fcount[10] = {0};
    for (int step = 0; step < 30000; step++) {
        uint32_t x = firth_rng_below(&rng, 100);
        if (x < 92) {
            uint32_t f = firth_rng_below(&rng, 10);
            fcount[f]++;
            snprintf(w, sizeof w, "f%u", f);
        } else if (x < 95) {
            snprintf(w, sizeof w, "</s>");
        } else {
            uint64_t id = (x < 98 || rare == 0) ? rare++ : rare - 1; /* a few come twice */
            snprintf(w, sizeof w, "r%llu", (unsigned long long)id);
        }
        ref_add(&r, w, 1, prune_at);
        CHECK(firth_vocab_add(v, w, strlen(w), 1, &err) == FIRTH_OK, "add: %s", err.message);
    }
    CHECK(r.passes > 10, "the test should prune often (reference passes %llu)",
          (unsigned long long)r.passes);
    CHECK(firth_vocab_prune_passes(v) == r.passes, "prune passes %llu, reference %llu",
          (unsigned long long)firth_vocab_prune_passes(v), (unsigned long long)r.passes);
    CHECK(firth_vocab_prune_threshold(v) == r.min_reduce - 1, "threshold %llu, reference %llu",
          (unsigned long long)firth_vocab_prune_threshold(v),
          (unsigned long long)(r.min_reduce - 1));
    CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
    /* the surviving words and their counts equal the reference's */
    item *items = malloc(r.n * sizeof *items);
    size_t n = 0;
    uint64_t eos = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(r.w[i], "</s>") == 0) {
            eos = r.c[i];
            continue;
        }
        strcpy(items[n].word, r.w[i]);
        items[n++].count = r.c[i];
    }
    qsort(items, n, sizeof *items, ref_cmp);
    wc *e = malloc((n + 1) * sizeof *e);
    e[0] = (wc){"</s>", eos};
    for (size_t i = 0; i < n; i++) e[i + 1] = (wc){items[i].word, items[i].count};
    expect_vocab(v, e, n + 1, "pruned vocabulary");
    /* the frequent words were never dropped: their counts are exact */
    for (int f = 0; f < 10; f++) {
        snprintf(w, sizeof w, "f%d", f);
        CHECK(count_of(v, w) == fcount[f], "frequent word %s: count %llu, added %llu times", w,
              (unsigned long long)count_of(v, w), (unsigned long long)fcount[f]);
    }
    /* every rare word left was added after the last pass or often enough: the table holds at
     * most prune_at entries, "</s>" and the ten frequent words among them */
    CHECK(firth_vocab_size(v) <= prune_at, "%zu words survive, prune_at %zu", firth_vocab_size(v),
          prune_at);
    free(e);
    free(items);
    free(r.w);
    free(r.c);
    firth_vocab_free(v);
}

/* Pruning through firth_vocab_count on a corpus: frequent words keep exact counts; the rare ones
 * that survive were seen after the last pruning pass. */
static void test_prune_corpus(void) {
    char *dir = tu_mkdtemp();
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    enum { L = 307 }; /* lines: "freq0 .. freq4 rare<line>" */
    for (int line = 0; line < L; line++) {
        for (int f = 0; f < 5; f++) len += (size_t)sprintf(text + len, "freq%d ", f);
        len += (size_t)sprintf(text + len, "rare%d\n", line);
    }
    text[len] = '\0';
    firth_error err = {0};
    char *path = tu_path(dir, "c.txt");
    tu_write_str(path, text);
    const char *paths[] = {path};
    firth_corpus *c = firth_corpus_open(paths, 1, &err);
    firth_vocab *v = firth_vocab_new(&err);
    firth_vocab_set_prune_at(v, 20);
    firth_text_params p = firth_text_default_params();
    CHECK(c && firth_vocab_count(v, c, &p, &err) == FIRTH_OK, "count: %s", err.message);
    uint64_t passes = firth_vocab_prune_passes(v), thr = firth_vocab_prune_threshold(v);
    /* 5 frequent words and "</s>" stay; a pass runs when the 15th rare word since the last pass
     * makes 21 > 20 entries: after rare14, rare29, ..., rare299, so 20 passes, the last with
     * threshold 20, and rare300..rare306 remain */
    CHECK(passes == 20, "prune passes %llu, expected 20", (unsigned long long)passes);
    CHECK(thr == 20, "threshold %llu, expected 20", (unsigned long long)thr);
    CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
    for (int f = 0; f < 5; f++) {
        char w[16];
        snprintf(w, sizeof w, "freq%d", f);
        int64_t id = firth_vocab_find(v, w, strlen(w));
        CHECK(id > 0 && firth_vocab_word_count(v, (size_t)id) == L, "%s: count %llu, expected %d",
              w, id > 0 ? (unsigned long long)firth_vocab_word_count(v, (size_t)id) : 0ull, L);
    }
    CHECK(firth_vocab_word_count(v, 0) == L, "</s> count %llu, expected %d (never pruned)",
          (unsigned long long)firth_vocab_word_count(v, 0), L);
    CHECK(firth_vocab_size(v) == 6 + 7, "vocabulary size %zu, expected 13", firth_vocab_size(v));
    for (size_t i = 6; i < firth_vocab_size(v); i++) {
        const char *w = firth_vocab_word(v, i);
        CHECK(strncmp(w, "rare", 4) == 0 && atoi(w + 4) >= 300,
              "rare word '%s' should have been pruned", w);
    }
    firth_vocab_free(v);
    firth_corpus_free(c);
    free(path);
    free(text);
    tu_rmdir(dir);
}

/* Counting on several threads: a text of ~3.4 MiB (so that it splits into parts of over 1 MiB)
 * whose counts are known from writing it; every thread count must give exactly those counts. */
static void test_count_threads(void) {
    enum { W = 5000, LINES = 60000 };
    char *dir = tu_mkdtemp();
    size_t cap = 8u << 20, len = 0;
    char *text = malloc(cap);
    uint64_t *want = calloc(W, sizeof *want);
    firth_rng rng;
    firth_rng_seed(&rng, 7);
    for (int line = 0; line < LINES; line++) {
        int n = 1 + (int)firth_rng_below(&rng, 16);
        for (int i = 0; i < n; i++) {
            /* skewed: word k with probability ~ 1 / (k + 1) */
            uint32_t k = (uint32_t)(firth_rng_double(&rng) * firth_rng_double(&rng) * W);
            want[k]++;
            len += (size_t)sprintf(text + len, "%sw%u\xC3\xA9", i ? (k % 7 ? " " : "\t ") : "", k);
        }
        text[len++] = '\n';
    }
    text[len] = '\0';
    char *path = tu_path(dir, "c.txt");
    tu_write_str(path, text);
    const char *paths[] = {path};
    firth_error err = {0};
    firth_corpus *c = firth_corpus_open(paths, 1, &err);
    CHECK(c && len > (3u << 20), "corpus of %zu bytes: %s", len, err.message);
    firth_text_params p = firth_text_default_params();
    size_t distinct = 0;
    for (int k = 0; k < W; k++) distinct += want[k] > 0;
    for (int threads = 1; c && threads <= 4; threads++) {
        firth_vocab *v = firth_vocab_new(&err);
        CHECK(v && firth_vocab_count_threads(v, c, &p, threads, &err) == FIRTH_OK,
              "%d threads: count: %s", threads, err.message);
        CHECK(firth_vocab_prune_passes(v) == 0, "%d threads: pruned", threads);
        CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
        CHECK(firth_vocab_size(v) == distinct + 1, "%d threads: %zu words, expected %zu", threads,
              firth_vocab_size(v), distinct + 1);
        CHECK(firth_vocab_word_count(v, 0) == LINES, "%d threads: </s> %llu, expected %d",
              threads, (unsigned long long)firth_vocab_word_count(v, 0), LINES);
        int bad = 0;
        for (int k = 0; k < W; k++) {
            char w[32];
            snprintf(w, sizeof w, "w%d\xC3\xA9", k);
            if (count_of(v, w) != want[k]) bad++;
        }
        CHECK(bad == 0, "%d threads: %d words with a wrong count", threads, bad);
        firth_vocab_free(v);
    }
    /* pruning in every part: the frequent words keep their exact counts, and it is reported */
    firth_vocab *v = firth_vocab_new(&err);
    firth_vocab_set_prune_at(v, 3000);
    CHECK(c && v && firth_vocab_count_threads(v, c, &p, 3, &err) == FIRTH_OK, "pruned count: %s",
          err.message);
    CHECK(firth_vocab_prune_passes(v) >= 3, "prune passes %llu, expected one per part at least",
          (unsigned long long)firth_vocab_prune_passes(v));
    CHECK(firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
    for (int k = 0; k < 10; k++) {
        char w[32];
        snprintf(w, sizeof w, "w%d\xC3\xA9", k);
        CHECK(count_of(v, w) == want[k], "pruned: %s counted %llu, expected %llu", w,
              (unsigned long long)count_of(v, w), (unsigned long long)want[k]);
    }
    firth_vocab_free(v);
    /* a vocabulary that already holds words is refused */
    v = firth_vocab_new(&err);
    firth_vocab_add(v, "x", 1, 1, &err);
    CHECK(firth_vocab_count_threads(v, c, &p, 2, &err) == FIRTH_ERR_PARAM, "used vocabulary taken");
    firth_vocab_free(v);
    firth_corpus_free(c);
    free(path);
    free(want);
    free(text);
    tu_rmdir(dir);
}

static void test_save_load(void) {
    char *dir = tu_mkdtemp();
    firth_error err = {0};
    firth_text_params p = firth_text_default_params();
    firth_vocab *v = count_text(dir, "b a c a b a \xC3\xA9t\xC3\xA9 z\n", &p, &err);
    CHECK(v && firth_vocab_finalize(v, 1, 0, &err) == FIRTH_OK, "build: %s", err.message);
    char *path = tu_path(dir, "vocab.txt");
    CHECK(firth_vocab_save(v, path, &err) == FIRTH_OK, "save: %s", err.message);
    size_t n = 0;
    char *text = (char *)tu_read(path, &n);
    const char *expect = "</s> 1\na 3\nb 2\nc 1\nz 1\n\xC3\xA9t\xC3\xA9 1\n";
    CHECK(text && strcmp(text, expect) == 0, "saved file:\n%s\nexpected:\n%s", text ? text : "",
          expect);
    free(text);
    firth_vocab *w = firth_vocab_load(path, &err);
    CHECK(w != NULL, "load: %s", err.message);
    if (w) {
        CHECK(firth_vocab_finalize(w, 0, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
        CHECK(firth_vocab_size(w) == firth_vocab_size(v), "size %zu vs %zu", firth_vocab_size(w),
              firth_vocab_size(v));
        for (size_t i = 0; i < firth_vocab_size(v) && i < firth_vocab_size(w); i++) {
            CHECK(strcmp(firth_vocab_word(w, i), firth_vocab_word(v, i)) == 0,
                  "word %zu: '%s' vs '%s'", i, firth_vocab_word(w, i), firth_vocab_word(v, i));
            CHECK(firth_vocab_word_count(w, i) == firth_vocab_word_count(v, i), "count %zu", i);
        }
        CHECK(firth_vocab_train_words(w) == firth_vocab_train_words(v), "train_words");
    }
    firth_vocab_free(w);
    /* a hand-written file with blank lines, tabs and CRLF */
    tu_write_str(path, "x\t5\r\n\n  y 7\nz 0\n");
    w = firth_vocab_load(path, &err);
    CHECK(w != NULL, "load of a hand-written file: %s", err.message);
    if (w) {
        CHECK(firth_vocab_finalize(w, 0, 0, &err) == FIRTH_OK, "finalize: %s", err.message);
        const wc e[] = {{"</s>", 0}, {"y", 7}, {"x", 5}, {"z", 0}};
        expect_vocab(w, e, N_OF(e), "hand-written vocabulary");
    }
    firth_vocab_free(w);
    firth_vocab_free(v);
    free(path);
    tu_rmdir(dir);
}

static void test_load_malformed(void) {
    char *dir = tu_mkdtemp();
    char *path = tu_path(dir, "bad.txt");
    static const struct {
        const char *text;
        size_t len;
        const char *what;
    } bad[] = {
        {"a 3\nword\n", 0, "missing count"},
        {"a 3\nword -3\n", 0, "negative count"},
        {"a 1\nb 2\na 2\n", 0, "duplicate word"},
        {"a 1\nb\0c 2\n", 10, "NUL byte"},
        {"", 0, "empty file"},
        {"\n\n \n", 0, "only blank lines"},
        {"a 12x\n", 0, "junk after the count"},
        {"a 1 2\n", 0, "three fields"},
        {"a 99999999999999999999999\n", 0, "count overflows 64 bits"},
        {"\xFF\xFE 1\n", 0, "invalid UTF-8 word"},
    };
    for (size_t i = 0; i < N_OF(bad); i++) {
        tu_write(path, bad[i].text, bad[i].len ? bad[i].len : strlen(bad[i].text));
        firth_error err = {0};
        firth_vocab *v = firth_vocab_load(path, &err);
        CHECK(v == NULL && err.status == FIRTH_ERR_INPUT,
              "%s: load should fail with FIRTH_ERR_INPUT (got %p, status %d)", bad[i].what,
              (void *)v, err.status);
        CHECK(err.message[0] != '\0', "%s: a message is set", bad[i].what);
        firth_vocab_free(v);
    }
    firth_error err = {0};
    char *missing = tu_path(dir, "missing.txt");
    firth_vocab *v = firth_vocab_load(missing, &err);
    CHECK(v == NULL && err.status == FIRTH_ERR_INPUT, "missing file: status %d", err.status);
    firth_vocab_free(v);
    free(missing);
    free(path);
    tu_rmdir(dir);
}

static void test_from_list(void) {
    firth_error err = {0};
    const char *words[] = {"</s>", "x", "y", "x"};
    const uint64_t counts[] = {1, 5, 3, 2};
    firth_vocab *v = firth_vocab_from_list(words, counts, 3, &err);
    CHECK(v != NULL, "from_list: %s", err.message);
    if (v) {
        const wc e[] = {{"</s>", 1}, {"x", 5}, {"y", 3}};
        expect_vocab(v, e, N_OF(e), "from_list");
        CHECK(firth_vocab_train_words(v) == 8, "train_words %llu",
              (unsigned long long)firth_vocab_train_words(v));
    }
    firth_vocab_free(v);
    err = (firth_error){0};
    v = firth_vocab_from_list(words, counts, 4, &err);
    CHECK(v == NULL && err.status == FIRTH_ERR_INPUT, "duplicate in list: status %d", err.status);
    firth_vocab_free(v);
    err = (firth_error){0};
    v = firth_vocab_from_list(words + 1, counts + 1, 2, &err);
    CHECK(v == NULL && err.status == FIRTH_ERR_INPUT, "list without </s> first: status %d",
          err.status);
    firth_vocab_free(v);
}

const test_case tests_vocab[] = {
    {"vocab_count_known", test_count_known},
    {"vocab_min_count_max_vocab", test_min_count_max_vocab},
    {"vocab_sort_order", test_sort_order},
    {"vocab_many_words", test_many_words},
    {"vocab_prune", test_prune},
    {"vocab_prune_corpus", test_prune_corpus},
    {"vocab_count_threads", test_count_threads},
    {"vocab_save_load", test_save_load},
    {"vocab_load_malformed", test_load_malformed},
    {"vocab_from_list", test_from_list},
    TEST_END,
};
