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

#endif
