/*
 * test_jsonschema.c — the form validator of the Human Task Service
 * (src/modules/tasks/tasks_jsonschema.c): schema checks and one violation per
 * offending value, each with its JSON Pointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "modules/tasks/tasks_jsonschema.h"

/* Validates doc against schema; returns the errors array (caller deletes). */
static cJSON *run(const char *schema, const char *doc, int *n)
{
    cJSON *s = cJSON_Parse(schema), *d = cJSON_Parse(doc), *errs = cJSON_CreateArray();
    assert_non_null(s);
    assert_non_null(d);
    char why[256];
    assert_int_equal(tasks_schema_check(s, why, sizeof(why)), 0);
    *n = tasks_schema_validate(s, d, "/response", errs);
    assert_int_equal(*n, cJSON_GetArraySize(errs));
    cJSON_Delete(s);
    cJSON_Delete(d);
    return errs;
}

static const char *ptr_at(const cJSON *errs, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(errs, i), "pointer")->valuestring;
}

static void expect(const char *schema, const char *doc, int count, const char *first_ptr)
{
    int n;
    cJSON *errs = run(schema, doc, &n);
    if (n != count)
        fail_msg("%s against %s: %d violations, expected %d", doc, schema, n, count);
    if (first_ptr)
        assert_string_equal(ptr_at(errs, 0), first_ptr);
    cJSON_Delete(errs);
}

static void test_types(void **state)
{
    (void)state;
    expect("{\"type\":\"object\"}", "{}", 0, NULL);
    expect("{\"type\":\"object\"}", "[]", 1, "/response");
    expect("{\"type\":\"integer\"}", "3", 0, NULL);
    expect("{\"type\":\"integer\"}", "3.5", 1, "/response");
    expect("{\"type\":\"number\"}", "3.5", 0, NULL);
    expect("{\"type\":[\"string\",\"null\"]}", "null", 0, NULL);
    expect("{\"type\":[\"string\",\"null\"]}", "1", 1, "/response");
    expect("{\"type\":\"boolean\"}", "\"true\"", 1, "/response");
}

static void test_properties_required_additional(void **state)
{
    (void)state;
    const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"number\"}},"
                    "\"required\":[\"a\",\"b\"],\"additionalProperties\":false}";
    expect(s, "{\"a\":\"x\",\"b\":1}", 0, NULL);
    expect(s, "{\"a\":\"x\"}", 1, "/response/b");
    expect(s, "{\"a\":1,\"b\":1}", 1, "/response/a");
    expect(s, "{\"a\":\"x\",\"b\":1,\"c/d~\":2}", 1, "/response/c~1d~0");
    expect(s, "{}", 2, "/response/a");
    /* without additionalProperties: false, unknown members pass */
    expect("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"z\":1}", 0, NULL);
}

static void test_numbers_strings_enum(void **state)
{
    (void)state;
    expect("{\"minimum\":1,\"maximum\":10}", "1", 0, NULL);
    expect("{\"minimum\":1,\"maximum\":10}", "0.5", 1, "/response");
    expect("{\"minimum\":1,\"maximum\":10}", "11", 1, "/response");
    expect("{\"minLength\":2,\"maxLength\":3}", "\"ab\"", 0, NULL);
    expect("{\"minLength\":2,\"maxLength\":3}", "\"a\"", 1, "/response");
    expect("{\"minLength\":2,\"maxLength\":3}", "\"abcd\"", 1, "/response");
    /* lengths count characters, not bytes */
    expect("{\"maxLength\":2}", "\"\xc3\xa9\xc3\xa9\"", 0, NULL);
    expect("{\"enum\":[\"a\",1,{\"k\":true}]}", "{\"k\":true}", 0, NULL);
    expect("{\"enum\":[\"a\",1,{\"k\":true}]}", "\"b\"", 1, "/response");
    /* both violations of one string are reported */
    expect("{\"minLength\":3,\"pattern\":\"^[a-z]+$\"}", "\"A\"", 2, "/response");
}

