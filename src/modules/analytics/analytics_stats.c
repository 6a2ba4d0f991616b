/*
 * analytics_stats.c — the numbers Process Analytics answers, read from its own tables:
 * instance counts and duration percentiles per window and period, SLA breaches,
 * versions compared, per-element time, bottlenecks ranked by share of cycle time, path
 * variants, the tenant dashboard and report rows. Percentiles are exact (nearest rank
 * over the sorted values), over at most AN_READ_MAX rows per answer (the newest).
 */
#include "analytics_int.h"

#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double an_percentile(const int64_t *sorted, size_t n, double p)
{
    if (!n)
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return (double)sorted[rank ? rank - 1 : 0];
}

/* A growable list of durations. */
typedef struct vals {
    int64_t *v;
    size_t n, cap;
} vals_t;

static int vals_add(vals_t *a, int64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        int64_t *v = realloc(a->v, cap * sizeof(int64_t));
        if (!v)
            return FM_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return FM_OK;
}

static int val_row(const fm_dbrow_t *row, void *arg)
{
    return vals_add(arg, fm_dbrow_int(row, 0));
}

static cJSON *dist_json(const vals_t *a)
{
    cJSON *o = cJSON_CreateObject();
    double sum = 0;
    for (size_t i = 0; i < a->n; i++)
        sum += (double)a->v[i];
    cJSON_AddNumberToObject(o, "count", (double)a->n);
    cJSON_AddNumberToObject(o, "meanMs", a->n ? round(sum / (double)a->n) : 0);
    cJSON_AddNumberToObject(o, "p50Ms", an_percentile(a->v, a->n, 50));
    cJSON_AddNumberToObject(o, "p90Ms", an_percentile(a->v, a->n, 90));
    cJSON_AddNumberToObject(o, "p99Ms", an_percentile(a->v, a->n, 99));
    cJSON_AddNumberToObject(o, "maxMs", a->n ? (double)a->v[a->n - 1] : 0);
    return o;
}

/* Instances of the window: tenant, process, [from, to), version (0 = all). */
#define INST_WHERE "tenant_id = ?1 AND process_id = ?2 AND started_ms >= ?3 AND started_ms < ?4 AND (?5 = 0 OR version = ?5)"
#define VISIT_WHERE                                                                                             \
    "v.tenant_id = ?1 AND v.process_id = ?2 AND v.entered_ms >= ?3 AND v.entered_ms < ?4 AND (?5 = 0 OR "       \
    "v.instance_id IN (SELECT id FROM instances WHERE tenant_id = ?1 AND process_id = ?2 AND version = ?5))"

static int count_row(const fm_dbrow_t *row, void *arg)
{
    cJSON_AddNumberToObject(arg, fm_dbrow_str(row, 0), (double)fm_dbrow_int(row, 1));
    return FM_OK;
}

typedef struct series_ctx {
    cJSON *arr;
    int64_t from, period;
} series_ctx_t;

static int series_row(const fm_dbrow_t *row, void *arg)
{
    series_ctx_t *s = arg;
    char at[32];
    fm_time_rfc3339_at(s->from + fm_dbrow_int(row, 0) * s->period, at);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "period", at);
    cJSON_AddNumberToObject(o, "started", (double)fm_dbrow_int(row, 1));
    cJSON_AddNumberToObject(o, "completed", (double)fm_dbrow_int(row, 2));
    cJSON_AddNumberToObject(o, "failed", (double)fm_dbrow_int(row, 3));
    cJSON_AddNumberToObject(o, "meanMs", round(fm_dbrow_double(row, 4)));
    cJSON_AddItemToArray(s->arr, o);
    return FM_OK;
}

/* Per-element statistics: rows ordered by element, then duration. */
typedef struct elem_ctx {
    cJSON *arr;
    char cur[256], type[64];
    vals_t d;
    int64_t cycle_total;   /* sum of instance durations, for the share */
    int rc;
} elem_ctx_t;

