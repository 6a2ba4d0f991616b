/*
 * test_mustache.c — the core Mustache renderer (src/fm_mustache.c): variables, dotted
 * names, escaping on and off, sections over lists/objects/values, inverted sections,
 * comments, standalone lines, partials (and their depth bound), strict mode naming the
 * missing variable, syntax errors with line and column, and the size/nesting limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fm_mustache.h"

/* Renders tpl with the JSON data; returns the output (caller frees) or NULL with *err. */
static char *render_opts(const char *tpl, const char *data, const fm_mustache_opts_t *o, fm_mustache_err_t *err)
{
    cJSON *d = data ? cJSON_Parse(data) : NULL;
    if (data)
        assert_non_null(d);
    char *out = NULL;
    size_t len = 0;
    int rc = fm_mustache_render(tpl, strlen(tpl), d, o, &out, &len, err);
    cJSON_Delete(d);
    if (rc) {
        assert_null(out);
        return NULL;
    }
    assert_int_equal(strlen(out), len);
    return out;
}

static void expect(const char *tpl, const char *data, bool html, const char *want)
{
    fm_mustache_opts_t o = { .escape_html = html };
    fm_mustache_err_t err;
    char *out = render_opts(tpl, data, &o, &err);
    if (!out)
        fail_msg("%s: %s at %d:%d", tpl, err.message, err.line, err.column);
    if (strcmp(out, want) != 0)
        fail_msg("%s\n got: [%s]\nwant: [%s]", tpl, out, want);
    free(out);
}

static void expect_err(const char *tpl, const char *data, bool strict, int code, int line, int col, const char *name)
{
    fm_mustache_opts_t o = { .strict = strict };
    fm_mustache_err_t err;
    char *out = render_opts(tpl, data, &o, &err);
    if (out)
        fail_msg("%s rendered [%s], expected an error", tpl, out);
    assert_int_equal(err.code, code);
    if (line) {
        assert_int_equal(err.line, line);
        assert_int_equal(err.column, col);
    }
    if (name)
        assert_string_equal(err.name, name);
    assert_true(err.message[0] != '\0');
}

static void variables(void **state)
{
    expect("Hello {{name}}!", "{\"name\":\"Ada\"}", false, "Hello Ada!");
    expect("{{ name }}|{{missing}}|", "{\"name\":\"x\"}", false, "x||");
    expect("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", false, "deep");
    expect("{{a.b.x}}", "{\"a\":{\"b\":{\"c\":1}}}", false, "");
    expect("{{n}} {{f}} {{t}} {{z}} {{nil}}", "{\"n\":42,\"f\":1.5,\"t\":true,\"z\":false,\"nil\":null}", false,
           "42 1.5 true false ");
    expect("{{o}}", "{\"o\":{\"k\":[1,2]}}", false, "{\"k\":[1,2]}");
    expect("{{ü}}", "{\"ü\":\"ok\"}", false, "ok");
    expect("no tags at all", "{}", false, "no tags at all");
    expect("", "{}", false, "");
    expect("{ not a tag } {{x}}}", "{\"x\":1}", false, "{ not a tag } 1}");
}

static void escaping(void **state)
{
    const char *d = "{\"h\":\"<b>&\\\"'</b>\"}";
    expect("{{h}}", d, true, "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;");
    expect("{{{h}}}", d, true, "<b>&\"'</b>");
    expect("{{& h}}", d, true, "<b>&\"'</b>");
    expect("{{h}}", d, false, "<b>&\"'</b>");
}

static void sections(void **state)
{
    expect("{{#items}}<{{name}}>{{/items}}", "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", false, "<a><b>");
    expect("{{#list}}{{.}},{{/list}}", "{\"list\":[1,2,3]}", false, "1,2,3,");
    expect("{{#user}}{{name}} ({{org}}){{/user}}", "{\"user\":{\"name\":\"Ada\"},\"org\":\"ACME\"}", false,
           "Ada (ACME)");
    expect("{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}", "{\"flag\":true}", false, "on");
    expect("{{#flag}}on{{/flag}}{{^flag}}off{{/flag}}", "{\"flag\":false}", false, "off");
    expect("{{#e}}x{{/e}}{{^e}}empty{{/e}}", "{\"e\":[]}", false, "empty");
    expect("{{#s}}x{{/s}}{{^s}}none{{/s}}", "{\"s\":\"\"}", false, "none");
    expect("{{^missing}}absent{{/missing}}", "{}", false, "absent");
    expect("{{#a}}{{#b}}{{c}}{{/b}}{{/a}}", "{\"a\":{\"b\":{\"c\":\"in\"}}}", false, "in");
    expect("a{{! a comment }}b", "{}", false, "ab");
}

static void standalone_lines(void **state)
{
    expect("Items:\n{{#items}}\n- {{.}}\n{{/items}}\nEnd\n", "{\"items\":[\"x\",\"y\"]}", false,
           "Items:\n- x\n- y\nEnd\n");
    expect("  {{! note }}\nline\n", "{}", false, "line\n");
    expect("a {{#t}}b{{/t}} c\n", "{\"t\":1}", false, "a b c\n");
    expect("x\r\n{{#t}}\r\ny\r\n{{/t}}\r\n", "{\"t\":1}", false, "x\r\ny\r\n");
}

