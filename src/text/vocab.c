/* vocab.c - word counts in a growing hash table, pruning, sorting, id lookup, save and load. */
#include "text/vocab.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/status.h"
#include "dist/dist.h"
#include "text/utf8.h"

/* A slot of the counting table; len == 0 marks an empty slot (words are never empty). */
typedef struct entry {
    uint64_t count;
    uint64_t off; /* word bytes at arena + off, NUL-terminated */
    uint32_t hash;
    uint32_t len;
} entry;

struct firth_vocab {
    int finalized;
    /* counting phase */
    entry *table; /* cap slots, cap a power of two, at most half full */
    size_t cap, used;
    char *arena;
    size_t arena_len, arena_cap;
    uint64_t prune_at, min_reduce, prune_passes;
    /* finalized phase */
    size_t size;
    char *words;        /* NUL-terminated words in id order */
    size_t words_bytes;
    uint64_t *word_off; /* (size + 1) offsets into words */
    uint64_t *counts;   /* (size) */
    uint64_t *slots;    /* id table: slot_mask + 1 entries, each (hash32 << 32 | (id + 1)), 0 empty:
                         * a probe rejects most other words without touching their bytes */
    size_t slot_mask;
    uint64_t train_words;
};

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xD6E8FEB86659FD93ull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

firth_vocab *firth_vocab_new(firth_error *err) {
    firth_vocab *v = calloc(1, sizeof *v);
    if (v) {
        v->cap = 1 << 16;
        v->table = calloc(v->cap, sizeof *v->table);
        v->arena_cap = 1 << 20;
        v->arena = malloc(v->arena_cap);
        v->prune_at = 20000000;
    }
    if (!v || !v->table || !v->arena) {
        firth_vocab_free(v);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory creating a vocabulary");
        return NULL;
    }
    return v;
}

void firth_vocab_free(firth_vocab *v) {
    if (!v) return;
    free(v->table);
    free(v->arena);
    free(v->words);
    free(v->word_off);
    free(v->counts);
    free(v->slots);
    free(v);
}

void firth_vocab_set_prune_at(firth_vocab *v, uint64_t prune_at) {
    v->prune_at = prune_at < 16 ? 16 : prune_at;
}
uint64_t firth_vocab_prune_passes(const firth_vocab *v) { return v->prune_passes; }
uint64_t firth_vocab_prune_threshold(const firth_vocab *v) {
    return v->min_reduce > 0 ? v->min_reduce - 1 : 0;
}

/* Re-inserts every live entry of `old` into a fresh table of `cap` slots. */
static int rehash(firth_vocab *v, size_t cap) {
    entry *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < v->cap; i++) {
        if (v->table[i].len == 0) continue;
        size_t j = v->table[i].hash & (cap - 1);
        while (t[j].len) j = (j + 1) & (cap - 1);
        t[j] = v->table[i];
    }
    free(v->table);
    v->table = t;
    v->cap = cap;
    return 0;
}

static int is_eos(const char *w, size_t len) {
    return len == sizeof FIRTH_EOS_WORD - 1 && memcmp(w, FIRTH_EOS_WORD, len) == 0;
}

/* word2vec.c's ReduceVocab: drop words seen at most min_reduce times, then raise min_reduce. The
 * arena is compacted so memory really shrinks. */
static int reduce(firth_vocab *v) {
    if (v->min_reduce == 0) v->min_reduce = 1;
    char *arena = malloc(v->arena_cap);
    if (!arena) return -1;
    size_t len = 0, used = 0;
    for (size_t i = 0; i < v->cap; i++) {
        entry *e = &v->table[i];
        if (e->len == 0) continue;
        const char *w = v->arena + e->off;
        if (e->count <= v->min_reduce && !is_eos(w, e->len)) {
            e->len = 0;
            continue;
        }
        memcpy(arena + len, w, (size_t)e->len + 1);
        e->off = len;
        len += (size_t)e->len + 1;
        used++;
    }
    free(v->arena);
    v->arena = arena;
    v->arena_len = len;
    v->used = used;
    v->min_reduce++;
    v->prune_passes++;
    return rehash(v, v->cap); /* deletion holes break linear probing: rebuild */
}

