/*
 * firth.h - the public C API of firth: word embeddings and small language models from raw text.
 *
 * "You shall know a word by the company it keeps" (J. R. Firth, 1957).
 *
 * Overview
 * --------
 * A typical program streams a corpus, counts a vocabulary, trains word2vec vectors and saves them:
 *
 *     firth_error err = {0};
 *     const char *paths[] = {"corpus.txt"};
 *     firth_text_params text = firth_text_default_params();
 *     firth_corpus *corpus = firth_corpus_open(paths, 1, &err);
 *     firth_vocab *vocab = firth_vocab_new(&err);
 *     if (!corpus || !vocab || firth_vocab_count(vocab, corpus, &text, &err) != FIRTH_OK ||
 *         firth_vocab_finalize(vocab, 5, 0, &err) != FIRTH_OK) { puts(err.message); ... }
 *     firth_w2v_params p = firth_w2v_default_params();          // skip-gram, negative sampling
 *     firth_w2v *model = firth_w2v_new(vocab, &p, &err);        // model takes `vocab`
 *     firth_w2v_train(model, corpus, &text, NULL, NULL, &err);
 *     firth_w2v_save(model, "vectors.bin", FIRTH_FORMAT_W2V_BIN, &err);
 *     firth_w2v_free(model); firth_corpus_free(corpus);
 *
 * Conventions (they hold for every function below unless its comment says otherwise)
 * ----------------------------------------------------------------------------------
 * - Errors are values. A function that can fail returns firth_status (FIRTH_OK == 0, errors < 0)
 *   and, when `err` is not NULL, writes a one-line human-readable message into it. Constructors
 *   (`_new`, `_open`, `_load`) return NULL on failure and fill `err` the same way.
 * - Ownership: every object from a constructor is freed by its `_free`, which accepts NULL. A
 *   function that "takes" an object becomes its owner, also when it fails.
 * - Threads: distinct objects may be used from distinct threads; one object must not be used
 *   from two threads at once unless its comment says so. The library has no global state.
 * - The library never prints and never exits; progress reaches the caller through callbacks.
 */
#ifndef FIRTH_H
#define FIRTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FIRTH_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------------------------ */
/* Status values                                                                               */
/* ------------------------------------------------------------------------------------------ */

typedef enum firth_status {
    FIRTH_OK = 0,
    FIRTH_ERR_PARAM = -1,     /* a parameter is out of range or inconsistent (caller's mistake) */
    FIRTH_ERR_INPUT = -2,     /* input missing, unreadable, empty or malformed */
    FIRTH_ERR_OUTPUT = -3,    /* an output path cannot be created (checked before long work) */
    FIRTH_ERR_IO = -4,        /* an I/O operation failed midway (disk full, EIO) */
    FIRTH_ERR_NOMEM = -5,     /* memory could not be allocated */
    FIRTH_ERR_CANCELLED = -6, /* the caller's callback asked to stop */
    FIRTH_ERR_DIVERGED = -7,  /* training produced a NaN or infinite loss */
    FIRTH_ERR_INTERNAL = -8   /* a bug or an unexpected system failure */
} firth_status;

/* The message that goes with a status. `message` is always NUL-terminated. */
typedef struct firth_error {
    firth_status status;
    char message[512];
} firth_error;

/* Short stable name of a status ("ok", "bad parameter", ...). Never NULL. */
const char *firth_status_name(firth_status status);

/* ------------------------------------------------------------------------------------------ */
/* Text: corpus streaming and tokenisation                                                     */
/* ------------------------------------------------------------------------------------------ */

/* What to do with bytes that are not valid UTF-8. */
typedef enum firth_utf8_policy {
    FIRTH_UTF8_STRICT = 0, /* fail with FIRTH_ERR_INPUT, naming the file and byte offset */
    FIRTH_UTF8_REPLACE = 1 /* replace each invalid byte with U+FFFD and go on */
} firth_utf8_policy;

typedef struct firth_text_params {
    int lowercase;            /* fold case: ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic */
    int strip_punct;          /* delete punctuation characters inside tokens (see docs/cli.md) */
    firth_utf8_policy utf8;   /* invalid UTF-8 handling */
    int max_token_bytes;      /* longer tokens are cut on a character boundary (default 100) */
    int max_sentence_words;   /* longer sentences are split (default 1000, as word2vec.c) */
} firth_text_params;

firth_text_params firth_text_default_params(void);

/*
 * A corpus: one or more files read as one stream; a file that does not end with a line end gets
 * one, so every file ends a sentence.
 * "-" names standard input, which is copied once to an unlinked temporary file so that it can be
 * read several times (vocabulary pass, epochs); nothing is held in memory. Thread-safe for reading
 * after opening (reads use pread).
 */
typedef struct firth_corpus firth_corpus;

firth_corpus *firth_corpus_open(const char *const *paths, size_t n_paths, firth_error *err);
void firth_corpus_free(firth_corpus *corpus);
/* Length of the virtual stream in bytes (the files' sizes plus the line ends added after them). */
uint64_t firth_corpus_size(const firth_corpus *corpus);
/* A 64-bit fingerprint of the stream (its size and 16 sampled blocks of 4 KiB), to check that a
 * resumed training reads the same corpus. FIRTH_ERR_IO when a read fails. */
firth_status firth_corpus_fingerprint(const firth_corpus *corpus, uint64_t *fingerprint,
                                      firth_error *err);

/*
 * A tokenizer reads the bytes [begin, end) of a corpus. Every token belongs to the range that
 * holds its first byte, and every line end to the range that holds it, so splitting a corpus into
 * ranges yields exactly the tokens of reading it whole. Not thread-safe; one per thread.
 */
typedef struct firth_tokenizer firth_tokenizer;

typedef enum firth_token_kind {
    FIRTH_TOKEN_END = 0,  /* end of the range */
    FIRTH_TOKEN_WORD = 1, /* a word: see `word` and `len` (valid until the next call) */
    FIRTH_TOKEN_EOS = 2   /* a line end: a sentence boundary */
} firth_token_kind;

firth_tokenizer *firth_tokenizer_new(const firth_corpus *corpus, uint64_t begin, uint64_t end,
                                     const firth_text_params *params, firth_error *err);
void firth_tokenizer_free(firth_tokenizer *tok);
/* Returns a firth_token_kind (>= 0) or a negative firth_status (invalid UTF-8, binary data, I/O). */
int firth_tokenizer_next(firth_tokenizer *tok, const char **word, size_t *len, firth_error *err);
/* Byte offset in the corpus of the next unread byte. */
uint64_t firth_tokenizer_offset(const firth_tokenizer *tok);

/* ------------------------------------------------------------------------------------------ */
/* Vocabulary                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * A vocabulary has two phases. While counting, words are added to a hash table that grows; when it
 * holds more than `prune_at` distinct words, the rarest are dropped (word2vec.c's ReduceVocab), so
 * counts of rare words become approximate. `firth_vocab_finalize` then keeps the words with count
 * >= min_count, sorts them by count (descending; ties by byte order, so the result does not depend
 * on hashing), keeps the `max_vocab` most frequent (0: all) and puts the sentence token "</s>" at
 * index 0. After that, words are looked up by id.
 */
typedef struct firth_vocab firth_vocab;

#define FIRTH_EOS_WORD "</s>"

firth_vocab *firth_vocab_new(firth_error *err);
void firth_vocab_free(firth_vocab *vocab);

/* Counting phase. Distinct words kept in memory before pruning (default 20,000,000). */
void firth_vocab_set_prune_at(firth_vocab *vocab, uint64_t prune_at);
firth_status firth_vocab_add(firth_vocab *vocab, const char *word, size_t len, uint64_t count,
                             firth_error *err);
/* Counts every token of the corpus (line ends count as "</s>"). */
firth_status firth_vocab_count(firth_vocab *vocab, const firth_corpus *corpus,
                               const firth_text_params *params, firth_error *err);
