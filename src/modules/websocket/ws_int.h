/*
 * ws_int.h — private to the WebSocket Gateway (src/modules/websocket/): a connected
 * client, its bounded send queue, and what the transport (ws_gate.c, libwebsockets on
 * the FlowMaster loop) and the protocol (ws_proto.c: the JSON protocol and Socket.IO v4)
 * share. Everything here runs on the loop thread: libwebsockets is served from the
 * loop and bus delivery runs there too, so nothing needs a lock.
 */
#ifndef WS_INT_H
#define WS_INT_H

#include "auth/fm_auth.h"
#include "bus/bus.h"
#include "fm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;

#define WS_MAX_SUBS 64          /* channels + patterns per client */
#define WS_NAME_MAX 128         /* a channel name or an event-type pattern */
#define WS_MSG_MAX (64 * 1024)  /* largest message a client may send */
#define WS_QUEUE_MAX 1024       /* messages waiting for one client */
#define WS_QUEUE_BYTES (4u << 20)   /* bytes waiting for one client */
#define WS_RATE_MAX 500         /* messages a client may send per second */

/* Close codes (RFC 6455 §7.4.1). */
#define WS_CLOSE_POLICY 1008    /* policy violation: a message that cannot be taken */
#define WS_CLOSE_TOOBIG 1009
#define WS_CLOSE_SLOW 1013      /* try again later: the client did not keep up */

/* One outgoing frame, shared by every client it fans out to (refcounted). */
typedef struct ws_msg {
    int refs;
    size_t len;
    unsigned char buf[];        /* LWS_PRE bytes of room, then len bytes of text */
} ws_msg_t;

typedef enum { WS_PROTO_JSON, WS_PROTO_SIO } ws_proto_t;

typedef struct ws_sub {
    bool channel;               /* a channel name; else an event-type pattern */
    char name[WS_NAME_MAX + 1];
} ws_sub_t;

typedef struct ws_client {
    struct lws *wsi;
    struct ws_client *prev, *next;
    uint64_t serial;            /* connection id, shown in presence */
    ws_proto_t proto;
    bool established, closing, close_sent, sio_open;
    int close_code;
    char close_reason[64];
    char tenant[72];
    char sub[128];
    bool may_publish;
    fm_principal_t *who;        /* trimmed copy (fm_auth.h: stops where the grants end) */
    char first_channel[WS_NAME_MAX + 1];    /* GET /channels/{id}/subscribe */
    ws_sub_t *subs;             /* grows to WS_MAX_SUBS */
    int nsubs, capsubs;
    ws_msg_t **q;               /* ring, grows to WS_QUEUE_MAX */
    size_t qhead, qlen, qcap, qbytes;
    char *rx;                   /* a message arriving in fragments */
    size_t rxlen;
    bool rx_skip;               /* the rest of an oversized message is read and dropped */
    uint64_t rate_sec;          /* inbound messages: at most WS_RATE_MAX a second */
    int rate_n;
} ws_client_t;

/* ---- ws_gate.c (transport) ---- */
int ws_gate_start(int port, char *err, size_t errlen);
void ws_gate_stop(void);
/* Queues m for c (takes a reference); on overflow closes c with 1013 and returns false. */
bool ws_send(ws_client_t *c, ws_msg_t *m);
/* Queues a copy of text for c. */
bool ws_send_text(ws_client_t *c, const char *text, size_t len);
/* Asks for c to be closed with code and reason after what is queued now. */
void ws_close(ws_client_t *c, int code, const char *reason);
ws_msg_t *ws_msg_new(const char *text, size_t len);
void ws_msg_unref(ws_msg_t *m);
ws_client_t *ws_clients(void);      /* the list's head */
size_t ws_client_count(void);

/* ---- ws_proto.c (protocol) ---- */
void ws_proto_open(ws_client_t *c);                 /* established: welcome, first channel */
void ws_proto_message(ws_client_t *c, const char *text, size_t len);
void ws_proto_closed(ws_client_t *c);               /* presence leave */
void ws_proto_event(const bus_event_t *ev, void *arg);  /* the bus subscriber */
void ws_proto_sio_ping(void);                       /* Engine.IO heartbeat to every client */

#endif
