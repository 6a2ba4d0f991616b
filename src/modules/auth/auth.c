/*
 * auth.c — Authentication Service (8002): login, refresh with rotation, logout,
 * validation, service-account tokens, and the admin API for tenants, users, groups and
 * their members, roles, service accounts and signing keys (docs/auth.md). Its routes
 * answer with Cache-Control: no-store.
 */
#include "auth_module.h"

static const fm_route_t routes[] = {
    { FM_POST, "/auth/login", auth_login, FM_R_PUBLIC | FM_R_JSON, NULL },
    { FM_POST, "/auth/refresh", auth_refresh, FM_R_PUBLIC | FM_R_JSON, NULL },
    { FM_POST, "/auth/token", auth_token_exchange, FM_R_PUBLIC | FM_R_JSON, NULL },
    { FM_POST, "/auth/logout", auth_logout, FM_R_JSON, NULL },
    { FM_GET, "/auth/validate", auth_validate, 0, NULL },
    { FM_GET, "/auth/tenants", auth_tenants_list, 0, "auth:admin" },
    { FM_POST, "/auth/tenants", auth_tenants_create, FM_R_JSON, "auth:admin" },
    { FM_GET, "/auth/tenants/{id}", auth_tenants_get, 0, "auth:admin" },
    { FM_GET, "/auth/users", auth_users_list, 0, "auth:admin" },
    { FM_POST, "/auth/users", auth_users_create, FM_R_JSON, "auth:admin" },
    { FM_GET, "/auth/users/{id}", auth_users_get, 0, "auth:admin" },
    { FM_PUT, "/auth/users/{id}", auth_users_update, FM_R_JSON, "auth:admin" },
    { FM_PATCH, "/auth/users/{id}", auth_users_patch, FM_R_JSON, "auth:admin" },
    { FM_DELETE, "/auth/users/{id}", auth_users_delete, 0, "auth:admin" },
    { FM_GET, "/auth/roles", auth_roles_list, 0, "auth:read" },
    { FM_POST, "/auth/roles", auth_roles_create, FM_R_JSON, "auth:admin" },
    { FM_GET, "/auth/roles/{name}", auth_roles_get, 0, "auth:read" },
    { FM_PUT, "/auth/roles/{name}", auth_roles_update, FM_R_JSON, "auth:admin" },
    { FM_PATCH, "/auth/roles/{name}", auth_roles_patch, FM_R_JSON, "auth:admin" },
    { FM_DELETE, "/auth/roles/{name}", auth_roles_delete, 0, "auth:admin" },
    { FM_GET, "/auth/groups", auth_groups_list, 0, "auth:read" },
    { FM_POST, "/auth/groups", auth_groups_create, FM_R_JSON, "auth:admin" },
    { FM_GET, "/auth/groups/{name}", auth_groups_get, 0, "auth:read" },
    { FM_PUT, "/auth/groups/{name}", auth_groups_update, FM_R_JSON, "auth:admin" },
    { FM_PATCH, "/auth/groups/{name}", auth_groups_patch, FM_R_JSON, "auth:admin" },
    { FM_DELETE, "/auth/groups/{name}", auth_groups_delete, 0, "auth:admin" },
    { FM_GET, "/auth/groups/{name}/members", auth_members_list, 0, "auth:read" },
    { FM_POST, "/auth/groups/{name}/members", auth_members_add, FM_R_JSON, "auth:admin" },
    { FM_DELETE, "/auth/groups/{name}/members/{userId}", auth_members_remove, 0, "auth:admin" },
    { FM_GET, "/auth/service-accounts", auth_accounts_list, 0, "auth:admin" },
    { FM_POST, "/auth/service-accounts", auth_accounts_create, FM_R_JSON, "auth:admin" },
    { FM_DELETE, "/auth/service-accounts/{id}", auth_accounts_delete, 0, "auth:admin" },
    { FM_POST, "/auth/keys/rotate", auth_keys_rotate_route, 0, "auth:admin" },
};

const fm_module_t fm_auth_module = {
    "auth", "Authentication Service", 8002, FM_M_DB | FM_M_NOSTORE, FM_ROUTES(routes), NULL,
    auth_keys_start, auth_keys_stop,
};
