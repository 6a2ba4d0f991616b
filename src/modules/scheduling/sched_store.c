/*
 * sched_store.c — the Scheduling Service's schedules and runs (migrations/scheduling/).
 * Every route query filters on tenant_id; the loop's sweeps (sched_fire.c) act for the
 * platform. A write that changes when something fires asks the loop to re-arm.
 */
#include "sched_int.h"

#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS "id, tenant_id, name, cron, interval, at, timezone, action, misfire, misfire_max, enabled, " \
             "start_ms, end_ms, anchor_ms, next_ms, revision, created_at, updated_at"

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    return col(st, i) ? strdup(col(st, i)) : NULL;
}

void sched_row_free(sched_row_t *r)
{
    free(r->cron);
    free(r->interval);
    free(r->at);
    free(r->action_json);
    r->cron = r->interval = r->at = r->action_json = NULL;
}

static void row_read(sqlite3_stmt *st, sched_row_t *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", col(st, 0));
    snprintf(r->tenant, sizeof(r->tenant), "%s", col(st, 1));
    snprintf(r->name, sizeof(r->name), "%s", col(st, 2));
    r->cron = dup_col(st, 3);
    r->interval = dup_col(st, 4);
    r->at = dup_col(st, 5);
    snprintf(r->zone, sizeof(r->zone), "%s", col(st, 6));
    r->action_json = dup_col(st, 7);
    snprintf(r->misfire, sizeof(r->misfire), "%s", col(st, 8));
    r->misfire_max = sqlite3_column_int(st, 9);
    r->enabled = sqlite3_column_int(st, 10) != 0;
    r->start_ms = sqlite3_column_int64(st, 11);
    r->end_ms = sqlite3_column_int64(st, 12);
    r->anchor_ms = sqlite3_column_int64(st, 13);
    r->next_ms = sqlite3_column_type(st, 14) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 14);
    r->revision = sqlite3_column_int(st, 15);
    snprintf(r->created_at, sizeof(r->created_at), "%s", col(st, 16));
    snprintf(r->updated_at, sizeof(r->updated_at), "%s", col(st, 17));
}

int sched_row_when(const sched_row_t *r, sched_when_t *w)
{
    char err[200];
    memset(w, 0, sizeof(*w));
    snprintf(w->zone, sizeof(w->zone), "%s", r->zone);
    w->start_ms = r->start_ms;
    w->end_ms = r->end_ms;
    w->anchor_ms = r->anchor_ms;
    if (r->cron) {
        w->kind = SCHED_CRON;
        return sched_cron_parse(r->cron, &w->cron, err, sizeof(err), NULL);
    }
    if (r->interval) {
        w->kind = SCHED_INTERVAL;
        return sched_parse_duration(r->interval, &w->interval_ms, err, sizeof(err));
    }
    w->kind = SCHED_AT;
    return r->at ? sched_parse_instant(r->at, &w->at_ms) : FM_EINVAL;
}

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char t[40];
    if (ms <= 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    sched_format_utc(ms, t);
    cJSON_AddStringToObject(o, name, t);
}

