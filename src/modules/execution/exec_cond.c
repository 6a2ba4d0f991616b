/*
 * exec_cond.c — conditional and link events (docs/execution.md, "BPMN supported").
 *
 * Conditional events hold no rows: their conditions are FEEL over the variables, and
 * the only way those change is a step of the instance (a script, a job or task answer,
 * a message, PUT /variables). So after every step, once no token is ready, run_once
 * (exec_run.c) asks ex_cond_check to evaluate the conditions of what is waiting: tokens
 * at a conditional intermediate catch, activities with an interrupting conditional
 * boundary armed, and the interrupting conditional starts of the event subprocesses of
 * every active scope. A true condition fires as the event would (a catch moves on, a
 * boundary cancels its activity and leaves, an event subprocess interrupts its scope);
 * a condition that fails to evaluate counts as false (FEEL null), as in Camunda.
 * Non-interrupting conditional events would need "became true" edges remembered per
 * subscription: they are refused at start (exec_def.c) rather than fired on every step.
 *
 * A link throw event moves its token to the link catch event of the same name in the
 * same scope (resolved when the definition is compiled).
 *
 * A complex gateway splits like an inclusive one. Joining, with an activationCondition
 * (FEEL over the variables and `activationCount`, the incoming flows that have brought
 * a token in this round): evaluated as each token arrives; when true, one token goes
 * on and the tokens of the round are absorbed (TF_CX_USED), as are those that arrive
 * later, until every incoming flow has brought one or none can any more (the inclusive
 * join's rule, ex_or_join_ready); then the round is over and the next arrival starts a
 * new one. Without an activationCondition it joins as an inclusive gateway.
 */
#include "exec_int.h"

#include <stdio.h>
#include <string.h>

static bool holds(ex_inst_t *in, int sid, const ex_node_t *n)
{
    char why[300];
    feel_eval_t *ev = NULL;
    feel_value_t *v = NULL;
    if (!n->condition || !ex_eval_value(in, sid, n->condition, &ev, &v, why, sizeof(why)))
        return false;
    return v && feel_is_true(v);
}

void ex_cond_catch(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (holds(in, t->scope, &in->def->nodes[t->node])) {
        ex_leave(tx, in, tid);
        return;
    }
    t = ex_tok(in, tid);
    t->wait = W_COND;
    in->dirty = true;
}

/* An event subprocess of scope sid (0: root) with a conditional start whose condition
 * holds, not already running in that scope: started (interrupting). */
static bool check_evsubs(ex_tx_t *tx, ex_inst_t *in, int sid, const int *evs, int nevs)
{
    for (int i = 0; i < nevs; i++) {
        const ex_node_t *e = &in->def->nodes[evs[i]];
        bool running = false;
        for (int k = 0; k < in->nscopes && !running; k++)
            running = in->scopes[k].kind == S_EVSUB && in->scopes[k].parent == sid && in->scopes[k].node == evs[i];
        if (running)
            continue;
        for (int j = 0; j < e->nstarts; j++) {
            const ex_node_t *st = &in->def->nodes[e->starts[j]];
            if (st->ev != E_CONDITIONAL || !holds(in, sid, st))
                continue;
            ex_waits_drop(tx, in, 0, sid);
            ex_trigger_evsub(tx, in, sid, e->starts[j], NULL);
            return true;
        }
    }
    return false;
}

