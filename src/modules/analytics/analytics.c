/*
 * analytics.c — Process Analytics (9014): the routes. Metrics of a process over a time
 * window (counts, durations, SLA, series per period, versions, elements), bottlenecks,
 * path variants, a heatmap (Process Views' SVG coloured by counts or durations), the
 * tenant dashboard, reports as CSV or JSON (also mailed on a schedule:
 * analytics_report.c), SLA targets and the ingestion status. The
 * numbers come from analytics_stats.c over what analytics_ingest.c recorded;
 * docs/analytics.md is the contract.
 */
#include "analytics_int.h"

#include "../../fm_buf.h"
#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

/* ?from=&to= (RFC 3339; default: the last 30 days up to now) and ?version=; false after
 * answering 422. */
static bool window(fm_req_t *r, an_window_t *w)
{
    char fb[64], tb[64], vb[16];
    const char *f = fm_req_query(r, "from", fb, sizeof(fb));
    const char *t = fm_req_query(r, "to", tb, sizeof(tb));
    const char *v = fm_req_query(r, "version", vb, sizeof(vb));
    w->tenant = fm_req_tenant(r);
    w->to_ms = t ? an_parse_time(t) : fm_time_unix_ms() + 1;
    if (w->to_ms < 0)
        return fm_reply_invalid(r, "to", "must be an RFC 3339 date-time, e.g. 2026-01-31T17:00:00Z"), false;
    w->from_ms = f ? an_parse_time(f) : w->to_ms - 30 * DAY_MS;
    if (w->from_ms < 0)
        return fm_reply_invalid(r, "from", "must be an RFC 3339 date-time, e.g. 2026-01-01T00:00:00Z"), false;
    if (w->from_ms >= w->to_ms)
        return fm_reply_invalid(r, "to", "must be after from"), false;
    char *end = NULL;
    long ver = v ? strtol(v, &end, 10) : 0;
    if (v && (end == v || *end || ver < 1 || ver > 1000000))
        return fm_reply_invalid(r, "version", "must be a version number (1, 2, …)"), false;
    w->version = (int)ver;
    return true;
}

static int process_metrics(fm_req_t *r)
{
    an_window_t w = { .process = fm_req_param(r, "id") };
    if (!window(r, &w))
        return FM_OK;
    char pb[16];
    const char *p = fm_req_query(r, "period", pb, sizeof(pb));
    int64_t period = !p ? DAY_MS : !strcmp(p, "hour") ? 3600000LL : !strcmp(p, "day") ? DAY_MS
                                   : !strcmp(p, "week") ? 7 * DAY_MS : -1;
    if (period < 0)
        return fm_reply_invalid(r, "period", "must be hour, day or week");
    if ((w.to_ms - w.from_ms) / period > 2000)
        return fm_reply_invalid(r, "period", "more than 2000 periods in the window: choose a longer period");
    cJSON *o = NULL;
    int rc = an_process_metrics(db_of(r), &w, period, &o);
    return rc == FM_OK ? fm_reply_json(r, 200, o) : rc;
}

static int limit_of(fm_req_t *r, int def, int *limit)
{
    char lb[16];
    const char *l = fm_req_query(r, "limit", lb, sizeof(lb));
    char *end = NULL;
    long n = l ? strtol(l, &end, 10) : def;
    if (l && (end == l || *end || n < 1 || n > 500)) {
        fm_reply_invalid(r, "limit", "must be 1 to 500");
        return FM_REPLIED;
    }
    *limit = (int)n;
    return FM_OK;
}

static int bottlenecks(fm_req_t *r)
{
    an_window_t w = { .process = fm_req_param(r, "id") };
    int limit;
    if (!window(r, &w) || limit_of(r, 10, &limit))
        return FM_OK;
    cJSON *o = NULL;
    int rc = an_bottlenecks(db_of(r), &w, limit, &o);
    return rc == FM_OK ? fm_reply_json(r, 200, o) : rc;
}

static int paths(fm_req_t *r)
{
    an_window_t w = { .process = fm_req_param(r, "id") };
    int limit;
    if (!window(r, &w) || limit_of(r, 20, &limit))
        return FM_OK;
    cJSON *o = NULL;
    int rc = an_paths(db_of(r), &w, limit, &o);
    return rc == FM_OK ? fm_reply_json(r, 200, o) : rc;
}

/* The process's diagram from Process Views with each element highlighted by its visit
 * count or mean duration (in ms), through the caller's own view of both modules. */
