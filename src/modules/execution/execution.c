/*
 * execution.c — Execution Engine (9005): the routes. Each change is one transaction
 * (exec_store.c) in which the instance runs to its next wait states (exec_run.c);
 * reads use pooled readers. docs/execution.md is the contract.
 */
#include "exec_int.h"

#include "../../fm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static int not_found(fm_req_t *r, const char *what, const char *id)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no %s '%s'", what, id);
}

static int conflict(fm_req_t *r, const char *why)
{
    return fm_reply_problem(r, 409, NULL, NULL, NULL, "%s", why);
}

/* A paged list answered from rows_sql (its parameters fmt, then LIMIT and OFFSET) and
 * count_sql; rows become items through item(row, r). Filters are text parameters bound
 * NULL when absent (`?N IS NULL OR …`). */
static int reply_rows(fm_req_t *r, const char *count_sql, const char *rows_sql,
                      cJSON *(*item)(const fm_dbrow_t *row, void *r), int limit, int offset, const char *fmt, ...)
{
    fm_dbq_page_t p = { .count_sql = count_sql, .rows_sql = rows_sql, .item = item, .arg = r,
                        .offset = offset, .limit = limit };
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    fm_dbc_t *c = items ? fm_dbq_reader(db_of(r)) : NULL;
    if (!c) {
        cJSON_Delete(items);
        return FM_EDB;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = fm_dbq_vpage(c, &p, items, &total, fmt, ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

/* ---- instances ---- */

static int reply_instance(fm_req_t *r, int status, const char *id)
{
    cJSON *o = NULL;
    int rc = ex_store_get_json(db_of(r), fm_req_tenant(r), id, &o);
    if (rc == FM_ENOTFOUND)
        return not_found(r, "execution", id);
    if (rc != FM_OK)
        return rc;
    if (status == 201) {
        char loc[80];
        snprintf(loc, sizeof(loc), "/executions/%s", id);
        fm_reply_header(r, "Location", loc);
    }
    return fm_reply_json(r, status, o);
}

static bool idem_lookup(fm_req_t *r, const char *key, char *id, size_t len)
{
    char *got = NULL;
    bool found = fm_dbq_read_str(db_of(r), "SELECT id FROM instances WHERE tenant_id = ? AND idem_key = ?", &got, "ss",
                                 fm_req_tenant(r), key) == FM_OK && got;
    if (found)
        snprintf(id, len, "%s", got);
    free(got);
    return found;
}

/* An archived process starts no new instance (docs/execution.md): Process Design's
 * status, read without the model, decides. Answered 422 naming the state: true. */
static bool archived_or_reply(fm_req_t *r, const char *pid)
{
    char path[300], *out = NULL;
    int status = 0;
    snprintf(path, sizeof(path), "/processes/%s?model=false", pid);
    bool archived = false;
    if (fm_call_system(fm_req_tenant(r), FM_GET, path, NULL, &status, &out) == FM_OK && status == 200) {
        cJSON *p = cJSON_Parse(out);
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(p, "status"));
        archived = st && !strcmp(st, "archived");
        cJSON_Delete(p);
    }
    free(out);
    if (archived) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddStringToObject(ext, "processId", pid);
        cJSON_AddStringToObject(ext, "state", "archived");
        fm_reply_problem(r, 422, "urn:flowmaster:problem:process-archived", "Process Archived", ext,
                         "process '%s' is archived: it starts no new instances (running ones go on)", pid);
    }
    return archived;
}

static int start(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "processId", FM_F_STRING, true, 1, 200, NULL },
        { "version", FM_F_INT, false, 1, 1000000, NULL },
        { "businessKey", FM_F_STRING, false, 0, 256, NULL },
        { "variables", FM_F_OBJECT, false, 0, 0, NULL },
    };
    if (fm_req_check(r, fields, 4))
        return FM_OK;
    cJSON *b = fm_req_json(r);
    const char *key = fm_req_header(r, "Idempotency-Key");
    if (key && (!*key || strlen(key) > 200))
        return fm_reply_problem(r, 400, NULL, NULL, NULL, "Idempotency-Key must be 1 to 200 characters");
    char id[48];
    if (key && idem_lookup(r, key, id, sizeof(id)))
        return reply_instance(r, 200, id);
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItem(b, "processId"));
    cJSON *v = cJSON_GetObjectItem(b, "version");
    const char *bk = cJSON_GetStringValue(cJSON_GetObjectItem(b, "businessKey"));
    ex_def_t *def;
    const char *field;
    char why[500];
    int rc = ex_def_get(fm_req_tenant(r), pid, v ? (int)v->valuedouble : 0, &def, &field, why, sizeof(why));
    if (rc == FM_ENOTFOUND || rc == FM_EINVAL)
        return fm_reply_invalid(r, field, why);
    if (rc != FM_OK)
        return rc;
    if (archived_or_reply(r, def->process_id))
        return FM_OK;
    ex_tx_t tx;
    if ((rc = ex_tx_begin(&tx, db_of(r))) != FM_OK)
        return rc;
    ex_inst_t *in;
    cJSON *out = NULL;
    rc = ex_start(&tx, def, bk, cJSON_GetObjectItem(b, "variables"), key, NULL, 0, -1, &in);
    if (rc == FM_OK) {
        snprintf(id, sizeof(id), "%s", in->id);
        out = ex_inst_json(in, true);   /* as committed below: no second read */
    }
    rc = ex_tx_end(&tx, rc);
    if (rc != FM_OK) {
        cJSON_Delete(out);
        if (key && idem_lookup(r, key, id, sizeof(id)))     /* a racing twin won */
            return reply_instance(r, 200, id);
        return rc;
    }
    char loc[80];
    snprintf(loc, sizeof(loc), "/executions/%s", id);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