static void elem_flush(elem_ctx_t *e)
{
    if (!e->cur[0])
        return;
    cJSON *o = dist_json(&e->d);
    double total = 0;
    for (size_t i = 0; i < e->d.n; i++)
        total += (double)e->d.v[i];
    cJSON_AddStringToObject(o, "elementId", e->cur);
    cJSON_AddStringToObject(o, "elementType", e->type);
    cJSON_AddNumberToObject(o, "totalMs", total);
    cJSON_AddNumberToObject(o, "shareOfCycleTime",
                            e->cycle_total > 0 ? round(total / (double)e->cycle_total * 10000) / 10000 : 0);
    cJSON_AddItemToArray(e->arr, o);
    e->d.n = 0;
    e->cur[0] = '\0';
}

static int elem_row(const fm_dbrow_t *row, void *arg)
{
    elem_ctx_t *e = arg;
    const char *id = fm_dbrow_str(row, 0);
    if (strcmp(id, e->cur)) {
        elem_flush(e);
        snprintf(e->cur, sizeof(e->cur), "%s", id);
        snprintf(e->type, sizeof(e->type), "%s", fm_dbrow_str(row, 1));
    }
    return vals_add(&e->d, fm_dbrow_int(row, 2));
}

/* ---- user tasks: waiting vs working, queues ---- */

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static cJSON *find_element(cJSON *arr, const char *id)
{
    cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(x, "elementId"));
        if (e && !strcmp(e, id))
            return x;
    }
    return NULL;
}

/* The element's entry (a user task with only open tasks has no finished visit yet). */
static cJSON *element_entry(cJSON *arr, const char *id)
{
    cJSON *o = find_element(arr, id);
    if (o)
        return o;
    vals_t none = { 0 };
    o = dist_json(&none);
    cJSON_AddStringToObject(o, "elementId", id);
    cJSON_AddStringToObject(o, "elementType", "userTask");
    cJSON_AddNumberToObject(o, "totalMs", 0);
    cJSON_AddNumberToObject(o, "shareOfCycleTime", 0);
    cJSON_AddItemToArray(arr, o);
    return o;
}

static cJSON *split_json(vals_t *a)
{
    qsort(a->v, a->n, sizeof(int64_t), cmp_i64);
    cJSON *o = dist_json(a);
    double total = 0;
    for (size_t i = 0; i < a->n; i++)
        total += (double)a->v[i];
    cJSON_AddNumberToObject(o, "totalMs", total);
    return o;
}

typedef struct split_ctx {
    cJSON *arr;
    char cur[256];
    vals_t wait, work;
} split_ctx_t;

static void split_flush(split_ctx_t *s)
{
    if (!s->cur[0])
        return;
    cJSON *o = element_entry(s->arr, s->cur);
    cJSON_AddItemToObject(o, "waiting", split_json(&s->wait));
    cJSON_AddItemToObject(o, "working", split_json(&s->work));
    s->wait.n = s->work.n = 0;
    s->cur[0] = '\0';
}

/* A completed task: waiting = created -> first assignee (or -> completed when it never
 * had one), working = first assignee -> completed. */
static int split_row(const fm_dbrow_t *row, void *arg)
{
    split_ctx_t *s = arg;
    const char *id = fm_dbrow_str(row, 0);
    if (strcmp(id, s->cur)) {
        split_flush(s);
        snprintf(s->cur, sizeof(s->cur), "%s", id);
    }
    int64_t created = fm_dbrow_int(row, 1), ended = fm_dbrow_int(row, 3);
    int64_t claimed = fm_dbrow_null(row, 2) ? ended : fm_dbrow_int(row, 2);
    if (claimed < created)
        claimed = created;
    if (claimed > ended)
        claimed = ended;
    int rc = vals_add(&s->wait, claimed - created);
    return rc == FM_OK ? vals_add(&s->work, ended - claimed) : rc;
}

static int queue_row(const fm_dbrow_t *row, void *arg)
{
    cJSON *o = element_entry(arg, fm_dbrow_str(row, 0));
    cJSON *q = cJSON_GetObjectItem(o, "queue");
    if (!q) {
        q = cJSON_AddObjectToObject(o, "queue");
        cJSON_AddNumberToObject(q, "now", 0);
        cJSON_AddNumberToObject(q, "waitingNow", 0);
        cJSON_AddNumberToObject(q, "workingNow", 0);
        cJSON_AddNumberToObject(q, "maxInWindow", 0);
    }
    if (fm_dbrow_ncols(row) == 3) {
        int64_t open = fm_dbrow_int(row, 1), waiting = fm_dbrow_int(row, 2);
        cJSON_SetNumberValue(cJSON_GetObjectItem(q, "now"), (double)open);
        cJSON_SetNumberValue(cJSON_GetObjectItem(q, "waitingNow"), (double)waiting);
        cJSON_SetNumberValue(cJSON_GetObjectItem(q, "workingNow"), (double)(open - waiting));
    } else
        cJSON_SetNumberValue(cJSON_GetObjectItem(q, "maxInWindow"), (double)fm_dbrow_int(row, 1));
    return FM_OK;
}

