/*
 * mcp.c — FlowMaster MCP Server (9000 `/mcp`): the Streamable HTTP transport of the Model
 * Context Protocol (revision 2025-11-25; 2025-06-18 and 2025-03-26 negotiated for older
 * clients). POST takes one JSON-RPC message (a batch only in a 2025-03-26 session) and
 * answers application/json, or 202 for notifications and responses, or an SSE stream
 * for a tools/call carrying a progress token (progress, log messages, then the
 * response); GET opens the session's server-message stream (mcp_stream.c: resource
 * updates, log messages); DELETE ends a session and its stream.
 *
 * Before any of that: the Origin (and, on a loopback listener, the Host) must be ours
 * (403 otherwise: DNS rebinding), the bearer token valid (401 with the RFC 9728
 * resource_metadata pointer otherwise), the token's tenant the tenant asked for, and
 * the role must grant mcp:use. Transport refusals are problem+json; JSON-RPC failures
 * are JSON-RPC error objects. docs/mcp.md says all of it.
 */
#include "mcp_int.h"

#include "../../auth/fm_auth.h"
#include "../../fm_buf.h"
#include "../../fm_config.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- who may call ---- */

/* The host part of "scheme://host[:port]" or "host[:port]" into out (lower case). */
static void host_of(const char *s, char *out, size_t len)
{
    const char *p = strstr(s, "://");
    p = p ? p + 3 : s;
    size_t n = 0;
    if (*p == '[') {        /* [::1]:9000 */
        const char *e = strchr(p, ']');
        n = e ? (size_t)(e - p + 1) : strlen(p);
    } else {
        n = strcspn(p, ":/");
    }
    snprintf(out, len, "%.*s", (int)n, p);
    for (char *c = out; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
}

static bool loopback_host(const char *h)
{
    return !strcmp(h, "localhost") || !strcmp(h, "[::1]") || !strcmp(h, "::1") ||
           (!strncmp(h, "127.", 4) && strspn(h + 4, "0123456789.") == strlen(h + 4));
}

/* An Origin is ours when its host is a loopback name or it is one of gateway.cors_origins. */
static bool origin_ok(const char *origin)
{
    char host[256];
    host_of(origin, host, sizeof(host));
    if (strncmp(origin, "http://", 7) && strncmp(origin, "https://", 8))
        return false;       /* "null" and the like */
    if (loopback_host(host))
        return true;
    const char *list = fm_cfg()->gateway_cors_origins;
    size_t n = strlen(origin);
    for (const char *p = strstr(list, origin); p; p = strstr(p + 1, origin))
        if ((p == list || p[-1] == ',' || p[-1] == ' ') && (!p[n] || p[n] == ',' || p[n] == ' '))
            return true;
    return false;
}

static int forbid_foreign(fm_req_t *r)
{
    const char *origin = fm_req_header(r, "Origin");
    if (origin && !origin_ok(origin)) {
        fm_reply_problem(r, 403, "urn:flowmaster:problem:mcp-origin", "Origin Not Allowed", NULL,
                         "the Origin '%.200s' is not allowed to use this MCP server (DNS rebinding "
                         "protection: loopback origins and gateway.cors_origins only)", origin);
        return FM_REPLIED;
    }
    char listen[64], host[256];
    host_of(fm_cfg()->listen, listen, sizeof(listen));
    const char *h = fm_req_header(r, "Host");
    if (h && fm_req_port(r) && loopback_host(listen)) {
        host_of(h, host, sizeof(host));
        if (!loopback_host(host)) {
            fm_reply_problem(r, 403, "urn:flowmaster:problem:mcp-origin", "Host Not Allowed", NULL,
                             "the Host '%.200s' is not this server's: it listens on loopback only "
                             "(DNS rebinding protection)", h);
            return FM_REPLIED;
        }
    }
    return FM_OK;
}

/* A URL on this server's 9000 (the RFC 9728 document, the resource itself). */
static void resource_url(char *out, size_t len, const char *suffix)
{
    fm_local_url(9000, suffix, out, len);
}

/* The caller: the token's principal (tenant, sub, grants), and in the anonymous mode
 * the token minted for it, which the route calls then carry. */
typedef struct who {
    fm_principal_t p;
    char bearer[2048];      /* "Bearer …" for fm_call in the anonymous mode, else "" */
} who_t;

static bool anonymous_on(void)
{
    return fm_cfg()->mcp_anonymous_tenant[0] != 0;
}

/* mcp.anonymous_tenant / anonymous_role: a caller without a token acts as "mcp:anonymous"
 * with that built-in role in that tenant, through a short-lived token minted here (so the
 * routes check it like any other). Off by default; refused unless serving on loopback. */
static int start(fm_mod_t *m)
{
    const fm_config_t *c = fm_cfg();
    if (!anonymous_on())
        return FM_OK;
    char listen[64];
    host_of(c->listen, listen, sizeof(listen));
    const char *why = NULL;
    if (!loopback_host(listen))
        why = "mcp.anonymous_tenant is allowed only when server.listen is a loopback address";
    else if (!fm_role_builtin(c->mcp_anonymous_role))
        why = "mcp.anonymous_role must name a built-in role (viewer, participant, operator, designer, admin)";
    if (why) {
        fm_log_msg(FM_LOG_ERROR, "mcp", why);
        fprintf(stderr, "flowmaster: %s\n", why);
        return FM_EINVAL;
    }
    fm_log_msg(FM_LOG_WARN, "mcp", "unauthenticated MCP callers act in mcp.anonymous_tenant (loopback only)");
    return FM_OK;
}

static pthread_mutex_t anon_lock = PTHREAD_MUTEX_INITIALIZER;
static char anon_token[1800];
static int64_t anon_exp;

static int anonymous(who_t *w)
{
    const fm_config_t *c = fm_cfg();
    int64_t now = fm_time_unix_ms() / 1000;
    pthread_mutex_lock(&anon_lock);
    if (anon_exp - now < 60) {
        cJSON *claims = cJSON_CreateObject();
        char jti[37];
        fm_uuid7(jti);
        cJSON_AddStringToObject(claims, "sub", "mcp:anonymous");
        cJSON_AddStringToObject(claims, "aud", FM_AUDIENCE);
        cJSON_AddNumberToObject(claims, "iat", (double)now);
        cJSON_AddNumberToObject(claims, "nbf", (double)now);
        cJSON_AddNumberToObject(claims, "exp", (double)(now + 600));
        cJSON_AddStringToObject(claims, "jti", jti);
        cJSON_AddStringToObject(claims, "typ", "access");
        cJSON_AddStringToObject(claims, "tenant", c->mcp_anonymous_tenant);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(claims, "roles"), cJSON_CreateString(c->mcp_anonymous_role));
        char *tok = fm_jwt_sign(claims);
        cJSON_Delete(claims);
        if (tok && strlen(tok) < sizeof(anon_token)) {
            snprintf(anon_token, sizeof(anon_token), "%s", tok);
            anon_exp = now + 600;
        }
        free(tok);
    }
    snprintf(w->bearer, sizeof(w->bearer), "Bearer %s", anon_token);
    pthread_mutex_unlock(&anon_lock);
    cJSON *claims = NULL;
    char why[64];
    int rc = fm_jwt_verify(w->bearer + 7, &claims, why, sizeof(why));
    if (rc == FM_OK)
        rc = fm_principal_from_claims(claims, &w->p);
    cJSON_Delete(claims);
    return rc;
}