static int heatmap(fm_req_t *r)
{
    an_window_t w = { .process = fm_req_param(r, "id") };
    if (!window(r, &w))
        return FM_OK;
    char mb[16];
    const char *metric = fm_req_query(r, "metric", mb, sizeof(mb));
    if (metric && strcmp(metric, "count") && strcmp(metric, "duration"))
        return fm_reply_invalid(r, "metric", "must be count or duration");
    cJSON *vals = NULL;
    int rc = an_element_values(db_of(r), &w, metric && !strcmp(metric, "duration"), &vals);
    if (rc != FM_OK)
        return rc;
    fm_buf_t path = FM_BUF_INIT;
    fm_buf_addf(&path, "/views/%s.svg?highlight=", w.process);
    const cJSON *x;
    int n = 0;
    cJSON_ArrayForEach(x, vals)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(x, "elementId"));
        double v = cJSON_GetObjectItem(x, "value")->valuedouble;
        if (!id || n >= 2000 || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(id))
            continue;
        fm_buf_addf(&path, "%s%s:%lld", n++ ? "," : "", id, (long long)fmax(1, v));
    }
    if (w.version)
        fm_buf_addf(&path, "&version=%d", w.version);
    cJSON_Delete(vals);
    if (path.oom) {
        fm_buf_release(&path);
        return FM_ENOMEM;
    }
    int status = 0;
    char *out = NULL;
    rc = fm_call(r, FM_GET, path.data, NULL, &status, &out);
    fm_buf_release(&path);
    if (rc != FM_OK)
        return rc;
    if (status != 200) {
        free(out);
        return fm_reply_problem(r, status == 404 ? 404 : 502, NULL, NULL, NULL,
                                "Process Views answered %d for process '%s'", status, w.process);
    }
    rc = fm_reply_raw(r, 200, "image/svg+xml", out, strlen(out));
    free(out);
    return rc;
}

static int dashboard(fm_req_t *r)
{
    an_window_t w = { 0 };
    if (!window(r, &w))
        return FM_OK;
    cJSON *o = NULL;
    int rc = an_dashboard(db_of(r), w.tenant, w.from_ms, w.to_ms, &o);
    if (rc != FM_OK)
        return rc;
    /* Overdue tasks, as the caller may see them in the Human Task Service. */
    char now[32], path[96];
    fm_time_rfc3339(now);
    snprintf(path, sizeof(path), "/tasks?status=assigned&dueBefore=%s&limit=1", now);
    int64_t overdue = 0;
    const char *statuses[] = { "created", "assigned" };
    bool known = true;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/tasks?status=%s&dueBefore=%s&limit=1", statuses[i], now);
        int status = 0;
        char *out = NULL;
        cJSON *j = fm_call(r, FM_GET, path, NULL, &status, &out) == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
        const cJSON *t = cJSON_GetObjectItem(j, "total");
        if (cJSON_IsNumber(t))
            overdue += (int64_t)t->valuedouble;
        else
            known = false;
        cJSON_Delete(j);
        free(out);
    }
    if (known)
        cJSON_AddNumberToObject(o, "overdueTasks", (double)overdue);
    else
        cJSON_AddNullToObject(o, "overdueTasks");
    return fm_reply_json(r, 200, o);
}

