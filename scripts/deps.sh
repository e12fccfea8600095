#!/bin/sh
# deps.sh - installs the Debian packages firth needs, or says how.
#   scripts/deps.sh          what the build needs (gcc, make, OpenBLAS, LAPACKE, pkg-config)
#   scripts/deps.sh --test   also what the full test suite uses (python3-gensim, numpy, torch,
#                            sklearn, chromium for the projector page's browser test, and Open MPI
#                            for the multi-process training tests)
#   scripts/deps.sh --bench  also the peers of the benchmarks (fasttext, gensim, scipy)
#   scripts/deps.sh --fuzz   clang and its libFuzzer runtime (make fuzz, tests/fuzz/run.sh)
#   scripts/deps.sh --mpi    Open MPI (mpicc, mpirun): `make` then builds firth with MPI
# As root it runs apt-get; otherwise it prints the exact command and exits 1.
set -eu

need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
want() { for p in "$@"; do have_pkg "$p" || need="$need $p"; done; }

want gcc make pkg-config libopenblas-dev liblapacke-dev
case "${1:-}" in
--test) want python3-gensim python3-numpy python3-torch python3-sklearn chromium libopenmpi-dev openmpi-bin ;;
--bench) want python3-gensim python3-numpy python3-scipy python3-torch python3-sklearn fasttext time bc libopenmpi-dev openmpi-bin ;;
--mpi) want libopenmpi-dev openmpi-bin ;;
--fuzz) want clang libclang-rt-14-dev ;;
"") ;;
*) echo "usage: scripts/deps.sh [--test|--bench|--fuzz|--mpi]" >&2; exit 2 ;;
esac

[ -z "$need" ] && exit 0
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: not a Debian system; install by hand:$need" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "firth needs these Debian packages:$need" >&2
    echo "install them with:  sudo apt-get update && sudo apt-get install -y$need" >&2
    exit 1
fi
echo "deps.sh: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need >/dev/null
