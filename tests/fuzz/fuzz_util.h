/* fuzz_util.h - what the fuzz targets share.
 *
 * firth's parsers take a path (the loaders fstat the file to check header sizes against its
 * length, and the corpus reads with pread), so each input is handed over as a file without
 * touching the disk: the bytes go into an anonymous memory file (memfd_create, a regular file
 * as far as fstat is concerned) and the parser opens "/proc/self/fd/N". This tests the library
 * exactly as the CLI calls it; no from-memory entry point was added to the library.
 *
 * Each target defines LLVMFuzzerTestOneInput (and optionally LLVMFuzzerInitialize). The same
 * source builds two ways: with clang -fsanitize=fuzzer into build-fuzz/ (make fuzz), and with
 * tests/fuzz/replay_main.c into build/fuzz-replay/ (make test), which replays the committed
 * seed corpus and every regression input under the ordinary and the SAN=1 build. */
#ifndef FIRTH_FUZZ_UTIL_H
#define FIRTH_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "firth.h"

/* An anonymous file holding data[0..n); its path is written to `path` (>= 32 bytes). Returns the
 * descriptor (close it when done) or -1. */
static inline int fz_memfile(const uint8_t *data, size_t n, char *path) {
    int fd = memfd_create("firth-fuzz", MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    snprintf(path, 32, "/proc/self/fd/%d", fd);
    return fd;
}

/* A failure of the library's contract (not a crash the sanitizers would see): abort so that the
 * fuzzer keeps the input. */
#define FZ_ASSERT(cond)                                                                          \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz contract violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__);  \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* After a failure the error must carry a negative status and a one-line message. */
static inline void fz_check_error(const firth_error *err, int status) {
    FZ_ASSERT(status < 0);
    FZ_ASSERT(err->status == status);
    FZ_ASSERT(err->message[0] != '\0');
    for (const char *p = err->message; *p; p++) FZ_ASSERT(*p != '\n');
}

/* The payload checksum of a native model file (src/embed/model_io.c, docs/formats.md): an
 * FNV-style multiply-xor over 8-byte steps, block by block. Random mutation almost never gets it
 * right, so targets that read native models write the correct value for part of their inputs. */
static inline uint64_t fz_get64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t fz_sum_block(uint64_t h, const uint8_t *p, uint64_t n) {
    while (n >= 8) {
        h = (h ^ fz_get64(p)) * 0x100000001B3ull;
        h ^= h >> 29;
        p += 8, n -= 8;
    }
    while (n--) h = (h ^ *p++) * 0x100000001B3ull;
    return h;
}

/* Writes the correct checksum into the native model f[0..size) when its header's sizes add up
 * to `size` (else leaves it alone). Returns 1 when it did. */
static inline int fz_fix_native_checksum(uint8_t *f, size_t size) {
    enum { HEADER = 112, OFF_DIM = 24, OFF_V = 72, OFF_CHECKSUM = 104 };
    if (size < HEADER) return 0;
    uint32_t dim;
    memcpy(&dim, f + OFF_DIM, 4);
    uint64_t V = fz_get64(f + OFF_V), wb = fz_get64(f + OFF_V + 8), out = fz_get64(f + OFF_V + 16);
    /* sizes small enough not to overflow, and adding up to the file */
    if (V > size || wb > size || out > size || dim > size) return 0;
    uint64_t blocks[4] = {wb, V * 8, V * dim * 4, out * dim * 4};
    if (HEADER + blocks[0] + blocks[1] + blocks[2] + blocks[3] != size) return 0;
    uint64_t h = 0xCBF29CE484222325ull;
    const uint8_t *p = f + HEADER;
    for (int i = 0; i < 4; i++) {
        h = fz_sum_block(h, p, blocks[i]);
        p += blocks[i];
    }
    memcpy(f + OFF_CHECKSUM, &h, 8);
    return 1;
}

#endif
