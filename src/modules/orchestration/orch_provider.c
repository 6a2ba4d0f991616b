/*
 * orch_provider.c — one model call: the request body of an OpenAI-compatible
 * /chat/completions or an Anthropic /v1/messages endpoint, sent through fm_fetch (the
 * transfer runs on the libuv loop; the calling worker thread waits for it), the answer
 * parsed back into text, tool calls and token counts; streamed answers (SSE) are cut
 * into events here and their text passed on as it arrives. The built-in `local`
 * provider answers without any network from the agent's rules (docs/ai.md "The local
 * provider"). API keys go only into the request's header, never into a log or answer.
 */
#include "orch_int.h"

#include "../../fm_buf.h"
#include "../../fm_fetch.h"
#include "../../fm_mustache.h"
#include "../knowledge/knowledge_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const fm_ai_provider_t builtin_local = { "local", "local", "", "", "", 0, 0, 0 };

const fm_ai_provider_t *orch_provider_find(const char *name)
{
    const fm_config_t *c = fm_cfg();
    for (int i = 0; name && i < c->ai_provider_count; i++)
        if (!strcmp(c->ai_providers[i].name, name))
            return &c->ai_providers[i];
    return name && !strcmp(name, "local") ? &builtin_local : NULL;
}

void orch_answer_release(orch_answer_t *a)
{
    free(a->text);
    cJSON_Delete(a->tool_calls);
    a->text = NULL;
    a->tool_calls = NULL;
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int words(const char *s)
{
    int n = 0;
    bool in = false;
    for (; s && *s; s++) {
        bool sp = isspace((unsigned char)*s);
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

/* ---- the local provider ---- */

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return true;
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* Rules are tried in order: {when, reply} answers with the reply (Mustache over
 * {input, result}); {when, tool, arguments} asks for that tool first and answers with
 * `reply` once the tool's result is in. No rule: "You said: <input>". */
static int local_call(const orch_call_t *c, orch_answer_t *a)
{
    const char *input = "", *result = NULL;
    const cJSON *m;
    int in_tokens = words(c->system);
    cJSON_ArrayForEach(m, c->messages) {
        const char *role = str_of(m, "role"), *content = str_of(m, "content");
        in_tokens += words(content);
        if (role && !strcmp(role, "user") && content) {
            input = content;
            result = NULL;
        } else if (role && !strcmp(role, "tool")) {
            result = content ? content : "";
        }
    }
    const cJSON *rule = NULL, *r;
    cJSON_ArrayForEach(r, c->local_rules) {
        const char *when = str_of(r, "when");
        if (contains_ci(input, when ? when : "")) {
            rule = r;
            break;
        }
    }
    const char *tool = str_of(rule, "tool");
    if (tool && !result) {
        a->tool_calls = cJSON_CreateArray();
        cJSON *tc = cJSON_CreateObject();
        cJSON_AddStringToObject(tc, "id", "local_call_1");
        cJSON_AddStringToObject(tc, "name", tool);
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(rule, "arguments");
        cJSON_AddItemToObject(tc, "arguments", args ? cJSON_Duplicate(args, 1) : cJSON_CreateObject());
        cJSON_AddItemToArray(a->tool_calls, tc);
        a->text = strdup("");
    } else {
        const char *tpl = str_of(rule, "reply");
        if (!tpl)
            tpl = result ? "Done: {{result}}" : "You said: {{input}}";
        cJSON *data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "input", input);
        cJSON_AddStringToObject(data, "result", result ? result : "");
        fm_mustache_opts_t o = { .max_output = 64 * 1024 };
        fm_mustache_err_t err;
        size_t len;
        if (fm_mustache_render(tpl, strlen(tpl), data, &o, &a->text, &len, &err) != 0) {
            cJSON_Delete(data);
            snprintf(a->error, sizeof(a->error), "local rule reply: %s", err.message);
            a->status = 500;
            return FM_EIO;
        }
        cJSON_Delete(data);
    }
    a->input_tokens = in_tokens;
    a->output_tokens = words(a->text) + (a->tool_calls ? 1 : 0);
    a->status = 200;
    if (c->on_token && a->text && *a->text) {
        /* word by word, as a remote stream would */
        const char *p = a->text;
        while (*p) {
            const char *q = p;
            while (*q && isspace((unsigned char)*q))
                q++;
            while (*q && !isspace((unsigned char)*q))
                q++;
            a->streamed = true;
            if (!c->on_token(p, (size_t)(q - p), c->arg))
                break;
            p = q;
        }
    }
    return FM_OK;
}

/* ---- waiting for fm_fetch on a worker thread ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done, abort;
    long status;
    char *body;
    size_t len;
    char error[200];
    fm_buf_t chunks;            /* streamed bytes not yet taken by the worker */
} waiter_t;

static void on_done(const fm_fetch_result_t *res, void *arg)
{
    waiter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->status = res->status;
    if (res->error)
        snprintf(w->error, sizeof(w->error), "%s", res->error);
    if (res->len) {
        w->body = malloc(res->len + 1);
        if (w->body) {
            memcpy(w->body, res->body, res->len);
            w->body[res->len] = 0;
            w->len = res->len;
        }
    }
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static bool on_chunk(const char *data, size_t len, void *arg)
{
    waiter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    bool go = !w->abort;
    if (go) {
        fm_buf_add(&w->chunks, data, len);
        go = !w->chunks.oom && w->chunks.len < (8u << 20);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return go;
}

/* ---- request bodies ---- */

static void add_bearer(char *hdr, size_t len, const fm_ai_provider_t *p, const char *fmt)
{
    const char *key = p->api_key;
    if (!*key && *p->api_key_env)
        key = getenv(p->api_key_env);
    if (key && *key)
        snprintf(hdr, len, fmt, key);
    else
        hdr[0] = 0;
}

static cJSON *openai_body(const orch_call_t *c, bool stream)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "model", c->model);
    cJSON *msgs = cJSON_AddArrayToObject(b, "messages");
    if (c->system && *c->system) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "role", "system");
        cJSON_AddStringToObject(s, "content", c->system);
        cJSON_AddItemToArray(msgs, s);
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, c->messages) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", str_of(m, "role"));
        const char *content = str_of(m, "content");
        cJSON_AddItemToObject(o, "content", content ? cJSON_CreateString(content) : cJSON_CreateNull());
        if (str_of(m, "tool_call_id"))
            cJSON_AddStringToObject(o, "tool_call_id", str_of(m, "tool_call_id"));
        const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), *tc;
        if (cJSON_IsArray(tcs)) {
            cJSON *arr = cJSON_AddArrayToObject(o, "tool_calls");
            cJSON_ArrayForEach(tc, tcs) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "id", str_of(tc, "id"));
                cJSON_AddStringToObject(x, "type", "function");
                cJSON *f = cJSON_AddObjectToObject(x, "function");
                cJSON_AddStringToObject(f, "name", str_of(tc, "name"));
                char *args = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(tc, "arguments"));
                cJSON_AddStringToObject(f, "arguments", args ? args : "{}");
                cJSON_free(args);
                cJSON_AddItemToArray(arr, x);
            }
        }
        cJSON_AddItemToArray(msgs, o);
    }
    if (c->temperature >= 0)
        cJSON_AddNumberToObject(b, "temperature", c->temperature);
    if (c->max_tokens > 0)
        cJSON_AddNumberToObject(b, "max_tokens", c->max_tokens);
    if (cJSON_GetArraySize(c->tools) > 0) {
        cJSON *arr = cJSON_AddArrayToObject(b, "tools");
        const cJSON *t;
        cJSON_ArrayForEach(t, c->tools) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "type", "function");
            cJSON *f = cJSON_AddObjectToObject(x, "function");
            cJSON_AddStringToObject(f, "name", str_of(t, "name"));
            cJSON_AddStringToObject(f, "description", str_of(t, "description") ? str_of(t, "description") : "");
            cJSON_AddItemToObject(f, "parameters", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(t, "inputSchema"), 1));
            cJSON_AddItemToArray(arr, x);
        }
    }
    if (stream) {
        cJSON_AddBoolToObject(b, "stream", true);
        cJSON_AddObjectToObject(b, "stream_options");
        cJSON_AddBoolToObject(cJSON_GetObjectItem(b, "stream_options"), "include_usage", true);
    }
    return b;
}

