/*
 * sso.c — SSO Service (8002, /sso and /.well-known): FlowMaster as an OpenID Connect
 * provider (docs/auth.md, "SSO / OpenID Connect"). Authorization code flow with PKCE
 * S256 required, registered clients with exact redirect URIs, ID tokens signed like
 * access tokens (EdDSA, the auth module's key ring). This file: the route table,
 * discovery, the JWKS and userinfo. Every answer is Cache-Control: no-store.
 */
#include "sso_int.h"

#include "../../auth/fm_auth.h"

#include <stdio.h>
#include <string.h>

void sso_issuer(char *out, size_t len)
{
    fm_jwt_issuer(out, len);
    size_t n = strlen(out);
    while (n && out[n - 1] == '/')
        out[--n] = 0;
}

static cJSON *strings(const char *const *v, size_t n)
{
    return cJSON_CreateStringArray(v, (int)n);
}

#define STRINGS(...) strings((const char *const[]){ __VA_ARGS__ }, \
                             sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void add_url(cJSON *o, const char *key, const char *iss, const char *path)
{
    char url[FM_JWT_ISSUER_MAX + 64];
    snprintf(url, sizeof(url), "%s%s", iss, path);
    cJSON_AddStringToObject(o, key, url);
}

/* OpenID Connect discovery, and (oidc false) the RFC 8414 authorization server metadata:
 * the same members but the OpenID-only ones. */
static cJSON *metadata(bool oidc)
{
    char iss[FM_JWT_ISSUER_MAX];
    sso_issuer(iss, sizeof(iss));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "issuer", iss);
    add_url(o, "authorization_endpoint", iss, "/sso/authorize");
    add_url(o, "token_endpoint", iss, "/sso/token");
    add_url(o, "registration_endpoint", iss, "/sso/register");
    add_url(o, "jwks_uri", iss, "/.well-known/jwks.json");
    if (!oidc) {
        cJSON_AddItemToObject(o, "scopes_supported", STRINGS("openid", "email", "offline_access"));
        cJSON_AddItemToObject(o, "response_types_supported", STRINGS("code"));
        cJSON_AddItemToObject(o, "response_modes_supported", STRINGS("query"));
        cJSON_AddItemToObject(o, "grant_types_supported", STRINGS("authorization_code", "refresh_token"));
        cJSON_AddItemToObject(o, "code_challenge_methods_supported", STRINGS("S256"));
        cJSON_AddItemToObject(o, "token_endpoint_auth_methods_supported",
                              STRINGS("none", "client_secret_post", "client_secret_basic"));
        cJSON_AddBoolToObject(o, "authorization_response_iss_parameter_supported", true);
        return o;
    }
    add_url(o, "userinfo_endpoint", iss, "/sso/userinfo");
    cJSON_AddItemToObject(o, "scopes_supported", STRINGS("openid", "email", "offline_access"));
    cJSON_AddItemToObject(o, "response_types_supported", STRINGS("code"));
    cJSON_AddItemToObject(o, "response_modes_supported", STRINGS("query"));
    cJSON_AddItemToObject(o, "grant_types_supported", STRINGS("authorization_code", "refresh_token"));
    cJSON_AddItemToObject(o, "code_challenge_methods_supported", STRINGS("S256"));
    cJSON_AddItemToObject(o, "subject_types_supported", STRINGS("public"));
    cJSON_AddItemToObject(o, "id_token_signing_alg_values_supported", STRINGS("EdDSA"));
    cJSON_AddItemToObject(o, "token_endpoint_auth_methods_supported",
                          STRINGS("none", "client_secret_post", "client_secret_basic"));
    cJSON_AddItemToObject(o, "claims_supported", STRINGS("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
                                                         "azp", "email", "tenant", "roles"));
    cJSON_AddBoolToObject(o, "authorization_response_iss_parameter_supported", true);
    cJSON_AddBoolToObject(o, "request_parameter_supported", false);
    cJSON_AddBoolToObject(o, "claims_parameter_supported", false);
    return o;
}

static int discovery(fm_req_t *r)
{
    return fm_reply_json(r, 200, metadata(true));
}

static int as_metadata(fm_req_t *r)
{
    return fm_reply_json(r, 200, metadata(false));
}

static int jwks(fm_req_t *r)
{
    return fm_reply_json(r, 200, fm_keyring_jwks());
}

/* Public route with its own bearer check: OIDC clients call userinfo with nothing but
 * the access token (no X-Tenant-Id), so the router's tenant rule would turn them away.
 * A tenant header that is sent must still be the token's. */
static int userinfo(fm_req_t *r)
{
    const fm_principal_t *p = fm_req_principal(r);
    if (!p) {
        const char *h = fm_req_header(r, "Authorization");
        fm_reply_header(r, "WWW-Authenticate", h ? "Bearer realm=\"flowmaster\", error=\"invalid_token\""
                                                 : "Bearer realm=\"flowmaster\"");
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "authentication required: %s",
                                h ? "the access token is not valid" : "no bearer token");
    }
    const char *t = fm_req_header(r, "X-Tenant-Id");
    if (t && strcmp(t, p->tenant))
        return fm_reply_problem(r, 403, NULL, NULL, NULL, "this token is not valid for tenant '%s'", fm_req_tenant(r));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sub", p->sub);
    if (p->email[0])
        cJSON_AddStringToObject(o, "email", p->email);
    cJSON_AddStringToObject(o, "tenant", p->tenant);
    cJSON *roles = cJSON_AddArrayToObject(o, "roles");
    const char *role = p->roles;
    for (int i = 0; i < p->nroles; i++, role += strlen(role) + 1)
        cJSON_AddItemToArray(roles, cJSON_CreateString(role));
    return fm_reply_json(r, 200, o);
}

static const fm_route_t routes[] = {
    { FM_GET, "/.well-known/openid-configuration", discovery, FM_R_PUBLIC, NULL },
    { FM_GET, "/.well-known/oauth-authorization-server", as_metadata, FM_R_PUBLIC, NULL },
    { FM_GET, "/.well-known/jwks.json", jwks, FM_R_PUBLIC, NULL },
    { FM_POST, "/sso/register", sso_register, FM_R_PUBLIC | FM_R_BODY, NULL },
    { FM_GET, "/sso/authorize", sso_authorize_get, FM_R_PUBLIC, NULL },
    { FM_POST, "/sso/authorize", sso_authorize_post, FM_R_PUBLIC | FM_R_BODY, NULL },
    { FM_POST, "/sso/token", sso_token, FM_R_PUBLIC | FM_R_BODY, NULL },
    { FM_GET, "/sso/userinfo", userinfo, FM_R_PUBLIC, NULL },
    { FM_POST, "/sso/userinfo", userinfo, FM_R_PUBLIC, NULL },
    { FM_GET, "/sso/clients", sso_clients_list, 0, "auth:admin" },
    { FM_POST, "/sso/clients", sso_clients_create, FM_R_JSON, "auth:admin" },
    { FM_GET, "/sso/clients/{id}", sso_clients_get, 0, "auth:admin" },
    { FM_DELETE, "/sso/clients/{id}", sso_clients_delete, 0, "auth:admin" },
};

const fm_module_t fm_sso_module = {
    "sso", "SSO Service", 8002, FM_M_DB | FM_M_NOSTORE, FM_ROUTES(routes), NULL, sso_authorize_start, NULL,
};
