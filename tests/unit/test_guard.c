/* test_guard.c — what the router enforces (src/auth/auth_guard.c through fm__dispatch):
 * 401 + WWW-Authenticate without or with a bad token, 400 without X-Tenant-Id, 403 for
 * another tenant's token, 403 without the route's permission, conditional grants that
 * reach only FM_R_ABAC routes (where fm_req_authz decides on the resource), public
 * routes without a token; and at the edge, the token bucket and CORS.
 *
 * Requests are in memory (fm_req_t with call_headers); tokens are real, signed with a
 * key ring generated here. */
#include "fm_test.h"

#include "auth/auth_int.h"
#include "fm_config.h"
#include "fm_http_int.h"
#include "fm_log.h"
#include "fm_mod.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- handlers ---- */

/* Echoes who the caller is ("" when anonymous). */
static int h_whoami(fm_req_t *r)
{
    const fm_principal_t *p = fm_req_principal(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sub", p ? p->sub : "");
    cJSON_AddStringToObject(o, "tenant", fm_req_tenant(r));
    return fm_reply_json(r, 200, o);
}

/* FM_R_ABAC: task t-mine is assigned to u-1, any other to u-2. */
static int h_task_work(fm_req_t *r)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "assignee", !strcmp(fm_req_param(r, "id"), "t-mine") ? "u-1" : "u-2");
    int rc = fm_req_authz(r, "task:work", res);
    cJSON_Delete(res);
    if (rc != FM_OK)
        return FM_OK;       /* 403 sent */
    return h_whoami(r);
}

static const fm_route_t defs[] = {
    { FM_GET, "/public", h_whoami, FM_R_PUBLIC, NULL },
    { FM_GET, "/me", h_whoami, 0, NULL },                           /* any valid token */
    { FM_GET, "/things", h_whoami, 0, "thing:read" },
    { FM_POST, "/things", h_whoami, FM_R_JSON, "thing:write" },
    { FM_POST, "/tasks/{id}/work", h_task_work, FM_R_ABAC, "task:work" },
    { FM_POST, "/plain-tasks/{id}/work", h_task_work, 0, "task:work" },  /* not ABAC */
    { FM_GET, "/unbuilt", NULL, 0, "thing:read" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

typedef struct {
    fm_rentry_t e[NDEFS];
    fm_rtable_t t;
    fm_mod_t mod;
    fm_module_t def;
    fm_key_t key, other;
    fm_req_t r;
    fm_hdr_t h[8];
    fm_buf_t out;
    cJSON *json;
    char auth[4096];
} fix_t;

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    fm_config_t c;
    fm_config_defaults(&c);
    c.log_requests = false;
    snprintf(c.auth_issuer, sizeof(c.auth_issuer), "https://id.test");
    c.auth_leeway_s = 30;
    c.gateway_rate_per_ip = 0;
    c.gateway_rate_per_tenant = 0;
    fm_config_install(&c);
    fm_log_set_level("error");
    fix_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->def = (fm_module_t){ "widgets", "Widgets", 7001, 0, defs, NDEFS, NULL, NULL, NULL };
    f->mod.def = &f->def;
    char err[256];
    for (size_t i = 0; i < NDEFS; i++)
        if (fm_rentry_init(&f->e[i], &defs[i], &f->mod, "widgets", err, sizeof(err)) != FM_OK ||
            fm_rtable_add(&f->t, &f->e[i], err, sizeof(err)) != FM_OK) {
            print_error("%s\n", err);
            return -1;
        }
    fm_key_generate(&f->key);
    fm_key_generate(&f->other);
    if (fm_keyring_set(&f->key, 1, f->key.kid) != FM_OK)
        return -1;
    fm__auth_cache_clear();
    *state = f;
    return 0;
}

static void req_done(fix_t *f)
{
    fm__req_release(&f->r);
    fm_buf_release(&f->out);
    cJSON_Delete(f->json);
    f->json = NULL;
    memset(&f->r, 0, sizeof(f->r));
}

static int teardown(void **state)
{
    fix_t *f = *state;
    req_done(f);
    fm_rtable_release(&f->t);
    for (size_t i = 0; i < NDEFS; i++)
        fm_rentry_release(&f->e[i]);
    fm__auth_cache_clear();
    free(f);
    return 0;
}

/* An access token for sub in tenant with these grants (NULL-terminated), valid for
 * exp_in seconds; typ "access" unless given. */
static char *token_typ(const char *sub, const char *tenant, const char *const *grants, int exp_in, const char *typ)
{
    int64_t now = fm_time_unix_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", sub);
    cJSON_AddStringToObject(c, "tenant", tenant);
    cJSON_AddStringToObject(c, "aud", FM_AUDIENCE);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "nbf", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)(now + exp_in));
    cJSON_AddStringToObject(c, "jti", "jti-x");
    cJSON_AddStringToObject(c, "typ", typ);
    cJSON_AddArrayToObject(c, "roles");
    cJSON *g = cJSON_AddArrayToObject(c, "perms");
    for (; grants && *grants; grants++)
        cJSON_AddItemToArray(g, cJSON_CreateString(*grants));
    char *t = fm_jwt_sign(c);
    cJSON_Delete(c);
    assert_non_null(t);
    return t;
}

