/* corpus.c - a corpus as one virtual byte stream over files, and the streaming tokenizer.
 *
 * The virtual stream is file 1, '\n', file 2, '\n', ... so every file ends a sentence. Reads use
 * pread on descriptors opened once, so any number of tokenizers (one per thread) can read at once.
 * Nothing is held in memory beyond one buffer per tokenizer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "firth.h"
#include "text/utf8.h"

struct firth_corpus {
    size_t n, cap; /* files opened, files named */
    int *fds;
    char **names;
    uint64_t *starts; /* offset of file i in the virtual stream */
    uint64_t *sizes;  /* bytes of file i */
    unsigned char *eol; /* 1 when file i needs a virtual '\n' after it (it does not end in one) */
    uint64_t total;
};

firth_text_params firth_text_default_params(void) {
    firth_text_params p;
    p.lowercase = 0;
    p.strip_punct = 0;
    p.utf8 = FIRTH_UTF8_STRICT;
    p.max_token_bytes = 100;
    p.max_sentence_words = 1000;
    return p;
}

/* Copies a non-seekable stream to an unlinked temporary file; returns its fd or -1. */
static int spool(int in_fd, const char *name, uint64_t *size, firth_error *err) {
    FILE *tmp = tmpfile();
    if (!tmp) {
        firth_fail_errno(err, FIRTH_ERR_IO, errno, "cannot create a temporary file for '%s'",
                         name);
        return -1;
    }
    char buf[1 << 16];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(in_fd, buf, sizeof buf);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot read '%s'", name);
            fclose(tmp);
            return -1;
        }
        if (fwrite(buf, 1, (size_t)r, tmp) != (size_t)r) {
            firth_fail_errno(err, FIRTH_ERR_IO, errno, "cannot spool '%s' to a temporary file",
                             name);
            fclose(tmp);
            return -1;
        }
        total += (uint64_t)r;
    }
    if (fflush(tmp) != 0) {
        firth_fail_errno(err, FIRTH_ERR_IO, errno, "cannot spool '%s' to a temporary file", name);
        fclose(tmp);
        return -1;
    }
    int fd = dup(fileno(tmp));
    fclose(tmp);
    if (fd < 0) firth_fail_errno(err, FIRTH_ERR_IO, errno, "cannot spool '%s'", name);
    *size = total;
    return fd;
}

