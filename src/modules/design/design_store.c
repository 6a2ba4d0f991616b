/*
 * design_store.c — the Process Design tables (migrations/design/): process drafts,
 * their tags, and immutable published versions. Every query filters on tenant_id; a
 * publish writes its version row and its bus event in one transaction.
 */
#include "design_int.h"

#include "../../bus/bus.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS "id, name, description, status, bpmn_process_id, draft_xml, created_at, updated_at, " \
             "revision, latest_version"

static char *dupcol(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? strdup(s) : NULL;
}

static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

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

static int load_tags(sqlite3 *c, const char *tenant, const char *id, cJSON **tags)
{
    sqlite3_stmt *st = NULL;
    *tags = cJSON_CreateArray();
    if (sqlite3_prepare_v2(c, "SELECT tag FROM process_tags WHERE tenant_id = ? AND process_id = ? ORDER BY tag",
                           -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    while (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddItemToArray(*tags, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return FM_OK;
}

static void read_row(sqlite3_stmt *st, design_row_t *r, bool with_xml)
{
    r->id = dupcol(st, 0);
    r->name = dupcol(st, 1);
    r->description = dupcol(st, 2);
    r->status = dupcol(st, 3);
    r->bpmn_id = dupcol(st, 4);
    r->xml = with_xml ? dupcol(st, 5) : NULL;
    r->created = dupcol(st, 6);
    r->updated = dupcol(st, 7);
    r->revision = sqlite3_column_int(st, 8);
    r->latest = sqlite3_column_int(st, 9);
}

static int get_on(sqlite3 *c, const char *tenant, const char *id, design_row_t *out)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(c, "SELECT " COLS " FROM processes WHERE tenant_id = ? AND id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return FM_EDB;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    if (rc == FM_OK)
        read_row(st, out, true);
    sqlite3_finalize(st);
    if (rc == FM_OK)
        rc = load_tags(c, tenant, id, &out->tags);
    return rc;
}

static int set_tags(sqlite3 *w, const char *tenant, const char *id, const cJSON *tags)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "DELETE FROM process_tags WHERE tenant_id = ? AND process_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return FM_EDB;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return FM_EDB;
    if (sqlite3_prepare_v2(w, "INSERT OR IGNORE INTO process_tags(tenant_id, process_id, tag) VALUES (?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    const cJSON *t;
    int rc = FM_OK;
    cJSON_ArrayForEach(t, tags) {
        bind_s(st, 1, tenant);
        bind_s(st, 2, id);
        bind_s(st, 3, t->valuestring);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = FM_EDB;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int design_insert(fm_db_t *db, const design_new_t *n, design_row_t *out)
{
    char id[40], now[32];
    fm_id_random("proc", id, sizeof(id));
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "INSERT INTO processes(id, tenant_id, name, description, bpmn_process_id, "
                              "draft_xml, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, id);
    bind_s(st, 2, n->tenant);
    bind_s(st, 3, n->name);
    bind_s(st, 4, n->description ? n->description : "");
    bind_s(st, 5, n->bpmn_id);
    bind_s(st, 6, n->xml);
    bind_s(st, 7, now);
    bind_s(st, 8, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    if (n->tags && set_tags(w, n->tenant, id, n->tags) != FM_OK)
        goto done;
    rc = get_on(w, n->tenant, id, out);
done:
    sqlite3_finalize(st);
    rc = fm_db_write_end(db, rc);
    if (rc != FM_OK)
        design_row_release(out);
    return rc;
}

int design_get(fm_db_t *db, const char *tenant, const char *id, design_row_t *out)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = get_on(c, tenant, id, out);
    if (rc != FM_OK)
        design_row_release(out);
    fm_db_reader_done(db, c);
    return rc;
}

int design_list(fm_db_t *db, const char *tenant, const char *q, const char *tag, const char *status,
                int offset, int limit, cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    /* archived ones only when asked for by status */
    static const char where[] =
        " FROM processes p WHERE p.tenant_id = ?1"
        " AND (?2 IS NULL OR instr(lower(p.name), lower(?2)) > 0)"
        " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM process_tags t WHERE t.tenant_id = ?1"
        "      AND t.process_id = p.id AND t.tag = ?3))"
        " AND (CASE WHEN ?4 IS NULL THEN p.status <> 'archived' ELSE p.status = ?4 END)";
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT count(*)%s", where);
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, tenant);
    bind_s(st, 2, q);
    bind_s(st, 3, tag);
    bind_s(st, 4, status);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof(sql), "SELECT id, name, description, status, bpmn_process_id, NULL, created_at, "
                               "updated_at, revision, latest_version%s ORDER BY p.name, p.id LIMIT ?5 OFFSET ?6",
             where);
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, tenant);
    bind_s(st, 2, q);
    bind_s(st, 3, tag);
    bind_s(st, 4, status);
    sqlite3_bind_int(st, 5, limit);
    sqlite3_bind_int(st, 6, offset);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        design_row_t r;
        memset(&r, 0, sizeof(r));
        read_row(st, &r, false);
        load_tags(c, tenant, r.id, &r.tags);
        cJSON_AddItemToArray(into, design_row_json(&r));
        design_row_release(&r);
    }
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int design_update(fm_db_t *db, const design_new_t *n, const char *id, int if_rev, design_row_t *out)
{
    char now[32];
    fm_time_rfc3339(now);
    memset(out, 0, sizeof(*out));
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    design_row_t cur;
    int rc = get_on(w, n->tenant, id, &cur);
    sqlite3_stmt *st = NULL;
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
    rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "UPDATE processes SET name = coalesce(?1, name), description = coalesce(?2, description), "
                              "bpmn_process_id = coalesce(?3, bpmn_process_id), draft_xml = coalesce(?4, draft_xml), "
                              "revision = revision + 1, updated_at = ?5 WHERE tenant_id = ?6 AND id = ?7",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, n->name);
    bind_s(st, 2, n->description);
    bind_s(st, 3, n->bpmn_id);
    bind_s(st, 4, n->xml);
    bind_s(st, 5, now);
    bind_s(st, 6, n->tenant);
    bind_s(st, 7, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    if (n->tags && set_tags(w, n->tenant, id, n->tags) != FM_OK)
        goto done;
    rc = get_on(w, n->tenant, id, out);
done:
    sqlite3_finalize(st);
    design_row_release(&cur);
    rc = fm_db_write_end(db, rc);
    if (rc != FM_OK)
        design_row_release(out);
    return rc;
}

int design_archive(fm_db_t *db, const char *tenant, const char *id)
{
    char now[32];
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "UPDATE processes SET status = 'archived', revision = revision + 1, updated_at = ? "
                              "WHERE tenant_id = ? AND id = ? AND status <> 'archived'", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, now);
    bind_s(st, 2, tenant);
    bind_s(st, 3, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    if (!sqlite3_changes(w)) {
        design_row_t r;
        rc = get_on(w, tenant, id, &r);
        design_row_release(&r);
        rc = rc == FM_OK ? FM_ECONFLICT : rc;   /* archived already */
        goto done;
    }
    char data[256];
    snprintf(data, sizeof(data), "{\"processId\":\"%s\"}", id);
    rc = bus_outbox_add(db, w, DESIGN_SOURCE, DESIGN_ARCHIVED, id, tenant, data);
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int design_publish(fm_db_t *db, const char *tenant, const char *id, const char *xml, const char *summary_json,
                   const char *note, const char *source, int *version, char *published_at)
{
    fm_time_rfc3339(published_at);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    design_row_t cur;
    int rc = get_on(w, tenant, id, &cur);
    sqlite3_stmt *st = NULL;
    cJSON *data = NULL;
    char *text = NULL;
    if (rc != FM_OK)
        goto done;
    if (!strcmp(cur.status, "archived")) {
        rc = FM_ECONFLICT;
        goto done;
    }
    *version = cur.latest + 1;
    rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "INSERT INTO process_versions(tenant_id, process_id, version, xml, summary, note, "
                              "source, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    sqlite3_bind_int(st, 3, *version);
    bind_s(st, 4, xml ? xml : cur.xml);
    bind_s(st, 5, summary_json);
    bind_s(st, 6, note ? note : "");
    bind_s(st, 7, source);
    bind_s(st, 8, published_at);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(w, "UPDATE processes SET status = 'published', latest_version = ?, updated_at = ? "
                              "WHERE tenant_id = ? AND id = ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int(st, 1, *version);
    bind_s(st, 2, published_at);
    bind_s(st, 3, tenant);
    bind_s(st, 4, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "processId", id);
    cJSON_AddStringToObject(data, "name", cur.name);
    cJSON_AddNumberToObject(data, "version", *version);
    cJSON_AddStringToObject(data, "publishedAt", published_at);
    cJSON *sum = cJSON_Parse(summary_json);
    cJSON_AddItemToObject(data, "summary", sum ? sum : cJSON_CreateObject());
    text = cJSON_PrintUnformatted(data);
    rc = text ? bus_outbox_add(db, w, DESIGN_SOURCE, DESIGN_PUBLISHED, id, tenant, text) : FM_ENOMEM;
done:
    sqlite3_finalize(st);
    cJSON_Delete(data);
    cJSON_free(text);
    design_row_release(&cur);
    return fm_db_write_end(db, rc);
}

int design_versions(fm_db_t *db, const char *tenant, const char *id, int offset, int limit,
                    cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    design_row_t cur;
    int rc = get_on(c, tenant, id, &cur);
    design_row_release(&cur);
    sqlite3_stmt *st = NULL;
    if (rc != FM_OK)
        goto done;
    rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT version, note, source, published_at, count(*) OVER () FROM process_versions "
                              "WHERE tenant_id = ? AND process_id = ? ORDER BY version DESC LIMIT ? OFFSET ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    *total = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "processId", id);
        cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 0));
        cJSON_AddStringToObject(o, "note", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(o, "source", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddStringToObject(o, "publishedAt", (const char *)sqlite3_column_text(st, 3));
        *total = sqlite3_column_int(st, 4);
        cJSON_AddItemToArray(into, o);
    }
    if (step == SQLITE_DONE && !cJSON_GetArraySize(into) && offset > 0) {
        sqlite3_finalize(st);
        st = NULL;
        if (sqlite3_prepare_v2(c, "SELECT count(*) FROM process_versions WHERE tenant_id = ? AND process_id = ?",
                               -1, &st, NULL) == SQLITE_OK) {
            bind_s(st, 1, tenant);
            bind_s(st, 2, id);
            if (sqlite3_step(st) == SQLITE_ROW)
                *total = sqlite3_column_int(st, 0);
        }
    }
    rc = FM_OK;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int design_version_get(fm_db_t *db, const char *tenant, const char *id, int n, char **xml, cJSON **meta)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    *xml = NULL;
    *meta = NULL;
    if (sqlite3_prepare_v2(c, "SELECT xml, summary, note, source, published_at FROM process_versions "
                              "WHERE tenant_id = ? AND process_id = ? AND version = ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_s(st, 1, tenant);
    bind_s(st, 2, id);
    sqlite3_bind_int(st, 3, n);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = FM_ENOTFOUND;
        goto done;
    }
    if (step != SQLITE_ROW)
        goto done;
    *xml = dupcol(st, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", id);
    cJSON_AddNumberToObject(o, "version", n);
    cJSON *sum = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
    cJSON_AddItemToObject(o, "summary", sum ? sum : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "note", (const char *)sqlite3_column_text(st, 2));
    cJSON_AddStringToObject(o, "source", (const char *)sqlite3_column_text(st, 3));
    cJSON_AddStringToObject(o, "publishedAt", (const char *)sqlite3_column_text(st, 4));
    *meta = o;
    rc = FM_OK;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}
