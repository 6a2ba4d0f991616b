/*
 * marketplace.c — BAC Marketplace (9016 /marketplace…): the routes. Publishing checks a
 * package (every BPMN and DMN model must import, forms must be form-js schemas, prompts
 * must pass Prompt Engineering's own prompt_check: Mustache templates and partials,
 * variable and output schemas), builds its content and signs it with the publishing tenant's Ed25519 key; search ranks by
 * FTS5 BM25 or by rating, downloads, recency; install (market_install.c) checks the
 * signature and creates the models in the caller's tenant; ratings and reviews.
 * docs/marketplace.md is the contract.
 */
#include "market_int.h"

#include "../../auth/fm_auth.h"
#include "../../bpmn/bpmn.h"
#include "../../dmn/dmn.h"
#include "../../fm_fts.h"
#include "../prompts/prompts_check.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 2 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n && s[0] != '-';
}

/* An array of at most MARKET_MAX_MODELS objects each with a string `name` and a string
 * `key` of at most 2 MiB; false after answering 422. */
static bool models(fm_req_t *r, const cJSON *a, const char *field, const char *key)
{
    if (!a)
        return true;
    char f[64];
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MARKET_MAX_MODELS)
        return fm_reply_invalid(r, field, "must be an array of at most 50 models"), false;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        const char *n = str(x, "name"), *src = str(x, key);
        snprintf(f, sizeof(f), "%s/%d/name", field, i);
        if (!n || !*n || strlen(n) > 200)
            return fm_reply_invalid(r, f, "required: 1 to 200 characters"), false;
        snprintf(f, sizeof(f), "%s/%d/%s", field, i, key);
        if (!src || strlen(src) > (2u << 20))
            return fm_reply_invalid(r, f, "required: the model's XML (at most 2 MiB)"), false;
        char err[300] = "";
        if (!strcmp(key, "bpmn")) {
            bpmn_model_t *m = bpmn_parse(src, strlen(src), err, sizeof(err));
            if (!m)
                return fm_reply_invalid(r, f, err[0] ? err : "does not import as BPMN"), false;
            bpmn_free(m);
        } else {
            dmn_model_t *m = NULL;
            dmn_err_t de = { 0 };
            if (dmn_load_xml(src, strlen(src), &m, &de) != FM_OK)
                return fm_reply_invalid(r, f, de.msg[0] ? de.msg : "does not import as DMN"), false;
            dmn_model_free(m);
        }
        for (const cJSON *y = a->child; y != x; y = y->next)
            if (!strcmp(str(y, "name"), n)) {
                snprintf(f, sizeof(f), "%s/%d/name", field, i);
                return fm_reply_invalid(r, f, "two models of one kind have this name"), false;
            }
        i++;
    }
    return true;
}

static bool forms_ok(fm_req_t *r, const cJSON *a)
{
    if (!a)
        return true;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MARKET_MAX_MODELS)
        return fm_reply_invalid(r, "forms", "must be an array of at most 50 {\"schema\"} objects"), false;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        char f[64];
        snprintf(f, sizeof(f), "forms/%d/schema", i++);
        const cJSON *s = cJSON_GetObjectItem(x, "schema");
        const char *id = str(s, "id");
        if (!cJSON_IsObject(s) || !id || !*id || strlen(id) > 100 || !cJSON_IsArray(cJSON_GetObjectItem(s, "components")))
            return fm_reply_invalid(r, f, "must be a form-js schema with an \"id\" and \"components\""), false;
    }
    return true;
}

/* Prompts for Prompt Engineering (8012): the members of POST /prompts a package may
 * carry, checked by 8012's own prompt_check (fm_mustache_check on templates and
 * partials, tasks_schema_check on schemas). A name leaves room for the ".<package>" a
 * rename appends (prompt names are at most 100 characters). */
static bool prompts_ok(fm_req_t *r, const cJSON *a, const char *pkg)
{
    static const char *const known[] = { "name", "template", "variables", "partials", "outputFormat",
                                         "outputSchema", "description", NULL };
    if (!a)
        return true;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > MARKET_MAX_MODELS)
        return fm_reply_invalid(r, "prompts", "must be an array of at most 50 prompts"), false;
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        char f[260];
        prompt_problem_t p;
        snprintf(f, sizeof(f), "prompts/%d", i);
        if (!cJSON_IsObject(x))
            return fm_reply_invalid(r, f, "must be a prompt object"), false;
        if (prompt_check(x, true, known, 100 - 1 - strlen(pkg), &p) != 0) {
            snprintf(f, sizeof(f), "prompts/%d/%s", i, p.pointer);
            return fm_reply_invalid(r, f, p.detail), false;
        }
        for (const cJSON *y = a->child; y != x; y = y->next)
            if (!strcmp(str(y, "name"), str(x, "name"))) {
                snprintf(f, sizeof(f), "prompts/%d/name", i);
                return fm_reply_invalid(r, f, "two prompts of the package have this name"), false;
            }
        i++;
    }
    return true;
}

