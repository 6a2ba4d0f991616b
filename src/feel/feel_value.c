/*
 * feel_value.c — the arena, value constructors, FEEL equality and ordering, and the
 * string form of values (FEEL string() and the literal form of lists and contexts).
 */
#define _GNU_SOURCE
#include "feel_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- stack guard ---- */
/* The thread's lowest stack address, asked once per thread (pthread_getattr_np reads
 * /proc/self/maps on the main thread: far too slow for every evaluation). */
static _Thread_local const char *stack_lo;
static _Thread_local bool stack_known;

void stack_guard_init(stack_guard_t *g)
{
    char here;
    if (!stack_known) {
        stack_known = true;
        pthread_attr_t a;
        if (pthread_getattr_np(pthread_self(), &a) == 0) {
            void *lo;
            size_t size;
            if (pthread_attr_getstack(&a, &lo, &size) == 0 && (char *)lo < &here)
                stack_lo = lo;
            pthread_attr_destroy(&a);
        }
    }
    size_t remaining = stack_lo ? (size_t)(&here - stack_lo) : 256 * 1024;
    /* keep a margin for the leaves (built-ins, PCRE2, printf) below the last check */
    size_t margin = 24 * 1024 + remaining / 8;
    g->base = &here;
    g->budget = remaining > margin ? remaining - margin : 0;
}

/* ---- arena ---- */
#define CHUNK_FIRST 16000
#define CHUNK_MAX (4u << 20)
#define CHUNK_OWN (64u << 10)       /* bigger allocations get a chunk of their own */
#define CHUNK_MMAP (128u << 10)     /* chunks from here on are mmap'ed */

static size_t per_eval_cap = 64u << 20;
static size_t shared_cap = 512u << 20;
static _Atomic size_t shared_used;

void feel_memory_limits(size_t per_eval, size_t total)
{
    if (per_eval)
        per_eval_cap = per_eval;
    if (total)
        shared_cap = total;
}

size_t feel_memory_in_use(void) { return atomic_load(&shared_used); }
size_t feel_memory_total(void) { return shared_cap; }
size_t feel_default_max_bytes(void) { return per_eval_cap; }

static arena_chunk_t *chunk_new(arena_t *a, size_t cap)
{
    if (a->shared) {
        size_t was = atomic_fetch_add(&shared_used, cap);
        if (was + cap > shared_cap) {
            atomic_fetch_sub(&shared_used, cap);
            a->over_shared = true;
            return NULL;
        }
    }
    size_t bytes = sizeof(arena_chunk_t) + cap;
    arena_chunk_t *c;
    bool mapped = bytes >= CHUNK_MMAP;
    if (mapped) {
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        c = m == MAP_FAILED ? NULL : m;
    } else {
        c = malloc(bytes);
    }
    if (!c) {
        if (a->shared)
            atomic_fetch_sub(&shared_used, cap);
        return NULL;
    }
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    c->mapped = mapped;
    a->total += cap;
    return c;
}

static void chunk_free(arena_t *a, arena_chunk_t *c)
{
    a->total -= c->cap;
    if (a->shared)
        atomic_fetch_sub(&shared_used, c->cap);
    if (c->mapped)
        munmap(c, sizeof(*c) + c->cap);
    else
        free(c);
}

