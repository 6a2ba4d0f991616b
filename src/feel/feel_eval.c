/*
 * feel_eval.c — walks the AST of feel_parse.c over a chain of scopes. Every node
 * visit costs one step of the budget; calls nest at most lim.max_calls deep; every
 * value comes from the evaluator's capped arena. Errors give null and record the first
 * reason (feel_eval_error). Unary tests (decision-table entries and `in`) share
 * test_match().
 */
#include "feel_int.h"

#include <pthread.h>

#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A run whose arena held more than this trims malloc's free memory when reset. */
#define FEEL_TRIM_AFTER (8u << 20)

feel_eval_t *feel_eval_new(const feel_limits_t *lim)
{
    feel_eval_t *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    ev->lim.max_steps = lim && lim->max_steps ? lim->max_steps : 5000000;
    ev->lim.max_bytes = lim && lim->max_bytes ? lim->max_bytes : feel_default_max_bytes();
    ev->lim.max_calls = lim && lim->max_calls ? lim->max_calls : 256;
    ev->lim.regex_match_limit = lim && lim->regex_match_limit ? lim->regex_match_limit : 1000000;
    ev->arena.cap = ev->lim.max_bytes;
    ev->arena.shared = true;
    return ev;
}

void feel_eval_free(feel_eval_t *ev)
{
    if (!ev)
        return;
    arena_free(&ev->arena);
    free(ev);
}

void feel_eval_reset(feel_eval_t *ev)
{
    /* the first, small chunk stays (no malloc churn on hot paths); big runs also hand
     * what malloc kept of their other allocations (PCRE2, JSON of a large result) back */
    if (arena_reset(&ev->arena) > FEEL_TRIM_AFTER)
        malloc_trim(0);
    ev->steps = 0;
    ev->calls = 0;
    ev->entered = 0;
    ev->has_err = false;
    ev->limit = false;
    ev->err[0] = 0;
}

const char *feel_eval_error(const feel_eval_t *ev)
{
    return ev->has_err ? ev->err : NULL;
}

void feel_eval_clear_error(feel_eval_t *ev)
{
    ev->has_err = false;
    ev->err[0] = 0;
}

feel_value_t *feel_err(feel_eval_t *ev, const char *fmt, ...)
{
    if (!ev->has_err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ev->err, sizeof(ev->err), fmt, ap);
        va_end(ap);
        ev->has_err = true;
    }
    return feel_null();
}

void *feel_alloc(feel_eval_t *ev, size_t n)
{
    void *p = arena_alloc(&ev->arena, n);
    if (p)
        return p;
    ev->limit = true;
    if (ev->arena.over_shared)
        feel_err(ev, "evaluation memory limit reached (%zu MiB for all evaluations together)",
                 feel_memory_total() >> 20);
    else
        feel_err(ev, "evaluation memory limit reached (%zu MiB)", ev->lim.max_bytes >> 20);
    return NULL;
}

bool feel_charge(feel_eval_t *ev, uint64_t n)
{
    ev->steps += n;
    if (ev->steps <= ev->lim.max_steps)
        return true;
    ev->limit = true;
    feel_err(ev, "evaluation step limit (%llu) reached", (unsigned long long)ev->lim.max_steps);
    return false;
}

/* What a call walks before it starts: the items of its list arguments, the entries of
 * its contexts, a unit per 64 bytes of its strings. Built-ins that do more than one
 * pass (sort, distinct values) charge the rest themselves. */
static uint64_t args_work(feel_value_t *const *args, size_t n)
{
    uint64_t w = 1;
    for (size_t i = 0; i < n; i++) {
        const feel_value_t *a = args[i];
        if (a->t == FEEL_LIST)
            w += a->u.list.n;
        else if (a->t == FEEL_CTX)
            w += a->u.ctx.n;
        else if (a->t == FEEL_STR)
            w += a->u.str.len / 64;
    }
    return w;
}

/* ---- scopes ---- */
static feel_value_t *lookup(const feel_scope_t *sc, const char *name, bool *found)
{
    for (; sc; sc = sc->up) {
        feel_value_t *v = feel_ctx_get(sc->ctx, name);
        if (v) {
            *found = true;
            return v;
        }
    }
    *found = false;
    return feel_null();
}

static feel_value_t *builtin_value(feel_eval_t *ev, const feel_builtin_t *bi)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_FN);
    if (!v)
        return feel_null();
    v->u.fn.bi = bi;
    return v;
}

