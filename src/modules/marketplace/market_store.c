/*
 * market_store.c — the BAC Marketplace's database (migrations/marketplace/): publisher
 * keys, packages and their signed versions, the FTS5 search index, ratings and what
 * each tenant installed. Packages are shared between tenants by design: search and read
 * see every package; publishing a version of a package is only for the tenant that
 * published it first.
 */
#include "market_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool market_semver_key(const char *v, char *key, size_t kl)
{
    unsigned long part[3];
    const char *p = v;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p) || (*p == '0' && isdigit((unsigned char)p[1])))
            return false;
        char *end;
        part[i] = strtoul(p, &end, 10);
        if (part[i] > 999999 || end - p > 6)
            return false;
        p = end;
        if (i < 2 && *p++ != '.')
            return false;
    }
    if (*p)
        return false;
    snprintf(key, kl, "%06lu.%06lu.%06lu", part[0], part[1], part[2]);
    return true;
}

typedef struct keys {
    unsigned char *pk, *sk;
    bool found;
} keys_t;

static int key_row(const fm_dbrow_t *row, void *arg)
{
    keys_t *k = arg;
    size_t a = 0, b = 0;
    const void *pk = fm_dbrow_blob(row, 0, &a), *sk = fm_dbrow_blob(row, 1, &b);
    if (a != 32 || b != 64)
        return FM_EDB;
    memcpy(k->pk, pk, 32);
    memcpy(k->sk, sk, 64);
    k->found = true;
    return FM_OK;
}

int market_key(fm_db_t *db, const char *tenant, unsigned char pk[32], unsigned char sk[64])
{
    keys_t k = { pk, sk, false };
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_one(w, "SELECT public_key, secret_key FROM publisher_keys WHERE tenant_id = ?", key_row, &k, "s",
                        tenant);
    if (rc == FM_ENOTFOUND) {
        crypto_sign_keypair(pk, sk);
        rc = fm_dbq_run(w, "INSERT INTO publisher_keys(tenant_id, public_key, secret_key, created_ms) VALUES (?, ?, ?, ?)",
                        "sbbI", tenant, pk, (size_t)32, sk, (size_t)64, fm_time_unix_ms());
    }
    return fm_dbq_write_end(w, rc);
}

static int owner_row(const fm_dbrow_t *row, void *arg)
{
    char **o = arg;
    o[0] = fm_dbrow_dup(row, 0);
    o[1] = fm_dbrow_dup(row, 1);
    o[2] = fm_dbrow_dup(row, 2);
    return FM_OK;
}

int market_publish(fm_db_t *db, const market_pub_t *p, char *id, size_t idl, char *why, size_t wl)
{
    char *own[3] = { NULL, NULL, NULL };  /* id, publisher tenant, latest version key */
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_one(w,
                        "SELECT p.id, p.publisher_tenant, v.version_key FROM packages p JOIN package_versions v "
                        "ON v.package_id = p.id AND v.version = p.latest WHERE p.name = ?",
                        owner_row, own, "s", p->name);
    int64_t now = fm_time_unix_ms();
    char *tags = cJSON_PrintUnformatted(p->tags);
    if (rc == FM_ENOTFOUND) {
        fm_id_random("pkg", id, idl);
        rc = fm_dbq_run(w,
                        "INSERT INTO packages(id, name, publisher_tenant, description, tags, license, latest, created_ms, "
                        "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "sssssssII", id, p->name, p->tenant, p->description, tags ? tags : "[]", p->license, p->version,
                        now, now);
        if (rc == FM_OK)
            rc = fm_dbq_run(w,
                            "INSERT INTO packages_fts(rowid, name, description, tags) "
                            "SELECT rowid, name, description, ? FROM packages WHERE id = ?",
                            "ss", tags ? tags : "", id);
    } else if (rc == FM_OK) {
        snprintf(id, idl, "%s", own[0]);
        if (strcmp(own[1], p->tenant)) {
            snprintf(why, wl, "the package name '%s' belongs to another publisher", p->name);
            rc = FM_EINVAL;
        } else if (strcmp(p->version_key, own[2]) <= 0) {
            snprintf(why, wl, "version %s is not newer than the latest version of '%s'", p->version, p->name);
            rc = FM_ECONFLICT;
        } else {
            rc = fm_dbq_run(w,
                            "UPDATE packages SET description = ?, tags = ?, license = ?, latest = ?, updated_ms = ? "
                            "WHERE id = ?",
                            "ssssIs", p->description, tags ? tags : "[]", p->license, p->version, now, id);
            if (rc == FM_OK)
                rc = fm_dbq_run(w,
                                "UPDATE packages_fts SET description = ?, tags = ? WHERE rowid = "
                                "(SELECT rowid FROM packages WHERE id = ?)",
                                "sss", p->description, tags ? tags : "", id);
        }
    }
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "INSERT INTO package_versions(package_id, version, version_key, content, signature, public_key, "
                        "changelog, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssssbbsI", id, p->version, p->version_key, p->content, p->sig, (size_t)64, p->pk, (size_t)32,
                        p->changelog, now);
    if (rc == FM_OK) {
        char data[512];
        snprintf(data, sizeof(data), "{\"packageId\":\"%s\",\"version\":\"%s\"}", id, p->version);
        rc = bus_outbox_put(w, MARKET_SOURCE, "marketplace.package.published", id, p->tenant, data);
    }
    cJSON_free(tags);
    for (int i = 0; i < 3; i++)
        free(own[i]);
    return fm_dbq_write_end(w, rc);
}

