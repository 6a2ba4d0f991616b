/*
 * rules.c — Business Rules Engine (8018): versioned rule sets (DMN 1.1–1.5 XML or the
 * JSON model), evaluated with explanations, plus one-off FEEL expressions. Routes and
 * handlers; SQL lives in rules_store.c, parsed models in rules_cache.c, the API in
 * docs/rules.md. Handlers run on worker threads; each thread keeps one FEEL evaluator
 * (reset per request) so an evaluation allocates from a warm arena.
 */
#include "rules_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MALFORMED_JSON "urn:flowmaster:problem:malformed-json"
#define MALFORMED_XML "urn:flowmaster:problem:malformed-xml"
#define INVALID_MODEL "urn:flowmaster:problem:invalid-model"

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

/* ---- rule-set bodies ---- */
typedef struct upload {
    const char *format;     /* "dmn" | "json" */
    char *source;           /* owned */
    size_t len;
    char *name;             /* owned, may be NULL */
    bool named;             /* the request named it (body "name" or ?name=) */
    char *version_tag;      /* owned, may be NULL (body "versionTag" or ?versionTag=) */
    dmn_model_t *model;
} upload_t;

static void upload_clear(upload_t *u)
{
    free(u->source);
    free(u->name);
    free(u->version_tag);
    dmn_model_free(u->model);
    memset(u, 0, sizeof(*u));
}

/* Reads a POST/PUT body into u and parses the model; on any problem it answers
 * (400 malformed, 415, 422 invalid) and returns FM_REPLIED. */
static int read_upload(fm_req_t *r, upload_t *u)
{
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    char qname[256];
    memset(u, 0, sizeof(*u));
    bool xml_body;
    if (fm_req_body_kind(r, &xml_body) != FM_OK)
        return FM_REPLIED;
    if (xml_body) {
        u->format = "dmn";
        u->source = malloc(len + 1);
        if (!u->source)
            return FM_ENOMEM;
        memcpy(u->source, body ? body : "", len);
        u->source[len] = 0;
        u->len = len;
        const char *qn = fm_req_query(r, "name", qname, sizeof(qname));
        if (qn && *qn) {
            u->name = strdup(qn);
            u->named = true;
        }
        const char *qt = fm_req_query(r, "versionTag", qname, sizeof(qname));
        if (qt && *qt)
            u->version_tag = strdup(qt);
    } else {
        cJSON *j = fm_req_parse_json(r);
        if (!j)
            return FM_REPLIED;
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
        const cJSON *dmn = cJSON_GetObjectItemCaseSensitive(j, "dmn");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
        const cJSON *tag = cJSON_GetObjectItemCaseSensitive(j, "versionTag");
        int rc = FM_OK;
        if (!cJSON_IsObject(j) || (!cJSON_IsObject(model) && !cJSON_IsString(dmn)))
            rc = fm_reply_invalid(r, "model", "give the rule set as 'model' (the JSON model) or 'dmn' (DMN XML text)");
        else if (name && (!cJSON_IsString(name) || !*name->valuestring || strlen(name->valuestring) > 200))
            rc = fm_reply_invalid(r, "name", "must be a string of 1 to 200 characters");
        else if (tag && (!cJSON_IsString(tag) || !*tag->valuestring || strlen(tag->valuestring) > 200))
            rc = fm_reply_invalid(r, "versionTag", "must be a string of 1 to 200 characters");
        if (rc != FM_OK || fm_replied(r)) {
            cJSON_Delete(j);
            return FM_REPLIED;
        }
        u->format = cJSON_IsObject(model) ? "json" : "dmn";
        u->source = cJSON_IsObject(model) ? cJSON_PrintUnformatted(model) : strdup(dmn->valuestring);
        u->len = u->source ? strlen(u->source) : 0;
        u->name = cJSON_IsString(name) ? strdup(name->valuestring) : NULL;
        u->named = u->name != NULL;
        u->version_tag = cJSON_IsString(tag) ? strdup(tag->valuestring) : NULL;
        cJSON_Delete(j);
        if (!u->source)
            return FM_ENOMEM;
    }
    dmn_err_t err;
    if (rules_parse(u->format, u->source, u->len, &u->model, &err) != FM_OK) {
        if (err.malformed)
            return fm_reply_problem(r, 400, MALFORMED_XML, "Malformed XML", NULL, "%s", err.msg);
        cJSON *ext = cJSON_CreateObject();
        cJSON *errs = cJSON_AddArrayToObject(ext, "errors");
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "pointer", !strcmp(u->format, "json") ? "/model" : "/");
        if (err.element[0])
            cJSON_AddStringToObject(e, "element", err.element);
        cJSON_AddStringToObject(e, "detail", err.msg);
        cJSON_AddItemToArray(errs, e);
        return fm_reply_problem(r, 422, INVALID_MODEL, "Invalid Model", ext, "%s%s%s", err.msg,
                                err.element[0] ? " at element " : "", err.element);
    }
    if (!u->name)
        u->name = strdup(*dmn_model_name(u->model) ? dmn_model_name(u->model) : "unnamed");
    return u->name ? FM_OK : FM_ENOMEM;
}

