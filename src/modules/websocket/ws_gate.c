/*
 * ws_gate.c — the WebSocket Gateway's transport: libwebsockets serving port 9010 on the
 * FlowMaster libuv loop (a foreign loop to lws, through Debian's libuv event-lib plugin).
 *
 * Why not CivetWeb: it holds a worker thread for every open connection for as long as it
 * is open (DESIGN.md), so 1,000 idle sockets would need 1,000 threads. Here a socket is a
 * few hundred bytes of lws state plus our ws_client_t, all served from the loop thread.
 *
 * Every HTTP request that reaches 9010 goes through the core router and auth guard
 * (fm_http_port_dispatch): plain requests (health, ready, a /connect without Upgrade)
 * get the router's answer; an upgrade is let through only when the route's handler
 * answered 101 — so a missing or bad token is a 401 problem+json before the upgrade.
 * Those handlers are small and never block (the loop runs them).
 *
 * Sending: one ws_msg_t per fan-out, shared by reference; each client has a bounded
 * ring of them and gets one frame per writable callback. When a client's ring is full
 * (it does not read), it is closed with 1013 and its queue dropped; others never wait.
 */
#include "ws_int.h"

#include "fm_config.h"
#include "fm_http.h"
#include "fm_log.h"
#include "fm_loop.h"
#include "fm_mod.h"

#include <libwebsockets.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *lctx;
static ws_client_t *head;
static size_t nclients;
static uint64_t serials;
static int canonical_port;

ws_client_t *ws_clients(void) { return head; }
size_t ws_client_count(void) { return nclients; }

