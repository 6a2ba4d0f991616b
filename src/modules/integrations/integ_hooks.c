/*
 * integ_hooks.c — the public POST /hooks/{id} on 9015. A delivery is authenticated by
 * its verification (HMAC-SHA256 of the raw body in the GitHub or Stripe style or a
 * named header, or a static token), refused as a replay when its delivery key was
 * seen (or a Stripe timestamp is outside the window), then runs the webhook's action
 * for the webhook's tenant: start a process, correlate a message (both through the
 * Execution Engine's routes, fm_call_system) or publish an event. Every delivery is
 * logged with its headers, outcome and what it started.
 */
#include "integ_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_json_check.h"
#include "../../fm_log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

/* hex of HMAC-SHA256(secret, a || b) */
static void hmac_hex(const char *secret, const char *a, size_t alen, const char *b, size_t blen,
                     char hex[crypto_auth_hmacsha256_BYTES * 2 + 1])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    if (alen)
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, alen);
    if (blen)
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, blen);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, crypto_auth_hmacsha256_BYTES * 2 + 1, mac, sizeof(mac));
}

static bool same_text(const char *a, const char *b, size_t n)
{
    return strlen(a) == n && sodium_memcmp(a, b, n) == 0;
}

typedef enum { V_OK, V_BAD, V_STALE } verdict_t;

/* Checks the delivery; key gets its replay key. */
static verdict_t verify(fm_req_t *r, const integ_rec_t *h, const char *body, size_t len, char *key, size_t kl,
                        char *why, size_t wl)
{
    const cJSON *v = cJSON_GetObjectItem(h->config, "verification");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(v, "type"));
    const char *secret = cJSON_GetStringValue(cJSON_GetObjectItem(h->secrets, "verification.secret"));
    const char *hdr = cJSON_GetStringValue(cJSON_GetObjectItem(v, "header"));
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    if (!strcmp(type, "token")) {
        const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(h->secrets, "verification.token"));
        const char *got = fm_req_header(r, hdr ? hdr : "X-Webhook-Token");
        if (!got || !tok || !same_text(got, tok, strlen(tok))) {
            snprintf(why, wl, "the %s header is missing or wrong", hdr ? hdr : "X-Webhook-Token");
            return V_BAD;
        }
        key[0] = 0;
        return V_OK;
    }
    if (!secret)
        return snprintf(why, wl, "no secret is stored"), V_BAD;
    if (!strcmp(type, "github") || !strcmp(type, "hmac")) {
        const char *name = !strcmp(type, "github") ? "X-Hub-Signature-256" : hdr ? hdr : "X-Signature";
        const char *got = fm_req_header(r, name);
        if (got && !strncasecmp(got, "sha256=", 7))
            got += 7;
        hmac_hex(secret, body, len, NULL, 0, hex);
        if (!got || !same_text(got, hex, strlen(hex))) {
            snprintf(why, wl, "the %s signature is missing or does not match the body", name);
            return V_BAD;
        }
        snprintf(key, kl, "sig:%s", hex);
        return V_OK;
    }
    /* Stripe: "t=1700000000,v1=hex[,v1=hex…]" over "<t>.<body>", within the tolerance */
    const char *sig = fm_req_header(r, "Stripe-Signature");
    char t[24] = "";
    bool match = false;
    for (const char *p = sig; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 2 && !strncmp(p, "t=", 2) && n - 2 < sizeof(t)) {
            memcpy(t, p + 2, n - 2);
            t[n - 2] = 0;
        }
        p = end ? end + 1 : NULL;
    }
    if (t[0] && strspn(t, "0123456789") == strlen(t)) {
        crypto_auth_hmacsha256_state st;
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        if (len)
            crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
        for (const char *p = sig; p && *p && !match;) {
            const char *end = strchr(p, ',');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n == 3 + 64 && !strncmp(p, "v1=", 3))
                match = sodium_memcmp(p + 3, hex, 64) == 0;
            p = end ? end + 1 : NULL;
        }
    }
    if (!match) {
        snprintf(why, wl, "the Stripe-Signature header is missing or does not match the body");
        return V_BAD;
    }
    long tol = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(v, "toleranceSeconds"));
    if (tol <= 0)
        tol = 300;
    long long age = fm_time_unix_ms() / 1000 - atoll(t);
    snprintf(key, kl, "stripe:%s:%s", t, hex);
    if (age > tol || age < -tol) {
        snprintf(why, wl, "the signature timestamp is %lld s away from now; the window is %ld s", age, tol);
        return V_STALE;
    }
    return V_OK;
}

static const char *const logged_headers[] = { "Content-Type", "User-Agent", "X-GitHub-Event", "X-GitHub-Delivery",
                                              "X-Hub-Signature-256", "Stripe-Signature", NULL };

