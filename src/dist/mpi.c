/* mpi.c - a group of processes (firth_dist) and its collective operations (dist.h), over MPI
 * when built with FIRTH_WITH_MPI, and as a group of one otherwise. The only file that includes
 * <mpi.h>; the rest of the library sees dist.h.
 *
 * The group works on a duplicate of MPI_COMM_WORLD, so that its messages never meet those of a
 * program that uses MPI itself, and with MPI_ERRORS_RETURN, so that a failure becomes a status
 * instead of an abort. */
#include "dist/dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#ifdef FIRTH_WITH_MPI
#include <mpi.h>
#endif

struct firth_dist {
    int rank, size;
    int owns_mpi; /* firth_dist_init started MPI, so firth_dist_free finalises it */
#ifdef FIRTH_WITH_MPI
    MPI_Comm comm; /* MPI_COMM_NULL for a group of one */
#endif
};

int firth_dist_built_with_mpi(void) {
#ifdef FIRTH_WITH_MPI
    return 1;
#else
    return 0;
#endif
}

/* The number of processes a launcher says it started, or 0 when not started by one. */
static long launcher_size(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return strtol(v, NULL, 10);
    }
    /* PMIx (Open MPI 5, Slurm) sets PMIX_RANK but not always a size */
    return getenv("PMIX_RANK") ? 1 : 0;
}

int firth_dist_rank(const firth_dist *d) { return d ? d->rank : 0; }
int firth_dist_size(const firth_dist *d) { return d ? d->size : 1; }

#ifdef FIRTH_WITH_MPI

static int in_group(const firth_dist *d) { return d && d->size > 1; }

static firth_status mpi_fail(firth_error *err, int code, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = '\0';
    return firth_fail(err, FIRTH_ERR_IO, "%s failed: %s", what, len ? msg : "MPI error");
}

firth_dist *firth_dist_init(int *argc, char ***argv, firth_error *err) {
    firth_dist *d = calloc(1, sizeof *d);
    if (!d) {
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        return NULL;
    }
    d->size = 1;
    d->comm = MPI_COMM_NULL;
    int started = 0;
    if (MPI_Initialized(&started) != MPI_SUCCESS) started = 0;
    if (!started && launcher_size() == 0) return d; /* not under mpirun: a group of one */
    if (!started) {
        int provided = 0;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
            free(d);
            firth_fail(err, FIRTH_ERR_IO, "MPI could not be started (MPI_Init_thread failed)");
            return NULL;
        }
        d->owns_mpi = 1;
        if (provided < MPI_THREAD_FUNNELED) {
            firth_dist_free(d);
            firth_fail(err, FIRTH_ERR_INTERNAL,
                       "this MPI does not allow threads (MPI_THREAD_FUNNELED); firth's workers "
                       "are threads");
            return NULL;
        }
    }
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    if (rc != MPI_SUCCESS) {
        d->comm = MPI_COMM_NULL;
        firth_dist_free(d);
        mpi_fail(err, rc, "MPI_Comm_dup");
        return NULL;
    }
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    return d;
}

void firth_dist_free(firth_dist *d) {
    if (!d) return;
    if (d->comm != MPI_COMM_NULL) MPI_Comm_free(&d->comm);
    if (d->owns_mpi) MPI_Finalize();
    free(d);
}

/* Large buffers go in pieces of at most PIECE bytes, one MPI call each. Counts are ints, but the
 * reason for pieces this small is speed: Open MPI 4.1's default all-reduce of one 60 MB buffer
 * took 190 ms on this machine's loopback, in 16 MiB pieces 15 ms (bench/RESULTS.md, "MPI"). */
#define PIECE ((size_t)16 << 20)

static MPI_Op mpi_op(dist_op op) {
    switch (op) {
    case DIST_MIN: return MPI_MIN;
    case DIST_MAX: return MPI_MAX;
    case DIST_BOR: return MPI_BOR;
    default: return MPI_SUM;
    }
}

static firth_status allreduce(const firth_dist *d, void *buf, size_t n, size_t elem,
                              MPI_Datatype type, dist_op op, firth_error *err) {
    if (!in_group(d)) return FIRTH_OK;
    const size_t piece = PIECE / elem;
    for (size_t at = 0; at < n; at += piece) {
        size_t k = n - at < piece ? n - at : piece;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * elem, (int)k, type, mpi_op(op),
                               d->comm);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Allreduce");
    }
    return FIRTH_OK;
}

