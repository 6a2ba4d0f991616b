/*
 * sso_util.c — the pure pieces of the OpenID Connect provider: form and cookie decoding,
 * PKCE (RFC 7636, S256 only), redirect-URI rules, HTML and URL escaping, client Basic
 * authentication, sealing of tokens under a code-derived key, and the login form's
 * binding token. No I/O and no globals: tests/unit/test_sso.c drives them directly.
 */
#include "sso_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sso_url_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return SSO_FORM_BAD;
            int h1 = hexval(s[i + 1]), h2 = hexval(s[i + 2]);
            if (h1 < 0 || h2 < 0)
                return SSO_FORM_BAD;
            c = h1 * 16 + h2;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen)
            return SSO_FORM_BAD;
        out[o++] = (char)c;
    }
    if (outlen)
        out[o] = 0;
    return (int)o;
}

int sso_form_get(const char *body, size_t len, const char *name, char *out, size_t outlen)
{
    int found = SSO_FORM_ABSENT;
    size_t i = 0;
    while (body && i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && body[eq] != '=')
            eq++;
        char key[64];
        int kl = sso_url_decode(body + i, eq - i, key, sizeof(key));
        if (kl >= 0 && !strcmp(key, name) && eq < end && eq + 1 < end) {
            /* A parameter sent without a value counts as omitted (RFC 6749 §3.1). */
            if (found != SSO_FORM_ABSENT)
                return SSO_FORM_DUP;
            found = sso_url_decode(body + eq + 1, end - eq - 1, out, outlen);
            if (found == SSO_FORM_BAD)
                return SSO_FORM_BAD;
        }
        i = end + 1;
    }
    return found;
}

const char *sso_cookie(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t seg = end ? (size_t)(end - p) : strlen(p);
        if (seg > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = seg - nl - 1;
            while (vl && p[nl + vl] == ' ')     /* trailing blanks before ';' */
                vl--;
            if (vl >= outlen)
                return NULL;
            memcpy(out, p + nl + 1, vl);
            out[vl] = 0;
            return out;
        }
        p = end;
    }
    return NULL;
}

static bool b64url_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool sso_pkce_challenge_ok(const char *ch)
{
    size_t n = 0;
    for (; ch[n]; n++)
        if (n >= 43 || !b64url_char(ch[n]))
            return false;
    return n == 43;
}

bool sso_pkce_verifier_ok(const char *v)
{
    size_t n = 0;
    for (; v[n]; n++)
        if (n >= 128 || !(b64url_char(v[n]) || v[n] == '.' || v[n] == '~'))
            return false;
    return n >= 43;
}

void sso_b64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool sso_pkce_s256_ok(const char *verifier, const char *challenge)
{
    if (!sso_pkce_verifier_ok(verifier) || !sso_pkce_challenge_ok(challenge))
        return false;
    unsigned char h[crypto_hash_sha256_BYTES];
    char b[64];
    crypto_hash_sha256(h, (const unsigned char *)verifier, strlen(verifier));
    sso_b64url(h, sizeof(h), b, sizeof(b));
    return strlen(b) == 43 && sodium_memcmp(b, challenge, 43) == 0;
}

void sso_sha256_hex(const char *s, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, h, sizeof(h));
}

void sso_random_token(char out[44])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sso_b64url(raw, sizeof(raw), out, 44);
}

void sso_html_esc(fm_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fm_buf_adds(b, "&lt;"); break;
        case '>': fm_buf_adds(b, "&gt;"); break;
        case '&': fm_buf_adds(b, "&amp;"); break;
        case '"': fm_buf_adds(b, "&quot;"); break;
        case '\'': fm_buf_adds(b, "&#39;"); break;
        default: fm_buf_add(b, s, 1);
        }
    }
}

void sso_url_esc(fm_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (b64url_char((char)c) || c == '.' || c == '~')
            fm_buf_add(b, s, 1);
        else
            fm_buf_addf(b, "%%%02X", c);
    }
}

