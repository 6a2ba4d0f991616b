/*
 * exec_run.c — the token machine: BPMN semantics over an instance document loaded in
 * a transaction (exec_int.h). Tokens are referred to by id, never by pointer, across
 * any call that may add tokens (the array moves).
 *
 * A token is READY when it has arrived at a node and must execute it; execute() runs
 * the node's behaviour and either moves the token on (READY at the next node), parks
 * it in a wait state (with the rows that index the wait), or ends it. run() executes
 * READY tokens until none is left, then fires inclusive joins that became ready.
 */
#include "exec_int.h"

#include "../../dmn/dmn.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TF_ARMED = 1, TF_SKIP_ENTER = 2 };

static int run(ex_tx_t *tx, ex_inst_t *in);
static int run_once(ex_tx_t *tx, ex_inst_t *in);
static void leave(ex_tx_t *tx, ex_inst_t *in, int tid);
static void token_end(ex_tx_t *tx, ex_inst_t *in, int tid);
static void cancel_token(ex_tx_t *tx, ex_inst_t *in, int tid);
static void scope_check(ex_tx_t *tx, ex_inst_t *in, int sid);
static void throw_error(ex_tx_t *tx, ex_inst_t *in, int tid, int sid, int activity_tok,
                        const char *code, const char *msg);
static void complete_instance(ex_tx_t *tx, ex_inst_t *in, int state);

/* ---- states ---- */

static const char *const state_names[] = { "active", "paused", "completed", "cancelled", "failed" };

const char *ex_state_name(int s)
{
    return s >= 0 && s <= I_FAILED ? state_names[s] : "unknown";
}

int ex_state_parse(const char *s)
{
    for (int i = 0; i <= I_FAILED; i++)
        if (s && !strcmp(s, state_names[i]))
            return i;
    return -1;
}

/* ---- tokens and scopes ---- */

static ex_tok_t *tok(ex_inst_t *in, int id)
{
    for (int i = 0; i < in->ntoks; i++)
        if (in->toks[i].id == id)
            return &in->toks[i];
    return NULL;
}

static int tok_new(ex_inst_t *in, int node, int scope, int flow)
{
    if (in->ntoks == in->captoks) {
        int cap = in->captoks ? in->captoks * 2 : 8;
        ex_tok_t *t = realloc(in->toks, sizeof(ex_tok_t) * (size_t)cap);
        if (!t)
            return -1;
        in->toks = t;
        in->captoks = cap;
    }
    ex_tok_t *t = &in->toks[in->ntoks++];
    memset(t, 0, sizeof(*t));
    t->id = ++in->next_id;
    t->node = node;
    t->scope = scope;
    t->wait = W_READY;
    t->flow = flow;
    in->dirty = true;
    return t->id;
}

static void tok_remove(ex_inst_t *in, int id)
{
    for (int i = 0; i < in->ntoks; i++)
        if (in->toks[i].id == id) {
            in->toks[i] = in->toks[--in->ntoks];
            in->dirty = true;
            return;
        }
}

static ex_scope_t *scope(ex_inst_t *in, int id)
{
    for (int i = 0; i < in->nscopes; i++)
        if (in->scopes[i].id == id)
            return &in->scopes[i];
    return NULL;
}

static int scope_new(ex_inst_t *in, int kind, int parent, int node, int owner)
{
    if (in->nscopes == in->capscopes) {
        int cap = in->capscopes ? in->capscopes * 2 : 4;
        ex_scope_t *s = realloc(in->scopes, sizeof(ex_scope_t) * (size_t)cap);
        if (!s)
            return -1;
        in->scopes = s;
        in->capscopes = cap;
    }
    ex_scope_t *s = &in->scopes[in->nscopes++];
    memset(s, 0, sizeof(*s));
    s->id = ++in->next_id;
    s->kind = kind;
    s->parent = parent;
    s->node = node;
    s->owner = owner;
    s->vars = cJSON_CreateObject();
    return s->id;
}

static void scope_remove(ex_inst_t *in, int id)
{
    for (int i = 0; i < in->nscopes; i++)
        if (in->scopes[i].id == id) {
            cJSON_Delete(in->scopes[i].vars);
            cJSON_Delete(in->scopes[i].mi_items);
            cJSON_Delete(in->scopes[i].mi_out);
            in->scopes[i] = in->scopes[--in->nscopes];
            return;
        }
}

static int scope_parent(ex_inst_t *in, int sid)
{
    ex_scope_t *s = sid ? scope(in, sid) : NULL;
    return s ? s->parent : 0;
}

/* sid is inside (or is) anc. */
static bool scope_within(ex_inst_t *in, int sid, int anc)
{
    for (int guard = 0; guard < 10000; guard++) {
        if (sid == anc)
            return true;
        if (!sid)
            return false;
        sid = scope_parent(in, sid);
    }
    return false;
}

/* The IO scope token t holds for its current element, or NULL. */
static ex_scope_t *io_of(ex_inst_t *in, const ex_tok_t *t)
{
    ex_scope_t *s = t->scope ? scope(in, t->scope) : NULL;
    return s && s->kind == S_IO && s->owner == t->id ? s : NULL;
}

/* The scope the element of token t lives in (outside its own IO scope). */
static int act_scope(ex_inst_t *in, const ex_tok_t *t)
{
    ex_scope_t *io = io_of(in, t);
    return io ? io->parent : t->scope;
}

static bool is_iter(ex_inst_t *in, const ex_tok_t *t)
{
    int sid = act_scope(in, t);
    ex_scope_t *s = sid ? scope(in, sid) : NULL;
    return s && s->kind == S_MI_ITER && s->node == t->node;
}

/* ---- variables ---- */

/* Innermost scope (from sid outwards) that has name; 0 root. */
static cJSON *scope_vars(ex_inst_t *in, int sid)
{
    ex_scope_t *s = sid ? scope(in, sid) : NULL;
    return s ? s->vars : in->vars;
}

static void var_set(ex_tx_t *tx, ex_inst_t *in, int sid, const char *name, cJSON *val, cJSON *changed)
{
    (void)tx;
    cJSON *target = in->vars;
    for (int s = sid, guard = 0; s && guard < 10000; s = scope_parent(in, s), guard++) {
        ex_scope_t *sc = scope(in, s);
        cJSON *v = sc ? sc->vars : in->vars;
        /* an element with output mappings keeps what it is given; its outputs say
         * what goes further (Zeebe's rule) */
        if (cJSON_GetObjectItemCaseSensitive(v, name) ||
            (sc && sc->kind == S_IO && in->def->nodes[sc->node].has_outs)) {
            target = v;
            break;
        }
    }
    if (changed)
        cJSON_AddItemToObject(changed, name, cJSON_Duplicate(val, true));
    if (cJSON_GetObjectItemCaseSensitive(target, name))
        cJSON_ReplaceItemInObjectCaseSensitive(target, name, val);
    else
        cJSON_AddItemToObject(target, name, val);
    in->dirty = true;
}

/* Merges an object of variables (copies) as writes from scope sid; history records them. */
static void vars_merge(ex_tx_t *tx, ex_inst_t *in, int sid, const cJSON *obj, int node, int tid)
{
    if (!cJSON_IsObject(obj) || !obj->child)
        return;
    cJSON *changed = cJSON_CreateObject();
    const cJSON *c;
    cJSON_ArrayForEach(c, obj) var_set(tx, in, sid, c->string, cJSON_Duplicate(c, true), changed);
    ex_hist(tx, in, "variables.changed", node, tid, changed);
}

/* All variables visible from sid, innermost winning (caller deletes). */
static cJSON *visible(ex_inst_t *in, int sid)
{
    int chain[64], n = 0;
    for (int s = sid; s && n < 64; s = scope_parent(in, s))
        chain[n++] = s;
    cJSON *o = cJSON_Duplicate(in->vars, true);
    for (int i = n - 1; i >= 0; i--) {
        const cJSON *c;
        cJSON_ArrayForEach(c, scope_vars(in, chain[i]))
        {
            cJSON_DeleteItemFromObjectCaseSensitive(o, c->string);
            cJSON_AddItemToObject(o, c->string, cJSON_Duplicate(c, true));
        }
    }
    return o;
}

/* ---- FEEL ---- */

static void ctx_add(feel_eval_t *ev, feel_value_t *ctx, const cJSON *vars)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, vars) feel_ctx_put(ev, ctx, c->string, dmn_from_json(ev, c, FEEL_NULL));
}

