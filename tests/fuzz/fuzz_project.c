/* fuzz_project.c - `firth project`: a vector file from outside (any format firth_vectors_load
 * detects) becomes an HTML page with the words embedded in a <script> as JSON strings and the
 * title in the page's text (firth_projector_write_html, firth_json_write_string in
 * src/embed/projector.c).
 *
 * Input: the vector file; its last byte picks k (0..10) and the number of words (2..21); its
 * first 24 bytes (up to a NUL) are also the page's title, so titles are fuzzed too.
 * Contracts, when the page is written:
 *   - it is valid UTF-8, and its data <script> holds no raw U+2028 / U+2029;
 *   - it has exactly as many "<script", "</script", "<!--" and "<title" as the page made from a
 *     harmless two-word file: no word or title can open or close an element;
 *   - the numbers of the data ("variance", "total", "x", "y", "sim") are finite: "nan" or "inf"
 *     would make the page's JSON invalid and the page blank.
 * And for any bytes, firth_json_write_string's output contains no '<', '>', '&', control
 * characters or raw U+2028/2029, is UTF-8, and unescapes to the input (bytes that are not UTF-8
 * as U+FFFD). */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "embed/projector.h"
#include "fuzz_util.h"
#include "text/utf8.h"

static const char *const markers[] = {"<script", "</script", "<!--", "<title"};
#define N_MARKERS 4

static struct {
    char dir[64], out[96];
    int count[N_MARKERS];
} fz;

static void cleanup(void) {
    if (fz.out[0]) unlink(fz.out);
    if (fz.dir[0]) rmdir(fz.dir);
}

static int count_of(const char *hay, size_t n, const char *needle) {
    int c = 0;
    size_t k = strlen(needle);
    for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, k)); p += k) c++;
    return c;
}

