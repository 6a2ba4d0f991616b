/*
 * exec_work.c — what moves instances without a request: the engine's worker thread
 * (timers that fell due, answered user tasks, HTTP connector results, newly published
 * definitions), the one loop timer armed for the earliest due timer row, message
 * correlation, job completion and failure, and recovery at start (due timers fire,
 * user tasks answered while the engine was down are found, connector jobs re-run).
 *
 * The worker runs every transaction itself, so the loop thread only arms timers,
 * receives bus events and runs libcurl; fm_call (never allowed on the loop) happens
 * on the worker or on request threads.
 */
#include "exec_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_fetch.h"
#include "../../fm_json_check.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { Q_TIMERS, Q_TASK, Q_HTTP, Q_DEPLOY, Q_RECONCILE, Q_HTTP_RUN, Q_CANCEL, Q_SIGNAL, Q_FN };

typedef struct qitem {
    int kind;
    char *a, *b, *c, *d;    /* tenant, id, payload, one more (the connector's result variable) */
    long status;
    void (*fn)(void *);     /* Q_FN: ex_work_post */
    void *arg;
    struct qitem *next;
} qitem_t;

static struct {
    fm_db_t *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    qitem_t *head, *tail;
    bool stop, running;
    fm_timer_t *timer;          /* loop thread */
    int64_t armed_due;          /* loop thread */
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

fm_db_t *ex_db(void)
{
    return W.db;
}

static void enqueue4(int kind, const char *a, const char *b, const char *c, const char *d, long status)
{
    qitem_t *q = calloc(1, sizeof(*q));
    if (!q)
        return;
    q->kind = kind;
    q->a = a ? strdup(a) : NULL;
    q->b = b ? strdup(b) : NULL;
    q->c = c ? strdup(c) : NULL;
    q->d = d ? strdup(d) : NULL;
    q->status = status;
    pthread_mutex_lock(&W.mu);
    if (W.tail)
        W.tail->next = q;
    else
        W.head = q;
    W.tail = q;
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
}

static void enqueue(int kind, const char *a, const char *b, const char *c, long status)
{
    enqueue4(kind, a, b, c, NULL, status);
}

static void qfree(qitem_t *q)
{
    free(q->a);
    free(q->b);
    free(q->c);
    free(q->d);
    free(q);
}

int ex_work_post(void (*fn)(void *), void *arg)
{
    if (!W.running)
        return FM_EBUSY;
    qitem_t *q = calloc(1, sizeof(*q));
    if (!q)
        return FM_ENOMEM;
    q->kind = Q_FN;
    q->fn = fn;
    q->arg = arg;
    pthread_mutex_lock(&W.mu);
    if (W.tail)
        W.tail->next = q;
    else
        W.head = q;
    W.tail = q;
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
    return FM_OK;
}

/* ---- the loop timer ---- */

static void on_timer(void *arg)
{
    (void)arg;
    W.timer = NULL;
    W.armed_due = INT64_MAX;
    enqueue(Q_TIMERS, NULL, NULL, NULL, 0);
}

static void arm_on_loop(void *arg)
{
    int64_t due = *(int64_t *)arg;
    free(arg);
    if (!W.running || due >= W.armed_due)
        return;
    if (W.timer)
        fm_timer_stop(W.timer);
    int64_t now = fm_time_unix_ms();
    W.armed_due = due;
    W.timer = fm_timer_start((uint64_t)(due > now ? due - now : 0), 0, on_timer, NULL);
}

static void arm(int64_t due)
{
    if (!W.running || due == INT64_MAX)
        return;
    int64_t *p = malloc(sizeof(*p));
    if (!p)
        return;
    *p = due;
    if (fm_loop_post(arm_on_loop, p) != 0)
        free(p);
}

/* ---- after a commit ---- */

static void cancel_task(const char *spec)
{
    char tenant[80], path[200];
    const char *tab = strchr(spec, '\t');
    if (!tab)
        return;
    snprintf(tenant, sizeof(tenant), "%.*s", (int)(tab - spec), spec);
    snprintf(path, sizeof(path), "/tasks/%s/cancel", tab + 1);
    int status;
    char *out = NULL;
    fm_call_system(tenant, FM_PUT, path, NULL, &status, &out);
    free(out);
}

void ex_work_after(ex_after_t *a)
{
    if (!W.running)
        return;
    arm(a->min_due);
    if (a->signals)
        enqueue(Q_SIGNAL, NULL, NULL, NULL, 0);
    for (int i = 0; i < a->nhttp; i++)
        enqueue(Q_HTTP_RUN, NULL, a->http_jobs[i], NULL, 0);
    if (a->ncancel) {
        if (fm_on_loop_thread()) {     /* fm_call is not allowed here: the worker does it */
            for (int i = 0; i < a->ncancel; i++)
                enqueue(Q_CANCEL, NULL, a->cancel_tasks[i], NULL, 0);
        } else
            for (int i = 0; i < a->ncancel; i++)
                cancel_task(a->cancel_tasks[i]);
    }
}

/* ---- messages ---- */

static const char SQL_SUBS[] =
    "SELECT id, instance_id, token_id, scope_id, element, kind, process_id, version FROM msg_subs "
    "WHERE tenant_id = ? AND name = ? AND corr_key = ? AND kind != 'start' ORDER BY id LIMIT 50";
static const char SQL_STARTS[] =
    "SELECT id, instance_id, token_id, scope_id, element, kind, process_id, version FROM msg_subs "
    "WHERE tenant_id = ? AND name = ? AND kind = 'start' ORDER BY id LIMIT 50";
static const char SQL_SUB_DEL[] = "DELETE FROM msg_subs WHERE id = ?";

typedef ex_subrow_t subrow_t;

int ex_subrow_add(const fm_dbrow_t *st, void *arg)
{
    ex_subrows_t *x = arg;
    if (x->n >= x->max)
        return FM_OK;
    ex_subrow_t *r = &x->rows[x->n++];
    r->id = fm_dbrow_int(st, 0);
    fm_dbrow_copy(st, 1, r->inst, sizeof(r->inst));
    r->token = (int)fm_dbrow_int(st, 2);
    r->scope = (int)fm_dbrow_int(st, 3);
    fm_dbrow_copy(st, 4, r->el, sizeof(r->el));
    fm_dbrow_copy(st, 5, r->kind, sizeof(r->kind));
    fm_dbrow_copy(st, 6, r->pid, sizeof(r->pid));
    r->version = (int)fm_dbrow_int(st, 7);
    return FM_OK;
}

/* The rows of SQL_SUBS (key set) or SQL_STARTS (key NULL); -1 on a database error. */
static int sub_rows(ex_tx_t *tx, const char *sql, const char *tenant, const char *name, const char *key,
                    subrow_t *rows, int max)
{
    ex_subrows_t x = { rows, 0, max };
    int rc = key ? fm_dbq_weach(tx->w, sql, ex_subrow_add, &x, "sss", tenant, name, key)
                 : fm_dbq_weach(tx->w, sql, ex_subrow_add, &x, "ss", tenant, name);
    return rc == FM_OK ? x.n : -1;
}

static void delivered(cJSON *list, const char *inst, const char *el, bool started, char *inst_out, size_t inst_len,
                      char *el_out, size_t el_len, bool *first_started)
{
    if (!inst_out[0]) {
        snprintf(inst_out, inst_len, "%s", inst);
        snprintf(el_out, el_len, "%s", el);
        *first_started = started;
    }
    if (!list)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "executionId", inst);
    cJSON_AddStringToObject(o, "elementId", el);
    cJSON_AddBoolToObject(o, "started", started);
    cJSON_AddItemToArray(list, o);
}

