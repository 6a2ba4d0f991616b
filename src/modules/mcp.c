/*
 * mcp.c — FlowMaster MCP Server (9000): the Model Context Protocol endpoint (Streamable HTTP) through which AI agents drive the platform.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the MCP issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/mcp", NULL, FM_R_JSON, "mcp:use" },
    { FM_GET, "/mcp", NULL, 0, "mcp:use" },
    { FM_DELETE, "/mcp", NULL, 0, "mcp:use" },
};

const fm_module_t fm_mcp_module = {
    "mcp", "FlowMaster MCP Server", 9000, 0, FM_ROUTES(routes), NULL, NULL, NULL,
};
