/*
 * registry_int.h — private to the Service Registry module: the store (registry_store.c)
 * that the routes (registry.c) and the loop timers (registry_watch.c) use.
 */
#ifndef REGISTRY_INT_H
#define REGISTRY_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>

#define REGISTRY_SOURCE "/flowmaster/registry"
#define REGISTRY_REGISTERED "registry.service.registered"
#define REGISTRY_EXPIRED "registry.service.expired"
#define REGISTRY_DEREGISTERED "registry.service.deregistered"

typedef struct reg_new {
    const char *tenant, *name, *url, *health_url;
    int ttl;
    const char *metadata_json;
} reg_new_t;

/* Each returns FM_OK, FM_ENOTFOUND, FM_ECONFLICT or FM_EDB; items are external-service
 * objects as docs/core.md shows them. */
int registry_insert(fm_db_t *db, const reg_new_t *n, cJSON **item);
int registry_get(fm_db_t *db, const char *tenant, const char *id_or_name, cJSON **item);
int registry_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *into, int *total);
int registry_heartbeat(fm_db_t *db, const char *tenant, const char *id, cJSON **item);
int registry_delete(fm_db_t *db, const char *tenant, const char *id);

/* Loop thread. */
int registry_expire(fm_db_t *db, int64_t now_ms, int *expired);
typedef void (*registry_probe_fn)(const char *id, const char *url, void *arg);
int registry_each_probe(fm_db_t *db, registry_probe_fn fn, void *arg);
int registry_set_health(fm_db_t *db, const char *id, const char *health, const char *detail);

/* registry_watch.c: timers for expiry and health probes. */
int registry_watch_start(fm_mod_t *m);
void registry_watch_stop(fm_mod_t *m);

#endif
