/* test_jwt.c — EdDSA JWTs (src/auth/auth_jwt.c): sign/verify round trip, and every way a
 * token must be refused — tampered payload or signature, alg none, the HS256-with-the-
 * public-key confusion, other algs, expiry and nbf around the leeway, unknown kid, a key
 * past its not_after, wrong iss/aud, wrong part counts, oversize — plus the JWKS view.
 *
 * Tokens that must fail on one claim are handcrafted and signed with the real key, so
 * each is refused for that claim and not for a broken signature. */
#include "fm_test.h"

#include "auth/fm_auth.h"
#include "fm_config.h"
#include "fm_log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "https://id.flowmaster.test"
#define LEEWAY 30

static fm_key_t key_a, key_b;      /* a signs; b verifies only (rotated out) */

static int64_t now_s(void) { return fm_time_unix_ms() / 1000; }

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    fm_config_t c;
    fm_config_defaults(&c);
    c.log_requests = false;
    snprintf(c.auth_issuer, sizeof(c.auth_issuer), "%s", ISSUER);
    c.auth_leeway_s = LEEWAY;
    fm_config_install(&c);
    fm_log_set_level("error");
    fm_key_generate(&key_a);
    fm_key_generate(&key_b);
    fm_key_t ring[2] = { key_a, key_b };
    return fm_keyring_set(ring, 2, key_a.kid) == FM_OK ? 0 : -1;
}

/* ---- building tokens by hand ---- */

static char *b64(const void *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    assert_non_null(out);
    sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* header.payload (base64url of the JSON texts as given). */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    char *in = malloc(strlen(h) + strlen(p) + 2);
    assert_non_null(in);
    sprintf(in, "%s.%s", h, p);
    free(h);
    free(p);
    return in;
}

static char *join(const char *input, const unsigned char *sig, size_t siglen)
{
    char *s = siglen ? b64(sig, siglen) : strdup("");
    char *t = malloc(strlen(input) + strlen(s) + 2);
    assert_non_null(t);
    sprintf(t, "%s.%s", input, s);
    free(s);
    return t;
}

/* A token with these exact header and payload texts, Ed25519-signed with k. */
static char *craft(const char *header, const char *payload, const fm_key_t *k)
{
    char *in = signing_input(header, payload);
    unsigned char sig[64];
    crypto_sign_detached(sig, NULL, (const unsigned char *)in, strlen(in), k->sk);
    char *t = join(in, sig, sizeof(sig));
    free(in);
    return t;
}

/* A header naming k (alg EdDSA). */
static void header_for(const fm_key_t *k, char *out, size_t len)
{
    snprintf(out, len, "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->kid);
}

/* A payload with every claim right, exp/nbf relative to now, plus `extra` members. */
static void payload(char *out, size_t len, const char *iss, int64_t exp_in, int64_t nbf_in, const char *extra)
{
    int64_t n = now_s();
    snprintf(out, len,
             "{\"sub\":\"u-1\",\"tenant\":\"acme\",\"aud\":\"flowmaster\",\"iss\":\"%s\",\"iat\":%lld,"
             "\"nbf\":%lld,\"exp\":%lld,\"jti\":\"j-1\",\"typ\":\"access\"%s}",
             iss, (long long)n, (long long)(n + nbf_in), (long long)(n + exp_in), extra ? extra : "");
}

/* Expects verification to fail and `why` to contain want. */
static void assert_refused(const char *token, const char *want)
{
    char why[128] = "";
    cJSON *claims = (cJSON *)0x1;
    int rc = fm_jwt_verify(token, &claims, why, sizeof(why));
    if (rc == FM_OK)
        fail_msg("token accepted, expected '%s': %.120s", want, token ? token : "(null)");
    assert_null(claims);      /* nothing handed out on failure */
    if (!strstr(why, want))
        fail_msg("refused with '%s', expected '%s'", why, want);
}

static void assert_accepted(const char *token)
{
    char why[128] = "";
    if (fm_jwt_verify(token, NULL, why, sizeof(why)) != FM_OK)
        fail_msg("token refused: %s", why);
}

static cJSON *good_claims(void)
{
    int64_t n = now_s();
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "u-42");
    cJSON_AddStringToObject(c, "tenant", "acme");
    cJSON_AddStringToObject(c, "aud", FM_AUDIENCE);
    cJSON_AddStringToObject(c, "iss", "https://evil.test");     /* the signer overrides it */
    cJSON_AddNumberToObject(c, "iat", (double)n);
    cJSON_AddNumberToObject(c, "nbf", (double)n);
    cJSON_AddNumberToObject(c, "exp", (double)(n + 900));
    cJSON_AddStringToObject(c, "jti", "jti-1");
    cJSON_AddStringToObject(c, "typ", "access");
    cJSON_AddStringToObject(c, "email", "u42@acme.test");
    cJSON *roles = cJSON_AddArrayToObject(c, "roles");
    cJSON_AddItemToArray(roles, cJSON_CreateString("viewer"));
    cJSON_AddItemToArray(roles, cJSON_CreateString("designer"));
    cJSON *perms = cJSON_AddArrayToObject(c, "perms");
    cJSON_AddItemToArray(perms, cJSON_CreateString("*:read"));
    return c;
}

