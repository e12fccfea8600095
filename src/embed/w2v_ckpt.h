/* w2v_ckpt.h - the training state in a word2vec checkpoint, and its file (w2v_ckpt.c). The
 * trainer (w2v.c) fills and reads these structs; this module only stores them. */
#ifndef FIRTH_EMBED_W2V_CKPT_H
#define FIRTH_EMBED_W2V_CKPT_H

#include <stdint.h>

#include "firth.h"

/* Where one worker stands. */
typedef struct w2v_worker_state {
    uint64_t begin, end;     /* its byte range of the corpus */
    uint64_t offset;         /* next unread byte in the current epoch (a sentence start) */
    uint64_t rng;            /* its random state */
    uint64_t unsynced;       /* words read but not yet added to the global count */
    uint64_t run_examples;   /* predictions so far in the current epoch */
    double run_loss;         /* their loss sum */
    float alpha;             /* the learning rate it is using */
    int32_t epoch;           /* the current epoch, 0-based; == epochs when done */
    int32_t epochs_done;     /* finished epochs */
    double *loss;            /* (epochs) loss sum of each finished epoch */
    uint64_t *examples;      /* (epochs) predictions of each finished epoch */
    double *finished_at;     /* (epochs) seconds since the start when it finished */
} w2v_worker_state;

struct firth_w2v_resume {
    int32_t threads, epochs, reported; /* reported: epochs whose loss is in epoch_loss */
    firth_text_params text;
    uint64_t corpus_size, corpus_fingerprint;
    uint64_t words_done, words_total;
    double elapsed_s;
    double *epoch_loss;   /* (epochs) */
    w2v_worker_state *w;  /* (threads) */
};

/* Allocates a state for `threads` workers and `epochs` epochs, zeroed. */
firth_w2v_resume *w2v_resume_new(int threads, int epochs);

/* Writes model + state atomically. */
firth_status w2v_checkpoint_write(const firth_w2v *model, const firth_w2v_resume *state,
                                  const char *path, firth_error *err);

#endif
