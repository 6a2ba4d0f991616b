/*
 * exec_run.c — the token machine: BPMN semantics over an instance document loaded in a
 * transaction (exec_int.h). A token is READY when it has arrived at a node and must
 * execute it; ex_execute (exec_elements.c) runs the node's behaviour and either moves
 * the token on, parks it in a wait state (with the rows that index the wait), or ends
 * it. ex_run executes READY tokens until none is left, then fires inclusive joins that
 * became ready. This file holds moving on, ending, cancelling and completing, the run
 * loop, and the entry points the routes and the worker call.
 */
#include "exec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run_once(ex_tx_t *tx, ex_inst_t *in);

/* ---- flows ---- */

/* Moves token tid along flow f (the token is reused: READY at the target). */
void ex_move(ex_inst_t *in, int tid, int f)
{
    ex_tok_t *t = ex_tok(in, tid);
    t->node = in->def->flows[f].dst;
    t->flow = f;
    t->wait = W_READY;
    t->flags = 0;
    t->ref[0] = 0;
    in->dirty = true;
}

/* Takes the flows in fl (n of them) from token tid; n == 0 ends the token. */
void ex_take(ex_tx_t *tx, ex_inst_t *in, int tid, const int *fl, int n)
{
    if (n == 0) {
        ex_token_end(tx, in, tid);
        return;
    }
    int sc = ex_tok(in, tid)->scope;
    for (int i = 1; i < n; i++) {
        int nt = ex_tok_new(in, in->def->flows[fl[i]].dst, sc, fl[i]);
        (void)nt;
    }
    ex_move(in, tid, fl[0]);
}

/* Evaluates a flow condition: 1 true, 0 false, -1 error (why). */
static int cond(ex_inst_t *in, int sid, const ex_flow_t *f, char *why, size_t whylen)
{
    if (!f->cond)
        return 1;
    feel_eval_t *ev;
    feel_value_t *v;
    if (!ex_eval_value(in, sid, f->cond, &ev, &v, why, whylen))
        return -1;
    return v->t == FEEL_BOOL && v->u.b;
}

/* Outgoing flows of an activity or inclusive gateway: the unconditional ones and the
 * true ones; the default only when no condition held. Returns the count or -1. */
int ex_pick_flows(ex_tx_t *tx, ex_inst_t *in, int tid, int *fl, bool exclusive)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int k = 0, sid = t->scope;
    for (int i = 0; i < n->nout; i++) {
        int f = n->out[i];
        if (f == n->deflt)
            continue;
        char why[300];
        int c = cond(in, sid, &in->def->flows[f], why, sizeof(why));
        if (c < 0) {
            char msg[400];
            snprintf(msg, sizeof(msg), "condition of flow '%s': %s", in->def->flows[f].id, why);
            ex_incident(tx, in, tid, "condition", msg);
            return -1;
        }
        if (c) {
            fl[k++] = f;
            if (exclusive)
                break;
        }
    }
    if (k == 0 && n->deflt >= 0)
        fl[k++] = n->deflt;
    if (k == 0 && n->nout > 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "no outgoing flow of '%s' has a true condition and there is no default flow",
                 n->id);
        ex_incident(tx, in, tid, "condition", msg);
        return -1;
    }
    return k;
}

/* ---- leaving ---- */

/* Element start with zeebe:ioMapping: a scope of its own holding the inputs
 * (evaluated where the element lives). false: an incident stopped the token. */
bool ex_io_enter(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    cJSON *vars = cJSON_CreateObject();
    for (int i = 0; i < n->nins; i++) {
        char why[300];
        cJSON *v = ex_eval_json(in, t->scope, n->ins[i].source.feel, why, sizeof(why));
        if (!v) {
            char msg[400];
            snprintf(msg, sizeof(msg), "input mapping of '%s': %s", n->id, why);
            cJSON_Delete(vars);
            ex_incident(tx, in, tid, "expression", msg);
            return false;
        }
        cJSON_AddItemToObject(vars, n->ins[i].target ? n->ins[i].target : "input", v);
    }
    int io = ex_scope_new(in, S_IO, ex_tok(in, tid)->scope, ex_tok(in, tid)->node, tid);
    ex_scope_t *sc = ex_scope(in, io);
    cJSON_Delete(sc->vars);
    sc->vars = vars;
    ex_tok_set_scope(in, tid, io);
    return true;
}

