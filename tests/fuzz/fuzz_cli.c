/* fuzz_cli.c - the command-line option parser (cli_parse in cli/cli.c) with a table that has
 * every kind of option, and the CLI's JSON string printer. The input is split at NUL bytes into
 * argv (at most 64 arguments). Output goes to stdout/stderr; run it with -close_fd_mask=3. */
#include <string.h>

#include "cli.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    FZ_ASSERT(buf);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[66];
    int argc = 0;
    argv[argc++] = "firth";
    argv[argc++] = "cmd";
    for (char *p = buf; p <= buf + size && argc < 65;) {
        argv[argc++] = p;
        p += strlen(p) + 1;
    }
    argv[argc] = NULL;
    int flag = 0, i = 5, choice = 0;
    uint64_t u = 0;
    double d = 0;
    const char *s = NULL;
    cli_list list = {0}, pos = {0};
    const cli_opt opts[] = {
        {"--flag", OPT_FLAG, &flag, 0, 0, NULL, NULL, "a flag"},
        {"--int", OPT_INT, &i, -5, 1000, NULL, "N", "an int"},
        {"-k", OPT_INT, &i, 1, 1000000, NULL, "N", "short name"},
        {"--u64", OPT_U64, &u, 0, 1.8e19, NULL, "N", "a u64"},
        {"--double", OPT_DOUBLE, &d, -1, 1e300, NULL, "X", "a double"},
        {"--str", OPT_STR, &s, 0, 0, NULL, "S", "a string"},
        {"--list", OPT_LIST, &list, 0, 0, NULL, "FILE", "repeatable"},
        {"--choice", OPT_CHOICE, &choice, 0, 0, "sg|cbow|ns|hs|", NULL, "a choice"},
    };
    int rc = cli_parse(argc, argv, 2, opts, sizeof opts / sizeof *opts, &pos, "usage: fuzz");
    FZ_ASSERT(rc == -1 || rc == 0 || rc == 1);
    if (rc == 0) {
        FZ_ASSERT(i >= -5 && i <= 1000000 && d >= -1 && d <= 1e300 && choice >= 0 && choice <= 4);
        for (size_t k = 0; k < pos.n; k++) cli_json_string(pos.items[k]);
        for (size_t k = 0; k < list.n; k++) FZ_ASSERT(list.items[k] != NULL);
        char t[32];
        /* a duration is never printed negative (an int overflow printed "-2147483648h") */
        cli_format_seconds(d, t, sizeof t);
        FZ_ASSERT(d < 1 || t[0] != '-');
        cli_format_seconds((double)u, t, sizeof t);
        FZ_ASSERT(t[0] != '-');
    }
    cli_list_free(&list);
    cli_list_free(&pos);
    free(buf);
    return 0;
}
