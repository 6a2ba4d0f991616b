/*
 * gateway.c — API Gateway (9000): the single entry point. Port 9000 serves every
 * module's routes (the router does that work, with auth, rate limits and CORS for all
 * ports), /metrics, and the OpenAPI 3.1 document generated from the routing table.
 */
#include "modules.h"

#include "../fm_openapi.h"

static int openapi(fm_req_t *r)
{
    return fm_reply_json(r, 200, fm_openapi());
}

static const fm_route_t routes[] = {
    { FM_GET, "/openapi.json", openapi, FM_R_PUBLIC, NULL },
};

const fm_module_t fm_gateway_module = {
    "gateway", "API Gateway", 9000, FM_M_GATEWAY, FM_ROUTES(routes), NULL, NULL, NULL,
};