void *arena_alloc(arena_t *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    a->over_shared = false;
    if (!a->head || a->head->used + n > a->head->cap) {
        bool own = n > CHUNK_OWN && a->head;    /* behind the head: its room stays usable */
        size_t cap = n;
        if (!own) {
            size_t grow = a->head ? a->head->cap * 2 : CHUNK_FIRST;
            grow = grow < CHUNK_MAX ? grow : CHUNK_MAX;
            cap = n > grow ? n : grow;
        }
        if (a->cap && a->total + cap > a->cap)  /* near the cap: only what is asked */
            cap = n;
        if (a->cap && a->total + cap > a->cap)
            return NULL;
        arena_chunk_t *c = chunk_new(a, cap);
        if (!c)
            return NULL;
        if (own) {
            c->next = a->head->next;
            a->head->next = c;
            c->used = n;
            memset(c->data, 0, n);
            return c->data;
        }
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

size_t arena_reset(arena_t *a)
{
    size_t held = a->total;
    arena_chunk_t *keep = NULL;
    for (arena_chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        if (!next && c->cap <= CHUNK_FIRST)
            keep = c;
        else
            chunk_free(a, c);
    }
    a->head = keep;
    if (keep)
        keep->used = 0;
    return held;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

void arena_free(arena_t *a)
{
    arena_chunk_t *c = a->head;
    while (c) {
        arena_chunk_t *n = c->next;
        chunk_free(a, c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}

/* ---- constructors ---- */
static feel_value_t null_v = { .t = FEEL_NULL };
static feel_value_t true_v = { .t = FEEL_BOOL, .u.b = true };
static feel_value_t false_v = { .t = FEEL_BOOL, .u.b = false };

static feel_value_t unbounded_v = { .t = FEEL_NULL };

feel_value_t *feel_null(void) { return &null_v; }
feel_value_t *feel_unbounded(void) { return &unbounded_v; }
feel_value_t *feel_bool(bool b) { return b ? &true_v : &false_v; }

feel_value_t *feel_alloc_value(feel_eval_t *ev, feel_type_t t)
{
    feel_value_t *v = feel_alloc(ev, sizeof(*v));
    if (v)
        v->t = t;
    return v;
}

feel_value_t *feel_num(feel_eval_t *ev, feel_dec_t d)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_NUM);
    if (!v)
        return feel_null();
    v->u.n = d;
    return v;
}

feel_value_t *feel_num_int(feel_eval_t *ev, int64_t i)
{
    return feel_num(ev, feel_dec_from_int(i));
}

feel_value_t *feel_num_parse(feel_eval_t *ev, const char *s)
{
    feel_dec_t d;
    if (!s || !feel_dec_parse(s, strlen(s), &d))
        return feel_null();
    return feel_num(ev, d);
}

feel_value_t *feel_num_double(feel_eval_t *ev, double x)
{
    feel_dec_t d;
    if (!feel_dec_from_double(x, &d))
        return feel_null();
    return feel_num(ev, d);
}

feel_value_t *feel_str(feel_eval_t *ev, const char *s, size_t len)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_STR);
    char *c = feel_alloc(ev, len + 1);
    if (!v || !c)
        return feel_null();
    memcpy(c, s, len);
    v->u.str.s = c;
    v->u.str.len = len;
    return v;
}

feel_value_t *feel_cstr(feel_eval_t *ev, const char *s)
{
    return feel_str(ev, s, strlen(s));
}

feel_value_t *feel_list(feel_eval_t *ev, size_t n)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_LIST);
    feel_value_t **items = feel_alloc(ev, sizeof(*items) * (n ? n : 1));
    if (!v || !items)
        return feel_null();
    for (size_t i = 0; i < n; i++)
        items[i] = feel_null();
    v->u.list.items = items;
    v->u.list.n = n;
    return v;
}

feel_value_t *feel_list_from(feel_eval_t *ev, feel_value_t **items, size_t n)
{
    feel_value_t *l = feel_list(ev, n);
    if (l->t == FEEL_LIST && n)
        memcpy(l->u.list.items, items, sizeof(*items) * n);
    return l;
}

feel_value_t *feel_context(feel_eval_t *ev)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_CTX);
    return v ? v : feel_null();
}

/* Contexts from CTX_INDEX_FROM keys on keep an open-addressing index of their keys
 * (slots hold 1 + the entry's position), so building or reading a context of n keys is
 * O(n), not O(n²). Smaller ones are scanned. */
#define CTX_INDEX_FROM 16

static size_t ctx_find(const feel_value_t *ctx, const char *key)
{
    if (ctx->u.ctx.idx) {
        size_t m = ctx->u.ctx.idx_cap - 1;
        for (size_t s = (size_t)feel_hash_bytes(key, strlen(key)) & m; ctx->u.ctx.idx[s]; s = (s + 1) & m)
            if (!strcmp(ctx->u.ctx.keys[ctx->u.ctx.idx[s] - 1], key))
                return ctx->u.ctx.idx[s] - 1;
        return SIZE_MAX;
    }
    for (size_t i = 0; i < ctx->u.ctx.n; i++)
        if (!strcmp(ctx->u.ctx.keys[i], key))
            return i;
    return SIZE_MAX;
}

static void ctx_index_add(feel_value_t *ctx, size_t i)
{
    size_t m = ctx->u.ctx.idx_cap - 1;
    const char *k = ctx->u.ctx.keys[i];
    size_t s = (size_t)feel_hash_bytes(k, strlen(k)) & m;
    while (ctx->u.ctx.idx[s])
        s = (s + 1) & m;
    ctx->u.ctx.idx[s] = i + 1;
}

/* After entry n-1 was appended: index it, rebuilding at twice the size when half full
 * (no memory: no index, lookups scan). */
