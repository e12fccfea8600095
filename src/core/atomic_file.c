/* atomic_file.c - temp + fsync + rename writes. */
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

struct firth_atomic_file {
    FILE *fp;
    char *path;     /* the file to replace: a symbolic link's target, see resolve() */
    char *tmp_path; /* NULL when writing straight to a device or pipe (see firth_atomic_open) */
};

/* An existing target that is neither a regular file nor a directory (a character device such as
 * /dev/null or /dev/full, a FIFO, a socket, /dev/stdout on a pipe or terminal) is written to
 * directly: there is no file to keep, and renaming a temporary file over it would replace the
 * device node itself (as root, `--output /dev/full` turned /dev/full into a regular file; found
 * by tests/bad_input). */
static int is_special(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/* The path to write: for a symbolic link, the file it points to, so that the rename replaces
 * that file and the link stays a link (renaming over the link would cut it, e.g. /dev/stdout
 * redirected to a file). A dangling link or an error resolving it keeps `path` as it is.
 * Caller frees. */
static char *resolve(const char *path) {
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(path, NULL);
        if (real) return real;
    }
    return strdup(path);
}

/* Directory part of `path` ("." when it has none); caller frees. */
static char *dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

static firth_status check_target(const char *path, firth_error *err) {
    if (!path || !*path) return firth_fail(err, FIRTH_ERR_OUTPUT, "empty output path");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return firth_fail(err, FIRTH_ERR_OUTPUT, "cannot write '%s': it is a directory", path);
    return FIRTH_OK;
}

/* mkstemp on "<path>.tmp.XXXXXX"; returns fd or -1 with errno set. */
static int make_temp(const char *path, char **tmp_out) {
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(n);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        errno = e;
        return -1;
    }
    *tmp_out = tmp;
    return fd;
}

firth_status firth_check_writable(const char *path, firth_error *err) {
    firth_status st = check_target(path, err);
    if (st != FIRTH_OK) return st;
    if (is_special(path)) /* opening a FIFO here could block: ask for permission only */
        return access(path, W_OK) == 0
                   ? FIRTH_OK
                   : firth_fail_errno(err, FIRTH_ERR_OUTPUT, errno, "cannot write '%s'", path);
    char *real = resolve(path), *tmp = NULL;
    if (!real) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory checking '%s'", path);
    int fd = make_temp(real, &tmp);
    free(real);
    if (fd < 0) return firth_fail_errno(err, FIRTH_ERR_OUTPUT, errno, "cannot write '%s'", path);
    close(fd);
    unlink(tmp);
    free(tmp);
    return FIRTH_OK;
}

firth_atomic_file *firth_atomic_open(const char *path, firth_error *err) {
    if (check_target(path, err) != FIRTH_OK) return NULL;
    int special = is_special(path);
    firth_atomic_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = special ? strdup(path) : resolve(path))) {
        free(f);
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory opening '%s'", path);
        return NULL;
    }
    if (special) {
        f->fp = fopen(path, "wb");
        if (!f->fp) {
            firth_fail_errno(err, FIRTH_ERR_OUTPUT, errno, "cannot write '%s'", path);
            free(f->path);
            free(f);
            return NULL;
        }
        setvbuf(f->fp, NULL, _IOFBF, 1 << 20);
        return f;
    }
    int fd = make_temp(f->path, &f->tmp_path);
    if (fd < 0) {
        firth_fail_errno(err, FIRTH_ERR_OUTPUT, errno, "cannot write '%s'", path);
        free(f->path);
        free(f);
        return NULL;
    }
    /* mkstemp creates 0600; give the file the usual permissions of a new file */
    fchmod(fd, 0644);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        firth_fail_errno(err, FIRTH_ERR_OUTPUT, errno, "cannot write '%s'", path);
        close(fd);
        unlink(f->tmp_path);
        free(f->tmp_path);
        free(f->path);
        free(f);
        return NULL;
    }
    setvbuf(f->fp, NULL, _IOFBF, 1 << 20);
    return f;
}

FILE *firth_atomic_stream(firth_atomic_file *file) { return file->fp; }

static void release(firth_atomic_file *f) {
    free(f->tmp_path);
    free(f->path);
    free(f);
}

void firth_atomic_abort(firth_atomic_file *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    release(f);
}

firth_status firth_atomic_commit(firth_atomic_file *f, firth_error *err) {
    int failed_errno = 0;
    if (!f->tmp_path) { /* a device or pipe: no fsync (a pipe cannot), no rename */
        if (fflush(f->fp) != 0 || ferror(f->fp)) failed_errno = errno ? errno : EIO;
        if (fclose(f->fp) != 0 && !failed_errno) failed_errno = errno ? errno : EIO;
        firth_status st = failed_errno ? firth_fail_errno(err, FIRTH_ERR_IO, failed_errno,
                                                          "writing '%s' failed", f->path)
                                       : FIRTH_OK;
        release(f);
        return st;
    }
    if (fflush(f->fp) != 0 || ferror(f->fp)) failed_errno = errno ? errno : EIO;
    if (!failed_errno && fsync(fileno(f->fp)) != 0) failed_errno = errno;
    if (fclose(f->fp) != 0 && !failed_errno) failed_errno = errno ? errno : EIO;
    f->fp = NULL;
    if (!failed_errno && rename(f->tmp_path, f->path) != 0) failed_errno = errno;
    if (failed_errno) {
        firth_status st =
            firth_fail_errno(err, FIRTH_ERR_IO, failed_errno, "writing '%s' failed", f->path);
        unlink(f->tmp_path);
        release(f);
        return st;
    }
    /* make the rename itself durable */
    char *dir = dir_of(f->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    release(f);
    return FIRTH_OK;
}
