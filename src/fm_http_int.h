/*
 * fm_http_int.h — private to the HTTP layer (fm_http.c, fm_req.c, fm_core_routes.c):
 * the request struct behind fm_req_t and the dispatcher shared by CivetWeb requests and
 * in-process fm_call.
 */
#ifndef FM_HTTP_INT_H
#define FM_HTTP_INT_H

#include "auth/fm_auth.h"
#include "fm_buf.h"
#include "fm_req.h"
#include "fm_router.h"

struct mg_connection;

typedef struct fm_hdr { const char *name, *value; } fm_hdr_t;
typedef struct fm_qparam { const char *name, *value; } fm_qparam_t;

struct fm_req {
    struct mg_connection *conn;     /* NULL under fm_call */
    fm_method_t method;
    const char *method_text;
    const char *path;               /* as matched (after /api on web-app ports) */
    const char *query;
    fm_qparam_t *qv;                /* the query, decoded once by the dispatcher (owned) */
    size_t nq;
    const fm_port_t *port;          /* NULL under fm_call */
    const fm_rentry_t *route;
    fm_params_t params;
    char rid[132];
    char tenant[72];
    char *body;                     /* owned when read from the connection */
    size_t body_len;
    bool body_owned;
    cJSON *json;
    const fm_hdr_t *call_headers;   /* fm_call: headers passed along */
    size_t ncall_headers;
    fm_buf_t hdrs;                  /* extra response headers, "Name: value\r\n" */
    int status;
    size_t bytes_out;
    bool replied;
    fm_buf_t *capture;              /* fm_call: the response body goes here */
    bool capture_whole;             /* fm_http_port_dispatch: the whole response (status
                                       line, headers, body) goes to capture */
    bool upgrade;                   /* the client asks to upgrade to a WebSocket */
    fm_principal_t principal;       /* valid when has_principal */
    bool has_principal;
    bool internal;                  /* in-process call on the platform's own behalf */
    const char *peer;               /* fm_call: the caller's client address (borrowed) */
};

/* Runs the request through table: match, body, checks, handler, metrics, log. */
void fm__dispatch(fm_req_t *r, const fm_rtable_t *table);
void fm__req_release(fm_req_t *r);

/* The routing of the running server (fm_server.c); tests set their own. */
const fm_routing_t *fm__routing(void);
void fm__routing_set(const fm_routing_t *r);

const char *fm__reason(int status);
/* fm_server.c: a request arriving while serve finishes starting (after the bind) waits
 * until it has, at most ~30 s. */
void fm__start_wait(void);
/* fm_port_owner.c: the line for a taken port `port` (with the offset): who holds it and a
 * --port-offset to use instead. */
void fm__port_busy_line(const fm_routing_t *routing, int port, char *out, size_t len);

#endif
