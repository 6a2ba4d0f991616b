/*
 * integ_engine.c — every call through a connector, asynchronous from end to end: the
 * request (and an OAuth token request before it when the cache has no token) goes out
 * through fm_fetch, and each answer arrives on the loop thread, which sends the next
 * request (a retry after its back-off timer, a fresh token after a 401) or hands the
 * result to the caller's callback. Nothing here waits. The engine's connector jobs use
 * it directly; POST /integrations/{id}/execute and /test wait for it (integ_execute in
 * integ_call.c). The call log entry is written by integ_job_finish on a worker thread.
 */
#include "integ_engine.h"

#include "../../fm_buf.h"
#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_fetch.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "../../fm_mod.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LINES 64

struct integ_job {
    integ_rec_t rec;
    bool stored;
    char *url, *shown, *method, *body, *ctype;
    cJSON *headers;             /* the call's headers (copy) */
    char *token;                /* OAuth access token of this call */
    bool oauth, refreshed;
    int attempts, max_attempts;     /* max_attempts from the connector's "retry" when asked */
    long backoff_ms;
    fm_timer_t *retry;
    integ_result_t res;
    struct timespec t0;
    integ_job_cb cb;
    void *arg;
};

static fm_db_t *integ_db(void)
{
    fm_mod_t *m = fm_mods_find("integrations");
    return m && fm_mod_ready(m) ? m->db : NULL;
}

static const cJSON *cfg(const integ_job_t *j, const char *name)
{
    return cJSON_GetObjectItem(j->rec.config, name);
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

static const char *secret(const integ_job_t *j, const char *name)
{
    return str_in(j->rec.secrets, name, "");
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

integ_job_t *integ_job_stored(const char *tenant, const char *ref, char *why, size_t wl)
{
    fm_db_t *db = integ_db();
    if (!db) {
        snprintf(why, wl, "the External Integration module is not running");
        return NULL;
    }
    integ_job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        snprintf(why, wl, "out of memory");
        return NULL;
    }
    int rc = integ_get(db, INTEG_CONNECTOR, tenant, ref, &j->rec);
    if (rc == FM_ENOTFOUND) {   /* by name: (tenant, name) is unique */
        char *id = NULL;
        if (fm_dbq_read_str(db, "SELECT id FROM connectors WHERE tenant_id = ? AND name = ?", &id, "ss", tenant,
                            ref) == FM_OK && id)
            rc = integ_get(db, INTEG_CONNECTOR, tenant, id, &j->rec);
        free(id);
    }
    if (rc != FM_OK) {
        if (rc == FM_ENOTFOUND)
            snprintf(why, wl, "no stored connector '%.100s' (by id or name) in this tenant", ref);
        else
            snprintf(why, wl, "the stored connector '%.100s' could not be read", ref);
        free(j);
        return NULL;
    }
    j->stored = true;
    return j;
}

integ_job_t *integ_job_of(const integ_rec_t *c)
{
    integ_job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->rec = *c;
    j->rec.config = cJSON_Duplicate(c->config, true);
    j->rec.secrets = cJSON_Duplicate(c->secrets, true);
    if (!j->rec.config || !j->rec.secrets) {
        integ_rec_clear(&j->rec);
        free(j);
        return NULL;
    }
    j->stored = true;
    return j;
}

void integ_job_use_retry(integ_job_t *j)
{
    const cJSON *rt = cfg(j, "retry");
    j->max_attempts = (int)num_in(rt, "maxAttempts", 1);
    j->backoff_ms = num_in(rt, "backoffMs", 200);
}

integ_job_t *integ_job_unsaved(const char *tenant, const char *key, cJSON *config, cJSON *secrets)
{
    integ_job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        cJSON_Delete(config);
        cJSON_Delete(secrets);
        return NULL;
    }
    snprintf(j->rec.id, sizeof(j->rec.id), "%s", key);
    snprintf(j->rec.tenant, sizeof(j->rec.tenant), "%s", tenant);
    snprintf(j->rec.name, sizeof(j->rec.name), "unsaved");
    j->rec.config = config;
    j->rec.secrets = secrets ? secrets : cJSON_CreateObject();
    j->rec.version = 1;
    return j;
}

const integ_result_t *integ_job_result(const integ_job_t *j)
{
    return &j->res;
}

/* ---- building requests ---- */

static void add_line(char **lines, int *n, const char *name, const char *value)
{
    if (*n >= MAX_LINES)
        return;
    size_t len = strlen(name) + strlen(value) + 3;
    char *l = malloc(len);
    if (!l)
        return;
    snprintf(l, len, "%s: %s", name, value);
    lines[(*n)++] = l;
}