static char *decisions_json(const dmn_model_t *m)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < dmn_decision_count(m); i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(dmn_decision_name(m, i)));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

static void set_etag(fm_req_t *r, const rules_version_t *v)
{
    char tag[96];
    snprintf(tag, sizeof(tag), "\"%s.v%d\"", v->id, v->latest);
    fm_reply_header(r, "ETag", tag);
}

/* The representation of one version; with_source adds "dmn" or "model". */
static cJSON *rule_json(const rules_version_t *v, const dmn_model_t *m, bool with_source)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", v->id);
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddNumberToObject(o, "version", v->version);
    cJSON_AddNumberToObject(o, "latestVersion", v->latest);
    cJSON_AddStringToObject(o, "format", v->format);
    cJSON *d = cJSON_AddArrayToObject(o, "decisions");
    for (size_t i = 0; m && i < dmn_decision_count(m); i++)
        cJSON_AddItemToArray(d, cJSON_CreateString(dmn_decision_name(m, i)));
    cJSON_AddStringToObject(o, "createdAt", v->created_at);
    cJSON_AddStringToObject(o, "updatedAt", v->updated_at);
    if (v->version_tag)
        cJSON_AddStringToObject(o, "versionTag", v->version_tag);
    cJSON *w = cJSON_AddArrayToObject(o, "warnings");     /* what import kept but cannot evaluate */
    for (size_t i = 0; m && i < dmn_model_warning_count(m); i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(dmn_model_warning(m, i)));
    if (with_source) {
        if (!strcmp(v->format, "json")) {
            cJSON *mj = cJSON_Parse(v->source);
            cJSON_AddItemToObject(o, "model", mj ? mj : cJSON_CreateNull());
        } else {
            cJSON_AddStringToObject(o, "dmn", v->source);
        }
    }
    return o;
}

/* The cached model of a stored version (parsing and caching it on a miss). */
static rules_cached_t *model_of(const char *tenant, const rules_version_t *v)
{
    rules_cached_t *c = rules_cache_get(tenant, v->id, v->version);
    if (c)
        return c;
    dmn_model_t *m = NULL;
    dmn_err_t err;
    if (rules_parse(v->format, v->source, strlen(v->source), &m, &err) != FM_OK) {
        fm_log_msg(FM_LOG_ERROR, "rules: a stored rule set no longer parses", err.msg);
        return NULL;
    }
    return rules_cache_add(tenant, v->id, v->version, m);
}

static int reply_version(fm_req_t *r, int status, const rules_version_t *v, bool with_source)
{
    rules_cached_t *c = model_of(fm_req_tenant(r), v);
    cJSON *o = rule_json(v, c ? rules_cached_model(c) : NULL, with_source);
    if (c)
        rules_cache_put_back(c);
    set_etag(r, v);
    return fm_reply_json(r, status, o);
}

