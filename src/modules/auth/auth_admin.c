/*
 * auth_admin.c — the admin API: tenants (platform administrators only, i.e. admins of
 * tenant `default`), and per tenant users, groups and their members, custom roles and
 * service accounts. Every statement names the caller's tenant.
 *
 * One rule for changes (docs/auth.md): PUT replaces the resource and needs every field
 * (a missing one is a 422 that names it); PATCH changes only the fields it sends.
 */
#include "auth_module.h"

#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-_"
#define ROLE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

static fm_db_t *db_of(fm_req_t *r) { return fm_req_mod(r)->db; }

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int list_reply(fm_req_t *r, cJSON *rows)
{
    return fm_reply_page(r, rows, 0, cJSON_GetArraySize(rows));   /* one page: all of them */
}

/* Every row of a read as an object (fm_dbq_read_array), or the error. */
static int list_or(fm_req_t *r, int rc, cJSON *rows)
{
    if (rc == FM_OK)
        return list_reply(r, rows);
    cJSON_Delete(rows);
    return rc;
}

/* The row of fm_dbq_read_obj, or a 404 naming it. */
static int one_reply(fm_req_t *r, int rc, cJSON *item, const char *what, const char *id)
{
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no %s '%s'", what, id);
    return rc == FM_OK ? fm_reply_json(r, 200, item) : rc;
}

static bool password_ok(fm_req_t *r, const char *pw);

/* PUT replaces: every one of `fields` must be in the body; else a 422 naming the first
 * missing one. */
static bool put_complete(fm_req_t *r, const fm_field_t *fields, size_t n, const char *what)
{
    const cJSON *j = fm_req_json(r);
    for (size_t i = 0; cJSON_IsObject(j) && i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, fields[i].name);
        if (!v || cJSON_IsNull(v)) {
            char d[200];
            snprintf(d, sizeof(d), "is required: PUT replaces the whole %s (send every field, "
                                   "or PATCH to change some)", what);
            fm_reply_invalid(r, fields[i].name, d);
            return false;
        }
    }
    return true;
}

/* ---- tenants ---- */

static bool platform_admin(fm_req_t *r)
{
    if (!strcmp(fm_req_tenant(r), AUTH_PLATFORM_TENANT))
        return true;
    fm_reply_problem(r, 403, NULL, NULL, NULL, "tenants are managed by administrators of tenant 'default'");
    return false;
}

int auth_tenants_list(fm_req_t *r)
{
    if (!platform_admin(r))
        return FM_OK;
    cJSON *rows = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), "SELECT id, name, created_at AS \"createdAt\" FROM tenants ORDER BY id",
                               "sss", rows, "");
    return list_or(r, rc, rows);
}

static const fm_field_t tenant_fields[] = {
    { "id", FM_F_STRING, true, 1, 64, ID_CHARS },
    { "name", FM_F_STRING, true, 1, 200, NULL },
    { "admin", FM_F_OBJECT, false, 0, 0, NULL },
};

/* POST /auth/tenants {id, name, admin?: {email, password}}: the optional admin is the
 * tenant's first user (role admin), who then manages the tenant's own users. */
int auth_tenants_create(fm_req_t *r)
{
    if (!platform_admin(r) || fm_req_check(r, tenant_fields, 3))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    const cJSON *admin = cJSON_GetObjectItemCaseSensitive(j, "admin");
    const char *aemail = str(admin, "email"), *apw = str(admin, "password");
    if (admin && (!aemail || !strchr(aemail, '@') || strlen(aemail) > 254))
        return fm_reply_invalid(r, "admin", "needs an email address in 'email'");
    if (admin && (!apw || strlen(apw) > 1024 || !password_ok(r, apw)))
        return apw ? FM_OK : fm_reply_invalid(r, "admin", "needs a 'password'");
    char now[32];
    fm_time_rfc3339(now);
    int rc = fm_dbq_write(db_of(r), "INSERT INTO tenants(id, tenant_id, name, created_at) VALUES (?1, ?1, ?2, ?3)",
                          "sss", str(j, "id"), str(j, "name"), now);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "tenant '%s' exists", str(j, "id"));
    if (rc != FM_OK)
        return rc;
    if (admin) {
        cJSON *roles = cJSON_CreateArray();
        cJSON_AddItemToArray(roles, cJSON_CreateString("admin"));
        rc = auth_user_create(db_of(r), str(j, "id"), aemail, "Administrator", apw, roles, false, NULL);
        cJSON_Delete(roles);
        if (rc != FM_OK)
            return rc;
    }
    char loc[128];
    snprintf(loc, sizeof(loc), "/auth/tenants/%s", str(j, "id"));
    fm_reply_header(r, "Location", loc);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", str(j, "id"));
    cJSON_AddStringToObject(o, "name", str(j, "name"));
    cJSON_AddStringToObject(o, "createdAt", now);
    return fm_reply_json(r, 201, o);
}