firth_status dist_allreduce_f32(const firth_dist *d, float *buf, size_t n, dist_op op,
                                firth_error *err) {
    if (op == DIST_BOR) return firth_fail(err, FIRTH_ERR_INTERNAL, "bitwise or of floats");
    return allreduce(d, buf, n, sizeof *buf, MPI_FLOAT, op, err);
}

firth_status dist_allreduce_f64(const firth_dist *d, double *buf, size_t n, dist_op op,
                                firth_error *err) {
    if (op == DIST_BOR) return firth_fail(err, FIRTH_ERR_INTERNAL, "bitwise or of doubles");
    return allreduce(d, buf, n, sizeof *buf, MPI_DOUBLE, op, err);
}

firth_status dist_allreduce_u64(const firth_dist *d, uint64_t *buf, size_t n, dist_op op,
                                firth_error *err) {
    return allreduce(d, buf, n, sizeof *buf, MPI_UINT64_T, op, err);
}

firth_status dist_allreduce_u32(const firth_dist *d, uint32_t *buf, size_t n, dist_op op,
                                firth_error *err) {
    return allreduce(d, buf, n, sizeof *buf, MPI_UINT32_T, op, err);
}

firth_status dist_bcast(const firth_dist *d, void *buf, size_t bytes, int root,
                        firth_error *err) {
    if (!in_group(d)) return FIRTH_OK;
    for (size_t at = 0; at < bytes; at += PIECE) {
        size_t k = bytes - at < PIECE ? bytes - at : PIECE;
        int rc = MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, root, d->comm);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Bcast");
    }
    return FIRTH_OK;
}

/* Byte counts and displacements as MPI's ints; FIRTH_ERR_PARAM when a total is too large. */
static firth_status to_ints(const uint64_t *bytes, int n, int *counts, int *displs,
                            firth_error *err) {
    uint64_t at = 0;
    for (int r = 0; r < n; r++) {
        if (bytes[r] > INT_MAX || at > INT_MAX)
            return firth_fail(err, FIRTH_ERR_PARAM,
                              "more than 2 GiB to exchange between ranks at once (a vocabulary "
                              "this large needs a lower --prune-at)");
        counts[r] = (int)bytes[r];
        displs[r] = (int)at;
        at += bytes[r];
    }
    if (at > INT_MAX)
        return firth_fail(err, FIRTH_ERR_PARAM,
                          "more than 2 GiB to exchange between ranks at once (a vocabulary this "
                          "large needs a lower --prune-at)");
    return FIRTH_OK;
}

/* Collective: 1 in *any when `local` is non-zero on some rank. */
static firth_status any_rank(const firth_dist *d, int local, int *any, firth_error *err) {
    uint64_t v = local != 0;
    firth_status st = allreduce(d, &v, 1, sizeof v, MPI_UINT64_T, DIST_MAX, err);
    *any = v != 0;
    return st;
}

/* Collective: FIRTH_OK when every rank's `st` is; else this rank's own error, or `other` for
 * ranks whose step went well. */
static firth_status together(const firth_dist *d, firth_status st, firth_status other_status,
                             const char *other, firth_error *err) {
    int any = 0;
    firth_status st2 = any_rank(d, st != FIRTH_OK, &any, err);
    if (st != FIRTH_OK) return st;
    if (st2 != FIRTH_OK) return st2;
    return any ? firth_fail(err, other_status, "%s", other) : FIRTH_OK;
}

