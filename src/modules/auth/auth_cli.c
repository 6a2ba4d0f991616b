/*
 * auth_cli.c — the identity commands of the `flowmaster` binary. They open the auth
 * database in the data dir directly (a running server picks changes up: keys within
 * seconds, users and service accounts at once).
 *
 *   flowmaster user add --tenant T --email E --role R[,R2]   password on stdin or prompted
 *   flowmaster keys rotate
 *   flowmaster token --service NAME [--tenant T]              prints an access token
 *
 * Tokens carry the issuer of this config: run `token` with the server's --port-offset
 * (or auth.issuer) so the server accepts what it prints.
 */
#include "auth_module.h"

#include "../../fm_cli.h"
#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_embed.h"
#include "../../fm_id.h"
#include "../../fm_log.h"
#include "../../fm_migrate.h"
#include "../../fm_server.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Opens and migrates <data-dir>/auth.db. */
static fm_db_t *open_auth(const char *cmd)
{
    char err[1024], path[700];
    const fm_config_t *c = fm_cfg();
    if (fm_data_dir_prepare(c->data_dir, err, sizeof(err))) {
        fprintf(stderr, "flowmaster %s: %s\n", cmd, err);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/auth.db", c->data_dir);
    fm_db_opts_t opts = { !strcmp(c->durability, "full"), 256, false, 0 };
    fm_db_t *db = NULL;
    if (fm_db_open(&db, path, &opts, err, sizeof(err)) ||
        fm_migrate_apply(db, "auth", fm_migrations, fm_nmigrations, NULL, err, sizeof(err))) {
        fprintf(stderr, "flowmaster %s: %s\n", cmd, err);
        fm_db_close(db);
        return NULL;
    }
    return db;
}

/* One line from stdin; with a terminal, prompted and not echoed. */
static int read_password(char *buf, size_t len)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!got)
        return -1;
    buf[strcspn(buf, "\r\n")] = 0;
    return 0;
}

static int run_user(const fm_cli_opts_t *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "add") || !o->email || !o->role) {
        fprintf(stderr, "usage: flowmaster user add --tenant T --email E --role R[,R2]\n");
        return 2;
    }
    const char *tenant = o->tenant ? o->tenant : AUTH_PLATFORM_TENANT;
    if (!strchr(o->email, '@') || strlen(o->email) > 254 || strlen(tenant) > 64) {
        fprintf(stderr, "flowmaster user: '%s' is not an email address\n", o->email);
        return 2;
    }
    char pw[1100];
    if (read_password(pw, sizeof(pw)) < 0 || (int)strlen(pw) < fm_cfg()->auth_password_min_length) {
        fprintf(stderr, "flowmaster user: the password must be at least %d characters\n",
                fm_cfg()->auth_password_min_length);
        return 2;
    }
    fm_db_t *db = open_auth("user");
    if (!db)
        return 1;
    cJSON *roles = cJSON_CreateArray();
    char list[256];
    snprintf(list, sizeof(list), "%s", o->role);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(roles, cJSON_CreateString(t));
    int code = 1;
    const char *bad = auth_roles_unknown(db, tenant, roles);
    auth_user_t u;
    memset(&u, 0, sizeof(u));
    if (bad) {
        fprintf(stderr, "flowmaster user: unknown role '%s'\n", bad);
        code = 2;
    } else {
        int rc = auth_user_create(db, tenant, o->email, "", pw, roles, true, &u);
        if (rc == FM_OK) {
            printf("%s\n", u.id);
            code = 0;
        } else {
            fprintf(stderr, "flowmaster user: %s\n",
                    rc == FM_ECONFLICT ? "a user with this email exists in this tenant" : "cannot store the user");
        }
    }
    sodium_memzero(pw, sizeof(pw));
    auth_user_release(&u);
    cJSON_Delete(roles);
    fm_db_close(db);
    return code;
}

const fm_cmd_t fm_cmd_user = {
    "user", "Add a user (and its tenant when new); the password is read from stdin.",
    "user add --tenant T --email E --role R[,R2] [--data-dir D] [--config F]",
    FL_ARGS | FL_TENANT | FL_EMAIL | FL_ROLE | FL_DATA_DIR | FL_CONFIG, run_user
};