static int publish(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    static const char *const known[] = { "name", "version", "license", "description", "tags", "processes",
                                         "decisions", "forms", "prompts", "changelog", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/marketplace.md"))
        return FM_OK;
    const char *name = str(j, "name"), *version = str(j, "version"), *license = str(j, "license");
    const char *desc = str(j, "description"), *changelog = str(j, "changelog");
    const cJSON *tags = cJSON_GetObjectItem(j, "tags");
    char vkey[40];
    if (!name_ok(name))
        return fm_reply_invalid(r, "name", "required: 2 to 64 lower-case letters, digits and '-'");
    if (!version || !market_semver_key(version, vkey, sizeof(vkey)))
        return fm_reply_invalid(r, "version", "required: a semantic version MAJOR.MINOR.PATCH (\"1.0.0\")");
    if (!license || !*license || strlen(license) > 64)
        return fm_reply_invalid(r, "license", "required: the licence (an SPDX id such as \"MIT\")");
    if (cJSON_GetObjectItem(j, "description") && (!desc || strlen(desc) > 4000))
        return fm_reply_invalid(r, "description", "must be a string of at most 4000 characters");
    if (cJSON_GetObjectItem(j, "changelog") && (!changelog || strlen(changelog) > 8000))
        return fm_reply_invalid(r, "changelog", "must be a string of at most 8000 characters");
    if (tags) {
        if (!cJSON_IsArray(tags) || cJSON_GetArraySize(tags) > 20)
            return fm_reply_invalid(r, "tags", "must be an array of at most 20 tags");
        const cJSON *t;
        cJSON_ArrayForEach(t, tags) if (!name_ok(cJSON_GetStringValue(t)) || strlen(t->valuestring) > 32) return
            fm_reply_invalid(r, "tags", "each tag: 2 to 32 lower-case letters, digits and '-'");
    }
    const cJSON *procs = cJSON_GetObjectItem(j, "processes"), *decs = cJSON_GetObjectItem(j, "decisions");
    const cJSON *forms = cJSON_GetObjectItem(j, "forms"), *prompts = cJSON_GetObjectItem(j, "prompts");
    if (!models(r, procs, "processes", "bpmn") || !models(r, decs, "decisions", "dmn") || !forms_ok(r, forms) ||
        !prompts_ok(r, prompts, name))
        return FM_OK;
    if (!cJSON_GetArraySize(procs) && !cJSON_GetArraySize(decs) && !cJSON_GetArraySize(forms) &&
        !cJSON_GetArraySize(prompts))
        return fm_reply_invalid(r, "processes", "a package holds at least one process, decision, form or prompt");

    /* The content, in a fixed member order, is what is signed and installed. */
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "version", version);
    cJSON_AddStringToObject(c, "license", license);
    cJSON_AddStringToObject(c, "description", desc ? desc : "");
    cJSON_AddItemToObject(c, "tags", tags ? cJSON_Duplicate(tags, true) : cJSON_CreateArray());
    cJSON_AddItemToObject(c, "processes", procs ? cJSON_Duplicate(procs, true) : cJSON_CreateArray());
    cJSON_AddItemToObject(c, "decisions", decs ? cJSON_Duplicate(decs, true) : cJSON_CreateArray());
    cJSON_AddItemToObject(c, "forms", forms ? cJSON_Duplicate(forms, true) : cJSON_CreateArray());
    cJSON_AddItemToObject(c, "prompts", prompts ? cJSON_Duplicate(prompts, true) : cJSON_CreateArray());
    char *content = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    if (!content)
        return FM_ENOMEM;
    unsigned char pk[32], sk[64], sig[64];
    int rc = market_key(db_of(r), fm_req_tenant(r), pk, sk);
    if (rc == FM_OK)
        crypto_sign_detached(sig, NULL, (const unsigned char *)content, strlen(content), sk);
    sodium_memzero(sk, sizeof(sk));
    char id[64] = "", why[300] = "";
    market_pub_t p = { fm_req_tenant(r), name, version, vkey, license, desc ? desc : "", changelog ? changelog : "",
                       tags, content, sig, pk };
    if (rc == FM_OK)
        rc = market_publish(db_of(r), &p, id, sizeof(id), why, sizeof(why));
    cJSON_free(content);
    if (rc == FM_EINVAL)
        return fm_reply_problem(r, 403, NULL, NULL, NULL, "%s", why);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "%s",
                                why[0] ? why : "this version of the package is published already");
    if (rc != FM_OK)
        return rc;
    cJSON *o = NULL;
    rc = market_get(db_of(r), id, &o);
    if (rc != FM_OK)
        return rc;
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), pk, 32);
    cJSON_AddStringToObject(o, "publicKey", hex);
    char loc[100];
    snprintf(loc, sizeof(loc), "/marketplace/%s", id);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, o);
}

