/*
 * scheduling.c — Scheduling Service (9008): the schedules API (docs/scheduling.md).
 * A schedule is a cron expression, an interval or one instant, in an IANA zone, with an
 * action (start a process, publish an event, call a webhook) and a misfire policy;
 * sched_fire.c fires them on the loop.
 */
#include "sched_int.h"

#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_TYPE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/"
#define ACTION_MAX 65536

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const cJSON *item(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItem(o, k);
}

static void etag(fm_req_t *r, int rev)
{
    char e[32];
    snprintf(e, sizeof(e), "\"r%d\"", rev);
    fm_reply_header(r, "ETag", e);
}

static int reply_412(fm_req_t *r)
{
    return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                            "If-Match must be the schedule's current ETag (\"r<revision>\"); read it again");
}

/* The action object, checked; NULL after answering 422. */
static char *read_action(fm_req_t *r, const cJSON *a)
{
    if (!cJSON_IsObject(a)) {
        fm_reply_invalid(r, "action", "required: an object with kind process, event or webhook");
        return NULL;
    }
    const char *kind = cJSON_GetStringValue(item(a, "kind"));
    if (!kind || (strcmp(kind, "process") && strcmp(kind, "event") && strcmp(kind, "webhook"))) {
        fm_reply_invalid(r, "action/kind", "must be \"process\", \"event\" or \"webhook\"");
        return NULL;
    }
    if (!strcmp(kind, "process")) {
        const char *pid = cJSON_GetStringValue(item(a, "processId"));
        if (!pid || !*pid || strlen(pid) > 200) {
            fm_reply_invalid(r, "action/processId", "required: the process id (or BPMN process id), 1 to 200 characters");
            return NULL;
        }
        if (item(a, "variables") && !cJSON_IsObject(item(a, "variables"))) {
            fm_reply_invalid(r, "action/variables", "must be an object");
            return NULL;
        }
    } else if (!strcmp(kind, "event")) {
        const char *type = cJSON_GetStringValue(item(a, "type"));
        if (!type || !*type || strlen(type) > 200 || strspn(type, EVENT_TYPE_CHARS) != strlen(type)) {
            fm_reply_invalid(r, "action/type", "required: an event type of 1 to 200 characters (letters, digits, ._-:/)");
            return NULL;
        }
    } else {
        const char *url = cJSON_GetStringValue(item(a, "url"));
        const char *method = cJSON_GetStringValue(item(a, "method"));
        if (!url || strlen(url) > 2048 || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
            fm_reply_invalid(r, "action/url", "required: an http or https URL of at most 2048 characters");
            return NULL;
        }
        if (item(a, "method") && (!method || (strcmp(method, "GET") && strcmp(method, "POST") &&
                                              strcmp(method, "PUT") && strcmp(method, "PATCH") &&
                                              strcmp(method, "DELETE")))) {
            fm_reply_invalid(r, "action/method", "must be GET, POST, PUT, PATCH or DELETE");
            return NULL;
        }
    }
    char *json = cJSON_PrintUnformatted(a);
    if (json && strlen(json) > ACTION_MAX) {
        cJSON_free(json);
        fm_reply_invalid(r, "action", "must be at most 65536 bytes as JSON");
        return NULL;
    }
    return json;
}

static const fm_field_t def_fields[] = {
    { "name", FM_F_STRING, true, 1, 200, NULL },
    { "cron", FM_F_STRING, false, 1, SCHED_CRON_MAX, NULL },
    { "interval", FM_F_STRING, false, 2, 40, NULL },
    { "at", FM_F_STRING, false, 20, 40, NULL },
    { "timezone", FM_F_STRING, false, 1, SCHED_ZONE_MAX - 1, NULL },
    { "action", FM_F_OBJECT, true, 0, 0, NULL },
    { "misfirePolicy", FM_F_STRING, false, 1, 16, NULL },
    { "misfireMax", FM_F_INT, false, 1, SCHED_FIRE_ALL_MAX, NULL },
    { "enabled", FM_F_BOOL, false, 0, 0, NULL },
    { "startDate", FM_F_STRING, false, 20, 40, NULL },
    { "endDate", FM_F_STRING, false, 20, 40, NULL },
};

/* The body of POST or PUT into row (its when-part checked, next fire time computed);
 * FM_REPLIED after answering 422. */
