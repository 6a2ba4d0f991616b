/*
 * test_feel.c — the FEEL interpreter (src/feel/): table-driven expression cases
 * (each compares the string form of the result), unary tests, parse errors with line
 * and column, and the limits (nesting, steps, recursion, regex backtracking).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "feel/feel.h"

typedef struct { const char *expr, *want; } case_t;

static const case_t cases[] = {
    /* decimals */
    { "1.1 + 2.2", "3.3" }, { "0.1 + 0.2 = 0.3", "true" }, { "10 / 4", "2.5" }, { "1 / 3", "0.3333333333333333333333333333333333" },
    { "2 ** 10", "1024" }, { "5 ** -2", "0.04" }, { "-1.1234 - -0.2345", "-0.8889" }, { "0 = 0.00", "true" },
    { "123456789012345678 * 1000", "123456789012345678000" }, { "10 / 0", "null" }, { "1 + null", "null" },
    { "decimal(1/3, 2)", "0.33" }, { "decimal(2.5, 0)", "2" }, { "decimal(3.5, 0)", "4" }, { "floor(-1.5)", "-2" },
    { "ceiling(1.2)", "2" }, { "round up(5.5, 0)", "6" }, { "round down(-5.5, 0)", "-5" }, { "round half up(-5.5, 0)", "-6" },
    { "round half down(5.5, 0)", "5" }, { "abs(-3)", "3" }, { "modulo(-12, 5)", "3" }, { "modulo(12, -5)", "-3" },
    { "sqrt(16)", "4" }, { "odd(5)", "true" }, { "even(5)", "false" }, { "exp(0)", "1" },
    /* strings */
    { "\"a\" + \"b\"", "ab" }, { "substring(\"foobar\", 3)", "obar" }, { "substring(\"foobar\", -2, 1)", "a" },
    { "string length(\"héllo\")", "5" }, { "upper case(\"abc\")", "ABC" }, { "contains(\"foobar\", \"ob\")", "true" },
    { "starts with(\"foobar\", \"fo\")", "true" }, { "ends with(\"foobar\", \"r\")", "true" },
    { "substring before(\"foobar\", \"bar\")", "foo" }, { "substring after(\"foobar\", \"ob\")", "ar" },
    { "matches(\"foobar\", \"^fo*b\")", "true" }, { "replace(\"abcd\", \"(ab)|(a)\", \"[1=$1][2=$2]\")", "[1=ab][2=]cd" },
    { "split(\"a;b;c\", \";\")", "[\"a\", \"b\", \"c\"]" }, { "string join([\"a\",\"b\"], \"-\")", "a-b" },
    { "string(1.50)", "1.5" }, { "number(\"1,000.5\", \",\", \".\")", "1000.5" }, { "\"foo\"[1]", "foo" },
    /* booleans and comparison */
    { "true and null", "null" }, { "false and null", "false" }, { "true or null", "true" }, { "not(true)", "false" },
    { "1 < 2", "true" }, { "\"a\" < \"b\"", "true" }, { "1 = \"1\"", "null" }, { "null = null", "true" },
    { "5 between 1 and 10", "true" }, { "5 in [1..5)", "false" }, { "5 in (1, < 5, >= 10)", "false" },
    { "2 in [1,2,3]", "true" }, { "1 in [[2..4], [1..3]]", "true" }, { "10 in != 11", "true" },
    { "(>= 10) = (>= 10)", "true" }, { "(>= 10) = [10..null)", "false" }, { "5 in (null..10]", "null" }, { "5 instance of number", "true" }, { "\"x\" instance of string", "true" },
    /* control */
    { "if 1 > 2 then \"a\" else \"b\"", "b" }, { "for x in [1,2,3] return x * 2", "[2, 4, 6]" },
    { "for i in 1..3 return i", "[1, 2, 3]" }, { "for i in 3..1 return i", "[3, 2, 1]" },
    { "some x in [1,2,3] satisfies x > 2", "true" }, { "every x in [1,2,3] satisfies x > 2", "false" },
    { "for x in [1,2], y in [10,20] return x + y", "[11, 21, 12, 22]" },
    /* lists, filters, paths */
    { "[1,2,3][-1]", "3" }, { "[1,2,3][item > 1]", "[2, 3]" }, { "[1,2,3][5]", "null" },
    { "[ { x: 1, y: 2 }, { x: 2, y: 3 } ].y", "[2, 3]" }, { "[{a:1},{a:2}][a > 1].a", "[2]" },
    { "count([1,2,3])", "3" }, { "min([3,1,2])", "1" }, { "max(3,1,2)", "3" }, { "sum([1,2,3])", "6" },
    { "mean([1,2,3,4])", "2.5" }, { "median([3,1,2,4])", "2.5" }, { "mode([1,2,2,3])", "[2]" },
    { "all([true, false])", "false" }, { "any([false, true])", "true" }, { "sublist([1,2,3], 2)", "[2, 3]" },
    { "append([1], 2, 3)", "[1, 2, 3]" }, { "concatenate([1],[2])", "[1, 2]" }, { "insert before([1,3], 2, 2)", "[1, 2, 3]" },
    { "remove([1,2,3], 2)", "[1, 3]" }, { "reverse([1,2,3])", "[3, 2, 1]" }, { "index of([1,2,1], 1)", "[1, 3]" },
    { "union([1,2],[2,3])", "[1, 2, 3]" }, { "distinct values([1,2,1])", "[1, 2]" }, { "flatten([1,[2,[3]]])", "[1, 2, 3]" },
    { "product([2,3])", "6" }, { "sort([3,1,2])", "[1, 2, 3]" }, { "sort([3,1,2], function(x,y) x > y)", "[3, 2, 1]" },
    { "list contains([1,2], 2)", "true" }, { "stddev([2,4,4,4,5,5,7,9])", "2.138089935299395" },
    /* contexts and functions */
    { "{a: 1 + 2, b: a + 3}.b", "6" }, { "{a: 1, a: 2}", "null" }, { "get value({a: 1}, \"a\")", "1" },
    { "get entries({a: 1})", "[{key: \"a\", value: 1}]" }, { "context put({a: 1}, \"b\", 2)", "{a: 1, b: 2}" },
    { "context merge([{a: 1}, {b: 2}])", "{a: 1, b: 2}" }, { "(function(x) x + 1)(2)", "3" },
    { "{f: function(a, b) a - b, r: f(b: 1, a: 5)}.r", "4" }, { "substring(string: \"abc\", start position: 2)", "bc" },
    { "{\"first name\": \"Ann\", r: first name}.r", "Ann" },
    /* temporal */
    { "date(\"2018-12-10\") + duration(\"P1D\")", "2018-12-11" }, { "date(2017, 2, 29)", "null" },
    { "date(\"2018-12-10\").weekday", "1" }, { "date and time(\"2018-12-10T10:30:00\").hour", "10" },
    { "date and time(\"2018-12-10T10:30:00\") - date and time(\"2018-12-09T08:00:00\")", "P1DT2H30M" },
    { "duration(\"P1Y2M\") + duration(\"P10M\")", "P2Y" }, { "duration(\"PT36H\")", "P1DT12H" },
    { "years and months duration(date(\"2011-12-22\"), date(\"2013-08-24\"))", "P1Y8M" },
    { "time(\"10:30:00+01:00\") = time(\"09:30:00Z\")", "true" },
    { "date and time(\"2018-02-08T00:00:00+01:00\") = date and time(\"2018-02-08T00:00:00@Europe/Paris\")", "true" },
    { "date(\"2018-01-31\") + duration(\"P1M\")", "2018-02-28" }, { "@\"P1D\" * 2", "P2D" },
    { "duration(\"P2D\") / duration(\"P1D\")", "2" }, { "date(\"998-12-31\")", "null" }, { "time(\"25:00:00\")", "null" },
    { "date and time(\"2018-12-10T10:30:00\") > date and time(\"2018-12-10T10:00:00\")", "true" },
    { "string(date(\"2020-02-29\"))", "2020-02-29" }, { "duration(\"-P100M\")", "-P8Y4M" },
};

