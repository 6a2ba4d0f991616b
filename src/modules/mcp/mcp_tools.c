/*
 * mcp_tools.c — the MCP tools: each is one public route of another module (processes on
 * 9003, executions and messages on 9005, tasks on 9006, rules on 8018) called with the
 * client's token through fm_call_h. The table says how a tool's arguments become the
 * route's path, query and body; the answer becomes structuredContent (plus the same JSON
 * as text), a problem answer becomes a result with isError and the problem's detail.
 * A tool whose module is not running in this process is not listed.
 */
#include "mcp_int.h"

#include "../../fm_buf.h"
#include "../../fm_log.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RO = 1, DESTRUCTIVE = 2, IDEMPOTENT = 4 };

typedef struct mcp_tool {
    const char *name, *title, *module, *description;
    fm_method_t method;
    const char *path;       /* "{arg}" is that string argument, URL-encoded */
    const char *query;      /* arguments sent as query parameters: ",a,b," */
    const char *body;       /* NULL none; "*" the other arguments as a JSON object */
    const char *props;      /* the inputSchema's properties */
    const char *required;   /* ",a,b," */
    unsigned hints;
    const char *text_field; /* a non-JSON answer goes into structuredContent.<this> */
    /* a tool that is more than one route call (then method/path/query/body are unused) */
    cJSON *(*fn)(mcp_ctx_t *c, const cJSON *args);
} mcp_tool_t;

static cJSON *wait_for_execution(mcp_ctx_t *c, const cJSON *args);
static cJSON *render_process(mcp_ctx_t *c, const cJSON *args);

#define PAGE_PROPS "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":500,\"description\":\"page size\"}," \
                   "\"cursor\":{\"type\":\"string\",\"description\":\"nextCursor of the previous page\"}"
#define STR(d) "{\"type\":\"string\",\"description\":\"" d "\"}"

