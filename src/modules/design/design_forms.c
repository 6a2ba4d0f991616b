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

static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
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

/* The API object of a forms row; with_schema adds the draft schema. */
static cJSON *row_json(sqlite3_stmt *st, bool with_schema)
{
    cJSON *o = cJSON_CreateObject();
    char etag[32];
    cJSON_AddStringToObject(o, "formId", col(st, 0));
    cJSON_AddStringToObject(o, "name", col(st, 1));
    cJSON_AddStringToObject(o, "status", col(st, 2));
    cJSON_AddNumberToObject(o, "revision", sqlite3_column_int(st, 3));
    snprintf(etag, sizeof(etag), "\"r%d\"", sqlite3_column_int(st, 3));
    cJSON_AddStringToObject(o, "etag", etag);
    cJSON_AddNumberToObject(o, "latestVersion", sqlite3_column_int(st, 4));
    cJSON_AddStringToObject(o, "createdAt", col(st, 5));
    cJSON_AddStringToObject(o, "updatedAt", col(st, 6));
    if (with_schema) {
        cJSON *s = cJSON_Parse(col(st, 7));
        cJSON_AddItemToObject(o, "schema", s ? s : cJSON_CreateObject());
    }
    return o;
}

/* Reads one form on connection c: FM_OK with *out (caller deletes), FM_ENOTFOUND, FM_EDB. */
static int get_on(sqlite3 *c, const char *tenant, const char *id, bool with_schema, cJSON **out)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (sqlite3_prepare_v2(c, "SELECT " FORM_COLS " FROM forms WHERE tenant_id = ? AND form_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return FM_EDB;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    if (rc == FM_OK)
        *out = row_json(st, with_schema);
    sqlite3_finalize(st);
    return rc;
}

static int run1(sqlite3 *w, const char *sql, const char *const *args, int nargs, int *changes)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    for (int i = 0; i < nargs; i++)
        bind_s(st, i + 1, args[i]);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (changes)
        *changes = sqlite3_changes(w);
    return step == SQLITE_DONE ? FM_OK : step == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
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
    fm_db_t *db = db_of(r);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w) {
        cJSON_free(text);
        return FM_EDB;
    }
    const char *args[] = { fm_req_tenant(r), id, in.name ? in.name : id, text, now, now };
    int rc = run1(w, "INSERT INTO forms(tenant_id, form_id, name, draft, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", args, 6, NULL);
    cJSON *form = NULL;
    if (rc == FM_OK)
        rc = get_on(w, fm_req_tenant(r), id, true, &form);
    rc = fm_db_write_end(db, rc);
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
    fm_db_t *db = db_of(r);
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    cJSON *items = cJSON_CreateArray();
    int total = 0, rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT " FORM_COLS ", count(*) OVER () FROM forms WHERE tenant_id = ? "
                              "ORDER BY name, form_id LIMIT ? OFFSET ?", -1, &st, NULL) == SQLITE_OK) {
        bind_s(st, 1, fm_req_tenant(r));
        sqlite3_bind_int(st, 2, limit);
        sqlite3_bind_int(st, 3, offset);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            cJSON_AddItemToArray(items, row_json(st, false));
            total = sqlite3_column_int(st, 8);
        }
        rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    if (rc == FM_OK && !cJSON_GetArraySize(items) && offset > 0 &&
        sqlite3_prepare_v2(c, "SELECT count(*) FROM forms WHERE tenant_id = ?", -1, &st, NULL) == SQLITE_OK) {
        bind_s(st, 1, fm_req_tenant(r));
        if (sqlite3_step(st) == SQLITE_ROW)
            total = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    fm_db_reader_done(db, c);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

int design_form_get(fm_req_t *r)
{
    fm_db_t *db = db_of(r);
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *form = NULL;
    int rc = get_on(c, fm_req_tenant(r), fm_req_param(r, "id"), true, &form);
    fm_db_reader_done(db, c);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc != FM_OK)
        return rc;
    etag_of(r, form);
    return fm_reply_json(r, 200, form);
}

