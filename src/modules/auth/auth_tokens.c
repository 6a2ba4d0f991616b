/*
 * auth_tokens.c — login, refresh, logout, validate and service-account token exchange.
 *
 * Access tokens are JWTs (auth/fm_auth.h) carrying the user's roles, the grants they
 * expand to and the user's groups, so any module authorizes locally; role and group
 * changes reach tokens at the next refresh (15 minutes by default). Refresh tokens are random strings stored as SHA-256
 * hashes, in families: each works once, and presenting a used one revokes the family
 * (a stolen token and its thief's successors die together).
 *
 * Login throttling is in memory, per account and per client IP: after
 * auth.login_free_failures failures each further one doubles the wait, up to
 * auth.login_max_delay_s; it clears on success or after that long without failures.
 */
#include "auth_module.h"

#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void auth_sha256_hex(const char *s, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, h, sizeof(h));
}

char *auth_access_token(fm_db_t *db, const auth_subject_t *s)
{
    const fm_config_t *c = fm_cfg();
    int64_t now = fm_time_unix_ms() / 1000;
    char jti[37];
    fm_uuid7(jti);
    cJSON *claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "sub", s->sub);
    cJSON_AddStringToObject(claims, "aud", FM_AUDIENCE);
    cJSON_AddNumberToObject(claims, "iat", (double)now);
    cJSON_AddNumberToObject(claims, "nbf", (double)now);
    cJSON_AddNumberToObject(claims, "exp", (double)(now + c->auth_access_ttl_s));
    cJSON_AddStringToObject(claims, "jti", jti);
    cJSON_AddStringToObject(claims, "typ", "access");
    cJSON_AddStringToObject(claims, "tenant", s->tenant);
    if (s->email && *s->email)
        cJSON_AddStringToObject(claims, "email", s->email);
    if (s->service && *s->service)
        cJSON_AddStringToObject(claims, "svc", s->service);
    cJSON_AddItemToObject(claims, "roles", cJSON_Duplicate(s->roles, 1));
    /* A person's groups (candidate groups of tasks), as of this token: a membership
     * change reaches the person's next token (login or refresh). */
    cJSON *groups = cJSON_CreateArray();
    if (!s->service && auth_user_groups(db, s->tenant, s->sub, groups) == FM_OK && cJSON_GetArraySize(groups))
        cJSON_AddItemToObject(claims, "groups", groups);
    else
        cJSON_Delete(groups);
    /* Built-in roles expand the same everywhere, so only tokens holding a custom role
     * carry their grants ("perms"): a typical token stays small, and every request
     * carries it in a header the server has to parse. */
    const cJSON *role;
    bool custom = false;
    cJSON_ArrayForEach(role, s->roles)
        custom = custom || (cJSON_IsString(role) && !fm_role_builtin(role->valuestring));
    if (custom) {
        cJSON *perms = cJSON_AddArrayToObject(claims, "perms");
        cJSON_ArrayForEach(role, s->roles)
            if (cJSON_IsString(role))
                auth_role_grants(db, s->tenant, role->valuestring, perms);
    }
    char *tok = fm_jwt_sign(claims);
    cJSON_Delete(claims);
    return tok;
}

