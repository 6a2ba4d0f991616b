/*
 * registry_store.c — the Service Registry's table of external services (migrations/
 * registry/). Every query filters on tenant_id except the loop's sweeps, which act for
 * the platform; every change that others should hear about writes its event to the
 * outbox in the same transaction.
 */
#include "registry_int.h"

#include "../../bus/bus.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdlib.h>
#include <string.h>

#define COLS "id, name, url, health_url, ttl_seconds, metadata, registered_at, last_heartbeat, " \
             "expires_at_ms, health, last_probe_at, probe_detail"

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static cJSON *row_item(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    char at[32];
    cJSON_AddStringToObject(o, "id", col(st, 0));
    cJSON_AddStringToObject(o, "name", col(st, 1));
    cJSON_AddStringToObject(o, "kind", "external");
    cJSON_AddStringToObject(o, "url", col(st, 2));
    if (col(st, 3))
        cJSON_AddStringToObject(o, "healthUrl", col(st, 3));
    else
        cJSON_AddNullToObject(o, "healthUrl");
    cJSON_AddNumberToObject(o, "ttlSeconds", sqlite3_column_int(st, 4));
    cJSON *meta = cJSON_Parse(col(st, 5));
    cJSON_AddItemToObject(o, "metadata", meta ? meta : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "registeredAt", col(st, 6));
    cJSON_AddStringToObject(o, "lastHeartbeat", col(st, 7));
    fm_time_rfc3339_at(sqlite3_column_int64(st, 8), at);
    cJSON_AddStringToObject(o, "expiresAt", at);
    /* Without a health URL the heartbeat is the health signal. */
    cJSON_AddStringToObject(o, "health", col(st, 3) ? col(st, 9) : "up");
    if (col(st, 10))
        cJSON_AddStringToObject(o, "lastProbeAt", col(st, 10));
    else
        cJSON_AddNullToObject(o, "lastProbeAt");
    if (col(st, 11))
        cJSON_AddStringToObject(o, "probeDetail", col(st, 11));
    return o;
}

/* Runs a one-row SELECT of COLS; FM_ENOTFOUND when there is none. */
static int select_one(sqlite3 *c, const char *sql, const char *a, const char *b, const char *d,
                      int64_t n, cJSON **item)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    const char *args[] = { a, b, d };
    for (int i = 0; i < 3; i++)
        if (args[i])
            sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, n);
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? FM_OK : rc == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    if (out == FM_OK)
        *item = row_item(st);
    sqlite3_finalize(st);
    return out;
}

static const char by_id_or_name[] =
    "SELECT " COLS " FROM services WHERE tenant_id = ?1 AND (id = ?2 OR name = ?3) AND expires_at_ms > ?4 "
    "ORDER BY id = ?2 DESC LIMIT 1";

