/*
 * integrations.c — External Integration (9015): the routes. Stored connectors (CRUD with
 * If-Match, execute, test, call log) and inbound webhooks (CRUD, deliveries; the public
 * POST /hooks/{id} is in integ_hooks.c). Request bodies are checked here field by field
 * and turned into a record whose secrets live apart from its config (integ_int.h).
 * docs/integrations.md is the contract.
 */
#include "integ_int.h"

#include "../../dmn/dmn.h"
#include "../../feel/feel.h"
#include "../../fm_json_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_CHARS "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

/* ---- FEEL over JSON variables (shared with integ_hooks.c) ---- */

int integ_feel(const char *text, const cJSON *vars, cJSON **out, char *why, size_t wl)
{
    size_t nk = (size_t)cJSON_GetArraySize(vars);
    const char **names = calloc(nk + 1, sizeof(*names));
    if (!names)
        return FM_ENOMEM;
    size_t k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, vars) names[k++] = x->string;
    feel_perr_t pe = { 0 };
    feel_expr_t *e = feel_parse(text, FEEL_EXPR, names, &pe);
    free(names);
    if (!e) {
        snprintf(why, wl, "'%.100s' does not parse: line %d, column %d: %s", text, pe.line, pe.col, pe.msg);
        return FM_EINVAL;
    }
    feel_eval_t *ev = feel_eval_thread();
    if (!ev) {
        feel_expr_free(e);
        return FM_ENOMEM;
    }
    feel_value_t *v = feel_eval(ev, e, dmn_inputs_from_json(ev, NULL, vars));
    *out = dmn_to_json(ev, v);
    const char *err = feel_eval_error(ev);
    int rc = FM_OK;
    if (err || !*out) {
        snprintf(why, wl, "'%.100s' failed: %s", text, err ? err : "no value");
        cJSON_Delete(*out);
        *out = NULL;
        rc = FM_EINVAL;
    }
    feel_expr_free(e);
    feel_eval_reset(ev);
    return rc;
}

bool integ_feel_parses(const char *text, char *why, size_t wl)
{
    feel_perr_t pe = { 0 };
    feel_expr_t *e = feel_parse(text, FEEL_EXPR, NULL, &pe);
    if (!e)
        snprintf(why, wl, "does not parse: line %d, column %d: %s", pe.line, pe.col, pe.msg);
    feel_expr_free(e);
    return e != NULL;
}

/* ---- shared checks ---- */

static bool http_url(const char *u)
{
    return u && (!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8)) && !strpbrk(u, " \r\n\t");
}

static bool only_chars(const char *s, const char *set)
{
    return s && *s && strspn(s, set) == strlen(s);
}

/* Header maps: at most 50 members, names are HTTP tokens, values strings without CR/LF. */
static bool header_map(fm_req_t *r, const cJSON *h, const char *field, bool allow_feel)
{
    if (!h)
        return true;
    if (!cJSON_IsObject(h))
        return fm_reply_invalid(r, field, "must be an object of header names to strings"), false;
    if (cJSON_GetArraySize(h) > 50)
        return fm_reply_invalid(r, field, "at most 50 headers"), false;
    const cJSON *x;
    cJSON_ArrayForEach(x, h)
    {
        char f[160];
        snprintf(f, sizeof(f), "%s/%.60s", field, x->string);
        if (!only_chars(x->string, TOKEN_CHARS) || strlen(x->string) > 100)
            return fm_reply_invalid(r, f, "a header name is 1–100 token characters"), false;
        if (!cJSON_IsString(x) || strpbrk(x->valuestring, "\r\n") || strlen(x->valuestring) > 8192)
            return fm_reply_invalid(r, f, "a header value is a string of at most 8192 bytes without CR or LF"),
                   false;
        (void)allow_feel;
    }
    return true;
}

static bool int_in(fm_req_t *r, const cJSON *o, const char *name, const char *where, long lo, long hi)
{
    const cJSON *n = cJSON_GetObjectItem(o, name);
    if (!n)
        return true;
    if (!cJSON_IsNumber(n) || n->valuedouble != (double)(long)n->valuedouble || n->valuedouble < lo ||
        n->valuedouble > hi) {
        char f[120], d[120];
        snprintf(f, sizeof(f), "%s/%s", where, name);
        snprintf(d, sizeof(d), "must be an integer from %ld to %ld", lo, hi);
        fm_reply_invalid(r, f, d);
        return false;
    }
    return true;
}

static bool str_field(fm_req_t *r, const cJSON *o, const char *name, const char *where, bool required,
                      size_t max, const char **out)
{
    const cJSON *s = cJSON_GetObjectItem(o, name);
    char f[120], d[120];
    snprintf(f, sizeof(f), "%s/%s", where, name);
    if (!s && !required) {
        *out = NULL;
        return true;
    }
    if (!cJSON_IsString(s) || !*s->valuestring || strlen(s->valuestring) > max) {
        snprintf(d, sizeof(d), "%s a string of 1 to %zu bytes", s ? "must be" : "is required:", max);
        fm_reply_invalid(r, f, d);
        return false;
    }
    *out = s->valuestring;
    return true;
}