static const mcp_tool_t tools[] = {
    { "list_processes", "List processes", "design",
      "Process definitions of the tenant (newest first), paged: {items, nextCursor, total}.",
      FM_GET, "/processes", ",q,status,tag,limit,cursor,", NULL,
      "{\"q\":" STR("name contains (case-insensitive)") ",\"status\":{\"type\":\"string\",\"enum\":[\"draft\",\"published\",\"archived\"]},"
      "\"tag\":" STR("only processes with this tag") "," PAGE_PROPS "}", "", RO | IDEMPOTENT, NULL, NULL },
    { "get_process", "Get a process", "design",
      "One process definition: its model (JSON form), problems, publishable, summary.",
      FM_GET, "/processes/{processId}", "", NULL,
      "{\"processId\":" STR("proc_… id") "}", ",processId,", RO | IDEMPOTENT, NULL, NULL },
    { "get_process_bpmn", "Get a process as BPMN XML", "design",
      "The draft (or a published version) as BPMN 2.0 XML, in structuredContent.xml.",
      FM_GET, "/processes/{processId}/bpmn", ",version,", NULL,
      "{\"processId\":" STR("proc_… id") ",\"version\":{\"type\":\"integer\",\"minimum\":1}}", ",processId,",
      RO | IDEMPOTENT, "xml", NULL },
    { "create_process", "Create a process from BPMN XML", "design",
      "Stores BPMN 2.0 XML as a new process draft. The answer lists every problem as warnings[] and "
      "says whether it is publishable.",
      FM_POST, "/processes", "", "*",
      "{\"name\":" STR("display name") ",\"xml\":" STR("BPMN 2.0 XML (<definitions …>)")
      ",\"description\":{\"type\":\"string\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}",
      ",xml,", 0, NULL, NULL },
    { "validate_process", "Validate a process", "design",
      "The validation of a stored draft: problems (severity error blocks publishing) and publishable.",
      FM_GET, "/processes/{processId}", "", NULL,
      "{\"processId\":" STR("proc_… id") "}", ",processId,", RO | IDEMPOTENT, NULL, NULL },
    { "publish_process", "Publish a process", "design",
      "Publishes the draft as the next version, so it can be started.",
      FM_POST, "/processes/{processId}/publish", "", "*",
      "{\"processId\":" STR("proc_… id") ",\"note\":" STR("release note") "}", ",processId,", 0, NULL, NULL },
    { "render_process_svg", "Draw a process as SVG", "views",
      "The process diagram (the draft, or a published version) as an SVG image (image content, "
      "image/svg+xml); highlight marks elements with counts (\"id:count,id:count\", an id alone counts 1).",
      FM_GET, "/views/{processId}.svg", ",version,highlight,", NULL,
      "{\"processId\":" STR("proc_… id") ",\"version\":{\"type\":\"integer\",\"minimum\":1},"
      "\"highlight\":" STR("id:count,id:count,…") "}", ",processId,", RO | IDEMPOTENT, NULL, render_process },
    { "start_execution", "Start a process instance", "execution",
      "Starts an instance of a published process; answers the instance as it stands at its first wait states.",
      FM_POST, "/executions", "", "*",
      "{\"processId\":" STR("proc_… id or BPMN process id") ",\"version\":{\"type\":\"integer\",\"minimum\":1},"
      "\"businessKey\":{\"type\":\"string\"},\"variables\":{\"type\":\"object\"}}", ",processId,", 0, NULL, NULL },
    { "get_execution", "Get a process instance", "execution",
      "One instance: state, variables, tokens, incidents.",
      FM_GET, "/executions/{executionId}", "", NULL,
      "{\"executionId\":" STR("exe_… id") "}", ",executionId,", RO | IDEMPOTENT, NULL, NULL },
    { "list_executions", "List process instances", "execution",
      "Instances of the tenant, newest first, paged: {items, nextCursor, total}.",
      FM_GET, "/executions", ",processId,state,businessKey,limit,cursor,", NULL,
      "{\"processId\":{\"type\":\"string\"},\"state\":" STR("running, completed, cancelled, failed, paused")
      ",\"businessKey\":{\"type\":\"string\"}," PAGE_PROPS "}", "", RO | IDEMPOTENT, NULL, NULL },
    { "cancel_execution", "Cancel a process instance", "execution",
      "Cancels a running instance and its open tasks.",
      FM_PUT, "/executions/{executionId}/cancel", "", NULL,
      "{\"executionId\":" STR("exe_… id") "}", ",executionId,", DESTRUCTIVE | IDEMPOTENT, NULL, NULL },
    { "pause_execution", "Pause a process instance", "execution", "Pauses a running instance.",
      FM_PUT, "/executions/{executionId}/pause", "", NULL,
      "{\"executionId\":" STR("exe_… id") "}", ",executionId,", IDEMPOTENT, NULL, NULL },
    { "resume_execution", "Resume a process instance", "execution", "Resumes a paused instance.",
      FM_PUT, "/executions/{executionId}/resume", "", NULL,
      "{\"executionId\":" STR("exe_… id") "}", ",executionId,", IDEMPOTENT, NULL, NULL },
    { "get_execution_history", "Get an instance's history", "execution",
      "What happened in an instance, oldest first, paged: {items: [{seq, at, type, elementId, …}], nextCursor, total}.",
      FM_GET, "/executions/{executionId}/history", ",limit,cursor,", NULL,
      "{\"executionId\":" STR("exe_… id") "," PAGE_PROPS "}", ",executionId,", RO | IDEMPOTENT, NULL, NULL },
    { "wait_for_execution", "Wait for a process instance", "execution",
      "Waits (up to timeoutSeconds, at most 300) until the instance is in `state`, or has ended when no "
      "state is given; answers the instance then, or isError when the time ran out. Reports progress "
      "(notifications/progress) when the call carries a progress token; notifications/cancelled stops it.",
      FM_GET, "/executions/{executionId}", "", NULL,
      "{\"executionId\":" STR("exe_… id") ",\"state\":{\"type\":\"string\",\"enum\":[\"active\",\"paused\","
      "\"completed\",\"cancelled\",\"failed\"]},\"timeoutSeconds\":{\"type\":\"integer\",\"minimum\":1,"
      "\"maximum\":300}}", ",executionId,", RO | IDEMPOTENT, NULL, wait_for_execution },
    { "set_execution_variables", "Set instance variables", "execution",
      "Merges variables into the root scope of a running instance.",
      FM_PUT, "/executions/{executionId}/variables", "", "*",
      "{\"executionId\":" STR("exe_… id") ",\"variables\":{\"type\":\"object\"}}", ",executionId,variables,",
      IDEMPOTENT, NULL, NULL },
    { "send_message", "Send a message", "execution",
      "Delivers a BPMN message to the instance waiting for it (by name and correlation key) and starts "
      "processes with that message start.",
      FM_POST, "/messages", "", "*",
      "{\"name\":" STR("message name") ",\"correlationKey\":{\"type\":\"string\"},\"variables\":{\"type\":\"object\"}}",
      ",name,", 0, NULL, NULL },
    { "list_tasks", "Task inbox", "tasks",
      "Human tasks visible to you, oldest first, paged. assignee/candidateUser/candidateGroup accept \"me\".",
      FM_GET, "/tasks", ",assignee,candidateUser,candidateGroup,status,limit,cursor,", NULL,
      "{\"assignee\":{\"type\":\"string\"},\"candidateUser\":{\"type\":\"string\"},\"candidateGroup\":{\"type\":\"string\"},"
      "\"status\":" STR("created, assigned, claimed, completed, cancelled") "," PAGE_PROPS "}", "", RO | IDEMPOTENT, NULL, NULL },
    { "get_task", "Get a task", "tasks", "One human task with its form and variables.",
      FM_GET, "/tasks/{taskId}", "", NULL, "{\"taskId\":" STR("task id") "}", ",taskId,", RO | IDEMPOTENT, NULL, NULL },
    { "claim_task", "Claim a task", "tasks", "You become the assignee of the task.",
      FM_PUT, "/tasks/{taskId}/claim", "", NULL, "{\"taskId\":" STR("task id") "}", ",taskId,", IDEMPOTENT, NULL, NULL },
    { "respond_task", "Complete a task", "tasks",
      "Answers a task with a response validated against its form; the process moves on.",
      FM_PUT, "/tasks/{taskId}/respond", "", "*",
      "{\"taskId\":" STR("task id") ",\"response\":{\"type\":\"object\"}}", ",taskId,response,", 0, NULL, NULL },
    { "publish_event", "Publish an event", "eventbus",
      "Publishes one CloudEvent to the tenant's durable event log (the Event Bus): answered with the "
      "stored event and its offset. The same id and source again is the same event.",
      FM_POST, "/events", "", "*",
      "{\"type\":" STR("dotted event type, e.g. order.created") ",\"source\":" STR("who publishes, e.g. /agents/me")
      ",\"subject\":{\"type\":\"string\"},\"id\":" STR("optional event id (idempotency)")
      ",\"time\":" STR("RFC 3339; now when absent") ",\"data\":{\"description\":\"any JSON value\"}}",
      ",type,source,", IDEMPOTENT, NULL, NULL },
    { "replay_events", "Replay events", "eventbus",
      "The tenant's event log from an offset (inclusive) or a time, filtered by type pattern and subject: "
      "{items, next, more, lastOffset}.",
      FM_GET, "/events/replay", ",offset,from,types,subject,limit,", NULL,
      "{\"offset\":{\"type\":\"integer\",\"minimum\":1},\"from\":" STR("RFC 3339 time")
      ",\"types\":" STR("type pattern: order.*, order.>") ",\"subject\":{\"type\":\"string\"},"
      "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000}}", "", RO | IDEMPOTENT, NULL, NULL },
    { "list_schedules", "List schedules", "scheduling",
      "Schedules of the tenant (and the timer starts of published processes, read-only), by name, paged.",
      FM_GET, "/schedules", ",enabled,actionKind,limit,cursor,", NULL,
      "{\"enabled\":{\"type\":\"boolean\"},\"actionKind\":{\"type\":\"string\",\"enum\":[\"process\",\"event\","
      "\"webhook\"]}," PAGE_PROPS "}", "", RO | IDEMPOTENT, NULL, NULL },
    { "create_schedule", "Create a schedule", "scheduling",
      "A schedule that starts a process, publishes an event or calls a webhook: exactly one of cron, "
      "interval (ISO 8601, PT15M) or at (RFC 3339). action: {kind: process, processId, variables} | "
      "{kind: event, type, data} | {kind: webhook, url, method, body}.",
      FM_POST, "/schedules", "", "*",
      "{\"name\":{\"type\":\"string\"},\"cron\":" STR("5-field cron") ",\"interval\":" STR("ISO 8601 duration")
      ",\"at\":" STR("RFC 3339 time") ",\"timezone\":" STR("IANA name, default UTC")
      ",\"action\":{\"type\":\"object\"},\"misfirePolicy\":{\"type\":\"string\"},"
      "\"enabled\":{\"type\":\"boolean\"},\"startDate\":{\"type\":\"string\"},\"endDate\":{\"type\":\"string\"}}",
      ",name,action,", 0, NULL, NULL },
    { "trigger_schedule", "Run a schedule now", "scheduling",
      "Runs the schedule's action now, recorded as a manual run.",
      FM_POST, "/schedules/{scheduleId}/execute", "", NULL,
      "{\"scheduleId\":" STR("schedule id") "}", ",scheduleId,", 0, NULL, NULL },
    { "process_metrics", "Process metrics", "analytics",
      "Instances by state, durations (p50/p90/p99), incident rate, SLA, a series per period, per version "
      "and per element.",
      FM_GET, "/analytics/processes/{processId}", ",period,", NULL,
      "{\"processId\":" STR("proc_… id") ",\"period\":{\"type\":\"string\",\"enum\":[\"hour\",\"day\",\"week\"]}}",
      ",processId,", RO | IDEMPOTENT, NULL, NULL },
    { "process_bottlenecks", "Process bottlenecks", "analytics",
      "Elements ranked by their share of the completed instances' cycle time.",
      FM_GET, "/analytics/processes/{processId}/bottlenecks", ",limit,", NULL,
      "{\"processId\":" STR("proc_… id") ",\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}}",
      ",processId,", RO | IDEMPOTENT, NULL, NULL },
    { "list_rules", "List rule sets", "rules", "DMN rule sets of the tenant, paged.",
      FM_GET, "/rules", ",limit,cursor,", NULL, "{" PAGE_PROPS "}", "", RO | IDEMPOTENT, NULL, NULL },
    { "evaluate_rules", "Evaluate a rule set", "rules",
      "Evaluates a DMN rule set (one decision or all) with inputs; answers outputs and the matched rules.",
      FM_POST, "/rules/{ruleSetId}/evaluate", "", "*",
      "{\"ruleSetId\":" STR("rul_… id") ",\"decision\":" STR("decision name or DMN id")
      ",\"version\":{\"type\":\"integer\",\"minimum\":1},\"inputs\":{\"type\":\"object\"}}", ",ruleSetId,",
      RO | IDEMPOTENT, NULL, NULL },
    { "evaluate_feel", "Evaluate a FEEL expression", "rules",
      "Evaluates one FEEL expression in a context: {result, type, error}.",
      FM_POST, "/rules/expression", "", "*",
      "{\"expression\":" STR("FEEL expression") ",\"context\":{\"type\":\"object\"}}", ",expression,",
      RO | IDEMPOTENT, NULL, NULL },
};
#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if (p > list && p[-1] == ',' && p[n] == ',')
            return true;
    return false;
}