int auth_tenants_get(fm_req_t *r)
{
    if (!platform_admin(r))
        return FM_OK;
    const char *id = fm_req_param(r, "id");
    cJSON *o = NULL;
    int rc = fm_dbq_read_obj(db_of(r), "SELECT id, name, created_at AS \"createdAt\" FROM tenants WHERE id = ?",
                             "sss", &o, "s", id);
    return one_reply(r, rc, o, "tenant", id);
}

/* ---- users ---- */

#define USER_SELECT "SELECT id, tenant_id AS tenant, email, name, status, roles, created_at AS \"createdAt\", " \
                    "updated_at AS \"updatedAt\" FROM users "
#define USER_HINTS "sssssjss"       /* roles is the one JSON column */

int auth_users_list(fm_req_t *r)
{
    cJSON *rows = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), USER_SELECT "WHERE tenant_id = ? ORDER BY email", USER_HINTS, rows, "s",
                               fm_req_tenant(r));
    return list_or(r, rc, rows);
}

int auth_users_get(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    cJSON *o = NULL;
    int rc = fm_dbq_read_obj(db_of(r), USER_SELECT "WHERE tenant_id = ? AND id = ?", USER_HINTS, &o, "ss",
                             fm_req_tenant(r), id);
    return one_reply(r, rc, o, "user", id);
}

static bool password_ok(fm_req_t *r, const char *pw)
{
    if (!pw || (int)strlen(pw) >= fm_cfg()->auth_password_min_length)
        return true;
    char d[96];
    snprintf(d, sizeof(d), "must be at least %d characters long", fm_cfg()->auth_password_min_length);
    fm_reply_invalid(r, "password", d);
    return false;
}

static bool roles_ok(fm_req_t *r, const cJSON *roles)
{
    const char *bad = roles ? auth_roles_unknown(db_of(r), fm_req_tenant(r), roles) : NULL;
    if (!bad)
        return true;
    char d[200];
    snprintf(d, sizeof(d), "names an unknown role '%.100s'", bad);
    fm_reply_invalid(r, "roles", d);
    return false;
}

static const fm_field_t user_fields[] = {
    { "email", FM_F_STRING, true, 3, 254, NULL },
    { "password", FM_F_STRING, true, 1, 1024, NULL },
    { "name", FM_F_STRING, false, 0, 200, NULL },
    { "roles", FM_F_ARRAY, false, 0, 0, NULL },
};

int auth_users_create(fm_req_t *r)
{
    if (fm_req_check(r, user_fields, 4))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(j, "roles");
    if (!password_ok(r, str(j, "password")) || !roles_ok(r, roles))
        return FM_OK;
    if (!strchr(str(j, "email"), '@'))
        return fm_reply_invalid(r, "email", "must be an email address");
    cJSON *none = cJSON_CreateArray();
    auth_user_t u;
    int rc = auth_user_create(db_of(r), fm_req_tenant(r), str(j, "email"), str(j, "name"), str(j, "password"),
                              roles ? roles : none, false, &u);
    cJSON_Delete(none);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "a user with this email exists in this tenant");
    if (rc != FM_OK)
        return rc;
    char loc[96];
    snprintf(loc, sizeof(loc), "/auth/users/%s", u.id);
    fm_reply_header(r, "Location", loc);
    cJSON *o = auth_user_json(&u);
    auth_user_release(&u);
    return fm_reply_json(r, 201, o);
}

