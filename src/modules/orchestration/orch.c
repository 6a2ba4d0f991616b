/*
 * orch.c — AI Agent Orchestration (9007): the routes. Agent configurations
 * (/agents/{id}/config), invoke and stream (routing rules, fallbacks, the response
 * cache, the per-tenant token quota, the bounded tool-calling loop over the MCP
 * server's tool catalogue called with the caller's identity), metered usage
 * (/agents/usage) and the audit of every call (/agents/{id}/audit). docs/ai.md is the
 * contract; provider calls are in orch_provider.c, tables in orch_store.c.
 */
#include "orch_int.h"

#include "../../auth/fm_auth.h"
#include "../../fm_buf.h"
#include "../../fm_id.h"
#include "../../fm_log.h"
#include "../../fm_mustache.h"
#include "../mcp/mcp_int.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AGENT_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
#define MAX_MESSAGES 256
#define MAX_CONTENT (256 * 1024)
#define MAX_TOOL_RESULT (16 * 1024)
#define VALIDATION "urn:flowmaster:problem:validation"
/* Invokes and streams in flight at once: each holds a worker thread while the provider
 * answers (up to its timeout), so more wait as 503 + Retry-After instead. */
#define INFLIGHT_MAX 64
static atomic_int inflight;

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static bool agent_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 128 && strspn(s, AGENT_CHARS) == n;
}

static void sha256_hex(const char *s, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, len);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* ---- configuration ---- */

static bool tool_known(const cJSON *catalogue, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, catalogue)
        if (!strcmp(str_of(t, "name"), name))
            return true;
    return false;
}

/* A provider reference {provider, model?} at `where`; false after answering 422. */
static bool check_target(fm_req_t *r, const cJSON *o, const char *where)
{
    char f[64];
    const char *p = str_of(o, "provider");
    snprintf(f, sizeof(f), "%s/provider", where);
    if (!p)
        return fm_reply_invalid(r, f, "must be the name of a configured provider"), false;
    if (!orch_provider_find(p))
        return fm_reply_problem(r, 422, VALIDATION, "Validation Failed", NULL, "%s: no provider named '%s' is configured", f, p), false;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
    snprintf(f, sizeof(f), "%s/model", where);
    if (m && (!cJSON_IsString(m) || strlen(m->valuestring) > 128))
        return fm_reply_invalid(r, f, "must be a string of at most 128 characters"), false;
    return true;
}

static bool check_array(fm_req_t *r, const cJSON *a, const char *name, int max)
{
    if (a && (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > max)) {
        char d[64];
        snprintf(d, sizeof(d), "must be an array of at most %d items", max);
        fm_reply_invalid(r, name, d);
        return false;
    }
    return true;
}

/* The body of POST/PUT /agents/{id}/config; false after answering 422. */
static bool config_valid(fm_req_t *r, const cJSON *b)
{
    static const char *const known[] = { "description", "provider", "model", "systemPrompt", "promptId",
                                         "temperature", "maxTokens", "maxSteps", "tools", "routes",
                                         "fallbacks", "local", "embeddingModel", "maxTotalTokens", NULL };
    if (!fm_req_members_known(r, b, "", known, "docs/ai.md"))
        return false;
    static const fm_field_t f[] = {
        { "description", FM_F_STRING, false, 0, 2000, NULL },
        { "provider", FM_F_STRING, false, 1, 31, NULL },
        { "model", FM_F_STRING, false, 1, 128, NULL },
        { "embeddingModel", FM_F_STRING, false, 1, 128, NULL },
        { "systemPrompt", FM_F_STRING, false, 0, 32768, NULL },
        { "promptId", FM_F_STRING, false, 1, 128, NULL },
        { "maxTokens", FM_F_INT, false, 1, 200000, NULL },
        { "maxSteps", FM_F_INT, false, 1, 64, NULL },
        { "maxTotalTokens", FM_F_INT, false, 1, 100000000, NULL },
        { "local", FM_F_OBJECT, false, 0, 0, NULL },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "temperature");
    if (t && (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 2))
        return fm_reply_invalid(r, "temperature", "must be a number from 0 to 2"), false;
    const char *prov = str_of(b, "provider");
    if (prov && !orch_provider_find(prov))
        return fm_reply_problem(r, 422, VALIDATION, "Validation Failed", NULL, "provider: no provider named '%s' is configured", prov), false;
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(b, "tools"), *x;
    if (!check_array(r, tools, "tools", 64))
        return false;
    cJSON *cat = mcp_tools_list();
    cJSON_ArrayForEach(x, tools) {
        if (!cJSON_IsString(x) || !tool_known(cat, x->valuestring)) {
            cJSON_Delete(cat);
            fm_reply_problem(r, 422, VALIDATION, "Validation Failed", NULL, "tools: '%s' is not a tool of the catalogue (GET /mcp tools/list)",
                             cJSON_IsString(x) ? x->valuestring : "(not a string)");
            return false;
        }
    }
    cJSON_Delete(cat);
    const cJSON *routes = cJSON_GetObjectItemCaseSensitive(b, "routes");
    if (!check_array(r, routes, "routes", 32))
        return false;
    int i = 0;
    cJSON_ArrayForEach(x, routes) {
        char where[32];
        snprintf(where, sizeof(where), "routes/%d", i++);
        if (!cJSON_IsObject(x))
            return fm_reply_invalid(r, where, "must be an object"), false;
        for (const char *k = "taskType\0tenant\0costTier\0"; *k; k += strlen(k) + 1) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(x, k);
            if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > 128))
                return fm_reply_invalid(r, where, "taskType, tenant and costTier are strings"), false;
        }
        if (!check_target(r, x, where))
            return false;
    }
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(b, "fallbacks");
    if (!check_array(r, fb, "fallbacks", 8))
        return false;
    i = 0;
    cJSON_ArrayForEach(x, fb) {
        char where[32];
        snprintf(where, sizeof(where), "fallbacks/%d", i++);
        if (!cJSON_IsObject(x))
            return fm_reply_invalid(r, where, "must be an object"), false;
        if (!check_target(r, x, where))
            return false;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "local"), "rules");
    if (!check_array(r, rules, "local/rules", 64))
        return false;
    cJSON_ArrayForEach(x, rules) {
        const cJSON *when = cJSON_GetObjectItemCaseSensitive(x, "when"), *reply = cJSON_GetObjectItemCaseSensitive(x, "reply");
        const cJSON *tool = cJSON_GetObjectItemCaseSensitive(x, "tool"), *args = cJSON_GetObjectItemCaseSensitive(x, "arguments");
        if (!cJSON_IsObject(x) || (when && !cJSON_IsString(when)) || (tool && !cJSON_IsString(tool)) ||
            (args && !cJSON_IsObject(args)) || (!reply && !tool))
            return fm_reply_invalid(r, "local/rules", "each rule is {when, reply} or {when, tool, arguments, reply?}"), false;
        fm_mustache_err_t err;
        if (reply && (!cJSON_IsString(reply) || fm_mustache_check(reply->valuestring, strlen(reply->valuestring), &err)))
            return fm_reply_invalid(r, "local/rules", "reply must be a Mustache template"), false;
    }
    return true;
}