static void test_pattern_and_items(void **state)
{
    (void)state;
    expect("{\"pattern\":\"^[0-9]{3}-[0-9]{4}$\"}", "\"555-1234\"", 0, NULL);
    expect("{\"pattern\":\"^[0-9]{3}-[0-9]{4}$\"}", "\"5551234\"", 1, "/response");
    /* catastrophic backtracking ends at the match limit, as a violation */
    int n;
    cJSON *errs = run("{\"pattern\":\"^(a|aa)+$\"}",
                      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"", &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "detail")->valuestring, "match limit"));
    cJSON_Delete(errs);
    const char *s = "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
                    "\"required\":[\"n\"]}}";
    expect(s, "[{\"n\":1},{\"n\":2}]", 0, NULL);
    expect(s, "[{\"n\":1},{\"n\":\"2\"},{}]", 2, "/response/1/n");
}

/* const and format (date-time, email, uri), shared with the Event Bus's schema registry;
 * an unknown format is an annotation and checks nothing. */
static void test_const_and_format(void **state)
{
    (void)state;
    expect("{\"properties\":{\"k\":{\"const\":\"invoice\"}}}", "{\"k\":\"invoice\"}", 0, NULL);
    expect("{\"properties\":{\"k\":{\"const\":{\"a\":1}}}}", "{\"k\":{\"a\":2}}", 1, "/response/k");
    static const char dt[] = "{\"properties\":{\"t\":{\"type\":\"string\",\"format\":\"date-time\"}}}";
    expect(dt, "{\"t\":\"2026-12-04T10:00:00.5+01:00\"}", 0, NULL);
    expect(dt, "{\"t\":\"2026-12-04 10:00\"}", 1, "/response/t");
    static const char em[] = "{\"properties\":{\"m\":{\"format\":\"email\"}}}";
    expect(em, "{\"m\":\"a@b.example\"}", 0, NULL);
    expect(em, "{\"m\":\"a b@c\"}", 1, "/response/m");
    expect(em, "{\"m\":5}", 0, NULL);     /* format applies to strings only */
    static const char uri[] = "{\"properties\":{\"u\":{\"format\":\"uri\"}}}";
    expect(uri, "{\"u\":\"urn:isbn:123\"}", 0, NULL);
    expect(uri, "{\"u\":\"/relative\"}", 1, "/response/u");
    expect("{\"properties\":{\"x\":{\"format\":\"hostname\"}}}", "{\"x\":\"!!\"}", 0, NULL);
    cJSON *bad = cJSON_Parse("{\"format\":5}");
    char why[256];
    assert_int_equal(tasks_schema_check(bad, why, sizeof(why)), -1);
    cJSON_Delete(bad);
}

static void test_schema_check(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]", "{\"type\":\"thing\"}", "{\"type\":3}", "{\"properties\":[]}", "{\"required\":[1]}",
        "{\"enum\":[]}", "{\"minimum\":\"1\"}", "{\"maxLength\":-1}", "{\"pattern\":\"(\"}",
        "{\"items\":5}", "{\"additionalProperties\":\"no\"}",
        "{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"nope\"}}}}}",
    };
    char why[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *s = cJSON_Parse(bad[i]);
        assert_non_null(s);
        if (tasks_schema_check(s, why, sizeof(why)) != -1)
            fail_msg("schema %s was accepted", bad[i]);
        cJSON_Delete(s);
    }
    cJSON *s = cJSON_Parse("{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"nope\"}}}}}");
    tasks_schema_check(s, why, sizeof(why));
    assert_non_null(strstr(why, "/properties/a/properties/b"));
    cJSON_Delete(s);
}

static void test_error_cap(void **state)
{
    (void)state;
    char doc[4096];
    size_t n = (size_t)snprintf(doc, sizeof(doc), "[");
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"x\"", i ? "," : "");
    snprintf(doc + n, sizeof(doc) - n, "]");
    cJSON *s = cJSON_Parse("{\"items\":{\"type\":\"number\"}}"), *d = cJSON_Parse(doc);
    cJSON *errs = cJSON_CreateArray();
    assert_int_equal(tasks_schema_validate(s, d, "", errs), 150);
    assert_int_equal(cJSON_GetArraySize(errs), TASKS_SCHEMA_MAX_ERRORS);
    assert_string_equal(ptr_at(errs, 0), "/0");
    cJSON_Delete(s);
    cJSON_Delete(d);
    cJSON_Delete(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_properties_required_additional),
        cmocka_unit_test(test_numbers_strings_enum),
        cmocka_unit_test(test_pattern_and_items),
        cmocka_unit_test(test_const_and_format),
        cmocka_unit_test(test_schema_check),
        cmocka_unit_test(test_error_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
