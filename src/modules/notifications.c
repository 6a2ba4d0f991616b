/*
 * notifications.c — Notification Service (9009): email (SMTP), and later SMS and push, with templates and retries.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the notifications issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/notifications/send", NULL, FM_R_JSON, "notification:send" },
    { FM_GET, "/notifications/{id}", NULL, 0, "notification:read" },
};

const fm_module_t fm_notifications_module = {
    "notifications", "Notification Service", 9009, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