static int reply_no_agent(fm_req_t *r, const char *agent)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no agent configuration '%s' in this tenant", agent);
}

static int config_write(fm_req_t *r, bool create)
{
    const char *agent = fm_req_param(r, "id");
    if (!agent_ok(agent))
        return fm_reply_invalid(r, "id", "an agent id is 1-128 of [A-Za-z0-9._:-]");
    const cJSON *b = fm_req_json(r);
    if (!cJSON_IsObject(b))
        return fm_reply_problem(r, 422, VALIDATION, "Validation Failed", NULL, "the configuration must be a JSON object");
    if (!config_valid(r, b))
        return FM_OK;
    cJSON *out = NULL;
    int rc = orch_config_put(db_of(r), fm_req_tenant(r), agent, b, create, &out);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "agent '%s' has a configuration already: PUT changes it", agent);
    if (rc != FM_OK)
        return rc;
    char etag[32];
    snprintf(etag, sizeof(etag), "\"r%d\"", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(out, "revision")));
    fm_reply_header(r, "ETag", etag);
    if (create) {
        char loc[200];
        snprintf(loc, sizeof(loc), "/agents/%s/config", agent);
        fm_reply_header(r, "Location", loc);
    }
    return fm_reply_json(r, create ? 201 : 200, out);
}

static int config_create(fm_req_t *r)
{
    return config_write(r, true);
}

static int config_put(fm_req_t *r)
{
    return config_write(r, false);
}

static int config_get(fm_req_t *r)
{
    cJSON *out = NULL;
    int rc = orch_config_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &out);
    if (rc == FM_ENOTFOUND)
        return reply_no_agent(r, fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    char etag[32];
    snprintf(etag, sizeof(etag), "\"r%d\"", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(out, "revision")));
    fm_reply_header(r, "ETag", etag);
    return fm_reply_json(r, 200, out);
}

/* ---- one invocation ---- */

typedef struct target {
    const fm_ai_provider_t *prov;
    const char *model;
} target_t;

typedef struct run {
    fm_req_t *r;
    const char *tenant, *agent;
    char call_id[48];
    cJSON *record;              /* the stored configuration record (owned) */
    const cJSON *cfg;           /* its config */
    target_t chain[10];
    int nchain, cur;
    char *system;               /* rendered system prompt (owned) */
    cJSON *messages;            /* the conversation so far (owned) */
    cJSON *tools;               /* tool definitions offered (owned) */
    cJSON *tool_calls;          /* what the tools were asked and answered (owned) */
    cJSON *steps;               /* one entry per model call (owned) */
    cJSON *attempts;            /* failed provider attempts (owned) */
    int in_tok, out_tok;
    double cost;
    bool stream, started, client_gone;
    const char *stop_reason;
    char *output;
    int examples;               /* few-shot turns taken from the Agent Service */
} run_t;

static void run_release(run_t *u)
{
    cJSON_Delete(u->record);
    free(u->system);
    cJSON_Delete(u->messages);
    cJSON_Delete(u->tools);
    cJSON_Delete(u->tool_calls);
    cJSON_Delete(u->steps);
    cJSON_Delete(u->attempts);
    free(u->output);
}

static void audit(run_t *u, const char *outcome, int status, const char *detail)
{
    const fm_principal_t *p = fm_req_principal(u->r);
    char *prompt = NULL;
    if (u->messages) {
        cJSON *pj = cJSON_CreateObject();
        cJSON_AddStringToObject(pj, "system", u->system ? u->system : "");
        cJSON_AddItemToObject(pj, "messages", cJSON_Duplicate(u->messages, 1));
        prompt = cJSON_PrintUnformatted(pj);
        cJSON_Delete(pj);
    }
    char ph[72], ah[72];
    const char *pv = prompt, *av = u->output;
    if (!fm_cfg()->ai_audit_content) {
        char hex[65];
        if (prompt) {
            sha256_hex(prompt, strlen(prompt), hex);
            snprintf(ph, sizeof(ph), "sha256:%s", hex);
            pv = ph;
        }
        if (u->output) {
            sha256_hex(u->output, strlen(u->output), hex);
            snprintf(ah, sizeof(ah), "sha256:%s", hex);
            av = ah;
        }
    }
    /* after every provider failed, cur is past the chain: the last one tried is named */
    const target_t *t = u->nchain ? &u->chain[u->cur < u->nchain ? u->cur : u->nchain - 1] : NULL;
    orch_audit_t a = {
        .call_id = u->call_id, .agent = u->agent, .subject = p ? p->sub : NULL, .outcome = outcome,
        .provider = t ? t->prov->name : NULL, .model = t ? t->model : NULL, .prompt = pv, .answer = av,
        .detail = detail, .status = status, .steps = u->steps,
    };
    if (orch_audit_add(db_of(u->r), u->tenant, &a) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "orchestration: an audit row could not be stored", u->call_id);
    free(prompt);
}

