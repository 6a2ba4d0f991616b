/*
 * exec_connector.c — connector jobs the engine runs itself, on the loop, without an
 * external worker: `zeebe:taskDefinition type="io.camunda:http-json:1"` (Camunda's
 * REST Outbound Connector, read from the `zeebe:ioMapping` inputs Camunda Modeler's
 * element template writes) and `type="integration"` (a stored connector of External
 * Integration named by the `connector` task header). Both become a call of
 * integ_engine.c sent through fm_fetch; the answer comes back to the engine's worker
 * thread, where `errorExpression`, `resultVariable` and `resultExpression` are applied
 * and the job completes, throws a BPMN error, or fails under the job retry rules
 * (retries left: again after `retryBackoff`; none: an incident). The field reference
 * is docs/integrations.md ("Connectors in processes").
 */
#include "exec_int.h"

#include "../../dmn/dmn.h"
#include "../../fm_buf.h"
#include "../../fm_json_check.h"
#include "../integrations/integ_engine.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CAMUNDA_REST "io.camunda:http-json:1"
#define INTEGRATION "integration"
#define MAX_TIMEOUT_S 3600

bool ex_conn_is(const char *type)
{
    return type && (!strcmp(type, CAMUNDA_REST) || !strcmp(type, INTEGRATION));
}

/* ---- zeebe:input sources: Camunda 8 reads a source without '=' as a static value ---- */

feel_expr_t *ex_conn_static_source(const char *job_type, const char *src)
{
    if (!ex_conn_is(job_type) || !src)
        return NULL;
    const char *p = src;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p == '=')
        return NULL;
    fm_buf_t b = { 0 };
    fm_buf_add(&b, "\"", 1);
    for (const char *s = src; *s; s++) {
        if (*s == '"' || *s == '\\')
            fm_buf_add(&b, "\\", 1);
        if (*s == '\n')
            fm_buf_add(&b, "\\n", 2);
        else if (*s == '\r')
            fm_buf_add(&b, "\\r", 2);
        else if (*s == '\t')
            fm_buf_add(&b, "\\t", 2);
        else
            fm_buf_add(&b, s, 1);
    }
    fm_buf_add(&b, "\"", 1);
    char *text = fm_buf_detach(&b, NULL);
    feel_perr_t pe;
    feel_expr_t *e = text ? feel_parse(text, FEEL_EXPR, NULL, &pe) : NULL;
    free(text);
    return e;
}

/* ---- reading the inputs ---- */

/* An input by name: the flat local variable "authentication.type" the ioMapping made,
 * else the member of a nested object (variables set as {authentication: {type: …}}). */
static const cJSON *input(const cJSON *vars, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(vars, name);
    const char *dot = strchr(name, '.');
    if (v || !dot || dot - name > 63)
        return v;
    char head[64];
    snprintf(head, sizeof(head), "%.*s", (int)(dot - name), name);
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vars, head), dot + 1);
}

/* A string input (numbers and booleans as their text); NULL when absent or null. */
static char *input_str(const cJSON *vars, const char *name)
{
    const cJSON *v = input(vars, name);
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        return cJSON_PrintUnformatted(v);
    return NULL;
}

/* Seconds from a number or numeric text; def when absent; -1 when not a count. */
static long input_seconds(const cJSON *vars, const char *name, long def)
{
    const cJSON *v = input(vars, name);
    if (!v || cJSON_IsNull(v))
        return def;
    if (cJSON_IsNumber(v))
        return v->valuedouble >= 0 && v->valuedouble <= MAX_TIMEOUT_S ? (long)v->valuedouble : -1;
    if (cJSON_IsString(v) && *v->valuestring) {
        char *end;
        long n = strtol(v->valuestring, &end, 10);
        return *end || n < 0 || n > MAX_TIMEOUT_S ? -1 : n;
    }
    return -1;
}

