/*
 * mcp_int.h — private to the MCP Server (src/modules/mcp/): the session table, the
 * JSON-RPC method dispatch shared by the transports, the tools and the resources.
 *
 * A call from an MCP client reaches the other modules only through their public routes
 * (fm_call_h with the client's own bearer token and tenant), so permissions, tenants and
 * validation are exactly those of the HTTP API.
 */
#ifndef MCP_INT_H
#define MCP_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define MCP_LATEST "2025-11-25"
#define MCP_SESSIONS_MAX 1024       /* live sessions; a new one beyond is a 503 */
#define MCP_SESSION_IDLE_S 1800     /* a session unused this long is gone (404) */
#define MCP_ID_MAX 48
#define MCP_STREAMS_MAX 32          /* open GET /mcp streams in all (each holds a worker thread) */
#define MCP_STREAM_PING_S 15        /* a keep-alive comment on an idle stream this often */

/* JSON-RPC 2.0 error codes */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_INTERNAL_ERROR (-32603)
#define RPC_RESOURCE_NOT_FOUND (-32002)

/* Protocol revisions we speak, newest first; NULL when `v` is none of them. */
const char *mcp_version_known(const char *v);

/* ---- sessions (mcp_session.c): in memory, any thread ---- */
typedef struct mcp_session {
    char id[MCP_ID_MAX];
    char tenant[72];
    char sub[128];
    char version[16];       /* the negotiated protocol revision */
    int log_level;          /* index into mcp_log_levels */
} mcp_session_t;

/* FM_OK with s->id filled, or FM_EBUSY when MCP_SESSIONS_MAX live sessions exist. */
int mcp_session_create(mcp_session_t *s);
/* FM_OK with *out, or FM_ENOTFOUND (unknown, deleted, expired, or another caller's). */
int mcp_session_touch(const char *id, const char *tenant, const char *sub, mcp_session_t *out);
int mcp_session_set_level(const char *id, int level);
int mcp_session_delete(const char *id, const char *tenant, const char *sub);
extern const char *const mcp_log_levels[];   /* "debug" … "emergency", NULL-terminated */

/* ---- server messages (mcp_stream.c) ---- */
/* GET /mcp: the stream slot for a session (a newer GET of the same session replaces the
 * older, whose holder then leaves), *gen its generation; FM_EBUSY when MCP_STREAMS_MAX
 * are open. */
int mcp_stream_open(const char *session, unsigned *gen);
/* The holder waits up to `seconds` for messages (up to max, taken: caller frees each).
 * FM_OK (maybe *n == 0: time for a keep-alive) or FM_EIO: leave (replaced, session
 * ended, server stopping). */
int mcp_stream_wait(int slot, unsigned gen, int seconds, char **out, size_t max, size_t *n);
void mcp_stream_close(int slot, unsigned gen);
/* Queues a message (taken) on the session's GET stream; false when it has none. */
bool mcp_stream_send(const char *session, cJSON *msg);
/* DELETE or expiry: its stream ends and its subscriptions go. */
void mcp_session_gone(const char *session);
/* resources/subscribe (on) and unsubscribe. FM_EBUSY over 64 per session; FM_EINVAL
 * for a URI over 511 bytes. */
int mcp_subscribe(const char *session, const char *tenant, const char *uri, bool on);
/* A running tools/call: notifications/cancelled for (session, id) sets *flag. The slot,
 * or -1 when the register is full (the call then cannot be cancelled). */
int mcp_call_register(const char *session, const cJSON *id, volatile int *flag);
void mcp_call_unregister(int slot);
void mcp_call_cancel(const char *session, const cJSON *id);

/* ---- JSON-RPC (mcp_rpc.c) ---- */
/* A tools/call in flight: its cancel flag, and the POST's SSE stream when the request
 * carried _meta.progressToken (progress and log messages then go there). */
typedef struct mcp_call {
    volatile int cancelled;
    fm_req_t *stream;               /* NULL: answered as application/json */
    const cJSON *progress_token;    /* borrowed from the request */
    bool broken;                    /* the client went away */
} mcp_call_t;

typedef struct mcp_ctx {
    const fm_req_t *caller;         /* the HTTP request: its token goes along */
    const char *tenant;             /* the tenant the calls act in */
    const char *bearer;             /* "Bearer …" of the anonymous mode, else NULL */
    mcp_session_t *session;         /* NULL while initializing */
    mcp_call_t *call;               /* NULL outside tools/call, and on stdio batches */
} mcp_ctx_t;

/* notifications/progress for the running call (nothing without a progress token). */
void mcp_progress(mcp_ctx_t *c, double progress, double total, const char *message);
/* notifications/message when `level` (index into mcp_log_levels) reaches the session's
 * logging/setLevel: on the call's SSE stream, else on the session's GET stream. */
void mcp_log(mcp_ctx_t *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool mcp_cancelled(const mcp_ctx_t *c);
/* Writes one JSON-RPC message (taken) as an SSE event on a streamed reply. */
int mcp_sse_event(fm_req_t *r, cJSON *msg);

cJSON *mcp_rpc_error(const cJSON *id, int code, const char *message, const char *field);
cJSON *mcp_rpc_result(const cJSON *id, cJSON *result);
/* Classifies one message: 'q' request, 'n' notification, 'r' response (from the
 * client), 0 invalid (then *err gets the error response). */
int mcp_rpc_kind(const cJSON *msg, cJSON **err);
/* The answer to one request or notification (NULL for a notification). */
cJSON *mcp_rpc_handle(mcp_ctx_t *c, const cJSON *msg);
/* initialize: the result, and the revision agreed in *version (16 bytes); on bad params
 * NULL and *err the error response. */
cJSON *mcp_rpc_initialize(const cJSON *msg, char *version, cJSON **err);

/* ---- tools (mcp_tools.c) and resources (mcp_resources.c) ---- */
/* A route call with the caller's identity, in the context's tenant. */
int mcp_route_call(mcp_ctx_t *c, fm_method_t method, const char *path, const char *body,
                   int *status, char **out);
cJSON *mcp_tools_list(void);
/* The tools/call result (isError for route and argument errors), or NULL when the tool
 * is unknown (a protocol error). */
cJSON *mcp_tools_call(mcp_ctx_t *c, const char *name, const cJSON *args);
cJSON *mcp_resources_list(mcp_ctx_t *c, const char *cursor, cJSON **err, const cJSON *id);
cJSON *mcp_resource_templates(void);
cJSON *mcp_resources_read(mcp_ctx_t *c, const char *uri, cJSON **err, const cJSON *id);
cJSON *mcp_prompts_list(void);
cJSON *mcp_prompts_get(mcp_ctx_t *c, const char *name, const cJSON *args, cJSON **err, const cJSON *id);
/* completion/complete: ids (processId, executionId, ruleSetId) starting with prefix;
 * no values for any other argument. */
cJSON *mcp_complete(mcp_ctx_t *c, const char *arg, const char *prefix);
/* Appends s percent-encoded (everything but unreserved characters). */
struct fm_buf;
void mcp_add_encoded(struct fm_buf *b, const char *s);
/* The problem body of a failed route call as one line ("404 Not Found: no process …"). */
void mcp_problem_line(int status, const char *body, char *out, size_t len);

#endif
