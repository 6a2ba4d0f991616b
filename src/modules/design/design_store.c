/*
 * design_store.c — the Process Design tables (migrations/design/): process drafts,
 * their tags, and immutable published versions. Every query filters on tenant_id; a
 * publish writes its version row and its bus event in one transaction.
 */
#include "design_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS "id, name, description, status, bpmn_process_id, draft_xml, created_at, updated_at, " \
             "revision, latest_version"

void design_row_release(design_row_t *r)
{
    free(r->id);
    free(r->name);
    free(r->description);
    free(r->status);
    free(r->bpmn_id);
    free(r->xml);
    free(r->created);
    free(r->updated);
    cJSON_Delete(r->tags);
    memset(r, 0, sizeof(*r));
}

cJSON *design_row_json(const design_row_t *r)
{
    cJSON *o = cJSON_CreateObject();
    char etag[32];
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "description", r->description ? r->description : "");
    cJSON_AddItemToObject(o, "tags", r->tags ? cJSON_Duplicate(r->tags, true) : cJSON_CreateArray());
    cJSON_AddStringToObject(o, "status", r->status);
    if (r->bpmn_id)
        cJSON_AddStringToObject(o, "bpmnProcessId", r->bpmn_id);
    else
        cJSON_AddNullToObject(o, "bpmnProcessId");
    cJSON_AddNumberToObject(o, "revision", r->revision);
    snprintf(etag, sizeof(etag), "\"r%d\"", r->revision);
    cJSON_AddStringToObject(o, "etag", etag);
    cJSON_AddNumberToObject(o, "latestVersion", r->latest);
    cJSON_AddStringToObject(o, "createdAt", r->created);
    cJSON_AddStringToObject(o, "updatedAt", r->updated);
    return o;
}

static int tag_row(const fm_dbrow_t *r, void *arg)
{
    cJSON_AddItemToArray(arg, cJSON_CreateString(fm_dbrow_text(r, 0)));
    return FM_OK;
}

static int load_tags(fm_dbc_t *c, const char *tenant, const char *id, cJSON **tags)
{
    *tags = cJSON_CreateArray();
    return fm_dbq_each(c, "SELECT tag FROM process_tags WHERE tenant_id = ? AND process_id = ? ORDER BY tag",
                       tag_row, *tags, "ss", tenant, id);
}

typedef struct { design_row_t *r; bool with_xml; } read_t;

static int read_row(const fm_dbrow_t *row, void *arg)
{
    read_t *x = arg;
    design_row_t *r = x->r;
    r->id = fm_dbrow_dup(row, 0);
    r->name = fm_dbrow_dup(row, 1);
    r->description = fm_dbrow_dup(row, 2);
    r->status = fm_dbrow_dup(row, 3);
    r->bpmn_id = fm_dbrow_dup(row, 4);
    r->xml = x->with_xml ? fm_dbrow_dup(row, 5) : NULL;
    r->created = fm_dbrow_dup(row, 6);
    r->updated = fm_dbrow_dup(row, 7);
    r->revision = (int)fm_dbrow_int(row, 8);
    r->latest = (int)fm_dbrow_int(row, 9);
    return FM_OK;
}

static int get_on(fm_dbc_t *c, const char *tenant, const char *id, design_row_t *out)
{
    memset(out, 0, sizeof(*out));
    read_t x = { out, true };
    int rc = fm_dbq_one(c, "SELECT " COLS " FROM processes WHERE tenant_id = ? AND id = ?", read_row, &x, "ss",
                        tenant, id);
    if (rc == FM_OK)
        rc = load_tags(c, tenant, id, &out->tags);
    return rc;
}

static int set_tags(fm_dbc_t *w, const char *tenant, const char *id, const cJSON *tags)
{
    int rc = fm_dbq_run(w, "DELETE FROM process_tags WHERE tenant_id = ? AND process_id = ?", "ss", tenant, id);
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        if (rc != FM_OK)
            break;
        rc = fm_dbq_run(w, "INSERT OR IGNORE INTO process_tags(tenant_id, process_id, tag) VALUES (?, ?, ?)", "sss",
                        tenant, id, t->valuestring);
    }
    return rc;
}

