/*
 * entities_int.h — private to the Legal Entity Service (8014): identifier and date
 * checks (entities_check.c), the store (entities_store.c), the ownership solver for
 * ultimate beneficial owners (entities_ubo.c) and the group structure as a tree or an
 * SVG (entities_chart.c). The routes are in entities.c; docs/entities.md is the contract.
 */
#ifndef ENTITIES_INT_H
#define ENTITIES_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define ENT_SOURCE "/flowmaster/entities"
#define ENT_MAX_IDENTIFIERS 20
#define ENT_MAX_ADDRESSES 10
/* Ownership edges read for one UBO answer; a tenant with more gets a 422 saying so. */
#define ENT_UBO_MAX_EDGES 200000
/* Relationships of one kind held in one entity (owners of a company, say). */
#define ENT_MAX_HOLDERS 1000

/* ---- entities_check.c: pure checks ---- */
/* ISO 17442: 20 characters [0-9A-Z], the last two digits, ISO 7064 MOD 97-10 == 1.
 * why gets the reason when false. */
bool ent_lei_valid(const char *s, char *why, size_t wl);
/* A VAT id: two-letter country prefix (EU style, "EL" for Greece, "XI" Northern
 * Ireland), then 2 to 13 letters or digits; a few countries' exact shapes checked. */
bool ent_vat_valid(const char *s, char *why, size_t wl);
/* 'YYYY-MM-DD' that exists in the proleptic Gregorian calendar. */
bool ent_date_valid(const char *s);
/* Whether a validity window [from, to] (either NULL = open, dates inclusive) holds on day. */
bool ent_valid_on(const char *from, const char *to, const char *day);

/* ---- entities_ubo.c: effective ownership ---- */
typedef struct ent_edge {
    int owner, owned;   /* node indexes */
    double share;       /* 0 < share <= 1 */
} ent_edge_t;

/* x[i] = the effective share node i holds in `target`: the sum over every walk
 * i -> ... -> target of the product of shares, walks ending when they first reach the
 * target (x[target] = 1). Cross-holdings make infinitely many walks: each strongly
 * connected set of holders is solved as the linear system (I - A) x = c exactly (dense
 * elimination up to ENT_UBO_DENSE nodes, Gauss-Seidel beyond), never cut. FM_EINVAL
 * with why set when a cycle keeps all its shares (no outside owner: no finite answer). */
#define ENT_UBO_DENSE 400
int ent_ubo_solve(int n, const ent_edge_t *e, size_t ne, int target, double *x, char *why, size_t wl);

/* The main paths from `from` to `target`: simple paths (no node twice) found depth
 * first up to `max_depth` edges and `budget` expansions, the `keep` largest by product
 * written to out (each a node list ending at target, -1 terminated, at most max_depth+2
 * ints) with their products. Returns how many were written. */
typedef struct ent_path {
    int nodes[16];
    double share;
} ent_path_t;
int ent_ubo_paths(int n, const ent_edge_t *e, size_t ne, int from, int target, ent_path_t *out, int keep);

/* ---- entities_store.c ---- */
typedef struct ent_rel_new {
    const char *tenant, *entity, *owner, *type;
    double percentage;      /* < 0: none */
    const char *from, *to;
} ent_rel_new_t;

/* Creates or replaces an entity: body is the checked request body; *out the stored
 * entity. FM_ECONFLICT with conflict set to "scheme:value" when an identifier belongs to
 * another entity; FM_ESTALE when expect (> 0) is not the revision. */
int ent_insert(fm_db_t *db, const char *tenant, const char *actor, const cJSON *body, cJSON **out,
               char *conflict, size_t cl);
int ent_replace(fm_db_t *db, const char *tenant, const char *actor, const char *id, int expect,
                const cJSON *body, cJSON **out, char *conflict, size_t cl);
int ent_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out);
/* FM_ECONFLICT with *nrel set when relationships name it and cascade is false. */
int ent_delete(fm_db_t *db, const char *tenant, const char *actor, const char *id, int expect, bool cascade,
               int64_t *nrel);

typedef struct ent_filter {
    const char *q, *identifier, *country, *type;
} ent_filter_t;
int ent_list(fm_db_t *db, const char *tenant, const ent_filter_t *f, int offset, int limit, cJSON *items,
             int *total);
int ent_history(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *items,
                int *total);

/* FM_ENOTFOUND when either entity is missing (which one in *missing); FM_EINVAL with why
 * when ownership of the entity would pass 100 % on some day. */
int ent_rel_insert(fm_db_t *db, const ent_rel_new_t *n, const char *actor, cJSON **out, const char **missing,
                   char *why, size_t wl);
int ent_rel_delete(fm_db_t *db, const char *tenant, const char *actor, const char *entity, const char *rel);
/* direction: "owners" (relationships held in id), "holdings" (held by id), "all". day
 * NULL: every relationship whatever its dates. */
int ent_rel_list(fm_db_t *db, const char *tenant, const char *id, const char *direction, const char *type,
                 const char *day, int offset, int limit, cJSON *items, int *total);

/* The ownership graph valid on `day` for the UBO solver: node ids (caller frees each
 * and the array) and edges; FM_ETOOBIG past ENT_UBO_MAX_EDGES. */
int ent_ownership_graph(fm_db_t *db, const char *tenant, const char *day, char ***ids, int *n, ent_edge_t **edges,
                        size_t *ne);
/* name and type of entity id (type NULL when missing). */
int ent_brief(fm_db_t *db, const char *tenant, const char *id, char *name, size_t nl, char *type, size_t tl);

/* ---- entities_chart.c ---- */
/* The group below (direction "down": what id holds) or above ("up": who holds id) on
 * day, as a tree of at most `max_nodes` nodes and `depth` levels; an entity met again
 * (a cycle or two paths) is a leaf with "repeat": true. */
int ent_structure(fm_db_t *db, const char *tenant, const char *id, const char *day, bool up, int depth,
                  int max_nodes, cJSON **tree);
/* The same tree drawn as SVG (caller frees). */
char *ent_structure_svg(const cJSON *tree, size_t *len);

#endif