static const fm_field_t user_update_fields[] = {
    { "password", FM_F_STRING, false, 1, 1024, NULL },
    { "name", FM_F_STRING, false, 0, 200, NULL },
    { "roles", FM_F_ARRAY, false, 0, 0, NULL },
    { "status", FM_F_STRING, false, 1, 16, NULL },
};

static int user_change(fm_req_t *r);

/* PUT /auth/users/{id}: name, roles and status all given (the password, write-only,
 * stays unless sent). */
int auth_users_update(fm_req_t *r)
{
    if (!put_complete(r, user_update_fields + 1, 3, "user"))
        return FM_OK;
    return user_change(r);
}

int auth_users_patch(fm_req_t *r)
{
    return user_change(r);
}

static int user_change(fm_req_t *r)
{
    if (fm_req_check(r, user_update_fields, 4))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(j, "roles");
    const char *status = str(j, "status");
    if (!password_ok(r, str(j, "password")) || !roles_ok(r, roles))
        return FM_OK;
    if (status && strcmp(status, "active") && strcmp(status, "disabled"))
        return fm_reply_invalid(r, "status", "must be 'active' or 'disabled'");
    auth_user_t u;
    const char *id = fm_req_param(r, "id");
    int rc = auth_user_by_id(db_of(r), fm_req_tenant(r), id, &u);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no user '%s'", id);
    if (rc != FM_OK)
        return rc;
    char hash[FM_PASSWORD_HASH_MAX], now[32];
    if (str(j, "password") && fm_password_hash(str(j, "password"), hash) != FM_OK) {
        auth_user_release(&u);
        return FM_ENOMEM;
    }
    fm_time_rfc3339(now);
    rc = fm_dbq_write(db_of(r), "UPDATE users SET name = ?, roles = ?, status = ?, password_hash = ?, updated_at = ? "
                                "WHERE tenant_id = ? AND id = ?",
                      "sjsssss", str(j, "name") ? str(j, "name") : u.name, roles ? roles : u.roles,
                      status ? status : u.status, str(j, "password") ? hash : u.hash, now, fm_req_tenant(r), id);
    auth_user_release(&u);
    if (rc != FM_OK)
        return rc;
    /* A disabled account or a new password ends every session. */
    if ((status && !strcmp(status, "disabled")) || str(j, "password")) {
        fm_dbq_write(db_of(r), "UPDATE refresh_tokens SET revoked = 1 WHERE tenant_id = ? AND user_id = ?", "ss",
                     fm_req_tenant(r), id);
    }
    return auth_users_get(r);
}

int auth_users_delete(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    const fm_principal_t *p = fm_req_principal(r);
    if (p && !strcmp(p->sub, id))
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "you cannot delete your own account");
    int rc = fm_dbq_write(db_of(r), "DELETE FROM users WHERE tenant_id = ? AND id = ?", "ss", fm_req_tenant(r), id);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no user '%s'", id);
    if (rc != FM_OK)
        return rc;
    fm_dbq_write(db_of(r), "DELETE FROM refresh_tokens WHERE tenant_id = ? AND user_id = ?", "ss", fm_req_tenant(r), id);
    fm_dbq_write(db_of(r), "DELETE FROM group_members WHERE tenant_id = ? AND user_id = ?", "ss", fm_req_tenant(r), id);
    return fm_reply_status(r, 204);
}

/* ---- roles ---- */

static const char *builtin_names[] = { "admin", "designer", "operator", "participant", "viewer", "service" };

static cJSON *builtin_json(const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddBoolToObject(o, "builtIn", true);
    cJSON *g = cJSON_AddArrayToObject(o, "grants");
    for (const char *const *p = fm_role_builtin(name); *p; p++)
        cJSON_AddItemToArray(g, cJSON_CreateString(*p));
    return o;
}

#define ROLE_SELECT "SELECT name, description, grants, created_at AS \"createdAt\" FROM roles "
#define ROLE_HINTS "ssjs"           /* grants is the one JSON column */