static cJSON *hook_headers(fm_req_t *r, const integ_rec_t *h, bool for_log)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *v = cJSON_GetObjectItem(h->config, "verification");
    const char *extra[] = { cJSON_GetStringValue(cJSON_GetObjectItem(h->config, "deliveryIdHeader")),
                            cJSON_GetStringValue(cJSON_GetObjectItem(v, "header")) };
    bool token = !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(v, "type")), "token");
    for (int i = 0; i < 8; i++) {
        const char *name = i < 6 ? logged_headers[i] : extra[i - 6];
        if (!name)
            continue;
        char lower[128];
        size_t n = 0;
        for (; name[n] && n < sizeof(lower) - 1; n++)
            lower[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
        lower[n] = 0;
        const char *val = fm_req_header(r, name);
        if (!val || cJSON_GetObjectItem(o, lower))
            continue;
        bool is_token = token && i == 7;
        cJSON_AddStringToObject(o, lower, is_token && for_log ? "***" : val);
    }
    return o;
}

static int log_delivery(fm_req_t *r, const integ_rec_t *h, const char *outcome, int status, const char *detail,
                        cJSON *started, const char *body, size_t len, char *id, size_t il)
{
    char now[32];
    fm_time_rfc3339(now);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "at", now);
    cJSON_AddStringToObject(e, "outcome", outcome);
    cJSON_AddNumberToObject(e, "status", status);
    if (detail)
        cJSON_AddStringToObject(e, "detail", detail);
    cJSON_AddItemToObject(e, "headers", hook_headers(r, h, true));
    cJSON_AddItemToObject(e, "started", started ? cJSON_Duplicate(started, true) : cJSON_CreateNull());
    size_t keep = (size_t)fm_cfg()->integrations_log_body_bytes;
    char *cut = malloc((len < keep ? len : keep) + 1);
    if (cut) {
        size_t n = len < keep ? len : keep;
        memcpy(cut, body, n);
        cut[n] = 0;
        /* a JSON string only when the cut is UTF-8 without NUL */
        cJSON *s = cJSON_CreateString(cut);
        char *txt = cJSON_PrintUnformatted(s);
        fm_json_err_t je;
        bool ok = txt && strlen(cut) == n && fm_json_check(txt, strlen(txt), 1, &je) == FM_JSON_OK;
        cJSON_AddItemToObject(e, "body", ok ? s : cJSON_CreateString("(not UTF-8 text)"));
        if (!ok)
            cJSON_Delete(s);
        cJSON_free(txt);
        free(cut);
    }
    char *txt = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (!txt)
        return FM_ENOMEM;
    integ_redact(h, txt);
    e = cJSON_Parse(txt);
    cJSON_free(txt);
    int rc = e ? integ_log_add(db_of(r), h->tenant, h->id, e) : FM_ENOMEM;
    if (rc == FM_OK && id)
        snprintf(id, il, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")));
    cJSON_Delete(e);
    return rc;
}

/* The action; *started gets what it did, or why gets the reason and *status the code to answer. */
static int act(const integ_rec_t *h, const cJSON *vars, const char *payload_json, const char *idem,
               cJSON **started, int *status, char *why, size_t wl)
{
    const cJSON *a = cJSON_GetObjectItem(h->config, "action");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(a, "type"));
    if (!strcmp(type, "publishEvent")) {
        const char *et = cJSON_GetStringValue(cJSON_GetObjectItem(a, "eventType"));
        int rc = bus_publish(INTEG_SOURCE, et, h->id, h->tenant, payload_json);
        if (rc != FM_OK) {
            *status = 503;
            snprintf(why, wl, "the event bus is full; try again");
            return rc;
        }
        *started = cJSON_CreateObject();
        cJSON_AddStringToObject(*started, "eventType", et);
        return FM_OK;
    }
    cJSON *body = cJSON_CreateObject();
    cJSON *out = cJSON_AddObjectToObject(body, "variables");
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(a, "variables"))
    {
        cJSON *v = NULL;
        if (integ_feel(x->valuestring, vars, &v, why, wl) != FM_OK) {
            cJSON_Delete(body);
            *status = 422;
            return FM_EINVAL;
        }
        cJSON_AddItemToObject(out, x->string, v);
    }
    const char *path = "/executions";
    if (!strcmp(type, "startProcess")) {
        cJSON_AddStringToObject(body, "processId", cJSON_GetStringValue(cJSON_GetObjectItem(a, "processId")));
        const char *bk = cJSON_GetStringValue(cJSON_GetObjectItem(a, "businessKey"));
        cJSON *v = NULL;
        if (bk && integ_feel(bk, vars, &v, why, wl) != FM_OK) {
            cJSON_Delete(body);
            *status = 422;
            return FM_EINVAL;
        }
        if (cJSON_IsString(v))
            cJSON_AddStringToObject(body, "businessKey", v->valuestring);
        cJSON_Delete(v);
    } else {
        path = "/messages";
        cJSON_AddStringToObject(body, "name", cJSON_GetStringValue(cJSON_GetObjectItem(a, "messageName")));
        cJSON *k = NULL;
        if (integ_feel(cJSON_GetStringValue(cJSON_GetObjectItem(a, "correlationKey")), vars, &k, why, wl) != FM_OK) {
            cJSON_Delete(body);
            *status = 422;
            return FM_EINVAL;
        }
        cJSON_AddItemToObject(body, "correlationKey", k);
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text)
        return FM_ENOMEM;
    char *resp = NULL;
    const char *hdrs[] = { "Idempotency-Key", idem, NULL };
    int st = 0;
    int rc = fm_call_system_h(h->tenant, FM_POST, path, text, idem[0] && path[1] == 'e' ? hdrs : NULL, &st, &resp);
    cJSON_free(text);
    cJSON *j = resp ? cJSON_Parse(resp) : NULL;
    free(resp);
    if (rc != FM_OK || st < 200 || st >= 300) {
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(j, "detail"));
        snprintf(why, wl, "%s answered %d: %s", path, st, d ? d : "no detail");
        *status = st >= 500 || st == 0 ? 502 : 422;
        cJSON_Delete(j);
        return FM_EINVAL;
    }
    *started = cJSON_CreateObject();
    if (path[1] == 'e') {
        cJSON_AddStringToObject(*started, "executionId", cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")) ?: "");
        const char *pid = cJSON_GetStringValue(cJSON_GetObjectItem(j, "processId"));
        if (pid)
            cJSON_AddStringToObject(*started, "processId", pid);
    } else {
        cJSON_AddItemToObject(*started, "correlation", j);
        j = NULL;
    }
    cJSON_Delete(j);
    return FM_OK;
}

