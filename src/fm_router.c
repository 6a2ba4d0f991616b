/* fm_router.c — pattern compilation, matching and the per-port tables; see fm_router.h. */
#include "fm_router.h"

#include "fm_mod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *method_names[FM_METHOD_COUNT] = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"
};

const char *fm_method_name(fm_method_t m)
{
    return m < FM_METHOD_COUNT ? method_names[m] : "?";
}

int fm_method_parse(const char *s)
{
    for (int i = 0; i < FM_METHOD_COUNT; i++)
        if (!strcmp(s, method_names[i]))
            return i;
    return FM_METHOD_COUNT;
}

int fm_rentry_init(fm_rentry_t *e, const fm_route_t *def, fm_mod_t *mod, const char *module_name,
                   char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    e->def = def;
    e->mod = mod;
    e->module_name = module_name;
    const char *pat = def->pattern;
    if (!pat || pat[0] != '/' || !(e->pattern_copy = strdup(pat + 1))) {
        snprintf(err, errlen, "%s: pattern '%s' must start with '/'", module_name, pat ? pat : "");
        return FM_EINVAL;
    }
    char *s = e->pattern_copy;
    if (!*s)        /* "/" is zero segments */
        return FM_OK;
    for (;;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = 0;
        if (e->nseg == FM_MAX_SEGS || !*s)
            goto bad;
        fm_seg_t *g = &e->seg[e->nseg++];
        size_t n = strlen(s);
        if (s[0] == '{') {
            char *close = strchr(s, '}');
            if (!close || close == s + 1)
                goto bad;
            *close = 0;
            if (s[1] == '*') {
                if (slash || close[1] || !s[2])
                    goto bad;   /* a tail is last and has no suffix */
                g->kind = SEG_TAIL;
                g->name = s + 2;
            } else {
                if (strchr(close + 1, '{') || strchr(close + 1, '}'))
                    goto bad;   /* "{a}{b}": one parameter per segment */
                g->name = s + 1;
                g->kind = close[1] ? SEG_SUFFIX : SEG_PARAM;
                g->text = close + 1;
                g->len = strlen(close + 1);
            }
        } else {
            if (strchr(s, '{') || strchr(s, '}'))
                goto bad;
            g->kind = SEG_LIT;
            g->text = s;
            g->len = n;
        }
        if (!slash)
            return FM_OK;
        s = slash + 1;
    }
bad:
    snprintf(err, errlen, "%s: malformed route pattern '%s'", module_name, pat);
    free(e->pattern_copy);
    e->pattern_copy = NULL;
    return FM_EINVAL;
}

void fm_rentry_release(fm_rentry_t *e)
{
    free(e->pattern_copy);
    e->pattern_copy = NULL;
}

static bool same_shape(const fm_rentry_t *a, const fm_rentry_t *b)
{
    if (a->def->method != b->def->method || a->nseg != b->nseg)
        return false;
    for (int i = 0; i < a->nseg; i++) {
        const fm_seg_t *x = &a->seg[i], *y = &b->seg[i];
        if (x->kind != y->kind || x->len != y->len || (x->len && memcmp(x->text, y->text, x->len)))
            return false;
    }
    return true;
}

