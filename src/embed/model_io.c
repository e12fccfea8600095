/* model_io.c - firth's native word2vec model file, and the save entry point for all formats.
 *
 * Layout (the machine's byte order, little-endian on x86-64 and AArch64; the endian mark lets a
 * loader on another byte order refuse the file; docs/formats.md):
 *   header (FIRTH_W2V_HEADER bytes):
 *     char[8] magic "FIRTHW2V"; u32 version; u32 endian mark 0x01020304
 *     u32 arch, loss, dim, window, negative, epochs, lowercase, strip_punct
 *     f64 alpha, sample; u64 seed
 *     u64 vocab size V, bytes of the word block, output rows, train words
 *     u64 checksum of the payload
 *   payload:
 *     word block: V NUL-terminated UTF-8 words in id order ("</s>" first)
 *     u64 counts[V]; f32 input[V][dim]; f32 output[rows][dim]
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
#include "embed/format_w2v.h"
#include "embed/w2v_model.h"
#include "text/utf8.h"
#include "text/vocab.h"

#define MAGIC "FIRTHW2V"
#define VERSION 1u
#define ENDIAN_MARK 0x01020304u
#define HEADER_BYTES (8 + 4 * 2 + 4 * 8 + 8 * 3 + 8 * 4 + 8)

/* 64-bit checksum over byte blocks, 8 bytes per step (FNV-style multiply-xor). */
typedef struct checksum {
    uint64_t h;
} checksum;

static void sum_init(checksum *c) { c->h = 0xCBF29CE484222325ull; }
static void sum_update(checksum *c, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = c->h;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0x100000001B3ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    while (n--) h = (h ^ *p++) * 0x100000001B3ull;
    c->h = h;
}

typedef struct header {
    uint32_t version, endian, arch, loss, dim, window, negative, epochs, lowercase, strip_punct;
    double alpha, sample;
    uint64_t seed, V, word_bytes, out_rows, train_words, checksum;
} header;

static void put32(unsigned char **p, uint32_t v) {
    memcpy(*p, &v, 4);
    *p += 4;
}
static void put64(unsigned char **p, uint64_t v) {
    memcpy(*p, &v, 8);
    *p += 8;
}
static uint32_t get32(const unsigned char **p) {
    uint32_t v;
    memcpy(&v, *p, 4);
    *p += 4;
    return v;
}
static uint64_t get64(const unsigned char **p) {
    uint64_t v;
    memcpy(&v, *p, 8);
    *p += 8;
    return v;
}
static void putf64(unsigned char **p, double v) {
    memcpy(*p, &v, 8);
    *p += 8;
}
static double getf64(const unsigned char **p) {
    double v;
    memcpy(&v, *p, 8);
    *p += 8;
    return v;
}

static void encode_header(const header *h, unsigned char *buf) {
    unsigned char *p = buf;
    memcpy(p, MAGIC, 8);
    p += 8;
    put32(&p, h->version);
    put32(&p, h->endian);
    put32(&p, h->arch);
    put32(&p, h->loss);
    put32(&p, h->dim);
    put32(&p, h->window);
    put32(&p, h->negative);
    put32(&p, h->epochs);
    put32(&p, h->lowercase);
    put32(&p, h->strip_punct);
    putf64(&p, h->alpha);
    putf64(&p, h->sample);
    put64(&p, h->seed);
    put64(&p, h->V);
    put64(&p, h->word_bytes);
    put64(&p, h->out_rows);
    put64(&p, h->train_words);
    put64(&p, h->checksum);
}

static void decode_header(const unsigned char *buf, header *h) {
    const unsigned char *p = buf + 8;
    h->version = get32(&p);
    h->endian = get32(&p);
    h->arch = get32(&p);
    h->loss = get32(&p);
    h->dim = get32(&p);
    h->window = get32(&p);
    h->negative = get32(&p);
    h->epochs = get32(&p);
    h->lowercase = get32(&p);
    h->strip_punct = get32(&p);
    h->alpha = getf64(&p);
    h->sample = getf64(&p);
    h->seed = get64(&p);
    h->V = get64(&p);
    h->word_bytes = get64(&p);
    h->out_rows = get64(&p);
    h->train_words = get64(&p);
    h->checksum = get64(&p);
}