int auth_refresh_issue(fm_dbc_t *w, const char *tenant, const char *user_id, const char *family, char out[64])
{
    unsigned char raw[32];
    char hash[65], fam[48], now[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, 64, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    auth_sha256_hex(out, hash);
    if (!family) {
        fm_id_random("fam", fam, sizeof(fam));
        family = fam;
    }
    fm_time_rfc3339(now);
    return fm_dbq_run(w, "INSERT INTO refresh_tokens(hash, tenant_id, user_id, family, expires_at, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", "ssssIs", hash, tenant, user_id, family,
                      fm_time_unix_ms() / 1000 + fm_cfg()->auth_refresh_ttl_s, now);
}

static int reply_tokens(fm_req_t *r, char *access, const char *refresh)
{
    if (!access)
        return fm_reply_problem(r, 503, NULL, NULL, NULL, "no signing key is available");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "accessToken", access);
    if (refresh)
        cJSON_AddStringToObject(o, "refreshToken", refresh);
    cJSON_AddNumberToObject(o, "expiresIn", fm_cfg()->auth_access_ttl_s);
    cJSON_AddStringToObject(o, "tokenType", "Bearer");
    free(access);
    return fm_reply_json(r, 200, o);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- throttling ---- */

#define THROTTLE_SLOTS 2048

/* Keys are "acct:<tenant ≤64>/<email ≤254>" (≤ 324 chars) or "ip:<address>". */

void auth_account_key(const char *tenant, const char *email, char *key, size_t len)
{
    /* the e-mail folded as the users.email column compares it (COLLATE NOCASE: ASCII
     * letters only), so every spelling that reaches one account shares one counter */
    snprintf(key, len, "acct:%s/%s", tenant, email);
    for (size_t i = strlen("acct:/") + strlen(tenant); i < len && key[i]; i++)
        if (key[i] >= 'A' && key[i] <= 'Z')
            key[i] = (char)(key[i] - 'A' + 'a');
}
static struct { char key[340]; int failures; int64_t last; } throttle[THROTTLE_SLOTS];
static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned slot_of(const char *key)
{
    unsigned h = 5381;
    for (; *key; key++)
        h = h * 33 + (unsigned char)*key;
    return h % THROTTLE_SLOTS;
}

bool auth_throttled(const char *key, int *retry_s)
{
    const fm_config_t *c = fm_cfg();
    int64_t now = fm_time_unix_ms();
    bool locked = false;
    pthread_mutex_lock(&throttle_lock);
    unsigned i = slot_of(key);
    if (!strcmp(throttle[i].key, key)) {
        int over = throttle[i].failures - c->auth_login_free_failures;
        if (now - throttle[i].last > (int64_t)c->auth_login_max_delay_s * 1000) {
            throttle[i].key[0] = 0;     /* cleared with time */
        } else if (over >= 0) {
            int64_t delay = over >= 20 ? c->auth_login_max_delay_s : (int64_t)1 << over;
            if (delay > c->auth_login_max_delay_s)
                delay = c->auth_login_max_delay_s;
            int64_t until = throttle[i].last + delay * 1000;
            if (now < until) {
                locked = true;
                *retry_s = (int)((until - now + 999) / 1000);
            }
        }
    }
    pthread_mutex_unlock(&throttle_lock);
    return locked;
}

void auth_throttle_fail(const char *key)
{
    pthread_mutex_lock(&throttle_lock);
    unsigned i = slot_of(key);
    if (strcmp(throttle[i].key, key)) {
        snprintf(throttle[i].key, sizeof(throttle[i].key), "%s", key);
        throttle[i].failures = 0;
    }
    throttle[i].failures++;
    throttle[i].last = fm_time_unix_ms();
    pthread_mutex_unlock(&throttle_lock);
}

void auth_throttle_clear(const char *key)
{
    pthread_mutex_lock(&throttle_lock);
    unsigned i = slot_of(key);
    if (!strcmp(throttle[i].key, key))
        throttle[i].key[0] = 0;
    pthread_mutex_unlock(&throttle_lock);
}

static int too_many(fm_req_t *r, int retry)
{
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", retry);
    fm_reply_header(r, "Retry-After", ra);
    return fm_reply_problem(r, 429, NULL, NULL, NULL, "too many failed logins; retry after %d s", retry);
}

/* ---- handlers ---- */

static char dummy_hash[FM_PASSWORD_HASH_MAX];

static void make_dummy(void)
{
    fm_password_hash("no such account", dummy_hash);
}

static const fm_field_t login_fields[] = {
    { "email", FM_F_STRING, true, 1, 254, NULL },
    { "password", FM_F_STRING, true, 1, 1024, NULL },
    { "tenant", FM_F_STRING, false, 1, 64, NULL },
};

int auth_login(fm_req_t *r)
{
    if (fm_req_check(r, login_fields, sizeof(login_fields) / sizeof(login_fields[0])))
        return FM_OK;
    fm_db_t *db = fm_req_mod(r)->db;
    const cJSON *j = fm_req_json(r);
    const char *email = str(j, "email"), *password = str(j, "password");
    const char *tenant = str(j, "tenant") ? str(j, "tenant") : AUTH_PLATFORM_TENANT;
    char acct[340], ip[80];
    auth_account_key(tenant, email, acct, sizeof(acct));
    snprintf(ip, sizeof(ip), "ip:%s", fm_req_client_ip(r));
    int retry = 0;
    if (auth_throttled(acct, &retry) || auth_throttled(ip, &retry))
        return too_many(r, retry);

    auth_user_t u;
    int rc = auth_user_by_email(db, tenant, email, &u);
    if (rc != FM_OK && rc != FM_ENOTFOUND)
        return rc;
    /* The same argon2id work whether or not the account exists: no timing oracle. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_dummy);
    bool ok = fm_password_verify(rc == FM_OK ? u.hash : dummy_hash, password) && rc == FM_OK &&
              !strcmp(u.status, "active");
    if (!ok) {
        auth_user_release(&u);
        auth_throttle_fail(acct);
        auth_throttle_fail(ip);
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "invalid email, password or tenant");
    }
    auth_throttle_clear(acct);
    char refresh[64];
    fm_dbc_t *w = fm_dbq_write_begin(db);
    rc = w ? fm_dbq_write_end(w, auth_refresh_issue(w, u.tenant, u.id, NULL, refresh)) : FM_EDB;
    if (rc != FM_OK) {
        auth_user_release(&u);
        return rc;
    }
    auth_subject_t s = { u.id, u.tenant, u.email, NULL, u.roles };
    char *access = auth_access_token(db, &s);
    auth_user_release(&u);
    return reply_tokens(r, access, refresh);
}

static const fm_field_t refresh_fields[] = { { "refreshToken", FM_F_STRING, true, 1, 256, NULL } };

/* A refresh token's row: whose it is, and whether it may be used (outcome 1), was used
 * or revoked already (3, reuse), or has expired (2). */
typedef struct { char tenant[72], user_id[48], family[48]; int outcome; } refresh_row_t;

static int refresh_row(const fm_dbrow_t *r, void *arg)
{
    refresh_row_t *x = arg;
    fm_dbrow_copy(r, 0, x->tenant, sizeof(x->tenant));
    fm_dbrow_copy(r, 1, x->user_id, sizeof(x->user_id));
    fm_dbrow_copy(r, 2, x->family, sizeof(x->family));
    bool used = fm_dbrow_int(r, 3), revoked = fm_dbrow_int(r, 4);
    bool expired = fm_dbrow_int(r, 5) < fm_time_unix_ms() / 1000;
    x->outcome = used || revoked ? 3 : expired ? 2 : 1;
    return FM_OK;
}

int auth_refresh(fm_req_t *r)
{
    if (fm_req_check(r, refresh_fields, 1))
        return FM_OK;
    fm_db_t *db = fm_req_mod(r)->db;
    char hash[65], fresh[64];
    auth_sha256_hex(str(fm_req_json(r), "refreshToken"), hash);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    refresh_row_t row = { "", "", "", 0 };
    const char *tenant = row.tenant, *user_id = row.user_id, *family = row.family;
    int rc = fm_dbq_one(w, "SELECT tenant_id, user_id, family, used, revoked, expires_at FROM refresh_tokens "
                           "WHERE hash = ?", refresh_row, &row, "s", hash);
    int outcome = rc == FM_ENOTFOUND ? 2 : row.outcome;    /* 1 ok, 2 unknown/expired, 3 reuse */
    if (rc == FM_ENOTFOUND)
        rc = FM_OK;
    if (rc == FM_OK && outcome == 3)
        rc = fm_dbq_run(w, "UPDATE refresh_tokens SET revoked = 1 WHERE family = ?", "s", family);
    else if (rc == FM_OK && outcome == 1)
        rc = fm_dbq_run(w, "UPDATE refresh_tokens SET used = 1 WHERE hash = ?", "s", hash);
    if (rc == FM_OK && outcome == 1)
        rc = auth_refresh_issue(w, tenant, user_id, family, fresh);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        return rc;
    if (outcome == 3) {
        fm_log_t l;
        fm_log_begin(&l, FM_LOG_WARN, "refresh token reused: session family revoked");
        fm_log_str(&l, "tenant", tenant);
        fm_log_str(&l, "user", user_id);
        fm_log_end(&l);
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "refresh token already used; the session is revoked");
    }
    if (outcome == 2)
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "unknown or expired refresh token");
    auth_user_t u;
    rc = auth_user_by_id(db, tenant, user_id, &u);
    if (rc != FM_OK || strcmp(u.status, "active")) {
        auth_user_release(&u);
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "the account is no longer active");
    }
    auth_subject_t s = { u.id, u.tenant, u.email, NULL, u.roles };
    char *access = auth_access_token(db, &s);
    auth_user_release(&u);
    return reply_tokens(r, access, fresh);
}