/* ---- handlers ---- */
static int create(fm_req_t *r)
{
    upload_t u;
    int rc = read_upload(r, &u);
    if (rc != FM_OK || fm_replied(r)) {
        upload_clear(&u);
        return fm_replied(r) ? FM_OK : rc;
    }
    char *dj = decisions_json(u.model);
    rules_version_t v = { 0 };
    rc = dj ? rules_insert(db_of(r), fm_req_tenant(r), u.name, u.format, u.source, dj, u.model, u.version_tag, &v)
            : FM_ENOMEM;
    cJSON_free(dj);
    if (rc == FM_OK) {
        rules_latest_note(fm_req_tenant(r), v.id, v.version);
        rules_cached_t *c = rules_cache_add(fm_req_tenant(r), v.id, v.version, u.model);
        u.model = NULL;
        cJSON *o = rule_json(&v, c ? rules_cached_model(c) : NULL, false);
        if (c)
            rules_cache_put_back(c);
        char loc[96];
        snprintf(loc, sizeof(loc), "/rules/%s", v.id);
        fm_reply_header(r, "Location", loc);
        set_etag(r, &v);
        rc = fm_reply_json(r, 201, o);
    }
    rules_version_clear(&v);
    upload_clear(&u);
    return rc;
}

static int get(fm_req_t *r)
{
    rules_version_t v = { 0 };
    int rc = rules_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), 0, &v);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no rule set '%s'", fm_req_param(r, "id"));
    if (rc == FM_OK)
        rc = reply_version(r, 200, &v, true);
    rules_version_clear(&v);
    return rc;
}

/* ETag "<id>.vN" (strong, possibly a list: any match counts) → N, or -1. */
static int if_match_version(const char *h, const char *id)
{
    char want[96];
    int n = snprintf(want, sizeof(want), "\"%s.v", id);
    for (const char *p = h; p && *p;) {
        const char *q = strstr(p, want);
        if (!q)
            return -1;
        char *end;
        long ver = strtol(q + n, &end, 10);
        if (end != q + n && *end == '"' && ver > 0 && ver < 1000000000)
            return (int)ver;
        p = q + 1;
    }
    return -1;
}

static int put(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    const char *im;
    if (fm_req_if_match(r, &im) != FM_OK)
        return FM_OK;
    int latest;
    int rc = rules_latest(db_of(r), fm_req_tenant(r), id, &latest);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no rule set '%s'", id);
    if (rc != FM_OK)
        return rc;
    if (!im)
        return fm_reply_problem(r, 428, NULL, "Precondition Required", NULL,
                                "send If-Match with the ETag of the version you changed");
    int expected = strcmp(im, "*") ? if_match_version(im, id) : latest;
    if (expected != latest)
        return fm_reply_problem(r, 412, NULL, NULL, NULL, "rule set '%s' is at version %d; If-Match was %s", id,
                                latest, im);
    upload_t u;
    rc = read_upload(r, &u);
    if (rc != FM_OK || fm_replied(r)) {
        upload_clear(&u);
        return fm_replied(r) ? FM_OK : rc;
    }
    char *dj = decisions_json(u.model);
    rules_version_t v = { 0 };
    /* name: the request's, else the current one (the store keeps it on NULL) */
    rc = dj ? rules_new_version(db_of(r), fm_req_tenant(r), id, expected, u.named ? u.name : NULL, u.format, u.source,
                                dj, u.model, u.version_tag, &v)
            : FM_ENOMEM;
    cJSON_free(dj);
    if (rc == FM_ESTALE)
        rc = fm_reply_problem(r, 412, NULL, NULL, NULL, "rule set '%s' changed meanwhile; fetch it again", id);
    else if (rc == FM_OK) {
        rules_latest_note(fm_req_tenant(r), v.id, v.version);
        rules_cached_t *c = rules_cache_add(fm_req_tenant(r), v.id, v.version, u.model);
        u.model = NULL;
        cJSON *o = rule_json(&v, c ? rules_cached_model(c) : NULL, false);
        if (c)
            rules_cache_put_back(c);
        set_etag(r, &v);
        rc = fm_reply_json(r, 200, o);
    }
    rules_version_clear(&v);
    upload_clear(&u);
    return rc;
}

static int versions(fm_req_t *r)
{
    cJSON *items = cJSON_CreateArray();
    int rc = rules_versions(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), items);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        if (rc == FM_ENOTFOUND)
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "no rule set '%s'", fm_req_param(r, "id"));
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    return fm_reply_json(r, 200, o);
}

