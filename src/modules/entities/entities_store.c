/*
 * entities_store.c — the Legal Entity Service's database (migrations/entities/): entities
 * with their identifiers (unique per tenant and scheme), relationships with validity
 * dates, and the history of every change, each write with its bus event in the same
 * transaction. Every query filters on the tenant.
 */
#include "entities_int.h"

#include "../../bus/bus.h"
#include "../../fm_db.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENT_COLS                                                                                                \
    "id, type, name, country, identifiers, addresses, attributes, valid_from AS \"validFrom\", "                \
    "valid_to AS \"validTo\", revision, created_ms AS \"createdAt\", updated_ms AS \"updatedAt\""
#define ENT_HINTS "ssssjjJssitt"

#define REL_COLS                                                                                                \
    "r.id, r.type, r.entity_id AS \"entityId\", e.name AS \"entityName\", r.owner_id AS \"ownerId\", "          \
    "o.name AS \"ownerName\", o.type AS \"ownerType\", r.percentage, r.valid_from AS \"validFrom\", "           \
    "r.valid_to AS \"validTo\", r.created_ms AS \"createdAt\""
#define REL_FROM " FROM relationships r JOIN entities e ON e.id = r.entity_id JOIN entities o ON o.id = r.owner_id "
#define REL_HINTS "sssssssasst"

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static int history_add(fm_dbc_t *w, const char *tenant, const char *entity, const char *action, const char *actor,
                       cJSON *detail)
{
    int rc = fm_dbq_run(w, "INSERT INTO entity_history(tenant_id, entity_id, at_ms, action, actor, detail) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                        "ssIssj", tenant, entity, fm_time_unix_ms(), action, actor, detail);
    cJSON_Delete(detail);
    return rc;
}

static int event(fm_dbc_t *w, const char *type, const char *subject, const char *tenant, const cJSON *data)
{
    return bus_outbox_put_json(w, ENT_SOURCE, type, subject, tenant, data);
}

static void name_key(const char *name, char *out, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

/* Writes the entity's columns and its identifier rows (the caller's transaction). */
static int write_entity(fm_dbc_t *w, const char *tenant, const char *id, const cJSON *b, bool create,
                        char *conflict, size_t cl)
{
    const char *name = str_of(b, "name");
    char key[1024];
    name_key(name, key, sizeof(key));
    const cJSON *ids = cJSON_GetObjectItem(b, "identifiers"), *addr = cJSON_GetObjectItem(b, "addresses");
    const cJSON *attrs = cJSON_GetObjectItem(b, "attributes");
    cJSON *empty_a = cJSON_CreateArray(), *empty_o = cJSON_CreateObject();
    int64_t now = fm_time_unix_ms();
    int rc;
    if (create)
        rc = fm_dbq_run(w,
                        "INSERT INTO entities(id, tenant_id, type, name, name_key, country, identifiers, addresses, "
                        "attributes, valid_from, valid_to, revision, created_ms, updated_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                        "ssssssjjjssII", id, tenant, str_of(b, "type"), name, key,
                        str_of(b, "country"), ids ? ids : empty_a, addr ? addr : empty_a, attrs ? attrs : empty_o,
                        str_of(b, "validFrom"), str_of(b, "validTo"), now, now);
    else
        rc = fm_dbq_run(w,
                        "UPDATE entities SET type = ?, name = ?, name_key = ?, country = ?, identifiers = ?, "
                        "addresses = ?, attributes = ?, valid_from = ?, valid_to = ?, revision = revision + 1, "
                        "updated_ms = ? WHERE tenant_id = ? AND id = ?",
                        "ssssjjjssIss", str_of(b, "type"), name, key, str_of(b, "country"), ids ? ids : empty_a,
                        addr ? addr : empty_a, attrs ? attrs : empty_o, str_of(b, "validFrom"),
                        str_of(b, "validTo"), now, tenant, id);
    cJSON_Delete(empty_a);
    cJSON_Delete(empty_o);
    if (rc == FM_OK && !create)
        rc = fm_dbq_run(w, "DELETE FROM entity_identifiers WHERE tenant_id = ? AND entity_id = ?", "ss", tenant, id);
    const cJSON *x;
    cJSON_ArrayForEach(x, ids)
    {
        if (rc != FM_OK)
            break;
        rc = fm_dbq_run(w, "INSERT INTO entity_identifiers(tenant_id, scheme, value, entity_id) VALUES (?, ?, ?, ?)",
                        "ssss", tenant, str_of(x, "scheme"), str_of(x, "value"), id);
        if (rc == FM_ECONFLICT)
            snprintf(conflict, cl, "%s:%s", str_of(x, "scheme"), str_of(x, "value"));
    }
    return rc;
}

static int read_entity(fm_dbc_t *c, const char *tenant, const char *id, cJSON **out)
{
    return fm_dbq_obj(c, "SELECT " ENT_COLS " FROM entities WHERE tenant_id = ? AND id = ?", ENT_HINTS, out, "ss",
                      tenant, id);
}

int ent_insert(fm_db_t *db, const char *tenant, const char *actor, const cJSON *body, cJSON **out, char *conflict,
               size_t cl)
{
    *out = NULL;
    char id[64];
    fm_id_random("ent", id, sizeof(id));
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = write_entity(w, tenant, id, body, true, conflict, cl);
    if (rc == FM_OK)
        rc = read_entity(w, tenant, id, out);
    if (rc == FM_OK)
        rc = history_add(w, tenant, id, "created", actor, cJSON_Duplicate(*out, true));
    if (rc == FM_OK)
        rc = event(w, "entity.created", id, tenant, *out);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

static int check_revision(fm_dbc_t *w, const char *tenant, const char *id, int expect)
{
    int64_t rev = 0;
    int rc = fm_dbq_int(w, "SELECT revision FROM entities WHERE tenant_id = ? AND id = ?", &rev, "ss", tenant, id);
    if (rc == FM_OK && expect > 0 && rev != expect)
        rc = FM_ESTALE;
    return rc;
}

int ent_replace(fm_db_t *db, const char *tenant, const char *actor, const char *id, int expect, const cJSON *body,
                cJSON **out, char *conflict, size_t cl)
{
    *out = NULL;
    cJSON *before = NULL;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = check_revision(w, tenant, id, expect);
    if (rc == FM_OK)
        rc = read_entity(w, tenant, id, &before);
    if (rc == FM_OK)
        rc = write_entity(w, tenant, id, body, false, conflict, cl);
    if (rc == FM_OK)
        rc = read_entity(w, tenant, id, out);
    if (rc == FM_OK) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddItemToObject(d, "before", before);
        cJSON_AddItemToObject(d, "after", cJSON_Duplicate(*out, true));
        before = NULL;
        rc = history_add(w, tenant, id, "updated", actor, d);
    }
    if (rc == FM_OK)
        rc = event(w, "entity.updated", id, tenant, *out);
    cJSON_Delete(before);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int ent_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out)
{
    return fm_dbq_read_obj(db, "SELECT " ENT_COLS " FROM entities WHERE tenant_id = ? AND id = ?", ENT_HINTS, out,
                           "ss", tenant, id);
}

/* Records on the other side of each relationship of id that it goes away with id. */
static int rel_other_side(const fm_dbrow_t *row, void *arg)
{
    fm_dbc_t *w = arg;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "relationshipId", fm_dbrow_str(row, 0));
    cJSON_AddStringToObject(d, "reason", "the other entity was deleted");
    return history_add(w, fm_dbrow_str(row, 1), fm_dbrow_str(row, 2), "relationship.removed", NULL, d);
}

int ent_delete(fm_db_t *db, const char *tenant, const char *actor, const char *id, int expect, bool cascade,
               int64_t *nrel)
{
    *nrel = 0;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = check_revision(w, tenant, id, expect);
    if (rc == FM_OK)
        rc = fm_dbq_int(w, "SELECT count(*) FROM relationships WHERE tenant_id = ? AND (entity_id = ?2 OR owner_id = ?2)",
                        nrel, "ss", tenant, id);
    if (rc == FM_OK && *nrel > 0 && !cascade)
        rc = FM_ECONFLICT;
    if (rc == FM_OK && *nrel > 0)
        rc = fm_dbq_each(w,
                         "SELECT id, tenant_id, CASE WHEN entity_id = ?2 THEN owner_id ELSE entity_id END "
                         "FROM relationships WHERE tenant_id = ?1 AND (entity_id = ?2 OR owner_id = ?2) "
                         "AND entity_id != owner_id",
                         rel_other_side, w, "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM relationships WHERE tenant_id = ?1 AND (entity_id = ?2 OR owner_id = ?2)",
                        "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM entity_identifiers WHERE tenant_id = ? AND entity_id = ?", "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM entities WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "relationshipsRemoved", (double)*nrel);
        rc = history_add(w, tenant, id, "deleted", actor, d);
    }
    if (rc == FM_OK) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", id);
        rc = event(w, "entity.deleted", id, tenant, d);
        cJSON_Delete(d);
    }
    return fm_dbq_write_end(w, rc);
}