static char *sign_good(void)
{
    cJSON *c = good_claims();
    char *t = fm_jwt_sign(c);
    cJSON_Delete(c);
    assert_non_null(t);
    return t;
}

/* The decoded JSON of part i (0 header, 1 payload) of a token. */
static cJSON *part(const char *token, int i)
{
    const char *s = token;
    for (int k = 0; k < i; k++)
        s = strchr(s, '.') + 1;
    size_t n = strcspn(s, ".");
    unsigned char *buf = malloc(n + 1);
    size_t len = 0;
    assert_int_equal(sodium_base642bin(buf, n, s, n, NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    cJSON *j = cJSON_ParseWithLength((char *)buf, len);
    free(buf);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        fail_msg("'%s' is not a string", k);
    return v->valuestring;
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
    (void)state;
    char *t = sign_good();
    /* header: EdDSA, JWT, the active kid */
    cJSON *h = part(t, 0);
    assert_string_equal(jstr(h, "alg"), "EdDSA");
    assert_string_equal(jstr(h, "typ"), "JWT");
    assert_string_equal(jstr(h, "kid"), key_a.kid);
    cJSON_Delete(h);

    cJSON *claims = NULL;
    char why[128] = "";
    assert_int_equal(fm_jwt_verify(t, &claims, why, sizeof(why)), FM_OK);
    assert_non_null(claims);
    assert_string_equal(jstr(claims, "iss"), ISSUER);     /* set by the signer, not the caller */
    assert_string_equal(jstr(claims, "sub"), "u-42");
    assert_string_equal(jstr(claims, "tenant"), "acme");
    assert_string_equal(jstr(claims, "jti"), "jti-1");

    fm_principal_t p;
    assert_int_equal(fm_principal_from_claims(claims, &p), FM_OK);
    assert_string_equal(p.sub, "u-42");
    assert_string_equal(p.tenant, "acme");
    assert_string_equal(p.email, "u42@acme.test");
    assert_int_equal(p.nroles, 2);
    assert_string_equal(p.roles, "viewer");
    assert_string_equal(p.roles + strlen(p.roles) + 1, "designer");
    assert_int_equal(p.nperms, 1);
    assert_string_equal(p.perms, "*:read");
    assert_true(p.exp > now_s());
    cJSON_Delete(claims);

    /* the signature is over header.payload with key a's public key */
    const char *d2 = strrchr(t, '.');
    unsigned char sig[64];
    size_t siglen = 0;
    assert_int_equal(sodium_base642bin(sig, sizeof(sig), d2 + 1, strlen(d2 + 1), NULL, &siglen, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    assert_int_equal(siglen, 64);
    assert_int_equal(crypto_sign_verify_detached(sig, (const unsigned char *)t, (size_t)(d2 - t), key_a.pk), 0);
    assert_int_not_equal(crypto_sign_verify_detached(sig, (const unsigned char *)t, (size_t)(d2 - t), key_b.pk), 0);
    free(t);

    /* two tokens, same claims: both valid; no signing key → NULL */
    char *t2 = sign_good();
    assert_accepted(t2);
    free(t2);
    fm_key_t verify_only = key_a;
    verify_only.has_sk = false;
    assert_int_equal(fm_keyring_set(&verify_only, 1, key_a.kid), FM_EINVAL);
    assert_false(fm_keyring_ready());
    cJSON *c = good_claims();
    assert_null(fm_jwt_sign(c));
    cJSON_Delete(c);
}

static void test_tampered_payload(void **state)
{
    (void)state;
    char *t = sign_good();
    /* swap the payload for one with another tenant, keep header and signature */
    char hdr[200], pl[600];
    header_for(&key_a, hdr, sizeof(hdr));
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    char *other = craft(hdr, pl, &key_a);       /* valid by itself */
    assert_accepted(other);
    const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    const char *o1 = strchr(other, '.'), *o2 = strrchr(other, '.');
    char *mixed = malloc(strlen(t) + strlen(other) + 1);
    sprintf(mixed, "%.*s%.*s%s", (int)(d1 - t), t, (int)(o2 - o1), o1, d2);
    assert_refused(mixed, "bad signature");
    free(mixed);

    /* one character of the payload changed */
    char *flip = strdup(t);
    size_t i = (size_t)(d1 - t) + 5;
    flip[i] = flip[i] == 'A' ? 'B' : 'A';
    assert_refused(flip, "bad signature");
    free(flip);
    /* one character of the header changed (still the same kid? no matter: refused) */
    flip = strdup(t);
    flip[3] = flip[3] == 'A' ? 'B' : 'A';
    char why[128];
    assert_int_not_equal(fm_jwt_verify(flip, NULL, why, sizeof(why)), FM_OK);
    free(flip);
    free(other);
    free(t);
}

static void test_tampered_signature(void **state)
{
    (void)state;
    char *t = sign_good();
    const char *d2 = strrchr(t, '.');
    unsigned char sig[64];
    size_t siglen = 0;
    assert_int_equal(sodium_base642bin(sig, sizeof(sig), d2 + 1, strlen(d2 + 1), NULL, &siglen, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    char *in = strndup(t, (size_t)(d2 - t));
    for (int bit = 0; bit < 512; bit += 97) {       /* a few bits spread over the signature */
        unsigned char s2[64];
        memcpy(s2, sig, 64);
        s2[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        char *bad = join(in, s2, 64);
        assert_refused(bad, "bad signature");
        free(bad);
    }
    /* truncated, extended, empty, not base64url */
    char *bad = join(in, sig, 63);
    assert_refused(bad, "bad signature");
    free(bad);
    unsigned char longer[65];
    memcpy(longer, sig, 64);
    longer[64] = 0;
    bad = join(in, longer, 65);
    assert_refused(bad, "bad signature");
    free(bad);
    bad = join(in, sig, 0);                         /* "header.payload." */
    assert_refused(bad, "malformed");
    free(bad);
    bad = malloc(strlen(in) + 10);
    sprintf(bad, "%s.!!!!", in);
    assert_refused(bad, "bad signature");
    free(bad);
    /* signed by another key in the ring, claiming key a's kid */
    char hdr[200], pl[600];
    header_for(&key_a, hdr, sizeof(hdr));
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    bad = craft(hdr, pl, &key_b);
    assert_refused(bad, "bad signature");
    free(bad);
    free(in);
    free(t);
}

static void test_alg_none(void **state)
{
    (void)state;
    char pl[600];
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
        "{\"alg\":\"None\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
        "{\"alg\":\"NONE\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char hdr[200];
        snprintf(hdr, sizeof(hdr), headers[i], key_a.kid);
        char *in = signing_input(hdr, pl);
        char *unsigned_tok = join(in, NULL, 0);    /* the classic "header.payload." */
        char why[128];
        assert_int_not_equal(fm_jwt_verify(unsigned_tok, NULL, why, sizeof(why)), FM_OK);
        /* with a real EdDSA signature attached, alg none is still refused for its alg */
        char *signed_tok = craft(hdr, pl, &key_a);
        assert_refused(signed_tok, "alg");
        free(signed_tok);
        free(unsigned_tok);
        free(in);
    }
}

/* The confusion attack: HS256 with the server's public key as the HMAC secret. A
 * verifier that trusts the header's alg would check the HMAC with the "key" it has. */
static void test_alg_hs256_with_public_key(void **state)
{
    (void)state;
    char hdr[200], pl[600];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", key_a.kid);
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    char *in = signing_input(hdr, pl);
    /* secret = the raw 32 public-key bytes, and = the JWK's x text */
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key_a.pk, 32);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)in, strlen(in));
    crypto_auth_hmacsha256_final(&st, mac);
    char *tok = join(in, mac, sizeof(mac));
    assert_refused(tok, "alg");
    free(tok);

    char *x = b64(key_a.pk, 32);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)x, strlen(x));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)in, strlen(in));
    crypto_auth_hmacsha256_final(&st, mac);
    tok = join(in, mac, sizeof(mac));
    assert_refused(tok, "alg");
    free(tok);
    free(x);
    free(in);
}