int integ_hook_receive(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    integ_rec_t h;
    int rc = integ_get(db_of(r), INTEG_WEBHOOK, NULL, id, &h);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no webhook '%s'", id);
    if (rc != FM_OK)
        return rc;
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    if (!body)
        body = "";
    char key[300] = "", why[400] = "", log_id[40] = "";
    verdict_t vd = verify(r, &h, body, len, key, sizeof(key), why, sizeof(why));
    if (vd == V_BAD) {
        log_delivery(r, &h, "unauthorized", 401, why, NULL, body, len, NULL, 0);
        integ_rec_clear(&h);
        return fm_reply_problem(r, 401, NULL, NULL, NULL, "the delivery is not verified: %s", why);
    }
    /* a delivery id header names the delivery when there is one */
    const cJSON *v = cJSON_GetObjectItem(h.config, "verification");
    const char *idh = cJSON_GetStringValue(cJSON_GetObjectItem(h.config, "deliveryIdHeader"));
    if (!idh && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(v, "type")), "github"))
        idh = "X-GitHub-Delivery";
    const char *did = idh ? fm_req_header(r, idh) : NULL;
    if (did && strlen(did) <= 200)
        snprintf(key, sizeof(key), "id:%s", did);
    if (vd == V_STALE || (key[0] && (rc = integ_seen_add(db_of(r), h.id, key)) == FM_ECONFLICT)) {
        if (vd != V_STALE)
            snprintf(why, sizeof(why), "this delivery was received before");
        log_delivery(r, &h, "replay", 409, why, NULL, body, len, NULL, 0);
        integ_rec_clear(&h);
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "replayed delivery refused: %s", why);
    }
    if (key[0] && rc != FM_OK) {
        integ_rec_clear(&h);
        return rc;
    }
    /* the payload: JSON when it is JSON, else the text */
    fm_json_err_t je;
    cJSON *payload = NULL;
    if (len && fm_json_check(body, len, FM_JSON_MAX_DEPTH, &je) == FM_JSON_OK)
        payload = cJSON_ParseWithLength(body, len);
    char *payload_json = payload ? cJSON_PrintUnformatted(payload) : NULL;
    cJSON *vars = cJSON_CreateObject();
    cJSON_AddItemToObject(vars, "request", payload ? payload : cJSON_CreateNull());
    cJSON_AddItemToObject(vars, "headers", hook_headers(r, &h, false));
    cJSON *started = NULL;
    int status = 202;
    char idem[80] = "";
    if (key[0]) {
        unsigned char d[16];
        char hex[33];
        crypto_generichash(d, sizeof(d), (const unsigned char *)key, strlen(key), NULL, 0);
        sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
        snprintf(idem, sizeof(idem), "hook-%s-%s", h.id, hex);
    }
    rc = act(&h, vars, payload_json, idem, &started, &status, why, sizeof(why));
    cJSON_Delete(vars);
    cJSON_free(payload_json);
    if (rc != FM_OK) {
        if (key[0])
            integ_seen_drop(db_of(r), h.id, key);   /* the sender may deliver it again */
        log_delivery(r, &h, "failed", status ? status : 500, why, NULL, body, len, NULL, 0);
        integ_rec_clear(&h);
        if (!why[0])
            return rc;
        return fm_reply_problem(r, status ? status : 500, NULL, status == 502 ? "Bad Gateway" : NULL, NULL,
                                "the webhook's action failed: %s", why);
    }
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(h.config, "action"), "type"));
    const char *outcome = !strcmp(type, "startProcess") ? "started"
                          : !strcmp(type, "correlateMessage") ? "correlated" : "published";
    log_delivery(r, &h, outcome, 202, NULL, started, body, len, log_id, sizeof(log_id));
    integ_rec_clear(&h);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "deliveryId", log_id);
    cJSON_AddStringToObject(o, "outcome", outcome);
    cJSON_AddItemToObject(o, "started", started);
    return fm_reply_json(r, 202, o);
}
