/*
 * test_formjs.c — Camunda Forms in the Human Task Service
 * (src/modules/tasks/tasks_formjs.c): a form-js schema as Camunda Modeler 5 exports it,
 * answers checked with form-js's rules and messages, each violation with its JSON
 * Pointer; schemas that cannot be used are refused with where and why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "modules/tasks/tasks_formjs.h"

/* As Camunda Modeler 5.28 writes it (ids and layout kept, they are ignored). */
static const char *const FORM =
    "{\"components\":["
    "{\"label\":\"Invoice number\",\"type\":\"textfield\",\"layout\":{\"row\":\"Row_1\",\"columns\":null},"
    "\"id\":\"Field_0l2tq3g\",\"key\":\"invoiceNumber\",\"validate\":{\"required\":true,\"pattern\":\"^INV-[0-9]+$\"}},"
    "{\"label\":\"Amount\",\"type\":\"number\",\"id\":\"Field_1\",\"key\":\"amount\",\"decimalDigits\":2,"
    "\"validate\":{\"min\":0,\"max\":10000,\"required\":true}},"
    "{\"subtype\":\"date\",\"dateLabel\":\"Due\",\"type\":\"datetime\",\"id\":\"Field_2\",\"key\":\"due\"},"
    "{\"label\":\"Approved\",\"type\":\"checkbox\",\"id\":\"Field_3\",\"key\":\"approved\",\"defaultValue\":false},"
    "{\"label\":\"Category\",\"type\":\"select\",\"id\":\"Field_4\",\"key\":\"category\",\"validate\":{\"required\":true},"
    "\"values\":[{\"label\":\"Travel\",\"value\":\"travel\"},{\"label\":\"Office\",\"value\":\"office\"}]},"
    "{\"label\":\"Tags\",\"type\":\"checklist\",\"id\":\"Field_5\",\"key\":\"tags\","
    "\"values\":[{\"label\":\"Urgent\",\"value\":\"urgent\"},{\"label\":\"Late\",\"value\":\"late\"}]},"
    "{\"label\":\"Approver\",\"type\":\"radio\",\"id\":\"Field_6\",\"key\":\"approver\",\"valuesKey\":\"approvers\"},"
    "{\"label\":\"Why not\",\"type\":\"textarea\",\"id\":\"Field_7\",\"key\":\"reason\","
    "\"validate\":{\"required\":true,\"minLength\":5,\"maxLength\":20},\"conditional\":{\"hide\":\"=approved\"}},"
    "{\"text\":\"# Invoice\",\"type\":\"text\",\"id\":\"Field_8\"},"
    "{\"label\":\"Contact\",\"type\":\"textfield\",\"id\":\"Field_9\",\"key\":\"contact.email\","
    "\"validate\":{\"validationType\":\"email\"}},"
    "{\"label\":\"Address\",\"type\":\"group\",\"id\":\"Field_10\",\"path\":\"address\",\"showOutline\":true,"
    "\"components\":[{\"label\":\"City\",\"type\":\"textfield\",\"id\":\"Field_11\",\"key\":\"city\","
    "\"validate\":{\"required\":true}}]},"
    "{\"label\":\"Items\",\"type\":\"dynamiclist\",\"id\":\"Field_12\",\"path\":\"items\",\"isRepeating\":true,"
    "\"components\":[{\"label\":\"Qty\",\"type\":\"number\",\"id\":\"Field_13\",\"key\":\"qty\",\"validate\":{\"min\":1}}]},"
    "{\"action\":\"submit\",\"label\":\"Submit\",\"type\":\"button\",\"id\":\"Field_14\"}"
    "],\"type\":\"default\",\"id\":\"invoice-form\",\"executionPlatform\":\"Camunda Cloud\","
    "\"executionPlatformVersion\":\"8.6.0\",\"exporter\":{\"name\":\"Camunda Modeler\",\"version\":\"5.28.0\"},"
    "\"schemaVersion\":16}";

static const char *const VARS = "{\"approvers\":[{\"label\":\"Ann\",\"value\":\"ann\"},{\"label\":\"Bob\",\"value\":\"bob\"}]}";

static const char *const GOOD =
    "{\"invoiceNumber\":\"INV-42\",\"amount\":99.5,\"due\":\"2026-02-28\",\"approved\":true,"
    "\"category\":\"travel\",\"tags\":[\"urgent\"],\"approver\":\"ann\",\"contact\":{\"email\":\"a@b.example\"},"
    "\"address\":{\"city\":\"Berlin\"},\"items\":[{\"qty\":1},{\"qty\":3}]}";

