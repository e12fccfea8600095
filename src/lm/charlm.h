/* charlm.h - the character LSTM model's insides, for the tests (the public API is in firth.h).
 *
 * All parameters live in one aligned block `params` of n_params floats; the gradient and Adam's
 * two moments are blocks of the same layout, so clipping, Adam and checkpoints are flat loops.
 * Layout, each tensor starting on a 16-float boundary:
 *     emb          (V, E)       only when E > 0
 *     per layer l: wx (I_l, 4H), wh (H, 4H), b (4H)     I_0 = E or V (one-hot), I_l = H
 *     wy           (H, V)
 *     by           (V)
 * Gate order inside 4H: i, f, o, g (see lstm.h). */
#ifndef FIRTH_LM_CHARLM_H
#define FIRTH_LM_CHARLM_H

#include <stdint.h>

#include "core/rng.h"
#include "firth.h"
#include "lm/lstm.h"

#define FIRTH_CHARLM_MAX_LAYERS 64

typedef struct charlm_offsets {
    size_t emb;
    size_t wx[FIRTH_CHARLM_MAX_LAYERS], wh[FIRTH_CHARLM_MAX_LAYERS], b[FIRTH_CHARLM_MAX_LAYERS];
    size_t wy, by;
    size_t n; /* total floats */
} charlm_offsets;

struct firth_charlm {
    firth_charlm_params p;
    int V;               /* vocabulary size */
    uint32_t *vocab;     /* (V) code points, ascending */
    charlm_offsets off;
    float *params, *grads, *m, *v; /* (n) each */
    float *avg;          /* (n) moving average of params when p.ema > 0, else NULL */
    /* training position (saved in checkpoints) */
    uint64_t step, epoch, chunk;
    firth_rng rng;
    uint64_t text_hash, text_bytes; /* of the training text; 0, 0 before the first run */
    float *state;        /* (L, 2, B, H) carried training state: h then c of each layer */
    /* scratch for up to (work_T, work_B) steps x streams; allocated when first needed
     * (charlm_work: training needs (seq, batch), generation (1, 1)), so that loading a
     * checkpoint costs memory in proportion to the file, not to the seq x batch it names */
    int work_T, work_B;
    firth_lstm_acts *acts; /* (L) */
    float *xemb, *dxemb; /* (T B, E) embedded input and its gradient, when E > 0 */
    float *xin;          /* (L, T B, H) dropped-out input of layer l >= 1 (when dropout > 0) */
    float *mask;         /* (L, T B, H) dropout multipliers, 0 or 1 / (1 - p) */
    float *imask;        /* (T B) input dropout multipliers, 0 or 1 / (1 - input_dropout) */
    /* weight drop (p.wdrop > 0; firth_charlm_work_train), each (L, H, 4H): this step's
     * multipliers (0 or 1 / (1 - wdrop)), the dropped recurrent weights Wh x mask, and their
     * gradient before the mask */
    float *wmask, *whd, *gwhd;
    float *dbuf[2];      /* (T B, max(H, E)) gradients flowing down */
    float *logits;       /* (T B, V) scores, then probabilities / their gradient */
    int32_t *ids, *tgt;  /* (T B) */
    float *eval_state;   /* (L, 2, work_B, H) scratch of firth_charlm_work */
    float *gen_state;    /* (L, 2, 1, H) */
    struct firth_pool *pool; /* NULL, or the threads of firth_charlm_set_threads */
    /* training's products in bfloat16 (firth_charlm_train_opts.bf16; lm/lstm.h): set by
     * firth_charlm_train, read by a training forward_backward; bscr the layers' shared scratch
     * (firth_charlm_work_train), each layer's acts->bpar its own */
    int bf16;
    uint16_t *bscr;
};

/* Makes the scratch hold T steps x B streams (B <= batch); FIRTH_ERR_PARAM when that would not
 * fit in the machine's memory, FIRTH_ERR_NOMEM when allocating fails. A model from
 * firth_charlm_new has it for (seq, batch) already. */
firth_status firth_charlm_work(firth_charlm *m, int T, int B, firth_error *err);

/* The scratch of a training step: firth_charlm_work for (seq, batch) and, when p.wdrop > 0, the
 * weight-drop buffers (kept until the model is freed; evaluation and generation never need them),
 * and with m->bf16 the bfloat16 products' scratch (freed with the rest of the work).
 * firth_charlm_train calls it; a training forward_backward with wdrop > 0 needs it first. */
firth_status firth_charlm_work_train(firth_charlm *m, firth_error *err);

/* Forward (and with train, backward into m->grads, which it does not zero) over T steps of B
 * streams, within the scratch's (work_T, work_B): ids and targets (T, B); state (L, 2, B, H) in
 * and out. Dropout only when train. Returns the summed cross-entropy in nats (targets NULL: 0,
 * only m->logits is filled). */
double firth_charlm_forward_backward(firth_charlm *m, int T, int B, const int32_t *ids,
                                     const int32_t *targets, float *state, int train);

/* Global norm clipping (returns the norm before clipping) and one Adam step at step number t
 * (1-based), both over the flat blocks. */
double firth_charlm_clip(float *grads, size_t n, double max_norm);
void firth_charlm_adam(float *params, const float *grads, float *m, float *v, size_t n,
                       double lr, double beta1, double beta2, double eps, uint64_t t);

#endif
