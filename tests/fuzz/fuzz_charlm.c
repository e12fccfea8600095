/* fuzz_charlm.c - character-model checkpoints, "FIRTHCLM" (firth_charlm_load in
 * src/lm/charlm.c), and what `firth charlm sample|eval|train --resume` do with a loaded one.
 *
 * The file ends in a checksum of all its bytes. When the header's seed is odd (the seed only
 * drives dropout masks) the target writes the correct checksum first, so that mutants get past
 * it; even seeds keep the checksum as it is. Before that, when the header's training shape is
 * small enough to train one step here, the recorded training text (its length and hash) is set
 * to the text the target trains on: the model's own characters, repeated.
 *
 * After a successful load: every weight, moment and carried state is finite and the second
 * moments are >= 0 (the loader's contract: anything else is a corrupt file); feeding characters
 * gives scores, and the sampler either picks a class of the vocabulary or fails with one line;
 * evaluating a short text of the model's characters gives a finite loss >= 0; and one more
 * training step either works or fails with one line, and the checkpoint it writes loads again
 * with the step counted. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "text/utf8.h"
#include "fuzz_util.h"
#include "lm/charlm.h"

/* Offsets in a version 1 header; version 2 adds two f64 (lr_decay, lr_decay_after) at 96, so
 * from the seed on its offsets are 16 more; version 3 two more (wdrop, ema at OFF_EMA_V3): 32
 * more, and when ema > 0 a fourth parameter block (the average) follows the moments; version 4
 * two more (weight_decay, dropout_locked): 48 more; version 5 one more (input_dropout): 56;
 * version 6 one more (epoch_shift): 64. */
#define HEADER_V1 160
#define OFF_VERSION 8
#define OFF_V 16
#define OFF_SEQ 32
#define OFF_BATCH 36
#define OFF_VAL_FRAC 88
#define OFF_SEED 96
#define OFF_TEXT 136 /* text bytes, text hash */
#define OFF_NPARAMS 152
#define OFF_EMA_V3 120
#define MAX_TEXT 8192 /* bytes of the training text, at most */

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
    snprintf(fz.out, sizeof fz.out, "%s/resumed.clm", fz.dir);
    atexit(cleanup);
    return 0;
}

static uint32_t get32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The model's first characters (at most 64 of them), repeated to `chars` characters, as UTF-8
 * into buf (>= 4 * chars bytes). Returns the length in bytes. */
static size_t make_text(const uint32_t *vocab, uint32_t V, size_t chars, char *buf) {
    uint32_t k = V < 64 ? V : 64;
    size_t n = 0;
    for (size_t i = 0; i < chars; i++)
        n += (size_t)firth_utf8_encode(vocab[(i * 7 + i / k) % k], (unsigned char *)buf + n);
    return n;
}

/* Characters of training text for one step of this shape (with the epoch shift, which starts
 * the streams up to seq - 1 characters later), or 0 when too many. */
static size_t text_chars(uint32_t seq, uint32_t batch, double val_frac) {
    if (seq < 1 || batch < 1 || (uint64_t)seq * batch > 2048 || !(val_frac >= 0 && val_frac <= 0.5))
        return 0;
    double need = ((double)batch * (2.0 * seq + 2) + 4) / (1.0 - val_frac) + 4;
    return need * 4 <= MAX_TEXT ? (size_t)need : 0;
}

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h;
}

/* The fix-ups described at the top. */
static void fix_up(uint8_t *f, size_t size) {
    if (size < HEADER_V1 + 8) return;
    const uint32_t ver = get32(f + OFF_VERSION);
    static const size_t extra_of[] = {0, 0, 16, 32, 48, 56, 64}; /* header bytes past v1's */
    const size_t x = extra_of[ver >= 1 && ver <= 6 ? ver : 6], hdr = HEADER_V1 + x;
    if (size < hdr + 8) return;
    uint32_t V = get32(f + OFF_V);
    uint64_t n = fz_get64(f + OFF_NPARAMS + x);
    if (V < 1 || V > size || n > size) return;
    double ema = 0;
    if (ver >= 3) memcpy(&ema, f + OFF_EMA_V3, 8);
    const int blocks_n = ema > 0 ? 4 : 3; /* weights, two moments, [average] */
    uint64_t fixed = hdr + 4ull * V + 4ull * blocks_n * n + 8; /* all but the carried state */
    if (fixed > size || (size - fixed) % 4) return;
    double val_frac;
    memcpy(&val_frac, f + OFF_VAL_FRAC, 8);
    size_t chars = text_chars(get32(f + OFF_SEQ), get32(f + OFF_BATCH), val_frac);
    if (chars) {
        static char text[MAX_TEXT];
        uint32_t *vocab = malloc(4ull * V);
        FZ_ASSERT(vocab);
        memcpy(vocab, f + hdr, 4ull * V);
        for (uint32_t i = 0; i < V; i++) vocab[i] %= 0x110000;
        size_t len = make_text(vocab, V, chars, text);
        free(vocab);
        uint64_t t[2] = {len, fnv1a(text, len)};
        memcpy(f + OFF_TEXT + x, t, 16);
    }
    if (!(fz_get64(f + OFF_SEED + x) & 1)) return;
    /* charlm.c sums the header, the vocabulary, the three or four parameter blocks and the
     * state, each block 8 bytes at a time from its own start */
    uint64_t blocks[7] = {hdr, 4ull * V, 4 * n, 4 * n, 4 * n, 4 * n, size - fixed};
    if (blocks_n == 3) blocks[5] = size - fixed;
    uint64_t h = 0xCBF29CE484222325ull;
    const uint8_t *p = f;
    for (int i = 0; i < 3 + blocks_n; i++) {
        h = fz_sum_block(h, p, blocks[i]);
        p += blocks[i];
    }
    memcpy(f + size - 8, &h, 8);
}

