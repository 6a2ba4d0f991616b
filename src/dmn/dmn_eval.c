/*
 * dmn_eval.c — evaluates decisions over the requirement graph: each decision sees
 * its required inputs and decisions by name, and its required BKMs as FEEL functions.
 * Decision values are memoised per run; the load-time cycle check (dmn_model.c) makes
 * the recursion finite, and a run-time guard catches what slipped past. Decision
 * tables apply every hit policy; a UNIQUE or ANY violation is a null result with a
 * warning, never a silent first match. Matched rule ids go into the trace.
 */
#include "dmn_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct run {
    const dmn_model_t *m;
    feel_eval_t *ev;
    const feel_value_t *inputs;
    feel_value_t **vals;
    unsigned char *state;       /* 0 new, 1 evaluating, 2 done */
    dmn_trace_t *tr;
    const char *decision;       /* decision being evaluated (trace) */
    bool no_room;               /* a decision's scope did not fit the arena */
} run_t;

#define MAX_WARNINGS 64     /* per run; reserved when the run starts */

static void warn(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(run_t *r, const char *fmt, ...)
{
    if (!r->tr)
        return;
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    dmn_trace_t *t = r->tr;
    if (t->nwarnings >= MAX_WARNINGS)
        return;
    if (t->nwarnings == t->capwarnings) {
        size_t cap = t->capwarnings ? t->capwarnings * 2 : 4;
        const char **w = feel_alloc(r->ev, cap * sizeof(*w));
        if (!w)
            return;
        if (t->nwarnings)
            memcpy(w, t->warnings, t->nwarnings * sizeof(*w));
        t->warnings = w;
        t->capwarnings = cap;
    }
    feel_value_t *s = feel_cstr(r->ev, buf);
    /* no arena left for the text: say so rather than lose the warning */
    t->warnings[t->nwarnings++] = s->t == FEEL_STR ? s->u.str.s : "evaluation memory limit reached";
}

/* Records the first FEEL error of an expression as a warning, then clears it. */
static void feel_warn(run_t *r, const char *where)
{
    const char *e = feel_eval_error(r->ev);
    if (e) {
        warn(r, "%s: %s", where, e);
        feel_eval_clear_error(r->ev);
    }
}

static void add_hit(run_t *r, const char *table, const char **rules, size_t n)
{
    dmn_trace_t *t = r->tr;
    if (!t)
        return;
    if (t->nhits == t->caphits) {
        size_t cap = t->caphits ? t->caphits * 2 : 4;
        dmn_hit_t *h = feel_alloc(r->ev, cap * sizeof(*h));
        if (!h)
            return;
        if (t->nhits)
            memcpy(h, t->hits, t->nhits * sizeof(*h));
        t->hits = h;
        t->caphits = cap;
    }
    dmn_hit_t *h = &t->hits[t->nhits++];
    h->decision = r->decision;
    h->table = table;
    h->rules = rules;
    h->nrules = n;
}

static feel_value_t *eval_expr(run_t *r, const dmn_expr_t *e, feel_value_t *scope);
static feel_value_t *eval_node(run_t *r, size_t i);

/* A context of c's entries plus room for `extra` more. c's keys are distinct, so they
 * are copied in bulk (linear: a decision's scope holds every input). */
static feel_value_t *copy_ctx_room(feel_eval_t *ev, const feel_value_t *c, size_t extra)
{
    feel_value_t *n = feel_context(ev);
    size_t len = c && c->t == FEEL_CTX ? c->u.ctx.n : 0, cap = len + extra;
    if (n->t != FEEL_CTX || !cap)
        return n;
    const char **k = feel_alloc(ev, cap * sizeof(*k));
    feel_value_t **v = feel_alloc(ev, cap * sizeof(*v));
    if (!k || !v)
        return n;
    if (len) {
        memcpy(k, c->u.ctx.keys, len * sizeof(*k));
        memcpy(v, c->u.ctx.vals, len * sizeof(*v));
    }
    n->u.ctx.keys = k;
    n->u.ctx.vals = v;
    n->u.ctx.n = len;
    n->u.ctx.cap = cap;
    return n;
}

static feel_value_t *copy_ctx(feel_eval_t *ev, const feel_value_t *c)
{
    return copy_ctx_room(ev, c, 0);
}

/* ---- functions: BKMs and boxed function definitions ---- */
typedef struct fn_ud {
    run_t *r;
    const dmn_expr_t *fn;       /* X_FUNCTION; NULL: a BKM without encapsulatedLogic */
    feel_value_t *closure;      /* scope at definition */
    const char *name;           /* the BKM's name or the function's id (warnings) */
} fn_ud_t;

static bool has_logic(const fn_ud_t *f)
{
    return f->fn && f->fn->body;
}

static feel_value_t *call_boxed(feel_eval_t *ev, void *ud, feel_value_t **args, size_t n)
{
    fn_ud_t *f = ud;
    if (!has_logic(f)) {
        warn(f->r, "'%s' has no logic yet: invoking it gives null", f->name);
        return feel_null();
    }
    feel_value_t *scope = copy_ctx(ev, f->closure);
    for (size_t i = 0; i < f->fn->nparams && i < n; i++)
        feel_ctx_put(ev, scope, f->fn->params[i], args[i]);
    return eval_expr(f->r, f->fn->body, scope);
}

/* A function without logic takes any positional call (up to this many arguments), so
 * the call reaches call_boxed and its warning rather than an arity error. */
static const char *any_params[16] = { "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "" };

static feel_value_t *make_fn(run_t *r, const dmn_expr_t *fn, feel_value_t *closure, const char *name)
{
    fn_ud_t *ud = feel_alloc(r->ev, sizeof(*ud));
    if (!ud)
        return feel_null();
    ud->r = r;
    ud->fn = fn;
    ud->closure = closure;
    ud->name = name;
    if (!has_logic(ud))
        return feel_native(r->ev, call_boxed, ud, any_params, sizeof(any_params) / sizeof(any_params[0]));
    return feel_native(r->ev, call_boxed, ud, (const char **)fn->params, fn->nparams);
}

/* ---- scope of a node ----
 * A BKM sees its required BKMs. A decision sees its requirements by name and, as in
 * the Camunda engines (whose tables have no inputData), every variable of the
 * evaluation context: an input expression `orderSize` reads inputs["orderSize"]. A
 * requirement shadows an input of the same name (an inputData binds its typed value). */
static feel_value_t *node_scope(run_t *r, const dmn_node_t *nd)
{
    feel_value_t *s = feel_context(r->ev);
    for (size_t k = 0; k < nd->nreqs; k++) {
        const dmn_node_t *q = &r->m->nodes[nd->reqs[k]];
        feel_ctx_put(r->ev, s, q->name, eval_node(r, nd->reqs[k]));
    }
    /* a required decision also answers to the names Camunda models use: its variable's
     * name and its id (Camunda 8), and its single output's name (Camunda 7) — unless
     * another requirement is called that */
    for (size_t k = 0; k < nd->nreqs; k++) {
        const dmn_node_t *q = &r->m->nodes[nd->reqs[k]];
        feel_value_t *v = r->vals[nd->reqs[k]];
        if (q->k != NODE_DECISION || !v)
            continue;
        const dmn_expr_t *t = q->expr && q->expr->k == X_TABLE && q->expr->noutputs == 1 ? q->expr : NULL;
        const char *alias[] = { q->var_name, q->id, t ? t->outputs[0].name : NULL };
        for (size_t a = 0; a < sizeof(alias) / sizeof(alias[0]); a++)
            if (alias[a] && *alias[a] && !feel_ctx_get(s, alias[a]))
                feel_ctx_put(r->ev, s, alias[a], v);
    }
    const feel_value_t *in = r->inputs;
    if (nd->k != NODE_DECISION || !in || in->t != FEEL_CTX || !in->u.ctx.n)
        return s;
    size_t nreq = s->u.ctx.n;
    feel_value_t *all = copy_ctx_room(r->ev, s, in->u.ctx.n);
    if (all->u.ctx.cap < nreq + in->u.ctx.n) {
        r->no_room = true;          /* over the arena cap: the decision is null, never half-scoped */
        return s;
    }
    for (size_t i = 0; i < in->u.ctx.n; i++) {
        size_t k = 0;
        while (k < nreq && strcmp(all->u.ctx.keys[k], in->u.ctx.keys[i]))
            k++;
        if (k == nreq) {
            all->u.ctx.keys[all->u.ctx.n] = in->u.ctx.keys[i];
            all->u.ctx.vals[all->u.ctx.n++] = in->u.ctx.vals[i];
        }
    }
    return all;
}

/* ---- types ---- */
static const char *resolve_base(const dmn_model_t *m, const char *t, bool *coll, const feel_expr_t **allowed)
{
    *coll = false;
    *allowed = NULL;
    for (int hop = 0; hop < 8; hop++) {
        const dmn_itemdef_t *d = dmn_itemdef(m, t);
        if (!d)
            break;
        if (d->is_collection)
            *coll = true;
        if (d->allowed && !*allowed)
            *allowed = d->allowed;
        if (!d->type_ref)
            return NULL;        /* structure */
        t = d->type_ref;
    }
    if (t && !strncmp(t, "feel:", 5))
        t += 5;
    return t;
}

static bool type_ok(const char *base, const feel_value_t *v)
{
    if (!base || v->t == FEEL_NULL || !strcmp(base, "Any"))
        return true;
    static const struct { const char *n; feel_type_t t; } map[] = {
        { "number", FEEL_NUM }, { "string", FEEL_STR }, { "boolean", FEEL_BOOL }, { "date", FEEL_DATE },
        { "time", FEEL_TIME }, { "dateTime", FEEL_DT }, { "date and time", FEEL_DT },
        { "dayTimeDuration", FEEL_DTD }, { "days and time duration", FEEL_DTD },
        { "yearMonthDuration", FEEL_YMD }, { "years and months duration", FEEL_YMD },
        { "context", FEEL_CTX }, { "list", FEEL_LIST }, { "function", FEEL_FN },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].n, base))
            return v->t == map[i].t;
    return true;    /* unknown type names are not checked */
}

