/*
 * integ_call.c — a call through a stored connector for POST /integrations/{id}/execute
 * and /test: the call runs as a connector job (integ_engine.c: auth, OAuth token with
 * one refresh after a 401, default headers, timeouts, retries with back-off on loop
 * timers, TLS options, redirects, the size limit, the private-address policy, the call
 * log with secrets redacted) while the worker thread handling the HTTP request waits
 * on a condition variable for the loop's answer (no polling). Also here: the OAuth
 * token cache, secret redaction and response header parsing that jobs share.
 */
#include "integ_engine.h"

#include "../../fm_config.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- policy and redaction ---- */

bool integ_private_allowed(const char *tenant)
{
    return fm_cfg()->integrations_allow_private || !strcmp(tenant, INTEG_OPERATOR_TENANT);
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

/* ---- responses ---- */

static char *copy_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
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

/* ---- execute: a job, waited for ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} waiter_t;

static void on_job(integ_job_t *j, void *arg)
{
    (void)j;
    waiter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int integ_execute(fm_db_t *db, const integ_rec_t *c, const integ_call_t *call, integ_result_t *res, char *call_id,
                  size_t idlen)
{
    (void)db;   /* the job logs into the module's own database */
    memset(res, 0, sizeof(*res));
    integ_job_t *j = integ_job_of(c);
    if (!j) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return FM_OK;
    }
    integ_job_use_retry(j);
    waiter_t w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
    if (integ_job_send(j, call, on_job, &w) == FM_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        const integ_result_t *jr = integ_job_result(j);
        *res = *jr;   /* the job keeps its own body and headers for the log */
        res->body = jr->body ? copy_n(jr->body, jr->len) : NULL;
        res->headers = jr->headers ? cJSON_Duplicate(jr->headers, true) : NULL;
    } else {
        snprintf(res->error, sizeof(res->error), "the request could not be started");
    }
    integ_job_finish_id(j, NULL, call_id, idlen);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
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