static int get(fm_req_t *r)
{
    return reply_instance(r, 200, fm_req_param(r, "id"));
}

static cJSON *instance_row(const fm_dbrow_t *st, void *r)
{
    (void)r;
    ex_inst_t *in;
    if (ex_inst_from_row(st, &in) != FM_OK)
        return NULL;
    cJSON *o = ex_inst_json(in, false);
    ex_inst_free(in);
    return o;
}

static int list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char pid[200], st[32], bk[300];
    const char *p = fm_req_query(r, "processId", pid, sizeof(pid)), *s = fm_req_query(r, "state", st, sizeof(st)),
               *k = fm_req_query(r, "businessKey", bk, sizeof(bk));
    if (s && ex_state_parse(s) < 0)
        return fm_reply_invalid(r, "state", "must be active, paused, completed, cancelled or failed");
#define INST_WHERE "instances WHERE tenant_id = ?1 AND (?2 IS NULL OR process_id = ?2 OR bpmn_id = ?2) " \
                   "AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR business_key = ?4)"
    return reply_rows(r, "SELECT COUNT(*) FROM " INST_WHERE,
                      "SELECT " EX_INST_COLS " FROM " INST_WHERE " ORDER BY id DESC LIMIT ?5 OFFSET ?6", instance_row,
                      limit, offset, "ssss", fm_req_tenant(r), p, s, k);
}

typedef int (*inst_op)(ex_tx_t *tx, ex_inst_t *in, const cJSON *body, char *why, size_t wl);

/* Loads the instance of the path in a transaction, applies op, answers the instance. */
static int with_instance(fm_req_t *r, inst_op op, const cJSON *body)
{
    const char *id = fm_req_param(r, "id");
    ex_tx_t tx;
    int rc = ex_tx_begin(&tx, db_of(r));
    if (rc != FM_OK)
        return rc;
    ex_inst_t *in;
    char why[300] = "";
    rc = ex_load(&tx, fm_req_tenant(r), id, &in);
    if (rc == FM_OK)
        rc = op(&tx, in, body, why, sizeof(why));
    rc = ex_tx_end(&tx, rc);
    if (rc == FM_ENOTFOUND)
        return not_found(r, "execution", id);
    if (rc == FM_ECONFLICT)
        return conflict(r, why[0] ? why : "the execution is not in a state that allows this");
    if (rc != FM_OK)
        return rc;
    return reply_instance(r, 200, id);
}

static int op_pause(ex_tx_t *tx, ex_inst_t *in, const cJSON *b, char *why, size_t wl)
{
    (void)b;
    int rc = ex_set_state(tx, in, I_PAUSED);
    if (rc == FM_ECONFLICT)
        snprintf(why, wl, "execution '%s' is %s, not active", in->id, ex_state_name(in->state));
    return rc;
}

