/*
 * sso_authorize.c — the authorization endpoint: GET /sso/authorize checks the request
 * and shows a plain HTML sign-in form; POST /sso/authorize checks the credentials with
 * the auth module (POST /auth/login through fm_call, so its throttling applies to the
 * browser's address) and answers 302 to the client's redirect URI with a one-time code.
 *
 * Order of checks, as RFC 6749 §4.1.2.1 asks: until client_id and an exactly
 * registered redirect_uri are known, errors are an HTML page and never a redirect;
 * after that they go back to the client as ?error=...&state=....
 *
 * The form is bound to the browser and to the request: a random value in an HttpOnly,
 * SameSite=Strict cookie, repeated in a hidden field together with an expiry and an
 * HMAC over it and every OAuth parameter (key made at start), so another site cannot
 * post a sign-in and nobody can swap the parameters of a form they were shown.
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

static unsigned char form_key[32];   /* written once by the start hook, before HTTP */

/* The web apps (3000, 3001, 3002, 3005) sign in as one public client whose redirect
 * URIs are their roots on the loopback names, at this run's port offset. */
static int register_web_client(fm_mod_t *m)
{
    static const int ports[] = { 3000, 3001, 3002, 3005 };
    static const char *const hosts[] = { "127.0.0.1", "localhost" };
    cJSON *uris = cJSON_CreateArray();
    for (size_t h = 0; h < 2; h++)
        for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
            char uri[64];
            snprintf(uri, sizeof(uri), "http://%s:%d/", hosts[h], ports[i] + fm_cfg()->port_offset);
            cJSON_AddItemToArray(uris, cJSON_CreateString(uri));
        }
    int rc = sso_client_upsert_web(m->db, uris);
    cJSON_Delete(uris);
    return rc;
}

int sso_authorize_start(fm_mod_t *m)
{
    randombytes_buf(form_key, sizeof(form_key));
    return register_web_client(m);
}

/* ---- reading the request ---- */

typedef struct field {
    const char *name;
    size_t off, size;
} field_t;

#define F(n, member) { n, offsetof(sso_authz_t, member), sizeof(((sso_authz_t *)0)->member) }
static const field_t authz_fields[] = {
    F("response_type", response_type), F("client_id", client_id), F("redirect_uri", redirect_uri),
    F("scope", scope), F("state", state), F("nonce", nonce), F("code_challenge", code_challenge),
    F("code_challenge_method", code_challenge_method), F("resource", resource),
};
#define NFIELDS (sizeof(authz_fields) / sizeof(authz_fields[0]))

/* Which parameter was too long or given twice, for the error; NULL when all is well. */
static const char *read_query(fm_req_t *r, sso_authz_t *a)
{
    memset(a, 0, sizeof(*a));
    char *buf = malloc(8192);
    const char *bad = NULL;
    for (size_t i = 0; buf && i < NFIELDS; i++) {
        const field_t *f = &authz_fields[i];
        const char *v = fm_req_query(r, f->name, buf, 8192);
        if (!v)
            continue;
        if (strlen(v) >= f->size) {
            bad = bad ? bad : f->name;
            continue;
        }
        memcpy((char *)a + f->off, v, strlen(v) + 1);
    }
    free(buf);
    return bad;
}

static const char *read_form(const char *body, size_t len, sso_authz_t *a)
{
    memset(a, 0, sizeof(*a));
    const char *bad = NULL;
    for (size_t i = 0; i < NFIELDS; i++) {
        const field_t *f = &authz_fields[i];
        int n = sso_form_get(body, len, f->name, (char *)a + f->off, f->size);
        if (n == SSO_FORM_BAD || n == SSO_FORM_DUP) {
            ((char *)a + f->off)[0] = 0;
            bad = bad ? bad : f->name;
        }
    }
    return bad;
}

/* ---- pages ---- */

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s - FlowMaster</title>\n<style>\n"
    "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1b1f24;margin:0;line-height:1.5}\n"
    "main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border:1px solid #c9ced6;border-radius:6px}\n"
    "h1{font-size:1.4rem;margin:0 0 .5rem}\n"
    "label{display:block;font-weight:600;margin-top:1rem}\n"
    "input{display:block;width:100%%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #59616b;border-radius:4px}\n"
    "input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:2px}\n"
    "input[readonly]{background:#eef0f3}\n"
    "button{margin-top:1.5rem;width:100%%;padding:.6rem;font-size:1rem;font-weight:600;color:#fff;background:#1a5fb4;border:0;border-radius:4px;cursor:pointer}\n"
    "#error:not(:empty){margin:1rem 0 0;padding:.75rem;border:2px solid #a51d2d;color:#a51d2d;background:#fdf0f1;border-radius:4px}\n"
    "</style>\n</head>\n<body>\n<main>\n";

