/*
 * websocket.c — WebSocket Gateway (9010): the module's routes, start and stop.
 *
 * The port is served by libwebsockets on the FlowMaster loop (ws_gate.c, FM_M_OWNPORT),
 * not by CivetWeb. The routes below still sit in the router: an upgrade on 9010 is let
 * through only when its handler answers 101 after the core's token, tenant and
 * permission checks; anywhere else (the API gateway, a plain GET) it answers 426.
 * Protocol: docs/websocket.md.
 */
#include "../modules.h"

#include "../../fm_config.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "ws_int.h"

#include <stdio.h>
#include <string.h>

static int bus_sub;
static fm_timer_t *sio_ping;

static int upgrade(fm_req_t *r)
{
    if (!fm_req_upgrading(r)) {
        fm_reply_header(r, "Upgrade", "websocket");
        return fm_reply_problem(r, 426, NULL, NULL, NULL,
                                "%s opens a WebSocket: connect to the WebSocket Gateway's port with "
                                "'Connection: Upgrade' and 'Upgrade: websocket'", fm_req_path(r));
    }
    return fm_reply_status(r, 101);
}

static int channel_upgrade(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    size_t n = strlen(id);
    bool ok = n > 0 && n <= WS_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
             id[i] == '-' || id[i] == '_' || id[i] == '.' || id[i] == ':';
    if (!ok)
        return fm_reply_invalid(r, "id", "a channel name is 1 to 128 characters of [A-Za-z0-9._:-]");
    return upgrade(r);
}

static const fm_route_t routes[] = {
    { FM_GET, "/connect", upgrade, 0, "realtime:connect" },
    { FM_GET, "/channels/{id}/subscribe", channel_upgrade, 0, "realtime:connect" },
    { FM_GET, "/socket.io", upgrade, FM_R_LOCAL, "realtime:connect" },
};

static void on_ping(void *arg)
{
    (void)arg;
    ws_proto_sio_ping();
}

static int start(fm_mod_t *m)
{
    char err[256];
    if (ws_gate_start(m->def->port, err, sizeof(err)) != FM_OK) {
        fm_log_msg(FM_LOG_ERROR, "websocket", err);
        fprintf(stderr, "flowmaster: %s\n", err);
        return FM_EIO;
    }
    /* Every event a client could see, less the engine's per-step ones that the event
     * log leaves out too ([eventbus] log_skip): subscribing to those would make the
     * engine write them for nobody (bus_wants). */
    const char *skip = fm_cfg()->eventbus_log_skip;
    bus_sub = bus_subscribe_except(">", *skip ? skip : NULL, ws_proto_event, NULL);
    if (bus_sub < 0) {
        ws_gate_stop();
        return bus_sub;
    }
    sio_ping = fm_timer_start(25000, 25000, on_ping, NULL);
    return FM_OK;
}

static void stop(fm_mod_t *m)
{
    (void)m;
    if (bus_sub > 0)
        bus_unsubscribe(bus_sub);
    bus_sub = 0;
    fm_timer_stop(sio_ping);
    sio_ping = NULL;
    ws_gate_stop();
}

const fm_module_t fm_websocket_module = {
    "websocket", "WebSocket Gateway", 9010, FM_M_DB | FM_M_OWNPORT, FM_ROUTES(routes), NULL, start, stop,
};
