/*
 * fm_cli.c — flag parsing and the commands other than serve's body: migrate, routes,
 * smoke and version.
 */
#include "fm_cli.h"

#include "feel/feel.h"
#include "fm_embed.h"
#include "fm_migrate.h"
#include "fm_router.h"
#include "fm_server.h"

#include <cjson/cJSON.h>
#include <civetweb.h>
#include <curl/curl.h>
#include <expat.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static const struct {
    unsigned bit;
    const char *name, *section, *key;   /* config key the flag sets, if any */
} flag_table[] = {
    { FL_CONFIG, "--config", NULL, NULL },
    { FL_DATA_DIR, "--data-dir", "storage", "data_dir" },
    { FL_LISTEN, "--listen", "server", "listen" },
    { FL_PORT_OFFSET, "--port-offset", "server", "port_offset" },
    { FL_MODULES, "--modules", "modules", "enabled" },
    { FL_STATUS, "--status", NULL, NULL },
    { FL_JSON, "--json", NULL, NULL },
    { FL_HOST, "--host", NULL, NULL },
    { FL_TENANT, "--tenant", NULL, NULL },
    { FL_EMAIL, "--email", NULL, NULL },
    { FL_ROLE, "--role", NULL, NULL },
    { FL_SERVICE, "--service", NULL, NULL },
    { FL_URL, "--url", NULL, NULL },
    { FL_TOKEN, "--token", NULL, NULL },
};
#define NFLAGS (sizeof(flag_table) / sizeof(flag_table[0]))

static bool takes_value(unsigned bit)
{
    return !(bit & (FL_STATUS | FL_JSON));
}

int fm_cli_run(const fm_cmd_t *cmd, int argc, char **argv)
{
    const char *values[NFLAGS] = { NULL };
    fm_cli_opts_t o = { .host = "127.0.0.1" };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: flowmaster %s\n\n%s\n", cmd->help, cmd->summary);
            return 0;
        }
        if (a[0] != '-' && (cmd->flags & FL_ARGS)) {
            if (o.nargs == 4) {
                fprintf(stderr, "flowmaster %s: too many arguments\n", cmd->name);
                return 2;
            }
            o.args[o.nargs++] = a;
            continue;
        }
        size_t f = 0;
        const char *eq = strchr(a, '=');
        size_t alen = eq ? (size_t)(eq - a) : strlen(a);
        while (f < NFLAGS && !(strlen(flag_table[f].name) == alen && !strncmp(flag_table[f].name, a, alen)))
            f++;
        if (f == NFLAGS || !(cmd->flags & flag_table[f].bit)) {
            fprintf(stderr, "flowmaster %s: unknown flag '%s' (see 'flowmaster %s --help')\n",
                    cmd->name, a, cmd->name);
            return 2;
        }
        if (!takes_value(flag_table[f].bit)) {
            if (eq) {
                fprintf(stderr, "flowmaster %s: flag '%.*s' takes no value\n", cmd->name, (int)alen, a);
                return 2;
            }
            if (flag_table[f].bit == FL_STATUS)
                o.status = true;
            else
                o.json = true;
            continue;
        }
        if (eq) {
            values[f] = eq + 1;
        } else if (i + 1 < argc) {
            values[f] = argv[++i];
        } else {
            fprintf(stderr, "flowmaster %s: flag '%s' needs a value\n", cmd->name, a);
            return 2;
        }
    }

    fm_config_t c;
    char err[1024];
    fm_config_defaults(&c);
    if (values[0] && fm_config_load_file(&c, values[0], err, sizeof(err)) < 0) {
        fprintf(stderr, "flowmaster: config: %s\n", err);
        return 2;
    }
    if (fm_config_load_env(&c, err, sizeof(err)) < 0) {
        fprintf(stderr, "flowmaster: config: %s\n", err);
        return 2;
    }
    for (size_t f = 0; f < NFLAGS; f++) {
        if (!values[f])
            continue;
        switch (flag_table[f].bit) {
        case FL_HOST: o.host = values[f]; continue;
        case FL_TENANT: o.tenant = values[f]; continue;
        case FL_EMAIL: o.email = values[f]; continue;
        case FL_ROLE: o.role = values[f]; continue;
        case FL_SERVICE: o.service = values[f]; continue;
        case FL_URL: o.url = values[f]; continue;
        case FL_TOKEN: o.token = values[f]; continue;
        default: break;
        }
        if (flag_table[f].section &&
            fm_config_set(&c, flag_table[f].section, flag_table[f].key, values[f], err, sizeof(err)) < 0) {
            fprintf(stderr, "flowmaster %s: flag %s: %s\n", cmd->name, flag_table[f].name, err);
            return 2;
        }
    }
    fm_config_install(&c);
    feel_memory_limits((size_t)c.rules_feel_memory_mib << 20, (size_t)c.rules_feel_memory_total_mib << 20);
    return cmd->run(&o);
}