static int parse_version(const char *s)
{
    char *end;
    long n = s ? strtol(s, &end, 10) : 0;
    return s && *s && !*end && n >= 1 && n < 1000000000 ? (int)n : -1;
}

static int version(fm_req_t *r)
{
    int n = parse_version(fm_req_param(r, "n"));
    if (n < 0)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "versions are numbered from 1");
    rules_version_t v = { 0 };
    int rc = rules_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), n, &v);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "rule set '%s' has no version %d", fm_req_param(r, "id"), n);
    if (rc == FM_OK)
        rc = reply_version(r, 200, &v, true);
    rules_version_clear(&v);
    return rc;
}

/* Cursor: hex of "name\x1fid" (opaque to clients). */
static void hex_encode(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++)
        o += (size_t)snprintf(out + o, n - o, "%02x", (unsigned char)*s);
    out[o] = 0;
}

static bool hex_decode(const char *s, char *out, size_t n)
{
    size_t l = strlen(s), o = 0;
    if (l % 2 || l / 2 + 1 > n)
        return false;
    for (size_t i = 0; i < l; i += 2) {
        unsigned v;
        if (sscanf(s + i, "%2x", &v) != 1 || !v)
            return false;
        out[o++] = (char)v;
    }
    out[o] = 0;
    return true;
}

static int list(fm_req_t *r)
{
    int limit;
    char cursor[300], q[256], after[200];
    if (fm_req_page(r, 50, &limit, cursor, sizeof(cursor)))
        return FM_OK;
    const char *after_name = NULL, *after_id = NULL;
    if (*cursor) {
        char *sep;
        if (!hex_decode(cursor, after, sizeof(after)) || !(sep = strchr(after, '\x1f')))
            return fm_reply_invalid(r, "cursor", "is not a cursor this server gave out");
        *sep = 0;
        after_name = after;
        after_id = sep + 1;
    }
    const char *qq = fm_req_query(r, "q", q, sizeof(q));
    cJSON *items = cJSON_CreateArray();
    char next[200];
    int rc = rules_list(db_of(r), fm_req_tenant(r), qq && *qq ? qq : NULL, after_name, after_id, limit, items, next,
                        sizeof(next));
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    if (*next) {
        char enc[300];
        hex_encode(next, enc, sizeof(enc));
        cJSON_AddStringToObject(o, "nextCursor", enc);
    } else {
        cJSON_AddNullToObject(o, "nextCursor");
    }
    return fm_reply_json(r, 200, o);
}

/* GET /rules/{id}/audit: what evaluations of the rule set were logged, newest first. */
static int audit_list(fm_req_t *r)
{
    int limit, latest;
    char cursor[64];
    if (fm_req_page(r, 50, &limit, cursor, sizeof(cursor)))
        return FM_OK;
    char *end = cursor;
    long long before = *cursor ? strtoll(cursor, &end, 10) : 0;
    if (*end || before < 0)
        return fm_reply_invalid(r, "cursor", "is not a cursor this server gave out");
    const char *id = fm_req_param(r, "id");
    int rc = rules_latest(db_of(r), fm_req_tenant(r), id, &latest);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no rule set '%s'", id);
    if (rc != FM_OK)
        return rc;
    cJSON *items = cJSON_CreateArray();
    bool more = false;
    rc = rules_audit_list(db_of(r), fm_req_tenant(r), id, before, limit, items, &more);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    int n = cJSON_GetArraySize(items);
    cJSON_AddItemToObject(o, "items", items);
    if (more && n > 0) {
        char next[32];
        snprintf(next, sizeof(next), "%.0f", cJSON_GetObjectItem(cJSON_GetArrayItem(items, n - 1), "id")->valuedouble);
        cJSON_AddStringToObject(o, "nextCursor", next);
    } else {
        cJSON_AddNullToObject(o, "nextCursor");
    }
    return fm_reply_json(r, 200, o);
}

static const fm_field_t eval_fields[] = {
    { "decision", FM_F_STRING, false, 1, 500, NULL },
    { "version", FM_F_INT, false, 1, 1000000000, NULL },
    { "inputs", FM_F_OBJECT, false, 0, 0, NULL },
};

