/* cmd_train.c - firth train: corpus -> vocabulary -> word2vec vectors. */
#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char *const usage_text =
    "usage: firth train --input FILE [--input FILE2 ...] --output OUT [options]\n\n"
    "Trains word2vec embeddings. FILE '-' reads standard input. The output format follows\n"
    "--format, or else the extension of OUT: .bin word2vec binary, .firth native model (all\n"
    "weights, for later commands), anything else word2vec text.\n\n"
    "With --checkpoint-every S a checkpoint (model and position) is written every S seconds and\n"
    "on Ctrl-C to --checkpoint FILE (default OUT.ckpt), and removed when training ends well.\n"
    "  firth train --resume OUT.ckpt --input FILE --output OUT\n"
    "continues from it (same inputs; hyper-parameters and threads come from the checkpoint;\n"
    "Ctrl-C then updates that checkpoint).\n\n"
    "Under mpirun (a firth built with MPI) the processes train one model together:\n"
    "  mpirun -np 4 firth train --input FILE --output OUT --threads 8 --sync-every 100000\n"
    "each reads a quarter of FILE with 8 threads, and they add up their updates every 100k words\n"
    "each; rank 0 writes OUT (docs/cli.md, docs/scaling.md). Checkpoints are single-process.";

/* The options a resumed run may give: the rest come from the checkpoint. */
static const char *const resume_opts[] = {"--input", "--output", "--format", "--quiet",
                                          "--resume", "--checkpoint-every", "--checkpoint"};

/* The first option in argv that --resume does not allow, or NULL. */
static const char *option_not_for_resume(int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return NULL;
        if (strncmp(argv[i], "--", 2) != 0) continue;
        size_t n = strcspn(argv[i], "=");
        int ok = 0;
        for (size_t k = 0; k < sizeof resume_opts / sizeof *resume_opts; k++)
            ok |= strlen(resume_opts[k]) == n && strncmp(argv[i], resume_opts[k], n) == 0;
        if (!ok) return argv[i];
        if (!strchr(argv[i], '=') && strcmp(argv[i], "--quiet") != 0) i++; /* its value */
    }
    return NULL;
}

/* Set by SIGINT: the progress callback then asks the trainer to stop. A signal handler can only
 * reach a static; this is the one piece of global state, and it lives in the CLI. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct progress_state {
    int tty;         /* stderr is a terminal: redraw one line */
    double last_line; /* elapsed seconds of the last plain line */
    int line_open;   /* a redrawn line is on screen */
    int quiet;       /* print nothing; only watch for SIGINT */
    firth_progress last; /* the latest snapshot, for the summary */
} progress_state;

static void progress_line(const firth_progress *p, char *buf, size_t cap) {
    char eta[32];
    cli_format_seconds(p->eta_s, eta, sizeof eta);
    char loss[32];
    if (p->loss == p->loss)
        snprintf(loss, sizeof loss, "%.4f", p->loss);
    else
        snprintf(loss, sizeof loss, "-"); /* none measured yet in this epoch */
    snprintf(buf, cap,
             "%5.1f%%  epoch %d/%d  %.0fk words/s (%.0fk/thread)  alpha %.5f  loss %s  ETA %s",
             100.0 * p->fraction, p->epoch, p->epochs, p->words_per_s / 1e3,
             p->words_per_s_thread / 1e3, p->alpha, loss, eta);
}