/* A problem answer (or an SSE error event once the stream began), audited as failed. */
static int fail(run_t *u, int status, const char *outcome, cJSON *ext, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(run_t *u, int status, const char *outcome, cJSON *ext, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    audit(u, outcome, status, detail);
    if (!ext)
        ext = cJSON_CreateObject();
    cJSON_AddStringToObject(ext, "callId", u->call_id);
    if (u->started) {
        cJSON *e = ext;
        cJSON_AddNumberToObject(e, "status", status);
        cJSON_AddStringToObject(e, "detail", detail);
        char *s = cJSON_PrintUnformatted(e);
        cJSON_Delete(e);
        if (s && !u->client_gone) {
            fm_buf_t b = FM_BUF_INIT;
            fm_buf_addf(&b, "event: error\ndata: %s\n\n", s);
            fm_reply_stream_write(u->r, b.data, b.len);
            fm_buf_release(&b);
        }
        cJSON_free(s);
        return fm_reply_stream_end(u->r);
    }
    if (status == 422)
        return fm_reply_problem(u->r, 422, VALIDATION, "Validation Failed", ext, "%s", detail);
    return fm_reply_problem(u->r, status, NULL, NULL, ext, "%s", detail);
}

static bool begin_stream(run_t *u)
{
    if (u->started)
        return true;
    fm_reply_header(u->r, "Cache-Control", "no-cache");
    fm_reply_header(u->r, "X-Accel-Buffering", "no");
    u->started = true;
    return fm_reply_stream_begin(u->r, 200, "text/event-stream") == FM_OK;
}

static bool on_token(const char *text, size_t len, void *arg)
{
    run_t *u = arg;
    if (u->client_gone || !begin_stream(u))
        return !(u->client_gone = true);
    cJSON *d = cJSON_CreateObject();
    char *t = strndup(text, len);
    cJSON_AddStringToObject(d, "text", t ? t : "");
    free(t);
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_addf(&b, "event: token\ndata: %s\n\n", s ? s : "{}");
    cJSON_free(s);
    if (fm_reply_stream_write(u->r, b.data, b.len) != FM_OK)
        u->client_gone = true;
    fm_buf_release(&b);
    return !u->client_gone;
}

static void add_target(run_t *u, const cJSON *o, const char *def_model)
{
    const fm_ai_provider_t *p = orch_provider_find(str_of(o, "provider"));
    if (!p || u->nchain >= (int)(sizeof(u->chain) / sizeof(u->chain[0])))
        return;
    const char *m = str_of(o, "model") ? str_of(o, "model") : def_model ? def_model : p->name;
    for (int i = 0; i < u->nchain; i++)
        if (u->chain[i].prov == p && !strcmp(u->chain[i].model, m))
            return;
    u->chain[u->nchain++] = (target_t){ p, m };
}

/* The first routing rule whose set fields all match, else the agent's own provider;
 * then its fallbacks in order. */
static void route(run_t *u, const cJSON *body)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(u->cfg, "routes")) {
        const char *tt = str_of(x, "taskType"), *tn = str_of(x, "tenant"), *ct = str_of(x, "costTier");
        const char *btt = str_of(body, "taskType"), *bct = str_of(body, "costTier");
        if ((!tt || (btt && !strcmp(tt, btt))) && (!tn || !strcmp(tn, u->tenant)) &&
            (!ct || (bct && !strcmp(ct, bct)))) {
            add_target(u, x, str_of(u->cfg, "model"));
            break;
        }
    }
    cJSON *self = cJSON_CreateObject();
    cJSON_AddStringToObject(self, "provider", str_of(u->cfg, "provider") ? str_of(u->cfg, "provider") : "local");
    if (u->nchain == 0)
        add_target(u, self, str_of(u->cfg, "model"));
    cJSON_Delete(self);
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(u->cfg, "fallbacks"))
        add_target(u, x, str_of(u->cfg, "model"));
}

/* Mustache over the variables when there are some; NULL after answering 422. */
static char *render(run_t *u, const char *tpl, const cJSON *vars, const char *where)
{
    if (!vars)
        return strdup(tpl);
    fm_mustache_opts_t o = { .max_output = MAX_CONTENT };
    fm_mustache_err_t err;
    char *out = NULL;
    size_t len;
    if (fm_mustache_render(tpl, strlen(tpl), vars, &o, &out, &len, &err) != 0) {
        fail(u, 422, "failed", NULL, "%s: %s", where, err.message);
        return NULL;
    }
    return out;
}

/* The agent's promptId rendered by Prompt Engineering (8012) with the variables, as the
 * caller (POST /prompts/{id}/render → {text}), appended to the system prompt; false
 * after answering (422 for the prompt's own 404/422, 502 otherwise). */
static bool prompt_text(run_t *u, const cJSON *vars, fm_buf_t *sys)
{
    const char *pid = str_of(u->cfg, "promptId");
    fm_buf_t path = FM_BUF_INIT;
    fm_buf_adds(&path, "/prompts/");
    for (const char *p = pid; *p; p++)      /* ids are [A-Za-z0-9._:-]: anything else encoded */
        if (strchr(AGENT_CHARS, *p))
            fm_buf_add(&path, p, 1);
        else
            fm_buf_addf(&path, "%%%02X", (unsigned char)*p);
    fm_buf_adds(&path, "/render");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "variables", vars ? cJSON_Duplicate(vars, 1) : cJSON_CreateObject());
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    int status = 0;
    char *out = NULL;
    int rc = path.oom || !body ? FM_ENOMEM : fm_call(u->r, FM_POST, path.data, body, &status, &out);
    fm_buf_release(&path);
    cJSON_free(body);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    const char *text = str_of(j, "text");
    bool ok = rc == FM_OK && status == 200 && text;
    if (ok) {
        fm_buf_addf(sys, "%s%s", sys->len ? "\n\n" : "", text);
    } else if (rc == FM_OK && (status == 401 || status == 403)) {
        fail(u, 403, "refused", NULL, "promptId '%s': the caller may not read this prompt", pid);
    } else if (rc == FM_OK && (status == 404 || status == 422)) {
        fail(u, 422, "failed", NULL, "promptId '%s': %s", pid,
             str_of(j, "detail") ? str_of(j, "detail") : "the prompt cannot be rendered");
    } else {
        fail(u, 502, "failed", NULL, "promptId '%s': Prompt Engineering answered HTTP %d", pid, status);
    }
    cJSON_Delete(j);
    return ok;
}