static void check_loaded(const firth_charlm *m) {
    size_t n = m->off.n, s = (size_t)m->p.layers * 2 * (size_t)m->p.batch * (size_t)m->p.hidden;
    for (size_t i = 0; i < n; i++)
        FZ_ASSERT(isfinite(m->params[i]) && isfinite(m->m[i]) && isfinite(m->v[i]) &&
                  m->v[i] >= 0);
    for (size_t i = 0; i < s; i++) FZ_ASSERT(isfinite(m->state[i]));
    FZ_ASSERT(firth_charlm_vocab_size(m) >= 1);
    for (size_t i = 0; i < firth_charlm_vocab_size(m); i++)
        FZ_ASSERT(firth_charlm_vocab_find(m, firth_charlm_vocab_char(m, i)) == (int64_t)i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *file = malloc(size ? size : 1);
    FZ_ASSERT(file);
    memcpy(file, data, size);
    fix_up(file, size);
    char path[32];
    int fd = fz_memfile(file, size, path);
    FZ_ASSERT(fd >= 0);
    free(file);
    firth_error err = {0};
    firth_charlm *m = firth_charlm_load(path, &err);
    close(fd);
    if (!m) {
        fz_check_error(&err, err.status);
        return 0;
    }
    check_loaded(m);
    const firth_charlm_params *p = firth_charlm_get_params(m);
    size_t V = firth_charlm_vocab_size(m);

    /* sampling, as `charlm sample` */
    float *logits = calloc(V, sizeof *logits);
    firth_sampler *s = firth_sampler_create(V, 1, &err);
    FZ_ASSERT(logits && s);
    firth_sampler_params sp;
    firth_sampler_default_params(&sp);
    firth_charlm_reset(m);
    size_t id = 0;
    for (int i = 0; i < 4; i++) {
        FZ_ASSERT(firth_charlm_feed(m, id, logits, &err) == FIRTH_OK);
        firth_status st = firth_sampler_pick(s, logits, V, &sp, &id, &err);
        if (st != FIRTH_OK) {
            fz_check_error(&err, st);
            break;
        }
        FZ_ASSERT(id < V);
        char u[4];
        int k = firth_charlm_vocab_utf8(m, id, u);
        FZ_ASSERT(k >= 1 && k <= 4);
    }
    firth_sampler_free(s);
    free(logits);

    /* evaluation, as `charlm eval`, on a short text of the model's characters */
    static char text[MAX_TEXT];
    uint32_t *vocab = malloc(V * sizeof *vocab);
    FZ_ASSERT(vocab);
    for (size_t i = 0; i < V; i++) vocab[i] = firth_charlm_vocab_char(m, i);
    size_t len = make_text(vocab, (uint32_t)V, 40, text);
    double nats = -1;
    uint64_t chars = 0;
    firth_status st = firth_charlm_eval(m, text, len, &nats, &chars, &err);
    if (st == FIRTH_OK)
        FZ_ASSERT(chars >= 1 && nats >= 0 && !isnan(nats)); /* +inf: a probability of 0 */
    else
        fz_check_error(&err, st); /* a surrogate code point in the vocabulary */

    /* one more training step, as `charlm train --resume`, when the shape is small */
    size_t tchars = text_chars((uint32_t)p->seq, (uint32_t)p->batch, p->val_frac);
    if (tchars) {
        len = make_text(vocab, (uint32_t)V, tchars, text);
        uint64_t before = firth_charlm_steps_done(m);
        firth_charlm_train_opts o = {.steps = before + 1, .checkpoint = fz.out};
        st = firth_charlm_train(m, text, len, &o, NULL, NULL, &err);
        if (st == FIRTH_OK) {
            firth_charlm *m2 = firth_charlm_load(fz.out, &err);
            if (!m2) fprintf(stderr, "reloading the checkpoint: %s\n", err.message);
            FZ_ASSERT(m2);
            check_loaded(m2);
            FZ_ASSERT(firth_charlm_steps_done(m2) == firth_charlm_steps_done(m));
            firth_charlm_free(m2);
        } else {
            fz_check_error(&err, st);
        }
        unlink(fz.out);
    }
    free(vocab);
    firth_charlm_free(m);
    return 0;
}