ws_msg_t *ws_msg_new(const char *text, size_t len)
{
    ws_msg_t *m = malloc(sizeof(*m) + LWS_PRE + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    m->buf[LWS_PRE + len] = 0;
    return m;
}

void ws_msg_unref(ws_msg_t *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static void queue_drop(ws_client_t *c)
{
    while (c->qlen) {
        ws_msg_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    c->qbytes = 0;
}

void ws_close(ws_client_t *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_code = code;
    if (code == WS_CLOSE_SLOW)
        queue_drop(c);
    fm_log_t l;
    fm_log_begin(&l, code == WS_CLOSE_SLOW ? FM_LOG_WARN : FM_LOG_INFO, "websocket: closing");
    fm_log_int(&l, "connection", (int64_t)c->serial);
    fm_log_str(&l, "tenant", c->tenant);
    fm_log_int(&l, "code", code);
    fm_log_str(&l, "reason", reason);
    fm_log_end(&l);
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
    /* a client that never reads never makes us writable: cut it after 10 s */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 10);
    lws_callback_on_writable(c->wsi);
}

bool ws_send(ws_client_t *c, ws_msg_t *m)
{
    if (!c->established || c->closing)
        return false;
    if (c->qlen >= WS_QUEUE_MAX || c->qbytes + m->len > WS_QUEUE_BYTES) {
        ws_close(c, WS_CLOSE_SLOW, "send queue overflow: the client does not keep up");
        return false;
    }
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 4;
        if (ncap > WS_QUEUE_MAX)
            ncap = WS_QUEUE_MAX;
        ws_msg_t **nq = malloc(ncap * sizeof(*nq));
        if (!nq) {
            ws_close(c, WS_CLOSE_SLOW, "out of memory for the send queue");
            return false;
        }
        for (size_t i = 0; i < c->qlen; i++)
            nq[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = nq;
        c->qhead = 0;
        c->qcap = ncap;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = m;
    m->refs++;
    c->qlen++;
    c->qbytes += m->len;
    if (c->qlen == 1)
        lws_callback_on_writable(c->wsi);
    return true;
}

bool ws_send_text(ws_client_t *c, const char *text, size_t len)
{
    ws_msg_t *m = ws_msg_new(text, len);
    if (!m)
        return false;
    bool ok = ws_send(c, m);
    ws_msg_unref(m);
    return ok;
}

/* ---- requests ---- */

/* Percent-encodes what lws decoded, so the router decodes the query exactly once. */
static size_t encode_arg(const char *s, char *out, size_t room)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    bool name = true;
    for (; *s && j + 4 < room; s++) {
        unsigned char ch = (unsigned char)*s;
        if (name && ch == '=') {
            out[j++] = '=';
            name = false;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                   ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[j++] = (char)ch;
        } else {
            out[j++] = '%';
            out[j++] = hex[ch >> 4];
            out[j++] = hex[ch & 15];
        }
    }
    out[j] = 0;
    return j;
}

typedef struct gathered {
    fm_port_req_t req;
    char path[2048], query[8192], peer[64];
    char store[16384];
    size_t used;
} gathered_t;

static void add_header(gathered_t *g, const char *name, const char *value, int len)
{
    if (len < 0 || g->req.nheaders >= FM_PORT_MAX_HEADERS || g->used + (size_t)len + 1 > sizeof(g->store))
        return;
    char *v = g->store + g->used;
    memcpy(v, value, (size_t)len);
    v[len] = 0;
    g->used += (size_t)len + 1;
    g->req.headers[g->req.nheaders].name = name;
    g->req.headers[g->req.nheaders++].value = v;
}

static void known_header(struct lws *wsi, gathered_t *g, const char *name, enum lws_token_indexes tok)
{
    int n = lws_hdr_total_length(wsi, tok);
    if (n <= 0 || g->used + (size_t)n + 1 > sizeof(g->store))
        return;
    char *v = g->store + g->used;
    if (lws_hdr_copy(wsi, v, (int)(sizeof(g->store) - g->used), tok) < 0)
        return;
    add_header(g, name, v, (int)strlen(v));
}

static void custom_header(struct lws *wsi, gathered_t *g, const char *name, const char *lname)
{
    int nl = (int)strlen(lname);
    int n = lws_hdr_custom_length(wsi, lname, nl);
    if (n <= 0 || g->used + (size_t)n + 1 > sizeof(g->store))
        return;
    char *v = g->store + g->used;
    if (lws_hdr_custom_copy(wsi, v, (int)(sizeof(g->store) - g->used), lname, nl) < 0)
        return;
    add_header(g, name, v, (int)strlen(v));
}

static const struct { enum lws_token_indexes tok; const char *name; } methods[] = {
    { WSI_TOKEN_GET_URI, "GET" },       { WSI_TOKEN_POST_URI, "POST" },
    { WSI_TOKEN_PUT_URI, "PUT" },       { WSI_TOKEN_PATCH_URI, "PATCH" },
    { WSI_TOKEN_DELETE_URI, "DELETE" }, { WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
    { WSI_TOKEN_HEAD_URI, "HEAD" },
};

static void gather(struct lws *wsi, gathered_t *g, bool upgrade)
{
    memset(&g->req, 0, sizeof(g->req));
    g->used = 0;
    g->req.port = canonical_port;
    g->req.method = "GET";
    g->path[0] = 0;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            g->req.method = methods[i].name;
            if (lws_hdr_copy(wsi, g->path, sizeof(g->path), methods[i].tok) < 0)
                g->path[0] = 0;
            break;
        }
    if (!g->path[0])
        snprintf(g->path, sizeof(g->path), "/");
    /* Socket.IO's clients ask for /socket.io/ (with the slash) */
    if (!strcmp(g->path, "/socket.io/"))
        g->path[10] = 0;
    size_t q = 0;
    char frag[4096];
    for (int i = 0; q + 2 < sizeof(g->query); i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        if (q)
            g->query[q++] = '&';
        q += encode_arg(frag, g->query + q, sizeof(g->query) - q);
    }
    g->query[q] = 0;
    g->req.path = g->path;
    g->req.query = q ? g->query : NULL;
    if (lws_get_peer_simple(wsi, g->peer, sizeof(g->peer)) == NULL)
        snprintf(g->peer, sizeof(g->peer), "unknown");
    g->req.peer = g->peer;
    g->req.upgrade = upgrade;
    known_header(wsi, g, "Authorization", WSI_TOKEN_HTTP_AUTHORIZATION);
    known_header(wsi, g, "Connection", WSI_TOKEN_CONNECTION);
    known_header(wsi, g, "Content-Type", WSI_TOKEN_HTTP_CONTENT_TYPE);
    known_header(wsi, g, "Content-Length", WSI_TOKEN_HTTP_CONTENT_LENGTH);
    known_header(wsi, g, "Origin", WSI_TOKEN_ORIGIN);
    known_header(wsi, g, "Accept", WSI_TOKEN_HTTP_ACCEPT);
    custom_header(wsi, g, "X-Tenant-Id", "x-tenant-id:");
    custom_header(wsi, g, "X-Request-Id", "x-request-id:");
    custom_header(wsi, g, "X-Service-Name", "x-service-name:");
}

/* Writes the router's whole response; 0, or -1 when it could not be sent. */
static int write_raw(struct lws *wsi, const char *raw, size_t len)
{
    unsigned char *b = malloc(LWS_PRE + len + 1);
    if (!b)
        return -1;
    memcpy(b + LWS_PRE, raw, len);
    int n = lws_write(wsi, b + LWS_PRE, len, LWS_WRITE_HTTP);
    free(b);
    return n < 0 ? -1 : 0;
}

static const char internal_error[] =
    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/problem+json\r\n"
    "Content-Length: 58\r\nConnection: close\r\n\r\n"
    "{\"title\":\"Internal Server Error\",\"status\":500,\"detail\":\"\"}";

static int on_http(struct lws *wsi)
{
    gathered_t *g = malloc(sizeof(*g));
    if (!g)
        return -1;
    gather(wsi, g, false);
    fm_port_res_t res;
    int rc = fm_http_port_dispatch(&g->req, &res);
    free(g);
    int w = rc == FM_OK ? write_raw(wsi, res.raw, res.len)
                        : write_raw(wsi, internal_error, sizeof(internal_error) - 1);
    free(res.raw);
    if (w < 0 || lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* Before the upgrade: the router decides. >0 when answered here (refused), 0 to go on. */
static int on_confirm_upgrade(struct lws *wsi)
{
    gathered_t *g = malloc(sizeof(*g));
    fm_port_res_t *res = malloc(sizeof(*res));
    int ret = -1;
    if (!g || !res)
        goto done;
    gather(wsi, g, true);
    int rc = fm_http_port_dispatch(&g->req, res);
    if (rc != FM_OK) {
        write_raw(wsi, internal_error, sizeof(internal_error) - 1);
        ret = 1;
        goto done;
    }
    if (res->status != 101 || !res->has_principal) {
        write_raw(wsi, res->raw, res->len);
        ret = 1;
        goto done;
    }
    ws_client_t *c = calloc(1, sizeof(*c));
    size_t plen = offsetof(fm_principal_t, perms);
    const char *p = res->principal.perms;
    for (int i = 0; i < res->principal.nperms; i++)
        p += strlen(p) + 1;
    plen += (size_t)(p - res->principal.perms);
    if (!c || !(c->who = malloc(plen))) {
        free(c);
        write_raw(wsi, internal_error, sizeof(internal_error) - 1);
        ret = 1;
        goto done;
    }
    memcpy(c->who, &res->principal, plen);
    c->wsi = wsi;
    c->serial = ++serials;
    c->proto = !strcmp(g->path, "/socket.io") ? WS_PROTO_SIO : WS_PROTO_JSON;
    snprintf(c->tenant, sizeof(c->tenant), "%s", res->tenant);
    snprintf(c->sub, sizeof(c->sub), "%s", res->principal.sub);
    c->may_publish = fm_authz_static(&res->principal, "realtime:publish") == FM_AUTHZ_ALLOW;
    /* /channels/{id}/subscribe: the router matched it, so the shape is right */
    if (!strncmp(g->path, "/channels/", 10)) {
        const char *id = g->path + 10, *end = strchr(id, '/');
        if (end && (size_t)(end - id) <= WS_NAME_MAX)
            snprintf(c->first_channel, sizeof(c->first_channel), "%.*s", (int)(end - id), id);
    }
    lws_set_opaque_user_data(wsi, c);
    ret = 0;
done:
    if (res)
        free(res->raw);
    free(res);
    free(g);
    return ret;
}

static void client_free(ws_client_t *c)
{
    queue_drop(c);
    free(c->q);
    free(c->subs);
    free(c->rx);
    free(c->who);
    free(c);
}

static int on_receive(ws_client_t *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->closing)
        return 0;
    bool whole = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (c->rx_skip || c->rxlen + len > WS_MSG_MAX) {
        /* read the rest of it before closing: closing with unread bytes makes the
         * kernel reset the connection, and the client would never see why */
        free(c->rx);
        c->rx = NULL;
        c->rxlen = 0;
        c->rx_skip = !whole;
        if (whole)
            ws_close(c, WS_CLOSE_TOOBIG, "message larger than 65536 bytes");
        return 0;
    }
    if (whole && !c->rx) {
        ws_proto_message(c, in, len);
        return 0;
    }
    char *n = realloc(c->rx, c->rxlen + len + 1);
    if (!n) {
        ws_close(c, WS_CLOSE_TOOBIG, "out of memory for the message");
        return 0;
    }
    c->rx = n;
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    if (whole) {
        ws_proto_message(c, c->rx, c->rxlen);
        free(c->rx);
        c->rx = NULL;
        c->rxlen = 0;
    }
    return 0;
}

static int on_writable(ws_client_t *c, struct lws *wsi)
{
    if (c->closing && (!c->qlen || c->close_code == WS_CLOSE_SLOW)) {
        if (c->close_sent)
            return 0;
        /* The close frame is written here: returning -1 after lws_close_reason (the
         * documented way) closed the socket without it with lws 4.1.6 and the libuv
         * plugin. Then lws waits for the client's close (at most 5 s). */
        unsigned char b[LWS_PRE + 2 + sizeof(c->close_reason)];
        size_t rl = strlen(c->close_reason);
        b[LWS_PRE] = (unsigned char)(c->close_code >> 8);
        b[LWS_PRE + 1] = (unsigned char)(c->close_code & 0xff);
        memcpy(b + LWS_PRE + 2, c->close_reason, rl);
        c->close_sent = true;
        if (lws_write(wsi, b + LWS_PRE, 2 + rl, (enum lws_write_protocol)4 /* close, internal */) < 0)
            return -1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 5);
        return 0;
    }
    if (!c->qlen)
        return 0;
    ws_msg_t *m = c->q[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    c->qbytes -= m->len;
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    ws_msg_unref(m);
    if (n < 0)
        return -1;
    if (c->qlen || c->closing)
        lws_callback_on_writable(wsi);
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    ws_client_t *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (!in || strcmp(in, "websocket"))
            return -1;
        return on_confirm_upgrade(wsi);
    case LWS_CALLBACK_ESTABLISHED:
        if (!c)
            return -1;
        c->established = true;
        c->next = head;
        if (head)
            head->prev = c;
        head = c;
        nclients++;
        ws_proto_open(c);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return c ? on_receive(c, wsi, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? on_writable(c, wsi) : -1;
    case LWS_CALLBACK_CLOSED:
        if (c && c->established) {
            c->established = false;
            if (c->prev)
                c->prev->next = c->next;
            else
                head = c->next;
            if (c->next)
                c->next->prev = c->prev;
            nclients--;
            ws_proto_closed(c);
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (c) {
            lws_set_opaque_user_data(wsi, NULL);
            client_free(c);
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    { "flowmaster", callback, 0, 16384, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void lws_log(int level, const char *line)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", line);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    fm_log_msg(level == LLL_ERR ? FM_LOG_ERROR : FM_LOG_WARN, "libwebsockets", msg);
}

static void *foreign_loops[1];

int ws_gate_start(int port, char *err, size_t errlen)
{
    canonical_port = port;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    foreign_loops[0] = fm_loop();
    info.foreign_loops = foreign_loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.port = fm_listen_port(port);
    info.iface = fm_cfg()->listen;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.vhost_name = "flowmaster-websocket";
    info.server_string = "FlowMaster";
    lctx = lws_create_context(&info);
    if (!lctx) {
        snprintf(err, errlen, "cannot listen on port %s:%d (port offset %d) for the WebSocket Gateway",
                 fm_cfg()->listen, info.port, fm_cfg()->port_offset);
        return FM_EIO;
    }
    return FM_OK;
}

void ws_gate_stop(void)
{
    if (!lctx)
        return;
    /* with a foreign loop, lws closes its handles; their callbacks run when the loop
     * runs again (fm_loop_close) */
    lws_context_destroy(lctx);
    lctx = NULL;
    head = NULL;
    nclients = 0;
}
