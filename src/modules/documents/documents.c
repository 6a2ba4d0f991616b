/*
 * documents.c — Document Intelligence (9002): the routes. Uploads (multipart/form-data
 * or a raw body with its Content-Type; documents.max_upload_mb) are read to text at once
 * (doc_text.c), so a document that cannot be read is refused and nothing is stored; the
 * bytes are kept content-addressed (doc_store.c). Extraction (doc_extract.c) finds
 * entities, key–value pairs and the document type in the stored text. Custom patterns
 * and document types are per tenant. docs/documents.md is the contract.
 */
#define _GNU_SOURCE     /* memmem, pipe2, mkostemp */
#include "doc_int.h"

#include "../../auth/fm_auth.h"
#include "../../fm_config.h"
#include "../orchestration/orch_client.h"
#include "../tasks/tasks_jsonschema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TAGS 20

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *actor_of(fm_req_t *r)
{
    const fm_principal_t *p = fm_req_principal(r);
    return p ? p->sub : NULL;
}

static int reply_no_document(fm_req_t *r, const char *id)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no document '%s' in this tenant", id);
}

static int reply_doc_err(fm_req_t *r, const doc_err_t *e)
{
    cJSON *ext = NULL;
    if (e->status == 415) {
        ext = cJSON_CreateObject();
        cJSON *a = cJSON_AddArrayToObject(ext, "accepted");
        for (int f = 0; f < DOC_F_UNKNOWN; f++)
            cJSON_AddItemToArray(a, cJSON_CreateString(doc_format_media((doc_format_t)f)));
    }
    return fm_reply_problem(r, e->status, e->status == 422 ? "urn:flowmaster:problem:unreadable-document" : NULL,
                            e->status == 422 ? "Unreadable Document" : NULL, ext, "%s", e->detail);
}

/* ---- upload ---- */

typedef struct upload {
    const char *data;
    size_t len;
    char media[128];
    char name[256];
    char tags[1024];
    bool has_name, has_tags;
} upload_t;

/* Copies the value of param (name="x" or name=x) in a header value. */
static bool header_param(const char *h, size_t hl, const char *param, char *out, size_t ol)
{
    size_t pl = strlen(param);
    for (size_t i = 0; i + pl + 1 < hl; i++) {
        if ((i == 0 || h[i - 1] == ';' || h[i - 1] == ' ') && !strncasecmp(h + i, param, pl) && h[i + pl] == '=') {
            const char *v = h + i + pl + 1, *end = h + hl;
            size_t k = 0;
            if (*v == '"') {
                v++;
                while (v < end && *v != '"' && k + 1 < ol) {
                    if (*v == '\\' && v + 1 < end)
                        v++;
                    out[k++] = *v++;
                }
            } else {
                while (v < end && *v != ';' && *v != ' ' && *v != '\r' && k + 1 < ol)
                    out[k++] = *v++;
            }
            out[k] = '\0';
            return true;
        }
    }
    return false;
}

/* multipart/form-data (RFC 7578): the part named "file" (or the first with a filename)
 * is the document; parts "name" and "tags" are fields. Linear: each boundary is found
 * once with memmem. */