/* Token (or the anonymous mode), tenant, mcp:use. FM_OK with *w filled. */
static int authenticate(fm_req_t *r, who_t *w)
{
    const fm_principal_t *p = fm_req_principal(r);
    const char *authz = fm_req_header(r, "Authorization");
    bool sent = authz && !strncasecmp(authz, "Bearer ", 7);
    w->bearer[0] = 0;
    if (p) {
        w->p = *p;
    } else if (!authz && anonymous_on() && anonymous(w) == FM_OK) {
        p = &w->p;
    } else {
        char meta[200], h[320];
        resource_url(meta, sizeof(meta), "/.well-known/oauth-protected-resource");
        if (sent)
            snprintf(h, sizeof(h), "Bearer resource_metadata=\"%s\", error=\"invalid_token\", "
                     "error_description=\"the access token is invalid or expired\"", meta);
        else
            snprintf(h, sizeof(h), "Bearer resource_metadata=\"%s\"", meta);
        fm_reply_header(r, "WWW-Authenticate", h);
        fm_reply_problem(r, 401, NULL, NULL, NULL, "authentication required: %s",
                         sent ? "the bearer token is invalid or expired" : "no bearer token");
        return FM_REPLIED;
    }
    char mine[200];
    resource_url(mine, sizeof(mine), "/mcp");
    if (p->resource[0] && strcmp(p->resource, mine)) {
        /* RFC 8707: a token issued for another resource is not for us */
        char meta[200], h[400];
        resource_url(meta, sizeof(meta), "/.well-known/oauth-protected-resource");
        snprintf(h, sizeof(h), "Bearer resource_metadata=\"%s\", error=\"invalid_token\", "
                 "error_description=\"the token was issued for another resource\"", meta);
        fm_reply_header(r, "WWW-Authenticate", h);
        fm_reply_problem(r, 401, NULL, NULL, NULL, "authentication required: this token was issued for the "
                         "resource '%.200s', not for %s", p->resource, mine);
        return FM_REPLIED;
    }
    const char *asked = fm_req_header(r, "X-Tenant-Id");
    if (asked && strcmp(asked, p->tenant)) {
        fm_reply_problem(r, 403, NULL, NULL, NULL, "this token is not valid for tenant '%s'", fm_req_tenant(r));
        return FM_REPLIED;
    }
    if (!fm_authz(p, "mcp:use", NULL)) {
        fm_reply_problem(r, 403, NULL, NULL, NULL, "permission 'mcp:use' is required for this resource");
        return FM_REPLIED;
    }
    return FM_OK;
}

