/*
 * test_sso.c — the pure parts of the OpenID Connect provider (src/modules/sso/
 * sso_util.c) and its code store: form decoding, PKCE S256 (RFC 7636 appendix B
 * vector), redirect-URI rules, escaping, Basic client credentials, sealing under a
 * code-derived key, the login form's binding token, and one-time, expiring codes.
 */
#include "fm_test.h"

#include "fm_migrate.h"
#include "modules/sso/sso_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void form_decoding(void **state)
{
    (void)state;
    char out[64];
    const char *body = "a=1&b=hello+world&c=%41%2b%26&empty=&d=x%3Dy&dup=1&dup=2&bad=%4&bad2=%zz&nul=%00";
    size_t n = strlen(body);
    assert_int_equal(sso_form_get(body, n, "a", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    assert_int_equal(sso_form_get(body, n, "b", out, sizeof(out)), 11);
    assert_string_equal(out, "hello world");
    assert_int_equal(sso_form_get(body, n, "c", out, sizeof(out)), 3);
    assert_string_equal(out, "A+&");
    assert_int_equal(sso_form_get(body, n, "d", out, sizeof(out)), 3);
    assert_string_equal(out, "x=y");
    assert_int_equal(sso_form_get(body, n, "empty", out, sizeof(out)), SSO_FORM_ABSENT);
    assert_int_equal(sso_form_get(body, n, "missing", out, sizeof(out)), SSO_FORM_ABSENT);
    assert_int_equal(sso_form_get(body, n, "dup", out, sizeof(out)), SSO_FORM_DUP);
    assert_int_equal(sso_form_get(body, n, "bad", out, sizeof(out)), SSO_FORM_BAD);
    assert_int_equal(sso_form_get(body, n, "bad2", out, sizeof(out)), SSO_FORM_BAD);
    assert_int_equal(sso_form_get(body, n, "nul", out, sizeof(out)), SSO_FORM_BAD);
    /* too long for the buffer */
    assert_int_equal(sso_form_get("a=0123456789", 12, "a", out, 5), SSO_FORM_BAD);
    /* an encoded name, and the length limit of the body respected */
    assert_int_equal(sso_form_get("%61=z&b=2", 9, "a", out, sizeof(out)), 1);
    assert_int_equal(sso_form_get("a=12345", 4, "a", out, sizeof(out)), 2);
    assert_string_equal(out, "12");
    assert_int_equal(sso_form_get(NULL, 0, "a", out, sizeof(out)), SSO_FORM_ABSENT);
}

static void cookies(void **state)
{
    (void)state;
    char out[64];
    assert_non_null(sso_cookie("a=1; fm_sso_csrf=abc; b=2", "fm_sso_csrf", out, sizeof(out)));
    assert_string_equal(out, "abc");
    assert_non_null(sso_cookie("fm_sso_csrf=xyz", "fm_sso_csrf", out, sizeof(out)));
    assert_string_equal(out, "xyz");
    assert_null(sso_cookie("xfm_sso_csrf=1; fm_sso=2", "fm_sso_csrf", out, sizeof(out)));
    assert_null(sso_cookie("", "fm_sso_csrf", out, sizeof(out)));
    assert_null(sso_cookie("fm_sso_csrf=0123456789", "fm_sso_csrf", out, 4));
}

static void pkce_s256(void **state)
{
    (void)state;
    /* RFC 7636 appendix B */
    const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *ch = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert_true(sso_pkce_challenge_ok(ch));
    assert_true(sso_pkce_verifier_ok(v));
    assert_true(sso_pkce_s256_ok(v, ch));
    /* one character off, either side */
    assert_false(sso_pkce_s256_ok("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", ch));
    assert_false(sso_pkce_s256_ok(v, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
    /* plain is not S256: the verifier itself is no challenge */
    assert_false(sso_pkce_s256_ok(v, v));
    /* shapes */
    assert_false(sso_pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"));
    assert_false(sso_pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="));
    assert_false(sso_pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
    assert_false(sso_pkce_verifier_ok("short"));
    char long_v[200];
    memset(long_v, 'a', 129);
    long_v[129] = 0;
    assert_false(sso_pkce_verifier_ok(long_v));
    long_v[128] = 0;
    assert_true(sso_pkce_verifier_ok(long_v));
    assert_false(sso_pkce_verifier_ok("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX k"));
    assert_false(sso_pkce_s256_ok("short", ch));
}

static void redirect_uris(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *good[] = { "https://app.example.com/cb", "https://app.example.com:8443/cb?x=1",
                           "http://127.0.0.1:5555/cb", "http://localhost/cb", "http://[::1]:80/cb",
                           "com.example.app:/oauth2redirect", "HTTPS://APP.EXAMPLE.COM/" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_true(sso_redirect_uri_ok(good[i], &why));
        assert_null(why);
    }
    const char *bad[] = { "", "/cb", "cb", "http://example.com/cb", "http://127.0.0.1.evil.com/cb",
                          "http://localhost.evil.com/cb", "https://a.example.com/cb#x", "javascript:alert(1)",
                          "data:text/html,x", "https://user:pw@a.example.com/", "https:///cb",
                          "https://a.example.com/c b", "https:/a.example.com", "com.example.app:",
                          "1http://a/" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_false(sso_redirect_uri_ok(bad[i], &why));
        assert_non_null(why);
    }
    char big[SSO_URI_MAX + 40] = "https://a.example.com/";
    memset(big + strlen(big), 'a', SSO_URI_MAX);
    big[SSO_URI_MAX + 1] = 0;
    assert_false(sso_redirect_uri_ok(big, &why));
}

static void escaping_and_scopes(void **state)
{
    (void)state;
    fm_buf_t b = FM_BUF_INIT;
    sso_html_esc(&b, "<a href=\"x\">'&'</a>");
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    fm_buf_reset(&b);
    sso_url_esc(&b, "a b&c=d/é~._-");
    assert_string_equal(b.data, "a%20b%26c%3Dd%2F%C3%A9~._-");
    fm_buf_release(&b);
    assert_true(sso_scope_has("openid email", "openid"));
    assert_true(sso_scope_has("  email   openid ", "openid"));
    assert_false(sso_scope_has("openidx email", "openid"));
    assert_false(sso_scope_has("", "openid"));
    assert_false(sso_scope_has("open", "openid"));
}

static void basic_auth(void **state)
{
    (void)state;
    char id[64], secret[128];
    /* "cli_1:s%3Ac" → id cli_1, secret "s:c" (form-encoded before base64) */
    char hdr[128] = "Basic ";
    const char *raw = "cli_1:s%3Ac";
    sodium_bin2base64(hdr + 6, sizeof(hdr) - 6, (const unsigned char *)raw, strlen(raw),
                      sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(sso_basic_auth(hdr, id, sizeof(id), secret, sizeof(secret)), FM_OK);
    assert_string_equal(id, "cli_1");
    assert_string_equal(secret, "s:c");
    assert_int_equal(sso_basic_auth("Basic !!!", id, sizeof(id), secret, sizeof(secret)), FM_EINVAL);
    assert_int_equal(sso_basic_auth("Bearer abc", id, sizeof(id), secret, sizeof(secret)), FM_EINVAL);
    assert_int_equal(sso_basic_auth("Basic bm9jb2xvbg==", id, sizeof(id), secret, sizeof(secret)), FM_EINVAL);
    assert_int_equal(sso_basic_auth("Basic OnNlY3JldA==", id, sizeof(id), secret, sizeof(secret)), FM_EINVAL);
    assert_int_equal(sso_basic_auth(NULL, id, sizeof(id), secret, sizeof(secret)), FM_EINVAL);
}

static void sealing(void **state)
{
    (void)state;
    unsigned char *blob = NULL;
    size_t n = 0;
    assert_int_equal(sso_seal("code-1", "{\"access\":\"a\"}", &blob, &n), FM_OK);
    for (size_t i = 0; i + 6 <= n; i++)                 /* not in the clear */
        assert_false(memcmp(blob + i, "access", 6) == 0);
    char *text = sso_unseal("code-1", blob, n);
    assert_non_null(text);
    assert_string_equal(text, "{\"access\":\"a\"}");
    free(text);
    assert_null(sso_unseal("code-2", blob, n));         /* another code opens nothing */
    blob[n - 1] ^= 1;
    assert_null(sso_unseal("code-1", blob, n));         /* altered */
    assert_null(sso_unseal("code-1", blob, 10));
    free(blob);
}

static void form_binding(void **state)
{
    (void)state;
    unsigned char key[32], other[32];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(other, sizeof(other));
    sso_authz_t a;
    memset(&a, 0, sizeof(a));
    strcpy(a.client_id, "cli_1");
    strcpy(a.redirect_uri, "http://127.0.0.1/cb");
    strcpy(a.state, "s1");
    strcpy(a.code_challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    char rand[44], tok[160];
    sso_random_token(rand);
    sso_form_token(key, 1000, rand, &a, tok, sizeof(tok));
    assert_true(sso_form_token_ok(key, tok, rand, &a, 999));
    assert_true(sso_form_token_ok(key, tok, rand, &a, 1000));
    assert_false(sso_form_token_ok(key, tok, rand, &a, 1001));         /* expired */
    assert_false(sso_form_token_ok(other, tok, rand, &a, 999));        /* another key (restart) */
    assert_false(sso_form_token_ok(key, tok, "x", &a, 999));           /* another browser */
    assert_false(sso_form_token_ok(key, tok, NULL, &a, 999));
    sso_authz_t b = a;
    strcpy(b.state, "s2");
    assert_false(sso_form_token_ok(key, tok, rand, &b, 999));          /* other parameters */
    b = a;
    strcpy(b.redirect_uri, "http://127.0.0.1/cb2");
    assert_false(sso_form_token_ok(key, tok, rand, &b, 999));
    /* moving a character between fields changes the MAC (fields are length-prefixed) */
    b = a;
    strcpy(b.state, "s");
    strcpy(b.nonce, "1");
    assert_false(sso_form_token_ok(key, tok, rand, &b, 999));
    /* a later expiry written into the token breaks it */
    char forged[160];
    snprintf(forged, sizeof(forged), "9999%s", tok + 4);
    assert_false(sso_form_token_ok(key, forged, rand, &a, 999));
    assert_false(sso_form_token_ok(key, "", rand, &a, 999));
    assert_false(sso_form_token_ok(key, "1.2.3", rand, &a, 0));
}

/* ---- the code store, on a real database with the sso migrations ---- */

static void open_sso_db(fm_test_db_t *t)
{
    fm_test_db_open(t, true);
    char err[256] = "";
    int applied = 0;
    assert_int_equal(fm_migrate_apply(t->db, "sso", fm_migrations, fm_nmigrations, &applied, err, sizeof(err)), FM_OK);
    assert_true(applied >= 1);
}

static void fill_code(sso_code_t *c, const char *code)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->client_id, "cli_1");
    strcpy(c->tenant, "default");
    strcpy(c->redirect_uri, "http://127.0.0.1/cb");
    strcpy(c->challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    strcpy(c->scope, "openid");
    strcpy(c->sub, "usr_1");
    strcpy(c->roles, "[\"admin\"]");
    c->auth_time = 1000;
    assert_int_equal(sso_seal(code, "{\"access\":\"a\",\"refresh\":\"r\"}", &c->sealed, &c->sealed_len), FM_OK);
}

static void codes_work_once_and_expire(void **state)
{
    (void)state;
    fm_test_db_t t;
    open_sso_db(&t);
    sso_code_t c, got;
    int outcome;
    char h1[65], h2[65];
    sso_sha256_hex("code-1", h1);
    sso_sha256_hex("code-2", h2);
    int64_t now = 1000000;

    fill_code(&c, "code-1");
    assert_int_equal(sso_code_insert(t.db, h1, &c, now), FM_OK);
    sso_code_release(&c);
    fill_code(&c, "code-2");
    assert_int_equal(sso_code_insert(t.db, h2, &c, now), FM_OK);
    sso_code_release(&c);
    assert_int_equal(fm_test_db_int(&t, "SELECT count(*) FROM codes WHERE hash = 'code-1'"), 0);  /* hashed */

    assert_int_equal(sso_code_take(t.db, h1, now + 1000, &got, &outcome), FM_OK);
    assert_int_equal(outcome, SSO_CODE_OK);
    assert_string_equal(got.client_id, "cli_1");
    assert_string_equal(got.sub, "usr_1");
    char *text = sso_unseal("code-1", got.sealed, got.sealed_len);
    assert_non_null(text);
    assert_string_equal(text, "{\"access\":\"a\",\"refresh\":\"r\"}");
    free(text);
    sso_code_release(&got);

    /* the second time it is a reuse, and still readable (to revoke its session) */
    assert_int_equal(sso_code_take(t.db, h1, now + 2000, &got, &outcome), FM_OK);
    assert_int_equal(outcome, SSO_CODE_REUSED);
    assert_non_null(got.sealed);
    sso_code_release(&got);

    /* 60 s on, a code is expired; taking it spends it all the same */
    assert_int_equal(sso_code_take(t.db, h2, now + SSO_CODE_TTL_MS, &got, &outcome), FM_OK);
    assert_int_equal(outcome, SSO_CODE_EXPIRED);
    sso_code_release(&got);
    assert_int_equal(sso_code_take(t.db, h2, now + SSO_CODE_TTL_MS + 1, &got, &outcome), FM_OK);
    assert_int_equal(outcome, SSO_CODE_REUSED);
    sso_code_release(&got);

    char h3[65];
    sso_sha256_hex("never-issued", h3);
    assert_int_equal(sso_code_take(t.db, h3, now, &got, &outcome), FM_OK);
    assert_int_equal(outcome, SSO_CODE_UNKNOWN);

    /* rows long past their life go when a new code is stored */
    fill_code(&c, "code-3");
    char h4[65];
    sso_sha256_hex("code-3", h4);
    assert_int_equal(sso_code_insert(t.db, h4, &c, now + SSO_CODE_TTL_MS + SSO_CODE_KEEP_MS + 1), FM_OK);
    sso_code_release(&c);
    assert_int_equal(fm_test_db_int(&t, "SELECT count(*) FROM codes"), 1);
    fm_test_db_close(&t);
}

static void clients_are_tenant_scoped(void **state)
{
    (void)state;
    fm_test_db_t t;
    open_sso_db(&t);
    cJSON *uris = cJSON_CreateArray();
    cJSON_AddItemToArray(uris, cJSON_CreateString("http://127.0.0.1/cb"));
    sso_client_t a, got;
    assert_int_equal(sso_client_insert(t.db, "t1", "App", uris, NULL, &a), FM_OK);
    assert_int_equal(sso_client_get(t.db, "t1", a.id, &got), FM_OK);
    assert_true(sso_client_has_uri(&got, "http://127.0.0.1/cb"));
    assert_false(sso_client_has_uri(&got, "http://127.0.0.1/cb/"));
    assert_false(got.confidential);
    sso_client_release(&got);
    assert_int_equal(sso_client_get(t.db, "t2", a.id, &got), FM_ENOTFOUND);
    assert_int_equal(sso_client_get(t.db, NULL, a.id, &got), FM_OK);   /* the OAuth endpoints' view */
    sso_client_release(&got);
    cJSON *items = cJSON_CreateArray();
    int total = -1;
    assert_int_equal(sso_client_list(t.db, "t2", 0, 10, items, &total), FM_OK);
    assert_int_equal(total, 0);
    assert_int_equal(cJSON_GetArraySize(items), 0);
    cJSON_Delete(items);
    assert_int_equal(sso_client_delete(t.db, "t2", a.id), FM_ENOTFOUND);
    assert_int_equal(sso_client_delete(t.db, "t1", a.id), FM_OK);
    assert_int_equal(sso_client_get(t.db, NULL, a.id, &got), FM_ENOTFOUND);
    sso_client_release(&a);
    cJSON_Delete(uris);
    fm_test_db_close(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(form_decoding),
        cmocka_unit_test(cookies),
        cmocka_unit_test(pkce_s256),
        cmocka_unit_test(redirect_uris),
        cmocka_unit_test(escaping_and_scopes),
        cmocka_unit_test(basic_auth),
        cmocka_unit_test(sealing),
        cmocka_unit_test(form_binding),
        cmocka_unit_test(codes_work_once_and_expire),
        cmocka_unit_test(clients_are_tenant_scoped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