#define LIST_WHERE                                                                                              \
    " FROM entities e WHERE e.tenant_id = ?1 AND (?2 IS NULL OR e.name_key LIKE ?2 ESCAPE '\\') "               \
    "AND (?3 IS NULL OR e.country = ?3) AND (?4 IS NULL OR e.type = ?4) "                                       \
    "AND (?5 IS NULL OR e.id IN (SELECT entity_id FROM entity_identifiers WHERE tenant_id = ?1 AND value = ?5))"

int ent_list(fm_db_t *db, const char *tenant, const ent_filter_t *f, int offset, int limit, cJSON *items, int *total)
{
    /* The name filter is a case-insensitive substring: LIKE's own characters escaped. */
    char like[700] = "";
    if (f->q) {
        char key[300];
        name_key(f->q, key, sizeof(key));
        size_t o = 0;
        like[o++] = '%';
        for (const char *p = key; *p && o + 3 < sizeof(like); p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                like[o++] = '\\';
            like[o++] = *p;
        }
        like[o++] = '%';
        like[o] = '\0';
    }
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" LIST_WHERE,
        .rows_sql = "SELECT e.id, e.type, e.name, e.country, e.identifiers, e.addresses, e.attributes, "
                    "e.valid_from AS \"validFrom\", e.valid_to AS \"validTo\", e.revision, "
                    "e.created_ms AS \"createdAt\", e.updated_ms AS \"updatedAt\"" LIST_WHERE
                    " ORDER BY e.name_key, e.id LIMIT ? OFFSET ?",
        .hints = ENT_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "sssss", tenant, f->q ? like : NULL, f->country, f->type,
                            f->identifier);
}