#define PKG_COLS                                                                                                \
    "p.id, p.name, p.description, p.tags, p.license, p.latest AS \"latestVersion\", p.downloads, "              \
    "CASE WHEN p.rating_count > 0 THEN round(1.0 * p.rating_sum / p.rating_count, 2) END AS \"rating\", "       \
    "p.rating_count AS \"ratings\", p.publisher_tenant AS \"publisher\", p.created_ms AS \"createdAt\", "       \
    "p.updated_ms AS \"updatedAt\", "                                                                          \
    "(SELECT json_object('processes', json((SELECT json_group_array(json_extract(e.value, '$.name')) "          \
    "FROM json_each(v.content, '$.processes') e)), 'decisions', json((SELECT "                               \
    "json_group_array(json_extract(e.value, '$.name')) FROM json_each(v.content, '$.decisions') e)), "          \
    "'forms', json((SELECT json_group_array(json_extract(e.value, '$.schema.id')) "                          \
    "FROM json_each(v.content, '$.forms') e)), 'prompts', json((SELECT "                                    \
    "json_group_array(json_extract(e.value, '$.name')) FROM json_each(v.content, '$.prompts') e))) "          \
    "FROM package_versions v WHERE v.package_id = p.id AND v.version = p.latest) AS \"contents\""
#define PKG_HINTS "sssjssiaisttj"

int market_search(fm_db_t *db, const market_query_t *q, cJSON *items, int *total)
{
    /* Relevance needs a text query; without one, recent is the order. */
    const char *sort = q->sort ? q->sort : q->q ? "relevance" : "recent";
    const char *order = !strcmp(sort, "rating")      ? "coalesce(1.0 * p.rating_sum / nullif(p.rating_count, 0), 0) DESC, p.name"
                        : !strcmp(sort, "downloads") ? "p.downloads DESC, p.name"
                        : !strcmp(sort, "recent")    ? "p.updated_ms DESC, p.name"
                                                     : "f.rank, p.name";
    char rows[1200], count[600];
    const char *from = q->q ? " FROM packages_fts f JOIN packages p ON p.rowid = f.rowid WHERE packages_fts MATCH ?1 "
                            : " FROM packages p WHERE ?1 IS NULL ";
    snprintf(count, sizeof(count), "SELECT count(*)%s AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(p.tags) "
                                   "WHERE value = ?2))", from);
    snprintf(rows, sizeof(rows), "SELECT " PKG_COLS "%s AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(p.tags) "
                                 "WHERE value = ?2)) ORDER BY %s LIMIT ? OFFSET ?", from,
             !strcmp(sort, "relevance") && !q->q ? "p.updated_ms DESC, p.name" : order);
    fm_dbq_page_t p = { .count_sql = count, .rows_sql = rows, .hints = PKG_HINTS, .offset = q->offset,
                        .limit = q->limit };
    return fm_dbq_read_page(db, &p, items, total, "ss", q->q, q->tag);
}

