/*
 * analytics_ingest.c — how Process Analytics learns what instances did. The bus hands
 * `execution.instance.*` events (started, completed, failed, cancelled) to a queue on
 * the loop thread; one worker thread takes them: a start records the instance as
 * active, an end reads the instance's history from the engine's public route
 * (GET /executions/{id}/history through fm_call_system, the tenant's own view) and
 * writes its element visits, path, duration and incident count in one transaction.
 * `task.*` events of tasks that belong to an instance record when each user task was
 * created, first assigned (claimed) and ended: waiting and working time, and queues.
 * `analytics.report.due` (a report schedule fired in Scheduling) mails a report
 * (analytics_report.c).
 *
 * Backfill: at first start (and resumed after a restart by its stored cursor) the worker
 * pages through every tenant's instances (GET /executions) and ingests those it does not
 * have, so analytics covers what ran before the module existed and what a crash between
 * the bus and the worker dropped. Ingesting an instance twice gives the same rows.
 */
#include "analytics_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX 100000

typedef struct item {
    char *tenant, *instance, *process, *type;
    char *data;     /* a task.* event: the task (JSON text) */
    int version;
    int64_t at_ms;
    struct item *next;
} item_t;

static struct {
    fm_db_t *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv, idle_cv;
    item_t *head, *tail;
    size_t depth;
    bool stop, running, busy, backfilled, dropped;
    int sub, task_sub, report_sub;
} G = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .idle_cv = PTHREAD_COND_INITIALIZER };

int64_t an_parse_time(const char *s)
{
    if (!s)
        return -1;
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return -1;
    const char *p = s + 19;
    int64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int off = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return -1;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p == 'Z' || *p == 'z')
        p++;
    else
        return -1;
    if (*p)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
    return ((int64_t)timegm(&tm) - off * 60) * 1000 + ms;
}

/* ---- writing one instance ---- */

typedef struct visit {
    const char *element, *type;
    int token;
    int64_t entered, left;
} visit_t;

#define DAY_MS 86400000LL

/* The dashboard's rollup of one instance's start and end (analytics_stats.c reads it). */
static int roll(fm_dbc_t *w, const char *tenant, const char *process, int64_t started_ms, int started, const char *end,
                int64_t duration)
{
    int c = end && !strcmp(end, "completed"), f = end && !strcmp(end, "failed"), x = end && !strcmp(end, "cancelled");
    return fm_dbq_run(w,
                      "INSERT INTO daily(tenant_id, process_id, day_ms, started, completed, failed, cancelled, duration_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(tenant_id, day_ms, process_id) DO UPDATE SET "
                      "started = started + ?4, completed = completed + ?5, failed = failed + ?6, "
                      "cancelled = cancelled + ?7, duration_ms = duration_ms + ?8",
                      "ssIiiiiI", tenant, process, started_ms - started_ms % DAY_MS, started, c, f, x,
                      c ? duration : (int64_t)0);
}

typedef struct prior {
    bool exists, ingested;
} prior_t;

static int prior_row(const fm_dbrow_t *row, void *arg)
{
    prior_t *p = arg;
    p->exists = true;
    p->ingested = fm_dbrow_int(row, 0) != 0;
    return FM_OK;
}

