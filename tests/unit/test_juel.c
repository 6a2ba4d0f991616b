/*
 * test_juel.c — JUEL to FEEL (src/modules/execution/exec_juel.c): the translation
 * table of every supported construct (exact FEEL text), the values those FEEL texts
 * give over a set of variables (JUEL's answers), refusals with their messages, and the
 * length and depth bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dmn/dmn.h"
#include "feel/feel.h"
#include "modules/execution/exec_juel.h"

typedef struct { const char *juel, *feel; } tr_t;

static const tr_t table[] = {
    /* values */
    { "${amount}", "amount" },
    { "#{amount}", "amount" },
    { "${ 42 }", "42" },
    { "${1.5}", "1.5" },
    { "${.5}", "0.5" },
    { "${'it''s'}", NULL },     /* two literals side by side: refused below, not here */
    { "${'a\\'b'}", "\"a'b\"" },
    { "${\"say \\\"hi\\\"\"}", "\"say \\\"hi\\\"\"" },
    { "${true}", "true" },
    { "${null}", "null" },
    { "${order.customer.name}", "order.customer.name" },
    { "${order.for}", "get value(order, \"for\")" },
    { "${items[0]}", "items[1]" },
    { "${items[2].price}", "items[3].price" },
    { "${map['key']}", "get value(map, \"key\")" },
    { "${items[i]}", "(if i instance of number then items[i + 1] else get value(items, i))" },
    { "${loopCounter}", "(loopCounter - 1)" },
    /* comparison */
    { "${a == 1}", "(a = 1)" },
    { "${a != 'x'}", "(a != \"x\")" },
    { "${a < 1}", "(a < 1)" },
    { "${a > 1}", "(a > 1)" },
    { "${a <= 1}", "(a <= 1)" },
    { "${a >= 1}", "(a >= 1)" },
    { "${a eq 1}", "(a = 1)" },
    { "${a ne 1}", "(a != 1)" },
    { "${a lt 1}", "(a < 1)" },
    { "${a gt 1}", "(a > 1)" },
    { "${a le 1}", "(a <= 1)" },
    { "${a ge 1}", "(a >= 1)" },
    /* logic */
    { "${a && b}", "((if a = true then true else false) and (if b = true then true else false))" },
    { "${a and b}", "((if a = true then true else false) and (if b = true then true else false))" },
    { "${a || b}", "((if a = true then true else false) or (if b = true then true else false))" },
    { "${a or true}", "((if a = true then true else false) or true)" },
    { "${!a}", "not((if a = true then true else false))" },
    { "${not true}", "not(true)" },
    { "${!(a && b)}", "not(((if a = true then true else false) and (if b = true then true else false)))" },
    { "${empty list}", "(if list = null then true else if list instance of string then list = \"\" else if list "
                       "instance of list then count(list) = 0 else if list instance of context then "
                       "count(get entries(list)) = 0 else false)" },
    { "${not empty x}", "not((if x = null then true else if x instance of string then x = \"\" else if x instance "
                        "of list then count(x) = 0 else if x instance of context then count(get entries(x)) = 0 "
                        "else false))" },
    /* arithmetic */
    { "${a + b * 2}", "(a + (b * 2))" },
    { "${(a + b) * 2}", "((a + b) * 2)" },
    { "${a - b - c}", "((a - b) - c)" },
    { "${a / 2}", "(a / 2)" },
    { "${a div 2}", "(a / 2)" },
    { "${-a}", "(-a)" },
    { "${a % 3}", "(a - 3 * (if a / 3 < 0 then ceiling(a / 3) else floor(a / 3)))" },
    { "${a mod 3}", "(a - 3 * (if a / 3 < 0 then ceiling(a / 3) else floor(a / 3)))" },
    /* ternary */
    { "${a > 1 ? 'big' : 'small'}", "(if (if (a > 1) = true then true else false) then \"big\" else \"small\")" },
    /* text around expressions */
    { "Dear ${name}!", "\"Dear \" + (if name = null then \"\" else string(name)) + \"!\"" },
    { "${a}${b}", "(if a = null then \"\" else string(a)) + (if b = null then \"\" else string(b))" },
    { "cost: \\${x}", "\"cost: ${x}\"" },
    { "  ${x > 1}\n ", "(x > 1)" },
};

