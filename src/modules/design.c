/*
 * design.c — Process Design Service (9003): BPMN process definitions: drafts, validation, published versions, export.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 5).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/processes", NULL, FM_R_BODY, "process:write" },
    { FM_GET, "/processes", NULL, 0, "process:read" },
    { FM_GET, "/processes/{id}", NULL, 0, "process:read" },
    { FM_PUT, "/processes/{id}", NULL, FM_R_BODY, "process:write" },
    { FM_DELETE, "/processes/{id}", NULL, 0, "process:write" },
    { FM_POST, "/processes/{id}/publish", NULL, 0, "process:publish" },
    { FM_GET, "/processes/{id}/versions", NULL, 0, "process:read" },
    { FM_GET, "/processes/{id}/versions/{n}", NULL, 0, "process:read" },
    { FM_GET, "/processes/{id}/bpmn", NULL, 0, "process:read" },
};

const fm_module_t fm_design_module = {
    "design", "Process Design Service", 9003, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
