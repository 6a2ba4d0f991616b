/*
 * linking.c — Process Linking (8021): cross-process dependencies: the link graph, impact analysis, call cycles.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 5).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/links", NULL, FM_R_JSON, "process:write" },
    { FM_GET, "/links/{processId}/graph", NULL, 0, "process:read" },
    { FM_GET, "/links/{processId}/impact", NULL, 0, "process:read" },
};

const fm_module_t fm_linking_module = {
    "linking", "Process Linking", 8021, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
