/*
 * integrations.c — External Integration (9015): connectors to external systems and outbound webhooks.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the integrations issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/integrations", NULL, FM_R_JSON, "integration:write" },
    { FM_GET, "/integrations", NULL, 0, "integration:read" },
    { FM_POST, "/integrations/{id}/execute", NULL, FM_R_JSON, "integration:execute" },
    { FM_POST, "/webhooks", NULL, FM_R_JSON, "integration:write" },
    { FM_GET, "/webhooks", NULL, 0, "integration:read" },
};

const fm_module_t fm_integrations_module = {
    "integrations", "External Integration", 9015, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
