/*
 * knowledge.c — Knowledge Hub (8009): retrieval-augmented generation: ingest, query, feedback.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the RAG issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/knowledge/query", NULL, FM_R_JSON, "knowledge:read" },
    { FM_POST, "/knowledge/ingest", NULL, FM_R_JSON, "knowledge:write" },
    { FM_POST, "/api/v1/feedback", NULL, FM_R_JSON, "knowledge:write" },
};

const fm_module_t fm_knowledge_module = {
    "knowledge", "Knowledge Hub", 8009, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
