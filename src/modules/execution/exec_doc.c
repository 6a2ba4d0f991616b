/*
 * exec_doc.c — an instance document in memory: its tokens and scopes, the variables
 * of each scope and FEEL evaluated over them, history marks, incidents, timer values,
 * and the instance as the API shows it. The token machine (exec_run.c) and its parts
 * build on these.
 */
#include "exec_int.h"

#include "../../dmn/dmn.h"
#include "../../fm_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- tokens and scopes ----
 * Both live in arrays (removal moves the last one into the gap); an index by id keeps
 * every lookup O(1), so an instance with 100,000 iterations is not quadratic. */

static unsigned idx_slot(const ex_idx_t *x, int key)
{
    return ((unsigned)key * 2654435761u) & (unsigned)(x->cap - 1);
}

static int idx_get(const ex_idx_t *x, int key)
{
    if (!x->cap)
        return -1;
    for (unsigned i = idx_slot(x, key);; i = (i + 1) & (unsigned)(x->cap - 1)) {
        if (x->keys[i] == key)
            return x->vals[i];
        if (!x->keys[i])
            return -1;
    }
}

static bool idx_put(ex_idx_t *x, int key, int val);

static bool idx_grow(ex_idx_t *x)
{
    ex_idx_t old = *x;
    int cap = old.cap ? old.cap * 2 : 16;
    x->keys = calloc((size_t)cap, sizeof(int));
    x->vals = calloc((size_t)cap, sizeof(int));
    if (!x->keys || !x->vals) {
        free(x->keys);
        free(x->vals);
        *x = old;
        return false;
    }
    x->cap = cap;
    x->n = 0;
    for (int i = 0; i < old.cap; i++)
        if (old.keys[i])
            idx_put(x, old.keys[i], old.vals[i]);
    free(old.keys);
    free(old.vals);
    return true;
}

static bool idx_put(ex_idx_t *x, int key, int val)
{
    if ((x->n + 1) * 2 > x->cap && !idx_grow(x))
        return false;
    unsigned i = idx_slot(x, key);
    while (x->keys[i] && x->keys[i] != key)
        i = (i + 1) & (unsigned)(x->cap - 1);
    if (!x->keys[i])
        x->n++;
    x->keys[i] = key;
    x->vals[i] = val;
    return true;
}

/* Deletion with backward shift: no tombstones. */
static void idx_del(ex_idx_t *x, int key)
{
    if (!x->cap)
        return;
    unsigned m = (unsigned)(x->cap - 1), i = idx_slot(x, key);
    while (x->keys[i] && x->keys[i] != key)
        i = (i + 1) & m;
    if (!x->keys[i])
        return;
    x->keys[i] = 0;
    x->n--;
    for (unsigned j = (i + 1) & m; x->keys[j]; j = (j + 1) & m) {
        unsigned home = idx_slot(x, x->keys[j]);
        /* move j back to i when its home is not in (i, j] (cyclically) */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            x->keys[i] = x->keys[j];
            x->vals[i] = x->vals[j];
            x->keys[j] = 0;
            i = j;
        }
    }
}

static void idx_free(ex_idx_t *x)
{
    free(x->keys);
    free(x->vals);
    memset(x, 0, sizeof(*x));
}

static bool counts_busy(int kind)
{
    return kind == S_EVSUB || kind == S_IO;
}

/* The busy count of scope sid (0: root) changes by d. */
static void busy_add(ex_inst_t *in, int sid, int d)
{
    if (!sid) {
        in->root_busy += d;
        return;
    }
    int i = idx_get(&in->scope_idx, sid);
    if (i >= 0 && i < in->nscopes && in->scopes[i].id == sid)
        in->scopes[i].busy += d;
}

/* Builds the indexes and busy counts of a document loaded from storage (or on first use). */
static void idx_ready(ex_inst_t *in)
{
    if (in->indexed)
        return;
    idx_free(&in->tok_idx);
    idx_free(&in->scope_idx);
    for (int i = 0; i < in->ntoks; i++)
        idx_put(&in->tok_idx, in->toks[i].id, i);
    for (int i = 0; i < in->nscopes; i++) {
        idx_put(&in->scope_idx, in->scopes[i].id, i);
        in->scopes[i].busy = 0;
    }
    in->root_busy = 0;
    for (int i = 0; i < in->ntoks; i++)
        busy_add(in, in->toks[i].scope, 1);
    for (int i = 0; i < in->nscopes; i++)
        if (counts_busy(in->scopes[i].kind))
            busy_add(in, in->scopes[i].parent, 1);
    in->indexed = true;
}

