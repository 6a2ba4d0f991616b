/*
 * mcp_resources.c — MCP resources: a process's BPMN XML, an instance and its history, a
 * rule set and a task's form, each read through the owning module's public route with the caller's token
 * (so another tenant's ids are simply not found). resources/list pages over the tenant's
 * processes with the Process Design cursor.
 */
#include "mcp_int.h"

#include "../../fm_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mcp_template {
    const char *prefix, *suffix;    /* uri = prefix + id + suffix */
    const char *route_fmt;          /* the route, %s = id */
    const char *name, *title, *mime, *description;
    const char *param;              /* the template's variable */
    const char *field;              /* only this member of the route's JSON answer, or NULL */
} mcp_template_t;

static const mcp_template_t templates[] = {
    { "flowmaster://processes/", "", "/processes/%s/bpmn", "process-bpmn", "Process definition (BPMN XML)",
      "application/xml", "The draft of a process as BPMN 2.0 XML", "processId", NULL },
    { "flowmaster://executions/", "/history", "/executions/%s/history?limit=500", "execution-history",
      "Instance history", "application/json", "What happened in a process instance, oldest first (first 500 entries)",
      "executionId", NULL },
    { "flowmaster://executions/", "", "/executions/%s", "execution", "Process instance", "application/json",
      "A process instance: state, variables, active elements, incidents", "executionId", NULL },
    { "flowmaster://rules/", "", "/rules/%s", "rule-set", "Rule set (DMN)", "application/json",
      "A DMN rule set with its decisions", "ruleSetId", NULL },
    { "flowmaster://tasks/", "/form", "/tasks/%s", "task-form", "Task form", "application/schema+json",
      "The form of a human task (JSON Schema or a Camunda form-js schema)", "taskId", "form" },
};
#define NTEMPLATES (sizeof(templates) / sizeof(templates[0]))

cJSON *mcp_resource_templates(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < NTEMPLATES; i++) {
        const mcp_template_t *t = &templates[i];
        char uri[160];
        snprintf(uri, sizeof(uri), "%s{%s}%s", t->prefix, t->param, t->suffix);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "uriTemplate", uri);
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "title", t->title);
        cJSON_AddStringToObject(o, "description", t->description);
        cJSON_AddStringToObject(o, "mimeType", t->mime);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static bool id_ok(const char *s, size_t n)
{
    if (n == 0 || n > 100)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]))
            return false;
    return true;
}

cJSON *mcp_resources_list(mcp_ctx_t *c, const char *cursor, cJSON **err, const cJSON *id)
{
    if (strlen(cursor) > 256) {
        *err = mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params.cursor is not a cursor of this list",
                             "params.cursor");
        return NULL;
    }
    /* the route judges the cursor: a 422 from it is an invalid-params error */
    fm_buf_t path = FM_BUF_INIT;
    fm_buf_addf(&path, "/processes?limit=100%s", *cursor ? "&cursor=" : "");
    mcp_add_encoded(&path, cursor);
    int status = 0;
    char *out = NULL;
    int rc = path.oom ? FM_ENOMEM : mcp_route_call(c, FM_GET, path.data, NULL, &status, &out);
    fm_buf_release(&path);
    if (rc != FM_OK || status != 200) {
        char line[600];
        mcp_problem_line(status, out, line, sizeof(line));
        free(out);
        *err = mcp_rpc_error(id, status == 422 ? RPC_INVALID_PARAMS : RPC_INTERNAL_ERROR, line,
                             status == 422 ? "params.cursor" : NULL);
        return NULL;
    }
    cJSON *page = cJSON_Parse(out);
    free(out);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "resources");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(page, "items")) {
        const char *pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "id"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
        if (!pid)
            continue;
        char uri[200];
        snprintf(uri, sizeof(uri), "flowmaster://processes/%s", pid);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "uri", uri);
        cJSON_AddStringToObject(o, "name", name ? name : pid);
        cJSON_AddStringToObject(o, "description", "Process definition (BPMN XML of the draft)");
        cJSON_AddStringToObject(o, "mimeType", "application/xml");
        cJSON_AddItemToArray(arr, o);
    }
    const char *next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(page, "nextCursor"));
    if (next && *next)
        cJSON_AddStringToObject(res, "nextCursor", next);
    cJSON_Delete(page);
    return res;
}

cJSON *mcp_resources_read(mcp_ctx_t *c, const char *uri, cJSON **err, const cJSON *id)
{
    const mcp_template_t *t = NULL;
    const char *rid = NULL;
    size_t n = 0;
    for (size_t i = 0; i < NTEMPLATES && !t; i++) {
        size_t pl = strlen(templates[i].prefix), sl = strlen(templates[i].suffix), ul = strlen(uri);
        if (ul > pl + sl && !strncmp(uri, templates[i].prefix, pl) && !strcmp(uri + ul - sl, templates[i].suffix) &&
            id_ok(uri + pl, ul - pl - sl)) {
            t = &templates[i];
            rid = uri + pl;
            n = ul - pl - sl;
        }
    }
    char text[300];
    if (!t) {
        snprintf(text, sizeof(text), "resource not found: '%.200s' is not a flowmaster:// URI of "
                 "resources/templates/list", uri);
        *err = mcp_rpc_error(id, RPC_RESOURCE_NOT_FOUND, text, "params.uri");
        return NULL;
    }
    char idbuf[128], path[300];
    snprintf(idbuf, sizeof(idbuf), "%.*s", (int)n, rid);
    snprintf(path, sizeof(path), t->route_fmt, idbuf);
    int status;
    char *out = NULL;
    if (mcp_route_call(c, FM_GET, path, NULL, &status, &out) != FM_OK || status != 200) {
        char line[600];
        mcp_problem_line(status, out, line, sizeof(line));
        free(out);
        *err = mcp_rpc_error(id, status == 404 ? RPC_RESOURCE_NOT_FOUND : RPC_INTERNAL_ERROR, line, "params.uri");
        return NULL;
    }
    char *part = NULL;
    if (t->field) {     /* one member of the answer (a task's form: null when it has none) */
        cJSON *j = cJSON_Parse(out ? out : "");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, t->field);
        part = cJSON_PrintUnformatted(f ? f : cJSON_GetObjectItemCaseSensitive(j, "no such member"));
        cJSON_Delete(j);
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "uri", uri);
    cJSON_AddStringToObject(o, "mimeType", t->mime);
    cJSON_AddStringToObject(o, "text", part ? part : t->field ? "null" : out ? out : "");
    cJSON_free(part);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(res, "contents"), o);
    free(out);
    return res;
}
