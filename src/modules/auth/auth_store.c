/*
 * auth_store.c — users, tenants and roles in the auth database. Every query names the
 * tenant; emails compare case-insensitively (the column is COLLATE NOCASE).
 */
#include "auth_module.h"

#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <string.h>

void auth_user_release(auth_user_t *u)
{
    cJSON_Delete(u->roles);
    u->roles = NULL;
}

#define USER_COLS "id, tenant_id, email, name, status, password_hash, roles"

static int user_row(const fm_dbrow_t *r, void *arg)
{
    auth_user_t *u = arg;
    fm_dbrow_copy(r, 0, u->id, sizeof(u->id));
    fm_dbrow_copy(r, 1, u->tenant, sizeof(u->tenant));
    fm_dbrow_copy(r, 2, u->email, sizeof(u->email));
    fm_dbrow_copy(r, 3, u->name, sizeof(u->name));
    fm_dbrow_copy(r, 4, u->status, sizeof(u->status));
    fm_dbrow_copy(r, 5, u->hash, sizeof(u->hash));
    u->roles = fm_dbrow_json(r, 6);
    if (!cJSON_IsArray(u->roles)) {
        cJSON_Delete(u->roles);
        u->roles = cJSON_CreateArray();
    }
    return FM_OK;
}

int auth_user_by_email(fm_db_t *db, const char *tenant, const char *email, auth_user_t *u)
{
    memset(u, 0, sizeof(*u));
    return fm_dbq_read_one(db, "SELECT " USER_COLS " FROM users WHERE tenant_id = ? AND email = ?", user_row, u,
                           "ss", tenant, email);
}

int auth_user_by_id(fm_db_t *db, const char *tenant, const char *id, auth_user_t *u)
{
    memset(u, 0, sizeof(*u));
    return fm_dbq_read_one(db, "SELECT " USER_COLS " FROM users WHERE tenant_id = ? AND id = ?", user_row, u, "ss",
                           tenant, id);
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
    return fm_dbq_read_one(db, "SELECT 1 FROM tenants WHERE id = ?", NULL, NULL, "s", id);
}

int auth_user_create(fm_db_t *db, const char *tenant, const char *email, const char *name,
                     const char *password, const cJSON *roles, bool create_tenant, auth_user_t *out)
{
    char hash[FM_PASSWORD_HASH_MAX], id[48], now[32];
    if (fm_password_hash(password, hash) != FM_OK)
        return FM_ENOMEM;
    fm_id_random("usr", id, sizeof(id));
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_OK;
    if (create_tenant)
        rc = fm_dbq_run(w, "INSERT INTO tenants(id, tenant_id, name, created_at) VALUES (?1, ?1, ?1, ?2) "
                           "ON CONFLICT DO NOTHING", "ss", tenant, now);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO users(id, tenant_id, email, name, password_hash, roles, created_at, "
                           "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                        "sssssjs", id, tenant, email, name ? name : "", hash, roles, now);
    rc = fm_dbq_write_end(w, rc);
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

static int grants_row(const fm_dbrow_t *r, void *into)
{
    cJSON *grants = fm_dbrow_json(r, 0);
    const cJSON *g;
    cJSON_ArrayForEach(g, grants)
        if (cJSON_IsString(g))
            add_unique(into, g->valuestring);
    cJSON_Delete(grants);
    return FM_OK;
}

void auth_role_grants(fm_db_t *db, const char *tenant, const char *role, cJSON *into)
{
    const char *const *b = fm_role_builtin(role);
    if (b) {
        for (; *b; b++)
            add_unique(into, *b);
        return;
    }
    fm_dbq_read_one(db, "SELECT grants FROM roles WHERE tenant_id = ? AND name = ?", grants_row, into, "ss", tenant,
                    role);     /* none (or an error): no grants */
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

static int name_row(const fm_dbrow_t *r, void *into)
{
    cJSON_AddItemToArray(into, cJSON_CreateString(fm_dbrow_str(r, 0)));
    return FM_OK;
}

int auth_user_groups(fm_db_t *db, const char *tenant, const char *user_id, cJSON *into)
{
    return fm_dbq_read_each(db, "SELECT group_name FROM group_members WHERE tenant_id = ? AND user_id = ? "
                                "ORDER BY group_name LIMIT ?", name_row, into, "ssi", tenant, user_id, FM_GROUPS_MAX);
}