int ent_history(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *items, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM entity_history WHERE tenant_id = ? AND entity_id = ?",
        .rows_sql = "SELECT seq, at_ms AS \"at\", action, actor, detail FROM entity_history "
                    "WHERE tenant_id = ? AND entity_id = ? ORDER BY seq LIMIT ? OFFSET ?",
        .hints = "itssJ", .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "ss", tenant, id);
}

/* ---- relationships ---- */

typedef struct holding {
    double pct;
    char from[11], to[11];
    bool has_from, has_to;
} holding_t;

typedef struct holdings {
    holding_t *h;
    int n, cap;
} holdings_t;

static int holding_row(const fm_dbrow_t *row, void *arg)
{
    holdings_t *hs = arg;
    if (hs->n == hs->cap)
        return FM_ETOOBIG;
    holding_t *h = &hs->h[hs->n++];
    h->pct = fm_dbrow_double(row, 0);
    h->has_from = !fm_dbrow_null(row, 1);
    h->has_to = !fm_dbrow_null(row, 2);
    fm_dbrow_copy(row, 1, h->from, sizeof(h->from));
    fm_dbrow_copy(row, 2, h->to, sizeof(h->to));
    return FM_OK;
}

/* Whether adding pct over [from, to] keeps the entity's ownership at or under 100 % on
 * every day: the sum can only peak on a day some window starts, so those days are tried. */