static void test_other_algs(void **state)
{
    (void)state;
    static const char *const algs[] = { "HS384", "HS512", "RS256", "ES256", "PS256", "Ed25519",
                                        "eddsa", "EDDSA", "EdDSA ", "", NULL };
    char pl[600];
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    for (size_t i = 0; algs[i]; i++) {
        char hdr[200];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", algs[i], key_a.kid);
        char *tok = craft(hdr, pl, &key_a);     /* a genuine Ed25519 signature */
        assert_refused(tok, "alg");
        free(tok);
    }
    /* alg missing, or not a string */
    char hdr[200];
    snprintf(hdr, sizeof(hdr), "{\"typ\":\"JWT\",\"kid\":\"%s\"}", key_a.kid);
    char *tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "alg");
    free(tok);
    snprintf(hdr, sizeof(hdr), "{\"alg\":[\"EdDSA\"],\"kid\":\"%s\"}", key_a.kid);
    tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "alg");
    free(tok);
    /* the control: the same crafting with EdDSA passes */
    header_for(&key_a, hdr, sizeof(hdr));
    tok = craft(hdr, pl, &key_a);
    assert_accepted(tok);
    free(tok);
}

static void test_expiry_and_leeway(void **state)
{
    (void)state;
    char hdr[200], pl[600];
    header_for(&key_a, hdr, sizeof(hdr));
    struct { int64_t exp_in; bool ok; } cases[] = {
        { 900, true },
        { -(LEEWAY - 5), true },        /* expired, but within the leeway */
        { -(LEEWAY + 5), false },       /* beyond it */
        { -86400, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        payload(pl, sizeof(pl), ISSUER, cases[i].exp_in, -3600, "");
        char *tok = craft(hdr, pl, &key_a);
        if (cases[i].ok)
            assert_accepted(tok);
        else
            assert_refused(tok, "expired");
        free(tok);
    }
    /* no exp at all, or a non-number exp */
    snprintf(pl, sizeof(pl), "{\"sub\":\"u\",\"tenant\":\"t\",\"aud\":\"flowmaster\",\"iss\":\"%s\"}", ISSUER);
    char *tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "exp");
    free(tok);
    snprintf(pl, sizeof(pl), "{\"sub\":\"u\",\"tenant\":\"t\",\"aud\":\"flowmaster\",\"iss\":\"%s\",\"exp\":\"%lld\"}",
             ISSUER, (long long)now_s() + 900);
    tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "exp");
    free(tok);
    /* fm_jwt_sign'd tokens obey the same rule */
    cJSON *c = good_claims();
    cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(now_s() - LEEWAY - 10)));
    char *s = fm_jwt_sign(c);
    assert_refused(s, "expired");
    free(s);
    cJSON_Delete(c);
}

