/* format_w2v.c - word2vec text and binary writers and readers. */
#include "embed/format_w2v.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/mem.h"

#include "core/atomic_file.h"
#include "core/status.h"

firth_status firth_write_w2v(const char *path, int binary, const char *const *words,
                             const float *m, size_t V, int dim, firth_error *err) {
    firth_atomic_file *f = firth_atomic_open(path, err);
    if (!f) return err ? err->status : FIRTH_ERR_OUTPUT;
    FILE *fp = firth_atomic_stream(f);
    fprintf(fp, "%zu %d\n", V, dim);
    for (size_t i = 0; i < V; i++) {
        const float *row = m + i * (size_t)dim;
        if (binary) {
            fputs(words[i], fp);
            fputc(' ', fp);
            fwrite(row, sizeof *row, (size_t)dim, fp);
            fputc('\n', fp);
        } else {
            fputs(words[i], fp);
            for (int d = 0; d < dim; d++) fprintf(fp, " %.9g", row[d]);
            fputc('\n', fp);
        }
        if (ferror(fp)) break; /* reported by the commit */
    }
    return firth_atomic_commit(f, err);
}

firth_status firth_write_tsv(const char *vectors_path, const char *metadata_path,
                             const char *const *words, const float *const *rows, size_t n,
                             int dim, firth_error *err) {
    firth_atomic_file *fv = firth_atomic_open(vectors_path, err);
    if (!fv) return err ? err->status : FIRTH_ERR_OUTPUT;
    firth_atomic_file *fm = firth_atomic_open(metadata_path, err);
    if (!fm) {
        firth_atomic_abort(fv);
        return err ? err->status : FIRTH_ERR_OUTPUT;
    }
    FILE *pv = firth_atomic_stream(fv), *pm = firth_atomic_stream(fm);
    for (size_t i = 0; i < n && !ferror(pv) && !ferror(pm); i++) {
        for (int d = 0; d < dim; d++) fprintf(pv, d ? "\t%.9g" : "%.9g", rows[i][d]);
        fputc('\n', pv);
        fputs(words[i], pm);
        fputc('\n', pm);
    }
    /* flush both before renaming either: a full disk shows up here, with nothing replaced */
    int e1 = fflush(pv) != 0 || ferror(pv), e2 = fflush(pm) != 0 || ferror(pm);
    if (e1 || e2) {
        int e = errno ? errno : EIO;
        firth_atomic_abort(fv);
        firth_atomic_abort(fm);
        return firth_fail_errno(err, FIRTH_ERR_IO, e, "cannot write '%s'",
                                e1 ? vectors_path : metadata_path);
    }
    firth_status rc = firth_atomic_commit(fv, err);
    if (rc != FIRTH_OK) {
        firth_atomic_abort(fm);
        return rc;
    }
    return firth_atomic_commit(fm, err);
}

/* ---------------------------------------------------------------------------------------- */
/* Readers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

#define MAX_WORD_BYTES 4096

/* Reads a word: skips leading white space ('\n' ends the previous binary row), stops at ' ' or
 * '\t' (consumed). Returns its length, 0 at a clean EOF, -1 when malformed. */
static long read_word(FILE *fp, char *buf) {
    int c;
    do c = getc(fp);
    while (c == '\n' || c == ' ' || c == '\r' || c == '\t');
    if (c == EOF) return 0;
    long n = 0;
    while (c != EOF && c != ' ' && c != '\t' && c != '\n') {
        if (c == '\0' || n >= MAX_WORD_BYTES - 1) return -1;
        buf[n++] = (char)c;
        c = getc(fp);
    }
    if (c != ' ' && c != '\t') return -1; /* a word must be followed by its vector */
    buf[n] = '\0';
    return n;
}

static int numeric_byte(int c) {
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' ||
           c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 'n' || c == 'a' || c == 'i' ||
           c == 'f' || c == 'N' || c == 'I' || c == 'F' || c == 'A';
}

/* Opens `path` and reads the "V dim" header and enough of the first row to tell text from
 * binary; leaves the stream just after the header line. `word` is MAX_WORD_BYTES of scratch. On
 * failure closes nothing but returns the error (the caller closes *fp when it is not NULL). */