bool ex_scope_busy(ex_inst_t *in, int sid)
{
    idx_ready(in);
    if (!sid)
        return in->root_busy > 0;
    ex_scope_t *s = ex_scope(in, sid);
    return s && s->busy > 0;
}

void ex_tok_set_scope(ex_inst_t *in, int tid, int sid)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (!t || t->scope == sid)
        return;
    busy_add(in, t->scope, -1);
    t->scope = sid;
    busy_add(in, sid, 1);
    in->dirty = true;
}

/* in->scan stays a lower bound of the first READY token's position: a token handed out
 * here may be made READY by the caller, so its position lowers the bound. The run loop
 * then takes the first READY token in array order, as a scan from 0 would, without
 * passing over the waiting ones at every step. */
ex_tok_t *ex_tok(ex_inst_t *in, int id)
{
    idx_ready(in);
    int i = idx_get(&in->tok_idx, id);
    if (i < 0 || i >= in->ntoks || in->toks[i].id != id)
        return NULL;
    if (i < in->scan)
        in->scan = i;
    return &in->toks[i];
}

int ex_tok_new(ex_inst_t *in, int node, int scope, int flow)
{
    idx_ready(in);
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
    idx_put(&in->tok_idx, t->id, in->ntoks - 1);
    busy_add(in, scope, 1);
    if (in->ntoks - 1 < in->scan)
        in->scan = in->ntoks - 1;
    in->dirty = true;
    return t->id;
}

void ex_tok_remove(ex_inst_t *in, int id)
{
    ex_tok_t *t = ex_tok(in, id);
    if (!t)
        return;
    int i = (int)(t - in->toks);
    busy_add(in, t->scope, -1);
    idx_del(&in->tok_idx, id);
    if (i != --in->ntoks) {
        in->toks[i] = in->toks[in->ntoks];
        idx_put(&in->tok_idx, in->toks[i].id, i);
    }
    if (i < in->scan)
        in->scan = i;
    in->dirty = true;
}

ex_scope_t *ex_scope(ex_inst_t *in, int id)
{
    idx_ready(in);
    int i = idx_get(&in->scope_idx, id);
    return i >= 0 && i < in->nscopes && in->scopes[i].id == id ? &in->scopes[i] : NULL;
}

int ex_scope_new(ex_inst_t *in, int kind, int parent, int node, int owner)
{
    idx_ready(in);
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
    int sid = s->id;
    idx_put(&in->scope_idx, sid, in->nscopes - 1);
    if (counts_busy(kind))
        busy_add(in, parent, 1);
    return sid;
}

static void scope_release(ex_scope_t *s)
{
    cJSON_Delete(s->vars);
    cJSON_Delete(s->mi_items);
    cJSON_Delete(s->mi_out);
    free(s->mi_item_at);
    free(s->mi_out_at);
    free(s->mi_items_text);
}

void ex_scope_remove(ex_inst_t *in, int id)
{
    ex_scope_t *s = ex_scope(in, id);
    if (!s)
        return;
    int i = (int)(s - in->scopes);
    int kind = s->kind, parent = s->parent;
    scope_release(s);
    idx_del(&in->scope_idx, id);
    if (i != --in->nscopes) {
        in->scopes[i] = in->scopes[in->nscopes];
        idx_put(&in->scope_idx, in->scopes[i].id, i);
    }
    if (counts_busy(kind))
        busy_add(in, parent, -1);
}

int ex_scope_parent(ex_inst_t *in, int sid)
{
    ex_scope_t *s = sid ? ex_scope(in, sid) : NULL;
    return s ? s->parent : 0;
}

/* sid is inside (or is) anc. */
bool ex_scope_within(ex_inst_t *in, int sid, int anc)
{
    for (int guard = 0; guard < 10000; guard++) {
        if (sid == anc)
            return true;
        if (!sid)
            return false;
        sid = ex_scope_parent(in, sid);
    }
    return false;
}

/* The IO scope token t holds for its current element, or NULL. */
ex_scope_t *ex_io_of(ex_inst_t *in, const ex_tok_t *t)
{
    ex_scope_t *s = t->scope ? ex_scope(in, t->scope) : NULL;
    return s && s->kind == S_IO && s->owner == t->id ? s : NULL;
}

/* The scope the element of token t lives in (outside its own IO scope). */
int ex_act_scope(ex_inst_t *in, const ex_tok_t *t)
{
    ex_scope_t *io = ex_io_of(in, t);
    return io ? io->parent : t->scope;
}