static void take_secret(cJSON *from, const char *name, cJSON *secrets, const char *key)
{
    cJSON *s = cJSON_DetachItemFromObject(from, name);
    if (cJSON_IsString(s))
        cJSON_AddItemToObject(secrets, key, s);
    else
        cJSON_Delete(s);
}

static const char *const top_conn[] = { "name", "kind", "baseUrl", "auth", "headers", "timeouts", "retry", "tls",
                                        "followRedirects", "maxResponseBytes", "description", NULL };

/* The body of POST/PUT /integrations as a record (config + secrets); FM_REPLIED after a 422. */
static int connector_from(fm_req_t *r, integ_rec_t *rec, const integ_rec_t *old)
{
    static const fm_field_t f[] = {
        { "name", FM_F_STRING, true, 1, 64, INTEG_NAME_CHARS },
        { "kind", FM_F_STRING, false, 1, 16, NULL },
        { "baseUrl", FM_F_URL, true, 8, 2048, NULL },
        { "auth", FM_F_OBJECT, false, 0, 0, NULL },
        { "headers", FM_F_OBJECT, false, 0, 0, NULL },
        { "timeouts", FM_F_OBJECT, false, 0, 0, NULL },
        { "retry", FM_F_OBJECT, false, 0, 0, NULL },
        { "tls", FM_F_OBJECT, false, 0, 0, NULL },
        { "followRedirects", FM_F_BOOL, false, 0, 0, NULL },
        { "maxResponseBytes", FM_F_INT, false, 1, 16 << 20, NULL },
        { "description", FM_F_STRING, false, 0, 1000, NULL },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return FM_REPLIED;
    cJSON *j = fm_req_json(r);
    if (!fm_req_members_known(r, j, "", top_conn, "docs/integrations.md"))
        return FM_REPLIED;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(j, "kind"));
    if (kind && strcmp(kind, "http"))
        return fm_reply_invalid(r, "kind", "only 'http' connectors exist"), FM_REPLIED;
    if (!http_url(cJSON_GetObjectItem(j, "baseUrl")->valuestring))
        return fm_reply_invalid(r, "baseUrl", "must be an http:// or https:// URL"), FM_REPLIED;
    const cJSON *auth = cJSON_GetObjectItem(j, "auth");
    static const char *const auth_known[] = { "type", "username", "password", "token", "in", "name", "value",
                                              "tokenUrl", "clientId", "clientSecret", "scope", "audience", NULL };
    if (!fm_req_members_known(r, auth, "auth", auth_known, "docs/integrations.md"))
        return FM_REPLIED;
    const char *type = auth ? cJSON_GetStringValue(cJSON_GetObjectItem(auth, "type")) : "none";
    const char *s = NULL;
    /* secrets omitted from a PUT keep their stored values when the auth type stays */
    const cJSON *oldauth = old ? cJSON_GetObjectItem(old->config, "auth") : NULL;
    bool same = old && type && !strcmp(type, cJSON_GetStringValue(cJSON_GetObjectItem(oldauth, "type"))
                                                 ? cJSON_GetStringValue(cJSON_GetObjectItem(oldauth, "type"))
                                                 : "none");
#define NEED_SECRET(field, key)                                                                                \
    if (!cJSON_GetObjectItem(auth, field) &&                                                                   \
        !(same && cJSON_GetObjectItem(old->secrets, key))) {                                                   \
        fm_reply_invalid(r, "auth/" field, "is required for auth type '" field "' connectors");               \
        return FM_REPLIED;                                                                                     \
    }                                                                                                          \
    if (cJSON_GetObjectItem(auth, field) && !str_field(r, auth, field, "auth", true, 4096, &s))                \
        return FM_REPLIED;
    if (!type)
        return fm_reply_invalid(r, "auth/type", "is required: none, basic, bearer, apiKey or oauth2"), FM_REPLIED;
    if (!strcmp(type, "basic")) {
        if (!str_field(r, auth, "username", "auth", true, 256, &s))
            return FM_REPLIED;
        NEED_SECRET("password", "auth.password")
    } else if (!strcmp(type, "bearer")) {
        NEED_SECRET("token", "auth.token")
    } else if (!strcmp(type, "apiKey")) {
        const char *in = cJSON_GetStringValue(cJSON_GetObjectItem(auth, "in"));
        if (in && strcmp(in, "header") && strcmp(in, "query"))
            return fm_reply_invalid(r, "auth/in", "must be 'header' or 'query'"), FM_REPLIED;
        if (!str_field(r, auth, "name", "auth", true, 100, &s))
            return FM_REPLIED;
        if ((!in || !strcmp(in, "header")) && !only_chars(s, TOKEN_CHARS))
            return fm_reply_invalid(r, "auth/name", "a header name is token characters"), FM_REPLIED;
        NEED_SECRET("value", "auth.value")
    } else if (!strcmp(type, "oauth2")) {
        if (!str_field(r, auth, "tokenUrl", "auth", true, 2048, &s))
            return FM_REPLIED;
        if (!http_url(s))
            return fm_reply_invalid(r, "auth/tokenUrl", "must be an http:// or https:// URL"), FM_REPLIED;
        if (!str_field(r, auth, "clientId", "auth", true, 512, &s) ||
            !str_field(r, auth, "scope", "auth", false, 1024, &s) ||
            !str_field(r, auth, "audience", "auth", false, 1024, &s))
            return FM_REPLIED;
        NEED_SECRET("clientSecret", "auth.clientSecret")
    } else if (strcmp(type, "none")) {
        return fm_reply_invalid(r, "auth/type", "must be none, basic, bearer, apiKey or oauth2"), FM_REPLIED;
    }
#undef NEED_SECRET
    if (!header_map(r, cJSON_GetObjectItem(j, "headers"), "headers", false))
        return FM_REPLIED;
    const cJSON *t = cJSON_GetObjectItem(j, "timeouts"), *rt = cJSON_GetObjectItem(j, "retry");
    const cJSON *tls = cJSON_GetObjectItem(j, "tls");
    static const char *const t_known[] = { "connectMs", "totalMs", NULL };
    static const char *const r_known[] = { "maxAttempts", "backoffMs", NULL };
    static const char *const tls_known[] = { "verify", "caFile", NULL };
    if (!fm_req_members_known(r, t, "timeouts", t_known, "docs/integrations.md") || !int_in(r, t, "connectMs", "timeouts", 1, 600000) ||
        !int_in(r, t, "totalMs", "timeouts", 1, 600000) || !fm_req_members_known(r, rt, "retry", r_known, "docs/integrations.md") ||
        !int_in(r, rt, "maxAttempts", "retry", 1, 10) || !int_in(r, rt, "backoffMs", "retry", 0, 60000) ||
        !fm_req_members_known(r, tls, "tls", tls_known, "docs/integrations.md") || !str_field(r, tls, "caFile", "tls", false, 1024, &s))
        return FM_REPLIED;
    if (cJSON_GetObjectItem(tls, "verify") && !cJSON_IsBool(cJSON_GetObjectItem(tls, "verify")))
        return fm_reply_invalid(r, "tls/verify", "must be true or false"), FM_REPLIED;
    /* the record: config without secrets */
    rec->config = cJSON_Duplicate(j, true);
    rec->secrets = cJSON_CreateObject();
    if (!rec->config || !rec->secrets)
        return FM_ENOMEM;
    cJSON_DeleteItemFromObject(rec->config, "kind");
    cJSON_AddStringToObject(rec->config, "kind", "http");
    cJSON *a = cJSON_GetObjectItem(rec->config, "auth");
    if (!a)
        cJSON_AddItemToObject(rec->config, "auth", a = cJSON_CreateObject()), cJSON_AddStringToObject(a, "type", "none");
    take_secret(a, "password", rec->secrets, "auth.password");
    take_secret(a, "token", rec->secrets, "auth.token");
    take_secret(a, "value", rec->secrets, "auth.value");
    take_secret(a, "clientSecret", rec->secrets, "auth.clientSecret");
    if (same) {
        const cJSON *x;
        cJSON_ArrayForEach(x, old->secrets) if (!cJSON_GetObjectItem(rec->secrets, x->string))
            cJSON_AddItemToObject(rec->secrets, x->string, cJSON_Duplicate(x, true));
    }
    snprintf(rec->name, sizeof(rec->name), "%s", cJSON_GetObjectItem(j, "name")->valuestring);
    snprintf(rec->tenant, sizeof(rec->tenant), "%s", fm_req_tenant(r));
    return FM_OK;
}