int auth_roles_list(fm_req_t *r)
{
    cJSON *rows = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), ROLE_SELECT "WHERE tenant_id = ? ORDER BY name", ROLE_HINTS, rows, "s",
                               fm_req_tenant(r));
    if (rc != FM_OK) {
        cJSON_Delete(rows);
        return rc;
    }
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; i < sizeof(builtin_names) / sizeof(builtin_names[0]); i++)
        cJSON_AddItemToArray(all, builtin_json(builtin_names[i]));
    cJSON *row;
    while ((row = cJSON_DetachItemFromArray(rows, 0))) {
        cJSON_AddBoolToObject(row, "builtIn", false);
        cJSON_AddItemToArray(all, row);
    }
    cJSON_Delete(rows);
    return list_reply(r, all);
}

int auth_roles_get(fm_req_t *r)
{
    const char *name = fm_req_param(r, "name");
    if (fm_role_builtin(name))
        return fm_reply_json(r, 200, builtin_json(name));
    cJSON *o = NULL;
    int rc = fm_dbq_read_obj(db_of(r), ROLE_SELECT "WHERE tenant_id = ? AND name = ?", ROLE_HINTS, &o, "ss",
                             fm_req_tenant(r), name);
    return one_reply(r, rc, o, "role", name);
}

static const fm_field_t role_fields[] = {
    { "name", FM_F_STRING, true, 1, 64, ROLE_CHARS },
    { "description", FM_F_STRING, false, 0, 500, NULL },
    { "grants", FM_F_ARRAY, true, 0, 0, NULL },
};

/* Grants are "area:action" (with * on either side) and an optional "|condition". */
static bool grants_ok(fm_req_t *r, const cJSON *grants)
{
    int n = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, grants) {
        n++;
        const char *s = cJSON_IsString(g) ? g->valuestring : NULL;
        const char *bar = s ? strchr(s, '|') : NULL;
        size_t head = s ? (bar ? (size_t)(bar - s) : strlen(s)) : 0;
        bool ok = s && head > 0 && head < 100 && strlen(s) < 400 &&
                  ((head == 1 && s[0] == '*') || memchr(s, ':', head)) && (!bar || fm_condition_valid(bar + 1));
        if (!ok) {
            char d[160];
            snprintf(d, sizeof(d), "grant %d is not 'area:action' with an optional '|condition'", n);
            fm_reply_invalid(r, "grants", d);
            return false;
        }
    }
    if (n == 0 || n > 200) {
        fm_reply_invalid(r, "grants", "must hold 1 to 200 grants");
        return false;
    }
    return true;
}

static int role_write(fm_req_t *r, bool create)
{
    const cJSON *j = fm_req_json(r);
    const char *name = create ? str(j, "name") : fm_req_param(r, "name");
    if (fm_role_builtin(name))
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "'%s' is a built-in role", name);
    const cJSON *grants = cJSON_GetObjectItemCaseSensitive(j, "grants");
    if (!grants_ok(r, grants))
        return FM_OK;
    char now[32];
    fm_time_rfc3339(now);
    const char *desc = str(j, "description") ? str(j, "description") : "";
    int rc;
    if (create)
        rc = fm_dbq_write(db_of(r), "INSERT INTO roles(tenant_id, name, description, grants, created_at) "
                                    "VALUES (?, ?, ?, ?, ?)", "sssjs", fm_req_tenant(r), name, desc, grants, now);
    else
        rc = fm_dbq_write(db_of(r), "UPDATE roles SET description = ?, grants = ? WHERE tenant_id = ? AND name = ?",
                          "sjss", desc, grants, fm_req_tenant(r), name);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "role '%s' exists", name);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no role '%s'", name);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "description", desc);
    cJSON_AddItemToObject(o, "grants", cJSON_Duplicate(grants, 1));
    cJSON_AddBoolToObject(o, "builtIn", false);
    if (create) {
        char loc[128];
        snprintf(loc, sizeof(loc), "/auth/roles/%s", name);
        fm_reply_header(r, "Location", loc);
    }
    return fm_reply_json(r, create ? 201 : 200, o);
}

int auth_roles_create(fm_req_t *r)
{
    return fm_req_check(r, role_fields, 3) ? FM_OK : role_write(r, true);
}