/* ---- answers ---- */

static int reply_rpc(fm_req_t *r, int status, cJSON *msg)
{
    return fm_reply_json(r, status, msg);
}

static int check_version_header(fm_req_t *r, const char **version)
{
    const char *v = fm_req_header(r, "MCP-Protocol-Version");
    if (!v) {   /* the revision says: assume 2025-03-26 */
        *version = "2025-03-26";
        return FM_OK;
    }
    *version = mcp_version_known(v);
    if (*version)
        return FM_OK;
    fm_reply_problem(r, 400, "urn:flowmaster:problem:mcp-protocol-version", "Unsupported MCP Protocol Version",
                     NULL, "MCP-Protocol-Version '%.40s' is not one this server speaks (" MCP_LATEST
                     ", 2025-06-18, 2025-03-26)", v);
    return FM_REPLIED;
}

/* The session named by Mcp-Session-Id. 400 without one, 404 for an unknown one. */
static int find_session(fm_req_t *r, const who_t *w, mcp_session_t *s)
{
    const char *id = fm_req_header(r, "Mcp-Session-Id");
    if (!id) {
        fm_reply_problem(r, 400, "urn:flowmaster:problem:mcp-session-required", "Session Required", NULL,
                         "the Mcp-Session-Id header is required (initialize first)");
        return FM_REPLIED;
    }
    if (mcp_session_touch(id, w->p.tenant, w->p.sub, s) != FM_OK) {
        fm_reply_problem(r, 404, "urn:flowmaster:problem:mcp-session-not-found", "Session Not Found", NULL,
                         "there is no MCP session '%.60s' (ended, expired or never made): initialize again", id);
        return FM_REPLIED;
    }
    return FM_OK;
}

