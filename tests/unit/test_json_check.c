/* test_json_check.c — fm_json_check, the linear pre-check of JSON text (depth, UTF-8,
 * NUL in strings) with the JSON pointer and byte of a fault, and the UTF-8 repair of
 * JSON answers (fm_json_fix_utf8). */
#include "fm_test.h"

#include "fm_json_check.h"

#include <stdlib.h>
#include <string.h>

static fm_json_err_t e;

static fm_json_fault_t check(const char *s, int depth)
{
    return fm_json_check(s, strlen(s), depth, &e);
}

static char *repeat(const char *unit, size_t n, const char *mid, const char *close)
{
    size_t u = strlen(unit), m = strlen(mid), c = strlen(close);
    char *s = malloc(n * (u + c) + m + 1);
    assert_non_null(s);
    char *p = s;
    for (size_t i = 0; i < n; i++, p += u)
        memcpy(p, unit, u);
    memcpy(p, mid, m);
    p += m;
    for (size_t i = 0; i < n; i++, p += c)
        memcpy(p, close, c);
    *p = 0;
    return s;
}

static void test_depth_at_and_over_the_limit(void **state)
{
    (void)state;
    char *at = repeat("[", 64, "1", "]"), *over = repeat("[", 65, "1", "]");
    assert_int_equal(check(at, 64), FM_JSON_OK);
    assert_int_equal(check(over, 64), FM_JSON_TOO_DEEP);
    assert_int_equal(e.offset, 64);
    char want[200] = "";
    for (int i = 0; i < 64; i++)
        strcat(want, "/0");
    assert_string_equal(e.pointer, want);
    assert_false(e.cut);
    free(at);
    free(over);
    /* the depth is that of the open containers, not of everything seen */
    assert_int_equal(check("[[1],[2],[[3]],{\"a\":[4]}]", 3), FM_JSON_OK);
    assert_int_equal(check("[[1],[2],[[[3]]]]", 3), FM_JSON_TOO_DEEP);
    assert_string_equal(e.pointer, "/2/0/0");
    assert_int_equal(check("1", 0), FM_JSON_OK);
    assert_int_equal(check("[]", 0), FM_JSON_TOO_DEEP);
    assert_string_equal(e.pointer, "");
}

static void test_far_too_deep_is_linear(void **state)
{
    (void)state;
    size_t n = 8 * 1024 * 1024;     /* 8 MiB of '[': one pass, stops at the limit */
    char *s = malloc(n);
    assert_non_null(s);
    memset(s, '[', n);
    assert_int_equal(fm_json_check(s, n, 64, &e), FM_JSON_TOO_DEEP);
    assert_int_equal(e.offset, 64);
    memset(s, '{', n);
    assert_int_equal(fm_json_check(s, n, 64, NULL), FM_JSON_TOO_DEEP);
    free(s);
    /* a limit above the cap is the cap */
    char *deep = repeat("[", FM_JSON_DEPTH_CAP + 1, "", "]");
    assert_int_equal(check(deep, 100000), FM_JSON_TOO_DEEP);
    assert_int_equal(e.offset, FM_JSON_DEPTH_CAP);
    free(deep);
}

static void test_pointer_names_members_and_elements(void **state)
{
    (void)state;
    assert_int_equal(check("{\"a\":1,\"b\":{\"c\":[0,1,{\"d\":[[]]}]}}", 5), FM_JSON_TOO_DEEP);
    assert_string_equal(e.pointer, "/b/c/2/d/0");
    /* ~ and / escaped (RFC 6901), JSON escapes decoded, surrogate pairs joined */
    assert_int_equal(check("{\"a/b~c\":{\"\\u00e9\\n\\\"\":{\"\\ud83d\\ude00\":[[]]}}}", 4), FM_JSON_TOO_DEEP);
    assert_string_equal(e.pointer, "/a~1b~0c/\xc3\xa9\n\"/\xf0\x9f\x98\x80/0");
    /* a key containing "\\\"" and commas or brackets does not confuse the walk */
    assert_int_equal(check("{\"[,{\\\\\":[[[]]]}", 3), FM_JSON_TOO_DEEP);
    assert_string_equal(e.pointer, "/[,{\\/0/0");
    /* whitespace everywhere */
    assert_int_equal(check(" {\n \"k\" : [ 1 ,\t[ [ ] ] ] } ", 3), FM_JSON_TOO_DEEP);
    assert_string_equal(e.pointer, "/k/1/0");
}

static void test_long_pointer_is_cut_at_a_segment(void **state)
{
    (void)state;
    char key[400];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = 0;
    char s[2000];
    snprintf(s, sizeof(s), "{\"%s\":{\"%s\":[[]]}}", key, key);
    assert_int_equal(check(s, 3), FM_JSON_TOO_DEEP);
    assert_true(e.cut);
    assert_int_equal(strlen(e.pointer), 1 + strlen(key));   /* the first segment only */
    assert_int_equal(e.offset, (size_t)(strstr(s, "[[") - s + 1));
}