static char *token(const char *sub, const char *tenant, const char *const *grants)
{
    return token_typ(sub, tenant, grants, 900, "access");
}

/* Dispatches method path with an Authorization header (NULL: none) and X-Tenant-Id
 * (NULL: none; the request's tenant is then "default", as req_identity does). */
static int run(fix_t *f, const char *method, const char *path, const char *authz, const char *tenant,
               const char *body)
{
    req_done(f);
    size_t nh = 0;
    if (authz) {
        snprintf(f->auth, sizeof(f->auth), "%s", authz);
        f->h[nh++] = (fm_hdr_t){ "Authorization", f->auth };
    }
    if (tenant)
        f->h[nh++] = (fm_hdr_t){ "X-Tenant-Id", tenant };
    f->r.call_headers = f->h;
    f->r.ncall_headers = nh;
    f->r.capture = &f->out;
    f->r.method_text = method;
    f->r.method = (fm_method_t)fm_method_parse(method);
    f->r.path = path;
    f->r.body = (char *)body;
    f->r.body_len = body ? strlen(body) : 0;
    snprintf(f->r.rid, sizeof(f->r.rid), "req_guard");
    snprintf(f->r.tenant, sizeof(f->r.tenant), "%s", tenant ? tenant : "default");
    f->r.internal = false;
    fm__dispatch(&f->r, &f->t);
    assert_true(f->r.replied);
    if (f->out.len)
        f->json = cJSON_ParseWithLength(f->out.data, f->out.len);
    return f->r.status;
}

static int run_bearer(fix_t *f, const char *method, const char *path, const char *tok, const char *tenant)
{
    char h[4200];
    snprintf(h, sizeof(h), "Bearer %s", tok);
    return run(f, method, path, h, tenant, !strcmp(method, "POST") ? "{}" : NULL);
}

static const char *header(const fix_t *f, const char *name, char *buf, size_t len)
{
    const char *s = f->r.hdrs.data;
    size_t n = strlen(name);
    while (s && *s) {
        if (!strncasecmp(s, name, n) && s[n] == ':') {
            const char *v = s + n + 1;
            while (*v == ' ')
                v++;
            size_t l = strcspn(v, "\r\n");
            snprintf(buf, len, "%.*s", (int)l, v);
            return buf;
        }
        s = strstr(s, "\r\n");
        if (s)
            s += 2;
    }
    return NULL;
}

static const char *jstr(const fix_t *f, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->json, k);
    if (!cJSON_IsString(v))
        fail_msg("member '%s' is not a string in %.*s", k, (int)f->out.len, f->out.data ? f->out.data : "");
    return v->valuestring;
}