/* ---- arithmetic ---- */
static feel_value_t *power(feel_eval_t *ev, feel_dec_t a, feel_dec_t b)
{
    int64_t k;
    if (feel_dec_to_int64(b, &k) && k > -100000 && k < 100000) {
        bool neg = k < 0;
        uint64_t e = (uint64_t)(neg ? -k : k);
        feel_dec_t r = feel_dec_from_int(1), base = a;
        while (e) {
            if (e & 1 && !feel_dec_mul(r, base, &r))
                return feel_err(ev, "number overflow in **");
            e >>= 1;
            if (e && !feel_dec_mul(base, base, &base))
                return feel_err(ev, "number overflow in **");
        }
        if (neg && !feel_dec_div(feel_dec_from_int(1), r, &r))
            return feel_err(ev, "division by zero in **");
        return feel_num(ev, r);
    }
    double x = pow(feel_dec_to_double(a), feel_dec_to_double(b));
    if (!isfinite(x))
        return feel_err(ev, "** gives no finite number");
    return feel_num_double(ev, x);
}

feel_value_t *feel_arith(feel_eval_t *ev, char op, const feel_value_t *a, const feel_value_t *b)
{
    if (a->t == FEEL_NULL || b->t == FEEL_NULL)
        return feel_null();
    if (a->t == FEEL_NUM && b->t == FEEL_NUM) {
        feel_dec_t r;
        bool ok = false;
        switch (op) {
        case '+': ok = feel_dec_add(a->u.n, b->u.n, &r); break;
        case '-': ok = feel_dec_sub(a->u.n, b->u.n, &r); break;
        case '*': ok = feel_dec_mul(a->u.n, b->u.n, &r); break;
        case '/':
            if (b->u.n.c == 0)
                return feel_err(ev, "division by zero");
            ok = feel_dec_div(a->u.n, b->u.n, &r);
            break;
        case '^': return power(ev, a->u.n, b->u.n);
        }
        if (!ok)
            return feel_err(ev, "number overflow");
        return feel_num(ev, r);
    }
    if (a->t == FEEL_STR && b->t == FEEL_STR && op == '+') {
        feel_value_t *v = feel_alloc_value(ev, FEEL_STR);
        char *s = feel_alloc(ev, a->u.str.len + b->u.str.len + 1);
        if (!v || !s)
            return feel_null();
        memcpy(s, a->u.str.s, a->u.str.len);
        memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len);
        v->u.str.s = s;
        v->u.str.len = a->u.str.len + b->u.str.len;
        return v;
    }
    bool ta = a->t >= FEEL_DATE && a->t <= FEEL_YMD, tb = b->t >= FEEL_DATE && b->t <= FEEL_YMD;
    if ((ta || tb) && (ta || a->t == FEEL_NUM) && (tb || b->t == FEEL_NUM)) {
        feel_value_t *r = feel_temporal_arith(ev, op, a, b);
        if (r->t != FEEL_NULL)
            return r;
    }
    char o[3] = { op == '^' ? '*' : op, op == '^' ? '*' : 0, 0 };
    return feel_err(ev, "%s %s %s is not defined", feel_type_name(a->t), o, feel_type_name(b->t));
}

/* ---- comparison helpers ---- */
/* Comparing lists or contexts walks them: one step per item or entry. */
static bool charge_walk(feel_eval_t *ev, const feel_value_t *v)
{
    return v->t == FEEL_LIST ? feel_charge(ev, v->u.list.n) : v->t == FEEL_CTX ? feel_charge(ev, v->u.ctx.n) : true;
}

static feel_value_t *cmp_value(feel_eval_t *ev, char op, const feel_value_t *a, const feel_value_t *b)
{
    if (!charge_walk(ev, a))
        return feel_null();
    if (op == '=' || op == '!') {
        int e = feel_equal(a, b);
        if (e < 0)
            return feel_err(ev, "cannot compare %s with %s", feel_type_name(a->t), feel_type_name(b->t));
        return feel_bool(op == '=' ? e == 1 : e == 0);
    }
    if (a->t == FEEL_NULL || b->t == FEEL_NULL)
        return feel_null();
    int c = feel_compare(a, b);
    if (c == FEEL_INCOMPARABLE)
        return feel_err(ev, "cannot order %s and %s", feel_type_name(a->t), feel_type_name(b->t));
    switch (op) {
    case '<': return feel_bool(c < 0);
    case 'l': return feel_bool(c <= 0);
    case '>': return feel_bool(c > 0);
    default: return feel_bool(c >= 0);
    }
}