static void wipe_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++) {
        sodium_memzero(lines[i], strlen(lines[i]));
        free(lines[i]);
    }
}

static bool has_header(const cJSON *h, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, h) if (x->string && !strcasecmp(x->string, name)) return true;
    return false;
}

/* "Basic base64(user:password)" (caller wipes and frees). */
static char *basic_value(const char *user, const char *password)
{
    size_t ul = strlen(user) + strlen(password) + 2;
    char *up = malloc(ul);
    if (!up)
        return NULL;
    snprintf(up, ul, "%s:%s", user, password);
    size_t el = sodium_base64_ENCODED_LEN(strlen(up), sodium_base64_VARIANT_ORIGINAL);
    char *v = malloc(el + 8);
    if (v) {
        memcpy(v, "Basic ", 6);
        sodium_bin2base64(v + 6, el, (const unsigned char *)up, strlen(up), sodium_base64_VARIANT_ORIGINAL);
    }
    sodium_memzero(up, strlen(up));
    free(up);
    return v;
}

static void add_query(fm_buf_t *u, const cJSON *query, const char *key_name, const char *key_value)
{
    bool first = !strchr(u->data ? u->data : "", '?');
    const cJSON *x;
    cJSON_ArrayForEach(x, query)
    {
        const char *v = cJSON_GetStringValue(x);
        if (!v || !x->string)
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

static void base_req(const integ_job_t *j, fm_fetch_req_t *q)
{
    const cJSON *t = cfg(j, "timeouts"), *tls = cfg(j, "tls");
    q->timeout_ms = num_in(t, "totalMs", 30000);
    q->connect_timeout_ms = num_in(t, "connectMs", 10000);
    q->max_response = (size_t)num_in(j->rec.config, "maxResponseBytes", 1 << 20);
    q->max_redirects = cJSON_IsTrue(cfg(j, "followRedirects")) ? 5 : 0;
    q->tls_insecure = cJSON_IsFalse(cJSON_GetObjectItem(tls, "verify"));
    q->ca_file = str_in(tls, "caFile", NULL);
    q->no_private = !integ_private_allowed(j->rec.tenant);
}

static void done(integ_job_t *j)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - j->t0.tv_sec) * 1000 + (double)(t1.tv_nsec - j->t0.tv_nsec) / 1e6;
    j->res.ms = (double)(long)(ms * 10) / 10;
    j->res.attempts = j->attempts;
    integ_redact(&j->rec, j->res.error);
    j->cb(j, j->arg);
}

static void failed(integ_job_t *j, const char *fmt, const char *detail)
{
    snprintf(j->res.error, sizeof(j->res.error), fmt, detail);
    done(j);
}

static void on_answer(const fm_fetch_result_t *r, void *arg);
static int send_token_request(integ_job_t *j);

static int send_call(integ_job_t *j)
{
    char *lines[MAX_LINES + 1];
    int n = 0;
    const cJSON *a = cfg(j, "auth"), *defaults = cfg(j, "headers");
    const char *kind = str_in(a, "type", "none");
    const cJSON *x;
    cJSON_ArrayForEach(x, j->headers) if (cJSON_IsString(x)) add_line(lines, &n, x->string, x->valuestring);
    cJSON_ArrayForEach(x, defaults) if (cJSON_IsString(x) && !has_header(j->headers, x->string))
        add_line(lines, &n, x->string, x->valuestring);
    if (!strcmp(kind, "basic")) {
        char *v = basic_value(str_in(a, "username", ""), secret(j, "auth.password"));
        if (v) {
            add_line(lines, &n, "Authorization", v);
            sodium_memzero(v, strlen(v));
            free(v);
        }
    } else if (!strcmp(kind, "bearer") || j->token) {
        const char *t = j->token ? j->token : secret(j, "auth.token");
        size_t vl = strlen(t) + 8;
        char *v = malloc(vl);
        if (v) {
            snprintf(v, vl, "Bearer %s", t);
            add_line(lines, &n, "Authorization", v);
            sodium_memzero(v, strlen(v));
            free(v);
        }
    } else if (!strcmp(kind, "apiKey") && strcmp(str_in(a, "in", "header"), "query")) {
        add_line(lines, &n, str_in(a, "name", "X-API-Key"), secret(j, "auth.value"));
    }
    lines[n] = NULL;
    bool ctype = j->ctype && !has_header(j->headers, "Content-Type") && !has_header(defaults, "Content-Type");
    fm_fetch_req_t q = { .method = j->method, .url = j->url, .body = j->body,
                         .content_type = ctype ? j->ctype : NULL, .headers = (const char *const *)lines };
    base_req(j, &q);
    j->attempts++;
    int rc = fm_fetch(&q, on_answer, j);
    wipe_lines(lines, n);
    return rc;
}