static int report(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "format", FM_F_STRING, false, 3, 4, NULL },
        { "kind", FM_F_STRING, false, 1, 16, NULL },
        { "processId", FM_F_STRING, false, 1, 128, NULL },
        { "from", FM_F_STRING, false, 1, 64, NULL },
        { "to", FM_F_STRING, false, 1, 64, NULL },
    };
    if (fm_req_check(r, fields, sizeof(fields) / sizeof(fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const char *format = cJSON_GetStringValue(cJSON_GetObjectItem(j, "format"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(j, "kind"));
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(j, "from"));
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "to"));
    if (format && strcmp(format, "csv") && strcmp(format, "json"))
        return fm_reply_invalid(r, "format", "must be csv or json");
    if (kind && strcmp(kind, "instances") && strcmp(kind, "elements"))
        return fm_reply_invalid(r, "kind", "must be instances or elements");
    an_window_t w = { fm_req_tenant(r), cJSON_GetStringValue(cJSON_GetObjectItem(j, "processId")), 0, 0, 0 };
    w.to_ms = t ? an_parse_time(t) : fm_time_unix_ms() + 1;
    if (w.to_ms < 0)
        return fm_reply_invalid(r, "to", "must be an RFC 3339 date-time");
    w.from_ms = f ? an_parse_time(f) : w.to_ms - 30 * DAY_MS;
    if (w.from_ms < 0)
        return fm_reply_invalid(r, "from", "must be an RFC 3339 date-time");
    if (w.from_ms >= w.to_ms)
        return fm_reply_invalid(r, "to", "must be after from");
    cJSON *rows = cJSON_CreateArray();
    int rc = an_report_rows(db_of(r), &w, kind ? kind : "instances", rows);
    if (rc != FM_OK) {
        cJSON_Delete(rows);
        return rc;
    }
    if (!format || !strcmp(format, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", kind ? kind : "instances");
        cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(rows));
        cJSON_AddItemToObject(o, "rows", rows);
        return fm_reply_json(r, 200, o);
    }
    fm_buf_t b = FM_BUF_INIT;
    an_rows_csv(rows, &b);
    cJSON_Delete(rows);
    if (b.oom) {
        fm_buf_release(&b);
        return FM_ENOMEM;
    }
    fm_reply_header(r, "Content-Disposition", "attachment; filename=\"flowmaster-report.csv\"");
    rc = fm_reply_raw(r, 200, "text/csv; charset=utf-8", b.data ? b.data : "", b.len);
    fm_buf_release(&b);
    return rc;
}

static int sla_put(fm_req_t *r)
{
    static const fm_field_t fields[] = { { "targetSeconds", FM_F_INT, true, 1, 365 * 86400, NULL } };
    if (fm_req_check(r, fields, 1))
        return FM_OK;
    int64_t target = (int64_t)cJSON_GetObjectItem(fm_req_json(r), "targetSeconds")->valuedouble * 1000;
    int rc = an_sla_set(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), target);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", fm_req_param(r, "id"));
    cJSON_AddNumberToObject(o, "targetSeconds", (double)(target / 1000));
    return fm_reply_json(r, 200, o);
}

static int status(fm_req_t *r)
{
    cJSON *o = an_ingest_status();
    int64_t n = 0, visits = 0;
    fm_dbq_read_int(db_of(r), "SELECT count(*) FROM instances WHERE tenant_id = ? AND ingested = 1", &n, "s",
                    fm_req_tenant(r));
    fm_dbq_read_int(db_of(r), "SELECT count(*) FROM element_visits WHERE tenant_id = ?", &visits, "s",
                    fm_req_tenant(r));
    cJSON_AddNumberToObject(o, "instancesIngested", (double)n);
    cJSON_AddNumberToObject(o, "elementVisits", (double)visits);
    return fm_reply_json(r, 200, o);
}

static int sched_create(fm_req_t *r)
{
    return an_schedule_create(r, db_of(r));
}

static int sched_list(fm_req_t *r)
{
    return an_schedule_list(r, db_of(r));
}

static int sched_delete(fm_req_t *r)
{
    return an_schedule_delete(r, db_of(r));
}

static const fm_route_t routes[] = {
    { FM_GET, "/analytics/processes/{id}", process_metrics, 0, "analytics:read" },
    { FM_GET, "/analytics/processes/{id}/bottlenecks", bottlenecks, 0, "analytics:read" },
    { FM_GET, "/analytics/processes/{id}/paths", paths, 0, "analytics:read" },
    { FM_GET, "/analytics/processes/{id}/heatmap", heatmap, 0, "analytics:read" },
    { FM_PUT, "/analytics/processes/{id}/sla", sla_put, FM_R_JSON, "analytics:write" },
    { FM_GET, "/analytics/dashboard", dashboard, 0, "analytics:read" },
    { FM_POST, "/analytics/reports", report, FM_R_JSON, "analytics:write" },
    { FM_GET, "/analytics/status", status, 0, "analytics:read" },
    { FM_POST, "/analytics/reports/schedules", sched_create, FM_R_JSON, "analytics:write" },
    { FM_GET, "/analytics/reports/schedules", sched_list, 0, "analytics:read" },
    { FM_DELETE, "/analytics/reports/schedules/{id}", sched_delete, 0, "analytics:write" },
};

const fm_module_t fm_analytics_module = {
    "analytics", "Process Analytics", 9014, FM_M_DB, FM_ROUTES(routes), NULL, an_ingest_start, an_ingest_stop,
};