static int initialize(fm_req_t *r, const who_t *w, const cJSON *msg)
{
    mcp_session_t s;
    memset(&s, 0, sizeof(s));
    cJSON *err = NULL;
    cJSON *res = mcp_rpc_initialize(msg, s.version, &err);
    if (!res)
        return reply_rpc(r, 200, err);
    snprintf(s.tenant, sizeof(s.tenant), "%s", w->p.tenant);
    snprintf(s.sub, sizeof(s.sub), "%s", w->p.sub);
    s.log_level = 1;    /* info */
    if (mcp_session_create(&s) != FM_OK) {
        cJSON_Delete(res);
        fm_reply_header(r, "Retry-After", "60");
        return fm_reply_problem(r, 503, NULL, NULL, NULL, "%d MCP sessions are open, the most this server keeps",
                                MCP_SESSIONS_MAX);
    }
    fm_reply_header(r, "Mcp-Session-Id", s.id);
    return reply_rpc(r, 200, mcp_rpc_result(cJSON_GetObjectItemCaseSensitive(msg, "id"), res));
}

static bool wants_sse(fm_req_t *r)
{
    const char *a = fm_req_header(r, "Accept");
    return a && strstr(a, "text/event-stream");
}

/* tools/call: registered so that notifications/cancelled can stop it. With a progress
 * token (and an Accept naming text/event-stream) the answer is an SSE stream: progress
 * and log notifications as they happen, then the response. A cancelled call gets no
 * response: its stream ends empty. */
static int tool_call(fm_req_t *r, mcp_ctx_t *c, const cJSON *msg)
{
    mcp_call_t call = { 0 };
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(msg, "params"), "_meta");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    if (tok && !cJSON_IsString(tok) && !cJSON_IsNumber(tok))
        return reply_rpc(r, 200, mcp_rpc_error(id, RPC_INVALID_PARAMS, "invalid params: params._meta.progressToken "
                                               "must be a string or a number", "params._meta.progressToken"));
    c->call = &call;
    int slot = mcp_call_register(c->session->id, id, &call.cancelled);
    if (tok && wants_sse(r)) {
        call.progress_token = tok;
        call.stream = r;
        if (fm_reply_stream_begin(r, 200, "text/event-stream") != FM_OK)
            call.broken = true;
    }
    cJSON *out = mcp_rpc_handle(c, msg);
    mcp_call_unregister(slot);
    if (call.stream) {
        if (!call.cancelled && !call.broken)
            mcp_sse_event(r, out);
        else
            cJSON_Delete(out);
        if (!call.broken)
            fm_reply_stream_end(r);
        return FM_OK;
    }
    if (call.cancelled) {
        cJSON_Delete(out);
        if (fm_reply_stream_begin(r, 200, "text/event-stream") == FM_OK)
            fm_reply_stream_end(r);
        return FM_OK;
    }
    return reply_rpc(r, 200, out);
}

static int post_as(fm_req_t *r, who_t *w);

static int post(fm_req_t *r)
{
    who_t *w = malloc(sizeof(*w));     /* ~6 KiB: kept off the worker's small stack */
    if (!w)
        return FM_ENOMEM;
    int rc = post_as(r, w);
    free(w);
    return rc;
}

