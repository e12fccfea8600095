/* w2v_dist.h - synchronising a word2vec model across ranks (the model half of distributed
 * training; the rounds themselves are run by the trainer in w2v.c).
 *
 * The model's two matrices are one block of `rows` = V + out_rows rows of D floats (syn0 first).
 * Workers mark the rows they change in `dirty` (plain byte stores of 1 from many threads, racy in
 * the same benign way as the Hogwild weights: every writer writes the same value, and the
 * trainer reads the bytes only while every worker is parked). A round first ORs the ranks'
 * dirty maps (row mean: sums them); when fewer than sparse_below of the rows changed anywhere it all-reduces only
 * those rows, packed, else the whole block. docs/scaling.md has the costs. */
#ifndef FIRTH_EMBED_W2V_DIST_H
#define FIRTH_EMBED_W2V_DIST_H

#include <stdint.h>

#include "embed/w2v_model.h"
#include "firth.h"

typedef struct w2v_sync {
    const firth_dist *dist;
    int ranks;
    firth_dist_reduce reduce;
    double sparse_below;
    size_t rows;      /* V + out_rows */
    int D;
    float *snap;      /* (rows, D) the weights after the last round: sum-of-deltas mode only */
    uint8_t *dirty;   /* (rows) 1 when this rank changed the row since the last round */
    uint64_t *bits;   /* (rows / 64 rounded up) the OR of every rank's dirty map */
    uint32_t *counts; /* (rows) row mean only: how many ranks changed each row */
    uint32_t *idx;    /* (rows) the rows sent in a sparse round */
    float *pack;      /* (pack_rows, D) packed rows of a sparse round */
    size_t pack_rows;
    /* running totals for firth_w2v_dist_stats */
    uint64_t rounds, sparse_rounds;
    double rows_sent, bytes_sent;
    double comm_s; /* seconds inside the all-reduce calls (the rest of a round is local work) */
} w2v_sync;

/* Collective: allocates the state for model m and gives every rank rank 0's weights. FIRTH_OK
 * on every rank or the same error on every rank. */
firth_status w2v_sync_init(w2v_sync *s, firth_w2v *m, const firth_dist *dist,
                           const firth_w2v_dist_params *dp, firth_error *err);
/* Collective: one round; afterwards every rank holds the same weights and `dirty` is clear. */
firth_status w2v_sync_model(w2v_sync *s, firth_w2v *m, firth_error *err);
void w2v_sync_free(w2v_sync *s);

/* A hash of the weights (to compare the ranks' models). */
uint64_t w2v_model_hash(const firth_w2v *m);

#endif
