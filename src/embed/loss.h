/* loss.h - the three word2vec output layers as kernels over plain pointers.
 *
 * Each comes as a pair: a fast single-precision SGD step that training uses (tabulated sigmoid,
 * in-place updates, the input's step accumulated for the caller to apply) and a slow, obvious
 * `_naive` version in double precision that returns the exact loss and gradients; tests check the
 * fast one against the naive one, and the naive one against finite differences. The derivations
 * are written out in docs/derivations.md.
 *
 * Shapes: h is the input vector (dim); output rows are dim floats each, row-major.
 * "step" means -alpha * gradient: steps are added to parameters.
 */
#ifndef FIRTH_EMBED_LOSS_H
#define FIRTH_EMBED_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "embed/sigmoid.h"

/* Negative sampling: targets[0] is the positive word (label 1), targets[1..n) the noise words
 * (label 0), all distinct from targets[0].
 *   loss = -log s(h . o_t0) - sum_{j>0} log s(-h . o_tj)
 * The fast step updates out rows in place (each using h) and adds the step for h into dh.
 * Returns the loss (from the table). */
float firth_ns_step(const firth_sigmoid_table *tab, const float *h, float *out,
                    const int32_t *targets, int n_targets, int dim, float alpha, float *dh);
/* Exact loss; gradients (not steps) into grad_h (dim) and grad_out (n_targets x dim, one row per
 * target, which must be distinct). Either gradient pointer may be NULL. */
double firth_ns_loss_naive(const float *h, const float *out, const int32_t *targets,
                           int n_targets, int dim, double *grad_h, double *grad_out);

/* Batched negative sampling (HogBatch: Ji et al., "Parallelizing Word2Vec in Shared and
 * Distributed Memory", IEEE TPDS 2019). The m input rows of one skip-gram window share the n
 * targets (targets[0] the positive word, the rest noise words). With S = In Out^T (m x n) and
 * G = alpha (Y - sigma(S)), Y = 1 in column 0 and 0 elsewhere:
 *   Out_t += sum_j G[j,t] In_j      In_j += sum_t G[j,t] Out_t
 * both computed from the values before this step. `in_rows` are pointers to rows of the input
 * matrix (updated in place; a row may appear twice, then it receives both steps). `scratch` holds
 * firth_ns_batch_scratch(m, n, dim) floats. Returns the summed loss (from the table). */
size_t firth_ns_batch_scratch(int m, int n, int dim);
float firth_ns_batch_step(const firth_sigmoid_table *tab, float *const *in_rows, int m,
                          float *out, const int32_t *targets, int n, int dim, float alpha,
                          float *scratch);
/* The same step in double precision with the exact sigmoid, written as plainly as possible: the
 * reference the fast kernel is tested against. Applies the step to in/out in place. */
double firth_ns_batch_step_naive(float *const *in_rows, int m, float *out,
                                 const int32_t *targets, int n, int dim, double alpha);

/* CBOW block step: m consecutive centre words. Centre j is predicted from h_j, the mean of its
 * nctx[j] context rows (ctx holds them one centre after another), against its own word
 * targets[j] (label 1) and the k noise words targets[m .. m + k) shared by the block (label 0; a
 * noise word equal to targets[j] is skipped for centre j). The other centres' words are not
 * targets of centre j. With G the step factors alpha (label - sigma(h_j . o_t)):
 *   o_t += sum_j G[j,t] h_j     each context row of centre j += sum_t G[j,t] o_t
 * (the whole step of h_j to each of its rows, as word2vec.c), all from the values before the
 * step. m = 1 is word2vec.c's CBOW. `scratch` holds firth_ns_cbow_scratch(m, k, dim) floats.
 * Returns the summed loss (from the table). */
size_t firth_ns_cbow_scratch(int m, int k, int dim);
float firth_ns_cbow_step(const firth_sigmoid_table *tab, float *const *ctx, const int *nctx,
                         int m, float *out, const int32_t *targets, int k, int dim, float alpha,
                         float *scratch);
/* The same in double precision with the exact sigmoid: the reference of the test. */
double firth_ns_cbow_step_naive(float *const *ctx, const int *nctx, int m, float *out,
                                const int32_t *targets, int k, int dim, double alpha);

/* Hierarchical softmax along a Huffman path: label_j = 1 - codes[j] at inner node points[j].
 *   loss = -sum_j log s((1 - 2 codes_j) * h . o_pj) */
float firth_hs_step(const firth_sigmoid_table *tab, const float *h, float *nodes,
                    const int32_t *points, const uint8_t *codes, int len, int dim, float alpha,
                    float *dh);
double firth_hs_loss_naive(const float *h, const float *nodes, const int32_t *points,
                           const uint8_t *codes, int len, int dim, double *grad_h,
                           double *grad_nodes);

/* Full softmax over the rows of W (vocab x dim):
 *   loss = -log softmax(W h)_target
 * The fast step uses BLAS (sgemv, sger); `scratch` holds vocab floats. */
float firth_softmax_step(const float *h, float *W, int vocab, int target, int dim, float alpha,
                         float *dh, float *scratch);
/* grad_W is vocab x dim (may be NULL). */
double firth_softmax_loss_naive(const float *h, const float *W, int vocab, int target, int dim,
                                double *grad_h, double *grad_W);

#endif