static int send_page(fm_req_t *r, int status, fm_buf_t *b)
{
    fm_buf_adds(b, "</main>\n</body>\n</html>\n");
    if (b->oom) {
        fm_buf_release(b);
        return FM_ENOMEM;
    }
    /* No scripts, no framing, no referrer carrying codes onward. */
    fm_reply_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
    fm_reply_header(r, "Referrer-Policy", "no-referrer");
    int rc = fm_reply_raw(r, status, "text/html; charset=utf-8", b->data, b->len);
    fm_buf_release(b);
    return rc;
}

/* The page for a request that cannot go back to the client. */
static int error_page(fm_req_t *r, int status, const char *detail)
{
    fm_log_t l;
    fm_log_begin(&l, FM_LOG_INFO, "sso: authorization request refused");
    fm_log_str(&l, "rid", fm_req_id(r));
    fm_log_str(&l, "detail", detail);
    fm_log_end(&l);
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_addf(&b, page_head, "Sign-in request not valid");
    fm_buf_adds(&b, "<h1>This sign-in request is not valid</h1>\n<p id=\"error\" role=\"alert\">");
    sso_html_esc(&b, detail);
    fm_buf_adds(&b, "</p>\n<p>Go back to the application you came from and try again. If this keeps "
                    "happening, tell its administrator: the application's FlowMaster client settings "
                    "do not match this request.</p>\n");
    return send_page(r, status, &b);
}

static void hidden(fm_buf_t *b, const char *name, const char *value)
{
    fm_buf_addf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    sso_html_esc(b, value);
    fm_buf_adds(b, "\">\n");
}

static bool is_https_issuer(void)
{
    char iss[FM_JWT_ISSUER_MAX];
    sso_issuer(iss, sizeof(iss));
    return !strncasecmp(iss, "https://", 8);
}

/* The browser's binding value: the cookie it has, or a new one set now. */
static void csrf_cookie(fm_req_t *r, char rand[64])
{
    const char *h = fm_req_header(r, "Cookie");
    if (h && sso_cookie(h, SSO_CSRF_COOKIE, rand, 64) && strlen(rand) == 43 && sso_pkce_challenge_ok(rand))
        return;     /* 43 base64url chars: one of ours (or harmless) */
    sso_random_token(rand);
    char set[160];
    snprintf(set, sizeof(set), SSO_CSRF_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", rand,
             SSO_FORM_TTL_S, is_https_issuer() ? "; Secure" : "");
    fm_reply_header(r, "Set-Cookie", set);
}

static int form_page(fm_req_t *r, int status, const sso_authz_t *a, const sso_client_t *c, const char *email,
                     const char *tenant, const char *error)
{
    char rand[64], token[160];
    csrf_cookie(r, rand);
    sso_form_token(form_key, fm_time_unix_ms() / 1000 + SSO_FORM_TTL_S, rand, a, token, sizeof(token));
    bool bound = strcmp(c->tenant, SSO_PLATFORM_TENANT) != 0;   /* its users only */
    const char *described = error ? " aria-describedby=\"error\"" : "";
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_addf(&b, page_head, "Sign in");
    fm_buf_adds(&b, "<h1>Sign in to FlowMaster</h1>\n<p>to continue to <strong>");
    sso_html_esc(&b, c->name);
    fm_buf_adds(&b, "</strong></p>\n<div id=\"error\" role=\"alert\">");
    sso_html_esc(&b, error);
    fm_buf_adds(&b, "</div>\n<form method=\"post\" action=\"authorize\">\n");
    for (size_t i = 0; i < NFIELDS; i++)
        hidden(&b, authz_fields[i].name, (const char *)a + authz_fields[i].off);
    hidden(&b, "form", token);
    fm_buf_addf(&b, "<label for=\"email\">Email</label>\n<input id=\"email\" name=\"email\" type=\"email\" "
                    "autocomplete=\"username\" required maxlength=\"254\"%s%s value=\"",
                described, email && *email ? "" : " autofocus");
    sso_html_esc(&b, email);
    fm_buf_addf(&b, "\">\n<label for=\"password\">Password</label>\n<input id=\"password\" name=\"password\" "
                    "type=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\"%s%s>\n",
                described, email && *email ? " autofocus" : "");
    fm_buf_addf(&b, "<label for=\"tenant\">Tenant</label>\n<input id=\"tenant\" name=\"tenant\" type=\"text\" "
                    "autocomplete=\"organization\" required maxlength=\"64\"%s%s value=\"",
                described, bound ? " readonly" : "");
    sso_html_esc(&b, tenant && *tenant && !bound ? tenant : c->tenant);
    fm_buf_adds(&b, "\">\n<button type=\"submit\">Sign in</button>\n</form>\n");
    return send_page(r, status, &b);
}

