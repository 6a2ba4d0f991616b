/*
 * sso_store.c — the SSO module's tables (migrations/sso/): registered clients and
 * authorization codes. The admin API's queries filter on tenant_id; the OAuth
 * endpoints, which are public and know a client only by its global client_id, look
 * clients and codes up by id or hash and then hold the request to that row's tenant.
 */
#include "sso_int.h"

#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sso_client_release(sso_client_t *c)
{
    cJSON_Delete(c->redirect_uris);
    c->redirect_uris = NULL;
}

bool sso_client_has_uri(const sso_client_t *c, const char *uri)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, c->redirect_uris)
        if (cJSON_IsString(u) && !strcmp(u->valuestring, uri))
            return true;
    return false;
}

cJSON *sso_client_json(const sso_client_t *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "clientId", c->id);
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddItemToObject(o, "redirectUris", cJSON_Duplicate(c->redirect_uris, 1));
    cJSON_AddBoolToObject(o, "confidential", c->confidential);
    cJSON_AddStringToObject(o, "tokenEndpointAuthMethod", c->confidential ? "client_secret_basic" : "none");
    cJSON_AddStringToObject(o, "tenant", c->tenant);
    cJSON_AddStringToObject(o, "createdAt", c->created_at);
    return o;
}

#define CLIENT_COLS "id, tenant_id, name, redirect_uris, confidential, secret_hash, created_at"

static int row_client(const fm_dbrow_t *r, void *arg)
{
    sso_client_t *c = arg;
    memset(c, 0, sizeof(*c));
    fm_dbrow_copy(r, 0, c->id, sizeof(c->id));
    fm_dbrow_copy(r, 1, c->tenant, sizeof(c->tenant));
    fm_dbrow_copy(r, 2, c->name, sizeof(c->name));
    c->redirect_uris = fm_dbrow_json(r, 3);
    if (!cJSON_IsArray(c->redirect_uris)) {
        cJSON_Delete(c->redirect_uris);
        c->redirect_uris = cJSON_CreateArray();
    }
    c->confidential = fm_dbrow_int(r, 4) != 0;
    fm_dbrow_copy(r, 5, c->secret_hash, sizeof(c->secret_hash));
    fm_dbrow_copy(r, 6, c->created_at, sizeof(c->created_at));
    return FM_OK;
}

int sso_client_insert(fm_db_t *db, const char *tenant, const char *name, const cJSON *uris,
                      const char *secret_hash, sso_client_t *out)
{
    memset(out, 0, sizeof(*out));
    fm_id_random("cli", out->id, sizeof(out->id));
    snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
    snprintf(out->name, sizeof(out->name), "%s", name);
    fm_time_rfc3339(out->created_at);
    out->confidential = secret_hash != NULL;
    snprintf(out->secret_hash, sizeof(out->secret_hash), "%s", secret_hash ? secret_hash : "");
    out->redirect_uris = cJSON_Duplicate(uris, 1);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    int rc = FM_EDB;
    if (w) {
        rc = fm_dbq_run(w, "INSERT INTO clients(" CLIENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", "sssjiss",
                        out->id, tenant, name, uris, (int)out->confidential, secret_hash, out->created_at);
        rc = fm_dbq_write_end(w, rc);
    }
    if (rc != FM_OK)
        sso_client_release(out);
    return rc;
}

/* The web apps' own public client (docs/auth.md "The web apps' client"): written at every
 * start, so its redirect URIs follow the port offset. Tenant "default": users of every
 * tenant sign in with it. */
int sso_client_upsert_web(fm_db_t *db, const cJSON *uris)
{
    char now[40];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO clients(" CLIENT_COLS ") VALUES (?, ?, ?, ?, 0, NULL, ?) "
                           "ON CONFLICT(id) DO UPDATE SET redirect_uris = excluded.redirect_uris",
                        "sssjs", SSO_WEB_CLIENT_ID, SSO_PLATFORM_TENANT, "FlowMaster web apps", uris, now);
    return fm_dbq_write_end(w, rc);
}

int sso_client_get(fm_db_t *db, const char *tenant, const char *id, sso_client_t *out)
{
    memset(out, 0, sizeof(*out));
    return tenant ? fm_dbq_read_one(db, "SELECT " CLIENT_COLS " FROM clients WHERE id = ?1 AND tenant_id = ?2",
                                    row_client, out, "ss", id, tenant)
                  : fm_dbq_read_one(db, "SELECT " CLIENT_COLS " FROM clients WHERE id = ?1", row_client, out, "s", id);
}