static int parse_multipart(fm_req_t *r, const char *ctype, const char *body, size_t len, upload_t *u)
{
    char boundary[80], delim[90];
    if (!header_param(ctype, strlen(ctype), "boundary", boundary, sizeof(boundary)) || !*boundary)
        return fm_reply_problem(r, 400, NULL, NULL, NULL, "multipart/form-data without a boundary parameter");
    int dl = snprintf(delim, sizeof(delim), "--%s", boundary);
    const char *p = memmem(body, len, delim, (size_t)dl), *end = body + len;
    bool found = false;
    while (p) {
        p += dl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            p += 2;
        const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend)
            break;
        const char *content = hend + 4;
        char nd[96];
        int nl = snprintf(nd, sizeof(nd), "\r\n%s", delim);
        const char *next = memmem(content, (size_t)(end - content), nd, (size_t)nl);
        if (!next)
            return fm_reply_problem(r, 400, NULL, NULL, NULL, "the multipart body ends without its closing boundary");
        char fname[256] = "", field[64] = "", pct[128] = "";
        bool has_file = false;
        for (const char *h = p; h < hend;) {
            const char *eol = memmem(h, (size_t)(hend - h), "\r\n", 2);
            size_t hl = eol ? (size_t)(eol - h) : (size_t)(hend - h);
            if (hl > 20 && !strncasecmp(h, "Content-Disposition:", 20)) {
                header_param(h + 20, hl - 20, "name", field, sizeof(field));
                has_file = header_param(h + 20, hl - 20, "filename", fname, sizeof(fname));
            } else if (hl > 13 && !strncasecmp(h, "Content-Type:", 13)) {
                const char *v = h + 13;
                while (*v == ' ')
                    v++;
                snprintf(pct, sizeof(pct), "%.*s", (int)(h + hl - v), v);
            }
            h = eol ? eol + 2 : hend;
        }
        size_t clen = (size_t)(next - content);
        if (!found && (!strcmp(field, "file") || has_file)) {
            found = true;
            u->data = content;
            u->len = clen;
            snprintf(u->media, sizeof(u->media), "%s", pct);
            if (*fname && !u->has_name) {
                snprintf(u->name, sizeof(u->name), "%s", fname);
                u->has_name = true;
            }
        } else if (!strcmp(field, "name")) {
            snprintf(u->name, sizeof(u->name), "%.*s", (int)(clen < 255 ? clen : 255), content);
            u->has_name = true;
        } else if (!strcmp(field, "tags")) {
            snprintf(u->tags, sizeof(u->tags), "%.*s", (int)(clen < 1023 ? clen : 1023), content);
            u->has_tags = true;
        }
        p = next + 2;
    }
    if (!found)
        return fm_reply_invalid(r, "file", "the multipart body has no part named \"file\" (or with a filename)");
    return FM_OK;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* "a, b,c" → ["a","b","c"]; NULL after answering 422. */
static cJSON *tags_of(fm_req_t *r, const char *s)
{
    cJSON *a = cJSON_CreateArray();
    while (s && *s) {
        size_t k = strcspn(s, ",");
        const char *t = s;
        size_t tl = k;
        while (tl && isspace((unsigned char)*t))
            t++, tl--;
        while (tl && isspace((unsigned char)t[tl - 1]))
            tl--;
        if (tl) {
            char tag[65];
            if (tl > 64 || cJSON_GetArraySize(a) >= MAX_TAGS) {
                cJSON_Delete(a);
                fm_reply_invalid(r, "tags", "at most 20 tags of 1 to 64 characters, separated by commas");
                return NULL;
            }
            snprintf(tag, sizeof(tag), "%.*s", (int)tl, t);
            if (!printable(tag) || !doc_utf8_ok(tag, tl)) {
                cJSON_Delete(a);
                fm_reply_invalid(r, "tags", "tags are printable UTF-8 text");
                return NULL;
            }
            cJSON_AddItemToArray(a, cJSON_CreateString(tag));
        }
        s += k + (s[k] == ',');
    }
    return a;
}

