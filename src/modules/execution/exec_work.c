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

enum { Q_TIMERS, Q_TASK, Q_HTTP, Q_DEPLOY, Q_RECONCILE, Q_HTTP_RUN, Q_CANCEL, Q_SIGNAL };

typedef struct qitem {
    int kind;
    char *a, *b, *c, *d;    /* tenant, id, payload, one more (the connector's result variable) */
    long status;
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

typedef struct subrow { int64_t id; char inst[48], el[200], kind[16], pid[80]; int token, scope, version; } subrow_t;

static int sub_rows(ex_tx_t *tx, const char *sql, const char *tenant, const char *name, const char *key,
                    subrow_t *rows, int max)
{
    int n = 0;
    sqlite3_stmt *st = ex_stmt(tx, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (key)
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        subrow_t *r = &rows[n++];
        r->id = sqlite3_column_int64(st, 0);
        snprintf(r->inst, sizeof(r->inst), "%s", sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        r->token = sqlite3_column_int(st, 2);
        r->scope = sqlite3_column_int(st, 3);
        snprintf(r->el, sizeof(r->el), "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(r->kind, sizeof(r->kind), "%s", (const char *)sqlite3_column_text(st, 5));
        snprintf(r->pid, sizeof(r->pid), "%s", sqlite3_column_text(st, 6) ? (const char *)sqlite3_column_text(st, 6) : "");
        r->version = sqlite3_column_int(st, 7);
    }
    sqlite3_reset(st);
    return n;
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
            sqlite3_stmt *d = ex_stmt(tx, SQL_SUB_DEL);
            if (d) {
                sqlite3_bind_int64(d, 1, r->id);
                sqlite3_step(d);
                sqlite3_reset(d);
            }
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

static int job_read(ex_tx_t *tx, const char *tenant, const char *id, jobrow_t *j)
{
    sqlite3_stmt *st = ex_stmt(tx, SQL_JOB_GET);
    if (!st)
        return FM_EDB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    int rc = FM_ENOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(j->inst, sizeof(j->inst), "%s", (const char *)sqlite3_column_text(st, 0));
        j->token = sqlite3_column_int(st, 1);
        snprintf(j->state, sizeof(j->state), "%s", (const char *)sqlite3_column_text(st, 2));
        j->retries = sqlite3_column_int(st, 3);
        j->attempts = sqlite3_column_int(st, 4);
        snprintf(j->type, sizeof(j->type), "%s", (const char *)sqlite3_column_text(st, 5));
        rc = FM_OK;
    }
    sqlite3_reset(st);
    return rc;
}

static int job_set(ex_tx_t *tx, const char *id, const char *state, int retries, int attempts, int64_t due,
                   const char *error)
{
    sqlite3_stmt *st = ex_stmt(tx, SQL_JOB_SET);
    if (!st)
        return FM_EDB;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, retries);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_int64(st, 4, due);
    if (error)
        sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_text(st, 6, tx->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, id, -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? (sqlite3_reset(st), FM_OK) : (sqlite3_reset(st), FM_EDB);
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
    bool again = rc == FM_OK && !code && !strcmp(j.type, "http") && (retries >= 0 ? retries : j.retries - 1) > 0;
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

static void http_run(const char *job)
{
    sqlite3 *c = fm_db_reader(W.db);
    if (!c)
        return;
    sqlite3_stmt *st = NULL;
    char tenant[80] = "", inst[48] = "";
    cJSON *headers = NULL;
    if (sqlite3_prepare_v2(c, "SELECT tenant_id, instance_id, headers FROM jobs WHERE id = ? AND state = 'activatable'",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(tenant, sizeof(tenant), "%s", sqlite3_column_text(st, 0));
            snprintf(inst, sizeof(inst), "%s", sqlite3_column_text(st, 1));
            headers = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(W.db, c);
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
static const char SQL_TIMER_NEXT[] =
    "UPDATE timers SET due_ms = due_ms + every_ms, repeat = CASE WHEN repeat > 0 THEN repeat - 1 ELSE repeat END "
    "WHERE id = ?";
static const char SQL_MIN_DUE[] =
    "SELECT MIN(due_ms) FROM timers WHERE instance_id IS NULL OR instance_id NOT IN "
    "(SELECT id FROM instances WHERE state = 'paused')";

static void fire_one(int64_t id)
{
    ex_tx_t tx;
    if (ex_tx_begin(&tx, W.db) != FM_OK)
        return;
    int rc = FM_OK;
    sqlite3_stmt *st = ex_stmt(&tx, SQL_TIMER_ROW);
    if (!st) {
        ex_tx_end(&tx, FM_EDB);
        return;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        ex_tx_end(&tx, FM_OK);
        return;
    }
    char tenant[80], inst[48], el[200], kind[16], pid[80];
    snprintf(tenant, sizeof(tenant), "%s", sqlite3_column_text(st, 0));
    snprintf(inst, sizeof(inst), "%s", sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
    int token = sqlite3_column_int(st, 2), scope = sqlite3_column_int(st, 3);
    snprintf(el, sizeof(el), "%s", sqlite3_column_text(st, 4));
    snprintf(kind, sizeof(kind), "%s", sqlite3_column_text(st, 5));
    int repeat = sqlite3_column_int(st, 6);
    int64_t every = sqlite3_column_int64(st, 7);
    snprintf(pid, sizeof(pid), "%s", sqlite3_column_text(st, 9) ? (const char *)sqlite3_column_text(st, 9) : "");
    int version = sqlite3_column_int(st, 10);
    sqlite3_reset(st);
    sqlite3_stmt *u = ex_stmt(&tx, repeat != 0 && every > 0 ? SQL_TIMER_NEXT : SQL_TIMER_DEL);
    if (u) {
        sqlite3_bind_int64(u, 1, id);
        sqlite3_step(u);
        sqlite3_reset(u);
    }
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

static void fire_due(void)
{
    for (int round = 0; round < 1000; round++) {
        int64_t ids[200];
        int n = 0;
        sqlite3 *c = fm_db_reader(W.db);
        if (!c)
            return;
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c, SQL_DUE, -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, fm_time_unix_ms());
            while (n < 200 && sqlite3_step(st) == SQLITE_ROW)
                ids[n++] = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        fm_db_reader_done(W.db, c);
        for (int i = 0; i < n && !W.stop; i++)
            fire_one(ids[i]);
        if (n < 200 || W.stop)
            break;
    }
    sqlite3 *c = fm_db_reader(W.db);
    if (!c)
        return;
    sqlite3_stmt *st = NULL;
    int64_t next = INT64_MAX;
    if (sqlite3_prepare_v2(c, SQL_MIN_DUE, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        next = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    fm_db_reader_done(W.db, c);
    arm(next);
}

/* ---- user tasks ---- */

static void task_done(const char *tenant, const char *task_id, const char *response)
{
    ex_tx_t tx;
    if (ex_tx_begin(&tx, W.db) != FM_OK)
        return;
    sqlite3_stmt *st = ex_stmt(&tx, "SELECT instance_id, token_id FROM task_links WHERE task_id = ? AND tenant_id = ?");
    int rc = FM_ENOTFOUND;
    char inst[48] = "";
    int token = 0;
    if (st) {
        sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(inst, sizeof(inst), "%s", sqlite3_column_text(st, 0));
            token = sqlite3_column_int(st, 1);
            rc = FM_OK;
        }
        sqlite3_reset(st);
    }
    ex_inst_t *in;
    cJSON *resp = response ? cJSON_Parse(response) : NULL;
    if (rc == FM_OK && (rc = ex_load(&tx, tenant, inst, &in)) == FM_OK)
        rc = ex_task_done(&tx, in, token, task_id, resp);
    cJSON_Delete(resp);
    ex_tx_end(&tx, rc);
}

/* Asks 9006 about every task an instance (or every instance: NULL) waits for and
 * moves on those answered meanwhile. */
static void reconcile(const char *only_instance)
{
    typedef struct { char tenant[80], task[64]; } link_t;
    link_t *links = NULL;
    int n = 0, cap = 0;
    sqlite3 *c = fm_db_reader(W.db);
    if (!c)
        return;
    sqlite3_stmt *st = NULL;
    const char *sql = only_instance ? "SELECT tenant_id, task_id FROM task_links WHERE instance_id = ?"
                                    : "SELECT tenant_id, task_id FROM task_links";
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK) {
        if (only_instance)
            sqlite3_bind_text(st, 1, only_instance, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                link_t *l = realloc(links, sizeof(link_t) * (size_t)cap);
                if (!l)
                    break;
                links = l;
            }
            snprintf(links[n].tenant, sizeof(links[n].tenant), "%s", sqlite3_column_text(st, 0));
            snprintf(links[n].task, sizeof(links[n].task), "%s", sqlite3_column_text(st, 1));
            n++;
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(W.db, c);
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

static void deploy_pending(void)
{
    typedef struct { char tenant[80], pid[80]; int version; } dep_t;
    dep_t deps[64];
    int n = 0;
    sqlite3 *c = fm_db_reader(W.db);
    if (!c)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT tenant_id, process_id, version FROM deployments WHERE done = 0 LIMIT 64",
                           -1, &st, NULL) == SQLITE_OK)
        while (n < 64 && sqlite3_step(st) == SQLITE_ROW) {
            snprintf(deps[n].tenant, sizeof(deps[n].tenant), "%s", sqlite3_column_text(st, 0));
            snprintf(deps[n].pid, sizeof(deps[n].pid), "%s", sqlite3_column_text(st, 1));
            deps[n].version = sqlite3_column_int(st, 2);
            n++;
        }
    sqlite3_finalize(st);
    fm_db_reader_done(W.db, c);
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
        sqlite3_stmt *u = ex_stmt(&tx, "UPDATE deployments SET done = 1, bpmn_id = ? WHERE tenant_id = ? AND "
                                        "process_id = ? AND version = ?");
        if (u) {
            sqlite3_bind_text(u, 1, d ? d->bpmn_id : "", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(u, 2, deps[i].tenant, -1, SQLITE_STATIC);
            sqlite3_bind_text(u, 3, deps[i].pid, -1, SQLITE_STATIC);
            sqlite3_bind_int(u, 4, deps[i].version);
            sqlite3_step(u);
            sqlite3_reset(u);
        }
        if (got == FM_OK) {
            /* a newer version replaces the start events of older ones */
            const char *drops[3] = { "DELETE FROM msg_subs WHERE kind = 'start' AND tenant_id = ? AND process_id = ?",
                                     "DELETE FROM timers WHERE kind = 'start' AND tenant_id = ? AND process_id = ?",
                                     "DELETE FROM signal_subs WHERE kind = 'start' AND tenant_id = ? AND process_id = ?" };
            for (int k = 0; k < 3; k++) {
                sqlite3_stmt *x = ex_stmt(&tx, drops[k]);
                if (x) {
                    sqlite3_bind_text(x, 1, deps[i].tenant, -1, SQLITE_STATIC);
                    sqlite3_bind_text(x, 2, deps[i].pid, -1, SQLITE_STATIC);
                    sqlite3_step(x);
                    sqlite3_reset(x);
                }
            }
            for (int k = 0; k < d->nstarts; k++) {
                const ex_node_t *s = &d->nodes[d->starts[k]];
                if (s->ev == E_MESSAGE) {
                    sqlite3_stmt *x = ex_stmt(&tx, "INSERT INTO msg_subs(tenant_id, name, corr_key, element, kind, "
                                                   "process_id, version) VALUES (?, ?, '', ?, 'start', ?, ?)");
                    if (x) {
                        sqlite3_bind_text(x, 1, deps[i].tenant, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 2, s->msg_name, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 3, s->id, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 4, deps[i].pid, -1, SQLITE_STATIC);
                        sqlite3_bind_int(x, 5, deps[i].version);
                        sqlite3_step(x);
                        sqlite3_reset(x);
                    }
                } else if (s->ev == E_SIGNAL && s->signal.text) {
                    sqlite3_stmt *x = ex_stmt(&tx, "INSERT INTO signal_subs(tenant_id, name, element, kind, "
                                                   "process_id, version) VALUES (?, ?, ?, 'start', ?, ?)");
                    if (x) {
                        sqlite3_bind_text(x, 1, deps[i].tenant, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 2, s->signal.text, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 3, s->id, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 4, deps[i].pid, -1, SQLITE_STATIC);
                        sqlite3_bind_int(x, 5, deps[i].version);
                        sqlite3_step(x);
                        sqlite3_reset(x);
                    }
                } else if (s->ev == E_TIMER) {
                    int64_t due, every;
                    int repeat;
                    if (!ex_timer_due_static(&tx, s, &due, &repeat, &every, why, sizeof(why)))
                        continue;
                    sqlite3_stmt *x = ex_stmt(&tx, "INSERT INTO timers(tenant_id, element, kind, due_ms, repeat, "
                                                   "every_ms, process_id, version) VALUES (?, ?, 'start', ?, ?, ?, ?, ?)");
                    if (x) {
                        sqlite3_bind_text(x, 1, deps[i].tenant, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x, 2, s->id, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(x, 3, due);
                        sqlite3_bind_int(x, 4, repeat);
                        sqlite3_bind_int64(x, 5, every);
                        sqlite3_bind_text(x, 6, deps[i].pid, -1, SQLITE_STATIC);
                        sqlite3_bind_int(x, 7, deps[i].version);
                        sqlite3_step(x);
                        sqlite3_reset(x);
                        if (due < tx.after.min_due)
                            tx.after.min_due = due;
                    }
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
        sqlite3 *w = fm_db_write_begin(W.db);
        int rc = FM_EDB;
        if (w) {
            static const char sql[] = "INSERT OR IGNORE INTO deployments(tenant_id, process_id, bpmn_id, version) "
                                      "VALUES (?, ?, '', ?)";
            sqlite3_stmt *st = fm_db_stmt(W.db, sql);
            if (st) {
                sqlite3_bind_text(st, 1, ev->tenant, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, pid, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 3, version);
                if (sqlite3_step(st) == SQLITE_DONE)
                    rc = FM_OK;
                sqlite3_reset(st);
            }
            fm_db_write_end(W.db, rc);
        }
        enqueue(Q_DEPLOY, NULL, NULL, NULL, 0);
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
        sqlite3 *c = fm_db_reader(W.db);
        if (c) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(c, "SELECT id FROM jobs WHERE type = 'http' AND state = 'activatable'", -1, &st,
                                   NULL) == SQLITE_OK)
                while (sqlite3_step(st) == SQLITE_ROW)
                    enqueue(Q_HTTP_RUN, NULL, (const char *)sqlite3_column_text(st, 0), NULL, 0);
            sqlite3_finalize(st);
            fm_db_reader_done(W.db, c);
        }
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
    return FM_OK;
}

void ex_work_stop(fm_mod_t *m)
{
    (void)m;
    if (!W.running)
        return;
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
        qfree(q);
    }
    W.tail = NULL;
    ex_defs_clear();
    W.db = NULL;
}

/* Standalone use (bench): the engine on a database without the server. */
void ex_work_set_db(fm_db_t *db)
{
    W.db = db;
}