/* A map input (headers, queryParameters): a FEEL context, or JSON object text. Values
 * that are not strings become their JSON text. Into *out (caller deletes) or why. */
static bool input_map(const cJSON *vars, const char *name, cJSON **out, char *why, size_t wl)
{
    *out = NULL;
    const cJSON *v = input(vars, name);
    cJSON *parsed = NULL;
    if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring))
        return true;
    if (cJSON_IsString(v))
        v = parsed = cJSON_Parse(v->valuestring);
    if (!cJSON_IsObject(v)) {
        snprintf(why, wl, "input '%s' is not a map (a FEEL context such as ={\"X-Id\": id})", name);
        cJSON_Delete(parsed);
        return false;
    }
    cJSON *o = cJSON_CreateObject();
    const cJSON *x;
    int n = 0;
    cJSON_ArrayForEach(x, v)
    {
        if (++n > 64) {
            snprintf(why, wl, "input '%s' holds more than 64 entries", name);
            cJSON_Delete(o);
            cJSON_Delete(parsed);
            return false;
        }
        if (cJSON_IsNull(x))
            continue;
        if (cJSON_IsString(x)) {
            cJSON_AddStringToObject(o, x->string, x->valuestring);
        } else {
            char *t = cJSON_PrintUnformatted(x);
            cJSON_AddStringToObject(o, x->string, t ? t : "");
            cJSON_free(t);
        }
    }
    cJSON_Delete(parsed);
    *out = o;
    return true;
}

/* The body: text as it is, anything else as JSON; NULL when absent or null. */
static char *input_body(const cJSON *vars, const char *name)
{
    const cJSON *v = input(vars, name);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    return cJSON_PrintUnformatted(v);
}

/* Camunda's connector secrets ({{secrets.NAME}}) have no store here. */
static const char *camunda_secret_in(const cJSON *vars)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, vars) if (cJSON_IsString(x) && strstr(x->valuestring, "{{secrets.")) return x->string;
    return NULL;
}

/* ---- the job ---- */

typedef struct conn_job {
    char tenant[80], job[48], inst[48], element[200], type[40];
    int token;
    cJSON *headers;         /* task headers */
    integ_job_t *ij;
} conn_job_t;

static void conn_free(conn_job_t *c)
{
    if (!c)
        return;
    cJSON_Delete(c->headers);
    free(c);
}

static int job_row(const fm_dbrow_t *st, void *arg)
{
    conn_job_t *c = arg;
    fm_dbrow_copy(st, 0, c->tenant, sizeof(c->tenant));
    fm_dbrow_copy(st, 1, c->inst, sizeof(c->inst));
    c->token = (int)fm_dbrow_int(st, 2);
    fm_dbrow_copy(st, 3, c->type, sizeof(c->type));
    c->headers = fm_dbrow_json(st, 4);
    fm_dbrow_copy(st, 5, c->element, sizeof(c->element));
    return FM_OK;
}

static const char *header(const conn_job_t *c, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c->headers, key));
    return s && *s ? s : NULL;
}

/* A failure that retrying cannot mend: no retries left, an incident with msg. */
static void fail_now(fm_db_t *db, const conn_job_t *c, const char *msg)
{
    char why[300], m[500];
    snprintf(m, sizeof(m), "%s connector of '%.100s': %.300s", c->type, c->element, msg);
    ex_job_fail(db, c->tenant, c->job, m, 0, 0, NULL, why, sizeof(why));
}

/* ISO 8601 duration (PnDTnHnMnS) → ms; -1 when it is not one. */
static int64_t iso_ms(const char *s)
{
    if (!s || (*s != 'P' && *s != 'p'))
        return -1;
    const char *p = s + 1;
    bool time = false, any = false;
    double ms = 0;
    while (*p) {
        if (*p == 'T' || *p == 't') {
            time = true;
            p++;
            continue;
        }
        char *end;
        double n = strtod(p, &end);
        if (end == p || n < 0)
            return -1;
        char u = (char)toupper((unsigned char)*end);
        double unit = u == 'D' && !time ? 86400000.0 : u == 'H' && time ? 3600000.0 : u == 'M' && time ? 60000.0
                    : u == 'S' && time ? 1000.0 : 0;
        if (!unit)
            return -1;
        ms += n * unit;
        any = true;
        p = end + 1;
    }
    return any && ms <= 86400000.0 * 30 ? (int64_t)ms : -1;
}

