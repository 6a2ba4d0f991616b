/*
 * entities.c — Legal Entity Service (8014): organisational structure: legal entities and their relationships.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the legal entity issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/entities", NULL, FM_R_JSON, "entity:write" },
    { FM_GET, "/entities", NULL, 0, "entity:read" },
    { FM_GET, "/entities/{id}", NULL, 0, "entity:read" },
    { FM_GET, "/entities/{id}/relationships", NULL, 0, "entity:read" },
};

const fm_module_t fm_entities_module = {
    "entities", "Legal Entity Service", 8014, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
