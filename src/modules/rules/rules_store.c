/*
 * rules_store.c — the rules module's tables (migrations/rules/): rule sets, their
 * immutable versions, and the evaluation audit log. Every query filters on tenant_id.
 * A new version is written only if the caller's expected version is still the latest
 * (the If-Match check happens inside the write transaction, so racing PUTs cannot both
 * win).
 */
#include "rules_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char get_sql[] =
    "SELECT s.id, s.name, v.format, v.source, v.created_at, s.updated_at, v.version, s.latest_version, "
    "v.version_tag "
    "FROM rule_sets s JOIN rule_versions v ON v.tenant_id = s.tenant_id AND v.rule_id = s.id "
    "WHERE s.tenant_id = ?1 AND s.id = ?2 AND v.version = CASE WHEN ?3 = 0 THEN s.latest_version ELSE ?3 END";

static int version_row(const fm_dbrow_t *r, void *arg)
{
    rules_version_t *out = arg;
    out->id = fm_dbrow_dup(r, 0);
    out->name = fm_dbrow_dup(r, 1);
    out->format = fm_dbrow_dup(r, 2);
    out->source = fm_dbrow_dup(r, 3);
    out->created_at = fm_dbrow_dup(r, 4);
    out->updated_at = fm_dbrow_dup(r, 5);
    out->version = (int)fm_dbrow_int(r, 6);
    out->latest = (int)fm_dbrow_int(r, 7);
    out->version_tag = fm_dbrow_dup(r, 8);
    return out->id && out->source ? FM_OK : FM_ENOMEM;
}

static int get_on(fm_dbc_t *c, const char *tenant, const char *id, int version, rules_version_t *out)
{
    return fm_dbq_one(c, get_sql, version_row, out, "ssi", tenant, id, version);
}

int rules_latest(fm_db_t *db, const char *tenant, const char *id, int *version)
{
    int64_t v = 0;
    int rc = fm_dbq_read_int(db, "SELECT latest_version FROM rule_sets WHERE tenant_id = ? AND id = ?", &v, "ss",
                             tenant, id);
    if (rc == FM_OK)
        *version = (int)v;
    return rc;
}

int rules_get(fm_db_t *db, const char *tenant, const char *id, int version, rules_version_t *out)
{
    return fm_dbq_read_one(db, get_sql, version_row, out, "ssi", tenant, id, version);
}

/* One rule_decisions row per decision of version `version`: its id, name and version
 * tag (the decision's own, else the version's). */
static int index_decisions(fm_dbc_t *w, const char *tenant, const char *id, int version, const dmn_model_t *m,
                           const char *version_tag)
{
    int rc = FM_OK;
    for (size_t i = 0; m && i < dmn_decision_count(m) && rc == FM_OK; i++) {
        const char *tag = dmn_decision_version_tag(m, i) ? dmn_decision_version_tag(m, i) : version_tag;
        rc = fm_dbq_run(w, "INSERT INTO rule_decisions(tenant_id, decision_id, decision_name, rule_id, version_tag, "
                           "version) VALUES (?, ?, ?, ?, ?, ?)",
                        "sssssi", tenant, dmn_decision_id(m, i), dmn_decision_name(m, i), id, tag, version);
    }
    return rc;
}

static int add_version(fm_dbc_t *w, const char *tenant, const char *id, int version, const char *format,
                       const char *source, const char *decisions, const char *now, const dmn_model_t *m,
                       const char *version_tag)
{
    int rc = fm_dbq_run(w, "INSERT INTO rule_versions(tenant_id, rule_id, format, source, decisions, created_at, "
                           "version_tag, indexed, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                        "sssssssi", tenant, id, format, source, decisions, now, version_tag, version);
    return rc == FM_OK ? index_decisions(w, tenant, id, version, m, version_tag) : rc;
}

int rules_insert(fm_db_t *db, const char *tenant, const char *name, const char *format, const char *source,
                 const char *decisions_json, const dmn_model_t *m, const char *version_tag, rules_version_t *out)
{
    char id[40], now[32];
    fm_id_random("rul", id, sizeof(id));
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO rule_sets(id, tenant_id, name, created_at, updated_at, latest_version) "
                           "VALUES (?, ?, ?, ?, ?, 1)", "sssss", id, tenant, name, now, now);
    if (rc == FM_OK)
        rc = add_version(w, tenant, id, 1, format, source, decisions_json, now, m, version_tag);
    if (rc == FM_OK)
        rc = get_on(w, tenant, id, 0, out);
    return fm_dbq_write_end(w, rc);
}