int market_get(fm_db_t *db, const char *id, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int rc = fm_dbq_obj(c, "SELECT " PKG_COLS " FROM packages p WHERE p.id = ?", PKG_HINTS, out, "s", id);
    if (rc == FM_OK)
        rc = fm_dbq_array(c,
                          "SELECT version, changelog, created_ms AS \"publishedAt\", "
                          "json_extract(content, '$.processes') IS NOT NULL AS \"hasProcesses\" FROM package_versions "
                          "WHERE package_id = ? ORDER BY version_key DESC",
                          "sst-", cJSON_AddArrayToObject(*out, "versions"), "s", id);
    if (rc == FM_OK)
        rc = fm_dbq_array(c,
                          "SELECT stars, review, user_id AS \"by\", at_ms AS \"at\" FROM ratings WHERE package_id = ? "
                          "ORDER BY at_ms DESC LIMIT 50",
                          "isst", cJSON_AddArrayToObject(*out, "reviews"), "s", id);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

static int version_row(const fm_dbrow_t *row, void *arg)
{
    market_version_t *v = arg;
    size_t a = 0, b = 0;
    const void *sig = fm_dbrow_blob(row, 1, &a), *pk = fm_dbrow_blob(row, 2, &b);
    v->content = fm_dbrow_dup(row, 0);
    if (!v->content || a != 64 || b != 32)
        return FM_EDB;
    memcpy(v->sig, sig, 64);
    memcpy(v->pk, pk, 32);
    fm_dbrow_copy(row, 3, v->version, sizeof(v->version));
    return FM_OK;
}

int market_version_read(fm_db_t *db, const char *id, const char *version, market_version_t *out)
{
    memset(out, 0, sizeof(*out));
    return fm_dbq_read_one(db,
                           "SELECT v.content, v.signature, v.public_key, v.version FROM package_versions v "
                           "JOIN packages p ON p.id = v.package_id WHERE v.package_id = ?1 "
                           "AND v.version = coalesce(?2, p.latest)",
                           version_row, out, "ss", id, version);
}

int market_rate(fm_db_t *db, const char *id, const char *tenant, const char *user, int stars, const char *review)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t one = 0;
    int rc = fm_dbq_int(w, "SELECT 1 FROM packages WHERE id = ?", &one, "s", id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "INSERT INTO ratings(package_id, tenant_id, user_id, stars, review, at_ms) VALUES (?1, ?2, ?3, ?4, "
                        "?5, ?6) ON CONFLICT(package_id, tenant_id, user_id) DO UPDATE SET stars = ?4, review = ?5, "
                        "at_ms = ?6",
                        "sssisI", id, tenant, user, stars, review, fm_time_unix_ms());
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "UPDATE packages SET rating_sum = (SELECT coalesce(sum(stars), 0) FROM ratings WHERE package_id = ?1), "
                        "rating_count = (SELECT count(*) FROM ratings WHERE package_id = ?1) WHERE id = ?1",
                        "s", id);
    return fm_dbq_write_end(w, rc);
}

typedef struct inst {
    cJSON **objects;
    char *version;
    size_t vl;
} inst_t;

static int install_row(const fm_dbrow_t *row, void *arg)
{
    inst_t *i = arg;
    *i->objects = fm_dbrow_json(row, 0);
    fm_dbrow_copy(row, 1, i->version, i->vl);
    return *i->objects ? FM_OK : FM_EDB;
}

int market_install_get(fm_db_t *db, const char *tenant, const char *id, cJSON **objects, char *version, size_t vl)
{
    inst_t i = { objects, version, vl };
    *objects = NULL;
    return fm_dbq_read_one(db, "SELECT objects, version FROM installs WHERE tenant_id = ? AND package_id = ?",
                           install_row, &i, "ss", tenant, id);
}

int market_install_put(fm_db_t *db, const char *tenant, const char *id, const char *version, const cJSON *objects)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "INSERT INTO installs(tenant_id, package_id, version, objects, at_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
                        "ON CONFLICT(tenant_id, package_id) DO UPDATE SET version = ?3, objects = ?4, at_ms = ?5",
                        "sssjI", tenant, id, version, objects, fm_time_unix_ms());
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "UPDATE packages SET downloads = downloads + 1 WHERE id = ?", "s", id);
    if (rc == FM_OK) {
        char data[256];
        snprintf(data, sizeof(data), "{\"packageId\":\"%s\",\"version\":\"%s\"}", id, version);
        rc = bus_outbox_put(w, MARKET_SOURCE, "marketplace.package.installed", id, tenant, data);
    }
    return fm_dbq_write_end(w, rc);
}
