/*
 * agents.c — Agent Service (9016): agent personas, skills and learning from feedback.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the agent service issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/agents", NULL, FM_R_JSON, "agent:write" },
    { FM_GET, "/agents", NULL, 0, "agent:read" },
    { FM_GET, "/agents/{id}", NULL, 0, "agent:read" },
    { FM_POST, "/agents/{id}/learn", NULL, FM_R_JSON, "agent:write" },
    { FM_GET, "/agents/{id}/skills", NULL, 0, "agent:read" },
};

const fm_module_t fm_agents_module = {
    "agents", "Agent Service", 9016, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