bool ex_cond_check(ex_tx_t *tx, ex_inst_t *in)
{
    if (!in->def->has_cond || in->state != I_ACTIVE)
        return false;
    /* event subprocesses first: an interrupting one cancels what the others wait in */
    if (check_evsubs(tx, in, 0, in->def->evsubs, in->def->nevsubs))
        return true;
    for (int k = 0; k < in->nscopes; k++) {
        const ex_scope_t *s = &in->scopes[k];
        if ((s->kind == S_SUB || s->kind == S_EVSUB) &&
            check_evsubs(tx, in, s->id, in->def->nodes[s->node].evsubs, in->def->nodes[s->node].nevsubs))
            return true;
    }
    for (int i = 0; i < in->ntoks; i++) {
        ex_tok_t *t = &in->toks[i];
        const ex_node_t *n = &in->def->nodes[t->node];
        int tid = t->id;
        if (t->wait == W_COND) {
            if (!holds(in, t->scope, n))
                continue;
            t->wait = W_READY;
            ex_leave(tx, in, tid);
            in->dirty = true;
            return true;
        }
        if (!(t->flags & TF_ARMED) || t->wait == W_READY || t->wait == W_INCIDENT)
            continue;
        for (int j = 0; j < n->nbounds; j++) {
            const ex_node_t *b = &in->def->nodes[n->bounds[j]];
            if (b->ev != E_CONDITIONAL || !holds(in, t->scope, b))
                continue;
            int sc = ex_act_scope(in, t);
            ex_mark(tx, in, t->node, tid, false);
            ex_cancel_token(tx, in, tid);
            ex_tok_new(in, n->bounds[j], sc, -1);
            in->dirty = true;
            return true;
        }
    }
    return false;
}

void ex_link_jump(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    ex_mark(tx, in, t->node, tid, false);
    t = ex_tok(in, tid);
    t->node = n->link;
    t->flow = -1;
    t->wait = W_READY;
    t->flags = 0;
    t->ref[0] = 0;
    in->dirty = true;
}

static bool at(const ex_tok_t *x, int node, int sid)
{
    return x->node == node && x->scope == sid && x->wait == W_JOIN;
}

/* The tokens waiting at (node, sid) in a round not fired yet: fires when the
 * activationCondition holds. */
static bool cx_activate(ex_tx_t *tx, ex_inst_t *in, int node, int sid)
{
    const ex_node_t *n = &in->def->nodes[node];
    int count = 0;
    for (int k = 0; k < n->nin; k++) {
        bool filled = false;
        for (int i = 0; i < in->ntoks && !filled; i++)
            filled = at(&in->toks[i], node, sid) && !(in->toks[i].flags & TF_CX_USED) && in->toks[i].flow == n->in[k];
        count += filled;
    }
    if (!count)
        return false;
    cJSON *vars = ex_scope_vars(in, sid);
    cJSON *had = cJSON_DetachItemFromObjectCaseSensitive(vars, "activationCount");
    cJSON_AddNumberToObject(vars, "activationCount", count);
    bool go = holds(in, sid, n);
    cJSON_DeleteItemFromObjectCaseSensitive(vars, "activationCount");
    if (had)
        cJSON_AddItemToObject(vars, "activationCount", had);
    if (!go)
        return false;
    for (int i = 0; i < in->ntoks; i++)
        if (at(&in->toks[i], node, sid))
            in->toks[i].flags |= TF_CX_USED;
    int t = ex_tok_new(in, node, sid, -1);
    ex_gateway_out(tx, in, t);
    in->dirty = true;
    return true;
}

void ex_cx_arrive(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    int node = t->node, sid = t->scope;
    for (int i = 0; i < in->ntoks; i++)
        if (at(&in->toks[i], node, sid) && (in->toks[i].flags & TF_CX_USED)) {
            ex_tok(in, tid)->flags |= TF_CX_USED;      /* fired already: absorbed */
            return;
        }
    cx_activate(tx, in, node, sid);
}

bool ex_cx_check(ex_tx_t *tx, ex_inst_t *in)
{
    if (!in->def->has_cond || in->state != I_ACTIVE)
        return false;
    for (int i = 0; i < in->ntoks; i++) {
        ex_tok_t *x = &in->toks[i];
        if (x->wait != W_JOIN || !(x->flags & TF_CX_USED) || in->def->nodes[x->node].kind != N_COMPLEX)
            continue;
        int node = x->node, sid = x->scope;
        int first = ex_or_join_ready(in, node, sid);
        if (!first)
            continue;
        ex_tok_remove(in, first);
        /* a second token on a flow belongs to the next round */
        for (int k = 0; k < in->ntoks; k++)
            if (at(&in->toks[k], node, sid))
                in->toks[k].flags &= ~TF_CX_USED;
        cx_activate(tx, in, node, sid);
        ex_scope_check(tx, in, sid);
        in->dirty = true;
        return true;
    }
    return false;
}
