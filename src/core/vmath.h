/* vmath.h - float e^x written so that `omp simd` loops over it vectorise (no libm calls, no
 * branches). Shared by the LSTM gate passes and charlm's softmax. */
#ifndef FIRTH_CORE_VMATH_H
#define FIRTH_CORE_VMATH_H

#include <stdint.h>

/* e^x for x in float range: Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, Cephes' degree-6
 * polynomial for e^r (relative error ~1e-7), 2^n built in the exponent bits. Plain arithmetic and
 * no branches, so `omp simd` loops over it vectorise. */
static inline float firth_vexp(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* round to nearest by the 1.5 * 2^23 trick (|z| < 2^22 here); floorf would not vectorise */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    /* a NaN x (an overflowed pre-activation) passes the clamps; y is then NaN and so is the
     * result, but converting NaN to int is undefined (found by tests/fuzz/fuzz_charlm.c) */
    n = n == n ? n : 0.0f;
    union { int32_t i; float f; } s = {.i = ((int32_t)n + 127) << 23};
    return y * s.f;
}

#endif
