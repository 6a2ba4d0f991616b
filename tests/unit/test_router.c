/* test_router.c — pattern compilation, matching, conflicts and the per-port routing
 * built from the real module table (fm_router.h). */
#include "fm_test.h"

#include "fm_mod.h"
#include "fm_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

#define MAXE 32

typedef struct table_fixture {
    fm_route_t defs[MAXE];
    fm_rentry_t entries[MAXE];
    size_t n;
    fm_rtable_t t;
} tf_t;

static int h_dummy(fm_req_t *r) { (void)r; return FM_OK; }

/* Adds (method, pattern) owned by `module`; asserts it compiles and does not conflict. */
static fm_rentry_t *tf_add(tf_t *f, fm_method_t m, const char *pattern, const char *module)
{
    assert_true(f->n < MAXE);
    char err[256] = "";
    f->defs[f->n] = (fm_route_t){ m, pattern, h_dummy, 0, NULL };
    fm_rentry_t *e = &f->entries[f->n];
    if (fm_rentry_init(e, &f->defs[f->n], NULL, module, err, sizeof(err)) != FM_OK)
        fail_msg("pattern %s: %s", pattern, err);
    f->n++;
    if (fm_rtable_add(&f->t, e, err, sizeof(err)) != FM_OK)
        fail_msg("add %s: %s", pattern, err);
    return e;
}

static void tf_release(tf_t *f)
{
    fm_rtable_release(&f->t);
    for (size_t i = 0; i < f->n; i++)
        fm_rentry_release(&f->entries[i]);
    f->n = 0;
}

static int compile(const char *pattern, char *err, size_t errlen)
{
    fm_route_t def = { FM_GET, pattern, h_dummy, 0, NULL };
    fm_rentry_t e;
    int rc = fm_rentry_init(&e, &def, NULL, "mod", err, errlen);
    fm_rentry_release(&e);
    return rc;
}

static const char *param(const fm_params_t *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].name, name))
            return p->v[i].value;
    return NULL;
}

/* ---- methods ---- */

static void test_method_names(void **state)
{
    (void)state;
    assert_string_equal(fm_method_name(FM_GET), "GET");
    assert_string_equal(fm_method_name(FM_OPTIONS), "OPTIONS");
    assert_string_equal(fm_method_name(FM_METHOD_COUNT), "?");
    assert_int_equal(fm_method_parse("DELETE"), FM_DELETE);
    assert_int_equal(fm_method_parse("PATCH"), FM_PATCH);
    assert_int_equal(fm_method_parse("get"), FM_METHOD_COUNT);   /* methods are case-sensitive */
    assert_int_equal(fm_method_parse("BREW"), FM_METHOD_COUNT);
}

/* ---- compile ---- */

static void test_compile_good(void **state)
{
    (void)state;
    fm_route_t def = { FM_GET, "/views/{processId}.svg", h_dummy, 0, NULL };
    fm_rentry_t e;
    char err[256] = "";
    assert_int_equal(fm_rentry_init(&e, &def, NULL, "views", err, sizeof(err)), FM_OK);
    assert_int_equal(e.nseg, 2);
    assert_int_equal(e.seg[0].kind, SEG_LIT);
    assert_int_equal(e.seg[0].len, 5);
    assert_memory_equal(e.seg[0].text, "views", 5);
    assert_int_equal(e.seg[1].kind, SEG_SUFFIX);
    assert_string_equal(e.seg[1].name, "processId");
    assert_int_equal(e.seg[1].len, 4);
    assert_memory_equal(e.seg[1].text, ".svg", 4);
    assert_string_equal(e.module_name, "views");
    assert_ptr_equal(e.def, &def);
    fm_rentry_release(&e);

    def.pattern = "/files/{id}/{*rest}";
    assert_int_equal(fm_rentry_init(&e, &def, NULL, "m", err, sizeof(err)), FM_OK);
    assert_int_equal(e.nseg, 3);
    assert_int_equal(e.seg[1].kind, SEG_PARAM);
    assert_string_equal(e.seg[1].name, "id");
    assert_int_equal(e.seg[2].kind, SEG_TAIL);
    assert_string_equal(e.seg[2].name, "rest");
    fm_rentry_release(&e);

    def.pattern = "/";
    assert_int_equal(fm_rentry_init(&e, &def, NULL, "m", err, sizeof(err)), FM_OK);
    assert_int_equal(e.nseg, 0);
    fm_rentry_release(&e);

    /* 16 segments is the limit */
    def.pattern = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p";
    assert_int_equal(fm_rentry_init(&e, &def, NULL, "m", err, sizeof(err)), FM_OK);
    assert_int_equal(e.nseg, FM_MAX_SEGS);
    fm_rentry_release(&e);
}

