/* cli.c - option parsing and messages shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_list_free(cli_list *l) {
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static int list_push(cli_list *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        const char **p = realloc(l->items, cap * sizeof *p);
        if (!p) return -1;
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return 0;
}

int cli_exit_code(firth_status st) {
    switch (st) {
    case FIRTH_OK: return 0;
    case FIRTH_ERR_PARAM:
    case FIRTH_ERR_INPUT:
    case FIRTH_ERR_OUTPUT: return EXIT_USAGE;
    default: return EXIT_INTERNAL;
    }
}

int cli_fail(const firth_error *err) {
    fprintf(stderr, "firth: %s\n", err->message[0] ? err->message : firth_status_name(err->status));
    return cli_exit_code(err->status) ? cli_exit_code(err->status) : EXIT_INTERNAL;
}

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("firth: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

void cli_format_seconds(double s, char *buf, size_t cap) {
    if (!(s >= 0)) {
        snprintf(buf, cap, "?");
    } else if (s >= 3600.0 * 1e6) {
        /* (int)(s / 3600) would overflow (undefined behaviour; found by tests/fuzz/fuzz_cli):
         * an ETA beyond a million hours only says "never" */
        snprintf(buf, cap, ">1000000h");
    } else if (s >= 3600) {
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    } else if (s >= 60) {
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    } else {
        snprintf(buf, cap, "%.1fs", s);
    }
}

void cli_print_help(const char *usage, const cli_opt *opts, size_t n) {
    printf("%s\n", usage);
    if (n) printf("\noptions:\n");
    for (size_t i = 0; i < n; i++) {
        char left[64];
        if (opts[i].kind == OPT_FLAG)
            snprintf(left, sizeof left, "%s", opts[i].name);
        else
            snprintf(left, sizeof left, "%s %s", opts[i].name,
                     opts[i].kind == OPT_CHOICE ? opts[i].choices
                                                : (opts[i].arg ? opts[i].arg : "X"));
        printf("  %-26s %s\n", left, opts[i].help);
    }
    printf("  %-26s %s\n", "--help", "this text");
}

/* Index of `value` in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *value) {
    size_t vl = strlen(value);
    int idx = 0;
    for (const char *p = choices;; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vl && strncmp(p, value, len) == 0) return idx;
        if (!bar) return -1;
        p = bar + 1;
    }
}

static int set_value(const cli_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno || x < o->lo || x > o->hi)
            return cli_usage_error("%s must be a whole number from %.0f to %.0f (got '%s')",
                                   o->name, o->lo, o->hi, v), -1;
        *(int *)o->dst = (int)x;
        return 0;
    }
    case OPT_U64: {
        if (*v == '-') return cli_usage_error("%s must not be negative (got '%s')", o->name, v), -1;
        unsigned long long x = strtoull(v, &end, 10);
        if (!*v || *end || errno || (double)x < o->lo || (double)x > o->hi)
            return cli_usage_error("%s must be a whole number from %.0f to %.4g (got '%s')",
                                   o->name, o->lo, o->hi, v), -1;
        *(uint64_t *)o->dst = (uint64_t)x;
        return 0;
    }
    case OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || x < o->lo || x > o->hi)
            return cli_usage_error("%s must be a number from %g to %g (got '%s')", o->name, o->lo,
                                   o->hi, v), -1;
        *(double *)o->dst = x;
        return 0;
    }
    case OPT_STR: *(const char **)o->dst = v; return 0;
    case OPT_LIST:
        if (list_push(o->dst, v) != 0) return cli_usage_error("out of memory"), -1;
        return 0;
    case OPT_CHOICE: {
        int i = choice_index(o->choices, v);
        if (i < 0) return cli_usage_error("%s must be one of %s (got '%s')", o->name, o->choices, v), -1;
        *(int *)o->dst = i;
        return 0;
    }
    default: return -1;
    }
}

int cli_parse(int argc, char **argv, int first, const cli_opt *opts, size_t n,
              cli_list *positional, const char *usage) {
    int only_positional = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0' ||
            (a[1] >= '0' && a[1] <= '9')) { /* "-" (stdin) and negative numbers are values */
            if (list_push(positional, a) != 0) return cli_usage_error("out of memory"), -1;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_print_help(usage, opts, n);
            return 1;
        }
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = NULL;
        for (size_t k = 0; k < n; k++)
            if (strlen(opts[k].name) == name_len && strncmp(opts[k].name, a, name_len) == 0)
                o = &opts[k];
        if (!o) return cli_usage_error("unknown option '%.*s' (see --help)", (int)name_len, a), -1;
        if (o->kind == OPT_FLAG) {
            if (eq) return cli_usage_error("%s takes no value", o->name), -1;
            *(int *)o->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) return cli_usage_error("%s needs a value", o->name), -1;
            v = argv[++i];
        }
        if (set_value(o, v) != 0) return -1;
    }
    return 0;
}

void cli_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}