static int ownership_room(fm_dbc_t *w, const ent_rel_new_t *n, char *why, size_t wl)
{
    holdings_t hs = { calloc(ENT_MAX_HOLDERS, sizeof(holding_t)), 0, ENT_MAX_HOLDERS };
    if (!hs.h)
        return FM_ENOMEM;
    int rc = fm_dbq_each(w,
                         "SELECT percentage, valid_from, valid_to FROM relationships WHERE tenant_id = ? "
                         "AND entity_id = ? AND type = 'ownership' AND (? IS NULL OR valid_to IS NULL OR valid_to >= ?3) "
                         "AND (? IS NULL OR valid_from IS NULL OR valid_from <= ?4)",
                         holding_row, &hs, "ssss", n->tenant, n->entity, n->from, n->to);
    if (rc == FM_ETOOBIG) {
        snprintf(why, wl, "an entity has at most %d ownership relationships", ENT_MAX_HOLDERS);
        rc = FM_EINVAL;
    }
    for (int i = -1; i < hs.n && rc == FM_OK; i++) {
        /* Candidate day: the new window's start (or "the beginning"), then each start inside it. */
        const char *day = i < 0 ? (n->from ? n->from : "0000-01-01") : hs.h[i].has_from ? hs.h[i].from : NULL;
        if (!day || !ent_valid_on(n->from, n->to, day))
            continue;
        double sum = n->percentage;
        for (int k = 0; k < hs.n; k++)
            if (ent_valid_on(hs.h[k].has_from ? hs.h[k].from : NULL, hs.h[k].has_to ? hs.h[k].to : NULL, day))
                sum += hs.h[k].pct;
        if (sum > 100.0 + 1e-9) {
            snprintf(why, wl, "ownership of this entity would reach %.6g %% on %s (at most 100 %%)", sum,
                     strcmp(day, "0000-01-01") ? day : "the start of this relationship");
            rc = FM_EINVAL;
        }
    }
    free(hs.h);
    return rc;
}