static int read_def(fm_req_t *r, sched_row_t *row)
{
    if (fm_req_check(r, def_fields, sizeof(def_fields) / sizeof(def_fields[0])))
        return FM_REPLIED;
    cJSON *b = fm_req_json(r);
    const char *cron = cJSON_GetStringValue(item(b, "cron")), *interval = cJSON_GetStringValue(item(b, "interval"));
    const char *at = cJSON_GetStringValue(item(b, "at")), *zone = cJSON_GetStringValue(item(b, "timezone"));
    const char *misfire = cJSON_GetStringValue(item(b, "misfirePolicy"));
    if ((cron != NULL) + (interval != NULL) + (at != NULL) != 1) {
        fm_reply_invalid(r, "cron", "give exactly one of cron, interval or at");
        return FM_REPLIED;
    }
    memset(row, 0, sizeof(*row));
    snprintf(row->tenant, sizeof(row->tenant), "%s", fm_req_tenant(r));
    snprintf(row->name, sizeof(row->name), "%s", cJSON_GetStringValue(item(b, "name")));
    snprintf(row->zone, sizeof(row->zone), "%s", zone ? zone : "UTC");
    if (!sched_zone_valid(row->zone)) {
        fm_reply_invalid(r, "timezone", "unknown time zone: use an IANA name from the system zoneinfo, "
                                        "such as Europe/Berlin or UTC");
        return FM_REPLIED;
    }
    snprintf(row->misfire, sizeof(row->misfire), "%s", misfire ? misfire : "fire-once");
    if (strcmp(row->misfire, "fire-once") && strcmp(row->misfire, "skip") && strcmp(row->misfire, "fire-all")) {
        fm_reply_invalid(r, "misfirePolicy", "must be \"fire-once\", \"skip\" or \"fire-all\"");
        return FM_REPLIED;
    }
    row->misfire_max = cJSON_IsNumber(item(b, "misfireMax")) ? item(b, "misfireMax")->valueint : 10;
    row->enabled = !cJSON_IsFalse(item(b, "enabled"));
    const char *dates[2] = { cJSON_GetStringValue(item(b, "startDate")), cJSON_GetStringValue(item(b, "endDate")) };
    int64_t *dst[2] = { &row->start_ms, &row->end_ms };
    for (int i = 0; i < 2; i++)
        if (dates[i] && (sched_parse_instant(dates[i], dst[i]) != FM_OK || *dst[i] <= 0)) {
            fm_reply_invalid(r, i ? "endDate" : "startDate", "an RFC 3339 date-time with Z or an offset, after 1970");
            return FM_REPLIED;
        }
    if (row->start_ms && row->end_ms && row->end_ms <= row->start_ms) {
        fm_reply_invalid(r, "endDate", "must be after startDate");
        return FM_REPLIED;
    }
    sched_when_t w;
    memset(&w, 0, sizeof(w));
    char err[300];
    const char *field = NULL;
    int64_t now = fm_time_unix_ms();
    if (cron) {
        w.kind = SCHED_CRON;
        if (sched_cron_parse(cron, &w.cron, err, sizeof(err), &field) != FM_OK) {
            cJSON *ext = cJSON_CreateObject();
            cJSON *errs = cJSON_AddArrayToObject(ext, "errors");
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "pointer", "/cron");
            cJSON_AddStringToObject(e, "detail", err);
            if (field)
                cJSON_AddStringToObject(e, "cronField", field);
            cJSON_AddItemToArray(errs, e);
            fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                             "invalid cron expression: %s", err);
            return FM_REPLIED;
        }
        row->cron = strdup(cron);
    } else if (interval) {
        w.kind = SCHED_INTERVAL;
        if (sched_parse_duration(interval, &w.interval_ms, err, sizeof(err)) != FM_OK) {
            fm_reply_invalid(r, "interval", err);
            return FM_REPLIED;
        }
        row->interval = strdup(interval);
        row->anchor_ms = row->start_ms ? row->start_ms : now / 1000 * 1000 + w.interval_ms;
    } else {
        w.kind = SCHED_AT;
        if (sched_parse_instant(at, &w.at_ms) != FM_OK) {
            fm_reply_invalid(r, "at", "an RFC 3339 date-time with Z or an offset, after 1970");
            return FM_REPLIED;
        }
        row->at = strdup(at);
    }
    row->action_json = read_action(r, item(b, "action"));
    if (!row->action_json) {
        sched_row_free(row);
        return FM_REPLIED;
    }
    snprintf(w.zone, sizeof(w.zone), "%s", row->zone);
    w.start_ms = row->start_ms;
    w.end_ms = row->end_ms;
    w.anchor_ms = row->anchor_ms;
    if (!sched_next_after(&w, now, &row->next_ms))
        row->next_ms = -1;
    return FM_OK;
}