/* A message for a wait of a paused instance is kept in its document (in->held) and
 * delivered when it is resumed. One per wait (a second one goes to the next waiting
 * instance, or is not correlated), at most EX_MAX_HELD per instance. */
#define EX_MAX_HELD 64

static bool hold(ex_inst_t *in, const subrow_t *r, const cJSON *vars)
{
    if (!in->held)
        in->held = cJSON_CreateArray();
    if (cJSON_GetArraySize(in->held) >= EX_MAX_HELD)
        return false;
    const cJSON *h;
    cJSON_ArrayForEach(h, in->held)
    if ((int)cJSON_GetNumberValue(cJSON_GetArrayItem(h, 1)) == r->token &&
        !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(h, 3)), r->el))
        return false;
    cJSON *m = cJSON_CreateArray();
    cJSON_AddItemToArray(m, cJSON_CreateString(r->kind));
    cJSON_AddItemToArray(m, cJSON_CreateNumber(r->token));
    cJSON_AddItemToArray(m, cJSON_CreateNumber(r->scope));
    cJSON_AddItemToArray(m, cJSON_CreateString(r->el));
    cJSON_AddItemToArray(m, vars ? cJSON_Duplicate(vars, true) : cJSON_CreateNull());
    cJSON_AddItemToArray(in->held, m);
    in->dirty = true;
    return true;
}

int ex_correlate(ex_tx_t *tx, const char *tenant, const char *name, const char *key, const cJSON *vars,
                 char *inst_out, size_t inst_len, char *el_out, size_t el_len, bool *started,
                 const char *skip_instance, cJSON *list)
{
    subrow_t rows[50];
    char got_pid[80] = "";      /* the process whose waiting instance got it: not started again */
    inst_out[0] = el_out[0] = 0;
    *started = false;
    int n = sub_rows(tx, SQL_SUBS, tenant, name, key ? key : "", rows, 50);
    if (n < 0)
        return FM_EDB;
    for (int i = 0; i < n; i++) {
        subrow_t *r = &rows[i];
        if (skip_instance && !strcmp(r->inst, skip_instance))
            continue;
        ex_inst_t *in;
        if (ex_load(tx, tenant, r->inst, &in) != FM_OK)
            continue;
        if (in->state == I_PAUSED) {    /* kept for the resume (ex_set_state), one per wait */
            if (!hold(in, r, vars))
                continue;
            delivered(list, r->inst, r->el, false, inst_out, inst_len, el_out, el_len, started);
            if (list)
                cJSON_AddTrueToObject(cJSON_GetArrayItem(list, cJSON_GetArraySize(list) - 1), "held");
            break;
        }
        if (in->state != I_ACTIVE)
            continue;
        int rc = ex_trigger(tx, in, r->kind, r->token, r->scope, r->el, vars);
        if (rc == FM_ENOTFOUND) {       /* a stale row: drop it */
            fm_dbq_wrun(tx->w, SQL_SUB_DEL, "I", r->id);
            continue;
        }
        if (rc != FM_OK)
            continue;
        snprintf(got_pid, sizeof(got_pid), "%s", in->process_id);
        delivered(list, r->inst, r->el, false, inst_out, inst_len, el_out, el_len, started);
        break;
    }
    /* message starts: one instance of each process (once per process, as Camunda 8) */
    n = sub_rows(tx, SQL_STARTS, tenant, name, NULL, rows, 50);
    for (int i = 0; i < n; i++) {
        subrow_t *r = &rows[i];
        bool seen = !strcmp(r->pid, got_pid);
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(rows[j].pid, r->pid);
        if (seen)
            continue;
        ex_def_t *d;
        const char *field;
        char why[300];
        if (ex_def_get(tenant, r->pid, r->version, &d, &field, why, sizeof(why)) != FM_OK)
            continue;
        ex_inst_t *in;
        int node = ex_node_find(d, r->el);
        if (node < 0 || ex_start(tx, d, NULL, vars, NULL, NULL, 0, node, &in) != FM_OK)
            continue;
        delivered(list, in->id, r->el, true, inst_out, inst_len, el_out, el_len, started);
    }
    return inst_out[0] ? FM_OK : FM_ENOTFOUND;
}