int rules_new_version(fm_db_t *db, const char *tenant, const char *id, int expected_version, const char *name,
                      const char *format, const char *source, const char *decisions_json, const dmn_model_t *m,
                      const char *version_tag, rules_version_t *out)
{
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    rules_version_t cur = { 0 };
    int rc = get_on(w, tenant, id, 0, &cur);
    if (rc == FM_OK && cur.latest != expected_version)
        rc = FM_ESTALE;
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "UPDATE rule_sets SET name = ?, updated_at = ?, latest_version = ? "
                           "WHERE tenant_id = ? AND id = ?",
                        "ssiss", name ? name : cur.name, now, cur.latest + 1, tenant, id);
    if (rc == FM_OK)
        rc = add_version(w, tenant, id, cur.latest + 1, format, source, decisions_json, now, m, version_tag);
    rules_version_clear(&cur);
    if (rc == FM_OK)
        rc = get_on(w, tenant, id, 0, out);
    return fm_dbq_write_end(w, rc);
}

/* The keyset cursor of a row: "name\x1fid" (rules.c makes it opaque). */
static void list_cursor(const fm_dbrow_t *r, char *out, size_t len)
{
    snprintf(out, len, "%s\x1f%s", fm_dbrow_str(r, 1), fm_dbrow_str(r, 0));
}

int rules_list(fm_db_t *db, const char *tenant, const char *q, const char *after_name, const char *after_id,
               int limit, cJSON *into, char *next, size_t next_len)
{
    /* keyset paging on (name, id); q matches a name substring, case-insensitively */
    fm_dbq_page_t p = {
        .rows_sql = "SELECT id, name, latest_version AS version, created_at AS \"createdAt\", "
                    "updated_at AS \"updatedAt\" FROM rule_sets "
                    "WHERE tenant_id = ?1 AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0) "
                    "AND (?3 IS NULL OR name > ?3 OR (name = ?3 AND id > ?4)) "
                    "ORDER BY name, id LIMIT ?5",
        .hints = "ssiss", .limit = limit, .cursor = list_cursor, .next = next, .next_len = next_len,
    };
    int total;
    return fm_dbq_read_page(db, &p, into, &total, "ssss", tenant, q, after_name, after_id);
}

int rules_versions(fm_db_t *db, const char *tenant, const char *id, cJSON *into)
{
    int rc = fm_dbq_read_array(db, "SELECT version, format, decisions, created_at AS \"createdAt\" "
                                   "FROM rule_versions WHERE tenant_id = ? AND rule_id = ? ORDER BY version",
                               "isjs", into, "ss", tenant, id);
    return rc == FM_OK && cJSON_GetArraySize(into) == 0 ? FM_ENOTFOUND : rc;
}

int rules_audit_put(fm_dbc_t *w, const char *tenant, const char *rule_id, int version, const char *decision,
                    const char *inputs, const char *outputs, const char *matched, const char *warnings,
                    const char *event_json, const char *now)
{
    int rc = fm_dbq_run(w, "INSERT INTO rule_audit(tenant_id, rule_id, version, decision, inputs, outputs, "
                           "matched, warnings, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssissssss", tenant, rule_id, version, decision, inputs, outputs, matched, warnings, now);
    if (rc == FM_OK)
        rc = bus_outbox_put(w, RULES_SOURCE, RULES_EVALUATED, rule_id, tenant, event_json);
    return rc;
}

