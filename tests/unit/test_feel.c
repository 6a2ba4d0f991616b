/*
 * test_feel.c — the FEEL interpreter (src/feel/): table-driven expression cases
 * (each compares the string form of the result), unary tests, parse errors with line
 * and column, and the limits (nesting, steps, recursion, regex backtracking); list
 * built-ins by FEEL equality (distinct values, union: order and equality corner cases),
 * results above 1024 items, duration overflow, built-in work against the step limit,
 * and the process-wide memory budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* Evaluates src with ev (reset first); the string form, and *err the error or "". */
static const char *run(feel_eval_t *ev, const char *src, const char **err)
{
    feel_perr_t pe = { 0 };
    feel_eval_reset(ev);
    feel_expr_t *e = feel_parse(src, FEEL_EXPR, NULL, &pe);
    if (!e) {
        printf("parse error: %s -> %d:%d %s\n", src, pe.line, pe.col, pe.msg);
        return "parse error";
    }
    feel_value_t *v = feel_eval(ev, e, NULL);
    const char *got = v->t == FEEL_NULL ? "null" : feel_to_string(ev, v);   /* no arena needed */
    *err = feel_eval_error(ev) ? feel_eval_error(ev) : "";
    feel_expr_free(e);
    return got;
}

/* want_err: a substring the error must hold, or NULL for no error at all */
typedef struct { const char *expr, *want, *want_err; } err_case_t;

static int run_cases(const err_case_t *c, size_t n)
{
    int bad = 0;
    feel_eval_t *ev = feel_eval_new(NULL);
    for (size_t i = 0; i < n; i++) {
        const char *err;
        const char *got = run(ev, c[i].expr, &err);
        bool err_ok = c[i].want_err ? strstr(err, c[i].want_err) != NULL : !*err;
        if (strcmp(got, c[i].want) || !err_ok) {
            printf("FAIL %s\n  want %s (%s)\n  got  %s (%s)\n", c[i].expr, c[i].want,
                   c[i].want_err ? c[i].want_err : "no error", got, err);
            bad++;
        }
    }
    feel_eval_free(ev);
    return bad;
}

/* distinct values and union keep first occurrences in order and drop repeats by FEEL
 * equality (a hash table since issue 10: these pin what "equal" means there) */
static void test_distinct_by_feel_equality(void **state)
{
    static const err_case_t c[] = {
        { "distinct values([3, 1, 3, 2, 1])", "[3, 1, 2]", NULL },
        { "distinct values([1, 1.0, 1.00, 2, \"1\", 2.0, 10, 1e1])", "[1, 2, \"1\", 10]", NULL },
        { "distinct values([0, 0.0, -0])", "[0]", NULL },
        { "distinct values([null, 1, null])", "[null, 1]", NULL },
        { "distinct values([true, false, true])", "[true, false]", NULL },
        { "distinct values([date(\"2020-01-01\"), date(\"2020-01-01\"), date and time(\"2020-01-01T00:00:00\")])",
          "[2020-01-01, 2020-01-01T00:00:00]", NULL },
        /* the same instant in two offsets is one value; a local time is another */
        { "count(distinct values([time(\"10:30:00+01:00\"), time(\"09:30:00Z\"), time(\"09:30:00\")]))", "2", NULL },
        { "count(distinct values([date and time(\"2018-02-08T00:00:00+01:00\"), "
          "date and time(\"2018-02-08T00:00:00@Europe/Paris\")]))", "1", NULL },
        { "distinct values([duration(\"P1D\"), duration(\"PT24H\"), duration(\"P1Y\"), duration(\"P12M\")])",
          "[P1D, P1Y]", NULL },
        /* contexts in any key order, lists item by item */
        { "distinct values([{a: 1, b: 2}, {b: 2.0, a: 1}, {a: 1}])", "[{a: 1, b: 2}, {a: 1}]", NULL },
        { "distinct values([[1, 2], [1.0, 2], [2, 1], []])", "[[1, 2], [2, 1], []]", NULL },
        { "count(distinct values([[1..2], [1..2], (1..2], [1..2)]))", "3", NULL },
        { "union([3, 1], [1.0, 2, 3], [4])", "[3, 1, 2, 4]", NULL },
        { "union([], [])", "[]", NULL },
        /* beyond the sizes the old pairwise loops could afford, and past 1024 results */
        { "count(distinct values(for i in 1..50000 return modulo(i, 1000)))", "1000", NULL },
        { "distinct values(for i in 1..50000 return modulo(i, 3))", "[1, 2, 0]", NULL },
        { "count(union(for i in 1..20000 return i, for i in 10001..30000 return i))", "30000", NULL },
        /* contexts of many keys (indexed): merge, lookups, equality in another order */
        { "count(get entries(context merge(for i in 1..5000 return context put({}, string(i), i))))", "5000", NULL },
        { "get value(context merge(for i in 1..5000 return context put({}, string(i), i)), \"4999\")", "4999", NULL },
        { "context merge(for i in 1..40 return context put({}, string(i), i)) = "
          "context merge(for i in 40..1 return context put({}, string(i), i))", "true", NULL },
        { "count(distinct values([context merge(for i in 1..40 return context put({}, string(i), i)), "
          "context merge(for i in 40..1 return context put({}, string(i), i))]))", "1", NULL },
    };
    assert_int_equal(run_cases(c, sizeof(c) / sizeof(c[0])), 0);
}