static cJSON *anthropic_body(const orch_call_t *c, bool stream)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "model", c->model);
    cJSON_AddNumberToObject(b, "max_tokens", c->max_tokens > 0 ? c->max_tokens : 1024);
    if (c->system && *c->system)
        cJSON_AddStringToObject(b, "system", c->system);
    if (c->temperature >= 0)
        cJSON_AddNumberToObject(b, "temperature", c->temperature > 1 ? 1 : c->temperature);
    cJSON *msgs = cJSON_AddArrayToObject(b, "messages");
    const cJSON *m;
    cJSON_ArrayForEach(m, c->messages) {
        const char *role = str_of(m, "role"), *content = str_of(m, "content");
        cJSON *o = cJSON_CreateObject();
        if (!strcmp(role, "tool")) {
            cJSON_AddStringToObject(o, "role", "user");
            cJSON *blocks = cJSON_AddArrayToObject(o, "content");
            cJSON *blk = cJSON_CreateObject();
            cJSON_AddStringToObject(blk, "type", "tool_result");
            cJSON_AddStringToObject(blk, "tool_use_id", str_of(m, "tool_call_id"));
            cJSON_AddStringToObject(blk, "content", content ? content : "");
            cJSON_AddItemToArray(blocks, blk);
        } else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))) {
            cJSON_AddStringToObject(o, "role", "assistant");
            cJSON *blocks = cJSON_AddArrayToObject(o, "content");
            if (content && *content) {
                cJSON *t = cJSON_CreateObject();
                cJSON_AddStringToObject(t, "type", "text");
                cJSON_AddStringToObject(t, "text", content);
                cJSON_AddItemToArray(blocks, t);
            }
            const cJSON *tc;
            cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m, "tool_calls")) {
                cJSON *t = cJSON_CreateObject();
                cJSON_AddStringToObject(t, "type", "tool_use");
                cJSON_AddStringToObject(t, "id", str_of(tc, "id"));
                cJSON_AddStringToObject(t, "name", str_of(tc, "name"));
                cJSON_AddItemToObject(t, "input", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(tc, "arguments"), 1));
                cJSON_AddItemToArray(blocks, t);
            }
        } else {
            cJSON_AddStringToObject(o, "role", strcmp(role, "assistant") ? "user" : "assistant");
            cJSON_AddStringToObject(o, "content", content ? content : "");
        }
        cJSON_AddItemToArray(msgs, o);
    }
    if (cJSON_GetArraySize(c->tools) > 0) {
        cJSON *arr = cJSON_AddArrayToObject(b, "tools");
        const cJSON *t;
        cJSON_ArrayForEach(t, c->tools) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", str_of(t, "name"));
            cJSON_AddStringToObject(x, "description", str_of(t, "description") ? str_of(t, "description") : "");
            cJSON_AddItemToObject(x, "input_schema", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(t, "inputSchema"), 1));
            cJSON_AddItemToArray(arr, x);
        }
    }
    if (stream)
        cJSON_AddBoolToObject(b, "stream", true);
    return b;
}

