/*
 * auth.c — Authentication Service (8002): tenants, users, roles, login and token issue/refresh/validation.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 3).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/auth/login", NULL, FM_R_PUBLIC|FM_R_JSON, NULL },
    { FM_POST, "/auth/refresh", NULL, FM_R_PUBLIC|FM_R_JSON, NULL },
    { FM_POST, "/auth/logout", NULL, FM_R_JSON, "auth:session" },
    { FM_GET, "/auth/validate", NULL, 0, "auth:session" },
    { FM_GET, "/auth/tenants", NULL, 0, "auth:admin" },
    { FM_POST, "/auth/tenants", NULL, FM_R_JSON, "auth:admin" },
    { FM_GET, "/auth/users", NULL, 0, "auth:admin" },
    { FM_POST, "/auth/users", NULL, FM_R_JSON, "auth:admin" },
    { FM_GET, "/auth/users/{id}", NULL, 0, "auth:admin" },
    { FM_PUT, "/auth/users/{id}", NULL, FM_R_JSON, "auth:admin" },
    { FM_DELETE, "/auth/users/{id}", NULL, 0, "auth:admin" },
    { FM_GET, "/auth/roles", NULL, 0, "auth:admin" },
    { FM_POST, "/auth/roles", NULL, FM_R_JSON, "auth:admin" },
};

const fm_module_t fm_auth_module = {
    "auth", "Authentication Service", 8002, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