/* Element end with zeebe:ioMapping: the outputs are evaluated in its scope and
 * written where it lives; the scope goes. false: an incident stopped the token. */
static bool io_leave(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    ex_scope_t *io = ex_io_of(in, t);
    if (!io)
        return true;
    const ex_node_t *n = &in->def->nodes[t->node];
    int io_id = io->id, parent = io->parent;
    cJSON *out = cJSON_CreateObject();
    for (int i = 0; i < n->nouts; i++) {
        char why[300];
        cJSON *v = ex_eval_json(in, io_id, n->outs[i].source.feel, why, sizeof(why));
        if (!v) {
            char msg[400];
            snprintf(msg, sizeof(msg), "output mapping of '%s': %s", n->id, why);
            cJSON_Delete(out);
            ex_incident(tx, in, tid, "expression", msg);
            return false;
        }
        cJSON_AddItemToObject(out, n->outs[i].target ? n->outs[i].target : "output", v);
    }
    ex_scope_remove(in, io_id);
    ex_tok_set_scope(in, tid, parent);
    t = ex_tok(in, tid);
    ex_vars_merge(tx, in, parent, out, t->node, tid);
    cJSON_Delete(out);
    return true;
}

/* The activity of token tid completed: record it, drop what it waited on, go on. */
void ex_leave(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (!t)
        return;
    if (!io_leave(tx, in, tid))
        return;
    t = ex_tok(in, tid);
    if (ex_is_iter(in, t)) {
        ex_mi_iter_done(tx, in, tid);
        return;
    }
    ex_mark(tx, in, t->node, tid, false);
    if (t->flags & TF_ARMED)
        ex_waits_drop(tx, in, tid, 0);
    t = ex_tok(in, tid);
    t->flags &= ~TF_ARMED;
    const ex_node_t *n = &in->def->nodes[t->node];
    if (n->nout <= 1) {
        if (n->nout == 1 && in->def->flows[n->out[0]].cond) {
            int fl[1];
            int k = ex_pick_flows(tx, in, tid, fl, false);
            if (k >= 0)
                ex_take(tx, in, tid, fl, k);
            return;
        }
        ex_take(tx, in, tid, n->out, n->nout);
        return;
    }
    int *fl = malloc(sizeof(int) * (size_t)n->nout);
    if (!fl)
        return;
    int k = ex_pick_flows(tx, in, tid, fl, false);
    if (k >= 0)
        ex_take(tx, in, tid, fl, k);
    free(fl);
}

/* ---- ending and cancelling ---- */

void ex_token_end(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (!t)
        return;
    int sid = t->scope;
    ex_tok_remove(in, tid);
    ex_scope_check(tx, in, sid);
}

/* Scope sid may have finished: complete what owns it. */
void ex_scope_check(ex_tx_t *tx, ex_inst_t *in, int sid)
{
    if (in->state >= I_COMPLETED || ex_scope_busy(in, sid))
        return;
    if (sid == 0) {
        ex_complete_instance(tx, in, I_COMPLETED);
        return;
    }
    ex_scope_t *s = ex_scope(in, sid);
    if (!s)
        return;
    int kind = s->kind, owner = s->owner, parent = s->parent, node = s->node;
    if (kind == S_SUB) {
        ex_waits_drop(tx, in, 0, sid);
        ex_scope_remove(in, sid);
        ex_leave(tx, in, owner);
    } else if (kind == S_EVSUB) {
        ex_mark(tx, in, node, 0, false);
        ex_scope_remove(in, sid);
        ex_scope_check(tx, in, parent);
    } else if (kind == S_MI_ITER) {
        ex_scope_remove(in, sid);
    }
}

/* Cancels everything inside scope sid (tokens, nested scopes, event subprocess
 * subscriptions) but not the scope itself. */
