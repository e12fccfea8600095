/* cmd_charlm.c - firth charlm train|sample|eval: the character-level LSTM language model. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Set by SIGINT; the progress callback hands it to the trainer, which writes a checkpoint and
 * stops. A signal handler can only reach a static: the one piece of global state, in the CLI. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* Reads a whole file (not NUL-terminated; *n bytes). NULL and a message in err on failure. */
static char *read_all(const char *path, size_t *n, firth_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err->status = FIRTH_ERR_INPUT;
        snprintf(err->message, sizeof err->message, "cannot open '%s': %s", path,
                 strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        char *b = realloc(buf, cap * 2);
        if (!b) free(buf);
        buf = b, cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        err->status = buf ? FIRTH_ERR_IO : FIRTH_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "cannot read '%s'%s", path,
                 buf ? "" : ": out of memory");
        return NULL;
    }
    *n = len;
    return buf;
}

typedef struct progress_state {
    int tty, quiet, line_open;
    double last_line;  /* elapsed seconds of the last printed line */
    double loss_sum;   /* training losses since the last line */
    uint64_t loss_n;
    firth_charlm_progress last;
    char header[256]; /* printed with the first report, so errors before training stay alone */
} progress_state;

static void clear_line(progress_state *s) {
    if (s->line_open) fputs("\r\033[K", stderr);
    s->line_open = 0;
}

/* "step/steps", or the step alone when only a time limit bounds the run */
static void step_of(const firth_charlm_progress *p, char *out, size_t n) {
    if (p->steps == UINT64_MAX)
        snprintf(out, n, "%llu", (unsigned long long)p->step);
    else
        snprintf(out, n, "%llu/%llu", (unsigned long long)p->step, (unsigned long long)p->steps);
}

static int on_progress(const firth_charlm_progress *p, void *user) {
    progress_state *s = user;
    if (s->quiet) return interrupted;
    if (s->header[0]) fprintf(stderr, "%s\n", s->header), s->header[0] = 0;
    if (p->evaluated) {
        clear_line(s);
        char at[48];
        step_of(p, at, sizeof at);
        fprintf(stderr, "step %s  validation %.4f nats/char  %.4f bits/char\n", at, p->val_nats,
                p->val_nats / log(2.0));
    } else if (!p->checkpointed) {
        s->last = *p;
        s->loss_sum += p->loss, s->loss_n++;
        double every = s->tty ? 0.25 : 10.0;
        if (p->elapsed_s - s->last_line >= every || p->step == p->steps) {
            char eta[32], line[256], at[48];
            cli_format_seconds(p->eta_s, eta, sizeof eta);
            step_of(p, at, sizeof at);
            snprintf(line, sizeof line,
                     "step %s  epoch %llu  loss %.4f  lr %.3g  %.0f chars/s  ETA %s", at,
                     (unsigned long long)p->epoch + 1, s->loss_sum / (double)s->loss_n, p->lr,
                     p->chars_per_s, eta);
            s->loss_sum = 0, s->loss_n = 0, s->last_line = p->elapsed_s;
            if (s->tty) {
                fprintf(stderr, "\r\033[K%s", line);
                s->line_open = 1;
            } else {
                fprintf(stderr, "%s\n", line);
            }
        }
    }
    fflush(stderr);
    return interrupted;
}

static const char *const train_usage =
    "usage: firth charlm train --input TEXT --output CKPT [options]\n"
    "       firth charlm train --resume CKPT --input TEXT --output CKPT [--steps N | --epochs E]\n\n"
    "Trains a character-level LSTM language model (as char-rnn) on a UTF-8 text; invalid bytes\n"
    "become U+FFFD. The last --val-frac of the text is held out for validation. CKPT is a\n"
    "checkpoint (weights, Adam moments, position), written atomically every --checkpoint-every\n"
    "steps, at the end and on Ctrl-C. --steps and --epochs count from the start of training, so\n"
    "a resumed run stops where the uninterrupted one would (bit for bit, same --threads).\n"
    "--time-limit S ends a run by the clock instead (or as well), and --warmdown F takes the\n"
    "rate down to 0 over its last F x S seconds; --warmup N brings it up from lr/N over the\n"
    "first N steps.";

