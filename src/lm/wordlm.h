/* wordlm.h - library-internal view of the word-level next-word model (src/lm/wordlm.c): the
 * struct, so that tests can set and read weights, and the kernels with explicit inputs. */
#ifndef FIRTH_LM_WORDLM_H
#define FIRTH_LM_WORDLM_H

#include <stddef.h>
#include <stdint.h>

#include "core/alias.h"
#include "core/rng.h"
#include "firth.h"

struct firth_wordlm {
    firth_wordlm_params p;
    size_t V;  /* classes, "<unk>" (0) included */
    int D;     /* embedding size */
    int N;     /* context words */
    size_t F;  /* features N * D */
    size_t ld; /* row stride of W and of feature rows: F rounded up to 16 floats (64 bytes) */

    char *words;        /* V NUL-terminated words back to back, "<unk>" first */
    size_t words_bytes;
    size_t *word_off;   /* (V) */
    uint64_t *counts;   /* (V) tokens of each class in all training text so far */
    int64_t *slots;     /* open-addressing index of the words: mask + 1 entries, -1 empty */
    size_t mask;

    float *E;      /* (V + 1, D) embeddings; row V is the padding vector, row 0 "<unk>" */
    float *W;      /* (V, ld) stored weights; the true weights are wscale * W */
    float *b;      /* (V) intercepts */
    double wscale; /* sklearn's WeightVector trick: the L2 shrink is one multiply per step */
    uint64_t steps;
    firth_rng rng; /* sampled classes */

    /* training scratch (one training call at a time) */
    float *x;        /* (ld) features of the current example */
    float *s;        /* (V) scores, then probabilities / gradients */
    float *gx;       /* (ld) gradient of the loss with respect to x */
    size_t *samp;    /* (negative) sampled classes */
    float *logkq;    /* (V) log(negative * q_c): the sampled-softmax correction */
    firth_alias noise;
    int noise_ready;

    int threads;               /* firth_wordlm_set_threads; not saved with the model */
    struct wlm_pool *pool;     /* the worker threads, only while firth_wordlm_train runs */
};

/* A model of V classes named "<unk>", "c1", "c2", ... with all weights zero (tests and tools
 * that set the embeddings themselves). */
firth_wordlm *firth_wordlm_blank(const firth_wordlm_params *params, size_t V, int dim,
                                 firth_error *err);

/* The features x (ld floats, zero past F) of a context of N ids (V = padding). */
void firth_wordlm_features(const firth_wordlm *m, const size_t *context, float *x);

/* The loss of one example under the current weights, without changing them: the one-vs-rest
 * hinge sum_c max(0, 1 - y_c s_c), or the softmax cross-entropy; with `samples` (K classes,
 * log loss only) the sampled-softmax loss over the target and those classes. */
double firth_wordlm_example_loss(const firth_wordlm *m, const size_t *context, size_t target,
                         const size_t *samples, size_t K);

/* One sampled-softmax step with the given classes (the public step draws them). */
double firth_wordlm_step_sampled(firth_wordlm *m, const size_t *context, size_t target,
                                 const size_t *samples, size_t K);

/* One full-model step (hinge, or the full softmax) by the obvious multi-pass BLAS kernels: the
 * reference that firth_wordlm_step's fused kernels are tested against. No argument checks. */
double firth_wordlm_step_naive(firth_wordlm *m, const size_t *context, size_t target);

/* Builds the noise distribution (counts ^ 0.75) and the log(K q) table for `negative` = K. */
firth_status firth_wordlm_prepare_noise(firth_wordlm *m, firth_error *err);

#endif
