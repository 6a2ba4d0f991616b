/*
 * auth_module.h — private to the Authentication module (8002): the store of tenants,
 * users, groups, roles, refresh tokens, keys and service accounts (auth_store.c), token issue
 * (auth_tokens.c), key management (auth_keys.c) and the admin API (auth_admin.c).
 * auth_cli.c uses the same functions for `flowmaster user|keys|token`.
 */
#ifndef AUTH_MODULE_H
#define AUTH_MODULE_H

#include "../modules.h"

#include "../../auth/fm_auth.h"

#include <cjson/cJSON.h>

#define AUTH_SOURCE "/flowmaster/auth"
#define AUTH_PLATFORM_TENANT "default"   /* its admins manage tenants */
#define AUTH_EMAIL_CHARS NULL

/* ---- auth_store.c ---- */
typedef struct auth_user {
    char id[48], tenant[72], email[256], name[256], status[16];
    char hash[FM_PASSWORD_HASH_MAX];
    cJSON *roles;               /* array of role names, owned */
} auth_user_t;

void auth_user_release(auth_user_t *u);
int auth_user_by_email(fm_db_t *db, const char *tenant, const char *email, auth_user_t *u);
int auth_user_by_id(fm_db_t *db, const char *tenant, const char *id, auth_user_t *u);
cJSON *auth_user_json(const auth_user_t *u);
int auth_tenant_exists(fm_db_t *db, const char *id);
/* Creates tenant (when missing, if create_tenant) and user; FM_ECONFLICT on a taken email. */
int auth_user_create(fm_db_t *db, const char *tenant, const char *email, const char *name,
                     const char *password, const cJSON *roles, bool create_tenant, auth_user_t *out);
/* Grants of a role for the tenant (built-in or custom), appended to `into` (deduplicated). */
void auth_role_grants(fm_db_t *db, const char *tenant, const char *role, cJSON *into);
/* The names of the groups user_id belongs to (at most FM_GROUPS_MAX), appended to into. */
int auth_user_groups(fm_db_t *db, const char *tenant, const char *user_id, cJSON *into);
/* Roles that exist for this tenant: NULL if all do, else the first unknown name. */
const char *auth_roles_unknown(fm_db_t *db, const char *tenant, const cJSON *roles);

/* ---- auth_tokens.c ---- */
typedef struct auth_subject {
    const char *sub, *tenant, *email, *service;
    const cJSON *roles;
} auth_subject_t;
/* A signed access token for subject; caller frees. */
char *auth_access_token(fm_db_t *db, const auth_subject_t *s);
/* A new refresh token in `family` (NULL: a new family) for a user, written with w. */
typedef struct fm_dbc fm_dbc_t;     /* fm_dbq.h */
int auth_refresh_issue(fm_dbc_t *w, const char *tenant, const char *user_id, const char *family,
                       char out[64]);
void auth_sha256_hex(const char *s, char out[65]);

/* ---- auth_keys.c ---- */
/* Loop thread: checks the admin password setting and makes sure a signing key exists;
 * tenant `default` and its admin are created once every port is bound. */
int auth_bootstrap(fm_db_t *db);
/* Reads the keys from the database into the process key ring. */
int auth_keys_load(fm_db_t *db);
/* Adds a signing key; older ones verify until their tokens can no longer be valid. */
int auth_keys_rotate(fm_db_t *db, char kid_out[64]);
int auth_keys_start(fm_mod_t *m);
void auth_keys_stop(fm_mod_t *m);

/* ---- route handlers ---- */
int auth_login(fm_req_t *r);
int auth_refresh(fm_req_t *r);
int auth_logout(fm_req_t *r);
int auth_validate(fm_req_t *r);
int auth_token_exchange(fm_req_t *r);
int auth_tenants_list(fm_req_t *r);
int auth_tenants_create(fm_req_t *r);
int auth_tenants_get(fm_req_t *r);
int auth_users_list(fm_req_t *r);
int auth_users_create(fm_req_t *r);
int auth_users_get(fm_req_t *r);
int auth_users_update(fm_req_t *r);
int auth_users_delete(fm_req_t *r);
int auth_roles_list(fm_req_t *r);
int auth_roles_create(fm_req_t *r);
int auth_roles_get(fm_req_t *r);
int auth_roles_update(fm_req_t *r);
int auth_roles_delete(fm_req_t *r);
int auth_roles_patch(fm_req_t *r);
int auth_users_patch(fm_req_t *r);
int auth_groups_list(fm_req_t *r);
int auth_groups_create(fm_req_t *r);
int auth_groups_get(fm_req_t *r);
int auth_groups_update(fm_req_t *r);
int auth_groups_patch(fm_req_t *r);
int auth_groups_delete(fm_req_t *r);
int auth_members_list(fm_req_t *r);
int auth_members_add(fm_req_t *r);
int auth_members_remove(fm_req_t *r);
int auth_accounts_list(fm_req_t *r);
int auth_accounts_create(fm_req_t *r);
int auth_accounts_delete(fm_req_t *r);
int auth_keys_rotate_route(fm_req_t *r);

/* Login throttling (auth_tokens.c): growing delay per account and per client IP. */
/* The throttle's key for an account: tenant and e-mail, the e-mail case-folded as the
 * database compares it. */
void auth_account_key(const char *tenant, const char *email, char *key, size_t len);
bool auth_throttled(const char *key, int *retry_s);
void auth_throttle_fail(const char *key);
void auth_throttle_clear(const char *key);

#endif
