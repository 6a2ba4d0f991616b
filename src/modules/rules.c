/*
 * rules.c — Business Rules Engine (8018): FEEL and DMN 1.3 decision tables, versioned, evaluated with explanations.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 4).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/rules", NULL, FM_R_BODY, "rules:write" },
    { FM_GET, "/rules", NULL, 0, "rules:read" },
    { FM_GET, "/rules/{id}", NULL, 0, "rules:read" },
    { FM_PUT, "/rules/{id}", NULL, FM_R_BODY, "rules:write" },
    { FM_GET, "/rules/{id}/versions", NULL, 0, "rules:read" },
    { FM_GET, "/rules/{id}/versions/{n}", NULL, 0, "rules:read" },
    { FM_POST, "/rules/{id}/evaluate", NULL, FM_R_JSON, "rules:evaluate" },
    { FM_POST, "/rules/expression", NULL, FM_R_JSON, "rules:evaluate" },
};

const fm_module_t fm_rules_module = {
    "rules", "Business Rules Engine", 8018, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
