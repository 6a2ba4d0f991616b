/*
 * marketplace.c — BAC Marketplace (9016): publishing, searching and installing shared processes.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the marketplace issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/marketplace/publish", NULL, FM_R_JSON, "marketplace:publish" },
    { FM_GET, "/marketplace/search", NULL, 0, "marketplace:read" },
    { FM_POST, "/marketplace/{id}/install", NULL, 0, "marketplace:install" },
};

const fm_module_t fm_marketplace_module = {
    "marketplace", "BAC Marketplace", 9016, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