static int upload(fm_req_t *r)
{
    upload_t u;
    memset(&u, 0, sizeof(u));
    size_t blen = 0;
    const char *body = fm_req_body(r, &blen);
    const char *ctype = fm_req_header(r, "Content-Type");
    if (ctype && !strncasecmp(ctype, "multipart/form-data", 19)) {
        int rc = parse_multipart(r, ctype, body ? body : "", blen, &u);
        if (rc != FM_OK || fm_replied(r))
            return rc;
    } else {
        u.data = body ? body : "";
        u.len = blen;
        snprintf(u.media, sizeof(u.media), "%s", ctype ? ctype : "");
        const char *cd = fm_req_header(r, "Content-Disposition");
        if (cd && header_param(cd, strlen(cd), "filename", u.name, sizeof(u.name)))
            u.has_name = true;
    }
    char qb[300], tb[1100];
    const char *qn = fm_req_query(r, "name", qb, sizeof(qb));
    const char *qt = fm_req_query(r, "tags", tb, sizeof(tb));
    if (qn) {
        if (strlen(qn) > 255)
            return fm_reply_invalid(r, "name", "at most 255 characters");
        snprintf(u.name, sizeof(u.name), "%s", qn);
        u.has_name = true;
    }
    if (qt) {
        if (strlen(qt) > 1023)
            return fm_reply_invalid(r, "tags", "at most 1023 characters");
        snprintf(u.tags, sizeof(u.tags), "%s", qt);
    }
    if (u.has_name && (!*u.name || !printable(u.name) || !doc_utf8_ok(u.name, strlen(u.name))))
        return fm_reply_invalid(r, "name", "1 to 255 printable UTF-8 characters");
    if (u.len == 0)
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:empty-document", "Empty Document", NULL,
                                "the document is empty (0 bytes); nothing was stored");
    doc_err_t err = { 0, "" };
    doc_format_t f = doc_detect(u.media, u.has_name ? u.name : NULL, u.data, u.len, &err);
    if (f == DOC_F_UNKNOWN)
        return reply_doc_err(r, &err);
    char *text = NULL;
    size_t tlen = 0;
    int rc = doc_text_extract(f, u.data, u.len, &text, &tlen, &err);
    if (rc == FM_EINVAL)
        return reply_doc_err(r, &err);
    if (rc != FM_OK)
        return rc;
    cJSON *tags = tags_of(r, u.tags);
    if (!tags) {
        free(text);
        return FM_OK;
    }
    if (!u.has_name)
        snprintf(u.name, sizeof(u.name), "document.%s", doc_format_name(f));
    doc_new_t n = {
        .tenant = fm_req_tenant(r), .actor = actor_of(r), .name = u.name, .media_type = doc_format_media(f),
        .format = f, .data = u.data, .size = u.len, .tags = tags, .text = text, .text_len = tlen,
    };
    cJSON *out = NULL;
    rc = doc_insert(db_of(r), &n, &out);
    free(text);
    cJSON_Delete(tags);
    if (rc != FM_OK)
        return rc;
    char loc[80];
    snprintf(loc, sizeof(loc), "/documents/%s", cJSON_GetStringValue(cJSON_GetObjectItem(out, "id")));
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

/* ---- reads ---- */