static cJSON *trace_json(const dmn_trace_t *tr, cJSON **warnings)
{
    cJSON *m = cJSON_CreateArray();
    for (size_t i = 0; i < tr->nhits; i++) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "decision", tr->hits[i].decision ? tr->hits[i].decision : "");
        cJSON_AddStringToObject(h, "table", tr->hits[i].table ? tr->hits[i].table : "");
        cJSON *rs = cJSON_AddArrayToObject(h, "rules");
        for (size_t k = 0; k < tr->hits[i].nrules; k++)
            cJSON_AddItemToArray(rs, cJSON_CreateString(tr->hits[i].rules[k]));
        cJSON_AddItemToArray(m, h);
    }
    *warnings = cJSON_CreateArray();
    for (size_t i = 0; i < tr->nwarnings; i++)
        cJSON_AddItemToArray(*warnings, cJSON_CreateString(tr->warnings[i]));
    return m;
}

/* Evaluates version `ver` (0: the latest) of rule set `id` and answers. decision: a
 * decision's name or id, or NULL for every decision. by_id: the request came through
 * /rules/decisions/{decisionId}/evaluate (the answer adds ruleSetId). */
static int evaluate_version(fm_req_t *r, const char *id, int ver, const char *decision, const cJSON *inputs,
                            bool by_id)
{
    const char *tenant = fm_req_tenant(r);
    int rc = FM_OK;
    if (!ver && !(ver = rules_latest_known(tenant, id))) {
        rc = rules_latest(db_of(r), tenant, id, &ver);
        if (rc == FM_ENOTFOUND)
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "no rule set '%s'", id);
        if (rc != FM_OK)
            return rc;
        rules_latest_note(tenant, id, ver);
    }
    rules_cached_t *c = rules_cache_get(tenant, id, ver);
    if (!c) {
        rules_version_t v = { 0 };
        rc = rules_get(db_of(r), tenant, id, ver, &v);
        if (rc == FM_OK)
            c = model_of(tenant, &v);
        rules_version_clear(&v);
        if (rc == FM_ENOTFOUND)
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "rule set '%s' has no version %d", id, ver);
        if (rc != FM_OK)
            return rc;
        if (!c)
            return FM_EIO;
    }
    const dmn_model_t *m = rules_cached_model(c);
    const char *key = decision;
    if (key && by_id) {         /* the path names an id: an id match wins over a name */
        decision = NULL;
        for (size_t i = 0; i < dmn_decision_count(m) && !decision; i++)
            if (!strcmp(dmn_decision_id(m, i), key))
                decision = dmn_decision_name(m, i);
    } else if (key) {
        decision = dmn_find_decision(m, key);
    }
    if (key && !decision) {
        rules_cache_put_back(c);
        if (by_id)      /* the index named this version: it no longer holds the decision */
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "no decision '%s' in rule set '%s'", key, id);
        return fm_reply_invalid(r, "decision", "names no decision of this rule set (by name or id)");
    }
    feel_eval_t *ev = feel_eval_thread();
    if (!ev) {
        rules_cache_put_back(c);
        return FM_ENOMEM;
    }
    feel_value_t *in = dmn_inputs_from_json(ev, m, inputs);
    dmn_trace_t tr;
    feel_value_t *out = dmn_evaluate(m, ev, decision, in, &tr);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ruleId", id);
    if (by_id)
        cJSON_AddStringToObject(o, "ruleSetId", id);
    cJSON_AddNumberToObject(o, "version", ver);
    if (decision) {
        cJSON_AddStringToObject(o, "decision", decision);
        for (size_t i = 0; i < dmn_decision_count(m); i++)
            if (!strcmp(dmn_decision_name(m, i), decision)) {
                cJSON_AddStringToObject(o, "decisionId", dmn_decision_id(m, i));
                break;
            }
    } else {
        cJSON_AddNullToObject(o, "decision");
    }
    cJSON *outputs, *res = dmn_to_json(ev, out);
    if (!res) {     /* nests deeper than JSON may (fm_json_check.h): no partial answer */
        cJSON_Delete(o);
        rules_cache_put_back(c);
        const char *why = feel_eval_error(ev);
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", NULL,
                                "the decision's result cannot be answered: %s", why ? why : "out of memory");
    }
    if (decision) {
        outputs = cJSON_CreateObject();
        cJSON_AddItemToObject(outputs, decision, res);
    } else {
        outputs = res;
    }
    cJSON_AddItemToObject(o, "outputs", outputs);
    cJSON *warnings;
    cJSON *matched = trace_json(&tr, &warnings);
    cJSON_AddItemToObject(o, "matchedRules", matched);
    cJSON_AddItemToObject(o, "warnings", warnings);
    cJSON_AddBoolToObject(o, "failed", tr.nfailures > 0);     /* a value is null because evaluation failed */
    feel_eval_reset(ev);    /* the values are JSON now: give the arena back at once */

    /* the event (and the audit row, in one transaction, when [rules] audit is on) */
    cJSON *evj = cJSON_CreateObject();
    cJSON_AddStringToObject(evj, "ruleId", id);
    cJSON_AddNumberToObject(evj, "version", ver);
    if (decision)
        cJSON_AddStringToObject(evj, "decision", decision);
    else
        cJSON_AddNullToObject(evj, "decision");
    cJSON_AddItemReferenceToObject(evj, "matchedRules", matched);
    cJSON_AddNumberToObject(evj, "warnings", cJSON_GetArraySize(warnings));
    char *evs = cJSON_PrintUnformatted(evj);
    cJSON_Delete(evj);
    if (evs) {
        if (fm_cfg()->rules_audit) {
            char *is = cJSON_PrintUnformatted(inputs ? inputs : cJSON_GetObjectItem(o, "ruleId"));
            char *os = cJSON_PrintUnformatted(outputs), *ms = cJSON_PrintUnformatted(matched);
            char *ws = cJSON_PrintUnformatted(warnings);
            int arc = is && os && ms && ws
                          ? rules_audit_submit(db_of(r), tenant, id, ver, decision, inputs ? is : "{}", os, ms, ws, evs)
                          : FM_ENOMEM;
            if (arc != FM_OK)
                fm_log_msg(FM_LOG_WARN, "rules: audit write failed", id);
            cJSON_free(is);
            cJSON_free(os);
            cJSON_free(ms);
            cJSON_free(ws);
        } else {
            bus_publish(RULES_SOURCE, RULES_EVALUATED, id, tenant, evs);
        }
        cJSON_free(evs);
    }
    rules_cache_put_back(c);    /* decision points into the model until here */
    return fm_reply_json(r, 200, o);
}