/* Adds `count` to `word`; *is_new tells whether it was absent. */
static firth_status add(firth_vocab *v, const char *word, size_t len, uint64_t count,
                        int *is_new, firth_error *err) {
    if (v->finalized)
        return firth_fail(err, FIRTH_ERR_INTERNAL, "vocabulary is finalized; cannot add words");
    if (len == 0 || len > (1u << 20))
        return firth_fail(err, FIRTH_ERR_PARAM, "word length %zu out of range", len);
    uint64_t h = hash_bytes(word, len);
    uint32_t h32 = (uint32_t)h;
    size_t j = h & (v->cap - 1);
    for (;;) {
        entry *e = &v->table[j];
        if (e->len == 0) break;
        if (e->hash == h32 && e->len == len && memcmp(v->arena + e->off, word, len) == 0) {
            e->count = e->count + count < e->count ? UINT64_MAX : e->count + count;
            if (is_new) *is_new = 0;
            return FIRTH_OK;
        }
        j = (j + 1) & (v->cap - 1);
    }
    if (v->arena_len + len + 1 > v->arena_cap) {
        size_t cap = v->arena_cap * 2;
        while (cap < v->arena_len + len + 1) cap *= 2;
        char *a = realloc(v->arena, cap);
        if (!a) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory counting words");
        v->arena = a;
        v->arena_cap = cap;
    }
    memcpy(v->arena + v->arena_len, word, len);
    v->arena[v->arena_len + len] = '\0';
    entry *e = &v->table[j];
    e->count = count;
    e->off = v->arena_len;
    e->hash = h32;
    e->len = (uint32_t)len;
    v->arena_len += len + 1;
    v->used++;
    if (is_new) *is_new = 1;
    if (v->used * 2 > v->cap && rehash(v, v->cap * 2) != 0)
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory growing the vocabulary table");
    if (v->used > v->prune_at && reduce(v) != 0)
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory pruning the vocabulary");
    return FIRTH_OK;
}

firth_status firth_vocab_add(firth_vocab *v, const char *word, size_t len, uint64_t count,
                             firth_error *err) {
    return add(v, word, len, count, NULL, err);
}

/* Counts the tokens of the bytes [begin, end) of the corpus. */
static firth_status count_range(firth_vocab *v, const firth_corpus *corpus, uint64_t begin,
                                uint64_t end, const firth_text_params *params, firth_error *err) {
    firth_tokenizer *t = firth_tokenizer_new(corpus, begin, end, params, err);
    if (!t) return err ? err->status : FIRTH_ERR_NOMEM;
    firth_status st = FIRTH_OK;
    for (;;) {
        const char *w;
        size_t len;
        int kind = firth_tokenizer_next(t, &w, &len, err);
        if (kind < 0) {
            st = (firth_status)kind;
            break;
        }
        if (kind == FIRTH_TOKEN_END) break;
        if (kind == FIRTH_TOKEN_EOS) {
            w = FIRTH_EOS_WORD;
            len = sizeof FIRTH_EOS_WORD - 1;
        }
        if ((st = add(v, w, len, 1, NULL, err)) != FIRTH_OK) break;
    }
    firth_tokenizer_free(t);
    return st;
}

firth_status firth_vocab_count(firth_vocab *v, const firth_corpus *corpus,
                               const firth_text_params *params, firth_error *err) {
    return count_range(v, corpus, 0, firth_corpus_size(corpus), params, err);
}

/* ---- counting on several threads ---- */

/* One part of the corpus, counted into its own table by its own thread. */
typedef struct count_job {
    firth_vocab *v;
    const firth_corpus *corpus;
    const firth_text_params *params;
    uint64_t begin, end;
    firth_status st;
    firth_error err;
} count_job;

static void *count_job_main(void *arg) {
    count_job *j = arg;
    j->st = count_range(j->v, j->corpus, j->begin, j->end, j->params, &j->err);
    return NULL;
}

/* Parts of less than this many bytes are not worth a thread of their own. */
#define COUNT_PART_MIN (1u << 20)

