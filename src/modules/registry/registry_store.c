/*
 * registry_store.c — the Service Registry's table of external services (migrations/
 * registry/). Every query filters on tenant_id except the loop's sweeps, which act for
 * the platform; every change that others should hear about writes its event to the
 * outbox in the same transaction.
 */
#include "registry_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdlib.h>
#include <string.h>

#define COLS "id, name, url, health_url, ttl_seconds, metadata, registered_at, last_heartbeat, " \
             "expires_at_ms, health, last_probe_at, probe_detail"

static cJSON *row_item(const fm_dbrow_t *r, void *arg)
{
    (void)arg;
    cJSON *o = cJSON_CreateObject();
    char at[32];
    const char *health_url = fm_dbrow_text(r, 3);
    cJSON_AddStringToObject(o, "id", fm_dbrow_text(r, 0));
    cJSON_AddStringToObject(o, "name", fm_dbrow_text(r, 1));
    cJSON_AddStringToObject(o, "kind", "external");
    cJSON_AddStringToObject(o, "url", fm_dbrow_text(r, 2));
    if (health_url)
        cJSON_AddStringToObject(o, "healthUrl", health_url);
    else
        cJSON_AddNullToObject(o, "healthUrl");
    cJSON_AddNumberToObject(o, "ttlSeconds", (double)fm_dbrow_int(r, 4));
    cJSON *meta = fm_dbrow_json(r, 5);
    cJSON_AddItemToObject(o, "metadata", meta ? meta : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "registeredAt", fm_dbrow_text(r, 6));
    cJSON_AddStringToObject(o, "lastHeartbeat", fm_dbrow_text(r, 7));
    fm_time_rfc3339_at(fm_dbrow_int(r, 8), at);
    cJSON_AddStringToObject(o, "expiresAt", at);
    /* Without a health URL the heartbeat is the health signal. */
    cJSON_AddStringToObject(o, "health", health_url ? fm_dbrow_text(r, 9) : "up");
    if (fm_dbrow_text(r, 10))
        cJSON_AddStringToObject(o, "lastProbeAt", fm_dbrow_text(r, 10));
    else
        cJSON_AddNullToObject(o, "lastProbeAt");
    if (fm_dbrow_text(r, 11))
        cJSON_AddStringToObject(o, "probeDetail", fm_dbrow_text(r, 11));
    return o;
}

static int one_item(const fm_dbrow_t *r, void *arg)
{
    *(cJSON **)arg = row_item(r, NULL);
    return *(cJSON **)arg ? FM_OK : FM_ENOMEM;
}

static const char by_id_or_name[] =
    "SELECT " COLS " FROM services WHERE tenant_id = ?1 AND (id = ?2 OR name = ?3) AND expires_at_ms > ?4 "
    "ORDER BY id = ?2 DESC LIMIT 1";

/* The live service with this id or name; FM_ENOTFOUND when there is none. */
static int select_one(fm_dbc_t *c, const char *tenant, const char *id, const char *name, int64_t now_ms,
                      cJSON **item)
{
    return fm_dbq_one(c, by_id_or_name, one_item, item, "sssI", tenant, id, name, now_ms);
}

static int put_event(fm_dbc_t *w, const char *type, const char *id, const char *tenant, const cJSON *data)
{
    return bus_outbox_put_json(w, REGISTRY_SOURCE, type, id, tenant, data);
}

int registry_insert(fm_db_t *db, const reg_new_t *n, cJSON **item)
{
    char id[32], now[32];
    fm_id_random("svc", id, sizeof(id));
    int64_t now_ms = fm_time_unix_ms();
    fm_time_rfc3339_at(now_ms, now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    /* A name whose holder expired but was not swept yet is free again. */
    int rc = fm_dbq_run(w, "DELETE FROM services WHERE tenant_id = ? AND name = ? AND expires_at_ms <= ?", "ssI",
                        n->tenant, n->name, now_ms);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO services(id, tenant_id, name, url, health_url, ttl_seconds, "
                           "metadata, registered_at, last_heartbeat, expires_at_ms) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "sssssisssI",
                        id, n->tenant, n->name, n->url, n->health_url, n->ttl, n->metadata_json, now, now,
                        now_ms + (int64_t)n->ttl * 1000);
    if (rc == FM_OK)
        rc = select_one(w, n->tenant, id, id, now_ms, item);
    if (rc == FM_OK)
        rc = put_event(w, REGISTRY_REGISTERED, id, n->tenant, *item);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK && *item) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return rc;
}

