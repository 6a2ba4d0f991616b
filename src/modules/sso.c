/*
 * sso.c — SSO Service (8002): the OpenID Connect provider (authorization code + PKCE) on the auth port.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 3).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_GET, "/.well-known/openid-configuration", NULL, FM_R_PUBLIC, NULL },
    { FM_GET, "/.well-known/jwks.json", NULL, FM_R_PUBLIC, NULL },
    { FM_GET, "/sso/authorize", NULL, FM_R_PUBLIC, NULL },
    { FM_POST, "/sso/token", NULL, FM_R_PUBLIC|FM_R_BODY, NULL },
    { FM_GET, "/sso/userinfo", NULL, 0, "sso:userinfo" },
};

const fm_module_t fm_sso_module = {
    "sso", "SSO Service", 8002, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
