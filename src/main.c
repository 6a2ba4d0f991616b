/*
 * main.c — the `flowmaster` command line: one table of commands, one flag parser.
 * Exit codes: 0 success, 1 a runtime failure (data dir, busy port, failed smoke
 * check), 2 a usage or configuration error.
 */
#include "fm_cli.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const fm_cmd_t *const commands[] = {
    &fm_cmd_serve, &fm_cmd_migrate, &fm_cmd_routes, &fm_cmd_smoke,
    &fm_cmd_user, &fm_cmd_keys, &fm_cmd_token, &fm_cmd_mcp, &fm_cmd_version, NULL
};

static void usage(FILE *out)
{
    fprintf(out, "usage: flowmaster <command> [flags]\n\ncommands:\n");
    for (size_t i = 0; commands[i]; i++)
        fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\n'flowmaster <command> --help' describes a command and its flags.\n");
}

int main(int argc, char **argv)
{
    /* Before any other libsodium call (keys, tokens, argon2id): picks the fastest
     * implementations for this CPU and sets up the random source. */
    if (sodium_init() < 0) {
        fprintf(stderr, "flowmaster: libsodium could not be initialised\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version"))
        name = "version";
    for (size_t i = 0; commands[i]; i++)
        if (!strcmp(commands[i]->name, name))
            return fm_cli_run(commands[i], argc - 2, argv + 2);
    fprintf(stderr, "flowmaster: unknown command '%s' (see 'flowmaster --help')\n", name);
    return 2;
}
