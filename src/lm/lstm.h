/* lstm.h - one LSTM layer, forward and backward over a whole chunk of T time steps.
 *
 * Shapes (all row-major floats): T time steps, B sequences in the batch, I inputs (parameter I_,
 * as complex.h, which cblas.h includes, defines I), H hidden units,
 * G = 4H gate pre-activations per row. The gates of a row are stored in the order
 *     i (input, sigmoid) | f (forget, sigmoid) | o (output, sigmoid) | g (candidate, tanh)
 * each a block of H, so the three sigmoids are one contiguous run of 3H. (PyTorch's nn.LSTM
 * orders its rows i, f, g, o; tests/ref/charlm_torch_ref.py maps between the two.)
 *
 *     a_t = x_t Wx + h_{t-1} Wh + b              (B, 4H)
 *     i = s(a_i)  f = s(a_f)  o = s(a_o)  g = tanh(a_g)
 *     c_t = f * c_{t-1} + i * g                  h_t = o * tanh(c_t)
 *
 * The derivation of the backward pass is in docs/derivations.md ("LSTM layer").
 *
 * The fast pair does the input projections of all T steps in one sgemm ((T B, I) x (I, 4H)), one
 * product per step for the recurrent term (against Wh packed once per call into panels, see
 * acts->par; one sgemm when there is a single step or no scratch), and the gate non-linearities, the cell update and
 * their derivatives in one fused pass over each row. The weight gradients of the whole chunk are
 * again one sgemm each. With acts->bf16 every one of those products runs in bfloat16 with float
 * sums instead (core/bpanel.h: mixed precision, `charlm train --bf16`). The `_naive` pair is the
 * same arithmetic in plain loops (no BLAS, libm's
 * expf/tanhf), kept to test the fast one against.
 *
 * The input is either dense, x (T, B, I), or one-hot, ids (T, B) with values in [0, I): then
 * x_t Wx is row ids[t, b] of Wx and no input gradient is produced. */
#ifndef FIRTH_LM_LSTM_H
#define FIRTH_LM_LSTM_H

#include <stddef.h>
#include <stdint.h>

typedef struct firth_lstm_weights {
    const float *wx; /* (I, 4H) */
    const float *wh; /* (H, 4H) */
    const float *b;  /* (4H) */
} firth_lstm_weights;

/* Gradients; backward ADDS into them (so several chunks or layers may accumulate). */
typedef struct firth_lstm_grads {
    float *wx; /* (I, 4H) */
    float *wh; /* (H, 4H) */
    float *b;  /* (4H) */
} firth_lstm_grads;

/* What forward keeps for backward, sized for the largest T and B the caller will use. The caller
 * writes the initial state into h[0 .. B H) and c[0 .. B H) before forward; after it, the state
 * after step t is at h + t B H (t = 1..T), so the final state is h + T B H. */
typedef struct firth_lstm_acts {
    float *gates;  /* (T, B, 4H) activations i, f, o, g after their non-linearity */
    float *c;      /* (T + 1, B, H) cell state, c[0] = initial */
    float *h;      /* (T + 1, B, H) hidden state, h[0] = initial */
    float *tc;     /* (T, B, H) tanh(c_t) */
    float *dgates; /* (T, B, 4H) scratch for backward: d loss / d a_t */
    float *dhc;    /* (2, B, H) scratch for backward: dh and dc flowing to the previous step */
    /* Threads (NULL or one: the steps run on the caller alone). With several, each step's
     * recurrent product and gate pass are split by hidden units: part p of n owns units
     * [p H / n, (p + 1) H / n) and computes their gates from its own columns of Wh, packed once
     * per call into panels (core/panel.h), so that a step needs one barrier; the products over
     * all T steps are split by firth_pool_sgemm. `par` is the scratch of the packed steps:
     * firth_lstm_par_floats(B, H, n) floats for the largest B (contents free), required with
     * several threads; with one, the steps run packed when it is there and T > 1, and as one
     * OpenBLAS product each otherwise. */
    struct firth_pool *pool;
    float *par;
    /* bfloat16 products (core/bpanel.h): when bf16 is non-zero, every matrix product of the
     * fast pair rounds its operands to bfloat16 and sums in float (the weights, the gate
     * arithmetic and the gradients stay in float); it needs par as well. bpar:
     * firth_lstm_bpar_elems(B, H, n) elements, the
     * packed steps' bfloat16 panels and operands; bscr: firth_lstm_bscr_elems(T, B, I, H)
     * elements for the products over the whole chunk (contents free: layers may share one). */
    int bf16;
    uint16_t *bpar;
    uint16_t *bscr;
} firth_lstm_acts;

/* Floats of acts->par for B streams, H units and `parts` threads. */
size_t firth_lstm_par_floats(int B, int H, int parts);
/* Elements of acts->bpar and of acts->bscr (T steps, B streams, I dense inputs or 0 for one-hot,
 * H units). */
size_t firth_lstm_bpar_elems(int B, int H, int parts);
size_t firth_lstm_bscr_elems(int T, int B, int I_, int H);

/* Forward over T steps from the state in acts->h[0], acts->c[0]. Exactly one of x (T, B, I) and
 * ids (T, B) is non-NULL. With ids, id_scale (T, B) or NULL: the input of row r is id_scale[r]
 * times the one-hot row of ids[r] (input dropout: 0 or 1 / (1 - p)); NULL is all ones. */
void firth_lstm_forward(int T, int B, int I_, int H, const float *x, const int32_t *ids,
                        const float *id_scale, const firth_lstm_weights *w, firth_lstm_acts *a);
void firth_lstm_forward_naive(int T, int B, int I_, int H, const float *x, const int32_t *ids,
                              const float *id_scale, const firth_lstm_weights *w,
                              firth_lstm_acts *a);

/* Backward through the chunk last run forward with the same arguments. dh (T, B, H) is d loss /
 * d h_t for t = 1..T from above (not modified). Truncated BPTT: nothing flows in from after step
 * T. Adds the weight gradients into g; writes d loss / d x into dx (T, B, I) when dx is not NULL
 * (dense input only), and d loss / d h_0, d loss / d c_0 into dh0, dc0 (B, H) when not NULL. */
void firth_lstm_backward(int T, int B, int I_, int H, const float *x, const int32_t *ids,
                         const float *id_scale, const firth_lstm_weights *w, firth_lstm_acts *a,
                         const float *dh, firth_lstm_grads *g, float *dx, float *dh0, float *dc0);
void firth_lstm_backward_naive(int T, int B, int I_, int H, const float *x, const int32_t *ids,
                               const float *id_scale, const firth_lstm_weights *w,
                               firth_lstm_acts *a, const float *dh, firth_lstm_grads *g, float *dx,
                               float *dh0, float *dc0);

/* Element-wise helpers, exposed for the tests: n values in place. Accurate to a few float ulps
 * (absolute error below 2e-7 for tanh) and vectorised by the compiler. */
void firth_lstm_sigmoid(float *x, size_t n);
void firth_lstm_tanh(float *x, size_t n);

#endif
