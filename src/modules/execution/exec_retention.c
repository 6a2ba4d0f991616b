/*
 * exec_retention.c — history retention (docs/execution.md, "History retention"). Ended
 * instances (completed, cancelled, failed) go with their history, jobs, incidents and
 * any rows left pointing at them: those of a process with its own historyTimeToLive
 * when their purge_ms (set when they ended, exec_store.c) has passed, the others
 * execution.history_retention_days after ended_at (0: never). A loop timer every
 * execution.retention_interval_ms hands a sweep to the engine's worker, which removes
 * at most execution.retention_batch instances per write transaction, as many
 * transactions as the backlog needs (bounded per sweep), and drops expired buffered
 * messages (exec_msgbuf.c). SQLite reuses the freed pages, so under a steady load the
 * file stops growing. GET /executions/retention shows the policy and the last sweep.
 */
#include "exec_int.h"

#include "../../bpmn/bpmn.h"

#include "../../fm_config.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EX_SWEEP_ROUNDS 20          /* transactions per sweep at most: the worker goes back to work */
#define EX_MSGBUF_BATCH 1000

static struct {
    pthread_mutex_t mu;             /* guards what follows the timer */
    fm_timer_t *timer;              /* loop thread */
    fm_db_t *db;
    bool queued;                    /* a sweep is waiting for the worker */
    char last_at[32];
    int64_t last_ms;
    bool last_more;                 /* the last sweep stopped with a backlog left */
    cJSON *last_tenants;            /* {tenant: instances removed by the last sweep} */
    cJSON *totals;                  /* {tenant: instances removed since the server started} */
} R = { .mu = PTHREAD_MUTEX_INITIALIZER };

int64_t ex_retention_of(const struct bpmn_node *proc, char *why, size_t wl)
{
    const char *v = bpmn_attr_ns(proc, EX_CAMUNDA_NS, "historyTimeToLive");
    bpmn_node_t *ee = bpmn_child(proc, BPMN_NS, "extensionElements");
    bpmn_node_t *props = ee ? bpmn_child(ee, ZEEBE_NS, "properties") : NULL;
    for (size_t i = 0; props && i < props->nkids; i++) {
        const bpmn_node_t *p = props->kids[i];
        const char *name = bpmn_attr(p, "name");
        if (bpmn_is(p, ZEEBE_NS, "property") && name && !strcmp(name, "historyTimeToLive"))
            v = bpmn_attr(p, "value");      /* a zeebe: property says the same and wins */
    }
    if (!v || !*v)
        return -1;
    int64_t ms;
    char *end;
    long days = strtol(v, &end, 10);
    if (end != v && !*end && days >= 0 && days <= 36500)
        return (int64_t)days * 86400000LL;
    if (ex_duration_ms(v, &ms) && ms >= 0 && ms <= 36500LL * 86400000LL)
        return ms;
    snprintf(why, wl, "historyTimeToLive '%.60s' of process '%s' is not a number of days or an ISO 8601 duration "
             "(PT1H, P30D; at most 36500 days)", v, bpmn_attr(proc, "id") ? bpmn_attr(proc, "id") : "");
    return -2;
}

/* ---- the sweep (worker thread) ---- */

static const char SQL_DUE[] =
    "SELECT id, tenant_id FROM instances WHERE purge_ms IS NOT NULL AND purge_ms <= ? ORDER BY purge_ms LIMIT ?";
static const char SQL_OLD[] =
    "SELECT id, tenant_id FROM instances WHERE ended_at IS NOT NULL AND purge_ms IS NULL AND ended_at < ? "
    "ORDER BY ended_at LIMIT ?";
static const char *const SQL_DROP[] = {
    "DELETE FROM history WHERE instance_id = ?",
    "DELETE FROM incidents WHERE instance_id = ?",
    "DELETE FROM jobs WHERE instance_id = ?",
    "DELETE FROM task_links WHERE instance_id = ?",
    "DELETE FROM timers WHERE instance_id = ?",
    "DELETE FROM msg_subs WHERE instance_id = ?",
    "DELETE FROM signal_subs WHERE instance_id = ?",
    "DELETE FROM instances WHERE id = ? AND state IN ('completed', 'cancelled', 'failed')",
};

typedef struct batch { char (*ids)[48]; char (*tenants)[72]; int n, max; } batch_t;

static int batch_row(const fm_dbrow_t *row, void *arg)
{
    batch_t *b = arg;
    if (b->n < b->max) {
        fm_dbrow_copy(row, 0, b->ids[b->n], sizeof(b->ids[0]));
        fm_dbrow_copy(row, 1, b->tenants[b->n], sizeof(b->tenants[0]));
        b->n++;
    }
    return FM_OK;
}

/* One transaction: at most `max` instances due. *n: how many went. */
static int sweep_batch(fm_db_t *db, int max, int64_t now_ms, const char *cutoff, cJSON *tenants, int *n)
{
    *n = 0;
    batch_t b = { calloc((size_t)max, sizeof(b.ids[0])), calloc((size_t)max, sizeof(b.tenants[0])), 0, max };
    if (!b.ids || !b.tenants) {
        free(b.ids);
        free(b.tenants);
        return FM_ENOMEM;
    }
    fm_dbc_t *w = fm_dbq_write_begin(db);
    int rc = w ? FM_OK : FM_EDB;
    if (rc == FM_OK)
        rc = fm_dbq_weach(w, SQL_DUE, batch_row, &b, "Ii", now_ms, max);
    if (rc == FM_OK && cutoff && b.n < max)
        rc = fm_dbq_weach(w, SQL_OLD, batch_row, &b, "si", cutoff, max - b.n);
    for (int i = 0; rc == FM_OK && i < b.n; i++)
        for (size_t k = 0; rc == FM_OK && k < sizeof(SQL_DROP) / sizeof(SQL_DROP[0]); k++)
            rc = fm_dbq_wrun(w, SQL_DROP[k], "s", b.ids[i]);
    if (w)
        rc = fm_dbq_write_end(w, rc);
    if (rc == FM_OK) {
        *n = b.n;
        for (int i = 0; i < b.n; i++) {
            cJSON *c = cJSON_GetObjectItemCaseSensitive(tenants, b.tenants[i]);
            if (c)
                cJSON_SetNumberValue(c, c->valuedouble + 1);
            else
                cJSON_AddNumberToObject(tenants, b.tenants[i], 1);
        }
    }
    free(b.ids);
    free(b.tenants);
    return rc;
}