/* 1 in, 0 out, -1 unknown */
static int in_range(const feel_value_t *x, const feel_value_t *r)
{
    const feel_value_t *lo = r->u.range.lo, *hi = r->u.range.hi;
    if (x->t == FEEL_NULL)
        return -1;
    if (lo != feel_unbounded() && lo->t == FEEL_NULL)
        return -1;
    if (hi != feel_unbounded() && hi->t == FEEL_NULL)
        return -1;
    if (lo->t != FEEL_NULL) {
        int c = feel_compare(lo, x);
        if (c == FEEL_INCOMPARABLE)
            return -1;
        if (c > 0 || (c == 0 && !r->u.range.lo_closed))
            return 0;
    }
    if (hi->t != FEEL_NULL) {
        int c = feel_compare(x, hi);
        if (c == FEEL_INCOMPARABLE)
            return -1;
        if (c > 0 || (c == 0 && !r->u.range.hi_closed))
            return 0;
    }
    return 1;
}

static feel_value_t *ut_range(feel_eval_t *ev, char op, feel_value_t *v)
{
    if (op == '!')
        return feel_err(ev, "!= test has no range value");
    feel_value_t *r = feel_alloc_value(ev, FEEL_RANGE);
    if (!r)
        return feel_null();
    r->u.range.lo = op == '<' || op == 'l' ? feel_unbounded() : v;
    r->u.range.hi = op == '>' || op == 'g' ? feel_unbounded() : v;
    r->u.range.ut = op;
    r->u.range.lo_closed = op == 'g' || op == '=';
    r->u.range.hi_closed = op == 'l' || op == '=';
    return r;
}

/* Does input match value v (the value of a test without '?')? */
static feel_value_t *match_value(feel_eval_t *ev, const feel_value_t *in, const feel_value_t *v)
{
    if (!charge_walk(ev, v))
        return feel_null();
    if (v->t == FEEL_RANGE) {
        int r = in_range(in, v);
        return r < 0 ? feel_null() : feel_bool(r);
    }
    if (v->t == FEEL_LIST) {
        for (size_t i = 0; i < v->u.list.n; i++) {
            const feel_value_t *e = v->u.list.items[i];
            if (e->t == FEEL_RANGE ? in_range(in, e) == 1 : feel_equal(in, e) == 1)
                return feel_bool(true);
        }
        if (in->t == FEEL_LIST)
            return feel_bool(feel_equal(in, v) == 1);
        return feel_bool(false);
    }
    int e = feel_equal(in, v);
    if (e < 0)
        return feel_null();
    return feel_bool(e == 1);
}

static feel_value_t *test_match(feel_eval_t *ev, const feel_value_t *in, const feel_node_t *n,
                                const feel_scope_t *sc)
{
    switch (n->k) {
    case N_UT_ANY:
        return feel_bool(true);
    case N_UT_NOT: {
        feel_value_t *r = test_match(ev, in, n->a, sc);
        return r->t == FEEL_BOOL ? feel_bool(!r->u.b) : r;
    }
    case N_UT_LIST: {
        bool unknown = false;
        for (size_t i = 0; i < n->n; i++) {
            feel_value_t *r = test_match(ev, in, n->kids[i], sc);
            if (feel_is_true(r))
                return r;
            if (r->t != FEEL_BOOL)
                unknown = true;
        }
        return unknown && n->n == 1 ? feel_null() : feel_bool(false);
    }
    case N_UT_CMP: {
        feel_value_t *v = feel_eval_node(ev, n->a, sc);
        if (n->op == '=' || n->op == '!') {
            feel_value_t *m = match_value(ev, in, v);
            if (n->op == '!' && m->t == FEEL_BOOL)
                return feel_bool(!m->u.b);
            return m;
        }
        if (in->t == FEEL_NULL || v->t == FEEL_NULL)
            return feel_null();
        int c = feel_compare(in, v);
        if (c == FEEL_INCOMPARABLE)
            return feel_null();
        switch (n->op) {
        case '<': return feel_bool(c < 0);
        case 'l': return feel_bool(c <= 0);
        case '>': return feel_bool(c > 0);
        default: return feel_bool(c >= 0);
        }
    }
    default:
        break;
    }
    if (n->uses_q) {
        feel_value_t q = { .t = FEEL_CTX };
        const char *key = "?";
        feel_value_t *val = (feel_value_t *)in;
        q.u.ctx.keys = &key;
        q.u.ctx.vals = &val;
        q.u.ctx.n = q.u.ctx.cap = 1;
        feel_scope_t s = { &q, sc };
        feel_value_t *r = feel_eval_node(ev, n, &s);
        if (r->t == FEEL_BOOL)
            return r;
        return match_value(ev, in, r);
    }
    feel_value_t *v = feel_eval_node(ev, n, sc);
    if (v->t == FEEL_BOOL && in->t != FEEL_BOOL)
        return v;
    return match_value(ev, in, v);
}

static void enter(feel_eval_t *ev)
{
    if (ev->entered++ == 0)
        stack_guard_init(&ev->guard);
}