static void ctx_index(feel_eval_t *ev, feel_value_t *ctx)
{
    size_t n = ctx->u.ctx.n;
    if (n < CTX_INDEX_FROM)
        return;
    if (ctx->u.ctx.idx && n * 2 <= ctx->u.ctx.idx_cap) {
        ctx_index_add(ctx, n - 1);
        return;
    }
    size_t cap = 64;
    while (cap < n * 4)
        cap *= 2;
    ctx->u.ctx.idx = feel_alloc(ev, cap * sizeof(size_t));
    ctx->u.ctx.idx_cap = ctx->u.ctx.idx ? cap : 0;
    for (size_t i = 0; ctx->u.ctx.idx && i < n; i++)
        ctx_index_add(ctx, i);
}

void feel_ctx_put(feel_eval_t *ev, feel_value_t *ctx, const char *key, feel_value_t *val)
{
    if (!ctx || ctx->t != FEEL_CTX)
        return;
    size_t at = ctx_find(ctx, key);
    if (at != SIZE_MAX) {
        ctx->u.ctx.vals[at] = val;
        return;
    }
    if (ctx->u.ctx.n == ctx->u.ctx.cap) {
        size_t cap = ctx->u.ctx.cap ? ctx->u.ctx.cap * 2 : 4;
        const char **k = feel_alloc(ev, cap * sizeof(*k));
        feel_value_t **v = feel_alloc(ev, cap * sizeof(*v));
        if (!k || !v)
            return;
        if (ctx->u.ctx.n) {
            memcpy(k, ctx->u.ctx.keys, ctx->u.ctx.n * sizeof(*k));
            memcpy(v, ctx->u.ctx.vals, ctx->u.ctx.n * sizeof(*v));
        }
        ctx->u.ctx.keys = k;
        ctx->u.ctx.vals = v;
        ctx->u.ctx.cap = cap;
    }
    size_t kl = strlen(key);
    char *kc = feel_alloc(ev, kl + 1);
    if (!kc)
        return;
    memcpy(kc, key, kl);
    ctx->u.ctx.keys[ctx->u.ctx.n] = kc;
    ctx->u.ctx.vals[ctx->u.ctx.n++] = val;
    ctx_index(ev, ctx);
}

feel_value_t *feel_ctx_get(const feel_value_t *ctx, const char *key)
{
    if (!ctx || ctx->t != FEEL_CTX)
        return NULL;
    size_t at = ctx_find(ctx, key);
    return at == SIZE_MAX ? NULL : ctx->u.ctx.vals[at];
}

feel_value_t *feel_native(feel_eval_t *ev, feel_native_fn fn, void *ud, const char **params, size_t n)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_FN);
    if (!v)
        return feel_null();
    v->u.fn.native = fn;
    v->u.fn.ud = ud;
    v->u.fn.params = params;
    v->u.fn.nparams = n;
    return v;
}

bool feel_is_true(const feel_value_t *v)
{
    return v && v->t == FEEL_BOOL && v->u.b;
}

const feel_value_t *feel_unwrap1(const feel_value_t *v)
{
    return v->t == FEEL_LIST && v->u.list.n == 1 ? v->u.list.items[0] : v;
}

const char *feel_type_name(feel_type_t t)
{
    static const char *n[] = { "null", "boolean", "number", "string", "date", "time", "date and time",
                               "days and time duration", "years and months duration", "list",
                               "context", "range", "function" };
    return t < FEEL_NTYPES ? n[t] : "?";
}

/* ---- equality and order ---- */
static int cmp_str(const feel_value_t *a, const feel_value_t *b)
{
    size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
    int c = memcmp(a->u.str.s, b->u.str.s, n);
    if (c)
        return c < 0 ? -1 : 1;
    return a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len;
}

int feel_compare(const feel_value_t *a, const feel_value_t *b)
{
    if (a->t != b->t)
        return FEEL_INCOMPARABLE;
    switch (a->t) {
    case FEEL_NUM:
    case FEEL_DTD:
        return feel_dec_cmp(a->u.n, b->u.n);
    case FEEL_STR:
        return cmp_str(a, b);
    case FEEL_YMD:
        return a->u.months < b->u.months ? -1 : a->u.months > b->u.months;
    case FEEL_DATE:
        return a->u.tm.days < b->u.tm.days ? -1 : a->u.tm.days > b->u.tm.days;
    case FEEL_TIME:
    case FEEL_DT: {
        if (a->u.tm.has_tz != b->u.tm.has_tz)
            return FEEL_INCOMPARABLE;
        __int128 x, y;
        if (!feel_dt_instant(a, &x) || !feel_dt_instant(b, &y))
            return FEEL_INCOMPARABLE;
        return x < y ? -1 : x > y;
    }
    default:
        return FEEL_INCOMPARABLE;
    }
}