static bool available(const mcp_tool_t *t)
{
    fm_mod_t *m = fm_mods_find(t->module);
    return m && fm_mod_ready(m);
}

static cJSON *input_schema(const mcp_tool_t *t)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "object");
    cJSON_AddItemToObject(s, "properties", cJSON_Parse(t->props));
    cJSON *req = cJSON_AddArrayToObject(s, "required");
    char name[64];
    for (const char *p = t->required; *p;) {
        const char *e = strchr(p + 1, ',');
        if (!e)
            break;
        if (e - p > 1) {
            snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
            cJSON_AddItemToArray(req, cJSON_CreateString(name));
        }
        p = e;
    }
    cJSON_AddBoolToObject(s, "additionalProperties", 0);
    return s;
}

cJSON *mcp_tools_list(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < NTOOLS; i++) {
        const mcp_tool_t *t = &tools[i];
        if (!available(t))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "title", t->title);
        cJSON_AddStringToObject(o, "description", t->description);
        cJSON_AddItemToObject(o, "inputSchema", input_schema(t));
        cJSON *os = cJSON_AddObjectToObject(o, "outputSchema");
        cJSON_AddStringToObject(os, "type", "object");
        cJSON *a = cJSON_AddObjectToObject(o, "annotations");
        cJSON_AddStringToObject(a, "title", t->title);
        cJSON_AddBoolToObject(a, "readOnlyHint", (t->hints & RO) != 0);
        cJSON_AddBoolToObject(a, "destructiveHint", (t->hints & DESTRUCTIVE) != 0);
        cJSON_AddBoolToObject(a, "idempotentHint", (t->hints & IDEMPOTENT) != 0);
        cJSON_AddBoolToObject(a, "openWorldHint", 0);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *text_result(const char *text, bool is_error)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *c = cJSON_AddArrayToObject(res, "content");
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "type", "text");
    cJSON_AddStringToObject(t, "text", text);
    cJSON_AddItemToArray(c, t);
    if (is_error)
        cJSON_AddBoolToObject(res, "isError", 1);
    return res;
}

