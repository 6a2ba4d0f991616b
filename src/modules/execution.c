/*
 * execution.c — Execution Engine (9005): runs published BPMN processes durably: instances, tokens, timers, jobs, incidents.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 6).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/executions", NULL, FM_R_JSON, "execution:start" },
    { FM_GET, "/executions", NULL, 0, "execution:read" },
    { FM_GET, "/executions/{id}", NULL, 0, "execution:read" },
    { FM_PUT, "/executions/{id}/pause", NULL, 0, "execution:control" },
    { FM_PUT, "/executions/{id}/resume", NULL, 0, "execution:control" },
    { FM_PUT, "/executions/{id}/cancel", NULL, 0, "execution:control" },
    { FM_GET, "/executions/{id}/history", NULL, 0, "execution:read" },
    { FM_PUT, "/executions/{id}/variables", NULL, FM_R_JSON, "execution:control" },
    { FM_POST, "/messages", NULL, FM_R_JSON, "execution:correlate" },
    { FM_POST, "/jobs/{id}/complete", NULL, FM_R_JSON, "execution:work" },
    { FM_POST, "/jobs/{id}/fail", NULL, FM_R_JSON, "execution:work" },
    { FM_GET, "/incidents", NULL, 0, "execution:read" },
    { FM_PUT, "/incidents/{id}/resolve", NULL, 0, "execution:control" },
};

const fm_module_t fm_execution_module = {
    "execution", "Execution Engine", 9005, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