/* The most tasks open at once per element: starts come in time order, ends are sorted,
 * then merged. */
typedef struct peak_ctx {
    cJSON *arr;
    char cur[256];
    vals_t starts, ends;
} peak_ctx_t;

static int peak_flush(peak_ctx_t *p)
{
    if (!p->cur[0])
        return FM_OK;
    qsort(p->ends.v, p->ends.n, sizeof(int64_t), cmp_i64);
    int64_t q = 0, best = 0;
    size_t i = 0, j = 0;
    while (i < p->starts.n) {
        if (j < p->ends.n && p->ends.v[j] <= p->starts.v[i]) {
            q--;
            j++;
        } else {
            q++;
            i++;
            if (q > best)
                best = q;
        }
    }
    cJSON *o = element_entry(p->arr, p->cur);
    cJSON *queue = cJSON_GetObjectItem(o, "queue");
    if (!queue) {
        queue = cJSON_AddObjectToObject(o, "queue");
        cJSON_AddNumberToObject(queue, "now", 0);
        cJSON_AddNumberToObject(queue, "waitingNow", 0);
        cJSON_AddNumberToObject(queue, "workingNow", 0);
        cJSON_AddNumberToObject(queue, "maxInWindow", 0);
    }
    cJSON_SetNumberValue(cJSON_GetObjectItem(queue, "maxInWindow"), (double)best);
    p->starts.n = p->ends.n = 0;
    p->cur[0] = '\0';
    return FM_OK;
}

static int peak_row(const fm_dbrow_t *row, void *arg)
{
    peak_ctx_t *p = arg;
    const char *id = fm_dbrow_str(row, 0);
    if (strcmp(id, p->cur)) {
        peak_flush(p);
        snprintf(p->cur, sizeof(p->cur), "%s", id);
    }
    int rc = vals_add(&p->starts, fm_dbrow_int(row, 1));
    if (rc == FM_OK && !fm_dbrow_null(row, 2))
        rc = vals_add(&p->ends, fm_dbrow_int(row, 2));
    return rc;
}

#define TASK_WHERE "tenant_id = ?1 AND process_id = ?2 AND (?5 = 0 OR version = ?5)"

/* Adds waiting/working (completed tasks created in the window) and queue (open tasks now;
 * the most open at once during the window) to the user task elements of arr. */
static int task_split(fm_dbc_t *c, const an_window_t *w, cJSON *arr)
{
    split_ctx_t s = { .arr = arr };
    int rc = fm_dbq_each(c,
                         "SELECT element_id, created_ms, claimed_ms, ended_ms FROM task_times WHERE " TASK_WHERE
                         " AND created_ms >= ?3 AND created_ms < ?4 AND state = 'completed' "
                         "ORDER BY element_id LIMIT ?6",
                         split_row, &s, "ssIIii", w->tenant, w->process, w->from_ms, w->to_ms, w->version,
                         AN_READ_MAX);
    if (rc == FM_OK)
        split_flush(&s);
    free(s.wait.v);
    free(s.work.v);
    if (rc == FM_OK)
        rc = fm_dbq_each(c,
                         "SELECT element_id, count(*), sum(claimed_ms IS NULL) FROM task_times WHERE " TASK_WHERE
                         " AND ended_ms IS NULL AND ?3 <= ?4 GROUP BY element_id ORDER BY element_id",
                         queue_row, arr, "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    /* The most tasks open at once in [from, to): +1 at each creation (or at from for
     * those open then), -1 at each end, in time order with ends first at a tie. */
    if (rc == FM_OK) {
        peak_ctx_t pk = { .arr = arr };
        rc = fm_dbq_each(c,
                         "SELECT element_id, max(created_ms, ?3), CASE WHEN ended_ms < ?4 THEN ended_ms END "
                         "FROM task_times WHERE " TASK_WHERE " AND created_ms < ?4 AND (ended_ms IS NULL OR "
                         "ended_ms > ?3) ORDER BY element_id, created_ms LIMIT ?6",
                         peak_row, &pk, "ssIIii", w->tenant, w->process, w->from_ms, w->to_ms, w->version,
                         AN_READ_MAX);
        if (rc == FM_OK)
            rc = peak_flush(&pk);
        free(pk.starts.v);
        free(pk.ends.v);
    }
    return rc;
}

