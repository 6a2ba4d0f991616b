/*
 * rules_store.c — the rules module's tables (migrations/rules/): rule sets, their
 * immutable versions, and the evaluation audit log. Every query filters on tenant_id.
 * A new version is written only if the caller's expected version is still the latest
 * (the If-Match check happens inside the write transaction, so racing PUTs cannot both
 * win).
 */
#include "rules_int.h"

#include "../../bus/bus.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? strdup(s) : NULL;
}

void rules_version_clear(rules_version_t *v)
{
    free(v->id);
    free(v->name);
    free(v->format);
    free(v->source);
    free(v->created_at);
    free(v->updated_at);
    free(v->version_tag);
    memset(v, 0, sizeof(*v));
}

static int exec_bind(sqlite3 *c, const char *sql, const char *const *s, int ns, const int64_t *n, int nn)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    for (int i = 0; i < ns; i++)
        sqlite3_bind_text(st, i + 1, s[i], -1, SQLITE_STATIC);
    for (int i = 0; i < nn; i++)
        sqlite3_bind_int64(st, ns + i + 1, n[i]);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? FM_OK : rc == SQLITE_CONSTRAINT ? FM_ECONFLICT : FM_EDB;
}

static const char get_sql[] =
    "SELECT s.id, s.name, v.format, v.source, v.created_at, s.updated_at, v.version, s.latest_version, "
    "v.version_tag "
    "FROM rule_sets s JOIN rule_versions v ON v.tenant_id = s.tenant_id AND v.rule_id = s.id "
    "WHERE s.tenant_id = ?1 AND s.id = ?2 AND v.version = CASE WHEN ?3 = 0 THEN s.latest_version ELSE ?3 END";

static int get_on(sqlite3 *c, const char *tenant, const char *id, int version, rules_version_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, get_sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, version);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW) {
        out->id = dup_col(st, 0);
        out->name = dup_col(st, 1);
        out->format = dup_col(st, 2);
        out->source = dup_col(st, 3);
        out->created_at = dup_col(st, 4);
        out->updated_at = dup_col(st, 5);
        out->version = sqlite3_column_int(st, 6);
        out->latest = sqlite3_column_int(st, 7);
        out->version_tag = dup_col(st, 8);
        rc = out->id && out->source ? FM_OK : FM_ENOMEM;
    } else {
        rc = step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    }
    sqlite3_finalize(st);
    return rc;
}

int rules_latest(fm_db_t *db, const char *tenant, const char *id, int *version)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(c, "SELECT latest_version FROM rule_sets WHERE tenant_id = ? AND id = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        if (rc == FM_OK)
            *version = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int rules_get(fm_db_t *db, const char *tenant, const char *id, int version, rules_version_t *out)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = get_on(c, tenant, id, version, out);
    fm_db_reader_done(db, c);
    return rc;
}

/* One rule_decisions row per decision of version `version`: its id, name and version
 * tag (the decision's own, else the version's). */
static int index_decisions(sqlite3 *w, const char *tenant, const char *id, int version, const dmn_model_t *m,
                           const char *version_tag)
{
    int rc = FM_OK;
    for (size_t i = 0; m && i < dmn_decision_count(m) && rc == FM_OK; i++) {
        const char *tag = dmn_decision_version_tag(m, i) ? dmn_decision_version_tag(m, i) : version_tag;
        const char *s[] = { tenant, dmn_decision_id(m, i), dmn_decision_name(m, i), id, tag };
        int64_t n[] = { version };
        rc = exec_bind(w, "INSERT INTO rule_decisions(tenant_id, decision_id, decision_name, rule_id, version_tag, "
                          "version) VALUES (?, ?, ?, ?, ?, ?)", s, 5, n, 1);
    }
    return rc;
}

static int add_version(sqlite3 *w, const char *tenant, const char *id, int version, const char *format,
                       const char *source, const char *decisions, const char *now, const dmn_model_t *m,
                       const char *version_tag)
{
    const char *s[] = { tenant, id, format, source, decisions, now, version_tag };
    int64_t n[] = { version };
    int rc = exec_bind(w, "INSERT INTO rule_versions(tenant_id, rule_id, format, source, decisions, created_at, "
                          "version_tag, indexed, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)", s, 7, n, 1);
    return rc == FM_OK ? index_decisions(w, tenant, id, version, m, version_tag) : rc;
}