static int list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset) != FM_OK)
        return FM_OK;
    char qb[300], tb[140], gb[80], db_[80];
    doc_filter_t f = {
        fm_req_query(r, "q", qb, sizeof(qb)), fm_req_query(r, "type", tb, sizeof(tb)),
        fm_req_query(r, "tag", gb, sizeof(gb)), fm_req_query(r, "documentType", db_, sizeof(db_)),
    };
    if (f.q && strlen(f.q) > 255)
        return fm_reply_invalid(r, "q", "at most 255 characters");
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    int rc = doc_list(db_of(r), fm_req_tenant(r), &f, offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int get(fm_req_t *r)
{
    cJSON *out = NULL;
    int rc = doc_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &out);
    if (rc == FM_ENOTFOUND)
        return reply_no_document(r, fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_json(r, 200, out) : rc;
}

static int content(fm_req_t *r)
{
    char *data = NULL, media[128];
    size_t len = 0;
    int rc = doc_content_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &data, &len, media, sizeof(media));
    if (rc == FM_ENOTFOUND)
        return reply_no_document(r, fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    if (!strncmp(media, "text/", 5) || !strcmp(media, "application/json") || !strcmp(media, "application/xml"))
        strncat(media, "; charset=utf-8", sizeof(media) - strlen(media) - 1);
    rc = fm_reply_raw(r, 200, media, data, len);
    free(data);
    return rc;
}

/* The contract other modules (the Knowledge Hub) rely on: 200 text/plain UTF-8, the
 * whole extracted text; 404 for an id of another tenant. */
static int text(fm_req_t *r)
{
    char *t = NULL;
    int rc = doc_text_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &t);
    if (rc == FM_ENOTFOUND)
        return reply_no_document(r, fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    rc = fm_reply_raw(r, 200, "text/plain; charset=utf-8", t ? t : "", t ? strlen(t) : 0);
    free(t);
    return rc;
}

static int delete_(fm_req_t *r)
{
    int rc = doc_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return reply_no_document(r, fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- extraction ---- */

/* The optional body of an extraction: {} or nothing, or {"agentId", "schema"} for an
 * extraction through an agent too. false after answering 400/422. */
static bool extract_body(fm_req_t *r, cJSON **body, const char **agent, const cJSON **schema)
{
    size_t blen = 0;
    fm_req_body(r, &blen);
    *body = NULL;
    *agent = NULL;
    *schema = NULL;
    if (!blen)
        return true;
    cJSON *j = fm_req_parse_json(r);
    if (!j)
        return false;
    *body = j;
    static const char *const known[] = { "agentId", "schema", NULL };
    if (!cJSON_IsObject(j))
        return fm_reply_invalid(r, "", "the body is an object: {} or {\"agentId\", \"schema\"}"), false;
    if (!fm_req_members_known(r, j, "", known, "docs/documents.md"))
        return false;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "agentId"), *s = cJSON_GetObjectItemCaseSensitive(j, "schema");
    if (!a && !s)
        return true;
    if (!a || !cJSON_IsString(a) || !orch_client_agent_ok(a->valuestring))
        return fm_reply_invalid(r, "agentId", "the id of an agent on 9007 (1 to 100 of A-Z a-z 0-9 . _ -) is "
                                "required with a schema"), false;
    if (!s || !cJSON_IsObject(s))
        return fm_reply_invalid(r, "schema", "a JSON Schema object for the agent's result is required with an "
                                "agentId"), false;
    char *printed = cJSON_PrintUnformatted(s);
    size_t plen = printed ? strlen(printed) : 0;
    cJSON_free(printed);
    char why[300], msg[400];
    if (plen > DOC_AI_SCHEMA_MAX) {
        snprintf(msg, sizeof(msg), "is %zu bytes; at most %d", plen, DOC_AI_SCHEMA_MAX);
        return fm_reply_invalid(r, "schema", msg), false;
    }
    if (tasks_schema_check(s, why, sizeof(why)) != 0) {
        snprintf(msg, sizeof(msg), "not a schema of the supported subset (docs/tasks.md \"Forms\"): %s", why);
        return fm_reply_invalid(r, "schema", msg), false;
    }
    *agent = a->valuestring;
    *schema = s;
    return true;
}

static int extract(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    cJSON *body;
    const char *agent;
    const cJSON *schema;
    if (!extract_body(r, &body, &agent, &schema)) {
        cJSON_Delete(body);
        return FM_OK;
    }
    char *t = NULL;
    int rc = doc_text_get(db_of(r), fm_req_tenant(r), id, &t);
    if (rc == FM_ENOTFOUND) {
        cJSON_Delete(body);
        return reply_no_document(r, id);
    }
    if (rc != FM_OK) {
        cJSON_Delete(body);
        return rc;
    }
    doc_custom_t *custom = NULL;
    int ncustom = 0, ntypes = 0;
    doc_type_t *types = NULL;
    rc = doc_patterns_load(db_of(r), fm_req_tenant(r), &custom, &ncustom);
    if (rc == FM_OK)
        rc = doc_types_load(db_of(r), fm_req_tenant(r), &types, &ntypes);
    cJSON *out = NULL;
    char why[400] = "";
    if (rc == FM_OK)
        rc = doc_extract_run(t ? t : "", t ? strlen(t) : 0, custom, ncustom, types, ntypes, &out, why, sizeof(why));
    for (int i = 0; i < ncustom; i++)
        doc_custom_free(custom[i].code);
    free(custom);
    doc_types_free(types, ntypes);
    if (rc == FM_OK && agent) {
        rc = doc_ai_extract(r, agent, schema, t ? t : "", t ? strlen(t) : 0, out);
        if (rc != FM_OK)
            cJSON_Delete(out);
    }
    free(t);
    cJSON_Delete(body);
    if (rc == FM_REPLIED)
        return FM_OK;
    if (rc == FM_ETOOBIG)
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:pattern-limit", "Pattern Limit Reached", NULL, "%s",
                                why);
    if (rc != FM_OK)
        return rc;
    cJSON_AddStringToObject(out, "documentId", id);
    rc = doc_extraction_put(db_of(r), fm_req_tenant(r), id, out);
    if (rc == FM_ENOTFOUND) {
        cJSON_Delete(out);
        return reply_no_document(r, id);
    }
    if (rc != FM_OK) {
        cJSON_Delete(out);
        return rc;
    }
    return fm_reply_json(r, 200, out);
}

/* ---- custom patterns ---- */

/* A pattern is tried on probes that make nested quantifiers explode before it is kept:
 * one that hits a PCRE2 limit on 32 characters will on real text too. */
static bool pattern_backtracks(void *code, char *why, size_t wl)
{
    static const char *const probes[] = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "00000000000000000000000000000000!",
        "                                !", "a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-!",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!",
    };
    doc_custom_t c = { "probe", 1.0, code };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        cJSON *out = NULL;
        int rc = doc_extract_run(probes[i], strlen(probes[i]), &c, 1, NULL, 0, &out, why, wl);
        cJSON_Delete(out);
        if (rc == FM_ETOOBIG) {
            snprintf(why, wl,
                     "the pattern hits the PCRE2 match/depth limit on a 33-character probe (catastrophic "
                     "backtracking); rewrite it without nested quantifiers like (a+)+");
            return true;
        }
    }
    return false;
}

