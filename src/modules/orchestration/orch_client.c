/*
 * orch_client.c — the agent call other modules share (orch_client.h): POST
 * /agents/{id}/invoke through fm_call as the caller, and one problem+json for each way
 * it can fail.
 */
#include "orch_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

bool orch_client_agent_ok(const char *agent)
{
    size_t n = agent ? strlen(agent) : 0;
    return n >= 1 && n <= ORCH_AGENT_ID_MAX && strspn(agent, AGENT_CHARS) == n;
}

int orch_client_invoke(fm_req_t *r, const char *agent, const char *field, const char *what, const char *input,
                       const char *task_type, bool cache, cJSON **answer)
{
    *answer = NULL;
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "input", input);
    if (task_type)
        cJSON_AddStringToObject(in, "taskType", task_type);
    if (!cache)
        cJSON_AddFalseToObject(in, "cache");
    char *body = cJSON_PrintUnformatted(in);
    cJSON_Delete(in);
    if (!body)
        return FM_ENOMEM;
    char path[160];
    snprintf(path, sizeof(path), "/agents/%s/invoke", agent);
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_POST, path, body, &status, &out);
    cJSON_free(body);
    if (rc != FM_OK) {
        free(out);
        return rc;
    }
    cJSON *ans = out ? cJSON_Parse(out) : NULL;
    bool no_route = status == 404 && out && strstr(out, "no route for");
    free(out);
    const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ans, "detail"));
    char d[600];
    snprintf(d, sizeof(d), "%.500s", detail ? detail : "no detail");
    if (status == 200 && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ans, "output"))) {
        *answer = ans;
        return FM_OK;
    }
    cJSON_Delete(ans);
    if (no_route || status == 501)
        fm_reply_problem(r, 502, NULL, NULL, NULL, "AI Agent Orchestration (9007) is not running here, so agent "
                         "'%s' cannot write %s", agent, what);
    else if (status == 401 || status == 403)
        fm_reply_problem(r, 403, NULL, NULL, NULL, "having agent '%s' write %s needs the permission agent:invoke",
                         agent, what);
    else if (status == 404) {
        char msg[300];
        snprintf(msg, sizeof(msg), "no agent configuration '%s' in this tenant (PUT /agents/%s/config on 9007)",
                 agent, agent);
        fm_reply_invalid(r, field, msg);
    } else if (status == 429)
        fm_reply_problem(r, 429, NULL, NULL, NULL, "agent '%s': %s", agent, d);
    else if (status == 200)
        fm_reply_problem(r, 502, NULL, NULL, NULL, "agent '%s' answered without a text output for %s", agent, what);
    else
        fm_reply_problem(r, 502, NULL, NULL, NULL, "agent '%s' answered %d for %s: %s", agent, status, what, d);
    return FM_REPLIED;
}