/* ---- webhooks ---- */

static const char *const top_hook[] = { "name", "verification", "action", "deliveryIdHeader", "description", NULL };

static int webhook_from(fm_req_t *r, integ_rec_t *rec, const integ_rec_t *old)
{
    static const fm_field_t f[] = {
        { "name", FM_F_STRING, true, 1, 64, INTEG_NAME_CHARS },
        { "verification", FM_F_OBJECT, true, 0, 0, NULL },
        { "action", FM_F_OBJECT, true, 0, 0, NULL },
        { "deliveryIdHeader", FM_F_STRING, false, 1, 100, TOKEN_CHARS },
        { "description", FM_F_STRING, false, 0, 1000, NULL },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return FM_REPLIED;
    cJSON *j = fm_req_json(r);
    if (!fm_req_members_known(r, j, "", top_hook, "docs/integrations.md"))
        return FM_REPLIED;
    const cJSON *v = cJSON_GetObjectItem(j, "verification"), *a = cJSON_GetObjectItem(j, "action");
    static const char *const v_known[] = { "type", "secret", "header", "token", "toleranceSeconds", NULL };
    static const char *const a_known[] = { "type", "processId", "variables", "businessKey", "messageName",
                                           "correlationKey", "eventType", NULL };
    if (!fm_req_members_known(r, v, "verification", v_known, "docs/integrations.md") || !fm_req_members_known(r, a, "action", a_known, "docs/integrations.md"))
        return FM_REPLIED;
    const char *vt = cJSON_GetStringValue(cJSON_GetObjectItem(v, "type")), *s = NULL;
    if (!vt || (strcmp(vt, "github") && strcmp(vt, "stripe") && strcmp(vt, "hmac") && strcmp(vt, "token")))
        return fm_reply_invalid(r, "verification/type", "must be github, stripe, hmac or token"), FM_REPLIED;
    const cJSON *oldv = old ? cJSON_GetObjectItem(old->config, "verification") : NULL;
    bool same = old && !strcmp(vt, cJSON_GetStringValue(cJSON_GetObjectItem(oldv, "type")) ?: "");
    const char *sec = strcmp(vt, "token") ? "secret" : "token";
    char key[40];
    snprintf(key, sizeof(key), "verification.%s", sec);
    if (!cJSON_GetObjectItem(v, sec) && !(same && cJSON_GetObjectItem(old->secrets, key))) {
        char fld[40];
        snprintf(fld, sizeof(fld), "verification/%s", sec);
        return fm_reply_invalid(r, fld, "is required"), FM_REPLIED;
    }
    if (cJSON_GetObjectItem(v, sec) && !str_field(r, v, sec, "verification", true, 512, &s))
        return FM_REPLIED;
    if (!strcmp(vt, "token") && s && strlen(s) < 16)
        return fm_reply_invalid(r, "verification/token", "must be at least 16 characters"), FM_REPLIED;
    if (!str_field(r, v, "header", "verification", false, 100, &s) ||
        !int_in(r, v, "toleranceSeconds", "verification", 1, 86400))
        return FM_REPLIED;
    if (s && !only_chars(s, TOKEN_CHARS))
        return fm_reply_invalid(r, "verification/header", "a header name is token characters"), FM_REPLIED;
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(a, "type"));
    char why[300];
    if (!at || (strcmp(at, "startProcess") && strcmp(at, "correlateMessage") && strcmp(at, "publishEvent")))
        return fm_reply_invalid(r, "action/type", "must be startProcess, correlateMessage or publishEvent"),
               FM_REPLIED;
    const cJSON *vars = cJSON_GetObjectItem(a, "variables");
    if (vars && (!cJSON_IsObject(vars) || cJSON_GetArraySize(vars) > 100))
        return fm_reply_invalid(r, "action/variables", "must be an object of at most 100 FEEL expressions"),
               FM_REPLIED;
    const cJSON *x;
    cJSON_ArrayForEach(x, vars)
    {
        char fld[120];
        snprintf(fld, sizeof(fld), "action/variables/%.60s", x->string);
        if (!cJSON_IsString(x) || strlen(x->valuestring) > 4096)
            return fm_reply_invalid(r, fld, "must be a FEEL expression (a string of at most 4096 bytes)"),
                   FM_REPLIED;
        if (!integ_feel_parses(x->valuestring, why, sizeof(why)))
            return fm_reply_invalid(r, fld, why), FM_REPLIED;
    }
    if (!strcmp(at, "startProcess") && !str_field(r, a, "processId", "action", true, 200, &s))
        return FM_REPLIED;
    if (!str_field(r, a, "businessKey", "action", false, 4096, &s))
        return FM_REPLIED;
    if (s && !integ_feel_parses(s, why, sizeof(why)))
        return fm_reply_invalid(r, "action/businessKey", why), FM_REPLIED;
    if (!strcmp(at, "correlateMessage")) {
        if (!str_field(r, a, "messageName", "action", true, 200, &s) ||
            !str_field(r, a, "correlationKey", "action", true, 4096, &s))
            return FM_REPLIED;
        if (!integ_feel_parses(s, why, sizeof(why)))
            return fm_reply_invalid(r, "action/correlationKey", why), FM_REPLIED;
    }
    if (!strcmp(at, "publishEvent")) {
        if (!str_field(r, a, "eventType", "action", true, 200, &s))
            return FM_REPLIED;
        if (!only_chars(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"))
            return fm_reply_invalid(r, "action/eventType", "letters, digits, '.', '_' and '-' only"), FM_REPLIED;
    }
    rec->config = cJSON_Duplicate(j, true);
    rec->secrets = cJSON_CreateObject();
    if (!rec->config || !rec->secrets)
        return FM_ENOMEM;
    cJSON *cv = cJSON_GetObjectItem(rec->config, "verification");
    take_secret(cv, "secret", rec->secrets, "verification.secret");
    take_secret(cv, "token", rec->secrets, "verification.token");
    if (same)
        cJSON_ArrayForEach(x, old->secrets) if (!cJSON_GetObjectItem(rec->secrets, x->string))
            cJSON_AddItemToObject(rec->secrets, x->string, cJSON_Duplicate(x, true));
    snprintf(rec->name, sizeof(rec->name), "%s", cJSON_GetObjectItem(j, "name")->valuestring);
    snprintf(rec->tenant, sizeof(rec->tenant), "%s", fm_req_tenant(r));
    return FM_OK;
}

/* ---- CRUD shared by both kinds ---- */

static const char *what(integ_kind_t k)
{
    return k == INTEG_CONNECTOR ? "integration" : "webhook";
}

static void set_etag(fm_req_t *r, const integ_rec_t *rec)
{
    char tag[80];
    snprintf(tag, sizeof(tag), "\"%s.v%d\"", rec->id, rec->version);
    fm_reply_header(r, "ETag", tag);
}

static cJSON *public_json(integ_kind_t k, const integ_rec_t *rec)
{
    cJSON *o = integ_rec_json(rec);
    if (k == INTEG_WEBHOOK) {
        char p[80];
        snprintf(p, sizeof(p), "/hooks/%s", rec->id);
        cJSON_AddStringToObject(o, "hookPath", p);
        cJSON_AddNumberToObject(o, "hookPort", 9015);
    }
    return o;
}

static int create_kind(fm_req_t *r, integ_kind_t k)
{
    integ_rec_t rec = { 0 };
    int rc = k == INTEG_CONNECTOR ? connector_from(r, &rec, NULL) : webhook_from(r, &rec, NULL);
    if (rc == FM_OK)
        rc = integ_insert(db_of(r), k, &rec);
    if (rc == FM_ECONFLICT) {
        integ_rec_clear(&rec);
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "a %s named '%s' exists already", what(k), rec.name);
    }
    if (rc != FM_OK) {
        integ_rec_clear(&rec);
        return rc == FM_REPLIED ? FM_OK : rc;
    }
    char loc[96];
    snprintf(loc, sizeof(loc), "/%s/%s", k == INTEG_CONNECTOR ? "integrations" : "webhooks", rec.id);
    fm_reply_header(r, "Location", loc);
    set_etag(r, &rec);
    cJSON *o = public_json(k, &rec);
    integ_rec_clear(&rec);
    return fm_reply_json(r, 201, o);
}

static int not_found(fm_req_t *r, integ_kind_t k)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no %s '%s'", what(k), fm_req_param(r, "id"));
}

