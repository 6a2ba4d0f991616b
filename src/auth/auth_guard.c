/*
 * auth_guard.c — what the router enforces before any handler runs (fm_http.c calls
 * these): token buckets per client IP and (once a token proves it) per tenant, CORS from
 * the allow-list, and for every non-public route the bearer token, the tenant header and
 * the route permission.
 *
 * Verifying an Ed25519 signature costs ~50 µs; a small cache of tokens already verified
 * (keyed by the whole token, dropped when the key ring changes or the token expires)
 * keeps authenticated requests within a few per cent of public ones.
 */
#include "auth_int.h"

#include "../fm_config.h"
#include "../fm_http_int.h"
#include "../fm_log.h"

#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- verified-token cache ---- */

#define CACHE_SLOTS 1024
#define STRIPES 16      /* locks, each guarding every 16th cache slot / a 16th of the buckets */

typedef struct slot {
    char *token;
    int gen;
    size_t psize;       /* bytes of p in use: the perms buffer is mostly empty */
    fm_principal_t p;
} slot_t;

static slot_t cache[CACHE_SLOTS];
/* Hits take a read lock, so requests carrying the same token never queue behind one
 * another; only a first verification or a replacement writes. */
static pthread_rwlock_t cache_locks[STRIPES];
static pthread_mutex_t bucket_locks[STRIPES];
static pthread_once_t locks_once = PTHREAD_ONCE_INIT;

static void locks_init(void)
{
    for (int i = 0; i < STRIPES; i++) {
        pthread_rwlock_init(&cache_locks[i], NULL);
        pthread_mutex_init(&bucket_locks[i], NULL);
    }
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;     /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool cache_get(const char *token, uint64_t h, int gen, int64_t now, fm_principal_t *out)
{
    size_t i = h % CACHE_SLOTS;
    slot_t *s = &cache[i];
    bool hit = false;
    pthread_rwlock_rdlock(&cache_locks[i % STRIPES]);
    if (s->token && s->gen == gen && s->p.exp + fm_cfg()->auth_leeway_s >= now && !strcmp(s->token, token)) {
        memcpy(out, &s->p, s->psize);
        hit = true;
    }
    pthread_rwlock_unlock(&cache_locks[i % STRIPES]);
    return hit;
}

static size_t principal_size(const fm_principal_t *p)
{
    size_t used = 0;
    const char *g = p->perms;
    for (int k = 0; k < p->nperms; k++) {
        size_t l = strlen(g) + 1;
        used += l;
        g += l;
    }
    return offsetof(fm_principal_t, perms) + used;
}

static void cache_put(const char *token, uint64_t h, int gen, const fm_principal_t *p)
{
    char *copy = strdup(token);
    if (!copy)
        return;
    size_t i = h % CACHE_SLOTS;
    slot_t *s = &cache[i];
    pthread_rwlock_wrlock(&cache_locks[i % STRIPES]);
    char *old = s->token;
    s->token = copy;
    s->gen = gen;
    s->psize = principal_size(p);
    memcpy(&s->p, p, s->psize);
    pthread_rwlock_unlock(&cache_locks[i % STRIPES]);
    free(old);
}

void fm__auth_cache_clear(void)
{
    pthread_once(&locks_once, locks_init);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        pthread_rwlock_wrlock(&cache_locks[i % STRIPES]);
        free(cache[i].token);
        cache[i].token = NULL;
        pthread_rwlock_unlock(&cache_locks[i % STRIPES]);
    }
}

int fm_principal_from_token(const char *token, fm_principal_t *p, char *why, size_t whylen)
{
    pthread_once(&locks_once, locks_init);
    int gen = fm_keyring_generation();
    int64_t now = fm_time_unix_ms() / 1000;
    uint64_t h = hash(token);
    if (cache_get(token, h, gen, now, p))
        return FM_OK;
    cJSON *claims = NULL;
    if (fm_jwt_verify(token, &claims, why, whylen) != FM_OK)
        return FM_EINVAL;
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(claims, "typ");
    int rc = cJSON_IsString(typ) && !strcmp(typ->valuestring, "access") ? fm_principal_from_claims(claims, p)
                                                                        : FM_EINVAL;
    cJSON_Delete(claims);
    if (rc != FM_OK) {
        snprintf(why, whylen, "not an access token");
        return rc;
    }
    cache_put(token, h, gen, p);
    return FM_OK;
}

/* ---- token buckets ---- */

#define BUCKETS 4096

typedef struct bucket {
    char key[80];
    double tokens, last;
} bucket_t;

static bucket_t buckets[BUCKETS];     /* STRIPES regions, each under its own lock */

/* Takes one token from key's bucket; false with *retry_s when it is empty. */
static bool take(const char *kind, const char *who, double rate, double burst, double *retry_s)
{
    char key[80];
    snprintf(key, sizeof(key), "%s:%s", kind, who);
    uint64_t h = hash(key);
    double now = fm_time_mono();
    bool ok = true;
    pthread_once(&locks_once, locks_init);
    /* The key's region of the table, and linear probing over a few slots inside it; a
     * stale or empty slot is taken over. */
    size_t region = h % STRIPES, per = BUCKETS / STRIPES;
    bucket_t *base = &buckets[region * per];
    h /= STRIPES;
    pthread_mutex_lock(&bucket_locks[region]);
    bucket_t *b = NULL;
    for (int i = 0; i < 8 && !b; i++) {
        bucket_t *c = &base[(h + (uint64_t)i) % per];
        if (!strcmp(c->key, key))
            b = c;
    }
    for (int i = 0; i < 8 && !b; i++) {
        bucket_t *c = &base[(h + (uint64_t)i) % per];
        if (!c->key[0] || now - c->last > burst / rate + 1.0) {
            b = c;
            snprintf(b->key, sizeof(b->key), "%s", key);
            b->tokens = burst;
            b->last = now;
        }
    }
    if (b) {
        b->tokens += (now - b->last) * rate;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last = now;
        if (b->tokens >= 1.0) {
            b->tokens -= 1.0;
        } else {
            ok = false;
            *retry_s = (1.0 - b->tokens) / rate;
        }
    }
    pthread_mutex_unlock(&bucket_locks[region]);
    return ok;
}