/* The call of a Camunda REST connector task, from its inputs. */
static integ_job_t *camunda_call(const conn_job_t *c, const cJSON *vars, integ_call_t *call, char **owned,
                                 cJSON **maps, char *why, size_t wl)
{
    const char *sec = camunda_secret_in(vars);
    if (sec) {
        snprintf(why, wl, "input '%s' names a Camunda secret ({{secrets.…}}), which this engine does not resolve; "
                 "store the credentials in a connector (POST /integrations) and use type=\"integration\"", sec);
        return NULL;
    }
    char *url = input_str(vars, "url");
    if (!url || (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))) {
        snprintf(why, wl, "input 'url' %s", url ? "is not an http or https URL" : "is missing");
        free(url);
        return NULL;
    }
    owned[0] = url;
    char *method = input_str(vars, "method");
    owned[1] = method;
    for (char *p = method; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (method && (strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method) || strlen(method) > 10)) {
        snprintf(why, wl, "input 'method' '%.20s' is not an HTTP method", method);
        return NULL;
    }
    if (!input_map(vars, "headers", &maps[0], why, wl) || !input_map(vars, "queryParameters", &maps[1], why, wl))
        return NULL;
    bool bodyless = !method || !strcmp(method, "GET") || !strcmp(method, "HEAD");
    owned[2] = bodyless ? NULL : input_body(vars, "body");
    long conn_s = input_seconds(vars, "connectionTimeoutInSeconds", 20);
    long read_s = input_seconds(vars, "readTimeoutInSeconds", 20);
    if (conn_s < 0 || read_s < 0) {
        snprintf(why, wl, "input '%s' is not a number of seconds from 0 to %d",
                 conn_s < 0 ? "connectionTimeoutInSeconds" : "readTimeoutInSeconds", MAX_TIMEOUT_S);
        return NULL;
    }
    if (!conn_s)
        conn_s = 20;
    if (!read_s)
        read_s = 20;
    cJSON *config = cJSON_CreateObject(), *secrets = cJSON_CreateObject();
    cJSON_AddStringToObject(config, "baseUrl", url);
    cJSON *t = cJSON_AddObjectToObject(config, "timeouts");
    cJSON_AddNumberToObject(t, "connectMs", (double)conn_s * 1000);
    cJSON_AddNumberToObject(t, "totalMs", (double)(conn_s + read_s) * 1000);
    cJSON_AddNumberToObject(config, "maxResponseBytes", 4 << 20);
    cJSON *a = cJSON_AddObjectToObject(config, "auth");
    char *kind = input_str(vars, "authentication.type");
    const char *k = kind ? kind : "noAuth";
    static const char *const fields[][3] = {
        /* Camunda input, connector config field (or "" for a secret), secret name */
        { "authentication.username", "username", NULL },
        { "authentication.password", "", "auth.password" },
        { "authentication.token", "", "auth.token" },
        { "authentication.oauthTokenEndpoint", "tokenUrl", NULL },
        { "authentication.clientId", "clientId", NULL },
        { "authentication.clientSecret", "", "auth.clientSecret" },
        { "authentication.scopes", "scope", NULL },
        { "authentication.audience", "audience", NULL },
        { "authentication.clientAuthentication", "clientAuthentication", NULL },
        { "authentication.name", "name", NULL },
        { "authentication.value", "", "auth.value" },
    };
    bool ok = true;
    if (!strcmp(k, "noAuth"))
        cJSON_AddStringToObject(a, "type", "none");
    else if (!strcmp(k, "basic") || !strcmp(k, "bearer") || !strcmp(k, "apiKey"))
        cJSON_AddStringToObject(a, "type", k);
    else if (!strcmp(k, "oauth-client-credentials-flow"))
        cJSON_AddStringToObject(a, "type", "oauth2");
    else {
        snprintf(why, wl, "authentication.type '%.40s' is not supported (noAuth, basic, bearer, apiKey, "
                 "oauth-client-credentials-flow)", k);
        ok = false;
    }
    for (size_t i = 0; ok && i < sizeof(fields) / sizeof(fields[0]); i++) {
        char *v = input_str(vars, fields[i][0]);
        if (v && fields[i][2])
            cJSON_AddStringToObject(secrets, fields[i][2], v);
        else if (v)
            cJSON_AddStringToObject(a, fields[i][1], v);
        if (v)
            sodium_memzero(v, strlen(v));
        free(v);
    }
    if (ok && !strcmp(k, "oauth-client-credentials-flow")) {
        if (!cJSON_GetObjectItem(a, "clientAuthentication"))   /* Camunda's default */
            cJSON_AddStringToObject(a, "clientAuthentication", "basicAuthHeader");
        if (!cJSON_GetObjectItem(a, "tokenUrl")) {
            snprintf(why, wl, "input 'authentication.oauthTokenEndpoint' is missing");
            ok = false;
        }
    }
    if (ok && !strcmp(k, "apiKey")) {   /* Camunda: apiKeyLocation headers | query */
        char *loc = input_str(vars, "authentication.apiKeyLocation");
        cJSON_AddStringToObject(a, "in", loc && !strcmp(loc, "query") ? "query" : "header");
        free(loc);
    }
    free(kind);
    if (!ok) {
        cJSON_Delete(config);
        cJSON_Delete(secrets);
        return NULL;
    }
    /* the token cache key: the same endpoint, client and secret share tokens */
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    char *cache = cJSON_PrintUnformatted(a), *sc = cJSON_PrintUnformatted(secrets);
    crypto_generichash_update(&st, (const unsigned char *)c->tenant, strlen(c->tenant) + 1);
    if (cache)
        crypto_generichash_update(&st, (const unsigned char *)cache, strlen(cache) + 1);
    if (sc) {
        crypto_generichash_update(&st, (const unsigned char *)sc, strlen(sc));
        sodium_memzero(sc, strlen(sc));
    }
    crypto_generichash_final(&st, h, sizeof(h));
    cJSON_free(cache);
    cJSON_free(sc);
    char key[40] = "hj_";
    sodium_bin2hex(key + 3, sizeof(key) - 3, h, sizeof(h));
    *call = (integ_call_t){ .method = method ? method : "GET", .path = "", .query = maps[1], .headers = maps[0],
                            .body = owned[2], .content_type = owned[2] ? "application/json" : NULL };
    return integ_job_unsaved(c->tenant, key, config, secrets);
}

