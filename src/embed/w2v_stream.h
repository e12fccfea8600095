/* w2v_stream.h - the word stream of one worker's byte range of the corpus, for word2vec training.
 *
 * An epoch reads the range's text through a tokenizer and looks every word up in the vocabulary.
 * That is about a quarter of CBOW's time, and it gives the same answer every epoch, so while one
 * epoch reads the whole range the stream also records what it yields (the ids of known words,
 * and the line ends) in memory, 4 bytes an entry, and the epochs after it replay the record
 * instead. The record is given up (and the text read every epoch) when it would pass its budget.
 * A replayed epoch yields exactly the entries of a read one, so training gives the same vectors
 * either way.
 *
 * Checkpoints need the byte offset of a position. While reading it is the tokenizer's; while
 * replaying, every MARK_EVERY entries of the record keep the offset reached there, and the offset
 * of a position in between is found by reading from the mark before it (at most MARK_EVERY
 * entries of text, only when a checkpoint is taken). */
#ifndef FIRTH_EMBED_W2V_STREAM_H
#define FIRTH_EMBED_W2V_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "firth.h"

enum { W2V_STREAM_EOS = -1 }; /* a line end in the record */

typedef struct w2v_stream {
    const firth_corpus *corpus;
    const firth_text_params *text;
    const firth_vocab *vocab;
    uint64_t begin, end;      /* the range */
    size_t max_entries;       /* the record's budget; 0: never record */
    firth_tokenizer *tok;     /* while reading the text */
    int recording;            /* this epoch reads the whole range and records it */
    int complete;             /* the record holds the whole range */
    int replaying;            /* this epoch replays the record */
    size_t pos;               /* next entry to replay */
    int32_t *ids;             /* (cap) the record: word ids (> 0) and W2V_STREAM_EOS */
    size_t n, cap;
    uint64_t *marks;          /* (cap_marks) marks[k]: the offset after the first k MARK_EVERY entries */
    size_t n_marks, cap_marks;
} w2v_stream;

/* A stream of [begin, end) that records at most max_bytes of entries (0: never). Nothing is read
 * or allocated yet; w2v_stream_free releases what the epochs allocated. */
void w2v_stream_init(w2v_stream *s, const firth_corpus *corpus, const firth_text_params *text,
                     const firth_vocab *vocab, uint64_t begin, uint64_t end, size_t max_bytes);
void w2v_stream_free(w2v_stream *s);

/* Starts an epoch at byte offset `from` (begin, or a resumed position). It replays the record
 * when the record is complete and from == begin; otherwise it reads the text, recording it when
 * from == begin, `record` is set and no record is complete yet. FIRTH_ERR_NOMEM or a tokenizer
 * error. */
firth_status w2v_stream_start(w2v_stream *s, uint64_t from, int record, firth_error *err);

int w2v_stream_read_text(w2v_stream *s, int32_t *id, firth_error *err);

/* The next entry: FIRTH_TOKEN_WORD with *id set (a known word, id > 0), FIRTH_TOKEN_EOS (a line
 * end), FIRTH_TOKEN_END (the range is done), or a negative firth_status (the text's errors:
 * invalid UTF-8, binary data, I/O; only while reading). Unknown words are skipped. */
static inline int w2v_stream_next(w2v_stream *s, int32_t *id, firth_error *err) {
    if (s->replaying) {
        if (s->pos == s->n) return FIRTH_TOKEN_END;
        int32_t v = s->ids[s->pos++];
        if (v == W2V_STREAM_EOS) return FIRTH_TOKEN_EOS;
        *id = v;
        return FIRTH_TOKEN_WORD;
    }
    return w2v_stream_read_text(s, id, err);
}

/* The byte offset at which reading the text would go on from the current position (what a
 * checkpoint saves). Reads up to MARK_EVERY entries of text while replaying. */
firth_status w2v_stream_offset(w2v_stream *s, uint64_t *offset, firth_error *err);

/* Ends the epoch: a record that reached the end of the range is complete, an unfinished one
 * (the epoch was stopped) is dropped. */
void w2v_stream_finish(w2v_stream *s, int reached_end);

#endif