static int run_keys(const fm_cli_opts_t *o)
{
    if (o->nargs != 1 || strcmp(o->args[0], "rotate")) {
        fprintf(stderr, "usage: flowmaster keys rotate\n");
        return 2;
    }
    fm_db_t *db = open_auth("keys");
    if (!db)
        return 1;
    char kid[64];
    int rc = auth_keys_rotate(db, kid);
    fm_db_close(db);
    if (rc != FM_OK) {
        fprintf(stderr, "flowmaster keys: cannot store the new key\n");
        return 1;
    }
    printf("%s\n", kid);
    return 0;
}

const fm_cmd_t fm_cmd_keys = {
    "keys", "Rotate the token signing key (old keys verify until their tokens expire).",
    "keys rotate [--data-dir D] [--config F]", FL_ARGS | FL_DATA_DIR | FL_CONFIG, run_keys
};

/* Finds or creates service account `name` of `tenant` (role service); its roles into *roles. */
static int roles_row(const fm_dbrow_t *r, void *roles)
{
    *(cJSON **)roles = fm_dbrow_json(r, 0);
    return FM_OK;
}

static int service_account(fm_db_t *db, const char *tenant, const char *name, cJSON **roles)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_one(w, "SELECT roles FROM service_accounts WHERE tenant_id = ? AND name = ?", roles_row, roles,
                        "ss", tenant, name);
    if (rc == FM_ENOTFOUND) {
        /* Its API key is never shown: this account exists for CLI-minted tokens. */
        unsigned char raw[32];
        char hash[65], key[64], id[48], now[32];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(key, sizeof(key), raw, 31);
        auth_sha256_hex(key, hash);
        fm_id_random("sa", id, sizeof(id));
        fm_time_rfc3339(now);
        rc = fm_dbq_run(w, "INSERT INTO service_accounts(id, tenant_id, name, key_hash, roles, created_at) "
                           "VALUES (?, ?, ?, ?, '[\"service\"]', ?)", "sssss", id, tenant, name, hash, now);
        *roles = cJSON_Parse("[\"service\"]");
    }
    return fm_dbq_write_end(w, rc);
}

char *fm_cli_service_token(const char *cmd, const char *tenant, const char *service)
{
    fm_db_t *db = open_auth(cmd);
    if (!db)
        return NULL;
    char *tok = NULL;
    cJSON *roles = NULL;
    if (auth_tenant_exists(db, tenant) != FM_OK) {
        fprintf(stderr, "flowmaster %s: no tenant '%s' (start the server once, or add it)\n", cmd, tenant);
    } else if (auth_keys_load(db) != FM_OK || !fm_keyring_ready()) {
        fprintf(stderr, "flowmaster %s: no signing key yet: start the server once or run 'keys rotate'\n", cmd);
    } else if (service_account(db, tenant, service, &roles) != FM_OK) {
        fprintf(stderr, "flowmaster %s: cannot store the service account\n", cmd);
    } else {
        char sub[80];
        snprintf(sub, sizeof(sub), "svc:%s", service);
        auth_subject_t s = { sub, tenant, NULL, service, roles };
        tok = auth_access_token(db, &s);
    }
    cJSON_Delete(roles);
    fm_db_close(db);
    return tok;
}

static int run_token(const fm_cli_opts_t *o)
{
    if (!o->service || !*o->service || strlen(o->service) > 64) {
        fprintf(stderr, "usage: flowmaster token --service NAME [--tenant T]\n");
        return 2;
    }
    char *tok = fm_cli_service_token("token", o->tenant ? o->tenant : AUTH_PLATFORM_TENANT, o->service);
    if (!tok)
        return 1;
    printf("%s\n", tok);
    free(tok);
    return 0;
}

const fm_cmd_t fm_cmd_token = {
    "token", "Print an access token for a service account (for scripts).",
    "token --service NAME [--tenant T] [--data-dir D] [--port-offset N] [--config F]\n\n"
    "The token's issuer follows this command's config: pass the server's --port-offset.",
    FL_SERVICE | FL_TENANT | FL_DATA_DIR | FL_CONFIG | FL_PORT_OFFSET | FL_LISTEN, run_token
};