/* Applies a typeRef to a value: singleton-list unwrapping, type and allowed-value checks. */
static feel_value_t *coerce(run_t *r, const char *type_ref, feel_value_t *v, const char *what)
{
    if (!type_ref || v->t == FEEL_NULL)
        return v;
    bool coll;
    const feel_expr_t *allowed;
    const char *base = resolve_base(r->m, type_ref, &coll, &allowed);
    if (!coll && v->t == FEEL_LIST && v->u.list.n == 1 && base && strcmp(base, "Any") && strcmp(base, "list"))
        v = v->u.list.items[0];
    if (!coll && !type_ok(base, v)) {
        warn(r, "%s: value of type %s does not conform to type '%s'", what, feel_type_name(v->t), type_ref);
        return feel_null();
    }
    if (coll && v->t == FEEL_LIST) {
        for (size_t i = 0; i < v->u.list.n; i++)
            if (!type_ok(base, v->u.list.items[i])) {
                warn(r, "%s: list item does not conform to type '%s'", what, type_ref);
                return feel_null();
            }
    }
    if (allowed && !coll) {
        feel_value_t *ok = feel_test(r->ev, allowed, v, NULL);
        if (!feel_is_true(ok)) {
            feel_eval_clear_error(r->ev);
            warn(r, "%s: value is not among the allowed values of '%s'", what, type_ref);
            return feel_null();
        }
    }
    return v;
}

