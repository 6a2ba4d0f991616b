/*
 * mcp_rpc.c — the JSON-RPC 2.0 side of the MCP Server, independent of the transport:
 * classifying messages, initialize and version negotiation, ping, logging/setLevel, and
 * dispatching the tools and resources methods to mcp_tools.c and mcp_resources.c. Protocol
 * errors (unknown method, params that do not fit) are JSON-RPC errors whose data names
 * the field; errors of the platform's routes are tool results (mcp_tools.c).
 */
#include "mcp_int.h"

#include "../../fm_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const versions[] = { MCP_LATEST, "2025-06-18", "2025-03-26", NULL };

const char *mcp_version_known(const char *v)
{
    for (size_t i = 0; v && versions[i]; i++)
        if (!strcmp(v, versions[i]))
            return versions[i];
    return NULL;
}

cJSON *mcp_rpc_error(const cJSON *id, int code, const char *message, const char *field)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 0) : cJSON_CreateNull());
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    if (field)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "data"), "field", field);
    return o;
}

cJSON *mcp_rpc_result(const cJSON *id, cJSON *result)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 0));
    cJSON_AddItemToObject(o, "result", result);
    return o;
}

int mcp_rpc_kind(const cJSON *msg, cJSON **err)
{
    *err = NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    bool id_ok = id && (cJSON_IsString(id) || cJSON_IsNumber(id));
    if (!cJSON_IsObject(msg)) {
        *err = mcp_rpc_error(NULL, RPC_INVALID_REQUEST, "a JSON-RPC message must be an object", NULL);
        return 0;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0")) {
        *err = mcp_rpc_error(id_ok ? id : NULL, RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"", "jsonrpc");
        return 0;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "method");
    if (m) {
        if (!cJSON_IsString(m)) {
            *err = mcp_rpc_error(id_ok ? id : NULL, RPC_INVALID_REQUEST, "\"method\" must be a string", "method");
            return 0;
        }
        if (!id)
            return 'n';
        if (!id_ok) {
            *err = mcp_rpc_error(NULL, RPC_INVALID_REQUEST, "\"id\" must be a string or a number", "id");
            return 0;
        }
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(msg, "params");
        if (p && !cJSON_IsObject(p)) {
            *err = mcp_rpc_error(id, RPC_INVALID_PARAMS, "\"params\" must be an object", "params");
            return 0;
        }
        return 'q';
    }
    if (id_ok && (cJSON_GetObjectItemCaseSensitive(msg, "result") || cJSON_GetObjectItemCaseSensitive(msg, "error")))
        return 'r';
    *err = mcp_rpc_error(id_ok ? id : NULL, RPC_INVALID_REQUEST,
                         "not a JSON-RPC request, notification or response (no \"method\")", "method");
    return 0;
}

/* params.<name> of the given cJSON type check (cJSON_IsString…); NULL when absent. On a
 * wrong type *err gets the invalid-params error naming the field. */
static const cJSON *param(const cJSON *msg, const char *name, cJSON_bool (*is)(const cJSON *),
                          const char *want, bool required, cJSON **err)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(msg, "params"), name);
    char field[64], text[160];
    snprintf(field, sizeof(field), "params.%s", name);
    if (!v && required) {
        snprintf(text, sizeof(text), "invalid params: %s is required (%s)", field, want);
        *err = mcp_rpc_error(id, RPC_INVALID_PARAMS, text, field);
    } else if (v && !is(v)) {
        snprintf(text, sizeof(text), "invalid params: %s must be %s", field, want);
        *err = mcp_rpc_error(id, RPC_INVALID_PARAMS, text, field);
        return NULL;
    }
    return v;
}

cJSON *mcp_rpc_initialize(const cJSON *msg, char *version, cJSON **err)
{
    *err = NULL;
    const cJSON *pv = param(msg, "protocolVersion", cJSON_IsString, "a string such as \"" MCP_LATEST "\"", true, err);
    if (*err)
        return NULL;
    param(msg, "capabilities", cJSON_IsObject, "an object", false, err);
    if (!*err)
        param(msg, "clientInfo", cJSON_IsObject, "an object {name, version}", false, err);
    if (*err)
        return NULL;
    /* a revision we do not speak gets our newest; the client decides whether to go on */
    const char *v = mcp_version_known(pv->valuestring);
    snprintf(version, 16, "%s", v ? v : MCP_LATEST);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "protocolVersion", version);
    cJSON *caps = cJSON_AddObjectToObject(res, "capabilities");
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged", 0);
    cJSON *rc = cJSON_AddObjectToObject(caps, "resources");
    cJSON_AddBoolToObject(rc, "listChanged", 0);
    cJSON_AddBoolToObject(rc, "subscribe", 1);
    cJSON_AddObjectToObject(caps, "logging");
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "prompts"), "listChanged", 0);
    cJSON_AddObjectToObject(caps, "completions");
    cJSON *info = cJSON_AddObjectToObject(res, "serverInfo");
    cJSON_AddStringToObject(info, "name", "flowmaster");
    cJSON_AddStringToObject(info, "title", "FlowMaster MCP Server");
    cJSON_AddStringToObject(info, "version", FM_VERSION);
    cJSON_AddStringToObject(res, "instructions",
                            "FlowMaster: BPMN processes (design, publish), their executions, human tasks "
                            "and DMN/FEEL rules. Every tool calls the platform's HTTP API as you, in "
                            "your tenant: what your role may not do over HTTP it may not do here.");
    return res;
}

