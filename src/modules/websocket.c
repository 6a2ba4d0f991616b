/*
 * websocket.c — WebSocket Gateway (9010): real-time channels, presence and streaming to the web apps.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the WebSocket issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_GET, "/connect", NULL, 0, "realtime:connect" },
    { FM_GET, "/channels/{id}/subscribe", NULL, 0, "realtime:connect" },
};

const fm_module_t fm_websocket_module = {
    "websocket", "WebSocket Gateway", 9010, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