firth_status firth_vocab_count_threads(firth_vocab *v, const firth_corpus *corpus,
                                       const firth_text_params *params, int threads,
                                       firth_error *err) {
    const uint64_t size = firth_corpus_size(corpus);
    uint64_t parts = threads < 1 ? 1 : (uint64_t)threads;
    if (parts > size / COUNT_PART_MIN) parts = size / COUNT_PART_MIN;
    if (parts <= 1) return firth_vocab_count(v, corpus, params, err);
    if (v->finalized || v->used)
        return firth_fail(err, FIRTH_ERR_PARAM, "counting on several threads needs a new vocabulary");
    /* part 0 is counted into v by this thread, parts 1.. into tables of their own */
    count_job *jobs = calloc(parts, sizeof *jobs);
    pthread_t *tids = calloc(parts, sizeof *tids);
    int *started = calloc(parts, sizeof *started);
    firth_status st = jobs && tids && started ? FIRTH_OK
                      : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory counting words");
    for (uint64_t i = 0; i < parts && st == FIRTH_OK; i++) {
        count_job *j = &jobs[i];
        j->v = i ? firth_vocab_new(err) : v;
        if (!j->v) {
            st = err ? err->status : FIRTH_ERR_NOMEM;
            break;
        }
        j->v->prune_at = v->prune_at;
        j->corpus = corpus;
        j->params = params;
        firth_corpus_part(corpus, i, parts, &j->begin, &j->end);
    }
    for (uint64_t i = 1; i < parts && st == FIRTH_OK; i++)
        started[i] = pthread_create(&tids[i], NULL, count_job_main, &jobs[i]) == 0;
    if (st == FIRTH_OK) count_job_main(&jobs[0]);
    for (uint64_t i = 1; i < parts && st == FIRTH_OK; i++) {
        if (started[i])
            pthread_join(tids[i], NULL);
        else /* its thread could not be started: counted here */
            count_job_main(&jobs[i]);
    }
    /* the first error in corpus order, then the parts' counts summed into v */
    for (uint64_t i = 0; i < parts && st == FIRTH_OK; i++)
        if (jobs[i].st != FIRTH_OK) {
            st = jobs[i].st;
            if (err) *err = jobs[i].err;
        }
    uint64_t passes = 0, min_reduce = v->min_reduce;
    for (uint64_t i = 1; i < parts && st == FIRTH_OK; i++) {
        firth_vocab *part = jobs[i].v;
        passes += part->prune_passes;
        if (part->min_reduce > min_reduce) min_reduce = part->min_reduce;
        for (size_t k = 0; k < part->cap && st == FIRTH_OK; k++) {
            const entry *e = &part->table[k];
            if (e->len) st = add(v, part->arena + e->off, e->len, e->count, NULL, err);
        }
    }
    if (st == FIRTH_OK) { /* pruning anywhere: as often as the parts did, from the highest bar */
        v->prune_passes += passes;
        if (min_reduce > v->min_reduce) v->min_reduce = min_reduce;
    }
    for (uint64_t i = 1; jobs && i < parts; i++) firth_vocab_free(jobs[i].v);
    free(jobs), free(tids), free(started);
    return st;
}

/* ---- counting on many ranks (collective; dist/dist.h) ---- */

/* Appends the live entries of the counting table to per-owner buffers: each entry is
 * [u64 count][u32 len][len bytes], owner = hash % ranks (any function of the word that every
 * rank computes alike). Sizes into bytes[ranks]; returns the buffer (owner 0's first), or NULL
 * when out of memory (or when the table is empty, with all sizes 0). */
static char *pack_entries(const firth_vocab *v, int ranks, uint64_t *bytes) {
    size_t total = 0;
    memset(bytes, 0, (size_t)ranks * sizeof *bytes);
    for (size_t i = 0; i < v->cap; i++) {
        const entry *e = &v->table[i];
        if (!e->len) continue;
        bytes[e->hash % (uint32_t)ranks] += 12 + (uint64_t)e->len;
        total += 12 + (size_t)e->len;
    }
    if (!total) return NULL;
    char *buf = malloc(total);
    size_t *at = malloc((size_t)ranks * sizeof *at);
    if (!buf || !at) {
        free(buf), free(at);
        return NULL;
    }
    size_t off = 0;
    for (int r = 0; r < ranks; r++) at[r] = off, off += (size_t)bytes[r];
    for (size_t i = 0; i < v->cap; i++) {
        const entry *e = &v->table[i];
        if (!e->len) continue;
        char *p = buf + at[e->hash % (uint32_t)ranks];
        memcpy(p, &e->count, 8);
        memcpy(p + 8, &e->len, 4);
        memcpy(p + 12, v->arena + e->off, e->len);
        at[e->hash % (uint32_t)ranks] += 12 + (size_t)e->len;
    }
    free(at);
    return buf;
}

