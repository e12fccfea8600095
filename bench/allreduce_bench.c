/* allreduce_bench.c - how long one MPI_Allreduce (sum of floats, in place) of a given size takes
 * on this machine, for docs/scaling.md's model. Run by bench/mpi_scaling.sh:
 *
 *   mpicc -O2 bench/allreduce_bench.c -o build/allreduce_bench
 *   mpirun -np 2 build/allreduce_bench 14927600 59715200 ...   (sizes in floats)
 *
 * For each size: REPEAT (default 10) timed calls after 2 untimed ones, each call started together
 * (a barrier before it), its time the slowest rank's; prints "floats bytes min_s median_s GB/s"
 * where GB/s is the algorithm bandwidth bytes / median. CHUNK=N (floats) sends each buffer as
 * consecutive all-reduces of at most N floats, as firth does (src/dist/mpi.c: 16 MiB, 4M floats). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *rep_env = getenv("REPEAT");
    int repeat = rep_env ? atoi(rep_env) : 10;
    if (repeat < 1) repeat = 1;
    const char *chunk_env = getenv("CHUNK");
    long chunk = chunk_env ? atol(chunk_env) : 0;
    if (rank == 0)
        printf("# %d processes, %d timed calls per size, chunk %ld floats\n"
               "# floats bytes min_s median_s GB/s\n",
               size, repeat, chunk);
    for (int a = 1; a < argc; a++) {
        long n = atol(argv[a]);
        if (n < 1) continue;
        float *buf = malloc((size_t)n * sizeof *buf);
        double *t = malloc((size_t)repeat * sizeof *t);
        if (!buf || !t) {
            fprintf(stderr, "out of memory for %ld floats\n", n);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        for (long i = 0; i < n; i++) buf[i] = 1e-6f * (float)(i % 1000);
        for (int r = -2; r < repeat; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            long step = chunk > 0 ? chunk : n;
            for (long at = 0; at < n; at += step)
                MPI_Allreduce(MPI_IN_PLACE, buf + at, (int)(n - at < step ? n - at : step),
                              MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double dt = MPI_Wtime() - t0, slowest;
            MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (r >= 0) t[r] = slowest;
        }
        qsort(t, (size_t)repeat, sizeof *t, by_value);
        double med = t[repeat / 2], bytes = (double)n * sizeof(float);
        if (rank == 0) printf("%ld %.0f %.6f %.6f %.2f\n", n, bytes, t[0], med, bytes / med / 1e9);
        fflush(stdout);
        free(buf);
        free(t);
    }
    MPI_Finalize();
    return 0;
}
