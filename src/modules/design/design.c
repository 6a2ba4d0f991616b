/*
 * design.c — Process Design Service (9003): BPMN process definitions. A process has a
 * mutable draft (BPMN XML, stored as src/bpmn exports it) and immutable published
 * versions 1, 2, ... Bodies are BPMN XML or JSON (the JSON form of docs/bpmn.md, or an
 * envelope with metadata). A draft need not be finished: saving stores it and lists its
 * problems as warnings; publishing refuses (422, all problems) what cannot run.
 * Publishing writes `process.definition.published` through the outbox and
 * asks Process Linking (over fm_call) whether the new version closes a call cycle.
 */
#include "design_int.h"

#include "../../bpmn/bpmn.h"
#include "../../fm_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 200
#define MAX_TAGS 20
#define MAX_TAG 64

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

typedef struct input {
    bpmn_model_t *m;
    char *name, *description;   /* NULL: not given */
    cJSON *tags;                /* NULL: not given */
} input_t;

static void input_release(input_t *in)
{
    bpmn_free(in->m);
    free(in->name);
    free(in->description);
    cJSON_Delete(in->tags);
    memset(in, 0, sizeof(*in));
}

static int bad_xml(fm_req_t *r, const char *err)
{
    return fm_reply_problem(r, 400, "urn:flowmaster:problem:malformed-xml", "Malformed XML", NULL,
                            "the BPMN document was refused: %s", err);
}

static int tags_from_csv(const char *csv, cJSON **out)
{
    *out = cJSON_CreateArray();
    char *copy = strdup(csv), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (*t)
            cJSON_AddItemToArray(*out, cJSON_CreateString(t));
    free(copy);
    return FM_OK;
}

/* Checks metadata; replies 422 and returns FM_REPLIED when bad. */
static int check_meta(fm_req_t *r, input_t *in)
{
    if (in->name && (!*in->name || strlen(in->name) > MAX_NAME))
        return fm_reply_invalid(r, "name", "must be 1 to 200 characters"), FM_REPLIED;
    if (in->description && strlen(in->description) > 4000)
        return fm_reply_invalid(r, "description", "must be at most 4000 characters"), FM_REPLIED;
    if (in->tags) {
        if (!cJSON_IsArray(in->tags) || cJSON_GetArraySize(in->tags) > MAX_TAGS)
            return fm_reply_invalid(r, "tags", "must be an array of at most 20 strings"), FM_REPLIED;
        const cJSON *t;
        cJSON_ArrayForEach(t, in->tags)
            if (!cJSON_IsString(t) || !*t->valuestring || strlen(t->valuestring) > MAX_TAG)
                return fm_reply_invalid(r, "tags", "every tag is a string of 1 to 64 characters"), FM_REPLIED;
    }
    return FM_OK;
}