static int too_many(fm_req_t *r, double retry)
{
    char ra[32];
    snprintf(ra, sizeof(ra), "%d", (int)retry + 1);
    fm_reply_header(r, "Retry-After", ra);
    fm_reply_problem(r, 429, NULL, NULL, NULL, "rate limit exceeded; retry after %s s", ra);
    return FM_REPLIED;
}

int fm__guard_edge(fm_req_t *r, const char *client_ip)
{
    const fm_config_t *c = fm_cfg();
    double retry = 0;
    /* Monitors and load balancers poll these from one address: never throttled. */
    bool probe = r->method == FM_GET && r->path && (!strcmp(r->path, "/health") || !strcmp(r->path, "/ready"));
    /* The tenant's bucket is charged in fm__guard_route, once the token proves the
     * caller belongs to it: anyone could send X-Tenant-Id and drain someone else's. */
    if (c->gateway_rate_per_ip && !probe &&
        !take("ip", client_ip, c->gateway_rate_per_ip, c->gateway_burst_per_ip, &retry))
        return too_many(r, retry);

    /* CORS: only origins on the allow-list get the headers; preflights end here. */
    const char *origin = fm_req_header(r, "Origin");
    if (origin && c->gateway_cors_origins[0] && strlen(origin) < 256) {
        char list[sizeof(c->gateway_cors_origins)];
        snprintf(list, sizeof(list), "%s", c->gateway_cors_origins);
        bool allowed = false;
        for (char *save = NULL, *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
            allowed = allowed || !strcmp(t, origin) || !strcmp(t, "*");
        if (allowed) {
            fm_reply_header(r, "Access-Control-Allow-Origin", origin);
            fm_reply_header(r, "Vary", "Origin");
            fm_reply_header(r, "Access-Control-Expose-Headers", "Location, ETag, X-Request-Id, Retry-After");
            if (r->method == FM_OPTIONS && fm_req_header(r, "Access-Control-Request-Method")) {
                fm_reply_header(r, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
                fm_reply_header(r, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, X-Tenant-Id, X-Request-Id, If-Match, Idempotency-Key");
                fm_reply_header(r, "Access-Control-Max-Age", "600");
                fm_reply_status(r, 204);
                return FM_REPLIED;
            }
        }
    }
    return FM_OK;
}

/* ---- the route check ---- */

static int unauthorized(fm_req_t *r, const char *why)
{
    char h[200];
    snprintf(h, sizeof(h), "Bearer realm=\"flowmaster\", error=\"invalid_token\", error_description=\"%s\"", why);
    fm_reply_header(r, "WWW-Authenticate", strcmp(why, "no bearer token") ? h : "Bearer realm=\"flowmaster\"");
    fm_reply_problem(r, 401, NULL, NULL, NULL, "authentication required: %s", why);
    return FM_REPLIED;
}

int fm__guard_route(fm_req_t *r)
{
    const fm_route_t *def = r->route->def;
    if (r->internal)
        return FM_OK;
    const char *authz = fm_req_header(r, "Authorization");
    const char *token = NULL;
    if (authz && !strncasecmp(authz, "Bearer ", 7))
        token = authz + 7;
    if (def->flags & FM_R_PUBLIC) {
        /* A valid token on a public route still identifies the caller. */
        char why[64];
        if (token && fm_principal_from_token(token, &r->principal, why, sizeof(why)) == FM_OK)
            r->has_principal = true;
        return FM_OK;
    }
    if (!token)
        return unauthorized(r, "no bearer token");
    char why[96];
    if (fm_principal_from_token(token, &r->principal, why, sizeof(why)) != FM_OK)
        return unauthorized(r, why);
    r->has_principal = true;
    if (!fm_req_header(r, "X-Tenant-Id")) {
        fm_reply_problem(r, 400, NULL, NULL, NULL, "the X-Tenant-Id header is required");
        return FM_REPLIED;
    }
    if (strcmp(r->tenant, r->principal.tenant)) {
        fm_reply_problem(r, 403, NULL, NULL, NULL, "this token is not valid for tenant '%s'", r->tenant);
        return FM_REPLIED;
    }
    const fm_config_t *c = fm_cfg();
    double retry = 0;
    if (c->gateway_rate_per_tenant &&
        !take("tenant", r->tenant, c->gateway_rate_per_tenant, c->gateway_burst_per_tenant, &retry))
        return too_many(r, retry);
    if (def->perm) {
        fm_authz_t a = fm_authz_static(&r->principal, def->perm);
        if (a == FM_AUTHZ_DENY || (a == FM_AUTHZ_IF && !(def->flags & FM_R_ABAC))) {
            fm_reply_problem(r, 403, NULL, NULL, NULL, "permission '%s' is required", def->perm);
            return FM_REPLIED;
        }
    }
    return FM_OK;
}

const fm_principal_t *fm_req_principal(const fm_req_t *r)
{
    return r->has_principal ? &r->principal : NULL;
}

int fm_req_authz(fm_req_t *r, const char *perm, const cJSON *resource)
{
    if (r->internal || (r->has_principal && fm_authz(&r->principal, perm, resource)))
        return FM_OK;
    fm_reply_problem(r, 403, NULL, NULL, NULL, "permission '%s' is required for this resource", perm);
    return FM_REPLIED;
}