/* ---- serve ---- */

static int run_serve(const fm_cli_opts_t *o)
{
    (void)o;
    return fm_serve();
}

const fm_cmd_t fm_cmd_serve = {
    "serve", "Run the platform: every module on its canonical port (+ offset).",
    "serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--port-offset N] [--modules a,b]\n\n"
    "Stops cleanly on SIGINT or SIGTERM. Logs JSON lines on stderr.",
    FL_CONFIG | FL_DATA_DIR | FL_LISTEN | FL_PORT_OFFSET | FL_MODULES, run_serve
};

/* ---- migrate ---- */

static void print_row(const fm_migration_t *m, const char *applied_at, void *arg)
{
    (void)arg;
    printf("%-14s %04d  %-32s %s%s\n", m->module, m->version, m->name,
           applied_at ? "applied " : "pending", applied_at ? applied_at : "");
}

static int run_migrate(const fm_cli_opts_t *o)
{
    const fm_config_t *c = fm_cfg();
    fm_mod_t *mods = NULL;
    size_t n = 0;
    char err[1024];
    int code = 1;
    if (fm_mods_select(c->modules, &mods, &n, err, sizeof(err))) {
        fprintf(stderr, "flowmaster migrate: %s\n", err);
        return 2;
    }
    if (o->status) {
        printf("%-14s %-5s %-32s %s\n", "MODULE", "VER", "NAME", "STATUS");
        fm_db_opts_t opts = { false, 256, false, 0 };
        for (size_t i = 0; i < n; i++) {
            if (!(mods[i].def->flags & FM_M_DB))
                continue;
            char path[700];
            snprintf(path, sizeof(path), "%s/%s.db", c->data_dir, mods[i].def->name);
            fm_db_t *db = NULL;
            if (access(path, F_OK) == 0 && fm_db_open(&db, path, &opts, err, sizeof(err))) {
                fprintf(stderr, "flowmaster migrate: %s\n", err);
                goto out;
            }
            fm_migrate_status(db, mods[i].def->name, fm_migrations, fm_nmigrations, print_row, NULL);
            fm_db_close(db);
        }
        code = 0;
        goto out;
    }
    if (fm_data_dir_prepare(c->data_dir, err, sizeof(err)) || fm_mods_open_dbs(mods, n, false, err, sizeof(err))) {
        fprintf(stderr, "flowmaster migrate: %s\n", err);
        goto out;
    }
    int applied = 0;
    for (size_t i = 0; i < n; i++)
        applied += mods[i].mig_applied;
    printf("migrations applied; %d recorded across %zu modules in %s\n", applied, n, c->data_dir);
    code = 0;
out:
    fm_mods_release(mods, n);
    return code;
}

const fm_cmd_t fm_cmd_migrate = {
    "migrate", "Apply pending database migrations (or list them with --status).",
    "migrate [--status] [--config FILE] [--data-dir DIR] [--modules a,b]",
    FL_STATUS | FL_CONFIG | FL_DATA_DIR | FL_MODULES, run_migrate
};

/* ---- routes ---- */