/* ---- decision tables ---- */
static feel_value_t *rule_output(run_t *r, const dmn_expr_t *t, const dmn_rule_t *rule, feel_value_t *scope)
{
    if (t->noutputs == 1) {
        feel_value_t *v = feel_eval(r->ev, rule->out[0], scope);
        feel_warn(r, rule->id);
        return v;
    }
    feel_value_t *c = feel_context(r->ev);
    for (size_t o = 0; o < t->noutputs; o++) {
        feel_ctx_put(r->ev, c, t->outputs[o].name, feel_eval(r->ev, rule->out[o], scope));
        feel_warn(r, rule->id);
    }
    return c;
}

static feel_value_t *out_col(const dmn_expr_t *t, feel_value_t *v, size_t o)
{
    if (t->noutputs == 1)
        return v;
    feel_value_t *x = feel_ctx_get(v, t->outputs[o].name);
    return x ? x : feel_null();
}

/* Priority of a rule's outputs: index in each output's value list (lower is higher). */
static long priority_of(run_t *r, const dmn_expr_t *t, feel_value_t *v, feel_value_t **lists)
{
    long p = 0;
    for (size_t o = 0; o < t->noutputs; o++) {
        p *= 1000;
        if (!lists[o] || lists[o]->t != FEEL_LIST)
            continue;
        feel_value_t *x = out_col(t, v, o);
        size_t i = 0;
        while (i < lists[o]->u.list.n && feel_equal(lists[o]->u.list.items[i], x) != 1)
            i++;
        p += (long)(i < 999 ? i : 999);
    }
    return p;
}