int registry_insert(fm_db_t *db, const reg_new_t *n, cJSON **item)
{
    char id[32], now[32];
    fm_id_random("svc", id, sizeof(id));
    int64_t now_ms = fm_time_unix_ms();
    fm_time_rfc3339_at(now_ms, now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    /* A name whose holder expired but was not swept yet is free again. */
    sqlite3_stmt *gone = NULL;
    if (sqlite3_prepare_v2(w, "DELETE FROM services WHERE tenant_id = ? AND name = ? AND expires_at_ms <= ?",
                           -1, &gone, NULL) == SQLITE_OK) {
        sqlite3_bind_text(gone, 1, n->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(gone, 2, n->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(gone, 3, now_ms);
        sqlite3_step(gone);
    }
    sqlite3_finalize(gone);
    if (sqlite3_prepare_v2(w, "INSERT INTO services(id, tenant_id, name, url, health_url, ttl_seconds, "
                              "metadata, registered_at, last_heartbeat, expires_at_ms) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, n->url, -1, SQLITE_STATIC);
    if (n->health_url)
        sqlite3_bind_text(st, 5, n->health_url, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, n->ttl);
    sqlite3_bind_text(st, 7, n->metadata_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, now_ms + (int64_t)n->ttl * 1000);
    int step = sqlite3_step(st);
    if (step == SQLITE_CONSTRAINT) {
        rc = FM_ECONFLICT;
        goto done;
    }
    if (step != SQLITE_DONE)
        goto done;
    rc = select_one(w, by_id_or_name, n->tenant, id, id, now_ms, item);
    if (rc != FM_OK)
        goto done;
    char *data = cJSON_PrintUnformatted(*item);
    rc = data ? bus_outbox_add(db, w, REGISTRY_SOURCE, REGISTRY_REGISTERED, id, n->tenant, data) : FM_ENOMEM;
    cJSON_free(data);
done:
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc != FM_OK && *item) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return rc;
}

int registry_get(fm_db_t *db, const char *tenant, const char *id_or_name, cJSON **item)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = select_one(c, by_id_or_name, tenant, id_or_name, id_or_name, fm_time_unix_ms(), item);
    fm_db_reader_done(db, c);
    return rc;
}

int registry_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = FM_EDB;
    int64_t now = fm_time_unix_ms();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT count(*) FROM services WHERE tenant_id = ? AND expires_at_ms > ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (limit <= 0) {
        rc = FM_OK;
        goto done;
    }
    if (sqlite3_prepare_v2(c, "SELECT " COLS " FROM services WHERE tenant_id = ? AND expires_at_ms > ? "
                              "ORDER BY name, id LIMIT ? OFFSET ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(into, row_item(st));
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int registry_heartbeat(fm_db_t *db, const char *tenant, const char *id, cJSON **item)
{
    char now[32];
    int64_t now_ms = fm_time_unix_ms();
    fm_time_rfc3339_at(now_ms, now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "UPDATE services SET last_heartbeat = ?1, expires_at_ms = ?2 + ttl_seconds * 1000 "
                              "WHERE tenant_id = ?3 AND id = ?4 AND expires_at_ms > ?2", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_text(st, 3, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    rc = sqlite3_changes(w) ? select_one(w, by_id_or_name, tenant, id, "\x01", now_ms, item) : FM_ENOTFOUND;
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int registry_delete(fm_db_t *db, const char *tenant, const char *id)
{
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "DELETE FROM services WHERE tenant_id = ? AND id = ? RETURNING name",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", id);
        cJSON_AddStringToObject(d, "name", col(st, 0));
        char *data = cJSON_PrintUnformatted(d);
        cJSON_Delete(d);
        sqlite3_finalize(st);
        st = NULL;
        rc = data ? bus_outbox_add(db, w, REGISTRY_SOURCE, REGISTRY_DEREGISTERED, id, tenant, data) : FM_ENOMEM;
        cJSON_free(data);
    } else {
        rc = step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    }
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int registry_expire(fm_db_t *db, int64_t now_ms, int *expired)
{
    *expired = 0;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB, step;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "DELETE FROM services WHERE expires_at_ms <= ? RETURNING id, tenant_id, name",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(st, 1, now_ms);
    /* RETURNING rows are all computed before the first is returned, so writing the
     * outbox while stepping is safe. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", col(st, 0));
        cJSON_AddStringToObject(d, "name", col(st, 2));
        char *data = cJSON_PrintUnformatted(d);
        cJSON_Delete(d);
        int orc = data ? bus_outbox_add(db, w, REGISTRY_SOURCE, REGISTRY_EXPIRED, col(st, 0), col(st, 1), data)
                       : FM_ENOMEM;
        cJSON_free(data);
        if (orc != FM_OK) {
            rc = orc;
            goto done;
        }
        (*expired)++;
    }
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int registry_each_probe(fm_db_t *db, registry_probe_fn fn, void *arg)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT id, health_url FROM services WHERE health_url IS NOT NULL", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            fn(col(st, 0), col(st, 1), arg);
        rc = FM_OK;
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int registry_set_health(fm_db_t *db, const char *id, const char *health, const char *detail)
{
    char now[32];
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "UPDATE services SET health = ?, last_probe_at = ?, probe_detail = ? WHERE id = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, health, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}
