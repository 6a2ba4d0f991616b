/*
 * sso_token.c — the token endpoint (POST /sso/token, form-encoded): the authorization
 * code grant with PKCE S256 and the refresh-token grant. Errors are RFC 6749 §5.2 JSON
 * ({error, error_description}; 400, or 401 for client authentication).
 *
 * A code works once: the row is marked used in the same transaction that reads it,
 * whatever the outcome. Presenting a code that was already used revokes the session
 * it started, as RFC 6749 §4.1.2 advises: its refresh token (unsealed with the code
 * just presented) goes to POST /auth/refresh twice, and the auth module revokes a
 * family whose used token comes back. Access tokens are stateless and stay valid until
 * they expire (auth.access_ttl_s).
 */
#include "sso_int.h"

#include "../../auth/fm_auth.h"
#include "../../fm_config.h"
#include "../../fm_log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int oauth_error(fm_req_t *r, int status, const char *error, const char *desc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "error_description", desc);
    fm_reply_header(r, "Pragma", "no-cache");
    return fm_reply_json(r, status, o);
}

typedef struct form {
    const char *body;
    size_t len;
    const char *dup;        /* first parameter given twice or malformed */
} form_t;

/* A form parameter into out: true when present and non-empty. */
static bool param(form_t *f, const char *name, char *out, size_t outlen)
{
    int n = sso_form_get(f->body, f->len, name, out, outlen);
    if (n == SSO_FORM_DUP || n == SSO_FORM_BAD) {
        if (!f->dup)
            f->dup = name;
        out[0] = 0;
        return false;
    }
    if (n < 0)
        out[0] = 0;
    return n > 0;
}

/* Client authentication (RFC 6749 §2.3): Basic, or client_id + client_secret in the
 * form, or client_id alone for a public client. FM_OK with c filled, or FM_REPLIED. */
static int client_fail(fm_req_t *r, bool basic, int status, const char *error, const char *desc)
{
    if (basic && status == 401)
        fm_reply_header(r, "WWW-Authenticate", "Basic realm=\"flowmaster\"");
    oauth_error(r, status, error, desc);
    return FM_REPLIED;
}

static int authenticate(fm_req_t *r, form_t *f, sso_client_t *c)
{
    memset(c, 0, sizeof(*c));
    char id[64] = "", secret[128] = "", fid[64], fsecret[128];
    const char *authz = fm_req_header(r, "Authorization");
    bool basic = authz && !strncasecmp(authz, "Basic ", 6);
    bool has_fid = param(f, "client_id", fid, sizeof(fid));
    bool has_fsecret = param(f, "client_secret", fsecret, sizeof(fsecret));
    if (f->dup) {
        char d[96];
        snprintf(d, sizeof(d), "%s is malformed, too long or repeated", f->dup);
        return client_fail(r, basic, 400, "invalid_request", d);
    }
    if (basic) {
        if (sso_basic_auth(authz, id, sizeof(id), secret, sizeof(secret)) != FM_OK)
            return client_fail(r, basic, 401, "invalid_client", "malformed Basic client credentials");
        if (has_fsecret || (has_fid && strcmp(fid, id)))
            return client_fail(r, basic, 400, "invalid_request", "use one client authentication method, not two");
    } else {
        snprintf(id, sizeof(id), "%s", has_fid ? fid : "");
        snprintf(secret, sizeof(secret), "%s", has_fsecret ? fsecret : "");
    }
    sodium_memzero(fsecret, sizeof(fsecret));
    int rc = *id ? sso_client_get(fm_req_mod(r)->db, NULL, id, c) : FM_ENOTFOUND;
    if (rc != FM_OK && rc != FM_ENOTFOUND)
        return rc;
    bool ok = rc == FM_OK;
    if (ok && c->confidential) {
        char h[65];
        sso_sha256_hex(secret, h);
        ok = *secret && sodium_memcmp(h, c->secret_hash, 64) == 0;
    } else if (ok && *secret) {
        ok = false;     /* a public client has no secret to present */
    }
    sodium_memzero(secret, sizeof(secret));
    if (!ok) {
        sso_client_release(c);
        return client_fail(r, basic, 401, "invalid_client", "client authentication failed");
    }
    return FM_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The ID token: for the client (aud), not for FlowMaster's own APIs, which accept
 * only aud "flowmaster". Caller frees. */
static char *id_token(const char *client_id, const char *sub, const char *tenant, const char *email,
                      const char *nonce, int64_t auth_time, int64_t exp)
{
    int64_t now = fm_time_unix_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", sub);
    cJSON_AddStringToObject(c, "aud", client_id);
    cJSON_AddStringToObject(c, "azp", client_id);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)exp);
    if (auth_time)
        cJSON_AddNumberToObject(c, "auth_time", (double)auth_time);
    if (nonce && *nonce)
        cJSON_AddStringToObject(c, "nonce", nonce);
    if (email && *email)
        cJSON_AddStringToObject(c, "email", email);
    cJSON_AddStringToObject(c, "tenant", tenant);
    char *t = fm_jwt_sign(c);
    cJSON_Delete(c);
    return t;
}