int auth_roles_update(fm_req_t *r)
{
    if (!put_complete(r, role_fields + 1, 2, "role"))
        return FM_OK;
    return fm_req_check(r, role_fields + 1, 2) ? FM_OK : role_write(r, false);
}

static const fm_field_t role_patch_fields[] = {
    { "description", FM_F_STRING, false, 0, 500, NULL },
    { "grants", FM_F_ARRAY, false, 0, 0, NULL },
};

/* PATCH /auth/roles/{name}: description and/or grants; the rest stays. */
int auth_roles_patch(fm_req_t *r)
{
    if (fm_req_check(r, role_patch_fields, 2))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    const char *name = fm_req_param(r, "name");
    if (fm_role_builtin(name))
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "'%s' is a built-in role", name);
    const cJSON *grants = cJSON_GetObjectItemCaseSensitive(j, "grants");
    if (grants && !grants_ok(r, grants))
        return FM_OK;
    /* a field not sent binds NULL: coalesce keeps the column */
    int rc = fm_dbq_write(db_of(r), "UPDATE roles SET description = coalesce(?, description), "
                                    "grants = coalesce(?, grants) WHERE tenant_id = ? AND name = ?",
                          "sjss", str(j, "description"), grants, fm_req_tenant(r), name);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no role '%s'", name);
    return rc == FM_OK ? auth_roles_get(r) : rc;
}

int auth_roles_delete(fm_req_t *r)
{
    const char *name = fm_req_param(r, "name");
    if (fm_role_builtin(name))
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "'%s' is a built-in role", name);
    int rc = fm_dbq_write(db_of(r), "DELETE FROM roles WHERE tenant_id = ? AND name = ?", "ss", fm_req_tenant(r), name);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no role '%s'", name);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- service accounts ---- */

int auth_accounts_list(fm_req_t *r)
{
    cJSON *rows = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), "SELECT id, name, roles, created_at AS \"createdAt\" FROM service_accounts "
                                         "WHERE tenant_id = ? ORDER BY name", "ssjs", rows, "s", fm_req_tenant(r));
    return list_or(r, rc, rows);
}

static const fm_field_t account_fields[] = {
    { "name", FM_F_STRING, true, 1, 64, ROLE_CHARS },
    { "roles", FM_F_ARRAY, false, 0, 0, NULL },
};

int auth_accounts_create(fm_req_t *r)
{
    if (fm_req_check(r, account_fields, 2))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    cJSON *roles = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(j, "roles"), 1);
    if (!roles) {
        roles = cJSON_CreateArray();
        cJSON_AddItemToArray(roles, cJSON_CreateString("service"));
    }
    if (!roles_ok(r, roles)) {
        cJSON_Delete(roles);
        return FM_OK;
    }
    unsigned char raw[32];
    char key[80] = "fmk_", hash[65], id[48], now[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(key + 4, sizeof(key) - 4, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    auth_sha256_hex(key, hash);
    fm_id_random("sa", id, sizeof(id));
    fm_time_rfc3339(now);
    int rc = fm_dbq_write(db_of(r), "INSERT INTO service_accounts(id, tenant_id, name, key_hash, roles, created_at) "
                                    "VALUES (?, ?, ?, ?, ?, ?)", "ssssjs", id, fm_req_tenant(r), str(j, "name"), hash,
                          roles, now);
    if (rc != FM_OK) {
        cJSON_Delete(roles);
        if (rc == FM_ECONFLICT)
            return fm_reply_problem(r, 409, NULL, NULL, NULL, "a service account '%s' exists", str(j, "name"));
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "name", str(j, "name"));
    cJSON_AddItemToObject(o, "roles", roles);
    cJSON_AddStringToObject(o, "apiKey", key);   /* shown once; only its hash is kept */
    cJSON_AddStringToObject(o, "createdAt", now);
    sodium_memzero(key, sizeof(key));
    char loc[96];
    snprintf(loc, sizeof(loc), "/auth/service-accounts/%s", id);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, o);
}

