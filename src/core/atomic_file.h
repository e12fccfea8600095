/* atomic_file.h - every file firth writes goes through here: a temporary file in the target's
 * directory, fflush + fsync, rename over the target, fsync of the directory. A crash or a failed
 * write never leaves a half-written file where a good one stood. */
#ifndef FIRTH_CORE_ATOMIC_FILE_H
#define FIRTH_CORE_ATOMIC_FILE_H

#include <stdio.h>

#include "firth.h"

typedef struct firth_atomic_file firth_atomic_file;

/* Creates "<path>.tmp.XXXXXX" next to `path`. NULL and FIRTH_ERR_OUTPUT when it cannot.
 * A symbolic link is followed: the file it points to is replaced, the link stays. An existing
 * target that is not a regular file (/dev/null, /dev/full, a FIFO, a terminal) is written
 * directly, without a temporary file; the commit then reports write errors (ENOSPC) the same. */
firth_atomic_file *firth_atomic_open(const char *path, firth_error *err);
/* The stream to write to (buffered). */
FILE *firth_atomic_stream(firth_atomic_file *file);
/* Flushes, fsyncs, renames over the target and fsyncs the directory; always frees `file`.
 * On failure (FIRTH_ERR_IO, e.g. disk full) the temporary file is removed and the old target
 * stays as it was. */
firth_status firth_atomic_commit(firth_atomic_file *file, firth_error *err);
/* Gives up: removes the temporary file and frees `file`. Accepts NULL. */
void firth_atomic_abort(firth_atomic_file *file);

#endif