/* ---- jobs ---- */

static const char SQL_JOB_GET[] =
    "SELECT instance_id, token_id, state, retries, attempts, type FROM jobs WHERE id = ? AND tenant_id = ?";
static const char SQL_JOB_SET[] =
    "UPDATE jobs SET state = ?, retries = ?, attempts = ?, due_ms = ?, error = ?, updated_at = ? WHERE id = ?";

typedef struct jobrow { char inst[48], state[16], type[128]; int token, retries, attempts; } jobrow_t;

static int job_row(const fm_dbrow_t *st, void *arg)
{
    jobrow_t *j = arg;
    fm_dbrow_copy(st, 0, j->inst, sizeof(j->inst));
    j->token = (int)fm_dbrow_int(st, 1);
    fm_dbrow_copy(st, 2, j->state, sizeof(j->state));
    j->retries = (int)fm_dbrow_int(st, 3);
    j->attempts = (int)fm_dbrow_int(st, 4);
    fm_dbrow_copy(st, 5, j->type, sizeof(j->type));
    return FM_OK;
}

static int job_read(ex_tx_t *tx, const char *tenant, const char *id, jobrow_t *j)
{
    return fm_dbq_wone(tx->w, SQL_JOB_GET, job_row, j, "ss", id, tenant);
}

static int job_set(ex_tx_t *tx, const char *id, const char *state, int retries, int attempts, int64_t due,
                   const char *error)
{
    return fm_dbq_wrun(tx->w, SQL_JOB_SET, "siiIsss", state, retries, attempts, due, error, tx->now, id);
}

/* Begins the transaction of a job outcome: the job must be activatable and its
 * instance active (FM_ECONFLICT with why otherwise). tx->w is NULL when nothing began. */
static int job_open(ex_tx_t *tx, fm_db_t *db, const char *tenant, const char *id, jobrow_t *j, ex_inst_t **in,
                    char *why, size_t wl)
{
    int rc = ex_tx_begin(tx, db);
    if (rc != FM_OK)
        return rc;
    rc = job_read(tx, tenant, id, j);
    if (rc == FM_OK && strcmp(j->state, "activatable")) {
        snprintf(why, wl, "job '%s' is %s", id, j->state);
        rc = FM_ECONFLICT;
    }
    if (rc == FM_OK && (rc = ex_load(tx, tenant, j->inst, in)) == FM_OK && (*in)->state != I_ACTIVE) {
        snprintf(why, wl, "instance '%s' is %s", (*in)->id, ex_state_name((*in)->state));
        rc = FM_ECONFLICT;
    }
    return rc;
}

int ex_job_complete(fm_db_t *db, const char *tenant, const char *id, const cJSON *vars, char *why, size_t wl)
{
    ex_tx_t tx;
    jobrow_t j;
    ex_inst_t *in = NULL;
    int rc = job_open(&tx, db, tenant, id, &j, &in, why, wl);
    if (rc == FM_EDB && !tx.w)
        return rc;
    if (rc == FM_OK)
        rc = job_set(&tx, id, "completed", j.retries, j.attempts, 0, NULL);
    if (rc == FM_OK && (rc = ex_job_done(&tx, in, j.token, id, vars)) == FM_ENOTFOUND) {
        snprintf(why, wl, "job '%s' is no longer awaited", id);
        rc = FM_ECONFLICT;
    }
    return ex_tx_end(&tx, rc);
}

int ex_job_fail(fm_db_t *db, const char *tenant, const char *id, const char *msg, int retries,
                int64_t backoff, const char *code, char *why, size_t wl)
{
    return ex_job_fail_vars(db, tenant, id, msg, retries, backoff, code, NULL, why, wl);
}

int ex_job_fail_vars(fm_db_t *db, const char *tenant, const char *id, const char *msg, int retries,
                     int64_t backoff, const char *code, const cJSON *vars, char *why, size_t wl)
{
    ex_tx_t tx;
    jobrow_t j;
    ex_inst_t *in = NULL;
    int rc = job_open(&tx, db, tenant, id, &j, &in, why, wl);
    if (rc == FM_EDB && !tx.w)
        return rc;
    if (rc == FM_OK && code) {
        rc = job_set(&tx, id, "completed", j.retries, j.attempts + 1, 0, msg);
        if (rc == FM_OK)
            rc = ex_job_error(&tx, in, j.token, code, msg ? msg : code, vars);
    } else if (rc == FM_OK) {
        ex_tok_t *t = ex_tok(in, j.token);
        if (t && cJSON_IsObject(vars) && vars->child) {   /* kept for the next attempt */
            ex_vars_merge(&tx, in, t->scope, vars, t->node, t->id);
            in->dirty = true;
        }
        int left = retries >= 0 ? retries : j.retries - 1;
        int attempts = j.attempts + 1;
        if (backoff < 0) {
            backoff = 1000;
            for (int i = 1; i < attempts && backoff < 300000; i++)
                backoff *= 2;
            if (backoff > 300000)
                backoff = 300000;
        }
        if (left > 0) {
            rc = job_set(&tx, id, "activatable", left, attempts, tx.now_ms + backoff, msg);
        } else {
            left = 0;
            rc = job_set(&tx, id, "failed", 0, attempts, 0, msg);
            char m[400];
            snprintf(m, sizeof(m), "job '%s' failed and has no retries left: %s", id, msg ? msg : "no message");
            if (rc == FM_OK)
                rc = ex_job_incident(&tx, in, j.token, id, m);
        }
    }
    if (rc == FM_ENOTFOUND && in) {
        snprintf(why, wl, "job '%s' is no longer awaited", id);
        rc = FM_ECONFLICT;
    }
    bool again = rc == FM_OK && !code && ex_job_runs_here(j.type) && (retries >= 0 ? retries : j.retries - 1) > 0;
    rc = ex_tx_end(&tx, rc);
    if (rc == FM_OK && again && W.running)
        enqueue(Q_HTTP_RUN, NULL, id, NULL, backoff);   /* run again after the back-off */
    return rc;
}