static void test_compile_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "agents",               /* missing leading '/' */
        "",                     /* empty */
        "/agents/{}",           /* empty parameter name */
        "/agents/{id",          /* unclosed */
        "/files/{*rest}/x",     /* tail not last */
        "/files/{*rest}.svg",   /* tail with a suffix */
        "/files/{*}",           /* tail without a name */
        "/ag{ents",             /* '{' inside a literal */
        "/ag}ents",             /* '}' inside a literal */
        "/x{id}",               /* parameter after a literal prefix */
        "/a//b",                /* empty segment */
        "/a/",                  /* trailing slash */
        "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q",   /* 17 segments */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        int rc = compile(bad[i], err, sizeof(err));
        if (rc != FM_EINVAL)
            fail_msg("pattern '%s' compiled (rc %d), expected FM_EINVAL", bad[i], rc);
        assert_non_null(strstr(err, "mod"));        /* names the module */
        if (bad[i][0] == '/')
            assert_non_null(strstr(err, bad[i]));   /* and the pattern */
    }
    fm_route_t def = { FM_GET, NULL, h_dummy, 0, NULL };
    fm_rentry_t e;
    char err[256] = "";
    assert_int_equal(fm_rentry_init(&e, &def, NULL, "mod", err, sizeof(err)), FM_EINVAL);
    assert_null(e.pattern_copy);
    assert_non_null(strstr(err, "must start with '/'"));
}

/* A suffix is a literal: braces in it are as malformed as in any other literal. */
static void test_compile_brace_in_suffix(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(compile("/x/{a}{b}", err, sizeof(err)), FM_EINVAL);
    assert_int_equal(compile("/x/{a}.}", err, sizeof(err)), FM_EINVAL);
}

/* ---- matching ---- */

static void test_match_literal_beats_param(void **state)
{
    (void)state;
    tf_t f = { 0 };
    /* declared param-first so the winner is not just the first match */
    fm_rentry_t *byid = tf_add(&f, FM_GET, "/agents/{id}", "a");
    fm_rentry_t *search = tf_add(&f, FM_GET, "/agents/search", "a");
    fm_rentry_t *list = tf_add(&f, FM_GET, "/agents", "a");
    fm_params_t p;
    unsigned allow = 99;
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/agents/search", &p, &allow), search);
    assert_int_equal(p.n, 0);
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/agents/a1", &p, &allow), byid);
    assert_int_equal(p.n, 1);
    assert_string_equal(param(&p, "id"), "a1");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/agents/searchx", &p, &allow), byid);
    assert_string_equal(param(&p, "id"), "searchx");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/agents", &p, &allow), list);
    assert_int_equal(allow, 0);
    /* params may be NULL */
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/agents/x", NULL, &allow), byid);
    tf_release(&f);
}

static void test_match_precedence_left_to_right(void **state)
{
    (void)state;
    tf_t f = { 0 };
    fm_rentry_t *pl = tf_add(&f, FM_GET, "/{a}/x", "m");
    fm_rentry_t *lp = tf_add(&f, FM_GET, "/x/{b}", "m");
    fm_params_t p;
    unsigned allow;
    /* both match /x/x: the literal in the first segment decides */
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/x/x", &p, &allow), lp);
    assert_string_equal(param(&p, "b"), "x");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/y/x", &p, &allow), pl);
    assert_string_equal(param(&p, "a"), "y");
    tf_release(&f);
}