/* A run cut short by a limit has no meaningful value (a list may be half built). */
static feel_value_t *leave(feel_eval_t *ev, feel_value_t *r)
{
    ev->entered--;
    return ev->limit ? feel_null() : r;
}

feel_value_t *feel_test(feel_eval_t *ev, const feel_expr_t *e, const feel_value_t *input,
                        const feel_value_t *ctx)
{
    feel_scope_t sc = { ctx, NULL };
    enter(ev);
    feel_value_t *r = test_match(ev, input, e->root, ctx ? &sc : NULL);
    return leave(ev, r);
}

/* ---- calls ---- */
static feel_value_t *call_fn(feel_eval_t *ev, const feel_value_t *f, feel_value_t **args, size_t n,
                             const char **names);

/* Splits a built-in's "a,b?,c*" parameter spec. Returns count; opt/var marks. */
static size_t spec_params(const char *spec, char names[][32], char *mark, size_t max)
{
    size_t n = 0;
    const char *p = spec;
    while (*p && n < max) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        mark[n] = 0;
        if (len && (p[len - 1] == '?' || p[len - 1] == '*')) {
            mark[n] = p[len - 1];
            len--;
        }
        snprintf(names[n], 32, "%.*s", (int)len, p);
        n++;
        p += len + (mark[n - 1] ? 1 : 0);
        if (*p == ',')
            p++;
    }
    return n;
}

/* "from|year" lists a parameter's alternative names (date(from) / date(year, ...)). */
static bool param_is(const char *spec, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == nl && !memcmp(p, name, l))
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static feel_value_t *call_builtin(feel_eval_t *ev, const feel_builtin_t *bi, feel_value_t **args, size_t n,
                                  const char **names)
{
    char pn[8][32], mark[8];
    size_t np = spec_params(bi->params, pn, mark, 8);
    feel_value_t *slot[8];
    size_t have = n;
    if (names) {
        for (size_t i = 0; i < np; i++)
            slot[i] = NULL;
        size_t maxi = 0;
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            while (j < np && !param_is(pn[j], names[i]))
                j++;
            if (j == np)
                return feel_err(ev, "%s() has no parameter '%s'", bi->name, names[i]);
            slot[j] = args[i];
            if (j + 1 > maxi)
                maxi = j + 1;
        }
        for (size_t i = 0; i < maxi; i++)
            if (!slot[i]) {
                if (mark[i] == '?')
                    slot[i] = feel_null();
                else
                    return feel_err(ev, "%s() misses parameter '%s'", bi->name, pn[i]);
            }
        args = slot;
        have = maxi;
    }
    size_t req = 0;
    bool var = false;
    for (size_t i = 0; i < np; i++) {
        if (!mark[i])
            req++;
        if (mark[i] == '*')
            var = true;
    }
    if (have < req || (!var && have > np))
        return feel_err(ev, "%s() takes %zu argument%s, got %zu", bi->name, req, req == 1 ? "" : "s", have);
    if (!feel_charge(ev, args_work(args, have)))
        return feel_null();
    if (feel_builtin_unwraps(bi)) {     /* string functions take ["x"] as "x" (TCK 0021) */
        feel_value_t **u = feel_alloc(ev, sizeof(*u) * (have + 1));
        if (!u)
            return feel_null();
        for (size_t i = 0; i < have; i++)
            u[i] = (feel_value_t *)feel_unwrap1(args[i]);
        args = u;
    }
    return bi->fn(ev, args, have);
}

/* The scope of a user function call. With few parameters of distinct names (the usual
 * case) the context's keys are the parameter names of the AST themselves, not copies:
 * ~80 bytes a call instead of ~200 (sort with a precedes function calls n·log n
 * times). The argument array is copied: it may live on a native caller's stack, and a
 * closure made in the body keeps the scope. */
static feel_value_t *bind_params(feel_eval_t *ev, const feel_value_t *f, feel_value_t **a, size_t np)
{
    feel_value_t *ctx = feel_context(ev);
    bool plain = ctx->t == FEEL_CTX && np < 8;
    for (size_t i = 0; plain && i < np; i++)
        for (size_t j = 0; j < i; j++)
            plain = plain && strcmp(f->u.fn.params[i], f->u.fn.params[j]);
    feel_value_t **vals = plain && np ? feel_alloc(ev, np * sizeof(*vals)) : NULL;
    if (vals) {
        memcpy(vals, a, np * sizeof(*vals));
        ctx->u.ctx.keys = f->u.fn.params;   /* read-only: a put reallocates (n == cap) */
        ctx->u.ctx.vals = vals;
        ctx->u.ctx.n = ctx->u.ctx.cap = np;
        return ctx;
    }
    for (size_t i = 0; i < np; i++)
        feel_ctx_put(ev, ctx, f->u.fn.params[i], a[i]);
    return ctx;
}