/* ---- the HTTP connector ---- */

typedef struct httpctx { char *tenant, *job, *result_var; } httpctx_t;

static void http_done(const fm_fetch_result_t *res, void *arg)
{
    httpctx_t *h = arg;
    char *body = NULL;
    if (res->body && res->len) {
        body = malloc(res->len + 1);
        if (body) {
            memcpy(body, res->body, res->len);
            body[res->len] = 0;
        }
    }
    enqueue4(Q_HTTP, h->tenant, h->job, res->error ? res->error : body, h->result_var,
             res->error ? -1 : res->status);
    free(body);
    free(h->tenant);
    free(h->job);
    free(h->result_var);
    free(h);
}

typedef struct { char tenant[80], inst[48]; cJSON *headers; } httpjob_t;

static int httpjob_row(const fm_dbrow_t *st, void *arg)
{
    httpjob_t *h = arg;
    fm_dbrow_copy(st, 0, h->tenant, sizeof(h->tenant));
    fm_dbrow_copy(st, 1, h->inst, sizeof(h->inst));
    h->headers = fm_dbrow_json(st, 2);
    return FM_OK;
}

static void http_run(const char *job)
{
    if (ex_conn_run(W.db, job))     /* io.camunda:http-json:1, integration (exec_connector.c) */
        return;
    if (ex_notify_run(W.db, job))   /* notification (exec_notify.c) */
        return;
    if (ex_agent_run(W.db, job))    /* ai-agent (exec_agent.c) */
        return;
    httpjob_t hj = { "", "", NULL };
    fm_dbq_read_one(W.db, "SELECT tenant_id, instance_id, headers FROM jobs WHERE id = ? AND state = 'activatable'",
                    httpjob_row, &hj, "s", job);
    cJSON *headers = hj.headers;
    const char *tenant = hj.tenant, *inst = hj.inst;
    if (!headers)
        return;
    cJSON *inst_json = NULL;
    char *body = NULL;
    if (ex_store_get_json(W.db, tenant, inst, &inst_json) == FM_OK)
        body = cJSON_PrintUnformatted(cJSON_GetObjectItem(inst_json, "variables"));
    cJSON_Delete(inst_json);
    const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(headers, "url"));
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItem(headers, "method"));
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(headers, "resultVariable"));
    httpctx_t *h = calloc(1, sizeof(*h));
    if (h && url) {
        h->tenant = strdup(tenant);
        h->job = strdup(job);
        h->result_var = strdup(rv && *rv ? rv : "response");
        bool get = !method || !strcasecmp(method, "GET");
        fm_fetch_req_t req = { .method = method ? method : "GET", .url = url,
                               .body = get ? NULL : body, .content_type = "application/json",
                               .timeout_ms = 30000 };
        if (fm_fetch(&req, http_done, h) != 0) {
            fm_fetch_result_t r = { .status = 0, .error = "the request could not be started" };
            http_done(&r, h);
        }
        h = NULL;
    } else if (h && !url) {
        char why[200];
        ex_job_fail(W.db, tenant, job, "http connector: no url header", 0, 0, NULL, why, sizeof(why));
    }
    free(h);
    free(body);
    cJSON_Delete(headers);
}

static void http_result(const char *tenant, const char *job, const char *rv, long status, const char *body)
{
    char why[300];
    if (status < 200 || status >= 400) {
        char msg[400];
        if (status < 0)
            snprintf(msg, sizeof(msg), "http connector: %s", body ? body : "transfer failed");
        else
            snprintf(msg, sizeof(msg), "http connector: status %ld", status);
        ex_job_fail(W.db, tenant, job, msg, -1, -1, NULL, why, sizeof(why));
        return;
    }
    /* A JSON answer becomes a variable only within the limits of a request body
     * (fm_json_check.h); parsing it here is safe, this thread has a full-size stack. */
    fm_json_err_t je;
    cJSON *parsed = body ? cJSON_Parse(body) : NULL;
    if (parsed && fm_json_check(body, strlen(body), FM_JSON_MAX_DEPTH, &je) != FM_JSON_OK) {
        char msg[400], what[64];
        snprintf(what, sizeof(what), je.fault == FM_JSON_TOO_DEEP ? "nests deeper than %d levels"
                                     : je.fault == FM_JSON_NUL    ? "holds NUL in a string"
                                                                  : "holds bytes that are not UTF-8",
                 FM_JSON_MAX_DEPTH);
        snprintf(msg, sizeof(msg), "http connector: the JSON response %s at '%.200s' (byte %zu)", what,
                 je.pointer, je.offset);
        cJSON_Delete(parsed);
        ex_job_fail(W.db, tenant, job, msg, -1, -1, NULL, why, sizeof(why));
        return;
    }
    cJSON *vars = cJSON_CreateObject();
    cJSON *res = cJSON_AddObjectToObject(vars, rv ? rv : "response");
    cJSON_AddNumberToObject(res, "status", (double)status);
    cJSON_AddItemToObject(res, "body", parsed ? parsed : body ? cJSON_CreateString(body) : cJSON_CreateNull());
    ex_job_complete(W.db, tenant, job, vars, why, sizeof(why));
    cJSON_Delete(vars);
}

