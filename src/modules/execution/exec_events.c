/*
 * exec_events.c — what happens around activities rather than along flows: arming
 * boundary and event-subprocess waits, errors and escalations travelling up through
 * scopes to the boundary or event subprocess that catches them, multi-instance bodies
 * and their iterations, and parallel and inclusive joins.
 */
#include "exec_int.h"

#include "../../fm_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arms the timer and message boundary events of the activity token tid. */
bool ex_arm_bounds(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    t->flags |= TF_ARMED;
    for (int i = 0; i < n->nbounds; i++) {
        const ex_node_t *b = &in->def->nodes[n->bounds[i]];
        char why[300];
        if (b->ev == E_TIMER) {
            int64_t due, every;
            int repeat;
            if (!ex_timer_due(tx, in, t->scope, b, &due, &repeat, &every, why, sizeof(why))) {
                ex_incident(tx, in, tid, "expression", why);
                return false;
            }
            ex_timer_add(tx, in, tid, 0, b->id, "boundary", due, repeat, every);
        } else if (b->ev == E_MESSAGE) {
            char *key = NULL;
            if (b->corr) {
                cJSON *k = ex_eval_json(in, t->scope, b->corr, why, sizeof(why));
                if (!k) {
                    ex_incident(tx, in, tid, "expression", why);
                    return false;
                }
                key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
                cJSON_Delete(k);
            }
            ex_msg_add(tx, in, tid, 0, b->id, "boundary", b->msg_name, key ? key : "");
            free(key);
        } else if (b->ev == E_SIGNAL && !ex_signal_sub(tx, in, tid, t->scope, b, "boundary", why, sizeof(why))) {
            ex_incident(tx, in, tid, "expression", why);
            return false;
        }
    }
    return true;
}

/* Arms the event subprocesses of scope sid (root: 0). */
void ex_arm_evsubs(ex_tx_t *tx, ex_inst_t *in, int sid, const int *evsubs, int nevsubs)
{
    for (int i = 0; i < nevsubs; i++) {
        const ex_node_t *e = &in->def->nodes[evsubs[i]];
        for (int j = 0; j < e->nstarts; j++) {
            const ex_node_t *st = &in->def->nodes[e->starts[j]];
            char why[300];
            if (st->ev == E_TIMER) {
                int64_t due, every;
                int repeat;
                if (ex_timer_due(tx, in, sid, st, &due, &repeat, &every, why, sizeof(why)))
                    ex_timer_add(tx, in, 0, sid, st->id, "evsub", due, repeat, every);
            } else if (st->ev == E_MESSAGE) {
                char *key = NULL;
                if (st->corr) {
                    cJSON *k = ex_eval_json(in, sid, st->corr, why, sizeof(why));
                    if (k)
                        key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
                    cJSON_Delete(k);
                }
                ex_msg_add(tx, in, 0, sid, st->id, "evsub", st->msg_name, key ? key : "");
                free(key);
            } else if (st->ev == E_SIGNAL) {
                ex_signal_sub(tx, in, 0, sid, st, "evsub", why, sizeof(why));
            }
        }
    }
}

/* ---- errors and escalations ---- */

static bool code_matches(const ex_node_t *catcher, const char *code)
{
    return !catcher->code || (code && !strcmp(catcher->code, code));
}

/* Variables an event brings to boundary token b (the variables of a job's error, as in
 * Camunda 8): with output mappings they are the boundary's own, for its outputs to
 * read; without, they go to the scope it lives in. */
static void boundary_vars(ex_tx_t *tx, ex_inst_t *in, int b, const cJSON *vars)
{
    ex_tok_t *t = ex_tok(in, b);
    const ex_node_t *n = &in->def->nodes[t->node];
    if (!n->has_outs) {
        ex_vars_merge(tx, in, t->scope, vars, t->node, b);
        return;
    }
    int io = ex_scope_new(in, S_IO, t->scope, t->node, b);
    ex_scope_t *s = ex_scope(in, io);
    cJSON_Delete(s->vars);
    s->vars = cJSON_Duplicate(vars, true);
    ex_tok_set_scope(in, b, io);
}

