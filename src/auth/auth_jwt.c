/*
 * auth_jwt.c — JWTs signed with Ed25519 (RFC 8037 "EdDSA"), the key ring, and the JWKS
 * view of it. Verification is strict: exactly three parts, alg must be EdDSA (never
 * "none" or an HMAC alg a confused client might pick), the kid must be in the ring, and
 * iss, aud, exp and nbf must hold within the configured leeway.
 */
#include "fm_auth.h"

#include "../fm_config.h"
#include "../fm_id.h"
#include "../fm_json_check.h"
#include "../fm_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 16
#define MAX_TOKEN 8192

static pthread_rwlock_t ring_lock = PTHREAD_RWLOCK_INITIALIZER;
static fm_key_t ring[MAX_KEYS];
static size_t nring;
static int active = -1;
static atomic_int generation;   /* bumped on every change: caches of verified tokens reset */
static bool (*_Atomic on_unknown_kid)(const char *kid);

void fm_keyring_on_unknown_kid(bool (*fn)(const char *kid))
{
    atomic_store(&on_unknown_kid, fn);
}

/* Copies the public key of a kid that verifies at `now` into pk. */
static bool ring_find(const char *kid, int64_t now, unsigned char pk[32])
{
    bool found = false;
    pthread_rwlock_rdlock(&ring_lock);
    for (size_t i = 0; i < nring; i++)
        if (!strcmp(ring[i].kid, kid) && (!ring[i].not_after || ring[i].not_after >= now)) {
            memcpy(pk, ring[i].pk, 32);
            found = true;
        }
    pthread_rwlock_unlock(&ring_lock);
    return found;
}

int fm_keyring_generation(void)
{
    return atomic_load(&generation);
}

int fm_keyring_set(const fm_key_t *keys, size_t n, const char *active_kid)
{
    if (n > MAX_KEYS)
        return FM_EINVAL;
    pthread_rwlock_wrlock(&ring_lock);
    memcpy(ring, keys, n * sizeof(*keys));
    nring = n;
    active = -1;
    for (size_t i = 0; i < n; i++)
        if (active_kid && !strcmp(ring[i].kid, active_kid) && ring[i].has_sk)
            active = (int)i;
    atomic_fetch_add(&generation, 1);
    pthread_rwlock_unlock(&ring_lock);
    return active >= 0 || !active_kid ? FM_OK : FM_EINVAL;
}

bool fm_keyring_ready(void)
{
    pthread_rwlock_rdlock(&ring_lock);
    bool ok = active >= 0;
    pthread_rwlock_unlock(&ring_lock);
    return ok;
}

void fm_key_generate(fm_key_t *k)
{
    memset(k, 0, sizeof(*k));
    crypto_sign_keypair(k->pk, k->sk);
    k->has_sk = true;
    fm_id_random("key", k->kid, sizeof(k->kid));
}

