/*
 * registry.c — Service Registry (8001): every module of this process, plus external
 * services that register over HTTP and keep alive with heartbeats (docs/core.md).
 * Lists page over modules first, then the tenant's live externals by name.
 */
#include "registry_int.h"

#include "../../fm_config.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

static cJSON *module_item(const fm_mod_t *m)
{
    const fm_module_t *d = m->def;
    size_t impl = fm_mod_implemented(d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddStringToObject(o, "title", d->title);
    cJSON_AddStringToObject(o, "kind", "module");
    cJSON *ports = cJSON_AddArrayToObject(o, "ports");
    cJSON_AddItemToArray(ports, cJSON_CreateNumber(d->port));
    cJSON *listen = cJSON_AddArrayToObject(o, "listenPorts");
    cJSON_AddItemToArray(listen, cJSON_CreateNumber(fm_listen_port(d->port)));
    cJSON_AddNumberToObject(o, "routes", (double)d->nroutes);
    cJSON_AddNumberToObject(o, "implementedRoutes", (double)impl);
    /* A web app's routes are its files: always there. */
    cJSON_AddBoolToObject(o, "implemented", d->nroutes > 0 && impl == d->nroutes);
    cJSON_AddStringToObject(o, "health", fm_mod_ready(m) ? "up" : "down");
    return o;
}

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int nmods = (int)fm_mods_count(), taken = 0;
    for (int i = offset; i < nmods && taken < limit; i++, taken++)
        cJSON_AddItemToArray(items, module_item(fm_mods_at((size_t)i)));
    int ext_offset = offset > nmods ? offset - nmods : 0;
    int rc = registry_list(db_of(r), fm_req_tenant(r), ext_offset, limit - taken, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, nmods + total);
}

static int get(fm_req_t *r)
{
    const char *name = fm_req_param(r, "name");
    fm_mod_t *m = fm_mods_find(name);
    if (m)
        return fm_reply_json(r, 200, module_item(m));
    cJSON *item = NULL;
    int rc = registry_get(db_of(r), fm_req_tenant(r), name, &item);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no service '%s'", name);
    return rc == FM_OK ? fm_reply_json(r, 200, item) : rc;
}

static int health(fm_req_t *r)
{
    const char *name = fm_req_param(r, "name");
    char now[32];
    fm_time_rfc3339(now);
    cJSON *o = cJSON_CreateObject();
    fm_mod_t *m = fm_mods_find(name);
    cJSON *item = NULL;
    if (m) {
        bool up = fm_mod_ready(m);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "status", up ? "up" : "down");
        cJSON_AddStringToObject(o, "checkedAt", now);
        cJSON_AddStringToObject(o, "detail", up ? "module started; database open and migrated"
                                                : "module not ready");
        return fm_reply_json(r, 200, o);
    }
    int rc = registry_get(db_of(r), fm_req_tenant(r), name, &item);
    if (rc != FM_OK) {
        cJSON_Delete(o);
        if (rc == FM_ENOTFOUND)
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "no service '%s'", name);
        return rc;
    }
    const cJSON *probe = cJSON_GetObjectItem(item, "lastProbeAt");
    const cJSON *detail = cJSON_GetObjectItem(item, "probeDetail");
    const cJSON *hu = cJSON_GetObjectItem(item, "healthUrl");
    cJSON_AddStringToObject(o, "name", cJSON_GetObjectItem(item, "name")->valuestring);
    cJSON_AddStringToObject(o, "id", cJSON_GetObjectItem(item, "id")->valuestring);
    cJSON_AddStringToObject(o, "status", cJSON_GetObjectItem(item, "health")->valuestring);
    cJSON_AddStringToObject(o, "checkedAt", cJSON_IsString(probe) ? probe->valuestring : now);
    cJSON_AddStringToObject(o, "detail", cJSON_IsString(detail) ? detail->valuestring
                                         : cJSON_IsString(hu) ? "not probed yet"
                                                              : "heartbeat within its TTL");
    cJSON_Delete(item);
    return fm_reply_json(r, 200, o);
}

static const fm_field_t create_fields[] = {
    { "name", FM_F_STRING, true, 1, 64, NAME_CHARS },
    { "url", FM_F_URL, true, 8, 2048, NULL },
    { "healthUrl", FM_F_URL, false, 8, 2048, NULL },
    { "ttlSeconds", FM_F_INT, false, 1, 86400, NULL },
    { "metadata", FM_F_OBJECT, false, 0, 0, NULL },
};

static int create(fm_req_t *r)
{
    if (fm_req_check(r, create_fields, sizeof(create_fields) / sizeof(create_fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const cJSON *hu = cJSON_GetObjectItem(j, "healthUrl"), *ttl = cJSON_GetObjectItem(j, "ttlSeconds");
    const cJSON *meta = cJSON_GetObjectItem(j, "metadata");
    reg_new_t n = {
        fm_req_tenant(r), cJSON_GetObjectItem(j, "name")->valuestring,
        cJSON_GetObjectItem(j, "url")->valuestring, cJSON_IsString(hu) ? hu->valuestring : NULL,
        cJSON_IsNumber(ttl) ? ttl->valueint : 30, NULL,
    };
    if (fm_module_lookup(n.name))
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "'%s' is the name of a FlowMaster module", n.name);
    char *meta_json = cJSON_IsObject(meta) ? cJSON_PrintUnformatted(meta) : NULL;
    if (meta_json && strlen(meta_json) > 16384) {
        cJSON_free(meta_json);
        return fm_reply_invalid(r, "metadata", "must be at most 16384 bytes as JSON");
    }
    n.metadata_json = meta_json ? meta_json : "{}";
    cJSON *item = NULL;
    int rc = registry_insert(db_of(r), &n, &item);
    cJSON_free(meta_json);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "a live service named '%s' is already registered", n.name);
    if (rc != FM_OK)
        return rc;
    char loc[128];
    snprintf(loc, sizeof(loc), "/services/%s", cJSON_GetObjectItem(item, "id")->valuestring);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, item);
}

static int heartbeat(fm_req_t *r)
{
    cJSON *item = NULL;
    int rc = registry_heartbeat(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &item);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL,
                                "no live service with id '%s'; register it again", fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_json(r, 200, item) : rc;
}

static int deregister(fm_req_t *r)
{
    int rc = registry_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no service with id '%s'", fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static const fm_route_t routes[] = {
    { FM_GET, "/services", list, 0, "registry:read" },
    { FM_POST, "/services", create, FM_R_JSON, "registry:write" },
    { FM_GET, "/services/{name}", get, 0, "registry:read" },
    { FM_GET, "/services/{name}/health", health, 0, "registry:read" },
    { FM_PUT, "/services/{id}/heartbeat", heartbeat, 0, "registry:write" },
    { FM_DELETE, "/services/{id}", deregister, 0, "registry:write" },
};

const fm_module_t fm_registry_module = {
    "registry", "Service Registry", 8001, FM_M_DB, FM_ROUTES(routes), NULL,
    registry_watch_start, registry_watch_stop,
};