static char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    FZ_ASSERT(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    FZ_ASSERT(buf && fread(buf, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    buf[len] = 0;
    *n = (size_t)len;
    return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    struct stat st;
    snprintf(fz.dir, sizeof fz.dir, "%s/firth-fuzz-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                 ? "/dev/shm"
                 : "/tmp");
    FZ_ASSERT(mkdtemp(fz.dir));
    snprintf(fz.out, sizeof fz.out, "%s/page.html", fz.dir);
    atexit(cleanup);
    /* the markers of a harmless page */
    static const char model[] = "2 2\nman 1 0\nwoman 0 1\n";
    char path[32];
    int fd = fz_memfile((const uint8_t *)model, sizeof model - 1, path);
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load(path, 0, &err);
    FZ_ASSERT(v);
    firth_projector_params p = firth_projector_default_params();
    p.title = "plain";
    FZ_ASSERT(firth_projector_write_html(v, fz.out, &p, &err) == FIRTH_OK);
    firth_vectors_free(v);
    close(fd);
    size_t n;
    char *page = read_file(fz.out, &n);
    for (int i = 0; i < N_MARKERS; i++) fz.count[i] = count_of(page, n, markers[i]);
    free(page);
    return 0;
}

/* The number (or array of numbers) after `key` is finite. The keys are searched with the
 * comma or line end before them: no JSON string of a word or title holds a quote that is not
 * escaped, and the HTML text escapes quotes as &quot;. */
static void check_numbers(const char *page, size_t n, const char *key) {
    const char *p = memmem(page, n, key, strlen(key));
    FZ_ASSERT(p);
    p += strlen(key);
    int array = *p == '[';
    if (array) p++;
    while (!(array && *p == ']')) {
        char *end;
        double x = strtod(p, &end);
        FZ_ASSERT(end != p);
        FZ_ASSERT(isfinite(x));
        if (!array) break;
        p = end;
        while (*p == ',' || *p == '\n') p++;
    }
}

/* JSON string escaping of arbitrary bytes. */
static void check_json_string(const uint8_t *s, size_t len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    FZ_ASSERT(f);
    firth_json_write_string(f, (const char *)s, len);
    fclose(f);
    FZ_ASSERT(n >= 2 && buf[0] == '"' && buf[n - 1] == '"');
    FZ_ASSERT(firth_utf8_valid((const unsigned char *)buf, n));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        FZ_ASSERT(c >= 0x20 && c != 0x7F && c != '<' && c != '>' && c != '&');
    }
    FZ_ASSERT(!memmem(buf, n, "\xe2\x80\xa8", 3) && !memmem(buf, n, "\xe2\x80\xa9", 3));
    /* unescape and compare with the input (invalid bytes read as U+FFFD, one per byte) */
    size_t i = 1, j = 0;
    while (i < n - 1) {
        if (buf[i] != '\\') { /* a raw character: the same bytes */
            int l = 1;
            if ((unsigned char)buf[i] >= 0x80) {
                uint32_t cp;
                l = firth_utf8_decode((const unsigned char *)buf + i, n - 1 - i, &cp);
                FZ_ASSERT(l > 0);
            }
            FZ_ASSERT(j + (size_t)l <= len && memcmp(buf + i, s + j, (size_t)l) == 0);
            i += (size_t)l, j += (size_t)l;
            continue;
        }
        char e = buf[i + 1];
        if (e == 'u') {
            unsigned cp;
            FZ_ASSERT(i + 6 <= n - 1 && sscanf(buf + i + 2, "%4x", &cp) == 1);
            if (cp == 0xFFFD) { /* an invalid byte, or a real U+FFFD escaped? never escaped */
                uint32_t got;
                FZ_ASSERT(j < len && firth_utf8_decode(s + j, len - j, &got) <= 0);
                j++;
            } else if (cp == 0x2028 || cp == 0x2029) {
                unsigned char u[4];
                int l = firth_utf8_encode(cp, u);
                FZ_ASSERT(j + (size_t)l <= len && memcmp(u, s + j, (size_t)l) == 0);
                j += (size_t)l;
            } else {
                FZ_ASSERT(cp < 0x80 && j < len && s[j] == cp);
                j++;
            }
            i += 6;
        } else {
            char want = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            FZ_ASSERT((e == 'n' || e == 't' || e == '"' || e == '\\') && j < len && s[j] == want);
            i += 2, j++;
        }
    }
    FZ_ASSERT(j == len);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_json_string(data, size < 256 ? size : 256);
    if (size < 2) return 0;
    uint8_t last = data[size - 1];
    char path[32];
    int fd = fz_memfile(data, size - 1, path);
    FZ_ASSERT(fd >= 0);
    firth_error err = {0};
    firth_vectors *v = firth_vectors_load(path, 0, &err);
    close(fd);
    if (!v) {
        fz_check_error(&err, err.status);
        return 0;
    }
    char title[25];
    size_t tl = size - 1 < 24 ? size - 1 : 24;
    memcpy(title, data, tl);
    title[tl] = 0;
    firth_projector_params p = firth_projector_default_params();
    p.k = last % 11;
    p.words = 2 + (size_t)(last / 11) % 20;
    p.title = title;
    firth_status st = firth_projector_write_html(v, fz.out, &p, &err);
    firth_vectors_free(v);
    if (st != FIRTH_OK) {
        fz_check_error(&err, st);
        return 0;
    }
    size_t n;
    char *page = read_file(fz.out, &n);
    FZ_ASSERT(firth_utf8_valid((const unsigned char *)page, n));
    for (int i = 0; i < N_MARKERS; i++) {
        if (count_of(page, n, markers[i]) != fz.count[i])
            fprintf(stderr, "marker '%s': %d, a harmless page has %d\n", markers[i],
                    count_of(page, n, markers[i]), fz.count[i]);
        FZ_ASSERT(count_of(page, n, markers[i]) == fz.count[i]);
    }
    /* the data's <script>: no raw line separators (they end a line in older JavaScript) */
    const char *d0 = memmem(page, n, "id=\"firth-data\">", strlen("id=\"firth-data\">"));
    FZ_ASSERT(d0);
    const char *d1 = memmem(d0, n - (size_t)(d0 - page), "</script", 8);
    FZ_ASSERT(d1);
    FZ_ASSERT(!memmem(d0, (size_t)(d1 - d0), "\xe2\x80\xa8", 3));
    FZ_ASSERT(!memmem(d0, (size_t)(d1 - d0), "\xe2\x80\xa9", 3));
    check_numbers(page, n, ",\"variance\":");
    check_numbers(page, n, ",\"total\":");
    check_numbers(page, n, "\n\"x\":");
    check_numbers(page, n, "\n\"y\":");
    check_numbers(page, n, "\n\"sim\":");
    free(page);
    unlink(fz.out);
    return 0;
}