int feel_equal(const feel_value_t *a, const feel_value_t *b)
{
    if (a->t == FEEL_NULL || b->t == FEEL_NULL)
        return a->t == b->t;
    if (a->t != b->t)
        return -1;
    switch (a->t) {
    case FEEL_BOOL:
        return a->u.b == b->u.b;
    case FEEL_LIST:
        if (a->u.list.n != b->u.list.n)
            return 0;
        for (size_t i = 0; i < a->u.list.n; i++) {
            int e = feel_equal(a->u.list.items[i], b->u.list.items[i]);
            if (e != 1)
                return e;
        }
        return 1;
    case FEEL_CTX:
        if (a->u.ctx.n != b->u.ctx.n)
            return 0;
        for (size_t i = 0; i < a->u.ctx.n; i++) {
            const feel_value_t *o = feel_ctx_get(b, a->u.ctx.keys[i]);
            if (!o)
                return 0;
            int e = feel_equal(a->u.ctx.vals[i], o);
            if (e != 1)
                return e;
        }
        return 1;
    case FEEL_RANGE: {
        const feel_value_t *x[2] = { a->u.range.lo, a->u.range.hi }, *y[2] = { b->u.range.lo, b->u.range.hi };
        if (a->u.range.lo_closed != b->u.range.lo_closed || a->u.range.hi_closed != b->u.range.hi_closed ||
            a->u.range.ut != b->u.range.ut)
            return 0;
        for (int i = 0; i < 2; i++) {
            if ((x[i] == feel_unbounded()) != (y[i] == feel_unbounded()))
                return 0;
            int e = feel_equal(x[i], y[i]);
            if (e != 1)
                return e < 0 ? 0 : e;
        }
        return 1;
    }
    case FEEL_FN:
        return a == b;
    case FEEL_TIME:
    case FEEL_DT:
        if (a->u.tm.has_tz != b->u.tm.has_tz)
            return 0;
        /* fall through */
    default: {
        int c = feel_compare(a, b);
        return c == FEEL_INCOMPARABLE ? -1 : c == 0;
    }
    }
}

/* ---- string form ---- */
typedef struct sb {
    feel_eval_t *ev;
    char *s;
    size_t n, cap;
} sb_t;

static void sb_add(sb_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *ns = feel_alloc(b->ev, cap);
        if (!ns)
            return;
        if (b->n)
            memcpy(ns, b->s, b->n);
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_cat(sb_t *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void to_sb(sb_t *b, const feel_value_t *v, bool top)
{
    char buf[128];
    switch (v->t) {
    case FEEL_NULL: sb_cat(b, "null"); break;
    case FEEL_BOOL: sb_cat(b, v->u.b ? "true" : "false"); break;
    case FEEL_NUM: feel_dec_format(v->u.n, buf, sizeof(buf)); sb_cat(b, buf); break;
    case FEEL_STR:
        if (!top)
            sb_cat(b, "\"");
        sb_add(b, v->u.str.s, v->u.str.len);
        if (!top)
            sb_cat(b, "\"");
        break;
    case FEEL_LIST:
        sb_cat(b, "[");
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (i)
                sb_cat(b, ", ");
            to_sb(b, v->u.list.items[i], false);
        }
        sb_cat(b, "]");
        break;
    case FEEL_CTX:
        sb_cat(b, "{");
        for (size_t i = 0; i < v->u.ctx.n; i++) {
            if (i)
                sb_cat(b, ", ");
            sb_cat(b, v->u.ctx.keys[i]);
            sb_cat(b, ": ");
            to_sb(b, v->u.ctx.vals[i], false);
        }
        sb_cat(b, "}");
        break;
    case FEEL_RANGE:
        sb_cat(b, v->u.range.lo_closed ? "[" : "(");
        to_sb(b, v->u.range.lo, false);
        sb_cat(b, "..");
        to_sb(b, v->u.range.hi, false);
        sb_cat(b, v->u.range.hi_closed ? "]" : ")");
        break;
    case FEEL_FN: sb_cat(b, "function"); break;
    default: feel_format_temporal(v, buf, sizeof(buf)); sb_cat(b, buf); break;
    }
}

const char *feel_to_string(feel_eval_t *ev, const feel_value_t *v)
{
    sb_t b = { ev, NULL, 0, 0 };
    to_sb(&b, v, true);
    return b.s ? b.s : "";
}
