/*
 * versioning.c — Process Versioning (8020): diffs between any two states of a process
 * (published versions, the draft, branches, tags), branches (a working copy of a
 * version, edited here and merged back into the draft with a three-way merge and a
 * conflict report), tags (names for versions) and rollback (publish an old version as
 * the newest). Versions and drafts belong to Process Design and are read and written
 * through fm_call; this module stores only branches and tags.
 */
#include "../modules.h"

#include "../../bpmn/bpmn.h"
#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, NAME_CHARS) == n;
}

/* GET from Process Design; replies (404 passes through) and returns NULL on failure. */
static char *design_get(fm_req_t *r, const char *path, int *status_out)
{
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_GET, path, NULL, &status, &out);
    if (status_out)
        *status_out = status;
    if (rc == FM_OK && status == 200)
        return out;
    if (status == 404 || status == 422)
        fm_reply_problem(r, status, NULL, NULL, NULL, "%s: %s", path,
                         status == 404 ? "not found in Process Design" : "refused by Process Design");
    else
        fm_reply_problem(r, 502, NULL, "Bad Gateway", NULL, "Process Design answered %d for %s", status, path);
    free(out);
    return NULL;
}

static int local_text(fm_req_t *r, const char *sql, const char *pid, const char *name, char **out)
{
    return fm_dbq_read_str(db_of(r), sql, out, "sss", fm_req_tenant(r), pid, name);
}

/* The XML of a reference: "draft", "<n>", "branch:<name>" or "tag:<name>". Replies and
 * returns NULL when it does not resolve. */
static char *fetch(fm_req_t *r, const char *pid, const char *ref, const char *field)
{
    char path[300];
    if (!strcmp(ref, "draft")) {
        snprintf(path, sizeof(path), "/processes/%s/bpmn", pid);
        return design_get(r, path, NULL);
    }
    if (!strncmp(ref, "branch:", 7) || !strncmp(ref, "tag:", 4)) {
        bool br = ref[0] == 'b';
        const char *name = ref + (br ? 7 : 4);
        char *v = NULL;
        int rc = local_text(r, br ? "SELECT xml FROM branches WHERE tenant_id = ? AND process_id = ? AND name = ?"
                                  : "SELECT version FROM tags WHERE tenant_id = ? AND process_id = ? AND name = ?",
                            pid, name, &v);
        if (rc == FM_ENOTFOUND) {
            fm_reply_problem(r, 404, NULL, NULL, NULL, "process '%s' has no %s '%s'", pid, br ? "branch" : "tag", name);
            return NULL;
        }
        if (rc != FM_OK) {
            fm_reply_error(r, rc, NULL);
            return NULL;
        }
        if (br)
            return v;
        snprintf(path, sizeof(path), "/processes/%s/bpmn?version=%s", pid, v);
        free(v);
        return design_get(r, path, NULL);
    }
    char *end;
    long n = strtol(ref, &end, 10);
    if (!*ref || *end || n < 1 || n > 1000000000) {
        fm_reply_invalid(r, field, "must be a version number, \"draft\", \"branch:<name>\" or \"tag:<name>\"");
        return NULL;
    }
    snprintf(path, sizeof(path), "/processes/%s/bpmn?version=%ld", pid, n);
    return design_get(r, path, NULL);
}

static bpmn_model_t *parse_or_reply(fm_req_t *r, const char *xml)
{
    char err[300];
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    if (!m)
        fm_reply_problem(r, 502, NULL, "Bad Gateway", NULL, "a stored definition does not parse: %s", err);
    return m;
}