static feel_value_t *ctx_of(feel_eval_t *ev, ex_inst_t *in, int sid)
{
    feel_value_t *ctx = feel_context(ev);
    int chain[64], n = 0;
    for (int s = sid; s && n < 64; s = scope_parent(in, s))
        chain[n++] = s;
    ctx_add(ev, ctx, in->vars);
    for (int i = n - 1; i >= 0; i--)
        ctx_add(ev, ctx, scope_vars(in, chain[i]));
    return ctx;
}

/* Evaluates e in scope sid; *out gets the FEEL value (valid until the next eval on
 * this thread). Returns false with why on an error. */
static bool eval_value(ex_inst_t *in, int sid, const feel_expr_t *e, feel_eval_t **evp,
                       feel_value_t **out, char *why, size_t whylen)
{
    feel_eval_t *ev = feel_eval_thread();
    *evp = ev;
    if (!ev) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    feel_value_t *v = feel_eval(ev, e, ctx_of(ev, in, sid));
    const char *err = feel_eval_error(ev);
    if (err) {
        snprintf(why, whylen, "%s", err);
        return false;
    }
    *out = v;
    return true;
}

/* The result as JSON (caller deletes), or NULL with why. */
static cJSON *eval_json(ex_inst_t *in, int sid, const feel_expr_t *e, char *why, size_t whylen)
{
    feel_eval_t *ev;
    feel_value_t *v;
    if (!eval_value(in, sid, e, &ev, &v, why, whylen))
        return NULL;
    return dmn_to_json(ev, v);
}

/* A string from a literal-or-FEEL value (caller frees; NULL when absent or null). */
static char *expr_string(ex_inst_t *in, int sid, const ex_expr_t *x, char *why, size_t whylen, bool *bad)
{
    if (x->text)
        return strdup(x->text);
    if (!x->feel)
        return NULL;
    cJSON *j = eval_json(in, sid, x->feel, why, whylen);
    if (!j) {
        *bad = true;
        return NULL;
    }
    char *s = NULL;
    if (cJSON_IsString(j))
        s = strdup(j->valuestring);
    else if (cJSON_IsRaw(j))
        s = strdup(j->valuestring);
    else if (cJSON_IsArray(j))
        s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* ---- history and events ---- */

static void mark(ex_tx_t *tx, ex_inst_t *in, int node, int tid, bool entered)
{
    ex_hist(tx, in, entered ? "element.entered" : "element.left", node, tid, NULL);
    ex_event(tx, in, entered ? "execution.element.entered" : "execution.element.left", node, tid, NULL);
}

/* ---- incidents ---- */

/* History entry and event of a new incident; the instance counts it. */
static void incident_noted(ex_tx_t *tx, ex_inst_t *in, int node, int tid, const char *id, const char *type,
                           const char *msg)
{
    in->incidents++;
    in->dirty = true;
    for (int i = 0; i < 2; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "incidentId", id);
        cJSON_AddStringToObject(d, "type", type);
        cJSON_AddStringToObject(d, "message", msg);
        if (i == 0)
            ex_hist(tx, in, "incident.created", node, tid, d);
        else
            ex_event(tx, in, "execution.incident.created", node, tid, d);
    }
}

static void incident(ex_tx_t *tx, ex_inst_t *in, int tid, const char *type, const char *msg)
{
    ex_tok_t *t = tok(in, tid);
    if (!t)
        return;
    char id[48];
    const ex_node_t *n = &in->def->nodes[t->node];
    if (ex_incident_add(tx, in, tid, n->id, type, msg, NULL, id, sizeof(id)) != FM_OK)
        return;
    t = tok(in, tid);
    t->wait = W_INCIDENT;
    t->flags |= TF_SKIP_ENTER;
    snprintf(t->ref, sizeof(t->ref), "%s", id);
    incident_noted(tx, in, t->node, tid, id, type, msg);
}

/* ---- timers ---- */

static bool dur_ms(feel_value_t *v, int64_t *ms)
{
    if (v->t == FEEL_DTD) {
        *ms = (int64_t)(feel_dec_to_double(v->u.n) * 1000.0 + 0.5);
        return true;
    }
    if (v->t == FEEL_YMD) {
        *ms = v->u.months * 30LL * 86400000LL;
        return true;
    }
    return false;
}

/* Due time (and cycle) of a timer node; false with why. */
static bool timer_due(ex_tx_t *tx, ex_inst_t *in, int sid, const ex_node_t *n, int64_t *due,
                      int *repeat, int64_t *every, char *why, size_t whylen)
{
    feel_eval_t *ev = feel_eval_thread();
    feel_value_t *v = NULL;
    *repeat = 0;
    *every = 0;
    if (!ev) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    const char *text = n->timer.text;
    char buf[256];
    if (n->timer.feel) {
        if (!in) {
            v = feel_eval(ev, n->timer.feel, NULL);
        } else {
            feel_eval_t *e2;
            if (!eval_value(in, sid, n->timer.feel, &e2, &v, why, whylen))
                return false;
            ev = e2;
        }
        if (v->t == FEEL_STR) {
            snprintf(buf, sizeof(buf), "%.*s", (int)v->u.str.len, v->u.str.s);
            text = buf;
            v = NULL;
        }
    }
    int64_t ms;
    if (n->timer_kind == 'c') {
        if (!text) {
            if (v && dur_ms(v, &ms)) {
                *repeat = -1;
                *every = ms;
                *due = tx->now_ms + ms;
                return true;
            }
            snprintf(why, whylen, "timeCycle of '%s' is not a cycle", n->id);
            return false;
        }
        if (text[0] != 'R') {
            snprintf(why, whylen, "timeCycle of '%s' must be R<n>/<duration>", n->id);
            return false;
        }
        const char *slash = strchr(text, '/');
        int count = text[1] == '/' ? -1 : atoi(text + 1);
        if (!slash || count == 0) {
            snprintf(why, whylen, "timeCycle of '%s' must be R<n>/<duration>", n->id);
            return false;
        }
        feel_value_t *d = feel_temporal_parse(ev, FEEL_DTD, slash + 1);
        if (!dur_ms(d, &ms) || ms <= 0) {
            snprintf(why, whylen, "timeCycle of '%s': '%s' is not a duration", n->id, slash + 1);
            return false;
        }
        *repeat = count < 0 ? -1 : count - 1;
        *every = ms;
        *due = tx->now_ms + ms;
        return true;
    }
    if (text)
        v = feel_temporal_parse(ev, n->timer_kind == 't' ? FEEL_DT : FEEL_DTD, text);
    if (v && dur_ms(v, &ms)) {
        *due = tx->now_ms + (ms < 0 ? 0 : ms);
        return true;
    }
    if (v && (v->t == FEEL_DT || v->t == FEEL_DATE)) {
        int64_t off = v->u.tm.has_tz ? v->u.tm.offset : 0;
        *due = v->u.tm.days * 86400000LL + (v->t == FEEL_DT ? v->u.tm.nanos / 1000000 : 0) - off * 1000;
        return true;
    }
    snprintf(why, whylen, "timer of '%s': '%s' is not a %s", n->id, text ? text : "value",
             n->timer_kind == 't' ? "date and time" : "duration");
    return false;
}

bool ex_timer_due_static(ex_tx_t *tx, const ex_node_t *n, int64_t *due, int *repeat, int64_t *every,
                         char *why, size_t whylen)
{
    return timer_due(tx, NULL, 0, n, due, repeat, every, why, whylen);
}

/* Arms the timer and message boundary events of the activity token tid. */
static bool arm_bounds(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    t->flags |= TF_ARMED;
    for (int i = 0; i < n->nbounds; i++) {
        const ex_node_t *b = &in->def->nodes[n->bounds[i]];
        char why[300];
        if (b->ev == E_TIMER) {
            int64_t due, every;
            int repeat;
            if (!timer_due(tx, in, t->scope, b, &due, &repeat, &every, why, sizeof(why))) {
                incident(tx, in, tid, "expression", why);
                return false;
            }
            ex_timer_add(tx, in, tid, 0, b->id, "boundary", due, repeat, every);
        } else if (b->ev == E_MESSAGE) {
            char *key = NULL;
            if (b->corr) {
                cJSON *k = eval_json(in, t->scope, b->corr, why, sizeof(why));
                if (!k) {
                    incident(tx, in, tid, "expression", why);
                    return false;
                }
                key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
                cJSON_Delete(k);
            }
            ex_msg_add(tx, in, tid, 0, b->id, "boundary", b->msg_name, key ? key : "");
            free(key);
        }
    }
    return true;
}