int ent_rel_insert(fm_db_t *db, const ent_rel_new_t *n, const char *actor, cJSON **out, const char **missing,
                   char *why, size_t wl)
{
    *out = NULL;
    *missing = NULL;
    char id[64];
    fm_id_random("rel", id, sizeof(id));
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t one = 0, count = 0;
    int rc = fm_dbq_int(w, "SELECT 1 FROM entities WHERE tenant_id = ? AND id = ?", &one, "ss", n->tenant, n->entity);
    if (rc == FM_ENOTFOUND)
        *missing = n->entity;
    if (rc == FM_OK) {
        rc = fm_dbq_int(w, "SELECT 1 FROM entities WHERE tenant_id = ? AND id = ?", &one, "ss", n->tenant, n->owner);
        if (rc == FM_ENOTFOUND)
            *missing = n->owner;
    }
    if (rc == FM_OK)
        rc = fm_dbq_int(w, "SELECT count(*) FROM relationships WHERE tenant_id = ? AND entity_id = ?", &count, "ss",
                        n->tenant, n->entity);
    if (rc == FM_OK && count >= 5 * ENT_MAX_HOLDERS) {
        snprintf(why, wl, "an entity has at most %d relationships", 5 * ENT_MAX_HOLDERS);
        rc = FM_EINVAL;
    }
    if (rc == FM_OK && !strcmp(n->type, "ownership"))
        rc = ownership_room(w, n, why, wl);
    if (rc == FM_OK) {
        if (n->percentage >= 0)
            rc = fm_dbq_run(w,
                            "INSERT INTO relationships(id, tenant_id, entity_id, owner_id, type, percentage, valid_from, "
                            "valid_to, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            "sssssdssI", id, n->tenant, n->entity, n->owner, n->type, n->percentage, n->from, n->to,
                            fm_time_unix_ms());
        else
            rc = fm_dbq_run(w,
                            "INSERT INTO relationships(id, tenant_id, entity_id, owner_id, type, percentage, valid_from, "
                            "valid_to, created_ms) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                            "sssssssI", id, n->tenant, n->entity, n->owner, n->type, n->from, n->to,
                            fm_time_unix_ms());
    }
    if (rc == FM_OK)
        rc = fm_dbq_obj(w, "SELECT " REL_COLS REL_FROM "WHERE r.tenant_id = ? AND r.id = ?", REL_HINTS, out, "ss",
                        n->tenant, id);
    if (rc == FM_OK)
        rc = history_add(w, n->tenant, n->entity, "relationship.added", actor, cJSON_Duplicate(*out, true));
    if (rc == FM_OK)
        rc = history_add(w, n->tenant, n->owner, "relationship.added", actor, cJSON_Duplicate(*out, true));
    if (rc == FM_OK)
        rc = event(w, "entity.relationship.added", n->entity, n->tenant, *out);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int ent_rel_delete(fm_db_t *db, const char *tenant, const char *actor, const char *entity, const char *rel)
{
    cJSON *old = NULL;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_obj(w,
                        "SELECT " REL_COLS REL_FROM
                        "WHERE r.tenant_id = ?1 AND r.id = ?2 AND (r.entity_id = ?3 OR r.owner_id = ?3)",
                        REL_HINTS, &old, "sss", tenant, rel, entity);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM relationships WHERE tenant_id = ? AND id = ?", "ss", tenant, rel);
    if (rc == FM_OK)
        rc = history_add(w, tenant, str_of(old, "entityId"), "relationship.removed", actor, cJSON_Duplicate(old, true));
    if (rc == FM_OK)
        rc = history_add(w, tenant, str_of(old, "ownerId"), "relationship.removed", actor, cJSON_Duplicate(old, true));
    if (rc == FM_OK)
        rc = event(w, "entity.relationship.removed", str_of(old, "entityId"), tenant, old);
    cJSON_Delete(old);
    return fm_dbq_write_end(w, rc);
}

int ent_rel_list(fm_db_t *db, const char *tenant, const char *id, const char *direction, const char *type,
                 const char *day, int offset, int limit, cJSON *items, int *total)
{
#define REL_WHERE                                                                                               \
    "WHERE r.tenant_id = ?1 AND ((?2 IN ('owners', 'all') AND r.entity_id = ?3) "                               \
    "OR (?2 IN ('holdings', 'all') AND r.owner_id = ?3)) AND (?4 IS NULL OR r.type = ?4) "                      \
    "AND (?5 IS NULL OR ((r.valid_from IS NULL OR r.valid_from <= ?5) AND (r.valid_to IS NULL OR ?5 <= r.valid_to)))"
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM relationships r " REL_WHERE,
        .rows_sql = "SELECT " REL_COLS REL_FROM REL_WHERE " ORDER BY r.created_ms, r.id LIMIT ? OFFSET ?",
        .hints = REL_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "sssss", tenant, direction, id, type, day);
#undef REL_WHERE
}

/* ---- the ownership graph ---- */

typedef struct graph_rows {
    char **a, **b;      /* held, holder */
    double *pct;
    size_t n, cap;
} graph_rows_t;