int auth_accounts_delete(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    int rc = fm_dbq_write(db_of(r), "DELETE FROM service_accounts WHERE tenant_id = ? AND id = ?", "ss",
                          fm_req_tenant(r), id);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no service account '%s'", id);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- groups and their members ---- */

#define GROUP_SELECT "SELECT g.name, g.description, g.created_at AS \"createdAt\", " \
                     "(SELECT count(*) FROM group_members m WHERE m.tenant_id = g.tenant_id " \
                     "AND m.group_name = g.name) AS members FROM user_groups g "
#define GROUP_HINTS "sssi"
#define MAX_GROUPS_PER_TENANT 10000

int auth_groups_list(fm_req_t *r)
{
    cJSON *rows = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), GROUP_SELECT "WHERE g.tenant_id = ? ORDER BY g.name", GROUP_HINTS, rows,
                               "s", fm_req_tenant(r));
    return list_or(r, rc, rows);
}

/* The group as GET shows it, or a 404 naming it. */
static int group_reply(fm_req_t *r, const char *name, int status)
{
    cJSON *o = NULL;
    int rc = fm_dbq_read_obj(db_of(r), GROUP_SELECT "WHERE g.tenant_id = ? AND g.name = ?", GROUP_HINTS, &o, "ss",
                             fm_req_tenant(r), name);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no group '%s'", name);
    return rc == FM_OK ? fm_reply_json(r, status, o) : rc;
}

int auth_groups_get(fm_req_t *r)
{
    return group_reply(r, fm_req_param(r, "name"), 200);
}

static const fm_field_t group_fields[] = {
    { "name", FM_F_STRING, true, 1, 64, ROLE_CHARS },
    { "description", FM_F_STRING, false, 0, 500, NULL },
};

int auth_groups_create(fm_req_t *r)
{
    if (fm_req_check(r, group_fields, 2))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    const char *name = str(j, "name");
    if (!strcmp(name, "me"))
        return fm_reply_invalid(r, "name", "'me' stands for the caller in task filters; pick another name");
    int64_t n = 0;
    int rc = fm_dbq_read_int(db_of(r), "SELECT count(*) FROM user_groups WHERE tenant_id = ?", &n, "s",
                             fm_req_tenant(r));
    if (rc != FM_OK)
        return rc;
    if (n >= MAX_GROUPS_PER_TENANT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "this tenant has %d groups, the most it may have",
                                MAX_GROUPS_PER_TENANT);
    char now[32];
    fm_time_rfc3339(now);
    rc = fm_dbq_write(db_of(r), "INSERT INTO user_groups(tenant_id, name, description, created_at) VALUES (?, ?, ?, ?)",
                      "ssss", fm_req_tenant(r), name, str(j, "description") ? str(j, "description") : "", now);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "group '%s' exists", name);
    if (rc != FM_OK)
        return rc;
    char loc[128];
    snprintf(loc, sizeof(loc), "/auth/groups/%s", name);
    fm_reply_header(r, "Location", loc);
    return group_reply(r, name, 201);
}

/* PUT /auth/groups/{name} {description}: the whole group (its members are their own
 * resource); PATCH: the same fields, each optional. */
int auth_groups_update(fm_req_t *r)
{
    if (!put_complete(r, group_fields + 1, 1, "group"))
        return FM_OK;
    return auth_groups_patch(r);
}

int auth_groups_patch(fm_req_t *r)
{
    if (fm_req_check(r, group_fields + 1, 1))
        return FM_OK;
    const char *name = fm_req_param(r, "name");
    int rc = fm_dbq_write(db_of(r), "UPDATE user_groups SET description = coalesce(?, description) "
                                    "WHERE tenant_id = ? AND name = ?",
                          "sss", str(fm_req_json(r), "description"), fm_req_tenant(r), name);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no group '%s'", name);
    return rc == FM_OK ? group_reply(r, name, 200) : rc;
}

int auth_groups_delete(fm_req_t *r)
{
    const char *name = fm_req_param(r, "name");
    int rc = fm_dbq_write(db_of(r), "DELETE FROM user_groups WHERE tenant_id = ? AND name = ?", "ss", fm_req_tenant(r),
                          name);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no group '%s'", name);
    if (rc != FM_OK)
        return rc;
    fm_dbq_write(db_of(r), "DELETE FROM group_members WHERE tenant_id = ? AND group_name = ?", "ss", fm_req_tenant(r),
                 name);
    return fm_reply_status(r, 204);
}