firth_corpus *firth_corpus_open(const char *const *paths, size_t n_paths, firth_error *err) {
    if (n_paths == 0) {
        firth_fail(err, FIRTH_ERR_PARAM, "no input file given");
        return NULL;
    }
    firth_corpus *c = calloc(1, sizeof *c);
    if (!c) goto nomem;
    c->fds = malloc(n_paths * sizeof *c->fds);
    c->names = calloc(n_paths, sizeof *c->names);
    c->starts = malloc(n_paths * sizeof *c->starts);
    c->sizes = malloc(n_paths * sizeof *c->sizes);
    c->eol = malloc(n_paths);
    c->cap = n_paths;
    if (!c->fds || !c->names || !c->starts || !c->sizes || !c->eol) goto nomem;
    int stdin_used = 0;
    for (size_t i = 0; i < n_paths; i++) {
        const char *path = paths[i];
        int is_stdin = strcmp(path, "-") == 0;
        c->names[i] = strdup(is_stdin ? "<stdin>" : path);
        if (!c->names[i]) goto nomem;
        int fd;
        if (is_stdin) {
            if (stdin_used) {
                firth_fail(err, FIRTH_ERR_PARAM, "standard input ('-') can be read only once");
                goto fail;
            }
            stdin_used = 1;
            fd = STDIN_FILENO;
        } else {
            fd = open(path, O_RDONLY);
            if (fd < 0) {
                firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot open '%s'", path);
                goto fail;
            }
        }
        struct stat st;
        if (fstat(fd, &st) != 0) {
            firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot read '%s'", c->names[i]);
            if (!is_stdin) close(fd);
            goto fail;
        }
        if (S_ISDIR(st.st_mode)) {
            firth_fail(err, FIRTH_ERR_INPUT, "'%s' is a directory, not a text file", path);
            close(fd);
            goto fail;
        }
        if (S_ISREG(st.st_mode)) {
            c->sizes[i] = (uint64_t)st.st_size;
            c->fds[i] = is_stdin ? dup(fd) : fd;
            if (c->fds[i] < 0) {
                firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot read '%s'", c->names[i]);
                goto fail;
            }
        } else { /* a pipe, terminal or device: copy it once so that it can be re-read */
            int sfd = spool(fd, c->names[i], &c->sizes[i], err);
            if (!is_stdin) close(fd);
            if (sfd < 0) goto fail;
            c->fds[i] = sfd;
        }
        /* every file ends a sentence: add a line end unless it has one (so that a final line
         * end is not counted as two sentence ends). Line ends are '\n', U+0085 (C2 85), U+2028
         * (E2 80 A8) and U+2029 (E2 80 A9); a lead byte is never a continuation, so the last
         * bytes alone tell whether the file's last character is one. */
        unsigned char tail[3] = {0, 0, '\n'};
        size_t nt = c->sizes[i] < 3 ? (size_t)c->sizes[i] : 3;
        if (nt > 0 &&
            pread(c->fds[i], tail + 3 - nt, nt, (off_t)(c->sizes[i] - nt)) != (ssize_t)nt) {
            firth_fail_errno(err, FIRTH_ERR_INPUT, errno, "cannot read '%s'", c->names[i]);
            c->n = i + 1;
            goto fail;
        }
        int ends_line = tail[2] == '\n' || (tail[1] == 0xC2 && tail[2] == 0x85) ||
                        (tail[0] == 0xE2 && tail[1] == 0x80 &&
                         (tail[2] == 0xA8 || tail[2] == 0xA9));
        c->eol[i] = !ends_line;
        c->starts[i] = c->total;
        c->total += c->sizes[i] + c->eol[i];
        c->n = i + 1;
    }
    return c;
nomem:
    firth_fail(err, FIRTH_ERR_NOMEM, "out of memory opening the corpus");
fail:
    firth_corpus_free(c);
    return NULL;
}

void firth_corpus_free(firth_corpus *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) close(c->fds[i]);
    if (c->names)
        for (size_t i = 0; i < c->cap; i++) free(c->names[i]);
    free(c->names);
    free(c->fds);
    free(c->starts);
    free(c->sizes);
    free(c->eol);
    free(c);
}

uint64_t firth_corpus_size(const firth_corpus *c) { return c->total; }

