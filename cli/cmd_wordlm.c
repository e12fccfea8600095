/* cmd_wordlm.c - firth wordlm train|update|eval and firth complete: the word-level online
 * next-word model (src/lm/wordlm.c) and text generation with the shared sampler. */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "cli.h"

/* Set by SIGINT; the progress callback then asks training to stop (nothing is written). */
static volatile sig_atomic_t wlm_interrupted;
static void on_sigint(int sig) {
    (void)sig;
    wlm_interrupted = 1;
}

typedef struct wlm_progress {
    int quiet, tty, line_open;
    double last_line;
} wlm_progress;

static int on_progress(const firth_progress *p, void *user) {
    wlm_progress *s = user;
    if (s->quiet) return wlm_interrupted;
    char eta[32];
    cli_format_seconds(p->eta_s, eta, sizeof eta);
    if (p->epoch_finished) {
        if (s->line_open) fputs("\r\033[K", stderr);
        s->line_open = 0;
        fprintf(stderr, "epoch %d/%d  loss %.6f  %.0f examples/s  %.1fs\n", p->epoch_finished,
                p->epochs, p->epoch_loss, p->words_per_s, p->epoch_seconds);
    } else if (s->tty) {
        fprintf(stderr, "\r\033[K%5.1f%%  epoch %d/%d  %.0f examples/s  loss %.4f  ETA %s",
                100.0 * p->fraction, p->epoch, p->epochs, p->words_per_s, p->loss, eta);
        s->line_open = 1;
    } else if (p->elapsed_s - s->last_line >= 5.0) {
        s->last_line = p->elapsed_s;
        fprintf(stderr, "%5.1f%%  epoch %d/%d  %.0f examples/s  loss %.4f  ETA %s\n",
                100.0 * p->fraction, p->epoch, p->epochs, p->words_per_s, p->loss, eta);
    }
    fflush(stderr);
    return wlm_interrupted;
}

static firth_status train_on(firth_wordlm *m, const firth_corpus *corpus, int epochs, int threads,
                             int quiet, firth_error *err) {
    wlm_progress ps = {.quiet = quiet, .tty = isatty(STDERR_FILENO)};
    if (firth_wordlm_set_threads(m, threads, err) != FIRTH_OK) return err->status;
    /* One step is a few passes of a matrix-vector size: OpenBLAS's threads cost more than they
     * bring there (measured: 1 epoch of the log model on tinyshakespeare took 26 s with 2
     * OpenBLAS threads on the 2-core machine against 11 s with 1, bench/RESULTS.md); firth's
     * own threads (--threads) split the classes of each step instead. */
    openblas_set_num_threads(1);
    signal(SIGINT, on_sigint);
    firth_status st = firth_wordlm_train(m, corpus, epochs, on_progress, &ps, err);
    signal(SIGINT, SIG_DFL);
    if (ps.line_open) fputs("\r\033[K", stderr);
    return st;
}

