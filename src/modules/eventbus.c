/*
 * eventbus.c — Event Bus (9013): the HTTP face of the bus: publish, persisted events, replay and external subscriptions.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the event bus issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/events", NULL, FM_R_JSON, "event:publish" },
    { FM_GET, "/events/replay", NULL, 0, "event:read" },
    { FM_POST, "/subscriptions", NULL, FM_R_JSON, "event:subscribe" },
    { FM_GET, "/subscriptions", NULL, 0, "event:read" },
    { FM_DELETE, "/subscriptions/{id}", NULL, 0, "event:subscribe" },
};

const fm_module_t fm_eventbus_module = {
    "eventbus", "Event Bus", 9013, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