static void test_translation_table(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (!table[i].feel)
            continue;
        char why[300];
        char *got = ex_juel_to_feel(table[i].juel, why, sizeof(why));
        if (!got || strcmp(got, table[i].feel)) {
            printf("FAIL %s\n  want %s\n  got  %s\n", table[i].juel, table[i].feel, got ? got : why);
            bad++;
        } else {
            feel_perr_t pe;
            feel_expr_t *e = feel_parse(got, FEEL_EXPR, NULL, &pe);
            if (!e) {
                printf("FEEL does not parse %s: %s\n", got, pe.msg);
                bad++;
            }
            feel_expr_free(e);
        }
        free(got);
    }
    assert_int_equal(bad, 0);
}

/* The value of a translated expression over vars (JSON), as FEEL's string form. */
typedef struct { const char *juel, *want; } val_t;

static const char *VARS = "{\"a\": 7, \"b\": null, \"t\": true, \"f\": false, \"s\": \"x\", \"e\": \"\", "
                          "\"l\": [10, 20, 30], \"nl\": [], \"m\": {\"k\": \"v\", \"n\": {\"d\": 4}}, \"nm\": {}, "
                          "\"neg\": -7, \"loopCounter\": 1, \"i\": 1, \"key\": \"k\"}";

static const val_t values[] = {
    { "${a > 5}", "true" }, { "${a gt 5 && s == 'x'}", "true" }, { "${a < 5 || t}", "true" },
    { "${!(b && t)}", "true" },         /* JUEL: null && true is false */
    { "${!b}", "true" }, { "${b || f}", "false" }, { "${b == null}", "true" }, { "${s != null}", "true" },
    { "${empty b}", "true" }, { "${empty e}", "true" }, { "${empty s}", "false" }, { "${empty nl}", "true" },
    { "${empty l}", "false" }, { "${empty nm}", "true" }, { "${empty m}", "false" }, { "${empty a}", "false" },
    { "${not empty l}", "true" }, { "${l[0]}", "10" }, { "${l[2]}", "30" }, { "${l[i]}", "20" },
    { "${m[key]}", "v" }, { "${m['k']}", "v" }, { "${m.n.d * 2}", "8" }, { "${a % 3}", "1" },
    { "${neg % 3}", "-1" }, { "${neg mod -3}", "-1" }, { "${a / 2}", "3.5" }, { "${(a + 1) * 2 - 1}", "15" },
    { "${-a + 10}", "3" }, { "${a >= 7 ? 'big' : 'small'}", "big" }, { "${b ? 1 : 2}", "2" },
    { "${loopCounter}", "0" }, { "Hi ${s}, ${a} and ${b}.", "Hi x, 7 and ." }, { "${'a' == \"a\"}", "true" },
};

static void test_translated_values(void **state)
{
    (void)state;
    int bad = 0;
    feel_eval_t *ev = feel_eval_new(NULL);
    cJSON *vars = cJSON_Parse(VARS);
    assert_non_null(vars);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char why[300];
        char *src = ex_juel_to_feel(values[i].juel, why, sizeof(why));
        if (!src) {
            printf("FAIL %s: %s\n", values[i].juel, why);
            bad++;
            continue;
        }
        feel_perr_t pe;
        feel_expr_t *e = feel_parse(src, FEEL_EXPR, NULL, &pe);
        if (!e) {
            printf("FAIL %s -> %s: %s\n", values[i].juel, src, pe.msg);
            bad++;
            free(src);
            continue;
        }
        feel_value_t *ctx = dmn_from_json(ev, vars, FEEL_NULL);
        const char *got = feel_to_string(ev, feel_eval(ev, e, ctx));
        if (strcmp(got, values[i].want)) {
            printf("FAIL %s -> %s\n  want %s\n  got  %s\n", values[i].juel, src, values[i].want, got);
            bad++;
        }
        feel_expr_free(e);
        feel_eval_reset(ev);
        free(src);
    }
    cJSON_Delete(vars);
    feel_eval_free(ev);
    assert_int_equal(bad, 0);
}

typedef struct { const char *juel, *why; } ref_t;