/* ---- timers ---- */

static const char SQL_DUE[] =
    "SELECT id FROM timers WHERE due_ms <= ? AND (instance_id IS NULL OR instance_id NOT IN "
    "(SELECT id FROM instances WHERE state = 'paused')) ORDER BY due_ms LIMIT 200";
static const char SQL_TIMER_ROW[] =
    "SELECT tenant_id, instance_id, token_id, scope_id, element, kind, repeat, every_ms, due_ms, process_id, "
    "version FROM timers WHERE id = ?";
static const char SQL_TIMER_DEL[] = "DELETE FROM timers WHERE id = ?";
/* ?2: execution.timer_min_cycle_ms, also for rows stored before it was enforced */
static const char SQL_TIMER_NEXT[] =
    "UPDATE timers SET due_ms = due_ms + MAX(every_ms, ?2), "
    "repeat = CASE WHEN repeat > 0 THEN repeat - 1 ELSE repeat END WHERE id = ?1";
static const char SQL_MIN_DUE[] =
    "SELECT MIN(due_ms) FROM timers WHERE instance_id IS NULL OR instance_id NOT IN "
    "(SELECT id FROM instances WHERE state = 'paused')";

typedef struct { char tenant[80], inst[48], el[200], kind[16], pid[80]; int token, scope, repeat, version;
                 int64_t every; } timerrow_t;

static int timer_row(const fm_dbrow_t *st, void *arg)
{
    timerrow_t *t = arg;
    fm_dbrow_copy(st, 0, t->tenant, sizeof(t->tenant));
    fm_dbrow_copy(st, 1, t->inst, sizeof(t->inst));
    t->token = (int)fm_dbrow_int(st, 2);
    t->scope = (int)fm_dbrow_int(st, 3);
    fm_dbrow_copy(st, 4, t->el, sizeof(t->el));
    fm_dbrow_copy(st, 5, t->kind, sizeof(t->kind));
    t->repeat = (int)fm_dbrow_int(st, 6);
    t->every = fm_dbrow_int(st, 7);
    fm_dbrow_copy(st, 9, t->pid, sizeof(t->pid));
    t->version = (int)fm_dbrow_int(st, 10);
    return FM_OK;
}

typedef struct { int64_t *ids; int n, max; } idlist_t;

static int id_row(const fm_dbrow_t *st, void *arg)
{
    idlist_t *l = arg;
    if (l->n < l->max)
        l->ids[l->n++] = fm_dbrow_int(st, 0);
    return FM_OK;
}

static void fire_one(int64_t id)
{
    ex_tx_t tx;
    if (ex_tx_begin(&tx, W.db) != FM_OK)
        return;
    timerrow_t t = { "", "", "", "", "", 0, 0, 0, 0, 0 };
    int rc = fm_dbq_wone(tx.w, SQL_TIMER_ROW, timer_row, &t, "I", id);
    if (rc != FM_OK) {
        ex_tx_end(&tx, rc == FM_ENOTFOUND ? FM_OK : rc);
        return;
    }
    const char *tenant = t.tenant, *inst = t.inst, *el = t.el, *kind = t.kind, *pid = t.pid;
    int token = t.token, scope = t.scope, repeat = t.repeat, version = t.version;
    int64_t every = t.every;
    bool next = repeat != 0 && every > 0;
    if (next && every < fm_cfg()->execution_timer_min_cycle_ms)
        every = fm_cfg()->execution_timer_min_cycle_ms;
    /* as before this used the helper, a failed reschedule does not stop the firing */
    if (next)
        fm_dbq_wrun(tx.w, SQL_TIMER_NEXT, "II", id, every);
    else
        fm_dbq_wrun(tx.w, SQL_TIMER_DEL, "I", id);
    if (repeat != 0 && every > 0)
        tx.after.min_due = tx.now_ms + every;
    if (!strcmp(kind, "start")) {
        ex_def_t *d;
        const char *field;
        char why[300];
        ex_inst_t *in;
        if (ex_def_get(tenant, pid, version, &d, &field, why, sizeof(why)) == FM_OK) {
            int node = ex_node_find(d, el);
            if (node >= 0)
                rc = ex_start(&tx, d, NULL, NULL, NULL, NULL, 0, node, &in);
        }
    } else {
        ex_inst_t *in;
        if (ex_load(&tx, tenant, inst, &in) == FM_OK && in->state == I_ACTIVE) {
            int r = ex_trigger(&tx, in, kind, token, scope, el, NULL);
            if (r != FM_OK && r != FM_ENOTFOUND)
                rc = r;
        }
    }
    ex_tx_end(&tx, rc);
}

static int min_due_row(const fm_dbrow_t *st, void *arg)
{
    if (!fm_dbrow_null(st, 0))
        *(int64_t *)arg = fm_dbrow_int(st, 0);
    return FM_OK;
}

static void fire_due(void)
{
    for (int round = 0; round < 1000; round++) {
        int64_t ids[200];
        idlist_t l = { ids, 0, 200 };
        if (fm_dbq_read_each(W.db, SQL_DUE, id_row, &l, "I", fm_time_unix_ms()) != FM_OK)
            return;
        int n = l.n;
        for (int i = 0; i < n && !W.stop; i++)
            fire_one(ids[i]);
        if (n < 200 || W.stop)
            break;
    }
    int64_t next = INT64_MAX;
    if (fm_dbq_read_one(W.db, SQL_MIN_DUE, min_due_row, &next, "") != FM_OK)
        return;
    arm(next);
}