static int search(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 20, &limit, &offset))
        return FM_OK;
    char qb[300], tb[40], sb[16];
    const char *q = fm_req_query(r, "q", qb, sizeof(qb));
    const char *tag = fm_req_query(r, "tag", tb, sizeof(tb));
    const char *sort = fm_req_query(r, "sort", sb, sizeof(sb));
    if (q && strlen(q) > 200)
        return fm_reply_invalid(r, "q", "at most 200 characters");
    if (sort && strcmp(sort, "relevance") && strcmp(sort, "rating") && strcmp(sort, "downloads") && strcmp(sort, "recent"))
        return fm_reply_invalid(r, "sort", "must be relevance, rating, downloads or recent");
    /* The words of q as FTS5 prefix terms ("inv"* "appr"*): no operator of the query
     * syntax reaches FTS5 from a user. */
    char match[700];
    int words = fm_fts_match(q, true, false, 10, match, sizeof(match));
    market_query_t mq = { words ? match : NULL, tag, sort, offset, limit };
    cJSON *items = cJSON_CreateArray();
    int rc = market_search(db_of(r), &mq, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int get(fm_req_t *r)
{
    cJSON *o = NULL;
    int rc = market_get(db_of(r), fm_req_param(r, "id"), &o);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no package '%s'", fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    /* a screenshot per process of the latest version: its diagram as Process Views draws it */
    cJSON *shots = cJSON_AddArrayToObject(o, "screenshots");
    const cJSON *x;
    int n = 0;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(cJSON_GetObjectItem(o, "contents"), "processes"))
    {
        char url[200];
        snprintf(url, sizeof(url), "/marketplace/%s/screenshots/%d", fm_req_param(r, "id"), ++n);
        cJSON *sh = cJSON_CreateObject();
        cJSON_AddItemToObject(sh, "process", cJSON_Duplicate(x, true));
        cJSON_AddStringToObject(sh, "url", url);
        cJSON_AddStringToObject(sh, "mediaType", "image/svg+xml");
        cJSON_AddItemToArray(shots, sh);
    }
    return fm_reply_json(r, 200, o);
}

/* GET /marketplace/{id}/screenshots/{n}?version=: process n (1-based, in package order)
 * of that version (default the latest) drawn as SVG from its BPMN (its BPMNDI, else the
 * automatic layout), rendered from the signed content on each request. */
static int screenshot(fm_req_t *r)
{
    char vb[40];
    const char *version = fm_req_query(r, "version", vb, sizeof(vb)), *ns = fm_req_param(r, "n");
    char *end = NULL;
    long n = strtol(ns, &end, 10);
    if (end == ns || *end || n < 1 || n > MARKET_MAX_MODELS)
        return fm_reply_invalid(r, "n", "the number of a process in the package (1 to 50)");
    market_version_t v;
    int rc = market_version_read(db_of(r), fm_req_param(r, "id"), version, &v);
    if (rc != FM_OK) {
        free(v.content);
        return rc == FM_ENOTFOUND ? fm_reply_problem(r, 404, NULL, NULL, NULL, "no package '%s'%s%s",
                                                     fm_req_param(r, "id"), version ? " at version " : "",
                                                     version ? version : "")
                                  : rc;
    }
    cJSON *c = cJSON_Parse(v.content);
    free(v.content);
    const char *xml = str(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "processes"), (int)n - 1), "bpmn");
    if (!xml) {
        cJSON_Delete(c);
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "package '%s' has no process %ld", fm_req_param(r, "id"),
                                n);
    }
    char err[300] = "";
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    cJSON_Delete(c);
    cJSON *view = m ? bpmn_view(m, NULL, 0) : NULL;
    char *svg = view ? bpmn_svg(view) : NULL;
    cJSON_Delete(view);
    bpmn_free(m);
    if (!svg)
        return fm_reply_problem(r, 500, NULL, NULL, NULL, "the process could not be drawn: %s", err);
    rc = fm_reply_raw(r, 200, "image/svg+xml", svg, strlen(svg));
    free(svg);
    return rc;
}