static char *b64url(const unsigned char *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Decodes base64url (no padding) of n chars into a fresh NUL-terminated buffer. */
static unsigned char *unb64url(const char *s, size_t n, size_t *out_len)
{
    unsigned char *out = malloc(n + 1);
    size_t len = 0;
    if (!out)
        return NULL;
    if (sodium_base642bin(out, n, s, n, NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
        free(out);
        return NULL;
    }
    out[len] = 0;
    *out_len = len;
    return out;
}

cJSON *fm_keyring_jwks(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *keys = cJSON_AddArrayToObject(o, "keys");
    int64_t now = fm_time_unix_ms() / 1000;
    pthread_rwlock_rdlock(&ring_lock);
    for (size_t i = 0; i < nring; i++) {
        if (ring[i].not_after && ring[i].not_after < now)
            continue;
        char *x = b64url(ring[i].pk, 32);
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "kty", "OKP");
        cJSON_AddStringToObject(k, "crv", "Ed25519");
        cJSON_AddStringToObject(k, "x", x ? x : "");
        cJSON_AddStringToObject(k, "kid", ring[i].kid);
        cJSON_AddStringToObject(k, "use", "sig");
        cJSON_AddStringToObject(k, "alg", "EdDSA");
        cJSON_AddItemToArray(keys, k);
        free(x);
    }
    pthread_rwlock_unlock(&ring_lock);
    return o;
}

void fm_jwt_issuer(char *out, size_t len)
{
    const fm_config_t *c = fm_cfg();
    if (c->auth_issuer[0])
        snprintf(out, len, "%s", c->auth_issuer);
    else
        snprintf(out, len, "http://%s:%d", c->listen, 8002 + c->port_offset);
}

char *fm_jwt_sign(const cJSON *claims)
{
    fm_key_t k;
    pthread_rwlock_rdlock(&ring_lock);
    bool ok = active >= 0;
    if (ok)
        k = ring[active];
    pthread_rwlock_unlock(&ring_lock);
    if (!ok)
        return NULL;
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "alg", "EdDSA");
    cJSON_AddStringToObject(h, "typ", "JWT");
    cJSON_AddStringToObject(h, "kid", k.kid);
    cJSON *p = cJSON_Duplicate(claims, 1);
    char iss[FM_JWT_ISSUER_MAX];
    fm_jwt_issuer(iss, sizeof(iss));
    cJSON_DeleteItemFromObject(p, "iss");
    cJSON_AddStringToObject(p, "iss", iss);
    char *hs = cJSON_PrintUnformatted(h), *ps = cJSON_PrintUnformatted(p);
    cJSON_Delete(h);
    cJSON_Delete(p);
    char *hb = hs ? b64url((unsigned char *)hs, strlen(hs)) : NULL;
    char *pb = ps ? b64url((unsigned char *)ps, strlen(ps)) : NULL;
    cJSON_free(hs);
    cJSON_free(ps);
    char *out = NULL;
    if (hb && pb) {
        size_t n = strlen(hb) + 1 + strlen(pb);
        char *input = malloc(n + 1);
        if (input) {
            snprintf(input, n + 1, "%s.%s", hb, pb);
            unsigned char sig[64];
            crypto_sign_detached(sig, NULL, (unsigned char *)input, n, k.sk);
            char *sb = b64url(sig, 64);
            if (sb && (out = malloc(n + 2 + strlen(sb))))
                sprintf(out, "%s.%s", input, sb);
            free(sb);
            free(input);
        }
    }
    sodium_memzero(&k, sizeof(k));
    free(hb);
    free(pb);
    return out;
}

static bool aud_ok(const cJSON *aud)
{
    if (cJSON_IsString(aud))
        return !strcmp(aud->valuestring, FM_AUDIENCE);
    const cJSON *a;
    cJSON_ArrayForEach(a, aud)
        if (cJSON_IsString(a) && !strcmp(a->valuestring, FM_AUDIENCE))
            return true;
    return false;
}

#define FAIL(msg) do { snprintf(why, whylen, "%s", msg); goto done; } while (0)

int fm_jwt_verify(const char *token, cJSON **claims, char *why, size_t whylen)
{
    int rc = FM_EINVAL;
    cJSON *h = NULL, *p = NULL;
    unsigned char *hj = NULL, *pj = NULL, *sig = NULL;
    size_t n = token ? strlen(token) : 0, len;
    if (claims)
        *claims = NULL;
    if (n == 0 || n > MAX_TOKEN)
        FAIL("malformed token");
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || d1 == token || d2 == d1 + 1 || !d2[1])
        FAIL("malformed token");
    /* the header is read before the signature is checked: bounded before cJSON recurses */
    if (!(hj = unb64url(token, (size_t)(d1 - token), &len)) ||
        fm_json_check((char *)hj, len, FM_JSON_MAX_DEPTH, NULL) != FM_JSON_OK ||
        !(h = cJSON_ParseWithLength((char *)hj, len)))
        FAIL("malformed token header");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(h, "kid");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "EdDSA"))
        FAIL("unsupported alg (only EdDSA)");
    if (!cJSON_IsString(kid))
        FAIL("no kid");
    size_t siglen = 0;
    if (!(sig = unb64url(d2 + 1, strlen(d2 + 1), &siglen)) || siglen != 64)
        FAIL("bad signature");

    int64_t now = fm_time_unix_ms() / 1000;
    unsigned char pk[32];
    bool found = ring_find(kid->valuestring, now, pk);
    bool (*reload)(const char *) = atomic_load(&on_unknown_kid);
    if (!found && reload && reload(kid->valuestring))
        found = ring_find(kid->valuestring, now, pk);
    if (!found)
        FAIL("unknown kid");
    if (crypto_sign_verify_detached(sig, (const unsigned char *)token, (size_t)(d2 - token), pk))
        FAIL("bad signature");

    if (!(pj = unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &len)) || !(p = cJSON_ParseWithLength((char *)pj, len)) ||
        !cJSON_IsObject(p))
        FAIL("malformed payload");
    char iss[FM_JWT_ISSUER_MAX];
    fm_jwt_issuer(iss, sizeof(iss));
    const cJSON *ciss = cJSON_GetObjectItemCaseSensitive(p, "iss");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(p, "nbf");
    int leeway = fm_cfg()->auth_leeway_s;
    if (!cJSON_IsString(ciss) || strcmp(ciss->valuestring, iss))
        FAIL("wrong issuer");
    if (!aud_ok(cJSON_GetObjectItemCaseSensitive(p, "aud")))
        FAIL("wrong audience");
    if (!cJSON_IsNumber(exp))
        FAIL("no exp");
    if ((double)now > exp->valuedouble + leeway)
        FAIL("expired");
    if (nbf && (!cJSON_IsNumber(nbf) || (double)now + leeway < nbf->valuedouble))
        FAIL("not yet valid");
    rc = FM_OK;
    if (claims) {
        *claims = p;
        p = NULL;
    }