int registry_get(fm_db_t *db, const char *tenant, const char *id_or_name, cJSON **item)
{
    return fm_dbq_read_one(db, by_id_or_name, one_item, item, "sssI", tenant, id_or_name, id_or_name,
                           fm_time_unix_ms());
}

int registry_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *into, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM services WHERE tenant_id = ? AND expires_at_ms > ?",
        .rows_sql = "SELECT " COLS " FROM services WHERE tenant_id = ? AND expires_at_ms > ? "
                    "ORDER BY name, id LIMIT ? OFFSET ?",
        .item = row_item, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "sI", tenant, fm_time_unix_ms());
}

int registry_heartbeat(fm_db_t *db, const char *tenant, const char *id, cJSON **item)
{
    char now[32];
    int64_t now_ms = fm_time_unix_ms();
    fm_time_rfc3339_at(now_ms, now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "UPDATE services SET last_heartbeat = ?1, expires_at_ms = ?2 + ttl_seconds * 1000 "
                           "WHERE tenant_id = ?3 AND id = ?4 AND expires_at_ms > ?2", "sIss",
                        now, now_ms, tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_changes(w) ? select_one(w, tenant, id, "\x01", now_ms, item) : FM_ENOTFOUND;
    return fm_dbq_write_end(w, rc);
}

typedef struct { fm_dbc_t *w; const char *type; int n; } gone_t;

/* A RETURNING row (id, tenant_id, name) of a delete: its event. RETURNING rows are all
 * computed before the first is returned, so writing the outbox while stepping is safe. */
static int gone_row(const fm_dbrow_t *r, void *arg)
{
    gone_t *g = arg;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", fm_dbrow_text(r, 0));
    cJSON_AddStringToObject(d, "name", fm_dbrow_text(r, 2));
    int rc = put_event(g->w, g->type, fm_dbrow_text(r, 0), fm_dbrow_text(r, 1), d);
    cJSON_Delete(d);
    g->n += rc == FM_OK;
    return rc;
}

int registry_delete(fm_db_t *db, const char *tenant, const char *id)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    gone_t g = { w, REGISTRY_DEREGISTERED, 0 };
    int rc = fm_dbq_each(w, "DELETE FROM services WHERE tenant_id = ? AND id = ? RETURNING id, tenant_id, name",
                         gone_row, &g, "ss", tenant, id);
    if (rc == FM_OK && g.n == 0)
        rc = FM_ENOTFOUND;
    return fm_dbq_write_end(w, rc);
}

int registry_expire(fm_db_t *db, int64_t now_ms, int *expired)
{
    *expired = 0;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    gone_t g = { w, REGISTRY_EXPIRED, 0 };
    int rc = fm_dbq_each(w, "DELETE FROM services WHERE expires_at_ms <= ? RETURNING id, tenant_id, name",
                         gone_row, &g, "I", now_ms);
    *expired = g.n;
    return fm_dbq_write_end(w, rc);
}

typedef struct { registry_probe_fn fn; void *arg; } probe_t;

static int probe_row(const fm_dbrow_t *r, void *arg)
{
    probe_t *p = arg;
    p->fn(fm_dbrow_text(r, 0), fm_dbrow_text(r, 1), p->arg);
    return FM_OK;
}

int registry_each_probe(fm_db_t *db, registry_probe_fn fn, void *arg)
{
    probe_t p = { fn, arg };
    return fm_dbq_read_each(db, "SELECT id, health_url FROM services WHERE health_url IS NOT NULL", probe_row, &p, "");
}

int registry_set_health(fm_db_t *db, const char *id, const char *health, const char *detail)
{
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "UPDATE services SET health = ?, last_probe_at = ?, probe_detail = ? WHERE id = ?",
                        "ssss", health, now, detail, id);
    return fm_dbq_write_end(w, rc);
}
