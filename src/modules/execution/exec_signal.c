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
    bool ok = fm_dbq_wrun(tx->w, SQL_SUB_ADD, "sssiiss", in->tenant, name, in->id, token, sid, n->id, kind) == FM_OK;
    free(name);
    if (!ok)
        snprintf(why, wl, "the signal subscription of '%s' could not be stored", n->id);
    return ok;
}

/* Queues a broadcast in tx; returns the row id (0 on failure). */
static int64_t queue_add(ex_tx_t *tx, const char *tenant, const char *name, const cJSON *vars, const char *origin)
{
    char *text = cJSON_IsObject(vars) ? cJSON_PrintUnformatted(vars) : NULL;
    int64_t id = 0;
    if (fm_dbq_wrun(tx->w, SQL_QUEUE_ADD, "sssss", tenant, name, text ? text : "{}", origin, tx->now) == FM_OK)
        id = fm_dbq_last_id(tx->w);
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

typedef ex_subrow_t sigrow_t;      /* exec_work.c reads them */

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
        fm_dbq_wrun(tx->w, SQL_SUB_DEL, "I", r->id);
    } else if (rc == FM_OK)
        list_add(out, r->inst, r->el, false);
}

typedef struct { char tenant[80], name[300]; cJSON *vars; int64_t upto, from; } sigq_t;

static int queue_row(const fm_dbrow_t *st, void *arg)
{
    sigq_t *q = arg;
    fm_dbrow_copy(st, 0, q->tenant, sizeof(q->tenant));
    fm_dbrow_copy(st, 1, q->name, sizeof(q->name));
    q->vars = fm_dbrow_json(st, 2);
    q->upto = fm_dbrow_int(st, 3);
    q->from = fm_dbrow_int(st, 4);
    return FM_OK;
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
    sigq_t q = { "", "", NULL, 0, 0 };
    rc = fm_dbq_wone(tx.w, SQL_QUEUE_GET, queue_row, &q, "I", qid);
    if (rc != FM_OK)
        return ex_tx_end(&tx, rc == FM_ENOTFOUND ? FM_OK : rc);
    sigrow_t rows[SIG_BATCH];
    ex_subrows_t got = { rows, 0, SIG_BATCH };
    rc = fm_dbq_weach(tx.w, SQL_SUBS, ex_subrow_add, &got, "ssII", q.tenant, q.name, q.from, q.upto);
    int n = got.n;
    int64_t last = q.from;
    for (int i = 0; i < n && rc == FM_OK; i++) {
        /* room for what one delivery may load (the instance, children it starts) */
        if (i > 0 && tx.ninsts > EX_MAX_TX_INSTANCES - 8)
            break;
        deliver(&tx, q.tenant, &rows[i], q.vars, out);
        last = rows[i].id;
    }
    cJSON_Delete(q.vars);
    if (rc == FM_OK)
        rc = n ? fm_dbq_wrun(tx.w, SQL_QUEUE_SET, "II", last, qid) : fm_dbq_wrun(tx.w, SQL_QUEUE_DEL, "I", qid);
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
    fm_dbc_t *c = fm_dbq_reader(db);
    int64_t upto = 0;
    if (c && fm_dbq_int(c, "SELECT COALESCE(MAX(id), 0) FROM signal_queue", &upto, "") == FM_OK)
        recover_upto = upto;
    fm_dbq_reader_done(c);
}

typedef struct { int64_t *ids; int n; } idlist_t;

static int id_row(const fm_dbrow_t *st, void *arg)
{
    idlist_t *l = arg;
    if (l->n < 64)
        l->ids[l->n++] = fm_dbrow_int(st, 0);
    return FM_OK;
}

void ex_signal_drain(fm_db_t *db)
{
    for (int round = 0; round < 10000; round++) {
        int64_t ids[64];
        idlist_t l = { ids, 0 };
        if (fm_dbq_read_each(db, "SELECT id FROM signal_queue WHERE origin = 'throw' OR id <= ? ORDER BY id LIMIT 64",
                             id_row, &l, "I", recover_upto) != FM_OK)
            return;
        int n = l.n;
        for (int i = 0; i < n; i++)
            if (deliver_all(db, ids[i], NULL) != FM_OK)
                return;
        if (n < 64)
            return;
    }
}
