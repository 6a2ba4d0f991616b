/*
 * analytics_report.c — reports of Process Analytics (9014): rows as CSV, and reports
 * mailed on a schedule. A report schedule is a row here plus a schedule in Scheduling
 * (9008) whose action publishes `analytics.report.due` {reportScheduleId} on the bus
 * (no second scheduler); the ingestion worker takes that event, renders the report
 * (a process's instances or elements, or the tenant dashboard; CSV or JSON) over the
 * last rangeDays, and sends it through the Notification Service (9009,
 * POST /notifications/send, e-mail, the report in the text body) to each recipient.
 */
#include "analytics_int.h"

#include "../../fm_buf.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)
#define MAX_RECIPIENTS 20
#define MAX_SCHEDULES 500      /* per tenant */
/* The report in a mail's body; the Notification Service takes data up to 64 KiB. */
#define MAIL_REPORT_MAX 60000

/* A CSV field: quoted when it holds a comma, a quote or a line break; a leading = + - @
 * is prefixed with ' so a spreadsheet does not run it as a formula. */
static void csv_field(fm_buf_t *b, const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return;
    if (cJSON_IsNumber(v)) {
        fm_buf_addf(b, "%.17g", v->valuedouble);
        return;
    }
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    bool quote = strpbrk(s, ",\"\r\n") || strchr("=+-@", *s);
    if (quote)
        fm_buf_adds(b, "\"");
    if (*s && strchr("=+-@", *s))
        fm_buf_adds(b, "'");
    for (; *s; s++) {
        if (*s == '"')
            fm_buf_adds(b, "\"");
        fm_buf_add(b, s, 1);
    }
    if (quote)
        fm_buf_adds(b, "\"");
}

void an_rows_csv(const cJSON *rows, fm_buf_t *b)
{
    const cJSON *row, *c;
    bool header = false;
    cJSON_ArrayForEach(row, rows)
    {
        if (!header) {
            int i = 0;
            cJSON_ArrayForEach(c, row) fm_buf_addf(b, "%s%s", i++ ? "," : "", c->string);
            fm_buf_adds(b, "\r\n");
            header = true;
        }
        int i = 0;
        cJSON_ArrayForEach(c, row)
        {
            if (i++)
                fm_buf_adds(b, ",");
            csv_field(b, c);
        }
        fm_buf_adds(b, "\r\n");
    }
}

/* The report as text: a process's rows (kind instances|elements) or the dashboard (its
 * per-process rows as CSV, the whole answer as JSON). */
static int render(fm_db_t *db, const an_window_t *w, const char *kind, bool csv, fm_buf_t *b)
{
    cJSON *o = NULL;
    int rc;
    if (!strcmp(kind, "dashboard")) {
        rc = an_dashboard(db, w->tenant, w->from_ms, w->to_ms, &o);
        if (rc == FM_OK && csv)
            an_rows_csv(cJSON_GetObjectItem(o, "processes"), b);
    } else {
        cJSON *rows = cJSON_CreateArray();
        rc = an_report_rows(db, w, kind, rows);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", kind);
        cJSON_AddStringToObject(o, "processId", w->process);
        cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(rows));
        cJSON_AddItemToObject(o, "rows", rows);
        if (rc == FM_OK && csv)
            an_rows_csv(rows, b);
    }
    if (rc == FM_OK && !csv) {
        char *txt = cJSON_Print(o);
        if (txt)
            fm_buf_adds(b, txt);
        free(txt);
    }
    cJSON_Delete(o);
    return rc == FM_OK && b->oom ? FM_ENOMEM : rc;
}

/* ---- routes: POST/GET /analytics/reports/schedules, DELETE …/{id} ---- */

static const char SCHED_COLS[] =
    "SELECT id, process_id AS \"processId\", kind, format, range_days AS \"rangeDays\", recipients, trigger, "
    "schedule_id AS \"scheduleId\", created_ms AS \"createdAt\", runs, last_run_ms AS \"lastRunAt\", "
    "last_result AS \"lastResult\" FROM report_schedules";
static const char SCHED_HINTS[] = "ssssijJstits";

static bool email_ok(const char *s)
{
    const char *at = s ? strchr(s, '@') : NULL;
    size_t n = s ? strlen(s) : 0;
    return at && at != s && at[1] && n <= 254 && !strchr(at + 1, '@') && !strpbrk(s, " \t\r\n<>,;\"");
}