/* Messages and variables into u->system / u->messages; false after answering. */
static bool take_messages(run_t *u, const cJSON *b)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(b, "messages");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(b, "input");
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(b, "variables");
    if (vars && !cJSON_IsObject(vars))
        return fail(u, 422, "failed", NULL, "variables: must be an object"), false;
    if (!msgs == !input)
        return fail(u, 422, "failed", NULL, "give either messages (an array) or input (a string)"), false;
    if (input && (!cJSON_IsString(input) || strlen(input->valuestring) > MAX_CONTENT))
        return fail(u, 422, "failed", NULL, "input: must be a string of at most %d bytes", MAX_CONTENT), false;
    if (msgs && (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) < 1 || cJSON_GetArraySize(msgs) > MAX_MESSAGES))
        return fail(u, 422, "failed", NULL, "messages: must be an array of 1 to %d messages", MAX_MESSAGES), false;
    fm_buf_t sys = FM_BUF_INIT;
    const char *sp = str_of(u->cfg, "systemPrompt");
    if (sp) {
        char *s = render(u, sp, vars, "systemPrompt");
        if (!s)
            return fm_buf_release(&sys), false;
        fm_buf_adds(&sys, s);
        free(s);
    }
    if (str_of(u->cfg, "promptId") && !prompt_text(u, vars, &sys))
        return fm_buf_release(&sys), false;
    u->messages = cJSON_CreateArray();
    if (input) {
        char *s = render(u, input->valuestring, vars, "input");
        if (!s)
            return fm_buf_release(&sys), false;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", s);
        free(s);
        cJSON_AddItemToArray(u->messages, m);
    }
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        const char *role = str_of(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m) || !role || (strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "system")) ||
            !cJSON_IsString(content) || strlen(content->valuestring) > MAX_CONTENT) {
            fm_buf_release(&sys);
            return fail(u, 422, "failed", NULL,
                        "messages/%d: must be {role: user|assistant|system, content: string of at most %d bytes}",
                        i, MAX_CONTENT), false;
        }
        char where[32];
        snprintf(where, sizeof(where), "messages/%d", i++);
        char *s = render(u, content->valuestring, vars, where);
        if (!s)
            return fm_buf_release(&sys), false;
        if (!strcmp(role, "system")) {
            fm_buf_addf(&sys, "%s%s", sys.len ? "\n\n" : "", s);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "role", role);
            cJSON_AddStringToObject(o, "content", s);
            cJSON_AddItemToArray(u->messages, o);
        }
        free(s);
    }
    if (cJSON_GetArraySize(u->messages) == 0) {
        fm_buf_release(&sys);
        return fail(u, 422, "failed", NULL, "messages: at least one user or assistant message is needed"), false;
    }
    u->system = fm_buf_detach(&sys, NULL);
    return true;
}

/* What the Agent Service (9016) learned for an agent of the same id or name: the three
 * lessons most like the last user message (GET /agents/{id}/examples, as the caller)
 * go before the conversation as example user/assistant turns. An agent without a
 * persona there, or a caller who may not read it, simply gets none. */
static void few_shot(run_t *u)
{
    const cJSON *m, *last = NULL;
    cJSON_ArrayForEach(m, u->messages) if (str_of(m, "role") && !strcmp(str_of(m, "role"), "user")) last = m;
    const char *q = str_of(last, "content");
    if (!q || !*q)
        return;
    size_t n = strlen(q) > 1000 ? 1000 : strlen(q);
    while (n > 0 && n < strlen(q) && ((unsigned char)q[n] & 0xC0) == 0x80)
        n--;    /* never cut inside a UTF-8 sequence */
    fm_buf_t path = FM_BUF_INIT;
    fm_buf_adds(&path, "/agents/");
    fm_buf_adds(&path, u->agent);    /* AGENT_CHARS only: nothing to encode */
    fm_buf_adds(&path, "/examples?k=3&q=");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)q[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c))
            fm_buf_add(&path, (const char *)&q[i], 1);
        else
            fm_buf_addf(&path, "%%%02X", c);
    }
    int status = 0;
    char *out = NULL;
    if (!path.oom && fm_call(u->r, FM_GET, path.data, NULL, &status, &out) == FM_OK && status == 200 && out) {
        cJSON *j = cJSON_Parse(out), *turns = cJSON_CreateArray();
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(j, "items"))
        {
            const char *in = str_of(x, "input"), *ans = str_of(x, "output");
            if (!in || !ans)
                continue;
            cJSON *um = cJSON_CreateObject(), *am = cJSON_CreateObject();
            cJSON_AddStringToObject(um, "role", "user");
            cJSON_AddStringToObject(um, "content", in);
            cJSON_AddStringToObject(am, "role", "assistant");
            cJSON_AddStringToObject(am, "content", ans);
            cJSON_AddItemToArray(turns, um);
            cJSON_AddItemToArray(turns, am);
            u->examples++;
        }
        cJSON *rest;
        while ((rest = cJSON_DetachItemFromArray(u->messages, 0)))
            cJSON_AddItemToArray(turns, rest);
        cJSON_Delete(u->messages);
        u->messages = turns;
        cJSON_Delete(j);
    }
    free(out);
    fm_buf_release(&path);
}