static void assert_detail_has(const fix_t *f, const char *want)
{
    const char *d = jstr(f, "detail");
    if (!strstr(d, want))
        fail_msg("detail '%s' does not mention '%s'", d, want);
}

static const char *const READ[] = { "thing:read", NULL };
static const char *const RW[] = { "thing:*", NULL };

/* ---- tests ---- */

static void test_401_without_token(void **state)
{
    fix_t *f = *state;
    char h[300];
    static const char *const paths[][2] = { { "GET", "/me" }, { "GET", "/things" }, { "POST", "/things" },
                                            { "POST", "/tasks/t-mine/work" }, { "GET", "/unbuilt" } };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(run(f, paths[i][0], paths[i][1], NULL, "acme", "not even json"), 401);
        assert_non_null(header(f, "WWW-Authenticate", h, sizeof(h)));
        assert_string_equal(h, "Bearer realm=\"flowmaster\"");
        assert_string_equal(jstr(f, "title"), "Unauthorized");
        assert_detail_has(f, "no bearer token");
        assert_null(f->r.json);                 /* the body was never parsed */
    }
    /* no tenant header either: still 401 first */
    assert_int_equal(run(f, "GET", "/things", NULL, NULL, NULL), 401);
    /* another scheme is no bearer token */
    assert_int_equal(run(f, "GET", "/things", "Basic YWRtaW46YWRtaW4=", "acme", NULL), 401);
    assert_detail_has(f, "no bearer token");
    assert_int_equal(run(f, "GET", "/things", "Bearer", "acme", NULL), 401);
    /* the scheme is case-insensitive */
    char *t = token("u-1", "acme", READ);
    char lower[2000];
    snprintf(lower, sizeof(lower), "bearer %s", t);
    assert_int_equal(run(f, "GET", "/things", lower, "acme", NULL), 200);
    free(t);
}

static void test_401_bad_token(void **state)
{
    fix_t *f = *state;
    char h[300];
    assert_int_equal(run(f, "GET", "/things", "Bearer not-a-token", "acme", NULL), 401);
    assert_non_null(header(f, "WWW-Authenticate", h, sizeof(h)));
    assert_non_null(strstr(h, "Bearer realm=\"flowmaster\""));
    assert_non_null(strstr(h, "error=\"invalid_token\""));
    assert_non_null(strstr(h, "error_description=\"malformed token\""));

    /* expired */
    char *t = token_typ("u-1", "acme", READ, -3600, "access");
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 401);
    assert_non_null(header(f, "WWW-Authenticate", h, sizeof(h)));
    assert_non_null(strstr(h, "expired"));
    assert_detail_has(f, "expired");
    free(t);

    /* a refresh-typed or untyped JWT is not an access token */
    t = token_typ("u-1", "acme", READ, 900, "refresh");
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 401);
    assert_detail_has(f, "not an access token");
    free(t);

    /* signed by a key that is not in the ring */
    fm_keyring_set(&f->other, 1, f->other.kid);
    t = token("u-1", "acme", READ);
    fm_keyring_set(&f->key, 1, f->key.kid);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 401);
    assert_detail_has(f, "unknown kid");
    free(t);

    /* one character of the signature changed */
    t = token("u-1", "acme", READ);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 200);
    size_t n = strlen(t);
    t[n - 3] = t[n - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 401);
    assert_detail_has(f, "bad signature");
    free(t);
}

static void test_key_ring_change_drops_cached_tokens(void **state)
{
    fix_t *f = *state;
    char *t = token("u-1", "acme", READ);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 200);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 200);     /* from the cache */
    /* the key is gone: the cached verification must not outlive it */
    assert_int_equal(fm_keyring_set(&f->other, 1, f->other.kid), FM_OK);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 401);
    /* and back */
    fm_key_t both[2] = { f->other, f->key };
    assert_int_equal(fm_keyring_set(both, 2, f->other.kid), FM_OK);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 200);
    free(t);
}