/* 404 (and false) unless the group of the path exists in the caller's tenant. */
static bool group_exists(fm_req_t *r, int *rc)
{
    const char *name = fm_req_param(r, "name");
    *rc = fm_dbq_read_one(db_of(r), "SELECT 1 FROM user_groups WHERE tenant_id = ? AND name = ?", NULL, NULL, "ss",
                          fm_req_tenant(r), name);
    bool found = *rc == FM_OK;
    if (*rc == FM_ENOTFOUND)
        *rc = fm_reply_problem(r, 404, NULL, NULL, NULL, "no group '%s'", name);
    return found;
}

int auth_members_list(fm_req_t *r)
{
    int rc;
    if (!group_exists(r, &rc))
        return rc;
    cJSON *rows = cJSON_CreateArray();
    rc = fm_dbq_read_array(db_of(r), "SELECT u.id, u.email, u.name, m.added_at AS \"addedAt\" FROM group_members m "
                                     "JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id "
                                     "WHERE m.tenant_id = ? AND m.group_name = ? ORDER BY u.email",
                           "ssss", rows, "ss", fm_req_tenant(r), fm_req_param(r, "name"));
    return list_or(r, rc, rows);
}

static const fm_field_t member_fields[] = {
    { "userId", FM_F_STRING, true, 1, 48, NULL },
};

/* POST /auth/groups/{name}/members {userId}: 201 when added, 200 when already in. */
int auth_members_add(fm_req_t *r)
{
    if (fm_req_check(r, member_fields, 1))
        return FM_OK;
    int rc;
    if (!group_exists(r, &rc))
        return rc;
    const char *uid = str(fm_req_json(r), "userId"), *name = fm_req_param(r, "name");
    auth_user_t u;
    rc = auth_user_by_id(db_of(r), fm_req_tenant(r), uid, &u);
    auth_user_release(&u);
    if (rc == FM_ENOTFOUND)
        return fm_reply_invalid(r, "userId", "names no user of this tenant");
    if (rc != FM_OK)
        return rc;
    cJSON *mine = cJSON_CreateArray();
    rc = auth_user_groups(db_of(r), fm_req_tenant(r), uid, mine);
    bool already = false;
    const cJSON *g;
    cJSON_ArrayForEach(g, mine)
        already = already || !strcmp(g->valuestring, name);
    int count = cJSON_GetArraySize(mine);
    cJSON_Delete(mine);
    if (rc != FM_OK)
        return rc;
    if (!already && count >= FM_GROUPS_MAX)
        return fm_reply_problem(r, 409, NULL, NULL, NULL,
                                "the user is in %d groups, the most one may be in (all travel in the token)",
                                FM_GROUPS_MAX);
    if (!already) {
        char now[32];
        fm_time_rfc3339(now);
        rc = fm_dbq_write(db_of(r), "INSERT INTO group_members(tenant_id, group_name, user_id, added_at) "
                                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          "ssss", fm_req_tenant(r), name, uid, now);
        if (rc != FM_OK && rc != FM_ENOTFOUND)
            return rc;
        char loc[200];
        snprintf(loc, sizeof(loc), "/auth/groups/%s/members/%s", name, uid);
        fm_reply_header(r, "Location", loc);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "group", name);
    cJSON_AddStringToObject(o, "userId", uid);
    return fm_reply_json(r, already ? 200 : 201, o);
}

int auth_members_remove(fm_req_t *r)
{
    int rc;
    if (!group_exists(r, &rc))
        return rc;
    const char *uid = fm_req_param(r, "userId");
    rc = fm_dbq_write(db_of(r), "DELETE FROM group_members WHERE tenant_id = ? AND group_name = ? AND user_id = ?",
                      "sss", fm_req_tenant(r), fm_req_param(r, "name"), uid);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "'%s' is not a member of group '%s'", uid,
                                fm_req_param(r, "name"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}
