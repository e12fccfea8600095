/* cli.h - what the subcommands share: a table-driven option parser, exit codes, messages.
 * Only the CLI prints for humans and exits; the library returns statuses. */
#ifndef FIRTH_CLI_H
#define FIRTH_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "firth.h"

/* Exit codes: 0 success, 2 bad usage or input, 1 internal failure. */
enum { EXIT_USAGE = 2, EXIT_INTERNAL = 1 };

typedef enum opt_kind {
    OPT_FLAG,   /* int, set to 1 */
    OPT_INT,    /* int within [lo, hi] */
    OPT_U64,    /* uint64_t within [lo, hi] */
    OPT_DOUBLE, /* double within [lo, hi] */
    OPT_STR,    /* const char * */
    OPT_LIST,   /* repeatable: appends to a cli_list */
    OPT_CHOICE  /* int: index of the value in `choices` ("sg|cbow") */
} opt_kind;

typedef struct cli_list {
    const char **items;
    size_t n, cap;
} cli_list;

typedef struct cli_opt {
    const char *name; /* "--dim"; "-k" style short names allowed */
    opt_kind kind;
    void *dst;
    double lo, hi;
    const char *choices; /* OPT_CHOICE only */
    const char *arg;     /* placeholder in the help ("N", "FILE") */
    const char *help;
} cli_opt;

/* Parses argv[first..argc): options from `opts`, everything else into `positional`. "--"
 * ends options. On error prints "firth: ..." and returns -1; on --help prints the usage (with
 * `usage` as its first lines) and returns 1; else 0. */
int cli_parse(int argc, char **argv, int first, const cli_opt *opts, size_t n_opts,
              cli_list *positional, const char *usage);
void cli_print_help(const char *usage, const cli_opt *opts, size_t n_opts);
void cli_list_free(cli_list *l);

/* Prints "firth: <message>" and returns the exit code for the status. */
int cli_fail(const firth_error *err);
/* Prints "firth: <formatted>" and returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code(firth_status st);

/* Prints s to stdout as a JSON string (quotes, backslashes and control characters escaped). */
void cli_json_string(const char *s);

/* Human-readable duration ("1h02m", "3m05s", "12.3s"). */
void cli_format_seconds(double s, char *buf, size_t cap);

typedef int (*cli_command_fn)(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_neighbors(int argc, char **argv);
int cmd_analogy(int argc, char **argv);
int cmd_similarity(int argc, char **argv);
int cmd_eval_analogy(int argc, char **argv);
int cmd_eval_similarity(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_project(int argc, char **argv);
int cmd_charlm(int argc, char **argv);
int cmd_wordlm(int argc, char **argv);
int cmd_complete(int argc, char **argv);

#endif
