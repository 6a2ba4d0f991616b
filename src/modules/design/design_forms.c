/*
 * design_forms.c — the form store of Process Design (9003): Camunda Forms (form-js
 * JSON schemas, as Camunda Modeler saves a .form file) that user tasks link with
 * zeebe:formDefinition formId="…". A form is addressed by its schema's own "id" (the
 * formId), has a mutable draft with If-Match revisions like a process, and immutable
 * published versions 1, 2, ..., each with an optional version tag. The engine resolves
 * a formId to the latest published version, or to the newest one with a version tag
 * (GET /forms/{id}/versions?versionTag=&limit=1). Schemas are checked with the Human
 * Task Service's own form-js checker, so a stored form is one a task accepts.
 * Routes are in design.c's table; tables in migrations/design/0002_forms.sql.
 */
#include "design_int.h"

#include "../../fm_dbq.h"
#include "../../fm_log.h"
#include "../tasks/tasks_formjs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_ID_MAX 100
#define FORM_NAME_MAX 200
#define FORM_TAG_MAX 100

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

/* Letters, digits and _ . : - — what Camunda's ids use, and safe in a URL path. */
static bool good_form_id(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > FORM_ID_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == ':' || *s == '-'))
            return false;
    return true;
}

static int not_found(fm_req_t *r)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no form '%s'", fm_req_param(r, "id"));
}

/* ---- store ---- */

#define FORM_COLS "form_id, name, status, revision, latest_version, created_at, updated_at, draft"

/* The API object of a forms row; with_schema (arg non-NULL) adds the draft schema. */
static cJSON *row_json(const fm_dbrow_t *r, void *with_schema)
{
    cJSON *o = cJSON_CreateObject();
    char etag[32];
    cJSON_AddStringToObject(o, "formId", fm_dbrow_str(r, 0));
    cJSON_AddStringToObject(o, "name", fm_dbrow_str(r, 1));
    cJSON_AddStringToObject(o, "status", fm_dbrow_str(r, 2));
    cJSON_AddNumberToObject(o, "revision", (double)fm_dbrow_int(r, 3));
    snprintf(etag, sizeof(etag), "\"r%d\"", (int)fm_dbrow_int(r, 3));
    cJSON_AddStringToObject(o, "etag", etag);
    cJSON_AddNumberToObject(o, "latestVersion", (double)fm_dbrow_int(r, 4));
    cJSON_AddStringToObject(o, "createdAt", fm_dbrow_str(r, 5));
    cJSON_AddStringToObject(o, "updatedAt", fm_dbrow_str(r, 6));
    if (with_schema) {
        cJSON *sc = fm_dbrow_json(r, 7);
        cJSON_AddItemToObject(o, "schema", sc ? sc : cJSON_CreateObject());
    }
    return o;
}

typedef struct { bool with_schema; cJSON *out; } get_t;

static int get_row(const fm_dbrow_t *r, void *arg)
{
    get_t *g = arg;
    g->out = row_json(r, g->with_schema ? g : NULL);
    return g->out ? FM_OK : FM_ENOMEM;
}

/* Reads one form on connection c: FM_OK with *out (caller deletes), FM_ENOTFOUND, FM_EDB. */
static int get_on(fm_dbc_t *c, const char *tenant, const char *id, bool with_schema, cJSON **out)
{
    get_t g = { with_schema, NULL };
    int rc = fm_dbq_one(c, "SELECT " FORM_COLS " FROM forms WHERE tenant_id = ? AND form_id = ?", get_row, &g, "ss",
                        tenant, id);
    *out = g.out;
    return rc;
}

/* ---- reading a body ---- */

typedef struct form_in {
    cJSON *body;            /* owned by the request */
    cJSON *schema;          /* borrowed from body */
    const char *name;       /* NULL: not given */
} form_in_t;

/* The body is the form-js schema itself (a .form file) or {"name", "schema"}. Replies
 * and returns FM_REPLIED when unusable. path_id: the form addressed (PUT), or NULL. */
