/*
 * exec_agent.c — tasks of type "ai-agent" the engine runs itself: a serviceTask with
 * zeebe:taskDefinition type="ai-agent" invokes an agent of AI Agent Orchestration
 * (9007) with an in-process call of its public route POST /agents/{id}/invoke, on the
 * platform's behalf in the instance's tenant, and completes with the answer in a
 * variable. Headers (zeebe:taskHeaders):
 *   agentId          the agent (required; "=path" reads a variable)
 *   prompt           the user message, a Mustache template over the variables
 *                    (default: the variable `input`, else the variables as JSON)
 *   taskType, costTier  passed on for the agent's routing rules
 *   resultVariable   where the answer goes (default "agent"): {output, model,
 *                    provider, usage, toolCalls}
 *   outputFormat     "json": output must parse as JSON and is stored parsed
 * The variables are the Mustache data of the agent's system prompt and messages. A
 * refusal (an unknown agent, invalid input, a quota answered 4xx other than 404/408/
 * 429) is an incident at once; the rest (9007 not running, a provider failing after
 * its fallbacks) goes into the job's retries with the engine's back-off. Ad-hoc
 * subprocesses as the agent's tools are not supported yet (docs/execution.md).
 */
#include "exec_int.h"

#include "../../fm_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AI_AGENT "ai-agent"

bool ex_agent_is(const char *type)
{
    return type && !strcmp(type, AI_AGENT);
}

/* A header's text, or the variable "=path" names (when it is a string). */
static const char *header_text(const ex_ownjob_t *j, const char *key)
{
    const char *h = ex_ownjob_header(j, key);
    if (h && *h == '=')
        return cJSON_GetStringValue(ex_var_path(j->vars, h + 1));
    return h && *h ? h : NULL;
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 100 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static void fail(fm_db_t *db, const ex_ownjob_t *j, const char *job, bool incident, const char *msg)
{
    char why[300];
    ex_job_fail(db, j->tenant, job, msg, incident ? 0 : -1, -1, NULL, why, sizeof(why));
}

bool ex_agent_run(fm_db_t *db, const char *job)
{
    ex_ownjob_t j;
    int loaded = ex_ownjob_load(db, job, ex_agent_is, &j);
    if (loaded <= 0)
        return loaded < 0;
    const char *agent = header_text(&j, "agentId");
    char msg[700];
    if (!name_ok(agent)) {
        snprintf(msg, sizeof(msg), "ai-agent task '%.100s': header agentId '%.100s' is not an agent id", j.element,
                 agent ? agent : "");
        fail(db, &j, job, true, msg);
        ex_ownjob_clear(&j);
        return true;
    }
    cJSON *body = cJSON_CreateObject();
    const char *prompt = header_text(&j, "prompt");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(j.vars, "input");
    if (prompt)
        cJSON_AddStringToObject(body, "input", prompt);     /* rendered by 9007 over `variables` */
    else if (cJSON_IsString(input))
        cJSON_AddStringToObject(body, "input", input->valuestring);
    else {
        char *all = cJSON_PrintUnformatted(j.vars);
        cJSON_AddStringToObject(body, "input", all ? all : "{}");
        cJSON_free(all);
    }
    cJSON_AddItemToObject(body, "variables", cJSON_Duplicate(j.vars, true));
    const char *tt = header_text(&j, "taskType"), *tier = header_text(&j, "costTier");
    if (tt)
        cJSON_AddStringToObject(body, "taskType", tt);
    if (tier)
        cJSON_AddStringToObject(body, "costTier", tier);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    char path[160];
    snprintf(path, sizeof(path), "/agents/%s/invoke", agent);
    int status = 0;
    char *out = NULL;
    if (text)
        fm_call_system(j.tenant, FM_POST, path, text, &status, &out);
    cJSON_free(text);
    cJSON *ans = out ? cJSON_Parse(out) : NULL;
    free(out);
    if (status == 200 && ans) {
        const char *rv = header_text(&j, "resultVariable");
        const char *fmt = header_text(&j, "outputFormat");
        cJSON *r = cJSON_CreateObject();
        static const char *const keep[] = { "output", "model", "provider", "usage", "toolCalls", "cached" };
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
            cJSON *v = cJSON_DetachItemFromObject(ans, keep[i]);
            if (v)
                cJSON_AddItemToObject(r, keep[i], v);
        }
        if (fmt && !strcmp(fmt, "json")) {
            const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(r, "output"));
            cJSON *parsed = o ? cJSON_Parse(o) : NULL;
            if (!parsed) {
                cJSON_Delete(r);
                cJSON_Delete(ans);
                snprintf(msg, sizeof(msg), "ai-agent task '%.100s': the output of agent '%s' is not JSON "
                         "(outputFormat json)", j.element, agent);
                fail(db, &j, job, false, msg);
                ex_ownjob_clear(&j);
                return true;
            }
            cJSON_ReplaceItemInObject(r, "output", parsed);
        }
        cJSON *res = cJSON_CreateObject();
        cJSON_AddItemToObject(res, rv && name_ok(rv) ? rv : "agent", r);
        char why[300];
        ex_job_complete(db, j.tenant, job, res, why, sizeof(why));
        cJSON_Delete(res);
    } else {
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "detail"));
        snprintf(msg, sizeof(msg), "ai-agent task '%.100s': POST /agents/%s/invoke answered %d: %.400s", j.element,
                 agent, status, detail ? detail : "no answer");
        fail(db, &j, job, ex_ownjob_refused(status), msg);
    }
    cJSON_Delete(ans);
    ex_ownjob_clear(&j);
    return true;
}