int auth_logout(fm_req_t *r)
{
    if (fm_req_check(r, refresh_fields, 1))
        return FM_OK;
    const fm_principal_t *p = fm_req_principal(r);
    fm_db_t *db = fm_req_mod(r)->db;
    char hash[65];
    auth_sha256_hex(str(fm_req_json(r), "refreshToken"), hash);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    /* Only the caller's own sessions: someone else's token is "not found". */
    int rc = fm_dbq_run(w, "UPDATE refresh_tokens SET revoked = 1 WHERE family = "
                           "(SELECT family FROM refresh_tokens WHERE hash = ? AND tenant_id = ? AND user_id = ?)",
                        "sss", hash, p->tenant, p->sub);
    bool none = rc == FM_OK && fm_dbq_changes(w) == 0;
    if (fm_dbq_write_end(w, rc) != FM_OK)
        return FM_EDB;
    if (none)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no session of yours with this refresh token");
    return fm_reply_status(r, 204);
}

int auth_validate(fm_req_t *r)
{
    const char *h = fm_req_header(r, "Authorization");
    cJSON *claims = NULL;
    char why[96];
    if (!h || fm_jwt_verify(h + 7, &claims, why, sizeof(why)) != FM_OK)
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "invalid token");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "active", true);
    cJSON_AddItemToObject(o, "claims", claims);
    return fm_reply_json(r, 200, o);
}

