/*
 * integ_call.c — one call through a stored connector. The request goes out on the
 * libuv loop through fm_fetch (libcurl multi-socket); the worker thread that handles
 * the HTTP request waits on a condition variable for the loop's answer (no polling).
 * Here: auth (basic, bearer, API key in a header or the query, OAuth 2.0 client
 * credentials with a token cache and one refresh after a 401), default headers,
 * timeouts, retries with back-off, TLS options, redirects, the size limit, the
 * private-address policy, and the call log with secrets redacted.
 */
#include "integ_int.h"

#include "../../fm_buf.h"
#include "../../fm_config.h"
#include "../../fm_fetch.h"
#include "../../fm_log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_HEADERS 64

/* ---- waiting for the loop ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    long status;
    char *body, *headers;
    size_t len, hlen;
    char error[300];
    bool too_big, refused;
    double seconds;
} waiter_t;

static char *copy_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static void on_done(const fm_fetch_result_t *res, void *arg)
{
    waiter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->status = res->status;
    w->body = copy_n(res->body ? res->body : "", res->len);
    w->len = res->len;
    w->headers = copy_n(res->headers ? res->headers : "", res->headers_len);
    w->hlen = res->headers_len;
    if (res->error)
        snprintf(w->error, sizeof(w->error), "%s", res->error);
    w->too_big = res->too_big;
    w->refused = res->refused_address;
    w->seconds = res->seconds;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* fm_fetch and wait; w is filled (caller frees w->body, w->headers). */
static int fetch_wait(const fm_fetch_req_t *req, waiter_t *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = fm_fetch(req, on_done, w);
    if (rc == FM_OK) {
        pthread_mutex_lock(&w->mu);
        while (!w->done)
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    } else {
        snprintf(w->error, sizeof(w->error), "the request could not be started");
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return rc;
}

/* ---- the connector's settings ---- */

static const cJSON *obj(const integ_rec_t *c, const char *name)
{
    return cJSON_GetObjectItem(c->config, name);
}

static const char *str_in(const cJSON *o, const char *name, const char *def)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    return s ? s : def;
}

static long num_in(const cJSON *o, const char *name, long def)
{
    const cJSON *n = cJSON_GetObjectItem(o, name);
    return cJSON_IsNumber(n) ? (long)n->valuedouble : def;
}

static const char *secret(const integ_rec_t *c, const char *name)
{
    return str_in(c->secrets, name, "");
}

bool integ_private_allowed(const char *tenant)
{
    return fm_cfg()->integrations_allow_private || !strcmp(tenant, INTEG_OPERATOR_TENANT);
}

static void base_req(const integ_rec_t *c, fm_fetch_req_t *q)
{
    const cJSON *t = obj(c, "timeouts"), *tls = obj(c, "tls");
    q->timeout_ms = num_in(t, "totalMs", 30000);
    q->connect_timeout_ms = num_in(t, "connectMs", 10000);
    q->max_response = (size_t)num_in(c->config, "maxResponseBytes", 1 << 20);
    q->max_redirects = cJSON_IsTrue(obj(c, "followRedirects")) ? 5 : 0;
    q->tls_insecure = cJSON_IsFalse(cJSON_GetObjectItem(tls, "verify"));
    q->ca_file = str_in(tls, "caFile", NULL);
    q->no_private = !integ_private_allowed(c->tenant);
}

void integ_redact(const integ_rec_t *c, char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, c->secrets)
    {
        const char *v = cJSON_GetStringValue(x);
        size_t n = v ? strlen(v) : 0;
        if (n < 3)
            continue;
        for (char *p = strstr(s, v); p; p = strstr(p + 3, v)) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }
}

/* ---- OAuth 2.0 client credentials: a small cache keyed by connector id + version ---- */

#define TOKENS 128
typedef struct tok {
    char key[64];
    char *token;
    int64_t expires_ms;
} tok_t;
static tok_t tokens[TOKENS];
static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;

static void tok_key(const integ_rec_t *c, char *k, size_t n)
{
    snprintf(k, n, "%s.v%d", c->id, c->version);
}

static char *tok_get(const integ_rec_t *c)
{
    char k[64];
    tok_key(c, k, sizeof(k));
    char *out = NULL;
    pthread_mutex_lock(&tok_mu);
    for (int i = 0; i < TOKENS; i++)
        if (tokens[i].token && !strcmp(tokens[i].key, k) && tokens[i].expires_ms > fm_time_unix_ms())
            out = strdup(tokens[i].token);
    pthread_mutex_unlock(&tok_mu);
    return out;
}