static const ref_t refusals[] = {
    { "${execution.getVariable('x')}", "'execution' (the Camunda 7 execution object)" },
    { "${task.assignee}", "'task' (the Camunda 7 task object)" },
    { "${authenticatedUserId}", "'authenticatedUserId' (the Camunda 7 identity service)" },
    { "${bean.method()}", "method call 'bean.method(…)'" },
    { "${order.items.size() > 0}", "method call 'order.items.size(…)'" },
    { "${m['k'].trim()}", "method call 'm['k'].trim(…)'" },
    { "${dateTime()}", "function call 'dateTime(…)'" },
    { "${fn:contains(a, 'b')}", "function call 'fn:contains(…)'" },
    { "${x = 5}", "assignment or statement '='" },
    { "${a; b}", "assignment or statement ';'" },
    { "${x -> x + 1}", "lambda expression '->'" },
    { "${[1, 2]}", "list literal '[…]'" },
    { "${{1, 2}}", "set or map literal '{…}'" },
    { "${}", "empty expression '${}'" },
    { "${a +}", "the expression ends where a value was expected" },
    { "${a b}", "unexpected 'b' after the expression" },
    { "${(a}", "')' expected at the end" },
    { "${(a b)}", "')' expected at 'b'" },
    { "${a ? b}", "':' of '? :' expected at the end" },
    { "${'abc}", "'${' without its closing '}'" },
    { "${a", "'${' without its closing '}'" },
    { "${1e5}", "number '1e…' with an exponent" },
    { "${in}", "variable name 'in' (a FEEL keyword or a '$' in it)" },
    { "${$x}", "variable name '$x' (a FEEL keyword or a '$' in it)" },
    { "${a instanceof b}", "unexpected 'instanceof' after the expression" },
    { "${and}", "'and' where a value was expected" },
};

static void test_refusals(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        char why[300];
        char *got = ex_juel_to_feel(refusals[i].juel, why, sizeof(why));
        if (got || strcmp(why, refusals[i].why)) {
            printf("FAIL %s\n  want refusal %s\n  got  %s\n", refusals[i].juel, refusals[i].why, got ? got : why);
            bad++;
        }
        free(got);
    }
    /* two string literals side by side (the table's placeholder) */
    char why[300];
    assert_null(ex_juel_to_feel("${'it''s'}", why, sizeof(why)));
    assert_int_equal(bad, 0);
}

static void test_detection(void **state)
{
    (void)state;
    assert_true(ex_juel_is("${a}"));
    assert_true(ex_juel_is("x #{a} y"));
    assert_false(ex_juel_is("plain text"));
    assert_false(ex_juel_is("=a > 1"));
    assert_false(ex_juel_is("\\${a}"));
    assert_false(ex_juel_is("$ {a}"));
}

static void test_bounds(void **state)
{
    (void)state;
    char why[300];
    /* length */
    size_t n = EX_JUEL_MAX_LEN + 10;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "${a", 3);
    big[n - 1] = '}';
    big[n] = 0;
    assert_null(ex_juel_to_feel(big, why, sizeof(why)));
    assert_string_equal(why, "the expression is longer than 8192 characters");
    free(big);
    /* depth: parentheses, unary operators */
    char deep[600];
    size_t o = 0;
    o += (size_t)snprintf(deep + o, sizeof(deep) - o, "${");
    for (int i = 0; i < 100; i++)
        deep[o++] = '(';
    deep[o++] = 'a';
    for (int i = 0; i < 100; i++)
        deep[o++] = ')';
    deep[o++] = '}';
    deep[o] = 0;
    assert_null(ex_juel_to_feel(deep, why, sizeof(why)));
    assert_string_equal(why, "nested deeper than 40 levels");
    o = (size_t)snprintf(deep, sizeof(deep), "${");
    for (int i = 0; i < 200; i++)
        deep[o++] = '!';
    deep[o++] = 'a';
    deep[o++] = '}';
    deep[o] = 0;
    assert_null(ex_juel_to_feel(deep, why, sizeof(why)));
    assert_string_equal(why, "nested deeper than 40 levels");
    /* just under the depth limit still translates */
    o = (size_t)snprintf(deep, sizeof(deep), "${");
    for (int i = 0; i < 15; i++)
        deep[o++] = '(';
    deep[o++] = 'a';
    for (int i = 0; i < 15; i++)
        deep[o++] = ')';
    deep[o++] = '}';
    deep[o] = 0;
    char *ok = ex_juel_to_feel(deep, why, sizeof(why));
    assert_non_null(ok);
    free(ok);
    /* output growth: `empty` and `%` repeat their operand; nesting them is refused by
     * size, not by running out of memory */
    o = (size_t)snprintf(deep, sizeof(deep), "${");
    for (int i = 0; i < 12; i++)
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, "empty ");
    o += (size_t)snprintf(deep + o, sizeof(deep) - o, "a}");
    assert_null(ex_juel_to_feel(deep, why, sizeof(why)));
    assert_string_equal(why, "the expression is too large once translated (more than 65536 FEEL characters)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translation_table),
        cmocka_unit_test(test_translated_values),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
