/*
 * test_call.c — fm_call, the in-process call of another module's public route: the
 * callee sees the same request an HTTP client would make (path parameters, query,
 * JSON body, tenant, request id, client address) plus X-Service-Name, and the caller gets
 * status and body back. Local (FM_R_LOCAL) routes are not reachable this way.
 */
#include "fm_test.h"

#include "fm_config.h"
#include "fm_http_int.h"
#include "fm_json_check.h"
#include "fm_mod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* module "b": the callee */
static int b_get(fm_req_t *r)
{
    char q[64];
    const char *qv = fm_req_query(r, "q", q, sizeof(q));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", fm_req_param(r, "id"));
    cJSON_AddStringToObject(o, "q", qv ? qv : "");
    cJSON_AddStringToObject(o, "tenant", fm_req_tenant(r));
    cJSON_AddStringToObject(o, "service", fm_req_header(r, "X-Service-Name"));
    cJSON_AddStringToObject(o, "rid", fm_req_id(r));
    cJSON_AddStringToObject(o, "ip", fm_req_client_ip(r));
    return fm_reply_json(r, 200, o);
}

static int b_post(fm_req_t *r)
{
    const cJSON *n = cJSON_GetObjectItem(fm_req_json(r), "n");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "twice", cJSON_IsNumber(n) ? n->valuedouble * 2 : -1);
    return fm_reply_json(r, 201, o);
}

static int b_local(fm_req_t *r)
{
    return fm_reply_status(r, 204);
}

/* a streamed reply (fm_reply_stream_*): under fm_call its chunks are the body */
static int b_stream(fm_req_t *r)
{
    if (fm_reply_stream_begin(r, 200, "text/event-stream") != FM_OK)
        return FM_OK;
    fm_reply_stream_write(r, "data: 1\n\n", 9);
    fm_reply_stream_write(r, "", 0);         /* nothing: no chunk (a zero chunk would end it) */
    fm_reply_stream_write(r, "data: 2\n\n", 9);
    fm_reply_stream_end(r);
    return FM_OK;
}

static const fm_route_t b_routes[] = {
    { FM_GET, "/b-stream", b_stream, 0, "b:read" },
    { FM_GET, "/b/{id}", b_get, 0, "b:read" },
    { FM_POST, "/b", b_post, FM_R_JSON, "b:write" },
    { FM_GET, "/b-local", b_local, FM_R_LOCAL, NULL },
};
static const fm_module_t mod_b = { "b", "Callee", 9100, 0, FM_ROUTES(b_routes), NULL, NULL, NULL };

/* module "a": calls b from inside its handler, as a module would */
static int a_proxy(fm_req_t *r)
{
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_GET, "/b/42?q=hello%20world", NULL, &status, &out);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "status", status);
    cJSON_AddItemToObject(o, "body", cJSON_Parse(out));
    free(out);
    return fm_reply_json(r, 200, o);
}

static const fm_route_t a_routes[] = { { FM_GET, "/a/proxy", a_proxy, 0, "a:read" } };
static const fm_module_t mod_a = { "a", "Caller", 9101, 0, FM_ROUTES(a_routes), NULL, NULL, NULL };

typedef struct fix {
    fm_mod_t mods[2];
    fm_routing_t routing;
} fix_t;

static int setup(void **state)
{
    fm_config_t c;
    fm_config_defaults(&c);
    c.log_requests = false;
    fm_config_install(&c);
    fix_t *f = calloc(1, sizeof(*f));
    f->mods[0].def = &mod_a;
    f->mods[1].def = &mod_b;
    char err[256];
    assert_int_equal(fm_routing_build(&f->routing, f->mods, 2, err, sizeof(err)), FM_OK);
    fm__routing_set(&f->routing);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;
    fm__routing_set(NULL);
    fm_routing_release(&f->routing);
    free(f);
    return 0;
}