bool sso_resource_ok(const char *resource)
{
    char mcp[256];
    fm_local_url(9000, "/mcp", mcp, sizeof(mcp));
    fm_mod_t *m = fm_mods_find("mcp");
    return m && fm_mod_ready(m) && !strcmp(resource, mcp);
}

char *sso_bind_resource(const char *access, const char *resource)
{
    cJSON *claims = NULL;
    char why[64];
    if (fm_jwt_verify(access, &claims, why, sizeof(why)) != FM_OK)
        return NULL;
    cJSON *aud = cJSON_CreateArray();
    cJSON_AddItemToArray(aud, cJSON_CreateString(FM_AUDIENCE));
    cJSON_AddItemToArray(aud, cJSON_CreateString(resource));
    cJSON_ReplaceItemInObjectCaseSensitive(claims, "aud", aud);
    char *t = fm_jwt_sign(claims);
    cJSON_Delete(claims);
    return t;
}

/* The claims of an access token we just got, for exp and the subject. */
static cJSON *access_claims(const char *access)
{
    cJSON *claims = NULL;
    char why[64];
    return access && fm_jwt_verify(access, &claims, why, sizeof(why)) == FM_OK ? claims : NULL;
}

static int reply_tokens(fm_req_t *r, const sso_client_t *client, const char *access, const char *refresh,
                        const char *scope, const char *nonce, int64_t auth_time)
{
    cJSON *claims = access_claims(access);
    if (!claims)
        return oauth_error(r, 400, "invalid_grant", "the tokens of this grant are no longer valid");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    int64_t e = cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0, now = fm_time_unix_ms() / 1000;
    const char *sub = jstr(claims, "sub"), *tenant = jstr(claims, "tenant");
    if (!sub || !tenant) {
        cJSON_Delete(claims);
        return oauth_error(r, 400, "invalid_grant", "the tokens of this grant carry no subject");
    }
    /* A tenant's client serves that tenant's users only (the platform tenant's, all). */
    if (strcmp(client->tenant, SSO_PLATFORM_TENANT) && strcmp(client->tenant, tenant)) {
        cJSON_Delete(claims);
        return oauth_error(r, 400, "invalid_grant", "this grant belongs to another tenant");
    }
    char *idt = id_token(client->id, sub, tenant, jstr(claims, "email"), nonce, auth_time, e);
    cJSON_Delete(claims);
    if (!idt)
        return oauth_error(r, 503, "temporarily_unavailable", "no signing key is available");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", access);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    cJSON_AddNumberToObject(o, "expires_in", (double)(e > now ? e - now : 0));
    cJSON_AddStringToObject(o, "id_token", idt);
    if (refresh)
        cJSON_AddStringToObject(o, "refresh_token", refresh);
    if (scope)
        cJSON_AddStringToObject(o, "scope", scope);
    free(idt);
    fm_reply_header(r, "Pragma", "no-cache");
    return fm_reply_json(r, 200, o);
}

/* POST /auth/refresh in-process; *status and the parsed answer (on 200). */
static int auth_refresh(fm_req_t *r, const char *refresh, int *status, cJSON **answer)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "refreshToken", refresh);
    char *json = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (!json)
        return FM_ENOMEM;
    char *out = NULL;
    int rc = fm_call(r, FM_POST, "/auth/refresh", json, status, &out);
    cJSON_free(json);
    if (answer)
        *answer = rc == FM_OK && *status == 200 ? cJSON_Parse(out) : NULL;
    free(out);
    return rc;
}

/* A used code came back: end the session it started (see the top of the file). */
static void revoke(fm_req_t *r, const char *code, const sso_code_t *row)
{
    char *text = sso_unseal(code, row->sealed, row->sealed_len);
    cJSON *t = text ? cJSON_Parse(text) : NULL;
    const char *refresh = jstr(t, "refresh");
    int st1 = 0, st2 = 0;
    if (refresh) {
        auth_refresh(r, refresh, &st1, NULL);
        auth_refresh(r, refresh, &st2, NULL);    /* a used token: the family is revoked */
    }
    fm_log_t l;
    fm_log_begin(&l, FM_LOG_WARN, "sso: authorization code reused; its session is revoked");
    fm_log_str(&l, "rid", fm_req_id(r));
    fm_log_str(&l, "client", row->client_id);
    fm_log_str(&l, "tenant", row->tenant);
    fm_log_str(&l, "sub", row->sub);
    fm_log_int(&l, "refreshStatus", st2);
    fm_log_end(&l);
    cJSON_Delete(t);
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
}