/* ---- user tasks ---- */

static const char SQL_TASK_LINK_GET[] = "SELECT instance_id, token_id FROM task_links WHERE task_id = ? AND tenant_id = ?";

typedef struct { char inst[48]; int token; } tasklink_t;

static int tasklink_row(const fm_dbrow_t *st, void *arg)
{
    tasklink_t *t = arg;
    fm_dbrow_copy(st, 0, t->inst, sizeof(t->inst));
    t->token = (int)fm_dbrow_int(st, 1);
    return FM_OK;
}

static void task_done(const char *tenant, const char *task_id, const char *response)
{
    ex_tx_t tx;
    if (ex_tx_begin(&tx, W.db) != FM_OK)
        return;
    tasklink_t tl = { "", 0 };
    int rc = fm_dbq_wone(tx.w, SQL_TASK_LINK_GET, tasklink_row, &tl, "ss", task_id, tenant);
    const char *inst = tl.inst;
    int token = tl.token;
    ex_inst_t *in;
    cJSON *resp = response ? cJSON_Parse(response) : NULL;
    if (rc == FM_OK && (rc = ex_load(&tx, tenant, inst, &in)) == FM_OK)
        rc = ex_task_done(&tx, in, token, task_id, resp);
    cJSON_Delete(resp);
    ex_tx_end(&tx, rc);
}

typedef struct { char tenant[80], task[64]; } link_t;
typedef struct { link_t *links; int n, cap; } links_t;

static int link_row(const fm_dbrow_t *st, void *arg)
{
    links_t *x = arg;
    if (x->n == x->cap) {
        int cap = x->cap ? x->cap * 2 : 64;
        link_t *l = realloc(x->links, sizeof(link_t) * (size_t)cap);
        if (!l)
            return FM_ENOMEM;   /* the links read so far are still asked about */
        x->links = l;
        x->cap = cap;
    }
    fm_dbrow_copy(st, 0, x->links[x->n].tenant, sizeof(x->links[x->n].tenant));
    fm_dbrow_copy(st, 1, x->links[x->n].task, sizeof(x->links[x->n].task));
    x->n++;
    return FM_OK;
}

/* Asks 9006 about every task an instance (or every instance: NULL) waits for and
 * moves on those answered meanwhile. */
static void reconcile(const char *only_instance)
{
    links_t x = { NULL, 0, 0 };
    if (only_instance)
        fm_dbq_read_each(W.db, "SELECT tenant_id, task_id FROM task_links WHERE instance_id = ?", link_row, &x, "s",
                         only_instance);
    else
        fm_dbq_read_each(W.db, "SELECT tenant_id, task_id FROM task_links", link_row, &x, "");
    link_t *links = x.links;
    int n = x.n;
    for (int i = 0; i < n && !W.stop; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/tasks/%s", links[i].task);
        int status;
        char *out = NULL;
        if (fm_call_system(links[i].tenant, FM_GET, path, NULL, &status, &out) == FM_OK && status == 200) {
            cJSON *t = cJSON_Parse(out);
            const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(t, "status"));
            if (s && !strcmp(s, "completed")) {
                char *resp = cJSON_PrintUnformatted(cJSON_GetObjectItem(t, "response"));
                task_done(links[i].tenant, links[i].task, resp);
                free(resp);
            }
            cJSON_Delete(t);
        }
        free(out);
    }
    free(links);
}

/* ---- deployments: message, timer and signal start events of published versions ---- */

typedef struct { char tenant[80], pid[80]; int version; } dep_t;
typedef struct { dep_t *deps; int n; } deps_t;

static int dep_row(const fm_dbrow_t *st, void *arg)
{
    deps_t *x = arg;
    if (x->n >= 64)
        return FM_OK;
    dep_t *d = &x->deps[x->n++];
    fm_dbrow_copy(st, 0, d->tenant, sizeof(d->tenant));
    fm_dbrow_copy(st, 1, d->pid, sizeof(d->pid));
    d->version = (int)fm_dbrow_int(st, 2);
    return FM_OK;
}

/* Start events of a published version; a failed statement does not stop the others
 * (the deployment is marked done either way, as before the helper). */
static const char SQL_DEP_DONE[] =
    "UPDATE deployments SET done = 1, bpmn_id = ? WHERE tenant_id = ? AND process_id = ? AND version = ?";
static const char SQL_DEP_DROP_MSG[] = "DELETE FROM msg_subs WHERE kind = 'start' AND tenant_id = ? AND process_id = ?";
static const char SQL_DEP_DROP_TIMER[] = "DELETE FROM timers WHERE kind = 'start' AND tenant_id = ? AND process_id = ?";
static const char SQL_DEP_DROP_SIG[] =
    "DELETE FROM signal_subs WHERE kind = 'start' AND tenant_id = ? AND process_id = ?";
static const char SQL_DEP_MSG[] =
    "INSERT INTO msg_subs(tenant_id, name, corr_key, element, kind, process_id, version) "
    "VALUES (?, ?, '', ?, 'start', ?, ?)";
static const char SQL_DEP_SIG[] =
    "INSERT INTO signal_subs(tenant_id, name, element, kind, process_id, version) VALUES (?, ?, ?, 'start', ?, ?)";
static const char SQL_DEP_TIMER[] =
    "INSERT INTO timers(tenant_id, element, kind, due_ms, repeat, every_ms, process_id, version) "
    "VALUES (?, ?, 'start', ?, ?, ?, ?, ?)";