/* The same count on up to `threads` threads, each counting one byte range of the corpus
 * (firth_corpus_part) into a table of its own; the tables are then summed. Without pruning the
 * result equals firth_vocab_count's; with pruning (prune_at) each part prunes its own table, so
 * rare counts are approximate in a different way. Parts under 1 MiB are not split further.
 * `vocab` must be new (nothing added). */
firth_status firth_vocab_count_threads(firth_vocab *vocab, const firth_corpus *corpus,
                                       const firth_text_params *params, int threads,
                                       firth_error *err);
/* How often pruning ran while counting, and the count at or below which words were dropped. */
uint64_t firth_vocab_prune_passes(const firth_vocab *vocab);
uint64_t firth_vocab_prune_threshold(const firth_vocab *vocab);

/* Ends counting. Fails with FIRTH_ERR_INPUT when no word reaches min_count. */
firth_status firth_vocab_finalize(firth_vocab *vocab, uint64_t min_count, uint64_t max_vocab,
                                  firth_error *err);

/* Finalized phase. Size includes "</s>" at index 0. */
size_t firth_vocab_size(const firth_vocab *vocab);
const char *firth_vocab_word(const firth_vocab *vocab, size_t id);
uint64_t firth_vocab_word_count(const firth_vocab *vocab, size_t id);
/* Id of a word, or -1. */
int64_t firth_vocab_find(const firth_vocab *vocab, const char *word, size_t len);
/* Sum of the counts of all words but "</s>": the number of training words per epoch. */
uint64_t firth_vocab_train_words(const firth_vocab *vocab);

/* "word count" lines, most frequent first, written atomically. */
firth_status firth_vocab_save(const firth_vocab *vocab, const char *path, firth_error *err);
/* Reads "word count" lines into a vocabulary in the counting phase (finalize it next). */
firth_vocab *firth_vocab_load(const char *path, firth_error *err);

/* ------------------------------------------------------------------------------------------ */
/* word2vec training                                                                           */
/* ------------------------------------------------------------------------------------------ */

typedef enum firth_arch { FIRTH_ARCH_SG = 0, FIRTH_ARCH_CBOW = 1 } firth_arch;

typedef enum firth_loss {
    FIRTH_LOSS_NS = 0,     /* negative sampling */
    FIRTH_LOSS_HS = 1,     /* hierarchical softmax over a Huffman tree */
    FIRTH_LOSS_SOFTMAX = 2 /* full softmax: only up to FIRTH_SOFTMAX_MAX_VOCAB words */
} firth_loss;

/* The full softmax costs O(V * dim) per prediction; above this vocabulary size it is refused. */
#define FIRTH_SOFTMAX_MAX_VOCAB 20000

typedef struct firth_w2v_params {
    firth_arch arch;       /* default FIRTH_ARCH_SG */
    firth_loss loss;       /* default FIRTH_LOSS_NS */
    int dim;               /* vector size, default 100 */
    int window;            /* max distance to a context word, default 5 (sampled per word) */
    int negative;          /* noise words per prediction (NS), default 5 */
    int epochs;            /* default 5 */
    double alpha;          /* start learning rate; default 0.025 (sg) or 0.05 (cbow), see below */
    double min_alpha_frac; /* the rate decays linearly to alpha * this (default 1e-4) */
    double sample;         /* subsampling threshold, default 1e-3; 0 disables */
    double ns_exponent;    /* noise words are drawn with P ~ count^ns_exponent (default 0.75, as
                            * word2vec.c and gensim; fastText uses 0.5) */
    int threads;           /* worker threads, default 1 */
    uint64_t seed;         /* default 1; thread t draws from seed + t */
    int report_every_ms;   /* how often the progress callback runs (default 200) */
    int batch;             /* negative sampling only. 1 (default): skip-gram updates each
                            * window as one block against one shared set of noise words
                            * (HogBatch, Ji et al. 2019), CBOW updates blocks of cbow_block
                            * centre words, and the next window's rows are prefetched; 0: one (context, centre)
                            * pair at a time with its own noise words, as word2vec.c. */
    int cbow_block;        /* CBOW with batch: this many consecutive centre words of a sentence
                            * share one set of noise words and go through the kernel as one
                            * block, each still predicted from its own context against its own
                            * word (default 1: each centre word its own noise words, as
                            * word2vec.c). 2 or more: fewer noise rows and draws per word, ~20 %
                            * faster, ~1 analogy point lower (bench/RESULTS.md run O). */
    int64_t cache_mb;      /* while the first epoch reads the corpus, each thread keeps the ids of
                            * the words of its part in memory (4 bytes a word, about 100 MiB for
                            * 24M words), and later epochs read those instead of the text again;
                            * a thread whose part does not fit in cache_mb / threads MiB reads
                            * the text every epoch. Default 2048; 0: never. The vectors are the
                            * same either way. */
} firth_w2v_params;

/* Defaults for skip-gram. Set .arch = FIRTH_ARCH_CBOW and .alpha = 0.05 for word2vec's CBOW. */
firth_w2v_params firth_w2v_default_params(void);
/* Checks ranges and consistency; fills err on failure. */
firth_status firth_w2v_check_params(const firth_w2v_params *params, firth_error *err);

/* Snapshot of a running training, passed to the progress callback. */
typedef struct firth_progress {
    double fraction;          /* 0..1 of all epochs */
    uint64_t words_done;      /* in-vocabulary words read so far, all epochs, all threads */
    uint64_t words_total;     /* epochs * firth_vocab_train_words */
    double elapsed_s;         /* wall clock since training started */
    double words_per_s;       /* words_done / elapsed_s */
    double words_per_s_thread;/* words_per_s / threads */
    double eta_s;             /* estimated seconds left (negative when unknown) */
    double alpha;             /* current learning rate */
    double loss;              /* mean loss per prediction in the current epoch so far */
    int epoch;                /* current epoch, 1-based */
    int epochs;
    int threads;
    /* Set on the call that reports a finished epoch (in addition to the periodic calls): */
    int epoch_finished;       /* 1-based epoch that just finished, or 0 */
    double epoch_loss;        /* its mean loss per prediction (double-precision sums) */
    double epoch_seconds;     /* wall time from training start to the end of that epoch */
} firth_progress;

/* Return non-zero to stop training (firth_w2v_train then returns FIRTH_ERR_CANCELLED). */
typedef int (*firth_progress_fn)(const firth_progress *progress, void *user);

typedef struct firth_w2v firth_w2v;

/* Creates a model over a finalized vocabulary, which it takes. Weights are initialised as in
 * word2vec.c: input vectors uniform in [-0.5/dim, 0.5/dim), output vectors zero. */
firth_w2v *firth_w2v_new(firth_vocab *vocab, const firth_w2v_params *params, firth_error *err);
void firth_w2v_free(firth_w2v *model);

/* Trains for params.epochs over the corpus; `progress` may be NULL. Calls `progress` from the
 * calling thread only. With threads == 1 and a fixed seed the result is bit-for-bit repeatable. */
firth_status firth_w2v_train(firth_w2v *model, const firth_corpus *corpus,
                             const firth_text_params *text, firth_progress_fn progress,
                             void *user, firth_error *err);

/*
 * Checkpoints and resuming. A checkpoint holds the model (all weights, vocabulary,
 * hyper-parameters) and where training stands: the global word count (so the learning-rate
 * schedule goes on where it was), and for every worker its epoch, the byte offset of the next
 * sentence in its share of the corpus, its random state and its running sums. Workers stop
 * between sentences while one is written, so the model in it is consistent. Resuming with the
 * same corpus gives, with one thread and a fixed seed, bit-for-bit the vectors of a run that was
 * never interrupted (with several threads the result is as good but not bit-identical, since
 * the threads' interleaving never is). Files are written atomically: "FIRTHCKP" format in
 * docs/formats.md.
 */