static int op_resume(ex_tx_t *tx, ex_inst_t *in, const cJSON *b, char *why, size_t wl)
{
    (void)b;
    int rc = ex_set_state(tx, in, I_ACTIVE);
    if (rc == FM_ECONFLICT)
        snprintf(why, wl, "execution '%s' is %s, not paused", in->id, ex_state_name(in->state));
    return rc;
}

static int op_cancel(ex_tx_t *tx, ex_inst_t *in, const cJSON *b, char *why, size_t wl)
{
    (void)b;
    int rc = ex_cancel(tx, in);
    if (rc == FM_ECONFLICT)
        snprintf(why, wl, "execution '%s' has already ended (%s)", in->id, ex_state_name(in->state));
    return rc;
}

static int op_vars(ex_tx_t *tx, ex_inst_t *in, const cJSON *b, char *why, size_t wl)
{
    int rc = ex_set_vars(tx, in, cJSON_GetObjectItem(b, "variables"));
    if (rc == FM_ECONFLICT)
        snprintf(why, wl, "execution '%s' has already ended (%s)", in->id, ex_state_name(in->state));
    return rc;
}

static int pause(fm_req_t *r)
{
    return with_instance(r, op_pause, NULL);
}

static int resume(fm_req_t *r)
{
    int rc = with_instance(r, op_resume, NULL);
    if (rc == FM_OK && fm_replied(r))
        ex_work_resumed(fm_req_param(r, "id"));
    return rc;
}

static int cancel(fm_req_t *r)
{
    return with_instance(r, op_cancel, NULL);
}

static int variables(fm_req_t *r)
{
    static const fm_field_t fields[] = { { "variables", FM_F_OBJECT, true, 0, 0, NULL } };
    if (fm_req_check(r, fields, 1))
        return FM_OK;
    return with_instance(r, op_vars, fm_req_json(r));
}

typedef struct { int offset, limit, total; cJSON *items; } hist_ctx_t;

static int hist_row(const fm_dbrow_t *row, void *arg)
{
    hist_ctx_t *h = arg;
    ex_hist_expand(fm_dbrow_str(row, 0), fm_dbrow_int(row, 1), h->offset, h->limit, &h->total, h->items);
    return FM_OK;
}

static int history(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 500, &limit, &offset))
        return FM_OK;
    const char *id = fm_req_param(r, "id");
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    int64_t one;
    int rc = fm_dbq_int(c, "SELECT 1 FROM instances WHERE id = ? AND tenant_id = ?", &one, "ss", id, fm_req_tenant(r));
    hist_ctx_t h = { offset, limit, 0, cJSON_CreateArray() };
    if (rc == FM_OK)
        rc = fm_dbq_each(c, "SELECT entries, first_seq FROM history WHERE instance_id = ? ORDER BY first_seq",
                         hist_row, &h, "s", id);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(h.items);
        return rc == FM_ENOTFOUND ? not_found(r, "execution", id) : rc;
    }
    return fm_reply_page(r, h.items, offset, h.total);
}

/* ---- messages ---- */

/* timeToLive: ISO 8601 duration text, or ms as a number (Camunda 8 REST); at most a year. */
#define EX_TTL_MAX_MS (366LL * 86400000LL)

static bool ttl_of(fm_req_t *r, const cJSON *t, int64_t *ms)
{
    *ms = 0;
    if (!t || cJSON_IsNull(t))
        return true;
    if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble <= (double)EX_TTL_MAX_MS &&
        t->valuedouble == (double)(int64_t)t->valuedouble) {
        *ms = (int64_t)t->valuedouble;
        return true;
    }
    if (cJSON_IsString(t) && strlen(t->valuestring) <= 40 && ex_duration_ms(t->valuestring, ms) && *ms >= 0 &&
        *ms <= EX_TTL_MAX_MS)
        return true;
    fm_reply_invalid(r, "timeToLive", "must be an ISO 8601 duration (PT30S, P1D) or milliseconds, at most 366 days");
    return false;
}

