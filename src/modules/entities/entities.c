/*
 * entities.c — Legal Entity Service (8014): the routes. Entities (companies, persons,
 * trusts, partnerships) with identifiers, addresses and validity; relationships
 * (ownership, control, director, branch) with validity dates; ultimate beneficial owners
 * (entities_ubo.c); the group structure as a tree or an SVG (entities_chart.c); the
 * history of changes. Bodies are checked here field by field; docs/entities.md is the
 * contract.
 */
#include "entities_int.h"

#include "../../auth/fm_auth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *actor_of(fm_req_t *r)
{
    const fm_principal_t *p = fm_req_principal(r);
    return p ? p->sub : NULL;
}

static void today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void etag(fm_req_t *r, const cJSON *item)
{
    char e[32];
    snprintf(e, sizeof(e), "\"r%d\"", cJSON_GetObjectItem(item, "revision")->valueint);
    fm_reply_header(r, "ETag", e);
}

static int reply_stale(fm_req_t *r)
{
    return fm_reply_problem(r, 412, NULL, NULL, NULL,
                            "the entity changed since that ETag was read; read it again and repeat the change");
}

static int reply_no_entity(fm_req_t *r, const char *id)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no legal entity '%s' in this tenant", id);
}

/* ?asOf=YYYY-MM-DD (default today, UTC) into day; false after answering 422. */
static bool as_of(fm_req_t *r, char day[11])
{
    char buf[64];
    const char *q = fm_req_query(r, "asOf", buf, sizeof(buf));
    if (!q) {
        today(day);
        return true;
    }
    if (!ent_date_valid(q)) {
        fm_reply_invalid(r, "asOf", "must be a calendar date YYYY-MM-DD");
        return false;
    }
    memcpy(day, q, 11);
    return true;
}

/* ---- checking an entity body ---- */

static bool one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static bool check_date_field(fm_req_t *r, const cJSON *o, const char *k, const char *where)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsString(v) || !ent_date_valid(v->valuestring)) {
        char f[64];
        snprintf(f, sizeof(f), "%s%s", where, k);
        fm_reply_invalid(r, f, "must be a calendar date YYYY-MM-DD");
        return false;
    }
    return true;
}

static bool check_window(fm_req_t *r, const cJSON *o, const char *where)
{
    if (!check_date_field(r, o, "validFrom", where) || !check_date_field(r, o, "validTo", where))
        return false;
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(o, "validFrom"));
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(o, "validTo"));
    if (f && t && strcmp(f, t) > 0) {
        char fld[64];
        snprintf(fld, sizeof(fld), "%svalidTo", where);
        fm_reply_invalid(r, fld, "must not be before validFrom");
        return false;
    }
    return true;
}

static bool check_identifiers(fm_req_t *r, const cJSON *ids)
{
    if (!ids)
        return true;
    if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > ENT_MAX_IDENTIFIERS) {
        fm_reply_invalid(r, "identifiers", "must be an array of at most 20 {\"scheme\", \"value\"} objects");
        return false;
    }
    static const char *const known[] = { "scheme", "value", "authority", NULL };
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, ids)
    {
        char f[64], why[200];
        snprintf(f, sizeof(f), "identifiers/%d/", i);
        if (!cJSON_IsObject(x)) {
            f[strlen(f) - 1] = '\0';
            return fm_reply_invalid(r, f, "must be an object {\"scheme\", \"value\"}"), false;
        }
        if (!fm_req_members_known(r, x, f, known, "docs/entities.md"))
            return false;
        const char *scheme = cJSON_GetStringValue(cJSON_GetObjectItem(x, "scheme"));
        const char *value = cJSON_GetStringValue(cJSON_GetObjectItem(x, "value"));
        const char *auth = cJSON_GetStringValue(cJSON_GetObjectItem(x, "authority"));
        snprintf(f, sizeof(f), "identifiers/%d/scheme", i);
        if (!scheme || !*scheme || strlen(scheme) > 16 ||
            strspn(scheme, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(scheme))
            return fm_reply_invalid(r, f, "required: 1 to 16 capital letters, digits, '_' or '-' (LEI, VAT, REG, …)"),
                   false;
        snprintf(f, sizeof(f), "identifiers/%d/value", i);
        if (!value || !*value || strlen(value) > 64 || !printable(value))
            return fm_reply_invalid(r, f, "required: 1 to 64 printable characters"), false;
        if (!strcmp(scheme, "LEI") && !ent_lei_valid(value, why, sizeof(why)))
            return fm_reply_invalid(r, f, why), false;
        if (!strcmp(scheme, "VAT") && !ent_vat_valid(value, why, sizeof(why)))
            return fm_reply_invalid(r, f, why), false;
        snprintf(f, sizeof(f), "identifiers/%d/authority", i);
        if (cJSON_GetObjectItem(x, "authority") && (!auth || strlen(auth) > 200 || !printable(auth)))
            return fm_reply_invalid(r, f, "must be a string of at most 200 characters"), false;
        /* The same scheme and value twice in one body is a mistake, not two identifiers. */
        for (const cJSON *y = ids->child; y != x; y = y->next)
            if (!strcmp(scheme, cJSON_GetStringValue(cJSON_GetObjectItem(y, "scheme"))) &&
                !strcmp(value, cJSON_GetStringValue(cJSON_GetObjectItem(y, "value")))) {
                snprintf(f, sizeof(f), "identifiers/%d", i);
                return fm_reply_invalid(r, f, "the same identifier is listed twice"), false;
            }
        i++;
    }
    return true;
}