int design_form_update(fm_req_t *r)
{
    int rev = design_if_match(r);
    if (rev == -2)
        return FM_OK;
    if (rev < 0)
        return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                                "If-Match must be an ETag this server gave out (\"r<revision>\")");
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
    fm_db_t *db = db_of(r);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w) {
        cJSON_free(text);
        return FM_EDB;
    }
    cJSON *form = NULL;
    int changes = 0;
    const char *args[] = { text, in.name, now, fm_req_tenant(r), id, rev ? revs : NULL };
    int rc = run1(w, "UPDATE forms SET draft = ?1, name = coalesce(?2, name), revision = revision + 1, "
                     "updated_at = ?3 WHERE tenant_id = ?4 AND form_id = ?5 AND (?6 IS NULL OR revision = ?6)",
                  args, 6, &changes);
    if (rc == FM_OK)
        rc = get_on(w, fm_req_tenant(r), id, true, &form);
    if (rc == FM_OK && !changes)
        rc = FM_ESTALE;     /* it exists, so the revision did not match */
    rc = fm_db_write_end(db, rc);
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
    char at[32], ver[16];
    fm_time_rfc3339(at);
    fm_db_t *db = db_of(r);
    sqlite3 *w = fm_db_write_begin(db);
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
        snprintf(ver, sizeof(ver), "%d", version);
        char *text = cJSON_PrintUnformatted(schema);
        const char *args[] = { fm_req_tenant(r), id, ver, text, tag, note, at };
        rc = text ? run1(w, "INSERT INTO form_versions(tenant_id, form_id, version, schema, version_tag, note, "
                            "published_at) VALUES (?, ?, ?, ?, ?, ?, ?)", args, 7, NULL)
                  : FM_ENOMEM;
        cJSON_free(text);
        const char *up[] = { ver, at, fm_req_tenant(r), id };
        if (rc == FM_OK)
            rc = run1(w, "UPDATE forms SET status = 'published', latest_version = ?, updated_at = ? "
                         "WHERE tenant_id = ? AND form_id = ?", up, 4, NULL);
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
    rc = fm_db_write_end(db, rc);
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

static cJSON *version_json(sqlite3_stmt *st, const char *id, bool with_schema)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "formId", id);
    cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 0));
    if (sqlite3_column_type(st, 1) == SQLITE_NULL)
        cJSON_AddNullToObject(o, "versionTag");
    else
        cJSON_AddStringToObject(o, "versionTag", col(st, 1));
    cJSON_AddStringToObject(o, "note", col(st, 2));
    cJSON_AddStringToObject(o, "publishedAt", col(st, 3));
    if (with_schema) {
        cJSON *s = cJSON_Parse(col(st, 4));
        cJSON_AddItemToObject(o, "schema", s ? s : cJSON_CreateObject());
    }
    return o;
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
    fm_db_t *db = db_of(r);
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *form = NULL, *items = cJSON_CreateArray();
    int total = 0;
    int rc = get_on(c, fm_req_tenant(r), id, false, &form);
    cJSON_Delete(form);
    sqlite3_stmt *st = NULL;
    if (rc == FM_OK) {
        rc = FM_EDB;
        if (sqlite3_prepare_v2(c, "SELECT version, version_tag, note, published_at, NULL, "
                                  "(SELECT count(*) FROM form_versions WHERE tenant_id = ?1 AND form_id = ?2 "
                                  " AND (?3 IS NULL OR version_tag = ?3)) "
                                  "FROM form_versions WHERE tenant_id = ?1 AND form_id = ?2 "
                                  "AND (?3 IS NULL OR version_tag = ?3) ORDER BY version DESC LIMIT ?4 OFFSET ?5",
                               -1, &st, NULL) == SQLITE_OK) {
            bind_s(st, 1, fm_req_tenant(r));
            bind_s(st, 2, id);
            bind_s(st, 3, tag);
            sqlite3_bind_int(st, 4, limit);
            sqlite3_bind_int(st, 5, offset);
            int step;
            while ((step = sqlite3_step(st)) == SQLITE_ROW) {
                cJSON_AddItemToArray(items, version_json(st, id, false));
                total = sqlite3_column_int(st, 5);
            }
            rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
        }
        sqlite3_finalize(st);
    }
    fm_db_reader_done(db, c);
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
    fm_db_t *db = db_of(r);
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT version, version_tag, note, published_at, schema FROM form_versions "
                              "WHERE tenant_id = ? AND form_id = ? AND version = ?", -1, &st, NULL) == SQLITE_OK) {
        bind_s(st, 1, fm_req_tenant(r));
        bind_s(st, 2, id);
        sqlite3_bind_int(st, 3, (int)n);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        if (rc == FM_OK)
            o = version_json(st, id, true);
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "form '%s' has no version %ld", id, n);
    if (rc != FM_OK)
        return rc;
    return fm_reply_json(r, 200, o);
}