static void test_400_without_tenant(void **state)
{
    fix_t *f = *state;
    char *t = token("u-1", "acme", READ);
    assert_int_equal(run_bearer(f, "GET", "/things", t, NULL), 400);
    assert_detail_has(f, "X-Tenant-Id");
    assert_int_equal(run_bearer(f, "GET", "/me", t, NULL), 400);
    free(t);
    /* even a token of tenant "default" needs the header */
    t = token("u-1", "default", READ);
    assert_int_equal(run_bearer(f, "GET", "/things", t, NULL), 400);
    free(t);
}

static void test_403_other_tenant(void **state)
{
    fix_t *f = *state;
    static const char *const all[] = { "*", NULL };
    char *t = token("u-1", "tenant-b", all);            /* an admin — of tenant b */
    assert_int_equal(run_bearer(f, "GET", "/things", t, "tenant-b"), 200);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "tenant-a"), 403);
    assert_string_equal(jstr(f, "title"), "Forbidden");
    assert_detail_has(f, "tenant-a");
    assert_int_equal(run_bearer(f, "GET", "/me", t, "tenant-a"), 403);
    assert_int_equal(run_bearer(f, "POST", "/things", t, "tenant-a"), 403);
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-mine/work", t, "tenant-a"), 403);
    assert_int_equal(run_bearer(f, "GET", "/unbuilt", t, "tenant-a"), 403);     /* before the 501 */
    assert_int_equal(run_bearer(f, "GET", "/things", t, "tenant-B"), 403);      /* exact match */
    free(t);
}

static void test_403_missing_permission(void **state)
{
    fix_t *f = *state;
    char *t = token("u-1", "acme", READ);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 200);
    assert_int_equal(run_bearer(f, "POST", "/things", t, "acme"), 403);
    assert_string_equal(jstr(f, "title"), "Forbidden");
    assert_detail_has(f, "thing:write");
    free(t);
    static const char *const other_area[] = { "widget:*", "*:write", NULL };
    t = token("u-1", "acme", other_area);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 403);
    assert_detail_has(f, "thing:read");
    assert_int_equal(run_bearer(f, "POST", "/things", t, "acme"), 200);
    free(t);
    /* no grants: authenticated-only routes still work, the rest are 403 */
    t = token("u-1", "acme", NULL);
    assert_int_equal(run_bearer(f, "GET", "/me", t, "acme"), 200);
    assert_string_equal(jstr(f, "sub"), "u-1");
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 403);
    assert_int_equal(run_bearer(f, "GET", "/unbuilt", t, "acme"), 403);
    free(t);
}

static void test_200_with_permission(void **state)
{
    fix_t *f = *state;
    char *t = token("u-7", "acme", RW);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "acme"), 200);
    assert_string_equal(jstr(f, "sub"), "u-7");
    assert_string_equal(jstr(f, "tenant"), "acme");
    assert_int_equal(run_bearer(f, "POST", "/things", t, "acme"), 200);
    /* a permitted route that is not built: the guard lets it through to the 501 */
    assert_int_equal(run_bearer(f, "GET", "/unbuilt", t, "acme"), 501);
    free(t);
}

