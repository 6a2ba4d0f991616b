/*
 * exec_signal.c — BPMN signals (docs/execution.md, "Signals"): subscriptions of signal
 * catch events, boundaries, event subprocess starts and event-based gateways
 * (`signal_subs`, dropped with a token's other waits by ex_waits_drop), and broadcasts.
 *
 * A broadcast is a `signal_queue` row made in one transaction: by POST /signals, or by
 * a signal throw or end event inside its instance's step. It reaches every subscription
 * of its tenant and name that existed when it was made (id <= upto, ids never reused)
 * — waiting catches and boundaries, event subprocesses, and the signal start event of
 * every published process (one new instance each). Delivery runs in transactions of at
 * most SIG_BATCH subscriptions, each of which also advances the row's done_to, so any
 * number of subscriptions is reached with bounded transactions, and a crash between
 * two of them resumes where the last commit left (recovery at start).
 */
#include "exec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_BATCH 16            /* subscriptions delivered per transaction */
#define SIG_LIST_MAX 100        /* executions listed in a POST /signals answer */

static int64_t recover_upto;    /* queue rows left by a previous run (set before serving) */

static const char SQL_SUB_ADD[] =
    "INSERT INTO signal_subs(tenant_id, name, instance_id, token_id, scope_id, element, kind) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_QUEUE_ADD[] =
    "INSERT INTO signal_queue(tenant_id, name, variables, upto, origin, created_at) "
    "VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM signal_subs), ?, ?)";
static const char SQL_QUEUE_GET[] =
    "SELECT tenant_id, name, variables, upto, done_to FROM signal_queue WHERE id = ?";
static const char SQL_QUEUE_SET[] = "UPDATE signal_queue SET done_to = ? WHERE id = ?";
static const char SQL_QUEUE_DEL[] = "DELETE FROM signal_queue WHERE id = ?";
static const char SQL_SUBS[] =
    "SELECT id, instance_id, token_id, scope_id, element, kind, process_id, version FROM signal_subs "
    "WHERE tenant_id = ? AND name = ? AND id > ? AND id <= ? ORDER BY id LIMIT " /* SIG_BATCH */ "16";
static const char SQL_SUB_DEL[] = "DELETE FROM signal_subs WHERE id = ?";

bool ex_signal_sub(ex_tx_t *tx, ex_inst_t *in, int token, int sid, const ex_node_t *n, const char *kind,
                   char *why, size_t wl)
{
    bool bad = false;
    why[0] = 0;
    char *name = ex_expr_string(in, sid, &n->signal, why, wl, &bad);
    if (!name || !*name) {
        if (!bad)
            snprintf(why, wl, "the signal name of '%s' is empty", n->id);
        free(name);
        return false;
    }
    sqlite3_stmt *st = ex_stmt(tx, SQL_SUB_ADD);
    bool ok = false;
    if (st) {
        sqlite3_bind_text(st, 1, in->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, in->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, token);
        sqlite3_bind_int(st, 5, sid);
        sqlite3_bind_text(st, 6, n->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, kind, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    free(name);
    if (!ok)
        snprintf(why, wl, "the signal subscription of '%s' could not be stored", n->id);
    return ok;
}

/* Queues a broadcast in tx; returns the row id (0 on failure). */
static int64_t queue_add(ex_tx_t *tx, const char *tenant, const char *name, const cJSON *vars, const char *origin)
{
    char *text = cJSON_IsObject(vars) ? cJSON_PrintUnformatted(vars) : NULL;
    sqlite3_stmt *st = ex_stmt(tx, SQL_QUEUE_ADD);
    int64_t id = 0;
    if (st) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text ? text : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, origin, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, tx->now, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            id = fm_dbq_last_id(tx->w);
        sqlite3_reset(st);
    }
    cJSON_free(text);
    return id;
}

bool ex_signal_throw(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300] = "";
    bool bad = false;
    char *name = ex_expr_string(in, t->scope, &n->signal, why, sizeof(why), &bad);
    if (!name || !*name) {
        if (!bad)
            snprintf(why, sizeof(why), "the signal name of '%s' is empty", n->id);
        free(name);
        ex_incident(tx, in, tid, "expression", why);
        return false;
    }
    /* the signal's variables: the throw event's own (its zeebe:input mappings) */
    ex_scope_t *io = ex_io_of(in, t);
    int64_t id = queue_add(tx, in->tenant, name, io ? io->vars : NULL, "throw");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "signalName", name);
    ex_hist(tx, in, "signal.thrown", t->node, tid, d);
    free(name);
    if (!id) {
        ex_incident(tx, in, tid, "expression", "the signal could not be queued");
        return false;
    }
    tx->after.signals = true;
    return true;
}