/* The tools offered: the agent's allowed ones, narrowed by the request's `tools`. */
static bool take_tools(run_t *u, const cJSON *b)
{
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(u->cfg, "tools");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(b, "tools"), *x;
    if (want && (!cJSON_IsArray(want) || cJSON_GetArraySize(want) > 64))
        return fail(u, 422, "failed", NULL, "tools: must be an array of tool names"), false;
    cJSON_ArrayForEach(x, want) {
        bool ok = false;
        const cJSON *y;
        cJSON_ArrayForEach(y, allowed)
            ok |= cJSON_IsString(x) && !strcmp(x->valuestring, y->valuestring);
        if (!ok)
            return fail(u, 422, "failed", NULL, "tools: '%s' is not allowed for agent '%s'",
                        cJSON_IsString(x) ? x->valuestring : "(not a string)", u->agent), false;
    }
    u->tools = cJSON_CreateArray();
    cJSON *cat = mcp_tools_list();
    cJSON_ArrayForEach(x, cat) {
        const char *name = str_of(x, "name");
        bool in_allowed = false, in_want = !want;
        const cJSON *y;
        cJSON_ArrayForEach(y, allowed)
            in_allowed |= !strcmp(y->valuestring, name);
        cJSON_ArrayForEach(y, want)
            in_want |= !strcmp(y->valuestring, name);
        if (in_allowed && in_want) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", name);
            cJSON_AddStringToObject(t, "description", str_of(x, "description"));
            cJSON_AddItemToObject(t, "inputSchema", cJSON_Duplicate(cJSON_GetObjectItem(x, "inputSchema"), 1));
            cJSON_AddItemToArray(u->tools, t);
        }
    }
    cJSON_Delete(cat);
    return true;
}

static bool tool_offered(const run_t *u, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, u->tools)
        if (!strcmp(str_of(t, "name"), name))
            return true;
    return false;
}

/* Runs the tool calls of one model answer through the MCP catalogue with the caller's
 * identity, appending the assistant turn and one tool message per call. */
static void run_tools(run_t *u, const orch_answer_t *a, cJSON *step)
{
    cJSON *turn = cJSON_CreateObject();
    cJSON_AddStringToObject(turn, "role", "assistant");
    cJSON_AddStringToObject(turn, "content", a->text ? a->text : "");
    cJSON_AddItemToObject(turn, "tool_calls", cJSON_Duplicate(a->tool_calls, 1));
    cJSON_AddItemToArray(u->messages, turn);
    cJSON *done = cJSON_AddArrayToObject(step, "toolCalls");
    mcp_ctx_t ctx = { .caller = u->r, .tenant = u->tenant };
    const cJSON *tc;
    cJSON_ArrayForEach(tc, a->tool_calls) {
        const char *name = str_of(tc, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(tc, "arguments");
        cJSON *res = tool_offered(u, name) ? mcp_tools_call(&ctx, name, args) : NULL;
        bool is_error = !res || cJSON_IsTrue(cJSON_GetObjectItem(res, "isError"));
        char *text = NULL;
        cJSON *result = NULL;
        if (!res) {
            char why[200];
            snprintf(why, sizeof(why), "tool '%s' is not available to this agent", name);
            text = strdup(why);
            result = cJSON_CreateString(why);
        } else if (!is_error && cJSON_GetObjectItem(res, "structuredContent")) {
            result = cJSON_Duplicate(cJSON_GetObjectItem(res, "structuredContent"), 1);
            text = cJSON_PrintUnformatted(result);
        } else {
            const char *t = str_of(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0), "text");
            text = strdup(t ? t : "");
            result = cJSON_CreateString(text ? text : "");
        }
        cJSON_Delete(res);
        if (text && strlen(text) > MAX_TOOL_RESULT)
            text[MAX_TOOL_RESULT] = 0;
        cJSON *msg = cJSON_CreateObject();
        cJSON_AddStringToObject(msg, "role", "tool");
        cJSON_AddStringToObject(msg, "tool_call_id", str_of(tc, "id"));
        cJSON_AddStringToObject(msg, "content", text ? text : "");
        cJSON_AddItemToArray(u->messages, msg);
        free(text);
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "id", str_of(tc, "id"));
        cJSON_AddStringToObject(rec, "name", name);
        cJSON_AddItemToObject(rec, "arguments", cJSON_Duplicate(args, 1));
        cJSON_AddBoolToObject(rec, "isError", is_error);
        cJSON_AddItemToObject(rec, "result", result);
        cJSON_AddItemToArray(u->tool_calls, cJSON_Duplicate(rec, 1));
        cJSON_AddItemToArray(done, rec);
    }
}

/* One model call over the chain from u->cur on; FM_OK with *a, or after answering. */
static int call_model(run_t *u, orch_answer_t *a)
{
    double temp = cJSON_IsNumber(cJSON_GetObjectItem(u->cfg, "temperature"))
                      ? cJSON_GetObjectItem(u->cfg, "temperature")->valuedouble : -1;
    int max_tokens = cJSON_IsNumber(cJSON_GetObjectItem(u->cfg, "maxTokens"))
                         ? cJSON_GetObjectItem(u->cfg, "maxTokens")->valueint : 0;
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(u->cfg, "local"), "rules");
    long last_status = 0;
    for (; u->cur < u->nchain; u->cur++) {
        const target_t *t = &u->chain[u->cur];
        orch_call_t c = {
            .prov = t->prov, .model = t->model, .system = u->system, .messages = u->messages,
            .tools = u->tools, .temperature = temp, .max_tokens = max_tokens, .local_rules = rules,
            .on_token = u->stream ? on_token : NULL, .arg = u,
        };
        if (orch_provider_call(&c, a) == FM_OK)
            return FM_OK;
        last_status = a->status;
        cJSON *at = cJSON_CreateObject();
        cJSON_AddStringToObject(at, "provider", t->prov->name);
        cJSON_AddStringToObject(at, "model", t->model);
        cJSON_AddNumberToObject(at, "status", (double)a->status);
        cJSON_AddStringToObject(at, "error", a->error);
        cJSON_AddItemToArray(u->attempts, at);
        fm_log_t lg;
        fm_log_begin(&lg, FM_LOG_WARN, "orchestration: provider call failed");
        fm_log_str(&lg, "callId", u->call_id);
        fm_log_str(&lg, "provider", t->prov->name);
        fm_log_str(&lg, "error", a->error);
        fm_log_end(&lg);
        bool streamed = a->streamed;
        orch_answer_release(a);
        if (streamed || u->client_gone)    /* text already went out: no other provider can continue it */
            break;
    }
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "attempts", cJSON_Duplicate(u->attempts, 1));
    const cJSON *last = cJSON_GetArrayItem(u->attempts, cJSON_GetArraySize(u->attempts) - 1);
    int status = last_status == 0 ? 504 : 502;
    return fail(u, status, "failed", ext, "every provider of agent '%s' failed; the last: %s: %s", u->agent,
                str_of(last, "provider"), str_of(last, "error")), FM_REPLIED;
}