/* One instance inside the caller's write transaction. */
static int ingest_in(fm_dbc_t *w, const char *tenant, const char *instance, const char *process, int version,
                     const cJSON *entries)
{
    int n = cJSON_GetArraySize(entries);
    visit_t *v = calloc((size_t)n + 1, sizeof(visit_t));
    if (!v)
        return FM_ENOMEM;
    int nv = 0, incidents = 0;
    int64_t started = -1, ended = -1;
    const char *state = "active";
    char path[4096];
    size_t pl = 0;
    path[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
        int64_t at = an_parse_time(cJSON_GetStringValue(cJSON_GetObjectItem(e, "at")));
        const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(e, "elementId"));
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(e, "elementType"));
        const cJSON *tok = cJSON_GetObjectItem(e, "tokenId");
        if (!type || at < 0)
            continue;
        if (!strcmp(type, "instance.started"))
            started = at;
        else if (!strcmp(type, "instance.completed") || !strcmp(type, "instance.failed") ||
                 !strcmp(type, "instance.cancelled")) {
            ended = at;
            state = type + 9;
        } else if (!strcmp(type, "incident.created"))
            incidents++;
        else if (!strcmp(type, "element.entered") && el) {
            v[nv] = (visit_t){ el, et ? et : "", cJSON_IsNumber(tok) ? tok->valueint : 0, at, -1 };
            nv++;
            size_t len = strlen(el);
            if (pl + len + 2 < sizeof(path) - 4) {
                if (pl)
                    path[pl++] = ' ';
                memcpy(path + pl, el, len);
                pl += len;
                path[pl] = '\0';
            } else if (pl && strcmp(path + pl - 3, "...")) {
                memcpy(path + pl, " ...", 5);
                pl += 4;
            }
        } else if (!strcmp(type, "element.left") && el) {
            /* the latest open visit of this element on this token */
            int token = cJSON_IsNumber(tok) ? tok->valueint : 0;
            for (int k = nv - 1; k >= 0; k--)
                if (v[k].left < 0 && v[k].token == token && !strcmp(v[k].element, el)) {
                    v[k].left = at;
                    break;
                }
        }
    }
    if (started < 0) {
        free(v);
        return FM_EINVAL;
    }
    prior_t prior = { false, false };
    int rc = fm_dbq_one(w, "SELECT ingested FROM instances WHERE tenant_id = ? AND id = ?", prior_row, &prior, "ss",
                        tenant, instance);
    if (rc == FM_ENOTFOUND)
        rc = FM_OK;
    /* Rollups count an instance once: its start when first seen, its end when first
     * ingested; ingesting it again changes only its own rows. */
    if (rc == FM_OK && !prior.ingested && ended >= 0) {
        rc = roll(w, tenant, process, started, prior.exists ? 0 : 1, state, ended - started);
        for (int k = 0; k < nv && rc == FM_OK; k++)
            if (v[k].left >= 0)
                rc = fm_dbq_run(w,
                                "INSERT INTO element_daily(tenant_id, process_id, element_id, element_type, day_ms, "
                                "visits, total_ms) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT(tenant_id, day_ms, "
                                "process_id, element_id) DO UPDATE SET visits = visits + 1, total_ms = total_ms + ?6",
                                "ssssII", tenant, process, v[k].element, v[k].type,
                                v[k].entered - v[k].entered % DAY_MS, v[k].left - v[k].entered);
    } else if (rc == FM_OK && !prior.exists)
        rc = roll(w, tenant, process, started, 1, NULL, 0);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM element_visits WHERE tenant_id = ? AND instance_id = ?", "ss", tenant,
                        instance);
    for (int k = 0; k < nv && rc == FM_OK; k++) {
        if (v[k].left >= 0)
            rc = fm_dbq_run(w,
                            "INSERT INTO element_visits(tenant_id, instance_id, process_id, element_id, element_type, "
                            "entered_ms, left_ms, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            "sssssIII", tenant, instance, process, v[k].element, v[k].type, v[k].entered, v[k].left,
                            v[k].left - v[k].entered);
        else
            rc = fm_dbq_run(w,
                            "INSERT INTO element_visits(tenant_id, instance_id, process_id, element_id, element_type, "
                            "entered_ms) VALUES (?, ?, ?, ?, ?, ?)",
                            "sssssI", tenant, instance, process, v[k].element, v[k].type, v[k].entered);
    }
    if (rc == FM_OK) {
        if (ended >= 0)
            rc = fm_dbq_run(w,
                            "INSERT INTO instances(tenant_id, id, process_id, version, state, started_ms, ended_ms, "
                            "duration_ms, incidents, path, ingested) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1) "
                            "ON CONFLICT(tenant_id, id) DO UPDATE SET state = ?5, started_ms = ?6, ended_ms = ?7, "
                            "duration_ms = ?8, incidents = ?9, path = ?10, ingested = 1, version = ?4",
                            "sssisIIIis", tenant, instance, process, version, state, started, ended, ended - started,
                            incidents, path);
        else
            rc = fm_dbq_run(w,
                            "INSERT INTO instances(tenant_id, id, process_id, version, state, started_ms, incidents, "
                            "path) VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7) "
                            "ON CONFLICT(tenant_id, id) DO UPDATE SET incidents = ?6, path = ?7",
                            "sssiIis", tenant, instance, process, version, started, incidents, path);
    }
    free(v);
    return rc;
}