static void test_expressions(void **state)
{
    int bad = 0;
    feel_eval_t *ev = feel_eval_new(NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        feel_perr_t pe = { 0 };
        feel_expr_t *e = feel_parse(cases[i].expr, FEEL_EXPR, NULL, &pe);
        if (!e) {
            printf("parse error: %s -> %d:%d %s\n", cases[i].expr, pe.line, pe.col, pe.msg);
            bad++;
            continue;
        }
        feel_value_t *v = feel_eval(ev, e, NULL);
        const char *got = feel_to_string(ev, v);
        if (strcmp(got, cases[i].want)) {
            printf("FAIL %s\n  want %s\n  got  %s (%s)\n", cases[i].expr, cases[i].want, got,
                   feel_eval_error(ev) ? feel_eval_error(ev) : "");
            bad++;
        }
        feel_eval_reset(ev);
        feel_expr_free(e);
    }
    feel_eval_free(ev);
    assert_int_equal(bad, 0);
}

static void test_variables_and_names(void **state)
{
    const char *names[] = { "Monthly Salary", "Date-Time", NULL };
    feel_perr_t pe;
    feel_expr_t *e = feel_parse("Monthly Salary * 12 + Date-Time", FEEL_EXPR, names, &pe);
    assert_non_null(e);
    feel_eval_t *ev = feel_eval_new(NULL);
    feel_value_t *ctx = feel_context(ev);
    feel_ctx_put(ev, ctx, "Monthly Salary", feel_num_parse(ev, "1000.5"));
    feel_ctx_put(ev, ctx, "Date-Time", feel_num_int(ev, 1));
    assert_string_equal(feel_to_string(ev, feel_eval(ev, e, ctx)), "12007");
    feel_expr_free(e);
    e = feel_parse("nope + 1", FEEL_EXPR, NULL, &pe);
    assert_string_equal(feel_to_string(ev, feel_eval(ev, e, ctx)), "null");
    assert_non_null(strstr(feel_eval_error(ev), "unknown name 'nope'"));
    feel_expr_free(e);
    feel_eval_free(ev);
}