/* Adds every entry of a packed buffer (counts summed). */
static firth_status add_packed(firth_vocab *v, const char *buf, uint64_t bytes, firth_error *err) {
    uint64_t at = 0;
    while (at < bytes) {
        uint64_t count;
        uint32_t len;
        if (bytes - at < 12) return firth_fail(err, FIRTH_ERR_INTERNAL, "torn word list");
        memcpy(&count, buf + at, 8);
        memcpy(&len, buf + at + 8, 4);
        if (bytes - at - 12 < len) return firth_fail(err, FIRTH_ERR_INTERNAL, "torn word list");
        firth_status st = add(v, buf + at + 12, len, count, NULL, err);
        if (st != FIRTH_OK) return st;
        at += 12 + (uint64_t)len;
    }
    return FIRTH_OK;
}

firth_status firth_vocab_count_dist(firth_vocab *v, const firth_corpus *corpus,
                                    const firth_text_params *params, const firth_dist *d,
                                    firth_error *err) {
    int ranks = firth_dist_size(d), rank = firth_dist_rank(d);
    if (ranks <= 1) return firth_vocab_count(v, corpus, params, err);
    /* the same corpus everywhere */
    uint64_t fp = 0;
    firth_status st = firth_corpus_fingerprint(corpus, &fp, err);
    if (st == FIRTH_OK && (v->finalized || v->used))
        st = firth_fail(err, FIRTH_ERR_PARAM, "counting on many ranks needs a new vocabulary");
    if ((st = firth_dist_agree(d, st, err)) != FIRTH_OK) return st;
    if ((st = dist_check_same(d, firth_corpus_size(corpus), "the corpus size", err)) !=
            FIRTH_OK ||
        (st = dist_check_same(d, fp, "the corpus (its fingerprint)", err)) != FIRTH_OK)
        return st;
    /* each rank counts its part */
    uint64_t begin, end;
    firth_corpus_part(corpus, (uint64_t)rank, (uint64_t)ranks, &begin, &end);
    st = count_range(v, corpus, begin, end, params, err);
    if ((st = firth_dist_agree(d, st, err)) != FIRTH_OK) return st;
    /* each word's counts go to its owner, which sums them */
    uint64_t *sizes = malloc((size_t)ranks * sizeof *sizes);
    char *packed = sizes ? pack_entries(v, ranks, sizes) : NULL;
    firth_vocab *own = firth_vocab_new(err);
    st = sizes && own && (packed || v->used == 0)
             ? FIRTH_OK
             : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory merging word counts");
    void *got = NULL, *all = NULL;
    uint64_t got_bytes = 0, all_bytes = 0;
    if ((st = firth_dist_agree(d, st, err)) == FIRTH_OK)
        st = dist_alltoallv(d, packed, sizes, &got, &got_bytes, err);
    free(packed);
    packed = NULL;
    if (st == FIRTH_OK) {
        firth_vocab_set_prune_at(own, UINT64_MAX);
        st = add_packed(own, got, got_bytes, err);
        if (st == FIRTH_OK && !(packed = pack_entries(own, 1, sizes)) && own->used)
            st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory merging word counts");
        st = firth_dist_agree(d, st, err);
    }
    free(got);
    /* every rank receives every sum */
    if (st == FIRTH_OK) st = dist_allgatherv(d, packed, sizes[0], &all, &all_bytes, err);
    free(packed);
    firth_vocab_free(own);
    /* pruning so far: how often any rank pruned, and the highest threshold anywhere (which the
     * merged table starts from, so that every rank prunes it alike if it must) */
    uint64_t local_passes = v->prune_passes, stats[2] = {v->prune_passes, v->min_reduce};
    if (st == FIRTH_OK && (st = dist_allreduce_u64(d, &stats[0], 1, DIST_SUM, err)) == FIRTH_OK)
        st = dist_allreduce_u64(d, &stats[1], 1, DIST_MAX, err);
    if (st == FIRTH_OK) { /* start the table afresh and fill it with the sums */
        v->min_reduce = stats[1];
        entry *table = calloc(1 << 16, sizeof *table);
        if (table) {
            free(v->table);
            v->table = table;
            v->cap = 1 << 16;
            v->used = 0;
            v->arena_len = 0;
            st = add_packed(v, all, all_bytes, err);
        } else {
            st = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory merging word counts");
        }
        st = firth_dist_agree(d, st, err);
        v->prune_passes = stats[0] + (v->prune_passes - local_passes); /* + the merge's own */
    }
    free(all);
    free(sizes);
    return st;
}