static void sweep(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    R.queued = false;
    fm_db_t *db = R.db;
    pthread_mutex_unlock(&R.mu);
    if (!db)
        return;
    const fm_config_t *c = fm_cfg();
    int64_t t0 = fm_time_unix_ms();
    char cutoff[32];
    bool global = c->execution_history_retention_days > 0;
    if (global)
        fm_time_rfc3339_at(t0 - (int64_t)c->execution_history_retention_days * 86400000LL, cutoff);
    cJSON *tenants = cJSON_CreateObject();
    bool more = false;
    int rc = FM_OK;
    for (int round = 0; round < EX_SWEEP_ROUNDS; round++) {
        int n = 0;
        rc = sweep_batch(db, c->execution_retention_batch, t0, global ? cutoff : NULL, tenants, &n);
        if (rc != FM_OK)
            break;
        more = n == c->execution_retention_batch;
        if (!more)
            break;
    }
    int msgs = 0;      /* all tenants': not shown */
    ex_msgbuf_sweep(db, EX_MSGBUF_BATCH, &msgs);
    if (rc != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "execution: retention sweep failed", "see the database error above");
    pthread_mutex_lock(&R.mu);
    fm_time_rfc3339_at(t0, R.last_at);
    R.last_ms = fm_time_unix_ms() - t0;
    R.last_more = more;
    if (!R.totals)
        R.totals = cJSON_CreateObject();
    const cJSON *t;
    cJSON_ArrayForEach(t, tenants)
    {
        cJSON *c2 = cJSON_GetObjectItemCaseSensitive(R.totals, t->string);
        if (c2)
            cJSON_SetNumberValue(c2, c2->valuedouble + t->valuedouble);
        else
            cJSON_AddNumberToObject(R.totals, t->string, t->valuedouble);
    }
    cJSON_Delete(R.last_tenants);
    R.last_tenants = tenants;
    pthread_mutex_unlock(&R.mu);
}

/* Loop thread: one sweep queued at a time (a slow one is not stacked up behind). */
static void tick(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    bool go = !R.queued && R.db;
    if (go)
        R.queued = true;
    pthread_mutex_unlock(&R.mu);
    if (go && ex_work_post(sweep, NULL) != FM_OK) {
        pthread_mutex_lock(&R.mu);
        R.queued = false;
        pthread_mutex_unlock(&R.mu);
    }
}

void ex_retention_start(fm_db_t *db)
{
    pthread_mutex_lock(&R.mu);
    R.db = db;
    R.queued = false;
    pthread_mutex_unlock(&R.mu);
    uint64_t every = (uint64_t)fm_cfg()->execution_retention_interval_ms;
    R.timer = fm_timer_start(every, every, tick, NULL);
}

void ex_retention_stop(void)
{
    if (R.timer)
        fm_timer_stop(R.timer);
    R.timer = NULL;
    pthread_mutex_lock(&R.mu);
    R.db = NULL;
    cJSON_Delete(R.last_tenants);
    cJSON_Delete(R.totals);
    R.last_tenants = R.totals = NULL;
    R.last_at[0] = 0;
    pthread_mutex_unlock(&R.mu);
}

/* ---- GET /executions/retention ---- */

int ex_retention_get(fm_req_t *r)
{
    const fm_config_t *c = fm_cfg();
    cJSON *o = cJSON_CreateObject();
    cJSON *p = cJSON_AddObjectToObject(o, "policy");
    cJSON_AddNumberToObject(p, "historyRetentionDays", c->execution_history_retention_days);
    cJSON_AddNumberToObject(p, "intervalMs", c->execution_retention_interval_ms);
    cJSON_AddNumberToObject(p, "batch", c->execution_retention_batch);
    cJSON_AddStringToObject(p, "processSetting", "historyTimeToLive");
    pthread_mutex_lock(&R.mu);
    if (R.last_at[0]) {
        cJSON *l = cJSON_AddObjectToObject(o, "lastRun");
        cJSON_AddStringToObject(l, "at", R.last_at);
        cJSON_AddNumberToObject(l, "durationMs", (double)R.last_ms);
        const cJSON *mine = cJSON_GetObjectItemCaseSensitive(R.last_tenants, fm_req_tenant(r));
        cJSON_AddNumberToObject(l, "removedInstances", mine ? mine->valuedouble : 0);   /* the caller's tenant */
        cJSON_AddBoolToObject(l, "backlog", R.last_more);
    } else
        cJSON_AddNullToObject(o, "lastRun");
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(R.totals, fm_req_tenant(r));
    cJSON_AddNumberToObject(o, "removedSinceStart", total ? total->valuedouble : 0);
    pthread_mutex_unlock(&R.mu);
    return fm_reply_json(r, 200, o);
}