static cJSON *client_item(const fm_dbrow_t *r, void *arg)
{
    (void)arg;
    sso_client_t cl;
    row_client(r, &cl);
    cJSON *o = sso_client_json(&cl);
    sso_client_release(&cl);
    return o;
}

int sso_client_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *into, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM clients WHERE tenant_id = ?",
        .rows_sql = "SELECT " CLIENT_COLS " FROM clients WHERE tenant_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
        .item = client_item, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "s", tenant);
}

int sso_client_delete(fm_db_t *db, const char *tenant, const char *id)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "DELETE FROM clients WHERE id = ? AND tenant_id = ?", "ss", id, tenant);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)    /* its codes die with it: nobody can redeem them any more */
        rc = fm_dbq_run(w, "DELETE FROM codes WHERE client_id = ?", "s", id);
    return fm_dbq_write_end(w, rc);
}

/* ---- codes ---- */

void sso_code_release(sso_code_t *c)
{
    free(c->sealed);
    c->sealed = NULL;
    c->sealed_len = 0;
}

int sso_code_insert(fm_db_t *db, const char *hash, const sso_code_t *c, int64_t now_ms)
{
    char now[32];
    fm_time_rfc3339_at(now_ms, now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    /* Housekeeping by index, never a scan: rows long past their life go. */
    int rc = fm_dbq_run(w, "DELETE FROM codes WHERE expires_at_ms < ?", "I", now_ms - SSO_CODE_KEEP_MS);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO codes(hash, tenant_id, client_id, redirect_uri, code_challenge, nonce, "
                           "scope, sub, email, roles, auth_time, sealed_tokens, expires_at_ms, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "ssssssssssIbIs",
                        hash, c->tenant, c->client_id, c->redirect_uri, c->challenge, c->nonce, c->scope, c->sub,
                        c->email, c->roles, c->auth_time, (const void *)c->sealed, c->sealed_len,
                        now_ms + SSO_CODE_TTL_MS, now);
    return fm_dbq_write_end(w, rc);
}

typedef struct { sso_code_t *out; int64_t now_ms; bool used; int outcome; } take_t;

static int row_code(const fm_dbrow_t *r, void *arg)
{
    take_t *t = arg;
    sso_code_t *out = t->out;
    fm_dbrow_copy(r, 0, out->tenant, sizeof(out->tenant));
    fm_dbrow_copy(r, 1, out->client_id, sizeof(out->client_id));
    fm_dbrow_copy(r, 2, out->redirect_uri, sizeof(out->redirect_uri));
    fm_dbrow_copy(r, 3, out->challenge, sizeof(out->challenge));
    fm_dbrow_copy(r, 4, out->nonce, sizeof(out->nonce));
    fm_dbrow_copy(r, 5, out->scope, sizeof(out->scope));
    fm_dbrow_copy(r, 6, out->sub, sizeof(out->sub));
    fm_dbrow_copy(r, 7, out->email, sizeof(out->email));
    fm_dbrow_copy(r, 8, out->roles, sizeof(out->roles));
    out->auth_time = fm_dbrow_int(r, 9);
    size_t bl = 0;
    const void *blob = fm_dbrow_blob(r, 10, &bl);
    if (bl > 0 && blob && (out->sealed = malloc(bl))) {
        memcpy(out->sealed, blob, bl);
        out->sealed_len = bl;
    }
    t->used = !fm_dbrow_null(r, 12);
    t->outcome = t->used ? SSO_CODE_REUSED : fm_dbrow_int(r, 11) <= t->now_ms ? SSO_CODE_EXPIRED : SSO_CODE_OK;
    return FM_OK;
}

int sso_code_take(fm_db_t *db, const char *hash, int64_t now_ms, sso_code_t *out, int *outcome)
{
    memset(out, 0, sizeof(*out));
    *outcome = SSO_CODE_UNKNOWN;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    take_t t = { out, now_ms, false, SSO_CODE_UNKNOWN };
    int rc = fm_dbq_one(w, "SELECT tenant_id, client_id, redirect_uri, code_challenge, nonce, scope, sub, "
                           "email, roles, auth_time, sealed_tokens, expires_at_ms, used_at_ms "
                           "FROM codes WHERE hash = ?", row_code, &t, "s", hash);
    if (rc == FM_OK) {
        *outcome = t.outcome;
        if (!t.used)
            rc = fm_dbq_run(w, "UPDATE codes SET used_at_ms = ? WHERE hash = ?", "Is", now_ms, hash);
    } else if (rc == FM_ENOTFOUND) {
        rc = FM_OK;     /* unknown: said by *outcome */
    }
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        sso_code_release(out);
    return rc;
}