int design_insert(fm_db_t *db, const design_new_t *n, design_row_t *out)
{
    char id[40], now[32];
    fm_id_random("proc", id, sizeof(id));
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO processes(id, tenant_id, name, description, bpmn_process_id, "
                           "draft_xml, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ssssssss",
                        id, n->tenant, n->name, n->description ? n->description : "", n->bpmn_id, n->xml, now, now);
    if (rc == FM_OK && n->tags)
        rc = set_tags(w, n->tenant, id, n->tags);
    if (rc == FM_OK)
        rc = get_on(w, n->tenant, id, out);
    rc = fm_dbq_write_end(w, rc == FM_OK ? FM_OK : FM_EDB);
    if (rc != FM_OK)
        design_row_release(out);
    return rc;
}

int design_get(fm_db_t *db, const char *tenant, const char *id, design_row_t *out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int rc = get_on(c, tenant, id, out);
    if (rc != FM_OK)
        design_row_release(out);
    fm_dbq_reader_done(c);
    return rc;
}

typedef struct { fm_dbc_t *c; const char *tenant; } list_t;

static cJSON *list_item(const fm_dbrow_t *row, void *arg)
{
    list_t *l = arg;
    design_row_t r;
    memset(&r, 0, sizeof(r));
    read_t x = { &r, false };
    read_row(row, &x);
    load_tags(l->c, l->tenant, r.id, &r.tags);
    cJSON *o = design_row_json(&r);
    design_row_release(&r);
    return o;
}

/* archived ones only when asked for by status */
#define LIST_WHERE                                                                      \
    " FROM processes p WHERE p.tenant_id = ?1"                                          \
    " AND (?2 IS NULL OR instr(lower(p.name), lower(?2)) > 0)"                          \
    " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM process_tags t WHERE t.tenant_id = ?1"   \
    "      AND t.process_id = p.id AND t.tag = ?3))"                                    \
    " AND (CASE WHEN ?4 IS NULL THEN p.status <> 'archived' ELSE p.status = ?4 END)"

int design_list(fm_db_t *db, const char *tenant, const char *q, const char *tag, const char *status,
                int offset, int limit, cJSON *into, int *total)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    list_t l = { c, tenant };
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" LIST_WHERE,
        .rows_sql = "SELECT id, name, description, status, bpmn_process_id, NULL, created_at, "
                    "updated_at, revision, latest_version" LIST_WHERE " ORDER BY p.name, p.id LIMIT ?5 OFFSET ?6",
        .item = list_item, .arg = &l, .offset = offset, .limit = limit,
    };
    int rc = fm_dbq_page(c, &p, into, total, "ssss", tenant, q, tag, status);
    fm_dbq_reader_done(c);
    return rc;
}

int design_update(fm_db_t *db, const design_new_t *n, const char *id, int if_rev, design_row_t *out)
{
    char now[32];
    fm_time_rfc3339(now);
    memset(out, 0, sizeof(*out));
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    design_row_t cur;
    int rc = get_on(w, n->tenant, id, &cur);
    if (rc != FM_OK)
        goto done;
    if (!strcmp(cur.status, "archived")) {
        rc = FM_ECONFLICT;
        goto done;
    }
    if (if_rev > 0 && if_rev != cur.revision) {
        rc = FM_ESTALE;
        goto done;
    }
    rc = fm_dbq_run(w, "UPDATE processes SET name = coalesce(?1, name), description = coalesce(?2, description), "
                       "bpmn_process_id = coalesce(?3, bpmn_process_id), draft_xml = coalesce(?4, draft_xml), "
                       "revision = revision + 1, updated_at = ?5 WHERE tenant_id = ?6 AND id = ?7", "sssssss",
                    n->name, n->description, n->bpmn_id, n->xml, now, n->tenant, id);
    if (rc == FM_OK && n->tags)
        rc = set_tags(w, n->tenant, id, n->tags);
    if (rc == FM_OK)
        rc = get_on(w, n->tenant, id, out);
    if (rc != FM_OK)
        rc = FM_EDB;
done:
    design_row_release(&cur);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        design_row_release(out);
    return rc;
}

int design_archive(fm_db_t *db, const char *tenant, const char *id)
{
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "UPDATE processes SET status = 'archived', revision = revision + 1, updated_at = ? "
                           "WHERE tenant_id = ? AND id = ? AND status <> 'archived'", "sss", now, tenant, id);
    if (rc == FM_OK && !fm_dbq_changes(w)) {
        design_row_t r;
        rc = get_on(w, tenant, id, &r);
        design_row_release(&r);
        rc = rc == FM_OK ? FM_ECONFLICT : rc;   /* archived already */
    } else if (rc == FM_OK) {
        char data[256];
        snprintf(data, sizeof(data), "{\"processId\":\"%s\"}", id);
        rc = bus_outbox_put(w, DESIGN_SOURCE, DESIGN_ARCHIVED, id, tenant, data);
    }
    return fm_dbq_write_end(w, rc);
}