/* results are no longer cut at 1024 items; sort(list, precedes) is a stable merge sort */
static void test_large_results_and_sort(void **state)
{
    static const err_case_t c[] = {
        { "count(index of(for i in 1..3000 return 1, 1))", "3000", NULL },
        { "index of(for i in 1..3000 return 1, 1)[-1]", "3000", NULL },
        { "count(split(string join(for i in 1..3000 return \"a\", \",\"), \",\"))", "3000", NULL },
        { "split(string join(for i in 1..3000 return string(i), \";\"), \";\")[-1]", "3000", NULL },
        { "sort(for i in 1..3000 return 3001 - i, function(x, y) x < y)[1]", "1", NULL },
        { "sort(for i in 1..3000 return 3001 - i, function(x, y) x < y)[3000]", "3000", NULL },
        { "sort([{k: 1, v: \"a\"}, {k: 0, v: \"b\"}, {k: 1, v: \"c\"}, {k: 0, v: \"d\"}], "
          "function(x, y) x.k < y.k).v", "[\"b\", \"d\", \"a\", \"c\"]", NULL },
        { "count(sort([3, 1, 2, 5, 4], function(x, y) true))", "5", NULL },
        { "sort(for i in 1..3000 return 3001 - i)[2999]", "2999", NULL },
        { "contains(string join(for i in 1..3000 return \"a\"), \"ab\")", "false", NULL },
    };
    assert_int_equal(run_cases(c, sizeof(c) / sizeof(c[0])), 0);
}

