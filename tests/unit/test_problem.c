/* test_problem.c — the dispatcher (fm__dispatch) and its RFC 9457 problem answers:
 * 404, 405 + Allow, 501 for catalogue routes, 400 malformed JSON with its position,
 * 422 field checks, and the problem for an FM_E* code a handler returns. */
#include "fm_test.h"

#include "fm_config.h"
#include "fm_http_int.h"
#include "fm_log.h"
#include "fm_mod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- handlers ---- */

static int h_ok(fm_req_t *r)
{
    cJSON *o = cJSON_CreateObject();
    const char *id = fm_req_param(r, "id");
    cJSON_AddStringToObject(o, "id", id ? id : "");
    cJSON_AddStringToObject(o, "tenant", fm_req_tenant(r));
    return fm_reply_json(r, 200, o);
}

static int h_notfound(fm_req_t *r) { (void)r; return FM_ENOTFOUND; }
static int h_silent(fm_req_t *r) { (void)r; return FM_OK; }
static int h_conflict(fm_req_t *r) { (void)r; return FM_ECONFLICT; }
static int h_busy(fm_req_t *r) { (void)r; return FM_EBUSY; }
static int h_einval(fm_req_t *r) { (void)r; return FM_EINVAL; }
static int h_edb(fm_req_t *r) { (void)r; return FM_EDB; }
static int h_weird(fm_req_t *r) { (void)r; return -999; }

static int h_twice(fm_req_t *r)
{
    fm_reply_status(r, 204);
    return fm_reply_json(r, 200, cJSON_CreateObject());     /* ignored: answered already */
}

static const fm_field_t create_fields[] = {
    { "name", FM_F_STRING, true, 1, 8, "abcdefghijklmnopqrstuvwxyz-" },
    { "count", FM_F_INT, false, 1, 10, NULL },
    { "url", FM_F_URL, false, 0, 0, NULL },
    { "enabled", FM_F_BOOL, false, 0, 0, NULL },
    { "tags", FM_F_ARRAY, false, 0, 0, NULL },
};

static int h_create(fm_req_t *r)
{
    int rc = fm_req_check(r, create_fields, sizeof(create_fields) / sizeof(create_fields[0]));
    if (rc != FM_OK)
        return rc;
    cJSON *j = fm_req_json(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring);
    return fm_reply_json(r, 201, o);
}

static int h_raw(fm_req_t *r)
{
    size_t len = 0;
    const char *b = fm_req_body(r, &len);
    assert_null(fm_req_json(r));    /* FM_R_BODY: not parsed */
    return fm_reply_raw(r, 200, "text/plain", b, len);
}