static cJSON *run(const char *form, const char *vars, const char *doc, int *n)
{
    cJSON *f = cJSON_Parse(form), *d = cJSON_Parse(doc), *v = vars ? cJSON_Parse(vars) : NULL;
    cJSON *errs = cJSON_CreateArray();
    assert_non_null(f);
    assert_non_null(d);
    assert_true(tasks_formjs_is(f));
    char why[256];
    if (tasks_formjs_check(f, why, sizeof(why)))
        fail_msg("check: %s", why);
    *n = tasks_formjs_validate(f, d, v, "/response", errs);
    assert_int_equal(*n, cJSON_GetArraySize(errs));
    cJSON_Delete(f);
    cJSON_Delete(d);
    cJSON_Delete(v);
    return errs;
}

/* doc = GOOD with the JSON members in patch replacing or adding top-level fields */
static cJSON *run_patched(const char *patch, int *n)
{
    cJSON *g = cJSON_Parse(GOOD), *p = cJSON_Parse(patch);
    assert_non_null(p);
    const cJSON *x;
    cJSON_ArrayForEach(x, p) {
        cJSON_DeleteItemFromObjectCaseSensitive(g, x->string);
        cJSON_AddItemToObject(g, x->string, cJSON_Duplicate(x, true));
    }
    char *doc = cJSON_PrintUnformatted(g);
    cJSON *errs = run(FORM, VARS, doc, n);
    cJSON_free(doc);
    cJSON_Delete(g);
    cJSON_Delete(p);
    return errs;
}

/* exactly one violation, at ptr, saying detail */
static void one(const char *patch, const char *ptr, const char *detail)
{
    int n;
    cJSON *errs = run_patched(patch, &n);
    if (n != 1) {
        char *s = cJSON_PrintUnformatted(errs);
        fail_msg("%s: %d violations: %s", patch, n, s);
    }
    const cJSON *e = cJSON_GetArrayItem(errs, 0);
    assert_string_equal(cJSON_GetObjectItem(e, "pointer")->valuestring, ptr);
    assert_string_equal(cJSON_GetObjectItem(e, "detail")->valuestring, detail);
    cJSON_Delete(errs);
}

static void test_good_answer(void **state)
{
    (void)state;
    int n;
    cJSON *errs = run(FORM, VARS, GOOD, &n);
    if (n) {
        char *s = cJSON_PrintUnformatted(errs);
        fail_msg("%s", s);
    }
    cJSON_Delete(errs);
    /* optional fields may be left out; an unchecked checkbox shows the hidden reason */
    errs = run(FORM, VARS, "{\"invoiceNumber\":\"INV-1\",\"amount\":0,\"category\":\"office\","
                           "\"approved\":false,\"reason\":\"too dear\",\"address\":{\"city\":\"Rome\"}}", &n);
    assert_int_equal(n, 0);
    cJSON_Delete(errs);
}

static void test_rules(void **state)
{
    (void)state;
    one("{\"invoiceNumber\":\"\"}", "/response/invoiceNumber", "Field is required.");
    one("{\"invoiceNumber\":\"42\"}", "/response/invoiceNumber", "Field must match pattern ^INV-[0-9]+$.");
    one("{\"invoiceNumber\":42}", "/response/invoiceNumber", "Field must be a text.");
    one("{\"amount\":null}", "/response/amount", "Field is required.");
    one("{\"amount\":-1}", "/response/amount", "Field must have minimum value of 0.");
    one("{\"amount\":10000.5}", "/response/amount", "Field must have maximum value of 10000.");
    one("{\"amount\":\"12\"}", "/response/amount", "Value is not a number.");
    one("{\"amount\":1.125}", "/response/amount", "Value is expected to have at most 2 decimal digits.");
    one("{\"due\":\"2026-02-29\"}", "/response/due", "Field must be a valid date (YYYY-MM-DD).");
    one("{\"due\":\"28.02.2026\"}", "/response/due", "Field must be a valid date (YYYY-MM-DD).");
    one("{\"approved\":\"yes\",\"reason\":\"a string\"}", "/response/approved", "Field must be true or false.");
    one("{\"category\":\"food\"}", "/response/category", "Field must be one of the options.");
    one("{\"tags\":[\"urgent\",\"cheap\"]}", "/response/tags/1", "Field must be one of the options.");
    one("{\"tags\":\"urgent\"}", "/response/tags", "Field must be a list of options.");
    one("{\"approver\":\"eve\"}", "/response/approver", "Field must be one of the options.");
    one("{\"contact\":{\"email\":\"not-mail\"}}", "/response/contact/email", "Field must be a valid email.");
    one("{\"address\":{}}", "/response/address/city", "Field is required.");
    one("{\"items\":[{\"qty\":1},{\"qty\":0}]}", "/response/items/1/qty", "Field must have minimum value of 1.");
    one("{\"items\":{\"qty\":1}}", "/response/items", "Field must be a list.");
    /* the reason shows (and is required) only when not approved: conditional.hide */
    one("{\"approved\":false}", "/response/reason", "Field is required.");
    one("{\"approved\":false,\"reason\":\"no\"}", "/response/reason", "Field must have minimum length of 5.");
    one("{\"approved\":false,\"reason\":\"  abc  \"}", "/response/reason", "Field must have minimum length of 5.");
}