static int on_progress(const firth_progress *p, void *user) {
    progress_state *s = user;
    char line[256];
    s->last = *p;
    if (s->quiet) return interrupted;
    if (p->epoch_finished) {
        if (s->line_open) fputs("\r\033[K", stderr);
        s->line_open = 0;
        fprintf(stderr, "epoch %d/%d  loss %.6f  %.1fs\n", p->epoch_finished, p->epochs,
                p->epoch_loss, p->epoch_seconds);
    } else if (s->tty) {
        progress_line(p, line, sizeof line);
        fprintf(stderr, "\r\033[K%s", line);
        s->line_open = 1;
    } else if (p->elapsed_s - s->last_line >= 5.0) {
        s->last_line = p->elapsed_s;
        progress_line(p, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    return interrupted;
}

/* A usage error found after MPI started: every rank has it (the arguments are the same), only
 * rank 0 says it. */
static int usage_error_on(int rank, const char *msg) {
    if (rank == 0) return cli_usage_error("%s", msg);
    return EXIT_USAGE;
}

/* A failure every rank agreed on: rank 0 says it. */
static int fail_on(int rank, const firth_error *err) {
    if (rank == 0) return cli_fail(err);
    return cli_exit_code(err->status);
}

static int format_from_name(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && strcmp(dot, ".bin") == 0) return FIRTH_FORMAT_W2V_BIN;
    if (dot && strcmp(dot, ".firth") == 0) return FIRTH_FORMAT_NATIVE;
    return FIRTH_FORMAT_W2V_TEXT;
}

int cmd_train(int argc, char **argv) {
    firth_w2v_params p = firth_w2v_default_params();
    firth_text_params text = firth_text_default_params();
    cli_list inputs = {0}, positional = {0};
    const char *output = NULL, *save_vocab = NULL, *read_vocab = NULL, *resume = NULL,
               *ckpt_path = NULL;
    double ckpt_every = -1.0;
    char ckpt_default[4096];
    int format = -1, arch = 0, loss = 0, quiet = 0, utf8 = 0, batch = 0, sync_reduce = 0,
        sync_rows = 0;
    firth_w2v_dist_params dp = firth_w2v_dist_default_params();
    double alpha = 0.0;
    uint64_t min_count = 5, max_vocab = 0, prune_at = 20000000, cache_mb = (uint64_t)p.cache_mb;
    const cli_opt opts[] = {
        {"--input", OPT_LIST, &inputs, 0, 0, NULL, "FILE", "training text (repeatable; '-' = stdin)"},
        {"--output", OPT_STR, &output, 0, 0, NULL, "OUT", "where to write the vectors"},
        {"--format", OPT_CHOICE, &format, 0, 0, "text|bin|native", NULL,
         "output format (default: from OUT's extension)"},
        {"--arch", OPT_CHOICE, &arch, 0, 0, "sg|cbow", NULL, "skip-gram or CBOW (default sg)"},
        {"--loss", OPT_CHOICE, &loss, 0, 0, "ns|hs|softmax", NULL,
         "negative sampling, hierarchical or full softmax (default ns)"},
        {"--dim", OPT_INT, &p.dim, 1, 10000, NULL, "N", "vector size (default 100)"},
        {"--window", OPT_INT, &p.window, 1, 1000, NULL, "N", "max context distance (default 5)"},
        {"--negative", OPT_INT, &p.negative, 0, 1000, NULL, "N", "noise words per prediction (default 5)"},
        {"--min-count", OPT_U64, &min_count, 1, 1e18, NULL, "N", "drop rarer words (default 5)"},
        {"--max-vocab", OPT_U64, &max_vocab, 0, 2147483646.0, NULL, "N",
         "keep the N most frequent words (default 0: all)"},
        {"--sample", OPT_DOUBLE, &p.sample, 0, 1, NULL, "T", "subsampling threshold (default 1e-3; 0 off)"},
        {"--ns-exponent", OPT_DOUBLE, &p.ns_exponent, -1, 1, NULL, "X",
         "noise distribution count^X (default 0.75 as word2vec.c/gensim; fastText: 0.5)"},
        {"--epochs", OPT_INT, &p.epochs, 1, 1000000, NULL, "N", "passes over the corpus (default 5)"},
        {"--alpha", OPT_DOUBLE, &alpha, 1e-9, 10, NULL, "A",
         "start learning rate (default 0.025 sg, 0.05 cbow)"},
        {"--threads", OPT_INT, &p.threads, 1, 1024, NULL, "N", "worker threads (default 1)"},
        {"--seed", OPT_U64, &p.seed, 0, 1.8e19, NULL, "N", "random seed (default 1)"},
        {"--lowercase", OPT_FLAG, &text.lowercase, 0, 0, NULL, NULL, "fold case"},
        {"--strip-punct", OPT_FLAG, &text.strip_punct, 0, 0, NULL, NULL, "delete punctuation"},
        {"--invalid-utf8", OPT_CHOICE, &utf8, 0, 0, "error|replace", NULL,
         "invalid UTF-8: stop with an error (default) or replace by U+FFFD"},
        {"--max-sentence", OPT_INT, &text.max_sentence_words, 1, 10000000, NULL, "N",
         "split longer lines (default 1000 words)"},
        {"--max-token", OPT_INT, &text.max_token_bytes, 4, 1 << 20, NULL, "BYTES",
         "cut longer tokens on a character boundary (default 100)"},
        {"--prune-at", OPT_U64, &prune_at, 16, 1e18, NULL, "N",
         "distinct words held while counting before rare ones are pruned (default 2e7)"},
        {"--save-vocab", OPT_STR, &save_vocab, 0, 0, NULL, "FILE", "write 'word count' lines"},
        {"--read-vocab", OPT_STR, &read_vocab, 0, 0, NULL, "FILE", "use this vocabulary instead of counting (--min-count and --max-vocab still apply)"},
        {"--batch", OPT_CHOICE, &batch, 0, 0, "auto|off", NULL,
         "negative sampling: auto updates a window at once with shared noise words (sg, cbow); off: per pair as word2vec.c"},
        {"--cbow-block", OPT_INT, &p.cbow_block, 1, 64, NULL, "N",
         "batched CBOW: N consecutive centre words share one set of noise words (default 1: each its own, as word2vec.c)"},
        {"--cache-mb", OPT_U64, &cache_mb, 0, 1099511627776.0, NULL, "MIB",
         "keep the corpus as word ids after epoch 1 if it fits (default 2048; 0: read the text every epoch)"},
        {"--checkpoint-every", OPT_DOUBLE, &ckpt_every, 0, 1e9, NULL, "SECONDS",
         "write a checkpoint this often (and on Ctrl-C); 0: only on Ctrl-C"},
        {"--checkpoint", OPT_STR, &ckpt_path, 0, 0, NULL, "FILE",
         "where checkpoints go (default OUT.ckpt)"},
        {"--resume", OPT_STR, &resume, 0, 0, NULL, "CKPT",
         "continue the training saved in this checkpoint"},
        {"--sync-every", OPT_U64, &dp.sync_every, 1, 1e18, NULL, "WORDS",
         "under mpirun: words each process reads between synchronisations (default 100000)"},
        {"--sync-reduce", OPT_CHOICE, &sync_reduce, 0, 0, "sum|average|row-mean", NULL,
         "under mpirun: add up the processes' updates, average the weights, or each row's "
         "mean over the processes that changed it (default sum)"},
        {"--sync-rows", OPT_CHOICE, &sync_rows, 0, 0, "auto|all", NULL,
         "under mpirun: send only the changed rows when that is less than 70% (auto) or all"},
        {"--quiet", OPT_FLAG, &quiet, 0, 0, NULL, NULL, "no progress on stderr"},
    };
    int rc = cli_parse(argc, argv, 2, opts, sizeof opts / sizeof *opts, &positional, usage_text);
    if (rc != 0) {
        if (rc > 0)
            printf("\nMPI: %s\n", firth_dist_built_with_mpi()
                                       ? "built in (mpirun -np R firth train ... trains on R "
                                         "processes)"
                                       : "not built in (single process only)");
        cli_list_free(&inputs), cli_list_free(&positional);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    firth_error err = {0};
    firth_corpus *corpus = NULL;
    firth_vocab *vocab = NULL;
    firth_w2v *model = NULL;
    firth_w2v_resume *state = NULL;
    firth_dist *dist = NULL;
    int rank = 0, ranks = 1;
    rc = 0;
    if (positional.n) {
        rc = cli_usage_error("unexpected argument '%s' (inputs go after --input)", positional.items[0]);
        goto out;
    }
    if (!inputs.n || !output) {
        rc = cli_usage_error("train needs --input FILE and --output OUT (see firth train --help)");
        goto out;
    }
    const char *bad_opt = resume ? option_not_for_resume(argc, argv) : NULL;
    if (bad_opt) {
        rc = cli_usage_error("%s cannot be given with --resume: the checkpoint fixes it", bad_opt);
        goto out;
    }
    if (resume && !ckpt_path && ckpt_every < 0) ckpt_path = resume; /* Ctrl-C saves again */
    if (ckpt_path && ckpt_every < 0) ckpt_every = 0; /* --checkpoint alone: on Ctrl-C */
    if (ckpt_every >= 0 && !ckpt_path) {
        if (snprintf(ckpt_default, sizeof ckpt_default, "%s.ckpt", output) >=
            (int)sizeof ckpt_default) {
            rc = cli_usage_error("output path too long");
            goto out;
        }
        ckpt_path = ckpt_default;
    }
    p.arch = arch ? FIRTH_ARCH_CBOW : FIRTH_ARCH_SG;
    p.loss = (firth_loss)loss;
    p.batch = batch == 0;
    p.cache_mb = (int64_t)cache_mb;
    p.alpha = alpha > 0 ? alpha : (p.arch == FIRTH_ARCH_CBOW ? 0.05 : 0.025);
    text.utf8 = utf8 ? FIRTH_UTF8_REPLACE : FIRTH_UTF8_STRICT;
    if (format < 0) format = format_from_name(output);
    if (firth_w2v_check_params(&p, &err) != FIRTH_OK) goto fail;
    dp.reduce = (firth_dist_reduce)sync_reduce; /* the choices are in the enum's order */
    if (sync_rows) dp.sparse_below = 0.0;

    /* under mpirun: join the other processes (a group of one otherwise). From here on a failure
     * on one rank is agreed on by all (firth_dist_agree) and said once, by rank 0. */
    dist = firth_dist_init(&argc, &argv, &err);
    if (!dist) goto fail;
    rank = firth_dist_rank(dist);
    ranks = firth_dist_size(dist);
    if (rank > 0) quiet = 1;
    if (ranks > 1) {
        if (resume || ckpt_path) {
            rc = usage_error_on(rank, "checkpoints (--resume, --checkpoint, --checkpoint-every) "
                                      "are not available with more than one MPI process; run "
                                      "without mpirun to use them");
            goto out;
        }
        for (size_t i = 0; i < inputs.n; i++)
            if (strcmp(inputs.items[i], "-") == 0) {
                rc = usage_error_on(rank, "--input - (standard input) cannot be used with more "
                                          "than one MPI process: every process reads the files");
                goto out;
            }
    }
    /* outputs are checked before hours of training, not after; rank 0 writes them */
    firth_status st = FIRTH_OK;
    if (rank == 0) {
        st = firth_check_writable(output, &err);
        if (st == FIRTH_OK && save_vocab) st = firth_check_writable(save_vocab, &err);
        /* a resumed run saves to its own checkpoint by default: that one is read first, and
         * what is wrong with it (a directory, say) is said as a reading error */
        if (st == FIRTH_OK && ckpt_path && ckpt_path != resume)
            st = firth_check_writable(ckpt_path, &err);
    }
    if (firth_dist_agree(dist, st, &err) != FIRTH_OK) goto fail;

    signal(SIGINT, on_sigint); /* from here on, Ctrl-C ends cleanly with nothing written */
    corpus = firth_corpus_open(inputs.items, inputs.n, &err);
    if (firth_dist_agree(dist, corpus ? FIRTH_OK : err.status, &err) != FIRTH_OK) goto fail;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (resume) {
        model = firth_w2v_load_checkpoint(resume, &state, &err);
        if (!model) goto fail;
        uint64_t done, total;
        int finished;
        firth_w2v_resume_position(state, &done, &total, &finished);
        if (!quiet)
            fprintf(stderr, "resuming %s: %.1f%% done (%llu of %llu words), %d epochs finished\n",
                    resume, 100.0 * (double)done / (double)total, (unsigned long long)done,
                    (unsigned long long)total, finished);
        goto train;
    }
    if (read_vocab) {
        vocab = firth_vocab_load(read_vocab, &err);
        if (firth_dist_agree(dist, vocab ? FIRTH_OK : err.status, &err) != FIRTH_OK) goto fail;
    } else {
        vocab = firth_vocab_new(&err);
        if (firth_dist_agree(dist, vocab ? FIRTH_OK : err.status, &err) != FIRTH_OK) goto fail;
        firth_vocab_set_prune_at(vocab, prune_at);
        if (!quiet)
            fprintf(stderr, ranks > 1 ? "counting words on %d processes...\n"
                                      : "counting words...\n", ranks);
        /* each rank counts its part, then the counts are merged; one process counts its parts
         * on its worker threads */
        st = ranks > 1 ? firth_vocab_count_dist(vocab, corpus, &text, dist, &err)
                       : firth_vocab_count_threads(vocab, corpus, &text, p.threads, &err);
        if (st != FIRTH_OK) goto fail;
    }
    if (firth_dist_agree(dist, interrupted ? FIRTH_ERR_CANCELLED : FIRTH_OK, &err) != FIRTH_OK) {
        if (rank == 0)
            fprintf(stderr, "firth: interrupted; nothing was written to '%s'\n", output);
        rc = 130;
        goto out;
    }
    st = firth_vocab_finalize(vocab, min_count, max_vocab, &err);
    if (firth_dist_agree(dist, st, &err) != FIRTH_OK) goto fail;
    uint64_t vocab_hash = 0;
    if (firth_vocab_check_dist(vocab, dist, &vocab_hash, &err) != FIRTH_OK) goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!quiet) {
        fprintf(stderr, "vocabulary: %zu words (with %s), %llu training words per epoch, %.1fs\n",
                firth_vocab_size(vocab), FIRTH_EOS_WORD,
                (unsigned long long)firth_vocab_train_words(vocab),
                (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
        if (firth_vocab_prune_passes(vocab))
            fprintf(stderr,
                    "note: the vocabulary was pruned %llu times while counting (words seen at most "
                    "%llu times were dropped, so rare counts are approximate)\n",
                    (unsigned long long)firth_vocab_prune_passes(vocab),
                    (unsigned long long)firth_vocab_prune_threshold(vocab));
        if (ranks > 1)
            fprintf(stderr, "mpi: %d processes x %d threads; the vocabulary is identical on "
                            "every process (hash %016llx)\n",
                    ranks, p.threads, (unsigned long long)vocab_hash);
    }
    st = rank == 0 && save_vocab ? firth_vocab_save(vocab, save_vocab, &err) : FIRTH_OK;
    if (firth_dist_agree(dist, st, &err) != FIRTH_OK) goto fail;

    model = firth_w2v_new(vocab, &p, &err);
    vocab = NULL; /* the model took it */
    if (firth_dist_agree(dist, model ? FIRTH_OK : err.status, &err) != FIRTH_OK) goto fail;
train:;
    /* the workers are the parallelism; OpenBLAS's own threads would only compete with them */
    openblas_set_num_threads(1);
    progress_state ps = {.tty = isatty(STDERR_FILENO), .quiet = quiet};
    firth_w2v_checkpoints ck = {ckpt_path, ckpt_every > 0 ? ckpt_every : 0.0, state};
    firth_w2v_dist_stats ds;
    if (ranks > 1)
        st = firth_w2v_train_dist(model, corpus, &text, dist, &dp, on_progress, &ps, &ds, &err);
    else
        st = firth_w2v_train_resumable(model, corpus, &text, &ck, on_progress, &ps, &err);
    if (ps.line_open) fputs("\r\033[K", stderr);
    if (ranks > 1 && st == FIRTH_ERR_CANCELLED) {
        if (rank == 0)
            fprintf(stderr, "firth: interrupted; nothing was written to '%s'\n", output);
        rc = 130;
        goto out;
    }
    if (st == FIRTH_ERR_CANCELLED && interrupted) {
        if (ckpt_path)
            fprintf(stderr,
                    "firth: interrupted; checkpoint written to '%s' (continue with --resume %s), "
                    "nothing written to '%s'\n",
                    ckpt_path, ckpt_path, output);
        else
            fprintf(stderr, "firth: interrupted; nothing was written to '%s'\n", output);
        rc = 130;
        goto out;
    }
    if (st != FIRTH_OK) goto fail;
    if (!quiet) {
        char took[32];
        cli_format_seconds(ps.last.elapsed_s, took, sizeof took);
        fprintf(stderr, "trained %llu words in %s: %.0f words/s (%.0f per thread)\n",
                (unsigned long long)ps.last.words_done, took, ps.last.words_per_s,
                ps.last.words_per_s_thread);
        if (ranks > 1)
            fprintf(stderr,
                    "mpi: %llu rounds (every %llu words per process, %s), %llu of them with "
                    "only the changed rows; %.1f%% of the rows, %.1f MB per round; rank 0 waited "
                    "%.2fs for the others and %.2fs synchronising (%.2fs in MPI_Allreduce), of "
                    "%.2fs (%.1f%%); weights %s on every process\n",
                    (unsigned long long)ds.rounds, (unsigned long long)dp.sync_every,
                    dp.reduce == FIRTH_DIST_AVERAGE   ? "averaged"
                    : dp.reduce == FIRTH_DIST_ROW_MEAN ? "row means"
                                                       : "sum of updates",
                    (unsigned long long)ds.sparse_rounds, 100.0 * ds.rows_sent,
                    ds.bytes_per_round / 1e6, ds.wait_s, ds.reduce_s, ds.allreduce_s, ds.train_s,
                    ds.train_s > 0 ? 100.0 * (ds.wait_s + ds.reduce_s) / ds.train_s : 0.0,
                    ds.identical ? "identical" : "NOT identical");
    }
    st = rank == 0 ? firth_w2v_save(model, output, (firth_format)format, &err) : FIRTH_OK;
    if (firth_dist_agree(dist, st, &err) != FIRTH_OK) goto fail;
    if (!quiet) fprintf(stderr, "wrote %s\n", output);
    /* the finished model replaces the checkpoint */
    if (ckpt_path) unlink(ckpt_path);
    goto out;
fail:
    rc = fail_on(rank, &err);
out:
    firth_dist_free(dist);
    firth_w2v_free(model);
    firth_w2v_resume_free(state);
    firth_vocab_free(vocab);
    firth_corpus_free(corpus);
    cli_list_free(&inputs);
    cli_list_free(&positional);
    return rc;
}