firth_status dist_alltoallv(const firth_dist *d, const void *send, const uint64_t *send_bytes,
                            void **recv, uint64_t *recv_bytes, firth_error *err) {
    *recv = NULL;
    *recv_bytes = 0;
    if (!in_group(d)) {
        if (send_bytes[0] && !(*recv = malloc(send_bytes[0])))
            return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        if (send_bytes[0]) memcpy(*recv, send, send_bytes[0]);
        *recv_bytes = send_bytes[0];
        return FIRTH_OK;
    }
    size_t n = (size_t)d->size;
    uint64_t *rb = malloc(n * sizeof *rb);
    int *sc = malloc(n * sizeof *sc), *sd = malloc(n * sizeof *sd);
    int *rc = malloc(n * sizeof *rc), *rd = malloc(n * sizeof *rd);
    void *buf = NULL;
    firth_status st = rb && sc && sd && rc && rd
                          ? FIRTH_OK
                          : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    st = together(d, st, FIRTH_ERR_NOMEM, "another rank ran out of memory", err);
    if (st == FIRTH_OK) { /* how much each rank sends to each */
        int mrc = MPI_Alltoall(send_bytes, 1, MPI_UINT64_T, rb, 1, MPI_UINT64_T, d->comm);
        if (mrc != MPI_SUCCESS) st = mpi_fail(err, mrc, "MPI_Alltoall");
    }
    if (st == FIRTH_OK) {
        st = to_ints(send_bytes, (int)n, sc, sd, err);
        if (st == FIRTH_OK) st = to_ints(rb, (int)n, rc, rd, err);
        st = together(d, st, FIRTH_ERR_PARAM,
                      "another rank has more than 2 GiB to exchange (a vocabulary this large "
                      "needs a lower --prune-at)",
                      err);
    }
    uint64_t total = 0;
    if (st == FIRTH_OK) {
        for (size_t r = 0; r < n; r++) total += rb[r];
        buf = malloc(total ? total : 1);
        st = buf ? FIRTH_OK : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory exchanging words");
        st = together(d, st, FIRTH_ERR_NOMEM, "another rank ran out of memory", err);
    }
    if (st == FIRTH_OK) {
        int mrc = MPI_Alltoallv(send, sc, sd, MPI_BYTE, buf, rc, rd, MPI_BYTE, d->comm);
        if (mrc != MPI_SUCCESS) st = mpi_fail(err, mrc, "MPI_Alltoallv");
    }
    if (st == FIRTH_OK && total) {
        *recv = buf;
        *recv_bytes = total;
    } else {
        free(buf);
    }
    free(rb), free(sc), free(sd), free(rc), free(rd);
    return st;
}

firth_status dist_allgatherv(const firth_dist *d, const void *send, uint64_t bytes, void **recv,
                             uint64_t *recv_bytes, firth_error *err) {
    *recv = NULL;
    *recv_bytes = 0;
    if (!in_group(d)) {
        uint64_t b = bytes;
        return dist_alltoallv(d, send, &b, recv, recv_bytes, err);
    }
    size_t n = (size_t)d->size;
    uint64_t *all = calloc(n, sizeof *all);
    int *counts = malloc(n * sizeof *counts), *displs = malloc(n * sizeof *displs);
    void *buf = NULL;
    firth_status st = all && counts && displs
                          ? FIRTH_OK
                          : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    st = together(d, st, FIRTH_ERR_NOMEM, "another rank ran out of memory", err);
    if (st == FIRTH_OK) { /* every rank's size, then one MPI_Allgatherv */
        all[d->rank] = bytes;
        st = allreduce(d, all, n, sizeof *all, MPI_UINT64_T, DIST_SUM, err);
    }
    if (st == FIRTH_OK) st = to_ints(all, (int)n, counts, displs, err); /* same on every rank */
    uint64_t total = 0;
    if (st == FIRTH_OK) {
        for (size_t r = 0; r < n; r++) total += all[r];
        buf = malloc(total ? total : 1);
        st = buf ? FIRTH_OK : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory gathering words");
        st = together(d, st, FIRTH_ERR_NOMEM, "another rank ran out of memory", err);
    }
    if (st == FIRTH_OK) {
        int mrc = MPI_Allgatherv(send, counts[d->rank], MPI_BYTE, buf, counts, displs, MPI_BYTE,
                                 d->comm);
        if (mrc != MPI_SUCCESS) st = mpi_fail(err, mrc, "MPI_Allgatherv");
    }
    if (st == FIRTH_OK && total) {
        *recv = buf;
        *recv_bytes = total;
    } else {
        free(buf);
    }
    free(all), free(counts), free(displs);
    return st;
}

#else /* a group of one: no MPI */

firth_dist *firth_dist_init(int *argc, char ***argv, firth_error *err) {
    (void)argc, (void)argv;
    long n = launcher_size();
    if (n > 1) {
        firth_fail(err, FIRTH_ERR_PARAM,
                   "started by an MPI launcher with %ld processes, but this firth was built "
                   "without MPI (install libopenmpi-dev and openmpi-bin, e.g. scripts/deps.sh "
                   "--mpi, then rebuild)",
                   n);
        return NULL;
    }
    firth_dist *d = calloc(1, sizeof *d);
    if (!d) {
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        return NULL;
    }
    d->size = 1;
    return d;
}

void firth_dist_free(firth_dist *d) { free(d); }

