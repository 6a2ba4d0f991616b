/*
 * sso_register.c — OAuth 2.0 Dynamic Client Registration (RFC 7591, `POST /sso/register`)
 * and Authorization Server Metadata (RFC 8414, `/.well-known/oauth-authorization-server`),
 * so that an MCP client can register itself and sign a person in with code + PKCE
 * (docs/mcp.md "Auth", docs/auth.md).
 *
 * Open registration makes public clients only (token_endpoint_auth_method "none"; PKCE
 * is required of every client anyway), in the platform tenant, whose clients sign in
 * users of every tenant, each user still typing their own credentials on our page.
 * Bounded: 1 to 5 redirect URIs under the same rules as the admin API (https, http to a
 * loopback host, or a private-use scheme), a name of at most 128 characters, and at
 * most SSO_REGISTERED_MAX clients in the platform tenant. Errors are RFC 7591 §3.2.2
 * JSON ({error, error_description}), as OAuth clients expect.
 */
#include "sso_int.h"

#include "../../auth/fm_auth.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSO_REGISTERED_MAX 1000
#define REGISTER_URIS_MAX 5

static int reg_error(fm_req_t *r, int status, const char *error, const char *desc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "error_description", desc);
    return fm_reply_json(r, status, o);
}

/* A metadata member that must be an array of strings, each one of `allowed`. */
static const char *only_values(const cJSON *j, const char *name, const char *const *allowed)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name), *e;
    if (!v)
        return NULL;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 8)
        return "must be an array of at most 8 strings";
    cJSON_ArrayForEach(e, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && cJSON_IsString(e); a++)
            ok |= !strcmp(e->valuestring, *a);
        if (!ok)
            return "holds a value this provider does not support";
    }
    return NULL;
}

int sso_register(fm_req_t *r)
{
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    cJSON *j = len ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return reg_error(r, 400, "invalid_client_metadata", "the body must be a JSON object of client metadata");
    }
    char desc[300];
    const char *err = "invalid_client_metadata", *why = NULL;
    const cJSON *uris = cJSON_GetObjectItemCaseSensitive(j, "redirect_uris");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "client_name");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(j, "token_endpoint_auth_method");
    static const char *const grants[] = { "authorization_code", "refresh_token", NULL };
    static const char *const types[] = { "code", NULL };
    int n = cJSON_GetArraySize(uris);
    *desc = 0;
    if (!cJSON_IsArray(uris) || n < 1 || n > REGISTER_URIS_MAX) {
        err = "invalid_redirect_uri";
        snprintf(desc, sizeof(desc), "redirect_uris must be an array of 1 to %d URIs", REGISTER_URIS_MAX);
    } else if (name && (!cJSON_IsString(name) || !*name->valuestring || strlen(name->valuestring) > 128)) {
        snprintf(desc, sizeof(desc), "client_name must be a string of 1 to 128 characters");
    } else if (method && (!cJSON_IsString(method) || strcmp(method->valuestring, "none"))) {
        snprintf(desc, sizeof(desc), "token_endpoint_auth_method must be \"none\": registration makes public "
                 "clients only (PKCE protects their codes)");
    } else if ((why = only_values(j, "grant_types", grants))) {
        snprintf(desc, sizeof(desc), "grant_types %s (authorization_code, refresh_token)", why);
    } else if ((why = only_values(j, "response_types", types))) {
        snprintf(desc, sizeof(desc), "response_types %s (code)", why);
    } else {
        const cJSON *u;
        int i = 0;
        cJSON_ArrayForEach(u, uris) {
            const char *bad = NULL;
            if (!cJSON_IsString(u))
                bad = "must be a string";
            else if (!sso_redirect_uri_ok(u->valuestring, &bad))
                ;
            else
                bad = NULL;
            if (bad) {
                err = "invalid_redirect_uri";
                snprintf(desc, sizeof(desc), "redirect_uris[%d] %s", i, bad);
                break;
            }
            i++;
        }
    }
    if (*desc) {
        cJSON_Delete(j);
        return reg_error(r, 400, err, desc);
    }
    fm_db_t *db = fm_req_mod(r)->db;
    cJSON *probe = cJSON_CreateArray();
    int total = 0;
    int rc = sso_client_list(db, SSO_PLATFORM_TENANT, 0, 1, probe, &total);
    cJSON_Delete(probe);
    if (rc == FM_OK && total >= SSO_REGISTERED_MAX) {
        cJSON_Delete(j);
        fm_reply_header(r, "Retry-After", "3600");
        return reg_error(r, 503, "temporarily_unavailable", "this provider keeps no more registered clients; "
                         "an administrator can delete unused ones (DELETE /sso/clients/{id})");
    }
    sso_client_t c;
    if (rc == FM_OK)
        rc = sso_client_insert(db, SSO_PLATFORM_TENANT, name ? name->valuestring : "MCP client (registered)", uris,
                               NULL, &c);
    cJSON_Delete(j);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "client_id", c.id);
    cJSON_AddNumberToObject(o, "client_id_issued_at", (double)(fm_time_unix_ms() / 1000));
    cJSON_AddStringToObject(o, "client_name", c.name);
    cJSON_AddItemToObject(o, "redirect_uris", cJSON_Duplicate(c.redirect_uris, 1));
    cJSON_AddStringToObject(o, "token_endpoint_auth_method", "none");
    cJSON_AddItemToObject(o, "grant_types", cJSON_CreateStringArray(grants, 2));
    cJSON_AddItemToObject(o, "response_types", cJSON_CreateStringArray(types, 1));
    sso_client_release(&c);
    return fm_reply_json(r, 201, o);
}
