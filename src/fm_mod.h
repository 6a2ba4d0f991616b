/*
 * fm_mod.h — a module as it runs: its descriptor, its database and its state, plus
 * the core's read-only view of the running set (for health, the registry, metrics).
 * The set is fixed before HTTP starts and never changes while serving, so any thread
 * may read it.
 */
#ifndef FM_MOD_H
#define FM_MOD_H

#include "fm.h"
#include "fm_db.h"
#include "fm_metrics.h"

#include <stdatomic.h>

struct fm_mod {
    const fm_module_t *def;
    fm_db_t *db;                /* NULL unless def->flags & FM_M_DB */
    int mig_applied, mig_pending;
    atomic_bool started;        /* start hook ran and stop hook has not */
    fm_hist_t latency;
    void *state;                /* the module's own, set in its start hook */
};

/* The running modules (fm_server.c); empty outside `serve`. */
size_t fm_mods_count(void);
fm_mod_t *fm_mods_at(size_t i);
fm_mod_t *fm_mods_find(const char *name);
bool fm_mod_ready(const fm_mod_t *m);   /* database open and fully migrated, started */
size_t fm_mod_implemented(const fm_module_t *def);  /* routes with a handler */

int fm_listen_port(int canonical);      /* canonical + the configured offset */
/* The file `serve` keeps in its data directory while serving: {"pid", "listen",
 * "portOffset"} (fm_server.c); gone after a clean stop. */
#define FM_RUN_FILE "serve.json"
/* "http://<server.listen, or 127.0.0.1 when it is a wildcard>:<port with offset><path>":
 * how a local client reaches a port (the MCP resource URL, the audience of its tokens). */
void fm_local_url(int canonical, const char *path, char *out, size_t len);
double fm_uptime(void);                 /* seconds since serve started */
bool fm_serving(void);                  /* false while starting and while stopping */

/* The module table (src/modules/modules.c), NULL-terminated, in start order. */
extern const fm_module_t *const fm_module_table[];
const fm_module_t *fm_module_lookup(const char *name);

#endif
