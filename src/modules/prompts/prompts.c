/*
 * prompts.c — Prompt Engineering (8012): the routes. A prompt is a Mustache template
 * (src/fm_mustache.h) with a JSON Schema for its variables and an expected output
 * format; every change is a new immutable version, labels (production, staging, ...)
 * point at versions, rendering checks the variables (a missing or ill-typed one is a
 * 422 naming it) and composes partials (inline, or other prompts of the tenant by
 * name), and a test run renders and invokes an agent (9007) and keeps the answer
 * beside the version. docs/prompts.md is the contract; the store is prompts_store.c.
 */
#include "prompts_int.h"
#include "prompts_check.h"

#include "../../auth/fm_auth.h"
#include "../../fm_mustache.h"
#include "../tasks/tasks_jsonschema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
#define MAX_COMPOSED 50   /* partials one render may pull in, inline and by name */

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *actor_of(fm_req_t *r)
{
    const fm_principal_t *p = fm_req_principal(r);
    return p ? p->sub : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static int reply_errors(fm_req_t *r, cJSON *errs, const char *what)
{
    int n = cJSON_GetArraySize(errs);
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "errors", errs);
    return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                            "%s: %d problem%s", what, n, n == 1 ? "" : "s");
}

static int no_prompt(fm_req_t *r, const char *ref)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no prompt '%.100s' in this tenant", ref);
}

/* The {id} parameter (an id or a name) as an id; false after answering 404. */
static bool prompt_id(fm_req_t *r, char *id, size_t len)
{
    const char *ref = fm_req_param(r, "id");
    int rc = prompt_resolve(db_of(r), fm_req_tenant(r), ref, id, len);
    if (rc == FM_ENOTFOUND)
        return no_prompt(r, ref), false;
    if (rc != FM_OK)
        return fm_reply_problem(r, 500, NULL, NULL, NULL, "the prompt store could not be read"), false;
    return true;
}

/* ---- checking a version (prompts_check.c, shared with the marketplace) ---- */

/* The members of a version (both POST /prompts and PUT /prompts/{id}); false after
 * answering 422. A template that is not Mustache gets its line and column. */
static bool check_version(fm_req_t *r, const cJSON *j, bool create)
{
    prompt_problem_t p;
    if (prompt_check(j, create, NULL, PROMPT_MAX_NAME, &p) == 0)
        return true;
    if (p.line <= 0)
        return fm_reply_invalid(r, p.pointer, p.detail), false;
    cJSON *ext = cJSON_CreateObject();
    cJSON *errs = cJSON_AddArrayToObject(ext, "errors");
    cJSON *x = cJSON_CreateObject();
    char ptr[210];
    snprintf(ptr, sizeof(ptr), "/%s", p.pointer);
    cJSON_AddStringToObject(x, "pointer", ptr);
    cJSON_AddStringToObject(x, "detail", p.detail);
    cJSON_AddNumberToObject(x, "line", p.line);
    cJSON_AddNumberToObject(x, "column", p.column);
    cJSON_AddItemToArray(errs, x);
    fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                     "the template in %s is not Mustache this server renders: %s", ptr, p.detail);
    return false;
}

/* ---- rendering ---- */

/* Adds to `parts` every partial the templates of `parts` (and tpl) name that is not
 * there yet, from the tenant's other prompts, level by level up to the partial depth
 * limit. false after answering 422 for one that is nowhere. */