int fm_rtable_add(fm_rtable_t *t, fm_rentry_t *e, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        if (same_shape(t->v[i], e)) {
            snprintf(err, errlen, "route conflict: %s %s is declared by %s and by %s",
                     fm_method_name(e->def->method), e->def->pattern, t->v[i]->module_name,
                     e->module_name);
            return FM_ECONFLICT;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        fm_rentry_t **v = realloc(t->v, cap * sizeof(*v));
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return FM_ENOMEM;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = e;
    return FM_OK;
}

void fm_rtable_release(fm_rtable_t *t)
{
    free(t->v);
    free(t->idx);
    memset(t, 0, sizeof(*t));
}

static bool first_literal(const fm_rentry_t *e)
{
    return e->nseg > 0 && e->seg[0].kind == SEG_LIT;
}

static int cmp_lit(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int cmp_entry(const void *pa, const void *pb)
{
    const fm_rentry_t *a = *(fm_rentry_t *const *)pa, *b = *(fm_rentry_t *const *)pb;
    bool la = first_literal(a), lb = first_literal(b);
    if (la != lb)
        return la ? -1 : 1;     /* literal first segments first, the rest at the end */
    if (!la)
        return 0;
    return cmp_lit(a->seg[0].text, a->seg[0].len, b->seg[0].text, b->seg[0].len);
}

int fm_rtable_seal(fm_rtable_t *t)
{
    if (t->n)
        qsort(t->v, t->n, sizeof(*t->v), cmp_entry);
    free(t->idx);
    t->idx = calloc(t->n ? t->n : 1, sizeof(*t->idx));
    if (!t->idx)
        return FM_ENOMEM;
    t->nidx = 0;
    size_t i = 0;
    while (i < t->n && first_literal(t->v[i])) {
        fm_rbucket_t *b = &t->idx[t->nidx++];
        b->lit = t->v[i]->seg[0].text;
        b->len = t->v[i]->seg[0].len;
        b->start = i;
        while (i < t->n && first_literal(t->v[i]) && !cmp_lit(b->lit, b->len, t->v[i]->seg[0].text, t->v[i]->seg[0].len))
            i++;
        b->count = i - b->start;
    }
    t->wild_start = i;
    t->sealed = true;
    return FM_OK;
}

static const fm_rbucket_t *bucket_of(const fm_rtable_t *t, const char *seg, size_t len)
{
    size_t lo = 0, hi = t->nidx;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_lit(seg, len, t->idx[mid].lit, t->idx[mid].len);
        if (!c)
            return &t->idx[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

typedef struct { const char *p; size_t len; } span_t;

/* Matches e against the path's segments; fills rank[] with the kind of each. */
static bool match_entry(const fm_rentry_t *e, const span_t *segs, int n, int rank[FM_MAX_SEGS])
{
    int i;
    for (i = 0; i < e->nseg; i++) {
        const fm_seg_t *g = &e->seg[i];
        rank[i] = g->kind;
        if (g->kind == SEG_TAIL)
            return i < n;
        if (i >= n)
            return false;
        const span_t *s = &segs[i];
        switch (g->kind) {
        case SEG_LIT:
            if (s->len != g->len || memcmp(s->p, g->text, g->len))
                return false;
            break;
        case SEG_SUFFIX:
            if (s->len <= g->len || memcmp(s->p + s->len - g->len, g->text, g->len))
                return false;
            break;
        default:
            break;
        }
    }
    return i == n;
}

static bool better(const int *a, const int *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i];
    return false;
}

const fm_rentry_t *fm_rtable_match(const fm_rtable_t *t, fm_method_t method, const char *path,
                                   fm_params_t *params, unsigned *allow)
{
    span_t segs[FM_MAX_SEGS + 1];
    int n = 0;
    *allow = 0;
    if (path[0] != '/')
        return NULL;
    const char *p = path + 1;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        /* Empty segments ("//", a trailing "/") match no route; nor does a path deeper
         * than any route can be. */
        if (len == 0 || n == FM_MAX_SEGS + 1 || (slash && !slash[1]))
            return NULL;
        segs[n].p = p;
        segs[n++].len = len;
        if (!slash)
            break;
        p = slash + 1;
    }

    const fm_rentry_t *best = NULL;
    int best_rank[FM_MAX_SEGS + 1], rank[FM_MAX_SEGS + 1];
    /* Sealed: only the bucket of the first segment, then the entries starting with a
     * parameter. Unsealed: everything. */
    size_t b_start = 0, b_end = t->n, w_start = t->n;
    if (t->sealed) {
        const fm_rbucket_t *b = n ? bucket_of(t, segs[0].p, segs[0].len) : NULL;
        b_start = b ? b->start : 0;
        b_end = b ? b->start + b->count : 0;
        w_start = t->wild_start;
    }
    for (size_t k = b_start; k < t->n; k++) {
        if (k == b_end) {
            if (w_start >= t->n)
                break;
            k = w_start;
            b_end = t->n;   /* the wild run goes to the end */
        }
        const fm_rentry_t *e = t->v[k];
        memset(rank, 0, sizeof(rank));
        if (!match_entry(e, segs, n, rank))
            continue;
        fm_method_t want = method == FM_HEAD && e->def->method == FM_GET ? FM_GET : method;
        if (e->def->method != want) {
            *allow |= 1u << e->def->method;
            continue;
        }
        if (!best || better(rank, best_rank, FM_MAX_SEGS + 1)) {
            best = e;
            memcpy(best_rank, rank, sizeof(rank));
        }
    }
    if (!best || !params)
        return best;

    params->n = 0;
    size_t used = 0;
    for (int i = 0; i < best->nseg && params->n < FM_MAX_PARAMS; i++) {
        const fm_seg_t *g = &best->seg[i];
        if (g->kind == SEG_LIT)
            continue;
        const char *start = segs[i].p;
        size_t len = g->kind == SEG_TAIL ? strlen(start)
                   : g->kind == SEG_SUFFIX ? segs[i].len - g->len : segs[i].len;
        if (used + len + 1 > sizeof(params->buf))
            return NULL;
        char *v = params->buf + used;
        memcpy(v, start, len);
        v[len] = 0;
        used += len + 1;
        params->v[params->n].name = g->name;
        params->v[params->n++].value = v;
    }
    return best;
}

/* ---- the routing of a running set of modules ---- */

static fm_port_t *port_get(fm_routing_t *r, int port)
{
    for (size_t i = 0; i < r->nports; i++)
        if (r->ports[i].port == port)
            return &r->ports[i];
    fm_port_t *p = &r->ports[r->nports++];
    memset(p, 0, sizeof(*p));
    p->port = port;
    return p;
}

int fm_routing_build(fm_routing_t *r, fm_mod_t *mods, size_t nmods, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    size_t total = 3;
    for (size_t i = 0; i < nmods; i++)
        total += mods[i].def->nroutes;
    r->entries = calloc(total, sizeof(*r->entries));
    r->ports = calloc(nmods ? nmods : 1, sizeof(*r->ports));
    if (!r->entries || !r->ports) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    fm_rentry_t *health = &r->entries[r->nentries++];
    fm_rentry_t *ready = &r->entries[r->nentries++];
    fm_rentry_t *metrics = &r->entries[r->nentries++];
    if (fm_rentry_init(health, &fm_core_health, NULL, "core", err, errlen) ||
        fm_rentry_init(ready, &fm_core_ready, NULL, "core", err, errlen) ||
        fm_rentry_init(metrics, &fm_core_metrics, NULL, "core", err, errlen) ||
        fm_rtable_add(&r->api, health, err, errlen) || fm_rtable_add(&r->api, ready, err, errlen) ||
        fm_rtable_add(&r->api, metrics, err, errlen))
        goto fail;

    for (size_t i = 0; i < nmods; i++) {
        fm_mod_t *m = &mods[i];
        fm_port_t *p = port_get(r, m->def->port);
        if (p->nmods == sizeof(p->mods) / sizeof(p->mods[0])) {
            snprintf(err, errlen, "port %d: too many modules", p->port);
            goto fail;
        }
        if (p->nmods == 0 && (fm_rtable_add(&p->table, health, err, errlen) ||
                              fm_rtable_add(&p->table, ready, err, errlen)))
            goto fail;
        p->mods[p->nmods++] = m;
        p->gateway |= (m->def->flags & FM_M_GATEWAY) != 0;
        p->webapp |= (m->def->flags & FM_M_WEBAPP) != 0;
        for (size_t j = 0; j < m->def->nroutes; j++) {
            const fm_route_t *def = &m->def->routes[j];
            fm_rentry_t *e = &r->entries[r->nentries++];
            if (fm_rentry_init(e, def, m, m->def->name, err, errlen) ||
                fm_rtable_add(&p->table, e, err, errlen) ||
                (!(def->flags & FM_R_LOCAL) && fm_rtable_add(&r->api, e, err, errlen)))
                goto fail;
        }
    }
    if (fm_rtable_seal(&r->api))
        goto oom;
    for (size_t i = 0; i < r->nports; i++)
        if (fm_rtable_seal(&r->ports[i].table))
            goto oom;
    return FM_OK;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    fm_routing_release(r);
    return FM_EINVAL;
}

void fm_routing_release(fm_routing_t *r)
{
    for (size_t i = 0; i < r->nports; i++)
        fm_rtable_release(&r->ports[i].table);
    for (size_t i = 0; i < r->nentries; i++)
        fm_rentry_release(&r->entries[i]);
    fm_rtable_release(&r->api);
    free(r->ports);
    free(r->entries);
    memset(r, 0, sizeof(*r));
}

const fm_port_t *fm_routing_port(const fm_routing_t *r, int canonical_port)
{
    for (size_t i = 0; i < r->nports; i++)
        if (r->ports[i].port == canonical_port)
            return &r->ports[i];
    return NULL;
}

const fm_rtable_t *fm_port_table(const fm_routing_t *r, const fm_port_t *p)
{
    return p->gateway ? &r->api : &p->table;
}