static const fm_route_t defs[] = {
    { FM_GET, "/items", h_ok, 0, NULL },
    { FM_POST, "/items", h_create, FM_R_JSON, NULL },
    { FM_GET, "/items/{id}", h_ok, 0, NULL },
    { FM_DELETE, "/items/{id}", h_notfound, 0, NULL },
    { FM_PUT, "/items/{id}", h_silent, 0, NULL },
    { FM_POST, "/items/{id}/archive", NULL, FM_R_JSON, NULL },   /* catalogue only */
    { FM_GET, "/errors/conflict", h_conflict, 0, NULL },
    { FM_GET, "/errors/busy", h_busy, 0, NULL },
    { FM_GET, "/errors/einval", h_einval, 0, NULL },
    { FM_GET, "/errors/edb", h_edb, 0, NULL },
    { FM_GET, "/errors/weird", h_weird, 0, NULL },
    { FM_GET, "/errors/twice", h_twice, 0, NULL },
    { FM_POST, "/raw", h_raw, FM_R_BODY, NULL },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

typedef struct {
    fm_rentry_t e[NDEFS];
    fm_rtable_t t;
    fm_mod_t mod;
    fm_module_t def;
    /* the last request */
    fm_req_t r;
    fm_buf_t out;
    cJSON *json;
} fix_t;

static int setup(void **state)
{
    fm_config_t c;
    fm_config_defaults(&c);
    c.log_requests = false;
    fm_config_install(&c);
    fm_log_set_level("error");
    fix_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->def = (fm_module_t){ "widgets", "Widgets", 7001, 0, defs, NDEFS, NULL, NULL, NULL };
    f->mod.def = &f->def;
    char err[256];
    for (size_t i = 0; i < NDEFS; i++) {
        if (fm_rentry_init(&f->e[i], &defs[i], &f->mod, "widgets", err, sizeof(err)) != FM_OK ||
            fm_rtable_add(&f->t, &f->e[i], err, sizeof(err)) != FM_OK) {
            print_error("%s\n", err);
            return -1;
        }
    }
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
    free(f);
    return 0;
}

/* Dispatches one in-memory request; returns the status. f->json is the parsed body. */
static int run(fix_t *f, const char *method, const char *path, const char *body)
{
    req_done(f);
    f->r.conn = NULL;
    f->r.capture = &f->out;
    f->r.method_text = method;
    f->r.method = (fm_method_t)fm_method_parse(method);
    f->r.path = path;
    f->r.body = (char *)body;
    f->r.body_len = body ? strlen(body) : 0;
    snprintf(f->r.rid, sizeof(f->r.rid), "req_test_0001");
    snprintf(f->r.tenant, sizeof(f->r.tenant), "acme");
    f->r.internal = true;   /* dispatch mechanics here; the auth guard has test_guard.c */
    fm__dispatch(&f->r, &f->t);
    assert_true(f->r.replied);
    if (f->out.len)
        f->json = cJSON_ParseWithLength(f->out.data, f->out.len);
    return f->r.status;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        fail_msg("member '%s' is not a string", name);
    return v->valuestring;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("member '%s' is not a number", name);
    return v->valuedouble;
}

/* The RFC 9457 members every problem has. */
static void assert_problem(fix_t *f, int status, const char *type, const char *title)
{
    assert_int_equal(f->r.status, status);
    if (!cJSON_IsObject(f->json))
        fail_msg("body is not a JSON object: %.*s", (int)f->out.len, f->out.data ? f->out.data : "");
    assert_string_equal(str(f->json, "type"), type);
    assert_string_equal(str(f->json, "title"), title);
    assert_int_equal((int)num(f->json, "status"), status);
    assert_true(strlen(str(f->json, "detail")) > 0);
    assert_string_equal(str(f->json, "instance"), "req_test_0001");
}

static bool has_header(const fix_t *f, const char *line)
{
    return f->r.hdrs.data && strstr(f->r.hdrs.data, line);
}

/* ---- tests ---- */

static void test_ok_route(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "GET", "/items/i-7", NULL), 200);
    assert_string_equal(str(f->json, "id"), "i-7");
    assert_string_equal(str(f->json, "tenant"), "acme");
    assert_ptr_equal(f->r.route, &f->e[2]);
    assert_ptr_equal(fm_req_mod(&f->r), &f->mod);
    /* the module's latency histogram saw it */
    assert_int_equal(atomic_load(&f->mod.latency.count), 1);
}

static void test_404(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "GET", "/nothing/here", NULL), 404);
    assert_problem(f, 404, "about:blank", "Not Found");
    assert_non_null(strstr(str(f->json, "detail"), "/nothing/here"));
    assert_null(f->r.route);
    assert_false(has_header(f, "Allow"));
    /* trailing slash is a different path */
    assert_int_equal(run(f, "GET", "/items/", NULL), 404);
    assert_problem(f, 404, "about:blank", "Not Found");
}

static void test_405(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "PATCH", "/items/x", NULL), 405);
    assert_problem(f, 405, "about:blank", "Method Not Allowed");
    assert_true(has_header(f, "Allow: GET, PUT, DELETE\r\n"));
    assert_non_null(strstr(str(f->json, "detail"), "PATCH"));
    assert_int_equal(run(f, "DELETE", "/items", NULL), 405);
    assert_true(has_header(f, "Allow: GET, POST\r\n"));
    /* an unknown method: 405 listing what the path has */
    assert_int_equal(run(f, "BREW", "/items", NULL), 405);
    assert_problem(f, 405, "about:blank", "Method Not Allowed");
    assert_true(has_header(f, "Allow: GET, POST\r\n"));
    assert_int_equal(run(f, "BREW", "/nothing", NULL), 404);
}