int rules_insert(fm_db_t *db, const char *tenant, const char *name, const char *format, const char *source,
                 const char *decisions_json, const dmn_model_t *m, const char *version_tag, rules_version_t *out)
{
    char id[40], now[32];
    fm_id_random("rul", id, sizeof(id));
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    const char *s[] = { id, tenant, name, now, now };
    int rc = exec_bind(w, "INSERT INTO rule_sets(id, tenant_id, name, created_at, updated_at, latest_version) "
                          "VALUES (?, ?, ?, ?, ?, 1)", s, 5, NULL, 0);
    if (rc == FM_OK)
        rc = add_version(w, tenant, id, 1, format, source, decisions_json, now, m, version_tag);
    if (rc == FM_OK)
        rc = get_on(w, tenant, id, 0, out);
    return fm_db_write_end(db, rc);
}

int rules_new_version(fm_db_t *db, const char *tenant, const char *id, int expected_version, const char *name,
                      const char *format, const char *source, const char *decisions_json, const dmn_model_t *m,
                      const char *version_tag, rules_version_t *out)
{
    char now[32];
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    rules_version_t cur = { 0 };
    int rc = get_on(w, tenant, id, 0, &cur);
    if (rc == FM_OK && cur.latest != expected_version)
        rc = FM_ESTALE;
    if (rc == FM_OK) {
        const char *s[] = { name ? name : cur.name, now, tenant, id };
        int64_t n[] = { cur.latest + 1 };
        rc = exec_bind(w, "UPDATE rule_sets SET name = ?1, updated_at = ?2, latest_version = ?5 "
                          "WHERE tenant_id = ?3 AND id = ?4", s, 4, n, 1);
    }
    if (rc == FM_OK)
        rc = add_version(w, tenant, id, cur.latest + 1, format, source, decisions_json, now, m, version_tag);
    rules_version_clear(&cur);
    if (rc == FM_OK)
        rc = get_on(w, tenant, id, 0, out);
    return fm_db_write_end(db, rc);
}

