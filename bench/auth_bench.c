/*
 * auth_bench.c — in-process cost of authentication: Ed25519 JWT verification
 * (fm_jwt_verify) and what the router actually pays per request (fm_principal_from_token,
 * which finds a token it verified before in its cache). Built by `make bench` against
 * build/libfm.a. Usage: auth_bench [seconds per measurement, default 2]
 */
#include "auth/auth_int.h"
#include "auth/fm_auth.h"
#include "fm_config.h"
#include "fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *make_token(void)
{
    cJSON *c = cJSON_CreateObject();
    int64_t now = fm_time_unix_ms() / 1000;
    cJSON_AddStringToObject(c, "sub", "usr_bench");
    cJSON_AddStringToObject(c, "aud", FM_AUDIENCE);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)(now + 900));
    cJSON_AddStringToObject(c, "typ", "access");
    cJSON_AddStringToObject(c, "tenant", "default");
    cJSON *roles = cJSON_AddArrayToObject(c, "roles");
    cJSON_AddItemToArray(roles, cJSON_CreateString("operator"));
    cJSON *perms = cJSON_AddArrayToObject(c, "perms");
    for (const char *const *g = fm_role_builtin("operator"); *g; g++)
        cJSON_AddItemToArray(perms, cJSON_CreateString(*g));
    char *t = fm_jwt_sign(c);
    cJSON_Delete(c);
    return t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    fm_config_t cfg;
    fm_config_defaults(&cfg);
    fm_config_install(&cfg);
    fm_key_t k;
    fm_key_generate(&k);
    fm_keyring_set(&k, 1, k.kid);
    char *tok = make_token();
    if (!tok) {
        fprintf(stderr, "auth_bench: cannot sign\n");
        return 1;
    }
    char why[96];
    long n = 0;
    double t0 = fm_time_mono(), t;
    do {
        for (int i = 0; i < 200; i++) {
            cJSON *claims = NULL;
            if (fm_jwt_verify(tok, &claims, why, sizeof(why)) != FM_OK) {
                fprintf(stderr, "auth_bench: verify failed: %s\n", why);
                return 1;
            }
            cJSON_Delete(claims);
        }
        n += 200;
    } while ((t = fm_time_mono() - t0) < secs);
    double full = n / t;

    fm_principal_t p;
    n = 0;
    t0 = fm_time_mono();
    do {
        for (int i = 0; i < 2000; i++)
            if (fm_principal_from_token(tok, &p, why, sizeof(why)) != FM_OK)
                return 1;
        n += 2000;
    } while ((t = fm_time_mono() - t0) < secs);
    double cached = n / t;
    printf("token verification, full (Ed25519 + parse):   %10.0f /s  (%.1f us each)\n", full, 1e6 / full);
    printf("token check as the router does it (cached):   %10.0f /s  (%.2f us each)\n", cached, 1e6 / cached);
    free(tok);
    return 0;
}