static int evaluate(fm_req_t *r)
{
    if (fm_req_check(r, eval_fields, sizeof(eval_fields) / sizeof(eval_fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const cJSON *dj = cJSON_GetObjectItem(j, "decision"), *vj = cJSON_GetObjectItem(j, "version");
    return evaluate_version(r, fm_req_param(r, "id"), cJSON_IsNumber(vj) ? vj->valueint : 0,
                            cJSON_IsString(dj) ? dj->valuestring : NULL, cJSON_GetObjectItem(j, "inputs"), false);
}

static const fm_field_t by_id_fields[] = {
    { "versionTag", FM_F_STRING, false, 1, 200, NULL },
    { "inputs", FM_F_OBJECT, false, 0, 0, NULL },
};

/* POST /rules/decisions/{decisionId}/evaluate: the DMN decision id resolved to the most
 * recently published rule set of the tenant holding it (rules_find_decision). */
static int evaluate_decision(fm_req_t *r)
{
    if (fm_req_check(r, by_id_fields, sizeof(by_id_fields) / sizeof(by_id_fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    if (cJSON_GetObjectItem(j, "decision") || cJSON_GetObjectItem(j, "version"))
        return fm_reply_invalid(r, cJSON_GetObjectItem(j, "decision") ? "decision" : "version",
                                "the decision and its version come from the path and versionTag here; "
                                "use POST /rules/{id}/evaluate to name a rule set version");
    const char *did = fm_req_param(r, "decisionId");
    const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(j, "versionTag"));
    char rid[64];
    int ver = 0;
    int rc = rules_find_decision(db_of(r), fm_req_tenant(r), did, tag, rid, sizeof(rid), &ver);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no published rule set holds decision '%s'%s%s%s", did,
                                tag ? " with version tag '" : "", tag ? tag : "", tag ? "'" : "");
    if (rc != FM_OK)
        return rc;
    return evaluate_version(r, rid, ver, did, cJSON_GetObjectItem(j, "inputs"), true);
}

static const fm_field_t expr_fields[] = {
    { "expression", FM_F_STRING, true, 1, 65536, NULL },
    { "context", FM_F_OBJECT, false, 0, 0, NULL },
};

static int expression(fm_req_t *r)
{
    if (fm_req_check(r, expr_fields, sizeof(expr_fields) / sizeof(expr_fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const char *text = cJSON_GetObjectItem(j, "expression")->valuestring;
    const cJSON *ctx = cJSON_GetObjectItem(j, "context");
    /* the context's keys are names the parser must know ("Monthly Salary") */
    size_t nk = (size_t)cJSON_GetArraySize(ctx);
    const char **names = calloc(nk + 1, sizeof(*names));
    if (!names)
        return FM_ENOMEM;
    size_t k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, ctx) names[k++] = x->string;
    feel_perr_t pe = { 0 };
    feel_expr_t *e = feel_parse(text, FEEL_EXPR, names, &pe);
    free(names);
    if (!e) {
        cJSON *ext = cJSON_CreateObject();
        cJSON *errs = cJSON_AddArrayToObject(ext, "errors");
        cJSON *er = cJSON_CreateObject();
        char d[256];
        snprintf(d, sizeof(d), "line %d, column %d: %s", pe.line, pe.col, pe.msg);
        cJSON_AddStringToObject(er, "pointer", "/expression");
        cJSON_AddStringToObject(er, "detail", d);
        cJSON_AddNumberToObject(er, "line", pe.line);
        cJSON_AddNumberToObject(er, "column", pe.col);
        cJSON_AddItemToArray(errs, er);
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                                "the expression does not parse: %s", d);
    }
    feel_eval_t *ev = feel_eval_thread();
    if (!ev) {
        feel_expr_free(e);
        return FM_ENOMEM;
    }
    feel_value_t *c = dmn_inputs_from_json(ev, NULL, ctx);
    feel_value_t *v = feel_eval(ev, e, c);
    cJSON *o = cJSON_CreateObject(), *res = dmn_to_json(ev, v);
    cJSON_AddItemToObject(o, "result", res ? res : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "type", feel_type_name(res ? v->t : FEEL_NULL));
    const char *why = feel_eval_error(ev);
    if (why)
        cJSON_AddStringToObject(o, "error", why);
    else
        cJSON_AddNullToObject(o, "error");
    feel_expr_free(e);
    feel_eval_reset(ev);    /* an idle worker keeps no evaluation memory */
    return fm_reply_json(r, 200, o);
}

static int rules_start(fm_mod_t *m)
{
    int rc = rules_index_backfill(m->db);
    return rc == FM_OK ? rules_audit_start(m->db) : rc;
}

static void rules_stop(fm_mod_t *m)
{
    rules_audit_stop();
    rules_cache_clear();
}

static const fm_route_t routes[] = {
    { FM_POST, "/rules", create, FM_R_BODY, "rules:write" },
    { FM_GET, "/rules", list, 0, "rules:read" },
    { FM_GET, "/rules/{id}", get, 0, "rules:read" },
    { FM_PUT, "/rules/{id}", put, FM_R_BODY, "rules:write" },
    { FM_GET, "/rules/{id}/versions", versions, 0, "rules:read" },
    { FM_GET, "/rules/{id}/versions/{n}", version, 0, "rules:read" },
    { FM_POST, "/rules/{id}/evaluate", evaluate, FM_R_JSON, "rules:evaluate" },
    { FM_GET, "/rules/{id}/audit", audit_list, 0, "rules:read" },
    { FM_POST, "/rules/expression", expression, FM_R_JSON, "rules:evaluate" },
    { FM_POST, "/rules/decisions/{decisionId}/evaluate", evaluate_decision, FM_R_JSON, "rules:evaluate" },
};

const fm_module_t fm_rules_module = {
    "rules", "Business Rules Engine", 8018, FM_M_DB, FM_ROUTES(routes), NULL, rules_start, rules_stop,
};