static int get_kind(fm_req_t *r, integ_kind_t k)
{
    integ_rec_t rec;
    int rc = integ_get(db_of(r), k, fm_req_tenant(r), fm_req_param(r, "id"), &rec);
    if (rc == FM_ENOTFOUND)
        return not_found(r, k);
    if (rc != FM_OK)
        return rc;
    set_etag(r, &rec);
    cJSON *o = public_json(k, &rec);
    integ_rec_clear(&rec);
    return fm_reply_json(r, 200, o);
}

static int list_kind(fm_req_t *r, integ_kind_t k)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = integ_list(db_of(r), k, fm_req_tenant(r), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    if (k == INTEG_WEBHOOK) {
        cJSON *x;
        cJSON_ArrayForEach(x, items)
        {
            char p[80];
            snprintf(p, sizeof(p), "/hooks/%s", cJSON_GetStringValue(cJSON_GetObjectItem(x, "id")));
            cJSON_AddStringToObject(x, "hookPath", p);
            cJSON_AddNumberToObject(x, "hookPort", 9015);
        }
    }
    return fm_reply_page(r, items, offset, total);
}

/* If-Match "<id>.vN" → N; -1 when it names another version or is not ours. */
static int if_match(const char *h, const char *id)
{
    char want[64];
    int n = snprintf(want, sizeof(want), "\"%s.v", id);
    const char *q = strstr(h, want);
    if (!q)
        return -1;
    char *end;
    long v = strtol(q + n, &end, 10);
    return end != q + n && *end == '"' && v > 0 && v < 1000000000 ? (int)v : -1;
}