firth_status dist_allreduce_f32(const firth_dist *d, float *buf, size_t n, dist_op op,
                                firth_error *err) {
    (void)d, (void)buf, (void)n, (void)op, (void)err;
    return FIRTH_OK;
}
firth_status dist_allreduce_f64(const firth_dist *d, double *buf, size_t n, dist_op op,
                                firth_error *err) {
    (void)d, (void)buf, (void)n, (void)op, (void)err;
    return FIRTH_OK;
}
firth_status dist_allreduce_u64(const firth_dist *d, uint64_t *buf, size_t n, dist_op op,
                                firth_error *err) {
    (void)d, (void)buf, (void)n, (void)op, (void)err;
    return FIRTH_OK;
}
firth_status dist_allreduce_u32(const firth_dist *d, uint32_t *buf, size_t n, dist_op op,
                                firth_error *err) {
    (void)d, (void)buf, (void)n, (void)op, (void)err;
    return FIRTH_OK;
}
firth_status dist_bcast(const firth_dist *d, void *buf, size_t bytes, int root,
                        firth_error *err) {
    (void)d, (void)buf, (void)bytes, (void)root, (void)err;
    return FIRTH_OK;
}

static firth_status copy_out(const void *send, uint64_t bytes, void **recv, uint64_t *recv_bytes,
                             firth_error *err) {
    *recv = NULL;
    *recv_bytes = 0;
    if (bytes) {
        if (!(*recv = malloc(bytes))) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
        memcpy(*recv, send, bytes);
    }
    *recv_bytes = bytes;
    return FIRTH_OK;
}

firth_status dist_alltoallv(const firth_dist *d, const void *send, const uint64_t *send_bytes,
                            void **recv, uint64_t *recv_bytes, firth_error *err) {
    (void)d;
    return copy_out(send, send_bytes[0], recv, recv_bytes, err);
}

firth_status dist_allgatherv(const firth_dist *d, const void *send, uint64_t bytes, void **recv,
                             uint64_t *recv_bytes, firth_error *err) {
    (void)d;
    return copy_out(send, bytes, recv, recv_bytes, err);
}

#endif

/* ---- the same with and without MPI ---- */

uint64_t dist_hash(uint64_t h, const void *data, size_t bytes) {
    const unsigned char *p = data;
    for (; bytes >= 8; p += 8, bytes -= 8) { /* 8 bytes a step: models are large */
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    for (; bytes; p++, bytes--) h = (h ^ *p) * 0x100000001B3ull;
    return h;
}

firth_status firth_dist_agree(const firth_dist *d, firth_status status, firth_error *err) {
    int n = firth_dist_size(d);
    if (n <= 1) return status;
    /* the lowest failing rank, or n */
    uint64_t first = status != FIRTH_OK ? (uint64_t)firth_dist_rank(d) : (uint64_t)n;
    firth_error tmp = {0};
    if (dist_allreduce_u64(d, &first, 1, DIST_MIN, &tmp) != FIRTH_OK) {
        if (err) *err = tmp;
        return tmp.status;
    }
    if (first == (uint64_t)n) return FIRTH_OK;
    /* its status and message to everyone */
    firth_error msg = {0};
    if ((uint64_t)firth_dist_rank(d) == first) {
        if (err) msg = *err;
        msg.status = status;
        if (!msg.message[0]) snprintf(msg.message, sizeof msg.message, "%s", firth_status_name(status));
    }
    if (dist_bcast(d, &msg, sizeof msg, (int)first, &tmp) != FIRTH_OK) {
        if (err) *err = tmp;
        return tmp.status;
    }
    msg.message[sizeof msg.message - 1] = '\0';
    if (err) {
        err->status = msg.status;
        if (first > 0)
            snprintf(err->message, sizeof err->message, "rank %d: %.490s", (int)first, msg.message);
        else
            memcpy(err->message, msg.message, sizeof err->message);
    }
    return msg.status;
}

firth_status dist_check_same(const firth_dist *d, uint64_t value, const char *what,
                             firth_error *err) {
    int n = firth_dist_size(d);
    if (n <= 1) return FIRTH_OK;
    uint64_t *all = calloc((size_t)n, sizeof *all);
    uint64_t fail = all == NULL;
    firth_status st = dist_allreduce_u64(d, &fail, 1, DIST_MAX, err);
    if (st != FIRTH_OK || fail) {
        free(all);
        return st != FIRTH_OK ? st : firth_fail(err, FIRTH_ERR_NOMEM, "out of memory");
    }
    all[firth_dist_rank(d)] = value;
    st = dist_allreduce_u64(d, all, (size_t)n, DIST_SUM, err);
    for (int r = 1; r < n && st == FIRTH_OK; r++)
        if (all[r] != all[0])
            st = firth_fail(err, FIRTH_ERR_INPUT, "%s differs between rank 0 and rank %d", what, r);
    free(all);
    return st;
}