static void test_nbf(void **state)
{
    (void)state;
    char hdr[200], pl[600];
    header_for(&key_a, hdr, sizeof(hdr));
    payload(pl, sizeof(pl), ISSUER, 900, 600, "");          /* valid in 10 minutes */
    char *tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "not yet valid");
    free(tok);
    payload(pl, sizeof(pl), ISSUER, 900, LEEWAY + 5, "");   /* just beyond the leeway */
    tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "not yet valid");
    free(tok);
    payload(pl, sizeof(pl), ISSUER, 900, LEEWAY - 5, "");   /* a clock slightly ahead: fine */
    tok = craft(hdr, pl, &key_a);
    assert_accepted(tok);
    free(tok);
}

static void test_unknown_kid(void **state)
{
    (void)state;
    char hdr[200], pl[600];
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    /* a kid nobody has, signed with a real key */
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"key_nope\"}");
    char *tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "unknown kid");
    free(tok);
    /* a well-formed key that is not in the ring, with its own kid */
    fm_key_t stranger;
    fm_key_generate(&stranger);
    header_for(&stranger, hdr, sizeof(hdr));
    tok = craft(hdr, pl, &stranger);
    assert_refused(tok, "unknown kid");
    free(tok);
    /* no kid at all; a kid that is not a string */
    tok = craft("{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", pl, &key_a);
    assert_refused(tok, "kid");
    free(tok);
    tok = craft("{\"alg\":\"EdDSA\",\"kid\":7}", pl, &key_a);
    assert_refused(tok, "kid");
    free(tok);
    /* key b (verify-only member of the ring) verifies its own tokens */
    header_for(&key_b, hdr, sizeof(hdr));
    tok = craft(hdr, pl, &key_b);
    assert_accepted(tok);
    free(tok);
}