static int message(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "name", FM_F_STRING, true, 1, 256, NULL },
        { "variables", FM_F_OBJECT, false, 0, 0, NULL },
        { "messageId", FM_F_STRING, false, 1, 256, NULL },
    };
    if (fm_req_check(r, fields, 3))
        return FM_OK;
    cJSON *b = fm_req_json(r);
    cJSON *k = cJSON_GetObjectItem(b, "correlationKey");
    char key[300] = "";
    if (cJSON_IsString(k)) {
        if (strlen(k->valuestring) >= sizeof(key))
            return fm_reply_invalid(r, "correlationKey", "must be at most 256 characters");
        snprintf(key, sizeof(key), "%s", k->valuestring);
    } else if (cJSON_IsNumber(k)) {
        char *p = cJSON_PrintUnformatted(k);
        snprintf(key, sizeof(key), "%s", p ? p : "");
        free(p);
    } else if (k && !cJSON_IsNull(k))
        return fm_reply_invalid(r, "correlationKey", "must be a string or a number");
    int64_t ttl;
    if (!ttl_of(r, cJSON_GetObjectItem(b, "timeToLive"), &ttl))
        return FM_OK;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(b, "name"));
    const char *msg_id = cJSON_GetStringValue(cJSON_GetObjectItem(b, "messageId"));
    const cJSON *vars = cJSON_GetObjectItem(b, "variables");
    ex_sync_publications();     /* a process published before this request starts on it */
    ex_tx_t tx;
    int rc = ex_tx_begin(&tx, db_of(r));
    if (rc != FM_OK)
        return rc;
    char inst[48] = "", el[200] = "", why[300] = "";
    bool started = false, buffered = false;
    int64_t expires = tx.now_ms + ttl;
    cJSON *list = cJSON_CreateArray();
    if (msg_id && ttl > 0 && (rc = ex_msgbuf_seen(&tx, fm_req_tenant(r), msg_id)) == FM_ECONFLICT)
        snprintf(why, sizeof(why), "message '%s' was published within its timeToLive", msg_id);
    if (rc == FM_OK)
        rc = ex_correlate(&tx, fm_req_tenant(r), name, key, vars, inst, sizeof(inst), el, sizeof(el), &started,
                          NULL, list);
    if (ttl > 0 && (rc == FM_ENOTFOUND || (rc == FM_OK && msg_id))) {
        /* nobody waits: kept for a subscription opened within the TTL (or only its id) */
        buffered = rc == FM_ENOTFOUND;
        rc = ex_msgbuf_put(&tx, fm_req_tenant(r), name, key, msg_id, vars, ttl, buffered ? NULL : inst, why,
                           sizeof(why));
    }
    rc = ex_tx_end(&tx, rc);
    if (rc != FM_OK)
        cJSON_Delete(list);
    if (rc == FM_ENOTFOUND) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddStringToObject(ext, "messageName", name);
        cJSON_AddStringToObject(ext, "correlationKey", key);
        return fm_reply_problem(r, 404, "urn:flowmaster:problem:message-not-correlated", "Message Not Correlated",
                                ext, "nobody waits for message '%s' with correlation key '%s'", name, key);
    }
    if (rc == FM_ECONFLICT && msg_id) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddStringToObject(ext, "messageId", msg_id);
        return fm_reply_problem(r, 409, "urn:flowmaster:problem:message-duplicate", "Duplicate Message", ext, "%s",
                                why);
    }
    if (rc == FM_EBUSY)
        return fm_reply_problem(r, 429, "urn:flowmaster:problem:message-buffer-full", "Message Buffer Full", NULL,
                                "%s", why);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    if (buffered) {
        char at[32];
        fm_time_rfc3339_at(expires, at);
        cJSON_AddBoolToObject(o, "buffered", true);
        cJSON_AddStringToObject(o, "expiresAt", at);
        if (msg_id)
            cJSON_AddStringToObject(o, "messageId", msg_id);
        cJSON_AddItemToObject(o, "executions", list);
        return fm_reply_json(r, 202, o);
    }
    cJSON_AddStringToObject(o, "executionId", inst);
    cJSON_AddStringToObject(o, "elementId", el);
    cJSON_AddBoolToObject(o, "started", started);
    cJSON_AddItemToObject(o, "executions", list);
    return fm_reply_json(r, 200, o);
}

/* ---- signals ---- */

static int signal(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "name", FM_F_STRING, true, 1, 256, NULL },
        { "variables", FM_F_OBJECT, false, 0, 0, NULL },
    };
    if (fm_req_check(r, fields, 2))
        return FM_OK;
    cJSON *b = fm_req_json(r);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(b, "name"));
    ex_sync_publications();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    int rc = ex_signal_broadcast(db_of(r), fm_req_tenant(r), name, cJSON_GetObjectItem(b, "variables"), o);
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    return fm_reply_json(r, 200, o);
}

