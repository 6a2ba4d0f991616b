/*
 * documents.c — Document Intelligence (9002): documents to structured data, embeddings and searchable content.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see the document intelligence issue).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/documents/upload", NULL, FM_R_BODY, "document:write" },
    { FM_GET, "/documents/{id}", NULL, 0, "document:read" },
    { FM_POST, "/documents/{id}/extract", NULL, FM_R_JSON, "document:write" },
};

const fm_module_t fm_documents_module = {
    "documents", "Document Intelligence", 9002, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
