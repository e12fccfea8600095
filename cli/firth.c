/* firth.c - the command-line tool: one binary, one subcommand per job (fastText style). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    cli_command_fn fn;
    const char *help;
} command;

static const command commands[] = {
    {"train", cmd_train, "train word2vec embeddings (skip-gram or CBOW) on a text corpus"},
    {"neighbors", cmd_neighbors, "nearest neighbours of words by cosine similarity"},
    {"analogy", cmd_analogy, "a is to b as c is to ? (3CosAdd or 3CosMul)"},
    {"similarity", cmd_similarity, "cosine similarity of two words"},
    {"eval-analogy", cmd_eval_analogy, "accuracy on an analogy set (questions-words.txt)"},
    {"eval-similarity", cmd_eval_similarity, "Spearman correlation with a word-similarity set"},
    {"convert", cmd_convert, "between word2vec text/binary, .vec, native and projector TSV"},
    {"project", cmd_project, "a self-contained HTML page: words in 2-D (PCA), search, neighbours"},
    {"charlm", cmd_charlm, "character-level LSTM language model: train, sample, eval"},
    {"wordlm", cmd_wordlm, "word-level next-word model: train, update, eval"},
    {"complete", cmd_complete, "continue a seed phrase with a word model"},
};

static void usage(FILE *out) {
    fprintf(out, "firth %s - word embeddings and small language models from raw text\n\n"
                 "usage: firth COMMAND [options]   (firth COMMAND --help for its options)\n\n"
                 "commands:\n",
            FIRTH_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n  --version        print the version\n  --help           this text\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("firth %s\n", FIRTH_VERSION_STRING);
        return 0;
    }
    if (strcmp(name, "neighbours") == 0) name = "neighbors";
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].fn(argc, argv);
    return cli_usage_error("unknown command '%s' (see firth --help)", name);
}