static bool compose(fm_req_t *r, const char *tpl, cJSON *parts)
{
    cJSON *todo = cJSON_CreateArray();
    cJSON_AddItemToArray(todo, cJSON_CreateString(tpl));
    const cJSON *x;
    cJSON_ArrayForEach(x, parts) cJSON_AddItemToArray(todo, cJSON_CreateString(x->valuestring));
    bool ok = true;
    for (int depth = 0; ok && depth <= FM_MUSTACHE_MAX_PARTIAL_DEPTH && cJSON_GetArraySize(todo); depth++) {
        cJSON *next = cJSON_CreateArray();
        cJSON_ArrayForEach(x, todo)
        {
            for (const char *p = strstr(x->valuestring, "{{>"); ok && p; p = strstr(p + 3, "{{>")) {
                const char *s = p + 3;
                while (*s == ' ')
                    s++;
                const char *e = strstr(s, "}}");
                if (!e)
                    break;
                size_t n = (size_t)(e - s);
                while (n && s[n - 1] == ' ')
                    n--;
                char name[FM_MUSTACHE_MAX_NAME + 1];
                if (n == 0 || n > FM_MUSTACHE_MAX_NAME)
                    continue;
                memcpy(name, s, n);
                name[n] = 0;
                if (cJSON_GetObjectItem(parts, name))
                    continue;
                prompt_ver_t v;
                if (cJSON_GetArraySize(parts) >= MAX_COMPOSED) {
                    ok = false;
                    fm_reply_invalid(r, "template", "composes more than 50 partials");
                } else if (prompt_partial_template(db_of(r), fm_req_tenant(r), name, &v) != FM_OK) {
                    ok = false;
                    char d[300];
                    snprintf(d, sizeof(d), "partial '%s' is neither in the version's partials nor a prompt of "
                             "this tenant", name);
                    fm_reply_invalid(r, "template", d);
                } else {
                    cJSON_AddStringToObject(parts, name, v.template);
                    cJSON_AddItemToArray(next, cJSON_CreateString(v.template));
                    prompt_ver_clear(&v);
                }
            }
        }
        cJSON_Delete(todo);
        todo = next;
    }
    cJSON_Delete(todo);
    return ok;
}

/* Renders the version asked for by body (version / label) with body.variables. On
 * success *text (caller frees), *ver the version (caller clears); false after replying. */
static bool render(fm_req_t *r, const char *id, const cJSON *j, char **text, prompt_ver_t *ver)
{
    *text = NULL;
    const cJSON *vars = cJSON_GetObjectItem(j, "variables"), *vn = cJSON_GetObjectItem(j, "version");
    const char *label = str(j, "label");
    if (vars && !cJSON_IsObject(vars))
        return fm_reply_invalid(r, "variables", "must be an object"), false;
    if (vn && (!cJSON_IsNumber(vn) || vn->valuedouble < 1 || vn->valuedouble > PROMPT_MAX_VERSIONS ||
               vn->valuedouble != (int)vn->valuedouble))
        return fm_reply_invalid(r, "version", "a version number"), false;
    if (cJSON_GetObjectItem(j, "label") && (!label || strlen(label) > PROMPT_MAX_LABEL))
        return fm_reply_invalid(r, "label", "a label name"), false;
    const char *missing = NULL;
    int rc = prompt_version(db_of(r), fm_req_tenant(r), id, vn ? vn->valueint : 0, label, ver, &missing);
    if (rc == FM_ENOTFOUND && missing)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "prompt '%s' has no %s %s%s", fm_req_param(r, "id"),
                                missing, !strcmp(missing, "label") ? label : "",
                                !strcmp(missing, "label") ? "" : "by that number"),
               false;
    if (rc != FM_OK)
        return rc == FM_ENOTFOUND ? no_prompt(r, fm_req_param(r, "id")) : fm_reply_problem(r, 500, NULL, NULL,
                                                                                           NULL, "read failed"),
               false;
    cJSON *empty = cJSON_CreateObject();
    const cJSON *data = vars ? vars : empty;
    bool ok = true;
    if (ver->variables) {
        cJSON *errs = cJSON_CreateArray();
        if (tasks_schema_validate(ver->variables, data, "/variables", errs) > 0) {
            reply_errors(r, errs, "the variables do not fit the prompt's schema");
            ok = false;
        } else {
            cJSON_Delete(errs);
        }
    }
    cJSON *parts = ver->partials ? cJSON_Duplicate(ver->partials, true) : cJSON_CreateObject();
    if (ok)
        ok = compose(r, ver->template, parts);
    if (ok) {
        fm_mustache_opts_t o = { .escape_html = false, .strict = true, .partials = parts };
        fm_mustache_err_t e;
        size_t len;
        if (fm_mustache_render(ver->template, strlen(ver->template), data, &o, text, &len, &e) != 0) {
            ok = false;
            if (e.code == FM_MUSTACHE_EMISSING) {
                char f[FM_MUSTACHE_MAX_NAME + 16], d[400];
                snprintf(f, sizeof(f), "variables/%s", e.name);
                snprintf(d, sizeof(d), "missing: the %s uses {{%s}} at line %d, column %d", e.source, e.name, e.line,
                         e.column);
                fm_reply_invalid(r, f, d);
            } else {
                char d[400];
                snprintf(d, sizeof(d), "%s (%s, line %d, column %d)", e.message, e.source, e.line, e.column);
                fm_reply_invalid(r, e.code == FM_MUSTACHE_ELIMIT ? "variables" : "template", d);
            }
        }
    }
    cJSON_Delete(parts);
    cJSON_Delete(empty);
    if (!ok)
        prompt_ver_clear(ver);
    return ok;
}