static void test_501_catalogue_route(void **state)
{
    fix_t *f = *state;
    /* not built: 501 before the body is even looked at */
    assert_int_equal(run(f, "POST", "/items/x/archive", "not json"), 501);
    assert_problem(f, 501, "urn:flowmaster:problem:not-implemented", "Not Implemented");
    assert_string_equal(str(f->json, "module"), "widgets");
    assert_string_equal(str(f->json, "route"), "POST /items/{id}/archive");
    assert_non_null(strstr(str(f->json, "detail"), "widgets"));
}

static void test_400_malformed_json(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "POST", "/items", "{\n  \"a\": }"), 400);
    assert_problem(f, 400, "urn:flowmaster:problem:malformed-json", "Malformed JSON");
    /* the error is at the '}' : line 2, column 8, byte 9 */
    assert_int_equal((int)num(f->json, "line"), 2);
    assert_int_equal((int)num(f->json, "column"), 8);
    assert_int_equal((int)num(f->json, "offset"), 9);
    const char *detail = str(f->json, "detail");
    assert_non_null(strstr(detail, "line 2"));
    assert_non_null(strstr(detail, "column 8"));

    assert_int_equal(run(f, "POST", "/items", NULL), 400);
    assert_problem(f, 400, "urn:flowmaster:problem:malformed-json", "Malformed JSON");
    assert_non_null(strstr(str(f->json, "detail"), "empty"));
}

/* A JSON document followed by anything but whitespace is not JSON (RFC 8259). */
static void test_400_trailing_garbage(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"ok\"} \n"), 201);  /* whitespace is fine */
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"ok\"} trailing"), 400);
    assert_problem(f, 400, "urn:flowmaster:problem:malformed-json", "Malformed JSON");
    assert_int_equal((int)num(f->json, "line"), 1);
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"a\"}{\"name\":\"b\"}"), 400);
}

static void test_422_field_checks(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "POST", "/items", "{\"count\":\"three\",\"url\":\"ftp://x\","
                                              "\"enabled\":1,\"tags\":{}}"), 422);
    assert_problem(f, 422, "urn:flowmaster:problem:validation", "Validation Failed");
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(f->json, "errors");
    assert_true(cJSON_IsArray(errs));
    assert_int_equal(cJSON_GetArraySize(errs), 5);
    static const char *const ptrs[] = { "/name", "/count", "/url", "/enabled", "/tags" };
    static const char *const why[] = { "required", "whole number", "URL", "boolean", "array" };
    for (int i = 0; i < 5; i++) {
        const cJSON *e = cJSON_GetArrayItem(errs, i);
        assert_string_equal(str(e, "pointer"), ptrs[i]);
        if (!strstr(str(e, "detail"), why[i]))
            fail_msg("%s: '%s' does not say '%s'", ptrs[i], str(e, "detail"), why[i]);
    }
    assert_non_null(strstr(str(f->json, "detail"), "5 fields"));

    /* bounds and charset */
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"Upper\",\"count\":11}"), 422);
    errs = cJSON_GetObjectItemCaseSensitive(f->json, "errors");
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    assert_string_equal(str(cJSON_GetArrayItem(errs, 0), "pointer"), "/name");
    assert_string_equal(str(cJSON_GetArrayItem(errs, 1), "pointer"), "/count");
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"much-too-long\"}"), 422);
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"x\",\"count\":2.5}"), 422);
    errs = cJSON_GetObjectItemCaseSensitive(f->json, "errors");
    assert_string_equal(str(cJSON_GetArrayItem(errs, 0), "pointer"), "/count");

    /* not an object at all */
    assert_int_equal(run(f, "POST", "/items", "[1,2]"), 422);
    assert_problem(f, 422, "urn:flowmaster:problem:validation", "Validation Failed");

    /* null counts as absent; a good body passes */
    assert_int_equal(run(f, "POST", "/items", "{\"name\":\"ok-name\",\"count\":null,"
                                              "\"url\":\"https://x.test/\",\"enabled\":true}"), 201);
    assert_string_equal(str(f->json, "name"), "ok-name");
}