/* ---- answers ---- */

static cJSON *parse_args(const char *s)
{
    cJSON *j = s && *s ? cJSON_Parse(s) : cJSON_CreateObject();
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int openai_parse(const char *body, orch_answer_t *a)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0), "message");
    if (!cJSON_IsObject(msg)) {
        cJSON_Delete(j);
        snprintf(a->error, sizeof(a->error), "the provider answered malformed JSON (no choices[0].message)");
        return FM_EIO;
    }
    const char *content = str_of(msg, "content");
    a->text = strdup(content ? content : "");
    const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"), *tc;
    cJSON_ArrayForEach(tc, tcs) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(tc, "function");
        cJSON *args = parse_args(str_of(f, "arguments"));
        if (!str_of(f, "name") || !args) {
            cJSON_Delete(args);
            cJSON_Delete(j);
            snprintf(a->error, sizeof(a->error), "the provider answered a malformed tool call");
            return FM_EIO;
        }
        if (!a->tool_calls)
            a->tool_calls = cJSON_CreateArray();
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", str_of(tc, "id") ? str_of(tc, "id") : "call");
        cJSON_AddStringToObject(x, "name", str_of(f, "name"));
        cJSON_AddItemToObject(x, "arguments", args);
        cJSON_AddItemToArray(a->tool_calls, x);
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    a->input_tokens = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens") ?
        (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens")) : 0;
    a->output_tokens = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens") ?
        (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens")) : 0;
    cJSON_Delete(j);
    return FM_OK;
}

static int anthropic_parse(const char *body, orch_answer_t *a)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content"), *blk;
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(j);
        snprintf(a->error, sizeof(a->error), "the provider answered malformed JSON (no content[])");
        return FM_EIO;
    }
    fm_buf_t text = FM_BUF_INIT;
    cJSON_ArrayForEach(blk, content) {
        const char *type = str_of(blk, "type");
        if (type && !strcmp(type, "text") && str_of(blk, "text")) {
            fm_buf_addf(&text, "%s", str_of(blk, "text"));
        } else if (type && !strcmp(type, "tool_use")) {
            const cJSON *in = cJSON_GetObjectItemCaseSensitive(blk, "input");
            if (!str_of(blk, "name") || !cJSON_IsObject(in)) {
                fm_buf_release(&text);
                cJSON_Delete(j);
                snprintf(a->error, sizeof(a->error), "the provider answered a malformed tool_use block");
                return FM_EIO;
            }
            if (!a->tool_calls)
                a->tool_calls = cJSON_CreateArray();
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "id", str_of(blk, "id") ? str_of(blk, "id") : "toolu");
            cJSON_AddStringToObject(x, "name", str_of(blk, "name"));
            cJSON_AddItemToObject(x, "arguments", cJSON_Duplicate(in, 1));
            cJSON_AddItemToArray(a->tool_calls, x);
        }
    }
    a->text = strdup(text.data ? text.data : "");
    fm_buf_release(&text);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    a->input_tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "input_tokens"));
    a->output_tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "output_tokens"));
    if (a->input_tokens < 0)
        a->input_tokens = 0;
    if (a->output_tokens < 0)
        a->output_tokens = 0;
    cJSON_Delete(j);
    return FM_OK;
}