/* Arms the event subprocesses of scope sid (root: 0). */
static void arm_evsubs(ex_tx_t *tx, ex_inst_t *in, int sid, const int *evsubs, int nevsubs)
{
    for (int i = 0; i < nevsubs; i++) {
        const ex_node_t *e = &in->def->nodes[evsubs[i]];
        for (int j = 0; j < e->nstarts; j++) {
            const ex_node_t *st = &in->def->nodes[e->starts[j]];
            char why[300];
            if (st->ev == E_TIMER) {
                int64_t due, every;
                int repeat;
                if (timer_due(tx, in, sid, st, &due, &repeat, &every, why, sizeof(why)))
                    ex_timer_add(tx, in, 0, sid, st->id, "evsub", due, repeat, every);
            } else if (st->ev == E_MESSAGE) {
                char *key = NULL;
                if (st->corr) {
                    cJSON *k = eval_json(in, sid, st->corr, why, sizeof(why));
                    if (k)
                        key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
                    cJSON_Delete(k);
                }
                ex_msg_add(tx, in, 0, sid, st->id, "evsub", st->msg_name, key ? key : "");
                free(key);
            }
        }
    }
}

/* ---- flows ---- */

/* Moves token tid along flow f (the token is reused: READY at the target). */
static void move(ex_inst_t *in, int tid, int f)
{
    ex_tok_t *t = tok(in, tid);
    t->node = in->def->flows[f].dst;
    t->flow = f;
    t->wait = W_READY;
    t->flags = 0;
    t->ref[0] = 0;
    in->dirty = true;
}

/* Takes the flows in fl (n of them) from token tid; n == 0 ends the token. */
static void take(ex_tx_t *tx, ex_inst_t *in, int tid, const int *fl, int n)
{
    if (n == 0) {
        token_end(tx, in, tid);
        return;
    }
    int sc = tok(in, tid)->scope;
    for (int i = 1; i < n; i++) {
        int nt = tok_new(in, in->def->flows[fl[i]].dst, sc, fl[i]);
        (void)nt;
    }
    move(in, tid, fl[0]);
}

/* Evaluates a flow condition: 1 true, 0 false, -1 error (why). */
static int cond(ex_inst_t *in, int sid, const ex_flow_t *f, char *why, size_t whylen)
{
    if (!f->cond)
        return 1;
    feel_eval_t *ev;
    feel_value_t *v;
    if (!eval_value(in, sid, f->cond, &ev, &v, why, whylen))
        return -1;
    return v->t == FEEL_BOOL && v->u.b;
}

/* Outgoing flows of an activity or inclusive gateway: the unconditional ones and the
 * true ones; the default only when no condition held. Returns the count or -1. */
static int pick_flows(ex_tx_t *tx, ex_inst_t *in, int tid, int *fl, bool exclusive)
{
    ex_tok_t *t = tok(in, tid);
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
            incident(tx, in, tid, "condition", msg);
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
        incident(tx, in, tid, "condition", msg);
        return -1;
    }
    return k;
}

/* ---- leaving ---- */

static void mi_iter_done(ex_tx_t *tx, ex_inst_t *in, int tid);

/* Element start with zeebe:ioMapping: a scope of its own holding the inputs
 * (evaluated where the element lives). false: an incident stopped the token. */
static bool io_enter(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    cJSON *vars = cJSON_CreateObject();
    for (int i = 0; i < n->nins; i++) {
        char why[300];
        cJSON *v = eval_json(in, t->scope, n->ins[i].source.feel, why, sizeof(why));
        if (!v) {
            char msg[400];
            snprintf(msg, sizeof(msg), "input mapping of '%s': %s", n->id, why);
            cJSON_Delete(vars);
            incident(tx, in, tid, "expression", msg);
            return false;
        }
        cJSON_AddItemToObject(vars, n->ins[i].target ? n->ins[i].target : "input", v);
    }
    int io = scope_new(in, S_IO, tok(in, tid)->scope, tok(in, tid)->node, tid);
    ex_scope_t *sc = scope(in, io);
    cJSON_Delete(sc->vars);
    sc->vars = vars;
    tok(in, tid)->scope = io;
    return true;
}

/* Element end with zeebe:ioMapping: the outputs are evaluated in its scope and
 * written where it lives; the scope goes. false: an incident stopped the token. */
static bool io_leave(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    ex_scope_t *io = io_of(in, t);
    if (!io)
        return true;
    const ex_node_t *n = &in->def->nodes[t->node];
    int io_id = io->id, parent = io->parent;
    cJSON *out = cJSON_CreateObject();
    for (int i = 0; i < n->nouts; i++) {
        char why[300];
        cJSON *v = eval_json(in, io_id, n->outs[i].source.feel, why, sizeof(why));
        if (!v) {
            char msg[400];
            snprintf(msg, sizeof(msg), "output mapping of '%s': %s", n->id, why);
            cJSON_Delete(out);
            incident(tx, in, tid, "expression", msg);
            return false;
        }
        cJSON_AddItemToObject(out, n->outs[i].target ? n->outs[i].target : "output", v);
    }
    scope_remove(in, io_id);
    t = tok(in, tid);
    t->scope = parent;
    vars_merge(tx, in, parent, out, t->node, tid);
    cJSON_Delete(out);
    return true;
}

/* The activity of token tid completed: record it, drop what it waited on, go on. */
static void leave(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    if (!t)
        return;
    if (!io_leave(tx, in, tid))
        return;
    t = tok(in, tid);
    if (is_iter(in, t)) {
        mi_iter_done(tx, in, tid);
        return;
    }
    mark(tx, in, t->node, tid, false);
    if (t->flags & TF_ARMED)
        ex_waits_drop(tx, in, tid, 0);
    t = tok(in, tid);
    t->flags &= ~TF_ARMED;
    const ex_node_t *n = &in->def->nodes[t->node];
    if (n->nout <= 1) {
        if (n->nout == 1 && in->def->flows[n->out[0]].cond) {
            int fl[1];
            int k = pick_flows(tx, in, tid, fl, false);
            if (k >= 0)
                take(tx, in, tid, fl, k);
            return;
        }
        take(tx, in, tid, n->out, n->nout);
        return;
    }
    int *fl = malloc(sizeof(int) * (size_t)n->nout);
    if (!fl)
        return;
    int k = pick_flows(tx, in, tid, fl, false);
    if (k >= 0)
        take(tx, in, tid, fl, k);
    free(fl);
}

/* ---- ending and cancelling ---- */

static void token_end(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    if (!t)
        return;
    int sid = t->scope;
    tok_remove(in, tid);
    scope_check(tx, in, sid);
}

static bool scope_busy(ex_inst_t *in, int sid)
{
    for (int i = 0; i < in->ntoks; i++)
        if (in->toks[i].scope == sid)
            return true;
    for (int i = 0; i < in->nscopes; i++)
        if (in->scopes[i].parent == sid && (in->scopes[i].kind == S_EVSUB || in->scopes[i].kind == S_IO))
            return true;
    return false;
}

/* Scope sid may have finished: complete what owns it. */
static void scope_check(ex_tx_t *tx, ex_inst_t *in, int sid)
{
    if (in->state >= I_COMPLETED || scope_busy(in, sid))
        return;
    if (sid == 0) {
        complete_instance(tx, in, I_COMPLETED);
        return;
    }
    ex_scope_t *s = scope(in, sid);
    if (!s)
        return;
    int kind = s->kind, owner = s->owner, parent = s->parent, node = s->node;
    if (kind == S_SUB) {
        ex_waits_drop(tx, in, 0, sid);
        scope_remove(in, sid);
        leave(tx, in, owner);
    } else if (kind == S_EVSUB) {
        mark(tx, in, node, 0, false);
        scope_remove(in, sid);
        scope_check(tx, in, parent);
    } else if (kind == S_MI_ITER) {
        scope_remove(in, sid);
    }
}

/* Cancels everything inside scope sid (tokens, nested scopes, event subprocess
 * subscriptions) but not the scope itself. */
static void cancel_inside(ex_tx_t *tx, ex_inst_t *in, int sid)
{
    for (int guard = 0; guard < 100000; guard++) {
        int victim = 0;
        for (int i = 0; i < in->ntoks && !victim; i++)
            if (scope_within(in, in->toks[i].scope, sid))
                victim = in->toks[i].id;
        if (!victim)
            break;
        cancel_token(tx, in, victim);
    }
    for (int guard = 0; guard < 100000; guard++) {
        int victim = 0;
        for (int i = 0; i < in->nscopes && !victim; i++)
            if (in->scopes[i].id != sid && scope_within(in, in->scopes[i].id, sid))
                victim = in->scopes[i].id;
        if (!victim)
            break;
        ex_waits_drop(tx, in, 0, victim);
        scope_remove(in, victim);
    }
    ex_waits_drop(tx, in, 0, sid);
}

