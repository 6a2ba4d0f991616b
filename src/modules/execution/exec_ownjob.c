/*
 * exec_ownjob.c — jobs the engine runs itself instead of handing them to external
 * workers: `http`, the connector types (exec_connector.c), `notification`
 * (exec_notify.c) and `ai-agent` (exec_agent.c). Here: which types those are, and
 * loading such a job with its token's variables for the file that runs it.
 */
#include "exec_int.h"

#include <stdio.h>
#include <string.h>

bool ex_job_runs_here(const char *type)
{
    return type && (!strcmp(type, "http") || ex_conn_is(type) || ex_notify_is(type) || ex_agent_is(type));
}

static int row(const fm_dbrow_t *st, void *arg)
{
    ex_ownjob_t *j = arg;
    fm_dbrow_copy(st, 0, j->tenant, sizeof(j->tenant));
    fm_dbrow_copy(st, 1, j->inst, sizeof(j->inst));
    j->token = (int)fm_dbrow_int(st, 2);
    fm_dbrow_copy(st, 3, j->type, sizeof(j->type));
    j->headers = fm_dbrow_json(st, 4);
    fm_dbrow_copy(st, 5, j->element, sizeof(j->element));
    return FM_OK;
}

int ex_ownjob_load(fm_db_t *db, const char *job, bool (*is)(const char *type), ex_ownjob_t *j)
{
    memset(j, 0, sizeof(*j));
    if (fm_dbq_read_one(db, "SELECT tenant_id, instance_id, token_id, type, headers, element FROM jobs "
                            "WHERE id = ? AND state = 'activatable'", row, j, "s", job) != FM_OK ||
        !is(j->type)) {
        ex_ownjob_clear(j);
        return 0;
    }
    if (ex_store_token_vars(db, j->tenant, j->inst, j->token, &j->vars) != FM_OK || !j->vars) {
        ex_ownjob_clear(j);
        return -1;     /* the instance moved on meanwhile */
    }
    return 1;
}

void ex_ownjob_clear(ex_ownjob_t *j)
{
    cJSON_Delete(j->headers);
    cJSON_Delete(j->vars);
    j->headers = j->vars = NULL;
}

const cJSON *ex_var_path(const cJSON *vars, const char *path)
{
    char key[128];
    const cJSON *v = vars;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n == 0 || n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
        path += n + (path[n] == '.');
    }
    return v == vars ? NULL : v;
}

const char *ex_ownjob_header(const ex_ownjob_t *j, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->headers, key));
}

bool ex_ownjob_refused(int status)
{
    return status >= 400 && status < 500 && status != 404 && status != 408 && status != 429;
}
