/*
 * fm_auth.h — identity for every module on every port: Ed25519-signed JWTs (alg EdDSA),
 * the key ring they are checked against, roles and permissions with optional ABAC
 * conditions, argon2id passwords, and the token buckets of the gateway.
 *
 * The router (fm_http.c) calls fm__guard for every request: rate limits, then for a
 * route that is not FM_R_PUBLIC the bearer token, the X-Tenant-Id it must carry and the
 * route's permission. Handlers then read the caller with fm_req_principal and, for
 * FM_R_ABAC routes, decide with fm_authz on the resource's attributes.
 *
 * The auth module owns the keys (in its database) and installs them here; every module
 * verifies locally against this ring. Any thread may call any of this.
 */
#ifndef FM_AUTH_H
#define FM_AUTH_H

#include "../fm.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define FM_JWT_ISSUER_MAX 256
#define FM_AUDIENCE "flowmaster"
#define FM_GROUPS_MAX 32        /* groups a user may be in: all travel in the token */

/* The caller of a request, from its verified access token. Fixed buffers: no frees. */
typedef struct fm_principal {
    char sub[128];          /* user id, or "svc:<name>" for a service account */
    char tenant[72];
    char email[256];
    char service[64];       /* service account name, "" for people */
    char jti[64];
    int64_t exp;
    /* RFC 8707: the resource the token was issued for (an "aud" entry besides
     * FM_AUDIENCE, e.g. the MCP server's URL), "" for a platform token */
    char resource[256];
    char roles[512];        /* NUL-separated */
    int nroles;
    char groups[FM_GROUPS_MAX * 65];   /* NUL-separated group names (claim "groups") */
    int ngroups;
    int nperms;
    char perms[4096];       /* NUL-separated grants: "process:read", "task:work|resource.assignee == user.sub";
                               last, so a copy may stop where the grants end */
} fm_principal_t;

/* ---- key ring ---- */

typedef struct fm_key {
    char kid[64];
    unsigned char pk[32];
    unsigned char sk[64];
    bool has_sk;
    int64_t not_after;      /* unix seconds after which it no longer verifies; 0 = none */
} fm_key_t;

/* Replaces the ring; `active` names the key that signs (must have a secret key). */
int fm_keyring_set(const fm_key_t *keys, size_t n, const char *active);
bool fm_keyring_ready(void);                 /* a signing key is installed */
int fm_keyring_generation(void);             /* changes whenever the ring does */
cJSON *fm_keyring_jwks(void);               /* {"keys":[OKP/Ed25519 JWKs]}, caller frees */
void fm_key_generate(fm_key_t *k);           /* fresh Ed25519 pair with a random kid */
/* The key store's hook (the auth module): fm_jwt_verify calls it, on any thread and
 * outside the ring's lock, when a token names a kid the ring lacks; it returns true
 * when it reloaded the ring (a key added by another process, e.g. `keys rotate`). */
void fm_keyring_on_unknown_kid(bool (*fn)(const char *kid));

/* ---- tokens ---- */

/* The issuer of every token: config auth.issuer, or http://<listen>:<8002 + offset>. */
void fm_jwt_issuer(char *out, size_t len);
/* Signs claims (copied; "iss" is set from the config) with the active key. Caller frees. */
char *fm_jwt_sign(const cJSON *claims);
/* Verifies signature, alg, kid, iss, aud, exp/nbf (with the configured leeway).
 * On success *claims (may be NULL) gets the payload (caller deletes). why names the
 * failure: "expired", "bad signature", ... */
int fm_jwt_verify(const char *token, cJSON **claims, char *why, size_t whylen);
/* Fills p from verified claims; FM_EINVAL when required claims are missing. */
int fm_principal_from_claims(const cJSON *claims, fm_principal_t *p);

/* ---- roles, permissions, conditions ---- */

/* Grants of a built-in role (NULL-terminated), or NULL when the role is not built in. */
const char *const *fm_role_builtin(const char *role);
/* grant "a:b" / "a:*" / "*:b" / "*" (its condition, after '|', ignored) covers perm. */
bool fm_grant_covers(const char *grant, const char *perm);

typedef enum { FM_AUTHZ_DENY = 0, FM_AUTHZ_ALLOW = 1, FM_AUTHZ_IF = 2 } fm_authz_t;
/* What p may do about perm without looking at a resource: ALLOW (an unconditional
 * grant), IF (only conditional grants: the handler must call fm_authz), or DENY. */
fm_authz_t fm_authz_static(const fm_principal_t *p, const char *perm);
/* The ABAC decision: true when an unconditional grant covers perm or a conditional
 * one's condition holds for this principal and resource (an object of attributes).
 * Conditions: `resource.X == user.Y`, `!=`, `resource.X in user.Y` (Y a list),
 * joined with `&&`. user.* are sub, tenant, email, service, roles, groups. */
bool fm_authz(const fm_principal_t *p, const char *perm, const cJSON *resource);
/* Syntax check for a grant's condition (custom roles are checked when saved). */
bool fm_condition_valid(const char *cond);

/* ---- passwords (argon2id, libsodium crypto_pwhash) ---- */

#define FM_PASSWORD_HASH_MAX 128
int fm_password_hash(const char *password, char out[FM_PASSWORD_HASH_MAX]);
bool fm_password_verify(const char *hash, const char *password);

/* ---- for handlers ---- */

/* The verified caller; NULL on public routes without a token and for internal calls. */
const fm_principal_t *fm_req_principal(const fm_req_t *r);
/* 403 problem when fm_authz says no; FM_OK when allowed, FM_REPLIED after the 403. */
int fm_req_authz(fm_req_t *r, const char *perm, const cJSON *resource);

#endif