static char *jdup(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* Reads the body (XML, JSON form or envelope) into in; replies and returns
 * FM_REPLIED on any problem. */
static int read_input(fm_req_t *r, input_t *in)
{
    memset(in, 0, sizeof(*in));
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    size_t i = 0;
    while (body && i < len && isspace((unsigned char)body[i]))
        i++;
    bool xml_body;
    if (fm_req_body_kind(r, &xml_body) != FM_OK)
        return FM_REPLIED;
    if (!body || i == len)
        return fm_reply_invalid(r, "", "a BPMN 2.0 XML document or its JSON form is required"), FM_REPLIED;
    char err[300], q[512];
    if (xml_body) {
        in->m = bpmn_parse(body, len, err, sizeof(err));
        if (!in->m)
            return bad_xml(r, err), FM_REPLIED;
        const char *v;
        if ((v = fm_req_query(r, "name", q, sizeof(q))))
            in->name = strdup(v);
        if ((v = fm_req_query(r, "description", q, sizeof(q))))
            in->description = strdup(v);
        if ((v = fm_req_query(r, "tags", q, sizeof(q))))
            tags_from_csv(v, &in->tags);
        return check_meta(r, in);
    }
    cJSON *j = fm_req_parse_json(r);
    if (!j)
        return FM_REPLIED;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return fm_reply_invalid(r, "", "a BPMN 2.0 XML document or a JSON object (docs/bpmn.md) is required"),
               FM_REPLIED;
    }
    int rc = FM_OK;
    in->name = jdup(j, "name");
    in->description = jdup(j, "description");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    if (tags)
        in->tags = cJSON_Duplicate(tags, true);
    if (check_meta(r, in) != FM_OK) {
        rc = FM_REPLIED;
        goto out;
    }
    const cJSON *xml = cJSON_GetObjectItemCaseSensitive(j, "xml");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (cJSON_IsString(xml)) {
        in->m = bpmn_parse(xml->valuestring, strlen(xml->valuestring), err, sizeof(err));
        if (!in->m) {
            bad_xml(r, err);
            rc = FM_REPLIED;
        }
        goto out;
    }
    if (!model && cJSON_GetObjectItemCaseSensitive(j, "processes"))
        model = j;
    if (!cJSON_IsObject(model)) {
        fm_reply_invalid(r, "model", "give the process as \"xml\" (BPMN 2.0 XML) or \"model\" (JSON form)");
        rc = FM_REPLIED;
        goto out;
    }
    cJSON *errs = cJSON_CreateArray();
    in->m = bpmn_from_json(model, errs);
    if (!in->m) {
        /* pointers are relative to the model; make them relative to the body */
        cJSON *e;
        cJSON_ArrayForEach(e, errs) {
            cJSON *p = cJSON_GetObjectItem(e, "pointer");
            if (model != j && cJSON_IsString(p)) {
                char buf[600];
                snprintf(buf, sizeof(buf), "/model%s", p->valuestring);
                cJSON_SetValuestring(p, buf);
            }
        }
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddItemToObject(ext, "errors", errs);
        fm_reply_problem(r, 422, NULL, "Validation Failed", ext, "the JSON form of the process is not valid");
        rc = FM_REPLIED;
        goto out;
    }
    cJSON_Delete(errs);
out:
    cJSON_Delete(j);
    if (rc != FM_OK)
        input_release(in);
    return rc;
}

/* What even a draft may not have: elements are addressed by id everywhere (views,
 * diffs, merges), and a document without a process is not a process definition. */
static bool blocks_draft(const char *code)
{
    return !strcmp(code, "duplicate-id") || !strcmp(code, "no-process");
}

/* Validates. A draft (publishing false) is refused only for what blocks_draft names;
 * its other problems, errors included, come back in *warnings. A publish is refused
 * for every error (what the engine cannot run). Refusals reply 422 with all problems
 * and return FM_REPLIED. On success *warnings holds the rest (caller frees) and
 * *publishable whether a publish would pass. */
static int validate_or_reply(fm_req_t *r, const bpmn_model_t *m, bool publishing, cJSON **warnings,
                             bool *publishable)
{
    cJSON *all = cJSON_CreateArray();
    bpmn_validate(m, all);
    int nerr = 0, nrun = 0;
    cJSON *errors = cJSON_CreateArray(), *warns = cJSON_CreateArray();
    cJSON *p;
    while ((p = cJSON_DetachItemFromArray(all, 0))) {
        const cJSON *id = cJSON_GetObjectItem(p, "id");
        char ptr[300];
        snprintf(ptr, sizeof(ptr), "#%s", cJSON_IsString(id) ? id->valuestring : "");
        cJSON_AddStringToObject(p, "pointer", ptr);
        cJSON_AddStringToObject(p, "detail", cJSON_GetObjectItem(p, "message")->valuestring);
        bool warn = !strcmp(cJSON_GetObjectItem(p, "severity")->valuestring, "warning");
        nrun += !warn;
        if (!warn && (publishing || blocks_draft(cJSON_GetObjectItem(p, "code")->valuestring)))
            nerr++;
        else
            warn = true;
        cJSON_AddItemToArray(warn ? warns : errors, p);
    }
    cJSON_Delete(all);
    if (nerr) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddItemToObject(ext, "errors", errors);
        cJSON_AddItemToObject(ext, "warnings", warns);
        fm_reply_problem(r, 422, "urn:flowmaster:problem:invalid-bpmn", "Validation Failed", ext,
                         "the process has %d problem(s); each is listed in errors[] with its element id", nerr);
        return FM_REPLIED;
    }
    cJSON_Delete(errors);
    *warnings = warns;
    if (publishable)
        *publishable = nrun == 0;
    return FM_OK;
}