static bool type_ok(const cJSON *v, const char *type)
{
    if (!strcmp(type, "string"))
        return cJSON_IsString(v);
    if (!strcmp(type, "integer"))
        /* within ±2^53 first: casting a larger double to an integer is undefined */
        return cJSON_IsNumber(v) && v->valuedouble > -9007199254740992.0 && v->valuedouble < 9007199254740992.0 &&
               v->valuedouble == (double)(long long)v->valuedouble;
    if (!strcmp(type, "object"))
        return cJSON_IsObject(v);
    if (!strcmp(type, "array"))
        return cJSON_IsArray(v);
    if (!strcmp(type, "boolean"))
        return cJSON_IsBool(v);
    return true;
}

/* The arguments against the tool's inputSchema (one level: names, required, types,
 * integer bounds, enums). "" when they fit, else why, naming the argument. */
static void check_args(const mcp_tool_t *t, const cJSON *args, char *why, size_t len)
{
    *why = 0;
    cJSON *props = cJSON_Parse(t->props);
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(props, a->string);
        if (!p) {
            snprintf(why, len, "argument '%.64s' is not an argument of %s (see its inputSchema)", a->string, t->name);
            break;
        }
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));
        if (type && !type_ok(a, type)) {
            snprintf(why, len, "argument '%s' must be %s %s", a->string, *type == 'a' || *type == 'i' || *type == 'o' ? "an" : "a", type);
            break;
        }
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(p, "minimum"), *mx = cJSON_GetObjectItemCaseSensitive(p, "maximum");
        if ((mn && a->valuedouble < mn->valuedouble) || (mx && a->valuedouble > mx->valuedouble)) {
            snprintf(why, len, "argument '%s' must be between %g and %g", a->string, mn ? mn->valuedouble : 0,
                     mx ? mx->valuedouble : 1e15);
            break;
        }
        const cJSON *en = cJSON_GetObjectItemCaseSensitive(p, "enum"), *e;
        bool found = !en;
        cJSON_ArrayForEach(e, en)
            found |= cJSON_IsString(a) && !strcmp(e->valuestring, a->valuestring);
        if (!found) {
            snprintf(why, len, "argument '%s' is not one of the values its inputSchema allows", a->string);
            break;
        }
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, props) {
        if (!*why && in_list(t->required, p->string) && !cJSON_GetObjectItemCaseSensitive(args, p->string))
            snprintf(why, len, "argument '%s' is required", p->string);
    }
    cJSON_Delete(props);
}

