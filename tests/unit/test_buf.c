/*
 * test_buf.c — fm_buf (growable buffer: formatted appends that outgrow the buffer,
 * JSON escaping, detach) and the RFC 3339 formatter with its per-second cache.
 */
#include "fm_test.h"

#include "fm_buf.h"
#include "fm_log.h"

#include <stdlib.h>
#include <string.h>

static void test_addf_grows(void **state)
{
    (void)state;
    fm_buf_t b = FM_BUF_INIT;
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    fm_buf_addf(&b, "<%d>", 42);
    fm_buf_addf(&b, "%s|%s", big, "end");      /* far past the first allocation */
    assert_int_equal(b.len, 4 + 4999 + 4);
    assert_memory_equal(b.data, "<42>", 4);
    assert_string_equal(b.data + b.len - 4, "|end");
    assert_int_equal(strlen(b.data), b.len);
    size_t n;
    char *d = fm_buf_detach(&b, &n);
    assert_int_equal(n, 4 + 4999 + 4);
    assert_null(b.data);
    free(d);
}

static void test_json_escape(void **state)
{
    (void)state;
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_add_json_esc(&b, "plain \"q\" back\\slash\nnl\ttab\r\x01 é end");
    assert_string_equal(b.data, "plain \\\"q\\\" back\\\\slash\\nnl\\ttab\\r\\u0001 é end");
    fm_buf_reset(&b);
    fm_buf_add_json_esc(&b, "");
    assert_int_equal(b.len, 0);
    fm_buf_add_json_esc(&b, "\"");
    assert_string_equal(b.data, "\\\"");
    /* log lines and events stay UTF-8: a byte that is not becomes \ufffd */
    fm_buf_reset(&b);
    fm_buf_add_json_esc(&b, "/tasks/\xff\xc3\xa9\xe2\x82\"x");
    assert_string_equal(b.data, "/tasks/\\ufffd\xc3\xa9\\ufffd\\ufffd\\\"x");
    fm_buf_release(&b);
}

static void test_rfc3339_cache(void **state)
{
    (void)state;
    char a[32], b[32], c[32];
    int64_t base = 1795651200000LL;         /* 2026-11-26T00:00:00.000Z */
    fm_time_rfc3339_at(base + 7, a);
    fm_time_rfc3339_at(base + 999, b);     /* same second: from the cache */
    fm_time_rfc3339_at(base + 1042, c);    /* next second */
    assert_string_equal(a, "2026-11-26T00:00:00.007Z");
    assert_string_equal(b, "2026-11-26T00:00:00.999Z");
    assert_string_equal(c, "2026-11-26T00:00:01.042Z");
    fm_time_rfc3339_at(base + 7, a);       /* back again */
    assert_string_equal(a, "2026-11-26T00:00:00.007Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addf_grows),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_rfc3339_cache),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