int an_ingest_history(fm_db_t *db, const char *tenant, const char *instance, const char *process, int version,
                      const cJSON *entries)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    return fm_dbq_write_end(w, ingest_in(w, tenant, instance, process, version, entries));
}

int an_ingest_histories(fm_db_t *db, const an_history_t *h, int n)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_OK;
    for (int i = 0; i < n && rc == FM_OK; i++) {
        rc = ingest_in(w, h[i].tenant, h[i].instance, h[i].process, h[i].version, h[i].entries);
        if (rc == FM_EINVAL)
            rc = FM_OK;     /* a history without a start is skipped, not the batch */
    }
    return fm_dbq_write_end(w, rc);
}

/* Reads the history of one instance from the engine (all pages, up to AN_HISTORY_MAX). */
static int fetch_history(const char *tenant, const char *instance, cJSON **out)
{
    cJSON *all = cJSON_CreateArray();
    char cursor[64] = "";
    int rc = FM_OK;
    while (rc == FM_OK && cJSON_GetArraySize(all) < AN_HISTORY_MAX) {
        char path[256];
        snprintf(path, sizeof(path), "/executions/%s/history?limit=500%s%s", instance, *cursor ? "&cursor=" : "",
                 cursor);
        int status = 0;
        char *out_txt = NULL;
        rc = fm_call_system(tenant, FM_GET, path, NULL, &status, &out_txt);
        cJSON *j = rc == FM_OK && status == 200 ? cJSON_Parse(out_txt) : NULL;
        free(out_txt);
        if (!j) {
            rc = rc == FM_OK ? (status == 404 ? FM_ENOTFOUND : FM_EIO) : rc;
            break;
        }
        cJSON *items = cJSON_GetObjectItem(j, "items"), *x;
        while ((x = cJSON_DetachItemFromArray(items, 0)))
            cJSON_AddItemToArray(all, x);
        const char *next = cJSON_GetStringValue(cJSON_GetObjectItem(j, "nextCursor"));
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        cJSON_Delete(j);
        if (!*cursor)
            break;
    }
    if (rc != FM_OK) {
        cJSON_Delete(all);
        all = NULL;
    }
    *out = all;
    return rc;
}

static int ingest_instance(const char *tenant, const char *instance, const char *process, int version)
{
    cJSON *all = NULL;
    int rc = fetch_history(tenant, instance, &all);
    if (rc == FM_OK)
        rc = an_ingest_history(G.db, tenant, instance, process, version, all);
    cJSON_Delete(all);
    return rc;
}

/* ---- backfill ---- */