int rules_audit(fm_db_t *db, const char *tenant, const char *rule_id, int version, const char *decision,
                const char *inputs, const char *outputs, const char *matched, const char *warnings,
                const char *event_json)
{
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = rules_audit_put(w, tenant, rule_id, version, decision, inputs, outputs, matched, warnings, event_json,
                             now);
    return fm_dbq_write_end(w, rc);
}

typedef struct { char *rule_id; size_t len; int *version; } found_t;

static int found_row(const fm_dbrow_t *r, void *arg)
{
    found_t *f = arg;
    fm_dbrow_copy(r, 0, f->rule_id, f->len);
    *f->version = (int)fm_dbrow_int(r, 1);
    return FM_OK;
}

int rules_find_decision(fm_db_t *db, const char *tenant, const char *decision_id, const char *version_tag,
                        char *rule_id, size_t len, int *version)
{
    found_t f = { rule_id, len, version };
    /* without a tag: only latest versions count (a rule set whose latest version dropped
     * the decision no longer offers it); with one: any version carrying that tag */
    return fm_dbq_read_one(db, "SELECT d.rule_id, d.version FROM rule_decisions d "
                               "JOIN rule_sets s ON s.tenant_id = d.tenant_id AND s.id = d.rule_id "
                               "WHERE d.tenant_id = ?1 AND d.decision_id = ?2 AND "
                               "(CASE WHEN ?3 IS NULL THEN d.version = s.latest_version ELSE d.version_tag = ?3 END) "
                               "ORDER BY d.seq DESC LIMIT 1",
                           found_row, &f, "sss", tenant, decision_id, version_tag);
}

/* Indexes up to BACKFILL_BATCH versions stored before rule_decisions existed; returns
 * how many it did (0: none left), or a negative FM_E*. The rows are read first, then
 * written, so no statement scans rule_versions while it changes. */
#define BACKFILL_BATCH 64

typedef struct stored { char *cols[5]; int version; } stored_t;   /* tenant, id, format, source, tag */
typedef struct { stored_t rows[BACKFILL_BATCH]; int n; } batch_t;

static int stored_row(const fm_dbrow_t *r, void *arg)
{
    batch_t *b = arg;
    if (b->n == BACKFILL_BATCH)
        return FM_OK;
    for (int k = 0; k < 5; k++)
        b->rows[b->n].cols[k] = fm_dbrow_dup(r, k);
    b->rows[b->n++].version = (int)fm_dbrow_int(r, 5);
    return FM_OK;
}

static int index_batch(fm_db_t *db)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    batch_t b;
    b.n = 0;
    int rc = fm_dbq_each(w, "SELECT tenant_id, rule_id, format, source, version_tag, version FROM rule_versions "
                            "WHERE indexed = 0 ORDER BY created_at, rule_id, version LIMIT ?",
                         stored_row, &b, "i", BACKFILL_BATCH);
    for (int i = 0; i < b.n; i++) {
        char **c = b.rows[i].cols;
        dmn_model_t *m = NULL;
        dmn_err_t err;
        if (rc == FM_OK && c[0] && c[1] && c[2] && c[3]) {
            if (rules_parse(c[2], c[3], strlen(c[3]), &m, &err) == FM_OK)
                rc = index_decisions(w, c[0], c[1], b.rows[i].version, m, c[4]);
            else
                fm_log_msg(FM_LOG_WARN, "rules: a stored version no longer parses; its decision ids stay unindexed",
                           c[1]);
            if (rc == FM_OK)
                rc = fm_dbq_run(w, "UPDATE rule_versions SET indexed = 1 WHERE tenant_id = ? AND rule_id = ? "
                                   "AND version = ?", "ssi", c[0], c[1], b.rows[i].version);
        } else if (rc == FM_OK) {
            rc = FM_ENOMEM;
        }
        dmn_model_free(m);
        for (int k = 0; k < 5; k++)
            free(c[k]);
    }
    rc = fm_dbq_write_end(w, rc);
    return rc == FM_OK ? b.n : rc;
}

int rules_index_backfill(fm_db_t *db)
{
    int n;
    while ((n = index_batch(db)) > 0)
        ;
    return n < 0 ? n : FM_OK;
}