static void meter(run_t *u, const orch_answer_t *a)
{
    const target_t *t = &u->chain[u->cur];
    double cost = a->input_tokens / 1000.0 * t->prov->price_input + a->output_tokens / 1000.0 * t->prov->price_output;
    u->in_tok += a->input_tokens;
    u->out_tok += a->output_tokens;
    u->cost += cost;
    orch_usage_t us = { u->call_id, u->agent, t->prov->name, t->model, a->input_tokens, a->output_tokens, cost, false };
    if (orch_usage_add(db_of(u->r), u->tenant, &us) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "orchestration: a usage row could not be stored", u->call_id);
}

static cJSON *result_json(run_t *u, bool cached)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "callId", u->call_id);
    cJSON_AddStringToObject(o, "output", u->output ? u->output : "");
    cJSON_AddItemToObject(o, "toolCalls", cJSON_Duplicate(u->tool_calls, 1));
    cJSON *us = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(us, "inputTokens", u->in_tok);
    cJSON_AddNumberToObject(us, "outputTokens", u->out_tok);
    cJSON_AddNumberToObject(us, "totalTokens", u->in_tok + u->out_tok);
    cJSON_AddNumberToObject(us, "cost", u->cost);
    cJSON_AddStringToObject(o, "model", u->chain[u->cur].model);
    cJSON_AddStringToObject(o, "provider", u->chain[u->cur].prov->name);
    cJSON_AddBoolToObject(o, "cached", cached);
    cJSON_AddNumberToObject(o, "steps", cJSON_GetArraySize(u->steps));
    cJSON_AddNumberToObject(o, "examples", u->examples);
    cJSON_AddStringToObject(o, "stopReason", u->stop_reason ? u->stop_reason : "end");
    if (cJSON_GetArraySize(u->attempts) > 0)
        cJSON_AddItemToObject(o, "failedAttempts", cJSON_Duplicate(u->attempts, 1));
    return o;
}

/* The finished answer: JSON, or the stream's last event. */
static int answer(run_t *u, cJSON *res)
{
    if (!u->stream)
        return fm_reply_json(u->r, 200, res);
    if (!begin_stream(u)) {
        cJSON_Delete(res);
        return fm_reply_stream_end(u->r);
    }
    char *s = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_addf(&b, "event: done\ndata: %s\n\n", s ? s : "{}");
    cJSON_free(s);
    if (!u->client_gone)
        fm_reply_stream_write(u->r, b.data, b.len);
    fm_buf_release(&b);
    return fm_reply_stream_end(u->r);
}

static void cache_key(run_t *u, char out[65])
{
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "agent", u->agent);
    cJSON_AddNumberToObject(k, "revision", cJSON_GetNumberValue(cJSON_GetObjectItem(u->record, "revision")));
    cJSON_AddStringToObject(k, "provider", u->chain[0].prov->name);
    cJSON_AddStringToObject(k, "model", u->chain[0].model);
    cJSON_AddStringToObject(k, "system", u->system ? u->system : "");
    cJSON_AddItemToObject(k, "messages", cJSON_Duplicate(u->messages, 1));
    cJSON *names = cJSON_AddArrayToObject(k, "tools");
    const cJSON *t;
    cJSON_ArrayForEach(t, u->tools)
        cJSON_AddItemToArray(names, cJSON_CreateString(str_of(t, "name")));
    char *s = cJSON_PrintUnformatted(k);
    cJSON_Delete(k);
    sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
    cJSON_free(s);
}