/* The optimiser's settings given on the command line (NaN / -1: not given). */
typedef struct optim_given {
    double lr, lr_decay;
    int lr_decay_after, dropout_locked, epoch_shift;
    double dropout, input_dropout, wdrop, weight_decay, clip;
} optim_given;

/* Sets the given ones in p (a new model's defaults, or a resumed model's settings). */
static void given_optim(firth_charlm_params *p, const optim_given *g) {
    if (!isnan(g->lr)) p->lr = g->lr;
    if (!isnan(g->lr_decay)) p->lr_decay = g->lr_decay;
    if (g->lr_decay_after >= 0) p->lr_decay_after = g->lr_decay_after;
    if (!isnan(g->dropout)) p->dropout = g->dropout;
    if (g->dropout_locked >= 0) p->dropout_locked = g->dropout_locked;
    if (g->epoch_shift >= 0) p->epoch_shift = g->epoch_shift;
    if (!isnan(g->input_dropout)) p->input_dropout = g->input_dropout;
    if (!isnan(g->wdrop)) p->wdrop = g->wdrop;
    if (!isnan(g->weight_decay)) p->weight_decay = g->weight_decay;
    if (!isnan(g->clip)) p->clip = g->clip;
}

static int cmd_charlm_train(int argc, char **argv) {
    firth_charlm_params d = firth_charlm_default_params();
    /* -1 / NaN: not given (a resumed run keeps the checkpoint's value) */
    int layers = -1, hidden = -1, embed = -1, seq = -1, batch = -1, threads = 1, quiet = 0;
    int bf16 = 0;
    double val_frac = NAN, ema = NAN, beta1 = NAN, beta2 = NAN, epochs = 0, time_limit = 0,
           warmdown = 0;
    uint64_t warmup = 0;
    optim_given o_given = {NAN, NAN, -1, -1, -1, NAN, NAN, NAN, NAN, NAN};
    uint64_t steps = 0, eval_every = 1000, ckpt_every = 1000, seed = 1;
    const char *input = NULL, *output = NULL, *resume = NULL;
    const cli_opt opts[] = {
        {"--input", OPT_STR, &input, 0, 0, NULL, "TEXT", "training text (UTF-8)"},
        {"--output", OPT_STR, &output, 0, 0, NULL, "CKPT", "checkpoint to write"},
        {"--resume", OPT_STR, &resume, 0, 0, NULL, "CKPT", "continue from this checkpoint"},
        {"--layers", OPT_INT, &layers, 1, 64, NULL, "N", "LSTM layers (default 2)"},
        {"--hidden", OPT_INT, &hidden, 1, 16384, NULL, "N", "units per layer (default 256)"},
        {"--embed", OPT_INT, &embed, 0, 16384, NULL, "N",
         "input embedding size (default 0: one-hot input)"},
        {"--seq", OPT_INT, &seq, 1, 100000, NULL, "N",
         "characters per stream per step, the BPTT length (default 100)"},
        {"--batch", OPT_INT, &batch, 1, 100000, NULL, "N", "parallel streams (default 32)"},
        {"--lr", OPT_DOUBLE, &o_given.lr, 1e-12, 10, NULL, "X", "Adam learning rate (default 2e-3)"},
        {"--lr-decay", OPT_DOUBLE, &o_given.lr_decay, 1e-9, 1, NULL, "D",
         "multiply the learning rate by D at the end of each epoch from --lr-decay-after on "
         "(default 1: constant)"},
        {"--lr-decay-after", OPT_INT, &o_given.lr_decay_after, 0, 1000000000, NULL, "E",
         "the first epoch whose end decays it (default 10, as char-rnn)"},
        {"--dropout", OPT_DOUBLE, &o_given.dropout, 0, 0.99, NULL, "P",
         "dropout on every layer's output, between layers and before the output layer "
         "(default 0)"},
        {"--dropout-locked", OPT_INT, &o_given.dropout_locked, 0, 1, NULL, "0|1",
         "1: one dropout mask per stream and unit for all --seq time steps of a step (locked / "
         "variational dropout, as AWD-LSTM); 0 (default): a new mask every time step"},
        {"--input-dropout", OPT_DOUBLE, &o_given.input_dropout, 0, 0.99, NULL, "P",
         "input dropout: each training character's input (one-hot or embedding row) is dropped "
         "with probability P, the others scaled by 1 / (1 - P) (AWD-LSTM's dropouti; default 0)"},
        {"--wdrop", OPT_DOUBLE, &o_given.wdrop, 0, 0.99, NULL, "P",
         "weight drop: each step drops this share of every layer's recurrent weights "
         "(DropConnect, as AWD-LSTM; default 0)"},
        {"--weight-decay", OPT_DOUBLE, &o_given.weight_decay, 0, 1e9, NULL, "W",
         "decoupled weight decay of the weight matrices, as AdamW: each step multiplies them "
         "by 1 - lr x W (default 0: off)"},
        {"--ema", OPT_DOUBLE, &ema, 0, 0.999999, NULL, "D",
         "keep a moving average of the weights with decay D (e.g. 0.999) for validation, eval "
         "and sampling (default 0: off)"},
        {"--beta1", OPT_DOUBLE, &beta1, 0, 0.999999, NULL, "B",
         "Adam's decay of the gradients' moving average (default 0.9)"},
        {"--beta2", OPT_DOUBLE, &beta2, 0, 0.999999, NULL, "B",
         "Adam's decay of the squared gradients' moving average (default 0.999)"},
        {"--clip", OPT_DOUBLE, &o_given.clip, 0, 1e9, NULL, "X",
         "gradient-norm limit (default 5; 0 off)"},
        {"--epoch-shift", OPT_INT, &o_given.epoch_shift, 0, 1, NULL, "0|1",
         "1: from the second epoch on, start the streams at an offset in [0, seq) drawn anew "
         "each epoch, so the BPTT windows fall elsewhere (as AWD-LSTM's variable length); 0 "
         "(default): the same windows every epoch, as char-rnn"},
        {"--steps", OPT_U64, &steps, 1, 1e15, NULL, "N", "train until N steps in all"},
        {"--epochs", OPT_DOUBLE, &epochs, 1e-9, 1e6, NULL, "E",
         "or until E epochs in all (default 1)"},
        {"--time-limit", OPT_DOUBLE, &time_limit, 0, 1e12, NULL, "S",
         "also stop once this run has trained S seconds (wall time; then validate and write the "
         "checkpoint); alone, no --steps or --epochs: S decides (default 0: no limit)"},
        {"--warmdown", OPT_DOUBLE, &warmdown, 0, 1, NULL, "F",
         "with --time-limit: over the last F of the time the learning rate falls linearly to 0 "
         "(default 0: none; not reproducible bit for bit, the clock decides the steps)"},
        {"--warmup", OPT_U64, &warmup, 0, 1e9, NULL, "N",
         "raise the learning rate linearly from lr/N to lr over the first N steps of training "
         "(counted from the model's first step; give it again with --resume; default 0: none)"},
        {"--val-frac", OPT_DOUBLE, &val_frac, 0, 0.5, NULL, "F",
         "validation share at the end of the text (default 0.05)"},
        {"--eval-every", OPT_U64, &eval_every, 0, 1e15, NULL, "N",
         "steps between validation passes (default 1000; 0: only at the end)"},
        {"--checkpoint-every", OPT_U64, &ckpt_every, 0, 1e15, NULL, "N",
         "steps between checkpoints (default 1000; 0: only at the end)"},
        {"--threads", OPT_INT, &threads, 1, FIRTH_CHARLM_MAX_THREADS, NULL, "N",
         "threads (default 1; a run is bit-for-bit repeatable for a given count)"},
        {"--seed", OPT_U64, &seed, 0, 1.8e19, NULL, "N", "random seed (default 1)"},
        {"--bf16", OPT_FLAG, &bf16, 0, 0, NULL, NULL,
         "mixed precision: the LSTM's matrix products round their operands to bfloat16 and sum "
         "in float (about 1.5x the steps per second with AVX512_BF16; weights, Adam and "
         "validation stay in float; default off)"},
        {"--quiet", OPT_FLAG, &quiet, 0, 0, NULL, NULL, "no progress on stderr"},
    };
    cli_list pos = {0};
    int rc = cli_parse(argc, argv, 3, opts, sizeof opts / sizeof *opts, &pos, train_usage);
    if (rc != 0) return cli_list_free(&pos), rc > 0 ? 0 : EXIT_USAGE;
    size_t npos = pos.n;
    const char *extra = npos ? pos.items[0] : NULL;
    cli_list_free(&pos);
    if (npos) return cli_usage_error("unexpected argument '%s' (see firth charlm train --help)",
                                     extra);
    if (!input || !output)
        return cli_usage_error("charlm train needs --input TEXT and --output CKPT (see --help)");
    if (steps && epochs > 0) return cli_usage_error("give --steps or --epochs, not both");
    if (warmdown > 0 && !(time_limit > 0))
        return cli_usage_error("--warmdown needs --time-limit (it is a share of that time)");
    if (!steps && !(epochs > 0) && !(time_limit > 0)) epochs = 1;

    firth_error err = {0};
    firth_charlm *m = NULL;
    char *text = NULL;
    size_t len = 0;
    if (firth_check_writable(output, &err) != FIRTH_OK) goto fail;
    if (!(text = read_all(input, &len, &err))) goto fail;
    if (resume) {
        if (!(m = firth_charlm_load(resume, &err))) goto fail;
        const firth_charlm_params *p = firth_charlm_get_params(m);
        struct { const char *name; int given, have; } fixed[] = {
            {"--layers", layers, p->layers}, {"--hidden", hidden, p->hidden},
            {"--embed", embed, p->embed},    {"--seq", seq, p->seq},
            {"--batch", batch, p->batch}};
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
            if (fixed[i].given >= 0 && fixed[i].given != fixed[i].have) {
                rc = cli_usage_error("%s %d differs from the checkpoint's %d (the shape of a "
                                     "resumed model cannot change)", fixed[i].name,
                                     fixed[i].given, fixed[i].have);
                goto out;
            }
        if (!isnan(val_frac) && val_frac != p->val_frac) {
            rc = cli_usage_error("--val-frac %g differs from the checkpoint's %g (the "
                                 "validation split cannot change)", val_frac, p->val_frac);
            goto out;
        }
        if (!isnan(ema) && ema != p->ema) {
            rc = cli_usage_error("--ema %g differs from the checkpoint's %g (the weight "
                                 "average cannot change)", ema, p->ema);
            goto out;
        }
        if ((!isnan(beta1) && beta1 != p->beta1) || (!isnan(beta2) && beta2 != p->beta2)) {
            rc = cli_usage_error("--beta1 / --beta2 differ from the checkpoint's %g / %g (Adam's "
                                 "moments were built with those)", p->beta1, p->beta2);
            goto out;
        }
        firth_charlm_params q = *p;
        given_optim(&q, &o_given);
        if (firth_charlm_set_optim(m, &q, &err) != FIRTH_OK) goto fail;
    } else {
        if (layers >= 0) d.layers = layers;
        if (hidden >= 0) d.hidden = hidden;
        if (embed >= 0) d.embed = embed;
        if (seq >= 0) d.seq = seq;
        if (batch >= 0) d.batch = batch;
        given_optim(&d, &o_given);
        if (!isnan(val_frac)) d.val_frac = val_frac;
        if (!isnan(ema)) d.ema = ema;
        if (!isnan(beta1)) d.beta1 = beta1;
        if (!isnan(beta2)) d.beta2 = beta2;
        d.seed = seed;
        if (!(m = firth_charlm_new(text, len, &d, &err))) goto fail;
    }
    const firth_charlm_params *p = firth_charlm_get_params(m);
    progress_state ps = {.tty = isatty(STDERR_FILENO), .quiet = quiet, .last_line = -1e9};
    snprintf(ps.header, sizeof ps.header,
             "charlm: %zu characters in the vocabulary, %d x %d LSTM%s, seq %d, batch %d, %s %llu",
             firth_charlm_vocab_size(m), p->layers, p->hidden, p->embed ? "" : " (one-hot input)",
             p->seq, p->batch, resume ? "resuming at step" : "new model, seed",
             (unsigned long long)(resume ? firth_charlm_steps_done(m) : p->seed));
    /* firth's threads split the work; each calls OpenBLAS on one thread */
    openblas_set_num_threads(1);
    if (firth_charlm_set_threads(m, threads, &err) != FIRTH_OK) goto fail;
    if (bf16 && !firth_charlm_bf16_native() && !quiet)
        fprintf(stderr, "firth: --bf16 without AVX512_BF16 in this build: the products run in "
                "plain C, far slower than float\n");
    signal(SIGINT, on_sigint);
    firth_charlm_train_opts o = {.steps = steps, .epochs = epochs, .eval_every = eval_every,
                                 .checkpoint_every = ckpt_every, .checkpoint = output,
                                 .time_limit = time_limit, .warmdown = warmdown,
                                 .warmup = warmup, .bf16 = bf16};
    firth_status st = firth_charlm_train(m, text, len, &o, on_progress, &ps, &err);
    clear_line(&ps);
    if (st == FIRTH_ERR_CANCELLED && interrupted) {
        fprintf(stderr, "firth: interrupted at step %llu; checkpoint written to '%s' (continue "
                "with --resume %s)\n", (unsigned long long)firth_charlm_steps_done(m), output,
                output);
        rc = 130;
        goto out;
    }
    if (st != FIRTH_OK) goto fail;
    if (!quiet) {
        char took[32];
        cli_format_seconds(ps.last.elapsed_s, took, sizeof took);
        fprintf(stderr, "trained to step %llu in %s (%.0f chars/s); wrote %s\n",
                (unsigned long long)firth_charlm_steps_done(m), took, ps.last.chars_per_s,
                output);
    }
    rc = 0;
    goto out;
fail:
    rc = cli_fail(&err);
out:
    firth_charlm_free(m);
    free(text);
    return rc;
}