static feel_value_t *default_output(run_t *r, const dmn_expr_t *t, feel_value_t *scope)
{
    bool any = false;
    for (size_t o = 0; o < t->noutputs; o++)
        any |= t->outputs[o].dflt != NULL;
    if (!any)
        return feel_null();
    if (t->noutputs == 1)
        return feel_eval(r->ev, t->outputs[0].dflt, scope);
    feel_value_t *c = feel_context(r->ev);
    for (size_t o = 0; o < t->noutputs; o++)
        feel_ctx_put(r->ev, c, t->outputs[o].name,
                     t->outputs[o].dflt ? feel_eval(r->ev, t->outputs[o].dflt, scope) : feel_null());
    return c;
}

static feel_value_t *eval_table(run_t *r, const dmn_expr_t *t, feel_value_t *scope)
{
    feel_eval_t *ev = r->ev;
    feel_value_t **in = feel_alloc(ev, sizeof(*in) * (t->ninputs + 1));
    size_t *hit = feel_alloc(ev, sizeof(*hit) * (t->nrules + 1));
    const char **ids = feel_alloc(ev, sizeof(*ids) * (t->nrules + 1));
    if (!in || !hit || !ids)
        return feel_null();
    for (size_t i = 0; i < t->ninputs; i++) {
        in[i] = feel_eval(ev, t->inputs[i].expr, scope);
        feel_warn(r, t->id);
        if (t->inputs[i].values && in[i]->t != FEEL_NULL && !feel_is_true(feel_test(ev, t->inputs[i].values, in[i], scope))) {
            feel_eval_clear_error(ev);
            warn(r, "%s: input %zu is not among its allowed values", t->id, i + 1);
            return feel_null();
        }
    }
    size_t nh = 0;
    for (size_t k = 0; k < t->nrules; k++) {
        bool ok = true;
        for (size_t i = 0; i < t->ninputs && ok; i++) {
            feel_value_t *m = feel_test(ev, t->rules[k].in[i], in[i], scope);
            ok = feel_is_true(m);
        }
        feel_eval_clear_error(ev);
        if (ok) {
            ids[nh] = t->rules[k].id;
            hit[nh++] = k;
            if (t->hp == HP_FIRST)
                break;
        }
    }
    add_hit(r, t->id, ids, nh);
    feel_value_t **outs = feel_alloc(ev, sizeof(*outs) * (nh + 1));
    if (!outs)
        return feel_null();
    for (size_t h = 0; h < nh; h++) {
        outs[h] = rule_output(r, t, &t->rules[hit[h]], scope);
        /* output value constraints */
        for (size_t o = 0; o < t->noutputs; o++) {
            feel_value_t *x = out_col(t, outs[h], o);
            if (t->outputs[o].values && x->t != FEEL_NULL && !feel_is_true(feel_test(ev, t->outputs[o].values, x, scope))) {
                feel_eval_clear_error(ev);
                warn(r, "%s: rule %s gives an output outside the output values", t->id, t->rules[hit[h]].id);
                return feel_null();
            }
        }
    }
    if (nh == 0) {
        if (t->hp == HP_COLLECT && t->agg == AG_COUNT)
            return feel_num_int(ev, 0);
        feel_value_t *d = default_output(r, t, scope);
        if ((t->hp == HP_COLLECT && t->agg == AG_NONE) || t->hp == HP_RULE_ORDER || t->hp == HP_OUTPUT_ORDER)
            return d->t == FEEL_NULL ? feel_list(ev, 0) : d;
        return d;
    }
    switch (t->hp) {
    case HP_UNIQUE:
        if (nh > 1) {
            warn(r, "%s: hit policy UNIQUE violated: %zu rules match (%s, %s%s)", t->id, nh, ids[0], ids[1],
                 nh > 2 ? ", ..." : "");
            return feel_null();
        }
        return outs[0];
    case HP_FIRST:
        return outs[0];
    case HP_ANY:
        for (size_t h = 1; h < nh; h++)
            if (feel_equal(outs[h], outs[0]) != 1) {
                warn(r, "%s: hit policy ANY violated: rules %s and %s give different outputs", t->id, ids[0], ids[h]);
                return feel_null();
            }
        return outs[0];
    case HP_PRIORITY:
    case HP_OUTPUT_ORDER: {
        feel_value_t **lists = feel_alloc(ev, sizeof(*lists) * t->noutputs);
        if (!lists)
            return feel_null();
        for (size_t o = 0; o < t->noutputs; o++)
            lists[o] = t->outputs[o].priority ? feel_eval(ev, t->outputs[o].priority, scope) : NULL;
        long *pr = feel_alloc(ev, sizeof(long) * nh);
        if (!pr)
            return feel_null();
        for (size_t h = 0; h < nh; h++)
            pr[h] = priority_of(r, t, outs[h], lists);
        /* stable insertion sort by priority */
        for (size_t i = 1; i < nh; i++)
            for (size_t j = i; j > 0 && pr[j] < pr[j - 1]; j--) {
                long tp = pr[j]; pr[j] = pr[j - 1]; pr[j - 1] = tp;
                feel_value_t *tv = outs[j]; outs[j] = outs[j - 1]; outs[j - 1] = tv;
            }
        if (t->hp == HP_PRIORITY)
            return outs[0];
        return feel_list_from(ev, outs, nh);
    }
    case HP_RULE_ORDER:
        return feel_list_from(ev, outs, nh);
    case HP_COLLECT:
        break;
    }
    if (t->agg == AG_NONE)
        return feel_list_from(ev, outs, nh);
    if (t->agg == AG_COUNT)
        return feel_num_int(ev, (int64_t)nh);
    if (t->noutputs != 1) {
        warn(r, "%s: aggregation needs a single output", t->id);
        return feel_null();
    }
    feel_value_t *acc = outs[0];
    for (size_t h = 1; h < nh; h++) {
        if (t->agg == AG_SUM) {
            acc = feel_arith(ev, '+', acc, outs[h]);
        } else {
            int c = feel_compare(outs[h], acc);
            if (c == FEEL_INCOMPARABLE) {
                warn(r, "%s: outputs are not comparable", t->id);
                return feel_null();
            }
            if ((t->agg == AG_MIN && c < 0) || (t->agg == AG_MAX && c > 0))
                acc = outs[h];
        }
    }
    if (t->agg == AG_SUM && acc->t != FEEL_NUM && acc->t != FEEL_NULL) {
        warn(r, "%s: SUM needs numbers", t->id);
        return feel_null();
    }
    feel_warn(r, t->id);
    return acc;
}