static int run_routes(const fm_cli_opts_t *o)
{
    fm_mod_t *mods = NULL;
    size_t n = 0;
    char err[1024];
    fm_routing_t r;
    if (fm_mods_select(fm_cfg()->modules, &mods, &n, err, sizeof(err)) ||
        fm_routing_build(&r, mods, n, err, sizeof(err))) {
        fprintf(stderr, "flowmaster routes: %s\n", err);
        fm_mods_release(mods, n);
        return 2;
    }
    cJSON *arr = o->json ? cJSON_CreateArray() : NULL;
    if (!o->json)
        printf("%-5s %-7s %-44s %-14s %s\n", "PORT", "METHOD", "PATTERN", "MODULE", "AUTH");
    for (size_t p = 0; p < r.nports; p++) {
        const fm_rtable_t *t = fm_port_table(&r, &r.ports[p]);
        for (size_t i = 0; i < t->n; i++) {
            const fm_rentry_t *e = t->v[i];
            const char *auth = (e->def->flags & FM_R_PUBLIC) ? "public" : e->def->perm ? e->def->perm : "authenticated";
            if (arr) {
                cJSON *row = cJSON_CreateObject();
                cJSON_AddNumberToObject(row, "port", r.ports[p].port);
                cJSON_AddStringToObject(row, "method", fm_method_name(e->def->method));
                cJSON_AddStringToObject(row, "pattern", e->def->pattern);
                cJSON_AddStringToObject(row, "module", e->module_name);
                cJSON_AddStringToObject(row, "auth", auth);
                cJSON_AddBoolToObject(row, "implemented", e->def->handler != NULL);
                cJSON_AddItemToArray(arr, row);
            } else {
                printf("%-5d %-7s %-44s %-14s %s%s\n", r.ports[p].port, fm_method_name(e->def->method),
                       e->def->pattern, e->module_name, auth, e->def->handler ? "" : "  (501: not built yet)");
            }
        }
    }
    if (arr) {
        char *s = cJSON_Print(arr);
        if (s)
            puts(s);
        cJSON_free(s);
        cJSON_Delete(arr);
    }
    fm_routing_release(&r);
    fm_mods_release(mods, n);
    return 0;
}

const fm_cmd_t fm_cmd_routes = {
    "routes", "Print the routing table: port, method, pattern, module, auth.",
    "routes [--json] [--modules a,b]\n\nPorts are canonical; 9000 (the gateway) lists every API route.",
    FL_JSON | FL_MODULES | FL_CONFIG, run_routes
};

/* ---- smoke ---- */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static long probe(CURL *e, const char *host, int port, const char *path)
{
    char url[256];
    snprintf(url, sizeof(url), "http://%s:%d%s", host, port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    long status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static int run_smoke(const fm_cli_opts_t *o)
{
    fm_mod_t *mods = NULL;
    size_t n = 0;
    char err[1024];
    fm_routing_t r;
    if (fm_mods_select(fm_cfg()->modules, &mods, &n, err, sizeof(err)) ||
        fm_routing_build(&r, mods, n, err, sizeof(err))) {
        fprintf(stderr, "flowmaster smoke: %s\n", err);
        fm_mods_release(mods, n);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    int failed = 0;
    printf("%-6s %-6s %-28s %-7s %s\n", "PORT", "LISTEN", "MODULES", "HEALTH", "READY");
    for (size_t p = 0; p < r.nports; p++) {
        const fm_port_t *port = &r.ports[p];
        int listen = port->port + fm_cfg()->port_offset;
        char names[128] = "";
        for (size_t i = 0; i < port->nmods; i++)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "," : "",
                     port->mods[i]->def->name);
        long h = probe(e, o->host, listen, "/health"), rd = probe(e, o->host, listen, "/ready");
        failed += h != 200 || rd != 200;
        printf("%-6d %-6d %-28s %-7s %s\n", port->port, listen, names,
               h == 200 ? "ok" : h ? "FAIL" : "DOWN", rd == 200 ? "ok" : rd ? "FAIL" : "DOWN");
    }
    printf("%zu ports checked, %d failed\n", r.nports, failed);
    curl_easy_cleanup(e);
    curl_global_cleanup();
    fm_routing_release(&r);
    fm_mods_release(mods, n);
    return failed ? 1 : 0;
}

const fm_cmd_t fm_cmd_smoke = {
    "smoke", "Check a running instance: /health and /ready on every port.",
    "smoke [--port-offset N] [--host H] [--modules a,b]\n\nExits 0 when every port answers 200, else 1.",
    FL_PORT_OFFSET | FL_HOST | FL_MODULES | FL_CONFIG, run_smoke
};

/* ---- version ---- */

static int run_version(const fm_cli_opts_t *o)
{
    (void)o;
    char pcre[32] = "";
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    printf("flowmaster %s\n", FM_VERSION);
    printf("civetweb %s, sqlite %s, libuv %s, cjson %s, libsodium %s, pcre2 %s, %s, %s\n",
           mg_version(), sqlite3_libversion(), uv_version_string(), cJSON_Version(),
           sodium_version_string(), pcre, XML_ExpatVersion(), curl_version());
    return 0;
}

const fm_cmd_t fm_cmd_version = { "version", "Print the version and the linked libraries.",
                                  "version", 0, run_version };