static void test_key_past_not_after(void **state)
{
    (void)state;
    char hdr[200], pl[600];
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    header_for(&key_b, hdr, sizeof(hdr));
    char *tok = craft(hdr, pl, &key_b);
    assert_accepted(tok);

    fm_key_t ring[2] = { key_a, key_b };
    ring[1].not_after = now_s() - 5;                         /* retired */
    assert_int_equal(fm_keyring_set(ring, 2, key_a.kid), FM_OK);
    assert_refused(tok, "unknown kid");
    /* and it left the JWKS */
    cJSON *jwks = fm_keyring_jwks();
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(jwks, "keys");
    assert_int_equal(cJSON_GetArraySize(keys), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(keys, 0), "kid"), key_a.kid);
    cJSON_Delete(jwks);

    ring[1].not_after = now_s() + 600;                       /* retiring, not yet retired */
    assert_int_equal(fm_keyring_set(ring, 2, key_a.kid), FM_OK);
    assert_accepted(tok);
    free(tok);
}

static void test_issuer_and_audience(void **state)
{
    (void)state;
    char hdr[200], pl[600];
    header_for(&key_a, hdr, sizeof(hdr));
    static const char *const bad_iss[] = { "https://evil.test", ISSUER "/", "", "HTTPS://ID.FLOWMASTER.TEST" };
    for (size_t i = 0; i < sizeof(bad_iss) / sizeof(bad_iss[0]); i++) {
        payload(pl, sizeof(pl), bad_iss[i], 900, 0, "");
        char *tok = craft(hdr, pl, &key_a);
        assert_refused(tok, "issuer");
        free(tok);
    }
    /* missing iss */
    snprintf(pl, sizeof(pl), "{\"sub\":\"u\",\"tenant\":\"t\",\"aud\":\"flowmaster\",\"exp\":%lld}",
             (long long)now_s() + 900);
    char *tok = craft(hdr, pl, &key_a);
    assert_refused(tok, "issuer");
    free(tok);

    /* audience: wrong string, missing, a list without us; a list with us is fine */
    struct { const char *aud; bool ok; } cases[] = {
        { "\"other-app\"", false }, { NULL, false }, { "[\"a\",\"b\"]", false }, { "[]", false },
        { "\"FlowMaster\"", false }, { "[\"a\",\"flowmaster\"]", true }, { "\"flowmaster\"", true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char aud[64] = "";
        if (cases[i].aud)
            snprintf(aud, sizeof(aud), ",\"aud\":%s", cases[i].aud);
        snprintf(pl, sizeof(pl), "{\"sub\":\"u\",\"tenant\":\"t\",\"iss\":\"%s\",\"exp\":%lld%s}", ISSUER,
                 (long long)now_s() + 900, aud);
        tok = craft(hdr, pl, &key_a);
        if (cases[i].ok)
            assert_accepted(tok);
        else
            assert_refused(tok, "audience");
        free(tok);
    }
}

static void test_part_counts(void **state)
{
    (void)state;
    char *t = sign_good();
    assert_accepted(t);
    const char *d2 = strrchr(t, '.');
    char *two = strndup(t, (size_t)(d2 - t));               /* header.payload */
    assert_refused(two, "malformed");
    char *four = malloc(strlen(t) + 8);
    sprintf(four, "%s.AAAA", t);                            /* a valid token + a part */
    assert_refused(four, "malformed");
    sprintf(four, "%s.", t);
    assert_refused(four, "malformed");
    char *one = strndup(t, strcspn(t, "."));
    assert_refused(one, "malformed");
    static const char *const junk[] = { "", ".", "..", "...", "a..b", ".a.b", "a.b.", "not a token" };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_refused(junk[i], "malformed");
    char why[64];
    assert_int_not_equal(fm_jwt_verify(NULL, NULL, why, sizeof(why)), FM_OK);
    /* parts that are not base64url JSON */
    assert_refused("e30.e30.AAAA", "");                     /* {} header: no alg */
    assert_refused("bm90IGpzb24.e30.AAAA", "malformed");    /* "not json" */
    free(one);
    free(four);
    free(two);
    free(t);
}

static void test_oversized_token(void **state)
{
    (void)state;
    char hdr[200];
    header_for(&key_a, hdr, sizeof(hdr));
    /* a correctly signed token whose payload carries 9 KiB of padding */
    size_t pad = 9 * 1024;
    char *extra = malloc(pad + 32);
    int n = snprintf(extra, pad + 32, ",\"pad\":\"");
    memset(extra + n, 'x', pad);
    strcpy(extra + n + pad, "\"");
    char *pl = malloc(pad + 700);
    payload(pl, pad + 700, ISSUER, 900, 0, extra);
    char *tok = craft(hdr, pl, &key_a);
    assert_true(strlen(tok) > 8192);
    assert_refused(tok, "malformed");
    free(tok);
    /* the same with a small pad is fine */
    strcpy(extra + n + 100, "\"");
    payload(pl, pad + 700, ISSUER, 900, 0, extra);
    tok = craft(hdr, pl, &key_a);
    assert_accepted(tok);
    free(tok);
    free(pl);
    free(extra);
}

static void test_jwks(void **state)
{
    (void)state;
    cJSON *jwks = fm_keyring_jwks();
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(jwks, "keys");
    assert_true(cJSON_IsArray(keys));
    assert_int_equal(cJSON_GetArraySize(keys), 2);
    const fm_key_t *want[2] = { &key_a, &key_b };
    int seen = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys) {
        assert_string_equal(jstr(k, "kty"), "OKP");
        assert_string_equal(jstr(k, "crv"), "Ed25519");
        assert_string_equal(jstr(k, "alg"), "EdDSA");
        assert_string_equal(jstr(k, "use"), "sig");
        const char *x = jstr(k, "x");
        assert_int_equal(strlen(x), 43);                    /* 32 bytes, base64url, no padding */
        assert_null(strpbrk(x, "+/="));
        unsigned char raw[40];
        size_t len = 0;
        assert_int_equal(sodium_base642bin(raw, sizeof(raw), x, strlen(x), NULL, &len, NULL,
                                           sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
        assert_int_equal(len, 32);
        /* never the private part */
        assert_null(cJSON_GetObjectItemCaseSensitive(k, "d"));
        for (int i = 0; i < 2; i++)
            if (!strcmp(jstr(k, "kid"), want[i]->kid)) {
                assert_memory_equal(raw, want[i]->pk, 32);
                seen |= 1 << i;
            }
    }
    assert_int_equal(seen, 3);
    char *text = cJSON_PrintUnformatted(jwks);
    char *skb = b64(key_a.sk, 32);                          /* the seed half of the secret key */
    assert_null(strstr(text, skb));
    free(skb);
    cJSON_free(text);
    cJSON_Delete(jwks);
}

static void test_default_issuer(void **state)
{
    (void)state;
    /* with no issuer configured: http://<listen>:<8002 + offset> */
    fm_config_t c;
    fm_config_defaults(&c);
    c.log_requests = false;
    c.auth_leeway_s = LEEWAY;
    c.auth_issuer[0] = 0;
    snprintf(c.listen, sizeof(c.listen), "127.0.0.1");
    c.port_offset = 100;
    fm_config_install(&c);
    char *t = sign_good();
    cJSON *p = part(t, 1);
    assert_string_equal(jstr(p, "iss"), "http://127.0.0.1:8102");
    cJSON_Delete(p);
    assert_accepted(t);
    /* a token of the old issuer no longer verifies here */
    char hdr[200], pl[600];
    header_for(&key_a, hdr, sizeof(hdr));
    payload(pl, sizeof(pl), ISSUER, 900, 0, "");
    char *old = craft(hdr, pl, &key_a);
    assert_refused(old, "issuer");
    free(old);
    free(t);
}

static void test_principal_claims(void **state)
{
    (void)state;
    fm_principal_t p;
    cJSON *c = cJSON_Parse("{\"sub\":\"svc:billing\",\"tenant\":\"acme\",\"svc\":\"billing\","
                           "\"roles\":[\"service\",7],\"perms\":[\"a:b\",\"c:d|resource.x == user.sub\"]}");
    assert_int_equal(fm_principal_from_claims(c, &p), FM_OK);
    assert_string_equal(p.service, "billing");
    assert_int_equal(p.nroles, 1);                          /* non-strings skipped */
    assert_int_equal(p.nperms, 2);
    assert_string_equal(p.perms + 4, "c:d|resource.x == user.sub");
    assert_string_equal(p.resource, "");                    /* no aud: a platform token */
    cJSON_Delete(c);
    /* RFC 8707: an audience besides "flowmaster" is the resource the token is for */
    c = cJSON_Parse("{\"sub\":\"u\",\"tenant\":\"a\",\"aud\":[\"flowmaster\",\"http://127.0.0.1:9000/mcp\"]}");
    assert_int_equal(fm_principal_from_claims(c, &p), FM_OK);
    assert_string_equal(p.resource, "http://127.0.0.1:9000/mcp");
    cJSON_Delete(c);
    c = cJSON_Parse("{\"sub\":\"u\",\"tenant\":\"a\",\"aud\":\"flowmaster\"}");
    assert_int_equal(fm_principal_from_claims(c, &p), FM_OK);
    assert_string_equal(p.resource, "");
    cJSON_Delete(c);
    /* sub and tenant are required strings */
    static const char *const bad[] = { "{\"tenant\":\"acme\"}", "{\"sub\":\"u\"}", "{\"sub\":1,\"tenant\":\"a\"}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = cJSON_Parse(bad[i]);
        assert_int_equal(fm_principal_from_claims(c, &p), FM_EINVAL);
        cJSON_Delete(c);
    }
    /* grants that overflow the fixed buffer are refused, not truncated */
    c = cJSON_Parse("{\"sub\":\"u\",\"tenant\":\"a\"}");
    cJSON *perms = cJSON_AddArrayToObject(c, "perms");
    char g[300];
    memset(g, 'g', sizeof(g) - 1);
    g[sizeof(g) - 1] = 0;
    for (int i = 0; i < 20; i++)
        cJSON_AddItemToArray(perms, cJSON_CreateString(g));
    assert_int_equal(fm_principal_from_claims(c, &p), FM_EINVAL);
    cJSON_Delete(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, NULL)
    const struct CMUnitTest tests[] = {
        T(test_round_trip),
        T(test_tampered_payload),
        T(test_tampered_signature),
        T(test_alg_none),
        T(test_alg_hs256_with_public_key),
        T(test_other_algs),
        T(test_expiry_and_leeway),
        T(test_nbf),
        T(test_unknown_kid),
        T(test_key_past_not_after),
        T(test_issuer_and_audience),
        T(test_part_counts),
        T(test_oversized_token),
        T(test_jwks),
        T(test_default_issuer),
        T(test_principal_claims),
    };
    return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}