static cJSON *rendered_json(const char *id, const prompt_ver_t *v, const char *label, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "promptId", id);
    cJSON_AddNumberToObject(o, "version", v->version);
    if (label)
        cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "text", text);
    cJSON_AddStringToObject(o, "outputFormat", v->output_format);
    cJSON_AddItemToObject(o, "outputSchema", v->output_schema ? cJSON_Duplicate(v->output_schema, true)
                                                              : cJSON_CreateNull());
    return o;
}

/* ---- handlers ---- */

static int create(fm_req_t *r)
{
    const cJSON *j = fm_req_json(r);
    if (!check_version(r, j, true))
        return FM_OK;
    cJSON *out = NULL;
    int rc = prompt_create(db_of(r), fm_req_tenant(r), actor_of(r), j, &out);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "this tenant already has a prompt named '%s'",
                                str(j, "name"));
    if (rc != FM_OK)
        return rc;
    return fm_reply_created(r, out, "/prompts/%s", str(out, "id"));
}

static int update(fm_req_t *r)
{
    char id[64];
    int rev = fm_req_if_match_rev(r, "prompt");
    if (rev < 0 || !prompt_id(r, id, sizeof(id)))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    if (!check_version(r, j, false))
        return FM_OK;
    cJSON *out = NULL;
    int rc = prompt_add_version(db_of(r), fm_req_tenant(r), actor_of(r), id, rev, j, &out);
    if (rc == FM_ESTALE)
        return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                                "the prompt has a newer version than If-Match said; read it again");
    if (rc == FM_ETOOBIG)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "the prompt has 10000 versions, the most it may have");
    if (rc != FM_OK)
        return rc == FM_ENOTFOUND ? no_prompt(r, fm_req_param(r, "id")) : rc;
    char etag[32];
    snprintf(etag, sizeof(etag), "\"r%d\"", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(out, "latestVersion")));
    fm_reply_header(r, "ETag", etag);
    return fm_reply_json(r, 200, out);
}

static int get(fm_req_t *r)
{
    char id[64], vb[16], lb[64];
    if (!prompt_id(r, id, sizeof(id)))
        return FM_OK;
    const char *vs = fm_req_query(r, "version", vb, sizeof(vb)), *label = fm_req_query(r, "label", lb, sizeof(lb));
    char *end = NULL;
    long v = vs ? strtol(vs, &end, 10) : 0;
    if (vs && (end == vs || *end || v < 1 || v > PROMPT_MAX_VERSIONS))
        return fm_reply_invalid(r, "version", "a version number");
    cJSON *out = NULL;
    const char *missing = NULL;
    int rc = prompt_get(db_of(r), fm_req_tenant(r), id, (int)v, label, &out, &missing);
    if (rc == FM_ENOTFOUND && missing)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "prompt '%s' has no such %s", fm_req_param(r, "id"),
                                missing);
    if (rc != FM_OK)
        return rc == FM_ENOTFOUND ? no_prompt(r, fm_req_param(r, "id")) : rc;
    char etag[32];
    snprintf(etag, sizeof(etag), "\"r%d\"", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(out, "latestVersion")));
    fm_reply_header(r, "ETag", etag);
    return fm_reply_json(r, 200, out);
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char qb[256], tb[64], lb[64];
    const char *q = fm_req_query(r, "q", qb, sizeof(qb)), *tag = fm_req_query(r, "tag", tb, sizeof(tb));
    const char *label = fm_req_query(r, "label", lb, sizeof(lb));
    cJSON *items = cJSON_CreateArray();
    int rc = prompt_list(db_of(r), fm_req_tenant(r), q && *q ? q : NULL, tag && *tag ? tag : NULL,
                         label && *label ? label : NULL, offset, limit, items, &total);
    return fm_reply_page_rc(r, rc, items, offset, total);
}