/* ---- streamed answers: SSE events ---- */

typedef struct sse {
    const orch_call_t *c;
    orch_answer_t *a;
    bool anthropic, finished, broken, stop;
    fm_buf_t line, text, tool_args[16];
    char tool_id[16][72], tool_name[16][72];
    int ntools;
} sse_t;

static void sse_token(sse_t *s, const char *t)
{
    if (!t || !*t)
        return;
    fm_buf_addf(&s->text, "%s", t);
    s->a->streamed = true;
    if (!s->stop && !s->c->on_token(t, strlen(t), s->c->arg))
        s->stop = true;
}

static void sse_data(sse_t *s, const char *data)
{
    if (!s->anthropic && !strcmp(data, "[DONE]")) {
        s->finished = true;
        return;
    }
    cJSON *j = cJSON_Parse(data);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        s->broken = true;
        return;
    }
    if (!s->anthropic) {
        const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(ch, "delta");
        sse_token(s, str_of(d, "content"));
        const cJSON *tc;
        cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(d, "tool_calls")) {
            int i = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tc, "index"));
            if (i < 0 || i >= 16)
                continue;
            if (i >= s->ntools)
                s->ntools = i + 1;
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(tc, "function");
            if (str_of(tc, "id"))
                snprintf(s->tool_id[i], sizeof(s->tool_id[i]), "%s", str_of(tc, "id"));
            if (str_of(f, "name"))
                snprintf(s->tool_name[i], sizeof(s->tool_name[i]), "%s", str_of(f, "name"));
            if (str_of(f, "arguments"))
                fm_buf_addf(&s->tool_args[i], "%s", str_of(f, "arguments"));
        }
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
        if (cJSON_IsObject(u)) {
            s->a->input_tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens"));
            s->a->output_tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens"));
        }
    } else {
        const char *type = str_of(j, "type");
        type = type ? type : "";
        if (!strcmp(type, "message_start")) {
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "message"), "usage");
            s->a->input_tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "input_tokens"));
        } else if (!strcmp(type, "content_block_start")) {
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "content_block");
            int i = s->ntools;
            if (str_of(b, "type") && !strcmp(str_of(b, "type"), "tool_use") && i < 16) {
                snprintf(s->tool_id[i], sizeof(s->tool_id[i]), "%s", str_of(b, "id") ? str_of(b, "id") : "toolu");
                snprintf(s->tool_name[i], sizeof(s->tool_name[i]), "%s", str_of(b, "name") ? str_of(b, "name") : "");
                s->ntools++;
            }
        } else if (!strcmp(type, "content_block_delta")) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
            const char *dt = str_of(d, "type");
            if (dt && !strcmp(dt, "text_delta"))
                sse_token(s, str_of(d, "text"));
            else if (dt && !strcmp(dt, "input_json_delta") && s->ntools > 0)
                fm_buf_addf(&s->tool_args[s->ntools - 1], "%s", str_of(d, "partial_json") ? str_of(d, "partial_json") : "");
        } else if (!strcmp(type, "message_delta")) {
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
            if (cJSON_IsObject(u))
                s->a->output_tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(u, "output_tokens"));
        } else if (!strcmp(type, "message_stop")) {
            s->finished = true;
        } else if (!strcmp(type, "error")) {
            s->broken = true;
        }
    }
    cJSON_Delete(j);
}