static const char *const sample_usage =
    "usage: firth charlm sample CKPT [--prime TEXT] [--length N] [--temperature T] [--top-k K]\n"
    "                           [--top-p P] [--seed N] [--stream]\n\n"
    "Writes the prime text and then N generated characters to stdout. Each character is drawn\n"
    "from softmax(scores / T), restricted to the K best (0: all) and then to the smallest set\n"
    "of best characters whose probability reaches P (1: all); T near 0 or K = 1 is greedy.";

static int cmd_charlm_sample(int argc, char **argv) {
    firth_sampler_params sp;
    firth_sampler_default_params(&sp);
    const char *prime = NULL;
    uint64_t length = 500, seed = 1;
    double temperature = sp.temperature, top_p = sp.top_p;
    int top_k = 0, stream = 0;
    const cli_opt opts[] = {
        {"--prime", OPT_STR, &prime, 0, 0, NULL, "TEXT", "text to start from (default: none)"},
        {"--length", OPT_U64, &length, 0, 1e12, NULL, "N", "characters to generate (default 500)"},
        {"--temperature", OPT_DOUBLE, &temperature, 0, 1e6, NULL, "T", "default 1"},
        {"--top-k", OPT_INT, &top_k, 0, 1 << 30, NULL, "K", "default 0 (off)"},
        {"--top-p", OPT_DOUBLE, &top_p, 1e-9, 1, NULL, "P", "default 1 (off)"},
        {"--seed", OPT_U64, &seed, 0, 1.8e19, NULL, "N", "random seed (default 1)"},
        {"--stream", OPT_FLAG, &stream, 0, 0, NULL, NULL, "flush after every character"},
    };
    cli_list pos = {0};
    int rc = cli_parse(argc, argv, 3, opts, sizeof opts / sizeof *opts, &pos, sample_usage);
    if (rc != 0) return cli_list_free(&pos), rc > 0 ? 0 : EXIT_USAGE;
    if (pos.n != 1) return cli_list_free(&pos), cli_usage_error("charlm sample needs one CKPT");
    const char *path = pos.items[0];
    cli_list_free(&pos);
    sp.temperature = (float)temperature, sp.top_k = top_k, sp.top_p = (float)top_p;
    firth_error err = {0};
    firth_sampler *s = NULL;
    float *logits = NULL;
    firth_charlm *m = firth_charlm_load(path, &err);
    if (!m) goto fail;
    size_t V = firth_charlm_vocab_size(m);
    if (!(s = firth_sampler_create(V, seed, &err))) goto fail;
    if (!(logits = calloc(V, sizeof *logits))) {
        err.status = FIRTH_ERR_NOMEM;
        snprintf(err.message, sizeof err.message, "out of memory");
        goto fail;
    }
    firth_charlm_reset(m);
    if (prime && *prime) { /* uniform first draw without a prime (all scores 0) */
        if (firth_charlm_feed_text(m, prime, strlen(prime), logits, &err) != FIRTH_OK) goto fail;
        fputs(prime, stdout);
    }
    for (uint64_t i = 0; i < length; i++) {
        size_t id;
        if (firth_sampler_pick(s, logits, V, &sp, &id, &err) != FIRTH_OK) goto fail;
        char u[4];
        fwrite(u, 1, (size_t)firth_charlm_vocab_utf8(m, id, u), stdout);
        if (stream) fflush(stdout);
        if (i + 1 < length && firth_charlm_feed(m, id, logits, &err) != FIRTH_OK) goto fail;
    }
    if (fflush(stdout) != 0) {
        err.status = FIRTH_ERR_IO;
        snprintf(err.message, sizeof err.message, "cannot write to stdout: %s", strerror(errno));
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    rc = cli_fail(&err);
out:
    free(logits);
    firth_sampler_free(s);
    firth_charlm_free(m);
    return rc;
}

static int cmd_charlm_eval(int argc, char **argv) {
    const char *input = NULL;
    int threads = 1, streams = 0;
    const cli_opt opts[] = {
        {"--input", OPT_STR, &input, 0, 0, NULL, "TEXT", "text to evaluate (UTF-8)"},
        {"--streams", OPT_INT, &streams, 1, 1000000, NULL, "N",
         "cut the text into N contiguous streams (default: the model's batch, as training's "
         "validation; 1: the whole text as one stream)"},
        {"--threads", OPT_INT, &threads, 1, FIRTH_CHARLM_MAX_THREADS, NULL, "N",
         "threads (default 1)"},
    };
    const char *usage =
        "usage: firth charlm eval CKPT --input TEXT [--streams N]\n\n"
        "Prints the model's loss on TEXT, 'nats/char: X bits/char: Y': the mean of -log p of each\n"
        "character given the ones before it in its stream (the text is cut into the model's\n"
        "batch of contiguous streams, read seq characters at a time, as training's validation;\n"
        "each stream starts from a zero state).";
    cli_list pos = {0};
    int rc = cli_parse(argc, argv, 3, opts, sizeof opts / sizeof *opts, &pos, usage);
    if (rc != 0) return cli_list_free(&pos), rc > 0 ? 0 : EXIT_USAGE;
    if (pos.n != 1 || !input)
        return cli_list_free(&pos), cli_usage_error("charlm eval needs CKPT and --input TEXT");
    const char *path = pos.items[0];
    cli_list_free(&pos);
    firth_error err = {0};
    size_t len = 0;
    char *text = NULL;
    firth_charlm *m = firth_charlm_load(path, &err);
    double nats = 0;
    uint64_t chars = 0;
    openblas_set_num_threads(1);
    if (!m || firth_charlm_set_threads(m, threads, &err) != FIRTH_OK ||
        !(text = read_all(input, &len, &err)) ||
        firth_charlm_eval_streams(m, text, len, streams, &nats, &chars, &err) != FIRTH_OK) {
        rc = cli_fail(&err);
    } else {
        printf("nats/char: %.6f bits/char: %.6f\n", nats, nats / log(2.0));
        fprintf(stderr, "evaluated %llu characters\n", (unsigned long long)chars);
    }
    free(text);
    firth_charlm_free(m);
    return rc;
}

int cmd_charlm(int argc, char **argv) {
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (sub && strcmp(sub, "train") == 0) return cmd_charlm_train(argc, argv);
    if (sub && strcmp(sub, "sample") == 0) return cmd_charlm_sample(argc, argv);
    if (sub && strcmp(sub, "eval") == 0) return cmd_charlm_eval(argc, argv);
    if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)) {
        printf("usage: firth charlm train|sample|eval ...   (firth charlm train --help, ...)\n\n"
               "  train    train a character LSTM language model on a text (or resume one)\n"
               "  sample   generate text from a checkpoint\n"
               "  eval     loss of a checkpoint on a text, in nats and bits per character\n");
        return 0;
    }
    return cli_usage_error(sub ? "unknown charlm command '%s' (train, sample or eval)"
                               : "charlm needs a command: train, sample or eval%s",
                           sub ? sub : "");
}