static int reply_row(fm_req_t *r, int status, sched_row_t *row)
{
    etag(r, row->revision);
    cJSON *o = sched_row_json(row);
    sched_row_free(row);
    return fm_reply_json(r, status, o);
}

static int create(fm_req_t *r)
{
    sched_row_t row;
    if (read_def(r, &row) != FM_OK)
        return FM_OK;
    int rc = sched_insert(db_of(r), &row);
    if (rc != FM_OK) {
        sched_row_free(&row);
        return rc;
    }
    char loc[80];
    snprintf(loc, sizeof(loc), "/schedules/%s", row.id);
    fm_reply_header(r, "Location", loc);
    return reply_row(r, 201, &row);
}

static int get_or_404(fm_req_t *r, sched_row_t *row)
{
    if (sched_ptimer_is(fm_req_param(r, "id"))) {
        sched_ptimer_refuse(r);
        return FM_REPLIED;
    }
    int rc = sched_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), row);
    if (rc == FM_ENOTFOUND) {
        fm_reply_problem(r, 404, NULL, NULL, NULL, "no schedule '%s'", fm_req_param(r, "id"));
        return FM_REPLIED;
    }
    return rc;
}

static int get(fm_req_t *r)
{
    if (sched_ptimer_is(fm_req_param(r, "id"))) {
        cJSON *e = sched_ptimer_find(fm_req_tenant(r), fm_req_param(r, "id"));
        return e ? fm_reply_json(r, 200, e)
                 : fm_reply_problem(r, 404, NULL, NULL, NULL, "no schedule '%s'", fm_req_param(r, "id"));
    }
    sched_row_t row;
    int rc = get_or_404(r, &row);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    return reply_row(r, 200, &row);
}

static int update(fm_req_t *r)
{
    if (sched_ptimer_is(fm_req_param(r, "id")))
        return sched_ptimer_refuse(r);
    int rev = fm_req_if_match_rev(r, "schedule");
    if (rev < 0)
        return FM_OK;
    sched_row_t row;
    if (read_def(r, &row) != FM_OK)
        return FM_OK;
    snprintf(row.id, sizeof(row.id), "%s", fm_req_param(r, "id"));
    int rc = sched_update(db_of(r), &row, rev);
    if (rc == FM_OK)
        return reply_row(r, 200, &row);
    sched_row_free(&row);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no schedule '%s'", fm_req_param(r, "id"));
    if (rc == FM_ESTALE)
        return reply_412(r);
    return rc;
}

static int delete_(fm_req_t *r)
{
    if (sched_ptimer_is(fm_req_param(r, "id")))
        return sched_ptimer_refuse(r);
    int rev = fm_req_if_match_rev(r, "schedule");
    if (rev < 0)
        return FM_OK;
    int rc = sched_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), rev);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no schedule '%s'", fm_req_param(r, "id"));
    if (rc == FM_ESTALE)
        return reply_412(r);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* Pause and resume: a resumed schedule fires next after now (nothing missed while paused
 * is made up). */
static int set_enabled(fm_req_t *r, bool on)
{
    int rev = fm_req_if_match_rev(r, "schedule");
    if (rev < 0)
        return FM_OK;
    sched_row_t row;
    int rc = get_or_404(r, &row);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    row.enabled = on;
    sched_when_t w;
    bool has_next = sched_row_when(&row, &w) == FM_OK && sched_next_after(&w, fm_time_unix_ms(), &row.next_ms);
    if (!has_next)
        row.next_ms = -1;
    rc = sched_update(db_of(r), &row, rev);
    if (rc == FM_OK)
        return reply_row(r, 200, &row);
    sched_row_free(&row);
    return rc == FM_ESTALE ? reply_412(r) : rc;
}

static int pause(fm_req_t *r)
{
    return set_enabled(r, false);
}