static bool catch_on_activity(ex_tx_t *tx, ex_inst_t *in, int atid, ex_ev_t ev, const char *code,
                              const cJSON *vars)
{
    ex_tok_t *a = ex_tok(in, atid);
    if (!a)
        return false;
    const ex_node_t *n = &in->def->nodes[a->node];
    for (int i = 0; i < n->nbounds; i++) {
        const ex_node_t *b = &in->def->nodes[n->bounds[i]];
        if (b->ev != ev || !code_matches(b, code))
            continue;
        int sc = ex_act_scope(in, a);
        if (b->interrupting || ev == E_ERROR) {
            ex_mark(tx, in, a->node, atid, false);
            ex_cancel_token(tx, in, atid);
        }
        int bt = ex_tok_new(in, n->bounds[i], sc, -1);
        if (cJSON_IsObject(vars) && vars->child)
            boundary_vars(tx, in, bt, vars);
        return true;
    }
    return false;
}

/* Boundary of the activity token atid catching (ev, code): interrupting ones cancel
 * the activity. Returns true when caught. */
bool ex_catch_on_activity(ex_tx_t *tx, ex_inst_t *in, int atid, ex_ev_t ev, const char *code)
{
    return catch_on_activity(tx, in, atid, ev, code, NULL);
}

/* Event subprocess of scope sid (container's list) catching (ev, code). */
static bool catch_in_scope(ex_tx_t *tx, ex_inst_t *in, int sid, ex_ev_t ev, const char *code,
                           const cJSON *vars);

bool ex_trigger_evsub(ex_tx_t *tx, ex_inst_t *in, int sid, int start, const cJSON *vars)
{
    const ex_node_t *st = &in->def->nodes[start];
    int evsub = st->container;
    if (st->interrupting)
        ex_cancel_inside(tx, in, sid);
    int x = ex_scope_new(in, S_EVSUB, sid, evsub, 0);
    ex_scope_t *xs = ex_scope(in, x);
    xs->interrupting = st->interrupting;
    ex_mark(tx, in, evsub, 0, true);
    ex_arm_evsubs(tx, in, x, in->def->nodes[evsub].evsubs, in->def->nodes[evsub].nevsubs);
    int t = ex_tok_new(in, start, x, -1);
    if (vars)
        ex_vars_merge(tx, in, x, vars, start, t);
    return true;
}

static bool catch_in_scope(ex_tx_t *tx, ex_inst_t *in, int sid, ex_ev_t ev, const char *code,
                           const cJSON *vars)
{
    ex_scope_t *s = sid ? ex_scope(in, sid) : NULL;
    const int *evs = sid ? in->def->nodes[s->node].evsubs : in->def->evsubs;
    int nevs = sid ? in->def->nodes[s->node].nevsubs : in->def->nevsubs;
    if (sid && s->kind != S_SUB && s->kind != S_EVSUB)
        nevs = 0;
    for (int i = 0; i < nevs; i++) {
        const ex_node_t *e = &in->def->nodes[evs[i]];
        for (int j = 0; j < e->nstarts; j++) {
            const ex_node_t *st = &in->def->nodes[e->starts[j]];
            if (st->ev == ev && code_matches(st, code))
                return ex_trigger_evsub(tx, in, sid, e->starts[j], vars);
        }
    }
    return false;
}

/* From scope sid outwards: an event subprocess of each scope, then the boundary of
 * the subprocess or multi-instance activity owning it. true when something caught it. */
static bool catch_up(ex_tx_t *tx, ex_inst_t *in, int sid, ex_ev_t ev, const char *code, const cJSON *vars)
{
    for (int guard = 0; guard < 1000; guard++) {
        if (catch_in_scope(tx, in, sid, ev, code, vars))
            return true;
        if (!sid)
            return false;
        ex_scope_t *s = ex_scope(in, sid);
        if (!s)
            return false;
        if ((s->kind == S_SUB || s->kind == S_MI_BODY) && catch_on_activity(tx, in, s->owner, ev, code, vars))
            return true;
        sid = s->parent;
    }
    return false;
}