typedef struct firth_w2v_resume firth_w2v_resume;

typedef struct firth_w2v_checkpoints {
    const char *path;               /* where to write checkpoints; NULL: none */
    double every_s;                 /* seconds between checkpoints; 0: only when cancelled */
    const firth_w2v_resume *resume; /* where to continue from (firth_w2v_load_checkpoint), or
                                     * NULL to start from the beginning */
} firth_w2v_checkpoints;

/* As firth_w2v_train, with checkpoints: one every `every_s` seconds and, when `path` is set,
 * one when the progress callback cancels (before FIRTH_ERR_CANCELLED is returned). A
 * checkpoint that cannot be written stops training with its error. With `resume`, the model
 * must be the one loaded with that state, `text` is ignored (the checkpoint's tokenizer
 * settings apply) and the corpus must be the same (size and fingerprint; FIRTH_ERR_INPUT if
 * not). */
firth_status firth_w2v_train_resumable(firth_w2v *model, const firth_corpus *corpus,
                                       const firth_text_params *text,
                                       const firth_w2v_checkpoints *checkpoints,
                                       firth_progress_fn progress, void *user, firth_error *err);

/* Loads a checkpoint: the model (returned) and the training state (*state, to free with
 * firth_w2v_resume_free). NULL and FIRTH_ERR_INPUT for a missing, truncated or corrupt file;
 * every size is checked against the file's length before allocating. */
firth_w2v *firth_w2v_load_checkpoint(const char *path, firth_w2v_resume **state,
                                     firth_error *err);
void firth_w2v_resume_free(firth_w2v_resume *state);
/* How far the checkpointed run had come: words done and total (all epochs), epochs finished. */
void firth_w2v_resume_position(const firth_w2v_resume *state, uint64_t *words_done,
                               uint64_t *words_total, int *epochs_finished);

const firth_vocab *firth_w2v_vocab(const firth_w2v *model);
const firth_w2v_params *firth_w2v_get_params(const firth_w2v *model);
/* Input vectors, row-major (vocab size, dim); owned by the model. */
const float *firth_w2v_vectors(const firth_w2v *model);
/* Mean loss per prediction of each finished epoch; NULL before training. */
const double *firth_w2v_epoch_losses(const firth_w2v *model, int *n_epochs);

typedef enum firth_format {
    FIRTH_FORMAT_W2V_TEXT = 0, /* word2vec text: "V D" header, one "word v1 ... vD" line each */
    FIRTH_FORMAT_W2V_BIN = 1,  /* word2vec binary (GoogleNews layout) */
    FIRTH_FORMAT_NATIVE = 2    /* firth's model file: hyper-parameters, vocabulary, all weights */
} firth_format;

/* Writes atomically (temporary file in the same directory, fsync, rename). */
firth_status firth_w2v_save(const firth_w2v *model, const char *path, firth_format format,
                            firth_error *err);