static firth_status read_header(const char *path, FILE **fp_out, uint64_t *file_size,
                                unsigned long long *V_out, unsigned long long *D_out,
                                long *header_len_out, int *binary_out, char *word,
                                firth_error *err) {
    FILE *fp = fopen(path, "rb");
    *fp_out = fp;
    if (!fp) return firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open '%s'", path);
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
        return firth_fail(err, FIRTH_ERR_INPUT, "'%s' is not a regular file", path);
    *file_size = (uint64_t)st.st_size;
    /* header "V dim" */
    unsigned long long V = 0, D = 0;
    char head[128];
    /* (strtoull, under %llu, takes "-1" as 2^64 - 1: a minus sign is refused first) */
    if (!fgets(head, sizeof head, fp) || strchr(head, '-') ||
        sscanf(head, "%llu %llu", &V, &D) != 2 || !strchr(head, '\n'))
        return firth_fail(err, FIRTH_ERR_INPUT,
                          "'%s' is not a word2vec file: the first line must be 'words dim'", path);
    if (V == 0 || D == 0 || D > 100000)
        return firth_fail(err, FIRTH_ERR_INPUT, "'%s': header says %llu words of dim %llu", path,
                          V, D);
    long header_len = ftell(fp);
    /* text or binary: look at the bytes after the first word */
    long n = read_word(fp, word);
    if (n <= 0) return firth_fail(err, FIRTH_ERR_INPUT, "'%s': malformed first row", path);
    unsigned char peek[64];
    size_t np = fread(peek, 1, sizeof peek < D * 4 ? sizeof peek : (size_t)D * 4, fp);
    int binary = 0;
    size_t tokens = 0;
    for (size_t i = 0; i < np; i++) {
        /* a short text row can end inside the window: "1 0 0\nb ..." is text when its D
         * numbers come before the line end (the next word's letters do not count) */
        if (peek[i] == '\n' && !binary && tokens == D) break;
        binary |= !numeric_byte(peek[i]);
        tokens += peek[i] != ' ' && peek[i] != '\t' && peek[i] != '\r' && peek[i] != '\n' &&
                  (i == 0 || peek[i - 1] == ' ' || peek[i - 1] == '\t');
    }
    if (fseek(fp, header_len, SEEK_SET) != 0)
        return firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot read '%s'", path);
    *V_out = V, *D_out = D, *header_len_out = header_len, *binary_out = binary;
    return FIRTH_OK;
}

firth_status firth_w2v_detect(const char *path, int *binary, firth_error *err) {
    char *word = malloc(MAX_WORD_BYTES);
    if (!word) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory reading '%s'", path);
    FILE *fp = NULL;
    uint64_t file_size;
    unsigned long long V, D;
    long header_len;
    firth_status rc = read_header(path, &fp, &file_size, &V, &D, &header_len, binary, word, err);
    if (fp) fclose(fp);
    free(word);
    return rc;
}