static int diff(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    if (!id_ok(pid))
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", pid);
    char fbuf[128], tbuf[128], fmt[16];
    const char *from = fm_req_query(r, "from", fbuf, sizeof(fbuf));
    if (!from)
        return fm_reply_invalid(r, "from", "is required: a version number, \"draft\", \"branch:<name>\" or \"tag:<name>\"");
    const char *to = fm_req_query(r, "to", tbuf, sizeof(tbuf));
    if (!to)
        to = "draft";
    const char *f = fm_req_query(r, "format", fmt, sizeof(fmt));
    if (f && strcmp(f, "json") && strcmp(f, "text"))
        return fm_reply_invalid(r, "format", "must be json or text");
    char *a = fetch(r, pid, from, "from");
    if (!a)
        return FM_OK;
    char *b = fetch(r, pid, to, "to");
    if (!b) {
        free(a);
        return FM_OK;
    }
    bpmn_model_t *ma = parse_or_reply(r, a), *mb = ma ? parse_or_reply(r, b) : NULL;
    free(a);
    free(b);
    if (!ma || !mb) {
        bpmn_free(ma);
        return FM_OK;
    }
    cJSON *d = bpmn_diff(ma, mb);
    bpmn_free(ma);
    bpmn_free(mb);
    cJSON_AddStringToObject(d, "processId", pid);
    cJSON_AddStringToObject(d, "from", from);
    cJSON_AddStringToObject(d, "to", to);
    if (f && !strcmp(f, "text")) {
        char *t = bpmn_diff_text(d);
        cJSON_Delete(d);
        fm_reply_raw(r, 200, "text/plain; charset=utf-8", t, strlen(t));
        free(t);
        return FM_OK;
    }
    char *t = bpmn_diff_text(d);
    cJSON_AddStringToObject(d, "text", t);
    free(t);
    return fm_reply_json(r, 200, d);
}

/* ---- branches ---- */

/* Keys are the column names; xml last, left out of the object. */
#define BRANCH_COLS "process_id AS \"processId\", name, base_version AS \"baseVersion\", status, revision, " \
                    "created_at AS \"createdAt\", updated_at AS \"updatedAt\", xml"
#define BRANCH_HINTS "ssisiss-"

typedef struct { cJSON *out; char **xml; } branch_t;

static int branch_row(const fm_dbrow_t *r, void *arg)
{
    branch_t *b = arg;
    b->out = fm_dbrow_object(r, BRANCH_HINTS);
    if (b->xml)
        *b->xml = fm_dbrow_dup(r, 7);
    return b->out ? FM_OK : FM_ENOMEM;
}

static int branch_get_row(fm_req_t *r, fm_dbc_t *c, const char *pid, const char *name, cJSON **out, char **xml)
{
    branch_t b = { NULL, xml };
    int rc = fm_dbq_one(c, "SELECT " BRANCH_COLS " FROM branches WHERE tenant_id = ? AND process_id = ? AND name = ?",
                        branch_row, &b, "sss", fm_req_tenant(r), pid, name);
    *out = b.out;
    return rc;
}

static int branches_list(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), "SELECT " BRANCH_COLS " FROM branches WHERE tenant_id = ? AND process_id = ? "
                                         "ORDER BY name", BRANCH_HINTS, items, "ss", fm_req_tenant(r), pid);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, 0, cJSON_GetArraySize(items));   /* not paged: all of them */
}

static const fm_field_t branch_fields[] = {
    { "name", FM_F_STRING, true, 1, 64, NAME_CHARS },
    { "fromVersion", FM_F_INT, true, 1, 1000000000, NULL },
};

static int branch_create(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    if (fm_req_check(r, branch_fields, 2))
        return FM_OK;
    if (!id_ok(pid))
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", pid);
    cJSON *j = fm_req_json(r);
    const char *name = cJSON_GetObjectItem(j, "name")->valuestring;
    int from = cJSON_GetObjectItem(j, "fromVersion")->valueint;
    char ref[24];
    snprintf(ref, sizeof(ref), "%d", from);
    char *xml = fetch(r, pid, ref, "fromVersion");
    if (!xml)
        return FM_OK;
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w) {
        free(xml);
        return FM_EDB;
    }
    cJSON *out = NULL;
    int rc = fm_dbq_run(w, "INSERT INTO branches(tenant_id, process_id, name, base_version, base_xml, xml, "
                           "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "sssissss",
                        fm_req_tenant(r), pid, name, from, xml, xml, now, now);
    if (rc == FM_OK)
        rc = branch_get_row(r, w, pid, name, &out, NULL);
    rc = fm_dbq_write_end(w, rc);
    free(xml);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "process '%s' has a branch '%s' already", pid, name);
    if (rc != FM_OK) {
        cJSON_Delete(out);
        return rc;
    }
    char loc[200];
    snprintf(loc, sizeof(loc), "/versions/%s/branches/%s", pid, name);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

static int branch_get(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId"), *name = fm_req_param(r, "branch");
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    cJSON *o = NULL;
    char *xml = NULL;
    int rc = branch_get_row(r, c, pid, name, &o, &xml);
    fm_dbq_reader_done(c);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "process '%s' has no branch '%s'", pid, name);
    if (rc != FM_OK)
        return rc;
    char err[300];
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    if (m)
        cJSON_AddItemToObject(o, "model", bpmn_to_json(m));
    bpmn_free(m);
    free(xml);
    return fm_reply_json(r, 200, o);
}