/* Cancels one token and whatever it waits for (its scope, task, job, child). */
static void cancel_token(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    if (!t)
        return;
    ex_scope_t *io = io_of(in, t);
    int io_id = io ? io->id : 0;
    int wait = t->wait;
    char ref[48];
    snprintf(ref, sizeof(ref), "%s", t->ref);
    if (t->flags & TF_ARMED || wait == W_MSG || wait == W_TIMER || wait == W_EVENT)
        ex_waits_drop(tx, in, tid, 0);
    if (wait == W_SUB || wait == W_MI) {
        int inner = atoi(ref);
        cancel_inside(tx, in, inner);
        scope_remove(in, inner);
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
    tok_remove(in, tid);
    if (io_id)
        scope_remove(in, io_id);
}

/* ---- completion ---- */

static void notify_parent(ex_tx_t *tx, ex_inst_t *child, const char *err_code);

static void complete_instance(ex_tx_t *tx, ex_inst_t *in, int state)
{
    if (in->state >= I_COMPLETED)
        return;
    while (in->ntoks)
        cancel_token(tx, in, in->toks[0].id);
    while (in->nscopes) {
        ex_waits_drop(tx, in, 0, in->scopes[0].id);
        scope_remove(in, in->scopes[0].id);
    }
    ex_waits_drop(tx, in, 0, 0);
    in->state = state;
    in->ended_now = true;
    snprintf(in->ended_at, sizeof(in->ended_at), "%s", tx->now);
    in->dirty = true;
    const char *name = state == I_COMPLETED ? "completed" : state == I_CANCELLED ? "cancelled" : "failed";
    char h[40], e[48];
    snprintf(h, sizeof(h), "instance.%s", name);
    snprintf(e, sizeof(e), "execution.instance.%s", name);
    ex_hist(tx, in, h, -1, 0, NULL);
    ex_event(tx, in, e, -1, 0, NULL);
    if (state == I_COMPLETED && in->parent_id[0] && in->parent_token)
        notify_parent(tx, in, NULL);
}

/* A child finished: the call activity token of its parent moves on (or gets its error). */
static void notify_parent(ex_tx_t *tx, ex_inst_t *child, const char *err_code)
{
    ex_inst_t *p;
    if (ex_load(tx, child->tenant, child->parent_id, &p) != FM_OK || p->state >= I_COMPLETED)
        return;
    ex_tok_t *t = tok(p, child->parent_token);
    if (!t || t->wait != W_CALL)
        return;
    int tid = t->id;
    const ex_node_t *n = &p->def->nodes[t->node];
    if (err_code) {
        char msg[300];
        snprintf(msg, sizeof(msg), "called process failed with error '%s'", err_code);
        t->wait = W_READY;
        t->ref[0] = 0;
        throw_error(tx, p, tid, t->scope, tid, err_code, msg);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    if (n->has_outs) {
        for (int i = 0; i < n->nouts; i++) {
            char why[300];
            cJSON *v = eval_json(child, 0, n->outs[i].source.feel, why, sizeof(why));
            if (!v) {
                cJSON_Delete(out);
                incident(tx, p, tid, "expression", why);
                return;
            }
            cJSON_AddItemToObject(out, n->outs[i].target ? n->outs[i].target : "result", v);
        }
    } else {
        const cJSON *c;
        cJSON_ArrayForEach(c, child->vars) cJSON_AddItemToObject(out, c->string, cJSON_Duplicate(c, true));
    }
    t = tok(p, tid);
    t->wait = W_READY;
    t->ref[0] = 0;
    vars_merge(tx, p, t->scope, out, t->node, tid);
    cJSON_Delete(out);
    leave(tx, p, tid);
}

/* ---- errors and escalations ---- */

static bool code_matches(const ex_node_t *catcher, const char *code)
{
    return !catcher->code || (code && !strcmp(catcher->code, code));
}

/* Boundary of the activity token atid catching (ev, code): interrupting ones cancel
 * the activity. Returns true when caught. */
static bool catch_on_activity(ex_tx_t *tx, ex_inst_t *in, int atid, ex_ev_t ev, const char *code)
{
    ex_tok_t *a = tok(in, atid);
    if (!a)
        return false;
    const ex_node_t *n = &in->def->nodes[a->node];
    for (int i = 0; i < n->nbounds; i++) {
        const ex_node_t *b = &in->def->nodes[n->bounds[i]];
        if (b->ev != ev || !code_matches(b, code))
            continue;
        int sc = act_scope(in, a);
        if (b->interrupting || ev == E_ERROR) {
            mark(tx, in, a->node, atid, false);
            cancel_token(tx, in, atid);
        }
        tok_new(in, n->bounds[i], sc, -1);
        return true;
    }
    return false;
}

/* Event subprocess of scope sid (container's list) catching (ev, code). */
static bool catch_in_scope(ex_tx_t *tx, ex_inst_t *in, int sid, ex_ev_t ev, const char *code,
                           const cJSON *vars);

static bool trigger_evsub(ex_tx_t *tx, ex_inst_t *in, int sid, int start, const cJSON *vars)
{
    const ex_node_t *st = &in->def->nodes[start];
    int evsub = st->container;
    if (st->interrupting)
        cancel_inside(tx, in, sid);
    int x = scope_new(in, S_EVSUB, sid, evsub, 0);
    ex_scope_t *xs = scope(in, x);
    xs->interrupting = st->interrupting;
    mark(tx, in, evsub, 0, true);
    arm_evsubs(tx, in, x, in->def->nodes[evsub].evsubs, in->def->nodes[evsub].nevsubs);
    int t = tok_new(in, start, x, -1);
    if (vars)
        vars_merge(tx, in, x, vars, start, t);
    return true;
}

static bool catch_in_scope(ex_tx_t *tx, ex_inst_t *in, int sid, ex_ev_t ev, const char *code,
                           const cJSON *vars)
{
    ex_scope_t *s = sid ? scope(in, sid) : NULL;
    const int *evs = sid ? in->def->nodes[s->node].evsubs : in->def->evsubs;
    int nevs = sid ? in->def->nodes[s->node].nevsubs : in->def->nevsubs;
    if (sid && s->kind != S_SUB && s->kind != S_EVSUB)
        nevs = 0;
    for (int i = 0; i < nevs; i++) {
        const ex_node_t *e = &in->def->nodes[evs[i]];
        for (int j = 0; j < e->nstarts; j++) {
            const ex_node_t *st = &in->def->nodes[e->starts[j]];
            if (st->ev == ev && code_matches(st, code))
                return trigger_evsub(tx, in, sid, e->starts[j], vars);
        }
    }
    return false;
}

/* Throws an error from token tid (in scope sid). activity_tok: the activity that threw
 * it (a job or a call), whose own boundaries are tried first; 0 when an end event
 * threw it. */
static void throw_error(ex_tx_t *tx, ex_inst_t *in, int tid, int sid, int activity_tok,
                        const char *code, const char *msg)
{
    if (activity_tok && catch_on_activity(tx, in, activity_tok, E_ERROR, code))
        return;
    if (!activity_tok && tid)
        tok_remove(in, tid);
    else if (activity_tok) {
        ex_tok_t *a = tok(in, activity_tok);
        if (a)
            sid = act_scope(in, a);
    }
    for (int guard = 0; guard < 1000; guard++) {
        if (catch_in_scope(tx, in, sid, E_ERROR, code, NULL))
            return;
        if (!sid)
            break;
        ex_scope_t *s = scope(in, sid);
        if (!s)
            break;
        if ((s->kind == S_SUB || s->kind == S_MI_BODY) &&
            catch_on_activity(tx, in, s->owner, E_ERROR, code))
            return;
        sid = s->parent;
    }
    /* nobody caught it */
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "errorCode", code ? code : "");
    cJSON_AddStringToObject(d, "message", msg ? msg : "");
    ex_hist(tx, in, "error.unhandled", -1, tid, d);
    char pid[48];
    snprintf(pid, sizeof(pid), "%s", in->parent_id);
    int ptok = in->parent_token;
    in->parent_token = 0;
    complete_instance(tx, in, I_FAILED);
    if (pid[0] && ptok) {
        in->parent_token = ptok;
        notify_parent(tx, in, code ? code : "");
    }
}

static void throw_escalation(ex_tx_t *tx, ex_inst_t *in, int sid, const char *code)
{
    for (int guard = 0; guard < 1000; guard++) {
        if (catch_in_scope(tx, in, sid, E_ESCALATION, code, NULL))
            return;
        if (!sid)
            break;
        ex_scope_t *s = scope(in, sid);
        if (!s)
            break;
        if ((s->kind == S_SUB || s->kind == S_MI_BODY) &&
            catch_on_activity(tx, in, s->owner, E_ESCALATION, code))
            return;
        sid = s->parent;
    }
    if (in->parent_id[0] && in->parent_token) {
        ex_inst_t *p;
        if (ex_load(tx, in->tenant, in->parent_id, &p) == FM_OK && p->state < I_COMPLETED) {
            ex_tok_t *t = tok(p, in->parent_token);
            if (t && !catch_on_activity(tx, p, t->id, E_ESCALATION, code))
                throw_escalation(tx, p, t->scope, code);
        }
    }
}

/* ---- multi-instance ---- */

static void spawn_iter(ex_inst_t *in, int body, int i)
{
    ex_scope_t *b = scope(in, body);
    int node = b->node;
    const ex_node_t *n = &in->def->nodes[node];
    cJSON *item = b->mi_items ? cJSON_GetArrayItem(b->mi_items, i) : NULL;
    cJSON *itemcopy = item ? cJSON_Duplicate(item, true) : NULL;
    int it = scope_new(in, S_MI_ITER, body, node, 0);
    ex_scope_t *is = scope(in, it);
    cJSON_AddNumberToObject(is->vars, "loopCounter", i + 1);
    if (n->mi_in_elem)
        cJSON_AddItemToObject(is->vars, n->mi_in_elem, itemcopy ? itemcopy : cJSON_CreateNull());
    else
        cJSON_Delete(itemcopy);
    int t = tok_new(in, node, it, -1);
    is = scope(in, it);
    is->owner = t;
}

static void mi_set_counts(ex_inst_t *in, ex_scope_t *b)
{
    int active = 0;
    for (int i = 0; i < in->nscopes; i++)
        if (in->scopes[i].parent == b->id && in->scopes[i].kind == S_MI_ITER)
            active++;
    cJSON *v = b->vars;
    cJSON_DeleteItemFromObject(v, "nrOfInstances");
    cJSON_DeleteItemFromObject(v, "nrOfCompletedInstances");
    cJSON_DeleteItemFromObject(v, "nrOfActiveInstances");
    cJSON_AddNumberToObject(v, "nrOfInstances", b->mi_n);
    cJSON_AddNumberToObject(v, "nrOfCompletedInstances", b->mi_done);
    cJSON_AddNumberToObject(v, "nrOfActiveInstances", active);
}

static void mi_begin(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300];
    cJSON *items = NULL;
    int count = 0;
    if (n->mi_coll) {
        items = eval_json(in, t->scope, n->mi_coll, why, sizeof(why));
        if (!items || !cJSON_IsArray(items)) {
            if (items)
                snprintf(why, sizeof(why), "inputCollection of '%s' is not a list", n->id);
            cJSON_Delete(items);
            incident(tx, in, tid, "expression", why);
            return;
        }
        count = cJSON_GetArraySize(items);
    } else {
        feel_eval_t *ev;
        feel_value_t *v;
        int64_t c;
        if (!eval_value(in, t->scope, n->mi_card, &ev, &v, why, sizeof(why)) || v->t != FEEL_NUM ||
            !feel_dec_to_int64(v->u.n, &c) || c < 0 || c > 100000) {
            if (!why[0] || v)
                snprintf(why, sizeof(why), "loopCardinality of '%s' is not a count (0..100000)", n->id);
            incident(tx, in, tid, "expression", why);
            return;
        }
        count = (int)c;
    }
    if (!(t->flags & TF_SKIP_ENTER))
        mark(tx, in, t->node, tid, true);
    t = tok(in, tid);
    t->flags &= ~TF_SKIP_ENTER;
    if (count == 0) {
        cJSON_Delete(items);
        if (n->mi_out_coll)
            var_set(tx, in, t->scope, n->mi_out_coll, cJSON_CreateArray(), NULL);
        leave(tx, in, tid);
        return;
    }
    int body = scope_new(in, S_MI_BODY, t->scope, t->node, tid);
    ex_scope_t *b = scope(in, body);
    b->mi_n = count;
    b->mi_items = items;
    if (n->mi_out_coll) {
        b->mi_out = cJSON_CreateArray();
        for (int i = 0; i < count; i++)
            cJSON_AddItemToArray(b->mi_out, cJSON_CreateNull());
    }
    t = tok(in, tid);
    t->wait = W_MI;
    snprintf(t->ref, sizeof(t->ref), "%d", body);
    if (!arm_bounds(tx, in, tid))
        return;
    if (n->mi_seq) {
        spawn_iter(in, body, 0);
        scope(in, body)->mi_next = 1;
    } else {
        for (int i = 0; i < count; i++)
            spawn_iter(in, body, i);
        scope(in, body)->mi_next = count;
    }
}