static void sse_feed(sse_t *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !s->broken; i++) {
        if (p[i] != '\n') {
            if (s->line.len < (1u << 20))
                fm_buf_add(&s->line, &p[i], 1);
            continue;
        }
        char *l = s->line.data ? s->line.data : "";
        size_t ll = s->line.len;
        if (ll && l[ll - 1] == '\r')
            l[--ll] = 0;
        if (ll > 5 && !strncmp(l, "data:", 5))
            sse_data(s, l + 5 + (l[5] == ' '));
        s->line.len = 0;
        if (s->line.data)
            s->line.data[0] = 0;
    }
}

static int sse_finish(sse_t *s)
{
    orch_answer_t *a = s->a;
    int rc = FM_OK;
    if (s->broken || !s->finished) {
        snprintf(a->error, sizeof(a->error), "%s", s->broken ? "the provider's stream was malformed"
                                                            : "the provider's stream ended early");
        rc = FM_EIO;
    }
    for (int i = 0; i < s->ntools && rc == FM_OK; i++) {
        cJSON *args = parse_args(s->tool_args[i].data);
        if (!args || !*s->tool_name[i]) {
            cJSON_Delete(args);
            snprintf(a->error, sizeof(a->error), "the provider streamed a malformed tool call");
            rc = FM_EIO;
            break;
        }
        if (!a->tool_calls)
            a->tool_calls = cJSON_CreateArray();
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", *s->tool_id[i] ? s->tool_id[i] : "call");
        cJSON_AddStringToObject(x, "name", s->tool_name[i]);
        cJSON_AddItemToObject(x, "arguments", args);
        cJSON_AddItemToArray(a->tool_calls, x);
    }
    a->text = strdup(s->text.data ? s->text.data : "");
    fm_buf_release(&s->line);
    fm_buf_release(&s->text);
    for (int i = 0; i < 16; i++)
        fm_buf_release(&s->tool_args[i]);
    return rc;
}