typedef struct { const char *test, *input; int want; } ut_case_t;   /* want: 1, 0, -1 null */

static void test_unary(void **state)
{
    static const ut_case_t uc[] = {
        { "-", "5", 1 }, { "", "5", 1 }, { ">= 18", "18", 1 }, { "<18", "18", 0 }, { "\"Medium\",\"Low\"", "\"Low\"", 1 },
        { "\"Medium\",\"Low\"", "\"High\"", 0 }, { "[15..30)", "30", 0 }, { "[15..30)", "15", 1 }, { "<18,>=60", "61", 1 },
        { "not(<18, >=60)", "30", 1 }, { "not(\"a\")", "\"a\"", 0 }, { "? > 5", "6", 1 }, { "true", "false", 0 },
        { "true", "true", 1 }, { "[1,2,3]", "2", 1 }, { "count(?) > 1", "[1,2]", 1 }, { "> date(\"2016-10-01\")", "date(\"2016-10-02\")", 1 },
    };
    feel_eval_t *ev = feel_eval_new(NULL);
    for (size_t i = 0; i < sizeof(uc) / sizeof(uc[0]); i++) {
        feel_perr_t pe;
        feel_expr_t *t = feel_parse(uc[i].test, FEEL_UNARY, NULL, &pe);
        feel_expr_t *in = feel_parse(uc[i].input, FEEL_EXPR, NULL, &pe);
        assert_non_null(t);
        assert_non_null(in);
        feel_value_t *r = feel_test(ev, t, feel_eval(ev, in, NULL), NULL);
        int got = r->t == FEEL_BOOL ? r->u.b : -1;
        if (got != uc[i].want)
            printf("FAIL unary %s on %s: got %d\n", uc[i].test, uc[i].input, got);
        assert_int_equal(got, uc[i].want);
        feel_expr_free(t);
        feel_expr_free(in);
        feel_eval_reset(ev);
    }
    feel_eval_free(ev);
}

static void test_parse_errors(void **state)
{
    feel_perr_t pe = { 0 };
    assert_null(feel_parse("1 +\n  * 2", FEEL_EXPR, NULL, &pe));
    assert_int_equal(pe.line, 2);
    assert_int_equal(pe.col, 3);
    assert_null(feel_parse("\"unterminated", FEEL_EXPR, NULL, &pe));
    assert_null(feel_parse("if x then y", FEEL_EXPR, NULL, &pe));
    assert_non_null(strstr(pe.msg, "else"));
    assert_null(feel_parse("[1, 2", FEEL_EXPR, NULL, &pe));
    assert_null(feel_parse("", FEEL_EXPR, NULL, &pe));
    char deep[4000];
    memset(deep, '(', 1000);
    strcpy(deep + 1000, "1");
    memset(deep + 1001, ')', 1000);
    deep[2001] = 0;
    assert_null(feel_parse(deep, FEEL_EXPR, NULL, &pe));
    assert_non_null(strstr(pe.msg, "nested too deeply"));
}

static void test_limits(void **state)
{
    feel_perr_t pe;
    feel_eval_t *ev = feel_eval_new(NULL);
    /* runaway recursion ends in null with a reason */
    feel_expr_t *e = feel_parse("{f: function(n) f(n + 1), r: f(1)}.r", FEEL_EXPR, NULL, &pe);
    assert_non_null(e);
    assert_string_equal(feel_to_string(ev, feel_eval(ev, e, NULL)), "null");
    assert_non_null(strstr(feel_eval_error(ev), "nested"));
    feel_expr_free(e);
    feel_eval_reset(ev);
    /* a step budget stops long loops */
    feel_limits_t lim = { .max_steps = 10000 };
    feel_eval_t *ev2 = feel_eval_new(&lim);
    e = feel_parse("for i in 1..100000 return i * 2", FEEL_EXPR, NULL, &pe);
    feel_eval(ev2, e, NULL);
    assert_non_null(strstr(feel_eval_error(ev2), "step limit"));
    feel_expr_free(e);
    feel_eval_free(ev2);
    /* catastrophic backtracking hits the PCRE2 match limit */
    e = feel_parse("matches(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\", \"^(a+)+$\")", FEEL_EXPR, NULL, &pe);
    assert_string_equal(feel_to_string(ev, feel_eval(ev, e, NULL)), "null");
    assert_non_null(strstr(feel_eval_error(ev), "match limit"));
    feel_expr_free(e);
    feel_eval_free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_variables_and_names),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