static int stale(fm_req_t *r, integ_kind_t k, int current)
{
    return fm_reply_problem(r, 412, NULL, NULL, NULL, "%s '%s' is at version %d; If-Match was %s", what(k),
                            fm_req_param(r, "id"), current, fm_req_header(r, "If-Match"));
}

static int put_kind(fm_req_t *r, integ_kind_t k)
{
    const char *im = fm_req_header(r, "If-Match");
    integ_rec_t old;
    int rc = integ_get(db_of(r), k, fm_req_tenant(r), fm_req_param(r, "id"), &old);
    if (rc == FM_ENOTFOUND)
        return not_found(r, k);
    if (rc != FM_OK)
        return rc;
    if (!im) {
        integ_rec_clear(&old);
        return fm_reply_problem(r, 428, NULL, "Precondition Required", NULL,
                                "send If-Match with the ETag of the version you changed");
    }
    int expect = strcmp(im, "*") ? if_match(im, old.id) : old.version;
    if (expect != old.version) {
        integ_rec_clear(&old);
        return stale(r, k, old.version);
    }
    integ_rec_t rec = { 0 };
    rc = k == INTEG_CONNECTOR ? connector_from(r, &rec, &old) : webhook_from(r, &rec, &old);
    if (rc == FM_OK) {
        memcpy(rec.id, old.id, sizeof(rec.id));
        rc = integ_update(db_of(r), k, &rec, expect);
    }
    integ_rec_clear(&old);
    if (rc == FM_OK && k == INTEG_CONNECTOR)
        integ_oauth_forget(rec.id);
    if (rc != FM_OK) {
        integ_rec_clear(&rec);
        if (rc == FM_ECONFLICT)
            return fm_reply_problem(r, 409, NULL, NULL, NULL, "a %s with that name exists already", what(k));
        if (rc == FM_ESTALE)
            return fm_reply_problem(r, 412, NULL, NULL, NULL, "the %s changed meanwhile; read it again", what(k));
        return rc == FM_REPLIED ? FM_OK : rc;
    }
    set_etag(r, &rec);
    cJSON *o = public_json(k, &rec);
    integ_rec_clear(&rec);
    return fm_reply_json(r, 200, o);
}