/* ---- one remote call ---- */

int orch_provider_call(const orch_call_t *c, orch_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    if (!strcmp(c->prov->kind, "local"))
        return local_call(c, a);
    bool anthropic = !strcmp(c->prov->kind, "anthropic"), stream = c->on_token != NULL;
    cJSON *b = anthropic ? anthropic_body(c, stream) : openai_body(c, stream);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char url[600], auth[300], ver[64] = "";
    const char *base = c->prov->url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof(url), "%.*s%s", (int)bl, base, anthropic ? "/v1/messages" : "/chat/completions");
    add_bearer(auth, sizeof(auth), c->prov, anthropic ? "x-api-key: %s" : "Authorization: Bearer %s");
    if (anthropic)
        snprintf(ver, sizeof(ver), "anthropic-version: 2023-06-01");
    const char *hdrs[4] = { NULL };
    int nh = 0;
    if (*auth)
        hdrs[nh++] = auth;
    if (*ver)
        hdrs[nh++] = ver;
    waiter_t w = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .chunks = FM_BUF_INIT };
    fm_fetch_req_t req = {
        .method = "POST", .url = url, .body = body, .content_type = "application/json",
        .timeout_ms = c->prov->timeout_ms > 0 ? c->prov->timeout_ms : 30000, .headers = hdrs,
        .max_response = 8u << 20, .on_chunk = stream ? on_chunk : NULL,
    };
    int rc = body ? fm_fetch(&req, on_done, &w) : FM_ENOMEM;
    free(body);
    memset(auth, 0, sizeof(auth));
    if (rc != FM_OK) {
        snprintf(a->error, sizeof(a->error), "the call could not be made");
        fm_buf_release(&w.chunks);
        return FM_EIO;
    }
    sse_t s = { .c = c, .a = a, .anthropic = anthropic, .line = FM_BUF_INIT, .text = FM_BUF_INIT };
    for (int i = 0; i < 16; i++)
        s.tool_args[i] = (fm_buf_t)FM_BUF_INIT;
    pthread_mutex_lock(&w.mu);
    for (;;) {
        if (w.chunks.len) {
            fm_buf_t got = w.chunks;
            w.chunks = (fm_buf_t)FM_BUF_INIT;
            pthread_mutex_unlock(&w.mu);
            sse_feed(&s, got.data, got.len);    /* tokens go out on this thread, unlocked */
            fm_buf_release(&got);
            pthread_mutex_lock(&w.mu);
            if (s.stop || s.broken)
                w.abort = true;
            continue;
        }
        if (w.done)
            break;
        pthread_cond_wait(&w.cv, &w.mu);
    }
    pthread_mutex_unlock(&w.mu);
    fm_buf_release(&w.chunks);
    a->status = w.status;
    if (stream && w.status >= 200 && w.status < 300 && !s.stop && (!*w.error || s.broken || s.finished)) {
        rc = sse_finish(&s);    /* a transfer we aborted on a malformed event says "malformed" */
    } else {
        fm_buf_release(&s.line);
        fm_buf_release(&s.text);
        for (int i = 0; i < 16; i++)
            fm_buf_release(&s.tool_args[i]);
        if (s.stop) {
            snprintf(a->error, sizeof(a->error), "the client went away");
            rc = FM_EIO;
        } else if (w.status == 0 || *w.error) {
            snprintf(a->error, sizeof(a->error), "no answer from the provider: %s", *w.error ? w.error : "failed");
            rc = FM_EIO;
        } else if (w.status < 200 || w.status >= 300) {
            snprintf(a->error, sizeof(a->error), "the provider answered HTTP %ld", w.status);
            rc = FM_EIO;
        } else {
            rc = (anthropic ? anthropic_parse : openai_parse)(w.body ? w.body : "", a);
        }
    }
    free(w.body);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