/* overflow is null with an error (FEEL's error semantics), never a wrapped value */
static void test_duration_overflow(void **state)
{
    static const err_case_t c[] = {
        { "duration(\"P999999999999999999Y\")", "null", "out of range" },
        { "duration(\"P768614336404564651Y\")", "null", "out of range" },
        { "duration(\"P700000000000000000Y\")", "P700000000000000000Y", NULL },
        { "duration(\"P700000000000000000Y\") + duration(\"P700000000000000000Y\")", "null", "overflow" },
        { "duration(\"P1Y\") * 1e19", "null", "overflow" },
        { "-duration(\"P700000000000000000Y\")", "-P700000000000000000Y", NULL },
        { "duration(\"P1D\") * 1e30", "null", "overflow" },
        { "duration(\"P1D\") * 1e10", "P10000000000D", NULL },
        { "duration(\"PT9223372036854775807S\")", "P106751991167300DT15H30M7S", NULL },
        { "duration(\"PT9223372036854775808S\")", "null", "out of range" },
        { "duration(\"P99999999999999999999D\")", "null", "out of range" },
        { "duration(\"PT9223372036854775807S\") + duration(\"PT1S\")", "null", "overflow" },
        { "duration(\"P1D\") / 0", "null", "by zero" },
        { "duration(\"P1D\") / duration(\"PT0S\")", "null", "zero duration" },
        { "date(\"2020-01-01\") + duration(\"P999999999Y\")", "null", "date out of range" },
        { "date and time(\"2020-01-01T00:00:00\") + duration(\"P99999999999999D\")", "null", "date out of range" },
        { "date and time(\"2020-01-01T00:00:00\") + duration(\"P1D\") * 1e30", "null", "overflow" },
        { "date(2020, 4294967297, 1)", "null", "not a date" },
        { "time(1, 2, 3, duration(\"P1000D\"))", "null", "offset" },
    };
    assert_int_equal(run_cases(c, sizeof(c) / sizeof(c[0])), 0);
}

/* built-in work counts against the step limit: a huge input stops with the documented
 * error instead of running (the for loop alone stays under the budget) */
static void test_builtins_charge_steps(void **state)
{
    static const char *exprs[] = {
        "count(distinct values(for i in 1..3000 return i))",
        "count(union(for i in 1..1500 return i, for i in 1..1500 return i))",
        "count(sort(for i in 1..3000 return i))",
        "count(index of(for i in 1..3000 return 1, 1))",
        "list contains(for i in 1..3000 return i, 0)",
        "{l: for i in 1..1000 return i, r: for k in 1..6 return l = l}.r",
        "{l: for i in 1..1000 return i, r: for k in 1..6 return 0 in l}.r",
    };
    feel_limits_t lim = { .max_steps = 7000 };
    feel_eval_t *ev = feel_eval_new(&lim);
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        const char *err;
        const char *got = run(ev, exprs[i], &err);
        if (!strstr(err, "evaluation step limit (7000) reached"))
            printf("FAIL %s: %s (%s)\n", exprs[i], got, err);
        assert_string_equal(got, "null");
        assert_non_null(strstr(err, "evaluation step limit (7000) reached"));
    }
    feel_eval_free(ev);
    /* default limits: a distinct values loop over 50,000 items, 200 times */
    ev = feel_eval_new(NULL);
    const char *err;
    run(ev, "{l: for i in 1..50000 return i, r: for k in 1..200 return count(distinct values(l))}.r", &err);
    assert_non_null(strstr(err, "evaluation step limit (5000000) reached"));
    feel_eval_free(ev);
}

/* the arenas of all evaluators share one budget; freed chunks go back to it */
static void test_memory_budget(void **state)
{
    const char *src = "count(for i in 1..200000 return i)";
    size_t base = feel_memory_in_use();
    feel_eval_t *a = feel_eval_new(NULL), *b = feel_eval_new(NULL);
    const char *err;
    assert_string_equal(run(a, src, &err), "200000");
    size_t one = feel_memory_in_use() - base;
    assert_true(one > (8u << 20));
    feel_memory_limits(0, base + one + one / 2);
    assert_string_equal(run(b, src, &err), "null");     /* a still holds its values */
    assert_non_null(strstr(err, "evaluation memory limit reached ("));
    assert_non_null(strstr(err, "MiB for all evaluations together)"));
    feel_eval_reset(a);
    assert_string_equal(run(b, src, &err), "200000");
    feel_eval_free(a);
    feel_eval_free(b);
    assert_true(feel_memory_in_use() <= base);
    /* one evaluation's own cap */
    feel_limits_t lim = { .max_bytes = 4u << 20 };
    feel_eval_t *c = feel_eval_new(&lim);
    assert_string_equal(run(c, src, &err), "null");
    assert_non_null(strstr(err, "evaluation memory limit reached (4 MiB)"));
    feel_eval_free(c);
    feel_memory_limits(64u << 20, 512u << 20);
    /* the thread's evaluator gives its arena back when the dispatcher releases it */
    feel_eval_t *t = feel_eval_thread();
    assert_string_equal(run(t, src, &err), "200000");
    assert_true(feel_memory_in_use() > base + (8u << 20));
    feel_eval_thread_release();
    assert_true(feel_memory_in_use() <= base + (16u << 10));
}