firth_status firth_read_w2v(const char *path, size_t limit, firth_w2v_table *out,
                            firth_error *err) {
    memset(out, 0, sizeof *out);
    char *word = malloc(MAX_WORD_BYTES);
    char *line = NULL;
    size_t line_cap = 0;
    if (!word) return firth_fail(err, FIRTH_ERR_NOMEM, "out of memory reading '%s'", path);
    FILE *fp = NULL;
    uint64_t file_size = 0;
    unsigned long long V = 0, D = 0;
    long header_len = 0, n;
    int binary = 0;
    firth_status rc =
        read_header(path, &fp, &file_size, &V, &D, &header_len, &binary, word, err);
    if (rc != FIRTH_OK) goto done;
    /* the least each row can take: binary "w " + 4 dim bytes; text "w" + dim times " x" */
    uint64_t min_row = binary ? 2 + 4 * D : 1 + 2 * D;
    uint64_t rows = limit > 0 && limit < V ? limit : V;
    if (min_row > UINT64_MAX / V || (uint64_t)header_len + min_row * V > file_size) {
        rc = firth_fail(err, FIRTH_ERR_INPUT,
                        "'%s' is truncated or its header is wrong: %llu words of dim %llu need at "
                        "least %llu bytes but the file has %llu",
                        path, V, D,
                        min_row > UINT64_MAX / V ? ~0ull
                                                 : (unsigned long long)(header_len + min_row * V),
                        (unsigned long long)file_size);
        goto done;
    }
    size_t floats, bytes;
    if (!firth_mul_size((size_t)rows, (size_t)D, &floats) ||
        !firth_mul_size(floats, sizeof(float), &bytes)) {
        rc = firth_fail(err, FIRTH_ERR_INPUT, "'%s': %llu x %llu overflows", path, V, D);
        goto done;
    }
    out->m = firth_alloc_aligned(bytes);
    out->word_off = malloc((size_t)rows * sizeof *out->word_off);
    size_t words_cap = 1 << 16, words_len = 0;
    out->words = malloc(words_cap);
    if (!out->m || !out->word_off || !out->words) {
        rc = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory loading %llu x %llu vectors", V, D);
        goto done;
    }
    for (uint64_t r = 0; r < rows; r++) {
        float *row = out->m + r * D;
        n = read_word(fp, word);
        if (n <= 0) {
            rc = firth_fail(err, FIRTH_ERR_INPUT,
                            "'%s': row %llu of %llu is missing or malformed (truncated file?)",
                            path, (unsigned long long)r + 1, V);
            goto done;
        }
        if (words_len + (size_t)n + 1 > words_cap) {
            while (words_len + (size_t)n + 1 > words_cap) words_cap *= 2;
            char *w = realloc(out->words, words_cap);
            if (!w) {
                rc = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory loading '%s'", path);
                goto done;
            }
            out->words = w;
        }
        memcpy(out->words + words_len, word, (size_t)n + 1);
        out->word_off[r] = words_len;
        words_len += (size_t)n + 1;
        if (binary) {
            if (fread(row, sizeof(float), (size_t)D, fp) != (size_t)D) {
                rc = firth_fail(err, FIRTH_ERR_INPUT, "'%s': row %llu is truncated", path,
                                (unsigned long long)r + 1);
                goto done;
            }
        } else {
            ssize_t len = getline(&line, &line_cap, fp);
            if (len < 0) {
                rc = firth_fail(err, FIRTH_ERR_INPUT, "'%s': row %llu is truncated", path,
                                (unsigned long long)r + 1);
                goto done;
            }
            char *p = line, *end;
            for (uint64_t d = 0; d < D; d++) {
                errno = 0;
                float x = strtof(p, &end);
                if (end == p) {
                    rc = firth_fail(err, FIRTH_ERR_INPUT,
                                    "'%s': row %llu ('%s') has %llu values, expected %llu", path,
                                    (unsigned long long)r + 1, word, (unsigned long long)d, D);
                    goto done;
                }
                row[d] = x;
                p = end;
            }
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
            if (*p) {
                rc = firth_fail(err, FIRTH_ERR_INPUT,
                                "'%s': row %llu ('%s') has more than %llu values", path,
                                (unsigned long long)r + 1, word, D);
                goto done;
            }
        }
        for (uint64_t d = 0; d < D; d++)
            if (!isfinite(row[d])) {
                rc = firth_fail(err, FIRTH_ERR_INPUT, "'%s': row %llu ('%s') is not finite",
                                path, (unsigned long long)r + 1, word);
                goto done;
            }
    }
    out->V = (size_t)rows;
    out->dim = (int)D;
done:
    free(word);
    free(line);
    if (fp) fclose(fp);
    if (rc != FIRTH_OK) {
        free(out->words);
        free(out->word_off);
        firth_free_aligned(out->m);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Keyed vectors: format detection and conversion                                           */
/* ---------------------------------------------------------------------------------------- */

firth_status firth_detect_format(const char *path, firth_format *format, firth_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open '%s'", path);
    char magic[8] = {0};
    size_t got = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    if (got == sizeof magic && memcmp(magic, "FIRTHW2V", 8) == 0) { /* model_io.c's magic */
        *format = FIRTH_FORMAT_NATIVE;
        return FIRTH_OK;
    }
    int binary = 0;
    firth_status rc = firth_w2v_detect(path, &binary, err);
    if (rc == FIRTH_OK) *format = binary ? FIRTH_FORMAT_W2V_BIN : FIRTH_FORMAT_W2V_TEXT;
    return rc;
}

/* The word pointers of all rows, or NULL (out of memory); checks the raw rows are there. */
static const char **raw_words(const firth_vectors *v, const char *what, firth_error *err) {
    size_t V = firth_vectors_count(v);
    if (V > 0 && !firth_vectors_raw(v, 0)) {
        firth_fail(err, FIRTH_ERR_PARAM,
                   "%s needs the rows as stored: load the vectors with firth_vectors_load_raw",
                   what);
        return NULL;
    }
    const char **words = malloc((V ? V : 1) * sizeof *words);
    if (!words) {
        firth_fail(err, FIRTH_ERR_NOMEM, "out of memory listing %zu words", V);
        return NULL;
    }
    for (size_t i = 0; i < V; i++) words[i] = firth_vectors_word(v, i);
    return words;
}

firth_status firth_vectors_save(const firth_vectors *v, const char *path, firth_format format,
                                firth_error *err) {
    if (format == FIRTH_FORMAT_NATIVE)
        return firth_fail(err, FIRTH_ERR_PARAM,
                          "keyed vectors cannot be saved as a native model: they have no output "
                          "weights, counts or training parameters");
    if (format != FIRTH_FORMAT_W2V_TEXT && format != FIRTH_FORMAT_W2V_BIN)
        return firth_fail(err, FIRTH_ERR_PARAM, "unknown output format %d", (int)format);
    const char **words = raw_words(v, "saving", err);
    if (!words) return err ? err->status : FIRTH_ERR_PARAM;
    size_t V = firth_vectors_count(v);
    /* the raw rows are one (V, dim) block (knn.c) */
    firth_status rc = firth_write_w2v(path, format == FIRTH_FORMAT_W2V_BIN, words,
                                      V ? firth_vectors_raw(v, 0) : NULL, V,
                                      firth_vectors_dim(v), err);
    free(words);
    return rc;
}

firth_status firth_vectors_save_tsv(const firth_vectors *v, const char *dir, firth_error *err) {
    struct stat st;
    int created = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return firth_fail(err, FIRTH_ERR_OUTPUT,
                              "cannot export to '%s': it exists and is not a directory", dir);
    } else if (errno != ENOENT || mkdir(dir, 0777) != 0) {
        return firth_fail_errno(err, FIRTH_ERR_OUTPUT, errno, "cannot create directory '%s'", dir);
    } else {
        created = 1;
    }
    size_t V = firth_vectors_count(v), n = 0, plen = strlen(dir) + sizeof "/metadata.tsv";
    const char **words = raw_words(v, "exporting", err);
    const float **rows = malloc((V ? V : 1) * sizeof *rows);
    char *vpath = malloc(plen), *mpath = malloc(plen);
    firth_status rc = FIRTH_OK;
    if (!words) {
        rc = err ? err->status : FIRTH_ERR_PARAM;
    } else if (!rows || !vpath || !mpath) {
        rc = firth_fail(err, FIRTH_ERR_NOMEM, "out of memory exporting %zu words", V);
    } else {
        for (size_t i = 0; i < V; i++) {
            if (strcmp(words[i], FIRTH_EOS_WORD) == 0) continue;
            words[n] = words[i];
            rows[n++] = firth_vectors_raw(v, i);
        }
        snprintf(vpath, plen, "%s/vectors.tsv", dir);
        snprintf(mpath, plen, "%s/metadata.tsv", dir);
        rc = firth_write_tsv(vpath, mpath, words, rows, n, firth_vectors_dim(v), err);
    }
    if (rc != FIRTH_OK && created) rmdir(dir); /* leave nothing behind */
    free(words);
    free(rows);
    free(vpath);
    free(mpath);
    return rc;
}