/* ---- embeddings ---- */

/* One non-streamed POST of body to url; waits on the calling thread. */
static int post_sync(const fm_ai_provider_t *p, const char *url, const char *body, waiter_t *w)
{
    char auth[300];
    add_bearer(auth, sizeof(auth), p, "Authorization: Bearer %s");
    const char *hdrs[2] = { *auth ? auth : NULL, NULL };
    fm_fetch_req_t req = {
        .method = "POST", .url = url, .body = body, .content_type = "application/json",
        .timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : 30000, .headers = hdrs, .max_response = 16u << 20,
    };
    int rc = fm_fetch(&req, on_done, w);
    memset(auth, 0, sizeof(auth));
    if (rc != FM_OK)
        return rc;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return FM_OK;
}

int orch_provider_embed(const fm_ai_provider_t *p, const char *model, const cJSON *inputs, orch_answer_t *a,
                        cJSON **data)
{
    memset(a, 0, sizeof(*a));
    *data = NULL;
    if (!strcmp(p->kind, "local")) {
        cJSON *arr = cJSON_CreateArray();
        const cJSON *in;
        int i = 0;
        cJSON_ArrayForEach(in, inputs) {
            float v[KN_VEC_DIMS];
            kn_embed(in->valuestring, strlen(in->valuestring), v);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", i++);
            cJSON *e = cJSON_AddArrayToObject(o, "embedding");
            for (int k = 0; k < KN_VEC_DIMS; k++)
                cJSON_AddItemToArray(e, cJSON_CreateNumber(v[k]));
            cJSON_AddItemToArray(arr, o);
            a->input_tokens += words(in->valuestring);
        }
        a->status = 200;
        *data = arr;
        return FM_OK;
    }
    if (strcmp(p->kind, "openai")) {
        snprintf(a->error, sizeof(a->error), "provider '%s' (%s) has no embeddings endpoint", p->name, p->kind);
        return FM_EINVAL;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "model", model);
    cJSON_AddItemToObject(b, "input", cJSON_Duplicate(inputs, 1));
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char url[600];
    size_t bl = strlen(p->url);
    while (bl && p->url[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof(url), "%.*s/embeddings", (int)bl, p->url);
    waiter_t w = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .chunks = FM_BUF_INIT };
    int rc = body ? post_sync(p, url, body, &w) : FM_ENOMEM;
    free(body);
    a->status = w.status;
    if (rc != FM_OK) {
        snprintf(a->error, sizeof(a->error), "the call could not be made");
        rc = FM_EIO;
    } else if (w.status == 0 || *w.error) {
        snprintf(a->error, sizeof(a->error), "no answer from the provider: %s", *w.error ? w.error : "failed");
        rc = FM_EIO;
    } else if (w.status < 200 || w.status >= 300) {
        snprintf(a->error, sizeof(a->error), "the provider answered HTTP %ld", w.status);
        rc = FM_EIO;
    } else {
        cJSON *j = cJSON_Parse(w.body ? w.body : "");
        cJSON *d = cJSON_DetachItemFromObject(j, "data");
        bool ok = cJSON_IsArray(d) && cJSON_GetArraySize(d) == cJSON_GetArraySize(inputs);
        const cJSON *x;
        cJSON_ArrayForEach(x, d)
            ok = ok && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(x, "embedding"));
        if (!ok) {
            cJSON_Delete(d);
            snprintf(a->error, sizeof(a->error), "the provider answered malformed JSON (no data[].embedding)");
            rc = FM_EIO;
        } else {
            *data = d;
            a->input_tokens = (int)cJSON_GetNumberValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "usage"), "prompt_tokens"));
            if (a->input_tokens < 0)
                a->input_tokens = 0;
        }
        cJSON_Delete(j);
    }
    free(w.body);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}