firth_status firth_vocab_check_dist(const firth_vocab *v, const firth_dist *d, uint64_t *hash,
                                    firth_error *err) {
    if (!v->finalized)
        return firth_fail(err, FIRTH_ERR_INTERNAL, "only a finalized vocabulary can be checked");
    uint64_t h = dist_hash(DIST_HASH_INIT, v->words, v->words_bytes);
    h = dist_hash(h, v->counts, v->size * sizeof *v->counts);
    h = dist_hash(h, &v->size, sizeof v->size);
    if (hash) *hash = h;
    return dist_check_same(d, h, "the vocabulary", err);
}

/* ---------------------------------------------------------------------------------------- */

typedef struct sort_item {
    uint64_t count;
    const char *word;
    uint32_t len;
} sort_item;

static int by_count_then_bytes(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->word, b->word, n);
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Fills the finalized arrays from `items` (items[0] is "</s>"); frees the counting table. */
static firth_status build_ids(firth_vocab *v, const sort_item *items, size_t n, firth_error *err) {
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += (size_t)items[i].len + 1;
    size_t slots = 16;
    while (slots < 2 * n) slots *= 2;
    v->words = malloc(bytes);
    v->word_off = malloc((n + 1) * sizeof *v->word_off);
    v->counts = malloc(n * sizeof *v->counts);
    v->slots = calloc(slots, sizeof *v->slots);
    if (!v->words || !v->word_off || !v->counts || !v->slots)
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory building the vocabulary");
    v->slot_mask = slots - 1;
    size_t off = 0;
    v->train_words = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(v->words + off, items[i].word, items[i].len);
        v->words[off + items[i].len] = '\0';
        v->word_off[i] = off;
        v->counts[i] = items[i].count;
        if (i > 0) v->train_words += items[i].count;
        uint64_t h = hash_bytes(items[i].word, items[i].len);
        size_t j = h & v->slot_mask;
        while (v->slots[j]) {
            uint64_t e = v->slots[j];
            size_t o = (size_t)(uint32_t)e - 1;
            /* o < i, so word_off[o + 1] is already set */
            if ((uint32_t)(e >> 32) == (uint32_t)h &&
                v->word_off[o + 1] - v->word_off[o] == (uint64_t)items[i].len + 1 &&
                memcmp(v->words + v->word_off[o], items[i].word, items[i].len) == 0)
                return firth_fail(err, FIRTH_ERR_INPUT, "word '%s' occurs twice in a vocabulary",
                                  v->words + off);
            j = (j + 1) & v->slot_mask;
        }
        v->slots[j] = (uint64_t)(uint32_t)h << 32 | (uint64_t)(i + 1);
        off += (size_t)items[i].len + 1;
    }
    v->word_off[n] = off;
    v->words_bytes = off;
    v->size = n;
    v->finalized = 1;
    free(v->table);
    v->table = NULL;
    v->cap = v->used = 0;
    return FIRTH_OK;
}

firth_status firth_vocab_finalize(firth_vocab *v, uint64_t min_count, uint64_t max_vocab,
                                  firth_error *err) {
    if (v->finalized) return FIRTH_OK;
    sort_item *items = malloc((v->used + 1) * sizeof *items);
    if (!items) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory sorting the vocabulary");
    size_t n = 1, distinct = 0;
    uint64_t top = 0, eos_count = 0;
    for (size_t i = 0; i < v->cap; i++) {
        const entry *e = &v->table[i];
        if (e->len == 0) continue;
        const char *w = v->arena + e->off;
        if (is_eos(w, e->len)) {
            eos_count = e->count;
            continue;
        }
        distinct++;
        if (e->count > top) top = e->count;
        if (e->count < min_count) continue;
        items[n].count = e->count;
        items[n].word = w;
        items[n].len = e->len;
        n++;
    }
    if (distinct == 0) {
        free(items);
        return firth_fail(err, FIRTH_ERR_INPUT, "the input has no words");
    }
    if (n == 1) {
        free(items);
        return firth_fail(err, FIRTH_ERR_INPUT,
                          "no word occurs at least %llu times (--min-count); the input has %zu "
                          "distinct words, the most frequent %llu times",
                          (unsigned long long)min_count, distinct, (unsigned long long)top);
    }
    if (n - 1 > (size_t)INT32_MAX - 1) {
        free(items);
        return firth_fail(err, FIRTH_ERR_PARAM, "vocabulary of %zu words is too large; use "
                          "--min-count or --max-vocab", n - 1);
    }
    qsort(items + 1, n - 1, sizeof *items, by_count_then_bytes);
    if (max_vocab > 0 && n - 1 > max_vocab) n = (size_t)max_vocab + 1;
    items[0].count = eos_count;
    items[0].word = FIRTH_EOS_WORD;
    items[0].len = sizeof FIRTH_EOS_WORD - 1;
    firth_status st = build_ids(v, items, n, err);
    free(items);
    if (st == FIRTH_OK) {
        free(v->arena);
        v->arena = NULL;
    }
    return st;
}

