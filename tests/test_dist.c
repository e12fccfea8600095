/* test_dist.c - distributed training's parts: corpus parts, the group's collective operations,
 * the merged vocabulary and one round of the model's synchronisation.
 *
 * Run alone (make test) the group is this process only; run under mpirun, as tests/mpi_test.sh
 * does (`mpirun -np 3 build/firth_tests dist_`), every rank checks the collective results
 * against values computed here in closed form from the ranks' known inputs, the merged
 * vocabulary against a sequential firth_vocab_count of the whole corpus, and the synchronised
 * model against the formulas of each reduction. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "dist/dist.h"
#include "embed/w2v_dist.h"
#include "embed/w2v_model.h"
#include "firth.h"
#include "test_util.h"
#include "text/vocab.h"

/* A text of `lines` lines of random words drawn from a skewed pool (so counts differ), with
 * multi-byte UTF-8 words and blank lines in it, to cut at arbitrary bytes. */
static char *skewed_text(size_t lines, uint64_t seed, size_t *len) {
    static const char *const extra[] = {"caf\xc3\xa9", "\xce\xbb\xcf\x8c\xce\xb3\xce\xbf\xcf\x82",
                                        "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac"};
    firth_rng rng;
    firth_rng_seed(&rng, seed);
    size_t cap = lines * 12 * 16 + 64, n = 0;
    char *t = malloc(cap);
    for (size_t l = 0; l < lines; l++) {
        int words = (int)firth_rng_below(&rng, 12);
        for (int w = 0; w < words; w++) {
            uint32_t r = firth_rng_below(&rng, 1000);
            uint32_t id = r * r / 1000; /* skewed towards small ids */
            if (id % 97 == 5)
                n += (size_t)sprintf(t + n, "%s%s", w ? " " : "", extra[id % 4]);
            else
                n += (size_t)sprintf(t + n, "%sw%u", w ? " " : "", id);
        }
        t[n++] = '\n';
    }
    *len = n;
    return t;
}

/* All tokens of [begin, end) appended to out as "word\n" or "|\n" for a line end. */
static size_t tokens_of(const firth_corpus *c, uint64_t begin, uint64_t end, char *out) {
    firth_text_params tp = firth_text_default_params();
    firth_error err = {0};
    firth_tokenizer *tok = firth_tokenizer_new(c, begin, end, &tp, &err);
    size_t n = 0;
    for (;;) {
        const char *w;
        size_t len;
        int kind = firth_tokenizer_next(tok, &w, &len, &err);
        if (kind <= 0) break;
        if (kind == FIRTH_TOKEN_WORD) {
            memcpy(out + n, w, len);
            n += len;
        } else {
            out[n++] = '|';
        }
        out[n++] = '\n';
    }
    firth_tokenizer_free(tok);
    return n;
}

static void test_dist_corpus_parts(void) {
    char *dir = tu_mkdtemp();
    size_t len;
    char *text = skewed_text(2000, 3, &len);
    char *path = tu_path(dir, "c.txt");
    tu_write(path, text, len);
    firth_error err = {0};
    const char *paths[] = {path, path}; /* two files: a virtual line end between them */
    firth_corpus *c = firth_corpus_open(paths, 2, &err);
    CHECK(c != NULL, "%s", err.message);
    uint64_t size = firth_corpus_size(c);
    char *whole = malloc(4 * size + 16), *parts = malloc(4 * size + 16);
    size_t nw = tokens_of(c, 0, size, whole);
    for (uint64_t P = 1; P <= 9; P++) {
        size_t np = 0;
        uint64_t prev_end = 0;
        for (uint64_t p = 0; p < P; p++) {
            uint64_t b, e;
            firth_corpus_part(c, p, P, &b, &e);
            CHECK(b == prev_end && b <= e, "part %llu of %llu: [%llu, %llu) after %llu",
                  (unsigned long long)p, (unsigned long long)P, (unsigned long long)b,
                  (unsigned long long)e, (unsigned long long)prev_end);
            prev_end = e;
            np += tokens_of(c, b, e, parts + np);
        }
        CHECK(prev_end == size, "%llu parts end at %llu of %llu", (unsigned long long)P,
              (unsigned long long)prev_end, (unsigned long long)size);
        CHECK(np == nw && memcmp(parts, whole, nw) == 0,
              "%llu parts: %zu token bytes, whole: %zu", (unsigned long long)P, np, nw);
    }
    free(whole), free(parts), free(text), free(path);
    firth_corpus_free(c);
    tu_rmdir(dir);
}