void ex_cancel_inside(ex_tx_t *tx, ex_inst_t *in, int sid)
{
    /* the victims are listed first and cancelled after (each one that is still there):
     * one pass over the instance, not one per victim */
    for (int pass = 0; pass < 100; pass++) {
        int *victims = malloc(sizeof(int) * (size_t)(in->ntoks + 1)), n = 0;
        if (!victims)
            return;
        for (int i = 0; i < in->ntoks; i++)
            if (ex_scope_within(in, in->toks[i].scope, sid))
                victims[n++] = in->toks[i].id;
        for (int i = 0; i < n; i++)
            ex_cancel_token(tx, in, victims[i]);
        free(victims);
        if (!n)
            break;
    }
    int *victims = malloc(sizeof(int) * (size_t)(in->nscopes + 1)), n = 0;
    if (!victims)
        return;
    for (int i = 0; i < in->nscopes; i++)
        if (in->scopes[i].id != sid && ex_scope_within(in, in->scopes[i].id, sid))
            victims[n++] = in->scopes[i].id;
    for (int i = 0; i < n; i++) {
        ex_scope_t *v = ex_scope(in, victims[i]);
        if (!v)
            continue;
        if (v->kind != S_MI_ITER && v->kind != S_IO)    /* those never hold timers or subscriptions */
            ex_waits_drop(tx, in, 0, victims[i]);
        ex_scope_remove(in, victims[i]);
    }
    free(victims);
    ex_waits_drop(tx, in, 0, sid);
}

/* Cancels one token and whatever it waits for (its scope, task, job, child). */
void ex_cancel_token(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (!t)
        return;
    ex_scope_t *io = ex_io_of(in, t);
    int io_id = io ? io->id : 0;
    int wait = t->wait;
    char ref[48];
    snprintf(ref, sizeof(ref), "%s", t->ref);
    if (t->flags & TF_ARMED || wait == W_MSG || wait == W_TIMER || wait == W_EVENT || wait == W_SIGNAL)
        ex_waits_drop(tx, in, tid, 0);
    if (wait == W_SUB || wait == W_MI) {
        int inner = atoi(ref);
        ex_cancel_inside(tx, in, inner);
        ex_scope_remove(in, inner);
    } else if (wait == W_TASK) {
        ex_task_unlink(tx, in, tid, true);
    } else if (wait == W_JOB) {
        ex_job_drop(tx, in, tid);
    } else if (wait == W_CALL && ref[0]) {
        ex_inst_t *child;
        if (ex_load(tx, in->tenant, ref, &child) == FM_OK && child->state < I_COMPLETED) {
            child->parent_token = 0;     /* do not report back */
            ex_cancel(tx, child);
        }
    } else if (wait == W_INCIDENT && ref[0]) {
        ex_incident_close(tx, in, ref);
        ex_job_drop(tx, in, tid);       /* a job out of retries */
        in->incidents--;
    }
    ex_tok_remove(in, tid);
    if (io_id)
        ex_scope_remove(in, io_id);
}

/* ---- completion ---- */

void ex_complete_instance(ex_tx_t *tx, ex_inst_t *in, int state)
{
    if (in->state >= I_COMPLETED)
        return;
    while (in->ntoks)
        ex_cancel_token(tx, in, in->toks[0].id);
    while (in->nscopes) {
        ex_waits_drop(tx, in, 0, in->scopes[0].id);
        ex_scope_remove(in, in->scopes[0].id);
    }
    ex_waits_drop(tx, in, 0, 0);
    in->state = state;
    snprintf(in->ended_at, sizeof(in->ended_at), "%s", tx->now);
    in->dirty = true;
    const char *name = state == I_COMPLETED ? "completed" : state == I_CANCELLED ? "cancelled" : "failed";
    char h[40], e[48];
    snprintf(h, sizeof(h), "instance.%s", name);
    snprintf(e, sizeof(e), "execution.instance.%s", name);
    ex_hist(tx, in, h, -1, 0, NULL);
    ex_event(tx, in, e, -1, 0, NULL);
    if (state == I_COMPLETED && in->parent_id[0] && in->parent_token)
        ex_notify_parent(tx, in, NULL);
}