static int version_get(fm_req_t *r)
{
    market_version_t v;
    int rc = market_version_read(db_of(r), fm_req_param(r, "id"), fm_req_param(r, "version"), &v);
    if (rc == FM_ENOTFOUND) {
        free(v.content);
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no version '%s' of package '%s'",
                                fm_req_param(r, "version"), fm_req_param(r, "id"));
    }
    if (rc != FM_OK) {
        free(v.content);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "content", cJSON_Parse(v.content));
    char sig[129], pk[65];
    sodium_bin2hex(sig, sizeof(sig), v.sig, 64);
    sodium_bin2hex(pk, sizeof(pk), v.pk, 32);
    cJSON_AddStringToObject(o, "signature", sig);
    cJSON_AddStringToObject(o, "publicKey", pk);
    cJSON_AddBoolToObject(o, "signatureValid", crypto_sign_verify_detached(v.sig, (const unsigned char *)v.content,
                                                                           strlen(v.content), v.pk) == 0);
    free(v.content);
    return fm_reply_json(r, 200, o);
}

static int install(fm_req_t *r)
{
    size_t len = 0;
    fm_req_body(r, &len);
    cJSON *b = len ? fm_req_parse_json(r) : cJSON_CreateObject();
    if (!b)
        return FM_OK;
    const char *version = str(b, "version"), *on = str(b, "onConflict");
    const cJSON *pub = cJSON_GetObjectItem(b, "publish");
    int rc = FM_OK;
    if (cJSON_GetObjectItem(b, "version") && !version)
        rc = fm_reply_invalid(r, "version", "must be a version string (\"1.2.0\")");
    else if (cJSON_GetObjectItem(b, "onConflict") && (!on || (strcmp(on, "fail") && strcmp(on, "rename") && strcmp(on, "skip"))))
        rc = fm_reply_invalid(r, "onConflict", "must be fail, rename or skip");
    else if (pub && !cJSON_IsBool(pub))
        rc = fm_reply_invalid(r, "publish", "must be true or false");
    if (rc != FM_OK || fm_replied(r)) {
        cJSON_Delete(b);
        return FM_OK;
    }
    market_version_t v;
    rc = market_version_read(db_of(r), fm_req_param(r, "id"), version, &v);
    if (rc == FM_ENOTFOUND)
        rc = fm_reply_problem(r, 404, NULL, NULL, NULL, "no package '%s'%s%s", fm_req_param(r, "id"),
                              version ? " with version " : "", version ? version : "");
    else if (rc == FM_OK)
        rc = market_install(r, fm_req_param(r, "id"), &v, on, !pub || cJSON_IsTrue(pub));
    free(v.content);
    cJSON_Delete(b);
    return rc;
}

static int rate(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "stars", FM_F_INT, true, 1, 5, NULL },
        { "review", FM_F_STRING, false, 0, 4000, NULL },
    };
    if (fm_req_check(r, fields, 2))
        return FM_OK;
    const fm_principal_t *p = fm_req_principal(r);
    cJSON *j = fm_req_json(r);
    const char *review = str(j, "review");
    int rc = market_rate(db_of(r), fm_req_param(r, "id"), fm_req_tenant(r), p && p->sub[0] ? p->sub : "anonymous",
                         cJSON_GetObjectItem(j, "stars")->valueint, review ? review : "");
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no package '%s'", fm_req_param(r, "id"));
    return rc == FM_OK ? get(r) : rc;
}

static const fm_route_t routes[] = {
    { FM_POST, "/marketplace/publish", publish, FM_R_JSON, "marketplace:publish" },
    { FM_GET, "/marketplace/search", search, 0, "marketplace:read" },
    { FM_GET, "/marketplace/{id}", get, 0, "marketplace:read" },
    { FM_GET, "/marketplace/{id}/versions/{version}", version_get, 0, "marketplace:read" },
    { FM_GET, "/marketplace/{id}/screenshots/{n}", screenshot, 0, "marketplace:read" },
    { FM_POST, "/marketplace/{id}/install", install, FM_R_BODY, "marketplace:install" },
    { FM_POST, "/marketplace/{id}/ratings", rate, FM_R_JSON, "marketplace:install" },
};

const fm_module_t fm_marketplace_module = {
    "marketplace", "BAC Marketplace", 9016, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