static int delete_kind(fm_req_t *r, integ_kind_t k)
{
    const char *id = fm_req_param(r, "id"), *im = fm_req_header(r, "If-Match");
    int current;
    int rc = integ_version(db_of(r), k, fm_req_tenant(r), id, &current);
    if (rc == FM_ENOTFOUND)
        return not_found(r, k);
    if (rc != FM_OK)
        return rc;
    int expect = im && strcmp(im, "*") ? if_match(im, id) : -1;
    if (im && strcmp(im, "*") && expect != current)
        return stale(r, k, current);
    rc = integ_delete(db_of(r), k, fm_req_tenant(r), id, expect);
    if (rc == FM_ESTALE)
        return fm_reply_problem(r, 412, NULL, NULL, NULL, "the %s changed meanwhile; read it again", what(k));
    if (rc == FM_OK && k == INTEG_CONNECTOR)
        integ_oauth_forget(id);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static int log_kind(fm_req_t *r, integ_kind_t k)
{
    int limit, offset, total = 0, v;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    int rc = integ_version(db_of(r), k, fm_req_tenant(r), fm_req_param(r, "id"), &v);
    if (rc == FM_ENOTFOUND)
        return not_found(r, k);
    if (rc != FM_OK)
        return rc;
    cJSON *items = cJSON_CreateArray();
    rc = integ_log_list(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int conn_create(fm_req_t *r) { return create_kind(r, INTEG_CONNECTOR); }
static int conn_list(fm_req_t *r) { return list_kind(r, INTEG_CONNECTOR); }
static int conn_get(fm_req_t *r) { return get_kind(r, INTEG_CONNECTOR); }
static int conn_put(fm_req_t *r) { return put_kind(r, INTEG_CONNECTOR); }
static int conn_delete(fm_req_t *r) { return delete_kind(r, INTEG_CONNECTOR); }
static int conn_calls(fm_req_t *r) { return log_kind(r, INTEG_CONNECTOR); }
static int hook_create(fm_req_t *r) { return create_kind(r, INTEG_WEBHOOK); }
static int hook_list(fm_req_t *r) { return list_kind(r, INTEG_WEBHOOK); }
static int hook_get(fm_req_t *r) { return get_kind(r, INTEG_WEBHOOK); }
static int hook_put(fm_req_t *r) { return put_kind(r, INTEG_WEBHOOK); }
static int hook_delete(fm_req_t *r) { return delete_kind(r, INTEG_WEBHOOK); }
static int hook_deliveries(fm_req_t *r) { return log_kind(r, INTEG_WEBHOOK); }

/* ---- execute and test ---- */

/* A string starting with '=' is FEEL over vars; anything else stays. Result as text
 * (for a path, a query value, a header). */
static int eval_text(fm_req_t *r, const char *field, const char *s, const cJSON *vars, char **out)
{
    if (*s != '=') {
        *out = strdup(s);
        return *out ? FM_OK : FM_ENOMEM;
    }
    cJSON *v = NULL;
    char why[400];
    if (integ_feel(s + 1, vars, &v, why, sizeof(why)) != FM_OK)
        return fm_reply_invalid(r, field, why), FM_REPLIED;
    if (cJSON_IsString(v))
        *out = strdup(v->valuestring);
    else if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        *out = cJSON_PrintUnformatted(v);
    else {
        cJSON_Delete(v);
        return fm_reply_invalid(r, field, "the expression must give a string, number or boolean"), FM_REPLIED;
    }
    cJSON_Delete(v);
    return *out ? FM_OK : FM_ENOMEM;
}

/* Values of a JSON body: "=…" strings anywhere are FEEL (depth bounded by the request's
 * JSON check). Replaces items in place. */
static int eval_tree(fm_req_t *r, cJSON *node, const cJSON *vars, int depth)
{
    cJSON *x = node ? node->child : NULL;
    while (x) {
        cJSON *next = x->next;
        if (cJSON_IsString(x) && x->valuestring[0] == '=') {
            cJSON *v = NULL;
            char why[400];
            if (integ_feel(x->valuestring + 1, vars, &v, why, sizeof(why)) != FM_OK)
                return fm_reply_invalid(r, "body", why), FM_REPLIED;
            if (cJSON_IsObject(node))   /* keeps the member's name */
                cJSON_ReplaceItemInObjectCaseSensitive(node, x->string, v);
            else
                cJSON_ReplaceItemViaPointer(node, x, v);
        } else if ((cJSON_IsObject(x) || cJSON_IsArray(x)) && depth < FM_JSON_MAX_DEPTH) {
            int rc = eval_tree(r, x, vars, depth + 1);
            if (rc != FM_OK)
                return rc;
        }
        x = next;
    }
    return FM_OK;
}

static cJSON *result_body(const integ_result_t *res)
{
    const char *ct = cJSON_GetStringValue(cJSON_GetObjectItem(res->headers, "content-type"));
    fm_json_err_t je;
    if (res->body && ct && strstr(ct, "json") &&
        fm_json_check(res->body, res->len, FM_JSON_MAX_DEPTH, &je) == FM_JSON_OK) {
        cJSON *j = cJSON_ParseWithLength(res->body, res->len);
        if (j)
            return j;
    }
    if (!res->body || !res->len)
        return cJSON_CreateNull();
    /* text: only when it is UTF-8 without NUL (checked as a JSON string) */
    size_t n = res->len;
    char *q = malloc(n * 6 + 3);
    if (!q)
        return cJSON_CreateNull();
    size_t k = 0;
    q[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)res->body[i];
        if (c == '"' || c == '\\')
            q[k++] = '\\', q[k++] = (char)c;
        else if (c < 0x20)
            k += (size_t)sprintf(q + k, "\\u%04x", c);
        else
            q[k++] = (char)c;
    }
    q[k++] = '"';
    cJSON *s = fm_json_check(q, k, 1, &je) == FM_JSON_OK ? cJSON_ParseWithLength(q, k) : NULL;
    free(q);
    return s ? s : cJSON_CreateString("(binary response body not shown)");
}

static int call_problem(fm_req_t *r, const integ_result_t *res, const char *call_id)
{
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddStringToObject(ext, "callId", call_id);
    cJSON_AddNumberToObject(ext, "attempts", res->attempts);
    cJSON_AddNumberToObject(ext, "durationMs", res->ms);
    return fm_reply_problem(r, res->timed_out ? 504 : 502, NULL, res->timed_out ? "Gateway Timeout" : "Bad Gateway",
                            ext, "the call failed: %s", res->error);
}

static int execute(fm_req_t *r)
{
    static const fm_field_t f[] = {
        { "method", FM_F_STRING, false, 1, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
        { "path", FM_F_STRING, false, 0, 4096, NULL },
        { "query", FM_F_OBJECT, false, 0, 0, NULL },
        { "headers", FM_F_OBJECT, false, 0, 0, NULL },
        { "variables", FM_F_OBJECT, false, 0, 0, NULL },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    static const char *const known[] = { "method", "path", "query", "headers", "body", "variables", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/integrations.md") || !header_map(r, cJSON_GetObjectItem(j, "headers"), "headers", true))
        return FM_OK;
    const cJSON *q = cJSON_GetObjectItem(j, "query");
    if (cJSON_GetArraySize(q) > 100)
        return fm_reply_invalid(r, "query", "at most 100 parameters");
    const cJSON *vars = cJSON_GetObjectItem(j, "variables");
    cJSON *empty = cJSON_CreateObject();
    if (!vars)
        vars = empty;
    integ_rec_t c;
    int rc = integ_get(db_of(r), INTEG_CONNECTOR, fm_req_tenant(r), fm_req_param(r, "id"), &c);
    if (rc != FM_OK) {
        cJSON_Delete(empty);
        return rc == FM_ENOTFOUND ? not_found(r, INTEG_CONNECTOR) : rc;
    }
    char *path = NULL, *body_text = NULL;
    cJSON *query = cJSON_CreateObject(), *headers = cJSON_CreateObject();
    const cJSON *x;
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(j, "path"));
    rc = eval_text(r, "path", p ? p : "", vars, &path);
    cJSON_ArrayForEach(x, q)
    {
        char fld[120], *v = NULL;
        snprintf(fld, sizeof(fld), "query/%.60s", x->string);
        if (rc != FM_OK)
            break;
        if (cJSON_IsNumber(x) || cJSON_IsBool(x)) {
            v = cJSON_PrintUnformatted(x);
        } else if (!cJSON_IsString(x)) {
            fm_reply_invalid(r, fld, "must be a string, number or boolean");
            rc = FM_REPLIED;
            break;
        } else if ((rc = eval_text(r, fld, x->valuestring, vars, &v)) != FM_OK) {
            break;
        }
        cJSON_AddStringToObject(query, x->string, v ? v : "");
        free(v);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "headers"))
    {
        char fld[120], *v = NULL;
        snprintf(fld, sizeof(fld), "headers/%.60s", x->string);
        if (rc != FM_OK || (rc = eval_text(r, fld, x->valuestring, vars, &v)) != FM_OK)
            break;
        if (strpbrk(v, "\r\n")) {
            free(v);
            fm_reply_invalid(r, fld, "the value holds CR or LF");
            rc = FM_REPLIED;
            break;
        }
        cJSON_AddStringToObject(headers, x->string, v);
        free(v);
    }
    const char *ctype = NULL;
    cJSON *body = cJSON_Duplicate(cJSON_GetObjectItem(j, "body"), true);
    if (rc == FM_OK && body) {
        if (cJSON_IsString(body) && body->valuestring[0] == '=') {
            cJSON *v = NULL;
            char why[400];
            if (integ_feel(body->valuestring + 1, vars, &v, why, sizeof(why)) != FM_OK) {
                fm_reply_invalid(r, "body", why);
                rc = FM_REPLIED;
            } else {
                cJSON_Delete(body);
                body = v;
            }
        } else if (cJSON_IsObject(body) || cJSON_IsArray(body)) {
            rc = eval_tree(r, body, vars, 1);
        }
    }
    if (rc == FM_OK && body && !cJSON_IsNull(body)) {
        if (cJSON_IsString(body)) {
            body_text = strdup(body->valuestring);
            ctype = "text/plain; charset=utf-8";
        } else {
            body_text = cJSON_PrintUnformatted(body);
            ctype = "application/json";
        }
    }
    if (rc == FM_OK) {
        integ_call_t call = { cJSON_GetStringValue(cJSON_GetObjectItem(j, "method")), path, query, headers,
                              body_text, ctype };
        integ_result_t res;
        char call_id[40] = "";
        integ_execute(db_of(r), &c, &call, &res, call_id, sizeof(call_id));
        if (res.error[0]) {
            rc = call_problem(r, &res, call_id);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "status", (double)res.status);
            cJSON *b = result_body(&res);
            cJSON_AddItemToObject(o, "headers", res.headers);
            res.headers = NULL;
            cJSON_AddItemToObject(o, "body", b);
            cJSON_AddNumberToObject(o, "durationMs", res.ms);
            cJSON_AddNumberToObject(o, "attempts", res.attempts);
            cJSON_AddStringToObject(o, "callId", call_id);
            rc = fm_reply_json(r, 200, o);
        }
        integ_result_clear(&res);
    }
    free(path);
    free(body_text);
    cJSON_Delete(body);
    cJSON_Delete(query);
    cJSON_Delete(headers);
    cJSON_Delete(empty);
    integ_rec_clear(&c);
    return rc == FM_REPLIED ? FM_OK : rc;
}

static int test_conn(fm_req_t *r)
{
    integ_rec_t c;
    int rc = integ_get(db_of(r), INTEG_CONNECTOR, fm_req_tenant(r), fm_req_param(r, "id"), &c);
    if (rc != FM_OK)
        return rc == FM_ENOTFOUND ? not_found(r, INTEG_CONNECTOR) : rc;
    const cJSON *j = fm_req_json(r);
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(j, "path"));
    if (path && (strlen(path) > 4096 || *path == '='))
        return integ_rec_clear(&c), fm_reply_invalid(r, "path", "a plain path of at most 4096 bytes");
    integ_call_t call = { "GET", path ? path : "", NULL, NULL, NULL, NULL };
    integ_result_t res;
    char call_id[40] = "";
    integ_execute(db_of(r), &c, &call, &res, call_id, sizeof(call_id));
    cJSON *o = cJSON_CreateObject();
    bool reached = !res.error[0] || res.too_big;
    bool authed = reached && res.status != 401 && res.status != 403;
    cJSON_AddBoolToObject(o, "reachable", reached);
    cJSON_AddBoolToObject(o, "authenticated", authed);
    if (res.status)
        cJSON_AddNumberToObject(o, "status", (double)res.status);
    else
        cJSON_AddNullToObject(o, "status");
    cJSON_AddNumberToObject(o, "durationMs", res.ms);
    cJSON_AddStringToObject(o, "detail", res.error[0] ? res.error
                                         : !authed ? "reached, but the credentials were refused"
                                                   : "reached and accepted");
    cJSON_AddStringToObject(o, "callId", call_id);
    integ_result_clear(&res);
    integ_rec_clear(&c);
    return fm_reply_json(r, 200, o);
}

static int integ_start(fm_mod_t *m)
{
    (void)m;
    return integ_secret_start();
}

static void integ_stop(fm_mod_t *m)
{
    (void)m;
    integ_secret_stop();
}

static const fm_route_t routes[] = {
    { FM_POST, "/integrations", conn_create, FM_R_JSON, "integration:write" },
    { FM_GET, "/integrations", conn_list, 0, "integration:read" },
    { FM_GET, "/integrations/{id}", conn_get, 0, "integration:read" },
    { FM_PUT, "/integrations/{id}", conn_put, FM_R_JSON, "integration:write" },
    { FM_DELETE, "/integrations/{id}", conn_delete, 0, "integration:write" },
    { FM_POST, "/integrations/{id}/execute", execute, FM_R_JSON, "integration:execute" },
    { FM_POST, "/integrations/{id}/test", test_conn, FM_R_JSON, "integration:execute" },
    { FM_GET, "/integrations/{id}/calls", conn_calls, 0, "integration:read" },
    { FM_POST, "/webhooks", hook_create, FM_R_JSON, "integration:write" },
    { FM_GET, "/webhooks", hook_list, 0, "integration:read" },
    { FM_GET, "/webhooks/{id}", hook_get, 0, "integration:read" },
    { FM_PUT, "/webhooks/{id}", hook_put, FM_R_JSON, "integration:write" },
    { FM_DELETE, "/webhooks/{id}", hook_delete, 0, "integration:write" },
    { FM_GET, "/webhooks/{id}/deliveries", hook_deliveries, 0, "integration:read" },
    { FM_POST, "/hooks/{id}", integ_hook_receive, FM_R_PUBLIC | FM_R_BODY | FM_R_LOCAL, NULL },
};

const fm_module_t fm_integrations_module = {
    "integrations", "External Integration", 9015, FM_M_DB | FM_M_NOSTORE, FM_ROUTES(routes), NULL,
    integ_start, integ_stop,
};