firth_status firth_w2v_write_native(const firth_w2v *m, FILE *fp, const char *path,
                                   firth_error *err) {
    size_t word_bytes;
    const char *words = firth_vocab_word_block(m->vocab, &word_bytes);
    uint64_t *counts = malloc(m->V * sizeof *counts);
    if (!counts) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory saving '%s'", path);
    for (size_t i = 0; i < m->V; i++) counts[i] = firth_vocab_word_count(m->vocab, i);
    size_t in_bytes = m->V * (size_t)m->D * sizeof(float);
    size_t out_bytes = m->out_rows * (size_t)m->D * sizeof(float);
    header h = {VERSION, ENDIAN_MARK, (uint32_t)m->p.arch, (uint32_t)m->p.loss,
                (uint32_t)m->D, (uint32_t)m->p.window, (uint32_t)m->p.negative,
                (uint32_t)m->p.epochs, (uint32_t)m->text.lowercase,
                (uint32_t)m->text.strip_punct, m->p.alpha, m->p.sample, m->p.seed, m->V,
                word_bytes, m->out_rows, firth_vocab_train_words(m->vocab), 0};
    checksum cs;
    sum_init(&cs);
    sum_update(&cs, words, word_bytes);
    sum_update(&cs, counts, m->V * sizeof *counts);
    sum_update(&cs, m->syn0, in_bytes);
    sum_update(&cs, m->out, out_bytes);
    h.checksum = cs.h;
    unsigned char hb[HEADER_BYTES];
    encode_header(&h, hb);
    fwrite(hb, 1, sizeof hb, fp);
    fwrite(words, 1, word_bytes, fp);
    fwrite(counts, sizeof *counts, m->V, fp);
    fwrite(m->syn0, 1, in_bytes, fp);
    fwrite(m->out, 1, out_bytes, fp);
    free(counts);
    return FIRTH_OK; /* write errors surface at the atomic commit (ferror, fflush, fsync) */
}

static firth_status save_native(const firth_w2v *m, const char *path, firth_error *err) {
    firth_atomic_file *f = firth_atomic_open(path, err);
    if (!f) return err ? err->status : FIRTH_ERR_OUTPUT;
    firth_status st = firth_w2v_write_native(m, firth_atomic_stream(f), path, err);
    if (st != FIRTH_OK) {
        firth_atomic_abort(f);
        return st;
    }
    return firth_atomic_commit(f, err);
}

firth_status firth_w2v_save(const firth_w2v *m, const char *path, firth_format format,
                            firth_error *err) {
    if (format == FIRTH_FORMAT_NATIVE) return save_native(m, path, err);
    if (format != FIRTH_FORMAT_W2V_TEXT && format != FIRTH_FORMAT_W2V_BIN)
        return firth_fail(err, FIRTH_ERR_PARAM, "unknown output format %d", (int)format);
    const char **words = firth_w2v_word_list(m);
    if (!words) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory saving '%s'", path);
    firth_status st = firth_write_w2v(path, format == FIRTH_FORMAT_W2V_BIN, words, m->syn0, m->V,
                                      m->D, err);
    free(words);
    return st;
}

/* ---------------------------------------------------------------------------------------- */

static firth_status corrupt(firth_error *err, const char *path, const char *what) {
    return firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a valid firth model: %s", path, what);
}

static int read_all(FILE *fp, void *buf, size_t n) { return fread(buf, 1, n, fp) == n; }

firth_w2v *firth_w2v_load(const char *path, firth_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open model '%s'", path);
        return NULL;
    }
    struct stat st;
    firth_w2v *m = NULL;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a regular file", path);
    else
        m = firth_w2v_read_native(fp, path, (uint64_t)st.st_size, err);
    fclose(fp);
    return m;
}

