/*
 * sched_store.c — the Scheduling Service's schedules and runs (migrations/scheduling/).
 * Every route query filters on tenant_id; the loop's sweeps (sched_fire.c) act for the
 * platform. A write that changes when something fires asks the loop to re-arm.
 */
#include "sched_int.h"

#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS SCHED_COLS

void sched_row_free(sched_row_t *r)
{
    free(r->cron);
    free(r->interval);
    free(r->at);
    free(r->action_json);
    r->cron = r->interval = r->at = r->action_json = NULL;
}

int sched_row_read(const fm_dbrow_t *st, void *arg)
{
    sched_row_t *r = arg;
    memset(r, 0, sizeof(*r));
    fm_dbrow_copy(st, 0, r->id, sizeof(r->id));
    fm_dbrow_copy(st, 1, r->tenant, sizeof(r->tenant));
    fm_dbrow_copy(st, 2, r->name, sizeof(r->name));
    r->cron = fm_dbrow_dup(st, 3);
    r->interval = fm_dbrow_dup(st, 4);
    r->at = fm_dbrow_dup(st, 5);
    fm_dbrow_copy(st, 6, r->zone, sizeof(r->zone));
    r->action_json = fm_dbrow_dup(st, 7);
    fm_dbrow_copy(st, 8, r->misfire, sizeof(r->misfire));
    r->misfire_max = (int)fm_dbrow_int(st, 9);
    r->enabled = fm_dbrow_int(st, 10) != 0;
    r->start_ms = fm_dbrow_int(st, 11);
    r->end_ms = fm_dbrow_int(st, 12);
    r->anchor_ms = fm_dbrow_int(st, 13);
    r->next_ms = fm_dbrow_null(st, 14) ? -1 : fm_dbrow_int(st, 14);
    r->revision = (int)fm_dbrow_int(st, 15);
    fm_dbrow_copy(st, 16, r->created_at, sizeof(r->created_at));
    fm_dbrow_copy(st, 17, r->updated_at, sizeof(r->updated_at));
    return r->action_json ? FM_OK : FM_ENOMEM;
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

static const char *action_kind(const char *action_json)
{
    cJSON *a = cJSON_Parse(action_json);
    const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(a, "kind"));
    const char *out = k && !strcmp(k, "process") ? "process" : k && !strcmp(k, "event") ? "event" : "webhook";
    cJSON_Delete(a);
    return out;
}

/* Reads the RETURNING revision, created_at of an UPDATE into *arg (a sched_row_t). */
static int rev_read(const fm_dbrow_t *st, void *arg)
{
    sched_row_t *r = arg;
    r->revision = (int)fm_dbrow_int(st, 0);
    fm_dbrow_copy(st, 1, r->created_at, sizeof(r->created_at));
    return FM_OK;
}

/* Runs the INSERT or UPDATE of a schedule: ?1 id, ?2..?16 the definition, ?17 the time;
 * the UPDATE's RETURNING row goes to rev_read. next_ms <= 0 is stored as NULL. */
static int write_def(fm_dbc_t *w, const char *sql, sched_row_t *r, const char *at)
{
    return fm_dbq_each(w, sql, rev_read, r, "ssssssssssiiIIIIs", r->id, r->tenant, r->name, r->cron, r->interval,
                       r->at, r->zone, r->action_json, action_kind(r->action_json), r->misfire, r->misfire_max,
                       (int)r->enabled, r->start_ms, r->end_ms, r->anchor_ms, r->next_ms, at);
}

int sched_insert(fm_db_t *db, sched_row_t *r)
{
    fm_id_random("sch", r->id, sizeof(r->id));
    fm_time_rfc3339(r->created_at);
    memcpy(r->updated_at, r->created_at, sizeof(r->updated_at));
    r->revision = 1;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = write_def(w, "INSERT INTO schedules(id, tenant_id, name, cron, interval, at, timezone, action, "
                          "action_kind, misfire, misfire_max, enabled, start_ms, end_ms, anchor_ms, next_ms, "
                          "revision, created_at, updated_at) "
                          "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
                          "CASE WHEN ?16 > 0 THEN ?16 END,1,?17,?17)", r, r->created_at);
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_OK)
        sched_fire_rearm();
    return rc;
}

