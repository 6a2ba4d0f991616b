/*
 * auth_keys.c — signing keys and the first start.
 *
 * Keys live in the auth database; the newest signs, older ones keep verifying until
 * every token they signed has expired (not_after = rotation time + access TTL +
 * leeway), then drop out of the ring and of the JWKS. A token naming a kid the ring
 * lacks makes the ring reload at once when the database holds that kid (a key
 * `flowmaster keys rotate` added from another process: the tokens `flowmaster token`
 * then signs verify immediately); those look-ups are rate-limited, and a loop timer
 * also reloads every few seconds (expired keys drop out, the new one starts signing).
 */
#include "auth_module.h"

#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "../../fm_server.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELOAD_MS 5000
#define KID_LOOKUP_GAP_MS 20    /* at most ~50 database look-ups of unknown kids a second */

static fm_db_t *_Atomic kid_db;     /* the running server's auth database, for the hook */
static _Atomic int64_t kid_last_ms;

typedef struct { fm_key_t keys[16]; size_t n; char active[64]; } ring_t;

/* A key row; one whose key blobs are not 32 and 64 bytes is skipped. */
static int key_row(const fm_dbrow_t *r, void *arg)
{
    ring_t *g = arg;
    size_t npk = 0, nsk = 0;
    const void *pk = fm_dbrow_blob(r, 1, &npk), *sk = fm_dbrow_blob(r, 2, &nsk);
    if (g->n == 16 || npk != 32 || nsk != 64)
        return FM_OK;
    fm_key_t *k = &g->keys[g->n++];
    memset(k, 0, sizeof(*k));
    fm_dbrow_copy(r, 0, k->kid, sizeof(k->kid));
    memcpy(k->pk, pk, 32);
    memcpy(k->sk, sk, 64);
    k->has_sk = true;
    k->not_after = fm_dbrow_int(r, 3);     /* 0 for NULL: still signing */
    if (!g->active[0] && !k->not_after)
        memcpy(g->active, k->kid, sizeof(g->active));
    return FM_OK;
}

int auth_keys_load(fm_db_t *db)
{
    ring_t g;
    g.n = 0;
    g.active[0] = 0;
    int64_t now = fm_time_unix_ms() / 1000;
    /* Newest first: it signs. */
    int rc = fm_dbq_read_each(db, "SELECT kid, public_key, secret_key, not_after FROM signing_keys "
                                  "WHERE not_after IS NULL OR not_after >= ? ORDER BY created_at DESC, rowid DESC "
                                  "LIMIT 16", key_row, &g, "I", now);
    if (rc == FM_OK)
        rc = fm_keyring_set(g.keys, g.n, g.active[0] ? g.active : NULL);
    sodium_memzero(&g, sizeof(g));
    return rc;
}

int auth_keys_rotate(fm_db_t *db, char kid_out[64])
{
    fm_key_t k;
    fm_key_generate(&k);
    int64_t now = fm_time_unix_ms() / 1000;
    const fm_config_t *c = fm_cfg();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "UPDATE signing_keys SET not_after = ? WHERE not_after IS NULL", "I",
                        now + c->auth_access_ttl_s + c->auth_leeway_s);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO signing_keys(kid, public_key, secret_key, created_at) VALUES (?, ?, ?, ?)",
                        "sbbI", k.kid, k.pk, (size_t)32, k.sk, (size_t)64, now);
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_OK && kid_out)
        snprintf(kid_out, 64, "%s", k.kid);
    sodium_memzero(&k, sizeof(k));
    return rc == FM_OK ? auth_keys_load(db) : rc;
}

static bool have_key(fm_db_t *db)
{
    return fm_dbq_read_one(db, "SELECT 1 FROM signing_keys WHERE not_after IS NULL", NULL, NULL, "") == FM_OK;
}

/* Loop thread, once every port is bound (fm_on_bound): a start that fails on a taken
 * port must not have created an administrator whose password nobody saw. */
static int first_admin(fm_mod_t *m)
{
    const fm_config_t *c = fm_cfg();
    int rc = auth_tenant_exists(m->db, AUTH_PLATFORM_TENANT);
    if (rc != FM_ENOTFOUND) {
        fm_banner_admin(c->auth_admin_email, NULL);
        return rc;
    }
    char generated[33] = "";
    const char *password = c->auth_admin_password;
    if (!*password) {
        unsigned char raw[18];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(generated, sizeof(generated), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        password = generated;
    }
    cJSON *roles = cJSON_CreateArray();
    cJSON_AddItemToArray(roles, cJSON_CreateString("admin"));
    rc = auth_user_create(m->db, AUTH_PLATFORM_TENANT, c->auth_admin_email, "Administrator", password, roles,
                          true, NULL);
    cJSON_Delete(roles);
    if (rc == FM_OK) {
        fm_log_t l;
        fm_log_begin(&l, *generated ? FM_LOG_WARN : FM_LOG_INFO, "bootstrap: tenant 'default' and its admin created");
        fm_log_str(&l, "email", c->auth_admin_email);
        if (*generated)     /* shown once, here and in the summary: stored only as an argon2id hash */
            fm_log_str(&l, "password", generated);
        fm_log_end(&l);
        fm_banner_admin(c->auth_admin_email, *generated ? generated : NULL);
    }
    sodium_memzero(generated, sizeof(generated));
    return rc;
}

int auth_bootstrap(fm_db_t *db)
{
    const fm_config_t *c = fm_cfg();
    if (*c->auth_admin_password && (int)strlen(c->auth_admin_password) < c->auth_password_min_length) {
        fm_log_msg(FM_LOG_ERROR, "auth.admin_password is shorter than auth.password_min_length", NULL);
        return FM_EINVAL;
    }
    if (!have_key(db) && auth_keys_rotate(db, NULL) != FM_OK)
        return FM_EDB;
    return auth_keys_load(db);
}

/* Any thread (fm_keyring_on_unknown_kid): reloads the ring when the database holds kid.
 * Garbage kids cost one primary-key look-up each, and no more than one per
 * KID_LOOKUP_GAP_MS across the process. */
static bool unknown_kid(const char *kid)
{
    fm_db_t *db = atomic_load(&kid_db);
    int64_t now = fm_time_unix_ms(), last = atomic_load(&kid_last_ms);
    if (!db || strlen(kid) >= 64 || now - last < KID_LOOKUP_GAP_MS ||
        !atomic_compare_exchange_strong(&kid_last_ms, &last, now))
        return false;
    bool known = fm_dbq_read_one(db, "SELECT 1 FROM signing_keys WHERE kid = ? AND "
                                     "(not_after IS NULL OR not_after >= ?)", NULL, NULL, "sI", kid, now / 1000) == FM_OK;
    return known && auth_keys_load(db) == FM_OK;
}

static void reload(void *arg)
{
    fm_mod_t *m = arg;
    auth_keys_load(m->db);
}

int auth_keys_start(fm_mod_t *m)
{
    int rc = auth_bootstrap(m->db);
    if (rc == FM_OK)
        rc = fm_on_bound(first_admin, m);
    if (rc != FM_OK)
        return rc;
    m->state = fm_timer_start(RELOAD_MS, RELOAD_MS, reload, m);
    if (!m->state)
        return FM_ENOMEM;
    atomic_store(&kid_db, m->db);
    fm_keyring_on_unknown_kid(unknown_kid);
    return FM_OK;
}

void auth_keys_stop(fm_mod_t *m)
{
    fm_keyring_on_unknown_kid(NULL);
    atomic_store(&kid_db, NULL);
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