int an_schedule_create(fm_req_t *r, fm_db_t *db)
{
    static const fm_field_t fields[] = {
        { "processId", FM_F_STRING, false, 1, 128, NULL },
        { "dashboard", FM_F_BOOL, false, 0, 0, NULL },
        { "kind", FM_F_STRING, false, 1, 16, NULL },
        { "format", FM_F_STRING, true, 3, 4, NULL },
        { "cron", FM_F_STRING, false, 1, 200, NULL },
        { "interval", FM_F_STRING, false, 1, 40, NULL },
        { "timezone", FM_F_STRING, false, 1, 64, NULL },
        { "rangeDays", FM_F_INT, false, 1, 366, NULL },
        { "recipients", FM_F_ARRAY, true, 1, MAX_RECIPIENTS, NULL },
    };
    if (fm_req_check(r, fields, sizeof(fields) / sizeof(fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const char *proc = cJSON_GetStringValue(cJSON_GetObjectItem(j, "processId"));
    bool dash = cJSON_IsTrue(cJSON_GetObjectItem(j, "dashboard"));
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(j, "kind"));
    const char *format = cJSON_GetStringValue(cJSON_GetObjectItem(j, "format"));
    const char *cron = cJSON_GetStringValue(cJSON_GetObjectItem(j, "cron"));
    const char *interval = cJSON_GetStringValue(cJSON_GetObjectItem(j, "interval"));
    const char *tz = cJSON_GetStringValue(cJSON_GetObjectItem(j, "timezone"));
    const cJSON *days = cJSON_GetObjectItem(j, "rangeDays");
    const cJSON *rcpt = cJSON_GetObjectItem(j, "recipients"), *x;
    if (!proc == !dash)
        return fm_reply_invalid(r, "processId", "give a processId or \"dashboard\": true (one of them)");
    if (strcmp(format, "csv") && strcmp(format, "json"))
        return fm_reply_invalid(r, "format", "must be csv or json");
    if (dash && kind && strcmp(kind, "dashboard"))
        return fm_reply_invalid(r, "kind", "a dashboard report has no kind");
    if (proc && kind && strcmp(kind, "instances") && strcmp(kind, "elements"))
        return fm_reply_invalid(r, "kind", "must be instances or elements");
    if (!cron == !interval)
        return fm_reply_invalid(r, "cron", "give a cron expression or an interval (one of them)");
    int nr = cJSON_GetArraySize(rcpt);
    if (nr < 1 || nr > MAX_RECIPIENTS)
        return fm_reply_invalid(r, "recipients", "1 to 20 e-mail addresses");
    cJSON_ArrayForEach(x, rcpt)
    if (!email_ok(cJSON_GetStringValue(x)))
        return fm_reply_invalid(r, "recipients", "each must be one e-mail address (at most 254 characters)");
    const char *tenant = fm_req_tenant(r);
    int64_t have = 0;
    int rc0 = fm_dbq_read_int(db, "SELECT count(*) FROM report_schedules WHERE tenant_id = ?", &have, "s", tenant);
    if (rc0 != FM_OK)
        return rc0;
    if (have >= MAX_SCHEDULES)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "a tenant has at most %d report schedules", MAX_SCHEDULES);
    char id[48];
    fm_id_random("rps", id, sizeof(id));
    /* the schedule in 9008: its action publishes analytics.report.due for this id */
    cJSON *s = cJSON_CreateObject();
    char name[96];
    snprintf(name, sizeof(name), "analytics report %s", id);
    cJSON_AddStringToObject(s, "name", name);
    cJSON *trig = cJSON_CreateObject();
    if (cron) {
        cJSON_AddStringToObject(s, "cron", cron);
        cJSON_AddStringToObject(trig, "cron", cron);
        if (tz) {
            cJSON_AddStringToObject(s, "timezone", tz);
            cJSON_AddStringToObject(trig, "timezone", tz);
        }
    } else {
        cJSON_AddStringToObject(s, "interval", interval);
        cJSON_AddStringToObject(trig, "interval", interval);
    }
    cJSON *act = cJSON_AddObjectToObject(s, "action");
    cJSON_AddStringToObject(act, "kind", "event");
    cJSON_AddStringToObject(act, "type", AN_REPORT_DUE);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(act, "data"), "reportScheduleId", id);
    char *body = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    int status = 0;
    char *out = NULL;
    int rc = body ? fm_call_system(tenant, FM_POST, "/schedules", body, &status, &out) : FM_ENOMEM;
    free(body);
    if (rc != FM_OK) {
        cJSON_Delete(trig);
        free(out);
        return rc;
    }
    if (status != 201) {
        /* Scheduling's own problem (a bad cron, interval or time zone) is the answer */
        cJSON_Delete(trig);
        if (status == 422) {
            /* its errors name our fields (cron, interval, timezone), as our own 422 */
            cJSON *pj = cJSON_Parse(out ? out : "");
            cJSON *ext = cJSON_CreateObject();
            cJSON *errs = cJSON_DetachItemFromObject(pj, "errors");
            if (errs)
                cJSON_AddItemToObject(ext, "errors", errs);
            const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(pj, "detail"));
            rc = fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                                  "Scheduling refused the trigger: %s",
                                  detail ? detail : "invalid");
            cJSON_Delete(pj);
        } else
            rc = fm_reply_problem(r, 502, NULL, NULL, NULL, "Scheduling answered %d", status);
        free(out);
        return rc;
    }
    cJSON *sched = cJSON_Parse(out);
    free(out);
    const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(sched, "id"));
    rc = fm_dbq_write(db,
                      "INSERT INTO report_schedules(tenant_id, id, process_id, kind, format, range_days, recipients, "
                      "trigger, schedule_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      "sssssijjsI", tenant, id, proc, dash ? "dashboard" : kind ? kind : "instances", format,
                      cJSON_IsNumber(days) ? days->valueint : 7, rcpt, trig, sid, fm_time_unix_ms());
    cJSON_Delete(trig);
    if (rc != FM_OK) {
        char path[160];
        snprintf(path, sizeof(path), "/schedules/%s", sid ? sid : "-");
        int st = 0;
        char *o2 = NULL;
        fm_call_system(tenant, FM_DELETE, path, NULL, &st, &o2);
        free(o2);
        cJSON_Delete(sched);
        return rc;
    }
    cJSON *o = NULL;
    char sql[512];
    snprintf(sql, sizeof(sql), "%s WHERE tenant_id = ? AND id = ?", SCHED_COLS);
    rc = fm_dbq_read_obj(db, sql, SCHED_HINTS, &o, "ss", tenant, id);
    if (rc == FM_OK) {
        cJSON_AddItemToObject(o, "nextFireAt", cJSON_DetachItemFromObject(sched, "nextFireAt"));
        char loc[96];
        snprintf(loc, sizeof(loc), "/analytics/reports/schedules/%s", id);
        fm_reply_header(r, "Location", loc);
        rc = fm_reply_json(r, 201, o);
    }
    cJSON_Delete(sched);
    return rc;
}