/* no fixed-size array cuts or refuses what the source spells out (issue 10 item 7) */
static void test_no_fixed_size_cuts(void **state)
{
    static char src[20000];
    feel_eval_t *ev = feel_eval_new(NULL);
    const char *err;
    /* a context literal of 300 entries (was: 256 at most) */
    size_t o = (size_t)snprintf(src, sizeof(src), "{");
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "%sk%d: %d", i ? ", " : "", i, i);
    snprintf(src + o, sizeof(src) - o, "}.k299");
    assert_string_equal(run(ev, src, &err), "299");
    /* two keys longer than 511 characters that differ at the end (were cut alike) */
    char key[601];
    memset(key, 'a', 600);
    key[600] = 0;
    snprintf(src, sizeof(src), "count(get entries({%.599sb: 1, %.599sc: 2}))", key, key);
    assert_string_equal(run(ev, src, &err), "2");
    /* number() of a 200-character string (was cut at 127) */
    o = (size_t)snprintf(src, sizeof(src), "number(\"");
    memset(src + o, '0', 199);
    snprintf(src + o + 199, sizeof(src) - o - 199, "1\")");
    assert_string_equal(run(ev, src, &err), "1");
    /* a parenthesised list of 100 tests (was 64) */
    o = (size_t)snprintf(src, sizeof(src), "100 in (");
    for (int i = 1; i <= 100; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "%s%d", i > 1 ? ", " : "", i);
    snprintf(src + o, sizeof(src) - o, ")");
    assert_string_equal(run(ev, src, &err), "true");
    /* a decision-table entry listing 300 values (was 256) */
    o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(src + o, sizeof(src) - o, "%s\"v%d\"", i ? "," : "", i);
    feel_perr_t pe = { 0 };
    feel_expr_t *t = feel_parse(src, FEEL_UNARY, NULL, &pe);
    assert_non_null(t);
    feel_eval_reset(ev);
    assert_true(feel_is_true(feel_test(ev, t, feel_cstr(ev, "v299"), NULL)));
    feel_expr_free(t);
    feel_eval_free(ev);
}

/* more than 256 distinct time zones in one process (the intern table was fixed) */
static void test_many_zones(void **state)
{
    FILE *f = fopen("/usr/share/zoneinfo/tzdata.zi", "r");
    if (!f)
        skip();
    feel_eval_t *ev = feel_eval_new(NULL);
    char line[512], src[600];
    int ok = 0, tried = 0;
    while (fgets(line, sizeof(line), f) && ok < 300) {
        char zone[128];
        if (sscanf(line, "Z %127s", zone) != 1)
            continue;
        const char *err;
        snprintf(src, sizeof(src), "date and time(\"2020-06-01T12:00:00@%s\") != null", zone);
        tried++;
        ok += !strcmp(run(ev, src, &err), "true");
    }
    fclose(f);
    feel_eval_free(ev);
    if (tried < 300)
        skip();
    assert_int_equal(ok, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_variables_and_names),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_distinct_by_feel_equality),
        cmocka_unit_test(test_large_results_and_sort),
        cmocka_unit_test(test_duration_overflow),
        cmocka_unit_test(test_builtins_charge_steps),
        cmocka_unit_test(test_memory_budget),
        cmocka_unit_test(test_no_fixed_size_cuts),
        cmocka_unit_test(test_many_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