static int pattern_create(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "name", FM_F_STRING, true, 1, 64, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-." },
        { "pattern", FM_F_STRING, true, 1, 1000, NULL },
    };
    if (fm_req_check(r, fields, 2) != FM_OK)
        return FM_OK;
    cJSON *b = fm_req_json(r);
    const char *name = cJSON_GetObjectItem(b, "name")->valuestring;
    const char *pat = cJSON_GetObjectItem(b, "pattern")->valuestring;
    const cJSON *cf = cJSON_GetObjectItem(b, "confidence");
    double conf = 0.8;
    if (cf && (!cJSON_IsNumber(cf) || cf->valuedouble < 0 || cf->valuedouble > 1))
        return fm_reply_invalid(r, "confidence", "must be a number from 0 to 1");
    if (cf)
        conf = cf->valuedouble;
    void *code = NULL;
    char why[300];
    if (doc_custom_compile(pat, &code, why, sizeof(why)) != FM_OK)
        return fm_reply_invalid(r, "pattern", why);
    bool bad = pattern_backtracks(code, why, sizeof(why));
    doc_custom_free(code);
    if (bad)
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:pattern-limit", "Pattern Limit Reached", NULL, "%s",
                                why);
    cJSON *out = NULL;
    int rc = doc_pattern_insert(db_of(r), fm_req_tenant(r), name, pat, conf, &out);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "this tenant already has a pattern named '%s'", name);
    if (rc != FM_OK)
        return rc;
    char loc[80];
    snprintf(loc, sizeof(loc), "/documents/patterns/%s", cJSON_GetStringValue(cJSON_GetObjectItem(out, "id")));
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

static int pattern_list(fm_req_t *r)
{
    cJSON *items = cJSON_CreateArray();
    int rc = doc_pattern_list(db_of(r), fm_req_tenant(r), items);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, 0, cJSON_GetArraySize(items));
}