static int wordlm_train(int argc, char **argv) {
    firth_wordlm_params p = firth_wordlm_default_params();
    cli_list inputs = {0}, pos = {0};
    const char *vectors = NULL, *output = NULL;
    int epochs = 10, loss = 0, quiet = 0, threads = 1;
    uint64_t seed = p.seed, min_count = p.min_count, max_vocab = 0;
    const cli_opt opts[] = {
        {"--vectors", OPT_STR, &vectors, 0, 0, NULL, "VEC",
         "word vectors: native model, word2vec text/binary or fastText .vec"},
        {"--input", OPT_LIST, &inputs, 0, 0, NULL, "TEXT", "training text (repeatable; '-' = stdin)"},
        {"--output", OPT_STR, &output, 0, 0, NULL, "LM", "where to write the model"},
        {"--context", OPT_INT, &p.context, 1, FIRTH_WORDLM_MAX_CONTEXT, NULL, "N",
         "previous words the model sees (default 12)"},
        {"--epochs", OPT_INT, &epochs, 1, 100000, NULL, "N", "passes over the text (default 10)"},
        {"--loss", OPT_CHOICE, &loss, 0, 0, "hinge|log", NULL,
         "hinge: one-vs-rest as SGDClassifier (default); log: softmax probabilities"},
        {"--lr", OPT_DOUBLE, &p.lr, 1e-12, 100, NULL, "R", "SGD learning rate (default 0.005)"},
        {"--alpha", OPT_DOUBLE, &p.alpha, 0, 999, NULL, "A", "L2 penalty (default 0.0001)"},
        {"--train-embeddings", OPT_FLAG, &p.train_embeddings, 0, 0, NULL, NULL,
         "also update the context embeddings"},
        {"--emb-lr", OPT_DOUBLE, &p.emb_lr, 0, 100, NULL, "R",
         "learning rate of the embeddings (default: --lr)"},
        {"--negative", OPT_INT, &p.negative, 0, 100000, NULL, "K",
         "log loss: sampled softmax over K classes per step (default 0: full)"},
        {"--seed", OPT_U64, &seed, 0, 1.8e19, NULL, "N", "random seed (default 1)"},
        {"--min-count", OPT_U64, &min_count, 1, 1e15, NULL, "N",
         "rarer words become <unk> (default 1)"},
        {"--max-vocab", OPT_U64, &max_vocab, 0, 1e9, NULL, "N",
         "keep only the N most frequent words (default 0: all)"},
        {"--lowercase", OPT_FLAG, &p.lowercase, 0, 0, NULL, NULL, "lower-case the text"},
        {"--strip-punct", OPT_FLAG, &p.strip_punct, 0, 0, NULL, NULL, "delete punctuation"},
        {"--threads", OPT_INT, &threads, 1, FIRTH_WORDLM_MAX_THREADS, NULL, "N",
         "split each step's classes between N threads (default 1)"},
        {"--quiet", OPT_FLAG, &quiet, 0, 0, NULL, NULL, "no progress on stderr"},
    };
    const char *usage =
        "usage: firth wordlm train --vectors VEC --input TEXT --output LM [options]\n\n"
        "Trains a next-word model online (one example at a time, SGD): the embeddings of the\n"
        "previous --context words, concatenated, feed a linear classifier over the vocabulary.";
    int rc = cli_parse(argc, argv, 3, opts, sizeof opts / sizeof *opts, &pos, usage);
    if (rc != 0 || pos.n) {
        cli_list_free(&inputs);
        cli_list_free(&pos);
        return rc > 0 ? 0 : rc < 0 ? EXIT_USAGE : cli_usage_error("unexpected argument (see --help)");
    }
    cli_list_free(&pos);
    if (!vectors || !inputs.n || !output) {
        cli_list_free(&inputs);
        return cli_usage_error("wordlm train needs --vectors, --input and --output (see --help)");
    }
    p.loss = loss ? FIRTH_WORDLM_LOG : FIRTH_WORDLM_HINGE;
    p.seed = seed;
    p.min_count = min_count;
    p.max_vocab = max_vocab;
    firth_error err = {0};
    firth_wordlm *m = NULL;
    firth_vectors *v = NULL;
    firth_corpus *corpus = NULL;
    if (firth_wordlm_check_params(&p, &err) != FIRTH_OK ||
        firth_check_writable(output, &err) != FIRTH_OK ||
        !(v = firth_vectors_load_raw(vectors, 0, &err)) ||
        !(corpus = firth_corpus_open(inputs.items, inputs.n, &err))) {
        rc = cli_fail(&err);
        goto done;
    }
    size_t missing = 0;
    m = firth_wordlm_new(v, corpus, &p, &missing, &err);
    firth_vectors_free(v);
    v = NULL;
    if (!m) {
        rc = cli_fail(&err);
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "vocabulary %zu words (with <unk>), %d x %d = %d features, %s loss%s; "
                        "%zu words had no vector (random)\n",
                firth_wordlm_vocab_size(m), p.context, firth_wordlm_dim(m),
                p.context * firth_wordlm_dim(m), loss ? "log" : "hinge",
                p.train_embeddings ? ", training embeddings" : "", missing);
    /* the same corpus object: standard input was copied once when it was opened */
    if (train_on(m, corpus, epochs, threads, quiet, &err) != FIRTH_OK ||
        firth_wordlm_save(m, output, &err) != FIRTH_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    if (!quiet) fprintf(stderr, "wrote %s\n", output);
done:
    firth_corpus_free(corpus);
    firth_vectors_free(v);
    firth_wordlm_free(m);
    cli_list_free(&inputs);
    return rc;
}

static int wordlm_update(int argc, char **argv) {
    cli_list inputs = {0}, pos = {0};
    const char *output = NULL;
    int epochs = 1, quiet = 0, threads = 1;
    const cli_opt opts[] = {
        {"--input", OPT_LIST, &inputs, 0, 0, NULL, "TEXT",
         "new text (repeatable; default and '-': stdin)"},
        {"--output", OPT_STR, &output, 0, 0, NULL, "OUT", "where to write (default: LM itself)"},
        {"--epochs", OPT_INT, &epochs, 1, 100000, NULL, "N", "passes over the new text (default 1)"},
        {"--threads", OPT_INT, &threads, 1, FIRTH_WORDLM_MAX_THREADS, NULL, "N",
         "split each step's classes between N threads (default 1)"},
        {"--quiet", OPT_FLAG, &quiet, 0, 0, NULL, NULL, "no progress on stderr"},
    };
    const char *usage =
        "usage: firth wordlm update LM [--input NEW_TEXT] [--output OUT] [--epochs 1] [--threads 1]\n\n"
        "Keeps training LM online on new text, with its vocabulary and settings; words it does\n"
        "not know become <unk>. LM is replaced atomically unless --output names another file.";
    int rc = cli_parse(argc, argv, 3, opts, sizeof opts / sizeof *opts, &pos, usage);
    if (rc != 0) {
        cli_list_free(&inputs);
        cli_list_free(&pos);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    if (pos.n != 1) {
        cli_list_free(&inputs);
        cli_list_free(&pos);
        return cli_usage_error("wordlm update needs one model file (see --help)");
    }
    const char *path = pos.items[0];
    cli_list_free(&pos);
    static const char *const stdin_name[] = {"-"};
    cli_list in = inputs;
    if (!in.n) in.items = (const char **)stdin_name, in.n = 1;
    if (!output) output = path;
    firth_error err = {0};
    firth_wordlm *m = NULL;
    firth_corpus *corpus = NULL;
    if (firth_check_writable(output, &err) != FIRTH_OK || !(m = firth_wordlm_load(path, &err)) ||
        !(corpus = firth_corpus_open(in.items, in.n, &err)) ||
        train_on(m, corpus, epochs, threads, quiet, &err) != FIRTH_OK ||
        firth_wordlm_save(m, output, &err) != FIRTH_OK)
        rc = cli_fail(&err);
    else if (!quiet)
        fprintf(stderr, "wrote %s (%llu steps in all)\n", output,
                (unsigned long long)firth_wordlm_steps(m));
    firth_corpus_free(corpus);
    firth_wordlm_free(m);
    cli_list_free(&inputs);
    return rc;
}

static int wordlm_eval(int argc, char **argv) {
    cli_list inputs = {0}, pos = {0};
    int json = 0;
    const cli_opt opts[] = {
        {"--input", OPT_LIST, &inputs, 0, 0, NULL, "TEXT", "held-out text (repeatable; '-' = stdin)"},
        {"--json", OPT_FLAG, &json, 0, 0, NULL, NULL, "print JSON"},
    };
    const char *usage =
        "usage: firth wordlm eval LM --input HELD_OUT [--json]\n\n"
        "Next-word top-1 and top-5 accuracy (and perplexity for the log model) over the words of\n"
        "the text that are in the vocabulary, next to the unigram baseline (always the most\n"
        "frequent training words; p(w) = count / total).";
    int rc = cli_parse(argc, argv, 3, opts, sizeof opts / sizeof *opts, &pos, usage);
    if (rc != 0) {
        cli_list_free(&inputs);
        cli_list_free(&pos);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    if (pos.n != 1 || !inputs.n) {
        cli_list_free(&inputs);
        cli_list_free(&pos);
        return cli_usage_error("wordlm eval needs LM and --input HELD_OUT (see --help)");
    }
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_load(pos.items[0], &err);
    firth_corpus *corpus = m ? firth_corpus_open(inputs.items, inputs.n, &err) : NULL;
    firth_wordlm_eval_result r;
    if (!m || !corpus || firth_wordlm_eval(m, corpus, &r, &err) != FIRTH_OK) {
        rc = cli_fail(&err);
    } else if (json) {
        printf("{\"examples\": %llu, \"oov_targets\": %llu, \"top1\": %.6f, \"top5\": %.6f, "
               "\"perplexity\": ",
               (unsigned long long)r.examples, (unsigned long long)r.oov_targets, r.top1, r.top5);
        if (isnan(r.perplexity))
            printf("null");
        else
            printf("%.4f", r.perplexity);
        printf(", \"unigram_top1\": %.6f, \"unigram_top5\": %.6f, \"unigram_perplexity\": %.4f}\n",
               r.unigram_top1, r.unigram_top5, r.unigram_perplexity);
    } else {
        printf("examples\t%llu\n", (unsigned long long)r.examples);
        printf("oov_targets\t%llu\n", (unsigned long long)r.oov_targets);
        printf("top1\t%.4f\n", r.top1);
        printf("top5\t%.4f\n", r.top5);
        if (isnan(r.perplexity))
            printf("perplexity\tn/a (hinge scores are not probabilities)\n");
        else
            printf("perplexity\t%.2f\n", r.perplexity);
        printf("unigram_top1\t%.4f\n", r.unigram_top1);
        printf("unigram_top5\t%.4f\n", r.unigram_top5);
        printf("unigram_perplexity\t%.2f\n", r.unigram_perplexity);
    }
    firth_corpus_free(corpus);
    firth_wordlm_free(m);
    cli_list_free(&inputs);
    cli_list_free(&pos);
    return rc;
}

int cmd_wordlm(int argc, char **argv) {
    const char *usage = "usage: firth wordlm train|update|eval ... (firth wordlm SUB --help)\n\n"
                        "  train   train a next-word model on text over word vectors\n"
                        "  update  keep training a model on new text\n"
                        "  eval    top-1 / top-5 accuracy and perplexity on held-out text\n"
                        "and 'firth complete LM \"seed\"' generates text with a model.";
    if (argc < 3) {
        fprintf(stderr, "%s\n", usage);
        return EXIT_USAGE;
    }
    const char *sub = argv[2];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) return printf("%s\n", usage), 0;
    if (strcmp(sub, "train") == 0) return wordlm_train(argc, argv);
    if (strcmp(sub, "update") == 0) return wordlm_update(argc, argv);
    if (strcmp(sub, "eval") == 0) return wordlm_eval(argc, argv);
    return cli_usage_error("unknown wordlm command '%s' (train, update or eval)", sub);
}

/* ------------------------------------------------------------------------------------------ */
/* firth complete                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Does this word end a sentence (its last character is '.', '!' or '?', possibly followed by
 * closing quotes or brackets)? */
static int ends_sentence(const char *w) {
    size_t n = strlen(w);
    while (n > 0 && strchr("\"')]", w[n - 1])) n--;
    return n > 0 && (w[n - 1] == '.' || w[n - 1] == '!' || w[n - 1] == '?');
}

static void sleep_ms(int ms) {
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int cmd_complete(int argc, char **argv) {
    int length = 20, top_k = 5, stream = 0, delay_ms = 0;
    double top_p = 1.0, temperature = 1.0;
    uint64_t seed = 123;
    cli_list pos = {0};
    const cli_opt opts[] = {
        {"--length", OPT_INT, &length, 1, 1000000, NULL, "N", "words to generate (default 20)"},
        {"--top-k", OPT_INT, &top_k, 0, 1000000000, NULL, "K",
         "draw from the K best words (default 5; 1 = greedy; 0 = all)"},
        {"--top-p", OPT_DOUBLE, &top_p, 1e-9, 1, NULL, "P",
         "smallest set of best words reaching mass P (default 1 = off)"},
        {"--temperature", OPT_DOUBLE, &temperature, 0, 1000, NULL, "T",
         "divide the scores by T (default 1; 0 = argmax)"},
        {"--seed", OPT_U64, &seed, 0, 1.8e19, NULL, "N", "random seed (default 123)"},
        {"--stream", OPT_FLAG, &stream, 0, 0, NULL, NULL, "print each word as it is produced"},
        {"--delay-ms", OPT_INT, &delay_ms, 0, 60000, NULL, "MS", "pause after each streamed word"},
    };
    const char *usage =
        "usage: firth complete LM \"seed phrase\" [options]\n\n"
        "Continues the seed word by word with a model from 'firth wordlm train'. Seed words the\n"
        "model does not know are read as <unk>; <unk> itself is never generated. A word after a\n"
        "sentence-ending '.', '!' or '?' is capitalised. For the hinge model the sampler gets\n"
        "the decision values as scores.";
    int rc = cli_parse(argc, argv, 2, opts, sizeof opts / sizeof *opts, &pos, usage);
    if (rc != 0) return cli_list_free(&pos), rc > 0 ? 0 : EXIT_USAGE;
    if (pos.n != 2) {
        cli_list_free(&pos);
        return cli_usage_error("complete needs LM and a seed phrase (see --help)");
    }
    const char *path = pos.items[0], *seed_text = pos.items[1];
    cli_list_free(&pos);
    firth_error err = {0};
    firth_wordlm *m = firth_wordlm_load(path, &err);
    if (!m) return cli_fail(&err);
    size_t V = firth_wordlm_vocab_size(m);
    if (V < 2) {
        firth_wordlm_free(m);
        return cli_usage_error("'%s' has no words to generate", path);
    }
    size_t *seed_ids = NULL, n_seed = 0, n_unknown = 0;
    if (firth_wordlm_tokenize(m, seed_text, &seed_ids, &n_seed, &n_unknown, &err) != FIRTH_OK) {
        firth_wordlm_free(m);
        return cli_fail(&err);
    }
    size_t cap = n_seed + (size_t)length;
    size_t *ids = malloc((cap ? cap : 1) * sizeof *ids);
    float *scores = malloc(V * sizeof *scores);
    firth_sampler *sampler = firth_sampler_create(V - 1, seed, &err);
    if (!ids || !scores || !sampler) {
        if (!sampler) rc = cli_fail(&err);
        else rc = cli_usage_error("out of memory");
        goto done;
    }
    if (n_seed) memcpy(ids, seed_ids, n_seed * sizeof *ids);
    if (n_unknown)
        fprintf(stderr, "firth: note: %zu of the %zu seed words are not in the model's vocabulary "
                        "and are read as <unk>\n",
                n_unknown, n_seed);
    firth_sampler_params sp;
    firth_sampler_default_params(&sp);
    sp.temperature = (float)temperature;
    sp.top_k = top_k;
    sp.top_p = (float)top_p;
    /* the seed as typed (trimmed), then the words */
    size_t sl = strlen(seed_text);
    while (sl > 0 && isspace((unsigned char)seed_text[sl - 1])) sl--;
    const char *s0 = seed_text;
    while (*s0 && isspace((unsigned char)*s0)) s0++, sl--;
    fwrite(s0, 1, sl, stdout);
    int capital = 0;
    if (sl > 0) { /* the seed's last word ends a sentence: capitalise the first new word */
        char *tmp = strndup(s0, sl);
        capital = tmp ? ends_sentence(tmp) : 0;
        free(tmp);
    }
    if (stream) fflush(stdout);
    size_t n = n_seed;
    for (int i = 0; i < length; i++) {
        size_t pick;
        if (firth_wordlm_scores(m, ids, n, scores, &err) != FIRTH_OK ||
            firth_sampler_pick(sampler, scores + 1, V - 1, &sp, &pick, &err) != FIRTH_OK) {
            if (stream || sl) putchar('\n');
            rc = cli_fail(&err);
            goto done;
        }
        size_t id = pick + 1; /* class 0, <unk>, is never generated */
        ids[n++] = id;
        const char *w = firth_wordlm_word(m, id);
        if (sl > 0 || i > 0) putchar(' ');
        if (capital && (unsigned char)w[0] < 0x80) {
            putchar(toupper((unsigned char)w[0]));
            fputs(w + 1, stdout);
        } else {
            fputs(w, stdout);
        }
        capital = ends_sentence(w);
        if (stream) {
            fflush(stdout);
            sleep_ms(delay_ms);
        }
    }
    putchar('\n');
    fflush(stdout);
done:
    firth_sampler_free(sampler);
    free(scores);
    free(ids);
    free(seed_ids);
    firth_wordlm_free(m);
    return rc;
}