static int backfill_tenant(const char *tenant)
{
    char *cursor = NULL;
    int64_t done = 0;
    fm_dbq_read_int(G.db, "SELECT done FROM backfill WHERE tenant_id = ?", &done, "s", tenant);
    if (done)
        return FM_OK;
    fm_dbq_read_str(G.db, "SELECT cursor FROM backfill WHERE tenant_id = ?", &cursor, "s", tenant);
    int rc = FM_OK;
    for (int pages = 0; rc == FM_OK && pages < 100000 && !G.stop; pages++) {
        char path[256];
        snprintf(path, sizeof(path), "/executions?limit=100%s%s", cursor && *cursor ? "&cursor=" : "",
                 cursor ? cursor : "");
        int status = 0;
        char *out = NULL;
        rc = fm_call_system(tenant, FM_GET, path, NULL, &status, &out);
        cJSON *j = rc == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
        free(out);
        if (!j) {
            rc = FM_EIO;
            break;
        }
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "items"))
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(x, "id"));
            const char *proc = cJSON_GetStringValue(cJSON_GetObjectItem(x, "processId"));
            const cJSON *ver = cJSON_GetObjectItem(x, "version");
            int64_t have = 0;
            if (!id || !proc)
                continue;
            if (fm_dbq_read_int(G.db, "SELECT ingested FROM instances WHERE tenant_id = ? AND id = ?", &have, "ss",
                                tenant, id) == FM_OK &&
                have)
                continue;
            ingest_instance(tenant, id, proc, cJSON_IsNumber(ver) ? ver->valueint : 0);
        }
        const char *next = cJSON_GetStringValue(cJSON_GetObjectItem(j, "nextCursor"));
        free(cursor);
        cursor = next ? strdup(next) : NULL;
        cJSON_Delete(j);
        rc = fm_dbq_write(G.db,
                          "INSERT INTO backfill(tenant_id, cursor, done) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT(tenant_id) DO UPDATE SET cursor = ?2, done = ?3",
                          "ssi", tenant, cursor, cursor ? 0 : 1);
        if (!cursor)
            break;
    }
    free(cursor);
    return rc;
}

/* Every tenant the platform has (the auth module's list, as the operator). */
static void backfill_all(void)
{
    int status = 0;
    char *out = NULL;
    cJSON *list = NULL;
    if (fm_call_system("default", FM_GET, "/auth/tenants?limit=500", NULL, &status, &out) == FM_OK && status == 200)
        list = cJSON_Parse(out);
    free(out);
    const cJSON *items = cJSON_GetObjectItem(list, "items"), *t;
    if (!cJSON_GetArraySize(items))
        backfill_tenant("default");
    cJSON_ArrayForEach(t, items)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(t, "id"));
        if (id && !G.stop && backfill_tenant(id) != FM_OK)
            fm_log_msg(FM_LOG_WARN, "analytics: backfill of a tenant stopped; it resumes at the next start", id);
    }
    cJSON_Delete(list);
}

/* Instances recorded as active whose end event a crash (or a full queue) lost: the
 * engine says whether they ended; those that did are ingested. */
typedef struct active_ctx {
    char (*ids)[2][80];
    int n, cap;
} active_ctx_t;

static int active_row(const fm_dbrow_t *row, void *arg)
{
    active_ctx_t *a = arg;
    if (a->n == a->cap)
        return FM_OK;
    fm_dbrow_copy(row, 0, a->ids[a->n][0], 80);
    fm_dbrow_copy(row, 1, a->ids[a->n][1], 80);
    a->n++;
    return FM_OK;
}

static void reconcile_active(void)
{
    int64_t after = 0;
    for (int rounds = 0; rounds < 1000 && !G.stop; rounds++) {
        active_ctx_t a = { calloc(500, sizeof(*a.ids)), 0, 500 };
        if (!a.ids)
            return;
        fm_dbq_read_each(G.db,
                         "SELECT tenant_id, id FROM instances WHERE state = 'active' AND rowid > ? ORDER BY rowid "
                         "LIMIT 500",
                         active_row, &a, "I", after);
        fm_dbq_read_int(G.db, "SELECT coalesce(max(rowid), 0) FROM (SELECT rowid FROM instances WHERE "
                              "state = 'active' AND rowid > ? ORDER BY rowid LIMIT 500)", &after, "I", after);
        for (int i = 0; i < a.n && !G.stop; i++) {
            char path[200];
            snprintf(path, sizeof(path), "/executions/%s", a.ids[i][1]);
            int status = 0;
            char *out = NULL;
            if (fm_call_system(a.ids[i][0], FM_GET, path, NULL, &status, &out) == FM_OK && status == 200) {
                cJSON *j = cJSON_Parse(out);
                const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "state"));
                const char *proc = cJSON_GetStringValue(cJSON_GetObjectItem(j, "processId"));
                const cJSON *ver = cJSON_GetObjectItem(j, "version");
                if (st && proc && (!strcmp(st, "completed") || !strcmp(st, "failed") || !strcmp(st, "cancelled")))
                    ingest_instance(a.ids[i][0], a.ids[i][1], proc, cJSON_IsNumber(ver) ? ver->valueint : 0);
                cJSON_Delete(j);
            }
            free(out);
        }
        int n = a.n;
        free(a.ids);
        if (n < 500)
            break;
    }
}