firth_vocab *firth_vocab_from_list(const char *const *words, const uint64_t *counts, size_t n,
                                   firth_error *err) {
    if (n < 2 || strcmp(words[0], FIRTH_EOS_WORD) != 0 || n > (size_t)INT32_MAX) {
        firth_fail(err, FIRTH_ERR_INPUT, "vocabulary must start with %s and hold 2..2^31 words",
                   FIRTH_EOS_WORD);
        return NULL;
    }
    firth_vocab *v = firth_vocab_new(err);
    if (!v) return NULL;
    sort_item *items = malloc(n * sizeof *items);
    if (!items) {
        firth_vocab_free(v);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory loading a vocabulary");
        return NULL;
    }
    firth_status st = FIRTH_OK;
    for (size_t i = 0; i < n && st == FIRTH_OK; i++) {
        size_t len = strlen(words[i]);
        if (len == 0 || len > UINT32_MAX)
            st = firth_fail(err, FIRTH_ERR_INPUT, "empty word at position %zu", i);
        items[i].word = words[i];
        items[i].len = (uint32_t)len;
        items[i].count = counts[i];
    }
    if (st == FIRTH_OK) st = build_ids(v, items, n, err);
    free(items);
    if (st != FIRTH_OK) {
        firth_vocab_free(v);
        return NULL;
    }
    free(v->arena);
    v->arena = NULL;
    return v;
}

size_t firth_vocab_size(const firth_vocab *v) { return v->size; }
const char *firth_vocab_word(const firth_vocab *v, size_t id) {
    return id < v->size ? v->words + v->word_off[id] : NULL;
}
uint64_t firth_vocab_word_count(const firth_vocab *v, size_t id) {
    return id < v->size ? v->counts[id] : 0;
}
uint64_t firth_vocab_train_words(const firth_vocab *v) { return v->train_words; }

const char *firth_vocab_word_block(const firth_vocab *v, size_t *bytes) {
    *bytes = v->words_bytes;
    return v->words;
}

int64_t firth_vocab_find(const firth_vocab *v, const char *word, size_t len) {
    if (!v->finalized) return -1;
    uint64_t h = hash_bytes(word, len);
    size_t j = h & v->slot_mask;
    for (;;) {
        uint64_t e = v->slots[j];
        if (!e) return -1;
        if ((uint32_t)(e >> 32) == (uint32_t)h) {
            size_t id = (size_t)(uint32_t)e - 1;
            if (v->word_off[id + 1] - v->word_off[id] == len + 1 &&
                memcmp(v->words + v->word_off[id], word, len) == 0)
                return (int64_t)id;
        }
        j = (j + 1) & v->slot_mask;
    }
}

/* ---------------------------------------------------------------------------------------- */

double firth_vocab_keep_probability(uint64_t count, uint64_t train_words, double sample) {
    if (sample <= 0.0 || count == 0) return 1.0;
    double t = sample * (double)train_words, c = (double)count;
    double p = (sqrt(c / t) + 1.0) * t / c;
    return p < 1.0 ? p : 1.0;
}

uint32_t *firth_vocab_keep_table(const firth_vocab *v, double sample) {
    uint32_t *keep = malloc(v->size * sizeof *keep);
    if (!keep) return NULL;
    keep[0] = UINT32_MAX;
    for (size_t i = 1; i < v->size; i++) {
        double p = firth_vocab_keep_probability(v->counts[i], v->train_words, sample);
        keep[i] = p >= 1.0 ? UINT32_MAX : (uint32_t)(p * 4294967296.0);
    }
    return keep;
}

