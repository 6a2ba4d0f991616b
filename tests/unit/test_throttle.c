/* test_throttle.c — login throttling (src/modules/auth/auth_tokens.c): after
 * auth.login_free_failures failures a key (an account or a client IP) waits 1 s, then
 * each further failure doubles the wait up to auth.login_max_delay_s; a success clears
 * it. Time-based clearing is covered over HTTP (tests/http/test_auth.py). */
#include "fm_test.h"

#include "fm_config.h"
#include "fm_log.h"
#include "modules/auth/auth_module.h"

#include <stdio.h>
#include <string.h>

static void config(int free_failures, int max_delay)
{
    fm_config_t c;
    fm_config_defaults(&c);
    c.log_requests = false;
    c.auth_login_free_failures = free_failures;
    c.auth_login_max_delay_s = max_delay;
    fm_config_install(&c);
    fm_log_set_level("error");
}

/* The Retry-After a key gets now; 0 when it is not throttled. */
static int wait_of(const char *key)
{
    int retry = -1;
    if (!auth_throttled(key, &retry))
        return 0;
    assert_true(retry >= 1);
    return retry;
}

static void test_free_failures_then_doubling(void **state)
{
    (void)state;
    config(2, 60);
    const char *k = "acct:default/doubling@example.test";
    assert_int_equal(wait_of(k), 0);
    auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 0);                    /* one free failure used */
    auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 1);                    /* both used: 1 s */
    auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 2);
    auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 4);
    auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 8);
    /* a success clears it */
    auth_throttle_clear(k);
    assert_int_equal(wait_of(k), 0);
    auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 0);
}

static void test_delay_capped(void **state)
{
    (void)state;
    config(1, 5);
    const char *k = "ip:192.0.2.10";
    for (int i = 0; i < 40; i++)
        auth_throttle_fail(k);
    assert_int_equal(wait_of(k), 5);
    auth_throttle_clear(k);
}

static void test_keys_are_independent(void **state)
{
    (void)state;
    config(1, 60);
    auth_throttle_fail("acct:default/a@example.test");
    assert_int_equal(wait_of("acct:default/a@example.test"), 1);
    assert_int_equal(wait_of("acct:default/b@example.test"), 0);
    assert_int_equal(wait_of("acct:other/a@example.test"), 0);
    assert_int_equal(wait_of("ip:192.0.2.11"), 0);
    auth_throttle_clear("acct:default/b@example.test");       /* clearing another key */
    assert_int_equal(wait_of("acct:default/a@example.test"), 1);
    auth_throttle_clear("acct:default/a@example.test");
}

/* The longest account key login builds: "acct:" + a 64-character tenant + "/" + a
 * 254-character email. It must be throttled like any other. */
static void test_longest_account_key(void **state)
{
    (void)state;
    config(1, 60);
    char tenant[65], local[65], domain[190], key[400];
    memset(tenant, 't', 64);
    tenant[64] = 0;
    memset(local, 'l', 64);
    local[64] = 0;
    memset(domain, 'd', 189);
    domain[189] = 0;
    snprintf(key, sizeof(key), "acct:%s/%s@%s", tenant, local, domain);
    assert_int_equal(strlen(key), 5 + 64 + 1 + 254);
    auth_throttle_fail(key);
    assert_int_equal(wait_of(key), 1);
    /* and a key differing only in its last character is another account */
    key[strlen(key) - 1] = 'x';
    assert_int_equal(wait_of(key), 0);
}

/* The account key folds the e-mail as the users table compares it (ASCII case only),
 * keeps the tenant as it is, and fits the longest tenant and e-mail. */
static void test_account_key_folds_email_case(void **state)
{
    (void)state;
    char a[340], b[340];
    auth_account_key("Default", "Admin@LocalHost", a, sizeof(a));
    assert_string_equal(a, "acct:Default/admin@localhost");
    auth_account_key("Default", "admin@localhost", b, sizeof(b));
    assert_string_equal(a, b);
    auth_account_key("default", "admin@localhost", b, sizeof(b));
    assert_string_not_equal(a, b);                  /* tenant ids are case-sensitive */
    auth_account_key("t", "\xc3\x89T\xc3\xa9@x", b, sizeof(b));   /* "ÉTé": NOCASE folds ASCII only */
    assert_string_equal(b, "acct:t/\xc3\x89t\xc3\xa9@x");
    char tenant[65], email[255], small[16];
    memset(tenant, 'T', 64);
    tenant[64] = 0;
    memset(email, 'E', 254);
    email[254] = 0;
    auth_account_key(tenant, email, a, sizeof(a));
    assert_int_equal(strlen(a), 5 + 64 + 1 + 254);
    assert_int_equal(a[sizeof("acct:") + 64], 'e');
    auth_account_key(tenant, email, small, sizeof(small));      /* cut, still terminated */
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_failures_then_doubling),
        cmocka_unit_test(test_delay_capped),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_longest_account_key),
        cmocka_unit_test(test_account_key_folds_email_case),
    };
    return cmocka_run_group_tests_name("throttle", tests, NULL, NULL);
}