static void test_conditional_grant(void **state)
{
    fix_t *f = *state;
    static const char *const cond[] = { "task:work|resource.assignee == user.sub", NULL };
    char *t = token("u-1", "acme", cond);
    /* a route that cannot look at a resource: a conditional grant is not enough */
    assert_int_equal(run_bearer(f, "POST", "/plain-tasks/t-mine/work", t, "acme"), 403);
    assert_detail_has(f, "task:work");
    /* the ABAC route: the handler decides with the task */
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-mine/work", t, "acme"), 200);
    assert_string_equal(jstr(f, "sub"), "u-1");
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-theirs/work", t, "acme"), 403);
    assert_detail_has(f, "for this resource");
    free(t);
    /* another user with the same grant: the other way round */
    t = token("u-2", "acme", cond);
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-mine/work", t, "acme"), 403);
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-theirs/work", t, "acme"), 200);
    free(t);
    /* an unconditional grant passes both */
    static const char *const plain[] = { "task:work", NULL };
    t = token("u-9", "acme", plain);
    assert_int_equal(run_bearer(f, "POST", "/plain-tasks/t-mine/work", t, "acme"), 200);
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-theirs/work", t, "acme"), 200);
    free(t);
    /* no grant at all: the ABAC route is 403 at the guard */
    t = token("u-1", "acme", READ);
    assert_int_equal(run_bearer(f, "POST", "/tasks/t-mine/work", t, "acme"), 403);
    assert_detail_has(f, "permission 'task:work' is required");
    free(t);
}

static void test_public_route(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "GET", "/public", NULL, NULL, NULL), 200);
    assert_string_equal(jstr(f, "sub"), "");
    char h[64];
    assert_null(header(f, "WWW-Authenticate", h, sizeof(h)));
    /* a bad token on a public route is ignored, not a 401 */
    assert_int_equal(run(f, "GET", "/public", "Bearer junk", "acme", NULL), 200);
    assert_string_equal(jstr(f, "sub"), "");
    /* a valid token identifies the caller, even without permissions or tenant match */
    char *t = token("u-5", "other", NULL);
    assert_int_equal(run_bearer(f, "GET", "/public", t, "acme"), 200);
    assert_string_equal(jstr(f, "sub"), "u-5");
    free(t);
}

static void test_internal_calls_skip_the_guard(void **state)
{
    fix_t *f = *state;
    req_done(f);
    f->r.capture = &f->out;
    f->r.method_text = "POST";
    f->r.method = FM_POST;
    f->r.path = "/things";
    f->r.body = "{}";
    f->r.body_len = 2;
    snprintf(f->r.tenant, sizeof(f->r.tenant), "acme");
    f->r.internal = true;
    fm__dispatch(&f->r, &f->t);
    assert_int_equal(f->r.status, 200);
    /* ... and the same request from outside is not */
    assert_int_equal(run(f, "POST", "/things", NULL, "acme", "{}"), 401);
}

static void test_edge_rate_limit(void **state)
{
    fix_t *f = *state;
    fm_config_t c = *fm_cfg();
    c.gateway_rate_per_ip = 1;
    c.gateway_burst_per_ip = 3;
    fm_config_install(&c);
    int ok = 0, limited = 0;
    char h[64];
    for (int i = 0; i < 5; i++) {
        req_done(f);
        f->r.capture = &f->out;
        f->r.method_text = "GET";
        f->r.method = FM_GET;
        f->r.path = "/public";
        snprintf(f->r.rid, sizeof(f->r.rid), "req_rl");
        int rc = fm__guard_edge(&f->r, "192.0.2.77");
        if (rc == FM_OK) {
            ok++;
            assert_false(f->r.replied);
        } else {
            limited++;
            assert_int_equal(rc, FM_REPLIED);
            assert_int_equal(f->r.status, 429);
            assert_non_null(header(f, "Retry-After", h, sizeof(h)));
            assert_true(atoi(h) >= 1);
        }
    }
    assert_int_equal(ok, 3);        /* the burst */
    assert_int_equal(limited, 2);
    /* another client has its own bucket */
    req_done(f);
    f->r.capture = &f->out;
    f->r.method = FM_GET;
    f->r.method_text = "GET";
    assert_int_equal(fm__guard_edge(&f->r, "192.0.2.78"), FM_OK);
}

/* The tenant's bucket is charged only for callers whose token belongs to the tenant:
 * anonymous requests (or another tenant's tokens) naming it cannot drain it. */