void mcp_add_encoded(fm_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            fm_buf_add(b, (const char *)p, 1);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            fm_buf_add(b, e, 3);
        }
    }
}

static void add_value(fm_buf_t *b, const cJSON *v)
{
    if (cJSON_IsString(v))
        mcp_add_encoded(b, v->valuestring);
    else if (cJSON_IsBool(v))
        fm_buf_addf(b, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v))
        fm_buf_addf(b, "%lld", (long long)v->valuedouble);
}

void mcp_problem_line(int status, const char *body, char *out, size_t len)
{
    cJSON *p = body ? cJSON_Parse(body) : NULL;
    const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "title"));
    const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
    snprintf(out, len, "HTTP %d %s: %s", status, title ? title : "error", detail ? detail : (body ? body : ""));
    cJSON_Delete(p);
}

int mcp_route_call(mcp_ctx_t *c, fm_method_t method, const char *path, const char *body, int *status, char **out)
{
    const char *hdrs[] = { "X-Tenant-Id", c->tenant, c->bearer ? "Authorization" : NULL, c->bearer, NULL };
    return fm_call_h(c->caller, method, path, body, hdrs, status, out);
}

/* The tool result of a route's answer: structuredContent, or isError with the problem. */
static cJSON *route_result(const mcp_tool_t *t, int rc, int status, const char *out)
{
    cJSON *res;
    if (rc != FM_OK) {
        res = text_result("the platform could not make the call (out of memory or shutting down)", true);
    } else if (status >= 400) {
        char line[1024];
        mcp_problem_line(status, out, line, sizeof(line));
        res = text_result(line, true);
        if (out && *out) {   /* the whole problem too, for its errors[] */
            cJSON *t2 = cJSON_CreateObject();
            cJSON_AddStringToObject(t2, "type", "text");
            cJSON_AddStringToObject(t2, "text", out);
            cJSON_AddItemToArray(cJSON_GetObjectItem(res, "content"), t2);
        }
    } else {
        cJSON *j = out && *out && !t->text_field ? cJSON_Parse(out) : NULL;
        cJSON *sc;
        if (cJSON_IsObject(j)) {
            sc = j;
        } else {
            sc = cJSON_CreateObject();
            if (j)
                cJSON_AddItemToObject(sc, "result", j);
            else if (t->text_field)
                cJSON_AddStringToObject(sc, t->text_field, out ? out : "");
            else
                cJSON_AddNumberToObject(sc, "status", status);
        }
        if (t->text_field) {
            res = text_result(out ? out : "", false);
        } else {
            char *txt = cJSON_PrintUnformatted(sc);
            res = text_result(txt ? txt : "{}", false);
            cJSON_free(txt);
        }
        cJSON_AddItemToObject(res, "structuredContent", sc);
    }
    return res;
}