static void test_match_suffix(void **state)
{
    (void)state;
    tf_t f = { 0 };
    fm_rentry_t *plain = tf_add(&f, FM_GET, "/views/{processId}", "views");
    fm_rentry_t *svg = tf_add(&f, FM_GET, "/views/{processId}.svg", "views");
    fm_rentry_t *lit = tf_add(&f, FM_GET, "/views/all.svg", "views");
    fm_params_t p;
    unsigned allow;
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/views/p42.svg", &p, &allow), svg);
    assert_int_equal(p.n, 1);
    assert_string_equal(param(&p, "processId"), "p42");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/views/x", &p, &allow), plain);
    assert_string_equal(param(&p, "processId"), "x");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/views/x.png", &p, &allow), plain);
    assert_string_equal(param(&p, "processId"), "x.png");
    /* the parameter before a suffix is never empty */
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/views/.svg", &p, &allow), plain);
    assert_string_equal(param(&p, "processId"), ".svg");
    /* literal beats suffix */
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/views/all.svg", &p, &allow), lit);
    assert_int_equal(p.n, 0);
    tf_release(&f);
}

static void test_match_tail(void **state)
{
    (void)state;
    tf_t f = { 0 };
    fm_rentry_t *tail = tf_add(&f, FM_GET, "/files/{*rest}", "m");
    fm_rentry_t *one = tf_add(&f, FM_GET, "/files/{id}/meta", "m");
    fm_rentry_t *root = tf_add(&f, FM_GET, "/{*path}", "web");
    fm_rentry_t *health = tf_add(&f, FM_GET, "/health", "core");
    fm_params_t p;
    unsigned allow;
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/files/a/b/c.txt", &p, &allow), tail);
    assert_int_equal(p.n, 1);
    assert_string_equal(param(&p, "rest"), "a/b/c.txt");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/files/a", &p, &allow), tail);
    assert_string_equal(param(&p, "rest"), "a");
    /* a parameter beats a tail at the same position */
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/files/7/meta", &p, &allow), one);
    assert_string_equal(param(&p, "id"), "7");
    /* a tail needs at least one segment: /files alone goes to the root tail */
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/files", &p, &allow), root);
    assert_string_equal(param(&p, "path"), "files");
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/health", &p, &allow), health);
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/app/index.html", &p, &allow), root);
    assert_string_equal(param(&p, "path"), "app/index.html");
    /* "/" has zero segments: no tail takes it */
    assert_null(fm_rtable_match(&f.t, FM_GET, "/", &p, &allow));
    assert_int_equal(allow, 0);
    tf_release(&f);
}

static void test_match_root(void **state)
{
    (void)state;
    tf_t f = { 0 };
    fm_rentry_t *root = tf_add(&f, FM_GET, "/", "web");
    tf_add(&f, FM_GET, "/a", "web");
    fm_params_t p;
    unsigned allow;
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, "/", &p, &allow), root);
    assert_int_equal(p.n, 0);
    assert_null(fm_rtable_match(&f.t, FM_GET, "//", &p, &allow));
    assert_null(fm_rtable_match(&f.t, FM_GET, "", &p, &allow));
    assert_null(fm_rtable_match(&f.t, FM_GET, "a", &p, &allow));
    assert_int_equal(allow, 0);
    tf_release(&f);
}

static void test_match_trailing_slash_and_empty_segments(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/agents", "a");
    tf_add(&f, FM_GET, "/agents/{id}", "a");
    tf_add(&f, FM_GET, "/agents/{id}/skills", "a");
    tf_add(&f, FM_GET, "/t/{*rest}", "a");
    fm_params_t p;
    unsigned allow;
    static const char *const paths[] = {
        "/agents/", "/agents//skills", "//agents", "/agents/x/", "/agents/x//",
        "/t/a//b", "/t/a/", "/t/",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        allow = 99;
        if (fm_rtable_match(&f.t, FM_GET, paths[i], &p, &allow))
            fail_msg("'%s' matched a route", paths[i]);
        assert_int_equal(allow, 0);
    }
    tf_release(&f);
}