/* A child finished: the call activity token of its parent moves on (or gets its error). */
void ex_notify_parent(ex_tx_t *tx, ex_inst_t *child, const char *err_code)
{
    ex_inst_t *p;
    if (ex_load(tx, child->tenant, child->parent_id, &p) != FM_OK || p->state >= I_COMPLETED)
        return;
    ex_tok_t *t = ex_tok(p, child->parent_token);
    if (!t || t->wait != W_CALL)
        return;
    int tid = t->id;
    const ex_node_t *n = &p->def->nodes[t->node];
    if (err_code) {
        char msg[300];
        snprintf(msg, sizeof(msg), "called process failed with error '%s'", err_code);
        t->wait = W_READY;
        t->ref[0] = 0;
        ex_throw_error(tx, p, tid, t->scope, tid, err_code, msg, NULL);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    if (n->has_outs) {
        for (int i = 0; i < n->nouts; i++) {
            char why[300];
            cJSON *v = ex_eval_json(child, 0, n->outs[i].source.feel, why, sizeof(why));
            if (!v) {
                cJSON_Delete(out);
                ex_incident(tx, p, tid, "expression", why);
                return;
            }
            cJSON_AddItemToObject(out, n->outs[i].target ? n->outs[i].target : "result", v);
        }
    } else {
        const cJSON *c;
        cJSON_ArrayForEach(c, child->vars) cJSON_AddItemToObject(out, c->string, cJSON_Duplicate(c, true));
    }
    t = ex_tok(p, tid);
    t->wait = W_READY;
    t->ref[0] = 0;
    ex_vars_merge(tx, p, t->scope, out, t->node, tid);
    cJSON_Delete(out);
    ex_leave(tx, p, tid);
}

/* Executes READY tokens until none is left; fires ready inclusive joins. */
int ex_run(ex_tx_t *tx, ex_inst_t *in)
{
    if (in->running)        /* a nested change (a message this instance sent): the outer run goes on */
        return FM_OK;
    in->running = true;
    int rc = run_once(tx, in);
    in->running = false;
    return rc;
}

static int run_once(ex_tx_t *tx, ex_inst_t *in)
{
    for (;;) {
        if (in->state != I_ACTIVE)
            return FM_OK;
        /* the first READY token in array order; none lies before in->scan (exec_doc.c),
         * so tokens that wait are passed over once, not at every step */
        int ready = 0;
        if (in->scan < 0)
            in->scan = 0;
        for (; in->scan < in->ntoks && !ready; in->scan++)
            if (in->toks[in->scan].wait == W_READY) {
                ready = in->toks[in->scan].id;
                break;
            }
        if (ready) {
            if (++tx->steps > EX_MAX_STEPS) {
                char msg[200];
                snprintf(msg, sizeof(msg), "step limit reached: %d element executions in one step without a "
                         "wait state (a loop?)", EX_MAX_STEPS);
                ex_incident(tx, in, ready, "limit", msg);
                ex_tok_t *t = ex_tok(in, ready);
                if (t)
                    t->flags |= TF_STEP_LIMIT;
                return FM_OK;
            }
            ex_execute(tx, in, ready);
            continue;
        }
        int fired = 0;
        for (int i = 0; i < in->ntoks && !fired; i++) {
            ex_tok_t *x = &in->toks[i];
            if (x->wait == W_JOIN && in->def->nodes[x->node].kind == N_OR)
                fired = ex_or_join_ready(in, x->node, x->scope);
        }
        if (!fired)
            return FM_OK;
        ex_tok_t *t = ex_tok(in, fired);
        t->wait = W_READY;
        ex_gateway_out(tx, in, fired);
    }
}

/* Runs every loaded instance until none has work (a child finishing moves its parent). */
void ex_run_all(ex_tx_t *tx)
{
    for (int pass = 0; pass < 100; pass++) {
        bool any = false;
        for (int i = 0; i < tx->ninsts; i++) {
            ex_inst_t *in = tx->insts[i];
            if (in->state != I_ACTIVE || in->running)
                continue;
            for (int j = 0; j < in->ntoks; j++)
                if (in->toks[j].wait == W_READY) {
                    any = true;
                    break;
                }
            if (any) {
                ex_run(tx, in);
                break;
            }
        }
        if (!any) {
            /* inclusive joins that became ready through another instance's change */
            for (int i = 0; i < tx->ninsts; i++)
                if (tx->insts[i]->state == I_ACTIVE)
                    ex_run(tx, tx->insts[i]);
            if (tx->nwishes)
                ex_msgbuf_deliver(tx);     /* subscriptions opened now may take buffered messages */
            return;
        }
    }
}

/* ---- entry points ---- */

static int add_inst(ex_tx_t *tx, ex_inst_t *in)
{
    if (tx->ninsts == EX_MAX_TX_INSTANCES)
        return FM_EBUSY;
    tx->insts[tx->ninsts++] = in;
    return FM_OK;
}

int ex_load(ex_tx_t *tx, const char *tenant, const char *id, ex_inst_t **out)
{
    for (int i = 0; i < tx->ninsts; i++)
        if (!strcmp(tx->insts[i]->id, id) && !strcmp(tx->insts[i]->tenant, tenant)) {
            *out = tx->insts[i];
            return FM_OK;
        }
    ex_inst_t *in;
    int rc = ex_store_load(tx, tenant, id, &in);
    if (rc != FM_OK)
        return rc;
    if ((rc = add_inst(tx, in)) != FM_OK) {
        ex_inst_free(in);
        return rc;
    }
    *out = in;
    return FM_OK;
}

int ex_start(ex_tx_t *tx, ex_def_t *def, const char *business_key, const cJSON *vars,
             const char *idem_key, const char *parent_id, int parent_token, int start_node,
             ex_inst_t **out)
{
    ex_inst_t *in = calloc(1, sizeof(*in));
    if (!in)
        return FM_ENOMEM;
    ex_id("exe", in->id, sizeof(in->id));
    snprintf(in->tenant, sizeof(in->tenant), "%s", def->tenant ? def->tenant : "default");
    snprintf(in->process_id, sizeof(in->process_id), "%s", def->process_id ? def->process_id : "");
    snprintf(in->bpmn_id, sizeof(in->bpmn_id), "%s", def->bpmn_id);
    in->version = def->version;
    in->def = def;
    in->business_key = business_key ? strdup(business_key) : NULL;
    in->idem_key = idem_key ? strdup(idem_key) : NULL;
    if (parent_id)
        snprintf(in->parent_id, sizeof(in->parent_id), "%s", parent_id);
    in->parent_token = parent_token;
    in->vars = cJSON_IsObject(vars) ? cJSON_Duplicate(vars, true) : cJSON_CreateObject();
    in->hist = cJSON_CreateArray();
    in->is_new = in->dirty = true;
    in->state = I_ACTIVE;
    snprintf(in->created_at, sizeof(in->created_at), "%s", tx->now);
    int rc = add_inst(tx, in);
    if (rc != FM_OK) {
        ex_inst_free(in);
        return rc;
    }
    *out = in;
    ex_hist(tx, in, "instance.started", -1, 0, NULL);
    ex_event(tx, in, "execution.instance.started", -1, 0, NULL);
    ex_arm_evsubs(tx, in, 0, def->evsubs, def->nevsubs);
    if (start_node < 0) {
        for (int i = 0; i < def->nstarts; i++)
            if (def->nodes[def->starts[i]].ev == E_NONE) {
                start_node = def->starts[i];
                break;
            }
        if (start_node < 0 && def->nstarts)
            start_node = def->starts[0];   /* a message/timer start started by hand */
    }
    ex_tok_new(in, start_node, 0, -1);
    ex_run_all(tx);
    return FM_OK;
}

int ex_trigger(ex_tx_t *tx, ex_inst_t *in, const char *kind, int token, int scope_id,
               const char *element, const cJSON *vars)
{
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    int node = ex_node_find(in->def, element);
    if (node < 0)
        return FM_ENOTFOUND;
    const ex_node_t *n = &in->def->nodes[node];
    if (!strcmp(kind, "catch")) {
        ex_tok_t *t = ex_tok(in, token);
        if (!t || (t->wait != W_MSG && t->wait != W_TIMER && t->wait != W_SIGNAL) || t->node != node)
            return FM_ENOTFOUND;
        ex_waits_drop(tx, in, token, 0);
        t = ex_tok(in, token);
        t->wait = W_READY;
        t->flags &= ~TF_ARMED;
        if (vars)
            ex_vars_merge(tx, in, t->scope, vars, node, token);
        ex_leave(tx, in, token);
    } else if (!strcmp(kind, "boundary")) {
        ex_tok_t *a = ex_tok(in, token);
        if (!a || n->attached != a->node)
            return FM_ENOTFOUND;
        int sc = ex_act_scope(in, a);
        if (n->interrupting) {
            ex_mark(tx, in, a->node, token, false);
            ex_cancel_token(tx, in, token);
        }
        int b = ex_tok_new(in, node, sc, -1);
        if (vars)
            ex_vars_merge(tx, in, sc, vars, node, b);
    } else if (!strcmp(kind, "event")) {
        ex_tok_t *t = ex_tok(in, token);
        if (!t || t->wait != W_EVENT)
            return FM_ENOTFOUND;
        ex_waits_drop(tx, in, token, 0);
        ex_mark(tx, in, t->node, token, false);
        int f = -1;
        const ex_node_t *g = &in->def->nodes[t->node];
        for (int i = 0; i < g->nout; i++)
            if (in->def->flows[g->out[i]].dst == node)
                f = g->out[i];
        if (f < 0)
            return FM_ENOTFOUND;
        ex_move(in, token, f);
        ex_mark(tx, in, node, token, true);
        t = ex_tok(in, token);
        if (vars)
            ex_vars_merge(tx, in, t->scope, vars, node, token);
        ex_leave(tx, in, token);
    } else if (!strcmp(kind, "mi")) {
        if (ex_mi_continue(tx, in, scope_id) != FM_OK)
            return FM_ENOTFOUND;
    } else if (!strcmp(kind, "evsub")) {
        if (scope_id && !ex_scope(in, scope_id))
            return FM_ENOTFOUND;
        if (n->interrupting)
            ex_waits_drop(tx, in, 0, scope_id);
        ex_trigger_evsub(tx, in, scope_id, node, vars);
    } else
        return FM_EINVAL;
    in->dirty = true;
    ex_run_all(tx);
    return FM_OK;
}

int ex_task_done(ex_tx_t *tx, ex_inst_t *in, int token, const char *task_id, const cJSON *response)
{
    ex_tok_t *t = ex_tok(in, token);
    if (!t || t->wait != W_TASK || strcmp(t->ref, task_id))
        return FM_ENOTFOUND;
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    ex_task_unlink(tx, in, token, false);
    t = ex_tok(in, token);
    t->wait = W_READY;
    if (response)
        ex_vars_merge(tx, in, t->scope, response, t->node, token);
    ex_leave(tx, in, token);
    ex_run_all(tx);
    return FM_OK;
}

int ex_job_done(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id, const cJSON *vars)
{
    ex_tok_t *t = ex_tok(in, token);
    if (!t || t->wait != W_JOB || strcmp(t->ref, job_id))
        return FM_ENOTFOUND;
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    t->wait = W_READY;
    if (vars)
        ex_vars_merge(tx, in, t->scope, vars, t->node, token);
    ex_leave(tx, in, token);
    ex_run_all(tx);
    return FM_OK;
}

int ex_job_error(ex_tx_t *tx, ex_inst_t *in, int token, const char *code, const char *msg, const cJSON *vars)
{
    ex_tok_t *t = ex_tok(in, token);
    if (!t || t->wait != W_JOB)
        return FM_ENOTFOUND;
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    ex_job_drop(tx, in, token);
    t = ex_tok(in, token);
    t->wait = W_READY;
    ex_throw_error(tx, in, token, t->scope, token, code, msg, vars);
    ex_run_all(tx);
    return FM_OK;
}

int ex_job_incident(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id, const char *msg)
{
    ex_tok_t *t = ex_tok(in, token);
    if (!t || t->wait != W_JOB)
        return FM_ENOTFOUND;
    char id[48];
    const ex_node_t *n = &in->def->nodes[t->node];
    int rc = ex_incident_add(tx, in, token, n->id, "job", msg, job_id, id, sizeof(id));
    if (rc != FM_OK)
        return rc;
    t = ex_tok(in, token);
    t->wait = W_INCIDENT;
    snprintf(t->ref, sizeof(t->ref), "%s", id);
    ex_incident_noted(tx, in, t->node, token, id, "job", msg);
    return FM_OK;
}

int ex_incident_retry(ex_tx_t *tx, ex_inst_t *in, int token)
{
    ex_tok_t *t = ex_tok(in, token);
    if (t && t->wait == W_INCIDENT) {
        t->wait = W_READY;
        t->ref[0] = 0;
        in->dirty = true;
    }
    if (in->incidents > 0)
        in->incidents--;
    if (in->state == I_ACTIVE)
        ex_run_all(tx);
    return FM_OK;
}

int ex_incident_retry_job(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id)
{
    (void)tx;
    ex_tok_t *t = ex_tok(in, token);
    if (t && t->wait == W_INCIDENT) {
        t->wait = W_JOB;
        snprintf(t->ref, sizeof(t->ref), "%s", job_id);
    }
    if (in->incidents > 0)
        in->incidents--;
    in->dirty = true;
    return FM_OK;
}

int ex_cancel(ex_tx_t *tx, ex_inst_t *in)
{
    if (in->state >= I_COMPLETED)
        return FM_ECONFLICT;
    ex_complete_instance(tx, in, I_CANCELLED);
    return FM_OK;
}

int ex_set_state(ex_tx_t *tx, ex_inst_t *in, int state)
{
    if (state == I_PAUSED && in->state != I_ACTIVE)
        return FM_ECONFLICT;
    if (state == I_ACTIVE && in->state != I_PAUSED)
        return FM_ECONFLICT;
    in->state = state;
    in->dirty = true;
    const char *w = state == I_PAUSED ? "paused" : "resumed";
    char h[40], e[48];
    snprintf(h, sizeof(h), "instance.%s", w);
    snprintf(e, sizeof(e), "execution.instance.%s", w);
    ex_hist(tx, in, h, -1, 0, NULL);
    ex_event(tx, in, e, -1, 0, NULL);
    if (state == I_ACTIVE && in->held) {   /* messages that came while paused (exec_work.c) */
        cJSON *held = in->held;
        in->held = NULL;
        const cJSON *m;
        cJSON_ArrayForEach(m, held)
        {
            const cJSON *v = cJSON_GetArrayItem(m, 4);
            ex_trigger(tx, in, cJSON_GetStringValue(cJSON_GetArrayItem(m, 0)),
                       (int)cJSON_GetNumberValue(cJSON_GetArrayItem(m, 1)),
                       (int)cJSON_GetNumberValue(cJSON_GetArrayItem(m, 2)),
                       cJSON_GetStringValue(cJSON_GetArrayItem(m, 3)), cJSON_IsObject(v) ? v : NULL);
        }
        cJSON_Delete(held);
        in->dirty = true;
    }
    if (state == I_ACTIVE)
        ex_run_all(tx);
    return FM_OK;
}

int ex_set_vars(ex_tx_t *tx, ex_inst_t *in, const cJSON *vars)
{
    if (in->state >= I_COMPLETED)
        return FM_ECONFLICT;
    if (vars && vars->child) {
        /* the cause of a step-limit incident may have changed: it may be resolved now */
        for (int i = 0; i < in->ntoks; i++)
            in->toks[i].flags &= ~TF_STEP_LIMIT;
        cJSON *changed = cJSON_CreateObject();
        const cJSON *c;
        cJSON_ArrayForEach(c, vars)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(in->vars, c->string);
            cJSON_AddItemToObject(in->vars, c->string, cJSON_Duplicate(c, true));
            cJSON_AddItemToObject(changed, c->string, cJSON_Duplicate(c, true));
        }
        in->dirty = true;
        ex_hist(tx, in, "variables.changed", -1, 0, changed);
    }
    return FM_OK;
}
