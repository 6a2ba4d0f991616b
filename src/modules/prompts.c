/*
 * prompts.c — Prompt Engineering (8012): prompt templates, versions and rendering with context.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the LLM orchestration issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/prompts", NULL, FM_R_JSON, "prompt:write" },
    { FM_GET, "/prompts", NULL, 0, "prompt:read" },
    { FM_GET, "/prompts/{id}", NULL, 0, "prompt:read" },
    { FM_POST, "/prompts/{id}/render", NULL, FM_R_JSON, "prompt:read" },
    { FM_GET, "/prompts/{id}/versions", NULL, 0, "prompt:read" },
};

const fm_module_t fm_prompts_module = {
    "prompts", "Prompt Engineering", 8012, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