static cJSON *handle_request(mcp_ctx_t *c, const cJSON *msg, const char *method)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    cJSON *err = NULL;
    if (!strcmp(method, "ping"))
        return mcp_rpc_result(id, cJSON_CreateObject());
    if (!strcmp(method, "initialize"))
        return mcp_rpc_error(id, RPC_INVALID_REQUEST, "this session is initialized already", NULL);
    if (!strcmp(method, "tools/list")) {
        const cJSON *cur = param(msg, "cursor", cJSON_IsString, "a string", false, &err);
        if (err)
            return err;
        if (cur && *cur->valuestring)   /* one page holds every tool: no cursor is ever handed out */
            return mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params.cursor is not a cursor of this list",
                                 "params.cursor");
        cJSON *res = cJSON_CreateObject();
        cJSON_AddItemToObject(res, "tools", mcp_tools_list());
        return mcp_rpc_result(id, res);
    }
    if (!strcmp(method, "tools/call")) {
        const cJSON *name = param(msg, "name", cJSON_IsString, "a string (the tool's name)", true, &err);
        const cJSON *args = err ? NULL : param(msg, "arguments", cJSON_IsObject, "an object", false, &err);
        if (err)
            return err;
        cJSON *res = mcp_tools_call(c, name->valuestring, args);
        if (!res) {
            char text[200];
            snprintf(text, sizeof(text), "invalid params: there is no tool named '%.100s' (see tools/list)",
                     name->valuestring);
            return mcp_rpc_error(id, RPC_INVALID_PARAMS, text, "params.name");
        }
        return mcp_rpc_result(id, res);
    }
    if (!strcmp(method, "logging/setLevel")) {
        const cJSON *lv = param(msg, "level", cJSON_IsString, "a string", true, &err);
        if (err)
            return err;
        for (int i = 0; mcp_log_levels[i]; i++) {
            if (!strcmp(lv->valuestring, mcp_log_levels[i])) {
                if (c->session)
                    mcp_session_set_level(c->session->id, i);
                return mcp_rpc_result(id, cJSON_CreateObject());
            }
        }
        return mcp_rpc_error(id, RPC_INVALID_PARAMS,
                             "invalid params: params.level must be one of debug, info, notice, warning, "
                             "error, critical, alert, emergency", "params.level");
    }
    if (!strcmp(method, "resources/list")) {
        const cJSON *cur = param(msg, "cursor", cJSON_IsString, "a string", false, &err);
        if (err)
            return err;
        cJSON *res = mcp_resources_list(c, cur ? cur->valuestring : "", &err, id);
        return res ? mcp_rpc_result(id, res) : err;
    }
    if (!strcmp(method, "resources/subscribe") || !strcmp(method, "resources/unsubscribe")) {
        const cJSON *uri = param(msg, "uri", cJSON_IsString, "a string (a flowmaster:// URI)", true, &err);
        if (err)
            return err;
        bool on = method[10] == 's';
        int rc = c->session ? mcp_subscribe(c->session->id, c->tenant, uri->valuestring, on) : FM_OK;
        if (rc == FM_EINVAL)
            return mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params.uri is longer than 511 bytes",
                                 "params.uri");
        if (rc != FM_OK)
            return mcp_rpc_error(id, RPC_INVALID_REQUEST, "this session has 64 subscriptions, the most it may "
                                 "keep: unsubscribe from one first", "params.uri");
        return mcp_rpc_result(id, cJSON_CreateObject());
    }
    if (!strcmp(method, "resources/templates/list")) {
        param(msg, "cursor", cJSON_IsString, "a string", false, &err);
        if (err)
            return err;
        cJSON *res = cJSON_CreateObject();
        cJSON_AddItemToObject(res, "resourceTemplates", mcp_resource_templates());
        return mcp_rpc_result(id, res);
    }
    if (!strcmp(method, "resources/read")) {
        const cJSON *uri = param(msg, "uri", cJSON_IsString, "a string (a flowmaster:// URI)", true, &err);
        if (err)
            return err;
        cJSON *res = mcp_resources_read(c, uri->valuestring, &err, id);
        return res ? mcp_rpc_result(id, res) : err;
    }
    if (!strcmp(method, "prompts/list")) {
        const cJSON *cur = param(msg, "cursor", cJSON_IsString, "a string", false, &err);
        if (err)
            return err;
        if (cur && *cur->valuestring)
            return mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params.cursor is not a cursor of this list",
                                 "params.cursor");
        cJSON *res = cJSON_CreateObject();
        cJSON_AddItemToObject(res, "prompts", mcp_prompts_list());
        return mcp_rpc_result(id, res);
    }
    if (!strcmp(method, "prompts/get")) {
        const cJSON *name = param(msg, "name", cJSON_IsString, "a string (the prompt's name)", true, &err);
        const cJSON *args = err ? NULL : param(msg, "arguments", cJSON_IsObject, "an object", false, &err);
        if (err)
            return err;
        cJSON *res = mcp_prompts_get(c, name->valuestring, args, &err, id);
        return res ? mcp_rpc_result(id, res) : err;
    }
    if (!strcmp(method, "completion/complete")) {
        const cJSON *ref = param(msg, "ref", cJSON_IsObject, "an object {type, name | uri}", true, &err);
        const cJSON *arg = err ? NULL : param(msg, "argument", cJSON_IsObject, "an object {name, value}", true, &err);
        if (err)
            return err;
        const char *rt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "type"));
        if (!rt || (strcmp(rt, "ref/prompt") && strcmp(rt, "ref/resource")))
            return mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params.ref.type must be \"ref/prompt\" or "
                                 "\"ref/resource\"", "params.ref.type");
        const char *an = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(arg, "name"));
        const char *av = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(arg, "value"));
        if (!an || !av)
            return mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params.argument needs string name and value",
                                 an ? "params.argument.value" : "params.argument.name");
        return mcp_rpc_result(id, mcp_complete(c, an, av));
    }
    char text[200];
    snprintf(text, sizeof(text), "method not found: '%.100s'", method);
    return mcp_rpc_error(id, RPC_METHOD_NOT_FOUND, text, NULL);
}