static void test_match_depth_limit(void **state)
{
    (void)state;
    tf_t f = { 0 };
    fm_rentry_t *tail = tf_add(&f, FM_GET, "/{*all}", "m");
    fm_params_t p;
    unsigned allow;
    /* 17 segments still fit the split (a tail takes them all) */
    const char *p17 = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q";
    assert_ptr_equal(fm_rtable_match(&f.t, FM_GET, p17, &p, &allow), tail);
    assert_string_equal(param(&p, "all"), p17 + 1);
    /* 18 are deeper than any route */
    assert_null(fm_rtable_match(&f.t, FM_GET, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r", &p, &allow));
    assert_int_equal(allow, 0);
    tf_release(&f);
}

/* 17 segments plus a trailing slash: the empty 18th segment must not be written past
 * the split array (FM_MAX_SEGS + 1 entries). Under ASan this is a stack overflow. */
static void test_match_depth_limit_trailing_slash(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/{*all}", "m");
    fm_params_t p;
    unsigned allow = 99;
    assert_null(fm_rtable_match(&f.t, FM_GET, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/", &p, &allow));
    assert_int_equal(allow, 0);
    tf_release(&f);
}

static void test_match_405_allow_mask(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/services", "registry");
    tf_add(&f, FM_POST, "/services", "registry");
    tf_add(&f, FM_GET, "/services/{id}", "registry");
    tf_add(&f, FM_DELETE, "/services/{id}", "registry");
    tf_add(&f, FM_PUT, "/services/{id}/heartbeat", "registry");
    fm_params_t p;
    unsigned allow = 0;
    assert_null(fm_rtable_match(&f.t, FM_DELETE, "/services", &p, &allow));
    assert_int_equal(allow, (1u << FM_GET) | (1u << FM_POST));
    assert_null(fm_rtable_match(&f.t, FM_POST, "/services/x1", &p, &allow));
    assert_int_equal(allow, (1u << FM_GET) | (1u << FM_DELETE));
    assert_null(fm_rtable_match(&f.t, FM_GET, "/services/x1/heartbeat", &p, &allow));
    assert_int_equal(allow, 1u << FM_PUT);
    /* 404: no method has this path */
    allow = 99;
    assert_null(fm_rtable_match(&f.t, FM_GET, "/nothing", &p, &allow));
    assert_int_equal(allow, 0);
    assert_null(fm_rtable_match(&f.t, FM_GET, "/services/x1/other", &p, &allow));
    assert_int_equal(allow, 0);
    /* a hit resets the mask */
    allow = 99;
    assert_non_null(fm_rtable_match(&f.t, FM_PUT, "/services/x1/heartbeat", &p, &allow));
    assert_string_equal(param(&p, "id"), "x1");
    tf_release(&f);
}

static void test_match_many_params(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/t/{tenant}/p/{process}/v/{version}.bpmn", "m");
    fm_params_t p;
    unsigned allow;
    assert_non_null(fm_rtable_match(&f.t, FM_GET, "/t/acme/p/order/v/3.bpmn", &p, &allow));
    assert_int_equal(p.n, 3);
    assert_string_equal(p.v[0].name, "tenant");
    assert_string_equal(p.v[0].value, "acme");
    assert_string_equal(param(&p, "process"), "order");
    assert_string_equal(param(&p, "version"), "3");
    tf_release(&f);
}

/* ---- conflicts ---- */

static void test_conflict_same_shape(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/agents/{id}", "agents");
    f.defs[f.n] = (fm_route_t){ FM_GET, "/agents/{agentId}", h_dummy, 0, NULL };
    fm_rentry_t *e = &f.entries[f.n];
    char err[256] = "";
    assert_int_equal(fm_rentry_init(e, &f.defs[f.n], NULL, "orchestration", err, sizeof(err)), FM_OK);
    f.n++;
    assert_int_equal(fm_rtable_add(&f.t, e, err, sizeof(err)), FM_ECONFLICT);
    assert_non_null(strstr(err, "conflict"));
    assert_non_null(strstr(err, "agents"));
    assert_non_null(strstr(err, "orchestration"));
    assert_non_null(strstr(err, "GET"));
    assert_int_equal(f.t.n, 1);     /* not added */
    tf_release(&f);
}

static void test_conflict_suffix_and_literal_shapes(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/views/{processId}.svg", "views");
    tf_add(&f, FM_GET, "/views/{processId}.png", "views");    /* other suffix: fine */
    tf_add(&f, FM_GET, "/views/{processId}", "views");
    tf_add(&f, FM_GET, "/views/{*rest}", "views");
    char err[256] = "";
    f.defs[f.n] = (fm_route_t){ FM_GET, "/views/{id}.svg", h_dummy, 0, NULL };
    fm_rentry_t *e = &f.entries[f.n];
    assert_int_equal(fm_rentry_init(e, &f.defs[f.n], NULL, "other", err, sizeof(err)), FM_OK);
    f.n++;
    assert_int_equal(fm_rtable_add(&f.t, e, err, sizeof(err)), FM_ECONFLICT);
    assert_non_null(strstr(err, "views"));
    assert_non_null(strstr(err, "other"));
    f.defs[f.n] = (fm_route_t){ FM_GET, "/views/{*other}", h_dummy, 0, NULL };
    e = &f.entries[f.n];
    assert_int_equal(fm_rentry_init(e, &f.defs[f.n], NULL, "other", err, sizeof(err)), FM_OK);
    f.n++;
    assert_int_equal(fm_rtable_add(&f.t, e, err, sizeof(err)), FM_ECONFLICT);
    tf_release(&f);
}

static void test_no_conflict_other_method(void **state)
{
    (void)state;
    tf_t f = { 0 };
    tf_add(&f, FM_GET, "/agents/{id}", "agents");
    tf_add(&f, FM_DELETE, "/agents/{agentId}", "orchestration");
    tf_add(&f, FM_PUT, "/agents/{x}", "agents");
    assert_int_equal(f.t.n, 3);
    fm_params_t p;
    unsigned allow;
    const fm_rentry_t *e = fm_rtable_match(&f.t, FM_DELETE, "/agents/z", &p, &allow);
    assert_non_null(e);
    assert_string_equal(e->module_name, "orchestration");
    assert_string_equal(param(&p, "agentId"), "z");
    tf_release(&f);
}

static void test_table_grows(void **state)
{
    (void)state;
    /* more than the initial capacity (32) of entries */
    enum { N = 100 };
    fm_route_t *defs = calloc(N, sizeof(*defs));
    fm_rentry_t *es = calloc(N, sizeof(*es));
    char (*pats)[32] = calloc(N, sizeof(*pats));
    assert_non_null(defs);
    assert_non_null(es);
    assert_non_null(pats);
    fm_rtable_t t = { 0 };
    char err[256];
    for (int i = 0; i < N; i++) {
        snprintf(pats[i], sizeof(pats[i]), "/r%d/{id}", i);
        defs[i] = (fm_route_t){ FM_GET, pats[i], h_dummy, 0, NULL };
        assert_int_equal(fm_rentry_init(&es[i], &defs[i], NULL, "m", err, sizeof(err)), FM_OK);
        assert_int_equal(fm_rtable_add(&t, &es[i], err, sizeof(err)), FM_OK);
    }
    assert_int_equal(t.n, N);
    fm_params_t p;
    unsigned allow;
    assert_ptr_equal(fm_rtable_match(&t, FM_GET, "/r77/q", &p, &allow), &es[77]);
    assert_ptr_equal(fm_rtable_match(&t, FM_GET, "/r0/q", &p, &allow), &es[0]);
    fm_rtable_release(&t);
    for (int i = 0; i < N; i++)
        fm_rentry_release(&es[i]);
    free(defs);
    free(es);
    free(pats);
}

/* ---- routing over the real module table ---- */

typedef struct {
    fm_mod_t *mods;
    size_t n;
    fm_routing_t r;
} real_t;

static int real_setup(void **state)
{
    real_t *x = calloc(1, sizeof(*x));
    if (!x)
        return -1;
    while (fm_module_table[x->n])
        x->n++;
    x->mods = calloc(x->n, sizeof(*x->mods));
    if (!x->mods)
        return -1;
    for (size_t i = 0; i < x->n; i++)
        x->mods[i].def = fm_module_table[i];
    char err[512] = "";
    if (fm_routing_build(&x->r, x->mods, x->n, err, sizeof(err)) != FM_OK) {
        print_error("fm_routing_build: %s\n", err);
        return -1;
    }
    *state = x;
    return 0;
}

static int real_teardown(void **state)
{
    real_t *x = *state;
    fm_routing_release(&x->r);
    free(x->mods);
    free(x);
    return 0;
}

static const fm_rentry_t *match_api(const real_t *x, fm_method_t m, const char *path, fm_params_t *p)
{
    unsigned allow;
    return fm_rtable_match(&x->r.api, m, path, p, &allow);
}

static void test_routing_real_ports(void **state)
{
    real_t *x = *state;
    assert_int_equal(x->r.nports, 27);
    size_t total = 3;
    for (size_t i = 0; i < x->n; i++)
        total += x->mods[i].def->nroutes;
    assert_int_equal(x->r.nentries, total);
    /* every module sits on its port */
    for (size_t i = 0; i < x->n; i++) {
        const fm_port_t *p = fm_routing_port(&x->r, x->mods[i].def->port);
        assert_non_null(p);
        bool found = false;
        for (size_t j = 0; j < p->nmods; j++)
            found |= p->mods[j] == &x->mods[i];
        assert_true(found);
    }
    assert_null(fm_routing_port(&x->r, 1234));
    /* the gateway port answers from the API table */
    const fm_port_t *gw = fm_routing_port(&x->r, 9000);
    assert_non_null(gw);
    assert_true(gw->gateway);
    assert_ptr_equal(fm_port_table(&x->r, gw), &x->r.api);
    const fm_port_t *p2 = fm_routing_port(&x->r, 8002);
    assert_non_null(p2);
    assert_int_equal(p2->nmods, 2);     /* auth and sso */
    assert_false(p2->gateway);
    assert_ptr_equal(fm_port_table(&x->r, p2), &p2->table);
}

static void test_routing_real_api(void **state)
{
    real_t *x = *state;
    fm_params_t p;
    const fm_rentry_t *e = match_api(x, FM_POST, "/agents/x/invoke", &p);
    assert_non_null(e);
    assert_string_equal(e->module_name, "orchestration");
    assert_string_equal(param(&p, "id"), "x");
    e = match_api(x, FM_POST, "/agents/x/learn", &p);
    assert_non_null(e);
    assert_string_equal(e->module_name, "agents");
    assert_non_null(e->mod);
    assert_string_equal(e->mod->def->name, "agents");
    e = match_api(x, FM_GET, "/views/p1.svg", &p);
    assert_non_null(e);
    assert_string_equal(e->module_name, "views");
    assert_string_equal(param(&p, "processId"), "p1");
    e = match_api(x, FM_GET, "/metrics", &p);
    assert_non_null(e);
    assert_string_equal(e->module_name, "core");
    assert_null(e->mod);
    e = match_api(x, FM_GET, "/health", &p);
    assert_non_null(e);
    assert_ptr_equal(e->def, &fm_core_health);
    /* the service registry is in the API */
    e = match_api(x, FM_GET, "/services/abc", &p);
    assert_non_null(e);
    assert_string_equal(e->module_name, "registry");
}

static void test_routing_real_module_port(void **state)
{
    real_t *x = *state;
    const fm_port_t *port = fm_routing_port(&x->r, 9007);
    assert_non_null(port);
    const fm_rtable_t *t = fm_port_table(&x->r, port);
    fm_params_t p;
    unsigned allow;
    const fm_rentry_t *e = fm_rtable_match(t, FM_POST, "/agents/x/invoke", &p, &allow);
    assert_non_null(e);
    assert_string_equal(e->module_name, "orchestration");
    /* the agents module is on 9016, not here */
    assert_null(fm_rtable_match(t, FM_POST, "/agents/x/learn", &p, &allow));
    assert_int_equal(allow, 0);
    /* every port has /health and /ready, but only the gateway has /metrics */
    assert_ptr_equal(fm_rtable_match(t, FM_GET, "/health", &p, &allow)->def, &fm_core_health);
    assert_ptr_equal(fm_rtable_match(t, FM_GET, "/ready", &p, &allow)->def, &fm_core_ready);
    assert_null(fm_rtable_match(t, FM_GET, "/metrics", &p, &allow));
}

static void test_routing_real_webapp(void **state)
{
    real_t *x = *state;
    static const int webports[] = { 3000, 3001, 3002, 3005 };
    for (size_t i = 0; i < 4; i++) {
        const fm_port_t *port = fm_routing_port(&x->r, webports[i]);
        assert_non_null(port);
        assert_true(port->webapp);
        assert_false(port->gateway);
        const fm_rtable_t *t = fm_port_table(&x->r, port);
        fm_params_t p;
        unsigned allow;
        const fm_rentry_t *e = fm_rtable_match(t, FM_GET, "/", &p, &allow);
        assert_non_null(e);
        assert_string_equal(e->module_name, port->mods[0]->def->name);
        e = fm_rtable_match(t, FM_GET, "/js/app.js", &p, &allow);
        assert_non_null(e);
        assert_string_equal(param(&p, "path"), "js/app.js");
        /* the core routes still win over the web app's tail */
        assert_ptr_equal(fm_rtable_match(t, FM_GET, "/health", &p, &allow)->def, &fm_core_health);
    }
    /* the API has none of the web apps' (local) routes */
    fm_params_t p;
    unsigned allow;
    assert_null(fm_rtable_match(&x->r.api, FM_GET, "/", &p, &allow));
    for (size_t i = 0; i < x->r.api.n; i++) {
        const fm_rentry_t *e = x->r.api.v[i];
        assert_false(e->def->flags & FM_R_LOCAL);
        if (e->mod)
            assert_false(e->mod->def->flags & FM_M_WEBAPP);
    }
}

/* ---- routing build failures ---- */

static const fm_route_t dup_routes_a[] = { { FM_GET, "/widgets/{id}", h_dummy, 0, NULL } };
static const fm_route_t dup_routes_b[] = { { FM_GET, "/widgets/{widgetId}", NULL, 0, NULL } };
static const fm_route_t local_routes[] = { { FM_GET, "/widgets/{id}", h_dummy, FM_R_LOCAL, NULL } };
static const fm_route_t health_routes[] = { { FM_GET, "/health", h_dummy, 0, NULL } };
static const fm_route_t bad_routes[] = { { FM_GET, "/widgets/{", h_dummy, 0, NULL } };

static void test_routing_conflict_between_modules(void **state)
{
    (void)state;
    const fm_module_t a = { "alpha", "Alpha", 7001, 0, FM_ROUTES(dup_routes_a), NULL, NULL, NULL };
    const fm_module_t b = { "beta", "Beta", 7002, 0, FM_ROUTES(dup_routes_b), NULL, NULL, NULL };
    fm_mod_t mods[2];
    memset(mods, 0, sizeof(mods));
    mods[0].def = &a;
    mods[1].def = &b;
    fm_routing_t r;
    char err[512] = "";
    assert_int_not_equal(fm_routing_build(&r, mods, 2, err, sizeof(err)), FM_OK);
    assert_non_null(strstr(err, "conflict"));
    assert_non_null(strstr(err, "alpha"));
    assert_non_null(strstr(err, "beta"));
    /* released on failure: safe to release again */
    assert_null(r.entries);
    fm_routing_release(&r);
}

static void test_routing_local_routes_do_not_conflict(void **state)
{
    (void)state;
    /* the same local route on two ports is fine: it never reaches the API table */
    const fm_module_t a = { "alpha", "Alpha", 7001, 0, FM_ROUTES(local_routes), NULL, NULL, NULL };
    const fm_module_t b = { "beta", "Beta", 7002, 0, FM_ROUTES(local_routes), NULL, NULL, NULL };
    fm_mod_t mods[2];
    memset(mods, 0, sizeof(mods));
    mods[0].def = &a;
    mods[1].def = &b;
    fm_routing_t r;
    char err[512] = "";
    if (fm_routing_build(&r, mods, 2, err, sizeof(err)) != FM_OK)
        fail_msg("%s", err);
    assert_int_equal(r.nports, 2);
    assert_int_equal(r.api.n, 3);   /* /health, /ready, /metrics */
    fm_params_t p;
    unsigned allow;
    const fm_rentry_t *e = fm_rtable_match(&fm_routing_port(&r, 7002)->table, FM_GET, "/widgets/1", &p, &allow);
    assert_non_null(e);
    assert_ptr_equal(e->mod, &mods[1]);
    fm_routing_release(&r);
}

static void test_routing_core_conflict_and_bad_pattern(void **state)
{
    (void)state;
    const fm_module_t h = { "healthy", "H", 7001, 0, FM_ROUTES(health_routes), NULL, NULL, NULL };
    fm_mod_t mod;
    memset(&mod, 0, sizeof(mod));
    mod.def = &h;
    fm_routing_t r;
    char err[512] = "";
    assert_int_not_equal(fm_routing_build(&r, &mod, 1, err, sizeof(err)), FM_OK);
    assert_non_null(strstr(err, "conflict"));
    assert_non_null(strstr(err, "core"));
    assert_non_null(strstr(err, "healthy"));

    const fm_module_t b = { "broken", "B", 7001, 0, FM_ROUTES(bad_routes), NULL, NULL, NULL };
    mod.def = &b;
    err[0] = 0;
    assert_int_not_equal(fm_routing_build(&r, &mod, 1, err, sizeof(err)), FM_OK);
    assert_non_null(strstr(err, "broken"));
    assert_non_null(strstr(err, "/widgets/{"));
}

/* The sealed (indexed by first segment) API table finds exactly what a whole scan of
 * the same entries finds: route, parameters and the 405 allow mask. */
static void test_sealed_index_matches_linear_scan(void **state)
{
    real_t *x = *state;
    const fm_rtable_t *sealed = &x->r.api;
    assert_true(sealed->sealed);
    fm_rtable_t linear = { 0 };
    char err[256];
    for (size_t i = 0; i < sealed->n; i++)
        assert_int_equal(fm_rtable_add(&linear, sealed->v[i], err, sizeof(err)), FM_OK);
    const char *paths[] = {
        "/", "/health", "/ready", "/metrics", "/services", "/services/registry", "/services/x/health",
        "/services/x/heartbeat", "/agents", "/agents/a1", "/agents/a1/invoke", "/agents/a1/learn",
        "/agents/a1/skills", "/views/p1.svg", "/views/p1", "/processes/p/versions/3", "/nope",
        "/api/v1/analyze/t1", "/auth/users/u1", "/.well-known/jwks.json", "/mcp", "/a/b/c/d",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        for (int m = 0; m < FM_METHOD_COUNT; m++) {
            fm_params_t p1, p2;
            unsigned a1, a2;
            const fm_rentry_t *e1 = fm_rtable_match(sealed, (fm_method_t)m, paths[i], &p1, &a1);
            const fm_rentry_t *e2 = fm_rtable_match(&linear, (fm_method_t)m, paths[i], &p2, &a2);
            if (e1 != e2 || a1 != a2)
                fail_msg("%s %s: sealed %p/%x, linear %p/%x", fm_method_name((fm_method_t)m), paths[i],
                         (void *)e1, a1, (void *)e2, a2);
            if (e1) {
                assert_int_equal(p1.n, p2.n);
                for (size_t k = 0; k < p1.n; k++)
                    assert_string_equal(p1.v[k].value, p2.v[k].value);
            }
        }
    }
    fm_rtable_release(&linear);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_index_matches_linear_scan, real_setup, real_teardown),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_compile_good),
        cmocka_unit_test(test_compile_malformed),
        cmocka_unit_test(test_compile_brace_in_suffix),
        cmocka_unit_test(test_match_literal_beats_param),
        cmocka_unit_test(test_match_precedence_left_to_right),
        cmocka_unit_test(test_match_suffix),
        cmocka_unit_test(test_match_tail),
        cmocka_unit_test(test_match_root),
        cmocka_unit_test(test_match_trailing_slash_and_empty_segments),
        cmocka_unit_test(test_match_depth_limit),
        cmocka_unit_test(test_match_405_allow_mask),
        cmocka_unit_test(test_match_many_params),
        cmocka_unit_test(test_conflict_same_shape),
        cmocka_unit_test(test_conflict_suffix_and_literal_shapes),
        cmocka_unit_test(test_no_conflict_other_method),
        cmocka_unit_test(test_table_grows),
        cmocka_unit_test_setup_teardown(test_routing_real_ports, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_routing_real_api, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_routing_real_module_port, real_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_routing_real_webapp, real_setup, real_teardown),
        cmocka_unit_test(test_routing_conflict_between_modules),
        cmocka_unit_test(test_routing_local_routes_do_not_conflict),
        cmocka_unit_test(test_routing_core_conflict_and_bad_pattern),
        /* last: it crashes the binary (a stack overflow in src/fm_router.c) until fixed */
        cmocka_unit_test(test_match_depth_limit_trailing_slash),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