/* Throws an error from token tid (in scope sid). activity_tok: the activity that threw
 * it (a job or a call), whose own boundaries are tried first; 0 when an end event
 * threw it. */
void ex_throw_error(ex_tx_t *tx, ex_inst_t *in, int tid, int sid, int activity_tok,
                        const char *code, const char *msg, const cJSON *vars)
{
    if (activity_tok && catch_on_activity(tx, in, activity_tok, E_ERROR, code, vars))
        return;
    if (!activity_tok && tid)
        ex_tok_remove(in, tid);
    else if (activity_tok) {
        ex_tok_t *a = ex_tok(in, activity_tok);
        if (a)
            sid = ex_act_scope(in, a);
    }
    if (catch_up(tx, in, sid, E_ERROR, code, vars))
        return;
    /* nobody caught it */
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "errorCode", code ? code : "");
    cJSON_AddStringToObject(d, "message", msg ? msg : "");
    ex_hist(tx, in, "error.unhandled", -1, tid, d);
    char pid[48];
    snprintf(pid, sizeof(pid), "%s", in->parent_id);
    int ptok = in->parent_token;
    in->parent_token = 0;
    ex_complete_instance(tx, in, I_FAILED);
    if (pid[0] && ptok) {
        in->parent_token = ptok;
        ex_notify_parent(tx, in, code ? code : "");
    }
}

void ex_throw_escalation(ex_tx_t *tx, ex_inst_t *in, int sid, const char *code)
{
    if (catch_up(tx, in, sid, E_ESCALATION, code, NULL))
        return;
    if (in->parent_id[0] && in->parent_token) {
        ex_inst_t *p;
        if (ex_load(tx, in->tenant, in->parent_id, &p) == FM_OK && p->state < I_COMPLETED) {
            ex_tok_t *t = ex_tok(p, in->parent_token);
            if (t && !ex_catch_on_activity(tx, p, t->id, E_ESCALATION, code))
                ex_throw_escalation(tx, p, t->scope, code);
        }
    }
}

/* ---- multi-instance ----
 * A body scope holds the collection (mi_items) and the output collection (mi_out), both
 * indexed in memory so that iteration i reads and writes its entry in O(1). A parallel
 * body starts its iterations in slices: EX_MI_SLICE of them first, then EX_MI_SLICE (or
 * 1/EX_MI_SLICES of the collection when that is more) per transaction, each after a
 * "mi" timer row due at once — durable like any timer, so after kill -9 the next slice
 * starts at recovery — which lets other instances' transactions run in between. A
 * sequential body goes on in a later transaction in the same way once its transaction
 * has run EX_MI_SLICE steps. */

static cJSON **array_index(cJSON *arr, int n)
{
    cJSON **at = calloc((size_t)(n > 0 ? n : 1), sizeof(*at));
    int i = 0;
    cJSON *c;
    if (at)
        cJSON_ArrayForEach(c, arr) if (i < n) at[i++] = c;
    return at;
}

static void spawn_iter(ex_inst_t *in, int body, int i)
{
    ex_scope_t *b = ex_scope(in, body);
    int node = b->node;
    const ex_node_t *n = &in->def->nodes[node];
    if (b->mi_items && !b->mi_item_at)
        b->mi_item_at = array_index(b->mi_items, b->mi_n);
    cJSON *item = b->mi_items && b->mi_item_at && i < b->mi_n ? b->mi_item_at[i] : NULL;
    cJSON *itemcopy = item ? cJSON_Duplicate(item, true) : NULL;
    int it = ex_scope_new(in, S_MI_ITER, body, node, 0);
    ex_scope_t *is = ex_scope(in, it);
    cJSON_AddNumberToObject(is->vars, "loopCounter", i + 1);
    if (n->mi_in_elem)
        cJSON_AddItemToObject(is->vars, n->mi_in_elem, itemcopy ? itemcopy : cJSON_CreateNull());
    else
        cJSON_Delete(itemcopy);
    int t = ex_tok_new(in, node, it, -1);
    is = ex_scope(in, it);
    is->owner = t;
}