static void mi_iter_done(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    int node = t->node, iter = t->scope;
    const ex_node_t *n = &in->def->nodes[node];
    mark(tx, in, node, tid, false);
    if (t->flags & TF_ARMED)
        ex_waits_drop(tx, in, tid, 0);
    ex_scope_t *is = scope(in, iter);
    int body = is->parent;
    int counter = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(is->vars, "loopCounter"));
    char why[300];
    ex_scope_t *b = scope(in, body);
    if (b->mi_out && n->mi_out_elem) {
        cJSON *v = eval_json(in, iter, n->mi_out_elem, why, sizeof(why));
        b = scope(in, body);
        if (v && counter >= 1 && counter <= b->mi_n)
            cJSON_ReplaceItemInArray(b->mi_out, counter - 1, v);
        else
            cJSON_Delete(v);
    }
    tok_remove(in, tid);
    scope_remove(in, iter);
    b = scope(in, body);
    b->mi_done++;
    mi_set_counts(in, b);
    bool done = b->mi_done >= b->mi_n;
    if (!done && n->mi_cond) {
        feel_eval_t *ev;
        feel_value_t *v;
        if (eval_value(in, body, n->mi_cond, &ev, &v, why, sizeof(why)) && v->t == FEEL_BOOL && v->u.b)
            done = true;
    }
    b = scope(in, body);
    int owner = b->owner;
    if (!done) {
        if (n->mi_seq && b->mi_next < b->mi_n) {
            int next = b->mi_next++;
            spawn_iter(in, body, next);
        }
        return;
    }
    cancel_inside(tx, in, body);
    b = scope(in, body);
    cJSON *out = b->mi_out;
    b->mi_out = NULL;
    scope_remove(in, body);
    ex_tok_t *o = tok(in, owner);
    if (!o) {
        cJSON_Delete(out);
        return;
    }
    o->wait = W_READY;
    o->ref[0] = 0;
    if (out) {
        cJSON *changed = cJSON_CreateObject();
        var_set(tx, in, o->scope, n->mi_out_coll, out, changed);
        ex_hist(tx, in, "variables.changed", node, owner, changed);
    }
    leave(tx, in, owner);
}

/* ---- joins ---- */

/* Parallel join: all incoming flows have a token waiting? Then the others are
 * consumed and tid goes on. */
static bool and_join(ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
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
                tok_remove(in, pick[i]);
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
        ex_scope_t *sc = scope(in, s);
        if (!sc)
            return -1;
        node = sc->node;
        s = sc->parent;
    }
    return -1;
}

/* Inclusive join at (node, sid): fires when a token waits and no other token of the
 * scope can still reach an incoming flow that has none. Returns the token to go on. */
static int or_join_ready(ex_inst_t *in, int node, int sid)
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
                    tok_remove(in, x->id);
                    i--;
                }
            }
        }
    }
    return first;
}

/* ---- the behaviours ---- */

static void gateway_out(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    mark(tx, in, t->node, tid, true);
    if (n->kind == N_AND) {
        mark(tx, in, t->node, tid, false);
        take(tx, in, tid, n->out, n->nout);
        return;
    }
    int *fl = malloc(sizeof(int) * (size_t)(n->nout + 1));
    if (!fl)
        return;
    int k = pick_flows(tx, in, tid, fl, n->kind == N_XOR);
    if (k >= 0) {
        mark(tx, in, tok(in, tid)->node, tid, false);
        take(tx, in, tid, fl, k);
    }
    free(fl);
}

