/*
 * sso_store.c — the SSO module's tables (migrations/sso/): registered clients and
 * authorization codes. The admin API's queries filter on tenant_id; the OAuth
 * endpoints, which are public and know a client only by its global client_id, look
 * clients and codes up by id or hash and then hold the request to that row's tenant.
 */
#include "sso_int.h"

#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

static void bind(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

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

static void row_client(sqlite3_stmt *st, sso_client_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", col(st, 0));
    snprintf(c->tenant, sizeof(c->tenant), "%s", col(st, 1));
    snprintf(c->name, sizeof(c->name), "%s", col(st, 2));
    c->redirect_uris = cJSON_Parse(col(st, 3));
    if (!cJSON_IsArray(c->redirect_uris)) {
        cJSON_Delete(c->redirect_uris);
        c->redirect_uris = cJSON_CreateArray();
    }
    c->confidential = sqlite3_column_int(st, 4) != 0;
    snprintf(c->secret_hash, sizeof(c->secret_hash), "%s", col(st, 5));
    snprintf(c->created_at, sizeof(c->created_at), "%s", col(st, 6));
}

int sso_client_insert(fm_db_t *db, const char *tenant, const char *name, const cJSON *uris,
                      const char *secret_hash, sso_client_t *out)
{
    memset(out, 0, sizeof(*out));
    char *uris_json = cJSON_PrintUnformatted(uris);
    if (!uris_json)
        return FM_ENOMEM;
    fm_id_random("cli", out->id, sizeof(out->id));
    snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
    snprintf(out->name, sizeof(out->name), "%s", name);
    fm_time_rfc3339(out->created_at);
    out->confidential = secret_hash != NULL;
    snprintf(out->secret_hash, sizeof(out->secret_hash), "%s", secret_hash ? secret_hash : "");
    out->redirect_uris = cJSON_Duplicate(uris, 1);
    sqlite3 *w = fm_db_write_begin(db);
    int rc = FM_EDB;
    if (!w)
        goto done;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "INSERT INTO clients(" CLIENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &st,
                           NULL) == SQLITE_OK) {
        bind(st, 1, out->id);
        bind(st, 2, tenant);
        bind(st, 3, name);
        bind(st, 4, uris_json);
        sqlite3_bind_int(st, 5, out->confidential);
        if (secret_hash)
            bind(st, 6, secret_hash);
        bind(st, 7, out->created_at);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? FM_OK : step == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
    }
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
done:
    cJSON_free(uris_json);
    if (rc != FM_OK)
        sso_client_release(out);
    return rc;
}

int sso_client_get(fm_db_t *db, const char *tenant, const char *id, sso_client_t *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    const char *sql = tenant ? "SELECT " CLIENT_COLS " FROM clients WHERE id = ?1 AND tenant_id = ?2"
                             : "SELECT " CLIENT_COLS " FROM clients WHERE id = ?1";
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK) {
        bind(st, 1, id);
        if (tenant)
            bind(st, 2, tenant);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            row_client(st, out);
            rc = FM_OK;
        } else {
            rc = step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int sso_client_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB, step;
    if (sqlite3_prepare_v2(c, "SELECT count(*) FROM clients WHERE tenant_id = ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind(st, 1, tenant);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT " CLIENT_COLS " FROM clients WHERE tenant_id = ? "
                              "ORDER BY created_at, id LIMIT ? OFFSET ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind(st, 1, tenant);
    sqlite3_bind_int(st, 2, limit);
    sqlite3_bind_int(st, 3, offset);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sso_client_t cl;
        row_client(st, &cl);
        cJSON_AddItemToArray(into, sso_client_json(&cl));
        sso_client_release(&cl);
    }
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

static int exec2(sqlite3 *w, const char *sql, const char *a, const char *b, int *changes)
{
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) == SQLITE_OK) {
        bind(st, 1, a);
        if (b)
            bind(st, 2, b);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
        if (changes)
            *changes = sqlite3_changes(w);
    }
    sqlite3_finalize(st);
    return rc;
}

