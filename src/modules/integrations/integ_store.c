/*
 * integ_store.c — connectors and webhooks (tables of the same shape, migrations/
 * integrations/), their call and delivery logs, and the delivery keys a webhook has
 * seen. Every query filters on tenant_id except the public hook route's lookup by id.
 * Secrets are sealed here on the way in and opened on the way out; the public form of
 * a record (integ_rec_json) names which secrets are set, never their values.
 */
#include "integ_int.h"

#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_KEEP 1000   /* entries kept per connector or webhook (the DELETE below) */

static const char *table(integ_kind_t k)
{
    return k == INTEG_CONNECTOR ? "connectors" : "webhooks";
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

void integ_rec_clear(integ_rec_t *r)
{
    cJSON_Delete(r->config);
    cJSON_Delete(r->secrets);
    r->config = r->secrets = NULL;
}

cJSON *integ_rec_json(const integ_rec_t *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    const cJSON *x;
    cJSON_ArrayForEach(x, r->config) if (strcmp(x->string, "name") && strcmp(x->string, "id"))
        cJSON_AddItemToObject(o, x->string, cJSON_Duplicate(x, true));
    cJSON *set = cJSON_AddArrayToObject(o, "secretsSet");
    cJSON_ArrayForEach(x, r->secrets) cJSON_AddItemToArray(set, cJSON_CreateString(x->string));
    cJSON_AddNumberToObject(o, "version", r->version);
    cJSON_AddStringToObject(o, "createdAt", r->created);
    cJSON_AddStringToObject(o, "updatedAt", r->updated);
    return o;
}

static int row_rec(sqlite3_stmt *st, integ_rec_t *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", col(st, 0));
    snprintf(r->tenant, sizeof(r->tenant), "%s", col(st, 1));
    snprintf(r->name, sizeof(r->name), "%s", col(st, 2));
    r->config = cJSON_Parse(col(st, 3));
    const void *blob = sqlite3_column_blob(st, 4);
    int blen = sqlite3_column_bytes(st, 4);
    char *plain = blob ? integ_unseal(blob, (size_t)blen) : NULL;
    if (blob && !plain) {
        fm_log_msg(FM_LOG_ERROR, "integrations: secrets do not open with the configured key", r->id);
        cJSON_Delete(r->config);
        r->config = NULL;
        return FM_EIO;
    }
    r->secrets = plain ? cJSON_Parse(plain) : cJSON_CreateObject();
    if (plain) {
        memset(plain, 0, strlen(plain));
        free(plain);
    }
    r->version = sqlite3_column_int(st, 5);
    snprintf(r->created, sizeof(r->created), "%s", col(st, 6));
    snprintf(r->updated, sizeof(r->updated), "%s", col(st, 7));
    if (!r->config || !r->secrets) {
        integ_rec_clear(r);
        return FM_ENOMEM;
    }
    return FM_OK;
}

int integ_get(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, integ_rec_t *out)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT id, tenant_id, name, config, secrets, version, created_at, updated_at "
                               "FROM %s WHERE id = ?1 AND (?2 IS NULL OR tenant_id = ?2)", table(k));
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (tenant)
            sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? row_rec(st, out) : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

/* Binds name, config, secrets (sealed) at 1, 2, 3. */
static int bind_body(sqlite3_stmt *st, const integ_rec_t *r, unsigned char **box)
{
    char *cfg = cJSON_PrintUnformatted(r->config);
    char *sec = cJSON_PrintUnformatted(r->secrets);
    size_t blen = 0;
    int rc = cfg && sec ? integ_seal(sec, box, &blen) : FM_ENOMEM;
    if (sec) {
        memset(sec, 0, strlen(sec));
        cJSON_free(sec);
    }
    if (rc != FM_OK) {
        cJSON_free(cfg);
        return rc;
    }
    sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cfg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, *box, (int)blen, SQLITE_STATIC);
    cJSON_free(cfg);
    return FM_OK;
}

int integ_insert(fm_db_t *db, integ_kind_t k, integ_rec_t *r)
{
    fm_id_random(k == INTEG_CONNECTOR ? "int" : "hook", r->id, sizeof(r->id));
    fm_time_rfc3339(r->created);
    memcpy(r->updated, r->created, sizeof(r->updated));
    r->version = 1;
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO %s(name, config, secrets, id, tenant_id, version, created_at, "
                               "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)", table(k));
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    unsigned char *box = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) == SQLITE_OK && (rc = bind_body(st, r, &box)) == FM_OK) {
        sqlite3_bind_text(st, 4, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, r->created, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? FM_OK : step == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
    }
    sqlite3_finalize(st);
    free(box);
    return fm_db_write_end(db, rc);
}

