/*
 * orch_store.c — the orchestration module's tables through fm_dbq: agent configs
 * (revisioned), the response cache (expired rows are ignored and replaced), metered
 * usage and its report, the audit of every call. Every statement filters on the
 * tenant. Any worker thread.
 */
#include "orch_int.h"

#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <string.h>

int orch_config_put(fm_db_t *db, const char *tenant, const char *agent, const cJSON *config, bool create_only,
                    cJSON **out)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t now = fm_time_unix_ms();
    int rc = create_only
        ? fm_dbq_run(w, "INSERT INTO agent_configs(tenant_id, agent_id, config, revision, created_ms, updated_ms) "
                        "VALUES (?, ?, ?, 1, ?, ?)", "ssjII", tenant, agent, config, now, now)
        : fm_dbq_run(w, "INSERT INTO agent_configs(tenant_id, agent_id, config, revision, created_ms, updated_ms) "
                        "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT(tenant_id, agent_id) DO UPDATE SET "
                        "config = excluded.config, revision = revision + 1, updated_ms = excluded.updated_ms",
                     "ssjII", tenant, agent, config, now, now);
    rc = fm_dbq_write_end(w, rc);
    return rc == FM_OK ? orch_config_get(db, tenant, agent, out) : rc;
}

int orch_config_get(fm_db_t *db, const char *tenant, const char *agent, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int rc = fm_dbq_obj(c, "SELECT agent_id AS \"agentId\", config, revision, created_ms AS \"createdAt\", "
                           "updated_ms AS \"updatedAt\" FROM agent_configs WHERE tenant_id = ? AND agent_id = ?",
                        "sJitt", out, "ss", tenant, agent);
    fm_dbq_reader_done(c);
    return rc;
}

int orch_cache_get(fm_db_t *db, const char *tenant, const char *key, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *row = NULL;
    int rc = fm_dbq_obj(c, "SELECT response FROM response_cache WHERE tenant_id = ? AND key = ? AND expires_ms > ?",
                        "J", &row, "ssI", tenant, key, fm_time_unix_ms());
    fm_dbq_reader_done(c);
    if (rc == FM_OK) {
        *out = cJSON_DetachItemFromObject(row, "response");
        cJSON_Delete(row);
    }
    return rc;
}

int orch_cache_put(fm_db_t *db, const char *tenant, const char *key, const cJSON *resp, int ttl_s)
{
    int64_t now = fm_time_unix_ms();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    /* expired rows of the tenant go as new ones come, so the table stays as large as
     * what is live */
    int rc = fm_dbq_run(w, "DELETE FROM response_cache WHERE tenant_id = ? AND expires_ms <= ?", "sI", tenant, now);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT OR REPLACE INTO response_cache(tenant_id, key, response, expires_ms) VALUES (?, ?, ?, ?)",
                        "ssjI", tenant, key, resp, now + (int64_t)ttl_s * 1000);
    return fm_dbq_write_end(w, rc);
}

int orch_usage_add(fm_db_t *db, const char *tenant, const orch_usage_t *u)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO usage(tenant_id, call_id, agent_id, provider, model, input_tokens, "
                           "output_tokens, cost, cached, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "sssssiidiI", tenant, u->call_id, u->agent, u->provider, u->model, u->input_tokens,
                        u->output_tokens, u->cost, u->cached ? 1 : 0, fm_time_unix_ms());
    return fm_dbq_write_end(w, rc);
}

int orch_usage_since(fm_db_t *db, const char *tenant, int64_t since_ms, int64_t *tokens, int64_t *oldest_ms)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int rc = fm_dbq_int(c, "SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM usage "
                           "WHERE tenant_id = ? AND at_ms > ?", tokens, "sI", tenant, since_ms);
    if (rc == FM_OK)
        rc = fm_dbq_int(c, "SELECT coalesce(min(at_ms), 0) FROM usage WHERE tenant_id = ? AND at_ms > ?",
                        oldest_ms, "sI", tenant, since_ms);
    fm_dbq_reader_done(c);
    return rc;
}

int orch_usage_report(fm_db_t *db, const char *tenant, int64_t from_ms, int64_t to_ms, const char *group_by,
                      cJSON **out)
{
    /* group_by is one of four known words (checked by the route), never user text */
    const char *col = !strcmp(group_by, "model") ? "provider || '/' || model"
                    : !strcmp(group_by, "provider") ? "provider"
                    : !strcmp(group_by, "day") ? "strftime('%Y-%m-%d', at_ms / 1000, 'unixepoch')"
                    : "agent_id";
    char sql[600];
    snprintf(sql, sizeof(sql),
             "SELECT %s AS \"key\", count(*) AS calls, sum(cached) AS \"cachedCalls\", "
             "sum(input_tokens) AS \"inputTokens\", sum(output_tokens) AS \"outputTokens\", "
             "round(sum(cost), 6) AS cost FROM usage WHERE tenant_id = ? AND at_ms >= ? AND at_ms < ? "
             "GROUP BY 1 ORDER BY 1 LIMIT 1000", col);
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_array(c, sql, "siiiia", items, "sII", tenant, from_ms, to_ms);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "groupBy", group_by);
    double calls = 0, in = 0, outt = 0, cost = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        calls += cJSON_GetNumberValue(cJSON_GetObjectItem(it, "calls"));
        in += cJSON_GetNumberValue(cJSON_GetObjectItem(it, "inputTokens"));
        outt += cJSON_GetNumberValue(cJSON_GetObjectItem(it, "outputTokens"));
        cost += cJSON_GetNumberValue(cJSON_GetObjectItem(it, "cost"));
    }
    cJSON_AddItemToObject(o, "items", items);
    cJSON *t = cJSON_AddObjectToObject(o, "totals");
    cJSON_AddNumberToObject(t, "calls", calls);
    cJSON_AddNumberToObject(t, "inputTokens", in);
    cJSON_AddNumberToObject(t, "outputTokens", outt);
    cJSON_AddNumberToObject(t, "cost", cost);
    *out = o;
    return FM_OK;
}

int orch_audit_add(fm_db_t *db, const char *tenant, const orch_audit_t *a)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO audit(tenant_id, call_id, agent_id, subject, outcome, status, provider, "
                           "model, prompt, answer, detail, steps, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "sssssisssssjI", tenant, a->call_id, a->agent, a->subject, a->outcome, a->status,
                        a->provider, a->model, a->prompt, a->answer, a->detail, a->steps, fm_time_unix_ms());
    return fm_dbq_write_end(w, rc);
}

int orch_audit_list(fm_db_t *db, const char *tenant, const char *agent, int limit, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_array(c, "SELECT call_id AS \"callId\", agent_id AS \"agentId\", subject, outcome, status, "
                             "provider, model, prompt, answer, detail, steps, at_ms AS \"at\" FROM audit "
                             "WHERE tenant_id = ? AND agent_id = ? ORDER BY at_ms DESC, call_id DESC LIMIT ?",
                          "ssssisssssjt", items, "ssi", tenant, agent, limit);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    *out = items;
    return FM_OK;
}
