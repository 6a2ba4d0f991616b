/*
 * fm_router.h — matching a request to a route: method + path pattern.
 *
 * Patterns are '/'-separated segments: a literal ("services"), a parameter ("{id}"),
 * a parameter with a literal suffix ("{processId}.svg"), or a tail ("{*rest}", last
 * only, matches one or more segments). When several routes match, the more specific
 * wins, segment by segment from the left: literal > suffixed parameter > parameter >
 * tail. Two routes with the same method and the same shape (parameter names aside) in
 * one table are a conflict, reported at start-up.
 *
 * fm_routing_build lays out every port of the running modules: each port's table
 * holds its modules' routes plus GET /health and /ready; the API table (served by the
 * gateway port, by /api/... on web-app ports and by fm_call) holds every module's routes
 * except FM_R_LOCAL ones, plus the core routes and GET /metrics. Built once at start;
 * read-only afterwards, so any thread may match.
 */
#ifndef FM_ROUTER_H
#define FM_ROUTER_H

#include "fm.h"
#include "fm_metrics.h"

#define FM_MAX_SEGS 16
#define FM_MAX_PARAMS 8

typedef struct fm_seg {
    enum { SEG_LIT, SEG_SUFFIX, SEG_PARAM, SEG_TAIL } kind;  /* in order of precedence */
    const char *text;   /* literal, or the suffix of SEG_SUFFIX */
    size_t len;
    const char *name;   /* parameter name (points into the pattern copy) */
} fm_seg_t;

typedef struct fm_rentry {
    const fm_route_t *def;
    fm_mod_t *mod;              /* NULL for core routes */
    const char *module_name;    /* "core" for core routes */
    char *pattern_copy;         /* owns the segment strings */
    int nseg;
    fm_seg_t seg[FM_MAX_SEGS];
    fm_route_stats_t stats;
} fm_rentry_t;

/* Entries whose first segment is the same literal, adjacent in v after fm_rtable_seal. */
typedef struct fm_rbucket {
    const char *lit;
    size_t len, start, count;
} fm_rbucket_t;

typedef struct fm_rtable {
    fm_rentry_t **v;
    size_t n, cap;
    /* Built by fm_rtable_seal: buckets by literal first segment (sorted), then the
     * entries that start with a parameter or have no segment at all. Unsealed tables
     * are scanned whole. */
    fm_rbucket_t *idx;
    size_t nidx, wild_start;
    bool sealed;
} fm_rtable_t;

typedef struct fm_params {
    size_t n;
    struct { const char *name; char *value; } v[FM_MAX_PARAMS];
    char buf[1024];             /* values, NUL-separated */
} fm_params_t;

/* Compiles def->pattern into e; err says what is wrong with the pattern. */
int fm_rentry_init(fm_rentry_t *e, const fm_route_t *def, fm_mod_t *mod, const char *module_name,
                   char *err, size_t errlen);
void fm_rentry_release(fm_rentry_t *e);

/* Adds e (borrowed) to t; FM_ECONFLICT with both owners named in err. */
int fm_rtable_add(fm_rtable_t *t, fm_rentry_t *e, char *err, size_t errlen);
void fm_rtable_release(fm_rtable_t *t);
/* Indexes t by first segment; no fm_rtable_add after it. */
int fm_rtable_seal(fm_rtable_t *t);

/* The best route for method + path, with its parameters. When none matches, returns
 * NULL and *allow gets a bit per method (1u << fm_method_t) that would match the path
 * (0: no route has this path at all → 404; otherwise → 405). */
const fm_rentry_t *fm_rtable_match(const fm_rtable_t *t, fm_method_t method, const char *path,
                                   fm_params_t *params, unsigned *allow);

typedef struct fm_port {
    int port;                   /* canonical */
    fm_mod_t *mods[4];
    size_t nmods;
    bool gateway, webapp;
    fm_rtable_t table;          /* unused for the gateway port: it serves `api` */
} fm_port_t;

typedef struct fm_routing {
    fm_port_t *ports;
    size_t nports;
    fm_rtable_t api;
    fm_rentry_t *entries;       /* every entry, owned */
    size_t nentries;
} fm_routing_t;

/* mods[i].def must be set; err names the conflict or bad pattern. */
int fm_routing_build(fm_routing_t *r, fm_mod_t *mods, size_t nmods, char *err, size_t errlen);
void fm_routing_release(fm_routing_t *r);
const fm_port_t *fm_routing_port(const fm_routing_t *r, int canonical_port);
/* The table a request on port p matches against (the API table for the gateway). */
const fm_rtable_t *fm_port_table(const fm_routing_t *r, const fm_port_t *p);

/* Core handlers (fm_core_routes.c), installed by fm_routing_build. */
extern const fm_route_t fm_core_health, fm_core_ready, fm_core_metrics;

#endif