static void test_values_key_and_types(void **state)
{
    (void)state;
    int n;
    /* valuesKey options may be plain values; a missing variable is said */
    const char *form = "{\"type\":\"default\",\"components\":[{\"type\":\"taglist\",\"key\":\"who\",\"valuesKey\":\"people\"},"
                       "{\"type\":\"datetime\",\"subtype\":\"datetime\",\"key\":\"at\"},"
                       "{\"type\":\"datetime\",\"subtype\":\"time\",\"key\":\"t\"},"
                       "{\"type\":\"number\",\"key\":\"s\",\"serializeToString\":true,\"validate\":{\"max\":5}},"
                       "{\"type\":\"textfield\",\"key\":\"off\",\"disabled\":true,\"validate\":{\"required\":true}},"
                       "{\"type\":\"textfield\",\"key\":\"tel\",\"validate\":{\"validationType\":\"phone\"}}]}";
    cJSON *errs = run(form, "{\"people\":[\"ann\",\"bob\"]}",
                      "{\"who\":[\"bob\"],\"at\":\"2026-01-02T10:30+01:00\",\"t\":\"23:59Z\",\"s\":\"4.5\","
                      "\"tel\":\"+4930664040900\"}", &n);
    assert_int_equal(n, 0);
    cJSON_Delete(errs);
    errs = run(form, NULL, "{\"who\":[\"bob\"],\"at\":\"2026-01-02\",\"t\":\"24:00\",\"s\":\"6\",\"tel\":\"030 1234\"}", &n);
    assert_int_equal(n, 5);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "detail")->valuestring,
                        "Field options come from variable 'people', which the task does not have.");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 1), "pointer")->valuestring, "/response/at");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 2), "pointer")->valuestring, "/response/t");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 3), "detail")->valuestring,
                        "Field must have maximum value of 5.");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 4), "pointer")->valuestring, "/response/tel");
    cJSON_Delete(errs);
}

/* conditions inside a dynamic list see the item's fields before the response's; the
 * number of evaluations is bounded */
static void test_list_conditions(void **state)
{
    (void)state;
    const char *form = "{\"components\":[{\"type\":\"dynamiclist\",\"path\":\"lines\",\"components\":["
                       "{\"type\":\"checkbox\",\"key\":\"free\"},"
                       "{\"type\":\"number\",\"key\":\"price\",\"validate\":{\"required\":true},"
                       "\"conditional\":{\"hide\":\"=free\"}}]}]}";
    int n;
    cJSON *errs = run(form, "{\"free\":false}",
                      "{\"free\":false,\"lines\":[{\"free\":true},{\"free\":false,\"price\":3},{}]}", &n);
    if (n != 1)
        fail_msg("%s", cJSON_PrintUnformatted(errs));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "pointer")->valuestring,
                        "/response/lines/2/price");
    cJSON_Delete(errs);
    /* 1,001 items with a condition each: refused as a whole, not checked half-way */
    cJSON *doc = cJSON_CreateObject(), *lines = cJSON_AddArrayToObject(doc, "lines");
    for (int i = 0; i < TASKS_FORMJS_MAX_CONDITIONS + 1; i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddBoolToObject(it, "free", true);
        cJSON_AddItemToArray(lines, it);
    }
    char *text = cJSON_PrintUnformatted(doc);
    errs = run(form, NULL, text, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "detail")->valuestring,
                           "cannot be checked"));
    cJSON_Delete(errs);
    cJSON_free(text);
    cJSON_Delete(doc);
}