/* Inside a write: FM_ESTALE when if_rev is set and is not the stored revision. */
static int check_rev(fm_dbc_t *w, const char *tenant, const char *id, int if_rev)
{
    int64_t rev = 0;
    int rc = fm_dbq_int(w, "SELECT revision FROM schedules WHERE tenant_id = ? AND id = ?", &rev, "ss", tenant, id);
    return rc == FM_OK && if_rev && if_rev != rev ? FM_ESTALE : rc;
}

int sched_update(fm_db_t *db, sched_row_t *r, int if_rev)
{
    fm_time_rfc3339(r->updated_at);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = check_rev(w, r->tenant, r->id, if_rev);
    if (rc == FM_OK)
        rc = write_def(w, "UPDATE schedules SET name=?3, cron=?4, interval=?5, at=?6, timezone=?7, "
                          "action=?8, action_kind=?9, misfire=?10, misfire_max=?11, enabled=?12, start_ms=?13, "
                          "end_ms=?14, anchor_ms=?15, next_ms=CASE WHEN ?16 > 0 THEN ?16 END, "
                          "revision=revision+1, updated_at=?17 WHERE id=?1 AND tenant_id=?2 "
                          "RETURNING revision, created_at", r, r->updated_at);
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_OK)
        sched_fire_rearm();
    return rc;
}

int sched_get(fm_db_t *db, const char *tenant, const char *id, sched_row_t *r)
{
    return fm_dbq_read_one(db, "SELECT " COLS " FROM schedules WHERE tenant_id = ? AND id = ?", sched_row_read, r, "ss",
                           tenant, id);
}

int sched_delete(fm_db_t *db, const char *tenant, const char *id, int if_rev)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = check_rev(w, tenant, id, if_rev);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM schedules WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_OK)
        sched_fire_rearm();
    return rc;
}

static cJSON *list_item(const fm_dbrow_t *st, void *arg)
{
    (void)arg;
    sched_row_t r;
    sched_row_read(st, &r);
    cJSON *o = sched_row_json(&r);
    sched_row_free(&r);
    return o;
}

#define LIST_WHERE " FROM schedules WHERE tenant_id = ?1 AND (?2 < 0 OR enabled = ?2) " \
                   "AND (?3 IS NULL OR action_kind = ?3)"

int sched_list(fm_db_t *db, const char *tenant, int enabled, const char *kind, int offset, int limit,
               cJSON *into, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" LIST_WHERE,
        .rows_sql = "SELECT " COLS LIST_WHERE " ORDER BY name, id LIMIT ?4 OFFSET ?5",
        .item = list_item, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "sis", tenant, enabled, kind);
}

cJSON *sched_run_row_json(const fm_dbrow_t *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", fm_dbrow_str(st, 0));
    cJSON_AddStringToObject(o, "scheduleId", fm_dbrow_str(st, 1));
    add_time(o, "dueAt", fm_dbrow_int(st, 2));
    char t[32];
    fm_time_rfc3339_at(fm_dbrow_int(st, 3), t);
    cJSON_AddStringToObject(o, "firedAt", t);
    cJSON_AddStringToObject(o, "trigger", fm_dbrow_str(st, 4));
    cJSON_AddStringToObject(o, "status", fm_dbrow_str(st, 5));
    const char *instance = fm_dbrow_text(st, 6);
    if (instance) {
        char link[96];
        cJSON_AddStringToObject(o, "instanceId", instance);
        snprintf(link, sizeof(link), "/executions/%s", instance);
        cJSON_AddStringToObject(o, "instance", link);
    }
    if (fm_dbrow_text(st, 7))
        cJSON_AddStringToObject(o, "detail", fm_dbrow_text(st, 7));
    if (!fm_dbrow_null(st, 8)) {
        fm_time_rfc3339_at(fm_dbrow_int(st, 8), t);
        cJSON_AddStringToObject(o, "finishedAt", t);
    }
    return o;
}

static cJSON *run_item(const fm_dbrow_t *st, void *arg)
{
    (void)arg;
    return sched_run_row_json(st);
}

int sched_runs(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *into, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM runs WHERE tenant_id = ? AND schedule_id = ?",
        .rows_sql = "SELECT " SCHED_RUN_COLS " FROM runs WHERE tenant_id = ? AND schedule_id = ? "
                    "ORDER BY fired_ms, due_ms, id LIMIT ? OFFSET ?",
        .item = run_item, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "ss", tenant, id);
}