static int post_as(fm_req_t *r, who_t *w)
{
    const char *version;
    if (forbid_foreign(r) || authenticate(r, w) || check_version_header(r, &version))
        return FM_OK;
    size_t len;
    const char *body = fm_req_body(r, &len);
    cJSON *msg = len ? cJSON_ParseWithLength(body, len) : NULL;
    if (!msg)
        return reply_rpc(r, 400, mcp_rpc_error(NULL, RPC_PARSE_ERROR,
                                               len ? "parse error: the body is not JSON" : "parse error: the body is empty", NULL));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "method");
    if (cJSON_IsObject(msg) && cJSON_IsString(m) && !strcmp(m->valuestring, "initialize")) {
        cJSON *err = NULL;
        int kind = mcp_rpc_kind(msg, &err);
        int rc = kind == 'q' ? initialize(r, w, msg)
                             : reply_rpc(r, 400, err ? err : mcp_rpc_error(NULL, RPC_INVALID_REQUEST,
                                                                           "initialize must be a request (with an id)", "id"));
        cJSON_Delete(msg);
        return rc;
    }
    mcp_session_t s;
    if (find_session(r, w, &s) != FM_OK) {
        cJSON_Delete(msg);
        return FM_OK;
    }
    mcp_ctx_t c = { r, w->p.tenant, w->bearer[0] ? w->bearer : NULL, &s, NULL };
    if (cJSON_IsObject(msg) && cJSON_IsString(m) && !strcmp(m->valuestring, "tools/call") &&
        cJSON_GetObjectItemCaseSensitive(msg, "id")) {
        int rc = tool_call(r, &c, msg);
        cJSON_Delete(msg);
        return rc;
    }
    cJSON *out = NULL;
    int status = 200;
    if (cJSON_IsArray(msg)) {
        if (strcmp(s.version, "2025-03-26") || cJSON_GetArraySize(msg) == 0) {
            out = mcp_rpc_error(NULL, RPC_INVALID_REQUEST, cJSON_GetArraySize(msg)
                                ? "JSON-RPC batches are not accepted in this protocol revision (only 2025-03-26)"
                                : "an empty batch is not a JSON-RPC request", NULL);
            status = 400;
        } else {
            out = cJSON_CreateArray();
            const cJSON *one;
            cJSON_ArrayForEach(one, msg) {
                const cJSON *om = cJSON_GetObjectItemCaseSensitive(one, "method");
                cJSON *a = cJSON_IsString(om) && !strcmp(om->valuestring, "initialize")
                               ? mcp_rpc_error(cJSON_GetObjectItemCaseSensitive(one, "id"), RPC_INVALID_REQUEST,
                                               "initialize must not be part of a batch", NULL)
                               : mcp_rpc_handle(&c, one);
                if (a)
                    cJSON_AddItemToArray(out, a);
            }
        }
    } else {
        out = mcp_rpc_handle(&c, msg);
        cJSON *err = NULL;
        if (out && !mcp_rpc_kind(msg, &err))
            status = 400;   /* not a JSON-RPC message at all */
        cJSON_Delete(err);
    }
    cJSON_Delete(msg);
    if (!out || (cJSON_IsArray(out) && !cJSON_GetArraySize(out))) {
        cJSON_Delete(out);
        return fm_reply_status(r, 202);
    }
    return reply_rpc(r, status, out);
}

static int get_stream_as(fm_req_t *r, who_t *w);

static int get_stream(fm_req_t *r)
{
    who_t *w = malloc(sizeof(*w));     /* ~6 KiB: kept off the worker's small stack */
    if (!w)
        return FM_ENOMEM;
    int rc = get_stream_as(r, w);
    free(w);
    return rc;
}

static int get_stream_as(fm_req_t *r, who_t *w)
{
    const char *version;
    if (forbid_foreign(r) || authenticate(r, w) || check_version_header(r, &version))
        return FM_OK;
    if (!wants_sse(r))
        return fm_reply_problem(r, 406, NULL, NULL, NULL, "GET /mcp opens a server-message stream: the Accept "
                                "header must name text/event-stream");
    mcp_session_t s;
    if (find_session(r, w, &s) != FM_OK)
        return FM_OK;
    unsigned gen;
    int slot = mcp_stream_open(s.id, &gen);
    if (slot < 0) {
        fm_reply_header(r, "Retry-After", "30");
        return fm_reply_problem(r, 503, NULL, NULL, NULL, "%d server-message streams are open, the most this "
                                "server keeps: answers still come back on each POST", MCP_STREAMS_MAX);
    }
    /* a priming event (an id, no data), then whatever the server has to say */
    int rc = fm_reply_stream_begin(r, 200, "text/event-stream");
    static const char prime[] = "id: 0\nretry: 5000\ndata: \n\n";
    if (rc == FM_OK)
        rc = fm_reply_stream_write(r, prime, sizeof(prime) - 1);
    char *msgs[16];
    size_t n = 0;
    while (rc == FM_OK) {
        if (mcp_stream_wait(slot, gen, MCP_STREAM_PING_S, msgs, 16, &n) != FM_OK)
            break;
        if (!n) {
            static const char ping[] = ": keep-alive\n\n";
            rc = fm_reply_stream_write(r, ping, sizeof(ping) - 1);
        }
        for (size_t i = 0; i < n; i++) {
            fm_buf_t b = FM_BUF_INIT;
            fm_buf_addf(&b, "event: message\ndata: %s\n\n", msgs[i]);
            if (rc == FM_OK && !b.oom)
                rc = fm_reply_stream_write(r, b.data, b.len);
            fm_buf_release(&b);
            free(msgs[i]);
        }
    }
    mcp_stream_close(slot, gen);
    if (rc == FM_OK)
        fm_reply_stream_end(r);
    return FM_OK;
}