static bool check_addresses(fm_req_t *r, const cJSON *a)
{
    if (!a)
        return true;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > ENT_MAX_ADDRESSES) {
        fm_reply_invalid(r, "addresses", "must be an array of at most 10 address objects");
        return false;
    }
    static const char *const known[] = { "type", "street", "city", "postalCode", "region", "country", NULL };
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        char f[64];
        snprintf(f, sizeof(f), "addresses/%d/", i);
        if (!cJSON_IsObject(x)) {
            f[strlen(f) - 1] = '\0';
            return fm_reply_invalid(r, f, "must be an object"), false;
        }
        if (!fm_req_members_known(r, x, f, known, "docs/entities.md"))
            return false;
        const cJSON *m;
        cJSON_ArrayForEach(m, x)
        {
            snprintf(f, sizeof(f), "addresses/%d/%s", i, m->string);
            if (!cJSON_IsString(m) || strlen(m->valuestring) > 200 || !printable(m->valuestring))
                return fm_reply_invalid(r, f, "must be a string of at most 200 printable characters"), false;
        }
        i++;
    }
    return true;
}

static bool country_code(const char *c)
{
    return c && strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z';
}

static const char *const entity_types[] = { "company", "person", "trust", "partnership", NULL };

/* The whole body of POST /entities or PUT /entities/{id}; false after answering 422. */
static bool check_entity(fm_req_t *r, const cJSON *j)
{
    static const char *const known[] = { "type",  "name",      "country",  "identifiers", "addresses",
                                         "attributes", "validFrom", "validTo", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/entities.md"))
        return false;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
    if (!one_of(type, entity_types))
        return fm_reply_invalid(r, "type", "required: \"company\", \"person\", \"trust\" or \"partnership\""), false;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "name"));
    if (!name || !*name || strlen(name) > 300 || !printable(name))
        return fm_reply_invalid(r, "name", "required: 1 to 300 printable characters"), false;
    const cJSON *country = cJSON_GetObjectItem(j, "country");
    if (country && !country_code(cJSON_GetStringValue(country)))
        return fm_reply_invalid(r, "country", "must be an ISO 3166-1 alpha-2 code in capitals (\"DE\")"), false;
    const cJSON *attrs = cJSON_GetObjectItem(j, "attributes");
    if (attrs) {
        if (!cJSON_IsObject(attrs))
            return fm_reply_invalid(r, "attributes", "must be an object"), false;
        char *t = cJSON_PrintUnformatted(attrs);
        size_t n = t ? strlen(t) : 0;
        cJSON_free(t);
        if (n > 16384)
            return fm_reply_invalid(r, "attributes", "must be at most 16384 bytes as JSON"), false;
    }
    return check_identifiers(r, cJSON_GetObjectItem(j, "identifiers")) &&
           check_addresses(r, cJSON_GetObjectItem(j, "addresses")) && check_window(r, j, "");
}