/* Reads an XML or JSON body into a model; replies and returns NULL on problems. */
static bpmn_model_t *body_model(fm_req_t *r)
{
    size_t len = 0;
    const char *b = fm_req_body(r, &len);
    size_t i = 0;
    while (b && i < len && isspace((unsigned char)b[i]))
        i++;
    char err[300];
    if (!b || i == len) {
        fm_reply_invalid(r, "", "a BPMN 2.0 XML document or its JSON form is required");
        return NULL;
    }
    bpmn_model_t *m = NULL;
    bool xml_body;
    if (fm_req_body_kind(r, &xml_body) != FM_OK)
        return NULL;
    if (xml_body) {
        m = bpmn_parse(b, len, err, sizeof(err));
        if (!m)
            fm_reply_problem(r, 400, "urn:flowmaster:problem:malformed-xml", "Malformed XML", NULL,
                             "the BPMN document was refused: %s", err);
        return m;
    }
    cJSON *j = fm_req_parse_json(r);
    if (!j)
        return NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        fm_reply_invalid(r, "", "a BPMN 2.0 XML document or a JSON object is required");
        return NULL;
    }
    const cJSON *x = cJSON_GetObjectItem(j, "xml"), *mo = cJSON_GetObjectItem(j, "model");
    if (cJSON_IsString(x)) {
        m = bpmn_parse(x->valuestring, strlen(x->valuestring), err, sizeof(err));
        if (!m)
            fm_reply_problem(r, 400, "urn:flowmaster:problem:malformed-xml", "Malformed XML", NULL,
                             "the BPMN document was refused: %s", err);
    } else {
        cJSON *errs = cJSON_CreateArray();
        m = bpmn_from_json(cJSON_IsObject(mo) ? mo : j, errs);
        if (!m) {
            cJSON *ext = cJSON_CreateObject();
            cJSON_AddItemToObject(ext, "errors", errs);
            fm_reply_problem(r, 422, NULL, "Validation Failed", ext, "the JSON form of the process is not valid");
        } else {
            cJSON_Delete(errs);
        }
    }
    cJSON_Delete(j);
    return m;
}

static int branch_put(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId"), *name = fm_req_param(r, "branch");
    bpmn_model_t *m = body_model(r);
    if (!m)
        return FM_OK;
    char *xml = bpmn_export(m, NULL);
    bpmn_free(m);
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w) {
        free(xml);
        return FM_EDB;
    }
    cJSON *out = NULL;
    int rc = fm_dbq_run(w, "UPDATE branches SET xml = ?, revision = revision + 1, updated_at = ? "
                           "WHERE tenant_id = ? AND process_id = ? AND name = ? AND status = 'open'", "sssss",
                        xml, now, fm_req_tenant(r), pid, name);
    if (rc == FM_OK && !fm_dbq_changes(w))
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)
        rc = branch_get_row(r, w, pid, name, &out, NULL);
    rc = fm_dbq_write_end(w, rc);
    free(xml);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "process '%s' has no open branch '%s'", pid, name);
    if (rc != FM_OK) {
        cJSON_Delete(out);
        return rc;
    }
    return fm_reply_json(r, 200, out);
}