static void partials(void **state)
{
    cJSON *p = cJSON_Parse("{\"sig\":\"-- {{team}}\",\"item\":\"[{{.}}]\",\"loop\":\"{{>loop}}\"}");
    fm_mustache_opts_t o = { .partials = p };
    fm_mustache_err_t err;
    char *out = render_opts("Hi\n{{>sig}}", "{\"team\":\"Ops\"}", &o, &err);
    assert_non_null(out);
    assert_string_equal(out, "Hi\n-- Ops");
    free(out);
    out = render_opts("{{#l}}{{>item}}{{/l}}", "{\"l\":[1,2]}", &o, &err);
    assert_string_equal(out, "[1][2]");
    free(out);
    out = render_opts("{{>nope}}!", "{}", &o, &err);
    assert_string_equal(out, "!");
    free(out);
    assert_null(render_opts("{{>loop}}", "{}", &o, &err));
    assert_int_equal(err.code, FM_MUSTACHE_ELIMIT);
    o.strict = true;
    assert_null(render_opts("{{>nope}}", "{}", &o, &err));
    assert_int_equal(err.code, FM_MUSTACHE_EMISSING);
    assert_string_equal(err.name, "nope");
    cJSON_Delete(p);
    /* a syntax error inside a partial names the partial and its own line/column */
    p = cJSON_Parse("{\"bad\":\"ok\\n  {{#x}}\"}");
    o = (fm_mustache_opts_t){ .partials = p };
    assert_null(render_opts("{{>bad}}", "{}", &o, &err));
    assert_int_equal(err.code, FM_MUSTACHE_ESYNTAX);
    assert_string_equal(err.source, "partial bad");
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 3);
    cJSON_Delete(p);
}

static void strict_mode(void **state)
{
    expect_err("Dear {{user.name}},\n{{total}}", "{\"user\":{}}", true, FM_MUSTACHE_EMISSING, 1, 6, "user.name");
    expect_err("ok\n  {{#o}}{{x}}{{/o}}", "{\"o\":{}}", true, FM_MUSTACHE_EMISSING, 2, 9, "x");
    fm_mustache_opts_t o = { .strict = true };
    fm_mustache_err_t err;
    char *out = render_opts("{{#gone}}x{{/gone}}{{n}}", "{\"n\":null}", &o, &err);
    assert_string_equal(out, "");   /* sections on missing names and null values are fine */
    free(out);
}

static void syntax_errors(void **state)
{
    expect_err("Hello {{name", "{}", false, FM_MUSTACHE_ESYNTAX, 1, 7, NULL);
    expect_err("a\nb {{#s}}\nc", "{}", false, FM_MUSTACHE_ESYNTAX, 2, 3, "s");
    expect_err("a\n\n  {{/s}}", "{}", false, FM_MUSTACHE_ESYNTAX, 3, 3, "s");
    expect_err("{{#a}}{{/b}}", "{}", false, FM_MUSTACHE_ESYNTAX, 1, 7, "b");
    expect_err("x {{}}", "{}", false, FM_MUSTACHE_ESYNTAX, 1, 3, NULL);
    expect_err("{{a b}}", "{}", false, FM_MUSTACHE_ESYNTAX, 1, 1, NULL);
    expect_err("{{=<% %>=}}", "{}", false, FM_MUSTACHE_ESYNTAX, 1, 1, NULL);
    expect_err("{{{raw}}", "{}", false, FM_MUSTACHE_ESYNTAX, 1, 1, NULL);
    fm_mustache_err_t err;
    assert_int_equal(fm_mustache_check("ok {{x}}", 8, &err), 0);
    assert_int_equal(fm_mustache_check("l1\nl2 {{^x}}", 12, &err), FM_MUSTACHE_ESYNTAX);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 4);
}

static void limits(void **state)
{
    /* nesting */
    char tpl[4096] = "";
    for (int i = 0; i < FM_MUSTACHE_MAX_NESTING + 1; i++)
        strcat(tpl, "{{#a}}");
    expect_err(tpl, "{}", false, FM_MUSTACHE_ELIMIT, 1, 6 * FM_MUSTACHE_MAX_NESTING + 1, NULL);
    /* template size */
    size_t big = FM_MUSTACHE_MAX_TEMPLATE + 1;
    char *s = malloc(big + 1);
    memset(s, 'x', big);
    s[big] = '\0';
    fm_mustache_err_t err;
    assert_int_equal(fm_mustache_check(s, big, &err), FM_MUSTACHE_ELIMIT);
    free(s);
    /* long names */
    char name[FM_MUSTACHE_MAX_NAME + 10];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char t2[512];
    snprintf(t2, sizeof(t2), "{{%s}}", name);
    expect_err(t2, "{}", false, FM_MUSTACHE_ELIMIT, 1, 1, NULL);
    /* output size */
    fm_mustache_opts_t o = { .max_output = 100 };
    assert_null(render_opts("{{#l}}0123456789{{/l}}", "{\"l\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}", &o, &err));
    assert_int_equal(err.code, FM_MUSTACHE_ELIMIT);
    /* work with empty output: nested loops over a long list run out of steps */
    cJSON *d = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(d, "l");
    for (int i = 0; i < 2000; i++)
        cJSON_AddItemToArray(l, cJSON_CreateNumber(1));
    char *out = NULL;
    const char *loops = "{{#l}}{{#l}}{{#l}}{{x}}{{/l}}{{/l}}{{/l}}";
    assert_int_equal(fm_mustache_render(loops, strlen(loops), d, NULL, &out, NULL, &err), FM_MUSTACHE_ELIMIT);
    assert_null(out);
    cJSON_Delete(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(variables),       cmocka_unit_test(escaping),      cmocka_unit_test(sections),
        cmocka_unit_test(standalone_lines), cmocka_unit_test(partials),     cmocka_unit_test(strict_mode),
        cmocka_unit_test(syntax_errors),   cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