static void tok_put(const integ_rec_t *c, const char *token, int64_t expires_ms)
{
    char k[64];
    tok_key(c, k, sizeof(k));
    pthread_mutex_lock(&tok_mu);
    int slot = 0;
    for (int i = 0; i < TOKENS; i++) {
        if (!strcmp(tokens[i].key, k) || !tokens[i].token) {
            slot = i;
            break;
        }
        if (tokens[i].expires_ms < tokens[slot].expires_ms)
            slot = i;   /* else the one that expires first makes room */
    }
    free(tokens[slot].token);
    snprintf(tokens[slot].key, sizeof(tokens[slot].key), "%s", k);
    tokens[slot].token = strdup(token);
    tokens[slot].expires_ms = expires_ms;
    pthread_mutex_unlock(&tok_mu);
}

void integ_oauth_forget(const char *connector_id)
{
    size_t n = strlen(connector_id);
    pthread_mutex_lock(&tok_mu);
    for (int i = 0; i < TOKENS; i++)
        if (tokens[i].token && !strncmp(tokens[i].key, connector_id, n) && tokens[i].key[n] == '.') {
            free(tokens[i].token);
            tokens[i].token = NULL;
            tokens[i].key[0] = 0;
        }
    pthread_mutex_unlock(&tok_mu);
}

static void form_add(fm_buf_t *b, const char *k, const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);
    fm_buf_addf(b, "%s%s=%s", b->len ? "&" : "", k, e ? e : "");
    curl_free(e);
}

/* A token from the token endpoint; NULL and why on failure. */
static char *oauth_fetch(const integ_rec_t *c, char *why, size_t wl)
{
    const cJSON *a = obj(c, "auth");
    fm_buf_t form = { 0 };
    form_add(&form, "grant_type", "client_credentials");
    form_add(&form, "client_id", str_in(a, "clientId", ""));
    form_add(&form, "client_secret", secret(c, "auth.clientSecret"));
    if (str_in(a, "scope", NULL))
        form_add(&form, "scope", str_in(a, "scope", ""));
    if (str_in(a, "audience", NULL))
        form_add(&form, "audience", str_in(a, "audience", ""));
    const char *hdrs[] = { "Accept: application/json", NULL };
    fm_fetch_req_t q = { .method = "POST", .url = str_in(a, "tokenUrl", ""), .body = form.data,
                         .content_type = "application/x-www-form-urlencoded", .headers = hdrs };
    base_req(c, &q);
    q.max_redirects = 0;
    waiter_t w;
    fetch_wait(&q, &w);
    fm_buf_release(&form);
    char *token = NULL;
    cJSON *j = w.status == 200 ? cJSON_Parse(w.body) : NULL;
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(j, "access_token"));
    if (at && *at && strlen(at) < 8192) {
        long ttl = num_in(j, "expires_in", 3600);
        long margin = ttl > 60 ? 30 : ttl / 10;
        token = strdup(at);
        tok_put(c, at, fm_time_unix_ms() + (ttl - margin) * 1000);
    } else if (w.error[0]) {
        snprintf(why, wl, "OAuth token request failed: %s", w.error);
    } else {
        snprintf(why, wl, "OAuth token request answered %ld without an access_token", w.status);
    }
    cJSON_Delete(j);
    free(w.body);
    free(w.headers);
    return token;
}

/* ---- building and running the call ---- */

static void url_append_query(fm_buf_t *u, const cJSON *query, const char *key_name, const char *key_value)
{
    bool first = !strchr(u->data ? u->data : "", '?');
    const cJSON *x;
    cJSON_ArrayForEach(x, query)
    {
        const char *v = cJSON_GetStringValue(x);
        if (!v)
            continue;
        char *k = curl_easy_escape(NULL, x->string, 0), *e = curl_easy_escape(NULL, v, 0);
        fm_buf_addf(u, "%c%s=%s", first ? '?' : '&', k ? k : "", e ? e : "");
        first = false;
        curl_free(k);
        curl_free(e);
    }
    if (key_name) {
        char *k = curl_easy_escape(NULL, key_name, 0), *e = key_value ? curl_easy_escape(NULL, key_value, 0) : NULL;
        fm_buf_addf(u, "%c%s=%s", first ? '?' : '&', k ? k : "", key_value ? (e ? e : "") : "***");
        curl_free(k);
        curl_free(e);
    }
}

static bool has_header(const cJSON *h, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, h) if (!strcasecmp(x->string, name)) return true;
    return false;
}

static void add_header(char **lines, int *n, const char *name, const char *value)
{
    if (*n >= MAX_HEADERS)
        return;
    size_t len = strlen(name) + strlen(value) + 3;
    char *l = malloc(len);
    if (!l)
        return;
    snprintf(l, len, "%s: %s", name, value);
    lines[(*n)++] = l;
}

