/*
 * analytics.c — Process Analytics (9014): process performance metrics, bottlenecks and reports.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the analytics issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_GET, "/analytics/processes/{id}", NULL, 0, "analytics:read" },
    { FM_GET, "/analytics/dashboard", NULL, 0, "analytics:read" },
    { FM_POST, "/analytics/reports", NULL, FM_R_JSON, "analytics:write" },
};

const fm_module_t fm_analytics_module = {
    "analytics", "Process Analytics", 9014, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