static int resume(fm_req_t *r)
{
    return set_enabled(r, true);
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char eb[16], kb[16];
    const char *en = fm_req_query(r, "enabled", eb, sizeof(eb));
    const char *kind = fm_req_query(r, "actionKind", kb, sizeof(kb));
    if (en && strcmp(en, "true") && strcmp(en, "false"))
        return fm_reply_invalid(r, "enabled", "must be true or false");
    if (kind && strcmp(kind, "process") && strcmp(kind, "event") && strcmp(kind, "webhook"))
        return fm_reply_invalid(r, "actionKind", "must be process, event or webhook");
    cJSON *items = cJSON_CreateArray();
    int rc = sched_list(db_of(r), fm_req_tenant(r), en ? !strcmp(en, "true") : -1, kind, offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    /* the process timers (always enabled, action kind process) follow the stored schedules */
    if ((!en || !strcmp(en, "true")) && (!kind || !strcmp(kind, "process"))) {
        cJSON *pt = sched_ptimers(fm_req_tenant(r));
        int n = cJSON_GetArraySize(pt), from = offset > total ? offset - total : 0;
        for (int i = from; i < n && cJSON_GetArraySize(items) < limit; i++)
            cJSON_AddItemToArray(items, cJSON_Duplicate(cJSON_GetArrayItem(pt, i), true));
        total += n;
        cJSON_Delete(pt);
    }
    return fm_reply_page(r, items, offset, total);
}

static int execute(fm_req_t *r)
{
    sched_row_t row;
    int rc = get_or_404(r, &row);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    cJSON *run = NULL;
    rc = sched_fire_now(db_of(r), &row, &run);
    sched_row_free(&row);
    if (rc != FM_OK)
        return rc;
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(run, "status"));
    return fm_reply_json(r, status && !strcmp(status, "firing") ? 202 : 201, run);
}

static int runs(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    sched_row_t row;
    int rc = get_or_404(r, &row);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    sched_row_free(&row);
    cJSON *items = cJSON_CreateArray();
    rc = sched_runs(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int next(fm_req_t *r)
{
    char cb[16], ab[48];
    const char *cs = fm_req_query(r, "count", cb, sizeof(cb));
    const char *after = fm_req_query(r, "after", ab, sizeof(ab));
    char *end = NULL;
    long count = cs ? strtol(cs, &end, 10) : 5;
    if (cs && (!*cs || *end || count < 1 || count > SCHED_NEXT_MAX))
        return fm_reply_invalid(r, "count", "must be 1 to 100");
    int64_t from = fm_time_unix_ms();
    if (after && sched_parse_instant(after, &from) != FM_OK)
        return fm_reply_invalid(r, "after", "an RFC 3339 date-time with Z or an offset, after 1970");
    sched_row_t row;
    int rc = get_or_404(r, &row);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    sched_when_t w;
    if ((rc = sched_row_when(&row, &w)) != FM_OK) {
        sched_row_free(&row);
        return rc;
    }
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    /* a cron walks on one iterator, as cron-parser's take(count) does */
    sched_iter_t it;
    bool cron = w.kind == SCHED_CRON;
    int64_t t = from;
    if (cron)
        sched_iter_init(&it, &w.cron, w.zone, w.start_ms && from < w.start_ms - 1 ? w.start_ms - 1 : from);
    for (long i = 0; i < count; i++) {
        bool ok = cron ? sched_iter_next(&it, &t) && !(w.end_ms && t > w.end_ms) : sched_next_after(&w, t, &t);
        if (!ok)
            break;
        char u[40], l[40];
        sched_format_utc(t, u);
        sched_format_local(t, w.zone, l);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "utc", u);
        cJSON_AddStringToObject(e, "local", l);
        cJSON_AddItemToArray(items, e);
    }
    cJSON_AddStringToObject(o, "timezone", row.zone);
    sched_row_free(&row);
    return fm_reply_json(r, 200, o);
}

static const fm_route_t routes[] = {
    { FM_POST, "/schedules", create, FM_R_JSON, "schedule:write" },
    { FM_GET, "/schedules", list, 0, "schedule:read" },
    { FM_GET, "/schedules/{id}", get, 0, "schedule:read" },
    { FM_PUT, "/schedules/{id}", update, FM_R_JSON, "schedule:write" },
    { FM_DELETE, "/schedules/{id}", delete_, 0, "schedule:write" },
    { FM_POST, "/schedules/{id}/pause", pause, 0, "schedule:write" },
    { FM_POST, "/schedules/{id}/resume", resume, 0, "schedule:write" },
    { FM_POST, "/schedules/{id}/execute", execute, 0, "schedule:write" },
    { FM_GET, "/schedules/{id}/runs", runs, 0, "schedule:read" },
    { FM_GET, "/schedules/{id}/next", next, 0, "schedule:read" },
};

const fm_module_t fm_scheduling_module = {
    "scheduling", "Scheduling Service", 9008, FM_M_DB, FM_ROUTES(routes), NULL, sched_fire_start, sched_fire_stop,
};