cJSON *mcp_tools_call(mcp_ctx_t *c, const char *name, const cJSON *args)
{
    const mcp_tool_t *t = NULL;
    for (size_t i = 0; i < NTOOLS && !t; i++)
        if (!strcmp(tools[i].name, name) && available(&tools[i]))
            t = &tools[i];
    if (!t)
        return NULL;
    cJSON *none = NULL;
    if (!args)
        args = none = cJSON_CreateObject();
    char why[200];
    check_args(t, args, why, sizeof(why));
    if (*why) {
        cJSON_Delete(none);
        return text_result(why, true);
    }
    if (t->fn) {
        cJSON *res = t->fn(c, args);
        cJSON_Delete(none);
        return res;
    }
    /* path, query, body */
    fm_buf_t path = FM_BUF_INIT;
    const char *p = t->path;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            fm_buf_addf(&path, "%s", p);
            break;
        }
        fm_buf_add(&path, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        char arg[64];
        snprintf(arg, sizeof(arg), "%.*s", (int)(close - open - 1), open + 1);
        mcp_add_encoded(&path, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, arg)));
        p = close + 1;
    }
    cJSON *body = t->body ? cJSON_CreateObject() : NULL;
    char sep = '?';
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        char brace[72];
        snprintf(brace, sizeof(brace), "{%s}", a->string);
        if (in_list(t->query, a->string)) {
            fm_buf_addf(&path, "%c%s=", sep, a->string);
            add_value(&path, a);
            sep = '&';
        } else if (body && !strstr(t->path, brace)) {
            cJSON_AddItemToObject(body, a->string, cJSON_Duplicate(a, 1));
        }
    }
    cJSON_Delete(none);
    char *body_text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL;
    int rc = path.oom ? FM_ENOMEM : mcp_route_call(c, t->method, path.data, body_text, &status, &out);
    fm_buf_release(&path);
    free(body_text);
    if (rc == FM_OK)
        mcp_log(c, status >= 400 ? 3 : 0, "%s: %s %s answered HTTP %d", t->name, fm_method_name(t->method),
                t->path, status);
    cJSON *res = route_result(t, rc, status, out);
    free(out);
    return res;
}

/* ---- tools that are more than one call ---- */

#define WAITS_MAX 16            /* wait_for_execution calls at once (each holds a worker) */
static atomic_int waits;

