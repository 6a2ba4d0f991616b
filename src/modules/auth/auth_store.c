/*
 * auth_store.c — users, tenants and roles in the auth database. Every query names the
 * tenant; emails compare case-insensitively (the column is COLLATE NOCASE).
 */
#include "auth_module.h"

#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <string.h>

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

void auth_user_release(auth_user_t *u)
{
    cJSON_Delete(u->roles);
    u->roles = NULL;
}

#define USER_COLS "id, tenant_id, email, name, status, password_hash, roles"

static void user_from_row(sqlite3_stmt *st, auth_user_t *u)
{
    snprintf(u->id, sizeof(u->id), "%s", col(st, 0));
    snprintf(u->tenant, sizeof(u->tenant), "%s", col(st, 1));
    snprintf(u->email, sizeof(u->email), "%s", col(st, 2));
    snprintf(u->name, sizeof(u->name), "%s", col(st, 3));
    snprintf(u->status, sizeof(u->status), "%s", col(st, 4));
    snprintf(u->hash, sizeof(u->hash), "%s", col(st, 5));
    u->roles = cJSON_Parse(col(st, 6));
    if (!cJSON_IsArray(u->roles)) {
        cJSON_Delete(u->roles);
        u->roles = cJSON_CreateArray();
    }
}

static int user_select(fm_db_t *db, const char *sql, const char *tenant, const char *key, auth_user_t *u)
{
    memset(u, 0, sizeof(*u));
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            user_from_row(st, u);
            rc = FM_OK;
        } else {
            rc = step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int auth_user_by_email(fm_db_t *db, const char *tenant, const char *email, auth_user_t *u)
{
    return user_select(db, "SELECT " USER_COLS " FROM users WHERE tenant_id = ? AND email = ?", tenant, email, u);
}

int auth_user_by_id(fm_db_t *db, const char *tenant, const char *id, auth_user_t *u)
{
    return user_select(db, "SELECT " USER_COLS " FROM users WHERE tenant_id = ? AND id = ?", tenant, id, u);
}

cJSON *auth_user_json(const auth_user_t *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", u->id);
    cJSON_AddStringToObject(o, "tenant", u->tenant);
    cJSON_AddStringToObject(o, "email", u->email);
    cJSON_AddStringToObject(o, "name", u->name);
    cJSON_AddStringToObject(o, "status", u->status);
    cJSON_AddItemToObject(o, "roles", cJSON_Duplicate(u->roles, 1));
    return o;
}

int auth_tenant_exists(fm_db_t *db, const char *id)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT 1 FROM tenants WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

static int exec_bind(sqlite3 *w, const char *sql, const char *const *args, int n)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    for (int i = 0; i < n; i++)
        sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? FM_OK : step == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
}

int auth_user_create(fm_db_t *db, const char *tenant, const char *email, const char *name,
                     const char *password, const cJSON *roles, bool create_tenant, auth_user_t *out)
{
    char hash[FM_PASSWORD_HASH_MAX], id[48], now[32];
    if (fm_password_hash(password, hash) != FM_OK)
        return FM_ENOMEM;
    fm_id_random("usr", id, sizeof(id));
    fm_time_rfc3339(now);
    char *roles_json = cJSON_PrintUnformatted(roles);
    if (!roles_json)
        return FM_ENOMEM;
    sqlite3 *w = fm_db_write_begin(db);
    int rc = FM_EDB;
    if (!w)
        goto done;
    if (create_tenant) {
        const char *t[] = { tenant, tenant, tenant, now };
        rc = exec_bind(w, "INSERT OR IGNORE INTO tenants(id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)", t, 4);
        if (rc != FM_OK)
            goto end;
    }
    const char *u[] = { id, tenant, email, name ? name : "", hash, roles_json, now, now };
    rc = exec_bind(w, "INSERT INTO users(id, tenant_id, email, name, password_hash, roles, created_at, updated_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", u, 8);
end:
    rc = fm_db_write_end(db, rc);
done:
    cJSON_free(roles_json);
    if (rc == FM_OK && out)
        rc = auth_user_by_id(db, tenant, id, out);
    return rc;
}

static void add_unique(cJSON *into, const char *grant)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, into)
        if (!strcmp(g->valuestring, grant))
            return;
    cJSON_AddItemToArray(into, cJSON_CreateString(grant));
}

void auth_role_grants(fm_db_t *db, const char *tenant, const char *role, cJSON *into)
{
    const char *const *b = fm_role_builtin(role);
    if (b) {
        for (; *b; b++)
            add_unique(into, *b);
        return;
    }
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT grants FROM roles WHERE tenant_id = ? AND name = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *grants = cJSON_Parse(col(st, 0));
            const cJSON *g;
            cJSON_ArrayForEach(g, grants)
                if (cJSON_IsString(g))
                    add_unique(into, g->valuestring);
            cJSON_Delete(grants);
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
}

const char *auth_roles_unknown(fm_db_t *db, const char *tenant, const cJSON *roles)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, roles) {
        if (!cJSON_IsString(r))
            return "(not a string)";
        if (fm_role_builtin(r->valuestring))
            continue;
        cJSON *g = cJSON_CreateArray();
        auth_role_grants(db, tenant, r->valuestring, g);
        bool found = cJSON_GetArraySize(g) > 0;
        cJSON_Delete(g);
        if (!found)
            return r->valuestring;
    }
    return NULL;
}

int auth_user_groups(fm_db_t *db, const char *tenant, const char *user_id, cJSON *into)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT group_name FROM group_members WHERE tenant_id = ? AND user_id = ? "
                              "ORDER BY group_name LIMIT ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, FM_GROUPS_MAX);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            cJSON_AddItemToArray(into, cJSON_CreateString(col(st, 0)));
        rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}
