/*
 * sso_int.h — private to the SSO module (8002: /sso, /.well-known): the OpenID Connect
 * provider. sso.c has the route table, discovery, JWKS and userinfo; sso_clients.c the
 * client registry (admin API); sso_authorize.c the login page and authorization codes;
 * sso_token.c the token endpoint; sso_store.c the database (migrations/sso/);
 * sso_util.c the pure pieces (form decoding, PKCE, escaping, sealing) that
 * tests/unit/test_sso.c checks.
 *
 * Credentials are never checked here: the login form's email and password go to the
 * auth module's POST /auth/login through fm_call, and its tokens are what the client
 * gets. Until the code is redeemed they sit in the code's row, sealed with a key only
 * the code itself yields, so the database alone never holds a usable token.
 */
#ifndef SSO_INT_H
#define SSO_INT_H

#include "../modules.h"

#include "../../fm_buf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define SSO_CODE_TTL_MS 60000           /* an authorization code lives 60 s */
#define SSO_CODE_KEEP_MS 600000         /* rows stay 10 min more, to detect reuse */
#define SSO_FORM_TTL_S 900              /* a login form can be posted for 15 min */
#define SSO_PLATFORM_TENANT "default"   /* its clients accept users of every tenant */
#define SSO_CSRF_COOKIE "fm_sso_csrf"

#define SSO_URI_MAX 2048
#define SSO_STATE_MAX 512

/* ---- sso_util.c: pure helpers ---- */

enum { SSO_FORM_ABSENT = -1, SSO_FORM_DUP = -2, SSO_FORM_BAD = -3 };
/* Decodes application/x-www-form-urlencoded `s` (n bytes, '+' is a space) into out.
 * Returns the decoded length, or SSO_FORM_BAD (bad %-escape, a NUL, or too long). */
int sso_url_decode(const char *s, size_t n, char *out, size_t outlen);
/* Value of `name` in a form body: its length, SSO_FORM_ABSENT, SSO_FORM_DUP (given
 * more than once: RFC 6749 §3.1 forbids it) or SSO_FORM_BAD. */
int sso_form_get(const char *body, size_t len, const char *name, char *out, size_t outlen);
/* Value of cookie `name` in a Cookie header, copied to out; NULL when absent. */
const char *sso_cookie(const char *header, const char *name, char *out, size_t outlen);

/* RFC 7636: a code_challenge is 43 chars of base64url (a SHA-256); a verifier is 43 to
 * 128 unreserved characters. */
bool sso_pkce_challenge_ok(const char *challenge);
bool sso_pkce_verifier_ok(const char *verifier);
/* BASE64URL(SHA256(verifier)) == challenge (constant time), verifier well formed. */
bool sso_pkce_s256_ok(const char *verifier, const char *challenge);

void sso_b64url(const unsigned char *in, size_t n, char *out, size_t outlen);
void sso_sha256_hex(const char *s, char out[65]);
/* A random 32-byte secret, base64url (43 chars). */
void sso_random_token(char out[44]);

void sso_html_esc(fm_buf_t *b, const char *s);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
void sso_url_esc(fm_buf_t *b, const char *s);
/* https, http to a loopback host, or a private-use scheme with a dot (RFC 8252 §7.1);
 * absolute, no fragment, no credentials, at most SSO_URI_MAX. why says what is wrong. */
bool sso_redirect_uri_ok(const char *uri, const char **why);
/* `word` is one of the space-separated words of scope. */
bool sso_scope_has(const char *scope, const char *word);
/* "Basic base64(urlenc(id) ':' urlenc(secret))" (RFC 6749 §2.3.1). FM_OK or FM_EINVAL. */
int sso_basic_auth(const char *header, char *id, size_t idlen, char *secret, size_t secretlen);

/* Seals text with a key derived from `code` (XSalsa20-Poly1305); caller frees *out. */
int sso_seal(const char *code, const char *text, unsigned char **out, size_t *outlen);
/* Opens what sso_seal made; NULL when code is not the one or blob was altered. Caller frees. */
char *sso_unseal(const char *code, const unsigned char *blob, size_t len);

/* The parameters of an authorization request (GET query or the form's hidden fields). */
typedef struct sso_authz {
    char response_type[32];
    char client_id[64];
    char redirect_uri[SSO_URI_MAX + 1];
    char scope[512];
    char state[SSO_STATE_MAX + 1];
    char nonce[SSO_STATE_MAX + 1];
    char code_challenge[129];
    char code_challenge_method[16];
    char resource[SSO_URI_MAX + 1];     /* RFC 8707; "" when not asked */
} sso_authz_t;