static int versions(fm_req_t *r)
{
    char id[64];
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset) || !prompt_id(r, id, sizeof(id)))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = prompt_versions(db_of(r), fm_req_tenant(r), id, offset, limit, items, &total);
    return fm_reply_page_rc(r, rc, items, offset, total);
}

static bool label_ok(fm_req_t *r, const char *label)
{
    size_t n = label ? strlen(label) : 0;
    if (n >= 1 && n <= PROMPT_MAX_LABEL && strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n)
        return true;
    fm_reply_invalid(r, "label", "1 to 40 lower-case letters, digits, '-' or '_'");
    return false;
}

static int label_put(fm_req_t *r)
{
    char id[64];
    const char *label = fm_req_param(r, "label");
    if (!label_ok(r, label) || !prompt_id(r, id, sizeof(id)))
        return FM_OK;
    static const char *const known[] = { "version", NULL };
    const cJSON *j = fm_req_json(r), *v = cJSON_GetObjectItem(j, "version");
    if (!fm_req_members_known(r, j, "", known, "docs/prompts.md"))
        return FM_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > PROMPT_MAX_VERSIONS ||
        v->valuedouble != (int)v->valuedouble)
        return fm_reply_invalid(r, "version", "required: the version number the label points at");
    int rc = prompt_label_set(db_of(r), fm_req_tenant(r), id, label, v->valueint);
    if (rc == FM_ENOTFOUND)
        return fm_reply_invalid(r, "version", "the prompt has no version by that number");
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddNumberToObject(o, "version", v->valueint);
    return fm_reply_json(r, 200, o);
}