/* The form-js editor writes bounds typed into its properties panel as strings. */
static void test_string_bounds(void **state)
{
    (void)state;
    static const char *const F =
        "{\"components\":[{\"label\":\"Qty\",\"type\":\"number\",\"id\":\"F1\",\"key\":\"qty\","
        "\"validate\":{\"min\":\"1\",\"max\":\" 10.5 \"}},"
        "{\"label\":\"Name\",\"type\":\"textfield\",\"id\":\"F2\",\"key\":\"name\","
        "\"validate\":{\"minLength\":\"2\",\"maxLength\":\"4\"}},"
        "{\"label\":\"Note\",\"type\":\"textfield\",\"id\":\"F3\",\"key\":\"note\","
        "\"validate\":{\"min\":\"\",\"maxLength\":\"\"}}],\"type\":\"default\"}";
    int n;
    cJSON *errs = run(F, NULL, "{\"qty\":1,\"name\":\"Ann\",\"note\":\"a long note\"}", &n);
    assert_int_equal(n, 0);
    cJSON_Delete(errs);
    errs = run(F, NULL, "{\"qty\":0,\"name\":\"A\"}", &n);
    assert_int_equal(n, 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "detail")->valuestring,
                        "Field must have minimum value of 1.");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 1), "detail")->valuestring,
                        "Field must have minimum length of 2.");
    cJSON_Delete(errs);
    errs = run(F, NULL, "{\"qty\":11,\"name\":\"Annabel\"}", &n);
    assert_int_equal(n, 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 0), "detail")->valuestring,
                        "Field must have maximum value of 10.5.");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(errs, 1), "detail")->valuestring,
                        "Field must have maximum length of 4.");
    cJSON_Delete(errs);
}

static void refused(const char *form, const char *why_part)
{
    cJSON *f = cJSON_Parse(form);
    assert_non_null(f);
    char why[256] = "";
    if (!tasks_formjs_check(f, why, sizeof(why)))
        fail_msg("accepted: %s", form);
    if (!strstr(why, why_part))
        fail_msg("%s: reason '%s' lacks '%s'", form, why, why_part);
    cJSON_Delete(f);
}

static void test_check(void **state)
{
    (void)state;
    cJSON *js = cJSON_Parse("{\"type\":\"object\",\"properties\":{}}");
    assert_false(tasks_formjs_is(js));      /* JSON Schema stays JSON Schema */
    cJSON_Delete(js);
    refused("{\"type\":\"default\",\"components\":{}}", "/components: must be an array");
    refused("{\"type\":\"custom\",\"components\":[]}", "/type");
    refused("{\"components\":[{\"type\":\"textfield\"}]}", "/components/0/key: is required");
    refused("{\"components\":[{\"type\":\"number\",\"key\":\"a\",\"validate\":{\"min\":\"one\"}}]}",
            "/components/0/validate/min: must be a number");
    refused("{\"components\":[{\"type\":\"number\",\"key\":\"a\",\"validate\":{\"max\":\"1e999\"}}]}",
            "/components/0/validate/max: must be a number");
    refused("{\"components\":[{\"type\":\"textfield\",\"key\":\"a\",\"validate\":{\"minLength\":\"2.5\"}}]}",
            "/components/0/validate/minLength: must be a non-negative integer");
    refused("{\"components\":[{\"type\":\"textfield\",\"key\":\"a\",\"validate\":{\"pattern\":\"(\"}}]}",
            "/components/0/validate/pattern: is not a valid regular expression");
    refused("{\"components\":[{\"type\":\"select\",\"key\":\"a\",\"values\":[\"x\"]}]}", "/components/0/values");
    refused("{\"components\":[{\"type\":\"group\",\"components\":[{\"type\":\"textfield\",\"key\":\"a\","
            "\"conditional\":{\"hide\":\"=a >\"}}]}]}", "/components/0/components/0/conditional/hide");
    refused("{\"components\":[{\"type\":\"dynamiclist\",\"components\":[]}]}", "/components/0/path");
    /* nesting is bounded */
    char deep[4096] = "{\"components\":[";
    for (int i = 0; i < 20; i++)
        strcat(deep, "{\"type\":\"group\",\"components\":[");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]}");
    strcat(deep, "]}");
    refused(deep, "nested too deeply");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_answer),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_values_key_and_types),
        cmocka_unit_test(test_list_conditions),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_string_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
