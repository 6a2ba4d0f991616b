/*
 * gateway.c — API Gateway (9000): the single entry point: port 9000 serves every module's routes (the router does the work) plus /metrics and the OpenAPI document.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the API documentation issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_GET, "/openapi.json", NULL, FM_R_PUBLIC, NULL },
};

const fm_module_t fm_gateway_module = {
    "gateway", "API Gateway", 9000, FM_M_GATEWAY, FM_ROUTES(routes), NULL, NULL, NULL,
};