/* The call of a type="integration" task: the stored connector of its `connector` header. */
static integ_job_t *stored_call(const conn_job_t *c, const cJSON *vars, integ_call_t *call, char **owned,
                                cJSON **maps, char *why, size_t wl)
{
    const char *ref = header(c, "connector");
    if (!ref) {
        snprintf(why, wl, "the task header 'connector' (a stored connector's id or name) is missing");
        return NULL;
    }
    owned[0] = input_str(vars, "path");
    owned[1] = input_str(vars, "method");
    const char *method = owned[1] ? owned[1] : header(c, "method") ? header(c, "method") : "GET";
    if (strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != strlen(method) ||
        strlen(method) > 10) {
        snprintf(why, wl, "method '%.20s' is not an HTTP method", method);
        return NULL;
    }
    if (!input_map(vars, "headers", &maps[0], why, wl) || !input_map(vars, "query", &maps[1], why, wl))
        return NULL;
    owned[2] = input_body(vars, "body");
    integ_job_t *ij = integ_job_stored(c->tenant, ref, why, wl);
    *call = (integ_call_t){ .method = method, .path = owned[0] ? owned[0] : header(c, "path"), .query = maps[1],
                            .headers = maps[0], .body = owned[2],
                            .content_type = owned[2] ? "application/json" : NULL };
    return ij;
}