/* ---- redirects back to the client ---- */

static void add_param(fm_buf_t *b, bool *first, const char *name, const char *value)
{
    fm_buf_adds(b, *first ? "" : "&");
    *first = false;
    fm_buf_adds(b, name);
    fm_buf_adds(b, "=");
    sso_url_esc(b, value);
}

/* 302 to redirect_uri with params (name, value pairs, NULL-terminated; empty values
 * are left out), state and iss (RFC 9207) added. */
static int redirect(fm_req_t *r, const sso_authz_t *a, const char *const *params)
{
    char iss[FM_JWT_ISSUER_MAX];
    sso_issuer(iss, sizeof(iss));
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_adds(&b, a->redirect_uri);
    size_t n = strlen(a->redirect_uri);
    bool first = true;
    if (!strchr(a->redirect_uri, '?'))
        fm_buf_adds(&b, "?");
    else if (a->redirect_uri[n - 1] != '?' && a->redirect_uri[n - 1] != '&')
        fm_buf_adds(&b, "&");
    for (; params[0]; params += 2)
        if (params[1] && *params[1])
            add_param(&b, &first, params[0], params[1]);
    if (*a->state)
        add_param(&b, &first, "state", a->state);
    add_param(&b, &first, "iss", iss);
    if (b.oom) {
        fm_buf_release(&b);
        return FM_ENOMEM;
    }
    fm_reply_header(r, "Location", b.data);
    fm_reply_header(r, "Referrer-Policy", "no-referrer");
    fm_buf_release(&b);
    return fm_reply_status(r, 302);
}

static int redirect_error(fm_req_t *r, const sso_authz_t *a, const char *error, const char *description)
{
    const char *params[] = { "error", error, "error_description", description, NULL };
    return redirect(r, a, params);
}

/* ---- the checks both methods share ---- */

/* Client and redirect URI; on failure the error page is sent and FM_REPLIED returned. */
static int check_client(fm_req_t *r, const sso_authz_t *a, const char *bad, sso_client_t *c)
{
    memset(c, 0, sizeof(*c));
    if (bad && (!strcmp(bad, "client_id") || !strcmp(bad, "redirect_uri"))) {
        char d[96];
        snprintf(d, sizeof(d), "The %s parameter is malformed, too long or repeated.", bad);
        error_page(r, 400, d);
        return FM_REPLIED;
    }
    if (!*a->client_id) {
        error_page(r, 400, "The request names no client (client_id is missing).");
        return FM_REPLIED;
    }
    int rc = sso_client_get(fm_req_mod(r)->db, NULL, a->client_id, c);
    if (rc == FM_ENOTFOUND) {
        error_page(r, 400, "The client named in this request is not registered with FlowMaster.");
        return FM_REPLIED;
    }
    if (rc != FM_OK)
        return rc;
    if (!*a->redirect_uri) {
        sso_client_release(c);
        error_page(r, 400, "The request has no redirect_uri.");
        return FM_REPLIED;
    }
    if (!sso_client_has_uri(c, a->redirect_uri)) {
        sso_client_release(c);
        error_page(r, 400, "The redirect_uri of this request is not one registered for this client.");
        return FM_REPLIED;
    }
    return FM_OK;
}

/* A query parameter is there, however long (fm_req_query says NULL for one that
 * does not fit its buffer). */
static bool has_query(fm_req_t *r, const char *name)
{
    char *buf = malloc(8192);
    bool there = buf && fm_req_query(r, name, buf, 8192);
    free(buf);
    return there;
}