/* ---- user tasks: waiting and working time, queues ---- */

static int64_t task_time(const cJSON *task, const char *key)
{
    return an_parse_time(cJSON_GetStringValue(cJSON_GetObjectItem(task, key)));
}

/* One task event inside the caller's write transaction. */
static int task_in(fm_dbc_t *w, const char *tenant, const char *type, const cJSON *task, const char *process,
                   int version)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(task, "id"));
    const char *inst = cJSON_GetStringValue(cJSON_GetObjectItem(task, "processInstanceId"));
    const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(task, "elementId"));
    int64_t created = task_time(task, "createdAt"), updated = task_time(task, "updatedAt");
    if (!id || !inst || !el || !process || created < 0 || !type || strncmp(type, "task.", 5))
        return FM_EINVAL;
    const char *kind = type + 5;
    bool assigned = cJSON_IsString(cJSON_GetObjectItem(task, "assignee"));
    int64_t claimed = -1, ended = -1;
    const char *state = "open";
    if (!strcmp(kind, "created"))
        claimed = assigned ? created : -1;
    else if (!strcmp(kind, "assigned"))
        claimed = assigned ? (updated >= 0 ? updated : created) : -1;
    else if (!strcmp(kind, "completed")) {
        int64_t at = task_time(task, "completedAt");
        ended = at >= 0 ? at : updated;
        state = "completed";
    } else if (!strcmp(kind, "cancelled")) {
        ended = updated >= 0 ? updated : created;
        state = "cancelled";
    } else
        return FM_OK;
    /* The first assignee counts (an unclaim does not restart the wait); an end is final. */
    return fm_dbq_run(w,
                        "INSERT INTO task_times(tenant_id, task_id, instance_id, process_id, version, element_id, "
                        "created_ms, claimed_ms, ended_ms, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                        "nullif(?8, -1), nullif(?9, -1), ?10) ON CONFLICT(tenant_id, task_id) DO UPDATE SET "
                        "claimed_ms = coalesce(claimed_ms, excluded.claimed_ms), "
                        "ended_ms = coalesce(ended_ms, excluded.ended_ms), "
                        "state = CASE WHEN state = 'open' THEN excluded.state ELSE state END",
                        "ssssisIIIs", tenant, id, inst, process, version, el, created, claimed, ended, state);
}

int an_ingest_task(fm_db_t *db, const char *tenant, const char *type, const cJSON *task, const char *process,
                   int version)
{
    an_task_t t = { tenant, type, task, process, version };
    int rc = an_ingest_tasks(db, &t, 1);
    return rc;
}

int an_ingest_tasks(fm_db_t *db, const an_task_t *t, int n)
{
    /* a single bad event is refused; in a batch it is skipped, not the batch */
    if (n == 1) {
        fm_dbc_t *w = fm_dbq_write_begin(db);
        return w ? fm_dbq_write_end(w, task_in(w, t->tenant, t->type, t->task, t->process, t->version)) : FM_EDB;
    }
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_OK;
    for (int i = 0; i < n && rc == FM_OK; i++) {
        rc = task_in(w, t[i].tenant, t[i].type, t[i].task, t[i].process, t[i].version);
        if (rc == FM_EINVAL)
            rc = FM_OK;
    }
    return fm_dbq_write_end(w, rc);
}