/* ---- the answer, on the worker thread ---- */

static feel_value_t *make_error(feel_eval_t *ev, const char *type, feel_value_t **args, size_t n,
                                const char *const *names)
{
    feel_value_t *o = feel_context(ev);
    feel_ctx_put(ev, o, "errorType", feel_cstr(ev, type));
    for (size_t i = 0; i < n; i++)
        feel_ctx_put(ev, o, names[i], args[i]);
    return o;
}

static const char *BPMN_PARAMS[] = { "code", "message", "variables" };
static const char *JOB_PARAMS[] = { "message", "variables", "retries", "timeout" };

static feel_value_t *fn_bpmn_error(feel_eval_t *ev, void *ud, feel_value_t **args, size_t n)
{
    (void)ud;
    return make_error(ev, "bpmnError", args, n < 3 ? n : 3, BPMN_PARAMS);
}

static feel_value_t *fn_job_error(feel_eval_t *ev, void *ud, feel_value_t **args, size_t n)
{
    (void)ud;
    return make_error(ev, "jobError", args, n < 4 ? n : 4, JOB_PARAMS);
}

/* FEEL text ('=' optional) over the members of ctx, with bpmnError() and jobError();
 * the value as JSON (caller deletes; JSON null for null) or NULL with why. */
static cJSON *eval_over(const char *text, const cJSON *ctx, char *why, size_t wl)
{
    while (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')
        text++;
    if (*text == '=')
        text++;
    feel_perr_t pe = { 0 };
    feel_expr_t *e = feel_parse(text, FEEL_EXPR, NULL, &pe);
    if (!e) {
        snprintf(why, wl, "FEEL error at %d:%d: %s", pe.line, pe.col, pe.msg);
        return NULL;
    }
    feel_eval_t *ev = feel_eval_thread();
    if (!ev) {
        feel_expr_free(e);
        snprintf(why, wl, "out of memory");
        return NULL;
    }
    feel_value_t *c = dmn_inputs_from_json(ev, NULL, ctx);
    feel_ctx_put(ev, c, "bpmnError", feel_native(ev, fn_bpmn_error, NULL, BPMN_PARAMS, 3));
    feel_ctx_put(ev, c, "jobError", feel_native(ev, fn_job_error, NULL, JOB_PARAMS, 4));
    feel_value_t *v = feel_eval(ev, e, c);
    const char *err = feel_eval_error(ev);
    cJSON *out = err ? NULL : dmn_to_json(ev, v);
    if (!out)
        snprintf(why, wl, "%s", err ? err : "the value cannot be JSON");
    feel_expr_free(e);
    feel_eval_reset(ev);
    return out;
}

/* {status, headers, body}: a JSON body parsed (within the request-body limits), else text. */
static cJSON *response_of(const integ_result_t *r, char *why, size_t wl)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "status", (double)r->status);
    cJSON_AddItemToObject(o, "headers", r->headers ? cJSON_Duplicate(r->headers, true) : cJSON_CreateObject());
    cJSON *body = NULL;
    if (r->body && r->len) {
        fm_json_err_t je;
        body = cJSON_ParseWithLength(r->body, r->len);
        if (body && fm_json_check(r->body, r->len, FM_JSON_MAX_DEPTH, &je) != FM_JSON_OK) {
            snprintf(why, wl, "the JSON response nests too deep or is not UTF-8 at '%.200s' (byte %zu)",
                     je.pointer, je.offset);
            cJSON_Delete(body);
            cJSON_Delete(o);
            return NULL;
        }
        if (!body)
            body = cJSON_CreateString(r->body);
    }
    cJSON_AddItemToObject(o, "body", body ? body : cJSON_CreateNull());
    return o;
}