/* The form binding: "<exp>.<rand>.<mac>", mac = HMAC-SHA256(key, exp.rand + every
 * parameter of a), where rand is also in the browser's SSO_CSRF_COOKIE. */
void sso_form_token(const unsigned char key[32], int64_t exp, const char *rand, const sso_authz_t *a,
                    char *out, size_t outlen);
/* The token is one sso_form_token made for these parameters, not past exp at `now`,
 * and its rand equals the cookie's. */
bool sso_form_token_ok(const unsigned char key[32], const char *token, const char *cookie_rand,
                       const sso_authz_t *a, int64_t now);

/* ---- sso_store.c ---- */

typedef struct sso_client {
    char id[64], tenant[72], name[129], created_at[32];
    char secret_hash[65];       /* "" for public clients */
    bool confidential;
    cJSON *redirect_uris;       /* owned */
} sso_client_t;

void sso_client_release(sso_client_t *c);
bool sso_client_has_uri(const sso_client_t *c, const char *uri);
/* The admin API's view: clientId, name, redirectUris, confidential, ... */
cJSON *sso_client_json(const sso_client_t *c);
int sso_client_insert(fm_db_t *db, const char *tenant, const char *name, const cJSON *uris,
                      const char *secret_hash, sso_client_t *out);
/* tenant NULL: any tenant (the OAuth endpoints know a client only by its global id). */
int sso_client_get(fm_db_t *db, const char *tenant, const char *id, sso_client_t *out);
int sso_client_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *into, int *total);
/* Deletes the client and its outstanding codes. */
int sso_client_delete(fm_db_t *db, const char *tenant, const char *id);
/* The web apps' public client, "cli_flowmaster_web", in the platform tenant. */
#define SSO_WEB_CLIENT_ID "cli_flowmaster_web"
int sso_client_upsert_web(fm_db_t *db, const cJSON *uris);

typedef struct sso_code {
    char client_id[64], tenant[72], redirect_uri[SSO_URI_MAX + 1], challenge[129];
    char nonce[SSO_STATE_MAX + 1], scope[512], sub[128], email[256];
    char roles[1024];           /* JSON array */
    int64_t auth_time;          /* unix seconds of the login */
    unsigned char *sealed;      /* owned: sso_seal of {"access","refresh"} */
    size_t sealed_len;
} sso_code_t;

void sso_code_release(sso_code_t *c);
/* Stores a code by its hash; expired rows past SSO_CODE_KEEP_MS go at the same time. */
int sso_code_insert(fm_db_t *db, const char *hash, const sso_code_t *c, int64_t now_ms);

enum { SSO_CODE_OK, SSO_CODE_UNKNOWN, SSO_CODE_EXPIRED, SSO_CODE_REUSED };
/* Finds the code by hash and marks it used in the same transaction, so it works once
 * whatever the outcome. *outcome says what it was; out is filled for OK, EXPIRED and
 * REUSED. Returns FM_OK or FM_EDB. */
int sso_code_take(fm_db_t *db, const char *hash, int64_t now_ms, sso_code_t *out, int *outcome);

/* ---- resource indicators (RFC 8707, sso_token.c) ---- */
/* A resource this provider issues tokens for: the MCP server's URL (fm_local_url(9000,
 * "/mcp")) while the MCP module runs. */
bool sso_resource_ok(const char *resource);
/* The access token again, its "aud" now [FM_AUDIENCE, resource] (same claims, same
 * expiry); caller frees. NULL when it cannot be read or signed. */
char *sso_bind_resource(const char *access, const char *resource);

/* ---- handlers ---- */
int sso_register(fm_req_t *r);
int sso_authorize_start(fm_mod_t *m);
int sso_authorize_get(fm_req_t *r);
int sso_authorize_post(fm_req_t *r);
int sso_token(fm_req_t *r);
int sso_clients_create(fm_req_t *r);
int sso_clients_list(fm_req_t *r);
int sso_clients_get(fm_req_t *r);
int sso_clients_delete(fm_req_t *r);

/* The issuer without a trailing slash, and endpoint URLs under it. */
void sso_issuer(char *out, size_t len);

#endif
