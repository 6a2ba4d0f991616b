/*
 * orchestration.c — AI Agent Orchestration (9007): the LLM/agent orchestrator: routing to providers, caching, metering.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the LLM orchestration issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/agents/{id}/invoke", NULL, FM_R_JSON, "agent:invoke" },
    { FM_POST, "/agents/{id}/stream", NULL, FM_R_JSON, "agent:invoke" },
};

const fm_module_t fm_orchestration_module = {
    "orchestration", "AI Agent Orchestration", 9007, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
