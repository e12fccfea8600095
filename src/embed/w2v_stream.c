/* w2v_stream.c - a worker's word stream: read from the text once, then replayed from memory.
 * See w2v_stream.h. */
#include "embed/w2v_stream.h"

#include <stdlib.h>

#include "core/status.h"

enum { MARK_EVERY = 4096 };

void w2v_stream_init(w2v_stream *s, const firth_corpus *corpus, const firth_text_params *text,
                     const firth_vocab *vocab, uint64_t begin, uint64_t end, size_t max_bytes) {
    *s = (w2v_stream){0};
    s->corpus = corpus;
    s->text = text;
    s->vocab = vocab;
    s->begin = begin;
    s->end = end;
    s->max_entries = max_bytes / sizeof *s->ids;
}

static void drop_record(w2v_stream *s) {
    free(s->ids);
    free(s->marks);
    s->ids = NULL;
    s->marks = NULL;
    s->n = s->cap = s->n_marks = s->cap_marks = 0;
    s->recording = s->complete = 0;
}

void w2v_stream_free(w2v_stream *s) {
    if (!s) return;
    firth_tokenizer_free(s->tok);
    s->tok = NULL;
    drop_record(s);
}

/* Gives the record up for good: it does not fit (or memory ran out). */
static void give_up(w2v_stream *s) {
    drop_record(s);
    s->max_entries = 0;
}

static int push_mark(w2v_stream *s, uint64_t offset) {
    if (s->n_marks == s->cap_marks) {
        size_t cap = s->cap_marks ? 2 * s->cap_marks : 64;
        uint64_t *m = realloc(s->marks, cap * sizeof *m);
        if (!m) return 0;
        s->marks = m;
        s->cap_marks = cap;
    }
    s->marks[s->n_marks++] = offset;
    return 1;
}

static void record(w2v_stream *s, int32_t v) {
    if (s->n == s->cap) {
        if (s->cap >= s->max_entries) {
            give_up(s);
            return;
        }
        /* a first guess from the range's size (about 6 bytes a word in English prose), then
         * doubling; large blocks are mmap'ed, so growing moves no data and untouched pages
         * cost nothing */
        size_t cap = s->cap ? 2 * s->cap : (size_t)((s->end - s->begin) / 8) + 1024;
        if (cap > s->max_entries) cap = s->max_entries;
        int32_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (!ids) {
            give_up(s);
            return;
        }
        s->ids = ids;
        s->cap = cap;
    }
    s->ids[s->n++] = v;
    if (s->n % MARK_EVERY == 0 && !push_mark(s, firth_tokenizer_offset(s->tok))) give_up(s);
}

int w2v_stream_read_text(w2v_stream *s, int32_t *id, firth_error *err) {
    for (;;) {
        const char *word;
        size_t len;
        int kind = firth_tokenizer_next(s->tok, &word, &len, err);
        if (kind < 0 || kind == FIRTH_TOKEN_END) return kind;
        int32_t v = W2V_STREAM_EOS;
        if (kind == FIRTH_TOKEN_WORD) {
            int64_t found = firth_vocab_find(s->vocab, word, len);
            if (found <= 0) continue; /* unknown word (or a literal "</s>") */
            v = (int32_t)found;
            *id = v;
        }
        if (s->recording) record(s, v);
        return kind;
    }
}

firth_status w2v_stream_start(w2v_stream *s, uint64_t from, int record_it, firth_error *err) {
    firth_tokenizer_free(s->tok);
    s->tok = NULL;
    s->recording = s->replaying = 0;
    if (s->complete && from == s->begin) {
        s->replaying = 1;
        s->pos = 0;
        return FIRTH_OK;
    }
    s->tok = firth_tokenizer_new(s->corpus, from, s->end, s->text, err);
    if (!s->tok) return err->status;
    if (record_it && from == s->begin && !s->complete && s->max_entries > 0) {
        drop_record(s);
        if (push_mark(s, s->begin))
            s->recording = 1;
        else
            give_up(s);
    }
    return FIRTH_OK;
}

firth_status w2v_stream_offset(w2v_stream *s, uint64_t *offset, firth_error *err) {
    if (!s->replaying) {
        *offset = firth_tokenizer_offset(s->tok);
        return FIRTH_OK;
    }
    size_t b = s->pos / MARK_EVERY, left = s->pos - b * MARK_EVERY;
    firth_tokenizer *t = firth_tokenizer_new(s->corpus, s->marks[b], s->end, s->text, err);
    if (!t) return err->status;
    firth_status st = FIRTH_OK;
    while (left > 0) {
        const char *word;
        size_t len;
        int kind = firth_tokenizer_next(t, &word, &len, err);
        if (kind < 0) {
            st = (firth_status)kind;
            break;
        }
        if (kind == FIRTH_TOKEN_END) {
            st = firth_fail(err, FIRTH_ERR_IO,
                            "the corpus changed during training (it ends before a position "
                            "read in an earlier epoch)");
            break;
        }
        if (kind == FIRTH_TOKEN_WORD && firth_vocab_find(s->vocab, word, len) <= 0) continue;
        left--;
    }
    if (st == FIRTH_OK) *offset = firth_tokenizer_offset(t);
    firth_tokenizer_free(t);
    return st;
}

void w2v_stream_finish(w2v_stream *s, int reached_end) {
    firth_tokenizer_free(s->tok);
    s->tok = NULL;
    if (s->recording) {
        if (reached_end) {
            s->complete = 1;
            if (s->n < s->cap && s->n > 0) { /* give the unused tail back */
                int32_t *ids = realloc(s->ids, s->n * sizeof *ids);
                if (ids) {
                    s->ids = ids;
                    s->cap = s->n;
                }
            }
        } else {
            drop_record(s);
        }
    }
    s->recording = s->replaying = 0;
}