static void do_user_task(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300] = "";
    bool bad = false;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", n->name && *n->name ? n->name : n->id);
    char *a = expr_string(in, t->scope, &n->assignee, why, sizeof(why), &bad);
    if (a && *a)
        cJSON_AddStringToObject(body, "assignee", a);
    free(a);
    const ex_expr_t *lists[2] = { &n->cand_users, &n->cand_groups };
    const char *names[2] = { "candidateUsers", "candidateGroups" };
    for (int i = 0; i < 2; i++) {
        char *s = expr_string(in, t->scope, lists[i], why, sizeof(why), &bad);
        if (!s)
            continue;
        cJSON *arr = s[0] == '[' ? cJSON_Parse(s) : NULL;
        if (!arr) {
            arr = cJSON_CreateArray();
            char *save = NULL;
            for (char *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                while (*p == ' ')
                    p++;
                size_t l = strlen(p);
                while (l && p[l - 1] == ' ')
                    p[--l] = 0;
                if (*p)
                    cJSON_AddItemToArray(arr, cJSON_CreateString(p));
            }
        }
        cJSON_AddItemToObject(body, names[i], arr);
        free(s);
    }
    char *due = expr_string(in, t->scope, &n->due, why, sizeof(why), &bad);
    if (due)
        cJSON_AddStringToObject(body, "dueDate", due);
    free(due);
    if (bad) {
        cJSON_Delete(body);
        incident(tx, in, tid, "expression", why);
        return;
    }
    if (n->form) {
        cJSON *f = cJSON_Parse(n->form);
        if (f)
            cJSON_AddItemToObject(body, "form", f);
    }
    cJSON_AddItemToObject(body, "variables", visible(in, t->scope));
    cJSON_AddStringToObject(body, "processInstanceId", in->id);
    cJSON_AddStringToObject(body, "elementId", n->id);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL;
    /* keyed by the activation: a step run again after a crash (same stored document,
     * same counter) gets the task it made the first time instead of a second one */
    char key[80];
    snprintf(key, sizeof(key), "%s/%d", in->id, ++in->next_id);
    const char *hdrs[] = { "Idempotency-Key", key, NULL };
    int rc = text ? fm_call_system_h(in->tenant, FM_POST, "/tasks", text, hdrs, &status, &out) : FM_ENOMEM;
    free(text);
    cJSON *res = rc == FM_OK && (status == 201 || status == 200) ? cJSON_Parse(out) : NULL;
    const char *task_id = cJSON_GetStringValue(cJSON_GetObjectItem(res, "id"));
    if (!task_id) {
        char msg[400];
        snprintf(msg, sizeof(msg), "the Human Task Service refused the task (%d): %.300s", status,
                 out ? out : "no answer");
        free(out);
        cJSON_Delete(res);
        incident(tx, in, tid, "task", msg);
        return;
    }
    free(out);
    ex_task_link(tx, in, tid, task_id);
    t = tok(in, tid);
    t->wait = W_TASK;
    snprintf(t->ref, sizeof(t->ref), "%s", task_id);
    cJSON_Delete(res);
    arm_bounds(tx, in, tid);
}

static void do_rule(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char rid[200], path[300];
    snprintf(rid, sizeof(rid), "%s", n->decision);
    char *hash = strchr(rid, '#');
    if (hash)
        *hash++ = 0;
    snprintf(path, sizeof(path), "/rules/%s/evaluate", rid);
    cJSON *body = cJSON_CreateObject();
    if (hash)
        cJSON_AddStringToObject(body, "decision", hash);
    cJSON_AddItemToObject(body, "inputs", visible(in, t->scope));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL;
    int rc = text ? fm_call_system(in->tenant, FM_POST, path, text, &status, &out) : FM_ENOMEM;
    free(text);
    cJSON *res = rc == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
    cJSON *outputs = cJSON_GetObjectItem(res, "outputs");
    if (!outputs) {
        char msg[400];
        snprintf(msg, sizeof(msg), "decision '%s' could not be evaluated (%d): %.300s", n->decision, status,
                 out ? out : "no answer");
        free(out);
        cJSON_Delete(res);
        incident(tx, in, tid, "expression", msg);
        return;
    }
    free(out);
    cJSON *val = hash ? cJSON_GetObjectItem(outputs, hash) : outputs;
    if (n->result_var) {
        cJSON *ch = cJSON_CreateObject();
        var_set(tx, in, t->scope, n->result_var, cJSON_Duplicate(val ? val : outputs, true), ch);
        ex_hist(tx, in, "variables.changed", t->node, tid, ch);
    }
    cJSON_Delete(res);
    leave(tx, in, tid);
}

static void do_send(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300], key[256] = "";
    if (n->corr) {
        cJSON *k = eval_json(in, t->scope, n->corr, why, sizeof(why));
        if (!k) {
            incident(tx, in, tid, "expression", why);
            return;
        }
        if (cJSON_IsString(k))
            snprintf(key, sizeof(key), "%s", k->valuestring);
        else {
            char *p = cJSON_PrintUnformatted(k);
            snprintf(key, sizeof(key), "%s", p ? p : "");
            free(p);
        }
        cJSON_Delete(k);
    }
    cJSON *vars = visible(in, t->scope);
    char target[48], el[200];
    bool started;
    int rc = ex_correlate(tx, in->tenant, n->msg_name, key, vars, target, sizeof(target), el, sizeof(el),
                          &started, in->id);
    cJSON_Delete(vars);
    if (rc != FM_OK) {
        char msg[400];
        snprintf(msg, sizeof(msg), "message '%s' (key '%s') has nobody waiting for it", n->msg_name, key);
        incident(tx, in, tid, "message", msg);
        return;
    }
    leave(tx, in, tid);
}

static void do_call(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    ex_def_t *d = NULL;
    const char *field;
    char why[400];
    if (ex_def_get(in->tenant, n->called, 0, &d, &field, why, sizeof(why)) != FM_OK) {
        incident(tx, in, tid, "call", why);
        return;
    }
    cJSON *vars;
    if (n->has_ins) {
        vars = cJSON_CreateObject();
        for (int i = 0; i < n->nins; i++) {
            cJSON *v = eval_json(in, t->scope, n->ins[i].source.feel, why, sizeof(why));
            if (!v) {
                cJSON_Delete(vars);
                incident(tx, in, tid, "expression", why);
                return;
            }
            cJSON_AddItemToObject(vars, n->ins[i].target ? n->ins[i].target : "input", v);
        }
    } else
        vars = visible(in, t->scope);
    t->wait = W_CALL;
    if (!arm_bounds(tx, in, tid)) {
        cJSON_Delete(vars);
        return;
    }
    ex_inst_t *child = NULL;
    int rc = ex_start(tx, d, in->business_key, vars, NULL, in->id, tid, -1, &child);
    cJSON_Delete(vars);
    if (rc != FM_OK) {
        tok(in, tid)->wait = W_READY;
        incident(tx, in, tid, "call", "the called instance could not be started");
        return;
    }
    t = tok(in, tid);
    if (t && t->wait == W_CALL)
        snprintf(t->ref, sizeof(t->ref), "%s", child->id);
}

static void do_job(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char id[48];
    if (ex_job_add(tx, in, tid, n, id, sizeof(id)) != FM_OK) {
        incident(tx, in, tid, "job", "the job could not be created");
        return;
    }
    t = tok(in, tid);
    t->wait = W_JOB;
    snprintf(t->ref, sizeof(t->ref), "%s", id);
    arm_bounds(tx, in, tid);
}

static void do_wait_message(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300];
    char *key = NULL;
    if (n->corr) {
        cJSON *k = eval_json(in, t->scope, n->corr, why, sizeof(why));
        if (!k) {
            incident(tx, in, tid, "expression", why);
            return;
        }
        key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
        cJSON_Delete(k);
    }
    ex_msg_add(tx, in, tid, 0, n->id, "catch", n->msg_name, key ? key : "");
    free(key);
    t = tok(in, tid);
    t->wait = W_MSG;
    arm_bounds(tx, in, tid);
}

static void do_timer(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int64_t due, every;
    int repeat;
    char why[300];
    if (!timer_due(tx, in, t->scope, n, &due, &repeat, &every, why, sizeof(why))) {
        incident(tx, in, tid, "expression", why);
        return;
    }
    ex_timer_add(tx, in, tid, 0, n->id, "catch", due, 0, 0);
    t = tok(in, tid);
    t->wait = W_TIMER;
}