cJSON *sched_row_json(const sched_row_t *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "kind", "schedule");
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "trigger", r->cron ? "cron" : r->interval ? "interval" : "at");
    if (r->cron)
        cJSON_AddStringToObject(o, "cron", r->cron);
    if (r->interval)
        cJSON_AddStringToObject(o, "interval", r->interval);
    if (r->at)
        cJSON_AddStringToObject(o, "at", r->at);
    cJSON_AddStringToObject(o, "timezone", r->zone);
    cJSON *a = r->action_json ? cJSON_Parse(r->action_json) : NULL;
    cJSON_AddItemToObject(o, "action", a ? a : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "misfirePolicy", r->misfire);
    cJSON_AddNumberToObject(o, "misfireMax", r->misfire_max);
    cJSON_AddBoolToObject(o, "enabled", r->enabled);
    add_time(o, "startDate", r->start_ms);
    add_time(o, "endDate", r->end_ms);
    if (r->enabled && r->next_ms > 0) {
        char t[40];
        add_time(o, "nextFireAt", r->next_ms);
        sched_format_local(r->next_ms, r->zone, t);
        cJSON_AddStringToObject(o, "nextFireAtLocal", t);
    } else {
        cJSON_AddNullToObject(o, "nextFireAt");
    }
    cJSON_AddNumberToObject(o, "revision", r->revision);
    cJSON_AddStringToObject(o, "createdAt", r->created_at);
    cJSON_AddStringToObject(o, "updatedAt", r->updated_at);
    return o;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static const char *action_kind(const char *action_json)
{
    cJSON *a = cJSON_Parse(action_json);
    const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(a, "kind"));
    const char *out = k && !strcmp(k, "process") ? "process" : k && !strcmp(k, "event") ? "event" : "webhook";
    cJSON_Delete(a);
    return out;
}

/* Binds the definition columns 2..15 shared by INSERT and UPDATE. */
static void bind_def(sqlite3_stmt *st, const sched_row_t *r)
{
    sqlite3_bind_text(st, 2, r->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->name, -1, SQLITE_STATIC);
    bind_opt(st, 4, r->cron);
    bind_opt(st, 5, r->interval);
    bind_opt(st, 6, r->at);
    sqlite3_bind_text(st, 7, r->zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->action_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, action_kind(r->action_json), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, r->misfire, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, r->misfire_max);
    sqlite3_bind_int(st, 12, r->enabled);
    sqlite3_bind_int64(st, 13, r->start_ms);
    sqlite3_bind_int64(st, 14, r->end_ms);
    sqlite3_bind_int64(st, 15, r->anchor_ms);
    if (r->next_ms > 0)
        sqlite3_bind_int64(st, 16, r->next_ms);
    else
        sqlite3_bind_null(st, 16);
}

int sched_insert(fm_db_t *db, sched_row_t *r)
{
    fm_id_random("sch", r->id, sizeof(r->id));
    fm_time_rfc3339(r->created_at);
    memcpy(r->updated_at, r->created_at, sizeof(r->updated_at));
    r->revision = 1;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "INSERT INTO schedules(id, tenant_id, name, cron, interval, at, timezone, action, "
                              "action_kind, misfire, misfire_max, enabled, start_ms, end_ms, anchor_ms, next_ms, "
                              "revision, created_at, updated_at) "
                              "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,1,?17,?17)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
        bind_def(st, r);
        sqlite3_bind_text(st, 17, r->created_at, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc == FM_OK)
        sched_fire_rearm();
    return rc;
}