static int end_session_as(fm_req_t *r, who_t *w);

static int end_session(fm_req_t *r)
{
    who_t *w = malloc(sizeof(*w));     /* ~6 KiB: kept off the worker's small stack */
    if (!w)
        return FM_ENOMEM;
    int rc = end_session_as(r, w);
    free(w);
    return rc;
}

static int end_session_as(fm_req_t *r, who_t *w)
{
    const char *version;
    if (forbid_foreign(r) || authenticate(r, w) || check_version_header(r, &version))
        return FM_OK;
    const char *id = fm_req_header(r, "Mcp-Session-Id");
    if (!id)
        return fm_reply_problem(r, 400, "urn:flowmaster:problem:mcp-session-required", "Session Required", NULL,
                                "the Mcp-Session-Id header is required");
    if (mcp_session_delete(id, w->p.tenant, w->p.sub) != FM_OK)
        return fm_reply_problem(r, 404, "urn:flowmaster:problem:mcp-session-not-found", "Session Not Found", NULL,
                                "there is no MCP session '%.60s'", id);
    mcp_session_gone(id);
    return fm_reply_status(r, 204);
}

/* RFC 9728: this server is an OAuth protected resource; our OpenID provider issues its tokens. */
static int protected_resource(fm_req_t *r)
{
    char res[200];
    resource_url(res, sizeof(res), "/mcp");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "resource", res);
    cJSON *as = cJSON_AddArrayToObject(o, "authorization_servers");
    char issuer[FM_JWT_ISSUER_MAX];
    fm_jwt_issuer(issuer, sizeof(issuer));
    cJSON_AddItemToArray(as, cJSON_CreateString(issuer));
    cJSON *m = cJSON_AddArrayToObject(o, "bearer_methods_supported");
    cJSON_AddItemToArray(m, cJSON_CreateString("header"));
    cJSON *sc = cJSON_AddArrayToObject(o, "scopes_supported");
    cJSON_AddItemToArray(sc, cJSON_CreateString("openid"));
    cJSON_AddStringToObject(o, "resource_name", "FlowMaster MCP Server");
    return fm_reply_json(r, 200, o);
}

static const fm_route_t routes[] = {
    { FM_POST, "/mcp", post, FM_R_BODY | FM_R_PUBLIC, "mcp:use" },
    { FM_GET, "/mcp", get_stream, FM_R_PUBLIC, "mcp:use" },
    { FM_DELETE, "/mcp", end_session, FM_R_PUBLIC, "mcp:use" },
    { FM_GET, "/.well-known/oauth-protected-resource", protected_resource, FM_R_PUBLIC, NULL },
    { FM_GET, "/.well-known/oauth-protected-resource/mcp", protected_resource, FM_R_PUBLIC, NULL },
};

const fm_module_t fm_mcp_module = {
    "mcp", "FlowMaster MCP Server", 9000, 0, FM_ROUTES(routes), NULL, start, NULL,
};