bool ex_is_iter(ex_inst_t *in, const ex_tok_t *t)
{
    int sid = ex_act_scope(in, t);
    ex_scope_t *s = sid ? ex_scope(in, sid) : NULL;
    return s && s->kind == S_MI_ITER && s->node == t->node;
}

/* ---- variables ---- */

/* Innermost scope (from sid outwards) that has name; 0 root. */
cJSON *ex_scope_vars(ex_inst_t *in, int sid)
{
    ex_scope_t *s = sid ? ex_scope(in, sid) : NULL;
    return s ? s->vars : in->vars;
}

void ex_var_set(ex_tx_t *tx, ex_inst_t *in, int sid, const char *name, cJSON *val, cJSON *changed)
{
    (void)tx;
    cJSON *target = in->vars;
    for (int s = sid, guard = 0; s && guard < 10000; s = ex_scope_parent(in, s), guard++) {
        ex_scope_t *sc = ex_scope(in, s);
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
void ex_vars_merge(ex_tx_t *tx, ex_inst_t *in, int sid, const cJSON *obj, int node, int tid)
{
    if (!cJSON_IsObject(obj) || !obj->child)
        return;
    cJSON *changed = cJSON_CreateObject();
    const cJSON *c;
    cJSON_ArrayForEach(c, obj) ex_var_set(tx, in, sid, c->string, cJSON_Duplicate(c, true), changed);
    ex_hist(tx, in, "variables.changed", node, tid, changed);
}

/* All variables visible from sid, innermost winning (caller deletes). */
cJSON *ex_visible(ex_inst_t *in, int sid)
{
    int chain[64], n = 0;
    for (int s = sid; s && n < 64; s = ex_scope_parent(in, s))
        chain[n++] = s;
    cJSON *o = cJSON_Duplicate(in->vars, true);
    for (int i = n - 1; i >= 0; i--) {
        const cJSON *c;
        cJSON_ArrayForEach(c, ex_scope_vars(in, chain[i]))
        {
            cJSON_DeleteItemFromObjectCaseSensitive(o, c->string);
            cJSON_AddItemToObject(o, c->string, cJSON_Duplicate(c, true));
        }
    }
    return o;
}

/* ---- FEEL ---- */

#define EX_CTX_NAMES 64

/* Puts vars into ctx: only the names the expression mentions (nnames >= 0), so that an
 * unrelated large variable (a multi-instance collection) costs nothing per evaluation. */
static void ctx_add(feel_eval_t *ev, feel_value_t *ctx, const cJSON *vars, const char **names, int nnames)
{
    if (nnames < 0) {
        const cJSON *c;
        cJSON_ArrayForEach(c, vars) feel_ctx_put(ev, ctx, c->string, dmn_from_json(ev, c, FEEL_NULL));
        return;
    }
    for (int i = 0; i < nnames; i++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(vars, names[i]);
        if (c)
            feel_ctx_put(ev, ctx, c->string, dmn_from_json(ev, c, FEEL_NULL));
    }
}

static feel_value_t *ctx_of(feel_eval_t *ev, ex_inst_t *in, int sid, const feel_expr_t *e)
{
    feel_value_t *ctx = feel_context(ev);
    const char *names[EX_CTX_NAMES];
    int nnames = e ? feel_expr_names(e, names, EX_CTX_NAMES) : -1;
    int chain[64], n = 0;
    for (int s = sid; s && n < 64; s = ex_scope_parent(in, s))
        chain[n++] = s;
    ctx_add(ev, ctx, in->vars, names, nnames);
    for (int i = n - 1; i >= 0; i--)
        ctx_add(ev, ctx, ex_scope_vars(in, chain[i]), names, nnames);
    return ctx;
}

/* Evaluates e in scope sid; *out gets the FEEL value (valid until the next eval on
 * this thread). Returns false with why on an error. */
bool ex_eval_value(ex_inst_t *in, int sid, const feel_expr_t *e, feel_eval_t **evp,
                       feel_value_t **out, char *why, size_t whylen)
{
    feel_eval_t *ev = feel_eval_thread();
    *evp = ev;
    if (!ev) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    feel_value_t *v = feel_eval(ev, e, ctx_of(ev, in, sid, e));
    const char *err = feel_eval_error(ev);
    if (err) {
        snprintf(why, whylen, "%s", err);
        return false;
    }
    *out = v;
    return true;
}

/* The result as JSON (caller deletes), or NULL with why. */
cJSON *ex_eval_json(ex_inst_t *in, int sid, const feel_expr_t *e, char *why, size_t whylen)
{
    feel_eval_t *ev;
    feel_value_t *v;
    if (!ex_eval_value(in, sid, e, &ev, &v, why, whylen))
        return NULL;
    cJSON *j = dmn_to_json(ev, v);
    if (!j)
        snprintf(why, whylen, "%s", feel_eval_error(ev) ? feel_eval_error(ev) : "the value cannot be JSON");
    return j;
}

/* A string from a literal-or-FEEL value (caller frees; NULL when absent or null). */
char *ex_expr_string(ex_inst_t *in, int sid, const ex_expr_t *x, char *why, size_t whylen, bool *bad)
{
    if (x->text)
        return strdup(x->text);
    if (!x->feel)
        return NULL;
    cJSON *j = ex_eval_json(in, sid, x->feel, why, whylen);
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

void ex_mark(ex_tx_t *tx, ex_inst_t *in, int node, int tid, bool entered)
{
    ex_hist(tx, in, entered ? "element.entered" : "element.left", node, tid, NULL);
    ex_event(tx, in, entered ? "execution.element.entered" : "execution.element.left", node, tid, NULL);
}

/* ---- incidents ---- */

/* History entry and event of a new incident; the instance counts it. */
void ex_incident_noted(ex_tx_t *tx, ex_inst_t *in, int node, int tid, const char *id, const char *type,
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

void ex_incident(ex_tx_t *tx, ex_inst_t *in, int tid, const char *type, const char *msg)
{
    ex_tok_t *t = ex_tok(in, tid);
    if (!t)
        return;
    char id[48];
    const ex_node_t *n = &in->def->nodes[t->node];
    if (ex_incident_add(tx, in, tid, n->id, type, msg, NULL, id, sizeof(id)) != FM_OK)
        return;
    t = ex_tok(in, tid);
    t->wait = W_INCIDENT;
    t->flags |= TF_SKIP_ENTER;
    snprintf(t->ref, sizeof(t->ref), "%s", id);
    ex_incident_noted(tx, in, t->node, tid, id, type, msg);
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

bool ex_duration_ms(const char *iso, int64_t *ms)
{
    feel_eval_t *ev = feel_eval_thread();
    feel_value_t *v = ev && iso ? feel_temporal_parse(ev, FEEL_DTD, iso) : NULL;
    return v && v->t == FEEL_DTD && dur_ms(v, ms);
}

/* A cycle shorter than execution.timer_min_cycle_ms (publish refuses literal ones; a
 * FEEL one is known only now): false with why on a boundary (its activity gets the
 * incident), raised to the minimum on a start event (no instance to hold an incident). */
static bool cycle_ok(const ex_node_t *n, int64_t *every, char *why, size_t whylen)
{
    int64_t min = fm_cfg()->execution_timer_min_cycle_ms;
    if (*every >= min)
        return true;
    if (n->kind == N_START) {
        *every = min;
        return true;
    }
    snprintf(why, whylen, "timeCycle of '%s' repeats every %lld ms, less than the minimum of %lld ms "
             "(execution.timer_min_cycle_ms)", n->id, (long long)*every, (long long)min);
    return false;
}

/* Due time (and cycle) of a timer node; false with why. */
bool ex_timer_due(ex_tx_t *tx, ex_inst_t *in, int sid, const ex_node_t *n, int64_t *due,
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
            if (!ex_eval_value(in, sid, n->timer.feel, &e2, &v, why, whylen))
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
                if (!cycle_ok(n, every, why, whylen))
                    return false;
                *due = tx->now_ms + *every;
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
        if (*repeat != 0 && !cycle_ok(n, every, why, whylen))
            return false;
        *due = tx->now_ms + *every;
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
    return ex_timer_due(tx, NULL, 0, n, due, repeat, every, why, whylen);
}

cJSON *ex_token_vars(ex_inst_t *in, int token)
{
    ex_tok_t *t = ex_tok(in, token);
    return ex_visible(in, t ? t->scope : 0);
}

void ex_inst_free(ex_inst_t *in)
{
    if (!in)
        return;
    for (int i = 0; i < in->nscopes; i++)
        scope_release(&in->scopes[i]);
    idx_free(&in->tok_idx);
    idx_free(&in->scope_idx);
    free(in->scopes);
    free(in->toks);
    cJSON_Delete(in->vars);
    cJSON_Delete(in->hist);
    cJSON_Delete(in->held);
    free(in->business_key);
    free(in->idem_key);
    free(in->saved_doc);
    free(in);
}

static const char *const wait_names[] = {
    "ready", "task", "job", "message", "timer", "call", "join", "event", "incident", "mi", "subprocess", "signal",
    "done",
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
