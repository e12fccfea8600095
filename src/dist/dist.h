/* dist.h - the collective operations distributed training needs, inside the library.
 *
 * dist/mpi.c implements them over MPI when the library is built with FIRTH_WITH_MPI (the
 * Makefile defines it for that one file when it finds mpicc) and for a group of one otherwise;
 * it is the only file that includes <mpi.h>. Every function here is collective (all ranks call
 * it, in the same order, with matching sizes) and runs on the thread that created the group.
 * Buffers are reduced in place. Counts may exceed INT_MAX: they are sent in pieces. An MPI
 * failure becomes FIRTH_ERR_IO with MPI's message. */
#ifndef FIRTH_DIST_DIST_H
#define FIRTH_DIST_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "firth.h"

typedef enum dist_op { DIST_SUM, DIST_MIN, DIST_MAX, DIST_BOR } dist_op;

/* buf[i] = op over all ranks of buf[i]. DIST_BOR is for the integer kinds only. */
firth_status dist_allreduce_f32(const firth_dist *d, float *buf, size_t n, dist_op op,
                                firth_error *err);
firth_status dist_allreduce_f64(const firth_dist *d, double *buf, size_t n, dist_op op,
                                firth_error *err);
firth_status dist_allreduce_u64(const firth_dist *d, uint64_t *buf, size_t n, dist_op op,
                                firth_error *err);
firth_status dist_allreduce_u32(const firth_dist *d, uint32_t *buf, size_t n, dist_op op,
                                firth_error *err);

/* Copies `bytes` bytes at buf from rank `root` to every rank. */
firth_status dist_bcast(const firth_dist *d, void *buf, size_t bytes, int root, firth_error *err);

/* Every rank sends send_bytes[r] bytes (consecutive in `send`, rank 0's first) to rank r and
 * receives what every rank sent it, in rank order, into *recv (malloc'd, caller frees; NULL when
 * nothing arrived) of *recv_bytes bytes. */
firth_status dist_alltoallv(const firth_dist *d, const void *send, const uint64_t *send_bytes,
                            void **recv, uint64_t *recv_bytes, firth_error *err);

/* Every rank receives the concatenation, in rank order, of every rank's `bytes` bytes at `send`
 * into *recv (malloc'd, caller frees; NULL when empty) of *recv_bytes bytes. */
firth_status dist_allgatherv(const firth_dist *d, const void *send, uint64_t bytes, void **recv,
                             uint64_t *recv_bytes, firth_error *err);

/* FNV-1a-style 64-bit hash, to compare data across ranks (not for hash tables). */
uint64_t dist_hash(uint64_t h, const void *data, size_t bytes);
#define DIST_HASH_INIT 0xCBF29CE484222325ull

/* FIRTH_OK when `value` is the same on every rank; else fills err with `what` and the first
 * rank that differs from rank 0 (FIRTH_ERR_INPUT). */
firth_status dist_check_same(const firth_dist *d, uint64_t value, const char *what,
                             firth_error *err);

#endif
