/*
 * auth_keys.c — signing keys and the first start.
 *
 * Keys live in the auth database; the newest signs, older ones keep verifying until
 * every token they signed has expired (not_after = rotation time + access TTL +
 * leeway), then drop out of the ring and of the JWKS. A loop timer reloads the ring
 * every few seconds, so `flowmaster keys rotate` on a running server takes effect
 * without a restart.
 */
#include "auth_module.h"

#include "../../fm_config.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELOAD_MS 5000

int auth_keys_load(fm_db_t *db)
{
    fm_key_t keys[16];
    size_t n = 0;
    char active[64] = "";
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int64_t now = fm_time_unix_ms() / 1000;
    int rc = FM_EDB;
    /* Newest first: it signs. */
    if (sqlite3_prepare_v2(c, "SELECT kid, public_key, secret_key, not_after FROM signing_keys "
                              "WHERE not_after IS NULL OR not_after >= ? ORDER BY created_at DESC, rowid DESC LIMIT 16",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now);
        while (sqlite3_step(st) == SQLITE_ROW && n < 16) {
            fm_key_t *k = &keys[n];
            memset(k, 0, sizeof(*k));
            snprintf(k->kid, sizeof(k->kid), "%s", sqlite3_column_text(st, 0));
            if (sqlite3_column_bytes(st, 1) != 32 || sqlite3_column_bytes(st, 2) != 64)
                continue;
            memcpy(k->pk, sqlite3_column_blob(st, 1), 32);
            memcpy(k->sk, sqlite3_column_blob(st, 2), 64);
            k->has_sk = true;
            k->not_after = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
            if (!active[0] && !k->not_after)
                memcpy(active, k->kid, sizeof(active));
            n++;
        }
        rc = FM_OK;
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    if (rc == FM_OK)
        rc = fm_keyring_set(keys, n, active[0] ? active : NULL);
    sodium_memzero(keys, sizeof(keys));
    return rc;
}

int auth_keys_rotate(fm_db_t *db, char kid_out[64])
{
    fm_key_t k;
    fm_key_generate(&k);
    int64_t now = fm_time_unix_ms() / 1000;
    const fm_config_t *c = fm_cfg();
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "UPDATE signing_keys SET not_after = ? WHERE not_after IS NULL", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now + c->auth_access_ttl_s + c->auth_leeway_s);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == FM_OK && sqlite3_prepare_v2(w, "INSERT INTO signing_keys(kid, public_key, secret_key, created_at) "
                                             "VALUES (?, ?, ?, ?)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, k.kid, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, k.pk, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, k.sk, 64, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc == FM_OK && kid_out)
        snprintf(kid_out, 64, "%s", k.kid);
    sodium_memzero(&k, sizeof(k));
    return rc == FM_OK ? auth_keys_load(db) : rc;
}

static bool have_key(fm_db_t *db)
{
    sqlite3 *c = fm_db_reader(db);
    bool yes = false;
    sqlite3_stmt *st = NULL;
    if (c && sqlite3_prepare_v2(c, "SELECT 1 FROM signing_keys WHERE not_after IS NULL", -1, &st, NULL) == SQLITE_OK)
        yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return yes;
}

int auth_bootstrap(fm_db_t *db)
{
    const fm_config_t *c = fm_cfg();
    if (!have_key(db) && auth_keys_rotate(db, NULL) != FM_OK)
        return FM_EDB;
    if (auth_tenant_exists(db, AUTH_PLATFORM_TENANT) != FM_ENOTFOUND)
        return auth_keys_load(db);
    char generated[33] = "";
    const char *password = c->auth_admin_password;
    if (!*password) {
        unsigned char raw[18];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(generated, sizeof(generated), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        password = generated;
    } else if ((int)strlen(password) < c->auth_password_min_length) {
        fm_log_msg(FM_LOG_ERROR, "auth.admin_password is shorter than auth.password_min_length", NULL);
        return FM_EINVAL;
    }
    cJSON *roles = cJSON_CreateArray();
    cJSON_AddItemToArray(roles, cJSON_CreateString("admin"));
    int rc = auth_user_create(db, AUTH_PLATFORM_TENANT, c->auth_admin_email, "Administrator", password, roles,
                              true, NULL);
    cJSON_Delete(roles);
    if (rc != FM_OK)
        return rc;
    fm_log_t l;
    fm_log_begin(&l, *generated ? FM_LOG_WARN : FM_LOG_INFO, "bootstrap: tenant 'default' and its admin created");
    fm_log_str(&l, "email", c->auth_admin_email);
    if (*generated)     /* shown once, here: it is stored only as an argon2id hash */
        fm_log_str(&l, "password", generated);
    fm_log_end(&l);
    sodium_memzero(generated, sizeof(generated));
    return auth_keys_load(db);
}

static void reload(void *arg)
{
    fm_mod_t *m = arg;
    auth_keys_load(m->db);
}

int auth_keys_start(fm_mod_t *m)
{
    int rc = auth_bootstrap(m->db);
    if (rc != FM_OK)
        return rc;
    m->state = fm_timer_start(RELOAD_MS, RELOAD_MS, reload, m);
    return m->state ? FM_OK : FM_ENOMEM;
}

void auth_keys_stop(fm_mod_t *m)
{
    fm_timer_stop(m->state);
    m->state = NULL;
}

int auth_keys_rotate_route(fm_req_t *r)
{
    if (strcmp(fm_req_tenant(r), AUTH_PLATFORM_TENANT))
        return fm_reply_problem(r, 403, NULL, NULL, NULL, "only platform administrators rotate keys");
    char kid[64];
    int rc = auth_keys_rotate(fm_req_mod(r)->db, kid);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kid", kid);
    return fm_reply_json(r, 200, o);
}
