/* w2v_ckpt.c - word2vec checkpoint files: the training state, then the native model.
 *
 * Layout (machine byte order, as the native model; docs/formats.md):
 *   char[8] "FIRTHCKP"; u32 version; u32 endian mark 0x01020304
 *   u32 threads, epochs, reported, lowercase, strip_punct, utf8 policy, max sentence words,
 *       max token bytes, batch, cbow block (0 in files written before it existed: 1)
 *   f64 ns_exponent, min_alpha_frac, elapsed seconds
 *   u64 corpus size, corpus fingerprint, words done, words total
 *   f64 epoch_loss[epochs]
 *   per thread: u64 begin, end, offset, rng, unsynced, run_examples; f64 run_loss;
 *               f32 alpha; i32 epoch, epochs_done; f64 loss[epochs]; u64 examples[epochs];
 *               f64 finished_at[epochs]
 *   u64 checksum of everything above (FNV-1a)
 *   the native model ("FIRTHW2V ..."), to the end of the file
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "core/mem.h"
#include "core/status.h"
#include "embed/w2v_ckpt.h"
#include "embed/w2v_model.h"

#define MAGIC "FIRTHCKP"
#define VERSION 1u
#define ENDIAN_MARK 0x01020304u
#define FIXED_BYTES (8 + 4 * 2 + 4 * 10 + 8 * 3 + 8 * 4)
#define WORKER_FIXED_BYTES (8 * 6 + 8 + 4 + 4 * 2)
#define WORKER_PER_EPOCH_BYTES (8 * 3)

firth_w2v_resume *w2v_resume_new(int threads, int epochs) {
    firth_w2v_resume *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->threads = threads;
    s->epochs = epochs;
    s->epoch_loss = calloc((size_t)epochs, sizeof *s->epoch_loss);
    s->w = calloc((size_t)threads, sizeof *s->w);
    if (!s->epoch_loss || !s->w) goto fail;
    for (int i = 0; i < threads; i++) {
        s->w[i].loss = calloc((size_t)epochs, sizeof(double));
        s->w[i].examples = calloc((size_t)epochs, sizeof(uint64_t));
        s->w[i].finished_at = calloc((size_t)epochs, sizeof(double));
        if (!s->w[i].loss || !s->w[i].examples || !s->w[i].finished_at) goto fail;
    }
    return s;
fail:
    firth_w2v_resume_free(s);
    return NULL;
}

void firth_w2v_resume_free(firth_w2v_resume *s) {
    if (!s) return;
    if (s->w)
        for (int i = 0; i < s->threads; i++) {
            free(s->w[i].loss);
            free(s->w[i].examples);
            free(s->w[i].finished_at);
        }
    free(s->w);
    free(s->epoch_loss);
    free(s);
}

void firth_w2v_resume_position(const firth_w2v_resume *s, uint64_t *words_done,
                               uint64_t *words_total, int *epochs_finished) {
    if (words_done) *words_done = s->words_done;
    if (words_total) *words_total = s->words_total;
    if (epochs_finished) *epochs_finished = s->reported;
}

/* A growing byte buffer with a running checksum: the state is small (KiB), so it is built in
 * memory and then written at once. */
typedef struct buf {
    unsigned char *p;
    size_t n, cap;
    int nomem;
} buf;

static void put(buf *b, const void *v, size_t n) {
    if (b->nomem) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->nomem = 1;
            return;
        }
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_f64(buf *b, double v) { put(b, &v, 8); }