static bool loopback_host(const char *h, size_t n)
{
    return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 9 && !strncmp(h, "127.0.0.1", 9)) ||
           (n == 5 && !strncmp(h, "[::1]", 5));
}

bool sso_redirect_uri_ok(const char *uri, const char **why)
{
    size_t n = strlen(uri);
    const char *w = NULL;
    if (n == 0 || n > SSO_URI_MAX) {
        w = "must be 1 to 2048 characters";
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f) {
            w = "must not contain spaces, control or non-ASCII characters (percent-encode them)";
            goto out;
        }
    if (strchr(uri, '#')) {
        w = "must not contain a fragment";
        goto out;
    }
    size_t sl = 0;
    while (sl < n && ((uri[sl] >= 'a' && uri[sl] <= 'z') || (uri[sl] >= 'A' && uri[sl] <= 'Z') ||
                      (sl && ((uri[sl] >= '0' && uri[sl] <= '9') || uri[sl] == '+' || uri[sl] == '-' ||
                              uri[sl] == '.'))))
        sl++;
    if (sl == 0 || sl >= n || uri[sl] != ':') {
        w = "must be an absolute URI";
        goto out;
    }
    bool https = sl == 5 && !strncasecmp(uri, "https", 5), http = sl == 4 && !strncasecmp(uri, "http", 4);
    if (https || http) {
        if (strncmp(uri + sl, "://", 3)) {
            w = "must be an absolute URI";
            goto out;
        }
        const char *host = uri + sl + 3;
        size_t al = strcspn(host, "/?");
        if (memchr(host, '@', al)) {
            w = "must not carry credentials";
            goto out;
        }
        size_t hl = host[0] == '[' ? (memchr(host, ']', al) ? (size_t)((char *)memchr(host, ']', al) - host) + 1 : al)
                                   : strcspn(host, ":/?");
        if (hl == 0 || hl > al) {
            w = "must name a host";
            goto out;
        }
        if (http && !loopback_host(host, hl)) {
            w = "http is allowed only for loopback hosts (127.0.0.1, localhost, [::1]); use https";
            goto out;
        }
    } else if (!memchr(uri, '.', sl) || sl + 1 >= n) {
        w = "must use https, http on a loopback host, or a private-use scheme like com.example.app:";
        goto out;
    }
out:
    if (why)
        *why = w;
    return w == NULL;
}

bool sso_scope_has(const char *scope, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = scope; p && *p;) {
        while (*p == ' ')
            p++;
        size_t l = strcspn(p, " ");
        if (l == wl && !strncmp(p, word, wl))
            return true;
        p += l;
    }
    return false;
}

int sso_basic_auth(const char *header, char *id, size_t idlen, char *secret, size_t secretlen)
{
    if (!header || strncasecmp(header, "Basic ", 6))
        return FM_EINVAL;
    const char *b = header + 6;
    while (*b == ' ')
        b++;
    size_t bl = strlen(b);
    if (bl == 0 || bl > 1024)
        return FM_EINVAL;
    unsigned char raw[1024];
    size_t rl = 0;
    if (sodium_base642bin(raw, sizeof(raw) - 1, b, bl, NULL, &rl, NULL, sodium_base64_VARIANT_ORIGINAL))
        return FM_EINVAL;
    raw[rl] = 0;
    char *colon = memchr(raw, ':', rl);
    if (!colon || memchr(raw, 0, rl))
        return FM_EINVAL;
    if (sso_url_decode((char *)raw, (size_t)(colon - (char *)raw), id, idlen) <= 0)
        return FM_EINVAL;
    if (sso_url_decode(colon + 1, rl - (size_t)(colon + 1 - (char *)raw), secret, secretlen) < 0)
        return FM_EINVAL;
    return FM_OK;
}

/* The sealing key: BLAKE2b keyed with a label, over the code. The code's lookup hash
 * is SHA-256, so the stored hash says nothing about this key. */