/* ---- boxed expressions ---- */
static feel_value_t *eval_expr(run_t *r, const dmn_expr_t *e, feel_value_t *scope)
{
    feel_eval_t *ev = r->ev;
    feel_value_t *v = feel_null();
    switch (e->k) {
    case X_LITERAL:
        v = feel_eval(ev, e->feel, scope);
        feel_warn(r, e->id);
        break;
    case X_TABLE:
        v = eval_table(r, e, scope);
        break;
    case X_CONTEXT: {
        feel_value_t *inner = copy_ctx(ev, scope), *res = feel_context(ev);
        feel_value_t *final = NULL;
        for (size_t i = 0; i < e->nentries; i++) {
            const dmn_entry_t *en = &e->entries[i];
            feel_value_t *x = en->value ? eval_expr(r, en->value, inner) : feel_null();
            if (!en->name) {
                final = x;
                break;
            }
            if (en->value && en->value->type_ref)
                x = coerce(r, en->value->type_ref, x, en->name);
            feel_ctx_put(ev, inner, en->name, x);
            feel_ctx_put(ev, res, en->name, x);
        }
        v = final ? final : res;
        break;
    }
    case X_INVOCATION: {
        feel_value_t *f = feel_ctx_get(scope, e->callee);
        if (!f || f->t != FEEL_FN) {
            warn(r, "%s: '%s' is not a function in scope", e->id, e->callee);
            return feel_null();
        }
        if (f->u.fn.native == call_boxed && !has_logic(f->u.fn.ud))
            return call_boxed(ev, f->u.fn.ud, NULL, 0);
        size_t np = f->u.fn.nparams;
        feel_value_t **args = feel_alloc(ev, sizeof(*args) * (np + 1));
        if (!args)
            return feel_null();
        for (size_t i = 0; i < np; i++)
            args[i] = feel_null();
        for (size_t b = 0; b < e->nentries; b++) {
            size_t i = 0;
            while (i < np && strcmp(f->u.fn.params[i], e->entries[b].name ? e->entries[b].name : ""))
                i++;
            if (i == np) {
                warn(r, "%s: '%s' has no parameter '%s'", e->id, e->callee, e->entries[b].name ? e->entries[b].name : "");
                return feel_null();
            }
            args[i] = e->entries[b].value ? eval_expr(r, e->entries[b].value, scope) : feel_null();
        }
        v = feel_call(ev, f, args, np);
        feel_warn(r, e->id);
        break;
    }
    case X_LIST: {
        v = feel_list(ev, e->nentries);
        for (size_t i = 0; v->t == FEEL_LIST && i < e->nentries; i++)
            v->u.list.items[i] = eval_expr(r, e->entries[i].value, scope);
        break;
    }
    case X_RELATION: {
        size_t rows = e->ncols ? e->nentries / e->ncols : 0;
        v = feel_list(ev, rows);
        for (size_t i = 0; v->t == FEEL_LIST && i < rows; i++) {
            feel_value_t *row = feel_context(ev);
            for (size_t c = 0; c < e->ncols; c++) {
                const dmn_entry_t *cell = &e->entries[i * e->ncols + c];
                feel_ctx_put(ev, row, e->cols[c], cell->value ? eval_expr(r, cell->value, scope) : feel_null());
            }
            v->u.list.items[i] = row;
        }
        break;
    }
    case X_FUNCTION:
        v = make_fn(r, e, scope, e->id);
        break;
    }
    if (e->type_ref && e->k != X_FUNCTION)
        v = coerce(r, e->type_ref, v, e->id);
    return v;
}