static const char *first_process(const bpmn_model_t *m, const char **name)
{
    for (size_t i = 0; i < m->nels; i++)
        if (m->els[i].kind == BPMN_K_PROCESS) {
            /* the executable one, if any, is the one the engine runs */
            const char *ex = bpmn_attr(m->els[i].node, "isExecutable");
            if (ex && !strcmp(ex, "true")) {
                *name = m->els[i].name;
                return m->els[i].id;
            }
        }
    for (size_t i = 0; i < m->nels; i++)
        if (m->els[i].kind == BPMN_K_PROCESS) {
            *name = m->els[i].name;
            return m->els[i].id;
        }
    *name = NULL;
    return NULL;
}

static void etag_header(fm_req_t *r, int rev)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"r%d\"", rev);
    fm_reply_header(r, "ETag", etag);
}

static int not_found(fm_req_t *r)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", fm_req_param(r, "id"));
}

static int create(fm_req_t *r)
{
    input_t in;
    if (read_input(r, &in) != FM_OK)
        return FM_OK;
    cJSON *warnings = NULL;
    bool publishable = false;
    if (validate_or_reply(r, in.m, false, &warnings, &publishable) != FM_OK) {
        input_release(&in);
        return FM_OK;
    }
    const char *pname = NULL, *pid = first_process(in.m, &pname);
    char *xml = bpmn_export(in.m, NULL);
    design_new_t n = { fm_req_tenant(r), in.name ? in.name : pname ? pname : pid ? pid : "Untitled",
                       in.description, pid, xml, in.tags };
    design_row_t row;
    int rc = design_insert(db_of(r), &n, &row);
    free(xml);
    if (rc == FM_OK) {
        char loc[128];
        snprintf(loc, sizeof(loc), "/processes/%s", row.id);
        fm_reply_header(r, "Location", loc);
        etag_header(r, row.revision);
        cJSON *o = design_row_json(&row);
        cJSON_AddItemToObject(o, "warnings", warnings);
        cJSON_AddBoolToObject(o, "publishable", publishable);
        cJSON_AddItemToObject(o, "summary", bpmn_summary(in.m));
        warnings = NULL;
        design_row_release(&row);
        fm_reply_json(r, 201, o);
    }
    cJSON_Delete(warnings);
    input_release(&in);
    return rc;
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    char q[256], tag[128], status[32];
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    const char *qs = fm_req_query(r, "q", q, sizeof(q));
    const char *ts = fm_req_query(r, "tag", tag, sizeof(tag));
    const char *ss = fm_req_query(r, "status", status, sizeof(status));
    if (ss && strcmp(ss, "draft") && strcmp(ss, "published") && strcmp(ss, "archived"))
        return fm_reply_invalid(r, "status", "must be draft, published or archived");
    cJSON *items = cJSON_CreateArray();
    int rc = design_list(db_of(r), fm_req_tenant(r), qs && *qs ? qs : NULL, ts && *ts ? ts : NULL, ss,
                         offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int get(fm_req_t *r)
{
    design_row_t row;
    int rc = design_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &row);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc != FM_OK)
        return rc;
    cJSON *o = design_row_json(&row);
    char err[300], mq[8];
    const char *with = fm_req_query(r, "model", mq, sizeof(mq));   /* ?model=false: metadata only */
    bpmn_model_t *m = with && !strcmp(with, "false") ? NULL : bpmn_parse(row.xml, strlen(row.xml), err, sizeof(err));
    if (m) {
        cJSON *problems = cJSON_CreateArray();
        int nerr = bpmn_validate(m, problems);
        cJSON_AddItemToObject(o, "problems", problems);
        cJSON_AddBoolToObject(o, "publishable", nerr == 0);
        cJSON_AddItemToObject(o, "summary", bpmn_summary(m));
        cJSON_AddItemToObject(o, "model", bpmn_to_json(m));
        bpmn_free(m);
    }
    etag_header(r, row.revision);
    design_row_release(&row);
    return fm_reply_json(r, 200, o);
}

