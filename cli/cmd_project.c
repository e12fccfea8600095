/* cmd_project.c - firth project: one self-contained HTML page that shows the most frequent words
 * in 2-D (PCA of the unit rows), with hover labels, search, precomputed nearest neighbours, zoom
 * and pan. The page needs no network: its CSS, JavaScript and data are inline. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int cmd_project(int argc, char **argv) {
    const char *html = NULL, *title = NULL;
    uint64_t words = 5000, limit = 0;
    int k = 10, method = 0, quiet = 0;
    const cli_opt opts[] = {
        {"--html", OPT_STR, &html, 0, 0, NULL, "FILE", "the page to write (required)"},
        {"--words", OPT_U64, &words, 1, FIRTH_PROJECTOR_MAX_WORDS, NULL, "N",
         "show the first N words of the file, '</s>' left out (default 5000)"},
        {"--method", OPT_CHOICE, &method, 0, 0, "pca", NULL,
         "how the words are placed in 2-D (default pca)"},
        {"-k", OPT_INT, &k, 0, 100, NULL, "N", "neighbours per word to link (default 10)"},
        {"--limit", OPT_U64, &limit, 0, 1e15, NULL, "N", "read only the first N words of MODEL"},
        {"--title", OPT_STR, &title, 0, 0, NULL, "TEXT", "the page's title (default: MODEL's name)"},
        {"--quiet", OPT_FLAG, &quiet, 0, 0, NULL, NULL, "no summary line on stderr"},
    };
    cli_list pos = {0};
    const char *usage =
        "usage: firth project MODEL --html OUT.html [--words 5000] [--method pca] [-k 10]\n"
        "                     [--limit N] [--title TEXT]\n\n"
        "Writes one HTML file that needs no network: the first --words words of MODEL (files\n"
        "list words by descending frequency) placed by a PCA of their L2-normalised vectors,\n"
        "hover labels, a search box (or OUT.html#search=WORD) that highlights a word and draws\n"
        "lines to its k nearest neighbours by cosine in the full space among the words shown\n"
        "(as 'firth neighbors MODEL WORD --limit R' with R the last shown row + 1, without\n"
        "'</s>'), wheel to zoom, drag to pan.";
    int rc = cli_parse(argc, argv, 2, opts, sizeof opts / sizeof *opts, &pos, usage);
    if (rc != 0) return cli_list_free(&pos), rc > 0 ? 0 : EXIT_USAGE;
    if (pos.n != 1)
        return cli_list_free(&pos), cli_usage_error("project needs one MODEL (see --help)");
    const char *in = pos.items[0];
    cli_list_free(&pos);
    if (!html) return cli_usage_error("project needs --html OUT.html (see --help)");
    (void)method; /* "pca" is the only method so far */

    firth_error err = {0};
    if (firth_check_writable(html, &err) != FIRTH_OK) return cli_fail(&err);
    /* Rows beyond the shown words are never used: read the words and one "</s>" at most. */
    size_t load = (size_t)words + 1;
    if (limit > 0 && limit < load) load = (size_t)limit;
    firth_vectors *v = firth_vectors_load(in, load, &err);
    if (!v) return cli_fail(&err);
    const char *slash = strrchr(in, '/');
    firth_projector_params p = firth_projector_default_params();
    p.words = (size_t)words;
    p.k = k;
    p.title = title ? title : slash ? slash + 1 : in;
    rc = 0;
    if (firth_projector_write_html(v, html, &p, &err) != FIRTH_OK) rc = cli_fail(&err);
    if (rc == 0 && !quiet) {
        size_t n = 0;
        for (size_t i = 0; i < firth_vectors_count(v) && n < p.words; i++)
            n += strcmp(firth_vectors_word(v, i), FIRTH_EOS_WORD) != 0;
        struct stat st;
        double mb = stat(html, &st) == 0 ? (double)st.st_size / 1e6 : 0.0;
        fprintf(stderr, "wrote %s: %zu words of dim %d, %zu neighbours each, %.2f MB\n", html, n,
                firth_vectors_dim(v), (size_t)k < n - 1 ? (size_t)k : n - 1, mb);
    }
    firth_vectors_free(v);
    return rc;
}