typedef struct sigrow {
    int64_t id;
    char inst[48], el[200], kind[16], pid[80];
    int token, scope, version;
} sigrow_t;

static void list_add(cJSON *out, const char *inst, const char *el, bool started)
{
    if (!out)
        return;
    cJSON *n = cJSON_GetObjectItem(out, started ? "started" : "triggered");
    cJSON_SetNumberValue(n, n->valuedouble + 1);
    cJSON *list = cJSON_GetObjectItem(out, "executions");
    if (cJSON_GetArraySize(list) >= SIG_LIST_MAX)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "executionId", inst);
    cJSON_AddStringToObject(o, "elementId", el);
    cJSON_AddBoolToObject(o, "started", started);
    cJSON_AddItemToArray(list, o);
}

/* One subscription reached by the signal (inside tx). */
static void deliver(ex_tx_t *tx, const char *tenant, const sigrow_t *r, const cJSON *vars, cJSON *out)
{
    if (!strcmp(r->kind, "start")) {
        ex_def_t *d;
        const char *field;
        char why[300];
        ex_inst_t *in;
        if (ex_def_get(tenant, r->pid, r->version, &d, &field, why, sizeof(why)) != FM_OK)
            return;
        int node = ex_node_find(d, r->el);
        if (node >= 0 && ex_start(tx, d, NULL, vars, NULL, NULL, 0, node, &in) == FM_OK)
            list_add(out, in->id, r->el, true);
        return;
    }
    ex_inst_t *in;
    if (ex_load(tx, tenant, r->inst, &in) != FM_OK || in->state != I_ACTIVE)
        return;     /* paused instances let signals pass, as they let timers wait */
    int rc = ex_trigger(tx, in, r->kind, r->token, r->scope, r->el, vars);
    if (rc == FM_ENOTFOUND) {       /* a stale row: drop it */
        sqlite3_stmt *st = ex_stmt(tx, SQL_SUB_DEL);
        if (st) {
            sqlite3_bind_int64(st, 1, r->id);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    } else if (rc == FM_OK)
        list_add(out, r->inst, r->el, false);
}

/* One transaction of queue row qid: up to SIG_BATCH subscriptions. *done when the
 * broadcast has reached everything (the row is gone). */
static int deliver_batch(fm_db_t *db, int64_t qid, cJSON *out, bool *done)
{
    ex_tx_t tx;
    int rc = ex_tx_begin(&tx, db);
    if (rc != FM_OK)
        return rc;
    *done = true;
    char tenant[80] = "", name[300] = "";
    cJSON *vars = NULL;
    int64_t upto = 0, from = 0;
    sqlite3_stmt *st = ex_stmt(&tx, SQL_QUEUE_GET);
    bool found = false;
    if (st) {
        sqlite3_bind_int64(st, 1, qid);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = true;
            snprintf(tenant, sizeof(tenant), "%s", sqlite3_column_text(st, 0));
            snprintf(name, sizeof(name), "%s", sqlite3_column_text(st, 1));
            vars = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
            upto = sqlite3_column_int64(st, 3);
            from = sqlite3_column_int64(st, 4);
        }
        sqlite3_reset(st);
    }
    if (!found)
        return ex_tx_end(&tx, FM_OK);
    sigrow_t rows[SIG_BATCH];
    int n = 0;
    st = ex_stmt(&tx, SQL_SUBS);
    if (st) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, from);
        sqlite3_bind_int64(st, 4, upto);
        while (n < SIG_BATCH && sqlite3_step(st) == SQLITE_ROW) {
            sigrow_t *r = &rows[n++];
            const char *inst = (const char *)sqlite3_column_text(st, 1);
            const char *pid = (const char *)sqlite3_column_text(st, 6);
            r->id = sqlite3_column_int64(st, 0);
            snprintf(r->inst, sizeof(r->inst), "%s", inst ? inst : "");
            r->token = sqlite3_column_int(st, 2);
            r->scope = sqlite3_column_int(st, 3);
            snprintf(r->el, sizeof(r->el), "%s", sqlite3_column_text(st, 4));
            snprintf(r->kind, sizeof(r->kind), "%s", sqlite3_column_text(st, 5));
            snprintf(r->pid, sizeof(r->pid), "%s", pid ? pid : "");
            r->version = sqlite3_column_int(st, 7);
        }
        sqlite3_reset(st);
    }
    int64_t last = from;
    for (int i = 0; i < n; i++) {
        /* room for what one delivery may load (the instance, children it starts) */
        if (i > 0 && tx.ninsts > EX_MAX_TX_INSTANCES - 8)
            break;
        deliver(&tx, tenant, &rows[i], vars, out);
        last = rows[i].id;
    }
    cJSON_Delete(vars);
    st = ex_stmt(&tx, n ? SQL_QUEUE_SET : SQL_QUEUE_DEL);
    if (st) {
        if (n) {
            sqlite3_bind_int64(st, 1, last);
            sqlite3_bind_int64(st, 2, qid);
        } else
            sqlite3_bind_int64(st, 1, qid);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = FM_EDB;
        sqlite3_reset(st);
    } else
        rc = FM_EDB;
    *done = n == 0;
    return ex_tx_end(&tx, rc);
}