/* Starts the next iteration of a sequential body, or the first EX_MI_SLICE of a
 * parallel one (in the transaction that reached the activity, often a request's); a
 * parallel body with more to start leaves a "mi" timer for the next transaction. */
static void mi_spawn_slice(ex_tx_t *tx, ex_inst_t *in, int body)
{
    ex_scope_t *b = ex_scope(in, body);
    const ex_node_t *n = &in->def->nodes[b->node];
    if (n->mi_seq) {
        if (b->mi_next == b->mi_done && b->mi_next < b->mi_n) {
            int next = b->mi_next++;
            spawn_iter(in, body, next);
        }
        return;
    }
    int end = b->mi_n - b->mi_next > EX_MI_SLICE ? b->mi_next + EX_MI_SLICE : b->mi_n;
    while (b->mi_next < end) {
        int i = b->mi_next++;
        spawn_iter(in, body, i);
        b = ex_scope(in, body);
    }
    if (b->mi_next < b->mi_n)
        ex_timer_add(tx, in, 0, body, n->id, "mi", tx->now_ms, 0, 0);
}

int ex_mi_continue(ex_tx_t *tx, ex_inst_t *in, int body)
{
    ex_scope_t *b = ex_scope(in, body);
    if (!b || b->kind != S_MI_BODY)
        return FM_ENOTFOUND;
    if (in->def->nodes[b->node].mi_seq) {
        mi_spawn_slice(tx, in, body);
        return FM_OK;
    }
    /* up to 1/EX_MI_SLICES of the collection, EX_MI_SLICE iterations at a time, each
     * run before the next are started, and no further once half the step limit is
     * used: iterations with many steps each do not reach the step limit meant for loops */
    const char *el = in->def->nodes[b->node].id;
    int slice = b->mi_n / EX_MI_SLICES > EX_MI_SLICE ? b->mi_n / EX_MI_SLICES : EX_MI_SLICE;
    for (int started = 0; started < slice;) {
        int end = b->mi_n - b->mi_next > EX_MI_SLICE ? b->mi_next + EX_MI_SLICE : b->mi_n;
        started += end - b->mi_next;
        while (b->mi_next < end) {
            int i = b->mi_next++;
            spawn_iter(in, body, i);
            b = ex_scope(in, body);
        }
        ex_run(tx, in);
        b = ex_scope(in, body);
        if (!b || in->state != I_ACTIVE || b->mi_next >= b->mi_n)
            return FM_OK;
        if (tx->steps >= EX_MAX_STEPS / 2)
            break;
    }
    ex_timer_add(tx, in, 0, body, el, "mi", tx->now_ms, 0, 0);
    return FM_OK;
}

static void mi_set_counts(ex_inst_t *in, ex_scope_t *b)
{
    /* iterations of a parallel body not started yet count as active: they are, for the
     * model; only their start is spread over transactions */
    int active = in->def->nodes[b->node].mi_seq ? b->mi_next - b->mi_done : b->mi_n - b->mi_done;
    cJSON *v = b->vars;
    cJSON_DeleteItemFromObject(v, "nrOfInstances");
    cJSON_DeleteItemFromObject(v, "nrOfCompletedInstances");
    cJSON_DeleteItemFromObject(v, "nrOfActiveInstances");
    cJSON_AddNumberToObject(v, "nrOfInstances", b->mi_n);
    cJSON_AddNumberToObject(v, "nrOfCompletedInstances", b->mi_done);
    cJSON_AddNumberToObject(v, "nrOfActiveInstances", active);
}