static cJSON *wait_for_execution(mcp_ctx_t *c, const cJSON *args)
{
    const mcp_tool_t *t = NULL;
    for (size_t i = 0; i < NTOOLS && !t; i++)
        if (tools[i].fn == wait_for_execution)
            t = &tools[i];
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "state"));
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(args, "timeoutSeconds");
    double limit = cJSON_IsNumber(to) ? to->valuedouble : 30;
    if (atomic_fetch_add(&waits, 1) >= WAITS_MAX) {
        atomic_fetch_sub(&waits, 1);
        return text_result("16 wait_for_execution calls are running, the most this server allows at once: "
                           "try again shortly, or poll get_execution", true);
    }
    fm_buf_t path = FM_BUF_INIT;
    fm_buf_adds(&path, "/executions/");
    mcp_add_encoded(&path, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "executionId")));
    double t0 = fm_time_mono();
    cJSON *res = NULL;
    char last[32] = "";
    for (int round = 0; !res; round++) {
        int status = 0;
        char *out = NULL;
        int rc = path.oom ? FM_ENOMEM : mcp_route_call(c, FM_GET, path.data, NULL, &status, &out);
        cJSON *j = rc == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
        const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "state"));
        double spent = fm_time_mono() - t0;
        if (!state) {
            res = route_result(t, rc, status, out);
        } else if (want ? !strcmp(state, want) : strcmp(state, "active") && strcmp(state, "paused")) {
            res = route_result(t, rc, status, out);
        } else if (spent >= limit) {
            char text[200];
            snprintf(text, sizeof(text), "the instance is still %s after %.0f s (timeoutSeconds)", state, limit);
            res = text_result(text, true);
        } else {
            if (strcmp(state, last) || round % 5 == 0) {
                char msg[96];
                snprintf(msg, sizeof(msg), "instance %s after %.1f s", state, spent);
                mcp_progress(c, spent, limit, msg);
                snprintf(last, sizeof(last), "%s", state);
            }
            for (int i = 0; i < 4 && !mcp_cancelled(c); i++) {   /* 200 ms, watching the cancel flag */
                struct timespec ts = { 0, 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
            }
            if (mcp_cancelled(c))
                res = text_result("cancelled", true);
        }
        cJSON_Delete(j);
        free(out);
    }
    fm_buf_release(&path);
    atomic_fetch_sub(&waits, 1);
    return res;
}

/* render_process_svg: the route's SVG as MCP image content (base64), and its size in
 * structuredContent (the drawing itself is the image, not repeated as text). */
static cJSON *render_process(mcp_ctx_t *c, const cJSON *args)
{
    const mcp_tool_t *t = NULL;
    for (size_t i = 0; i < NTOOLS && !t; i++)
        if (tools[i].fn == render_process)
            t = &tools[i];
    fm_buf_t path = FM_BUF_INIT;
    fm_buf_adds(&path, "/views/");
    mcp_add_encoded(&path, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "processId")));
    fm_buf_adds(&path, ".svg");
    char sep = '?';
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        if (strcmp(a->string, "processId")) {
            fm_buf_addf(&path, "%c%s=", sep, a->string);
            add_value(&path, a);
            sep = '&';
        }
    }
    int status = 0;
    char *out = NULL;
    int rc = path.oom ? FM_ENOMEM : mcp_route_call(c, FM_GET, path.data, NULL, &status, &out);
    fm_buf_release(&path);
    mcp_log(c, rc == FM_OK && status < 400 ? 0 : 3, "%s: GET /views/{processId}.svg answered HTTP %d", t->name,
            status);
    if (rc != FM_OK || status >= 400 || !out) {
        cJSON *res = route_result(t, rc, status, out);
        free(out);
        return res;
    }
    size_t n = strlen(out);
    size_t b64len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64len);
    if (!b64) {
        free(out);
        return text_result("out of memory", true);
    }
    sodium_bin2base64(b64, b64len, (const unsigned char *)out, n, sodium_base64_VARIANT_ORIGINAL);
    free(out);
    cJSON *res = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(res, "content");
    cJSON *img = cJSON_CreateObject();
    cJSON_AddStringToObject(img, "type", "image");
    cJSON_AddStringToObject(img, "data", b64);
    cJSON_AddStringToObject(img, "mimeType", "image/svg+xml");
    cJSON_AddItemToArray(content, img);
    free(b64);
    cJSON *sc = cJSON_AddObjectToObject(res, "structuredContent");
    cJSON_AddStringToObject(sc, "mimeType", "image/svg+xml");
    cJSON_AddNumberToObject(sc, "bytes", (double)n);
    return res;
}