static cJSON *parse_headers(const char *raw)
{
    cJSON *o = cJSON_CreateObject();
    const char *p = raw;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (colon && strncmp(p, "HTTP/", 5)) {
            char name[128];
            size_t nl = (size_t)(colon - p) < sizeof(name) - 1 ? (size_t)(colon - p) : sizeof(name) - 1;
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
            name[nl] = 0;
            const char *v = colon + 1;
            while (v < p + n && (*v == ' ' || *v == '\t'))
                v++;
            char *val = copy_n(v, (size_t)(p + n - v));
            if (val && !cJSON_GetObjectItem(o, name))
                cJSON_AddStringToObject(o, name, val);
            free(val);
        }
        p = eol ? eol + 2 : NULL;
    }
    return o;
}

void integ_result_clear(integ_result_t *r)
{
    free(r->body);
    cJSON_Delete(r->headers);
    memset(r, 0, sizeof(*r));
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static bool retryable(const waiter_t *w)
{
    if (w->too_big || w->refused)
        return false;
    return w->status == 0 || w->status == 429 || w->status >= 500;
}

static cJSON *cut(const char *s, size_t len)
{
    size_t keep = (size_t)fm_cfg()->integrations_log_body_bytes;
    if (len <= keep)
        return cJSON_CreateString(s);
    char *c = copy_n(s, keep);
    /* do not end inside a UTF-8 sequence */
    size_t n = keep;
    while (c && n > 0 && ((unsigned char)c[n - 1] & 0xC0) == 0x80)
        n--;
    if (c && n > 0 && ((unsigned char)c[n - 1] & 0x80))
        n--;
    if (c)
        c[n] = 0;
    cJSON *o = cJSON_CreateString(c ? c : "");
    free(c);
    return o;
}

static void log_call(fm_db_t *db, const integ_rec_t *c, const char *method, const char *url, const integ_call_t *call,
                     const integ_result_t *res, char *call_id, size_t idlen)
{
    char now[32];
    fm_time_rfc3339(now);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "at", now);
    cJSON_AddStringToObject(e, "method", method);
    cJSON_AddStringToObject(e, "url", url);
    if (res->status)
        cJSON_AddNumberToObject(e, "status", (double)res->status);
    else
        cJSON_AddNullToObject(e, "status");
    cJSON_AddNumberToObject(e, "durationMs", res->ms);
    cJSON_AddNumberToObject(e, "attempts", res->attempts);
    if (res->error[0])
        cJSON_AddStringToObject(e, "error", res->error);
    else
        cJSON_AddNullToObject(e, "error");
    cJSON_AddItemToObject(e, "requestBody", call->body ? cut(call->body, strlen(call->body)) : cJSON_CreateNull());
    cJSON_AddItemToObject(e, "responseBody", res->body ? cut(res->body, res->len) : cJSON_CreateNull());
    /* a secret echoed anywhere (a query, a body) is replaced before the entry is stored */
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (!text)
        return;
    integ_redact(c, text);
    e = cJSON_Parse(text);
    cJSON_free(text);
    if (!e)
        return;
    if (integ_log_add(db, c->tenant, c->id, e) == FM_OK && call_id)
        snprintf(call_id, idlen, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")));
    cJSON_Delete(e);
}

int integ_execute(fm_db_t *db, const integ_rec_t *c, const integ_call_t *call, integ_result_t *res, char *call_id,
                  size_t idlen)
{
    memset(res, 0, sizeof(*res));
    const cJSON *a = obj(c, "auth");
    const char *kind = str_in(a, "type", "none");
    bool query_key = !strcmp(kind, "apiKey") && !strcmp(str_in(a, "in", "header"), "query");
    /* URL: base + path + query (+ the API key when it goes in the query) */
    fm_buf_t url = { 0 }, shown = { 0 };
    const char *base = str_in(c->config, "baseUrl", "");
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    const char *path = call->path ? call->path : "";
    fm_buf_addf(&url, "%.*s%s%s", (int)bl, base, *path && *path != '/' ? "/" : "", path);
    fm_buf_add(&shown, url.data, url.len);
    url_append_query(&url, call->query, query_key ? str_in(a, "name", "api_key") : NULL, secret(c, "auth.value"));
    url_append_query(&shown, call->query, query_key ? str_in(a, "name", "api_key") : NULL, NULL);
    const char *method = call->method && *call->method ? call->method : "GET";
    const cJSON *defaults = obj(c, "headers");
    const cJSON *rt = obj(c, "retry");
    int max_attempts = (int)num_in(rt, "maxAttempts", 1);
    long backoff = num_in(rt, "backoffMs", 200);
    bool oauth = !strcmp(kind, "oauth2"), refreshed = false;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int tries = 0;
    for (;;) {
        char *lines[MAX_HEADERS + 1];
        int n = 0;
        char *token = NULL;
        if (oauth) {
            token = tok_get(c);
            if (!token && !(token = oauth_fetch(c, res->error, sizeof(res->error)))) {
                res->attempts = tries + 1;
                break;
            }
        }
        const cJSON *x;
        cJSON_ArrayForEach(x, call->headers) if (cJSON_IsString(x)) add_header(lines, &n, x->string, x->valuestring);
        cJSON_ArrayForEach(x, defaults) if (cJSON_IsString(x) && !has_header(call->headers, x->string))
            add_header(lines, &n, x->string, x->valuestring);
        if (!strcmp(kind, "basic")) {
            char *up = NULL;
            size_t ul = strlen(str_in(a, "username", "")) + strlen(secret(c, "auth.password")) + 2;
            if ((up = malloc(ul))) {
                snprintf(up, ul, "%s:%s", str_in(a, "username", ""), secret(c, "auth.password"));
                size_t el = sodium_base64_ENCODED_LEN(strlen(up), sodium_base64_VARIANT_ORIGINAL);
                char *v = malloc(el + 8);
                if (v) {
                    memcpy(v, "Basic ", 6);
                    sodium_bin2base64(v + 6, el, (const unsigned char *)up, strlen(up),
                                      sodium_base64_VARIANT_ORIGINAL);
                    add_header(lines, &n, "Authorization", v);
                    memset(v, 0, strlen(v));
                    free(v);
                }
                memset(up, 0, strlen(up));
                free(up);
            }
        } else if (!strcmp(kind, "bearer") || token) {
            const char *t = token ? token : secret(c, "auth.token");
            size_t vl = strlen(t) + 8;
            char *v = malloc(vl);
            if (v) {
                snprintf(v, vl, "Bearer %s", t);
                add_header(lines, &n, "Authorization", v);
                free(v);
            }
        } else if (!strcmp(kind, "apiKey") && !query_key) {
            add_header(lines, &n, str_in(a, "name", "X-API-Key"), secret(c, "auth.value"));
        }
        lines[n] = NULL;
        bool ctype = call->content_type && !has_header(call->headers, "Content-Type") &&
                     !has_header(defaults, "Content-Type");
        fm_fetch_req_t q = { .method = method, .url = url.data, .body = call->body,
                             .content_type = ctype ? call->content_type : NULL,
                             .headers = (const char *const *)lines };
        base_req(c, &q);
        waiter_t w;
        fetch_wait(&q, &w);
        for (int i = 0; i < n; i++) {
            memset(lines[i], 0, strlen(lines[i]));
            free(lines[i]);
        }
        free(token);
        tries++;
        if (oauth && w.status == 401 && !refreshed) {
            /* the cached token may have been revoked early: one fresh token, one more try */
            refreshed = true;
            integ_oauth_forget(c->id);
            free(w.body);
            free(w.headers);
            continue;
        }
        if (retryable(&w) && tries < max_attempts) {
            free(w.body);
            free(w.headers);
            long d = backoff;
            for (int i = 1; i < tries && d < 60000; i++)
                d *= 2;
            sleep_ms(d > 60000 ? 60000 : d);
            continue;
        }
        res->status = w.error[0] ? 0 : w.status;
        res->body = w.body;
        res->len = w.len;
        res->headers = parse_headers(w.headers);
        free(w.headers);
        res->too_big = w.too_big;
        res->timed_out = w.error[0] && strstr(w.error, "timed out");
        if (w.too_big)
            snprintf(res->error, sizeof(res->error), "the response is larger than maxResponseBytes (%ld bytes); "
                     "it was cut", num_in(c->config, "maxResponseBytes", 1 << 20));
        else if (w.error[0])
            snprintf(res->error, sizeof(res->error), "%s", w.error);
        res->attempts = tries;
        break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    res->ms = (double)(long)(res->ms * 10) / 10;
    if (res->too_big) {   /* what came before the cut is not an answer */
        free(res->body);
        res->body = NULL;
        res->len = 0;
    }
    integ_redact(c, res->error);
    log_call(db, c, method, shown.data ? shown.data : "", call, res, call_id, idlen);
    fm_buf_release(&url);
    fm_buf_release(&shown);
    return FM_OK;
}

/* ---- for the engine's calls (integ_engine.c): the same token cache and header parsing ---- */

char *integ_token_cached(const integ_rec_t *c)
{
    return tok_get(c);
}

void integ_token_keep(const integ_rec_t *c, const char *token, long ttl_s)
{
    long margin = ttl_s > 60 ? 30 : ttl_s / 10;
    tok_put(c, token, fm_time_unix_ms() + (ttl_s - margin) * 1000);
}

cJSON *integ_headers_parse(const char *raw)
{
    return parse_headers(raw);
}