static int reply_identifier_taken(fm_req_t *r, const char *conflict)
{
    return fm_reply_problem(r, 409, NULL, NULL, NULL, "identifier %s belongs to another entity of this tenant",
                            conflict);
}

/* ---- entities ---- */

/* The answer of a store call that gives an entity back: the entity with its ETag, or
 * the problem for its error. */
static int reply_entity(fm_req_t *r, int rc, const char *id, cJSON *item, const char *conflict, int status)
{
    if (rc == FM_ENOTFOUND)
        return reply_no_entity(r, id);
    if (rc == FM_ESTALE)
        return reply_stale(r);
    if (rc == FM_ECONFLICT)
        return reply_identifier_taken(r, conflict);
    if (rc != FM_OK)
        return rc;
    if (status == 201) {
        char loc[128];
        snprintf(loc, sizeof(loc), "/entities/%s", cJSON_GetObjectItem(item, "id")->valuestring);
        fm_reply_header(r, "Location", loc);
    }
    etag(r, item);
    return fm_reply_json(r, status, item);
}

static int create(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    if (!check_entity(r, j))
        return FM_OK;
    cJSON *item = NULL;
    char conflict[100] = "";
    int rc = ent_insert(db_of(r), fm_req_tenant(r), actor_of(r), j, &item, conflict, sizeof(conflict));
    return reply_entity(r, rc, NULL, item, conflict, 201);
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char qb[400], ib[100], cb[8], tb[32];
    ent_filter_t f = {
        fm_req_query(r, "q", qb, sizeof(qb)),
        fm_req_query(r, "identifier", ib, sizeof(ib)),
        fm_req_query(r, "country", cb, sizeof(cb)),
        fm_req_query(r, "type", tb, sizeof(tb)),
    };
    if (f.q && strlen(f.q) > 300)
        return fm_reply_invalid(r, "q", "at most 300 characters");
    if (f.identifier && strlen(f.identifier) > 64)
        return fm_reply_invalid(r, "identifier", "at most 64 characters");
    if (f.country && !country_code(f.country))
        return fm_reply_invalid(r, "country", "must be an ISO 3166-1 alpha-2 code in capitals");
    if (f.type && !one_of(f.type, entity_types))
        return fm_reply_invalid(r, "type", "must be company, person, trust or partnership");
    cJSON *items = cJSON_CreateArray();
    int rc = ent_list(db_of(r), fm_req_tenant(r), &f, offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int get(fm_req_t *r)
{
    cJSON *item = NULL;
    int rc = ent_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &item);
    return reply_entity(r, rc, fm_req_param(r, "id"), item, NULL, 200);
}

static int update(fm_req_t *r)
{
    int rev = fm_req_if_match_rev(r, "entity");
    if (rev < 0)
        return FM_OK;
    cJSON *j = fm_req_json(r);
    if (!check_entity(r, j))
        return FM_OK;
    cJSON *item = NULL;
    char conflict[100] = "";
    const char *id = fm_req_param(r, "id");
    int rc = ent_replace(db_of(r), fm_req_tenant(r), actor_of(r), id, rev, j, &item, conflict, sizeof(conflict));
    return reply_entity(r, rc, id, item, conflict, 200);
}

static int delete_(fm_req_t *r)
{
    int rev = fm_req_if_match_rev(r, "entity");
    if (rev < 0)
        return FM_OK;
    char cb[16];
    const char *cascade = fm_req_query(r, "cascade", cb, sizeof(cb));
    if (cascade && strcmp(cascade, "true") && strcmp(cascade, "false"))
        return fm_reply_invalid(r, "cascade", "must be true or false");
    const char *id = fm_req_param(r, "id");
    int64_t nrel = 0;
    int rc = ent_delete(db_of(r), fm_req_tenant(r), actor_of(r), id, rev, cascade && !strcmp(cascade, "true"), &nrel);
    if (rc == FM_ENOTFOUND)
        return reply_no_entity(r, id);
    if (rc == FM_ESTALE)
        return reply_stale(r);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL,
                                "'%s' has %lld relationships; remove them first or delete with ?cascade=true", id,
                                (long long)nrel);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static int history(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = ent_history(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), offset, limit, items, &total);
    if (rc == FM_OK && total == 0) {
        cJSON_Delete(items);
        return reply_no_entity(r, fm_req_param(r, "id"));
    }
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

/* ---- relationships ---- */

static const char *const rel_types[] = { "ownership", "control", "director", "branch", NULL };

static int rel_create(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    static const char *const known[] = { "type", "ownerId", "percentage", "validFrom", "validTo", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/entities.md"))
        return FM_OK;
    const char *id = fm_req_param(r, "id");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
    const char *owner = cJSON_GetStringValue(cJSON_GetObjectItem(j, "ownerId"));
    const cJSON *pct = cJSON_GetObjectItem(j, "percentage");
    if (!one_of(type, rel_types))
        return fm_reply_invalid(r, "type", "required: \"ownership\", \"control\", \"director\" or \"branch\"");
    if (!owner || !*owner || strlen(owner) > 64)
        return fm_reply_invalid(r, "ownerId", "required: the id of the entity holding the share or the role");
    if (!strcmp(owner, id))
        return fm_reply_invalid(r, "ownerId", "an entity cannot hold a relationship in itself");
    bool ownership = !strcmp(type, "ownership");
    if (ownership && (!cJSON_IsNumber(pct) || !(pct->valuedouble > 0.0) || pct->valuedouble > 100.0))
        return fm_reply_invalid(r, "percentage", "required for ownership: a number above 0 and at most 100");
    if (!ownership && pct && !cJSON_IsNull(pct) &&
        (!cJSON_IsNumber(pct) || pct->valuedouble < 0.0 || pct->valuedouble > 100.0))
        return fm_reply_invalid(r, "percentage", "must be a number from 0 to 100 (voting share of a control)");
    if (!check_window(r, j, ""))
        return FM_OK;
    char name[400], etype[32];
    int rc = ent_brief(db_of(r), fm_req_tenant(r), id, name, sizeof(name), etype, sizeof(etype));
    if (rc == FM_ENOTFOUND)
        return reply_no_entity(r, id);
    if (rc != FM_OK)
        return rc;
    if (ownership && !strcmp(etype, "person"))
        return fm_reply_invalid(r, "type", "a natural person cannot be owned; use control or director");
    ent_rel_new_t n = {
        fm_req_tenant(r), id, owner, type, cJSON_IsNumber(pct) ? pct->valuedouble : -1.0,
        cJSON_GetStringValue(cJSON_GetObjectItem(j, "validFrom")), cJSON_GetStringValue(cJSON_GetObjectItem(j, "validTo")),
    };
    cJSON *item = NULL;
    const char *missing = NULL;
    char why[200] = "";
    rc = ent_rel_insert(db_of(r), &n, actor_of(r), &item, &missing, why, sizeof(why));
    if (rc == FM_ENOTFOUND && missing == id)
        return reply_no_entity(r, id);
    if (rc == FM_ENOTFOUND)
        return fm_reply_invalid(r, "ownerId", "no legal entity with this id in this tenant");
    if (rc == FM_EINVAL)
        return fm_reply_invalid(r, ownership ? "percentage" : "type", why);
    if (rc != FM_OK)
        return rc;
    char loc[200];
    snprintf(loc, sizeof(loc), "/entities/%s/relationships/%s", id, cJSON_GetObjectItem(item, "id")->valuestring);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, item);
}

static int rel_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    char db_[16], tb[32], ab[64], day[11];
    const char *dir = fm_req_query(r, "direction", db_, sizeof(db_));
    const char *type = fm_req_query(r, "type", tb, sizeof(tb));
    static const char *const dirs[] = { "owners", "holdings", "all", NULL };
    if (dir && !one_of(dir, dirs))
        return fm_reply_invalid(r, "direction", "must be owners, holdings or all");
    if (type && !one_of(type, rel_types))
        return fm_reply_invalid(r, "type", "must be ownership, control, director or branch");
    /* Without asOf every relationship is listed whatever its dates. */
    const char *asof = fm_req_query(r, "asOf", ab, sizeof(ab));
    if (asof && !as_of(r, day))
        return FM_OK;
    const char *id = fm_req_param(r, "id");
    char name[400], etype[32];
    int rc = ent_brief(db_of(r), fm_req_tenant(r), id, name, sizeof(name), etype, sizeof(etype));
    if (rc == FM_ENOTFOUND)
        return reply_no_entity(r, id);
    if (rc != FM_OK)
        return rc;
    cJSON *items = cJSON_CreateArray();
    rc = ent_rel_list(db_of(r), fm_req_tenant(r), id, dir ? dir : "all", type, asof ? day : NULL, offset, limit, items,
                      &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int rel_delete(fm_req_t *r)
{
    int rc = ent_rel_delete(db_of(r), fm_req_tenant(r), actor_of(r), fm_req_param(r, "id"), fm_req_param(r, "relId"));
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no relationship '%s' of entity '%s'",
                                fm_req_param(r, "relId"), fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- ultimate beneficial owners ---- */

static double round6(double v)
{
    return round(v * 1e6) / 1e6;
}

static cJSON *path_json(fm_req_t *r, char **ids, const ent_path_t *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "percentage", round6(p->share * 100.0));
    cJSON *nodes = cJSON_AddArrayToObject(o, "entities");
    for (int i = 0; i < 16 && p->nodes[i] >= 0; i++) {
        char name[400] = "", type[32];
        ent_brief(db_of(r), fm_req_tenant(r), ids[p->nodes[i]], name, sizeof(name), type, sizeof(type));
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", ids[p->nodes[i]]);
        cJSON_AddStringToObject(e, "name", name);
        cJSON_AddItemToArray(nodes, e);
    }
    return o;
}

static int cmp_pct_desc(const void *a, const void *b)
{
    double x = cJSON_GetObjectItem(*(cJSON *const *)a, "percentage")->valuedouble;
    double y = cJSON_GetObjectItem(*(cJSON *const *)b, "percentage")->valuedouble;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Moves the items of arr into descending order of "percentage". */
static void sort_by_pct(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    if (n < 2)
        return;
    cJSON **v = malloc((size_t)n * sizeof(*v));
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        v[i] = cJSON_DetachItemFromArray(arr, 0);
    qsort(v, (size_t)n, sizeof(*v), cmp_pct_desc);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, v[i]);
    free(v);
}

static int ubo(fm_req_t *r)
{
    char day[11], tb[32];
    if (!as_of(r, day))
        return FM_OK;
    const char *t = fm_req_query(r, "threshold", tb, sizeof(tb));
    char *end = NULL;
    double threshold = t ? strtod(t, &end) : 25.0;
    if (t && (end == t || *end || !(threshold > 0.0) || threshold > 100.0))
        return fm_reply_invalid(r, "threshold", "must be a percentage above 0 and at most 100");
    const char *id = fm_req_param(r, "id");
    char name[400], type[32];
    int rc = ent_brief(db_of(r), fm_req_tenant(r), id, name, sizeof(name), type, sizeof(type));
    if (rc == FM_ENOTFOUND)
        return reply_no_entity(r, id);
    if (rc != FM_OK)
        return rc;
    char **ids = NULL;
    int n = 0;
    ent_edge_t *edges = NULL;
    size_t ne = 0;
    rc = ent_ownership_graph(db_of(r), fm_req_tenant(r), day, &ids, &n, &edges, &ne);
    if (rc == FM_ETOOBIG)
        return fm_reply_problem(r, 422, NULL, NULL, NULL,
                                "this tenant has more than %d ownership relationships valid on %s; UBO answers are "
                                "bounded to that many",
                                ENT_UBO_MAX_EDGES, day);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "entityId", id);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "asOf", day);
    cJSON_AddNumberToObject(o, "threshold", threshold);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    cJSON *unresolved = cJSON_AddArrayToObject(o, "unresolved");
    int target = -1;
    for (int i = 0; i < n && target < 0; i++)
        if (!strcmp(ids[i], id))
            target = i;
    double *x = target >= 0 ? calloc((size_t)n, sizeof(double)) : NULL;
    char why[300] = "";
    if (target >= 0 && !x)
        rc = FM_ENOMEM;
    if (x)
        rc = ent_ubo_solve(n, edges, ne, target, x, why, sizeof(why));
    /* Holders with nobody above them: persons are owners; anything else reaching the
     * threshold is "unresolved" (its own owners are not recorded). */
    unsigned char *held = x ? calloc((size_t)n, 1) : NULL;
    if (x && !held)
        rc = FM_ENOMEM;
    for (size_t k = 0; held && k < ne; k++)
        held[edges[k].owned] = 1;
    for (int i = 0; rc == FM_OK && x && i < n; i++) {
        /* A held entity is an intermediate holder (persons cannot be held): its owners
         * are counted through it, so only the tops of the chains are read. */
        if (i == target || x[i] * 100.0 < threshold - 1e-9 || held[i])
            continue;
        char nm[400] = "", ty[32] = "";
        if (ent_brief(db_of(r), fm_req_tenant(r), ids[i], nm, sizeof(nm), ty, sizeof(ty)) != FM_OK)
            continue;
        bool person = !strcmp(ty, "person");
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "entityId", ids[i]);
        cJSON_AddStringToObject(it, "name", nm);
        cJSON_AddStringToObject(it, "type", ty);
        cJSON_AddNumberToObject(it, "percentage", round6(x[i] * 100.0));
        ent_path_t paths[5];
        int np = ent_ubo_paths(n, edges, ne, i, target, paths, 5);
        cJSON *pa = cJSON_AddArrayToObject(it, "paths");
        for (int k = 0; k < np; k++)
            cJSON_AddItemToArray(pa, path_json(r, ids, &paths[k]));
        cJSON_AddItemToArray(person ? items : unresolved, it);
    }
    sort_by_pct(items);
    sort_by_pct(unresolved);
    free(held);
    free(x);
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(edges);
    if (rc == FM_EINVAL) {
        cJSON_Delete(o);
        return fm_reply_problem(r, 422, NULL, NULL, NULL, "%s", why);
    }
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    return fm_reply_json(r, 200, o);
}