/* ---- the group ---- */

static void check_collectives(const firth_dist *d) {
    const int R = firth_dist_size(d), me = firth_dist_rank(d);
    firth_error err = {0};
    uint64_t u[4] = {(uint64_t)me + 1, (uint64_t)me + 1, (uint64_t)me + 1, 1ull << (me % 64)};
    CHECK(dist_allreduce_u64(d, &u[0], 1, DIST_SUM, &err) == FIRTH_OK, "%s", err.message);
    CHECK(dist_allreduce_u64(d, &u[1], 1, DIST_MIN, &err) == FIRTH_OK, "%s", err.message);
    CHECK(dist_allreduce_u64(d, &u[2], 1, DIST_MAX, &err) == FIRTH_OK, "%s", err.message);
    CHECK(dist_allreduce_u64(d, &u[3], 1, DIST_BOR, &err) == FIRTH_OK, "%s", err.message);
    CHECK(u[0] == (uint64_t)R * (R + 1) / 2, "sum %llu", (unsigned long long)u[0]);
    CHECK(u[1] == 1 && u[2] == (uint64_t)R, "min %llu max %llu", (unsigned long long)u[1],
          (unsigned long long)u[2]);
    CHECK(u[3] == (R >= 64 ? ~0ull : (1ull << R) - 1), "or %llx", (unsigned long long)u[3]);
    /* floats: more than one 16 MiB piece */
    size_t n = 5u << 20;
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)me + (float)(i % 7);
    CHECK(dist_allreduce_f32(d, f, n, DIST_SUM, &err) == FIRTH_OK, "%s", err.message);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += f[i] != (float)R * (float)(i % 7) + (float)(R * (R - 1) / 2);
    CHECK(bad == 0, "%zu of %zu summed floats wrong", bad, n);
    free(f);
    double x = 0.25 * me;
    CHECK(dist_allreduce_f64(d, &x, 1, DIST_MAX, &err) == FIRTH_OK && x == 0.25 * (R - 1),
          "max %g", x);
    uint32_t c32 = 2;
    CHECK(dist_allreduce_u32(d, &c32, 1, DIST_SUM, &err) == FIRTH_OK && c32 == 2u * (uint32_t)R,
          "u32 sum %u", c32);
    /* broadcast from the last rank */
    char msg[32];
    snprintf(msg, sizeof msg, "from rank %d", me);
    CHECK(dist_bcast(d, msg, sizeof msg, R - 1, &err) == FIRTH_OK, "%s", err.message);
    char want[32];
    snprintf(want, sizeof want, "from rank %d", R - 1);
    CHECK(strcmp(msg, want) == 0, "broadcast gave '%s'", msg);
    /* all-to-all: rank r sends rank q the r + q + 1 bytes 'a' + r */
    uint64_t *sb = malloc((size_t)R * sizeof *sb);
    size_t total = 0;
    for (int q = 0; q < R; q++) sb[q] = (uint64_t)(me + q + 1), total += sb[q];
    char *send = malloc(total), *p = send;
    for (int q = 0; q < R; q++) memset(p, 'a' + me % 26, sb[q]), p += sb[q];
    void *recv = NULL;
    uint64_t got = 0;
    CHECK(dist_alltoallv(d, send, sb, &recv, &got, &err) == FIRTH_OK, "%s", err.message);
    uint64_t expect = 0;
    for (int r = 0; r < R; r++) expect += (uint64_t)(r + me + 1);
    CHECK(got == expect, "all-to-all: %llu bytes, expected %llu", (unsigned long long)got,
          (unsigned long long)expect);
    if (got == expect) {
        const char *q = recv;
        for (int r = 0; r < R; r++)
            for (int i = 0; i < r + me + 1; i++, q++)
                if (*q != 'a' + r % 26) {
                    CHECK(0, "all-to-all: byte %d from rank %d is '%c'", i, r, *q);
                    r = R;
                    break;
                }
    }
    free(recv), free(send), free(sb);
    /* all-gather: rank r gives r + 1 bytes of value r */
    unsigned char mine[64];
    memset(mine, me % 256, (size_t)me % 64 + 1);
    CHECK(dist_allgatherv(d, mine, (uint64_t)me % 64 + 1, &recv, &got, &err) == FIRTH_OK, "%s",
          err.message);
    expect = 0;
    for (int r = 0; r < R; r++) expect += (uint64_t)r % 64 + 1;
    CHECK(got == expect, "all-gather: %llu bytes", (unsigned long long)got);
    if (got == expect) {
        const unsigned char *q = recv;
        int ok = 1;
        for (int r = 0; r < R; r++)
            for (int i = 0; i < r % 64 + 1; i++) ok &= *q++ == (unsigned char)(r % 256);
        CHECK(ok, "all-gather content");
    }
    free(recv);
    /* agreeing on a failure of rank 1 (or of rank 0 alone) */
    int failing = R > 1 ? 1 : 0;
    firth_status st = me == failing ? FIRTH_ERR_INPUT : FIRTH_OK;
    if (st != FIRTH_OK) snprintf(err.message, sizeof err.message, "boom");
    st = firth_dist_agree(d, st, &err);
    CHECK(st == FIRTH_ERR_INPUT, "agreed status %d", (int)st);
    CHECK(strcmp(err.message, R > 1 ? "rank 1: boom" : "boom") == 0, "message '%s'", err.message);
    CHECK(firth_dist_agree(d, FIRTH_OK, &err) == FIRTH_OK, "all ok");
    /* the same value everywhere, or not */
    CHECK(dist_check_same(d, 42, "x", &err) == FIRTH_OK, "%s", err.message);
    st = dist_check_same(d, (uint64_t)me, "the rank", &err);
    CHECK(R == 1 ? st == FIRTH_OK : st == FIRTH_ERR_INPUT && strstr(err.message, "rank 1"),
          "check of differing values: %d '%s'", (int)st, err.message);
}