static void test_handler_error_codes(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "DELETE", "/items/x", NULL), 404);
    assert_problem(f, 404, "about:blank", "Not Found");
    assert_ptr_equal(f->r.route, &f->e[3]);     /* matched; the handler said 404 */
    assert_int_equal(run(f, "GET", "/errors/conflict", NULL), 409);
    assert_problem(f, 409, "about:blank", "Conflict");
    assert_int_equal(run(f, "GET", "/errors/busy", NULL), 503);
    assert_problem(f, 503, "about:blank", "Service Unavailable");
    assert_int_equal(run(f, "GET", "/errors/einval", NULL), 422);
    assert_problem(f, 422, "urn:flowmaster:problem:validation", "Validation Failed");
    assert_int_equal(run(f, "GET", "/errors/edb", NULL), 500);
    assert_problem(f, 500, "urn:flowmaster:problem:storage", "Storage Error");
    assert_int_equal(run(f, "GET", "/errors/weird", NULL), 500);
    assert_problem(f, 500, "about:blank", "Internal Server Error");
}

static void test_handler_without_answer(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "PUT", "/items/x", NULL), 500);
    assert_problem(f, 500, "about:blank", "Internal Server Error");
    assert_non_null(strstr(str(f->json, "detail"), "no answer"));
}

static void test_answer_once(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "GET", "/errors/twice", NULL), 204);
    assert_int_equal(f->out.len, 0);
}

static void test_raw_body_route(void **state)
{
    fix_t *f = *state;
    assert_int_equal(run(f, "POST", "/raw", "not { json"), 200);
    assert_int_equal(f->out.len, 10);
    assert_memory_equal(f->out.data, "not { json", 10);
}

static void test_reply_problem_extensions(void **state)
{
    fix_t *f = *state;
    req_done(f);
    f->r.capture = &f->out;
    snprintf(f->r.rid, sizeof(f->r.rid), "req_x");
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddNumberToObject(ext, "limit", 1024);
    cJSON_AddStringToObject(ext, "hint", "smaller");
    assert_int_equal(fm_reply_problem(&f->r, 413, NULL, NULL, ext, "over by %d bytes", 7), FM_OK);
    f->json = cJSON_ParseWithLength(f->out.data, f->out.len);
    assert_non_null(f->json);
    assert_string_equal(str(f->json, "title"), "Content Too Large");
    assert_string_equal(str(f->json, "type"), "about:blank");
    assert_string_equal(str(f->json, "detail"), "over by 7 bytes");
    assert_string_equal(str(f->json, "instance"), "req_x");
    assert_int_equal((int)num(f->json, "limit"), 1024);
    assert_string_equal(str(f->json, "hint"), "smaller");
    assert_true(fm_replied(&f->r));
}

static void test_route_stats(void **state)
{
    fix_t *f = *state;
    run(f, "GET", "/items", NULL);
    run(f, "GET", "/items", NULL);
    const fm_route_stats_t *s = &f->e[0].stats;
    bool found = false;
    for (int i = 1; i < FM_STATUS_SLOTS; i++)
        if (atomic_load(&s->code[i]) == 200) {
            assert_int_equal(atomic_load(&s->count[i]), 2);
            found = true;
        }
    assert_true(found);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ok_route),
        T(test_404),
        T(test_405),
        T(test_501_catalogue_route),
        T(test_400_malformed_json),
        T(test_400_trailing_garbage),
        T(test_422_field_checks),
        T(test_handler_error_codes),
        T(test_handler_without_answer),
        T(test_answer_once),
        T(test_raw_body_route),
        T(test_reply_problem_extensions),
        T(test_route_stats),
    };
    return cmocka_run_group_tests_name("problem", tests, NULL, NULL);
}