cJSON *mcp_rpc_handle(mcp_ctx_t *c, const cJSON *msg)
{
    cJSON *err = NULL;
    int kind = mcp_rpc_kind(msg, &err);
    if (!kind)
        return err;
    if (kind == 'n' && c->session) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "method");
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(msg, "params"), "requestId");
        if (!strcmp(m->valuestring, "notifications/cancelled") && (cJSON_IsString(rid) || cJSON_IsNumber(rid)))
            mcp_call_cancel(c->session->id, rid);
    }
    if (kind != 'q')    /* notifications (initialized, cancelled, progress…) and responses */
        return NULL;
    return handle_request(c, msg, cJSON_GetObjectItemCaseSensitive(msg, "method")->valuestring);
}

/* ---- what the server says during a call ---- */

int mcp_sse_event(fm_req_t *r, cJSON *msg)
{
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (!text)
        return FM_ENOMEM;
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_addf(&b, "event: message\ndata: %s\n\n", text);
    cJSON_free(text);
    int rc = b.oom ? FM_ENOMEM : fm_reply_stream_write(r, b.data, b.len);
    fm_buf_release(&b);
    return rc;
}

static void to_stream(mcp_call_t *call, cJSON *msg)
{
    if (call->broken) {
        cJSON_Delete(msg);
        return;
    }
    if (mcp_sse_event(call->stream, msg) == FM_EIO)
        call->broken = true;
}

void mcp_progress(mcp_ctx_t *c, double progress, double total, const char *message)
{
    if (!c->call || !c->call->stream || !c->call->progress_token)
        return;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddStringToObject(m, "method", "notifications/progress");
    cJSON *p = cJSON_AddObjectToObject(m, "params");
    cJSON_AddItemToObject(p, "progressToken", cJSON_Duplicate(c->call->progress_token, 0));
    cJSON_AddNumberToObject(p, "progress", progress);
    if (total > 0)
        cJSON_AddNumberToObject(p, "total", total);
    if (message)
        cJSON_AddStringToObject(p, "message", message);
    to_stream(c->call, m);
}

void mcp_log(mcp_ctx_t *c, int level, const char *fmt, ...)
{
    if (!c->session || level < c->session->log_level)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddStringToObject(m, "method", "notifications/message");
    cJSON *p = cJSON_AddObjectToObject(m, "params");
    cJSON_AddStringToObject(p, "level", mcp_log_levels[level]);
    cJSON_AddStringToObject(p, "logger", "flowmaster");
    cJSON_AddStringToObject(p, "data", text);
    if (c->call && c->call->stream)
        to_stream(c->call, m);
    else
        mcp_stream_send(c->session->id, m);
}

bool mcp_cancelled(const mcp_ctx_t *c)
{
    return c->call && (c->call->cancelled || c->call->broken);
}