static int graph_row(const fm_dbrow_t *row, void *arg)
{
    graph_rows_t *g = arg;
    if (g->n == g->cap)
        return FM_ETOOBIG;
    g->a[g->n] = fm_dbrow_dup(row, 0);
    g->b[g->n] = fm_dbrow_dup(row, 1);
    g->pct[g->n] = fm_dbrow_double(row, 2);
    if (!g->a[g->n] || !g->b[g->n]) {
        free(g->a[g->n]);
        free(g->b[g->n]);
        return FM_ENOMEM;
    }
    g->n++;
    return FM_OK;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int index_of(char **ids, int n, const char *id)
{
    char **hit = bsearch(&id, ids, (size_t)n, sizeof(char *), cmp_str);
    return hit ? (int)(hit - ids) : -1;
}

int ent_ownership_graph(fm_db_t *db, const char *tenant, const char *day, char ***ids_out, int *n_out,
                        ent_edge_t **edges_out, size_t *ne_out)
{
    *ids_out = NULL;
    *edges_out = NULL;
    *n_out = 0;
    *ne_out = 0;
    int64_t count = 0;
    int rc = fm_dbq_read_int(db,
                             "SELECT count(*) FROM relationships WHERE tenant_id = ? AND type = 'ownership' "
                             "AND (valid_from IS NULL OR valid_from <= ?2) AND (valid_to IS NULL OR ?2 <= valid_to)",
                             &count, "ss", tenant, day);
    if (rc != FM_OK)
        return rc;
    if (count > ENT_UBO_MAX_EDGES)
        return FM_ETOOBIG;
    size_t cap = (size_t)count + 1;
    graph_rows_t g = { calloc(cap, sizeof(char *)), calloc(cap, sizeof(char *)), calloc(cap, sizeof(double)), 0, cap };
    char **ids = calloc(2 * cap, sizeof(char *));
    ent_edge_t *edges = calloc(cap, sizeof(ent_edge_t));
    if (!g.a || !g.b || !g.pct || !ids || !edges)
        rc = FM_ENOMEM;
    if (rc == FM_OK)
        rc = fm_dbq_read_each(db,
                              "SELECT entity_id, owner_id, percentage FROM relationships WHERE tenant_id = ? "
                              "AND type = 'ownership' AND (valid_from IS NULL OR valid_from <= ?2) "
                              "AND (valid_to IS NULL OR ?2 <= valid_to)",
                              graph_row, &g, "ss", tenant, day);
    int n = 0;
    if (rc == FM_OK) {
        /* Node ids: the distinct ends of the edges, sorted, then found by bsearch. */
        char **all = calloc(2 * g.n + 1, sizeof(char *));
        if (!all)
            rc = FM_ENOMEM;
        for (size_t i = 0; rc == FM_OK && i < g.n; i++) {
            all[2 * i] = g.a[i];
            all[2 * i + 1] = g.b[i];
        }
        if (rc == FM_OK) {
            qsort(all, 2 * g.n, sizeof(char *), cmp_str);
            for (size_t i = 0; i < 2 * g.n && rc == FM_OK; i++)
                if (!n || strcmp(ids[n - 1], all[i])) {
                    ids[n] = strdup(all[i]);
                    if (!ids[n])
                        rc = FM_ENOMEM;
                    else
                        n++;
                }
        }
        free(all);
        for (size_t i = 0; rc == FM_OK && i < g.n; i++) {
            edges[i].owned = index_of(ids, n, g.a[i]);
            edges[i].owner = index_of(ids, n, g.b[i]);
            edges[i].share = g.pct[i] / 100.0;
        }
    }
    for (size_t i = 0; i < g.n; i++) {
        free(g.a[i]);
        free(g.b[i]);
    }
    free(g.a);
    free(g.b);
    free(g.pct);
    if (rc != FM_OK) {
        for (int i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
        free(edges);
        return rc;
    }
    *ids_out = ids;
    *n_out = n;
    *edges_out = edges;
    *ne_out = g.n;
    return FM_OK;
}

typedef struct brief {
    char *name, *type;
    size_t nl, tl;
} brief_t;

static int brief_row(const fm_dbrow_t *row, void *arg)
{
    brief_t *b = arg;
    fm_dbrow_copy(row, 0, b->name, b->nl);
    fm_dbrow_copy(row, 1, b->type, b->tl);
    return FM_OK;
}

int ent_brief(fm_db_t *db, const char *tenant, const char *id, char *name, size_t nl, char *type, size_t tl)
{
    brief_t b = { name, type, nl, tl };
    return fm_dbq_read_one(db, "SELECT name, type FROM entities WHERE tenant_id = ? AND id = ?", brief_row, &b, "ss",
                           tenant, id);
}