static void on_token(const fm_fetch_result_t *r, void *arg)
{
    integ_job_t *j = arg;
    cJSON *t = r->status == 200 && r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(t, "access_token"));
    if (at && *at && strlen(at) < 8192) {
        j->token = strdup(at);
        integ_token_keep(&j->rec, at, num_in(t, "expires_in", 3600));
        cJSON_Delete(t);
        if (send_call(j) != FM_OK)
            failed(j, "%s", "the request could not be started");
        return;
    }
    cJSON_Delete(t);
    char why[300];
    if (r->error)
        snprintf(why, sizeof(why), "OAuth token request failed: %s", r->error);
    else
        snprintf(why, sizeof(why), "OAuth token request answered %ld without an access_token", r->status);
    failed(j, "%s", why);
}

static void form_add(fm_buf_t *b, const char *k, const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);
    fm_buf_addf(b, "%s%s=%s", b->len ? "&" : "", k, e ? e : "");
    curl_free(e);
}

/* Client credentials in the form, or (auth.clientAuthentication "basicAuthHeader", the
 * Camunda REST connector's default) as HTTP Basic. */
static int send_token_request(integ_job_t *j)
{
    const cJSON *a = cfg(j, "auth");
    bool in_header = !strcmp(str_in(a, "clientAuthentication", "credentialsBody"), "basicAuthHeader");
    fm_buf_t form = { 0 };
    form_add(&form, "grant_type", "client_credentials");
    if (!in_header) {
        form_add(&form, "client_id", str_in(a, "clientId", ""));
        form_add(&form, "client_secret", secret(j, "auth.clientSecret"));
    }
    if (str_in(a, "scope", NULL))
        form_add(&form, "scope", str_in(a, "scope", ""));
    if (str_in(a, "audience", NULL))
        form_add(&form, "audience", str_in(a, "audience", ""));
    char *lines[3] = { "Accept: application/json", NULL, NULL };
    char *basic = NULL, *line = NULL;
    if (in_header && (basic = basic_value(str_in(a, "clientId", ""), secret(j, "auth.clientSecret")))) {
        size_t ll = strlen(basic) + 16;
        if ((line = malloc(ll))) {
            snprintf(line, ll, "Authorization: %s", basic);
            lines[1] = line;
        }
    }
    fm_fetch_req_t q = { .method = "POST", .url = str_in(a, "tokenUrl", ""), .body = form.data ? form.data : "",
                         .content_type = "application/x-www-form-urlencoded",
                         .headers = (const char *const *)lines };
    base_req(j, &q);
    q.max_redirects = 0;
    int rc = fm_fetch(&q, on_token, j);
    if (basic) {
        sodium_memzero(basic, strlen(basic));
        free(basic);
    }
    if (line) {
        sodium_memzero(line, strlen(line));
        free(line);
    }
    if (form.data)
        sodium_memzero(form.data, form.len);
    fm_buf_release(&form);
    return rc;
}

static void resend(void *arg)
{
    integ_job_t *j = arg;
    fm_timer_stop(j->retry);
    j->retry = NULL;
    if (send_call(j) != FM_OK)
        failed(j, "%s", "the request could not be started");
}

static void on_answer(const fm_fetch_result_t *r, void *arg)
{
    integ_job_t *j = arg;
    if (j->oauth && r->status == 401 && !j->refreshed) {
        /* the cached token may have been revoked early: one fresh token, one more try */
        j->refreshed = true;
        integ_oauth_forget(j->rec.id);
        free(j->token);
        j->token = NULL;
        if (send_token_request(j) != FM_OK)
            failed(j, "%s", "the OAuth token request could not be started");
        return;
    }
    bool again = !r->too_big && !r->refused_address && (r->error || r->status == 429 || r->status >= 500);
    if (again && j->attempts < j->max_attempts) {
        long d = j->backoff_ms;   /* doubled per attempt, at most a minute */
        for (int i = 1; i < j->attempts && d < 60000; i++)
            d *= 2;
        if ((j->retry = fm_timer_start((uint64_t)(d > 60000 ? 60000 : d), 0, resend, j)))
            return;
    }
    integ_result_t *res = &j->res;
    res->status = r->error ? 0 : r->status;
    res->too_big = r->too_big;
    res->timed_out = r->error && strstr(r->error, "timed out");
    res->headers = integ_headers_parse(r->headers ? r->headers : "");
    if (!r->too_big && r->body && (res->body = malloc(r->len + 1))) {
        memcpy(res->body, r->body, r->len);
        res->body[r->len] = 0;
        res->len = r->len;
    }
    if (r->too_big)
        snprintf(res->error, sizeof(res->error), "the response is larger than maxResponseBytes (%ld bytes); it was cut",
                 num_in(j->rec.config, "maxResponseBytes", 1 << 20));
    else if (r->error)
        snprintf(res->error, sizeof(res->error), "%s", r->error);
    done(j);
}