/* ---- jobs ---- */

/* The API's columns; due_ms and token_id are left out of the object. */
#define JOB_COLS "id, type, instance_id AS executionId, element AS elementId, state, retries, " \
                 "headers AS customHeaders, error AS errorMessage, created_at AS createdAt, due_ms, token_id"
#define JOB_HINTS "sssssiJss--"

static cJSON *job_json(const fm_dbrow_t *st, void *arg)
{
    fm_req_t *r = arg;
    cJSON *o = fm_dbrow_object(st, JOB_HINTS);
    if (!o)
        return NULL;
    cJSON *vars = NULL;
    ex_store_token_vars(db_of(r), fm_req_tenant(r), fm_dbrow_str(st, 2), (int)fm_dbrow_int(st, 10), &vars);
    cJSON_AddItemToObject(o, "variables", vars ? vars : cJSON_CreateObject());
    return o;
}

static int jobs_list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char type[200], inst[80], state[32];
    const char *s = fm_req_query(r, "state", state, sizeof(state)), *t = fm_req_query(r, "type", type, sizeof(type)),
               *x = fm_req_query(r, "executionId", inst, sizeof(inst));
    if (!s)
        s = "activatable";
    if (strcmp(s, "activatable") && strcmp(s, "failed") && strcmp(s, "completed"))
        return fm_reply_invalid(r, "state", "must be activatable, failed or completed");
#define JOB_WHERE "jobs WHERE tenant_id = ?1 AND state = ?2 AND (?3 IS NULL OR type = ?3) AND " \
                  "(?4 IS NULL OR instance_id = ?4) AND (state != 'activatable' OR due_ms <= ?5)"
    return reply_rows(r, "SELECT COUNT(*) FROM " JOB_WHERE,
                      "SELECT " JOB_COLS " FROM " JOB_WHERE " ORDER BY rowid LIMIT ?6 OFFSET ?7", job_json, limit,
                      offset, "ssssI", fm_req_tenant(r), s, t, x, fm_time_unix_ms());
}

typedef struct { fm_req_t *r; cJSON *o; } job_ctx_t;

static int job_row(const fm_dbrow_t *row, void *arg)
{
    job_ctx_t *j = arg;
    j->o = job_json(row, j->r);
    return j->o ? FM_OK : FM_ENOMEM;
}

static int reply_job(fm_req_t *r, const char *id)
{
    job_ctx_t j = { r, NULL };
    int rc = fm_dbq_read_one(db_of(r), "SELECT " JOB_COLS " FROM jobs WHERE id = ? AND tenant_id = ?", job_row, &j,
                             "ss", id, fm_req_tenant(r));
    if (rc != FM_OK && rc != FM_ENOTFOUND)
        return rc;
    cJSON *o = j.o;
    if (!o) {     /* a job whose activity was left another way is gone */
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "state", "completed");
    }
    return fm_reply_json(r, 200, o);
}

static int job_outcome(fm_req_t *r, int rc, const char *why)
{
    const char *id = fm_req_param(r, "id");
    if (rc == FM_ENOTFOUND)
        return not_found(r, "job", id);
    if (rc == FM_ECONFLICT)
        return conflict(r, why);
    if (rc != FM_OK)
        return rc;
    return reply_job(r, id);
}

static int job_complete(fm_req_t *r)
{
    static const fm_field_t fields[] = { { "variables", FM_F_OBJECT, false, 0, 0, NULL } };
    if (fm_req_check(r, fields, 1))
        return FM_OK;
    char why[300] = "";
    int rc = ex_job_complete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"),
                             cJSON_GetObjectItem(fm_req_json(r), "variables"), why, sizeof(why));
    return job_outcome(r, rc, why);
}