typedef struct proc_of {
    char process[160];
    int version;
} proc_of_t;

static int proc_row(const fm_dbrow_t *row, void *arg)
{
    proc_of_t *p = arg;
    fm_dbrow_copy(row, 0, p->process, sizeof(p->process));
    p->version = (int)fm_dbrow_int(row, 1);
    return FM_OK;
}

/* Worker: the task's instance gives its process (recorded here, else asked of the
 * engine); false when it is unknown. */
static bool task_process(item_t *it, proc_of_t *p)
{
    p->process[0] = '\0';
    p->version = 0;
    fm_dbq_read_one(G.db, "SELECT process_id, version FROM instances WHERE tenant_id = ? AND id = ?", proc_row, p,
                    "ss", it->tenant, it->instance);
    if (!p->process[0]) {
        char path[200];
        snprintf(path, sizeof(path), "/executions/%s", it->instance);
        int status = 0;
        char *out = NULL;
        if (strlen(it->instance) < 120 && fm_call_system(it->tenant, FM_GET, path, NULL, &status, &out) == FM_OK &&
            status == 200) {
            cJSON *j = cJSON_Parse(out);
            const char *proc = cJSON_GetStringValue(cJSON_GetObjectItem(j, "processId"));
            const cJSON *ver = cJSON_GetObjectItem(j, "version");
            if (proc)
                snprintf(p->process, sizeof(p->process), "%s", proc);
            p->version = cJSON_IsNumber(ver) ? ver->valueint : 0;
            cJSON_Delete(j);
        }
        free(out);
    }
    return p->process[0] != '\0';
}

/* ---- the queue ---- */

static void item_free(item_t *it)
{
    free(it->tenant);
    free(it->instance);
    free(it->process);
    free(it->type);
    free(it->data);
    free(it);
}

/* Loop thread: appends to the worker's queue (or marks the loss when it is full). */
static void enqueue(item_t *it)
{
    pthread_mutex_lock(&G.mu);
    if (!it || !it->tenant || !it->instance || !it->process || !it->type || G.depth >= QUEUE_MAX) {
        G.dropped = true;   /* the next backfill pass finds it */
        if (it)
            item_free(it);
    } else {
        if (G.tail)
            G.tail->next = it;
        else
            G.head = it;
        G.tail = it;
        G.depth++;
        pthread_cond_signal(&G.cv);
    }
    pthread_mutex_unlock(&G.mu);
}

/* task.created|assigned|completed|cancelled of a task that belongs to an instance. */
static void on_task_event(const bus_event_t *ev, void *arg)
{
    (void)arg;
    const char *kind = ev->type + strlen("task.");
    if (strcmp(kind, "created") && strcmp(kind, "assigned") && strcmp(kind, "completed") && strcmp(kind, "cancelled"))
        return;
    cJSON *d = cJSON_Parse(ev->data);
    const char *inst = cJSON_GetStringValue(cJSON_GetObjectItem(d, "processInstanceId"));
    const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(d, "elementId"));
    if (inst && el && ev->tenant && ev->data) {
        item_t *it = calloc(1, sizeof(*it));
        if (it) {
            it->tenant = strdup(ev->tenant);
            it->instance = strdup(inst);
            it->process = strdup("");
            it->type = malloc(strlen(ev->type) + 1);
            if (it->type)
                strcpy(it->type, ev->type);
            it->data = strdup(ev->data);
        }
        if (it && !it->data) {
            item_free(it);
            it = NULL;
        }
        enqueue(it);
    }
    cJSON_Delete(d);
}