static feel_value_t *call_fn(feel_eval_t *ev, const feel_value_t *f, feel_value_t **args, size_t n,
                             const char **names)
{
    if (f->t != FEEL_FN)
        return feel_err(ev, "not a function: %s", feel_type_name(f->t));
    if (f->u.fn.bi)
        return call_builtin(ev, f->u.fn.bi, args, n, names);
    if (ev->calls >= ev->lim.max_calls)
        return feel_err(ev, "function calls nested more than %d deep", ev->lim.max_calls);
    feel_value_t **a = args;
    size_t np = f->u.fn.nparams;
    if (names || n != np) {
        a = feel_alloc(ev, sizeof(*a) * (np ? np : 1));
        if (!a)
            return feel_null();
        for (size_t i = 0; i < np; i++)
            a[i] = feel_null();
        for (size_t i = 0; i < n; i++) {
            if (names) {
                size_t j = 0;
                while (j < np && strcmp(f->u.fn.params[j], names[i]))
                    j++;
                if (j == np)
                    return feel_err(ev, "function has no parameter '%s'", names[i]);
                a[j] = args[i];
            } else if (i < np) {
                a[i] = args[i];
            } else {
                return feel_err(ev, "too many arguments");
            }
        }
    }
    ev->calls++;
    feel_value_t *r;
    if (f->u.fn.native) {
        r = f->u.fn.native(ev, f->u.fn.ud, a, np);
    } else {
        feel_value_t *ctx = bind_params(ev, f, a, np);
        feel_scope_t sc = { ctx, f->u.fn.closure };
        r = feel_eval_node(ev, f->u.fn.body, &sc);
    }
    ev->calls--;
    return r;
}

feel_value_t *feel_call(feel_eval_t *ev, const feel_value_t *fn, feel_value_t **args, size_t n)
{
    if (ev->entered == 0)
        stack_guard_init(&ev->guard);
    ev->entered++;
    feel_value_t *r = call_fn(ev, fn, args, n, NULL);
    return leave(ev, r);
}

/* ---- iteration (for / some / every) ---- */
typedef struct iter_state {
    feel_value_t *results;  /* FEEL_LIST built up (for) */
    size_t nres, cap;
    int quant;              /* some: 1 found; every: 0 found false */
    bool unknown;
} iter_state_t;

static feel_value_t *domain_list(feel_eval_t *ev, feel_value_t *d)
{
    if (d->t == FEEL_LIST)
        return d;
    if (d->t == FEEL_RANGE && d->u.range.lo->t == FEEL_NUM && d->u.range.hi->t == FEEL_NUM) {
        int64_t lo, hi;
        if (!feel_dec_to_int64(d->u.range.lo->u.n, &lo) || !feel_dec_to_int64(d->u.range.hi->u.n, &hi))
            return feel_err(ev, "iteration range needs integer bounds");
        int64_t step = lo <= hi ? 1 : -1;
        if (!d->u.range.lo_closed)
            lo += step;
        if (!d->u.range.hi_closed)
            hi -= step;
        int64_t cnt = (hi - lo) * step + 1;
        if (cnt < 0)
            cnt = 0;
        if (cnt > 10000000)
            return feel_err(ev, "iteration range too large");
        if (!feel_charge(ev, (uint64_t)cnt))
            return feel_null();
        feel_value_t *l = feel_list(ev, (size_t)cnt);
        if (l->t != FEEL_LIST)
            return l;
        for (int64_t i = 0; i < cnt; i++)
            l->u.list.items[i] = feel_num_int(ev, lo + i * step);
        return l;
    }
    feel_value_t *l = feel_list(ev, 1);
    if (l->t == FEEL_LIST)
        l->u.list.items[0] = d;
    return l;
}

static void push_result(feel_eval_t *ev, iter_state_t *st, feel_value_t *v)
{
    if (st->nres == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        feel_value_t **n = feel_alloc(ev, cap * sizeof(*n));
        if (!n)
            return;
        if (st->nres)
            memcpy(n, st->results->u.list.items, st->nres * sizeof(*n));
        st->results->u.list.items = n;
        st->cap = cap;
    }
    st->results->u.list.items[st->nres++] = v;
    st->results->u.list.n = st->nres;
}