int design_publish(fm_db_t *db, const char *tenant, const char *id, const char *xml, const char *summary_json,
                   const char *note, const char *source, int *version, char *published_at)
{
    fm_time_rfc3339(published_at);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    design_row_t cur;
    int rc = get_on(w, tenant, id, &cur);
    cJSON *data = NULL;
    if (rc != FM_OK)
        goto done;
    if (!strcmp(cur.status, "archived")) {
        rc = FM_ECONFLICT;
        goto done;
    }
    *version = cur.latest + 1;
    rc = fm_dbq_run(w, "INSERT INTO process_versions(tenant_id, process_id, version, xml, summary, note, "
                       "source, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ssisssss",
                    tenant, id, *version, xml ? xml : cur.xml, summary_json, note ? note : "", source, published_at);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "UPDATE processes SET status = 'published', latest_version = ?, updated_at = ? "
                           "WHERE tenant_id = ? AND id = ?", "isss", *version, published_at, tenant, id);
    if (rc != FM_OK) {
        rc = FM_EDB;
        goto done;
    }
    data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "processId", id);
    cJSON_AddStringToObject(data, "name", cur.name);
    cJSON_AddNumberToObject(data, "version", *version);
    cJSON_AddStringToObject(data, "publishedAt", published_at);
    cJSON *sum = cJSON_Parse(summary_json);
    cJSON_AddItemToObject(data, "summary", sum ? sum : cJSON_CreateObject());
    rc = bus_outbox_put_json(w, DESIGN_SOURCE, DESIGN_PUBLISHED, id, tenant, data);
done:
    cJSON_Delete(data);
    design_row_release(&cur);
    return fm_dbq_write_end(w, rc);
}

static cJSON *version_item(const fm_dbrow_t *r, void *arg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", arg);
    cJSON_AddNumberToObject(o, "version", (double)fm_dbrow_int(r, 0));
    cJSON_AddStringToObject(o, "note", fm_dbrow_text(r, 1));
    cJSON_AddStringToObject(o, "source", fm_dbrow_text(r, 2));
    cJSON_AddStringToObject(o, "publishedAt", fm_dbrow_text(r, 3));
    return o;
}

int design_versions(fm_db_t *db, const char *tenant, const char *id, int offset, int limit,
                    cJSON *into, int *total)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    design_row_t cur;
    int rc = get_on(c, tenant, id, &cur);
    design_row_release(&cur);
    *total = 0;
    if (rc == FM_OK) {
        fm_dbq_page_t p = {
            .count_sql = "SELECT count(*) FROM process_versions WHERE tenant_id = ? AND process_id = ?",
            .rows_sql = "SELECT version, note, source, published_at FROM process_versions "
                        "WHERE tenant_id = ? AND process_id = ? ORDER BY version DESC LIMIT ? OFFSET ?",
            .item = version_item, .arg = (void *)id, .offset = offset, .limit = limit,
        };
        rc = fm_dbq_page(c, &p, into, total, "ss", tenant, id);
    }
    fm_dbq_reader_done(c);
    return rc;
}

typedef struct { const char *id; int n; char **xml; cJSON **meta; } version_t;

static int version_row(const fm_dbrow_t *r, void *arg)
{
    version_t *v = arg;
    *v->xml = fm_dbrow_dup(r, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", v->id);
    cJSON_AddNumberToObject(o, "version", v->n);
    cJSON *sum = fm_dbrow_json(r, 1);
    cJSON_AddItemToObject(o, "summary", sum ? sum : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "note", fm_dbrow_text(r, 2));
    cJSON_AddStringToObject(o, "source", fm_dbrow_text(r, 3));
    cJSON_AddStringToObject(o, "publishedAt", fm_dbrow_text(r, 4));
    *v->meta = o;
    return FM_OK;
}

int design_version_get(fm_db_t *db, const char *tenant, const char *id, int n, char **xml, cJSON **meta)
{
    *xml = NULL;
    *meta = NULL;
    version_t v = { id, n, xml, meta };
    return fm_dbq_read_one(db, "SELECT xml, summary, note, source, published_at FROM process_versions "
                               "WHERE tenant_id = ? AND process_id = ? AND version = ?", version_row, &v, "ssi",
                           tenant, id, n);
}