firth_w2v *firth_w2v_read_native(FILE *fp, const char *path, uint64_t file_size,
                                 firth_error *err) {
    firth_w2v *m = NULL;
    char *words = NULL;
    const char **list = NULL;
    uint64_t *counts = NULL;
    unsigned char hb[HEADER_BYTES];
    if (file_size < HEADER_BYTES || !read_all(fp, hb, sizeof hb)) {
        corrupt(err, path, "file too short for a header");
        goto fail;
    }
    if (memcmp(hb, MAGIC, 8) != 0) {
        corrupt(err, path, "wrong magic number (is it a word2vec text/bin file? those are read "
                           "by the query commands)");
        goto fail;
    }
    header h;
    decode_header(hb, &h);
    if (h.version != VERSION) {
        firth_fail(err, FIRTH_ERR_INPUT, "'%s' has model version %u; this firth reads version %u",
                   path, h.version, VERSION);
        goto fail;
    }
    if (h.endian != ENDIAN_MARK) {
        corrupt(err, path, "written on a machine of other byte order");
        goto fail;
    }
    if (h.arch > FIRTH_ARCH_CBOW || h.loss > FIRTH_LOSS_SOFTMAX || h.dim < 1 || h.dim > 10000 ||
        h.window < 1 || h.window > 1000 || h.negative > 1000 || h.epochs < 1 ||
        h.epochs > 1000000 || h.lowercase > 1 || h.strip_punct > 1 || !(h.alpha > 0) ||
        !(h.alpha <= 10) || !(h.sample >= 0) || !(h.sample <= 1)) {
        corrupt(err, path, "hyper-parameters out of range");
        goto fail;
    }
    if (h.V < 2 || h.V > (uint64_t)INT32_MAX ||
        h.out_rows != (h.loss == FIRTH_LOSS_HS ? h.V - 1 : h.V) || h.word_bytes < 2 * h.V ||
        h.word_bytes > file_size) {
        corrupt(err, path, "vocabulary sizes are inconsistent");
        goto fail;
    }
    /* expected length, with every product checked, before any large allocation */
    size_t in_floats, out_floats, expect = HEADER_BYTES, t;
    if (!firth_mul_size((size_t)h.V, h.dim, &in_floats) ||
        !firth_mul_size((size_t)h.out_rows, h.dim, &out_floats) ||
        !firth_add_size(expect, (size_t)h.word_bytes, &expect) ||
        !firth_mul_size((size_t)h.V, 8, &t) || !firth_add_size(expect, t, &expect) ||
        !firth_mul_size(in_floats, 4, &t) || !firth_add_size(expect, t, &expect) ||
        !firth_mul_size(out_floats, 4, &t) || !firth_add_size(expect, t, &expect)) {
        corrupt(err, path, "sizes overflow");
        goto fail;
    }
    if (expect != file_size) {
        firth_fail(err, FIRTH_ERR_INPUT,
                   "'%s' is truncated or corrupt: its header implies %zu bytes but the file has "
                   "%llu",
                   path, expect, (unsigned long long)file_size);
        goto fail;
    }
    words = malloc((size_t)h.word_bytes);
    counts = malloc((size_t)h.V * sizeof *counts);
    list = malloc((size_t)h.V * sizeof *list);
    if (!words || !counts || !list) {
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory loading '%s'", path);
        goto fail;
    }
    if (!read_all(fp, words, (size_t)h.word_bytes) ||
        !read_all(fp, counts, (size_t)h.V * sizeof *counts)) {
        corrupt(err, path, "cannot read the vocabulary");
        goto fail;
    }
    /* the word block must be exactly V non-empty NUL-terminated UTF-8 strings */
    size_t k = 0, start = 0;
    for (size_t i = 0; i < h.word_bytes; i++) {
        if (words[i] != '\0') continue;
        if (i == start || k >= h.V ||
            !firth_utf8_valid((const unsigned char *)words + start, i - start)) {
            corrupt(err, path, "malformed word list");
            goto fail;
        }
        list[k++] = words + start;
        start = i + 1;
    }
    if (k != h.V || start != h.word_bytes) {
        corrupt(err, path, "malformed word list");
        goto fail;
    }
    firth_vocab *vocab = firth_vocab_from_list(list, counts, (size_t)h.V, err);
    if (!vocab) goto fail;
    firth_w2v_params p = firth_w2v_default_params();
    p.arch = (firth_arch)h.arch;
    p.loss = (firth_loss)h.loss;
    p.dim = (int)h.dim;
    p.window = (int)h.window;
    p.negative = (int)h.negative;
    p.epochs = (int)h.epochs;
    p.alpha = h.alpha;
    p.sample = h.sample;
    p.seed = h.seed;
    if (p.loss == FIRTH_LOSS_NS && p.negative < 1) p.negative = 1;
    m = firth_w2v_alloc(vocab, &p, err); /* takes vocab */
    if (!m) goto fail;
    m->text.lowercase = (int)h.lowercase;
    m->text.strip_punct = (int)h.strip_punct;
    if (!read_all(fp, m->syn0, in_floats * 4) || !read_all(fp, m->out, out_floats * 4)) {
        corrupt(err, path, "cannot read the weights");
        goto fail;
    }
    checksum cs;
    sum_init(&cs);
    sum_update(&cs, words, (size_t)h.word_bytes);
    sum_update(&cs, counts, (size_t)h.V * sizeof *counts);
    sum_update(&cs, m->syn0, in_floats * 4);
    sum_update(&cs, m->out, out_floats * 4);
    if (cs.h != h.checksum) {
        corrupt(err, path, "checksum mismatch (the file is damaged)");
        goto fail;
    }
    for (size_t i = 0; i < in_floats + out_floats; i++)
        if (!isfinite(m->syn0[i])) {
            corrupt(err, path, "weights contain NaN or infinity");
            goto fail;
        }
    free(words);
    free(counts);
    free(list);
    return m;
fail:
    firth_w2v_free(m);
    free(words);
    free(counts);
    free(list);
    return NULL;
}