int integ_job_send(integ_job_t *j, const integ_call_t *call, integ_job_cb cb, void *arg)
{
    const cJSON *a = cfg(j, "auth");
    const char *kind = str_in(a, "type", "none");
    bool query_key = !strcmp(kind, "apiKey") && !strcmp(str_in(a, "in", "header"), "query");
    fm_buf_t url = { 0 }, shown = { 0 };
    const char *base = str_in(j->rec.config, "baseUrl", "");
    const char *path = call->path ? call->path : "";
    size_t bl = strlen(base);
    while (*path && bl > 0 && base[bl - 1] == '/')
        bl--;
    fm_buf_addf(&url, "%.*s%s%s", (int)bl, base, *path && *path != '/' ? "/" : "", path);
    fm_buf_add(&shown, url.data, url.len);
    add_query(&url, call->query, query_key ? str_in(a, "name", "api_key") : NULL, secret(j, "auth.value"));
    add_query(&shown, call->query, query_key ? str_in(a, "name", "api_key") : NULL, NULL);
    j->url = fm_buf_detach(&url, NULL);
    j->shown = fm_buf_detach(&shown, NULL);
    j->method = strdup(call->method && *call->method ? call->method : "GET");
    j->body = dup_or_null(call->body);
    j->ctype = dup_or_null(call->content_type);
    j->headers = call->headers ? cJSON_Duplicate(call->headers, true) : NULL;
    j->oauth = !strcmp(kind, "oauth2");
    j->cb = cb;
    j->arg = arg;
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    if (!j->url || !j->shown || !j->method)
        return FM_ENOMEM;
    if (j->oauth && !(j->token = integ_token_cached(&j->rec)))
        return send_token_request(j);
    return send_call(j);
}

/* ---- the log ---- */

static cJSON *cut(const char *s, size_t len)
{
    size_t keep = (size_t)fm_cfg()->integrations_log_body_bytes;
    if (len <= keep)
        return cJSON_CreateString(s);
    char *c = malloc(keep + 1);
    if (!c)
        return cJSON_CreateString("");
    memcpy(c, s, keep);
    size_t n = keep;    /* do not end inside a UTF-8 sequence */
    while (n > 0 && ((unsigned char)c[n - 1] & 0xC0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)c[n - 1] & 0x80))
        n--;
    c[n] = 0;
    cJSON *o = cJSON_CreateString(c);
    free(c);
    return o;
}

static void log_call(integ_job_t *j, const char *origin, char *call_id, size_t idlen)
{
    fm_db_t *db = integ_db();
    if (!db)
        return;
    const integ_result_t *res = &j->res;
    char now[32];
    fm_time_rfc3339(now);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "at", now);
    cJSON_AddStringToObject(e, "method", j->method ? j->method : "");
    cJSON_AddStringToObject(e, "url", j->shown ? j->shown : "");
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
    cJSON_AddItemToObject(e, "requestBody", j->body ? cut(j->body, strlen(j->body)) : cJSON_CreateNull());
    cJSON_AddItemToObject(e, "responseBody", res->body ? cut(res->body, res->len) : cJSON_CreateNull());
    if (origin)
        cJSON_AddStringToObject(e, "origin", origin);
    char *text = cJSON_PrintUnformatted(e);   /* a secret echoed anywhere is replaced */
    cJSON_Delete(e);
    if (!text)
        return;
    integ_redact(&j->rec, text);
    e = cJSON_Parse(text);
    cJSON_free(text);
    if (e && integ_log_add(db, j->rec.tenant, j->rec.id, e) == FM_OK && call_id)
        snprintf(call_id, idlen, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")));
    cJSON_Delete(e);
}

void integ_job_finish(integ_job_t *j, const char *origin)
{
    integ_job_finish_id(j, origin, NULL, 0);
}

void integ_job_finish_id(integ_job_t *j, const char *origin, char *call_id, size_t idlen)
{
    if (!j)
        return;
    if (j->stored)
        log_call(j, origin, call_id, idlen);
    integ_result_clear(&j->res);
    integ_rec_clear(&j->rec);
    if (j->token) {
        sodium_memzero(j->token, strlen(j->token));
        free(j->token);
    }
    free(j->url);
    free(j->shown);
    free(j->method);
    free(j->body);
    free(j->ctype);
    cJSON_Delete(j->headers);
    free(j);
}