int sso_client_delete(fm_db_t *db, const char *tenant, const char *id)
{
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int n = 0;
    int rc = exec2(w, "DELETE FROM clients WHERE id = ? AND tenant_id = ?", id, tenant, &n);
    if (rc == FM_OK && n == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)    /* its codes die with it: nobody can redeem them any more */
        rc = exec2(w, "DELETE FROM codes WHERE client_id = ?", id, NULL, NULL);
    return fm_db_write_end(db, rc);
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
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    /* Housekeeping by index, never a scan: rows long past their life go. */
    if (sqlite3_prepare_v2(w, "DELETE FROM codes WHERE expires_at_ms < ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(st, 1, now_ms - SSO_CODE_KEEP_MS);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(w, "INSERT INTO codes(hash, tenant_id, client_id, redirect_uri, code_challenge, nonce, "
                              "scope, sub, email, roles, auth_time, sealed_tokens, expires_at_ms, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind(st, 1, hash);
    bind(st, 2, c->tenant);
    bind(st, 3, c->client_id);
    bind(st, 4, c->redirect_uri);
    bind(st, 5, c->challenge);
    bind(st, 6, c->nonce);
    bind(st, 7, c->scope);
    bind(st, 8, c->sub);
    bind(st, 9, c->email);
    bind(st, 10, c->roles);
    sqlite3_bind_int64(st, 11, c->auth_time);
    sqlite3_bind_blob(st, 12, c->sealed, (int)c->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, now_ms + SSO_CODE_TTL_MS);
    bind(st, 14, now);
    rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int sso_code_take(fm_db_t *db, const char *hash, int64_t now_ms, sso_code_t *out, int *outcome)
{
    memset(out, 0, sizeof(*out));
    *outcome = SSO_CODE_UNKNOWN;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "SELECT tenant_id, client_id, redirect_uri, code_challenge, nonce, scope, sub, "
                              "email, roles, auth_time, sealed_tokens, expires_at_ms, used_at_ms "
                              "FROM codes WHERE hash = ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind(st, 1, hash);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = FM_OK;
        goto done;
    }
    if (step != SQLITE_ROW)
        goto done;
    snprintf(out->tenant, sizeof(out->tenant), "%s", col(st, 0));
    snprintf(out->client_id, sizeof(out->client_id), "%s", col(st, 1));
    snprintf(out->redirect_uri, sizeof(out->redirect_uri), "%s", col(st, 2));
    snprintf(out->challenge, sizeof(out->challenge), "%s", col(st, 3));
    snprintf(out->nonce, sizeof(out->nonce), "%s", col(st, 4));
    snprintf(out->scope, sizeof(out->scope), "%s", col(st, 5));
    snprintf(out->sub, sizeof(out->sub), "%s", col(st, 6));
    snprintf(out->email, sizeof(out->email), "%s", col(st, 7));
    snprintf(out->roles, sizeof(out->roles), "%s", col(st, 8));
    out->auth_time = sqlite3_column_int64(st, 9);
    int bl = sqlite3_column_bytes(st, 10);
    const void *blob = sqlite3_column_blob(st, 10);
    if (bl > 0 && blob && (out->sealed = malloc((size_t)bl))) {
        memcpy(out->sealed, blob, (size_t)bl);
        out->sealed_len = (size_t)bl;
    }
    bool used = sqlite3_column_type(st, 12) != SQLITE_NULL;
    *outcome = used ? SSO_CODE_REUSED : sqlite3_column_int64(st, 11) <= now_ms ? SSO_CODE_EXPIRED : SSO_CODE_OK;
    sqlite3_finalize(st);
    st = NULL;
    if (used) {
        rc = FM_OK;
        goto done;
    }
    if (sqlite3_prepare_v2(w, "UPDATE codes SET used_at_ms = ? WHERE hash = ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(st, 1, now_ms);
    bind(st, 2, hash);
    rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc != FM_OK)
        sso_code_release(out);
    return rc;
}