static void iterate(feel_eval_t *ev, const feel_node_t *n, size_t depth, feel_value_t *ctx,
                    const feel_scope_t *sc, iter_state_t *st)
{
    if (ev->has_err && ev->steps > ev->lim.max_steps)
        return;
    feel_scope_t inner = { ctx, sc };
    if (depth == n->n) {
        if (n->k == N_FOR)
            feel_ctx_put(ev, ctx, "partial", st->results);
        feel_value_t *v = feel_eval_node(ev, n->a, &inner);
        if (n->k == N_FOR)
            push_result(ev, st, v);
        else if (n->k == N_SOME && feel_is_true(v))
            st->quant = 1;
        else if (n->k == N_EVERY && v->t == FEEL_BOOL && !v->u.b)
            st->quant = 0;
        else if (v->t != FEEL_BOOL)
            st->unknown = true;
        return;
    }
    feel_value_t *d = domain_list(ev, feel_eval_node(ev, n->kids[depth], &inner));
    if (d->t != FEEL_LIST)
        return;
    for (size_t i = 0; i < d->u.list.n; i++) {
        feel_ctx_put(ev, ctx, n->names[depth], d->u.list.items[i]);
        iterate(ev, n, depth + 1, ctx, sc, st);
        if ((n->k == N_SOME && st->quant == 1) || (n->k == N_EVERY && st->quant == 0))
            return;
    }
}

/* ---- filters and paths ---- */
static feel_value_t *filter(feel_eval_t *ev, feel_value_t *base, const feel_node_t *f, const feel_scope_t *sc)
{
    if (base->t == FEEL_NULL)
        return feel_null();
    feel_value_t *list = base;
    if (base->t != FEEL_LIST) {
        list = feel_list(ev, 1);
        if (list->t != FEEL_LIST)
            return list;
        list->u.list.items[0] = base;
    }
    feel_value_t **out = feel_alloc(ev, sizeof(*out) * (list->u.list.n + 1));
    if (!out)
        return feel_null();
    size_t no = 0;
    for (size_t i = 0; i < list->u.list.n; i++) {
        feel_value_t *item = list->u.list.items[i];
        feel_value_t *ctx = feel_context(ev);
        feel_ctx_put(ev, ctx, "item", item);
        if (item->t == FEEL_CTX)    /* a context's own entries win over `item` (TCK 0069) */
            for (size_t k = 0; k < item->u.ctx.n; k++)
                feel_ctx_put(ev, ctx, item->u.ctx.keys[k], item->u.ctx.vals[k]);
        feel_scope_t s = { ctx, sc };
        feel_value_t *r = feel_eval_node(ev, f, &s);
        if (r->t == FEEL_NUM) {     /* an index: 1-based, negative from the end */
            int64_t idx;
            if (!feel_dec_to_int64(r->u.n, &idx))
                return feel_null();
            int64_t len = (int64_t)list->u.list.n;
            if (idx > 0 && idx <= len)
                return list->u.list.items[idx - 1];
            if (idx < 0 && -idx <= len)
                return list->u.list.items[len + idx];
            return feel_null();
        }
        if (feel_is_true(r))
            out[no++] = item;
    }
    if (list->u.list.n == 0) {
        feel_value_t *r = feel_eval_node(ev, f, sc);
        if (r->t == FEEL_NUM)
            return feel_null();
    }
    return feel_list_from(ev, out, no);
}

static feel_value_t *path(feel_eval_t *ev, feel_value_t *base, const char *name)
{
    switch (base->t) {
    case FEEL_CTX: {
        feel_value_t *v = feel_ctx_get(base, name);
        return v ? v : feel_null();
    }
    case FEEL_LIST: {
        feel_value_t *l = feel_list(ev, base->u.list.n);
        if (l->t != FEEL_LIST || !feel_charge(ev, base->u.list.n))
            return feel_null();
        for (size_t i = 0; i < base->u.list.n; i++)
            l->u.list.items[i] = path(ev, base->u.list.items[i], name);
        return l;
    }
    case FEEL_RANGE:
        if (!strcmp(name, "start")) return base->u.range.lo;
        if (!strcmp(name, "end")) return base->u.range.hi;
        if (!strcmp(name, "start included")) return feel_bool(base->u.range.lo_closed);
        if (!strcmp(name, "end included")) return feel_bool(base->u.range.hi_closed);
        return feel_null();
    case FEEL_NULL:
        return feel_null();
    default: {
        bool found;
        feel_value_t *v = feel_temporal_prop(ev, base, name, &found);
        if (!found)
            return feel_err(ev, "%s has no property '%s'", feel_type_name(base->t), name);
        return v;
    }
    }
}

static bool instance_of(const feel_value_t *v, const char *type)
{
    if (!strcmp(type, "Any"))
        return v->t != FEEL_NULL;
    if (!strcmp(type, "Null"))
        return v->t == FEEL_NULL;
    if (v->t == FEEL_NULL)
        return false;
    if (!strcmp(type, "list"))
        return v->t == FEEL_LIST;
    return !strcmp(feel_type_name(v->t), type);
}