/* Delivers queue row qid to the end (bounded: each round moves done_to forward). */
static int deliver_all(fm_db_t *db, int64_t qid, cJSON *out)
{
    for (int round = 0; round < 1000000; round++) {
        bool done = false;
        int rc = deliver_batch(db, qid, out, &done);
        if (rc != FM_OK || done)
            return rc;
    }
    return FM_OK;
}

int ex_signal_broadcast(fm_db_t *db, const char *tenant, const char *name, const cJSON *vars, cJSON *out)
{
    ex_tx_t tx;
    int rc = ex_tx_begin(&tx, db);
    if (rc != FM_OK)
        return rc;
    int64_t qid = queue_add(&tx, tenant, name, vars, "http");
    rc = ex_tx_end(&tx, qid ? FM_OK : FM_EDB);
    if (rc != FM_OK)
        return rc;
    if (out) {
        cJSON_AddNumberToObject(out, "started", 0);
        cJSON_AddNumberToObject(out, "triggered", 0);
        cJSON_AddArrayToObject(out, "executions");
    }
    return deliver_all(db, qid, out);
}

void ex_signal_recover_mark(fm_db_t *db)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT COALESCE(MAX(id), 0) FROM signal_queue", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        recover_upto = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
}

void ex_signal_drain(fm_db_t *db)
{
    for (int round = 0; round < 10000; round++) {
        int64_t ids[64];
        int n = 0;
        sqlite3 *c = fm_db_reader(db);
        if (!c)
            return;
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c, "SELECT id FROM signal_queue WHERE origin = 'throw' OR id <= ? ORDER BY id LIMIT 64",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, recover_upto);
            while (n < 64 && sqlite3_step(st) == SQLITE_ROW)
                ids[n++] = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
        fm_db_reader_done(db, c);
        for (int i = 0; i < n; i++)
            if (deliver_all(db, ids[i], NULL) != FM_OK)
                return;
        if (n < 64)
            return;
    }
}