static int pattern_delete(fm_req_t *r)
{
    int rc = doc_pattern_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no pattern '%s' in this tenant", fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- document types ---- */

static int type_create(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "name", FM_F_STRING, true, 1, 64, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-." },
        { "rules", FM_F_ARRAY, true, 0, 0, NULL },
    };
    if (fm_req_check(r, fields, 2) != FM_OK)
        return FM_OK;
    cJSON *b = fm_req_json(r);
    const char *name = cJSON_GetObjectItem(b, "name")->valuestring;
    const cJSON *rules = cJSON_GetObjectItem(b, "rules");
    const cJSON *th = cJSON_GetObjectItem(b, "threshold");
    double threshold = 0.5;
    if (th && (!cJSON_IsNumber(th) || th->valuedouble <= 0 || th->valuedouble > 1))
        return fm_reply_invalid(r, "threshold", "must be a number above 0 and at most 1");
    if (th)
        threshold = th->valuedouble;
    int n = cJSON_GetArraySize(rules);
    if (n < 1 || n > 50)
        return fm_reply_invalid(r, "rules", "1 to 50 rules, each {\"keyword\"} or {\"pattern\"} with a \"weight\"");
    cJSON *clean = cJSON_CreateArray();
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, rules)
    {
        char f[64], why[300];
        const char *kw = cJSON_GetStringValue(cJSON_GetObjectItem(x, "keyword"));
        const char *pat = cJSON_GetStringValue(cJSON_GetObjectItem(x, "pattern"));
        const cJSON *w = cJSON_GetObjectItem(x, "weight");
        snprintf(f, sizeof(f), "rules/%d", i++);
        if (!cJSON_IsObject(x) || (!kw == !pat) || (kw && (!*kw || strlen(kw) > 128)) ||
            (pat && (!*pat || strlen(pat) > 1000))) {
            cJSON_Delete(clean);
            return fm_reply_invalid(r, f, "must hold one of keyword (1 to 128 characters) or pattern (1 to 1000)");
        }
        if (w && (!cJSON_IsNumber(w) || w->valuedouble <= 0 || w->valuedouble > 1000)) {
            cJSON_Delete(clean);
            return fm_reply_invalid(r, f, "weight must be a number above 0 and at most 1000");
        }
        if (pat) {
            void *code = NULL;
            if (doc_custom_compile(pat, &code, why, sizeof(why)) != FM_OK) {
                cJSON_Delete(clean);
                return fm_reply_invalid(r, f, why);
            }
            bool bad = pattern_backtracks(code, why, sizeof(why));
            doc_custom_free(code);
            if (bad) {
                cJSON_Delete(clean);
                return fm_reply_problem(r, 422, "urn:flowmaster:problem:pattern-limit", "Pattern Limit Reached",
                                        NULL, "%s: %s", f, why);
            }
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, kw ? "keyword" : "pattern", kw ? kw : pat);
        cJSON_AddNumberToObject(o, "weight", w ? w->valuedouble : 1);
        cJSON_AddItemToArray(clean, o);
    }
    cJSON *out = NULL;
    int rc = doc_type_insert(db_of(r), fm_req_tenant(r), name, clean, threshold, &out);
    cJSON_Delete(clean);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "this tenant already has a document type named '%s'", name);
    if (rc != FM_OK)
        return rc;
    char loc[80];
    snprintf(loc, sizeof(loc), "/documents/types/%s", cJSON_GetStringValue(cJSON_GetObjectItem(out, "id")));
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

static int type_list(fm_req_t *r)
{
    cJSON *items = cJSON_CreateArray();
    int rc = doc_type_list(db_of(r), fm_req_tenant(r), items);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, 0, cJSON_GetArraySize(items));
}

static int type_delete(fm_req_t *r)
{
    int rc = doc_type_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no document type '%s' in this tenant",
                                fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static int start(fm_mod_t *m)
{
    int rc = doc_extract_init();
    return rc == FM_OK ? doc_store_init() : rc;
}

static void stop(fm_mod_t *m)
{
    doc_extract_free();
}

static const fm_route_t routes[] = {
    { FM_POST, "/documents/upload", upload, FM_R_BODY | FM_R_UPLOAD, "document:write" },
    { FM_GET, "/documents", list, 0, "document:read" },
    { FM_GET, "/documents/{id}", get, 0, "document:read" },
    { FM_GET, "/documents/{id}/content", content, 0, "document:read" },
    { FM_GET, "/documents/{id}/text", text, 0, "document:read" },
    { FM_DELETE, "/documents/{id}", delete_, 0, "document:write" },
    { FM_POST, "/documents/{id}/extract", extract, FM_R_BODY, "document:write" },
    { FM_POST, "/documents/patterns", pattern_create, FM_R_JSON, "document:write" },
    { FM_GET, "/documents/patterns", pattern_list, 0, "document:read" },
    { FM_DELETE, "/documents/patterns/{id}", pattern_delete, 0, "document:write" },
    { FM_POST, "/documents/types", type_create, FM_R_JSON, "document:write" },
    { FM_GET, "/documents/types", type_list, 0, "document:read" },
    { FM_DELETE, "/documents/types/{id}", type_delete, 0, "document:write" },
};

const fm_module_t fm_documents_module = {
    "documents", "Document Intelligence", 9002, FM_M_DB, FM_ROUTES(routes), NULL, start, stop,
};