/* ---- the walk ---- */
feel_value_t *feel_eval_node(feel_eval_t *ev, const feel_node_t *n, const feel_scope_t *sc)
{
    if (++ev->steps > ev->lim.max_steps) {
        ev->limit = true;
        return feel_err(ev, "evaluation step limit (%llu) reached", (unsigned long long)ev->lim.max_steps);
    }
    if (!stack_guard_ok(&ev->guard)) {
        ev->limit = true;
        return feel_err(ev, "evaluation nested too deeply (stack limit)");
    }
    switch (n->k) {
    case N_LIT:
        return n->lit;
    case N_QMARK:
    case N_NAME: {
        bool found;
        feel_value_t *v = lookup(sc, n->k == N_QMARK ? "?" : n->name, &found);
        if (found)
            return v;
        const feel_builtin_t *bi = feel_builtin_find(n->name);
        if (bi)
            return builtin_value(ev, bi);
        return feel_err(ev, "unknown name '%s' (line %d, column %d)", n->k == N_QMARK ? "?" : n->name,
                        n->line, n->col);
    }
    case N_NEG: {
        feel_value_t *a = feel_eval_node(ev, n->a, sc);
        if (a->t == FEEL_NUM || a->t == FEEL_DTD) {
            feel_value_t *r = feel_alloc_value(ev, a->t);
            if (!r)
                return feel_null();
            r->u.n = a->u.n;
            r->u.n.c = -r->u.n.c;
            return r;
        }
        if (a->t == FEEL_YMD) {
            feel_value_t *r = feel_alloc_value(ev, a->t);
            if (!r)
                return feel_null();
            r->u.months = -a->u.months;
            return r;
        }
        if (a->t == FEEL_NULL)
            return a;
        return feel_err(ev, "cannot negate %s", feel_type_name(a->t));
    }
    case N_ARITH:
        return feel_arith(ev, n->op, feel_eval_node(ev, n->a, sc), feel_eval_node(ev, n->b, sc));
    case N_CMP:
        return cmp_value(ev, n->op, feel_eval_node(ev, n->a, sc), feel_eval_node(ev, n->b, sc));
    case N_AND:
    case N_OR: {
        feel_value_t *a = feel_eval_node(ev, n->a, sc);
        bool stop = n->k == N_AND ? (a->t == FEEL_BOOL && !a->u.b) : feel_is_true(a);
        if (stop)
            return a;
        feel_value_t *b = feel_eval_node(ev, n->b, sc);
        if (n->k == N_AND) {
            if (b->t == FEEL_BOOL && !b->u.b)
                return b;
            return a->t == FEEL_BOOL && b->t == FEEL_BOOL ? feel_bool(true) : feel_null();
        }
        if (feel_is_true(b))
            return b;
        return a->t == FEEL_BOOL && b->t == FEEL_BOOL ? feel_bool(false) : feel_null();
    }
    case N_BETWEEN: {
        feel_value_t *x = feel_eval_node(ev, n->a, sc);
        feel_value_t *lo = cmp_value(ev, 'g', x, feel_eval_node(ev, n->b, sc));
        feel_value_t *hi = cmp_value(ev, 'l', x, feel_eval_node(ev, n->c, sc));
        if (lo->t != FEEL_BOOL || hi->t != FEEL_BOOL)
            return feel_null();
        return feel_bool(lo->u.b && hi->u.b);
    }
    case N_IN:
        return test_match(ev, feel_eval_node(ev, n->a, sc), n->b, sc);
    case N_INSTANCE:
        return feel_bool(instance_of(feel_eval_node(ev, n->a, sc), n->name));
    case N_IF: {
        feel_value_t *c = feel_eval_node(ev, n->a, sc);
        return feel_eval_node(ev, feel_is_true(c) ? n->b : n->c, sc);
    }
    case N_FOR:
    case N_SOME:
    case N_EVERY: {
        iter_state_t st = { 0 };
        st.results = feel_list(ev, 0);
        if (st.results->t != FEEL_LIST)
            return feel_null();
        st.quant = n->k == N_EVERY ? 1 : 0;
        iterate(ev, n, 0, feel_context(ev), sc, &st);
        if (n->k == N_FOR)
            return st.results;
        if ((n->k == N_SOME && st.quant == 0) || (n->k == N_EVERY && st.quant == 1))
            if (st.unknown)
                return feel_null();
        return feel_bool(st.quant == 1);
    }
    case N_LIST: {
        feel_value_t *l = feel_list(ev, n->n);
        if (l->t != FEEL_LIST)
            return l;
        for (size_t i = 0; i < n->n; i++)
            l->u.list.items[i] = feel_eval_node(ev, n->kids[i], sc);
        return l;
    }
    case N_CTX: {
        feel_value_t *c = feel_context(ev);
        feel_scope_t s = { c, sc };
        for (size_t i = 0; i < n->n; i++) {
            if (feel_ctx_get(c, n->names[i]))
                return feel_err(ev, "duplicate context key '%s'", n->names[i]);
            feel_ctx_put(ev, c, n->names[i], feel_eval_node(ev, n->kids[i], &s));
        }
        return c;
    }
    case N_RANGE: {
        feel_value_t *lo = feel_eval_node(ev, n->a, sc), *hi = feel_eval_node(ev, n->b, sc);
        if (lo->t != FEEL_NULL && hi->t != FEEL_NULL) {
            if (lo->t != hi->t || feel_compare(lo, hi) == FEEL_INCOMPARABLE)
                return feel_err(ev, "range endpoints of different types");
        }
        feel_value_t *r = feel_alloc_value(ev, FEEL_RANGE);
        if (!r)
            return feel_null();
        r->u.range.lo = lo;
        r->u.range.hi = hi;
        r->u.range.lo_closed = n->op & 1;
        r->u.range.hi_closed = (n->op & 2) != 0;
        return r;
    }
    case N_FILTER:
        return filter(ev, feel_eval_node(ev, n->a, sc), n->b, sc);
    case N_PATH:
        return path(ev, feel_eval_node(ev, n->a, sc), n->name);
    case N_CALL: {
        feel_value_t *f;
        if (n->a->k == N_NAME) {
            bool found;
            f = lookup(sc, n->a->name, &found);
            if (!found) {
                const feel_builtin_t *bi = feel_builtin_find(n->a->name);
                if (!bi)
                    return feel_err(ev, "unknown function '%s' (line %d, column %d)", n->a->name, n->line,
                                    n->col);
                feel_value_t **args = feel_alloc(ev, sizeof(*args) * (n->n ? n->n : 1));
                if (!args)
                    return feel_null();
                for (size_t i = 0; i < n->n; i++)
                    args[i] = feel_eval_node(ev, n->kids[i], sc);
                return call_builtin(ev, bi, args, n->n, n->named ? n->names : NULL);
            }
        } else {
            f = feel_eval_node(ev, n->a, sc);
        }
        feel_value_t **args = feel_alloc(ev, sizeof(*args) * (n->n ? n->n : 1));
        if (!args)
            return feel_null();
        for (size_t i = 0; i < n->n; i++)
            args[i] = feel_eval_node(ev, n->kids[i], sc);
        return call_fn(ev, f, args, n->n, n->named ? n->names : NULL);
    }
    case N_FUNC: {
        feel_value_t *f = feel_alloc_value(ev, FEEL_FN);
        feel_scope_t *cl = feel_alloc(ev, sizeof(*cl));
        if (!f || !cl)
            return feel_null();
        if (sc)
            *cl = *sc;
        f->u.fn.body = n->a;
        f->u.fn.params = n->names;
        f->u.fn.nparams = n->n;
        f->u.fn.closure = sc ? cl : NULL;
        return f;
    }
    case N_UT_CMP:
        return ut_range(ev, n->op, feel_eval_node(ev, n->a, sc));
    case N_UT_LIST:
        if (n->n == 1)
            return feel_eval_node(ev, n->kids[0], sc);
        return feel_err(ev, "a list of unary tests is not a value");
    case N_UT_NOT:
    case N_UT_ANY:
        return feel_err(ev, "unary tests are not a value");
    }
    return feel_null();
}