/* The rest of the request, answered by an error redirect. FM_OK or FM_REPLIED. */
static int check_request(fm_req_t *r, const sso_authz_t *a, const char *bad)
{
    char d[128];
    const char *err = NULL, *desc = NULL;
    char prompt[64];
    const char *pr;
    if (bad) {
        snprintf(d, sizeof(d), "%s is malformed, too long or repeated", bad);
        err = "invalid_request", desc = d;
    } else if (!*a->response_type) {
        err = "invalid_request", desc = "response_type is required";
    } else if (strcmp(a->response_type, "code")) {
        err = "unsupported_response_type", desc = "only response_type=code is supported";
    } else if (!sso_scope_has(a->scope, "openid")) {
        err = "invalid_scope", desc = "scope must include openid";
    } else if (!*a->code_challenge) {
        err = "invalid_request", desc = "PKCE is required: send code_challenge and code_challenge_method=S256";
    } else if (strcmp(a->code_challenge_method, "S256")) {
        err = "invalid_request", desc = "code_challenge_method must be S256";
    } else if (!sso_pkce_challenge_ok(a->code_challenge)) {
        err = "invalid_request", desc = "code_challenge must be 43 characters of base64url (a SHA-256)";
    } else if (*a->resource && !sso_resource_ok(a->resource)) {
        err = "invalid_target", desc = "resource is not a resource this server issues tokens for (its MCP server URL)";
    } else if (fm_req_method(r) == FM_GET && has_query(r, "request")) {
        err = "request_not_supported", desc = "request objects are not supported";
    } else if (fm_req_method(r) == FM_GET && has_query(r, "request_uri")) {
        err = "request_uri_not_supported", desc = "request_uri is not supported";
    } else if (fm_req_method(r) == FM_GET && (pr = fm_req_query(r, "prompt", prompt, sizeof(prompt))) &&
               sso_scope_has(pr, "none")) {
        err = "login_required", desc = "FlowMaster keeps no sign-in session; the user must sign in";
    }
    if (!err)
        return FM_OK;
    redirect_error(r, a, err, desc);
    return FM_REPLIED;
}

int sso_authorize_get(fm_req_t *r)
{
    sso_authz_t a;
    sso_client_t c;
    const char *bad = read_query(r, &a);
    int rc = check_client(r, &a, bad, &c);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (check_request(r, &a, bad) == FM_OK) {
        char tenant[72] = "";
        const char *t = fm_req_query(r, "tenant", tenant, sizeof(tenant));
        form_page(r, 200, &a, &c, NULL, t == tenant ? tenant : "", NULL);
    }
    sso_client_release(&c);
    return FM_OK;
}

/* ---- sign-in ---- */

/* The scopes granted: the supported ones that were asked for. */
static void granted_scope(const char *asked, char *out, size_t len)
{
    static const char *const supported[] = { "openid", "email", "offline_access" };
    out[0] = 0;
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
        if (sso_scope_has(asked, supported[i]))
            snprintf(out + strlen(out), len - strlen(out), "%s%s", *out ? " " : "", supported[i]);
}

/* Credentials through the auth module; *tokens gets its JSON answer on 200. */
static int login(fm_req_t *r, const char *email, const char *password, const char *tenant, int *status,
                 cJSON **tokens)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "email", email);
    cJSON_AddStringToObject(body, "password", password);
    cJSON_AddStringToObject(body, "tenant", tenant);
    char *json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!json)
        return FM_ENOMEM;
    char *out = NULL;
    int rc = fm_call(r, FM_POST, "/auth/login", json, status, &out);
    sodium_memzero(json, strlen(json));
    cJSON_free(json);
    *tokens = rc == FM_OK && *status == 200 ? cJSON_Parse(out) : NULL;
    free(out);
    return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Makes the code for a successful login and redirects with it. */