static void seal_key(const char *code, unsigned char key[crypto_secretbox_KEYBYTES])
{
    static const char label[] = "flowmaster-sso-code-seal-v1";
    crypto_generichash(key, crypto_secretbox_KEYBYTES, (const unsigned char *)code, strlen(code),
                       (const unsigned char *)label, sizeof(label) - 1);
}

int sso_seal(const char *code, const char *text, unsigned char **out, size_t *outlen)
{
    size_t tl = strlen(text);
    size_t n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + tl;
    unsigned char *b = malloc(n);
    if (!b)
        return FM_ENOMEM;
    unsigned char key[crypto_secretbox_KEYBYTES];
    seal_key(code, key);
    randombytes_buf(b, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(b + crypto_secretbox_NONCEBYTES, (const unsigned char *)text, tl, b, key);
    sodium_memzero(key, sizeof(key));
    *out = b;
    *outlen = n;
    return FM_OK;
}

char *sso_unseal(const char *code, const unsigned char *blob, size_t len)
{
    if (!blob || len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return NULL;
    size_t tl = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *text = malloc(tl + 1);
    if (!text)
        return NULL;
    unsigned char key[crypto_secretbox_KEYBYTES];
    seal_key(code, key);
    int rc = crypto_secretbox_open_easy((unsigned char *)text, blob + crypto_secretbox_NONCEBYTES,
                                        len - crypto_secretbox_NONCEBYTES, blob, key);
    sodium_memzero(key, sizeof(key));
    if (rc) {
        free(text);
        return NULL;
    }
    text[tl] = 0;
    if (strlen(text) != tl) {   /* a NUL inside: not something we sealed */
        free(text);
        return NULL;
    }
    return text;
}

static void mac_field(crypto_auth_hmacsha256_state *st, const char *s)
{
    char len[24];
    int n = snprintf(len, sizeof(len), "%zu:", strlen(s));
    crypto_auth_hmacsha256_update(st, (const unsigned char *)len, (unsigned long long)n);
    crypto_auth_hmacsha256_update(st, (const unsigned char *)s, strlen(s));
}

static void form_mac(const unsigned char key[32], const char *exp, const char *rand, const sso_authz_t *a,
                     char out[44])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, 32);
    const char *fields[] = { "sso-form-v2", exp, rand, a->response_type, a->client_id, a->redirect_uri,
                             a->scope, a->state, a->nonce, a->code_challenge, a->code_challenge_method,
                             a->resource };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        mac_field(&st, fields[i]);
    crypto_auth_hmacsha256_final(&st, mac);
    sso_b64url(mac, sizeof(mac), out, 44);
}

void sso_form_token(const unsigned char key[32], int64_t exp, const char *rand, const sso_authz_t *a,
                    char *out, size_t outlen)
{
    char e[24], mac[44];
    snprintf(e, sizeof(e), "%lld", (long long)exp);
    form_mac(key, e, rand, a, mac);
    snprintf(out, outlen, "%s.%s.%s", e, rand, mac);
}

bool sso_form_token_ok(const unsigned char key[32], const char *token, const char *cookie_rand,
                       const sso_authz_t *a, int64_t now)
{
    char e[24], rand[64], mac[44];
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || d1 == token || (size_t)(d1 - token) >= sizeof(e) || (size_t)(d2 - d1 - 1) >= sizeof(rand) ||
        strlen(d2 + 1) != 43 || !cookie_rand)
        return false;
    memcpy(e, token, (size_t)(d1 - token));
    e[d1 - token] = 0;
    memcpy(rand, d1 + 1, (size_t)(d2 - d1 - 1));
    rand[d2 - d1 - 1] = 0;
    char *end;
    long long exp = strtoll(e, &end, 10);
    if (*end || exp < now || !*rand)
        return false;
    form_mac(key, e, rand, a, mac);
    bool mac_ok = sodium_memcmp(mac, d2 + 1, 43) == 0;
    bool rand_ok = strlen(rand) == strlen(cookie_rand) && sodium_memcmp(rand, cookie_rand, strlen(rand)) == 0;
    return mac_ok && rand_ok;
}