typedef struct { fm_db_t *db; char *access; } exchange_t;

/* A service account's row: its access token (x->access, NULL when no key signs). */
static int exchange_row(const fm_dbrow_t *r, void *arg)
{
    exchange_t *x = arg;
    char sub[128];
    snprintf(sub, sizeof(sub), "svc:%s", fm_dbrow_str(r, 1));
    cJSON *roles = fm_dbrow_json(r, 2);
    auth_subject_t s = { sub, fm_dbrow_str(r, 0), NULL, fm_dbrow_str(r, 1), roles };
    x->access = auth_access_token(x->db, &s);
    cJSON_Delete(roles);
    return FM_OK;
}

static const fm_field_t exchange_fields[] = { { "apiKey", FM_F_STRING, true, 16, 256, NULL } };

int auth_token_exchange(fm_req_t *r)
{
    if (fm_req_check(r, exchange_fields, 1))
        return FM_OK;
    char ip[80];
    snprintf(ip, sizeof(ip), "ip:%s", fm_req_client_ip(r));
    int retry = 0;
    if (auth_throttled(ip, &retry))
        return too_many(r, retry);
    fm_db_t *db = fm_req_mod(r)->db;
    char hash[65];
    auth_sha256_hex(str(fm_req_json(r), "apiKey"), hash);
    exchange_t x = { db, NULL };
    int rc = fm_dbq_read_one(db, "SELECT tenant_id, name, roles FROM service_accounts WHERE key_hash = ?",
                             exchange_row, &x, "s", hash);
    if (rc != FM_OK && rc != FM_ENOTFOUND)
        return rc;
    bool found = rc == FM_OK;
    char *access = x.access;
    if (!found) {
        auth_throttle_fail(ip);
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "unknown API key");
    }
    return reply_tokens(r, access, NULL);
}