static int update(fm_req_t *r)
{
    int rev = fm_req_if_match_rev(r, "draft");
    if (rev < 0)
        return FM_OK;
    input_t in;
    if (read_input(r, &in) != FM_OK)
        return FM_OK;
    cJSON *warnings = NULL;
    bool publishable = false;
    if (validate_or_reply(r, in.m, false, &warnings, &publishable) != FM_OK) {
        input_release(&in);
        return FM_OK;
    }
    const char *pname = NULL, *pid = first_process(in.m, &pname);
    char *xml = bpmn_export(in.m, NULL);
    design_new_t n = { fm_req_tenant(r), in.name, in.description, pid, xml, in.tags };
    design_row_t row;
    int rc = design_update(db_of(r), &n, fm_req_param(r, "id"), rev, &row);
    free(xml);
    if (rc == FM_OK) {
        etag_header(r, row.revision);
        cJSON *o = design_row_json(&row);
        cJSON_AddItemToObject(o, "warnings", warnings);
        cJSON_AddBoolToObject(o, "publishable", publishable);
        cJSON_AddItemToObject(o, "summary", bpmn_summary(in.m));
        warnings = NULL;
        design_row_release(&row);
        fm_reply_json(r, 200, o);
    } else if (rc == FM_ENOTFOUND) {
        not_found(r);
        rc = FM_OK;
    } else if (rc == FM_ESTALE) {
        fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                         "the process changed since that ETag; GET it again and reapply your change");
        rc = FM_OK;
    } else if (rc == FM_ECONFLICT) {
        fm_reply_problem(r, 409, NULL, NULL, NULL, "process '%s' is archived", fm_req_param(r, "id"));
        rc = FM_OK;
    }
    cJSON_Delete(warnings);
    input_release(&in);
    return rc;
}

static int archive(fm_req_t *r)
{
    int rc = design_archive(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc == FM_ECONFLICT)     /* archived already: DELETE is idempotent */
        rc = FM_OK;
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* Asks Process Linking whether publishing these calls closes a cycle; warnings get
 * one entry per cycle. Linking not running is not an error. */
static void cycle_warnings(fm_req_t *r, const char *id, const cJSON *summary, cJSON *warnings)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "processId", id);
    cJSON_AddItemToObject(body, "summary", cJSON_Duplicate(summary, true));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL;
    if (text && fm_call(r, FM_POST, "/links/check", text, &status, &out) == FM_OK && status == 200) {
        cJSON *res = cJSON_Parse(out);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(res, "cycles")) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddStringToObject(w, "id", id);
            cJSON_AddStringToObject(w, "code", "call-cycle");
            cJSON_AddStringToObject(w, "severity", "warning");
            char *path = cJSON_PrintUnformatted(c);
            char msg[600];
            snprintf(msg, sizeof(msg), "publishing closes a call cycle: %s", path ? path : "");
            cJSON_free(path);
            cJSON_AddStringToObject(w, "message", msg);
            cJSON_AddItemToObject(w, "cycle", cJSON_Duplicate(c, true));
            cJSON_AddItemToArray(warnings, w);
        }
        cJSON_Delete(res);
    }
    cJSON_free(text);
    free(out);
}

/* Repeating timers faster than execution.timer_min_cycle_ms cannot be stopped in time:
 * refused at publish (422, each element in errors[]). */
static int timer_cycles_or_reply(fm_req_t *r, const bpmn_model_t *m)
{
    cJSON *errors = cJSON_CreateArray();
    int n = bpmn_timer_cycles_check(m, fm_cfg()->execution_timer_min_cycle_ms, errors);
    if (!n) {
        cJSON_Delete(errors);
        return FM_OK;
    }
    cJSON *p;
    char first[400] = "";
    cJSON_ArrayForEach(p, errors) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(p, "id"));
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(p, "message"));
        char ptr[300];
        snprintf(ptr, sizeof(ptr), "#%s", id ? id : "");
        cJSON_AddStringToObject(p, "pointer", ptr);
        cJSON_AddStringToObject(p, "detail", msg ? msg : "");
        if (!first[0])
            snprintf(first, sizeof(first), "%s", msg ? msg : "");
    }
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "errors", errors);
    cJSON_AddItemToObject(ext, "warnings", cJSON_CreateArray());
    fm_reply_problem(r, 422, "urn:flowmaster:problem:invalid-bpmn", "Validation Failed", ext, "%s", first);
    return FM_REPLIED;
}