static int merge(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId"), *name = fm_req_param(r, "branch");
    if (!id_ok(pid))
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", pid);
    const cJSON *strat = cJSON_GetObjectItem(fm_req_json(r), "strategy");
    if (strat && (!cJSON_IsString(strat) || strcmp(strat->valuestring, "ours")))
        return fm_reply_invalid(r, "strategy", "may only be \"ours\" (keep the draft's side of conflicts)");
    char *base_xml = NULL, *branch_xml = NULL, *status = NULL;
    int rc = local_text(r, "SELECT base_xml FROM branches WHERE tenant_id = ? AND process_id = ? AND name = ?",
                        pid, name, &base_xml);
    if (rc == FM_OK)
        rc = local_text(r, "SELECT xml FROM branches WHERE tenant_id = ? AND process_id = ? AND name = ?",
                        pid, name, &branch_xml);
    if (rc == FM_OK)
        rc = local_text(r, "SELECT status FROM branches WHERE tenant_id = ? AND process_id = ? AND name = ?",
                        pid, name, &status);
    char *draft = NULL;
    bpmn_model_t *mb = NULL, *mo = NULL, *mt = NULL, *merged = NULL;
    cJSON *conflicts = NULL;
    if (rc == FM_ENOTFOUND) {
        fm_reply_problem(r, 404, NULL, NULL, NULL, "process '%s' has no branch '%s'", pid, name);
        rc = FM_OK;
        goto out;
    }
    if (rc != FM_OK)
        goto out;
    if (strcmp(status, "open")) {
        fm_reply_problem(r, 409, NULL, NULL, NULL, "branch '%s' was merged already", name);
        goto out;
    }
    draft = fetch(r, pid, "draft", "draft");
    if (!draft)
        goto out;
    if (!(mb = parse_or_reply(r, base_xml)) || !(mo = parse_or_reply(r, draft)) ||
        !(mt = parse_or_reply(r, branch_xml)))
        goto out;
    conflicts = cJSON_CreateArray();
    merged = bpmn_merge(mb, mo, mt, conflicts);
    if (!merged) {
        rc = FM_ENOMEM;
        goto out;
    }
    if (cJSON_GetArraySize(conflicts) && !strat) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddItemToObject(ext, "conflicts", conflicts);
        conflicts = NULL;
        fm_reply_problem(r, 409, "urn:flowmaster:problem:merge-conflict", "Merge Conflict", ext,
                         "the draft and branch '%s' both changed the same element(s); resolve on the branch, "
                         "or merge with {\"strategy\":\"ours\"} to keep the draft's side", name);
        goto out;
    }
    /* write the result as the new draft; Process Design validates it */
    char *xml = bpmn_export(merged, NULL);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "xml", xml);
    free(xml);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    char path[200];
    snprintf(path, sizeof(path), "/processes/%s", pid);
    int status_code = 0;
    char *res = NULL;
    rc = fm_call(r, FM_PUT, path, text, &status_code, &res);
    cJSON_free(text);
    if (rc != FM_OK || status_code != 200) {
        cJSON *p = res ? cJSON_Parse(res) : NULL;
        cJSON *ext = cJSON_CreateObject();
        const cJSON *errs = cJSON_GetObjectItem(p, "errors");
        if (errs)
            cJSON_AddItemToObject(ext, "errors", cJSON_Duplicate(errs, true));
        fm_reply_problem(r, status_code == 422 ? 422 : 502, NULL, status_code == 422 ? "Validation Failed" : "Bad Gateway",
                         ext, "the merged process was refused by Process Design (HTTP %d)", status_code);
        cJSON_Delete(p);
        free(res);
        rc = FM_OK;
        goto out;
    }
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (w) {
        fm_dbq_run(w, "UPDATE branches SET status = 'merged', updated_at = datetime('now') "
                      "WHERE tenant_id = ? AND process_id = ? AND name = ?", "sss", fm_req_tenant(r), pid, name);
        fm_dbq_write_end(w, FM_OK);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *proc = cJSON_Parse(res);
    free(res);
    cJSON_AddStringToObject(o, "processId", pid);
    cJSON_AddStringToObject(o, "branch", name);
    cJSON_AddBoolToObject(o, "merged", true);
    cJSON_AddItemToObject(o, "conflicts", conflicts ? conflicts : cJSON_CreateArray());
    conflicts = NULL;
    cJSON_AddItemToObject(o, "process", proc ? proc : cJSON_CreateNull());
    fm_reply_json(r, 200, o);
    rc = FM_OK;
out:
    free(base_xml);
    free(branch_xml);
    free(status);
    free(draft);
    bpmn_free(mb);
    bpmn_free(mo);
    bpmn_free(mt);
    bpmn_free(merged);
    cJSON_Delete(conflicts);
    return rc;
}

/* ---- tags and rollback ---- */

static const fm_field_t tag_fields[] = {
    { "name", FM_F_STRING, true, 1, 64, NAME_CHARS },
    { "version", FM_F_INT, true, 1, 1000000000, NULL },
    { "note", FM_F_STRING, false, 0, 2000, NULL },
};