feel_value_t *feel_eval(feel_eval_t *ev, const feel_expr_t *e, const feel_value_t *ctx)
{
    feel_scope_t sc = { ctx, NULL };
    if (e->mode == FEEL_UNARY)
        return feel_err(ev, "unary tests need an input (feel_test)");
    enter(ev);
    feel_value_t *r = feel_eval_node(ev, e->root, ctx ? &sc : NULL);
    return leave(ev, r);
}

/* ---- one evaluator per thread ---- */

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_ev_free(void *p)
{
    feel_eval_free(p);
}

static void thread_ev_init(void)
{
    pthread_key_create(&thread_key, thread_ev_free);
}

void feel_eval_thread_release(void)
{
    pthread_once(&thread_once, thread_ev_init);
    feel_eval_t *ev = pthread_getspecific(thread_key);
    if (ev && ev->arena.total > 16 * 1024)     /* more than the first chunk it keeps */
        feel_eval_reset(ev);
}

feel_eval_t *feel_eval_thread(void)
{
    pthread_once(&thread_once, thread_ev_init);
    feel_eval_t *ev = pthread_getspecific(thread_key);
    if (!ev) {
        ev = feel_eval_new(NULL);
        if (ev)
            pthread_setspecific(thread_key, ev);
    } else {
        feel_eval_reset(ev);
    }
    return ev;
}
