/*
 * dxg.c — DXG Service (9011): the Dynamic Experience Generator: task context analysis, smart forms, case briefings.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the DXG issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/api/v1/analyze/{task_id}", NULL, FM_R_JSON, "dxg:use" },
    { FM_POST, "/api/v1/smart-form/{task_id}", NULL, FM_R_JSON, "dxg:use" },
    { FM_POST, "/api/v1/briefing/{task_id}", NULL, FM_R_JSON, "dxg:use" },
};

const fm_module_t fm_dxg_module = {
    "dxg", "DXG Service", 9011, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