static int grant_code(fm_req_t *r, form_t *f, const sso_client_t *client)
{
    char code[128], redirect_uri[SSO_URI_MAX + 1], verifier[160], hash[65];
    bool has_code = param(f, "code", code, sizeof(code));
    bool has_uri = param(f, "redirect_uri", redirect_uri, sizeof(redirect_uri));
    bool has_verifier = param(f, "code_verifier", verifier, sizeof(verifier));
    char resource[SSO_URI_MAX + 1];
    bool has_resource = param(f, "resource", resource, sizeof(resource));
    if (f->dup) {
        char d[96];
        snprintf(d, sizeof(d), "%s is malformed, too long or repeated", f->dup);
        return oauth_error(r, 400, "invalid_request", d);
    }
    if (!has_code)
        return oauth_error(r, 400, "invalid_request", "code is required");
    if (!has_uri)
        return oauth_error(r, 400, "invalid_request", "redirect_uri is required");
    if (!has_verifier)
        return oauth_error(r, 400, "invalid_request", "code_verifier is required (PKCE)");
    if (!sso_pkce_verifier_ok(verifier))
        return oauth_error(r, 400, "invalid_request", "code_verifier must be 43 to 128 unreserved characters");
    if (has_resource && !sso_resource_ok(resource))
        return oauth_error(r, 400, "invalid_target", "resource is not a resource this server issues tokens for");

    sso_code_t row;
    int outcome;
    sso_sha256_hex(code, hash);
    int rc = sso_code_take(fm_req_mod(r)->db, hash, fm_time_unix_ms(), &row, &outcome);
    if (rc != FM_OK)
        return rc;
    const char *err = NULL;
    if (outcome == SSO_CODE_UNKNOWN)
        err = "unknown authorization code";
    else if (outcome == SSO_CODE_REUSED)
        err = "authorization code already used; the session it started is revoked";
    else if (outcome == SSO_CODE_EXPIRED)
        err = "authorization code expired";
    else if (strcmp(row.client_id, client->id))
        err = "authorization code was issued to another client";
    else if (strcmp(row.redirect_uri, redirect_uri))
        err = "redirect_uri differs from the one of the authorization request";
    else if (!sso_pkce_s256_ok(verifier, row.challenge))
        err = "code_verifier does not match the code_challenge";
    if (outcome == SSO_CODE_REUSED)
        revoke(r, code, &row);
    if (err) {
        sso_code_release(&row);
        return oauth_error(r, 400, "invalid_grant", err);
    }
    char *text = sso_unseal(code, row.sealed, row.sealed_len);
    cJSON *t = text ? cJSON_Parse(text) : NULL;
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    if (!t) {
        sso_code_release(&row);
        return oauth_error(r, 500, "server_error", "the tokens of this code cannot be read");
    }
    rc = reply_tokens(r, client, jstr(t, "access"), jstr(t, "refresh"), row.scope, row.nonce, row.auth_time);
    cJSON_Delete(t);
    sso_code_release(&row);
    return rc;
}

static int grant_refresh(fm_req_t *r, form_t *f, const sso_client_t *client)
{
    char refresh[300], resource[SSO_URI_MAX + 1];
    bool has = param(f, "refresh_token", refresh, sizeof(refresh));
    bool has_resource = param(f, "resource", resource, sizeof(resource));
    if (f->dup || !has)
        return oauth_error(r, 400, "invalid_request", "refresh_token is required, once");
    if (has_resource && !sso_resource_ok(resource))
        return oauth_error(r, 400, "invalid_target", "resource is not a resource this server issues tokens for");
    int status = 0;
    cJSON *a = NULL;
    int rc = auth_refresh(r, refresh, &status, &a);
    if (rc != FM_OK)
        return rc;
    if (status != 200 || !a) {
        cJSON_Delete(a);
        if (status == 401 || status == 422)
            return oauth_error(r, 400, "invalid_grant", "the refresh token is unknown, expired, used or revoked");
        return oauth_error(r, 503, "temporarily_unavailable", "the auth service could not refresh the session");
    }
    char *bound = has_resource && jstr(a, "accessToken") ? sso_bind_resource(jstr(a, "accessToken"), resource) : NULL;
    if (has_resource && !bound) {
        cJSON_Delete(a);
        return oauth_error(r, 503, "temporarily_unavailable", "no signing key is available");
    }
    rc = reply_tokens(r, client, bound ? bound : jstr(a, "accessToken"), jstr(a, "refreshToken"), NULL, NULL, 0);
    free(bound);
    cJSON_Delete(a);
    return rc;
}

int sso_token(fm_req_t *r)
{
    const char *ctype = fm_req_header(r, "Content-Type");
    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33))
        return oauth_error(r, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    form_t f = { NULL, 0, NULL };
    f.body = fm_req_body(r, &f.len);
    char grant[64];
    bool has_grant = param(&f, "grant_type", grant, sizeof(grant));
    if (f.dup || !has_grant)
        return oauth_error(r, 400, "invalid_request", "grant_type is required, once");
    bool code = !strcmp(grant, "authorization_code"), refresh = !strcmp(grant, "refresh_token");
    if (!code && !refresh)
        return oauth_error(r, 400, "unsupported_grant_type",
                           "grant_type must be authorization_code or refresh_token");
    sso_client_t client;
    int rc = authenticate(r, &f, &client);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    rc = code ? grant_code(r, &f, &client) : grant_refresh(r, &f, &client);
    sso_client_release(&client);
    return rc;
}