void ex_mi_begin(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300] = "";
    cJSON *items = NULL;
    int count = 0, max = fm_cfg()->execution_mi_max_items;
    if (max <= 0)
        max = 100000;
    if (n->mi_coll) {
        items = ex_eval_json(in, t->scope, n->mi_coll, why, sizeof(why));
        if (!items || !cJSON_IsArray(items)) {
            if (items)
                snprintf(why, sizeof(why), "inputCollection of '%s' is not a list", n->id);
            cJSON_Delete(items);
            ex_incident(tx, in, tid, "expression", why);
            return;
        }
        count = cJSON_GetArraySize(items);
        if (count > max) {
            snprintf(why, sizeof(why),
                     "inputCollection of '%s' has %d items, more than the %d one multi-instance activity may "
                     "have (execution.mi_max_items)", n->id, count, max);
            cJSON_Delete(items);
            ex_incident(tx, in, tid, "limit", why);
            return;
        }
    } else {
        feel_eval_t *ev;
        feel_value_t *v = NULL;
        int64_t c;
        if (!ex_eval_value(in, t->scope, n->mi_card, &ev, &v, why, sizeof(why)) || v->t != FEEL_NUM ||
            !feel_dec_to_int64(v->u.n, &c) || c < 0) {
            if (!why[0] || v)
                snprintf(why, sizeof(why), "loopCardinality of '%s' is not a count", n->id);
            ex_incident(tx, in, tid, "expression", why);
            return;
        }
        if (c > max) {
            snprintf(why, sizeof(why),
                     "loopCardinality of '%s' is %lld, more than the %d iterations one multi-instance activity "
                     "may have (execution.mi_max_items)", n->id, (long long)c, max);
            ex_incident(tx, in, tid, "limit", why);
            return;
        }
        count = (int)c;
    }
    if (!(t->flags & TF_SKIP_ENTER))
        ex_mark(tx, in, t->node, tid, true);
    t = ex_tok(in, tid);
    t->flags &= ~TF_SKIP_ENTER;
    if (count == 0) {
        cJSON_Delete(items);
        if (n->mi_out_coll)
            ex_var_set(tx, in, t->scope, n->mi_out_coll, cJSON_CreateArray(), NULL);
        ex_leave(tx, in, tid);
        return;
    }
    int body = ex_scope_new(in, S_MI_BODY, t->scope, t->node, tid);
    ex_scope_t *b = ex_scope(in, body);
    b->mi_n = count;
    b->mi_items = items;
    if (n->mi_out_coll) {
        b->mi_out = cJSON_CreateArray();
        for (int i = 0; i < count; i++)
            cJSON_AddItemToArray(b->mi_out, cJSON_CreateNull());
    }
    t = ex_tok(in, tid);
    t->wait = W_MI;
    snprintf(t->ref, sizeof(t->ref), "%d", body);
    if (!ex_arm_bounds(tx, in, tid))
        return;
    mi_spawn_slice(tx, in, body);
}

void ex_mi_iter_done(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    int node = t->node, iter = t->scope;
    const ex_node_t *n = &in->def->nodes[node];
    ex_mark(tx, in, node, tid, false);
    if (t->flags & TF_ARMED)
        ex_waits_drop(tx, in, tid, 0);
    ex_scope_t *is = ex_scope(in, iter);
    int body = is->parent;
    int counter = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(is->vars, "loopCounter"));
    char why[300];
    ex_scope_t *b = ex_scope(in, body);
    if (b->mi_out && n->mi_out_elem) {
        cJSON *v = ex_eval_json(in, iter, n->mi_out_elem, why, sizeof(why));
        b = ex_scope(in, body);
        if (!b->mi_out_at)
            b->mi_out_at = array_index(b->mi_out, b->mi_n);
        if (v && b->mi_out_at && counter >= 1 && counter <= b->mi_n &&
            cJSON_ReplaceItemViaPointer(b->mi_out, b->mi_out_at[counter - 1], v))
            b->mi_out_at[counter - 1] = v;
        else
            cJSON_Delete(v);
    }
    ex_tok_remove(in, tid);
    ex_scope_remove(in, iter);
    b = ex_scope(in, body);
    b->mi_done++;
    mi_set_counts(in, b);
    bool done = b->mi_done >= b->mi_n;
    if (!done && n->mi_cond) {
        feel_eval_t *ev;
        feel_value_t *v;
        if (ex_eval_value(in, body, n->mi_cond, &ev, &v, why, sizeof(why)) && v->t == FEEL_BOOL && v->u.b)
            done = true;
    }
    b = ex_scope(in, body);
    int owner = b->owner;
    if (!done) {
        if (n->mi_seq && b->mi_next < b->mi_n) {
            if (tx->steps >= EX_MI_SLICE)       /* the rest in a later transaction */
                ex_timer_add(tx, in, 0, body, n->id, "mi", tx->now_ms, 0, 0);
            else
                mi_spawn_slice(tx, in, body);
        }
        return;
    }
    ex_cancel_inside(tx, in, body);
    b = ex_scope(in, body);
    cJSON *out = b->mi_out;
    b->mi_out = NULL;
    ex_scope_remove(in, body);
    ex_tok_t *o = ex_tok(in, owner);
    if (!o) {
        cJSON_Delete(out);
        return;
    }
    o->wait = W_READY;
    o->ref[0] = 0;
    if (out) {
        cJSON *changed = cJSON_CreateObject();
        ex_var_set(tx, in, o->scope, n->mi_out_coll, out, changed);
        ex_hist(tx, in, "variables.changed", node, owner, changed);
    }
    ex_leave(tx, in, owner);
}