static int read_form(fm_req_t *r, const char *path_id, form_in_t *in)
{
    in->body = fm_req_json(r);
    in->name = NULL;
    in->schema = in->body;
    if (!cJSON_IsObject(in->body))
        return fm_reply_invalid(r, "", "the body is a form-js schema or {\"name\", \"schema\"}"), FM_REPLIED;
    cJSON *env = cJSON_GetObjectItemCaseSensitive(in->body, "schema");
    if (!cJSON_GetObjectItemCaseSensitive(in->body, "components") && cJSON_IsObject(env)) {
        in->schema = env;
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(in->body, "name");
        if (n && (!cJSON_IsString(n) || !*n->valuestring || strlen(n->valuestring) > FORM_NAME_MAX))
            return fm_reply_invalid(r, "name", "must be 1 to 200 characters"), FM_REPLIED;
        in->name = n ? n->valuestring : NULL;
    }
    const char *field = in->schema == in->body ? "" : "schema";
    if (!tasks_formjs_is(in->schema))
        return fm_reply_invalid(r, field, "a form-js schema has a \"components\" array"), FM_REPLIED;
    char why[300];
    if (tasks_formjs_check(in->schema, why, sizeof(why)))
        return fm_reply_invalid(r, field, why), FM_REPLIED;
    cJSON *id = cJSON_GetObjectItemCaseSensitive(in->schema, "id");
    if (!id && path_id) {
        cJSON_AddStringToObject(in->schema, "id", path_id);
        id = cJSON_GetObjectItemCaseSensitive(in->schema, "id");
    }
    if (!cJSON_IsString(id) || !good_form_id(id->valuestring))
        return fm_reply_invalid(r, in->schema == in->body ? "id" : "schema.id",
                                "the form's id (its formId) is 1 to 100 letters, digits, '_', '.', ':' or '-'"),
               FM_REPLIED;
    if (path_id && strcmp(id->valuestring, path_id))
        return fm_reply_invalid(r, in->schema == in->body ? "id" : "schema.id",
                                "must be the form's id in the path, or left out"), FM_REPLIED;
    return FM_OK;
}

static const char *schema_id(const form_in_t *in)
{
    return cJSON_GetObjectItemCaseSensitive(in->schema, "id")->valuestring;
}

static void etag_of(fm_req_t *r, const cJSON *form)
{
    fm_reply_header(r, "ETag", cJSON_GetStringValue(cJSON_GetObjectItem(form, "etag")));
}

/* ---- routes ---- */

int design_form_create(fm_req_t *r)
{
    form_in_t in;
    if (read_form(r, NULL, &in) != FM_OK)
        return FM_OK;
    const char *id = schema_id(&in);
    char now[32];
    fm_time_rfc3339(now);
    char *text = cJSON_PrintUnformatted(in.schema);
    if (!text)
        return FM_ENOMEM;
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w) {
        cJSON_free(text);
        return FM_EDB;
    }
    int rc = fm_dbq_run(w, "INSERT INTO forms(tenant_id, form_id, name, draft, created_at, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", "ssssss", fm_req_tenant(r), id, in.name ? in.name : id, text,
                        now, now);
    cJSON *form = NULL;
    if (rc == FM_OK)
        rc = get_on(w, fm_req_tenant(r), id, true, &form);
    rc = fm_dbq_write_end(w, rc);
    cJSON_free(text);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL,
                                "a form with id '%s' exists; change it with PUT /forms/%s", id, id);
    if (rc != FM_OK) {
        cJSON_Delete(form);
        return rc;
    }
    char loc[160];
    snprintf(loc, sizeof(loc), "/forms/%s", id);
    fm_reply_header(r, "Location", loc);
    etag_of(r, form);
    return fm_reply_json(r, 201, form);
}

int design_form_list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM forms WHERE tenant_id = ?",
        .rows_sql = "SELECT " FORM_COLS " FROM forms WHERE tenant_id = ? ORDER BY name, form_id LIMIT ? OFFSET ?",
        .item = row_json, .offset = offset, .limit = limit,
    };
    int rc = fm_dbq_read_page(db_of(r), &p, items, &total, "s", fm_req_tenant(r));
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

int design_form_get(fm_req_t *r)
{
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    cJSON *form = NULL;
    int rc = get_on(c, fm_req_tenant(r), fm_req_param(r, "id"), true, &form);
    fm_dbq_reader_done(c);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc != FM_OK)
        return rc;
    etag_of(r, form);
    return fm_reply_json(r, 200, form);
}