static int tag_create(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    if (fm_req_check(r, tag_fields, 3))
        return FM_OK;
    if (!id_ok(pid))
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", pid);
    cJSON *j = fm_req_json(r);
    const char *name = cJSON_GetObjectItem(j, "name")->valuestring;
    int version = cJSON_GetObjectItem(j, "version")->valueint;
    const cJSON *note = cJSON_GetObjectItem(j, "note");
    char path[200];
    snprintf(path, sizeof(path), "/processes/%s/versions/%d", pid, version);
    int st_code = 0;
    char *v = design_get(r, path, &st_code);
    if (!v)
        return FM_OK;
    free(v);
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO tags(tenant_id, process_id, name, version, note, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", "sssiss", fm_req_tenant(r), pid, name, version,
                        cJSON_IsString(note) ? note->valuestring : "", now);
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "process '%s' has a tag '%s' already", pid, name);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", pid);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddNumberToObject(o, "version", version);
    cJSON_AddStringToObject(o, "note", cJSON_IsString(note) ? note->valuestring : "");
    cJSON_AddStringToObject(o, "createdAt", now);
    return fm_reply_json(r, 201, o);
}

static int tags_list(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), "SELECT name, version, note, created_at AS \"createdAt\" FROM tags "
                                         "WHERE tenant_id = ? AND process_id = ? ORDER BY name", "siss", items, "ss",
                               fm_req_tenant(r), pid);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, 0, cJSON_GetArraySize(items));   /* not paged: all of them */
}

static const fm_field_t rollback_fields[] = {
    { "version", FM_F_INT, true, 1, 1000000000, NULL },
    { "note", FM_F_STRING, false, 0, 2000, NULL },
};

static int rollback(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    if (fm_req_check(r, rollback_fields, 2))
        return FM_OK;
    if (!id_ok(pid))
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", pid);
    cJSON *j = fm_req_json(r);
    int version = cJSON_GetObjectItem(j, "version")->valueint;
    const cJSON *note = cJSON_GetObjectItem(j, "note");
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "fromVersion", version);
    char defnote[64];
    snprintf(defnote, sizeof(defnote), "rollback to version %d", version);
    cJSON_AddStringToObject(body, "note", cJSON_IsString(note) ? note->valuestring : defnote);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    char path[200];
    snprintf(path, sizeof(path), "/processes/%s/publish", pid);
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_POST, path, text, &status, &out);
    cJSON_free(text);
    if (rc != FM_OK) {
        free(out);
        return rc;
    }
    /* Process Design's answer (201 with the new version, or its problem) passes through */
    cJSON *res = cJSON_Parse(out);
    free(out);
    if (!res)
        return fm_reply_problem(r, 502, NULL, "Bad Gateway", NULL, "Process Design answered %d", status);
    if (status == 201)
        return fm_reply_json(r, 201, res);
    const cJSON *d = cJSON_GetObjectItem(res, "detail");
    cJSON *ext = cJSON_CreateObject();
    const cJSON *errs = cJSON_GetObjectItem(res, "errors");
    if (errs)
        cJSON_AddItemToObject(ext, "errors", cJSON_Duplicate(errs, true));
    const cJSON *title = cJSON_GetObjectItem(res, "title"), *type = cJSON_GetObjectItem(res, "type");
    bool pass = status == 404 || status == 409 || status == 422;
    fm_reply_problem(r, pass ? status : 502, pass && cJSON_IsString(type) ? type->valuestring : NULL,
                     pass && cJSON_IsString(title) ? title->valuestring : NULL, ext, "%s",
                     cJSON_IsString(d) ? d->valuestring : "Process Design refused the rollback");
    cJSON_Delete(res);
    return FM_OK;
}

static const fm_route_t routes[] = {
    { FM_GET, "/versions/{processId}/diff", diff, 0, "process:read" },
    { FM_GET, "/versions/{processId}/branches", branches_list, 0, "process:read" },
    { FM_POST, "/versions/{processId}/branches", branch_create, FM_R_JSON, "process:write" },
    { FM_GET, "/versions/{processId}/branches/{branch}", branch_get, 0, "process:read" },
    { FM_PUT, "/versions/{processId}/branches/{branch}", branch_put, FM_R_BODY, "process:write" },
    { FM_POST, "/versions/{processId}/branches/{branch}/merge", merge, FM_R_JSON, "process:write" },
    { FM_GET, "/versions/{processId}/tags", tags_list, 0, "process:read" },
    { FM_POST, "/versions/{processId}/tags", tag_create, FM_R_JSON, "process:write" },
    { FM_POST, "/versions/{processId}/rollback", rollback, FM_R_JSON, "process:publish" },
};

const fm_module_t fm_versioning_module = {
    "versioning", "Process Versioning", 8020, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