/* ---- joins ---- */

/* Parallel join: all incoming flows have a token waiting? Then the others are
 * consumed and tid goes on. */
bool ex_and_join(ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int node = t->node, sc = t->scope;
    int *pick = calloc((size_t)n->nin, sizeof(int));
    if (!pick)
        return false;
    bool all = true;
    for (int i = 0; i < n->nin && all; i++) {
        int f = n->in[i];
        if (t->flow == f) {
            pick[i] = tid;
            continue;
        }
        for (int j = 0; j < in->ntoks && !pick[i]; j++) {
            ex_tok_t *x = &in->toks[j];
            if (x->node == node && x->scope == sc && x->wait == W_JOIN && x->flow == f)
                pick[i] = x->id;
        }
        all = pick[i] != 0;
    }
    if (all)
        for (int i = 0; i < n->nin; i++)
            if (pick[i] != tid)
                ex_tok_remove(in, pick[i]);
    free(pick);
    return all;
}

/* Where a token of a scope nested in sid stands, seen from sid. */
static int position_in(ex_inst_t *in, const ex_tok_t *x, int sid)
{
    int s = x->scope, node = x->node;
    for (int guard = 0; guard < 1000; guard++) {
        if (s == sid)
            return node;
        if (!s)
            return -1;
        ex_scope_t *sc = ex_scope(in, s);
        if (!sc)
            return -1;
        node = sc->node;
        s = sc->parent;
    }
    return -1;
}

/* Inclusive join at (node, sid): fires when a token waits and no other token of the
 * scope can still reach an incoming flow that has none. Returns the token to go on. */
int ex_or_join_ready(ex_inst_t *in, int node, int sid)
{
    const ex_node_t *n = &in->def->nodes[node];
    int first = 0;
    for (int i = 0; i < in->ntoks; i++) {
        ex_tok_t *x = &in->toks[i];
        if (x->node == node && x->scope == sid && x->wait == W_JOIN && !first)
            first = x->id;
    }
    if (!first)
        return 0;
    for (int k = 0; k < n->nin; k++) {
        int f = n->in[k];
        bool filled = false;
        for (int i = 0; i < in->ntoks && !filled; i++) {
            ex_tok_t *x = &in->toks[i];
            filled = x->node == node && x->scope == sid && x->wait == W_JOIN && x->flow == f;
        }
        if (filled)
            continue;
        int src = in->def->flows[f].src;
        for (int i = 0; i < in->ntoks; i++) {
            ex_tok_t *x = &in->toks[i];
            if (x->node == node && x->wait == W_JOIN && x->scope == sid)
                continue;
            int p = position_in(in, x, sid);
            if (p >= 0 && ex_reaches(in->def, p, src))
                return 0;
        }
    }
    /* consume one token per filled flow; `first` goes on */
    for (int k = 0; k < n->nin; k++) {
        int f = n->in[k], keep = 0;
        for (int i = 0; i < in->ntoks; i++) {
            ex_tok_t *x = &in->toks[i];
            if (x->node == node && x->scope == sid && x->wait == W_JOIN && x->flow == f && !keep) {
                keep = x->id;
                if (x->id != first) {
                    ex_tok_remove(in, x->id);
                    i--;
                }
            }
        }
    }
    return first;
}