static int job_fail(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "errorMessage", FM_F_STRING, false, 0, 2000, NULL },
        { "retries", FM_F_INT, false, 0, 1000, NULL },
        { "retryBackOffMs", FM_F_INT, false, 0, 86400000, NULL },
        { "errorCode", FM_F_STRING, false, 1, 200, NULL },
        { "variables", FM_F_OBJECT, false, 0, 0, NULL },
    };
    if (fm_req_check(r, fields, 5))
        return FM_OK;
    cJSON *b = fm_req_json(r);
    cJSON *rt = cJSON_GetObjectItem(b, "retries"), *bo = cJSON_GetObjectItem(b, "retryBackOffMs");
    char why[300] = "";
    int rc = ex_job_fail_vars(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"),
                         cJSON_GetStringValue(cJSON_GetObjectItem(b, "errorMessage")),
                         rt ? (int)rt->valuedouble : -1, bo ? (int64_t)bo->valuedouble : -1,
                         cJSON_GetStringValue(cJSON_GetObjectItem(b, "errorCode")),
                         cJSON_GetObjectItem(b, "variables"), why, sizeof(why));
    return job_outcome(r, rc, why);
}

/* Camunda 8's "throw error" command: a BPMN error at the job's task. */
static int job_error(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "errorCode", FM_F_STRING, true, 1, 200, NULL },
        { "errorMessage", FM_F_STRING, false, 0, 2000, NULL },
        { "variables", FM_F_OBJECT, false, 0, 0, NULL },
    };
    if (fm_req_check(r, fields, 3))
        return FM_OK;
    cJSON *b = fm_req_json(r);
    char why[300] = "";
    int rc = ex_job_fail_vars(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"),
                         cJSON_GetStringValue(cJSON_GetObjectItem(b, "errorMessage")), -1, -1,
                         cJSON_GetStringValue(cJSON_GetObjectItem(b, "errorCode")),
                         cJSON_GetObjectItem(b, "variables"), why, sizeof(why));
    return job_outcome(r, rc, why);
}

/* ---- incidents ---- */

#define INC_COLS "id, instance_id AS executionId, element AS elementId, type, message, state, job_id AS jobId, " \
                 "created_at AS createdAt, resolved_at AS resolvedAt"
#define INC_HINTS "sssssssss"

static cJSON *incident_row(const fm_dbrow_t *st, void *r)
{
    (void)r;
    return fm_dbrow_object(st, INC_HINTS);
}

static int incidents_list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char inst[80], state[32];
    const char *s = fm_req_query(r, "state", state, sizeof(state)),
               *x = fm_req_query(r, "executionId", inst, sizeof(inst));
    if (s && strcmp(s, "open") && strcmp(s, "resolved"))
        return fm_reply_invalid(r, "state", "must be open or resolved");
#define INC_WHERE "incidents WHERE tenant_id = ?1 AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR instance_id = ?3)"
    return reply_rows(r, "SELECT COUNT(*) FROM " INC_WHERE,
                      "SELECT " INC_COLS " FROM " INC_WHERE " ORDER BY rowid LIMIT ?4 OFFSET ?5", incident_row, limit,
                      offset, "sss", fm_req_tenant(r), s, x);
}

static const char SQL_INC_GET[] =
    "SELECT instance_id, token_id, element, state, job_id FROM incidents WHERE id = ? AND tenant_id = ?";

typedef struct { char inst[48], el[200], state[16], job[48]; int token; } inc_t;

static int inc_row(const fm_dbrow_t *st, void *arg)
{
    inc_t *g = arg;
    fm_dbrow_copy(st, 0, g->inst, sizeof(g->inst));
    g->token = (int)fm_dbrow_int(st, 1);
    fm_dbrow_copy(st, 2, g->el, sizeof(g->el));
    fm_dbrow_copy(st, 3, g->state, sizeof(g->state));
    fm_dbrow_copy(st, 4, g->job, sizeof(g->job));
    return FM_OK;
}

static const char SQL_JOB_AGAIN[] = "UPDATE jobs SET state = 'activatable', retries = MAX(retries, 1), "
                                    "due_ms = 0, updated_at = ? WHERE id = ? AND state = 'failed'";