static void answer(fm_db_t *db, conn_job_t *c)
{
    const integ_result_t *r = integ_job_result(c->ij);
    char why[400], msg[600];
    bool ok = r->status >= 200 && r->status < 300;
    const char *backoff_text = header(c, "retryBackoff");
    int64_t backoff = backoff_text ? iso_ms(backoff_text) : 0;
    if (backoff < 0) {
        snprintf(msg, sizeof(msg), "retryBackoff '%.40s' is not an ISO 8601 duration (e.g. PT10S)", backoff_text);
        fail_now(db, c, msg);
        return;
    }
    cJSON *resp = response_of(r, why, sizeof(why));
    if (!resp) {
        fail_now(db, c, why);
        return;
    }
    /* the context of the expressions: response and its members, and error when it failed */
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddItemToObject(ctx, "response", cJSON_Duplicate(resp, true));
    const cJSON *x;
    cJSON_ArrayForEach(x, resp) cJSON_AddItemToObject(ctx, x->string, cJSON_Duplicate(x, true));
    if (ok) {
        cJSON_AddNullToObject(ctx, "error");
    } else {
        cJSON *e = cJSON_AddObjectToObject(ctx, "error");
        char code[24];
        snprintf(code, sizeof(code), "%ld", r->status);
        cJSON_AddStringToObject(e, "code", r->status ? code : r->timed_out ? "TIMEOUT" : "NO_RESPONSE");
        if (r->status)
            snprintf(msg, sizeof(msg), "HTTP %ld", r->status);
        else
            snprintf(msg, sizeof(msg), "%s", r->error[0] ? r->error : "no answer");
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddItemToObject(e, "response", cJSON_Duplicate(resp, true));
    }
    const char *ee = header(c, "errorExpression");
    cJSON *err = ee ? eval_over(ee, ctx, why, sizeof(why)) : cJSON_CreateNull();
    if (!err) {
        snprintf(msg, sizeof(msg), "errorExpression: %s", why);
        fail_now(db, c, msg);
    } else if (cJSON_IsObject(err) && cJSON_GetObjectItem(err, "errorType")) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(err, "errorType"));
        const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(err, "code"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(err, "message"));
        const cJSON *vars = cJSON_GetObjectItem(err, "variables");
        const cJSON *rt = cJSON_GetObjectItem(err, "retries");
        if (!strcmp(type ? type : "", "bpmnError") && (!code || !*code)) {
            fail_now(db, c, "errorExpression: bpmnError() without a code");
        } else if (!strcmp(type ? type : "", "bpmnError")) {
            ex_job_fail_vars(db, c->tenant, c->job, m ? m : code, 0, 0, code, cJSON_IsObject(vars) ? vars : NULL,
                             why, sizeof(why));
        } else {
            snprintf(msg, sizeof(msg), "%s connector of '%.100s': %.300s", c->type, c->element, m ? m : "jobError");
            ex_job_fail_vars(db, c->tenant, c->job, msg, cJSON_IsNumber(rt) ? (int)rt->valuedouble : -1, backoff,
                             NULL, cJSON_IsObject(vars) ? vars : NULL, why, sizeof(why));
        }
    } else if (!cJSON_IsNull(err)) {
        fail_now(db, c, "errorExpression gave neither null nor bpmnError(…)/jobError(…)");
    } else if (!ok) {
        if (r->status)
            snprintf(msg, sizeof(msg), "%s connector of '%.100s': HTTP %ld", c->type, c->element, r->status);
        else
            snprintf(msg, sizeof(msg), "%s connector of '%.100s': %.300s", c->type, c->element,
                     r->error[0] ? r->error : "no answer");
        ex_job_fail(db, c->tenant, c->job, msg, -1, r->too_big ? 0 : backoff, NULL, why, sizeof(why));
    } else {
        cJSON *vars = cJSON_CreateObject();
        const char *rv = header(c, "resultVariable"), *re = header(c, "resultExpression");
        bool good = true;
        if (rv)
            cJSON_AddItemToObject(vars, rv, cJSON_Duplicate(resp, true));
        if (re) {
            cJSON *m = eval_over(re, ctx, why, sizeof(why));
            if (!m || (!cJSON_IsObject(m) && !cJSON_IsNull(m))) {
                snprintf(msg, sizeof(msg), "resultExpression %s", m ? "must give a context ({name: value, …})" : why);
                fail_now(db, c, msg);
                good = false;
            } else {
                cJSON *y;
                cJSON_ArrayForEach(y, m)
                {
                    cJSON_DeleteItemFromObjectCaseSensitive(vars, y->string);
                    cJSON_AddItemToObject(vars, y->string, cJSON_Duplicate(y, true));
                }
            }
            cJSON_Delete(m);
        }
        if (good)
            ex_job_complete(db, c->tenant, c->job, vars, why, sizeof(why));
        cJSON_Delete(vars);
    }
    cJSON_Delete(err);
    cJSON_Delete(ctx);
    cJSON_Delete(resp);
}

