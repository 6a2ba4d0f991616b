/*
 * exec_comp.c — compensation and transactions (docs/execution.md, "Compensation and
 * transactions").
 *
 * Each time an activity with a compensation boundary completes, the instance document
 * gets a record [node, scope, seq, via, thrower, handler token] ("cp"): one per
 * activity instance, seq in completion order. When an embedded subprocess completes,
 * the records made inside it move to the scope it lives in (via: the subprocess, so an
 * activityRef naming it finds them) — or are dropped when the subprocess has a
 * compensation handler of its own, which then stands for them. Records of a scope that
 * is cancelled go with it.
 *
 * A compensation throw (intermediate or end event; with activityRef only that
 * activity's records) claims the records of its scope and waits (W_COMP); their
 * handlers run one at a time, newest record first, each as a token in the thrower's
 * scope. When a handler's token ends the next one starts; when none is left the
 * thrower goes on (TF_COMP_DONE: executed again, it leaves or ends). A cancel end
 * event inside a transaction does the same for the transaction's records, then
 * cancels the transaction and takes its cancel boundary.
 */
#include "exec_int.h"

#include <stdio.h>
#include <string.h>

enum { C_NODE, C_SCOPE, C_SEQ, C_VIA, C_THROWER, C_HANDLER };

static int num(const cJSON *r, int i)
{
    return (int)cJSON_GetNumberValue(cJSON_GetArrayItem(r, i));
}

static void set(cJSON *r, int i, int v)
{
    cJSON_SetNumberValue(cJSON_GetArrayItem(r, i), v);
}

void ex_comp_record(ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (!in->comp && !(in->comp = cJSON_CreateArray()))
        return;
    cJSON *r = cJSON_CreateArray();
    int v[6] = { t->node, t->scope, ++in->next_id, -1, 0, 0 };
    for (int i = 0; i < 6; i++)
        cJSON_AddItemToArray(r, cJSON_CreateNumber(v[i]));
    cJSON_AddItemToArray(in->comp, r);
    in->dirty = true;
}

void ex_comp_scope_done(ex_inst_t *in, int sid, int parent, int node)
{
    bool own = in->def->nodes[node].comp >= 0;
    for (cJSON *r = in->comp ? in->comp->child : NULL, *next; r; r = next) {
        next = r->next;
        if (num(r, C_SCOPE) != sid || num(r, C_THROWER))
            continue;
        if (own) {
            cJSON_Delete(cJSON_DetachItemViaPointer(in->comp, r));
        } else {
            set(r, C_SCOPE, parent);
            set(r, C_VIA, node);
        }
    }
    in->dirty = true;
}

void ex_comp_scope_gone(ex_inst_t *in, int sid)
{
    for (cJSON *r = in->comp ? in->comp->child : NULL, *next; r; r = next) {
        next = r->next;
        if (num(r, C_SCOPE) == sid && !num(r, C_THROWER))
            cJSON_Delete(cJSON_DetachItemViaPointer(in->comp, r));
    }
}

/* Starts the handler of the newest record claimed by thrower; none left: the thrower
 * goes on. */
static void next_handler(ex_inst_t *in, int thrower)
{
    cJSON *best = NULL;
    for (cJSON *r = in->comp ? in->comp->child : NULL; r; r = r->next)
        if (num(r, C_THROWER) == thrower && !num(r, C_HANDLER) && (!best || num(r, C_SEQ) > num(best, C_SEQ)))
            best = r;
    ex_tok_t *t = ex_tok(in, thrower);
    if (!t)
        return;
    in->dirty = true;
    if (best) {
        int h = ex_tok_new(in, in->def->nodes[num(best, C_NODE)].comp, ex_tok(in, thrower)->scope, -1);
        set(best, C_HANDLER, h);
        return;
    }
    t->wait = W_READY;
    t->flags |= TF_COMP_DONE | TF_SKIP_ENTER;
}

/* The cancel end event's handlers have run: the transaction is cancelled and its
 * cancel boundary taken. */
static void cancel_transaction(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    int node = t->node;
    ex_scope_t *s = ex_scope(in, t->scope);
    ex_mark(tx, in, node, tid, false);
    ex_tok_t *owner = s ? ex_tok(in, s->owner) : NULL;
    if (!owner) {
        ex_token_end(tx, in, tid);
        return;
    }
    int oid = owner->id, bound = in->def->nodes[owner->node].cancel_bound;
    int sc = ex_act_scope(in, owner);
    ex_mark(tx, in, owner->node, oid, false);
    ex_cancel_token(tx, in, oid);       /* everything inside, this token too */
    ex_tok_new(in, bound, sc, -1);
    in->dirty = true;
}

void ex_comp_throw(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    if (t->flags & TF_COMP_DONE) {
        t->flags &= ~TF_COMP_DONE;
        if (n->ev == E_CANCEL)
            cancel_transaction(tx, in, tid);
        else if (n->kind == N_END) {
            ex_mark(tx, in, t->node, tid, false);
            ex_token_end(tx, in, tid);
        } else
            ex_leave(tx, in, tid);
        return;
    }
    int ref = n->ev == E_COMPENSATE && n->code ? ex_node_find(in->def, n->code) : -1;
    int claimed = 0;
    for (cJSON *r = in->comp ? in->comp->child : NULL; r; r = r->next)
        if (num(r, C_SCOPE) == t->scope && !num(r, C_THROWER) &&
            (ref < 0 || num(r, C_NODE) == ref || num(r, C_VIA) == ref)) {
            set(r, C_THROWER, tid);
            claimed++;
        }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "handlers", claimed);
    ex_hist(tx, in, n->ev == E_CANCEL ? "transaction.cancelled" : "compensation.thrown", t->node, tid, d);
    t = ex_tok(in, tid);
    t->wait = W_COMP;
    next_handler(in, tid);
}

void ex_comp_token_ended(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    (void)tx;
    for (cJSON *r = in->comp ? in->comp->child : NULL; r; r = r->next)
        if (num(r, C_HANDLER) == tid) {
            int thrower = num(r, C_THROWER);
            cJSON_Delete(cJSON_DetachItemViaPointer(in->comp, r));
            next_handler(in, thrower);
            return;
        }
}
