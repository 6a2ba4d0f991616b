/*
 * views.c — Process Views (8019): SVG and JSON views of processes from their diagram interchange, with highlighting.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 5).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_GET, "/views/{processId}.svg", NULL, 0, "process:read" },
    { FM_GET, "/views/{processId}", NULL, 0, "process:read" },
};

const fm_module_t fm_views_module = {
    "views", "Process Views", 8019, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