int an_schedule_list(fm_req_t *r, fm_db_t *db)
{
    cJSON *items = cJSON_CreateArray();
    char sql[512];
    snprintf(sql, sizeof(sql), "%s WHERE tenant_id = ? ORDER BY created_ms, id LIMIT %d", SCHED_COLS, MAX_SCHEDULES);
    int rc = fm_dbq_read_array(db, sql, SCHED_HINTS, items, "s", fm_req_tenant(r));
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    return fm_reply_json(r, 200, o);
}

int an_schedule_delete(fm_req_t *r, fm_db_t *db)
{
    const char *tenant = fm_req_tenant(r), *id = fm_req_param(r, "id");
    char *sid = NULL;
    int rc = fm_dbq_read_str(db, "SELECT coalesce(schedule_id, '') FROM report_schedules WHERE tenant_id = ? AND id = ?",
                             &sid, "ss", tenant, id);
    if (rc == FM_ENOTFOUND || (rc == FM_OK && !sid))
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no report schedule '%s'", id);
    if (rc != FM_OK)
        return rc;
    if (*sid && strlen(sid) < 120) {
        char path[160];
        snprintf(path, sizeof(path), "/schedules/%s", sid);
        int st = 0;
        char *out = NULL;
        rc = fm_call_system(tenant, FM_DELETE, path, NULL, &st, &out);
        free(out);
        if (rc == FM_OK && st >= 300 && st != 404)
            rc = fm_reply_problem(r, 502, NULL, NULL, NULL, "Scheduling answered %d", st);
    }
    free(sid);
    if (rc != FM_OK || fm_replied(r))
        return rc;
    rc = fm_dbq_write(db, "DELETE FROM report_schedules WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- the worker: a schedule fired ---- */

typedef struct due {
    char process[160], kind[16], format[8];
    int range_days;
    cJSON *recipients;
    bool found;
} due_t;

static int due_row(const fm_dbrow_t *row, void *arg)
{
    due_t *d = arg;
    d->found = true;
    fm_dbrow_copy(row, 0, d->process, sizeof(d->process));
    fm_dbrow_copy(row, 1, d->kind, sizeof(d->kind));
    fm_dbrow_copy(row, 2, d->format, sizeof(d->format));
    d->range_days = (int)fm_dbrow_int(row, 3);
    d->recipients = fm_dbrow_json(row, 4);
    return FM_OK;
}

/* Cuts the report at the last line break before its JSON-escaped size (as it travels in
 * the message's data) passes MAIL_REPORT_MAX, and says so. */
static void cut(fm_buf_t *b)
{
    size_t cost = 0, last_nl = 0, i;
    for (i = 0; i < b->len; i++) {
        unsigned char ch = (unsigned char)b->data[i];
        cost += ch == '"' || ch == '\\' || ch == '\n' || ch == '\r' || ch == '\t' ? 2 : ch < 0x20 ? 6 : 1;
        if (cost > MAIL_REPORT_MAX)
            break;
        if (ch == '\n')
            last_nl = i + 1;
    }
    if (i == b->len)
        return;
    b->len = last_nl;
    if (b->data)
        b->data[last_nl] = '\0';
    fm_buf_addf(b, "\r\n[cut at %d bytes: POST /analytics/reports gives the whole report]\r\n", MAIL_REPORT_MAX);
}

int an_report_fire(fm_db_t *db, const char *tenant, const char *id, const char *event_id)
{
    due_t d = { .found = false };
    int rc = fm_dbq_read_one(db,
                             "SELECT coalesce(process_id, ''), kind, format, range_days, recipients FROM "
                             "report_schedules WHERE tenant_id = ? AND id = ?",
                             due_row, &d, "ss", tenant, id);
    if (rc != FM_OK || !d.found) {
        cJSON_Delete(d.recipients);
        return rc == FM_OK ? FM_ENOTFOUND : rc;
    }
    int64_t now = fm_time_unix_ms();
    an_window_t w = { tenant, d.process, now - d.range_days * DAY_MS, now + 1, 0 };
    bool csv = !strcmp(d.format, "csv");
    fm_buf_t b = FM_BUF_INIT;
    rc = render(db, &w, d.kind, csv, &b);
    if (rc == FM_OK && !b.len)
        fm_buf_adds(&b, csv ? "(no rows)\r\n" : "{}");
    cut(&b);
    char from[32], to[32], subject[320];
    fm_time_rfc3339_at(w.from_ms, from);
    fm_time_rfc3339_at(now, to);
    snprintf(subject, sizeof(subject), "FlowMaster report: %s%s (%s), %s to %s",
             *d.process ? "process " : "dashboard", d.process, d.kind, from, to);
    int sent = 0, n = 0;
    int last_status = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, d.recipients)
    {
        if (rc != FM_OK || b.oom)
            break;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "channel", "email");
        cJSON_AddStringToObject(m, "to", cJSON_GetStringValue(x) ? cJSON_GetStringValue(x) : "");
        cJSON_AddStringToObject(m, "subject", subject);
        cJSON_AddStringToObject(m, "body", "{{{report}}}");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "data"), "report", b.data ? b.data : "");
        char key[200];
        snprintf(key, sizeof(key), "analytics-%.60s-%.60s-%d", id, event_id ? event_id : "manual", n++);
        cJSON_AddStringToObject(m, "idempotencyKey", key);
        char *body = cJSON_PrintUnformatted(m);
        cJSON_Delete(m);
        int status = 0;
        char *out = NULL;
        if (body && fm_call_system(tenant, FM_POST, "/notifications/send", body, &status, &out) == FM_OK &&
            status == 202)
            sent++;
        else
            last_status = status;
        free(body);
        free(out);
    }
    char result[96];
    if (rc != FM_OK || b.oom)
        snprintf(result, sizeof(result), "the report could not be made");
    else if (sent == n)
        snprintf(result, sizeof(result), "sent to %d", sent);
    else
        snprintf(result, sizeof(result), "sent to %d of %d (Notifications answered %d)", sent, n, last_status);
    fm_buf_release(&b);
    cJSON_Delete(d.recipients);
    return fm_dbq_write(db,
                        "UPDATE report_schedules SET runs = runs + 1, last_run_ms = ?, last_result = ? "
                        "WHERE tenant_id = ? AND id = ?",
                        "Isss", now, result, tenant, id);
}