static void test_utf8(void **state)
{
    (void)state;
    /* valid: 2, 3 and 4 byte forms at their bounds */
    assert_int_equal(check("[\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
                           "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\"]", 64), FM_JSON_OK);
    static const struct { const char *text; size_t off; const char *ptr; } bad[] = {
        { "\"\x80\"", 1, "" },                              /* a lone continuation byte */
        { "[\"\xc0\xaf\"]", 2, "/0" },                      /* overlong '/' */
        { "[\"\xc1\xbf\"]", 2, "/0" },
        { "[1,\"\xe0\x80\xaf\"]", 4, "/1" },                /* overlong, 3 bytes */
        { "{\"a\":\"\xed\xa0\x80\"}", 6, "/a" },            /* a UTF-16 surrogate */
        { "{\"a\":\"ok\xf0\x80\x80\x80\"}", 8, "/a" },      /* overlong, 4 bytes */
        { "{\"a\":\"\xf4\x90\x80\x80\"}", 6, "/a" },        /* above U+10FFFF */
        { "{\"a\":\"\xf5\x80\x80\x80\"}", 6, "/a" },
        { "{\"a\":\"\xff\"}", 6, "/a" },
        { "{\"a\":\"\xe2\x82\"}", 6, "/a" },                /* cut short by the quote */
        { "{\"a\":{\"b\xfe\":1}}", 8, "/a" },               /* in a member name: its object */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(check(bad[i].text, 64), FM_JSON_BAD_UTF8);
        assert_int_equal(e.offset, bad[i].off);
        assert_string_equal(e.pointer, bad[i].ptr);
    }
    /* a sequence cut by the end of the text */
    assert_int_equal(fm_json_check("\"\xe2\x82", 3, 64, &e), FM_JSON_BAD_UTF8);
    /* bytes outside strings are the parser's business */
    assert_int_equal(check("[1,\xff]", 64), FM_JSON_OK);
    /* the pointer itself stays UTF-8 when it passes a bad name */
    assert_int_equal(check("{\"x\xff\":[[]]}", 2), FM_JSON_BAD_UTF8);
    assert_string_equal(e.pointer, "");
}

static void test_nul(void **state)
{
    (void)state;
    assert_int_equal(check("{\"a\":\"x\\u0000y\"}", 64), FM_JSON_NUL);
    assert_int_equal(e.offset, 7);
    assert_string_equal(e.pointer, "/a");
    assert_int_equal(check("[\"\\u0000\"]", 64), FM_JSON_NUL);
    assert_string_equal(e.pointer, "/0");
    assert_int_equal(check("{\"k\\u0000\":1}", 64), FM_JSON_NUL);
    assert_string_equal(e.pointer, "");
    assert_int_equal(fm_json_check("[\"a\0b\"]", 7, 64, &e), FM_JSON_NUL);   /* a raw 0 byte */
    assert_int_equal(e.offset, 3);
    /* not NUL: an escaped backslash before "u0000", other escapes, a cut escape */
    assert_int_equal(check("[\"\\\\u0000\", \"\\u0001\", \"\\u00000\"]", 64), FM_JSON_NUL);
    assert_int_equal(check("[\"\\\\u0000\", \"\\u0001\"]", 64), FM_JSON_OK);
    assert_int_equal(check("[\"\\u000", 64), FM_JSON_OK);
    assert_int_equal(check("[\"\\", 64), FM_JSON_OK);
}

static void test_broken_text_never_fails_the_check(void **state)
{
    (void)state;
    /* unbalanced, unterminated, junk: the parser reports those, the check must not
     * read past the end nor claim a fault */
    const char *texts[] = { "", "]]]]}}}", "[[[", "\"abc", "{\"a\":", "{\"a", "nul", "[1,,2]", "}{", "\\" };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        assert_int_equal(check(texts[i], 64), FM_JSON_OK);
    assert_int_equal(fm_json_check(NULL, 0, 64, &e), FM_JSON_OK);
}

static void test_fix_utf8(void **state)
{
    (void)state;
    size_t n = 0;
    assert_null(fm_json_fix_utf8("{\"a\":\"\xc3\xa9\"}", 10, &n));      /* valid: nothing to do */
    const char *bad = "{\"id\":\"x\xff\xc3\xa9\xe2\x82\"}";
    char *fixed = fm_json_fix_utf8(bad, strlen(bad), &n);
    assert_non_null(fixed);
    assert_string_equal(fixed, "{\"id\":\"x\\ufffd\xc3\xa9\\ufffd\\ufffd\"}");
    assert_int_equal(n, strlen(fixed));
    assert_int_equal(fm_utf8_valid_prefix(fixed, n), n);
    free(fixed);
    assert_int_equal(fm_utf8_valid_prefix("ab\xc3", 3), 2);
    assert_int_equal(fm_utf8_valid_prefix("ab\xc3\xa9", 4), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_at_and_over_the_limit),
        cmocka_unit_test(test_far_too_deep_is_linear),
        cmocka_unit_test(test_pointer_names_members_and_elements),
        cmocka_unit_test(test_long_pointer_is_cut_at_a_segment),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_broken_text_never_fails_the_check),
        cmocka_unit_test(test_fix_utf8),
    };
    return cmocka_run_group_tests_name("json_check", tests, NULL, NULL);
}
