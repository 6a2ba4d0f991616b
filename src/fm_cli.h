/*
 * fm_cli.h — commands of the `flowmaster` binary. Each is a descriptor with the flags
 * it accepts; fm_cli_run parses them (common ones build the config: defaults, file,
 * environment, flags) and calls the command.
 */
#ifndef FM_CLI_H
#define FM_CLI_H

#include "fm_config.h"

#include <stdbool.h>

/* Flags a command may accept. */
enum {
    FL_CONFIG = 1u << 0, FL_DATA_DIR = 1u << 1, FL_LISTEN = 1u << 2, FL_PORT_OFFSET = 1u << 3,
    FL_MODULES = 1u << 4, FL_STATUS = 1u << 5, FL_JSON = 1u << 6, FL_HOST = 1u << 7,
    FL_TENANT = 1u << 8, FL_EMAIL = 1u << 9, FL_ROLE = 1u << 10, FL_SERVICE = 1u << 11,
    FL_ARGS = 1u << 12,     /* positional words (a subcommand) allowed */
    FL_URL = 1u << 13, FL_TOKEN = 1u << 14,
};

typedef struct fm_cli_opts {
    bool status, json;
    const char *host;
    const char *tenant, *email, *role, *service;
    const char *url, *token;
    const char *args[4];    /* positional words, with FL_ARGS */
    int nargs;
} fm_cli_opts_t;

typedef struct fm_cmd {
    const char *name, *summary, *help;
    unsigned flags;
    int (*run)(const fm_cli_opts_t *o);     /* the config is installed: fm_cfg() */
} fm_cmd_t;

int fm_cli_run(const fm_cmd_t *cmd, int argc, char **argv);

extern const fm_cmd_t fm_cmd_serve, fm_cmd_migrate, fm_cmd_routes, fm_cmd_smoke, fm_cmd_version;
/* src/modules/auth/auth_cli.c */
extern const fm_cmd_t fm_cmd_user, fm_cmd_keys, fm_cmd_token;
/* An access token of service account `service` (role service; made on first use) of
 * `tenant`, signed with the data directory's key ring, its issuer from the installed
 * config; NULL after saying why on stderr (as "flowmaster <cmd>: …"). Caller frees. */
char *fm_cli_service_token(const char *cmd, const char *tenant, const char *service);
/* src/modules/mcp/mcp_stdio.c */
extern const fm_cmd_t fm_cmd_mcp;

#endif