/* The vocabulary counted on the ranks and merged equals the count of the whole corpus by one
 * process (words, order and counts). */
static void check_vocab_merge(const firth_dist *d, const char *dir) {
    size_t len;
    char *text = skewed_text(3000, 11, &len);
    char *path = tu_path(dir, "v.txt");
    if (firth_dist_rank(d) == 0) tu_write(path, text, len);
    firth_error err = {0};
    firth_dist_agree(d, FIRTH_OK, &err); /* a barrier: the file exists */
    const char *paths[] = {path};
    firth_corpus *c = firth_corpus_open(paths, 1, &err);
    firth_text_params tp = firth_text_default_params();
    firth_vocab *seq = firth_vocab_new(&err), *dv = firth_vocab_new(&err);
    CHECK(c && seq && dv, "%s", err.message);
    CHECK(firth_vocab_count(seq, c, &tp, &err) == FIRTH_OK, "%s", err.message);
    CHECK(firth_vocab_count_dist(dv, c, &tp, d, &err) == FIRTH_OK, "%s", err.message);
    CHECK(firth_vocab_finalize(seq, 1, 0, &err) == FIRTH_OK, "%s", err.message);
    CHECK(firth_vocab_finalize(dv, 1, 0, &err) == FIRTH_OK, "%s", err.message);
    size_t n = firth_vocab_size(seq);
    CHECK(n > 100 && firth_vocab_size(dv) == n, "sizes %zu and %zu", n, firth_vocab_size(dv));
    size_t diff = 0;
    for (size_t i = 0; i < n && firth_vocab_size(dv) == n; i++)
        diff += strcmp(firth_vocab_word(seq, i), firth_vocab_word(dv, i)) != 0 ||
                firth_vocab_word_count(seq, i) != firth_vocab_word_count(dv, i);
    CHECK(diff == 0, "%zu of %zu entries differ", diff, n);
    uint64_t h = 0;
    CHECK(firth_vocab_check_dist(dv, d, &h, &err) == FIRTH_OK && h != 0, "%s", err.message);
    firth_vocab_free(seq);
    firth_vocab_free(dv);
    firth_corpus_free(c);
    free(text), free(path);
}

/* One round of each reduction against its formula: every rank adds 1 to row 0, rank r adds
 * 0.5 (r + 1) to row 1 + r; the other rows stay. Before the start, every rank's weights differ
 * (rank r adds r): the start gives everyone rank 0's. */
