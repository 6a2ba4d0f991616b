/*
 * mcp_prompts.c — MCP prompts (explain an instance's history, review a BPMN model, draft
 * a DMN table from a description) and completion/complete for their arguments and the
 * resource templates' ids. A prompt that shows platform data embeds it as a resource
 * read through the route with the caller's token (mcp_resources_read), so it sees
 * exactly what the caller may see.
 */
#include "mcp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mcp_prompt {
    const char *name, *title, *description;
    const char *arg, *arg_description;  /* the one required argument */
    const char *uri_fmt;                /* the resource embedded, %s = the argument; NULL none */
    const char *text_fmt;               /* the user message, %s = the argument */
} mcp_prompt_t;

static const mcp_prompt_t prompts[] = {
    { "explain_execution", "Explain a process instance",
      "Explains, step by step, what happened in a process instance and why it is in its state.",
      "executionId", "exe_… id of the instance", "flowmaster://executions/%s/history",
      "Explain in plain language what happened in FlowMaster process instance %s, using its history "
      "below: which path it took, where it waits or failed and why, and what a person could do next." },
    { "review_process", "Review a BPMN model",
      "Reviews a process model for errors, unclear naming and missing paths.",
      "processId", "proc_… id of the process", "flowmaster://processes/%s",
      "Review the BPMN model of FlowMaster process %s below: point out modelling errors, gateways "
      "without default flows, unnamed elements, missing error handling and unclear task names, and "
      "suggest concrete fixes." },
    { "draft_dmn_table", "Draft a DMN decision table",
      "Drafts a DMN 1.3 decision table from a description of the decision.",
      "description", "what the decision decides, from which inputs", NULL,
      "Draft a DMN 1.3 decision table (XML, with a hit policy, typed inputs and outputs, FEEL unary "
      "tests) for this decision, ready to import into FlowMaster's rules service: %s" },
};
#define NPROMPTS (sizeof(prompts) / sizeof(prompts[0]))

cJSON *mcp_prompts_list(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < NPROMPTS; i++) {
        const mcp_prompt_t *p = &prompts[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "title", p->title);
        cJSON_AddStringToObject(o, "description", p->description);
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "name", p->arg);
        cJSON_AddStringToObject(a, "description", p->arg_description);
        cJSON_AddBoolToObject(a, "required", 1);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "arguments"), a);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

cJSON *mcp_prompts_get(mcp_ctx_t *c, const char *name, const cJSON *args, cJSON **err, const cJSON *id)
{
    const mcp_prompt_t *p = NULL;
    for (size_t i = 0; i < NPROMPTS && !p; i++)
        if (!strcmp(prompts[i].name, name))
            p = &prompts[i];
    char text[400];
    if (!p) {
        snprintf(text, sizeof(text), "invalid params: there is no prompt named '%.100s' (see prompts/list)", name);
        *err = mcp_rpc_error(id, RPC_INVALID_PARAMS, text, "params.name");
        return NULL;
    }
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, p->arg));
    if (!v || !*v || strlen(v) > 4000) {
        char field[80];
        snprintf(field, sizeof(field), "params.arguments.%s", p->arg);
        snprintf(text, sizeof(text), "invalid params: %s is required (a string of at most 4000 characters)", field);
        *err = mcp_rpc_error(id, RPC_INVALID_PARAMS, text, field);
        return NULL;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "description", p->description);
    cJSON *msgs = cJSON_AddArrayToObject(res, "messages");
    size_t tl = strlen(p->text_fmt) + strlen(v) + 1;
    char *t = malloc(tl);
    if (t)
        snprintf(t, tl, p->text_fmt, v);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON *ct = cJSON_AddObjectToObject(m, "content");
    cJSON_AddStringToObject(ct, "type", "text");
    cJSON_AddStringToObject(ct, "text", t ? t : "");
    free(t);
    cJSON_AddItemToArray(msgs, m);
    if (p->uri_fmt) {
        char uri[300];
        snprintf(uri, sizeof(uri), p->uri_fmt, v);
        cJSON *read = mcp_resources_read(c, uri, err, id);
        if (!read) {
            cJSON_Delete(res);
            return NULL;
        }
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        ct = cJSON_AddObjectToObject(m, "content");
        cJSON_AddStringToObject(ct, "type", "resource");
        cJSON_AddItemToObject(ct, "resource", cJSON_DetachItemFromArray(cJSON_GetObjectItem(read, "contents"), 0));
        cJSON_Delete(read);
        cJSON_AddItemToArray(msgs, m);
    }
    return res;
}

/* Ids of the caller's processes / instances / rule sets / tasks starting with `prefix`. */
cJSON *mcp_complete(mcp_ctx_t *c, const char *arg, const char *prefix)
{
    const char *route = !strcmp(arg, "processId") ? "/processes?limit=100"
                      : !strcmp(arg, "executionId") ? "/executions?limit=100"
                      : !strcmp(arg, "ruleSetId") ? "/rules?limit=100"
                      : !strcmp(arg, "taskId") ? "/tasks?limit=100" : NULL;
    cJSON *res = cJSON_CreateObject();
    cJSON *comp = cJSON_AddObjectToObject(res, "completion");
    cJSON *values = cJSON_AddArrayToObject(comp, "values");
    int n = 0;
    bool more = false;
    int status = 0;
    char *out = NULL;
    if (route && mcp_route_call(c, FM_GET, route, NULL, &status, &out) == FM_OK && status == 200) {
        cJSON *page = cJSON_Parse(out);
        const cJSON *it;
        size_t pl = strlen(prefix);
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "items")) {
            const char *iid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
            if (iid && !strncmp(iid, prefix, pl)) {
                cJSON_AddItemToArray(values, cJSON_CreateString(iid));
                n++;
            }
        }
        more = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(page, "nextCursor")) != NULL;
        cJSON_Delete(page);
    }
    free(out);
    cJSON_AddNumberToObject(comp, "total", n);
    cJSON_AddBoolToObject(comp, "hasMore", more);
    return res;
}