static int publish(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    size_t len = 0;
    const char *body = fm_req_body(r, &len);
    cJSON *j = NULL;
    const char *note = NULL;
    int from = 0;
    if (body && len) {
        if (!(j = fm_req_parse_json(r)))
            return FM_OK;
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            return fm_reply_invalid(r, "", "the body of a publish is empty or a JSON object {\"note\",\"fromVersion\"}");
        }
        const cJSON *n = cJSON_GetObjectItem(j, "note"), *f = cJSON_GetObjectItem(j, "fromVersion");
        if (n && (!cJSON_IsString(n) || strlen(n->valuestring) > 2000)) {
            cJSON_Delete(j);
            return fm_reply_invalid(r, "note", "must be a string of at most 2000 characters");
        }
        if (f && (!cJSON_IsNumber(f) || f->valuedouble < 1 || f->valuedouble > 1e9)) {
            cJSON_Delete(j);
            return fm_reply_invalid(r, "fromVersion", "must be a published version number");
        }
        note = n ? n->valuestring : NULL;
        from = f ? f->valueint : 0;
    }
    char *xml = NULL;
    int rc;
    design_row_t row;
    memset(&row, 0, sizeof(row));
    if (from) {
        cJSON *meta = NULL;
        rc = design_version_get(db_of(r), fm_req_tenant(r), id, from, &xml, &meta);
        cJSON_Delete(meta);
        if (rc == FM_ENOTFOUND) {
            design_row_t tmp;
            if (design_get(db_of(r), fm_req_tenant(r), id, &tmp) != FM_OK) {
                cJSON_Delete(j);
                return not_found(r);
            }
            design_row_release(&tmp);
            cJSON_Delete(j);
            return fm_reply_invalid(r, "fromVersion", "no such published version");
        }
    } else {
        rc = design_get(db_of(r), fm_req_tenant(r), id, &row);
        if (rc == FM_OK) {
            xml = row.xml;
            row.xml = NULL;
        }
    }
    design_row_release(&row);
    if (rc == FM_ENOTFOUND) {
        cJSON_Delete(j);
        return not_found(r);
    }
    if (rc != FM_OK) {
        cJSON_Delete(j);
        return rc;
    }
    char err[300];
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    cJSON *warnings = NULL, *summary = NULL;
    if (!m) {
        rc = FM_EIO;
        goto out;
    }
    if (validate_or_reply(r, m, true, &warnings, NULL) != FM_OK || timer_cycles_or_reply(r, m) != FM_OK) {
        rc = FM_OK;
        goto out;
    }
    summary = bpmn_summary(m);
    char *sum_text = cJSON_PrintUnformatted(summary);
    char source[32] = "draft", at[32];
    if (from)
        snprintf(source, sizeof(source), "rollback:%d", from);
    int version = 0;
    rc = design_publish(db_of(r), fm_req_tenant(r), id, xml, sum_text, note, source, &version, at);
    cJSON_free(sum_text);
    if (rc == FM_ECONFLICT) {
        fm_reply_problem(r, 409, NULL, NULL, NULL,
                         "process '%s' is archived and cannot be published again (its timer and message "
                         "starts were withdrawn); create a new process (POST /processes) with this BPMN to "
                         "replace it", id);
        rc = FM_OK;
        goto out;
    }
    if (rc == FM_ENOTFOUND) {
        not_found(r);
        rc = FM_OK;
        goto out;
    }
    if (rc != FM_OK)
        goto out;
    cycle_warnings(r, id, summary, warnings);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", id);
    cJSON_AddNumberToObject(o, "version", version);
    cJSON_AddStringToObject(o, "publishedAt", at);
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddStringToObject(o, "note", note ? note : "");
    cJSON_AddItemToObject(o, "summary", summary);
    cJSON_AddItemToObject(o, "warnings", warnings);
    summary = warnings = NULL;
    char loc[160];
    snprintf(loc, sizeof(loc), "/processes/%s/versions/%d", id, version);
    fm_reply_header(r, "Location", loc);
    fm_reply_json(r, 201, o);
