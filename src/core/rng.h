/* rng.h - explicit-state random numbers (SplitMix64). Each thread owns one; no global state. */
#ifndef FIRTH_CORE_RNG_H
#define FIRTH_CORE_RNG_H

#include <stdint.h>

typedef struct firth_rng {
    uint64_t state;
} firth_rng;

/* Seeds so that nearby seeds (seed, seed + 1, ...) give unrelated streams. */
static inline void firth_rng_seed(firth_rng *rng, uint64_t seed) {
    rng->state = seed * 0xD1B54A32D192ED03ull + 0x9E3779B97F4A7C15ull;
}

/* SplitMix64 (Steele, Lea, Flood 2014): passes BigCrush, one add and two multiplies. */
static inline uint64_t firth_rng_next(firth_rng *rng) {
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The value the (k + 1)-th next call would return, without advancing: SplitMix64's state moves
 * by a constant, so any draw of a stream can be computed on its own (and a stream split between
 * threads gives the same numbers as one thread drawing them in turn). */
static inline uint64_t firth_rng_at(const firth_rng *rng, uint64_t k) {
    uint64_t z = rng->state + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Advances as n calls of firth_rng_next would. */
static inline void firth_rng_skip(firth_rng *rng, uint64_t n) {
    rng->state += n * 0x9E3779B97F4A7C15ull;
}
/* Uniform integer in [0, n) for n < 2^32 (Lemire's multiply-shift; bias below 2^-32 * n). */
static inline uint32_t firth_rng_below(firth_rng *rng, uint32_t n) {
    return (uint32_t)(((firth_rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline float firth_rng_float(firth_rng *rng) {
    return (float)(firth_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double firth_rng_double(firth_rng *rng) {
    return (double)(firth_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