done:
    cJSON_Delete(h);
    cJSON_Delete(p);
    free(hj);
    free(pj);
    free(sig);
    return rc;
}

static void copy_str(char *dst, size_t len, const cJSON *v)
{
    snprintf(dst, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* Appends the strings of a JSON array as NUL-separated entries; -1 if they don't fit. */
static int pack(char *buf, size_t cap, const cJSON *arr)
{
    size_t used = 0;
    int n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (!cJSON_IsString(v))
            continue;
        size_t l = strlen(v->valuestring);
        if (used + l + 1 > cap)
            return -1;
        memcpy(buf + used, v->valuestring, l + 1);
        used += l + 1;
        n++;
    }
    return n;
}

int fm_principal_from_claims(const cJSON *claims, fm_principal_t *p)
{
    memset(p, 0, sizeof(*p));
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(claims, "tenant");
    if (!cJSON_IsString(sub) || !cJSON_IsString(tenant) || strlen(sub->valuestring) >= sizeof(p->sub) ||
        strlen(tenant->valuestring) >= sizeof(p->tenant))
        return FM_EINVAL;
    copy_str(p->sub, sizeof(p->sub), sub);
    copy_str(p->tenant, sizeof(p->tenant), tenant);
    copy_str(p->email, sizeof(p->email), cJSON_GetObjectItemCaseSensitive(claims, "email"));
    copy_str(p->service, sizeof(p->service), cJSON_GetObjectItemCaseSensitive(claims, "svc"));
    copy_str(p->jti, sizeof(p->jti), cJSON_GetObjectItemCaseSensitive(claims, "jti"));
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    p->exp = cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0;
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *a;
    cJSON_ArrayForEach(a, aud) {        /* a string aud has no children: a platform token */
        if (cJSON_IsString(a) && strcmp(a->valuestring, FM_AUDIENCE) && !p->resource[0])
            snprintf(p->resource, sizeof(p->resource), "%s", strlen(a->valuestring) < sizeof(p->resource)
                     ? a->valuestring : "(too long)");
    }
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(claims, "roles");
    const cJSON *perms = cJSON_GetObjectItemCaseSensitive(claims, "perms");
    p->nroles = pack(p->roles, sizeof(p->roles), roles);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(claims, "groups");
    p->ngroups = groups ? pack(p->groups, sizeof(p->groups), groups) : 0;
    if (perms) {                /* a custom role: the issuer expanded every grant */
        p->nperms = pack(p->perms, sizeof(p->perms), perms);
    } else {                    /* built-in roles only: expand them here */
        cJSON *grants = cJSON_CreateArray();
        const cJSON *r;
        cJSON_ArrayForEach(r, roles) {
            const char *const *g = cJSON_IsString(r) ? fm_role_builtin(r->valuestring) : NULL;
            for (; g && *g; g++)
                cJSON_AddItemToArray(grants, cJSON_CreateString(*g));
        }
        p->nperms = pack(p->perms, sizeof(p->perms), grants);
        cJSON_Delete(grants);
    }
    return p->nroles < 0 || p->ngroups < 0 || p->nperms < 0 ? FM_EINVAL : FM_OK;
}