out:
    cJSON_Delete(summary);
    cJSON_Delete(warnings);
    cJSON_Delete(j);
    bpmn_free(m);
    free(xml);
    return rc;
}

static int versions(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = design_versions(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc == FM_ENOTFOUND ? not_found(r) : rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int parse_version(const char *s)
{
    char *end;
    long n = s ? strtol(s, &end, 10) : 0;
    return s && *s && !*end && n >= 1 && n <= 1000000000 ? (int)n : -1;
}

static int version_get(fm_req_t *r)
{
    int n = parse_version(fm_req_param(r, "n"));
    if (n < 0)
        return fm_reply_invalid(r, "n", "must be a version number (1, 2, ...)");
    char *xml = NULL;
    cJSON *meta = NULL;
    int rc = design_version_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), n, &xml, &meta);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "process '%s' has no version %d",
                                fm_req_param(r, "id"), n);
    if (rc != FM_OK)
        return rc;
    char err[300];
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    if (m)
        cJSON_AddItemToObject(meta, "model", bpmn_to_json(m));
    bpmn_free(m);
    free(xml);
    return fm_reply_json(r, 200, meta);
}

static int export_bpmn(fm_req_t *r)
{
    char q[32];
    const char *v = fm_req_query(r, "version", q, sizeof(q));
    const char *id = fm_req_param(r, "id");
    char *xml = NULL;
    int rc;
    if (v && strcmp(v, "draft")) {
        int n = parse_version(v);
        if (n < 0)
            return fm_reply_invalid(r, "version", "must be a version number or \"draft\"");
        cJSON *meta = NULL;
        rc = design_version_get(db_of(r), fm_req_tenant(r), id, n, &xml, &meta);
        cJSON_Delete(meta);
        if (rc == FM_ENOTFOUND)
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "process '%s' has no version %d", id, n);
    } else {
        design_row_t row;
        rc = design_get(db_of(r), fm_req_tenant(r), id, &row);
        if (rc == FM_OK) {
            xml = row.xml;
            row.xml = NULL;
            etag_header(r, row.revision);
            design_row_release(&row);
        }
        if (rc == FM_ENOTFOUND)
            return not_found(r);
    }
    if (rc != FM_OK)
        return rc;
    fm_reply_raw(r, 200, "application/xml; charset=utf-8", xml, strlen(xml));
    free(xml);
    return FM_OK;
}

static const fm_route_t routes[] = {
    { FM_POST, "/processes", create, FM_R_BODY, "process:write" },
    { FM_GET, "/processes", list, 0, "process:read" },
    { FM_GET, "/processes/{id}", get, 0, "process:read" },
    { FM_PUT, "/processes/{id}", update, FM_R_BODY, "process:write" },
    { FM_DELETE, "/processes/{id}", archive, 0, "process:write" },
    { FM_POST, "/processes/{id}/publish", publish, FM_R_BODY, "process:publish" },
    { FM_GET, "/processes/{id}/versions", versions, 0, "process:read" },
    { FM_GET, "/processes/{id}/versions/{n}", version_get, 0, "process:read" },
    { FM_GET, "/processes/{id}/bpmn", export_bpmn, 0, "process:read" },
    { FM_POST, "/forms", design_form_create, FM_R_JSON, "process:write" },
    { FM_GET, "/forms", design_form_list, 0, "process:read" },
    { FM_GET, "/forms/{id}", design_form_get, 0, "process:read" },
    { FM_PUT, "/forms/{id}", design_form_update, FM_R_JSON, "process:write" },
    { FM_POST, "/forms/{id}/publish", design_form_publish, FM_R_BODY, "process:publish" },
    { FM_GET, "/forms/{id}/versions", design_form_versions, 0, "process:read" },
    { FM_GET, "/forms/{id}/versions/{n}", design_form_version_get, 0, "process:read" },
};

const fm_module_t fm_design_module = {
    "design", "Process Design Service", 9003, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