static int invoke_common(fm_req_t *r, bool stream)
{
    run_t u = { .r = r, .tenant = fm_req_tenant(r), .agent = fm_req_param(r, "id"), .stream = stream };
    fm_id_fast("aicall", u.call_id, sizeof(u.call_id));
    u.tool_calls = cJSON_CreateArray();
    u.steps = cJSON_CreateArray();
    u.attempts = cJSON_CreateArray();
    const cJSON *b = fm_req_json(r);
    int rc = FM_OK;
    static const char *const known[] = { "messages", "input", "variables", "tools", "cache", "taskType",
                                         "costTier", NULL };
    if (!agent_ok(u.agent)) {
        rc = fail(&u, 404, "refused", NULL, "no agent configuration '%.128s' in this tenant", u.agent);
        goto cleanup;
    }
    if (!cJSON_IsObject(b)) {
        rc = fail(&u, 422, "failed", NULL, "the body must be a JSON object");
        goto cleanup;
    }
    if (!fm_req_members_known(r, b, "", known, "docs/ai.md")) {
        audit(&u, "failed", 422, "unknown member in the request");
        goto cleanup;
    }
    const cJSON *cache = cJSON_GetObjectItemCaseSensitive(b, "cache");
    if (cache && !cJSON_IsBool(cache)) {
        rc = fail(&u, 422, "failed", NULL, "cache: must be a boolean");
        goto cleanup;
    }
    for (const char *k = "taskType\0costTier\0"; *k; k += strlen(k) + 1) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, k);
        if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > 128)) {
            rc = fail(&u, 422, "failed", NULL, "%s: must be a string of at most 128 characters", k);
            goto cleanup;
        }
    }
    rc = orch_config_get(db_of(r), u.tenant, u.agent, &u.record);
    if (rc == FM_ENOTFOUND) {
        rc = fail(&u, 404, "refused", NULL, "no agent configuration '%s' in this tenant", u.agent);
        goto cleanup;
    }
    if (rc != FM_OK)
        goto cleanup;
    u.cfg = cJSON_GetObjectItem(u.record, "config");
    route(&u, b);
    if (u.nchain == 0) {
        rc = fail(&u, 503, "failed", NULL, "agent '%s' names no provider that is configured now", u.agent);
        goto cleanup;
    }
    if (!take_messages(&u, b) || !take_tools(&u, b))
        goto cleanup;
    few_shot(&u);

    const fm_config_t *cf = fm_cfg();
    bool use_cache = cf->ai_cache_ttl_s > 0 && !cJSON_IsFalse(cache);
    char key[65] = "";
    if (use_cache) {
        cache_key(&u, key);
        cJSON *hit = NULL;
        if (orch_cache_get(db_of(r), u.tenant, key, &hit) == FM_OK) {
            cJSON_ReplaceItemInObject(hit, "callId", cJSON_CreateString(u.call_id));
            cJSON_ReplaceItemInObject(hit, "cached", cJSON_CreateBool(1));
            free(u.output);
            u.output = strdup(str_of(hit, "output") ? str_of(hit, "output") : "");
            orch_usage_t us = { u.call_id, u.agent, str_of(hit, "provider"), str_of(hit, "model"), 0, 0, 0, true };
            orch_usage_add(db_of(r), u.tenant, &us);
            audit(&u, "cached", 200, NULL);
            if (stream && *u.output)
                on_token(u.output, strlen(u.output), &u);
            rc = answer(&u, hit);
            goto cleanup;
        }
    }
    if (cf->ai_quota_tokens > 0) {
        int64_t now = fm_time_unix_ms(), used = 0, oldest = 0, window = (int64_t)cf->ai_quota_window_s * 1000;
        if (orch_usage_since(db_of(r), u.tenant, now - window, &used, &oldest) == FM_OK && used >= cf->ai_quota_tokens) {
            int64_t wait_s = (oldest + window - now + 999) / 1000;
            char ra[24];
            snprintf(ra, sizeof(ra), "%lld", (long long)(wait_s > 0 ? wait_s : 1));
            fm_reply_header(r, "Retry-After", ra);
            cJSON *ext = cJSON_CreateObject();
            cJSON_AddNumberToObject(ext, "quotaTokens", cf->ai_quota_tokens);
            cJSON_AddNumberToObject(ext, "usedTokens", (double)used);
            rc = fail(&u, 429, "refused", ext, "tenant '%s' used %lld of its %d tokens in %d s; retry in %s s",
                      u.tenant, (long long)used, cf->ai_quota_tokens, cf->ai_quota_window_s, ra);
            goto cleanup;
        }
    }

    int max_steps = cf->ai_max_steps;
    const cJSON *ms = cJSON_GetObjectItem(u.cfg, "maxSteps");
    if (cJSON_IsNumber(ms) && ms->valueint < max_steps)
        max_steps = ms->valueint;
    for (int step = 1;; step++) {
        orch_answer_t a;
        if (call_model(&u, &a) != FM_OK)
            goto cleanup;
        meter(&u, &a);
        cJSON *st = cJSON_CreateObject();
        cJSON_AddNumberToObject(st, "step", step);
        cJSON_AddStringToObject(st, "provider", u.chain[u.cur].prov->name);
        cJSON_AddStringToObject(st, "model", u.chain[u.cur].model);
        cJSON_AddNumberToObject(st, "inputTokens", a.input_tokens);
        cJSON_AddNumberToObject(st, "outputTokens", a.output_tokens);
        cJSON_AddItemToArray(u.steps, st);
        free(u.output);
        u.output = a.text;
        a.text = NULL;
        if (cJSON_GetArraySize(a.tool_calls) == 0) {
            orch_answer_release(&a);
            break;
        }
        const cJSON *mt = cJSON_GetObjectItem(u.cfg, "maxTotalTokens");
        bool over = cJSON_IsNumber(mt) && u.in_tok + u.out_tok >= mt->valueint;
        if (step >= max_steps || over) {
            u.stop_reason = over ? "maxTokens" : "maxSteps";
            cJSON_AddItemToObject(st, "unanswered", a.tool_calls);
            a.tool_calls = NULL;
            break;
        }
        run_tools(&u, &a, st);
        orch_answer_release(&a);
        if (u.client_gone)
            break;
    }
    audit(&u, "ok", 200, u.stop_reason);
    cJSON *res = result_json(&u, false);
    if (use_cache && cJSON_GetArraySize(u.tool_calls) == 0 && !u.stop_reason)
        orch_cache_put(db_of(r), u.tenant, key, res, cf->ai_cache_ttl_s);
    rc = answer(&u, res);
cleanup:
    run_release(&u);
    return rc == FM_REPLIED ? FM_OK : rc;
}

static int invoke_bounded(fm_req_t *r, bool stream)
{
    if (atomic_fetch_add(&inflight, 1) >= INFLIGHT_MAX) {
        atomic_fetch_sub(&inflight, 1);
        fm_reply_header(r, "Retry-After", "1");
        return fm_reply_problem(r, 503, NULL, NULL, NULL, "%d agent calls are in flight already; retry shortly",
                                INFLIGHT_MAX);
    }
    int rc = invoke_common(r, stream);
    atomic_fetch_sub(&inflight, 1);
    return rc;
}

static int invoke(fm_req_t *r)
{
    return invoke_bounded(r, false);
}

static int stream(fm_req_t *r)
{
    return invoke_bounded(r, true);
}

/* ---- embeddings ---- */

