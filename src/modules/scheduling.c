/*
 * scheduling.c — Scheduling Service (9008): cron triggers and time-based automation.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the scheduling issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/schedules", NULL, FM_R_JSON, "schedule:write" },
    { FM_GET, "/schedules", NULL, 0, "schedule:read" },
    { FM_GET, "/schedules/{id}", NULL, 0, "schedule:read" },
    { FM_DELETE, "/schedules/{id}", NULL, 0, "schedule:write" },
    { FM_POST, "/schedules/{id}/execute", NULL, 0, "schedule:write" },
};

const fm_module_t fm_scheduling_module = {
    "scheduling", "Scheduling Service", 9008, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