static int label_delete(fm_req_t *r)
{
    char id[64];
    const char *label = fm_req_param(r, "label");
    if (!label_ok(r, label) || !prompt_id(r, id, sizeof(id)))
        return FM_OK;
    int rc = prompt_label_set(db_of(r), fm_req_tenant(r), id, label, 0);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static int delete_(fm_req_t *r)
{
    char id[64];
    if (!prompt_id(r, id, sizeof(id)))
        return FM_OK;
    int rc = prompt_delete(db_of(r), fm_req_tenant(r), id);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc == FM_ENOTFOUND ? no_prompt(r, fm_req_param(r, "id")) : rc;
}

static int render_route(fm_req_t *r)
{
    char id[64];
    if (!prompt_id(r, id, sizeof(id)))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    static const char *const known[] = { "variables", "version", "label", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/prompts.md"))
        return FM_OK;
    char *text;
    prompt_ver_t v;
    if (!render(r, id, j, &text, &v))
        return FM_OK;
    cJSON *o = rendered_json(id, &v, str(j, "label"), text);
    free(text);
    prompt_ver_clear(&v);
    return fm_reply_json(r, 200, o);
}

/* POST /prompts/{id}/test: render, invoke the agent through its public route with the
 * caller's identity, keep the outcome beside the version. */
static int test_route(fm_req_t *r)
{
    char id[64];
    if (!prompt_id(r, id, sizeof(id)))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    static const char *const known[] = { "variables", "version", "label", "agentId", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/prompts.md"))
        return FM_OK;
    const char *agent = str(j, "agentId");
    size_t an = agent ? strlen(agent) : 0;
    if (an < 1 || an > 100 || strspn(agent, NAME_CHARS) != an)
        return fm_reply_invalid(r, "agentId", "required: the id of the agent to invoke (9007)");
    char *text;
    prompt_ver_t v;
    if (!render(r, id, j, &text, &v))
        return FM_OK;
    cJSON *call = cJSON_CreateObject();
    cJSON_AddStringToObject(call, "input", text);
    const cJSON *vars = cJSON_GetObjectItem(j, "variables");
    cJSON_AddItemToObject(call, "variables", vars ? cJSON_Duplicate(vars, true) : cJSON_CreateObject());
    char *body = cJSON_PrintUnformatted(call);
    cJSON_Delete(call);
    char path[160];
    snprintf(path, sizeof(path), "/agents/%s/invoke", agent);
    int status = 0;
    char *out = NULL;
    int rc = body ? fm_call(r, FM_POST, path, body, &status, &out) : FM_ENOMEM;
    cJSON_free(body);
    cJSON *answer = out ? cJSON_Parse(out) : NULL;
    free(out);
    bool passed = rc == FM_OK && status >= 200 && status < 300;
    char detail[300] = "";
    if (!passed)
        snprintf(detail, sizeof(detail), "%s", rc != FM_OK ? "the agent could not be called"
                 : str(answer, "detail") ? str(answer, "detail") : "the agent did not answer 2xx");
    cJSON *stored = NULL;
    cJSON *vars_stored = vars ? cJSON_Duplicate(vars, true) : cJSON_CreateObject();
    rc = prompt_test_add(db_of(r), fm_req_tenant(r), id, v.version, agent, vars_stored, text,
                         rc == FM_OK ? status : 0, answer, passed ? NULL : detail, &stored);
    cJSON_Delete(vars_stored);
    cJSON_Delete(answer);
    free(text);
    prompt_ver_clear(&v);
    if (rc != FM_OK)
        return rc;
    if (passed)
        return fm_reply_json(r, 201, stored);
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "test", stored);
    return fm_reply_problem(r, 502, NULL, "Bad Gateway", ext,
                            "the agent '%s' answered %d: %s (the failed run is stored with the version)", agent,
                            status, detail);
}

static int tests_route(fm_req_t *r)
{
    char id[64], vb[16];
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset) || !prompt_id(r, id, sizeof(id)))
        return FM_OK;
    const char *vs = fm_req_query(r, "version", vb, sizeof(vb));
    char *end = NULL;
    long v = vs ? strtol(vs, &end, 10) : 0;
    if (vs && (end == vs || *end || v < 1 || v > PROMPT_MAX_VERSIONS))
        return fm_reply_invalid(r, "version", "a version number");
    cJSON *items = cJSON_CreateArray();
    int rc = prompt_tests(db_of(r), fm_req_tenant(r), id, (int)v, offset, limit, items, &total);
    return fm_reply_page_rc(r, rc, items, offset, total);
}

static const fm_route_t routes[] = {
    { FM_POST, "/prompts", create, FM_R_JSON, "prompt:write" },
    { FM_GET, "/prompts", list, 0, "prompt:read" },
    { FM_GET, "/prompts/{id}", get, 0, "prompt:read" },
    { FM_PUT, "/prompts/{id}", update, FM_R_JSON, "prompt:write" },
    { FM_DELETE, "/prompts/{id}", delete_, 0, "prompt:write" },
    { FM_GET, "/prompts/{id}/versions", versions, 0, "prompt:read" },
    { FM_PUT, "/prompts/{id}/labels/{label}", label_put, FM_R_JSON, "prompt:write" },
    { FM_DELETE, "/prompts/{id}/labels/{label}", label_delete, 0, "prompt:write" },
    { FM_POST, "/prompts/{id}/render", render_route, FM_R_JSON, "prompt:read" },
    { FM_POST, "/prompts/{id}/test", test_route, FM_R_JSON, "prompt:write" },
    { FM_GET, "/prompts/{id}/tests", tests_route, 0, "prompt:read" },
};

const fm_module_t fm_prompts_module = {
    "prompts", "Prompt Engineering", 8012, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