static int incident_resolve(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    ex_tx_t tx;
    int rc = ex_tx_begin(&tx, db_of(r));
    if (rc != FM_OK)
        return rc;
    inc_t g = { "", "", "", "", 0 };
    rc = fm_dbq_wone(tx.w, SQL_INC_GET, inc_row, &g, "ss", id, fm_req_tenant(r));
    const char *inst = g.inst, *el = g.el, *state = g.state, *job = g.job;
    int token = g.token;
    char why[800] = "";
    if (rc == FM_OK && strcmp(state, "open")) {
        snprintf(why, sizeof(why), "incident '%s' is already resolved", id);
        rc = FM_ECONFLICT;
    }
    ex_inst_t *in = NULL;
    if (rc == FM_OK && (rc = ex_load(&tx, fm_req_tenant(r), inst, &in)) == FM_OK && in->state >= I_COMPLETED) {
        snprintf(why, sizeof(why), "execution '%s' has ended", inst);
        rc = FM_ECONFLICT;
    }
    ex_tok_t *stuck = rc == FM_OK ? ex_tok(in, token) : NULL;
    if (stuck && stuck->wait == W_INCIDENT && (stuck->flags & TF_STEP_LIMIT)) {
        /* running the same loop again would only take the next EX_MAX_STEPS steps */
        snprintf(why, sizeof(why),
                 "incident '%s' stopped a loop at '%s' after %d steps without a wait state; resolving it would "
                 "run the same loop again. Change the variables it depends on (PUT /executions/%s/variables) "
                 "and resolve it then, or cancel the execution", id, el, EX_MAX_STEPS, inst);
        rc = FM_ECONFLICT;
    }
    if (rc == FM_OK)
        rc = ex_incident_close(&tx, in, id);
    if (rc == FM_OK) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "incidentId", id);
        int node = ex_node_find(in->def, el);
        ex_hist(&tx, in, "incident.resolved", node, token, d);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "incidentId", id);
        ex_event(&tx, in, "execution.incident.resolved", node, token, e);
        if (job[0]) {
            rc = fm_dbq_wrun(tx.w, SQL_JOB_AGAIN, "ss", tx.now, job);
            if (rc == FM_OK)
                rc = ex_incident_retry_job(&tx, in, token, job);
        } else
            rc = ex_incident_retry(&tx, in, token);
    }
    rc = ex_tx_end(&tx, rc);
    if (rc == FM_ENOTFOUND)
        return not_found(r, "incident", id);
    if (rc == FM_ECONFLICT)
        return conflict(r, why);
    if (rc != FM_OK)
        return rc;
    cJSON *o = NULL;
    rc = fm_dbq_read_obj(db_of(r), "SELECT " INC_COLS " FROM incidents WHERE id = ?", INC_HINTS, &o, "s", id);
    return rc == FM_OK ? fm_reply_json(r, 200, o) : FM_EDB;
}

/* ---- the module ---- */

static const fm_route_t routes[] = {
    { FM_POST, "/executions", start, FM_R_JSON, "execution:start" },
    { FM_GET, "/executions", list, 0, "execution:read" },
    { FM_GET, "/executions/{id}", get, 0, "execution:read" },
    { FM_PUT, "/executions/{id}/pause", pause, 0, "execution:control" },
    { FM_PUT, "/executions/{id}/resume", resume, 0, "execution:control" },
    { FM_PUT, "/executions/{id}/cancel", cancel, 0, "execution:control" },
    { FM_GET, "/executions/{id}/history", history, 0, "execution:read" },
    { FM_PUT, "/executions/{id}/variables", variables, FM_R_JSON, "execution:control" },
    { FM_POST, "/messages", message, FM_R_JSON, "execution:correlate" },
    { FM_GET, "/jobs", jobs_list, 0, "execution:work" },
    { FM_POST, "/jobs/{id}/complete", job_complete, FM_R_JSON, "execution:work" },
    { FM_POST, "/jobs/{id}/fail", job_fail, FM_R_JSON, "execution:work" },
    { FM_POST, "/jobs/{id}/error", job_error, FM_R_JSON, "execution:work" },
    { FM_POST, "/signals", signal, FM_R_JSON, "execution:correlate" },
    { FM_GET, "/incidents", incidents_list, 0, "execution:read" },
    { FM_PUT, "/incidents/{id}/resolve", incident_resolve, 0, "execution:control" },
    { FM_GET, "/executions/start-timers", ex_start_timers_list, 0, "execution:read" },
    { FM_GET, "/executions/retention", ex_retention_get, 0, "execution:read" },
};

static const fm_sub_t subs[] = {
    { "process.definition.published", ex_on_published },
    { "task.completed", ex_on_task_completed },
    { "process.definition.archived", ex_on_archived },
    { NULL, NULL },
};

const fm_module_t fm_execution_module = {
    "execution", "Execution Engine", 9005, FM_M_DB, FM_ROUTES(routes), subs, ex_work_start, ex_work_stop,
};