firth_status firth_vocab_noise(const firth_vocab *v, double power, firth_alias *out,
                               firth_error *err) {
    double *w = malloc(v->size * sizeof *w);
    if (!w) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory building the noise table");
    w[0] = 0.0;
    int any = 0;
    for (size_t i = 1; i < v->size; i++) {
        w[i] = pow((double)v->counts[i], power);
        any |= w[i] > 0.0;
    }
    if (!any) /* counts of 0 (e.g. a vocabulary file of zeros): fall back to uniform */
        for (size_t i = 1; i < v->size; i++) w[i] = 1.0;
    firth_status st = firth_alias_build(out, w, v->size, err);
    free(w);
    return st;
}

/* ---------------------------------------------------------------------------------------- */

firth_status firth_vocab_save(const firth_vocab *v, const char *path, firth_error *err) {
    if (!v->finalized)
        return firth_fail(err, FIRTH_ERR_INTERNAL, "only a finalized vocabulary can be saved");
    firth_atomic_file *f = firth_atomic_open(path, err);
    if (!f) return err ? err->status : FIRTH_ERR_OUTPUT;
    FILE *fp = firth_atomic_stream(f);
    for (size_t i = 0; i < v->size; i++)
        fprintf(fp, "%s %llu\n", v->words + v->word_off[i], (unsigned long long)v->counts[i]);
    return firth_atomic_commit(f, err);
}

/* Reads one line of at most `cap` - 1 bytes into buf; returns its length, -1 at EOF, -2 when too
 * long (the rest of the line is consumed). */
static long read_line(FILE *fp, char *buf, size_t cap) {
    size_t n = 0;
    int c;
    while ((c = getc(fp)) != EOF && c != '\n') {
        if (n + 1 >= cap) {
            while ((c = getc(fp)) != EOF && c != '\n') {}
            return -2;
        }
        buf[n++] = (char)c;
    }
    if (c == EOF && n == 0) return -1;
    buf[n] = '\0';
    return (long)n;
}

firth_vocab *firth_vocab_load(const char *path, firth_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open vocabulary '%s'", path);
        return NULL;
    }
    firth_vocab *v = firth_vocab_new(err);
    char *line = malloc(4096);
    if (!v || !line) {
        if (v && !line) firth_fail(err, FIRTH_ERR_NOMEM, "out of memory reading '%s'", path);
        goto fail;
    }
    firth_vocab_set_prune_at(v, UINT64_MAX);
    unsigned long long lineno = 0;
    size_t words = 0;
    for (;;) {
        long n = read_line(fp, line, 4096);
        lineno++;
        if (n == -1) break;
        if (n == -2) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' line %llu: line too long for a vocabulary",
                       path, lineno);
            goto fail;
        }
        if (memchr(line, '\0', (size_t)n)) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' line %llu: NUL byte (binary file?)", path,
                       lineno);
            goto fail;
        }
        char *save = NULL, *word = strtok_r(line, " \t\r", &save);
        if (!word) continue; /* blank line */
        char *num = strtok_r(NULL, " \t\r", &save);
        char *extra = strtok_r(NULL, " \t\r", &save);
        char *end = NULL;
        errno = 0;
        unsigned long long count = num ? strtoull(num, &end, 10) : 0;
        if (!num || extra || *end || errno || num[0] == '-') {
            firth_fail(err, FIRTH_ERR_INPUT,
                       "'%s' line %llu: expected 'word count' with a count >= 0", path, lineno);
            goto fail;
        }
        if (!firth_utf8_valid((const unsigned char *)word, strlen(word))) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' line %llu: word is not valid UTF-8", path,
                       lineno);
            goto fail;
        }
        int is_new = 0;
        if (add(v, word, strlen(word), count, &is_new, err) != FIRTH_OK) goto fail;
        if (!is_new) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' line %llu: word '%s' appears twice", path,
                       lineno, word);
            goto fail;
        }
        words++;
    }
    if (ferror(fp)) {
        firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot read '%s'", path);
        goto fail;
    }
    if (words == 0) {
        firth_fail(err, FIRTH_ERR_INPUT, "vocabulary file '%s' is empty", path);
        goto fail;
    }
    free(line);
    fclose(fp);
    return v;
fail:
    free(line);
    fclose(fp);
    firth_vocab_free(v);
    return NULL;
}