/* The agent's own provider (with embeddingModel, else model) embeds `input`. */
static int embeddings(fm_req_t *r)
{
    run_t u = { .r = r, .tenant = fm_req_tenant(r), .agent = fm_req_param(r, "id") };
    fm_id_fast("aicall", u.call_id, sizeof(u.call_id));
    u.attempts = cJSON_CreateArray();
    const cJSON *b = fm_req_json(r);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(b, "input"), *x;
    cJSON *inputs = NULL, *data = NULL;
    int rc = FM_OK;
    static const char *const known[] = { "input", NULL };
    if (!cJSON_IsObject(b)) {
        rc = fail(&u, 422, "failed", NULL, "the body must be a JSON object");
        goto cleanup;
    }
    if (!fm_req_members_known(r, b, "", known, "docs/ai.md")) {
        audit(&u, "failed", 422, "unknown member in the request");
        goto cleanup;
    }
    inputs = cJSON_IsString(in) ? cJSON_CreateStringArray((const char *const[]){ in->valuestring }, 1)
                                : cJSON_Duplicate(in, 1);
    bool ok = cJSON_IsArray(inputs) && cJSON_GetArraySize(inputs) >= 1 && cJSON_GetArraySize(inputs) <= 256;
    cJSON_ArrayForEach(x, inputs)
        ok = ok && cJSON_IsString(x) && strlen(x->valuestring) <= 65536;
    if (!ok) {
        rc = fail(&u, 422, "failed", NULL, "input: a string or an array of 1 to 256 strings of at most 64 KiB");
        goto cleanup;
    }
    rc = orch_config_get(db_of(r), u.tenant, u.agent, &u.record);
    if (rc == FM_ENOTFOUND) {
        rc = fail(&u, 404, "refused", NULL, "no agent configuration '%s' in this tenant", u.agent);
        goto cleanup;
    }
    if (rc != FM_OK)
        goto cleanup;
    u.cfg = cJSON_GetObjectItem(u.record, "config");
    cJSON *self = cJSON_CreateObject();
    cJSON_AddStringToObject(self, "provider", str_of(u.cfg, "provider") ? str_of(u.cfg, "provider") : "local");
    add_target(&u, self, str_of(u.cfg, "embeddingModel") ? str_of(u.cfg, "embeddingModel") : str_of(u.cfg, "model"));
    cJSON_Delete(self);
    if (u.nchain == 0) {
        rc = fail(&u, 503, "failed", NULL, "agent '%s' names no provider that is configured now", u.agent);
        goto cleanup;
    }
    char *text = cJSON_PrintUnformatted(inputs);
    u.messages = cJSON_CreateArray();
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "embed");
    cJSON_AddStringToObject(m, "content", text ? text : "");
    cJSON_AddItemToArray(u.messages, m);
    cJSON_free(text);
    orch_answer_t a;
    rc = orch_provider_embed(u.chain[0].prov, u.chain[0].model, inputs, &a, &data);
    if (rc == FM_EINVAL) {
        rc = fail(&u, 422, "failed", NULL, "%s", a.error);
        goto cleanup;
    }
    if (rc != FM_OK) {
        rc = fail(&u, a.status == 0 ? 504 : 502, "failed", NULL, "provider '%s': %s", u.chain[0].prov->name, a.error);
        goto cleanup;
    }
    meter(&u, &a);
    audit(&u, "ok", 200, "embeddings");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "callId", u.call_id);
    cJSON_AddItemToObject(o, "data", data);
    data = NULL;
    cJSON_AddStringToObject(o, "model", u.chain[0].model);
    cJSON_AddStringToObject(o, "provider", u.chain[0].prov->name);
    cJSON *us = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(us, "inputTokens", u.in_tok);
    cJSON_AddNumberToObject(us, "cost", u.cost);
    rc = fm_reply_json(r, 200, o);
cleanup:
    cJSON_Delete(inputs);
    cJSON_Delete(data);
    run_release(&u);
    return rc == FM_REPLIED ? FM_OK : rc;
}

/* ---- usage and audit ---- */

/* RFC 3339 (…Z or ±hh:mm offset) or epoch milliseconds; -1 when neither. */
static int64_t parse_time(const char *s)
{
    char *end;
    long long ms = strtoll(s, &end, 10);
    if (*s && !*end)
        return ms;
    struct tm tm = { 0 };
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6)
        return -1;
    const char *p = s + n;
    int frac_ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 60 + mm) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return ((int64_t)timegm(&tm) - off) * 1000 + frac_ms;
}

static int usage(fm_req_t *r)
{
    char b1[64], b2[64], b3[32];
    const char *from = fm_req_query(r, "from", b1, sizeof(b1));
    const char *to = fm_req_query(r, "to", b2, sizeof(b2));
    const char *gb = fm_req_query(r, "groupBy", b3, sizeof(b3));
    int64_t f = from ? parse_time(from) : 0, t = to ? parse_time(to) : INT64_MAX;
    if (f < 0)
        return fm_reply_invalid(r, "from", "an RFC 3339 time or epoch milliseconds");
    if (t < 0)
        return fm_reply_invalid(r, "to", "an RFC 3339 time or epoch milliseconds");
    if (!gb)
        gb = "agent";
    if (strcmp(gb, "agent") && strcmp(gb, "model") && strcmp(gb, "provider") && strcmp(gb, "day"))
        return fm_reply_invalid(r, "groupBy", "one of agent, model, provider, day");
    cJSON *out = NULL;
    int rc = orch_usage_report(db_of(r), fm_req_tenant(r), f, t, gb, &out);
    return rc == FM_OK ? fm_reply_json(r, 200, out) : rc;
}

static int audit_list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    cJSON *items = NULL;
    int rc = orch_audit_list(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), limit, &items);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    return fm_reply_json(r, 200, o);
}

static const fm_route_t routes[] = {
    { FM_POST, "/agents/{id}/invoke", invoke, FM_R_JSON, "agent:invoke" },
    { FM_POST, "/agents/{id}/stream", stream, FM_R_JSON, "agent:invoke" },
    { FM_POST, "/agents/{id}/config", config_create, FM_R_JSON, "agent:write" },
    { FM_PUT, "/agents/{id}/config", config_put, FM_R_JSON, "agent:write" },
    { FM_GET, "/agents/{id}/config", config_get, 0, "agent:read" },
    { FM_POST, "/agents/{id}/embeddings", embeddings, FM_R_JSON, "agent:invoke" },
    { FM_GET, "/agents/{id}/audit", audit_list, 0, "agent:read" },
    { FM_GET, "/agents/usage", usage, 0, "agent:read" },
};

const fm_module_t fm_orchestration_module = {
    "orchestration", "AI Agent Orchestration", 9007, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
