/*
 * fm_sign.c — webhook signatures (fm_sign.h): HMAC-SHA256 from libsodium over
 * "<t>.<body>", hex-encoded.
 */
#include "fm_sign.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void fm_sign_value(const char *secret, const char *body, int64_t t_s, char *out, size_t len)
{
    char tbuf[24], machex[2 * crypto_auth_hmacsha256_BYTES + 1];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    snprintf(tbuf, sizeof(tbuf), "%lld", (long long)t_s);
    crypto_auth_hmacsha256_state hs;
    crypto_auth_hmacsha256_init(&hs, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&hs, (const unsigned char *)tbuf, strlen(tbuf));
    crypto_auth_hmacsha256_update(&hs, (const unsigned char *)".", 1);
    if (body)
        crypto_auth_hmacsha256_update(&hs, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&hs, mac);
    sodium_bin2hex(machex, sizeof(machex), mac, sizeof(mac));
    snprintf(out, len, "t=%s,v1=%s", tbuf, machex);
}
