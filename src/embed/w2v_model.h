/* w2v_model.h - the word2vec model's layout, shared by the trainer and the file formats. */
#ifndef FIRTH_EMBED_W2V_MODEL_H
#define FIRTH_EMBED_W2V_MODEL_H

#include <stdio.h>

#include "embed/huffman.h"
#include "embed/sigmoid.h"
#include "firth.h"

struct firth_w2v {
    firth_vocab *vocab;      /* owned */
    firth_w2v_params p;
    firth_text_params text;  /* how the training text was tokenised (kept in native files) */
    size_t V;                /* vocabulary size, "</s>" included */
    int D;                   /* dim */
    /* One aligned block holds both matrices: */
    float *syn0;             /* (V, D) input vectors: the embeddings */
    float *out;              /* (out_rows, D) output vectors: syn1neg (NS, V rows), Huffman inner
                              * nodes (HS, V-1 rows) or softmax weights (V rows) */
    size_t out_rows;
    firth_huffman huff;      /* HS only */
    firth_sigmoid_table sig;
    double *epoch_loss;      /* (p.epochs) mean loss per prediction, after training */
    int n_epoch_loss;
};

/* Allocates the weights for vocab/params (checks the memory need); does not initialise them. */
firth_w2v *firth_w2v_alloc(firth_vocab *vocab, const firth_w2v_params *params, firth_error *err);

/* Word pointers of the vocabulary in id order (caller frees the array, not the words). */
const char **firth_w2v_word_list(const firth_w2v *model);

/* The native model (model_io.c) as a part of a larger stream (checkpoints): write at the
 * stream's position (errors show at the caller's commit); read `size` bytes from the stream's
 * position, every size checked against `size` before allocating. `path` is for messages. */
firth_status firth_w2v_write_native(const firth_w2v *model, FILE *fp, const char *path,
                                   firth_error *err);
firth_w2v *firth_w2v_read_native(FILE *fp, const char *path, uint64_t size, firth_error *err);

#endif