static void deploy_pending(void)
{
    dep_t deps[64];
    deps_t x = { deps, 0 };
    if (fm_dbq_read_each(W.db, "SELECT tenant_id, process_id, version FROM deployments WHERE done = 0 LIMIT 64",
                         dep_row, &x, "") != FM_OK)
        return;
    int n = x.n;
    for (int i = 0; i < n; i++) {
        ex_def_t *d = NULL;
        const char *field;
        char why[400];
        int got = ex_def_get(deps[i].tenant, deps[i].pid, deps[i].version, &d, &field, why, sizeof(why));
        if (got != FM_OK && got != FM_EINVAL && got != FM_ENOTFOUND)
            continue;       /* Process Design could not be read now: the next deploy() retries */
        ex_tx_t tx;
        if (ex_tx_begin(&tx, W.db) != FM_OK)
            return;
        int rc = FM_OK;
        fm_dbq_wrun(tx.w, SQL_DEP_DONE, "sssi", d ? d->bpmn_id : "", deps[i].tenant, deps[i].pid, deps[i].version);
        if (got == FM_OK) {
            /* a newer version replaces the start events of older ones */
            const char *drops[3] = { SQL_DEP_DROP_MSG, SQL_DEP_DROP_TIMER, SQL_DEP_DROP_SIG };
            for (int k = 0; k < 3; k++)
                fm_dbq_wrun(tx.w, drops[k], "ss", deps[i].tenant, deps[i].pid);
            for (int k = 0; k < d->nstarts; k++) {
                const ex_node_t *s = &d->nodes[d->starts[k]];
                if (s->ev == E_MESSAGE) {
                    fm_dbq_wrun(tx.w, SQL_DEP_MSG, "ssssi", deps[i].tenant, s->msg_name, s->id, deps[i].pid,
                                deps[i].version);
                } else if (s->ev == E_SIGNAL && s->signal.text) {
                    fm_dbq_wrun(tx.w, SQL_DEP_SIG, "ssssi", deps[i].tenant, s->signal.text, s->id, deps[i].pid,
                                deps[i].version);
                } else if (s->ev == E_TIMER) {
                    int64_t due, every;
                    int repeat;
                    if (!ex_timer_due_static(&tx, s, &due, &repeat, &every, why, sizeof(why)))
                        continue;
                    if (fm_dbq_wrun(tx.w, SQL_DEP_TIMER, "ssIiIsi", deps[i].tenant, s->id, due, repeat, every,
                                    deps[i].pid, deps[i].version) == FM_OK && due < tx.after.min_due)
                        tx.after.min_due = due;
                }
            }
        }
        ex_tx_end(&tx, rc);
    }
}

static pthread_mutex_t deploy_mu = PTHREAD_MUTEX_INITIALIZER;

/* Registers the start events of versions recorded but not yet registered; one caller
 * at a time (the worker, or a request in ex_sync_publications). */
static void deploy(void)
{
    pthread_mutex_lock(&deploy_mu);
    deploy_pending();
    pthread_mutex_unlock(&deploy_mu);
}

typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    atomic_int refs;        /* the waiter and the loop callback: the last one frees */
} sync_wait_t;

static void sync_release(sync_wait_t *s)
{
    if (atomic_fetch_sub(&s->refs, 1) == 1) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
    }
}

/* Loop thread: delivers the outbox rows committed so far (Process Design's
 * process.definition.published among them: ex_on_published records them). */
static void sync_on_loop(void *arg)
{
    sync_wait_t *s = arg;
    bus_deliver_now();
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    sync_release(s);
}

/* Request thread. A publish has committed its outbox row (and marked the outbox) before
 * it answered; one delivery round on the loop, posted now, runs ex_on_published for it,
 * and deploy() then registers its start events here, before the message or signal is
 * delivered — so publish-then-message does not depend on timing. Bounded: 5 s at most
 * for the loop (it only waits when the process is stopping). */
void ex_sync_publications(void)
{
    if (!W.running || fm_on_loop_thread())
        return;
    sync_wait_t *s = calloc(1, sizeof(*s));
    if (!s)
        return;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    atomic_init(&s->refs, 2);
    if (fm_loop_post(sync_on_loop, s) != 0) {
        atomic_store(&s->refs, 1);
        sync_release(s);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&s->mu);
    while (!s->done && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {
    }
    bool done = s->done;
    pthread_mutex_unlock(&s->mu);
    sync_release(s);
    if (done)
        deploy();
}

/* Loop thread: a version was published. Recorded at once (durably) so that a crash
 * before the worker looks at it loses nothing. */
void ex_on_published(const bus_event_t *ev, void *arg)
{
    (void)arg;
    cJSON *d = cJSON_Parse(ev->data);
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItem(d, "processId"));
    int version = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "version"));
    if (pid && version > 0 && W.db) {
        ex_def_latest_set(ev->tenant, pid, version);
        fm_dbc_t *w = fm_dbq_write_begin(W.db);
        if (w) {
            static const char sql[] = "INSERT OR IGNORE INTO deployments(tenant_id, process_id, bpmn_id, version) "
                                      "VALUES (?, ?, '', ?)";
            fm_dbq_write_end(w, fm_dbq_wrun(w, sql, "ssi", ev->tenant, pid, version));
        }
        enqueue(Q_DEPLOY, NULL, NULL, NULL, 0);
    }
    cJSON_Delete(d);
}

/* Loop thread: a process was archived (DELETE /processes/{id}) in Process Design. Its
 * timer and message start events are withdrawn at once, in one transaction, and its
 * pending deployments marked done so that they do not come back; instances already
 * running go on. */