int design_form_update(fm_req_t *r)
{
    int rev = fm_req_if_match_rev(r, "form draft");
    if (rev < 0)
        return FM_OK;
    const char *id = fm_req_param(r, "id");
    form_in_t in;
    if (read_form(r, id, &in) != FM_OK)
        return FM_OK;
    char now[32], revs[16];
    fm_time_rfc3339(now);
    snprintf(revs, sizeof(revs), "%d", rev);
    char *text = cJSON_PrintUnformatted(in.schema);
    if (!text)
        return FM_ENOMEM;
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w) {
        cJSON_free(text);
        return FM_EDB;
    }
    cJSON *form = NULL;
    int rc = fm_dbq_run(w, "UPDATE forms SET draft = ?1, name = coalesce(?2, name), revision = revision + 1, "
                           "updated_at = ?3 WHERE tenant_id = ?4 AND form_id = ?5 AND (?6 IS NULL OR revision = ?6)",
                        "ssssss", text, in.name, now, fm_req_tenant(r), id, rev ? revs : NULL);
    int64_t changes = fm_dbq_changes(w);
    if (rc == FM_OK)
        rc = get_on(w, fm_req_tenant(r), id, true, &form);
    if (rc == FM_OK && !changes)
        rc = FM_ESTALE;     /* it exists, so the revision did not match */
    rc = fm_dbq_write_end(w, rc);
    cJSON_free(text);
    if (rc != FM_OK)
        cJSON_Delete(form);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc == FM_ESTALE)
        return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                                "the form changed since that ETag; GET it again and reapply your change");
    if (rc != FM_OK)
        return rc;
    etag_of(r, form);
    return fm_reply_json(r, 200, form);
}

int design_form_publish(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    cJSON *j = NULL;
    const char *note = "", *tag = NULL;
    if (body && len) {
        if (!(j = fm_req_parse_json(r)))
            return FM_OK;
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            return fm_reply_invalid(r, "", "the body of a publish is empty or a JSON object {\"note\",\"versionTag\"}");
        }
        const cJSON *n = cJSON_GetObjectItem(j, "note"), *t = cJSON_GetObjectItem(j, "versionTag");
        if (n && (!cJSON_IsString(n) || strlen(n->valuestring) > 2000)) {
            cJSON_Delete(j);
            return fm_reply_invalid(r, "note", "must be a string of at most 2000 characters");
        }
        if (t && (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) > FORM_TAG_MAX)) {
            cJSON_Delete(j);
            return fm_reply_invalid(r, "versionTag", "must be a string of 1 to 100 characters");
        }
        note = n ? n->valuestring : "";
        tag = t ? t->valuestring : NULL;
    }
    char at[32];
    fm_time_rfc3339(at);
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w) {
        cJSON_Delete(j);
        return FM_EDB;
    }
    cJSON *form = NULL, *out = NULL;
    int rc = get_on(w, fm_req_tenant(r), id, true, &form);
    int version = 0;
    if (rc == FM_OK) {
        const cJSON *schema = cJSON_GetObjectItem(form, "schema");
        /* the tag given, else the one form-js writes into the schema (Camunda 8.6+) */
        const char *stag = cJSON_GetStringValue(cJSON_GetObjectItem(schema, "versionTag"));
        if (!tag && stag && *stag && strlen(stag) <= FORM_TAG_MAX)
            tag = stag;
        version = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(form, "latestVersion")) + 1;
        rc = fm_dbq_run(w, "INSERT INTO form_versions(tenant_id, form_id, version, schema, version_tag, note, "
                           "published_at) VALUES (?, ?, ?, ?, ?, ?, ?)", "ssijsss", fm_req_tenant(r), id, version,
                        schema, tag, note, at);
        if (rc == FM_OK)
            rc = fm_dbq_run(w, "UPDATE forms SET status = 'published', latest_version = ?, updated_at = ? "
                               "WHERE tenant_id = ? AND form_id = ?", "isss", version, at, fm_req_tenant(r), id);
        if (rc == FM_OK) {
            out = cJSON_CreateObject();
            cJSON_AddStringToObject(out, "formId", id);
            cJSON_AddNumberToObject(out, "version", version);
            if (tag)
                cJSON_AddStringToObject(out, "versionTag", tag);
            else
                cJSON_AddNullToObject(out, "versionTag");
            cJSON_AddStringToObject(out, "note", note);
            cJSON_AddStringToObject(out, "publishedAt", at);
        }
    }
    rc = fm_dbq_write_end(w, rc);
    cJSON_Delete(form);
    cJSON_Delete(j);
    if (rc != FM_OK) {
        cJSON_Delete(out);
        return rc == FM_ENOTFOUND ? not_found(r) : rc;
    }
    char loc[200];
    snprintf(loc, sizeof(loc), "/forms/%s/versions/%d", id, version);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