/* A report schedule fired (Scheduling's event action): the worker mails the report. */
static void on_report_due(const bus_event_t *ev, void *arg)
{
    (void)arg;
    cJSON *d = cJSON_Parse(ev->data);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(d, "reportScheduleId"));
    if (id && ev->tenant && strlen(id) < 64) {
        item_t *it = calloc(1, sizeof(*it));
        if (it) {
            it->tenant = strdup(ev->tenant);
            it->instance = strdup(id);
            it->process = strdup(ev->id ? ev->id : "");
            it->type = strdup("report");
        }
        enqueue(it);
    }
    cJSON_Delete(d);
}

static void on_event(const bus_event_t *ev, void *arg)
{
    (void)arg;
    cJSON *d = cJSON_Parse(ev->data);
    const char *proc = cJSON_GetStringValue(cJSON_GetObjectItem(d, "processId"));
    const cJSON *ver = cJSON_GetObjectItem(d, "version");
    const char *kind = ev->type + strlen("execution.instance.");
    bool wanted = !strcmp(kind, "started") || !strcmp(kind, "completed") || !strcmp(kind, "failed") ||
                  !strcmp(kind, "cancelled");
    if (wanted && proc && ev->subject && ev->tenant) {
        item_t *it = calloc(1, sizeof(*it));
        if (it) {
            it->tenant = strdup(ev->tenant);
            it->instance = strdup(ev->subject);
            it->process = strdup(proc);
            it->type = strdup(kind);
            it->version = cJSON_IsNumber(ver) ? ver->valueint : 0;
            it->at_ms = an_parse_time(ev->time);
        }
        enqueue(it);
    }
    cJSON_Delete(d);
}