static void do_eventgw(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int sc = t->scope;
    for (int i = 0; i < n->nout; i++) {
        const ex_node_t *c = &in->def->nodes[in->def->flows[n->out[i]].dst];
        char why[300];
        if (c->ev == E_TIMER) {
            int64_t due, every;
            int repeat;
            if (!timer_due(tx, in, sc, c, &due, &repeat, &every, why, sizeof(why))) {
                ex_waits_drop(tx, in, tid, 0);
                incident(tx, in, tid, "expression", why);
                return;
            }
            ex_timer_add(tx, in, tid, 0, c->id, "event", due, 0, 0);
        } else {
            char *key = NULL;
            if (c->corr) {
                cJSON *k = eval_json(in, sc, c->corr, why, sizeof(why));
                if (!k) {
                    ex_waits_drop(tx, in, tid, 0);
                    incident(tx, in, tid, "expression", why);
                    return;
                }
                key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
                cJSON_Delete(k);
            }
            ex_msg_add(tx, in, tid, 0, c->id, "event", c->msg_name, key ? key : "");
            free(key);
        }
    }
    t = tok(in, tid);
    t->wait = W_EVENT;
}

static void do_sub(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    int node = t->node;
    const ex_node_t *n = &in->def->nodes[node];
    int s = scope_new(in, S_SUB, t->scope, node, tid);
    t = tok(in, tid);
    t->wait = W_SUB;
    snprintf(t->ref, sizeof(t->ref), "%d", s);
    if (!arm_bounds(tx, in, tid))
        return;
    arm_evsubs(tx, in, s, n->evsubs, n->nevsubs);
    int started = 0;
    for (int i = 0; i < n->nstarts; i++)
        if (in->def->nodes[n->starts[i]].ev == E_NONE) {
            tok_new(in, n->starts[i], s, -1);
            started++;
        }
    if (!started)
        scope_check(tx, in, s);
}

static void do_end(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int sc = t->scope, node = t->node;
    switch (n->ev) {
    case E_ERROR: {
        char msg[300];
        snprintf(msg, sizeof(msg), "error end event '%s'", n->id);
        throw_error(tx, in, tid, sc, 0, n->code, msg);
        return;
    }
    case E_ESCALATION:
        mark(tx, in, node, tid, false);
        throw_escalation(tx, in, sc, n->code);
        if (tok(in, tid))
            token_end(tx, in, tid);
        return;
    case E_TERMINATE: {
        mark(tx, in, node, tid, false);
        tok_remove(in, tid);
        cancel_inside(tx, in, sc);
        ex_scope_t *s = sc ? scope(in, sc) : NULL;
        if (!sc) {
            complete_instance(tx, in, I_COMPLETED);
        } else if (s && s->kind == S_EVSUB) {
            int parent = s->parent;
            mark(tx, in, s->node, 0, false);
            scope_remove(in, sc);
            scope_check(tx, in, parent);
        } else
            scope_check(tx, in, sc);
        return;
    }
    default:
        mark(tx, in, node, tid, false);
        token_end(tx, in, tid);
    }
}

/* Executes the node token tid has arrived at. */
static void execute(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    bool activity = n->kind == N_TASK || n->kind == N_SCRIPT || n->kind == N_RULE || n->kind == N_JOB ||
                    n->kind == N_USER || n->kind == N_SEND || n->kind == N_RECEIVE ||
                    n->kind == N_CALL || n->kind == N_SUB;
    if (activity && n->mi && !is_iter(in, t)) {
        mi_begin(tx, in, tid);
        return;
    }
    /* joins record their entry when they fire */
    if (n->kind == N_AND && n->nin > 1) {
        if (!and_join(in, tid)) {
            tok(in, tid)->wait = W_JOIN;
            return;
        }
        gateway_out(tx, in, tid);
        return;
    }
    if (n->kind == N_OR && n->nin > 1) {
        tok(in, tid)->wait = W_JOIN;     /* run() fires it when ready */
        return;
    }
    if (n->kind == N_XOR || n->kind == N_OR || n->kind == N_AND) {
        gateway_out(tx, in, tid);
        return;
    }
    if (!(t->flags & TF_SKIP_ENTER))
        mark(tx, in, t->node, tid, true);
    t = tok(in, tid);
    t->flags &= ~TF_SKIP_ENTER;
    if ((n->has_ins || n->has_outs) && n->kind != N_CALL && !io_of(in, t) && !io_enter(tx, in, tid))
        return;
    t = tok(in, tid);
    char why[300];
    switch (n->kind) {
    case N_START:
    case N_TASK:
    case N_BOUNDARY:
        leave(tx, in, tid);
        break;
    case N_THROW:
        if (n->ev == E_ESCALATION) {
            int sc = t->scope;
            throw_escalation(tx, in, sc, n->code);
            if (!tok(in, tid))
                break;
        }
        leave(tx, in, tid);
        break;
    case N_SCRIPT: {
        cJSON *v = eval_json(in, t->scope, n->script, why, sizeof(why));
        if (!v) {
            char msg[400];
            snprintf(msg, sizeof(msg), "script of '%s': %s", n->id, why);
            incident(tx, in, tid, "expression", msg);
            break;
        }
        if (n->result_var) {
            cJSON *ch = cJSON_CreateObject();
            var_set(tx, in, tok(in, tid)->scope, n->result_var, v, ch);
            ex_hist(tx, in, "variables.changed", tok(in, tid)->node, tid, ch);
        } else
            cJSON_Delete(v);
        leave(tx, in, tid);
        break;
    }
    case N_RULE:
        if (n->job_type)
            do_job(tx, in, tid);
        else
            do_rule(tx, in, tid);
        break;
    case N_JOB:
        do_job(tx, in, tid);
        break;
    case N_USER:
        do_user_task(tx, in, tid);
        break;
    case N_SEND:
        do_send(tx, in, tid);
        break;
    case N_RECEIVE:
        do_wait_message(tx, in, tid);
        break;
    case N_CATCH:
        do_timer(tx, in, tid);
        break;
    case N_CALL:
        do_call(tx, in, tid);
        break;
    case N_SUB:
        do_sub(tx, in, tid);
        break;
    case N_EVENTGW:
        do_eventgw(tx, in, tid);
        break;
    case N_END:
        do_end(tx, in, tid);
        break;
    default:
        leave(tx, in, tid);
    }
}

/* Executes READY tokens until none is left; fires ready inclusive joins. */
static int run(ex_tx_t *tx, ex_inst_t *in)
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
        int ready = 0;
        for (int i = 0; i < in->ntoks && !ready; i++)
            if (in->toks[i].wait == W_READY)
                ready = in->toks[i].id;
        if (ready) {
            if (++tx->steps > EX_MAX_STEPS) {
                incident(tx, in, ready, "expression", "step limit reached (a loop without a wait state?)");
                return FM_OK;
            }
            execute(tx, in, ready);
            continue;
        }
        int fired = 0;
        for (int i = 0; i < in->ntoks && !fired; i++) {
            ex_tok_t *x = &in->toks[i];
            if (x->wait == W_JOIN && in->def->nodes[x->node].kind == N_OR)
                fired = or_join_ready(in, x->node, x->scope);
        }
        if (!fired)
            return FM_OK;
        ex_tok_t *t = tok(in, fired);
        t->wait = W_READY;
        gateway_out(tx, in, fired);
    }
}