static int elements(fm_dbc_t *c, const an_window_t *w, int64_t cycle_total, cJSON *arr)
{
    elem_ctx_t e = { .arr = arr, .cycle_total = cycle_total };
    int rc = fm_dbq_each(c,
                         "SELECT v.element_id, v.element_type, v.duration_ms FROM element_visits v WHERE " VISIT_WHERE
                         " AND v.duration_ms IS NOT NULL ORDER BY v.element_id, v.duration_ms LIMIT ?6",
                         elem_row, &e, "ssIIii", w->tenant, w->process, w->from_ms, w->to_ms, w->version,
                         AN_READ_MAX);
    if (rc == FM_OK)
        elem_flush(&e);
    free(e.d.v);
    return rc == FM_OK ? task_split(c, w, arr) : rc;
}

static int64_t cycle_total(fm_dbc_t *c, const an_window_t *w)
{
    int64_t t = 0;
    fm_dbq_int(c, "SELECT coalesce(sum(duration_ms), 0) FROM instances WHERE " INST_WHERE " AND state = 'completed'", &t,
               "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    return t;
}

typedef struct ver_ctx {
    fm_dbc_t *c;
    const an_window_t *w;
    cJSON *arr;
} ver_ctx_t;

static int version_row(const fm_dbrow_t *row, void *arg)
{
    ver_ctx_t *v = arg;
    int version = (int)fm_dbrow_int(row, 0);
    vals_t d = { 0 };
    int rc = fm_dbq_each(v->c,
                         "SELECT duration_ms FROM instances WHERE tenant_id = ?1 AND process_id = ?2 AND started_ms >= ?3 "
                         "AND started_ms < ?4 AND version = ?5 AND state = 'completed' ORDER BY duration_ms LIMIT ?6",
                         val_row, &d, "ssIIii", v->w->tenant, v->w->process, v->w->from_ms, v->w->to_ms, version,
                         AN_READ_MAX);
    if (rc == FM_OK) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "version", version);
        cJSON_AddNumberToObject(o, "started", (double)fm_dbrow_int(row, 1));
        cJSON_AddNumberToObject(o, "failed", (double)fm_dbrow_int(row, 2));
        cJSON_AddItemToObject(o, "duration", dist_json(&d));
        cJSON_AddItemToArray(v->arr, o);
    }
    free(d.v);
    return rc;
}