/* ---- group structure ---- */

static int structure(fm_req_t *r)
{
    char day[11], db_[16], fb[16], lb[16];
    if (!as_of(r, day))
        return FM_OK;
    const char *dir = fm_req_query(r, "direction", db_, sizeof(db_));
    const char *fmt = fm_req_query(r, "format", fb, sizeof(fb));
    const char *lv = fm_req_query(r, "depth", lb, sizeof(lb));
    if (dir && strcmp(dir, "down") && strcmp(dir, "up"))
        return fm_reply_invalid(r, "direction", "must be down (what the entity holds) or up (who holds it)");
    if (fmt && strcmp(fmt, "json") && strcmp(fmt, "svg"))
        return fm_reply_invalid(r, "format", "must be json or svg");
    char *end = NULL;
    long depth = lv ? strtol(lv, &end, 10) : 10;
    if (lv && (end == lv || *end || depth < 1 || depth > 20))
        return fm_reply_invalid(r, "depth", "must be 1 to 20 levels");
    cJSON *tree = NULL;
    int rc = ent_structure(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), day, dir && !strcmp(dir, "up"),
                           (int)depth, 2000, &tree);
    if (rc == FM_ENOTFOUND)
        return reply_no_entity(r, fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    if (fmt && !strcmp(fmt, "svg")) {
        size_t len = 0;
        char *svg = ent_structure_svg(tree, &len);
        cJSON_Delete(tree);
        if (!svg)
            return FM_ENOMEM;
        rc = fm_reply_raw(r, 200, "image/svg+xml", svg, len);
        free(svg);
        return rc;
    }
    return fm_reply_json(r, 200, tree);
}

static const fm_route_t routes[] = {
    { FM_POST, "/entities", create, FM_R_JSON, "entity:write" },
    { FM_GET, "/entities", list, 0, "entity:read" },
    { FM_GET, "/entities/{id}", get, 0, "entity:read" },
    { FM_PUT, "/entities/{id}", update, FM_R_JSON, "entity:write" },
    { FM_DELETE, "/entities/{id}", delete_, 0, "entity:write" },
    { FM_GET, "/entities/{id}/history", history, 0, "entity:read" },
    { FM_POST, "/entities/{id}/relationships", rel_create, FM_R_JSON, "entity:write" },
    { FM_GET, "/entities/{id}/relationships", rel_list, 0, "entity:read" },
    { FM_DELETE, "/entities/{id}/relationships/{relId}", rel_delete, 0, "entity:write" },
    { FM_GET, "/entities/{id}/ubo", ubo, 0, "entity:read" },
    { FM_GET, "/entities/{id}/structure", structure, 0, "entity:read" },
};

const fm_module_t fm_entities_module = {
    "entities", "Legal Entity Service", 8014, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