typedef struct { const char *id; bool with_schema; cJSON *out; } ver_t;

static cJSON *version_json(const fm_dbrow_t *r, void *arg)
{
    const ver_t *v = arg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "formId", v->id);
    cJSON_AddNumberToObject(o, "version", (double)fm_dbrow_int(r, 0));
    if (fm_dbrow_null(r, 1))
        cJSON_AddNullToObject(o, "versionTag");
    else
        cJSON_AddStringToObject(o, "versionTag", fm_dbrow_str(r, 1));
    cJSON_AddStringToObject(o, "note", fm_dbrow_str(r, 2));
    cJSON_AddStringToObject(o, "publishedAt", fm_dbrow_str(r, 3));
    if (v->with_schema) {
        cJSON *sc = fm_dbrow_json(r, 4);
        cJSON_AddItemToObject(o, "schema", sc ? sc : cJSON_CreateObject());
    }
    return o;
}

static int version_row(const fm_dbrow_t *r, void *arg)
{
    ver_t *v = arg;
    v->out = version_json(r, v);
    return v->out ? FM_OK : FM_ENOMEM;
}

int design_form_versions(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char tagbuf[FORM_TAG_MAX + 2];
    const char *tag = fm_req_query(r, "versionTag", tagbuf, sizeof(tagbuf));
    if (tag && (!*tag || strlen(tag) > FORM_TAG_MAX))
        return fm_reply_invalid(r, "versionTag", "must be 1 to 100 characters");
    const char *id = fm_req_param(r, "id");
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    cJSON *form = NULL, *items = cJSON_CreateArray();
    int total = 0;
    int rc = get_on(c, fm_req_tenant(r), id, false, &form);
    cJSON_Delete(form);
    if (rc == FM_OK) {
        ver_t v = { id, false, NULL };
        fm_dbq_page_t p = {
            .count_sql = "SELECT count(*) FROM form_versions WHERE tenant_id = ?1 AND form_id = ?2 "
                         "AND (?3 IS NULL OR version_tag = ?3)",
            .rows_sql = "SELECT version, version_tag, note, published_at FROM form_versions "
                        "WHERE tenant_id = ?1 AND form_id = ?2 AND (?3 IS NULL OR version_tag = ?3) "
                        "ORDER BY version DESC LIMIT ?4 OFFSET ?5",
            .item = version_json, .arg = &v, .offset = offset, .limit = limit,
        };
        rc = fm_dbq_page(c, &p, items, &total, "sss", fm_req_tenant(r), id, tag);
    }
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc == FM_ENOTFOUND ? not_found(r) : rc;
    }
    return fm_reply_page(r, items, offset, total);
}

int design_form_version_get(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id"), *ns = fm_req_param(r, "n");
    char *end = NULL;
    long n = ns ? strtol(ns, &end, 10) : 0;
    if (!ns || !*ns || *end || n < 1 || n > 1000000000)
        return fm_reply_invalid(r, "n", "must be a version number (1, 2, ...)");
    ver_t v = { id, true, NULL };
    int rc = fm_dbq_read_one(db_of(r), "SELECT version, version_tag, note, published_at, schema FROM form_versions "
                                       "WHERE tenant_id = ? AND form_id = ? AND version = ?", version_row, &v, "ssi",
                             fm_req_tenant(r), id, (int)n);
    cJSON *o = v.out;
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "form '%s' has no version %ld", id, n);
    if (rc != FM_OK)
        return rc;
    return fm_reply_json(r, 200, o);
}