int integ_update(fm_db_t *db, integ_kind_t k, integ_rec_t *r, int expect)
{
    fm_time_rfc3339(r->updated);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE %s SET name = ?1, config = ?2, secrets = ?3, version = version + 1, "
                               "updated_at = ?4 WHERE id = ?5 AND tenant_id = ?6 AND version = ?7 "
                               "RETURNING version, created_at", table(k));
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    unsigned char *box = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) == SQLITE_OK && (rc = bind_body(st, r, &box)) == FM_OK) {
        sqlite3_bind_text(st, 4, r->updated, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, r->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, expect);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            r->version = sqlite3_column_int(st, 0);
            snprintf(r->created, sizeof(r->created), "%s", col(st, 1));
            rc = FM_OK;
        } else {
            rc = step == SQLITE_DONE ? FM_ESTALE : step == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
        }
    }
    sqlite3_finalize(st);
    free(box);
    return fm_db_write_end(db, rc);
}

int integ_version(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, int *version)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT version FROM %s WHERE id = ? AND tenant_id = ?", table(k));
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            *version = sqlite3_column_int(st, 0);
        rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

static int exec_bind2(sqlite3 *w, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? FM_OK : FM_EDB;
}

int integ_delete(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, int expect)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?1 AND tenant_id = ?2 AND (?3 < 0 OR version = ?3)",
             table(k));
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, expect);
        rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(w) ? FM_OK : FM_ESTALE) : FM_EDB;
    }
    sqlite3_finalize(st);
    if (rc == FM_OK)
        rc = exec_bind2(w, "DELETE FROM log_entries WHERE owner_id = ?", id, NULL);
    if (rc == FM_OK && k == INTEG_WEBHOOK)
        rc = exec_bind2(w, "DELETE FROM hook_seen WHERE webhook_id = ?", id, NULL);
    return fm_db_write_end(db, rc);
}

int integ_list(fm_db_t *db, integ_kind_t k, const char *tenant, int offset, int limit, cJSON *into, int *total)
{
    char sql[300];
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB, step;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE tenant_id = ?", table(k));
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof(sql), "SELECT id, tenant_id, name, config, secrets, version, created_at, updated_at "
                               "FROM %s WHERE tenant_id = ? ORDER BY name, id LIMIT ? OFFSET ?", table(k));
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    sqlite3_bind_int(st, 3, offset);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        integ_rec_t r;
        if ((rc = row_rec(st, &r)) != FM_OK)
            goto done;
        cJSON_AddItemToArray(into, integ_rec_json(&r));
        integ_rec_clear(&r);
    }
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int integ_log_add(fm_db_t *db, const char *tenant, const char *owner, cJSON *entry)
{
    char id[40];
    fm_id_random("log", id, sizeof(id));
    cJSON_DeleteItemFromObject(entry, "id");
    cJSON_AddStringToObject(entry, "id", id);
    char *text = cJSON_PrintUnformatted(entry);
    if (!text)
        return FM_ENOMEM;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w) {
        cJSON_free(text);
        return FM_EDB;
    }
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "INSERT INTO log_entries(id, tenant_id, owner_id, entry) VALUES (?, ?, ?, ?)", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    /* keep the newest LOG_KEEP of this owner (the index makes this a short range scan) */
    if (rc == FM_OK)
        rc = exec_bind2(w, "DELETE FROM log_entries WHERE owner_id = ?1 AND seq <= (SELECT seq FROM log_entries "
                           "WHERE owner_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET 1000)",
                        owner, NULL);
    cJSON_free(text);
    return fm_db_write_end(db, rc);
}

int integ_log_list(fm_db_t *db, const char *tenant, const char *owner, int offset, int limit, cJSON *into,
                   int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB, step;
    if (sqlite3_prepare_v2(c, "SELECT count(*) FROM log_entries WHERE owner_id = ? AND tenant_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(c, "SELECT entry FROM log_entries WHERE owner_id = ? AND tenant_id = ? "
                              "ORDER BY seq DESC LIMIT ? OFFSET ?", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *e = cJSON_Parse(col(st, 0));
        if (e)
            cJSON_AddItemToArray(into, e);
    }
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int integ_seen_add(fm_db_t *db, const char *webhook, const char *key)
{
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "INSERT INTO hook_seen(webhook_id, key, at_ms) VALUES (?, ?, ?)", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, webhook, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, fm_time_unix_ms());
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? FM_OK : step == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
    }
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int integ_seen_drop(fm_db_t *db, const char *webhook, const char *key)
{
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = exec_bind2(w, "DELETE FROM hook_seen WHERE webhook_id = ?1 AND key = ?2", webhook, key);
    return fm_db_write_end(db, rc);
}