/* Runs every loaded instance until none has work (a child finishing moves its parent). */
static void run_all(ex_tx_t *tx)
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
                run(tx, in);
                break;
            }
        }
        if (!any) {
            /* inclusive joins that became ready through another instance's change */
            for (int i = 0; i < tx->ninsts; i++)
                if (tx->insts[i]->state == I_ACTIVE)
                    run(tx, tx->insts[i]);
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
    arm_evsubs(tx, in, 0, def->evsubs, def->nevsubs);
    if (start_node < 0) {
        for (int i = 0; i < def->nstarts; i++)
            if (def->nodes[def->starts[i]].ev == E_NONE) {
                start_node = def->starts[i];
                break;
            }
        if (start_node < 0 && def->nstarts)
            start_node = def->starts[0];   /* a message/timer start started by hand */
    }
    tok_new(in, start_node, 0, -1);
    run_all(tx);
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
        ex_tok_t *t = tok(in, token);
        if (!t || (t->wait != W_MSG && t->wait != W_TIMER) || t->node != node)
            return FM_ENOTFOUND;
        ex_waits_drop(tx, in, token, 0);
        t = tok(in, token);
        t->wait = W_READY;
        t->flags &= ~TF_ARMED;
        if (vars)
            vars_merge(tx, in, t->scope, vars, node, token);
        leave(tx, in, token);
    } else if (!strcmp(kind, "boundary")) {
        ex_tok_t *a = tok(in, token);
        if (!a || n->attached != a->node)
            return FM_ENOTFOUND;
        int sc = act_scope(in, a);
        if (n->interrupting) {
            mark(tx, in, a->node, token, false);
            cancel_token(tx, in, token);
        }
        int b = tok_new(in, node, sc, -1);
        if (vars)
            vars_merge(tx, in, sc, vars, node, b);
    } else if (!strcmp(kind, "event")) {
        ex_tok_t *t = tok(in, token);
        if (!t || t->wait != W_EVENT)
            return FM_ENOTFOUND;
        ex_waits_drop(tx, in, token, 0);
        mark(tx, in, t->node, token, false);
        int f = -1;
        const ex_node_t *g = &in->def->nodes[t->node];
        for (int i = 0; i < g->nout; i++)
            if (in->def->flows[g->out[i]].dst == node)
                f = g->out[i];
        if (f < 0)
            return FM_ENOTFOUND;
        move(in, token, f);
        mark(tx, in, node, token, true);
        t = tok(in, token);
        if (vars)
            vars_merge(tx, in, t->scope, vars, node, token);
        leave(tx, in, token);
    } else if (!strcmp(kind, "evsub")) {
        if (scope_id && !scope(in, scope_id))
            return FM_ENOTFOUND;
        if (n->interrupting)
            ex_waits_drop(tx, in, 0, scope_id);
        trigger_evsub(tx, in, scope_id, node, vars);
    } else
        return FM_EINVAL;
    in->dirty = true;
    run_all(tx);
    return FM_OK;
}

int ex_task_done(ex_tx_t *tx, ex_inst_t *in, int token, const char *task_id, const cJSON *response)
{
    ex_tok_t *t = tok(in, token);
    if (!t || t->wait != W_TASK || strcmp(t->ref, task_id))
        return FM_ENOTFOUND;
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    ex_task_unlink(tx, in, token, false);
    t = tok(in, token);
    t->wait = W_READY;
    if (response)
        vars_merge(tx, in, t->scope, response, t->node, token);
    leave(tx, in, token);
    run_all(tx);
    return FM_OK;
}

int ex_job_done(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id, const cJSON *vars)
{
    ex_tok_t *t = tok(in, token);
    if (!t || t->wait != W_JOB || strcmp(t->ref, job_id))
        return FM_ENOTFOUND;
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    t->wait = W_READY;
    if (vars)
        vars_merge(tx, in, t->scope, vars, t->node, token);
    leave(tx, in, token);
    run_all(tx);
    return FM_OK;
}

int ex_job_error(ex_tx_t *tx, ex_inst_t *in, int token, const char *code, const char *msg)
{
    ex_tok_t *t = tok(in, token);
    if (!t || t->wait != W_JOB)
        return FM_ENOTFOUND;
    if (in->state != I_ACTIVE)
        return FM_ECONFLICT;
    ex_job_drop(tx, in, token);
    t = tok(in, token);
    t->wait = W_READY;
    throw_error(tx, in, token, t->scope, token, code, msg);
    run_all(tx);
    return FM_OK;
}

int ex_job_incident(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id, const char *msg)
{
    ex_tok_t *t = tok(in, token);
    if (!t || t->wait != W_JOB)
        return FM_ENOTFOUND;
    char id[48];
    const ex_node_t *n = &in->def->nodes[t->node];
    int rc = ex_incident_add(tx, in, token, n->id, "job", msg, job_id, id, sizeof(id));
    if (rc != FM_OK)
        return rc;
    t = tok(in, token);
    t->wait = W_INCIDENT;
    snprintf(t->ref, sizeof(t->ref), "%s", id);
    incident_noted(tx, in, t->node, token, id, "job", msg);
    return FM_OK;
}

int ex_incident_retry(ex_tx_t *tx, ex_inst_t *in, int token)
{
    ex_tok_t *t = tok(in, token);
    if (t && t->wait == W_INCIDENT) {
        t->wait = W_READY;
        t->ref[0] = 0;
        in->dirty = true;
    }
    if (in->incidents > 0)
        in->incidents--;
    if (in->state == I_ACTIVE)
        run_all(tx);
    return FM_OK;
}

int ex_incident_retry_job(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id)
{
    (void)tx;
    ex_tok_t *t = tok(in, token);
    if (t && t->wait == W_INCIDENT) {
        t->wait = W_JOB;
        snprintf(t->ref, sizeof(t->ref), "%s", job_id);
    }
    if (in->incidents > 0)
        in->incidents--;
    in->dirty = true;
    return FM_OK;
}

cJSON *ex_token_vars(ex_inst_t *in, int token)
{
    ex_tok_t *t = tok(in, token);
    return visible(in, t ? t->scope : 0);
}

int ex_cancel(ex_tx_t *tx, ex_inst_t *in)
{
    if (in->state >= I_COMPLETED)
        return FM_ECONFLICT;
    complete_instance(tx, in, I_CANCELLED);
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
    if (state == I_ACTIVE)
        run_all(tx);
    return FM_OK;
}

int ex_set_vars(ex_tx_t *tx, ex_inst_t *in, const cJSON *vars)
{
    if (in->state >= I_COMPLETED)
        return FM_ECONFLICT;
    if (vars && vars->child) {
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

void ex_inst_free(ex_inst_t *in)
{
    if (!in)
        return;
    for (int i = 0; i < in->nscopes; i++) {
        cJSON_Delete(in->scopes[i].vars);
        cJSON_Delete(in->scopes[i].mi_items);
        cJSON_Delete(in->scopes[i].mi_out);
    }
    free(in->scopes);
    free(in->toks);
    cJSON_Delete(in->vars);
    cJSON_Delete(in->hist);
    free(in->business_key);
    free(in->idem_key);
    free(in);
}

static const char *const wait_names[] = {
    "ready", "task", "job", "message", "timer", "call", "join", "event", "incident", "mi", "subprocess", "done",
};

cJSON *ex_inst_json(const ex_inst_t *in, bool with_vars)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", in->id);
    cJSON_AddStringToObject(o, "processId", in->process_id);
    cJSON_AddStringToObject(o, "bpmnProcessId", in->bpmn_id);
    cJSON_AddNumberToObject(o, "version", in->version);
    if (in->business_key)
        cJSON_AddStringToObject(o, "businessKey", in->business_key);
    else
        cJSON_AddNullToObject(o, "businessKey");
    cJSON_AddStringToObject(o, "state", ex_state_name(in->state));
    if (in->parent_id[0])
        cJSON_AddStringToObject(o, "parentId", in->parent_id);
    else
        cJSON_AddNullToObject(o, "parentId");
    cJSON *act = cJSON_AddArrayToObject(o, "activeElements");
    for (int i = 0; in->def && i < in->ntoks; i++) {
        const ex_tok_t *t = &in->toks[i];
        const ex_node_t *n = &in->def->nodes[t->node];
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "elementId", n->id);
        cJSON_AddStringToObject(a, "elementType", n->type);
        cJSON_AddNumberToObject(a, "tokenId", t->id);
        cJSON_AddStringToObject(a, "waitingFor", t->wait >= 0 && t->wait <= W_DONE ? wait_names[t->wait] : "?");
        const char *refname = t->wait == W_TASK ? "taskId" : t->wait == W_JOB ? "jobId"
                            : t->wait == W_CALL ? "childId" : t->wait == W_INCIDENT ? "incidentId" : NULL;
        if (refname && t->ref[0])
            cJSON_AddStringToObject(a, refname, t->ref);
        cJSON_AddItemToArray(act, a);
    }
    if (with_vars)
        cJSON_AddItemToObject(o, "variables", cJSON_Duplicate(in->vars, true));
    cJSON_AddNumberToObject(o, "incidents", in->incidents);
    cJSON_AddStringToObject(o, "createdAt", in->created_at);
    cJSON_AddStringToObject(o, "updatedAt", in->updated_at[0] ? in->updated_at : in->created_at);
    if (in->ended_at[0])
        cJSON_AddStringToObject(o, "endedAt", in->ended_at);
    else
        cJSON_AddNullToObject(o, "endedAt");
    return o;
}