/* Loads a native model file; every size is checked against the file length before allocating. */
firth_w2v *firth_w2v_load(const char *path, firth_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Distributed word2vec training over MPI (optional)                                           */
/* ------------------------------------------------------------------------------------------ */

/*
 * When the library is built with MPI (the Makefile finds Open MPI's mpicc), `mpirun -np R`
 * starts R processes ("ranks") that train one model together: each reads its own byte range of
 * the corpus, the vocabulary is counted in parallel and merged, and the ranks synchronise the
 * weights with an all-reduce every `sync_every` words (docs/scaling.md). No MPI type appears in
 * this header: a firth_dist stands for the group of processes. Without MPI, or when a program is
 * not started by mpirun, a firth_dist is a group of one and every function below behaves as
 * its single-process counterpart.
 *
 * The functions marked "collective" must be called by every rank of the group, in the same
 * order, with the same arguments (except where noted), from the thread that created the group;
 * they return the same status on every rank, so that no rank is left waiting for the others.
 */
typedef struct firth_dist firth_dist;

/* 1 when this library was built with MPI, else 0. */
int firth_dist_built_with_mpi(void);

/* Joins the group of processes this one was started in. Under an MPI launcher (recognised by
 * the variables it sets: OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK) this starts MPI
 * (MPI_Init_thread with MPI_THREAD_FUNNELED unless the program did so already: only the thread
 * calling the collective functions uses MPI, worker threads never do); otherwise the group is
 * this process alone and MPI is not started. NULL and FIRTH_ERR_PARAM when a launcher started
 * several processes but the library was built without MPI (each would train alone and they
 * would all write the same output). `argc`/`argv` may be NULL. */
firth_dist *firth_dist_init(int *argc, char ***argv, firth_error *err);
/* Leaves the group: finalises MPI if firth_dist_init started it (collective). Accepts NULL. */
void firth_dist_free(firth_dist *dist);
int firth_dist_rank(const firth_dist *dist); /* 0..size-1 */
int firth_dist_size(const firth_dist *dist);

/* Collective: every rank passes the status of a step it did alone (and `err` with its message);
 * all return the status of the lowest rank that failed, with that rank's message (prefixed
 * "rank N: " when N > 0) in `err`, or FIRTH_OK when every rank succeeded. */
firth_status firth_dist_agree(const firth_dist *dist, firth_status status, firth_error *err);

/* The byte range of part `part` (0-based) of a corpus cut into `parts` equal ranges (the last
 * takes the remainder). Rank r of R reads part r; worker t of T threads on rank r reads part
 * r*T + t of R*T. Tokenizers over the parts together see exactly the tokens of the whole. */
void firth_corpus_part(const firth_corpus *corpus, uint64_t part, uint64_t parts,
                       uint64_t *begin, uint64_t *end);

/* Collective: counts the tokens of this rank's part of the corpus and merges the counts of all
 * ranks (each word is summed by the rank its hash names, then every rank receives every sum),
 * so that every rank holds the counts of the whole corpus; finalize it next, as after
 * firth_vocab_count. The corpus must be the same on every rank (its size and fingerprint are
 * compared: FIRTH_ERR_INPUT if not). Pruning (prune_at) applies to each rank's own table while
 * counting, so with pruning rare counts are approximate in a different way than in one process.
 * `vocab` must be new (nothing added). */
firth_status firth_vocab_count_dist(firth_vocab *vocab, const firth_corpus *corpus,
                                    const firth_text_params *params, const firth_dist *dist,
                                    firth_error *err);

/* Collective: a 64-bit hash of a finalized vocabulary (words in id order and their counts) into
 * *hash (may be NULL), compared across the ranks: FIRTH_ERR_INPUT when two ranks differ. */
firth_status firth_vocab_check_dist(const firth_vocab *vocab, const firth_dist *dist,
                                    uint64_t *hash, firth_error *err);

/* How a round combines the ranks' weights W_r, which all started from S (the weights after the
 * last round), row by row: */
typedef enum firth_dist_reduce {
    FIRTH_DIST_SUM_DELTAS = 0, /* S + sum_r (W_r - S): every update counts in full, as in one
                                * process, but R ranks' updates to a frequent row, each computed
                                * from the same stale S, add up and can overshoot */
    FIRTH_DIST_AVERAGE = 1,    /* (1/R) sum_r W_r: stable, but every update counts 1/R */
    FIRTH_DIST_ROW_MEAN = 2    /* S + (1/c) sum_r (W_r - S), c = the number of ranks that changed
                                * the row: a rare word's update (one rank) counts in full, a
                                * frequent word's rows are averaged */
} firth_dist_reduce;

typedef struct firth_w2v_dist_params {
    uint64_t sync_every;      /* training words (in the vocabulary, before subsampling) each rank
                               * reads between two synchronisations; default 100,000 */
    firth_dist_reduce reduce; /* default FIRTH_DIST_SUM_DELTAS (bench/RESULTS.md says why) */
    double sparse_below;      /* send only the rows some rank changed when they are fewer than
                               * this share of all rows; 0: always every row; default 0.7 */
} firth_w2v_dist_params;

firth_w2v_dist_params firth_w2v_dist_default_params(void);

/* What a distributed training did (the same on every rank except the times). */
typedef struct firth_w2v_dist_stats {
    int ranks;
    uint64_t rounds;        /* synchronisations, the final one included */
    uint64_t sparse_rounds; /* of which sent only the changed rows */
    double rows_sent;       /* mean share of the model's rows sent per round (0..1) */
    double bytes_per_round; /* mean payload of one round's all-reduce, bytes */
    double wait_s;          /* this rank's time waiting for the others to reach a round */
    double reduce_s;        /* this rank's time synchronising the model: the all-reduce calls
                             * and the local work around them (finding, packing, applying rows) */
    double allreduce_s;     /* of which inside the all-reduce calls */
    double train_s;         /* this rank's wall time of the whole training */
    uint64_t model_hash;    /* hash of the final weights on this rank */
    int identical;          /* 1 when the final weights are bit-identical on every rank */
} firth_w2v_dist_stats;

/* Collective: trains as firth_w2v_train, every rank on its part of the corpus with
 * params.threads threads, synchronising every dp->sync_every words (dp NULL: defaults). Every
 * rank must pass a model made the same way (same vocabulary, parameters and seed: checked);
 * rank 0's initial weights are broadcast first, and when it returns FIRTH_OK every rank holds
 * the same trained weights (write them from rank 0). Worker t of rank r draws from seed +
 * r*threads + t. The learning rate follows the global word count (between two rounds each
 * rank assumes the others go as fast as itself). The progress callback runs on every rank with
 * the global counts (words_done and words_per_s for all ranks, threads = ranks x threads); its
 * loss is this rank's, and epoch losses are over all ranks. A cancel on any rank stops every
 * rank at the next round (FIRTH_ERR_CANCELLED everywhere). Checkpoints are not available here.
 * `stats` may be NULL. With a group of one it is firth_w2v_train. */
firth_status firth_w2v_train_dist(firth_w2v *model, const firth_corpus *corpus,
                                  const firth_text_params *text, const firth_dist *dist,
                                  const firth_w2v_dist_params *dp, firth_progress_fn progress,
                                  void *user, firth_w2v_dist_stats *stats, firth_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Keyed vectors: loading embeddings and querying them                                         */
/* ------------------------------------------------------------------------------------------ */

/*
 * Words with their vectors, ready for cosine queries: the rows are L2-normalised once on load
 * (a zero row stays zero). Read-only after creation, so one object may be queried from many
 * threads at once.
 */
typedef struct firth_vectors firth_vectors;

/* Loads firth's native model, word2vec text (also fastText .vec) or word2vec binary, detected
 * from the file's first bytes. `limit` > 0 keeps only the first `limit` words (as gensim's
 * load_word2vec_format(limit=)). Every count in a header is checked against the file's length
 * before anything large is allocated. */
firth_vectors *firth_vectors_load(const char *path, size_t limit, firth_error *err);
/* A copy of a model's input vectors. */
firth_vectors *firth_vectors_from_w2v(const firth_w2v *model, firth_error *err);
void firth_vectors_free(firth_vectors *vecs);

size_t firth_vectors_count(const firth_vectors *vecs);
int firth_vectors_dim(const firth_vectors *vecs);
const char *firth_vectors_word(const firth_vectors *vecs, size_t id); /* NULL when out of range */
/* Id of a word (exact bytes), or -1. */
int64_t firth_vectors_find(const firth_vectors *vecs, const char *word);
/* The unit-length row of a word (dim floats). */
const float *firth_vectors_unit(const firth_vectors *vecs, size_t id);

typedef struct firth_hit {
    int64_t id;
    float score; /* cosine similarity, or the 3CosMul objective for analogies */
} firth_hit;

/* The k rows of largest cosine with `query` (dim floats, any length; not normalised by the
 * caller), best first, skipping the ids in `exclude`. Returns how many were written (<= k). */
size_t firth_vectors_nearest(const firth_vectors *vecs, const float *query, size_t k,
                             const int64_t *exclude, size_t n_exclude, firth_hit *out);

typedef enum firth_analogy_method {
    FIRTH_ANALOGY_ADD = 0, /* 3CosAdd: argmax cos(x, b - a + c) (Mikolov et al. 2013) */
    FIRTH_ANALOGY_MUL = 1  /* 3CosMul: argmax c'(x,b) c'(x,c) / (c'(x,a) + 1e-3), c' = (cos+1)/2
                            * (Levy and Goldberg 2014) */
} firth_analogy_method;

/* "a is to b as c is to ?": the k best answers, the three question words excluded. Returns how
 * many were written, or a negative firth_status (out of memory). */
long firth_vectors_analogy(const firth_vectors *vecs, size_t a, size_t b, size_t c,
                           firth_analogy_method method, size_t k, firth_hit *out,
                           firth_error *err);

/* Cosine similarity of two rows. */
float firth_vectors_similarity(const firth_vectors *vecs, size_t id1, size_t id2);

/* --- Conversion and export --- */

/* As firth_vectors_load, and also keeps every row exactly as the file stores it (before the
 * normalisation), for writing the vectors out again; costs a second (V, dim) matrix. */
firth_vectors *firth_vectors_load_raw(const char *path, size_t limit, firth_error *err);
/* The row of word `id` as stored in the file (dim floats), or NULL when the vectors were not
 * loaded with firth_vectors_load_raw or `id` is out of range. */
const float *firth_vectors_raw(const firth_vectors *vecs, size_t id);

/* The format of a file, judged from its first bytes as firth_vectors_load does:
 * FIRTH_FORMAT_NATIVE, FIRTH_FORMAT_W2V_BIN or FIRTH_FORMAT_W2V_TEXT (which also covers
 * fastText's .vec). FIRTH_ERR_INPUT when it is none of them. Only the header is checked. */
firth_status firth_detect_format(const char *path, firth_format *format, firth_error *err);

/* Writes the stored rows (needs firth_vectors_load_raw) as word2vec text or binary, atomically.
 * FIRTH_FORMAT_NATIVE is refused with FIRTH_ERR_PARAM: keyed vectors lack the output weights,
 * counts and hyper-parameters a native model holds (load and save the firth_w2v instead). */
firth_status firth_vectors_save(const firth_vectors *vecs, const char *path, firth_format format,
                                firth_error *err);

/* Exports the stored rows (needs firth_vectors_load_raw) for the TensorFlow Embedding Projector,
 * as the TensorFlow word2vec tutorial does: `dir`/vectors.tsv (one row of dim tab-separated
 * values per word, no header) and `dir`/metadata.tsv (one word per line, no header), in file
 * order. "</s>", word2vec's sentence-end token, is left out (the tutorial leaves out its padding
 * token likewise). `dir` is created when missing (its parent must exist); both files are
 * written to temporary files first and renamed into place only when both are complete. */
firth_status firth_vectors_save_tsv(const firth_vectors *vecs, const char *dir,
                                    firth_error *err);

/* --- Evaluation on analogy and word-similarity sets --- */

/*
 * Both evaluations count exactly as gensim 4's KeyedVectors.evaluate_word_analogies and
 * evaluate_word_pairs (with their defaults: case_insensitive=True, dummy4unknown=False):
 *  - only the first `restrict_vocab` distinct words of the file take part (a repeated word
 *    counts once, at its first row, as gensim's loader keeps only the first);
 *  - case-insensitive comparison upper-cases words exactly as Python's str.upper() does; when
 *    several words of the restricted vocabulary upper-case alike, the first one stands for all;
 *  - a question or pair with a word outside the restricted vocabulary is skipped and counted.
 */
typedef struct firth_eval_params {
    size_t restrict_vocab;        /* 0: every word; analogies default 30000, pairs 300000 */
    int case_sensitive;           /* 0 (default): compare upper-cased words, as gensim */
    firth_analogy_method method;  /* analogies: FIRTH_ANALOGY_ADD (default, gensim's method) */
} firth_eval_params;

firth_eval_params firth_eval_analogy_default_params(void);
firth_eval_params firth_eval_pairs_default_params(void);

typedef struct firth_analogy_section {
    const char *name;  /* as in the ": name" line, trimmed; owned by the result */
    size_t correct;    /* the best answer was the fourth word */
    size_t incorrect;
    size_t skipped;    /* a word outside the restricted vocabulary */
} firth_analogy_section;

typedef struct firth_analogy_result {
    firth_analogy_section *sections; /* (n_sections), in file order */
    size_t n_sections;
    size_t correct, incorrect, skipped; /* over all sections; questions = their sum */
    size_t malformed;       /* lines that are neither ": section" nor four words (ignored) */
    size_t first_malformed; /* 1-based line number of the first of them, 0 if none */
} firth_analogy_result;

/*
 * Answers every question "a b c d" of a file in the layout of word2vec's questions-words.txt
 * (": section" lines, then one question per line) with the best word x of the restricted
 * vocabulary for "a is to b as c is to x", a, b and c excluded, as gensim's
 * evaluate_word_analogies: the answer is the first of the five best candidates that does not
 * upper-case to a, b or c. Questions are scored in batches with one BLAS sgemm each over the
 * restricted rows. FIRTH_ERR_INPUT (NULL) for an unreadable file, a question before the first
 * section, or a file without questions. Free the result with firth_analogy_result_free.
 * Ties between candidates with equal scores go to the more frequent (earlier) word; scores
 * within float32 rounding of each other may rank differently from gensim's.
 */
firth_analogy_result *firth_eval_analogy(const firth_vectors *vecs, const char *path,
                                         const firth_eval_params *params, firth_error *err);
void firth_analogy_result_free(firth_analogy_result *result);

typedef struct firth_pairs_result {
    double spearman;    /* Spearman's rho (average ranks for ties), NaN when undefined */
    double pearson;     /* Pearson's r, NaN when undefined */
    size_t used;        /* pairs with both words in the restricted vocabulary */
    size_t oov;         /* pairs skipped: a word outside it */
    double oov_percent; /* 100 * oov / (used + oov), as gensim reports it */
    size_t malformed;   /* lines that are not "word1 word2 score" (ignored) */
    size_t first_malformed; /* 1-based line number of the first of them, 0 if none */
} firth_pairs_result;

/*
 * Correlates cosine similarities with the human scores of a word-pairs file (WordSim-353,
 * SimLex-999, MEN, ...): lines "word1<TAB>word2<TAB>score", lines starting with '#' are
 * comments. A line with no tab is split at white space instead (mfaruqui's eval-word-vectors
 * files); gensim, whose delimiter is a tab, would skip it as malformed. FIRTH_ERR_INPUT when the
 * file cannot be read or no pair has both words in the vocabulary.
 */
firth_status firth_eval_pairs(const firth_vectors *vecs, const char *path,
                              const firth_eval_params *params, firth_pairs_result *out,
                              firth_error *err);

/* Checks that `path` can be written later (parent exists and is writable, not a directory),
 * without leaving anything behind. Use it before long work. */
firth_status firth_check_writable(const char *path, firth_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Sampling the next token (shared by the word and character language models)                 */
/* ------------------------------------------------------------------------------------------ */

/* How a class is drawn from a model's scores (logits). The filters apply in this order:
 * temperature, top-k, top-p (nucleus), as in Hugging Face's generate and llama.cpp. */
typedef struct firth_sampler_params {
    float temperature; /* >= 0, default 1. Scores are divided by it; <= 1e-6 means argmax */
    int top_k;         /* keep only the k highest scores; 0 = off (default), 1 = greedy */
    float top_p;       /* keep the smallest set of best classes whose probability reaches
                        * top_p; in (0, 1], 1 = off (default) */
} firth_sampler_params;

void firth_sampler_default_params(firth_sampler_params *params);

/* A sampler owns its scratch (for up to n_classes scores) and its random stream, so two
 * samplers created with the same seed and fed the same scores draw the same classes. Not
 * thread-safe: one per thread. */
typedef struct firth_sampler firth_sampler;

/* NULL and FIRTH_ERR_PARAM when n_classes is 0; FIRTH_ERR_NOMEM when it cannot allocate. */
firth_sampler *firth_sampler_create(size_t n_classes, uint64_t seed, firth_error *err);
void firth_sampler_free(firth_sampler *sampler);

/* The distribution the sampler draws from: probs[i] for each of the n classes (n <= the
 * n_classes of create), zero for the classes the filters removed, summing to 1. Ties in score
 * are broken towards the lower index. FIRTH_ERR_PARAM for parameters out of range, n too large
 * or a NaN score. */
firth_status firth_sampler_distribution(firth_sampler *sampler, const float *logits, size_t n,
                                        const firth_sampler_params *params, float *probs,
                                        firth_error *err);

/* Draws one class index from that distribution into *out (argmax, lowest index on ties, when
 * top_k == 1 or temperature <= 1e-6; no random number is used then). Errors as above. */
firth_status firth_sampler_pick(firth_sampler *sampler, const float *logits, size_t n,
                                const firth_sampler_params *params, size_t *out,
                                firth_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Projector: PCA and a self-contained HTML page of the vectors                                */
/* ------------------------------------------------------------------------------------------ */

/*
 * Principal component analysis of the `n` rows of `x` (row-major (n, dim) floats). The rows are
 * centred (their mean subtracted); the (dim, dim) covariance sum((x_i - mean)(x_i - mean)^T) /
 * (n - 1) is built with BLAS (ssyrk) and its `n_comp` largest eigenpairs are found with LAPACK
 * (dsyevr, in double precision). Outputs, each may be NULL:
 *   axes      (n_comp, dim) the unit principal axes, largest variance first; the sign of each is
 *             fixed so that its entry of largest magnitude is positive (the first such entry)
 *   variance  (n_comp) the variance along each axis (the covariance's eigenvalues, >= 0; numpy's
 *             S**2 / (n - 1), sklearn's explained_variance_)
 *   total     the variance summed over all dim directions (the covariance's trace), so that
 *             variance[c] / *total is the explained-variance ratio
 *   proj      (n, n_comp) the coordinates of the centred rows on the axes
 * FIRTH_ERR_PARAM when n < 2, dim < 1, n_comp is outside [1, dim] or a size exceeds INT_MAX;
 * FIRTH_ERR_INPUT when x holds a NaN or an infinity; FIRTH_ERR_NOMEM. When variances are equal
 * the axes within their plane are not unique. Cost O(n dim^2 + dim^3) time, O(n dim + dim^2)
 * memory. Thread-safe (no state).
 */
firth_status firth_pca(const float *x, size_t n, int dim, int n_comp, float *axes,
                       double *variance, double *total, float *proj, firth_error *err);

typedef struct firth_projector_params {
    size_t words;      /* points: the first `words` words of the file, "</s>" left out (default
                        * 5000; at most FIRTH_PROJECTOR_MAX_WORDS) */
    int k;             /* nearest neighbours stored per word (default 10, 0..100) */
    const char *title; /* the page's heading and <title>; NULL: "firth projector" */
} firth_projector_params;

#define FIRTH_PROJECTOR_MAX_WORDS 50000 /* the neighbours cost words^2 * dim */

firth_projector_params firth_projector_default_params(void);

/*
 * Writes one self-contained HTML page (inline CSS, JavaScript and data; nothing is fetched from
 * the network) that shows the first `params->words` words of `vecs` (the most frequent ones in
 * files written by word2vec, gensim or firth, which store words by descending count) as points
 * placed by a 2-D PCA of their unit rows (firth_pca; L2-normalised first, so that the map shows
 * directions, the geometry of the cosine neighbours, and long frequent vectors do not dominate).
 * Hovering shows a word; a search box (or page.html#search=WORD) highlights a word and draws
 * lines to its `k` nearest neighbours, precomputed here by cosine in the full space among the
 * words on the page, exactly as firth_vectors_nearest on vectors loaded with a limit of the
 * last shown row + 1, with "</s>" excluded; the wheel zooms and dragging pans.
 * Words are embedded as JSON strings safe inside <script> ('<', '>', '&', control characters,
 * U+2028 and U+2029 escaped; bytes that are not UTF-8 become U+FFFD). Written atomically.
 * FIRTH_ERR_PARAM for out-of-range params; FIRTH_ERR_INPUT when fewer than 2 words remain or a
 * shown row is not finite; FIRTH_ERR_OUTPUT / FIRTH_ERR_IO when `path` cannot be written.
 * Cost: the PCA plus words^2 * dim multiply-adds for the neighbours.
 */
firth_status firth_projector_write_html(const firth_vectors *vecs, const char *path,
                                        const firth_projector_params *params, firth_error *err);

/* ------------------------------------------------------------------------------------------ */
/* Character-level LSTM language model (char-rnn)                                              */
/* ------------------------------------------------------------------------------------------ */

/*
 * A character model as Karpathy's char-rnn: the text's Unicode code points (UTF-8 decoded; each
 * invalid byte becomes U+FFFD) are the vocabulary; one-hot or embedded input, `layers` stacked LSTM
 * layers (sigmoid gates, tanh candidate, forget-gate bias 1), a linear output layer and softmax
 * cross-entropy; truncated backpropagation through time over `seq` characters with the hidden
 * state carried from one batch to the next; Adam; gradient-norm clipping.
 *
 * Data: the last `val_frac` of the text (contiguous) is the validation split. The training part is
 * cut into `batch` equal contiguous streams; step s reads characters [k seq, (k + 1) seq] of
 * every stream, k = s mod (steps per epoch); at the start of each epoch the state is zeroed.
 *
 * A checkpoint holds the settings, the vocabulary, the weights, Adam's moments, the step, the
 * random state, the data position and the carried state, so training resumes exactly where it
 * stopped (with one thread and the same text: byte-for-byte as if it had never stopped).
 * Not thread-safe: one model, one thread at a time (OpenBLAS may use several inside a call).
 */
typedef struct firth_charlm_params {
    int layers;      /* stacked LSTM layers, default 2 */
    int hidden;      /* units per layer, default 256 */
    int embed;       /* 0 (default): one-hot input, as char-rnn; > 0: a learned embedding of size */
    int seq;         /* characters per stream per step (truncated BPTT length), default 100 */
    int batch;       /* parallel streams, default 32 */
    double lr;       /* Adam step size, default 2e-3 */
    double beta1;    /* Adam, default 0.9 */
    double beta2;    /* Adam, default 0.999 */
    double eps;      /* Adam, default 1e-8 (PyTorch's formula: eps added to sqrt(v_hat)) */
    double dropout;  /* on the output of every layer, the top one's included, while training (as
                      * char-rnn; nn.LSTM's dropout leaves out the top one), default 0 */
    double clip;     /* global gradient L2 norm limit, default 5; 0 = off */
    double val_frac; /* validation share of the text, in [0, 0.5], default 0.05 */
    double lr_decay; /* in (0, 1]: the step size is multiplied by this at the end of every epoch
                      * from epoch lr_decay_after on (char-rnn's learning_rate_decay); default 1 */
    int lr_decay_after; /* 1-based epoch whose end is the first decay, in 0..1e9 (0 as 1),
                         * default 10 as char-rnn */
    double wdrop;    /* in [0, 1): DropConnect on every layer's recurrent weights Wh while
                      * training (AWD-LSTM's weight drop): each step draws one mask over Wh, each
                      * weight kept with probability 1 - wdrop and scaled by 1 / (1 - wdrop);
                      * default 0 (off) */
    double ema;      /* in [0, 1): 0 (default) off; else the model also keeps an exponential moving
                      * average of its weights, a <- d a + (1 - d) w after every step with
                      * d = min(ema, (1 + t) / (10 + t)) at step t, a = w at creation; evaluation,
                      * validation and generation use the average, training the raw weights */
    double weight_decay; /* >= 0, with lr x weight_decay < 1: decoupled weight decay (AdamW,
                          * Loshchilov & Hutter 2019, as torch.optim.AdamW): before each Adam
                          * step every weight of the matrices (embedding, Wx, Wh, output) is
                          * multiplied by 1 - lr x weight_decay, lr the step's rate; biases are
                          * not decayed. Default 0 (off: plain Adam) */
    int dropout_locked; /* 0 (default): dropout draws a new mask for every time step; 1: one mask
                         * per stream and unit, held for all seq time steps of a training step
                         * (locked or variational dropout: Gal & Ghahramani 2016, AWD-LSTM) */
    double input_dropout; /* in [0, 1): while training, each input character (its one-hot or
                           * embedding row) is dropped with this probability and the others are
                           * scaled by 1 / (1 - input_dropout) (AWD-LSTM's dropouti, per
                           * character); default 0 (off) */
    int epoch_shift; /* 0 (default): every epoch the streams start where their slices of the
                      * text start, as char-rnn, so each character sits at the same place of
                      * its seq-long window (and gets the same truncated-BPTT gradient) every
                      * epoch; 1: from the second epoch on, the streams start at an offset in
                      * [0, seq) drawn from the seed and the epoch, so the window boundaries
                      * move from epoch to epoch (the idea of AWD-LSTM's variable BPTT length).
                      * An epoch then has (slice - seq) / seq steps instead of
                      * (slice - 1) / seq */
    uint64_t seed;   /* weights and dropout masks, default 1 */
} firth_charlm_params;

firth_charlm_params firth_charlm_default_params(void);
firth_status firth_charlm_check_params(const firth_charlm_params *params, firth_error *err);

typedef struct firth_charlm firth_charlm;

/* A new model whose vocabulary is every code point of `text` (len bytes of UTF-8), weights as
 * PyTorch initialises nn.LSTM and nn.Linear (uniform in +-1/sqrt(hidden)) except the forget-gate
 * bias, 1; embedding N(0, 1). FIRTH_ERR_INPUT for an empty text. */
firth_charlm *firth_charlm_new(const char *text, size_t len, const firth_charlm_params *params,
                               firth_error *err);
void firth_charlm_free(firth_charlm *model);

/* Writes a checkpoint atomically. */
firth_status firth_charlm_save(const firth_charlm *model, const char *path, firth_error *err);
/* Reads a checkpoint; every size is checked against the file length before allocating, and a
 * checksum over the whole file against corruption. FIRTH_ERR_INPUT for anything wrong with it. */
firth_charlm *firth_charlm_load(const char *path, firth_error *err);

const firth_charlm_params *firth_charlm_get_params(const firth_charlm *model);
/* Training steps done so far (over all runs that led to this checkpoint). */
uint64_t firth_charlm_steps_done(const firth_charlm *model);
/* The optimiser's settings (lr, lr_decay, lr_decay_after, dropout, dropout_locked,
 * input_dropout, wdrop, weight_decay, clip, epoch_shift) may change between runs; every other
 * field of `params` must equal the model's (FIRTH_ERR_PARAM otherwise). */
firth_status firth_charlm_set_optim(firth_charlm *model, const firth_charlm_params *params,
                                    firth_error *err);
/* Threads (1 to FIRTH_CHARLM_MAX_THREADS; 1, the default, runs on the caller alone) for the
 * matrix products and the recurrent steps of training, evaluation and feeding: each time step
 * is split between them by hidden units, the products over a whole chunk by rows or columns.
 * Each thread calls OpenBLAS itself, so run OpenBLAS single-threaded
 * (openblas_set_num_threads(1)) beside them. A run is repeatable for a given thread count;
 * counts differ in the last bits. Not saved with the model; the scratch is made anew. */
#define FIRTH_CHARLM_MAX_THREADS 64
firth_status firth_charlm_set_threads(firth_charlm *model, int threads, firth_error *err);
/* The step size of a step taken in 0-based `epoch`: lr x lr_decay^(epochs ended from epoch
 * lr_decay_after on). */
double firth_charlm_lr_at(const firth_charlm_params *params, uint64_t epoch);

typedef struct firth_charlm_progress {
    uint64_t step;       /* steps done, counting earlier runs */
    uint64_t steps;      /* the step this run stops at */
    uint64_t epoch;      /* 0-based epoch of the last step */
    double loss;         /* training loss of the last step, nats per character */
    double lr;           /* the step size that step used */
    double chars_per_s;  /* training characters per second in this run (seq * batch per step;
                          * the time of validation passes left out) */
    double elapsed_s;    /* wall time of this run */
    double eta_s;        /* estimated seconds left */
    int evaluated;       /* 1 on the call that follows a validation pass */
    double val_nats;     /* its loss in nats per character (NaN on other calls) */
    int checkpointed;    /* 1 on the call that follows writing the checkpoint */
} firth_charlm_progress;

/* Called after every step (and after each validation pass and checkpoint); a non-zero return
 * stops training: the checkpoint is written, and training returns FIRTH_ERR_CANCELLED. */
typedef int (*firth_charlm_progress_fn)(const firth_charlm_progress *progress, void *user);

typedef struct firth_charlm_train_opts {
    uint64_t steps;         /* train until this many steps are done in all (0: use epochs) */
    double epochs;          /* or until this many epochs are done in all (steps rounded up) */
    uint64_t eval_every;    /* steps between validation passes (0: only at the end) */
    uint64_t checkpoint_every; /* steps between checkpoints (0: only at the end and on stop) */
    const char *checkpoint; /* where checkpoints go (NULL: none) */
    double time_limit;      /* > 0: this run also stops once this many seconds of wall time
                             * (validation passes included) have passed, after the step that
                             * crosses it (then validated and checkpointed as a last step);
                             * steps 0 and epochs 0 then mean no other limit. 0: none */
    double warmdown;        /* in [0, 1], with time_limit: over the last warmdown x time_limit
                             * seconds the step size falls linearly from the scheduled rate to
                             * 0 (a step taken at elapsed time e uses the rate x
                             * min(1, (time_limit - e) / (warmdown x time_limit))); 0: none. The
                             * clock is the run's own (a resumed run starts it again), so such
                             * a run is not reproducible bit for bit */
    uint64_t warmup;        /* > 0: the step size rises linearly over the first `warmup` steps
                             * of training (counted from the model's first step, so a resumed
                             * run goes on where it was): step s (1-based) uses the scheduled
                             * rate x min(1, s / warmup); at most 1e9. 0: none (the full rate
                             * from the first step) */
    int bf16;               /* non-zero: the LSTM layers' matrix products of training round
                             * their operands to bfloat16 and sum in float (mixed precision; the
                             * weights, Adam, the gate arithmetic and every validation pass stay
                             * in float). Twice the multiply-adds per instruction with AVX512_BF16
                             * (firth_charlm_bf16_native); plain C, slow, elsewhere. 0: float */
} firth_charlm_train_opts;

/* Non-zero when this build has the AVX512_BF16 kernel of the bfloat16 products. */
int firth_charlm_bf16_native(void);

/*
 * Trains on `text` (the same text for every run of one model: a resumed run checks its length and
 * hash). FIRTH_ERR_INPUT when the text is too short for batch * (seq + 1) training characters, has
 * a character outside the vocabulary, or differs from the one the model was trained on. When the
 * loss or the gradient becomes NaN or infinite, returns FIRTH_ERR_DIVERGED without writing a
 * checkpoint (the last one written stays). Progress is reported from the calling thread.
 */
firth_status firth_charlm_train(firth_charlm *model, const char *text, size_t len,
                                const firth_charlm_train_opts *opts,
                                firth_charlm_progress_fn progress, void *user, firth_error *err);

/* Mean loss in nats per character of predicting each character of `text` from the ones before it:
 * the text is cut into `batch` contiguous streams (fewer for a short text) read `seq` characters at
 * a time with the state carried, as the validation pass of training (which evaluates the
 * validation split this way). *chars gets the number of predictions. FIRTH_ERR_INPUT names the
 * first character outside the vocabulary; a text needs at least 2 characters. FIRTH_ERR_DIVERGED
 * when the loss is NaN (weights that overflow). */
firth_status firth_charlm_eval(firth_charlm *model, const char *text, size_t len, double *nats,
                               uint64_t *chars, firth_error *err);
/* The same with the text cut into `streams` contiguous streams instead of the model's batch
 * (0: the batch). With 1 the text is one stream: each character is predicted from all the ones
 * before it, as firth_charlm_feed would, and the loss has one cold start instead of `batch`. */
firth_status firth_charlm_eval_streams(firth_charlm *model, const char *text, size_t len,
                                       int streams, double *nats, uint64_t *chars,
                                       firth_error *err);

/* --- generation, one character at a time --- */

size_t firth_charlm_vocab_size(const firth_charlm *model);
/* Code point of class `id`. */
uint32_t firth_charlm_vocab_char(const firth_charlm *model, size_t id);
/* Class of a code point, or -1. */
int64_t firth_charlm_vocab_find(const firth_charlm *model, uint32_t codepoint);
/* Zeroes the generation state (separate from the training state). */
void firth_charlm_reset(firth_charlm *model);
/* Feeds class `id` and writes the scores of the next character into logits (vocab size). */
firth_status firth_charlm_feed(firth_charlm *model, size_t id, float *logits, firth_error *err);
/* Feeds every character of a UTF-8 string (logits as above after the last one; untouched when
 * len is 0). FIRTH_ERR_INPUT names the first character outside the vocabulary, feeding nothing. */
firth_status firth_charlm_feed_text(firth_charlm *model, const char *text, size_t len,
                                    float *logits, firth_error *err);
/* UTF-8 bytes of class `id` into out (4 bytes at most, not terminated); returns their number. */
int firth_charlm_vocab_utf8(const firth_charlm *model, size_t id, char out[4]);

/* ------------------------------------------------------------------------------------------ */
/* Word-level language model: an online next-word classifier over word embeddings             */
/* ------------------------------------------------------------------------------------------ */

/*
 * To predict the next word, the embeddings of the previous N words (N = context; a padding
 * vector stands in before the start of a text or a short seed) are concatenated into a vector x
 * of F = N * dim features, and every class c of the vocabulary gets the score
 *     s_c = w_c . x + b_c            (W: (V, F), b: (V))
 * trained online, one example at a time, by SGD with a constant learning rate `lr` and an L2
 * penalty `alpha` on W (not on b), applied as scikit-learn's SGDClassifier does: each step first
 * shrinks W by (1 - lr * alpha), then adds the loss's update (derivations in docs/derivations.md).
 *
 * Class 0 is "<unk>": words outside the vocabulary (and the literal token "<unk>") map to it,
 * as targets and in contexts. Line ends are ignored: a text is one stream of words.
 *
 * Losses:
 *  - FIRTH_WORDLM_HINGE: one-vs-rest hinge, exactly SGDClassifier(loss="hinge",
 *    learning_rate="constant", eta0=lr, alpha=alpha, penalty="l2", fit_intercept=True,
 *    average=False) fed one sample at a time by partial_fit: every class is its own binary
 *    problem with y = +1 for the target and -1 for the others, and a class whose margin
 *    y * s_c <= 1 gets w_c += lr * y * x, b_c += lr * y. Its scores are decision values, not
 *    probabilities; the sampler receives them as logits (softmax(s / temperature)), and top-k 1
 *    picks sklearn's predict().
 *  - FIRTH_WORDLM_LOG: softmax cross-entropy; probabilities are softmax(s). With `negative` > 0
 *    training uses a sampled softmax over the target and `negative` classes drawn from the
 *    training counts ^ 0.75, with the log(expected count) correction (Jean et al. 2015) so the
 *    scores stay those of the full softmax, which evaluation and generation always use.
 * With `train_embeddings` the context embeddings (the padding and "<unk>" vectors included) are
 * also updated with the gradient of the same loss (rate `emb_lr`).
 */
typedef enum firth_wordlm_loss { FIRTH_WORDLM_HINGE = 0, FIRTH_WORDLM_LOG = 1 } firth_wordlm_loss;

#define FIRTH_WORDLM_UNK 0        /* class and embedding row of unknown words */
#define FIRTH_WORDLM_UNK_WORD "<unk>"
#define FIRTH_WORDLM_MAX_CONTEXT 256
#define FIRTH_WORDLM_MAX_FEATURES (1 << 20) /* context * dim */

typedef struct firth_wordlm_params {
    firth_wordlm_loss loss; /* default FIRTH_WORDLM_HINGE */
    int context;            /* N previous words, default 12 */
    double lr;              /* SGD rate for W and b, default 0.005 (sklearn's eta0) */
    double alpha;           /* L2 penalty, default 0.0001 (sklearn's default) */
    int train_embeddings;   /* default 0: the embeddings stay as loaded */
    double emb_lr;          /* rate for the embeddings; 0 (default): lr */
    int negative;           /* log loss only: sampled classes per step; 0 (default): full */
    uint64_t seed;          /* default 1: sampled classes and vectors for words without one */
    uint64_t min_count;     /* words seen fewer times in the training text are "<unk>" (1) */
    uint64_t max_vocab;     /* keep the most frequent words only; 0 (default): all */
    int lowercase;          /* tokenizer settings, kept in the model file (default 0) */
    int strip_punct;
} firth_wordlm_params;

firth_wordlm_params firth_wordlm_default_params(void);
firth_status firth_wordlm_check_params(const firth_wordlm_params *params, firth_error *err);

typedef struct firth_wordlm firth_wordlm;

/* Builds the vocabulary from the corpus (read with the params' tokenizer settings) and a model
 * over it: each word's embedding is its vector in `vecs` as stored in the file (load them with
 * firth_vectors_load_raw; with firth_vectors_load the unit rows are used), a word that has none
 * gets a small random vector and is counted in *n_missing (may be NULL); the padding and
 * "<unk>" vectors and W, b start at zero. Does not train, and the word counts (used by the
 * unigram baseline and the sampled-softmax noise) stay zero until firth_wordlm_train counts the
 * text it learns from. FIRTH_ERR_INPUT (NULL) for a corpus
 * without words. The model does not keep `vecs` or `corpus`. */
firth_wordlm *firth_wordlm_new(const firth_vectors *vecs, const firth_corpus *corpus,
                               const firth_wordlm_params *params, size_t *n_missing,
                               firth_error *err);
void firth_wordlm_free(firth_wordlm *model);

/* Trains online over the corpus, `epochs` passes in text order, one SGD step per word (its
 * context: the words before it in the same corpus). Also the way to keep learning from new text
 * after loading a model: unknown words become "<unk>" and the vocabulary stays. `progress` as
 * for word2vec (words_done counts examples; loss is the mean loss per example). Not
 * thread-safe; with the same seed the result is bit-for-bit repeatable. */
firth_status firth_wordlm_train(firth_wordlm *model, const firth_corpus *corpus, int epochs,
                                firth_progress_fn progress, void *user, firth_error *err);

/* Threads for the full-classifier steps of firth_wordlm_train (hinge, and the log loss without
 * `negative`): each step's classes are split between them; 1 (the default) to
 * FIRTH_WORDLM_MAX_THREADS. A run is repeatable for a given thread count; other counts differ in
 * the last bits (sums in another order). Not saved with the model. Worth it only when the cores
 * are free: the threads spin between steps. */
#define FIRTH_WORDLM_MAX_THREADS 64
firth_status firth_wordlm_set_threads(firth_wordlm *model, int threads, firth_error *err);

/* One SGD step on one example: `context` holds the N ids of the previous words, oldest first
 * (ids < vocab size, or firth_wordlm_vocab_size() for padding); `target` is a class. Writes the
 * example's loss before the step to *loss (may be NULL). */
firth_status firth_wordlm_step(firth_wordlm *model, const size_t *context, size_t target,
                               double *loss, firth_error *err);

typedef struct firth_wordlm_eval_result {
    uint64_t examples;    /* targets scored: those in the vocabulary */
    uint64_t oov_targets; /* targets that are "<unk>", left out of every figure */
    double top1, top5;    /* fraction of examples whose target is the best / among the 5 best
                           * classes ("<unk>" is never a candidate) */
    double perplexity;    /* exp(mean -log p(target)) under the full softmax; NaN for hinge */
    /* the unigram baseline: always the most frequent training words, p(w) = count / total */
    double unigram_top1, unigram_top5, unigram_perplexity;
} firth_wordlm_eval_result;

/* Scores every next word of the corpus with the full classifier (batched sgemm). */
firth_status firth_wordlm_eval(const firth_wordlm *model, const firth_corpus *corpus,
                               firth_wordlm_eval_result *out, firth_error *err);

/* Writes the model atomically: magic "FIRTHWLM", version, sizes, hyper-parameters, vocabulary
 * with counts, embeddings, W and b (docs/formats.md). */
firth_status firth_wordlm_save(const firth_wordlm *model, const char *path, firth_error *err);
/* Loads a model file; every size is checked against the file length before allocating, and a
 * file that is not a word model, is truncated, or holds non-finite weights is refused with
 * FIRTH_ERR_INPUT. */
firth_wordlm *firth_wordlm_load(const char *path, firth_error *err);

const firth_wordlm_params *firth_wordlm_get_params(const firth_wordlm *model);
/* Classes, "<unk>" (id 0) included. The padding id is this value. */
size_t firth_wordlm_vocab_size(const firth_wordlm *model);
int firth_wordlm_dim(const firth_wordlm *model);
const char *firth_wordlm_word(const firth_wordlm *model, size_t id); /* NULL if out of range */
uint64_t firth_wordlm_word_count(const firth_wordlm *model, size_t id);
/* Class of a word (exact bytes), or FIRTH_WORDLM_UNK. */
size_t firth_wordlm_find(const firth_wordlm *model, const char *word, size_t len);
/* Training steps taken so far (all calls to train, update and step). */
uint64_t firth_wordlm_steps(const firth_wordlm *model);

/* Splits `text` into words with the model's tokenizer settings (white space, optional
 * lower-casing and punctuation stripping, as the corpus tokenizer) and maps them to classes.
 * *ids is malloc'd (caller frees; NULL when *n == 0); *n_unknown counts words that became
 * "<unk>" (may be NULL). FIRTH_ERR_INPUT for invalid UTF-8. */
firth_status firth_wordlm_tokenize(const firth_wordlm *model, const char *text, size_t **ids,
                                   size_t *n, size_t *n_unknown, firth_error *err);

/* The score of every class (vocab size floats) after the words ids[0..n): the last N of them
 * are the context, padded in front when n < N. Log loss: logits (softmax gives probabilities);
 * hinge: decision values. Thread-safe (read-only on the model). */
firth_status firth_wordlm_scores(const firth_wordlm *model, const size_t *ids, size_t n,
                                 float *scores, firth_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FIRTH_H */