static void check_sync_round(const firth_dist *d, firth_dist_reduce mode, double sparse_below) {
    const int R = firth_dist_size(d), me = firth_dist_rank(d);
    firth_error err = {0};
    size_t V = 40 + (size_t)R;
    const char **words = malloc(V * sizeof *words);
    uint64_t *counts = malloc(V * sizeof *counts);
    char (*buf)[24] = malloc(V * sizeof *buf);
    for (size_t i = 0; i < V; i++) {
        snprintf(buf[i], sizeof buf[i], i ? "w%zu" : FIRTH_EOS_WORD, i);
        words[i] = buf[i];
        counts[i] = 100 - i;
    }
    firth_vocab *v = firth_vocab_from_list(words, counts, V, &err);
    firth_w2v_params p = firth_w2v_default_params();
    p.dim = 8;
    firth_w2v *m = firth_w2v_new(v, &p, &err);
    CHECK(m != NULL, "%s", err.message);
    size_t rows = m->V + m->out_rows, D = (size_t)m->D;
    float *start = malloc(rows * D * sizeof *start);
    memcpy(start, m->syn0, rows * D * sizeof *start); /* rank 0's start is everyone's */
    for (size_t j = 0; j < rows * D; j++) m->syn0[j] += (float)me;
    firth_w2v_dist_params dp = firth_w2v_dist_default_params();
    dp.reduce = mode;
    dp.sparse_below = sparse_below;
    w2v_sync s;
    CHECK(w2v_sync_init(&s, m, d, &dp, &err) == FIRTH_OK, "%s", err.message);
    size_t bad = 0;
    for (size_t j = 0; j < rows * D; j++) bad += m->syn0[j] != start[j];
    CHECK(bad == 0, "after the start %zu weights differ from rank 0's", bad);
    for (size_t j = 0; j < D; j++) {
        m->syn0[j] += 1.0f;
        m->syn0[(1 + (size_t)me) * D + j] += 0.5f * (float)(me + 1);
    }
    s.dirty[0] = 1;
    s.dirty[1 + me] = 1;
    CHECK(w2v_sync_model(&s, m, &err) == FIRTH_OK, "%s", err.message);
    double worst = 0.0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < D; j++) {
            double want = start[i * D + j];
            if (i == 0) /* R ranks added 1 */
                want += mode == FIRTH_DIST_SUM_DELTAS ? (double)R : 1.0;
            else if (i >= 1 && i <= (size_t)R) { /* rank i-1 alone added 0.5 i */
                double delta = 0.5 * (double)i;
                want += mode == FIRTH_DIST_AVERAGE ? delta / R : delta;
            }
            double e = fabs(m->syn0[i * D + j] - want);
            if (e > worst) worst = e;
        }
    CHECK(worst < 1e-5, "mode %d sparse_below %g: largest error %g", (int)mode, sparse_below,
          worst);
    CHECK(s.rounds == 1 && s.sparse_rounds == (sparse_below > 0 ? 1u : 0u),
          "rounds %llu, sparse %llu", (unsigned long long)s.rounds,
          (unsigned long long)s.sparse_rounds);
    size_t still = 0;
    for (size_t i = 0; i < rows; i++) still += s.dirty[i];
    CHECK(still == 0, "%zu rows still marked", still);
    CHECK(dist_check_same(d, w2v_model_hash(m), "the weights", &err) == FIRTH_OK, "%s",
          err.message);
    w2v_sync_free(&s);
    firth_w2v_free(m);
    free(start), free(words), free(counts), free(buf);
}

static void test_dist_group(void) {
    firth_error err = {0};
    firth_dist *d = firth_dist_init(NULL, NULL, &err);
    CHECK(d != NULL, "%s", err.message);
    if (!d) return;
    const int R = firth_dist_size(d), me = firth_dist_rank(d);
    CHECK(R >= 1 && me >= 0 && me < R, "rank %d of %d", me, R);
    check_collectives(d);
    /* one directory for all ranks: rank 0 makes it and tells the others its name */
    char name[64] = {0};
    char *dir = me == 0 ? tu_mkdtemp() : NULL;
    if (dir) snprintf(name, sizeof name, "%s", dir);
    CHECK(dist_bcast(d, name, sizeof name, 0, &err) == FIRTH_OK, "%s", err.message);
    check_vocab_merge(d, name);
    for (int mode = 0; mode < 3; mode++) {
        check_sync_round(d, (firth_dist_reduce)mode, 0.7);
        check_sync_round(d, (firth_dist_reduce)mode, 0.0);
    }
    firth_dist_agree(d, FIRTH_OK, &err); /* everyone is done with the directory */
    tu_rmdir(dir);
    firth_dist_free(d);
}

const test_case tests_dist[] = {
    {"dist_corpus_parts", test_dist_corpus_parts},
    {"dist_group", test_dist_group},
    TEST_END,
};