static void on_worker(void *arg)
{
    conn_job_t *c = arg;
    answer(ex_db(), c);
    char origin[100];
    snprintf(origin, sizeof(origin), "%s/%s", c->inst, c->job);
    integ_job_finish(c->ij, origin);
    conn_free(c);
}

static void on_answer(integ_job_t *ij, void *arg)
{
    (void)ij;
    conn_job_t *c = arg;
    if (ex_work_post(on_worker, c) != FM_OK) {      /* the engine is stopping: recovery runs it again */
        integ_job_finish(c->ij, NULL);
        conn_free(c);
    }
}

bool ex_conn_run(fm_db_t *db, const char *job)
{
    conn_job_t *c = calloc(1, sizeof(*c));
    if (!c)
        return false;
    snprintf(c->job, sizeof(c->job), "%s", job);
    int rc = fm_dbq_read_one(db, "SELECT tenant_id, instance_id, token_id, type, headers, element FROM jobs "
                             "WHERE id = ? AND state = 'activatable'", job_row, c, "s", job);
    if (rc != FM_OK || !ex_conn_is(c->type)) {
        conn_free(c);
        return false;
    }
    cJSON *vars = NULL;
    if (ex_store_token_vars(db, c->tenant, c->inst, c->token, &vars) != FM_OK || !vars) {
        conn_free(c);
        return true;
    }
    char why[400] = "";
    char *owned[3] = { NULL, NULL, NULL };
    cJSON *maps[2] = { NULL, NULL };
    integ_call_t call;
    c->ij = !strcmp(c->type, CAMUNDA_REST) ? camunda_call(c, vars, &call, owned, maps, why, sizeof(why))
                                           : stored_call(c, vars, &call, owned, maps, why, sizeof(why));
    if (!c->ij) {
        fail_now(db, c, why[0] ? why : "out of memory");
        conn_free(c);
    } else if (integ_job_send(c->ij, &call, on_answer, c) != FM_OK) {
        char why2[300];
        snprintf(why, sizeof(why), "%s connector of '%s': the request could not be started", c->type, c->element);
        ex_job_fail(db, c->tenant, c->job, why, -1, 0, NULL, why2, sizeof(why2));
        integ_job_finish(c->ij, NULL);
        conn_free(c);
    }
    for (int i = 0; i < 3; i++)
        free(owned[i]);
    cJSON_Delete(maps[0]);
    cJSON_Delete(maps[1]);
    cJSON_Delete(vars);
    return true;
}