static feel_value_t *eval_node(run_t *r, size_t i)
{
    const dmn_node_t *nd = &r->m->nodes[i];
    if (r->state[i] == 2)
        return r->vals[i];
    if (r->state[i] == 1) {
        warn(r, "requirement cycle through '%s'", nd->name);
        return feel_null();
    }
    r->state[i] = 1;
    feel_value_t *v = feel_null();
    switch (nd->k) {
    case NODE_INPUT: {
        feel_value_t *x = feel_ctx_get(r->inputs, nd->name);
        v = x ? coerce(r, nd->type_ref, x, nd->name) : feel_null();
        break;
    }
    case NODE_BKM:
        v = make_fn(r, nd->expr, node_scope(r, nd), nd->name);
        break;
    case NODE_DECISION: {
        if (!nd->expr) {
            warn(r, "decision '%s' has no decision logic yet: its value is null", nd->name);
            break;
        }
        const char *saved = r->decision;
        feel_value_t *scope = node_scope(r, nd);
        if (r->no_room) {
            feel_eval_clear_error(r->ev);
            warn(r, "decision '%s': evaluation memory limit reached", nd->name);
            break;
        }
        r->decision = nd->name;
        v = eval_expr(r, nd->expr, scope);
        v = coerce(r, nd->type_ref, v, nd->name);
        r->decision = saved;
        break;
    }
    }
    r->vals[i] = v;
    r->state[i] = 2;
    return v;
}

feel_value_t *dmn_evaluate(const dmn_model_t *m, feel_eval_t *ev, const char *decision,
                           const feel_value_t *inputs, dmn_trace_t *trace)
{
    run_t r = { m, ev, inputs, NULL, NULL, trace, NULL, false };
    if (trace) {
        memset(trace, 0, sizeof(*trace));
        /* reserved now, so a run that exhausts its arena can still say so */
        if ((trace->warnings = feel_alloc(ev, MAX_WARNINGS * sizeof(*trace->warnings))))
            trace->capwarnings = MAX_WARNINGS;
    }
    r.vals = feel_alloc(ev, sizeof(*r.vals) * (m->nnodes + 1));
    r.state = feel_alloc(ev, m->nnodes + 1);
    if (!r.vals || !r.state) {
        warn(&r, "evaluation memory limit reached");
        return feel_null();
    }
    if (decision) {
        const char *name = dmn_find_decision(m, decision);
        for (size_t i = 0; name && i < m->nnodes; i++)
            if (m->nodes[i].k == NODE_DECISION && !strcmp(m->nodes[i].name, name))
                return eval_node(&r, i);
        warn(&r, "no decision named '%s'", decision);
        return feel_null();
    }
    /* sized before any decision runs and keyed by the model's names (no allocation
     * later), so no decision goes missing from the answer when the arena runs out */
    size_t nd = dmn_decision_count(m);
    feel_value_t *all = copy_ctx_room(ev, NULL, nd);
    if (nd && all->u.ctx.cap < nd) {
        warn(&r, "evaluation memory limit reached");
        return feel_null();
    }
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].k == NODE_DECISION) {
            all->u.ctx.keys[all->u.ctx.n] = m->nodes[i].name;
            all->u.ctx.vals[all->u.ctx.n++] = eval_node(&r, i);
        }
    return all;
}