void ex_on_archived(const bus_event_t *ev, void *arg)
{
    (void)arg;
    cJSON *d = cJSON_Parse(ev->data);
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItem(d, "processId"));
    if (pid && W.db) {
        fm_dbc_t *w = fm_dbq_write_begin(W.db);
        int rc = FM_EDB;
        if (w) {
            static const char *const sql[] = {
                "DELETE FROM timers WHERE kind = 'start' AND tenant_id = ?1 AND process_id = ?2",
                "DELETE FROM msg_subs WHERE kind = 'start' AND tenant_id = ?1 AND process_id = ?2",
                "UPDATE deployments SET done = 1 WHERE tenant_id = ?1 AND process_id = ?2",
            };
            rc = FM_OK;
            for (int i = 0; i < 3 && rc == FM_OK; i++)
                rc = fm_dbq_wrun(w, sql[i], "ss", ev->tenant, pid);
            rc = fm_dbq_write_end(w, rc);
        }
        fm_log_t l;
        fm_log_begin(&l, rc == FM_OK ? FM_LOG_INFO : FM_LOG_ERROR,
                     rc == FM_OK ? "execution: archived process, start events withdrawn"
                                 : "execution: archived process, start events could not be withdrawn");
        fm_log_str(&l, "process", pid);
        fm_log_end(&l);
    }
    cJSON_Delete(d);
}

/* Loop thread: a task was answered in 9006. */
void ex_on_task_completed(const bus_event_t *ev, void *arg)
{
    (void)arg;
    cJSON *d = cJSON_Parse(ev->data);
    const char *pi = cJSON_GetStringValue(cJSON_GetObjectItem(d, "processInstanceId"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(d, "id"));
    if (pi && id) {
        char *resp = cJSON_PrintUnformatted(cJSON_GetObjectItem(d, "response"));
        enqueue(Q_TASK, ev->tenant, id, resp, 0);
        free(resp);
    }
    cJSON_Delete(d);
}

void ex_work_resumed(const char *instance_id)
{
    if (!W.running)
        return;
    enqueue(Q_RECONCILE, NULL, instance_id, NULL, 0);
    enqueue(Q_TIMERS, NULL, NULL, NULL, 0);
}

/* ---- the worker ---- */

static void delayed_http(void *arg)
{
    char *job = arg;
    enqueue(Q_HTTP_RUN, NULL, job, NULL, 0);
    free(job);
}

static void delay_on_loop(void *arg)
{
    qitem_t *q = arg;
    fm_timer_start((uint64_t)q->status, 0, delayed_http, q->b);
    q->b = NULL;
    qfree(q);
}

static int http_job_row(const fm_dbrow_t *st, void *arg)
{
    (void)arg;
    enqueue(Q_HTTP_RUN, NULL, fm_dbrow_str(st, 0), NULL, 0);
    return FM_OK;
}

static void *worker(void *arg)
{
    (void)arg;
    while (!fm_serving() && !W.stop)
        usleep(10000);
    if (!W.stop) {
        fire_due();
        reconcile(NULL);
        deploy();
        ex_signal_drain(W.db);
        /* connector jobs left by the previous run */
        fm_dbq_read_each(W.db, "SELECT id FROM jobs WHERE type IN ('http', 'io.camunda:http-json:1', 'integration', 'notification', 'ai-agent') "
                         "AND state = 'activatable'", http_job_row, NULL, "");
    }
    for (;;) {
        pthread_mutex_lock(&W.mu);
        while (!W.head && !W.stop)
            pthread_cond_wait(&W.cv, &W.mu);
        if (W.stop) {
            pthread_mutex_unlock(&W.mu);
            break;
        }
        qitem_t *q = W.head;
        W.head = q->next;
        if (!W.head)
            W.tail = NULL;
        pthread_mutex_unlock(&W.mu);
        switch (q->kind) {
        case Q_TIMERS:
            fire_due();
            break;
        case Q_TASK:
            task_done(q->a, q->b, q->c);
            break;
        case Q_HTTP:
            http_result(q->a, q->b, q->d, q->status, q->c);
            break;
        case Q_HTTP_RUN:
            if (q->status > 0) {        /* after a back-off */
                if (fm_loop_post(delay_on_loop, q) == 0)
                    continue;
                break;
            }
            http_run(q->b);
            break;
        case Q_DEPLOY:
            deploy();
            break;
        case Q_RECONCILE:
            reconcile(q->b);
            break;
        case Q_CANCEL:
            cancel_task(q->b);
            break;
        case Q_SIGNAL:
            ex_signal_drain(W.db);
            break;
        case Q_FN:
            q->fn(q->arg);
            break;
        }
        qfree(q);
    }
    return NULL;
}

int ex_work_start(fm_mod_t *m)
{
    W.db = m->db;
    W.stop = false;
    ex_signal_recover_mark(m->db);
    W.armed_due = INT64_MAX;
    W.running = true;
    if (pthread_create(&W.thread, NULL, worker, NULL) != 0) {
        W.running = false;
        return FM_ENOMEM;
    }
    ex_retention_start(m->db);
    return FM_OK;
}

void ex_work_stop(fm_mod_t *m)
{
    (void)m;
    if (!W.running)
        return;
    ex_retention_stop();
    pthread_mutex_lock(&W.mu);
    W.stop = true;
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
    pthread_join(W.thread, NULL);
    W.running = false;
    if (W.timer)
        fm_timer_stop(W.timer);
    W.timer = NULL;
    while (W.head) {
        qitem_t *q = W.head;
        W.head = q->next;
        if (q->kind == Q_FN)    /* a connector's answer: recorded now rather than lost */
            q->fn(q->arg);
        qfree(q);
    }
    W.tail = NULL;
    ex_store_stash_clear();
    ex_defs_clear();
    W.db = NULL;
}

/* Standalone use (bench): the engine on a database without the server. */
void ex_work_set_db(fm_db_t *db)
{
    W.db = db;
}