/* File index holding virtual offset `off` (off < total). */
static size_t file_at(const firth_corpus *c, uint64_t off) {
    size_t lo = 0, hi = c->n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (c->starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Reads up to n bytes of the virtual stream at `off`. Returns bytes read (0 at the end) or -1. */
static ssize_t corpus_read(const firth_corpus *c, uint64_t off, unsigned char *buf, size_t n,
                           firth_error *err) {
    size_t got = 0;
    while (got < n && off < c->total) {
        size_t f = file_at(c, off);
        uint64_t in_file = off - c->starts[f];
        if (in_file == c->sizes[f]) { /* the virtual line end after the file */
            buf[got++] = '\n';
            off++;
            continue;
        }
        uint64_t left = c->sizes[f] - in_file;
        size_t want = n - got < left ? n - got : (size_t)left;
        ssize_t r = pread(c->fds[f], buf + got, want, (off_t)in_file);
        if (r < 0) {
            if (errno == EINTR) continue;
            firth_fail_errno(err, FIRTH_ERR_IO, errno, "cannot read '%s'", c->names[f]);
            return -1;
        }
        if (r == 0) {
            firth_fail(err, FIRTH_ERR_IO, "'%s' became shorter while being read", c->names[f]);
            return -1;
        }
        got += (size_t)r;
        off += (uint64_t)r;
    }
    return (ssize_t)got;
}

/* ---------------------------------------------------------------------------------------- */

#define TOK_BUF (1u << 18)

enum { CLS_WORD = 0, CLS_SPACE = 1, CLS_NEWLINE = 2, CLS_NUL = 3, CLS_HIGH = 4 };

struct firth_tokenizer {
    const firth_corpus *c;
    firth_text_params p;
    uint64_t end;           /* range end (exclusive) */
    uint64_t buf_off;       /* corpus offset of buf[0] */
    unsigned char *buf;     /* TOK_BUF bytes */
    size_t len, i;          /* valid bytes and cursor */
    int eof;                /* the corpus has no bytes after buf[len) */
    unsigned char *tok;     /* current token, max_token_bytes + 1 */
    size_t tok_len;
    int in_token, truncated;
    unsigned char cls[128]; /* class of each ASCII byte */
    unsigned char map[128]; /* ASCII byte after lower-casing; 0 = deleted (punctuation) */
};

/* Ensures at least `want` bytes from the cursor, unless the corpus ends. Returns -1 on error. */
static int fill(firth_tokenizer *t, size_t want, firth_error *err) {
    if (t->len - t->i >= want || t->eof) return 0;
    size_t keep = t->len - t->i;
    memmove(t->buf, t->buf + t->i, keep);
    t->buf_off += t->i;
    t->i = 0;
    t->len = keep;
    while (t->len < want && !t->eof) {
        ssize_t r = corpus_read(t->c, t->buf_off + t->len, t->buf + t->len, TOK_BUF - t->len, err);
        if (r < 0) return -1;
        if (r == 0) t->eof = 1;
        t->len += (size_t)r;
    }
    return 0;
}

static uint64_t cursor(const firth_tokenizer *t) { return t->buf_off + t->i; }

/* Where byte `off` of the corpus lies, for messages. */
static void locate(const firth_corpus *c, uint64_t off, const char **name, uint64_t *in_file) {
    size_t f = file_at(c, off);
    *name = c->names[f];
    *in_file = off - c->starts[f];
}

/* Classifies the character at the cursor: returns its byte length (>= 1), stores its class (one
 * of CLS_*; invalid bytes are CLS_WORD with cp = U+FFFD, or an error in strict mode). */
static int peek_char(firth_tokenizer *t, uint32_t *cp, int *cls, firth_error *err) {
    if (fill(t, 4, err) < 0) return -1;
    unsigned char b = t->buf[t->i];
    if (b < 0x80) {
        *cp = b;
        *cls = t->cls[b];
        return 1;
    }
    int n = firth_utf8_decode(t->buf + t->i, t->len - t->i, cp);
    if (n <= 0) { /* invalid (or truncated at the very end of the corpus) */
        if (t->p.utf8 == FIRTH_UTF8_STRICT) {
            const char *name;
            uint64_t at;
            locate(t->c, cursor(t), &name, &at);
            firth_fail(err, FIRTH_ERR_INPUT,
                       "invalid UTF-8 in '%s' at byte %llu (use --invalid-utf8 replace to accept "
                       "it)",
                       name, (unsigned long long)at);
            return -1;
        }
        *cp = 0xFFFD;
        *cls = CLS_WORD;
        return 1;
    }
    *cls = firth_utf8_is_line_end(*cp) ? CLS_NEWLINE
           : firth_utf8_is_space(*cp)  ? CLS_SPACE
                                       : CLS_WORD;
    return n;
}

/* Start of range at `begin` > 0: position the cursor so that the tokens read are exactly those
 * whose first byte is at or after `begin` (see the contract in firth.h). */
static int align_start(firth_tokenizer *t, uint64_t begin, firth_error *err) {
    unsigned char back[4];
    uint64_t from = begin >= 4 ? begin - 4 : 0;
    size_t nb = (size_t)(begin - from);
    ssize_t r = corpus_read(t->c, from, back, nb, err);
    if (r < 0) return -1;
    /* find the character that holds byte begin-1: its lead is at most 3 bytes back */
    size_t last = nb - 1, s = last;
    while (s > 0 && (back[s] & 0xC0) == 0x80 && last - s < 3) s--;
    uint64_t char_end = begin;
    int separator = 0;
    unsigned char window[8];
    size_t avail = nb - s;
    memcpy(window, back + s, avail);
    /* read ahead so a character straddling `begin` can be decoded */
    ssize_t r2 = corpus_read(t->c, begin, window + avail, 4, err);
    if (r2 < 0) return -1;
    uint32_t cp;
    int n = firth_utf8_decode(window, avail + (size_t)r2, &cp);
    if (n > 0 && (size_t)n > last - s) { /* a valid character covering byte begin-1 */
        char_end = from + s + (uint64_t)n;
        separator = firth_utf8_is_space(cp);
    } else { /* byte begin-1 is a character of its own (ASCII or invalid) */
        unsigned char b = back[last];
        separator = b < 0x80 && (t->cls[b] == CLS_SPACE || t->cls[b] == CLS_NEWLINE);
    }
    t->buf_off = char_end;
    t->i = t->len = 0;
    if (separator) return 0;
    /* inside a token that began in the previous range: skip to the next separator. Invalid
     * bytes in it belong to that token, and the previous range reports them. */
    firth_utf8_policy policy = t->p.utf8;
    t->p.utf8 = FIRTH_UTF8_REPLACE;
    int rc = 0;
    for (;;) {
        if (fill(t, 4, err) < 0) {
            rc = -1;
            break;
        }
        if (t->i >= t->len) break;
        int cls;
        int cn = peek_char(t, &cp, &cls, err);
        if (cn < 0) {
            rc = -1;
            break;
        }
        if (cls == CLS_SPACE || cls == CLS_NEWLINE || cls == CLS_NUL) break;
        t->i += (size_t)cn;
    }
    t->p.utf8 = policy;
    return rc;
}

firth_tokenizer *firth_tokenizer_new(const firth_corpus *c, uint64_t begin, uint64_t end,
                                     const firth_text_params *params, firth_error *err) {
    firth_text_params p = params ? *params : firth_text_default_params();
    if (p.max_token_bytes < 4 || p.max_token_bytes > (1 << 20)) {
        firth_fail(err, FIRTH_ERR_PARAM, "max token length must be 4..1048576 bytes");
        return NULL;
    }
    if (end > c->total) end = c->total;
    if (begin > end) begin = end;
    firth_tokenizer *t = calloc(1, sizeof *t);
    if (!t) goto nomem;
    t->buf = malloc(TOK_BUF);
    t->tok = malloc((size_t)p.max_token_bytes + 1);
    if (!t->buf || !t->tok) goto nomem;
    t->c = c;
    t->p = p;
    t->end = end;
    t->buf_off = begin;
    for (int b = 0; b < 128; b++) {
        t->cls[b] = CLS_WORD;
        unsigned char m = (unsigned char)b;
        if (p.lowercase && b >= 'A' && b <= 'Z') m = (unsigned char)(b + 32);
        if (p.strip_punct && firth_utf8_is_punct((uint32_t)b)) m = 0;
        t->map[b] = m;
    }
    t->cls[' '] = t->cls['\t'] = t->cls['\r'] = t->cls['\v'] = t->cls['\f'] = CLS_SPACE;
    t->cls['\n'] = CLS_NEWLINE;
    t->cls[0] = CLS_NUL;
    if (begin > 0 && begin < end && align_start(t, begin, err) < 0) {
        firth_tokenizer_free(t);
        return NULL;
    }
    return t;
nomem:
    firth_fail(err, FIRTH_ERR_NOMEM, "out of memory creating a tokenizer");
    firth_tokenizer_free(t);
    return NULL;
}

void firth_tokenizer_free(firth_tokenizer *t) {
    if (!t) return;
    free(t->buf);
    free(t->tok);
    free(t);
}

uint64_t firth_tokenizer_offset(const firth_tokenizer *t) { return cursor(t); }

static inline void append(firth_tokenizer *t, const unsigned char *bytes, size_t n) {
    if (t->truncated) return;
    if (t->tok_len + n > (size_t)t->p.max_token_bytes) {
        t->truncated = 1; /* cut on this character boundary; drop the rest of the token */
        return;
    }
    memcpy(t->tok + t->tok_len, bytes, n);
    t->tok_len += n;
}

/* Ends the current token; returns 1 when it is non-empty (to be returned to the caller). */
static int finish(firth_tokenizer *t, const char **word, size_t *len) {
    int nonempty = t->tok_len > 0;
    t->tok[t->tok_len] = '\0';
    *word = (const char *)t->tok;
    *len = t->tok_len;
    t->in_token = 0;
    t->truncated = 0;
    if (!nonempty) t->tok_len = 0;
    return nonempty;
}

int firth_tokenizer_next(firth_tokenizer *t, const char **word, size_t *len, firth_error *err) {
    *word = NULL;
    *len = 0;
    if (!t->in_token) t->tok_len = 0;
    for (;;) {
        if (t->len - t->i < 4 && fill(t, 4, err) < 0) return err ? err->status : FIRTH_ERR_IO;
        if (t->i >= t->len) { /* end of the corpus */
            if (t->in_token && finish(t, word, len)) return FIRTH_TOKEN_WORD;
            return FIRTH_TOKEN_END;
        }
        if (!t->in_token && cursor(t) >= t->end) return FIRTH_TOKEN_END;
        unsigned char b = t->buf[t->i];
        if (b < 0x80) { /* ASCII fast path */
            switch (t->cls[b]) {
            case CLS_WORD:
                t->i++;
                t->in_token = 1;
                if (t->map[b] && !t->truncated) {
                    if (t->tok_len < (size_t)t->p.max_token_bytes)
                        t->tok[t->tok_len++] = t->map[b];
                    else
                        t->truncated = 1;
                }
                continue;
            case CLS_SPACE:
                t->i++;
                if (t->in_token && finish(t, word, len)) return FIRTH_TOKEN_WORD;
                continue;
            case CLS_NEWLINE:
                if (t->in_token) { /* the line end is read on the next call */
                    if (finish(t, word, len)) return FIRTH_TOKEN_WORD;
                    continue;
                }
                t->i++;
                return FIRTH_TOKEN_EOS;
            default: { /* NUL */
                const char *name;
                uint64_t at;
                locate(t->c, cursor(t), &name, &at);
                return firth_fail(err, FIRTH_ERR_INPUT,
                                  "'%s' looks like a binary file (NUL byte at offset %llu), not "
                                  "text",
                                  name, (unsigned long long)at);
            }
            }
        }
        uint32_t cp;
        int cls;
        int n = peek_char(t, &cp, &cls, err);
        if (n < 0) return err ? err->status : FIRTH_ERR_INPUT;
        if (cls == CLS_SPACE || cls == CLS_NEWLINE) {
            if (t->in_token) {
                if (cls == CLS_SPACE) t->i += (size_t)n;
                if (finish(t, word, len)) return FIRTH_TOKEN_WORD;
                continue;
            }
            t->i += (size_t)n;
            if (cls == CLS_NEWLINE) return FIRTH_TOKEN_EOS;
            continue;
        }
        t->i += (size_t)n;
        t->in_token = 1;
        if (t->p.strip_punct && firth_utf8_is_punct(cp)) continue;
        if (t->p.lowercase) cp = firth_utf8_lower(cp);
        unsigned char enc[4];
        int m = firth_utf8_encode(cp, enc);
        append(t, enc, (size_t)m);
    }
}

/* FNV-1a over the size and 16 blocks of 4 KiB spread evenly over the stream (the first and the
 * last included): cheap even for a huge corpus, and enough to notice another file given by
 * mistake. Not a hash of every byte: an edit in the middle of a file can go unnoticed. */
firth_status firth_corpus_fingerprint(const firth_corpus *c, uint64_t *out, firth_error *err) {
    enum { BLOCKS = 16, BLOCK = 4096 };
    unsigned char buf[BLOCK];
    uint64_t h = 0xCBF29CE484222325ull;
    for (int i = 0; i < 8; i++) h = (h ^ ((c->total >> (8 * i)) & 0xFF)) * 0x100000001B3ull;
    for (int b = 0; b < BLOCKS; b++) {
        uint64_t off = c->total > BLOCK ? (c->total - BLOCK) / (BLOCKS - 1) * (uint64_t)b : 0;
        ssize_t r = corpus_read(c, off, buf, BLOCK, err);
        if (r < 0) return err ? err->status : FIRTH_ERR_IO;
        for (ssize_t i = 0; i < r; i++) h = (h ^ buf[i]) * 0x100000001B3ull;
    }
    *out = h;
    return FIRTH_OK;
}

void firth_corpus_part(const firth_corpus *c, uint64_t part, uint64_t parts, uint64_t *begin,
                       uint64_t *end) {
    if (parts == 0) parts = 1;
    if (part >= parts) part = parts - 1;
    uint64_t step = c->total / parts;
    *begin = step * part;
    *end = part == parts - 1 ? c->total : step * (part + 1);
}
