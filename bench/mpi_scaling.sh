#!/bin/sh
# mpi_scaling.sh - the inputs and the arithmetic of docs/scaling.md.
#
#   bench/mpi_scaling.sh measure      # MPI_Allreduce times on this machine's loopback (2 ranks)
#   bench/mpi_scaling.sh predict      # the model's predictions for 8/32/128 nodes, 10/100 Gbit/s
#
# measure: builds bench/allreduce_bench.c with mpicc and times one in-place MPI_Allreduce (sum of
# floats) of the sizes firth sends for en-prose: the whole model at dim 100 (2 x 74,638 x 100
# floats, 59.7 MB), the 53% of its rows a 100k-word round sends, and dim 300 (179 MB), plus small
# sizes for the latency; once as one call, once in the 16 MiB pieces firth uses; and the local
# work of a round (bench/sync_local.c: changed rows found, packed, applied; no network). Under
# /tmp/firth-bench.lock like every timed run.
#
# predict: a ring all-reduce of B bytes over R nodes moves 2 (R-1)/R B per node, in 2 (R-1)
# steps: t_comm = 2 (R-1)/R * B / bw + 2 (R-1) * lat. A round is synchronous (the threads wait),
# so the share of time spent communicating is t_comm / (t_comm + S / rate), S = words per node
# between rounds, rate = one node's words/s; it is under 10% when S >= 9 * t_comm * rate.
# Inputs (environment): B (bytes, default 59715200), RATE (words/s per node, default 2400000:
# this 2-core machine, bench/RESULTS.md), LAT10 and LAT100 (seconds per message, defaults 30e-6
# for 10 Gbit/s TCP and 3e-6 for 100 Gbit/s RDMA), EFF (share of the line rate a large transfer
# reaches, default 0.9), LOCAL (seconds of local work per round, packing and applying the rows:
# default 0.012, measured in bench/RESULTS.md).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")

case "${1:-}" in
measure)
    command -v mpicc > /dev/null || { echo "mpi_scaling.sh: mpicc not found (scripts/deps.sh --mpi)" >&2; exit 2; }
    mkdir -p "$REPO/build"
    mpicc -O2 -Wall "$HERE/allreduce_bench.c" -o "$REPO/build/allreduce_bench"
    ROOT=""
    [ "$(id -u)" -eq 0 ] && ROOT="--allow-run-as-root"
    SIZES="1024 262144 4194304 7963040 14927600 44782800"
    echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(mpirun --version | head -n 1)"
    # the local work of a round (finding, packing and applying the changed rows), no network:
    # bench/sync_local.c on a group of one, en-prose's vocabulary size, dim 100 and 300
    [ -f "$REPO/build/libfirth.a" ] || { echo "mpi_scaling.sh: build firth first (make)" >&2; exit 2; }
    # shellcheck disable=SC2046
    mpicc -O3 -march=native -std=c11 -D_GNU_SOURCE -I"$REPO/include" -I"$REPO/src" \
        "$HERE/sync_local.c" "$REPO/build/libfirth.a" $(pkg-config --libs lapacke openblas) \
        -lm -pthread -o "$REPO/build/sync_local"
    for dim in 100 300; do
        flock /tmp/firth-bench.lock "$REPO/build/sync_local" 74638 "$dim" 0.2 0.533 1.0
    done
    for chunk in 0 4194304; do
        # shellcheck disable=SC2086
        REPEAT=${REPEAT:-10} CHUNK=$chunk flock /tmp/firth-bench.lock \
            mpirun $ROOT -np 2 "$REPO/build/allreduce_bench" $SIZES
    done
    ;;
predict)
    awk -v B="${B:-59715200}" -v rate="${RATE:-2400000}" -v lat10="${LAT10:-30e-6}" \
        -v lat100="${LAT100:-3e-6}" -v eff="${EFF:-0.9}" -v local_s="${LOCAL:-0.012}" 'BEGIN {
        printf "model %.1f MB, node %.2fM words/s, %.0f%% of line rate, %.0f ms local work per round\n\n", B / 1e6, rate / 1e6, eff * 100, local_s * 1e3
        printf "| nodes | network | all-reduce ms | + local ms | S for comm < 10%% (words/node) | words/round (all nodes) | S = 100k: comm %% |\n"
        printf "|--:|--|--:|--:|--:|--:|--:|\n"
        split("8 32 128", Rs, " ")
        for (i = 1; i <= 3; i++) for (k = 1; k <= 2; k++) {
            R = Rs[i]; gbit = k == 1 ? 10 : 100; lat = k == 1 ? lat10 : lat100
            bw = gbit * 1e9 / 8 * eff
            t = 2 * (R - 1) / R * B / bw + 2 * (R - 1) * lat
            tc = t + local_s
            S = 9 * tc * rate
            tcomp = 100000 / rate
            printf "| %d | %d Gbit/s | %.1f | %.1f | %.0f | %.0f | %.0f%% |\n", R, gbit, t * 1e3, tc * 1e3, S, S * R, 100 * tc / (tc + tcomp)
        }
    }'
    ;;
*)
    sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
esac