static void test_tenant_rate_limit(void **state)
{
    fix_t *f = *state;
    fm_config_t c = *fm_cfg();
    c.gateway_rate_per_tenant = 1;
    c.gateway_burst_per_tenant = 2;
    fm_config_install(&c);
    static const char *const all[] = { "*", NULL };
    char *other = token("u-6", "tenant-x", all);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(run(f, "GET", "/things", NULL, "rl-tenant", NULL), 401);
        assert_int_equal(run(f, "GET", "/things", "Bearer junk", "rl-tenant", NULL), 401);
        assert_int_equal(run_bearer(f, "GET", "/things", other, "rl-tenant"), 403);
    }
    free(other);
    char *t = token("u-1", "rl-tenant", READ);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "rl-tenant"), 200);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "rl-tenant"), 200);
    assert_int_equal(run_bearer(f, "GET", "/things", t, "rl-tenant"), 429);   /* burst of 2 used up */
    char h[32];
    assert_non_null(header(f, "Retry-After", h, sizeof(h)));
    assert_true(atoi(h) >= 1);
    free(t);
}

static void test_edge_cors(void **state)
{
    fix_t *f = *state;
    fm_config_t c = *fm_cfg();
    snprintf(c.gateway_cors_origins, sizeof(c.gateway_cors_origins), "http://app.test, https://b.test");
    fm_config_install(&c);
    char h[300];
    fm_hdr_t hs[2] = { { "Origin", "http://app.test" }, { "Access-Control-Request-Method", "POST" } };
    req_done(f);
    f->r.capture = &f->out;
    f->r.method = FM_OPTIONS;
    f->r.method_text = "OPTIONS";
    f->r.call_headers = hs;
    f->r.ncall_headers = 2;
    assert_int_equal(fm__guard_edge(&f->r, "192.0.2.1"), FM_REPLIED);
    assert_int_equal(f->r.status, 204);
    assert_string_equal(header(f, "Access-Control-Allow-Origin", h, sizeof(h)), "http://app.test");
    assert_non_null(strstr(header(f, "Access-Control-Allow-Headers", h, sizeof(h)), "Authorization"));
    assert_non_null(strstr(header(f, "Access-Control-Allow-Headers", h, sizeof(h)), "X-Tenant-Id"));
    assert_non_null(strstr(header(f, "Access-Control-Allow-Methods", h, sizeof(h)), "POST"));
    /* a simple request from an allowed origin: headers, then on to the route */
    hs[0].value = "https://b.test";
    req_done(f);
    f->r.capture = &f->out;
    f->r.method = FM_GET;
    f->r.method_text = "GET";
    f->r.call_headers = hs;
    f->r.ncall_headers = 1;
    assert_int_equal(fm__guard_edge(&f->r, "192.0.2.1"), FM_OK);
    assert_string_equal(header(f, "Access-Control-Allow-Origin", h, sizeof(h)), "https://b.test");
    /* other origins (also prefixes and suffixes of allowed ones) get nothing */
    static const char *const others[] = { "http://evil.test", "http://app.test.evil", "http://app", "null" };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        hs[0].value = others[i];
        req_done(f);
        f->r.capture = &f->out;
        f->r.method = FM_OPTIONS;
        f->r.method_text = "OPTIONS";
        f->r.call_headers = hs;
        f->r.ncall_headers = 2;
        assert_int_equal(fm__guard_edge(&f->r, "192.0.2.1"), FM_OK);     /* not answered as a preflight */
        assert_null(header(f, "Access-Control-Allow-Origin", h, sizeof(h)));
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_401_without_token),
        T(test_401_bad_token),
        T(test_key_ring_change_drops_cached_tokens),
        T(test_400_without_tenant),
        T(test_403_other_tenant),
        T(test_403_missing_permission),
        T(test_200_with_permission),
        T(test_conditional_grant),
        T(test_public_route),
        T(test_internal_calls_skip_the_guard),
        T(test_edge_rate_limit),
        T(test_tenant_rate_limit),
        T(test_edge_cors),
    };
    return cmocka_run_group_tests_name("guard", tests, NULL, NULL);
}