static uint64_t fnv(const unsigned char *p, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

firth_status w2v_checkpoint_write(const firth_w2v *m, const firth_w2v_resume *s,
                                  const char *path, firth_error *err) {
    buf b = {0};
    put(&b, MAGIC, 8);
    put_u32(&b, VERSION);
    put_u32(&b, ENDIAN_MARK);
    const uint32_t u[10] = {(uint32_t)s->threads, (uint32_t)s->epochs, (uint32_t)s->reported,
                            (uint32_t)s->text.lowercase, (uint32_t)s->text.strip_punct,
                            (uint32_t)s->text.utf8, (uint32_t)s->text.max_sentence_words,
                            (uint32_t)s->text.max_token_bytes, (uint32_t)m->p.batch,
                            (uint32_t)m->p.cbow_block};
    for (int i = 0; i < 10; i++) put_u32(&b, u[i]);
    put_f64(&b, m->p.ns_exponent);
    put_f64(&b, m->p.min_alpha_frac);
    put_f64(&b, s->elapsed_s);
    put_u64(&b, s->corpus_size);
    put_u64(&b, s->corpus_fingerprint);
    put_u64(&b, s->words_done);
    put_u64(&b, s->words_total);
    put(&b, s->epoch_loss, (size_t)s->epochs * 8);
    for (int i = 0; i < s->threads; i++) {
        const w2v_worker_state *w = &s->w[i];
        put_u64(&b, w->begin);
        put_u64(&b, w->end);
        put_u64(&b, w->offset);
        put_u64(&b, w->rng);
        put_u64(&b, w->unsynced);
        put_u64(&b, w->run_examples);
        put_f64(&b, w->run_loss);
        put(&b, &w->alpha, 4);
        put(&b, &w->epoch, 4);
        put(&b, &w->epochs_done, 4);
        put(&b, w->loss, (size_t)s->epochs * 8);
        put(&b, w->examples, (size_t)s->epochs * 8);
        put(&b, w->finished_at, (size_t)s->epochs * 8);
    }
    if (!b.nomem) put_u64(&b, fnv(b.p, b.n));
    if (b.nomem) {
        free(b.p);
        return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory writing checkpoint '%s'", path);
    }
    firth_atomic_file *f = firth_atomic_open(path, err);
    if (!f) {
        free(b.p);
        return err ? err->status : FIRTH_ERR_OUTPUT;
    }
    FILE *fp = firth_atomic_stream(f);
    fwrite(b.p, 1, b.n, fp);
    free(b.p);
    firth_status st = firth_w2v_write_native(m, fp, path, err);
    if (st != FIRTH_OK) {
        firth_atomic_abort(f);
        return st;
    }
    return firth_atomic_commit(f, err);
}

static firth_w2v *bad(firth_error *err, const char *path, const char *what) {
    firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a valid firth checkpoint: %s", path, what);
    return NULL;
}

/* Reads n bytes into dst, adding them to the checksum. */
static int take(FILE *fp, void *dst, size_t n, uint64_t *h) {
    if (fread(dst, 1, n, fp) != n) return 0;
    const unsigned char *p = dst;
    for (size_t i = 0; i < n; i++) *h = (*h ^ p[i]) * 0x100000001B3ull;
    return 1;
}

firth_w2v *firth_w2v_load_checkpoint(const char *path, firth_w2v_resume **state,
                                     firth_error *err) {
    *state = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open checkpoint '%s'", path);
        return NULL;
    }
    firth_w2v *m = NULL;
    firth_w2v_resume *s = NULL;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a regular file", path);
        goto fail;
    }
    uint64_t size = (uint64_t)st.st_size, h = 0xCBF29CE484222325ull;
    unsigned char fixed[FIXED_BYTES];
    if (size < FIXED_BYTES || !take(fp, fixed, FIXED_BYTES, &h)) {
        bad(err, path, "too short");
        goto fail;
    }
    if (memcmp(fixed, MAGIC, 8) != 0) {
        bad(err, path, memcmp(fixed, "FIRTHW2V", 8) == 0
                           ? "it is a finished model, not a checkpoint (nothing to resume)"
                           : "wrong magic number");
        goto fail;
    }
    uint32_t u[12];
    memcpy(u, fixed + 8, sizeof u);
    if (u[0] != VERSION) {
        bad(err, path, "unknown version");
        goto fail;
    }
    if (u[1] != ENDIAN_MARK) {
        bad(err, path, "written on a machine of other byte order");
        goto fail;
    }
    uint32_t threads = u[2], epochs = u[3], reported = u[4];
    if (threads < 1 || threads > 1024 || epochs < 1 || epochs > 1000000 || reported > epochs ||
        u[5] > 1 || u[6] > 1 || u[7] > 1 || u[8] < 1 || u[8] > 10000000 || u[9] < 4 ||
        u[9] > (1u << 20) || u[10] > 1 || u[11] > 64) {
        bad(err, path, "parameters out of range");
        goto fail;
    }
    /* the state's length, checked against the file before anything is allocated */
    uint64_t per_worker = WORKER_FIXED_BYTES + (uint64_t)epochs * WORKER_PER_EPOCH_BYTES;
    uint64_t state_bytes = FIXED_BYTES + (uint64_t)epochs * 8 + threads * per_worker + 8;
    if (state_bytes >= size) { /* no overflow: threads, epochs are bounded above */
        bad(err, path, "truncated (the training state is cut short)");
        goto fail;
    }
    s = w2v_resume_new((int)threads, (int)epochs);
    if (!s) {
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory loading checkpoint '%s'", path);
        goto fail;
    }
    s->reported = (int32_t)reported;
    s->text = firth_text_default_params();
    s->text.lowercase = (int)u[5];
    s->text.strip_punct = (int)u[6];
    s->text.utf8 = u[7] ? FIRTH_UTF8_REPLACE : FIRTH_UTF8_STRICT;
    s->text.max_sentence_words = (int)u[8];
    s->text.max_token_bytes = (int)u[9];
    int batch = (int)u[10];
    int cbow_block = u[11] == 0 ? 1 : (int)u[11];
    const unsigned char *q = fixed + 8 + 4 * 12;
    double ns_exponent, min_alpha_frac;
    memcpy(&ns_exponent, q, 8);
    memcpy(&min_alpha_frac, q + 8, 8);
    memcpy(&s->elapsed_s, q + 16, 8);
    memcpy(&s->corpus_size, q + 24, 8);
    memcpy(&s->corpus_fingerprint, q + 32, 8);
    memcpy(&s->words_done, q + 40, 8);
    memcpy(&s->words_total, q + 48, 8);
    int ok = take(fp, s->epoch_loss, (size_t)epochs * 8, &h);
    for (uint32_t i = 0; ok && i < threads; i++) {
        w2v_worker_state *w = &s->w[i];
        ok = take(fp, &w->begin, 8, &h) && take(fp, &w->end, 8, &h) &&
             take(fp, &w->offset, 8, &h) && take(fp, &w->rng, 8, &h) &&
             take(fp, &w->unsynced, 8, &h) && take(fp, &w->run_examples, 8, &h) &&
             take(fp, &w->run_loss, 8, &h) && take(fp, &w->alpha, 4, &h) &&
             take(fp, &w->epoch, 4, &h) && take(fp, &w->epochs_done, 4, &h) &&
             take(fp, w->loss, (size_t)epochs * 8, &h) &&
             take(fp, w->examples, (size_t)epochs * 8, &h) &&
             take(fp, w->finished_at, (size_t)epochs * 8, &h);
    }
    uint64_t want = h, stored = 0;
    if (!ok || fread(&stored, 1, 8, fp) != 8) {
        bad(err, path, "cannot read the training state");
        goto fail;
    }
    if (stored != want) {
        bad(err, path, "checksum mismatch in the training state (the file is damaged)");
        goto fail;
    }
    /* elapsed: at most about 30 years (the trainer turns it into a time_t; found by
     * tests/fuzz/fuzz_w2v_ckpt.c) */
    if (!(ns_exponent >= -1 && ns_exponent <= 1) || !(min_alpha_frac >= 0 && min_alpha_frac <= 1) ||
        !(s->elapsed_s >= 0 && s->elapsed_s <= 1e9) || s->words_total == 0) {
        bad(err, path, "training state out of range");
        goto fail;
    }
    /* A worker inside epoch e has finished e epochs (all of them when e == epochs), and the
     * epochs reported are ones every worker has finished: a state without these would leave
     * training short of its epochs (found by tests/fuzz/fuzz_w2v_ckpt.c). */
    for (uint32_t i = 0; i < threads; i++) {
        const w2v_worker_state *w = &s->w[i];
        if (w->begin > w->end || w->end > s->corpus_size || w->offset < w->begin ||
            w->offset > w->end || w->epoch < 0 || (uint32_t)w->epoch > epochs ||
            w->epochs_done != w->epoch || (uint32_t)w->epochs_done < reported ||
            !isfinite(w->alpha)) {
            bad(err, path, "a worker's position is out of range");
            goto fail;
        }
    }
    m = firth_w2v_read_native(fp, path, size - state_bytes, err);
    if (!m) goto fail;
    if ((uint32_t)m->p.epochs != epochs) {
        bad(err, path, "the model's epochs differ from the training state's");
        goto fail;
    }
    m->p.threads = (int)threads;
    m->p.batch = batch;
    m->p.cbow_block = cbow_block;
    m->p.ns_exponent = ns_exponent;
    m->p.min_alpha_frac = min_alpha_frac;
    m->text = s->text;
    fclose(fp);
    *state = s;
    return m;
fail:
    firth_w2v_free(m);
    firth_w2v_resume_free(s);
    fclose(fp);
    return NULL;
}