int rules_list(fm_db_t *db, const char *tenant, const char *q, const char *after_name, const char *after_id,
               int limit, cJSON *into, bool *more)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    /* keyset paging on (name, id); q matches a name substring, case-insensitively */
    if (sqlite3_prepare_v2(c, "SELECT id, name, latest_version, created_at, updated_at FROM rule_sets "
                              "WHERE tenant_id = ?1 AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0) "
                              "AND (?3 IS NULL OR name > ?3 OR (name = ?3 AND id > ?4)) "
                              "ORDER BY name, id LIMIT ?5", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    if (q)
        sqlite3_bind_text(st, 2, q, -1, SQLITE_STATIC);
    if (after_name) {
        sqlite3_bind_text(st, 3, after_name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, after_id, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(st, 5, limit + 1);
    int step, n = 0;
    *more = false;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == limit) {
            *more = true;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(o, "name", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 2));
        cJSON_AddStringToObject(o, "createdAt", (const char *)sqlite3_column_text(st, 3));
        cJSON_AddStringToObject(o, "updatedAt", (const char *)sqlite3_column_text(st, 4));
        cJSON_AddItemToArray(into, o);
    }
    rc = step == SQLITE_DONE || step == SQLITE_ROW ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int rules_versions(fm_db_t *db, const char *tenant, const char *id, cJSON *into)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB, n = 0;
    if (sqlite3_prepare_v2(c, "SELECT version, format, decisions, created_at FROM rule_versions "
                              "WHERE tenant_id = ? AND rule_id = ? ORDER BY version", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 0));
        cJSON_AddStringToObject(o, "format", (const char *)sqlite3_column_text(st, 1));
        cJSON *d = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
        cJSON_AddItemToObject(o, "decisions", d ? d : cJSON_CreateArray());
        cJSON_AddStringToObject(o, "createdAt", (const char *)sqlite3_column_text(st, 3));
        cJSON_AddItemToArray(into, o);
        n++;
    }
    rc = step != SQLITE_DONE ? FM_EDB : n ? FM_OK : FM_ENOTFOUND;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int rules_audit(fm_db_t *db, const char *tenant, const char *rule_id, int version, const char *decision,
                const char *inputs, const char *outputs, const char *matched, const char *warnings,
                const char *event_json)
{
    char now[32];
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    if (sqlite3_prepare_v2(w, "INSERT INTO rule_audit(tenant_id, rule_id, version, decision, inputs, outputs, "
                              "matched, warnings, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rule_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, version);
        if (decision)
            sqlite3_bind_text(st, 4, decision, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, inputs, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, outputs, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, matched, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, warnings, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    }
    sqlite3_finalize(st);
    if (rc == FM_OK)
        rc = bus_outbox_add(db, w, RULES_SOURCE, RULES_EVALUATED, rule_id, tenant, event_json);
    return fm_db_write_end(db, rc);
}

int rules_find_decision(fm_db_t *db, const char *tenant, const char *decision_id, const char *version_tag,
                        char *rule_id, size_t len, int *version)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB;
    /* without a tag: only latest versions count (a rule set whose latest version dropped
     * the decision no longer offers it); with one: any version carrying that tag */
    if (sqlite3_prepare_v2(c, "SELECT d.rule_id, d.version FROM rule_decisions d "
                              "JOIN rule_sets s ON s.tenant_id = d.tenant_id AND s.id = d.rule_id "
                              "WHERE d.tenant_id = ?1 AND d.decision_id = ?2 AND "
                              "(CASE WHEN ?3 IS NULL THEN d.version = s.latest_version ELSE d.version_tag = ?3 END) "
                              "ORDER BY d.seq DESC LIMIT 1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, decision_id, -1, SQLITE_STATIC);
        if (version_tag)
            sqlite3_bind_text(st, 3, version_tag, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
        if (rc == FM_OK) {
            snprintf(rule_id, len, "%s", (const char *)sqlite3_column_text(st, 0));
            *version = sqlite3_column_int(st, 1);
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

/* Indexes up to BACKFILL_BATCH versions stored before rule_decisions existed; returns
 * how many it did (0: none left), or a negative FM_E*. The rows are read first, then
 * written, so no statement scans rule_versions while it changes. */
#define BACKFILL_BATCH 64

typedef struct stored { char *cols[5]; int version; } stored_t;   /* tenant, id, format, source, tag */

static int index_batch(fm_db_t *db)
{
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    stored_t rows[BACKFILL_BATCH];
    int n = 0, rc = FM_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "SELECT tenant_id, rule_id, format, source, version_tag, version FROM rule_versions "
                              "WHERE indexed = 0 ORDER BY created_at, rule_id, version LIMIT ?", -1, &st,
                           NULL) != SQLITE_OK)
        return fm_db_write_end(db, FM_EDB);
    sqlite3_bind_int(st, 1, BACKFILL_BATCH);
    while (n < BACKFILL_BATCH && sqlite3_step(st) == SQLITE_ROW) {
        for (int k = 0; k < 5; k++)
            rows[n].cols[k] = dup_col(st, k);
        rows[n++].version = sqlite3_column_int(st, 5);
    }
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++) {
        char **c = rows[i].cols;
        dmn_model_t *m = NULL;
        dmn_err_t err;
        if (rc == FM_OK && c[0] && c[1] && c[2] && c[3]) {
            if (rules_parse(c[2], c[3], strlen(c[3]), &m, &err) == FM_OK)
                rc = index_decisions(w, c[0], c[1], rows[i].version, m, c[4]);
            else
                fm_log_msg(FM_LOG_WARN, "rules: a stored version no longer parses; its decision ids stay unindexed",
                           c[1]);
            const char *s[] = { c[0], c[1] };
            int64_t v[] = { rows[i].version };
            if (rc == FM_OK)
                rc = exec_bind(w, "UPDATE rule_versions SET indexed = 1 WHERE tenant_id = ? AND rule_id = ? "
                                  "AND version = ?", s, 2, v, 1);
        } else if (rc == FM_OK) {
            rc = FM_ENOMEM;
        }
        dmn_model_free(m);
        for (int k = 0; k < 5; k++)
            free(c[k]);
    }
    rc = fm_db_write_end(db, rc);
    return rc == FM_OK ? n : rc;
}

int rules_index_backfill(fm_db_t *db)
{
    int n;
    while ((n = index_batch(db)) > 0)
        ;
    return n < 0 ? n : FM_OK;
}