static int issue_code(fm_req_t *r, const sso_authz_t *a, const cJSON *tokens)
{
    const char *access = jstr(tokens, "accessToken"), *refresh = jstr(tokens, "refreshToken");
    cJSON *claims = NULL;
    char why[64];
    if (!access || !refresh || fm_jwt_verify(access, &claims, why, sizeof(why)) != FM_OK)
        return fm_reply_problem(r, 502, NULL, NULL, NULL, "the auth module answered without valid tokens");
    char *bound = NULL;
    if (*a->resource) {     /* RFC 8707: the token is for that resource */
        bound = sso_bind_resource(access, a->resource);
        if (!bound) {
            cJSON_Delete(claims);
            return fm_reply_problem(r, 503, NULL, NULL, NULL, "no signing key is available");
        }
        access = bound;
    }
    sso_code_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.client_id, sizeof(c.client_id), "%s", a->client_id);
    snprintf(c.redirect_uri, sizeof(c.redirect_uri), "%s", a->redirect_uri);
    snprintf(c.challenge, sizeof(c.challenge), "%s", a->code_challenge);
    snprintf(c.nonce, sizeof(c.nonce), "%s", a->nonce);
    granted_scope(a->scope, c.scope, sizeof(c.scope));
    snprintf(c.tenant, sizeof(c.tenant), "%s", jstr(claims, "tenant") ? jstr(claims, "tenant") : "");
    snprintf(c.sub, sizeof(c.sub), "%s", jstr(claims, "sub") ? jstr(claims, "sub") : "");
    snprintf(c.email, sizeof(c.email), "%s", jstr(claims, "email") ? jstr(claims, "email") : "");
    char *roles = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(claims, "roles"));
    snprintf(c.roles, sizeof(c.roles), "%s", roles && strlen(roles) < sizeof(c.roles) ? roles : "[]");
    cJSON_free(roles);
    cJSON_Delete(claims);
    int64_t now = fm_time_unix_ms();
    c.auth_time = now / 1000;

    char code[44], hash[65];
    sso_random_token(code);
    sso_sha256_hex(code, hash);
    cJSON *seal = cJSON_CreateObject();
    cJSON_AddStringToObject(seal, "access", access);
    cJSON_AddStringToObject(seal, "refresh", refresh);
    if (bound) {
        sodium_memzero(bound, strlen(bound));
        free(bound);
    }
    char *text = cJSON_PrintUnformatted(seal);
    cJSON_Delete(seal);
    int rc = text ? sso_seal(code, text, &c.sealed, &c.sealed_len) : FM_ENOMEM;
    if (text) {
        sodium_memzero(text, strlen(text));
        cJSON_free(text);
    }
    if (rc == FM_OK)
        rc = sso_code_insert(fm_req_mod(r)->db, hash, &c, now);
    sso_code_release(&c);
    if (rc != FM_OK)
        return rc;
    const char *params[] = { "code", code, NULL };
    return redirect(r, a, params);
}

int sso_authorize_post(fm_req_t *r)
{
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    const char *ctype = fm_req_header(r, "Content-Type");
    if (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33))
        return error_page(r, 415, "The sign-in form must be sent as application/x-www-form-urlencoded.");
    sso_authz_t a;
    sso_client_t c;
    const char *bad = read_form(body, len, &a);
    int rc = check_client(r, &a, bad, &c);
    if (rc != FM_OK)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (check_request(r, &a, bad) != FM_OK) {
        sso_client_release(&c);
        return FM_OK;
    }
    char email[256] = "", password[1025] = "", tenant[72] = "", token[160] = "", rand[64];
    int ne = sso_form_get(body, len, "email", email, sizeof(email));
    int np = sso_form_get(body, len, "password", password, sizeof(password));
    int nt = sso_form_get(body, len, "tenant", tenant, sizeof(tenant));
    sso_form_get(body, len, "form", token, sizeof(token));
    const char *cookies = fm_req_header(r, "Cookie");
    bool bound = cookies && sso_cookie(cookies, SSO_CSRF_COOKIE, rand, sizeof(rand)) &&
                 sso_form_token_ok(form_key, token, rand, &a, fm_time_unix_ms() / 1000);
    if (ne < 0)
        email[0] = 0;
    if (nt < 0)
        tenant[0] = 0;
    if (!bound) {
        rc = form_page(r, 403, &a, &c, email, tenant,
                       "This sign-in form has expired or was not opened in this browser. Please sign in again.");
    } else if (ne <= 0 || np <= 0 || nt <= 0) {
        rc = form_page(r, 400, &a, &c, email, tenant, "Enter your email, password and tenant.");
    } else if (strcmp(c.tenant, SSO_PLATFORM_TENANT) && strcmp(c.tenant, tenant)) {
        /* A tenant's client signs in that tenant's users only; say no more than for a
         * wrong password. */
        rc = form_page(r, 401, &a, &c, email, c.tenant, "Incorrect email, password or tenant.");
    } else {
        int status = 0;
        cJSON *tokens = NULL;
        rc = login(r, email, password, tenant, &status, &tokens);
        if (rc == FM_OK && status == 200 && tokens) {
            rc = issue_code(r, &a, tokens);
        } else if (rc == FM_OK && status == 429) {
            rc = form_page(r, 429, &a, &c, email, tenant,
                           "Too many failed sign-in attempts. Wait a little, then try again.");
        } else if (rc == FM_OK && (status == 401 || status == 422)) {
            rc = form_page(r, 401, &a, &c, email, tenant, "Incorrect email, password or tenant.");
        } else if (rc == FM_OK) {
            rc = form_page(r, 503, &a, &c, email, tenant, "Sign-in is not available right now. Try again later.");
        }
        cJSON_Delete(tokens);
    }
    sodium_memzero(password, sizeof(password));
    sso_client_release(&c);
    return rc;
}