int an_process_metrics(fm_db_t *db, const an_window_t *w, int64_t period_ms, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", w->process);
    char a[32], b[32];
    fm_time_rfc3339_at(w->from_ms, a);
    fm_time_rfc3339_at(w->to_ms, b);
    cJSON_AddStringToObject(o, "from", a);
    cJSON_AddStringToObject(o, "to", b);
    if (w->version)
        cJSON_AddNumberToObject(o, "version", w->version);
    cJSON *counts = cJSON_AddObjectToObject(o, "instances");
    cJSON_AddNumberToObject(counts, "started", 0);
    cJSON_AddNumberToObject(counts, "active", 0);
    cJSON_AddNumberToObject(counts, "completed", 0);
    cJSON_AddNumberToObject(counts, "failed", 0);
    cJSON_AddNumberToObject(counts, "cancelled", 0);
    cJSON *states = cJSON_CreateObject();
    int rc = fm_dbq_each(c, "SELECT state, count(*) FROM instances WHERE " INST_WHERE " GROUP BY state", count_row,
                         states, "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    double started = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, states)
    {
        cJSON_ReplaceItemInObject(counts, s->string, cJSON_CreateNumber(s->valuedouble));
        started += s->valuedouble;
    }
    cJSON_ReplaceItemInObject(counts, "started", cJSON_CreateNumber(started));
    cJSON_Delete(states);
    vals_t d = { 0 };
    if (rc == FM_OK)
        rc = fm_dbq_each(c,
                         "SELECT duration_ms FROM instances WHERE " INST_WHERE
                         " AND state = 'completed' ORDER BY duration_ms LIMIT ?6",
                         val_row, &d, "ssIIii", w->tenant, w->process, w->from_ms, w->to_ms, w->version, AN_READ_MAX);
    cJSON_AddItemToObject(o, "duration", dist_json(&d));
    /* Incident rate: instances that had at least one incident, of those that ended. */
    int64_t with_inc = 0, ended = 0;
    if (rc == FM_OK)
        rc = fm_dbq_int(c, "SELECT count(*) FROM instances WHERE " INST_WHERE " AND incidents > 0", &with_inc, "ssIIi",
                        w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    if (rc == FM_OK)
        rc = fm_dbq_int(c, "SELECT count(*) FROM instances WHERE " INST_WHERE " AND state != 'active'", &ended,
                        "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    cJSON_AddNumberToObject(o, "incidentRate", ended ? round((double)with_inc / (double)ended * 10000) / 10000 : 0);
    /* SLA: completed over the target, and active instances already older than it. */
    int64_t target = 0;
    if (rc == FM_OK && fm_dbq_int(c, "SELECT target_ms FROM slas WHERE tenant_id = ? AND process_id = ?", &target, "ss",
                                  w->tenant, w->process) == FM_OK) {
        int64_t late = 0, running_late = 0;
        fm_dbq_int(c, "SELECT count(*) FROM instances WHERE " INST_WHERE " AND state = 'completed' AND duration_ms > ?6",
                   &late, "ssIIiI", w->tenant, w->process, w->from_ms, w->to_ms, w->version, target);
        fm_dbq_int(c, "SELECT count(*) FROM instances WHERE " INST_WHERE " AND state = 'active' AND started_ms < ?6",
                   &running_late, "ssIIiI", w->tenant, w->process, w->from_ms, w->to_ms, w->version,
                   fm_time_unix_ms() - target);
        cJSON *sla = cJSON_AddObjectToObject(o, "sla");
        cJSON_AddNumberToObject(sla, "targetMs", (double)target);
        cJSON_AddNumberToObject(sla, "breachedCompleted", (double)late);
        cJSON_AddNumberToObject(sla, "breachedActive", (double)running_late);
        cJSON_AddNumberToObject(sla, "breachRate", d.n ? round((double)late / (double)d.n * 10000) / 10000 : 0);
    }
    free(d.v);
    if (rc == FM_OK && period_ms > 0) {
        series_ctx_t sc = { cJSON_AddArrayToObject(o, "series"), w->from_ms, period_ms };
        rc = fm_dbq_each(c,
                         "SELECT (started_ms - ?3) / ?6 AS b, count(*), sum(state = 'completed'), sum(state = 'failed'), "
                         "coalesce(avg(CASE WHEN state = 'completed' THEN duration_ms END), 0) FROM instances WHERE "
                         INST_WHERE " GROUP BY b ORDER BY b",
                         series_row, &sc, "ssIIiI", w->tenant, w->process, w->from_ms, w->to_ms, w->version, period_ms);
    }
    if (rc == FM_OK) {
        ver_ctx_t vc = { c, w, cJSON_AddArrayToObject(o, "versions") };
        rc = fm_dbq_each(c,
                         "SELECT version, count(*), sum(state = 'failed') FROM instances WHERE " INST_WHERE
                         " GROUP BY version ORDER BY version",
                         version_row, &vc, "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    }
    if (rc == FM_OK)
        rc = elements(c, w, cycle_total(c, w), cJSON_AddArrayToObject(o, "elements"));
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return FM_OK;
}

static int cmp_total_desc(const void *x, const void *y)
{
    const cJSON *ox = *(cJSON *const *)x, *oy = *(cJSON *const *)y;
    double a = cJSON_GetObjectItem(ox, "totalMs")->valuedouble;
    double b = cJSON_GetObjectItem(oy, "totalMs")->valuedouble;
    if (a != b)
        return a < b ? 1 : -1;
    /* at equal time, the longer queue now first */
    const cJSON *qa = cJSON_GetObjectItem(cJSON_GetObjectItem(ox, "queue"), "now");
    const cJSON *qb = cJSON_GetObjectItem(cJSON_GetObjectItem(oy, "queue"), "now");
    a = qa ? qa->valuedouble : 0;
    b = qb ? qb->valuedouble : 0;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* Containers' time is their children's: they are not ranked. */
static bool container(const char *type)
{
    return !strcmp(type, "subProcess") || !strcmp(type, "transaction") || !strcmp(type, "adHocSubProcess") ||
           !strcmp(type, "process");
}

int an_bottlenecks(fm_db_t *db, const an_window_t *w, int limit, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *all = cJSON_CreateArray();
    int64_t cycle = cycle_total(c, w);
    int rc = elements(c, w, cycle, all);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(all);
        return rc;
    }
    int n = cJSON_GetArraySize(all), k = 0;
    cJSON **v = calloc((size_t)n + 1, sizeof(*v));
    if (!v) {
        cJSON_Delete(all);
        return FM_ENOMEM;
    }
    cJSON *x;
    while ((x = cJSON_DetachItemFromArray(all, 0))) {
        if (container(cJSON_GetObjectItem(x, "elementType")->valuestring))
            cJSON_Delete(x);
        else
            v[k++] = x;
    }
    cJSON_Delete(all);
    qsort(v, (size_t)k, sizeof(*v), cmp_total_desc);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", w->process);
    cJSON_AddNumberToObject(o, "cycleTimeTotalMs", (double)cycle);
    cJSON_AddStringToObject(o, "rankedBy", "totalMs: the element's share of all completed instances' cycle time; "
                                           "at equal time, queue.now (open user tasks at the element)");
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (int i = 0; i < k; i++) {
        if (i < limit) {
            cJSON_AddNumberToObject(v[i], "rank", i + 1);
            cJSON_AddItemToArray(items, v[i]);
        } else
            cJSON_Delete(v[i]);
    }
    free(v);
    *out = o;
    return FM_OK;
}

int an_paths(fm_db_t *db, const an_window_t *w, int limit, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", w->process);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    int rc = fm_dbq_read_array(db,
                               "SELECT path, count(*) AS \"count\", round(avg(duration_ms)) AS \"meanMs\", "
                               "min(duration_ms) AS \"minMs\", max(duration_ms) AS \"maxMs\" FROM instances WHERE "
                               INST_WHERE " AND state != 'active' AND path IS NOT NULL "
                               "GROUP BY path ORDER BY count(*) DESC, path LIMIT ?6",
                               "siiii", items, "ssIIii", w->tenant, w->process, w->from_ms, w->to_ms, w->version,
                               limit);
    /* the path as a list of element ids */
    cJSON *x;
    cJSON_ArrayForEach(x, items)
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(x, "path"));
        cJSON *list = cJSON_CreateArray();
        char *copy = strdup(p ? p : ""), *save = NULL;
        for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
            cJSON_AddItemToArray(list, cJSON_CreateString(t));
        free(copy);
        cJSON_ReplaceItemInObject(x, "path", list);
    }
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return FM_OK;
}

int an_element_values(fm_db_t *db, const an_window_t *w, bool durations, cJSON **out)
{
    *out = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db,
                               durations ? "SELECT v.element_id AS \"elementId\", round(avg(v.duration_ms)) AS \"value\" "
                                           "FROM element_visits v WHERE " VISIT_WHERE
                                           " AND v.duration_ms IS NOT NULL GROUP BY v.element_id ORDER BY v.element_id"
                                         : "SELECT v.element_id AS \"elementId\", count(*) AS \"value\" "
                                           "FROM element_visits v WHERE " VISIT_WHERE
                                           " GROUP BY v.element_id ORDER BY v.element_id",
                               "si", *out, "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, w->version);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* From the rollups: whole UTC days overlapping [from, to). */
int an_dashboard(fm_db_t *db, const char *tenant, int64_t from_ms, int64_t to_ms, cJSON **out)
{
    int64_t day = 86400000LL, d0 = from_ms - from_ms % day;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *o = cJSON_CreateObject();
    char a[32], b[32];
    fm_time_rfc3339_at(d0, a);
    fm_time_rfc3339_at(to_ms, b);
    cJSON_AddStringToObject(o, "from", a);
    cJSON_AddStringToObject(o, "to", b);
    cJSON *tp = NULL;
    int rc = fm_dbq_obj(c,
                        "SELECT coalesce(sum(started), 0) AS started, coalesce(sum(completed), 0) AS completed, "
                        "coalesce(sum(failed), 0) AS failed, coalesce(sum(cancelled), 0) AS cancelled, "
                        "coalesce(sum(started - completed - failed - cancelled), 0) AS active FROM daily "
                        "WHERE tenant_id = ? AND day_ms >= ? AND day_ms < ?",
                        "iiiii", &tp, "sII", tenant, d0, to_ms);
    if (rc == FM_OK)
        cJSON_AddItemToObject(o, "throughput", tp);
    int64_t backlog = 0;
    if (rc == FM_OK)
        rc = fm_dbq_int(c, "SELECT coalesce(sum(started - completed - failed - cancelled), 0) FROM daily "
                           "WHERE tenant_id = ?", &backlog, "s", tenant);
    cJSON_AddNumberToObject(o, "backlog", (double)backlog);
    if (rc == FM_OK)
        rc = fm_dbq_array(c,
                          "SELECT process_id AS \"processId\", sum(started) AS \"started\", sum(completed) AS "
                          "\"completed\", sum(failed) AS \"failed\", sum(started - completed - failed - cancelled) AS "
                          "\"active\", CASE WHEN sum(completed) > 0 THEN round(1.0 * sum(duration_ms) / sum(completed)) "
                          "END AS \"meanMs\" FROM daily WHERE tenant_id = ? AND day_ms >= ? AND day_ms < ? "
                          "GROUP BY process_id ORDER BY sum(started) DESC, process_id LIMIT 50",
                          "siiiia", cJSON_AddArrayToObject(o, "processes"), "sII", tenant, d0, to_ms);
    if (rc == FM_OK)
        rc = fm_dbq_array(c,
                          "SELECT process_id AS \"processId\", element_id AS \"elementId\", element_type AS "
                          "\"elementType\", sum(visits) AS \"visits\", sum(total_ms) AS \"totalMs\", "
                          "round(1.0 * sum(total_ms) / sum(visits)) AS \"meanMs\" FROM element_daily WHERE tenant_id = ? "
                          "AND day_ms >= ? AND day_ms < ? AND element_type NOT IN "
                          "('subProcess', 'transaction', 'adHocSubProcess', 'process') "
                          "GROUP BY process_id, element_id ORDER BY sum(total_ms) DESC LIMIT 5",
                          "sssiii", cJSON_AddArrayToObject(o, "topBottlenecks"), "sII", tenant, d0, to_ms);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return FM_OK;
}

int an_report_rows(fm_db_t *db, const an_window_t *w, const char *kind, cJSON *rows)
{
    if (!strcmp(kind, "elements"))
        return fm_dbq_read_array(db,
                                 "SELECT v.instance_id AS \"instanceId\", v.process_id AS \"processId\", v.element_id AS "
                                 "\"elementId\", v.element_type AS \"elementType\", v.entered_ms AS \"enteredAt\", "
                                 "v.left_ms AS \"leftAt\", v.duration_ms AS \"durationMs\" FROM element_visits v WHERE "
                                 "v.tenant_id = ?1 AND (?2 IS NULL OR v.process_id = ?2) AND v.entered_ms >= ?3 AND "
                                 "v.entered_ms < ?4 ORDER BY v.entered_ms, v.instance_id LIMIT ?5",
                                 "sssstta", rows, "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms,
                                 AN_READ_MAX);
    return fm_dbq_read_array(db,
                             "SELECT id AS \"instanceId\", process_id AS \"processId\", version, state, started_ms AS "
                             "\"startedAt\", ended_ms AS \"endedAt\", duration_ms AS \"durationMs\", incidents FROM "
                             "instances WHERE tenant_id = ?1 AND (?2 IS NULL OR process_id = ?2) AND started_ms >= ?3 "
                             "AND started_ms < ?4 ORDER BY started_ms, id LIMIT ?5",
                             "ssisttai", rows, "ssIIi", w->tenant, w->process, w->from_ms, w->to_ms, AN_READ_MAX);
}

int an_sla_set(fm_db_t *db, const char *tenant, const char *process, int64_t target_ms)
{
    return fm_dbq_write(db,
                        "INSERT INTO slas(tenant_id, process_id, target_ms) VALUES (?1, ?2, ?3) "
                        "ON CONFLICT(tenant_id, process_id) DO UPDATE SET target_ms = ?3",
                        "ssI", tenant, process, target_ms);
}