/* An HTTP-like request to module a, captured. */
static cJSON *request_a(fix_t *f, const char *tenant, int *status)
{
    fm_hdr_t hdrs[] = { { "X-Tenant-Id", tenant }, { "X-Request-Id", "rid-123" } };
    fm_req_t r;
    memset(&r, 0, sizeof(r));
    fm_buf_t cap = FM_BUF_INIT;
    r.capture = &cap;
    r.method = FM_GET;
    r.method_text = "GET";
    r.path = "/a/proxy";
    r.call_headers = hdrs;
    r.ncall_headers = 2;
    snprintf(r.rid, sizeof(r.rid), "rid-123");
    snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
    r.internal = true;      /* no token here: the platform acting for tenant `tenant` */
    r.peer = "203.0.113.7"; /* as if it came from this client */
    fm__dispatch(&r, &f->routing.api);
    *status = r.status;
    cJSON *o = cJSON_Parse(cap.data);
    fm_buf_release(&cap);
    fm__req_release(&r);
    return o;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_call_carries_identity(void **state)
{
    fix_t *f = *state;
    int status;
    cJSON *o = request_a(f, "acme", &status);
    assert_int_equal(status, 200);
    assert_int_equal((int)cJSON_GetObjectItem(o, "status")->valuedouble, 200);
    const cJSON *b = cJSON_GetObjectItem(o, "body");
    assert_string_equal(str(b, "id"), "42");
    assert_string_equal(str(b, "q"), "hello world");
    assert_string_equal(str(b, "tenant"), "acme");
    assert_string_equal(str(b, "service"), "a");
    assert_string_equal(str(b, "rid"), "rid-123");
    /* the callee sees the caller's client address (per-IP limits keep working) */
    assert_string_equal(str(b, "ip"), "203.0.113.7");
    cJSON_Delete(o);
    /* without a caller there is none */
    int st = 0;
    char *out = NULL;
    assert_int_equal(fm_call(NULL, FM_GET, "/b/1", NULL, &st, &out), FM_OK);
    o = cJSON_Parse(out);
    free(out);
    assert_string_equal(str(o, "ip"), "in-process");
    cJSON_Delete(o);
}

static void test_call_captures_a_streamed_reply(void **state)
{
    (void)state;
    int st = 0;
    char *out = NULL;
    assert_int_equal(fm_call(NULL, FM_GET, "/b-stream", NULL, &st, &out), FM_OK);
    assert_int_equal(st, 200);
    assert_string_equal(out, "data: 1\n\ndata: 2\n\n");
    free(out);
}

static void test_call_json_body_and_errors(void **state)
{
    (void)state;
    int status = 0;
    char *out = NULL;
    assert_int_equal(fm_call(NULL, FM_POST, "/b", "{\"n\": 21}", &status, &out), FM_OK);
    assert_int_equal(status, 201);
    cJSON *o = cJSON_Parse(out);
    assert_int_equal((int)cJSON_GetObjectItem(o, "twice")->valuedouble, 42);
    cJSON_Delete(o);
    free(out);

    /* malformed JSON: the same 400 problem an HTTP client gets */
    assert_int_equal(fm_call(NULL, FM_POST, "/b", "{nope", &status, &out), FM_OK);
    assert_int_equal(status, 400);
    assert_non_null(strstr(out, "Malformed JSON"));
    free(out);

    /* unknown route, and a local route, are 404 */
    assert_int_equal(fm_call(NULL, FM_GET, "/zzz", NULL, &status, &out), FM_OK);
    assert_int_equal(status, 404);
    free(out);
    assert_int_equal(fm_call(NULL, FM_GET, "/b-local", NULL, &status, &out), FM_OK);
    assert_int_equal(status, 404);
    free(out);
}

/* A call gets FM_JSON_CALL_EXTRA_DEPTH levels more than a client, room for the
 * envelope the server puts around values that passed the limit; beyond, the same 400. */
static void test_call_json_depth(void **state)
{
    (void)state;
    int max = FM_JSON_MAX_DEPTH + FM_JSON_CALL_EXTRA_DEPTH;
    char body[400];
    for (int extra = 0; extra <= 1; extra++) {
        int arrays = max - 1 + extra;   /* {"n": [[…]]}: the object is one level */
        char *p = body + sprintf(body, "{\"n\":");
        memset(p, '[', (size_t)arrays);
        memset(p + arrays, ']', (size_t)arrays);
        strcpy(p + 2 * arrays, "}");
        int status = 0;
        char *out = NULL;
        assert_int_equal(fm_call(NULL, FM_POST, "/b", body, &status, &out), FM_OK);
        assert_int_equal(status, extra ? 400 : 201);
        if (extra)
            assert_non_null(strstr(out, "urn:flowmaster:problem:json-too-deep"));
        free(out);
    }
}

/* A query value longer than the handler's buffer reaches it whole (it used to read
 * as absent); one over FM_QUERY_MAX is a 422 naming it. */
static void test_call_long_query_value(void **state)
{
    (void)state;
    static char path[FM_QUERY_MAX + 64];
    int n = sprintf(path, "/b/1?x=1&q=");
    memset(path + n, 'v', 3000);
    path[n + 3000] = 0;
    int status = 0;
    char *out = NULL;
    assert_int_equal(fm_call(NULL, FM_GET, path, NULL, &status, &out), FM_OK);
    assert_int_equal(status, 200);
    cJSON *o = cJSON_Parse(out);
    free(out);
    assert_int_equal(strlen(str(o, "q")), 3000);
    cJSON_Delete(o);
    memset(path + n, 'v', FM_QUERY_MAX + 1);
    path[n + FM_QUERY_MAX + 1] = 0;
    assert_int_equal(fm_call(NULL, FM_GET, path, NULL, &status, &out), FM_OK);
    assert_int_equal(status, 422);
    assert_non_null(strstr(out, "\"/q\""));
    free(out);
    /* decoding: '+' and %XX; the first of a repeated name; a name without '=' is none */
    assert_int_equal(fm_call(NULL, FM_GET, "/b/1?q&q=a+b%2Fc&q=second", NULL, &status, &out), FM_OK);
    o = cJSON_Parse(out);
    free(out);
    assert_string_equal(str(o, "q"), "a b/c");
    cJSON_Delete(o);
}

static void test_call_without_routing(void **state)
{
    fix_t *f = *state;
    fm__routing_set(NULL);
    int status = -1;
    char *out = (char *)1;
    assert_int_equal(fm_call(NULL, FM_GET, "/b/1", NULL, &status, &out), FM_EBUSY);
    assert_int_equal(status, 0);
    assert_null(out);
    fm__routing_set(&f->routing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_carries_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_captures_a_streamed_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_json_body_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_json_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_long_query_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_without_routing, setup, teardown),
    };
    return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