static int current_rev(sqlite3 *w, const char *tenant, const char *id, int *rev)
{
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "SELECT revision FROM schedules WHERE tenant_id = ? AND id = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        rc = s == SQLITE_ROW ? FM_OK : s == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        if (rc == FM_OK)
            *rev = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

int sched_update(fm_db_t *db, sched_row_t *r, int if_rev)
{
    fm_time_rfc3339(r->updated_at);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rev = 0, rc = current_rev(w, r->tenant, r->id, &rev);
    sqlite3_stmt *st = NULL;
    if (rc == FM_OK && if_rev && if_rev != rev)
        rc = FM_ESTALE;
    if (rc == FM_OK) {
        rc = FM_EDB;
        if (sqlite3_prepare_v2(w, "UPDATE schedules SET name=?3, cron=?4, interval=?5, at=?6, timezone=?7, "
                                  "action=?8, action_kind=?9, misfire=?10, misfire_max=?11, enabled=?12, "
                                  "start_ms=?13, end_ms=?14, anchor_ms=?15, next_ms=?16, revision=revision+1, "
                                  "updated_at=?17 WHERE id=?1 AND tenant_id=?2 RETURNING revision, created_at",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
            bind_def(st, r);
            sqlite3_bind_text(st, 17, r->updated_at, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                r->revision = sqlite3_column_int(st, 0);
                snprintf(r->created_at, sizeof(r->created_at), "%s", col(st, 1));
                rc = FM_OK;
            }
        }
    }
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc == FM_OK)
        sched_fire_rearm();
    return rc;
}

int sched_get(fm_db_t *db, const char *tenant, const char *id, sched_row_t *r)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT " COLS " FROM schedules WHERE tenant_id = ? AND id = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        int s = sqlite3_step(st);
        rc = s == SQLITE_ROW ? FM_OK : s == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        if (rc == FM_OK)
            row_read(st, r);
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int sched_delete(fm_db_t *db, const char *tenant, const char *id, int if_rev)
{
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rev = 0, rc = current_rev(w, tenant, id, &rev);
    if (rc == FM_OK && if_rev && if_rev != rev)
        rc = FM_ESTALE;
    sqlite3_stmt *st = NULL;
    if (rc == FM_OK) {
        rc = FM_EDB;
        if (sqlite3_prepare_v2(w, "DELETE FROM schedules WHERE tenant_id = ? AND id = ?", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
            rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
        }
    }
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc == FM_OK)
        sched_fire_rearm();
    return rc;
}

int sched_list(fm_db_t *db, const char *tenant, int enabled, const char *kind, int offset, int limit,
               cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    static const char where[] = " FROM schedules WHERE tenant_id = ?1 AND (?2 < 0 OR enabled = ?2) "
                                "AND (?3 IS NULL OR action_kind = ?3)";
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    for (int pass = 0; pass < 2; pass++) {
        const char *sql = pass ? "SELECT " COLS "%s ORDER BY name, id LIMIT ?4 OFFSET ?5" : "SELECT count(*)%s";
        char q[1024];
        snprintf(q, sizeof(q), sql, where);
        if (sqlite3_prepare_v2(c, q, -1, &st, NULL) != SQLITE_OK)
            goto done;
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, enabled);
        bind_opt(st, 3, kind);
        if (pass) {
            sqlite3_bind_int(st, 4, limit);
            sqlite3_bind_int(st, 5, offset);
            int s;
            while ((s = sqlite3_step(st)) == SQLITE_ROW) {
                sched_row_t r;
                row_read(st, &r);
                cJSON_AddItemToArray(into, sched_row_json(&r));
                sched_row_free(&r);
            }
            if (s != SQLITE_DONE)
                goto done;
        } else {
            if (sqlite3_step(st) != SQLITE_ROW)
                goto done;
            *total = sqlite3_column_int(st, 0);
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    rc = FM_OK;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

cJSON *sched_run_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", col(st, 0));
    cJSON_AddStringToObject(o, "scheduleId", col(st, 1));
    add_time(o, "dueAt", sqlite3_column_int64(st, 2));
    char t[32];
    fm_time_rfc3339_at(sqlite3_column_int64(st, 3), t);
    cJSON_AddStringToObject(o, "firedAt", t);
    cJSON_AddStringToObject(o, "trigger", col(st, 4));
    cJSON_AddStringToObject(o, "status", col(st, 5));
    if (col(st, 6)) {
        char link[96];
        cJSON_AddStringToObject(o, "instanceId", col(st, 6));
        snprintf(link, sizeof(link), "/executions/%s", col(st, 6));
        cJSON_AddStringToObject(o, "instance", link);
    }
    if (col(st, 7))
        cJSON_AddStringToObject(o, "detail", col(st, 7));
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
        fm_time_rfc3339_at(sqlite3_column_int64(st, 8), t);
        cJSON_AddStringToObject(o, "finishedAt", t);
    }
    return o;
}

int sched_runs(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT count(*) FROM runs WHERE tenant_id = ? AND schedule_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(c, "SELECT " SCHED_RUN_COLS " FROM runs WHERE tenant_id = ? AND schedule_id = ? "
                              "ORDER BY fired_ms, due_ms, id LIMIT ? OFFSET ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(into, sched_run_json(st));
    rc = s == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}