static void handle(item_t *it)
{
    if (!strcmp(it->type, "started")) {
        int64_t at = it->at_ms > 0 ? it->at_ms : fm_time_unix_ms();
        fm_dbc_t *w = fm_dbq_write_begin(G.db);
        int rc = w ? fm_dbq_run(w,
                                "INSERT INTO instances(tenant_id, id, process_id, version, state, started_ms) "
                                "VALUES (?, ?, ?, ?, 'active', ?) ON CONFLICT(tenant_id, id) DO NOTHING",
                                "sssiI", it->tenant, it->instance, it->process, it->version, at)
                   : FM_EDB;
        if (rc == FM_OK && fm_dbq_changes(w) == 1)
            rc = roll(w, it->tenant, it->process, at, 1, NULL, 0);
        if (w)
            rc = fm_dbq_write_end(w, rc);
        if (rc != FM_OK)
            fm_log_msg(FM_LOG_WARN, "analytics: could not record an instance start", it->instance);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    /* Backfill waits until the platform serves: it reads through other modules' routes. */
    while (!G.stop && !fm_serving())
        usleep(20000);
    if (!G.stop)
        backfill_all();
    if (!G.stop)
        reconcile_active();
    pthread_mutex_lock(&G.mu);
    G.backfilled = true;
    for (;;) {
        while (!G.stop && !G.head) {
            G.busy = false;
            pthread_cond_broadcast(&G.idle_cv);
            pthread_cond_wait(&G.cv, &G.mu);
        }
        if (G.stop)
            break;
        /* Up to BATCH items at once: starts are recorded one by one, the ends' histories
         * are read first and written in one transaction. */
        enum { BATCH = 64 };
        item_t *batch[BATCH];
        int nb = 0;
        while (G.head && nb < BATCH) {
            batch[nb++] = G.head;
            G.head = G.head->next;
            G.depth--;
        }
        if (!G.head)
            G.tail = NULL;
        G.busy = true;
        pthread_mutex_unlock(&G.mu);
        an_history_t hs[BATCH];
        cJSON *entries[BATCH];
        int nh = 0, nt = 0;
        /* task events of the batch, written in one transaction in their order */
        an_task_t ts[BATCH];
        cJSON *tj[BATCH];
        struct { proc_of_t p; } tp[BATCH];
        for (int i = 0; i < nb; i++) {
            if (!strcmp(batch[i]->type, "started")) {
                handle(batch[i]);
                continue;
            }
            if (!strcmp(batch[i]->type, "report")) {
                int rc = an_report_fire(G.db, batch[i]->tenant, batch[i]->instance, batch[i]->process);
                if (rc != FM_OK)
                    fm_log_msg(FM_LOG_WARN, "analytics: a scheduled report was not sent", batch[i]->instance);
                continue;
            }
            if (batch[i]->data) {
                if (task_process(batch[i], &tp[nt].p) && (tj[nt] = cJSON_Parse(batch[i]->data))) {
                    ts[nt] = (an_task_t){ batch[i]->tenant, batch[i]->type, tj[nt], tp[nt].p.process,
                                          tp[nt].p.version };
                    nt++;
                }
                continue;
            }
            if (fetch_history(batch[i]->tenant, batch[i]->instance, &entries[nh]) == FM_OK) {
                hs[nh] = (an_history_t){ batch[i]->tenant, batch[i]->instance, batch[i]->process, batch[i]->version,
                                         entries[nh] };
                nh++;
            }
        }
        if (nh && an_ingest_histories(G.db, hs, nh) != FM_OK)
            fm_log_msg(FM_LOG_WARN, "analytics: a batch of ended instances was not ingested; the next start retries it",
                       NULL);
        if (nt && an_ingest_tasks(G.db, ts, nt) != FM_OK)
            fm_log_msg(FM_LOG_WARN, "analytics: a batch of task events was not recorded", NULL);
        for (int i = 0; i < nt; i++)
            cJSON_Delete(tj[i]);
        for (int i = 0; i < nh; i++)
            cJSON_Delete(entries[i]);
        for (int i = 0; i < nb; i++)
            item_free(batch[i]);
        pthread_mutex_lock(&G.mu);
    }
    pthread_mutex_unlock(&G.mu);
    return NULL;
}

cJSON *an_ingest_status(void)
{
    cJSON *o = cJSON_CreateObject();
    pthread_mutex_lock(&G.mu);
    cJSON_AddNumberToObject(o, "queued", (double)G.depth + (G.busy ? 1 : 0));
    cJSON_AddBoolToObject(o, "backfilled", G.backfilled);
    cJSON_AddBoolToObject(o, "dropped", G.dropped);
    pthread_mutex_unlock(&G.mu);
    return o;
}

int an_ingest_start(fm_mod_t *m)
{
    G.db = m->db;
    G.stop = false;
    G.backfilled = false;
    G.busy = false;
    G.sub = bus_subscribe("execution.instance.*", on_event, NULL);
    if (G.sub < 0)
        return G.sub;
    G.task_sub = bus_subscribe("task.*", on_task_event, NULL);
    if (G.task_sub < 0) {
        bus_unsubscribe(G.sub);
        return G.task_sub;
    }
    G.report_sub = bus_subscribe(AN_REPORT_DUE, on_report_due, NULL);
    if (G.report_sub < 0) {
        bus_unsubscribe(G.sub);
        bus_unsubscribe(G.task_sub);
        return G.report_sub;
    }
    if (pthread_create(&G.thread, NULL, worker, NULL) != 0) {
        bus_unsubscribe(G.sub);
        bus_unsubscribe(G.task_sub);
        bus_unsubscribe(G.report_sub);
        return FM_ENOMEM;
    }
    G.running = true;
    return FM_OK;
}

void an_ingest_stop(fm_mod_t *m)
{
    (void)m;
    if (!G.running)
        return;
    bus_unsubscribe(G.sub);
    bus_unsubscribe(G.task_sub);
    bus_unsubscribe(G.report_sub);
    pthread_mutex_lock(&G.mu);
    G.stop = true;
    pthread_cond_broadcast(&G.cv);
    pthread_mutex_unlock(&G.mu);
    pthread_join(G.thread, NULL);
    G.running = false;
    while (G.head) {
        item_t *it = G.head;
        G.head = it->next;
        item_free(it);
    }
    G.tail = NULL;
    G.depth = 0;
    G.db = NULL;
}
